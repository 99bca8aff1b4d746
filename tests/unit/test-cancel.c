/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cancel statements and the agent's cancel.state (lib/cancel.h): the one
 * text, strict parsing with its caps (one named case per malformed
 * input), the signature rule (one valid exec signature; a forged line
 * beside it changes nothing), and the record keeping.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "helpers.h"

#define FUTURE 4102444800
#define ID     "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9"
#define HASH   "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define GOOD                                                                        \
	"rampart/cancel/v1\norg acme\ncommand " ID "\nkind cancel\nstatement " HASH \
	"\nuntil 2026-12-10T00:00:00Z\ntime 2026-12-04T03:00:00Z\nreason wrong host\n"

static int parse(const char *text, struct rp_diag *d)
{
	struct rp_cancel *c = NULL;
	int r = rp_cancel_parse_text(text, strlen(text), &c, d);

	if (r < 0)
		assert_null(c);
	rp_cancel_free(c);
	return r;
}

static void good_round_trip(void **state)
{
	struct rp_cancel *c = NULL;
	char *back;
	size_t n;

	(void)state;
	assert_int_equal(rp_cancel_parse_text(GOOD, strlen(GOOD), &c, NULL), 0);
	assert_string_equal(c->org, "acme");
	assert_string_equal(c->command, ID);
	assert_int_equal(c->kind, RP_CANCEL_CANCEL);
	assert_string_equal(c->reason, "wrong host");
	back = rp_cancel_format(c, &n);
	assert_string_equal(back, GOOD);
	assert_true(rp_entry_is_cancel((const uint8_t *)GOOD, strlen(GOOD)));
	assert_false(rp_entry_is_cancel((const uint8_t *)"rampart/cancel/v10\n", 19));
	free(back);
	rp_cancel_free(c);
}

static void no_reason_is_fine(void **state)
{
	char *t = replace(GOOD, "reason wrong host\n", "");

	(void)state;
	assert_int_equal(parse(t, NULL), 0);
	free(t);
}

static void reject_needs_reason(void **state)
{
	char *t = replace(GOOD, "kind cancel", "kind reject");
	char *t2 = replace(t, "reason wrong host\n", "");
	struct rp_diag d = {""};

	(void)state;
	assert_int_equal(parse(t, NULL), 0);
	assert_int_equal(parse(t2, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "reason");
	free(t);
	free(t2);
}

static void malformed(void **state)
{
	static const struct {
		const char *from, *to, *word;
	} cases[] = {
		{"rampart/cancel/v1", "rampart/cancel/v2", "first line"},
		{"org acme", "org Acme", "org"},
		{"command " ID, "command 5F0C8C1D2B7E4A90B1D8E3F4A6C7D8E9", "command"},
		{"kind cancel", "kind stop", "kind"},
		{"statement sha256:", "statement sha512:", "statement"},
		{"until 2026-12-10T00:00:00Z", "until 2026-12-10 00:00:00", "until"},
		{"time 2026-12-04T03:00:00Z", "time yesterday", "time"},
		{"reason wrong host\n", "reason wrong host\nreason again\n", "follows"},
		{"reason wrong host\n", "comment wrong host\n", "reason"},
		{"reason wrong host\n", "reason \n", "reason"},
		{"org acme\n", "", "org"},
		{"reason wrong host", "reason wrong\033[2Jhost", "control"},
	};

	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct rp_diag d = {""};
		char *t = replace(GOOD, cases[i].from, cases[i].to);
		assert_int_not_equal(parse(t, &d), 0);
		if (!strstr(d.msg, cases[i].word))
			fail_msg("case %zu: `%s' does not name %s", i, d.msg, cases[i].word);
		free(t);
	}
}

static void reason_cap(void **state)
{
	char reason[RP_CANCEL_REASON_MAX + 2];
	char *t;

	(void)state;
	memset(reason, 'x', RP_CANCEL_REASON_MAX);
	reason[RP_CANCEL_REASON_MAX] = '\0';
	t = replace(GOOD, "wrong host", reason);
	assert_int_equal(parse(t, NULL), 0);
	free(t);
	reason[RP_CANCEL_REASON_MAX] = 'x';
	reason[RP_CANCEL_REASON_MAX + 1] = '\0';
	t = replace(GOOD, "wrong host", reason);
	assert_int_equal(parse(t, NULL), RP_E_MALFORMED);
	free(t);
}

static void size_caps(void **state)
{
	char *big = calloc(1, RP_CANCEL_NOTE_MAX + 2);
	struct rp_cancel *c = NULL;
	struct rp_diag d = {""};

	(void)state;
	memset(big, 'a', RP_CANCEL_NOTE_MAX + 1);
	assert_int_equal(rp_cancel_parse(big, RP_CANCEL_NOTE_MAX + 1, &c, &d), RP_E_TOOBIG);
	assert_int_equal(rp_cancel_parse_text(big, RP_CANCEL_TEXT_MAX + 1, &c, &d), RP_E_TOOBIG);
	assert_null(c);
	free(big);
}

/* exec 2 of alice and bob; carol is an administrator outside exec. */
static struct rp_policy *policy_exec_ab(void)
{
	char *t = policy_text(2, 2, 1, 2, FUTURE);
	char *t2 = replace(t, "role exec 2 alice.example bob.example carol.example",
			   "role exec 2 alice.example bob.example");
	struct rp_policy *p;

	assert_int_equal(rp_policy_parse_text(t2, strlen(t2), &p, NULL), 0);
	free(t);
	free(t2);
	return p;
}

static int check_signed(const int *who, char signer[RP_NOTE_NAME_MAX + 1])
{
	struct rp_policy *p = policy_exec_ab();
	char *note = sign_by(GOOD, strlen(GOOD), who);
	struct rp_cancel *c = NULL;
	int r;

	assert_int_equal(rp_cancel_parse(note, strlen(note), &c, NULL), 0);
	r = rp_cancel_check(p, c, signer, NULL);
	rp_cancel_free(c);
	rp_policy_free(p);
	free(note);
	return r;
}

static void one_exec_signature_is_enough(void **state)
{
	char who[RP_NOTE_NAME_MAX + 1] = "";

	(void)state;
	assert_int_equal(check_signed((int[]){1, -1}, who), 0);
	assert_string_equal(who, "bob.example");
}

static void attack_wrong_role_key(void **state)
{
	(void)state;
	assert_int_equal(check_signed((int[]){2, -1}, NULL), RP_E_NOSIG);
}

static void attack_forged_line_beside_valid(void **state)
{
	/* a server that adds a bad line to a logged cancel does not void it */
	struct rp_policy *p = policy_exec_ab();
	char *note = sign_by(GOOD, strlen(GOOD), (int[]){0, -1});
	char *bob = sign_by(GOOD, strlen(GOOD), (int[]){1, -1});
	const char *bl = sig_block(bob);
	char *forged = malloc(strlen(note) + strlen(bl) + 1);
	struct rp_cancel *c = NULL;
	char *k;

	(void)state;
	/* bob's line with its signature's last base64 characters changed */
	strcpy(forged, note);
	strcat(forged, bl);
	k = forged + strlen(forged) - 6;
	*k = *k == 'A' ? 'B' : 'A';
	assert_int_equal(rp_cancel_parse(forged, strlen(forged), &c, NULL), 0);
	assert_int_equal(rp_quorum_check(p, RP_ROLE_EXEC, c->note, NULL, NULL), RP_E_BADSIG);
	assert_int_equal(rp_cancel_check(p, c, NULL, NULL), 0);
	rp_cancel_free(c);
	free(forged);
	free(bob);
	free(note);
	rp_policy_free(p);
}

static void attack_other_org(void **state)
{
	struct rp_policy *p = policy_exec_ab();
	char *t = replace(GOOD, "org acme", "org beta");
	char *note = sign_by(t, strlen(t), (int[]){0, -1});
	struct rp_cancel *c = NULL;

	(void)state;
	assert_int_equal(rp_cancel_parse(note, strlen(note), &c, NULL), 0);
	assert_int_equal(rp_cancel_check(p, c, NULL, NULL), RP_E_ORG);
	rp_cancel_free(c);
	free(note);
	free(t);
	rp_policy_free(p);
}

/* ---- cancel.state ---- */

static void rec(struct rp_cancel_rec *r, unsigned n, int64_t keep)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->command, sizeof(r->command), "%032x", n);
	r->entry = n;
	r->keep = keep;
}

static void state_round_trip_sorted(void **state)
{
	struct rp_cancel_state *s = calloc(1, sizeof(*s)), *back = calloc(1, sizeof(*back));
	struct rp_cancel_rec r;
	bool ev;
	char *text;
	size_t n;

	(void)state;
	rec(&r, 9, 100);
	assert_int_equal(rp_cancel_state_add(s, &r, &ev), 0);
	rec(&r, 3, 200);
	r.kind = RP_CANCEL_REJECT;
	assert_int_equal(rp_cancel_state_add(s, &r, &ev), 0);
	rec(&r, 9, 50); /* an earlier keep never shortens a record */
	assert_int_equal(rp_cancel_state_add(s, &r, &ev), 0);
	assert_int_equal(s->n, 2);
	assert_int_equal(rp_cancel_state_find(s, s->rec[1].command)->keep, 100);
	text = rp_cancel_state_format(s, &n);
	assert_string_equal(text, "rampart/cancel-state/v1\n"
				  "cancel 00000000000000000000000000000003 reject 3 200\n"
				  "cancel 00000000000000000000000000000009 cancel 9 100\n");
	assert_int_equal(rp_cancel_state_parse(text, n, back, NULL), 0);
	assert_memory_equal(back->rec, s->rec, 2 * sizeof(s->rec[0]));
	assert_int_equal(rp_cancel_state_prune(back, 150), 1);
	assert_int_equal(back->n, 1);
	assert_int_equal(back->rec[0].keep, 200);
	free(text);
	free(s);
	free(back);
}

static void state_malformed(void **state)
{
	static const char *const bad[] = {
		"rampart/cancel-state/v2\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 cancel 9\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 stop 9 1\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 cancel 9 01\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 cancel 9 1\n"
		"cancel 00000000000000000000000000000003 cancel 3 1\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 cancel 9 1\n"
		"cancel 00000000000000000000000000000009 cancel 9 1\n",
		"rampart/cancel-state/v1\ncancel 00000000000000000000000000000009 cancel 9 1",
	};
	struct rp_cancel_state *s = calloc(1, sizeof(*s));

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct rp_diag d = {""};
		if (rp_cancel_state_parse(bad[i], strlen(bad[i]), s, &d) == 0)
			fail_msg("case %zu parsed", i);
		assert_true(d.msg[0] != '\0');
	}
	free(s);
}

static void state_full_evicts_earliest(void **state)
{
	struct rp_cancel_state *s = calloc(1, sizeof(*s));
	struct rp_cancel_rec r;
	bool ev = false;

	(void)state;
	for (unsigned i = 0; i < RP_CANCEL_KEEP_MAX; i++) {
		rec(&r, i + 1, 1000 + i);
		assert_int_equal(rp_cancel_state_add(s, &r, &ev), 0);
		assert_false(ev);
	}
	rec(&r, 0xffff, 5000);
	assert_int_equal(rp_cancel_state_add(s, &r, &ev), 0);
	assert_true(ev);
	assert_int_equal(s->n, RP_CANCEL_KEEP_MAX);
	rec(&r, 1, 0);
	assert_null(rp_cancel_state_find(s, r.command)); /* keep 1000, the earliest */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_round_trip),
		cmocka_unit_test(no_reason_is_fine),
		cmocka_unit_test(reject_needs_reason),
		cmocka_unit_test(malformed),
		cmocka_unit_test(reason_cap),
		cmocka_unit_test(size_caps),
		cmocka_unit_test(one_exec_signature_is_enough),
		cmocka_unit_test(attack_wrong_role_key),
		cmocka_unit_test(attack_forged_line_beside_valid),
		cmocka_unit_test(attack_other_org),
		cmocka_unit_test(state_round_trip_sorted),
		cmocka_unit_test(state_malformed),
		cmocka_unit_test(state_full_evicts_earliest),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("cancel", tests, NULL, NULL);
}
