/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A transparency log's Merkle tree held in memory, for the test tools that
 * play a log (logsim for test-witness.sh, breach for test-breach.sh). The
 * hashes are stored as lib/merkle.h lays them out: level L holds the
 * complete subtrees of 2^L leaves, so proofs and roots come from the
 * library's own rp_merkle_prove_* and rp_merkle_tree_hash through
 * memtree_read.
 */

#include <stdint.h>

#include "merkle.h"

struct memtree {
	uint64_t n; /* leaves appended */
	uint64_t max;
	uint8_t (*lvl[64])[RP_HASH_LEN];
	uint64_t cap[64];
};

/* Room for max leaves: 0 or RP_E_NOMEM. */
int memtree_init(struct memtree *t, uint64_t max);
void memtree_release(struct memtree *t);
/* Appends the leaf hash as leaf t->n: 0, RP_E_TOOBIG past max, or rp_merkle_append's error. */
int memtree_append(struct memtree *t, const uint8_t leaf[RP_HASH_LEN]);
/* An rp_hash_read_fn over the tree (arg: the struct memtree). */
int memtree_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN]);
/* The root of the first size leaves (the empty tree's for 0): 0, or RP_E_INVAL past t->n. */
int memtree_root(struct memtree *t, uint64_t size, uint8_t out[RP_HASH_LEN]);
