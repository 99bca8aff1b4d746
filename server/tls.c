/* SPDX-License-Identifier: Apache-2.0 */
#include "tls.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <syslog.h>
#include <string.h>
#include <unistd.h>

#include "rp_err.h"
#include "rp_limits.h"
#include "util.h"

static void log_ssl(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	fprintf(stderr, "rampartd: %s: %s\n", what, buf);
}

static FILE *open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? NULL : fdopen(fd, "w");
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return 0;
}

static bool host_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

bool tls_host_valid(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > 253)
		return false;
	if (host_is_ip(host))
		return true;
	/* A DNS name: nothing that could end the SAN entry or start another. */
	for (const char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
			return false;
	return true;
}

int tls_generate(const char *key_path, const char *cert_path, const char *host)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name;
	FILE *f = NULL;
	char san[400];
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int r = RP_E_CRYPTO;

	if (!key || !cert) {
		log_ssl("generating the TLS key");
		goto out;
	}
	X509_set_version(cert, 2);
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7f; /* a positive serial number */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)(host ? host : "rampartd"), -1, -1, 0);
	X509_set_issuer_name(cert, name);
	if (host && !tls_host_valid(host)) {
		fprintf(stderr, "rampartd: `%s' is neither a DNS name nor an IP address\n", host);
		r = RP_E_INVAL;
		goto out;
	}
	snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
		 !host              ? ""
		 : host_is_ip(host) ? ",IP:"
				    : ",DNS:",
		 host ? host : "");
	if (add_ext(cert, NID_subject_alt_name, san) < 0 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    !X509_sign(cert, key, EVP_sha256())) {
		log_ssl("making the TLS certificate");
		goto out;
	}
	if (!(f = open_private(key_path)) ||
	    !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		fprintf(stderr, "%srampartd: writing %s failed\n", rp_log_prio(LOG_ERR), key_path);
		r = RP_E_IO;
		goto out;
	}
	fclose(f);
	if (!(f = open_private(cert_path)) || !PEM_write_X509(f, cert) || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		fprintf(stderr, "%srampartd: writing %s failed\n", rp_log_prio(LOG_ERR), cert_path);
		r = RP_E_IO;
		goto out;
	}
	r = 0;
out:
	if (f)
		fclose(f);
	BN_free(bn);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

int tls_pin(const char *cert_path, char out[72])
{
	FILE *f = fopen(cert_path, "re");
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int n, r = RP_E_CRYPTO;

	if (f)
		fclose(f);
	if (!cert) {
		fprintf(stderr, "%srampartd: reading certificate %s failed\n", rp_log_prio(LOG_ERR),
			cert_path);
		return RP_E_IO;
	}
	n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	if (n > 0) {
		rp_sha256_text(der, (size_t)n, out);
		r = 0;
	}
	OPENSSL_free(der);
	X509_free(cert);
	return r;
}

SSL_CTX *tls_server_ctx(const char *key_path, const char *cert_path)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl("setting up TLS");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Idle long polls keep no read/write buffers: kilobytes per agent. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

struct evhttp_connection *tls_client_conn(struct event_base *base, SSL_CTX *ctx, const char *host,
					  uint16_t port, int timeout_s, size_t max_body)
{
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	unsigned char ip[16];
	SSL *ssl;

	if (!ctx) {
		conn = evhttp_connection_base_new(base, NULL, host, port);
	} else {
		if (!(ssl = SSL_new(ctx)))
			return NULL;
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		bool is_ip =
			inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
		if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
			   : X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1 ||
		    (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)) {
			SSL_free(ssl);
			return NULL;
		}
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						     BEV_OPT_CLOSE_ON_FREE |
							     BEV_OPT_DEFER_CALLBACKS);
		if (!bev) {
			SSL_free(ssl);
			return NULL;
		}
		conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, host, port);
	}
	if (conn) {
		evhttp_connection_set_timeout(conn, timeout_s);
		evhttp_connection_set_max_body_size(conn, (ev_ssize_t)max_body);
		evhttp_connection_set_max_headers_size(conn, RP_HTTP_HEADERS_MAX);
	}
	return conn;
}

SSL_CTX *tls_client_ctx(const char *ca, const char *what)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
		: SSL_CTX_set_default_verify_paths(ctx) != 1)) {
		fprintf(stderr, "%srampartd: cannot load %s for %s\n", rp_log_prio(LOG_ERR),
			ca ? ca : "the system's CA store", what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}
