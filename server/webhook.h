/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* server/webhook.c: agents' alerts POSTed to --alert-webhook (docs/monitoring.md). */

#include <stdbool.h>

#include "server.h"
#include "util.h"

/* Parses url, reads the secret (only rampartd reads it), sets s->webhook; -1 after saying why. */
int webhook_start(struct server *s, const char *url, const char *secret_file, const char *ca);
/* Queues one alert (nothing without a webhook). */
void webhook_alert(struct server *s, const char *org, const char *device, const char *command,
		   const char *code, const char *reason, bool security);
/* Its counters in Prometheus text (nothing without a webhook). */
void webhook_metrics(const struct server *s, struct rp_sb *out);
void webhook_release(struct server *s);
