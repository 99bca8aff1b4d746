/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /metrics on a listener of its own (metrics.h): the part rampartd and
 * rampart-witness share. Each daemon writes its own figures.
 */
#include "httpd/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

static const double LATENCY_LE[RP_METRICS_BUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05,
						      0.1,   0.25,  0.5,  1,     5};

static size_t metrics_cap(void *arg, const char *method, const char *path)
{
	(void)arg;
	(void)method;
	(void)path;
	return 0; /* GET only: no body */
}

static void metrics_dispatch(struct evhttp_request *r, void *arg)
{
	struct rp_metrics *m = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct rp_httpd_line l = {.method = rp_httpd_method(evhttp_request_get_command(r)),
				  .path = path,
				  .t0 = rp_httpd_now_ms()};
	struct rp_sb out;

	if (!path || strcmp(path, "/metrics") != 0 ||
	    evhttp_request_get_command(r) != EVHTTP_REQ_GET) {
		rp_httpd_reply_error(&m->httpd, r, 404, "GET /metrics only", &l);
		return;
	}
	rp_sb_init(&out, RP_METRICS_MAX);
	m->fill(m->arg, &out);
	if (out.err) {
		rp_httpd_reply_error(&m->httpd, r, 500, "the metrics text does not fit", &l);
	} else {
		rp_httpd_reply(&m->httpd, r, 200, "text/plain; version=0.0.4; charset=utf-8", out.s,
			       out.len, &l, NULL);
	}
	rp_sb_release(&out);
}

int rp_metrics_start(struct event_base *base, const char *name, const char *addr,
		     const struct rp_httpd_limits *lim, rp_metrics_fill_fn fill, void *arg,
		     struct rp_metrics **ret, struct rp_diag *d)
{
	struct rp_metrics *m = calloc(1, sizeof(*m));
	struct rp_httpd_config c = {
		.name = name,
		.log = NULL, /* no line per scrape */
		.lim = *lim,
		.cap = metrics_cap,
		.body_max = 0,
		.error = rp_httpd_error_text,
		.bev = NULL,
		.handle = metrics_dispatch,
		.arg = m,
	};
	int r;

	if (!m) {
		rp_diagf(d, "out of memory");
		return RP_E_NOMEM;
	}
	m->fill = fill;
	m->arg = arg;
	c.lim.max_conns = 16;
	c.lim.per_addr = 16;
	if (rp_httpd_init(&m->httpd, base, &c) < 0) {
		free(m);
		rp_diagf(d, "out of memory");
		return RP_E_NOMEM;
	}
	if ((r = rp_httpd_listen(&m->httpd, addr, d)) < 0) {
		rp_metrics_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void rp_metrics_stop_accepting(struct rp_metrics *m)
{
	if (m)
		rp_httpd_stop_accepting(&m->httpd);
}

void rp_metrics_free(struct rp_metrics *m)
{
	if (!m)
		return;
	rp_httpd_release(&m->httpd);
	free(m);
}

void rp_metrics_process(struct rp_sb *out, const char *prefix, const char *version, int64_t started)
{
	rp_sb_printf(out,
		     "# HELP %s_build_info The running version.\n"
		     "# TYPE %s_build_info gauge\n%s_build_info{version=\"",
		     prefix, prefix, prefix);
	rp_prom_label(out, version);
	rp_sb_printf(out,
		     "\"} 1\n"
		     "# HELP %s_start_time_seconds When this process started (Unix time).\n"
		     "# TYPE %s_start_time_seconds gauge\n%s_start_time_seconds %lld\n",
		     prefix, prefix, prefix, (long long)started);
}

void rp_metrics_hist_add(struct rp_metrics_hist *h, double seconds)
{
	size_t b = 0;

	if (seconds < 0)
		seconds = 0; /* a clock stepped back */
	while (b < RP_METRICS_BUCKETS && seconds > LATENCY_LE[b])
		b++;
	h->n[b]++;
	h->sum += seconds;
}

void rp_metrics_hist_write(struct rp_sb *out, const char *name, const char *labels,
			   const struct rp_metrics_hist *h)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;

	for (size_t b = 0; b <= RP_METRICS_BUCKETS; b++) {
		cum += h->n[b];
		if (b < RP_METRICS_BUCKETS)
			rp_sb_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
				     LATENCY_LE[b], (unsigned long long)cum);
		else
			rp_sb_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
				     (unsigned long long)cum);
	}
	rp_sb_printf(out, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels,
		     *labels ? "}" : "", h->sum);
	rp_sb_printf(out, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
		     *labels ? "}" : "", (unsigned long long)cum);
}
