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
