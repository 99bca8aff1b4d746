/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The signed directory on the device (DESIGN.md section 6): folded by the
 * walk, entry by entry in log order, from the directory statements that
 * reach this device's quorum, kept in directory.state, and turned into the
 * plan agent/converge.c makes the machine match.
 *
 * Each directory entry is judged by the root policy in force at its place
 * in the log, with the strictest device-group-threshold among the groups
 * the directory puts this device in before the entry. One below it (or
 * forged, or another org's) changes nothing here and raises an alert; the
 * chain still moves past it (rp_dir_apply with apply false), so that the
 * next statement, chained to it, is judged on its own. One that does not
 * follow the chain (a version skipped, a fork, a statement held back and
 * logged after a newer one) changes nothing and raises an alert; an entry
 * of a version already folded (the walk reading the same entries again
 * after a stop, or an old statement logged again) is passed over.
 *
 * Durability: directory.state is written before scan.state moves past the
 * entries that changed it (agent_walk); a stop in between makes the next
 * start read them again, and pass over what was folded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"
#include "enroll.h"
#include "rp_err.h"
#include "state.h"

#define STATE_FILE  "directory.state"
#define MEMBER_FILE "membership.state"
#define MEMBER_MAX  (64 * 1024)

/* ---- this device's membership along the log ---- */

static void member_of(const struct rp_dir_device *v, uint64_t index, struct agent_member *m)
{
	memset(m, 0, sizeof(*m));
	m->index = index;
	if (!v)
		return;
	m->ngroups = v->ngroups;
	m->ntags = v->ntags;
	/* a record with no groups (or tags) has no array for them */
	if (v->ngroups)
		memcpy(m->groups, v->groups, v->ngroups * sizeof(m->groups[0]));
	if (v->ntags)
		memcpy(m->tags, v->tags, v->ntags * sizeof(m->tags[0]));
}

static bool member_same(const struct agent_member *x, const struct agent_member *y)
{
	return x->ngroups == y->ngroups && x->ntags == y->ntags &&
	       !memcmp(x->groups, y->groups, x->ngroups * sizeof(x->groups[0])) &&
	       !memcmp(x->tags, y->tags, x->ntags * sizeof(x->tags[0]));
}

/* m in force after its entry; an entry folded again after a stop replaces itself. */
static void member_push(struct agent *a, const struct agent_member *m)
{
	if (a->nmember && a->member[a->nmember - 1].index == m->index) {
		a->member[a->nmember - 1] = *m;
		a->member_dirty = true;
		return;
	}
	/* a record no command still to act on can be judged by goes first */
	while (a->nmember == AGENT_MEMBER_MAX && a->nmember >= 2 && a->log.last_index >= 0 &&
	       a->member[1].index <= (uint64_t)a->log.last_index) {
		memmove(&a->member[0], &a->member[1], (a->nmember - 1) * sizeof(a->member[0]));
		a->nmember--;
	}
	if (a->nmember == AGENT_MEMBER_MAX) {
		/* the oldest goes all the same: what it judged is then judged as in no group */
		memmove(&a->member[0], &a->member[1], (a->nmember - 1) * sizeof(a->member[0]));
		a->nmember--;
	}
	a->member[a->nmember++] = *m;
	a->member_dirty = true;
}

const struct rp_dir_device *agent_dir_device_at(struct agent *a, uint64_t index)
{
	size_t i = a->nmember;

	while (i > 0 && a->member[i - 1].index >= index)
		i--;
	if (i == 0)
		return NULL;
	const struct agent_member *m = &a->member[i - 1];
	memset(&a->member_view, 0, sizeof(a->member_view));
	memcpy(a->member_view.id, a->conf.device, sizeof(a->member_view.id));
	a->member_view.ngroups = m->ngroups;
	a->member_view.ntags = m->ntags;
	a->member_view.groups = (char(*)[RP_DIR_NAME_MAX + 1]) m->groups;
	a->member_view.tags = (char(*)[RP_DIR_NAME_MAX + 1]) m->tags;
	return &a->member_view;
}

void agent_dir_log_moved(struct agent *a)
{
	struct agent_member m;
	const struct rp_dir_device *v = rp_dir_device_get(&a->dirst.dir, a->conf.device);

	a->nmember = 0;
	a->member_dirty = true;
	if (v) {
		member_of(v, 0, &m);
		a->member[a->nmember++] = m;
	}
}

static void names_put(struct rp_sb *sb, const char (*n)[RP_DIR_NAME_MAX + 1], size_t k)
{
	rp_sb_puts(sb, " ");
	if (k == 0)
		rp_sb_puts(sb, "-");
	for (size_t i = 0; i < k; i++)
		rp_sb_printf(sb, "%s%s", i ? "," : "", n[i]);
}

char *agent_member_format(const struct agent *a, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, MEMBER_MAX);
	for (size_t i = 0; i < a->nmember; i++) {
		const struct agent_member *m = &a->member[i];
		rp_sb_printf(&sb, "%llu", (unsigned long long)m->index);
		names_put(&sb, (const char(*)[RP_DIR_NAME_MAX + 1]) m->groups, m->ngroups);
		names_put(&sb, (const char(*)[RP_DIR_NAME_MAX + 1]) m->tags, m->ntags);
		rp_sb_puts(&sb, "\n");
	}
	return rp_sb_take(&sb, ret_len);
}

/* "-" or names separated by commas, each valid, at most max. */
static bool names_get(const char *s, size_t n, size_t max, char (*out)[RP_DIR_NAME_MAX + 1],
		      size_t *ret_n)
{
	size_t k = 0, i = 0;

	*ret_n = 0;
	if (rp_memeq(s, n, "-"))
		return true;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		if (k == max || !rp_dir_name_valid(s + i, j - i))
			return false;
		memset(out[k], 0, sizeof(out[k]));
		memcpy(out[k++], s + i, j - i);
		i = j + 1;
	}
	*ret_n = k;
	return true;
}

/* Lines `<index> <groups|-> <tags|->', indexes strictly rising, at most AGENT_MEMBER_MAX. */
int agent_member_parse(const char *text, size_t len, struct agent *a, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	const char *line;
	size_t llen, n = 0;
	int k;

	if (len > MEMBER_MAX) {
		rp_diagf(d, "membership.state: %zu bytes, more than %d", len, MEMBER_MAX);
		return RP_E_TOOBIG;
	}
	while ((k = rp_cursor_line(&c, &line, &llen)) == 1) {
		const char *w, *rest, *g, *t;
		size_t wl, rl, gl, tl;
		uint64_t idx;
		struct agent_member m;
		memset(&m, 0, sizeof(m));
		if (n == AGENT_MEMBER_MAX || !rp_split_word(line, llen, &w, &wl, &rest, &rl) ||
		    rp_parse_u64(w, wl, INT64_MAX, &idx) != 0 ||
		    !rp_split_word(rest, rl, &g, &gl, &t, &tl) ||
		    !names_get(g, gl, RP_DIR_DEVICE_GROUPS_MAX, m.groups, &m.ngroups) ||
		    !names_get(t, tl, RP_DIR_TAGS_MAX, m.tags, &m.ntags) ||
		    (n && idx <= a->member[n - 1].index)) {
			rp_diagf(d,
				 "membership.state: line %zu is not `INDEX GROUPS TAGS' after the "
				 "line before it",
				 n + 1);
			a->nmember = 0;
			return RP_E_MALFORMED;
		}
		m.index = idx;
		a->member[n++] = m;
	}
	if (k < 0) {
		rp_diagf(d, "membership.state: the last line does not end in a newline");
		a->nmember = 0;
		return RP_E_MALFORMED;
	}
	a->nmember = n;
	return 0;
}

int agent_dir_load(struct agent *a, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	struct rp_diag pd = {""};
	size_t len;
	int r;

	rp_dir_state_init(&a->dirst, a->conf.org);
	a->nmember = 0;
	agent_path(a, path, sizeof(path), MEMBER_FILE);
	r = rp_read_file_flags(path, MEMBER_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL);
	if (r == 0) {
		r = agent_member_parse(buf, len, a, &pd);
		free(buf);
		buf = NULL;
		if (r < 0) {
			rp_diagf(d,
				 "%s: %s (written atomically by the agent: changed by hand or "
				 "damaged)",
				 path, pd.msg);
			return r;
		}
	} else if (r != RP_E_NOTFOUND) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	agent_path(a, path, sizeof(path), STATE_FILE);
	r = rp_read_file_flags(path, RP_DIR_STATE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL);
	if (r == RP_E_NOTFOUND)
		return 0;
	if (r < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_dir_state_parse(buf, len, &a->dirst, &pd);
	free(buf);
	if (r == 0 && strcmp(a->dirst.org, a->conf.org) != 0) {
		snprintf(pd.msg, sizeof(pd.msg), "it is of org %s", a->dirst.org);
		rp_dir_state_release(&a->dirst);
		rp_dir_state_init(&a->dirst, a->conf.org);
		r = RP_E_ORG;
	}
	if (r < 0)
		rp_diagf(d, "%s: %s (written atomically by the agent: changed by hand or damaged)",
			 path, pd.msg);
	return r;
}

void agent_dir_release(struct agent *a)
{
	rp_dir_state_release(&a->dirst);
}

int agent_dir_save(struct agent *a)
{
	char path[600], *text;
	size_t len;
	int r;

	/* membership first: an entry folded again after a stop records its change again */
	if (a->member_dirty) {
		if (!(text = agent_member_format(a, &len)))
			return RP_E_NOMEM;
		agent_path(a, path, sizeof(path), MEMBER_FILE);
		r = rp_write_file_atomic(path, text, len, 0600);
		free(text);
		if (r < 0)
			return r;
		a->member_dirty = false;
	}
	if (!a->dir_dirty)
		return 0;
	if (!(text = rp_dir_state_format(&a->dirst, &len)))
		return RP_E_NOMEM;
	agent_path(a, path, sizeof(path), STATE_FILE);
	r = rp_write_file_atomic(path, text, len, 0600);
	free(text);
	if (r == 0)
		a->dir_dirty = false;
	return r;
}

void agent_dir_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len,
		    const struct rp_policy *p, struct agent_walk_alert *ret)
{
	char *code = ret->code, *reason = ret->reason;
	struct rp_dir_stmt *st = NULL;
	struct rp_diag pd = {""};
	uint32_t need;
	bool ok;
	int r;

	code[0] = reason[0] = ret->id[0] = '\0';
	if ((r = rp_dir_stmt_parse((const char *)entry, len, &st, &pd)) < 0) {
		snprintf(code, RP_ALERT_CODE_MAX + 1, "directory-refused");
		snprintf(reason, RP_ALERT_REASON_MAX + 1,
			 "log entry %llu calls itself a directory statement but does not parse: "
			 "%s",
			 (unsigned long long)index, pd.msg);
		return;
	}
	memcpy(ret->id, st->id, sizeof(ret->id));
	if (strcmp(st->org, a->conf.org) != 0) {
		snprintf(code, RP_ALERT_CODE_MAX + 1, "directory-refused");
		snprintf(reason, RP_ALERT_REASON_MAX + 1,
			 "log entry %llu is a directory statement of org %s, not %s",
			 (unsigned long long)index, st->org, a->conf.org);
		goto out;
	}
	/*
	 * The quorum first: the role's, or the strictest of this device's
	 * groups before the entry. Only a statement that carries it can be a
	 * fork or break the chain (security alerts); anything else a server
	 * logs is refused, like junk (directory-refused).
	 */
	need = rp_dir_threshold(p, &a->dirst.dir, RP_ROLE_DIRECTORY, a->conf.device);
	if (st->version <= a->dirst.version) {
		uint8_t h[32];
		rp_dir_stmt_hash(st, entry, len, h);
		/* read again after a stop (the same entry), or logged again: nothing changes */
		if (st->version == a->dirst.version && memcmp(h, a->dirst.head, 32) != 0 &&
		    st->note &&
		    rp_quorum_check_min(p, RP_ROLE_DIRECTORY, need, st->note, NULL, NULL) == 0) {
			snprintf(code, RP_ALERT_CODE_MAX + 1, "directory-fork");
			snprintf(reason, RP_ALERT_REASON_MAX + 1,
				 "log entry %llu is another directory version %llu than the one "
				 "this device folded: ignored",
				 (unsigned long long)index, (unsigned long long)st->version);
		}
		goto out;
	}
	size_t dropped = 0;
	struct agent_member before, after;
	member_of(rp_dir_device_get(&a->dirst.dir, a->conf.device), index, &before);
	if ((r = rp_dir_fold(&a->dirst, st, entry, len, p, need, &ok, &dropped, &pd)) < 0) {
		snprintf(code, RP_ALERT_CODE_MAX + 1, ok ? "directory-chain" : "directory-refused");
		snprintf(reason, RP_ALERT_REASON_MAX + 1, "log entry %llu: %s",
			 (unsigned long long)index, pd.msg);
		goto out;
	}
	a->dir_dirty = true;
	if (!ok) {
		/* its delivery is reported refused (agent/run.c), whatever the directory is then */
		agent_mark_set(a, st->id, MARK_REFUSED);
		snprintf(code, RP_ALERT_CODE_MAX + 1, "directory-refused");
		snprintf(reason, RP_ALERT_REASON_MAX + 1,
			 "log entry %llu, directory version %llu (%s), changes nothing on this "
			 "device: %s",
			 (unsigned long long)index, (unsigned long long)st->version, st->id,
			 pd.msg[0] ? pd.msg : "it is not a signed note");
		goto out;
	}
	a->dir_changed = true;
	member_of(rp_dir_device_get(&a->dirst.dir, a->conf.device), index, &after);
	if (!member_same(&before, &after))
		member_push(a, &after);
	agent_logf("directory version %llu (%s, log entry %llu) folded%s",
		   (unsigned long long)st->version, st->id, (unsigned long long)index,
		   dropped ? ", without the device records it lacks the signatures for" : "");
	const struct rp_dir_device *me = rp_dir_device_get(&a->dirst.dir, a->conf.device);
	if (me && me->decommissioned && !a->decommissioned)
		agent_decommission(a, index, st->id);
out:
	rp_dir_stmt_free(st);
}

void agent_dir_enrol_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len)
{
	struct agent_member before, after;
	struct rp_enrolment e;
	struct rp_diag d = {""};
	bool folded;

	member_of(rp_dir_device_get(&a->dirst.dir, a->conf.device), index, &before);
	if (rp_dir_enrol_fold(&a->dirst, entry, len, &folded, &e, &d) < 0) {
		agent_logf("log entry %llu: enrolment note not folded: out of memory",
			   (unsigned long long)index);
		return;
	}
	a->dir_dirty = true;
	if (!folded) {
		/* refused by every fold alike: a replay, a token past its maximum, or forged */
		agent_logf("log entry %llu: enrolment note not folded: %s",
			   (unsigned long long)index, d.msg);
		return;
	}
	member_of(rp_dir_device_get(&a->dirst.dir, a->conf.device), index, &after);
	if (!member_same(&before, &after)) {
		member_push(a, &after);
		a->dir_changed = true;
	}
	agent_logf("log entry %llu: device %s (%s) enrolled by token %s", (unsigned long long)index,
		   e.device, e.hostname, e.token);
}

#define ENROL_FILE  "enrolment.index"
#define DECOMM_FILE "decommissioned"

/*
 * This device's own record says `decommissioned': written down before
 * anything else, so that it stops for good (agent_run exits with
 * AGENT_EXIT_DECOMMISSIONED, and at every start after); the accounts it
 * manages stay as they are (docs/directory.md).
 */
void agent_decommission(struct agent *a, uint64_t index, const char *id)
{
	char path[600], text[128];
	int n = snprintf(text, sizeof(text), "log entry %llu, directory statement %s\n",
			 (unsigned long long)index, id);

	a->decommissioned = true;
	a->dir_changed = false;
	agent_path(a, path, sizeof(path), DECOMM_FILE);
	if (rp_write_file_atomic(path, text, (size_t)n, 0600) < 0)
		agent_logf("writing %s failed: this device stops now, but not for good", path);
	agent_logf("DECOMMISSIONED by log entry %llu (directory statement %s): this device stops "
		   "acting for good, its accounts left as they are",
		   (unsigned long long)index, id);
}

bool agent_decommissioned_before(struct agent *a)
{
	char path[600];

	agent_path(a, path, sizeof(path), DECOMM_FILE);
	return access(path, F_OK) == 0;
}

void agent_enrol_load(struct agent *a)
{
	char path[600], *buf = NULL;
	size_t len;
	uint64_t v;

	a->enrol_index = -1;
	agent_path(a, path, sizeof(path), ENROL_FILE);
	if (rp_read_file_flags(path, 32, RP_FILE_NOFOLLOW, &buf, &len, NULL) < 0)
		return;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	if (rp_parse_u64(buf, len, INT64_MAX, &v) == 0)
		a->enrol_index = (int64_t)v;
	free(buf);
}

bool agent_enrol_pending(struct agent *a)
{
	char path[600];

	if (a->enrol_index < 0)
		return false;
	if (a->scan.f.size <= (uint64_t)a->enrol_index)
		return true;
	/* the walk passed it: the checkpoint goes back to its usual pace, for good */
	agent_path(a, path, sizeof(path), ENROL_FILE);
	unlink(path);
	a->enrol_index = -1;
	return false;
}

/* ---- the plan for this device ---- */

static bool has_name(const char (*names)[RP_DIR_NAME_MAX + 1], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static struct conv_user *plan_user(struct conv_plan *p, const struct rp_dir_user *u)
{
	struct conv_user *c;

	for (size_t i = 0; i < p->nusers; i++)
		if (!strcmp(p->users[i].login, u->login))
			return &p->users[i];
	c = &p->users[p->nusers];
	memset(c, 0, sizeof(*c));
	snprintf(c->login, sizeof(c->login), "%s", u->login);
	c->uid = u->uid;
	c->gid = u->gid;
	snprintf(c->gecos, sizeof(c->gecos), "%s", u->gecos);
	snprintf(c->shell, sizeof(c->shell), "%s", u->shell);
	c->takeover = u->takeover;
	c->keys = u->keys; /* borrowed from the state */
	c->nkeys = u->nkeys;
	if (u->nkeys == 0)
		c->keys = NULL;
	p->nusers++;
	return c;
}

static int add_command(struct conv_user *c, char *cmd)
{
	char **n;

	for (size_t i = 0; i < c->ncommands; i++)
		if (!strcmp(c->commands[i], cmd))
			return 0;
	if (!(n = realloc(c->commands, (c->ncommands + 1) * sizeof(*n))))
		return RP_E_NOMEM;
	c->commands = n;
	c->commands[c->ncommands++] = cmd; /* borrowed */
	return 0;
}

int agent_dir_plan(const struct rp_dir *dir, const char *device, int64_t now, struct conv_plan *ret,
		   int64_t *ret_due)
{
	const struct rp_dir_device *v = rp_dir_device_get(dir, device);
	struct conv_plan p = {0};
	int64_t due = 0;
	int r = 0;

	*ret_due = 0;
	memset(ret, 0, sizeof(*ret));
	if (!v || v->ngroups == 0)
		return 0;
	/* at most every user once, every group once */
	if (!(p.users = calloc(dir->nusers ? dir->nusers : 1, sizeof(*p.users))) ||
	    !(p.groups = calloc(dir->ngroups ? dir->ngroups : 1, sizeof(*p.groups)))) {
		r = RP_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < dir->nbinds; i++) {
		const struct rp_dir_bind *b = dir->binds[i];
		const struct rp_dir_group *g;
		bool active;

		if (!has_name((const char(*)[RP_DIR_NAME_MAX + 1]) v->groups, v->ngroups,
			      b->dgroup) ||
		    !(g = rp_dir_group_get(dir, b->ugroup)))
			continue;
		active = b->until == 0 || now < b->until;
		if (active && b->until && (due == 0 || b->until < due))
			due = b->until;
		/* the unix group: its members among the planned users */
		struct conv_group *cg = NULL;
		for (size_t k = 0; k < p.ngroups && !cg; k++)
			if (!strcmp(p.groups[k].name, g->name))
				cg = &p.groups[k];
		if (!cg) {
			cg = &p.groups[p.ngroups++];
			snprintf(cg->name, sizeof(cg->name), "%s", g->name);
			cg->gid = g->gid;
			if (g->nmembers &&
			    !(cg->members = calloc(g->nmembers, sizeof(*cg->members)))) {
				r = RP_E_NOMEM;
				goto fail;
			}
		}
		for (size_t m = 0; m < g->nmembers; m++) {
			const struct rp_dir_user *u = rp_dir_user_get(dir, g->members[m]);
			struct conv_user *c;
			if (!u)
				continue; /* a member the directory does not hold (a device's view)
					   */
			c = plan_user(&p, u);
			if (!has_name((const char(*)[RP_DIR_NAME_MAX + 1]) cg->members,
				      cg->nmembers, u->login))
				memcpy(cg->members[cg->nmembers++], u->login,
				       sizeof(cg->members[0]));
			if (!active || u->suspended)
				continue;
			c->access = true;
			if (b->access == RP_ACCESS_SUDO_ALL) {
				c->sudo = CONV_SUDO_ALL;
			} else if (b->access == RP_ACCESS_SUDO) {
				if (c->sudo == CONV_SUDO_NONE)
					c->sudo = CONV_SUDO_COMMANDS;
				for (size_t k = 0; k < b->ncommands && r == 0; k++)
					r = add_command(c, b->commands[k]);
				if (r < 0)
					goto fail;
			}
		}
	}
	/* full sudo includes every command: the list goes */
	for (size_t i = 0; i < p.nusers; i++)
		if (p.users[i].sudo != CONV_SUDO_COMMANDS) {
			free(p.users[i].commands);
			p.users[i].commands = NULL;
			p.users[i].ncommands = 0;
		}
	*ret = p;
	*ret_due = due;
	return 0;
fail:
	agent_dir_plan_release(&p);
	return r;
}

void agent_dir_plan_release(struct conv_plan *p)
{
	for (size_t i = 0; i < p->nusers; i++)
		free(p->users[i].commands);
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->groups[i].members);
	free(p->users);
	free(p->groups);
	memset(p, 0, sizeof(*p));
}
