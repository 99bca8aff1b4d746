/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A small HTTPS/1.1 client for the agent and the CLI: wolfSSL for TLS 1.3,
 * http-parser for responses. Trust is a pin of the server's public key
 * (SHA-256 of its DER SubjectPublicKeyInfo), never a CA. A request either
 * uses a connection of its own ("Connection: close") or a kept connection
 * (struct rp_https_conn) that the agent reuses from one poll to the next,
 * so a delivery costs one TLS handshake, not three.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

struct rp_url {
	char host[256]; /* name or IPv4/IPv6 literal, without brackets */
	char port[8];
	char base[512]; /* "https://host:port", no trailing slash */
};

/* Accepts only https://host[:port][/] (port defaults to 443). */
int rp_url_parse(const char *text, struct rp_url *ret, struct rp_diag *d);

struct rp_https_client {
	struct rp_url url;
	uint8_t pin[32];
	/* When npins > 0, the server keys accepted instead of pin (a root
	 * policy's server-pin lines: how agents follow a TLS key rotation). */
	size_t npins;
	uint8_t pins[RP_POLICY_PINS_MAX][32];
	/* Accept any server key: only for what is verified end to end whoever
	 * sends it (the agent reading the log after a key rotation it missed). */
	bool any_key;
	/*
	 * The deadline of one whole request, measured on the monotonic clock
	 * from its start: resolving, connecting, the TLS handshake, sending,
	 * the headers and the body, a reconnect included. Not a per-read
	 * timeout, so a server that trickles bytes cannot stretch it. 0 means
	 * 30 s; e.g. the hold asked for plus some slack for a long poll.
	 */
	long timeout_ms;
	/* Response body cap; 0 means RP_HTTP_RESPONSE_MAX. A Content-Length
	 * over it is refused at the headers, a chunked body as it arrives. */
	size_t max_body;
	/* When set and non-zero (a signal handler's flag), a request waiting
	 * for the network gives up at the next signal: RP_E_NET, "cancelled". */
	const volatile sig_atomic_t *cancel;
};

struct rp_http_header {
	const char *name;
	const char *value;
};

/*
 * rp_https_do refuses (RP_E_INVAL) a method or header name that is not an
 * HTTP token, a path that does not start with '/' or holds a space or a
 * control, a header value or content type with CR, LF or another control,
 * and extra headers the client writes itself (Host, Content-Length,
 * Transfer-Encoding, Connection, Content-Type).
 */
struct rp_http_req {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* "/v1/agent/poll?wait=30" */
	const struct rp_http_header *headers;
	size_t nheaders;
	const void *body; /* may be NULL */
	size_t body_len;
	const char *content_type; /* NULL: application/json when body is set */
};

struct rp_http_resp {
	int status;
	char *body; /* NUL-terminated, malloc'd (empty string when none) */
	size_t body_len;
	char content_type[128];
};

/*
 * Connects, completes a TLS 1.3 handshake, checks the pin (RP_E_PIN on
 * mismatch, before any request byte is sent), sends the request, reads
 * and parses the whole response, all within timeout_ms. Errors: RP_E_NET
 * (resolve/connect, the deadline, a cancel), RP_E_TLS, RP_E_PIN, RP_E_HTTP
 * (malformed response), RP_E_TOOBIG (body over max_body, or announced
 * over it). d says what went wrong.
 */
int rp_https_do(const struct rp_https_client *c, const struct rp_http_req *req,
		struct rp_http_resp *ret, struct rp_diag *d);
void rp_http_resp_release(struct rp_http_resp *r);

/* A kept-alive connection; zero-initialise, close with rp_https_conn_close. */
struct rp_https_conn {
	int fd;
	void *ctx; /* WOLFSSL_CTX */
	void *ssl; /* WOLFSSL */
	/* The request in progress (the client's own): its deadline
	 * (CLOCK_MONOTONIC ms), whether it passed, the cancel flag. */
	int64_t deadline_ms;
	bool expired;
	const volatile sig_atomic_t *cancel;
	/* SHA-256 of the key the server presented on the last connection opened
	 * (one the pins accepted); kept when it is closed. All zero before. */
	uint8_t key[32];
};

/*
 * As rp_https_do, over conn: opened (and pinned) when it is not, kept open
 * when the server allows, reopened once when the server had closed it
 * before answering. Requests sent this way must be safe to repeat.
 */
int rp_https_do_conn(const struct rp_https_client *c, struct rp_https_conn *conn,
		     const struct rp_http_req *req, struct rp_http_resp *ret, struct rp_diag *d);
void rp_https_conn_close(struct rp_https_conn *conn);

/*
 * Parses one whole response held in memory through the client's own parser
 * (for its fuzz target): RP_E_HTTP when it is malformed, incomplete or
 * followed by more bytes, RP_E_TOOBIG over max_body (0: RP_HTTP_RESPONSE_MAX)
 * or RP_HTTP_HEADERS_MAX. Interim 1xx responses are skipped.
 */
int rp_http_parse_response(const char *buf, size_t len, size_t max_body, struct rp_http_resp *ret,
			   struct rp_diag *d);

/* Fetches the server's public key pin without trusting it (for `rampart
 * pin`-style bootstrap tools and tests). */
int rp_https_fetch_pin(const struct rp_url *url, long timeout_ms, uint8_t ret[32],
		       struct rp_diag *d);
