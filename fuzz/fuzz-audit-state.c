/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit monitor's state between runs (rp_audit_load, lib/audit.c):
 * whatever rp_audit_load accepts must save back (rp_audit_save) to bytes
 * that load again to an equal state (same size, right-edge hashes, trusted
 * hash and root policy hash, hence the same root), and saving that second
 * state gives the same bytes again.
 * Seeds: fuzz/corpus/audit-state (states saved by test-audit's logs).
 */
#include <stdint.h>
#include <string.h>

#include "audit.h"
#include "fuzz-common.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void same_state(const struct rp_audit *x, const struct rp_audit *y)
{
	uint8_t rx[RP_HASH_LEN], ry[RP_HASH_LEN];

	FUZZ_CHECK(rp_frontier_equal(&x->tree, &y->tree));
	FUZZ_CHECK(strcmp(x->trusted_hash, y->trusted_hash) == 0);
	FUZZ_CHECK(x->gen == y->gen && x->nretired == y->nretired);
	for (size_t i = 0; i < x->nretired; i++)
		FUZZ_CHECK(x->retired[i].gen == y->retired[i].gen &&
			   x->retired[i].size == y->retired[i].size &&
			   x->retired[i].version == y->retired[i].version &&
			   !memcmp(x->retired[i].root, y->retired[i].root, RP_HASH_LEN) &&
			   !strcmp(x->retired[i].hash, y->retired[i].hash));
	FUZZ_CHECK(!x->policy == !y->policy);
	if (x->policy)
		FUZZ_CHECK(strcmp(x->policy->hash, y->policy->hash) == 0 &&
			   x->policy->version == y->policy->version);
	rp_audit_root(x, rx);
	rp_audit_root(y, ry);
	FUZZ_CHECK(memcmp(rx, ry, RP_HASH_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_audit a, b;
	struct rp_diag d;
	char *s1, *s2;
	size_t n1, n2;
	int r;

	r = rp_audit_load(&a, (const char *)data, size, &d);
	if (r != 0) {
		FUZZ_CHECK(r < 0 && a.policy == NULL);
		rp_audit_release(&a);
		return 0;
	}
	FUZZ_CHECK(a.tree.size <= INT64_MAX && a.findings == 0);
	s1 = rp_audit_save(&a, &n1);
	FUZZ_CHECK(s1 != NULL && strlen(s1) == n1);
	r = rp_audit_load(&b, s1, n1, &d);
	if (r != 0) {
		fprintf(stderr, "saved state does not load: %s\n", d.msg);
		FUZZ_CHECK(r == 0);
	}
	same_state(&a, &b);
	s2 = rp_audit_save(&b, &n2);
	FUZZ_CHECK(s2 != NULL && n2 == n1 && memcmp(s1, s2, n1) == 0);
	free(s2);
	free(s1);
	rp_audit_release(&b);
	rp_audit_release(&a);
	return 0;
}
