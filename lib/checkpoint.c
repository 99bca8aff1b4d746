/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints, cosignatures, add-checkpoint requests and tlog-policy lines
 * (see checkpoint.h). Choices where the specifications leave room:
 *
 * - Sizes and cosignature times are at most 2^63 - 1 (Go's tlog uses int64
 *   sizes; tlog-cosignature caps the timestamp there).
 * - A checkpoint origin is printable ASCII (0x20-0x7e); rp_checkpoint_verify
 *   then requires it to equal the log key's name, which is stricter still.
 * - tlog-policy lines are taken in Rampart's canonical form only: fields
 *   separated by one space, no tabs, no leading or trailing space (the root
 *   policy is signed text: one spelling). Names are key names
 *   (rp_key_name_valid), witnesses and groups share one namespace, and
 *   `none' is reserved. Rampart has exactly one log, a witness key may not
 *   be the log's key (the log would witness itself), and the quorum line
 *   is the last.
 * - rp_wpolicy_line changes nothing on failure; over a cap it returns
 *   RP_E_TOOBIG (as the root policy parser does for keys), otherwise
 *   RP_E_MALFORMED.
 * - rp_checkpoint_format returns NULL for a checkpoint it could not parse
 *   back (empty or unprintable origin, size beyond 2^63 - 1).
 * - rp_cosig_verify returns RP_E_INVAL for a key that is not type 0x04.
 * - rp_checkpoint_verify: a checkpoint whose origin is not the log key's
 *   name is RP_E_NOSIG (the log did not sign it); an incomplete policy or a
 *   negative window is RP_E_INVAL; *ret_newest is 0 when no cosignature
 *   was counted (quorum none). Several lines by one witness: every one must
 *   verify, the witness counts once, fresh if any line is fresh.
 * - rp_witness_req_parse checks syntax only: old size <= checkpoint size
 *   and an empty proof for old size 0 are the witness's checks (they have
 *   their own status codes in tlog-witness).
 */
#include "checkpoint.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

static const char em_dash[] = "\xe2\x80\x94 "; /* U+2014 and a space */
static const char cosig_header[] = "cosignature/v1\n";

#define COSIG_BYTES  (8 + crypto_sign_BYTES) /* after the key id */
#define B64_HASH_LEN 44                      /* base64 of 32 bytes, padded */

/* ---- checkpoints ---- */

/* Canonical padded base64 of exactly 32 bytes. */
static bool hash_b64_decode(const char *s, size_t n, uint8_t out[RP_HASH_LEN])
{
	uint8_t buf[RP_HASH_LEN + 3];
	size_t len = 0;

	if (n != B64_HASH_LEN || rp_b64_decode(s, n, buf, sizeof(buf), &len) != 0 ||
	    len != RP_HASH_LEN)
		return false;
	memcpy(out, buf, RP_HASH_LEN);
	return true;
}

int rp_checkpoint_parse(const char *text, size_t len, struct rp_checkpoint *ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_checkpoint cp;
	const char *line;
	size_t llen;
	char q[80];
	int k;

	if (len > RP_CHECKPOINT_MAX) {
		rp_diagf(d, "checkpoint: %zu bytes, more than %d", len, RP_CHECKPOINT_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	memset(&cp, 0, sizeof(cp));

	if (rp_cursor_line(&c, &line, &llen) != 1 || llen == 0) {
		rp_diagf(d, "checkpoint: origin line is empty");
		return RP_E_MALFORMED;
	}
	if (llen > RP_ORIGIN_MAX) {
		rp_diagf(d, "checkpoint: origin is %zu bytes, more than %d", llen, RP_ORIGIN_MAX);
		return RP_E_MALFORMED;
	}
	for (size_t i = 0; i < llen; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch < 0x20 || ch > 0x7e) {
			rp_quote(q, sizeof(q), line, llen);
			rp_diagf(d, "checkpoint: origin `%s' is not printable ASCII", q);
			return RP_E_MALFORMED;
		}
	}
	memcpy(cp.origin, line, llen);

	if (rp_cursor_line(&c, &line, &llen) != 1) {
		rp_diagf(d, "checkpoint: missing tree size line");
		return RP_E_MALFORMED;
	}
	if (rp_parse_u64(line, llen, INT64_MAX, &cp.size) != 0) {
		rp_quote(q, sizeof(q), line, llen);
		rp_diagf(d, "checkpoint: tree size `%s' is not a decimal without leading zeros", q);
		return RP_E_MALFORMED;
	}

	if (rp_cursor_line(&c, &line, &llen) != 1) {
		rp_diagf(d, "checkpoint: missing root hash line");
		return RP_E_MALFORMED;
	}
	if (!hash_b64_decode(line, llen, cp.root)) {
		rp_quote(q, sizeof(q), line, llen);
		rp_diagf(d, "checkpoint: root hash `%s' is not canonical base64 of 32 bytes", q);
		return RP_E_MALFORMED;
	}

	while ((k = rp_cursor_line(&c, &line, &llen)) == 1) {
		if (llen == 0) {
			rp_diagf(d, "checkpoint: extension line %zu is empty", cp.next + 1);
			return RP_E_MALFORMED;
		}
		if (cp.next == RP_CHECKPOINT_EXT_MAX) {
			rp_diagf(d, "checkpoint: more than %d extension lines",
				 RP_CHECKPOINT_EXT_MAX);
			return RP_E_TOOBIG;
		}
		cp.next++;
	}
	/* k < 0 cannot happen: the text ends in '\n' (rp_note_text_valid). */
	*ret = cp;
	return 0;
}

char *rp_checkpoint_format(const struct rp_checkpoint *c, size_t *ret_len)
{
	size_t olen = strnlen(c->origin, sizeof(c->origin));
	struct rp_sb sb;
	char *b64;

	/* Never write a text that rp_checkpoint_parse would refuse. */
	if (olen == 0 || olen > RP_ORIGIN_MAX || c->size > INT64_MAX)
		return NULL;
	for (size_t i = 0; i < olen; i++)
		if ((unsigned char)c->origin[i] < 0x20 || (unsigned char)c->origin[i] > 0x7e)
			return NULL;
	b64 = rp_b64_encode(c->root, RP_HASH_LEN);
	if (!b64)
		return NULL;
	rp_sb_init(&sb, RP_CHECKPOINT_MAX);
	rp_sb_printf(&sb, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
	free(b64);
	return rp_sb_take(&sb, ret_len);
}

/* ---- cosignatures (tlog-cosignature v1.0.1, Ed25519) ---- */

/* "cosignature/v1\ntime <t>\n" || text, malloc'd. */
static uint8_t *cosig_message(const char *text, size_t len, uint64_t t, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_NOTE_MAX + 64);
	rp_sb_puts(&sb, cosig_header);
	rp_sb_printf(&sb, "time %llu\n", (unsigned long long)t);
	rp_sb_put(&sb, text, len);
	return (uint8_t *)rp_sb_take(&sb, ret_len);
}

void rp_cosig_vkey(const struct rp_skey *k, struct rp_vkey *ret)
{
	size_t n = strnlen(k->name, sizeof(k->name));

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, k->name, n);
	ret->type = RP_KEY_COSIGNATURE;
	memcpy(ret->pub, k->pub, 32);
	ret->id = rp_key_id(ret->name, n, RP_KEY_COSIGNATURE, ret->pub);
}

char *rp_cosig_sign_line(const char *text, size_t len, const struct rp_skey *k, uint64_t t)
{
	uint8_t raw[4 + COSIG_BYTES];
	struct rp_vkey vk;
	struct rp_sb sb;
	uint8_t *msg;
	size_t mlen;
	char *b64;

	if (t > INT64_MAX)
		return NULL;
	rp_cosig_vkey(k, &vk);
	msg = cosig_message(text, len, t, &mlen);
	if (!msg)
		return NULL;
	raw[0] = (uint8_t)(vk.id >> 24);
	raw[1] = (uint8_t)(vk.id >> 16);
	raw[2] = (uint8_t)(vk.id >> 8);
	raw[3] = (uint8_t)vk.id;
	for (int i = 0; i < 8; i++)
		raw[4 + i] = (uint8_t)(t >> (56 - 8 * i));
	crypto_sign_detached(raw + 12, NULL, msg, mlen, k->sk);
	free(msg);
	b64 = rp_b64_encode(raw, sizeof(raw));
	if (!b64)
		return NULL;
	rp_sb_init(&sb, RP_KEYTEXT_MAX);
	rp_sb_printf(&sb, "%s%s %s\n", em_dash, vk.name, b64);
	free(b64);
	return rp_sb_take(&sb, NULL);
}

int rp_cosig_verify(const struct rp_vkey *k, const char *text, size_t len,
		    const struct rp_note_sig *sig, uint64_t *ret_time, struct rp_diag *d)
{
	uint8_t *msg;
	size_t mlen;
	uint64_t t = 0;
	int r;

	if (k->type != RP_KEY_COSIGNATURE) {
		rp_diagf(d, "key %s+%08x is not a cosignature key (type 0x04)", k->name, k->id);
		return RP_E_INVAL;
	}
	if (sig->id != k->id || strcmp(sig->name, k->name) != 0)
		return RP_E_NOTFOUND;
	if (sig->sig_len != COSIG_BYTES) {
		rp_diagf(d, "cosignature by %s+%08x is %zu bytes, not %d", sig->name, sig->id,
			 sig->sig_len, COSIG_BYTES);
		return RP_E_BADSIG;
	}
	for (int i = 0; i < 8; i++)
		t = t << 8 | sig->sig[i];
	if (t > INT64_MAX) {
		rp_diagf(d, "cosignature by %s+%08x has time %llu, beyond 2^63 - 1", sig->name,
			 sig->id, (unsigned long long)t);
		return RP_E_BADSIG;
	}
	msg = cosig_message(text, len, t, &mlen);
	if (!msg)
		return RP_E_NOMEM;
	r = crypto_sign_verify_detached(sig->sig + 8, msg, mlen, k->pub);
	free(msg);
	if (r != 0) {
		rp_diagf(d, "cosignature by %s+%08x does not verify", sig->name, sig->id);
		return RP_E_BADSIG;
	}
	*ret_time = t;
	return 0;
}

/* ---- tlog-witness add-checkpoint request ---- */

int rp_witness_req_parse(const char *body, size_t len, struct rp_witness_req *ret,
			 struct rp_diag *d)
{
	struct rp_cursor c = {body, len};
	struct rp_witness_req *req;
	const char *line, *w, *v;
	size_t llen, wlen, vlen, lineno = 1;
	char q[80];
	int r, k;

	if (len > RP_WITNESS_REQUEST_MAX) {
		rp_diagf(d, "witness request: %zu bytes, more than %d", len,
			 RP_WITNESS_REQUEST_MAX);
		return RP_E_TOOBIG;
	}
	req = calloc(1, sizeof(*req));
	if (!req)
		return RP_E_NOMEM;

	k = rp_cursor_line(&c, &line, &llen);
	if (k != 1) {
		rp_diagf(d, "witness request: line 1: missing `old <size>' line");
		r = RP_E_MALFORMED;
		goto fail;
	}
	if (!rp_split_word(line, llen, &w, &wlen, &v, &vlen) || !rp_memeq(w, wlen, "old")) {
		rp_quote(q, sizeof(q), line, llen);
		rp_diagf(d, "witness request: line 1: expected `old <size>', found `%s'", q);
		r = RP_E_MALFORMED;
		goto fail;
	}
	if (rp_parse_u64(v, vlen, INT64_MAX, &req->old_size) != 0) {
		rp_quote(q, sizeof(q), v, vlen);
		rp_diagf(d,
			 "witness request: line 1: old size `%s' is not a decimal without "
			 "leading zeros",
			 q);
		r = RP_E_MALFORMED;
		goto fail;
	}
	for (;;) {
		lineno++;
		k = rp_cursor_line(&c, &line, &llen);
		if (k == 0) {
			rp_diagf(d, "witness request: no empty line after the proof");
			r = RP_E_MALFORMED;
			goto fail;
		}
		if (k < 0) {
			rp_diagf(d, "witness request: line %zu does not end in a newline", lineno);
			r = RP_E_MALFORMED;
			goto fail;
		}
		if (llen == 0)
			break;
		if (req->nproof == RP_PROOF_HASHES_MAX) {
			rp_diagf(d, "witness request: line %zu: more than %d proof lines", lineno,
				 RP_PROOF_HASHES_MAX);
			r = RP_E_TOOBIG;
			goto fail;
		}
		if (!hash_b64_decode(line, llen, req->proof[req->nproof])) {
			rp_quote(q, sizeof(q), line, llen);
			rp_diagf(d,
				 "witness request: line %zu: proof line `%s' is not canonical "
				 "base64 of 32 bytes",
				 lineno, q);
			r = RP_E_MALFORMED;
			goto fail;
		}
		req->nproof++;
	}
	if (c.n > RP_CHECKPOINT_MAX) {
		rp_diagf(d, "witness request: checkpoint is %zu bytes, more than %d", c.n,
			 RP_CHECKPOINT_MAX);
		r = RP_E_TOOBIG;
		goto fail;
	}
	if (c.n == 0) {
		rp_diagf(d, "witness request: no checkpoint after the empty line");
		r = RP_E_MALFORMED;
		goto fail;
	}
	r = rp_note_parse(c.p, c.n, &req->note, d);
	if (r < 0)
		goto fail;
	r = rp_checkpoint_parse(req->note->msg, req->note->text_len, &req->cp, d);
	if (r < 0)
		goto fail;
	*ret = *req;
	free(req);
	return 0;
fail:
	rp_note_free(req->note);
	free(req);
	return r;
}

void rp_witness_req_release(struct rp_witness_req *r)
{
	if (!r)
		return;
	rp_note_free(r->note);
	r->note = NULL;
}

char *rp_witness_req_format(uint64_t old_size, const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
			    const char *note, size_t note_len, size_t *ret_len)
{
	struct rp_sb sb;

	if (nproof > RP_PROOF_HASHES_MAX)
		return NULL;
	rp_sb_init(&sb, RP_WITNESS_REQUEST_MAX);
	rp_sb_printf(&sb, "old %llu\n", (unsigned long long)old_size);
	for (size_t i = 0; i < nproof; i++) {
		char *b64 = rp_b64_encode(proof[i], RP_HASH_LEN);
		if (!b64) {
			rp_sb_release(&sb);
			return NULL;
		}
		rp_sb_puts(&sb, b64);
		rp_sb_put(&sb, "\n", 1);
		free(b64);
	}
	rp_sb_put(&sb, "\n", 1);
	rp_sb_put(&sb, note, note_len);
	return rp_sb_take(&sb, ret_len);
}

/* ---- tlog-policy lines ---- */

/* Longest line: group <name> <k> and one member per witness and group. */
#define WP_WORDS_MAX (3 + RP_POLICY_WITNESSES_MAX + RP_WITNESS_GROUPS_MAX + 1)

struct word {
	const char *p;
	size_t n;
};

/* Splits at single spaces; false on an empty field or too many words. */
static int split_words(const char *line, size_t len, struct word *w, size_t *ret_n,
		       struct rp_diag *d)
{
	size_t n = 0, start = 0;
	char q[80];

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start) {
			rp_quote(q, sizeof(q), line, len);
			rp_diagf(d,
				 "policy: line `%s' has an empty field (fields are separated "
				 "by one space)",
				 q);
			return RP_E_MALFORMED;
		}
		if (n == WP_WORDS_MAX) {
			rp_quote(q, sizeof(q), line, len);
			rp_diagf(d, "policy: line `%s' has too many fields", q);
			return RP_E_TOOBIG;
		}
		w[n].p = line + start;
		w[n].n = i - start;
		n++;
		start = i + 1;
	}
	*ret_n = n;
	return 0;
}

/* A member code (as in rp_wgroup.members) for name, or -1. */
static int wp_lookup(const struct rp_wpolicy *wp, const struct word *w)
{
	for (size_t i = 0; i < wp->nwitnesses; i++)
		if (rp_memeq(w->p, w->n, wp->witnesses[i].name))
			return (int)i;
	for (size_t i = 0; i < wp->ngroups; i++)
		if (rp_memeq(w->p, w->n, wp->groups[i].name))
			return RP_POLICY_WITNESSES_MAX + (int)i;
	return -1;
}

/* A new witness or group name: valid, not `none', not defined yet. */
static int wp_new_name(const struct rp_wpolicy *wp, const struct word *w, struct rp_diag *d)
{
	char q[80];

	rp_quote(q, sizeof(q), w->p, w->n);
	if (!rp_key_name_valid(w->p, w->n)) {
		rp_diagf(d, "policy: `%s' is not a valid name", q);
		return RP_E_MALFORMED;
	}
	if (rp_memeq(w->p, w->n, "none")) {
		rp_diagf(d, "policy: the name `none' is reserved");
		return RP_E_MALFORMED;
	}
	if (wp_lookup(wp, w) >= 0) {
		rp_diagf(d, "policy: name `%s' is defined twice", q);
		return RP_E_MALFORMED;
	}
	return 0;
}

static int wp_url(const struct word *w, char out[RP_URL_MAX + 1], struct rp_diag *d)
{
	char q[80];

	if (w->n > RP_URL_MAX) {
		rp_diagf(d, "policy: URL is %zu bytes, more than %d", w->n, RP_URL_MAX);
		return RP_E_MALFORMED;
	}
	for (size_t i = 0; i < w->n; i++) {
		unsigned char ch = (unsigned char)w->p[i];
		if (ch <= 0x20 || ch >= 0x7f) {
			rp_quote(q, sizeof(q), w->p, w->n);
			rp_diagf(d, "policy: URL `%s' is not printable ASCII", q);
			return RP_E_MALFORMED;
		}
	}
	memset(out, 0, RP_URL_MAX + 1);
	memcpy(out, w->p, w->n);
	return 0;
}

static int wp_vkey(const struct word *w, uint8_t type, const char *what, struct rp_vkey *ret,
		   struct rp_diag *d)
{
	struct rp_diag kd = {""};
	char q[80];

	if (rp_vkey_parse(w->p, w->n, ret, &kd) < 0) {
		rp_diagf(d, "policy: %s key: %s", what, kd.msg);
		return RP_E_MALFORMED;
	}
	if (ret->type != type) {
		rp_quote(q, sizeof(q), w->p, w->n);
		rp_diagf(d, "policy: %s key `%s' has type 0x%02x, not 0x%02x", what, q, ret->type,
			 type);
		return RP_E_MALFORMED;
	}
	return 0;
}

static int wp_log(struct rp_wpolicy *wp, const struct word *w, size_t n, struct rp_diag *d)
{
	struct rp_vkey key;
	char url[RP_URL_MAX + 1] = "";
	int r;

	if (n < 2 || n > 3) {
		rp_diagf(d, "policy: expected `log <vkey> [<url>]'");
		return RP_E_MALFORMED;
	}
	if (wp->have_log) {
		rp_diagf(d, "policy: more than one log line");
		return RP_E_MALFORMED;
	}
	if ((r = wp_vkey(&w[1], RP_KEY_ED25519, "log", &key, d)) < 0)
		return r;
	for (size_t i = 0; i < wp->nwitnesses; i++) {
		if (memcmp(wp->witnesses[i].key.pub, key.pub, 32) == 0) {
			rp_diagf(d, "policy: the log key is also the key of witness %s",
				 wp->witnesses[i].name);
			return RP_E_MALFORMED;
		}
	}
	if (n == 3 && (r = wp_url(&w[2], url, d)) < 0)
		return r;
	wp->have_log = true;
	wp->log = key;
	memcpy(wp->log_url, url, sizeof(url));
	return 0;
}

static int wp_witness(struct rp_wpolicy *wp, const struct word *w, size_t n, struct rp_diag *d)
{
	struct rp_witness wi;
	int r;

	if (n < 3 || n > 4) {
		rp_diagf(d, "policy: expected `witness <name> <vkey> [<url>]'");
		return RP_E_MALFORMED;
	}
	if (wp->nwitnesses == RP_POLICY_WITNESSES_MAX) {
		rp_diagf(d, "policy: more than %d witnesses", RP_POLICY_WITNESSES_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = wp_new_name(wp, &w[1], d)) < 0)
		return r;
	memset(&wi, 0, sizeof(wi));
	memcpy(wi.name, w[1].p, w[1].n);
	if ((r = wp_vkey(&w[2], RP_KEY_COSIGNATURE, "witness", &wi.key, d)) < 0)
		return r;
	for (size_t i = 0; i < wp->nwitnesses; i++) {
		if (memcmp(wp->witnesses[i].key.pub, wi.key.pub, 32) == 0) {
			rp_diagf(d, "policy: witness %s has the same key as witness %s", wi.name,
				 wp->witnesses[i].name);
			return RP_E_MALFORMED;
		}
	}
	if (wp->have_log && memcmp(wp->log.pub, wi.key.pub, 32) == 0) {
		rp_diagf(d, "policy: witness %s has the log's key", wi.name);
		return RP_E_MALFORMED;
	}
	if (n == 4 && (r = wp_url(&w[3], wi.url, d)) < 0)
		return r;
	wp->witnesses[wp->nwitnesses++] = wi;
	return 0;
}

static int wp_group(struct rp_wpolicy *wp, const struct word *w, size_t n, struct rp_diag *d)
{
	struct rp_wgroup g;
	uint64_t k = 0;
	char q[80];
	int r;

	if (n < 4) {
		rp_diagf(d, "policy: expected `group <name> all|any|<k> <name>...'");
		return RP_E_MALFORMED;
	}
	if (wp->ngroups == RP_WITNESS_GROUPS_MAX) {
		rp_diagf(d, "policy: more than %d groups", RP_WITNESS_GROUPS_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = wp_new_name(wp, &w[1], d)) < 0)
		return r;
	memset(&g, 0, sizeof(g));
	memcpy(g.name, w[1].p, w[1].n);
	for (size_t i = 3; i < n; i++) {
		int m;

		rp_quote(q, sizeof(q), w[i].p, w[i].n);
		if (rp_memeq(w[i].p, w[i].n, "none")) {
			rp_diagf(d, "policy: group %s: `none' cannot be a group member", g.name);
			return RP_E_MALFORMED;
		}
		m = wp_lookup(wp, &w[i]);
		if (m < 0) {
			rp_diagf(d,
				 "policy: group %s: member `%s' is not defined on an earlier line",
				 g.name, q);
			return RP_E_MALFORMED;
		}
		for (size_t j = 0; j < g.nmembers; j++) {
			if (g.members[j] == m) {
				rp_diagf(d, "policy: group %s lists `%s' twice", g.name, q);
				return RP_E_MALFORMED;
			}
		}
		/* Members are distinct and defined, so they fit: no bound check needed. */
		g.members[g.nmembers++] = (uint16_t)m;
	}
	if (rp_memeq(w[2].p, w[2].n, "all")) {
		k = g.nmembers;
	} else if (rp_memeq(w[2].p, w[2].n, "any")) {
		k = 1;
	} else if (rp_parse_u64(w[2].p, w[2].n, UINT32_MAX, &k) != 0 || k < 1 || k > g.nmembers) {
		rp_quote(q, sizeof(q), w[2].p, w[2].n);
		rp_diagf(d,
			 "policy: group %s: threshold `%s' is not all, any or an integer from "
			 "1 to %zu",
			 g.name, q, g.nmembers);
		return RP_E_MALFORMED;
	}
	g.threshold = (uint32_t)k;
	wp->groups[wp->ngroups++] = g;
	return 0;
}

static int wp_quorum(struct rp_wpolicy *wp, const struct word *w, size_t n, struct rp_diag *d)
{
	char q[80];
	int m;

	if (n != 2) {
		rp_diagf(d, "policy: expected `quorum <name>|none'");
		return RP_E_MALFORMED;
	}
	if (rp_memeq(w[1].p, w[1].n, "none")) {
		m = -1;
	} else if ((m = wp_lookup(wp, &w[1])) < 0) {
		rp_quote(q, sizeof(q), w[1].p, w[1].n);
		rp_diagf(d, "policy: quorum `%s' is not defined on an earlier line", q);
		return RP_E_MALFORMED;
	}
	wp->have_quorum = true;
	wp->quorum = m;
	return 0;
}

int rp_wpolicy_line(struct rp_wpolicy *wp, const char *line, size_t len, struct rp_diag *d)
{
	struct word w[WP_WORDS_MAX];
	size_t n;
	char q[80];
	int r;

	if ((r = split_words(line, len, w, &n, d)) < 0)
		return r;
	if (wp->have_quorum) {
		rp_quote(q, sizeof(q), line, len);
		rp_diagf(d, "policy: line `%s' after the quorum line", q);
		return RP_E_MALFORMED;
	}
	if (rp_memeq(w[0].p, w[0].n, "log"))
		return wp_log(wp, w, n, d);
	if (rp_memeq(w[0].p, w[0].n, "witness"))
		return wp_witness(wp, w, n, d);
	if (rp_memeq(w[0].p, w[0].n, "group"))
		return wp_group(wp, w, n, d);
	if (rp_memeq(w[0].p, w[0].n, "quorum"))
		return wp_quorum(wp, w, n, d);
	rp_quote(q, sizeof(q), w[0].p, w[0].n);
	rp_diagf(d, "policy: `%s' is not log, witness, group or quorum", q);
	return RP_E_MALFORMED;
}

int rp_wpolicy_finish(const struct rp_wpolicy *wp, struct rp_diag *d)
{
	if (!wp->have_log) {
		rp_diagf(d, "policy: missing log line");
		return RP_E_MALFORMED;
	}
	if (!wp->have_quorum) {
		rp_diagf(d, "policy: missing quorum line");
		return RP_E_MALFORMED;
	}
	return 0;
}

static const char *wp_member_name(const struct rp_wpolicy *wp, int m)
{
	if (m < RP_POLICY_WITNESSES_MAX)
		return wp->witnesses[m].name;
	return wp->groups[m - RP_POLICY_WITNESSES_MAX].name;
}

/*
 * Canonical form: log, witnesses, groups, quorum; a threshold equal to the
 * member count is `all', 1 is `any', anything else a number.
 */
void rp_wpolicy_format(const struct rp_wpolicy *wp, struct rp_sb *sb)
{
	char *k;

	if (wp->have_log) {
		k = rp_vkey_format(&wp->log);
		if (!k) {
			sb->err = sb->err ? sb->err : RP_E_NOMEM;
			return;
		}
		rp_sb_printf(sb, "log %s%s%s\n", k, wp->log_url[0] ? " " : "", wp->log_url);
		free(k);
	}
	for (size_t i = 0; i < wp->nwitnesses; i++) {
		const struct rp_witness *w = &wp->witnesses[i];
		k = rp_vkey_format(&w->key);
		if (!k) {
			sb->err = sb->err ? sb->err : RP_E_NOMEM;
			return;
		}
		rp_sb_printf(sb, "witness %s %s%s%s\n", w->name, k, w->url[0] ? " " : "", w->url);
		free(k);
	}
	for (size_t i = 0; i < wp->ngroups; i++) {
		const struct rp_wgroup *g = &wp->groups[i];
		rp_sb_printf(sb, "group %s ", g->name);
		if (g->threshold == g->nmembers)
			rp_sb_puts(sb, "all");
		else if (g->threshold == 1)
			rp_sb_puts(sb, "any");
		else
			rp_sb_printf(sb, "%u", g->threshold);
		for (size_t j = 0; j < g->nmembers; j++)
			rp_sb_printf(sb, " %s", wp_member_name(wp, g->members[j]));
		rp_sb_put(sb, "\n", 1);
	}
	if (wp->have_quorum)
		rp_sb_printf(sb, "quorum %s\n",
			     wp->quorum < 0 ? "none" : wp_member_name(wp, wp->quorum));
}

/* ---- verification ---- */

/* Whether the quorum is met when the witnesses in have[] cosigned. */
static bool wp_quorum_met(const struct rp_wpolicy *wp, const bool have[RP_POLICY_WITNESSES_MAX])
{
	bool gmet[RP_WITNESS_GROUPS_MAX];

	if (wp->quorum < 0)
		return true;
	/* Groups only name earlier groups, so one pass in order settles them all. */
	for (size_t i = 0; i < wp->ngroups; i++) {
		const struct rp_wgroup *g = &wp->groups[i];
		uint32_t count = 0;

		for (size_t j = 0; j < g->nmembers; j++) {
			unsigned m = g->members[j];
			if (m < RP_POLICY_WITNESSES_MAX ? have[m]
							: gmet[m - RP_POLICY_WITNESSES_MAX])
				count++;
		}
		gmet[i] = count >= g->threshold;
	}
	return wp->quorum < RP_POLICY_WITNESSES_MAX ? have[wp->quorum]
						    : gmet[wp->quorum - RP_POLICY_WITNESSES_MAX];
}

int rp_checkpoint_verify(const struct rp_wpolicy *wp, const char *note, size_t len, int64_t now,
			 int64_t freshness, int64_t skew, struct rp_checkpoint *ret_cp,
			 int64_t *ret_newest, struct rp_diag *d)
{
	bool fresh[RP_POLICY_WITNESSES_MAX] = {false}, any[RP_POLICY_WITNESSES_MAX] = {false};
	bool future[RP_POLICY_WITNESSES_MAX] = {false};
	struct rp_note *n = NULL;
	struct rp_checkpoint cp;
	int64_t lo, hi, newest = 0, ahead = 0;
	bool ok;
	int r;

	if (!wp->have_log || !wp->have_quorum || freshness < 0 || skew < 0) {
		rp_diagf(d, "checkpoint: incomplete witness policy or negative time window");
		return RP_E_INVAL;
	}
	if (len > RP_CHECKPOINT_MAX) {
		rp_diagf(d, "checkpoint: %zu bytes with its signatures, more than %d", len,
			 RP_CHECKPOINT_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_note_parse(note, len, &n, d)) < 0)
		return r;
	if ((r = rp_checkpoint_parse(n->msg, n->text_len, &cp, d)) < 0)
		goto out;
	if (strcmp(cp.origin, wp->log.name) != 0) {
		char q[80];
		rp_quote(q, sizeof(q), cp.origin, strlen(cp.origin));
		rp_diagf(d, "checkpoint: origin `%s' is not the log %s", q, wp->log.name);
		r = RP_E_NOSIG;
		goto out;
	}
	if ((r = rp_note_verify(n, &wp->log, 1, &ok, d)) < 0)
		goto out;

	if (__builtin_sub_overflow(now, freshness, &lo) || freshness == 0)
		lo = INT64_MIN;
	if (__builtin_add_overflow(now, skew, &hi))
		hi = INT64_MAX;
	for (size_t i = 0; i < n->nsigs; i++) {
		for (size_t j = 0; j < wp->nwitnesses; j++) {
			uint64_t t;
			r = rp_cosig_verify(&wp->witnesses[j].key, n->msg, n->text_len, &n->sigs[i],
					    &t, d);
			if (r == RP_E_NOTFOUND)
				continue;
			if (r < 0)
				goto out;
			/* t <= INT64_MAX (rp_cosig_verify). */
			future[j] = true;      /* any time at all: only for the diagnostic */
			if ((int64_t)t > hi) { /* from the future: not counted */
				if ((int64_t)t - now > ahead)
					ahead = (int64_t)t - now;
				break;
			}
			any[j] = true;
			if ((int64_t)t >= lo) {
				fresh[j] = true;
				if ((int64_t)t > newest)
					newest = (int64_t)t;
			}
			break;
		}
	}
	if (!wp_quorum_met(wp, fresh)) {
		if (wp_quorum_met(wp, any)) {
			rp_diagf(d,
				 "checkpoint: the witness quorum is met only by cosignatures "
				 "older than %lld s",
				 (long long)freshness);
			r = RP_E_STALE;
		} else if (ahead > 0 && wp_quorum_met(wp, future)) {
			rp_diagf(d,
				 "checkpoint: the witness quorum is met only by cosignatures dated "
				 "up to %lld s ahead of this clock (more than the %lld s of skew "
				 "allowed): is this machine's clock right?",
				 (long long)ahead, (long long)skew);
			r = RP_E_WITNESS;
		} else {
			rp_diagf(d, "checkpoint: witness cosignatures do not reach the quorum %s",
				 wp_member_name(wp, wp->quorum));
			r = RP_E_WITNESS;
		}
		goto out;
	}
	if (ret_cp)
		*ret_cp = cp;
	if (ret_newest)
		*ret_newest = newest;
	r = 0;
out:
	rp_note_free(n);
	return r;
}
