/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reusable enrolment (lib/enroll.h): the token text, the enrolment note,
 * and the fold every observer runs: a note under a logged token adds the
 * device's record once, up to the token's maximum, in log order; a replay,
 * a forgery, a note signed after the expiry or under a revoked token adds
 * nothing; a token needs its groups' device-group-threshold.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "enroll.h"
#include "facts.h"
#include "helpers.h"
#include "policy.h"
#include "rp_err.h"

#define TID "0123456789abcdef0123456789abcdef"

static struct rp_reusable_token sample(void)
{
	struct rp_reusable_token t = {.expires = 1795000000};
	snprintf(t.server, sizeof(t.server), "https://127.0.0.1:8443");
	rp_sha256_text("pin", 3, t.pin);
	snprintf(t.org, sizeof(t.org), "acme");
	rp_sha256_text("policy", 6, t.policy);
	snprintf(t.id, sizeof(t.id), TID);
	memset(t.seed, 7, sizeof(t.seed));
	return t;
}

static void token_round_trip(void **s)
{
	struct rp_reusable_token t = sample(), back;
	char *text = rp_reusable_token_format(&t);
	(void)s;
	assert_int_equal(strncmp(text, "RPE2.", 5), 0);
	assert_true(rp_reusable_token_is(text, strlen(text)));
	assert_int_equal(rp_reusable_token_parse(text, strlen(text), &back, NULL), 0);
	assert_string_equal(back.server, t.server);
	assert_string_equal(back.pin, t.pin);
	assert_string_equal(back.org, t.org);
	assert_string_equal(back.policy, t.policy);
	assert_string_equal(back.id, t.id);
	assert_memory_equal(back.seed, t.seed, 32);
	assert_int_equal(back.expires, t.expires);
	free(text);
}

static void token_rejects(void **s)
{
	struct rp_reusable_token back, t = sample();
	struct rp_diag d = {""};
	char *text, *bad;
	(void)s;
	assert_int_equal(rp_reusable_token_parse("RPE1.abc", 8, &back, &d), RP_E_MALFORMED);
	assert_int_equal(rp_reusable_token_parse("RPE2.!!!!", 9, &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "base64url");
	/* a single-use token is not a reusable one, and the other way round */
	assert_false(rp_reusable_token_is("RPE1.abc", 8));
	/* a bad id, named; a bad seed, named but never quoted */
	snprintf(t.id, sizeof(t.id), "NOTHEX");
	text = rp_reusable_token_format(&t);
	assert_int_equal(rp_reusable_token_parse(text, strlen(text), &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "bad token `NOTHEX'");
	free(text);
	/* over the cap before anything is decoded */
	bad = calloc(1, RP_TOKEN_MAX + 10);
	memcpy(bad, "RPE2.", 5);
	memset(bad + 5, 'A', RP_TOKEN_MAX + 2);
	assert_int_equal(rp_reusable_token_parse(bad, strlen(bad), &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "too long");
	free(bad);
}

/* ---- notes ---- */

struct fixture {
	struct rp_skey token, device;
	struct rp_enrolment e;
};

static void make(struct fixture *f, uint8_t device_seed, const char *host, int64_t time)
{
	uint8_t seed[32];
	char name[RP_ID_HEX + 1];

	memset(f, 0, sizeof(*f));
	memset(seed, 7, sizeof(seed));
	assert_int_equal(rp_reusable_token_key(TID, seed, &f->token), 0);
	assert_string_equal(f->token.name, "token-" TID);
	test_skey("device", device_seed, &f->device);
	rp_device_id(f->device.pub, name);
	/* a device key's name is its id */
	test_skey(name, device_seed, &f->device);
	snprintf(f->e.org, sizeof(f->e.org), "acme");
	snprintf(f->e.token, sizeof(f->e.token), TID);
	snprintf(f->e.device, sizeof(f->e.device), "%s", name);
	memcpy(f->e.pub, f->device.pub, 32);
	snprintf(f->e.hostname, sizeof(f->e.hostname), "%s", host);
	f->e.time = time;
}

static char *signed_note(const struct fixture *f, size_t *len)
{
	char *note = NULL;
	assert_int_equal(rp_enrolment_sign(&f->e, &f->token, &f->device, &note, len), 0);
	return note;
}

static void note_round_trip(void **s)
{
	struct fixture f;
	struct rp_enrolment back;
	char *text;
	size_t len;
	(void)s;
	make(&f, 1, "web-1.example", 1794000000);
	text = rp_enrolment_format(&f.e, &len);
	assert_non_null(text);
	assert_true(rp_entry_is_enrolment((const uint8_t *)text, len));
	assert_int_equal(rp_enrolment_parse_text(text, len, &back, NULL), 0);
	assert_string_equal(back.device, f.e.device);
	assert_string_equal(back.hostname, "web-1.example");
	assert_memory_equal(back.pub, f.e.pub, 32);
	assert_int_equal(back.time, f.e.time);
	free(text);
}

static void note_rejects(void **s)
{
	struct fixture f;
	struct rp_enrolment back;
	struct rp_diag d = {""};
	char *text, *bad;
	size_t len;
	(void)s;
	make(&f, 1, "web-1", 1794000000);
	text = rp_enrolment_format(&f.e, &len);
	/* a device id that is not its key's */
	bad = replace(text, f.e.device, "00112233445566778899aabbccddeeff");
	assert_int_equal(rp_enrolment_parse_text(bad, strlen(bad), &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "not the id of its pubkey");
	free(bad);
	/* a line after the last field */
	bad = concat(text, "groups wallet\n");
	assert_int_equal(rp_enrolment_parse_text(bad, strlen(bad), &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "after `time'");
	free(bad);
	/* fields out of order */
	bad = replace(text, "org acme\n", "");
	assert_int_equal(rp_enrolment_parse_text(bad, strlen(bad), &back, &d), RP_E_MALFORMED);
	free(bad);
	/* a hostname with an edge space */
	bad = replace(text, "hostname web-1", "hostname web-1 ");
	assert_int_equal(rp_enrolment_parse_text(bad, strlen(bad), &back, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "hostname");
	free(bad);
	/* over the cap */
	bad = calloc(1, RP_ENROLMENT_NOTE_MAX + 2);
	memset(bad, 'a', RP_ENROLMENT_NOTE_MAX + 1);
	assert_int_equal(rp_enrolment_parse_text(bad, strlen(bad), &back, &d), RP_E_TOOBIG);
	free(bad);
	free(text);
}

/* ---- the fold ---- */

/* A state holding token TID (max devices, groups web, tag fleet, expiring at exp). */
static void state_with_token(struct rp_dir_state *s, unsigned max, int64_t exp)
{
	struct fixture f;
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	char *text, *key, t[21];

	make(&f, 1, "x", 0);
	key = rp_b64_encode(f.token.pub, 32);
	rp_time_format(exp, t);
	assert_true(asprintf(&text,
			     "rampart/directory/v1\norg acme\nid 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
			     "version 1\nprevious none\nexpires 2026-12-10T00:00:00Z\n"
			     "device-group web\n"
			     "token " TID " key %s expires %s max %u groups web tags fleet\n",
			     key, t, max) > 0);
	if (rp_dir_stmt_parse_text(text, strlen(text), &st, &d) < 0)
		fail_msg("%s", d.msg);
	rp_dir_state_init(s, "acme");
	assert_int_equal(rp_dir_apply(s, st, (const uint8_t *)text, strlen(text), true, &d), 0);
	assert_non_null(rp_dir_token_get(&s->dir, TID));
	rp_dir_stmt_free(st);
	free(text);
	free(key);
}

static int fold_one(struct rp_dir_state *s, const char *note, bool *folded, struct rp_diag *d)
{
	struct rp_enrolment e;
	int r = rp_dir_enrol_judge(s, (const uint8_t *)note, strlen(note), &e, d);
	assert_int_equal(rp_dir_enrol_fold(s, (const uint8_t *)note, strlen(note), folded, NULL, d),
			 0);
	assert_int_equal(*folded, r == 0);
	return r;
}

static void fold_adds_once_up_to_max(void **st)
{
	struct rp_dir_state s;
	struct fixture a, b, c;
	struct rp_diag d = {""};
	bool folded;
	size_t la, lb, lc;
	char *na, *nb, *nc;
	const struct rp_dir_device *v;
	(void)st;

	state_with_token(&s, 2, 1795000000);
	make(&a, 1, "web-1", 1794000000);
	make(&b, 2, "web-2", 1794000000);
	make(&c, 3, "web-3", 1794000000);
	na = signed_note(&a, &la);
	nb = signed_note(&b, &lb);
	nc = signed_note(&c, &lc);
	assert_int_equal(fold_one(&s, na, &folded, &d), 0);
	v = rp_dir_device_get(&s.dir, a.e.device);
	assert_non_null(v);
	assert_int_equal(v->ngroups, 1);
	assert_string_equal(v->groups[0], "web");
	assert_string_equal(v->tags[0], "fleet");
	/* logged again: the same device, nothing more, not counted */
	assert_int_equal(fold_one(&s, na, &folded, &d), RP_E_EXISTS);
	assert_int_equal(rp_dir_token_get(&s.dir, TID)->nenrolled, 1);
	assert_int_equal(fold_one(&s, nb, &folded, &d), 0);
	/* the (max+1)th in log order */
	assert_int_equal(fold_one(&s, nc, &folded, &d), RP_E_TOOBIG);
	assert_diag_has(&d, "maximum of 2");
	assert_null(rp_dir_device_get(&s.dir, c.e.device));
	/* every entry moves the position, folded or not: 1 statement + 4 notes */
	assert_int_equal(s.entries, 5);
	uint8_t h[32];
	rp_sha256(nc, strlen(nc), h);
	assert_memory_equal(s.tail, h, 32);

	/* the state keeps the list: parsed back, a replay is still refused */
	size_t len;
	char *text = rp_dir_state_format(&s, &len);
	struct rp_dir_state back;
	assert_non_null(strstr(text, "\nenrolled "));
	assert_non_null(strstr(text, "\nentries 5 tail sha256:"));
	if (rp_dir_state_parse(text, len, &back, &d) < 0)
		fail_msg("%s\n%s", d.msg, text);
	assert_int_equal(back.entries, 5);
	assert_int_equal(rp_dir_token_get(&back.dir, TID)->nenrolled, 2);
	char *again = rp_dir_state_format(&back, NULL);
	assert_string_equal(again, text);
	free(again);
	rp_dir_state_release(&back);
	free(text);
	free(na);
	free(nb);
	free(nc);
	rp_dir_state_release(&s);
}

static void fold_refuses(void **st)
{
	struct rp_dir_state s;
	struct fixture a;
	struct rp_diag d = {""};
	struct rp_skey other;
	bool folded;
	size_t len;
	char *n;
	(void)st;

	state_with_token(&s, 5, 1795000000);
	/* signed after the expiry (a holder backdating can only go below it) */
	make(&a, 1, "late", 1795000000);
	n = signed_note(&a, &len);
	assert_int_equal(fold_one(&s, n, &folded, &d), RP_E_EXPIRED);
	free(n);
	/* a forgery: the token's name, another key (a server without the seed) */
	make(&a, 1, "forged", 1794000000);
	test_skey("token-" TID, 9, &other);
	assert_int_equal(rp_enrolment_sign(&a.e, &other, &a.device, &n, &len), 0);
	assert_int_equal(fold_one(&s, n, &folded, &d), RP_E_NOSIG);
	assert_diag_has(&d, "token's key");
	free(n);
	/* the token's signature alone: no device key proof */
	assert_int_equal(rp_enrolment_sign(&a.e, &a.token, &other, &n, &len), 0);
	assert_int_equal(fold_one(&s, n, &folded, &d), RP_E_NOSIG);
	free(n);
	/* another org's note */
	snprintf(a.e.org, sizeof(a.e.org), "other");
	n = signed_note(&a, &len);
	assert_int_equal(fold_one(&s, n, &folded, &d), RP_E_ORG);
	free(n);
	/* not a note at all */
	assert_int_equal(fold_one(&s, "rampart/enrolment/v1\njunk\n", &folded, &d), RP_E_MALFORMED);
	assert_int_equal(s.dir.ndevices, 0);
	rp_dir_state_release(&s);
}

/* A second statement (version 2) applied to s: lines after the header. */
static void apply_v2(struct rp_dir_state *s, const char *lines)
{
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	char h[65], *text;

	rp_hex_encode(s->head, 32, h);
	assert_true(asprintf(&text,
			     "rampart/directory/v1\norg acme\nid 6f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
			     "version 2\nprevious sha256:%s\nexpires 2026-12-10T00:00:00Z\n%s",
			     h, lines) > 0);
	if (rp_dir_stmt_parse_text(text, strlen(text), &st, &d) < 0)
		fail_msg("%s", d.msg);
	assert_int_equal(rp_dir_apply(s, st, (const uint8_t *)text, strlen(text), true, &d), 0);
	rp_dir_stmt_free(st);
	free(text);
}

static void revoked_and_removed(void **st)
{
	struct rp_dir_state s;
	struct fixture a, b;
	struct rp_diag d = {""};
	bool folded;
	size_t len;
	char *na, *nb, *line;
	(void)st;

	state_with_token(&s, 5, 1795000000);
	make(&a, 1, "web-1", 1794000000);
	make(&b, 2, "web-2", 1794000000);
	na = signed_note(&a, &len);
	nb = signed_note(&b, &len);
	assert_int_equal(fold_one(&s, na, &folded, &d), 0);
	/* the administrators take it out of the directory: a replay does not bring it back */
	assert_true(asprintf(&line, "remove device %s\n", a.e.device) > 0);
	apply_v2(&s, line);
	free(line);
	assert_null(rp_dir_device_get(&s.dir, a.e.device));
	assert_int_equal(fold_one(&s, na, &folded, &d), RP_E_EXISTS);
	assert_diag_has(&d, "enrolled by this token");
	assert_null(rp_dir_device_get(&s.dir, a.e.device));
	/* revoked: nothing after it folds */
	struct rp_dir_stmt *rv = NULL;
	char h[65], *text;
	rp_hex_encode(s.head, 32, h);
	assert_true(asprintf(&text,
			     "rampart/directory/v1\norg acme\nid 7f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
			     "version 3\nprevious sha256:%s\nexpires 2026-12-10T00:00:00Z\n"
			     "remove token " TID "\n",
			     h) > 0);
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &rv, &d), 0);
	assert_int_equal(rp_dir_apply(&s, rv, (const uint8_t *)text, strlen(text), true, &d), 0);
	assert_null(rp_dir_token_get(&s.dir, TID));
	assert_int_equal(fold_one(&s, nb, &folded, &d), RP_E_NOTFOUND);
	assert_null(rp_dir_device_get(&s.dir, b.e.device));
	rp_dir_stmt_free(rv);
	free(text);
	free(na);
	free(nb);
	rp_dir_state_release(&s);
}

static void token_put_again_keeps_list(void **st)
{
	struct rp_dir_state s;
	struct fixture a;
	struct rp_diag d = {""};
	bool folded;
	size_t len;
	char *na, *line, *key;
	(void)st;

	state_with_token(&s, 1, 1795000000);
	make(&a, 1, "web-1", 1794000000);
	na = signed_note(&a, &len);
	assert_int_equal(fold_one(&s, na, &folded, &d), 0);
	key = rp_b64_encode(a.token.pub, 32);
	/* max raised to 3: the one enrolled still counts, and is still listed */
	assert_true(asprintf(&line, "token " TID " key %s expires 2026-11-30T00:00:00Z max 3\n",
			     key) > 0);
	apply_v2(&s, line);
	assert_int_equal(rp_dir_token_get(&s.dir, TID)->max, 3);
	assert_int_equal(rp_dir_token_get(&s.dir, TID)->nenrolled, 1);
	free(line);
	free(key);
	free(na);
	rp_dir_state_release(&s);
}

static void statement_rejects_token_lines(void **st)
{
	struct rp_dir_stmt *s = NULL;
	struct rp_diag d = {""};
	static const char head[] = "rampart/directory/v1\norg acme\nid "
				   "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\nversion 1\nprevious none\n"
				   "expires 2026-12-10T00:00:00Z\n";
	char *text;
	(void)st;
	/* the list of devices enrolled is the fold's, never a statement's */
	text = concat(head, "token " TID " key "
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			    " expires 2026-12-10T00:00:00Z max 2\nenrolled "
			    "00112233445566778899aabbccddeeff\n");
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &s, &d), RP_E_MALFORMED);
	free(text);
	text = concat(head, "token " TID " key AAAA expires 2026-12-10T00:00:00Z max 2\n");
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &s, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "token key");
	free(text);
	text = concat(head, "token " TID " key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			    " expires 2026-12-10T00:00:00Z max 0\n");
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &s, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "max");
	free(text);
	text = concat(head, "token " TID " key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			    " expires 2026-12-10T00:00:00Z max 2 groups web,db\n");
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &s, &d), RP_E_MALFORMED);
	free(text);
	/* sections in order: a token comes after the bindings */
	text = concat(head, "token " TID " key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			    " expires 2026-12-10T00:00:00Z max 2\ndevice-group web\n");
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &s, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "out of order");
	free(text);
	assert_null(s);
}

/* A token naming a group with a stricter device-group-threshold needs it. */
static void token_needs_group_threshold(void **st)
{
	static const int two[] = {0, 1, -1}, three[] = {0, 1, 2, -1};
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	struct rp_dir_state s;
	struct rp_dir_stmt *ds = NULL;
	char *pt = policy_text(2, 2, 1, 2, 1900000000), *pt2, *text, *note;
	bool applied;
	size_t dropped;
	(void)st;

	pt2 = replace(pt, "role directory 2 alice.example bob.example carol.example\n",
		      "role directory 2 alice.example bob.example carol.example\n"
		      "device-group-threshold wallet directory 3\n");
	char *pn = sign_by(pt2, strlen(pt2), three);
	if (rp_policy_parse(pn, strlen(pn), &p, &d) < 0)
		fail_msg("%s", d.msg);
	text = strdup("rampart/directory/v1\norg acme\nid 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
		      "version 1\nprevious none\nexpires 2026-12-10T00:00:00Z\n"
		      "device-group wallet\n"
		      "token " TID " key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		      " expires 2026-12-10T00:00:00Z max 2 groups wallet\n");
	for (int k = 0; k < 2; k++) {
		note = sign_by(text, strlen(text), k == 0 ? two : three);
		assert_int_equal(rp_dir_stmt_parse(note, strlen(note), &ds, &d), 0);
		rp_dir_state_init(&s, "acme");
		assert_int_equal(rp_dir_fold(&s, ds, (const uint8_t *)note, strlen(note), p, 0,
					     &applied, &dropped, &d),
				 0);
		assert_true(applied);
		/* 2 of the role's 2: the group is made, the token dropped; with 3 it stands */
		assert_true(rp_dir_dgroup_exists(&s.dir, "wallet"));
		assert_int_equal(dropped, k == 0 ? 1 : 0);
		assert_true((rp_dir_token_get(&s.dir, TID) != NULL) == (k == 1));
		rp_dir_state_release(&s);
		rp_dir_stmt_free(ds);
		free(note);
	}
	free(text);
	free(pn);
	free(pt2);
	free(pt);
	rp_policy_free(p);
}

/* `device ID decommissioned': alone on its line, and final in every fold. */
static void decommissioned_is_final(void **st)
{
	struct rp_dir_state s;
	struct rp_dir_stmt *x = NULL;
	struct rp_diag d = {""};
	struct fixture a;
	bool folded;
	size_t len;
	char *line, *n;
	(void)st;

	state_with_token(&s, 5, 1795000000);
	make(&a, 1, "web-1", 1794000000);
	assert_true(asprintf(&line, "device %s decommissioned\n", a.e.device) > 0);
	apply_v2(&s, line);
	free(line);
	assert_true(rp_dir_device_get(&s.dir, a.e.device)->decommissioned);
	/* an enrolment cannot bring it back into web */
	n = signed_note(&a, &len);
	assert_int_equal(fold_one(&s, n, &folded, &d), RP_E_EXISTS);
	free(n);
	/* nor a later statement putting or removing it (a server replaying an old one) */
	char h[65], *text;
	for (int k = 0; k < 2; k++) {
		rp_hex_encode(s.head, 32, h);
		assert_true(asprintf(&text,
				     "rampart/directory/v1\norg acme\nid "
				     "8f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\nversion %d\nprevious "
				     "sha256:%s\nexpires 2026-12-10T00:00:00Z\n%s %s%s\n",
				     3 + k, h, k ? "remove device" : "device", a.e.device,
				     k ? "" : " groups web") > 0);
		assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &x, &d), 0);
		assert_int_equal(rp_dir_apply(&s, x, (const uint8_t *)text, strlen(text), true, &d),
				 0);
		const struct rp_dir_device *v = rp_dir_device_get(&s.dir, a.e.device);
		assert_non_null(v);
		assert_true(v->decommissioned);
		assert_int_equal(v->ngroups, 0);
		rp_dir_stmt_free(x);
		free(text);
	}
	/* never with groups or tags */
	assert_true(asprintf(&text,
			     "rampart/directory/v1\norg acme\nid 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
			     "version 1\nprevious none\nexpires 2026-12-10T00:00:00Z\n"
			     "device %s groups web decommissioned\n",
			     a.e.device) > 0);
	assert_int_equal(rp_dir_stmt_parse_text(text, strlen(text), &x, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "decommissioned");
	free(text);
	rp_dir_state_release(&s);
}

/* Facts kept current (agent/facts.c): kernel, booted, time, optional and in order. */
static void facts_optional_fields(void **st)
{
	static const char base[] = "rampart/facts/v1\norg acme\ndevice "
				   "00112233445566778899aabbccddeeff\nhostname web-1\nos Debian\n"
				   "agent-version 0.1.0\n";
	struct rp_facts f;
	struct rp_diag d = {""};
	char *t, *back;
	size_t len;
	(void)st;
	/* a note from before them */
	assert_int_equal(rp_facts_parse_text(base, strlen(base), &f, &d), 0);
	assert_string_equal(f.kernel, "");
	assert_int_equal(f.booted, 0);
	t = concat(base, "kernel 6.1.0-27-amd64\nbooted 2026-12-01T08:00:00Z\n"
			 "time 2026-12-03T10:00:00Z\n");
	assert_int_equal(rp_facts_parse_text(t, strlen(t), &f, &d), 0);
	assert_string_equal(f.kernel, "6.1.0-27-amd64");
	assert_int_equal(f.time - f.booted, 2 * 86400 + 2 * 3600);
	back = rp_facts_format(&f, &len);
	assert_string_equal(back, t);
	free(back);
	free(t);
	/* out of order, or twice */
	t = concat(base, "time 2026-12-03T10:00:00Z\nkernel 6.1\n");
	assert_int_equal(rp_facts_parse_text(t, strlen(t), &f, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "in that order");
	free(t);
	t = concat(base, "kernel 6.1\nkernel 6.2\n");
	assert_int_equal(rp_facts_parse_text(t, strlen(t), &f, &d), RP_E_MALFORMED);
	free(t);
	t = concat(base, "booted yesterday\n");
	assert_int_equal(rp_facts_parse_text(t, strlen(t), &f, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "yesterday");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_round_trip),
		cmocka_unit_test(token_rejects),
		cmocka_unit_test(note_round_trip),
		cmocka_unit_test(note_rejects),
		cmocka_unit_test(fold_adds_once_up_to_max),
		cmocka_unit_test(fold_refuses),
		cmocka_unit_test(revoked_and_removed),
		cmocka_unit_test(token_put_again_keeps_list),
		cmocka_unit_test(statement_rejects_token_lines),
		cmocka_unit_test(token_needs_group_threshold),
		cmocka_unit_test(decommissioned_is_final),
		cmocka_unit_test(facts_optional_fields),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
