/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command statements (and directory statements, which parse as commands of
 * kind directory): a text that parses is in its one canonical form,
 * format(parse(x)) == x byte for byte; the same for the text of a signed
 * statement.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "statement.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void canonical(const struct rp_command *c, const char *text, size_t len)
{
	size_t olen;
	char *t = rp_command_format(c, &olen);

	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(olen == len && memcmp(t, text, len) == 0);
	if (c->kind == RP_KIND_DIRECTORY) { /* a directory statement: fuzz-directory's */
		FUZZ_CHECK(c->dir != NULL && c->all_devices && c->ntargets == 0);
	} else {
		FUZZ_CHECK(c->ntargets >= 1 && c->ntargets <= RP_STATEMENT_TARGETS_MAX);
		FUZZ_CHECK(c->expires > c->not_before);
	}
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_command *c = NULL;
	struct rp_diag d;

	if (rp_command_parse_text(s, size, &c, &d) == 0) {
		canonical(c, s, size);
		rp_command_free(c);
	}
	if (rp_command_parse(s, size, &c, &d) == 0) {
		FUZZ_CHECK(c->note != NULL);
		canonical(c, c->note->msg, c->note->text_len);
		rp_command_free(c);
	}
	return 0;
}
