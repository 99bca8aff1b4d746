/* SPDX-License-Identifier: Apache-2.0 */
#include "verify.h"

#include "directory.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rp_err.h"
#include "tlog.h"

/* "checkpoint" (a note within RP_CHECKPOINT_MAX) and "consistency" (optional hashes). */
static int parse_checkpoint_fields(json_t *cp, json_t *cs, struct rp_delivery *dl,
				   struct rp_diag *d)
{
	int r;

	if (!json_is_string(cp)) {
		rp_diagf(d, "field `checkpoint' must be a string");
		return RP_E_MALFORMED;
	}
	if (json_string_length(cp) > RP_CHECKPOINT_MAX) {
		rp_diagf(d, "delivery checkpoint is %zu bytes, more than %d",
			 json_string_length(cp), RP_CHECKPOINT_MAX);
		return RP_E_TOOBIG;
	}
	if (cs && (r = rp_json_hashes(cs, "consistency", dl->consistency, &dl->ncons, d)) < 0)
		return r;
	if (!(dl->checkpoint = strdup(json_string_value(cp))))
		return RP_E_NOMEM;
	dl->checkpoint_len = json_string_length(cp);
	return 0;
}

/* "index", "proof", "checkpoint", "consistency": all four, or none. */
static int parse_log_fields(json_t *root, struct rp_delivery *dl, struct rp_diag *d)
{
	json_t *ix = json_object_get(root, "index"), *pf = json_object_get(root, "proof"),
	       *cp = json_object_get(root, "checkpoint"),
	       *cs = json_object_get(root, "consistency");
	int r;

	dl->index = -1;
	if (!ix && !pf && !cp && !cs)
		return 0;
	if (json_is_integer(ix) && json_integer_value(ix) == -1 && !pf && !cp && !cs)
		return 0; /* a delivery the server could not log: refused later */
	if (!json_is_integer(ix) || json_integer_value(ix) < 0 || !json_is_string(cp)) {
		rp_diagf(d, "delivery log fields: `index' must be a non-negative integer and "
			    "`checkpoint' a string");
		return RP_E_MALFORMED;
	}
	if ((r = rp_json_hashes(pf, "proof", dl->proof, &dl->nproof, d)) < 0 ||
	    (r = parse_checkpoint_fields(cp, cs, dl, d)) < 0)
		return r;
	dl->index = json_integer_value(ix);
	return 0;
}

int rp_checkpoint_update_parse(const char *json, size_t len, struct rp_delivery *ret,
			       struct rp_diag *d)
{
	struct rp_delivery dl = {.index = -1};
	struct rp_diag jd = {""};
	json_t *root = NULL;
	int r;

	if (len > RP_CHECKPOINT_ANSWER_MAX) {
		rp_diagf(d, "checkpoint answer is %zu bytes, more than %d", len,
			 RP_CHECKPOINT_ANSWER_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_json_load(json, len, RP_JSON_DEPTH_MAX, RP_CHECKPOINT_ANSWER_VALUES_MAX, &root,
			      &jd)) < 0) {
		rp_diagf(d, "checkpoint answer: %s", jd.msg);
		return r;
	}
	if (!json_is_object(root)) {
		rp_diagf(d, "checkpoint answer is not a JSON object");
		json_decref(root);
		return RP_E_MALFORMED;
	}
	r = parse_checkpoint_fields(json_object_get(root, "checkpoint"),
				    json_object_get(root, "consistency"), &dl, d);
	json_decref(root);
	if (r < 0) {
		rp_delivery_release(&dl);
		return r;
	}
	*ret = dl;
	return 0;
}

int rp_delivery_parse(const char *json, size_t len, struct rp_delivery *ret, struct rp_diag *d)
{
	struct rp_delivery dl = {.index = -1};
	struct rp_diag jd = {""};
	json_t *root = NULL, *st, *pl;
	const char *b64;
	size_t b64len, plen;
	int r;

	if (len > RP_DELIVERY_MAX) {
		rp_diagf(d, "delivery is %zu bytes, more than %d", len, RP_DELIVERY_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_json_load(json, len, RP_JSON_DEPTH_MAX, RP_DELIVERY_VALUES_MAX, &root, &jd)) <
	    0) {
		rp_diagf(d, "delivery: %s", jd.msg);
		goto out;
	}
	if (!json_is_object(root)) {
		rp_diagf(d, "delivery is not a JSON object");
		r = RP_E_MALFORMED;
		goto out;
	}
	st = json_object_get(root, "statement");
	pl = json_object_get(root, "payload");
	if (!json_is_string(st) || !json_is_string(pl)) {
		rp_diagf(d, "delivery lacks string fields `statement' and `payload'");
		r = RP_E_MALFORMED;
		goto out;
	}
	if (json_string_length(st) > RP_LOG_ENTRY_MAX) {
		rp_diagf(d, "delivery statement is %zu bytes, more than %d", json_string_length(st),
			 RP_LOG_ENTRY_MAX);
		r = RP_E_TOOBIG;
		goto out;
	}
	b64 = json_string_value(pl);
	b64len = json_string_length(pl);
	if (b64len / 4 * 3 > RP_PAYLOAD_MAX + 2) {
		rp_diagf(d, "delivery payload is larger than %d bytes", RP_PAYLOAD_MAX);
		r = RP_E_TOOBIG;
		goto out;
	}
	dl.statement_len = json_string_length(st);
	dl.statement = malloc(dl.statement_len + 1);
	dl.payload = malloc(b64len / 4 * 3 + 1);
	if (!dl.statement || !dl.payload) {
		r = RP_E_NOMEM;
		goto out;
	}
	memcpy(dl.statement, json_string_value(st), dl.statement_len + 1);
	if (b64len == 0) {
		plen = 0;
	} else if (rp_b64_decode(b64, b64len, dl.payload, b64len / 4 * 3 + 1, &plen) != 0) {
		rp_diagf(d, "delivery payload is not canonical base64");
		r = RP_E_MALFORMED;
		goto out;
	}
	if (plen > RP_PAYLOAD_MAX) { /* the check above allows 2 bytes of slack */
		rp_diagf(d, "delivery payload is %zu bytes, more than %d", plen, RP_PAYLOAD_MAX);
		r = RP_E_TOOBIG;
		goto out;
	}
	dl.payload_len = plen;
	if ((r = parse_log_fields(root, &dl, d)) < 0)
		goto out;
	*ret = dl;
	memset(&dl, 0, sizeof(dl));
	r = 0;
out:
	rp_delivery_release(&dl);
	json_decref(root);
	return r;
}

void rp_delivery_release(struct rp_delivery *dl)
{
	free(dl->statement);
	free(dl->payload);
	free(dl->checkpoint);
	memset(dl, 0, sizeof(*dl));
	dl->index = -1;
}

/*
 * Check 1b: the checkpoint against the one stored, through the one
 * append-only check (lib/tlog.c), its verdict turned into the agent's
 * refusal: a smaller tree is a rollback, anything else that does not
 * extend the stored tree a fork.
 */
static int append_only(const struct rp_log_state *st, const struct rp_checkpoint *cp,
		       const uint8_t (*cons)[RP_HASH_LEN], size_t ncons, struct rp_diag *d)
{
	struct rp_tlog_head stored = {st->size}, next = {cp->size};
	struct rp_diag why = {""};

	memcpy(stored.root, st->root, RP_HASH_LEN);
	memcpy(next.root, cp->root, RP_HASH_LEN);
	switch (rp_tlog_advance(&stored, &next, cons, ncons, &why)) {
	case RP_TLOG_SAME:
	case RP_TLOG_EXTENDS: return 0;
	case RP_TLOG_ROLLBACK:
		rp_diagf(d,
			 "checkpoint of %llu entries is older than the %llu already seen "
			 "(rollback)",
			 (unsigned long long)cp->size, (unsigned long long)st->size);
		return RP_E_ROLLBACK;
	case RP_TLOG_FORK:
		rp_diagf(d,
			 "checkpoint of %llu entries has another root than the one already "
			 "seen at that size (fork)",
			 (unsigned long long)cp->size);
		return RP_E_FORK;
	case RP_TLOG_INCONSISTENT: break;
	}
	rp_diagf(d,
		 "checkpoint of %llu entries is not consistent with the %llu already seen "
		 "(fork): %s",
		 (unsigned long long)cp->size, (unsigned long long)st->size, why.msg);
	return RP_E_FORK;
}

int rp_verify_policy_expiry(const struct rp_policy *p, int64_t now, struct rp_diag *d)
{
	int64_t left = p->expires - now;
	char t[21];

	rp_time_format(p->expires, t);
	if (left <= 0) {
		rp_diagf(d,
			 "the root policy (version %llu) expired at %s: nothing is acted on until "
			 "the administrators renew it",
			 (unsigned long long)p->version, t);
		return RP_E_POLICY_EXPIRED;
	}
	if (left > RP_POLICY_WARN_S)
		return 0;
	rp_diagf(d,
		 "the root policy (version %llu) expires at %s, in %lld days %lld hours: "
		 "after that nothing is acted on",
		 (unsigned long long)p->version, t, (long long)(left / 86400),
		 (long long)(left % 86400 / 3600));
	return left <= RP_POLICY_URGENT_S ? RP_POLICY_URGENT : RP_POLICY_WARN;
}

/* The policy's expiry as a check: only an expired policy refuses, and only then is d written. */
static int check_policy_expiry(const struct rp_verify_ctx *ctx, struct rp_diag *d)
{
	return rp_verify_policy_expiry(ctx->policy, ctx->now, NULL) < 0
		       ? rp_verify_policy_expiry(ctx->policy, ctx->now, d)
		       : 0;
}

int rp_verify_checkpoint(const struct rp_verify_ctx *ctx, const char *note, size_t len,
			 const uint8_t (*cons)[RP_HASH_LEN], size_t ncons,
			 struct rp_checkpoint *ret_cp, struct rp_diag *d)
{
	const struct rp_log_state *st = ctx->log;
	const struct rp_policy *p = ctx->log_policy ? ctx->log_policy : ctx->policy;
	struct rp_checkpoint cp;
	int64_t newest = 0;
	int r;

	/* 0. An expired root policy stops everything, a checkpoint refresh included. */
	if ((r = check_policy_expiry(ctx, d)) < 0)
		return r;
	/* 1a. Log signature and witness quorum, with fresh cosignatures. */
	r = rp_checkpoint_verify(&p->wp, note, len, ctx->now, p->freshness, ctx->skew, &cp, &newest,
				 d);
	if (r < 0)
		return r;
	/* 1b. Never smaller than what was seen, and consistent with it (lib/tlog.h). */
	if (st && st->size > 0 && (r = append_only(st, &cp, cons, ncons, d)) < 0)
		return r;
	/* 1c. Stored before anything else is looked at. */
	if (ctx->store && (r = ctx->store(ctx->store_arg, &cp, note, len, newest)) < 0) {
		rp_diagf(d, "cannot store the checkpoint: %s", rp_strerror(r));
		return r;
	}
	if (ret_cp)
		*ret_cp = cp;
	return 0;
}

/* Checks 1 and 2 of DESIGN.md section 4: checkpoint, then inclusion. */
static int verify_log(const struct rp_verify_ctx *ctx, const struct rp_delivery *dl,
		      struct rp_diag *d)
{
	struct rp_checkpoint cp;
	uint8_t leaf[RP_HASH_LEN];
	int r;

	if (dl->index < 0 || !dl->checkpoint) {
		rp_diagf(d, "delivery carries no transparency log proof: the statement was never "
			    "shown to be in the log");
		return RP_E_LOG;
	}
	if ((r = rp_verify_checkpoint(ctx, dl->checkpoint, dl->checkpoint_len,
				      (const uint8_t(*)[RP_HASH_LEN])dl->consistency, dl->ncons,
				      &cp, d)) < 0)
		return r;
	rp_merkle_leaf_hash(dl->statement, dl->statement_len, leaf);
	if ((r = rp_merkle_verify_inclusion((uint64_t)dl->index, cp.size, leaf,
					    (const uint8_t(*)[RP_HASH_LEN])dl->proof, dl->nproof,
					    cp.root, d)) < 0) {
		char m[sizeof(d->msg)];
		snprintf(m, sizeof(m), "%s", d ? d->msg : "");
		rp_diagf(d, "statement is not entry %lld of the checkpointed log: %s",
			 (long long)dl->index, m);
		return RP_E_PROOF;
	}
	return 0;
}

int rp_verify_delivery(const struct rp_verify_ctx *ctx, const struct rp_delivery *dl,
		       struct rp_command **ret_cmd, char ret_id[RP_ID_HEX + 1], struct rp_diag *d)
{
	const struct rp_policy *sp;
	struct rp_command *c = NULL;
	uint8_t h[32];
	char t[21];
	int r;

	ret_id[0] = '\0';
	/* 0. The root policy in force has not expired: checked first, before the log. */
	if ((r = check_policy_expiry(ctx, d)) < 0)
		return r;
	if ((r = verify_log(ctx, dl, d)) < 0)
		return r;
	if (ctx->log_end && (uint64_t)dl->index >= ctx->log_end) {
		rp_diagf(d,
			 "entry %lld is past entry %llu, the root policy that ended this log (its "
			 "key was rotated): a retired log takes no entries after it",
			 (long long)dl->index, (unsigned long long)ctx->log_end - 1);
		return RP_E_LOG;
	}
	if (ctx->policy_at && (uint64_t)dl->index >= ctx->scanned) {
		rp_diagf(d,
			 "entry %lld is past the %llu entries of the log read so far: not judged "
			 "until every root policy before it is known",
			 (long long)dl->index, (unsigned long long)ctx->scanned);
		return RP_E_UNSCANNED;
	}
	sp = ctx->policy_at ? ctx->policy_at(ctx->policy_at_arg, (uint64_t)dl->index) : ctx->policy;
	if (ctx->ret_proved)
		*ctx->ret_proved = dl->index;

	/* 3. The statement. */
	if ((r = rp_command_parse(dl->statement, dl->statement_len, &c, d)) < 0)
		goto fail;
	memcpy(ret_id, c->id, RP_ID_HEX + 1);
	if (strcmp(c->org, sp->org) != 0) {
		rp_diagf(d, "statement is for org `%s', this device belongs to `%s'", c->org,
			 sp->org);
		r = RP_E_ORG;
		goto fail;
	}
	/*
	 * The device groups' thresholds, by the directory this device folded;
	 * a directory statement's own were judged by the walk, on the
	 * directory before it (which it may change).
	 */
	const struct rp_dir_device *me =
		ctx->device_at ? ctx->device_at(ctx->device_at_arg, (uint64_t)dl->index)
		: ctx->dir     ? rp_dir_device_get(ctx->dir, ctx->device_id)
			       : NULL;
	uint32_t need =
		c->kind == RP_KIND_DIRECTORY || !me
			? 0
			: rp_policy_threshold(sp, rp_command_role(c),
					      (const char(*)[RP_USER_NAME_MAX + 1]) me->groups,
					      me->ngroups);
	if ((r = rp_quorum_check_min(sp, rp_command_role(c), need, c->note, NULL, d)) < 0)
		goto fail;
	/*
	 * Expiry is exact on this device's clock: the skew allowance would let
	 * a statement run for minutes after the server stopped offering it and
	 * showed it as expired, so an administrator re-submitting it would get
	 * it twice. The allowance only widens the start, for a device whose
	 * clock is behind: a scheduled statement refused as not yet valid
	 * would consume its log index for good (docs/operating.md, Clocks).
	 */
	/* a directory statement's expiry bounds its logging, which the walk judged */
	if (c->kind != RP_KIND_DIRECTORY && ctx->now >= c->expires) {
		rp_time_format(c->expires, t);
		rp_diagf(d, "statement %s expired at %s", c->id, t);
		r = RP_E_EXPIRED;
		goto fail;
	}
	if (ctx->now + ctx->skew < c->not_before) {
		rp_time_format(c->not_before, t);
		rp_diagf(d, "statement %s is not valid before %s", c->id, t);
		r = RP_E_NOTYET;
		goto fail;
	}
	if (!rp_dir_device_targets(me, c, ctx->device_id)) {
		rp_diagf(d, "statement %s does not name this device (%s) as a target", c->id,
			 ctx->device_id);
		r = RP_E_TARGET;
		goto fail;
	}

	/* 4. Not already executed, and in log order. */
	if (ctx->log && dl->index <= ctx->log->last_index) {
		rp_diagf(d,
			 "statement %s is log entry %lld, not after entry %lld already acted on "
			 "(replay or reorder)",
			 c->id, (long long)dl->index, (long long)ctx->log->last_index);
		r = RP_E_REPLAY;
		goto fail;
	}
	if (ctx->seen) {
		r = ctx->seen(ctx->seen_arg, c->id);
		if (r < 0)
			goto fail;
		if (r > 0) {
			rp_diagf(d, "statement %s was already executed here (replay)", c->id);
			r = RP_E_REPLAY;
			goto fail;
		}
	}

	/* 5. Payload: size first, then hash. */
	if (dl->payload_len != c->payload_size) {
		rp_diagf(d, "payload is %zu bytes, statement %s says %llu", dl->payload_len, c->id,
			 (unsigned long long)c->payload_size);
		r = RP_E_PAYLOAD;
		goto fail;
	}
	rp_sha256(dl->payload, dl->payload_len, h);
	if (sodium_memcmp(h, c->payload_hash, 32) != 0) {
		rp_diagf(d, "payload hash does not match statement %s", c->id);
		r = RP_E_PAYLOAD;
		goto fail;
	}
	*ret_cmd = c;
	return 0;
fail:
	rp_command_free(c);
	return r;
}

int rp_log_state_parse(const char *text, size_t len, struct rp_log_state *ret, struct rp_diag *d)
{
	static const char *const names[] = {"size", "root", "newest", "last-index"};
	struct rp_cursor cur = {text, len};
	struct rp_log_state st = {0};
	const char *line, *w, *v;
	size_t llen, wlen, vlen, n;
	uint64_t u = 0;
	char q[80];

	if (len > RP_LOG_STATE_MAX) {
		rp_diagf(d, "log state: %zu bytes, more than %d", len, RP_LOG_STATE_MAX);
		return RP_E_TOOBIG;
	}
	for (int i = 0; i < 4; i++) {
		bool ok = rp_cursor_line(&cur, &line, &llen) == 1 &&
			  rp_split_word(line, llen, &w, &wlen, &v, &vlen) &&
			  rp_memeq(w, wlen, names[i]);
		if (ok && i == 1) {
			ok = rp_b64_decode(v, vlen, st.root, RP_HASH_LEN, &n) == 0 &&
			     n == RP_HASH_LEN;
		} else if (ok && i == 3 && rp_memeq(v, vlen, "-1")) {
			st.last_index = -1;
		} else if (ok) {
			ok = rp_parse_u64(v, vlen, INT64_MAX, &u) == 0;
			if (i == 0)
				st.size = u;
			else if (i == 2)
				st.newest = (int64_t)u;
			else
				st.last_index = (int64_t)u;
		}
		if (!ok) {
			rp_diagf(d, "log state: missing or bad `%s' line", names[i]);
			return RP_E_MALFORMED;
		}
	}
	if (cur.n != 0) {
		const char *rest = cur.p;
		size_t nrest = cur.n;
		bool ok = rp_cursor_line(&cur, &line, &llen) == 1 &&
			  rp_split_word(line, llen, &w, &wlen, &v, &vlen) &&
			  rp_memeq(w, wlen, "origin") && vlen <= RP_ORIGIN_MAX &&
			  rp_key_name_valid(v, vlen);
		if (ok) {
			memcpy(st.origin, v, vlen);
			st.origin[vlen] = '\0';
		}
		if (!ok || cur.n != 0) {
			rp_quote(q, sizeof(q), ok ? cur.p : rest, ok ? cur.n : nrest);
			rp_diagf(d, "log state: unexpected text after %s: `%s'",
				 ok ? "origin" : "last-index", q);
			return RP_E_MALFORMED;
		}
	}
	if (st.last_index >= 0 && (uint64_t)st.last_index >= st.size) {
		rp_diagf(d,
			 "log state: last-index %lld is not inside the checkpoint of %llu entries",
			 (long long)st.last_index, (unsigned long long)st.size);
		return RP_E_MALFORMED;
	}
	*ret = st;
	return 0;
}

char *rp_log_state_format(const struct rp_log_state *st, size_t *ret_len)
{
	char *root = rp_b64_encode(st->root, RP_HASH_LEN);
	struct rp_sb sb;

	if (!root)
		return NULL;
	rp_sb_init(&sb, RP_LOG_STATE_MAX);
	rp_sb_printf(&sb, "size %llu\nroot %s\nnewest %lld\nlast-index %lld\n",
		     (unsigned long long)st->size, root, (long long)st->newest,
		     (long long)st->last_index);
	if (st->origin[0])
		rp_sb_printf(&sb, "origin %s\n", st->origin);
	free(root);
	return rp_sb_take(&sb, ret_len);
}
