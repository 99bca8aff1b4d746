/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cancels this device read along its org's log (lib/cancel.h,
 * docs/formats.md "Cancel statement"). The walk reads every entry, so a
 * logged cancel cannot be kept from the device: a server that withholds
 * entries makes the walk, and with it every later command, wait.
 *
 * The rule on how long a record is kept: at least until the cancelled
 * statement's `until' (the `expires' the signer's CLI read from the
 * command it verified), at least RP_CANCEL_KEEP_MIN_S after this device
 * read the cancel (longer than any command's window of 31 days), and,
 * once the walk has read a command entry with that id, at least until
 * that command's own `expires'; each plus RP_CLOCK_SKEW_S. A command is
 * refused from its `expires' on by this device's clock with no allowance,
 * so a command the walk has seen never outlives its record, whatever the
 * cancel says. What a short `until' can still do is documented in
 * docs/threat-model.md (row 170).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "rp_err.h"
#include "state.h"

int agent_cancel_load(struct agent *a, struct rp_diag *d)
{
	struct rp_diag pd = {""};
	char path[600], *buf = NULL;
	size_t len;
	int r;

	if (!a->cancels && !(a->cancels = calloc(1, sizeof(*a->cancels))))
		return RP_E_NOMEM;
	a->cancels->n = 0;
	agent_path(a, path, sizeof(path), "cancel.state");
	r = rp_read_file_flags(path, RP_CANCEL_STATE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL);
	if (r == RP_E_NOTFOUND)
		return 0;
	if (r < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_cancel_state_parse(buf, len, a->cancels, &pd);
	free(buf);
	if (r < 0) {
		/* refusing to start beats forgetting a cancel */
		rp_diagf(d, "%s: %s (written atomically: changed by hand or damaged)", path,
			 pd.msg);
		return r;
	}
	a->cancels_dirty = rp_cancel_state_prune(a->cancels, rp_now()) > 0;
	return 0;
}

void agent_cancel_release(struct agent *a)
{
	free(a->cancels);
	a->cancels = NULL;
}

int agent_cancel_save(struct agent *a)
{
	char path[600], *text;
	size_t len;
	int r;

	if (!a->cancels || !a->cancels_dirty)
		return 0;
	rp_cancel_state_prune(a->cancels, rp_now());
	if (!(text = rp_cancel_state_format(a->cancels, &len)))
		return RP_E_NOMEM;
	agent_path(a, path, sizeof(path), "cancel.state");
	r = rp_write_file_atomic(path, text, len, 0600);
	free(text);
	if (r == 0)
		a->cancels_dirty = false;
	return r;
}

static void walk_alert(struct agent_walk_alert *ret, const char *code, const char *id,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void walk_alert(struct agent_walk_alert *ret, const char *code, const char *id,
		       const char *fmt, ...)
{
	va_list ap;

	snprintf(ret->code, sizeof(ret->code), "%s", code);
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	va_start(ap, fmt);
	vsnprintf(ret->reason, sizeof(ret->reason), fmt, ap);
	va_end(ap);
}

void agent_cancel_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len,
		       struct agent_walk_alert *ret)
{
	const struct rp_policy *p = agent_policy_at(a, index);
	struct rp_cancel *c = NULL;
	struct rp_cancel_rec rec = {0};
	struct rp_diag d = {""};
	char who[RP_NOTE_NAME_MAX + 1] = "";
	int64_t now = rp_now(), keep;
	bool evicted = false;

	ret->code[0] = '\0';
	if (!a->cancels)
		return;
	if (rp_cancel_parse((const char *)entry, len, &c, &d) < 0) {
		walk_alert(ret, "cancel-refused", "",
			   "log entry %llu calls itself a cancel but does not parse: %s",
			   (unsigned long long)index, d.msg);
		return;
	}
	if (strcmp(c->org, a->conf.org) != 0 || rp_cancel_check(p, c, who, &d) < 0) {
		/* only the administrators' keys make a cancel; the server's word is nothing */
		/* about the entry, not the command: an alert naming a command ends its delivery */
		walk_alert(ret, "cancel-refused", "",
			   "log entry %llu, a cancel of command %s, is refused: %s",
			   (unsigned long long)index, c->command,
			   strcmp(c->org, a->conf.org) ? "another org's" : d.msg);
		rp_cancel_free(c);
		return;
	}
	keep = now + RP_CANCEL_KEEP_MIN_S;
	if (c->until > keep)
		keep = c->until;
	memcpy(rec.command, c->command, sizeof(rec.command));
	rec.kind = c->kind;
	rec.entry = index;
	rec.keep = keep + RP_CLOCK_SKEW_S;
	if (rp_cancel_state_add(a->cancels, &rec, &evicted) == 0) {
		a->cancels_dirty = true;
		agent_logf("command %s is %s by %s (log entry %llu): it never runs here",
			   c->command, c->kind == RP_CANCEL_REJECT ? "rejected" : "cancelled", who,
			   (unsigned long long)index);
	}
	if (evicted)
		walk_alert(ret, "cancel-overflow", "",
			   "more than %d cancels to keep: the one closest to its end was dropped",
			   RP_CANCEL_KEEP_MAX);
	rp_cancel_free(c);
}

const struct rp_cancel_rec *agent_cancelled(struct agent *a, const char *id)
{
	return a->cancels ? rp_cancel_state_find(a->cancels, id) : NULL;
}

void agent_cancel_seen(struct agent *a, const char *id, int64_t expires)
{
	struct rp_cancel_rec *r = a->cancels ? rp_cancel_state_find(a->cancels, id) : NULL;

	if (r && expires + RP_CLOCK_SKEW_S > r->keep) {
		r->keep = expires + RP_CLOCK_SKEW_S;
		a->cancels_dirty = true;
	}
}
