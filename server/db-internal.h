/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Helpers shared by the files that hold rampartd's SQL (db.c, db-log.c);
 * nothing else includes this header.
 */

#include <sqlite3.h>

#include "db.h"

/* BEGIN IMMEDIATE: 0 or RP_E_DB after logging. */
int dbx_begin(struct db *db);
/* Commits when r is 0, rolls back otherwise; returns the outcome. */
int dbx_finish(struct db *db, int r);
/*
 * Prepares sql and binds the arguments described by fmt ('t' text, 'b' blob
 * as pointer + size_t, 'i' int64); NULL after logging what failed.
 */
sqlite3_stmt *dbx_prep(struct db *db, const char *sql, const char *fmt, ...);
/* Runs a statement that returns no rows: 0, RP_E_EXISTS or RP_E_DB. */
int dbx_exec(struct db *db, const char *sql, const char *fmt, ...);
/* Steps once: 1 for a row, 0 for none, RP_E_DB after logging. */
int dbx_step(struct db *db, sqlite3_stmt *st);
/* Text of column i, never NULL. */
const char *dbx_col_text(sqlite3_stmt *st, int i);
