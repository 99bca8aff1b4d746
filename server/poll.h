/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Agents' long polls, held until work arrives or the hold ends. */

#include <event2/http.h>
#include <stdint.h>

#include "server.h"

/*
 * Holds r for up to seconds; on failure the caller still owns r. have: the
 * checkpoint size the agent holds (for its consistency proof).
 */
int poll_hold(struct server *s, struct evhttp_request *r, const char *device, int64_t log,
	      uint64_t have, unsigned seconds, double t0);
/* Answers every held poll that now has a delivery (a checkpoint was witnessed). */
void poll_wake_all(struct server *s);
/* Answers every held poll with 204 (shutdown). */
void poll_release_all(struct server *s);
