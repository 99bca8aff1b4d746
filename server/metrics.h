/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * rampartd's /metrics (Prometheus text format) on a listener of its own,
 * --metrics-listen ADDR:PORT, plain HTTP, off unless set (docs/monitoring.md).
 */
#include "server.h"
#include "util.h"

/* Listens on addr; 0, or -1 with the reason printed. */
int metrics_start(struct server *s, const char *addr, const struct rp_httpd_limits *lim);
void metrics_release(struct server *s);
