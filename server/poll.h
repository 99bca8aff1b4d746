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
/*
 * A checkpoint of log was witnessed, covering entries [from, to) anew:
 * answers the held polls of that log's devices that those entries give a
 * delivery, and only those (their devices found through the store's
 * deliveries and the waiters' table by device). A row written behind the
 * server's back is delivered at the end of its device's hold.
 */
void poll_wake(struct server *s, int64_t log, uint64_t from, uint64_t to);
/* Answers every held poll with 204 (shutdown). */
void poll_release_all(struct server *s);
