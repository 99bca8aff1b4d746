/* SPDX-License-Identifier: Apache-2.0 */
#include "db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

/*
 * Versioned migrations: MIGRATIONS[i] takes the schema from version i to
 * i + 1, each in one transaction. Append only; never edit a released one.
 *
 * commands.state: 'pending-approval' | 'approved'.
 * deliveries.status: 'pending' | 'running' | 'done' | 'refused' |
 *   'timed-out' | 'failed' ('expired' is computed when read).
 */
static const char *const MIGRATIONS[] = {
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
};

static int migrate(struct db *db)
{
	sqlite3_stmt *st;
	int version = 0, n = (int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0]));

	if (sqlite3_exec(db->h, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return RP_E_DB;
	st = db_prep(db, "SELECT max(version) FROM schema_version", "");
	if (!st)
		return RP_E_DB;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > n) {
		fprintf(stderr, "rampartd: database schema version %d is newer than this rampartd (%d)\n",
			version, n);
		return RP_E_DB;
	}
	for (; version < n; version++) {
		if (db_begin(db) < 0)
			return RP_E_DB;
		if (sqlite3_exec(db->h, MIGRATIONS[version], NULL, NULL, NULL) != SQLITE_OK ||
		    db_exec(db, "INSERT INTO schema_version (version) VALUES (?)", "i",
			    (int64_t)version + 1) < 0) {
			fprintf(stderr, "rampartd: migration %d failed: %s\n", version + 1,
				sqlite3_errmsg(db->h));
			db_rollback(db);
			return RP_E_DB;
		}
		if (db_commit(db) < 0)
			return RP_E_DB;
	}
	return 0;
}

int db_open(struct db *db, const char *path, bool create)
{
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "rampartd: opening database %s: %s\n", path,
			db->h ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(db);
		return RP_E_DB;
	}
	sqlite3_busy_timeout(db->h, 5000);
	/*
	 * WAL with synchronous=FULL: every acknowledged state change (an
	 * approval, a result) survives a power cut, not only a kill -9.
	 */
	if (sqlite3_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				"PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK ||
	    migrate(db) < 0) {
		fprintf(stderr, "rampartd: preparing database %s: %s\n", path, sqlite3_errmsg(db->h));
		db_close(db);
		return RP_E_DB;
	}
	return 0;
}

void db_close(struct db *db)
{
	sqlite3_close(db->h);
	db->h = NULL;
}

int db_begin(struct db *db)
{
	return sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : RP_E_DB;
}

int db_commit(struct db *db)
{
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "rampartd: commit failed: %s\n", sqlite3_errmsg(db->h));
		db_rollback(db);
		return RP_E_DB;
	}
	return 0;
}

void db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prep_v(struct db *db, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	int i = 1, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "rampartd: preparing `%.60s': %s\n", sql, sqlite3_errmsg(db->h));
		return NULL;
	}
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		switch (*f) {
		case 't':
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i, p ? p : "", n, SQLITE_TRANSIENT);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'n':
			rc = sqlite3_bind_null(st, i);
			break;
		default: /* a programming error: fail loudly, bind nothing */
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "rampartd: binding `%.60s': %s\n", sql, sqlite3_errmsg(db->h));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *db_prep(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = prep_v(db, sql, fmt, ap);
	va_end(ap);
	return st;
}

int db_exec(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, fmt);
	st = prep_v(db, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return RP_E_DB;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return RP_E_EXISTS;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "rampartd: `%.60s': %s\n", sql, sqlite3_errmsg(db->h));
		return RP_E_DB;
	}
	return 0;
}

const char *db_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}
