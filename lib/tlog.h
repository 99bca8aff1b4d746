/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The append-only check, in one place: whether a log's new checkpoint is
 * an append-only successor of the one a verifier stored. The agent
 * (rp_verify_checkpoint, lib/verify.c), the witness (witness/serve.c) and
 * the audit (lib/audit.c, cli/audit.c) all call it and map its verdict to
 * their own refusals, tlog-witness status codes and findings, as every Go
 * client of a sumdb log calls golang.org/x/mod/sumdb/tlog.
 *
 * A verifier stores a head (size and root of the last checkpoint it
 * accepted). The new head is judged in this order:
 *   smaller than the stored one              RP_TLOG_ROLLBACK
 *   the stored size with another root        RP_TLOG_FORK
 *   the evidence does not hold, or the tree
 *   grew by more than RP_LOG_GROWTH_MAX      RP_TLOG_INCONSISTENT
 *   the stored head itself                   RP_TLOG_SAME
 *   larger, and the evidence holds           RP_TLOG_EXTENDS
 * The evidence is either an RFC 9162 consistency proof from the stored
 * size (agent, witness, the audit's cross-check), which must be empty for
 * equal sizes, or the root the verifier rebuilt itself by appending the
 * entries it read to its stored tree (the audit's replay).
 *
 * Size 0 is a real head, the empty tree (root SHA-256 of nothing): any
 * tree extends it with an empty proof. A verifier that has stored nothing
 * yet (the agent before its first checkpoint) does not call this.
 */

#include <stdbool.h>
#include <stdint.h>

#include "merkle.h"

struct rp_tlog_head {
	uint64_t size;
	uint8_t root[RP_HASH_LEN];
};

enum rp_tlog_verdict {
	RP_TLOG_SAME,         /* the stored head again */
	RP_TLOG_EXTENDS,      /* a larger tree that contains the stored one */
	RP_TLOG_ROLLBACK,     /* a smaller tree than the stored one */
	RP_TLOG_FORK,         /* the stored size, another root */
	RP_TLOG_INCONSISTENT, /* the proof (or the rebuilt root) does not hold */
};

/* SAME and EXTENDS: the new head may replace the stored one. */
static inline bool rp_tlog_append_only(enum rp_tlog_verdict v)
{
	return v == RP_TLOG_SAME || v == RP_TLOG_EXTENDS;
}

/* "same", "extends", "rollback", "fork", "inconsistent". */
const char *rp_tlog_verdict_name(enum rp_tlog_verdict v);

/*
 * The verdict on next, given the consistency proof from stored->size to
 * next->size. Unless append-only, d says why, naming both sizes; for
 * RP_TLOG_INCONSISTENT it is the proof's own diagnostic (lib/merkle.h),
 * so a caller can quote it after words of its own.
 */
enum rp_tlog_verdict rp_tlog_advance(const struct rp_tlog_head *stored,
				     const struct rp_tlog_head *next,
				     const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
				     struct rp_diag *d);

/*
 * The same verdict when the verifier rebuilt the tree itself: rebuilt is
 * the root of the first next->size entries, computed by appending the
 * entries it read to its stored tree of stored->size (read only when
 * next->size > stored->size).
 */
enum rp_tlog_verdict rp_tlog_advance_rebuilt(const struct rp_tlog_head *stored,
					     const struct rp_tlog_head *next,
					     const uint8_t rebuilt[RP_HASH_LEN], struct rp_diag *d);
