/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's checks before acting (DESIGN.md section 4), in one place:
 * the agent's run loop, `rampart-agent verify` and the tests all call
 * rp_verify_delivery().
 */

#include "checkpoint.h"
#include "policy.h"
#include "statement.h"

struct rp_delivery {
	char *statement; /* the signed note, as the administrators signed it */
	size_t statement_len;
	uint8_t *payload;
	size_t payload_len;
	/* The transparency log: the statement is entry `index' of the tree the
	 * checkpoint commits to; -1 when the delivery carries no log data. */
	int64_t index;
	size_t nproof;
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	char *checkpoint; /* the cosigned checkpoint note */
	size_t checkpoint_len;
	size_t ncons; /* consistency proof from the agent's stored checkpoint */
	uint8_t consistency[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
};

/* What a verifier keeps of the log between deliveries. */
struct rp_log_state {
	uint64_t size; /* of the last checkpoint accepted; 0: none yet */
	uint8_t root[RP_HASH_LEN];
	int64_t newest;     /* its newest counted cosignature time; 0: none */
	int64_t last_index; /* highest entry acted on; -1: none */
	/* the log these are of (its checkpoints' origin); "": the one the policy names */
	char origin[RP_ORIGIN_MAX + 1];
};

/*
 * The agent's log.state file, exactly:
 *   size <N>\nroot <base64>\nnewest <unix>\nlast-index <K or -1>\n
 *   [origin <log origin>\n]
 * with last-index below size. Parse is strict (RP_E_MALFORMED naming the
 * line; RP_E_TOOBIG over 4 KiB); format returns a malloc'd text.
 */
int rp_log_state_parse(const char *text, size_t len, struct rp_log_state *ret, struct rp_diag *d);
char *rp_log_state_format(const struct rp_log_state *st, size_t *ret_len);

/* Replay check: returns 1 if the statement id was already acted on. */
typedef int (*rp_seen_fn)(void *arg, const char *statement_id);
/*
 * Stores a checkpoint that passed check 1, durably, before any later check
 * runs (DESIGN.md section 4, item 1). A negative return refuses the delivery.
 */
typedef int (*rp_store_checkpoint_fn)(void *arg, const struct rp_checkpoint *cp, const char *note,
				      size_t len, int64_t newest_cosig);

struct rp_verify_ctx {
	const struct rp_policy *policy; /* the agent's current root policy */
	/*
	 * The root policy whose log line, witnesses and freshness judge
	 * checkpoints of the log being read; NULL: policy. They differ after
	 * a log key rotation, while the agent still reads the old log.
	 */
	const struct rp_policy *log_policy;
	/* When non-zero: the log ends at this many entries (retired); entries past it are refused.
	 */
	uint64_t log_end;
	const char *device_id;
	int64_t now;
	int64_t skew; /* tolerated clock skew, seconds */
	rp_seen_fn seen;
	void *seen_arg;
	const struct rp_log_state *log; /* NULL: as if nothing was seen yet */
	rp_store_checkpoint_fn store;   /* NULL: nothing is stored (offline checks) */
	void *store_arg;
	int64_t *ret_proved; /* when non-NULL: set to the index once checks 1 and 2 passed */
	/*
	 * The walk through the log (lib/scan.h), when policy_at is set: an
	 * entry at or past `scanned' is not judged yet (RP_E_UNSCANNED, before
	 * ret_proved is set: nothing is consumed), and a statement is judged
	 * by policy_at(policy_at_arg, index), the root policy in force at its
	 * entry. policy (the newest) judges expiry, and checkpoints unless
	 * log_policy is set.
	 */
	uint64_t scanned;
	const struct rp_policy *(*policy_at)(const void *arg, uint64_t index);
	const void *policy_at_arg;
	/*
	 * The signed directory as this device folded it (NULL: none): it
	 * resolves targets by device group and tag, and the device groups it
	 * puts this device in set the threshold (device-group-threshold).
	 */
	const struct rp_dir *dir;
	/*
	 * When set, instead of dir: this device's record (groups, tags) in
	 * force at a log index, as the walk folded it, so that a statement is
	 * judged by the membership it was logged under, not one that came
	 * after (NULL: in no group).
	 */
	const struct rp_dir_device *(*device_at)(const void *arg, uint64_t index);
	const void *device_at_arg;
};

/*
 * Parses a delivery from its JSON transport form, checking every size
 * before decoding: {"statement": "...", "payload": "<base64>", and, from
 * the log, "index": N, "proof": ["<base64 hash>"...], "checkpoint":
 * "<note>", "consistency": ["<base64 hash>"...]}. The log fields are
 * optional here; rp_verify_delivery refuses a delivery without them.
 * Bounded before jansson sees it: RP_E_TOOBIG over RP_DELIVERY_MAX bytes,
 * RP_JSON_DEPTH_MAX levels or RP_DELIVERY_VALUES_MAX values.
 */
int rp_delivery_parse(const char *json, size_t len, struct rp_delivery *ret, struct rp_diag *d);
void rp_delivery_release(struct rp_delivery *dl);
/*
 * The answer to an agent's checkpoint refresh, {"checkpoint": "<note>",
 * "consistency": ["<base64>"...]}, into ret's checkpoint and consistency
 * (index stays -1), with a delivery's caps (RP_CHECKPOINT_ANSWER_MAX bytes,
 * RP_CHECKPOINT_ANSWER_VALUES_MAX values); release with rp_delivery_release.
 */
int rp_checkpoint_update_parse(const char *json, size_t len, struct rp_delivery *ret,
			       struct rp_diag *d);

/*
 * The root policy's expiry at now (DESIGN.md section 4: "its expiry is
 * checked on every delivery"): RP_E_POLICY_EXPIRED from its `expires' on
 * (the rule of enrolment, no skew: the administrators set it far ahead);
 * before that, RP_POLICY_URGENT within RP_POLICY_URGENT_S, RP_POLICY_WARN
 * within RP_POLICY_WARN_S, else 0. d (may be NULL) says when it expires
 * whenever the result is not 0. rp_verify_delivery and rp_verify_checkpoint
 * run it first and refuse when it has expired.
 */
enum { RP_POLICY_WARN = 1, RP_POLICY_URGENT = 2 };
int rp_verify_policy_expiry(const struct rp_policy *p, int64_t now, struct rp_diag *d);

/*
 * Runs every check in order, stopping at the first failure. On success
 * *ret_cmd is the parsed, verified command. On failure, *ret_id (when
 * the statement parsed far enough) names the statement for the alert.
 */
int rp_verify_delivery(const struct rp_verify_ctx *ctx, const struct rp_delivery *dl,
		       struct rp_command **ret_cmd, char ret_id[RP_ID_HEX + 1], struct rp_diag *d);

/*
 * Check 1 alone, on a checkpoint fetched to stay fresh (after the policy's
 * expiry, rp_verify_policy_expiry): signed by the
 * policy's log key, witness quorum with fresh cosignatures, not smaller
 * than the stored one, consistent with it through cons; then stored
 * through ctx->store. ret_cp (may be NULL) receives it.
 */
int rp_verify_checkpoint(const struct rp_verify_ctx *ctx, const char *note, size_t len,
			 const uint8_t (*cons)[RP_HASH_LEN], size_t ncons,
			 struct rp_checkpoint *ret_cp, struct rp_diag *d);
