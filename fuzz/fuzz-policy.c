/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root policy: whatever parses (as text or as a signed note) must format to
 * text that parses again to the same hash, i.e. the accepted form is the
 * canonical one; a signed policy's root quorum check must not crash.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "policy.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void round_trip(const struct rp_policy *p)
{
	struct rp_policy *q = NULL;
	size_t len;
	char *t = rp_policy_format(p, &len);

	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(rp_policy_parse_text(t, len, &q, NULL) == 0);
	FUZZ_CHECK(strcmp(p->hash, q->hash) == 0);
	rp_policy_free(q);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_policy *p = NULL;
	struct rp_diag d;

	if (rp_policy_parse_text(s, size, &p, &d) == 0) {
		round_trip(p);
		rp_policy_free(p);
	}
	if (rp_policy_parse(s, size, &p, &d) == 0) {
		int r;

		FUZZ_CHECK(p->note != NULL);
		round_trip(p);
		r = rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, &d);
		FUZZ_CHECK(r == 0 || r == RP_E_QUORUM || r == RP_E_BADSIG);
		r = rp_policy_verify_initial(p, p->hash, 1795000000, &d);
		FUZZ_CHECK(r <= 0);
		rp_policy_free(p);
	}
	return 0;
}
