/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "policy.h"

#include "db.h"

#define SERVER_DB "rampart.db"
#define SERVER_KEY "tls.key"
#define SERVER_CERT "tls.crt"

struct waiter;
struct wslot;

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *listener;
	SSL_CTX *ssl;
	struct db db;
	int poll_hold;           /* longest hold of a poll, seconds */
	struct waiter *waiters;  /* held polls (poll.c) */
	size_t nwaiters;
	struct event *tick;      /* the log sequencer (log.c): every second, */
	struct event *kick;      /* at once after an approval, */
	struct event *due;       /* and at the next scheduled statement's not-before */
	struct wslot *wslots;    /* witnesses and requests in flight (log.c) */
	SSL_CTX *wssl;           /* TLS client context for https:// witnesses */
	bool stopping;
};

/* api.c: the HTTP API of docs/api.md. */
int api_init(struct server *s);
/* The org's current root policy, or NULL (none, or it does not parse: logged). */
struct rp_policy *server_policy(struct server *s, const char *org);
/* Milliseconds of the wall clock, for request durations. */
double api_now_ms(void);
/*
 * Sends status with body j (a reference it takes; NULL for none) and logs
 * one line: method, path, status, duration since t0, peer, who and why
 * (the error message, or NULL).
 */
void api_send(struct evhttp_request *r, int status, json_t *j, const char *method,
	      const char *path, const char *who, double t0, const char *why);

/* poll.c: agents' long polls held until work arrives or the hold ends. */
/*
 * Holds r for up to seconds; on failure the caller still owns r. have: the
 * checkpoint size the agent holds (for its consistency proof).
 */
int poll_hold(struct server *s, struct evhttp_request *r, const char *device, uint64_t have,
	      unsigned seconds, double t0);
/* Answers every held poll that now has a delivery (a checkpoint was witnessed). */
void poll_wake_all(struct server *s);
/* Answers every held poll with 204 (shutdown). */
void poll_release_all(struct server *s);

/* log.c: the sequencer: checkpoints, witnesses, proofs for agents. */
int log_init(struct server *s, const char *witness_ca);
/* Runs the sequencer at once (an approval: logged, or scheduled); bursts coalesce. */
void log_kick(struct server *s);
void log_release(struct server *s);
/*
 * The device's next delivery with its inclusion proof, the served
 * checkpoint and a consistency proof from size have; RP_E_NOTFOUND if none.
 */
int log_next_delivery(struct server *s, const char *device, uint64_t have, json_t **ret);
/*
 * Command id of org as agents get it, proofs included, with consistency
 * from size have (for offline checks and audits).
 */
int log_command_delivery(struct server *s, const char *org, const char *id, uint64_t have,
			 json_t **ret);
/* Sets "checkpoint" (the served one) and "consistency" (from have) on j. */
int log_checkpoint_json(struct server *s, const struct db_log *lg, uint64_t have, json_t *j);
