/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's whole check path, rp_verify_delivery (DESIGN.md section 4). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "verify.h"

#define DEV "00112233445566778899aabbccddeeff"
#define OTHER "ffeeddccbbaa99887766554433221100"
#define NOW 1795000000 /* 2026-11-18 */

static const char payload[] = "echo hello\n";
static struct rp_policy *policy;

static int setup(void **s)
{
	char *t = policy_text(2, 2, 1, 2, 4102444800);
	(void)s;
	assert_int_equal(rp_policy_parse_text(t, strlen(t), &policy, NULL), 0);
	free(t);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	rp_policy_free(policy);
	return 0;
}

/* A command text for org, targets, window; payload hash of `payload'. */
static char *command(const char *org, const char *target, int64_t nb, int64_t ex)
{
	struct rp_command c = {0};
	char (*targets)[RP_ID_HEX + 1] = calloc(1, sizeof(*targets));
	char *t;

	snprintf(c.org, sizeof(c.org), "%s", org);
	snprintf(c.id, sizeof(c.id), "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9");
	c.not_before = nb;
	c.expires = ex;
	snprintf(c.run_as, sizeof(c.run_as), "root");
	c.timeout = 10;
	rp_sha256(payload, strlen(payload), c.payload_hash);
	c.payload_size = strlen(payload);
	snprintf(targets[0], sizeof(targets[0]), "%s", target);
	c.targets = targets;
	c.ntargets = 1;
	t = rp_command_format(&c, NULL);
	free(targets);
	return t;
}

static int seen_none(void *arg, const char *id) { (void)arg; (void)id; return 0; }
static int seen_all(void *arg, const char *id) { (void)arg; (void)id; return 1; }

static int check(char *note, const char *pl, rp_seen_fn seen)
{
	struct rp_delivery dl = {.statement = note, .statement_len = strlen(note),
				 .payload = (uint8_t *)pl, .payload_len = strlen(pl)};
	struct rp_verify_ctx ctx = {.policy = policy, .device_id = DEV, .now = NOW,
				    .skew = 300, .seen = seen};
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char id[RP_ID_HEX + 1];
	int r = rp_verify_delivery(&ctx, &dl, &c, id, &d);

	if (r == 0)
		assert_non_null(c);
	else
		assert_true(d.msg[0] != '\0');
	rp_command_free(c);
	free(note);
	return r;
}

static char *signed_cmd(const char *org, const char *target, int64_t nb, int64_t ex, const int *who)
{
	char *t = command(org, target, nb, ex), *n = sign_by(t, strlen(t), who);
	free(t);
	return n;
}

#define TWO ((int[]){0, 1, -1})

static void accepted(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 60, NOW + 3600, TWO), payload, seen_none), 0);
}

static void org_mismatch(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("globex", DEV, NOW - 60, NOW + 3600, TWO), payload, seen_none), RP_E_ORG);
}

static void one_signature(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 60, NOW + 3600, (int[]){2, -1}), payload, seen_none),
			 RP_E_QUORUM);
}

static void not_a_target(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", OTHER, NOW - 60, NOW + 3600, TWO), payload, seen_none), RP_E_TARGET);
}

static void expired(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 7200, NOW - 301, TWO), payload, seen_none), RP_E_EXPIRED);
	/* Inside the skew: still accepted. */
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 7200, NOW - 299, TWO), payload, seen_none), 0);
}

static void not_yet_valid(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW + 301, NOW + 3600, TWO), payload, seen_none), RP_E_NOTYET);
}

static void replayed(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 60, NOW + 3600, TWO), payload, seen_all), RP_E_REPLAY);
}

static void payload_altered(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 60, NOW + 3600, TWO), "echo hellO\n", seen_none),
			 RP_E_PAYLOAD);
}

static void payload_size_differs(void **s)
{
	(void)s;
	assert_int_equal(check(signed_cmd("acme", DEV, NOW - 60, NOW + 3600, TWO), "echo hello\n\n", seen_none),
			 RP_E_PAYLOAD);
}

static void signature_swapped(void **s)
{
	/* The signatures of one statement under the text of another. */
	char *a = signed_cmd("acme", OTHER, NOW - 60, NOW + 3600, TWO);
	char *b = command("acme", DEV, NOW - 60, NOW + 3600);
	char *n = malloc(strlen(a) + strlen(b) + 2);
	(void)s;
	snprintf(n, strlen(a) + strlen(b) + 2, "%s\n%s", b, strstr(a, "\n\n") + 2);
	assert_int_equal(check(n, payload, seen_none), RP_E_BADSIG);
	free(a);
	free(b);
}

static void target_added(void **s)
{
	char *a = signed_cmd("acme", OTHER, NOW - 60, NOW + 3600, TWO);
	char *widened = replace(a, "target " OTHER "\n", "target " OTHER "\ntarget " DEV "\n");
	(void)s;
	assert_int_equal(check(widened, payload, seen_none), RP_E_BADSIG);
	free(a);
}

static void unsigned_statement(void **s)
{
	char *t = command("acme", DEV, NOW - 60, NOW + 3600);
	(void)s;
	assert_int_equal(check(t, payload, seen_none), RP_E_MALFORMED);
}

static void delivery_json(void **s)
{
	struct rp_delivery dl;
	struct rp_diag d = {""};
	static const char *const bad[] = {
		"[]",
		"{\"statement\": \"x\"}",
		"{\"statement\": \"x\", \"payload\": 5}",
		"{\"statement\": \"x\", \"payload\": \"aGk\"}",            /* unpadded */
		"{\"statement\": \"x\", \"payload\": \"aGl=\"}",           /* non-canonical */
		"{\"statement\": \"x\", \"statement\": \"y\", \"payload\": \"\"}", /* duplicate key */
		"{\"statement\": \"x\", \"payload\": \"\"",                /* truncated */
	};
	(void)s;
	const char *ok = "{\"command\": \"x\", \"statement\": \"hi\\n\", \"payload\": \"aGk=\"}";
	assert_int_equal(rp_delivery_parse(ok, strlen(ok), &dl, &d), 0);
	assert_int_equal(dl.payload_len, 2);
	assert_memory_equal(dl.payload, "hi", 2);
	rp_delivery_release(&dl);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = rp_delivery_parse(bad[i], strlen(bad[i]), &dl, &d);
		if (r >= 0)
			fail_msg("accepted bad delivery %zu: %s", i, bad[i]);
	}
	size_t big = RP_HTTP_RESPONSE_MAX + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	assert_int_equal(rp_delivery_parse(huge, big, &dl, &d), RP_E_TOOBIG);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(org_mismatch),
		cmocka_unit_test(one_signature),
		cmocka_unit_test(not_a_target),
		cmocka_unit_test(expired),
		cmocka_unit_test(not_yet_valid),
		cmocka_unit_test(replayed),
		cmocka_unit_test(payload_altered),
		cmocka_unit_test(payload_size_differs),
		cmocka_unit_test(signature_swapped),
		cmocka_unit_test(target_added),
		cmocka_unit_test(unsigned_statement),
		cmocka_unit_test(delivery_json),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("verify", tests, setup, teardown);
}
