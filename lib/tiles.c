/* SPDX-License-Identifier: Apache-2.0 */
/* tlog-tiles entry bundles and hash tiles (see tiles.h). */
#include "tiles.h"

#include <inttypes.h>
#include <string.h>

#include "rp_err.h"

/* ---- entry bundles ---- */

int rp_bundle_put(struct rp_sb *sb, const void *entry, size_t len)
{
	uint8_t be[2];

	if (len > RP_LOG_ENTRY_MAX)
		return RP_E_TOOBIG;
	be[0] = (uint8_t)(len >> 8);
	be[1] = (uint8_t)len;
	rp_sb_put(sb, be, sizeof(be));
	rp_sb_put(sb, entry, len);
	return sb->err;
}

void rp_bundle_init(struct rp_bundle *b, const void *data, size_t len)
{
	b->p = data;
	b->n = data ? len : 0;
	b->count = 0;
}

int rp_bundle_next(struct rp_bundle *b, const char **ret, size_t *ret_len, struct rp_diag *d)
{
	size_t len;

	if (b->n == 0)
		return 0;
	if (b->n < 2) {
		rp_diagf(d, "entry %" PRIu64 " of the bundle: 1 byte left, its length takes 2",
			 b->count);
		return RP_E_MALFORMED;
	}
	len = (size_t)b->p[0] << 8 | b->p[1];
	if (len > b->n - 2) {
		rp_diagf(d, "entry %" PRIu64 " of the bundle announces %zu bytes, %zu are left",
			 b->count, len, b->n - 2);
		return RP_E_MALFORMED;
	}
	*ret = (const char *)b->p + 2;
	*ret_len = len;
	b->p += 2 + len;
	b->n -= 2 + len;
	b->count++;
	return 1;
}

/* ---- hash tiles ---- */

void rp_tile_reader_init(struct rp_tile_reader *tr, uint64_t size, rp_tile_fetch_fn fetch,
			 void *arg)
{
	memset(tr, 0, sizeof(*tr));
	tr->size = size;
	tr->fetch = fetch;
	tr->arg = arg;
}

/* Makes tile `want' the one in tr->buf. */
static int load(struct rp_tile_reader *tr, const struct rp_tile *want)
{
	char path[64];
	size_t len = 0;
	int r;

	if (tr->loaded && memcmp(want, &tr->have, sizeof(*want)) == 0)
		return 0;
	tr->loaded = false; /* buf is overwritten from here on */
	tr->fetches++;
	rp_tile_path(want, path);
	if ((r = tr->fetch(tr->arg, want, &tr->buf[0][0], sizeof(tr->buf), &len)) < 0) {
		rp_diagf(&tr->diag, "hash tile %s: %s", path, rp_strerror(r));
		return r;
	}
	if (len != (size_t)want->width * RP_HASH_LEN) {
		rp_diagf(&tr->diag, "hash tile %s is %zu bytes, a tile of %u hashes is %zu", path,
			 len, want->width, (size_t)want->width * RP_HASH_LEN);
		return RP_E_MALFORMED;
	}
	tr->have = *want;
	tr->loaded = true;
	return 0;
}

int rp_tile_reader_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct rp_tile_reader *tr = arg;
	unsigned t = level / RP_TILE_HEIGHT, r = level % RP_TILE_HEIGHT;
	uint64_t at_level, first, count = (uint64_t)1 << r;
	uint8_t h[RP_TILE_WIDTH / 2][RP_HASH_LEN];
	struct rp_tile want;
	int rc;

	/* The hashes at level 8t that fold into this one: [first, first + count). */
	at_level = level < 64 ? tr->size >> (t * RP_TILE_HEIGHT) : 0;
	if (level >= 64 || index > (UINT64_MAX >> r) || (first = index << r) >= at_level ||
	    count > at_level - first) {
		rp_diagf(&tr->diag,
			 "stored hash (%u, %" PRIu64 ") is not a complete subtree of the tree of "
			 "%" PRIu64 " entries",
			 level, index, tr->size);
		return RP_E_INVAL;
	}
	want.level = (int)t;
	want.index = first / RP_TILE_WIDTH;
	want.width = RP_TILE_WIDTH;
	if (at_level - want.index * RP_TILE_WIDTH < RP_TILE_WIDTH)
		want.width = (unsigned)(at_level - want.index * RP_TILE_WIDTH);
	if ((rc = load(tr, &want)) < 0)
		return rc;
	/* 2^r hashes, r <= 7, folded pairwise into one (a complete subtree). */
	first %= RP_TILE_WIDTH;
	if (count == 1) {
		memcpy(out, tr->buf[first], RP_HASH_LEN);
		return 0;
	}
	for (uint64_t i = 0; i < count / 2; i++)
		rp_merkle_node_hash(tr->buf[first + 2 * i], tr->buf[first + 2 * i + 1], h[i]);
	for (uint64_t n = count / 2; n > 1; n /= 2)
		for (uint64_t i = 0; i < n / 2; i++)
			rp_merkle_node_hash(h[2 * i], h[2 * i + 1], h[i]);
	memcpy(out, h[0], RP_HASH_LEN);
	return 0;
}
