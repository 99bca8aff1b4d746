/* SPDX-License-Identifier: Apache-2.0 */
#include "sql/sql.h"

#include <stdint.h>
#include <stdio.h>

#include "rp_err.h"

const char *rp_sql_progname = "rampart";

int rp_sql_begin(sqlite3 *h)
{
	if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: starting a transaction: %s\n", rp_sql_progname,
			sqlite3_errmsg(h));
		return RP_E_DB;
	}
	return 0;
}

int rp_sql_finish(sqlite3 *h, int r)
{
	if (r == 0 && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: commit failed: %s\n", rp_sql_progname, sqlite3_errmsg(h));
		r = RP_E_DB;
	}
	if (r < 0 && !sqlite3_get_autocommit(h))
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

sqlite3_stmt *rp_sql_prep_v(sqlite3 *h, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	int i = 1, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: preparing `%.60s': %s\n", rp_sql_progname, sql,
			sqlite3_errmsg(h));
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
		default: /* a programming error: fail loudly, bind nothing */
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: binding `%.60s': %s\n", rp_sql_progname, sql, sqlite3_errstr(rc));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *rp_sql_prep(sqlite3 *h, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = rp_sql_prep_v(h, sql, fmt, ap);
	va_end(ap);
	return st;
}

int rp_sql_exec(sqlite3 *h, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, fmt);
	st = rp_sql_prep_v(h, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return RP_E_DB;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return RP_E_EXISTS;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: `%.60s': %s\n", rp_sql_progname, sql, sqlite3_errmsg(h));
		return RP_E_DB;
	}
	return 0;
}

int rp_sql_step(sqlite3 *h, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return RP_E_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	fprintf(stderr, "%s: `%.60s': %s\n", rp_sql_progname, sqlite3_sql(st), sqlite3_errmsg(h));
	return RP_E_DB;
}

const char *rp_sql_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

static int schema_version(sqlite3 *h, int *ret)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_exec(h, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return RP_E_DB;
	st = rp_sql_prep(h, "SELECT ifnull(max(version), 0) FROM schema_version", "");
	r = rp_sql_step(h, st);
	if (r == 1)
		*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return r == 1 ? 0 : RP_E_DB;
}

static int migrate(sqlite3 *h, const char *const *migrations, int n)
{
	int version = 0, r;

	if ((r = schema_version(h, &version)) < 0)
		return r;
	if (version > n) {
		fprintf(stderr, "%s: database schema version %d is newer than this %s (%d)\n",
			rp_sql_progname, version, rp_sql_progname, n);
		return RP_E_DB;
	}
	for (; version < n; version++) {
		if ((r = rp_sql_begin(h)) < 0)
			return r;
		if (sqlite3_exec(h, migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: migration %d failed: %s\n", rp_sql_progname, version + 1,
				sqlite3_errmsg(h));
			r = RP_E_DB;
		} else {
			r = rp_sql_exec(h, "INSERT INTO schema_version (version) VALUES (?)", "i",
					(int64_t)version + 1);
		}
		if ((r = rp_sql_finish(h, r)) < 0)
			return r;
		fprintf(stderr, "%s: database schema migrated to version %d\n", rp_sql_progname,
			version + 1);
	}
	return 0;
}

int rp_sql_open(sqlite3 **ret, const char *path, bool create, const char *const *migrations,
		int n)
{
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	sqlite3 *h = NULL;

	if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: opening database %s: %s\n", rp_sql_progname, path,
			h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		return RP_E_DB;
	}
	sqlite3_busy_timeout(h, 5000);
	/*
	 * WAL with synchronous=FULL: every acknowledged state change (an
	 * approval, a log append, a cosignature) survives a power cut.
	 */
	if (sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
			    "PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    migrate(h, migrations, n) < 0) {
		fprintf(stderr, "%s: preparing database %s: %s\n", rp_sql_progname, path,
			sqlite3_errmsg(h));
		sqlite3_close(h);
		return RP_E_DB;
	}
	*ret = h;
	return 0;
}
