/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The append-only check (lib/tlog.c) that the agent, the witness and the
 * audit share. The input is read as
 *   u8 mode || u16 a || u16 b || u8 k || rest    (little-endian, missing bytes are 0)
 * mode bit 0 clear: two heads of the in-memory tree of fuzz-tree.h
 *   (sizes a, b reduced into it), the real consistency proof between them,
 *   then, as the other mode bits say, the new root, the proof or its
 *   length changed with the bytes of rest. The verdict must be exactly
 *   what the change makes it: ROLLBACK for a smaller tree, FORK for the
 *   same size with another root, SAME or EXTENDS when nothing was changed
 *   and INCONSISTENT when anything was; rp_tlog_advance_rebuilt, given the
 *   (changed) new root as what it rebuilt, agrees on the size checks.
 * mode bit 0 set: raw heads (sizes and roots from rest, any 64-bit value)
 *   and up to 64 proof hashes from rest. The size rules must hold, and a
 *   verdict that is not append-only always comes with a diagnostic.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "fuzz-tree.h"
#include "rp_err.h"
#include "tlog.h"

static uint64_t get_le(const uint8_t *p, size_t n, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void head(uint64_t size, struct rp_tlog_head *ret)
{
	ret->size = size;
	FUZZ_CHECK(rp_merkle_tree_hash(size, fuzz_tree_read, NULL, ret->root) == 0);
}

/* XORs rest into buf (cycling through rest); true if that changed a byte. */
static bool mix(uint8_t *buf, size_t len, const uint8_t *rest, size_t nrest)
{
	bool changed = false;

	for (size_t i = 0; nrest && i < len; i++) {
		changed |= rest[i % nrest] != 0;
		buf[i] ^= rest[i % nrest];
	}
	return changed;
}

static void size_rules(const struct rp_tlog_head *a, const struct rp_tlog_head *b,
		       enum rp_tlog_verdict v, const struct rp_diag *d)
{
	bool same_root = memcmp(a->root, b->root, RP_HASH_LEN) == 0;

	FUZZ_CHECK((v == RP_TLOG_ROLLBACK) == (b->size < a->size));
	FUZZ_CHECK((v == RP_TLOG_FORK) == (b->size == a->size && !same_root));
	if (v == RP_TLOG_SAME)
		FUZZ_CHECK(b->size == a->size && same_root);
	if (v == RP_TLOG_EXTENDS)
		FUZZ_CHECK(b->size > a->size);
	if (!rp_tlog_append_only(v))
		FUZZ_CHECK(d->msg[0] != '\0');
}

static void tree_mode(uint8_t mode, uint64_t a, uint64_t b, uint8_t k, const uint8_t *rest,
		      size_t nrest)
{
	struct rp_tlog_head old, new;
	hash_t proof[RP_PROOF_HASHES_MAX + 1] = {{0}};
	struct rp_diag d = {""}, d2 = {""};
	size_t nproof = 0;
	bool new_root = false, new_proof = false;

	a %= FUZZ_TREE_MAX + 1;
	b %= FUZZ_TREE_MAX + 1;
	head(a, &old);
	head(b, &new);
	if (a > 0 && a < b)
		FUZZ_CHECK(rp_merkle_prove_consistency(a, b, fuzz_tree_read, NULL, proof,
						       &nproof) == 0);
	if (mode & 2)
		new_root = mix(new.root, RP_HASH_LEN, rest, nrest);
	if (mode & 4)
		new_proof = mix(&proof[0][0], nproof * RP_HASH_LEN, rest, nrest);
	if ((mode & 8) && k % (RP_PROOF_HASHES_MAX + 2) != nproof) {
		nproof = k % (RP_PROOF_HASHES_MAX + 2);
		new_proof = true;
	}

	enum rp_tlog_verdict v = rp_tlog_advance(&old, &new, (const hash_t *)proof, nproof, &d);
	size_rules(&old, &new, v, &d);
	if (b < a)
		FUZZ_CHECK(v == RP_TLOG_ROLLBACK);
	else if (new_proof || (new_root && a > 0))
		FUZZ_CHECK(!rp_tlog_append_only(v));
	else /* any tree extends the empty one: from size 0 there is no root to bridge */
		FUZZ_CHECK(v == (a == b && !new_root ? RP_TLOG_SAME : RP_TLOG_EXTENDS) ||
			   (a == b && new_root && v == RP_TLOG_FORK));

	/* What an auditor rebuilt is the genuine root: the changed one never extends. */
	struct rp_tlog_head genuine;
	head(b, &genuine);
	enum rp_tlog_verdict w = rp_tlog_advance_rebuilt(&old, &new, genuine.root, &d2);
	size_rules(&old, &new, w, &d2);
	if (b > a)
		FUZZ_CHECK((w == RP_TLOG_EXTENDS) ==
			   (memcmp(new.root, genuine.root, RP_HASH_LEN) == 0));
	else if (b == a)
		FUZZ_CHECK(w == v || v == RP_TLOG_INCONSISTENT);
}

static void take(const uint8_t **p, size_t *n, void *out, size_t len)
{
	size_t m = *n < len ? *n : len;

	memset(out, 0, len);
	memcpy(out, *p, m);
	*p += m;
	*n -= m;
}

static void raw_mode(uint8_t k, const uint8_t *rest, size_t nrest)
{
	struct rp_tlog_head old, new;
	hash_t proof[64];
	struct rp_diag d = {""};
	size_t nproof = k % 65;

	take(&rest, &nrest, &old.size, sizeof(old.size));
	take(&rest, &nrest, old.root, RP_HASH_LEN);
	take(&rest, &nrest, &new.size, sizeof(new.size));
	take(&rest, &nrest, new.root, RP_HASH_LEN);
	take(&rest, &nrest, proof, sizeof(proof));
	enum rp_tlog_verdict v = rp_tlog_advance(&old, &new, (const hash_t *)proof, nproof, &d);
	size_rules(&old, &new, v, &d);
	if (nproof > RP_PROOF_HASHES_MAX)
		FUZZ_CHECK(!rp_tlog_append_only(v));
	d.msg[0] = '\0';
	v = rp_tlog_advance_rebuilt(&old, &new, proof[0], &d);
	size_rules(&old, &new, v, &d);
	FUZZ_CHECK(rp_tlog_verdict_name(v)[0] != '?');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = size > 0 ? data[0] : 0;
	uint64_t a = get_le(data + (size > 1), size > 1 ? size - 1 : 0, 2);
	uint64_t b = get_le(data + (size > 3 ? 3 : size), size > 3 ? size - 3 : 0, 2);
	uint8_t k = size > 5 ? data[5] : 0;
	const uint8_t *rest = size > 6 ? data + 6 : data;
	size_t nrest = size > 6 ? size - 6 : 0;

	if (mode & 1)
		raw_mode(k, rest, nrest);
	else
		tree_mode(mode, a, b, k, rest, nrest);
	return 0;
}
