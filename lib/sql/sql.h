/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * SQLite helpers shared by the daemons that keep state (rampartd and
 * rampart-witness). Like the rest of lib/ they never log: a failure
 * returns RP_E_DB and leaves its message on the handle (what was being
 * done, the SQL, SQLite's own message), and the daemon's store logs it
 * with what it was doing (rp_sql_errmsg, then rp_sql_clear). Opening,
 * which has no handle yet, says why it failed in a struct rp_diag.
 */

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>

#include "util.h"

#define RP_SQL_ERR_MAX 512

struct rp_sql {
	sqlite3 *db; /* for what these helpers do not cover */
	/* The last failure's message, "" when none since rp_sql_clear. */
	char err[RP_SQL_ERR_MAX];
};

/*
 * Opens (with create, creating) the database at path in WAL mode with
 * synchronous=FULL and foreign keys on, then applies migrations[v..n) in
 * order, each in one transaction with its schema_version row; *ret_from
 * gets v, so the caller can say what was migrated. A database newer than
 * the n migrations is refused. RP_E_DB (or RP_E_NOMEM) with d saying why.
 */
int rp_sql_open(struct rp_sql **ret, const char *path, bool create, const char *const *migrations,
		int n, int *ret_from, struct rp_diag *d);
/* Closes and frees; NULL is fine. */
void rp_sql_close(struct rp_sql *h);

/* The message of the last failure ("" when none), and forgetting it once logged. */
const char *rp_sql_errmsg(const struct rp_sql *h);
void rp_sql_clear(struct rp_sql *h);

/* BEGIN IMMEDIATE: 0 or RP_E_DB. */
int rp_sql_begin(struct rp_sql *h);
/* Commits when r is 0, rolls back otherwise; returns the outcome. */
int rp_sql_finish(struct rp_sql *h, int r);
/*
 * Prepares sql and binds the arguments described by fmt ('t' text, 'b' blob
 * as pointer + size_t, 'i' int64); NULL when that failed (the message is
 * on the handle).
 */
sqlite3_stmt *rp_sql_prep(struct rp_sql *h, const char *sql, const char *fmt, ...);
sqlite3_stmt *rp_sql_prep_v(struct rp_sql *h, const char *sql, const char *fmt, va_list ap);
/* Runs a statement that returns no rows: 0, RP_E_EXISTS (a constraint) or RP_E_DB. */
int rp_sql_exec(struct rp_sql *h, const char *sql, const char *fmt, ...);
/* Steps once: 1 for a row, 0 for none, RP_E_DB (st NULL: RP_E_DB, prep said why). */
int rp_sql_step(struct rp_sql *h, sqlite3_stmt *st);
/* Rows changed by the last statement. */
int rp_sql_changes(const struct rp_sql *h);
/* Text of column i, never NULL. */
const char *rp_sql_text(sqlite3_stmt *st, int i);
