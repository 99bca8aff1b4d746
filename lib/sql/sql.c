/* SPDX-License-Identifier: Apache-2.0 */
#include "sql/sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rp_err.h"

/* Records a failure's message on the handle; returns RP_E_DB. */
static int fail(struct rp_sql *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rp_sql *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	return RP_E_DB;
}

const char *rp_sql_errmsg(const struct rp_sql *h)
{
	return h->err;
}

void rp_sql_clear(struct rp_sql *h)
{
	h->err[0] = '\0';
}

int rp_sql_changes(const struct rp_sql *h)
{
	return sqlite3_changes(h->db);
}

int rp_sql_begin(struct rp_sql *h)
{
	if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(h, "starting a transaction: %s", sqlite3_errmsg(h->db));
	return 0;
}

int rp_sql_finish(struct rp_sql *h, int r)
{
	if (r == 0 && sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = fail(h, "commit failed: %s", sqlite3_errmsg(h->db));
	if (r < 0 && !sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

sqlite3_stmt *rp_sql_prep_v(struct rp_sql *h, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	int i = 1, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(h, "preparing `%.60s': %s", sql, sqlite3_errmsg(h->db));
		return NULL;
	}
	for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
		switch (*f) {
		case 't':
			rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
					       SQLITE_TRANSIENT);
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = sqlite3_bind_blob64(st, i, p ? p : "", n, SQLITE_TRANSIENT);
			break;
		}
		case 'i': rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t)); break;
		default: /* a programming error: fail loudly, bind nothing */
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		fail(h, "binding `%.60s': %s", sql, sqlite3_errstr(rc));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *rp_sql_prep(struct rp_sql *h, const char *sql, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = rp_sql_prep_v(h, sql, fmt, ap);
	va_end(ap);
	return st;
}

int rp_sql_exec(struct rp_sql *h, const char *sql, const char *fmt, ...)
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
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail(h, "`%.60s': %s", sql, sqlite3_errmsg(h->db));
	return 0;
}

int rp_sql_step(struct rp_sql *h, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return RP_E_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(h, "`%.60s': %s", sqlite3_sql(st), sqlite3_errmsg(h->db));
}

const char *rp_sql_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

static int schema_version(struct rp_sql *h, int *ret)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_exec(h->db,
			 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return fail(h, "creating schema_version: %s", sqlite3_errmsg(h->db));
	st = rp_sql_prep(h, "SELECT ifnull(max(version), 0) FROM schema_version", "");
	r = rp_sql_step(h, st);
	if (r == 1)
		*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return r == 1 ? 0 : RP_E_DB;
}

static int migrate(struct rp_sql *h, const char *const *migrations, int n, int *ret_from)
{
	int version = 0, r;

	if ((r = schema_version(h, &version)) < 0)
		return r;
	if (version > n)
		return fail(h, "database schema version %d is newer than this program's (%d)",
			    version, n);
	*ret_from = version;
	for (; version < n; version++) {
		if ((r = rp_sql_begin(h)) < 0)
			return r;
		if (sqlite3_exec(h->db, migrations[version], NULL, NULL, NULL) != SQLITE_OK)
			r = fail(h, "migration %d failed: %s", version + 1, sqlite3_errmsg(h->db));
		else
			r = rp_sql_exec(h, "INSERT INTO schema_version (version) VALUES (?)", "i",
					(int64_t)version + 1);
		if ((r = rp_sql_finish(h, r)) < 0)
			return r;
	}
	return 0;
}

int rp_sql_open(struct rp_sql **ret, const char *path, bool create, const char *const *migrations,
		int n, int *ret_from, struct rp_diag *d)
{
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	struct rp_sql *h = calloc(1, sizeof(*h));
	int from = 0, r;

	if (!h) {
		rp_diagf(d, "opening database %s: out of memory", path);
		return RP_E_NOMEM;
	}
	if (sqlite3_open_v2(path, &h->db, flags, NULL) != SQLITE_OK) {
		rp_diagf(d, "opening database %s: %s", path,
			 h->db ? sqlite3_errmsg(h->db) : "out of memory");
		rp_sql_close(h);
		return RP_E_DB;
	}
	sqlite3_busy_timeout(h->db, 5000);
	/*
	 * WAL with synchronous=FULL: every acknowledged state change (an
	 * approval, a log append, a cosignature) survives a power cut.
	 */
	if (sqlite3_exec(h->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
			 "PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK)
		r = fail(h, "%s", sqlite3_errmsg(h->db));
	else
		r = migrate(h, migrations, n, &from);
	if (r < 0) {
		rp_diagf(d, "preparing database %s: %s", path, h->err);
		rp_sql_close(h);
		return RP_E_DB;
	}
	*ret = h;
	if (ret_from)
		*ret_from = from;
	return 0;
}

void rp_sql_close(struct rp_sql *h)
{
	if (!h)
		return;
	sqlite3_close(h->db);
	free(h);
}
