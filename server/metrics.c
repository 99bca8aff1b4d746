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

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "rp_err.h"

#define METRICS_MAX (4u << 20) /* a scrape's text: 1,000 rows a gauge at most */

static size_t metrics_cap(void *arg, const char *method, const char *path)
{
	(void)arg;
	(void)method;
	(void)path;
	return 0; /* GET only: no body */
}

static void metrics_dispatch(struct evhttp_request *r, void *arg)
{
	struct server *s = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct rp_httpd_line l = {.method = rp_httpd_method(evhttp_request_get_command(r)),
				  .path = path,
				  .t0 = rp_httpd_now_ms()};
	static const char cls[6][4] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
	struct rp_sb out;

	if (!path || strcmp(path, "/metrics") != 0 ||
	    evhttp_request_get_command(r) != EVHTTP_REQ_GET) {
		rp_httpd_reply_error(s->metrics, r, 404, "GET /metrics only", &l);
		return;
	}
	rp_sb_init(&out, METRICS_MAX);
	rp_sb_printf(
		&out,
		"# HELP rampartd_build_info The running version.\n"
		"# TYPE rampartd_build_info gauge\nrampartd_build_info{version=\"%s\"} 1\n"
		"# HELP rampartd_start_time_seconds When this process started (Unix time).\n"
		"# TYPE rampartd_start_time_seconds gauge\nrampartd_start_time_seconds %lld\n"
		"# HELP rampartd_connections Open API connections (agents and administrators).\n"
		"# TYPE rampartd_connections gauge\nrampartd_connections %zu\n"
		"# HELP rampartd_held_polls Agents' polls held open, waiting for work.\n"
		"# TYPE rampartd_held_polls gauge\nrampartd_held_polls %zu\n"
		"# HELP rampartd_http_responses_total API answers by status class.\n"
		"# TYPE rampartd_http_responses_total counter\n",
		RP_VERSION, (long long)s->started, s->httpd.nconns, s->nwaiters);
	for (int c = 1; c < 6; c++)
		rp_sb_printf(&out, "rampartd_http_responses_total{code=\"%s\"} %llu\n", cls[c],
			     (unsigned long long)s->httpd.replies[c]);
	log_metrics(s, &out);
	if (db_metrics(&s->db, rp_now(), 90, &out) < 0)
		rp_sb_puts(&out, "# the store could not be read: gauges from it are missing\n");
	if (out.err) {
		rp_httpd_reply_error(s->metrics, r, 500, "the metrics text does not fit", &l);
	} else {
		rp_httpd_reply(s->metrics, r, 200, "text/plain; version=0.0.4; charset=utf-8",
			       out.s, out.len, &l, NULL);
	}
	rp_sb_release(&out);
}

int metrics_start(struct server *s, const char *addr, const struct rp_httpd_limits *lim)
{
	struct rp_diag d = {""};
	struct rp_httpd_config c = {
		.name = "rampartd metrics",
		.log = NULL, /* no line per scrape */
		.lim = *lim,
		.cap = metrics_cap,
		.body_max = 0,
		.error = rp_httpd_error_text,
		.bev = NULL,
		.handle = metrics_dispatch,
		.arg = s,
	};

	c.lim.max_conns = 16;
	c.lim.per_addr = 16;
	if (!(s->metrics = calloc(1, sizeof(*s->metrics))) ||
	    rp_httpd_init(s->metrics, s->base, &c) < 0) {
		fprintf(stderr, "rampartd: --metrics-listen: out of memory\n");
		return -1;
	}
	if (rp_httpd_listen(s->metrics, addr, &d) < 0) {
		fprintf(stderr, "rampartd: --metrics-listen: %s\n", d.msg);
		return -1;
	}
	fprintf(stderr, "rampartd: metrics on http://%s/metrics\n", addr);
	return 0;
}

void metrics_release(struct server *s)
{
	if (s->metrics) {
		rp_httpd_release(s->metrics);
		free(s->metrics);
		s->metrics = NULL;
	}
}
