/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's whole check path, rp_verify_delivery (DESIGN.md section 4),
 * as attacks: one named test per thing a breached server might try.
 * Policy: exec 2 of alice, bob, carol (the vector keys).
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "verify.h"

#define DEV "00112233445566778899aabbccddeeff"
#define OTHER "ffeeddccbbaa99887766554433221100"
#define ID "5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9"
#define NOW 1795000000 /* 2026-11-18T11:06:40Z */
#define SKEW 300

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
	char targets[3][RP_ID_HEX + 1];
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

struct outcome {
	int r;
	char id[RP_ID_HEX + 1];
	struct rp_diag d;
	int seen_calls;
};

static struct outcome run_full(const char *note, const void *pl, size_t pl_len, int64_t now,
                               int seen_answer)
{
	struct rp_delivery dl = {.statement = (char *)note,
	                         .statement_len = strlen(note),
	                         .payload = (uint8_t *)pl,
	                         .payload_len = pl_len};
	struct seen_state st = {.answer = seen_answer};
	struct rp_verify_ctx ctx = {.policy = policy,
	                            .device_id = DEV,
	                            .now = now,
	                            .skew = SKEW,
	                            .seen = seen_cb,
	                            .seen_arg = &st};
	struct rp_command *c = NULL;
	struct outcome o = {0};

	memset(o.id, 'x', RP_ID_HEX);
	o.r = rp_verify_delivery(&ctx, &dl, &c, o.id, &o.d);
	o.seen_calls = st.calls;
	if (o.r == 0) {
		assert_non_null(c);
		assert_non_null(c->note);
		assert_string_equal(c->id, o.id);
		assert_int_equal(st.calls, 1);
		assert_string_equal(st.last, c->id);
		assert_true(rp_command_targets(c, DEV));
		rp_command_free(c);
	} else {
		assert_null(c);
		/* The replay store's own error is passed through as it is. */
		if (o.r != seen_answer)
			assert_true(o.d.msg[0] != '\0');
	}
	return o;
}

/* Verifies note (consumed) with `payload' at NOW, nothing seen yet. */
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
	/* now > expires + skew: refused; at the edge of the skew: accepted. */
	assert_int_equal(run_full(n, payload, strlen(payload), ex + SKEW + 1, 0).r, RP_E_EXPIRED);
	assert_int_equal(run_full(n, payload, strlen(payload), ex + SKEW, 0).r, 0);
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
	char *theirs = signed_cmd(
	    SPEC(.id = "00000000000000000000000000000001", .targets = {OTHER}), ((int[]){0, -1}));
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

static void delivery_end_to_end(void **state)
{
	/* JSON as the server would build it, then the agent's whole path. */
	char *n = signed_cmd(SPEC(), TWO),
	     *b64 = rp_b64_encode((const uint8_t *)payload, strlen(payload));
	json_t *o = json_pack("{s:s, s:s}", "statement", n, "payload", b64);
	char *js = json_dumps(o, JSON_COMPACT);
	struct rp_delivery dl;
	struct rp_verify_ctx ctx = {.policy = policy, .device_id = DEV, .now = NOW, .skew = SKEW};
	struct rp_command *c = NULL;
	char id[RP_ID_HEX + 1];
	(void)state;

	assert_int_equal(rp_delivery_parse(js, strlen(js), &dl, NULL), 0);
	assert_int_equal(dl.statement_len, strlen(n));
	assert_memory_equal(dl.statement, n, strlen(n));
	assert_int_equal(rp_verify_delivery(&ctx, &dl, &c, id, NULL), 0);
	assert_string_equal(id, ID);
	rp_command_free(c);
	rp_delivery_release(&dl);
	free(js);
	json_decref(o);
	free(b64);
	free(n);
}

#define DCASE(name, json, want)                                                                    \
	static void name(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		delivery_rejects(json, want);                                                      \
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
	    cmocka_unit_test(delivery_oversized),
	    cmocka_unit_test(delivery_statement_oversized),
	    cmocka_unit_test(delivery_payload_at_max),
	    cmocka_unit_test(delivery_payload_over_max),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("verify", tests, setup, teardown);
}
