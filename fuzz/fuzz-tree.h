/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An in-memory Merkle tree for the fuzz targets that need a real one
 * (fuzz-tlog, fuzz-tiles): FUZZ_TREE_MAX leaves, leaf i being the 8 bytes
 * of i, every stored hash of lib/merkle.h kept, built by the
 * LLVMFuzzerInitialize this header gives the target. fuzz_tree_read is its
 * rp_hash_read_fn; reading a hash it does not hold is a bug of the caller
 * (an invariant fails).
 */
#pragma once

#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "merkle.h"

#define FUZZ_TREE_MAX    600
#define FUZZ_TREE_LEVELS 10 /* 2^9 < FUZZ_TREE_MAX < 2^10 */

static uint8_t fuzz_stored[FUZZ_TREE_LEVELS][FUZZ_TREE_MAX][RP_HASH_LEN];
static uint64_t fuzz_nstored[FUZZ_TREE_LEVELS];

static int fuzz_tree_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	(void)arg;
	FUZZ_CHECK(level < FUZZ_TREE_LEVELS && index < fuzz_nstored[level]);
	memcpy(out, fuzz_stored[level][index], RP_HASH_LEN);
	return 0;
}

typedef uint8_t hash_t[RP_HASH_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rp_stored_hash out[64];
	uint8_t leaf[RP_HASH_LEN];
	size_t n;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	for (uint64_t i = 0; i < FUZZ_TREE_MAX; i++) {
		rp_merkle_leaf_hash(&i, sizeof(i), leaf);
		FUZZ_CHECK(rp_merkle_append(i, leaf, fuzz_tree_read, NULL, out, &n) == 0);
		for (size_t k = 0; k < n; k++) {
			FUZZ_CHECK(out[k].level < FUZZ_TREE_LEVELS &&
				   out[k].index == fuzz_nstored[out[k].level]);
			memcpy(fuzz_stored[out[k].level][out[k].index], out[k].hash, RP_HASH_LEN);
			fuzz_nstored[out[k].level]++;
		}
	}
	return 0;
}
