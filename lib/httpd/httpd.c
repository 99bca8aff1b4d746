/* SPDX-License-Identifier: Apache-2.0 */
#include "httpd/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "rp_err.h"
#include "rp_limits.h"

/* ---- time, methods, the log line ---- */

double rp_httpd_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

const char *rp_httpd_method(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

/* One line per request: method, quoted path, status, duration, peer, who, detail, why. */
static void log_line(const struct rp_httpd *h, const char *peer, int status,
		     const struct rp_httpd_line *l, const char *why)
{
	char qpath[128];
	const char *who = l->who ? l->who : "";

	/* an answer with a reason is an event, never routine */
	if (!h->c.log || (!h->c.log_all && !why && h->c.routine &&
			  h->c.routine(h->c.arg, l->method, l->path ? l->path : "", status)))
		return;
	rp_quote(qpath, sizeof(qpath), l->path ? l->path : "?", l->path ? strlen(l->path) : 1);
	/* under journald: a server error is an error, a refusal with its reason a notice */
	const char *prio = h->c.log != stderr     ? ""
			   : status >= 500        ? rp_log_prio(LOG_ERR)
			   : why && status >= 400 ? rp_log_prio(LOG_NOTICE)
						  : "";
	fprintf(h->c.log, "%s%s: %s %s %d %.1f ms from %s%s%s%s%s%s%s\n", prio, h->c.name,
		l->method, qpath, status, rp_httpd_now_ms() - l->t0, peer && *peer ? peer : "?",
		*who ? " by " : "", who, l->detail ? " " : "", l->detail ? l->detail : "",
		why ? ": " : "", why ? why : "");
}

/* ---- replies ---- */

/* Answers r with b's bytes (ctype NULL: none), the headers every answer gets, and the log line. */
static void send_buffer(struct rp_httpd *h, struct evhttp_request *r, int status, const char *ctype,
			struct evbuffer *b, const struct rp_httpd_line *l, const char *why)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r);
	struct evhttp_connection *conn = evhttp_request_get_connection(r);
	char *peer = NULL;
	ev_uint16_t port = 0;

	if (conn)
		evhttp_connection_get_peer(conn, &peer, &port);
	if (ctype)
		evhttp_add_header(out, "Content-Type", ctype);
	if (!evhttp_find_header(out, "Cache-Control"))
		evhttp_add_header(out, "Cache-Control", "no-store");
	if (h->stopping && !evhttp_find_header(out, "Connection"))
		evhttp_add_header(out, "Connection", "close");
	log_line(h, peer, status, l, why);
	h->replies[status >= 100 && status < 600 ? status / 100 : 0]++;
	evhttp_send_reply(r, status, NULL, b);
	if (b)
		evbuffer_free(b);
}

void rp_httpd_reply(struct rp_httpd *h, struct evhttp_request *r, int status, const char *ctype,
		    const void *body, size_t len, const struct rp_httpd_line *l, const char *why)
{
	struct evbuffer *b = evbuffer_new();

	if (!b || (ctype && evbuffer_add(b, body, len) < 0)) {
		/* Out of memory: an empty 500 rather than nothing. */
		status = 500;
		ctype = NULL;
		why = "out of memory";
		if (b)
			evbuffer_drain(b, evbuffer_get_length(b));
	}
	send_buffer(h, r, status, ctype, b, l, why);
}

void rp_httpd_reply_owned(struct rp_httpd *h, struct evhttp_request *r, int status,
			  const char *ctype, void *body, size_t len,
			  void (*done)(const void *body, size_t len, void *arg), void *arg,
			  const struct rp_httpd_line *l)
{
	struct evbuffer *b = evbuffer_new();

	if (!b || evbuffer_add_reference(b, body, len, done, arg) < 0) {
		done(body, len, arg);
		if (b)
			evbuffer_drain(b, evbuffer_get_length(b));
		send_buffer(h, r, 500, NULL, b, l, "out of memory");
		return;
	}
	send_buffer(h, r, status, ctype, b, l, NULL);
}

void rp_httpd_reply_json(struct rp_httpd *h, struct evhttp_request *r, int status, json_t *j,
			 const struct rp_httpd_line *l, const char *why)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (j && !s) {
		rp_httpd_reply(h, r, 500, NULL, NULL, 0, l, "out of memory");
	} else {
		rp_httpd_reply(h, r, status, s ? "application/json" : NULL, s, s ? strlen(s) : 0, l,
			       why);
	}
	free(s);
	json_decref(j);
}

const char *rp_httpd_error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "timeout";
	case 409: return "conflict";
	case 413: /* fall through */
	case 414: /* fall through */
	case 431: return "too_large";
	default: return "internal";
	}
}

void rp_httpd_error_json(int status, const char *msg, struct rp_sb *out, const char **ret_ctype)
{
	json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", rp_httpd_error_code(status),
			      "message", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s)
		rp_sb_puts(out, s);
	else
		out->err = RP_E_NOMEM;
	free(s);
	json_decref(j);
	*ret_ctype = "application/json";
}

void rp_httpd_error_text(int status, const char *msg, struct rp_sb *out, const char **ret_ctype)
{
	(void)status;
	rp_sb_printf(out, "%s\n", msg);
	*ret_ctype = "text/plain; charset=utf-8";
}

void rp_httpd_reply_error(struct rp_httpd *h, struct evhttp_request *r, int status, const char *msg,
			  const struct rp_httpd_line *l)
{
	const char *ctype = NULL;
	struct rp_sb sb;

	rp_sb_init(&sb, 4096);
	h->c.error(status, msg, &sb, &ctype);
	if (sb.err)
		rp_httpd_reply(h, r, 500, NULL, NULL, 0, l, "out of memory");
	else
		rp_httpd_reply(h, r, status, ctype, sb.s ? sb.s : "", sb.len, l, msg);
	rp_sb_release(&sb);
}

/* ---- the connection guard ---- */

enum conn_mode {
	CONN_OPEN,    /* requests go on to evhttp */
	CONN_REFUSED, /* the guard's answer is out or leaving: input is discarded until the close */
	CONN_CLOSE,   /* to be closed without an answer */
	CONN_DEAD,    /* the daemon's bufferevent could not be made: nothing goes either way */
};

/* What the deadline timer is set for. */
enum conn_arm { ARM_NONE, ARM_IDLE, ARM_HEADERS, ARM_BODY, ARM_LINGER };

struct conn {
	struct rp_httpd *h;
	struct bufferevent *bev; /* the daemon's (TLS or TCP), which evhttp reads and writes */
	struct evhttp_connection *evcon; /* once evhttp has made it (conn_check) */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct event *kick;  /* conn_check() on a fresh stack */
	struct event *timer; /* the phase deadline */
	struct rp_frame f;
	enum conn_mode mode;
	enum conn_arm armed;
	unsigned pending; /* requests complete and not yet answered */
	bool answering;   /* evhttp queued the answer to the oldest one */
	bool in_cb_busy;  /* conn_on_input is running: its own drains come back to it */
	int fd;
	double t_req; /* when the request being read began */
	/* its address's count (--max-connections-per-address), once admitted */
	struct rp_httpd_peer *peer;
	/* new: no first request yet; in h's list of them, oldest first, with a deadline */
	bool fresh;
	struct conn *fresh_prev, *fresh_next;
	struct event *first;
	/* the daemon's close callback, called from the guard's (rp_httpd_set_closecb) */
	void (*closecb)(struct evhttp_connection *, void *);
	void *closecb_arg;
};

static void conn_peer(const struct conn *c, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(out, n, "?");
	if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)n);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)n);
}

/* ---- connections by peer address, and new connections ---- */

_Static_assert(sizeof(((struct rp_httpd *)0)->peer_key) == crypto_shorthash_KEYBYTES,
	       "the peer table's key is a SipHash key");

/* Connections open from one address (--max-connections-per-address). */
struct rp_httpd_peer {
	struct rp_httpd_peer *next; /* in its bucket */
	unsigned char key[16];      /* the IPv4 address as ::ffff:a.b.c.d, or an IPv6 /64 */
	unsigned n;
};

/*
 * The peer's address as a key: IPv4 and IPv4-mapped IPv6 both as
 * ::ffff:a.b.c.d, other IPv6 addresses cut to their /64 (a host is given
 * a /64 at least, and picks any address in it). -1 if the socket has no
 * peer address of either family.
 */
static int peer_key(int fd, unsigned char key[16], char *text, size_t tn)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

	memset(key, 0, 16);
	snprintf(text, tn, "?");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		inet_ntop(AF_INET, &s4->sin_addr, text, (socklen_t)tn);
	} else if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(key, &s6->sin6_addr, 16);
		inet_ntop(AF_INET, key + 12, text, (socklen_t)tn);
	} else if (ss.ss_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];
		memcpy(key, &s6->sin6_addr, 8);
		inet_ntop(AF_INET6, key, a, sizeof(a));
		snprintf(text, tn, "%s/64", a);
	} else {
		return -1;
	}
	return 0;
}

/* The bucket of key: SipHash under a per-process key, so that peers cannot aim at one. */
static struct rp_httpd_peer **peer_bucket(struct rp_httpd *h, const unsigned char key[16])
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(out, key, 16, h->peer_key);
	for (size_t i = 0; i < sizeof(v); i++)
		v = v << 8 | out[i];
	return &h->peers[v & (h->npeers - 1)];
}

/*
 * Counts c against its address's cap: 0, or -1 when that address has
 * per_addr connections open already (or the count cannot be allocated)
 * and c must be closed.
 */
static int peer_admit(struct conn *c, char *text, size_t tn)
{
	struct rp_httpd *h = c->h;
	unsigned char key[16];
	struct rp_httpd_peer **b, *p;

	if (peer_key(c->fd, key, text, tn) < 0)
		return 0; /* not IP (tests over a socketpair): nothing to count by */
	b = peer_bucket(h, key);
	for (p = *b; p && memcmp(p->key, key, 16) != 0; p = p->next)
		;
	if (p && p->n >= h->c.lim.per_addr)
		return -1;
	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return -1;
		memcpy(p->key, key, 16);
		p->next = *b;
		*b = p;
	}
	p->n++;
	c->peer = p;
	return 0;
}

static void peer_release(struct conn *c)
{
	struct rp_httpd_peer *p = c->peer, **b;

	if (!p)
		return;
	c->peer = NULL;
	if (--p->n > 0)
		return;
	for (b = peer_bucket(c->h, p->key); *b != p; b = &(*b)->next)
		;
	*b = p->next;
	free(p);
}

/* c has finished its first request, or is going: it leaves the new connections. */
static void fresh_end(struct conn *c)
{
	struct rp_httpd *h = c->h;

	if (!c->fresh)
		return;
	c->fresh = false;
	if (c->fresh_prev)
		c->fresh_prev->fresh_next = c->fresh_next;
	else
		h->fresh_head = c->fresh_next;
	if (c->fresh_next)
		c->fresh_next->fresh_prev = c->fresh_prev;
	else
		h->fresh_tail = c->fresh_prev;
	c->fresh_prev = c->fresh_next = NULL;
	h->nfresh--;
	if (c->first)
		evtimer_del(c->first);
}

static void fresh_begin(struct conn *c)
{
	struct rp_httpd *h = c->h;

	c->fresh = true;
	c->fresh_prev = h->fresh_tail;
	if (c->fresh_prev)
		c->fresh_prev->fresh_next = c;
	else
		h->fresh_head = c;
	h->fresh_tail = c;
	h->nfresh++;
}

/*
 * A cap closed a connection: one log line a minute at most, which says
 * how many it has closed since the line before.
 */
static void log_closed(struct rp_httpd *h, uint64_t *count, int64_t *logged, const char *what)
{
	int64_t now = rp_now();

	++*count;
	if (!h->c.log || now - *logged < 60)
		return;
	fprintf(h->c.log, "%s: closed %llu connection%s since the last such line: %s\n", h->c.name,
		(unsigned long long)*count, *count == 1 ? "" : "s", what);
	*logged = now;
	*count = 0;
}

static void accept_update(struct rp_httpd *h)
{
	struct evconnlistener *l = h->bound ? evhttp_bound_socket_get_listener(h->bound) : NULL;
	int64_t now = rp_now();

	if (!l)
		return;
	if (!h->paused && h->nconns >= h->c.lim.max_conns) {
		evconnlistener_disable(l);
		h->paused = true;
		if (h->c.log && now - h->paused_logged >= 60) { /* once a minute at most */
			h->paused_logged = now;
			fprintf(h->c.log,
				"%s: %zu connections open, the cap (--max-connections): "
				"new ones wait until one closes\n",
				h->c.name, h->nconns);
		}
	} else if (h->paused && h->nconns < h->c.lim.max_conns) {
		evconnlistener_enable(l);
		h->paused = false;
	}
}

/* Connections by descriptor, for rp_httpd_set_closecb. */
static int byfd_set(struct rp_httpd *h, int fd, struct conn *c)
{
	if (fd < 0)
		return RP_E_INVAL;
	if ((size_t)fd >= h->nbyfd) {
		size_t n = h->nbyfd ? h->nbyfd : 64;
		void **p;
		while (n <= (size_t)fd)
			n *= 2;
		if (!(p = realloc(h->byfd, n * sizeof(*p))))
			return RP_E_NOMEM;
		memset(p + h->nbyfd, 0, (n - h->nbyfd) * sizeof(*p));
		h->byfd = p;
		h->nbyfd = n;
	}
	h->byfd[fd] = c;
	return 0;
}

/* The connection is going: evhttp is freeing it, or never took it. */
static void conn_free(struct conn *c)
{
	struct rp_httpd *h = c->h;

	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	if (c->kick)
		event_free(c->kick);
	if (c->timer)
		event_free(c->timer);
	fresh_end(c);
	if (c->first)
		event_free(c->first);
	peer_release(c);
	if (c->fd >= 0 && (size_t)c->fd < h->nbyfd && h->byfd[c->fd] == c)
		h->byfd[c->fd] = NULL;
	free(c);
	h->nconns--;
	accept_update(h);
}

/* evhttp frees the connection (its close callback, the guard's). */
static void conn_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	if (c->closecb)
		c->closecb(evcon, c->closecb_arg);
	conn_free(c);
}

/*
 * Closes the connection now: evhttp sees a read error (not end of file,
 * which evhttp may take as the end of a body) and frees it, and c with it
 * (conn_on_close).
 */
static void conn_close(struct conn *c)
{
	if (!c->evcon) { /* evhttp has not set it up yet: conn_check closes it */
		if (c->mode != CONN_DEAD)
			c->mode = CONN_CLOSE;
		return;
	}
	bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR | BEV_EVENT_READING, 0);
}

static unsigned arm_seconds(const struct conn *c, enum conn_arm a)
{
	const struct rp_httpd_limits *l = &c->h->c.lim;

	switch (a) {
	case ARM_IDLE: return l->idle_s;
	case ARM_HEADERS: return l->headers_s;
	case ARM_BODY: return l->body_s;
	case ARM_LINGER: return RP_HTTP_LINGER_S;
	default: return 0;
	}
}

/*
 * Sets the deadline the connection's state asks for. A deadline already
 * running for the same phase is left alone: it is a total for the phase,
 * not a timeout that each byte renews.
 */
static void conn_rearm(struct conn *c)
{
	bool sent = evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
	enum conn_arm want = ARM_NONE;
	struct timeval tv = {0, 0};

	if (c->mode == CONN_REFUSED)
		want = sent ? ARM_LINGER : ARM_NONE; /* until then, the write timeout */
	else if (c->mode != CONN_OPEN)
		return;
	else if (c->f.phase == RP_FRAME_HEADERS)
		want = ARM_HEADERS;
	else if (c->f.phase == RP_FRAME_BODY)
		want = ARM_BODY;
	else if (c->pending == 0 && sent)
		want = ARM_IDLE; /* while an answer is owed or leaving, the client may wait */
	if (want == c->armed)
		return;
	c->armed = want;
	if (want == ARM_NONE) {
		evtimer_del(c->timer);
		return;
	}
	tv.tv_sec = arm_seconds(c, want);
	evtimer_add(c->timer, &tv);
}

/* Reads and drops what the client still sends, so that it reads the answer, not a reset. */
static void conn_discard(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * Refuses the request being read, which evhttp has not seen the end of
 * the headers of: its input is dropped and the guard's answer goes out
 * instead. evhttp's read and write callbacks are taken off meanwhile (its
 * write callback would take the answer for one of its own); its event
 * callback stays, to free the connection on an error, a timeout or the
 * guard's close. If evhttp still owes an earlier answer on this
 * connection, answering now would put the answers out of order: it is
 * closed instead.
 */
static void conn_refuse(struct conn *c, int status, const char *why)
{
	struct rp_httpd *h = c->h;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *method =
		c->f.target_len == 0 ? "?" : http_method_str((enum http_method)c->f.p.method);
	char path[RP_HTTP_TARGET_MAX + 1], peer[INET6_ADDRSTRLEN], msg[sizeof(c->f.why) + 64];
	struct rp_httpd_line l = {.method = method, .path = path, .t0 = c->t_req};
	const char *ctype = NULL, *reason;
	bufferevent_event_cb ecb = NULL;
	void *cbarg = NULL;
	struct rp_sb sb;

	if (c->mode != CONN_OPEN)
		return;
	c->mode = CONN_CLOSE;
	fresh_end(c); /* going: its write timeout and the linger bound it now */
	conn_discard(c);
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(c->f.target, "?#"), c->f.target);
	conn_peer(c, peer, sizeof(peer));
	switch (status) {
	case 408: reason = "Request Timeout"; break;
	case 413: reason = "Payload Too Large"; break;
	case 414: reason = "URI Too Long"; break;
	case 431: reason = "Request Header Fields Too Large"; break;
	default:
		reason = "Bad Request";
		status = 400;
		break;
	}
	if (c->pending > 0 || !c->evcon) {
		snprintf(msg, sizeof(msg), "%s (closed without an answer: an earlier one is owed)",
			 why);
		log_line(h, peer, status, &l, msg);
		event_active(c->kick, EV_TIMEOUT, 0);
		return;
	}
	log_line(h, peer, status, &l, why);
	rp_sb_init(&sb, 4096);
	h->c.error(status, why, &sb, &ctype);
	if (!sb.err &&
	    evbuffer_add_printf(out,
				"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				"Cache-Control: no-store\r\nConnection: close\r\n\r\n",
				status, reason, ctype, sb.len) >= 0 &&
	    evbuffer_add(out, sb.s ? sb.s : "", sb.len) >= 0) {
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, &cbarg);
		bufferevent_setcb(c->bev, NULL, NULL, ecb, cbarg);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		c->mode = CONN_REFUSED;
		conn_rearm(c);
	} else {
		event_active(c->kick, EV_TIMEOUT, 0);
	}
	rp_sb_release(&sb);
}

/* The daemon's cap for this request, by the path evhttp will route on. */
static size_t conn_cap(void *arg, const char *method, const char *target)
{
	struct conn *c = arg;
	struct rp_httpd *h = c->h;
	struct evhttp_uri *u = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	size_t cap = path && h->c.cap ? h->c.cap(h->c.arg, method, path) : 0;

	if (u)
		evhttp_uri_free(u);
	return cap;
}

/*
 * Bytes arrived: called as the daemon's bufferevent adds them to its
 * input, before evhttp's read callback sees them. They are framed here,
 * and a request refused at the end of its headers never reaches evhttp:
 * its bytes are dropped before evhttp reads the last of its headers.
 */
static void conn_on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	size_t len = evbuffer_get_length(in), from = len - info->n_added;
	uint64_t before = c->f.messages;
	enum rp_frame_phase phase = c->f.phase;
	struct evbuffer_ptr pos;
	int r = 0;

	if (info->n_added == 0 || c->in_cb_busy)
		return; /* evhttp read, or the guard dropped, bytes already framed */
	if (c->mode != CONN_OPEN) {
		c->in_cb_busy = true;
		conn_discard(c);
		c->in_cb_busy = false;
		return;
	}
	c->in_cb_busy = true;
	if (phase == RP_FRAME_IDLE)
		c->t_req = rp_httpd_now_ms();
	while (from < len && r == 0) {
		struct evbuffer_iovec v[8];
		int n;

		if (evbuffer_ptr_set(in, &pos, from, EVBUFFER_PTR_SET) < 0)
			break;
		n = evbuffer_peek(in, (ev_ssize_t)(len - from), &pos, v, 8);
		if (n <= 0)
			break;
		for (int i = 0; i < n && i < 8 && r == 0; i++) {
			size_t k = v[i].iov_len < len - from ? v[i].iov_len : len - from;
			uint64_t m = c->f.messages;
			r = rp_frame_feed(&c->f, v[i].iov_base, k);
			if (c->f.messages != m && c->f.phase == RP_FRAME_HEADERS)
				c->t_req = rp_httpd_now_ms(); /* a pipelined request began */
			from += k;
		}
	}
	c->pending += (unsigned)(c->f.messages - before);
	if (c->f.messages > 0)
		fresh_end(c); /* a first complete request: established */
	if (r < 0)
		conn_refuse(c, c->f.status, c->f.why);
	c->in_cb_busy = false;
	if (c->mode != CONN_OPEN)
		return;
	if (c->f.messages != before) { /* a new request: its deadlines start now */
		evtimer_del(c->timer);
		c->armed = ARM_NONE;
	}
	if (c->f.phase != phase || c->f.messages != before)
		conn_rearm(c);
}

/*
 * evhttp queued an answer, or the bufferevent sent what it had. evhttp
 * queues an answer only once the one before has left (its write callback
 * runs when this buffer is empty), so each time the buffer empties after
 * an answer was queued, one answer is out.
 */
static void conn_on_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_added > 0 && c->pending > 0 && c->mode == CONN_OPEN)
		c->answering = true;
	if (info->n_deleted > 0 && evbuffer_get_length(b) == 0) {
		if (c->answering) {
			c->answering = false;
			c->pending--;
		}
		event_active(c->kick, EV_TIMEOUT, 0); /* idle now, or done lingering */
	}
}

/*
 * The connection was just accepted, and nothing has been read from it or
 * written to it yet: over its address's cap it is closed now; within it,
 * it is counted, and if new connections are past their budget the oldest
 * of them is closed.
 */
static void conn_admit(struct conn *c)
{
	struct rp_httpd *h = c->h;
	char peer[INET6_ADDRSTRLEN + 8], what[160];
	struct conn *old;

	if (peer_admit(c, peer, sizeof(peer)) < 0) {
		snprintf(what, sizeof(what),
			 "the last from %s, which had %u open (--max-connections-per-address)",
			 peer, h->c.lim.per_addr);
		log_closed(h, &h->addr_closed, &h->addr_logged, what);
		fresh_end(c);
		c->mode = CONN_CLOSE;
		return;
	}
	while (h->nfresh > h->fresh_max && (old = h->fresh_head) && old != c) {
		conn_peer(old, peer, sizeof(peer));
		snprintf(what, sizeof(what),
			 "the oldest of %zu new connections (a quarter of --max-connections), "
			 "the last from %s",
			 h->nfresh, peer);
		log_closed(h, &h->fresh_closed, &h->fresh_logged, what);
		fresh_end(old);
		conn_close(old);
	}
}

/* The first request's deadline, from accepting the connection. */
static void conn_first_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char why[96];

	(void)fd;
	(void)what;
	fresh_end(c);
	if (c->mode == CONN_OPEN && c->f.phase != RP_FRAME_IDLE) {
		snprintf(why, sizeof(why), "first request not complete within %u s of connecting",
			 c->h->c.lim.first_s);
		conn_refuse(c, 408, why);
	} else if (c->mode == CONN_OPEN) {
		conn_close(c); /* TLS not done, or not a byte of a request: nothing to answer */
	}
}

/*
 * Runs on a fresh stack: after the connection was made (evhttp has set it
 * up by now), after an answer left, or to close.
 */
static void conn_check(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval wt = {(time_t)c->h->c.lim.write_s, 0};
	bufferevent_event_cb ecb = NULL;
	void *cbarg = NULL;

	(void)fd;
	(void)what;
	if (!c->evcon) {
		/* evhttp's callbacks on the bufferevent carry its connection. */
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, &cbarg);
		if (!ecb || !cbarg) {
			/*
			 * evhttp freed it already, or never took it (out of
			 * memory; then bev is lost, as it would be without a
			 * guard).
			 */
			conn_free(c);
			return;
		}
		c->evcon = cbarg;
		c->fd = bufferevent_getfd(c->bev);
		/*
		 * An answer goes out as it is written: without this, Nagle holds
		 * its last segment until the client's delayed ACK (40 ms and more
		 * per request on a kept-alive connection). Not TCP: nothing to do.
		 */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		if (byfd_set(c->h, c->fd, c) < 0)
			c->mode = CONN_CLOSE;
		evhttp_connection_set_closecb(c->evcon, conn_on_close, c);
		if (c->mode == CONN_OPEN)
			conn_admit(c);
		/*
		 * No read timeout: the phase deadlines are the guard's. The
		 * write timeout cuts an answer the client stops reading.
		 */
		bufferevent_set_timeouts(c->bev, NULL, &wt);
	}
	if (c->mode == CONN_CLOSE || c->mode == CONN_DEAD) {
		conn_close(c);
		return;
	}
	conn_rearm(c);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	enum conn_arm a = c->armed;
	char why[96];

	(void)fd;
	(void)what;
	c->armed = ARM_NONE;
	switch (a) {
	case ARM_HEADERS:
	case ARM_BODY:
		snprintf(why, sizeof(why), "request %s not complete within %u s",
			 a == ARM_HEADERS ? "headers" : "body", arm_seconds(c, a));
		conn_refuse(c, 408, why);
		break;
	case ARM_IDLE:
	case ARM_LINGER:
	default: conn_close(c); break;
	}
}

/* A guard on bev (a dead one, on a new TCP bufferevent, when bev is NULL). NULL on failure. */
static struct bufferevent *conn_new(struct rp_httpd *h, struct event_base *base,
				    struct bufferevent *bev)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		goto fail;
	c->h = h;
	c->fd = -1;
	c->mode = bev ? CONN_OPEN : CONN_DEAD;
	rp_frame_init(&c->f, conn_cap, c);
	if (!bev && !(bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)))
		goto fail;
	c->bev = bev;
	if (!(c->kick = event_new(base, -1, 0, conn_check, c)) ||
	    !(c->timer = evtimer_new(base, conn_deadline, c)) ||
	    !(c->first = evtimer_new(base, conn_first_deadline, c)) ||
	    !(c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), conn_on_input, c)) ||
	    !(c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), conn_on_output, c)))
		goto fail;
	h->nconns++;
	/* Runs before any I/O on the connection: evhttp sets it up first, in this callback. */
	event_active(c->kick, EV_TIMEOUT, 0);
	if (c->mode == CONN_OPEN) {
		struct timeval tv = {(time_t)h->c.lim.first_s, 0};
		fresh_begin(c);
		evtimer_add(c->first, &tv);
		conn_rearm(c); /* idle until the first request begins */
	}
	accept_update(h);
	return bev;
fail:
	if (c && c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
	if (bev)
		bufferevent_free(bev);
	if (c && c->kick)
		event_free(c->kick);
	if (c && c->timer)
		event_free(c->timer);
	if (c && c->first)
		event_free(c->first);
	free(c);
	return NULL;
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
	struct rp_httpd *h = arg;
	struct bufferevent *bev = h->c.bev
					  ? h->c.bev(h->c.arg, base)
					  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct bufferevent *guarded = conn_new(h, base, bev);

	if (!guarded) /* conn_new freed bev, or there was none: a guard that passes nothing */
		guarded = conn_new(h, base, NULL);
	if (!guarded) {
		/* NULL would make evhttp serve this connection unguarded, and in the clear. */
		if (h->c.log)
			fprintf(h->c.log,
				"%s: out of memory for a new connection's guard; "
				"aborting rather than serve it in the clear\n",
				h->c.name);
		abort();
	}
	return guarded;
}

/* ---- setup ---- */

void rp_httpd_limits_init(struct rp_httpd_limits *l, unsigned max_conns)
{
	l->headers_s = RP_HTTP_HEADERS_TIMEOUT_S;
	l->body_s = RP_HTTP_BODY_TIMEOUT_S;
	l->idle_s = RP_HTTP_IDLE_TIMEOUT_S;
	l->write_s = RP_HTTP_WRITE_TIMEOUT_S;
	l->first_s = RP_HTTP_FIRST_TIMEOUT_S;
	l->max_conns = max_conns;
	l->per_addr = 0; /* max_conns / 8 once max_conns is known (rp_httpd_init) */
}

int rp_httpd_limit_set(struct rp_httpd_limits *l, enum rp_httpd_limit which, const char *text,
		       struct rp_diag *d)
{
	uint64_t max = which == RP_HTTPD_MAX_CONNS || which == RP_HTTPD_PER_ADDR
			       ? RP_HTTP_CONNS_MAX
			       : RP_HTTP_TIMEOUT_MAX_S,
		 v;
	char q[40];

	if (rp_parse_u64(text, strlen(text), max, &v) != 0 || v == 0) {
		rp_quote(q, sizeof(q), text, strlen(text));
		rp_diagf(d, "`%s' is not a whole number from 1 to %llu", q,
			 (unsigned long long)max);
		return RP_E_INVAL;
	}
	switch (which) {
	case RP_HTTPD_MAX_CONNS: l->max_conns = (unsigned)v; break;
	case RP_HTTPD_HEADERS_S: l->headers_s = (unsigned)v; break;
	case RP_HTTPD_BODY_S: l->body_s = (unsigned)v; break;
	case RP_HTTPD_IDLE_S: l->idle_s = (unsigned)v; break;
	case RP_HTTPD_WRITE_S: l->write_s = (unsigned)v; break;
	case RP_HTTPD_FIRST_S: l->first_s = (unsigned)v; break;
	case RP_HTTPD_PER_ADDR: l->per_addr = (unsigned)v; break;
	}
	return 0;
}

int rp_httpd_fit_descriptors(struct rp_httpd_limits *l, struct rp_diag *d)
{
	const rlim_t reserve = 64; /* database, witnesses, logs, listener */
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || (rlim_t)l->max_conns + reserve <= rl.rlim_cur)
		return 0;
	rp_diagf(d,
		 "%u connections do not fit in the %llu file descriptors this process may "
		 "open: at most %llu",
		 l->max_conns, (unsigned long long)rl.rlim_cur,
		 rl.rlim_cur > 2 * reserve ? (unsigned long long)(rl.rlim_cur - reserve) : 1ULL);
	l->max_conns = rl.rlim_cur > 2 * reserve ? (unsigned)(rl.rlim_cur - reserve) : 1;
	return 1;
}

int rp_httpd_init(struct rp_httpd *h, struct event_base *base, const struct rp_httpd_config *c)
{
	size_t buckets = 64;

	memset(h, 0, sizeof(*h));
	h->c = *c;
	h->base = base;
	if (h->c.lim.max_conns == 0)
		h->c.lim.max_conns = 1;
	if (h->c.lim.per_addr == 0)
		h->c.lim.per_addr = h->c.lim.max_conns / 8 > 0 ? h->c.lim.max_conns / 8 : 1;
	h->fresh_max = h->c.lim.max_conns / 4 > 0 ? h->c.lim.max_conns / 4 : 1;
	while (buckets < h->c.lim.max_conns && buckets < 65536)
		buckets *= 2;
	if (sodium_init() < 0 || !(h->peers = calloc(buckets, sizeof(*h->peers))))
		return RP_E_NOMEM;
	h->npeers = buckets;
	randombytes_buf(h->peer_key, sizeof(h->peer_key));
	if (!(h->http = evhttp_new(base)))
		return RP_E_NOMEM;
	evhttp_set_bevcb(h->http, make_bev, h);
	evhttp_set_gencb(h->http, c->handle, c->arg);
	/* Every method reaches the daemon, which answers 405 or 404 itself. */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	/* The guard refuses first; these only back it up. */
	evhttp_set_max_body_size(h->http, (ev_ssize_t)c->body_max);
	evhttp_set_max_headers_size(h->http, RP_HTTP_HEADERS_MAX);
	/* No evhttp_set_timeout: the guard sets each connection's timeouts (conn_check). */
	return 0;
}

int rp_httpd_parse_listen(const char *s, char *host, size_t hn, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	uint64_t p;

	if (!colon || (size_t)(colon - s) >= hn || colon == s ||
	    rp_parse_u64(colon + 1, strlen(colon + 1), 65535, &p) != 0 || p == 0)
		return RP_E_INVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '[') { /* [::1]:8443 */
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']')
			return RP_E_INVAL;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	*port = (uint16_t)p;
	return 0;
}

int rp_httpd_listen(struct rp_httpd *h, const char *addr, struct rp_diag *d)
{
	char host[256], q[80];
	uint16_t port;

	rp_quote(q, sizeof(q), addr, strlen(addr));
	if (rp_httpd_parse_listen(addr, host, sizeof(host), &port) < 0) {
		rp_diagf(d, "`%s' is not ADDR:PORT", q);
		return RP_E_INVAL;
	}
	if (!(h->bound = evhttp_bind_socket_with_handle(h->http, host, port))) {
		rp_diagf(d, "cannot listen on %s: %s", q, strerror(errno));
		return RP_E_IO;
	}
	accept_update(h);
	return 0;
}

void rp_httpd_stop_accepting(struct rp_httpd *h)
{
	h->stopping = true;
	if (h->bound)
		evhttp_del_accept_socket(h->http, h->bound);
	h->bound = NULL;
}

void rp_httpd_release(struct rp_httpd *h)
{
	if (h->http)
		evhttp_free(h->http);
	h->http = NULL;
	h->bound = NULL;
	free(h->byfd);
	h->byfd = NULL;
	h->nbyfd = 0;
	for (size_t i = 0; i < h->npeers; i++) { /* empty once every connection is freed */
		for (struct rp_httpd_peer *p = h->peers[i], *next; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(h->peers);
	h->peers = NULL;
	h->npeers = 0;
}

int rp_httpd_set_closecb(struct rp_httpd *h, struct evhttp_connection *evcon,
			 void (*cb)(struct evhttp_connection *, void *), void *arg)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct conn *c = fd >= 0 && (size_t)fd < h->nbyfd ? h->byfd[fd] : NULL;

	if (!c || c->evcon != evcon)
		return RP_E_NOTFOUND;
	c->closecb = cb;
	c->closecb_arg = arg;
	return 0;
}
