/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints (lib/checkpoint.c). The input is read twice:
 *   - as a checkpoint text: what rp_checkpoint_parse accepts formats back
 *     to the same bytes (to its first three lines when it has extension
 *     lines);
 *   - as a signed checkpoint note, verified by rp_checkpoint_verify against
 *     a fixed policy (log example.com/log, seed 0x55; witnesses w1 and w2,
 *     seeds 0x44 and 0x45; quorum any of them) at time 1700000000. Only the
 *     documented results may come back; an accepted checkpoint is the log's,
 *     its newest cosignature inside the window; widening the window
 *     (freshness 0) never turns an acceptance or a staleness into a refusal.
 *     Every cosignature line that verifies is re-signed with the witness's
 *     seed and must come out byte for byte (Ed25519 is deterministic and
 *     base64 canonical, so one cosignature has one spelling).
 * Seeds: fuzz/corpus/checkpoint (notes signed by that log and witnesses).
 */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz-common.h"
#include "rp_err.h"

#define NOW   1700000000
#define FRESH 3600
#define SKEW  300

static struct rp_wpolicy wp;
static struct rp_skey wsk[2];

static void make_skey(const char *name, uint8_t seed, struct rp_skey *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->name, name, strlen(name));
	memset(k->seed, seed, sizeof(k->seed));
	crypto_sign_seed_keypair(k->pub, k->sk, k->seed);
	k->id = rp_key_id(name, strlen(name), RP_KEY_ED25519, k->pub);
}

static void policy_line(const char *prefix, const struct rp_vkey *k, const char *suffix)
{
	char line[1024], *t = rp_vkey_format(k);

	FUZZ_CHECK(t != NULL);
	snprintf(line, sizeof(line), "%s%s%s", prefix, t, suffix);
	free(t);
	FUZZ_CHECK(rp_wpolicy_line(&wp, line, strlen(line), NULL) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rp_skey logk;
	struct rp_vkey v;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	make_skey("example.com/log", 0x55, &logk);
	make_skey("witness1.example", 0x44, &wsk[0]);
	make_skey("witness2.example", 0x45, &wsk[1]);
	rp_skey_vkey(&logk, &v);
	policy_line("log ", &v, "");
	rp_cosig_vkey(&wsk[0], &v);
	policy_line("witness w1 ", &v, "");
	rp_cosig_vkey(&wsk[1], &v);
	policy_line("witness w2 ", &v, "");
	FUZZ_CHECK(rp_wpolicy_line(&wp, "group g any w1 w2", 17, NULL) == 0);
	FUZZ_CHECK(rp_wpolicy_line(&wp, "quorum g", 8, NULL) == 0);
	FUZZ_CHECK(rp_wpolicy_finish(&wp, NULL) == 0);
	FUZZ_CHECK(strcmp(FUZZ_WITNESS, "witness1.example+b4263706+"
					"BNdZeTu8E6KBmoJ8dq22+6ikmu4Af0ny0JktmbglrSxI") == 0);
	rp_skey_wipe(&logk);
	return 0;
}

static void text(const char *s, size_t size)
{
	struct rp_checkpoint c;
	struct rp_diag d;
	char *back;
	size_t blen;

	if (rp_checkpoint_parse(s, size, &c, &d) != 0)
		return;
	FUZZ_CHECK(c.origin[0] != '\0' && c.next <= RP_CHECKPOINT_EXT_MAX);
	back = rp_checkpoint_format(&c, &blen);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(blen <= size && memcmp(back, s, blen) == 0);
	FUZZ_CHECK(c.next > 0 || blen == size);
	free(back);
}

static void cosignatures(const char *s, size_t size)
{
	struct rp_note *n = NULL;

	if (rp_note_parse(s, size, &n, NULL) != 0)
		return;
	for (size_t i = 0; i < n->nsigs; i++) {
		for (int j = 0; j < 2; j++) {
			struct rp_vkey v;
			uint64_t t = 0;
			int r;

			rp_cosig_vkey(&wsk[j], &v);
			r = rp_cosig_verify(&v, n->msg, n->text_len, &n->sigs[i], &t, NULL);
			FUZZ_CHECK(r == 0 || r == RP_E_NOTFOUND || r == RP_E_BADSIG ||
				   r == RP_E_NOMEM);
			if (r != 0)
				continue;
			FUZZ_CHECK(t <= INT64_MAX);
			char *line = rp_cosig_sign_line(n->msg, n->text_len, &wsk[j], t);
			FUZZ_CHECK(line != NULL);
			FUZZ_CHECK(strlen(line) == n->sigs[i].line_len &&
				   memcmp(line, n->sigs[i].line, n->sigs[i].line_len) == 0);
			free(line);
		}
	}
	rp_note_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_checkpoint c;
	struct rp_diag d = {""};
	int64_t newest = -1;
	int r, r0;

	text(s, size);
	cosignatures(s, size);
	r = rp_checkpoint_verify(&wp, s, size, NOW, FRESH, SKEW, &c, &newest, &d);
	FUZZ_CHECK(r == 0 || r == RP_E_TOOBIG || r == RP_E_MALFORMED || r == RP_E_NOSIG ||
		   r == RP_E_BADSIG || r == RP_E_STALE || r == RP_E_WITNESS || r == RP_E_NOMEM);
	if (r == 0) {
		FUZZ_CHECK(strcmp(c.origin, wp.log.name) == 0);
		FUZZ_CHECK(newest >= NOW - FRESH && newest <= NOW + SKEW);
	} else {
		FUZZ_CHECK(d.msg[0] != '\0');
		FUZZ_CHECK(newest == -1);
	}
	r0 = rp_checkpoint_verify(&wp, s, size, NOW, 0, SKEW, NULL, NULL, NULL);
	if (r == 0 || r == RP_E_STALE)
		FUZZ_CHECK(r0 == 0);
	else
		FUZZ_CHECK(r0 == r);
	return 0;
}
