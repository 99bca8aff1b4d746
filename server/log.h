/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The sequencer: checkpoints, witnesses, proofs for agents. */

#include <jansson.h>
#include <stdint.h>

#include "server.h"

int log_init(struct server *s, const char *witness_ca);
/* Runs the sequencer at once (an approval: logged, or scheduled); bursts coalesce. */
void log_kick(struct server *s);
void log_release(struct server *s);
/* The witnesses' counters and cosignature latency, for /metrics (server/metrics.c). */
struct rp_sb;
void log_metrics(const struct server *s, struct rp_sb *out);
/*
 * The device's next delivery from log (or never logged) with its inclusion
 * proof, the served checkpoint and a consistency proof from size have;
 * RP_E_NOTFOUND if none.
 */
int log_next_delivery(struct server *s, const char *device, int64_t log, uint64_t have,
		      json_t **ret);
/*
 * Command id of org as agents get it, proofs included, with consistency
 * from size have (for offline checks and audits).
 */
int log_command_delivery(struct server *s, const char *org, const char *id, uint64_t have,
			 json_t **ret);
/* Sets "checkpoint" (the served one) and "consistency" (from have) on j. */
int log_checkpoint_json(struct server *s, const struct db_log *lg, uint64_t have, json_t *j);
/*
 * The answer of GET /v1/agent/entries (lib/scan.h): entries from `from' of
 * the tree of size entries, as many as RP_SCAN_* allow, and the consistency
 * proof from after the last one to size. RP_E_NOTFOUND when none.
 */
int log_entries_json(struct server *s, const struct db_log *lg, uint64_t from, uint64_t size,
		     json_t *j);
