/* SPDX-License-Identifier: Apache-2.0 */
/* Command statements and results: strict parsing, a named case per
 * malformed input, each diagnostic naming the field. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "result.h"

static const char good[] =
	"rampart/command/v1\n"
	"org acme\n"
	"id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
	"kind exec\n"
	"not-before 2026-11-24T10:00:00Z\n"
	"expires 2026-11-24T11:00:00Z\n"
	"run-as root\n"
	"timeout 60\n"
	"payload sha256:0000000000000000000000000000000000000000000000000000000000000000 12\n"
	"target 00112233445566778899aabbccddeeff\n"
	"target 00112233445566778899aabbccddeef0\n"
	"comment restart nginx\n";

static void round_trip(void **s)
{
	struct rp_command *c;
	size_t len;
	char *out;
	(void)s;
	assert_int_equal(rp_command_parse_text(good, strlen(good), &c, NULL), 0);
	assert_string_equal(c->org, "acme");
	assert_int_equal(c->ntargets, 2);
	assert_int_equal(c->timeout, 60);
	assert_int_equal(c->payload_size, 12);
	assert_true(rp_command_targets(c, "00112233445566778899aabbccddeef0"));
	assert_false(rp_command_targets(c, "00112233445566778899aabbccddeef1"));
	out = rp_command_format(c, &len);
	assert_string_equal(out, good);
	free(out);
	rp_command_free(c);
}

static void rejects_as(const char *from, const char *to, const char *field, int want)
{
	char *bad = replace(good, from, to);
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	int r = rp_command_parse_text(bad, strlen(bad), &c, &d);

	if (want)
		assert_int_equal(r, want);
	else
		assert_true(r < 0);
	assert_null(c);
	if (!strstr(d.msg, field))
		fail_msg("diagnostic `%s' does not name `%s'", d.msg, field);
	free(bad);
}

static void rejects(const char *from, const char *to, const char *field)
{
	rejects_as(from, to, field, 0);
}

#define CASE(name, from, to, field) \
	static void name(void **s) { (void)s; rejects(from, to, field); }

CASE(missing_org, "org acme\n", "", "org")
CASE(missing_id, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n", "", "id")
CASE(missing_kind, "kind exec\n", "", "kind")
CASE(missing_not_before, "not-before 2026-11-24T10:00:00Z\n", "", "not-before")
CASE(missing_expires, "expires 2026-11-24T11:00:00Z\n", "", "expires")
CASE(missing_run_as, "run-as root\n", "", "run-as")
CASE(missing_timeout, "timeout 60\n", "", "timeout")
CASE(missing_payload, "payload sha256:0000000000000000000000000000000000000000000000000000000000000000 12\n", "", "payload")
CASE(missing_target, "target 00112233445566778899aabbccddeeff\ntarget 00112233445566778899aabbccddeef0\n", "", "target")
CASE(unknown_field, "comment restart", "colour blue\ncomment restart", "unknown")
CASE(duplicated_org, "org acme\n", "org acme\norg acme\n", "id")
CASE(duplicated_comment, "comment restart nginx\n", "comment restart nginx\ncomment again\n", "comment")
CASE(duplicated_target, "target 00112233445566778899aabbccddeef0", "target 00112233445566778899aabbccddeeff", "target")
CASE(fields_out_of_order, "org acme\nid 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n", "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\norg acme\n", "org")
CASE(id_uppercase, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5F0C8C1D2B7E4A90B1D8E3F4A6C7D8E9", "id")
CASE(id_short, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e", "id")
CASE(expires_before_start, "expires 2026-11-24T11:00:00Z", "expires 2026-11-24T10:00:00Z", "expires")
CASE(window_over_31_days, "expires 2026-11-24T11:00:00Z", "expires 2026-12-31T11:00:00Z", "expires")
CASE(run_as_invalid, "run-as root", "run-as ro;ot", "run-as")
CASE(run_as_uppercase, "run-as root", "run-as Root", "run-as")
CASE(timeout_zero, "timeout 60", "timeout 0", "timeout")
CASE(timeout_too_long, "timeout 60", "timeout 86401", "timeout")
CASE(timeout_leading_zero, "timeout 60", "timeout 060", "timeout")
CASE(payload_bad_hash, "sha256:0000000000000000000000000000000000000000000000000000000000000000", "sha256:00000000000000000000000000000000000000000000000000000000000000", "payload")
CASE(payload_not_sha256, "payload sha256:", "payload sha512:", "payload")
CASE(payload_too_big, "0000000000 12\n", "0000000000 1048577\n", "payload")
CASE(target_after_comment, "comment restart nginx\n", "comment restart nginx\ntarget 00112233445566778899aabbccddee00\n", "target")
CASE(target_not_an_id, "target 00112233445566778899aabbccddeeff", "target web1", "target")
CASE(crlf_line_endings, "org acme\n", "org acme\r\n", "control")
CASE(wrong_header, "rampart/command/v1", "rampart/command/v2", "first line")

static void unknown_kind(void **s)
{
	(void)s;
	rejects_as("kind exec", "kind shell", "kind", RP_E_KIND);
}

static void too_many_targets(void **s)
{
	struct rp_sb sb;
	struct rp_command *c = NULL;
	char *t;
	size_t len;
	(void)s;
	rp_sb_init(&sb, 1 << 20);
	rp_sb_put(&sb, good, (size_t)(strstr(good, "target") - good));
	for (int i = 0; i <= RP_STATEMENT_TARGETS_MAX; i++)
		rp_sb_printf(&sb, "target %032x\n", i);
	t = rp_sb_take(&sb, &len);
	assert_int_equal(rp_command_parse_text(t, len, &c, NULL), RP_E_TOOBIG);
	free(t);
}

static void result_round_trip(void **s)
{
	struct rp_result r = {.status = RP_RESULT_TIMED_OUT, .exit_code = -1, .duration_ms = 2001,
			      .output_size = 5};
	struct rp_result back;
	size_t len;
	char *t;
	(void)s;
	snprintf(r.org, sizeof(r.org), "acme");
	snprintf(r.device, sizeof(r.device), "00112233445566778899aabbccddeeff");
	snprintf(r.command, sizeof(r.command), "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9");
	t = rp_result_format(&r, &len);
	assert_int_equal(rp_result_parse_text(t, len, &back, NULL), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	char *bad = replace(t, "status timed-out", "status exploded");
	assert_int_equal(rp_result_parse_text(bad, strlen(bad), &back, NULL), RP_E_MALFORMED);
	free(bad);
	bad = replace(t, "exit -1", "exit 256");
	assert_int_equal(rp_result_parse_text(bad, strlen(bad), &back, NULL), RP_E_MALFORMED);
	free(bad);
	bad = replace(t, "duration-ms 2001\n", "");
	assert_int_equal(rp_result_parse_text(bad, strlen(bad), &back, NULL), RP_E_MALFORMED);
	free(bad);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(missing_org),
		cmocka_unit_test(missing_id),
		cmocka_unit_test(missing_kind),
		cmocka_unit_test(missing_not_before),
		cmocka_unit_test(missing_expires),
		cmocka_unit_test(missing_run_as),
		cmocka_unit_test(missing_timeout),
		cmocka_unit_test(missing_payload),
		cmocka_unit_test(missing_target),
		cmocka_unit_test(unknown_field),
		cmocka_unit_test(duplicated_org),
		cmocka_unit_test(duplicated_comment),
		cmocka_unit_test(duplicated_target),
		cmocka_unit_test(fields_out_of_order),
		cmocka_unit_test(id_uppercase),
		cmocka_unit_test(id_short),
		cmocka_unit_test(expires_before_start),
		cmocka_unit_test(window_over_31_days),
		cmocka_unit_test(run_as_invalid),
		cmocka_unit_test(run_as_uppercase),
		cmocka_unit_test(timeout_zero),
		cmocka_unit_test(timeout_too_long),
		cmocka_unit_test(timeout_leading_zero),
		cmocka_unit_test(payload_bad_hash),
		cmocka_unit_test(payload_not_sha256),
		cmocka_unit_test(payload_too_big),
		cmocka_unit_test(target_after_comment),
		cmocka_unit_test(target_not_an_id),
		cmocka_unit_test(crlf_line_endings),
		cmocka_unit_test(wrong_header),
		cmocka_unit_test(unknown_kind),
		cmocka_unit_test(too_many_targets),
		cmocka_unit_test(result_round_trip),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("statement", tests, NULL, NULL);
}
