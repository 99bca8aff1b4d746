/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "statement.h"

static const char *const role_names[RP_ROLE_COUNT] = {
	[RP_ROLE_ROOT] = "root",
	[RP_ROLE_EXEC] = "exec",
	[RP_ROLE_QUERY] = "query",
	[RP_ROLE_DIRECTORY] = "directory",
};

static const char policy_header[] = "rampart/policy/v1";

const char *rp_role_name(enum rp_role_id role)
{
	return role < RP_ROLE_COUNT ? role_names[role] : "?";
}

int rp_role_from_name(const char *s, size_t n)
{
	for (int i = 0; i < RP_ROLE_COUNT; i++)
		if (rp_memeq(s, n, role_names[i]))
			return i;
	return -1;
}

bool rp_org_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > RP_ORG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
		if (!ok)
			return false;
	}
	return true;
}

int rp_policy_key_index(const struct rp_policy *p, const char *name)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int parse_role(struct rp_policy *p, enum rp_role_id role, const char *v, size_t vlen,
		      struct rp_diag *d)
{
	struct rp_role *r = &p->roles[role];
	const char *w, *rest;
	size_t wlen, rlen;
	uint64_t t;
	char q[80];

	/* "role <name> <threshold> <key>..." with the field word consumed. */
	if (!rp_split_word(v, vlen, &w, &wlen, &rest, &rlen) ||
	    !rp_memeq(w, wlen, role_names[role])) {
		rp_quote(q, sizeof(q), v, vlen);
		rp_diagf(d, "policy: expected role `%s', found `%s'", role_names[role], q);
		return RP_E_MALFORMED;
	}
	v = rest;
	vlen = rlen;
	if (!rp_split_word(v, vlen, &w, &wlen, &rest, &rlen)) {
		rp_diagf(d, "policy: role %s names no keys", role_names[role]);
		return RP_E_MALFORMED;
	}
	if (rp_parse_u64(w, wlen, RP_POLICY_KEYS_MAX, &t) != 0 || t < 1) {
		rp_quote(q, sizeof(q), w, wlen);
		rp_diagf(d, "policy: role %s threshold `%s' is not an integer from 1 to %d",
			 role_names[role], q, RP_POLICY_KEYS_MAX);
		return RP_E_MALFORMED;
	}
	r->threshold = (uint32_t)t;
	while (rlen > 0) {
		const char *name = rest;
		const char *sp = memchr(rest, ' ', rlen);
		size_t nlen = sp ? (size_t)(sp - rest) : rlen;
		char nm[RP_NOTE_NAME_MAX + 1];
		int k;

		if (nlen == 0 || nlen > RP_NOTE_NAME_MAX) {
			rp_diagf(d, "policy: role %s has an empty or overlong key name",
				 role_names[role]);
			return RP_E_MALFORMED;
		}
		memcpy(nm, name, nlen);
		nm[nlen] = '\0';
		k = rp_policy_key_index(p, nm);
		if (k < 0) {
			rp_quote(q, sizeof(q), name, nlen);
			rp_diagf(d, "policy: role %s names key `%s', which no key line declares",
				 role_names[role], q);
			return RP_E_MALFORMED;
		}
		for (size_t i = 0; i < r->nkeys; i++) {
			if (r->keys[i] == k) {
				rp_diagf(d, "policy: role %s names key `%s' twice",
					 role_names[role], nm);
				return RP_E_MALFORMED;
			}
		}
		r->keys[r->nkeys++] = (uint8_t)k;
		if (!sp)
			break;
		rest = sp + 1;
		rlen -= nlen + 1;
		if (rlen == 0) {
			rp_diagf(d, "policy: role %s line ends in a space", role_names[role]);
			return RP_E_MALFORMED;
		}
	}
	if (r->threshold > r->nkeys) {
		rp_diagf(d, "policy: role %s threshold %u exceeds its %zu keys", role_names[role],
			 r->threshold, r->nkeys);
		return RP_E_MALFORMED;
	}
	return 0;
}

/* `device-group-threshold <group> <role> <k>', after the roles, in (group, role) order. */
static int parse_gthreshold(struct rp_policy *p, const char *line, size_t llen, struct rp_diag *d)
{
	const char *f[4], *e = line + llen;
	size_t fl[4], n = 0;
	uint64_t k;
	int role;
	char q[96];

	for (const char *s = line; s <= e && n < 4;) {
		const char *t = memchr(s, ' ', (size_t)(e - s));
		if (!t || n == 3)
			t = e;
		f[n] = s;
		fl[n++] = (size_t)(t - s);
		s = t + 1;
	}
	rp_quote(q, sizeof(q), line, llen);
	if (n != 4 || !rp_user_name_valid(f[1], fl[1]) ||
	    (role = rp_role_from_name(f[2], fl[2])) < 0 || role == RP_ROLE_ROOT ||
	    rp_parse_u64(f[3], fl[3], RP_POLICY_KEYS_MAX, &k) != 0) {
		rp_diagf(d,
			 "policy: `%s' is not `device-group-threshold <device group> "
			 "exec|query|directory <signatures>'",
			 q);
		return RP_E_MALFORMED;
	}
	if (k <= p->roles[role].threshold || k > p->roles[role].nkeys) {
		rp_diagf(d,
			 "policy: `%s': the threshold must be above role %s's (%u) and at most "
			 "its %zu keys",
			 q, role_names[role], p->roles[role].threshold, p->roles[role].nkeys);
		return RP_E_MALFORMED;
	}
	if (p->ngthresholds == RP_POLICY_GROUP_THRESHOLDS_MAX) {
		rp_diagf(d, "policy: more than %d device-group-threshold lines",
			 RP_POLICY_GROUP_THRESHOLDS_MAX);
		return RP_E_TOOBIG;
	}
	struct rp_group_threshold *g = &p->gthresholds[p->ngthresholds];
	memset(g, 0, sizeof(*g));
	memcpy(g->dgroup, f[1], fl[1]);
	g->role = (enum rp_role_id)role;
	g->threshold = (uint32_t)k;
	if (p->ngthresholds) {
		const struct rp_group_threshold *prev = g - 1;
		int c = strcmp(prev->dgroup, g->dgroup);
		if (c > 0 || (c == 0 && prev->role >= g->role)) {
			rp_diagf(d,
				 "policy: `%s' is out of order: device-group-threshold lines go "
				 "by group, then role (exec, query, directory), each pair once",
				 q);
			return RP_E_MALFORMED;
		}
	}
	p->ngthresholds++;
	return 0;
}

int rp_policy_parse_text(const char *text, size_t len, struct rp_policy **ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_policy *p;
	const char *line, *v;
	size_t llen, vlen;
	int r, k;
	char q[80];

	if (len > RP_NOTE_MAX) {
		rp_diagf(d, "policy: %zu bytes, more than %d", len, RP_NOTE_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	p = calloc(1, sizeof(*p));
	if (!p)
		return RP_E_NOMEM;
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, policy_header)) {
		rp_diagf(d, "policy: first line is not `%s'", policy_header);
		r = RP_E_MALFORMED;
		goto fail;
	}
	if ((r = rp_expect_field(&c, "policy", "org", &v, &vlen, d)) < 0)
		goto fail;
	if (!rp_org_name_valid(v, vlen)) {
		rp_quote(q, sizeof(q), v, vlen);
		rp_diagf(d, "policy: org `%s' is not a valid organisation name", q);
		r = RP_E_MALFORMED;
		goto fail;
	}
	memcpy(p->org, v, vlen);
	if ((r = rp_expect_field(&c, "policy", "version", &v, &vlen, d)) < 0)
		goto fail;
	if (rp_parse_u64(v, vlen, UINT32_MAX, &p->version) != 0 || p->version < 1) {
		rp_quote(q, sizeof(q), v, vlen);
		rp_diagf(d, "policy: version `%s' is not a positive integer", q);
		r = RP_E_MALFORMED;
		goto fail;
	}
	if ((r = rp_expect_field(&c, "policy", "expires", &v, &vlen, d)) < 0)
		goto fail;
	if (rp_time_parse(v, vlen, &p->expires) != 0) {
		rp_quote(q, sizeof(q), v, vlen);
		rp_diagf(d, "policy: expires `%s' is not YYYY-MM-DDTHH:MM:SSZ", q);
		r = RP_E_MALFORMED;
		goto fail;
	}
	/* key lines, role lines in the fixed order, freshness, server-pin lines, tlog-policy lines.
	 */
	enum rp_role_id next_role = RP_ROLE_ROOT;
	bool have_freshness = false, saw_tlog = false;
	while ((k = rp_cursor_line(&c, &line, &llen)) == 1) {
		const char *w;
		size_t wlen;

		if (!rp_split_word(line, llen, &w, &wlen, &v, &vlen)) {
			rp_quote(q, sizeof(q), line, llen);
			rp_diagf(d, "policy: line `%s' is not `field value'", q);
			r = RP_E_MALFORMED;
			goto fail;
		}
		if (have_freshness && rp_memeq(w, wlen, "server-pin")) {
			uint8_t pin[32];
			if (saw_tlog) {
				rp_diagf(
					d,
					"policy: a server-pin line after the log and witness lines");
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (p->npins == RP_POLICY_PINS_MAX) {
				rp_diagf(d, "policy: more than %d server-pin lines",
					 RP_POLICY_PINS_MAX);
				r = RP_E_TOOBIG;
				goto fail;
			}
			if ((r = rp_pin_parse_n(v, vlen, pin, d)) < 0) {
				r = RP_E_MALFORMED;
				goto fail;
			}
			for (size_t i = 0; i < p->npins; i++)
				if (!memcmp(p->pins[i], pin, 32)) {
					rp_diagf(d, "policy: server-pin %.*s appears twice",
						 (int)vlen, v);
					r = RP_E_MALFORMED;
					goto fail;
				}
			memcpy(p->pins[p->npins++], pin, 32);
		} else if (have_freshness) {
			saw_tlog = true;
			if (p->wp.have_quorum) {
				rp_quote(q, sizeof(q), line, llen);
				rp_diagf(d, "policy: line `%s' after the quorum line", q);
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (!rp_memeq(w, wlen, "log") && !rp_memeq(w, wlen, "witness") &&
			    !rp_memeq(w, wlen, "group") && !rp_memeq(w, wlen, "quorum")) {
				rp_quote(q, sizeof(q), w, wlen);
				rp_diagf(d,
					 "policy: unknown field `%s' (after freshness come log, "
					 "witness, group and quorum lines)",
					 q);
				r = RP_E_MALFORMED;
				goto fail;
			}
			if ((r = rp_wpolicy_line(&p->wp, line, llen, d)) < 0)
				goto fail;
		} else if (rp_memeq(w, wlen, "device-group-threshold") &&
			   next_role == RP_ROLE_COUNT) {
			if ((r = parse_gthreshold(p, line, llen, d)) < 0)
				goto fail;
		} else if (rp_memeq(w, wlen, "freshness")) {
			uint64_t f;
			if (next_role != RP_ROLE_COUNT) {
				rp_diagf(d, "policy: missing role `%s' before freshness",
					 role_names[next_role]);
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (rp_parse_u64(v, vlen, RP_FRESHNESS_MAX_S, &f) != 0 ||
			    f < RP_FRESHNESS_MIN_S) {
				rp_quote(q, sizeof(q), v, vlen);
				rp_diagf(
					d,
					"policy: freshness `%s' is not a number of seconds from %d to %d",
					q, RP_FRESHNESS_MIN_S, RP_FRESHNESS_MAX_S);
				r = RP_E_MALFORMED;
				goto fail;
			}
			p->freshness = (int64_t)f;
			have_freshness = true;
		} else if (rp_memeq(w, wlen, "key")) {
			struct rp_vkey key;
			if (next_role != RP_ROLE_ROOT) {
				rp_diagf(d, "policy: key line after a role line");
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (p->nkeys == RP_POLICY_KEYS_MAX) {
				rp_diagf(d, "policy: more than %d keys", RP_POLICY_KEYS_MAX);
				r = RP_E_TOOBIG;
				goto fail;
			}
			if ((r = rp_vkey_parse(v, vlen, &key, d)) < 0) {
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (key.type != RP_KEY_ED25519) {
				rp_diagf(d, "policy: key %s is not an Ed25519 signing key",
					 key.name);
				r = RP_E_MALFORMED;
				goto fail;
			}
			for (size_t i = 0; i < p->nkeys; i++) {
				if (strcmp(p->keys[i].name, key.name) == 0 ||
				    memcmp(p->keys[i].pub, key.pub, 32) == 0) {
					rp_diagf(d, "policy: key %s appears twice (same %s as %s)",
						 key.name,
						 strcmp(p->keys[i].name, key.name) == 0
							 ? "name"
							 : "public key",
						 p->keys[i].name);
					r = RP_E_MALFORMED;
					goto fail;
				}
			}
			p->keys[p->nkeys++] = key;
		} else if (rp_memeq(w, wlen, "role")) {
			if (next_role == RP_ROLE_COUNT) {
				rp_quote(q, sizeof(q), line, llen);
				rp_diagf(d,
					 "policy: unexpected role line `%s' after role directory",
					 q);
				r = RP_E_MALFORMED;
				goto fail;
			}
			if (p->nkeys == 0) {
				rp_diagf(d, "policy: no key lines before the roles");
				r = RP_E_MALFORMED;
				goto fail;
			}
			if ((r = parse_role(p, next_role, v, vlen, d)) < 0)
				goto fail;
			next_role++;
		} else {
			rp_quote(q, sizeof(q), w, wlen);
			rp_diagf(d, "policy: unknown field `%s'", q);
			r = RP_E_MALFORMED;
			goto fail;
		}
	}
	if (next_role != RP_ROLE_COUNT) {
		rp_diagf(d, "policy: missing role `%s'", role_names[next_role]);
		r = RP_E_MALFORMED;
		goto fail;
	}
	if (!have_freshness) {
		rp_diagf(d, "policy: missing field `freshness'");
		r = RP_E_MALFORMED;
		goto fail;
	}
	if ((r = rp_wpolicy_finish(&p->wp, d)) < 0)
		goto fail;
	rp_sha256_text(text, len, p->hash);
	*ret = p;
	return 0;
fail:
	rp_policy_free(p);
	return r;
}

int rp_policy_parse(const char *msg, size_t len, struct rp_policy **ret, struct rp_diag *d)
{
	struct rp_note *note;
	struct rp_policy *p;
	int r;

	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_policy_parse_text(note->msg, note->text_len, &p, d)) < 0) {
		rp_note_free(note);
		return r;
	}
	p->note = note;
	*ret = p;
	return 0;
}

void rp_policy_free(struct rp_policy *p)
{
	if (!p)
		return;
	rp_note_free(p->note);
	free(p);
}

char *rp_policy_format(const struct rp_policy *p, size_t *ret_len)
{
	struct rp_sb sb;
	char t[21];

	rp_sb_init(&sb, RP_NOTE_MAX);
	rp_time_format(p->expires, t);
	rp_sb_printf(&sb, "%s\norg %s\nversion %llu\nexpires %s\n", policy_header, p->org,
		     (unsigned long long)p->version, t);
	for (size_t i = 0; i < p->nkeys; i++) {
		char *k = rp_vkey_format(&p->keys[i]);
		if (!k) {
			rp_sb_release(&sb);
			return NULL;
		}
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	}
	for (int r = 0; r < RP_ROLE_COUNT; r++) {
		rp_sb_printf(&sb, "role %s %u", role_names[r], p->roles[r].threshold);
		for (size_t i = 0; i < p->roles[r].nkeys; i++)
			rp_sb_printf(&sb, " %s", p->keys[p->roles[r].keys[i]].name);
		rp_sb_puts(&sb, "\n");
	}
	for (size_t i = 0; i < p->ngthresholds; i++)
		rp_sb_printf(&sb, "device-group-threshold %s %s %u\n", p->gthresholds[i].dgroup,
			     role_names[p->gthresholds[i].role], p->gthresholds[i].threshold);
	rp_sb_printf(&sb, "freshness %lld\n", (long long)p->freshness);
	for (size_t i = 0; i < p->npins; i++) {
		char hex[65];
		rp_hex_encode(p->pins[i], 32, hex);
		rp_sb_printf(&sb, "server-pin sha256:%s\n", hex);
	}
	rp_wpolicy_format(&p->wp, &sb);
	return rp_sb_take(&sb, ret_len);
}

int rp_quorum_check(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		    size_t *ret_count, struct rp_diag *d)
{
	return rp_quorum_signers(p, role, note, ret_count, NULL, d);
}

uint32_t rp_policy_threshold(const struct rp_policy *p, enum rp_role_id role,
			     const char (*groups)[RP_USER_NAME_MAX + 1], size_t ngroups)
{
	uint32_t t = role < RP_ROLE_COUNT ? p->roles[role].threshold : 0;

	for (size_t i = 0; i < p->ngthresholds; i++) {
		if (p->gthresholds[i].role != role || p->gthresholds[i].threshold <= t)
			continue;
		for (size_t j = 0; j < ngroups; j++)
			if (!strcmp(p->gthresholds[i].dgroup, groups[j]))
				t = p->gthresholds[i].threshold;
	}
	return t;
}

static int quorum(const struct rp_policy *p, enum rp_role_id role, uint32_t min,
		  const struct rp_note *note, size_t *ret_count,
		  bool ret_signed[RP_POLICY_KEYS_MAX], struct rp_diag *d);

int rp_quorum_check_min(const struct rp_policy *p, enum rp_role_id role, uint32_t min,
			const struct rp_note *note, size_t *ret_count, struct rp_diag *d)
{
	return quorum(p, role, min, note, ret_count, NULL, d);
}

int rp_quorum_signers(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		      size_t *ret_count, bool ret_signed[RP_POLICY_KEYS_MAX], struct rp_diag *d)
{
	return quorum(p, role, 0, note, ret_count, ret_signed, d);
}

static int quorum(const struct rp_policy *p, enum rp_role_id role, uint32_t min,
		  const struct rp_note *note, size_t *ret_count,
		  bool ret_signed[RP_POLICY_KEYS_MAX], struct rp_diag *d)
{
	uint32_t threshold;
	const struct rp_role *rl;
	struct rp_vkey keys[RP_POLICY_KEYS_MAX];
	bool ok[RP_POLICY_KEYS_MAX];
	size_t count = 0;
	int r;

	if (role >= RP_ROLE_COUNT)
		return RP_E_INVAL;
	rl = &p->roles[role];
	if (rl->threshold < 1) {
		/* Parsing never yields this; a hand-built policy must not either. */
		rp_diagf(d, "role %s has threshold 0", role_names[role]);
		return RP_E_POLICY;
	}
	for (size_t i = 0; i < rl->nkeys; i++)
		keys[i] = p->keys[rl->keys[i]];
	r = rp_note_verify(note, keys, rl->nkeys, ok, d);
	if (r == RP_E_NOSIG) {
		rp_diagf(d, "no signature by a key of role %s", role_names[role]);
		if (ret_count)
			*ret_count = 0;
		return RP_E_QUORUM;
	}
	if (r < 0)
		return r;
	/* Distinct public keys: the parser already refuses a key listed twice. */
	for (size_t i = 0; i < rl->nkeys; i++)
		count += ok[i];
	if (ret_count)
		*ret_count = count;
	if (ret_signed) {
		memset(ret_signed, 0, RP_POLICY_KEYS_MAX * sizeof(bool));
		for (size_t i = 0; i < rl->nkeys; i++)
			ret_signed[rl->keys[i]] = ok[i];
	}
	threshold = rl->threshold > min ? rl->threshold : min;
	if (count < threshold) {
		rp_diagf(d, "%zu of %u required signatures of role %s%s", count, threshold,
			 role_names[role], threshold > rl->threshold ? " (a device group's)" : "");
		return RP_E_QUORUM;
	}
	return 0;
}

static bool role_has(const struct rp_policy *p, enum rp_role_id role, size_t key)
{
	for (size_t i = 0; i < p->roles[role].nkeys; i++)
		if (p->roles[role].keys[i] == key)
			return true;
	return false;
}

int rp_policy_classify(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		       struct rp_sig_check ret[RP_NOTE_SIGS_MAX], size_t *ret_count)
{
	struct rp_sig_check out[RP_NOTE_SIGS_MAX];
	bool seen[RP_POLICY_KEYS_MAX] = {false};
	size_t count = 0;

	if (role >= RP_ROLE_COUNT || note->nsigs > RP_NOTE_SIGS_MAX)
		return RP_E_INVAL;
	for (size_t i = 0; i < note->nsigs; i++) {
		const struct rp_note_sig *s = &note->sigs[i];
		struct rp_sig_check v = {RP_SIG_UNKNOWN, -1, false};

		for (size_t k = 0; k < p->nkeys; k++) {
			if (strcmp(p->keys[k].name, s->name) != 0)
				continue;
			v.key = (int)k;
			if (!rp_note_sig_names(s, &p->keys[k]))
				v.verdict = RP_SIG_IMPOSTOR;
			else if (!rp_note_sig_valid(note, i, &p->keys[k]))
				v.verdict = RP_SIG_BAD;
			else {
				v.verdict = role_has(p, role, k) ? RP_SIG_ROLE : RP_SIG_OTHER;
				v.first = !seen[k];
				seen[k] = true;
				count += v.first && v.verdict == RP_SIG_ROLE;
			}
			break; /* names are unique in a policy */
		}
		out[i] = v;
	}
	memcpy(ret, out, note->nsigs * sizeof(out[0]));
	if (ret_count)
		*ret_count = count;
	return 0;
}

static bool sig_valid(const struct rp_sig_check *v)
{
	return v->verdict == RP_SIG_ROLE || v->verdict == RP_SIG_OTHER;
}

static bool sig_forged(const struct rp_sig_check *v)
{
	return v->verdict == RP_SIG_BAD || v->verdict == RP_SIG_IMPOSTOR;
}

int rp_policy_rotation_sigs(const struct rp_policy *cur, const struct rp_policy *next,
			    struct rp_rotation_sigs *ret)
{
	struct rp_rotation_sigs v = {0}, *x = &v;
	const struct rp_note *note = next->note;
	int r;

	if (!note)
		return RP_E_NOSIG;
	if ((r = rp_policy_classify(cur, RP_ROLE_ROOT, note, x->old, &x->have_old)) < 0 ||
	    (r = rp_policy_classify(next, RP_ROLE_ROOT, note, x->new, &x->have_new)) < 0)
		return r;
	for (size_t i = 0; i < note->nsigs; i++) {
		const struct rp_sig_check *o = &x->old[i], *n = &x->new[i];

		x->keep[i] = (sig_valid(o) && o->first) || (sig_valid(n) && n->first);
		x->forged[i] = !sig_valid(o) && !sig_valid(n) && (sig_forged(o) || sig_forged(n));
		x->nkept += x->keep[i];
		x->nforged += x->forged[i];
	}
	*ret = v;
	return 0;
}

const char *rp_sig_verdict_name(enum rp_sig_verdict v)
{
	switch (v) {
	case RP_SIG_ROLE: return "valid";
	case RP_SIG_OTHER: return "valid (other role)";
	case RP_SIG_BAD: return "INVALID";
	case RP_SIG_IMPOSTOR: return "IMPOSTOR";
	case RP_SIG_UNKNOWN: return "unknown key";
	}
	return "?";
}

int rp_policy_verify_initial(const struct rp_policy *p, const char *want_hash, int64_t now,
			     struct rp_diag *d)
{
	int r;

	if (strcmp(p->hash, want_hash) != 0) {
		rp_diagf(d, "root policy hash %s is not the expected %s", p->hash, want_hash);
		return RP_E_POLICY;
	}
	if (!p->note) {
		rp_diagf(d, "root policy carries no signatures");
		return RP_E_POLICY;
	}
	if ((r = rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, d)) < 0)
		return r;
	if (now >= p->expires) {
		char t[21];
		rp_time_format(p->expires, t);
		rp_diagf(d, "root policy version %llu expired at %s",
			 (unsigned long long)p->version, t);
		return RP_E_EXPIRED;
	}
	return 0;
}

int rp_policy_verify_rotation(const struct rp_policy *cur, const struct rp_policy *next,
			      struct rp_diag *d)
{
	int r;

	if (strcmp(cur->org, next->org) != 0) {
		rp_diagf(d, "root policy for org `%s' in the chain of org `%s'", next->org,
			 cur->org);
		return RP_E_ORG;
	}
	if (next->version != cur->version + 1) {
		rp_diagf(d, "root policy version %llu does not follow version %llu",
			 (unsigned long long)next->version, (unsigned long long)cur->version);
		return RP_E_POLICY;
	}
	if (!next->note) {
		rp_diagf(d, "root policy carries no signatures");
		return RP_E_POLICY;
	}
	if ((r = rp_quorum_check(cur, RP_ROLE_ROOT, next->note, NULL, d)) < 0)
		return r;
	return rp_quorum_check(next, RP_ROLE_ROOT, next->note, NULL, d);
}
