/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * rampartd's store: SQLite in WAL mode, one transaction per state change.
 * Every SQL statement of the server is in db.c, and the schema documented
 * at its top is part of the test contract: the attack tests write forged
 * rows into `commands` and `deliveries` while the server runs.
 *
 * Functions return 0 or a negative RP_E_* code: RP_E_NOTFOUND when the row
 * asked for is not there, RP_E_EXISTS on a uniqueness conflict, RP_E_DB
 * after logging what SQLite said. Output parameters are written only on
 * success. The *_json functions hand over a new reference.
 */

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "statement.h"

struct db {
	sqlite3 *h;
};

int db_open(struct db *db, const char *path, bool create);
void db_close(struct db *db);

/* Bootstrap tokens, by "sha256:<hex>" of the token. */
int db_bootstrap_add(struct db *db, const char *hash);
/* 0 when an unused token has this hash. */
int db_bootstrap_check(struct db *db, const char *hash);

/*
 * Creates the org with its version-1 policy and uses up the bootstrap
 * token, in one transaction. RP_E_EXISTS if the org exists, RP_E_NOTFOUND
 * if the token was used meanwhile.
 */
int db_org_create(struct db *db, const char *org, uint64_t version, const char *hash,
		  const char *policy, const char *bootstrap_hash);
/* The signed note of the org's current (highest version) policy; malloc'd. */
int db_policy_text(struct db *db, const char *org, char **ret);
/* {"org", "version", "hash", "policy"} */
int db_policy_json(struct db *db, const char *org, json_t **ret);

int db_enroll_token_add(struct db *db, const char *id, const char *org, const char *secret_hash,
			int64_t expires, const char *created_by);

struct db_device {
	char id[RP_ID_HEX + 1];
	char org[RP_ORG_NAME_MAX + 1];
	uint8_t pub[32];
	const char *hostname, *os, *agent_version;
};
/*
 * Uses up the org's unused, unexpired enrolment token with this secret
 * hash and inserts the device, in one transaction. RP_E_NOTFOUND: no such
 * token; RP_E_EXISTS: the key is already enrolled.
 */
int db_enroll(struct db *db, const char *secret_hash, const struct db_device *dev);
/* The device's public key and org (ret->hostname etc. stay NULL). */
int db_device_get(struct db *db, const char *id, struct db_device *ret);
int db_device_in_org(struct db *db, const char *id, const char *org);
/* Writes last_seen at most once a minute: polls are frequent, fsyncs are not free. */
int db_device_seen(struct db *db, const char *id);
int db_devices_json(struct db *db, const char *org, json_t **ret);

struct db_token {
	char name[65];
	char scope[8];
	char secret_hash[72];
	int64_t expires;
};
int db_token_get(struct db *db, const char *id, const char *org, struct db_token *ret);
int db_token_add(struct db *db, const char *id, const char *org, const char *name,
		 const char *scope, const char *secret_hash, int64_t expires,
		 const char *created_by);
int db_tokens_json(struct db *db, const char *org, json_t **ret);
int db_token_revoke(struct db *db, const char *id, const char *org);

/* A command as submitted; the statement text is stored as received. */
struct db_command {
	const struct rp_command *cmd; /* id, org, targets, comment, expires */
	const char *statement;
	const uint8_t *payload;
	size_t payload_len;
	bool approved;
	size_t signatures;
	uint32_t threshold;
};
/* The command and a 'pending' delivery per target, in one transaction. */
int db_command_insert(struct db *db, const struct db_command *c);
/* The stored signed statement (malloc'd) and whether it is approved. */
int db_command_statement(struct db *db, const char *org, const char *id, char **ret,
			 bool *ret_approved);
/*
 * Stores the merged statement; when approved, also sets the state and makes
 * sure every target has its delivery row, in the same transaction.
 */
int db_command_sign(struct db *db, const struct db_command *c);
int db_command_json(struct db *db, const char *org, const char *id, json_t **ret);
int db_commands_json(struct db *db, const char *org, json_t **ret);
/* One entry per delivery; 'expired' computed here. RP_E_NOTFOUND: no command. */
int db_results_json(struct db *db, const char *org, const char *id, json_t **ret);
int db_alerts_json(struct db *db, const char *org, json_t **ret);

/*
 * The device's oldest approved command whose delivery is pending or
 * running, as {"command", "statement", "payload"}; RP_E_NOTFOUND when
 * there is none. Reads the database every time: rows written behind the
 * server's back are served (and the agent refuses them).
 */
int db_next_delivery(struct db *db, const char *device, json_t **ret);
/* pending -> running; no error when there is no such delivery. */
int db_delivery_started(struct db *db, const char *command, const char *device);

struct db_result {
	const char *command, *device, *status; /* status: rp_result_status_name() */
	int64_t exit_code, duration_ms;
	const uint8_t *output;
	size_t output_len;
	const char *reason, *note; /* note: the signed result, kept as evidence */
};
/* RP_E_NOTFOUND: no delivery of that command to that device without a final result. */
int db_result_store(struct db *db, const struct db_result *r);

/*
 * Records an alert; when command is non-empty, that device's delivery, if
 * not final, gets status (refused or failed) and the reason; when alarm,
 * the device's alarm becomes code. One transaction.
 */
int db_alert_store(struct db *db, const char *org, const char *device, const char *command,
		   const char *code, const char *reason, const char *status, bool alarm);
