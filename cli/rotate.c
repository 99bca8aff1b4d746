/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root policy version N+1 (issue 9): rampart policy propose|status|submit,
 * the review of a pending proposal for `rampart approve', and the trusted
 * copy following the server's published chain (cli_policy_follow).
 *
 * Everything is judged against the CLI's TRUSTED copy of version N, never
 * the server's word: a proposal is built from it, shown as a diff against
 * it, and its signatures are classified against its root role and the
 * proposal's own; a published version is trusted only once
 * rp_policy_verify_rotation accepts it after the one before.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "rp_err.h"
#include "verify.h"

/* ---- the diff ---- */

struct lines {
	size_t n;
	const char *p[RP_POLICY_DIFF_LINES_MAX];
	size_t len[RP_POLICY_DIFF_LINES_MAX];
};

static int split_lines(const char *s, size_t n, struct lines *ret)
{
	struct rp_cursor c = {s, n};
	const char *line;
	size_t llen;

	ret->n = 0;
	while (rp_cursor_line(&c, &line, &llen) == 1) {
		if (ret->n == RP_POLICY_DIFF_LINES_MAX)
			return RP_E_TOOBIG;
		ret->p[ret->n] = line;
		ret->len[ret->n++] = llen;
	}
	return 0;
}

static bool line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

static void diff_line(FILE *f, const char *mark, const char *p, size_t n)
{
	char *s = strndup(p, n);

	fputs(mark, f);
	fputs(CLI_GUTTER, f);
	cli_put(f, s ? s : "(out of memory)");
	fputc('\n', f);
	free(s);
}

size_t cli_policy_diff(FILE *f, const char *a, size_t alen, const char *b, size_t blen)
{
	struct lines *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	uint16_t *t = NULL; /* LCS lengths of the suffixes, (x->n + 1) * (y->n + 1) */
	size_t changes = 0, i = 0, j = 0, w;

	if (!x || !y || split_lines(a, alen, x) < 0 || split_lines(b, blen, y) < 0) {
		fprintf(f, "(the texts are longer than the %d lines the diff compares)\n",
			RP_POLICY_DIFF_LINES_MAX);
		changes = SIZE_MAX;
		goto out;
	}
	w = y->n + 1;
	if (!(t = calloc((x->n + 1) * w, sizeof(*t)))) {
		changes = SIZE_MAX;
		goto out;
	}
	for (size_t p = x->n; p-- > 0;)
		for (size_t q = y->n; q-- > 0;)
			t[p * w + q] = line_eq(x, p, y, q) ? (uint16_t)(t[(p + 1) * w + q + 1] + 1)
				       : t[(p + 1) * w + q] >= t[p * w + q + 1] ? t[(p + 1) * w + q]
										: t[p * w + q + 1];
	while (i < x->n || j < y->n) {
		if (i < x->n && j < y->n && line_eq(x, i, y, j)) {
			diff_line(f, "  ", x->p[i], x->len[i]);
			i++, j++;
		} else if (i < x->n && (j == y->n || t[(i + 1) * w + j] >= t[i * w + j + 1])) {
			/* removed lines before the added ones that replace them */
			diff_line(f, "- ", x->p[i], x->len[i]);
			i++, changes++;
		} else {
			diff_line(f, "+ ", y->p[j], y->len[j]);
			j++, changes++;
		}
	}
out:
	free(t);
	free(x);
	free(y);
	return changes;
}

/* ---- following the chain ---- */

/* GET path with the answer capped at max bytes; NULL with d set. */
static json_t *get_capped(struct cli *c, const char *path, size_t max, struct rp_diag *d)
{
	size_t was = c->api.http.max_body;
	json_t *j = NULL;

	c->api.http.max_body = max;
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, d) < 0)
		j = NULL;
	c->api.http.max_body = was;
	return j;
}

int cli_policy_follow(struct cli *c, struct rp_policy **pp, const char *path)
{
	struct rp_policy *p = *pp, *good = NULL;
	struct rp_diag d = {""};
	char url[256], *good_text = NULL;
	uint64_t have = p->version, server;
	size_t bytes = 0;
	json_t *j;
	int r = 0;

	snprintf(url, sizeof(url), "/v1/orgs/%s/policy", c->org);
	if (!(j = get_capped(c, url, RP_POLICY_ANSWER_MAX, &d)))
		return 0; /* the command's own request will say what is wrong with the server */
	server = (uint64_t)json_integer_value(json_object_get(j, "version"));
	json_decref(j);
	if (server < have) {
		cli_err("SECURITY: the server's current root policy of %s is version %llu, older "
			"than your trusted version %llu: it is rolled back or not the server your "
			"colleagues use",
			c->org, (unsigned long long)server, (unsigned long long)have);
		return 0;
	}
	for (uint64_t v = have + 1; v <= server; v++) {
		struct rp_policy *next = NULL;
		const struct rp_policy *prev = good ? good : p;
		const char *text;

		if (v - have > RP_POLICY_CHAIN_MAX || bytes > RP_POLICY_CHAIN_BYTES) {
			cli_err("warning: the server has root policy versions up to %llu; this run "
				"followed %d of them (or %d bytes): run again to follow the rest",
				(unsigned long long)server, RP_POLICY_CHAIN_MAX,
				RP_POLICY_CHAIN_BYTES);
			break;
		}
		snprintf(url, sizeof(url), "/v1/orgs/%s/policies/%llu", c->org,
			 (unsigned long long)v);
		if (!(j = get_capped(c, url, RP_POLICY_ANSWER_MAX, &d))) {
			cli_err("root policy version %llu: %s; trusting version %llu",
				(unsigned long long)v, d.msg, (unsigned long long)prev->version);
			break;
		}
		text = json_string_value(json_object_get(j, "policy"));
		bytes += text ? strlen(text) : 0;
		if (!text || rp_policy_parse(text, strlen(text), &next, &d) < 0 ||
		    next->version != v || rp_policy_verify_rotation(prev, next, &d) < 0) {
			cli_err("SECURITY: root policy version %llu from the server does not follow "
				"version %llu: %s. Nothing beyond version %llu is trusted; the server "
				"is serving a root policy your colleagues did not sign",
				(unsigned long long)v, (unsigned long long)prev->version,
				!text                ? "no policy in the answer"
				: !next              ? d.msg
				: next->version != v ? "it is another version"
						     : d.msg,
				(unsigned long long)prev->version);
			rp_policy_free(next);
			json_decref(j);
			r = RP_E_POLICY;
			break;
		}
		rp_policy_free(good);
		free(good_text);
		good = next;
		good_text = strdup(text);
		json_decref(j);
		if (!good_text) {
			r = RP_E_NOMEM;
			break;
		}
	}
	/* Forward only, and atomically: the file holds one whole verified version. */
	if (good && good->version > have) {
		char genesis[600];
		/* Version 1 is kept aside first: `rampart audit' starts its chain there. */
		if (p->version == 1 && p->note &&
		    cli_genesis_policy_path(c, c->org, genesis, sizeof(genesis)) == 0 &&
		    access(genesis, F_OK) != 0 &&
		    rp_write_file_atomic(genesis, p->note->msg, p->note->msg_len, 0644) < 0)
			cli_err("warning: cannot keep root policy version 1 at %s for the audit",
				genesis);
		if (rp_write_file_atomic(path, good_text, strlen(good_text), 0644) < 0) {
			cli_err("cannot update the trusted root policy %s", path);
			r = r < 0 ? r : RP_E_IO;
		} else {
			fprintf(stderr,
				"rampart: trusted root policy of %s follows the chain from version "
				"%llu to %llu %s (each signed by the root quorum of the one "
				"before)\n",
				c->org, (unsigned long long)have, (unsigned long long)good->version,
				good->hash);
			rp_policy_free(p);
			*pp = good;
			good = NULL;
		}
	}
	rp_policy_free(good);
	free(good_text);
	return r;
}

void cli_policy_warn_expiry(const struct rp_policy *p)
{
	struct rp_diag d = {""};

	if (rp_verify_policy_expiry(p, rp_now(), &d) != 0)
		cli_err("warning: org %s: %s; renew it with `rampart policy propose --expires'",
			p->org, d.msg);
}

/* ---- a proposal, judged against the trusted version N ---- */

struct proposal {
	struct rp_policy *next;
	struct rp_rotation_sigs v; /* every line against N's root role and N+1's */
	char problem[512];
};

/* 0 with x filled, or an error with x->problem saying what. */
static int proposal_check(const struct rp_policy *cur, const char *note, struct proposal *x)
{
	struct rp_diag d = {""};

	memset(x, 0, sizeof(*x));
	if (rp_policy_parse(note, strlen(note), &x->next, &d) < 0) {
		snprintf(x->problem, sizeof(x->problem), "the proposal does not parse: %s", d.msg);
		return RP_E_MALFORMED;
	}
	if (strcmp(x->next->org, cur->org) != 0 || x->next->version != cur->version + 1) {
		snprintf(x->problem, sizeof(x->problem),
			 "the proposal is version %llu of org %s, not version %llu of %s",
			 (unsigned long long)x->next->version, x->next->org,
			 (unsigned long long)cur->version + 1, cur->org);
		return RP_E_POLICY;
	}
	if (rp_policy_rotation_sigs(cur, x->next, &x->v) < 0) {
		snprintf(x->problem, sizeof(x->problem), "its signatures cannot be classified");
		return RP_E_POLICY;
	}
	return 0;
}

static void proposal_release(struct proposal *x)
{
	rp_policy_free(x->next);
	x->next = NULL;
}

/* One line per signature line: valid for which quorum, or forged, or nobody's. */
static void proposal_signatures(FILE *f, const struct proposal *x)
{
	for (size_t i = 0; i < x->next->note->nsigs; i++) {
		const struct rp_sig_check *o = &x->v.old[i], *n = &x->v.new[i];
		bool ro = o->verdict == RP_SIG_ROLE && o->first,
		     rn = n->verdict == RP_SIG_ROLE && n->first;

		fputs("  ", f);
		if (ro || rn) {
			fputs("signed by ", f);
			cli_put(f, x->next->note->sigs[i].name);
			fprintf(f, " (valid: counts for the root quorum of %s)\n",
				ro && rn ? "both versions"
				: ro     ? "the trusted version only"
					 : "the new version only");
		} else if (x->v.keep[i]) {
			fputs("signed by ", f);
			cli_put(f, x->next->note->sigs[i].name);
			fputs(" (valid, but not a root key: not counted)\n", f);
		} else if (x->v.forged[i]) {
			fputs("FORGED signature line claiming ", f);
			cli_put(f, x->next->note->sigs[i].name);
			fputs(" (does not verify with that key of either version): NOT counted\n",
			      f);
		} else if (o->verdict == RP_SIG_UNKNOWN && n->verdict == RP_SIG_UNKNOWN) {
			fputs("signature by ", f);
			cli_put(f, x->next->note->sigs[i].name);
			fputs(", a key of neither version: not counted\n", f);
		} else {
			fputs("again by ", f);
			cli_put(f, x->next->note->sigs[i].name);
			fputs(" (valid, counted once)\n", f);
		}
	}
}

static void proposal_quorums(FILE *f, const struct rp_policy *cur, const struct proposal *x)
{
	fprintf(f,
		"---- root quorum of version %llu (trusted): %zu of %u; of version %llu (its own): "
		"%zu of %u ----\n",
		(unsigned long long)cur->version, x->v.have_old, cur->roles[RP_ROLE_ROOT].threshold,
		(unsigned long long)x->next->version, x->v.have_new,
		x->next->roles[RP_ROLE_ROOT].threshold);
}

/* The diff against the trusted text, then what is dangerous in it, loudly. */
static void proposal_show(FILE *f, const struct rp_policy *cur, const struct rp_policy *next,
			  const char *text, size_t len)
{
	fprintf(f,
		"---- root policy version %llu -> %llu (\"- \" removed, \"+ \" added, against "
		"your trusted version %llu) ----\n",
		(unsigned long long)cur->version, (unsigned long long)next->version,
		(unsigned long long)cur->version);
	cli_policy_diff(f, cur->note->msg, cur->note->text_len, text, len);
	fprintf(f, "---- policy %s ----\n", next->hash);
	for (size_t i = 0; i < cur->nkeys; i++)
		if (rp_policy_key_index(next, cur->keys[i].name) < 0) {
			fputs("REMOVED: key ", f);
			cli_put(f, cur->keys[i].name);
			fputs(" can sign nothing once this is published\n", f);
		}
	for (size_t i = 0; i < next->nkeys; i++)
		if (rp_policy_key_index(cur, next->keys[i].name) < 0) {
			fputs("ADDED: key ", f);
			cli_put(f, next->keys[i].name);
			fputs(" (compare its key id with its holder before you sign)\n", f);
		}
	if (!rp_vkey_equal(&cur->wp.log, &next->wp.log)) {
		fputs("NEW LOG: the log key becomes ", f);
		cli_put(f, next->wp.log.name);
		fputs(". This version is the last entry of the current log and the first of the new\n"
		      "one; agents move to it. Compare the key with the one `rampartd rotate log-key'\n"
		      "printed on the server, and sign only once every witness has added it\n"
		      "(`rampart-witness add-log'): a new log no witness cosigns delivers nothing.\n",
		      f);
	}
}

/* The diff, every signature line as verified, both quorums. */
static void proposal_review(FILE *f, const struct rp_policy *cur, const struct proposal *x)
{
	proposal_show(f, cur, x->next, x->next->note->msg, x->next->note->text_len);
	fprintf(f,
		"---- signatures (verified against your trusted version %llu and the proposal) "
		"----\n",
		(unsigned long long)cur->version);
	proposal_signatures(f, x);
	if (x->v.nforged)
		fprintf(f,
			"SECURITY: %zu FORGED signature line%s: the server, or whoever wrote this "
			"proposal, is impersonating an administrator. Report it; your signature "
			"does not carry them.\n",
			x->v.nforged, x->v.nforged == 1 ? "" : "s");
	proposal_quorums(f, cur, x);
}

/* ---- building N+1 ---- */

static int role_arg(const char *arg, const char **ret_value)
{
	const char *eq = strchr(arg, '=');
	int role = eq ? rp_role_from_name(arg, (size_t)(eq - arg)) : -1;

	if (role < 0)
		cli_err("policy propose: `%s' is not ROLE=VALUE with ROLE root, exec, query or "
			"directory",
			arg);
	else
		*ret_value = eq + 1;
	return role;
}

static void role_drop_key(struct rp_role *r, size_t k)
{
	size_t o = 0;

	for (size_t i = 0; i < r->nkeys; i++) {
		if (r->keys[i] == k)
			continue;
		r->keys[o++] = (uint8_t)(r->keys[i] > k ? r->keys[i] - 1 : r->keys[i]);
	}
	r->nkeys = o;
}

static int remove_key(struct rp_policy *p, const char *name, bool revoke)
{
	int k = rp_policy_key_index(p, name);

	if (k < 0) {
		cli_err("policy propose: key `%s' is not in the trusted root policy", name);
		return RP_E_INVAL;
	}
	for (int r = 0; r < RP_ROLE_COUNT; r++)
		role_drop_key(&p->roles[r], (size_t)k);
	memmove(&p->keys[k], &p->keys[k + 1], (p->nkeys - (size_t)k - 1) * sizeof(p->keys[0]));
	p->nkeys--;
	if (revoke)
		fprintf(stderr,
			"rampart: REVOKING key %s: it is removed from every role and from the key "
			"list. Once version %llu is published, rampartd refuses its requests and "
			"agents refuse statements it signs alone. Statements it signed before stay "
			"in the log: review them (`rampart audit'). If the key was stolen, publish "
			"quickly and tell the other administrators.\n",
			name, (unsigned long long)p->version);
	return 0;
}

static int set_members(struct rp_policy *p, int role, const char *list)
{
	struct rp_role r = {.threshold = p->roles[role].threshold};

	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		char name[RP_NOTE_NAME_MAX + 1];
		int k = -1;
		bool dup = false;

		if (n > 0 && n <= RP_NOTE_NAME_MAX) {
			memcpy(name, s, n);
			name[n] = '\0';
			k = rp_policy_key_index(p, name);
		}
		if (k < 0) {
			cli_err("policy propose: --members: no key `%.*s' in the policy", (int)n,
				s);
			return RP_E_INVAL;
		}
		for (size_t i = 0; i < r.nkeys; i++)
			dup |= r.keys[i] == k;
		if (!dup)
			r.keys[r.nkeys++] = (uint8_t)k;
		s += n + (s[n] == ',');
	}
	p->roles[role] = r;
	return 0;
}

/*
 * The witness lines rebuilt in `rampart org init''s shape (the witnesses,
 * one group of all of them, its quorum), with the changes asked for. A
 * policy of another shape is edited by hand (--from FILE).
 */
static int edit_witnesses(struct rp_policy *p, const char *const *add, size_t nadd,
			  const char *const *del, size_t ndel, const char *quorum)
{
	struct rp_wpolicy *wp = &p->wp, nw = {0};
	struct rp_diag d = {""};
	struct rp_sb sb;
	char *text = NULL, *lk;
	uint64_t k;
	size_t n = 0;
	int r = 0;
	bool simple = (wp->ngroups == 0 && wp->quorum < 0) ||
		      (wp->ngroups == 1 && wp->groups[0].nmembers == wp->nwitnesses &&
		       wp->quorum == RP_POLICY_WITNESSES_MAX);

	if (!simple) {
		cli_err("policy propose: the trusted policy's witness groups are not one group of "
			"all witnesses; write the lines by hand and use --from FILE");
		return RP_E_INVAL;
	}
	k = wp->ngroups ? wp->groups[0].threshold : 0;
	rp_sb_init(&sb, RP_NOTE_MAX);
	lk = rp_vkey_format(&wp->log);
	rp_sb_printf(&sb, "log %s%s%s\n", lk ? lk : "", wp->log_url[0] ? " " : "", wp->log_url);
	free(lk);
	for (size_t i = 0; i < wp->nwitnesses; i++) {
		bool gone = false;
		for (size_t j = 0; j < ndel; j++)
			gone |= !strcmp(del[j], wp->witnesses[i].name);
		if (gone)
			continue;
		char *v = rp_vkey_format(&wp->witnesses[i].key);
		rp_sb_printf(&sb, "witness %s %s%s%s\n", wp->witnesses[i].name, v ? v : "",
			     wp->witnesses[i].url[0] ? " " : "", wp->witnesses[i].url);
		free(v);
		n++;
	}
	if (n + ndel != wp->nwitnesses) {
		cli_err("policy propose: --remove-witness names a witness the policy does not have");
		rp_sb_release(&sb);
		return RP_E_INVAL;
	}
	for (size_t i = 0; i < nadd; i++, n++)
		rp_sb_printf(&sb, "witness %s\n", add[i]);
	if (quorum && (rp_parse_u64(quorum, strlen(quorum), n, &k) != 0 || k < 1)) {
		cli_err("policy propose: --quorum `%s' must be a number from 1 to the %zu witnesses",
			quorum, n);
		rp_sb_release(&sb);
		return RP_E_INVAL;
	}
	if (k > n)
		k = n; /* a removed witness takes its place in an `all' quorum with it */
	if (k == 0)
		k = n; /* witnesses where there were none: all of them, unless --quorum */
	if (n > 0) {
		rp_sb_printf(&sb, "group witnesses %llu", (unsigned long long)k);
		for (size_t i = 0; i < wp->nwitnesses; i++) {
			bool gone = false;
			for (size_t j = 0; j < ndel; j++)
				gone |= !strcmp(del[j], wp->witnesses[i].name);
			if (!gone)
				rp_sb_printf(&sb, " %s", wp->witnesses[i].name);
		}
		for (size_t i = 0; i < nadd; i++)
			rp_sb_printf(&sb, " %.*s", (int)strcspn(add[i], " "), add[i]);
		rp_sb_puts(&sb, "\nquorum witnesses\n");
	} else {
		rp_sb_puts(&sb, "quorum none\n");
		fprintf(stderr,
			"rampart: warning: no witnesses left: agents will trust checkpoints signed "
			"by the server's log key alone, so a breached server could show them a "
			"forked log\n");
	}
	if (!(text = rp_sb_take(&sb, NULL)))
		return RP_E_NOMEM;
	if ((r = cli_wpolicy_lines(&nw, text, &d)) < 0)
		cli_err("policy propose: witnesses: %s", d.msg);
	else
		*wp = nw;
	free(text);
	return r;
}

/* What would lock the org out, refused before anything is signed. */
static int lockout_check(const struct rp_policy *p)
{
	for (int r = 0; r < RP_ROLE_COUNT; r++) {
		if (p->roles[r].nkeys == 0) {
			cli_err("policy propose: refused: role %s would have no keys%s",
				rp_role_name(r),
				r == RP_ROLE_ROOT ? ": nobody could ever change the policy again"
						  : "");
			return RP_E_POLICY;
		}
		if (p->roles[r].threshold > p->roles[r].nkeys) {
			cli_err("policy propose: refused: role %s would need %u signatures of its %zu "
				"keys%s; lower it with --threshold %s=M",
				rp_role_name(r), p->roles[r].threshold, p->roles[r].nkeys,
				r == RP_ROLE_ROOT ? ", so nobody could ever change the policy again"
						  : "",
				rp_role_name(r));
			return RP_E_POLICY;
		}
	}
	return 0;
}

/* The signed note to the server; prints the state it answers. */
static int upload(struct cli *c, const char *note)
{
	struct rp_diag d = {""};
	json_t *b = json_pack("{s:s}", "policy", note), *resp = NULL, *o, *n;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/v1/orgs/%s/policies", c->org);
	r = b ? rp_api_call(&c->api, "POST", path, b, &resp, NULL, &d) : RP_E_NOMEM;
	json_decref(b);
	if (r < 0) {
		cli_err("policy: upload refused: %s", d.msg);
		return r;
	}
	/* The server's word on the state; `rampart policy status' verifies it. */
	o = json_object_get(resp, "old");
	n = json_object_get(resp, "new");
	const char *state = json_string_value(json_object_get(resp, "state"));
	if (state && !strcmp(state, "published"))
		printf("server: published at log index %lld (the CLI's trusted copy follows it on "
		       "the next command, after verifying it)\n",
		       (long long)json_integer_value(json_object_get(resp, "index")));
	else
		printf("server: pending: root quorum of version N %lld of %lld, of N+1 %lld of "
		       "%lld\n",
		       (long long)json_integer_value(json_object_get(o, "have")),
		       (long long)json_integer_value(json_object_get(o, "need")),
		       (long long)json_integer_value(json_object_get(n, "have")),
		       (long long)json_integer_value(json_object_get(n, "need")));
	json_decref(resp);
	return 0;
}

static const char propose_help[] =
	"Usage: rampart policy propose [CHANGES] [--yes] [--out FILE]\n\n"
	"Builds version N+1 of the org's root policy from your TRUSTED copy of version N\n"
	"(never from the server's), shows the exact diff against N, refuses what would\n"
	"lock the org out (a role with no keys, a threshold above its key count), signs\n"
	"it with your key once you confirm (--yes: do not ask) and uploads it. The\n"
	"server publishes it (stores it and appends it to the log) once it carries a\n"
	"root quorum of version N and one of its own; until then the other root key\n"
	"holders sign it with `rampart approve --policy'.\n\n"
	"Changes (each may repeat):\n"
	"  --add-admin VKEY --roles LIST  a key (a .vkey file or the key text) and the\n"
	"                      roles it joins, e.g. --roles root,exec,query,directory\n"
	"  --remove-admin NAME a key leaves every role and the key list\n"
	"  --revoke NAME       the same, for a lost or stolen key (says what it means)\n"
	"  --threshold ROLE=M  a role needs M signatures\n"
	"  --members ROLE=NAME,NAME...  a role's keys, replacing its list\n"
	"  --add-witness 'NAME VKEY URL'  a witness asked to cosign (tlog-policy line)\n"
	"  --remove-witness NAME\n"
	"  --quorum K          witness cosignatures agents require\n"
	"  --expires WHEN      365d, 24h, ... or YYYY-MM-DDTHH:MM:SSZ (default: kept)\n"
	"  --freshness S       seconds a cosigned checkpoint stays fresh\n"
	"  --server-pin PIN    a server TLS key agents accept (sha256:..., from `rampartd\n"
	"                      rotate tls'); the first replaces the list, up to 4\n"
	"  --no-server-pins    none: agents go back to their enrolment token's pin\n"
	"  --log-key VKEY      a new log key (log key rotation: the key `rampartd rotate\n"
	"                      log-key' printed); the current log ends with this version\n"
	"  --log-url URL       the address the `log' line gives (default: none for a new\n"
	"                      log key, else kept)\n"
	"  --from FILE         the whole text of N+1, edited by hand (version N+1)\n"
	"  --out FILE          also write the signed proposal to FILE, for keys kept\n"
	"                      offline (`rampart policy sign', then `policy submit')\n";

static int policy_propose(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"add-admin", required_argument, NULL, 'a'},
		{"roles", required_argument, NULL, 'R'},
		{"remove-admin", required_argument, NULL, 'd'},
		{"revoke", required_argument, NULL, 'X'},
		{"threshold", required_argument, NULL, 't'},
		{"members", required_argument, NULL, 'm'},
		{"add-witness", required_argument, NULL, 'W'},
		{"remove-witness", required_argument, NULL, 'w'},
		{"quorum", required_argument, NULL, 'Q'},
		{"expires", required_argument, NULL, 'x'},
		{"freshness", required_argument, NULL, 'F'},
		{"server-pin", required_argument, NULL, 'P'},
		{"no-server-pins", no_argument, NULL, 'N'},
		{"log-key", required_argument, NULL, 'L'},
		{"log-url", required_argument, NULL, 'U'},
		{"from", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'O'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_policy *cur = NULL, *next = NULL, *check = NULL;
	struct rp_diag d = {""};
	const char *wadd[RP_POLICY_WITNESSES_MAX], *wdel[RP_POLICY_WITNESSES_MAX];
	const char *quorum = NULL, *from = NULL, *out = NULL, *expires = NULL, *log_url = NULL;
	size_t nwadd = 0, nwdel = 0, len;
	bool yes = false, changed = false, witness_change = false;
	char *text = NULL, *note = NULL, *buf = NULL;
	int ch, r = 1, last_added = -1;
	uint64_t freshness = 0;
	bool pins_set = false;

	if (cli_is_help(argc, argv)) {
		fputs(propose_help, stdout);
		return 0;
	}
	if (cli_need_server(c, true) < 0 || !(cur = cli_policy(c)))
		return 1;
	if (!(next = calloc(1, sizeof(*next))))
		goto out;
	*next = *cur;
	next->note = NULL;
	next->version = cur->version + 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		const char *v = NULL;
		int role;
		switch (ch) {
		case 'a':
			if (next->nkeys == RP_POLICY_KEYS_MAX) {
				cli_err("policy propose: more than %d keys", RP_POLICY_KEYS_MAX);
				goto out;
			}
			if (cli_admin_vkey(optarg, &next->keys[next->nkeys]) < 0)
				goto out;
			last_added = (int)next->nkeys++;
			changed = true;
			break;
		case 'R':
			if (last_added < 0) {
				cli_err("policy propose: --roles follows the --add-admin it is for");
				goto out;
			}
			for (const char *s = optarg; *s;) {
				size_t n = strcspn(s, ",");
				if ((role = rp_role_from_name(s, n)) < 0) {
					cli_err("policy propose: --roles `%s': not a role name",
						optarg);
					goto out;
				}
				struct rp_role *rl = &next->roles[role];
				bool dup = false;
				for (size_t i = 0; i < rl->nkeys; i++)
					dup |= rl->keys[i] == last_added;
				if (!dup)
					rl->keys[rl->nkeys++] = (uint8_t)last_added;
				s += n + (s[n] == ',');
			}
			last_added = -1;
			break;
		case 'd':
		case 'X':
			if (remove_key(next, optarg, ch == 'X') < 0)
				goto out;
			last_added = -1;
			changed = true;
			break;
		case 't':
			if ((role = role_arg(optarg, &v)) < 0)
				goto out;
			uint64_t t;
			if (rp_parse_u64(v, strlen(v), RP_POLICY_KEYS_MAX, &t) != 0 || t < 1) {
				cli_err("policy propose: --threshold %s: not a number from 1 to %d",
					optarg, RP_POLICY_KEYS_MAX);
				goto out;
			}
			next->roles[role].threshold = (uint32_t)t;
			changed = true;
			break;
		case 'm':
			if ((role = role_arg(optarg, &v)) < 0 || set_members(next, role, v) < 0)
				goto out;
			changed = true;
			break;
		case 'P':
		case 'N':
			/* the first one replaces the list: the new version names exactly these */
			if (!pins_set)
				next->npins = 0;
			pins_set = changed = true;
			if (ch == 'N')
				break;
			if (next->npins == RP_POLICY_PINS_MAX) {
				cli_err("policy propose: more than %d --server-pin",
					RP_POLICY_PINS_MAX);
				goto out;
			}
			if (rp_pin_parse(optarg, next->pins[next->npins], &d) < 0) {
				cli_err("policy propose: --server-pin: %s", d.msg);
				goto out;
			}
			next->npins++;
			break;
		case 'W':
		case 'w':
			if ((ch == 'W' ? nwadd : nwdel) == RP_POLICY_WITNESSES_MAX) {
				cli_err("policy propose: more than %d witnesses",
					RP_POLICY_WITNESSES_MAX);
				goto out;
			}
			if (ch == 'W')
				wadd[nwadd++] = optarg;
			else
				wdel[nwdel++] = optarg;
			witness_change = changed = true;
			break;
		case 'Q':
			quorum = optarg;
			witness_change = changed = true;
			break;
		case 'x':
			expires = optarg;
			changed = true;
			break;
		case 'F':
			if (rp_parse_u64(optarg, strlen(optarg), RP_FRESHNESS_MAX_S, &freshness) !=
				    0 ||
			    freshness < RP_FRESHNESS_MIN_S) {
				cli_err("policy propose: --freshness `%s' is not %d to %d seconds",
					optarg, RP_FRESHNESS_MIN_S, RP_FRESHNESS_MAX_S);
				goto out;
			}
			next->freshness = (int64_t)freshness;
			changed = true;
			break;
		case 'L':
			if (rp_vkey_parse(optarg, strlen(optarg), &next->wp.log, &d) < 0 ||
			    next->wp.log.type != RP_KEY_ED25519) {
				cli_err("policy propose: --log-key: %s",
					d.msg[0] ? d.msg : "not an Ed25519 verifier key");
				goto out;
			}
			if (!log_url)
				next->wp.log_url[0] =
					'\0'; /* the old log's address is not the new one's */
			changed = true;
			break;
		case 'U':
			if (strlen(optarg) > RP_URL_MAX || strspn(optarg, " \t\n") != 0 ||
			    strpbrk(optarg, " \t\n")) {
				cli_err("policy propose: --log-url `%s' is not a URL without spaces",
					optarg);
				goto out;
			}
			snprintf(next->wp.log_url, sizeof(next->wp.log_url), "%s", optarg);
			log_url = optarg;
			changed = true;
			break;
		case 'f': from = optarg; break;
		case 'O': out = optarg; break;
		case 'y': yes = true; break;
		default: goto out;
		}
	}
	if (last_added >= 0) {
		cli_err("policy propose: --add-admin needs --roles: which roles the key joins");
		goto out;
	}
	if (optind != argc || (from && changed) || (!from && !changed)) {
		cli_err("policy propose: expected either changes or --from FILE, and nothing else "
			"(see --help)");
		goto out;
	}
	if (expires && cli_parse_when(expires, rp_now(), &next->expires) < 0) {
		cli_err("policy propose: --expires `%s' is not a duration (7d, 24h) or a time",
			expires);
		goto out;
	}
	if (witness_change && edit_witnesses(next, wadd, nwadd, wdel, nwdel, quorum) < 0)
		goto out;
	if (from) {
		if (rp_read_file(from, RP_NOTE_MAX, &buf, &len) < 0 ||
		    rp_policy_parse_text(buf, len, &check, &d) < 0) {
			cli_err("policy propose: %s: %s", from,
				d.msg[0] ? d.msg : "cannot read it");
			goto out;
		}
		struct rp_policy *tmp = next;
		next = check;
		check = NULL;
		free(tmp);
	}
	if (lockout_check(next) < 0)
		goto out;
	if (!(text = rp_policy_format(next, &len))) {
		cli_err("policy propose: out of memory");
		goto out;
	}
	/* The parser is the judge; then N+1's own rules after the trusted N. */
	rp_policy_free(check);
	check = NULL;
	if (rp_policy_parse_text(text, len, &check, &d) < 0) {
		cli_err("policy propose: the new version would not parse: %s", d.msg);
		goto out;
	}
	if (check->version != cur->version + 1 || strcmp(check->org, cur->org) != 0) {
		cli_err("policy propose: the new text must be version %llu of org %s",
			(unsigned long long)cur->version + 1, cur->org);
		goto out;
	}
	if (check->expires <= rp_now()) {
		cli_err("policy propose: version %llu would already have expired (--expires)",
			(unsigned long long)check->version);
		goto out;
	}
	if (!cli_key_in_role(cur, RP_ROLE_ROOT, &c->signer.s.vkey) &&
	    !cli_key_in_role(check, RP_ROLE_ROOT, &c->signer.s.vkey)) {
		cli_err("policy propose: your key %s is a root key of neither version %llu nor "
			"%llu, so your signature would not count",
			c->signer.s.vkey.name, (unsigned long long)cur->version,
			(unsigned long long)check->version);
		goto out;
	}
	proposal_show(stdout, cur, check, text, len);
	if (!yes && !cli_confirm("Sign and propose this root policy?")) {
		cli_err("policy propose: not signed");
		goto out;
	}
	if (rp_note_sign_by(text, len, NULL, &c->signer.s, &note, &len, &d) < 0) {
		cli_err("policy propose: could not sign: %s", d.msg);
		goto out;
	}
	if (out && rp_write_file_atomic(out, note, len, 0644) < 0) {
		cli_err("policy propose: cannot write %s", out);
		goto out;
	}
	printf("proposed root policy version %llu %s signed as %s\n",
	       (unsigned long long)check->version, check->hash, c->signer.s.vkey.name);
	if (upload(c, note) < 0)
		goto out;
	r = 0;
out:
	free(text);
	free(note);
	free(buf);
	rp_policy_free(cur);
	rp_policy_free(check);
	if (next)
		free(next); /* a copy of cur's fields: owns no note */
	return r;
}

/* ---- pending proposals ---- */

/* The server's proposals of version N+1 (signed notes), or NULL after an error. */
static json_t *proposals_get(struct cli *c, uint64_t *ret_server_version)
{
	struct rp_diag d = {""};
	char path[256];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/orgs/%s/policies", c->org);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("policy: %s", d.msg);
		return NULL;
	}
	*ret_server_version = (uint64_t)json_integer_value(json_object_get(j, "version"));
	return j;
}

static int policy_status(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	uint64_t server = 0;
	json_t *j = NULL, *v;
	size_t i, n = 0;

	if (cli_is_help(argc, argv) || argc != 1) {
		printf("Usage: rampart policy status\n\n"
		       "Shows your trusted root policy version (after following the server's\n"
		       "published chain, each version verified), the server's current version\n"
		       "and the pending proposals of the next one, each verified against your\n"
		       "trusted version: its diff and both root quorums. Sign one with\n"
		       "`rampart approve --policy HASH'. --json: {\"trusted\": {\"org\", \"version\",\n"
		       "\"hash\"}, \"server_version\", \"proposals\": [PROPOSAL] (docs/cli.md)}.\n");
		return cli_is_help(argc, argv) ? 0 : 2;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return 1;
	if (!(j = proposals_get(c, &server))) {
		rp_policy_free(p);
		return 1;
	}
	if (c->json) { /* the proposals as cli_policy_pending verified them */
		json_t *o = json_pack("{s:{s:s, s:I, s:s}, s:I, s:o}", "trusted", "org", p->org,
				      "version", (json_int_t)p->version, "hash", p->hash,
				      "server_version", (json_int_t)server, "proposals",
				      cli_policy_pending(c, p, NULL));
		if (o)
			cli_json(stdout, o);
		json_decref(o);
		json_decref(j);
		rp_policy_free(p);
		return o ? 0 : 1;
	}
	printf("trusted: root policy of %s version %llu %s\n", p->org,
	       (unsigned long long)p->version, p->hash);
	printf("server:  version %llu%s\n", (unsigned long long)server,
	       server == p->version ? "" : " (NOT the version you trust)");
	json_array_foreach (json_object_get(j, "proposals"), i, v) {
		struct proposal x;
		const char *note = json_string_value(v);
		if (!note || proposal_check(p, note, &x) < 0) {
			printf("proposal from the server, UNVERIFIED: ");
			cli_put(stdout, note ? x.problem : "not a string");
			putchar('\n');
			proposal_release(&x);
			continue;
		}
		n++;
		printf("\npending: version %llu %s\n", (unsigned long long)x.next->version,
		       x.next->hash);
		proposal_review(stdout, p, &x);
		proposal_release(&x);
	}
	if (n == 0)
		printf("no pending proposal of version %llu\n", (unsigned long long)p->version + 1);
	json_decref(j);
	rp_policy_free(p);
	return 0;
}

int cli_approve_policy(struct cli *c, const char *hash, bool yes)
{
	struct rp_policy *p = NULL;
	struct proposal x = {0}, pick = {0};
	struct rp_diag d = {""};
	uint64_t server = 0;
	json_t *j = NULL, *v;
	char *note = NULL;
	size_t i, n = 0, nlen;
	int r = 1;

	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return 1;
	if (!(j = proposals_get(c, &server)))
		goto out;
	json_array_foreach (json_object_get(j, "proposals"), i, v) {
		const char *s = json_string_value(v);
		if (!s || proposal_check(p, s, &x) < 0 || (hash && strcmp(x.next->hash, hash))) {
			proposal_release(&x);
			continue;
		}
		n++;
		proposal_release(&pick);
		pick = x;
		memset(&x, 0, sizeof(x));
	}
	if (n != 1) {
		if (n)
			cli_err("approve: %zu proposals of version %llu are pending: name one by its "
				"hash (`rampart policy status')",
				n, (unsigned long long)p->version + 1);
		else
			cli_err("approve: no pending root policy proposal of version %llu%s%s that "
				"verifies against your trusted version",
				(unsigned long long)p->version + 1, hash ? " with hash " : "",
				hash ? hash : "");
		goto out;
	}
	for (i = 0; i < pick.next->note->nsigs; i++) {
		if (!pick.v.forged[i] && rp_note_sig_valid(pick.next->note, i, &c->signer.s.vkey)) {
			printf("root policy %s already carries your signature\n", pick.next->hash);
			r = 0;
			goto out;
		}
	}
	proposal_review(stdout, p, &pick);
	if (!cli_key_in_role(p, RP_ROLE_ROOT, &c->signer.s.vkey) &&
	    !cli_key_in_role(pick.next, RP_ROLE_ROOT, &c->signer.s.vkey)) {
		cli_err("approve: your key %s is a root key of neither version; not signed",
			c->signer.s.vkey.name);
		goto out;
	}
	if (!yes && !cli_confirm("Sign this root policy?")) {
		cli_err("approve: not signed");
		goto out;
	}
	/* Your signature alone: the server merges it with what it kept. */
	if (rp_note_sign_by(pick.next->note->msg, pick.next->note->text_len, NULL, &c->signer.s,
			    &note, &nlen, &d) < 0) {
		cli_err("approve: could not sign: %s", d.msg);
		goto out;
	}
	printf("signed root policy version %llu %s as %s\n", (unsigned long long)pick.next->version,
	       pick.next->hash, c->signer.s.vkey.name);
	if (upload(c, note) < 0)
		goto out;
	r = 0;
out:
	proposal_release(&x);
	proposal_release(&pick);
	free(note);
	json_decref(j);
	rp_policy_free(p);
	return r;
}

json_t *cli_policy_pending(struct cli *c, const struct rp_policy *p, FILE *f)
{
	struct rp_diag d = {""};
	char path[256];
	json_t *j = NULL, *v, *out = json_array();
	size_t i, bad = 0;

	snprintf(path, sizeof(path), "/v1/orgs/%s/policies", c->org);
	if (!out || rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0)
		return out; /* the listing it follows is what was asked for */
	json_array_foreach (json_object_get(j, "proposals"), i, v) {
		const char *note = json_string_value(v);
		struct proposal x;

		if (!note || proposal_check(p, note, &x) < 0) {
			bad++;
			proposal_release(&x);
			continue;
		}
		json_array_append_new(
			out, json_pack("{s:I, s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:I}", "version",
				       (json_int_t)x.next->version, "hash", x.next->hash, "old",
				       "have", (json_int_t)x.v.have_old, "need",
				       (json_int_t)p->roles[RP_ROLE_ROOT].threshold, "new", "have",
				       (json_int_t)x.v.have_new, "need",
				       (json_int_t)x.next->roles[RP_ROLE_ROOT].threshold, "forged",
				       (json_int_t)x.v.nforged));
		if (c->signer.open) { /* for `rampart pending': may my key still add to it? */
			const struct rp_vkey *me = &c->signer.s.vkey;
			bool mine = false;
			for (size_t k = 0; k < x.next->note->nsigs; k++)
				mine = mine || rp_note_sig_valid(x.next->note, k, me);
			json_object_set_new(
				json_array_get(out, json_array_size(out) - 1), "awaiting_me",
				json_boolean(!mine && (cli_key_in_role(p, RP_ROLE_ROOT, me) ||
						       cli_key_in_role(x.next, RP_ROLE_ROOT, me))));
		}
		if (f)
			fprintf(f,
				"root policy version %llu %s pending: root quorum of version %llu "
				"%zu of %u, of its own %zu of %u%s (rampart approve --policy %s)\n",
				(unsigned long long)x.next->version, x.next->hash,
				(unsigned long long)p->version, x.v.have_old,
				p->roles[RP_ROLE_ROOT].threshold, x.v.have_new,
				x.next->roles[RP_ROLE_ROOT].threshold,
				x.v.nforged ? ", FORGED lines" : "", x.next->hash);
		proposal_release(&x);
	}
	if (f && bad)
		fprintf(f,
			"%zu root policy proposal%s from the server do%s not verify against your "
			"trusted version %llu (rampart policy status)\n",
			bad, bad == 1 ? "" : "s", bad == 1 ? "es" : "",
			(unsigned long long)p->version);
	json_decref(j);
	return out;
}

/* A proposal file (signed offline, e.g. by a key kept in a safe) to the server. */
static int policy_submit(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	struct proposal x = {0};
	char *buf = NULL;
	size_t len;
	int r = 1;

	if (cli_is_help(argc, argv) || argc != 2) {
		printf("Usage: rampart policy submit FILE\n\n"
		       "Uploads the signatures of FILE, a proposal of version N+1 (from `policy\n"
		       "propose --out', signed with `policy sign'), after showing its diff\n"
		       "against your trusted version N and both root quorums.\n");
		return cli_is_help(argc, argv) ? 0 : 2;
	}
	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return 1;
	if (rp_read_file(argv[1], RP_NOTE_MAX, &buf, &len) < 0 || memchr(buf, '\0', len)) {
		cli_err("policy submit: cannot read %s", argv[1]);
		goto out;
	}
	if (proposal_check(p, buf, &x) < 0) {
		cli_err("policy submit: %s: %s", argv[1], x.problem);
		goto out;
	}
	proposal_review(stdout, p, &x);
	if (upload(c, buf) < 0)
		goto out;
	r = 0;
out:
	proposal_release(&x);
	free(buf);
	rp_policy_free(p);
	return r;
}

int cli_policy_rotation(struct cli *c, int argc, char *argv[])
{
	if (!strcmp(argv[0], "propose"))
		return policy_propose(c, argc, argv);
	if (!strcmp(argv[0], "status"))
		return policy_status(c, argc, argv);
	return policy_submit(c, argc, argv);
}
