/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Cancel statements (`rampart/cancel/v1', docs/formats.md): an
 * administrator's signed "this command must never run", or an approver's
 * "no" (kind reject). One valid signature by a key of the role that may
 * sign the command is enough: a cancel only ever stops things. Logged like
 * every statement, so that no agent can be kept from it.
 *
 * The agent's record of the cancels it walked (`cancel.state`) is parsed
 * and formatted here too, so that one fuzz target covers both parsers.
 */

#include <stdbool.h>
#include <stdint.h>

#include "note.h"
#include "policy.h"
#include "rp_limits.h"
#include "statement.h"

enum rp_cancel_kind {
	RP_CANCEL_CANCEL, /* an administrator withdraws the command */
	RP_CANCEL_REJECT, /* an approver refuses to approve it */
};

struct rp_cancel {
	char org[RP_ORG_NAME_MAX + 1];
	char command[RP_ID_HEX + 1];
	enum rp_cancel_kind kind;
	/* sha256 of the command statement's text (signatures excluded) the signer saw */
	uint8_t statement_hash[32];
	/* the `expires' of that statement: how long an agent keeps the cancel at least */
	int64_t until;
	int64_t time;                          /* when it was signed */
	char reason[RP_CANCEL_REASON_MAX + 1]; /* "" when none */
	struct rp_note *note;                  /* when parsed from a signed note */
};

const char *rp_cancel_kind_name(enum rp_cancel_kind k);
bool rp_entry_is_cancel(const uint8_t *entry, size_t len);
int rp_cancel_parse_text(const char *text, size_t len, struct rp_cancel **ret, struct rp_diag *d);
/* A signed note holding a cancel; signatures are not checked (rp_cancel_check). */
int rp_cancel_parse(const char *msg, size_t len, struct rp_cancel **ret, struct rp_diag *d);
void rp_cancel_free(struct rp_cancel *c);
char *rp_cancel_format(const struct rp_cancel *c, size_t *ret_len);
/*
 * One valid signature by a key of the exec role of p, and the org: 0,
 * RP_E_ORG, RP_E_NOSIG (none by a key of the role) or RP_E_BADSIG (a role
 * key's line that does not verify). ret_signer (may be NULL) receives the
 * name of the first key of the role that verified.
 */
int rp_cancel_check(const struct rp_policy *p, const struct rp_cancel *c,
		    char ret_signer[RP_NOTE_NAME_MAX + 1], struct rp_diag *d);
/* The statement hash a cancel of command statement text (no signatures) carries. */
void rp_cancel_statement_hash(const char *text, size_t len, uint8_t out[32]);

/*
 * The agent's cancel.state: one record per cancelled command, kept until
 * `keep' (unix seconds, the agent's clock), at most RP_CANCEL_KEEP_MAX:
 *
 *   rampart/cancel-state/v1
 *   cancel <command id> cancel|reject <entry> <keep>
 *
 * records sorted by command id, each once.
 */
struct rp_cancel_rec {
	char command[RP_ID_HEX + 1];
	enum rp_cancel_kind kind;
	uint64_t entry; /* the cancel's log entry */
	int64_t keep;   /* kept until then */
};

struct rp_cancel_state {
	size_t n;
	struct rp_cancel_rec rec[RP_CANCEL_KEEP_MAX];
};

int rp_cancel_state_parse(const char *text, size_t len, struct rp_cancel_state *ret,
			  struct rp_diag *d);
char *rp_cancel_state_format(const struct rp_cancel_state *s, size_t *ret_len);
/* The record of command id, or NULL. */
struct rp_cancel_rec *rp_cancel_state_find(struct rp_cancel_state *s, const char *id);
/*
 * Adds (or, for a command already recorded, extends to the later keep)
 * a record, keeping the order. When the state is full, the record whose
 * keep is earliest goes first (*ret_evicted set): only past keep is a
 * record dropped otherwise (rp_cancel_state_prune).
 */
int rp_cancel_state_add(struct rp_cancel_state *s, const struct rp_cancel_rec *r,
			bool *ret_evicted);
/* Drops the records whose keep is before now; returns how many. */
size_t rp_cancel_state_prune(struct rp_cancel_state *s, int64_t now);
