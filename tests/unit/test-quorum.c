/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_quorum_check (DESIGN.md section 2): signatures by distinct keys of the
 * role, each verified, reaching its threshold. One named test per attack
 * on that rule.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define FUTURE 4102444800
#define TEXT   "rampart/command/v1\nhello\n"

/* exec 2 of alice and bob only; carol is an administrator outside exec. */
static struct rp_policy *policy_exec_ab(void)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	char *t2 = replace(t, "role exec 2 alice.example bob.example carol.example",
			   "role exec 2 alice.example bob.example");
	struct rp_policy *p;

	assert_int_equal(rp_policy_parse_text(t2, strlen(t2), &p, NULL), 0);
	assert_int_equal(p->roles[RP_ROLE_EXEC].nkeys, 2);
	free(t);
	free(t2);
	return p;
}

static struct rp_policy *policy_all(void)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	struct rp_policy *p;

	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	free(t);
	return p;
}

/* Runs the check; count is set to a sentinel first so that it must be written. */
static int check(const struct rp_policy *p, enum rp_role_id role, const char *signed_note,
		 size_t *count)
{
	struct rp_note *n;
	struct rp_diag d = {""};
	int r;

	assert_int_equal(rp_note_parse(signed_note, strlen(signed_note), &n, NULL), 0);
	*count = 999;
	r = rp_quorum_check(p, role, n, count, &d);
	if (r != 0)
		assert_true(d.msg[0] != '\0');
	rp_note_free(n);
	return r;
}

static void threshold_met(void **state)
{
	struct rp_policy *p = policy_all();
	char *two = sign_by(TEXT, strlen(TEXT), (int[]){0, 1, -1});
	char *three = sign_by(TEXT, strlen(TEXT), (int[]){2, 0, 1, -1});
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, two, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(check(p, RP_ROLE_EXEC, three, &count), 0);
	assert_int_equal(count, 3);
	free(two);
	free(three);
	rp_policy_free(p);
}

static void below_threshold(void **state)
{
	struct rp_policy *p = policy_all();
	char *one = sign_by(TEXT, strlen(TEXT), (int[]){1, -1});
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, one, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	/* The same note meets query's threshold of 1. */
	assert_int_equal(check(p, RP_ROLE_QUERY, one, &count), 0);
	assert_int_equal(count, 1);
	free(one);
	rp_policy_free(p);
}

static void duplicate_signer(void **state)
{
	struct rp_policy *p = policy_all();
	char *one = sign_by(TEXT, strlen(TEXT), (int[]){0, -1});
	/* rp_note_sign drops an identical line, so repeat it by hand. */
	char *two = concat(one, sig_block(one));
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, two, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	free(one);
	free(two);
	rp_policy_free(p);
}

static void duplicate_signer_relabelled(void **state)
{
	/*
	 * alice's signature twice, the copy claiming another name: the name
	 * and key id no longer match a key, so it is ignored, not counted.
	 */
	struct rp_policy *p = policy_all();
	char *one = sign_by(TEXT, strlen(TEXT), (int[]){0, -1});
	char *copy = replace(sig_block(one), "alice.example", "bob.example");
	char *two = concat(one, copy);
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, two, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	free(one);
	free(copy);
	free(two);
	rp_policy_free(p);
}

static void signer_outside_role(void **state)
{
	struct rp_policy *p = policy_exec_ab();
	char *ac = sign_by(TEXT, strlen(TEXT), (int[]){0, 2, -1});
	char *c = sign_by(TEXT, strlen(TEXT), (int[]){2, -1});
	size_t count;
	(void)state;

	/* carol is in the policy (root, query, directory) but not in exec. */
	assert_int_equal(check(p, RP_ROLE_EXEC, ac, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	assert_int_equal(check(p, RP_ROLE_EXEC, c, &count), RP_E_QUORUM);
	assert_int_equal(count, 0);
	/* For root, where carol is a member, the same note reaches 2. */
	assert_int_equal(check(p, RP_ROLE_ROOT, ac, &count), 0);
	assert_int_equal(count, 2);
	free(ac);
	free(c);
	rp_policy_free(p);
}

static char *sign_with_eve(const char *note, const char *eve_name)
{
	struct rp_note *n;
	struct rp_skey eve;
	char *out;
	size_t len;

	test_skey(eve_name, 0x66, &eve);
	assert_int_equal(rp_note_parse(note, strlen(note), &n, NULL), 0);
	assert_int_equal(rp_note_sign(n->msg, n->text_len, n, &eve, &out, &len), 0);
	rp_note_free(n);
	return out;
}

/* alice plus eve signing under name: eve's key is in no role, so only alice counts. */
static void check_eve_not_counted(const char *name)
{
	struct rp_policy *p = policy_all();
	char *a = sign_by(TEXT, strlen(TEXT), (int[]){0, -1});
	char *ae = sign_with_eve(a, name);
	size_t count;

	assert_int_equal(check(p, RP_ROLE_EXEC, ae, &count), RP_E_QUORUM);
	assert_int_equal(count, 1);
	free(a);
	free(ae);
	rp_policy_free(p);
}

static void unknown_key(void **state)
{
	(void)state;
	check_eve_not_counted("eve.example");
}

static void unknown_key_with_member_name(void **state)
{
	/* eve's own key, named like bob: the key id differs, so it is not bob. */
	(void)state;
	check_eve_not_counted("bob.example");
}

static void only_unknown_keys(void **state)
{
	struct rp_policy *p = policy_all();
	struct rp_skey eve;
	char *out;
	size_t len, count;
	(void)state;

	test_skey("eve.example", 0x66, &eve);
	assert_int_equal(rp_note_sign(TEXT, strlen(TEXT), NULL, &eve, &out, &len), 0);
	assert_int_equal(check(p, RP_ROLE_EXEC, out, &count), RP_E_QUORUM);
	assert_int_equal(count, 0);
	free(out);
	rp_policy_free(p);
}

static void bad_signature_by_role_key(void **state)
{
	struct rp_policy *p = policy_all();
	char *good = sign_by(TEXT, strlen(TEXT), (int[]){0, 1, 2, -1});
	char *bad = replace(good, "hello", "hellO");
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, good, &count), 0);
	assert_int_equal(check(p, RP_ROLE_EXEC, bad, &count), RP_E_BADSIG);
	free(good);
	free(bad);
	rp_policy_free(p);
}

static void bad_signature_among_valid_quorum(void **state)
{
	/* alice and carol valid (2 of 3 reached), bob's line broken: still refused. */
	struct rp_policy *p = policy_all();
	char *ac = sign_by(TEXT, strlen(TEXT), (int[]){0, 2, -1});
	char *other = sign_by("rampart/command/v1\nother\n", 25, (int[]){1, -1});
	char *mixed = concat(ac, sig_block(other));
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, mixed, &count), RP_E_BADSIG);
	free(ac);
	free(other);
	free(mixed);
	rp_policy_free(p);
}

static void bad_signature_outside_role_ignored(void **state)
{
	/*
	 * Go's note.Open with the role's keys as verifiers: carol is unknown
	 * to exec here, so her broken line is ignored like any unknown key's.
	 */
	struct rp_policy *p = policy_exec_ab();
	char *ab = sign_by(TEXT, strlen(TEXT), (int[]){0, 1, -1});
	char *other = sign_by("rampart/command/v1\nother\n", 25, (int[]){2, -1});
	char *mixed = concat(ab, sig_block(other));
	size_t count;
	(void)state;

	assert_int_equal(check(p, RP_ROLE_EXEC, mixed, &count), 0);
	assert_int_equal(count, 2);
	free(ab);
	free(other);
	free(mixed);
	rp_policy_free(p);
}

static void threshold_zero_hand_built(void **state)
{
	struct rp_policy *p = policy_all();
	char *a = sign_by(TEXT, strlen(TEXT), (int[]){0, -1});
	struct rp_note *n;
	struct rp_diag d = {""};
	(void)state;

	p->roles[RP_ROLE_EXEC].threshold = 0;
	assert_int_equal(rp_note_parse(a, strlen(a), &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, NULL, &d), RP_E_POLICY);
	assert_diag_has(&d, "threshold 0");
	/* Even with no keys in the role at all. */
	p->roles[RP_ROLE_EXEC].nkeys = 0;
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, n, NULL, NULL), RP_E_POLICY);
	rp_note_free(n);
	free(a);
	rp_policy_free(p);
}

static void role_out_of_range(void **state)
{
	struct rp_policy *p = policy_all();
	char *a = sign_by(TEXT, strlen(TEXT), (int[]){0, 1, -1});
	struct rp_note *n;
	(void)state;

	assert_int_equal(rp_note_parse(a, strlen(a), &n, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_COUNT, n, NULL, NULL), RP_E_INVAL);
	rp_note_free(n);
	free(a);
	rp_policy_free(p);
}

/*
 * rp_policy_classify: the verdict on every line, for what shows signatures
 * to a person (rampart approve) or keeps them (rampartd's merge).
 */
static void classify(const struct rp_policy *p, enum rp_role_id role, const char *signed_note,
		     struct rp_sig_check *v, size_t *count)
{
	struct rp_note *n;

	assert_int_equal(rp_note_parse(signed_note, strlen(signed_note), &n, NULL), 0);
	*count = 999;
	assert_int_equal(rp_policy_classify(p, role, n, v, count), 0);
	rp_note_free(n);
}

/* A line under alice's name and alice's key id whose signature is eve's bytes. */
static char *forge_bad_line(const char *note_text)
{
	char *a = sign_by(note_text, strlen(note_text), (int[]){0, -1});
	char *other = sign_by("rampart/command/v1\nother\n", 25, (int[]){0, -1});
	char *mixed = concat(a, sig_block(other));

	free(a);
	free(other);
	return mixed;
}

static void classify_every_verdict(void **state)
{
	/*
	 * exec: alice and bob. Lines: alice (valid), carol (valid, other
	 * role), eve (unknown), eve named bob (impostor), alice's key id
	 * over other text (bad), alice again (valid, not first).
	 */
	struct rp_policy *p = policy_exec_ab();
	char *ac = sign_by(TEXT, strlen(TEXT), (int[]){0, 2, -1});
	char *ace = sign_with_eve(ac, "eve.example");
	char *acee = sign_with_eve(ace, "bob.example");
	char *bad = forge_bad_line(TEXT);
	char *all = concat(acee, sig_block(bad));
	char *again = concat(all, sig_block(ac));
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	size_t count;
	(void)state;

	classify(p, RP_ROLE_EXEC, again, v, &count);
	assert_int_equal(count, 1);
	assert_int_equal(v[0].verdict, RP_SIG_ROLE);
	assert_int_equal(v[0].key, 0);
	assert_true(v[0].first);
	assert_int_equal(v[1].verdict, RP_SIG_OTHER);
	assert_int_equal(v[1].key, 2);
	assert_int_equal(v[2].verdict, RP_SIG_UNKNOWN);
	assert_int_equal(v[2].key, -1);
	assert_int_equal(v[3].verdict, RP_SIG_IMPOSTOR);
	assert_int_equal(v[3].key, 1);
	/* sig_block(bad) is alice's valid line then alice's line over other text. */
	assert_int_equal(v[4].verdict, RP_SIG_ROLE);
	assert_false(v[4].first);
	assert_int_equal(v[5].verdict, RP_SIG_BAD);
	assert_int_equal(v[5].key, 0);
	assert_int_equal(v[6].verdict, RP_SIG_ROLE);
	assert_false(v[6].first);
	assert_int_equal(v[7].verdict, RP_SIG_OTHER);
	assert_false(v[7].first);
	assert_string_equal(rp_sig_verdict_name(RP_SIG_BAD), "INVALID");
	free(ac);
	free(ace);
	free(acee);
	free(bad);
	free(all);
	free(again);
	rp_policy_free(p);
}

static void classify_forged_line_not_counted(void **state)
{
	/*
	 * The attack on `rampart approve': a pending command whose only line
	 * claims bob, with a bogus key id or a bad signature. Nothing counts,
	 * and the quorum check agrees that no role key signed.
	 */
	struct rp_policy *p = policy_all();
	char *eve_as_bob;
	char *bad = forge_bad_line(TEXT);
	char *only_bad;
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	struct rp_skey eve;
	size_t count, len;
	(void)state;

	test_skey("bob.example", 0x66, &eve);
	assert_int_equal(rp_note_sign(TEXT, strlen(TEXT), NULL, &eve, &eve_as_bob, &len), 0);
	classify(p, RP_ROLE_EXEC, eve_as_bob, v, &count);
	assert_int_equal(count, 0);
	assert_int_equal(v[0].verdict, RP_SIG_IMPOSTOR);
	assert_int_equal(check(p, RP_ROLE_EXEC, eve_as_bob, &count), RP_E_QUORUM);
	/* alice's key id, a signature over another text: BAD, and the agent refuses it. */
	only_bad = concat(TEXT "\n", strstr(sig_block(bad), "\n") + 1);
	classify(p, RP_ROLE_EXEC, only_bad, v, &count);
	assert_int_equal(count, 0);
	assert_int_equal(v[0].verdict, RP_SIG_BAD);
	assert_int_equal(check(p, RP_ROLE_EXEC, only_bad, &count), RP_E_BADSIG);
	free(eve_as_bob);
	free(bad);
	free(only_bad);
	rp_policy_free(p);
}

static void keep_only_valid_lines(void **state)
{
	/* rampartd keeps the lines that verify, first per key: the rebuilt note says so. */
	struct rp_policy *p = policy_all();
	char *a = sign_by(TEXT, strlen(TEXT), (int[]){0, -1});
	char *ae = sign_with_eve(a, "bob.example");
	char *bad = forge_bad_line(TEXT);
	char *mixed = concat(ae, sig_block(bad));
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	bool keep[RP_NOTE_SIGS_MAX];
	struct rp_note *n, *kept;
	char *out;
	size_t len, count;
	(void)state;

	assert_int_equal(rp_note_parse(mixed, strlen(mixed), &n, NULL), 0);
	assert_int_equal(rp_policy_classify(p, RP_ROLE_EXEC, n, v, &count), 0);
	for (size_t i = 0; i < n->nsigs; i++)
		keep[i] =
			(v[i].verdict == RP_SIG_ROLE || v[i].verdict == RP_SIG_OTHER) && v[i].first;
	assert_int_equal(rp_note_keep(n, keep, &out, &len), 0);
	assert_string_equal(out, a); /* alice's one line; eve, the copy and the bad line gone */
	assert_int_equal(len, strlen(a));
	assert_int_equal(rp_note_parse(out, len, &kept, NULL), 0);
	assert_int_equal(kept->nsigs, 1);
	memset(keep, 0, sizeof(keep));
	out[0] = 'X'; /* untouched on failure */
	assert_int_equal(rp_note_keep(n, keep, &out, &len), RP_E_NOSIG);
	assert_int_equal(out[0], 'X');
	rp_note_free(kept);
	rp_note_free(n);
	free(out);
	free(a);
	free(ae);
	free(bad);
	free(mixed);
	rp_policy_free(p);
}

/* ---- root policy N+1: every line against N's root role and N+1's ---- */

/* Version 2 from policy_text's version 1: root as given, bob's key replaced by new_bob. */
static struct rp_policy *next_policy(const char *root_line, const struct rp_skey *new_bob,
				     struct rp_policy **ret_cur)
{
	char *t1 = policy_text(2, 2, 1, 2, FUTURE), *t2, *t3, *t4;
	struct rp_policy *cur, *next;

	assert_int_equal(rp_policy_parse_text(t1, strlen(t1), &cur, NULL), 0);
	t2 = replace(t1, "version 1", "version 2");
	t3 = replace(t2, "role root 2 alice.example bob.example carol.example", root_line);
	if (new_bob) {
		struct rp_vkey vk;
		char *old = rp_vkey_format(&cur->keys[1]), *nk;
		rp_skey_vkey(new_bob, &vk);
		nk = rp_vkey_format(&vk);
		t4 = replace(t3, old, nk);
		free(old);
		free(nk);
	} else {
		t4 = strdup(t3);
	}
	assert_int_equal(rp_policy_parse_text(t4, strlen(t4), &next, NULL), 0);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
	*ret_cur = cur;
	return next;
}

/* next's text signed by the vector keys who, then the extra keys; parsed with its note. */
static struct rp_policy *signed_next(const struct rp_policy *next, const int *who,
				     const struct rp_skey *extra, size_t nextra)
{
	size_t len;
	char *text = rp_policy_format(next, &len), *a = sign_by(text, len, who), *all = a;
	struct rp_policy *p;

	for (size_t i = 0; i < nextra; i++) {
		struct rp_note *n;
		char *out;
		size_t olen;
		assert_int_equal(rp_note_parse(all, strlen(all), &n, NULL), 0);
		assert_int_equal(rp_note_sign(n->msg, n->text_len, n, &extra[i], &out, &olen), 0);
		rp_note_free(n);
		free(all);
		all = out;
	}
	assert_int_equal(rp_policy_parse(all, strlen(all), &p, NULL), 0);
	free(text);
	free(all);
	return p;
}

static void rotation_sigs_count_each_version(void **state)
{
	/* Carol leaves root in v2: her line counts for v1's quorum only. */
	struct rp_policy *cur,
		*next = next_policy("role root 2 alice.example bob.example", NULL, &cur);
	struct rp_policy *p = signed_next(next, (int[]){0, 2, -1}, NULL, 0);
	struct rp_rotation_sigs v;
	(void)state;

	assert_int_equal(rp_policy_rotation_sigs(cur, p, &v), 0);
	assert_int_equal(v.have_old, 2);
	assert_int_equal(v.have_new, 1);
	assert_true(v.keep[0] && v.keep[1]);
	assert_int_equal(v.nkept, 2);
	assert_int_equal(v.nforged, 0);
	assert_int_equal(v.new[1].verdict, RP_SIG_OTHER);
	/* The rule the server publishes by: N's quorum met, N+1's not. */
	assert_int_equal(rp_policy_verify_rotation(cur, p, NULL), RP_E_QUORUM);
	rp_policy_free(cur);
	rp_policy_free(next);
	rp_policy_free(p);
}

static void rotation_sigs_forged_line_refused(void **state)
{
	/* alice's name and key id over another text: forged in both versions. */
	struct rp_policy *cur,
		*next = next_policy("role root 2 alice.example bob.example", NULL, &cur);
	size_t len;
	char *text = rp_policy_format(next, &len), *mixed = forge_bad_line(text);
	struct rp_policy *p;
	struct rp_rotation_sigs v;
	(void)state;

	assert_int_equal(rp_policy_parse(mixed, strlen(mixed), &p, NULL), 0);
	assert_int_equal(rp_policy_rotation_sigs(cur, p, &v), 0);
	assert_true(v.keep[0]);
	assert_false(v.forged[0]);
	assert_false(v.keep[1]);
	assert_true(v.forged[1]);
	assert_int_equal(v.nforged, 1);
	assert_int_equal(v.have_old, 1);
	free(text);
	free(mixed);
	rp_policy_free(cur);
	rp_policy_free(next);
	rp_policy_free(p);
}

static void rotation_sigs_new_key_under_old_name(void **state)
{
	/*
	 * bob.example gets a new key in v2: a line by it is an impostor to v1
	 * and valid in v2, one by the old key the reverse. Neither is forged;
	 * each counts for its own version only. Eve is nobody's.
	 */
	struct rp_skey bob2, eve;
	struct rp_policy *cur, *next, *p;
	struct rp_rotation_sigs v;
	(void)state;

	test_skey("bob.example", 0x42, &bob2);
	test_skey("eve.example", 0x66, &eve);
	next = next_policy("role root 2 alice.example bob.example carol.example", &bob2, &cur);
	p = signed_next(next, (int[]){1, -1}, (struct rp_skey[]){bob2, eve}, 2);
	assert_int_equal(rp_policy_rotation_sigs(cur, p, &v), 0);
	assert_int_equal(v.old[0].verdict, RP_SIG_ROLE);
	assert_int_equal(v.new[0].verdict, RP_SIG_IMPOSTOR);
	assert_int_equal(v.old[1].verdict, RP_SIG_IMPOSTOR);
	assert_int_equal(v.new[1].verdict, RP_SIG_ROLE);
	assert_true(v.keep[0] && v.keep[1]);
	assert_false(v.forged[0] || v.forged[1]);
	assert_false(v.keep[2] || v.forged[2]);
	assert_int_equal(v.have_old, 1);
	assert_int_equal(v.have_new, 1);
	assert_int_equal(v.nkept, 2);
	rp_policy_free(cur);
	rp_policy_free(next);
	rp_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threshold_met),
		cmocka_unit_test(below_threshold),
		cmocka_unit_test(duplicate_signer),
		cmocka_unit_test(duplicate_signer_relabelled),
		cmocka_unit_test(signer_outside_role),
		cmocka_unit_test(unknown_key),
		cmocka_unit_test(unknown_key_with_member_name),
		cmocka_unit_test(only_unknown_keys),
		cmocka_unit_test(bad_signature_by_role_key),
		cmocka_unit_test(bad_signature_among_valid_quorum),
		cmocka_unit_test(bad_signature_outside_role_ignored),
		cmocka_unit_test(threshold_zero_hand_built),
		cmocka_unit_test(role_out_of_range),
		cmocka_unit_test(classify_every_verdict),
		cmocka_unit_test(classify_forged_line_not_counted),
		cmocka_unit_test(keep_only_valid_lines),
		cmocka_unit_test(rotation_sigs_count_each_version),
		cmocka_unit_test(rotation_sigs_forged_line_refused),
		cmocka_unit_test(rotation_sigs_new_key_under_old_name),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("quorum", tests, NULL, NULL);
}
