/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Command statements and result notes (DESIGN.md section 3): one field
 * order, no unknown or duplicated fields, every value checked. One named
 * case per malformed input, each asserting the code and that the
 * diagnostic names the field.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "helpers.h"
#include "result.h"

#define HASH0 "0000000000000000000000000000000000000000000000000000000000000000"
#define T1    "00112233445566778899aabbccddeeff"
#define T2    "00112233445566778899aabbccddeef0"

static const char good[] = "rampart/command/v1\n"
			   "org acme\n"
			   "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
			   "kind exec\n"
			   "not-before 2026-11-24T10:00:00Z\n"
			   "expires 2026-11-24T11:00:00Z\n"
			   "run-as root\n"
			   "timeout 60\n"
			   "payload sha256:" HASH0 " 12\n"
			   "target " T1 "\n"
			   "target " T2 "\n"
			   "comment restart nginx\n";

static void round_trip(void **state)
{
	struct rp_command *c = NULL;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_command_parse_text(good, strlen(good), &c, NULL), 0);
	assert_string_equal(c->org, "acme");
	assert_string_equal(c->id, "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9");
	assert_int_equal(c->kind, RP_KIND_EXEC);
	assert_int_equal(c->not_before, 1795514400);
	assert_int_equal(c->expires, 1795518000);
	assert_string_equal(c->run_as, "root");
	assert_int_equal(c->timeout, 60);
	assert_int_equal(c->payload_size, 12);
	assert_int_equal(c->ntargets, 2);
	assert_string_equal(c->targets[0], T1);
	assert_string_equal(c->targets[1], T2);
	assert_string_equal(c->comment, "restart nginx");
	assert_null(c->note);
	assert_int_equal(rp_command_role(c), RP_ROLE_EXEC);
	assert_true(rp_command_targets(c, T2));
	assert_false(rp_command_targets(c, "00112233445566778899aabbccddeef1"));
	out = rp_command_format(c, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(out, good, len);
	free(out);
	rp_command_free(c);
}

static void round_trip_without_comment(void **state)
{
	char *t = replace(good, "comment restart nginx\n", ""), *out;
	struct rp_command *c;
	(void)state;

	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_string_equal(c->comment, "");
	out = rp_command_format(c, NULL);
	assert_string_equal(out, t);
	free(out);
	rp_command_free(c);
	free(t);
}

static void parse_signed(void **state)
{
	char *n = sign_by(good, strlen(good), (int[]){0, 1, -1});
	struct rp_command *c;
	(void)state;

	assert_int_equal(rp_command_parse(n, strlen(n), &c, NULL), 0);
	assert_non_null(c->note);
	assert_int_equal(c->note->nsigs, 2);
	assert_int_equal(c->note->text_len, strlen(good));
	rp_command_free(c);
	free(n);
}

static void parse_signed_needs_signature(void **state)
{
	struct rp_command *c = NULL;
	(void)state;
	assert_int_equal(rp_command_parse(good, strlen(good), &c, NULL), RP_E_MALFORMED);
	assert_null(c);
}

static void rejects_as(const char *from, const char *to, int want, const char *field)
{
	char *bad = replace(good, from, to);
	struct rp_command *c = NULL;
	struct rp_diag d = {""};

	assert_int_equal(rp_command_parse_text(bad, strlen(bad), &c, &d), want);
	assert_null(c);
	assert_diag_has(&d, field);
	free(bad);
}

#define CASE(name, from, to, field)                          \
	static void name(void **state)                       \
	{                                                    \
		(void)state;                                 \
		rejects_as(from, to, RP_E_MALFORMED, field); \
	}

CASE(wrong_header, "rampart/command/v1\n", "rampart/command/v2\n", "first line")
CASE(missing_org, "org acme\n", "", "org")
CASE(missing_id, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n", "", "id")
CASE(missing_kind, "kind exec\n", "", "kind")
CASE(missing_not_before, "not-before 2026-11-24T10:00:00Z\n", "", "not-before")
CASE(missing_expires, "expires 2026-11-24T11:00:00Z\n", "", "expires")
CASE(missing_run_as, "run-as root\n", "", "run-as")
CASE(missing_timeout, "timeout 60\n", "", "timeout")
CASE(missing_payload, "payload sha256:" HASH0 " 12\n", "", "payload")
CASE(missing_target, "target " T1 "\ntarget " T2 "\n", "", "target")
CASE(unknown_field, "comment restart", "colour blue\ncomment restart", "unknown")
CASE(unknown_field_in_header_block, "run-as root\n", "run-as root\nuser root\n", "timeout")
CASE(line_without_value, "comment restart nginx\n", "comment restart nginx\nreboot\n",
     "field value")
CASE(duplicated_org, "org acme\n", "org acme\norg acme\n", "org")
CASE(duplicated_kind, "kind exec\n", "kind exec\nkind exec\n", "kind")
CASE(duplicated_comment, "comment restart nginx\n", "comment restart nginx\ncomment again\n",
     "comment")
CASE(duplicated_target, "target " T2, "target " T1, "target")
CASE(fields_out_of_order, "org acme\nid 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n",
     "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\norg acme\n", "org")
CASE(times_out_of_order, "not-before 2026-11-24T10:00:00Z\nexpires 2026-11-24T11:00:00Z\n",
     "expires 2026-11-24T11:00:00Z\nnot-before 2026-11-24T10:00:00Z\n", "not-before")
CASE(bad_org, "org acme", "org ACME", "org")
CASE(id_uppercase, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5F0C8C1D2B7E4A90B1D8E3F4A6C7D8E9",
     "id")
CASE(id_31_chars, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e", "id")
CASE(id_33_chars, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e90",
     "id")
CASE(id_not_hex, "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9", "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8eg", "id")
CASE(not_before_bad_time, "not-before 2026-11-24T10:00:00Z", "not-before 2026-11-24T10:00Z",
     "not-before")
CASE(expires_bad_time, "expires 2026-11-24T11:00:00Z", "expires 2026-11-31T11:00:00Z", "expires")
CASE(expires_equals_not_before, "expires 2026-11-24T11:00:00Z", "expires 2026-11-24T10:00:00Z",
     "expires")
CASE(expires_before_not_before, "expires 2026-11-24T11:00:00Z", "expires 2026-11-24T09:59:59Z",
     "expires")
CASE(window_over_31_days, "expires 2026-11-24T11:00:00Z", "expires 2026-12-25T10:00:01Z", "expires")
CASE(run_as_invalid, "run-as root", "run-as ro;ot", "run-as")
CASE(run_as_uppercase, "run-as root", "run-as Root", "run-as")
CASE(run_as_leading_digit, "run-as root", "run-as 0day", "run-as")
CASE(run_as_too_long, "run-as root", "run-as abcdefghijklmnopqrstuvwxyzabcdefg", "run-as")
CASE(timeout_zero, "timeout 60", "timeout 0", "timeout")
CASE(timeout_too_long, "timeout 60", "timeout 86401", "timeout")
CASE(timeout_leading_zero, "timeout 60", "timeout 060", "timeout")
CASE(timeout_negative, "timeout 60", "timeout -60", "timeout")
CASE(timeout_trailing_space, "timeout 60", "timeout 60 ", "timeout")
CASE(payload_bad_hash, "sha256:" HASH0, "sha256:" HASH0 "00", "payload")
CASE(payload_short_hash, "sha256:" HASH0,
     "sha256:00000000000000000000000000000000000000000000000000000000000000", "payload")
CASE(payload_uppercase_hash, "sha256:" HASH0,
     "sha256:A000000000000000000000000000000000000000000000000000000000000000", "payload")
CASE(payload_not_sha256, "payload sha256:", "payload sha512:", "payload")
CASE(payload_missing_size, HASH0 " 12\n", HASH0 "\n", "payload")
CASE(payload_too_big, HASH0 " 12\n", HASH0 " 1048577\n", "payload")
CASE(payload_size_leading_zero, HASH0 " 12\n", HASH0 " 012\n", "payload")
CASE(target_after_comment, "comment restart nginx\n",
     "comment restart nginx\ntarget 00112233445566778899aabbccddee00\n", "target")
CASE(target_not_an_id, "target " T1, "target web1", "target")
CASE(target_uppercase, "target " T1, "target 00112233445566778899AABBCCDDEEFF", "target")
CASE(comment_empty, "comment restart nginx\n", "comment \n", "comment")
CASE(crlf_line_endings, "org acme\n", "org acme\r\n", "control")

/* Targets by device group, tag, or every device: resolved by the directory, not here. */
static void directory_targets(void **state)
{
	char *t = replace(good, "target " T2 "\n", "target group:db\ntarget tag:prod\n");
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char *out;
	(void)state;

	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), 0);
	assert_int_equal(c->ntargets, 3);
	assert_true(c->by_directory);
	assert_false(c->all_devices);
	assert_string_equal(c->targets[1], "group:db");
	assert_true(rp_command_targets(c, T1));
	assert_false(rp_command_targets(c, T2));
	out = rp_command_format(c, NULL);
	assert_string_equal(out, t);
	free(out);
	rp_command_free(c);
	free(t);

	t = replace(good, "target " T1 "\ntarget " T2 "\n", "target all\n");
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), 0);
	assert_true(c->all_devices);
	assert_true(rp_command_targets(c, T2));
	rp_command_free(c);
	free(t);

	static const char *const bad[] = {"target all\n", "target group:Db\n", "target tag:\n",
					  "target host:x\n", "target group:db\ntarget group:db\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char rep[128];
		snprintf(rep, sizeof(rep), "target " T1 "\n%s", bad[i]);
		t = replace(good, "target " T1 "\ntarget " T2 "\n", rep);
		d.msg[0] = '\0';
		assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), RP_E_MALFORMED);
		assert_non_null(strstr(d.msg, "target"));
		free(t);
	}
	t = replace(good, "target " T1 "\ntarget " T2 "\n", "target all\ntarget " T1 "\n");
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "follows `target all'"));
	free(t);
}

/* A directory statement through the command pipeline: its role, its id, every device. */
static void directory_as_command(void **state)
{
	static const char text[] = "rampart/directory/v1\norg acme\n"
				   "id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\nversion 1\n"
				   "previous none\nexpires 2026-12-10T00:00:00Z\n"
				   "device-group db\n";
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char *out;
	(void)state;

	assert_int_equal(rp_command_parse_text(text, strlen(text), &c, &d), 0);
	assert_int_equal(c->kind, RP_KIND_DIRECTORY);
	assert_int_equal(rp_command_role(c), RP_ROLE_DIRECTORY);
	assert_string_equal(c->id, "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9");
	assert_int_equal(c->expires, 1796860800);
	assert_int_equal(c->payload_size, 0);
	assert_true(rp_command_targets(c, T1));
	assert_non_null(c->dir);
	out = rp_command_format(c, NULL);
	assert_string_equal(out, text);
	free(out);
	rp_command_free(c);
}

/* 1,000 targets, the last one the same as the first: found (sorted, not pairwise). */
static void duplicate_among_many(void **state)
{
	struct rp_sb sb;
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char *t, *head = replace(good, "target " T1 "\ntarget " T2 "\ncomment restart nginx\n", "");
	(void)state;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, head);
	for (int i = 0; i < 999; i++)
		rp_sb_printf(&sb, "target %032x\n", i);
	rp_sb_printf(&sb, "target %032x\n", 0);
	t = rp_sb_take(&sb, NULL);
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), RP_E_MALFORMED);
	assert_null(c);
	assert_diag_has(&d, "listed twice");
	/* and without the repeat, all 999 are taken */
	t[strlen(t) - strlen("target ") - 32 - 1] = '\0';
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), 0);
	assert_int_equal(c->ntargets, 999);
	rp_command_free(c);
	free(t);
	free(head);
}

static void unknown_kind(void **state)
{
	(void)state;
	rejects_as("kind exec", "kind shell", RP_E_KIND, "kind");
}

/* An upgrade: role exec, run as root, a payload the size of a release text; round-trips. */
static void upgrade_kind(void **state)
{
	char *t = replace(good, "kind exec", "kind upgrade");
	struct rp_command *c = NULL;
	char *out;
	(void)state;

	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_int_equal(c->kind, RP_KIND_UPGRADE);
	assert_int_equal(rp_command_role(c), RP_ROLE_EXEC);
	out = rp_command_format(c, NULL);
	assert_string_equal(out, t);
	free(out);
	rp_command_free(c);
	free(t);
}

static void upgrade_as_another_user(void **state)
{
	char *t = replace(good, "kind exec", "kind upgrade");
	char *bad = replace(t, "run-as root", "run-as alice");
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(rp_command_parse_text(bad, strlen(bad), &c, &d), RP_E_MALFORMED);
	assert_null(c);
	assert_diag_has(&d, "run-as");
	free(bad);
	free(t);
}

static void upgrade_payload_not_a_release(void **state)
{
	char *t = replace(good, "kind exec", "kind upgrade");
	char *bad = replace(t, HASH0 " 12", HASH0 " 1025");
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(rp_command_parse_text(bad, strlen(bad), &c, &d), RP_E_MALFORMED);
	assert_null(c);
	assert_diag_has(&d, "payload");
	free(bad);
	free(t);
}

static void window_exactly_31_days(void **state)
{
	char *t = replace(good, "expires 2026-11-24T11:00:00Z", "expires 2026-12-25T10:00:00Z");
	struct rp_command *c;
	(void)state;
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_int_equal(c->expires - c->not_before, 31 * 86400);
	rp_command_free(c);
	free(t);
}

static void limits_accepted(void **state)
{
	char *a = replace(good, "timeout 60", "timeout 86400");
	char *b = replace(a, HASH0 " 12\n", HASH0 " 1048576\n");
	char *t = replace(b, "run-as root", "run-as abcdefghijklmnopqrstuvwxyzabcdef");
	struct rp_command *c;
	(void)state;
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_int_equal(c->timeout, RP_TIMEOUT_MAX_S);
	assert_int_equal(c->payload_size, RP_PAYLOAD_MAX);
	assert_int_equal(strlen(c->run_as), RP_USER_NAME_MAX);
	rp_command_free(c);
	free(a);
	free(b);
	free(t);
}

static void comment_too_long(void **state)
{
	char long_comment[RP_STATEMENT_COMMENT_MAX + 32];
	(void)state;
	memcpy(long_comment, "comment ", 8);
	memset(long_comment + 8, 'x', RP_STATEMENT_COMMENT_MAX + 1);
	memcpy(long_comment + 8 + RP_STATEMENT_COMMENT_MAX + 1, "\n", 2);
	rejects_as("comment restart nginx\n", long_comment, RP_E_MALFORMED, "comment");
	/* Exactly the maximum is fine. */
	long_comment[8 + RP_STATEMENT_COMMENT_MAX] = '\n';
	long_comment[8 + RP_STATEMENT_COMMENT_MAX + 1] = '\0';
	char *t = replace(good, "comment restart nginx\n", long_comment);
	struct rp_command *c;
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_int_equal(strlen(c->comment), RP_STATEMENT_COMMENT_MAX);
	rp_command_free(c);
	free(t);
}

static char *with_targets(int n)
{
	struct rp_sb sb;
	char *t;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_put(&sb, good, (size_t)(strstr(good, "target") - good));
	for (int i = 0; i < n; i++)
		rp_sb_printf(&sb, "target %032x\n", i);
	t = rp_sb_take(&sb, NULL);
	assert_non_null(t);
	return t;
}

static void targets_at_max(void **state)
{
	char *t = with_targets(RP_STATEMENT_TARGETS_MAX);
	struct rp_command *c;
	(void)state;
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, NULL), 0);
	assert_int_equal(c->ntargets, RP_STATEMENT_TARGETS_MAX);
	rp_command_free(c);
	free(t);
}

static void too_many_targets(void **state)
{
	char *t = with_targets(RP_STATEMENT_TARGETS_MAX + 1);
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	(void)state;
	assert_int_equal(rp_command_parse_text(t, strlen(t), &c, &d), RP_E_TOOBIG);
	assert_null(c);
	assert_diag_has(&d, "targets");
	free(t);
}

static void over_log_entry_max(void **state)
{
	size_t n = RP_LOG_ENTRY_MAX + 1;
	char *t = malloc(n);
	struct rp_command *c = NULL;
	(void)state;
	memset(t, 'a', n);
	t[n - 1] = '\n';
	assert_int_equal(rp_command_parse_text(t, n, &c, NULL), RP_E_TOOBIG);
	assert_null(c);
	free(t);
}

static void device_id(void **state)
{
	struct rp_skey alice;
	uint8_t h[32];
	char id[RP_ID_HEX + 1], want[65];
	(void)state;
	vec_skey(0, &alice);
	rp_device_id(alice.pub, id);
	crypto_hash_sha256(h, alice.pub, 32);
	sodium_bin2hex(want, sizeof(want), h, 32);
	want[RP_ID_HEX] = '\0';
	assert_string_equal(id, want);
	assert_true(rp_id_valid(id, strlen(id)));
}

/* ---- result notes ---- */

static const char result_golden[] = "rampart/result/v1\n"
				    "org acme\n"
				    "device " T1 "\n"
				    "command 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
				    "status timed-out\n"
				    "exit -1\n"
				    "signal 9\n"
				    "duration-ms 2001\n"
				    "output sha256:" HASH0 " 5\n";

static void result_round_trip(void **state)
{
	struct rp_result r;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_result_parse_text(result_golden, strlen(result_golden), &r, NULL), 0);
	assert_string_equal(r.org, "acme");
	assert_string_equal(r.device, T1);
	assert_string_equal(r.command, "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9");
	assert_int_equal(r.status, RP_RESULT_TIMED_OUT);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.signal, 9);
	assert_int_equal(r.duration_ms, 2001);
	assert_int_equal(r.output_size, 5);
	out = rp_result_format(&r, &len);
	assert_int_equal(len, strlen(result_golden));
	assert_memory_equal(out, result_golden, len);
	free(out);
}

static void result_every_status(void **state)
{
	static const enum rp_result_status st[] = {RP_RESULT_DONE,   RP_RESULT_TIMED_OUT,
						   RP_RESULT_FAILED, RP_RESULT_REFUSED,
						   RP_RESULT_KILLED, RP_RESULT_KILLED};
	static const int32_t codes[] = {0, 255, -1, 7, -1, 0};
	/* killed with exit 0: it exited by itself on the agent's SIGTERM */
	static const int32_t sigs[] = {0, 9, 0, 0, 11, 15};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(st); i++) {
		struct rp_result r = {0}, back;
		char *t;
		size_t len;

		memcpy(r.org, "acme", 4);
		memcpy(r.device, T1, RP_ID_HEX);
		memcpy(r.command, T2, RP_ID_HEX);
		r.status = st[i];
		r.exit_code = codes[i];
		r.signal = sigs[i];
		r.duration_ms = UINT32_MAX;
		r.output_size = RP_OUTPUT_KEEP;
		r.output_hash[31] = 0xab;
		t = rp_result_format(&r, &len);
		assert_non_null(t);
		assert_int_equal(rp_result_parse_text(t, len, &back, NULL), 0);
		assert_string_equal(back.org, r.org);
		assert_string_equal(back.device, r.device);
		assert_string_equal(back.command, r.command);
		assert_int_equal(back.status, r.status);
		assert_int_equal(back.exit_code, r.exit_code);
		assert_int_equal(back.signal, r.signal);
		assert_int_equal(back.duration_ms, r.duration_ms);
		assert_memory_equal(back.output_hash, r.output_hash, 32);
		assert_int_equal(back.output_size, r.output_size);
		free(t);
	}
}

/* docs/formats.md: the text of a command a SIGSEGV ended. */
static void result_killed_text(void **state)
{
	static const char want[] = "rampart/result/v1\n"
				   "org acme\n"
				   "device " T1 "\n"
				   "command " T2 "\n"
				   "status killed\n"
				   "exit -1\n"
				   "signal 11\n"
				   "duration-ms 12\n"
				   "output sha256:" HASH0 " 0\n";
	struct rp_result r = {0}, back;
	size_t len;
	char *t;
	(void)state;

	memcpy(r.org, "acme", 4);
	memcpy(r.device, T1, RP_ID_HEX);
	memcpy(r.command, T2, RP_ID_HEX);
	r.status = RP_RESULT_KILLED;
	r.exit_code = -1;
	r.signal = 11;
	r.duration_ms = 12;
	assert_int_equal(rp_hex_decode(HASH0, 64, r.output_hash, 32), 0);
	t = rp_result_format(&r, &len);
	assert_string_equal(t, want);
	assert_int_equal(rp_result_parse_text(t, len, &back, NULL), 0);
	assert_int_equal(back.status, RP_RESULT_KILLED);
	assert_string_equal(rp_result_status_name(back.status), "killed");
	assert_int_equal(back.signal, 11);
	free(t);
}

static void result_rejects(const char *from, const char *to, const char *why)
{
	char *bad = replace(result_golden, from, to);
	struct rp_result r;
	struct rp_diag d = {""};

	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(rp_result_parse_text(bad, strlen(bad), &r, &d), RP_E_MALFORMED);
	assert_int_equal(r.org[0], 0x5a); /* untouched */
	assert_diag_has(&d, why);
	free(bad);
}

#define RCASE(name, from, to, why)             \
	static void name(void **state)         \
	{                                      \
		(void)state;                   \
		result_rejects(from, to, why); \
	}

RCASE(result_wrong_header, "rampart/result/v1", "rampart/result/v0", "first line")
RCASE(result_bad_status, "status timed-out", "status exploded", "exploded")
RCASE(result_exit_256, "exit -1", "exit 256", "256")
RCASE(result_exit_minus_2, "exit -1", "exit -2", "-2")
RCASE(result_exit_leading_zero, "exit -1", "exit 01", "01")
RCASE(result_missing_duration, "duration-ms 2001\n", "", "duration-ms")
RCASE(result_fields_out_of_order, "status timed-out\nexit -1\n", "exit -1\nstatus timed-out\n",
      "status")
RCASE(result_device_not_id, "device " T1, "device web1", "web1")
RCASE(result_output_too_big, HASH0 " 5\n", HASH0 " 65537\n", "bad value")
RCASE(result_output_bad_hash, "sha256:" HASH0, "sha1:" HASH0, "sha1")
/* A signal is what killed and timed-out carry, and only they. */
RCASE(result_timed_out_without_signal, "signal 9\n", "", "`signal'")
RCASE(result_killed_without_signal, "status timed-out\nexit -1\nsignal 9\n",
      "status killed\nexit -1\n", "`signal'")
RCASE(result_signal_on_done, "status timed-out\nexit -1\n", "status done\nexit 0\n", "duration-ms")
RCASE(result_signal_on_failed, "status timed-out", "status failed", "duration-ms")
RCASE(result_signal_zero, "signal 9", "signal 0", "`0'")
RCASE(result_signal_65, "signal 9", "signal 65", "65")
RCASE(result_signal_leading_zero, "signal 9", "signal 09", "09")
RCASE(result_signal_name, "signal 9", "signal KILL", "KILL")
RCASE(result_done_without_exit, "status timed-out\nexit -1\nsignal 9\n", "status done\nexit -1\n",
      "`-1'")
RCASE(result_extra_line, "output sha256:" HASH0 " 5\n", "output sha256:" HASH0 " 5\ncomment hi\n",
      "after `output'")

static void result_missing_trailing_newline(void **state)
{
	struct rp_result r;
	(void)state;
	assert_int_equal(rp_result_parse_text(result_golden, strlen(result_golden) - 1, &r, NULL),
			 RP_E_MALFORMED);
}

/* ---- signed by the device: rp_result_verify, rp_facts_verify ---- */

/* A device key, the note key named after its id (as the agent makes it). */
static void device_skey(uint8_t seed, struct rp_skey *ret, char id[RP_ID_HEX + 1])
{
	test_skey("device", seed, ret);
	rp_device_id(ret->pub, id);
	memset(ret->name, 0, sizeof(ret->name));
	memcpy(ret->name, id, RP_ID_HEX);
	ret->id = rp_key_id(ret->name, RP_ID_HEX, RP_KEY_ED25519, ret->pub);
}

static char *signed_by(const char *text, const struct rp_skey *k)
{
	char *out;
	size_t len;

	assert_int_equal(rp_note_sign(text, strlen(text), NULL, k, &out, &len), 0);
	return out;
}

static void result_verify_by_device_key(void **state)
{
	struct rp_skey dev, other;
	char id[RP_ID_HEX + 1], oid[RP_ID_HEX + 1], *text, *note, *wrong;
	struct rp_result r;
	struct rp_vkey vk;
	struct rp_diag d = {""};
	(void)state;

	device_skey(0x21, &dev, id);
	device_skey(0x22, &other, oid);
	rp_device_vkey(dev.pub, NULL, &vk);
	assert_string_equal(vk.name, id);
	assert_int_equal(vk.id, dev.id);
	text = replace(result_golden, T1, id);
	note = signed_by(text, &dev);
	assert_int_equal(rp_result_verify(note, strlen(note), dev.pub, NULL, &r, &d), 0);
	assert_string_equal(r.device, id);
	/* Another device's key: its note is not this device's. */
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(rp_result_verify(note, strlen(note), other.pub, NULL, &r, &d), RP_E_NOSIG);
	assert_int_equal(r.org[0], 0x5a);
	/* Signed by the right key, naming another device. */
	free(note);
	free(text);
	text = replace(result_golden, T1, oid);
	wrong = signed_by(text, &dev);
	assert_int_equal(rp_result_verify(wrong, strlen(wrong), dev.pub, NULL, &r, &d), RP_E_KEY);
	assert_diag_has(&d, oid);
	free(wrong);
	free(text);
}

static const char facts_golden[] = "rampart/facts/v1\n"
				   "org acme\n"
				   "device " T1 "\n"
				   "hostname web1.example.com\n"
				   "os Debian GNU/Linux 12 (bookworm)\n"
				   "agent-version 0.1.0\n";

static void facts_round_trip(void **state)
{
	struct rp_facts f;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_facts_parse_text(facts_golden, strlen(facts_golden), &f, NULL), 0);
	assert_string_equal(f.org, "acme");
	assert_string_equal(f.device, T1);
	assert_string_equal(f.hostname, "web1.example.com");
	assert_string_equal(f.os, "Debian GNU/Linux 12 (bookworm)");
	assert_string_equal(f.agent_version, "0.1.0");
	out = rp_facts_format(&f, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(facts_golden));
	assert_memory_equal(out, facts_golden, len);
	free(out);
	/* A value that cannot be parsed back is never formatted (and so never signed). */
	snprintf(f.hostname, sizeof(f.hostname), "web1\x1b[2J");
	assert_null(rp_facts_format(&f, &len));
	snprintf(f.hostname, sizeof(f.hostname), "web1 ");
	assert_null(rp_facts_format(&f, &len));
}

static void facts_rejects(const char *from, const char *to, const char *why)
{
	char *bad = replace(facts_golden, from, to);
	struct rp_facts f;
	struct rp_diag d = {""};

	memset(&f, 0x5a, sizeof(f));
	assert_true(rp_facts_parse_text(bad, strlen(bad), &f, &d) < 0);
	assert_int_equal(f.org[0], 0x5a); /* untouched */
	assert_diag_has(&d, why);
	free(bad);
}

#define FCASE(name, from, to, why)            \
	static void name(void **state)        \
	{                                     \
		(void)state;                  \
		facts_rejects(from, to, why); \
	}

FCASE(facts_wrong_header, "rampart/facts/v1", "rampart/facts/v2", "first line")
FCASE(facts_empty_hostname, "hostname web1.example.com", "hostname ", "bad value")
FCASE(facts_hostname_escape, "web1.example.com", "web1\x1b[2J", "control character")
FCASE(facts_hostname_carriage_return, "web1.example.com", "web1\rdone", "control character")
FCASE(facts_out_of_order, "hostname web1.example.com\nos Debian GNU/Linux 12 (bookworm)\n",
      "os Debian GNU/Linux 12 (bookworm)\nhostname web1.example.com\n", "hostname")
FCASE(facts_version_space, "agent-version 0.1.0", "agent-version 0.1 .0", "bad value")
FCASE(facts_extra_line, "agent-version 0.1.0\n", "agent-version 0.1.0\nuptime 5\n",
      "after `agent-version'")
FCASE(facts_device_not_id, "device " T1, "device web1", "web1")

static void facts_verify_by_device_key(void **state)
{
	struct rp_skey dev, other;
	char id[RP_ID_HEX + 1], oid[RP_ID_HEX + 1], *text, *note;
	struct rp_facts f;
	struct rp_diag d = {""};
	(void)state;

	device_skey(0x31, &dev, id);
	device_skey(0x32, &other, oid);
	text = replace(facts_golden, T1, id);
	note = signed_by(text, &dev);
	assert_int_equal(rp_facts_verify(note, strlen(note), dev.pub, &f, &d), 0);
	assert_string_equal(f.hostname, "web1.example.com");
	/* The server hands one device's facts to another. */
	assert_int_equal(rp_facts_verify(note, strlen(note), other.pub, &f, &d), RP_E_NOSIG);
	free(note);
	/* Or signs facts of its own under a device's name. */
	note = signed_by(text, &other);
	assert_int_equal(rp_facts_verify(note, strlen(note), dev.pub, &f, &d), RP_E_NOSIG);
	free(note);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(directory_targets),
		cmocka_unit_test(directory_as_command),
		cmocka_unit_test(round_trip_without_comment),
		cmocka_unit_test(parse_signed),
		cmocka_unit_test(parse_signed_needs_signature),
		cmocka_unit_test(wrong_header),
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
		cmocka_unit_test(unknown_field_in_header_block),
		cmocka_unit_test(line_without_value),
		cmocka_unit_test(duplicated_org),
		cmocka_unit_test(duplicated_kind),
		cmocka_unit_test(duplicated_comment),
		cmocka_unit_test(duplicated_target),
		cmocka_unit_test(fields_out_of_order),
		cmocka_unit_test(times_out_of_order),
		cmocka_unit_test(bad_org),
		cmocka_unit_test(id_uppercase),
		cmocka_unit_test(id_31_chars),
		cmocka_unit_test(id_33_chars),
		cmocka_unit_test(id_not_hex),
		cmocka_unit_test(unknown_kind),
		cmocka_unit_test(duplicate_among_many),
		cmocka_unit_test(upgrade_kind),
		cmocka_unit_test(upgrade_as_another_user),
		cmocka_unit_test(upgrade_payload_not_a_release),
		cmocka_unit_test(not_before_bad_time),
		cmocka_unit_test(expires_bad_time),
		cmocka_unit_test(expires_equals_not_before),
		cmocka_unit_test(expires_before_not_before),
		cmocka_unit_test(window_over_31_days),
		cmocka_unit_test(window_exactly_31_days),
		cmocka_unit_test(run_as_invalid),
		cmocka_unit_test(run_as_uppercase),
		cmocka_unit_test(run_as_leading_digit),
		cmocka_unit_test(run_as_too_long),
		cmocka_unit_test(timeout_zero),
		cmocka_unit_test(timeout_too_long),
		cmocka_unit_test(timeout_leading_zero),
		cmocka_unit_test(timeout_negative),
		cmocka_unit_test(timeout_trailing_space),
		cmocka_unit_test(payload_bad_hash),
		cmocka_unit_test(payload_short_hash),
		cmocka_unit_test(payload_uppercase_hash),
		cmocka_unit_test(payload_not_sha256),
		cmocka_unit_test(payload_missing_size),
		cmocka_unit_test(payload_too_big),
		cmocka_unit_test(payload_size_leading_zero),
		cmocka_unit_test(limits_accepted),
		cmocka_unit_test(target_after_comment),
		cmocka_unit_test(target_not_an_id),
		cmocka_unit_test(target_uppercase),
		cmocka_unit_test(comment_empty),
		cmocka_unit_test(comment_too_long),
		cmocka_unit_test(crlf_line_endings),
		cmocka_unit_test(targets_at_max),
		cmocka_unit_test(too_many_targets),
		cmocka_unit_test(over_log_entry_max),
		cmocka_unit_test(device_id),
		cmocka_unit_test(result_round_trip),
		cmocka_unit_test(result_every_status),
		cmocka_unit_test(result_wrong_header),
		cmocka_unit_test(result_bad_status),
		cmocka_unit_test(result_exit_256),
		cmocka_unit_test(result_exit_minus_2),
		cmocka_unit_test(result_exit_leading_zero),
		cmocka_unit_test(result_missing_duration),
		cmocka_unit_test(result_fields_out_of_order),
		cmocka_unit_test(result_device_not_id),
		cmocka_unit_test(result_output_too_big),
		cmocka_unit_test(result_output_bad_hash),
		cmocka_unit_test(result_killed_text),
		cmocka_unit_test(result_timed_out_without_signal),
		cmocka_unit_test(result_killed_without_signal),
		cmocka_unit_test(result_signal_on_done),
		cmocka_unit_test(result_signal_on_failed),
		cmocka_unit_test(result_signal_zero),
		cmocka_unit_test(result_signal_65),
		cmocka_unit_test(result_signal_leading_zero),
		cmocka_unit_test(result_signal_name),
		cmocka_unit_test(result_done_without_exit),
		cmocka_unit_test(result_extra_line),
		cmocka_unit_test(result_missing_trailing_newline),
		cmocka_unit_test(result_verify_by_device_key),
		cmocka_unit_test(facts_round_trip),
		cmocka_unit_test(facts_wrong_header),
		cmocka_unit_test(facts_empty_hostname),
		cmocka_unit_test(facts_hostname_escape),
		cmocka_unit_test(facts_hostname_carriage_return),
		cmocka_unit_test(facts_out_of_order),
		cmocka_unit_test(facts_version_space),
		cmocka_unit_test(facts_extra_line),
		cmocka_unit_test(facts_device_not_id),
		cmocka_unit_test(facts_verify_by_device_key),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("statement", tests, NULL, NULL);
}
