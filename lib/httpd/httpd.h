/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The HTTP plumbing rampartd and rampart-witness share: listener setup,
 * the connection guard, replies and the request log line.
 *
 * evhttp (libevent 2.1) reads a whole request body before the daemon sees
 * the request, checks a body cap only against one global size, and times
 * out reads one at a time, so a client trickling a byte every few seconds
 * keeps a connection for ever. Every connection therefore gets a guard on
 * the daemon's own bufferevent (TLS for rampartd, plain TCP for the
 * witness): a callback on its input buffer sees each byte as it is read,
 * before evhttp's read callback does, and frames requests with frame.h.
 * The guard
 *   - asks the daemon's route table for the body cap of each request
 *     (method and path) once its headers are in, and refuses a larger
 *     Content-Length, or a chunked body growing past the cap, before
 *     evhttp reads the end of the headers: the request's bytes are
 *     dropped, the answer (413, in the daemon's error format) goes out at
 *     once, and what the client still sends is read and dropped, never
 *     buffered, until the connection is closed;
 *   - gives each phase a deadline of its own, a total for the phase: the
 *     request line and headers (headers_s, from the first byte), the body
 *     (body_s, from the end of the headers) and keep-alive idleness
 *     (idle_s, from accepting or from the moment the previous answer has
 *     left the process). While evhttp holds a complete request (a long
 *     poll) no deadline runs: the server, not the client, is silent. An
 *     answer the client does not read is cut after write_s without
 *     progress;
 *   - counts connections: at max_conns the listener stops accepting (new
 *     connections wait in the kernel's backlog) until one closes, and the
 *     connections already open are served as before;
 *   - counts them by peer address (an IPv4 address, IPv4-mapped ones
 *     included, or an IPv6 /64): one over per_addr from the same address
 *     is closed as soon as it is accepted, before a byte is read, so that
 *     one client cannot hold the pool that agents, administrators and
 *     rampartd's witness calls share;
 *   - gives new connections, those that have not yet finished TLS and
 *     sent a first complete request, a budget of their own, a quarter of
 *     max_conns, and a deadline from accepting (first_s): past the budget
 *     the oldest new connection is closed, so new connections never hold
 *     more than a quarter of the pool and never crowd out established
 *     ones (held polls). The oldest, not the newest, goes: closing the
 *     newest would let whoever fills the budget refuse every client that
 *     comes after, while the oldest has had the longest to finish.
 * (A bufferevent filter between evhttp and the daemon's bufferevent would
 * also see every byte first, but evhttp takes an answer as sent once the
 * filter has passed it on, and on Connection: close then shuts the socket
 * down before TLS has written it.)
 *
 * The guard never gives evhttp a NULL bufferevent: evhttp would then make
 * a plain socket one, which on rampartd's port means HTTP without TLS. If
 * the daemon's bufferevent cannot be made, the connection gets a plain one
 * whose guard drops every byte and closes it at once; if not even that can
 * be allocated, the process aborts rather than serve in the clear.
 *
 * Requests are answered in order: a refusal that would overtake an answer
 * evhttp still owes on the same connection (HTTP pipelining) closes the
 * connection instead. The guard keeps evhttp's close callback for itself
 * (rp_httpd_set_closecb chains one) and counts an answer as sent when the
 * bufferevent's output empties after evhttp queued it, so answers must be
 * whole (evhttp_send_reply, never the chunked reply API).
 *
 * This module writes one kind of line only, the request log line, to the
 * stream its daemon gives it; every other error is returned.
 */

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "httpd/frame.h"
#include "util.h"

struct bufferevent;
struct rp_httpd_peer;

struct rp_httpd_limits {
	unsigned headers_s, body_s, idle_s, write_s; /* phase deadlines, seconds */
	unsigned first_s;   /* from accepting to the end of the first request */
	unsigned max_conns; /* open connections */
	unsigned per_addr;  /* open connections from one peer address; 0: max_conns / 8 */
};

/* The limits the daemons' `serve' options set (--max-connections, --header-timeout, ...). */
enum rp_httpd_limit {
	RP_HTTPD_MAX_CONNS,
	RP_HTTPD_HEADERS_S,
	RP_HTTPD_BODY_S,
	RP_HTTPD_IDLE_S,
	RP_HTTPD_WRITE_S,
	RP_HTTPD_FIRST_S,
	RP_HTTPD_PER_ADDR,
};
/* The defaults of rp_limits.h, with max_conns connections. */
void rp_httpd_limits_init(struct rp_httpd_limits *l, unsigned max_conns);
/* One limit from an option's text: a whole number from 1 to its maximum. RP_E_INVAL otherwise. */
int rp_httpd_limit_set(struct rp_httpd_limits *l, enum rp_httpd_limit which, const char *text,
		       struct rp_diag *d);
/* The options' lines for a daemon's --help; conns: its default --max-connections. */
#define RP_HTTPD_STR_(x) #x
#define RP_HTTPD_STR(x)  RP_HTTPD_STR_(x)
/* One help line per source line: */
/* clang-format off */
#define RP_HTTPD_USAGE(conns)                                                                   \
	"  --max-connections N  open connections at most (default " RP_HTTPD_STR(conns) "); more\n" \
	"                       wait to be accepted until one closes\n"                           \
	"  --max-connections-per-address N\n"                                                     \
	"                       open connections from one address or IPv6 /64 (default\n"        \
	"                       an eighth of --max-connections); more are closed at once.\n"     \
	"                       Clients behind one NAT or proxy share its address\n"             \
	"  --first-request-timeout S\n"                                                           \
	"                       a new connection's TLS handshake and first request, from\n"      \
	"                       accepting it (default " RP_HTTPD_STR(RP_HTTP_FIRST_TIMEOUT_S) " s). New connections have a\n"   \
	"                       quarter of --max-connections; past it the oldest is closed\n"    \
	"  --header-timeout S   a request's line and headers, from its first byte (default\n"     \
	"                       " RP_HTTPD_STR(RP_HTTP_HEADERS_TIMEOUT_S) " s)\n"                  \
	"  --body-timeout S     a request's body, from the end of its headers (default\n"         \
	"                       " RP_HTTPD_STR(RP_HTTP_BODY_TIMEOUT_S) " s)\n"                     \
	"  --idle-timeout S     a keep-alive connection between requests (default\n"              \
	"                       " RP_HTTPD_STR(RP_HTTP_IDLE_TIMEOUT_S) " s)\n"                     \
	"  --write-timeout S    an answer the client stops reading (default\n"                    \
	"                       " RP_HTTPD_STR(RP_HTTP_WRITE_TIMEOUT_S) " s)\n"                    \
	"Each deadline is a total for its phase, not renewed by each byte. A body over its\n"     \
	"endpoint's cap is refused (413) from its headers, before it is read.\n"
/* clang-format on */
/*
 * Raises the soft descriptor limit to the hard one and fits max_conns
 * under it (a few descriptors are kept for the database, witnesses and
 * logs): 1 with a diagnostic when max_conns was lowered, else 0.
 */
int rp_httpd_fit_descriptors(struct rp_httpd_limits *l, struct rp_diag *d);

/* The daemon's own bufferevent under a new connection; NULL on failure. */
typedef struct bufferevent *(*rp_httpd_bev_fn)(void *arg, struct event_base *base);
/* Writes the body of an error answer in the daemon's format; sets its type. */
typedef void (*rp_httpd_error_fn)(int status, const char *msg, struct rp_sb *out,
				  const char **ret_ctype);

struct rp_httpd_config {
	const char *name; /* the log line's prefix: "rampartd" */
	FILE *log;        /* where request log lines go */
	struct rp_httpd_limits lim;
	/*
	 * The route table's body cap for (method, path); the path is the
	 * request target's as evhttp parses it (evhttp_uri_get_path), so the
	 * guard and the handlers look at the same route.
	 */
	rp_frame_cap_fn cap;
	size_t body_max; /* the largest cap of any route: evhttp's own backstop */
	rp_httpd_error_fn error;
	rp_httpd_bev_fn bev; /* NULL: plain TCP */
	void (*handle)(struct evhttp_request *r, void *arg);
	void *arg; /* for cap, bev, handle and routine */
	/*
	 * A request too routine for a log line of its own (an agent's poll
	 * answered): true skips its line unless log_all (--log-level debug)
	 * or the answer has a reason (an event: "a newer poll took its place").
	 * NULL: every request is logged.
	 */
	bool (*routine)(void *arg, const char *method, const char *path, int status);
	bool log_all;
};

struct rp_httpd {
	struct rp_httpd_config c;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	size_t nconns;
	bool paused;   /* at max_conns: not accepting */
	bool stopping; /* answers say Connection: close */
	int64_t paused_logged;
	void **byfd; /* each connection's guard, by descriptor */
	size_t nbyfd;
	/* connections by peer address (--max-connections-per-address) */
	struct rp_httpd_peer **peers; /* a hash table of npeers buckets, a power of 2 */
	size_t npeers;
	unsigned char peer_key[16]; /* the table's SipHash key, random per process */
	/* new connections (no first request yet), oldest first */
	void *fresh_head, *fresh_tail;
	size_t nfresh, fresh_max;
	uint64_t addr_closed, fresh_closed; /* closed past a cap since the last log line */
	uint64_t replies[6];                /* answers sent, by status / 100 (/metrics) */
	int64_t addr_logged, fresh_logged;
};

/* Sets up evhttp with the guard on every connection. 0 or RP_E_NOMEM. */
int rp_httpd_init(struct rp_httpd *h, struct event_base *base, const struct rp_httpd_config *c);
/*
 * Listens on "ADDR:PORT" ("[::1]:8443" for IPv6). RP_E_INVAL for text that
 * is not ADDR:PORT, RP_E_IO when the address cannot be bound (errno kept),
 * each with a diagnostic.
 */
int rp_httpd_listen(struct rp_httpd *h, const char *addr, struct rp_diag *d);
/* Closes the listener (shutdown); requests in flight finish, without keep-alive. */
void rp_httpd_stop_accepting(struct rp_httpd *h);
void rp_httpd_release(struct rp_httpd *h);

/*
 * The guard keeps evhttp's close callback of each connection for itself;
 * this sets the one it calls when evhttp frees evcon (NULL: none).
 * RP_E_NOTFOUND for a connection that is not this server's.
 */
int rp_httpd_set_closecb(struct rp_httpd *h, struct evhttp_connection *evcon,
			 void (*cb)(struct evhttp_connection *, void *), void *arg);

/* "ADDR:PORT" into host (brackets of an IPv6 address removed) and port. */
int rp_httpd_parse_listen(const char *s, char *host, size_t hn, uint16_t *port);

/* What one request's log line says besides its status. */
struct rp_httpd_line {
	const char *method;
	const char *path;   /* as received; quoted when logged */
	const char *who;    /* "" or NULL when unknown: " by <who>" */
	const char *detail; /* NULL, or more context after the peer */
	double t0;          /* rp_httpd_now_ms() when the request arrived */
};

/*
 * Answers r with status and body (len bytes of type ctype; none when ctype
 * is NULL), Cache-Control: no-store unless the caller set a Cache-Control
 * header, and logs the line: why is the reason of a refusal, or NULL.
 */
void rp_httpd_reply(struct rp_httpd *h, struct evhttp_request *r, int status, const char *ctype,
		    const void *body, size_t len, const struct rp_httpd_line *l, const char *why);
/*
 * The same with len bytes at body handed over, not copied: done(body,
 * len, arg) runs once they are sent or the connection is gone (libevent's
 * evbuffer_add_reference), and also at once if this fails. For large
 * answers whose memory the caller accounts for until then.
 */
void rp_httpd_reply_owned(struct rp_httpd *h, struct evhttp_request *r, int status,
			  const char *ctype, void *body, size_t len,
			  void (*done)(const void *body, size_t len, void *arg), void *arg,
			  const struct rp_httpd_line *l);
/* The same with a JSON body j (a reference it takes; NULL for none). */
void rp_httpd_reply_json(struct rp_httpd *h, struct evhttp_request *r, int status, json_t *j,
			 const struct rp_httpd_line *l, const char *why);
/* An error answer in the daemon's format (its error function): msg is also the why. */
void rp_httpd_reply_error(struct rp_httpd *h, struct evhttp_request *r, int status, const char *msg,
			  const struct rp_httpd_line *l);

/* Error formats: docs/api.md's JSON error object, or one line of text. */
void rp_httpd_error_json(int status, const char *msg, struct rp_sb *out, const char **ret_ctype);
void rp_httpd_error_text(int status, const char *msg, struct rp_sb *out, const char **ret_ctype);
/* The JSON error object's code for a status ("too_large" for 413). */
const char *rp_httpd_error_code(int status);

/* Milliseconds of the wall clock, for request durations. */
double rp_httpd_now_ms(void);
const char *rp_httpd_method(enum evhttp_cmd_type t);
