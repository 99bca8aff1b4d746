/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The state rampartd's parts share. Each part exports only its own header:
 * api.h (the HTTP API), poll.h (held long polls), log.h (the sequencer);
 * the HTTP plumbing is lib/httpd, the store db.h. The parts call each
 * other in one direction (api -> poll -> log); the sequencer reaches held
 * polls only through on_witnessed, which main.c sets.
 */

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>

#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "rp_err.h"

#include "db.h"

#define SERVER_DB   "rampart.db"
#define SERVER_KEY  "tls.key"
#define SERVER_CERT "tls.crt"

/* DIR/NAME into out: 0, or RP_E_TOOBIG when it does not fit. */
static inline int data_path(char *out, size_t n, const char *dir, const char *name)
{
	int k = snprintf(out, n, "%s/%s", dir, name);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : 0;
}

struct waiter;
struct wslot;
struct keywarn;

struct server {
	struct event_base *base;
	struct rp_httpd httpd; /* listener, connection guard, replies (lib/httpd) */
	SSL_CTX *ssl;
	struct db db;
	int poll_hold;          /* longest hold of a poll, seconds */
	struct waiter *waiters; /* held polls (poll.c) */
	size_t nwaiters;
	struct waiter **bydevice; /* the same, by device: a hash table of nbydevice buckets */
	size_t nbydevice;
	unsigned char waiter_key[16]; /* its SipHash key */
	struct event *tick;           /* the log sequencer (log.c): every second, */
	struct event *kick;           /* at once after an approval, */
	struct event *due;            /* and at the next scheduled statement's not-before */
	struct wslot *wslots;         /* witnesses and requests in flight (log.c) */
	SSL_CTX *wssl;                /* TLS client context for https:// witnesses */
	const char *data;             /* the data directory: the log keys' files (logkey.c) */
	struct keywarn *keywarns;     /* the last refusal said of each org's log key (log.c) */
	/* A checkpoint of log became the served one, covering [from, to) anew (poll_wake). */
	void (*on_witnessed)(struct server *s, int64_t log, uint64_t from, uint64_t to);
	uint64_t poll_lookups; /* held polls looked up because a checkpoint was served (/metrics) */
	int64_t policy_warned; /* when the root policies' expiry was last checked (log.c) */
	bool stopping;
	struct rp_metrics *metrics; /* --metrics-listen (metrics.c); NULL when off */
	int64_t started;            /* when serve started, for /metrics */
	bool log_debug;             /* --log-level debug: a line for every request */
	struct webhook *webhook;    /* --alert-webhook (webhook.c); NULL when off */
	size_t package_bytes;       /* package answers not yet sent (api.c): at most */
#define SERVER_PACKAGE_BYTES_MAX (128u << 20)
};
