/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's whole check path, rp_verify_delivery (DESIGN.md section 4),
 * as attacks: one named test per thing a breached server might try.
 * Policy: exec 2 of alice, bob, carol (the vector keys); the log and
 * witnesses of POLICY_LOG_TAIL (both witnesses, freshness 3600 s).
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "verify.h"

#define DEV   "00112233445566778899aabbccddeeff"
#define OTHER "ffeeddccbbaa99887766554433221100"
#define ID    "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9"
#define NOW   1795000000 /* 2026-11-18T11:06:40Z */
#define SKEW  300

static const char payload[] = "echo hello\n";
static struct rp_policy *policy;

static int setup(void **state)
{
	char *t = policy_text(2, 2, 1, 2, 4102444800);
	(void)state;
	if (rp_policy_parse_text(t, strlen(t), &policy, NULL) != 0)
		return -1;
	free(t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rp_policy_free(policy);
	return 0;
}

/* Zero fields take the defaults: acme, ID, target DEV, valid from NOW-60 to NOW+3600. */
struct cmd_spec {
	int unused; /* lets SPEC() be empty without an empty initializer */
	const char *org;
	const char *id;
	const char *targets[3];
	int64_t nb, ex;
};

#define SPEC(...) ((struct cmd_spec){.unused = 0, __VA_ARGS__})

/* The command text for spec, bound to `payload'. */
static char *command(struct cmd_spec s)
{
	char targets[3][RP_TARGET_MAX + 1];
	struct rp_command c = {0};
	char *t;

	snprintf(c.org, sizeof(c.org), "%s", s.org ? s.org : "acme");
	snprintf(c.id, sizeof(c.id), "%s", s.id ? s.id : ID);
	c.not_before = s.nb ? s.nb : NOW - 60;
	c.expires = s.ex ? s.ex : NOW + 3600;
	snprintf(c.run_as, sizeof(c.run_as), "root");
	c.timeout = 10;
	rp_sha256(payload, strlen(payload), c.payload_hash);
	c.payload_size = strlen(payload);
	if (!s.targets[0])
		s.targets[0] = DEV;
	for (int i = 0; i < 3 && s.targets[i]; i++)
		snprintf(targets[c.ntargets++], RP_ID_HEX + 1, "%s", s.targets[i]);
	c.targets = targets;
	t = rp_command_format(&c, NULL);
	assert_non_null(t);
	return t;
}

static char *signed_cmd(struct cmd_spec s, const int *who)
{
	char *t = command(s), *n = sign_by(t, strlen(t), who);
	free(t);
	return n;
}

/*
 * Every delivery goes through the test log (helpers.h): FILL filler
 * entries, the statement as entry AT, more fillers up to SIZE entries.
 * The agent has stored the checkpoint of the first SEEN entries and acted
 * on entry SEEN - 1; the delivery offers the checkpoint of SIZE entries
 * cosigned by both witnesses at the verifier's `now', the statement's
 * inclusion proof and the consistency proof from SEEN to SIZE.
 */
#define FILL  5
#define AT    5
#define SIZE  8
#define SEEN  3
#define UNSET (-7) /* *ret_proved before a run */

struct seen_state {
	int calls;
	int answer;
	char last[RP_ID_HEX + 1];
};

static int seen_cb(void *arg, const char *id)
{
	struct seen_state *st = arg;

	st->calls++;
	snprintf(st->last, sizeof(st->last), "%s", id);
	return st->answer;
}

/* The agent's durable checkpoint store: what it was last given. */
struct store_state {
	int calls;
	int answer;
	struct rp_checkpoint cp;
	char *note;
	int64_t newest;
};

static int store_cb(void *arg, const struct rp_checkpoint *cp, const char *note, size_t len,
		    int64_t newest)
{
	struct store_state *s = arg;

	s->calls++;
	s->cp = *cp;
	free(s->note);
	s->note = strndup(note, len);
	assert_non_null(s->note);
	assert_int_equal(strlen(s->note), len);
	s->newest = newest;
	return s->answer;
}

struct env {
	struct test_log lg;
	struct rp_delivery dl;
	struct rp_log_state st; /* what the agent stored */
	struct seen_state seen;
	struct store_state store;
	int64_t proved;
	struct rp_verify_ctx ctx;
};

/* The delivery offers note (consumed) as its checkpoint. */
static void env_set_note(struct env *e, char *note)
{
	free(e->dl.checkpoint);
	e->dl.checkpoint = note;
	e->dl.checkpoint_len = note ? strlen(note) : 0;
}

/* The agent's stored checkpoint becomes that of the first size entries of l. */
static void env_saw(struct env *e, const struct test_log *l, uint64_t size)
{
	struct rp_checkpoint cp;

	test_log_head(l, size, &cp);
	e->st.size = size;
	memcpy(e->st.root, cp.root, RP_HASH_LEN);
}

/*
 * The delivery offers the checkpoint of e->lg's first size entries
 * cosigned at t, the inclusion proof of dl.index (none when it is not
 * below size) and the consistency proof from the stored checkpoint (none
 * unless that is smaller).
 */
static void env_offer(struct env *e, uint64_t size, unsigned witnesses, int64_t t)
{
	env_set_note(e, test_log_note(&e->lg, size, witnesses, t));
	e->dl.nproof =
		(uint64_t)e->dl.index < size
			? test_log_inclusion(&e->lg, (uint64_t)e->dl.index, size, e->dl.proof)
			: 0;
	e->dl.ncons = e->st.size > 0 && e->st.size < size
			      ? test_log_consistency(&e->lg, e->st.size, size, e->dl.consistency)
			      : 0;
}

/* statement and pl are borrowed: they must outlive the env. */
static struct env *env_new(const char *statement, const void *pl, size_t pl_len, int64_t now)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	test_log_fill(&e->lg, FILL);
	assert_int_equal(test_log_append(&e->lg, statement, strlen(statement)), AT);
	test_log_fill(&e->lg, SIZE - AT - 1);
	e->dl.statement = (char *)statement;
	e->dl.statement_len = strlen(statement);
	e->dl.payload = (uint8_t *)pl;
	e->dl.payload_len = pl_len;
	e->dl.index = AT;
	e->st.last_index = SEEN - 1;
	env_saw(e, &e->lg, SEEN);
	env_offer(e, SIZE, TEST_WBOTH, now);
	e->ctx = (struct rp_verify_ctx){.policy = policy,
					.device_id = DEV,
					.now = now,
					.skew = SKEW,
					.seen = seen_cb,
					.seen_arg = &e->seen,
					.log = &e->st,
					.store = store_cb,
					.store_arg = &e->store,
					.ret_proved = &e->proved};
	return e;
}

static void env_free(struct env *e)
{
	free(e->dl.checkpoint);
	free(e->store.note);
	free(e);
}

struct outcome {
	int r;
	char id[RP_ID_HEX + 1];
	struct rp_diag d;
	int seen_calls;
	int store_calls;
	int64_t proved;
};

/* One rp_verify_delivery, with the invariants every run must keep. */
static struct outcome env_run(struct env *e)
{
	struct rp_command *c = NULL;
	struct outcome o = {0};

	memset(o.id, 'x', RP_ID_HEX);
	e->seen.calls = 0;
	e->store.calls = 0;
	e->proved = UNSET;
	o.r = rp_verify_delivery(&e->ctx, &e->dl, &c, o.id, &o.d);
	o.seen_calls = e->seen.calls;
	o.store_calls = e->store.calls;
	o.proved = e->proved;
	/* Stored at most once; proved only once stored; consulted only once proved. */
	assert_true(o.store_calls <= 1);
	if (o.store_calls == 0)
		assert_int_equal(o.proved, UNSET);
	if (o.proved != UNSET)
		assert_int_equal(o.proved, e->dl.index);
	if (o.seen_calls > 0)
		assert_int_equal(o.proved, e->dl.index);
	if (o.r == 0) {
		assert_non_null(c);
		assert_non_null(c->note);
		assert_string_equal(c->id, o.id);
		assert_int_equal(o.seen_calls, 1);
		assert_string_equal(e->seen.last, c->id);
		assert_int_equal(o.store_calls, 1);
		assert_int_equal(o.proved, e->dl.index);
		assert_true(rp_command_targets(c, DEV));
		rp_command_free(c);
	} else {
		assert_null(c);
		/* The replay store's and checkpoint store's own errors pass through as they are. */
		if (o.r != e->seen.answer && o.r != e->store.answer)
			assert_true(o.d.msg[0] != '\0');
	}
	return o;
}

/* Check 1 refused: nothing stored, nothing proved, the statement not looked at. */
static void refused_at_check1(struct env *e, int want, const char *word)
{
	struct outcome o = env_run(e);

	assert_int_equal(o.r, want);
	assert_diag_has(&o.d, word);
	assert_int_equal(o.store_calls, 0);
	assert_int_equal(o.proved, UNSET);
	assert_int_equal(o.seen_calls, 0);
	assert_string_equal(o.id, "");
}

/* Check 2 refused: the checkpoint was fine (stored), the entry is not proved. */
static void refused_at_check2(struct env *e, const char *word)
{
	struct outcome o = env_run(e);

	assert_int_equal(o.r, RP_E_PROOF);
	assert_diag_has(&o.d, word);
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, UNSET);
	assert_int_equal(o.seen_calls, 0);
}

static void accepted_now(struct env *e)
{
	assert_int_equal(env_run(e).r, 0);
}

/*
 * The statement note delivered through the log at `now', nothing executed
 * yet. Every statement test passes checks 1 and 2, so the checkpoint is
 * stored once and the entry proved, whatever later check refuses.
 */
static struct outcome run_full(const char *note, const void *pl, size_t pl_len, int64_t now,
			       int seen_answer)
{
	struct env *e = env_new(note, pl, pl_len, now);
	struct outcome o;

	e->seen.answer = seen_answer;
	o = env_run(e);
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, AT);
	env_free(e);
	return o;
}

/* Verifies note (consumed) with `payload' at NOW, through the log, nothing executed yet. */
static int run(char *note)
{
	struct outcome o = run_full(note, payload, strlen(payload), NOW, 0);
	free(note);
	return o.r;
}

#define TWO ((int[]){0, 1, -1})

static void accepted(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct outcome o = run_full(n, payload, strlen(payload), NOW, 0);
	(void)state;
	assert_int_equal(o.r, 0);
	assert_string_equal(o.id, ID);
	free(n);
}

static void accepted_any_two_of_three(void **state)
{
	(void)state;
	assert_int_equal(run(signed_cmd(SPEC(), ((int[]){1, 2, -1}))), 0);
	assert_int_equal(run(signed_cmd(SPEC(), ((int[]){2, 0, -1}))), 0);
	assert_int_equal(run(signed_cmd(SPEC(), ((int[]){0, 1, 2, -1}))), 0);
}

static void accepted_among_several_targets(void **state)
{
	(void)state;
	assert_int_equal(run(signed_cmd(SPEC(.targets = {OTHER, DEV}), TWO)), 0);
}

static void org_mismatch(void **state)
{
	char *n = signed_cmd(SPEC(.org = "globex"), TWO);
	struct outcome o = run_full(n, payload, strlen(payload), NOW, 0);
	(void)state;
	assert_int_equal(o.r, RP_E_ORG);
	/* The alert can name the statement. */
	assert_string_equal(o.id, ID);
	assert_diag_has(&o.d, "globex");
	free(n);
}

static void only_one_signature(void **state)
{
	(void)state;
	assert_int_equal(run(signed_cmd(SPEC(), ((int[]){2, -1}))), RP_E_QUORUM);
}

static void same_key_signs_twice(void **state)
{
	char *one = signed_cmd(SPEC(), ((int[]){0, -1}));
	char *twice = concat(one, sig_block(one));
	(void)state;
	assert_int_equal(run(twice), RP_E_QUORUM);
	free(one);
}

static void signer_not_in_policy(void **state)
{
	/* alice plus a key the server made up. */
	char *one = signed_cmd(SPEC(), ((int[]){0, -1})), *out;
	struct rp_note *n;
	struct rp_skey eve;
	size_t len;
	(void)state;

	test_skey("eve.example", 0x66, &eve);
	assert_int_equal(rp_note_parse(one, strlen(one), &n, NULL), 0);
	assert_int_equal(rp_note_sign(n->msg, n->text_len, n, &eve, &out, &len), 0);
	assert_int_equal(run(out), RP_E_QUORUM);
	rp_note_free(n);
	free(one);
}

static void not_a_target(void **state)
{
	(void)state;
	assert_int_equal(run(signed_cmd(SPEC(.targets = {OTHER}), TWO)), RP_E_TARGET);
}

static void expired(void **state)
{
	char *n = signed_cmd(SPEC(.nb = NOW - 7200, .ex = NOW - 3600), TWO);
	int64_t ex = NOW - 3600;
	(void)state;
	/* Exact, with no skew allowance: accepted up to the last second before
	 * expires, refused from expires on (and within what used to be the
	 * 300 s allowance, where it ran after the server showed it expired). */
	assert_int_equal(run_full(n, payload, strlen(payload), ex - 1, 0).r, 0);
	assert_int_equal(run_full(n, payload, strlen(payload), ex, 0).r, RP_E_EXPIRED);
	assert_int_equal(run_full(n, payload, strlen(payload), ex + SKEW, 0).r, RP_E_EXPIRED);
	assert_int_equal(run_full(n, payload, strlen(payload), ex + SKEW + 1, 0).r, RP_E_EXPIRED);
	free(n);
}

static void expired_within_skew_never_runs(void **state)
{
	/* The attack of threat-model row 7: a server (or a slow delivery)
	 * offers a statement that expired a minute ago, well inside the clock
	 * skew. It is refused after checks 1 and 2 (so its index is consumed,
	 * in order), naming the statement for the alert. */
	int64_t ex = NOW - 60;
	char *n = signed_cmd(SPEC(.nb = NOW - 3600, .ex = ex), TWO);
	struct outcome o;
	(void)state;
	o = run_full(n, payload, strlen(payload), NOW, 1);
	assert_int_equal(o.r, RP_E_EXPIRED);
	assert_string_equal(o.id, ID);
	assert_diag_has(&o.d, "expired");
	assert_int_equal(o.seen_calls, 0); /* refused before the replay store is asked */
	free(n);
}

static void not_yet_valid(void **state)
{
	int64_t nb = NOW + 3600;
	char *n = signed_cmd(SPEC(.nb = nb, .ex = nb + 3600), TWO);
	(void)state;
	/* now + skew < not-before: refused; at the edge of the skew: accepted. */
	assert_int_equal(run_full(n, payload, strlen(payload), nb - SKEW - 1, 0).r, RP_E_NOTYET);
	assert_int_equal(run_full(n, payload, strlen(payload), nb - SKEW, 0).r, 0);
	free(n);
}

static void replayed(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct outcome o = run_full(n, payload, strlen(payload), NOW, 1);
	(void)state;
	assert_int_equal(o.r, RP_E_REPLAY);
	assert_int_equal(o.seen_calls, 1);
	assert_string_equal(o.id, ID);
	free(n);
}

static void replay_store_error(void **state)
{
	/* The durable record cannot be read: refuse, with the store's error. */
	char *n = signed_cmd(SPEC(), TWO);
	(void)state;
	assert_int_equal(run_full(n, payload, strlen(payload), NOW, RP_E_DB).r, RP_E_DB);
	free(n);
}

static void payload_altered(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	const char evil[] = "echo hellO\n";
	(void)state;
	assert_int_equal(sizeof(evil) - 1, strlen(payload));
	assert_int_equal(run_full(n, evil, strlen(evil), NOW, 0).r, RP_E_PAYLOAD);
	free(n);
}

static void payload_size_differs(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	char *longer = concat(payload, "rm -rf /\n");
	struct outcome o;
	(void)state;

	/* Refused on the size, before the payload is hashed. */
	o = run_full(n, longer, strlen(longer), NOW, 0);
	assert_int_equal(o.r, RP_E_PAYLOAD);
	assert_diag_has(&o.d, "bytes");
	o = run_full(n, payload, strlen(payload) - 1, NOW, 0);
	assert_int_equal(o.r, RP_E_PAYLOAD);
	assert_diag_has(&o.d, "bytes");
	o = run_full(n, "", 0, NOW, 0);
	assert_int_equal(o.r, RP_E_PAYLOAD);
	assert_diag_has(&o.d, "bytes");
	free(longer);
	free(n);
}

static void signature_swapped(void **state)
{
	/*
	 * bob signed this statement; alice's line comes from another statement
	 * (another id, another device). Together they name two role keys.
	 */
	char *mine = signed_cmd(SPEC(), ((int[]){1, -1}));
	char *theirs =
		signed_cmd(SPEC(.id = "00000000000000000000000000000001", .targets = {OTHER}),
			   ((int[]){0, -1}));
	char *n = concat(mine, sig_block(theirs));
	(void)state;
	assert_int_equal(run(n), RP_E_BADSIG);
	free(mine);
	free(theirs);
}

static void all_signatures_from_other_statement(void **state)
{
	/* A quorum-signed statement for another device, its text swapped for ours. */
	char *theirs = signed_cmd(SPEC(.targets = {OTHER}), TWO);
	char *text = command(SPEC());
	char *mine = concat(text, "\n");
	char *n = concat(mine, sig_block(theirs));
	(void)state;
	assert_int_equal(run(n), RP_E_BADSIG);
	free(theirs);
	free(text);
	free(mine);
}

static void target_added_after_signing(void **state)
{
	char *n = signed_cmd(SPEC(.targets = {OTHER}), TWO);
	char *widened = replace(n, "target " OTHER "\n", "target " OTHER "\ntarget " DEV "\n");
	(void)state;
	assert_int_equal(run(widened), RP_E_BADSIG);
	free(n);
}

static void expiry_extended_after_signing(void **state)
{
	char *n = signed_cmd(SPEC(.nb = NOW - 7200, .ex = NOW - 3600), TWO);
	char t[21], from[40], to[40];
	(void)state;
	rp_time_format(NOW - 3600, t);
	snprintf(from, sizeof(from), "expires %s", t);
	rp_time_format(NOW + 3600, t);
	snprintf(to, sizeof(to), "expires %s", t);
	char *extended = replace(n, from, to);
	assert_int_equal(run(extended), RP_E_BADSIG);
	free(n);
}

static void unsigned_statement(void **state)
{
	(void)state;
	assert_int_equal(run(command(SPEC())), RP_E_MALFORMED);
}

static void signed_garbage(void **state)
{
	const char *t = "rampart/command/v1\norg acme\n";
	struct outcome o;
	char *n = sign_by(t, strlen(t), TWO);
	(void)state;
	o = run_full(n, payload, strlen(payload), NOW, 0);
	assert_int_equal(o.r, RP_E_MALFORMED);
	assert_string_equal(o.id, ""); /* nothing to name */
	free(n);
}

static void checks_in_design_order(void **state)
{
	/* Two faults each: the one DESIGN.md section 4 checks first is reported. */
	char *n;
	struct outcome o;
	(void)state;

	n = signed_cmd(SPEC(.org = "globex"), ((int[]){0, -1}));
	assert_int_equal(run_full(n, payload, strlen(payload), NOW, 0).r, RP_E_ORG);
	free(n);
	n = signed_cmd(SPEC(.nb = NOW - 7200, .ex = NOW - 3600), ((int[]){0, -1}));
	assert_int_equal(run_full(n, payload, strlen(payload), NOW, 0).r, RP_E_QUORUM);
	free(n);
	n = signed_cmd(SPEC(.nb = NOW - 7200, .ex = NOW - 3600, .targets = {OTHER}), TWO);
	assert_int_equal(run_full(n, payload, strlen(payload), NOW, 0).r, RP_E_EXPIRED);
	free(n);
	n = signed_cmd(SPEC(.targets = {OTHER}), TWO);
	o = run_full(n, payload, strlen(payload), NOW, 1);
	assert_int_equal(o.r, RP_E_TARGET);
	/* The replay store is consulted only for an authentic statement for us. */
	assert_int_equal(o.seen_calls, 0);
	free(n);
	n = signed_cmd(SPEC(), TWO);
	assert_int_equal(run_full(n, "x", 1, NOW, 1).r, RP_E_REPLAY);
	free(n);
}

/* ---- checks 1 and 2: the transparency log, as attacks ---- */

/* A log that agrees with the env's on its first `same' entries, then differs. */
static struct test_log *forked_log(uint64_t same, uint64_t size)
{
	struct test_log *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	test_log_fill(l, (unsigned)same);
	while (l->size < size)
		test_log_append(l, "the server's other history\n", 27);
	return l;
}

static void log_data_missing(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	char *note = e->dl.checkpoint;
	(void)state;

	/* None at all, as when the server never logged the statement. */
	e->dl.checkpoint = NULL;
	e->dl.index = -1;
	e->dl.nproof = e->dl.ncons = 0;
	refused_at_check1(e, RP_E_LOG, "no transparency log proof");
	/* A checkpoint without an index. */
	env_set_note(e, note);
	refused_at_check1(e, RP_E_LOG, "no transparency log proof");
	/* An index and a proof without a checkpoint. */
	e->dl.index = AT;
	e->dl.nproof = test_log_inclusion(&e->lg, AT, SIZE, e->dl.proof);
	env_set_note(e, NULL);
	refused_at_check1(e, RP_E_LOG, "no transparency log proof");
	env_free(e);
	free(n);
}

static void rollback_to_older_checkpoint(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	/* The agent has seen the log at 10 entries; the server shows it 8, freshly cosigned. */
	test_log_fill(&e->lg, 2);
	env_saw(e, &e->lg, SIZE + 2);
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	refused_at_check1(e, RP_E_ROLLBACK, "older than the 10 already seen (rollback)");
	/* Back to the very first entry. */
	e->dl.index = 0;
	env_offer(e, 1, TEST_WBOTH, NOW);
	refused_at_check1(e, RP_E_ROLLBACK, "rollback");
	env_free(e);
	free(n);
}

static void fork_same_size(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct test_log *other = forked_log(FILL, SIZE);
	(void)state;

	/* The agent saw another tree of SIZE entries than the one offered now. */
	env_saw(e, other, SIZE);
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	assert_int_equal(e->dl.ncons, 0);
	refused_at_check1(e, RP_E_FORK, "another root than the one already seen at that size");
	free(other);
	env_free(e);
	free(n);
}

/*
 * The stored checkpoint offered again with a consistency proof: a proof
 * between equal sizes must be empty (RFC 9162), so the agent refuses it
 * as the witnesses do (422), through the same check (lib/tlog.c).
 */
static void same_size_with_a_spurious_proof(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	env_saw(e, &e->lg, SIZE);
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	e->dl.ncons = test_log_consistency(&e->lg, SEEN, SIZE, e->dl.consistency);
	refused_at_check1(e, RP_E_FORK,
			  "not consistent with the 8 already seen (fork): "
			  "consistency proof between two trees of 8 leaves");
	e->dl.ncons = 0;
	accepted_now(e);
	env_free(e);
	free(n);
}

static void fork_larger_without_valid_consistency(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct test_log *other = forked_log(1, SEEN);
	(void)state;

	assert_true(e->dl.ncons > 0);
	accepted_now(e);
	/* No consistency proof. */
	size_t ncons = e->dl.ncons;
	e->dl.ncons = 0;
	refused_at_check1(e, RP_E_FORK, "not consistent with the 3 already seen (fork)");
	/* One hash of it altered. */
	e->dl.ncons = ncons;
	e->dl.consistency[ncons - 1][7] ^= 1;
	refused_at_check1(e, RP_E_FORK, "not consistent");
	/* A valid proof, but from 4 entries, not the 3 the agent holds. */
	e->dl.ncons = test_log_consistency(&e->lg, SEEN + 1, SIZE, e->dl.consistency);
	refused_at_check1(e, RP_E_FORK, "not consistent");
	/* One hash too many. */
	e->dl.ncons = test_log_consistency(&e->lg, SEEN, SIZE, e->dl.consistency);
	memset(e->dl.consistency[e->dl.ncons++], 0, RP_HASH_LEN);
	refused_at_check1(e, RP_E_FORK, "not consistent");
	/* The agent's 3 entries are another history: the honest proof does not bridge it. */
	env_saw(e, other, SEEN);
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	refused_at_check1(e, RP_E_FORK, "not consistent");
	free(other);
	env_free(e);
	free(n);
}

static void entry_not_in_checkpoint(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	char *unlogged = signed_cmd(SPEC(.id = "00000000000000000000000000000002"), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	/* A statement that was never logged, with entry 5's proof. */
	e->dl.statement = unlogged;
	e->dl.statement_len = strlen(unlogged);
	refused_at_check2(e, "statement is not entry 5 of the checkpointed log");
	/* The statement logged after the checkpoint offered: entry 8 of a checkpoint of 8. */
	memset(&e->lg, 0, sizeof(e->lg));
	test_log_fill(&e->lg, SIZE);
	assert_int_equal(test_log_append(&e->lg, unlogged, strlen(unlogged)), SIZE);
	e->dl.index = SIZE;
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	refused_at_check2(e, "not entry 8");
	/* Once a checkpoint covers it, it is accepted. */
	env_offer(e, SIZE + 1, TEST_WBOTH, NOW);
	accepted_now(e);
	env_free(e);
	free(unlogged);
	free(n);
}

static void proof_for_another_index(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	/* Entry 5's proof, claimed for its neighbours. */
	e->dl.index = AT - 1;
	refused_at_check2(e, "not entry 4");
	e->dl.index = AT + 1;
	refused_at_check2(e, "not entry 6");
	e->dl.index = (int64_t)1 << 40;
	refused_at_check2(e, "not entry 1099511627776");
	/* Index 5 with entry 4's proof, then with entry 5's truncated. */
	e->dl.index = AT;
	e->dl.nproof = test_log_inclusion(&e->lg, AT - 1, SIZE, e->dl.proof);
	refused_at_check2(e, "not entry 5");
	e->dl.nproof = test_log_inclusion(&e->lg, AT, SIZE, e->dl.proof) - 1;
	refused_at_check2(e, "not entry 5");
	e->dl.nproof++;
	accepted_now(e);
	env_free(e);
	free(n);
}

static void one_witness_only(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	/* The log key signed; the policy's quorum `both' wants both witnesses. */
	env_offer(e, SIZE, TEST_W1, NOW);
	refused_at_check1(e, RP_E_WITNESS, "do not reach the quorum both");
	env_offer(e, SIZE, TEST_W2, NOW);
	refused_at_check1(e, RP_E_WITNESS, "do not reach the quorum both");
	env_offer(e, SIZE, 0, NOW);
	refused_at_check1(e, RP_E_WITNESS, "do not reach the quorum both");
	env_free(e);
	free(n);
}

static void stale_checkpoint(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_skey w2;
	(void)state;

	/* Cosigned 3601 s ago, freshness 3600: a server withholding newer checkpoints. */
	env_offer(e, SIZE, TEST_WBOTH, NOW - 3601);
	refused_at_check1(e, RP_E_STALE, "older than 3600 s");
	/* One witness fresh, the other stale. */
	test_witness_skey(2, &w2);
	env_offer(e, SIZE, TEST_W1, NOW);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w2, NOW - 3601));
	refused_at_check1(e, RP_E_STALE, "older than 3600 s");
	/* At the edge of the window: fresh. */
	env_offer(e, SIZE, TEST_WBOTH, NOW - 3600);
	accepted_now(e);
	assert_int_equal(e->store.newest, NOW - 3600);
	env_free(e);
	free(n);
}

static void cosignature_from_the_future(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_skey w2;
	(void)state;

	/*
	 * Beyond the skew a cosignature does not count at all, not even as a
	 * stale one, so the quorum is not met: RP_E_WITNESS, with a diagnostic
	 * that points at the clock.
	 */
	env_offer(e, SIZE, TEST_WBOTH, NOW + SKEW + 1);
	refused_at_check1(e, RP_E_WITNESS, "ahead of this clock");
	test_witness_skey(2, &w2);
	env_offer(e, SIZE, TEST_W1, NOW);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w2, NOW + SKEW + 1));
	refused_at_check1(e, RP_E_WITNESS, "ahead of this clock");
	/* Within the skew: counted. */
	env_offer(e, SIZE, TEST_WBOTH, NOW + SKEW);
	accepted_now(e);
	assert_int_equal(e->store.newest, NOW + SKEW);
	env_free(e);
	free(n);
}

static void witness_outside_policy(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_skey w3, fake1, w2;
	(void)state;

	test_skey("witness3.example", 0x77, &w3);
	test_skey("witness1.example", 0x77, &fake1); /* witness 1's name, another key */
	test_witness_skey(2, &w2);
	/* Only an unknown witness cosigned. */
	env_offer(e, SIZE, 0, NOW);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w3, NOW));
	refused_at_check1(e, RP_E_WITNESS, "do not reach the quorum both");
	/* Witness 2 and a key posing as witness 1 (ignored: its key id is not w1's). */
	env_offer(e, SIZE, TEST_W2, NOW);
	env_set_note(e, test_cosign(e->dl.checkpoint, &fake1, NOW));
	refused_at_check1(e, RP_E_WITNESS, "do not reach the quorum both");
	/* Extra cosignatures by unknown witnesses do no harm beside a quorum. */
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w3, NOW));
	accepted_now(e);
	env_free(e);
	free(n);
}

static void cosignature_copied_from_other_checkpoint(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	char *old = test_log_note(&e->lg, SIZE, TEST_WBOTH, NOW), *line, *eol;
	(void)state;

	/*
	 * Witness 2 cosigned the checkpoint of 8 entries; the server extends
	 * the log to 9 and pastes witness 2's line under the new checkpoint.
	 * The line names a policy witness and does not verify over this
	 * text: rp_checkpoint_verify rejects the whole checkpoint
	 * (RP_E_BADSIG), it does not merely skip the line.
	 */
	line = strstr(old, "\xe2\x80\x94 witness2.example ");
	assert_non_null(line);
	eol = strchr(line, '\n');
	assert_non_null(eol);
	eol[1] = '\0';
	test_log_fill(&e->lg, 1);
	env_offer(e, SIZE + 1, TEST_W1, NOW);
	env_set_note(e, concat(e->dl.checkpoint, line));
	refused_at_check1(e, RP_E_BADSIG,
			  "cosignature by witness2.example+574422a3 does not verify");
	free(old);
	env_free(e);
	free(n);
}

static void checkpoint_not_signed_by_log_key(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_skey fake, logk, globex, w1, w2;
	struct rp_checkpoint cp;
	char *text, *line, *note;
	size_t len;
	(void)state;

	/*
	 * Signed by another key named TEST_LOG_NAME, and cosigned by both
	 * witnesses. The key id hashes the public key, so the signature line
	 * carries another id than the policy's log key: rp_note_verify
	 * ignores lines by unknown keys (Go's note.Open rule) and finds no
	 * log signature, RP_E_NOSIG, rather than RP_E_BADSIG.
	 */
	test_skey(TEST_LOG_NAME, 0x77, &fake);
	test_log_head(&e->lg, SIZE, &cp);
	env_set_note(e, test_checkpoint_note(&cp, &fake, TEST_WBOTH, NOW));
	refused_at_check1(e, RP_E_NOSIG, "no signature by a known key");
	/*
	 * A line with the log key's name and id whose signature is over
	 * another text (the log's signature on the checkpoint of 7): the key
	 * is known, so the bad signature is RP_E_BADSIG.
	 */
	test_log_skey(&logk);
	test_log_head(&e->lg, SIZE - 1, &cp);
	text = rp_checkpoint_format(&cp, &len);
	line = rp_note_sign_line(text, len, &logk);
	free(text);
	test_log_head(&e->lg, SIZE, &cp);
	text = rp_checkpoint_format(&cp, &len);
	note = concat(text, "\n");
	env_set_note(e, concat(note, line));
	free(note);
	free(text);
	free(line);
	test_witness_skey(1, &w1);
	test_witness_skey(2, &w2);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w1, NOW));
	env_set_note(e, test_cosign(e->dl.checkpoint, &w2, NOW));
	refused_at_check1(e, RP_E_BADSIG,
			  "signature by " TEST_LOG_NAME "+d85341b6 does not verify");
	/* A checkpoint of another log, properly signed by that log's own key. */
	test_skey("example.com/rampart/globex", TEST_LOG_SEED, &globex);
	test_log_head(&e->lg, SIZE, &cp);
	snprintf(cp.origin, sizeof(cp.origin), "%s", globex.name);
	env_set_note(e, test_checkpoint_note(&cp, &globex, TEST_WBOTH, NOW));
	refused_at_check1(e, RP_E_NOSIG, "is not the log " TEST_LOG_NAME);
	env_free(e);
	free(n);
}

static void entry_at_or_below_last_index(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct outcome o;
	(void)state;

	/* Entry 5 again after the agent acted on it: refused before the replay store is asked. */
	e->st.last_index = AT;
	o = env_run(e);
	assert_int_equal(o.r, RP_E_REPLAY);
	assert_diag_has(&o.d, "log entry 5, not after entry 5 already acted on");
	assert_string_equal(o.id, ID);
	assert_int_equal(o.seen_calls, 0);
	/* Checks 1 and 2 passed: the checkpoint is stored and the entry proved. */
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, AT);
	e->st.last_index = AT - 1;
	accepted_now(e);
	env_free(e);
	free(n);
}

static void entries_reordered(void **state)
{
	/* A is entry 5, B entry 6; the server delivers B first, then A. */
	char *a = signed_cmd(SPEC(), TWO);
	char *b = signed_cmd(SPEC(.id = "00000000000000000000000000000003"), TWO);
	struct env *e = env_new(a, payload, strlen(payload), NOW);
	struct rp_checkpoint cp;
	struct outcome o;
	(void)state;

	memset(&e->lg, 0, sizeof(e->lg));
	test_log_fill(&e->lg, FILL);
	test_log_append(&e->lg, a, strlen(a));
	test_log_append(&e->lg, b, strlen(b));
	test_log_fill(&e->lg, 1);
	e->dl.statement = b;
	e->dl.statement_len = strlen(b);
	e->dl.index = AT + 1;
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	accepted_now(e);
	/* The agent records what it stored and acted on. */
	test_log_head(&e->lg, SIZE, &cp);
	assert_memory_equal(e->store.cp.root, cp.root, RP_HASH_LEN);
	e->st.size = e->store.cp.size;
	memcpy(e->st.root, e->store.cp.root, RP_HASH_LEN);
	e->st.last_index = e->proved;
	/* Now A, with the same checkpoint and a valid proof. */
	e->dl.statement = a;
	e->dl.statement_len = strlen(a);
	e->dl.index = AT;
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	o = env_run(e);
	assert_int_equal(o.r, RP_E_REPLAY);
	assert_diag_has(&o.d,
			"log entry 5, not after entry 6 already acted on (replay or reorder)");
	assert_int_equal(o.seen_calls, 0);
	env_free(e);
	free(a);
	free(b);
}

static void accepted_stores_checkpoint_once(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_skey w2;
	struct rp_checkpoint cp;
	struct outcome o;
	(void)state;

	/* Witness 1 cosigned 100 s ago, witness 2 10 s ago. */
	test_witness_skey(2, &w2);
	env_offer(e, SIZE, TEST_W1, NOW - 100);
	env_set_note(e, test_cosign(e->dl.checkpoint, &w2, NOW - 10));
	o = env_run(e);
	assert_int_equal(o.r, 0);
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, AT);
	test_log_head(&e->lg, SIZE, &cp);
	assert_int_equal(e->store.cp.size, SIZE);
	assert_memory_equal(e->store.cp.root, cp.root, RP_HASH_LEN);
	assert_string_equal(e->store.cp.origin, TEST_LOG_NAME);
	assert_int_equal(e->store.newest, NOW - 10);
	assert_string_equal(e->store.note, e->dl.checkpoint);
	env_free(e);
	free(n);
}

static void checkpoint_alone(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct rp_checkpoint cp, want;
	struct rp_diag d = {""};
	struct rp_verify_ctx first;
	(void)state;

	/* A consistent larger checkpoint (3 -> 8), no delivery: stored. */
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, &cp, &d),
			 0);
	test_log_head(&e->lg, SIZE, &want);
	assert_int_equal(cp.size, SIZE);
	assert_memory_equal(cp.root, want.root, RP_HASH_LEN);
	assert_int_equal(e->store.calls, 1);
	assert_int_equal(e->store.cp.size, SIZE);
	assert_memory_equal(e->store.cp.root, want.root, RP_HASH_LEN);
	assert_int_equal(e->store.newest, NOW);
	assert_string_equal(e->store.note, e->dl.checkpoint);
	/* The same checkpoint again, once stored: no proof needed. */
	env_saw(e, &e->lg, SIZE);
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len, NULL,
					      0, NULL, &d),
			 0);
	assert_int_equal(e->store.calls, 2);
	/* Larger still, without the proof: a fork, not stored. */
	test_log_fill(&e->lg, 3);
	env_offer(e, SIZE + 3, TEST_WBOTH, NOW);
	assert_true(e->dl.ncons > 0);
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len, NULL,
					      0, NULL, &d),
			 RP_E_FORK);
	assert_diag_has(&d, "not consistent with the 8 already seen");
	assert_int_equal(e->store.calls, 2);
	/* With it: stored. */
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, NULL, &d),
			 0);
	assert_int_equal(e->store.calls, 3);
	assert_int_equal(e->store.cp.size, SIZE + 3);
	/* An agent that stored nothing yet (log NULL) takes any well-cosigned checkpoint. */
	first = e->ctx;
	first.log = NULL;
	assert_int_equal(rp_verify_checkpoint(&first, e->dl.checkpoint, e->dl.checkpoint_len, NULL,
					      0, NULL, &d),
			 0);
	assert_int_equal(e->store.calls, 4);
	env_free(e);
	free(n);
}

static void proved_only_after_checks_1_and_2(void **state)
{
	char *n = signed_cmd(SPEC(), TWO), *one = signed_cmd(SPEC(), ((int[]){0, -1}));
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct env *q = env_new(one, payload, strlen(payload), NOW);
	struct outcome o;
	(void)state;

	/* Check 1 fails: unset. */
	env_offer(e, SIZE, TEST_W1, NOW);
	assert_int_equal(env_run(e).proved, UNSET);
	/* Check 2 fails: unset. */
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	e->dl.index = AT + 1;
	assert_int_equal(env_run(e).proved, UNSET);
	/* Check 3 fails (one signature of two): set, the entry is proved in the log. */
	o = env_run(q);
	assert_int_equal(o.r, RP_E_QUORUM);
	assert_int_equal(o.proved, AT);
	/* All pass: set. */
	e->dl.index = AT;
	assert_int_equal(env_run(e).proved, AT);
	env_free(q);
	env_free(e);
	free(one);
	free(n);
}

static void checkpoint_store_fails(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct outcome o;
	(void)state;

	/* The checkpoint cannot be stored durably: refuse, nothing proved. */
	e->store.answer = RP_E_DB;
	o = env_run(e);
	assert_int_equal(o.r, RP_E_DB);
	assert_diag_has(&o.d, "cannot store the checkpoint");
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, UNSET);
	assert_int_equal(o.seen_calls, 0);
	env_free(e);
	free(n);
}

/* ---- the root policy's expiry: check 0, before the log ---- */

/* The test policy, expiring at `expires'. */
static struct rp_policy *policy_until(int64_t expires)
{
	char *t = policy_text(2, 2, 1, 2, expires);
	struct rp_policy *p = NULL;

	assert_int_equal(rp_policy_parse_text(t, strlen(t), &p, NULL), 0);
	free(t);
	return p;
}

/*
 * Attack: the server keeps delivering after the root policy expired (the
 * administrators stopped renewing it, e.g. because keys were lost). The
 * expiry is checked on every delivery, not only at enrolment: at expires
 * - 1 accepted, from expires on refused, first, with nothing stored.
 */
static void policy_expired_refuses_delivery(void **state)
{
	int64_t ex = NOW + 600;
	struct rp_policy *p = policy_until(ex);
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), ex - 1);
	(void)state;

	e->ctx.policy = p;
	accepted_now(e);
	e->ctx.now = ex;
	env_offer(e, SIZE, TEST_WBOTH, ex);
	refused_at_check1(e, RP_E_POLICY_EXPIRED, "expired at");
	env_free(e);
	free(n);
	rp_policy_free(p);
}

/* Before anything the server sent is looked at: even a delivery without log data. */
static void policy_expiry_checked_first(void **state)
{
	struct rp_policy *p = policy_until(NOW - 1);
	char *n = signed_cmd(SPEC(.org = "globex"), ((int[]){0, -1}));
	struct env *e = env_new(n, "x", 1, NOW);
	(void)state;

	e->ctx.policy = p;
	refused_at_check1(e, RP_E_POLICY_EXPIRED, "expired at");
	free(e->dl.checkpoint);
	e->dl.checkpoint = NULL;
	e->dl.index = -1;
	refused_at_check1(e, RP_E_POLICY_EXPIRED, "expired at");
	env_free(e);
	free(n);
	rp_policy_free(p);
}

/* A checkpoint refresh is refused too: an expired policy's log and witnesses vouch for nothing. */
static void policy_expired_refuses_checkpoint_refresh(void **state)
{
	int64_t ex = NOW + 600;
	struct rp_policy *p = policy_until(ex);
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), ex);
	struct rp_diag d = {""};
	(void)state;

	e->ctx.policy = p;
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, NULL, &d),
			 RP_E_POLICY_EXPIRED);
	assert_diag_has(&d, "expired at");
	assert_int_equal(e->store.calls, 0);
	e->ctx.now = ex - 1;
	env_offer(e, SIZE, TEST_WBOTH, ex - 1);
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, NULL, &d),
			 0);
	assert_int_equal(e->store.calls, 1);
	env_free(e);
	free(n);
	rp_policy_free(p);
}

/* The warnings before it: both edges of both windows. */
static void policy_expiry_warnings(void **state)
{
	int64_t ex = NOW + 100 * 86400;
	struct rp_policy *p = policy_until(ex);
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(rp_verify_policy_expiry(p, ex - RP_POLICY_WARN_S - 1, &d), 0);
	assert_string_equal(d.msg, "");
	assert_int_equal(rp_verify_policy_expiry(p, ex - RP_POLICY_WARN_S, &d), RP_POLICY_WARN);
	assert_diag_has(&d, "in 30 days 0 hours");
	assert_int_equal(rp_verify_policy_expiry(p, ex - RP_POLICY_URGENT_S - 1, &d),
			 RP_POLICY_WARN);
	assert_int_equal(rp_verify_policy_expiry(p, ex - RP_POLICY_URGENT_S, &d), RP_POLICY_URGENT);
	assert_diag_has(&d, "in 7 days");
	assert_int_equal(rp_verify_policy_expiry(p, ex - 1, &d), RP_POLICY_URGENT);
	assert_int_equal(rp_verify_policy_expiry(p, ex, &d), RP_E_POLICY_EXPIRED);
	assert_diag_has(&d, "expired at");
	rp_policy_free(p);
}

/* ---- the JSON transport form ---- */

static int delivery_rejects(const char *json, int want)
{
	struct rp_delivery dl, before;
	struct rp_diag d = {""};
	int r;

	memset(&before, 0x5a, sizeof(before));
	dl = before;
	r = rp_delivery_parse(json, strlen(json), &dl, &d);
	assert_int_equal(r, want);
	assert_true(d.msg[0] != '\0');
	assert_memory_equal(&dl, &before, sizeof(dl)); /* untouched on failure */
	return r;
}

static void delivery_ok(void **state)
{
	const char *ok = "{\"command\": \"x\", \"statement\": \"hi\\n\", \"payload\": \"aGk=\"}";
	struct rp_delivery dl;
	(void)state;
	assert_int_equal(rp_delivery_parse(ok, strlen(ok), &dl, NULL), 0);
	assert_int_equal(dl.statement_len, 3);
	assert_string_equal(dl.statement, "hi\n");
	assert_int_equal(dl.payload_len, 2);
	assert_memory_equal(dl.payload, "hi", 2);
	rp_delivery_release(&dl);
	assert_null(dl.statement);
	assert_null(dl.payload);
}

static void delivery_empty_payload(void **state)
{
	const char *ok = "{\"statement\": \"hi\\n\", \"payload\": \"\"}";
	struct rp_delivery dl;
	(void)state;
	assert_int_equal(rp_delivery_parse(ok, strlen(ok), &dl, NULL), 0);
	assert_int_equal(dl.payload_len, 0);
	rp_delivery_release(&dl);
}

/* The JSON form of a delivery, log fields included, as the server builds it. */
static char *delivery_json(const struct rp_delivery *dl)
{
	char *b64 = rp_b64_encode(dl->payload, dl->payload_len), *js;
	json_t *proof = json_array(), *cons = json_array(), *o;

	for (size_t i = 0; i < dl->nproof + dl->ncons; i++) {
		bool p = i < dl->nproof;
		char *h = rp_b64_encode(p ? dl->proof[i] : dl->consistency[i - dl->nproof],
					RP_HASH_LEN);
		json_array_append_new(p ? proof : cons, json_string(h));
		free(h);
	}
	o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:o}", "statement", dl->statement, "payload", b64,
		      "index", (json_int_t)dl->index, "proof", proof, "checkpoint", dl->checkpoint,
		      "consistency", cons);
	assert_non_null(o);
	js = json_dumps(o, JSON_COMPACT);
	assert_non_null(js);
	json_decref(o);
	free(b64);
	return js;
}

static void delivery_end_to_end(void **state)
{
	/* JSON as the server would build it, then the agent's whole path. */
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	char *js = delivery_json(&e->dl);
	struct rp_delivery dl;
	struct rp_verify_ctx ctx = {.policy = policy, .device_id = DEV, .now = NOW, .skew = SKEW};
	struct rp_command *c = NULL;
	char id[RP_ID_HEX + 1];
	(void)state;

	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.statement_len, strlen(n));
	assert_memory_equal(dl.statement, n, strlen(n));
	assert_int_equal(dl.index, AT);
	assert_int_equal(dl.nproof, e->dl.nproof);
	assert_memory_equal(dl.proof, e->dl.proof, dl.nproof * RP_HASH_LEN);
	assert_int_equal(dl.ncons, e->dl.ncons);
	assert_true(dl.ncons > 0);
	assert_memory_equal(dl.consistency, e->dl.consistency, dl.ncons * RP_HASH_LEN);
	assert_int_equal(dl.checkpoint_len, e->dl.checkpoint_len);
	assert_string_equal(dl.checkpoint, e->dl.checkpoint);
	/* An agent with nothing stored yet, storing nothing (offline verify). */
	assert_int_equal(rp_verify_delivery(&ctx, &dl, &c, id, NULL), 0);
	assert_string_equal(id, ID);
	rp_command_free(c);
	/* The agent of the env, which stored SEEN entries. */
	assert_int_equal(rp_verify_delivery(&e->ctx, &dl, &c, id, NULL), 0);
	assert_int_equal(e->store.calls, 1);
	assert_int_equal(e->proved, AT);
	rp_command_free(c);
	rp_delivery_release(&dl);
	free(js);
	env_free(e);
	free(n);
}

static void delivery_without_log_refused(void **state)
{
	/* Parsing allows a delivery without log fields; verifying never does. */
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	char *b64 = rp_b64_encode((const uint8_t *)payload, strlen(payload));
	json_t *o = json_pack("{s:s, s:s}", "statement", n, "payload", b64);
	char *js = json_dumps(o, JSON_COMPACT);
	struct rp_delivery dl;
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char id[RP_ID_HEX + 1];
	(void)state;

	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.index, -1);
	assert_null(dl.checkpoint);
	e->proved = UNSET;
	assert_int_equal(rp_verify_delivery(&e->ctx, &dl, &c, id, &d), RP_E_LOG);
	assert_null(c);
	assert_diag_has(&d, "log");
	assert_int_equal(e->store.calls, 0);
	assert_int_equal(e->proved, UNSET);
	rp_delivery_release(&dl);
	free(js);
	json_decref(o);
	free(b64);
	env_free(e);
	free(n);
}

#define DCASE(name, json, want)               \
	static void name(void **state)        \
	{                                     \
		(void)state;                  \
		delivery_rejects(json, want); \
	}

DCASE(delivery_not_json, "statement=hi", RP_E_MALFORMED)
DCASE(delivery_not_object, "[\"hi\\n\", \"aGk=\"]", RP_E_MALFORMED)
DCASE(delivery_missing_statement, "{\"payload\": \"aGk=\"}", RP_E_MALFORMED)
DCASE(delivery_missing_payload, "{\"statement\": \"hi\\n\"}", RP_E_MALFORMED)
DCASE(delivery_statement_not_string, "{\"statement\": 5, \"payload\": \"aGk=\"}", RP_E_MALFORMED)
DCASE(delivery_payload_not_string, "{\"statement\": \"hi\\n\", \"payload\": null}", RP_E_MALFORMED)
DCASE(delivery_duplicate_statement,
      "{\"statement\": \"hi\\n\", \"statement\": \"evil\\n\", \"payload\": \"\"}", RP_E_MALFORMED)
DCASE(delivery_duplicate_payload,
      "{\"statement\": \"hi\\n\", \"payload\": \"aGk=\", \"payload\": \"\"}", RP_E_MALFORMED)
DCASE(delivery_payload_unpadded, "{\"statement\": \"hi\\n\", \"payload\": \"aGk\"}", RP_E_MALFORMED)
DCASE(delivery_payload_noncanonical, "{\"statement\": \"hi\\n\", \"payload\": \"aGl=\"}",
      RP_E_MALFORMED)
DCASE(delivery_payload_urlsafe, "{\"statement\": \"hi\\n\", \"payload\": \"-_-_\"}", RP_E_MALFORMED)
DCASE(delivery_payload_whitespace, "{\"statement\": \"hi\\n\", \"payload\": \"aG k=\"}",
      RP_E_MALFORMED)
DCASE(delivery_statement_nul, "{\"statement\": \"hi\\u0000\\n\", \"payload\": \"\"}",
      RP_E_MALFORMED)
DCASE(delivery_truncated, "{\"statement\": \"hi\\n\", \"payload\": \"\"", RP_E_MALFORMED)
DCASE(delivery_trailing_garbage, "{\"statement\": \"hi\\n\", \"payload\": \"\"} {}", RP_E_MALFORMED)

static void delivery_oversized(void **state)
{
	size_t big = RP_HTTP_RESPONSE_MAX + 1;
	char *huge = malloc(big + 1);
	struct rp_delivery dl;
	(void)state;
	memset(huge, ' ', big);
	huge[big] = '\0';
	assert_int_equal(rp_delivery_parse(huge, big, &dl, NULL), RP_E_TOOBIG);
	free(huge);
}

static char *delivery_with(size_t statement_len, size_t payload_len)
{
	uint8_t *pl = calloc(1, payload_len + 1);
	char *st = malloc(statement_len + 1), *b64, *js;
	json_t *o;

	memset(st, 'a', statement_len);
	st[statement_len] = '\0';
	b64 = rp_b64_encode(pl, payload_len);
	o = json_pack("{s:s, s:s}", "statement", st, "payload", b64);
	js = json_dumps(o, JSON_COMPACT);
	assert_non_null(js);
	json_decref(o);
	free(b64);
	free(st);
	free(pl);
	return js;
}

/* n bytes of `unit' repeated inside a delivery's extra field "x": [...] */
static char *delivery_padded(const char *unit, size_t n)
{
	static const char head[] = "{\"statement\": \"hi\\n\", \"payload\": \"\", \"x\": [";
	size_t u = strlen(unit), k = sizeof(head) - 1;
	char *s = malloc(k + n + u + 4);

	assert_non_null(s);
	memcpy(s, head, k);
	for (size_t i = 0; i + u <= n; i += u, k += u)
		memcpy(s + k, unit, u);
	memcpy(s + k, "0]}", 4);
	return s;
}

/*
 * Attack: a poll answer of nested arrays within the body cap. jansson has no
 * runtime depth limit (its compile-time one is 2048), so each group of
 * nesting became a chain of json_t: refused by the bound, before a tree.
 */
static void delivery_nested_json_refused_before_parsing(void **state)
{
	char unit[2 * 1000 + 2];
	char *js;
	(void)state;
	memset(unit, '[', 1000);
	memset(unit + 1000, ']', 1000);
	memcpy(unit + 2000, ",", 2);
	js = delivery_padded(unit, RP_DELIVERY_MAX / 2);
	delivery_rejects(js, RP_E_TOOBIG);
	free(js);
}

/* Attack: the same size of tiny arrays, each shallow: refused by the value count. */
static void delivery_tiny_arrays_refused_before_parsing(void **state)
{
	char *js = delivery_padded("[],", RP_DELIVERY_MAX / 2);
	(void)state;
	delivery_rejects(js, RP_E_TOOBIG);
	free(js);
}

static void delivery_statement_oversized(void **state)
{
	char *js = delivery_with(RP_LOG_ENTRY_MAX + 1, 2);
	(void)state;
	delivery_rejects(js, RP_E_TOOBIG);
	free(js);
}

static void delivery_payload_at_max(void **state)
{
	char *js = delivery_with(RP_LOG_ENTRY_MAX, RP_PAYLOAD_MAX);
	struct rp_delivery dl;
	(void)state;
	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.payload_len, RP_PAYLOAD_MAX);
	rp_delivery_release(&dl);
	free(js);
}

static void delivery_payload_over_max(void **state)
{
	(void)state;
	for (size_t extra = 1; extra <= 4; extra++) {
		char *js = delivery_with(3, RP_PAYLOAD_MAX + extra);
		delivery_rejects(js, RP_E_TOOBIG);
		free(js);
	}
}

/* ---- the log fields of the JSON transport form ---- */

/* A JSON array of n base64 strings, each of len zero bytes. */
static char *json_hashes(size_t n, size_t len)
{
	uint8_t h[RP_HASH_LEN + 8] = {0};
	struct rp_sb sb;
	char *out;

	assert_true(len <= sizeof(h));
	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, "[");
	for (size_t i = 0; i < n; i++) {
		char *b64 = rp_b64_encode(h, len);
		rp_sb_printf(&sb, "%s\"%s\"", i ? ", " : "", b64);
		free(b64);
	}
	rp_sb_puts(&sb, "]");
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

/* A delivery of "hi\n" with the given log fields (JSON members, comma-separated). */
static char *log_delivery(const char *fields)
{
	char *a = concat("{\"statement\": \"hi\\n\", \"payload\": \"\", ", fields),
	     *b = concat(a, "}");
	free(a);
	return b;
}

/* "index": <index>, "proof": <nproof hashes of hash_len bytes>, "checkpoint": <cp> */
static char *log_fields(const char *index, size_t nproof, size_t hash_len, const char *cp)
{
	char *h = json_hashes(nproof, hash_len), *f, *js;
	struct rp_sb sb;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_printf(&sb, "\"index\": %s, \"proof\": %s, \"checkpoint\": %s", index, h, cp);
	f = rp_sb_take(&sb, NULL);
	assert_non_null(f);
	js = log_delivery(f);
	free(f);
	free(h);
	return js;
}

/* Refused with want, diagnostic naming word, dl untouched. */
static void log_rejects(char *json, int want, const char *word)
{
	struct rp_delivery dl, before;
	struct rp_diag d = {""};

	memset(&before, 0x5a, sizeof(before));
	dl = before;
	assert_int_equal(rp_delivery_parse(json, strlen(json), &dl, &d), want);
	assert_diag_has(&d, word);
	assert_memory_equal(&dl, &before, sizeof(dl));
	free(json);
}

static void delivery_log_fields_ok(void **state)
{
	char *h = json_hashes(2, RP_HASH_LEN), *f = concat("\"consistency\": ", h);
	char *js = concat(
		f, ", \"index\": 7, \"proof\": [\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"], "
		   "\"checkpoint\": \"c\\n\"");
	char *full = log_delivery(js);
	struct rp_delivery dl;
	uint8_t one[RP_HASH_LEN], zero[RP_HASH_LEN] = {0};
	(void)state;

	memset(one, 1, sizeof(one));
	assert_int_equal(rp_delivery_parse(full, strlen(full), &dl, NULL), 0);
	assert_int_equal(dl.index, 7);
	assert_int_equal(dl.nproof, 1);
	assert_memory_equal(dl.proof[0], one, RP_HASH_LEN);
	assert_int_equal(dl.ncons, 2);
	assert_memory_equal(dl.consistency[1], zero, RP_HASH_LEN);
	assert_string_equal(dl.checkpoint, "c\n");
	assert_int_equal(dl.checkpoint_len, 2);
	rp_delivery_release(&dl);
	assert_null(dl.checkpoint);
	assert_int_equal(dl.index, -1);
	free(full);
	free(js);
	free(f);
	free(h);
}

static void delivery_log_index_minus_one(void **state)
{
	/* The server's way of saying "not logged": parsed, refused by verify (RP_E_LOG). */
	char *js = log_delivery("\"index\": -1");
	struct rp_delivery dl;
	(void)state;

	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.index, -1);
	assert_null(dl.checkpoint);
	rp_delivery_release(&dl);
	free(js);
	/* ... but not with log data beside it. */
	log_rejects(log_fields("-1", 0, 0, "\"c\\n\""), RP_E_MALFORMED, "index");
}

static void delivery_log_index_negative(void **state)
{
	(void)state;
	log_rejects(log_fields("-2", 1, RP_HASH_LEN, "\"c\\n\""), RP_E_MALFORMED, "index");
	log_rejects(log_fields("-9223372036854775808", 1, RP_HASH_LEN, "\"c\\n\""), RP_E_MALFORMED,
		    "index");
}

static void delivery_log_index_not_integer(void **state)
{
	(void)state;
	log_rejects(log_fields("\"5\"", 1, RP_HASH_LEN, "\"c\\n\""), RP_E_MALFORMED, "index");
	log_rejects(log_fields("5.0", 1, RP_HASH_LEN, "\"c\\n\""), RP_E_MALFORMED, "index");
	log_rejects(log_fields("null", 1, RP_HASH_LEN, "\"c\\n\""), RP_E_MALFORMED, "index");
}

static void delivery_log_index_missing(void **state)
{
	(void)state;
	log_rejects(log_delivery("\"proof\": [], \"checkpoint\": \"c\\n\""), RP_E_MALFORMED,
		    "index");
}

static void delivery_log_proof_too_long(void **state)
{
	struct rp_delivery dl;
	char *js = log_fields("5", RP_PROOF_HASHES_MAX, RP_HASH_LEN, "\"c\\n\"");
	(void)state;

	/* 63 is the most. */
	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.nproof, RP_PROOF_HASHES_MAX);
	rp_delivery_release(&dl);
	free(js);
	log_rejects(log_fields("5", RP_PROOF_HASHES_MAX + 1, RP_HASH_LEN, "\"c\\n\""), RP_E_TOOBIG,
		    "proof has 64 hashes");
}

static void delivery_log_consistency_too_long(void **state)
{
	char *h = json_hashes(RP_PROOF_HASHES_MAX + 1, RP_HASH_LEN),
	     *f = concat("\"index\": 5, \"proof\": [], \"checkpoint\": \"c\\n\", \"consistency\": ",
			 h);
	(void)state;

	log_rejects(log_delivery(f), RP_E_TOOBIG, "consistency has 64 hashes");
	free(f);
	free(h);
}

static void delivery_log_hash_not_32_bytes(void **state)
{
	char *h = json_hashes(1, RP_HASH_LEN - 1),
	     *f = concat("\"index\": 5, \"proof\": [], \"checkpoint\": \"c\\n\", \"consistency\": ",
			 h);
	(void)state;

	log_rejects(log_fields("5", 1, RP_HASH_LEN - 1, "\"c\\n\""), RP_E_MALFORMED,
		    "proof hash 0 is not base64 of 32 bytes");
	log_rejects(log_fields("5", 1, RP_HASH_LEN + 1, "\"c\\n\""), RP_E_MALFORMED,
		    "proof hash 0");
	log_rejects(log_fields("5", 1, 0, "\"c\\n\""), RP_E_MALFORMED, "proof hash 0");
	log_rejects(log_delivery(f), RP_E_MALFORMED, "consistency hash 0");
	/* The 32-byte hash in other spellings: unpadded, a number. */
	log_rejects(
		log_delivery("\"index\": 5, \"proof\": "
			     "[\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"], \"checkpoint\": "
			     "\"c\\n\""),
		RP_E_MALFORMED, "proof hash 0");
	log_rejects(log_delivery("\"index\": 5, \"proof\": [5], \"checkpoint\": \"c\\n\""),
		    RP_E_MALFORMED, "proof hash 0");
	free(f);
	free(h);
}

static void delivery_log_proof_not_array(void **state)
{
	(void)state;
	log_rejects(log_delivery("\"index\": 5, \"checkpoint\": \"c\\n\""), RP_E_MALFORMED,
		    "proof");
	log_rejects(log_delivery("\"index\": 5, \"proof\": \"AA==\", \"checkpoint\": \"c\\n\""),
		    RP_E_MALFORMED, "proof");
}

static void delivery_log_checkpoint_oversized(void **state)
{
	struct rp_delivery dl;
	char *big = malloc(RP_CHECKPOINT_MAX + 4), *js;
	(void)state;

	/* Exactly the cap parses (its note is checked by verify)... */
	big[0] = '"';
	memset(big + 1, 'c', RP_CHECKPOINT_MAX);
	memcpy(big + 1 + RP_CHECKPOINT_MAX, "\"", 2);
	js = log_fields("5", 1, RP_HASH_LEN, big);
	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.checkpoint_len, RP_CHECKPOINT_MAX);
	rp_delivery_release(&dl);
	free(js);
	/* ... one byte more does not. */
	memcpy(big + 1 + RP_CHECKPOINT_MAX, "c\"", 3);
	log_rejects(log_fields("5", 1, RP_HASH_LEN, big), RP_E_TOOBIG, "checkpoint is 16385 bytes");
	free(big);
}

static void delivery_log_checkpoint_not_string(void **state)
{
	(void)state;
	log_rejects(log_fields("5", 1, RP_HASH_LEN, "5"), RP_E_MALFORMED, "checkpoint");
	log_rejects(log_fields("5", 1, RP_HASH_LEN, "null"), RP_E_MALFORMED, "checkpoint");
	log_rejects(log_fields("5", 1, RP_HASH_LEN, "[\"c\\n\"]"), RP_E_MALFORMED, "checkpoint");
	log_rejects(log_delivery("\"index\": 5, \"proof\": []"), RP_E_MALFORMED, "checkpoint");
}

static void delivery_log_duplicate_field(void **state)
{
	(void)state;
	/* The second index would be the one acted on: refused outright. */
	log_rejects(
		log_delivery("\"index\": 5, \"proof\": [], \"checkpoint\": \"c\\n\", \"index\": 9"),
		RP_E_MALFORMED, "duplicate");
}

/* ---- after a log key rotation: the log's own policy, and a retired log's end ---- */

#define LOG_LINE "log " TEST_LOG_NAME "+d85341b6+AcaCJjfH0xDsV2J74AuiWdJTdJ9Kr2REcM/75To19zJC\n"

/*
 * The test policy with `log' naming another key (the next log's, seed
 * 0x58) and `freshness' at fresh seconds: what version N+1 of a log key
 * rotation looks like next to version N (`policy').
 */
static struct rp_policy *policy_next_log(int64_t fresh)
{
	struct rp_vkey v = {{0}};
	struct rp_policy *p = NULL;
	struct rp_skey k;
	char line[256], f[64], *key, *t, *u, *w;

	test_skey("example.com/rampart/acme/2", 0x58, &k);
	memcpy(v.name, k.name, sizeof(v.name));
	v.id = k.id;
	v.type = RP_KEY_ED25519;
	memcpy(v.pub, k.pub, sizeof(v.pub));
	key = rp_vkey_format(&v);
	assert_non_null(key);
	snprintf(line, sizeof(line), "log %s\n", key);
	snprintf(f, sizeof(f), "freshness %lld\n", (long long)fresh);
	t = policy_text(2, 2, 1, 2, 4102444800);
	u = replace(t, LOG_LINE, line);
	w = replace(u, "freshness 3600\n", f);
	assert_int_equal(rp_policy_parse_text(w, strlen(w), &p, NULL), 0);
	free(w);
	free(u);
	free(t);
	free(key);
	return p;
}

/* The old log's checkpoints are judged by log_policy (its key), the rest by policy. */
static void checkpoint_judged_by_log_policy(void **state)
{
	struct rp_policy *next = policy_next_log(3600);
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct outcome o;
	(void)state;

	/* The newest policy names the next log: this log's checkpoint is not its log's. */
	e->ctx.policy = next;
	refused_at_check1(e, RP_E_NOSIG, "is not the log example.com/rampart/acme/2");
	/* Judged by the policy that names this log: accepted, stored once. */
	e->ctx.log_policy = policy;
	o = env_run(e);
	assert_int_equal(o.r, 0);
	assert_int_equal(o.store_calls, 1);
	assert_string_equal(e->store.cp.origin, TEST_LOG_NAME);
	/* The other way round: the log policy wins over the newest. */
	e->ctx.policy = policy;
	e->ctx.log_policy = next;
	refused_at_check1(e, RP_E_NOSIG, "is not the log example.com/rampart/acme/2");
	/* A checkpoint refresh alone goes by the same rule. */
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, NULL, &o.d),
			 RP_E_NOSIG);
	e->ctx.policy = next;
	e->ctx.log_policy = policy;
	e->store.calls = 0;
	assert_int_equal(rp_verify_checkpoint(&e->ctx, e->dl.checkpoint, e->dl.checkpoint_len,
					      (const uint8_t(*)[RP_HASH_LEN])e->dl.consistency,
					      e->dl.ncons, NULL, &o.d),
			 0);
	assert_int_equal(e->store.calls, 1);
	env_free(e);
	free(n);
	rp_policy_free(next);
}

/* Freshness too is the log policy's; expiry stays the newest policy's. */
static void log_policy_freshness_and_policy_expiry(void **state)
{
	struct rp_policy *next = policy_next_log(60), *old = policy_until(NOW - 1);
	struct rp_policy *ending = policy_until(NOW + 600);
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	(void)state;

	/* Cosigned 10 minutes ago: stale under the next log's 60 s, fresh under 3600 s. */
	env_offer(e, SIZE, TEST_WBOTH, NOW - 600);
	e->ctx.policy = next;
	e->ctx.log_policy = policy;
	accepted_now(e);
	{
		/* the same checkpoint, with `next' naming this log's key at 60 s: stale */
		struct rp_policy *short_fresh = NULL;
		char *t = policy_text(2, 2, 1, 2, 4102444800);
		char *u = replace(t, "freshness 3600\n", "freshness 60\n");
		assert_int_equal(rp_policy_parse_text(u, strlen(u), &short_fresh, NULL), 0);
		e->ctx.log_policy = short_fresh;
		refused_at_check1(e, RP_E_STALE, "");
		e->ctx.log_policy = policy;
		rp_policy_free(short_fresh);
		free(u);
		free(t);
	}
	/* The log policy expired (it was superseded): the newest has not, accepted. */
	env_offer(e, SIZE, TEST_WBOTH, NOW);
	e->ctx.log_policy = old;
	e->ctx.policy = policy;
	accepted_now(e);
	/* The newest expired: refused first, whatever the log policy. */
	e->ctx.policy = old;
	e->ctx.log_policy = ending;
	refused_at_check1(e, RP_E_POLICY_EXPIRED, "expired at");
	env_free(e);
	free(n);
	rp_policy_free(ending);
	rp_policy_free(old);
	rp_policy_free(next);
}

static const struct rp_policy *policy_at_arg(const void *arg, uint64_t index)
{
	(void)index;
	return arg;
}

/*
 * A retired log (log_end: the ending policy is entry log_end - 1): an
 * entry after it is refused, once its checkpoint and inclusion are proved
 * (the checkpoint is stored: it is the old log's, and genuine) but before
 * the entry is consumed or even parsed.
 */
static void retired_log_refuses_entries_past_its_end(void **state)
{
	char *n = signed_cmd(SPEC(), TWO);
	struct env *e = env_new(n, payload, strlen(payload), NOW);
	struct outcome o;
	(void)state;

	/* The statement is entry AT (5). Ending at 6 entries: entry 5 is the last, taken. */
	e->ctx.log_end = AT + 1;
	accepted_now(e);
	/* Ending at 5: entry 5 is past the end. */
	e->ctx.log_end = AT;
	o = env_run(e);
	assert_int_equal(o.r, RP_E_LOG);
	assert_diag_has(&o.d, "entry 5 is past entry 4, the root policy that ended this log");
	assert_int_equal(o.store_calls, 1);
	assert_int_equal(o.proved, UNSET);
	assert_int_equal(o.seen_calls, 0);
	assert_string_equal(o.id, "");
	e->ctx.log_end = 1;
	o = env_run(e);
	assert_int_equal(o.r, RP_E_LOG);
	assert_diag_has(&o.d, "past entry 0");
	/* Before the walk's own limit: past the end is what is said, not unscanned. */
	e->ctx.policy_at = policy_at_arg;
	e->ctx.policy_at_arg = policy;
	e->ctx.scanned = 1;
	o = env_run(e);
	assert_int_equal(o.r, RP_E_LOG);
	assert_int_equal(o.proved, UNSET);
	/* 0: no end. */
	e->ctx.log_end = 0;
	assert_int_equal(env_run(e).r, RP_E_UNSCANNED);
	e->ctx.scanned = SIZE;
	accepted_now(e);
	/* The end does not excuse a bad proof: check 2 still comes first. */
	e->ctx.log_end = AT;
	e->dl.index = AT + 1;
	refused_at_check2(e, "not entry 6");
	env_free(e);
	free(n);
}

/* ---- the agent's log.state file ---- */

#define STATE_ROOT "XNNQiKrPMbNLMvZ2JYqe8WsB5g8hnmmB+6gSHLfbLYU="

static void log_state_round_trip(void **state)
{
	const char *text = "size 7\nroot " STATE_ROOT "\nnewest 1795617747\nlast-index 5\n";
	struct rp_log_state st;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_log_state_parse(text, strlen(text), &st, NULL), 0);
	assert_int_equal(st.size, 7);
	assert_int_equal(st.newest, 1795617747);
	assert_int_equal(st.last_index, 5);
	out = rp_log_state_format(&st, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(text));
	assert_string_equal(out, text);
	free(out);
	text = "size 0\nroot " STATE_ROOT "\nnewest 0\nlast-index -1\n";
	assert_int_equal(rp_log_state_parse(text, strlen(text), &st, NULL), 0);
	assert_int_equal(st.last_index, -1);
}

static void log_state_rejects(const char *text, const char *why)
{
	struct rp_log_state st;
	struct rp_diag d = {""};

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(rp_log_state_parse(text, strlen(text), &st, &d), RP_E_MALFORMED);
	if (!strstr(d.msg, why))
		fail_msg("diagnostic `%s' does not mention `%s'", d.msg, why);
}

static void log_state_malformed(void **state)
{
	(void)state;
	log_state_rejects("root " STATE_ROOT "\nsize 7\nnewest 1\nlast-index 5\n", "`size'");
	log_state_rejects("size 07\nroot " STATE_ROOT "\nnewest 1\nlast-index 5\n", "`size'");
	log_state_rejects("size 7\nroot AAAA\nnewest 1\nlast-index 5\n", "`root'");
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest -1\nlast-index 5\n", "`newest'");
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index -2\n", "`last-index'");
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\n", "`last-index'");
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index 5", "`last-index'");
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index 5\nx\n",
			  "after last-index");
	/* an entry acted on must lie inside the checkpoint accepted */
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index 7\n", "not inside");
}

/* ---- the agent's checkpoint refresh ---- */

/* After a log key rotation the file names its log; files from before have no origin line. */
static void log_state_origin_round_trip(void **state)
{
	const char *base = "size 7\nroot " STATE_ROOT "\nnewest 1795617747\nlast-index 5\n";
	char name[RP_ORIGIN_MAX + 1], *text, *out;
	struct rp_log_state st;
	size_t len;
	(void)state;

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(rp_log_state_parse(base, strlen(base), &st, NULL), 0);
	assert_string_equal(st.origin, "");
	text = concat(base, "origin example.com/rampart/acme/2\n");
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(rp_log_state_parse(text, strlen(text), &st, NULL), 0);
	assert_string_equal(st.origin, "example.com/rampart/acme/2");
	assert_int_equal(st.size, 7);
	assert_int_equal(st.last_index, 5);
	out = rp_log_state_format(&st, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(text));
	assert_string_equal(out, text);
	free(out);
	free(text);
	/* The longest a key name may be. */
	memset(name, 'o', RP_ORIGIN_MAX);
	name[RP_ORIGIN_MAX] = '\0';
	text = concat("size 0\nroot " STATE_ROOT "\nnewest 0\nlast-index -1\norigin ", name);
	out = concat(text, "\n");
	free(text);
	text = out;
	assert_int_equal(rp_log_state_parse(text, strlen(text), &st, NULL), 0);
	assert_string_equal(st.origin, name);
	out = rp_log_state_format(&st, &len);
	assert_string_equal(out, text);
	free(out);
	free(text);
}

static void log_state_origin_malformed(void **state)
{
	const char *base = "size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index 5\n";
	char name[RP_ORIGIN_MAX + 2], *t, *u;
	(void)state;

	/* One byte longer than a key name may be. */
	memset(name, 'o', RP_ORIGIN_MAX + 1);
	name[RP_ORIGIN_MAX + 1] = '\0';
	t = concat(base, "origin ");
	u = concat(t, name);
	free(t);
	t = concat(u, "\n");
	log_state_rejects(t, "after last-index");
	free(t);
	free(u);
	static const char *const bad[] = {
		"origin \n",            /* empty */
		"origin\n",             /* no value */
		"origin a b\n",         /* a space */
		"origin a+b\n",         /* not a key name */
		"origin caf\xc3\xa9\n", /* not ASCII */
		"origin a\tb\n",
		"origins a\n",
		"Origin a\n",
		"origin example.com/rampart/acme", /* no final newline */
		"\norigin a\n",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		t = concat(base, bad[i]);
		log_state_rejects(t, "after last-index");
		free(t);
	}
	/* Once, and last. */
	t = concat(base, "origin a\norigin b\n");
	log_state_rejects(t, "unexpected text after origin: `origin b");
	free(t);
	t = concat(base, "origin a\nx\n");
	log_state_rejects(t, "after origin");
	free(t);
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\norigin a\nlast-index 5\n",
			  "`last-index'");
	/* The other lines' rules still hold with it. */
	log_state_rejects("size 7\nroot " STATE_ROOT "\nnewest 1\nlast-index 7\norigin a\n",
			  "not inside");
}

static void checkpoint_update_parse(void **state)
{
	const char *ok = "{\"checkpoint\": \"o\\n1\\nr\\n\", \"consistency\": "
			 "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}";
	struct rp_delivery up;
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(rp_checkpoint_update_parse(ok, strlen(ok), &up, NULL), 0);
	assert_string_equal(up.checkpoint, "o\n1\nr\n");
	assert_int_equal(up.ncons, 1);
	assert_int_equal(up.index, -1);
	rp_delivery_release(&up);
	assert_int_equal(rp_checkpoint_update_parse("{}", 2, &up, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "checkpoint"));
	assert_int_equal(rp_checkpoint_update_parse("[1]", 3, &up, &d), RP_E_MALFORMED);
	const char *bad = "{\"checkpoint\": \"x\", \"consistency\": [\"AAAA\"]}";
	assert_int_equal(rp_checkpoint_update_parse(bad, strlen(bad), &up, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "consistency"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(accepted_any_two_of_three),
		cmocka_unit_test(accepted_among_several_targets),
		cmocka_unit_test(org_mismatch),
		cmocka_unit_test(only_one_signature),
		cmocka_unit_test(same_key_signs_twice),
		cmocka_unit_test(signer_not_in_policy),
		cmocka_unit_test(not_a_target),
		cmocka_unit_test(expired),
		cmocka_unit_test(expired_within_skew_never_runs),
		cmocka_unit_test(not_yet_valid),
		cmocka_unit_test(replayed),
		cmocka_unit_test(replay_store_error),
		cmocka_unit_test(payload_altered),
		cmocka_unit_test(payload_size_differs),
		cmocka_unit_test(signature_swapped),
		cmocka_unit_test(all_signatures_from_other_statement),
		cmocka_unit_test(target_added_after_signing),
		cmocka_unit_test(expiry_extended_after_signing),
		cmocka_unit_test(unsigned_statement),
		cmocka_unit_test(signed_garbage),
		cmocka_unit_test(checks_in_design_order),
		cmocka_unit_test(log_data_missing),
		cmocka_unit_test(rollback_to_older_checkpoint),
		cmocka_unit_test(fork_same_size),
		cmocka_unit_test(fork_larger_without_valid_consistency),
		cmocka_unit_test(same_size_with_a_spurious_proof),
		cmocka_unit_test(entry_not_in_checkpoint),
		cmocka_unit_test(proof_for_another_index),
		cmocka_unit_test(one_witness_only),
		cmocka_unit_test(stale_checkpoint),
		cmocka_unit_test(cosignature_from_the_future),
		cmocka_unit_test(witness_outside_policy),
		cmocka_unit_test(cosignature_copied_from_other_checkpoint),
		cmocka_unit_test(checkpoint_not_signed_by_log_key),
		cmocka_unit_test(entry_at_or_below_last_index),
		cmocka_unit_test(entries_reordered),
		cmocka_unit_test(accepted_stores_checkpoint_once),
		cmocka_unit_test(checkpoint_alone),
		cmocka_unit_test(proved_only_after_checks_1_and_2),
		cmocka_unit_test(checkpoint_store_fails),
		cmocka_unit_test(delivery_ok),
		cmocka_unit_test(delivery_empty_payload),
		cmocka_unit_test(delivery_end_to_end),
		cmocka_unit_test(delivery_not_json),
		cmocka_unit_test(delivery_not_object),
		cmocka_unit_test(delivery_missing_statement),
		cmocka_unit_test(delivery_missing_payload),
		cmocka_unit_test(delivery_statement_not_string),
		cmocka_unit_test(delivery_payload_not_string),
		cmocka_unit_test(delivery_duplicate_statement),
		cmocka_unit_test(delivery_duplicate_payload),
		cmocka_unit_test(delivery_payload_unpadded),
		cmocka_unit_test(delivery_payload_noncanonical),
		cmocka_unit_test(delivery_payload_urlsafe),
		cmocka_unit_test(delivery_payload_whitespace),
		cmocka_unit_test(delivery_statement_nul),
		cmocka_unit_test(delivery_truncated),
		cmocka_unit_test(delivery_trailing_garbage),
		cmocka_unit_test(policy_expired_refuses_delivery),
		cmocka_unit_test(policy_expiry_checked_first),
		cmocka_unit_test(policy_expired_refuses_checkpoint_refresh),
		cmocka_unit_test(policy_expiry_warnings),
		cmocka_unit_test(delivery_oversized),
		cmocka_unit_test(delivery_nested_json_refused_before_parsing),
		cmocka_unit_test(delivery_tiny_arrays_refused_before_parsing),
		cmocka_unit_test(delivery_statement_oversized),
		cmocka_unit_test(delivery_payload_at_max),
		cmocka_unit_test(delivery_payload_over_max),
		cmocka_unit_test(delivery_without_log_refused),
		cmocka_unit_test(delivery_log_fields_ok),
		cmocka_unit_test(delivery_log_index_minus_one),
		cmocka_unit_test(delivery_log_index_negative),
		cmocka_unit_test(delivery_log_index_not_integer),
		cmocka_unit_test(delivery_log_index_missing),
		cmocka_unit_test(delivery_log_proof_too_long),
		cmocka_unit_test(delivery_log_consistency_too_long),
		cmocka_unit_test(delivery_log_hash_not_32_bytes),
		cmocka_unit_test(delivery_log_proof_not_array),
		cmocka_unit_test(delivery_log_checkpoint_oversized),
		cmocka_unit_test(delivery_log_checkpoint_not_string),
		cmocka_unit_test(delivery_log_duplicate_field),
		cmocka_unit_test(log_state_round_trip),
		cmocka_unit_test(checkpoint_update_parse),
		cmocka_unit_test(log_state_malformed),
		cmocka_unit_test(log_state_origin_round_trip),
		cmocka_unit_test(log_state_origin_malformed),
		cmocka_unit_test(checkpoint_judged_by_log_policy),
		cmocka_unit_test(log_policy_freshness_and_policy_expiry),
		cmocka_unit_test(retired_log_refuses_entries_past_its_end),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("verify", tests, setup, teardown);
}
