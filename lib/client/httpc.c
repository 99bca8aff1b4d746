/* SPDX-License-Identifier: Apache-2.0 */
#include "client/httpc.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "rp_err.h"
#include "rp_limits.h"

int rp_url_parse(const char *text, struct rp_url *ret, struct rp_diag *d)
{
	struct rp_url u;
	const char *p, *host, *end;
	size_t hlen, n = strlen(text);
	char q[80];

	memset(&u, 0, sizeof(u));
	rp_quote(q, sizeof(q), text, n);
	if (n > 300 || strncmp(text, "https://", 8) != 0) {
		rp_diagf(d, "server URL `%s' is not https://host[:port]", q);
		return RP_E_INVAL;
	}
	p = text + 8;
	if (*p == '[') {
		host = p + 1;
		end = strchr(host, ']');
		if (!end) {
			rp_diagf(d, "server URL `%s' has an unclosed [", q);
			return RP_E_INVAL;
		}
		hlen = (size_t)(end - host);
		p = end + 1;
	} else {
		host = p;
		hlen = strcspn(p, ":/");
		p += hlen;
	}
	if (hlen == 0 || hlen >= sizeof(u.host)) {
		rp_diagf(d, "server URL `%s' has no host", q);
		return RP_E_INVAL;
	}
	memcpy(u.host, host, hlen);
	for (size_t i = 0; i < hlen; i++) {
		char c = u.host[i];
		if (!(c == '.' || c == '-' || c == ':' || c == '_' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			rp_diagf(d, "server URL `%s' has a bad host", q);
			return RP_E_INVAL;
		}
	}
	snprintf(u.port, sizeof(u.port), "443");
	if (*p == ':') {
		uint64_t port;
		size_t plen = strcspn(p + 1, "/");
		if (rp_parse_u64(p + 1, plen, 65535, &port) != 0 || port == 0) {
			rp_diagf(d, "server URL `%s' has a bad port", q);
			return RP_E_INVAL;
		}
		snprintf(u.port, sizeof(u.port), "%u", (unsigned)port);
		p += 1 + plen;
	}
	if (*p && strcmp(p, "/") != 0) {
		rp_diagf(d, "server URL `%s' must not have a path", q);
		return RP_E_INVAL;
	}
	if (strchr(u.host, ':'))
		snprintf(u.base, sizeof(u.base), "https://[%s]:%s", u.host, u.port);
	else
		snprintf(u.base, sizeof(u.base), "https://%s:%s", u.host, u.port);
	*ret = u;
	return 0;
}

int rp_pin_parse(const char *text, uint8_t ret[32], struct rp_diag *d)
{
	size_t n = strlen(text);

	if (n != 71 || strncmp(text, "sha256:", 7) != 0 || rp_hex_decode(text + 7, 64, ret, 32) != 0) {
		char q[80];
		rp_quote(q, sizeof(q), text, n);
		rp_diagf(d, "pin `%s' is not sha256:<64 lowercase hex>", q);
		return RP_E_INVAL;
	}
	return 0;
}

/* ---- response parsing (http-parser) ---- */

struct parse_state {
	struct rp_sb body;
	struct rp_http_resp *resp;
	size_t header_bytes;
	bool in_ctype, done, toobig;
};

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct parse_state *s = p->data;

	s->header_bytes += len;
	if (s->header_bytes > RP_HTTP_HEADERS_MAX)
		return 1;
	s->in_ctype = len == 12 && strncasecmp(at, "content-type", 12) == 0;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct parse_state *s = p->data;

	s->header_bytes += len;
	if (s->header_bytes > RP_HTTP_HEADERS_MAX)
		return 1;
	if (s->in_ctype) {
		size_t k = len < sizeof(s->resp->content_type) - 1 ? len : sizeof(s->resp->content_type) - 1;
		memcpy(s->resp->content_type, at, k);
		s->resp->content_type[k] = '\0';
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct parse_state *s = p->data;

	rp_sb_put(&s->body, at, len);
	if (s->body.err) {
		s->toobig = s->body.err == RP_E_TOOBIG;
		return 1;
	}
	return 0;
}

static int on_complete(http_parser *p)
{
	struct parse_state *s = p->data;

	s->done = true;
	return 0;
}

static const http_parser_settings settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

struct response_parser {
	http_parser p;
	struct parse_state s;
};

static void rparser_init(struct response_parser *rp, struct rp_http_resp *resp, size_t max_body)
{
	memset(rp, 0, sizeof(*rp));
	http_parser_init(&rp->p, HTTP_RESPONSE);
	rp->p.data = &rp->s;
	rp->s.resp = resp;
	rp_sb_init(&rp->s.body, max_body ? max_body : RP_HTTP_RESPONSE_MAX);
}

/* Feeds bytes (len 0 = end of stream). Returns 1 when complete, 0 for more, < 0 on error. */
static int rparser_feed(struct response_parser *rp, const char *buf, size_t len, struct rp_diag *d)
{
	size_t n = http_parser_execute(&rp->p, &settings, buf, len);

	if (rp->s.toobig) {
		rp_diagf(d, "response body exceeds %zu bytes", rp->s.body.max);
		return RP_E_TOOBIG;
	}
	if (rp->s.body.err)
		return rp->s.body.err;
	if (rp->s.header_bytes > RP_HTTP_HEADERS_MAX) {
		rp_diagf(d, "response headers exceed %d bytes", RP_HTTP_HEADERS_MAX);
		return RP_E_TOOBIG;
	}
	if (HTTP_PARSER_ERRNO(&rp->p) != HPE_OK || (len > 0 && n != len)) {
		rp_diagf(d, "malformed HTTP response: %s", http_errno_description(HTTP_PARSER_ERRNO(&rp->p)));
		return RP_E_HTTP;
	}
	if (rp->s.done)
		return 1;
	if (len == 0) {
		rp_diagf(d, "connection closed before the response was complete");
		return RP_E_HTTP;
	}
	return 0;
}

static int rparser_finish(struct response_parser *rp, struct rp_http_resp *ret)
{
	size_t len;

	ret->status = (int)rp->p.status_code;
	if (!rp->s.body.s)
		rp_sb_put(&rp->s.body, "", 0);
	ret->body = rp_sb_take(&rp->s.body, &len);
	if (!ret->body)
		return RP_E_NOMEM;
	ret->body_len = len;
	return 0;
}

int rp_http_parse_response(const char *buf, size_t len, size_t max_body,
			   struct rp_http_resp *ret, struct rp_diag *d)
{
	struct rp_http_resp resp = {0};
	struct response_parser rp;
	int r;

	rparser_init(&rp, &resp, max_body);
	r = rparser_feed(&rp, buf, len, d);
	if (r == 0)
		r = rparser_feed(&rp, NULL, 0, d);
	if (r > 0)
		r = rparser_finish(&rp, &resp);
	rp_sb_release(&rp.s.body);
	if (r < 0)
		return r;
	*ret = resp;
	return 0;
}

void rp_http_resp_release(struct rp_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- connection ---- */

static int tcp_connect(const struct rp_url *u, long timeout_ms, struct rp_diag *d)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int fd = -1, e;

	e = getaddrinfo(u->host, u->port, &hints, &res);
	if (e != 0) {
		rp_diagf(d, "resolving %s: %s", u->host, gai_strerror(e));
		return RP_E_NET;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (poll(&p, 1, (int)timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			errno = soerr ? soerr : ETIMEDOUT;
		}
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rp_diagf(d, "connecting to %s: %s", u->base, strerror(errno));
		return RP_E_NET;
	}
	/* Blocking from here on, with a deadline on every read and write. */
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* wolfSSL's own send would raise SIGPIPE on a closed peer. */
static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	int fd = wolfSSL_get_fd(ssl);
	ssize_t n;

	(void)ctx;
	n = send(fd, buf, (size_t)sz, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return WOLFSSL_CBIO_ERR_TIMEOUT;
	if (errno == EINTR)
		return WOLFSSL_CBIO_ERR_ISR;
	if (errno == EPIPE || errno == ECONNRESET)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	return WOLFSSL_CBIO_ERR_GENERAL;
}

/*
 * A context per request, freed with it: the agent spends nearly all its
 * life waiting, and a process-wide context would keep wolfSSL's tables and
 * buffers resident for no gain (one handshake per long poll).
 */
static int tls_open(int fd, const struct rp_url *u, WOLFSSL_CTX **ret_ctx, WOLFSSL **ret_ssl,
		    uint8_t spki_hash[32], struct rp_diag *d)
{
	static bool inited;
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	WOLFSSL_X509 *cert = NULL;
	unsigned char der[1024];
	int derlen = sizeof(der), r = RP_E_TLS;

	if (!inited) {
		if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
			rp_diagf(d, "wolfSSL failed to initialise");
			return RP_E_TLS;
		}
		inited = true;
	}
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	if (!ctx)
		goto fail;
	/* Trust is the pin, checked below, not a certificate authority. */
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	ssl = wolfSSL_new(ctx);
	if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS)
		goto fail;
	/* X25519 for the key exchange: fast, and no P-256 point tables. */
	wolfSSL_UseKeyShare(ssl, WOLFSSL_ECC_X25519);
	if (!strchr(u->host, ':') && strspn(u->host, "0123456789.") != strlen(u->host))
		wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, u->host, (unsigned short)strlen(u->host));
	if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) {
		char msg[WOLFSSL_MAX_ERROR_SZ];
		int e = wolfSSL_get_error(ssl, 0);
		rp_diagf(d, "TLS 1.3 handshake with %s failed: %s", u->base,
			 wolfSSL_ERR_error_string((unsigned long)e, msg));
		goto fail;
	}
	wc_ecc_fp_free(); /* see tls_close: nothing to keep for a held poll */
	cert = wolfSSL_get_peer_certificate(ssl);
	if (!cert || wolfSSL_X509_get_pubkey_buffer(cert, der, &derlen) != WOLFSSL_SUCCESS) {
		rp_diagf(d, "server %s sent no usable certificate", u->base);
		goto fail;
	}
	rp_sha256(der, (size_t)derlen, spki_hash);
	wolfSSL_X509_free(cert);
	*ret_ctx = ctx;
	*ret_ssl = ssl;
	return 0;
fail:
	wolfSSL_X509_free(cert);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	return r;
}

static void tls_close(WOLFSSL_CTX *ctx, WOLFSSL *ssl)
{
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	/*
	 * wolfSSL caches fixed-point tables for every ECC point it multiplied
	 * (about 0.8 MB per point, FP_ECC): worth it for a server, not for an
	 * agent that does one handshake per long poll.
	 */
	wc_ecc_fp_free();
}

static bool header_ok(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static int build_request(const struct rp_https_client *c, const struct rp_http_req *req,
			 bool keep_alive, char **ret, size_t *ret_len, struct rp_diag *d)
{
	struct rp_sb sb;

	if (!header_ok(req->method) || !header_ok(req->path) ||
	    (req->content_type && !header_ok(req->content_type))) {
		rp_diagf(d, "request line or content type contains CR or LF");
		return RP_E_INVAL;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		if (!header_ok(req->headers[i].name) || !header_ok(req->headers[i].value) ||
		    strchr(req->headers[i].name, ':')) {
			rp_diagf(d, "header %s contains CR, LF or ':'", req->headers[i].name);
			return RP_E_INVAL;
		}
	}
	rp_sb_init(&sb, RP_HTTP_BODY_MAX + RP_HTTP_HEADERS_MAX);
	rp_sb_printf(&sb, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: rampart/%s\r\n"
			  "Connection: %s\r\nContent-Length: %zu\r\n",
		     req->method, req->path, strchr(c->url.host, ':') ? "[" : "", c->url.host,
		     strchr(c->url.host, ':') ? "]" : "", c->url.port, RP_VERSION,
		     keep_alive ? "keep-alive" : "close", req->body_len);
	if (req->body_len > 0 || req->content_type)
		rp_sb_printf(&sb, "Content-Type: %s\r\n",
			     req->content_type ? req->content_type : "application/json");
	for (size_t i = 0; i < req->nheaders; i++)
		rp_sb_printf(&sb, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
	rp_sb_puts(&sb, "\r\n");
	if (req->body_len)
		rp_sb_put(&sb, req->body, req->body_len);
	if (sb.err) {
		int r = sb.err;
		rp_sb_release(&sb);
		rp_diagf(d, "request is too large");
		return r;
	}
	*ret = rp_sb_take(&sb, ret_len);
	return 0;
}

void rp_https_conn_close(struct rp_https_conn *conn)
{
	if (conn->ssl) {
		tls_close(conn->ctx, conn->ssl);
		close(conn->fd);
	}
	memset(conn, 0, sizeof(*conn));
}

/* Connects, handshakes and checks the pin; conn is filled only on success. */
static int conn_open(const struct rp_https_client *c, struct rp_https_conn *conn,
		     struct rp_diag *d)
{
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	uint8_t spki[32];
	int fd, r;

	if ((fd = tcp_connect(&c->url, c->timeout_ms > 0 ? c->timeout_ms : 30000, d)) < 0)
		return fd;
	if ((r = tls_open(fd, &c->url, &ctx, &ssl, spki, d)) < 0) {
		close(fd);
		return r;
	}
	if (sodium_memcmp(spki, c->pin, 32) != 0) {
		char hex[65];
		rp_hex_encode(spki, 32, hex);
		rp_diagf(d, "server %s presented key sha256:%s, not the pinned key", c->url.base, hex);
		tls_close(ctx, ssl);
		close(fd);
		return RP_E_PIN;
	}
	conn->fd = fd;
	conn->ctx = ctx;
	conn->ssl = ssl;
	return 0;
}

/*
 * Sends one request and reads its response on an open connection.
 * *ret_got tells whether any response byte arrived (a reused connection
 * that the server had already closed yields none, and may be retried).
 */
static int exchange(const struct rp_https_client *c, struct rp_https_conn *conn, const char *out,
		    size_t olen, struct response_parser *rp, bool *ret_got, struct rp_diag *d)
{
	char buf[16384];
	int r;

	*ret_got = false;
	for (size_t off = 0; off < olen;) {
		int k = wolfSSL_write(conn->ssl, out + off, (int)(olen - off > 65536 ? 65536 : olen - off));
		if (k <= 0) {
			rp_diagf(d, "sending to %s failed", c->url.base);
			return RP_E_NET;
		}
		off += (size_t)k;
	}
	for (;;) {
		int k = wolfSSL_read(conn->ssl, buf, sizeof(buf));
		if (k <= 0) {
			int e = wolfSSL_get_error(conn->ssl, k);
			if (e != WOLFSSL_ERROR_ZERO_RETURN && e != SOCKET_PEER_CLOSED_E && k < 0) {
				rp_diagf(d, "reading from %s failed (timeout or reset)", c->url.base);
				return RP_E_NET;
			}
			if (!*ret_got) {
				rp_diagf(d, "%s closed the connection", c->url.base);
				return RP_E_NET;
			}
			k = 0; /* end of stream */
		}
		if (k > 0)
			*ret_got = true;
		r = rparser_feed(rp, buf, (size_t)k, d);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
		if (k == 0)
			return RP_E_HTTP;
	}
}

int rp_https_do_conn(const struct rp_https_client *c, struct rp_https_conn *conn,
		     const struct rp_http_req *req, struct rp_http_resp *ret, struct rp_diag *d)
{
	struct rp_http_resp resp = {0};
	struct response_parser rp;
	char *out = NULL;
	size_t olen;
	bool got = false;
	int r;

	if ((r = build_request(c, req, conn != NULL, &out, &olen, d)) < 0)
		return r;
	struct rp_https_conn once = {0};
	struct rp_https_conn *cn = conn ? conn : &once;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = cn->ssl != NULL;
		rparser_init(&rp, &resp, c->max_body);
		if (!reused && (r = conn_open(c, cn, d)) < 0)
			break;
		r = exchange(c, cn, out, olen, &rp, &got, d);
		if (r == 0 && http_should_keep_alive(&rp.p) && conn)
			break;
		rp_https_conn_close(cn);
		/* The server closed a kept connection before answering: once more, afresh. */
		if (r == RP_E_NET && reused && !got) {
			rp_sb_release(&rp.s.body);
			continue;
		}
		break;
	}
	if (r == 0 && (r = rparser_finish(&rp, &resp)) == 0) {
		*ret = resp;
		memset(&resp, 0, sizeof(resp));
	}
	rp_sb_release(&rp.s.body);
	rp_http_resp_release(&resp);
	free(out);
	return r;
}

int rp_https_do(const struct rp_https_client *c, const struct rp_http_req *req,
		struct rp_http_resp *ret, struct rp_diag *d)
{
	return rp_https_do_conn(c, NULL, req, ret, d);
}

int rp_https_fetch_pin(const struct rp_url *url, long timeout_ms, uint8_t ret[32],
		       struct rp_diag *d)
{
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	int fd, r;

	if ((fd = tcp_connect(url, timeout_ms, d)) < 0)
		return fd;
	r = tls_open(fd, url, &ctx, &ssl, ret, d);
	if (r == 0)
		tls_close(ctx, ssl);
	else
		wc_ecc_fp_free();
	close(fd);
	return r;
}
