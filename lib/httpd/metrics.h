/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The daemons' /metrics (Prometheus text format, version 0.0.4) on a
 * listener of their own, --metrics-listen ADDR:PORT, plain HTTP, off
 * unless set (docs/monitoring.md): rampartd and rampart-witness. GET
 * /metrics is answered with what the daemon's fill function writes;
 * anything else gets 404. No log line per scrape. A histogram of
 * latencies is kept and written the same way by both.
 *
 * Like the rest of lib/httpd it does not log: failures are returned with
 * a diagnostic.
 */

#include <stddef.h>
#include <stdint.h>

#include "httpd/httpd.h"
#include "util.h"

/* A scrape's text at most: 1,000 rows a gauge. */
#define RP_METRICS_MAX (4u << 20)

/* Appends the daemon's figures to out (rp_sb errors are checked once, after). */
typedef void (*rp_metrics_fill_fn)(void *arg, struct rp_sb *out);

struct rp_metrics {
	struct rp_httpd httpd; /* its own listener and connection guard */
	rp_metrics_fill_fn fill;
	void *arg;
};

/*
 * Listens on addr ("ADDR:PORT") for GET /metrics; name prefixes the
 * guard's own lines ("rampartd metrics"). The connection limits are lim's
 * deadlines with 16 connections at most: scrapers are few. On success
 * *ret is the new listener; RP_E_NOMEM, or rp_httpd_listen's errors, with
 * a diagnostic.
 */
int rp_metrics_start(struct event_base *base, const char *name, const char *addr,
		     const struct rp_httpd_limits *lim, rp_metrics_fill_fn fill, void *arg,
		     struct rp_metrics **ret, struct rp_diag *d);
/* Closes the listener (shutdown); scrapes in flight finish. NULL is fine. */
void rp_metrics_stop_accepting(struct rp_metrics *m);
/* Frees m (NULL is fine). */
void rp_metrics_free(struct rp_metrics *m);

/* The lines every daemon starts with: NAME_build_info{version} and NAME_start_time_seconds. */
void rp_metrics_process(struct rp_sb *out, const char *prefix, const char *version,
			int64_t started);

/*
 * A latency histogram, in seconds, with fixed upper bounds
 * (RP_METRICS_LATENCY_LE, then +Inf): 1 ms to 5 s.
 */
#define RP_METRICS_BUCKETS 10
struct rp_metrics_hist {
	uint64_t n[RP_METRICS_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
	double sum;
};
void rp_metrics_hist_add(struct rp_metrics_hist *h, double seconds);
/*
 * NAME_bucket{LABELS,le=".."} (cumulative), NAME_sum{LABELS} and
 * NAME_count{LABELS}; labels is "" or `k="v",...` already escaped
 * (rp_prom_label). The HELP and TYPE lines are the caller's, once per name.
 */
void rp_metrics_hist_write(struct rp_sb *out, const char *name, const char *labels,
			   const struct rp_metrics_hist *h);
