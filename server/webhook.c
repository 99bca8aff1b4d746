/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --alert-webhook URL: every alert an agent reports is POSTed as JSON to
 * URL (docs/monitoring.md, "Alerts to a webhook"), one at a time, in
 * order, from a bounded queue. A receiver that is down or slow gets each
 * alert again after 1, 2, 4 ... 60 s, up to WEBHOOK_TRIES times; past
 * that, or when the queue is full, an alert is dropped and counted
 * (/metrics, and one log line per drop). With a secret, each body carries
 * `X-Rampart-Signature: sha256=<hex HMAC-SHA256 of the body>' so that the
 * receiver knows it came from this server.
 *
 * This is the server's convenience, not the trust path: a breached
 * rampartd can drop or invent what it posts. Agents also write every
 * alert to their own host's syslog and files (docs/monitoring.md).
 */
#include "webhook.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "tls.h"
#include "util.h"

#define WEBHOOK_QUEUE_MAX  1024
#define WEBHOOK_TRIES      8
#define WEBHOOK_TIMEOUT_S  10
#define WEBHOOK_SECRET_MAX 256

struct hook_item {
	struct hook_item *next;
	char *body;
	size_t len;
	unsigned tries;
};

struct webhook {
	struct server *srv;
	char url[512];
	char host[256];
	char path[512]; /* path and query */
	uint16_t port;
	bool https;
	SSL_CTX *ctx;
	uint8_t secret[WEBHOOK_SECRET_MAX];
	size_t secret_len;
	struct hook_item *head, *tail;
	size_t queued;
	bool busy;                           /* a request is in flight */
	struct evhttp_connection *conn;      /* the plain connection, kept; TLS: one per request */
	struct evhttp_connection *done_conn; /* TLS: the last one answered, freed at the next */
	struct event *retry;
	int error;
	/* /metrics */
	uint64_t sent, failed, dropped;
};

static void hook_send(struct webhook *w);

static void item_free(struct hook_item *it)
{
	if (it) {
		free(it->body);
		free(it);
	}
}

/* The head alert is done with (sent, or dropped): the next one goes. */
static void pop_and_send(struct webhook *w)
{
	struct hook_item *it = w->head;

	w->head = it->next;
	if (!w->head)
		w->tail = NULL;
	w->queued--;
	item_free(it);
	hook_send(w);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hook_send(arg);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct webhook *w = arg;

	w->error = (int)e;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct webhook *w = arg;
	struct hook_item *it = w->head;
	int status = req ? evhttp_request_get_response_code(req) : 0;

	w->busy = false;
	if (w->https) { /* freed outside its own callbacks: at the next answer, or at release */
		if (w->done_conn)
			evhttp_connection_free(w->done_conn);
		w->done_conn = w->conn;
		w->conn = NULL;
	}
	if (!it)
		return;
	if (status >= 200 && status <= 299) {
		w->sent++;
		pop_and_send(w);
		return;
	}
	w->failed++;
	if (++it->tries >= WEBHOOK_TRIES) {
		fprintf(stderr, "%srampartd: alert webhook %s: %s after %u tries: alert dropped\n",
			rp_log_prio(LOG_WARNING), w->url, status ? "HTTP error" : "no answer",
			it->tries);
		w->dropped++;
		pop_and_send(w);
		return;
	}
	if (it->tries == 1)
		fprintf(stderr, "%srampartd: alert webhook %s: %s%d: retrying\n",
			rp_log_prio(LOG_WARNING), w->url, status ? "HTTP " : "no answer, error ",
			status ? status : w->error);
	int delay = 1 << (it->tries - 1);
	struct timeval tv = {delay < 60 ? delay : 60, 0};
	evtimer_add(w->retry, &tv);
}

static void hook_send(struct webhook *w)
{
	struct hook_item *it = w->head;
	struct evhttp_request *req;
	struct evkeyvalq *h;

	if (!it || w->busy || w->srv->stopping)
		return;
	if (!w->conn && !(w->conn = tls_client_conn(w->srv->base, w->https ? w->ctx : NULL, w->host,
						    w->port, WEBHOOK_TIMEOUT_S, 4096))) {
		fprintf(stderr, "%srampartd: alert webhook %s: cannot set up a connection\n",
			rp_log_prio(LOG_ERR), w->url);
		struct timeval tv = {5, 0};
		evtimer_add(w->retry, &tv);
		return;
	}
	if (!(req = evhttp_request_new(on_reply, w)))
		return;
	w->error = 0;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", w->host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "rampartd/" RP_VERSION);
	if (w->https)
		evhttp_add_header(h, "Connection", "close");
	if (w->secret_len) {
		uint8_t mac[crypto_auth_hmacsha256_BYTES];
		char hex[2 * sizeof(mac) + 1], v[8 + sizeof(hex)];
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, w->secret, w->secret_len);
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)it->body, it->len);
		crypto_auth_hmacsha256_final(&st, mac);
		rp_hex_encode(mac, sizeof(mac), hex);
		snprintf(v, sizeof(v), "sha256=%s", hex);
		evhttp_add_header(h, "X-Rampart-Signature", v);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), it->body, it->len);
	w->busy = true;
	if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, w->path) < 0) {
		/* libevent freed req and calls nothing back: count it as a failed try */
		on_reply(NULL, w);
		return;
	}
}

void webhook_alert(struct server *s, const char *org, const char *device, const char *command,
		   const char *code, const char *reason, bool security)
{
	struct webhook *w = s->webhook;
	struct hook_item *it;
	json_t *j;

	if (!w)
		return;
	if (w->queued >= WEBHOOK_QUEUE_MAX) {
		w->dropped++;
		fprintf(stderr,
			"%srampartd: alert webhook %s: %d alerts queued: alert %s of device %s "
			"dropped\n",
			rp_log_prio(LOG_WARNING), w->url, WEBHOOK_QUEUE_MAX, code, device);
		return;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "source", "rampartd", "org", org,
		      "device", device, "command", command, "code", code, "reason", reason,
		      "security", security, "at", (json_int_t)rp_now());
	if (!j || !(it = calloc(1, sizeof(*it))) ||
	    !(it->body = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII))) {
		if (j && it)
			free(it);
		json_decref(j);
		return;
	}
	json_decref(j);
	it->len = strlen(it->body);
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->queued++;
	if (!evtimer_pending(w->retry, NULL))
		hook_send(w);
}

int webhook_start(struct server *s, const char *url, const char *secret_file, const char *ca)
{
	struct webhook *w = calloc(1, sizeof(*w));
	struct evhttp_uri *u = NULL;
	const char *scheme, *host, *path, *query;
	struct rp_diag d = {""};
	char *sec = NULL;
	size_t slen = 0;
	int r = -1;

	if (!w)
		return -1;
	w->srv = s;
	snprintf(w->url, sizeof(w->url), "%s", url);
	if (strlen(url) >= sizeof(w->url) || !(u = evhttp_uri_parse(url)) ||
	    !(scheme = evhttp_uri_get_scheme(u)) ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    !(host = evhttp_uri_get_host(u)) || !*host || strlen(host) >= sizeof(w->host) ||
	    evhttp_uri_get_userinfo(u)) {
		fprintf(stderr,
			"rampartd serve: --alert-webhook `%s' is not http[s]://HOST[:PORT]/PATH\n",
			url);
		goto out;
	}
	w->https = !strcmp(scheme, "https");
	snprintf(w->host, sizeof(w->host), "%s", host);
	w->port = evhttp_uri_get_port(u) > 0 ? (uint16_t)evhttp_uri_get_port(u)
					     : (w->https ? 443 : 80);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	snprintf(w->path, sizeof(w->path), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	if (secret_file) {
		int k = rp_read_file_flags(secret_file, WEBHOOK_SECRET_MAX + 1, RP_FILE_PRIVATE,
					   &sec, &slen, &d);
		while (k == 0 && slen && (sec[slen - 1] == '\n' || sec[slen - 1] == '\r'))
			slen--;
		if (k < 0 || slen == 0 || slen > WEBHOOK_SECRET_MAX) {
			fprintf(stderr, "rampartd serve: --alert-webhook-secret %s: %s\n",
				secret_file, k < 0 ? d.msg : "empty, or longer than 256 bytes");
			goto out;
		}
		memcpy(w->secret, sec, slen);
		w->secret_len = slen;
	}
	if (w->https && !(w->ctx = tls_client_ctx(ca, "the alert webhook's certificate")))
		goto out;
	if (!(w->retry = evtimer_new(s->base, on_retry, w)))
		goto out;
	s->webhook = w;
	fprintf(stderr, "rampartd: alerts are posted to %s%s\n", w->url,
		w->secret_len ? ", signed with the webhook secret" : "");
	r = 0;
out:
	if (sec) {
		sodium_memzero(sec, slen);
		free(sec);
	}
	if (u)
		evhttp_uri_free(u);
	if (r < 0) {
		s->webhook = w;
		webhook_release(s);
	}
	return r;
}

void webhook_metrics(const struct server *s, struct rp_sb *out)
{
	const struct webhook *w = s->webhook;

	if (!w)
		return;
	rp_sb_printf(out,
		     "# HELP rampartd_alert_webhook_total Alerts posted to --alert-webhook, by "
		     "outcome (failed counts tries).\n"
		     "# TYPE rampartd_alert_webhook_total counter\n"
		     "rampartd_alert_webhook_total{result=\"sent\"} %llu\n"
		     "rampartd_alert_webhook_total{result=\"failed\"} %llu\n"
		     "rampartd_alert_webhook_total{result=\"dropped\"} %llu\n"
		     "# HELP rampartd_alert_webhook_queued Alerts waiting to be posted.\n"
		     "# TYPE rampartd_alert_webhook_queued gauge\n"
		     "rampartd_alert_webhook_queued %zu\n",
		     (unsigned long long)w->sent, (unsigned long long)w->failed,
		     (unsigned long long)w->dropped, w->queued);
}

void webhook_release(struct server *s)
{
	struct webhook *w = s->webhook;

	if (!w)
		return;
	while (w->head) {
		struct hook_item *it = w->head;
		w->head = it->next;
		item_free(it);
	}
	if (w->retry)
		event_free(w->retry);
	if (w->conn)
		evhttp_connection_free(w->conn);
	if (w->done_conn)
		evhttp_connection_free(w->done_conn);
	SSL_CTX_free(w->ctx);
	sodium_memzero(w->secret, sizeof(w->secret));
	free(w);
	s->webhook = NULL;
}
