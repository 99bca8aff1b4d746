/* SPDX-License-Identifier: Apache-2.0 */
#include "drift.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

static const char drift_header[] = "rampart/drift/v1";

static bool printable(const char *s, size_t n, bool spaces)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 - spaces || s[i] > 0x7e)
			return false;
	return true;
}

static bool code_ok(const char *s, size_t n)
{
	if (n == 0 || n > RP_DRIFT_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int bad(struct rp_diag *d, const char *what, const char *v, size_t n)
{
	char q[80];

	rp_quote(q, sizeof(q), v, n);
	rp_diagf(d, "drift report: bad %s `%s'", what, q);
	return RP_E_MALFORMED;
}

int rp_drift_parse_text(const char *text, size_t len, struct rp_drift *ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	const char *line, *v;
	size_t llen, vlen;
	int e, k;

	if (len > RP_DRIFT_MAX) {
		rp_diagf(d, "drift report: %zu bytes, more than %d", len, RP_DRIFT_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	memset(ret, 0, sizeof(*ret));
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, drift_header)) {
		rp_diagf(d, "drift report: first line is not `%s'", drift_header);
		return RP_E_MALFORMED;
	}
	if ((e = rp_expect_field(&c, "drift report", "org", &v, &vlen, d)) < 0)
		return e;
	if (!rp_org_name_valid(v, vlen))
		return bad(d, "org", v, vlen);
	memcpy(ret->org, v, vlen);
	if ((e = rp_expect_field(&c, "drift report", "device", &v, &vlen, d)) < 0)
		return e;
	if (!rp_id_valid(v, vlen))
		return bad(d, "device", v, vlen);
	memcpy(ret->device, v, vlen);
	if ((e = rp_expect_field(&c, "drift report", "directory", &v, &vlen, d)) < 0)
		return e;
	if (rp_parse_u64(v, vlen, INT64_MAX, &ret->version) != 0)
		return bad(d, "directory version", v, vlen);
	if ((e = rp_expect_field(&c, "drift report", "at", &v, &vlen, d)) < 0)
		return e;
	if (rp_time_parse(v, vlen, &ret->at) != 0)
		return bad(d, "time", v, vlen);
	while ((k = rp_cursor_line(&c, &line, &llen)) == 1) {
		const char *w, *rest, *s, *det = "";
		size_t wl, rl, sl, dl = 0;
		struct rp_drift_item *it;
		if (!rp_split_word(line, llen, &w, &wl, &rest, &rl) || !rp_memeq(w, wl, "item"))
			return bad(d, "line", line, llen);
		if (ret->n == RP_DRIFT_ITEMS_MAX) {
			rp_diagf(d, "drift report: more than %d items", RP_DRIFT_ITEMS_MAX);
			return RP_E_TOOBIG;
		}
		it = &ret->items[ret->n];
		if (!rp_split_word(rest, rl, &w, &wl, &s, &sl) || !code_ok(w, wl))
			return bad(d, "item", line, llen);
		memcpy(it->code, w, wl);
		const char *sp = memchr(s, ' ', sl);
		if (sp) {
			det = sp + 1;
			dl = sl - (size_t)(det - s);
			sl = (size_t)(sp - s);
			if (dl == 0 || dl > RP_DRIFT_DETAIL_MAX || !printable(det, dl, true) ||
			    det[0] == ' ' || det[dl - 1] == ' ')
				return bad(d, "item detail", line, llen);
		}
		if (sl == 0 || sl > RP_DRIFT_SUBJECT_MAX || !printable(s, sl, false))
			return bad(d, "item subject", line, llen);
		memcpy(it->subject, s, sl);
		memcpy(it->detail, det, dl);
		ret->n++;
	}
	if (k < 0) {
		rp_diagf(d, "drift report: the last line does not end in a newline");
		return RP_E_MALFORMED;
	}
	return 0;
}

char *rp_drift_format(const struct rp_drift *r, size_t *ret_len)
{
	struct rp_drift *chk;
	struct rp_sb sb;
	char t[21], *text;
	size_t len;

	rp_time_format(r->at, t);
	rp_sb_init(&sb, RP_DRIFT_MAX);
	rp_sb_printf(&sb, "%s\norg %s\ndevice %s\ndirectory %llu\nat %s\n", drift_header, r->org,
		     r->device, (unsigned long long)r->version, t);
	for (size_t i = 0; i < r->n; i++)
		rp_sb_printf(&sb, "item %s %s%s%s\n", r->items[i].code, r->items[i].subject,
			     r->items[i].detail[0] ? " " : "", r->items[i].detail);
	text = rp_sb_take(&sb, &len);
	/* what cannot be parsed back is never signed */
	if (text &&
	    (!(chk = malloc(sizeof(*chk))) || rp_drift_parse_text(text, len, chk, NULL) < 0)) {
		free(chk);
		free(text);
		return NULL;
	}
	if (text)
		free(chk);
	if (text && ret_len)
		*ret_len = len;
	return text;
}

int rp_drift_verify(const char *msg, size_t len, const uint8_t pub[32], const char *id,
		    struct rp_drift *ret, struct rp_diag *d)
{
	struct rp_note *note = NULL;
	char signer[RP_ID_HEX + 1];
	int r;

	if ((r = rp_device_note_open(msg, len, pub, id, &note, signer, d)) < 0)
		return r;
	if ((r = rp_drift_parse_text(note->msg, note->text_len, ret, d)) == 0 &&
	    strcmp(ret->device, signer) != 0) {
		rp_diagf(d, "drift report of device %s signed by the key of %s", ret->device,
			 signer);
		r = RP_E_KEY;
	}
	rp_note_free(note);
	return r;
}

void rp_drift_word(char *out, size_t max, const char *s)
{
	char q[4 * RP_DRIFT_DETAIL_MAX + 8];
	size_t o = 0;

	rp_quote(q, sizeof(q), s, strlen(s));
	for (const char *p = q; *p && o + 5 <= max; p++) {
		if (*p == ' ') {
			memcpy(out + o, "\\x20", 4);
			o += 4;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	if (o == 0 && max >= 2) {
		out[0] = '-';
		out[1] = '\0';
	}
}
