/* SPDX-License-Identifier: Apache-2.0 */
#include "release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

static const char header[] = "rampart/release/v1";
#define COMPONENTS_MAX 4
#define COMPONENT_MAX  999999u

/* The components of a valid version; false when it is not one. */
static bool version_split(const char *s, size_t n, uint32_t out[COMPONENTS_MAX])
{
	size_t i = 0, k = 0;

	if (n == 0 || n > RP_RELEASE_VERSION_MAX)
		return false;
	memset(out, 0, COMPONENTS_MAX * sizeof(out[0]));
	while (i < n) {
		size_t start = i;
		uint64_t v;

		if (k == COMPONENTS_MAX)
			return false;
		while (i < n && s[i] != '.')
			i++;
		if (rp_parse_u64(s + start, i - start, COMPONENT_MAX, &v) != 0)
			return false;
		out[k++] = (uint32_t)v;
		if (i < n) {
			i++; /* the dot */
			if (i == n)
				return false; /* a trailing dot */
		}
	}
	return true;
}

bool rp_release_version_valid(const char *s, size_t n)
{
	uint32_t v[COMPONENTS_MAX];
	return version_split(s, n, v);
}

int rp_release_version_cmp(const char *a, const char *b)
{
	uint32_t va[COMPONENTS_MAX], vb[COMPONENTS_MAX];

	if (!version_split(a, strlen(a), va) || !version_split(b, strlen(b), vb))
		return 0;
	for (size_t i = 0; i < COMPONENTS_MAX; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

bool rp_release_arch_valid(const char *s, size_t n)
{
	if (n == 0 || n > RP_RELEASE_ARCH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int bad(struct rp_diag *d, const char *field, const char *v, size_t vlen, const char *why)
{
	char q[80];

	rp_quote(q, sizeof(q), v, vlen);
	rp_diagf(d, "release: %s `%s' %s", field, q, why);
	return RP_E_MALFORMED;
}

int rp_release_parse_text(const char *text, size_t len, struct rp_release **ret, struct rp_diag *d)
{
	struct rp_cursor cur = {text, len};
	struct rp_release *r;
	const char *line, *v;
	size_t llen, vlen;
	uint64_t u;
	int e;

	if (len > RP_RELEASE_TEXT_MAX) {
		rp_diagf(d, "release: %zu bytes, more than %d", len, RP_RELEASE_TEXT_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (rp_cursor_line(&cur, &line, &llen) != 1 || !rp_memeq(line, llen, header)) {
		char q[64];

		rp_quote(q, sizeof(q), text, len < 40 ? len : 40);
		rp_diagf(d, "release: first line `%s' is not `%s'", q, header);
		return RP_E_MALFORMED;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return RP_E_NOMEM;
#define FIELD(name)                                                                 \
	do {                                                                        \
		if ((e = rp_expect_field(&cur, "release", name, &v, &vlen, d)) < 0) \
			goto fail;                                                  \
	} while (0)
#define BAD(name, why)                          \
	do {                                    \
		e = bad(d, name, v, vlen, why); \
		goto fail;                      \
	} while (0)
	FIELD("org");
	if (!rp_org_name_valid(v, vlen))
		BAD("org", "is not a valid organisation name");
	memcpy(r->org, v, vlen);
	FIELD("package");
	if (!rp_memeq(v, vlen, RP_RELEASE_PACKAGE))
		BAD("package", "is not " RP_RELEASE_PACKAGE);
	memcpy(r->package, v, vlen);
	FIELD("version");
	if (!rp_release_version_valid(v, vlen))
		BAD("version", "is not 1 to 4 dotted numbers (0-999999, no leading zeros)");
	memcpy(r->version, v, vlen);
	FIELD("architecture");
	if (!rp_release_arch_valid(v, vlen))
		BAD("architecture", "is not a Debian architecture name ([a-z0-9], 1-16)");
	memcpy(r->arch, v, vlen);
	FIELD("sha256");
	if (rp_hex_decode(v, vlen, r->hash, sizeof(r->hash)) != 0)
		BAD("sha256", "is not 64 lowercase hex digits");
	FIELD("size");
	if (rp_parse_u64(v, vlen, RP_PACKAGE_MAX, &u) != 0 || u == 0)
		BAD("size", "is not a number of bytes from 1 to 67108864 (RP_PACKAGE_MAX)");
	r->size = u;
	FIELD("signed");
	if (rp_time_parse(v, vlen, &r->signed_at) != 0)
		BAD("signed", "is not YYYY-MM-DDTHH:MM:SSZ");
#undef FIELD
#undef BAD
	if (cur.n != 0) {
		char q[64];

		rp_quote(q, sizeof(q), cur.p, cur.n < 40 ? cur.n : 40);
		rp_diagf(d, "release: unexpected `%s' after the last field", q);
		e = RP_E_MALFORMED;
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	free(r);
	return e;
}

int rp_release_parse(const char *msg, size_t len, struct rp_release **ret, struct rp_diag *d)
{
	struct rp_note *note;
	struct rp_release *r;
	int e;

	if ((e = rp_note_parse(msg, len, &note, d)) < 0)
		return e;
	if ((e = rp_release_parse_text(note->msg, note->text_len, &r, d)) < 0) {
		rp_note_free(note);
		return e;
	}
	r->note = note;
	*ret = r;
	return 0;
}

void rp_release_free(struct rp_release *r)
{
	if (!r)
		return;
	rp_note_free(r->note);
	free(r);
}

char *rp_release_format(const struct rp_release *r, size_t *ret_len)
{
	struct rp_sb sb;
	char hex[65], t[21];

	rp_hex_encode(r->hash, 32, hex);
	rp_time_format(r->signed_at, t);
	rp_sb_init(&sb, RP_RELEASE_TEXT_MAX);
	rp_sb_printf(&sb,
		     "%s\norg %s\npackage %s\nversion %s\narchitecture %s\nsha256 %s\nsize %llu\n"
		     "signed %s\n",
		     header, r->org, r->package, r->version, r->arch, hex,
		     (unsigned long long)r->size, t);
	return rp_sb_take(&sb, ret_len);
}

bool rp_entry_is_release(const uint8_t *entry, size_t len)
{
	return len > sizeof(header) && !memcmp(entry, header, sizeof(header) - 1) &&
	       entry[sizeof(header) - 1] == '\n';
}

int rp_release_verify(const struct rp_policy *p, const char *org, uint32_t min, const char *msg,
		      size_t len, struct rp_release **ret, struct rp_diag *d)
{
	struct rp_release *r;
	int e;

	if ((e = rp_release_parse(msg, len, &r, d)) < 0)
		return e;
	if (strcmp(r->org, org) != 0) {
		rp_diagf(d, "release: org `%s' is not `%s'", r->org, org);
		rp_release_free(r);
		return RP_E_ORG;
	}
	if ((e = rp_quorum_check_min(p, RP_ROLE_EXEC, min, r->note, NULL, d)) < 0) {
		rp_release_free(r);
		return e;
	}
	*ret = r;
	return 0;
}
