/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart-witness's store: every SQL statement of the witness is in this
 * file. All times are Unix seconds; sizes are stored as SQLite integers
 * (the bits of the uint64).
 *
 * SCHEMA (after all MIGRATIONS below):
 *
 *   schema_version (version)       one row per applied migration
 *   witness (name, vkey, created)  one row: the cosigner name and its type-0x04
 *       verifier key, so that serve refuses a witness.key from another witness
 *   logs (origin PK, size, root BLOB 32 bytes, cosigned_at, added)
 *       the latest cosigned checkpoint of each log the witness ever trusted
 *       (size 0 and SHA-256("") until the first cosignature). Never deleted:
 *       remove-log removes keys only, so adding a log again cannot reset it.
 *   log_keys (origin, vkey text, added), PK (origin, vkey)
 *       the trusted type-0x01 keys; an origin without keys is unknown (404)
 *   cosigned (id PK AUTOINCREMENT, origin, size, root, text_hash = SHA-256 of the
 *       checkpoint text, first_cosigned, last_cosigned, times, checkpoint = the
 *       signed note as received), UNIQUE (origin, size, text_hash)
 *       every checkpoint the witness cosigned; a checkpoint cosigned again (the
 *       log asking twice) bumps times and last_cosigned instead of a new row
 *   evidence (id PK AUTOINCREMENT, origin, status 409|422, reason, old_size, size,
 *       root, stored_size, stored_root, text_hash UNIQUE, body = the whole request,
 *       first_seen, last_seen, times)
 *       forks: validly signed checkpoints of the cosigned size with another
 *       root. One row per checkpoint text, so replaying one cannot fill the
 *       disk. Rows of status 422 (a consistency proof that did not verify)
 *       come from witnesses before 2026-12: a proof is the client's, not
 *       the log's, so it no longer counts as evidence (serve.c).
 *
 * The state check and its update happen in one BEGIN IMMEDIATE transaction
 * (serve.c), committed with synchronous=FULL before the answer is sent.
 */
#include "db.h"
#include "sql/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "text.h"
#include "util.h"

/*
 * Versioned migrations: MIGRATIONS[i] takes the schema from version i to
 * i + 1, each in one transaction with its schema_version row. Append only;
 * never edit one that has shipped.
 */
static const char *const MIGRATIONS[] = {
	/* 1: the first schema */
	"CREATE TABLE witness (name TEXT NOT NULL, vkey TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE logs (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,"
	"  cosigned_at INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL);"
	"CREATE TABLE log_keys (origin TEXT NOT NULL REFERENCES logs(origin), vkey TEXT NOT NULL,"
	"  added INTEGER NOT NULL, PRIMARY KEY (origin, vkey));"
	"CREATE TABLE cosigned (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  origin TEXT NOT NULL REFERENCES logs(origin), size INTEGER NOT NULL,"
	"  root BLOB NOT NULL, text_hash BLOB NOT NULL, first_cosigned INTEGER NOT NULL,"
	"  last_cosigned INTEGER NOT NULL, times INTEGER NOT NULL DEFAULT 1,"
	"  checkpoint TEXT NOT NULL, UNIQUE (origin, size, text_hash));"
	"CREATE TABLE evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL,"
	"  status INTEGER NOT NULL, reason TEXT NOT NULL, old_size INTEGER NOT NULL,"
	"  size INTEGER NOT NULL, root BLOB NOT NULL, stored_size INTEGER NOT NULL,"
	"  stored_root BLOB NOT NULL, text_hash BLOB NOT NULL UNIQUE, body BLOB NOT NULL,"
	"  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	"  times INTEGER NOT NULL DEFAULT 1);",
};

#define NMIGRATIONS ((int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])))

/* ---- helpers ---- */

/*
 * What a store function returns: r, after logging, when r is RP_E_DB,
 * what lib/sql left on the handle (the SQL and SQLite's message) with
 * what the witness was doing.
 */
static int logged(struct wdb *db, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int logged(struct wdb *db, int r, const char *fmt, ...)
{
	va_list ap;

	if (r != RP_E_DB || !db->h || !rp_sql_errmsg(db->h)[0])
		return r;
	fputs("rampart-witness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", rp_sql_errmsg(db->h));
	rp_sql_clear(db->h);
	return r;
}

int wdb_begin(struct wdb *db)
{
	return logged(db, rp_sql_begin(db->h), "starting a transaction");
}

int wdb_finish(struct wdb *db, int r)
{
	return logged(db, rp_sql_finish(db->h, r), "ending a transaction");
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i);
}

/* Copies a 32-byte hash column; false when the column is not 32 bytes. */
static bool col_hash(sqlite3_stmt *st, int i, uint8_t out[RP_HASH_LEN])
{
	const void *p = sqlite3_column_blob(st, i);

	if (!p || sqlite3_column_bytes(st, i) != RP_HASH_LEN)
		return false;
	memcpy(out, p, RP_HASH_LEN);
	return true;
}

/* Prints the base64 of a hash column, "?" when it is not 32 bytes. */
static void print_hash(FILE *f, sqlite3_stmt *st, int i)
{
	uint8_t h[RP_HASH_LEN];
	char *s = col_hash(st, i, h) ? rp_b64_encode(h, sizeof(h)) : NULL;

	fputs(s ? s : "?", f);
	free(s);
}

/* One line of text that may quote a client, neutralised. */
static void print_safe(FILE *f, const char *text)
{
	struct rp_sb sb;

	rp_sb_init(&sb, 10 * strlen(text) + 64);
	rp_text_safe(&sb, text, strlen(text), RP_TEXT_LINE);
	if (!sb.err && sb.s)
		fputs(sb.s, f);
	rp_sb_release(&sb);
}

static void print_time(FILE *f, int64_t t)
{
	char buf[21];

	rp_time_format(t, buf);
	fputs(buf, f);
}

/* ---- opening ---- */

int wdb_open(struct wdb *db, const char *path, bool create)
{
	/*
	 * rp_sql_open: WAL with synchronous=FULL, so a cosignature is sent
	 * only after the state it commits to survives a power cut. Losing it
	 * would let the witness cosign, after a reboot, a fork of what it
	 * already signed.
	 */
	struct rp_diag d = {""};
	int from = NMIGRATIONS, r;

	if ((r = rp_sql_open(&db->h, path, create, MIGRATIONS, NMIGRATIONS, &from, &d)) < 0) {
		fprintf(stderr, "rampart-witness: %s\n", d.msg);
		return r;
	}
	if (from < NMIGRATIONS)
		fprintf(stderr,
			"rampart-witness: database %s: schema migrated from version %d to %d\n",
			path, from, NMIGRATIONS);
	return 0;
}

void wdb_close(struct wdb *db)
{
	rp_sql_close(db->h);
	db->h = NULL;
}

/* ---- the witness ---- */

int wdb_witness_set(struct wdb *db, const char *name, const char *vkey)
{
	sqlite3_stmt *st;
	int r;

	if ((r = wdb_begin(db)) < 0)
		return r;
	st = rp_sql_prep(db->h, "SELECT 1 FROM witness", "");
	r = rp_sql_step(db->h, st);
	sqlite3_finalize(st);
	if (r == 1)
		r = RP_E_EXISTS;
	if (r == 0)
		r = rp_sql_exec(db->h, "INSERT INTO witness (name, vkey, created) VALUES (?, ?, ?)",
				"tti", name, vkey, rp_now());
	return wdb_finish(db, logged(db, r, "storing the witness's name"));
}

int wdb_witness_get(struct wdb *db, char **ret_vkey)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, "SELECT vkey FROM witness", "");
	int r = rp_sql_step(db->h, st);
	char *s = NULL;

	if (r == 1) {
		s = strdup(rp_sql_text(st, 0));
		r = s ? 0 : RP_E_NOMEM;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret_vkey = s;
	return logged(db, r, "reading the witness's key");
}

/* ---- logs ---- */

int wdb_log_add(struct wdb *db, const struct rp_vkey *k, const char *text)
{
	uint8_t empty[RP_HASH_LEN];
	int64_t now = rp_now();
	sqlite3_stmt *st;
	int r;

	rp_merkle_empty_root(empty);
	if ((r = wdb_begin(db)) < 0)
		return r;
	r = rp_sql_exec(
		db->h, "INSERT OR IGNORE INTO logs (origin, size, root, added) VALUES (?, 0, ?, ?)",
		"tbi", k->name, empty, sizeof(empty), now);
	if (r == 0) {
		st = rp_sql_prep(db->h, "SELECT count(*) FROM log_keys WHERE origin = ?", "t",
				 k->name);
		r = rp_sql_step(db->h, st);
		if (r == 1)
			r = sqlite3_column_int64(st, 0) >= RP_WITNESS_LOG_KEYS_MAX ? RP_E_TOOBIG
										   : 0;
		else if (r == 0)
			r = RP_E_DB;
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = rp_sql_exec(db->h,
				"INSERT INTO log_keys (origin, vkey, added) VALUES (?, ?, ?)",
				"tti", k->name, text, now);
	return wdb_finish(db, logged(db, r, "adding a key of log %s", k->name));
}

int wdb_log_remove(struct wdb *db, const char *origin, const char *text, int *ret_n)
{
	int r;

	if (text)
		r = rp_sql_exec(db->h, "DELETE FROM log_keys WHERE origin = ? AND vkey = ?", "tt",
				origin, text);
	else
		r = rp_sql_exec(db->h, "DELETE FROM log_keys WHERE origin = ?", "t", origin);
	if (r == 0)
		*ret_n = rp_sql_changes(db->h);
	return logged(db, r, "removing keys of log %s", origin);
}

int wdb_log_keys(struct wdb *db, const char *origin, struct rp_vkey *ret, size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT vkey FROM log_keys WHERE origin = ? ORDER BY added", "t", origin);
	struct rp_diag d;
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1 && n < RP_WITNESS_LOG_KEYS_MAX) {
		const char *s = rp_sql_text(st, 0);
		if (rp_vkey_parse(s, strlen(s), &ret[n], &d) < 0) {
			/* Only add-log writes keys, and it parsed them: the file was edited. */
			fprintf(stderr, "%srampart-witness: stored key of %s does not parse: %s\n",
				rp_log_prio(LOG_ERR), origin, d.msg);
			continue;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (r < 0)
		return logged(db, r, "reading the keys of log %s", origin);
	*ret_n = n;
	return 0;
}

int wdb_logs_print(struct wdb *db, FILE *f)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT k.origin, k.vkey, l.size FROM log_keys k "
			    "JOIN logs l ON l.origin = k.origin ORDER BY k.origin, k.added",
			    "");
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1)
		fprintf(f, "%s %s %llu\n", rp_sql_text(st, 0), rp_sql_text(st, 1),
			(unsigned long long)col_u64(st, 2));
	sqlite3_finalize(st);
	return logged(db, r, "listing the logs");
}

/* ---- state, history, evidence ---- */

int wdb_state(struct wdb *db, const char *origin, struct wstate *ret)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT size, root, cosigned_at FROM logs WHERE origin = ?", "t", origin);
	struct wstate s;
	int r = rp_sql_step(db->h, st);

	if (r == 1) {
		s.size = col_u64(st, 0);
		s.cosigned_at = sqlite3_column_int64(st, 2);
		if (!col_hash(st, 1, s.root)) {
			fprintf(stderr, "rampart-witness: stored root of %s is not 32 bytes\n",
				origin);
			r = RP_E_DB;
		} else {
			r = 0;
		}
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = s;
	return logged(db, r, "reading the state of log %s", origin);
}

int wdb_cosigned_add(struct wdb *db, const char *origin, uint64_t size,
		     const uint8_t root[RP_HASH_LEN], const char *note, size_t note_len,
		     size_t text_len, int64_t t)
{
	uint8_t th[RP_HASH_LEN];
	int r;

	rp_sha256(note, text_len, th);
	r = rp_sql_exec(db->h,
			"INSERT INTO cosigned (origin, size, root, text_hash, first_cosigned,"
			" last_cosigned, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT (origin, size, text_hash) DO UPDATE"
			" SET last_cosigned = excluded.last_cosigned, times = times + 1",
			"tibbiib", origin, (int64_t)size, root, (size_t)RP_HASH_LEN, th, sizeof(th),
			t, t, note, note_len);
	if (r == 0)
		r = rp_sql_exec(
			db->h,
			"UPDATE logs SET size = ?, root = ?, cosigned_at = ? WHERE origin = ?",
			"ibit", (int64_t)size, root, (size_t)RP_HASH_LEN, t, origin);
	if (r == 0 && rp_sql_changes(db->h) != 1)
		r = RP_E_NOTFOUND;
	return logged(db, r, "storing a cosigned checkpoint of log %s", origin);
}

int wdb_evidence_add(struct wdb *db, const struct wevidence *e, int64_t now, bool *ret_new)
{
	uint8_t th[RP_HASH_LEN];
	sqlite3_stmt *st;
	bool seen;
	int r;

	rp_sha256(e->text, e->text_len, th);
	st = rp_sql_prep(db->h, "SELECT 1 FROM evidence WHERE text_hash = ?", "b", th, sizeof(th));
	r = rp_sql_step(db->h, st);
	sqlite3_finalize(st);
	if (r < 0)
		return logged(db, r, "reading the evidence from log %s", e->origin);
	seen = r == 1;
	r = rp_sql_exec(db->h,
			"INSERT INTO evidence (origin, status, reason, old_size, size, root,"
			" stored_size, stored_root, text_hash, body, first_seen, last_seen)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT (text_hash) DO UPDATE"
			" SET last_seen = excluded.last_seen, times = times + 1",
			"titiibibbbii", e->origin, (int64_t)e->status, e->reason,
			(int64_t)e->old_size, (int64_t)e->size, e->root, (size_t)RP_HASH_LEN,
			(int64_t)e->stored_size, e->stored_root, (size_t)RP_HASH_LEN, th,
			sizeof(th), e->body, e->body_len, now, now);
	if (r == 0)
		*ret_new = !seen;
	return logged(db, r, "storing evidence from log %s", e->origin);
}

/*
 * Writes text with each line prefixed by a tab, so multi-line texts stay
 * delimited. Evidence bodies are whatever a client posted: neutralised
 * (lib/text.c), so that listing them cannot drive the operator's terminal.
 */
static void print_indented(FILE *f, const char *text, size_t len)
{
	struct rp_sb sb;
	const char *s;
	size_t n;
	bool bol = true;

	rp_sb_init(&sb, 10 * len + 64);
	rp_text_safe(&sb, text, len, RP_TEXT_BLOCK);
	s = sb.err ? "(out of memory)\n" : sb.s ? sb.s : "";
	n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (bol)
			fputc('\t', f);
		fputc(s[i], f);
		bol = s[i] == '\n';
	}
	rp_sb_release(&sb);
	if (!bol)
		fputc('\n', f);
}

int wdb_history_print(struct wdb *db, const char *origin, bool notes, FILE *f)
{
	static const char sql[] = "SELECT origin, size, root, first_cosigned, last_cosigned, times,"
				  " checkpoint FROM cosigned WHERE ?1 IS NULL OR origin = ?1"
				  " ORDER BY id";
	sqlite3_stmt *st =
		origin ? rp_sql_prep(db->h, sql, "t", origin) : rp_sql_prep(db->h, sql, "");
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		fprintf(f, "%s %llu ", rp_sql_text(st, 0), (unsigned long long)col_u64(st, 1));
		print_hash(f, st, 2);
		fputc(' ', f);
		print_time(f, sqlite3_column_int64(st, 3));
		if (sqlite3_column_int64(st, 5) > 1) {
			fprintf(f, " cosigned %lld times, last ",
				(long long)sqlite3_column_int64(st, 5));
			print_time(f, sqlite3_column_int64(st, 4));
		}
		fputc('\n', f);
		if (notes)
			print_indented(f, sqlite3_column_blob(st, 6),
				       (size_t)sqlite3_column_bytes(st, 6));
	}
	sqlite3_finalize(st);
	return logged(db, r, "reading the history");
}

int wdb_evidence_print(struct wdb *db, FILE *f)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h,
		"SELECT e.id, e.origin, e.status, e.old_size, e.size, e.root, e.stored_size,"
		" e.stored_root, e.first_seen, e.times, e.reason, e.body,"
		" EXISTS (SELECT 1 FROM cosigned c WHERE c.origin = e.origin"
		"  AND c.text_hash = e.text_hash)"
		" FROM evidence e ORDER BY e.id",
		"");
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		fprintf(f, "evidence %lld ", (long long)sqlite3_column_int64(st, 0));
		print_safe(f, rp_sql_text(st, 1));
		fprintf(f, " status %d old %llu size %llu root ", sqlite3_column_int(st, 2),
			(unsigned long long)col_u64(st, 3), (unsigned long long)col_u64(st, 4));
		print_hash(f, st, 5);
		fprintf(f, " stored %llu ", (unsigned long long)col_u64(st, 6));
		print_hash(f, st, 7);
		fputs(" first ", f);
		print_time(f, sqlite3_column_int64(st, 8));
		fprintf(f, " seen %lld: ", (long long)sqlite3_column_int64(st, 9));
		print_safe(f, rp_sql_text(st, 10));
		fprintf(f, "%s\n",
			sqlite3_column_int(st, 12)
				? " (later cosigned with a valid proof: a bad proof, not a fork)"
				: "");
		print_indented(f, sqlite3_column_blob(st, 11),
			       (size_t)sqlite3_column_bytes(st, 11));
	}
	sqlite3_finalize(st);
	return logged(db, r, "reading the evidence");
}

/* ---- /metrics ---- */

/* One number from a query that returns one row. */
static int count_one(struct wdb *db, const char *sql, uint64_t *ret)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, sql, "");
	int r = rp_sql_step(db->h, st);

	if (r == 1) {
		*ret = col_u64(st, 0);
		r = 0;
	} else if (r == 0) {
		*ret = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int wdb_metrics(struct wdb *db, size_t max_rows, struct rp_sb *out)
{
	sqlite3_stmt *st;
	uint64_t nlogs = 0, nevidence = 0;
	size_t rows = 0;
	int r;

	if ((r = count_one(db, "SELECT COUNT(DISTINCT origin) FROM log_keys", &nlogs)) < 0 ||
	    (r = count_one(db, "SELECT COUNT(*) FROM evidence WHERE status = 409", &nevidence)) < 0)
		return logged(db, r, "reading the figures for /metrics");
	rp_sb_printf(
		out,
		"# HELP rampart_witness_logs Logs with a trusted key.\n"
		"# TYPE rampart_witness_logs gauge\nrampart_witness_logs %llu\n"
		"# HELP rampart_witness_evidence Forks kept as evidence (distinct checkpoints).\n"
		"# TYPE rampart_witness_evidence gauge\nrampart_witness_evidence %llu\n",
		(unsigned long long)nlogs, (unsigned long long)nevidence);
	/* Rows of both gauges are written in two passes over one query's results. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			rp_sb_puts(out,
				   "# HELP rampart_witness_log_size The tree size of each log's "
				   "latest cosigned checkpoint.\n"
				   "# TYPE rampart_witness_log_size gauge\n");
		else
			rp_sb_puts(out,
				   "# HELP rampart_witness_log_cosigned_time_seconds When each "
				   "log's latest checkpoint was cosigned (Unix time; 0: never).\n"
				   "# TYPE rampart_witness_log_cosigned_time_seconds gauge\n");
		st = rp_sql_prep(db->h,
				 "SELECT l.origin, l.size, l.cosigned_at FROM logs l WHERE EXISTS "
				 "(SELECT 1 FROM log_keys k WHERE k.origin = l.origin) "
				 "ORDER BY l.origin LIMIT ?",
				 "i", (int64_t)max_rows);
		rows = 0;
		while ((r = rp_sql_step(db->h, st)) == 1) {
			rp_sb_printf(out, "%s{origin=\"",
				     pass == 0 ? "rampart_witness_log_size"
					       : "rampart_witness_log_cosigned_time_seconds");
			rp_prom_label(out, rp_sql_text(st, 0));
			rp_sb_printf(out, "\"} %llu\n",
				     (unsigned long long)col_u64(st, pass == 0 ? 1 : 2));
			rows++;
		}
		sqlite3_finalize(st);
		if (r < 0)
			return logged(db, r, "reading the logs for /metrics");
	}
	if (rows == max_rows && nlogs > max_rows)
		rp_sb_printf(out, "# %llu logs, the first %zu by origin shown\n",
			     (unsigned long long)nlogs, max_rows);
	return 0;
}
