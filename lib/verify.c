/* SPDX-License-Identifier: Apache-2.0 */
#include "verify.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

int rp_delivery_parse(const char *json, size_t len, struct rp_delivery *ret,
		      struct rp_diag *d)
{
	struct rp_delivery dl = {0};
	json_error_t jerr;
	json_t *root = NULL, *st, *pl;
	const char *b64;
	size_t b64len, plen;
	int r;

	if (len > RP_HTTP_RESPONSE_MAX) {
		rp_diagf(d, "delivery is %zu bytes, more than %d", len, RP_HTTP_RESPONSE_MAX);
		return RP_E_TOOBIG;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		rp_diagf(d, "delivery is not a JSON object: %s", root ? "wrong type" : jerr.text);
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
		rp_diagf(d, "delivery statement is %zu bytes, more than %d",
			 json_string_length(st), RP_LOG_ENTRY_MAX);
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
	memset(dl, 0, sizeof(*dl));
}

/*
 * Checks 1 and 2 of DESIGN.md section 4. Until the transparency log
 * lands (issue 3) there is nothing to check: the root policy names no
 * log key yet. When it does, a delivery without a proof is refused here.
 */
static int verify_log(const struct rp_verify_ctx *ctx,
		      const struct rp_delivery *dl, struct rp_diag *d)
{
	(void)ctx;
	(void)dl;
	(void)d;
	return 0;
}

int rp_verify_delivery(const struct rp_verify_ctx *ctx,
		       const struct rp_delivery *dl, struct rp_command **ret_cmd,
		       char ret_id[RP_ID_HEX + 1], struct rp_diag *d)
{
	struct rp_command *c = NULL;
	uint8_t h[32];
	char t[21];
	int r;

	ret_id[0] = '\0';
	if ((r = verify_log(ctx, dl, d)) < 0)
		return r;

	/* 3. The statement. */
	if ((r = rp_command_parse(dl->statement, dl->statement_len, &c, d)) < 0)
		goto fail;
	memcpy(ret_id, c->id, RP_ID_HEX + 1);
	if (strcmp(c->org, ctx->policy->org) != 0) {
		rp_diagf(d, "statement is for org `%s', this device belongs to `%s'",
			 c->org, ctx->policy->org);
		r = RP_E_ORG;
		goto fail;
	}
	if ((r = rp_quorum_check(ctx->policy, rp_command_role(c), c->note, NULL, d)) < 0)
		goto fail;
	if (ctx->now > c->expires + ctx->skew) {
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
	if (!rp_command_targets(c, ctx->device_id)) {
		rp_diagf(d, "statement %s does not name this device (%s) as a target",
			 c->id, ctx->device_id);
		r = RP_E_TARGET;
		goto fail;
	}

	/* 4. Not already executed. */
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
		rp_diagf(d, "payload is %zu bytes, statement %s says %llu", dl->payload_len,
			 c->id, (unsigned long long)c->payload_size);
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
