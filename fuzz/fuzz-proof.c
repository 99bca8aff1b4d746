/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Merkle proofs and tile paths. The input is read as
 *   u64 a || u64 b || u8 c || rest     (little-endian, missing bytes are 0)
 * and drives:
 *   - both verifiers on raw attacker values: index/size a, b; leaf, roots
 *     and proof hashes taken from rest. They must return 0, RP_E_PROOF or
 *     RP_E_TOOBIG, with a diagnostic when they refuse;
 *   - proofs generated from an in-memory tree of TREE_MAX leaves (sizes and
 *     indexes a, b reduced into it): each must verify, and must stop
 *     verifying once rest is XORed into it;
 *   - rp_tile_parse on rest: a path it accepts is written back byte for
 *     byte by rp_tile_path, and its first leaf lies inside a log of
 *     RP_LOG_LEAVES_MAX leaves (index * 256^(level + 1) cannot wrap); and
 *     the tile (level from c, index a, width from b) written by
 *     rp_tile_path parses back to itself, or is written as "" exactly
 *     when its first leaf would lie past that.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "merkle.h"
#include "rp_err.h"

#define TREE_MAX 1024
#define LEVELS   11 /* 2^10 = TREE_MAX */

typedef uint8_t hash_t[RP_HASH_LEN];

static hash_t stored[LEVELS][TREE_MAX];
static uint64_t nstored[LEVELS];

static int mem_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	(void)arg;
	FUZZ_CHECK(level < LEVELS && index < nstored[level]);
	memcpy(out, stored[level][index], RP_HASH_LEN);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rp_stored_hash out[64];
	uint8_t leaf[RP_HASH_LEN];
	size_t n;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	for (uint64_t i = 0; i < TREE_MAX; i++) {
		rp_merkle_leaf_hash(&i, sizeof(i), leaf);
		FUZZ_CHECK(rp_merkle_append(i, leaf, mem_read, NULL, out, &n) == 0);
		for (size_t k = 0; k < n; k++) {
			FUZZ_CHECK(out[k].level < LEVELS && out[k].index == nstored[out[k].level]);
			memcpy(stored[out[k].level][out[k].index], out[k].hash, RP_HASH_LEN);
			nstored[out[k].level]++;
		}
	}
	return 0;
}

static uint64_t get_u64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8 && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Hash k of rest, zero-padded past its end. */
static void take_hash(const uint8_t *rest, size_t nrest, size_t k, uint8_t out[RP_HASH_LEN])
{
	size_t off = k * RP_HASH_LEN;

	memset(out, 0, RP_HASH_LEN);
	if (off < nrest)
		memcpy(out, rest + off, nrest - off < RP_HASH_LEN ? nrest - off : RP_HASH_LEN);
}

static void check_refusal(int r, const struct rp_diag *d)
{
	FUZZ_CHECK(r == 0 || r == RP_E_PROOF || r == RP_E_TOOBIG);
	FUZZ_CHECK(r == 0 || d->msg[0] != '\0');
}

static void raw_verifiers(uint64_t a, uint64_t b, const uint8_t *rest, size_t nrest)
{
	static hash_t proof[RP_PROOF_HASHES_MAX + 2];
	uint8_t h1[RP_HASH_LEN], h2[RP_HASH_LEN];
	struct rp_diag d;
	size_t np;
	int r;

	take_hash(rest, nrest, 0, h1);
	take_hash(rest, nrest, 1, h2);
	np = nrest > 2 * RP_HASH_LEN ? (nrest - 2 * RP_HASH_LEN) / RP_HASH_LEN : 0;
	if (np > RP_PROOF_HASHES_MAX + 1)
		np = RP_PROOF_HASHES_MAX + 1;
	for (size_t k = 0; k < np; k++)
		take_hash(rest, nrest, k + 2, proof[k]);

	d.msg[0] = '\0';
	r = rp_merkle_verify_inclusion(a, b, h1, (const hash_t *)proof, np, h2, &d);
	check_refusal(r, &d);
	FUZZ_CHECK(r != 0 || a < b);
	d.msg[0] = '\0';
	r = rp_merkle_verify_consistency(a, b, h1, h2, (const hash_t *)proof, np, &d);
	check_refusal(r, &d);
	FUZZ_CHECK(r != 0 || a <= b);
	FUZZ_CHECK(np <= RP_PROOF_HASHES_MAX || r == RP_E_TOOBIG);
}

/* XORs rest over the proof; true if that changed anything. */
static bool tamper(hash_t *proof, size_t n, const uint8_t *rest, size_t nrest)
{
	uint8_t *p = (uint8_t *)proof;
	bool changed = false;

	for (size_t i = 0; i < nrest && i < n * RP_HASH_LEN; i++) {
		p[i] ^= rest[i];
		changed |= rest[i] != 0;
	}
	return changed;
}

static void generated_proofs(uint64_t a, uint64_t b, const uint8_t *rest, size_t nrest)
{
	hash_t proof[RP_PROOF_HASHES_MAX], root1, root2, leaf;
	uint64_t size2 = b % TREE_MAX + 1, size1 = a % size2 + 1, index = a % size2;
	struct rp_diag d;
	size_t n;
	int r;

	FUZZ_CHECK(rp_merkle_tree_hash(size2, mem_read, NULL, root2) == 0);
	FUZZ_CHECK(rp_merkle_tree_hash(size1, mem_read, NULL, root1) == 0);
	memcpy(leaf, stored[0][index], RP_HASH_LEN);

	FUZZ_CHECK(rp_merkle_prove_inclusion(index, size2, mem_read, NULL, proof, &n) == 0);
	FUZZ_CHECK(rp_merkle_verify_inclusion(index, size2, leaf, (const hash_t *)proof, n, root2,
					      &d) == 0);
	if (tamper(proof, n, rest, nrest)) {
		r = rp_merkle_verify_inclusion(index, size2, leaf, (const hash_t *)proof, n, root2,
					       &d);
		FUZZ_CHECK(r == RP_E_PROOF);
	}

	FUZZ_CHECK(rp_merkle_prove_consistency(size1, size2, mem_read, NULL, proof, &n) == 0);
	FUZZ_CHECK(rp_merkle_verify_consistency(size1, size2, root1, root2, (const hash_t *)proof,
						n, &d) == 0);
	if (tamper(proof, n, rest, nrest)) {
		r = rp_merkle_verify_consistency(size1, size2, root1, root2, (const hash_t *)proof,
						 n, &d);
		FUZZ_CHECK(r == RP_E_PROOF);
	}
}

/* The tile's first leaf, index * 256^(level + 1), is below RP_LOG_LEAVES_MAX (counted apart). */
static bool tile_fits(const struct rp_tile *t)
{
	unsigned shift = 8 * (unsigned)((t->level == RP_TILE_ENTRIES ? 0 : t->level) + 1);
	uint64_t x = t->index;

	for (unsigned i = 0; i < shift; i++) {
		if (x >= RP_LOG_LEAVES_MAX / 2)
			return false;
		x *= 2;
	}
	return true;
}

static void tiles(uint64_t a, uint64_t b, uint8_t c, const uint8_t *rest, size_t nrest)
{
	struct rp_tile t, back;
	struct rp_diag d;
	char buf[64];

	if (rp_tile_parse((const char *)rest, nrest, &t, &d) == 0) {
		rp_tile_path(&t, buf);
		FUZZ_CHECK(strlen(buf) == nrest && memcmp(buf, rest, nrest) == 0);
		FUZZ_CHECK(tile_fits(&t));
	}
	t.level = c % 65 - 1; /* RP_TILE_ENTRIES or 0-63 */
	t.index = a;
	t.width = (unsigned)(b % RP_TILE_WIDTH) + 1;
	rp_tile_path(&t, buf);
	if (!tile_fits(&t)) {
		FUZZ_CHECK(buf[0] == '\0');
		return;
	}
	FUZZ_CHECK(rp_tile_parse(buf, strlen(buf), &back, &d) == 0);
	FUZZ_CHECK(back.level == t.level && back.index == t.index && back.width == t.width);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t a = get_u64(data, size);
	uint64_t b = size > 8 ? get_u64(data + 8, size - 8) : 0;
	uint8_t c = size > 16 ? data[16] : 0;
	const uint8_t *rest = size > 17 ? data + 17 : data + size;
	size_t nrest = size > 17 ? size - 17 : 0;

	raw_verifiers(a, b, rest, nrest);
	generated_proofs(a, b, rest, nrest);
	tiles(a, b, c, rest, nrest);
	return 0;
}
