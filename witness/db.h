/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * rampart-witness's store: SQLite in WAL mode with synchronous=FULL, every
 * SQL statement in db.c, schema documented at its top. Functions return 0
 * or a negative RP_E_* code: RP_E_NOTFOUND when the row asked for is not
 * there, RP_E_EXISTS on a uniqueness conflict, RP_E_DB after logging what
 * SQLite said (lib/sql leaves it on the handle; this store logs it).
 * Output parameters are written only on success.
 */

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "merkle.h"
#include "note.h"

struct rp_sql;
struct rp_sb;
struct wdb {
	struct rp_sql *h; /* lib/sql: SQLite and the message of its last failure */
};

int wdb_open(struct wdb *db, const char *path, bool create);
void wdb_close(struct wdb *db);

/* Transactions (BEGIN IMMEDIATE): wdb_finish commits when r is 0, else rolls back. */
int wdb_begin(struct wdb *db);
int wdb_finish(struct wdb *db, int r);

/* The witness's own name and cosignature verifier key text, set once by init. */
int wdb_witness_set(struct wdb *db, const char *name, const char *vkey);
int wdb_witness_get(struct wdb *db, char **ret_vkey);

/*
 * Trusts key k (type 0x01; origin = its name) given as text. The log's
 * state row is created at size 0 the first time its origin is added, and
 * kept when its keys are removed: a log removed and added again resumes
 * from the last checkpoint the witness cosigned, never from zero.
 * RP_E_EXISTS when the key is already trusted.
 */
int wdb_log_add(struct wdb *db, const struct rp_vkey *k, const char *text);
/* Removes one key (text non-NULL) or every key of origin; *ret_n gets how many. */
int wdb_log_remove(struct wdb *db, const char *origin, const char *text, int *ret_n);
/* The trusted keys for origin (at most RP_WITNESS_LOG_KEYS_MAX); *ret_n 0 when none. */
int wdb_log_keys(struct wdb *db, const char *origin, struct rp_vkey *ret, size_t *ret_n);
/* Prints "<origin> <vkey> <size>" per trusted key. */
int wdb_logs_print(struct wdb *db, FILE *f);

/* The latest cosigned checkpoint of a log: size 0 and the empty root if none. */
struct wstate {
	uint64_t size;
	uint8_t root[RP_HASH_LEN];
	int64_t cosigned_at; /* time of the latest cosignature, 0 if none */
};
/* Inside a transaction. RP_E_NOTFOUND when the origin has no state row. */
int wdb_state(struct wdb *db, const char *origin, struct wstate *ret);

/*
 * Inside a transaction: records the cosignature at time t of checkpoint
 * (origin, size, root) whose signed note is note (text is its first
 * text_len bytes), and makes it the log's latest.
 */
int wdb_cosigned_add(struct wdb *db, const char *origin, uint64_t size,
		     const uint8_t root[RP_HASH_LEN], const char *note, size_t note_len,
		     size_t text_len, int64_t t);

/* A refused, validly signed checkpoint: possible proof that the log misbehaved. */
struct wevidence {
	const char *origin;
	int status; /* 409 (422 only in rows stored before 2026-12) */
	const char *reason;
	uint64_t old_size, size, stored_size;
	const uint8_t *root, *stored_root;
	const char *text; /* the checkpoint text (dedupes repeated submissions) */
	size_t text_len;
	const char *body; /* the whole request */
	size_t body_len;
};
/*
 * Inside a transaction. The same checkpoint text seen again only counts;
 * *ret_new says whether this was its first sighting.
 */
int wdb_evidence_add(struct wdb *db, const struct wevidence *e, int64_t now, bool *ret_new);

/* History of cosigned checkpoints, oldest first; origin NULL for all logs. */
int wdb_history_print(struct wdb *db, const char *origin, bool notes, FILE *f);
int wdb_evidence_print(struct wdb *db, FILE *f);

/*
 * The gauges of /metrics read from the store (serve.c), in Prometheus
 * text: logs with a trusted key, forks kept as evidence, and each trusted
 * log's latest cosigned size and time, at most max_rows logs (by origin).
 */
int wdb_metrics(struct wdb *db, size_t max_rows, struct rp_sb *out);
