/* SPDX-License-Identifier: Apache-2.0 */
#include "note.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "signer.h"
#include "text.h"

static const char em_dash[] = "\xe2\x80\x94 "; /* U+2014 and a space */

bool rp_key_name_valid(const char *name, size_t n)
{
	/*
	 * Go allows any non-space UTF-8 without '+'. Rampart is stricter:
	 * printable ASCII, so names cannot hide look-alike characters.
	 */
	if (n == 0 || n > RP_NOTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || c == '+')
			return false;
	}
	return true;
}

uint32_t rp_key_id(const char *name, size_t namelen, uint8_t type, const uint8_t pub[32])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], nl = '\n';

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, namelen);
	crypto_hash_sha256_update(&st, &nl, 1);
	crypto_hash_sha256_update(&st, &type, 1);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* Splits "name+hexid+b64" into its three parts and checks the first two. */
static int key_fields(const char *s, size_t n, const char **name, size_t *nlen, uint32_t *id,
		      const char **b64, size_t *blen, struct rp_diag *d)
{
	const char *p1 = memchr(s, '+', n), *p2;
	uint8_t idb[4];
	char q[64];

	if (!p1) {
		rp_quote(q, sizeof(q), s, n);
		rp_diagf(d, "key text `%s' is not name+id+key", q);
		return RP_E_KEY;
	}
	p2 = memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s));
	if (!p2) {
		rp_quote(q, sizeof(q), s, n);
		rp_diagf(d, "key text `%s' is not name+id+key", q);
		return RP_E_KEY;
	}
	*name = s;
	*nlen = (size_t)(p1 - s);
	if (!rp_key_name_valid(*name, *nlen)) {
		rp_quote(q, sizeof(q), s, *nlen);
		rp_diagf(d, "key name `%s' is not a valid name", q);
		return RP_E_KEY;
	}
	if (rp_hex_decode(p1 + 1, (size_t)(p2 - p1 - 1), idb, 4) != 0) {
		rp_quote(q, sizeof(q), p1 + 1, (size_t)(p2 - p1 - 1));
		rp_diagf(d, "key id `%s' is not 8 lowercase hex digits", q);
		return RP_E_KEY;
	}
	*id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	*b64 = p2 + 1;
	*blen = n - (size_t)(p2 + 1 - s);
	return 0;
}

bool rp_vkey_equal(const struct rp_vkey *a, const struct rp_vkey *b)
{
	return !strcmp(a->name, b->name) && a->id == b->id && a->type == b->type &&
	       !memcmp(a->pub, b->pub, sizeof(a->pub));
}

int rp_vkey_parse(const char *s, size_t n, struct rp_vkey *ret, struct rp_diag *d)
{
	const char *name, *b64;
	size_t nlen, blen, klen;
	uint8_t raw[33];
	uint32_t id;
	int r;

	if (n > RP_KEYTEXT_MAX) {
		rp_diagf(d, "verifier key is %zu bytes, more than %d", n, RP_KEYTEXT_MAX);
		return RP_E_TOOBIG;
	}
	r = key_fields(s, n, &name, &nlen, &id, &b64, &blen, d);
	if (r < 0)
		return r;
	if (rp_b64_decode(b64, blen, raw, sizeof(raw), &klen) != 0 || klen != 33) {
		rp_diagf(d, "verifier key of `%.*s' is not base64 of 33 bytes", (int)nlen, name);
		return RP_E_KEY;
	}
	if (raw[0] != RP_KEY_ED25519 && raw[0] != RP_KEY_COSIGNATURE) {
		rp_diagf(d, "verifier key of `%.*s' has unsupported type 0x%02x", (int)nlen, name,
			 raw[0]);
		return RP_E_KEY;
	}
	if (rp_key_id(name, nlen, raw[0], raw + 1) != id) {
		rp_diagf(d, "verifier key of `%.*s': key id does not match the key", (int)nlen,
			 name);
		return RP_E_KEY;
	}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, name, nlen);
	ret->id = id;
	ret->type = raw[0];
	memcpy(ret->pub, raw + 1, 32);
	return 0;
}

char *rp_vkey_format(const struct rp_vkey *k)
{
	uint8_t raw[33];
	struct rp_sb sb;
	char *b64;

	raw[0] = k->type;
	memcpy(raw + 1, k->pub, 32);
	b64 = rp_b64_encode(raw, sizeof(raw));
	if (!b64)
		return NULL;
	rp_sb_init(&sb, RP_KEYTEXT_MAX);
	rp_sb_printf(&sb, "%s+%08x+%s", k->name, k->id, b64);
	free(b64);
	return rp_sb_take(&sb, NULL);
}

static const char skey_prefix[] = "PRIVATE+KEY+";

int rp_skey_parse(const char *s, size_t n, struct rp_skey *ret, struct rp_diag *d)
{
	const char *name, *b64;
	size_t nlen, blen, klen = 0;
	uint8_t raw[33];
	uint32_t id;
	struct rp_skey k;
	int r;

	/* Tolerate one trailing newline, as key files usually have one. */
	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > RP_KEYTEXT_MAX || n < sizeof(skey_prefix) - 1 ||
	    memcmp(s, skey_prefix, sizeof(skey_prefix) - 1) != 0) {
		rp_diagf(d, "signer key does not start with %s", skey_prefix);
		return RP_E_KEY;
	}
	s += sizeof(skey_prefix) - 1;
	n -= sizeof(skey_prefix) - 1;
	r = key_fields(s, n, &name, &nlen, &id, &b64, &blen, d);
	if (r < 0)
		return r;
	r = rp_b64_decode(b64, blen, raw, sizeof(raw), &klen);
	if (r != 0 || klen != 33 || raw[0] != RP_KEY_ED25519) {
		sodium_memzero(raw, sizeof(raw));
		rp_diagf(d, "signer key of `%.*s' is not an Ed25519 key", (int)nlen, name);
		return RP_E_KEY;
	}
	memset(&k, 0, sizeof(k));
	memcpy(k.name, name, nlen);
	memcpy(k.seed, raw + 1, 32);
	sodium_memzero(raw, sizeof(raw));
	crypto_sign_seed_keypair(k.pub, k.sk, k.seed);
	k.id = rp_key_id(k.name, nlen, RP_KEY_ED25519, k.pub);
	if (k.id != id) {
		rp_skey_wipe(&k);
		rp_diagf(d, "signer key of `%.*s': key id does not match the key", (int)nlen, name);
		return RP_E_KEY;
	}
	*ret = k;
	rp_skey_wipe(&k);
	return 0;
}

char *rp_skey_format(const struct rp_skey *k)
{
	uint8_t raw[33];
	struct rp_sb sb;
	char *b64, *out;

	raw[0] = RP_KEY_ED25519;
	memcpy(raw + 1, k->seed, 32);
	b64 = rp_b64_encode(raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	if (!b64)
		return NULL;
	rp_sb_init(&sb, RP_KEYTEXT_MAX);
	rp_sb_printf(&sb, "%s%s+%08x+%s", skey_prefix, k->name, k->id, b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	if (sb.err) {
		if (sb.s)
			sodium_memzero(sb.s, sb.cap);
		rp_sb_release(&sb);
		return NULL;
	}
	out = rp_sb_take(&sb, NULL);
	return out;
}

int rp_skey_generate(const char *name, struct rp_skey *ret)
{
	struct rp_skey k;
	size_t n = strlen(name);

	if (!rp_key_name_valid(name, n))
		return RP_E_INVAL;
	memset(&k, 0, sizeof(k));
	memcpy(k.name, name, n);
	randombytes_buf(k.seed, sizeof(k.seed));
	crypto_sign_seed_keypair(k.pub, k.sk, k.seed);
	k.id = rp_key_id(k.name, n, RP_KEY_ED25519, k.pub);
	*ret = k;
	rp_skey_wipe(&k);
	return 0;
}

void rp_skey_vkey(const struct rp_skey *sk, struct rp_vkey *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, sk->name, sizeof(ret->name));
	ret->id = sk->id;
	ret->type = RP_KEY_ED25519;
	memcpy(ret->pub, sk->pub, 32);
}

void rp_skey_wipe(struct rp_skey *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* UTF-8, no control characters but '\n', no C1 controls, no DEL. */
bool rp_note_text_valid(const char *text, size_t len, struct rp_diag *d)
{
	const unsigned char *p = (const unsigned char *)text;

	if (len == 0 || text[len - 1] != '\n') {
		rp_diagf(d, "note text must be non-empty and end in a newline");
		return false;
	}
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t k;
		unsigned cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n') || c == 0x7f) {
				rp_diagf(d, "note text has control character 0x%02x at byte %zu", c,
					 i);
				return false;
			}
			i++;
			continue;
		}
		if ((k = rp_utf8_decode(p + i, len - i, &cp)) == 0) {
			rp_diagf(d, "note text is not valid UTF-8 at byte %zu", i);
			return false;
		}
		if (cp >= 0x80 && cp <= 0x9f) {
			rp_diagf(d, "note text has control character U+%04X at byte %zu", cp, i);
			return false;
		}
		i += k;
	}
	return true;
}

int rp_note_parse(const char *msg, size_t n, struct rp_note **ret, struct rp_diag *d)
{
	struct rp_note *note = NULL;
	const char *split = NULL;
	struct rp_cursor c;
	const char *line;
	size_t len;
	int r, k;

	if (n > RP_NOTE_MAX) {
		rp_diagf(d, "note is %zu bytes, more than %d", n, RP_NOTE_MAX);
		return RP_E_TOOBIG;
	}
	/* The signatures follow the last blank line. */
	for (size_t i = n; i >= 2; i--) {
		if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
			split = msg + i - 2;
			break;
		}
	}
	if (!split) {
		rp_diagf(d, "note has no blank line before its signatures");
		return RP_E_MALFORMED;
	}
	note = calloc(1, sizeof(*note));
	if (!note)
		return RP_E_NOMEM;
	note->msg = malloc(n + 1);
	if (!note->msg) {
		r = RP_E_NOMEM;
		goto fail;
	}
	memcpy(note->msg, msg, n);
	note->msg[n] = '\0';
	note->msg_len = n;
	note->text_len = (size_t)(split - msg) + 1;
	if (!rp_note_text_valid(note->msg, note->text_len, d)) {
		r = RP_E_MALFORMED;
		goto fail;
	}
	c.p = note->msg + note->text_len + 1;
	c.n = n - note->text_len - 1;
	if (c.n == 0) {
		rp_diagf(d, "note has no signature lines");
		r = RP_E_MALFORMED;
		goto fail;
	}
	while ((k = rp_cursor_line(&c, &line, &len)) == 1) {
		struct rp_note_sig *s;
		const char *name, *b64;
		size_t nlen, blen, slen;
		uint8_t raw[4 + RP_NOTE_SIG_BYTES_MAX];
		char q[80];

		if (note->nsigs == RP_NOTE_SIGS_MAX) {
			rp_diagf(d, "note has more than %d signature lines", RP_NOTE_SIGS_MAX);
			r = RP_E_TOOBIG;
			goto fail;
		}
		if (len < sizeof(em_dash) - 1 || memcmp(line, em_dash, sizeof(em_dash) - 1) != 0) {
			rp_quote(q, sizeof(q), line, len);
			rp_diagf(d, "signature line `%s' does not start with U+2014", q);
			r = RP_E_MALFORMED;
			goto fail;
		}
		if (!rp_split_word(line + 4, len - 4, &name, &nlen, &b64, &blen) ||
		    !rp_key_name_valid(name, nlen) || blen == 0 ||
		    rp_b64_decode(b64, blen, raw, sizeof(raw), &slen) != 0 || slen < 5) {
			rp_quote(q, sizeof(q), line, len);
			rp_diagf(d, "signature line `%s' is malformed", q);
			r = RP_E_MALFORMED;
			goto fail;
		}
		s = &note->sigs[note->nsigs++];
		memcpy(s->name, name, nlen);
		s->name[nlen] = '\0';
		s->id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
			raw[3];
		s->sig_len = slen - 4;
		memcpy(s->sig, raw + 4, s->sig_len);
		s->line = line;
		s->line_len = len + 1;
	}
	if (k < 0) {
		rp_diagf(d, "last signature line does not end in a newline");
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = note;
	return 0;
fail:
	rp_note_free(note);
	return r;
}

void rp_note_free(struct rp_note *note)
{
	if (!note)
		return;
	free(note->msg);
	free(note);
}

bool rp_note_sig_names(const struct rp_note_sig *s, const struct rp_vkey *k)
{
	return k->type == RP_KEY_ED25519 && k->id == s->id && strcmp(k->name, s->name) == 0;
}

bool rp_note_sig_valid(const struct rp_note *note, size_t i, const struct rp_vkey *k)
{
	const struct rp_note_sig *s;

	if (i >= note->nsigs)
		return false;
	s = &note->sigs[i];
	return rp_note_sig_names(s, k) && s->sig_len == crypto_sign_BYTES &&
	       crypto_sign_verify_detached(s->sig, (const uint8_t *)note->msg, note->text_len,
					   k->pub) == 0;
}

int rp_note_verify(const struct rp_note *note, const struct rp_vkey *keys, size_t nkeys,
		   bool *ret_ok, struct rp_diag *d)
{
	bool seen[RP_NOTE_SIGS_MAX] = {false};
	bool any = false;

	for (size_t i = 0; i < nkeys; i++)
		ret_ok[i] = false;
	for (size_t i = 0; i < note->nsigs; i++) {
		const struct rp_note_sig *s = &note->sigs[i];
		for (size_t j = 0; j < nkeys; j++) {
			const struct rp_vkey *k = &keys[j];
			if (!rp_note_sig_names(s, k))
				continue;
			if (j < RP_NOTE_SIGS_MAX && seen[j])
				break; /* a key counts once */
			if (!rp_note_sig_valid(note, i, k)) {
				rp_diagf(d, "signature by %s+%08x does not verify", s->name, s->id);
				return RP_E_BADSIG;
			}
			if (j < RP_NOTE_SIGS_MAX)
				seen[j] = true;
			ret_ok[j] = true;
			any = true;
			break;
		}
	}
	if (!any) {
		rp_diagf(d, "no signature by a known key");
		return RP_E_NOSIG;
	}
	return 0;
}

/* "— name base64(keyid || sig)\n", malloc'd. */
static char *sig_line(const char *name, uint32_t id, const uint8_t sig[crypto_sign_BYTES])
{
	uint8_t raw[4 + crypto_sign_BYTES];
	struct rp_sb sb;
	char *b64;

	raw[0] = (uint8_t)(id >> 24);
	raw[1] = (uint8_t)(id >> 16);
	raw[2] = (uint8_t)(id >> 8);
	raw[3] = (uint8_t)id;
	memcpy(raw + 4, sig, crypto_sign_BYTES);
	b64 = rp_b64_encode(raw, sizeof(raw));
	if (!b64)
		return NULL;
	rp_sb_init(&sb, RP_KEYTEXT_MAX);
	rp_sb_printf(&sb, "%s%s %s\n", em_dash, name, b64);
	free(b64);
	return rp_sb_take(&sb, NULL);
}

char *rp_note_sign_line(const char *text, size_t len, const struct rp_skey *k)
{
	uint8_t sig[crypto_sign_BYTES];

	crypto_sign_detached(sig, NULL, (const uint8_t *)text, len, k->sk);
	return sig_line(k->name, k->id, sig);
}

/* The note: text, existing's lines (but one identical to line), then line. */
static int note_with_line(const char *text, size_t len, const struct rp_note *existing,
			  const char *line, char **ret, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_NOTE_MAX);
	rp_sb_put(&sb, text, len);
	rp_sb_put(&sb, "\n", 1);
	if (existing) {
		for (size_t i = 0; i < existing->nsigs; i++) {
			const struct rp_note_sig *s = &existing->sigs[i];
			if (s->line_len == strlen(line) && memcmp(s->line, line, s->line_len) == 0)
				continue;
			rp_sb_put(&sb, s->line, s->line_len);
		}
	}
	rp_sb_puts(&sb, line);
	if (sb.err) {
		int r = sb.err;
		rp_sb_release(&sb);
		return r;
	}
	*ret = rp_sb_take(&sb, ret_len);
	return 0;
}

int rp_note_sign(const char *text, size_t len, const struct rp_note *existing,
		 const struct rp_skey *k, char **ret, size_t *ret_len)
{
	char *line;
	int r;

	if (!rp_note_text_valid(text, len, NULL))
		return RP_E_MALFORMED;
	if (existing && (existing->text_len != len || memcmp(existing->msg, text, len) != 0))
		return RP_E_INVAL;
	line = rp_note_sign_line(text, len, k);
	if (!line)
		return RP_E_NOMEM;
	r = note_with_line(text, len, existing, line, ret, ret_len);
	free(line);
	return r;
}

int rp_note_sign_by(const char *text, size_t len, const struct rp_note *existing,
		    const struct rp_signer *s, char **ret, size_t *ret_len, struct rp_diag *d)
{
	uint8_t sig[crypto_sign_BYTES];
	char *line;
	int r;

	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (existing && (existing->text_len != len || memcmp(existing->msg, text, len) != 0)) {
		rp_diagf(d, "the note to add a signature to has another text");
		return RP_E_INVAL;
	}
	if ((r = rp_signer_sign(s, (const uint8_t *)text, len, sig, d)) < 0)
		return r;
	if (!(line = sig_line(s->vkey.name, s->vkey.id, sig)))
		return RP_E_NOMEM;
	r = note_with_line(text, len, existing, line, ret, ret_len);
	free(line);
	if (r == RP_E_TOOBIG)
		rp_diagf(d, "the signed note would be larger than %d bytes", RP_NOTE_MAX);
	return r;
}

int rp_note_merge(const struct rp_note *a, const struct rp_note *b, char **ret, size_t *ret_len)
{
	struct rp_sb sb;

	if (a->text_len != b->text_len || memcmp(a->msg, b->msg, a->text_len) != 0)
		return RP_E_INVAL;
	rp_sb_init(&sb, RP_NOTE_MAX);
	rp_sb_put(&sb, a->msg, a->text_len);
	rp_sb_put(&sb, "\n", 1);
	for (size_t i = 0; i < a->nsigs; i++)
		rp_sb_put(&sb, a->sigs[i].line, a->sigs[i].line_len);
	for (size_t i = 0; i < b->nsigs; i++) {
		bool dup = false;
		for (size_t j = 0; j < a->nsigs && !dup; j++)
			dup = a->sigs[j].line_len == b->sigs[i].line_len &&
			      memcmp(a->sigs[j].line, b->sigs[i].line, a->sigs[j].line_len) == 0;
		if (!dup)
			rp_sb_put(&sb, b->sigs[i].line, b->sigs[i].line_len);
	}
	if (sb.err) {
		int r = sb.err;
		rp_sb_release(&sb);
		return r;
	}
	if (a->nsigs + b->nsigs > RP_NOTE_SIGS_MAX) {
		/* Re-parse would reject it; keep the rule in one place. */
		struct rp_note *chk;
		int r = rp_note_parse(sb.s, sb.len, &chk, NULL);
		if (r < 0) {
			rp_sb_release(&sb);
			return r;
		}
		rp_note_free(chk);
	}
	*ret = rp_sb_take(&sb, ret_len);
	return 0;
}

int rp_note_keep(const struct rp_note *note, const bool keep[], char **ret, size_t *ret_len)
{
	struct rp_sb sb;
	size_t kept = 0;

	rp_sb_init(&sb, RP_NOTE_MAX);
	rp_sb_put(&sb, note->msg, note->text_len);
	rp_sb_put(&sb, "\n", 1);
	for (size_t i = 0; i < note->nsigs; i++) {
		if (!keep[i])
			continue;
		rp_sb_put(&sb, note->sigs[i].line, note->sigs[i].line_len);
		kept++;
	}
	if (kept == 0) {
		rp_sb_release(&sb);
		return RP_E_NOSIG; /* a note without signature lines is not a note */
	}
	if (sb.err) {
		int r = sb.err;
		rp_sb_release(&sb);
		return r;
	}
	*ret = rp_sb_take(&sb, ret_len);
	return 0;
}
