/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The contents of tlog-tiles v0.1.0 resources, written and read in one
 * place (their paths are rp_tile_path, lib/merkle.h):
 *
 *   entry bundle  tile/entries/<N>[.p/<W>]: W entries (256 for a full
 *                 bundle), each a big-endian uint16 length then that many
 *                 bytes, nothing after the last. rampartd writes them
 *                 (rp_bundle_put), rampart audit reads them (rp_bundle_next).
 *   hash tile     tile/<L>/<N>[.p/<W>]: the W stored hashes at level 8L,
 *                 indexes 256N to 256N + W - 1, 32 bytes each. rampart
 *                 audit reads stored hashes of any level through them
 *                 (struct rp_tile_reader), as any tlog-tiles client does.
 *
 * Everything read here comes from a server that may be hostile: bundles
 * are read through a bounds-checked cursor, never by pointer arithmetic
 * on the lengths they announce, and a tile is used only when it has
 * exactly the length its width gives.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "util.h"

/* ---- entry bundles ---- */

/*
 * Appends one entry to a bundle being written: RP_E_TOOBIG (sb untouched)
 * for an entry over RP_LOG_ENTRY_MAX bytes, whose length a uint16 cannot
 * carry; otherwise sb's sticky error, as for any rp_sb_put.
 */
int rp_bundle_put(struct rp_sb *sb, const void *entry, size_t len);

/* A bundle being read: the bytes not read yet, and how many entries were. */
struct rp_bundle {
	const uint8_t *p;
	size_t n;
	uint64_t count;
};
void rp_bundle_init(struct rp_bundle *b, const void *data, size_t len);
/*
 * The next entry, pointing into the bundle's bytes: 1, or 0 when no byte
 * is left, or RP_E_MALFORMED when the bytes left are not a whole entry (d
 * says which entry and how many bytes it announces against how many are
 * left; b is then unchanged). A caller checks count and n itself: a
 * bundle of width W has W entries and no byte after them.
 */
int rp_bundle_next(struct rp_bundle *b, const char **ret, size_t *ret_len, struct rp_diag *d);

/* ---- hash tiles ---- */

/*
 * Fetches the contents of hash tile t into buf (cap bytes at most): 0 and
 * *ret_len, or a negative RP_E_* code that the reader passes through
 * unchanged. Fetching stays with the caller (rampart audit: HTTPS).
 */
typedef int (*rp_tile_fetch_fn)(void *arg, const struct rp_tile *t, uint8_t *buf, size_t cap,
				size_t *ret_len);

/*
 * Stored hashes of a tree of `size' entries, read from its hash tiles:
 * the hash at level 8T + R, index K is the root of the 2^R consecutive
 * hashes at level 8T from K * 2^R on, which all lie in one tile of level
 * T, so it is folded from that tile. The tile last fetched is kept, as
 * proofs and tree hashes read neighbouring hashes.
 */
struct rp_tile_reader {
	uint64_t size;
	rp_tile_fetch_fn fetch;
	void *arg;
	size_t fetches;      /* tiles fetched so far */
	struct rp_diag diag; /* why the last read failed, when it did */
	bool loaded;
	struct rp_tile have; /* the tile in buf */
	uint8_t buf[RP_TILE_WIDTH][RP_HASH_LEN];
};
void rp_tile_reader_init(struct rp_tile_reader *tr, uint64_t size, rp_tile_fetch_fn fetch,
			 void *arg);
/*
 * An rp_hash_read_fn (lib/merkle.h) over the reader, arg being the
 * struct rp_tile_reader: RP_E_INVAL for a hash that is not a complete
 * subtree of the tree of tr->size entries, RP_E_MALFORMED for a tile that
 * does not have the length of its width, or what fetch returned; tr->diag
 * says which.
 */
int rp_tile_reader_read(void *tr, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN]);
