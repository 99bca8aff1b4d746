/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Request framing for the connection guard (httpd.c): finds where each
 * request on a connection begins, where its headers end and where its body
 * ends, with http-parser, before evhttp reads a byte of it. It decides,
 * from the request line and the headers alone, whether the body may be
 * read at all: the route's cap (a callback) against Content-Length, and
 * against the decoded size of a chunked body as it arrives.
 *
 * The guard sees each byte before evhttp does and must frame requests
 * exactly as evhttp will. Where evhttp and http-parser read the same bytes
 * differently, the request is refused instead (400):
 *   - a body on a method evhttp reads no body for (anything but POST, PUT
 *     and PATCH);
 *   - Transfer-Encoding other than one header that is exactly `chunked'
 *     (evhttp compares the first such header with "chunked"; http-parser
 *     takes `gzip, chunked' as chunked);
 *   - obsolete line folding in the header block (evhttp joins a folded
 *     value with a space, so `Transfer-Encoding:' folded onto ` chunked'
 *     is chunked to http-parser and not to evhttp);
 *   - anything http-parser itself refuses (duplicate Content-Length, both
 *     Content-Length and chunked, malformed chunk sizes, ...).
 * That leaves no input on which the guard and evhttp disagree about where
 * a body ends, so a second request cannot hide inside what the guard took
 * for a body.
 *
 * Pure: no libevent, no allocation, so it is unit-tested and fuzzed alone.
 */

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"

/*
 * The largest body the request may carry, by method ("POST") and request
 * target (as sent: path and query, or an absolute URI). 0: no body.
 */
typedef size_t (*rp_frame_cap_fn)(void *arg, const char *method, const char *target);

enum rp_frame_phase {
	RP_FRAME_IDLE,    /* between requests: no byte of the next one yet */
	RP_FRAME_HEADERS, /* request line and headers */
	RP_FRAME_BODY,    /* headers accepted, body not complete */
};

struct rp_frame {
	http_parser p;
	rp_frame_cap_fn cap;
	void *arg;
	enum rp_frame_phase phase;
	uint64_t messages; /* requests complete so far */
	size_t head;       /* bytes of the current header block so far */
	uint64_t cap_now;  /* body cap of the request being read */
	uint64_t body;     /* decoded body bytes of it so far */
	char target[RP_HTTP_TARGET_MAX + 1];
	size_t target_len;
	char name[24]; /* the header name being read, lowercased, truncated */
	size_t name_len;
	int hdr;     /* which framing header that is (frame.c) */
	char te[16]; /* Transfer-Encoding's value, truncated */
	size_t te_len;
	unsigned n_te;
	bool last_lf; /* the previous header byte was a LF: for the fold check */
	bool paused_headers, paused_message;
	int status; /* the refusal: HTTP status, and why */
	char why[200];
};

void rp_frame_init(struct rp_frame *f, rp_frame_cap_fn cap, void *arg);

/*
 * Parses the next len bytes of the connection. 0, or a refusal: RP_E_TOOBIG
 * (f->status 413, 414 or 431) or RP_E_MALFORMED (400), with f->why saying
 * what was refused. A refused frame refuses everything after.
 */
int rp_frame_feed(struct rp_frame *f, const void *p, size_t len);
