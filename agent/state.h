/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's state directory (default /var/lib/rampart-agent, mode 0700):
 *   agent.conf   server URL, pin, org, device id (written at enrolment)
 *   device.key   the device's Ed25519 signer key (0600)
 *   policy.note  the root policy accepted at enrolment
 *   executed     append-only record: "<statement id> <started|reported|refused> <unix>"
 *   log.state    the transparency log as this device last verified it (rp_log_state_parse):
 *                "size N\nroot <base64>\nnewest <unix>\nlast-index K\n" (atomic rewrite)
 *   checkpoint.note  the cosigned checkpoint behind log.state, kept as evidence
 *   spool/       results not yet acknowledged by the server
 *   alerts.log   security alerts, one line each
 * (Scripts are not written here: agent/exec.c hands each to its command
 * in a sealed memfd, which a dropped run-as user can read.)
 */

#include <stdbool.h>

#include "client/api.h"
#include "note.h"
#include "policy.h"
#include "statement.h"
#include "verify.h"

struct agent_conf {
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
};

enum exec_mark { MARK_NONE, MARK_STARTED, MARK_REPORTED, MARK_REFUSED };

struct agent_record {
	char id[RP_ID_HEX + 1];
	enum exec_mark mark;
};

struct agent {
	char dir[512];
	struct agent_conf conf;
	struct rp_skey key;
	struct rp_policy *policy;
	struct rp_api api;
	struct rp_https_conn conn; /* kept from one request to the next */
	/* The executed record, in memory: small, sorted by nothing; the
	 * count of commands a device ever runs is modest. */
	struct agent_record *recs;
	size_t nrecs, caprecs;
	struct rp_log_state log;
};

int agent_path(const struct agent *a, char *out, size_t outlen, const char *name);
int agent_conf_write(const char *dir, const struct agent_conf *c);
/* agent.conf's text: exactly the four lines agent_conf_format writes. */
int agent_conf_parse(const char *text, size_t len, struct agent_conf *c, struct rp_diag *d);
/* Writes the text into buf; its length, or RP_E_TOOBIG. */
int agent_conf_format(const struct agent_conf *c, char *buf, size_t n);
/* One line of the executed record (without '\n'): 0 and its id and mark, or RP_E_MALFORMED. */
int agent_record_parse(const char *line, size_t len, char id[RP_ID_HEX + 1], enum exec_mark *ret);
/* Loads conf, key, policy and the executed record; sets up the API client. */
int agent_load(struct agent *a, const char *dir, struct rp_diag *d);
void agent_release(struct agent *a);

enum exec_mark agent_mark_get(const struct agent *a, const char *id);
/* Appends and fsyncs a record line before returning. */
int agent_mark_set(struct agent *a, const char *id, enum exec_mark m);
/* The rp_verify_delivery replay hook: any record means "seen". */
int agent_seen(void *arg, const char *id);

void agent_alert_log(const struct agent *a, const char *id, const char *code,
		     const char *reason);

/* rp_verify_ctx.store: keeps a verified checkpoint (log.state, checkpoint.note). */
int agent_log_store(void *arg, const struct rp_checkpoint *cp, const char *note, size_t len,
		    int64_t newest);
/* Records that log entry index was acted on (run or refused): entries go in order. */
int agent_log_acted(struct agent *a, int64_t index);
