/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection guard's request framing (lib/httpd/frame.c): where each
 * request's headers and body end, the body cap decided from the headers,
 * and the requests refused because evhttp would frame them differently
 * (each a named attack). Every case is also fed one byte at a time: the
 * verdict must not depend on how the bytes arrive. Also the text the
 * daemons' /metrics share (lib/httpd/metrics.c): the latency histogram and
 * the process lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpd/frame.h"
#include "httpd/metrics.h"
#include "rp_err.h"

/* The cap callback: POST /small takes 100 bytes, POST /big 1 MiB, everything else none. */
static char last_method[16], last_target[RP_HTTP_TARGET_MAX + 1];
static size_t cap(void *arg, const char *method, const char *target)
{
	(void)arg;
	snprintf(last_method, sizeof(last_method), "%s", method);
	snprintf(last_target, sizeof(last_target), "%s", target);
	if (!strcmp(method, "POST") && !strncmp(target, "/small", 6))
		return 100;
	if (!strcmp(method, "POST") && !strncmp(target, "/big", 4))
		return 1024 * 1024;
	return 0;
}

/* Feeds text whole or one byte at a time; the result of the last feed. */
static int feed(struct rp_frame *f, const char *text, size_t n, int bytewise)
{
	int r = 0;

	rp_frame_init(f, cap, NULL);
	if (!bytewise)
		return rp_frame_feed(f, text, n);
	for (size_t i = 0; i < n && r == 0; i++)
		r = rp_frame_feed(f, text + i, 1);
	return r;
}

/* Both ways: the same result, status and number of complete requests. */
static int feed_both(struct rp_frame *f, const char *text)
{
	struct rp_frame one;
	int r1 = feed(&one, text, strlen(text), 1), r = feed(f, text, strlen(text), 0);

	assert_int_equal(r, r1);
	assert_int_equal(f->status, one.status);
	assert_int_equal(f->messages, one.messages);
	assert_int_equal(f->phase, one.phase);
	return r;
}

static void refused_both(const char *text, int status, const char *why)
{
	struct rp_frame f;
	int r = feed_both(&f, text);

	if (r == 0)
		fail_msg("accepted: %s", text);
	assert_int_equal(f.status, status);
	assert_int_equal(r, status == 400 ? RP_E_MALFORMED : RP_E_TOOBIG);
	if (!strstr(f.why, why))
		fail_msg("why `%s' lacks `%s'", f.why, why);
	/* refused for good */
	assert_int_equal(rp_frame_feed(&f, "GET / HTTP/1.1\r\n\r\n", 18), r);
}

static void pipelined_requests_framed(void **state)
{
	static const char text[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
				   "POST /small HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
				   "POST /big?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n"
				   "PUT /big HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
				   "GET / HTTP/1.0\r\n\r\n";
	struct rp_frame f;
	(void)state;

	assert_int_equal(feed_both(&f, text), 0);
	assert_int_equal(f.messages, 5);
	assert_int_equal(f.phase, RP_FRAME_IDLE);
	assert_string_equal(last_method, "GET");
	assert_string_equal(last_target, "/");
}

static void phases_follow_the_request(void **state)
{
	static const char head[] = "POST /small HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
	struct rp_frame f;
	(void)state;

	rp_frame_init(&f, cap, NULL);
	assert_int_equal(f.phase, RP_FRAME_IDLE);
	assert_int_equal(rp_frame_feed(&f, "P", 1), 0);
	assert_int_equal(f.phase, RP_FRAME_HEADERS);
	assert_int_equal(rp_frame_feed(&f, head + 1, strlen(head) - 2), 0);
	assert_int_equal(f.phase, RP_FRAME_HEADERS); /* the last LF is missing */
	assert_int_equal(rp_frame_feed(&f, "\n", 1), 0);
	assert_int_equal(f.phase, RP_FRAME_BODY);
	assert_int_equal(rp_frame_feed(&f, "abc", 3), 0);
	assert_int_equal(f.phase, RP_FRAME_BODY);
	assert_int_equal(f.messages, 0);
	assert_int_equal(rp_frame_feed(&f, "d", 1), 0);
	assert_int_equal(f.phase, RP_FRAME_IDLE);
	assert_int_equal(f.messages, 1);
}

/*
 * Attack: a 2 MiB body to an endpoint that takes 100 bytes. Refused from
 * Content-Length when the headers end, before a byte of the body: the
 * header block minus its last byte is not refused yet, the last byte is.
 */
static void body_over_cap_refused_at_end_of_headers(void **state)
{
	static const char head[] = "POST /small HTTP/1.1\r\nContent-Length: 2097152\r\n\r\n";
	struct rp_frame f;
	(void)state;

	rp_frame_init(&f, cap, NULL);
	assert_int_equal(rp_frame_feed(&f, head, strlen(head) - 1), 0);
	assert_int_equal(rp_frame_feed(&f, "\n", 1), RP_E_TOOBIG);
	assert_int_equal(f.status, 413);
	assert_non_null(strstr(f.why, "2097152"));
	refused_both(head, 413, "exceeds the 100 bytes POST /small takes");
	/* at the cap: fine */
	assert_int_equal(feed_both(&f, "POST /small HTTP/1.1\r\nContent-Length: 100\r\n\r\n"), 0);
	assert_int_equal(f.phase, RP_FRAME_BODY);
}

/* Attack: a chunked body has no length up front: it is refused once it grows past the cap. */
static void chunked_body_refused_as_it_grows(void **state)
{
	static const char head[] = "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "3c\r\n"; /* 60 bytes */
	char text[512], sixty[61];
	struct rp_frame f;
	(void)state;

	memset(sixty, 'a', 60);
	sixty[60] = '\0';
	snprintf(text, sizeof(text), "%s%s\r\n3c\r\n%s", head, sixty, sixty);
	refused_both(text, 413, "chunked body exceeds the 100 bytes");
	/* 60 + 40 = 100: complete, accepted */
	snprintf(text, sizeof(text), "%s%s\r\n28\r\n%.40s\r\n0\r\n\r\n", head, sixty, sixty);
	assert_int_equal(feed_both(&f, text), 0);
	assert_int_equal(f.messages, 1);
	/* no body at all for an endpoint that takes none */
	refused_both("POST /none HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 413,
		     "takes no body");
}

/*
 * Attack: requests that http-parser and evhttp would frame differently,
 * so that a second request could ride in what the guard took for a body
 * (or the other way round). Each is refused as malformed.
 */
static void ambiguous_framing_refused(void **state)
{
	(void)state;
	/* evhttp reads no body for GET: the "body" would be its next request */
	refused_both("GET /big HTTP/1.1\r\nContent-Length: 44\r\n\r\n"
		     "POST /big HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
		     400, "a GET request carries no body");
	refused_both("DELETE /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
		     "carries no body");
	/* chunked to http-parser, not to evhttp (which compares the whole value) */
	refused_both("POST /big HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400,
		     "not exactly `chunked'");
	refused_both("POST /big HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
		     400, "not exactly `chunked'");
	/* evhttp reads the first Transfer-Encoding header only */
	refused_both(
		"POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
		400, "more than one Transfer-Encoding");
	refused_both(
		"POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
		"\r\n",
		400, "more than one Transfer-Encoding");
	/* folded: " chunked" to evhttp, "chunked" to http-parser */
	refused_both("POST /big HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400,
		     "obsolete line folding");
	refused_both("POST /big HTTP/1.1\r\nX-A: a\r\n\tb\r\nContent-Length: 1\r\n\r\nx", 400,
		     "obsolete line folding");
	/* refused by http-parser itself */
	refused_both("POST /big HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		     400, "malformed HTTP request");
	refused_both(
		"POST /big HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		400, "malformed HTTP request");
	refused_both("POST /big HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 400, "malformed");
	refused_both("POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n",
		     400, "malformed");
	refused_both(
		"POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n\r\n0\r\n",
		400, "malformed");
	refused_both("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "malformed");
	/* case and trailing space are as evhttp reads them: still chunked */
	struct rp_frame f;
	assert_int_equal(feed_both(&f, "POST /big HTTP/1.1\r\ntransfer-encoding: CHUNKED \r\n\r\n"
				       "0\r\n\r\n"),
			 0);
	assert_int_equal(f.messages, 1);
}

/* Attack: a header block or a request target without end, kept in memory. */
static void oversized_headers_and_target_refused(void **state)
{
	size_t n = RP_HTTP_HEADERS_MAX + 100;
	char *big = malloc(n + 1);
	(void)state;

	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
	big[n] = '\0';
	refused_both(big, 431, "exceed");
	memset(big, 'a', n);
	memcpy(big, "GET /", 5);
	big[RP_HTTP_TARGET_MAX + 10] = '\0';
	refused_both(big, 414, "request target longer");
	free(big);
}

/* The cap callback sees the method and the whole target, query included. */
static void cap_sees_method_and_target(void **state)
{
	struct rp_frame f;
	(void)state;

	assert_int_equal(feed_both(&f, "POST /big/x?y=1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nz"),
			 0);
	assert_string_equal(last_method, "POST");
	assert_string_equal(last_target, "/big/x?y=1");
	assert_int_equal(feed_both(&f, "PATCH http://h/big HTTP/1.1\r\nContent-Length: 1\r\n\r\n"),
			 RP_E_TOOBIG);
	assert_string_equal(last_method, "PATCH");
	assert_string_equal(last_target, "http://h/big");
}

/* Buckets are cumulative in the text, each value lands in the first bound >= it. */
static void metrics_histogram_text(void **state)
{
	struct rp_metrics_hist h = {{0}};
	struct rp_sb out;

	(void)state;
	rp_metrics_hist_add(&h, 0.001); /* on a bound: that bucket */
	rp_metrics_hist_add(&h, 0.002);
	rp_metrics_hist_add(&h, 7);  /* past the last bound: +Inf only */
	rp_metrics_hist_add(&h, -1); /* a clock stepped back: 0 */
	rp_sb_init(&out, 4096);
	rp_metrics_hist_write(&out, "x_seconds", "a=\"b\"", &h);
	assert_int_equal(out.err, 0);
	assert_non_null(strstr(out.s, "x_seconds_bucket{a=\"b\",le=\"0.001\"} 2\n"));
	assert_non_null(strstr(out.s, "x_seconds_bucket{a=\"b\",le=\"0.005\"} 3\n"));
	assert_non_null(strstr(out.s, "x_seconds_bucket{a=\"b\",le=\"5\"} 3\n"));
	assert_non_null(strstr(out.s, "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(out.s, "x_seconds_sum{a=\"b\"} 7.003000\n"));
	assert_non_null(strstr(out.s, "x_seconds_count{a=\"b\"} 4\n"));
	rp_sb_release(&out);
	/* no labels: no braces on sum and count */
	rp_sb_init(&out, 4096);
	rp_metrics_hist_write(&out, "y", "", &h);
	assert_non_null(strstr(out.s, "y_bucket{le=\"0.01\"} 3\n"));
	assert_non_null(strstr(out.s, "\ny_count 4\n"));
	rp_sb_release(&out);
	rp_sb_init(&out, 4096);
	rp_metrics_process(&out, "p", "1.\"2", 1700000000);
	assert_non_null(strstr(out.s, "\np_build_info{version=\"1.\\\"2\"} 1\n"));
	assert_non_null(strstr(out.s, "\np_start_time_seconds 1700000000\n"));
	rp_sb_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_requests_framed),
		cmocka_unit_test(phases_follow_the_request),
		cmocka_unit_test(body_over_cap_refused_at_end_of_headers),
		cmocka_unit_test(chunked_body_refused_as_it_grows),
		cmocka_unit_test(ambiguous_framing_refused),
		cmocka_unit_test(oversized_headers_and_target_refused),
		cmocka_unit_test(cap_sees_method_and_target),
		cmocka_unit_test(metrics_histogram_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
