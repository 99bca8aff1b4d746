/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 9162 Merkle trees over stored hashes (see merkle.h).
 *
 * Nothing here allocates or recurses: proofs walk the tree top-down in a
 * loop and write each hash at its final position, and the hash of a
 * subtree [lo, hi) that is not complete is folded right to left from the
 * complete stored subtrees given by the bits of hi - lo. A proof therefore
 * costs at most about two reads per tree level.
 */
#include "merkle.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "rp_err.h"

/* Bits needed to write x: 0 for 0, 64 for x >= 2^63. */
static unsigned bit_len(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

static unsigned ones(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/* x >> s, and 0 for s >= 64 where C leaves the shift undefined. */
static uint64_t shr(uint64_t x, unsigned s)
{
	return s < 64 ? x >> s : 0;
}

/* The largest power of two below n, for n >= 2. */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (bit_len(n - 1) - 1);
}

void rp_merkle_leaf_hash(const void *data, size_t len, uint8_t out[RP_HASH_LEN])
{
	crypto_hash_sha256_state st;
	static const uint8_t prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void rp_merkle_node_hash(const uint8_t left[RP_HASH_LEN], const uint8_t right[RP_HASH_LEN],
			 uint8_t out[RP_HASH_LEN])
{
	uint8_t buf[1 + 2 * RP_HASH_LEN];

	/* Copied first, so out may be left or right. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, RP_HASH_LEN);
	memcpy(buf + 1 + RP_HASH_LEN, right, RP_HASH_LEN);
	rp_sha256(buf, sizeof(buf), out);
}

void rp_merkle_empty_root(uint8_t out[RP_HASH_LEN])
{
	rp_sha256("", 0, out);
}

bool rp_frontier_equal(const struct rp_frontier *a, const struct rp_frontier *b)
{
	if (a->size != b->size)
		return false;
	for (unsigned l = 0; l < 64; l++)
		if (((a->size >> l) & 1) && memcmp(a->hash[l], b->hash[l], RP_HASH_LEN) != 0)
			return false;
	return true;
}

int rp_frontier_append(struct rp_frontier *f, const uint8_t leaf[RP_HASH_LEN])
{
	uint8_t h[RP_HASH_LEN];
	unsigned l = 0;

	if (f->size >= RP_LOG_LEAVES_MAX)
		return RP_E_TOOBIG;
	/* A binary counter: each carry merges two subtrees of level l into one of l + 1. */
	memcpy(h, leaf, RP_HASH_LEN);
	for (; (f->size >> l) & 1; l++)
		rp_merkle_node_hash(f->hash[l], h, h);
	memcpy(f->hash[l], h, RP_HASH_LEN);
	f->size++;
	return 0;
}

void rp_frontier_root(const struct rp_frontier *f, uint8_t out[RP_HASH_LEN])
{
	uint8_t acc[RP_HASH_LEN];
	bool any = false;

	/* From the smallest subtree up: each larger one is a left sibling of the rest. */
	for (unsigned l = 0; l < 64; l++) {
		if (!((f->size >> l) & 1))
			continue;
		if (any)
			rp_merkle_node_hash(f->hash[l], acc, acc);
		else
			memcpy(acc, f->hash[l], RP_HASH_LEN);
		any = true;
	}
	if (!any)
		rp_merkle_empty_root(acc);
	memcpy(out, acc, RP_HASH_LEN);
}

/* The first bytes of a hash in hex, enough to tell two apart in a message. */
static void short_hex(const uint8_t h[RP_HASH_LEN], char out[17])
{
	rp_hex_encode(h, 8, out);
}

/*
 * Proof lengths, as transparency-dev/merkle computes them: an inclusion
 * proof for index in a tree of size leaves has one hash per level where
 * the paths to index and to the last leaf have split (inner) plus one per
 * left sibling above that (border).
 */
static size_t inclusion_len(uint64_t index, uint64_t size)
{
	unsigned inner = bit_len(index ^ (size - 1));

	return inner + ones(shr(index, inner));
}

/* For 0 < size1 < size2. */
static size_t consistency_len(uint64_t size1, uint64_t size2)
{
	unsigned inner = bit_len((size1 - 1) ^ (size2 - 1));
	unsigned border = ones(shr(size1 - 1, inner));
	unsigned shift = (unsigned)__builtin_ctzll(size1);
	/* The old root is the first node unless size1 is itself 2^shift. */
	size_t start = size1 == (uint64_t)1 << shift ? 0 : 1;

	return start + (inner - shift) + border;
}

int rp_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[RP_HASH_LEN],
			       const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
			       const uint8_t root[RP_HASH_LEN], struct rp_diag *d)
{
	uint8_t r[RP_HASH_LEN];
	char got[17], want[17];
	uint64_t fn, sn;
	size_t need;

	if (nproof > RP_PROOF_HASHES_MAX) {
		rp_diagf(d, "inclusion proof has %zu hashes, more than %d", nproof,
			 RP_PROOF_HASHES_MAX);
		return RP_E_TOOBIG;
	}
	if (index >= size) {
		rp_diagf(d,
			 "inclusion proof for leaf %" PRIu64 " in a tree of %" PRIu64
			 " leaves: the leaf is outside the tree",
			 index, size);
		return RP_E_PROOF;
	}
	need = inclusion_len(index, size);
	if (nproof != need) {
		rp_diagf(d,
			 "inclusion proof for leaf %" PRIu64 " in a tree of %" PRIu64
			 " leaves has %zu hashes, it needs %zu",
			 index, size, nproof, need);
		return RP_E_PROOF;
	}

	/* RFC 9162 2.1.3.2, step by step. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, RP_HASH_LEN);
	for (size_t i = 0; i < nproof; i++) {
		if (sn == 0) {
			rp_diagf(d, "inclusion proof for leaf %" PRIu64 " is longer than its path",
				 index);
			return RP_E_PROOF;
		}
		if ((fn & 1) || fn == sn) {
			rp_merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rp_merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0) {
		rp_diagf(d, "inclusion proof for leaf %" PRIu64 " is shorter than its path", index);
		return RP_E_PROOF;
	}
	if (memcmp(r, root, RP_HASH_LEN) != 0) {
		short_hex(r, got);
		short_hex(root, want);
		rp_diagf(d,
			 "inclusion proof for leaf %" PRIu64 " in a tree of %" PRIu64
			 " leaves leads to root %s..., not to the tree's root %s...",
			 index, size, got, want);
		return RP_E_PROOF;
	}
	return 0;
}

int rp_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[RP_HASH_LEN],
				 const uint8_t root2[RP_HASH_LEN],
				 const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
				 struct rp_diag *d)
{
	uint8_t empty[RP_HASH_LEN], fr[RP_HASH_LEN], sr[RP_HASH_LEN];
	char got[17], want[17];
	uint64_t fn, sn;
	size_t need, i = 0;

	if (nproof > RP_PROOF_HASHES_MAX) {
		rp_diagf(d, "consistency proof has %zu hashes, more than %d", nproof,
			 RP_PROOF_HASHES_MAX);
		return RP_E_TOOBIG;
	}
	if (size1 > size2) {
		rp_diagf(d,
			 "consistency proof from %" PRIu64 " to %" PRIu64
			 " leaves: the old tree is larger than the new one",
			 size1, size2);
		return RP_E_PROOF;
	}
	if (size1 == 0) {
		/*
		 * Any tree extends the empty one, so there is nothing to prove
		 * (C2SP tlog-witness sends an empty proof from size 0). The
		 * roots given for size 0 must still be the empty tree's: a
		 * checkpoint of size 0 with any other root is not a tree.
		 */
		rp_merkle_empty_root(empty);
		if (nproof != 0) {
			rp_diagf(d,
				 "consistency proof from the empty tree has %zu hashes, it "
				 "must be empty",
				 nproof);
			return RP_E_PROOF;
		}
		if (memcmp(root1, empty, RP_HASH_LEN) != 0 ||
		    (size2 == 0 && memcmp(root2, empty, RP_HASH_LEN) != 0)) {
			rp_diagf(d, "consistency proof from the empty tree: a root of size 0 is "
				    "not SHA-256 of nothing");
			return RP_E_PROOF;
		}
		return 0;
	}
	if (size1 == size2) {
		if (nproof != 0) {
			rp_diagf(d,
				 "consistency proof between two trees of %" PRIu64
				 " leaves has %zu hashes, it must be empty",
				 size1, nproof);
			return RP_E_PROOF;
		}
		if (memcmp(root1, root2, RP_HASH_LEN) != 0) {
			short_hex(root1, got);
			short_hex(root2, want);
			rp_diagf(d,
				 "two trees of %" PRIu64 " leaves have different roots %s... "
				 "and %s...",
				 size1, got, want);
			return RP_E_PROOF;
		}
		return 0;
	}
	need = consistency_len(size1, size2);
	if (nproof != need) {
		rp_diagf(d,
			 "consistency proof from %" PRIu64 " to %" PRIu64
			 " leaves has %zu hashes, it needs %zu",
			 size1, size2, nproof, need);
		return RP_E_PROOF;
	}

	/*
	 * RFC 9162 2.1.4.2, step by step. When size1 is a power of two the
	 * old root is the proof's implicit first node.
	 */
	const uint8_t *seed = (size1 & (size1 - 1)) == 0 ? root1 : proof[i++];
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, seed, RP_HASH_LEN);
	memcpy(sr, seed, RP_HASH_LEN);
	for (; i < nproof; i++) {
		if (sn == 0) {
			rp_diagf(d,
				 "consistency proof from %" PRIu64 " to %" PRIu64
				 " leaves is longer than its path",
				 size1, size2);
			return RP_E_PROOF;
		}
		if ((fn & 1) || fn == sn) {
			rp_merkle_node_hash(proof[i], fr, fr);
			rp_merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rp_merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0) {
		rp_diagf(d,
			 "consistency proof from %" PRIu64 " to %" PRIu64
			 " leaves is shorter than its path",
			 size1, size2);
		return RP_E_PROOF;
	}
	if (memcmp(fr, root1, RP_HASH_LEN) != 0) {
		short_hex(fr, got);
		short_hex(root1, want);
		rp_diagf(d,
			 "consistency proof from %" PRIu64 " to %" PRIu64
			 " leaves leads to old root %s..., not to the old tree's root %s...",
			 size1, size2, got, want);
		return RP_E_PROOF;
	}
	if (memcmp(sr, root2, RP_HASH_LEN) != 0) {
		short_hex(sr, got);
		short_hex(root2, want);
		rp_diagf(d,
			 "consistency proof from %" PRIu64 " to %" PRIu64
			 " leaves leads to new root %s..., not to the new tree's root %s...",
			 size1, size2, got, want);
		return RP_E_PROOF;
	}
	return 0;
}

/*
 * The hash of the RFC 9162 subtree [lo, hi): lo is a multiple of the
 * power of two at or above hi - lo, as for every node of the tree. It is
 * the complete subtrees given by the bits of hi - lo, largest first,
 * hashed together right to left: popcount(hi - lo) reads.
 */
static int subtree_hash(uint64_t lo, uint64_t hi, rp_hash_read_fn read, void *arg,
			uint8_t out[RP_HASH_LEN])
{
	uint8_t h[RP_HASH_LEN], part[RP_HASH_LEN];
	uint64_t n = hi - lo, end = hi;
	bool first = true;
	int r;

	while (n) {
		unsigned level = (unsigned)__builtin_ctzll(n);
		uint64_t width = (uint64_t)1 << level;

		end -= width;
		r = read(arg, level, end >> level, first ? h : part);
		if (r < 0)
			return r;
		if (!first)
			rp_merkle_node_hash(part, h, h);
		first = false;
		n &= n - 1;
	}
	memcpy(out, h, RP_HASH_LEN);
	return 0;
}

int rp_merkle_append(uint64_t n, const uint8_t leaf[RP_HASH_LEN], rp_hash_read_fn read, void *arg,
		     struct rp_stored_hash out[64], size_t *ret_n)
{
	uint8_t h[RP_HASH_LEN], left[RP_HASH_LEN];
	unsigned m;
	int r;

	/* Leaf 2^64 - 1 would make a tree whose size does not fit. */
	if (n == UINT64_MAX)
		return RP_E_INVAL;
	/* Leaf n completes one subtree per trailing one bit of n: at most 63. */
	m = (unsigned)__builtin_ctzll(n + 1);
	memcpy(h, leaf, RP_HASH_LEN);
	out[0].level = 0;
	out[0].index = n;
	memcpy(out[0].hash, h, RP_HASH_LEN);
	for (unsigned i = 0; i < m; i++) {
		r = read(arg, i, (n >> i) - 1, left);
		if (r < 0)
			return r;
		rp_merkle_node_hash(left, h, h);
		out[i + 1].level = i + 1;
		out[i + 1].index = n >> (i + 1);
		memcpy(out[i + 1].hash, h, RP_HASH_LEN);
	}
	*ret_n = m + 1;
	return 0;
}

int rp_merkle_tree_hash(uint64_t size, rp_hash_read_fn read, void *arg, uint8_t out[RP_HASH_LEN])
{
	if (size == 0) {
		rp_merkle_empty_root(out);
		return 0;
	}
	return subtree_hash(0, size, read, arg, out);
}

/*
 * Both proofs walk from the root down, RFC 9162 PATH and SUBPROOF without
 * the recursion. The RFC lists the hashes from the bottom up, so each one
 * goes to its final position, counted down from the known length.
 */
int rp_merkle_prove_inclusion(uint64_t index, uint64_t size, rp_hash_read_fn read, void *arg,
			      uint8_t (*out)[RP_HASH_LEN], size_t *ret_n)
{
	uint64_t lo = 0, hi = size;
	size_t len, pos;
	int r;

	if (size == 0 || index >= size)
		return RP_E_INVAL;
	len = inclusion_len(index, size);
	if (len > RP_PROOF_HASHES_MAX)
		return RP_E_TOOBIG;
	pos = len;
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);

		if (pos == 0)
			return RP_E_INVAL; /* unreachable: len is exact */
		pos--;
		if (index < lo + k) {
			r = subtree_hash(lo + k, hi, read, arg, out[pos]);
			hi = lo + k;
		} else {
			r = subtree_hash(lo, lo + k, read, arg, out[pos]);
			lo += k;
		}
		if (r < 0)
			return r;
	}
	if (pos != 0)
		return RP_E_INVAL; /* unreachable: len is exact */
	*ret_n = len;
	return 0;
}

int rp_merkle_prove_consistency(uint64_t size1, uint64_t size2, rp_hash_read_fn read, void *arg,
				uint8_t (*out)[RP_HASH_LEN], size_t *ret_n)
{
	uint64_t lo = 0, hi = size2;
	bool whole = true; /* SUBPROOF's b: still on the old tree's own path */
	size_t len, pos;
	int r;

	if (size1 == 0 || size1 > size2)
		return RP_E_INVAL;
	if (size1 == size2) {
		*ret_n = 0;
		return 0;
	}
	len = consistency_len(size1, size2);
	if (len > RP_PROOF_HASHES_MAX)
		return RP_E_TOOBIG;
	pos = len;
	/* lo < size1 <= hi throughout, so the loop ends at size1 == hi. */
	while (size1 != hi) {
		uint64_t k = split_point(hi - lo);

		if (pos == 0)
			return RP_E_INVAL; /* unreachable: len is exact */
		pos--;
		if (size1 - lo <= k) {
			r = subtree_hash(lo + k, hi, read, arg, out[pos]);
			hi = lo + k;
		} else {
			r = subtree_hash(lo, lo + k, read, arg, out[pos]);
			lo += k;
			whole = false;
		}
		if (r < 0)
			return r;
	}
	if (!whole) {
		/* The old tree's root is not implied: the proof starts with it. */
		if (pos == 0)
			return RP_E_INVAL; /* unreachable: len is exact */
		pos--;
		r = subtree_hash(lo, hi, read, arg, out[pos]);
		if (r < 0)
			return r;
	}
	if (pos != 0)
		return RP_E_INVAL; /* unreachable: len is exact */
	*ret_n = len;
	return 0;
}

/* ---- tlog-tiles paths ---- */

/*
 * The tile's first leaf, index * 256^(level + 1) (entry bundles count as
 * level 0), lies below RP_LOG_LEAVES_MAX. Larger indexes name nothing in
 * any log, and multiplied out they wrap around to small ones: tile
 * 2^56 of entries would be served as entries 0-255.
 */
static bool tile_in_range(const struct rp_tile *t)
{
	unsigned shift =
		RP_TILE_HEIGHT * (unsigned)((t->level == RP_TILE_ENTRIES ? 0 : t->level) + 1);

	return shift >= 63 ? t->index == 0 : t->index < (RP_LOG_LEAVES_MAX >> shift);
}

static bool tile_valid(const struct rp_tile *t)
{
	return (t->level == RP_TILE_ENTRIES || (t->level >= 0 && t->level <= 63)) &&
	       t->width >= 1 && t->width <= RP_TILE_WIDTH && tile_in_range(t);
}

/*
 * A tile that cannot be written (level, width or index out of range) gives
 * the empty string, which names no resource and which rp_tile_parse rejects.
 */
void rp_tile_path(const struct rp_tile *t, char buf[64])
{
	unsigned groups[7]; /* 2^64 - 1 has 20 digits */
	size_t n = 0, o;
	uint64_t x = t->index;

	buf[0] = '\0';
	if (!tile_valid(t))
		return;
	if (t->level == RP_TILE_ENTRIES)
		o = (size_t)snprintf(buf, 64, "tile/entries/");
	else
		o = (size_t)snprintf(buf, 64, "tile/%d/", t->level);
	do {
		groups[n++] = (unsigned)(x % 1000);
		x /= 1000;
	} while (x);
	while (n > 1)
		o += (size_t)snprintf(buf + o, 64 - o, "x%03u/", groups[--n]);
	o += (size_t)snprintf(buf + o, 64 - o, "%03u", groups[0]);
	if (t->width < RP_TILE_WIDTH)
		snprintf(buf + o, 64 - o, ".p/%u", t->width);
}

static int tile_bad(const char *path, size_t len, struct rp_diag *d, const char *why)
{
	char q[80];

	rp_quote(q, sizeof(q), path, len);
	rp_diagf(d, "tile path `%s': %s", q, why);
	return RP_E_MALFORMED;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A decimal number of at most three digits, without leading zeros, at
 * *pos: returns false when there is none or it is above max.
 */
static bool small_number(const char *s, size_t len, size_t *pos, unsigned max, unsigned *ret)
{
	size_t i = *pos, start = i;
	unsigned v = 0;

	while (i < len && is_digit(s[i]) && i - start < 4)
		v = v * 10 + (unsigned)(s[i++] - '0');
	if (i == start || i - start > 3 || (s[start] == '0' && i - start > 1) || v > max)
		return false;
	*pos = i;
	*ret = v;
	return true;
}

int rp_tile_parse(const char *path, size_t len, struct rp_tile *ret, struct rp_diag *d)
{
	static const char prefix[] = "tile/", entries[] = "entries/";
	struct rp_tile t = {.width = RP_TILE_WIDTH};
	size_t pos, ngroups = 0;
	unsigned v;

	if (len >= 64)
		return tile_bad(path, len, d, "longer than any tile path");
	if (len < sizeof(prefix) - 1 || memcmp(path, prefix, sizeof(prefix) - 1) != 0)
		return tile_bad(path, len, d, "does not start with `tile/'");
	pos = sizeof(prefix) - 1;
	if (len - pos >= sizeof(entries) - 1 &&
	    memcmp(path + pos, entries, sizeof(entries) - 1) == 0) {
		t.level = RP_TILE_ENTRIES;
		pos += sizeof(entries) - 1;
	} else {
		if (!small_number(path, len, &pos, 63, &v) || pos >= len || path[pos] != '/')
			return tile_bad(path, len, d,
					"level is not `entries' or 0-63 without leading zeros");
		t.level = (int)v;
		pos++;
	}

	/* The index: "xDDD/" groups, then the last "DDD", most significant first. */
	for (;;) {
		bool more = pos < len && path[pos] == 'x';
		unsigned g = 0;

		if (more)
			pos++;
		if (len - pos < 3 || !is_digit(path[pos]) || !is_digit(path[pos + 1]) ||
		    !is_digit(path[pos + 2]))
			return tile_bad(path, len, d, "index element is not three digits");
		g = (unsigned)(path[pos] - '0') * 100 + (unsigned)(path[pos + 1] - '0') * 10 +
		    (unsigned)(path[pos + 2] - '0');
		pos += 3;
		if (ngroups == 0 && more && g == 0)
			return tile_bad(path, len, d, "index has a leading `x000/' element");
		if (t.index > (UINT64_MAX - g) / 1000)
			return tile_bad(path, len, d, "index does not fit in 64 bits");
		t.index = t.index * 1000 + g;
		ngroups++;
		if (!more)
			break;
		if (pos >= len || path[pos] != '/')
			return tile_bad(path, len, d, "index element `x' is not followed by `/'");
		pos++;
	}
	if (!tile_in_range(&t))
		return tile_bad(path, len, d, "index past the largest log (2^63 leaves)");

	if (pos < len) {
		if (len - pos < 3 || memcmp(path + pos, ".p/", 3) != 0)
			return tile_bad(path, len, d, "unexpected text after the index");
		pos += 3;
		if (!small_number(path, len, &pos, RP_TILE_WIDTH - 1, &v) || v == 0)
			return tile_bad(path, len, d,
					"partial width is not 1-255 without leading zeros");
		t.width = v;
		if (pos != len)
			return tile_bad(path, len, d, "unexpected text after the partial width");
	}
	*ret = t;
	return 0;
}
