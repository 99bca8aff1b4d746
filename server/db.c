/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampartd's store: every SQL statement of the server is in this file, in
 * db-log.c (the transparency logs) and in db-package.c (agent packages);
 * the SQLite helpers are lib/sql.
 *
 * SCHEMA (after all MIGRATIONS below). Tests rely on these names: they write
 * forged rows with the sqlite3 CLI while rampartd runs, and rampartd must
 * serve what the database says. All times are Unix seconds.
 *
 *   schema_version (version)                      one row per applied migration
 *   orgs (name PK, created)
 *   policies (org, version, hash 'sha256:<hex>', policy = the signed note, created,
 *       log_index NULL | its entry in the org's log)
 *       PK (org, version); an org's current policy is its highest version. Version 1
 *       is entry 0; version N+1 is stored and logged in one transaction once it
 *       carries a root quorum of N and one of its own (db_policy_publish)
 *   policy_proposals (org, version, hash 'sha256:<hex>' of the text, policy = the
 *       signed note with the signatures collected so far, created, updated)
 *       PK (org, hash): proposals of the next version, several may coexist; those of
 *       a published version are deleted when it is published
 *   bootstrap_tokens (hash PK 'sha256:<hex>' of the token, created, used NULL|time)
 *   enroll_tokens (id PK, org, secret_hash UNIQUE 'sha256:<hex>', expires, created,
 *       created_by, used NULL|time, device_id NULL|id)
 *   devices (id PK = rp_device_id(pubkey), org, pubkey BLOB 32 bytes UNIQUE: its first
 *       key, hostname, os, agent_version, enrolled, last_seen, alarm '' | code of the
 *       last alert, facts NULL | the device-signed facts note sent at enrolment,
 *       cur_key NULL (= pubkey) | its current key, key_seq: how many keys it has had)
 *   device_keys (device, seq 2.., pubkey UNIQUE: the key it re-keyed to, binding: the
 *       note both keys signed (lib/devkey.h), created) PK (device, seq)
 *   api_tokens (id PK, org, name, scope 'read'|'write', secret_hash 'sha256:<hex>',
 *       expires, created, created_by)
 *   commands (seq INTEGER PK AUTOINCREMENT: delivery order,
 *       id UNIQUE: the statement id, org, statement: the signed note text,
 *       payload BLOB, state 'pending-approval' | 'scheduled' | 'approved' | 'cancelled' |
 *       'rejected' (never logged from then on),
 *       signatures DEFAULT 0, threshold DEFAULT 0, targets DEFAULT 0, comment DEFAULT '',
 *       expires DEFAULT 0 (the statement's expiry; 0 = not known), created,
 *       not_before DEFAULT 0 (the statement's start; 0 = not known),
 *       cancel NULL | the signed cancel note (lib/cancel.h) that made state 'cancelled'
 *       or 'rejected', cancel_index NULL | its entry in the org's log)
 *   deliveries (command_id, device_id, PK (command_id, device_id),
 *       status 'pending' | 'running' | 'done' | 'refused' | 'killed' | 'timed-out' |
 *       'failed' (rp_result_status_name() of a signed result, or an alert's),
 *       exit_code NULL|int, output BLOB NULL (kept tail), duration_ms NULL|int,
 *       reason DEFAULT '', result NULL | the signed result note, updated,
 *       offered NULL | when it was first handed to the device)
 *   alerts (id PK AUTOINCREMENT, org, device_id, command_id ('' when none), code,
 *       reason, at)
 *   commands.log_index NULL | the command's entry in its org's log (-1: too
 *       large to log); logs, log_entries, log_hashes, log_witnesses: db-log.c
 *   packages (org, sha256 hex, size, have: bytes stored so far, complete 0|1 once they
 *       hash to sha256, created, created_by) PK (org, sha256);
 *   package_chunks (org, sha256, seq, data BLOB: bytes [seq, seq+1) * RP_PACKAGE_CHUNK)
 *       PK (org, sha256, seq): db-package.c
 *   scrub_pending (since): a row while deleted secrets may still lie in the
 *       database's free space or WAL (db_scrub removes them, then the row)
 *
 * A delivery row is made for every target when a command is submitted (so
 * that results list every target, and a command never approved shows as
 * 'expired'); approval flips commands.state and, in the same transaction,
 * makes sure every target's row exists, and appends the statement to the
 * org's log. An approval whose not-before is still ahead is 'scheduled'
 * instead: not logged, not delivered, until the sequencer finds it due
 * (db_log_approved, woken by an evtimer at db_next_scheduled) and logs it
 * then, so that it takes its place in log order at its start, after
 * everything approved before that. A device is offered, on every poll, its
 * delivery lowest in log order (then commands.seq) such that
 * commands.state = 'approved', deliveries.status IN ('pending', 'running'),
 * commands.expires is 0 or later than now, and the entry is covered by the
 * served (witnessed) checkpoint; see db_next_delivery. 'expired',
 * 'scheduled' and 'delivered' are never stored: the results endpoint shows
 * 'expired' for a pending delivery past expires that was never offered
 * before it (so never for one a device may have started), 'scheduled' for
 * one of a scheduled command, 'delivered' for one offered but not reported
 * started. A forged delivery therefore needs only:
 *   INSERT INTO commands (id, org, statement, payload, state, created)
 *     VALUES (<id>, <org>, <note>, <payload>, 'approved', strftime('%s','now'));
 *   INSERT INTO deliveries (command_id, device_id, status, updated)
 *     VALUES (<id>, <device>, 'pending', strftime('%s','now'));
 * and the sequencer logs such a row (db_log_approved) before it is delivered.
 *
 * Statements here are prepared on each call: that costs microseconds next to
 * an fsync, and nothing is cached that could hide a change made behind the
 * server's back. db-log.c keeps its hot statements prepared, and caches only
 * stored hashes, which never change once written.
 */
#include "db.h"
#include "sql/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "enroll.h"
#include "facts.h"
#include "note.h"
#include "policy.h"
#include "rp_err.h"
#include "util.h"

/*
 * Versioned migrations: MIGRATIONS[i] takes the schema from version i to
 * i + 1, each in one transaction with its schema_version row. Append only;
 * never edit one that has shipped.
 */
static const char *const MIGRATIONS[] = {
	/* 1: the first schema */
	"CREATE TABLE orgs (name TEXT PRIMARY KEY, created INTEGER NOT NULL);"
	"CREATE TABLE policies (org TEXT NOT NULL REFERENCES orgs(name), version INTEGER NOT NULL,"
	"  hash TEXT NOT NULL, policy TEXT NOT NULL, created INTEGER NOT NULL,"
	"  PRIMARY KEY (org, version));"
	"CREATE TABLE bootstrap_tokens (hash TEXT PRIMARY KEY, created INTEGER NOT NULL, used INTEGER);"
	"CREATE TABLE enroll_tokens (id TEXT PRIMARY KEY, org TEXT NOT NULL REFERENCES orgs(name),"
	"  secret_hash TEXT NOT NULL UNIQUE, expires INTEGER NOT NULL, created INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL, used INTEGER, device_id TEXT);"
	"CREATE TABLE devices (id TEXT PRIMARY KEY, org TEXT NOT NULL REFERENCES orgs(name),"
	"  pubkey BLOB NOT NULL UNIQUE, hostname TEXT NOT NULL, os TEXT NOT NULL,"
	"  agent_version TEXT NOT NULL, enrolled INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	"  alarm TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE api_tokens (id TEXT PRIMARY KEY, org TEXT NOT NULL REFERENCES orgs(name),"
	"  name TEXT NOT NULL, scope TEXT NOT NULL, secret_hash TEXT NOT NULL,"
	"  expires INTEGER NOT NULL, created INTEGER NOT NULL, created_by TEXT NOT NULL);"
	"CREATE TABLE commands (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
	"  org TEXT NOT NULL, statement TEXT NOT NULL, payload BLOB NOT NULL, state TEXT NOT NULL,"
	"  signatures INTEGER NOT NULL DEFAULT 0, threshold INTEGER NOT NULL DEFAULT 0,"
	"  targets INTEGER NOT NULL DEFAULT 0, comment TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE deliveries (command_id TEXT NOT NULL, device_id TEXT NOT NULL,"
	"  status TEXT NOT NULL, exit_code INTEGER, output BLOB, duration_ms INTEGER,"
	"  reason TEXT NOT NULL DEFAULT '', result TEXT, updated INTEGER NOT NULL,"
	"  PRIMARY KEY (command_id, device_id));"
	"CREATE INDEX deliveries_by_device ON deliveries (device_id, status);"
	"CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL,"
	"  device_id TEXT NOT NULL, command_id TEXT NOT NULL, code TEXT NOT NULL,"
	"  reason TEXT NOT NULL, at INTEGER NOT NULL);",
	/* 2: the org listings read newest first */
	"CREATE INDEX commands_by_org ON commands (org, seq);"
	"CREATE INDEX alerts_by_org ON alerts (org, id);",
	/* 3: the transparency log (db-log.c) */
	"CREATE TABLE logs (id INTEGER PRIMARY KEY, org TEXT NOT NULL UNIQUE,"
	"  origin TEXT NOT NULL, skey TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	"  signed_size INTEGER NOT NULL DEFAULT -1, signed_note TEXT NOT NULL DEFAULT '',"
	"  served_size INTEGER NOT NULL DEFAULT 0, served_note TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE log_entries (log INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,"
	"  PRIMARY KEY (log, idx)) WITHOUT ROWID;"
	"CREATE TABLE log_hashes (log INTEGER NOT NULL, level INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (log, level, idx)) WITHOUT ROWID;"
	"CREATE TABLE log_witnesses (log INTEGER NOT NULL, witness TEXT NOT NULL,"
	"  size INTEGER NOT NULL DEFAULT 0, cosig TEXT NOT NULL DEFAULT '',"
	"  cosig_size INTEGER NOT NULL DEFAULT -1, cosig_time INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (log, witness));"
	"ALTER TABLE commands ADD COLUMN log_index INTEGER;"
	"CREATE INDEX commands_unlogged ON commands (org) WHERE state = 'approved' AND "
	"  log_index IS NULL;",
	/* 4: the device-signed facts note (hostname, OS) that administrators verify */
	"ALTER TABLE devices ADD COLUMN facts TEXT;",
	/* 5: when a delivery was first handed to its device */
	"ALTER TABLE deliveries ADD COLUMN offered INTEGER;",
	/* 6: approved statements held back until their not-before */
	"ALTER TABLE commands ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX commands_scheduled ON commands (not_before) WHERE state = 'scheduled';",
	/*
	 * 7: the log keys leave the database for their files (server/logkey.c);
	 * the rows keep the verifier key. Rows still holding skey are moved at
	 * start (logkey_migrate), which marks the database for db_scrub.
	 */
	"ALTER TABLE logs ADD COLUMN vkey TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE scrub_pending (since INTEGER NOT NULL);",
	/* 8: root policy N+1 (issue 9): proposals collecting signatures, and each
	 * version's log entry (version 1 has always been entry 0) */
	"CREATE TABLE policy_proposals (org TEXT NOT NULL REFERENCES orgs(name),"
	"  version INTEGER NOT NULL, hash TEXT NOT NULL, policy TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (org, hash));"
	"ALTER TABLE policies ADD COLUMN log_index INTEGER;"
	"UPDATE policies SET log_index = 0 WHERE version = 1;",
	/* 9: device re-keying (issue 9): the current key, and every binding */
	"ALTER TABLE devices ADD COLUMN cur_key BLOB;"
	"ALTER TABLE devices ADD COLUMN key_seq INTEGER NOT NULL DEFAULT 1;"
	"CREATE TABLE device_keys (device TEXT NOT NULL REFERENCES devices(id),"
	"  seq INTEGER NOT NULL, pubkey BLOB NOT NULL UNIQUE, binding TEXT NOT NULL,"
	"  created INTEGER NOT NULL, PRIMARY KEY (device, seq));",
	/*
	 * 10: log key rotation (issue 9): an org has logs, one per generation:
	 * the 'active' one takes new entries, a 'next' one waits for the root
	 * policy that names its key, a 'retired' one (ended by the policy that
	 * named its successor, version final_policy + 1) stays served and
	 * witnessed, never grows. A logged command names its log.
	 */
	"CREATE TABLE logs_v10 (id INTEGER PRIMARY KEY, org TEXT NOT NULL, gen INTEGER NOT NULL,"
	"  state TEXT NOT NULL, final_policy INTEGER, origin TEXT NOT NULL UNIQUE,"
	"  skey TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	"  signed_size INTEGER NOT NULL DEFAULT -1, signed_note TEXT NOT NULL DEFAULT '',"
	"  served_size INTEGER NOT NULL DEFAULT 0, served_note TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL, vkey TEXT NOT NULL DEFAULT '', UNIQUE (org, gen));"
	"INSERT INTO logs_v10 (id, org, gen, state, origin, skey, size, signed_size, signed_note,"
	"  served_size, served_note, created, vkey) SELECT id, org, 1, 'active', origin, skey, size,"
	"  signed_size, signed_note, served_size, served_note, created, vkey FROM logs;"
	"DROP TABLE logs;"
	"ALTER TABLE logs_v10 RENAME TO logs;"
	"CREATE UNIQUE INDEX logs_active ON logs (org) WHERE state = 'active';"
	"CREATE UNIQUE INDEX logs_next ON logs (org) WHERE state = 'next';"
	"ALTER TABLE commands ADD COLUMN log INTEGER;"
	"UPDATE commands SET log = (SELECT id FROM logs WHERE logs.org = commands.org) "
	"  WHERE log_index IS NOT NULL;",
	/* 11: each device's latest signed drift report (docs/directory.md) */
	"ALTER TABLE devices ADD COLUMN drift TEXT;"
	"ALTER TABLE devices ADD COLUMN drift_at INTEGER NOT NULL DEFAULT 0;",
	/* 12: who acknowledged an alert, and when (rampart alerts ack) */
	"ALTER TABLE alerts ADD COLUMN acked_by TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE alerts ADD COLUMN acked_at INTEGER NOT NULL DEFAULT 0;",
	/* 13: the signed cancel of a command (rampart cancel, reject) and its log entry */
	"ALTER TABLE commands ADD COLUMN cancel TEXT;"
	"ALTER TABLE commands ADD COLUMN cancel_index INTEGER;",
	/* 14: the package store (db-package.c): agent packages, in RP_PACKAGE_CHUNK pieces */
	"CREATE TABLE packages (org TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
	"  have INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL, created_by TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (org, sha256));"
	"CREATE TABLE package_chunks (org TEXT NOT NULL, sha256 TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  data BLOB NOT NULL, PRIMARY KEY (org, sha256, seq));",
};

#define NMIGRATIONS ((int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])))

/* ---- helpers ---- */

static json_int_t col_int(sqlite3_stmt *st, int i)
{
	return (json_int_t)sqlite3_column_int64(st, i);
}

/* Base64 of a blob column; "" for NULL or an empty blob. */
static json_t *col_b64(sqlite3_stmt *st, int i)
{
	char *s = rp_b64_encode(sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

/* A text column, or JSON null for SQL NULL. */
static json_t *col_text_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null()
							 : json_string(rp_sql_text(st, i));
}

/* Base64 of a blob column, or JSON null for SQL NULL. */
static json_t *col_b64_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null() : col_b64(st, i);
}

/* Number of rows the last statement changed. */
static int changed(struct db *db)
{
	return rp_sql_changes(db->h);
}

/*
 * Runs a query and collects one JSON object per row, built by row(); the
 * array becomes *ret. A json_pack failure (out of memory) is RP_E_NOMEM.
 * With max_bytes, whole rows only while the bytes of column cap_col stay
 * within it; *ret_truncated says whether rows were left.
 */
static int collect_capped(struct db *db, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *),
			  int cap_col, size_t max_bytes, json_t **ret, bool *ret_truncated)
{
	json_t *a = json_array();
	size_t bytes = 0;
	bool truncated = false;
	int r = a ? 0 : RP_E_NOMEM;

	while (r == 0 && (r = rp_sql_step(db->h, st)) == 1) {
		json_t *o;
		if (max_bytes) {
			size_t n = (size_t)sqlite3_column_bytes(st, cap_col);
			if (bytes + n > max_bytes) {
				truncated = true;
				r = 0;
				break;
			}
			bytes += n;
		}
		o = row(st);
		r = o && json_array_append_new(a, o) == 0 ? 0 : RP_E_NOMEM;
	}
	sqlite3_finalize(st);
	if (r < 0) {
		json_decref(a);
		return db_ret(db, r, "reading a listing");
	}
	*ret = a;
	if (ret_truncated)
		*ret_truncated = truncated;
	return 0;
}

static int collect(struct db *db, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), json_t **ret)
{
	return collect_capped(db, st, row, 0, 0, ret, NULL);
}

/* ---- opening ---- */

int db_open(struct db *db, const char *path, bool create)
{
	struct rp_diag d = {""};
	int from = NMIGRATIONS, r;

	if ((r = rp_sql_open(&db->h, path, create, MIGRATIONS, NMIGRATIONS, &from, &d)) < 0) {
		fprintf(stderr, "rampartd: %s\n", d.msg);
		return r;
	}
	if (from < NMIGRATIONS)
		fprintf(stderr, "rampartd: database %s: schema migrated from version %d to %d\n",
			path, from, NMIGRATIONS);
	return 0;
}

void db_close(struct db *db)
{
	db_log_release(db);
	rp_sql_close(db->h);
	db->h = NULL;
}

int db_ret(struct db *db, int r, const char *fmt, ...)
{
	va_list ap;

	if (r != RP_E_DB || !db->h || !rp_sql_errmsg(db->h)[0])
		return r;
	fprintf(stderr, "%srampartd: ", rp_log_prio(LOG_ERR));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", rp_sql_errmsg(db->h));
	rp_sql_clear(db->h);
	return r;
}

static int log_append_org(struct db *db, const char *org, const char *text, uint64_t *ret_index,
			  int64_t *ret_log);

/* ---- bootstrap tokens and orgs ---- */

int db_bootstrap_add(struct db *db, const char *hash)
{
	return db_ret(db,
		      rp_sql_exec(db->h,
				  "INSERT INTO bootstrap_tokens (hash, created) VALUES (?, ?)",
				  "ti", hash, rp_now()),
		      "storing a bootstrap token");
}

int db_bootstrap_check(struct db *db, const char *hash)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT 1 FROM bootstrap_tokens WHERE hash = ? AND used IS NULL", "t", hash);
	int r = rp_sql_step(db->h, st);

	sqlite3_finalize(st);
	return r < 0 ? db_ret(db, r, "looking up a bootstrap token") : r == 1 ? 0 : RP_E_NOTFOUND;
}

int db_org_create(struct db *db, const char *org, uint64_t version, const char *hash,
		  const char *policy, const char *bootstrap_hash)
{
	int64_t now = rp_now();
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "creating org %s", org);
	r = rp_sql_exec(db->h,
			"UPDATE bootstrap_tokens SET used = ? WHERE hash = ? AND used IS NULL",
			"it", now, bootstrap_hash);
	if (r == 0 && changed(db) != 1)
		r = RP_E_NOTFOUND;
	if (r == 0)
		r = rp_sql_exec(db->h, "INSERT INTO orgs (name, created) VALUES (?, ?)", "ti", org,
				now);
	if (r == 0)
		r = rp_sql_exec(db->h,
				"INSERT INTO policies (org, version, hash, policy, created) "
				"VALUES (?, ?, ?, ?, ?)",
				"titti", org, (int64_t)version, hash, policy, now);
	if (r == 0) /* entry 0 of the org's log: the root of trust every later entry answers to */
		r = log_append_org(db, org, policy, NULL, NULL);
	if (r == 0)
		r = rp_sql_exec(db->h,
				"UPDATE policies SET log_index = 0 WHERE org = ? AND version = 1",
				"t", org);
	return db_ret(db, rp_sql_finish(db->h, r), "creating org %s", org);
}

static const char SQL_POLICY[] = "SELECT version, hash, policy FROM policies WHERE org = ? "
				 "ORDER BY version DESC LIMIT 1";

/*
 * Steps st once and finalises it: column col of its row, malloc'd, in *ret;
 * RP_E_NOTFOUND when there is no row.
 */
static int one_text(struct db *db, sqlite3_stmt *st, int col, char **ret)
{
	int r = rp_sql_step(db->h, st);
	char *s = NULL;

	if (r == 1) {
		s = strdup(rp_sql_text(st, col));
		r = s ? 0 : RP_E_NOMEM;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = s;
	return r;
}

int db_policy_text(struct db *db, const char *org, char **ret)
{
	return db_ret(db, one_text(db, rp_sql_prep(db->h, SQL_POLICY, "t", org), 2, ret),
		      "reading the root policy of %s", org);
}

struct rp_policy *db_policy(struct db *db, const char *org)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char *text = NULL;

	if (db_policy_text(db, org, &text) < 0)
		return NULL;
	if (rp_policy_parse(text, strlen(text), &p, &d) < 0)
		fprintf(stderr, "%srampartd: stored policy of org %s does not parse: %s\n",
			rp_log_prio(LOG_ERR), org, d.msg);
	free(text);
	return p;
}

int db_policy_json(struct db *db, const char *org, json_t **ret)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, SQL_POLICY, "t", org);
	int r = rp_sql_step(db->h, st);
	json_t *j = NULL;

	if (r == 1) {
		j = json_pack("{s:s, s:I, s:s, s:s}", "org", org, "version", col_int(st, 0), "hash",
			      rp_sql_text(st, 1), "policy", rp_sql_text(st, 2));
		r = j ? 0 : RP_E_NOMEM;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = j;
	return db_ret(db, r, "reading the root policy of %s", org);
}

int db_policy_version(struct db *db, const char *org, uint64_t version, char **ret,
		      int64_t *ret_index)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT policy, log_index FROM policies WHERE org = ? AND "
				       "version = ?",
				       "ti", org, (int64_t)version);
	int r = rp_sql_step(db->h, st);
	char *s = NULL;

	if (r == 1) {
		s = strdup(rp_sql_text(st, 0));
		r = s ? 0 : RP_E_NOMEM;
		if (r == 0) {
			*ret_index = sqlite3_column_type(st, 1) == SQLITE_NULL
					     ? -1
					     : sqlite3_column_int64(st, 1);
			*ret = s;
		}
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	return db_ret(db, r, "reading version %llu of the root policy of %s",
		      (unsigned long long)version, org);
}

int db_policy_proposal(struct db *db, const char *org, const char *hash, char **ret)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h, "SELECT policy FROM policy_proposals WHERE org = ? AND hash = ?",
			    "tt", org, hash);

	return db_ret(db, one_text(db, st, 0, ret), "reading root policy proposal %s of %s", hash,
		      org);
}

int db_policy_propose(struct db *db, const char *org, uint64_t version, const char *hash,
		      const char *note)
{
	int64_t now = rp_now();
	int r = rp_sql_exec(db->h,
			    "INSERT INTO policy_proposals (org, version, hash, policy, created, "
			    "updated) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org, hash) DO UPDATE "
			    "SET policy = excluded.policy, updated = excluded.updated",
			    "tittii", org, (int64_t)version, hash, note, now, now);

	return db_ret(db, r, "storing root policy proposal %s of %s", hash, org);
}

int db_policy_publish(struct db *db, const char *org, uint64_t version, const char *hash,
		      const char *note, bool new_log, uint64_t *ret_index)
{
	uint64_t idx = 0;
	int r;

	if (strlen(note) > RP_LOG_ENTRY_MAX)
		return RP_E_TOOBIG;
	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "publishing root policy version %llu of %s",
			      (unsigned long long)version, org);
	/* The version must still be the next one: another proposal may have won meanwhile. */
	sqlite3_stmt *st =
		rp_sql_prep(db->h, "SELECT MAX(version) FROM policies WHERE org = ?", "t", org);
	r = rp_sql_step(db->h, st);
	if (r == 1)
		r = (uint64_t)sqlite3_column_int64(st, 0) + 1 == version ? 0 : RP_E_EXISTS;
	else if (r == 0)
		r = RP_E_NOTFOUND;
	sqlite3_finalize(st);
	if (r == 0)
		r = rp_sql_exec(db->h,
				"INSERT INTO policies (org, version, hash, policy, created) "
				"VALUES (?, ?, ?, ?, ?)",
				"titti", org, (int64_t)version, hash, note, rp_now());
	if (r == 0)
		r = log_append_org(db, org, note, &idx, NULL);
	if (r == 0)
		r = rp_sql_exec(db->h,
				"UPDATE policies SET log_index = ? WHERE org = ? AND version = ?",
				"iti", (int64_t)idx, org, (int64_t)version);
	/*
	 * A version naming another log key ends the log: it is the old log's
	 * last entry and the new log's first, so that each log is read whole
	 * under the policies it names (docs/formats.md, "Log key rotation").
	 */
	if (r == 0 && new_log) {
		int64_t log;
		uint64_t first;
		if ((r = db_log_switch(db, org, version - 1, &log)) == 0)
			r = db_log_append(db, log, note, strlen(note), &first);
		if (r == 0 && first != 0)
			r = RP_E_DB; /* the next log took an entry before its policy */
	}
	if (r == 0)
		r = rp_sql_exec(db->h,
				"DELETE FROM policy_proposals WHERE org = ? AND version <= ?", "ti",
				org, (int64_t)version);
	r = rp_sql_finish(db->h, r);
	if (r == 0)
		*ret_index = idx;
	return db_ret(db, r, "publishing root policy version %llu of %s",
		      (unsigned long long)version, org);
}

int db_policy_proposals(struct db *db, const char *org, uint64_t version, char ***ret,
			size_t *ret_n)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT policy FROM policy_proposals WHERE org = ? AND "
			    "version = ? ORDER BY created, hash LIMIT ?",
			    "tii", org, (int64_t)version, (int64_t)RP_POLICY_PROPOSALS_MAX);
	char **v = calloc(RP_POLICY_PROPOSALS_MAX, sizeof(*v));
	size_t n = 0;
	int r = v ? 0 : RP_E_NOMEM;

	while (r == 0 && (r = rp_sql_step(db->h, st)) == 1) {
		if (!(v[n] = strdup(rp_sql_text(st, 0))))
			r = RP_E_NOMEM;
		else
			n++, r = 0;
	}
	sqlite3_finalize(st);
	if (r < 0) {
		for (size_t i = 0; v && i < n; i++)
			free(v[i]);
		free(v);
		return db_ret(db, r, "listing root policy proposals of %s", org);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- enrolment and devices ---- */

int db_enroll_token_add(struct db *db, const char *id, const char *org, const char *secret_hash,
			int64_t expires, const char *created_by)
{
	int r = rp_sql_exec(
		db->h,
		"INSERT INTO enroll_tokens (id, org, secret_hash, expires, created, created_by) "
		"VALUES (?, ?, ?, ?, ?, ?)",
		"tttiit", id, org, secret_hash, expires, rp_now(), created_by);

	return db_ret(db, r, "storing enrolment token %s of %s", id, org);
}

int db_enroll(struct db *db, const char *secret_hash, const struct db_device *dev)
{
	int64_t now = rp_now();
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "enrolling device %s", dev->id);
	r = rp_sql_exec(db->h,
			"UPDATE enroll_tokens SET used = ?, device_id = ? WHERE org = ? AND "
			"secret_hash = ? AND used IS NULL AND expires > ?",
			"ittti", now, dev->id, dev->org, secret_hash, now);
	if (r == 0 && changed(db) != 1)
		r = RP_E_NOTFOUND;
	if (r == 0)
		r = rp_sql_exec(
			db->h,
			"INSERT INTO devices (id, org, pubkey, hostname, os, agent_version, "
			"enrolled, last_seen, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"ttbtttiit", dev->id, dev->org, dev->pub, sizeof(dev->pub), dev->hostname,
			dev->os, dev->agent_version, now, now, dev->facts);
	return db_ret(db, rp_sql_finish(db->h, r), "enrolling device %s", dev->id);
}

int db_device_facts(struct db *db, const char *id, const char *note, const struct rp_facts *f)
{
	struct rp_facts old;
	sqlite3_stmt *st = rp_sql_prep(db->h, "SELECT facts FROM devices WHERE id = ?", "t", id);
	int r = rp_sql_step(db->h, st);
	const char *prev = r == 1 ? rp_sql_text(st, 0) : NULL;

	/* never an older note over a newer one (a replay of the device's own) */
	struct rp_note *n = NULL;
	if (prev && *prev && rp_note_parse(prev, strlen(prev), &n, NULL) == 0 &&
	    rp_facts_parse_text(n->msg, n->text_len, &old, NULL) == 0 && old.time >= f->time)
		r = RP_E_CONFLICT;
	rp_note_free(n);
	sqlite3_finalize(st);
	if (r < 0)
		return r == RP_E_CONFLICT ? r : db_ret(db, r, "reading the facts of %s", id);
	r = rp_sql_exec(db->h,
			"UPDATE devices SET facts = ?, hostname = ?, os = ?, agent_version = ? "
			"WHERE id = ?",
			"ttttt", note, f->hostname, f->os, f->agent_version, id);
	return db_ret(db, r, "storing the facts of %s", id);
}

int db_enrol_logged(struct db *db, const struct db_device *dev, const char *note,
		    uint64_t *ret_index)
{
	int64_t now = rp_now();
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "enrolling device %s", dev->id);
	r = rp_sql_exec(db->h,
			"INSERT INTO devices (id, org, pubkey, hostname, os, agent_version, "
			"enrolled, last_seen, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"ttbtttiit", dev->id, dev->org, dev->pub, sizeof(dev->pub), dev->hostname,
			dev->os, dev->agent_version, now, now, dev->facts);
	if (r == 0)
		r = log_append_org(db, dev->org, note, ret_index, NULL);
	return db_ret(db, rp_sql_finish(db->h, r), "enrolling device %s", dev->id);
}

int db_device_get(struct db *db, const char *id, struct db_device *ret)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT ifnull(cur_key, pubkey), org, key_seq FROM devices WHERE id = ?",
		"t", id);
	int r = rp_sql_step(db->h, st);

	if (r == 1 && (sqlite3_column_bytes(st, 0) != 32 ||
		       strlen(rp_sql_text(st, 1)) > RP_ORG_NAME_MAX || strlen(id) > RP_ID_HEX)) {
		fprintf(stderr, "%srampartd: device %s has a malformed row; refusing it\n",
			rp_log_prio(LOG_WARNING), id);
		r = RP_E_DB;
	}
	if (r == 1) {
		memset(ret, 0, sizeof(*ret));
		memcpy(ret->pub, sqlite3_column_blob(st, 0), 32);
		memcpy(ret->org, rp_sql_text(st, 1), strlen(rp_sql_text(st, 1)) + 1);
		memcpy(ret->id, id, strlen(id) + 1);
		ret->key_seq = sqlite3_column_int64(st, 2);
		r = 0;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	return db_ret(db, r, "looking up device %s", id);
}

int db_device_in_org(struct db *db, const char *id, const char *org)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h, "SELECT 1 FROM devices WHERE id = ? AND org = ?", "tt", id, org);
	int r = rp_sql_step(db->h, st);

	sqlite3_finalize(st);
	return r < 0    ? db_ret(db, r, "looking up device %s in %s", id, org)
	       : r == 1 ? 0
			: RP_E_NOTFOUND;
}

int db_device_seen(struct db *db, const char *id)
{
	int64_t now = rp_now();

	return db_ret(db,
		      rp_sql_exec(db->h,
				  "UPDATE devices SET last_seen = ? WHERE id = ? AND last_seen < ?",
				  "iti", now, id, now - 60),
		      "noting that device %s was seen", id);
}

int db_device_rekey(struct db *db, const struct db_device *dev, const uint8_t pub[32],
		    const char *binding)
{
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "re-keying device %s", dev->id);
	/* no key of another device, first or later, and only from the key it has now */
	r = rp_sql_exec(db->h,
			"UPDATE devices SET cur_key = ?, key_seq = key_seq + 1 WHERE id = ? AND "
			"key_seq = ? AND NOT EXISTS (SELECT 1 FROM devices WHERE pubkey = ?)",
			"btib", pub, (size_t)32, dev->id, dev->key_seq, pub, (size_t)32);
	if (r == 0 && changed(db) != 1)
		r = RP_E_EXISTS;
	if (r == 0)
		r = rp_sql_exec(db->h,
				"INSERT INTO device_keys (device, seq, pubkey, binding, created) "
				"VALUES (?, ?, ?, ?, ?)",
				"tibti", dev->id, dev->key_seq + 1, pub, (size_t)32, binding,
				rp_now());
	r = rp_sql_finish(db->h, r);
	return r == RP_E_EXISTS ? r : db_ret(db, r, "re-keying device %s", dev->id);
}

int db_device_keys(struct db *db, const char *id, uint8_t (*keys)[32], int64_t *since, size_t max,
		   size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT 1 AS seq, pubkey, 0 FROM devices WHERE id = ?1 "
				       "UNION ALL SELECT seq, pubkey, created FROM device_keys "
				       "WHERE device = ?1 ORDER BY seq",
				       "t", id);
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		if (n == max || sqlite3_column_bytes(st, 1) != 32) {
			fprintf(stderr,
				"%srampartd: device %s has malformed key rows; refusing them\n",
				rp_log_prio(LOG_WARNING), id);
			r = RP_E_DB;
			break;
		}
		memcpy(keys[n], sqlite3_column_blob(st, 1), 32);
		since[n++] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	*ret_n = n;
	return db_ret(db, r, "reading the keys of device %s", id);
}

int db_command_not_before(struct db *db, const char *org, const char *id, int64_t *ret)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT not_before FROM commands WHERE org = ? AND id = ?", "tt", org, id);
	int r = rp_sql_step(db->h, st);

	*ret = r == 1 ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return r < 0 ? db_ret(db, r, "reading command %s", id) : r == 1 ? 0 : RP_E_NOTFOUND;
}

int db_device_binding(struct db *db, const char *id, int64_t seq, char **ret)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h, "SELECT binding FROM device_keys WHERE device = ? AND seq = ?",
			    "ti", id, seq);
	int r = rp_sql_step(db->h, st);

	if (r == 1)
		r = (*ret = strdup(rp_sql_text(st, 0))) ? 0 : RP_E_NOMEM;
	else if (r == 0)
		r = RP_E_NOTFOUND;
	sqlite3_finalize(st);
	return r == RP_E_NOTFOUND ? r : db_ret(db, r, "reading a key binding of %s", id);
}

/*
 * The device's key bindings, oldest first: the column KEYS_COL, whose
 * notes are apart by a byte no note holds (0x1e; rp_note_text_valid).
 */
#define KEYS_COL                                                                           \
	"(SELECT group_concat(binding, char(30)) FROM (SELECT binding FROM device_keys k " \
	"WHERE k.device = v.id ORDER BY seq))"

static json_t *col_keys(sqlite3_stmt *st, int i)
{
	const char *s = sqlite3_column_type(st, i) == SQLITE_NULL ? "" : rp_sql_text(st, i);
	json_t *a = json_array();

	while (a && *s) {
		const char *e = strchr(s, 0x1e);
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (json_array_append_new(a, json_stringn(s, n)) < 0) {
			json_decref(a);
			return NULL;
		}
		s += n + (e ? 1 : 0);
	}
	return a;
}

static json_t *device_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "id",
			 rp_sql_text(st, 0), "hostname", rp_sql_text(st, 1), "os",
			 rp_sql_text(st, 2), "agent_version", rp_sql_text(st, 3), "enrolled",
			 col_int(st, 4), "last_seen", col_int(st, 5), "alarm", rp_sql_text(st, 6),
			 "pubkey", col_b64_or_null(st, 7), "facts", col_text_or_null(st, 8), "keys",
			 col_keys(st, 9), "drift", col_text_or_null(st, 10));
}

int db_device_drift(struct db *db, const char *id, const char *note)
{
	int r = rp_sql_exec(db->h, "UPDATE devices SET drift = ?, drift_at = ? WHERE id = ?", "tit",
			    note, rp_now(), id);

	if (r == 0 && changed(db) != 1)
		r = RP_E_NOTFOUND;
	return db_ret(db, r, "storing the drift report of %s", id);
}

int db_devices_json(struct db *db, const char *org, json_t **ret)
{
	return collect(db,
		       rp_sql_prep(db->h,
				   "SELECT id, hostname, os, agent_version, enrolled, last_seen, "
				   "alarm, pubkey, facts, " KEYS_COL
				   ", drift FROM devices v WHERE org = ? "
				   "ORDER BY hostname, id",
				   "t", org),
		       device_row, ret);
}

/* ---- API tokens ---- */

int db_token_get(struct db *db, const char *id, const char *org, struct db_token *ret)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT name, scope, secret_hash, expires FROM api_tokens "
				       "WHERE id = ? AND org = ?",
				       "tt", id, org);
	int r = rp_sql_step(db->h, st);

	if (r == 1) {
		memset(ret, 0, sizeof(*ret));
		snprintf(ret->name, sizeof(ret->name), "%s", rp_sql_text(st, 0));
		snprintf(ret->scope, sizeof(ret->scope), "%s", rp_sql_text(st, 1));
		snprintf(ret->secret_hash, sizeof(ret->secret_hash), "%s", rp_sql_text(st, 2));
		ret->expires = sqlite3_column_int64(st, 3);
		r = 0;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	return db_ret(db, r, "looking up API token %s of %s", id, org);
}

int db_token_add(struct db *db, const char *id, const char *org, const char *name,
		 const char *scope, const char *secret_hash, int64_t expires,
		 const char *created_by)
{
	int r = rp_sql_exec(db->h,
			    "INSERT INTO api_tokens (id, org, name, scope, secret_hash, expires, "
			    "created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			    "tttttiit", id, org, name, scope, secret_hash, expires, rp_now(),
			    created_by);

	return db_ret(db, r, "storing API token %s of %s", id, org);
}

static json_t *token_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", rp_sql_text(st, 0), "name",
			 rp_sql_text(st, 1), "scope", rp_sql_text(st, 2), "expires", col_int(st, 3),
			 "created", col_int(st, 4), "created_by", rp_sql_text(st, 5));
}

int db_tokens_json(struct db *db, const char *org, json_t **ret)
{
	return collect(db,
		       rp_sql_prep(db->h,
				   "SELECT id, name, scope, expires, created, created_by "
				   "FROM api_tokens WHERE org = ? ORDER BY created, id",
				   "t", org),
		       token_row, ret);
}

int db_token_revoke(struct db *db, const char *id, const char *org)
{
	int r = rp_sql_exec(db->h, "DELETE FROM api_tokens WHERE id = ? AND org = ?", "tt", id,
			    org);

	return r < 0              ? db_ret(db, r, "revoking API token %s of %s", id, org)
	       : changed(db) == 0 ? RP_E_NOTFOUND
				  : 0;
}

/* The malloc'd array v of n elements of size grown by a zeroed one; NULL when out of memory. */
static void *row_grow(void *v, size_t n, size_t size)
{
	char *nv = realloc(v, (n + 1) * size);

	if (nv)
		memset(nv + n * size, 0, size);
	return nv;
}

/* The org's API tokens, oldest first, into a malloc'd array (inside the caller's transaction). */
static int token_rows(struct db *db, const char *org, struct db_token_row **ret, size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT id, name, scope, created_by, expires, created "
				       "FROM api_tokens WHERE org = ? ORDER BY created, id",
				       "t", org);
	struct db_token_row *v = NULL, *nv, *t;
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		if (!(nv = row_grow(v, n, sizeof(*v)))) {
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		t = &v[n++];
		snprintf(t->id, sizeof(t->id), "%s", rp_sql_text(st, 0));
		snprintf(t->name, sizeof(t->name), "%s", rp_sql_text(st, 1));
		snprintf(t->scope, sizeof(t->scope), "%s", rp_sql_text(st, 2));
		snprintf(t->created_by, sizeof(t->created_by), "%s", rp_sql_text(st, 3));
		t->expires = sqlite3_column_int64(st, 4);
		t->created = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Inserts row's replacement when reissue gives it a hash (inside the caller's transaction). */
static int token_reissue(struct db *db, const char *org, int64_t now, db_reissue_fn reissue,
			 void *arg, const char *by, struct db_token_row *row)
{
	int64_t life = row->expires - row->created;
	char hash[72] = "", id[RP_ID_HEX + 1];
	int r;

	if (row->expires <= now || life <= 0)
		return 0; /* expired or malformed: revoked, never brought back */
	if ((r = reissue(arg, row, hash)) < 0 || !hash[0])
		return r;
	if (life > RP_API_TOKEN_TTL_MAX_S)
		life = RP_API_TOKEN_TTL_MAX_S;
	rp_random_hex(id, RP_ID_HEX / 2);
	r = rp_sql_exec(db->h,
			"INSERT INTO api_tokens (id, org, name, scope, secret_hash, expires, "
			"created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			"tttttiit", id, org, row->name, row->scope, hash, now + life, now, by);
	if (r == 0) {
		memcpy(row->new_id, id, sizeof(id));
		row->new_expires = now + life;
	}
	return r;
}

int db_tokens_rotate(struct db *db, const char *org, int64_t now, db_reissue_fn reissue, void *arg,
		     const char *by, struct db_token_row **ret, size_t *ret_n)
{
	struct db_token_row *v = NULL;
	size_t n = 0;
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "rotating the API tokens of %s", org);
	/* BEGIN IMMEDIATE: no other writer between the read and the delete. */
	if ((r = token_rows(db, org, &v, &n)) == 0)
		r = rp_sql_exec(db->h, "DELETE FROM api_tokens WHERE org = ?", "t", org);
	for (size_t i = 0; r == 0 && reissue && i < n; i++)
		r = token_reissue(db, org, now, reissue, arg, by, &v[i]);
	if ((r = rp_sql_finish(db->h, r)) < 0) {
		free(v);
		return db_ret(db, r, "rotating the API tokens of %s", org);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int db_enroll_tokens_revoke(struct db *db, const char *org, const char *id,
			    struct db_enroll_row **ret, size_t *ret_n)
{
	static const char sql[] =
		"SELECT id, created_by, expires, created, used FROM enroll_tokens "
		"WHERE org = ? AND (used IS NULL OR id = ?) ORDER BY created, id";
	struct db_enroll_row *v = NULL, *nv, *e;
	sqlite3_stmt *st;
	size_t n = 0;
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "revoking the enrolment tokens of %s", org);
	st = rp_sql_prep(db->h, sql, "tt", org, id ? id : "");
	while ((r = rp_sql_step(db->h, st)) == 1) {
		if (id && strcmp(rp_sql_text(st, 0), id) != 0)
			continue;
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			r = RP_E_EXISTS; /* only id's row can be a used one */
			break;
		}
		if (!(nv = row_grow(v, n, sizeof(*v)))) {
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		e = &v[n++];
		snprintf(e->id, sizeof(e->id), "%s", rp_sql_text(st, 0));
		snprintf(e->created_by, sizeof(e->created_by), "%s", rp_sql_text(st, 1));
		e->expires = sqlite3_column_int64(st, 2);
		e->created = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (r == 0 && id && n == 0)
		r = RP_E_NOTFOUND;
	if (r == 0)
		r = rp_sql_exec(db->h,
				id ? "DELETE FROM enroll_tokens WHERE org = ? AND used IS NULL AND "
				     "id = ?"
				   : "DELETE FROM enroll_tokens WHERE org = ? AND used IS NULL",
				id ? "tt" : "t", org, id);
	if ((r = rp_sql_finish(db->h, r)) < 0) {
		free(v);
		return db_ret(db, r, "revoking the enrolment tokens of %s", org);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- commands ---- */

/* A 'pending' delivery for every target that has none yet. */
/* Appends text to the org's log (inside the caller's transaction). */
static int log_append_org(struct db *db, const char *org, const char *text, uint64_t *ret_index,
			  int64_t *ret_log)
{
	struct db_log lg;
	uint64_t idx;
	int r;

	if ((r = db_log_get(db, org, &lg)) < 0) {
		if (r == RP_E_NOTFOUND)
			fprintf(stderr, "rampartd: org %s has no log key (rampartd log-key)\n",
				org);
		return r;
	}
	if ((r = db_log_append(db, lg.id, text, strlen(text), &idx)) < 0)
		return r;
	if (ret_index)
		*ret_index = idx;
	if (ret_log)
		*ret_log = lg.id;
	return 0;
}

/* An approved command goes into the org's active log, once: its entry is what agents run. */
/*
 * The org's logged entries that make the directory, in log order: directory
 * statements and enrolment notes (lib/enroll.h). Each row's column 0 is the entry.
 */
#define DIRECTORY_ENTRIES                                                                   \
	"SELECT e.data FROM log_entries e JOIN logs l ON l.id = e.log WHERE l.org = ? AND " \
	"substr(CAST(e.data AS TEXT), 1, 21) IN ('rampart/directory/v1' || char(10), "      \
	"'rampart/enrolment/v1' || char(10)) ORDER BY e.log, e.idx"

/* Folds one such entry into s (under p when there is one); what does not parse is skipped. */
static void directory_fold_entry(struct rp_dir_state *s, const struct rp_policy *p, const void *e,
				 size_t n)
{
	struct rp_dir_stmt *ds = NULL;
	bool applied;

	if (rp_entry_is_enrolment(e, n)) {
		rp_dir_enrol_fold(s, e, n, &applied, NULL, NULL);
		return;
	}
	if (rp_dir_stmt_parse(e, n, &ds, NULL) == 0) {
		if (p)
			rp_dir_fold(s, ds, e, n, p, 0, &applied, NULL, NULL);
		else
			rp_dir_apply(s, ds, e, n, true, NULL);
	}
	rp_dir_stmt_free(ds);
}

/* The logged directory statements of org, in log order: each row's column 0 is the entry. */
static sqlite3_stmt *directory_entries(struct db *db, const char *org, bool newest_first)
{
	return rp_sql_prep(
		db->h,
		newest_first
			? "SELECT e.data FROM commands c JOIN log_entries e ON e.log = c.log "
			  "AND e.idx = c.log_index WHERE c.org = ? AND c.log_index >= 0 AND "
			  "substr(CAST(c.statement AS TEXT), 1, 21) = 'rampart/directory/v1' || char(10) "
			  "ORDER BY c.log DESC, c.log_index DESC LIMIT 1"
			: "SELECT e.data FROM commands c JOIN log_entries e ON e.log = c.log "
			  "AND e.idx = c.log_index WHERE c.org = ? AND c.log_index >= 0 AND "
			  "substr(CAST(c.statement AS TEXT), 1, 21) = 'rampart/directory/v1' || char(10) "
			  "ORDER BY c.log, c.log_index",
		"t", org);
}

int db_directory_state(struct db *db, const char *org, struct rp_dir_state *ret)
{
	struct rp_policy *p = db_policy(db, org);
	sqlite3_stmt *st = rp_sql_prep(db->h, DIRECTORY_ENTRIES, "t", org);
	int r;

	rp_dir_state_init(ret, org);
	/* what was logged passed these checks when it was: a row that does not is skipped */
	while ((r = rp_sql_step(db->h, st)) == 1)
		directory_fold_entry(ret, p, sqlite3_column_blob(st, 0),
				     (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	rp_policy_free(p);
	if (r < 0)
		rp_dir_state_release(ret);
	return db_ret(db, r, "folding the directory of %s", org);
}

/*
 * A directory statement is logged only as the next version, chained to
 * the last directory entry, and before its expiry: agents fold every
 * directory entry, so one signed against an older directory, or held back
 * past its time, must never enter the log (RP_E_CONFLICT).
 */
static int directory_check(struct db *db, const char *org, const char *statement, bool later_ok)
{
	struct rp_dir_stmt *ds = NULL, *last = NULL;
	sqlite3_stmt *st;
	uint8_t head[32] = {0};
	uint64_t version = 0;
	int r;

	if (!rp_entry_is_directory((const uint8_t *)statement, strlen(statement)))
		return 0;
	if (rp_dir_stmt_parse(statement, strlen(statement), &ds, NULL) < 0)
		return RP_E_MALFORMED;
	st = directory_entries(db, org, true);
	if ((r = rp_sql_step(db->h, st)) == 1) {
		const void *e = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (rp_dir_stmt_parse(e, n, &last, NULL) == 0) {
			version = last->version;
			rp_dir_stmt_hash(last, e, n, head);
		}
		r = 0;
	}
	sqlite3_finalize(st);
	/* a later part of a change, waiting for the parts before it: judged when they are logged */
	if (r == 0 && later_ok && ds->version > version + 1 && ds->expires > rp_now())
		goto out;
	if (r == 0 &&
	    (ds->version != version + 1 || (!ds->first && memcmp(ds->previous, head, 32)))) {
		fprintf(stderr,
			"rampartd: org %s: directory statement %s makes version %llu, but the "
			"directory is at version %llu%s: not logged\n",
			org, ds->id, (unsigned long long)ds->version, (unsigned long long)version,
			ds->version == version + 1 ? " with another last entry" : "");
		r = RP_E_CONFLICT;
	} else if (r == 0 && ds->expires <= rp_now()) {
		fprintf(stderr, "%srampartd: org %s: directory statement %s expired: not logged\n",
			rp_log_prio(LOG_WARNING), org, ds->id);
		r = RP_E_CONFLICT;
	}
out:
	rp_dir_stmt_free(ds);
	rp_dir_stmt_free(last);
	return r;
}

int db_directory_next(struct db *db, const char *org, const char *statement)
{
	return db_ret(db, directory_check(db, org, statement, true),
		      "checking a directory statement of %s", org);
}

/* A cancelled or rejected command is never logged, whoever marked it approved since. */
static int command_cancelled(struct db *db, const char *org, const char *id)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT 1 FROM commands WHERE id = ? AND org = ? AND "
				       "(cancel IS NOT NULL OR state IN ('cancelled', 'rejected'))",
				       "tt", id, org);
	int r = rp_sql_step(db->h, st);

	sqlite3_finalize(st);
	return r < 0 ? r : r == 1 ? RP_E_CONFLICT : 0;
}

static int log_command(struct db *db, const struct rp_command *c, const char *statement)
{
	uint64_t idx;
	int64_t log = 0;
	int r = command_cancelled(db, c->org, c->id);

	if (r == RP_E_CONFLICT)
		fprintf(stderr, "rampartd: org %s: command %s is cancelled: never logged\n", c->org,
			c->id);
	if (r == 0)
		r = directory_check(db, c->org, statement, false);

	if (r == 0)
		r = log_append_org(db, c->org, statement, &idx, &log);

	if (r == 0)
		r = rp_sql_exec(
			db->h,
			"UPDATE commands SET log_index = ?, log = ? WHERE id = ? AND org = ? "
			"AND log_index IS NULL",
			"iitt", (int64_t)idx, log, c->id, c->org);
	if (r == 0 && changed(db) != 1)
		r = RP_E_EXISTS;
	return r;
}

/*
 * A delivery row per target: each device id; every device of the org for
 * a directory statement or `target all'; for a device group or a tag, the
 * devices this server's fold of the directory puts there. That fold is
 * only where to deliver: each agent resolves the target against the
 * directory it verified itself, and runs nothing the signed membership
 * does not give it.
 */
static int add_deliveries(struct db *db, const struct rp_command *c)
{
	struct rp_dir_state ds;
	int r = 0;

	if (c->all_devices)
		return rp_sql_exec(
			db->h,
			"INSERT OR IGNORE INTO deliveries (command_id, device_id, status, "
			"updated) SELECT ?, id, 'pending', ? FROM devices WHERE org = ?",
			"tit", c->id, rp_now(), c->org);
	for (size_t i = 0; r == 0 && i < c->ntargets; i++)
		if (rp_id_valid(c->targets[i], strlen(c->targets[i])))
			r = rp_sql_exec(db->h,
					"INSERT OR IGNORE INTO deliveries (command_id, device_id, "
					"status, updated) VALUES (?, ?, 'pending', ?)",
					"tti", c->id, c->targets[i], rp_now());
	if (r < 0 || !c->by_directory)
		return r;
	if ((r = db_directory_state(db, c->org, &ds)) < 0)
		return r;
	for (size_t k = 0; r == 0 && k < ds.dir.ndevices; k++)
		if (rp_dir_command_targets(&ds.dir, c, ds.dir.devices[k]->id))
			r = rp_sql_exec(db->h,
					"INSERT OR IGNORE INTO deliveries (command_id, device_id, "
					"status, updated) SELECT ?, id, 'pending', ? FROM devices "
					"WHERE id = ? AND org = ?",
					"titt", c->id, rp_now(), ds.dir.devices[k]->id, c->org);
	rp_dir_state_release(&ds);
	return r;
}

static const char *command_state(const struct db_command *c)
{
	return !c->approved ? "pending-approval" : c->scheduled ? "scheduled" : "approved";
}

/*
 * A scheduled command is logged later, by the sequencer, so what would
 * refuse its append then is refused now, to the approving administrator:
 * an org without a log, a statement too large for an entry.
 */
static int schedule_check(struct db *db, const struct rp_command *c, const char *statement)
{
	struct db_log lg;
	int r;

	if (strlen(statement) > RP_LOG_ENTRY_MAX)
		return RP_E_TOOBIG;
	if ((r = db_log_get(db, c->org, &lg)) == RP_E_NOTFOUND)
		fprintf(stderr, "rampartd: org %s has no log key (rampartd log-key)\n", c->org);
	return r;
}

int db_command_insert(struct db *db, const struct db_command *c)
{
	const struct rp_command *k = c->cmd;
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "storing command %s", k->id);
	r = rp_sql_exec(db->h,
			"INSERT INTO commands (id, org, statement, payload, state, signatures, "
			"threshold, targets, comment, expires, created, not_before) "
			"VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
			"tttbtiiitiii", k->id, k->org, c->statement, c->payload, c->payload_len,
			command_state(c), (int64_t)c->signatures, (int64_t)c->threshold,
			(int64_t)k->ntargets, k->comment, k->expires, rp_now(), k->not_before);
	if (r == 0)
		r = add_deliveries(db, k);
	if (r == 0 && c->approved)
		r = c->scheduled ? schedule_check(db, k, c->statement)
				 : log_command(db, k, c->statement);
	return db_ret(db, rp_sql_finish(db->h, r), "storing command %s", k->id);
}

int db_command_statement(struct db *db, const char *org, const char *id, char **ret,
			 bool *ret_approved)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h, "SELECT statement, state FROM commands WHERE id = ? AND org = ?",
			    "tt", id, org);
	int r = rp_sql_step(db->h, st);
	char *s = NULL;

	if (r == 1) {
		s = strdup(rp_sql_text(st, 0));
		r = s ? 0 : RP_E_NOMEM;
		if (r == 0) { /* scheduled is approved, only held back */
			*ret_approved = strcmp(rp_sql_text(st, 1), "approved") == 0 ||
					strcmp(rp_sql_text(st, 1), "scheduled") == 0;
			*ret = s;
		}
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	return db_ret(db, r, "reading command %s", id);
}

int db_command_sign(struct db *db, const struct db_command *c)
{
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "storing the signatures of command %s", c->cmd->id);
	r = rp_sql_exec(db->h,
			"UPDATE commands SET statement = ?, signatures = ?, threshold = ? "
			"WHERE id = ? AND org = ?",
			"tiitt", c->statement, (int64_t)c->signatures, (int64_t)c->threshold,
			c->cmd->id, c->cmd->org);
	if (r == 0 && changed(db) != 1)
		r = RP_E_NOTFOUND;
	/* Only the approval itself moves the state: a later signature on a
	 * scheduled command must not make it 'approved' (and so logged) early. */
	if (r == 0 && c->approved && !c->was_approved)
		r = rp_sql_exec(db->h,
				"UPDATE commands SET state = ?, not_before = ? WHERE id = ? AND "
				"org = ? AND state = 'pending-approval'",
				"titt", command_state(c), c->cmd->not_before, c->cmd->id,
				c->cmd->org);
	if (r == 0 && c->approved)
		r = add_deliveries(db, c->cmd);
	if (r == 0 && c->approved && (!c->was_approved || c->scheduled))
		r = c->scheduled ? schedule_check(db, c->cmd, c->statement)
				 : log_command(db, c->cmd, c->statement);
	return db_ret(db, rp_sql_finish(db->h, r), "storing the signatures of command %s",
		      c->cmd->id);
}

int db_command_cancel(struct db *db, const char *org, const char *id, const char *note, bool reject,
		      uint64_t *ret_index)
{
	uint64_t idx = 0;
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "cancelling command %s", id);
	r = command_cancelled(db, org, id);
	if (r == RP_E_CONFLICT)
		r = RP_E_EXISTS;
	if (r == 0)
		r = log_append_org(db, org, note, &idx, NULL);
	if (r == 0)
		r = rp_sql_exec(db->h,
				"UPDATE commands SET state = ?, cancel = ?, cancel_index = ? "
				"WHERE id = ? AND org = ?",
				"ttitt", reject ? "rejected" : "cancelled", note, (int64_t)idx, id,
				org);
	if (r == 0 && changed(db) != 1)
		r = RP_E_NOTFOUND;
	/* what was still to be handed out never is; the signed cancel is the proof */
	if (r == 0)
		r = rp_sql_exec(
			db->h,
			"UPDATE deliveries SET status = ?, updated = ? WHERE command_id = ? "
			"AND status = 'pending'",
			"tit", reject ? "rejected" : "cancelled", rp_now(), id);
	if ((r = rp_sql_finish(db->h, r)) == 0 && ret_index)
		*ret_index = idx;
	return db_ret(db, r, "cancelling command %s", id);
}

int db_command_cancel_note(struct db *db, const char *org, const char *id, char **ret)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h,
		"SELECT cancel FROM commands WHERE id = ? AND org = ? AND cancel IS NOT NULL", "tt",
		id, org);
	int r = rp_sql_step(db->h, st);
	char *s = NULL;

	if (r == 1 && !(s = strdup(rp_sql_text(st, 0))))
		r = RP_E_NOMEM;
	sqlite3_finalize(st);
	if (r < 0)
		return db_ret(db, r, "reading the cancel of %s", id);
	*ret = s;
	return 0;
}

int db_command_is_cancelled(struct db *db, const char *org, const char *id)
{
	int r = command_cancelled(db, org, id);

	return r == RP_E_CONFLICT ? 1 : r < 0 ? db_ret(db, r, "reading command %s", id) : 0;
}

int db_command_final(struct db *db, const char *org, const char *id, size_t *ret_open)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT count(*) FROM deliveries d JOIN commands c ON "
				       "c.id = d.command_id WHERE c.id = ? AND c.org = ? AND "
				       "d.status IN ('pending', 'running')",
				       "tt", id, org);
	int r = rp_sql_step(db->h, st);

	if (r == 1)
		*ret_open = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == 1 ? 0 : db_ret(db, r < 0 ? r : RP_E_DB, "reading deliveries of %s", id);
}

int db_command_json(struct db *db, const char *org, const char *id, json_t **ret)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT state, statement, payload, signatures, threshold, "
			    "not_before, expires, cancel FROM commands WHERE id = ? AND org = ?",
			    "tt", id, org);
	int r = rp_sql_step(db->h, st);
	json_t *j = NULL;

	if (r == 1) {
		j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:o}", "id", id, "state",
			      rp_sql_text(st, 0), "statement", rp_sql_text(st, 1), "payload",
			      col_b64(st, 2), "signatures", col_int(st, 3), "threshold",
			      col_int(st, 4), "not_before", col_int(st, 5), "expires",
			      col_int(st, 6), "cancel", col_text_or_null(st, 7));
		r = j ? 0 : RP_E_NOMEM;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = j;
	return db_ret(db, r, "reading command %s", id);
}

static json_t *command_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:o}", "id",
			 rp_sql_text(st, 0), "state", rp_sql_text(st, 1), "created", col_int(st, 2),
			 "signatures", col_int(st, 3), "threshold", col_int(st, 4), "targets",
			 col_int(st, 5), "comment", rp_sql_text(st, 6), "statement",
			 rp_sql_text(st, 7), "not_before", col_int(st, 8), "expires",
			 col_int(st, 9), "cancel", col_text_or_null(st, 10));
}

int db_commands_json(struct db *db, const char *org, size_t limit, size_t max_bytes, json_t **ret,
		     bool *ret_truncated)
{
	/* Newest first; the statements (column 7) fill at most max_bytes. */
	return collect_capped(
		db,
		rp_sql_prep(db->h,
			    "SELECT id, state, created, signatures, threshold, "
			    "targets, comment, statement, not_before, expires, "
			    "cancel FROM commands WHERE org = ? ORDER BY seq DESC LIMIT ?",
			    "ti", org, (int64_t)limit),
		command_row, 7, max_bytes, ret, ret_truncated);
}

/*
 * What a pending delivery is: 'expired' once expires has passed (this
 * server's clock, the same second from which it stops offering it and
 * agents refuse it) unless it was handed to the device before, which may
 * have started it in time: that one is 'delivered' until the device
 * reports. A running delivery stays 'running' whatever the time: it was
 * started, so it is never shown expired.
 */
static const char *pending_status(const char *cstate, int64_t expires, bool offered,
				  int64_t offered_at)
{
	if (expires && rp_now() >= expires && (!offered || offered_at >= expires))
		return "expired";
	if (!strcmp(cstate, "scheduled"))
		return "scheduled";
	return offered ? "delivered" : "pending";
}

static json_t *result_row(sqlite3_stmt *st)
{
	const char *status = rp_sql_text(st, 2);
	int64_t expires = sqlite3_column_int64(st, 8);
	json_t *exit_code = sqlite3_column_type(st, 3) == SQLITE_NULL
				    ? json_null()
				    : json_integer(col_int(st, 3));

	if (!strcmp(status, "pending"))
		status = pending_status(rp_sql_text(st, 13), expires,
					sqlite3_column_type(st, 12) != SQLITE_NULL,
					sqlite3_column_int64(st, 12));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "device",
			 rp_sql_text(st, 0), "hostname", rp_sql_text(st, 1), "status", status,
			 "exit_code", exit_code, "output", col_b64(st, 4), "duration_ms",
			 col_int(st, 5), "updated", col_int(st, 6), "reason", rp_sql_text(st, 7),
			 "note", col_text_or_null(st, 9), "pubkey", col_b64_or_null(st, 10),
			 "facts", col_text_or_null(st, 11), "keys", col_keys(st, 14));
}

int db_results_json(struct db *db, const char *org, const char *id, json_t **ret)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, "SELECT 1 FROM commands WHERE id = ? AND org = ?",
				       "tt", id, org);
	int r = rp_sql_step(db->h, st);

	sqlite3_finalize(st);
	if (r <= 0)
		return r < 0 ? db_ret(db, r, "reading command %s", id) : RP_E_NOTFOUND;
	/* The device's key and signed facts only from its own org. */
	return collect(db,
		       rp_sql_prep(db->h,
				   "SELECT d.device_id, ifnull(v.hostname, ''), d.status, "
				   "d.exit_code, d.output, ifnull(d.duration_ms, 0), d.updated, "
				   "d.reason, c.expires, d.result, v.pubkey, v.facts, d.offered, "
				   "c.state, " KEYS_COL " FROM commands c "
				   "JOIN deliveries d ON d.command_id = c.id "
				   "LEFT JOIN devices v ON v.id = d.device_id AND v.org = c.org "
				   "WHERE c.id = ? AND c.org = ? ORDER BY v.hostname, d.device_id",
				   "tt", id, org),
		       result_row, ret);
}

static json_t *alert_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "device", rp_sql_text(st, 0),
			 "command", rp_sql_text(st, 1), "code", rp_sql_text(st, 2), "reason",
			 rp_sql_text(st, 3), "at", col_int(st, 4), "id", col_int(st, 5), "acked_by",
			 rp_sql_text(st, 6), "acked_at", col_int(st, 7));
}

int db_directory_json(struct db *db, const char *org, uint64_t from, size_t max_bytes, json_t **ret,
		      bool *ret_more)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, DIRECTORY_ENTRIES " LIMIT -1 OFFSET ?", "ti", org,
				       (int64_t)from);
	json_t *a = json_array();
	size_t bytes = 0;
	int r;

	*ret_more = false;
	while (a && (r = rp_sql_step(db->h, st)) == 1) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (bytes + n > max_bytes || json_array_size(a) == RP_DIR_ANSWER_ENTRIES) {
			*ret_more = true;
			break;
		}
		bytes += n;
		if (json_array_append_new(a, json_stringn(sqlite3_column_blob(st, 0), n)) < 0)
			r = RP_E_NOMEM;
	}
	if (!a)
		r = RP_E_NOMEM;
	sqlite3_finalize(st);
	if (r < 0) {
		json_decref(a);
		return db_ret(db, r, "listing the directory of %s", org);
	}
	*ret = a;
	return 0;
}

int db_alerts_json(struct db *db, const char *org, json_t **ret)
{
	return collect(db,
		       rp_sql_prep(db->h,
				   "SELECT device_id, command_id, code, reason, at, id, acked_by, "
				   "acked_at FROM alerts WHERE org = ? ORDER BY id DESC LIMIT 1000",
				   "t", org),
		       alert_row, ret);
}

int db_alert_ack(struct db *db, const char *org, int64_t id, const char *who, int64_t at,
		 int *ret_n)
{
	int r = id > 0 ? rp_sql_exec(db->h,
				     "UPDATE alerts SET acked_by = ?, acked_at = ? WHERE org = ? "
				     "AND id = ? AND acked_at = 0",
				     "titi", who, at, org, id)
		       : rp_sql_exec(db->h,
				     "UPDATE alerts SET acked_by = ?, acked_at = ? WHERE org = ? "
				     "AND acked_at = 0",
				     "tit", who, at, org);

	if (r < 0)
		return db_ret(db, r, "acknowledging alerts of %s", org);
	*ret_n = changed(db);
	return 0;
}

/* ---- agents ---- */

/* Columns id, statement, payload, log index, log id: a delivery of db.h's form. */
static int delivery_row(struct db *db, sqlite3_stmt *st, json_t **ret)
{
	int r = rp_sql_step(db->h, st);
	json_t *j = NULL;

	if (r == 1) {
		j = json_pack("{s:s, s:s, s:o, s:I, s:I}", "command", rp_sql_text(st, 0),
			      "statement", rp_sql_text(st, 1), "payload", col_b64(st, 2), "index",
			      col_int(st, 3), "log", col_int(st, 4));
		r = j ? 0 : RP_E_NOMEM;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = j;
	return db_ret(db, r, "reading a delivery");
}

int db_next_delivery(struct db *db, const char *device, int64_t log, json_t **ret)
{
	/*
	 * A command is offered until its expiry by this server's clock, and
	 * never from then on: agents refuse it from expires on with no skew
	 * allowance, and its results show 'expired' from the same second, so
	 * what is shown expired never runs. Rows without an expiry (0) are
	 * delivered and left to the agent to judge.
	 */
	/*
	 * A logged command is offered once the served (witnessed) checkpoint
	 * covers its entry, and what is offered is the entry, byte for byte;
	 * deliveries go in log order, which is the order agents accept.
	 * A row without a log index was never approved through the API (it
	 * was written behind the server's back): it is served as it is, with
	 * no proof, and the agent refuses it.
	 */
	sqlite3_stmt *st = rp_sql_prep(
		db->h,
		"SELECT c.id, coalesce(e.data, c.statement), c.payload, "
		"ifnull(c.log_index, -1), l.id FROM deliveries d "
		"JOIN commands c ON c.id = d.command_id "
		"LEFT JOIN logs l ON l.id = c.log "
		"LEFT JOIN log_entries e ON e.log = l.id AND e.idx = c.log_index "
		"WHERE d.device_id = ? AND c.state = 'approved' "
		"AND d.status IN ('pending', 'running') "
		"AND (c.expires = 0 OR c.expires > ?) "
		"AND (c.log_index IS NULL OR (c.log = ? AND c.log_index < l.served_size)) "
		"ORDER BY ifnull(c.log_index, -1), c.seq LIMIT 1",
		"tii", device, rp_now(), log);
	return delivery_row(db, st, ret);
}

int db_log_targets(struct db *db, int64_t log, uint64_t from, uint64_t to, db_device_fn fn,
		   void *arg)
{
	/* devices with an open delivery of a command logged at [from, to) of log */
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT DISTINCT d.device_id FROM commands c "
			    "JOIN deliveries d ON d.command_id = c.id "
			    "WHERE c.log = ? AND c.log_index >= ? AND c.log_index < ? "
			    "AND c.state = 'approved' AND d.status IN ('pending', 'running')",
			    "iii", log, (int64_t)from, (int64_t)to);
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1)
		fn(arg, rp_sql_text(st, 0));
	sqlite3_finalize(st);
	return r < 0 ? db_ret(db, r, "finding the devices of log entries") : 0;
}

/*
 * The rows db_log_approved appends: approved ones never logged (written
 * behind the API's back), then scheduled ones now due, by not-before and
 * then approval order, so that statements due at the same time, or all
 * found due after a restart, enter the log in the order they were meant
 * to run.
 */
static const char SQL_TO_LOG[] =
	"SELECT id, statement, 0, seq, 0 FROM commands WHERE org = ?1 AND state = 'approved' AND "
	"log_index IS NULL "
	"UNION ALL SELECT id, statement, not_before, seq, 1 FROM commands WHERE state = 'scheduled' "
	"AND not_before <= ?2 AND org = ?1 ";

struct to_log {
	char id[RP_ID_HEX + 1];
	char *statement;
	bool due; /* scheduled, now due */
};

int db_log_approved(struct db *db, const char *org, int64_t now, size_t *ret_unlogged,
		    size_t *ret_due)
{
	char sql[sizeof(SQL_TO_LOG) + 64];
	struct to_log *v = NULL;
	sqlite3_stmt *st;
	size_t n = 0, due = 0;
	int r;

	/* Called on every run of the sequencer: a read on partial indexes, and a write only when
	 * there is work. */
	snprintf(sql, sizeof(sql), "%sLIMIT 1", SQL_TO_LOG);
	st = rp_sql_prep(db->h, sql, "ti", org, now);
	r = rp_sql_step(db->h, st);
	sqlite3_finalize(st);
	if (r <= 0) {
		*ret_unlogged = *ret_due = 0;
		return db_ret(db, r, "looking for unlogged or due commands of %s", org);
	}
	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "logging the approved commands of %s", org);
	snprintf(sql, sizeof(sql), "%sORDER BY 3, 4 LIMIT 1000", SQL_TO_LOG);
	st = rp_sql_prep(db->h, sql, "ti", org, now);
	while ((r = rp_sql_step(db->h, st)) == 1) {
		struct to_log *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		snprintf(v[n].id, sizeof(v[n].id), "%s", rp_sql_text(st, 0));
		v[n].due = sqlite3_column_int(st, 4) == 1;
		if (!(v[n].statement = strdup(rp_sql_text(st, 1)))) {
			r = RP_E_NOMEM;
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct rp_command c = {0};
		snprintf(c.id, sizeof(c.id), "%s", v[i].id);
		snprintf(c.org, sizeof(c.org), "%s", org);
		r = log_command(db, &c, v[i].statement);
		if (r == RP_E_TOOBIG || r == RP_E_CONFLICT) {
			/* cannot be an entry (too large, or a directory statement out of its
			 * chain or time): never logged, so never accepted */
			if (r == RP_E_TOOBIG)
				fprintf(stderr,
					"rampartd: org %s: command %s is too large for the log\n",
					org, c.id);
			r = rp_sql_exec(
				db->h,
				"UPDATE commands SET log_index = -1 WHERE id = ? AND org = ?", "tt",
				c.id, org);
		}
		if (r == 0 && v[i].due)
			r = rp_sql_exec(db->h,
					"UPDATE commands SET state = 'approved' WHERE id = ? AND "
					"org = ? AND state = 'scheduled'",
					"tt", c.id, org);
		due += v[i].due;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].statement);
	free(v);
	if ((r = rp_sql_finish(db->h, r)) == 0) {
		*ret_unlogged = n - due;
		*ret_due = due;
	}
	return db_ret(db, r, "logging the approved commands of %s", org);
}

int db_next_scheduled(struct db *db, int64_t *ret_not_before)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT min(c.not_before) FROM commands c JOIN logs l "
				       "ON l.org = c.org AND l.state = 'active' WHERE c.state = "
				       "'scheduled'",
				       "");
	int r = rp_sql_step(db->h, st);

	if (r == 1 && sqlite3_column_type(st, 0) == SQLITE_NULL)
		r = 0;
	if (r == 1)
		*ret_not_before = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == 1   ? 0
	       : r == 0 ? RP_E_NOTFOUND
			: db_ret(db, r, "finding the next scheduled command");
}

int db_command_delivery(struct db *db, const char *org, const char *id, json_t **ret)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT c.id, e.data, c.payload, c.log_index, l.id "
			    "FROM commands c JOIN logs l ON l.id = c.log "
			    "JOIN log_entries e ON e.log = l.id AND e.idx = c.log_index "
			    "WHERE c.org = ? AND c.id = ? AND c.log_index < l.served_size",
			    "tt", org, id);
	return delivery_row(db, st, ret);
}

int db_delivery_offered(struct db *db, const char *command, const char *device)
{
	int r = rp_sql_exec(db->h,
			    "UPDATE deliveries SET offered = ? WHERE command_id = ? AND "
			    "device_id = ? AND status = 'pending' AND offered IS NULL",
			    "itt", rp_now(), command, device);

	return db_ret(db, r, "recording delivery of %s to %s", command, device);
}

int db_delivery_started(struct db *db, const char *command, const char *device)
{
	int r = rp_sql_exec(db->h,
			    "UPDATE deliveries SET status = 'running', updated = ? "
			    "WHERE command_id = ? AND device_id = ? AND status = 'pending'",
			    "itt", rp_now(), command, device);

	return db_ret(db, r, "marking command %s running on %s", command, device);
}

int db_result_store(struct db *db, const struct db_result *x)
{
	int r = rp_sql_exec(
		db->h,
		"UPDATE deliveries SET status = ?, exit_code = ?, output = ?, "
		"duration_ms = ?, reason = ?, result = ?, updated = ? "
		"WHERE command_id = ? AND device_id = ? AND status IN ('pending', 'running')",
		"tibittitt", x->status, x->exit_code, x->output, x->output_len, x->duration_ms,
		x->reason, x->note, rp_now(), x->command, x->device);

	if (r < 0)
		return db_ret(db, r, "storing the result of command %s on %s", x->command,
			      x->device);
	return changed(db) == 0 ? RP_E_NOTFOUND : 0;
}

int db_alert_store(struct db *db, const char *org, const char *device, const char *command,
		   const char *code, const char *reason, const char *status, bool alarm)
{
	int64_t now = rp_now();
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "storing alert %s of device %s", code, device);
	r = rp_sql_exec(db->h,
			"INSERT INTO alerts (org, device_id, command_id, code, reason, at) "
			"VALUES (?, ?, ?, ?, ?, ?)",
			"ttttti", org, device, command, code, reason, now);
	if (r == 0 && *command)
		r = rp_sql_exec(
			db->h,
			"UPDATE deliveries SET status = ?, reason = ?, updated = ? WHERE "
			"command_id = ? AND device_id = ? AND status IN ('pending', 'running')",
			"ttitt", status, reason, now, command, device);
	if (r == 0 && alarm)
		r = rp_sql_exec(db->h, "UPDATE devices SET alarm = ? WHERE id = ?", "tt", code,
				device);
	return db_ret(db, rp_sql_finish(db->h, r), "storing alert %s of device %s", code, device);
}

/* ---- /metrics ---- */

/*
 * One gauge from rows (org, [label,] value): name{org="..",label=".."} value.
 * At most 1,000 rows: alert codes come from agents.
 */
static int prom_rows(struct db *db, struct rp_sb *out, const char *name, const char *help,
		     const char *label, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r, n = 0;

	va_start(ap, fmt);
	st = rp_sql_prep_v(db->h, sql, fmt, ap);
	va_end(ap);
	rp_sb_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	while ((r = rp_sql_step(db->h, st)) == 1 && n++ < 1000) {
		rp_sb_printf(out, "%s{org=\"", name);
		rp_prom_label(out, (const char *)sqlite3_column_text(st, 0) ?: "");
		if (label) {
			rp_sb_printf(out, "\",%s=\"", label);
			rp_prom_label(out, (const char *)sqlite3_column_text(st, 1) ?: "");
		}
		rp_sb_printf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, label ? 2 : 1));
	}
	sqlite3_finalize(st);
	return r < 0 ? RP_E_DB : 0;
}

int db_metrics(struct db *db, int64_t now, int64_t online_s, struct rp_sb *out)
{
	int r = 0;

	r |= prom_rows(db, out, "rampart_devices", "Enrolled devices.", NULL,
		       "SELECT org, count(*) FROM devices GROUP BY org ORDER BY org", "");
	r |= prom_rows(
		db, out, "rampart_devices_online",
		"Devices the server saw within the online window (90 s).", NULL,
		"SELECT org, count(*) FROM devices WHERE last_seen >= ? GROUP BY org ORDER BY org",
		"i", now - online_s);
	r |= prom_rows(
		db, out, "rampart_commands",
		"Statements by state; pending-approval ones await signatures.", "state",
		"SELECT org, state, count(*) FROM commands GROUP BY org, state ORDER BY org, state",
		"");
	r |= prom_rows(db, out, "rampart_deliveries",
		       "Deliveries by status (done, failed, ... once a result is stored).",
		       "status",
		       "SELECT c.org, d.status, count(*) FROM deliveries d JOIN commands c ON "
		       "c.id = d.command_id GROUP BY c.org, d.status ORDER BY c.org, d.status",
		       "");
	r |= prom_rows(
		db, out, "rampart_alerts", "Alerts agents reported, by code.", "code",
		"SELECT org, code, count(*) FROM alerts GROUP BY org, code ORDER BY org, code", "");
	r |= prom_rows(db, out, "rampart_log_size", "Entries in the org's active log.", NULL,
		       "SELECT org, size FROM logs WHERE state = 'active' ORDER BY org", "");
	r |= prom_rows(db, out, "rampart_log_served_size",
		       "Size of the newest checkpoint served (cosigned by the witness quorum).",
		       NULL,
		       "SELECT org, served_size FROM logs WHERE state = 'active' ORDER BY org", "");
	return r ? RP_E_DB : 0;
}
