/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * SQLite helpers shared by the daemons that keep state (rampartd and
 * rampart-witness). Unlike the rest of lib/, these log what SQLite said to
 * stderr, prefixed with rp_sql_progname, because the SQL text and SQLite's
 * message are only known here; callers still get an RP_E_* code.
 */

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>

/* "rampartd", "rampart-witness": set once by main(). */
extern const char *rp_sql_progname;

/*
 * Opens (with create, creating) the database at path in WAL mode with
 * synchronous=FULL and foreign keys on, then applies migrations[v..n) in
 * order, each in one transaction with its schema_version row. A database
 * newer than the n migrations is refused.
 */
int rp_sql_open(sqlite3 **ret, const char *path, bool create, const char *const *migrations,
		int n);

/* BEGIN IMMEDIATE: 0 or RP_E_DB. */
int rp_sql_begin(sqlite3 *h);
/* Commits when r is 0, rolls back otherwise; returns the outcome. */
int rp_sql_finish(sqlite3 *h, int r);
/*
 * Prepares sql and binds the arguments described by fmt ('t' text, 'b' blob
 * as pointer + size_t, 'i' int64); NULL after logging what failed.
 */
sqlite3_stmt *rp_sql_prep(sqlite3 *h, const char *sql, const char *fmt, ...);
sqlite3_stmt *rp_sql_prep_v(sqlite3 *h, const char *sql, const char *fmt, va_list ap);
/* Runs a statement that returns no rows: 0, RP_E_EXISTS (a constraint) or RP_E_DB. */
int rp_sql_exec(sqlite3 *h, const char *sql, const char *fmt, ...);
/* Steps once: 1 for a row, 0 for none, RP_E_DB after logging (st NULL: RP_E_DB). */
int rp_sql_step(sqlite3 *h, sqlite3_stmt *st);
/* Text of column i, never NULL. */
const char *rp_sql_text(sqlite3_stmt *st, int i);
