/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTPS client against real TLS servers on 127.0.0.1:
 * openssl s_server (TLS 1.3 and a TLS 1.2-only one), and a scripted
 * wolfSSL server in a child process for what s_server cannot be made to
 * do (split records, no close_notify, kept connections, early close).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <cmocka.h>

#include "client/httpc.h"
#include "rp_err.h"
#include "rp_limits.h"

static char dir[64] = "/tmp/rampart-httpc.XXXXXX";
static char key_path[128], cert_path[128];
static char pin_text[80];
static int port13, port12;
static pid_t srv13 = -1, srv12 = -1;

/* A port nothing listens on now; only used where a race would fail loudly. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

/* A bound, listening socket: its port cannot be taken by anyone else. */
static int listener(int *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*ret_port = ntohs(a.sin_port);
	return fd;
}

static pid_t start_s_server(int port, const char *version)
{
	char accept[64];
	pid_t pid;

	snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execlp("openssl", "openssl", "s_server", version, "-www", "-accept", accept, "-key",
		       key_path, "-cert", cert_path, (char *)NULL);
		_exit(127);
	}
	/* Ready when it accepts; give up after 10 s. */
	for (int i = 0; i < 200 && pid > 0; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(50000);
	}
	if (pid > 0)
		kill(pid, SIGKILL), waitpid(pid, NULL, 0);
	return -1;
}

static int setup(void **s)
{
	char cmd[1024];
	FILE *f;
	int ok;

	(void)s;
	if (sodium_init() < 0 || !mkdtemp(dir))
		return -1;
	snprintf(key_path, sizeof(key_path), "%s/k.pem", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/c.pem", dir);
	snprintf(
		cmd, sizeof(cmd),
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
		"-days 1 -keyout %s -out %s 2>/dev/null",
		key_path, cert_path);
	if (system(cmd) != 0)
		return -1;
	/* The pin as the server computes it: OpenSSL's i2d_PUBKEY, hashed. */
	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in %s -pubkey -noout | "
		 "openssl pkey -pubin -outform DER | sha256sum",
		 cert_path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	ok = fgets(pin_text + 7, 65, f) != NULL && strlen(pin_text + 7) == 64;
	pclose(f);
	if (!ok)
		return -1;
	memcpy(pin_text, "sha256:", 7);
	port13 = free_port();
	srv13 = start_s_server(port13, "-tls1_3");
	port12 = free_port();
	srv12 = start_s_server(port12, "-tls1_2");
	return srv13 > 0 && srv12 > 0 ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	if (srv13 > 0)
		kill(srv13, SIGTERM), waitpid(srv13, NULL, 0);
	if (srv12 > 0)
		kill(srv12, SIGTERM), waitpid(srv12, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a scripted TLS 1.3 server (wolfSSL) in a child process ---- */

struct script {
	const char *resp[2]; /* one response per request; NULL ends */
	bool bytewise;       /* one TLS record per byte: split every callback */
	bool no_close_notify;
	bool close_after_handshake;
	bool silent;    /* reads the request, never answers */
	bool trickle;   /* resp[0] one byte every 50 ms, then headers that never end */
	bool hold_open; /* after the responses, keeps the connection open and silent */
};

static bool read_request_head(WOLFSSL *ssl)
{
	char buf[4096];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		int k = wolfSSL_read(ssl, buf + n, 1);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = '\0';
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			return true;
	}
	return false;
}

static void serve(int lfd, const struct script *sc)
{
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	int fd;

	wolfSSL_Init();
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	if (!ctx || wolfSSL_CTX_use_certificate_file(ctx, cert_path, WOLFSSL_FILETYPE_PEM) != 1 ||
	    wolfSSL_CTX_use_PrivateKey_file(ctx, key_path, WOLFSSL_FILETYPE_PEM) != 1)
		_exit(2);
	fd = accept(lfd, NULL, NULL);
	ssl = wolfSSL_new(ctx);
	if (fd < 0 || !ssl || wolfSSL_set_fd(ssl, fd) != 1 || wolfSSL_accept(ssl) != 1)
		_exit(3);
	if (sc->close_after_handshake) {
		close(fd);
		_exit(0);
	}
	if (sc->silent) {
		read_request_head(ssl);
		pause();
	}
	if (sc->trickle) {
		const char *r = sc->resp[0];
		if (!read_request_head(ssl))
			_exit(4);
		for (size_t j = 0;; j++) {
			/* The status line, then an endless header: always one more byte. */
			char c = r[j] ? r[j] : 'a';
			if (!r[j])
				j--;
			if (wolfSSL_write(ssl, &c, 1) != 1)
				_exit(0);
			usleep(50000);
		}
	}
	for (int i = 0; i < 2 && sc->resp[i]; i++) {
		const char *r = sc->resp[i];
		size_t len = strlen(r);
		if (!read_request_head(ssl))
			_exit(4);
		if (sc->bytewise) {
			for (size_t j = 0; j < len; j++)
				if (wolfSSL_write(ssl, r + j, 1) != 1)
					_exit(5);
		} else if (wolfSSL_write(ssl, r, (int)len) != (int)len) {
			_exit(5);
		}
	}
	if (sc->hold_open)
		pause();
	if (!sc->no_close_notify)
		wolfSSL_shutdown(ssl);
	close(fd);
	_exit(0);
}

static pid_t start_scripted(const struct script *sc, int *ret_port)
{
	int lfd = listener(ret_port);
	pid_t pid;

	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		serve(lfd, sc);
	close(lfd);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- helpers ---- */

static void assert_diag_has_word(const struct rp_diag *d, const char *word)
{
	if (!strstr(d->msg, word))
		fail_msg("diagnostic `%s' lacks `%s'", d->msg, word);
}

static void client(struct rp_https_client *c, int port, const char *pin)
{
	char url[64];

	memset(c, 0, sizeof(*c));
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	assert_int_equal(rp_url_parse(url, &c->url, NULL), 0);
	assert_int_equal(rp_pin_parse(pin, c->pin, NULL), 0);
	c->timeout_ms = 5000;
}

static int get(struct rp_https_client *c, struct rp_http_resp *r, struct rp_diag *d)
{
	struct rp_http_req q = {.method = "GET", .path = "/"};
	return rp_https_do(c, &q, r, d);
}

/* ---- against openssl s_server ---- */

static void pinned_ok(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};
	(void)s;
	client(&c, port13, pin_text);
	assert_int_equal(get(&c, &r, &d), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "s_server"));
	assert_int_equal(strlen(r.body), r.body_len);
	rp_http_resp_release(&r);
}

/* Attack: a server with another key (a man in the middle) gets no request. */
static void wrong_pin(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};
	char bad[80];
	(void)s;
	snprintf(bad, sizeof(bad), "%s", pin_text);
	bad[7] = bad[7] == '0' ? '1' : '0';
	client(&c, port13, bad);
	assert_int_equal(get(&c, &r, &d), RP_E_PIN);
	/* The diagnostic names the key that was presented. */
	assert_non_null(strstr(d.msg, pin_text + 7));
	assert_null(r.body);
}

static void fetch_pin_matches_openssl(void **s)
{
	struct rp_https_client c;
	uint8_t got[32];
	(void)s;
	client(&c, port13, pin_text);
	assert_int_equal(rp_https_fetch_pin(&c.url, 5000, got, NULL), 0);
	assert_memory_equal(got, c.pin, 32);
}

static void body_cap(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, port13, pin_text);
	c.max_body = 16;
	assert_int_equal(get(&c, &r, NULL), RP_E_TOOBIG);
	assert_null(r.body);
}

static void closed_port(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, free_port(), pin_text);
	assert_int_equal(get(&c, &r, NULL), RP_E_NET);
}

/* Attack: a downgrade to TLS 1.2 is refused. */
static void tls12_refused(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, port12, pin_text);
	assert_int_equal(get(&c, &r, NULL), RP_E_TLS);
	assert_int_equal(rp_https_fetch_pin(&c.url, 5000, c.pin, NULL), RP_E_TLS);
}

/* A server that accepts TCP but never speaks: RP_E_NET after the timeout, not a hang. */
static void handshake_timeout(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct timespec t0, t1;
	int port, lfd = listener(&port);
	(void)s;
	assert_true(lfd >= 0);
	client(&c, port, pin_text);
	c.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(get(&c, &r, NULL), RP_E_NET);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	close(lfd);
}

/* Silent after the request: RP_E_NET after about timeout_ms. */
static void read_timeout(void **s)
{
	static const struct script sc = {.silent = true};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct timespec t0, t1;
	int port;
	pid_t pid = start_scripted(&sc, &port);
	(void)s;
	client(&c, port, pin_text);
	c.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(get(&c, &r, NULL), RP_E_NET);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	stop(pid);
}

/*
 * Runs fn(port) in a child and returns its exit status; fails the test if
 * the child has not finished within limit_s (it hung), after killing it.
 */
static int in_child(int (*fn)(int), int port, int limit_s)
{
	pid_t kid = fork();
	int st;

	assert_true(kid >= 0);
	if (kid == 0)
		_exit(fn(port));
	for (int i = 0; i < limit_s * 20; i++) {
		pid_t w = waitpid(kid, &st, WNOHANG);
		if (w == kid) {
			if (WIFSIGNALED(st))
				fail_msg("client killed by signal %d", WTERMSIG(st));
			return WEXITSTATUS(st);
		}
		usleep(50000);
	}
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	fail_msg("the client was still waiting after %d s: no deadline", limit_s);
	return -1;
}

/* fn(port) against the scripted server sc, in a child that must end within 20 s with 0. */
static void child_against(const struct script *sc, int (*fn)(int))
{
	int port;
	pid_t pid = start_scripted(sc, &port);

	assert_int_equal(in_child(fn, port, 20), 0);
	stop(pid);
}

/* 0 when a GET with a 1 s deadline ends in RP_E_NET, naming the deadline. */
static int get_with_deadline(int port)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};

	client(&c, port, pin_text);
	c.timeout_ms = 1000;
	if (get(&c, &r, &d) != RP_E_NET)
		return 1;
	return strstr(d.msg, "deadline") ? 0 : 2;
}

/*
 * Attack: a server that trickles its answer, one byte every 50 ms, forever.
 * Every read gets a byte well within any per-read timeout; only a deadline
 * for the whole request ends it.
 */
static void trickled_response_deadline(void **s)
{
	static const struct script sc = {.resp = {"HTTP/1.1 200 OK\r\nX-Slow: "}, .trickle = true};
	(void)s;
	child_against(&sc, get_with_deadline);
}

/* Attack: the same during the TLS handshake: a record header, then a byte every 50 ms. */
static void trickled_handshake_deadline(void **s)
{
	int port, lfd = listener(&port);
	pid_t pid;
	(void)s;
	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		static const char hello[] = "\x16\x03\x03\x40\x00\x02";
		for (size_t i = 0; fd >= 0; i++) {
			if (send(fd, i < sizeof(hello) - 1 ? hello + i : "\x00", 1, MSG_NOSIGNAL) !=
			    1)
				_exit(0);
			usleep(50000);
		}
		_exit(0);
	}
	close(lfd);
	assert_int_equal(in_child(get_with_deadline, port, 20), 0);
	stop(pid);
}

/*
 * Attack: a body announced far over the cap. Refused at the headers
 * (RP_E_TOOBIG, at once), not read until the deadline or the cap: this
 * server sends the headers and nothing more.
 */
static void content_length_over_cap(void **s)
{
	static const struct script sc = {
		.resp = {"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n{"},
		.hold_open = true,
	};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};
	int port;
	pid_t pid = start_scripted(&sc, &port);
	(void)s;
	client(&c, port, pin_text);
	c.max_body = 1000;
	c.timeout_ms = 10000;
	assert_int_equal(get(&c, &r, &d), RP_E_TOOBIG);
	assert_diag_has_word(&d, "Content-Length");
	assert_null(r.body);
	stop(pid);
}

static volatile sig_atomic_t cancelled;

static void on_alarm(int sig)
{
	(void)sig;
	cancelled = 1;
}

static int get_cancelled(int port)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};

	sigaction(SIGALRM, &sa, NULL);
	client(&c, port, pin_text);
	c.timeout_ms = 60000;
	c.cancel = &cancelled;
	alarm(1);
	if (get(&c, &r, &d) != RP_E_NET)
		return 1;
	return strstr(d.msg, "cancelled") ? 0 : 2;
}

/* A signal that sets the client's cancel flag ends a held request (the agent's SIGTERM). */
static void cancel_flag_ends_request(void **s)
{
	static const struct script sc = {.silent = true};
	(void)s;
	child_against(&sc, get_cancelled);
}

/* Attack: request splitting through a header value, name, method or path. */
static void header_injection(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_http_header bad[] = {
		{"X-Evil", "a\r\nHost: other"},
		{"X-Evil", "a\nb"},
		{"X-Evil\r\nA", "b"},
		{"X Evil", "b"},
		{"", "b"},
		{"Content-Length", "5"},
		{"transfer-encoding", "chunked"},
		{"Host", "other"},
	};
	(void)s;
	client(&c, port13, pin_text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rp_http_req q = {
			.method = "GET", .path = "/", .headers = &bad[i], .nheaders = 1};
		if (rp_https_do(&c, &q, &r, NULL) != RP_E_INVAL)
			fail_msg("header %zu not refused", i);
	}
	struct rp_http_req q1 = {.method = "GET", .path = "/ HTTP/1.1\r\nX: y"};
	assert_int_equal(rp_https_do(&c, &q1, &r, NULL), RP_E_INVAL);
	struct rp_http_req q2 = {.method = "GET\r\n", .path = "/"};
	assert_int_equal(rp_https_do(&c, &q2, &r, NULL), RP_E_INVAL);
	struct rp_http_req q3 = {.method = "POST", .path = "/", .content_type = "a\r\nb: c"};
	assert_int_equal(rp_https_do(&c, &q3, &r, NULL), RP_E_INVAL);
	struct rp_http_req q4 = {.method = "POST", .path = "/", .body_len = 3};
	assert_int_equal(rp_https_do(&c, &q4, &r, NULL), RP_E_INVAL);
	assert_null(r.body);
}

/* ---- against the scripted server ---- */

/* Every header name and value arrives in pieces; Content-Type must survive. */
static void split_records(void **s)
{
	static const struct script sc = {
		.resp = {"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
			 "Content-Length: 7\r\n\r\n{\"a\":1}"},
		.bytewise = true,
	};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_diag d = {""};
	int port;
	pid_t pid = start_scripted(&sc, &port);
	(void)s;
	client(&c, port, pin_text);
	assert_int_equal(get(&c, &r, &d), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json; charset=utf-8");
	assert_string_equal(r.body, "{\"a\":1}");
	rp_http_resp_release(&r);
	stop(pid);
}

/* An interim 103 is not the answer. */
static void interim_response(void **s)
{
	static const struct script sc = {
		.resp = {"HTTP/1.1 103 Early Hints\r\nContent-Type: text/x-hint\r\n\r\n"
			 "HTTP/1.1 204 No Content\r\n\r\n"},
	};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	int port;
	pid_t pid = start_scripted(&sc, &port);
	(void)s;
	client(&c, port, pin_text);
	assert_int_equal(get(&c, &r, NULL), 0);
	assert_int_equal(r.status, 204);
	assert_string_equal(r.content_type, "");
	assert_string_equal(r.body, "");
	rp_http_resp_release(&r);
	stop(pid);
}

/*
 * Attack: truncation. A body that ends with the connection is whole only
 * when close_notify says so; a bare FIN (which anyone on path can send)
 * must not pass for the end.
 */
static void truncated_without_close_notify(void **s)
{
	static const struct script cut = {
		.resp = {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"allow\":tr"},
		.no_close_notify = true,
	};
	static const struct script whole = {
		.resp = {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"allow\":true}"},
	};
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	int port;
	pid_t pid = start_scripted(&cut, &port);
	(void)s;
	client(&c, port, pin_text);
	assert_int_equal(get(&c, &r, NULL), RP_E_HTTP);
	stop(pid);
	pid = start_scripted(&whole, &port);
	client(&c, port, pin_text);
	assert_int_equal(get(&c, &r, NULL), 0);
	assert_string_equal(r.body, "{\"allow\":true}");
	rp_http_resp_release(&r);
	stop(pid);
}

/* Two requests, one handshake; then bytes after a response end the reuse. */
static void kept_connection(void **s)
{
	static const struct script sc = {
		.resp = {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
			 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwoHTTP/1.1 200 OK\r\n"},
	};
	struct rp_https_client c;
	struct rp_https_conn conn = {0};
	struct rp_http_req q = {.method = "GET", .path = "/"};
	struct rp_http_resp r = {0};
	int port;
	pid_t pid = start_scripted(&sc, &port);
	(void)s;
	client(&c, port, pin_text);
	assert_int_equal(rp_https_do_conn(&c, &conn, &q, &r, NULL), 0);
	assert_string_equal(r.body, "one");
	rp_http_resp_release(&r);
	assert_non_null(conn.ssl);
	/* The server accepts one connection only: success means it was reused. */
	assert_int_equal(rp_https_do_conn(&c, &conn, &q, &r, NULL), 0);
	assert_string_equal(r.body, "two");
	rp_http_resp_release(&r);
	assert_null(conn.ssl); /* closed: what followed "two" was not asked for */
	rp_https_conn_close(&conn);
	stop(pid);
}

/*
 * The server hangs up right after the handshake while the client is still
 * sending a large body: an error, not death by SIGPIPE. Run in a child
 * whose SIGPIPE is at its default.
 */
static void no_sigpipe(void **s)
{
	static const struct script sc = {.close_after_handshake = true};
	int port, st;
	pid_t pid = start_scripted(&sc, &port), kid;
	(void)s;
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		struct rp_https_client c;
		struct rp_http_resp r = {0};
		size_t n = RP_HTTP_BODY_MAX;
		char *body = calloc(1, n);
		struct rp_http_req q = {.method = "POST", .path = "/", .body = body, .body_len = n};
		signal(SIGPIPE, SIG_DFL);
		client(&c, port, pin_text);
		_exit(body && rp_https_do(&c, &q, &r, NULL) == RP_E_NET ? 0 : 1);
	}
	assert_int_equal(waitpid(kid, &st, 0), kid);
	if (WIFSIGNALED(st))
		fail_msg("client killed by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	stop(pid);
}

/* ---- parsers ---- */

static void urls(void **s)
{
	struct rp_url u;
	struct rp_diag d = {""};
	(void)s;
	assert_int_equal(rp_url_parse("https://example.com", &u, NULL), 0);
	assert_string_equal(u.host, "example.com");
	assert_string_equal(u.port, "443");
	assert_string_equal(u.base, "https://example.com:443");
	assert_int_equal(rp_url_parse("https://example.com/", &u, NULL), 0);
	assert_int_equal(rp_url_parse("https://127.0.0.1:65535", &u, NULL), 0);
	assert_string_equal(u.port, "65535");
	assert_int_equal(rp_url_parse("https://h:1", &u, NULL), 0);
	assert_int_equal(rp_url_parse("https://[::1]:8443/", &u, NULL), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.base, "https://[::1]:8443");
	static const char *const bad[] = {
		"http://example.com",
		"HTTPS://h",
		"https://",
		"https:///",
		"https://:80",
		"https://h:0",
		"https://h:70000",
		"https://h:",
		"https://h:08443",
		"https://h:-1",
		"https://h/path",
		"https://h:8443/x",
		"https://h//",
		"https://h?x=1",
		"https://h#f",
		"https://user@h",
		"https://[::1",
		"https://[]",
		"https://[example.com]",
		"https://[::1]x",
		"https://h h",
		"https://h\r\n",
		"ftp://h",
		"https:/h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rp_url_parse(bad[i], &u, NULL) != RP_E_INVAL)
			fail_msg("accepted %s", bad[i]);
	/* Rejections quote what was rejected, control bytes escaped. */
	assert_int_equal(rp_url_parse("https://h:70000", &u, &d), RP_E_INVAL);
	assert_non_null(strstr(d.msg, "`https://h:70000'"));
	assert_int_equal(rp_url_parse("https://h\r\n", &u, &d), RP_E_INVAL);
	assert_non_null(strstr(d.msg, "h\\x0d\\x0a"));
}

static void pins(void **s)
{
	static const char good[] = "sha256:00112233445566778899aabbccddeeff"
				   "00112233445566778899aabbccddeeff";
	uint8_t p[32], keep[32];
	struct rp_diag d = {""};
	(void)s;
	assert_int_equal(rp_pin_parse(good, p, NULL), 0);
	assert_int_equal(p[1], 0x11);
	assert_int_equal(p[31], 0xff);
	static const char *const bad[] = {
		"sha1:00",
		"",
		"sha256:",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"sha256:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
		"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
		"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
		"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
		"SHA256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"sha256 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	};
	memset(p, 0xa5, sizeof(p));
	memcpy(keep, p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rp_pin_parse(bad[i], p, &d) != RP_E_INVAL)
			fail_msg("accepted %s", bad[i]);
		assert_memory_equal(p, keep, sizeof(p)); /* untouched on failure */
	}
	assert_int_equal(rp_pin_parse("sha1:00", p, &d), RP_E_INVAL);
	assert_non_null(strstr(d.msg, "`sha1:00'"));
}

static void parse_response(void **s)
{
	struct rp_http_resp r = {0};
	const char *ok =
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	const char *chunked =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
	const char *eof = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
	const char *trailing = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}x";
	const char *interim =
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
	const char *only_interim = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *both =
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n";
	(void)s;
	assert_int_equal(rp_http_parse_response(ok, strlen(ok), 100, &r, NULL), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.body, "{}");
	assert_int_equal(r.body_len, 2);
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response(chunked, strlen(chunked), 100, &r, NULL), 0);
	assert_string_equal(r.body, "hi");
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response(eof, strlen(eof), 100, &r, NULL), 0);
	assert_string_equal(r.body, "until the end");
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response(interim, strlen(interim), 100, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "z");
	rp_http_resp_release(&r);
	/* The cap: exactly max_body passes, one more byte does not. */
	assert_int_equal(rp_http_parse_response(ok, strlen(ok), 2, &r, NULL), 0);
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response(ok, strlen(ok), 1, &r, NULL), RP_E_TOOBIG);
	assert_int_equal(rp_http_parse_response(chunked, strlen(chunked), 1, &r, NULL),
			 RP_E_TOOBIG);
	/* Malformed, incomplete, ambiguous, or followed by more. */
	assert_int_equal(rp_http_parse_response("HTTP/1.1 2", 10, 100, &r, NULL), RP_E_HTTP);
	assert_int_equal(rp_http_parse_response("garbage\r\n\r\n", 11, 100, &r, NULL), RP_E_HTTP);
	assert_int_equal(rp_http_parse_response("", 0, 100, &r, NULL), RP_E_HTTP);
	assert_int_equal(rp_http_parse_response(trailing, strlen(trailing), 100, &r, NULL),
			 RP_E_HTTP);
	assert_int_equal(rp_http_parse_response(only_interim, strlen(only_interim), 100, &r, NULL),
			 RP_E_HTTP);
	assert_int_equal(rp_http_parse_response(both, strlen(both), 100, &r, NULL), RP_E_HTTP);
	assert_int_equal(rp_http_parse_response(ok, strlen(ok) - 1, 100, &r, NULL), RP_E_HTTP);
	assert_null(r.body);
	/* Release accepts a zeroed struct and NULL. */
	rp_http_resp_release(&r);
	rp_http_resp_release(NULL);
}

/* Headers over RP_HTTP_HEADERS_MAX are refused before the body is read. */
static void header_cap(void **s)
{
	struct rp_http_resp r = {0};
	size_t n = RP_HTTP_HEADERS_MAX + 64;
	char *big = malloc(n + 128);
	int len;
	(void)s;
	assert_non_null(big);
	len = snprintf(big, n + 128, "HTTP/1.1 200 OK\r\nX-Big: %0*d\r\nContent-Length: 0\r\n\r\n",
		       (int)n, 0);
	assert_int_equal(rp_http_parse_response(big, (size_t)len, 100, &r, NULL), RP_E_TOOBIG);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pinned_ok),
		cmocka_unit_test(wrong_pin),
		cmocka_unit_test(fetch_pin_matches_openssl),
		cmocka_unit_test(body_cap),
		cmocka_unit_test(closed_port),
		cmocka_unit_test(tls12_refused),
		cmocka_unit_test(handshake_timeout),
		cmocka_unit_test(read_timeout),
		cmocka_unit_test(trickled_response_deadline),
		cmocka_unit_test(trickled_handshake_deadline),
		cmocka_unit_test(content_length_over_cap),
		cmocka_unit_test(cancel_flag_ends_request),
		cmocka_unit_test(header_injection),
		cmocka_unit_test(split_records),
		cmocka_unit_test(interim_response),
		cmocka_unit_test(truncated_without_close_notify),
		cmocka_unit_test(kept_connection),
		cmocka_unit_test(no_sigpipe),
		cmocka_unit_test(urls),
		cmocka_unit_test(pins),
		cmocka_unit_test(parse_response),
		cmocka_unit_test(header_cap),
	};
	/* No SIG_IGN for SIGPIPE here: the client must not need it (no_sigpipe). */
	return cmocka_run_group_tests_name("httpc", tests, setup, teardown);
}
