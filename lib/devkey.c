/* SPDX-License-Identifier: Apache-2.0 */
#include "devkey.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "rp_err.h"
#include "statement.h"

static const char devkey_header[] = "rampart/device-key/v1";

static int bad(struct rp_diag *d, const char *what, const char *v, size_t vlen)
{
	char q[80];

	rp_quote(q, sizeof(q), v, vlen);
	rp_diagf(d, "device key binding: bad %s `%s'", what, q);
	return RP_E_MALFORMED;
}

static int key_field(struct rp_cursor *c, const char *name, uint8_t out[32], struct rp_diag *d)
{
	const char *v;
	size_t vlen, n;
	int e;

	if ((e = rp_expect_field(c, "device key binding", name, &v, &vlen, d)) < 0)
		return e;
	/* rp_b64_decode takes the one canonical spelling only */
	if (rp_b64_decode(v, vlen, out, 32, &n) < 0 || n != 32)
		return bad(d, name, v, vlen);
	return 0;
}

int rp_devkey_parse_text(const char *text, size_t len, struct rp_devkey_binding *ret,
			 struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_devkey_binding b;
	const char *line, *v;
	size_t llen, vlen;
	int e;

	if (len > RP_DEVKEY_TEXT_MAX) {
		rp_diagf(d, "device key binding: %zu bytes, more than %d", len, RP_DEVKEY_TEXT_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	memset(&b, 0, sizeof(b));
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, devkey_header)) {
		rp_diagf(d, "device key binding: first line is not `%s'", devkey_header);
		return RP_E_MALFORMED;
	}
	if ((e = rp_expect_field(&c, "device key binding", "org", &v, &vlen, d)) < 0)
		return e;
	if (!rp_org_name_valid(v, vlen))
		return bad(d, "org", v, vlen);
	memcpy(b.org, v, vlen);
	if ((e = rp_expect_field(&c, "device key binding", "device", &v, &vlen, d)) < 0)
		return e;
	if (!rp_id_valid(v, vlen))
		return bad(d, "device", v, vlen);
	memcpy(b.device, v, vlen);
	if ((e = key_field(&c, "old", b.old_pub, d)) < 0 ||
	    (e = key_field(&c, "new", b.new_pub, d)) < 0)
		return e;
	if ((e = rp_expect_field(&c, "device key binding", "time", &v, &vlen, d)) < 0)
		return e;
	if (rp_time_parse(v, vlen, &b.time) < 0) /* one spelling, whole seconds, UTC */
		return bad(d, "time", v, vlen);
	if (c.n != 0) {
		rp_diagf(d, "device key binding: unexpected line after `time'");
		return RP_E_MALFORMED;
	}
	if (sodium_memcmp(b.old_pub, b.new_pub, 32) == 0) {
		rp_diagf(d, "device key binding: the new key is the old one");
		return RP_E_MALFORMED;
	}
	*ret = b;
	return 0;
}

char *rp_devkey_format(const struct rp_devkey_binding *b, size_t *ret_len)
{
	struct rp_devkey_binding chk;
	struct rp_sb sb;
	char *o64 = rp_b64_encode(b->old_pub, 32), *n64 = rp_b64_encode(b->new_pub, 32);
	char t[21], *text = NULL;
	size_t len = 0;

	if (o64 && n64) {
		rp_time_format(b->time, t);
		rp_sb_init(&sb, RP_DEVKEY_TEXT_MAX);
		rp_sb_printf(&sb, "%s\norg %s\ndevice %s\nold %s\nnew %s\ntime %s\n", devkey_header,
			     b->org, b->device, o64, n64, t);
		text = rp_sb_take(&sb, &len);
	}
	free(o64);
	free(n64);
	/* What cannot be parsed back is never signed. */
	if (text && rp_devkey_parse_text(text, len, &chk, NULL) < 0) {
		free(text);
		text = NULL;
	}
	if (text && ret_len)
		*ret_len = len;
	return text;
}

int rp_devkey_bind(const char *org, const char *device, const struct rp_skey *old_key,
		   const struct rp_skey *new_key, int64_t now, char **ret, size_t *ret_len)
{
	struct rp_devkey_binding b = {.time = now};
	struct rp_note *half = NULL;
	char *text, *one = NULL;
	size_t len = 0, onelen = 0;
	int r;

	if (strlen(org) > RP_ORG_NAME_MAX || strlen(device) != RP_ID_HEX)
		return RP_E_INVAL;
	memcpy(b.org, org, strlen(org) + 1);
	memcpy(b.device, device, RP_ID_HEX + 1);
	memcpy(b.old_pub, old_key->pub, 32);
	memcpy(b.new_pub, new_key->pub, 32);
	if (!(text = rp_devkey_format(&b, &len)))
		return RP_E_INVAL;
	if ((r = rp_note_sign(text, len, NULL, old_key, &one, &onelen)) == 0 &&
	    (r = rp_note_parse(one, onelen, &half, NULL)) == 0)
		r = rp_note_sign(text, len, half, new_key, ret, ret_len);
	rp_note_free(half);
	free(one);
	free(text);
	return r;
}

int rp_devkey_verify(const char *msg, size_t len, const char *org, const char *device,
		     const uint8_t cur[32], struct rp_devkey_binding *ret, struct rp_diag *d)
{
	struct rp_devkey_binding b;
	struct rp_note *note = NULL;
	struct rp_vkey k[2];
	bool ok[2] = {false, false};
	int r;

	if (len > RP_DEVKEY_NOTE_MAX) {
		rp_diagf(d, "device key binding: %zu bytes, more than %d", len, RP_DEVKEY_NOTE_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_devkey_parse_text(note->msg, note->text_len, &b, d)) < 0)
		goto out;
	if (strcmp(b.org, org) != 0 || strcmp(b.device, device) != 0) {
		rp_diagf(d, "device key binding: for device %s of org %s, not %s of %s", b.device,
			 b.org, device, org);
		r = RP_E_KEY;
		goto out;
	}
	if (sodium_memcmp(b.old_pub, cur, 32) != 0) {
		rp_diagf(
			d,
			"device key binding: it replaces a key that is not the device's current one");
		r = RP_E_KEY;
		goto out;
	}
	rp_device_vkey(b.old_pub, device, &k[0]);
	rp_device_vkey(b.new_pub, device, &k[1]);
	if ((r = rp_note_verify(note, k, 2, ok, d)) < 0)
		goto out;
	if (!ok[0] || !ok[1]) {
		rp_diagf(d, "device key binding: not signed by the %s key", ok[0] ? "new" : "old");
		r = RP_E_NOSIG;
		goto out;
	}
	*ret = b;
out:
	rp_note_free(note);
	return r;
}

int rp_devkey_chain(const char *org, const char *device, const uint8_t pub0[32],
		    const char *const *bindings, const size_t *lens, size_t n, uint8_t ret_cur[32],
		    uint8_t (*ret_keys)[32], int64_t *ret_times, struct rp_diag *d)
{
	uint8_t cur[32], (*seen)[32];
	char id[RP_ID_HEX + 1];
	int r = 0;

	rp_device_id(pub0, id);
	if (strcmp(id, device) != 0) {
		rp_diagf(d, "the device's first key does not hash to its id %s", device);
		return RP_E_KEY;
	}
	if (n > RP_DEVKEY_CHAIN_MAX) {
		rp_diagf(d, "%zu device key bindings, more than %d", n, RP_DEVKEY_CHAIN_MAX);
		return RP_E_TOOBIG;
	}
	if (!(seen = calloc(n + 1, sizeof(*seen))))
		return RP_E_NOMEM;
	memcpy(cur, pub0, 32);
	memcpy(seen[0], pub0, 32);
	if (ret_times)
		ret_times[0] = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct rp_devkey_binding b;
		struct rp_diag e = {""};

		if ((r = rp_devkey_verify(bindings[i], lens[i], org, device, cur, &b, &e)) < 0) {
			rp_diagf(d, "device key binding %zu of %zu: %s", i + 1, n, e.msg);
			break;
		}
		for (size_t k = 0; k <= i; k++) {
			if (sodium_memcmp(seen[k], b.new_pub, 32) == 0) {
				rp_diagf(d,
					 "device key binding %zu of %zu brings back a retired key",
					 i + 1, n);
				r = RP_E_KEY;
			}
		}
		memcpy(cur, b.new_pub, 32);
		memcpy(seen[i + 1], cur, 32);
		if (ret_times)
			ret_times[i + 1] = b.time;
	}
	if (r == 0) {
		memcpy(ret_cur, cur, 32);
		if (ret_keys)
			memcpy(ret_keys, seen, (n + 1) * sizeof(*seen));
	}
	free(seen);
	return r;
}

int rp_devkey_result_verify(const char *msg, size_t len, const char *device,
			    const uint8_t (*keys)[32], size_t n, struct rp_result *ret,
			    size_t *ret_key, struct rp_diag *d)
{
	int cur = RP_E_NOSIG;

	/* newest first: nearly every result is by the current key, whose error is told */
	for (size_t k = n; k-- > 0;) {
		int r = rp_result_verify(msg, len, keys[k], device, ret, k + 1 == n ? d : NULL);
		if (r == 0) {
			*ret_key = k;
			return 0;
		}
		if (k + 1 == n)
			cur = r;
		/* not a result note, or one of another device: no key makes it one */
		if (r != RP_E_NOSIG && r != RP_E_BADSIG)
			break;
	}
	return cur;
}

bool rp_devkey_may_sign(const int64_t *since, size_t n, size_t k, int64_t not_before)
{
	return k + 1 >= n || not_before < since[k + 1] + RP_CLOCK_SKEW_S;
}
