/* SPDX-License-Identifier: Apache-2.0 */
#include "facts.h"

#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

static const char facts_header[] = "rampart/facts/v1";

/*
 * A non-empty value of at most max bytes, no space at either end (one
 * spelling); the note rules already exclude control characters.
 */
static bool value_ok(const char *v, size_t n, size_t max)
{
	return n > 0 && n <= max && v[0] != ' ' && v[n - 1] != ' ';
}

int rp_facts_parse_text(const char *text, size_t len, struct rp_facts *ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_facts f;
	const char *line, *v;
	size_t llen, vlen;
	int e;

	if (len > RP_FACTS_MAX) {
		rp_diagf(d, "facts: %zu bytes, more than %d", len, RP_FACTS_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	memset(&f, 0, sizeof(f));
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, facts_header)) {
		rp_diagf(d, "facts: first line is not `%s'", facts_header);
		return RP_E_MALFORMED;
	}
	if ((e = rp_expect_field(&c, "facts", "org", &v, &vlen, d)) < 0)
		return e;
	if (!rp_org_name_valid(v, vlen))
		goto bad;
	memcpy(f.org, v, vlen);
	if ((e = rp_expect_field(&c, "facts", "device", &v, &vlen, d)) < 0)
		return e;
	if (!rp_id_valid(v, vlen))
		goto bad;
	memcpy(f.device, v, vlen);
	if ((e = rp_expect_field(&c, "facts", "hostname", &v, &vlen, d)) < 0)
		return e;
	if (!value_ok(v, vlen, RP_FACTS_HOSTNAME_MAX))
		goto bad;
	memcpy(f.hostname, v, vlen);
	if ((e = rp_expect_field(&c, "facts", "os", &v, &vlen, d)) < 0)
		return e;
	if (!value_ok(v, vlen, RP_FACTS_OS_MAX))
		goto bad;
	memcpy(f.os, v, vlen);
	if ((e = rp_expect_field(&c, "facts", "agent-version", &v, &vlen, d)) < 0)
		return e;
	if (!value_ok(v, vlen, RP_FACTS_VERSION_MAX) || memchr(v, ' ', vlen))
		goto bad;
	memcpy(f.agent_version, v, vlen);
	/* the optional fields (issue 11), each at most once, in order */
	static const char *const opt[] = {"kernel", "booted", "time"};
	for (size_t i = 0; i < 3 && c.n != 0; i++) {
		size_t ol = strlen(opt[i]);
		if (c.n <= ol || memcmp(c.p, opt[i], ol) != 0 || c.p[ol] != ' ')
			continue;
		if ((e = rp_expect_field(&c, "facts", opt[i], &v, &vlen, d)) < 0)
			return e;
		if (i == 0 ? !value_ok(v, vlen, RP_FACTS_OS_MAX)
			   : rp_time_parse(v, vlen, i == 1 ? &f.booted : &f.time) != 0)
			goto bad;
		if (i == 0)
			memcpy(f.kernel, v, vlen);
	}
	if (c.n != 0) {
		rp_diagf(d, "facts: unexpected line after `agent-version' (then only kernel, "
			    "booted, time, in that order)");
		return RP_E_MALFORMED;
	}
	*ret = f;
	return 0;
bad : {
	char q[80];
	rp_quote(q, sizeof(q), v, vlen);
	rp_diagf(d, "facts: bad value `%s'", q);
	return RP_E_MALFORMED;
}
}

char *rp_facts_format(const struct rp_facts *f, size_t *ret_len)
{
	struct rp_sb sb;
	struct rp_facts chk;
	char *t;
	size_t len;

	rp_sb_init(&sb, RP_FACTS_MAX);
	rp_sb_printf(&sb, "%s\norg %s\ndevice %s\nhostname %s\nos %s\nagent-version %s\n",
		     facts_header, f->org, f->device, f->hostname, f->os, f->agent_version);
	if (f->kernel[0])
		rp_sb_printf(&sb, "kernel %s\n", f->kernel);
	for (int i = 0; i < 2; i++) {
		char tb[21];
		int64_t v = i == 0 ? f->booted : f->time;
		if (v) {
			rp_time_format(v, tb);
			rp_sb_printf(&sb, "%s %s\n", i == 0 ? "booted" : "time", tb);
		}
	}
	t = rp_sb_take(&sb, &len);
	/* What cannot be parsed back is never signed. */
	if (t && rp_facts_parse_text(t, len, &chk, NULL) < 0) {
		free(t);
		return NULL;
	}
	if (t && ret_len)
		*ret_len = len;
	return t;
}

int rp_facts_verify(const char *msg, size_t len, const uint8_t pub[32], struct rp_facts *ret,
		    struct rp_diag *d)
{
	return rp_facts_verify_as(msg, len, pub, NULL, ret, d);
}

int rp_facts_verify_as(const char *msg, size_t len, const uint8_t pub[32], const char *device,
		       struct rp_facts *ret, struct rp_diag *d)
{
	struct rp_note *note = NULL;
	struct rp_facts f;
	char id[RP_ID_HEX + 1];
	int r;

	if ((r = rp_device_note_open(msg, len, pub, device, &note, id, d)) < 0)
		return r;
	if ((r = rp_facts_parse_text(note->msg, note->text_len, &f, d)) == 0 &&
	    strcmp(f.device, id) != 0) {
		rp_diagf(d, "facts of device %s signed by the key of %s", f.device, id);
		r = RP_E_KEY;
	}
	if (r == 0)
		*ret = f;
	rp_note_free(note);
	return r;
}
