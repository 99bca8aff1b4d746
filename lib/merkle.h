/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * RFC 9162 Merkle trees (section 2.1): hashing, inclusion and consistency
 * proofs, verified and generated, plus the tlog-tiles v0.1.0 tile paths.
 *
 *   leaf hash = SHA-256(0x00 || data)
 *   node hash = SHA-256(0x01 || left || right)
 *
 * Storage model (the one of Go's golang.org/x/mod/sumdb/tlog): the hash at
 * (level L, index K) is the root of the complete subtree over the 2^L
 * leaves [K * 2^L, (K + 1) * 2^L). Appending leaf N stores (0, N) and every
 * subtree it completes: about two hashes per leaf, at most 64. Any tree
 * root or proof is then O(log n) reads of stored hashes, never a walk over
 * all leaves. A tlog-tiles tile at level T, index K holds the stored hashes
 * at level 8T, indexes 256K to 256K + 255, so tiles are served by reading
 * stored hashes too.
 */

#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

#define RP_HASH_LEN 32

void rp_merkle_leaf_hash(const void *data, size_t len, uint8_t out[RP_HASH_LEN]);
void rp_merkle_node_hash(const uint8_t left[RP_HASH_LEN], const uint8_t right[RP_HASH_LEN],
			 uint8_t out[RP_HASH_LEN]);
/* The root of the empty tree: SHA-256 of nothing. */
void rp_merkle_empty_root(uint8_t out[RP_HASH_LEN]);

/*
 * RFC 9162 2.1.3.2. 0, or RP_E_PROOF (with a diagnostic saying what was
 * wrong) when index >= size, the proof has the wrong length or the
 * computed root differs. nproof > RP_PROOF_HASHES_MAX is RP_E_TOOBIG.
 */
int rp_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[RP_HASH_LEN],
			       const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
			       const uint8_t root[RP_HASH_LEN], struct rp_diag *d);

/*
 * RFC 9162 2.1.4.2, from (size1, root1) to (size2, root2). size1 == size2
 * needs an empty proof and equal roots. size1 == 0 is accepted with an
 * empty proof (any tree extends the empty one; C2SP tlog-witness sends
 * exactly that), which transparency-dev's vectors reject: a unit test says
 * so. size1 > size2 is RP_E_PROOF.
 */
int rp_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[RP_HASH_LEN],
				 const uint8_t root2[RP_HASH_LEN],
				 const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
				 struct rp_diag *d);

/*
 * Reads the stored hash at (level, index) into out: 0, or a negative
 * RP_E_* code that the caller passes through unchanged.
 */
typedef int (*rp_hash_read_fn)(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN]);

struct rp_stored_hash {
	unsigned level;
	uint64_t index;
	uint8_t hash[RP_HASH_LEN];
};

/*
 * The hashes to store when the leaf with hash `leaf` is appended at index
 * n (the tree has n leaves before). Reads the left siblings it needs
 * through read, so hashes from earlier appends must be readable (same
 * transaction is enough). out must hold 64 entries; *ret_n gets the count,
 * (0, n) first.
 */
int rp_merkle_append(uint64_t n, const uint8_t leaf[RP_HASH_LEN], rp_hash_read_fn read, void *arg,
		     struct rp_stored_hash out[64], size_t *ret_n);

/* The root of the tree of the first size leaves. */
int rp_merkle_tree_hash(uint64_t size, rp_hash_read_fn read, void *arg, uint8_t out[RP_HASH_LEN]);

/*
 * Inclusion proof of leaf index in the tree of size leaves, and
 * consistency proof from size1 to size2 (1 <= size1 <= size2; empty when
 * equal). out holds RP_PROOF_HASHES_MAX hashes; *ret_n gets the count.
 * RP_E_INVAL for impossible arguments.
 */
int rp_merkle_prove_inclusion(uint64_t index, uint64_t size, rp_hash_read_fn read, void *arg,
			      uint8_t (*out)[RP_HASH_LEN], size_t *ret_n);
int rp_merkle_prove_consistency(uint64_t size1, uint64_t size2, rp_hash_read_fn read, void *arg,
				uint8_t (*out)[RP_HASH_LEN], size_t *ret_n);

/*
 * A log follower's running tree: the roots of the complete subtrees that
 * tile [0, size), one for each bit set in size (what RFC
 * 9162 verifiers call a compact range starting at 0). Appending every
 * entry read, in order, and comparing rp_frontier_root with a verified
 * tree root proves that the entries read are exactly the log's first size
 * entries, none left out, none added; 64 hashes at most, whatever the size.
 */
struct rp_frontier {
	uint64_t size;
	/* hash[l]: the complete subtree over 2^l leaves on the right edge, for
	 * each bit l set in size (the others are not used) */
	uint8_t hash[64][RP_HASH_LEN];
};
/* Same size and the same hash at every level in use. */
bool rp_frontier_equal(const struct rp_frontier *a, const struct rp_frontier *b);
/* RP_E_TOOBIG when the frontier already holds RP_LOG_LEAVES_MAX leaves. */
int rp_frontier_append(struct rp_frontier *f, const uint8_t leaf[RP_HASH_LEN]);
/* The RFC 9162 root of the first f->size leaves (SHA-256 of nothing for 0). */
void rp_frontier_root(const struct rp_frontier *f, uint8_t out[RP_HASH_LEN]);

/*
 * tlog-tiles v0.1.0 paths, relative to the log's prefix:
 *   tile/<L>/<N>[.p/<W>]   hash tiles, level 0-63
 *   tile/entries/<N>[.p/<W>]   entry bundles (level RP_TILE_ENTRIES)
 * N is written in groups of three digits, all but the last prefixed with
 * `x' (1234067 -> x001/x234/067); W is 1-255 for a partial tile, 256 for a
 * full one (no suffix).
 */
#define RP_TILE_ENTRIES (-1)
struct rp_tile {
	int level; /* 0-63, or RP_TILE_ENTRIES */
	uint64_t index;
	unsigned width; /* 1-256 */
};
/* Writes the path into buf (at most 64 bytes with the NUL are needed). */
void rp_tile_path(const struct rp_tile *t, char buf[64]);
/*
 * Strict: exactly the form rp_tile_path writes, else RP_E_MALFORMED. The
 * tile's first leaf must lie below RP_LOG_LEAVES_MAX, so index * 256 (and
 * any leaf index computed from a parsed tile) cannot wrap around.
 */
int rp_tile_parse(const char *path, size_t len, struct rp_tile *ret, struct rp_diag *d);
