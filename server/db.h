/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * rampartd's store: SQLite in WAL mode, one transaction per state change.
 * The schema (see MIGRATIONS in db.c) is part of the test contract: the
 * attack tests write forged rows into `commands` and `deliveries`.
 */

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct db {
	sqlite3 *h;
};

int db_open(struct db *db, const char *path, bool create);
void db_close(struct db *db);
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Prepares sql, binds the arguments described by fmt ('t' text, 'b' blob
 * as pointer + size_t, 'i' int64, 'n' NULL) and returns the statement, or
 * NULL after logging what failed.
 */
sqlite3_stmt *db_prep(struct db *db, const char *sql, const char *fmt, ...);
/* Runs a statement that returns no rows; 0, or RP_E_DB / RP_E_EXISTS. */
int db_exec(struct db *db, const char *sql, const char *fmt, ...);
/* Text of column i, never NULL. */
const char *db_text(sqlite3_stmt *st, int i);
