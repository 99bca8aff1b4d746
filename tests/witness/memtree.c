/* SPDX-License-Identifier: Apache-2.0 */
#include "memtree.h"

#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

int memtree_init(struct memtree *t, uint64_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
	for (unsigned l = 0; l < 64; l++) {
		t->cap[l] = (max >> l) + 1;
		if (!(t->lvl[l] = calloc(t->cap[l], RP_HASH_LEN))) {
			memtree_release(t);
			return RP_E_NOMEM;
		}
	}
	return 0;
}

void memtree_release(struct memtree *t)
{
	for (unsigned l = 0; l < 64; l++) {
		free(t->lvl[l]);
		t->lvl[l] = NULL;
	}
}

int memtree_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct memtree *t = arg;

	if (level >= 64 || index >= t->cap[level] || index >= (t->n >> level))
		return RP_E_NOTFOUND;
	memcpy(out, t->lvl[level][index], RP_HASH_LEN);
	return 0;
}

int memtree_append(struct memtree *t, const uint8_t leaf[RP_HASH_LEN])
{
	struct rp_stored_hash out[64];
	size_t k;
	int r;

	if (t->n >= t->max)
		return RP_E_TOOBIG;
	if ((r = rp_merkle_append(t->n, leaf, memtree_read, t, out, &k)) < 0)
		return r;
	for (size_t j = 0; j < k; j++) {
		if (out[j].level >= 64 || out[j].index >= t->cap[out[j].level])
			return RP_E_INVAL; /* rp_merkle_append stored outside the tree it was given
					    */
		memcpy(t->lvl[out[j].level][out[j].index], out[j].hash, RP_HASH_LEN);
	}
	t->n++;
	return 0;
}

int memtree_root(struct memtree *t, uint64_t size, uint8_t out[RP_HASH_LEN])
{
	if (size > t->n)
		return RP_E_INVAL;
	if (size == 0) {
		rp_merkle_empty_root(out);
		return 0;
	}
	return rp_merkle_tree_hash(size, memtree_read, t, out);
}
