/* SPDX-License-Identifier: Apache-2.0 */
/* Root policy: strict parsing (a named case per malformed input), round
 * trip, initial verification, and the quorum rule. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define FUTURE 4102444800 /* 2100-01-01 */

static void round_trip(void **state)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE), *out, hash[72];
	struct rp_policy *p;
	size_t len;
	(void)state;

	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	assert_string_equal(p->org, "acme");
	assert_int_equal(p->nkeys, 3);
	assert_int_equal(p->roles[RP_ROLE_EXEC].threshold, 2);
	assert_int_equal(p->roles[RP_ROLE_QUERY].threshold, 1);
	out = rp_policy_format(p, &len);
	assert_string_equal(out, t);
	rp_sha256_text(t, strlen(t), hash);
	assert_string_equal(p->hash, hash);
	free(out);
	rp_policy_free(p);
	free(t);
}

/* Each case: a replacement applied to a valid policy, and a word the
 * diagnostic must contain. */
static void rejects(const char *from, const char *to, const char *why)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE), *bad = replace(t, from, to);
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};

	assert_int_not_equal(rp_policy_parse_text(bad, strlen(bad), &p, &d), 0);
	assert_null(p);
	if (!strstr(d.msg, why))
		fail_msg("diagnostic `%s' does not mention `%s'", d.msg, why);
	free(bad);
	free(t);
}

static void wrong_header(void **s) { (void)s; rejects("rampart/policy/v1", "rampart/policy/v2", "first line"); }
static void missing_org(void **s) { (void)s; rejects("org acme\n", "", "org"); }
static void bad_org_name(void **s) { (void)s; rejects("org acme", "org Acme", "org"); }
static void version_zero(void **s) { (void)s; rejects("version 1", "version 0", "version"); }
static void version_leading_zero(void **s) { (void)s; rejects("version 1", "version 01", "version"); }
static void bad_expires(void **s) { (void)s; rejects("expires 2100-01-01T00:00:00Z", "expires 2100-01-01", "expires"); }
static void unknown_field(void **s) { (void)s; rejects("role root", "colour blue\nrole root", "unknown field"); }
static void key_after_role(void **s) { (void)s; rejects("role query", "key x+00000000+AAAA\nrole query", "key line after"); }
static void duplicate_key_name(void **s)
{
	(void)s;
	rejects("key bob.example+cf055346+AaCapfR6Z1mAL/lV+NwtKhSlyZ0jvpf4ZBJ/+Tg0VaTw",
		"key alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3", "twice");
}
static void same_pubkey_two_names(void **s)
{
	/* alice's public key under the name "mallory": a key counted once. */
	struct rp_vkey v;
	char *text;
	(void)s;
	vec_vkey(0, &v);
	snprintf(v.name, sizeof(v.name), "mallory");
	v.id = rp_key_id("mallory", 7, RP_KEY_ED25519, v.pub);
	text = rp_vkey_format(&v);
	char line[600];
	snprintf(line, sizeof(line), "key %s\nrole root", text);
	rejects("role root", line, "public key");
	free(text);
}
static void role_undeclared_key(void **s) { (void)s; rejects("role exec 2 alice.example", "role exec 2 eve.example", "no key line"); }
static void role_key_twice(void **s) { (void)s; rejects("role exec 2 alice.example bob.example", "role exec 2 alice.example alice.example", "twice"); }
static void threshold_zero(void **s) { (void)s; rejects("role exec 2", "role exec 0", "threshold"); }
static void threshold_above_keys(void **s) { (void)s; rejects("role exec 2", "role exec 4", "exceeds"); }
static void missing_role(void **s) { (void)s; rejects("role directory 2 alice.example bob.example carol.example\n", "", "missing role"); }
static void roles_out_of_order(void **s) { (void)s; rejects("role root 2", "role exec 2", "expected role"); }
static void trailing_space(void **s) { (void)s; rejects("carol.example\nrole exec", "carol.example \nrole exec", "space"); }
static void no_trailing_newline(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	struct rp_policy *p = NULL;
	(void)s;
	assert_int_equal(rp_policy_parse_text(t, strlen(t) - 1, &p, NULL), RP_E_MALFORMED);
	free(t);
}
static void cosigner_key_as_admin(void **s)
{
	size_t len;
	char *w = vec_read("note/witness1.vkey", &len), line[600];
	(void)s;
	w[strcspn(w, "\n")] = '\0';
	snprintf(line, sizeof(line), "key %s\nrole root", w);
	rejects("role root", line, "Ed25519");
	free(w);
}

static struct rp_policy *signed_policy(int64_t expires, const int *who)
{
	char *t = policy_text(2, 2, 1, 2, expires), *n = sign_by(t, strlen(t), who);
	struct rp_policy *p;
	assert_int_equal(rp_policy_parse(n, strlen(n), &p, NULL), 0);
	free(t);
	free(n);
	return p;
}

static void initial_ok(void **s)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, 2, -1});
	(void)s;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, rp_now(), NULL), 0);
	rp_policy_free(p);
}

static void initial_one_root_signature(void **s)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, -1});
	(void)s;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, rp_now(), NULL), RP_E_QUORUM);
	rp_policy_free(p);
}

static void initial_wrong_hash(void **s)
{
	struct rp_policy *p = signed_policy(FUTURE, (int[]){0, 1, -1});
	char other[72];
	(void)s;
	rp_sha256_text("x", 1, other);
	assert_int_equal(rp_policy_verify_initial(p, other, rp_now(), NULL), RP_E_POLICY);
	rp_policy_free(p);
}

static void initial_expired(void **s)
{
	struct rp_policy *p = signed_policy(rp_now() - 10, (int[]){0, 1, -1});
	(void)s;
	assert_int_equal(rp_policy_verify_initial(p, p->hash, rp_now(), NULL), RP_E_EXPIRED);
	rp_policy_free(p);
}

/* ---- quorum ---- */

static int quorum_of(const char *policy, const int *who, size_t *count)
{
	struct rp_policy *p;
	struct rp_note *n;
	const char *text = "rampart/command/v1\nhello\n";
	char *signed_text = sign_by(text, strlen(text), who);
	int r;

	assert_int_equal(rp_policy_parse_text(policy, strlen(policy), &p, NULL), 0);
	assert_int_equal(rp_note_parse(signed_text, strlen(signed_text), &n, NULL), 0);
	r = rp_quorum_check(p, RP_ROLE_EXEC, n, count, NULL);
	rp_note_free(n);
	rp_policy_free(p);
	free(signed_text);
	return r;
}

static void quorum_met(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	size_t count;
	(void)s;
	assert_int_equal(quorum_of(t, (int[]){0, 1, -1}, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(quorum_of(t, (int[]){0, 1, 2, -1}, &count), 0);
	assert_int_equal(count, 3);
	free(t);
}

static void quorum_duplicate_signer(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	size_t count;
	(void)s;
	/* alice twice: rp_note_sign drops the identical line, so build it by hand. */
	const char *text = "rampart/command/v1\nhello\n";
	char *one = sign_by(text, strlen(text), (int[]){0, -1});
	const char *sig = strstr(one, "\n\n") + 2;
	char *two = malloc(strlen(one) + strlen(sig) + 1);
	strcpy(two, one);
	strcat(two, sig);
	struct rp_policy *p;
	struct rp_note *n;
	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	assert_int_equal(rp_note_parse(two, strlen(two), &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, &count, NULL), RP_E_QUORUM);
	assert_int_equal(count, 1);
	rp_note_free(n);
	rp_policy_free(p);
	free(one);
	free(two);
	free(t);
}

static void quorum_signer_outside_role(void **s)
{
	/* exec is alice and bob only; carol is an administrator, not in exec. */
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	char *t2 = replace(t, "role exec 2 alice.example bob.example carol.example",
			   "role exec 2 alice.example bob.example");
	size_t count;
	(void)s;
	assert_int_equal(quorum_of(t2, (int[]){0, 2, -1}, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	free(t);
	free(t2);
}

static void quorum_unknown_key(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	struct rp_policy *p;
	struct rp_note *n;
	struct rp_skey eve;
	char *out;
	size_t len, count;
	const char *text = "rampart/command/v1\nhello\n";
	(void)s;
	assert_int_equal(rp_skey_generate("eve.example", &eve), 0);
	assert_int_equal(rp_note_sign(text, strlen(text), NULL, &eve, &out, &len), 0);
	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	assert_int_equal(rp_note_parse(out, len, &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, &count, NULL), RP_E_QUORUM);
	assert_int_equal(count, 0);
	rp_note_free(n);
	rp_policy_free(p);
	free(out);
	free(t);
}

static void quorum_bad_signature_by_role_key(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	struct rp_policy *p;
	struct rp_note *n;
	const char *text = "rampart/command/v1\nhello\n";
	char *good = sign_by(text, strlen(text), (int[]){0, 1, -1});
	char *bad = replace(good, "hello", "hellO");
	(void)s;
	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	assert_int_equal(rp_note_parse(bad, strlen(bad), &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, NULL, NULL), RP_E_BADSIG);
	rp_note_free(n);
	rp_policy_free(p);
	free(good);
	free(bad);
	free(t);
}

static void quorum_threshold_zero_hand_built(void **s)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	struct rp_policy *p;
	struct rp_note *n;
	const char *text = "rampart/command/v1\nhello\n";
	char *sig = sign_by(text, strlen(text), (int[]){0, -1});
	(void)s;
	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	p->roles[RP_ROLE_EXEC].threshold = 0;
	assert_int_equal(rp_note_parse(sig, strlen(sig), &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, NULL, NULL), RP_E_POLICY);
	rp_note_free(n);
	rp_policy_free(p);
	free(sig);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(wrong_header),
		cmocka_unit_test(missing_org),
		cmocka_unit_test(bad_org_name),
		cmocka_unit_test(version_zero),
		cmocka_unit_test(version_leading_zero),
		cmocka_unit_test(bad_expires),
		cmocka_unit_test(unknown_field),
		cmocka_unit_test(key_after_role),
		cmocka_unit_test(duplicate_key_name),
		cmocka_unit_test(same_pubkey_two_names),
		cmocka_unit_test(role_undeclared_key),
		cmocka_unit_test(role_key_twice),
		cmocka_unit_test(threshold_zero),
		cmocka_unit_test(threshold_above_keys),
		cmocka_unit_test(missing_role),
		cmocka_unit_test(roles_out_of_order),
		cmocka_unit_test(trailing_space),
		cmocka_unit_test(no_trailing_newline),
		cmocka_unit_test(cosigner_key_as_admin),
		cmocka_unit_test(initial_ok),
		cmocka_unit_test(initial_one_root_signature),
		cmocka_unit_test(initial_wrong_hash),
		cmocka_unit_test(initial_expired),
		cmocka_unit_test(quorum_met),
		cmocka_unit_test(quorum_duplicate_signer),
		cmocka_unit_test(quorum_signer_outside_role),
		cmocka_unit_test(quorum_unknown_key),
		cmocka_unit_test(quorum_bad_signature_by_role_key),
		cmocka_unit_test(quorum_threshold_zero_hand_built),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
