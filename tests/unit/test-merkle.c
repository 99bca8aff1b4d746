/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 9162 Merkle trees: the transparency-dev/merkle proof vectors
 * (tests/vectors/merkle), with one named test per case where Rampart's
 * verifier deliberately differs from them; then proofs generated from
 * stored hashes against a naive recursive RFC 9162 MTH / PATH / PROOF over
 * every tree of 1 to 300 leaves; tampered proofs; tlog-tiles paths.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "merkle.h"
#include "rp_err.h"
#include "scan.h"

typedef uint8_t hash_t[RP_HASH_LEN];

/* ---- the transparency-dev vectors ---- */

enum outcome {
	ACCEPTED,
	REJECTED,     /* by the verifier, with a diagnostic */
	NOT_32_BYTES, /* a hash is not 32 bytes: no caller can pass it to the API */
};

struct vcase {
	char *text;
	json_t *j;
	bool want_err;
};

static void vcase_load(const char *path, struct vcase *c)
{
	json_error_t err;
	size_t len;
	json_t *w;

	c->text = vec_read(path, &len);
	/* leafIdx 2^64 - 1 does not fit jansson's integers: read as text below. */
	c->j = json_loadb(c->text, len, JSON_DECODE_INT_AS_REAL, &err);
	if (!c->j)
		fail_msg("%s: %s", path, err.text);
	w = json_object_get(c->j, "wantErr");
	assert_true(json_is_boolean(w));
	c->want_err = json_is_true(w);
}

static void vcase_free(struct vcase *c)
{
	json_decref(c->j);
	free(c->text);
}

/* The exact value of an integer field, from the JSON text itself. */
static uint64_t vcase_u64(const struct vcase *c, const char *key)
{
	char pat[64];
	const char *p;
	size_t n;
	uint64_t v;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(c->text, pat);
	assert_non_null(p);
	p += strlen(pat);
	n = strspn(p, "0123456789");
	assert_int_equal(rp_parse_u64(p, n, UINT64_MAX, &v), 0);
	return v;
}

/* Decodes a base64 hash: false unless it is exactly 32 bytes. */
static bool b64_hash(json_t *s, uint8_t out[RP_HASH_LEN])
{
	uint8_t buf[128];
	size_t n = 0;
	const char *t = json_string_value(s);

	assert_non_null(t);
	if (rp_b64_decode(t, strlen(t), buf, sizeof(buf), &n) != 0)
		return false;
	if (n != RP_HASH_LEN)
		return false;
	memcpy(out, buf, RP_HASH_LEN);
	return true;
}

/* proof is null or an array of base64 hashes. */
static bool vcase_proof(const struct vcase *c, hash_t *proof, size_t max, size_t *ret_n)
{
	json_t *a = json_object_get(c->j, "proof");
	bool ok = true;
	size_t i;
	json_t *e;

	*ret_n = 0;
	if (json_is_null(a))
		return true;
	assert_true(json_is_array(a));
	assert_true(json_array_size(a) <= max);
	json_array_foreach (a, i, e) {
		ok = b64_hash(e, proof[i]) && ok;
	}
	*ret_n = json_array_size(a);
	return ok;
}

static enum outcome run_inclusion(const char *path, bool *ret_want_err)
{
	struct vcase c;
	hash_t leaf, root, proof[RP_PROOF_HASHES_MAX];
	struct rp_diag d = {""};
	size_t n;
	bool ok;
	int r;

	vcase_load(path, &c);
	*ret_want_err = c.want_err;
	ok = b64_hash(json_object_get(c.j, "leafHash"), leaf);
	ok = b64_hash(json_object_get(c.j, "root"), root) && ok;
	ok = vcase_proof(&c, proof, RP_PROOF_HASHES_MAX, &n) && ok;
	if (!ok) {
		vcase_free(&c);
		return NOT_32_BYTES;
	}
	r = rp_merkle_verify_inclusion(vcase_u64(&c, "leafIdx"), vcase_u64(&c, "treeSize"), leaf,
				       (const hash_t *)proof, n, root, &d);
	vcase_free(&c);
	if (r == 0)
		return ACCEPTED;
	assert_int_equal(r, RP_E_PROOF);
	if (d.msg[0] == '\0')
		fail_msg("%s: rejected without a diagnostic", path);
	return REJECTED;
}

static enum outcome run_consistency(const char *path, bool *ret_want_err)
{
	struct vcase c;
	hash_t root1, root2, proof[RP_PROOF_HASHES_MAX];
	struct rp_diag d = {""};
	size_t n;
	bool ok;
	int r;

	vcase_load(path, &c);
	*ret_want_err = c.want_err;
	ok = b64_hash(json_object_get(c.j, "root1"), root1);
	ok = b64_hash(json_object_get(c.j, "root2"), root2) && ok;
	ok = vcase_proof(&c, proof, RP_PROOF_HASHES_MAX, &n) && ok;
	if (!ok) {
		vcase_free(&c);
		return NOT_32_BYTES;
	}
	r = rp_merkle_verify_consistency(vcase_u64(&c, "size1"), vcase_u64(&c, "size2"), root1,
					 root2, (const hash_t *)proof, n, &d);
	vcase_free(&c);
	if (r == 0)
		return ACCEPTED;
	assert_int_equal(r, RP_E_PROOF);
	if (d.msg[0] == '\0')
		fail_msg("%s: rejected without a diagnostic", path);
	return REJECTED;
}

/*
 * Vectors where Rampart's answer differs from transparency-dev's, each with
 * its own named test below saying why.
 */
static const struct {
	const char *path;
	enum outcome ours;
} deviations[] = {
	/* test vector_equal_sizes_with_short_hashes */
	{"merkle/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json", NOT_32_BYTES},
};

static char *found[256];
static size_t nfound;

static int collect(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	size_t n = strlen(fpath);
	(void)sb;
	(void)ftw;

	if (type == FTW_F && n > 5 && strcmp(fpath + n - 5, ".json") == 0) {
		assert_true(nfound < N_ELEMS(found));
		found[nfound] = strdup(fpath + strlen(VECTORS_DIR) + 1);
		assert_non_null(found[nfound]);
		nfound++;
	}
	return 0;
}

static void run_vectors(const char *dir, enum outcome (*run)(const char *, bool *),
			size_t want_files)
{
	char root[1024];
	size_t accepted = 0;

	nfound = 0;
	snprintf(root, sizeof(root), "%s/%s", VECTORS_DIR, dir);
	assert_int_equal(nftw(root, collect, 16, FTW_PHYS), 0);
	assert_int_equal(nfound, want_files);
	for (size_t i = 0; i < nfound; i++) {
		bool want_err, deviates = false;
		enum outcome got = run(found[i], &want_err);

		for (size_t k = 0; k < N_ELEMS(deviations); k++) {
			if (strcmp(found[i], deviations[k].path) == 0) {
				deviates = true;
				if (got != deviations[k].ours)
					fail_msg("%s: outcome %d, the named test expects %d",
						 found[i], got, deviations[k].ours);
			}
		}
		if (!deviates && (got == ACCEPTED) == want_err)
			fail_msg("%s: %s, the vector wants %s", found[i],
				 got == ACCEPTED ? "accepted" : "rejected",
				 want_err ? "an error" : "success");
		accepted += got == ACCEPTED;
		free(found[i]);
	}
	print_message("# %s: %zu vectors, %zu accepted\n", dir, nfound, accepted);
}

static void vectors_inclusion(void **state)
{
	(void)state;
	run_vectors("merkle/inclusion", run_inclusion, 98);
}

static void vectors_consistency(void **state)
{
	(void)state;
	run_vectors("merkle/consistency", run_consistency, 98);
}

static void hash_of(const char *b64, uint8_t out[RP_HASH_LEN])
{
	size_t n;
	assert_int_equal(rp_b64_decode(b64, strlen(b64), out, RP_HASH_LEN, &n), 0);
	assert_int_equal(n, RP_HASH_LEN);
}

#define EMPTY_ROOT_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define LEAF0_B64      "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="

/*
 * sizes-are-equal-one-and-proof-is-empty wants success for two equal
 * 12-byte "roots". Rampart's API takes 32-byte hashes only, so such a case
 * is refused when the hashes are decoded, before any verifier runs: a
 * SHA-256 tree has no 12-byte roots. With equal 32-byte roots the same
 * case verifies.
 */
static void vector_equal_sizes_with_short_hashes(void **state)
{
	bool want_err;
	hash_t r;
	(void)state;

	assert_int_equal(run_consistency(deviations[0].path, &want_err), NOT_32_BYTES);
	assert_false(want_err);
	hash_of(LEAF0_B64, r);
	assert_int_equal(rp_merkle_verify_consistency(1, 1, r, r, NULL, 0, NULL), 0);
}

/*
 * Looser than transparency-dev, as merkle.h says: from size 0 with an
 * empty proof to any tree is accepted, since every tree extends the empty
 * one and C2SP tlog-witness sends exactly this (`old 0' and no proof).
 * transparency-dev's size1-is-zero-and-size2-is-not-zero rejects it (that
 * vector is refused here only because its root2 is 12 bytes).
 */
static void consistency_from_empty_tree_accepted(void **state)
{
	hash_t empty, root2;
	struct rp_diag d = {""};
	(void)state;

	hash_of(EMPTY_ROOT_B64, empty);
	hash_of(LEAF0_B64, root2);
	assert_int_equal(rp_merkle_verify_consistency(0, 1, empty, root2, NULL, 0, &d), 0);
	assert_int_equal(rp_merkle_verify_consistency(0, UINT64_MAX, empty, root2, NULL, 0, &d), 0);
	/* size 0 to 0 with the empty root on both sides: the same tree. */
	assert_int_equal(rp_merkle_verify_consistency(0, 0, empty, empty, NULL, 0, &d), 0);
}

/*
 * Still refused from size 0: any proof hash (the vector "consistency check
 * on empty tree is useless"), and a root for size 0 that is not the empty
 * tree's (stricter than the header's wording: such a checkpoint describes
 * no tree, so consistency from it means nothing).
 */
static void consistency_from_empty_tree_strict(void **state)
{
	hash_t empty, other, proof[1];
	struct rp_diag d = {""};
	(void)state;

	hash_of(EMPTY_ROOT_B64, empty);
	hash_of(LEAF0_B64, other);
	memcpy(proof[0], empty, RP_HASH_LEN);
	assert_int_equal(
		rp_merkle_verify_consistency(0, 1, empty, other, (const hash_t *)proof, 1, &d),
		RP_E_PROOF);
	assert_diag_has(&d, "must be empty");
	assert_int_equal(rp_merkle_verify_consistency(0, 1, other, other, NULL, 0, &d), RP_E_PROOF);
	assert_diag_has(&d, "size 0");
	/* sizes-are-equal-zero-and-proof-is-empty, with 32-byte equal roots. */
	assert_int_equal(rp_merkle_verify_consistency(0, 0, other, other, NULL, 0, &d), RP_E_PROOF);
	assert_int_equal(rp_merkle_verify_consistency(0, 0, empty, other, NULL, 0, &d), RP_E_PROOF);
}

/* ---- hashing ---- */

static void hash_rfc9162_basics(void **state)
{
	hash_t h, want, l, r, buf;
	uint8_t cat[65];
	(void)state;

	rp_merkle_empty_root(h);
	hash_of(EMPTY_ROOT_B64, want);
	assert_memory_equal(h, want, RP_HASH_LEN);
	rp_merkle_leaf_hash("", 0, h);
	hash_of(LEAF0_B64, want);
	assert_memory_equal(h, want, RP_HASH_LEN);
	rp_merkle_leaf_hash("a", 1, l);
	rp_merkle_leaf_hash("b", 1, r);
	cat[0] = 1;
	memcpy(cat + 1, l, 32);
	memcpy(cat + 33, r, 32);
	rp_sha256(cat, sizeof(cat), want);
	rp_merkle_node_hash(l, r, h);
	assert_memory_equal(h, want, RP_HASH_LEN);
	/* out may alias an input. */
	memcpy(buf, l, 32);
	rp_merkle_node_hash(buf, r, buf);
	assert_memory_equal(buf, want, RP_HASH_LEN);
	memcpy(buf, r, 32);
	rp_merkle_node_hash(l, buf, buf);
	assert_memory_equal(buf, want, RP_HASH_LEN);
}

/* ---- a naive RFC 9162 reference, recursive, from all the leaves ---- */

#define MAXN 300
#define MAXL 10 /* 2^9 > MAXN */

static hash_t leaves[MAXN];
static hash_t memo[MAXN + 1][MAXN + 1];
static bool have[MAXN + 1][MAXN + 1];

static void leaves_init(void)
{
	char s[32];

	for (int i = 0; i < MAXN; i++) {
		int n = snprintf(s, sizeof(s), "leaf %d", i);
		rp_merkle_leaf_hash(s, (size_t)n, leaves[i]);
	}
}

static uint64_t pow2_below(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[lo:hi]) */
static const uint8_t *naive_mth(uint64_t lo, uint64_t hi)
{
	if (!have[lo][hi]) {
		uint64_t n = hi - lo, k;

		if (n == 0) {
			rp_merkle_empty_root(memo[lo][hi]);
		} else if (n == 1) {
			memcpy(memo[lo][hi], leaves[lo], RP_HASH_LEN);
		} else {
			k = pow2_below(n);
			rp_merkle_node_hash(naive_mth(lo, lo + k), naive_mth(lo + k, hi),
					    memo[lo][hi]);
		}
		have[lo][hi] = true;
	}
	return memo[lo][hi];
}

static void put(hash_t *out, size_t *n, const uint8_t *h)
{
	assert_true(*n < RP_PROOF_HASHES_MAX);
	memcpy(out[(*n)++], h, RP_HASH_LEN);
}

/* PATH(m, D[lo:hi]), m absolute. */
static void naive_path(uint64_t m, uint64_t lo, uint64_t hi, hash_t *out, size_t *n)
{
	uint64_t k;

	if (hi - lo == 1)
		return;
	k = pow2_below(hi - lo);
	if (m < lo + k) {
		naive_path(m, lo, lo + k, out, n);
		put(out, n, naive_mth(lo + k, hi));
	} else {
		naive_path(m, lo + k, hi, out, n);
		put(out, n, naive_mth(lo, lo + k));
	}
}

/* SUBPROOF(m, D[lo:hi], b), m absolute. */
static void naive_subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b, hash_t *out, size_t *n)
{
	uint64_t k;

	if (m == hi) {
		if (!b)
			put(out, n, naive_mth(lo, hi));
		return;
	}
	k = pow2_below(hi - lo);
	if (m - lo <= k) {
		naive_subproof(m, lo, lo + k, b, out, n);
		put(out, n, naive_mth(lo + k, hi));
	} else {
		naive_subproof(m, lo + k, hi, false, out, n);
		put(out, n, naive_mth(lo, lo + k));
	}
}

/* ---- stored hashes in memory, filled by rp_merkle_append ---- */

struct store {
	hash_t h[MAXL][MAXN];
	uint64_t n[MAXL];
	unsigned reads;
	int fail; /* when non-zero, every read returns it */
};

static int store_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct store *s = arg;

	s->reads++;
	if (s->fail)
		return s->fail;
	if (level >= MAXL || index >= s->n[level])
		fail_msg("read of (%u, %llu), which is not stored", level,
			 (unsigned long long)index);
	memcpy(out, s->h[level][index], RP_HASH_LEN);
	return 0;
}

static void store_append(struct store *s, const uint8_t leaf[RP_HASH_LEN])
{
	struct rp_stored_hash out[64];
	uint64_t n = s->n[0];
	size_t cnt = 0;

	assert_int_equal(rp_merkle_append(n, leaf, store_read, s, out, &cnt), 0);
	assert_int_equal(cnt, 1 + (size_t)__builtin_ctzll(n + 1));
	assert_int_equal(out[0].level, 0);
	assert_int_equal(out[0].index, n);
	assert_memory_equal(out[0].hash, leaf, RP_HASH_LEN);
	for (size_t i = 0; i < cnt; i++) {
		assert_true(out[i].level < MAXL);
		/* Each level grows by one, in order. */
		assert_int_equal(out[i].index, s->n[out[i].level]);
		memcpy(s->h[out[i].level][out[i].index], out[i].hash, RP_HASH_LEN);
		s->n[out[i].level]++;
	}
}

static struct store *store_new(size_t nleaves)
{
	struct store *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	for (size_t i = 0; i < nleaves; i++)
		store_append(s, leaves[i]);
	return s;
}

static unsigned bits(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

static void stored_hashes_are_subtree_roots(void **state)
{
	struct store *s = store_new(MAXN);
	(void)state;

	for (unsigned l = 0; l < MAXL; l++) {
		assert_int_equal(s->n[l], MAXN >> l);
		for (uint64_t i = 0; i < s->n[l]; i++)
			assert_memory_equal(s->h[l][i], naive_mth(i << l, (i + 1) << l),
					    RP_HASH_LEN);
	}
	free(s);
}

/*
 * For every size 1..300: the tree hash is MTH, every inclusion and
 * consistency proof is the RFC's PATH / PROOF and verifies, each with
 * O(log n) reads.
 */
static void generated_matches_naive(void **state)
{
	struct store *s = calloc(1, sizeof(*s));
	hash_t got[RP_PROOF_HASHES_MAX], want[RP_PROOF_HASHES_MAX], root;
	struct rp_diag d = {""};
	size_t ngot, nwant;
	unsigned long proofs = 0;
	(void)state;

	assert_non_null(s);
	for (uint64_t size = 1; size <= MAXN; size++) {
		store_append(s, leaves[size - 1]);
		s->reads = 0;
		assert_int_equal(rp_merkle_tree_hash(size, store_read, s, root), 0);
		assert_int_equal(s->reads, __builtin_popcountll(size));
		assert_memory_equal(root, naive_mth(0, size), RP_HASH_LEN);

		for (uint64_t i = 0; i < size; i++) {
			s->reads = 0;
			assert_int_equal(
				rp_merkle_prove_inclusion(i, size, store_read, s, got, &ngot), 0);
			assert_true(s->reads <= 2 * bits(size));
			nwant = 0;
			naive_path(i, 0, size, want, &nwant);
			assert_int_equal(ngot, nwant);
			assert_memory_equal(got, want, ngot * RP_HASH_LEN);
			assert_int_equal(rp_merkle_verify_inclusion(i, size, leaves[i],
								    (const hash_t *)got, ngot, root,
								    &d),
					 0);
			proofs++;
		}
		for (uint64_t m = 1; m <= size; m++) {
			s->reads = 0;
			assert_int_equal(
				rp_merkle_prove_consistency(m, size, store_read, s, got, &ngot), 0);
			assert_true(s->reads <= 2 * bits(size));
			nwant = 0;
			naive_subproof(m, 0, size, true, want, &nwant);
			assert_int_equal(ngot, nwant);
			assert_memory_equal(got, want, ngot * RP_HASH_LEN);
			assert_int_equal(rp_merkle_verify_consistency(m, size, naive_mth(0, m),
								      root, (const hash_t *)got,
								      ngot, &d),
					 0);
			proofs++;
		}
	}
	print_message("# %lu proofs generated and verified\n", proofs);
	free(s);
}

/* ---- attacks on proofs: each must fail with a diagnostic ---- */

static void expect_incl_fails(uint64_t i, uint64_t size, const uint8_t *leaf, const hash_t *p,
			      size_t n, const uint8_t *root)
{
	struct rp_diag d = {""};

	if (rp_merkle_verify_inclusion(i, size, leaf, p, n, root, &d) != RP_E_PROOF)
		fail_msg("tampered inclusion proof (%llu of %llu, %zu hashes) verified",
			 (unsigned long long)i, (unsigned long long)size, n);
	assert_true(d.msg[0] != '\0');
}

static void expect_cons_fails(uint64_t m, uint64_t size, const uint8_t *r1, const uint8_t *r2,
			      const hash_t *p, size_t n)
{
	struct rp_diag d = {""};

	if (rp_merkle_verify_consistency(m, size, r1, r2, p, n, &d) != RP_E_PROOF)
		fail_msg("tampered consistency proof (%llu to %llu, %zu hashes) verified",
			 (unsigned long long)m, (unsigned long long)size, n);
	assert_true(d.msg[0] != '\0');
}

static void tampered_inclusion_fails(void **state)
{
	struct store *s = store_new(MAXN);
	hash_t p[RP_PROOF_HASHES_MAX + 1], leaf;
	size_t n;
	(void)state;

	for (uint64_t size = 1; size <= MAXN; size++) {
		const uint8_t *root = naive_mth(0, size);

		for (uint64_t i = 0; i < size; i++) {
			assert_int_equal(rp_merkle_prove_inclusion(i, size, store_read, s, p, &n),
					 0);
			/* A bit flip anywhere in any hash. */
			for (size_t k = 0; k < n; k++) {
				uint8_t bit = (uint8_t)(1u << (k % 8));
				p[k][(k * 7 + i) % RP_HASH_LEN] ^= bit;
				expect_incl_fails(i, size, leaves[i], (const hash_t *)p, n, root);
				p[k][(k * 7 + i) % RP_HASH_LEN] ^= bit;
			}
			/* The same proof for another leaf index, or another leaf. */
			if (size > 1) {
				uint64_t j = (i + 1) % size;
				expect_incl_fails(j, size, leaves[i], (const hash_t *)p, n, root);
				expect_incl_fails(i, size, leaves[j], (const hash_t *)p, n, root);
			}
			expect_incl_fails(i + size, size, leaves[i], (const hash_t *)p, n, root);
			/* Truncated, extended by a hash, or with its last hash dropped. */
			if (n > 0)
				expect_incl_fails(i, size, leaves[i], (const hash_t *)p, n - 1,
						  root);
			memcpy(p[n], root, RP_HASH_LEN);
			expect_incl_fails(i, size, leaves[i], (const hash_t *)p, n + 1, root);
			/* The leaf's data instead of its hash does not verify either. */
			memcpy(leaf, leaves[i], RP_HASH_LEN);
			leaf[0] ^= 0x80;
			expect_incl_fails(i, size, leaf, (const hash_t *)p, n, root);
		}
	}
	free(s);
}

static void tampered_consistency_fails(void **state)
{
	struct store *s = store_new(MAXN);
	hash_t p[RP_PROOF_HASHES_MAX + 1];
	size_t n;
	(void)state;

	for (uint64_t size = 2; size <= MAXN; size++) {
		const uint8_t *r2 = naive_mth(0, size);

		for (uint64_t m = 1; m < size; m++) {
			const uint8_t *r1 = naive_mth(0, m);

			assert_int_equal(rp_merkle_prove_consistency(m, size, store_read, s, p, &n),
					 0);
			assert_true(n > 0);
			for (size_t k = 0; k < n; k++) {
				uint8_t bit = (uint8_t)(1u << ((k + m) % 8));
				p[k][(k * 5 + m) % RP_HASH_LEN] ^= bit;
				expect_cons_fails(m, size, r1, r2, (const hash_t *)p, n);
				p[k][(k * 5 + m) % RP_HASH_LEN] ^= bit;
			}
			/* Another old size with the same roots and proof. */
			expect_cons_fails(m + 1, size, r1, r2, (const hash_t *)p, n);
			if (m > 1)
				expect_cons_fails(m - 1, size, r1, r2, (const hash_t *)p, n);
			/* Swapped roots, a root of another size. */
			expect_cons_fails(m, size, r2, r1, (const hash_t *)p, n);
			expect_cons_fails(m, size, naive_mth(0, m - 1), r2, (const hash_t *)p, n);
			/* Truncated and extended. */
			expect_cons_fails(m, size, r1, r2, (const hash_t *)p, n - 1);
			memcpy(p[n], r1, RP_HASH_LEN);
			expect_cons_fails(m, size, r1, r2, (const hash_t *)p, n + 1);
			/* A rollback: the new tree presented as the old one. */
			expect_cons_fails(size, m, r2, r1, (const hash_t *)p, n);
		}
	}
	free(s);
}

/* A fork: two trees of the same size with different roots never verify. */
static void consistency_fork_rejected(void **state)
{
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(
		rp_merkle_verify_consistency(5, 5, naive_mth(0, 5), naive_mth(1, 6), NULL, 0, &d),
		RP_E_PROOF);
	assert_diag_has(&d, "different roots");
}

static void verify_diagnostics(void **state)
{
	hash_t p[RP_PROOF_HASHES_MAX + 1];
	struct rp_diag d = {""};
	(void)state;

	memset(p, 0, sizeof(p));
	assert_int_equal(rp_merkle_verify_inclusion(5, 5, leaves[0], (const hash_t *)p, 3,
						    naive_mth(0, 5), &d),
			 RP_E_PROOF);
	assert_diag_has(&d, "outside the tree");
	assert_int_equal(rp_merkle_verify_inclusion(0, 5, leaves[0], (const hash_t *)p, 2,
						    naive_mth(0, 5), &d),
			 RP_E_PROOF);
	assert_diag_has(&d, "needs 3");
	assert_int_equal(rp_merkle_verify_inclusion(0, 5, leaves[0], (const hash_t *)p, 3,
						    naive_mth(0, 5), &d),
			 RP_E_PROOF);
	assert_diag_has(&d, "not to the tree's root");
	assert_int_equal(rp_merkle_verify_inclusion(0, 5, leaves[0], (const hash_t *)p,
						    RP_PROOF_HASHES_MAX + 1, naive_mth(0, 5), &d),
			 RP_E_TOOBIG);
	assert_int_equal(rp_merkle_verify_consistency(3, 5, naive_mth(0, 3), naive_mth(0, 5),
						      (const hash_t *)p, RP_PROOF_HASHES_MAX + 1,
						      &d),
			 RP_E_TOOBIG);
	assert_int_equal(
		rp_merkle_verify_consistency(6, 5, naive_mth(0, 6), naive_mth(0, 5), NULL, 0, &d),
		RP_E_PROOF);
	assert_diag_has(&d, "larger than the new one");
	assert_int_equal(rp_merkle_verify_consistency(3, 5, naive_mth(0, 3), naive_mth(0, 5),
						      (const hash_t *)p, 4, &d),
			 RP_E_PROOF);
	assert_diag_has(&d, "old root");
	/* The old root right, the new one wrong: the proof of 4 -> 5 is one hash. */
	memcpy(p[0], naive_mth(4, 5), RP_HASH_LEN);
	assert_int_equal(rp_merkle_verify_consistency(4, 5, naive_mth(0, 4), naive_mth(0, 6),
						      (const hash_t *)p, 1, &d),
			 RP_E_PROOF);
	assert_diag_has(&d, "new root");
	/* NULL diagnostics are fine. */
	assert_int_equal(rp_merkle_verify_consistency(4, 5, naive_mth(0, 4), naive_mth(0, 5),
						      (const hash_t *)p, 1, NULL),
			 0);
}

/* ---- storage edge cases ---- */

static int fake_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	unsigned *reads = arg;
	uint8_t in[12];

	(*reads)++;
	if (level > 63)
		return RP_E_INVAL;
	in[0] = (uint8_t)level;
	for (int i = 0; i < 8; i++)
		in[1 + i] = (uint8_t)(index >> (8 * i));
	in[9] = in[10] = in[11] = 0;
	rp_sha256(in, sizeof(in), out);
	return 0;
}

static void prove_arguments(void **state)
{
	hash_t p[RP_PROOF_HASHES_MAX], h;
	struct rp_stored_hash st[64];
	size_t n = 999;
	unsigned reads = 0;
	(void)state;

	assert_int_equal(rp_merkle_prove_inclusion(0, 0, fake_read, &reads, p, &n), RP_E_INVAL);
	assert_int_equal(rp_merkle_prove_inclusion(5, 5, fake_read, &reads, p, &n), RP_E_INVAL);
	assert_int_equal(rp_merkle_prove_consistency(0, 5, fake_read, &reads, p, &n), RP_E_INVAL);
	assert_int_equal(rp_merkle_prove_consistency(6, 5, fake_read, &reads, p, &n), RP_E_INVAL);
	assert_int_equal(n, 999); /* untouched on failure */
	assert_int_equal(reads, 0);
	assert_int_equal(rp_merkle_prove_consistency(5, 5, fake_read, &reads, p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rp_merkle_append(UINT64_MAX, leaves[0], fake_read, &reads, st, &n),
			 RP_E_INVAL);
	/* The empty tree's hash reads nothing. */
	assert_int_equal(rp_merkle_tree_hash(0, fake_read, &reads, h), 0);
	assert_int_equal(reads, 0);
	hash_of(EMPTY_ROOT_B64, p[0]);
	assert_memory_equal(h, p[0], RP_HASH_LEN);
}

/* Very large trees: logarithmic reads; proofs that would not fit are TOOBIG. */
static void prove_huge_trees(void **state)
{
	hash_t p[RP_PROOF_HASHES_MAX], h;
	struct rp_stored_hash st[64];
	size_t n = 0;
	unsigned reads = 0;
	(void)state;

	/* Leaf 2^63 - 1 completes 63 subtrees: 64 hashes to store. */
	assert_int_equal(
		rp_merkle_append(((uint64_t)1 << 63) - 1, leaves[0], fake_read, &reads, st, &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(reads, 63);
	assert_int_equal(st[63].level, 63);
	assert_int_equal(st[63].index, 0);

	reads = 0;
	assert_int_equal(rp_merkle_tree_hash(UINT64_MAX, fake_read, &reads, h), 0);
	assert_int_equal(reads, 64);

	uint64_t big = ((uint64_t)1 << 62) + 12345;
	reads = 0;
	assert_int_equal(rp_merkle_prove_inclusion(0, big, fake_read, &reads, p, &n), 0);
	assert_int_equal(n, 63);
	assert_true(reads <= 2 * 63);
	reads = 0;
	assert_int_equal(rp_merkle_prove_consistency(big - 7, big, fake_read, &reads, p, &n), 0);
	assert_true(n <= RP_PROOF_HASHES_MAX && reads <= 2 * 63);
	/*
	 * A consistency proof can be one hash longer than the tree's height:
	 * 3 -> 2^62 + 12345 needs 64, above the cap of 63 (tlog-witness), so
	 * consistency proofs are available up to trees of 2^62 leaves.
	 */
	reads = 0;
	assert_int_equal(rp_merkle_prove_consistency(3, big, fake_read, &reads, p, &n),
			 RP_E_TOOBIG);
	assert_int_equal(reads, 0);
	uint64_t big2 = ((uint64_t)1 << 62) - 12345;
	assert_int_equal(rp_merkle_prove_consistency(3, big2, fake_read, &reads, p, &n), 0);
	assert_int_equal(n, 63);
	assert_true(reads <= 2 * 63);
	reads = 0;
	assert_int_equal(
		rp_merkle_prove_consistency(3, (uint64_t)1 << 62, fake_read, &reads, p, &n), 0);
	assert_int_equal(n, 63);

	/* 64 hashes would be needed: more than the cap, refused before reading. */
	reads = 0;
	assert_int_equal(rp_merkle_prove_inclusion(0, UINT64_MAX, fake_read, &reads, p, &n),
			 RP_E_TOOBIG);
	assert_int_equal(rp_merkle_prove_consistency(3, UINT64_MAX, fake_read, &reads, p, &n),
			 RP_E_TOOBIG);
	assert_int_equal(reads, 0);
}

/* A storage error comes back unchanged, and nothing is returned with it. */
static void read_errors_pass_through(void **state)
{
	struct store *s = store_new(20);
	struct rp_stored_hash st[64];
	hash_t p[RP_PROOF_HASHES_MAX], h;
	size_t n = 999;
	(void)state;

	s->fail = RP_E_DB;
	assert_int_equal(rp_merkle_prove_inclusion(3, 20, store_read, s, p, &n), RP_E_DB);
	assert_int_equal(rp_merkle_prove_consistency(3, 20, store_read, s, p, &n), RP_E_DB);
	assert_int_equal(rp_merkle_tree_hash(20, store_read, s, h), RP_E_DB);
	assert_int_equal(rp_merkle_append(20 + 3, leaves[0], store_read, s, st, &n), RP_E_DB);
	assert_int_equal(n, 999);
	free(s);
}

/* ---- tlog-tiles paths ---- */

static void tile_round_trip(int level, uint64_t index, unsigned width, const char *want)
{
	struct rp_tile t = {.level = level, .index = index, .width = width}, back;
	struct rp_diag d = {""};
	char buf[64];

	rp_tile_path(&t, buf);
	assert_string_equal(buf, want);
	memset(&back, 0xff, sizeof(back));
	if (rp_tile_parse(buf, strlen(buf), &back, &d) != 0)
		fail_msg("%s: %s", buf, d.msg);
	assert_int_equal(back.level, level);
	assert_int_equal(back.index, index);
	assert_int_equal(back.width, width);
}

static void tile_paths(void **state)
{
	(void)state;
	tile_round_trip(0, 0, 256, "tile/0/000");
	tile_round_trip(0, 1234067, 256, "tile/0/x001/x234/067");
	tile_round_trip(0, 1000, 256, "tile/0/x001/000");
	tile_round_trip(0, 999, 256, "tile/0/999");
	tile_round_trip(2, 1, 17, "tile/2/001.p/17");
	tile_round_trip(1, 0, 1, "tile/1/000.p/1");
	tile_round_trip(63, 0, 255, "tile/63/000.p/255");
	tile_round_trip(6, 127, 1, "tile/6/127.p/1");
	tile_round_trip(RP_TILE_ENTRIES, 0, 256, "tile/entries/000");
	tile_round_trip(RP_TILE_ENTRIES, 273, 112, "tile/entries/273.p/112");
	tile_round_trip(RP_TILE_ENTRIES, 1234067, 3, "tile/entries/x001/x234/067.p/3");
	/* The largest indexes whose tiles start inside a log of 2^63 leaves. */
	tile_round_trip(0, (UINT64_C(1) << 55) - 1, 255,
			"tile/0/x036/x028/x797/x018/x963/967.p/255");
	tile_round_trip(RP_TILE_ENTRIES, (UINT64_C(1) << 55) - 1, 255,
			"tile/entries/x036/x028/x797/x018/x963/967.p/255");
}

static void tile_path_invalid_gives_empty(void **state)
{
	static const struct rp_tile bad[] = {
		{.level = 0, .index = 0, .width = 0},
		{.level = 0, .index = 0, .width = 257},
		{.level = 64, .index = 0, .width = 256},
		{.level = -2, .index = 0, .width = 256},
		{.level = 0, .index = UINT64_C(1) << 55, .width = 256}, /* starts at leaf 2^63 */
		{.level = RP_TILE_ENTRIES, .index = UINT64_MAX, .width = 255},
		{.level = 10, .index = UINT64_MAX, .width = 255},
		{.level = 7, .index = 1, .width = 1},
	};
	char buf[64];
	(void)state;

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		memset(buf, 'z', sizeof(buf));
		rp_tile_path(&bad[i], buf);
		assert_string_equal(buf, "");
	}
}

static void tile_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"tile",
		"tile/",
		"tile/0",
		"tile/0/",
		"/tile/0/000",
		"tiles/0/000",
		"tile/0/000/",
		"tile/0/0",
		"tile/0/00",
		"tile/0/0000",
		"tile/0/x000/001",      /* leading zero element */
		"tile/0/x000/x001/234", /* leading zero element */
		"tile/0/001/234",       /* missing x */
		"tile/0/x001",          /* x on the last element */
		"tile/0/x001/",         /* no last element */
		"tile/0/x1/234",        /* element not three digits */
		"tile/0/x0001/234",     /* element of four digits */
		"tile/0/X001/234",      /* capital X */
		"tile/0/x001//234",
		"tile/0/x001/x234/67",
		"tile/0/-01",
		"tile/0/+01",
		"tile/0/ 01",
		"tile/00/000", /* level with a leading zero */
		"tile/01/000",
		"tile/64/000", /* level 64 */
		"tile/100/000",
		"tile/-1/000",
		"tile//000",
		"tile/a/000",
		"tile/entries",
		"tile/entries/",
		"tile/entry/000",
		"tile/ENTRIES/000",
		"tile/0/000.p/0",   /* W = 0 */
		"tile/0/000.p/256", /* a full tile has no suffix */
		"tile/0/000.p/300",
		"tile/0/000.p/012", /* W with a leading zero */
		"tile/0/000.p/",
		"tile/0/000.p",
		"tile/0/000.q/1",
		"tile/0/000.p/1/",
		"tile/0/000.p/1x",
		"tile/0/000/",
		"tile/0/000 ",
		"tile/0/x018/x446/x744/x073/x709/x551/616", /* 2^64 */
		"tile/0/x018/x446/x744/x073/x709/x551/615", /* fits 64 bits, not a log */
		"tile/0/x999/x999/x999/x999/x999/x999/999",
		"tile/0/x001/x000/x000/x000/x000/x000/x000/000",
		"tile/8/1234067",
		"tile/0/000\n",
	};
	struct rp_tile t = {.level = 7, .index = 7, .width = 7};
	struct rp_diag d;
	(void)state;

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		d.msg[0] = '\0';
		if (rp_tile_parse(bad[i], strlen(bad[i]), &t, &d) != RP_E_MALFORMED)
			fail_msg("tile path `%s' was accepted", bad[i]);
		assert_diag_has(&d, "tile path");
		/* Untouched on failure. */
		assert_int_equal(t.level, 7);
		assert_int_equal(t.index, 7);
		assert_int_equal(t.width, 7);
	}
	/* An embedded NUL is not the end of the path. */
	assert_int_equal(rp_tile_parse("tile/0/000\0", 11, &t, &d), RP_E_MALFORMED);
	/* The length given is the path: the bytes after it are not read. */
	assert_int_equal(rp_tile_parse("tile/0/000.p/5", 10, &t, &d), 0);
	assert_int_equal(t.width, 256);
	/* Too long for any tile path. */
	char longp[100];
	memset(longp, '0', sizeof(longp));
	memcpy(longp, "tile/0/", 7);
	assert_int_equal(rp_tile_parse(longp, sizeof(longp), &t, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "longer");
}

/*
 * How many tile indexes a level has in a log of 2^63 leaves: tile K of
 * level L starts at leaf K * 256^(L + 1) (entry bundles: as level 0).
 */
static uint64_t tile_indexes(int level)
{
	unsigned shift = 8 * (unsigned)((level == RP_TILE_ENTRIES ? 0 : level) + 1);

	return shift >= 63 ? 1 : UINT64_C(1) << (63 - shift);
}

/* Every level and every width, for a few indexes, and each level's largest. */
static void tile_all_levels_and_widths(void **state)
{
	static const uint64_t idx[] = {0, 1, 999, 1000, 1001, 999999, 1000000, UINT64_MAX};
	struct rp_tile t, back;
	char buf[64];
	(void)state;

	for (int level = RP_TILE_ENTRIES; level <= 63; level++) {
		for (unsigned w = 1; w <= 256; w++) {
			for (size_t i = 0; i <= N_ELEMS(idx); i++) {
				uint64_t index =
					i < N_ELEMS(idx) ? idx[i] : tile_indexes(level) - 1;
				t = (struct rp_tile){.level = level, .index = index, .width = w};
				rp_tile_path(&t, buf);
				assert_true(strlen(buf) < 64);
				if (index >= tile_indexes(level)) {
					assert_string_equal(buf, "");
					continue;
				}
				assert_int_equal(rp_tile_parse(buf, strlen(buf), &back, NULL), 0);
				assert_int_equal(back.level, level);
				assert_int_equal(back.index, index);
				assert_int_equal(back.width, w);
			}
		}
	}
}

/* An index in tlog-tiles' x-grouped form, whatever its range. */
static void tile_index_text(uint64_t x, char *out, size_t n)
{
	unsigned groups[7];
	size_t k = 0, o = 0;

	do {
		groups[k++] = (unsigned)(x % 1000);
		x /= 1000;
	} while (x);
	while (k > 1)
		o += (size_t)snprintf(out + o, n - o, "x%03u/", groups[--k]);
	snprintf(out + o, n - o, "%03u", groups[0]);
}

/*
 * Attack: a tile index so large that index * 256 wraps around. Tile 2^56
 * of the entry bundles would be read as entries 0-255 and served as
 * immutable under a path no log has; at every level the first index past
 * the largest log is refused, and the last one inside it is not.
 */
static void tile_index_past_the_log_range_rejected(void **state)
{
	static const char wraps[] = "tile/entries/x072/x057/x594/x037/x927/936.p/1"; /* 2^56 */
	static const char wraps0[] = "tile/0/x072/x057/x594/x037/x927/936.p/1";
	struct rp_tile t = {.level = 7, .index = 7, .width = 7};
	struct rp_diag d = {""};
	char path[64], num[40];
	(void)state;

	assert_int_equal(rp_tile_parse(wraps, strlen(wraps), &t, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "index past the largest log");
	assert_int_equal(t.index, 7); /* untouched */
	assert_int_equal(rp_tile_parse(wraps0, strlen(wraps0), &t, &d), RP_E_MALFORMED);
	for (int level = RP_TILE_ENTRIES; level <= 63; level++) {
		const char *l = level == RP_TILE_ENTRIES ? "entries" : NULL;
		char lv[8];
		uint64_t n = tile_indexes(level);
		unsigned shift = 8 * (unsigned)((level == RP_TILE_ENTRIES ? 0 : level) + 1);

		snprintf(lv, sizeof(lv), "%d", level);
		tile_index_text(n, num, sizeof(num));
		snprintf(path, sizeof(path), "tile/%s/%s.p/1", l ? l : lv, num);
		if (rp_tile_parse(path, strlen(path), &t, &d) != RP_E_MALFORMED)
			fail_msg("tile path `%s' was accepted", path);
		tile_index_text(n - 1, num, sizeof(num));
		snprintf(path, sizeof(path), "tile/%s/%s.p/1", l ? l : lv, num);
		if (rp_tile_parse(path, strlen(path), &t, &d) != 0)
			fail_msg("%s: %s", path, d.msg);
		/* the first leaf of every tile that parses lies inside the log */
		assert_true(shift >= 63 ? t.index == 0 : t.index <= (UINT64_MAX >> shift));
		assert_true(shift >= 63 || (t.index << shift) < RP_LOG_LEAVES_MAX);
	}
}

/* ---- the agent's walk (lib/scan.h): frontier, scan step, scan.state ---- */

/* For every size 0..300 the frontier's root is the RFC's MTH, built leaf by leaf. */
static void frontier_matches_naive(void **state)
{
	struct rp_frontier f = {0};
	hash_t root, empty;
	(void)state;

	rp_frontier_root(&f, root);
	rp_merkle_empty_root(empty);
	assert_memory_equal(root, empty, RP_HASH_LEN);
	for (uint64_t n = 1; n <= MAXN; n++) {
		assert_int_equal(rp_frontier_append(&f, leaves[n - 1]), 0);
		assert_int_equal(f.size, n);
		rp_frontier_root(&f, root);
		assert_memory_equal(root, naive_mth(0, n), RP_HASH_LEN);
	}
}

/* Entries "leaf i" for i in [from, from + n), as the server's answer carries them. */
static void entries_of(struct rp_entries *e, uint64_t from, size_t n)
{
	size_t used = 0;

	memset(e, 0, sizeof(*e));
	e->buf = malloc(n * 16);
	assert_non_null(e->buf);
	e->from = from;
	e->n = n;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf((char *)e->buf + used, 16, "leaf %d", (int)(from + i));
		e->off[i] = used;
		e->len[i] = (size_t)k;
		used += (size_t)k;
	}
}

/* Walks a tree of `size' leaves in steps of `step', each with its true proof. */
static void walk(struct store *s, struct rp_frontier *f, uint64_t size, size_t step)
{
	struct rp_diag d = {""};
	hash_t root;

	assert_int_equal(rp_merkle_tree_hash(size, store_read, s, root), 0);
	while (f->size < size) {
		struct rp_entries e;
		size_t n = size - f->size < step ? (size_t)(size - f->size) : step;
		entries_of(&e, f->size, n);
		assert_int_equal(rp_merkle_prove_consistency(f->size + n, size, store_read, s,
							     e.consistency, &e.ncons),
				 0);
		assert_int_equal(rp_scan_verify(f, &e, size, root, &d), 0);
		rp_entries_release(&e);
	}
}

static void scan_walks_every_tree(void **state)
{
	struct store *s = store_new(MAXN);
	(void)state;

	for (uint64_t size = 1; size <= 70; size++) {
		for (size_t step = 1; step <= 9; step += 4) {
			struct rp_frontier f = {0};
			walk(s, &f, size, step);
			assert_int_equal(f.size, size);
		}
	}
	/* and on from a walk already made, as the log grows */
	struct rp_frontier f = {0};
	walk(s, &f, 100, 7);
	walk(s, &f, MAXN, 50);
	free(s);
}

/* A server that leaves out, changes, adds or reorders an entry is caught, and f is untouched. */
static void scan_refuses_what_is_not_the_log(void **state)
{
	struct store *s = store_new(MAXN);
	struct rp_diag d = {""};
	struct rp_frontier f = {0}, before;
	struct rp_entries e;
	hash_t root;
	(void)state;

	walk(s, &f, 40, 8);
	before = f;
	assert_int_equal(rp_merkle_tree_hash(100, store_read, s, root), 0);
	/* one entry changed */
	entries_of(&e, 40, 10);
	assert_int_equal(
		rp_merkle_prove_consistency(50, 100, store_read, s, e.consistency, &e.ncons), 0);
	e.buf[e.off[3]] ^= 1;
	assert_int_equal(rp_scan_verify(&f, &e, 100, root, &d), RP_E_PROOF);
	assert_non_null(strstr(d.msg, "not those of the witnessed tree"));
	assert_true(rp_frontier_equal(&f, &before));
	/* two swapped */
	e.buf[e.off[3]] ^= 1;
	size_t o = e.off[3];
	e.off[3] = e.off[4];
	e.off[4] = o;
	assert_int_equal(rp_scan_verify(&f, &e, 100, root, &d), RP_E_PROOF);
	rp_entries_release(&e);
	/* one left out: entries 41-49 offered as 40-48 */
	entries_of(&e, 41, 9);
	e.from = 40;
	assert_int_equal(
		rp_merkle_prove_consistency(49, 100, store_read, s, e.consistency, &e.ncons), 0);
	assert_int_equal(rp_scan_verify(&f, &e, 100, root, &d), RP_E_PROOF);
	rp_entries_release(&e);
	/* not where the walk is, or past the tree */
	entries_of(&e, 41, 9);
	assert_int_equal(rp_scan_verify(&f, &e, 100, root, &d), RP_E_MALFORMED);
	rp_entries_release(&e);
	entries_of(&e, 40, 61);
	assert_int_equal(rp_scan_verify(&f, &e, 100, root, &d), RP_E_MALFORMED);
	rp_entries_release(&e);
	assert_true(rp_frontier_equal(&f, &before));
	free(s);
}

static void scan_state_round_trip(void **state)
{
	struct rp_scan_state st = {0}, got;
	struct rp_diag d = {""};
	size_t len;
	(void)state;

	for (uint64_t n = 0; n < 40; n++) {
		st.npol = 2;
		st.pol[0] = (struct rp_scan_policy){1, 0};
		st.pol[1] = (struct rp_scan_policy){2, n ? n - 1 : 0};
		if (n < 2)
			st.npol = 1;
		char *text = rp_scan_state_format(&st, &len);
		assert_non_null(text);
		assert_int_equal(rp_scan_state_parse(text, len, &got, &d), 0);
		assert_int_equal(got.f.size, n);
		assert_true(rp_frontier_equal(&got.f, &st.f));
		assert_int_equal(got.npol, st.npol);
		free(text);
		rp_frontier_append(&st.f, leaves[n]);
	}
}

static void scan_state_strict(void **state)
{
	static const char *const bad[] = {
		"",
		"scanned 0\n",                                  /* no policy */
		"scanned 1\npolicy 1 0\n",                      /* a hash missing */
		"scanned 01\nhash AAAA\npolicy 1 0\n",          /* leading zero */
		"scanned 0\npolicy 1 0",                        /* no final newline */
		"scanned 0\npolicy 0 0\n",                      /* version 0 */
		"scanned 0\npolicy 2 0\npolicy 2 1\n",          /* versions not rising */
		"scanned 0\npolicy 1 1\npolicy 2 1\n",          /* indexes not rising */
		"scanned 0\npolicy 1 0\nhash x\n",              /* junk after */
		"scanned 0\npolicy 1 0 \n",                     /* trailing space */
		"scanned 9223372036854775808\npolicy 1 0\n",    /* past the log's range */
		"scanned 0\npolicy 1 0\npolicy 2 1\npending\n", /* pending: one policy only */
		"scanned 0\npolicy 3 0\npending\npending\n",    /* nothing after pending */
	};
	struct rp_scan_state st;
	struct rp_diag d = {""};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.msg[0] = '\0';
		assert_int_equal(rp_scan_state_parse(bad[i], strlen(bad[i]), &st, &d),
				 RP_E_MALFORMED);
		assert_non_null(strstr(d.msg, "scan state line"));
	}
	char big[RP_SCAN_STATE_MAX + 2];
	memset(big, 'x', sizeof(big));
	assert_int_equal(rp_scan_state_parse(big, sizeof(big), &st, &d), RP_E_TOOBIG);
	const char *ok = "scanned 0\npolicy 3 0\n";
	assert_int_equal(rp_scan_state_parse(ok, strlen(ok), &st, &d), 0);
	assert_int_equal(st.pol[0].version, 3);
	assert_false(st.pending);
	ok = "scanned 0\npolicy 3 0\npending\n";
	assert_int_equal(rp_scan_state_parse(ok, strlen(ok), &st, &d), 0);
	assert_true(st.pending);
}

/* After a log key rotation: `retired' names the newest policy kept as the log's end. */
static void scan_state_retired_round_trip(void **state)
{
	struct rp_scan_state st = {0}, got;
	struct rp_diag d = {""};
	size_t len;
	char *text;
	(void)state;

	for (uint64_t i = 0; i < 5; i++)
		rp_frontier_append(&st.f, leaves[i]);
	st.npol = 3;
	st.pol[0] = (struct rp_scan_policy){1, 0};
	st.pol[1] = (struct rp_scan_policy){2, 2};
	st.pol[2] = (struct rp_scan_policy){3, 4}; /* the ending policy, the last entry read */
	st.retired = true;
	text = rp_scan_state_format(&st, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "\npolicy 3 4\nretired\n"));
	assert_int_equal(strcmp(text + len - strlen("retired\n"), "retired\n"), 0);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(rp_scan_state_parse(text, len, &got, &d), 0);
	assert_true(got.retired);
	assert_false(got.pending);
	assert_int_equal(got.npol, 3);
	assert_int_equal(got.pol[2].version, 3);
	assert_int_equal(got.pol[2].index, 4);
	assert_true(rp_frontier_equal(&got.f, &st.f));
	free(text);
	/* Two policies are enough; without the line, not retired. */
	const char *ok = "scanned 0\npolicy 4 0\npolicy 5 9\nretired\n";
	assert_int_equal(rp_scan_state_parse(ok, strlen(ok), &got, &d), 0);
	assert_true(got.retired);
	assert_int_equal(got.npol, 2);
	text = rp_scan_state_format(&got, &len);
	assert_non_null(text);
	assert_string_equal(text, ok);
	free(text);
	ok = "scanned 0\npolicy 4 0\npolicy 5 9\n";
	assert_int_equal(rp_scan_state_parse(ok, strlen(ok), &got, &d), 0);
	assert_false(got.retired);
	text = rp_scan_state_format(&got, &len);
	assert_string_equal(text, ok);
	free(text);
	/* The format never writes what parse refuses: retired with one policy. */
	got.npol = 1;
	got.retired = true;
	text = rp_scan_state_format(&got, &len);
	assert_string_equal(text, "scanned 0\npolicy 4 0\n");
	free(text);
}

static void scan_state_retired_strict(void **state)
{
	static const char *const bad[] = {
		"scanned 0\npolicy 1 0\nretired\n",                      /* one policy */
		"scanned 0\nretired\n",                                  /* none */
		"scanned 0\nretired\npolicy 1 0\npolicy 2 1\n",          /* before the policies */
		"scanned 0\npolicy 1 0\nretired\npolicy 2 1\n",          /* between */
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired\nretired\n", /* nothing after it */
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired\npolicy 3 2\n",
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired\npending\n",
		"scanned 0\npolicy 3 0\npending\nretired\n",
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired \n",
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired", /* no final newline */
		"scanned 0\npolicy 1 0\npolicy 2 1\nRetired\n",
		"scanned 0\npolicy 1 0\npolicy 2 1\nretired yes\n",
	};
	struct rp_scan_state st;
	struct rp_diag d = {""};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.msg[0] = '\0';
		if (rp_scan_state_parse(bad[i], strlen(bad[i]), &st, &d) != RP_E_MALFORMED)
			fail_msg("scan state accepted:\n%s", bad[i]);
		assert_non_null(strstr(d.msg, "scan state line"));
	}
	/* The line named: the third, retired after one policy. */
	assert_int_equal(rp_scan_state_parse(bad[0], strlen(bad[0]), &st, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "line 3 "));
}

static void scan_state_owed_round_trip_and_strict(void **state)
{
	static const char *const good[] = {
		"scanned 5\nhash AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"hash AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\npolicy 1 0\npolicy 2 4\n"
		"owed 3 1800000000\nretired\n",
		"scanned 0\npolicy 1 0\nowed 7 1\n",
	};
	static const char *const bad[] = {
		"scanned 0\nowed 3 5\npolicy 1 0\n",             /* before the policies */
		"scanned 0\npolicy 1 0\nowed 3 5\npolicy 2 4\n", /* a policy after it */
		"scanned 0\npolicy 1 0\nowed 3 5\nowed 4 5\n",   /* twice */
		"scanned 0\npolicy 1 0\nowed 3 0\n",             /* no expiry */
		"scanned 0\npolicy 1 0\nowed 3\n",               /* a field missing */
		"scanned 0\npolicy 1 0\nowed 3 5 6\n",           /* one too many */
		"scanned 0\npolicy 1 0\nowed x 5\n",
		"scanned 0\npolicy 1 0\nowed 3 9223372036854775808\n", /* past INT64_MAX */
		"scanned 1\nhash AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\npolicy 1 0\nowed 1 5\n",
		"scanned 0\npolicy 1 0\nretired\nowed 3 5\n", /* nothing after retired */
	};
	struct rp_scan_state st, back;
	struct rp_diag d = {""};
	char *text;
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (rp_scan_state_parse(good[i], strlen(good[i]), &st, &d) != 0)
			fail_msg("scan state refused: %s\n%s", d.msg, good[i]);
		assert_true(st.owed_until > 0);
		text = rp_scan_state_format(&st, &len);
		assert_non_null(text);
		assert_string_equal(text, good[i]);
		assert_int_equal(rp_scan_state_parse(text, len, &back, &d), 0);
		assert_int_equal(back.owed, st.owed);
		assert_int_equal(back.owed_until, st.owed_until);
		free(text);
	}
	assert_int_equal(rp_scan_state_parse(good[0], strlen(good[0]), &st, &d), 0);
	assert_int_equal(st.owed, 3);
	assert_int_equal(st.owed_until, 1800000000);
	assert_true(st.retired);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.msg[0] = '\0';
		if (rp_scan_state_parse(bad[i], strlen(bad[i]), &st, &d) != RP_E_MALFORMED)
			fail_msg("scan state accepted:\n%s", bad[i]);
		assert_non_null(strstr(d.msg, "scan state line"));
	}
	/* none owed: no line */
	assert_int_equal(rp_scan_state_parse("scanned 0\npolicy 1 0\n", 21, &st, &d), 0);
	assert_int_equal(st.owed_until, 0);
	text = rp_scan_state_format(&st, &len);
	assert_string_equal(text, "scanned 0\npolicy 1 0\n");
	free(text);
}

static void entries_answer_strict(void **state)
{
	struct rp_entries e;
	struct rp_diag d = {""};
	const char *ok =
		"{\"from\": 5, \"entries\": [\"bGVhZiA1\", \"bGVhZiA2\"], \"consistency\": []}";
	(void)state;

	assert_int_equal(rp_entries_parse(ok, strlen(ok), &e, &d), 0);
	assert_int_equal(e.from, 5);
	assert_int_equal(e.n, 2);
	assert_memory_equal(e.buf + e.off[1], "leaf 6", 6);
	rp_entries_release(&e);
	static const char *const bad[] = {
		"{\"from\": 5, \"entries\": [], \"consistency\": []}",
		"{\"from\": -1, \"entries\": [\"bGVhZiA1\"], \"consistency\": []}",
		"{\"entries\": [\"bGVhZiA1\"], \"consistency\": []}",
		"{\"from\": 5, \"entries\": [\"not base64!\"], \"consistency\": []}",
		"{\"from\": 5, \"entries\": [\"\"], \"consistency\": []}",
		"{\"from\": 5, \"entries\": [7], \"consistency\": []}",
		"{\"from\": 5, \"entries\": [\"bGVhZiA1\"], \"consistency\": [\"AA==\"]}",
		"[1, 2]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(rp_entries_parse(bad[i], strlen(bad[i]), &e, &d) < 0);
	/* more entries than one answer may carry */
	struct rp_sb sb;
	rp_sb_init(&sb, 1 << 20);
	rp_sb_printf(&sb, "{\"from\": 0, \"consistency\": [], \"entries\": [");
	for (int i = 0; i <= RP_SCAN_ENTRIES_MAX; i++)
		rp_sb_printf(&sb, "%s\"eA==\"", i ? "," : "");
	rp_sb_printf(&sb, "]}");
	size_t len;
	char *big = rp_sb_take(&sb, &len);
	assert_int_equal(rp_entries_parse(big, len, &e, &d), RP_E_TOOBIG);
	free(big);
}

static bool is_policy(const char *s)
{
	return rp_entry_is_policy((const uint8_t *)s, strlen(s));
}

static void entry_kinds(void **state)
{
	(void)state;
	assert_true(is_policy("rampart/policy/v1\norg acme\n"));
	assert_false(is_policy("rampart/policy/v1"));
	assert_false(is_policy("rampart/command/v1\n"));
	assert_false(is_policy("junk\n"));
}

static int setup(void **state)
{
	(void)state;
	leaves_init();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vectors_inclusion),
		cmocka_unit_test(vectors_consistency),
		cmocka_unit_test(vector_equal_sizes_with_short_hashes),
		cmocka_unit_test(consistency_from_empty_tree_accepted),
		cmocka_unit_test(consistency_from_empty_tree_strict),
		cmocka_unit_test(hash_rfc9162_basics),
		cmocka_unit_test(stored_hashes_are_subtree_roots),
		cmocka_unit_test(generated_matches_naive),
		cmocka_unit_test(tampered_inclusion_fails),
		cmocka_unit_test(tampered_consistency_fails),
		cmocka_unit_test(consistency_fork_rejected),
		cmocka_unit_test(verify_diagnostics),
		cmocka_unit_test(prove_arguments),
		cmocka_unit_test(prove_huge_trees),
		cmocka_unit_test(read_errors_pass_through),
		cmocka_unit_test(tile_paths),
		cmocka_unit_test(tile_path_invalid_gives_empty),
		cmocka_unit_test(tile_parse_rejects),
		cmocka_unit_test(tile_all_levels_and_widths),
		cmocka_unit_test(tile_index_past_the_log_range_rejected),
		cmocka_unit_test(frontier_matches_naive),
		cmocka_unit_test(scan_walks_every_tree),
		cmocka_unit_test(scan_refuses_what_is_not_the_log),
		cmocka_unit_test(scan_state_round_trip),
		cmocka_unit_test(scan_state_strict),
		cmocka_unit_test(scan_state_retired_round_trip),
		cmocka_unit_test(scan_state_retired_strict),
		cmocka_unit_test(scan_state_owed_round_trip_and_strict),
		cmocka_unit_test(entries_answer_strict),
		cmocka_unit_test(entry_kinds),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
