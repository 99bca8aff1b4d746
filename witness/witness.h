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
#include "note.h"

#define WITNESS_DB  "witness.db"
#define WITNESS_KEY "witness.key"

struct witness {
	struct event_base *base;
	struct rp_httpd httpd; /* listener, connection guard, replies (lib/httpd) */
	struct wdb db;
	struct rp_skey key; /* the cosignature key (type 0x04), wiped on exit */
	bool stopping;
};

/* serve.c: the HTTP side, POST /add-checkpoint, with the connection limits lim. */
int serve_init(struct witness *w, const struct rp_httpd_limits *lim);
