/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlog-tiles contents as a hostile server serves them (lib/tiles.c).
 * First byte even: the rest is an entry bundle. The cursor must never read
 * past it (ASan), stop only at the end or at an entry it cannot hold, and
 * the entries it returns, written again with rp_bundle_put, must give back
 * exactly the bytes it consumed.
 * First byte odd: a tree of (u16 size mod FUZZ_TREE_MAX + 1) entries
 * (fuzz-tree.h) whose hash tiles are served from memory, the bytes after
 * the first seven XORed into every tile and the length of every tile
 * changed by the signed byte 3. Stored hashes of every level, the tree hash and a consistency
 * proof (from size u16 at byte 4) are read through rp_tile_reader. When
 * nothing was changed they must equal the tree's; otherwise the reader
 * fails (RP_E_MALFORMED for a wrong length) or returns what it folded, and
 * never reads past a tile.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "fuzz-tree.h"
#include "rp_err.h"
#include "tiles.h"

static void bundle(const uint8_t *data, size_t size)
{
	struct rp_bundle b;
	struct rp_diag d = {""};
	struct rp_sb sb;
	const char *e;
	size_t n, len = 0;
	char *again;
	int r;

	rp_bundle_init(&b, data, size);
	rp_sb_init(&sb, size + 2);
	while ((r = rp_bundle_next(&b, &e, &n, &d)) == 1) {
		FUZZ_CHECK(n <= RP_LOG_ENTRY_MAX);
		FUZZ_CHECK((const uint8_t *)e >= data + 2 && (const uint8_t *)e + n <= data + size);
		FUZZ_CHECK(rp_bundle_put(&sb, e, n) == 0);
	}
	if (r == 0)
		FUZZ_CHECK(b.n == 0);
	else
		FUZZ_CHECK(r == RP_E_MALFORMED && b.n > 0 && d.msg[0] != '\0' &&
			   (b.n < 2 || ((size_t)b.p[0] << 8 | b.p[1]) > b.n - 2));
	FUZZ_CHECK(b.p == data + (size - b.n));
	again = rp_sb_take(&sb, &len);
	FUZZ_CHECK(again != NULL || size - b.n == 0);
	FUZZ_CHECK(len == size - b.n && (len == 0 || memcmp(again, data, len) == 0));
	free(again);
}

struct server {
	uint64_t size;
	const uint8_t *mix;
	size_t nmix;
	int delta;    /* added to every tile's length */
	bool changed; /* some byte of some tile was */
	size_t calls;
	bool last_wrong; /* the last tile served had another length than its width's */
};

static int serve(void *arg, const struct rp_tile *t, uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct server *s = arg;
	unsigned level = (unsigned)t->level * RP_TILE_HEIGHT;
	size_t len = (size_t)t->width * RP_HASH_LEN;

	FUZZ_CHECK(t->level >= 0 && level < FUZZ_TREE_LEVELS && t->width >= 1 &&
		   t->width <= RP_TILE_WIDTH);
	FUZZ_CHECK(t->index * RP_TILE_WIDTH + t->width <= (s->size >> level));
	FUZZ_CHECK(cap >= len);
	for (unsigned i = 0; i < t->width; i++)
		memcpy(buf + (size_t)i * RP_HASH_LEN,
		       fuzz_stored[level][t->index * RP_TILE_WIDTH + i], RP_HASH_LEN);
	for (size_t i = 0; s->nmix && i < len; i++) {
		s->changed |= s->mix[i % s->nmix] != 0;
		buf[i] ^= s->mix[i % s->nmix];
	}
	if (s->delta < 0)
		len = (size_t)-s->delta < len ? len - (size_t)-s->delta : 0;
	else if (len + (size_t)s->delta <= cap)
		len += (size_t)s->delta;
	s->calls++;
	s->last_wrong = len != (size_t)t->width * RP_HASH_LEN;
	*ret_len = len;
	return 0;
}

static void tiles(const uint8_t *data, size_t size)
{
	struct server s = {0};
	struct rp_tile_reader tr;
	hash_t h, want, p1[RP_PROOF_HASHES_MAX], p2[RP_PROOF_HASHES_MAX];
	uint64_t m;
	size_t n1, n2;
	int r;

	s.size = (size > 2 ? (uint64_t)data[1] | (uint64_t)data[2] << 8 : 0) % FUZZ_TREE_MAX + 1;
	s.delta = size > 3 ? (int8_t)data[3] : 0;
	m = (size > 5 ? (uint64_t)data[4] | (uint64_t)data[5] << 8 : 0) % s.size;
	s.mix = size > 7 ? data + 7 : NULL;
	s.nmix = size > 7 ? size - 7 : 0;
	rp_tile_reader_init(&tr, s.size, serve, &s);

	for (unsigned level = 0; level < FUZZ_TREE_LEVELS; level++) {
		for (uint64_t k = 0; k <= (s.size >> level); k++) {
			size_t calls = s.calls;
			r = rp_tile_reader_read(&tr, level, k, h);
			if (k == (s.size >> level)) {
				FUZZ_CHECK(r == RP_E_INVAL && s.calls == calls);
				continue;
			}
			/* A tile of the wrong length is refused (and never kept: next level). */
			if (s.calls > calls && s.last_wrong) {
				FUZZ_CHECK(r == RP_E_MALFORMED && tr.diag.msg[0] != '\0');
				break;
			}
			FUZZ_CHECK(r == 0);
			if (!s.changed)
				FUZZ_CHECK(memcmp(h, fuzz_stored[level][k], RP_HASH_LEN) == 0);
		}
	}
	r = rp_merkle_tree_hash(s.size, rp_tile_reader_read, &tr, h);
	FUZZ_CHECK(r == 0 || (r == RP_E_MALFORMED && s.delta != 0));
	FUZZ_CHECK(rp_merkle_tree_hash(s.size, fuzz_tree_read, NULL, want) == 0);
	if (s.delta == 0)
		FUZZ_CHECK(r == 0);
	if (r == 0 && !s.changed)
		FUZZ_CHECK(memcmp(h, want, RP_HASH_LEN) == 0);
	if (m > 0) {
		r = rp_merkle_prove_consistency(m, s.size, rp_tile_reader_read, &tr, p2, &n2);
		FUZZ_CHECK(r == 0 || (r == RP_E_MALFORMED && s.delta != 0));
		FUZZ_CHECK(rp_merkle_prove_consistency(m, s.size, fuzz_tree_read, NULL, p1, &n1) ==
			   0);
		if (r == 0 && !s.changed)
			FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1 * RP_HASH_LEN) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && (data[0] & 1))
		tiles(data, size);
	else
		bundle(size ? data + 1 : data, size ? size - 1 : 0);
	return 0;
}
