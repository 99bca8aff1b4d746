/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: what an operator graphs and alarms on. Counters kept in
 * memory (answers by status class, the witnesses' answers and latency)
 * and gauges read from the store at each scrape (devices and who is
 * online, statements by state, deliveries by status, alerts by code, log
 * sizes). Its own plain-HTTP listener, off by default: the figures name
 * orgs and fleet sizes, which the API shows only to each org's own
 * administrators, so the listener belongs on loopback or a monitoring
 * network (docs/monitoring.md).
 */
#include "metrics.h"

#include "db.h"
#include "log.h"
#include "rp_err.h"
#include "webhook.h"

/* The figures, written at each scrape (the listener is lib/httpd/metrics.c). */
static void metrics_fill(void *arg, struct rp_sb *out)
{
	struct server *s = arg;
	static const char cls[6][4] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};

	rp_metrics_process(out, "rampartd", RP_VERSION, s->started);
	rp_sb_printf(
		out,
		"# HELP rampartd_connections Open API connections (agents and administrators).\n"
		"# TYPE rampartd_connections gauge\nrampartd_connections %zu\n"
		"# HELP rampartd_held_polls Agents' polls held open, waiting for work.\n"
		"# TYPE rampartd_held_polls gauge\nrampartd_held_polls %zu\n"
		"# HELP rampartd_poll_lookups_total Held polls looked up for a delivery because a\n"
		"# checkpoint was served: only the devices its new entries have work for.\n"
		"# TYPE rampartd_poll_lookups_total counter\nrampartd_poll_lookups_total %llu\n"
		"# HELP rampartd_http_responses_total API answers by status class.\n"
		"# TYPE rampartd_http_responses_total counter\n",
		s->httpd.nconns, s->nwaiters, (unsigned long long)s->poll_lookups);
	for (int c = 1; c < 6; c++)
		rp_sb_printf(out, "rampartd_http_responses_total{code=\"%s\"} %llu\n", cls[c],
			     (unsigned long long)s->httpd.replies[c]);
	log_metrics(s, out);
	webhook_metrics(s, out);
	if (db_metrics(&s->db, rp_now(), 90, out) < 0)
		rp_sb_puts(out, "# the store could not be read: gauges from it are missing\n");
}

int metrics_start(struct server *s, const char *addr, const struct rp_httpd_limits *lim)
{
	struct rp_diag d = {""};

	if (rp_metrics_start(s->base, "rampartd metrics", addr, lim, metrics_fill, s, &s->metrics,
			     &d) < 0) {
		fprintf(stderr, "rampartd: --metrics-listen: %s\n", d.msg);
		return -1;
	}
	fprintf(stderr, "rampartd: metrics on http://%s/metrics\n", addr);
	return 0;
}

void metrics_release(struct server *s)
{
	rp_metrics_free(s->metrics);
	s->metrics = NULL;
}
