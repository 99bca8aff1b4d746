/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor behind `rampart audit` (lib/audit.c): replay of a log entry
 * by entry, the tree recomputed from its right edge, every entry judged
 * against the root policy chain, the same on several threads, and the
 * state kept between runs.
 * Policy v1: policy_text(2, 2, 1, 2): root and exec 2 of alice, bob, carol.
 * Policy v2 (policy_v): alice, bob and dave (a key not in the vectors),
 * carol removed; root and exec 2 of those three.
 * Log key rotation: v2 with its log line naming LOG2_NAME (with_log2)
 * ends log 1 and is entry 0 of log 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "helpers.h"

#define EXPIRES 4102444800 /* 2100-01-01 */
#define NOW     1795000000
#define DEV     "00112233445566778899aabbccddeeff"

static const char payload[] = "echo hello\n";

/* ---- building entries ---- */

static void dave_skey(struct rp_skey *k)
{
	test_skey("dave.example", 0x77, k);
}

/* Who signs: bits A (alice), B (bob), C (carol), D (dave). */
#define A 1u
#define B 2u
#define C 4u
#define D 8u

static char *sign_set(const char *text, unsigned who)
{
	struct rp_skey ks[4];
	size_t n = 0;

	for (int i = 0; i < 3; i++)
		if (who & (1u << i))
			vec_skey(i, &ks[n++]);
	if (who & D)
		dave_skey(&ks[n++]);
	return sign_keys(text, strlen(text), ks, n);
}

/* Policy `version' of acme: alice, bob and dave (or carol when !dave). */
static char *policy_v(unsigned version, bool dave, unsigned root, unsigned exec)
{
	const char *third = dave ? "dave.example" : "carol.example";
	char names[96], t[21], *out;
	struct rp_sb sb;

	rp_time_format(EXPIRES, t);
	snprintf(names, sizeof(names), "alice.example bob.example %s", third);
	rp_sb_init(&sb, 8192);
	rp_sb_printf(&sb, "rampart/policy/v1\norg acme\nversion %u\nexpires %s\n", version, t);
	for (int i = 0; i < 2; i++) {
		char *k = vec_key_text(2 * i + 1);
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	}
	if (dave) {
		struct rp_skey s;
		struct rp_vkey v = {{0}};
		dave_skey(&s);
		memcpy(v.name, s.name, sizeof(v.name));
		v.id = s.id;
		v.type = RP_KEY_ED25519;
		memcpy(v.pub, s.pub, sizeof(v.pub));
		char *k = rp_vkey_format(&v);
		assert_non_null(k);
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	} else {
		char *k = vec_key_text(5);
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	}
	rp_sb_printf(&sb,
		     "role root %u %s\nrole exec %u %s\nrole query 1 %s\nrole directory 2 %s\n",
		     root, names, exec, names, names, names);
	rp_sb_puts(&sb, POLICY_LOG_TAIL);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

static char *v1_text(void)
{
	return policy_text(2, 2, 1, 2, EXPIRES);
}

static void text_hash(const char *text, char out[72])
{
	struct rp_policy *p = NULL;

	assert_int_equal(rp_policy_parse_text(text, strlen(text), &p, NULL), 0);
	snprintf(out, 72, "%s", p->hash);
	rp_policy_free(p);
}

/* The signed policy v1 (alice, bob) and its hash. */
static char *v1_signed(char hash[72])
{
	char *t = v1_text(), *n = sign_set(t, A | B);

	if (hash)
		text_hash(t, hash);
	free(t);
	return n;
}

/* A command of org with id number `id', signed by who. */
static char *cmd(const char *org, unsigned id, unsigned who)
{
	char targets[1][RP_TARGET_MAX + 1];
	struct rp_command c = {0};
	char *t, *n;

	snprintf(c.org, sizeof(c.org), "%s", org);
	snprintf(c.id, sizeof(c.id), "5f0c8c1d2b7e4a90b1d8e3f4a6c7%04x", id);
	c.not_before = NOW - 60;
	c.expires = NOW + 3600;
	snprintf(c.run_as, sizeof(c.run_as), "root");
	c.timeout = 10;
	rp_sha256(payload, strlen(payload), c.payload_hash);
	c.payload_size = strlen(payload);
	snprintf(targets[c.ntargets++], RP_ID_HEX + 1, "%s", DEV);
	c.targets = targets;
	t = rp_command_format(&c, NULL);
	assert_non_null(t);
	n = sign_set(t, who);
	free(t);
	return n;
}

static char *dup(const char *s)
{
	char *r = strdup(s);
	assert_non_null(r);
	return r;
}

/* ---- a log of entries ---- */

struct entries {
	size_t n;
	char *e[64];
};

static void add(struct entries *l, char *e)
{
	assert_true(l->n < N_ELEMS(l->e));
	l->e[l->n++] = e;
}

static void entries_free(struct entries *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i]);
	l->n = 0;
}

/* ---- what the replay reports ---- */

struct rep {
	uint64_t index;
	bool finding;
	char *text;
};

struct reports {
	size_t n, cap;
	struct rep *r;
};

static void on_report(void *arg, uint64_t index, bool finding, const char *text)
{
	struct reports *rs = arg;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 16;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		assert_non_null(rs->r);
	}
	rs->r[rs->n].index = index;
	rs->r[rs->n].finding = finding;
	rs->r[rs->n].text = dup(text);
	rs->n++;
}

static void reports_free(struct reports *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].text);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

static void assert_reports_equal(const struct reports *x, const struct reports *y)
{
	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		assert_int_equal(x->r[i].index, y->r[i].index);
		assert_int_equal(x->r[i].finding, y->r[i].finding);
		assert_string_equal(x->r[i].text, y->r[i].text);
	}
}

static void assert_text_has(const char *text, const char *word)
{
	if (!strstr(text, word))
		fail_msg("report `%s' does not mention `%s'", text, word);
}

/* One report per entry, in index order, from..to. */
static void assert_in_order(const struct reports *rs, uint64_t from)
{
	for (size_t i = 0; i < rs->n; i++)
		assert_int_equal(rs->r[i].index, from + i);
}

static size_t count_findings(const struct reports *rs)
{
	size_t k = 0;

	for (size_t i = 0; i < rs->n; i++)
		k += rs->r[i].finding;
	return k;
}

/* Replays l->e[from..to) one by one. */
static void replay(struct rp_audit *a, const struct entries *l, size_t from, size_t to,
		   struct reports *rs)
{
	for (size_t i = from; i < to; i++)
		assert_int_equal(rp_audit_entry(a, l->e[i], strlen(l->e[i]), on_report, rs), 0);
}

/* Replays l->e[from..to) with rp_audit_entries, in batches of `batch'. */
static void replay_threads(struct rp_audit *a, const struct entries *l, size_t from, size_t to,
			   size_t batch, unsigned nthreads, struct reports *rs)
{
	const char *data[64];
	size_t len[64];

	for (size_t i = 0; i < l->n; i++) {
		data[i] = l->e[i];
		len[i] = strlen(l->e[i]);
	}
	for (size_t i = from; i < to; i += batch) {
		size_t k = to - i < batch ? to - i : batch;
		assert_int_equal(rp_audit_entries(a, data + i, len + i, k, nthreads, on_report, rs),
				 0);
	}
}

/* RFC 9162 2.1.1 MTH over leaf hashes, the naive recursion. */
static void mth(uint8_t (*leaves)[RP_HASH_LEN], size_t n, uint8_t out[RP_HASH_LEN])
{
	uint8_t l[RP_HASH_LEN], r[RP_HASH_LEN];
	size_t k = 1;

	if (n == 1) {
		memcpy(out, leaves[0], RP_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	mth(leaves, k, l);
	mth(leaves + k, n - k, r);
	rp_merkle_node_hash(l, r, out);
}

static void assert_root_is(const struct rp_audit *a, const struct entries *l)
{
	uint8_t leaves[64][RP_HASH_LEN], want[RP_HASH_LEN], got[RP_HASH_LEN];

	assert_true(a->tree.size <= l->n);
	for (size_t i = 0; i < a->tree.size; i++)
		rp_merkle_leaf_hash(l->e[i], strlen(l->e[i]), leaves[i]);
	if (a->tree.size == 0)
		rp_merkle_empty_root(want);
	else
		mth(leaves, a->tree.size, want);
	rp_audit_root(a, got);
	assert_memory_equal(got, want, RP_HASH_LEN);
}

/* ---- a clean log ---- */

static void clean_log(struct entries *l, char hash[72], size_t n)
{
	static const unsigned signers[] = {A | B, B | C, A | C, A | B | C};

	add(l, v1_signed(hash));
	for (size_t i = 1; i < n; i++)
		add(l, cmd("acme", (unsigned)i, signers[i % 4]));
}

static void audit_clean_log_has_no_findings(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72];

	(void)state;
	clean_log(&l, hash, 9);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(a.tree.size, l.n);
	assert_int_equal(a.findings, 0);
	assert_int_equal(rs.n, l.n);
	assert_in_order(&rs, 0);
	assert_int_equal(count_findings(&rs), 0);
	assert_non_null(a.policy);
	assert_int_equal(a.policy->version, 1);
	assert_text_has(rs.r[0].text, "root policy of acme version 1");
	assert_text_has(rs.r[0].text, hash);
	assert_text_has(rs.r[0].text, "signed by alice.example, bob.example");
	assert_text_has(rs.r[1].text, "5f0c8c1d2b7e4a90b1d8e3f4a6c70001");
	assert_text_has(rs.r[1].text, "signed by bob.example, carol.example");
	assert_text_has(rs.r[1].text, "run-as root");
	assert_text_has(rs.r[1].text, "1 target: " DEV);
	assert_text_has(rs.r[2].text, "signed by alice.example, carol.example");
	assert_text_has(rs.r[3].text, "signed by alice.example, bob.example, carol.example");
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_root_matches_test_log_every_size(void **state)
{
	struct test_log *tl = calloc(1, sizeof(*tl));
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_checkpoint cp;
	uint8_t root[RP_HASH_LEN];
	struct rp_audit a;
	char hash[72];

	(void)state;
	assert_non_null(tl);
	clean_log(&l, hash, 40);
	rp_audit_init(&a, hash);
	rp_audit_root(&a, root);
	assert_root_is(&a, &l); /* the empty tree */
	for (size_t i = 0; i < l.n; i++) {
		replay(&a, &l, i, i + 1, &rs);
		test_log_append(tl, l.e[i], strlen(l.e[i]));
		test_log_head(tl, tl->size, &cp);
		rp_audit_root(&a, root);
		assert_memory_equal(root, cp.root, RP_HASH_LEN);
		assert_root_is(&a, &l);
	}
	assert_int_equal(a.findings, 0);
	assert_int_equal(rs.n, 40);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
	free(tl);
}

/* ---- findings ---- */

static void audit_entry0_not_trusted_policy(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], other[72];
	char *t = policy_text(1, 2, 1, 2, EXPIRES);

	(void)state;
	text_hash(t, other);
	add(&l, sign_set(t, A | B));
	free(t);
	add(&l, cmd("acme", 1, A | B));
	free(v1_signed(hash));
	assert_string_not_equal(hash, other);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, 2);
	assert_true(rs.r[0].finding);
	assert_text_has(rs.r[0].text, "entry 0 is root policy");
	assert_text_has(rs.r[0].text, other);
	assert_text_has(rs.r[0].text, hash);
	assert_null(a.policy);
	/* With no chain, the next entry is still judged as a candidate entry 0. */
	assert_true(rs.r[1].finding);
	assert_int_equal(a.findings, 2);
	assert_int_equal(a.tree.size, 2);
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_entry0_not_signed_by_its_quorum(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72];
	char *t = v1_text();

	(void)state;
	text_hash(t, hash);
	add(&l, sign_set(t, A)); /* root threshold 2 */
	free(t);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_true(rs.r[0].finding);
	assert_text_has(rs.r[0].text, "version 1");
	assert_text_has(rs.r[0].text, "not authorised");
	assert_null(a.policy);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_bad_entries_are_findings_and_replay_goes_on(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72];
	char *t;

	(void)state;
	add(&l, v1_signed(hash));
	add(&l, cmd("acme", 1, A | B)); /* 1 fine */
	t = cmd("acme", 2, A);
	add(&l, dup(t)); /* 2 one signature */
	free(t);
	{
		/* 3 unsigned: the bare command text */
		struct rp_command *c = NULL;
		char *s = cmd("acme", 3, A | B);
		assert_int_equal(rp_command_parse(s, strlen(s), &c, NULL), 0);
		add(&l, strndup(c->note->msg, c->note->text_len));
		rp_command_free(c);
		free(s);
	}
	add(&l, cmd("globex", 4, A | B));                     /* 4 another org */
	add(&l, dup("rampart/command/v1\nnonsense\n"));       /* 5 unparseable */
	add(&l, dup("rampart/result/v1\nwhatever\n\n— x\n")); /* 6 unknown kind */
	add(&l, dup(""));                                     /* 7 empty */
	add(&l, cmd("acme", 8, B | C));                       /* 8 fine */
	add(&l, cmd("acme", 9, C | D));                       /* 9 dave not in v1: one signature */
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, l.n);
	assert_in_order(&rs, 0);
	assert_int_equal(a.tree.size, l.n);
	assert_false(rs.r[0].finding);
	assert_false(rs.r[1].finding);
	for (size_t i = 2; i <= 7; i++)
		assert_true(rs.r[i].finding);
	assert_false(rs.r[8].finding);
	assert_true(rs.r[9].finding);
	assert_int_equal(a.findings, 7);
	assert_int_equal(count_findings(&rs), 7);
	assert_text_has(rs.r[2].text, "5f0c8c1d2b7e4a90b1d8e3f4a6c70002 is not authorised");
	assert_text_has(rs.r[3].text, "unparseable command");
	assert_text_has(rs.r[4].text, "is for org `globex'");
	assert_text_has(rs.r[4].text, "acme");
	assert_text_has(rs.r[5].text, "unparseable command");
	assert_text_has(rs.r[6].text, "unknown kind of entry `rampart/result/v1'");
	assert_text_has(rs.r[7].text, "unknown kind");
	assert_text_has(rs.r[8].text, "signed by bob.example, carol.example");
	assert_text_has(rs.r[9].text, "not authorised");
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* ---- the policy chain ---- */

static void audit_valid_rotation_then_commands_under_v2(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], h2[72];
	char *t;

	(void)state;
	add(&l, v1_signed(hash));
	add(&l, cmd("acme", 1, A | C)); /* 1 fine under v1 */
	t = policy_v(2, true, 2, 2);
	text_hash(t, h2);
	add(&l, sign_set(t, A | B)); /* 2 rotation: v1 root (a, b) and v2 root (a, b) */
	free(t);
	add(&l, cmd("acme", 3, A | D)); /* 3 dave only in v2: counts */
	add(&l, cmd("acme", 4, A | C)); /* 4 carol removed: one signature */
	add(&l, cmd("acme", 5, B | D)); /* 5 fine */
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, 6);
	assert_false(rs.r[1].finding);
	assert_false(rs.r[2].finding);
	assert_text_has(rs.r[2].text, "root policy of acme version 2");
	assert_text_has(rs.r[2].text, h2);
	assert_text_has(rs.r[2].text, "signed by alice.example, bob.example");
	assert_false(rs.r[3].finding);
	assert_text_has(rs.r[3].text, "signed by alice.example, dave.example");
	assert_true(rs.r[4].finding);
	assert_text_has(rs.r[4].text, "not authorised");
	assert_false(rs.r[5].finding);
	assert_int_equal(a.findings, 1);
	assert_int_equal(a.policy->version, 2);
	assert_string_equal(a.policy->hash, h2);
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_invalid_rotations_keep_the_head(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72];
	char *t;

	(void)state;
	add(&l, v1_signed(hash));
	t = policy_v(3, true, 2, 2);
	add(&l, sign_set(t, A | B)); /* 1 version 3 after 1 */
	free(t);
	t = policy_v(2, true, 2, 2);
	add(&l, sign_set(t, A | D)); /* 2 v2's quorum, but only alice of v1's */
	free(t);
	t = policy_v(2, true, 3, 2);
	add(&l, sign_set(t, A | B)); /* 3 v1's quorum, not v2's own (3 of 3) */
	free(t);
	add(&l, dup("rampart/policy/v1\nbroken\n")); /* 4 unparseable policy */
	add(&l, cmd("acme", 5, A | C));              /* 5 still v1: carol counts */
	add(&l, cmd("acme", 6, A | D));              /* 6 still v1: dave does not */
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, 7);
	assert_in_order(&rs, 0);
	assert_true(rs.r[1].finding);
	assert_text_has(rs.r[1].text, "root policy version 3");
	assert_text_has(rs.r[1].text, "does not follow version 1");
	assert_true(rs.r[2].finding);
	assert_text_has(rs.r[2].text, "root policy version 2");
	assert_text_has(rs.r[2].text, "not authorised");
	assert_true(rs.r[3].finding);
	assert_text_has(rs.r[3].text, "not authorised");
	assert_true(rs.r[4].finding);
	assert_text_has(rs.r[4].text, "unparseable root policy");
	assert_false(rs.r[5].finding);
	assert_true(rs.r[6].finding);
	assert_int_equal(a.findings, 5);
	assert_int_equal(a.policy->version, 1);
	assert_string_equal(a.policy->hash, hash);
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* ---- threads ---- */

/* Policies in the middle, findings of every kind, ~40 entries. */
static void mixed_log(struct entries *l, char hash[72])
{
	static const unsigned who[] = {A | B, A, B | C, A | D, A | B | C, C};
	char *t;

	add(l, v1_signed(hash));
	for (unsigned i = 1; i < 12; i++)
		add(l, cmd(i == 7 ? "globex" : "acme", i, who[i % 6]));
	add(l, dup("rampart/result/v1\nx\n"));
	t = policy_v(3, true, 2, 2);
	add(l, sign_set(t, A | B)); /* bad rotation */
	free(t);
	for (unsigned i = 14; i < 20; i++)
		add(l, cmd("acme", i, who[i % 6]));
	t = policy_v(2, true, 2, 2);
	add(l, sign_set(t, A | B)); /* good rotation */
	free(t);
	for (unsigned i = 21; i < 34; i++)
		add(l, i == 27 ? dup("rampart/command/v1\n") : cmd("acme", i, who[i % 6]));
	t = policy_v(2, true, 2, 2);
	add(l, sign_set(t, A | B)); /* v2 again: not 3 */
	free(t);
	for (unsigned i = 35; i < 41; i++)
		add(l, cmd("acme", i, who[i % 6]));
}

static void audit_threads_match_one_by_one(void **state)
{
	static const unsigned threads[] = {1, 2, 4};
	static const size_t batches[] = {64, 7, 13, 1, 2};
	struct entries l = {0};
	struct reports ref = {0};
	uint8_t root_ref[RP_HASH_LEN], root[RP_HASH_LEN];
	struct rp_audit a;
	char hash[72];

	(void)state;
	mixed_log(&l, hash);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &ref);
	rp_audit_root(&a, root_ref);
	assert_root_is(&a, &l);
	assert_int_equal(ref.n, l.n);
	assert_in_order(&ref, 0);
	assert_true(a.findings > 5);
	assert_int_equal(a.policy->version, 2);
	size_t findings_ref = a.findings;
	rp_audit_release(&a);

	for (size_t t = 0; t < N_ELEMS(threads); t++) {
		for (size_t b = 0; b < N_ELEMS(batches); b++) {
			struct reports rs = {0};
			rp_audit_init(&a, hash);
			replay_threads(&a, &l, 0, l.n, batches[b], threads[t], &rs);
			assert_reports_equal(&rs, &ref);
			assert_int_equal(a.findings, findings_ref);
			assert_int_equal(a.tree.size, l.n);
			assert_int_equal(a.policy->version, 2);
			rp_audit_root(&a, root);
			assert_memory_equal(root, root_ref, RP_HASH_LEN);
			reports_free(&rs);
			rp_audit_release(&a);
		}
	}
	reports_free(&ref);
	entries_free(&l);
}

static void audit_threads_before_any_policy(void **state)
{
	struct entries l = {0};
	struct reports ref = {0}, rs = {0};
	struct rp_audit a;
	char hash[72];

	(void)state;
	mixed_log(&l, hash);
	/* Trust another hash: nothing gets authorised, all of it sequential. */
	rp_audit_init(&a, "sha256:0000");
	replay(&a, &l, 0, l.n, &ref);
	assert_int_equal(a.findings, l.n);
	rp_audit_release(&a);
	rp_audit_init(&a, "sha256:0000");
	replay_threads(&a, &l, 0, l.n, 64, 4, &rs);
	assert_reports_equal(&rs, &ref);
	assert_root_is(&a, &l);
	rp_audit_release(&a);
	reports_free(&rs);
	reports_free(&ref);
	entries_free(&l);
}

/* ---- the checkpoint served: judged, and its freshness ---- */

/* The checkpoint of a clean log of n entries, cosigned by both witnesses at t. */
static char *served(size_t n, int64_t t, const struct entries *l)
{
	struct test_log *tl = calloc(1, sizeof(*tl));
	char *note;

	assert_non_null(tl);
	for (size_t i = 0; i < n; i++)
		test_log_append(tl, l->e[i], strlen(l->e[i]));
	note = test_log_note(tl, n, TEST_WBOTH, t);
	free(tl);
	return note;
}

static struct rp_policy *parsed(const char *note)
{
	struct rp_policy *p = NULL;

	assert_int_equal(rp_policy_parse(note, strlen(note), &p, NULL), 0);
	return p;
}

/* Both edges of the window (freshness 3600): fresh, then stale by one second. */
static void audit_stale_checkpoint_is_reported(void **state)
{
	struct entries l = {0};
	struct rp_checkpoint cp = {{0}};
	struct rp_diag d = {""};
	struct rp_audit a;
	struct reports rs = {0};
	char hash[72], *note;
	bool stale = true;

	(void)state;
	clean_log(&l, hash, 4);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	note = served(4, NOW - 3600, &l);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	assert_false(stale);
	assert_int_equal(cp.size, 4);
	free(note);
	note = served(4, NOW - 3601, &l);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	assert_true(stale);
	assert_int_equal(cp.size, 4);
	assert_diag_has(&d, "older than the policy's freshness of 3600 s");
	assert_diag_has(&d, "the newest is from 2026-11-18T10:06:39Z");
	free(note);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* Before the chain starts the trusted policy judges; without it nothing does, and nothing crashes.
 */
static void audit_checkpoint_judged_by_the_trusted_policy(void **state)
{
	struct entries l = {0};
	struct rp_checkpoint cp = {{0}}, untouched;
	struct rp_diag d = {""};
	struct rp_policy *anchor, *other;
	struct rp_audit a;
	struct reports rs = {0};
	char hash[72], *note, *t;
	bool stale = true;

	(void)state;
	clean_log(&l, hash, 3);
	anchor = parsed(l.e[0]);
	t = policy_text(1, 2, 1, 2, EXPIRES);
	note = sign_set(t, A | B);
	other = parsed(note);
	free(note);
	free(t);
	rp_audit_init(&a, hash);
	assert_null(rp_audit_judge(&a, NULL));
	assert_ptr_equal(rp_audit_judge(&a, anchor), anchor);
	/* A policy file that is not the trusted one never judges. */
	assert_null(rp_audit_judge(&a, other));
	note = served(3, NOW, &l);
	memset(&untouched, 0x5a, sizeof(untouched));
	cp = untouched;
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_POLICY);
	assert_diag_has(&d, "no root policy to judge it by");
	assert_diag_has(&d, hash);
	assert_int_equal(rp_audit_checkpoint(&a, other, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_POLICY);
	assert_memory_equal(&cp, &untouched, sizeof(cp));
	assert_true(stale);
	assert_int_equal(rp_audit_checkpoint(&a, anchor, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	assert_false(stale);
	/* Once entry 0 is accepted the chain's head judges, the anchor no longer matters. */
	replay(&a, &l, 0, l.n, &rs);
	assert_ptr_equal(rp_audit_judge(&a, NULL), a.policy);
	assert_ptr_equal(rp_audit_judge(&a, other), a.policy);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	free(note);
	rp_policy_free(other);
	rp_policy_free(anchor);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* Not witnessed, or not by the log key: not acceptable, whatever its age. */
static void audit_checkpoint_without_quorum_is_refused(void **state)
{
	struct entries l = {0};
	struct test_log *tl = calloc(1, sizeof(*tl));
	struct rp_checkpoint cp;
	struct rp_diag d = {""};
	struct rp_audit a;
	struct reports rs = {0};
	char hash[72], *note;
	bool stale = false;

	(void)state;
	assert_non_null(tl);
	clean_log(&l, hash, 2);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	for (size_t i = 0; i < l.n; i++)
		test_log_append(tl, l.e[i], strlen(l.e[i]));
	note = test_log_note(tl, 2, TEST_W1, NOW);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_WITNESS);
	free(note);
	/* Stale and short of the quorum: the quorum is what is reported. */
	note = test_log_note(tl, 2, TEST_W1, NOW - 7200);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_WITNESS);
	free(note);
	free(tl);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* ---- state between runs ---- */

static void save_load_continue(const struct entries *l, const char *hash, bool threads)
{
	struct reports ref = {0};
	uint8_t root_ref[RP_HASH_LEN], root[RP_HASH_LEN];
	struct rp_audit a;

	rp_audit_init(&a, hash);
	replay(&a, l, 0, l->n, &ref);
	rp_audit_root(&a, root_ref);
	size_t findings_ref = a.findings;
	rp_audit_release(&a);

	for (size_t k = 0; k <= l->n; k++) {
		struct reports rs = {0};
		struct rp_audit b;
		struct rp_diag d = {""};
		size_t len;
		char *saved;

		rp_audit_init(&a, hash);
		replay(&a, l, 0, k, &rs);
		saved = rp_audit_save(&a, &len);
		assert_non_null(saved);
		assert_int_equal(strlen(saved), len);
		size_t first = a.findings;
		rp_audit_release(&a);
		memset(&b, 0xa5, sizeof(b));
		if (rp_audit_load(&b, saved, len, &d) != 0)
			fail_msg("state after %zu entries does not load: %s\n%s", k, d.msg, saved);
		assert_int_equal(b.tree.size, k);
		assert_string_equal(b.trusted_hash, hash);
		assert_int_equal(b.findings, 0);
		if (threads)
			replay_threads(&b, l, k, l->n, 5, 4, &rs);
		else
			replay(&b, l, k, l->n, &rs);
		assert_reports_equal(&rs, &ref);
		assert_int_equal(first + b.findings, findings_ref);
		rp_audit_root(&b, root);
		assert_memory_equal(root, root_ref, RP_HASH_LEN);
		rp_audit_release(&b);
		reports_free(&rs);
		free(saved);
	}
	reports_free(&ref);
}

static void audit_save_load_round_trip(void **state)
{
	struct entries l = {0};
	char hash[72];

	(void)state;
	mixed_log(&l, hash);
	save_load_continue(&l, hash, false);
	save_load_continue(&l, hash, true);
	entries_free(&l);
}

/* A log whose entry 0 is not the trusted policy has no chain head to save. */
static void audit_save_load_without_chain(void **state)
{
	struct entries l = {0};
	char hash[72], *t = policy_text(1, 2, 1, 2, EXPIRES);

	(void)state;
	add(&l, sign_set(t, A | B));
	free(t);
	add(&l, v1_signed(hash));
	add(&l, cmd("acme", 2, A | B));
	save_load_continue(&l, hash, false);
	entries_free(&l);
}

static void audit_saved_text_format(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], want[256];
	size_t len;
	char *saved;

	(void)state;
	clean_log(&l, hash, 6);
	rp_audit_init(&a, hash);
	saved = rp_audit_save(&a, &len);
	snprintf(want, sizeof(want), "rampart/audit/v1\ntrusted %s\nsize 0\n", hash);
	assert_string_equal(saved, want);
	free(saved);
	replay(&a, &l, 0, l.n, &rs);
	saved = rp_audit_save(&a, &len);
	snprintf(want, sizeof(want), "rampart/audit/v1\ntrusted %s\nsize 6\nedge 2 ", hash);
	assert_memory_equal(saved, want, strlen(want));
	assert_non_null(strstr(saved, "\nedge 1 "));
	assert_null(strstr(saved, "\nedge 0 "));
	assert_non_null(strstr(saved, "=\n\nrampart/policy/v1\n"));
	assert_non_null(strstr(saved, l.e[0])); /* the signed note, signatures too */
	free(saved);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* ---- rp_audit_load's diagnostics ---- */

/* A valid state after 3 entries: size 3, edge 1 and edge 0, then the policy. */
static char *state3(void)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], *saved;

	clean_log(&l, hash, 3);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	saved = rp_audit_save(&a, NULL);
	assert_non_null(saved);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
	return saved;
}

static void assert_load_fails(const char *text, const char *word)
{
	struct rp_audit a;
	struct rp_diag d = {""};

	if (rp_audit_load(&a, text, strlen(text), &d) >= 0)
		fail_msg("loaded:\n%s", text);
	assert_diag_has(&d, word);
	assert_null(a.policy);
	rp_audit_release(&a);
}

/* The state with line `which' (0-based) replaced by repl (NULL: removed). */
static char *edit_line(const char *s, int which, const char *repl)
{
	const char *p = s;
	struct rp_sb sb;
	char *out;

	for (int i = 0; i < which; i++) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	const char *e = strchr(p, '\n');
	assert_non_null(e);
	rp_sb_init(&sb, 1 << 20);
	rp_sb_put(&sb, s, (size_t)(p - s));
	if (repl) {
		rp_sb_puts(&sb, repl);
		rp_sb_puts(&sb, "\n");
	}
	rp_sb_puts(&sb, e + 1);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

static void audit_load_accepts_saved_state(void **state)
{
	char *s = state3();
	struct rp_audit a;
	struct rp_diag d = {""};

	(void)state;
	assert_int_equal(rp_audit_load(&a, s, strlen(s), &d), 0);
	assert_int_equal(a.tree.size, 3);
	assert_non_null(a.policy);
	assert_int_equal(a.policy->version, 1);
	assert_string_equal(a.trusted_hash, a.policy->hash);
	rp_audit_release(&a);
	free(s);
}

static void audit_load_rejects_first_line(void **state)
{
	char *s = state3(), *t;

	(void)state;
	t = edit_line(s, 0, "rampart/audit/v2");
	assert_load_fails(t, "rampart/audit/v1");
	free(t);
	assert_load_fails("", "first line");
	assert_load_fails("rampart/audit/v1", "first line");
	free(s);
}

static void audit_load_rejects_missing_fields(void **state)
{
	char *s = state3(), *t;

	(void)state;
	t = edit_line(s, 1, NULL);
	assert_load_fails(t, "trusted");
	free(t);
	t = edit_line(s, 2, NULL);
	assert_load_fails(t, "size");
	free(t);
	assert_load_fails("rampart/audit/v1\n", "missing field `trusted'");
	assert_load_fails("rampart/audit/v1\ntrusted x\n", "missing field `size'");
	t = edit_line(s, 1,
		      "trusted sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
		      "abcdef0123456789");
	assert_load_fails(t, "too long");
	free(t);
	free(s);
}

static void audit_load_rejects_bad_size(void **state)
{
	char *s = state3(), *t;

	(void)state;
	t = edit_line(s, 2, "size 03");
	assert_load_fails(t, "bad size");
	free(t);
	t = edit_line(s, 2, "size -3");
	assert_load_fails(t, "bad size");
	free(t);
	t = edit_line(s, 2, "size 9223372036854775808");
	assert_load_fails(t, "bad size");
	free(t);
	t = edit_line(s, 2, "size ");
	assert_load_fails(t, "bad size");
	free(t);
	/* size 2 needs edge 1 only: the edge 0 line is then where the blank line should be */
	t = edit_line(s, 2, "size 2");
	assert_load_fails(t, "no root policy");
	free(t);
	free(s);
}

static void audit_load_rejects_bad_edges(void **state)
{
	char *s = state3(), *t, *u;

	(void)state;
	t = edit_line(s, 3, NULL); /* edge 1 missing: edge 0 comes first */
	assert_load_fails(t, "bad edge line for level 1");
	free(t);
	t = edit_line(s, 4, NULL); /* edge 0 missing: the blank line comes */
	assert_load_fails(t, "edge");
	free(t);
	t = replace(s, "edge 1 ", "edge 2 ");
	assert_load_fails(t, "level 1");
	free(t);
	t = replace(s, "edge 1 ", "edge 01 ");
	assert_load_fails(t, "level 1");
	free(t);
	t = replace(s, "edge 0 ", "edge  0 ");
	assert_load_fails(t, "level 0");
	free(t);
	t = replace(s, "edge 0 ", "edge 0 !");
	assert_load_fails(t, "level 0");
	free(t);
	t = replace(s, "edge 0 ", "edge 0 AAAA");
	assert_load_fails(t, "level 0"); /* 35 bytes */
	free(t);
	t = replace(s, "edge 0 ", "edge0 ");
	assert_load_fails(t, "expected field `edge'");
	free(t);
	/* 31 bytes */
	t = edit_line(s, 4, "edge 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
	assert_load_fails(t, "level 0");
	u = edit_line(s, 4, "edge 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	{
		struct rp_audit a;
		assert_int_equal(rp_audit_load(&a, u, strlen(u), NULL), 0);
		rp_audit_release(&a);
	}
	free(u);
	free(t);
	t = replace(s, "edge 0 ", "edge 0");
	assert_load_fails(t, "level 0");
	free(t);
	free(s);
}

static void audit_load_rejects_missing_policy(void **state)
{
	char *s = state3(), *t, *p = strstr(s, "\n\n");

	(void)state;
	assert_non_null(p);
	/* no blank line: the policy right after the edge */
	t = replace(s, "=\n\nrampart", "=\nrampart");
	assert_load_fails(t, "no root policy after the edge");
	free(t);
	/* a blank line and nothing after it */
	p[2] = '\0';
	assert_load_fails(s, "");
	/* a blank line then garbage */
	t = concat(s, "garbage\n");
	assert_load_fails(t, "");
	free(t);
	/* no newline after the last edge */
	p[1] = '\0';
	p[0] = '\0';
	assert_load_fails(s, "edge");
	free(s);
}

/* What rp_audit_save writes when entry 0 was not the trusted policy: the edge, no policy. */
static void audit_load_state_without_policy(void **state)
{
	char *s = state3(), *p = strstr(s, "\n\n");
	struct rp_audit a;
	struct rp_diag d = {""};

	(void)state;
	assert_non_null(p);
	p[1] = '\0';
	assert_int_equal(rp_audit_load(&a, s, strlen(s), &d), 0);
	assert_int_equal(a.tree.size, 3);
	assert_null(a.policy);
	rp_audit_release(&a);
	free(s);
}

static void audit_load_rejects_data_after_size_0(void **state)
{
	(void)state;
	assert_load_fails("rampart/audit/v1\ntrusted x\nsize 0\n\n", "after size 0");
	assert_load_fails("rampart/audit/v1\ntrusted x\nsize 0\nedge 0 "
			  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			  "after size 0");
}

static void audit_load_rejects_trailing_garbage(void **state)
{
	char *s = state3(), *t;

	(void)state;
	t = concat(s, "trailing\n");
	assert_load_fails(t, "");
	free(t);
	t = concat(s, "\n");
	assert_load_fails(t, "");
	free(t);
	t = concat(s, "x");
	assert_load_fails(t, "");
	free(t);
	free(s);
}

/* ---- log key rotation ---- */

/* The key of the org's second log (generation 2), not the POLICY_LOG_TAIL one. */
#define LOG2_NAME "example.com/rampart/acme/2"

static void log2_skey(struct rp_skey *k)
{
	test_skey(LOG2_NAME, 0x58, k);
}

/* text with its `log' line naming the second log's key instead. */
static char *with_log2(const char *text)
{
	const char *from = strstr(text, "\nlog "), *to;
	struct rp_vkey v = {{0}};
	struct rp_skey s;
	struct rp_sb sb;
	char *k, *out;

	assert_non_null(from);
	to = strchr(from + 1, '\n');
	assert_non_null(to);
	log2_skey(&s);
	memcpy(v.name, s.name, sizeof(v.name));
	v.id = s.id;
	v.type = RP_KEY_ED25519;
	memcpy(v.pub, s.pub, sizeof(v.pub));
	k = rp_vkey_format(&v);
	assert_non_null(k);
	rp_sb_init(&sb, 8192);
	rp_sb_put(&sb, text, (size_t)(from - text));
	rp_sb_printf(&sb, "\nlog %s", k);
	rp_sb_puts(&sb, to);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	free(k);
	return out;
}

/* Policy v2 (policy_v(2, true, 2, 2)) naming the second log, signed by who; its hash. */
static char *v2_log2_signed(unsigned who, char hash[72])
{
	char *t = policy_v(2, true, 2, 2), *u = with_log2(t), *n = sign_set(u, who);

	if (hash)
		text_hash(u, hash);
	free(t);
	free(u);
	return n;
}

/* v1, a command, v2 naming the second log (entry 2 ends log 1). */
static void rotated_log(struct entries *l, char hash[72], char h2[72])
{
	add(l, v1_signed(hash));
	add(l, cmd("acme", 1, A | C));
	add(l, v2_log2_signed(A | B, h2));
}

/* The checkpoint of the second log's first n entries of l (from index `from'), cosigned at t. */
static char *served_log2(const struct entries *l, size_t from, size_t n, int64_t t)
{
	struct test_log *tl = calloc(1, sizeof(*tl));
	struct rp_checkpoint cp;
	struct rp_skey k;
	char *note;

	assert_non_null(tl);
	for (size_t i = 0; i < n; i++)
		test_log_append(tl, l->e[from + i], strlen(l->e[from + i]));
	test_log_head(tl, n, &cp);
	snprintf(cp.origin, sizeof(cp.origin), "%s", LOG2_NAME);
	log2_skey(&k);
	note = test_checkpoint_note(&cp, &k, TEST_WBOTH, t);
	free(tl);
	return note;
}

static void audit_log_key_rotation_ends_the_log(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_checkpoint cp;
	struct rp_diag d = {""};
	struct rp_audit a;
	char hash[72], h2[72], *note;
	bool stale = true;

	(void)state;
	rotated_log(&l, hash, h2);
	rp_audit_init(&a, hash);
	assert_int_equal(a.gen, 1);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, 3);
	assert_in_order(&rs, 0);
	assert_int_equal(count_findings(&rs), 0);
	assert_int_equal(a.findings, 0);
	assert_text_has(rs.r[2].text, "root policy of acme version 2");
	assert_text_has(rs.r[2].text, h2);
	assert_text_has(rs.r[2].text, "it names log " LOG2_NAME);
	assert_text_has(rs.r[2].text, "so log " TEST_LOG_NAME " ends with this entry");
	/* The log ends with entry 2: three entries. */
	assert_int_equal(a.end, 3);
	assert_int_equal(a.gen, 1);
	assert_int_equal(a.tree.size, 3);
	assert_root_is(&a, &l);
	/* The head is v2; the old log's checkpoints are still v1's to judge. */
	assert_int_equal(a.policy->version, 2);
	assert_string_equal(a.policy->hash, h2);
	assert_non_null(a.ended);
	assert_int_equal(a.ended->version, 1);
	assert_string_equal(a.ended->hash, hash);
	assert_ptr_equal(rp_audit_judge(&a, NULL), a.ended);
	assert_int_equal(rp_audit_judge(&a, NULL)->version, 1);
	note = served(3, NOW, &l);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	assert_false(stale);
	assert_int_equal(cp.size, 3);
	assert_string_equal(cp.origin, TEST_LOG_NAME);
	free(note);
	/* A checkpoint of the new log is not the old log's. */
	note = served_log2(&l, 2, 1, NOW);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_NOSIG);
	free(note);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* A rotation that keeps the log key, or one that is not authorised, ends nothing. */
static void audit_only_an_authorised_log_key_rotation_ends_the_log(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72];
	char *t;

	(void)state;
	add(&l, v1_signed(hash));
	add(&l, v2_log2_signed(A | D, NULL)); /* 1 only alice of v1's root: not authorised */
	t = policy_v(3, true, 2, 2);
	add(&l, with_log2(t)); /* 2 version 3 naming log 2, unsigned: unparseable */
	free(t);
	t = policy_v(2, true, 2, 2);
	add(&l, sign_set(t, A | B)); /* 3 v2, same log key */
	free(t);
	add(&l, cmd("acme", 4, A | D)); /* 4 under v2 */
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	assert_int_equal(rs.n, 5);
	assert_true(rs.r[1].finding);
	assert_text_has(rs.r[1].text, "not authorised");
	assert_true(rs.r[2].finding);
	assert_text_has(rs.r[2].text, "unparseable root policy");
	assert_false(rs.r[3].finding);
	assert_null(strstr(rs.r[3].text, "ends with this entry"));
	assert_false(rs.r[4].finding);
	assert_int_equal(a.findings, 2);
	assert_int_equal(a.end, 0);
	assert_null(a.ended);
	assert_int_equal(a.policy->version, 2);
	assert_ptr_equal(rp_audit_judge(&a, NULL), a.policy);
	assert_int_equal(rp_audit_next_log(&a), RP_E_POLICY);
	assert_int_equal(a.gen, 1);
	assert_int_equal(a.tree.size, 5);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

/* After the ending policy: every entry, however well signed, is a finding. */
static void ended_log(struct entries *l, char hash[72], char h2[72])
{
	char *t, *u;

	rotated_log(l, hash, h2);
	add(l, cmd("acme", 3, A | D)); /* 3 would be fine under v2 */
	add(l, cmd("acme", 4, A | B));
	t = policy_v(3, true, 2, 2);
	u = with_log2(t);
	add(l, sign_set(u, A | B)); /* 5 a valid v3 under v2, had the log not ended */
	free(u);
	free(t);
	add(l, cmd("acme", 6, A | D));
	add(l, dup("rampart/result/v1\nx\n")); /* 7 */
	add(l, cmd("acme", 8, B | D));
	add(l, cmd("acme", 9, A | B | D));
}

static void audit_entry_after_the_log_end_is_a_finding(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], h2[72];

	(void)state;
	ended_log(&l, hash, h2);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &rs);
	/* The first entry after the end is reported; the rest are counted, not reported:
	 * junk after a log's end cannot fill the findings bound. */
	assert_int_equal(rs.n, 4);
	assert_in_order(&rs, 0);
	for (size_t i = 0; i < 3; i++)
		assert_false(rs.r[i].finding);
	assert_true(rs.r[3].finding);
	assert_text_has(rs.r[3].text, "log " TEST_LOG_NAME " has an entry after entry 2");
	assert_text_has(rs.r[3].text, "the root policy that ended it");
	assert_int_equal(a.after_end, l.n - 3);
	assert_int_equal(a.findings, l.n - 3);
	assert_int_equal(count_findings(&rs), 1);
	/* Nothing after the end moves the chain, or the end. */
	assert_int_equal(a.end, 3);
	assert_int_equal(a.policy->version, 2);
	assert_int_equal(a.ended->version, 1);
	assert_int_equal(a.tree.size, l.n);
	assert_root_is(&a, &l);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_threads_entries_after_the_log_end_are_findings(void **state)
{
	static const unsigned threads[] = {1, 2, 4};
	static const size_t batches[] = {64, 1, 2, 3, 4};
	struct entries l = {0};
	struct reports ref = {0};
	uint8_t root_ref[RP_HASH_LEN], root[RP_HASH_LEN];
	struct rp_audit a;
	char hash[72], h2[72];

	(void)state;
	ended_log(&l, hash, h2);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, l.n, &ref);
	rp_audit_root(&a, root_ref);
	assert_int_equal(a.findings, l.n - 3);
	rp_audit_release(&a);
	for (size_t t = 0; t < N_ELEMS(threads); t++) {
		for (size_t b = 0; b < N_ELEMS(batches); b++) {
			struct reports rs = {0};
			rp_audit_init(&a, hash);
			replay_threads(&a, &l, 0, l.n, batches[b], threads[t], &rs);
			assert_reports_equal(&rs, &ref);
			assert_int_equal(count_findings(&rs), 1);
			assert_int_equal(a.after_end, l.n - 3);
			assert_int_equal(a.findings, l.n - 3);
			assert_int_equal(a.end, 3);
			assert_int_equal(a.policy->version, 2);
			assert_int_equal(a.tree.size, l.n);
			rp_audit_root(&a, root);
			assert_memory_equal(root, root_ref, RP_HASH_LEN);
			reports_free(&rs);
			rp_audit_release(&a);
		}
	}
	reports_free(&ref);
	entries_free(&l);
}

/* Log 1 replayed to its end and the next log started: a fresh tree under v2. */
static void start_log2(struct rp_audit *a, struct entries *l, char hash[72], char h2[72])
{
	struct reports rs = {0};

	rotated_log(l, hash, h2);
	rp_audit_init(a, hash);
	replay(a, l, 0, l->n, &rs);
	assert_int_equal(a->findings, 0);
	assert_int_equal(a->end, 3);
	assert_int_equal(rp_audit_next_log(a), 0);
	reports_free(&rs);
}

static void audit_next_log_starts_with_the_ending_policy(void **state)
{
	struct entries l = {0}, l2 = {0};
	struct reports rs = {0};
	struct rp_checkpoint cp;
	struct rp_diag d = {""};
	struct rp_audit a;
	char hash[72], h2[72], *note;
	bool stale = true;

	(void)state;
	start_log2(&a, &l, hash, h2);
	assert_int_equal(a.gen, 2);
	assert_int_equal(a.end, 0);
	assert_null(a.ended);
	assert_int_equal(a.tree.size, 0);
	assert_root_is(&a, &l2); /* the empty tree */
	assert_int_equal(a.policy->version, 2);
	/* The new log's checkpoints are v2's: its own key. */
	assert_ptr_equal(rp_audit_judge(&a, NULL), a.policy);
	assert_int_equal(rp_audit_judge(&a, NULL)->version, 2);
	/* A second call: this log did not end. */
	assert_int_equal(rp_audit_next_log(&a), RP_E_POLICY);
	assert_int_equal(a.gen, 2);
	/* Entry 0: the ending policy, the same note; then commands under v2. */
	add(&l2, dup(l.e[2]));
	add(&l2, cmd("acme", 11, A | D));
	add(&l2, cmd("acme", 12, A | C)); /* carol is not in v2 */
	replay(&a, &l2, 0, l2.n, &rs);
	assert_int_equal(rs.n, 3);
	assert_in_order(&rs, 0);
	assert_false(rs.r[0].finding);
	assert_text_has(rs.r[0].text, "root policy of acme version 2");
	assert_text_has(rs.r[0].text, h2);
	assert_text_has(rs.r[0].text, "starts log " LOG2_NAME " (generation 2)");
	assert_false(rs.r[1].finding);
	assert_text_has(rs.r[1].text, "signed by alice.example, dave.example");
	assert_true(rs.r[2].finding);
	assert_int_equal(a.findings, 1);
	assert_int_equal(a.end, 0);
	assert_int_equal(a.policy->version, 2);
	assert_string_equal(a.policy->hash, h2);
	assert_int_equal(a.tree.size, 3);
	assert_root_is(&a, &l2);
	note = served_log2(&l2, 0, 3, NOW);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 0);
	assert_int_equal(cp.size, 3);
	assert_string_equal(cp.origin, LOG2_NAME);
	free(note);
	/* The old log's checkpoints are no longer the ones judged. */
	note = served(3, NOW, &l);
	assert_int_equal(rp_audit_checkpoint(&a, NULL, note, strlen(note), NOW, &cp, &stale, &d),
			 RP_E_NOSIG);
	free(note);
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l2);
	entries_free(&l);
}

static void audit_next_log_entry0_other_policy_is_a_finding(void **state)
{
	struct entries l = {0}, l2 = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], h2[72];
	char *t, *u;

	(void)state;
	start_log2(&a, &l, hash, h2);
	add(&l2, dup(l.e[0])); /* version 1, the trusted policy */
	replay(&a, &l2, 0, 1, &rs);
	assert_int_equal(rs.n, 1);
	assert_true(rs.r[0].finding);
	assert_text_has(rs.r[0].text,
			"(generation 2) is not, byte for byte, root policy version 2");
	assert_text_has(rs.r[0].text, h2);
	assert_int_equal(a.findings, 1);
	assert_int_equal(a.policy->version, 2);
	assert_int_equal(a.tree.size, 1);
	rp_audit_release(&a);
	reports_free(&rs);
	entries_free(&l);
	/* Version 3 naming log 2, validly signed by v2's root: still not entry 0. */
	start_log2(&a, &l, hash, h2);
	entries_free(&l2);
	t = policy_v(3, true, 2, 2);
	u = with_log2(t);
	add(&l2, sign_set(u, A | B));
	free(u);
	free(t);
	replay(&a, &l2, 0, 1, &rs);
	assert_int_equal(rs.n, 1);
	assert_true(rs.r[0].finding);
	assert_text_has(rs.r[0].text, "is not, byte for byte, root policy version 2");
	assert_int_equal(a.findings, 1);
	assert_int_equal(a.policy->version, 2);
	rp_audit_release(&a);
	reports_free(&rs);
	entries_free(&l);
	/* Version 2 itself, the same text, signed by another valid quorum: not byte for byte. */
	start_log2(&a, &l, hash, h2);
	entries_free(&l2);
	add(&l2, v2_log2_signed(A | B | D, h2));
	replay(&a, &l2, 0, 1, &rs);
	assert_int_equal(rs.n, 1);
	assert_true(rs.r[0].finding);
	assert_text_has(rs.r[0].text, "is not, byte for byte");
	assert_int_equal(a.findings, 1);
	rp_audit_release(&a);
	reports_free(&rs);
	entries_free(&l);
	entries_free(&l2);
}

/* A command where the ending policy must be: a finding, one by one and on threads. */
static void audit_next_log_entry0_command_is_a_finding(void **state)
{
	struct entries l = {0}, l2 = {0};
	struct rp_audit a;
	char hash[72], h2[72];

	(void)state;
	add(&l2, cmd("acme", 11, A | B)); /* authorised under v2 */
	add(&l2, cmd("acme", 12, A | B));
	for (int threads = 0; threads < 2; threads++) {
		struct reports rs = {0};
		start_log2(&a, &l, hash, h2);
		if (threads)
			replay_threads(&a, &l2, 0, l2.n, 64, 4, &rs);
		else
			replay(&a, &l2, 0, l2.n, &rs);
		assert_int_equal(rs.n, 2);
		assert_true(rs.r[0].finding);
		assert_int_equal(a.findings, 1);
		assert_int_equal(a.tree.size, 2);
		rp_audit_release(&a);
		reports_free(&rs);
		entries_free(&l);
	}
	entries_free(&l2);
}

static void audit_save_refused_while_the_log_ended(void **state)
{
	struct entries l = {0};
	struct reports rs = {0};
	struct rp_audit a;
	char hash[72], h2[72];
	size_t len = 12345;

	(void)state;
	rotated_log(&l, hash, h2);
	rp_audit_init(&a, hash);
	replay(&a, &l, 0, 2, &rs);
	char *saved = rp_audit_save(&a, &len);
	assert_non_null(saved); /* before the end */
	free(saved);
	replay(&a, &l, 2, 3, &rs);
	assert_int_equal(a.end, 3);
	len = 12345;
	assert_null(rp_audit_save(&a, &len));
	assert_null(rp_audit_save(&a, NULL));
	reports_free(&rs);
	rp_audit_release(&a);
	entries_free(&l);
}

static void audit_save_load_next_log(void **state)
{
	struct entries l = {0}, l2 = {0};
	struct reports rs = {0}, rs2 = {0};
	struct rp_diag d = {""};
	struct rp_audit a, b;
	uint8_t ra[RP_HASH_LEN], rb[RP_HASH_LEN];
	char hash[72], h2[72], head[256], *saved, *again, *want;
	size_t len, len2;

	(void)state;
	start_log2(&a, &l, hash, h2);
	saved = rp_audit_save(&a, &len);
	assert_non_null(saved);
	assert_int_equal(strlen(saved), len);
	/* log 2, log 1 as replayed (3 entries, its root, judged by version 1), size 0,
	 * then the ending policy, signatures too: entry 0 must be it. */
	{
		uint8_t leaves[3][RP_HASH_LEN], r1[RP_HASH_LEN];
		char *b64;
		for (size_t i = 0; i < 3; i++)
			rp_merkle_leaf_hash(l.e[i], strlen(l.e[i]), leaves[i]);
		mth(leaves, 3, r1);
		b64 = rp_b64_encode(r1, RP_HASH_LEN);
		snprintf(head, sizeof(head),
			 "rampart/audit/v1\ntrusted %s\nlog 2\nretired 1 3 %s 1 %s\nsize 0\n\n",
			 hash, b64, hash);
		free(b64);
	}
	want = concat(head, l.e[2]);
	assert_string_equal(saved, want);
	free(want);
	memset(&b, 0xa5, sizeof(b));
	if (rp_audit_load(&b, saved, len, &d) != 0)
		fail_msg("does not load: %s\n%s", d.msg, saved);
	assert_int_equal(b.gen, 2);
	assert_int_equal(b.nretired, 1);
	assert_int_equal(b.retired[0].gen, 1);
	assert_int_equal(b.retired[0].size, 3);
	assert_int_equal(b.retired[0].version, 1);
	assert_string_equal(b.retired[0].hash, hash);
	assert_int_equal(b.tree.size, 0);
	assert_int_equal(b.end, 0);
	assert_null(b.ended);
	assert_int_equal(b.findings, 0);
	assert_string_equal(b.trusted_hash, hash);
	assert_non_null(b.policy);
	assert_int_equal(b.policy->version, 2);
	assert_string_equal(b.policy->hash, h2);
	assert_ptr_equal(rp_audit_judge(&b, NULL), b.policy);
	again = rp_audit_save(&b, &len2);
	assert_non_null(again);
	assert_int_equal(len2, len);
	assert_string_equal(again, saved);
	free(again);
	/* Both go on the same: entry 0 the ending policy, then commands. */
	add(&l2, dup(l.e[2]));
	for (unsigned i = 1; i < 6; i++)
		add(&l2, cmd("acme", 20 + i, i == 3 ? A | C : A | D));
	replay(&a, &l2, 0, l2.n, &rs);
	replay(&b, &l2, 0, l2.n, &rs2);
	assert_reports_equal(&rs, &rs2);
	assert_false(rs2.r[0].finding);
	assert_int_equal(b.findings, 1);
	rp_audit_root(&a, ra);
	rp_audit_root(&b, rb);
	assert_memory_equal(ra, rb, RP_HASH_LEN);
	assert_root_is(&b, &l2);
	free(saved);
	/* Later in log 2: log 2, size 6, its edges and the policy; loads back to the same. */
	saved = rp_audit_save(&b, &len);
	assert_non_null(saved);
	snprintf(head, sizeof(head), "rampart/audit/v1\ntrusted %s\nlog 2\nretired 1 3 ", hash);
	assert_memory_equal(saved, head, strlen(head));
	assert_text_has(saved, "\nsize 6\nedge 2 ");
	rp_audit_release(&b);
	assert_int_equal(rp_audit_load(&b, saved, len, &d), 0);
	assert_int_equal(b.gen, 2);
	assert_int_equal(b.tree.size, 6);
	assert_int_equal(b.policy->version, 2);
	rp_audit_root(&b, rb);
	assert_memory_equal(ra, rb, RP_HASH_LEN);
	free(saved);
	rp_audit_release(&b);
	rp_audit_release(&a);
	reports_free(&rs);
	reports_free(&rs2);
	entries_free(&l);
	entries_free(&l2);
}

/* The state after log 2 started (log 2, size 0, the policy), with its retired line or not. */
static char *state_log2_retired(bool retired)
{
	struct entries l = {0};
	struct rp_audit a;
	char hash[72], h2[72], *saved, *t;

	start_log2(&a, &l, hash, h2);
	saved = rp_audit_save(&a, NULL);
	assert_non_null(saved);
	rp_audit_release(&a);
	entries_free(&l);
	if (retired)
		return saved;
	t = edit_line(saved, 3, NULL); /* `retired 1 3 ...': zero such lines load too */
	free(saved);
	return t;
}

static char *state_log2(void)
{
	return state_log2_retired(false);
}

static void audit_load_rejects_bad_retired_lines(void **state)
{
	static const char *const bad[] = {
		"retired 1 3",
		"retired 1 3 AAAA 1 sha256:x",
		"retired 0 3 xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 1 sha256:x",
		"retired 1 3 xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 0 sha256:x",
		"retired 1 3 xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 1 sha256:x extra",
		"retired 1 x xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 1 sha256:x",
	};
	char *s = state_log2_retired(true), *t;
	struct rp_audit a;

	(void)state;
	assert_int_equal(rp_audit_load(&a, s, strlen(s), NULL), 0);
	assert_int_equal(a.nretired, 1);
	rp_audit_release(&a);
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		t = edit_line(s, 3, bad[i]);
		assert_load_fails(t, "bad retired line");
		free(t);
	}
	/* a retired log that is not before the state's own, or two out of order */
	t = edit_line(s, 3, "retired 2 3 xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 1 sha256:x");
	assert_load_fails(t, "not before log 2");
	free(t);
	t = replace(
		s, "\nretired 1 ",
		"\nretired 1 3 xaXjZrE1cAbNabZj+SOSnXPTFK5ZbCz8nnXhPb7MM+g= 1 sha256:x\nretired 1 ");
	assert_load_fails(t, "out of order");
	free(t);
	free(s);
}

static void audit_load_rejects_bad_log_generation(void **state)
{
	static const char *const bad[] = {"log 1",  "log 0",  "log x",  "log ",
					  "log 02", "log -2", "log 2 ", "log 9223372036854775808"};
	char *s = state_log2(), *t;

	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		t = edit_line(s, 2, bad[i]);
		assert_load_fails(t, "bad log generation");
		free(t);
	}
	/* After size, or twice: not where it goes. */
	t = replace(s, "log 2\nsize 0\n", "size 0\nlog 2\n");
	assert_load_fails(t, "after size 0");
	free(t);
	t = replace(s, "log 2\n", "log 2\nlog 2\n");
	assert_load_fails(t, "size");
	free(t);
	/* Without the log line this is a log 1 state: nothing may follow size 0. */
	t = edit_line(s, 2, NULL);
	assert_load_fails(t, "after size 0");
	free(t);
	/* The largest generation loads. */
	t = edit_line(s, 2, "log 9223372036854775807");
	{
		struct rp_audit a;
		assert_int_equal(rp_audit_load(&a, t, strlen(t), NULL), 0);
		assert_int_equal(a.gen, INT64_MAX);
		rp_audit_release(&a);
	}
	free(t);
	free(s);
}

/* States written before log key rotation have no log line: log 1. */
static void audit_load_state_without_log_line_is_log_1(void **state)
{
	char *s = state3(), *again;
	struct rp_audit a;
	struct rp_diag d = {""};
	size_t len;

	(void)state;
	/* rampart/audit/v1, trusted, then size: no log line */
	assert_memory_equal(strchr(strchr(s, '\n') + 1, '\n') + 1, "size 3\n", 7);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(rp_audit_load(&a, s, strlen(s), &d), 0);
	assert_int_equal(a.gen, 1);
	assert_int_equal(a.end, 0);
	assert_null(a.ended);
	assert_int_equal(a.tree.size, 3);
	again = rp_audit_save(&a, &len);
	assert_non_null(again);
	assert_string_equal(again, s);
	free(again);
	rp_audit_release(&a);
	assert_int_equal(rp_audit_load(&a, "rampart/audit/v1\ntrusted x\nsize 0\n", 34, &d), 0);
	assert_int_equal(a.gen, 1);
	assert_null(a.policy);
	rp_audit_release(&a);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(audit_clean_log_has_no_findings),
		cmocka_unit_test(audit_root_matches_test_log_every_size),
		cmocka_unit_test(audit_entry0_not_trusted_policy),
		cmocka_unit_test(audit_entry0_not_signed_by_its_quorum),
		cmocka_unit_test(audit_bad_entries_are_findings_and_replay_goes_on),
		cmocka_unit_test(audit_valid_rotation_then_commands_under_v2),
		cmocka_unit_test(audit_invalid_rotations_keep_the_head),
		cmocka_unit_test(audit_threads_match_one_by_one),
		cmocka_unit_test(audit_threads_before_any_policy),
		cmocka_unit_test(audit_stale_checkpoint_is_reported),
		cmocka_unit_test(audit_checkpoint_judged_by_the_trusted_policy),
		cmocka_unit_test(audit_checkpoint_without_quorum_is_refused),
		cmocka_unit_test(audit_save_load_round_trip),
		cmocka_unit_test(audit_save_load_without_chain),
		cmocka_unit_test(audit_saved_text_format),
		cmocka_unit_test(audit_load_accepts_saved_state),
		cmocka_unit_test(audit_load_rejects_first_line),
		cmocka_unit_test(audit_load_rejects_missing_fields),
		cmocka_unit_test(audit_load_rejects_bad_size),
		cmocka_unit_test(audit_load_rejects_bad_edges),
		cmocka_unit_test(audit_load_rejects_missing_policy),
		cmocka_unit_test(audit_load_state_without_policy),
		cmocka_unit_test(audit_load_rejects_data_after_size_0),
		cmocka_unit_test(audit_load_rejects_trailing_garbage),
		cmocka_unit_test(audit_log_key_rotation_ends_the_log),
		cmocka_unit_test(audit_only_an_authorised_log_key_rotation_ends_the_log),
		cmocka_unit_test(audit_entry_after_the_log_end_is_a_finding),
		cmocka_unit_test(audit_threads_entries_after_the_log_end_are_findings),
		cmocka_unit_test(audit_next_log_starts_with_the_ending_policy),
		cmocka_unit_test(audit_next_log_entry0_other_policy_is_a_finding),
		cmocka_unit_test(audit_next_log_entry0_command_is_a_finding),
		cmocka_unit_test(audit_save_refused_while_the_log_ended),
		cmocka_unit_test(audit_save_load_next_log),
		cmocka_unit_test(audit_load_rejects_bad_retired_lines),
		cmocka_unit_test(audit_load_rejects_bad_log_generation),
		cmocka_unit_test(audit_load_state_without_log_line_is_log_1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
