/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `make bench-log` (also run by `make bench`): the transparency log in
 * rampartd's SQLite, measured on fresh databases in a temporary directory
 * opened by db_open (WAL, synchronous=FULL), through the server's own
 * db-log.c and the library the agent and the auditor run:
 *
 *   1. appends (db_log_append_batch) of ~600-byte signed statements in
 *      batches of 1, 100 and 1000, the last up to BENCH_LOG_N entries;
 *   2. inclusion and consistency proofs (db_log_prove_*) at random
 *      indexes and sizes of that log and of a BENCH_LOG_BIG log, as
 *      db-log.c runs them and inside one read transaction per proof (a
 *      fix it does not have yet), with the stored hashes read per proof;
 *   3. an agent's check of one delivery (rp_delivery_parse +
 *      rp_verify_delivery): 2-of-3 exec signatures, a checkpoint signed by
 *      the log key and cosigned by 2 witnesses, inclusion and consistency
 *      proofs from the log;
 *   4. the auditor's replay (rp_audit_entry) of the whole log, read as the
 *      server reads entry bundles (db_log_tile), where its time goes, and
 *      a threaded prototype of the fix (each signature verified once);
 *   5. bytes per entry on disk after a WAL checkpoint, per table (dbstat).
 *
 * The statements are a pool of BENCH_LOG_POOL distinct signed ones, cycled
 * through: signing two per entry would take longer than everything else.
 * Prints one line per figure, then a table for docs/performance.md.
 *
 * Environment (defaults in brackets):
 *   BENCH_LOG_N       entries of the main log [1000000]
 *   BENCH_LOG_B1      entries appended one per transaction [2000]
 *   BENCH_LOG_B100    entries appended 100 per transaction [100000]
 *   BENCH_LOG_PROOFS  proofs timed per kind and size [20000]
 *   BENCH_LOG_VERIFY  delivery checks timed [2000]
 *   BENCH_LOG_AUDIT   entries the auditor replays [BENCH_LOG_N]
 *   BENCH_LOG_POOL    distinct signed statements cycled through [65536]
 *   BENCH_LOG_BIG     entries of the big log, for proofs; 0: skipped
 *                     [10000000: about 5.5 minutes and 7.7 GB of disk here]
 *   BENCH_LOG_DIR     parent of the temporary directory [$TMPDIR or /tmp]
 *   BENCH_LOG_KEEP    1: keep the databases
 *   BENCH_LOG_PRAGMA  SQL run on each connection after db_open, for
 *                     experiments (e.g. "PRAGMA cache_size=-65536")
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "checkpoint.h"
#include "db.h"
#include "machine.h"
#include "note.h"
#include "policy.h"
#include "rp_err.h"
#include "sql/sql.h"
#include "statement.h"
#include "verify.h"

#define NOW     1795000000 /* 2026-11-18T11:06:40Z: statements and cosignatures are fresh then */
#define SKEW    300
#define ORG     "acme"
#define HOST    "example.com"
#define DEV     "00112233445566778899aabbccddeeff"
#define PAYLOAD "#!/bin/sh\nset -eu\nsystemctl reload nginx\ncurl -fsS http://127.0.0.1/healthz\n"

/* ---- small helpers ---- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("logbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		die("%s=%s is not a number", name, s);
	return (uint64_t)v;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: reproducible runs. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double median, p99, max, mean;
};

/* Sorts v. */
static struct stats stats_of(double *v, size_t n)
{
	struct stats s = {0};
	double sum = 0;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.p99 = v[(size_t)(0.99 * (double)(n - 1) + 0.5)];
	s.max = v[n - 1];
	s.mean = sum / (double)n;
	return s;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- keys, the root policy and the statements ---- */

static void make_skey(const char *name, uint8_t seed, struct rp_skey *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	memset(k->seed, seed, sizeof(k->seed));
	crypto_sign_seed_keypair(k->pub, k->sk, k->seed);
	k->id = rp_key_id(k->name, strlen(k->name), RP_KEY_ED25519, k->pub);
}

static struct rp_skey admins[3], log_key, witnesses[2];

static void make_keys(void)
{
	static const char *const names[3] = {"alice.example", "bob.example", "carol.example"};

	for (int i = 0; i < 3; i++)
		make_skey(names[i], (uint8_t)(0x11 * (i + 1)), &admins[i]);
	make_skey(HOST "/rampart/" ORG, 0x55, &log_key);
	make_skey("witness1.example", 0x44, &witnesses[0]);
	make_skey("witness2.example", 0x66, &witnesses[1]);
}

/* text signed by admins a then b: a whole note, malloc'd. */
static char *sign2(const char *text, size_t len, int a, int b, size_t *ret_len)
{
	struct rp_note *n = NULL;
	char *first, *both;
	size_t flen;

	if (rp_note_sign(text, len, NULL, &admins[a], &first, &flen) < 0 ||
	    rp_note_parse(first, flen, &n, NULL) < 0 ||
	    rp_note_sign(text, len, n, &admins[b], &both, ret_len) < 0)
		die("cannot sign a note");
	rp_note_free(n);
	free(first);
	return both;
}

/* The root policy (entry 0): 3 admins, exec 2 of 3, the log key and both witnesses. */
static char *policy_note(size_t *ret_len)
{
	static const char roles[] = "alice.example bob.example carol.example";
	struct rp_sb sb;
	struct rp_vkey vk;
	char t[21], *s, *text, *note;
	size_t len;

	rp_time_format(4102444800, t); /* 2100-01-01 */
	rp_sb_init(&sb, 16384);
	rp_sb_printf(&sb, "rampart/policy/v1\norg " ORG "\nversion 1\nexpires %s\n", t);
	for (int i = 0; i < 3; i++) {
		rp_skey_vkey(&admins[i], &vk);
		s = rp_vkey_format(&vk);
		rp_sb_printf(&sb, "key %s\n", s ? s : "");
		free(s);
	}
	rp_sb_printf(&sb, "role root 2 %s\nrole exec 2 %s\nrole query 1 %s\nrole directory 2 %s\n",
		     roles, roles, roles, roles);
	rp_sb_puts(&sb, "freshness 3600\n");
	rp_skey_vkey(&log_key, &vk);
	s = rp_vkey_format(&vk);
	rp_sb_printf(&sb, "log %s\n", s ? s : "");
	free(s);
	for (int i = 0; i < 2; i++) {
		rp_cosig_vkey(&witnesses[i], &vk);
		s = rp_vkey_format(&vk);
		rp_sb_printf(&sb, "witness w%d %s\n", i + 1, s ? s : "");
		free(s);
	}
	rp_sb_puts(&sb, "group both all w1 w2\nquorum both\n");
	if (!(text = rp_sb_take(&sb, &len)))
		die("policy text too long");
	note = sign2(text, len, 0, 1, ret_len);
	free(text);
	return note;
}

/*
 * Statement i: an exec command for DEV and one other device, with a
 * comment, signed by two of the three admins (the pair rotates).
 */
static char *statement_note(uint64_t i, size_t *ret_len)
{
	static const int pairs[3][2] = {{0, 1}, {1, 2}, {0, 2}};
	char targets[2][RP_TARGET_MAX + 1];
	struct rp_command c = {0};
	uint8_t h[32];
	char seed[64], *text, *note;
	size_t len;

	snprintf(c.org, sizeof(c.org), ORG);
	snprintf(seed, sizeof(seed), "statement %llu", (unsigned long long)i);
	rp_sha256(seed, strlen(seed), h);
	rp_hex_encode(h, 16, c.id);
	c.not_before = NOW - 60;
	c.expires = NOW + 3600;
	snprintf(c.run_as, sizeof(c.run_as), "deploy");
	c.timeout = 300;
	rp_sha256(PAYLOAD, strlen(PAYLOAD), c.payload_hash);
	c.payload_size = strlen(PAYLOAD);
	snprintf(targets[0], sizeof(targets[0]), DEV);
	rp_hex_encode(h + 16, 16, targets[1]);
	c.targets = targets;
	c.ntargets = 2;
	snprintf(c.comment, sizeof(c.comment),
		 "reload nginx after the certificate renewal, change %llu",
		 (unsigned long long)(10000 + i));
	if (!(text = rp_command_format(&c, &len)))
		die("cannot format a statement");
	note = sign2(text, len, pairs[i % 3][0], pairs[i % 3][1], ret_len);
	free(text);
	return note;
}

struct corpus {
	char *policy;
	size_t policy_len;
	size_t n;
	char **stmt;
	size_t *len;
};

static struct corpus corpus;

/* Entry i of every log built here: the policy, then the statements in turn. */
static void entry(uint64_t i, const void **p, size_t *len)
{
	if (i == 0) {
		*p = corpus.policy;
		*len = corpus.policy_len;
	} else {
		*p = corpus.stmt[(i - 1) % corpus.n];
		*len = corpus.len[(i - 1) % corpus.n];
	}
}

/* ---- the databases ---- */

static char tmpdir[4096];

/* db_open, without its "schema migrated" lines. */
static void open_db(struct db *db, const char *path, int64_t *ret_log)
{
	struct rp_skey k;
	struct rp_vkey v;
	struct db_log lg;
	int saved, nul, r;

	fflush(stderr);
	saved = dup(2);
	nul = open("/dev/null", O_WRONLY);
	if (saved >= 0 && nul >= 0)
		dup2(nul, 2);
	memset(db, 0, sizeof(*db));
	r = db_open(db, path, true);
	fflush(stderr);
	if (saved >= 0 && nul >= 0)
		dup2(saved, 2);
	if (saved >= 0)
		close(saved);
	if (nul >= 0)
		close(nul);
	if (r < 0 && db_open(db, path, true) < 0) /* again, to show why */
		die("cannot open %s", path);
	if (getenv("BENCH_LOG_PRAGMA") && *getenv("BENCH_LOG_PRAGMA") &&
	    sqlite3_exec(db->h->db, getenv("BENCH_LOG_PRAGMA"), NULL, NULL, NULL) != SQLITE_OK)
		die("BENCH_LOG_PRAGMA: %s", sqlite3_errmsg(db->h->db));
	/* Only the row: the benchmark signs nothing with it. */
	if (rp_skey_generate(HOST "/rampart/" ORG, &k) < 0)
		die("cannot make a log key");
	rp_skey_vkey(&k, &v);
	rp_skey_wipe(&k);
	if (db_log_create(db, ORG, &v) < 0 || db_log_get(db, ORG, &lg) < 0)
		die("cannot create the log in %s", path);
	*ret_log = lg.id;
}

static void remove_db(const char *path)
{
	char p[4200];

	if (getenv("BENCH_LOG_KEEP") && strcmp(getenv("BENCH_LOG_KEEP"), "1") == 0)
		return;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void db_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Appends entries [from, to) in transactions of batch; returns seconds. */
static double append_range(struct db *db, int64_t log, uint64_t from, uint64_t to, size_t batch)
{
	const void **data = xmalloc(batch * sizeof(*data));
	size_t *len = xmalloc(batch * sizeof(*len));
	double t0 = now_s();

	for (uint64_t i = from; i < to;) {
		size_t k = 0;
		for (; k < batch && i < to; k++, i++)
			entry(i, &data[k], &len[k]);
		if (db_log_append_batch(db, log, data, len, k) < 0)
			die("append of entries up to %llu failed", (unsigned long long)i);
	}
	free(data);
	free(len);
	return now_s() - t0;
}

static void wal_checkpoint(struct db *db)
{
	if (sqlite3_exec(db->h->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) !=
	    SQLITE_OK)
		die("wal_checkpoint: %s", sqlite3_errmsg(db->h->db));
}

struct storage {
	double file; /* bytes per entry */
	double entries, entries_payload, hashes, hashes_payload, other;
	bool dbstat;
	uint64_t file_bytes;
};

static struct storage storage(struct db *db, const char *path, uint64_t n)
{
	struct storage s = {0};
	struct stat stt;
	sqlite3_stmt *st;

	wal_checkpoint(db);
	if (stat(path, &stt) < 0)
		die("stat %s: %s", path, strerror(errno));
	s.file_bytes = (uint64_t)stt.st_size;
	s.file = (double)stt.st_size / (double)n;
	if (sqlite3_prepare_v2(db->h->db,
			       "SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "logbench: no dbstat table (%s): per-table figures skipped\n",
			sqlite3_errmsg(db->h->db));
		return s;
	}
	s.dbstat = true;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		double bytes = (double)sqlite3_column_int64(st, 1) / (double)n;
		double payload = (double)sqlite3_column_int64(st, 2) / (double)n;
		if (name && strcmp(name, "log_entries") == 0) {
			s.entries = bytes;
			s.entries_payload = payload;
		} else if (name && strcmp(name, "log_hashes") == 0) {
			s.hashes = bytes;
			s.hashes_payload = payload;
		} else {
			s.other += bytes;
		}
	}
	sqlite3_finalize(st);
	return s;
}

static void print_storage(const char *what, const struct storage *s, uint64_t n)
{
	printf("storage, %s (%llu entries): file %.1f MB = %.0f B/entry", what,
	       (unsigned long long)n, (double)s->file_bytes / 1e6, s->file);
	if (s->dbstat)
		printf("; log_entries %.0f B/entry (%.0f of row payload), log_hashes %.0f B/entry "
		       "(%.0f of row payload), everything else %.2f B/entry",
		       s->entries, s->entries_payload, s->hashes, s->hashes_payload, s->other);
	printf("\n");
}

/* ---- proofs ---- */

struct proof_stats {
	struct stats incl, cons;
	double incl_len, cons_len;
};

/*
 * With txn, each proof runs inside one read transaction (BEGIN ... COMMIT)
 * instead of one implicit transaction per stored hash read: what db-log.c
 * could do itself (docs/performance.md).
 */
static void begin_read(struct db *db, bool txn)
{
	if (txn && sqlite3_exec(db->h->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		die("BEGIN: %s", sqlite3_errmsg(db->h->db));
}

static void end_read(struct db *db, bool txn)
{
	if (txn && sqlite3_exec(db->h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("COMMIT: %s", sqlite3_errmsg(db->h->db));
}

/* Random proofs; the same sequence whatever txn is. */
static struct proof_stats time_proofs(struct db *db, int64_t log, uint64_t n, size_t count,
				      bool txn)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	uint8_t root1[RP_HASH_LEN], root2[RP_HASH_LEN], leaf[RP_HASH_LEN];
	double *v = xmalloc(count * sizeof(*v));
	struct proof_stats ps = {0};
	size_t np, total = 0;

	if (n < 2)
		die("proofs need a log of at least 2 entries");
	rng_state = 0x2545f4914f6cdd1dull;
	/* A few checked against the tree first, untimed: the figures are of right answers. */
	for (int i = 0; i < 50; i++) {
		uint64_t size = 1 + rnd() % n, idx = rnd() % size, size1 = 1 + rnd() % size;
		const void *p;
		size_t len;
		entry(idx, &p, &len);
		rp_merkle_leaf_hash(p, len, leaf);
		if (db_log_tree_hash(db, log, size, root2) < 0 ||
		    db_log_prove_inclusion(db, log, idx, size, proof, &np) < 0 ||
		    rp_merkle_verify_inclusion(idx, size, leaf,
					       (const uint8_t(*)[RP_HASH_LEN])proof, np, root2,
					       NULL) < 0)
			die("inclusion proof of %llu in %llu does not verify",
			    (unsigned long long)idx, (unsigned long long)size);
		if (db_log_tree_hash(db, log, size1, root1) < 0 ||
		    db_log_prove_consistency(db, log, size1, size, proof, &np) < 0 ||
		    rp_merkle_verify_consistency(size1, size, root1, root2,
						 (const uint8_t(*)[RP_HASH_LEN])proof, np,
						 NULL) < 0)
			die("consistency proof %llu -> %llu does not verify",
			    (unsigned long long)size1, (unsigned long long)size);
	}
	for (size_t i = 0; i < count; i++) {
		uint64_t size = 1 + rnd() % n, idx = rnd() % size;
		double t0 = now_s();
		begin_read(db, txn);
		if (db_log_prove_inclusion(db, log, idx, size, proof, &np) < 0)
			die("inclusion proof failed");
		end_read(db, txn);
		v[i] = (now_s() - t0) * 1e6;
		total += np;
	}
	ps.incl = stats_of(v, count);
	ps.incl_len = (double)total / (double)count;
	total = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t size2 = 2 + rnd() % (n - 1), size1 = 1 + rnd() % (size2 - 1);
		double t0 = now_s();
		begin_read(db, txn);
		if (db_log_prove_consistency(db, log, size1, size2, proof, &np) < 0)
			die("consistency proof failed");
		end_read(db, txn);
		v[i] = (now_s() - t0) * 1e6;
		total += np;
	}
	ps.cons = stats_of(v, count);
	ps.cons_len = (double)total / (double)count;
	free(v);
	return ps;
}

/*
 * Where a proof's time goes: the same proofs through rp_merkle_prove_* with
 * a reader that counts (the same SELECT as db-log.c's), and with one that
 * returns a constant (the hashing and the walk alone, no SQLite).
 */
struct counting_reader {
	sqlite3_stmt *st; /* NULL: no SQLite */
	int64_t log;
	uint64_t reads;
	uint64_t high; /* of them at level 8 and above: 1/128 of the stored hashes */
	/* when set: the stored hashes of level l >= 8 in memory, upper_n[l] of them */
	uint8_t (*upper[64])[RP_HASH_LEN];
	uint64_t upper_n[64];
};

static int counting_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct counting_reader *cr = arg;

	cr->reads++;
	cr->high += level >= 8;
	if (level < 64 && cr->upper[level] && index < cr->upper_n[level]) {
		memcpy(out, cr->upper[level][index], RP_HASH_LEN);
		return 0;
	}
	if (!cr->st) {
		memset(out, (int)(level + index), RP_HASH_LEN);
		return 0;
	}
	sqlite3_bind_int64(cr->st, 1, cr->log);
	sqlite3_bind_int64(cr->st, 2, level);
	sqlite3_bind_int64(cr->st, 3, (sqlite3_int64)index);
	if (sqlite3_step(cr->st) != SQLITE_ROW || sqlite3_column_bytes(cr->st, 0) != RP_HASH_LEN)
		die("hash (%u, %llu) missing", level, (unsigned long long)index);
	memcpy(out, sqlite3_column_blob(cr->st, 0), RP_HASH_LEN);
	sqlite3_reset(cr->st);
	return 0;
}

struct proof_diag {
	double reads_incl, reads_cons; /* stored hashes read per proof */
	double us_per_read;            /* through SQLite, both kinds */
	double cpu_us;                 /* per proof without SQLite, both kinds */
	double high;                   /* share of the reads at level 8 and above */
};

static struct proof_diag diagnose_proofs(struct db *db, int64_t log, uint64_t n, size_t count)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct counting_reader cr = {.log = log};
	struct proof_diag pd = {0};
	uint64_t save = rng_state, reads_sql = 0;
	double t_sql = 0, t_cpu = 0;
	size_t np;

	if (sqlite3_prepare_v3(
		    db->h->db,
		    "SELECT hash FROM log_hashes WHERE log = ? AND level = ? AND idx = ?", -1,
		    SQLITE_PREPARE_PERSISTENT, &cr.st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db->h->db));
	for (int pass = 0; pass < 2; pass++) {
		sqlite3_stmt *st = cr.st;
		double t0;
		if (pass == 1)
			cr.st = NULL;
		rng_state = save;
		cr.reads = cr.high = 0;
		t0 = now_s();
		for (size_t i = 0; i < count; i++) {
			uint64_t size = 1 + rnd() % n, idx = rnd() % size;
			int r = rp_merkle_prove_inclusion(idx, size, counting_read, &cr, proof,
							  &np);
			if (r < 0)
				die("inclusion proof failed");
		}
		if (pass == 0)
			pd.reads_incl = (double)cr.reads / (double)count;
		for (size_t i = 0; i < count; i++) {
			uint64_t size2 = 2 + rnd() % (n - 1), size1 = 1 + rnd() % (size2 - 1);
			if (rp_merkle_prove_consistency(size1, size2, counting_read, &cr, proof,
							&np) < 0)
				die("consistency proof failed");
		}
		if (pass == 0) {
			pd.reads_cons = (double)(cr.reads) / (double)count - pd.reads_incl;
			reads_sql = cr.reads;
			pd.high = (double)cr.high / (double)cr.reads;
			t_sql = now_s() - t0;
		} else {
			t_cpu = now_s() - t0;
		}
		cr.st = st;
	}
	sqlite3_finalize(cr.st);
	pd.cpu_us = t_cpu / (double)(2 * count) * 1e6;
	pd.us_per_read = (t_sql - t_cpu) / (double)reads_sql * 1e6;
	rng_state = save;
	return pd;
}

/*
 * The proofs of time_proofs (same sequence), each in one read transaction,
 * with the stored hashes at level 8 and above held in memory: they never
 * change once written, so a cache of them needs no invalidation. The
 * others are read as db-log.c reads them. *ret_bytes: the cache's size.
 */
static struct proof_stats time_proofs_cached(struct db *db, int64_t log, uint64_t n, size_t count,
					     size_t *ret_bytes)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN], want[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct counting_reader cr = {.log = log};
	double *v = xmalloc(count * sizeof(*v));
	struct proof_stats ps = {0};
	sqlite3_stmt *st;
	size_t np, nw, total = 0;

	*ret_bytes = 0;
	for (unsigned l = 8; l < 64 && (n >> l) > 0; l++) {
		cr.upper_n[l] = n >> l;
		cr.upper[l] = xmalloc((size_t)cr.upper_n[l] * RP_HASH_LEN);
		*ret_bytes += (size_t)cr.upper_n[l] * RP_HASH_LEN;
	}
	if (sqlite3_prepare_v2(
		    db->h->db,
		    "SELECT level, idx, hash FROM log_hashes WHERE log = ? AND level >= 8", -1, &st,
		    NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db->h->db));
	sqlite3_bind_int64(st, 1, log);
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t l = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t i = (uint64_t)sqlite3_column_int64(st, 1);
		if (l < 64 && i < cr.upper_n[l] && sqlite3_column_bytes(st, 2) == RP_HASH_LEN)
			memcpy(cr.upper[l][i], sqlite3_column_blob(st, 2), RP_HASH_LEN);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v3(
		    db->h->db,
		    "SELECT hash FROM log_hashes WHERE log = ? AND level = ? AND idx = ?", -1,
		    SQLITE_PREPARE_PERSISTENT, &cr.st, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(db->h->db));

	rng_state = 0x2545f4914f6cdd1dull; /* as time_proofs, after its checks */
	for (int i = 0; i < 50; i++)
		for (int k = 0; k < 3; k++)
			rnd();
	for (size_t i = 0; i < count; i++) {
		uint64_t size = 1 + rnd() % n, idx = rnd() % size;
		double t0 = now_s();
		begin_read(db, true);
		if (rp_merkle_prove_inclusion(idx, size, counting_read, &cr, proof, &np) < 0)
			die("inclusion proof failed");
		end_read(db, true);
		v[i] = (now_s() - t0) * 1e6;
		total += np;
		if (i < 100 && (db_log_prove_inclusion(db, log, idx, size, want, &nw) < 0 ||
				nw != np || memcmp(want, proof, np * RP_HASH_LEN) != 0))
			die("cached inclusion proof differs from db-log.c's");
	}
	ps.incl = stats_of(v, count);
	ps.incl_len = (double)total / (double)count;
	total = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t size2 = 2 + rnd() % (n - 1), size1 = 1 + rnd() % (size2 - 1);
		double t0 = now_s();
		begin_read(db, true);
		if (rp_merkle_prove_consistency(size1, size2, counting_read, &cr, proof, &np) < 0)
			die("consistency proof failed");
		end_read(db, true);
		v[i] = (now_s() - t0) * 1e6;
		total += np;
		if (i < 100 && (db_log_prove_consistency(db, log, size1, size2, want, &nw) < 0 ||
				nw != np || memcmp(want, proof, np * RP_HASH_LEN) != 0))
			die("cached consistency proof differs from db-log.c's");
	}
	ps.cons = stats_of(v, count);
	ps.cons_len = (double)total / (double)count;
	sqlite3_finalize(cr.st);
	for (unsigned l = 0; l < 64; l++)
		free(cr.upper[l]);
	free(v);
	return ps;
}

static void print_diag(struct proof_diag pd)
{
	printf("  where it goes: %.1f stored hashes read per inclusion proof, %.1f per "
	       "consistency proof (%.0f%% of them at level 8 or above); %.2f us per read through "
	       "SQLite; %.1f us per proof without SQLite (walk and hashing)\n",
	       pd.reads_incl, pd.reads_cons, pd.high * 100, pd.us_per_read, pd.cpu_us);
}

static void print_proofs(const char *what, const struct proof_stats *ps, size_t count)
{
	printf("proofs at %s (%zu each, random index and sizes): inclusion median %.1f us, p99 "
	       "%.1f us, max %.0f us (%.1f hashes); consistency median %.1f us, p99 %.1f us, max "
	       "%.0f us (%.1f hashes)\n",
	       what, count, ps->incl.median, ps->incl.p99, ps->incl.max, ps->incl_len,
	       ps->cons.median, ps->cons.p99, ps->cons.max, ps->cons_len);
}

/* ---- the agent's check of one delivery ---- */

static int seen_none(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return 0;
}

static int store_keep(void *arg, const struct rp_checkpoint *cp, const char *note, size_t len,
		      int64_t newest)
{
	(void)note;
	(void)len;
	(void)newest;
	*(struct rp_checkpoint *)arg = *cp;
	return 0;
}

static json_t *b64_hashes(const uint8_t (*h)[RP_HASH_LEN], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char *s = rp_b64_encode(h[i], RP_HASH_LEN);
		if (!s || json_array_append_new(a, json_string(s)) < 0)
			die("out of memory");
		free(s);
	}
	return a;
}

/* The checkpoint of size entries as the server serves it: log key, both witnesses at NOW. */
static char *checkpoint_note(struct db *db, int64_t log, uint64_t size, uint8_t root[RP_HASH_LEN])
{
	struct rp_checkpoint cp = {0};
	struct rp_sb sb;
	char *text, *note;
	size_t len, nlen;

	snprintf(cp.origin, sizeof(cp.origin), "%s", log_key.name);
	cp.size = size;
	if (db_log_tree_hash(db, log, size, cp.root) < 0)
		die("tree hash of %llu failed", (unsigned long long)size);
	memcpy(root, cp.root, RP_HASH_LEN);
	if (!(text = rp_checkpoint_format(&cp, &len)) ||
	    rp_note_sign(text, len, NULL, &log_key, &note, &nlen) < 0)
		die("cannot sign the checkpoint");
	rp_sb_init(&sb, RP_CHECKPOINT_MAX);
	rp_sb_put(&sb, note, nlen);
	for (int i = 0; i < 2; i++) {
		char *line = rp_cosig_sign_line(text, len, &witnesses[i], NOW);
		if (!line)
			die("cannot cosign the checkpoint");
		rp_sb_puts(&sb, line);
		free(line);
	}
	free(text);
	free(note);
	if (!(note = rp_sb_take(&sb, NULL)))
		die("checkpoint too long");
	return note;
}

struct verify_result {
	struct stats verify, whole, ed25519;
	size_t nproof, ncons, json_len, stmt_len;
	uint64_t index, seen;
};

static struct verify_result time_verify(struct db *db, int64_t log, uint64_t n, size_t runs,
					const struct rp_policy *policy)
{
	struct verify_result vr = {0};
	struct rp_delivery dl = {0};
	struct rp_log_state st = {0};
	struct rp_checkpoint stored;
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN], cons[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	uint8_t root[RP_HASH_LEN], sig[crypto_sign_BYTES];
	struct rp_diag d = {""};
	double *v = xmalloc(runs * sizeof(*v));
	char id[RP_ID_HEX + 1], *cpnote, *json, *payload_b64;
	const void *stmt;
	size_t stmt_len;
	json_t *o;

	/* The agent saw the checkpoint of `seen' entries and acted on entry seen - 1. */
	vr.seen = n > 2000 ? n - 1000 : n / 2;
	vr.index = vr.seen + (n - vr.seen) / 2;
	if (vr.seen < 1 || vr.index == 0)
		die("the delivery check needs a log of at least 4 entries");
	entry(vr.index, &stmt, &stmt_len);
	vr.stmt_len = stmt_len;
	if (db_log_prove_inclusion(db, log, vr.index, n, proof, &vr.nproof) < 0 ||
	    db_log_prove_consistency(db, log, vr.seen, n, cons, &vr.ncons) < 0 ||
	    db_log_tree_hash(db, log, vr.seen, st.root) < 0)
		die("proofs for the delivery failed");
	st.size = vr.seen;
	st.last_index = (int64_t)vr.seen - 1;
	cpnote = checkpoint_note(db, log, n, root);
	payload_b64 = rp_b64_encode((const uint8_t *)PAYLOAD, strlen(PAYLOAD));
	o = json_pack("{s:s%, s:s, s:I, s:o, s:s, s:o}", "statement", (const char *)stmt, stmt_len,
		      "payload", payload_b64, "index", (json_int_t)vr.index, "proof",
		      b64_hashes((const uint8_t(*)[RP_HASH_LEN])proof, vr.nproof), "checkpoint",
		      cpnote, "consistency",
		      b64_hashes((const uint8_t(*)[RP_HASH_LEN])cons, vr.ncons));
	if (!o || !(json = json_dumps(o, JSON_COMPACT)))
		die("cannot build the delivery");
	json_decref(o);
	vr.json_len = strlen(json);

	struct rp_verify_ctx ctx = {.policy = policy,
				    .device_id = DEV,
				    .now = NOW,
				    .skew = SKEW,
				    .seen = seen_none,
				    .log = &st,
				    .store = store_keep,
				    .store_arg = &stored};

	if (rp_delivery_parse(json, vr.json_len, &dl, &d) < 0)
		die("delivery does not parse: %s", d.msg);
	/* rp_verify_delivery alone, on the parsed delivery. */
	for (size_t i = 0; i <= runs; i++) {
		struct rp_command *c = NULL;
		double t0 = now_s();
		int r = rp_verify_delivery(&ctx, &dl, &c, id, &d);
		double t = now_s() - t0;
		if (r < 0)
			die("delivery refused: %s: %s", rp_strerror(r), d.msg);
		rp_command_free(c);
		if (i > 0) /* the first run warms the caches */
			v[i - 1] = t * 1e6;
	}
	vr.verify = stats_of(v, runs);
	rp_delivery_release(&dl);
	/* The agent's whole check: JSON parse, then every check. */
	for (size_t i = 0; i < runs; i++) {
		struct rp_command *c = NULL;
		double t0 = now_s();
		int r = rp_delivery_parse(json, vr.json_len, &dl, &d);
		if (r == 0)
			r = rp_verify_delivery(&ctx, &dl, &c, id, &d);
		rp_command_free(c);
		rp_delivery_release(&dl);
		v[i] = (now_s() - t0) * 1e6;
		if (r < 0)
			die("delivery refused: %s: %s", rp_strerror(r), d.msg);
	}
	vr.whole = stats_of(v, runs);
	/* One Ed25519 verification of a statement-sized message, for scale. */
	crypto_sign_detached(sig, NULL, stmt, stmt_len, admins[0].sk);
	for (size_t i = 0; i < runs; i++) {
		double t0 = now_s();
		if (crypto_sign_verify_detached(sig, stmt, stmt_len, admins[0].pub) != 0)
			die("Ed25519 self-check failed");
		v[i] = (now_s() - t0) * 1e6;
	}
	vr.ed25519 = stats_of(v, runs);
	free(json);
	free(payload_b64);
	free(cpnote);
	free(v);
	return vr;
}

/* ---- the auditor ---- */

struct audit_count {
	size_t findings;
	char first[256];
};

static void on_entry(void *arg, uint64_t index, bool finding, const char *text)
{
	struct audit_count *ac = arg;

	if (finding && ac->findings++ == 0)
		snprintf(ac->first, sizeof(ac->first), "entry %llu: %s", (unsigned long long)index,
			 text);
}

struct audit_result {
	double read_s, audit_s;
	uint64_t bytes;
	/* the prototype: parse + one quorum check per entry, on `threads' threads */
	unsigned threads;
	size_t par_entries;
	double par_s;
	/* per command entry, microseconds (median over a sample) */
	struct stats parse, quorum, signers, tree;
	size_t sample;
};

static unsigned audit_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Reads entries [0, n) as the server serves entry bundles; with a, replays them. */
static double read_entries(struct db *db, int64_t log, uint64_t n, struct rp_audit *a,
			   struct audit_count *ac, uint64_t *ret_bytes)
{
	struct rp_sb sb;
	double t0 = now_s();
	uint64_t bytes = 0;

	rp_sb_init(&sb, (size_t)RP_TILE_WIDTH * (RP_LOG_ENTRY_MAX + 2));
	for (uint64_t tile = 0; tile * RP_TILE_WIDTH < n; tile++) {
		struct rp_tile t = {RP_TILE_ENTRIES, tile, RP_TILE_WIDTH};
		size_t off = 0;
		if ((tile + 1) * RP_TILE_WIDTH > n)
			t.width = (unsigned)(n - tile * RP_TILE_WIDTH);
		sb.len = 0;
		if (db_log_tile(db, log, &t, n, &sb) < 0)
			die("reading entry bundle %llu failed", (unsigned long long)tile);
		const char *data[RP_TILE_WIDTH];
		size_t lens[RP_TILE_WIDTH];
		for (unsigned i = 0; i < t.width; i++) {
			const uint8_t *p = (const uint8_t *)sb.s + off;
			lens[i] = (size_t)p[0] << 8 | p[1];
			data[i] = (const char *)p + 2;
			off += 2 + lens[i];
		}
		/* as `rampart audit' does: signatures checked on every core, in log order */
		if (a &&
		    rp_audit_entries(a, data, lens, t.width, audit_threads(), on_entry, ac) < 0)
			die("audit: out of memory");
		bytes += off;
	}
	rp_sb_release(&sb);
	*ret_bytes = bytes;
	return now_s() - t0;
}

/*
 * What a replay that verified each signature once, on every core, would
 * cost: entries 1 + k, 1 + k + step, ... parsed and quorum-checked by
 * thread k. Not what rp_audit_entry does (it checks each signature twice,
 * on one thread); a measured estimate of the fix.
 */
struct par_job {
	const struct rp_policy *policy;
	size_t first, count, step;
	int bad;
};

static void *par_verify(void *arg)
{
	struct par_job *j = arg;

	for (size_t i = j->first; i < j->count; i += j->step) {
		struct rp_command *c = NULL;
		const void *p;
		size_t len;
		entry(1 + i, &p, &len);
		if (rp_command_parse(p, len, &c, NULL) < 0 ||
		    rp_quorum_check(j->policy, rp_command_role(c), c->note, NULL, NULL) < 0)
			j->bad++;
		rp_command_free(c);
	}
	return NULL;
}

static double par_audit(const struct rp_policy *policy, size_t count, unsigned threads)
{
	pthread_t th[64];
	struct par_job jobs[64];
	double t0 = now_s();

	for (unsigned k = 0; k < threads; k++) {
		jobs[k] = (struct par_job){policy, k, count, threads, 0};
		if (pthread_create(&th[k], NULL, par_verify, &jobs[k]) != 0)
			die("pthread_create failed");
	}
	for (unsigned k = 0; k < threads; k++) {
		pthread_join(th[k], NULL);
		if (jobs[k].bad)
			die("parallel check: %d entries refused", jobs[k].bad);
	}
	return now_s() - t0;
}

static struct audit_result time_audit(struct db *db, int64_t log, uint64_t n,
				      const struct rp_policy *policy)
{
	struct audit_result ar = {0};
	struct audit_count ac = {0};
	struct rp_audit a;
	uint8_t root[RP_HASH_LEN], want[RP_HASH_LEN];
	size_t sample = n - 1 < 20000 ? (size_t)(n - 1) : 20000;
	double *v[4];

	ar.read_s = read_entries(db, log, n, NULL, NULL, &ar.bytes);
	rp_audit_init(&a, policy->hash);
	ar.audit_s = read_entries(db, log, n, &a, &ac, &ar.bytes);
	rp_audit_root(&a, root);
	if (db_log_tree_hash(db, log, n, want) < 0 || memcmp(root, want, RP_HASH_LEN) != 0)
		die("audit: replayed root differs from the log's");
	if (ac.findings)
		die("audit: %zu findings, first %s", ac.findings, ac.first);
	rp_audit_release(&a);

	/* Where an entry's time goes: the steps of check_command, timed apart. */
	for (int k = 0; k < 4; k++)
		v[k] = xmalloc((sample ? sample : 1) * sizeof(double));
	for (size_t i = 0; i < sample; i++) {
		struct rp_command *c = NULL;
		bool ok[RP_POLICY_KEYS_MAX];
		uint8_t leaf[RP_HASH_LEN];
		const void *p;
		size_t len;
		double t0, t1, t2, t3, t4;
		entry(i + 1, &p, &len);
		t0 = now_s();
		rp_merkle_leaf_hash(p, len, leaf);
		t1 = now_s();
		if (rp_command_parse(p, len, &c, NULL) < 0)
			die("statement does not parse");
		t2 = now_s();
		if (rp_quorum_check(policy, RP_ROLE_EXEC, c->note, NULL, NULL) < 0)
			die("statement lacks its quorum");
		t3 = now_s();
		if (rp_note_verify(c->note, policy->keys, policy->nkeys, ok, NULL) < 0)
			die("statement signatures do not verify");
		t4 = now_s();
		rp_command_free(c);
		v[0][i] = (t1 - t0) * 1e6;
		v[1][i] = (t2 - t1) * 1e6;
		v[2][i] = (t3 - t2) * 1e6;
		v[3][i] = (t4 - t3) * 1e6;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ar.threads = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
	ar.par_entries = n - 1 < 100000 ? (size_t)(n - 1) : 100000;
	ar.par_s = par_audit(policy, ar.par_entries, ar.threads);
	ar.sample = sample;
	ar.tree = stats_of(v[0], sample);
	ar.parse = stats_of(v[1], sample);
	ar.quorum = stats_of(v[2], sample);
	ar.signers = stats_of(v[3], sample);
	for (int k = 0; k < 4; k++)
		free(v[k]);
	return ar;
}

/* ---- the machine ---- */

static void print_machine(void)
{
	struct utsname u;
	const char *fs = bench_fs_type(tmpdir);
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	char model[256];

	bench_cpu_model(model, sizeof(model));
	uname(&u);
	printf("machine: %ld cores (%s), %.1f GiB RAM, %s %s; SQLite %s, libsodium %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model,
	       (double)pages * (double)psz / (1024.0 * 1024 * 1024), u.sysname, u.release,
	       sqlite3_libversion(), sodium_version_string());
	printf("databases in %s (%s), WAL, synchronous=FULL (db_open)\n", tmpdir, fs);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	uint64_t n = env_u64("BENCH_LOG_N", 1000000), b1 = env_u64("BENCH_LOG_B1", 2000),
		 b100 = env_u64("BENCH_LOG_B100", 100000), big = env_u64("BENCH_LOG_BIG", 10000000);
	size_t nproofs = (size_t)env_u64("BENCH_LOG_PROOFS", 20000),
	       nverify = (size_t)env_u64("BENCH_LOG_VERIFY", 2000),
	       npool = (size_t)env_u64("BENCH_LOG_POOL", 65536);
	uint64_t naudit = env_u64("BENCH_LOG_AUDIT", n);
	const char *parent = getenv("BENCH_LOG_DIR");
	struct rp_policy *policy = NULL;
	struct db db;
	int64_t log;
	char path[4200];
	double t, t_start = now_s(), build_s, pool_bytes = 0;
	double rate_b1 = 0, rate_b100 = 0, rate_b1000, rate_tail_b1 = 0, rate_tail_b100 = 0;
	struct storage stor;
	struct proof_stats ps, ps_txn, ps_cached, ps_big = {0}, ps_big_txn = {0},
						  ps_big_cached = {0};
	size_t cache_bytes = 0, cache_bytes_big = 0;
	struct verify_result vr;
	struct audit_result ar = {0};
	double audit_fix_s = 0;

	(void)argv;
	if (argc > 1)
		die("no arguments; see the environment variables at the top of bench/logbench.c");
	if (n < 4000 || npool < 1 || nproofs < 1 || nverify < 1 || naudit > n ||
	    (big && big < 4000))
		die("BENCH_LOG_N and BENCH_LOG_BIG must be at least 4000, BENCH_LOG_AUDIT at most "
		    "BENCH_LOG_N, the counts at least 1");
	if (sodium_init() < 0)
		die("sodium_init failed");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!parent || !*parent)
		parent = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/rampart-logbench.XXXXXX", parent);
	if (!mkdtemp(tmpdir))
		die("mkdtemp %s: %s", tmpdir, strerror(errno));
	print_machine();

	/* The statements: signed once, cycled through (signing 2 per entry would dominate). */
	t = now_s();
	make_keys();
	corpus.policy = policy_note(&corpus.policy_len);
	if (rp_policy_parse(corpus.policy, corpus.policy_len, &policy, NULL) < 0 ||
	    rp_policy_verify_initial(policy, policy->hash, NOW, NULL) < 0)
		die("the benchmark's root policy does not verify");
	corpus.n = npool;
	corpus.stmt = xmalloc(npool * sizeof(*corpus.stmt));
	corpus.len = xmalloc(npool * sizeof(*corpus.len));
	for (size_t i = 0; i < npool; i++) {
		corpus.stmt[i] = statement_note(i, &corpus.len[i]);
		pool_bytes += (double)corpus.len[i];
	}
	printf("statements: %zu distinct, %.0f bytes on average (2-of-3 signed, 2 targets, a "
	       "comment), "
	       "signed in %.1f s; entry 0 the root policy (%zu bytes)\n",
	       npool, pool_bytes / (double)npool, now_s() - t, corpus.policy_len);

	/* 1. Appends. */
	if (b1) {
		db_path(path, sizeof(path), "batch1.db");
		open_db(&db, path, &log);
		t = append_range(&db, log, 0, b1, 1);
		rate_b1 = (double)b1 / t;
		printf("append, batch 1, fresh log: %llu entries in %.2f s = %.0f entries/s\n",
		       (unsigned long long)b1, t, rate_b1);
		db_close(&db);
		remove_db(path);
	}
	if (b100) {
		db_path(path, sizeof(path), "batch100.db");
		open_db(&db, path, &log);
		t = append_range(&db, log, 0, b100, 100);
		rate_b100 = (double)b100 / t;
		printf("append, batch 100, fresh log: %llu entries in %.2f s = %.0f entries/s\n",
		       (unsigned long long)b100, t, rate_b100);
		db_close(&db);
		remove_db(path);
	}
	db_path(path, sizeof(path), "log.db");
	open_db(&db, path, &log);
	build_s = 0;
	printf("append, batch 1000, fresh log to %llu entries:", (unsigned long long)n);
	for (int k = 0; k < 10; k++) {
		uint64_t from = n * (uint64_t)k / 10, to = n * (uint64_t)(k + 1) / 10;
		t = append_range(&db, log, from, to, 1000);
		build_s += t;
		printf(" %.0f", (double)(to - from) / t);
	}
	rate_b1000 = (double)n / build_s;
	printf(" entries/s per tenth; overall %.2f s = %.0f entries/s\n", build_s, rate_b1000);

	/* 5. Storage, while the log has exactly n entries. */
	stor = storage(&db, path, n);
	print_storage("main log", &stor, n);

	/* 2. Proofs. */
	ps = time_proofs(&db, log, n, nproofs, false);
	ps_txn = time_proofs(&db, log, n, nproofs, true);
	char what[96];
	snprintf(what, sizeof(what), "%llu entries", (unsigned long long)n);
	print_proofs(what, &ps, nproofs);
	print_diag(diagnose_proofs(&db, log, n, nproofs));
	snprintf(what, sizeof(what), "%llu entries, each proof in one read transaction",
		 (unsigned long long)n);
	print_proofs(what, &ps_txn, nproofs);
	ps_cached = time_proofs_cached(&db, log, n, nproofs, &cache_bytes);
	snprintf(
		what, sizeof(what),
		"%llu entries, one read transaction, the %.0f KB of hashes at level >= 8 in memory",
		(unsigned long long)n, (double)cache_bytes / 1024);
	print_proofs(what, &ps_cached, nproofs);

	/* 3. The agent's check. */
	vr = time_verify(&db, log, n, nverify, policy);
	printf("agent check of one delivery (entry %llu of %llu, stored checkpoint %llu; %zu-hash "
	       "inclusion, %zu-hash consistency proof; %zu-byte JSON; %zu runs): "
	       "rp_verify_delivery median %.0f us, p99 %.0f us; with rp_delivery_parse median "
	       "%.0f us, p99 %.0f us; one Ed25519 verification median %.1f us\n",
	       (unsigned long long)vr.index, (unsigned long long)n, (unsigned long long)vr.seen,
	       vr.nproof, vr.ncons, vr.json_len, nverify, vr.verify.median, vr.verify.p99,
	       vr.whole.median, vr.whole.p99, vr.ed25519.median);

	/* 4. The auditor. */
	if (naudit) {
		ar = time_audit(&db, log, naudit, policy);
		printf("audit of %llu entries: reading the entry bundles (db_log_tile) %.2f s "
		       "(%.0f entries/s, %.0f MB); reading and replaying (rp_audit_entries) %.1f s = "
		       "%.0f entries/s, %.0f us/entry\n",
		       (unsigned long long)naudit, ar.read_s, (double)naudit / ar.read_s,
		       (double)ar.bytes / 1e6, ar.audit_s, (double)naudit / ar.audit_s,
		       ar.audit_s / (double)naudit * 1e6);
		double per = ar.audit_s / (double)naudit * 1e6;
		double rest = per - ar.tree.mean - ar.parse.mean - ar.quorum.mean - ar.signers.mean;
		double par = ar.par_s / (double)ar.par_entries * 1e6;
		printf("audit, per command entry (means over %zu): leaf hash %.1f us, "
		       "rp_command_parse %.1f us, rp_quorum_check %.1f us, signers' rp_note_verify "
		       "%.1f us (a second check, which rp_audit_entries no longer makes), everything else %.1f us\n",
		       ar.sample, ar.tree.mean, ar.parse.mean, ar.quorum.mean, ar.signers.mean,
		       rest < 0 ? 0 : rest);
		printf("audit, the fix measured: parse + one quorum check per entry on %u threads: "
		       "%zu entries in %.1f s = %.1f us/entry; with the rest of the replay kept "
		       "sequential, about %.0f s for %llu entries\n",
		       ar.threads, ar.par_entries, ar.par_s, par,
		       (par + ar.tree.mean + (rest < 0 ? 0 : rest)) * (double)naudit / 1e6,
		       (unsigned long long)naudit);
		audit_fix_s = (par + ar.tree.mean + (rest < 0 ? 0 : rest)) * (double)naudit / 1e6;
	}

	/* 1b. Small batches on the big log (it grows past n here, so last). */
	if (b1) {
		uint64_t k = b1 < 1000 ? b1 : 1000;
		t = append_range(&db, log, n, n + k, 1);
		rate_tail_b1 = (double)k / t;
		printf("append, batch 1, at %llu entries: %llu entries in %.2f s = %.0f entries/s\n",
		       (unsigned long long)n, (unsigned long long)k, t, rate_tail_b1);
		n += k;
	}
	if (b100) {
		uint64_t k = b100 < 20000 ? b100 : 20000;
		t = append_range(&db, log, n, n + k, 100);
		rate_tail_b100 = (double)k / t;
		printf("append, batch 100, at %llu entries: %llu entries in %.2f s = %.0f "
		       "entries/s\n",
		       (unsigned long long)n, (unsigned long long)k, t, rate_tail_b100);
		n += k;
	}
	db_close(&db);
	remove_db(path);

	/* 2b. The big log, when asked for. */
	if (big) {
		struct storage sbig;
		db_path(path, sizeof(path), "big.db");
		open_db(&db, path, &log);
		t = append_range(&db, log, 0, big, 10000);
		printf("append, batch 10000, fresh log to %llu entries: %.0f s = %.0f entries/s\n",
		       (unsigned long long)big, t, (double)big / t);
		sbig = storage(&db, path, big);
		print_storage("big log", &sbig, big);
		ps_big = time_proofs(&db, log, big, nproofs, false);
		ps_big_txn = time_proofs(&db, log, big, nproofs, true);
		snprintf(what, sizeof(what), "%llu entries", (unsigned long long)big);
		print_proofs(what, &ps_big, nproofs);
		print_diag(diagnose_proofs(&db, log, big, nproofs));
		snprintf(what, sizeof(what), "%llu entries, each proof in one read transaction",
			 (unsigned long long)big);
		print_proofs(what, &ps_big_txn, nproofs);
		ps_big_cached = time_proofs_cached(&db, log, big, nproofs, &cache_bytes_big);
		snprintf(what, sizeof(what),
			 "%llu entries, one read transaction, the %.0f KB of hashes at level >= 8 "
			 "in memory",
			 (unsigned long long)big, (double)cache_bytes_big / 1024);
		print_proofs(what, &ps_big_cached, nproofs);
		db_close(&db);
		remove_db(path);
	}

	/* The summary. */
	uint64_t n0 = env_u64("BENCH_LOG_N", 1000000);
	printf("\n| measure | result | target |\n| --- | --- | --- |\n");
	if (b1)
		printf("| append, batch 1 (fresh / at %lluk) | %.0f / %.0f entries/s | |\n",
		       (unsigned long long)(n0 / 1000), rate_b1, rate_tail_b1);
	if (b100)
		printf("| append, batch 100 (fresh / at %lluk) | %.0f / %.0f entries/s | |\n",
		       (unsigned long long)(n0 / 1000), rate_b100, rate_tail_b100);
	printf("| append, batch 1000, 0 to %lluk | %.0f entries/s | >= 20000/s: %s |\n",
	       (unsigned long long)(n0 / 1000), rate_b1000, rate_b1000 >= 20000 ? "met" : "MISSED");
	printf("| inclusion proof at %lluk | median %.1f us, p99 %.1f us | median <= 50 us: %s |\n",
	       (unsigned long long)(n0 / 1000), ps.incl.median, ps.incl.p99,
	       ps.incl.median <= 50 ? "met" : "MISSED");
	printf("| consistency proof at %lluk | median %.1f us, p99 %.1f us | median <= 50 us: %s "
	       "|\n",
	       (unsigned long long)(n0 / 1000), ps.cons.median, ps.cons.p99,
	       ps.cons.median <= 50 ? "met" : "MISSED");
	printf("| both, inside an explicit outer read transaction too | inclusion "
	       "%.1f us, consistency %.1f us (medians) | |\n",
	       ps_txn.incl.median, ps_txn.cons.median);
	printf("| both, one read transaction and the hashes at level >= 8 (%.0f KB) in memory | "
	       "inclusion %.1f us, consistency %.1f us (medians) | |\n",
	       (double)cache_bytes / 1024, ps_cached.incl.median, ps_cached.cons.median);
	if (big) {
		printf("| inclusion proof at %lluk | median %.1f us, p99 %.1f us | |\n",
		       (unsigned long long)(big / 1000), ps_big.incl.median, ps_big.incl.p99);
		printf("| consistency proof at %lluk | median %.1f us, p99 %.1f us | |\n",
		       (unsigned long long)(big / 1000), ps_big.cons.median, ps_big.cons.p99);
		printf("| both at %lluk, each proof in one read transaction | inclusion %.1f us, "
		       "consistency %.1f us (medians) | |\n",
		       (unsigned long long)(big / 1000), ps_big_txn.incl.median,
		       ps_big_txn.cons.median);
		printf("| both at %lluk, one read transaction and the hashes at level >= 8 (%.0f KB) "
		       "in memory | inclusion %.1f us, consistency %.1f us (medians) | |\n",
		       (unsigned long long)(big / 1000), (double)cache_bytes_big / 1024,
		       ps_big_cached.incl.median, ps_big_cached.cons.median);
	}
	printf("| agent check of one delivery (parse + rp_verify_delivery) | median %.0f us, p99 "
	       "%.0f us | <= 1 ms: %s |\n",
	       vr.whole.median, vr.whole.p99, vr.whole.median <= 1000 ? "met" : "MISSED");
	if (naudit)
		printf("| audit of %lluk entries (read + rp_audit_entries) | %.1f s, %.0f entries/s | "
		       "<= 60 s: %s |\n",
		       (unsigned long long)(naudit / 1000), ar.audit_s, (double)naudit / ar.audit_s,
		       naudit < 1000000   ? "n/a (fewer entries)"
		       : ar.audit_s <= 60 ? "met"
					  : "MISSED");
	if (naudit)
		printf("| audit, a bare loop of parse + quorum check on %u threads (for "
		       "comparison: the floor of rp_audit_entries) | about %.0f s | |\n",
		       ar.threads, audit_fix_s);
	printf("| storage per entry at %lluk | %.0f B (log_entries %.0f, log_hashes %.0f) | |\n",
	       (unsigned long long)(n0 / 1000), stor.file, stor.entries, stor.hashes);
	printf("\nlogbench: %.0f s in all\n", now_s() - t_start);

	for (size_t i = 0; i < npool; i++)
		free(corpus.stmt[i]);
	free(corpus.stmt);
	free(corpus.len);
	free(corpus.policy);
	rp_policy_free(policy);
	if (!getenv("BENCH_LOG_KEEP") || strcmp(getenv("BENCH_LOG_KEEP"), "1") != 0)
		rmdir(tmpdir);
	return 0;
}
