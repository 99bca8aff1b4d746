/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "reqsig.h"

static void times(void **s)
{
	int64_t t;
	char out[21];
	(void)s;
	assert_int_equal(rp_time_parse("1970-01-01T00:00:00Z", 20, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(rp_time_parse("2000-02-29T12:34:56Z", 20, &t), 0);
	rp_time_format(t, out);
	assert_string_equal(out, "2000-02-29T12:34:56Z");
	assert_int_equal(rp_time_parse("2024-02-29T00:00:00Z", 20, &t), 0);
	assert_int_equal(rp_time_parse("1900-02-29T00:00:00Z", 20, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2023-02-29T00:00:00Z", 20, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2026-13-01T00:00:00Z", 20, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2026-11-24T24:00:00Z", 20, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2026-11-24 10:00:00Z", 20, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2026-11-24T10:00:00+00:00", 25, &t), RP_E_MALFORMED);
	assert_int_equal(rp_time_parse("2026-11-24T10:00:00.5Z", 22, &t), RP_E_MALFORMED);
}

static void numbers(void **s)
{
	uint64_t v;
	(void)s;
	assert_int_equal(rp_parse_u64("0", 1, 10, &v), 0);
	assert_int_equal(rp_parse_u64("10", 2, 10, &v), 0);
	assert_int_equal(rp_parse_u64("11", 2, 10, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("010", 3, 100, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("-1", 2, 100, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("+1", 2, 100, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("", 0, 100, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("18446744073709551616", 20, UINT64_MAX, &v), RP_E_MALFORMED);
	assert_int_equal(rp_parse_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void base64(void **s)
{
	uint8_t out[8];
	size_t n;
	(void)s;
	assert_int_equal(rp_b64_decode("aGk=", 4, out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rp_b64_decode("aGl=", 4, out, sizeof(out), &n), RP_E_MALFORMED);
	assert_int_equal(rp_b64_decode("aGk", 3, out, sizeof(out), &n), RP_E_MALFORMED);
	assert_int_equal(rp_b64_decode("aG k", 4, out, sizeof(out), &n), RP_E_MALFORMED);
	assert_int_equal(rp_b64_decode("aGk-", 4, out, sizeof(out), &n), RP_E_MALFORMED);
}

static void string_builder_cap(void **s)
{
	struct rp_sb sb;
	(void)s;
	rp_sb_init(&sb, 8);
	rp_sb_puts(&sb, "12345678");
	assert_int_equal(sb.err, 0);
	rp_sb_puts(&sb, "9");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	assert_null(rp_sb_take(&sb, NULL));
}

static void request_signatures(void **s)
{
	struct rp_skey k;
	char ts[24];
	char *sig;
	(void)s;
	vec_skey(0, &k);
	snprintf(ts, sizeof(ts), "%d", 1000000);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x?y=1", 1000000, "body", 4);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", ts, "body", 4, sig, 1000100, NULL), 0);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", ts, "bodY", 4, sig, 1000100, NULL), RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "GET", "/v1/x?y=1", ts, "body", 4, sig, 1000100, NULL), RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=2", ts, "body", 4, sig, 1000100, NULL), RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", ts, "body", 4, sig, 1000301, NULL), RP_E_EXPIRED);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "01000000", "body", 4, sig, 1000100, NULL), RP_E_MALFORMED);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", ts, "body", 4, NULL, 1000100, NULL), RP_E_MALFORMED);
	free(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times),
		cmocka_unit_test(numbers),
		cmocka_unit_test(base64),
		cmocka_unit_test(string_builder_cap),
		cmocka_unit_test(request_signatures),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
