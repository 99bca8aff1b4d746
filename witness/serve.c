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
 *   consistency proof does not verify            422, kept as evidence
 *   otherwise                                    200, one cosignature line
 * The last three are the append-only check every verifier shares
 * (lib/tlog.c), its verdicts mapped to these status codes.
 *
 * Bodies over RP_WITNESS_REQUEST_MAX are refused by libevent from the
 * Content-Length (or while chunks arrive) before they are buffered; those
 * answers (413, or 400 for HTTP libevent cannot parse) never reach
 * dispatch() and so are not logged here.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "checkpoint.h"
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
	char path[64];           /* quoted */
	char origin[RP_ORIGIN_MAX + 1]; /* quoted, "" until parsed */
	bool parsed, have_state; /* old/size known; stored known */
	uint64_t old, size, stored;
};

static double now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

static const char *method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* One line per request: method, path, status, duration, peer, origin, sizes, why. */
static void log_request(struct areq *q, int status, const char *why)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(q->r);
	char *addr = NULL, sizes[96] = "";
	ev_uint16_t port = 0;

	if (conn)
		evhttp_connection_get_peer(conn, &addr, &port);
	if (q->parsed && q->have_state)
		snprintf(sizes, sizeof(sizes), " old %llu size %llu stored %llu",
			 (unsigned long long)q->old, (unsigned long long)q->size,
			 (unsigned long long)q->stored);
	else if (q->parsed)
		snprintf(sizes, sizeof(sizes), " old %llu size %llu", (unsigned long long)q->old,
			 (unsigned long long)q->size);
	fprintf(stderr, "rampart-witness: %s %s %d %.1f ms from %s%s%s%s%s%s\n", q->method, q->path,
		status, now_ms() - q->t0, addr ? addr : "?", *q->origin ? " origin " : "",
		q->origin, sizes, why ? ": " : "", why ? why : "");
}

static void reply(struct areq *q, int status, const char *ctype, const char *body, size_t len,
		 const char *why)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->r);
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		log_request(q, 500, "out of memory");
		evhttp_send_error(q->r, 500, NULL);
		return;
	}
	evbuffer_add(b, body, len);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (q->w->stopping) /* shutting down: no keep-alive */
		evhttp_add_header(h, "Connection", "close");
	log_request(q, status, why);
	evhttp_send_reply(q->r, status, NULL, b);
	evbuffer_free(b);
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
	int r = wdb_evidence_add(&q->w->db, &e, rp_now());

	if (r < 0) {
		/* The refusal stands; only the record of it is missing. */
		fprintf(stderr, "rampart-witness: storing evidence from %s: %s\n", q->origin,
			rp_strerror(r));
		return;
	}
	a->commit = true;
	fprintf(stderr, "rampart-witness: EVIDENCE: log %s signed a checkpoint inconsistent with "
			"the one this witness cosigned (size %llu); kept, see `rampart-witness "
			"evidence'\n",
		q->origin, (unsigned long long)st->size);
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
		answer_text(a, 500, TEXT_PLAIN, "reading the log's keys: %s",
			    rp_strerror(r));
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
		answer_text(a, 500, TEXT_PLAIN, "reading the log's state: %s",
			    rp_strerror(r));
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
		evidence(q, a, req, &st, body, len);
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
		answer_text(a, 500, TEXT_PLAIN, "storing the checkpoint: %s",
			    rp_strerror(r));
		return;
	}
	a->status = 200;
	a->ctype = TEXT_PLAIN;
	a->body = line;
	a->len = strlen(line);
	a->commit = true;
	snprintf(a->why, sizeof(a->why), "cosigned at %lld", (long long)t);
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
	if (!a.body) {
		log_request(q, 500, "out of memory");
		evhttp_send_error(q->r, 500, NULL);
		return;
	}
	reply(q, a.status, a.ctype, a.body, a.len, a.why);
	free(a.body);
}

static void dispatch(struct evhttp_request *r, void *arg)
{
	struct areq q = {.w = arg, .r = r, .t0 = now_ms()};
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	struct answer a = {0};
	const char *body;
	size_t len;

	q.method = method_name(evhttp_request_get_command(r));
	if (!path)
		path = "?";
	rp_quote(q.path, sizeof(q.path), path, strlen(path));
	if (strcmp(path, "/add-checkpoint") != 0) {
		answer_text(&a, 404, TEXT_PLAIN, "no such resource (this witness serves "
						 "POST /add-checkpoint only)");
	} else if (evhttp_request_get_command(r) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(r), "Allow", "POST");
		answer_text(&a, 405, TEXT_PLAIN, "method %s not allowed: add-checkpoint is a POST",
			    q.method);
	} else if ((len = evbuffer_get_length(in)) > RP_WITNESS_REQUEST_MAX) {
		/* libevent's cap already refused this; kept so the cap never depends on it. */
		answer_text(&a, 413, TEXT_PLAIN, "body of %zu bytes exceeds %d", len,
			    RP_WITNESS_REQUEST_MAX);
	} else if (!(body = len ? (const char *)evbuffer_pullup(in, -1) : "")) {
		answer_text(&a, 500, TEXT_PLAIN, "out of memory reading the body");
	} else {
		add_checkpoint(&q, body, len);
		return;
	}
	if (!a.body) {
		log_request(&q, 500, "out of memory");
		evhttp_send_error(r, 500, NULL);
		return;
	}
	reply(&q, a.status, a.ctype, a.body, a.len, a.why);
	free(a.body);
}

int serve_init(struct witness *w)
{
	w->http = evhttp_new(w->base);
	if (!w->http)
		return RP_E_NOMEM;
	evhttp_set_gencb(w->http, dispatch, w);
	/* Every method reaches dispatch(), which answers 405 or 404 itself. */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/*
	 * The body cap is checked from Content-Length (or as chunks arrive)
	 * before the body is buffered. Lingering close reads and discards an
	 * oversized body before answering 413, so the client sees the 413
	 * instead of a reset.
	 */
	evhttp_set_max_body_size(w->http, RP_WITNESS_REQUEST_MAX);
	evhttp_set_max_headers_size(w->http, RP_HTTP_HEADERS_MAX);
	evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_timeout(w->http, 30);
	return 0;
}
