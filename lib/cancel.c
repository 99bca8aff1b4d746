/* SPDX-License-Identifier: Apache-2.0 */
#include "cancel.h"

#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "util.h"

static const char cancel_header[] = "rampart/cancel/v1";
static const char state_header[] = "rampart/cancel-state/v1";

const char *rp_cancel_kind_name(enum rp_cancel_kind k)
{
	return k == RP_CANCEL_REJECT ? "reject" : "cancel";
}

static int kind_parse(const char *v, size_t n, enum rp_cancel_kind *ret)
{
	if (rp_memeq(v, n, "cancel"))
		*ret = RP_CANCEL_CANCEL;
	else if (rp_memeq(v, n, "reject"))
		*ret = RP_CANCEL_REJECT;
	else
		return -1;
	return 0;
}

bool rp_entry_is_cancel(const uint8_t *entry, size_t len)
{
	return len > sizeof(cancel_header) &&
	       memcmp(entry, cancel_header, sizeof(cancel_header) - 1) == 0 &&
	       entry[sizeof(cancel_header) - 1] == '\n';
}

void rp_cancel_statement_hash(const char *text, size_t len, uint8_t out[32])
{
	rp_sha256(text, len, out);
}

static int bad(struct rp_diag *d, const char *what, const char *name, const char *v, size_t n,
	       const char *why)
{
	char q[80];

	rp_quote(q, sizeof(q), v, n);
	rp_diagf(d, "%s: %s `%s' %s", what, name, q, why);
	return RP_E_MALFORMED;
}

int rp_cancel_parse_text(const char *text, size_t len, struct rp_cancel **ret, struct rp_diag *d)
{
	struct rp_cursor cur = {text, len};
	struct rp_cancel *c;
	const char *line, *v, *w;
	size_t llen, vlen, wlen;
	int r, k;

	if (len > RP_CANCEL_TEXT_MAX) {
		rp_diagf(d, "cancel: %zu bytes, more than %d", len, RP_CANCEL_TEXT_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (!(c = calloc(1, sizeof(*c))))
		return RP_E_NOMEM;
	if (rp_cursor_line(&cur, &line, &llen) != 1 || !rp_memeq(line, llen, cancel_header)) {
		r = bad(d, "cancel", "first line", line, llen, "is not `rampart/cancel/v1'");
		goto fail;
	}
#define FIELD(name)                                                                \
	do {                                                                       \
		if ((r = rp_expect_field(&cur, "cancel", name, &v, &vlen, d)) < 0) \
			goto fail;                                                 \
	} while (0)
#define BAD(name, why)                                    \
	do {                                              \
		r = bad(d, "cancel", name, v, vlen, why); \
		goto fail;                                \
	} while (0)
	FIELD("org");
	if (!rp_org_name_valid(v, vlen))
		BAD("org", "is not a valid organisation name");
	memcpy(c->org, v, vlen);
	FIELD("command");
	if (!rp_id_valid(v, vlen))
		BAD("command", "is not 32 lowercase hex digits");
	memcpy(c->command, v, vlen);
	FIELD("kind");
	if (kind_parse(v, vlen, &c->kind) < 0)
		BAD("kind", "is neither `cancel' nor `reject'");
	FIELD("statement");
	if (vlen != 7 + 64 || memcmp(v, "sha256:", 7) != 0 ||
	    rp_hex_decode(v + 7, 64, c->statement_hash, 32) != 0)
		BAD("statement", "is not `sha256:<64 lowercase hex>'");
	FIELD("until");
	if (rp_time_parse(v, vlen, &c->until) != 0)
		BAD("until", "is not YYYY-MM-DDTHH:MM:SSZ");
	FIELD("time");
	if (rp_time_parse(v, vlen, &c->time) != 0)
		BAD("time", "is not YYYY-MM-DDTHH:MM:SSZ");
	if ((k = rp_cursor_line(&cur, &line, &llen)) == 1) {
		if (!rp_split_word(line, llen, &w, &wlen, &v, &vlen) ||
		    !rp_memeq(w, wlen, "reason")) {
			v = line;
			vlen = llen;
			BAD("line", "is not `reason TEXT' (the only field after `time')");
		}
		if (vlen == 0 || vlen > RP_CANCEL_REASON_MAX)
			BAD("reason", "is empty or longer than 256 bytes");
		memcpy(c->reason, v, vlen);
		k = rp_cursor_line(&cur, &line, &llen);
	}
	if (k != 0) {
		v = line;
		vlen = k == 1 ? llen : 0;
		BAD("line", "follows the last field");
	}
	if (c->kind == RP_CANCEL_REJECT && !c->reason[0]) {
		rp_diagf(d, "cancel: a reject carries a reason");
		r = RP_E_MALFORMED;
		goto fail;
	}
#undef FIELD
#undef BAD
	*ret = c;
	return 0;
fail:
	rp_cancel_free(c);
	return r;
}

int rp_cancel_parse(const char *msg, size_t len, struct rp_cancel **ret, struct rp_diag *d)
{
	struct rp_note *note;
	struct rp_cancel *c;
	int r;

	if (len > RP_CANCEL_NOTE_MAX) {
		rp_diagf(d, "cancel: a note of %zu bytes, more than %d", len, RP_CANCEL_NOTE_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_cancel_parse_text(note->msg, note->text_len, &c, d)) < 0) {
		rp_note_free(note);
		return r;
	}
	c->note = note;
	*ret = c;
	return 0;
}

void rp_cancel_free(struct rp_cancel *c)
{
	if (!c)
		return;
	rp_note_free(c->note);
	free(c);
}

char *rp_cancel_format(const struct rp_cancel *c, size_t *ret_len)
{
	char until[21], t[21], h[65];
	struct rp_sb sb;

	rp_time_format(c->until, until);
	rp_time_format(c->time, t);
	rp_hex_encode(c->statement_hash, 32, h);
	rp_sb_init(&sb, RP_CANCEL_TEXT_MAX);
	rp_sb_printf(&sb,
		     "%s\norg %s\ncommand %s\nkind %s\nstatement sha256:%s\nuntil %s\ntime %s\n",
		     cancel_header, c->org, c->command, rp_cancel_kind_name(c->kind), h, until, t);
	if (c->reason[0])
		rp_sb_printf(&sb, "reason %s\n", c->reason);
	return rp_sb_take(&sb, ret_len);
}

/*
 * Only lines that verify by a key of the role count, and a line that does
 * not verify is passed over rather than refusing the note (unlike
 * rp_quorum_check): a cancel only stops things, and a server that added a
 * forged line to a logged cancel must not make agents ignore it.
 */
int rp_cancel_check(const struct rp_policy *p, const struct rp_cancel *c,
		    char ret_signer[RP_NOTE_NAME_MAX + 1], struct rp_diag *d)
{
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	size_t count = 0;
	int r;

	if (strcmp(c->org, p->org) != 0) {
		rp_diagf(d, "cancel is for org %s, not %s", c->org, p->org);
		return RP_E_ORG;
	}
	if (!c->note)
		return RP_E_NOSIG;
	if ((r = rp_policy_classify(p, RP_ROLE_EXEC, c->note, v, &count)) < 0)
		return r;
	for (size_t i = 0; i < c->note->nsigs; i++) {
		if (v[i].verdict != RP_SIG_ROLE)
			continue;
		if (ret_signer)
			memcpy(ret_signer, p->keys[v[i].key].name, RP_NOTE_NAME_MAX + 1);
		return 0;
	}
	rp_diagf(d, "cancel of %s carries no valid signature by a key of role exec", c->command);
	return RP_E_NOSIG;
}

/* ---- cancel.state ---- */

int rp_cancel_state_parse(const char *text, size_t len, struct rp_cancel_state *ret,
			  struct rp_diag *d)
{
	struct rp_cursor cur = {text, len};
	struct rp_cancel_state *s;
	const char *line, *v, *w;
	size_t llen, vlen, wlen;
	uint64_t u;
	int k, r = RP_E_MALFORMED;

	if (len > RP_CANCEL_STATE_MAX) {
		rp_diagf(d, "cancel.state: %zu bytes, more than %d", len, RP_CANCEL_STATE_MAX);
		return RP_E_TOOBIG;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return RP_E_NOMEM;
	if (rp_cursor_line(&cur, &line, &llen) != 1 || !rp_memeq(line, llen, state_header)) {
		rp_diagf(d, "cancel.state: first line is not `%s'", state_header);
		goto out;
	}
	while ((k = rp_cursor_line(&cur, &line, &llen)) == 1) {
		struct rp_cancel_rec *x;
		char q[80];
		bool ok;

		if (s->n == RP_CANCEL_KEEP_MAX) {
			rp_diagf(d, "cancel.state: more than %d records", RP_CANCEL_KEEP_MAX);
			goto out;
		}
		x = &s->rec[s->n];
		ok = rp_split_word(line, llen, &w, &wlen, &v, &vlen) && rp_memeq(w, wlen, "cancel");
		/* <id> <kind> <entry> <keep> */
		ok = ok && rp_split_word(v, vlen, &w, &wlen, &v, &vlen) && rp_id_valid(w, wlen);
		if (ok)
			memcpy(x->command, w, wlen);
		ok = ok && rp_split_word(v, vlen, &w, &wlen, &v, &vlen) &&
		     kind_parse(w, wlen, &x->kind) == 0;
		ok = ok && rp_split_word(v, vlen, &w, &wlen, &v, &vlen) &&
		     rp_parse_u64(w, wlen, INT64_MAX, &x->entry) == 0;
		ok = ok && rp_parse_u64(v, vlen, INT64_MAX, &u) == 0;
		x->keep = (int64_t)u;
		ok = ok && (s->n == 0 || strcmp(s->rec[s->n - 1].command, x->command) < 0);
		if (!ok) {
			rp_quote(q, sizeof(q), line, llen);
			rp_diagf(
				d,
				"cancel.state: line `%s' is not `cancel <id> cancel|reject <entry> "
				"<keep>' after a smaller id (at most %d)",
				q, RP_CANCEL_KEEP_MAX);
			goto out;
		}
		s->n++;
	}
	if (k != 0) {
		rp_diagf(d, "cancel.state: the last line is not terminated");
		goto out;
	}
	*ret = *s;
	r = 0;
out:
	free(s);
	return r;
}

char *rp_cancel_state_format(const struct rp_cancel_state *s, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_CANCEL_STATE_MAX);
	rp_sb_printf(&sb, "%s\n", state_header);
	for (size_t i = 0; i < s->n; i++)
		rp_sb_printf(&sb, "cancel %s %s %llu %lld\n", s->rec[i].command,
			     rp_cancel_kind_name(s->rec[i].kind),
			     (unsigned long long)s->rec[i].entry, (long long)s->rec[i].keep);
	return rp_sb_take(&sb, ret_len);
}

struct rp_cancel_rec *rp_cancel_state_find(struct rp_cancel_state *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->rec[i].command, id))
			return &s->rec[i];
	return NULL;
}

int rp_cancel_state_add(struct rp_cancel_state *s, const struct rp_cancel_rec *r, bool *ret_evicted)
{
	struct rp_cancel_rec *have = rp_cancel_state_find(s, r->command);
	size_t at = 0;

	*ret_evicted = false;
	if (!rp_id_valid(r->command, strlen(r->command)) || r->keep < 0)
		return RP_E_INVAL;
	if (have) {
		if (r->keep > have->keep)
			have->keep = r->keep;
		return 0;
	}
	if (s->n == RP_CANCEL_KEEP_MAX) {
		size_t e = 0;
		for (size_t i = 1; i < s->n; i++)
			if (s->rec[i].keep < s->rec[e].keep)
				e = i;
		memmove(&s->rec[e], &s->rec[e + 1], (s->n - e - 1) * sizeof(s->rec[0]));
		s->n--;
		*ret_evicted = true;
	}
	while (at < s->n && strcmp(s->rec[at].command, r->command) < 0)
		at++;
	memmove(&s->rec[at + 1], &s->rec[at], (s->n - at) * sizeof(s->rec[0]));
	s->rec[at] = *r;
	s->n++;
	return 0;
}

size_t rp_cancel_state_prune(struct rp_cancel_state *s, int64_t now)
{
	size_t k = 0, dropped;

	for (size_t i = 0; i < s->n; i++)
		if (s->rec[i].keep >= now)
			s->rec[k++] = s->rec[i];
	dropped = s->n - k;
	s->n = k;
	return dropped;
}
