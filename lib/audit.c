/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include "directory.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "rp_err.h"
#include "statement.h"

void rp_audit_init(struct rp_audit *a, const char *trusted_hash)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->trusted_hash, sizeof(a->trusted_hash), "%s", trusted_hash);
	a->gen = 1;
}

void rp_audit_release(struct rp_audit *a)
{
	rp_policy_free(a->policy);
	a->policy = NULL;
	rp_policy_free(a->ended);
	a->ended = NULL;
	free(a->work);
	a->work = NULL;
	a->work_cap = 0;
}

void rp_audit_root(const struct rp_audit *a, uint8_t out[RP_HASH_LEN])
{
	rp_frontier_root(&a->tree, out);
}

/* The names of the keys that signed, comma-separated. */
static void signers(const struct rp_policy *p, const bool ok[RP_POLICY_KEYS_MAX], char *out,
		    size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->nkeys && used < cap; i++) {
		if (!ok[i])
			continue;
		int k = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", p->keys[i].name);
		if (k < 0)
			return;
		used += (size_t)k;
	}
}

/*
 * Entry 0 of a log after a log key rotation: the policy that ended the
 * log before it, byte for byte (signatures included), and nothing else.
 */
static int check_log_start(const struct rp_audit *a, const char *data, size_t len, char *line,
			   size_t cap)
{
	const struct rp_policy *p = a->policy;

	if (p->note && len == p->note->msg_len && !memcmp(data, p->note->msg, len)) {
		snprintf(line, cap,
			 "root policy of %s version %llu %s starts log %s (generation %llu), as "
			 "the last entry of the log before it",
			 p->org, (unsigned long long)p->version, p->hash, p->wp.log.name,
			 (unsigned long long)a->gen);
		return 0;
	}
	snprintf(line, cap,
		 "entry 0 of log %s (generation %llu) is not, byte for byte, root policy version "
		 "%llu %s, which ended the log before it",
		 p->wp.log.name, (unsigned long long)a->gen, (unsigned long long)p->version,
		 p->hash);
	return RP_E_POLICY;
}

static int check_policy(struct rp_audit *a, const char *data, size_t len, char *line, size_t cap)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char who[512];
	int r;

	if ((r = rp_policy_parse(data, len, &p, &d)) < 0) {
		snprintf(line, cap, "unparseable root policy: %s", d.msg);
		return r;
	}
	if (!a->policy) {
		if (strcmp(p->hash, a->trusted_hash) != 0) {
			snprintf(line, cap, "entry 0 is root policy %s, not the trusted %s",
				 p->hash, a->trusted_hash);
			rp_policy_free(p);
			return RP_E_POLICY;
		}
		r = rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, &d);
	} else {
		r = rp_policy_verify_rotation(a->policy, p, &d);
	}
	if (r < 0) {
		snprintf(line, cap, "root policy version %llu %s is not authorised: %s",
			 (unsigned long long)p->version, p->hash, d.msg);
		rp_policy_free(p);
		return r;
	}
	bool ok[RP_POLICY_KEYS_MAX];
	if (rp_quorum_signers(p, RP_ROLE_ROOT, p->note, NULL, ok, NULL) < 0)
		memset(ok, 0, sizeof(ok));
	signers(p, ok, who, sizeof(who));
	int k = snprintf(line, cap, "root policy of %s version %llu %s, signed by %s", p->org,
			 (unsigned long long)p->version, p->hash, who);
	if (a->policy && !rp_vkey_equal(&p->wp.log, &a->policy->wp.log)) {
		/* a log key rotation: this log ends here (docs/formats.md, "Log key rotation") */
		if (k > 0 && (size_t)k < cap)
			snprintf(line + k, cap - (size_t)k,
				 "; it names log %s, so log %s ends with this entry",
				 p->wp.log.name, a->policy->wp.log.name);
		a->ended = a->policy;
		a->end = a->tree.size + 1;
	} else {
		rp_policy_free(a->policy);
	}
	a->policy = p;
	return 0;
}

int rp_audit_next_log(struct rp_audit *a)
{
	if (!a->end)
		return RP_E_POLICY;
	if (a->nretired >= RP_AUDIT_LOGS_MAX)
		return RP_E_TOOBIG;
	struct rp_audit_retired *t = &a->retired[a->nretired++];
	t->gen = a->gen;
	t->size = a->tree.size;
	rp_frontier_root(&a->tree, t->root);
	t->version = a->ended->version;
	snprintf(t->hash, sizeof(t->hash), "%s", a->ended->hash);
	a->after_end = 0;
	rp_policy_free(a->ended);
	a->ended = NULL;
	a->end = 0;
	memset(&a->tree, 0, sizeof(a->tree));
	a->gen++;
	return 0;
}

static int check_command(const struct rp_audit *a, const char *data, size_t len, char *line,
			 size_t cap)
{
	bool ok[RP_POLICY_KEYS_MAX];
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char who[512], nb[21], ex[21], q[80];
	size_t used;
	int r;

	if ((r = rp_command_parse(data, len, &c, &d)) < 0) {
		snprintf(line, cap, "unparseable command: %s", d.msg);
		return r;
	}
	if (strcmp(c->org, a->policy->org) != 0) {
		snprintf(line, cap, "command %s is for org `%s', this log is org `%s''s", c->id,
			 c->org, a->policy->org);
		rp_command_free(c);
		return RP_E_ORG;
	}
	if ((r = rp_quorum_signers(a->policy, rp_command_role(c), c->note, NULL, ok, &d)) < 0) {
		snprintf(line, cap, "command %s is not authorised: %s", c->id, d.msg);
		rp_command_free(c);
		return r;
	}
	signers(a->policy, ok, who, sizeof(who));
	if (c->kind == RP_KIND_DIRECTORY) {
		const struct rp_dir *p = &c->dir->put, *x = &c->dir->del;
		snprintf(line, cap,
			 "directory version %llu %s, signed by %s; puts %zu users, %zu groups, %zu "
			 "device groups, %zu devices, %zu bindings; removes %zu objects%s",
			 (unsigned long long)c->dir->version, c->id, who, p->nusers, p->ngroups,
			 p->ndgroups, p->ndevices, p->nbinds,
			 x->nusers + x->ngroups + x->ndgroups + x->ndevices + x->nbinds,
			 c->dir->repair_all || c->dir->nrepair ? "; repairs" : "");
		rp_command_free(c);
		return 0;
	}
	rp_time_format(c->not_before, nb);
	rp_time_format(c->expires, ex);
	rp_quote(q, sizeof(q), c->comment, strlen(c->comment));
	used = (size_t)snprintf(line, cap,
				"command %s run-as %s, %s to %s, signed by %s; %zu "
				"target%s:",
				c->id, c->run_as, nb, ex, who, c->ntargets,
				c->ntargets == 1 ? "" : "s");
	for (size_t i = 0; i < c->ntargets && used + RP_ID_HEX + 8 < cap; i++)
		used += (size_t)snprintf(line + used, cap - used, " %s", c->targets[i]);
	if (c->ntargets && used + RP_ID_HEX + 8 >= cap)
		used += (size_t)snprintf(line + used, cap - used, " ...");
	if (q[0] && used < cap)
		snprintf(line + used, cap - used, " (%s)", q);
	rp_command_free(c);
	return 0;
}

#define AUDIT_LINE_MAX 8192 /* one history line; not POSIX LINE_MAX, which limits.h may define */

/* Adds the entry's leaf to the tree (every entry counts, authorised or not). */
static int append_leaf(struct rp_audit *a, const uint8_t leaf[RP_HASH_LEN])
{
	return rp_frontier_append(&a->tree, leaf);
}

static bool first_line_is(const char *data, size_t len, const char *want)
{
	size_t n = strlen(want);

	return len > n && data[n] == '\n' && !memcmp(data, want, n);
}

/* Entries that change the chain (entry 0, policies) are checked one by one, in order. */
static bool sequential(const struct rp_audit *a, const char *data, size_t len)
{
	return !a->policy || a->end || a->tree.size == 0 ||
	       first_line_is(data, len, "rampart/policy/v1");
}

/* A cancel (lib/cancel.h): one valid exec signature makes it count. */
static int check_cancel(const struct rp_audit *a, const char *data, size_t len, char *line,
			size_t cap)
{
	char who[RP_NOTE_NAME_MAX + 1], q[RP_CANCEL_REASON_MAX * 4 + 1];
	struct rp_cancel *c = NULL;
	struct rp_diag d = {""};
	int r;

	if ((r = rp_cancel_parse(data, len, &c, &d)) < 0) {
		snprintf(line, cap, "unparseable cancel: %s", d.msg);
		return r;
	}
	if ((r = rp_cancel_check(a->policy, c, who, &d)) < 0) {
		snprintf(line, cap, "cancel of command %s is not authorised: %s", c->command,
			 d.msg);
		rp_cancel_free(c);
		return r;
	}
	rp_quote(q, sizeof(q), c->reason, strlen(c->reason));
	snprintf(line, cap, "%s of command %s, signed by %s%s%s%s",
		 c->kind == RP_CANCEL_REJECT ? "reject" : "cancel", c->command, who,
		 q[0] ? " (" : "", q, q[0] ? ")" : "");
	rp_cancel_free(c);
	return 0;
}

/* An entry that does not change the chain, judged by the current policy (any thread). */
static int check_other(const struct rp_audit *a, const char *data, size_t len, char *line,
		       size_t cap)
{
	char q[80];
	size_t first = 0;

	if (first_line_is(data, len, "rampart/command/v1") ||
	    first_line_is(data, len, "rampart/directory/v1"))
		return check_command(a, data, len, line, cap);
	if (rp_entry_is_cancel((const uint8_t *)data, len))
		return check_cancel(a, data, len, line, cap);
	while (first < len && data[first] != '\n')
		first++;
	rp_quote(q, sizeof(q), data, first);
	snprintf(line, cap, "unknown kind of entry `%s'", q);
	return RP_E_KIND;
}

/* Whether the entry is a note with a valid signature line by k. */
static bool signed_by(const char *data, size_t len, const struct rp_vkey *k)
{
	struct rp_note *note = NULL;
	bool yes = false;

	if (!k || rp_note_parse(data, len, &note, NULL) < 0)
		return false;
	for (size_t i = 0; i < note->nsigs && !yes; i++)
		yes = rp_note_sig_names(&note->sigs[i], k) && rp_note_sig_valid(note, i, k);
	rp_note_free(note);
	return yes;
}

static int finish_entry(struct rp_audit *a, const uint8_t leaf[RP_HASH_LEN], int ok,
			const char *line, bool watched, rp_audit_report_fn report, void *arg)
{
	uint64_t index = a->tree.size;
	int r;

	if ((r = append_leaf(a, leaf)) < 0)
		return r;
	if (ok < 0)
		a->findings++;
	report(arg, index, ok < 0, line);
	if (watched && a->watched)
		a->watched(arg, index, line);
	return 0;
}

int rp_audit_entry(struct rp_audit *a, const char *data, size_t len, rp_audit_report_fn report,
		   void *arg)
{
	char line[AUDIT_LINE_MAX];
	uint8_t leaf[RP_HASH_LEN];
	int ok;

	if (a->end && a->after_end++ > 0) {
		/* one finding for them all (rp_audit.after_end): junk after the end cannot
		 * fill the findings bound and keep the audit from the next log */
		a->findings++;
		rp_merkle_leaf_hash(data, len, leaf);
		return append_leaf(a, leaf);
	}
	if (a->end) {
		snprintf(
			line, sizeof(line),
			"log %s has an entry after entry %llu, the root policy that ended it "
			"(log key rotation): nothing after it is authorised, and no agent acts on it",
			a->ended->wp.log.name, (unsigned long long)(a->end - 1));
		ok = RP_E_LOG;
	} else if (a->policy && a->tree.size == 0) {
		ok = check_log_start(a, data, len, line, sizeof(line));
	} else if (!a->policy || first_line_is(data, len, "rampart/policy/v1")) {
		ok = check_policy(a, data, len, line, sizeof(line));
	} else {
		ok = check_other(a, data, len, line, sizeof(line));
	}

	rp_merkle_leaf_hash(data, len, leaf);
	return finish_entry(a, leaf, ok, line, signed_by(data, len, a->watch), report, arg);
}

/* One entry's results from whichever thread checked it. */
struct checked {
	atomic_int done; /* 1 once ok, leaf and line are written (release) */
	int ok;
	bool watched; /* signed by a->watch */
	uint8_t leaf[RP_HASH_LEN];
	char line[AUDIT_LINE_MAX];
};

/*
 * A run of entries none of which changes the policy. Threads claim entries
 * with an atomic counter and check them (leaf hash, parse, signatures);
 * the caller's thread also checks, and in between appends finished
 * entries to the tree and reports them, strictly in order. So every core
 * verifies signatures and the in-order part never leaves one idle.
 */
struct run {
	const struct rp_audit *a;
	const char *const *data;
	const size_t *len;
	size_t to;
	atomic_size_t next;
	struct checked *out;
};

/* Checks one more entry of the run; false when none is left to claim. */
static bool check_one(struct run *run)
{
	size_t i = atomic_fetch_add(&run->next, 1);
	struct checked *c;

	if (i >= run->to)
		return false;
	c = &run->out[i];
	rp_merkle_leaf_hash(run->data[i], run->len[i], c->leaf);
	c->ok = check_other(run->a, run->data[i], run->len[i], c->line, AUDIT_LINE_MAX);
	c->watched = signed_by(run->data[i], run->len[i], run->a->watch);
	atomic_store_explicit(&c->done, 1, memory_order_release);
	return true;
}

static void *worker(void *arg)
{
	while (check_one(arg))
		;
	return NULL;
}

static int audit_run(struct rp_audit *a, const char *const *data, const size_t *len, size_t from,
		     size_t to, unsigned nthreads, struct checked *out, rp_audit_report_fn report,
		     void *arg)
{
	pthread_t th[RP_AUDIT_THREADS_MAX];
	struct run run = {.a = a, .data = data, .len = len, .to = to, .out = out};
	unsigned started = 0;
	int r = 0;

	atomic_init(&run.next, from);
	for (size_t i = from; i < to; i++)
		atomic_init(&out[i].done, 0);
	/* One thread per core besides this one, which also checks. */
	while (started + 1 < nthreads && started < to - from &&
	       pthread_create(&th[started], NULL, worker, &run) == 0)
		started++;
	for (size_t k = from; k < to; k++) {
		while (!atomic_load_explicit(&out[k].done, memory_order_acquire))
			if (!check_one(&run))
				sched_yield(); /* entry k is being checked by another thread */
		if (r == 0)
			r = finish_entry(a, out[k].leaf, out[k].ok, out[k].line, out[k].watched,
					 report, arg);
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	return r;
}

int rp_audit_entries(struct rp_audit *a, const char *const *data, const size_t *len, size_t n,
		     unsigned nthreads, rp_audit_report_fn report, void *arg)
{
	struct checked *out;
	size_t i = 0;
	int r = 0;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > RP_AUDIT_THREADS_MAX)
		nthreads = RP_AUDIT_THREADS_MAX;
	if (n > a->work_cap) {
		void *w = realloc(a->work, n * sizeof(struct checked));
		if (!w)
			return RP_E_NOMEM;
		a->work = w;
		a->work_cap = n;
	}
	out = a->work;
	while (r == 0 && i < n) {
		size_t j = i;
		if (sequential(a, data[i], len[i])) {
			r = rp_audit_entry(a, data[i], len[i], report, arg);
			i++;
			continue;
		}
		while (j < n && !first_line_is(data[j], len[j], "rampart/policy/v1"))
			j++;
		r = audit_run(a, data, len, i, j, nthreads, out, report, arg);
		i = j;
	}
	return r;
}

const struct rp_policy *rp_audit_judge(const struct rp_audit *a, const struct rp_policy *anchor)
{
	if (a->ended)
		return a->ended;
	if (a->policy)
		return a->policy;
	if (anchor && strcmp(anchor->hash, a->trusted_hash) == 0)
		return anchor;
	return NULL;
}

int rp_audit_checkpoint(const struct rp_audit *a, const struct rp_policy *anchor, const char *note,
			size_t len, int64_t now, struct rp_checkpoint *ret_cp, bool *ret_stale,
			struct rp_diag *d)
{
	const struct rp_policy *p = rp_audit_judge(a, anchor);
	struct rp_checkpoint cp;
	int64_t newest = 0;
	char t[21];
	int r;

	if (!p) {
		rp_diagf(d,
			 "no root policy to judge it by: no entry of the log is the trusted "
			 "policy %s, and that policy was not given",
			 a->trusted_hash);
		return RP_E_POLICY;
	}
	/* Freshness 0 first: signed and witnessed at all, and the newest cosignature. */
	if ((r = rp_checkpoint_verify(&p->wp, note, len, now, 0, RP_CLOCK_SKEW_S, &cp, &newest,
				      d)) < 0)
		return r;
	r = rp_checkpoint_verify(&p->wp, note, len, now, p->freshness, RP_CLOCK_SKEW_S, NULL, NULL,
				 d);
	if (r < 0 && r != RP_E_STALE)
		return r; /* unreachable: only the window differs from the first call */
	if (r == RP_E_STALE) {
		rp_time_format(newest, t);
		rp_diagf(d,
			 "its witness quorum is met only by cosignatures older than the "
			 "policy's freshness of %lld s (the newest is from %s)",
			 (long long)p->freshness, t);
	}
	*ret_cp = cp;
	*ret_stale = r == RP_E_STALE;
	return 0;
}

char *rp_audit_save(const struct rp_audit *a, size_t *ret_len)
{
	struct rp_sb sb;

	if (a->end)
		return NULL; /* rp_audit_next_log first (audit.h) */
	rp_sb_init(&sb, RP_AUDIT_STATE_MAX);
	rp_sb_printf(&sb, "rampart/audit/v1\ntrusted %s\n", a->trusted_hash);
	if (a->gen > 1)
		rp_sb_printf(&sb, "log %llu\n", (unsigned long long)a->gen);
	for (size_t i = 0; i < a->nretired; i++) {
		const struct rp_audit_retired *t = &a->retired[i];
		char *b = rp_b64_encode(t->root, RP_HASH_LEN);
		rp_sb_printf(&sb, "retired %llu %llu %s %llu %s\n", (unsigned long long)t->gen,
			     (unsigned long long)t->size, b ? b : "",
			     (unsigned long long)t->version, t->hash);
		if (!b)
			sb.err = RP_E_NOMEM;
		free(b);
	}
	rp_sb_printf(&sb, "size %llu\n", (unsigned long long)a->tree.size);
	for (int l = 63; l >= 0; l--) {
		if (!((a->tree.size >> l) & 1))
			continue;
		char *b = rp_b64_encode(a->tree.hash[l], RP_HASH_LEN);
		rp_sb_printf(&sb, "edge %d %s\n", l, b ? b : "");
		if (!b)
			sb.err = RP_E_NOMEM;
		free(b);
	}
	if (a->policy && a->policy->note) {
		rp_sb_puts(&sb, "\n");
		rp_sb_put(&sb, a->policy->note->msg, a->policy->note->msg_len);
	}
	return rp_sb_take(&sb, ret_len);
}

/* `retired <gen> <size> <base64 root> <version> <hash>', after the ones before it. */
static int retired_parse(struct rp_audit *a, const char *v, size_t vlen, struct rp_diag *d)
{
	struct rp_audit_retired t = {0};
	const char *f[5];
	size_t fl[5], k = 0, n;
	const char *p = v, *end = v + vlen;

	while (k < 5 && p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		f[k] = p;
		fl[k++] = (size_t)((sp ? sp : end) - p);
		p = sp ? sp + 1 : end;
	}
	if (k != 5 || p != end || rp_parse_u64(f[0], fl[0], INT64_MAX, &t.gen) != 0 || t.gen < 1 ||
	    rp_parse_u64(f[1], fl[1], INT64_MAX, &t.size) != 0 ||
	    rp_b64_decode(f[2], fl[2], t.root, RP_HASH_LEN, &n) != 0 || n != RP_HASH_LEN ||
	    rp_parse_u64(f[3], fl[3], INT64_MAX, &t.version) != 0 || t.version < 1 || fl[4] == 0 ||
	    fl[4] >= sizeof(t.hash)) {
		rp_diagf(d, "audit state: bad retired line (want `retired GEN SIZE ROOT VERSION "
			    "HASH')");
		return RP_E_MALFORMED;
	}
	memcpy(t.hash, f[4], fl[4]);
	if (a->nretired >= RP_AUDIT_LOGS_MAX ||
	    (a->nretired && a->retired[a->nretired - 1].gen >= t.gen)) {
		rp_diagf(d, "audit state: retired lines out of order or over %d",
			 RP_AUDIT_LOGS_MAX);
		return RP_E_MALFORMED;
	}
	a->retired[a->nretired++] = t;
	return 0;
}

int rp_audit_load(struct rp_audit *a, const char *text, size_t len, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	const char *line, *v;
	size_t llen, vlen, n;
	uint64_t size;
	int r;

	rp_audit_init(a, "");
	if (rp_cursor_line(&c, &line, &llen) != 1 || !rp_memeq(line, llen, "rampart/audit/v1")) {
		rp_diagf(d, "audit state: first line is not `rampart/audit/v1'");
		return RP_E_MALFORMED;
	}
	if ((r = rp_expect_field(&c, "audit state", "trusted", &v, &vlen, d)) < 0)
		return r;
	if (vlen >= sizeof(a->trusted_hash)) {
		rp_diagf(d, "audit state: trusted hash is too long");
		return RP_E_MALFORMED;
	}
	memcpy(a->trusted_hash, v, vlen);
	if (c.n > 4 && !memcmp(c.p, "log ", 4)) {
		uint64_t gen;
		if ((r = rp_expect_field(&c, "audit state", "log", &v, &vlen, d)) < 0)
			return r;
		if (rp_parse_u64(v, vlen, INT64_MAX, &gen) != 0 || gen < 2) {
			rp_diagf(d, "audit state: bad log generation (2 or more)");
			return RP_E_MALFORMED;
		}
		a->gen = gen;
	}
	while (c.n > 8 && !memcmp(c.p, "retired ", 8)) {
		if ((r = rp_expect_field(&c, "audit state", "retired", &v, &vlen, d)) < 0)
			return r;
		if ((r = retired_parse(a, v, vlen, d)) < 0)
			return r;
	}
	if (a->nretired && a->retired[a->nretired - 1].gen >= a->gen) {
		rp_diagf(d, "audit state: a retired log of generation %llu, not before log %llu",
			 (unsigned long long)a->retired[a->nretired - 1].gen,
			 (unsigned long long)a->gen);
		return RP_E_MALFORMED;
	}
	if ((r = rp_expect_field(&c, "audit state", "size", &v, &vlen, d)) < 0)
		return r;
	if (rp_parse_u64(v, vlen, INT64_MAX, &size) != 0) {
		rp_diagf(d, "audit state: bad size");
		return RP_E_MALFORMED;
	}
	for (int l = 63; l >= 0; l--) {
		char want[8];
		const char *sp;
		if (!((size >> l) & 1))
			continue;
		snprintf(want, sizeof(want), "%d", l);
		if ((r = rp_expect_field(&c, "audit state", "edge", &v, &vlen, d)) < 0)
			return r;
		sp = memchr(v, ' ', vlen);
		if (!sp || !rp_memeq(v, (size_t)(sp - v), want) ||
		    rp_b64_decode(sp + 1, vlen - (size_t)(sp + 1 - v), a->tree.hash[l], RP_HASH_LEN,
				  &n) != 0 ||
		    n != RP_HASH_LEN) {
			rp_diagf(d, "audit state: bad edge line for level %d", l);
			return RP_E_MALFORMED;
		}
	}
	a->tree.size = size;
	/* No policy: size 0, or entry 0 was not the trusted policy (rp_audit_save wrote none). */
	if (c.n == 0 && a->gen > 1) {
		rp_diagf(d, "audit state: log %llu has no root policy (the one that started it)",
			 (unsigned long long)a->gen);
		return RP_E_MALFORMED;
	}
	if (c.n == 0)
		return 0;
	if (size == 0 && a->gen == 1) {
		rp_diagf(d, "audit state: data after size 0");
		return RP_E_MALFORMED;
	}
	if (rp_cursor_line(&c, &line, &llen) != 1 || llen != 0) {
		rp_diagf(d, "audit state: no root policy after the edge");
		return RP_E_MALFORMED;
	}
	if ((r = rp_policy_parse(c.p, c.n, &a->policy, d)) < 0)
		return r;
	return 0;
}
