/* SPDX-License-Identifier: Apache-2.0 */
/*
 * breach: what a fully breached rampartd can make, for test-breach.sh.
 * It holds what the server holds and nothing more: the data directory
 * (the SQLite database with the org's log, its entries and its log key,
 * or the key in DIR/log-keys/ once it moved out of the database) and the
 * entries the attacker appends. It cannot cosign: the witnesses are real
 * rampart-witness processes that the test asks, as rampartd does. Every
 * artefact is made with the library's own code (lib/merkle.h, note.h,
 * checkpoint.h), so what the agent refuses is exactly what a breached
 * server could send.
 *
 *   breach --data DIR --org ORG --log FILE [--swap I=FILE] COMMAND ...
 *
 * The log is the database's entries (log_entries, in index order), then
 * the attacker's own in FILE (a tlog-tiles entry bundle that `append'
 * writes). --swap I=FILE shows another tree: entry I is FILE's bytes (a
 * split view, a fork from I on).
 *
 *   append FILE...        appends each file as an entry; prints its index
 *   size                  prints the number of entries
 *   checkpoint [--size N] [--root B64]
 *                         the checkpoint of the first N entries (default
 *                         all), or of any root, signed by the log key
 *   sign FILE             any text signed by the log key, as a note
 *   request --old M [--size N]
 *                         the tlog-witness add-checkpoint body for the
 *                         checkpoint of N, with the consistency proof from M
 *   delivery --index I --checkpoint NOTE [options]
 *                         the agent's poll answer (lib/verify.h,
 *                         rp_delivery_parse): entry I (or --statement FILE)
 *                         with --payload FILE, the inclusion proof of I in
 *                         the tree of the checkpoint's size, the checkpoint
 *                         NOTE and the consistency proof from --have H
 *                         (default: $HAVE, which the stand-in server sets to
 *                         the size the agent polled with)
 *   answer --checkpoint NOTE [--have H]
 *                         the answer to the agent's checkpoint refresh
 *
 * delivery options that lie:
 *   --proof-of J          the inclusion proof of entry J, not of I
 *   --size N              proofs in the tree of N entries, whatever NOTE says
 *   --proof MUT, --consistency MUT
 *                         flip (a bit of the first hash; a junk hash when
 *                         empty), drop (the last hash), extra (a junk hash
 *                         more), long (RP_PROOF_HASHES_MAX + 1 hashes), short
 *                         (the first hash 31 bytes), none (empty)
 *   --no-log              no index, proof, checkpoint or consistency
 */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "memtree.h"
#include "rp_err.h"
#include "sql/sql.h"
#include "statement.h"
#include "tiles.h"

/* More than any test log holds; a bound on what `append' and the database may give. */
#define BREACH_ENTRIES_MAX (1u << 16)
#define BREACH_FILE_MAX    (4u * 1024 * 1024)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("breach: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct entry {
	char *p;
	size_t len;
};

/* The breached server's log for one org. */
struct blog {
	char origin[RP_ORIGIN_MAX + 1];
	struct rp_skey key;
	size_t n;
	struct entry e[BREACH_ENTRIES_MAX];
	const char *own; /* --log FILE */
	size_t ndb;      /* entries from the database, before the attacker's own */
};

static char *slurp(const char *path, size_t max, size_t *ret_len)
{
	char *s;
	int r;

	if ((r = rp_read_file(path, max, &s, ret_len)) < 0)
		die("reading %s: %s", path, rp_strerror(r));
	return s;
}

static void add_entry(struct blog *l, const char *p, size_t len)
{
	if (l->n == BREACH_ENTRIES_MAX)
		die("the log holds more than %u entries", BREACH_ENTRIES_MAX);
	if (!(l->e[l->n].p = malloc(len + 1)))
		die("out of memory");
	memcpy(l->e[l->n].p, p, len);
	l->e[l->n].p[len] = '\0';
	l->e[l->n++].len = len;
}

/* The log key from DIR/log-keys/: the signer key file whose key name is the origin. */
static bool key_from_dir(struct blog *l, const char *data)
{
	char dir[4096], path[8192];
	struct dirent *de;
	DIR *dp;
	bool found = false;

	snprintf(dir, sizeof(dir), "%s/log-keys", data);
	if (!(dp = opendir(dir)))
		return false;
	while (!found && (de = readdir(dp))) {
		char *s;
		size_t n;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (rp_read_file(path, RP_KEYTEXT_MAX, &s, &n) < 0)
			continue;
		while (n > 0 && s[n - 1] == '\n')
			n--;
		found = rp_skey_parse(s, n, &l->key, NULL) == 0 && !strcmp(l->key.name, l->origin);
		sodium_memzero(s, n);
		free(s);
	}
	closedir(dp);
	return found;
}

static void load_db(struct blog *l, const char *data, const char *org)
{
	struct rp_sql h = {0};
	sqlite3_stmt *st;
	char path[4096];
	int64_t id, size;
	int r;

	snprintf(path, sizeof(path), "%s/rampart.db", data);
	if (sqlite3_open_v2(path, &h.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("opening %s: %s", path, sqlite3_errmsg(h.db));
	sqlite3_busy_timeout(h.db, 5000);
	st = rp_sql_prep(&h, "SELECT id, origin, size FROM logs WHERE org = ?", "t", org);
	if ((r = rp_sql_step(&h, st)) != 1)
		die("%s has no log for org %s%s%s", path, org, r < 0 ? ": " : "",
		    rp_sql_errmsg(&h));
	id = sqlite3_column_int64(st, 0);
	snprintf(l->origin, sizeof(l->origin), "%s", rp_sql_text(st, 1));
	size = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	/* The key in the database (its skey column, while there is one), else in its file. */
	st = rp_sql_prep(&h, "SELECT skey FROM logs WHERE id = ?", "i", id);
	if (st && rp_sql_step(&h, st) == 1 && rp_sql_text(st, 0)[0]) {
		const char *k = rp_sql_text(st, 0);
		if (rp_skey_parse(k, strlen(k), &l->key, NULL) < 0)
			die("the log key of %s in %s does not parse", org, path);
	} else if (!key_from_dir(l, data)) {
		die("no log key for %s: none in %s, none named so in %s/log-keys", l->origin, path,
		    data);
	}
	sqlite3_finalize(st);
	st = rp_sql_prep(&h,
			 "SELECT idx, data FROM log_entries WHERE log = ? AND idx < ? ORDER BY idx",
			 "ii", id, size);
	while ((r = rp_sql_step(&h, st)) == 1) {
		if (sqlite3_column_int64(st, 0) != (int64_t)l->n)
			die("log_entries of %s: entry %zu is missing", org, l->n);
		add_entry(l, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	}
	if (r < 0 || (int64_t)l->n != size)
		die("reading the %lld entries of %s: %s", (long long)size, org,
		    r < 0 ? rp_sql_errmsg(&h) : "fewer rows");
	sqlite3_finalize(st);
	sqlite3_close(h.db);
	l->ndb = l->n;
}

/* The attacker's own entries, after the database's. */
static void load_own(struct blog *l)
{
	struct rp_bundle b;
	struct rp_diag d = {""};
	const char *p;
	size_t len, n;
	char *buf;
	int r;

	if (!l->own || rp_read_file(l->own, BREACH_FILE_MAX, &buf, &n) < 0)
		return; /* nothing appended yet */
	rp_bundle_init(&b, buf, n);
	while ((r = rp_bundle_next(&b, &p, &len, &d)) == 1)
		add_entry(l, p, len);
	if (r < 0)
		die("%s: %s", l->own, d.msg);
	free(buf);
}

static void do_swap(struct blog *l, const char *spec)
{
	const char *eq = strchr(spec, '=');
	uint64_t i;

	if (!eq || rp_parse_u64(spec, (size_t)(eq - spec), l->n ? l->n - 1 : 0, &i) < 0 ||
	    i >= l->n)
		die("--swap `%s': want I=FILE with I below the %zu entries", spec, l->n);
	free(l->e[i].p);
	l->e[i].p = slurp(eq + 1, RP_LOG_ENTRY_MAX, &l->e[i].len);
}

static void tree_of(const struct blog *l, uint64_t size, struct memtree *t)
{
	uint8_t leaf[RP_HASH_LEN];
	int r;

	if (size > l->n)
		die("the log has %zu entries, not %llu", l->n, (unsigned long long)size);
	if (memtree_init(t, size) < 0)
		die("out of memory");
	for (uint64_t i = 0; i < size; i++) {
		rp_merkle_leaf_hash(l->e[i].p, l->e[i].len, leaf);
		if ((r = memtree_append(t, leaf)) < 0)
			die("appending entry %llu: %s", (unsigned long long)i, rp_strerror(r));
	}
}

static char *sign_text(const struct blog *l, const char *text, size_t len, size_t *ret_len)
{
	char *note;
	int r;

	if ((r = rp_note_sign(text, len, NULL, &l->key, &note, ret_len)) < 0)
		die("signing with the log key: %s", rp_strerror(r));
	return note;
}

/* The log-signed checkpoint of the first size entries, or of root when non-NULL. */
static char *checkpoint_note(const struct blog *l, uint64_t size, const uint8_t *root,
			     size_t *ret_len)
{
	struct rp_checkpoint c = {0};
	struct memtree t = {0};
	char *text, *note;
	size_t len;

	snprintf(c.origin, sizeof(c.origin), "%s", l->origin);
	c.size = size;
	if (root) {
		memcpy(c.root, root, RP_HASH_LEN);
	} else {
		tree_of(l, size, &t);
		if (memtree_root(&t, size, c.root) < 0)
			die("no root of %llu entries", (unsigned long long)size);
		memtree_release(&t);
	}
	if (!(text = rp_checkpoint_format(&c, &len)))
		die("out of memory");
	note = sign_text(l, text, len, ret_len);
	free(text);
	return note;
}

struct opts {
	uint64_t size, old, index, proof_of, have;
	bool have_size, have_old, have_index, have_proof_of, no_log;
	const char *root, *checkpoint, *statement, *payload, *proof_mut, *cons_mut;
};

static uint64_t num(const char *what, const char *s)
{
	uint64_t v;

	if (rp_parse_u64(s, strlen(s), BREACH_ENTRIES_MAX, &v) < 0)
		die("%s `%s' is not a number up to %u", what, s, BREACH_ENTRIES_MAX);
	return v;
}

static void parse_opts(int argc, char *argv[], struct opts *o)
{
	static const struct option all[] = {
		{"size", required_argument, NULL, 's'},
		{"root", required_argument, NULL, 'R'},
		{"old", required_argument, NULL, 'o'},
		{"index", required_argument, NULL, 'i'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"have", required_argument, NULL, 'H'},
		{"statement", required_argument, NULL, 'S'},
		{"payload", required_argument, NULL, 'p'},
		{"proof-of", required_argument, NULL, 'j'},
		{"proof", required_argument, NULL, 'P'},
		{"consistency", required_argument, NULL, 'C'},
		{"no-log", no_argument, NULL, 'n'},
		{0},
	};
	const char *env = getenv("HAVE");
	int c;

	if (env && *env)
		o->have = num("$HAVE", env);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", all, NULL)) != -1) {
		switch (c) {
		case 's': o->size = num("--size", optarg), o->have_size = true; break;
		case 'R': o->root = optarg; break;
		case 'o': o->old = num("--old", optarg), o->have_old = true; break;
		case 'i': o->index = num("--index", optarg), o->have_index = true; break;
		case 'c': o->checkpoint = optarg; break;
		case 'H': o->have = num("--have", optarg); break;
		case 'S': o->statement = optarg; break;
		case 'p': o->payload = optarg; break;
		case 'j': o->proof_of = num("--proof-of", optarg), o->have_proof_of = true; break;
		case 'P': o->proof_mut = optarg; break;
		case 'C': o->cons_mut = optarg; break;
		case 'n': o->no_log = true; break;
		default: die("bad option (see the comment at the top of breach.c)");
		}
	}
	if (optind < argc)
		die("unexpected argument `%s'", argv[optind]);
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *b = rp_b64_encode(p, n);
	json_t *j = b ? json_string(b) : NULL;

	free(b);
	if (!j)
		die("out of memory");
	return j;
}

/* A JSON array of the n hashes, told a lie by mut (see the top of this file). */
static json_t *hashes_json(uint8_t (*h)[RP_HASH_LEN], size_t n, const char *mut)
{
	static const uint8_t junk[RP_HASH_LEN] = {0x5a, 0x5a, 0x5a, 0x5a};
	json_t *a = json_array();
	size_t count = n, cut = 0;

	if (!a)
		die("out of memory");
	if (!mut || !strcmp(mut, "none")) {
		count = mut ? 0 : n;
	} else if (!strcmp(mut, "flip")) {
		if (n == 0)
			memcpy(h[count++], junk, RP_HASH_LEN);
		else
			h[0][0] ^= 1;
	} else if (!strcmp(mut, "drop")) {
		count = n ? n - 1 : 0;
	} else if (!strcmp(mut, "extra") || !strcmp(mut, "long")) {
		count = !strcmp(mut, "extra") ? n + 1 : RP_PROOF_HASHES_MAX + 1;
	} else if (!strcmp(mut, "short")) {
		count = n ? n : 1;
		cut = 1;
	} else {
		die("unknown lie `%s' (flip, drop, extra, long, short, none)", mut);
	}
	for (size_t i = 0; i < count; i++)
		json_array_append_new(a,
				      b64_json(i < n ? h[i] : junk, RP_HASH_LEN - (i ? 0 : cut)));
	return a;
}

/* The size a checkpoint note claims; fallback when it does not parse as one. */
static uint64_t claimed_size(const char *note, size_t len, uint64_t fallback)
{
	struct rp_note *n = NULL;
	struct rp_checkpoint c;
	uint64_t size = fallback;

	if (rp_note_parse(note, len, &n, NULL) == 0 &&
	    rp_checkpoint_parse(n->msg, n->text_len, &c, NULL) == 0)
		size = c.size;
	rp_note_free(n);
	return size;
}

/* "checkpoint" and "consistency" (from o->have to size) into j. */
static void put_checkpoint(json_t *j, struct memtree *t, const char *note, size_t len,
			   uint64_t size, const struct opts *o)
{
	uint8_t cons[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	size_t ncons = 0;
	int r;

	if (o->have > 0 && o->have < size &&
	    (r = rp_merkle_prove_consistency(o->have, size, memtree_read, t, cons, &ncons)) < 0)
		die("consistency proof %llu -> %llu: %s", (unsigned long long)o->have,
		    (unsigned long long)size, rp_strerror(r));
	json_object_set_new(j, "checkpoint", json_stringn(note, len));
	json_object_set_new(j, "consistency", hashes_json(cons, ncons, o->cons_mut));
}

static json_t *string_json(const char *what, const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);

	if (!j)
		die("%s is not UTF-8 without NUL bytes: JSON cannot carry it", what);
	return j;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (!s)
		die("out of memory");
	fputs(s, stdout);
	free(s);
	json_decref(j);
}

static int delivery_main(const struct blog *l, const struct opts *o)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct memtree t = {0};
	struct rp_command *c = NULL;
	char *note = NULL, *st, *pl = NULL;
	size_t nlen = 0, slen, plen = 0, nproof = 0;
	uint64_t size, of;
	json_t *j = json_object();
	int r;

	if (!o->have_index || (!o->checkpoint && !o->no_log))
		die("delivery: --index I and --checkpoint NOTE are required (or --no-log)");
	if (o->statement) {
		st = slurp(o->statement, BREACH_FILE_MAX, &slen);
	} else if (o->index < l->n) {
		st = malloc(l->e[o->index].len + 1);
		if (!st)
			die("out of memory");
		memcpy(st, l->e[o->index].p, l->e[o->index].len + 1);
		slen = l->e[o->index].len;
	} else {
		die("delivery: no entry %llu in a log of %zu: give --statement FILE",
		    (unsigned long long)o->index, l->n);
	}
	if (o->payload)
		pl = slurp(o->payload, BREACH_FILE_MAX, &plen);
	if (rp_command_parse(st, slen, &c, NULL) == 0)
		json_object_set_new(j, "command", json_string(c->id));
	rp_command_free(c);
	json_object_set_new(j, "statement", string_json("the statement", st, slen));
	json_object_set_new(j, "payload", b64_json((const uint8_t *)(pl ? pl : ""), plen));
	if (!o->no_log) {
		note = slurp(o->checkpoint, BREACH_FILE_MAX, &nlen);
		size = o->have_size ? o->size : claimed_size(note, nlen, l->n);
		tree_of(l, size, &t);
		of = o->have_proof_of ? o->proof_of : o->index;
		if (of < size &&
		    (r = rp_merkle_prove_inclusion(of, size, memtree_read, &t, proof, &nproof)) < 0)
			die("inclusion proof of %llu in %llu: %s", (unsigned long long)of,
			    (unsigned long long)size, rp_strerror(r));
		json_object_set_new(j, "index", json_integer((json_int_t)o->index));
		json_object_set_new(j, "proof", hashes_json(proof, nproof, o->proof_mut));
		put_checkpoint(j, &t, note, nlen, size, o);
		memtree_release(&t);
	}
	print_json(j);
	free(note);
	free(st);
	free(pl);
	return 0;
}

static int answer_main(const struct blog *l, const struct opts *o)
{
	struct memtree t = {0};
	json_t *j = json_object();
	char *note;
	size_t nlen;
	uint64_t size;

	if (!o->checkpoint)
		die("answer: --checkpoint NOTE is required");
	note = slurp(o->checkpoint, BREACH_FILE_MAX, &nlen);
	size = o->have_size ? o->size : claimed_size(note, nlen, l->n);
	tree_of(l, size, &t);
	put_checkpoint(j, &t, note, nlen, size, o);
	memtree_release(&t);
	print_json(j);
	free(note);
	return 0;
}

static int request_main(const struct blog *l, const struct opts *o)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	uint64_t size = o->have_size ? o->size : l->n;
	struct memtree t = {0};
	size_t nproof = 0, len, blen;
	char *note, *body;
	int r;

	if (!o->have_old)
		die("request: --old M is required");
	note = checkpoint_note(l, size, NULL, &len);
	tree_of(l, size, &t);
	if (o->old > 0 && o->old < size &&
	    (r = rp_merkle_prove_consistency(o->old, size, memtree_read, &t, proof, &nproof)) < 0)
		die("consistency proof %llu -> %llu: %s", (unsigned long long)o->old,
		    (unsigned long long)size, rp_strerror(r));
	if (!(body = rp_witness_req_format(o->old, (const uint8_t(*)[RP_HASH_LEN])proof, nproof,
					   note, len, &blen)))
		die("out of memory");
	fwrite(body, 1, blen, stdout);
	free(body);
	free(note);
	memtree_release(&t);
	return 0;
}

static int checkpoint_main(const struct blog *l, const struct opts *o)
{
	uint8_t root[RP_HASH_LEN];
	size_t n, len;
	char *note;

	if (o->root && (rp_b64_decode(o->root, strlen(o->root), root, sizeof(root), &n) != 0 ||
			n != RP_HASH_LEN))
		die("--root `%s' is not base64 of %d bytes", o->root, RP_HASH_LEN);
	note = checkpoint_note(l, o->have_size ? o->size : l->n, o->root ? root : NULL, &len);
	fwrite(note, 1, len, stdout);
	free(note);
	return 0;
}

/*
 * The answer of GET /v1/agent/entries (lib/scan.h) from this view of the
 * log: entries from `from' (at most RP_SCAN_ENTRIES_MAX, as rampartd) and
 * the consistency proof from after the last to size.
 */
static int entries_main(const struct blog *l, uint64_t from, uint64_t size)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct memtree t = {0};
	json_t *j = json_object(), *a = json_array();
	uint64_t end = from;
	size_t nproof = 0;
	int r;

	if (size > l->n || from >= size)
		die("entries: no entries from %llu in a tree of %llu (the log has %zu)",
		    (unsigned long long)from, (unsigned long long)size, l->n);
	for (; end < size && end - from < RP_SCAN_ENTRIES_MAX; end++)
		json_array_append_new(a, b64_json((const uint8_t *)l->e[end].p, l->e[end].len));
	tree_of(l, size, &t);
	if (end < size &&
	    (r = rp_merkle_prove_consistency(end, size, memtree_read, &t, proof, &nproof)) < 0)
		die("consistency proof %llu -> %llu: %s", (unsigned long long)end,
		    (unsigned long long)size, rp_strerror(r));
	json_object_set_new(j, "from", json_integer((json_int_t)from));
	json_object_set_new(j, "entries", a);
	json_object_set_new(j, "consistency", hashes_json(proof, nproof, NULL));
	memtree_release(&t);
	print_json(j);
	return 0;
}

/* Appends each file as an entry to the attacker's own bundle, atomically. */
static int append_main(struct blog *l, int argc, char *argv[])
{
	struct rp_sb sb;
	char *old = NULL, *all;
	size_t olen = 0, len;
	int r;

	if (!l->own)
		die("append: --log FILE is required");
	if (argc < 2)
		die("usage: breach ... append FILE...");
	if (rp_read_file(l->own, BREACH_FILE_MAX, &old, &olen) < 0)
		olen = 0;
	rp_sb_init(&sb, BREACH_FILE_MAX);
	rp_sb_put(&sb, old ? old : "", olen);
	for (int i = 1; i < argc; i++) {
		char *e = slurp(argv[i], RP_LOG_ENTRY_MAX, &len);
		if ((r = rp_bundle_put(&sb, e, len)) < 0)
			die("appending %s: %s", argv[i], rp_strerror(r));
		printf("%zu\n", l->n++);
		free(e);
	}
	if (!(all = rp_sb_take(&sb, &len)))
		die("the appended entries exceed %u bytes", BREACH_FILE_MAX);
	if ((r = rp_write_file_atomic(l->own, all, len, 0600)) < 0)
		die("writing %s: %s", l->own, rp_strerror(r));
	free(all);
	free(old);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option global[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'g'},
		{"log", required_argument, NULL, 'l'},
		{"swap", required_argument, NULL, 'w'},
		{0},
	};
	static struct blog l;
	const char *data = NULL, *org = NULL, *swap = NULL, *cmd;
	struct opts o = {0};
	int c;

	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	while ((c = getopt_long(argc, argv, "+", global, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'g': org = optarg; break;
		case 'l': l.own = optarg; break;
		case 'w': swap = optarg; break;
		default: die("bad option (see the comment at the top of breach.c)");
		}
	}
	if (!data || !org || optind >= argc)
		die("usage: breach --data DIR --org ORG [--log FILE] [--swap I=FILE] COMMAND ...");
	load_db(&l, data, org);
	load_own(&l);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "append"))
		return append_main(&l, argc, argv);
	if (swap)
		do_swap(&l, swap);
	if (!strcmp(cmd, "size")) {
		printf("%zu\n", l.n);
		return 0;
	}
	if (!strcmp(cmd, "entries")) {
		if (argc != 3)
			die("usage: breach ... entries FROM SIZE");
		return entries_main(&l, strtoull(argv[1], NULL, 10), strtoull(argv[2], NULL, 10));
	}
	if (!strcmp(cmd, "sign")) {
		size_t len, nlen;
		char *text, *note;
		if (argc != 2)
			die("usage: breach ... sign FILE");
		text = slurp(argv[1], RP_CHECKPOINT_MAX, &len);
		note = sign_text(&l, text, len, &nlen);
		fwrite(note, 1, nlen, stdout);
		free(note);
		free(text);
		return 0;
	}
	parse_opts(argc, argv, &o);
	if (!strcmp(cmd, "checkpoint"))
		return checkpoint_main(&l, &o);
	if (!strcmp(cmd, "request"))
		return request_main(&l, &o);
	if (!strcmp(cmd, "delivery"))
		return delivery_main(&l, &o);
	if (!strcmp(cmd, "answer"))
		return answer_main(&l, &o);
	die("unknown command `%s' (see the comment at the top of breach.c)", cmd);
}
