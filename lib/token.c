/* SPDX-License-Identifier: Apache-2.0 */
#include "token.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "rp_err.h"

static const char prefix[] = "RPE1.";
static const char header[] = "rampart/enroll/v1";

static bool sha256_text_valid(const char *v, size_t n)
{
	uint8_t h[32];
	return n == 71 && memcmp(v, "sha256:", 7) == 0 && rp_hex_decode(v + 7, 64, h, 32) == 0;
}

int rp_token_text_open(const char *s, size_t n, const char *pfx, const char *hdr, const char *what,
		       char text[RP_TOKEN_TEXT_MAX], struct rp_cursor *ret, struct rp_diag *d)
{
	size_t plen = strlen(pfx), tlen = 0, llen;
	const char *line;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n > RP_TOKEN_MAX || n <= plen || memcmp(s, pfx, plen) != 0) {
		rp_diagf(d, "%s does not start with %s or is too long", what, pfx);
		return RP_E_MALFORMED;
	}
	if (sodium_base642bin((uint8_t *)text, RP_TOKEN_TEXT_MAX - 1, s + plen, n - plen, NULL,
			      &tlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		rp_diagf(d, "%s is not base64url", what);
		return RP_E_MALFORMED;
	}
	text[tlen] = '\0';
	if (tlen == 0 || !rp_note_text_valid(text, tlen, NULL)) {
		rp_diagf(d, "%s text has control characters or is not UTF-8", what);
		return RP_E_MALFORMED;
	}
	ret->p = text;
	ret->n = tlen;
	if (rp_cursor_line(ret, &line, &llen) != 1 || !rp_memeq(line, llen, hdr)) {
		rp_diagf(d, "%s text does not start with %s", what, hdr);
		return RP_E_MALFORMED;
	}
	return 0;
}

char *rp_token_text_seal(const char *pfx, const char *text, size_t len)
{
	size_t plen = strlen(pfx),
	       olen = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(plen + olen);

	if (out) {
		memcpy(out, pfx, plen);
		sodium_bin2base64(out + plen, olen, (const uint8_t *)text, len,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	return out;
}

int rp_enroll_token_parse(const char *s, size_t n, struct rp_enroll_token *ret, struct rp_diag *d)
{
	static const char *const fields[] = {"server", "pin", "org", "policy", "secret", "expires"};
	char text[RP_TOKEN_TEXT_MAX];
	struct rp_cursor c;
	struct rp_enroll_token t = {0};
	const char *v;
	size_t vlen;
	uint8_t secret[32];

	if (rp_token_text_open(s, n, prefix, header, "enrolment token", text, &c, d) < 0) {
		sodium_memzero(text, sizeof(text));
		return RP_E_MALFORMED;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (rp_expect_field(&c, "enrolment token", fields[i], &v, &vlen, d) < 0)
			return RP_E_MALFORMED;
		bool ok;
		switch (i) {
		case 0:
			ok = vlen < sizeof(t.server) && vlen > 8 && memcmp(v, "https://", 8) == 0 &&
			     !memchr(v, ' ', vlen);
			if (ok)
				memcpy(t.server, v, vlen);
			break;
		case 1:
			ok = sha256_text_valid(v, vlen);
			if (ok)
				memcpy(t.pin, v, vlen);
			break;
		case 2:
			ok = rp_org_name_valid(v, vlen);
			if (ok)
				memcpy(t.org, v, vlen);
			break;
		case 3:
			ok = sha256_text_valid(v, vlen);
			if (ok)
				memcpy(t.policy, v, vlen);
			break;
		case 4:
			ok = rp_hex_decode(v, vlen, secret, sizeof(secret)) == 0;
			if (ok)
				memcpy(t.secret, v, vlen);
			break;
		default: ok = rp_time_parse(v, vlen, &t.expires) == 0; break;
		}
		if (!ok) {
			char q[80];
			rp_quote(q, sizeof(q), v, vlen);
			rp_diagf(d, "enrolment token: bad %s `%s'", fields[i], q);
			return RP_E_MALFORMED;
		}
	}
	if (c.n != 0) {
		rp_diagf(d, "enrolment token: unexpected data after `expires'");
		return RP_E_MALFORMED;
	}
	sodium_memzero(secret, sizeof(secret));
	*ret = t;
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(text, sizeof(text));
	return 0;
}

char *rp_enroll_token_format(const struct rp_enroll_token *t)
{
	struct rp_sb sb;
	char exp[21], *text, *out;
	size_t len;

	rp_time_format(t->expires, exp);
	rp_sb_init(&sb, RP_TOKEN_TEXT_MAX);
	rp_sb_printf(&sb, "%s\nserver %s\npin %s\norg %s\npolicy %s\nsecret %s\nexpires %s\n",
		     header, t->server, t->pin, t->org, t->policy, t->secret, exp);
	text = rp_sb_take(&sb, &len);
	if (!text)
		return NULL;
	out = rp_token_text_seal(prefix, text, len);
	sodium_memzero(text, len);
	free(text);
	return out;
}
