/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's walk through its org's log (lib/scan.h): every entry read in
 * order and proved to be the log's, so that no root policy the
 * administrators published can be kept from this device, and each entry
 * is judged by the policy in force at its place in the log.
 *
 * The policies found are judged here, by the rotation rule against the
 * newest one kept: version N+1 signed by a root quorum of N and of its own
 * (rp_policy_verify_rotation). Anything else that calls itself a root
 * policy (another org's, a version skipped, an old one logged again, one
 * that does not verify) changes nothing and raises an alert: the log is
 * the server's to write, and a breached server can append anything it
 * likes, but only the administrators can make a policy that counts.
 *
 * Durability: a policy accepted is written to policy.v<N>.note before
 * scan.state lists it; a crash in between only makes the next start read
 * the same entries again and accept the same policy again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "enroll.h"
#include "rp_err.h"
#include "state.h"

static void policy_path(const struct agent *a, uint64_t version, char *out, size_t n)
{
	char name[48];

	snprintf(name, sizeof(name), "policy.v%llu.note", (unsigned long long)version);
	agent_path(a, out, n, name);
}

static int scan_write(struct agent *a)
{
	char path[600], *text;
	size_t len;
	int r;

	if (a->scan.owed_until && !agent_owes(a))
		a->scan.owed_until = 0; /* acted past it, or it expired */
	if (!(text = rp_scan_state_format(&a->scan, &len)))
		return RP_E_NOMEM;
	agent_path(a, path, sizeof(path), "scan.state");
	r = rp_write_file_atomic(path, text, len, 0600);
	free(text);
	/* only now the dropped policies' files: a scan.state naming a missing one stops the agent
	 */
	for (size_t i = 0; r == 0 && i < a->nunkept; i++) {
		policy_path(a, a->unkept[i], path, sizeof(path));
		unlink(path);
	}
	if (r == 0)
		a->nunkept = 0;
	return r;
}

/* Reads and checks a kept policy file: its version, its org, its own root quorum. */
static int load_kept(struct agent *a, uint64_t version, struct rp_policy **ret, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	struct rp_policy *p = NULL;
	struct rp_diag pd = {""};
	size_t len;
	int r;

	policy_path(a, version, path, sizeof(path));
	if ((r = rp_read_file_flags(path, RP_NOTE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL)) < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_policy_parse(buf, len, &p, &pd);
	free(buf);
	if (r == 0 && (p->version != version || strcmp(p->org, a->conf.org) != 0))
		r = RP_E_POLICY;
	if (r == 0)
		r = rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, &pd);
	if (r < 0) {
		rp_diagf(d, "%s: %s (written atomically by the agent: changed by hand or damaged)",
			 path, pd.msg[0] ? pd.msg : "not the policy its name says");
		rp_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int agent_walk_load(struct agent *a, struct rp_diag *d)
{
	/* The walk owns every policy it keeps; a->policy is the newest of them. */
	struct rp_policy *anchor = a->policy;
	char path[600], *buf = NULL;
	struct rp_diag pd = {""};
	bool kept = false;
	size_t len;
	int r;

	a->policy = NULL;
	memset(&a->scan, 0, sizeof(a->scan));
	agent_path(a, path, sizeof(path), "scan.state");
	r = rp_read_file_flags(path, RP_SCAN_STATE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL);
	if (r == RP_E_NOTFOUND) {
		/*
		 * Not walked yet: the enrolment's policy, in force from the first
		 * entry. Version 1 is entry 0 (rampartd logs it when the org is
		 * made); a later version's entry is found by the walk, and the
		 * policy entries before it are history (scan.pending).
		 */
		a->scan.npol = 1;
		a->scan.pol[0].version = anchor->version;
		a->scan.pending = anchor->version > 1;
		a->pols[0] = a->policy = anchor;
		return 0;
	}
	if (r < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		goto fail;
	}
	r = rp_scan_state_parse(buf, len, &a->scan, &pd);
	free(buf);
	if (r < 0) {
		rp_diagf(d, "%s: %s (written atomically: changed by hand or damaged)", path,
			 pd.msg);
		goto fail;
	}
	/* policy.note may be older than every policy kept (pruned), never newer */
	if (a->scan.pol[a->scan.npol - 1].version < anchor->version) {
		rp_diagf(d,
			 "%s keeps root policies up to version %llu, older than policy.note's %llu",
			 path, (unsigned long long)a->scan.pol[a->scan.npol - 1].version,
			 (unsigned long long)anchor->version);
		r = RP_E_MALFORMED;
		goto fail;
	}
	for (size_t i = 0; i < a->scan.npol; i++) {
		if (a->scan.pol[i].version == anchor->version) {
			a->pols[i] = anchor;
			kept = true;
		} else if ((r = load_kept(a, a->scan.pol[i].version, &a->pols[i], d)) < 0) {
			goto fail;
		}
	}
	if (!kept)
		rp_policy_free(anchor);
	a->policy = a->pols[a->scan.npol - 1];
	/*
	 * An agent from before log key rotation kept a policy naming another log
	 * key as an ordinary rotation (and froze on the old log's checkpoints):
	 * it read that log to its end all the same, so it is retired, and moves.
	 */
	size_t np = a->scan.npol;
	if (!a->scan.retired && np >= 2 &&
	    !rp_vkey_equal(&a->pols[np - 1]->wp.log, &a->pols[np - 2]->wp.log) &&
	    strcmp(a->log.origin, a->pols[np - 1]->wp.log.name) != 0) {
		a->scan.retired = true;
		agent_logf(
			"root policy version %llu names log %s, and this device still reads log "
			"%s: that log ended at entry %llu; it moves once nothing more is to come "
			"from it",
			(unsigned long long)a->policy->version, a->policy->wp.log.name,
			a->pols[np - 2]->wp.log.name,
			(unsigned long long)a->scan.pol[np - 1].index);
		if ((r = scan_write(a)) < 0) {
			rp_diagf(d, "writing scan.state: %s", rp_strerror(r));
			return r;
		}
	}
	return 0;
fail:
	if (!kept)
		rp_policy_free(anchor);
	return r;
}

void agent_walk_release(struct agent *a)
{
	bool kept = false; /* a->policy is one of pols, or (a load that failed early) alone */

	for (size_t i = 0; i < a->scan.npol; i++)
		kept = kept || a->pols[i] == a->policy;
	if (!kept)
		rp_policy_free(a->policy);
	for (size_t i = 0; i < a->scan.npol; i++) {
		rp_policy_free(a->pols[i]);
		a->pols[i] = NULL;
	}
	a->scan.npol = 0;
	a->policy = NULL;
}

const struct rp_policy *agent_policy_at(const struct agent *a, uint64_t index)
{
	size_t i = a->scan.npol;

	while (i > 1 && a->scan.pol[i - 1].index > index)
		i--;
	return a->pols[i - 1];
}

const struct rp_policy *agent_log_policy(const struct agent *a)
{
	return a->scan.retired && a->scan.npol >= 2 ? a->pols[a->scan.npol - 2] : a->policy;
}

uint64_t agent_log_end(const struct agent *a)
{
	return a->scan.retired ? a->scan.pol[a->scan.npol - 1].index + 1 : 0;
}

/*
 * Drops pols[0]; its file goes at the next scan_write (policy.note, the
 * enrolment's, stays). Past the list's room a file is left behind, which
 * is harmless.
 */
static void drop_oldest(struct agent *a)
{
	if (a->nunkept < sizeof(a->unkept) / sizeof(a->unkept[0]))
		a->unkept[a->nunkept++] = a->pols[0]->version;
	rp_policy_free(a->pols[0]);
	memmove(&a->pols[0], &a->pols[1], (a->scan.npol - 1) * sizeof(a->pols[0]));
	memmove(&a->scan.pol[0], &a->scan.pol[1], (a->scan.npol - 1) * sizeof(a->scan.pol[0]));
	a->scan.npol--;
	a->pols[a->scan.npol] = NULL;
}

void agent_walk_prune(struct agent *a)
{
	bool changed = false;

	/* entries are acted on in log order: none before last-index + 1 can come again
	 * (a retired log keeps its policies: the one before the last judges its checkpoints) */
	while (a->scan.npol > 1 && !a->scan.retired && a->log.last_index >= 0 &&
	       (uint64_t)a->log.last_index + 1 >= a->scan.pol[1].index) {
		drop_oldest(a);
		changed = true;
	}
	if (changed)
		scan_write(a);
}

static void walk_alert(struct agent_walk_alert *out, size_t max, size_t *n, const char *code,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void walk_alert(struct agent_walk_alert *out, size_t max, size_t *n, const char *code,
		       const char *fmt, ...)
{
	va_list ap;

	agent_logf("SECURITY: %s", code);
	if (*n >= max)
		return;
	snprintf(out[*n].code, sizeof(out[*n].code), "%s", code);
	out[*n].id[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(out[*n].reason, sizeof(out[*n].reason), fmt, ap);
	va_end(ap);
	(*n)++;
}

/* Entry index is a root policy: judged against the newest kept, and kept if it is the next. */
static int walk_policy(struct agent *a, uint64_t index, const uint8_t *entry, size_t len,
		       struct agent_walk_alert *al, size_t max, size_t *nal)
{
	const struct rp_policy *cur = a->policy;
	struct rp_policy *p = NULL;
	struct rp_diag pd = {""};
	char path[600];
	int r;

	if (a->scan.pending) {
		/*
		 * Before the entry of the policy this device was enrolled with,
		 * policy entries are the log's history: only that one counts, and
		 * from it on the rotation rule.
		 */
		if (rp_policy_parse((const char *)entry, len, &p, NULL) == 0 &&
		    !strcmp(p->hash, cur->hash)) {
			a->scan.pending = false;
			a->scan.pol[0].index = index;
			agent_logf(
				"the root policy this device was enrolled with (version %llu) is "
				"log entry %llu",
				(unsigned long long)p->version, (unsigned long long)index);
		}
		rp_policy_free(p);
		return 0;
	}
	if ((r = rp_policy_parse((const char *)entry, len, &p, &pd)) < 0) {
		walk_alert(al, max, nal, "policy-refused",
			   "log entry %llu calls itself a root policy but does not parse: %s",
			   (unsigned long long)index, pd.msg);
		return 0;
	}
	if (strcmp(p->org, a->conf.org) != 0) {
		walk_alert(al, max, nal, "policy-refused",
			   "log entry %llu is a root policy of org %s, not %s",
			   (unsigned long long)index, p->org, a->conf.org);
	} else if (p->version <= cur->version) {
		/* An old version logged again (or the current one, elsewhere) changes nothing. */
		if (strcmp(p->hash, cur->hash) != 0 || index != a->scan.pol[a->scan.npol - 1].index)
			walk_alert(al, max, nal, "policy-replayed",
				   "log entry %llu is root policy version %llu, logged again "
				   "after version %llu: ignored",
				   (unsigned long long)index, (unsigned long long)p->version,
				   (unsigned long long)cur->version);
	} else if (p->version != cur->version + 1) {
		walk_alert(al, max, nal, "policy-skipped",
			   "log entry %llu is root policy version %llu after version %llu: a "
			   "version is missing, so it does not count",
			   (unsigned long long)index, (unsigned long long)p->version,
			   (unsigned long long)cur->version);
	} else if ((r = rp_policy_verify_rotation(cur, p, &pd)) < 0) {
		walk_alert(al, max, nal, "policy-refused",
			   "log entry %llu, root policy version %llu, is refused: %s",
			   (unsigned long long)index, (unsigned long long)p->version, pd.msg);
	} else {
		/* The next version: kept durably before scan.state names it. */
		policy_path(a, p->version, path, sizeof(path));
		if ((r = rp_write_file_atomic(path, entry, len, 0600)) < 0) {
			rp_policy_free(p);
			return r;
		}
		if (a->scan.npol == RP_POLICY_KEEP_MAX)
			drop_oldest(a);
		a->scan.pol[a->scan.npol].version = p->version;
		a->scan.pol[a->scan.npol].index = index;
		a->pols[a->scan.npol++] = p;
		a->policy = p;
		agent_logf("root policy version %llu %s is in force from log entry %llu",
			   (unsigned long long)p->version, p->hash, (unsigned long long)index);
		if (!rp_vkey_equal(&p->wp.log, &cur->wp.log)) {
			/* A log key rotation: this log ends here; its successor starts with p. */
			a->scan.retired = true;
			a->retired_since = rp_now();
			agent_logf("root policy version %llu names log %s: log %s ends at entry "
				   "%llu; this device moves once nothing more is to come from it",
				   (unsigned long long)p->version, p->wp.log.name, cur->wp.log.name,
				   (unsigned long long)index);
		}
		return 0;
	}
	rp_policy_free(p);
	return 0;
}

/*
 * A command entry whose id a cancel names (any command, whatever its
 * targets: the id is on its third line): that cancel is kept until the
 * command's own expiry (agent/cancel.c). Parsed only then.
 */
static void walk_cancelled(struct agent *a, const uint8_t *entry, size_t len)
{
	static const char kind[] = "rampart/command/v1\norg ";
	const uint8_t *id, *nl;
	struct rp_command *c = NULL;
	char want[RP_ID_HEX + 1];

	if (!a->cancels || a->cancels->n == 0 || len < sizeof(kind) - 1 ||
	    memcmp(entry, kind, sizeof(kind) - 1) != 0 ||
	    !(nl = memchr(entry + sizeof(kind) - 1, '\n', len - (sizeof(kind) - 1))))
		return;
	id = nl + 1;
	if ((size_t)(entry + len - id) < 4 + RP_ID_HEX || memcmp(id, "id ", 3) != 0)
		return;
	memcpy(want, id + 3, RP_ID_HEX);
	want[RP_ID_HEX] = '\0';
	if (!agent_cancelled(a, want) || rp_command_parse((const char *)entry, len, &c, NULL) < 0)
		return;
	if (!strcmp(c->id, want))
		agent_cancel_seen(a, c->id, c->expires);
	rp_command_free(c);
}

/*
 * A command for this device, signed by its quorum under the policy in force
 * at its entry, not yet acted on and not expired: owed to it (scan.owed),
 * whatever the server later says. Only an entry that holds this device's id
 * is parsed at all (the walk reads every entry of the org's log), and the
 * signatures are checked only for the commands that name it.
 */
static void walk_owed(struct agent *a, uint64_t index, const uint8_t *entry, size_t len)
{
	static const char kind[] = "rampart/command/v1\n";
	const struct rp_policy *p;
	struct rp_command *c = NULL;

	walk_cancelled(a, entry, len);
	if ((a->log.last_index >= 0 && index <= (uint64_t)a->log.last_index) ||
	    len < sizeof(kind) - 1 || memcmp(entry, kind, sizeof(kind) - 1) != 0 ||
	    !memmem(entry, len, a->conf.device, strlen(a->conf.device)) ||
	    rp_command_parse((const char *)entry, len, &c, NULL) < 0)
		return;
	if (!strcmp(c->org, a->conf.org) && rp_command_targets(c, a->conf.device) &&
	    !agent_cancelled(a, c->id) && c->expires > rp_now() &&
	    (p = agent_policy_at(a, index)) && c->note &&
	    rp_quorum_check(p, rp_command_role(c), c->note, NULL, NULL) == 0) {
		if (a->scan.owed_until == 0 || index > a->scan.owed)
			a->scan.owed = index;
		if (c->expires > a->scan.owed_until)
			a->scan.owed_until = c->expires;
	}
	rp_command_free(c);
}

bool agent_owes(const struct agent *a)
{
	return a->scan.owed_until > rp_now() &&
	       (a->log.last_index < 0 || (uint64_t)a->log.last_index < a->scan.owed);
}

int agent_walk(struct agent *a, const struct rp_entries *e, struct agent_walk_alert *ret_alerts,
	       size_t max_alerts, size_t *ret_nalerts, struct rp_diag *d)
{
	struct rp_frontier f = a->scan.f;
	int r;

	*ret_nalerts = 0;
	if (a->scan.retired)
		return 0; /* nothing after the entry that ended the log is read */
	if ((r = rp_scan_verify(&f, e, a->log.size, a->log.root, d)) < 0)
		return r;
	/*
	 * Entry 0 of the log this device reads is, byte for byte, the policy it
	 * trusts from the start (enrolled with, or moved to by a log key
	 * rotation: the next log starts with the policy that ended the last),
	 * unless that policy is a later version still to be found (pending).
	 */
	const struct rp_note *n0 = a->pols[0]->note;
	if (e->from == 0 && e->n > 0 && !a->scan.pending && a->scan.pol[0].index == 0 &&
	    (!n0 || e->len[0] != n0->msg_len || memcmp(e->buf + e->off[0], n0->msg, e->len[0]))) {
		walk_alert(ret_alerts, max_alerts, ret_nalerts, "log-walk",
			   "entry 0 of log %s is not root policy version %llu %s, which this "
			   "device trusts as its start; nothing of this answer is kept",
			   agent_log_policy(a)->wp.log.name,
			   (unsigned long long)a->pols[0]->version, a->pols[0]->hash);
		rp_diagf(d, "entry 0 of the log is not the root policy this device starts from");
		return RP_E_LOG;
	}
	for (size_t i = 0; i < e->n; i++) {
		const uint8_t *entry = e->buf + e->off[i];
		if (a->scan.retired) {
			walk_alert(ret_alerts, max_alerts, ret_nalerts, "log-retired",
				   "log %s has entries after entry %llu, the root policy that "
				   "ended it: %llu of them read here, none acted on",
				   agent_log_policy(a)->wp.log.name,
				   (unsigned long long)(agent_log_end(a) - 1),
				   (unsigned long long)(e->n - i));
			break;
		}
		if (rp_entry_is_policy(entry, e->len[i])) {
			if ((r = walk_policy(a, e->from + i, entry, e->len[i], ret_alerts,
					     max_alerts, ret_nalerts)) < 0) {
				rp_diagf(d, "keeping a root policy: %s", rp_strerror(r));
				return r;
			}
		} else if (rp_entry_is_enrolment(entry, e->len[i])) {
			agent_dir_enrol_walk(a, e->from + i, entry, e->len[i]);
		} else if (rp_entry_is_cancel(entry, e->len[i])) {
			struct agent_walk_alert al;
			agent_cancel_walk(a, e->from + i, entry, e->len[i], &al);
			if (al.code[0]) {
				agent_logf("SECURITY: %s", al.code);
				if (*ret_nalerts < max_alerts)
					ret_alerts[(*ret_nalerts)++] = al;
			}
		} else if (rp_entry_is_directory(entry, e->len[i])) {
			struct agent_walk_alert al;
			agent_dir_walk(a, e->from + i, entry, e->len[i],
				       agent_policy_at(a, e->from + i), &al);
			if (al.code[0]) {
				agent_logf("SECURITY: %s", al.code);
				if (*ret_nalerts < max_alerts)
					ret_alerts[(*ret_nalerts)++] = al;
			}
		} else {
			walk_owed(a, e->from + i, entry, e->len[i]);
		}
	}
	/* what the entries did to the directory is kept before the walk moves past them */
	if ((r = agent_dir_save(a)) < 0) {
		rp_diagf(d, "writing directory.state: %s", rp_strerror(r));
		return r;
	}
	/* and the cancels read: a crash after scan.state would forget them */
	if ((r = agent_cancel_save(a)) < 0) {
		rp_diagf(d, "writing cancel.state: %s", rp_strerror(r));
		return r;
	}
	a->scan.f = f;
	if ((r = scan_write(a)) < 0)
		rp_diagf(d, "writing scan.state: %s", rp_strerror(r));
	return r;
}

int agent_log_move(struct agent *a)
{
	const char *from = agent_log_policy(a)->wp.log.name;
	char old[RP_ORIGIN_MAX + 1];
	int r;

	if (!a->scan.retired)
		return 0;
	snprintf(old, sizeof(old), "%s", from);
	while (a->scan.npol > 1)
		drop_oldest(a);
	memset(&a->scan.f, 0, sizeof(a->scan.f));
	a->scan.pol[0].index = 0; /* the new log's entry 0 is the policy that names it */
	a->scan.retired = false;
	a->retired_since = 0;
	a->scan.owed_until = 0;
	a->scan.pending = false;
	agent_dir_log_moved(a);
	if ((r = agent_dir_save(a)) < 0 || (r = scan_write(a)) < 0 ||
	    (r = agent_log_begin(a, a->policy->wp.log.name)) < 0)
		return r;
	agent_logf("moved from log %s to log %s, under root policy version %llu", old,
		   a->policy->wp.log.name, (unsigned long long)a->policy->version);
	return 0;
}
