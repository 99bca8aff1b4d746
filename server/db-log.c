/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transparency logs' storage: one Merkle log per organisation, in the
 * server's SQLite (schema in db.c, migration 3).
 *
 *   logs (id, org, origin = log key name, vkey = its verifier key (the
 *       signer key is in its own file, server/logkey.c), skey = '' (until
 *       migration 7 the signer key; moved out by logkey_migrate at start),
 *       size: entries appended, signed_size/signed_note: the newest
 *       checkpoint signed by the log key, served_size/served_note: the
 *       newest checkpoint whose cosignatures meet the witness quorum,
 *       which is what agents and auditors are given)
 *   log_entries (log, idx, data): entry idx, the whole signed statement
 *   log_hashes (log, level, idx, hash): the stored hashes of lib/merkle.h
 *   log_witnesses (log, witness = its key name, size: the size it last
 *       cosigned for us, cosig: that cosignature line, cosig_size, cosig_time)
 *
 * An append writes one entry and about two hashes, reading at most one
 * stored hash per level: O(log n), never a walk over the leaves. Proofs
 * and tiles are reads of stored hashes through one cached statement.
 */
#include <sodium.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sql/sql.h"
#include "rp_err.h"
#include "tiles.h"

struct reader {
	struct db *db;
	int64_t log;
};

static const char *const SQL[DB_LOG_NSTMT] = {
	[DB_LOG_HASH_READ] = "SELECT hash FROM log_hashes WHERE log = ? AND level = ? AND idx = ?",
	[DB_LOG_SIZE_READ] = "SELECT size FROM logs WHERE id = ?",
	[DB_LOG_ENTRY_INSERT] = "INSERT INTO log_entries (log, idx, data) VALUES (?, ?, ?)",
	[DB_LOG_HASH_INSERT] = "INSERT INTO log_hashes (log, level, idx, hash) VALUES (?, ?, ?, ?)",
	[DB_LOG_SIZE_WRITE] = "UPDATE logs SET size = ? WHERE id = ?",
};

/* A kept statement, reset and ready to bind; NULL after logging. */
static sqlite3_stmt *kept(struct db *db, enum db_log_stmt which)
{
	if (!db->st[which] &&
	    sqlite3_prepare_v3(db->h->db, SQL[which], -1, SQLITE_PREPARE_PERSISTENT, &db->st[which],
			       NULL) != SQLITE_OK) {
		fprintf(stderr, "rampartd: preparing `%s': %s\n", SQL[which],
			sqlite3_errmsg(db->h->db));
		return NULL;
	}
	return db->st[which];
}

/* Steps a kept statement that returns no row, then resets it. */
static int kept_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT)
		return RP_E_EXISTS;
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "rampartd: `%.60s': %s\n", sqlite3_sql(st),
			sqlite3_errmsg(db->h->db));
		return RP_E_DB;
	}
	return 0;
}

/*
 * Stored hashes never change once written, so those at level 8 and above
 * (1/128 of them, but more than half the reads of a proof) are kept in
 * memory once read: 2.5 MB for a log of 10 million entries.
 */
#define CACHE_LEVEL_MIN 8

struct db_hcache {
	int64_t log;
	struct {
		uint8_t (*h)[RP_HASH_LEN];
		uint8_t *valid;
		uint64_t cap;
	} lv[64];
};

static struct db_hcache *hcache(struct db *db, int64_t log)
{
	struct db_hcache *c;

	for (size_t i = 0; i < db->nhcache; i++)
		if (db->hcache[i].log == log)
			return &db->hcache[i];
	if (!(c = realloc(db->hcache, (db->nhcache + 1) * sizeof(*c))))
		return NULL;
	db->hcache = c;
	c = &db->hcache[db->nhcache++];
	memset(c, 0, sizeof(*c));
	c->log = log;
	return c;
}

static bool cache_get(struct db *db, int64_t log, unsigned level, uint64_t index,
		      uint8_t out[RP_HASH_LEN])
{
	struct db_hcache *c = level >= CACHE_LEVEL_MIN ? hcache(db, log) : NULL;

	if (!c || index >= c->lv[level].cap || !c->lv[level].valid[index])
		return false;
	memcpy(out, c->lv[level].h[index], RP_HASH_LEN);
	return true;
}

static void cache_put(struct db *db, int64_t log, unsigned level, uint64_t index,
		      const uint8_t h[RP_HASH_LEN])
{
	struct db_hcache *c = level >= CACHE_LEVEL_MIN ? hcache(db, log) : NULL;

	if (!c)
		return;
	if (index >= c->lv[level].cap) {
		uint64_t cap = c->lv[level].cap ? c->lv[level].cap : 256;
		while (cap <= index)
			cap *= 2;
		uint8_t(*nh)[RP_HASH_LEN] = realloc(c->lv[level].h, cap * RP_HASH_LEN);
		if (nh)
			c->lv[level].h = nh;
		uint8_t *nv = nh ? realloc(c->lv[level].valid, cap) : NULL;
		if (!nh || !nv)
			return; /* no cache: reads go to SQLite */
		memset(nv + c->lv[level].cap, 0, cap - c->lv[level].cap);
		c->lv[level].valid = nv;
		c->lv[level].cap = cap;
	}
	memcpy(c->lv[level].h[index], h, RP_HASH_LEN);
	c->lv[level].valid[index] = 1;
}

void db_log_release(struct db *db)
{
	for (int i = 0; i < DB_LOG_NSTMT; i++) {
		sqlite3_finalize(db->st[i]);
		db->st[i] = NULL;
	}
	for (size_t i = 0; i < db->nhcache; i++) {
		for (int l = 0; l < 64; l++) {
			free(db->hcache[i].lv[l].h);
			free(db->hcache[i].lv[l].valid);
		}
	}
	free(db->hcache);
	db->hcache = NULL;
	db->nhcache = 0;
}

bool db_read_begin(struct db *db)
{
	return sqlite3_get_autocommit(db->h->db) &&
	       sqlite3_exec(db->h->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

void db_read_end(struct db *db, bool began)
{
	if (began)
		sqlite3_exec(db->h->db, "COMMIT", NULL, NULL, NULL);
}

static int read_hash(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct reader *rd = arg;
	struct db *db = rd->db;
	sqlite3_stmt *st;
	int rc;

	if (cache_get(db, rd->log, level, index, out))
		return 0;
	if (!(st = kept(db, DB_LOG_HASH_READ)))
		return RP_E_DB;
	sqlite3_bind_int64(st, 1, rd->log);
	sqlite3_bind_int64(st, 2, level);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == RP_HASH_LEN) {
		memcpy(out, sqlite3_column_blob(st, 0), RP_HASH_LEN);
		sqlite3_reset(st);
		cache_put(db, rd->log, level, index, out);
		return 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		fprintf(stderr,
			"%srampartd: log %lld: stored hash (%u, %llu) is missing or damaged\n",
			rp_log_prio(LOG_ERR), (long long)rd->log, level, (unsigned long long)index);
		return RP_E_DB;
	}
	fprintf(stderr, "rampartd: reading a log hash: %s\n", sqlite3_errmsg(db->h->db));
	return RP_E_DB;
}

#define LOG_COLS \
	"id, origin, size, signed_size, served_size, org, gen, state, ifnull(final_policy, 0)"

static void db_log_row(sqlite3_stmt *st, struct db_log *ret)
{
	const char *state = rp_sql_text(st, 7);

	memset(ret, 0, sizeof(*ret));
	ret->id = sqlite3_column_int64(st, 0);
	snprintf(ret->origin, sizeof(ret->origin), "%s", rp_sql_text(st, 1));
	ret->size = (uint64_t)sqlite3_column_int64(st, 2);
	ret->signed_size = sqlite3_column_int64(st, 3);
	ret->served_size = (uint64_t)sqlite3_column_int64(st, 4);
	snprintf(ret->org, sizeof(ret->org), "%s", rp_sql_text(st, 5));
	ret->gen = sqlite3_column_int64(st, 6);
	ret->state = !strcmp(state, "active")    ? DB_LOG_ACTIVE
		     : !strcmp(state, "retired") ? DB_LOG_RETIRED
						 : DB_LOG_NEXT;
	ret->final_policy = (uint64_t)sqlite3_column_int64(st, 8);
}

/* The one row st selects (LOG_COLS), finalized; RP_E_NOTFOUND when none. */
static int log_one(struct db *db, sqlite3_stmt *st, struct db_log *ret, const char *what)
{
	int r = rp_sql_step(db->h, st);

	if (r == 1)
		db_log_row(st, ret);
	sqlite3_finalize(st);
	return r == 1 ? 0 : r == 0 ? RP_E_NOTFOUND : db_ret(db, r, "reading %s", what);
}

int db_log_get(struct db *db, const char *org, struct db_log *ret)
{
	return log_one(db,
		       rp_sql_prep(db->h,
				   "SELECT " LOG_COLS
				   " FROM logs WHERE org = ? AND state = 'active'",
				   "t", org),
		       ret, "an org's log");
}

int db_log_get_by_id(struct db *db, int64_t log, struct db_log *ret)
{
	return log_one(db,
		       rp_sql_prep(db->h, "SELECT " LOG_COLS " FROM logs WHERE id = ?", "i", log),
		       ret, "a log");
}

int db_log_get_origin(struct db *db, const char *org, const char *origin, struct db_log *ret)
{
	return log_one(db,
		       rp_sql_prep(db->h,
				   "SELECT " LOG_COLS " FROM logs WHERE org = ? AND origin = ? AND "
				   "state != 'next'",
				   "tt", org, origin),
		       ret, "a log by its origin");
}

int db_log_get_gen(struct db *db, const char *org, int64_t gen, struct db_log *ret)
{
	return log_one(db,
		       rp_sql_prep(db->h,
				   "SELECT " LOG_COLS " FROM logs WHERE org = ? AND gen = ? AND "
				   "state != 'next'",
				   "ti", org, gen),
		       ret, "a log by its generation");
}

int db_log_get_next(struct db *db, const char *org, struct db_log *ret)
{
	return log_one(db,
		       rp_sql_prep(db->h,
				   "SELECT " LOG_COLS " FROM logs WHERE org = ? AND state = 'next'",
				   "t", org),
		       ret, "an org's next log");
}

int db_log_list(struct db *db, const char *org, struct db_log **ret, size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT " LOG_COLS " FROM logs WHERE org = ? AND "
				       "state != 'next' ORDER BY gen",
				       "t", org);
	struct db_log *v = NULL;
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		struct db_log *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		db_log_row(st, &v[n++]);
	}
	sqlite3_finalize(st);
	if (r < 0) {
		free(v);
		return db_ret(db, r, "listing the logs of %s", org);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int db_log_orgs(struct db *db, char ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT org FROM logs JOIN orgs ON orgs.name = logs.org "
				       "WHERE state = 'active' ORDER BY org",
				       "");
	char **v = NULL;
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		char **nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(rp_sql_text(st, 0)))) {
			v = nv ? nv : v;
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		n++;
	}
	sqlite3_finalize(st);
	if (r < 0) {
		while (n)
			free(v[--n]);
		free(v);
		return db_ret(db, r, "listing the logs");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The verifier key in the row st selects, checked to be an Ed25519 signer's. */
static int log_vkey(struct db *db, sqlite3_stmt *st, const char *what, struct rp_vkey *ret)
{
	struct rp_diag d = {""};
	struct rp_vkey v;
	int r = rp_sql_step(db->h, st);

	if (r == 1) {
		const char *s = rp_sql_text(st, 0);
		r = rp_vkey_parse(s, strlen(s), &v, &d);
		if (r == 0 && v.type != RP_KEY_ED25519) {
			rp_diagf(&d, "not an Ed25519 signer's key");
			r = RP_E_KEY;
		}
		if (r < 0) {
			char q[RP_KEYTEXT_MAX + 1];
			rp_quote(q, sizeof(q), s, strlen(s));
			fprintf(stderr,
				"rampartd: %s has no usable verifier key in the database "
				"(logs.vkey `%s': %s)\n",
				what, q, *s ? d.msg : "empty");
			r = RP_E_DB;
		} else {
			r = 1;
		}
	}
	sqlite3_finalize(st);
	if (r == 1)
		*ret = v;
	return r == 1 ? 0 : r == 0 ? RP_E_NOTFOUND : db_ret(db, r, "reading the key of %s", what);
}

int db_log_vkey(struct db *db, const char *org, struct rp_vkey *ret)
{
	char what[RP_ORG_NAME_MAX + 16];

	snprintf(what, sizeof(what), "the log of %s", org);
	return log_vkey(db,
			rp_sql_prep(db->h,
				    "SELECT vkey FROM logs WHERE org = ? AND state = 'active'", "t",
				    org),
			what, ret);
}

int db_log_vkey_by_id(struct db *db, int64_t log, struct rp_vkey *ret)
{
	char what[48];

	snprintf(what, sizeof(what), "log %lld", (long long)log);
	return log_vkey(db, rp_sql_prep(db->h, "SELECT vkey FROM logs WHERE id = ?", "i", log),
			what, ret);
}

/* A log row of the org: generation gen, in state ('active' or 'next'), named by v. */
static int log_insert(struct db *db, const char *org, int64_t gen, const char *state,
		      const struct rp_vkey *v, const char *what)
{
	char *text = rp_vkey_format(v);
	int r;

	if (!text)
		return RP_E_NOMEM;
	r = rp_sql_exec(db->h,
			"INSERT INTO logs (org, gen, state, origin, vkey, skey, created) "
			"VALUES (?, ?, ?, ?, ?, '', ?)",
			"tittti", org, gen, state, v->name, text, rp_now());
	free(text);
	return db_ret(db, r, "storing the %s of %s", what, org);
}

int db_log_create(struct db *db, const char *org, const struct rp_vkey *v)
{
	return log_insert(db, org, 1, "active", v, "log");
}

int db_log_create_next(struct db *db, const char *org, int64_t gen, const struct rp_vkey *v)
{
	return log_insert(db, org, gen, "next", v, "next log");
}

int db_log_switch(struct db *db, const char *org, uint64_t final_policy, int64_t *ret_log)
{
	struct db_log next;
	int r;

	if ((r = db_log_get_next(db, org, &next)) < 0)
		return r;
	if ((r = rp_sql_exec(db->h,
			     "UPDATE logs SET state = 'retired', final_policy = ? WHERE org = ? "
			     "AND state = 'active'",
			     "it", (int64_t)final_policy, org)) < 0 ||
	    (r = rp_sql_exec(db->h, "UPDATE logs SET state = 'active' WHERE id = ?", "i",
			     next.id)) < 0)
		return db_ret(db, r, "moving org %s to its next log", org);
	*ret_log = next.id;
	return 0;
}

void db_log_skeys_free(struct db_log_skey *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		if (v[i].skey)
			sodium_memzero(v[i].skey, strlen(v[i].skey));
		free(v[i].skey);
	}
	free(v);
}

int db_log_skeys(struct db *db, struct db_log_skey **ret, size_t *ret_n)
{
	sqlite3_stmt *st = rp_sql_prep(
		db->h, "SELECT id, org, origin, skey FROM logs WHERE skey != '' ORDER BY id", "");
	struct db_log_skey *v = NULL;
	size_t n = 0;
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1) {
		struct db_log_skey *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = RP_E_NOMEM;
			break;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = sqlite3_column_int64(st, 0);
		snprintf(v[n].org, sizeof(v[n].org), "%s", rp_sql_text(st, 1));
		snprintf(v[n].origin, sizeof(v[n].origin), "%s", rp_sql_text(st, 2));
		if (!(v[n++].skey = strdup(rp_sql_text(st, 3)))) {
			r = RP_E_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (r < 0) {
		db_log_skeys_free(v, n);
		return db_ret(db, r, "reading the log keys kept in the database");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * SQLite keeps what an UPDATE replaced in the page's free space, and every
 * earlier version of a logs row (it is rewritten on each append) too:
 * secure_delete zeroes what this transaction replaces, and db_scrub's
 * VACUUM rebuilds every page, so that no copy is left in the file.
 */
int db_log_skeys_forget(struct db *db, const struct db_log_skey *v, const struct rp_vkey *vkeys,
			size_t n)
{
	int r;

	if (sqlite3_exec(db->h->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "rampartd: PRAGMA secure_delete: %s\n", sqlite3_errmsg(db->h->db));
		return RP_E_DB;
	}
	if ((r = rp_sql_begin(db->h)) < 0)
		goto out;
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *text = rp_vkey_format(&vkeys[i]);
		r = text ? rp_sql_exec(
				   db->h,
				   "UPDATE logs SET vkey = ?, skey = '' WHERE id = ? AND skey = ?",
				   "tit", text, v[i].id, v[i].skey)
			 : RP_E_NOMEM;
		free(text);
		if (r == 0 && rp_sql_changes(db->h) != 1) {
			fprintf(stderr, "rampartd: the log key of %s changed while it was moved\n",
				v[i].org);
			r = RP_E_EXISTS;
		}
	}
	if (r == 0)
		r = rp_sql_exec(db->h, "INSERT INTO scrub_pending (since) VALUES (?)", "i",
				rp_now());
	r = rp_sql_finish(db->h, r);
out:
	sqlite3_exec(db->h->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
	return db_ret(db, r, "clearing the log keys from the database");
}

int db_scrub(struct db *db, bool *ret_scrubbed)
{
	sqlite3_stmt *st = rp_sql_prep(db->h, "SELECT 1 FROM scrub_pending LIMIT 1", "");
	int r = rp_sql_step(db->h, st), busy;

	sqlite3_finalize(st);
	if (r <= 0) {
		if (r == 0)
			*ret_scrubbed = false;
		return db_ret(db, r, "reading scrub_pending");
	}
	/* Every page rebuilt (through the WAL), then the WAL emptied into the file. */
	if ((r = rp_sql_exec(db->h, "VACUUM", "")) < 0)
		return db_ret(db, r, "rewriting the database without deleted secrets (VACUUM)");
	st = rp_sql_prep(db->h, "PRAGMA wal_checkpoint(TRUNCATE)", "");
	if ((r = rp_sql_step(db->h, st)) == 1) {
		busy = sqlite3_column_int(st, 0);
		r = busy ? RP_E_DB : 0;
		if (busy)
			fprintf(stderr,
				"rampartd: the WAL still holds deleted secrets: another process "
				"has the database open; stop it and start rampartd again\n");
	} else if (r == 0) {
		r = RP_E_DB;
	}
	sqlite3_finalize(st);
	if (r < 0)
		return db_ret(db, r, "checkpointing the WAL");
	if ((r = rp_sql_exec(db->h, "DELETE FROM scrub_pending", "")) < 0)
		return db_ret(db, r, "clearing scrub_pending");
	*ret_scrubbed = true;
	return 0;
}

int db_log_append(struct db *db, int64_t log, const void *data, size_t len, uint64_t *ret_index)
{
	struct reader rd = {db, log};
	struct rp_stored_hash h[64];
	uint8_t leaf[RP_HASH_LEN];
	sqlite3_stmt *st;
	uint64_t n = 0;
	size_t nh;
	int r, rc;

	if (len > RP_LOG_ENTRY_MAX)
		return RP_E_TOOBIG;
	if (!(st = kept(db, DB_LOG_SIZE_READ)))
		return RP_E_DB;
	sqlite3_bind_int64(st, 1, log);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? RP_E_NOTFOUND : RP_E_DB;
	rp_merkle_leaf_hash(data, len, leaf);
	if ((r = rp_merkle_append(n, leaf, read_hash, &rd, h, &nh)) < 0)
		return r;
	if (!(st = kept(db, DB_LOG_ENTRY_INSERT)))
		return RP_E_DB;
	sqlite3_bind_int64(st, 1, log);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	sqlite3_bind_blob64(st, 3, len ? data : "", len, SQLITE_STATIC);
	r = kept_done(db, st);
	for (size_t i = 0; r == 0 && i < nh; i++) {
		if (!(st = kept(db, DB_LOG_HASH_INSERT)))
			return RP_E_DB;
		sqlite3_bind_int64(st, 1, log);
		sqlite3_bind_int64(st, 2, h[i].level);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)h[i].index);
		sqlite3_bind_blob(st, 4, h[i].hash, RP_HASH_LEN, SQLITE_STATIC);
		r = kept_done(db, st);
	}
	if (r == 0 && (st = kept(db, DB_LOG_SIZE_WRITE))) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)n + 1);
		sqlite3_bind_int64(st, 2, log);
		r = kept_done(db, st);
	} else if (r == 0) {
		r = RP_E_DB;
	}
	if (r == 0)
		*ret_index = n;
	return r;
}

int db_log_append_batch(struct db *db, int64_t log, const void *const *data, const size_t *len,
			size_t count)
{
	uint64_t idx;
	int r;

	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "appending to log %lld", (long long)log);
	for (size_t i = 0; r == 0 && i < count; i++)
		r = db_log_append(db, log, data[i], len[i], &idx);
	return db_ret(db, rp_sql_finish(db->h, r), "appending to log %lld", (long long)log);
}

int db_log_tree_hash(struct db *db, int64_t log, uint64_t size, uint8_t out[RP_HASH_LEN])
{
	struct reader rd = {db, log};
	bool began = db_read_begin(db);
	int r = rp_merkle_tree_hash(size, read_hash, &rd, out);

	db_read_end(db, began);
	return r;
}

int db_log_prove_inclusion(struct db *db, int64_t log, uint64_t index, uint64_t size,
			   uint8_t (*out)[RP_HASH_LEN], size_t *ret_n)
{
	struct reader rd = {db, log};
	bool began = db_read_begin(db);
	int r = rp_merkle_prove_inclusion(index, size, read_hash, &rd, out, ret_n);

	db_read_end(db, began);
	return r;
}

int db_log_prove_consistency(struct db *db, int64_t log, uint64_t size1, uint64_t size2,
			     uint8_t (*out)[RP_HASH_LEN], size_t *ret_n)
{
	struct reader rd = {db, log};

	bool began;
	int r;

	if (size1 == 0 || size1 == size2) {
		*ret_n = 0;
		return 0;
	}
	began = db_read_begin(db);
	r = rp_merkle_prove_consistency(size1, size2, read_hash, &rd, out, ret_n);
	db_read_end(db, began);
	return r;
}

int db_log_tile(struct db *db, int64_t log, const struct rp_tile *t, uint64_t size,
		struct rp_sb *out)
{
	sqlite3_stmt *st;
	uint64_t first = t->index * RP_TILE_WIDTH, count = 0;
	int r;

	/* rp_tile_parse refuses such an index; here too, first must not have wrapped around */
	if (t->index >= RP_LOG_LEAVES_MAX / RP_TILE_WIDTH)
		return RP_E_NOTFOUND;
	if (t->level == RP_TILE_ENTRIES) {
		if (first + t->width > size)
			return RP_E_NOTFOUND;
		st = rp_sql_prep(db->h,
				 "SELECT data FROM log_entries WHERE log = ? AND idx >= ? "
				 "ORDER BY idx LIMIT ?",
				 "iii", log, (int64_t)first, (int64_t)t->width);
	} else {
		unsigned level = (unsigned)t->level * RP_TILE_HEIGHT;
		/* the tile's hashes must all lie inside the tree of `size' leaves */
		if (level >= 64 || (first + t->width) > (size >> level))
			return RP_E_NOTFOUND;
		st = rp_sql_prep(db->h,
				 "SELECT hash FROM log_hashes WHERE log = ? AND level = ? AND "
				 "idx >= ? ORDER BY idx LIMIT ?",
				 "iiii", log, (int64_t)level, (int64_t)first, (int64_t)t->width);
	}
	while ((r = rp_sql_step(db->h, st)) == 1) {
		const void *p = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (t->level != RP_TILE_ENTRIES)
			rp_sb_put(out, p, n);
		else if (rp_bundle_put(out, p, n) == RP_E_TOOBIG) {
			/* db_log_append refuses such an entry: the row was written behind our back.
			 */
			fprintf(stderr,
				"rampartd: log %lld: entry %llu is %zu bytes, more than an "
				"entry bundle can carry\n",
				(long long)log, (unsigned long long)(first + count), n);
			r = RP_E_DB;
		}
		if (r < 0)
			break;
		count++;
	}
	sqlite3_finalize(st);
	if (r < 0)
		return db_ret(db, r, "reading a tile of log %lld", (long long)log);
	if (count != t->width) {
		fprintf(stderr, "rampartd: log %lld: tile has %llu of %u rows\n", (long long)log,
			(unsigned long long)count, t->width);
		return RP_E_DB;
	}
	return out->err ? RP_E_NOMEM : 0;
}

int db_log_set_signed(struct db *db, int64_t log, uint64_t size, const char *note)
{
	int r = rp_sql_exec(db->h, "UPDATE logs SET signed_size = ?, signed_note = ? WHERE id = ?",
			    "iti", (int64_t)size, note, log);

	return db_ret(db, r, "storing the signed checkpoint of log %lld", (long long)log);
}

/* Copies a text column into a malloc'd string. */
static int text_column(struct db *db, sqlite3_stmt *st, char **ret)
{
	int r = rp_sql_step(db->h, st);

	if (r == 1) {
		char *s = strdup(rp_sql_text(st, 0));
		r = s ? 0 : RP_E_NOMEM;
		if (s)
			*ret = s;
	} else if (r == 0) {
		r = RP_E_NOTFOUND;
	}
	sqlite3_finalize(st);
	return db_ret(db, r, "reading a checkpoint");
}

int db_log_signed_note(struct db *db, int64_t log, char **ret)
{
	return text_column(
		db, rp_sql_prep(db->h, "SELECT signed_note FROM logs WHERE id = ?", "i", log), ret);
}

int db_log_served_note(struct db *db, int64_t log, char **ret)
{
	return text_column(
		db, rp_sql_prep(db->h, "SELECT served_note FROM logs WHERE id = ?", "i", log), ret);
}

int db_log_set_served(struct db *db, int64_t log, uint64_t size, const char *note)
{
	int r = rp_sql_exec(db->h,
			    "UPDATE logs SET served_size = ?, served_note = ? WHERE id = ? AND "
			    "served_size <= ?",
			    "itii", (int64_t)size, note, log, (int64_t)size);

	return db_ret(db, r, "storing the served checkpoint of log %lld", (long long)log);
}

int db_log_witness_get(struct db *db, int64_t log, const char *witness, uint64_t *ret_size,
		       uint64_t *ret_cosig_size, int64_t *ret_cosig_time)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT size, cosig_size, cosig_time FROM log_witnesses "
				       "WHERE log = ? AND witness = ?",
				       "it", log, witness);
	int r = rp_sql_step(db->h, st);

	*ret_size = r == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	*ret_cosig_size = r == 1 ? (uint64_t)sqlite3_column_int64(st, 1) : UINT64_MAX;
	*ret_cosig_time = r == 1 ? sqlite3_column_int64(st, 2) : 0;
	sqlite3_finalize(st);
	return r < 0 ? db_ret(db, r, "reading what witness %s cosigned", witness) : 0;
}

int db_log_witness_set(struct db *db, int64_t log, const char *witness, uint64_t size,
		       const char *cosig, int64_t cosig_time)
{
	int r;

	if (!cosig)
		r = rp_sql_exec(db->h,
				"INSERT INTO log_witnesses (log, witness, size) VALUES (?, ?, ?) "
				"ON CONFLICT (log, witness) DO UPDATE SET size = excluded.size",
				"iti", log, witness, (int64_t)size);
	else
		r = rp_sql_exec(
			db->h,
			"INSERT INTO log_witnesses (log, witness, size, cosig, cosig_size, "
			"cosig_time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (log, witness) DO "
			"UPDATE SET size = excluded.size, cosig = excluded.cosig, cosig_size = "
			"excluded.cosig_size, cosig_time = excluded.cosig_time",
			"ititii", log, witness, (int64_t)size, cosig, (int64_t)size, cosig_time);
	return db_ret(db, r, "storing what witness %s cosigned", witness);
}

int db_log_cosigs(struct db *db, int64_t log, uint64_t size, struct rp_sb *out)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT cosig FROM log_witnesses WHERE log = ? AND "
				       "cosig_size = ? ORDER BY witness",
				       "ii", log, (int64_t)size);
	int r;

	while ((r = rp_sql_step(db->h, st)) == 1)
		rp_sb_puts(out, rp_sql_text(st, 0));
	sqlite3_finalize(st);
	return r < 0      ? db_ret(db, r, "reading the cosignatures of log %lld", (long long)log)
	       : out->err ? RP_E_NOMEM
			  : 0;
}

int db_log_entries(struct db *db, int64_t log, uint64_t from, uint64_t to, size_t max_bytes,
		   size_t max_n, db_entry_fn fn, void *arg, uint64_t *ret_end)
{
	sqlite3_stmt *st;
	uint64_t next = from;
	size_t bytes = 0;
	int r;

	st = rp_sql_prep(db->h,
			 "SELECT idx, data FROM log_entries WHERE log = ? AND idx >= ? AND idx < ? "
			 "ORDER BY idx LIMIT ?",
			 "iiii", log, (int64_t)from, (int64_t)to, (int64_t)max_n);
	while ((r = rp_sql_step(db->h, st)) == 1) {
		const void *p = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if ((uint64_t)sqlite3_column_int64(st, 0) != next) {
			fprintf(stderr, "%srampartd: log %lld: entry %llu is missing\n",
				rp_log_prio(LOG_ERR), (long long)log, (unsigned long long)next);
			r = RP_E_DB;
			break;
		}
		/* at least one entry, then only while the next fits */
		if (next > from && bytes + n > max_bytes)
			break;
		if ((r = fn(arg, p, n)) < 0)
			break;
		bytes += n;
		next++;
	}
	sqlite3_finalize(st);
	if (r < 0)
		return db_ret(db, r, "reading entries of log %lld", (long long)log);
	*ret_end = next;
	return 0;
}
