/* SPDX-License-Identifier: Apache-2.0 */
#include "client/httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "rp_err.h"
#include "rp_limits.h"

/* Meson defines it; a bare compile (a fuzzer built by hand) still works. */
#ifndef RP_VERSION
#define RP_VERSION "unknown"
#endif

/* A caller that gives no timeout must still never wait forever. */
#define DEFAULT_TIMEOUT_MS 30000

int rp_url_parse(const char *text, struct rp_url *ret, struct rp_diag *d)
{
	struct rp_url u;
	const char *p, *host, *end;
	size_t hlen, n = strlen(text);
	bool bracketed = false;
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
		bracketed = true;
	} else {
		host = p;
		hlen = strcspn(p, ":/");
		p += hlen;
	}
	if (hlen == 0) {
		rp_diagf(d, "server URL `%s' has no host", q);
		return RP_E_INVAL;
	}
	if (hlen >= sizeof(u.host)) {
		rp_diagf(d, "server URL `%s' has a host longer than %zu bytes", q,
			 sizeof(u.host) - 1);
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
	/* Brackets mean an IPv6 literal and nothing else (RFC 3986 IP-literal). */
	if (bracketed) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, u.host, &a6) != 1) {
			rp_diagf(d, "server URL `%s' has a bad IPv6 address in brackets", q);
			return RP_E_INVAL;
		}
	}
	snprintf(u.port, sizeof(u.port), "443");
	if (*p == ':') {
		uint64_t port;
		size_t plen = strcspn(p + 1, "/");
		if (rp_parse_u64(p + 1, plen, 65535, &port) != 0 || port == 0) {
			rp_diagf(d, "server URL `%s' has a bad port (1 to 65535)", q);
			return RP_E_INVAL;
		}
		snprintf(u.port, sizeof(u.port), "%u", (unsigned)port);
		p += 1 + plen;
	}
	if (*p && strcmp(p, "/") != 0) {
		rp_diagf(d, "server URL `%s' must not have a path", q);
		return RP_E_INVAL;
	}
	if (bracketed)
		snprintf(u.base, sizeof(u.base), "https://[%s]:%s", u.host, u.port);
	else
		snprintf(u.base, sizeof(u.base), "https://%s:%s", u.host, u.port);
	*ret = u;
	return 0;
}

/* ---- response parsing (http-parser) ---- */

/*
 * http-parser hands a header name or value over in as many pieces as the
 * reads that carried it, so both are assembled here across callbacks.
 */
struct parse_state {
	struct rp_sb body;
	struct rp_http_resp *resp;
	size_t header_bytes; /* status text, names and values, all messages */
	char field[16];      /* long enough for "content-type" and one more byte */
	size_t field_len;
	size_t ctype_len;
	bool in_value, in_ctype;
	bool head;     /* the request was HEAD: the response has no body */
	bool eof_body; /* the body ends only when the connection does */
	bool done, toobig;
	uint64_t announced; /* a Content-Length over the cap, refused at the headers */
};

static int count_header(struct parse_state *s, size_t len)
{
	if (len > RP_HTTP_HEADERS_MAX - s->header_bytes) {
		s->header_bytes = RP_HTTP_HEADERS_MAX + 1;
		return 1;
	}
	s->header_bytes += len;
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct parse_state *s = p->data;

	/* A new message after a 1xx: it replaces whatever the 1xx said. */
	s->field_len = s->ctype_len = 0;
	s->in_value = s->in_ctype = false;
	s->resp->content_type[0] = '\0';
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	(void)at;
	return count_header(p->data, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct parse_state *s = p->data;

	if (count_header(s, len))
		return 1;
	if (s->in_value) {
		s->in_value = false;
		s->field_len = 0;
	}
	for (size_t i = 0; i < len && s->field_len < sizeof(s->field); i++)
		s->field[s->field_len++] = at[i];
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct parse_state *s = p->data;
	char *ct = s->resp->content_type;

	if (count_header(s, len))
		return 1;
	if (!s->in_value) {
		s->in_value = true;
		s->in_ctype = s->field_len == 12 && strncasecmp(s->field, "content-type", 12) == 0;
		if (s->in_ctype)
			s->ctype_len = 0; /* a repeated Content-Type: the last one wins */
	}
	if (s->in_ctype) {
		/* Longer values are cut: callers compare media types, not parameters. */
		size_t room = sizeof(s->resp->content_type) - 1 - s->ctype_len;
		size_t k = len < room ? len : room;
		memcpy(ct + s->ctype_len, at, k);
		s->ctype_len += k;
		ct[s->ctype_len] = '\0';
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct parse_state *s = p->data;
	unsigned st = p->status_code;
	bool bodyless = s->head || st / 100 == 1 || st == 204 || st == 304;

	/* A body announced over the cap is refused before one byte of it is read. */
	if (!bodyless && !(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
	    p->content_length > s->body.max) {
		s->announced = p->content_length;
		s->toobig = true;
		return -1;
	}
	s->eof_body = !bodyless && !(p->flags & F_CHUNKED) && p->content_length == ULLONG_MAX;
	/* 1: http-parser's way to say "no body follows", which is what HEAD means. */
	return s->head ? 1 : 0;
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

static int on_message_complete(http_parser *p)
{
	struct parse_state *s = p->data;

	/*
	 * An interim response (100 Continue, 103 Early Hints) is followed by
	 * the real one; 101 would switch protocols, which we never ask for.
	 */
	if (p->status_code / 100 == 1 && p->status_code != 101)
		return 0;
	s->done = true;
	/* Stop here: bytes after the response are not part of it. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

struct response_parser {
	http_parser p;
	struct parse_state s;
	size_t extra; /* bytes that followed the complete response */
};

static void rparser_init(struct response_parser *rp, struct rp_http_resp *resp, size_t max_body,
			 bool head)
{
	memset(rp, 0, sizeof(*rp));
	http_parser_init(&rp->p, HTTP_RESPONSE);
	rp->p.data = &rp->s;
	rp->s.resp = resp;
	rp->s.head = head;
	rp_sb_init(&rp->s.body, max_body ? max_body : RP_HTTP_RESPONSE_MAX);
}

/*
 * Feeds bytes (len 0 = end of stream). Returns 1 when the response is
 * complete, 0 when more is needed, < 0 on error. The client and
 * rp_http_parse_response (hence the fuzz target) both parse through here.
 */
static int rparser_feed(struct response_parser *rp, const char *buf, size_t len, struct rp_diag *d)
{
	size_t n;

	if (rp->s.done) {
		rp->extra += len;
		return 1;
	}
	n = http_parser_execute(&rp->p, &settings, buf, len);
	if (rp->s.toobig && rp->s.announced) {
		rp_diagf(d,
			 "response announces a body of %llu bytes (Content-Length), more than %zu",
			 (unsigned long long)rp->s.announced, rp->s.body.max);
		return RP_E_TOOBIG;
	}
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
	if (rp->s.done) {
		rp->extra = len - n;
		return 1;
	}
	if (HTTP_PARSER_ERRNO(&rp->p) != HPE_OK || n != len) {
		rp_diagf(d, "malformed HTTP response: %s",
			 http_errno_description(HTTP_PARSER_ERRNO(&rp->p)));
		return RP_E_HTTP;
	}
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
	ret->body = rp_sb_take(&rp->s.body, &len);
	if (!ret->body)
		return RP_E_NOMEM;
	ret->body_len = len;
	return 0;
}

int rp_http_parse_response(const char *buf, size_t len, size_t max_body, struct rp_http_resp *ret,
			   struct rp_diag *d)
{
	struct rp_http_resp resp = {0};
	struct response_parser rp;
	int r;

	rparser_init(&rp, &resp, max_body, false);
	r = rparser_feed(&rp, buf, len, d);
	if (r == 0)
		r = rparser_feed(&rp, NULL, 0, d);
	if (r > 0 && rp.extra > 0) {
		rp_diagf(d, "%zu bytes follow the HTTP response", rp.extra);
		r = RP_E_HTTP;
	}
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
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- connection ---- */

static long timeout_or_default(long timeout_ms)
{
	if (timeout_ms <= 0)
		return DEFAULT_TIMEOUT_MS;
	return timeout_ms > INT_MAX ? INT_MAX : timeout_ms;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events or the deadline passes: 1 ready, 0
 * deadline, -1 error or cancelled. A signal (SIGCHLD in the agent) does not
 * cut the wait short unless cancel says to stop.
 */
static int wait_fd(int fd, short events, int64_t deadline, const volatile sig_atomic_t *cancel)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - now_ms();
		int k;

		if (cancel && *cancel)
			return -1;
		if (left <= 0)
			return 0;
		k = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (k == 1)
			return 1;
		if (k == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * The socket stays non-blocking: every read and write goes through
 * io_recv and io_send below, which wait with wait_fd until the request's
 * one deadline. A per-read timeout (SO_RCVTIMEO) restarts with every byte,
 * so a server trickling one byte every few seconds would never time out.
 * The addresses of a name share the time left (each gets its part of it),
 * so a name with an unreachable IPv6 address and a working IPv4 one still
 * connects, and the whole connect never outlasts the deadline.
 */
static int tcp_connect(const struct rp_url *u, int64_t deadline,
		       const volatile sig_atomic_t *cancel, struct rp_diag *d)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	int fd = -1, e, err = 0;
	size_t left = 0;

	e = getaddrinfo(u->host, u->port, &hints, &res);
	if (e != 0) {
		rp_diagf(d, "resolving %s: %s", u->host, gai_strerror(e));
		return RP_E_NET;
	}
	for (ai = res; ai; ai = ai->ai_next)
		left++;
	for (ai = res; ai; ai = ai->ai_next, left--) {
		int64_t now = now_ms(), mine = now + (deadline - now) / (int64_t)left;
		int k;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* a request goes out whole at once (no Nagle wait for the server's ACK) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			socklen_t sl = sizeof(err);
			k = wait_fd(fd, POLLOUT, mine, cancel);
			if (k == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 &&
			    err == 0)
				break;
			if (k == 0)
				err = ETIMEDOUT;
			else if (k < 0)
				err = cancel && *cancel ? ECANCELED : errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rp_diagf(d, "connecting to %s: %s", u->base, strerror(err ? err : ENOENT));
		return RP_E_NET;
	}
	return fd;
}

/*
 * wolfSSL reads and writes through these, with the connection (its
 * deadline) as context. wolfSSL's own send would also raise SIGPIPE on a
 * closed peer, and a library must not make every caller ignore SIGPIPE.
 */
static int io_wait(struct rp_https_conn *cn, short events)
{
	int k = wait_fd(cn->fd, events, cn->deadline_ms, cn->cancel);

	if (k == 1)
		return 0;
	if (k == 0)
		cn->expired = true;
	return k == 0 ? WOLFSSL_CBIO_ERR_TIMEOUT : WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct rp_https_conn *cn = ctx;
	ssize_t n;
	int w;

	(void)ssl;
	for (;;) {
		n = send(cn->fd, buf, (size_t)sz, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return (int)n;
		if (errno == EPIPE || errno == ECONNRESET)
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return WOLFSSL_CBIO_ERR_GENERAL;
		if ((w = io_wait(cn, POLLOUT)) != 0)
			return w;
	}
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct rp_https_conn *cn = ctx;
	ssize_t n;
	int w;

	(void)ssl;
	for (;;) {
		n = recv(cn->fd, buf, (size_t)sz, MSG_DONTWAIT);
		if (n > 0)
			return (int)n;
		if (n == 0)
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		if (errno == ECONNRESET)
			return WOLFSSL_CBIO_ERR_CONN_RST;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return WOLFSSL_CBIO_ERR_GENERAL;
		if ((w = io_wait(cn, POLLIN)) != 0)
			return w;
	}
}

static pthread_once_t wolf_once = PTHREAD_ONCE_INIT;
static bool wolf_ok;

static void wolf_init(void)
{
	wolf_ok = wolfSSL_Init() == WOLFSSL_SUCCESS;
}

/* What a failed read, write or handshake on cn was: the deadline, a cancel, or the peer. */
static const char *io_failure(const struct rp_https_conn *cn)
{
	if (cn->expired)
		return "the request's deadline passed";
	if (cn->cancel && *cn->cancel)
		return "cancelled";
	return "connection closed or reset";
}

/*
 * A context per connection, freed with it: the agent spends nearly all its
 * life waiting, and a process-wide context would keep wolfSSL's tables and
 * buffers resident for no gain (one handshake per long poll). cn->fd is
 * connected; on success cn->ctx and cn->ssl are set.
 */
static int tls_open(struct rp_https_conn *cn, const struct rp_url *u, uint8_t spki_hash[32],
		    struct rp_diag *d)
{
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	WOLFSSL_X509 *cert = NULL;
	/* wolfSSL refuses RSA keys over 4096 bits, whose SPKI is 550 bytes. */
	unsigned char der[1024];
	int derlen = sizeof(der), k, r = RP_E_TLS;

	pthread_once(&wolf_once, wolf_init);
	if (!wolf_ok) {
		rp_diagf(d, "wolfSSL failed to initialise");
		return RP_E_TLS;
	}
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	if (!ctx) {
		rp_diagf(d, "out of memory for a TLS context");
		r = RP_E_NOMEM;
		goto fail;
	}
	/* Trust is the pin, checked below, not a certificate authority. */
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	/*
	 * Debian's wolfSSL (OPENSSL_COMPATIBLE_DEFAULTS) retries a timed-out
	 * handshake read ten more times; the request's deadline is the limit.
	 * The agent's own build (scripts/build-wolfssl) has no such mode.
	 */
#ifdef SSL_MODE_AUTO_RETRY
	wolfSSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
#endif
	ssl = wolfSSL_new(ctx);
	if (!ssl || wolfSSL_set_fd(ssl, cn->fd) != WOLFSSL_SUCCESS) {
		rp_diagf(d, "out of memory for a TLS session");
		r = RP_E_NOMEM;
		goto fail;
	}
	/* After set_fd, which points the I/O context at the fd. */
	wolfSSL_SetIOReadCtx(ssl, cn);
	wolfSSL_SetIOWriteCtx(ssl, cn);
	/* X25519 for the key exchange: fast, and no P-256 point tables. */
	wolfSSL_UseKeyShare(ssl, WOLFSSL_ECC_X25519);
	/* SNI carries names only (RFC 6066 section 3), never address literals. */
	if (!strchr(u->host, ':') && strspn(u->host, "0123456789.") != strlen(u->host))
		wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, u->host,
			       (unsigned short)strlen(u->host));
	k = wolfSSL_connect(ssl);
	if (k != WOLFSSL_SUCCESS) {
		char msg[WOLFSSL_MAX_ERROR_SZ];
		int e = wolfSSL_get_error(ssl, k);
		/*
		 * A silent, trickling or vanished peer is a network failure: the
		 * header promises RP_E_NET for timeouts. Alerts and bad messages are TLS.
		 */
		if (cn->expired || e == SOCKET_ERROR_E || e == SOCKET_PEER_CLOSED_E ||
		    e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
			rp_diagf(d, "TLS handshake with %s: %s", u->base, io_failure(cn));
			r = RP_E_NET;
		} else {
			rp_diagf(d, "TLS 1.3 handshake with %s failed: %s", u->base,
				 wolfSSL_ERR_error_string((unsigned long)e, msg));
		}
		goto fail;
	}
	wc_ecc_fp_free(); /* see tls_close: nothing to keep for a held poll */
	cert = wolfSSL_get_peer_certificate(ssl);
	/*
	 * The buffer is the SubjectPublicKeyInfo exactly as the certificate
	 * carries it, which is what the server hashes with i2d_PUBKEY (checked
	 * against OpenSSL for RSA, P-256 in both point forms and P-384). This
	 * wolfSSL cannot parse Ed25519 certificates: such servers fail here.
	 */
	if (!cert || wolfSSL_X509_get_pubkey_buffer(cert, der, &derlen) != WOLFSSL_SUCCESS ||
	    derlen <= 0) {
		rp_diagf(d, "server %s sent no usable certificate", u->base);
		goto fail;
	}
	rp_sha256(der, (size_t)derlen, spki_hash);
	wolfSSL_X509_free(cert);
	cn->ctx = ctx;
	cn->ssl = ssl;
	return 0;
fail:
	wolfSSL_X509_free(cert);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	wc_ecc_fp_free();
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

/* RFC 9110 token: method and header names. */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(extra, c)))
			return false;
	}
	return true;
}

/* Field values: visible ASCII, tab, space and obs-text, so no CR or LF. */
static bool is_value(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* The request target: origin-form, no space or control that could split the line. */
static bool is_target(const char *s)
{
	if (*s != '/')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* Headers whose copies would let the two ends frame the request differently. */
static bool is_framing_header(const char *name)
{
	return strcasecmp(name, "host") == 0 || strcasecmp(name, "content-length") == 0 ||
	       strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "connection") == 0 ||
	       strcasecmp(name, "content-type") == 0;
}

static int build_request(const struct rp_https_client *c, const struct rp_http_req *req,
			 bool keep_alive, char **ret, size_t *ret_len, struct rp_diag *d)
{
	struct rp_sb sb;
	char q[80];
	int r;

	if (!req->method || !is_token(req->method)) {
		rp_quote(q, sizeof(q), req->method ? req->method : "",
			 req->method ? strlen(req->method) : 0);
		rp_diagf(d, "request method `%s' is not an HTTP token", q);
		return RP_E_INVAL;
	}
	if (!req->path || !is_target(req->path)) {
		rp_quote(q, sizeof(q), req->path ? req->path : "",
			 req->path ? strlen(req->path) : 0);
		rp_diagf(d, "request path `%s' must start with / and hold no space or control", q);
		return RP_E_INVAL;
	}
	if (req->content_type && !is_value(req->content_type)) {
		rp_quote(q, sizeof(q), req->content_type, strlen(req->content_type));
		rp_diagf(d, "content type `%s' contains CR, LF or a control character", q);
		return RP_E_INVAL;
	}
	if (req->body_len > 0 && !req->body) {
		rp_diagf(d, "request has a body length of %zu but no body", req->body_len);
		return RP_E_INVAL;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name, *value = req->headers[i].value;
		if (!name || !value || !is_token(name) || !is_value(value)) {
			rp_quote(q, sizeof(q), name ? name : "", name ? strlen(name) : 0);
			rp_diagf(d,
				 "header `%s' has a bad name, or CR, LF or a control in its value",
				 q);
			return RP_E_INVAL;
		}
		if (is_framing_header(name)) {
			rp_diagf(d, "header `%s' is set by the client itself", name);
			return RP_E_INVAL;
		}
	}
	rp_sb_init(&sb, RP_HTTP_BODY_MAX + RP_HTTP_HEADERS_MAX);
	rp_sb_printf(&sb,
		     "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: rampart/%s\r\n"
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
		r = sb.err;
		rp_sb_release(&sb);
		rp_diagf(d, "request is larger than %d bytes",
			 RP_HTTP_BODY_MAX + RP_HTTP_HEADERS_MAX);
		return r;
	}
	*ret = rp_sb_take(&sb, ret_len);
	return 0;
}

void rp_https_conn_close(struct rp_https_conn *conn)
{
	if (!conn)
		return;
	uint8_t key[32];

	if (conn->ssl) {
		tls_close(conn->ctx, conn->ssl);
		close(conn->fd);
	}
	memcpy(key, conn->key, sizeof(key)); /* the last server's key outlives its connection */
	memset(conn, 0, sizeof(*conn));
	memcpy(conn->key, key, sizeof(key));
}

/* The request about to run on cn has until deadline (CLOCK_MONOTONIC ms). */
static void conn_arm(struct rp_https_conn *cn, const struct rp_https_client *c, int64_t deadline)
{
	cn->deadline_ms = deadline;
	cn->expired = false;
	cn->cancel = c->cancel;
}

/* The key is the pin, or with a policy's pins one of them (each compared in constant time). */
static bool pinned(const struct rp_https_client *c, const uint8_t spki[32])
{
	bool ok = false;

	if (c->any_key)
		return true;
	if (c->npins == 0)
		return sodium_memcmp(spki, c->pin, 32) == 0;
	for (size_t i = 0; i < c->npins && i < RP_POLICY_PINS_MAX; i++)
		ok |= sodium_memcmp(spki, c->pins[i], 32) == 0;
	return ok;
}

/* Connects, handshakes and checks the pin, all before deadline; conn is filled only on success. */
static int conn_open(const struct rp_https_client *c, struct rp_https_conn *conn, int64_t deadline,
		     struct rp_diag *d)
{
	struct rp_https_conn cn = {0};
	uint8_t spki[32];
	int r;

	conn_arm(&cn, c, deadline);
	if ((cn.fd = tcp_connect(&c->url, deadline, c->cancel, d)) < 0)
		return cn.fd;
	/* tls_open keeps &cn as wolfSSL's I/O context: moved to conn below. */
	if ((r = tls_open(&cn, &c->url, spki, d)) < 0) {
		close(cn.fd);
		return r;
	}
	if (!pinned(c, spki)) {
		char hex[65];
		rp_hex_encode(spki, 32, hex);
		rp_diagf(d, "server %s presented key sha256:%s, not %s", c->url.base, hex,
			 c->npins ? "one the root policy names (server-pin)" : "the pinned key");
		tls_close(cn.ctx, cn.ssl);
		close(cn.fd);
		return RP_E_PIN;
	}
	memcpy(cn.key, spki, 32);
	*conn = cn;
	wolfSSL_SetIOReadCtx(conn->ssl, conn);
	wolfSSL_SetIOWriteCtx(conn->ssl, conn);
	return 0;
}

/*
 * Sends one request and reads its response on an open connection, within
 * its deadline. *ret_got tells whether any response byte arrived (a reused
 * connection that the server had already closed yields none, and may be
 * retried).
 */
static int exchange(const struct rp_https_client *c, struct rp_https_conn *conn, const char *out,
		    size_t olen, struct response_parser *rp, bool *ret_got, struct rp_diag *d)
{
	char buf[16384];
	int r;

	*ret_got = false;
	for (size_t off = 0; off < olen;) {
		int chunk = (int)(olen - off > 65536 ? 65536 : olen - off);
		int k = wolfSSL_write(conn->ssl, out + off, chunk);
		if (k <= 0) {
			rp_diagf(d, "sending to %s failed: %s (error %d)", c->url.base,
				 io_failure(conn), wolfSSL_get_error(conn->ssl, k));
			return RP_E_NET;
		}
		off += (size_t)k;
	}
	for (;;) {
		int k = wolfSSL_read(conn->ssl, buf, sizeof(buf));
		if (k <= 0) {
			int e = wolfSSL_get_error(conn->ssl, k);
			bool clean = e == WOLFSSL_ERROR_ZERO_RETURN;
			if (conn->expired || (!clean && e != SOCKET_PEER_CLOSED_E)) {
				rp_diagf(d, "reading from %s failed: %s (error %d)", c->url.base,
					 io_failure(conn), e);
				return RP_E_NET;
			}
			if (!*ret_got) {
				rp_diagf(d, "%s closed the connection", c->url.base);
				return RP_E_NET;
			}
			/*
			 * Only close_notify proves that a body delimited by the end
			 * of the connection is whole; a forged FIN could cut it.
			 */
			if (!clean && rp->s.eof_body) {
				rp_diagf(d,
					 "%s closed the connection without TLS close_notify: "
					 "the response may be truncated",
					 c->url.base);
				return RP_E_HTTP;
			}
			k = 0; /* end of stream */
		} else {
			*ret_got = true;
		}
		r = rparser_feed(rp, buf, (size_t)k, d);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
	}
}

int rp_https_do_conn(const struct rp_https_client *c, struct rp_https_conn *conn,
		     const struct rp_http_req *req, struct rp_http_resp *ret, struct rp_diag *d)
{
	struct rp_http_resp resp = {0};
	struct rp_https_conn once = {0};
	struct rp_https_conn *cn = conn ? conn : &once;
	struct response_parser rp;
	/* One deadline for the whole request, retry included: connect, TLS, send, receive. */
	int64_t deadline = now_ms() + timeout_or_default(c->timeout_ms);
	char *out = NULL;
	size_t olen;
	bool got = false, head;
	int r;

	if ((r = build_request(c, req, conn != NULL, &out, &olen, d)) < 0)
		return r;
	head = strcmp(req->method, "HEAD") == 0;
	rparser_init(&rp, &resp, c->max_body, head);
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = cn->ssl != NULL, expired;
		if (attempt > 0) {
			rp_sb_release(&rp.s.body);
			rparser_init(&rp, &resp, c->max_body, head);
		}
		if (reused)
			conn_arm(cn, c, deadline);
		else if ((r = conn_open(c, cn, deadline, d)) < 0)
			break;
		r = exchange(c, cn, out, olen, &rp, &got, d);
		/* Bytes after the response are not ours to read as the next one. */
		if (r == 0 && conn && rp.extra == 0 && http_should_keep_alive(&rp.p))
			break;
		expired = cn->expired;
		rp_https_conn_close(cn);
		/* The server closed a kept connection before answering: once more, afresh. */
		if (r == RP_E_NET && reused && !got && !expired)
			continue;
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
	struct rp_https_client c = {.url = *url, .timeout_ms = timeout_ms};
	struct rp_https_conn cn = {0};
	uint8_t spki[32];
	int r;

	conn_arm(&cn, &c, now_ms() + timeout_or_default(timeout_ms));
	if ((cn.fd = tcp_connect(url, cn.deadline_ms, NULL, d)) < 0)
		return cn.fd;
	r = tls_open(&cn, url, spki, d);
	if (r == 0) {
		tls_close(cn.ctx, cn.ssl);
		memcpy(ret, spki, 32);
	}
	close(cn.fd);
	return r;
}
