/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's checks before acting (DESIGN.md section 4), in one place:
 * the agent's run loop, `rampart-agent verify` and the tests all call
 * rp_verify_delivery().
 */

#include "policy.h"
#include "statement.h"

struct rp_delivery {
	char *statement; /* the signed note, as the administrators signed it */
	size_t statement_len;
	uint8_t *payload;
	size_t payload_len;
	/*
	 * Seam for the transparency log (issue 3): the entry's index, its
	 * inclusion proof and the cosigned checkpoint go here, and
	 * verify_log() below checks them before anything else.
	 */
};

/* Replay check: returns 1 if the statement id was already acted on. */
typedef int (*rp_seen_fn)(void *arg, const char *statement_id);

struct rp_verify_ctx {
	const struct rp_policy *policy; /* the agent's current root policy */
	const char *device_id;
	int64_t now;
	int64_t skew; /* tolerated clock skew, seconds */
	rp_seen_fn seen;
	void *seen_arg;
};

/*
 * Parses a delivery from its JSON transport form, checking every size
 * before decoding. {"statement": "...", "payload": "<base64>"}
 */
int rp_delivery_parse(const char *json, size_t len, struct rp_delivery *ret,
		      struct rp_diag *d);
void rp_delivery_release(struct rp_delivery *dl);

/*
 * Runs every check in order, stopping at the first failure. On success
 * *ret_cmd is the parsed, verified command. On failure, *ret_id (when
 * the statement parsed far enough) names the statement for the alert.
 */
int rp_verify_delivery(const struct rp_verify_ctx *ctx,
		       const struct rp_delivery *dl, struct rp_command **ret_cmd,
		       char ret_id[RP_ID_HEX + 1], struct rp_diag *d);
