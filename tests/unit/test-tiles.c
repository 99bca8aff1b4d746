/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlog-tiles contents (lib/tiles.c): entry bundles written and read back,
 * every way a hostile server can cut or pad one, and stored hashes of
 * every level read through hash tiles, compared with a tree whose hashes
 * are all kept, for every size of tree up to several tiles.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "tiles.h"

typedef uint8_t hash_t[RP_HASH_LEN];

/* ---- entry bundles ---- */

static void bundle_round_trip(void **state)
{
	static const char *const entries[] = {"rampart/policy/v1\n", "", "x",
					      "rampart/command/v1\n"};
	const char *e;
	struct rp_bundle b;
	struct rp_diag d = {""};
	struct rp_sb sb;
	size_t n, len;
	char *bytes;

	(void)state;
	rp_sb_init(&sb, 1 << 16);
	for (size_t i = 0; i < N_ELEMS(entries); i++)
		assert_int_equal(rp_bundle_put(&sb, entries[i], strlen(entries[i])), 0);
	bytes = rp_sb_take(&sb, &len);
	assert_non_null(bytes);
	assert_int_equal(len, 2 * 4 + 18 + 0 + 1 + 19);
	/* The uint16 lengths are big-endian. */
	assert_int_equal((unsigned char)bytes[0], 0);
	assert_int_equal((unsigned char)bytes[1], 18);
	rp_bundle_init(&b, bytes, len);
	for (size_t i = 0; i < N_ELEMS(entries); i++) {
		assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 1);
		assert_int_equal(n, strlen(entries[i]));
		assert_memory_equal(e, entries[i], n);
		assert_int_equal(b.count, i + 1);
	}
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 0);
	assert_int_equal(b.n, 0);
	free(bytes);
}

static void bundle_entry_sizes_at_the_limit(void **state)
{
	char *big = calloc(1, RP_LOG_ENTRY_MAX + 1), *bytes;
	const char *e;
	struct rp_bundle b;
	struct rp_diag d = {""};
	struct rp_sb sb;
	size_t n, len;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', RP_LOG_ENTRY_MAX + 1);
	rp_sb_init(&sb, 4 * RP_LOG_ENTRY_MAX);
	assert_int_equal(rp_bundle_put(&sb, big, RP_LOG_ENTRY_MAX), 0);
	/* One byte more cannot be carried by a uint16: refused, nothing written. */
	assert_int_equal(rp_bundle_put(&sb, big, RP_LOG_ENTRY_MAX + 1), RP_E_TOOBIG);
	assert_int_equal(sb.len, 2 + RP_LOG_ENTRY_MAX);
	assert_int_equal(sb.err, 0);
	bytes = rp_sb_take(&sb, &len);
	assert_int_equal((unsigned char)bytes[0], 0xff);
	assert_int_equal((unsigned char)bytes[1], 0xff);
	rp_bundle_init(&b, bytes, len);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 1);
	assert_int_equal(n, RP_LOG_ENTRY_MAX);
	assert_ptr_equal(e, bytes + 2);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 0);
	free(bytes);
	free(big);
}

static void bundle_writer_errors_are_sticky(void **state)
{
	struct rp_sb sb;

	(void)state;
	rp_sb_init(&sb, 8);
	assert_int_equal(rp_bundle_put(&sb, "abcdef", 6), 0);
	assert_int_not_equal(rp_bundle_put(&sb, "abcdef", 6), 0);
	assert_int_not_equal(rp_bundle_put(&sb, "", 0), 0);
	assert_null(rp_sb_take(&sb, NULL));
}

/* Whatever a hostile server cuts, the cursor never reads past the bytes. */
static void bundle_truncated_anywhere(void **state)
{
	static const char good[] = "\x00\x03"
				   "abc"
				   "\x00\x00"
				   "\x01\x00";
	struct rp_diag d = {""};
	const char *e;
	size_t n;

	(void)state;
	/* good holds two whole entries, then one that announces 256 bytes. */
	for (size_t cut = 0; cut <= sizeof(good) - 1; cut++) {
		char *copy = malloc(cut ? cut : 1); /* ASan sees any read past cut */
		struct rp_bundle b;
		int r, whole = 0;
		assert_non_null(copy);
		memcpy(copy, good, cut);
		rp_bundle_init(&b, copy, cut);
		while ((r = rp_bundle_next(&b, &e, &n, &d)) == 1)
			whole++;
		if (cut == 0 || cut == 5 || cut == 7) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, RP_E_MALFORMED);
			/* Unchanged on failure: what is left is still the broken entry. */
			assert_int_equal(b.count, (uint64_t)whole);
			assert_int_equal(b.n, cut - (whole == 0 ? 0 : whole == 1 ? 5 : 7));
		}
		assert_int_equal(whole, cut < 5 ? 0 : cut < 7 ? 1 : 2);
		free(copy);
	}
}

static void bundle_diagnostics(void **state)
{
	struct rp_bundle b;
	struct rp_diag d = {""};
	const char *e;
	size_t n;

	(void)state;
	rp_bundle_init(&b, "\x00\x01z\x00", 4);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 1);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "entry 1 of the bundle: 1 byte left, its length takes 2");
	rp_bundle_init(&b,
		       "\xff\xff"
		       "abc",
		       5);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "entry 0 of the bundle announces 65535 bytes, 3 are left");
	/* A NULL body (an empty HTTP answer) is an empty bundle. */
	rp_bundle_init(&b, NULL, 10);
	assert_int_equal(rp_bundle_next(&b, &e, &n, &d), 0);
}

/* ---- hash tiles ---- */

/* A tree whose every stored hash is kept: the reference the tiles are read against. */
#define TREE   1100 /* more than four level-0 tiles, and level-1 tiles of 4 hashes */
#define LEVELS 11

static hash_t stored[LEVELS][TREE];
static uint64_t nstored[LEVELS];

static int mem_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	(void)arg;
	if (level >= LEVELS || index >= nstored[level])
		return RP_E_NOTFOUND;
	memcpy(out, stored[level][index], RP_HASH_LEN);
	return 0;
}

static int setup(void **state)
{
	struct rp_stored_hash out[64];
	uint8_t leaf[RP_HASH_LEN];
	size_t n;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (uint64_t i = 0; i < TREE; i++) {
		rp_merkle_leaf_hash(&i, sizeof(i), leaf);
		if (rp_merkle_append(i, leaf, mem_read, NULL, out, &n) < 0)
			return -1;
		for (size_t k = 0; k < n; k++) {
			memcpy(stored[out[k].level][out[k].index], out[k].hash, RP_HASH_LEN);
			nstored[out[k].level]++;
		}
	}
	return 0;
}

/* The server: tiles of the tree of `size' entries, as db_log_tile serves them. */
struct server {
	uint64_t size;
	size_t calls;
	int fail; /* returned by every fetch when non-zero */
	long cut; /* bytes removed (< 0: added) from every tile */
	struct rp_tile last;
};

static int serve(void *arg, const struct rp_tile *t, uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct server *s = arg;
	unsigned level = (unsigned)t->level * RP_TILE_HEIGHT;
	size_t len = (size_t)t->width * RP_HASH_LEN;

	s->calls++;
	s->last = *t;
	if (s->fail)
		return s->fail;
	/* A tile is served only if all its hashes lie in the tree (db_log_tile). */
	assert_true(t->level >= 0 && level < LEVELS);
	assert_true(t->index * RP_TILE_WIDTH + t->width <= (s->size >> level));
	assert_true(cap >= len);
	for (unsigned i = 0; i < t->width; i++)
		memcpy(buf + (size_t)i * RP_HASH_LEN, stored[level][t->index * RP_TILE_WIDTH + i],
		       RP_HASH_LEN);
	if (s->cut > 0)
		len -= (size_t)s->cut < len ? (size_t)s->cut : len;
	else if (s->cut < 0 && len - s->cut <= cap)
		len += (size_t)-s->cut;
	*ret_len = len;
	return 0;
}

static void tiles_read_every_stored_hash(void **state)
{
	(void)state;
	for (uint64_t size = 1; size <= TREE; size += size < 300 ? 1 : 37) {
		struct server s = {.size = size};
		struct rp_tile_reader tr;
		rp_tile_reader_init(&tr, size, serve, &s);
		for (unsigned level = 0; level < LEVELS; level++) {
			for (uint64_t k = 0; k < (size >> level); k++) {
				hash_t h;
				assert_int_equal(rp_tile_reader_read(&tr, level, k, h), 0);
				assert_memory_equal(h, stored[level][k], RP_HASH_LEN);
			}
			/* The first hash past the tree's complete subtrees is refused. */
			hash_t h;
			assert_int_equal(rp_tile_reader_read(&tr, level, size >> level, h),
					 RP_E_INVAL);
			assert_diag_has(&tr.diag, "is not a complete subtree");
		}
	}
}

/* What a tlog client computes through the tiles equals what the tree says. */
static void tiles_tree_hashes_and_proofs(void **state)
{
	(void)state;
	for (uint64_t size = 1; size <= TREE; size += 53) {
		struct server s = {.size = size};
		struct rp_tile_reader tr;
		hash_t want, got, p1[RP_PROOF_HASHES_MAX], p2[RP_PROOF_HASHES_MAX];
		size_t n1, n2;

		rp_tile_reader_init(&tr, size, serve, &s);
		assert_int_equal(rp_merkle_tree_hash(size, mem_read, NULL, want), 0);
		assert_int_equal(rp_merkle_tree_hash(size, rp_tile_reader_read, &tr, got), 0);
		assert_memory_equal(got, want, RP_HASH_LEN);
		for (uint64_t m = 1; m < size; m += 97) {
			assert_int_equal(
				rp_merkle_prove_consistency(m, size, mem_read, NULL, p1, &n1), 0);
			assert_int_equal(rp_merkle_prove_consistency(m, size, rp_tile_reader_read,
								     &tr, p2, &n2),
					 0);
			assert_int_equal(n1, n2);
			assert_memory_equal(p1, p2, n1 * RP_HASH_LEN);
		}
	}
}

static void tiles_partial_tile_widths(void **state)
{
	struct server s = {.size = 600};
	struct rp_tile_reader tr;
	hash_t h;

	(void)state;
	rp_tile_reader_init(&tr, 600, serve, &s);
	/* Leaf 599 is in tile 2, of 600 - 512 = 88 hashes. */
	assert_int_equal(rp_tile_reader_read(&tr, 0, 599, h), 0);
	assert_int_equal(s.last.level, 0);
	assert_int_equal(s.last.index, 2);
	assert_int_equal(s.last.width, 88);
	/* Level 8 has 2 complete hashes: tile/1/000.p/2. */
	assert_int_equal(rp_tile_reader_read(&tr, 8, 1, h), 0);
	assert_int_equal(s.last.level, 1);
	assert_int_equal(s.last.index, 0);
	assert_int_equal(s.last.width, 2);
	/* Level 7, index 3 folds 128 hashes of the full tile 1 of level 0. */
	assert_int_equal(rp_tile_reader_read(&tr, 7, 3, h), 0);
	assert_memory_equal(h, stored[7][3], RP_HASH_LEN);
	assert_int_equal(s.last.index, 1);
	assert_int_equal(s.last.width, RP_TILE_WIDTH);
}

static void tiles_kept_between_reads(void **state)
{
	struct server s = {.size = 512};
	struct rp_tile_reader tr;
	hash_t h;

	(void)state;
	rp_tile_reader_init(&tr, 512, serve, &s);
	for (uint64_t k = 0; k < 256; k++)
		assert_int_equal(rp_tile_reader_read(&tr, 0, k, h), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(tr.fetches, 1);
	assert_int_equal(rp_tile_reader_read(&tr, 0, 256, h), 0);
	assert_int_equal(rp_tile_reader_read(&tr, 0, 0, h), 0);
	assert_int_equal(s.calls, 3);
}

static void tiles_of_the_wrong_length(void **state)
{
	(void)state;
	for (long cut = -33; cut <= 33; cut++) {
		struct server s = {.size = 300, .cut = cut};
		struct rp_tile_reader tr;
		hash_t h;
		int r;
		if (cut == 0)
			continue;
		rp_tile_reader_init(&tr, 300, serve, &s);
		r = rp_tile_reader_read(&tr, 0, 299, h);
		assert_int_equal(r, RP_E_MALFORMED);
		assert_diag_has(&tr.diag, "hash tile tile/0/001.p/44 is");
		assert_diag_has(&tr.diag, "a tile of 44 hashes is 1408");
		/* A tile refused is not kept: the next read fetches it again. */
		assert_int_equal(rp_tile_reader_read(&tr, 0, 299, h), RP_E_MALFORMED);
		assert_int_equal(s.calls, 2);
	}
}

static void tiles_fetch_errors_pass_through(void **state)
{
	struct server s = {.size = 300, .fail = RP_E_NET};
	struct rp_tile_reader tr;
	hash_t h;

	(void)state;
	rp_tile_reader_init(&tr, 300, serve, &s);
	assert_int_equal(rp_tile_reader_read(&tr, 0, 5, h), RP_E_NET);
	assert_diag_has(&tr.diag, "hash tile tile/0/000: network error");
	assert_int_equal(rp_merkle_tree_hash(300, rp_tile_reader_read, &tr, h), RP_E_NET);
	s.fail = 0;
	assert_int_equal(rp_tile_reader_read(&tr, 0, 5, h), 0);
	assert_memory_equal(h, stored[0][5], RP_HASH_LEN);
}

static void tiles_refuse_hashes_outside_the_tree(void **state)
{
	struct server s = {.size = 300};
	struct rp_tile_reader tr;
	hash_t h;

	(void)state;
	rp_tile_reader_init(&tr, 300, serve, &s);
	assert_int_equal(rp_tile_reader_read(&tr, 64, 0, h), RP_E_INVAL);
	assert_int_equal(rp_tile_reader_read(&tr, 9, 0, h), RP_E_INVAL);   /* 300 < 512 */
	assert_int_equal(rp_tile_reader_read(&tr, 1, 150, h), RP_E_INVAL); /* 300 >> 1 */
	assert_int_equal(rp_tile_reader_read(&tr, 7, UINT64_MAX, h), RP_E_INVAL);
	assert_int_equal(rp_tile_reader_read(&tr, 63, UINT64_MAX >> 63, h), RP_E_INVAL);
	assert_int_equal(s.calls, 0);
	rp_tile_reader_init(&tr, 0, serve, &s);
	assert_int_equal(rp_tile_reader_read(&tr, 0, 0, h), RP_E_INVAL);
	assert_int_equal(s.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bundle_round_trip),
		cmocka_unit_test(bundle_entry_sizes_at_the_limit),
		cmocka_unit_test(bundle_writer_errors_are_sticky),
		cmocka_unit_test(bundle_truncated_anywhere),
		cmocka_unit_test(bundle_diagnostics),
		cmocka_unit_test(tiles_read_every_stored_hash),
		cmocka_unit_test(tiles_tree_hashes_and_proofs),
		cmocka_unit_test(tiles_partial_tile_widths),
		cmocka_unit_test(tiles_kept_between_reads),
		cmocka_unit_test(tiles_of_the_wrong_length),
		cmocka_unit_test(tiles_fetch_errors_pass_through),
		cmocka_unit_test(tiles_refuse_hashes_outside_the_tree),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
