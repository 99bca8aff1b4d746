/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's HTTPS client against a real TLS server (openssl s_server). */
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
#include <unistd.h>
#include <cmocka.h>

#include "client/httpc.h"
#include "rp_err.h"

static char dir[64] = "/tmp/rampart-httpc.XXXXXX";
static char pin_text[80];
static int port13, port12;
static pid_t srv13 = -1, srv12 = -1;

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static pid_t start_server(int port, const char *version)
{
	char accept[64], key[128], cert[128];
	pid_t pid;

	snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("openssl", "openssl", "s_server", version, "-www", "-accept", accept, "-key", key,
		       "-cert", cert, (char *)NULL);
		_exit(127);
	}
	/* Wait until it accepts. */
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(50000);
	}
	return -1;
}

static int setup(void **s)
{
	char cmd[1024];
	FILE *f;

	(void)s;
	if (sodium_init() < 0 || !mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
		 "-days 1 -keyout %s/k.pem -out %s/c.pem 2>/dev/null", dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s/c.pem -pubkey -noout | "
				   "openssl pkey -pubin -outform DER | sha256sum", dir);
	f = popen(cmd, "r");
	if (!f || !fgets(pin_text + 7, 65, f))
		return -1;
	pclose(f);
	memcpy(pin_text, "sha256:", 7);
	port13 = free_port();
	port12 = free_port();
	srv13 = start_server(port13, "-tls1_3");
	srv12 = start_server(port12, "-tls1_2");
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

static void client(struct rp_https_client *c, int port, const char *pin)
{
	char url[64];

	memset(c, 0, sizeof(*c));
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	assert_int_equal(rp_url_parse(url, &c->url, NULL), 0);
	assert_int_equal(rp_pin_parse(pin, c->pin, NULL), 0);
	c->timeout_ms = 5000;
}

static int get(struct rp_https_client *c, struct rp_http_resp *r)
{
	struct rp_http_req q = {.method = "GET", .path = "/"};
	struct rp_diag d = {""};
	return rp_https_do(c, &q, r, &d);
}

static void pinned_ok(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, port13, pin_text);
	assert_int_equal(get(&c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "s_server"));
	rp_http_resp_release(&r);
}

static void wrong_pin(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	char bad[80];
	(void)s;
	snprintf(bad, sizeof(bad), "%s", pin_text);
	bad[7] = bad[7] == '0' ? '1' : '0';
	client(&c, port13, bad);
	assert_int_equal(get(&c, &r), RP_E_PIN);
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
	assert_int_equal(get(&c, &r), RP_E_TOOBIG);
}

static void closed_port(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, free_port(), pin_text);
	assert_int_equal(get(&c, &r), RP_E_NET);
}

static void tls12_refused(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	(void)s;
	client(&c, port12, pin_text);
	assert_int_equal(get(&c, &r), RP_E_TLS);
}

static void header_injection(void **s)
{
	struct rp_https_client c;
	struct rp_http_resp r = {0};
	struct rp_http_header h = {"X-Evil", "a\r\nHost: other"};
	struct rp_http_req q = {.method = "GET", .path = "/", .headers = &h, .nheaders = 1};
	(void)s;
	client(&c, port13, pin_text);
	assert_int_equal(rp_https_do(&c, &q, &r, NULL), RP_E_INVAL);
}

static void urls(void **s)
{
	struct rp_url u;
	(void)s;
	assert_int_equal(rp_url_parse("https://example.com", &u, NULL), 0);
	assert_string_equal(u.port, "443");
	assert_int_equal(rp_url_parse("https://[::1]:8443/", &u, NULL), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.base, "https://[::1]:8443");
	static const char *const bad[] = {"http://example.com", "https://", "https://:80",
					  "https://h:0", "https://h:70000", "https://h/path",
					  "https://h:8443/x", "https://[::1", "https://h h"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rp_url_parse(bad[i], &u, NULL) == 0)
			fail_msg("accepted %s", bad[i]);
}

static void pins(void **s)
{
	uint8_t p[32];
	(void)s;
	assert_int_equal(rp_pin_parse("sha256:" "00112233445566778899aabbccddeeff"
				      "00112233445566778899aabbccddeeff", p, NULL), 0);
	assert_int_equal(rp_pin_parse("sha1:00", p, NULL), RP_E_INVAL);
	assert_int_equal(rp_pin_parse("sha256:" "00112233445566778899AABBCCDDEEFF"
				      "00112233445566778899aabbccddeeff", p, NULL), RP_E_INVAL);
}

static void parse_response(void **s)
{
	struct rp_http_resp r;
	const char *ok = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
	(void)s;
	assert_int_equal(rp_http_parse_response(ok, strlen(ok), 100, &r, NULL), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.body, "{}");
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response(chunked, strlen(chunked), 100, &r, NULL), 0);
	assert_string_equal(r.body, "hi");
	rp_http_resp_release(&r);
	assert_int_equal(rp_http_parse_response("HTTP/1.1 2", 10, 100, &r, NULL), RP_E_HTTP);
	assert_int_equal(rp_http_parse_response("garbage\r\n\r\n", 11, 100, &r, NULL), RP_E_HTTP);
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
		cmocka_unit_test(header_injection),
		cmocka_unit_test(urls),
		cmocka_unit_test(pins),
		cmocka_unit_test(parse_response),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("httpc", tests, setup, teardown);
}
