/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root policy (lib/policy.c, docs/formats.md): the canonical text round
 * trips byte for byte, the hash is SHA-256 of the text, every malformed
 * input is refused with a diagnostic that says why (one named case each),
 * and version 1 is accepted at enrolment only with its root quorum, the
 * expected hash and before it expires.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define FUTURE 4102444800 /* 2100-01-01T00:00:00Z */
#define NOW    1795000000 /* 2026-11-18 */

#define K_ALICE "alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3"
#define K_BOB   "bob.example+cf055346+AaCapfR6Z1mAL/lV+NwtKhSlyZ0jvpf4ZBJ/+Tg0VaTw"
#define K_CAROL "carol.example+49c530a3+ARfLefsrQSDysexl5BmNbgiyjoE/6wHkpACDm4XhgIDO"

/* Written by hand from docs/formats.md and note/keys.txt. */
static const char golden[] =
	"rampart/policy/v1\n"
	"org acme\n"
	"version 1\n"
	"expires 2100-01-01T00:00:00Z\n"
	"key " K_ALICE "\n"
	"key " K_BOB "\n"
	"key " K_CAROL "\n"
	"role root 2 alice.example bob.example carol.example\n"
	"role exec 2 alice.example bob.example carol.example\n"
	"role query 1 alice.example bob.example carol.example\n"
	"role directory 2 alice.example bob.example carol.example\n" POLICY_LOG_TAIL;

static void round_trip(void **state)
{
	struct rp_policy *p = NULL;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_policy_parse_text(golden, strlen(golden), &p, NULL), 0);
	assert_null(p->note);
	assert_string_equal(p->org, "acme");
	assert_int_equal(p->version, 1);
	assert_int_equal(p->expires, FUTURE);
	assert_int_equal(p->nkeys, 3);
	assert_string_equal(p->keys[0].name, "alice.example");
	assert_string_equal(p->keys[2].name, "carol.example");
	assert_int_equal(p->keys[1].id, 0xcf055346);
	static const unsigned want[RP_ROLE_COUNT] = {2, 2, 1, 2};
	for (int r = 0; r < RP_ROLE_COUNT; r++) {
		assert_int_equal(p->roles[r].threshold, want[r]);
		assert_int_equal(p->roles[r].nkeys, 3);
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(p->roles[r].keys[i], i);
	}
	assert_int_equal(rp_policy_key_index(p, "bob.example"), 1);
	assert_int_equal(rp_policy_key_index(p, "eve.example"), -1);
	out = rp_policy_format(p, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(golden));
	assert_memory_equal(out, golden, len);
	free(out);
	rp_policy_free(p);
}

static void hash_is_sha256_of_text(void **state)
{
	struct rp_policy *p;
	uint8_t h[32];
	char want[72] = "sha256:";
	(void)state;

	crypto_hash_sha256(h, (const uint8_t *)golden, strlen(golden));
	sodium_bin2hex(want + 7, 65, h, 32);
	assert_int_equal(rp_policy_parse_text(golden, strlen(golden), &p, NULL), 0);
	assert_string_equal(p->hash, want);
	rp_policy_free(p);
}

static void signed_round_trip(void **state)
{
	char *n = sign_by(golden, strlen(golden), (int[]){0, 1, -1}), *out;
	struct rp_policy *p, *q;
	size_t len;
	(void)state;

	assert_int_equal(rp_policy_parse(n, strlen(n), &p, NULL), 0);
	assert_non_null(p->note);
	assert_int_equal(p->note->nsigs, 2);
	assert_int_equal(rp_policy_parse_text(golden, strlen(golden), &q, NULL), 0);
	/* Signatures are not part of the hash. */
	assert_string_equal(p->hash, q->hash);
	out = rp_policy_format(p, &len);
	assert_string_equal(out, golden);
	free(out);
	rp_policy_free(p);
	rp_policy_free(q);
	free(n);
}

static void helper_policy_is_canonical(void **state)
{
	/* policy_text() (used by the other binaries) yields canonical text too. */
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	(void)state;
	assert_string_equal(t, golden);
	free(t);
}

/* A replacement applied to the golden policy; a word the diagnostic names. */
static void rejects_as(const char *from, const char *to, int want, const char *why)
{
	char *bad = replace(golden, from, to);
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};

	assert_int_equal(rp_policy_parse_text(bad, strlen(bad), &p, &d), want);
	assert_null(p);
	assert_diag_has(&d, why);
	free(bad);
}

static void rejects(const char *from, const char *to, const char *why)
{
	rejects_as(from, to, RP_E_MALFORMED, why);
}

#define CASE(name, from, to, why)       \
	static void name(void **state)  \
	{                               \
		(void)state;            \
		rejects(from, to, why); \
	}

CASE(wrong_header, "rampart/policy/v1\n", "rampart/policy/v2\n", "first line")
CASE(missing_header, "rampart/policy/v1\n", "", "first line")
CASE(missing_org, "org acme\n", "", "org")
CASE(bad_org_name, "org acme\n", "org Acme\n", "org")
CASE(org_leading_dash, "org acme\n", "org -acme\n", "org")
CASE(org_empty, "org acme\n", "org \n", "org")
CASE(missing_version, "version 1\n", "", "version")
CASE(version_zero, "version 1\n", "version 0\n", "version")
CASE(version_leading_zero, "version 1\n", "version 01\n", "version")
CASE(version_negative, "version 1\n", "version -1\n", "version")
CASE(missing_expires, "expires 2100-01-01T00:00:00Z\n", "", "expires")
CASE(bad_expires, "expires 2100-01-01T00:00:00Z", "expires 2100-01-01", "expires")
CASE(expires_feb_30, "expires 2100-01-01T00:00:00Z", "expires 2100-02-30T00:00:00Z", "expires")
CASE(fields_out_of_order, "org acme\nversion 1\n", "version 1\norg acme\n", "org")
CASE(unknown_field, "role root", "colour blue\nrole root", "unknown field")
CASE(line_without_value, "role root", "witness\nrole root", "field value")
CASE(key_after_role, "role query", "key " K_CAROL "\nrole query", "key line after")
CASE(duplicate_key_name, "key " K_BOB "\n", "key " K_ALICE "\n", "twice")
CASE(key_bad_text, "key " K_BOB "\n", "key bob.example+cf055346+AaCapfR6Z1mAL\n", "bob.example")
CASE(no_keys, "key " K_ALICE "\nkey " K_BOB "\nkey " K_CAROL "\n", "", "no key lines")
CASE(role_undeclared_key, "role exec 2 alice.example", "role exec 2 eve.example", "no key line")
CASE(role_key_twice, "role exec 2 alice.example bob.example",
     "role exec 2 alice.example alice.example", "twice")
CASE(role_no_keys, "role query 1 alice.example bob.example carol.example", "role query 1",
     "no keys")
CASE(threshold_zero, "role exec 2", "role exec 0", "threshold")
CASE(threshold_above_keys, "role exec 2", "role exec 4", "exceeds")
CASE(threshold_leading_zero, "role exec 2", "role exec 02", "threshold")
CASE(threshold_not_a_number, "role exec 2", "role exec two", "threshold")
CASE(missing_role, "role directory 2 alice.example bob.example carol.example\n", "", "missing role")
CASE(roles_out_of_order, "role root 2", "role exec 2", "expected role")
CASE(unknown_role, "role query 1", "role audit 1", "expected role")
CASE(extra_role_line, "role directory 2 alice.example bob.example carol.example\n",
     "role directory 2 alice.example bob.example carol.example\nrole root 1 alice.example\n",
     "after role directory")
CASE(trailing_space, "carol.example\nrole exec", "carol.example \nrole exec", "space")
CASE(double_space, "role exec 2 alice.example bob.example",
     "role exec 2 alice.example  bob.example", "empty")
CASE(crlf_line_ending, "org acme\n", "org acme\r\n", "control")
CASE(blank_line, "version 1\n", "version 1\n\n", "expires")

/* device-group-threshold lines: after the roles, before freshness. */
#define GT_WALLET_EXEC "device-group-threshold wallet exec 3\n"
#define GT_WALLET_DIR  "device-group-threshold wallet directory 3\n"
#define ROLES_END      "role directory 2 alice.example bob.example carol.example\n"
CASE(gthreshold_root, ROLES_END, ROLES_END "device-group-threshold wallet root 3\n",
     "exec|query|directory")
CASE(gthreshold_not_stricter, ROLES_END, ROLES_END "device-group-threshold wallet exec 2\n",
     "above role exec's")
CASE(gthreshold_above_keys, ROLES_END, ROLES_END "device-group-threshold wallet exec 4\n",
     "at most")
CASE(gthreshold_bad_group, ROLES_END, ROLES_END "device-group-threshold Wallet exec 3\n",
     "is not `device-group-threshold")
CASE(gthreshold_out_of_order, ROLES_END, ROLES_END GT_WALLET_DIR GT_WALLET_EXEC, "out of order")
CASE(gthreshold_twice, ROLES_END, ROLES_END GT_WALLET_EXEC GT_WALLET_EXEC, "out of order")
CASE(gthreshold_after_freshness, "freshness 3600\n", "freshness 3600\n" GT_WALLET_EXEC,
     "unknown field")
CASE(gthreshold_before_roles, "role root", GT_WALLET_EXEC "role root", "unknown field")

static void gthresholds(void **state)
{
	char *text = replace(
		golden, ROLES_END,
		ROLES_END "device-group-threshold db directory 3\n" GT_WALLET_EXEC GT_WALLET_DIR);
	static const char wallet[][RP_USER_NAME_MAX + 1] = {"web", "wallet"};
	static const char db[][RP_USER_NAME_MAX + 1] = {"db"};
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char *out;
	(void)state;

	assert_int_equal(rp_policy_parse_text(text, strlen(text), &p, &d), 0);
	assert_int_equal(p->ngthresholds, 3);
	out = rp_policy_format(p, NULL);
	assert_string_equal(out, text);
	assert_int_equal(rp_policy_threshold(p, RP_ROLE_EXEC, NULL, 0), 2);
	assert_int_equal(rp_policy_threshold(p, RP_ROLE_EXEC, wallet, 2), 3);
	assert_int_equal(rp_policy_threshold(p, RP_ROLE_EXEC, db, 1), 2);
	assert_int_equal(rp_policy_threshold(p, RP_ROLE_DIRECTORY, db, 1), 3);
	assert_int_equal(rp_policy_threshold(p, RP_ROLE_QUERY, wallet, 2), 1);
	free(out);
	rp_policy_free(p);
	free(text);
}

#define PIN_A                \
	"server-pin sha256:" \
	"1111111111111111111111111111111111111111111111111111111111111111\n"
#define PIN_B                \
	"server-pin sha256:" \
	"2222222222222222222222222222222222222222222222222222222222222222\n"
CASE(server_pin_after_log, "group both", PIN_A "group both", "after the log")
CASE(server_pin_not_hex, "freshness 3600\n", "freshness 3600\nserver-pin sha256:xyz\n", "pin")
CASE(server_pin_twice, "freshness 3600\n", "freshness 3600\n" PIN_A PIN_A, "twice")

/* server-pin lines: parsed in order between freshness and log, formatted back. */
static void server_pins_round_trip(void **state)
{
	char *text = replace(golden, "freshness 3600\n", "freshness 3600\n" PIN_A PIN_B);
	struct rp_policy *p = NULL;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_policy_parse_text(text, strlen(text), &p, NULL), 0);
	assert_int_equal(p->npins, 2);
	assert_int_equal(p->pins[0][0], 0x11);
	assert_int_equal(p->pins[1][31], 0x22);
	out = rp_policy_format(p, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(out, text, len);
	free(out);
	rp_policy_free(p);
	free(text);
	/* the golden policy has none: agents keep their enrolment pin */
	assert_int_equal(rp_policy_parse_text(golden, strlen(golden), &p, NULL), 0);
	assert_int_equal(p->npins, 0);
	rp_policy_free(p);
}

static void server_pins_at_most_four(void **state)
{
	char many[512] = "freshness 3600\n";
	(void)state;

	for (int i = 0; i < RP_POLICY_PINS_MAX + 1; i++) {
		char line[96];
		snprintf(line, sizeof(line), "server-pin sha256:%064d\n", i);
		strcat(many, line);
	}
	rejects_as("freshness 3600\n", many, RP_E_TOOBIG, "server-pin");
}

static void missing_trailing_newline(void **state)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	(void)state;
	assert_int_equal(rp_policy_parse_text(golden, strlen(golden) - 1, &p, &d), RP_E_MALFORMED);
	assert_null(p);
	assert_diag_has(&d, "newline");
}

static void same_pubkey_two_names(void **state)
{
	/* alice's public key again under the name mallory.example. */
	struct rp_vkey v;
	char *text, *line;
	(void)state;

	vec_vkey(0, &v);
	memset(v.name, 0, sizeof(v.name));
	memcpy(v.name, "mallory.example", 15);
	v.id = rp_key_id(v.name, 15, RP_KEY_ED25519, v.pub);
	text = rp_vkey_format(&v);
	line = concat("key ", text);
	char *with = concat(line, "\nrole root");
	rejects("role root", with, "public key");
	free(with);
	free(line);
	free(text);
}

static void cosigner_key_as_admin(void **state)
{
	size_t len;
	char *w = vec_read("note/witness1.vkey", &len);
	(void)state;

	w[strcspn(w, "\n")] = '\0';
	char *line = concat("key ", w), *with = concat(line, "\nrole root");
	rejects("role root", with, "Ed25519");
	free(with);
	free(line);
	free(w);
}

/* n more key lines, then "role root". */
static char *extra_keys(int n)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 1 << 16);
	for (int i = 0; i < n; i++) {
		struct rp_skey sk;
		struct rp_vkey vk;
		char name[32], *t;

		snprintf(name, sizeof(name), "k%d.example", i);
		test_skey(name, (uint8_t)(0x80 + i), &sk);
		rp_skey_vkey(&sk, &vk);
		t = rp_vkey_format(&vk);
		rp_sb_printf(&sb, "key %s\n", t);
		free(t);
	}
	rp_sb_puts(&sb, "role root");
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

static void keys_at_max(void **state)
{
	char *keys = extra_keys(RP_POLICY_KEYS_MAX - 3), *text = replace(golden, "role root", keys);
	struct rp_policy *p;
	(void)state;

	assert_int_equal(rp_policy_parse_text(text, strlen(text), &p, NULL), 0);
	assert_int_equal(p->nkeys, RP_POLICY_KEYS_MAX);
	rp_policy_free(p);
	free(text);
	free(keys);
}

static void too_many_keys(void **state)
{
	char *keys = extra_keys(RP_POLICY_KEYS_MAX - 2);
	(void)state;

	rejects_as("role root", keys, RP_E_TOOBIG, "more than 32 keys");
	free(keys);
}

/* ---- version 1 at enrolment ---- */

static struct rp_policy *signed_policy(int64_t expires, const int *who)
{
	char *t = policy_text(2, 2, 1, 2, expires), *n = sign_by(t, strlen(t), who);
	struct rp_policy *p;

	assert_int_equal(rp_policy_parse(n, strlen(n), &p, NULL), 0);
	free(t);
	free(n);
	return p;
}

static void initial_ok(void **state)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, 2, -1});
	(void)state;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW, NULL), 0);
	rp_policy_free(p);
}

static void initial_one_root_signature(void **state)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, -1});
	struct rp_diag d = {""};
	(void)state;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW, &d), RP_E_QUORUM);
	assert_diag_has(&d, "root");
	rp_policy_free(p);
}

static void initial_wrong_hash(void **state)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, 1, -1});
	struct rp_diag d = {""};
	char other[72];
	(void)state;
	rp_sha256_text("x", 1, other);
	assert_int_equal(rp_policy_verify_initial(p, other, NOW, &d), RP_E_POLICY);
	assert_diag_has(&d, other);
	rp_policy_free(p);
}

static void initial_expired(void **state)
{
	struct rp_policy *p = signed_policy(NOW - 10, (int[]){0, 1, -1});
	(void)state;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW, NULL), RP_E_EXPIRED);
	/* The instant of expiry is already expired. */
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW - 10, NULL), RP_E_EXPIRED);
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW - 11, NULL), 0);
	rp_policy_free(p);
}

static void initial_unsigned(void **state)
{
	struct rp_policy *p;
	(void)state;
	assert_int_equal(rp_policy_parse_text(golden, strlen(golden), &p, NULL), 0);
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW, NULL), RP_E_POLICY);
	rp_policy_free(p);
}

static void initial_bad_root_signature(void **state)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, 1, -1});
	(void)state;
	p->note->sigs[1].sig[10] ^= 1;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, NOW, NULL), RP_E_BADSIG);
	rp_policy_free(p);
}

static void signed_malformed_note(void **state)
{
	struct rp_policy *p = NULL;
	(void)state;
	/* The text without any signature is not a signed policy. */
	assert_int_equal(rp_policy_parse(golden, strlen(golden), &p, NULL), RP_E_MALFORMED);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(gthresholds),
		cmocka_unit_test(gthreshold_root),
		cmocka_unit_test(gthreshold_not_stricter),
		cmocka_unit_test(gthreshold_above_keys),
		cmocka_unit_test(gthreshold_bad_group),
		cmocka_unit_test(gthreshold_out_of_order),
		cmocka_unit_test(gthreshold_twice),
		cmocka_unit_test(gthreshold_after_freshness),
		cmocka_unit_test(gthreshold_before_roles),
		cmocka_unit_test(hash_is_sha256_of_text),
		cmocka_unit_test(signed_round_trip),
		cmocka_unit_test(helper_policy_is_canonical),
		cmocka_unit_test(wrong_header),
		cmocka_unit_test(missing_header),
		cmocka_unit_test(missing_org),
		cmocka_unit_test(bad_org_name),
		cmocka_unit_test(org_leading_dash),
		cmocka_unit_test(org_empty),
		cmocka_unit_test(missing_version),
		cmocka_unit_test(version_zero),
		cmocka_unit_test(version_leading_zero),
		cmocka_unit_test(version_negative),
		cmocka_unit_test(missing_expires),
		cmocka_unit_test(bad_expires),
		cmocka_unit_test(expires_feb_30),
		cmocka_unit_test(fields_out_of_order),
		cmocka_unit_test(unknown_field),
		cmocka_unit_test(line_without_value),
		cmocka_unit_test(key_after_role),
		cmocka_unit_test(duplicate_key_name),
		cmocka_unit_test(key_bad_text),
		cmocka_unit_test(no_keys),
		cmocka_unit_test(same_pubkey_two_names),
		cmocka_unit_test(cosigner_key_as_admin),
		cmocka_unit_test(keys_at_max),
		cmocka_unit_test(too_many_keys),
		cmocka_unit_test(role_undeclared_key),
		cmocka_unit_test(role_key_twice),
		cmocka_unit_test(role_no_keys),
		cmocka_unit_test(threshold_zero),
		cmocka_unit_test(threshold_above_keys),
		cmocka_unit_test(threshold_leading_zero),
		cmocka_unit_test(threshold_not_a_number),
		cmocka_unit_test(missing_role),
		cmocka_unit_test(roles_out_of_order),
		cmocka_unit_test(unknown_role),
		cmocka_unit_test(extra_role_line),
		cmocka_unit_test(trailing_space),
		cmocka_unit_test(double_space),
		cmocka_unit_test(crlf_line_ending),
		cmocka_unit_test(blank_line),
		cmocka_unit_test(server_pin_after_log),
		cmocka_unit_test(server_pin_not_hex),
		cmocka_unit_test(server_pin_twice),
		cmocka_unit_test(server_pins_round_trip),
		cmocka_unit_test(server_pins_at_most_four),
		cmocka_unit_test(missing_trailing_newline),
		cmocka_unit_test(initial_ok),
		cmocka_unit_test(initial_one_root_signature),
		cmocka_unit_test(initial_wrong_hash),
		cmocka_unit_test(initial_expired),
		cmocka_unit_test(initial_unsigned),
		cmocka_unit_test(initial_bad_root_signature),
		cmocka_unit_test(signed_malformed_note),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
