/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "token.h"

static struct rp_enroll_token sample(void)
{
	struct rp_enroll_token t = {.expires = 1795000000};
	snprintf(t.server, sizeof(t.server), "https://127.0.0.1:8443");
	rp_sha256_text("pin", 3, t.pin);
	snprintf(t.org, sizeof(t.org), "acme");
	rp_sha256_text("policy", 6, t.policy);
	rp_random_hex(t.secret, 32);
	return t;
}

static void round_trip(void **s)
{
	struct rp_enroll_token t = sample(), back;
	char *text = rp_enroll_token_format(&t);
	(void)s;
	assert_int_equal(strncmp(text, "RPE1.", 5), 0);
	assert_int_equal(rp_enroll_token_parse(text, strlen(text), &back, NULL), 0);
	/* Field by field: struct padding is not part of the value. */
	assert_string_equal(back.server, t.server);
	assert_string_equal(back.pin, t.pin);
	assert_string_equal(back.org, t.org);
	assert_string_equal(back.policy, t.policy);
	assert_string_equal(back.secret, t.secret);
	assert_int_equal(back.expires, t.expires);
	free(text);
}

static void rejects(void **s)
{
	struct rp_enroll_token back;
	struct rp_diag d = {""};
	(void)s;
	assert_int_equal(rp_enroll_token_parse("RPE2.abc", 8, &back, &d), RP_E_MALFORMED);
	assert_int_equal(rp_enroll_token_parse("RPE1.!!!!", 9, &back, &d), RP_E_MALFORMED);
	/* A valid encoding of a text with a bad field. */
	struct rp_enroll_token t = sample();
	snprintf(t.server, sizeof(t.server), "http://127.0.0.1:8443");
	char *text = rp_enroll_token_format(&t);
	assert_int_equal(rp_enroll_token_parse(text, strlen(text), &back, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "server"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(rejects),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
