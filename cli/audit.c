/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart audit: a monitor any administrator or third party can run. It
 * reads the org's log through the public tlog-tiles endpoints (lib/tiles.c
 * parses what they serve), checks the checkpoint against the root policy
 * (log key, witness quorum, freshness: lib/audit.c), replays every new
 * entry (lib/audit.c: tree recomputed, each entry checked against the
 * policy chain), and judges the checkpoint against what it verified
 * before with the append-only check every verifier shares (lib/tlog.c).
 * This file fetches and reports. State between runs (the tree's right
 * edge, the policy chain's head and the last verified checkpoint) stays in
 * the config directory, so a run reads only what is new, and a log that
 * shrank or forked since the last run is reported with both checkpoints.
 *
 * A run is bounded and resumable, for a log a breached server padded with
 * junk (2^k cheap entries, valid proofs, cosigned by honest witnesses):
 *
 * - After RP_AUDIT_FINDINGS_MAX findings the replay stops, says how many
 *   entries it left unchecked, and exits 1.
 *
 * - Progress is saved as the replay goes, but only verified progress, and
 *   never past a finding. The state written mid-run is the tree after the
 *   last bundle of this run that had no finding, and only once a
 *   consistency proof (built from the served hash tiles) shows that tree
 *   is a prefix of the checkpoint's, which the log key and the witness
 *   quorum signed: entries the checkpoint does not cover are never saved.
 *   It is written every RP_AUDIT_SAVE_S seconds of the replay (a proof
 *   and two fsyncs per 256-entry bundle would add several round trips
 *   each), and when the run stops early: at the findings bound, or when a
 *   fetch fails. A finding printed before the run ended may never have
 *   reached anyone (the run was killed with it in a buffer, its output
 *   went to a pipe that closed), so the state stays before it and the next
 *   run reports it again; only a run that reaches its end, with its
 *   summary line and exit 1, saves past its findings (they are history
 *   then, not state, as before). A run stopped at the bound therefore
 *   reports the same findings again on every rerun until the log is dealt
 *   with: the bound hides neither them nor the entries after them.
 *
 * - The checkpoint saved with a mid-run state is the one its prefix was
 *   proven against, larger than the state. The next run holds the log to
 *   it: a checkpoint now served that does not extend it (smaller, or
 *   another tree) is a finding, as for a completed run.
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
#include "tiles.h"
#include "tlog.h"
#include "json.h"

struct auditor {
	struct cli *c;
	struct rp_https_conn conn;
	bool quiet;       /* findings and the summary only */
	unsigned threads; /* for checking signatures */
	size_t errors;    /* checks that could not run */
	size_t findings;
	/* The findings bound: once hit, nothing more is reported from unreported on. */
	bool stopped;
	uint64_t unreported;
	/* Progress of this run (see the top of this file). */
	const char *state_path, *cp_path;
	const struct rp_checkpoint *cp; /* the checkpoint served, verified */
	const char *note;               /* its signed note */
	size_t note_len;
	uint64_t saved;    /* size of the state on disk */
	int64_t last_save; /* when it was written (or the run started) */
	char *snap;        /* rp_audit_save of the last clean bundle */
	size_t snap_len;
	uint64_t snap_size;
	uint8_t snap_root[RP_HASH_LEN];
	/* --signed-by: the key watched, the entries it signed; nothing is saved */
	struct rp_vkey watch;
	bool watching;
	size_t nsigned;
	uint64_t gen; /* the log read: its generation (lib/audit.h) */
};

/* --json: each finding's text, and the size of the log verified (cmd_audit). */
static json_t *audit_findings;
static uint64_t audit_size;

static void finding(struct auditor *au, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct auditor *au, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	if (au->stopped)
		return;
	au->findings++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cli_progress_end();
	if (audit_findings)
		json_array_append_new(audit_findings, json_string(buf));
	/* Findings quote the log's own text: the server's words, filtered like any. */
	fputs("FINDING: ", stdout);
	cli_put(stdout, buf);
	putchar('\n');
}

static void print_evidence(const char *what, const char *note);

/* An entry's number: INDEX, or GEN/INDEX in the logs after a log key rotation. */
static void entry_at(const struct auditor *au, uint64_t index, char out[48])
{
	if (au->gen > 1)
		snprintf(out, 48, "%llu/%llu", (unsigned long long)au->gen,
			 (unsigned long long)index);
	else
		snprintf(out, 48, "%llu", (unsigned long long)index);
}

static void on_entry(void *arg, uint64_t index, bool bad, const char *text)
{
	struct auditor *au = arg;
	char at[48];

	if (au->stopped)
		return;
	entry_at(au, index, at);
	if (bad) {
		finding(au, "entry %s: %s", at, text);
		if (au->findings >= RP_AUDIT_FINDINGS_MAX) {
			au->stopped = true;
			au->unreported = index + 1;
		}
	} else if (!au->quiet) {
		printf("#%s ", at);
		cli_put(stdout, text);
		putchar('\n');
	}
}

/* An entry the watched key signed, authorised or not (lib/audit.h). */
static void on_signed(void *arg, uint64_t index, const char *text)
{
	struct auditor *au = arg;
	char at[48];

	au->nsigned++;
	entry_at(au, index, at);
	printf("SIGNED #%s ", at);
	cli_put(stdout, text);
	putchar('\n');
}

/* GET a public resource (no authentication) over the pinned connection. */
static int fetch_path(struct auditor *au, const char *path, size_t max, struct rp_http_resp *ret)
{
	struct rp_http_req req = {.method = "GET"};
	struct rp_https_client hc = au->c->api.http;
	struct rp_diag d = {""};
	int r;

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

/* GET a resource of the log being read (au->gen). */
static int fetch(struct auditor *au, const char *rest, size_t max, struct rp_http_resp *ret)
{
	char path[256];

	/* by generation: after a log key rotation, /v1/log/<org>/ is the newest log only */
	snprintf(path, sizeof(path), "/v1/log/%s/%llu/%s", au->c->org, (unsigned long long)au->gen,
		 rest);
	return fetch_path(au, path, max, ret);
}

static int fetch_tile(void *arg, const struct rp_tile *t, uint8_t *buf, size_t cap,
		      size_t *ret_len);

/* The tree replayed so far, kept in memory while this run has found nothing. */
static void progress_keep(struct auditor *au, const struct rp_audit *a)
{
	char *t;
	size_t n;

	if (!(t = rp_audit_save(a, &n)))
		return; /* out of memory: the last snapshot stands */
	free(au->snap);
	au->snap = t;
	au->snap_len = n;
	au->snap_size = a->tree.size;
	rp_audit_root(a, au->snap_root);
}

/*
 * Writes the last clean snapshot, once a consistency proof from the
 * served hash tiles shows its tree is a prefix of the checkpoint's: only
 * verified progress is saved. The tree of the whole checkpoint is saved
 * by cmd_audit, after it compared the roots itself.
 */
static void progress_save(struct auditor *au)
{
	if (au->watching)
		return; /* a --signed-by run replays from 0 and leaves the state alone */
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct rp_tlog_head part = {au->snap_size}, all = {au->cp->size};
	struct rp_tile_reader *tr;
	struct rp_diag d = {""};
	size_t nproof = 0;
	int r;

	if (!au->snap || au->snap_size <= au->saved || au->snap_size >= au->cp->size)
		return;
	if (!(tr = calloc(1, sizeof(*tr))))
		return;
	memcpy(part.root, au->snap_root, RP_HASH_LEN);
	memcpy(all.root, au->cp->root, RP_HASH_LEN);
	rp_tile_reader_init(tr, au->cp->size, fetch_tile, au);
	if ((r = rp_merkle_prove_consistency(part.size, all.size, rp_tile_reader_read, tr, proof,
					     &nproof)) < 0) {
		cli_err("audit: cannot read the hash tiles to prove the %llu entries replayed are "
			"in the checkpoint's tree, so the progress is not saved: %s",
			(unsigned long long)part.size,
			tr->diag.msg[0] ? tr->diag.msg : rp_strerror(r));
	} else if (rp_tlog_advance(&part, &all, (const uint8_t(*)[RP_HASH_LEN])proof, nproof, &d) !=
		   RP_TLOG_EXTENDS) {
		finding(au,
			"the first %llu entries served are not in the tree of the checkpoint, "
			"by the log's own hash tiles: %s",
			(unsigned long long)part.size, d.msg);
	} else if (fflush(stdout) == 0 && /* what was reported is out before the state moves */
		   rp_write_file_atomic(au->state_path, au->snap, au->snap_len, 0600) == 0 &&
		   rp_write_file_atomic(au->cp_path, au->note, au->note_len, 0600) == 0) {
		au->saved = part.size;
		au->last_save = rp_now();
	} else {
		cli_err("audit: cannot write %s", au->state_path);
	}
	free(tr);
	/* Whatever happened, this snapshot is done with: a failure is not retried each bundle. */
	free(au->snap);
	au->snap = NULL;
}

/*
 * Replays entries [a->tree.size, size) from the entry bundles (lib/tiles.h),
 * keeping the progress of the bundles before this run's first finding
 * about them (progress_save writes it).
 */
static int replay(struct auditor *au, struct rp_audit *a, uint64_t size)
{
	size_t found = au->findings; /* the checkpoint's (stale) is judged anew each run */

	while (a->tree.size < size && !au->stopped) {
		cli_progress("audit: entry %llu of %llu verified", (unsigned long long)a->tree.size,
			     (unsigned long long)size);
		uint64_t tile = a->tree.size / RP_TILE_WIDTH, skip = a->tree.size % RP_TILE_WIDTH;
		uint64_t end = (tile + 1) * RP_TILE_WIDTH;
		struct rp_tile t = {RP_TILE_ENTRIES, tile, RP_TILE_WIDTH};
		struct rp_http_resp resp = {0};
		struct rp_diag d = {""};
		struct rp_bundle b;
		const char *data[RP_TILE_WIDTH];
		size_t lens[RP_TILE_WIDTH], count = 0;
		char path[64];
		int r;

		if (end > size)
			t.width = (unsigned)(size - tile * RP_TILE_WIDTH);
		rp_tile_path(&t, path);
		if ((r = fetch(au, path, (size_t)t.width * (RP_LOG_ENTRY_MAX + 2), &resp)) < 0)
			return r;
		rp_bundle_init(&b, resp.body, resp.body_len);
		for (unsigned i = 0; i < t.width; i++) {
			const char *e;
			size_t n;
			if ((r = rp_bundle_next(&b, &e, &n, &d)) != 1) {
				if (r == 0)
					rp_diagf(&d, "it ends after %u of its %u entries", i,
						 t.width);
				finding(au, "entry bundle %s is truncated at entry %llu: %s", path,
					(unsigned long long)(tile * RP_TILE_WIDTH + i), d.msg);
				rp_http_resp_release(&resp);
				return RP_E_MALFORMED;
			}
			if (i >= skip) {
				data[count] = e;
				lens[count++] = n;
			}
		}
		if ((r = rp_audit_entries(a, data, lens, count, au->threads, on_entry, au)) < 0) {
			rp_http_resp_release(&resp);
			return r;
		}
		if (b.n != 0)
			finding(au, "entry bundle %s has %zu bytes after its %u entries", path, b.n,
				t.width);
		rp_http_resp_release(&resp);
		if (!au->stopped && au->findings >= RP_AUDIT_FINDINGS_MAX) { /* the bundle's own */
			au->stopped = true;
			au->unreported = a->tree.size;
		}
		if (au->findings == found && a->tree.size < size) {
			progress_keep(au, a);
			if (rp_now() - au->last_save >= RP_AUDIT_SAVE_S)
				progress_save(au);
		}
	}
	return 0;
}

/* rp_tile_reader's fetch: a hash tile of the log, over the pinned connection. */
static int fetch_tile(void *arg, const struct rp_tile *t, uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct rp_http_resp resp = {0};
	char path[64];
	int r;

	rp_tile_path(t, path);
	if ((r = fetch(arg, path, cap, &resp)) < 0)
		return r;
	if (resp.body_len > cap) { /* fetch's cap should have refused it */
		rp_http_resp_release(&resp);
		return RP_E_TOOBIG;
	}
	memcpy(buf, resp.body, resp.body_len);
	*ret_len = resp.body_len;
	rp_http_resp_release(&resp);
	return 0;
}

/*
 * Another head of this log (a checkpoint obtained elsewhere, or the one
 * the last run proved its saved prefix against) against the tree served
 * now, as a tlog client would: a consistency proof from it to the
 * checkpoint served, built from the served hash tiles (lib/tiles.h),
 * through the append-only check every verifier shares (lib/tlog.h). A
 * split view shows as a checkpoint that the tree served to us does not
 * extend. other_note is printed as evidence.
 */
static void judge_other(struct auditor *au, const char *file, const struct rp_tlog_head *other,
			const struct rp_checkpoint *cp, const char *other_note, const char *served)
{
	struct rp_tile_reader *tr = calloc(1, sizeof(*tr));
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct rp_tlog_head served_head = {cp->size};
	struct rp_diag d = {""};
	size_t nproof = 0;
	int r;

	if (!tr) {
		cli_err("audit: out of memory checking %s", file);
		au->errors++;
		return;
	}
	memcpy(served_head.root, cp->root, RP_HASH_LEN);
	rp_tile_reader_init(tr, cp->size, fetch_tile, au);
	if (other->size > 0 && other->size < cp->size &&
	    (r = rp_merkle_prove_consistency(other->size, cp->size, rp_tile_reader_read, tr, proof,
					     &nproof)) < 0) {
		if (r == RP_E_MALFORMED) { /* the server's own tiles contradict its tree */
			finding(au, "the log serves a hash tile that cannot be right: %s",
				tr->diag.msg);
		} else {
			cli_err("audit: cannot read the hash tiles to check %s: %s", file,
				tr->diag.msg[0] ? tr->diag.msg : rp_strerror(r));
			au->errors++;
		}
		goto out;
	}
	switch (rp_tlog_advance(other, &served_head, (const uint8_t(*)[RP_HASH_LEN])proof, nproof,
				&d)) {
	case RP_TLOG_SAME:
	case RP_TLOG_EXTENDS:
		if (!au->quiet)
			printf("checkpoint %s (%llu entries) is consistent with this log\n", file,
			       (unsigned long long)other->size);
		goto out;
	case RP_TLOG_ROLLBACK:
		finding(au,
			"checkpoint %s has %llu entries, more than the %llu this server serves: "
			"it showed someone a longer log (split view)",
			file, (unsigned long long)other->size, (unsigned long long)cp->size);
		break;
	case RP_TLOG_FORK:
	case RP_TLOG_INCONSISTENT:
		finding(au,
			"checkpoint %s is not consistent with the log served now: at %llu "
			"entries the served tree has another root (split view or fork): %s",
			file, (unsigned long long)other->size, d.msg);
		break;
	}
	print_evidence("checkpoint given", other_note);
	print_evidence("checkpoint served now", served);
out:
	free(tr);
}

/*
 * The root policy version that judges a retired log's checkpoints, fetched
 * and held to the hash the state keeps; NULL (d says why) otherwise.
 */
static struct rp_policy *retired_policy(struct auditor *au, const struct rp_audit_retired *t,
					struct rp_diag *d)
{
	struct rp_http_resp presp = {0};
	struct rp_policy *p = NULL;
	json_t *j = NULL;
	const char *text;
	char path[256];

	snprintf(path, sizeof(path), "/v1/orgs/%s/policies/%llu", au->c->org,
		 (unsigned long long)t->version);
	if (fetch_path(au, path, RP_POLICY_ANSWER_MAX, &presp) < 0) {
		rp_diagf(d, "it could not be fetched");
	} else if (rp_json_load(presp.body, presp.body_len, RP_JSON_DEPTH_MAX, 64, &j, d) < 0 ||
		   !(text = json_string_value(json_object_get(j, "policy")))) {
		if (!d->msg[0])
			rp_diagf(d, "no policy in the answer");
	} else if (rp_policy_parse(text, strlen(text), &p, d) == 0 &&
		   strcmp(p->hash, t->hash) != 0) {
		rp_diagf(d, "the server serves %s", p->hash);
		rp_policy_free(p);
		p = NULL;
	}
	json_decref(j);
	rp_http_resp_release(&presp);
	return p;
}

/*
 * A retired log as served now, read once per run: the root policy that
 * judges it (fetched, held to the state's hash) and its checkpoint, judged
 * by it. Both the watch over it and --checkpoint files of it use this.
 */
struct retired_view {
	const struct rp_audit_retired *t;
	enum { VIEW_OK, VIEW_NO_POLICY, VIEW_NO_CHECKPOINT, VIEW_BAD_CHECKPOINT } state;
	struct rp_policy *p;
	struct rp_http_resp resp; /* its checkpoint as served */
	struct rp_checkpoint cp;  /* verified, when VIEW_OK */
	struct rp_diag d;         /* why not */
};

static void retired_view_load(struct auditor *au, const struct rp_audit_retired *t,
			      struct retired_view *v)
{
	uint64_t gen = au->gen;

	v->t = t;
	au->gen = t->gen;
	if (!(v->p = retired_policy(au, t, &v->d)))
		v->state = VIEW_NO_POLICY;
	else if (fetch(au, "checkpoint", RP_CHECKPOINT_MAX, &v->resp) < 0)
		v->state = VIEW_NO_CHECKPOINT;
	else if (rp_checkpoint_verify(&v->p->wp, v->resp.body, v->resp.body_len, rp_now(), 0,
				      RP_CLOCK_SKEW_S, &v->cp, NULL, &v->d) < 0)
		v->state = VIEW_BAD_CHECKPOINT;
	else
		v->state = VIEW_OK;
	au->gen = gen;
}

static void retired_view_release(struct retired_view *v)
{
	rp_policy_free(v->p);
	rp_http_resp_release(&v->resp);
}

/*
 * A checkpoint file of a retired log (an agent's checkpoint.note kept from
 * before it moved): judged by that log's policy against that log as served
 * now. False when origin is none of the retired logs'.
 */
static bool cross_check_retired(struct auditor *au, const struct retired_view *views, size_t n,
				const char *file, const char *buf, size_t len, const char *origin)
{
	const struct retired_view *v = NULL;
	struct rp_tlog_head other_head;
	struct rp_checkpoint other;
	struct rp_diag d = {""};
	uint64_t gen = au->gen;

	for (size_t i = 0; i < n && !v; i++)
		if (views[i].p && !strcmp(views[i].p->wp.log.name, origin))
			v = &views[i];
	if (!v)
		return false;
	if (rp_checkpoint_verify(&v->p->wp, buf, len, rp_now(), 0, RP_CLOCK_SKEW_S, &other, NULL,
				 &d) < 0) {
		finding(au, "checkpoint %s is not acceptable under the root policy of its log: %s",
			file, d.msg);
	} else if (v->state != VIEW_OK) {
		cli_err("audit: cannot check %s: the checkpoint of its log (generation %llu) %s%s",
			file, (unsigned long long)v->t->gen,
			v->state == VIEW_BAD_CHECKPOINT ? "is not acceptable: " : "",
			v->state == VIEW_BAD_CHECKPOINT ? v->d.msg : "could not be fetched");
		au->errors++;
	} else {
		other_head.size = other.size;
		memcpy(other_head.root, other.root, RP_HASH_LEN);
		au->gen = v->t->gen; /* judge_other reads that log's tiles */
		judge_other(au, file, &other_head, &v->cp, buf, v->resp.body);
		au->gen = gen;
	}
	return true;
}

/* A checkpoint file from elsewhere (an agent's checkpoint.note, another monitor's). */
static void cross_check(struct auditor *au, const struct retired_view *views, size_t nviews,
			const struct rp_policy *p, const char *file, const struct rp_checkpoint *cp,
			const char *served)
{
	struct rp_tlog_head other_head;
	struct rp_diag d = {""};
	struct rp_checkpoint other;
	char *buf = NULL, origin[RP_ORIGIN_MAX + 1] = "";
	size_t len;

	if (!p) { /* no policy to judge it by: the caller reported that as a finding */
		cli_err("audit: cannot check %s without a root policy", file);
		au->errors++;
		return;
	}
	if (rp_read_file(file, RP_CHECKPOINT_MAX, &buf, &len) < 0) {
		cli_err("audit: cannot read %s", file);
		au->errors++;
		return;
	}
	/* Of a log before this one (a log key rotation): judged against that log. */
	size_t ol = strcspn(buf, "\n");
	if (ol < sizeof(origin)) {
		memcpy(origin, buf, ol);
		origin[ol] = '\0';
	}
	if (strcmp(origin, p->wp.log.name) != 0 &&
	    cross_check_retired(au, views, nviews, file, buf, len, origin)) {
		free(buf);
		return;
	}
	/* Freshness 0: a checkpoint kept elsewhere is old by nature; its history is what counts. */
	if (rp_checkpoint_verify(&p->wp, buf, len, rp_now(), 0, RP_CLOCK_SKEW_S, &other, NULL, &d) <
	    0) {
		finding(au, "checkpoint %s is not acceptable under the root policy: %s", file,
			d.msg);
	} else {
		other_head.size = other.size;
		memcpy(other_head.root, other.root, RP_HASH_LEN);
		judge_other(au, file, &other_head, cp, buf, served);
	}
	free(buf);
}

/*
 * The head of the checkpoint saved beside the state, when it is larger
 * than the state: the last run stopped early, after proving its prefix
 * against it. It was verified when saved, so only its text is read.
 */
static bool saved_head(const char *note, uint64_t state_size, struct rp_tlog_head *ret)
{
	struct rp_note *n = NULL;
	struct rp_checkpoint c;
	bool larger = false;

	if (note && rp_note_parse(note, strlen(note), &n, NULL) == 0 &&
	    rp_checkpoint_parse(n->msg, n->text_len, &c, NULL) == 0 && c.size > state_size) {
		ret->size = c.size;
		memcpy(ret->root, c.root, RP_HASH_LEN);
		larger = true;
	}
	rp_note_free(n);
	return larger;
}

static void print_evidence(const char *what, const char *note)
{
	printf("---- %s ----\n", what);
	if (note && *note)
		cli_fenced(stdout, note, strlen(note));
	else
		puts("(none)");
	puts("----");
}

/* --signed-by: a verifier key, or the name of a key of the trusted policy. */
static int watch_key(struct auditor *au, const struct rp_policy *anchor, const char *arg)
{
	struct rp_diag d = {""};
	int k;

	if (strchr(arg, '+') && rp_vkey_parse(arg, strlen(arg), &au->watch, &d) == 0) {
		au->watching = true;
		return 0;
	}
	if (anchor && (k = rp_policy_key_index(anchor, arg)) >= 0) {
		au->watch = anchor->keys[k];
		au->watching = true;
		return 0;
	}
	cli_err("audit: --signed-by %s: neither a verifier key nor a key of the trusted root "
		"policy%s%s",
		arg, d.msg[0] ? ": " : "", d.msg);
	return -1;
}

/*
 * A log an earlier run saw end (a log key rotation), as it left it: its
 * checkpoint now, judged by the root policy version that named its key
 * (fetched, and held to the hash the state keeps), must be exactly the
 * tree that run replayed. More entries are entries after the policy that
 * ended it, which nothing authorises; another tree is a fork.
 */
static void watch_retired(struct auditor *au, const struct retired_view *v)
{
	const struct rp_audit_retired *t = v->t;

	switch (v->state) {
	case VIEW_NO_POLICY:
		finding(au,
			"root policy version %llu, which judges retired log generation %llu, is "
			"not served as the %s this audit verified: %s",
			(unsigned long long)t->version, (unsigned long long)t->gen, t->hash,
			v->d.msg);
		return;
	case VIEW_NO_CHECKPOINT: au->errors++; return;
	case VIEW_BAD_CHECKPOINT:
		finding(au, "the checkpoint of retired log generation %llu is not acceptable: %s",
			(unsigned long long)t->gen, v->d.msg);
		print_evidence("checkpoint served now", v->resp.body);
		return;
	case VIEW_OK: break;
	}
	if (v->cp.size > t->size) {
		finding(au,
			"retired log %s (generation %llu) grew from %llu to %llu entries after the "
			"root policy that ended it: entries nothing authorises, appended with its "
			"old key",
			v->cp.origin, (unsigned long long)t->gen, (unsigned long long)t->size,
			(unsigned long long)v->cp.size);
		print_evidence("checkpoint served now", v->resp.body);
	} else if (v->cp.size < t->size || memcmp(v->cp.root, t->root, RP_HASH_LEN) != 0) {
		finding(au,
			"retired log %s (generation %llu) now serves %llu entries with another tree "
			"than the %llu this audit replayed (rollback or fork)",
			v->cp.origin, (unsigned long long)t->gen, (unsigned long long)v->cp.size,
			(unsigned long long)t->size);
		print_evidence("checkpoint served now", v->resp.body);
	} else if (!au->quiet) {
		fputs("audit: retired log ", stdout);
		cli_put(stdout, v->cp.origin);
		printf(" (generation %llu): still the %llu entries replayed\n",
		       (unsigned long long)t->gen, (unsigned long long)t->size);
	}
}

static int audit_run(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"state", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"signed-by", required_argument, NULL, 'S'},
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
	const char *policy_file = NULL, *state_file = NULL, *others[16], *signed_by = NULL;
	size_t nothers = 0, nloaded = 0, nviews = 0;
	struct retired_view *views = NULL;
	char *buf = NULL, *old_note = NULL, *saved = NULL;
	struct rp_tlog_head before, now_head, last;
	enum rp_tlog_verdict v;
	bool have_state = false, stale = false;
	uint8_t root[RP_HASH_LEN];
	size_t len;
	int ch, r, rc = CLI_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:s:qc:S:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'S': signed_by = optarg; break;
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
			       "                     [--checkpoint FILE]... [--signed-by KEY]\n\n"
			       "Audits the org's transparency log from the server's public tiles:\n"
			       "checks the checkpoint's log signature and witness quorum against the\n"
			       "root policy, replays every entry not audited before (recomputing the\n"
			       "Merkle tree and checking each entry's signatures against the root\n"
			       "policy chain), and prints the history of everything ever authorised.\n"
			       "Unauthorised or unparseable entries, a log whose entry 0 is not the\n"
			       "trusted policy, a checkpoint without its quorum or a stale one, a tree\n"
			       "that shrank or forked since the last run: each is printed as a FINDING\n"
			       "with its evidence, and the exit status is 3.\n\n"
			       "After a log key rotation the org has several logs: each is replayed\n"
			       "to the root policy that ended it (an entry after it is a finding),\n"
			       "then the next from its entry 0, which must be that policy; their\n"
			       "entries are shown as #GEN/INDEX. The state follows the newest log.\n\n"
			       "After 100 findings the replay stops and says how many entries it\n"
			       "left unchecked (exit 3): a log padded with junk cannot keep it\n"
			       "printing. Progress is saved as the replay goes (every 10 s, and when\n"
			       "it stops early), only up to the entries proven to be in the signed\n"
			       "checkpoint's tree and never past a finding, so a rerun resumes where\n"
			       "the verified part ended and reports an unfinished run's findings\n"
			       "again. Only a run that reaches its summary saves past its findings.\n\n"
			       "Stale: the checkpoint's witness quorum is met only by cosignatures\n"
			       "older than the policy's freshness window. The server may be hiding\n"
			       "newer entries (agents raise the freeze alarm past the same window), so\n"
			       "a stale checkpoint is never a clean audit. A log with no new entries\n"
			       "is not stale: rampartd has the witnesses cosign its checkpoint again\n"
			       "every quarter of the window, so an idle, healthy log audits clean. The\n"
			       "rest of the audit still runs on a stale checkpoint and its state is\n"
			       "kept. Under `quorum none' nothing dates a checkpoint (a note says so).\n\n"
			       "  --policy FILE  the signed root policy version 1 you trust (default:\n"
			       "                 the copy `rampart policy upload' kept for this org, or\n"
			       "                 ORG.v1.policy beside it once the trusted copy moved on)\n"
			       "  --state FILE   where the audit remembers what it verified (default:\n"
			       "                 audit-ORG.state in the config directory)\n"
			       "  --quiet        findings and the summary only\n"
			       "  --checkpoint FILE  a checkpoint seen elsewhere (an agent's\n"
			       "                 checkpoint.note, another monitor's) to check against\n"
			       "                 its log (a retired one's too): a split view is a finding\n"
			       "  --signed-by KEY  also list, as SIGNED lines, every entry that carries\n"
			       "                 a valid signature by KEY (a verifier key, or a key name\n"
			       "                 of the trusted root policy), authorised or not, under\n"
			       "                 any version of the policy: what a lost or stolen key\n"
			       "                 ever signed. Replays the whole log and saves no state.\n\n"
			       "Needs --server, --pin and --org, no key: anyone may audit.\n"
			       "--json: the history goes to stderr, and stdout holds {\"org\", \"clean\",\n"
			       "\"findings\": [texts], \"size\": entries verified, \"exit\"} (docs/cli.md).\n"
			       "Exit status: 0 clean, 3 findings, 1 the audit could not run, 2 usage.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_err("audit: unexpected `%s' (see rampart audit --help)", argv[optind]);
		return CLI_USAGE;
	}
	if (!c->server[0] || !c->pin[0] || !c->org[0] ||
	    rp_url_parse(c->server, &c->api.http.url, &d) < 0 ||
	    rp_pin_parse(c->pin, c->api.http.pin, &d) < 0) {
		cli_err("audit: needs --server, --pin and --org%s%s", d.msg[0] ? ": " : "", d.msg);
		return 2;
	}
	c->api.http.timeout_ms = 30000;
	cli_trusted_pins(c);
	au.threads = ncpu > 0 ? (unsigned)ncpu : 1;
	if (state_file)
		snprintf(state_path, sizeof(state_path), "%s", state_file);
	else
		snprintf(state_path, sizeof(state_path), "%s/audit-%s.state", c->config_dir,
			 c->org);
	snprintf(cp_path, sizeof(cp_path), "%s.checkpoint", state_path);
	au.state_path = state_path;
	au.cp_path = cp_path;
	au.last_save = rp_now();

	/* What we verified before, if anything (a --signed-by run starts from 0). */
	rp_audit_init(&a, "");
	if (!signed_by && rp_read_file(state_path, RP_AUDIT_STATE_MAX, &buf, &len) == 0) {
		r = rp_audit_load(&a, buf, len, &d);
		free(buf);
		buf = NULL;
		if (r < 0) {
			cli_err("audit: %s: %s", state_path, d.msg);
			goto out;
		}
		have_state = true;
		nloaded = a.nretired;
		rp_read_file(cp_path, RP_CHECKPOINT_MAX, &old_note, &len);
	}
	/*
	 * The trusted root policy itself, whenever no entry has been accepted
	 * as it yet: on a first run, and after runs whose log had no entry
	 * that is it (the state then holds no policy, and the checkpoint can
	 * only be judged by this one).
	 */
	if (!a.policy) {
		/* entry 0 is version 1: kept aside once the trusted copy moved past it */
		if (!policy_file &&
		    cli_genesis_policy_path(c, c->org, anchor_path, sizeof(anchor_path)) == 0 &&
		    access(anchor_path, R_OK) == 0)
			policy_file = anchor_path;
		if (!policy_file &&
		    cli_trusted_policy_path(c, c->org, anchor_path, sizeof(anchor_path)) == 0)
			policy_file = anchor_path;
		if (policy_file && rp_read_file(policy_file, RP_NOTE_MAX, &buf, &len) == 0 &&
		    rp_policy_parse(buf, len, &anchor, &d) < 0) {
			rp_policy_free(anchor);
			anchor = NULL;
		}
		free(buf);
		buf = NULL;
		if (!have_state && !anchor) {
			cli_err("audit: no trusted root policy (%s): pass --policy FILE",
				policy_file ? policy_file : "none");
			goto out;
		}
		if (!have_state) {
			rp_audit_init(&a, anchor->hash);
		} else if (anchor && strcmp(anchor->hash, a.trusted_hash) != 0) {
			cli_err("audit: %s is root policy %s, but %s trusts %s", policy_file,
				anchor->hash, state_path, a.trusted_hash);
			goto out;
		}
	}

	if (signed_by && watch_key(&au, anchor, signed_by) < 0)
		goto out;
	if (au.watching) {
		a.watch = &au.watch;
		a.watched = on_signed;
	}

next_log:
	/* The checkpoint, judged by the policy in force (lib/audit.h: rp_audit_checkpoint). */
	au.gen = a.gen;
	rp_http_resp_release(&resp);
	if (fetch(&au, "checkpoint", RP_CHECKPOINT_MAX, &resp) < 0)
		goto out;
	if (rp_audit_checkpoint(&a, anchor, resp.body, resp.body_len, rp_now(), &cp, &stale, &d) <
	    0) {
		finding(&au, "the server's checkpoint is not acceptable: %s", d.msg);
		print_evidence("checkpoint served now", resp.body);
		print_evidence("last checkpoint verified", old_note);
		rc = CLI_SECURITY;
		goto out;
	}
	if (stale) {
		finding(&au,
			"the server's checkpoint is stale: %s. The server may be withholding "
			"newer entries, or cannot reach its witnesses; agents are frozen too",
			d.msg);
		print_evidence("checkpoint served now", resp.body);
	}
	if (!au.quiet && rp_audit_judge(&a, anchor)->wp.quorum < 0)
		printf("audit: note: the root policy has no witnesses (quorum none): nothing dates "
		       "the checkpoint, so this audit cannot tell a current log from a frozen one\n");
	/* What this audit verified before (the empty tree on a first run), then the new entries. */
	before.size = a.tree.size;
	rp_audit_root(&a, before.root);
	au.saved = a.tree.size;
	now_head.size = cp.size;
	memcpy(now_head.root, cp.root, RP_HASH_LEN);
	au.cp = &cp;
	au.note = resp.body;
	au.note_len = resp.body_len;
	r = replay(&au, &a, cp.size);
	if (r == 0 && au.stopped && au.unreported == cp.size)
		au.stopped = false; /* the bound hit at the last entry: everything was reported */
	if (r < 0 || au.stopped) {
		progress_save(&au); /* what was verified before the first finding, if anything */
		if (au.stopped)
			printf("audit: stopped after %d findings: the %llu entries from %llu to %llu "
			       "are left unchecked, and the tree was not compared with the "
			       "checkpoint; the state is saved at %llu entries, so a rerun reports "
			       "the same findings again\n",
			       RP_AUDIT_FINDINGS_MAX, (unsigned long long)(cp.size - au.unreported),
			       (unsigned long long)au.unreported, (unsigned long long)(cp.size - 1),
			       (unsigned long long)au.saved);
		rc = au.findings ? CLI_SECURITY : CLI_FAIL;
		goto out;
	}
	rp_audit_root(&a, root);
	/* Append-only since the last run (lib/tlog.h), with the tree rebuilt from the entries. */
	v = rp_tlog_advance_rebuilt(&before, &now_head, root, &d);
	if (v == RP_TLOG_ROLLBACK)
		finding(&au,
			"the log shrank from %llu to %llu entries since the last audit "
			"(rollback or fork)",
			(unsigned long long)before.size, (unsigned long long)cp.size);
	else if (v == RP_TLOG_FORK || v == RP_TLOG_INCONSISTENT)
		finding(&au,
			"the %llu entries served do not hash to the checkpoint's root: the "
			"log was rewritten or forked since the last audit",
			(unsigned long long)cp.size);
	if (!rp_tlog_append_only(v)) {
		print_evidence("last checkpoint verified", old_note);
		print_evidence("checkpoint served now", resp.body);
		rc = CLI_SECURITY;
		goto out;
	}
	/* A log whose chain never started authorises nothing, on every run until it does. */
	if (!a.policy)
		finding(&au,
			"no entry of this log is the trusted root policy %s: nothing in it is "
			"authorised (entry 0 must be that policy)",
			a.trusted_hash);
	/* A run that stopped early proved its prefix against a larger checkpoint: hold the log to
	 * it. */
	if (saved_head(old_note, before.size, &last))
		judge_other(&au, cp_path, &last, &cp, old_note, resp.body);
	/*
	 * A log key rotation: this log ended at a root policy naming the next
	 * log's key (entries after it were findings), and the next log, whose
	 * entry 0 must be that policy, is read the same way.
	 */
	if (a.end) {
		if (a.after_end > 1)
			finding(&au,
				"log %s has %llu more entries after the root policy that ended it "
				"(the first is reported above); none is authorised",
				a.ended->wp.log.name, (unsigned long long)(a.after_end - 1));
		if (!au.quiet) {
			fputs("audit: log ", stdout);
			cli_put(stdout, cp.origin);
			printf(" (generation %llu): %llu entries, tree recomputed and equal to its "
			       "checkpoint; it ended at entry %llu, a log key rotation: reading log "
			       "generation %llu\n",
			       (unsigned long long)a.gen, (unsigned long long)cp.size,
			       (unsigned long long)(a.end - 1), (unsigned long long)a.gen + 1);
		}
		if (rp_audit_next_log(&a) < 0) {
			cli_err("audit: over %d logs (log key rotations): the audit stops at log "
				"generation %llu",
				RP_AUDIT_LOGS_MAX, (unsigned long long)a.gen);
			goto out;
		}
		free(old_note);
		old_note = NULL;
		free(au.snap); /* the last log's progress: nothing to prove against the next */
		au.snap = NULL;
		/* The next log starts empty: remember that much, so a failure from here
		 * keeps the logs verified (the new log has no checkpoint verified yet). */
		if (!au.watching && au.findings == 0 && (saved = rp_audit_save(&a, &len)) &&
		    fflush(stdout) == 0 && rp_write_file_atomic(state_path, saved, len, 0600) == 0)
			unlink(cp_path);
		free(saved);
		saved = NULL;
		goto next_log;
	}
	/* The logs before this one, as served now (read once), for the watch and --checkpoint. */
	nviews = nloaded || nothers ? a.nretired : 0;
	if (nviews && !(views = calloc(nviews, sizeof(*views)))) {
		cli_err("audit: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nviews; i++)
		retired_view_load(&au, &a.retired[i], &views[i]);
	/* The logs earlier runs saw end: nothing may have been added to them since. */
	for (size_t i = 0; i < nloaded; i++)
		watch_retired(&au, &views[i]);
	for (size_t i = 0; i < nothers; i++)
		cross_check(&au, views, nviews, rp_audit_judge(&a, anchor), others[i], &cp,
			    resp.body);
	if (au.watching) {
		fputs("audit: key ", stdout);
		cli_put(stdout, au.watch.name);
		printf(" signed %zu of the %llu entries (SIGNED lines above); the state is left as "
		       "it was\n",
		       au.nsigned, (unsigned long long)cp.size);
		rc = au.findings ? CLI_SECURITY : au.errors ? CLI_FAIL : CLI_OK;
		goto out;
	}
	/* Consistent: remember it. Findings about entries stay history, not state. */
	if (!(saved = rp_audit_save(&a, &len)) ||
	    rp_write_file_atomic(state_path, saved, len, 0600) < 0 ||
	    rp_write_file_atomic(cp_path, resp.body, resp.body_len, 0600) < 0) {
		cli_err("audit: cannot write %s", state_path);
		goto out;
	}
	audit_size = cp.size;
	cli_progress_end();
	fputs("audit: ", stdout);
	cli_put(stdout, cp.origin);
	printf(": %llu entries, tree recomputed and equal to the checkpoint signed by "
	       "the log key with its witness quorum; %zu finding%s\n",
	       (unsigned long long)cp.size, au.findings, au.findings == 1 ? "" : "s");
	rc = au.findings ? CLI_SECURITY : au.errors ? CLI_FAIL : CLI_OK;
out:
	cli_progress_end();
	if (rc == CLI_SECURITY && au.findings)
		printf("audit: %zu finding%s\n", au.findings, au.findings == 1 ? "" : "s");
	for (size_t i = 0; i < nviews && views; i++)
		retired_view_release(&views[i]);
	free(views);
	rp_http_resp_release(&resp);
	rp_https_conn_close(&au.conn);
	rp_audit_release(&a);
	rp_policy_free(anchor);
	free(old_note);
	free(saved);
	free(au.snap);
	return rc;
}

int cmd_audit(struct cli *c, int argc, char *argv[])
{
	int rc, saved;
	json_t *o;

	if (!c->json || cli_is_help(argc, argv))
		return audit_run(c, argc, argv);
	/* The history as text on stderr; stdout holds the JSON alone. */
	fflush(stdout);
	if (!(audit_findings = json_array()) || (saved = dup(STDOUT_FILENO)) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		cli_err("audit: out of memory or descriptors");
		return CLI_FAIL;
	}
	rc = audit_run(c, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	o = json_pack("{s:s, s:b, s:o, s:I, s:i}", "org", c->org, "clean", rc == CLI_OK, "findings",
		      audit_findings, "size", (json_int_t)audit_size, "exit", rc);
	audit_findings = NULL;
	if (o)
		cli_json(stdout, o);
	json_decref(o);
	return rc;
}
