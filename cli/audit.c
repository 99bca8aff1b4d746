/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart audit: a monitor any administrator or third party can run. It
 * reads the org's log through the public tlog-tiles endpoints, checks the
 * checkpoint against the root policy (log key, witness quorum), replays
 * every new entry (lib/audit.c: tree recomputed, each entry checked against
 * the policy chain), and compares the recomputed root with the checkpoint.
 * State between runs (the tree's right edge, the policy chain's head and
 * the last verified checkpoint) stays in the config directory, so a run
 * reads only what is new, and a log that shrank or forked since the last
 * run is reported with both checkpoints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "checkpoint.h"
#include "cli.h"
#include "rp_err.h"

struct auditor {
	struct cli *c;
	struct rp_https_conn conn;
	bool quiet; /* findings and the summary only */
	unsigned threads; /* for checking signatures */
	size_t errors;    /* checks that could not run */
	size_t findings;
};

static void finding(struct auditor *au, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct auditor *au, const char *fmt, ...)
{
	va_list ap;

	au->findings++;
	printf("FINDING: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void print_evidence(const char *what, const char *note);

static void on_entry(void *arg, uint64_t index, bool bad, const char *text)
{
	struct auditor *au = arg;

	if (bad)
		finding(au, "entry %llu: %s", (unsigned long long)index, text);
	else if (!au->quiet)
		printf("#%llu %s\n", (unsigned long long)index, text);
}

/* GET a log resource (public: no authentication) over the pinned connection. */
static int fetch(struct auditor *au, const char *rest, size_t max, struct rp_http_resp *ret)
{
	struct rp_http_req req = {.method = "GET"};
	struct rp_https_client hc = au->c->api.http;
	struct rp_diag d = {""};
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/v1/log/%s/%s", au->c->org, rest);
	req.path = path;
	hc.max_body = max;
	if ((r = rp_https_do_conn(&hc, &au->conn, &req, ret, &d)) < 0) {
		cli_err("audit: fetching %s: %s", path, d.msg);
		return r;
	}
	if (ret->status != 200) {
		cli_err("audit: fetching %s: HTTP %d: %.200s", path, ret->status, ret->body);
		rp_http_resp_release(ret);
		return RP_E_HTTP;
	}
	return 0;
}

/* Replays entries [a->size, size) from the entry bundles. */
static int replay(struct auditor *au, struct rp_audit *a, uint64_t size)
{
	while (a->size < size) {
		uint64_t tile = a->size / RP_TILE_WIDTH, skip = a->size % RP_TILE_WIDTH;
		uint64_t end = (tile + 1) * RP_TILE_WIDTH;
		struct rp_tile t = {RP_TILE_ENTRIES, tile, RP_TILE_WIDTH};
		struct rp_http_resp resp = {0};
		char path[64];
		size_t off = 0;
		int r;

		if (end > size)
			t.width = (unsigned)(size - tile * RP_TILE_WIDTH);
		rp_tile_path(&t, path);
		if ((r = fetch(au, path, (size_t)t.width * (RP_LOG_ENTRY_MAX + 2), &resp)) < 0)
			return r;
		const char *data[RP_TILE_WIDTH];
		size_t lens[RP_TILE_WIDTH], count = 0;
		for (unsigned i = 0; i < t.width; i++) {
			const uint8_t *p = (const uint8_t *)resp.body + off;
			size_t n;
			if (resp.body_len - off < 2 ||
			    (n = (size_t)p[0] << 8 | p[1]) > resp.body_len - off - 2) {
				finding(au, "entry bundle %s is truncated at entry %llu", path,
					(unsigned long long)(tile * RP_TILE_WIDTH + i));
				rp_http_resp_release(&resp);
				return RP_E_MALFORMED;
			}
			if (i >= skip) {
				data[count] = (const char *)p + 2;
				lens[count++] = n;
			}
			off += 2 + n;
		}
		if ((r = rp_audit_entries(a, data, lens, count, au->threads, on_entry, au)) < 0) {
			rp_http_resp_release(&resp);
			return r;
		}
		if (off != resp.body_len)
			finding(au, "entry bundle %s has %zu bytes after its %u entries", path,
				resp.body_len - off, t.width);
		rp_http_resp_release(&resp);
	}
	return 0;
}

/*
 * Stored hashes read from the hash tiles of a tree of `size' entries, as a
 * tlog-tiles client does: level 8T is in tile T; a hash at level 8T + r is
 * the root of 2^r consecutive hashes of that tile, recomputed here.
 */
struct tile_reader {
	struct auditor *au;
	uint64_t size;
	struct rp_tile have; /* the tile held in buf */
	uint8_t buf[RP_TILE_WIDTH][RP_HASH_LEN];
	bool loaded;
};

static int tile_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	struct tile_reader *tr = arg;
	unsigned t = level / RP_TILE_HEIGHT, r = level % RP_TILE_HEIGHT;
	uint64_t first = index << r, count = (uint64_t)1 << r; /* hashes at level 8t */
	uint64_t at_level = tr->size >> (t * RP_TILE_HEIGHT);  /* complete ones */
	struct rp_tile want = {(int)t, first / RP_TILE_WIDTH, RP_TILE_WIDTH};
	uint8_t h[128][RP_HASH_LEN];
	int rc;

	if (t * RP_TILE_HEIGHT >= 64 || first + count > at_level)
		return RP_E_INVAL;
	if (at_level < (want.index + 1) * RP_TILE_WIDTH)
		want.width = (unsigned)(at_level - want.index * RP_TILE_WIDTH);
	if (!tr->loaded || memcmp(&want, &tr->have, sizeof(want)) != 0) {
		struct rp_http_resp resp = {0};
		char path[64];
		rp_tile_path(&want, path);
		if ((rc = fetch(tr->au, path, (size_t)want.width * RP_HASH_LEN, &resp)) < 0)
			return rc;
		if (resp.body_len != (size_t)want.width * RP_HASH_LEN) {
			rp_http_resp_release(&resp);
			return RP_E_MALFORMED;
		}
		memcpy(tr->buf, resp.body, resp.body_len);
		rp_http_resp_release(&resp);
		tr->have = want;
		tr->loaded = true;
	}
	/* fold 2^r hashes pairwise into one */
	memcpy(h, tr->buf[first % RP_TILE_WIDTH], (size_t)count * RP_HASH_LEN);
	for (uint64_t n = count; n > 1; n /= 2)
		for (uint64_t i = 0; i < n / 2; i++)
			rp_merkle_node_hash(h[2 * i], h[2 * i + 1], h[i]);
	memcpy(out, h[0], RP_HASH_LEN);
	return 0;
}

/*
 * A checkpoint obtained elsewhere (an agent's checkpoint.note, another
 * monitor's) against the tree just verified: a split view shows as a
 * checkpoint that the log served to us cannot be consistent with.
 */
static void cross_check(struct auditor *au, const struct rp_policy *p, const char *file,
			const struct rp_checkpoint *cp, const char *served)
{
	struct tile_reader *tr = calloc(1, sizeof(*tr));
	struct rp_diag d = {""};
	struct rp_checkpoint other;
	uint8_t root[RP_HASH_LEN];
	char *buf = NULL;
	size_t len;

	if (!tr || rp_read_file(file, RP_CHECKPOINT_MAX, &buf, &len) < 0) {
		cli_err("audit: cannot read %s", file);
		au->errors++;
		goto out;
	}
	if (rp_checkpoint_verify(&p->wp, buf, len, rp_now(), 0, RP_CLOCK_SKEW_S, &other, NULL,
				 &d) < 0) {
		finding(au, "checkpoint %s is not acceptable under the root policy: %s", file, d.msg);
		goto out;
	}
	if (other.size > cp->size) {
		finding(au, "checkpoint %s has %llu entries, more than the %llu this server serves: "
			    "it showed someone a longer log (split view)",
			file, (unsigned long long)other.size, (unsigned long long)cp->size);
	} else {
		tr->au = au;
		tr->size = cp->size;
		if (other.size == 0)
			rp_merkle_empty_root(root);
		else if (rp_merkle_tree_hash(other.size, tile_read, tr, root) < 0) {
			cli_err("audit: cannot read the hash tiles to check %s", file);
			au->errors++;
			goto out;
		}
		if (memcmp(root, other.root, RP_HASH_LEN) == 0) {
			if (!au->quiet)
				printf("checkpoint %s (%llu entries) is consistent with this log\n", file,
				       (unsigned long long)other.size);
			goto out;
		}
		finding(au, "checkpoint %s is not consistent with the log served now: at %llu "
			    "entries the served tree has another root (split view or fork)",
			file, (unsigned long long)other.size);
	}
	print_evidence("checkpoint given", buf);
	print_evidence("checkpoint served now", served);
out:
	free(tr);
	free(buf);
}

static void print_evidence(const char *what, const char *note)
{
	printf("---- %s ----\n%s----\n", what, note && *note ? note : "(none)\n");
}

int cmd_audit(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"state", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct auditor au = {.c = c};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct rp_audit a;
	struct rp_policy *anchor = NULL;
	struct rp_checkpoint cp;
	struct rp_diag d = {""};
	struct rp_http_resp resp = {0};
	char state_path[600], cp_path[640], anchor_path[600];
	const char *policy_file = NULL, *state_file = NULL, *others[16];
	size_t nothers = 0;
	char *buf = NULL, *old_note = NULL, *saved = NULL;
	uint8_t root[RP_HASH_LEN];
	size_t len;
	int ch, r, rc = 2;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:s:qc:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (nothers == sizeof(others) / sizeof(others[0])) {
				cli_err("audit: at most 16 --checkpoint files");
				return 2;
			}
			others[nothers++] = optarg;
			break;
		case 'p': policy_file = optarg; break;
		case 's': state_file = optarg; break;
		case 'q': au.quiet = true; break;
		case 'h':
			printf("Usage: rampart audit [--policy FILE] [--state FILE] [--quiet]\n"
			       "                     [--checkpoint FILE]...\n\n"
			       "Audits the org's transparency log from the server's public tiles:\n"
			       "checks the checkpoint's log signature and witness quorum against the\n"
			       "root policy, replays every entry not audited before (recomputing the\n"
			       "Merkle tree and checking each entry's signatures against the root\n"
			       "policy chain), and prints the history of everything ever authorised.\n"
			       "Unauthorised or unparseable entries, a checkpoint without its quorum,\n"
			       "a tree that shrank or forked since the last run: each is printed as a\n"
			       "FINDING with its evidence, and the exit status is 1.\n\n"
			       "  --policy FILE  the signed root policy version 1 you trust (default:\n"
			       "                 the copy `rampart policy upload' kept for this org)\n"
			       "  --state FILE   where the audit remembers what it verified (default:\n"
			       "                 audit-ORG.state in the config directory)\n"
			       "  --quiet        findings and the summary only\n"
			       "  --checkpoint FILE  a checkpoint seen elsewhere (an agent's\n"
			       "                 checkpoint.note, another monitor's) to check against\n"
			       "                 this log: a split view is a finding\n\n"
			       "Needs --server, --pin and --org, no key: anyone may audit.\n"
			       "Exit status: 0 clean, 1 findings, 2 the audit could not run.\n");
			return 0;
		default: return 2;
		}
	}
	if (!c->server[0] || !c->pin[0] || !c->org[0] ||
	    rp_url_parse(c->server, &c->api.http.url, &d) < 0 ||
	    rp_pin_parse(c->pin, c->api.http.pin, &d) < 0) {
		cli_err("audit: needs --server, --pin and --org%s%s", d.msg[0] ? ": " : "", d.msg);
		return 2;
	}
	c->api.http.timeout_ms = 30000;
	au.threads = ncpu > 0 ? (unsigned)ncpu : 1;
	if (state_file)
		snprintf(state_path, sizeof(state_path), "%s", state_file);
	else
		snprintf(state_path, sizeof(state_path), "%s/audit-%s.state", c->config_dir, c->org);
	snprintf(cp_path, sizeof(cp_path), "%s.checkpoint", state_path);

	/* What we verified before, or the trusted root policy to start from. */
	if (rp_read_file(state_path, 1 << 20, &buf, &len) == 0) {
		r = rp_audit_load(&a, buf, len, &d);
		free(buf);
		buf = NULL;
		if (r < 0) {
			cli_err("audit: %s: %s", state_path, d.msg);
			return 2;
		}
		rp_read_file(cp_path, RP_CHECKPOINT_MAX, &old_note, &len);
	} else {
		if (!policy_file && cli_trusted_policy_path(c, c->org, anchor_path,
							    sizeof(anchor_path)) == 0)
			policy_file = anchor_path;
		if (!policy_file || rp_read_file(policy_file, RP_NOTE_MAX, &buf, &len) < 0 ||
		    rp_policy_parse(buf, len, &anchor, &d) < 0) {
			cli_err("audit: no trusted root policy (%s): pass --policy FILE",
				policy_file ? policy_file : "none");
			free(buf);
			rp_policy_free(anchor);
			return 2;
		}
		free(buf);
		buf = NULL;
		rp_audit_init(&a, anchor->hash);
	}

	if (!a.policy && !anchor) {
		cli_err("audit: %s holds no root policy", state_path);
		goto out;
	}
	/* The checkpoint, judged by the policy we hold (or the anchor on a first run). */
	if (fetch(&au, "checkpoint", RP_CHECKPOINT_MAX, &resp) < 0)
		goto out;
	r = rp_checkpoint_verify(a.policy ? &a.policy->wp : &anchor->wp, resp.body, resp.body_len,
				 rp_now(), 0, RP_CLOCK_SKEW_S, &cp, NULL, &d);
	if (r < 0) {
		finding(&au, "the server's checkpoint is not acceptable: %s", d.msg);
		print_evidence("checkpoint served now", resp.body);
		print_evidence("last checkpoint verified", old_note);
		rc = 1;
		goto out;
	}
	if (cp.size < a.size) {
		finding(&au, "the log shrank from %llu to %llu entries since the last audit "
			     "(rollback or fork)", (unsigned long long)a.size,
			(unsigned long long)cp.size);
		print_evidence("last checkpoint verified", old_note);
		print_evidence("checkpoint served now", resp.body);
		rc = 1;
		goto out;
	}
	if ((r = replay(&au, &a, cp.size)) < 0) {
		rc = au.findings ? 1 : 2;
		goto out;
	}
	rp_audit_root(&a, root);
	if (memcmp(root, cp.root, RP_HASH_LEN) != 0) {
		finding(&au, "the %llu entries served do not hash to the checkpoint's root: the "
			     "log was rewritten or forked since the last audit",
			(unsigned long long)cp.size);
		print_evidence("last checkpoint verified", old_note);
		print_evidence("checkpoint served now", resp.body);
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < nothers; i++)
		cross_check(&au, a.policy, others[i], &cp, resp.body);
	/* Consistent: remember it. Findings about entries stay history, not state. */
	if (!(saved = rp_audit_save(&a, &len)) ||
	    rp_write_file_atomic(state_path, saved, len, 0600) < 0 ||
	    rp_write_file_atomic(cp_path, resp.body, resp.body_len, 0600) < 0) {
		cli_err("audit: cannot write %s", state_path);
		goto out;
	}
	printf("audit: %s: %llu entries, tree recomputed and equal to the checkpoint signed by "
	       "the log key with its witness quorum; %zu finding%s\n",
	       cp.origin, (unsigned long long)cp.size, au.findings, au.findings == 1 ? "" : "s");
	rc = au.findings ? 1 : au.errors ? 2 : 0;
out:
	if (rc == 1 && au.findings)
		printf("audit: %zu finding%s\n", au.findings, au.findings == 1 ? "" : "s");
	rp_http_resp_release(&resp);
	rp_https_conn_close(&au.conn);
	rp_audit_release(&a);
	rp_policy_free(anchor);
	free(old_note);
	free(saved);
	return rc;
}
