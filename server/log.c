/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sequencer: turns appended log entries into checkpoints that agents
 * accept.
 *
 * Approvals append their statement to the org's log in the same
 * transaction (db.c), or, when the statement's not-before is still ahead,
 * leave it 'scheduled' for the sequencer to append when it is due. The
 * sequencer runs at once after log_kick() (a one-shot event: a burst of
 * approvals in one turn of the loop is one run, and the periodic tick is
 * never re-armed by it, so it cannot slip), at the earliest not-before of
 * a scheduled statement (an evtimer, re-armed after every run), and once
 * per TICK_S for freshness and retries. Each run:
 *   0. appends scheduled statements now due, and any approved row never
 *      logged (db_log_approved);
 *   1. signs a checkpoint of the whole log with the org's log key when the
 *      log grew (one checkpoint covers every entry added since the last);
 *   2. asks every witness of the org's root policy to cosign it (C2SP
 *      tlog-witness add-checkpoint, with a consistency proof from the size
 *      that witness last cosigned), and asks again for a fresh cosignature
 *      when the newest is older than a quarter of the policy's freshness;
 *   3. when the cosignatures over the newest checkpoint meet the policy's
 *      quorum, makes it the served checkpoint and wakes held polls: only
 *      then are the entries it covers delivered.
 * One request is in flight per witness. When its answer is about an older
 * checkpoint than the newest (the log grew meanwhile), its cosignature is
 * kept and the newest is sent to it at once, from the size it just
 * cosigned, rather than at the next tick.
 * A witness that is down or refuses delays step 3 and is retried; nothing
 * it says can change the log. Witness requests are asynchronous (libevent's
 * HTTP client), over http:// or https:// (the witness's certificate checked
 * against the system's CAs, or --witness-ca, and its name or address).
 */
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "checkpoint.h"
#include "httpd/metrics.h"
#include "log.h"
#include "logkey.h"
#include "policy.h"
#include "tls.h"
#include "verify.h"
#include "rp_err.h"

#define TICK_S            1 /* freshness and retries; approvals and due statements do not wait for it */
#define WITNESS_TIMEOUT_S 10

/* One witness of one org's policy, and the request in flight to it. */
struct wslot {
	struct wslot *next;
	struct server *srv;
	char org[RP_ORG_NAME_MAX + 1];
	int64_t log; /* the log it cosigns for us: each of an org's logs has its own slots */
	struct rp_witness w;
	char host[256];
	int port;
	char path[RP_URL_MAX + 1]; /* submission prefix + "/add-checkpoint" */
	bool https;
	struct evhttp_connection *conn;     /* kept for http:// */
	struct evhttp_connection *tls_conn; /* https://: one per request, this one in flight */
	/*
	 * The https:// connection of the last answered request, freed outside
	 * its callbacks (next tick, next answer, shutdown). Not libevent's
	 * free_on_completion: libevent 2.1 never frees a connection that
	 * failed to connect, so a witness down leaked one per retry.
	 */
	struct evhttp_connection *done_conn;
	bool busy;
	int error; /* why libevent gave up on the answer in flight (on_witness_error) */
	uint64_t size_sent;
	char *note_sent; /* the checkpoint of size_sent, to take a late answer's cosignature */
	int64_t last_try;
	/* /metrics: answers, and the latency of those that cosigned */
	int64_t m_sent_ms;
	uint64_t m_ok, m_fail;
	struct rp_metrics_hist m_lat;
};

/* "http://host[:port][/prefix]" into the slot. */
static int slot_url(struct wslot *ws, const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host, *path;
	int n;

	if (!u)
		return RP_E_INVAL;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || !host ||
	    !*host || strlen(host) >= sizeof(ws->host)) {
		evhttp_uri_free(u);
		return RP_E_INVAL;
	}
	ws->https = !strcmp(scheme, "https");
	snprintf(ws->host, sizeof(ws->host), "%s", host);
	ws->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : ws->https ? 443 : 80;
	if (!path)
		path = "";
	n = snprintf(ws->path, sizeof(ws->path), "%.*s/add-checkpoint",
		     (int)(strlen(path) && path[strlen(path) - 1] == '/' ? strlen(path) - 1
									 : strlen(path)),
		     path);
	evhttp_uri_free(u);
	return n > 0 && (size_t)n < sizeof(ws->path) ? 0 : RP_E_INVAL;
}

/* The slot of this log's witness (same key and URL), made when missing. */
static struct wslot *slot_get(struct server *s, const struct db_log *lg, const struct rp_witness *w)
{
	const char *org = lg->org;
	struct wslot *ws;

	for (ws = s->wslots; ws; ws = ws->next)
		if (ws->log == lg->id && !memcmp(&ws->w.key, &w->key, sizeof(w->key)) &&
		    !strcmp(ws->w.url, w->url))
			return ws;
	if (!(ws = calloc(1, sizeof(*ws))))
		return NULL;
	ws->srv = s;
	ws->log = lg->id;
	snprintf(ws->org, sizeof(ws->org), "%s", org);
	ws->w = *w;
	if (slot_url(ws, w->url) < 0) {
		fprintf(stderr,
			"rampartd: org %s: witness %s has no usable http(s):// URL (`%s')\n", org,
			w->name, w->url);
		free(ws);
		return NULL;
	}
	ws->next = s->wslots;
	s->wslots = ws;
	return ws;
}

/*
 * The root policy whose log line names this log, which judges its
 * checkpoints: the org's current one for the active log; for a retired
 * log, the last version it was under (its successor named the next log),
 * whose witnesses keep cosigning it for the agents and auditors still
 * reading it. NULL (logged by db.c) when it cannot be read.
 */
static struct rp_policy *log_policy(struct server *s, const struct db_log *lg)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char *text = NULL;
	int64_t idx;

	if (lg->state != DB_LOG_RETIRED)
		return db_policy(&s->db, lg->org);
	if (db_policy_version(&s->db, lg->org, lg->final_policy, &text, &idx) < 0)
		return NULL;
	if (rp_policy_parse(text, strlen(text), &p, &d) < 0)
		fprintf(stderr,
			"%srampartd: org %s: stored root policy version %llu does not parse: %s\n",
			rp_log_prio(LOG_ERR), lg->org, (unsigned long long)lg->final_policy, d.msg);
	free(text);
	return p;
}

/* Rebuilds the served checkpoint from the stored cosignatures over size. */
static void update_served(struct server *s, const char *org, const struct rp_policy *p,
			  const struct db_log *lg)
{
	struct rp_diag d = {""};
	struct rp_sb sb;
	char *signed_note = NULL, *note = NULL;
	size_t len;
	int r;

	if (lg->signed_size < 0 || db_log_signed_note(&s->db, lg->id, &signed_note) < 0)
		return;
	rp_sb_init(&sb, RP_CHECKPOINT_MAX);
	rp_sb_puts(&sb, signed_note);
	if (p->wp.quorum >= 0 &&
	    db_log_cosigs(&s->db, lg->id, (uint64_t)lg->signed_size, &sb) < 0) {
		rp_sb_release(&sb);
		free(signed_note);
		return;
	}
	free(signed_note);
	if (!(note = rp_sb_take(&sb, &len)))
		return;
	r = rp_checkpoint_verify(&p->wp, note, len, rp_now(), 0, RP_CLOCK_SKEW_S, NULL, NULL, &d);
	if (r == 0) {
		bool grew = (uint64_t)lg->signed_size > lg->served_size;
		uint64_t was = lg->served_size;
		if (db_log_set_served(&s->db, lg->id, (uint64_t)lg->signed_size, note) == 0 &&
		    grew) {
			fprintf(stderr, "rampartd: org %s: checkpoint %lld of %s witnessed%s\n",
				org, (long long)lg->signed_size, lg->origin,
				lg->state == DB_LOG_RETIRED ? " (retired log)" : ", delivering");
			if (s->on_witnessed)
				s->on_witnessed(s, lg->id, was, (uint64_t)lg->signed_size);
		}
	} else if (r != RP_E_WITNESS) {
		fprintf(stderr, "%srampartd: org %s: checkpoint %lld is not acceptable: %s\n",
			rp_log_prio(LOG_WARNING), org, (long long)lg->signed_size, d.msg);
	}
	free(note);
}

static void on_witness_reply(struct evhttp_request *req, void *arg);

/* libevent gave up on an answer: on_witness_reply(NULL) follows and says why. */
static void on_witness_error(enum evhttp_request_error e, void *arg)
{
	struct wslot *ws = arg;

	ws->error = (int)e;
}

/* A connection to the witness: plain, or TLS checked against its host name or address. */
static struct evhttp_connection *witness_conn(struct server *s, struct wslot *ws)
{
	/*
	 * An answer is one cosignature line or a 409 size. libevent stops
	 * reading one that is larger, from its Content-Length or as it
	 * arrives, so a witness cannot make this process buffer more than
	 * the cap.
	 */
	return tls_client_conn(s->base, ws->https ? s->wssl : NULL, ws->host, (uint16_t)ws->port,
			       WITNESS_TIMEOUT_S, RP_WITNESS_RESPONSE_MAX);
}

static void witness_send(struct server *s, struct wslot *ws, const struct db_log *lg,
			 const char *note, uint64_t old)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct evhttp_request *req;
	size_t nproof = 0, blen;
	char *body;
	int r;

	if (old > (uint64_t)lg->signed_size)
		return; /* reported when the witness said so */
	if ((r = db_log_prove_consistency(&s->db, lg->id, old, (uint64_t)lg->signed_size, proof,
					  &nproof)) < 0) {
		fprintf(stderr, "rampartd: org %s: consistency proof %llu -> %lld: %s\n", ws->org,
			(unsigned long long)old, (long long)lg->signed_size, rp_strerror(r));
		return;
	}
	if (!(body = rp_witness_req_format(old, (const uint8_t(*)[RP_HASH_LEN])proof, nproof, note,
					   strlen(note), &blen)))
		return;
	if (!ws->conn && !(ws->conn = witness_conn(s, ws))) {
		fprintf(stderr, "%srampartd: org %s: cannot set up a connection to witness %s\n",
			rp_log_prio(LOG_ERR), ws->org, ws->w.name);
		free(body);
		return;
	}
	if (!(req = evhttp_request_new(on_witness_reply, ws))) {
		free(body);
		return;
	}
	ws->error = 0;
	evhttp_request_set_error_cb(req, on_witness_error);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", ws->host);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
	if (ws->https) /* one connection per request: libevent frees it once closed */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, blen);
	free(body);
	if (evhttp_make_request(ws->conn, req, EVHTTP_REQ_POST, ws->path) < 0) {
		fprintf(stderr, "%srampartd: org %s: cannot reach witness %s\n",
			rp_log_prio(LOG_ERR), ws->org, ws->w.name);
		return; /* libevent freed req */
	}
	if (ws->https) { /* a TLS connection is not reopened by libevent: one per request */
		ws->tls_conn = ws->conn;
		ws->conn = NULL;
	}
	ws->busy = true;
	ws->size_sent = (uint64_t)lg->signed_size;
	free(ws->note_sent);
	ws->note_sent = strdup(note); /* NULL: a late answer is dropped, as before */
	ws->last_try = rp_now();
	ws->m_sent_ms = rp_mono_ms();
}

/* Takes the witness's cosignature lines over the checkpoint note. */
static int take_cosigs(struct server *s, struct wslot *ws, const struct db_log *lg,
		       const char *note, const char *body, size_t blen)
{
	struct rp_diag d = {""};
	struct rp_note *n = NULL;
	struct rp_sb sb;
	char *all;
	size_t len;
	int r, stored = 0;

	rp_sb_init(&sb, RP_CHECKPOINT_MAX);
	rp_sb_puts(&sb, note);
	rp_sb_put(&sb, body, blen);
	if (!(all = rp_sb_take(&sb, &len)))
		return RP_E_TOOBIG;
	if ((r = rp_note_parse(all, len, &n, &d)) < 0)
		goto out;
	for (size_t i = 0; i < n->nsigs; i++) {
		uint64_t t;
		char line[RP_NOTE_NAME_MAX + 256];
		if ((size_t)(n->sigs[i].line - n->msg) < strlen(note)) /* the log's own signature */
			continue;
		if (rp_cosig_verify(&ws->w.key, n->msg, n->text_len, &n->sigs[i], &t, &d) < 0 ||
		    n->sigs[i].line_len >= sizeof(line))
			continue;
		memcpy(line, n->sigs[i].line, n->sigs[i].line_len);
		line[n->sigs[i].line_len] = '\0';
		if ((r = db_log_witness_set(&s->db, lg->id, ws->w.key.name, ws->size_sent, line,
					    (int64_t)t)) < 0)
			goto out;
		stored++;
	}
	r = stored ? 0 : RP_E_NOSIG;
	if (!stored)
		rp_diagf(&d, "no valid cosignature by %s in its answer", ws->w.key.name);
out:
	if (r < 0)
		fprintf(stderr, "rampartd: org %s: witness %s: %s\n", ws->org, ws->w.name, d.msg);
	rp_note_free(n);
	free(all);
	return r;
}

static void on_witness_reply(struct evhttp_request *req, void *arg)
{
	struct wslot *ws = arg;
	struct server *s = ws->srv;
	struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	size_t blen = in ? evbuffer_get_length(in) : 0;
	char body[RP_WITNESS_RESPONSE_MAX + 1], q[200];
	struct rp_policy *p = NULL;
	char *note = NULL;
	struct db_log lg;

	ws->busy = false;
	if (code == 200) {
		ws->m_ok++;
		rp_metrics_hist_add(&ws->m_lat, (double)(rp_mono_ms() - ws->m_sent_ms) / 1000.0);
	} else {
		ws->m_fail++; /* unreachable, refused, malformed: each answer that cosigned nothing
			       */
	}
	/* this callback's connection is freed later; an earlier one's callback is done */
	if (ws->done_conn)
		evhttp_connection_free(ws->done_conn);
	ws->done_conn = ws->tls_conn;
	ws->tls_conn = NULL;
	if (ws->error == EVREQ_HTTP_DATA_TOO_LONG || ws->error == EVREQ_HTTP_INVALID_HEADER) {
		if (ws->error == EVREQ_HTTP_DATA_TOO_LONG)
			fprintf(stderr,
				"%srampartd: org %s: witness %s (%s): answer refused unread: "
				"its body exceeds %d bytes; will retry\n",
				rp_log_prio(LOG_WARNING), ws->org, ws->w.name, ws->w.url,
				RP_WITNESS_RESPONSE_MAX);
		else
			fprintf(stderr,
				"%srampartd: org %s: witness %s (%s): answer refused: its "
				"headers are malformed or exceed %d bytes; will retry\n",
				rp_log_prio(LOG_WARNING), ws->org, ws->w.name, ws->w.url,
				RP_HTTP_HEADERS_MAX);
		return;
	}
	if (!req || code == 0) {
		fprintf(stderr, "%srampartd: org %s: witness %s (%s) unreachable; will retry\n",
			rp_log_prio(LOG_WARNING), ws->org, ws->w.name, ws->w.url);
		return;
	}
	if (blen > RP_WITNESS_RESPONSE_MAX) /* libevent's cap makes this impossible; kept anyway */
		blen = RP_WITNESS_RESPONSE_MAX;
	evbuffer_copyout(in, body, blen);
	body[blen] = '\0';
	if (db_log_get_by_id(&s->db, ws->log, &lg) < 0 ||
	    db_log_signed_note(&s->db, lg.id, &note) < 0)
		return;
	if (code == 200 && (uint64_t)lg.signed_size == ws->size_sent) {
		if (take_cosigs(s, ws, &lg, note, body, blen) == 0 && (p = log_policy(s, &lg)))
			update_served(s, ws->org, p, &lg);
	} else if (code == 200 && ws->size_sent < (uint64_t)lg.signed_size) {
		/*
		 * The log grew while the witness was answering: its cosignature
		 * is for an older checkpoint, which no one is served any more.
		 * Keep it (the witness is now at size_sent, so the next proof
		 * starts there) and send the newest at once: after a burst of
		 * approvals the last checkpoint must not wait for a tick.
		 */
		uint64_t from = ws->size_sent;
		if (ws->note_sent && take_cosigs(s, ws, &lg, ws->note_sent, body, blen) == 0)
			witness_send(s, ws, &lg, note, from);
	} else if (code == 409) {
		const char *ct =
			evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
		uint64_t n;
		size_t l = strlen(body);
		if (ct && !strncmp(ct, "text/x.tlog.size", 16) && l > 1 && body[l - 1] == '\n' &&
		    rp_parse_u64(body, l - 1, UINT64_MAX >> 1, &n) == 0) {
			if (n <= (uint64_t)lg.signed_size) {
				fprintf(stderr,
					"rampartd: org %s: witness %s last cosigned size %llu; "
					"resending from there\n",
					ws->org, ws->w.name, (unsigned long long)n);
				db_log_witness_set(&s->db, lg.id, ws->w.key.name, n, NULL, 0);
				witness_send(s, ws, &lg, note, n);
			} else {
				fprintf(stderr,
					"%srampartd: SECURITY: org %s: witness %s has cosigned "
					"size %llu of this log, which has only %lld entries: "
					"this server's log was rolled back or forked\n",
					rp_log_prio(LOG_WARNING), ws->org, ws->w.name,
					(unsigned long long)n, (long long)lg.signed_size);
			}
		} else {
			fprintf(stderr,
				"%srampartd: SECURITY: org %s: witness %s refuses checkpoint "
				"%lld: it cosigned a different tree of that size (fork)\n",
				rp_log_prio(LOG_WARNING), ws->org, ws->w.name,
				(long long)ws->size_sent);
		}
	} else {
		rp_quote(q, sizeof(q), body, blen);
		fprintf(stderr, "%srampartd: org %s: witness %s answered %d: %s\n",
			rp_log_prio(LOG_WARNING), ws->org, ws->w.name, code, q);
	}
	rp_policy_free(p);
	free(note);
}

/* What was last said about a log's key, so that a refusal is said once, not every tick. */
struct keywarn {
	struct keywarn *next;
	char origin[RP_ORIGIN_MAX + 1]; /* the log's */
	char msg[sizeof(((struct rp_diag *)0)->msg)];
};

static void key_said(struct server *s, const struct db_log *lg, const char *msg)
{
	const char *org = lg->org;
	struct keywarn *w;

	for (w = s->keywarns; w && strcmp(w->origin, lg->origin) != 0; w = w->next)
		;
	if (!w && !msg)
		return;
	if (w && msg && strcmp(w->msg, msg) == 0)
		return;
	if (!w && !(w = calloc(1, sizeof(*w))))
		return;
	if (!w->origin[0]) {
		snprintf(w->origin, sizeof(w->origin), "%s", lg->origin);
		w->next = s->keywarns;
		s->keywarns = w;
	}
	if (msg)
		fprintf(stderr,
			"%srampartd: org %s: not signing checkpoints with its log key: %s; the "
			"org's new entries wait until the key file is fixed (docs/operating.md, "
			"\"Log keys\")\n",
			rp_log_prio(LOG_ERR), org, msg);
	else if (w->msg[0])
		fprintf(stderr, "rampartd: org %s: its log key file is usable again (%s)\n", org,
			lg->origin);
	snprintf(w->msg, sizeof(w->msg), "%s", msg ? msg : "");
}

/*
 * The org's signer key from its file, checked against the verifier key in
 * the database; a refusal is logged (once) and nothing is signed.
 */
static int load_key(struct server *s, const struct db_log *lg, struct rp_skey *ret)
{
	struct rp_diag d = {""};
	struct rp_vkey v;
	int r;

	if ((r = db_log_vkey_by_id(&s->db, lg->id, &v)) < 0)
		return r;
	if ((r = logkey_load(s->data, NULL, &v, ret, &d)) < 0) {
		key_said(s, lg, d.msg);
		return r;
	}
	key_said(s, lg, NULL);
	return 0;
}

/* Signs a checkpoint of the whole log when it grew. */
static int sign_checkpoint(struct server *s, struct db_log *lg)
{
	const char *org = lg->org;
	struct rp_checkpoint cp = {0};
	struct rp_skey k;
	char *text = NULL, *line = NULL, *note = NULL;
	size_t tlen;
	int r;

	if (lg->signed_size >= 0 && (uint64_t)lg->signed_size == lg->size)
		return 0;
	if ((r = load_key(s, lg, &k)) < 0)
		return r;
	snprintf(cp.origin, sizeof(cp.origin), "%s", lg->origin);
	cp.size = lg->size;
	if ((r = db_log_tree_hash(&s->db, lg->id, lg->size, cp.root)) < 0)
		goto out;
	r = RP_E_NOMEM;
	if (!(text = rp_checkpoint_format(&cp, &tlen)) ||
	    !(line = rp_note_sign_line(text, tlen, &k)))
		goto out;
	if (asprintf(&note, "%s\n%s", text, line) < 0) {
		note = NULL;
		goto out;
	}
	if ((r = db_log_set_signed(&s->db, lg->id, lg->size, note)) == 0) {
		lg->signed_size = (int64_t)lg->size;
		fprintf(stderr, "rampartd: org %s: signed checkpoint %llu of %s\n", org,
			(unsigned long long)lg->size, lg->origin);
	}
out:
	rp_skey_wipe(&k);
	free(text);
	free(line);
	free(note);
	return r;
}

/* Signs the log's new checkpoint and asks its witnesses to cosign it, or to cosign again. */
static void sequence_log(struct server *s, struct db_log *lg)
{
	struct rp_policy *p = log_policy(s, lg);
	const char *org = lg->org;
	char *note = NULL;
	int64_t now = rp_now();

	if (!p || sign_checkpoint(s, lg) < 0 || lg->signed_size < 0 ||
	    db_log_signed_note(&s->db, lg->id, &note) < 0)
		goto out;
	if (p->wp.quorum < 0) { /* `quorum none': the log signature is all there is */
		update_served(s, org, p, lg);
		goto out;
	}
	for (size_t i = 0; i < p->wp.nwitnesses; i++) {
		struct wslot *ws = slot_get(s, lg, &p->wp.witnesses[i]);
		uint64_t size, csize;
		int64_t ctime;
		if (!ws || ws->busy)
			continue;
		if (ws->done_conn) { /* outside every callback of it */
			evhttp_connection_free(ws->done_conn);
			ws->done_conn = NULL;
		}
		if (db_log_witness_get(&s->db, lg->id, ws->w.key.name, &size, &csize, &ctime) < 0)
			continue;
		/* fresh enough and current: nothing to ask */
		if ((int64_t)csize == lg->signed_size && now - ctime < p->freshness / 4)
			continue;
		/* a witness that failed is asked again after a few ticks, not every one */
		if (now - ws->last_try < 3 && (int64_t)ws->size_sent == lg->signed_size)
			continue;
		witness_send(s, ws, lg, note, size);
	}
out:
	rp_policy_free(p);
	free(note);
}

/*
 * Logs what is due, then sequences each of the org's logs: the active one,
 * and the retired ones, which never grow but are cosigned again for
 * freshness, so that an agent that was away when the log key rotated can
 * still read its old log to the policy that moved it.
 */
static void sequence_org(struct server *s, const char *org)
{
	struct db_log *logs = NULL;
	int64_t now = rp_now();
	size_t nlogged = 0, ndue = 0, n = 0;

	if (db_log_approved(&s->db, org, now, &nlogged, &ndue) == 0) {
		if (nlogged > 0)
			fprintf(stderr,
				"%srampartd: org %s: logged %zu approved command%s found unlogged "
				"(written by something other than this server's API)\n",
				rp_log_prio(LOG_WARNING), org, nlogged, nlogged == 1 ? "" : "s");
		if (ndue > 0)
			fprintf(stderr,
				"rampartd: org %s: logged %zu scheduled command%s now due\n", org,
				ndue, ndue == 1 ? "" : "s");
	}
	if (db_log_list(&s->db, org, &logs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		sequence_log(s, &logs[i]);
	free(logs);
}

/*
 * time(), by which a statement is found due (rp_now), follows the kernel's
 * tick and can lag gettimeofday by one: a timer armed to the microsecond
 * would wake a moment before the second has turned for it.
 */
#define DUE_MARGIN_US 20000

/*
 * Arms the evtimer for the earliest not-before still scheduled, on the
 * wall clock that statements are written in. One that is already due was
 * not logged by the run just made (a database error): retried a tick
 * later, never in a loop.
 */
static void arm_due(struct server *s)
{
	struct timeval now, tv = {TICK_S, 0};
	int64_t nb, us;

	if (db_next_scheduled(&s->db, &nb) < 0) {
		evtimer_del(s->due);
		return;
	}
	if (nb > rp_now()) {
		gettimeofday(&now, NULL);
		us = (nb - (int64_t)now.tv_sec) * 1000000 - now.tv_usec;
		us = (us > 0 ? us : 0) + DUE_MARGIN_US;
		tv.tv_sec = (time_t)(us / 1000000);
		tv.tv_usec = (suseconds_t)(us % 1000000);
	}
	evtimer_add(s->due, &tv);
}

/*
 * At start (the first run) and daily: a warning for each org whose current
 * root policy expires within RP_POLICY_WARN_S, the agents' own rule
 * (rp_verify_policy_expiry); past it agents act on nothing, so the
 * administrators must publish version N+1 with a later expiry before then.
 */
static void warn_policy_expiry(struct server *s, char **orgs, size_t n)
{
	int64_t now = rp_now();

	if (s->policy_warned && now - s->policy_warned < 86400)
		return;
	s->policy_warned = now;
	for (size_t i = 0; i < n; i++) {
		struct rp_policy *p = db_policy(&s->db, orgs[i]);
		struct rp_diag d = {""};

		if (p && rp_verify_policy_expiry(p, now, &d) != 0)
			fprintf(stderr,
				"%srampartd: warning: org %s: %s (`rampart policy propose "
				"--expires' makes the next version)\n",
				rp_log_prio(LOG_WARNING), orgs[i], d.msg);
		rp_policy_free(p);
	}
}

static void on_run(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	char **orgs = NULL;
	size_t n = 0;

	(void)fd;
	(void)what;
	if (s->stopping || db_log_orgs(&s->db, &orgs, &n) < 0)
		return;
	warn_policy_expiry(s, orgs, n);
	for (size_t i = 0; i < n; i++) {
		sequence_org(s, orgs[i]);
		free(orgs[i]);
	}
	free(orgs);
	arm_due(s);
}

/* At start, so that a key file that cannot be used is reported before the log grows. */
static void check_keys(struct server *s)
{
	struct rp_skey k;
	char **orgs = NULL;
	size_t n = 0;

	if (db_log_orgs(&s->db, &orgs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct db_log *logs = NULL;
		size_t nl = 0;
		if (db_log_list(&s->db, orgs[i], &logs, &nl) == 0)
			for (size_t j = 0; j < nl; j++)
				if (load_key(s, &logs[j], &k) == 0)
					rp_skey_wipe(&k);
		free(logs);
		free(orgs[i]);
	}
	free(orgs);
}

int log_init(struct server *s, const char *witness_ca)
{
	struct timeval tv = {TICK_S, 0};

	/* Witnesses over https://: TLS 1.2 or later, certificates verified. */
	if (!(s->wssl = tls_client_ctx(witness_ca, "witness certificates")))
		return RP_E_TLS;

	if (!(s->tick = event_new(s->base, -1, EV_PERSIST, on_run, s)) ||
	    event_add(s->tick, &tv) < 0 || !(s->kick = evtimer_new(s->base, on_run, s)) ||
	    !(s->due = evtimer_new(s->base, on_run, s)))
		return RP_E_NOMEM;
	log_kick(s); /* at start: what fell due while the server was down, and the due timer */
	check_keys(s);
	return 0;
}

void log_kick(struct server *s)
{
	/* Activating an event that is already active adds nothing: one run per turn of the loop. */
	if (s->kick)
		event_active(s->kick, EV_TIMEOUT, 0);
}

void log_release(struct server *s)
{
	while (s->wslots) {
		struct wslot *ws = s->wslots;
		s->wslots = ws->next;
		if (ws->conn)
			evhttp_connection_free(ws->conn);
		if (ws->tls_conn) /* a request still in flight at shutdown */
			evhttp_connection_free(ws->tls_conn);
		if (ws->done_conn)
			evhttp_connection_free(ws->done_conn);
		free(ws->note_sent);
		free(ws);
	}
	if (s->tick)
		event_free(s->tick);
	if (s->kick)
		event_free(s->kick);
	if (s->due)
		event_free(s->due);
	s->tick = s->kick = s->due = NULL;
	SSL_CTX_free(s->wssl);
	s->wssl = NULL;
	while (s->keywarns) {
		struct keywarn *w = s->keywarns;
		s->keywarns = w->next;
		free(w);
	}
}

/* Base64 strings of the proof hashes. */
static json_t *proof_json(const uint8_t (*proof)[RP_HASH_LEN], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		char *b = rp_b64_encode(proof[i], RP_HASH_LEN);
		if (!b || json_array_append_new(a, json_string(b)) < 0) {
			free(b);
			json_decref(a);
			return NULL;
		}
		free(b);
	}
	return a;
}

int log_checkpoint_json(struct server *s, const struct db_log *lg, uint64_t have, json_t *j)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	char *note = NULL;
	size_t n = 0;
	int r;

	if ((r = db_log_served_note(&s->db, lg->id, &note)) < 0)
		return r;
	if (have > 0 && have < lg->served_size &&
	    (r = db_log_prove_consistency(&s->db, lg->id, have, lg->served_size, proof, &n)) < 0)
		goto out;
	r = json_object_set_new(j, "checkpoint", json_string(note)) < 0 ||
			    json_object_set_new(
				    j, "consistency",
				    proof_json((const uint8_t(*)[RP_HASH_LEN])proof, n)) < 0
		    ? RP_E_NOMEM
		    : 0;
out:
	free(note);
	return r;
}

static int entry_json(void *arg, const void *data, size_t len)
{
	char *b = rp_b64_encode(data, len);
	int r = b && json_array_append_new(arg, json_string(b)) == 0 ? 0 : RP_E_NOMEM;

	free(b);
	return r;
}

int log_entries_json(struct server *s, const struct db_log *lg, uint64_t from, uint64_t size,
		     json_t *j)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	json_t *a = json_array();
	uint64_t end = from;
	size_t n = 0;
	bool began;
	int r;

	if (!a)
		return RP_E_NOMEM;
	began = db_read_begin(&s->db);
	r = db_log_entries(&s->db, lg->id, from, size, RP_SCAN_BYTES_MAX, RP_SCAN_ENTRIES_MAX,
			   entry_json, a, &end);
	if (r == 0 && end == from)
		r = RP_E_NOTFOUND;
	if (r == 0 && end < size)
		r = db_log_prove_consistency(&s->db, lg->id, end, size, proof, &n);
	db_read_end(&s->db, began);
	if (r == 0 &&
	    (json_object_set_new(j, "from", json_integer((json_int_t)from)) < 0 ||
	     json_object_set_new(j, "entries", a) < 0 ||
	     json_object_set_new(j, "consistency",
				 proof_json((const uint8_t(*)[RP_HASH_LEN])proof, n)) < 0))
		return RP_E_NOMEM;
	if (r < 0)
		json_decref(a);
	return r;
}

/* Adds "proof", "checkpoint" and "consistency" to a delivery of db.c's form. */
static int add_proofs(struct server *s, json_t *j, uint64_t have)
{
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	json_int_t index = json_integer_value(json_object_get(j, "index"));
	json_int_t log = json_integer_value(json_object_get(j, "log"));
	struct db_log lg;
	size_t n;
	int r;

	bool began;

	json_object_del(j, "log");
	if (index < 0)
		return 0;              /* never logged: served bare, and refused by agents */
	began = db_read_begin(&s->db); /* one snapshot: size, proofs and checkpoint agree */
	if ((r = db_log_get_by_id(&s->db, log, &lg)) < 0 ||
	    (r = db_log_prove_inclusion(&s->db, log, (uint64_t)index, lg.served_size, proof, &n)) <
		    0 ||
	    (r = log_checkpoint_json(s, &lg, have, j)) < 0) {
		db_read_end(&s->db, began);
		return r;
	}
	db_read_end(&s->db, began);
	return json_object_set_new(j, "proof",
				   proof_json((const uint8_t(*)[RP_HASH_LEN])proof, n)) < 0
		       ? RP_E_NOMEM
		       : 0;
}

int log_next_delivery(struct server *s, const char *device, int64_t log, uint64_t have,
		      json_t **ret)
{
	json_t *j = NULL;
	int r;

	if ((r = db_next_delivery(&s->db, device, log, &j)) < 0)
		return r;
	if ((r = add_proofs(s, j, have)) < 0) {
		fprintf(stderr, "rampartd: proofs for device %s: %s\n", device, rp_strerror(r));
		json_decref(j);
		return r;
	}
	/*
	 * Handed over: from now on the device may have started it, so it is
	 * never shown expired. A failure (logged by db.c) only costs that.
	 */
	db_delivery_offered(&s->db, json_string_value(json_object_get(j, "command")), device);
	*ret = j;
	return 0;
}

int log_command_delivery(struct server *s, const char *org, const char *id, uint64_t have,
			 json_t **ret)
{
	json_t *j = NULL;
	int r;

	if ((r = db_command_delivery(&s->db, org, id, &j)) < 0)
		return r;
	if ((r = add_proofs(s, j, have)) < 0) {
		json_decref(j);
		return r;
	}
	*ret = j;
	return 0;
}

/* {org="..",log="..",witness=".." (then the caller's labels) */
static void wlabels(struct rp_sb *out, const char *name, const struct wslot *ws)
{
	rp_sb_printf(out, "%s{org=\"", name);
	rp_prom_label(out, ws->org);
	rp_sb_printf(out, "\",log=\"%lld\",witness=\"", (long long)ws->log);
	rp_prom_label(out, ws->w.name);
	rp_sb_puts(out, "\"");
}

void log_metrics(const struct server *s, struct rp_sb *out)
{
	const struct wslot *ws;

	rp_sb_puts(out, "# HELP rampartd_witness_requests_total Cosignature requests answered, by "
			"result (failed: unreachable, refused or malformed).\n"
			"# TYPE rampartd_witness_requests_total counter\n");
	for (ws = s->wslots; ws; ws = ws->next) {
		wlabels(out, "rampartd_witness_requests_total", ws);
		rp_sb_printf(out, ",result=\"ok\"} %llu\n", (unsigned long long)ws->m_ok);
		wlabels(out, "rampartd_witness_requests_total", ws);
		rp_sb_printf(out, ",result=\"failed\"} %llu\n", (unsigned long long)ws->m_fail);
	}
	rp_sb_puts(out,
		   "# HELP rampartd_witness_latency_seconds Time from request to cosignature.\n"
		   "# TYPE rampartd_witness_latency_seconds histogram\n");
	for (ws = s->wslots; ws; ws = ws->next) {
		struct rp_sb l;

		rp_sb_init(&l, 4096);
		rp_sb_puts(&l, "org=\"");
		rp_prom_label(&l, ws->org);
		rp_sb_printf(&l, "\",log=\"%lld\",witness=\"", (long long)ws->log);
		rp_prom_label(&l, ws->w.name);
		rp_sb_puts(&l, "\"");
		if (l.err)
			out->err = l.err;
		else
			rp_metrics_hist_write(out, "rampartd_witness_latency_seconds", l.s,
					      &ws->m_lat);
		rp_sb_release(&l);
	}
}
