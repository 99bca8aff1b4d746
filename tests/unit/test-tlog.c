/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The append-only check (lib/tlog.c) that the agent, the witness and the
 * audit share: every verdict, on real trees (tests/unit/helpers.c's
 * in-memory log), each check proven to win over the ones after it, and
 * the two kinds of evidence (a consistency proof, a rebuilt root) proven
 * to agree on every pair of sizes.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rp_limits.h"
#include "tlog.h"

typedef uint8_t hash_t[RP_HASH_LEN];

static struct test_log *log_of(unsigned n, const char *tail)
{
	struct test_log *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	test_log_fill(l, n);
	if (tail)
		test_log_append(l, tail, strlen(tail));
	return l;
}

static void head(const struct test_log *l, uint64_t size, struct rp_tlog_head *ret)
{
	struct rp_checkpoint cp;

	test_log_head(l, size, &cp);
	ret->size = cp.size;
	memcpy(ret->root, cp.root, RP_HASH_LEN);
}

static void empty_head(struct rp_tlog_head *ret)
{
	ret->size = 0;
	rp_merkle_empty_root(ret->root);
}

static enum rp_tlog_verdict advance(const struct rp_tlog_head *a, const struct rp_tlog_head *b,
				    hash_t *proof, size_t n, struct rp_diag *d)
{
	return rp_tlog_advance(a, b, (const hash_t *)proof, n, d);
}

/* ---- with a consistency proof ---- */

static void tlog_same_head_is_same(void **state)
{
	struct test_log *l = log_of(7, NULL);
	struct rp_tlog_head a;
	struct rp_diag d = {""};

	(void)state;
	head(l, 7, &a);
	assert_int_equal(advance(&a, &a, NULL, 0, &d), RP_TLOG_SAME);
	assert_true(rp_tlog_append_only(RP_TLOG_SAME));
	free(l);
}

static void tlog_every_real_proof_extends(void **state)
{
	struct test_log *l = log_of(TEST_LOG_MAX, NULL);
	hash_t proof[RP_PROOF_HASHES_MAX];

	(void)state;
	for (uint64_t m = 1; m <= 20; m++) {
		for (uint64_t n = m + 1; n <= TEST_LOG_MAX; n++) {
			struct rp_tlog_head a, b;
			struct rp_diag d = {""};
			size_t k = test_log_consistency(l, m, n, proof);
			head(l, m, &a);
			head(l, n, &b);
			assert_int_equal(advance(&a, &b, proof, k, &d), RP_TLOG_EXTENDS);
		}
	}
	free(l);
}

static void tlog_empty_tree_is_extended_by_any(void **state)
{
	struct test_log *l = log_of(5, NULL);
	struct rp_tlog_head e, b, other = {0};
	hash_t junk[1] = {{1}};
	struct rp_diag d = {""};

	(void)state;
	empty_head(&e);
	head(l, 5, &b);
	assert_int_equal(advance(&e, &b, NULL, 0, &d), RP_TLOG_EXTENDS);
	assert_int_equal(advance(&e, &e, NULL, 0, &d), RP_TLOG_SAME);
	/* From the empty tree the proof must be empty (tlog-witness sends none). */
	assert_int_equal(advance(&e, &b, junk, 1, &d), RP_TLOG_INCONSISTENT);
	assert_diag_has(&d, "must be empty");
	/* A size-0 tree whose root is not SHA-256 of nothing is another tree. */
	assert_int_equal(advance(&e, &other, NULL, 0, &d), RP_TLOG_FORK);
	free(l);
}

static void tlog_rollback(void **state)
{
	struct test_log *l = log_of(12, NULL);
	struct rp_tlog_head a, b;
	struct rp_diag d = {""};

	(void)state;
	head(l, 10, &a);
	head(l, 8, &b);
	assert_int_equal(advance(&a, &b, NULL, 0, &d), RP_TLOG_ROLLBACK);
	assert_diag_has(&d, "tree of 8 entries is smaller than the 10 already seen");
	assert_false(rp_tlog_append_only(RP_TLOG_ROLLBACK));
	/* Down to the empty tree is a rollback too. */
	empty_head(&b);
	assert_int_equal(advance(&a, &b, NULL, 0, &d), RP_TLOG_ROLLBACK);
	free(l);
}

static void tlog_fork_same_size(void **state)
{
	struct test_log *l = log_of(8, NULL), *other = log_of(5, "another history\n");
	struct rp_tlog_head a, b;
	struct rp_diag d = {""};

	(void)state;
	test_log_fill(other, 2);
	head(l, 8, &a);
	head(other, 8, &b);
	assert_int_equal(advance(&a, &b, NULL, 0, &d), RP_TLOG_FORK);
	assert_diag_has(&d, "tree of 8 entries has root");
	assert_diag_has(&d, "already seen at that size");
	free(other);
	free(l);
}

static void tlog_same_size_with_a_proof_is_inconsistent(void **state)
{
	struct test_log *l = log_of(9, NULL);
	struct rp_tlog_head a;
	hash_t proof[RP_PROOF_HASHES_MAX];
	struct rp_diag d = {""};
	size_t k = test_log_consistency(l, 3, 9, proof);

	(void)state;
	head(l, 9, &a);
	assert_int_equal(advance(&a, &a, proof, k, &d), RP_TLOG_INCONSISTENT);
	assert_diag_has(&d, "must be empty");
	free(l);
}

static void tlog_bad_proofs_are_inconsistent(void **state)
{
	struct test_log *l = log_of(20, NULL), *other = log_of(2, "forked entry\n");
	struct rp_tlog_head a, b, o;
	hash_t proof[RP_PROOF_HASHES_MAX + 1], p2[RP_PROOF_HASHES_MAX];
	struct rp_diag d = {""};
	size_t k = test_log_consistency(l, 5, 20, proof);

	(void)state;
	head(l, 5, &a);
	head(l, 20, &b);
	/* No proof, one bit flipped in each hash, one hash short, one too many. */
	assert_int_equal(advance(&a, &b, NULL, 0, &d), RP_TLOG_INCONSISTENT);
	assert_diag_has(&d, "consistency proof from 5 to 20 leaves has 0 hashes");
	for (size_t i = 0; i < k; i++) {
		proof[i][i % RP_HASH_LEN] ^= 0x10;
		assert_int_equal(advance(&a, &b, proof, k, &d), RP_TLOG_INCONSISTENT);
		proof[i][i % RP_HASH_LEN] ^= 0x10;
	}
	assert_int_equal(advance(&a, &b, proof, k, &d), RP_TLOG_EXTENDS);
	assert_int_equal(advance(&a, &b, proof, k - 1, &d), RP_TLOG_INCONSISTENT);
	memset(proof[k], 0, RP_HASH_LEN);
	assert_int_equal(advance(&a, &b, proof, k + 1, &d), RP_TLOG_INCONSISTENT);
	/* More hashes than any proof has: refused before it is read. */
	assert_int_equal(advance(&a, &b, proof, RP_PROOF_HASHES_MAX + 1, &d), RP_TLOG_INCONSISTENT);
	assert_diag_has(&d, "more than 63");
	/* A valid proof of another tree (a fork that grew) does not bridge the stored one. */
	test_log_fill(other, 17);
	head(other, 5, &o);
	assert_int_equal(advance(&o, &b, proof, k, &d), RP_TLOG_INCONSISTENT);
	k = test_log_consistency(other, 5, 20, p2);
	assert_int_equal(advance(&a, &b, p2, k, &d), RP_TLOG_INCONSISTENT);
	free(other);
	free(l);
}

/* Rollback and fork are decided by size and root: no proof changes them. */
static void tlog_checks_in_order(void **state)
{
	struct test_log *l = log_of(16, NULL), *other = log_of(3, "x\n");
	struct rp_tlog_head a, b;
	hash_t proof[RP_PROOF_HASHES_MAX];
	struct rp_diag d = {""};
	size_t k = test_log_consistency(l, 4, 16, proof);

	(void)state;
	head(l, 16, &a);
	head(l, 4, &b);
	assert_int_equal(advance(&a, &b, proof, k, &d), RP_TLOG_ROLLBACK);
	assert_int_equal(rp_tlog_advance_rebuilt(&a, &b, a.root, &d), RP_TLOG_ROLLBACK);
	test_log_fill(other, 12);
	head(other, 16, &b);
	assert_int_equal(advance(&a, &b, proof, k, &d), RP_TLOG_FORK);
	assert_int_equal(rp_tlog_advance_rebuilt(&a, &b, b.root, &d), RP_TLOG_FORK);
	free(other);
	free(l);
}

/* ---- with a rebuilt root ---- */

static void tlog_rebuilt_root(void **state)
{
	struct test_log *l = log_of(30, NULL), *other = log_of(10, "fork\n");
	struct rp_tlog_head a, b, o;
	struct rp_diag d = {""};

	(void)state;
	test_log_fill(other, 19);
	head(l, 10, &a);
	head(l, 30, &b);
	head(other, 30, &o);
	assert_int_equal(rp_tlog_advance_rebuilt(&a, &b, b.root, &d), RP_TLOG_EXTENDS);
	assert_int_equal(rp_tlog_advance_rebuilt(&a, &a, o.root, &d), RP_TLOG_SAME);
	/* The entries read do not make the tree the checkpoint names. */
	assert_int_equal(rp_tlog_advance_rebuilt(&a, &b, o.root, &d), RP_TLOG_INCONSISTENT);
	assert_diag_has(&d, "tree of 30 entries rebuilt from the 10 already seen has root");
	free(other);
	free(l);
}

/* Both kinds of evidence give the same verdict on every pair of heads of two trees. */
static void tlog_proof_and_rebuilt_agree(void **state)
{
	enum { N = 24 };
	/* other is l with entry 7 rewritten. */
	struct test_log *l = log_of(N, NULL), *other = log_of(7, "fork\n");
	hash_t proof[RP_PROOF_HASHES_MAX];

	(void)state;
	test_log_fill(other, N - 8);
	for (uint64_t m = 0; m <= N; m++) {
		for (uint64_t n = 0; n <= N; n++) {
			for (int t = 0; t < 2; t++) {
				const struct test_log *nl = t ? other : l;
				struct rp_tlog_head a, b;
				struct rp_diag d = {""};
				hash_t rebuilt;
				size_t k = 0;
				if (m == 0)
					empty_head(&a);
				else
					head(l, m, &a);
				if (n == 0)
					empty_head(&b);
				else
					head(nl, n, &b);
				if (m > 0 && m < n)
					k = test_log_consistency(nl, m, n, proof);
				/*
				 * What an auditor holding l's first m entries rebuilds by
				 * appending nl's next ones: nl's tree, unless it already
				 * holds l's entry 7 (the one the fork rewrote).
				 */
				memcpy(rebuilt, b.root, RP_HASH_LEN);
				if (t && m > 7 && n > m) {
					struct rp_tlog_head h;
					head(l, n, &h);
					memcpy(rebuilt, h.root, RP_HASH_LEN);
				}
				enum rp_tlog_verdict vp = advance(&a, &b, proof, k, &d);
				enum rp_tlog_verdict vr =
					rp_tlog_advance_rebuilt(&a, &b, rebuilt, &d);
				assert_int_equal(vp, vr);
				/* The truth: a prefix of the same history, or not. */
				bool same_history = !t || m <= 7;
				if (n < m)
					assert_int_equal(vp, RP_TLOG_ROLLBACK);
				else if (n == m)
					assert_int_equal(vp, same_history ? RP_TLOG_SAME
									  : RP_TLOG_FORK);
				else
					assert_int_equal(vp, same_history ? RP_TLOG_EXTENDS
									  : RP_TLOG_INCONSISTENT);
			}
		}
	}
	free(other);
	free(l);
}

/*
 * Attack: a log leaps to an invented tree of 2^63 - 1 entries (the real
 * ones its left edge) so that one junk entry at its end, once acted on,
 * leaves the verifier unable to accept any later checkpoint. The step is
 * refused by its size, before any proof is looked at.
 */
static void tlog_leap_to_the_end_refused(void **state)
{
	struct test_log *l = log_of(3, NULL);
	struct rp_tlog_head a, b;
	struct rp_diag d = {""};
	hash_t proof[62];

	(void)state;
	head(l, 3, &a);
	b = a;
	b.size = (UINT64_C(1) << 63) - 1;
	memset(proof, 0x42, sizeof(proof));
	assert_int_equal(advance(&a, &b, proof, 62, &d), RP_TLOG_INCONSISTENT);
	assert_non_null(strstr(d.msg, "grows by more than"));
	b.size = 3 + RP_LOG_GROWTH_MAX + 1;
	assert_int_equal(advance(&a, &b, proof, 20, &d), RP_TLOG_INCONSISTENT);
	assert_non_null(strstr(d.msg, "grows by more than"));
	/* within the bound, it is the proof that decides */
	b.size = 3 + RP_LOG_GROWTH_MAX;
	assert_int_equal(advance(&a, &b, proof, 20, &d), RP_TLOG_INCONSISTENT);
	assert_null(strstr(d.msg, "grows by more than"));
	free(l);
}

static void tlog_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(rp_tlog_verdict_name(RP_TLOG_SAME), "same");
	assert_string_equal(rp_tlog_verdict_name(RP_TLOG_EXTENDS), "extends");
	assert_string_equal(rp_tlog_verdict_name(RP_TLOG_ROLLBACK), "rollback");
	assert_string_equal(rp_tlog_verdict_name(RP_TLOG_FORK), "fork");
	assert_string_equal(rp_tlog_verdict_name(RP_TLOG_INCONSISTENT), "inconsistent");
	assert_string_equal(rp_tlog_verdict_name((enum rp_tlog_verdict)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tlog_same_head_is_same),
		cmocka_unit_test(tlog_every_real_proof_extends),
		cmocka_unit_test(tlog_empty_tree_is_extended_by_any),
		cmocka_unit_test(tlog_rollback),
		cmocka_unit_test(tlog_fork_same_size),
		cmocka_unit_test(tlog_same_size_with_a_proof_is_inconsistent),
		cmocka_unit_test(tlog_bad_proofs_are_inconsistent),
		cmocka_unit_test(tlog_checks_in_order),
		cmocka_unit_test(tlog_rebuilt_root),
		cmocka_unit_test(tlog_proof_and_rebuilt_agree),
		cmocka_unit_test(tlog_leap_to_the_end_refused),
		cmocka_unit_test(tlog_verdict_names),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
