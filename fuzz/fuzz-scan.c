/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's walk through the log (lib/scan.h), from both of its inputs:
 *   - the server's answer of GET /v1/agent/entries (rp_entries_parse): what
 *     parses holds 1 to RP_SCAN_ENTRIES_MAX entries inside the buffer, each
 *     1 to RP_LOG_ENTRY_MAX bytes, RP_SCAN_BYTES_MAX in all, and a walk step
 *     over them against an arbitrary root never accepts a frontier other
 *     than the one the entries make;
 *   - the scan.state file (rp_scan_state_parse): what parses formats to a
 *     text that parses to the same state, and keeps its invariants.
 * The first byte chooses the parser. Seeds: fuzz/corpus/scan.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "rp_err.h"
#include "scan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static void entries(const uint8_t *data, size_t size)
{
	struct rp_entries e;
	struct rp_frontier f = {0}, g;
	struct rp_diag d;
	uint8_t root[RP_HASH_LEN] = {0};
	size_t total = 0;
	int r;

	if (rp_entries_parse((const char *)data, size, &e, &d) != 0)
		return;
	FUZZ_CHECK(e.n >= 1 && e.n <= RP_SCAN_ENTRIES_MAX && e.ncons <= RP_PROOF_HASHES_MAX);
	for (size_t i = 0; i < e.n; i++) {
		FUZZ_CHECK(e.len[i] >= 1 && e.len[i] <= RP_LOG_ENTRY_MAX);
		FUZZ_CHECK(e.off[i] == total);
		total += e.len[i];
	}
	FUZZ_CHECK(total <= RP_SCAN_BYTES_MAX);
	/* a walk from the start, into a tree of exactly these entries, whose root we make */
	e.from = 0;
	g = f;
	for (size_t i = 0; i < e.n; i++) {
		uint8_t leaf[RP_HASH_LEN];
		rp_merkle_leaf_hash(e.buf + e.off[i], e.len[i], leaf);
		FUZZ_CHECK(rp_frontier_append(&g, leaf) == 0);
	}
	rp_frontier_root(&g, root);
	r = rp_scan_verify(&f, &e, e.n, root, &d);
	/* true entries verify unless the answer carried a proof where none belongs */
	FUZZ_CHECK(r == 0 ? rp_frontier_equal(&f, &g) && e.ncons == 0
			  : r == RP_E_PROOF && e.ncons > 0 && f.size == 0);
	rp_entries_release(&e);
}

static void state(const uint8_t *data, size_t size)
{
	struct rp_scan_state st, back;
	struct rp_diag d;
	size_t len;
	char *s;

	if (rp_scan_state_parse((const char *)data, size, &st, &d) != 0)
		return;
	FUZZ_CHECK(st.npol >= 1 && st.npol <= RP_POLICY_KEEP_MAX);
	FUZZ_CHECK(!st.pending || st.npol == 1);
	for (size_t i = 1; i < st.npol; i++)
		FUZZ_CHECK(st.pol[i].version > st.pol[i - 1].version &&
			   st.pol[i].index > st.pol[i - 1].index);
	s = rp_scan_state_format(&st, &len);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(rp_scan_state_parse(s, len, &back, NULL) == 0);
	FUZZ_CHECK(back.f.size == st.f.size && back.npol == st.npol && back.pending == st.pending &&
		   back.retired == st.retired && back.owed == st.owed &&
		   back.owed_until == st.owed_until);
	FUZZ_CHECK(rp_frontier_equal(&back.f, &st.f));
	FUZZ_CHECK(memcmp(back.pol, st.pol, st.npol * sizeof(st.pol[0])) == 0);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		entries(data + 1, size - 1);
	else
		state(data + 1, size - 1);
	return 0;
}
