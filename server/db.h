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

#include "checkpoint.h"
#include "merkle.h"
#include "rp_limits.h"
#include "directory.h"
#include "statement.h"

struct db_hcache;
struct rp_sql;
struct rp_policy;

/* db-log.c's hot statements, kept prepared. */
enum db_log_stmt {
	DB_LOG_HASH_READ,
	DB_LOG_SIZE_READ,
	DB_LOG_ENTRY_INSERT,
	DB_LOG_HASH_INSERT,
	DB_LOG_SIZE_WRITE,
	DB_LOG_NSTMT
};

struct db {
	struct rp_sql *h; /* lib/sql: SQLite and the message of its last failure */
	sqlite3_stmt *st[DB_LOG_NSTMT];
	struct db_hcache *hcache; /* stored hashes at level >= 8, per log (db-log.c) */
	size_t nhcache;
};

int db_open(struct db *db, const char *path, bool create);
void db_close(struct db *db);
/*
 * What a store function returns: r, after logging, when r is RP_E_DB,
 * what lib/sql left on the handle (the SQL and SQLite's message) with
 * what the server was doing; once, so callers up the stack do not repeat it.
 */
int db_ret(struct db *db, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
/*
 * The org's current root policy, parsed: NULL when there is none, or when
 * the stored text does not parse (logged: the server's store is damaged).
 */
struct rp_policy *db_policy(struct db *db, const char *org);
/* {"org", "version", "hash", "policy"} */
int db_policy_json(struct db *db, const char *org, json_t **ret);

/*
 * Version `version' of the org's root policy: its signed note (malloc'd)
 * and its log index (-1 when not recorded). RP_E_NOTFOUND: no such version.
 */
int db_policy_version(struct db *db, const char *org, uint64_t version, char **ret,
		      int64_t *ret_index);
/* The stored proposal with this text hash (its signed note, malloc'd). */
int db_policy_proposal(struct db *db, const char *org, const char *hash, char **ret);
/* Stores (or replaces the note of) the proposal of this hash. */
int db_policy_propose(struct db *db, const char *org, uint64_t version, const char *hash,
		      const char *note);
/*
 * In one transaction: stores version `version' (which must still follow the
 * org's highest, else RP_E_EXISTS: another proposal won), appends the note
 * to the org's log and deletes the proposals of that version and below.
 * With new_log (the version names the key of the org's next log), that log
 * becomes the active one and the note is its entry 0 as well: the old log
 * ends with it. RP_E_TOOBIG: the note is larger than a log entry.
 */
int db_policy_publish(struct db *db, const char *org, uint64_t version, const char *hash,
		      const char *note, bool new_log, uint64_t *ret_index);
/*
 * The signed notes of the stored proposals of this version, at most
 * RP_POLICY_PROPOSALS_MAX, oldest first: a malloc'd array of malloc'd texts.
 */
int db_policy_proposals(struct db *db, const char *org, uint64_t version, char ***ret,
			size_t *ret_n);

int db_enroll_token_add(struct db *db, const char *id, const char *org, const char *secret_hash,
			int64_t expires, const char *created_by);

struct db_device {
	char id[RP_ID_HEX + 1];
	char org[RP_ORG_NAME_MAX + 1];
	uint8_t pub[32];
	const char *hostname, *os, *agent_version;
	const char *facts; /* the device-signed facts note, or NULL */
	int64_t key_seq;   /* db_device_get: how many keys it has had (pub: the current one) */
};
/*
 * Uses up the org's unused, unexpired enrolment token with this secret
 * hash and inserts the device, in one transaction. RP_E_NOTFOUND: no such
 * token; RP_E_EXISTS: the key is already enrolled.
 */
int db_enroll(struct db *db, const char *secret_hash, const struct db_device *dev);
/*
 * Inserts the device enrolled by a reusable token and appends its
 * enrolment note (lib/enroll.h) to the org's log, in one transaction:
 * the note is what every fold reads. RP_E_EXISTS: the device is enrolled.
 */
struct rp_facts;
/*
 * The device's newer facts note f (verified): stored with its hostname, OS
 * and agent version. RP_E_CONFLICT when the stored one is as new or newer.
 */
int db_device_facts(struct db *db, const char *id, const char *note, const struct rp_facts *f);
int db_enrol_logged(struct db *db, const struct db_device *dev, const char *note,
		    uint64_t *ret_index);
/* The device's public key and org (ret->hostname etc. stay NULL). */
int db_device_get(struct db *db, const char *id, struct db_device *ret);
int db_device_in_org(struct db *db, const char *id, const char *org);
/*
 * The device's key becomes pub, bound to dev->pub (dev from db_device_get)
 * by binding, verified by the caller. RP_E_EXISTS when pub is a key some
 * device has or had, or dev's key changed meanwhile.
 */
int db_device_rekey(struct db *db, const struct db_device *dev, const uint8_t pub[32],
		    const char *binding);
/*
 * Every key device id has had, oldest first, the current one last, and
 * since[i] when the server took key i (0 for the first): at most max, for
 * rp_devkey_result_verify and rp_devkey_may_sign.
 */
int db_device_keys(struct db *db, const char *id, uint8_t (*keys)[32], int64_t *since, size_t max,
		   size_t *ret_n);
/* The start (not-before) of command id of org; 0 when not known. */
int db_command_not_before(struct db *db, const char *org, const char *id, int64_t *ret);
/* The binding that made key number seq (2..) of device id current. */
int db_device_binding(struct db *db, const char *id, int64_t seq, char **ret);
/* Writes last_seen at most once a minute: polls are frequent, fsyncs are not free. */
int db_device_seen(struct db *db, const char *id);
int db_devices_json(struct db *db, const char *org, json_t **ret);
/* The device's latest drift report (a note it signed: the CLI verifies it). */
int db_device_drift(struct db *db, const char *id, const char *note);

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

/* An API token as a rotation found it (db_tokens_rotate). */
struct db_token_row {
	char id[RP_ID_HEX + 1];
	char name[RP_API_TOKEN_NAME_MAX + 1];
	char scope[8];
	char created_by[RP_NOTE_NAME_MAX + 8];
	int64_t expires, created;
	char new_id[RP_ID_HEX + 1]; /* its replacement, "" when none */
	int64_t new_expires;
};
/*
 * The secret hash ("sha256:<hex>") of row's replacement into hash, or ""
 * for none; a negative RP_E_* aborts the rotation with nothing changed.
 */
typedef int (*db_reissue_fn)(void *arg, const struct db_token_row *row, char hash[72]);
/*
 * Revokes every API token of org at once, in one transaction. With
 * reissue, each one unexpired at now whose lifetime (expires - created)
 * is positive gets a replacement: a new id, the same name and scope, that
 * lifetime from now (at most RP_API_TOKEN_TTL_MAX_S), created_by by, and
 * the hash reissue gives. *ret: every token revoked, oldest first, with
 * its replacement's id (malloc'd, *ret_n may be 0).
 */
int db_tokens_rotate(struct db *db, const char *org, int64_t now, db_reissue_fn reissue, void *arg,
		     const char *by, struct db_token_row **ret, size_t *ret_n);

/* An enrolment token as a revocation found it (db_enroll_tokens_revoke). */
struct db_enroll_row {
	char id[RP_ID_HEX + 1];
	char created_by[RP_NOTE_NAME_MAX + 8];
	int64_t expires, created;
};
/*
 * Deletes the org's enrolment tokens not yet used (only the one with this
 * id when id is not NULL) in one transaction, so none of them enrols a
 * device any more; used ones stay as the record of who enrolled what.
 * *ret: what was revoked, oldest first (malloc'd, *ret_n may be 0).
 * RP_E_NOTFOUND: id is no enrolment token of org; RP_E_EXISTS: it was used.
 */
int db_enroll_tokens_revoke(struct db *db, const char *org, const char *id,
			    struct db_enroll_row **ret, size_t *ret_n);

/* A command as submitted; the statement text is stored as received. */
struct db_command {
	const struct rp_command *cmd; /* id, org, targets, comment, expires */
	const char *statement;
	const uint8_t *payload;
	size_t payload_len;
	bool approved;
	bool scheduled;    /* approved, but its not-before is ahead: logged when due */
	bool was_approved; /* db_command_sign: approved before (logged, or scheduled) */
	size_t signatures;
	uint32_t threshold;
};
/*
 * The command and a 'pending' delivery per target, in one transaction;
 * approved, it is logged at once, or when scheduled held back as
 * 'scheduled' (RP_E_TOOBIG now if it could never be logged).
 */
int db_command_insert(struct db *db, const struct db_command *c);
/*
 * The directory as this server's log makes it: every logged directory
 * entry of org folded in log order as an observer that is no device
 * folds it (rp_dir_fold under the org's current policy): every device's
 * groups and tags as every device agrees on them. Where to deliver and
 * how many signatures to wait for; agents fold and verify their own.
 */
int db_directory_state(struct db *db, const char *org, struct rp_dir_state *ret);
/*
 * Whether the directory statement (a signed note's text) may wait to be
 * logged: the version after the last logged, chained to it, or a later
 * version (a later part of a change, judged when the parts before it are
 * logged), and not expired.
 * RP_E_CONFLICT when not (the administrators must rebuild the change);
 * 0 for a statement that is not a directory statement.
 */
int db_directory_next(struct db *db, const char *org, const char *statement);
/*
 * The logged directory entries of org from the from-th on (0: the first),
 * in log order, as JSON strings: at most RP_DIR_ANSWER_ENTRIES and
 * max_bytes of them (*ret_more then).
 */
int db_directory_json(struct db *db, const char *org, uint64_t from, size_t max_bytes, json_t **ret,
		      bool *ret_more);
/* The stored signed statement (malloc'd) and whether it is approved or scheduled. */
int db_command_statement(struct db *db, const char *org, const char *id, char **ret,
			 bool *ret_approved);
/*
 * Stores the merged statement; when this approves it, also sets the state
 * ('approved' and logged, or 'scheduled') and makes sure every target has
 * its delivery row, in the same transaction.
 */
int db_command_sign(struct db *db, const struct db_command *c);
/*
 * The signed cancel note of command id appended to the org's log, and the
 * command marked 'cancelled' (or 'rejected'): never logged from then on
 * (log_command refuses it), its pending deliveries marked so too.
 * RP_E_EXISTS when it was cancelled already, RP_E_NOTFOUND when no such
 * command. ret_index: the cancel's log entry.
 */
int db_command_cancel(struct db *db, const char *org, const char *id, const char *note, bool reject,
		      uint64_t *ret_index);
/* The signed cancel of command id, or NULL (*ret) when it has none. */
int db_command_cancel_note(struct db *db, const char *org, const char *id, char **ret);
/* 1 when command id is cancelled or rejected, 0 when not. */
int db_command_is_cancelled(struct db *db, const char *org, const char *id);
/* How many deliveries of command id are still pending or running. */
int db_command_final(struct db *db, const char *org, const char *id, size_t *ret_open);
int db_command_json(struct db *db, const char *org, const char *id, json_t **ret);
/*
 * The newest limit commands, each with its signed statement, whole rows
 * only while the statements stay within max_bytes (*ret_truncated then).
 */
int db_commands_json(struct db *db, const char *org, size_t limit, size_t max_bytes, json_t **ret,
		     bool *ret_truncated);
/*
 * One entry per delivery; 'expired', 'scheduled' and 'delivered' computed
 * here (db.c's header). Each carries the device-signed result note
 * ("note", null before one), the target's public key and signed facts
 * ("pubkey", "facts", null if unknown). RP_E_NOTFOUND: no command.
 */
int db_results_json(struct db *db, const char *org, const char *id, json_t **ret);
int db_alerts_json(struct db *db, const char *org, json_t **ret);
/*
 * Alert id of org (0: every one not acknowledged yet) marked acknowledged
 * by who at at; *ret_n: how many were. One acknowledged before keeps its
 * first acknowledgement.
 */
int db_alert_ack(struct db *db, const char *org, int64_t id, const char *who, int64_t at,
		 int *ret_n);

/*
 * The device's next approved command whose delivery is pending or running,
 * logged in log (the one the device reads) or not logged at all, as
 * {"command", "statement", "payload", "index" (-1: not logged), "log"
 * (the log's id)}; RP_E_NOTFOUND when
 * there is none. Reads the database every time: rows written behind the
 * server's back are served (and the agent refuses them).
 */
int db_next_delivery(struct db *db, const char *device, int64_t log, json_t **ret);
/*
 * Appends to the org's log every approved command not yet in it, whatever
 * wrote the row, and every scheduled one whose not-before is at or before
 * now (those become 'approved'), in one transaction: what is delivered is
 * in the log, for every auditor to see. *ret_unlogged: how many of the
 * first kind; *ret_due: of the second.
 */
int db_log_approved(struct db *db, const char *org, int64_t now, size_t *ret_unlogged,
		    size_t *ret_due);
/* The earliest not-before of a scheduled command of any org; RP_E_NOTFOUND: none. */
int db_next_scheduled(struct db *db, int64_t *ret_not_before);
/* Notes when the delivery was first handed to the device (for 'delivered'/'expired'). */
int db_delivery_offered(struct db *db, const char *command, const char *device);
/*
 * The command as agents get it, in the same form as db_next_delivery;
 * RP_E_NOTFOUND unless it is logged and covered by the served checkpoint.
 */
int db_command_delivery(struct db *db, const char *org, const char *id, json_t **ret);
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

/* ---- the transparency logs (db-log.c) ---- */

/*
 * An org's logs, one per generation (migration 10): the active one takes
 * new entries; a next one (`rampartd rotate log-key') waits for the root
 * policy that names its key; a retired one ended with the policy that named
 * its successor (its last entry), stays served and witnessed (agents and
 * auditors still read it to that policy), and never grows.
 */
enum db_log_state { DB_LOG_ACTIVE, DB_LOG_NEXT, DB_LOG_RETIRED };

struct db_log {
	int64_t id;
	char org[RP_ORG_NAME_MAX + 1];
	char origin[RP_ORIGIN_MAX + 1];
	int64_t gen; /* 1, 2, ...: the origin of gen g > 1 ends in "/<g>" */
	enum db_log_state state;
	uint64_t final_policy; /* retired: the last root policy version it was under */
	uint64_t size;         /* entries appended */
	int64_t signed_size;   /* newest checkpoint signed by the log key, -1: none */
	uint64_t served_size;  /* newest checkpoint meeting the witness quorum */
};
/* The org's active log. */
int db_log_get(struct db *db, const char *org, struct db_log *ret);
int db_log_get_by_id(struct db *db, int64_t log, struct db_log *ret);
/* An active or retired log of the org, by origin or generation. */
int db_log_get_origin(struct db *db, const char *org, const char *origin, struct db_log *ret);
int db_log_get_gen(struct db *db, const char *org, int64_t gen, struct db_log *ret);
/* The org's next log, made by `rampartd rotate log-key', not named by a policy yet. */
int db_log_get_next(struct db *db, const char *org, struct db_log *ret);
/* The org's active and retired logs, oldest first (malloc'd). */
int db_log_list(struct db *db, const char *org, struct db_log **ret, size_t *ret_n);
/* The orgs that have a log, as a malloc'd array of malloc'd names. */
int db_log_orgs(struct db *db, char ***ret, size_t *ret_n);
/*
 * The verifier key of the org's active log (its name is the origin), or of
 * one log by id; the signer key is in its own file (server/logkey.c).
 * RP_E_NOTFOUND: no such log; RP_E_DB: the stored key does not parse
 * (logged).
 */
int db_log_vkey(struct db *db, const char *org, struct rp_vkey *ret);
int db_log_vkey_by_id(struct db *db, int64_t log, struct rp_vkey *ret);
/* Makes the org's first log, named by v (origin = v->name). RP_E_EXISTS: it has one. */
int db_log_create(struct db *db, const char *org, const struct rp_vkey *v);
/* Makes the org's next log, generation gen. RP_E_EXISTS: it has one (or the origin is taken). */
int db_log_create_next(struct db *db, const char *org, int64_t gen, const struct rp_vkey *v);
/*
 * Inside the caller's transaction: the active log retires under policy
 * version final_policy and the next log becomes the active one (its id in
 * *ret_log). RP_E_NOTFOUND: the org has no next log.
 */
int db_log_switch(struct db *db, const char *org, uint64_t final_policy, int64_t *ret_log);
/* A log whose signer key is still in logs.skey (a database from before migration 7). */
struct db_log_skey {
	int64_t id;
	char org[RP_ORG_NAME_MAX + 1];
	char origin[RP_ORIGIN_MAX + 1];
	char *skey; /* the key text; wiped by db_log_skeys_free */
};
int db_log_skeys(struct db *db, struct db_log_skey **ret, size_t *ret_n);
void db_log_skeys_free(struct db_log_skey *v, size_t n);
/*
 * In one transaction: each log's skey cleared (secure_delete on) and its
 * verifier key vkeys[i] stored, and the database marked for db_scrub.
 * RP_E_EXISTS: a row changed meanwhile (nothing is cleared).
 */
int db_log_skeys_forget(struct db *db, const struct db_log_skey *v, const struct rp_vkey *vkeys,
			size_t n);
/*
 * When the database is marked (scrub_pending): VACUUM, so that no page
 * keeps a deleted secret, then a WAL checkpoint that empties the WAL, then
 * the mark is removed; *ret_scrubbed says whether it ran. Needs the only
 * connection: run at start. RP_E_DB when the WAL could not be emptied.
 */
int db_scrub(struct db *db, bool *ret_scrubbed);
/* Appends one entry; must run inside a transaction of the caller. */
int db_log_append(struct db *db, int64_t log, const void *data, size_t len, uint64_t *ret_index);
/* Appends count entries in one transaction (the sequencer's batch; benchmarks). */
int db_log_append_batch(struct db *db, int64_t log, const void *const *data, const size_t *len,
			size_t count);
/*
 * A read transaction around several reads (the proofs and checkpoint of one
 * delivery: one snapshot, and one lock instead of one per stored hash).
 * db_read_begin returns whether it began one; pass that to db_read_end.
 */
bool db_read_begin(struct db *db);
void db_read_end(struct db *db, bool began);
/* Frees db-log.c's kept statements and cache (db_close calls it). */
void db_log_release(struct db *db);
int db_log_tree_hash(struct db *db, int64_t log, uint64_t size, uint8_t out[RP_HASH_LEN]);
int db_log_prove_inclusion(struct db *db, int64_t log, uint64_t index, uint64_t size,
			   uint8_t (*out)[RP_HASH_LEN], size_t *ret_n);
/* Empty proof when size1 is 0 or equals size2. */
int db_log_prove_consistency(struct db *db, int64_t log, uint64_t size1, uint64_t size2,
			     uint8_t (*out)[RP_HASH_LEN], size_t *ret_n);
/*
 * Appends tile t's bytes (hashes, or uint16-length-prefixed entries) to out;
 * RP_E_NOTFOUND when the tile is not complete within the first size leaves.
 */
int db_log_tile(struct db *db, int64_t log, const struct rp_tile *t, uint64_t size,
		struct rp_sb *out);
/*
 * Calls fn on entries from, from + 1, ... below to, in order: at most max_n,
 * and after the first only while their bytes stay within max_bytes.
 * *ret_end: the index after the last one given.
 */
typedef int (*db_entry_fn)(void *arg, const void *data, size_t len);
int db_log_entries(struct db *db, int64_t log, uint64_t from, uint64_t to, size_t max_bytes,
		   size_t max_n, db_entry_fn fn, void *arg, uint64_t *ret_end);
int db_log_set_signed(struct db *db, int64_t log, uint64_t size, const char *note);
int db_log_signed_note(struct db *db, int64_t log, char **ret);
/*
 * fn(arg, device id) once for each device with an open delivery of a
 * command logged at entries [from, to) of log: those a newly served
 * checkpoint has work for.
 */
typedef void (*db_device_fn)(void *arg, const char *device);
int db_log_targets(struct db *db, int64_t log, uint64_t from, uint64_t to, db_device_fn fn,
		   void *arg);
/* Never moves the served checkpoint backwards. */
int db_log_set_served(struct db *db, int64_t log, uint64_t size, const char *note);
int db_log_served_note(struct db *db, int64_t log, char **ret);
/*
 * What the witness (by key name) last cosigned for this log: its size (0
 * when never), and the size and time of the cosignature kept (UINT64_MAX
 * and 0 when none).
 */
int db_log_witness_get(struct db *db, int64_t log, const char *witness, uint64_t *ret_size,
		       uint64_t *ret_cosig_size, int64_t *ret_cosig_time);
/* Records the witness's size, and its cosignature line of that size unless cosig is NULL. */
int db_log_witness_set(struct db *db, int64_t log, const char *witness, uint64_t size,
		       const char *cosig, int64_t cosig_time);
/* Appends every stored cosignature line over the checkpoint of this size. */
int db_log_cosigs(struct db *db, int64_t log, uint64_t size, struct rp_sb *out);

/*
 * The gauges of rampartd's /metrics read from the store, appended to out
 * in Prometheus text format (server/metrics.c): devices (and online within
 * online_s), commands by state, deliveries by status, alerts by code, log
 * sizes, per org. 0 or RP_E_DB.
 */
int db_metrics(struct db *db, int64_t now, int64_t online_s, struct rp_sb *out);

/*
 * The package store (db-package.c). One piece of package hex (64
 * lowercase hex) of size bytes at offset: pieces come in order, each
 * RP_PACKAGE_CHUNK bytes but the last; offset 0 starts the upload again.
 * 0: stored, more to come; 1: that was the last and the whole hashes to
 * hex. RP_E_INVAL (a piece of the wrong length or place), RP_E_CONFLICT
 * (not the next piece, or another size), RP_E_EXISTS (already complete),
 * RP_E_TOOBIG (RP_PACKAGES_MAX stored), RP_E_PAYLOAD (the whole does not
 * hash to hex: nothing of it is kept).
 */
int db_package_put(struct db *db, const char *org, const char *hex, uint64_t size, uint64_t offset,
		   const void *data, size_t len, const char *who);
/* A complete package's size; RP_E_NOTFOUND when none is complete. */
int db_package_info(struct db *db, const char *org, const char *hex, uint64_t *ret_size);
/* Bytes [from, to) into out, from a multiple of RP_PACKAGE_CHUNK; RP_E_IO for a piece missing. */
int db_package_read(struct db *db, const char *org, const char *hex, uint64_t from, uint64_t to,
		    uint8_t *out);
/* [{sha256, size, stored, complete, created, created_by}], oldest first. */
int db_packages_json(struct db *db, const char *org, json_t **ret);
