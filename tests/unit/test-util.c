/* SPDX-License-Identifier: Apache-2.0 */
/* Utilities every parser relies on: times, numbers, base64, bounded strings, request signatures. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "reqsig.h"

static void time_ok(const char *s, int64_t want)
{
	int64_t t = -1;
	char out[21];

	assert_int_equal(rp_time_parse(s, strlen(s), &t), 0);
	assert_int_equal(t, want);
	rp_time_format(t, out);
	assert_string_equal(out, s);
}

static void time_bad(const char *s)
{
	int64_t t = 12345;

	assert_int_equal(rp_time_parse(s, strlen(s), &t), RP_E_MALFORMED);
	assert_int_equal(t, 12345); /* untouched */
}

static void time_epoch_and_known_instants(void **state)
{
	(void)state;
	time_ok("1970-01-01T00:00:00Z", 0);
	time_ok("2026-11-24T10:00:00Z", 1795514400);
	time_ok("2038-01-19T03:14:08Z", 2147483648LL); /* past 32-bit time_t */
	time_ok("2100-01-01T00:00:00Z", 4102444800LL);
	time_ok("9999-12-31T23:59:59Z", 253402300799LL);
}

static void time_leap_years(void **state)
{
	(void)state;
	time_ok("2000-02-29T12:34:56Z", 951827696); /* divisible by 400: leap */
	time_ok("2024-02-29T00:00:00Z", 1709164800);
	time_ok("2024-12-31T23:59:59Z", 1735689599);
	time_ok("2023-03-01T00:00:00Z", 1677628800);
}

static void time_feb29_1900_invalid(void **state)
{
	(void)state;
	time_bad("1900-02-29T00:00:00Z"); /* also before 1970 */
	time_bad("2100-02-29T00:00:00Z"); /* divisible by 100, not 400 */
	time_bad("2023-02-29T00:00:00Z");
}

static void time_out_of_range_fields(void **state)
{
	(void)state;
	time_bad("1969-12-31T23:59:59Z");
	time_bad("2026-00-10T00:00:00Z");
	time_bad("2026-13-01T00:00:00Z");
	time_bad("2026-11-00T00:00:00Z");
	time_bad("2026-11-31T00:00:00Z");
	time_bad("2026-04-31T00:00:00Z");
	time_bad("2026-11-24T24:00:00Z");
	time_bad("2026-11-24T10:60:00Z");
	time_bad("2026-11-24T10:00:60Z"); /* no leap seconds */
}

static void time_bad_shapes(void **state)
{
	(void)state;
	time_bad("");
	time_bad("2026-11-24");
	time_bad("2026-11-24 10:00:00Z");
	time_bad("2026-11-24t10:00:00z");
	time_bad("2026-11-24T10:00:00");
	time_bad("2026-11-24T10:00:00+00:00");
	time_bad("2026-11-24T10:00:00.5Z");
	time_bad("2026-1-24T10:00:00Z ");
	time_bad(" 2026-11-24T10:00:00Z");
	time_bad("+026-11-24T10:00:00Z");
	time_bad("2026-11-2aT10:00:00Z");
	time_bad("2026/11/24T10:00:00Z");
}

static void u64_ok(const char *s, uint64_t max, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(rp_parse_u64(s, strlen(s), max, &v), 0);
	assert_true(v == want);
}

static void u64_bad(const char *s, uint64_t max)
{
	uint64_t v = 777;

	assert_int_equal(rp_parse_u64(s, strlen(s), max, &v), RP_E_MALFORMED);
	assert_true(v == 777);
}

static void u64_accepts(void **state)
{
	(void)state;
	u64_ok("0", 10, 0);
	u64_ok("10", 10, 10);
	u64_ok("18446744073709551615", UINT64_MAX, UINT64_MAX);
}

static void u64_leading_zeros(void **state)
{
	(void)state;
	u64_bad("010", 100);
	u64_bad("00", 100);
	u64_bad("0018446744073709551615", UINT64_MAX);
}

static void u64_overflow(void **state)
{
	(void)state;
	u64_bad("18446744073709551616", UINT64_MAX);
	u64_bad("99999999999999999999", UINT64_MAX);
	u64_bad("184467440737095516150", UINT64_MAX);
	u64_bad("11", 10); /* above the caller's maximum */
}

static void u64_bad_shapes(void **state)
{
	(void)state;
	u64_bad("", 100);
	u64_bad("-1", 100);
	u64_bad("+1", 100);
	u64_bad(" 1", 100);
	u64_bad("1 ", 100);
	u64_bad("0x10", 100);
	u64_bad("1e2", 1000);
}

static void b64_ok(const char *s, const char *want, size_t want_len)
{
	uint8_t out[16];
	size_t n = 0;

	assert_int_equal(rp_b64_decode(s, strlen(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
}

static void b64_bad(const char *s)
{
	uint8_t out[16];
	size_t n = 99;

	assert_int_equal(rp_b64_decode(s, strlen(s), out, sizeof(out), &n), RP_E_MALFORMED);
	assert_int_equal(n, 99);
}

static void base64_canonical(void **state)
{
	(void)state;
	b64_ok("", "", 0);
	b64_ok("aGk=", "hi", 2);
	b64_ok("aA==", "h", 1);
	b64_ok("aGk/", "hi?", 3);
	b64_ok("+/+/", "\xfb\xff\xbf", 3);
}

static void base64_noncanonical_rejected(void **state)
{
	(void)state;
	b64_bad("aGl="); /* unused bits set */
	b64_bad("aB==");
	b64_bad("aGk"); /* unpadded */
	b64_bad("aA=");
	b64_bad("aA===");
	b64_bad("aG k");
	b64_bad("aGk-"); /* URL-safe alphabet */
	b64_bad("aGk_");
	b64_bad("aGk=aGk=");
	b64_bad("aGk=\n");
}

static void base64_output_cap(void **state)
{
	uint8_t out[2];
	size_t n = 0;
	(void)state;
	assert_int_equal(rp_b64_decode("aGk=", 4, out, 2, &n), 0);
	assert_int_equal(rp_b64_decode("aGk/", 4, out, 2, &n), RP_E_MALFORMED);
}

static void hex_lowercase_only(void **state)
{
	uint8_t b[2];
	char out[5];
	(void)state;
	assert_int_equal(rp_hex_decode("0aff", 4, b, 2), 0);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xff);
	rp_hex_encode(b, 2, out);
	assert_string_equal(out, "0aff");
	assert_int_equal(rp_hex_decode("0AFF", 4, b, 2), RP_E_MALFORMED);
	assert_int_equal(rp_hex_decode("0af", 3, b, 2), RP_E_MALFORMED);
	assert_int_equal(rp_hex_decode("0afg", 4, b, 2), RP_E_MALFORMED);
}

static void sb_max(void **state)
{
	struct rp_sb sb;
	size_t len;
	char *s;
	(void)state;

	rp_sb_init(&sb, 8);
	rp_sb_puts(&sb, "1234");
	rp_sb_printf(&sb, "%d", 5678);
	assert_int_equal(sb.err, 0);
	s = rp_sb_take(&sb, &len);
	assert_int_equal(len, 8);
	assert_string_equal(s, "12345678");
	free(s);

	rp_sb_init(&sb, 8);
	rp_sb_puts(&sb, "12345678");
	rp_sb_puts(&sb, "9");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	/* Sticky: later writes that would fit do not clear it. */
	rp_sb_puts(&sb, "");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	assert_null(rp_sb_take(&sb, NULL));

	rp_sb_init(&sb, 8);
	rp_sb_printf(&sb, "%s", "123456789");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	assert_null(rp_sb_take(&sb, NULL));
}

static void sb_empty_take(void **state)
{
	struct rp_sb sb;
	size_t len = 9;
	char *s;
	(void)state;
	rp_sb_init(&sb, 8);
	s = rp_sb_take(&sb, &len);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
}

static void quote_escapes_and_truncates(void **state)
{
	char out[16];
	(void)state;
	rp_quote(out, sizeof(out), "a\nb\x7f", 4);
	assert_string_equal(out, "a\\x0ab\\x7f");
	rp_quote(out, sizeof(out), "abcdefghijklmnopqrstuvwxyz", 26);
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
}

static void quote_exact_fit(void **state)
{
	/*
	 * An input that fits exactly must come back whole, without a
	 * truncation mark and without bytes the quote never wrote.
	 */
	(void)state;
	for (size_t n = 0; n < 32; n++) {
		char in[32], out[16];
		size_t len;

		memset(in, 'q', n);
		memset(out, '#', sizeof(out));
		rp_quote(out, sizeof(out), in, n);
		assert_null(strchr(out, '#'));
		len = strlen(out);
		if (n <= sizeof(out) - 5) {
			assert_int_equal(len, n);
		} else {
			assert_true(len >= 3 && len < sizeof(out));
			assert_string_equal(out + len - 3, "...");
		}
	}
}

static void request_signature(void **state)
{
	struct rp_skey k;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x?y=1", 1000000, "body", 4);
	assert_non_null(sig);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "body", 4, sig, 1000100, NULL),
	    0);
	/* Body-less requests sign the hash of the empty body. */
	char *sig2 = rp_reqsig_sign(&k, "GET", "/v1/poll", 1000000, NULL, 0);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "GET", "/v1/poll", "1000000", "", 0, sig2, 1000000, NULL), 0);
	free(sig2);
	free(sig);
}

static void request_signature_skew(void **state)
{
	struct rp_skey k;
	struct rp_diag d = {""};
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x", 1000000, "body", 4);
	/* Exactly at the window's edges: accepted. */
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
	                                  1000000 + RP_REQUEST_SKEW_S, NULL),
	                 0);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
	                                  1000000 - RP_REQUEST_SKEW_S, NULL),
	                 0);
	/* One second beyond, either way: refused. */
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
	                                  1000000 + RP_REQUEST_SKEW_S + 1, &d),
	                 RP_E_EXPIRED);
	assert_diag_has(&d, "clock");
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
	                                  1000000 - RP_REQUEST_SKEW_S - 1, NULL),
	                 RP_E_EXPIRED);
	free(sig);
}

static void request_signature_tampered(void **state)
{
	struct rp_skey k, bob;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	vec_skey(1, &bob);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x?y=1", 1000000, "body", 4);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "bodY", 4, sig, 1000000, NULL),
	    RP_E_BADSIG);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "bod", 3, sig, 1000000, NULL),
	    RP_E_BADSIG);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "GET", "/v1/x?y=1", "1000000", "body", 4, sig, 1000000, NULL),
	    RP_E_BADSIG);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x?y=2", "1000000", "body", 4, sig, 1000000, NULL),
	    RP_E_BADSIG);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000001", "body", 4, sig, 1000000, NULL),
	    RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(bob.pub, "POST", "/v1/x?y=1", "1000000", "body", 4, sig,
	                                  1000000, NULL),
	                 RP_E_BADSIG);
	free(sig);
}

static void request_signature_malformed(void **state)
{
	struct rp_skey k;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x", 1000000, "body", 4);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x", "01000000", "body", 4, sig, 1000000, NULL),
	    RP_E_MALFORMED);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x", "-1000000", "body", 4, sig, 1000000, NULL),
	    RP_E_MALFORMED);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x", NULL, "body", 4, sig, 1000000, NULL),
	    RP_E_MALFORMED);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, NULL, 1000000, NULL),
	    RP_E_MALFORMED);
	assert_int_equal(
	    rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, "aGk=", 1000000, NULL),
	    RP_E_MALFORMED);
	free(sig);
}

static void strerror_table(void **state)
{
	(void)state;
	assert_string_equal(rp_strerror(0), "success");
	assert_string_equal(rp_strerror(RP_E_QUORUM),
	                    "signatures do not reach the role's threshold");
	assert_string_equal(rp_strerror(-9999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(time_epoch_and_known_instants),
	    cmocka_unit_test(time_leap_years),
	    cmocka_unit_test(time_feb29_1900_invalid),
	    cmocka_unit_test(time_out_of_range_fields),
	    cmocka_unit_test(time_bad_shapes),
	    cmocka_unit_test(u64_accepts),
	    cmocka_unit_test(u64_leading_zeros),
	    cmocka_unit_test(u64_overflow),
	    cmocka_unit_test(u64_bad_shapes),
	    cmocka_unit_test(base64_canonical),
	    cmocka_unit_test(base64_noncanonical_rejected),
	    cmocka_unit_test(base64_output_cap),
	    cmocka_unit_test(hex_lowercase_only),
	    cmocka_unit_test(sb_max),
	    cmocka_unit_test(sb_empty_take),
	    cmocka_unit_test(quote_escapes_and_truncates),
	    cmocka_unit_test(quote_exact_fit),
	    cmocka_unit_test(request_signature),
	    cmocka_unit_test(request_signature_skew),
	    cmocka_unit_test(request_signature_tampered),
	    cmocka_unit_test(request_signature_malformed),
	    cmocka_unit_test(strerror_table),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
