/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>

/* A name for --host: a DNS name or an IP address, nothing else. */
bool tls_host_valid(const char *host);

/* ECDSA P-256 key and a self-signed certificate, both written 0600. */
int tls_generate(const char *key_path, const char *cert_path, const char *host);
/* "sha256:<hex>" of the certificate's DER SubjectPublicKeyInfo. */
int tls_pin(const char *cert_path, char out[72]);
/* A TLS 1.3-only server context; NULL after logging why. */
SSL_CTX *tls_server_ctx(const char *key_path, const char *cert_path);

/*
 * A client context for the server's outgoing HTTPS (witnesses, the alert
 * webhook): TLS 1.2 or later, peers verified against ca (a PEM file) or,
 * when NULL, the system's CA store. NULL after saying why, for what.
 */
SSL_CTX *tls_client_ctx(const char *ca, const char *what);

struct event_base;
struct evhttp_connection;
/*
 * An outgoing HTTP connection: plain when ctx is NULL, else TLS from ctx
 * checked against host (a name, or an address); a timeout of timeout_s
 * for each phase, answers capped at max_body and RP_HTTP_HEADERS_MAX.
 * NULL when it cannot be set up. A TLS connection is not reopened by
 * libevent once closed: use it for one request.
 */
struct evhttp_connection *tls_client_conn(struct event_base *base, SSL_CTX *ctx, const char *host,
					  uint16_t port, int timeout_s, size_t max_body);
