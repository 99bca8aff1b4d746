/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Long polls: GET /v1/agent/poll with nothing to deliver is held, not
 * answered. Each held request is a waiter in a list on the server, with a
 * timer for the end of its hold and a close callback for an agent that
 * hangs up. A waiter costs one small allocation and one timer event; the
 * connection's TLS buffers are released while idle (SSL_MODE_RELEASE_BUFFERS).
 *
 * libevent 2.1 stops reading a connection once a request is complete, so
 * it would notice an agent that hung up only when the hold ends. Each
 * waiter therefore also watches its socket: end of file or an error frees
 * the connection at once; bytes (a TLS alert, say) end the hold early.
 *
 * A device holds one poll at most: a newer poll from the same device key
 * answers the held one with 204 (its connection carries on) and takes its
 * place. Otherwise one signed poll, replayed on a thousand connections,
 * would cost a database query per connection on every witnessed
 * checkpoint. Waiters are found by device in a hash table keyed with
 * SipHash.
 *
 * The database is the only truth: a waking approval and the end of a hold
 * both query it, so rows written behind the server's back are delivered at
 * the latest when the hold ends, and agents poll again right away.
 */
#include <errno.h>
#include <event2/bufferevent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd/httpd.h"
#include "log.h"
#include "poll.h"
#include "rp_err.h"
#include "statement.h"

#define POLL_PATH "/v1/agent/poll"

struct waiter {
	struct waiter *next, *prev;
	struct waiter *dnext; /* in its device's bucket */
	struct server *srv;
	struct evhttp_request *req;
	struct event *timer;
	struct event *hangup; /* readability of the agent's socket */
	char device[RP_ID_HEX + 1];
	int64_t log;   /* the log the agent reads (an org can have several: db.h) */
	uint64_t have; /* the agent's checkpoint size in it */
	double t0;
};

/* The bucket of the device's waiter. */
static struct waiter **bucket(struct server *s, const char *device)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(out, (const unsigned char *)device, strlen(device), s->waiter_key);
	for (size_t i = 0; i < sizeof(v); i++)
		v = v << 8 | out[i];
	return &s->bydevice[v & (s->nbydevice - 1)];
}

/* The table of waiters by device, sized for every connection to hold one. */
static int bydevice_init(struct server *s)
{
	size_t n = 64;

	if (s->bydevice)
		return 0;
	while (n < s->httpd.c.lim.max_conns && n < 65536)
		n *= 2;
	if (sodium_init() < 0 || !(s->bydevice = calloc(n, sizeof(*s->bydevice))))
		return RP_E_NOMEM;
	s->nbydevice = n;
	randombytes_buf(s->waiter_key, sizeof(s->waiter_key));
	return 0;
}

static void waiter_unlink_free(struct waiter *w)
{
	struct server *s = w->srv;
	struct waiter **b = bucket(s, w->device);

	while (*b && *b != w)
		b = &(*b)->dnext;
	if (*b)
		*b = w->dnext;
	if (w->prev)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	s->nwaiters--;
	if (w->hangup)
		event_free(w->hangup);
	event_free(w->timer);
	free(w);
}

/* Sends the delivery (or 204 when NULL; why says why, or NULL) and forgets the waiter. */
static void waiter_answer(struct waiter *w, json_t *delivery, const char *why)
{
	struct evhttp_request *r = w->req;
	struct server *s = w->srv;
	char device[RP_ID_HEX + 1];
	struct rp_httpd_line l = {.method = "GET", .path = POLL_PATH, .who = device, .t0 = w->t0};

	memcpy(device, w->device, sizeof(device));
	rp_httpd_set_closecb(&s->httpd, evhttp_request_get_connection(r), NULL, NULL);
	waiter_unlink_free(w);
	/* When stopping, the answer says Connection: close: the agent reconnects later. */
	rp_httpd_reply_json(&s->httpd, r, delivery ? 200 : 204, delivery, &l, why);
}

/* A delivery for the device, or NULL (none, or the database failed: logged). */
static json_t *lookup(struct server *s, const char *device, int64_t log, uint64_t have)
{
	json_t *j = NULL;

	if (s->stopping || log_next_delivery(s, device, log, have, &j) < 0)
		return NULL;
	return j;
}

static void on_hold_end(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	(void)fd;
	(void)what;
	waiter_answer(w, lookup(w->srv, w->device, w->log, w->have), NULL);
}

static void on_agent_close(struct evhttp_connection *conn, void *arg)
{
	struct waiter *w = arg;
	struct evhttp_request *r = w->req;

	(void)conn;
	waiter_unlink_free(w);
	/*
	 * A connection that failed (the guard closed it, or a write failed)
	 * leaves the held request to its owner, detached; one freed outright
	 * (on_readable) still holds it and frees it.
	 */
	if (!evhttp_request_get_connection(r))
		evhttp_request_free(r);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(w->req);
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		event_add(w->hangup, NULL);
		return;
	}
	if (n > 0) { /* the agent said something: answer, then evhttp reads it */
		waiter_answer(w, lookup(w->srv, w->device, w->log, w->have), NULL);
		return;
	}
	fprintf(stderr, "rampartd: device %s hung up its held poll after %.0f ms\n", w->device,
		rp_httpd_now_ms() - w->t0);
	rp_httpd_set_closecb(&w->srv->httpd, conn, NULL, NULL);
	waiter_unlink_free(w);
	evhttp_connection_free(conn); /* frees the request too */
}

/* Watches the connection's socket while the request is held. */
static int watch_hangup(struct server *s, struct waiter *w)
{
	struct bufferevent *bev =
		evhttp_connection_get_bufferevent(evhttp_request_get_connection(w->req));
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd < 0)
		return 0; /* nothing to watch: the hold's timer still ends it */
	if (!(w->hangup = event_new(s->base, fd, EV_READ, on_readable, w)) ||
	    event_add(w->hangup, NULL) < 0)
		return RP_E_NOMEM;
	return 0;
}

int poll_hold(struct server *s, struct evhttp_request *r, const char *device, int64_t log,
	      uint64_t have, unsigned seconds, double t0)
{
	struct waiter *w = calloc(1, sizeof(*w)), **b, *old;
	struct timeval tv = {(time_t)seconds, 0};

	if (!w || strlen(device) > RP_ID_HEX || bydevice_init(s) < 0)
		goto fail;
	w->srv = s;
	w->req = r;
	w->log = log;
	w->have = have;
	w->t0 = t0;
	if (!(w->timer = evtimer_new(s->base, on_hold_end, w)) || evtimer_add(w->timer, &tv) < 0 ||
	    watch_hangup(s, w) < 0)
		goto fail;
	memcpy(w->device, device, strlen(device) + 1);
	b = bucket(s, device);
	for (old = *b; old && strcmp(old->device, device) != 0; old = old->dnext)
		;
	if (old) /* unlinks it from b before w goes in */
		waiter_answer(old, NULL, "a newer poll from the same device took its place");
	w->dnext = *b;
	*b = w;
	w->next = s->waiters;
	if (w->next)
		w->next->prev = w;
	s->waiters = w;
	s->nwaiters++;
	if (rp_httpd_set_closecb(&s->httpd, evhttp_request_get_connection(r), on_agent_close, w) <
	    0) {
		waiter_unlink_free(w);
		return RP_E_NOMEM;
	}
	return 0;
fail:
	if (w && w->hangup)
		event_free(w->hangup);
	if (w && w->timer)
		event_free(w->timer);
	free(w);
	return RP_E_NOMEM;
}

struct wake {
	struct server *srv;
	int64_t log;
};

static void wake_device(void *arg, const char *device)
{
	struct wake *k = arg;
	struct server *s = k->srv;
	struct waiter *w;
	json_t *j;

	for (w = *bucket(s, device); w && strcmp(w->device, device) != 0; w = w->dnext)
		;
	if (!w || w->log != k->log)
		return;
	s->poll_lookups++;
	if ((j = lookup(s, w->device, w->log, w->have)))
		waiter_answer(w, j, NULL);
}

void poll_wake(struct server *s, int64_t log, uint64_t from, uint64_t to)
{
	struct wake k = {s, log};

	if (!s->bydevice || !s->nwaiters || from >= to)
		return;
	db_log_targets(&s->db, log, from, to, wake_device, &k);
}

void poll_release_all(struct server *s)
{
	while (s->waiters)
		waiter_answer(s->waiters, NULL, NULL);
	free(s->bydevice);
	s->bydevice = NULL;
	s->nbydevice = 0;
}
