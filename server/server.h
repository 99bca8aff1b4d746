/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "db.h"

#define SERVER_DB "rampart.db"
#define SERVER_KEY "tls.key"
#define SERVER_CERT "tls.crt"

/* An agent's long poll held until work arrives or the hold ends. */
struct waiter {
	struct waiter *next, *prev;
	struct server *srv;
	struct evhttp_request *req;
	struct event *timer;
	char device[33];
	double started;
};

struct server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	struct db db;
	int poll_hold;
	struct waiter *waiters;
	size_t nwaiters;
	bool stopping;
};

int api_init(struct server *s);
/* Answers a device's held poll now, if it has one (after an approval). */
void api_wake(struct server *s, const char *device);
/* Answers every held poll with 204 (shutdown). */
void api_release_all(struct server *s);
