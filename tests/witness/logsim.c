/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logsim: a log for testing rampart-witness. Builds the Merkle tree of a
 * log in memory with lib/merkle.h and prints what a log would send to a
 * witness, or checks what a witness sent back:
 *
 *   logsim keygen NAME FILE
 *       writes a log signer key to FILE (0600), prints its verifier key
 *   logsim checkpoint --key FILE --size N [--fork I] [--entries FILE]
 *       prints the signed checkpoint note of the first N entries
 *   logsim request --key FILE --old M --size N [--fork I] [--bad-proof] [--entries FILE]
 *       prints the add-checkpoint body: old M, the consistency proof from M to
 *       N, the signed checkpoint of size N
 *   logsim root --size N [--fork I] [--entries FILE]
 *       prints the base64 root of the first N entries
 *   logsim verify --witness VKEY (--note FILE | --request FILE) --cosig FILE
 *       verifies the cosignature lines in FILE (a witness's 200 body) by VKEY
 *       over the checkpoint; prints "ok <time>"; exit 1 if none verifies
 *
 * Entries are "logsim entry <i>" unless --entries gives them, one a line.
 * --fork I rewrites entry I ("logsim forked entry <i>"): the same log,
 * rewritten from I on, as a log showing a split view would be.
 * --bad-proof flips a bit of the first proof hash (adds a hash when the
 * proof is empty).
 */
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "memtree.h"
#include "merkle.h"
#include "note.h"
#include "rp_err.h"
#include "util.h"

#define LOGSIM_ENTRIES_MAX (1u << 20)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("logsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

struct entries {
	char *buf; /* --entries file, lines split in place */
	char **line;
	size_t n;
};

static void entries_load(const char *path, struct entries *e)
{
	size_t len, k = 0;
	int r;

	if ((r = rp_read_file(path, 64 * 1024 * 1024, &e->buf, &len)) < 0)
		die("reading %s: %s", path, rp_strerror(r));
	for (size_t i = 0; i < len; i++)
		k += e->buf[i] == '\n';
	if (!(e->line = calloc(k + 1, sizeof(char *))))
		die("out of memory");
	for (char *p = e->buf, *nl; (nl = memchr(p, '\n', len - (size_t)(p - e->buf)));
	     p = nl + 1) {
		*nl = '\0';
		e->line[e->n++] = p;
	}
}

/* Entry i of the log, the rewritten one if i == fork. */
static void entry_hash(const struct entries *e, uint64_t i, int64_t fork, uint8_t out[RP_HASH_LEN])
{
	char buf[64];
	int k;

	if (e->line && i < e->n && (int64_t)i != fork) {
		rp_merkle_leaf_hash(e->line[i], strlen(e->line[i]), out);
		return;
	}
	k = snprintf(buf, sizeof(buf), "logsim %sentry %llu\n", (int64_t)i == fork ? "forked " : "",
		     (unsigned long long)i);
	rp_merkle_leaf_hash(buf, (size_t)k, out);
}

static void tree_build(struct memtree *t, uint64_t size, const struct entries *e, int64_t fork)
{
	uint8_t leaf[RP_HASH_LEN];
	int r;

	if (memtree_init(t, size) < 0)
		die("out of memory");
	for (uint64_t i = 0; i < size; i++) {
		entry_hash(e, i, fork, leaf);
		if ((r = memtree_append(t, leaf)) < 0)
			die("appending entry %llu: %s", (unsigned long long)i, rp_strerror(r));
	}
}

static void tree_root(struct memtree *t, uint64_t size, uint8_t out[RP_HASH_LEN])
{
	int r;

	if ((r = memtree_root(t, size, out)) < 0)
		die("root of size %llu: %s", (unsigned long long)size, rp_strerror(r));
}

static void load_skey(const char *path, struct rp_skey *k)
{
	struct rp_diag d = {{0}};
	char *s;
	size_t n;
	int r;

	if ((r = rp_read_file(path, RP_KEYTEXT_MAX, &s, &n)) < 0)
		die("reading %s: %s", path, rp_strerror(r));
	while (n > 0 && s[n - 1] == '\n')
		n--;
	if ((r = rp_skey_parse(s, n, k, &d)) < 0)
		die("%s: %s", path, *d.msg ? d.msg : rp_strerror(r));
	free(s);
}

/* The signed checkpoint note of the tree's first size entries; malloc'd. */
static char *signed_checkpoint(struct memtree *t, uint64_t size, const struct rp_skey *k,
			       size_t *ret_len)
{
	struct rp_checkpoint c = {0};
	char *text, *note;
	size_t len;
	int r;

	snprintf(c.origin, sizeof(c.origin), "%s", k->name);
	c.size = size;
	tree_root(t, size, c.root);
	if (!(text = rp_checkpoint_format(&c, &len)))
		die("formatting the checkpoint: out of memory");
	if ((r = rp_note_sign(text, len, NULL, k, &note, ret_len)) < 0)
		die("signing the checkpoint: %s", rp_strerror(r));
	free(text);
	return note;
}

struct opts {
	const char *key, *entries, *witness, *note, *request, *cosig;
	uint64_t size, old;
	bool have_size, have_old, bad_proof;
	int64_t fork;
};

static uint64_t num(const char *what, const char *s)
{
	uint64_t v;

	if (rp_parse_u64(s, strlen(s), LOGSIM_ENTRIES_MAX, &v) != 0)
		die("%s `%s' is not a number up to %u", what, s, LOGSIM_ENTRIES_MAX);
	return v;
}

static void parse_opts(int argc, char *argv[], struct opts *o)
{
	static const struct option all[] = {
		{"key", required_argument, NULL, 'k'},
		{"size", required_argument, NULL, 's'},
		{"old", required_argument, NULL, 'o'},
		{"fork", required_argument, NULL, 'f'},
		{"entries", required_argument, NULL, 'e'},
		{"bad-proof", no_argument, NULL, 'b'},
		{"witness", required_argument, NULL, 'w'},
		{"note", required_argument, NULL, 'n'},
		{"request", required_argument, NULL, 'r'},
		{"cosig", required_argument, NULL, 'c'},
		{0},
	};
	int c;

	o->fork = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", all, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 's': o->size = num("--size", optarg), o->have_size = true; break;
		case 'o': o->old = num("--old", optarg), o->have_old = true; break;
		case 'f': o->fork = (int64_t)num("--fork", optarg); break;
		case 'e': o->entries = optarg; break;
		case 'b': o->bad_proof = true; break;
		case 'w': o->witness = optarg; break;
		case 'n': o->note = optarg; break;
		case 'r': o->request = optarg; break;
		case 'c': o->cosig = optarg; break;
		default: die("bad option (see the comment at the top of logsim.c)");
		}
	}
	if (optind < argc)
		die("unexpected argument `%s'", argv[optind]);
}

static int keygen_main(int argc, char *argv[])
{
	struct rp_skey k;
	struct rp_vkey v;
	char *s, *vs;
	int r;

	if (argc != 3)
		die("usage: logsim keygen NAME FILE");
	if ((r = rp_skey_generate(argv[1], &k)) < 0)
		die("generating a key named `%s': %s", argv[1], rp_strerror(r));
	rp_skey_vkey(&k, &v);
	if (!(s = rp_skey_format(&k)) || !(vs = rp_vkey_format(&v)))
		die("out of memory");
	if ((r = rp_write_file_atomic(argv[2], s, strlen(s), 0600)) < 0)
		die("writing %s: %s", argv[2], rp_strerror(r));
	printf("%s\n", vs);
	free(s);
	free(vs);
	rp_skey_wipe(&k);
	return 0;
}

/* checkpoint, request and root: everything that needs the tree. */
static int tree_main(const char *cmd, int argc, char *argv[])
{
	struct opts o = {0};
	struct entries e = {0};
	struct memtree t = {0};
	struct rp_skey k;
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN], root[RP_HASH_LEN];
	size_t nproof = 0, len;
	char *note, *body;
	int r;

	parse_opts(argc, argv, &o);
	if (o.entries)
		entries_load(o.entries, &e);
	if (!o.have_size && e.line)
		o.size = e.n;
	else if (!o.have_size)
		die("%s: --size N is required", cmd);
	if (!strcmp(cmd, "root")) {
		tree_build(&t, o.size, &e, o.fork);
		tree_root(&t, o.size, root);
		char *b = rp_b64_encode(root, sizeof(root));
		printf("%s\n", b);
		free(b);
		goto out;
	}
	if (!o.key)
		die("%s: --key FILE is required", cmd);
	load_skey(o.key, &k);
	tree_build(&t, o.size > o.old ? o.size : o.old, &e, o.fork);
	note = signed_checkpoint(&t, o.size, &k, &len);
	if (!strcmp(cmd, "checkpoint")) {
		fwrite(note, 1, len, stdout);
		free(note);
		goto out;
	}
	if (!o.have_old)
		die("request: --old M is required");
	if (o.old > 0 && o.old < o.size &&
	    (r = rp_merkle_prove_consistency(o.old, o.size, memtree_read, &t, proof, &nproof)) < 0)
		die("consistency proof %llu -> %llu: %s", (unsigned long long)o.old,
		    (unsigned long long)o.size, rp_strerror(r));
	if (o.bad_proof) {
		if (nproof == 0)
			memset(proof[nproof++], 0x5a, RP_HASH_LEN);
		else
			proof[0][0] ^= 1;
	}
	if (!(body = rp_witness_req_format(o.old, (const uint8_t(*)[RP_HASH_LEN])proof, nproof,
					   note, len, &len)))
		die("formatting the request: out of memory");
	fwrite(body, 1, len, stdout);
	free(body);
	free(note);
out:
	memtree_release(&t);
	free(e.line);
	free(e.buf);
	return 0;
}

static int verify_main(int argc, char *argv[])
{
	struct opts o = {0};
	struct rp_diag d = {{0}};
	struct rp_vkey wk;
	struct rp_note *note;
	struct rp_sb sb;
	char *cp, *cs, *all;
	const char *start;
	size_t cplen, cslen, len;
	uint64_t t = 0;
	int r, good = 0;

	parse_opts(argc, argv, &o);
	if (!o.witness || !o.cosig || !o.note == !o.request)
		die("usage: logsim verify --witness VKEY (--note FILE | --request FILE) --cosig FILE");
	if ((r = rp_vkey_parse(o.witness, strlen(o.witness), &wk, &d)) < 0)
		die("--witness: %s", d.msg);
	if ((r = rp_read_file(o.note ? o.note : o.request, RP_WITNESS_REQUEST_MAX, &cp, &cplen)) <
	    0)
		die("reading the checkpoint: %s", rp_strerror(r));
	start = cp;
	if (o.request) { /* the note follows the first empty line */
		const char *blank = strstr(cp, "\n\n");
		if (!blank)
			die("%s is not an add-checkpoint body", o.request);
		start = blank + 2;
		cplen -= (size_t)(start - cp);
	}
	if ((r = rp_read_file(o.cosig, RP_CHECKPOINT_MAX, &cs, &cslen)) < 0)
		die("reading %s: %s", o.cosig, rp_strerror(r));
	/* The spec's way: append the response to the checkpoint, parse it as a note. */
	rp_sb_init(&sb, RP_CHECKPOINT_MAX * 2);
	rp_sb_put(&sb, start, cplen);
	rp_sb_put(&sb, cs, cslen);
	if (!(all = rp_sb_take(&sb, &len)))
		die("out of memory");
	if ((r = rp_note_parse(all, len, &note, &d)) < 0)
		die("checkpoint + cosignatures do not parse as a note: %s", d.msg);
	for (size_t i = 0; i < note->nsigs; i++) {
		uint64_t ti;
		r = rp_cosig_verify(&wk, note->msg, note->text_len, &note->sigs[i], &ti, &d);
		if (r == RP_E_NOTFOUND)
			continue;
		if (r < 0)
			die("cosignature %zu: %s: %s", i, rp_strerror(r), d.msg);
		good++;
		t = ti;
	}
	rp_note_free(note);
	free(all);
	free(cs);
	free(cp);
	if (!good)
		die("no cosignature by %s", o.witness);
	printf("ok %llu\n", (unsigned long long)t);
	return 0;
}

int main(int argc, char *argv[])
{
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	if (argc < 2)
		die("usage: logsim keygen|checkpoint|request|root|verify ... (see logsim.c)");
	if (!strcmp(argv[1], "keygen"))
		return keygen_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return verify_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "checkpoint") || !strcmp(argv[1], "request") ||
	    !strcmp(argv[1], "root"))
		return tree_main(argv[1], argc - 1, argv + 1);
	die("unknown command `%s'", argv[1]);
}
