/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * rampart-witness: cosigns a log's checkpoints (C2SP tlog-witness v1.0.0,
 * tlog-cosignature v1.0.1) only when they extend, append-only, the latest
 * checkpoint it cosigned for that log. See docs/witness.md.
 */

#include <event2/event.h>
#include <stdbool.h>

#include "db.h"
#include "httpd/httpd.h"
#include "httpd/metrics.h"
#include "note.h"

#define WITNESS_DB  "witness.db"
#define WITNESS_KEY "witness.key"

/* What became of an add-checkpoint request, for /metrics (a label each). */
enum wresult {
	W_COSIGNED,      /* 200 */
	W_MALFORMED,     /* 400, 413: the body does not parse, or old > size */
	W_BAD_SIGNATURE, /* 403: no signature by a trusted key verifies */
	W_UNKNOWN_LOG,   /* 404: the origin has no trusted key */
	W_STALE_SIZE,    /* 409 text/x.tlog.size: the client's old size is not ours */
	W_FORK,          /* 409: a second root for the cosigned size (evidence) */
	W_INCONSISTENT,  /* 422: the consistency proof does not verify */
	W_ERROR,         /* 500: the witness's own failure */
	W_NRESULTS
};

struct witness {
	struct event_base *base;
	struct rp_httpd httpd; /* listener, connection guard, replies (lib/httpd) */
	struct wdb db;
	struct rp_skey key; /* the cosignature key (type 0x04), wiped on exit */
	bool stopping;
	bool log_debug;             /* --log-level debug: a line for every request */
	struct rp_metrics *metrics; /* --metrics-listen; NULL when off */
	int64_t started;            /* when serve started, for /metrics */
	uint64_t m_results[W_NRESULTS];
	struct rp_metrics_hist m_latency; /* request to answer, of those cosigned */
};

/* serve.c: the HTTP side, POST /add-checkpoint, with the connection limits lim. */
int serve_init(struct witness *w, const struct rp_httpd_limits *lim);
/* serve.c: GET /metrics on addr (--metrics-listen); 0, or -1 with the reason printed. */
int serve_metrics_start(struct witness *w, const char *addr, const struct rp_httpd_limits *lim);
