/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The package store (docs/api.md, "Packages"): agent package files, kept
 * as RP_PACKAGE_CHUNK pieces so that neither an upload nor a download
 * ever holds more than one piece in a request (schema: db.c, migration
 * 14). The store is not trusted with them: a package is named by its
 * SHA-256, checked here only so that an administrator's typo fails at
 * once; every device and every enrol line checks the hash again against
 * what the administrators signed (lib/release.h).
 */
#include "db.h"
#include "sql/sql.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "util.h"

/* The hash of a complete package's pieces, in order, equal to hex: 0, RP_E_PAYLOAD, or an error. */
static int check_hash(struct db *db, const char *org, const char *hex)
{
	sqlite3_stmt *st =
		rp_sql_prep(db->h,
			    "SELECT data FROM package_chunks WHERE org = ? AND sha256 = ? "
			    "ORDER BY seq",
			    "tt", org, hex);
	crypto_hash_sha256_state hs;
	uint8_t h[32];
	char got[65];
	int r;

	crypto_hash_sha256_init(&hs);
	while ((r = rp_sql_step(db->h, st)) == 1)
		crypto_hash_sha256_update(&hs, sqlite3_column_blob(st, 0),
					  (unsigned long long)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	crypto_hash_sha256_final(&hs, h);
	rp_hex_encode(h, 32, got);
	return strcmp(got, hex) == 0 ? 0 : RP_E_PAYLOAD;
}

int db_package_put(struct db *db, const char *org, const char *hex, uint64_t size, uint64_t offset,
		   const void *data, size_t len, const char *who)
{
	sqlite3_stmt *st;
	int64_t have = -1, complete = 0, stored_size = 0, count = 0;
	int r;

	if (size == 0 || size > RP_PACKAGE_MAX || offset % RP_PACKAGE_CHUNK != 0 ||
	    offset >= size ||
	    len != (size - offset < RP_PACKAGE_CHUNK ? size - offset : RP_PACKAGE_CHUNK))
		return RP_E_INVAL;
	if ((r = rp_sql_begin(db->h)) < 0)
		return db_ret(db, r, "storing package %s", hex);
	st = rp_sql_prep(db->h,
			 "SELECT have, complete, size FROM packages WHERE org = ? AND sha256 = ?",
			 "tt", org, hex);
	if ((r = rp_sql_step(db->h, st)) == 1) {
		have = sqlite3_column_int64(st, 0);
		complete = sqlite3_column_int64(st, 1);
		stored_size = sqlite3_column_int64(st, 2);
		r = 0;
	}
	sqlite3_finalize(st);
	if (r == 0 && have < 0) {
		st = rp_sql_prep(db->h, "SELECT count(*) FROM packages WHERE org = ?", "t", org);
		if ((r = rp_sql_step(db->h, st)) == 1) {
			count = sqlite3_column_int64(st, 0);
			r = 0;
		}
		sqlite3_finalize(st);
	}
	if (r < 0)
		goto out;
	if (complete) {
		r = (uint64_t)stored_size == size ? RP_E_EXISTS : RP_E_CONFLICT;
		goto out;
	}
	if (have >= 0 && offset == 0) { /* an upload started again from its first piece */
		r = rp_sql_exec(db->h, "DELETE FROM package_chunks WHERE org = ? AND sha256 = ?",
				"tt", org, hex);
		if (r == 0)
			r = rp_sql_exec(db->h,
					"UPDATE packages SET have = 0, size = ?, created = ?, "
					"created_by = ? WHERE org = ? AND sha256 = ?",
					"iittt", (int64_t)size, rp_now(), who, org, hex);
		have = 0;
	} else if (have < 0 && offset == 0) {
		if (count >= RP_PACKAGES_MAX) {
			r = RP_E_TOOBIG;
			goto out;
		}
		r = rp_sql_exec(db->h,
				"INSERT INTO packages (org, sha256, size, created, created_by) "
				"VALUES (?, ?, ?, ?, ?)",
				"ttiit", org, hex, (int64_t)size, rp_now(), who);
		have = 0;
	} else if (have < 0 || (uint64_t)have != offset || (uint64_t)stored_size != size) {
		r = RP_E_CONFLICT; /* pieces in order, of one size: the next is at `have' */
		goto out;
	}
	if (r == 0)
		r = rp_sql_exec(
			db->h,
			"INSERT INTO package_chunks (org, sha256, seq, data) VALUES (?, ?, ?, ?)",
			"ttib", org, hex, (int64_t)(offset / RP_PACKAGE_CHUNK), data, len);
	if (r == 0)
		r = rp_sql_exec(db->h, "UPDATE packages SET have = ? WHERE org = ? AND sha256 = ?",
				"itt", (int64_t)(offset + len), org, hex);
	if (r == 0 && offset + len == size) {
		if ((r = check_hash(db, org, hex)) == RP_E_PAYLOAD) {
			/* not what it is named: nothing of it is kept */
			rp_sql_finish(db->h, RP_E_PAYLOAD);
			if (rp_sql_begin(db->h) == 0) {
				int k = rp_sql_exec(db->h,
						    "DELETE FROM package_chunks WHERE org = ? AND "
						    "sha256 = ?",
						    "tt", org, hex);
				if (k == 0)
					k = rp_sql_exec(db->h,
							"DELETE FROM packages WHERE org = ? AND "
							"sha256 = ?",
							"tt", org, hex);
				rp_sql_finish(db->h, k);
			}
			return RP_E_PAYLOAD;
		}
		if (r == 0)
			r = rp_sql_exec(
				db->h,
				"UPDATE packages SET complete = 1 WHERE org = ? AND sha256 = ?",
				"tt", org, hex);
		if (r == 0)
			r = 1;
	}
out : {
	int k = rp_sql_finish(db->h, r < 0 ? r : 0);
	return k < 0 ? db_ret(db, k, "storing package %s", hex) : r;
}
}

int db_package_info(struct db *db, const char *org, const char *hex, uint64_t *ret_size)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT size FROM packages WHERE org = ? AND sha256 = ? AND "
				       "complete = 1",
				       "tt", org, hex);
	int r = rp_sql_step(db->h, st);

	if (r == 1)
		*ret_size = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r < 0 ? db_ret(db, r, "looking up package %s", hex) : r == 1 ? 0 : RP_E_NOTFOUND;
}

int db_package_read(struct db *db, const char *org, const char *hex, uint64_t from, uint64_t to,
		    uint8_t *out)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT seq, data FROM package_chunks WHERE org = ? AND "
				       "sha256 = ? AND seq >= ? AND seq < ? ORDER BY seq",
				       "ttii", org, hex, (int64_t)(from / RP_PACKAGE_CHUNK),
				       (int64_t)((to + RP_PACKAGE_CHUNK - 1) / RP_PACKAGE_CHUNK));
	uint64_t at = from;
	int r;

	if (from % RP_PACKAGE_CHUNK != 0 || to < from) {
		sqlite3_finalize(st);
		return RP_E_INVAL;
	}
	while ((r = rp_sql_step(db->h, st)) == 1) {
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if ((uint64_t)sqlite3_column_int64(st, 0) * RP_PACKAGE_CHUNK != at || n > to - at) {
			r = RP_E_IO; /* a piece missing, or longer than the package */
			break;
		}
		memcpy(out + (at - from), sqlite3_column_blob(st, 1), n);
		at += n;
	}
	sqlite3_finalize(st);
	if (r == 0 && at != to)
		r = RP_E_IO;
	return r == RP_E_DB ? db_ret(db, r, "reading package %s", hex) : r;
}

int db_packages_json(struct db *db, const char *org, json_t **ret)
{
	sqlite3_stmt *st = rp_sql_prep(db->h,
				       "SELECT sha256, size, have, complete, created, created_by "
				       "FROM packages WHERE org = ? ORDER BY created, sha256",
				       "t", org);
	json_t *a = json_array();
	int r = RP_E_NOMEM;

	while (a && (r = rp_sql_step(db->h, st)) == 1) {
		json_t *o = json_pack(
			"{s:s, s:I, s:I, s:b, s:I, s:s}", "sha256", rp_sql_text(st, 0), "size",
			sqlite3_column_int64(st, 1), "stored", sqlite3_column_int64(st, 2),
			"complete", sqlite3_column_int64(st, 3) != 0, "created",
			sqlite3_column_int64(st, 4), "created_by", rp_sql_text(st, 5));
		if (!o || json_array_append_new(a, o) < 0) {
			r = RP_E_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (r < 0) {
		json_decref(a);
		return db_ret(db, r, "listing packages");
	}
	*ret = a;
	return 0;
}
