/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed notes and key texts: rp_note_parse, rp_note_verify against the
 * vector keys (including a cosigner key, which must be ignored), and
 * rp_note_merge of a parsed note with itself. Key texts that parse must
 * format back to the same bytes.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "note.h"
#include "rp_err.h"

static struct rp_vkey keys[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const texts[] = {FUZZ_ALICE, FUZZ_BOB, FUZZ_CAROL, FUZZ_WITNESS};

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	for (int i = 0; i < 4; i++)
		FUZZ_CHECK(rp_vkey_parse(texts[i], strlen(texts[i]), &keys[i], NULL) == 0);
	return 0;
}

static void key_texts(const char *s, size_t n)
{
	struct rp_vkey vk;
	struct rp_skey sk;
	char *back;

	if (rp_vkey_parse(s, n, &vk, NULL) == 0) {
		back = rp_vkey_format(&vk);
		FUZZ_CHECK(back && strlen(back) == n && memcmp(back, s, n) == 0);
		free(back);
	}
	if (rp_skey_parse(s, n, &sk, NULL) == 0) {
		back = rp_skey_format(&sk);
		FUZZ_CHECK(back != NULL);
		/* One trailing newline is tolerated on input. */
		size_t want = n > 0 && s[n - 1] == '\n' ? n - 1 : n;
		FUZZ_CHECK(strlen(back) == want && memcmp(back, s, want) == 0);
		sodium_memzero(back, strlen(back));
		free(back);
		rp_skey_wipe(&sk);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_note *n = NULL, *m = NULL;
	struct rp_diag d;
	bool ok[4];
	char *merged;
	size_t mlen;
	int r;

	key_texts(s, size);
	if (rp_note_parse(s, size, &n, &d) != 0)
		return 0;
	FUZZ_CHECK(n->text_len <= n->msg_len && n->nsigs >= 1 && n->nsigs <= RP_NOTE_SIGS_MAX);
	FUZZ_CHECK(rp_note_text_valid(n->msg, n->text_len, NULL));
	r = rp_note_verify(n, keys, 4, ok, &d);
	FUZZ_CHECK(r == 0 || r == RP_E_BADSIG || r == RP_E_NOSIG);
	FUZZ_CHECK(!ok[3]); /* a cosigner key never verifies a note */
	/* Merging a note with itself yields a note with the same text. */
	r = rp_note_merge(n, n, &merged, &mlen);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(rp_note_parse(merged, mlen, &m, NULL) == 0);
	FUZZ_CHECK(m->text_len == n->text_len && memcmp(m->msg, n->msg, n->text_len) == 0);
	FUZZ_CHECK(m->nsigs <= n->nsigs);
	rp_note_free(m);
	free(merged);
	rp_note_free(n);
	return 0;
}
