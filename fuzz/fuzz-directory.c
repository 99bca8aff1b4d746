/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory statements and the folded directory's state file: a text that
 * parses is in its one canonical form, format(parse(x)) == x byte for
 * byte; a statement that parses folds onto a small directory (or is
 * refused by the chain) without crashing, and the diff of the two states
 * is bounded text.
 */
#include <stdint.h>
#include <string.h>

#include "directory.h"
#include "fuzz-common.h"

static const char base[] = "rampart/directory-state/v1\norg acme\nversion 0\nhead none\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void fold(const struct rp_dir_stmt *st, const char *entry, size_t len)
{
	struct rp_dir_state s, before;
	size_t dlen;
	char *diff;

	FUZZ_CHECK(rp_dir_state_parse(base, sizeof(base) - 1, &s, NULL) == 0);
	FUZZ_CHECK(rp_dir_state_parse(base, sizeof(base) - 1, &before, NULL) == 0);
	snprintf(s.org, sizeof(s.org), "%s", st->org);
	if (rp_dir_apply(&s, st, (const uint8_t *)entry, len, true, NULL) == 0) {
		FUZZ_CHECK(s.version == 1);
		diff = rp_dir_diff(&before.dir, &s.dir, &dlen);
		FUZZ_CHECK(diff != NULL);
		free(diff);
		/* the state's text reads back to itself */
		char *t = rp_dir_state_format(&s, &dlen);
		struct rp_dir_state again;
		FUZZ_CHECK(t != NULL && rp_dir_state_parse(t, dlen, &again, NULL) == 0);
		char *t2 = rp_dir_state_format(&again, NULL);
		FUZZ_CHECK(t2 && !strcmp(t, t2));
		free(t);
		free(t2);
		rp_dir_state_release(&again);
	}
	rp_dir_state_release(&s);
	rp_dir_state_release(&before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_dir_stmt *st = NULL;
	struct rp_dir_state ds;
	struct rp_diag d;
	size_t olen;
	char *t;

	if (rp_dir_stmt_parse_text(s, size, &st, &d) == 0) {
		t = rp_dir_stmt_format(st, &olen);
		FUZZ_CHECK(t != NULL && olen == size && memcmp(t, s, size) == 0);
		free(t);
		fold(st, s, size);
		rp_dir_stmt_free(st);
	}
	if (rp_dir_state_parse(s, size, &ds, &d) == 0) {
		t = rp_dir_state_format(&ds, &olen);
		FUZZ_CHECK(t != NULL && olen == size && memcmp(t, s, size) == 0);
		free(t);
		rp_dir_state_release(&ds);
	}
	return 0;
}
