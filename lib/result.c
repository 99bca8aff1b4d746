/* SPDX-License-Identifier: Apache-2.0 */
#include "result.h"

#include <string.h>

#include "rp_err.h"

static const char result_header[] = "rampart/result/v1";
static const char *const status_names[] = {
	[RP_RESULT_DONE] = "done",     [RP_RESULT_TIMED_OUT] = "timed-out",
	[RP_RESULT_FAILED] = "failed", [RP_RESULT_REFUSED] = "refused",
	[RP_RESULT_KILLED] = "killed", [RP_RESULT_CANCELLED] = "cancelled",
};

/* The statuses of a command that a signal ended: they carry the signal. */
static bool has_signal(enum rp_result_status s)
{
	return s == RP_RESULT_KILLED || s == RP_RESULT_TIMED_OUT;
}

const char *rp_result_status_name(enum rp_result_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

int rp_result_parse_text(const char *text, size_t len, struct rp_result *ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_result r = {0};
	const char *line, *v, *w, *rest;
	size_t llen, vlen, wlen, rlen;
	uint64_t u;
	int e;

	if (len > RP_RESULT_TEXT_MAX || !rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, result_header)) {
		rp_diagf(d, "result: first line is not `%s'", result_header);
		return RP_E_MALFORMED;
	}
	if ((e = rp_expect_field(&c, "result", "org", &v, &vlen, d)) < 0)
		return e;
	if (!rp_org_name_valid(v, vlen))
		goto bad;
	memcpy(r.org, v, vlen);
	if ((e = rp_expect_field(&c, "result", "device", &v, &vlen, d)) < 0)
		return e;
	if (!rp_id_valid(v, vlen))
		goto bad;
	memcpy(r.device, v, vlen);
	if ((e = rp_expect_field(&c, "result", "command", &v, &vlen, d)) < 0)
		return e;
	if (!rp_id_valid(v, vlen))
		goto bad;
	memcpy(r.command, v, vlen);
	if ((e = rp_expect_field(&c, "result", "status", &v, &vlen, d)) < 0)
		return e;
	e = -1;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (rp_memeq(v, vlen, status_names[i]))
			e = (int)i;
	if (e < 0)
		goto bad;
	r.status = (enum rp_result_status)e;
	if ((e = rp_expect_field(&c, "result", "exit", &v, &vlen, d)) < 0)
		return e;
	if (rp_memeq(v, vlen, "-1"))
		r.exit_code = -1;
	else if (rp_parse_u64(v, vlen, 255, &u) == 0)
		r.exit_code = (int32_t)u;
	else
		goto bad;
	/* done means it exited by itself, so it has an exit status. */
	if (r.status == RP_RESULT_DONE && r.exit_code < 0)
		goto bad;
	if (has_signal(r.status)) {
		if ((e = rp_expect_field(&c, "result", "signal", &v, &vlen, d)) < 0)
			return e;
		if (rp_parse_u64(v, vlen, RP_SIGNAL_MAX, &u) != 0 || u == 0)
			goto bad;
		r.signal = (int32_t)u;
	}
	if ((e = rp_expect_field(&c, "result", "duration-ms", &v, &vlen, d)) < 0)
		return e;
	if (rp_parse_u64(v, vlen, UINT32_MAX, &r.duration_ms) != 0)
		goto bad;
	if ((e = rp_expect_field(&c, "result", "output", &v, &vlen, d)) < 0)
		return e;
	if (!rp_split_word(v, vlen, &w, &wlen, &rest, &rlen) || wlen != 71 ||
	    memcmp(w, "sha256:", 7) != 0 || rp_hex_decode(w + 7, 64, r.output_hash, 32) != 0 ||
	    rp_parse_u64(rest, rlen, RP_OUTPUT_KEEP, &r.output_size) != 0)
		goto bad;
	if (c.n != 0) {
		rp_diagf(d, "result: unexpected line after `output'");
		return RP_E_MALFORMED;
	}
	*ret = r;
	return 0;
bad : {
	char q[80];
	rp_quote(q, sizeof(q), v, vlen);
	rp_diagf(d, "result: bad value `%s'", q);
	return RP_E_MALFORMED;
}
}

char *rp_result_format(const struct rp_result *r, size_t *ret_len)
{
	struct rp_sb sb;
	char h[65];

	rp_hex_encode(r->output_hash, 32, h);
	rp_sb_init(&sb, RP_RESULT_TEXT_MAX);
	rp_sb_printf(&sb, "%s\norg %s\ndevice %s\ncommand %s\nstatus %s\nexit %d\n", result_header,
		     r->org, r->device, r->command, rp_result_status_name(r->status),
		     (int)r->exit_code);
	if (has_signal(r->status))
		rp_sb_printf(&sb, "signal %d\n", (int)r->signal);
	rp_sb_printf(&sb, "duration-ms %llu\noutput sha256:%s %llu\n",
		     (unsigned long long)r->duration_ms, h, (unsigned long long)r->output_size);
	return rp_sb_take(&sb, ret_len);
}

int rp_result_verify(const char *msg, size_t len, const uint8_t pub[32], const char *devid,
		     struct rp_result *ret, struct rp_diag *d)
{
	struct rp_note *note = NULL;
	struct rp_result res;
	char id[RP_ID_HEX + 1];
	int r;

	if ((r = rp_device_note_open(msg, len, pub, devid, &note, id, d)) < 0)
		return r;
	if ((r = rp_result_parse_text(note->msg, note->text_len, &res, d)) == 0 &&
	    strcmp(res.device, id) != 0) {
		rp_diagf(d, "result of device %s signed by the key of %s", res.device, id);
		r = RP_E_KEY;
	}
	if (r == 0)
		*ret = res;
	rp_note_free(note);
	return r;
}
