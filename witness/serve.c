/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The witness's HTTP side: C2SP tlog-witness v1.0.0 add-checkpoint.
 *
 * One thread, one event loop, and every request answered inside its
 * callback: a request's check of the stored state and its update are one
 * BEGIN IMMEDIATE transaction, committed (synchronous=FULL) before the
 * cosignature leaves the process. That is the atomicity the spec asks for
 * (its request A / request B race cannot happen), and it holds even
 * against a second process on the same database.
 *
 * Checks, in the spec's order:
 *   body does not parse                          400 (413 over the size cap)
 *   origin has no trusted key                    404
 *   no signature by a trusted key verifies       403 (a bad one by a trusted key too)
 *   old size > checkpoint size                   400
 *   old size != latest cosigned size             409, text/x.tlog.size "<size>\n"
 *   same size as the latest, different root      409, kept as evidence
 *   consistency proof does not verify            422
 *   otherwise                                    200, one cosignature line
 * The last three are the append-only check every verifier shares
 * (lib/tlog.c), its verdicts mapped to these status codes.
 *
 * Only a fork is evidence: two roots the log signed for one size, which
 * no one but the log's key holder can produce. A consistency proof is
 * the client's: anyone can post the log's public checkpoint with a junk
 * proof, so a 422 says nothing about the log and is answered and logged
 * like any other refusal (one request line), with no evidence row and no
 * alarm. The EVIDENCE line is printed on a fork's first sighting only: a
 * leaked forked checkpoint replayed is counted, not announced again.
 *
 * Bodies over RP_WITNESS_REQUEST_MAX are refused by the connection guard
 * (lib/httpd) from the Content-Length, or as chunks arrive, before they
 * are read: witness_cap() says which request may carry how much. The
 * guard's answers (413, 408 for a request too slow, 400 for HTTP it
 * cannot frame) are text like the ones here and logged the same way.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "httpd/httpd.h"
#include "merkle.h"
#include "rp_err.h"
#include "tlog.h"
#include "util.h"
#include "witness.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"

/* What one request's log line says. */
struct areq {
	struct witness *w;
	struct evhttp_request *r;
	double t0;
	const char *method;
	const char *path;
	char origin[RP_ORIGIN_MAX + 1]; /* quoted, "" until parsed */
	bool parsed, have_state;        /* old/size known; stored known */
	uint64_t old, size, stored;
};

/*
 * Answers, logging one line: method, path, status, duration, peer, origin,
 * sizes, why. A cosignature is routine (serve_routine): its "cosigned at"
 * goes in the detail, and the line is written at --log-level debug only.
 */
static void reply(struct areq *q, int status, const char *ctype, const char *body, size_t len,
		  const char *why)
{
	char detail[RP_ORIGIN_MAX + 160] = "";
	struct rp_httpd_line l = {.method = q->method, .path = q->path, .t0 = q->t0};
	int n = 0;

	if (*q->origin)
		n = snprintf(detail, sizeof(detail), "origin %s", q->origin);
	if (q->parsed && n >= 0 && (size_t)n < sizeof(detail))
		n += snprintf(detail + n, sizeof(detail) - (size_t)n, "%sold %llu size %llu",
			      n ? " " : "", (unsigned long long)q->old,
			      (unsigned long long)q->size);
	if (q->parsed && q->have_state && n >= 0 && (size_t)n < sizeof(detail))
		n += snprintf(detail + n, sizeof(detail) - (size_t)n, " stored %llu",
			      (unsigned long long)q->stored);
	if (status == 200 && why && n >= 0 && (size_t)n < sizeof(detail)) {
		snprintf(detail + n, sizeof(detail) - (size_t)n, "%s%s", n ? " " : "", why);
		why = NULL;
	}
	l.detail = *detail ? detail : NULL;
	rp_httpd_reply(&q->w->httpd, q->r, status, ctype, body, len, &l, why);
}

/*
 * The answer to one request, built inside the transaction and sent only
 * after it ended: commit says whether it wrote something to keep (a
 * cosignature, or evidence).
 */
struct answer {
	int status;
	const char *ctype;
	char *body; /* malloc'd */
	size_t len;
	char why[400];
	bool commit;
};

/* An answer whose body is its reason, one line. */
static void answer_text(struct answer *a, int status, const char *ctype, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void answer_text(struct answer *a, int status, const char *ctype, const char *fmt, ...)
{
	struct rp_sb sb;
	va_list ap;

	a->status = status;
	a->ctype = ctype;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	rp_sb_init(&sb, sizeof(a->why) + 1);
	rp_sb_printf(&sb, "%s\n", a->why);
	a->body = rp_sb_take(&sb, &a->len);
}

static void evidence(struct areq *q, struct answer *a, const struct rp_witness_req *req,
		     const struct wstate *st, const char *body, size_t len)
{
	struct wevidence e = {
		.origin = req->cp.origin,
		.status = a->status,
		.reason = a->why,
		.old_size = req->old_size,
		.size = req->cp.size,
		.stored_size = st->size,
		.root = req->cp.root,
		.stored_root = st->root,
		.text = req->note->msg,
		.text_len = req->note->text_len,
		.body = body,
		.body_len = len,
	};
	bool first = false;
	int r = wdb_evidence_add(&q->w->db, &e, rp_now(), &first);

	if (r < 0) {
		/* The refusal stands; only the record of it is missing. */
		fprintf(stderr, "rampart-witness: storing evidence from %s: %s\n", q->origin,
			rp_strerror(r));
		return;
	}
	a->commit = true;
	if (first)
		fprintf(stderr,
			"%srampart-witness: EVIDENCE: log %s signed a second root for the size "
			"%llu this witness cosigned; kept, see `rampart-witness evidence'\n",
			rp_log_prio(LOG_ALERT), q->origin, (unsigned long long)st->size);
}

/*
 * The append-only check every verifier shares (lib/tlog.c), from the
 * latest cosigned checkpoint. The old size equals the stored one by now
 * (else 409 with the size), so the tree cannot be smaller: what is left
 * is a fork at the cosigned size (409) or a proof that does not bridge
 * the two trees (422, for equal sizes too when the proof is not empty).
 */
static enum rp_tlog_verdict append_only(const struct wstate *st, const struct rp_witness_req *req,
					struct rp_diag *d)
{
	struct rp_tlog_head stored = {st->size}, next = {req->cp.size};

	memcpy(stored.root, st->root, RP_HASH_LEN);
	memcpy(next.root, req->cp.root, RP_HASH_LEN);
	return rp_tlog_advance(&stored, &next, req->proof, req->nproof, d);
}

static void check(struct areq *q, struct answer *a, const struct rp_witness_req *req,
		  const char *body, size_t len)
{
	struct witness *w = q->w;
	struct rp_vkey keys[RP_WITNESS_LOG_KEYS_MAX];
	bool ok[RP_WITNESS_LOG_KEYS_MAX];
	struct rp_diag d = {{0}};
	struct wstate st;
	enum rp_tlog_verdict v;
	size_t nkeys = 0;
	char *line;
	int64_t t;
	int r;

	if ((r = wdb_log_keys(&w->db, req->cp.origin, keys, &nkeys)) < 0) {
		answer_text(a, 500, TEXT_PLAIN, "reading the log's keys: %s", rp_strerror(r));
		return;
	}
	if (nkeys == 0) {
		answer_text(a, 404, TEXT_PLAIN, "unknown log origin %s", q->origin);
		return;
	}
	if ((r = rp_note_verify(req->note, keys, nkeys, ok, &d)) < 0) {
		answer_text(a, 403, TEXT_PLAIN,
			    "no signature by a trusted key of %s verifies: %s%s%s", q->origin,
			    rp_strerror(r), *d.msg ? ": " : "", d.msg);
		return;
	}
	if (req->old_size > req->cp.size) {
		answer_text(a, 400, TEXT_PLAIN,
			    "old size %llu is larger than the checkpoint size %llu",
			    (unsigned long long)req->old_size, (unsigned long long)req->cp.size);
		return;
	}
	if ((r = wdb_state(&w->db, req->cp.origin, &st)) < 0) {
		answer_text(a, 500, TEXT_PLAIN, "reading the log's state: %s", rp_strerror(r));
		return;
	}
	q->have_state = true;
	q->stored = st.size;
	if (req->old_size != st.size) {
		char sz[24];
		a->status = 409;
		a->ctype = "text/x.tlog.size";
		snprintf(a->why, sizeof(a->why), "old size %llu is not the latest cosigned size",
			 (unsigned long long)req->old_size);
		snprintf(sz, sizeof(sz), "%llu\n", (unsigned long long)st.size);
		a->body = strdup(sz);
		a->len = strlen(sz);
		return;
	}
	if ((v = append_only(&st, req, &d)) == RP_TLOG_FORK) {
		answer_text(a, 409, TEXT_PLAIN,
			    "checkpoint has the cosigned size %llu but a different root: "
			    "the log forked",
			    (unsigned long long)st.size);
		evidence(q, a, req, &st, body, len);
		return;
	}
	if (!rp_tlog_append_only(v)) {
		answer_text(a, 422, TEXT_PLAIN,
			    "consistency proof from the cosigned size %llu does not verify: %s",
			    (unsigned long long)st.size, *d.msg ? d.msg : rp_strerror(RP_E_PROOF));
		return;
	}
	/*
	 * A cosignature says "as of time t this is the largest tree I saw":
	 * t never goes back for a log, even if the clock does.
	 */
	t = rp_now();
	if (t < st.cosigned_at)
		t = st.cosigned_at;
	if (!(line = rp_cosig_sign_line(req->note->msg, req->note->text_len, &w->key,
					(uint64_t)t))) {
		answer_text(a, 500, TEXT_PLAIN, "signing the cosignature failed");
		return;
	}
	r = wdb_cosigned_add(&w->db, req->cp.origin, req->cp.size, req->cp.root, req->note->msg,
			     req->note->msg_len, req->note->text_len, t);
	if (r < 0) {
		free(line);
		answer_text(a, 500, TEXT_PLAIN, "storing the checkpoint: %s", rp_strerror(r));
		return;
	}
	a->status = 200;
	a->ctype = TEXT_PLAIN;
	a->body = line;
	a->len = strlen(line);
	a->commit = true;
	snprintf(a->why, sizeof(a->why), "cosigned at %lld", (long long)t);
}

/* Counts an add-checkpoint answer for /metrics: by result, and the latency of a cosignature. */
static void count(struct witness *w, int status, const char *ctype, double t0)
{
	enum wresult res;

	switch (status) {
	case 200: res = W_COSIGNED; break;
	case 400:
	case 413: res = W_MALFORMED; break;
	case 403: res = W_BAD_SIGNATURE; break;
	case 404: res = W_UNKNOWN_LOG; break;
	case 409: res = ctype && !strcmp(ctype, "text/x.tlog.size") ? W_STALE_SIZE : W_FORK; break;
	case 422: res = W_INCONSISTENT; break;
	default: res = W_ERROR; break;
	}
	w->m_results[res]++;
	if (res == W_COSIGNED)
		rp_metrics_hist_add(&w->m_latency, (rp_httpd_now_ms() - t0) / 1000.0);
}

static void add_checkpoint(struct areq *q, const char *body, size_t len)
{
	struct witness *w = q->w;
	struct rp_witness_req req;
	struct answer a = {0};
	struct rp_diag d = {{0}};
	int r;

	if ((r = rp_witness_req_parse(body, len, &req, &d)) < 0) {
		answer_text(&a, r == RP_E_TOOBIG && len > RP_WITNESS_REQUEST_MAX ? 413 : 400,
			    TEXT_PLAIN, "malformed add-checkpoint body: %s",
			    *d.msg ? d.msg : rp_strerror(r));
		goto done;
	}
	rp_quote(q->origin, sizeof(q->origin), req.cp.origin, strlen(req.cp.origin));
	q->parsed = true;
	q->old = req.old_size;
	q->size = req.cp.size;
	if ((r = wdb_begin(&w->db)) < 0) {
		answer_text(&a, 500, TEXT_PLAIN, "starting a transaction: %s", rp_strerror(r));
		goto out;
	}
	check(q, &a, &req, body, len);
	if ((r = wdb_finish(&w->db, a.commit ? 0 : RP_E_INVAL)) < 0 && a.commit) {
		if (a.status == 200) {
			/* Not durable, so not said: the cosignature is dropped unsent. */
			free(a.body);
			a = (struct answer){0};
			answer_text(&a, 500, TEXT_PLAIN, "committing the checkpoint: %s",
				    rp_strerror(r));
		} else {
			/* The refusal stands; only the record of it is missing. */
			fprintf(stderr, "rampart-witness: storing evidence from %s: %s\n",
				q->origin, rp_strerror(r));
		}
	}
out:
	rp_witness_req_release(&req);
done:
	if (!a.body)
		a.status = 500;
	count(w, a.status, a.ctype, q->t0);
	if (!a.body)
		reply(q, 500, NULL, NULL, 0, "out of memory");
	else
		reply(q, a.status, a.ctype, a.body, a.len, a.why);
	free(a.body);
}

static void dispatch(struct evhttp_request *r, void *arg)
{
	struct areq q = {.w = arg, .r = r, .t0 = rp_httpd_now_ms()};
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	struct answer a = {0};
	const char *body;
	size_t len;

	q.method = rp_httpd_method(evhttp_request_get_command(r));
	q.path = path ? path : "?";
	if (!path || strcmp(path, "/add-checkpoint") != 0) {
		answer_text(&a, 404, TEXT_PLAIN,
			    "no such resource (this witness serves "
			    "POST /add-checkpoint only)");
	} else if (evhttp_request_get_command(r) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(r), "Allow", "POST");
		answer_text(&a, 405, TEXT_PLAIN, "method %s not allowed: add-checkpoint is a POST",
			    q.method);
	} else if ((len = evbuffer_get_length(in)) > RP_WITNESS_REQUEST_MAX) {
		/* The guard refused this before reading it; kept so the cap never depends on it. */
		answer_text(&a, 413, TEXT_PLAIN, "body of %zu bytes exceeds %d", len,
			    RP_WITNESS_REQUEST_MAX);
		count(q.w, 413, TEXT_PLAIN, q.t0);
	} else if (!(body = len ? (const char *)evbuffer_pullup(in, -1) : "")) {
		answer_text(&a, 500, TEXT_PLAIN, "out of memory reading the body");
		count(q.w, 500, TEXT_PLAIN, q.t0);
	} else {
		add_checkpoint(&q, body, len);
		return;
	}
	if (!a.body)
		reply(&q, 500, NULL, NULL, 0, "out of memory");
	else
		reply(&q, a.status, a.ctype, a.body, a.len, a.why);
	free(a.body);
}

/*
 * The body cap of each request, for the connection guard. Anything but
 * add-checkpoint may carry the pre-authentication cap, so that it gets
 * its 404 or 405.
 */
static size_t witness_cap(void *arg, const char *method, const char *path)
{
	(void)arg;
	return !strcmp(method, "POST") && !strcmp(path, "/add-checkpoint")
		       ? RP_WITNESS_REQUEST_MAX
		       : RP_HTTP_BODY_PREAUTH_MAX;
}

/*
 * Too routine for a line of its own at the default log level: a
 * cosignature, what a healthy log asks for every few seconds. Refusals,
 * errors and other requests keep theirs (lib/httpd never skips an answer
 * with a reason, and reply() moves a cosignature's into the detail).
 */
static bool serve_routine(void *arg, const char *method, const char *path, int status)
{
	(void)arg;
	return status == 200 && !strcmp(method, "POST") && !strcmp(path, "/add-checkpoint");
}

int serve_init(struct witness *w, const struct rp_httpd_limits *lim)
{
	const struct rp_httpd_config c = {
		.name = "rampart-witness",
		.log = stderr,
		.lim = *lim,
		.cap = witness_cap,
		.body_max = RP_WITNESS_REQUEST_MAX,
		.error = rp_httpd_error_text,
		.bev = NULL, /* plain HTTP: TLS is a reverse proxy's job */
		.handle = dispatch,
		.arg = w,
		.routine = serve_routine,
		.log_all = w->log_debug,
	};

	return rp_httpd_init(&w->httpd, w->base, &c);
}

/* ---- /metrics ---- */

/* The figures, written at each scrape (the listener is lib/httpd/metrics.c). */
static void metrics_fill(void *arg, struct rp_sb *out)
{
	static const char cls[6][4] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
	static const char *const results[W_NRESULTS] = {
		[W_COSIGNED] = "cosigned",           [W_MALFORMED] = "malformed",
		[W_BAD_SIGNATURE] = "bad_signature", [W_UNKNOWN_LOG] = "unknown_log",
		[W_STALE_SIZE] = "stale_size",       [W_FORK] = "fork",
		[W_INCONSISTENT] = "inconsistent",   [W_ERROR] = "error",
	};
	struct witness *w = arg;

	rp_metrics_process(out, "rampart_witness", RP_VERSION, w->started);
	rp_sb_printf(out,
		     "# HELP rampart_witness_connections Open add-checkpoint connections.\n"
		     "# TYPE rampart_witness_connections gauge\nrampart_witness_connections %zu\n"
		     "# HELP rampart_witness_http_responses_total Answers by status class.\n"
		     "# TYPE rampart_witness_http_responses_total counter\n",
		     w->httpd.nconns);
	for (int c = 1; c < 6; c++)
		rp_sb_printf(out, "rampart_witness_http_responses_total{code=\"%s\"} %llu\n",
			     cls[c], (unsigned long long)w->httpd.replies[c]);
	rp_sb_puts(out, "# HELP rampart_witness_cosign_requests_total add-checkpoint requests "
			"answered, by result (cosigned, or why not).\n"
			"# TYPE rampart_witness_cosign_requests_total counter\n");
	for (int i = 0; i < W_NRESULTS; i++)
		rp_sb_printf(out, "rampart_witness_cosign_requests_total{result=\"%s\"} %llu\n",
			     results[i], (unsigned long long)w->m_results[i]);
	rp_sb_puts(out, "# HELP rampart_witness_cosign_latency_seconds From a request's arrival "
			"to its cosignature, stored on disk.\n"
			"# TYPE rampart_witness_cosign_latency_seconds histogram\n");
	rp_metrics_hist_write(out, "rampart_witness_cosign_latency_seconds", "", &w->m_latency);
	if (wdb_metrics(&w->db, RP_WITNESS_METRICS_LOGS_MAX, out) < 0)
		rp_sb_puts(out, "# the store could not be read: gauges from it are missing\n");
}

int serve_metrics_start(struct witness *w, const char *addr, const struct rp_httpd_limits *lim)
{
	struct rp_diag d = {""};

	if (rp_metrics_start(w->base, "rampart-witness metrics", addr, lim, metrics_fill, w,
			     &w->metrics, &d) < 0) {
		fprintf(stderr, "rampart-witness: --metrics-listen: %s\n", d.msg);
		return -1;
	}
	fprintf(stderr, "rampart-witness: metrics on http://%s/metrics\n", addr);
	return 0;
}
