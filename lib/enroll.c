/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reusable enrolment tokens and enrolment notes (lib/enroll.h): the token
 * text, the note's text and signatures, and the one fold every observer
 * runs (rp_dir_enrol_fold), so that rampartd's deliveries, the CLI's
 * `directory show' and `approve', and each agent's membership agree.
 */
#include "enroll.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "rp_err.h"
#include "statement.h"
#include "token.h"

static const char token_prefix[] = "RPE2.";
static const char token_header[] = "rampart/enroll/v2";
static const char note_header[] = "rampart/enrolment/v1";

/* ---- the token text ---- */

static bool sha256_text_valid(const char *v, size_t n)
{
	uint8_t h[32];
	return n == 71 && memcmp(v, "sha256:", 7) == 0 && rp_hex_decode(v + 7, 64, h, 32) == 0;
}

bool rp_reusable_token_is(const char *s, size_t n)
{
	return n >= sizeof(token_prefix) - 1 && !memcmp(s, token_prefix, sizeof(token_prefix) - 1);
}

int rp_reusable_token_parse(const char *s, size_t n, struct rp_reusable_token *ret,
			    struct rp_diag *d)
{
	static const char *const fields[] = {"server", "pin",  "org",    "policy",
					     "token",  "seed", "expires"};
	char text[RP_TOKEN_TEXT_MAX];
	size_t vlen;
	struct rp_cursor c;
	struct rp_reusable_token t;
	const char *v;
	int r = RP_E_MALFORMED;

	memset(&t, 0, sizeof(t));
	if (rp_token_text_open(s, n, token_prefix, token_header, "reusable enrolment token", text,
			       &c, d) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		bool ok;
		if (rp_expect_field(&c, "reusable enrolment token", fields[i], &v, &vlen, d) < 0)
			goto out;
		switch (i) {
		case 0:
			ok = vlen < sizeof(t.server) && vlen > 8 && memcmp(v, "https://", 8) == 0 &&
			     !memchr(v, ' ', vlen);
			if (ok)
				memcpy(t.server, v, vlen);
			break;
		case 1:
		case 3:
			ok = sha256_text_valid(v, vlen);
			if (ok)
				memcpy(i == 1 ? t.pin : t.policy, v, vlen);
			break;
		case 2:
			ok = rp_org_name_valid(v, vlen);
			if (ok)
				memcpy(t.org, v, vlen);
			break;
		case 4:
			ok = rp_id_valid(v, vlen);
			if (ok)
				memcpy(t.id, v, vlen);
			break;
		case 5:
			ok = vlen == 64 && rp_hex_decode(v, vlen, t.seed, sizeof(t.seed)) == 0;
			break;
		default: ok = rp_time_parse(v, vlen, &t.expires) == 0; break;
		}
		if (!ok) {
			char q[80];
			/* the seed is a secret: never quoted */
			rp_quote(q, sizeof(q), i == 5 ? "(hidden)" : v, i == 5 ? 8 : vlen);
			rp_diagf(d, "reusable enrolment token: bad %s `%s'", fields[i], q);
			goto out;
		}
	}
	if (c.n != 0) {
		rp_diagf(d, "reusable enrolment token: unexpected data after `expires'");
		goto out;
	}
	*ret = t;
	r = 0;
out:
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(text, sizeof(text));
	return r;
}

char *rp_reusable_token_format(const struct rp_reusable_token *t)
{
	struct rp_sb sb;
	char exp[21], seed[65], *text, *out;
	size_t len;

	rp_time_format(t->expires, exp);
	rp_hex_encode(t->seed, sizeof(t->seed), seed);
	rp_sb_init(&sb, RP_TOKEN_TEXT_MAX);
	rp_sb_printf(&sb,
		     "%s\nserver %s\npin %s\norg %s\npolicy %s\ntoken %s\nseed %s\nexpires %s\n",
		     token_header, t->server, t->pin, t->org, t->policy, t->id, seed, exp);
	sodium_memzero(seed, sizeof(seed));
	text = rp_sb_take(&sb, &len);
	if (!text)
		return NULL;
	out = rp_token_text_seal(token_prefix, text, len);
	sodium_memzero(text, len);
	free(text);
	return out;
}

int rp_reusable_token_key(const char *id, const uint8_t seed[32], struct rp_skey *ret)
{
	struct rp_skey k;
	int n;

	if (!rp_id_valid(id, strlen(id)))
		return RP_E_INVAL;
	memset(&k, 0, sizeof(k));
	n = snprintf(k.name, sizeof(k.name), "token-%s", id);
	memcpy(k.seed, seed, 32);
	crypto_sign_seed_keypair(k.pub, k.sk, k.seed);
	k.id = rp_key_id(k.name, (size_t)n, RP_KEY_ED25519, k.pub);
	*ret = k;
	rp_skey_wipe(&k);
	return 0;
}

/* ---- the enrolment note ---- */

bool rp_entry_is_enrolment(const uint8_t *entry, size_t len)
{
	return len > sizeof(note_header) && !memcmp(entry, note_header, sizeof(note_header) - 1) &&
	       entry[sizeof(note_header) - 1] == '\n';
}

/* A hostname: non-empty, no space at either end (the note rules exclude controls). */
static bool hostname_ok(const char *v, size_t n)
{
	return n > 0 && n <= RP_FACTS_HOSTNAME_MAX && v[0] != ' ' && v[n - 1] != ' ';
}

int rp_enrolment_parse_text(const char *text, size_t len, struct rp_enrolment *ret,
			    struct rp_diag *d)
{
	static const char *const fields[] = {"org",    "token",    "device",
					     "pubkey", "hostname", "time"};
	struct rp_cursor c = {text, len};
	struct rp_enrolment e;
	const char *line, *v;
	size_t llen, vlen, plen;
	char id[RP_ID_HEX + 1];

	if (len > RP_ENROLMENT_NOTE_MAX) {
		rp_diagf(d, "enrolment note: %zu bytes, more than %d", len, RP_ENROLMENT_NOTE_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	memset(&e, 0, sizeof(e));
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, note_header)) {
		rp_diagf(d, "enrolment note: the first line is not `%s'", note_header);
		return RP_E_MALFORMED;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		bool ok;
		if (rp_expect_field(&c, "enrolment note", fields[i], &v, &vlen, d) < 0)
			return RP_E_MALFORMED;
		switch (i) {
		case 0:
			ok = rp_org_name_valid(v, vlen);
			if (ok)
				memcpy(e.org, v, vlen);
			break;
		case 1:
		case 2:
			ok = rp_id_valid(v, vlen);
			if (ok)
				memcpy(i == 1 ? e.token : e.device, v, vlen);
			break;
		case 3:
			ok = vlen == 44 &&
			     rp_b64_decode(v, vlen, e.pub, sizeof(e.pub), &plen) == 0 && plen == 32;
			break;
		case 4:
			ok = hostname_ok(v, vlen);
			if (ok)
				memcpy(e.hostname, v, vlen);
			break;
		default: ok = rp_time_parse(v, vlen, &e.time) == 0; break;
		}
		if (!ok) {
			char q[80];
			rp_quote(q, sizeof(q), v, vlen);
			rp_diagf(d, "enrolment note: bad %s `%s'", fields[i], q);
			return RP_E_MALFORMED;
		}
	}
	if (c.n != 0) {
		rp_diagf(d, "enrolment note: unexpected lines after `time'");
		return RP_E_MALFORMED;
	}
	rp_device_id(e.pub, id);
	if (strcmp(id, e.device) != 0) {
		rp_diagf(d, "enrolment note: device %s is not the id of its pubkey (%s)", e.device,
			 id);
		return RP_E_MALFORMED;
	}
	*ret = e;
	return 0;
}

char *rp_enrolment_format(const struct rp_enrolment *e, size_t *ret_len)
{
	struct rp_enrolment chk;
	struct rp_sb sb;
	char t[21], *pub, *text;
	size_t len;

	if (!(pub = rp_b64_encode(e->pub, 32)))
		return NULL;
	rp_time_format(e->time, t);
	rp_sb_init(&sb, RP_ENROLMENT_NOTE_MAX);
	rp_sb_printf(&sb, "%s\norg %s\ntoken %s\ndevice %s\npubkey %s\nhostname %s\ntime %s\n",
		     note_header, e->org, e->token, e->device, pub, e->hostname, t);
	free(pub);
	if (!(text = rp_sb_take(&sb, &len)))
		return NULL;
	if (rp_enrolment_parse_text(text, len, &chk, NULL) < 0) {
		free(text);
		return NULL;
	}
	if (ret_len)
		*ret_len = len;
	return text;
}

int rp_enrolment_sign(const struct rp_enrolment *e, const struct rp_skey *token,
		      const struct rp_skey *device, char **ret, size_t *ret_len)
{
	struct rp_note *n = NULL;
	char *text, *one = NULL;
	size_t len, olen;
	int r;

	if (!(text = rp_enrolment_format(e, &len)))
		return RP_E_MALFORMED;
	if ((r = rp_note_sign(text, len, NULL, token, &one, &olen)) == 0 &&
	    (r = rp_note_parse(one, olen, &n, NULL)) == 0)
		r = rp_note_sign(text, len, n, device, ret, ret_len);
	rp_note_free(n);
	free(one);
	free(text);
	return r;
}

/* ---- the fold ---- */

static bool listed(const struct rp_dir_token *t, const char *device)
{
	for (size_t i = 0; i < t->nenrolled; i++)
		if (!strcmp(t->enrolled[i], device))
			return true;
	return false;
}

/* The note, parsed and verified against its token in s (*ret_tok). */
static int judge(const struct rp_dir_state *s, const uint8_t *entry, size_t len,
		 struct rp_enrolment *ret, const struct rp_dir_token **ret_tok, struct rp_diag *d)
{
	struct rp_note *note = NULL;
	struct rp_enrolment e;
	struct rp_vkey keys[2];
	const struct rp_dir_token *t;
	bool ok[2] = {false, false};
	char t1[21];
	int r;

	if (len > RP_ENROLMENT_NOTE_MAX) {
		rp_diagf(d, "enrolment note: %zu bytes, more than %d", len, RP_ENROLMENT_NOTE_MAX);
		return RP_E_MALFORMED;
	}
	if ((r = rp_note_parse((const char *)entry, len, &note, d)) < 0)
		return RP_E_MALFORMED;
	if ((r = rp_enrolment_parse_text(note->msg, note->text_len, &e, d)) < 0) {
		r = RP_E_MALFORMED;
		goto out;
	}
	if (note->nsigs != 2) {
		rp_diagf(d,
			 "enrolment note of device %s: %zu signature lines, not the token's "
			 "and the device's",
			 e.device, note->nsigs);
		r = RP_E_MALFORMED;
		goto out;
	}
	if (strcmp(e.org, s->org) != 0) {
		rp_diagf(d, "enrolment note of device %s is of org %s, not %s", e.device, e.org,
			 s->org);
		r = RP_E_ORG;
		goto out;
	}
	if (!(t = rp_dir_token_get(&s->dir, e.token))) {
		rp_diagf(d,
			 "enrolment note of device %s names token %s, which the directory does "
			 "not hold (never logged with its groups' signatures, or revoked)",
			 e.device, e.token);
		r = RP_E_NOTFOUND;
		goto out;
	}
	/* the token key, under its name, and the device key, under the device id */
	memset(keys, 0, sizeof(keys));
	snprintf(keys[0].name, sizeof(keys[0].name), "token-%s", t->id);
	keys[0].type = RP_KEY_ED25519;
	memcpy(keys[0].pub, t->key, 32);
	keys[0].id = rp_key_id(keys[0].name, strlen(keys[0].name), RP_KEY_ED25519, t->key);
	rp_device_vkey(e.pub, e.device, &keys[1]);
	if ((r = rp_note_verify(note, keys, 2, ok, d)) < 0 || !ok[0] || !ok[1]) {
		if (r == 0)
			rp_diagf(d, "enrolment note of device %s is not signed by %s", e.device,
				 ok[0] ? "the device's key" : "the token's key");
		r = r < 0 ? r : RP_E_NOSIG;
		goto out;
	}
	if (e.time >= t->expires) {
		rp_time_format(t->expires, t1);
		rp_diagf(d, "enrolment note of device %s was signed after token %s expired (%s)",
			 e.device, t->id, t1);
		r = RP_E_EXPIRED;
		goto out;
	}
	if (rp_dir_device_get(&s->dir, e.device) || listed(t, e.device)) {
		rp_diagf(d, "device %s is in the directory already%s", e.device,
			 listed(t, e.device) ? ", enrolled by this token" : "");
		r = RP_E_EXISTS;
		goto out;
	}
	if (t->nenrolled >= t->max) {
		rp_diagf(d, "token %s enrolled its maximum of %u devices", t->id, t->max);
		r = RP_E_TOOBIG;
		goto out;
	}
	*ret = e;
	*ret_tok = t;
	r = 0;
out:
	rp_note_free(note);
	return r;
}

int rp_dir_enrol_judge(const struct rp_dir_state *s, const uint8_t *entry, size_t len,
		       struct rp_enrolment *ret, struct rp_diag *d)
{
	const struct rp_dir_token *t;

	return judge(s, entry, len, ret, &t, d);
}

int rp_dir_enrol_fold(struct rp_dir_state *s, const uint8_t *entry, size_t len, bool *ret_folded,
		      struct rp_enrolment *ret, struct rp_diag *d)
{
	const struct rp_dir_token *ct;
	struct rp_dir_token *t;
	struct rp_dir_device *v = NULL;
	struct rp_enrolment e;
	int r;

	*ret_folded = false;
	s->entries++;
	rp_sha256(entry, len, s->tail);
	if (judge(s, entry, len, &e, &ct, d) < 0)
		return 0;
	t = (struct rp_dir_token *)ct; /* s's own */
	if (s->dir.nusers + s->dir.ngroups + s->dir.ndgroups + s->dir.ndevices + s->dir.nbinds +
		    s->dir.ntokens >=
	    RP_DIR_OBJECTS_MAX) {
		rp_diagf(d, "the directory holds %d objects already", RP_DIR_OBJECTS_MAX);
		return 0;
	}
	if (!(v = calloc(1, sizeof(*v))))
		return RP_E_NOMEM;
	memcpy(v->id, e.device, sizeof(v->id));
	if ((t->ngroups && !(v->groups = malloc(t->ngroups * sizeof(*v->groups)))) ||
	    (t->ntags && !(v->tags = malloc(t->ntags * sizeof(*v->tags))))) {
		r = RP_E_NOMEM;
		goto fail;
	}
	v->ngroups = t->ngroups;
	v->ntags = t->ntags;
	if (t->ngroups)
		memcpy(v->groups, t->groups, t->ngroups * sizeof(*v->groups));
	if (t->ntags)
		memcpy(v->tags, t->tags, t->ntags * sizeof(*v->tags));
	/* the token's list first: a record without it could be brought back */
	if ((r = rp_dir_token_enlist(t, e.device)) < 0)
		goto fail;
	if ((r = rp_dir_insert(&s->dir, RP_DIR_DEVICE, v)) < 0) {
		t->nenrolled--;
		goto fail;
	}
	*ret_folded = true;
	if (ret)
		*ret = e;
	return 0;
fail:
	rp_dir_obj_free(RP_DIR_DEVICE, v);
	return r;
}
