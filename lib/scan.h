/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's walk through its org's log (DESIGN.md section 4: "the policy
 * in force for an entry is the newest root policy at or before it in the
 * log"). A server could otherwise hide a rotation from one device and have
 * it act, under a policy the administrators replaced, on a statement signed
 * by keys they revoked: the device would never see the entry that revokes
 * them. So the agent reads every entry in order, hashes each onto a
 * frontier (lib/merkle.h), and proves with a consistency proof that what it
 * read is exactly the start of the witnessed tree it holds; only then does
 * it look at what it read, and it acts on an entry only once the walk has
 * passed it. Root policies found on the way are checked by the rotation
 * rule (rp_policy_verify_rotation) before they count.
 */

#include <stdint.h>

#include "merkle.h"
#include "policy.h"

/* The answer of GET /v1/agent/entries, decoded. */
struct rp_entries {
	uint64_t from; /* index of the first entry */
	size_t n;
	uint8_t *buf; /* the entries, back to back */
	size_t off[RP_SCAN_ENTRIES_MAX], len[RP_SCAN_ENTRIES_MAX];
	size_t ncons; /* consistency proof from from + n to the size asked */
	uint8_t consistency[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
};

/*
 * Strict: {"from": N, "entries": ["<base64>", ...], "consistency":
 * ["<base64 hash>", ...]}, 1 to RP_SCAN_ENTRIES_MAX entries of 1 to
 * RP_LOG_ENTRY_MAX bytes, RP_SCAN_BYTES_MAX in all; bounded before jansson
 * sees it (RP_SCAN_ANSWER_MAX bytes, RP_SCAN_ANSWER_VALUES_MAX values).
 */
int rp_entries_parse(const char *json, size_t len, struct rp_entries *ret, struct rp_diag *d);
void rp_entries_release(struct rp_entries *e);

/* A root policy the walk found (or enrolment gave), and where it took force. */
struct rp_scan_policy {
	uint64_t version;
	uint64_t index; /* its entry; entries from here on are judged by it */
};

/*
 * What the agent keeps of the walk (its scan.state file): the frontier of
 * every entry read, and the policies kept (RP_POLICY_KEEP_MAX, oldest
 * first, the last the newest).
 */
struct rp_scan_state {
	struct rp_frontier f;
	size_t npol;
	struct rp_scan_policy pol[RP_POLICY_KEEP_MAX];
	/*
	 * The enrolment's policy is a version after 1 and the walk has not
	 * reached its entry yet: policy entries before it are the log's history,
	 * not rotations from it (pol[0] is that policy; its index is set when
	 * the walk finds it).
	 */
	bool pending;
	/*
	 * The newest policy kept names another log key (a log key rotation):
	 * its entry ends the log read so far. Nothing after it in this log is
	 * read or acted on; entries before it still are, under the policies
	 * before it, until the agent moves to the new log (agent/walk.c).
	 */
	bool retired;
	/*
	 * The newest entry the walk read that is a command for this device,
	 * signed by its quorum, not yet acted on (owed), and the latest
	 * expiry among such commands (owed_until; 0: none). A device leaves a
	 * retired log only once it acted past owed or owed_until passed: the
	 * server's word that nothing more is to come is not enough.
	 */
	uint64_t owed;
	int64_t owed_until;
};

/*
 * The file, exactly:
 *   scanned <N>\n  hash <base64>\n (one per bit set in N, largest subtree first)
 *   policy <version> <index>\n (1 to RP_POLICY_KEEP_MAX, versions and indexes
 *   strictly rising, indexes below N unless N is 0)
 *   owed <index> <unix time>\n (optional, after the policy lines: see `owed')
 *   pending\n (optional, last, with a single policy line: see `pending')
 *   retired\n (optional, last, with two policy lines or more: see `retired')
 * Parse is strict (RP_E_MALFORMED naming the line; RP_E_TOOBIG over
 * RP_SCAN_STATE_MAX); format returns a malloc'd text.
 */
int rp_scan_state_parse(const char *text, size_t len, struct rp_scan_state *ret, struct rp_diag *d);
char *rp_scan_state_format(const struct rp_scan_state *st, size_t *ret_len);

/*
 * One step of the walk: e's entries must start at f->size; they are hashed
 * onto a copy of f, and e's consistency proof must lead from the tree so
 * read to (size, root), the agent's verified checkpoint. On success *f has
 * advanced past them; on failure it is unchanged and d says why
 * (RP_E_PROOF: the entries are not the log's; RP_E_MALFORMED: not the
 * entries asked for).
 */
int rp_scan_verify(struct rp_frontier *f, const struct rp_entries *e, uint64_t size,
		   const uint8_t root[RP_HASH_LEN], struct rp_diag *d);

/* Whether a log entry is a root policy (its first line). */
bool rp_entry_is_policy(const uint8_t *entry, size_t len);
