/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The monitor behind `rampart audit`: replays an organisation's log entry
 * by entry, recomputing the Merkle tree and checking that every entry is
 * something the root policy chain authorised. It keeps only the tree's
 * right edge (at most 64 hashes) and the current root policy, so an audit
 * resumes where the last one stopped and costs O(1) memory per entry.
 *
 * What each entry must be:
 *   entry 0      the root policy version 1 whose hash the auditor trusts,
 *                signed by its own root quorum;
 *   rampart/policy/v1   version N+1 of the policy, signed by a root quorum
 *                of version N and of itself (TUF's rotation rule);
 *   rampart/command/v1  a command of the policy's org signed by a quorum
 *                of the role its kind needs.
 * Anything else, or a failed check, is a finding; the replay goes on.
 *
 * A log key rotation: a policy naming another log key is its log's last
 * entry (any entry after it is a finding) and the next log's entry 0,
 * byte for byte. The old log's checkpoints stay judged by the version
 * before it; rp_audit_next_log then starts the next log's tree.
 */

#include <stdbool.h>

#include "checkpoint.h"
#include "merkle.h"
#include "policy.h"

/* A log a key rotation ended, as the audit left it: watched on every later run. */
struct rp_audit_retired {
	uint64_t gen, size;        /* its generation, and the entries it had when replayed */
	uint8_t root[RP_HASH_LEN]; /* their tree's root */
	uint64_t version;          /* the root policy that judges its checkpoints */
	char hash[72];             /* and its hash */
};

struct rp_audit {
	char trusted_hash[72];    /* "sha256:<hex>" entry 0 must have */
	struct rp_policy *policy; /* the chain's head; NULL before entry 0 */
	struct rp_frontier tree;  /* every entry replayed: tree.size of them */
	size_t findings;          /* in this run */
	/* rp_audit_entries' work space, kept from one call to the next */
	void *work;
	size_t work_cap;
	/*
	 * When set, every entry that carries a valid signature by this key,
	 * authorised or not, under whatever policy, is also told to watched
	 * (with the same line as the report): what a lost or stolen key ever
	 * signed, even after a rotation removed it from the policy.
	 */
	const struct rp_vkey *watch;
	void (*watched)(void *arg, uint64_t index, const char *line);
	/* The log replayed: generation 1, then one more per log key rotation. */
	uint64_t gen;
	/*
	 * Non-zero once entry end - 1 of this log was a policy naming another
	 * log key: the log ends there. ended is the version before it, which
	 * still judges this log's checkpoints.
	 */
	uint64_t end;
	struct rp_policy *ended;
	/* Entries replayed after end: the first is a finding, the rest only counted. */
	uint64_t after_end;
	/* The logs before this one, oldest first (rp_audit_next_log adds them). */
	struct rp_audit_retired retired[RP_AUDIT_LOGS_MAX];
	size_t nretired;
};

/* What the replay says about one entry: a line of history, or a finding. */
typedef void (*rp_audit_report_fn)(void *arg, uint64_t index, bool finding, const char *text);

void rp_audit_init(struct rp_audit *a, const char *trusted_hash);
void rp_audit_release(struct rp_audit *a);

/* Replays the next entry (index a->tree.size). Only allocation failures are errors. */
int rp_audit_entry(struct rp_audit *a, const char *data, size_t len, rp_audit_report_fn report,
		   void *arg);

/*
 * Replays the next n entries, checking their signatures on up to nthreads
 * threads (Ed25519 verification is nearly all an audit's time); the tree,
 * the policy chain and the reports still go strictly in log order.
 */
#define RP_AUDIT_THREADS_MAX 16
int rp_audit_entries(struct rp_audit *a, const char *const *data, const size_t *len, size_t n,
		     unsigned nthreads, rp_audit_report_fn report, void *arg);

/*
 * After a log key rotation (a->end set), starts the next log: an empty
 * tree whose entry 0 must be the policy that ended this one; this log is
 * added to a->retired. RP_E_POLICY when this log did not end, RP_E_TOOBIG
 * past RP_AUDIT_LOGS_MAX logs.
 */
int rp_audit_next_log(struct rp_audit *a);

/* The root of the tree of the a->tree.size entries replayed. */
void rp_audit_root(const struct rp_audit *a, uint8_t out[RP_HASH_LEN]);

/*
 * The policy that judges the log's checkpoints: the chain's head (for a
 * log that ended, the version before the one that ended it), or,
 * while no entry has been accepted as the trusted policy, the trusted
 * policy itself (anchor, used only if its hash is a->trusted_hash).
 * NULL when there is neither: a log whose entry 0 is not the trusted
 * policy, audited without the trusted policy at hand.
 */
const struct rp_policy *rp_audit_judge(const struct rp_audit *a, const struct rp_policy *anchor);

/*
 * The checkpoint the log serves now, judged by rp_audit_judge's policy:
 * signed by its log key with its witness quorum (rp_checkpoint_verify),
 * else that error; RP_E_POLICY when there is no policy to judge by. A
 * checkpoint that passes is given in *ret_cp, and *ret_stale says whether
 * its quorum is met only by cosignatures older than the policy's
 * freshness (d then says how old): the server may be withholding newer
 * entries, which is a finding. The audit does not ask for fresh
 * cosignatures the way agents do, because an idle log stays fresh on its
 * own: rampartd has its witnesses cosign the same checkpoint again every
 * freshness/4. Under `quorum none' nothing dates a checkpoint, and it is
 * never stale.
 */
int rp_audit_checkpoint(const struct rp_audit *a, const struct rp_policy *anchor, const char *note,
			size_t len, int64_t now, struct rp_checkpoint *ret_cp, bool *ret_stale,
			struct rp_diag *d);

/*
 * State between runs, a text file:
 *   rampart/audit/v1
 *   trusted <hash>
 *   log <generation>                when not 1 (after a log key rotation)
 *   retired <gen> <size> <base64 root> <version> <hash>
 *                                   one per log before it, oldest first
 *   size <N>
 *   edge <level> <base64 hash>      one per set bit of N, high to low
 *   <blank line>, then the current root policy note (when N > 0 and a
 *   policy was accepted; absent when entry 0 itself was a finding; for
 *   a log after the first, present from size 0: its entry 0 must be it)
 * A log that ended (a->end) is not saved (NULL): the next log is started
 * first, and saved then.
 */
char *rp_audit_save(const struct rp_audit *a, size_t *ret_len);
int rp_audit_load(struct rp_audit *a, const char *text, size_t len, struct rp_diag *d);
