/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory statements and the folded directory (lib/directory.h).
 *
 * One line syntax serves the statement, the state file and the diff: each
 * object is one line (a user's keys and a binding's commands follow it on
 * lines of their own), formatted by obj_format and parsed by parse_objects.
 * Sections come in one order (users, groups, device groups, devices,
 * bindings, then removals in the same order, repairs, the comment) and,
 * within a section, objects in strictly ascending order of their key: so
 * no object appears twice, and a given set of objects has one text.
 */
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "rp_err.h"
#include "sshkey.h"

static const char stmt_header[] = "rampart/directory/v1";
static const char state_header[] = "rampart/directory-state/v1";

enum kind { K_USER, K_GROUP, K_DGROUP, K_DEVICE, K_BIND, K_TOKEN, K_N };
static const char *const kind_word[K_N] = {"user",   "group", "device-group",
					   "device", "bind",  "token"};

/* ---- names and small values ---- */

bool rp_dir_name_valid(const char *s, size_t n)
{
	return n <= RP_DIR_NAME_MAX && rp_user_name_valid(s, n);
}

/* printable UTF-8 without ':' ',' (passwd's separators) or controls; no edge spaces */
static bool gecos_valid(const char *s, size_t n)
{
	if (n == 0 || n > RP_DIR_GECOS_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ':' || c == ',')
			return false;
	}
	/* valid UTF-8: rp_note_text_valid checked the whole text already */
	return true;
}

static bool shell_valid(const char *s, size_t n)
{
	if (n < 2 || n > RP_DIR_SHELL_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':')
			return false;
	return true;
}

/* uids and gids of accounts Rampart may manage: not system ones, not nobody's */
static bool id_valid(uint64_t v)
{
	return v >= 1000 && v < 65534;
}

/* ---- object memory ---- */

static void user_free(struct rp_dir_user *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nkeys; i++)
		free(u->keys[i]);
	free(u->keys);
	free(u);
}

static void group_free(struct rp_dir_group *g)
{
	if (g)
		free(g->members);
	free(g);
}

static void device_free(struct rp_dir_device *v)
{
	if (v) {
		free(v->groups);
		free(v->tags);
	}
	free(v);
}

static void bind_free(struct rp_dir_bind *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ncommands; i++)
		free(b->commands[i]);
	free(b->commands);
	free(b);
}

static void token_free(struct rp_dir_token *t)
{
	if (t) {
		free(t->groups);
		free(t->tags);
		free(t->enrolled);
	}
	free(t);
}

static void obj_free(enum kind k, void *o)
{
	switch (k) {
	case K_USER: user_free(o); break;
	case K_TOKEN: token_free(o); break;
	case K_GROUP: group_free(o); break;
	case K_DEVICE: device_free(o); break;
	case K_BIND: bind_free(o); break;
	default: free(o);
	}
}

/* The array and count of kind k in d. */
static void ***arr(struct rp_dir *d, enum kind k, size_t **ret_n)
{
	switch (k) {
	case K_USER: *ret_n = &d->nusers; return (void ***)&d->users;
	case K_GROUP: *ret_n = &d->ngroups; return (void ***)&d->groups;
	case K_DGROUP: *ret_n = &d->ndgroups; return (void ***)&d->dgroups;
	case K_DEVICE: *ret_n = &d->ndevices; return (void ***)&d->devices;
	case K_TOKEN: *ret_n = &d->ntokens; return (void ***)&d->tokens;
	default: *ret_n = &d->nbinds; return (void ***)&d->binds;
	}
}

static void dir_release(struct rp_dir *d)
{
	for (int k = 0; k < K_N; k++) {
		size_t *n;
		void ***a = arr(d, (enum kind)k, &n);
		for (size_t i = 0; i < *n; i++)
			obj_free((enum kind)k, (*a)[i]);
		free(*a);
		*a = NULL;
		*n = 0;
	}
}

static int push(struct rp_dir *d, enum kind k, void *o)
{
	size_t *n;
	void ***a = arr(d, k, &n);
	void **na;

	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;
		if (!(na = realloc(*a, cap * sizeof(*na))))
			return RP_E_NOMEM;
		*a = na;
	}
	(*a)[(*n)++] = o;
	return 0;
}

static char *memdup0(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- keys and order ---- */

/* Compares objects of kind k by key. */
static int key_cmp(enum kind k, const void *a, const void *b)
{
	switch (k) {
	case K_USER:
		return strcmp(((const struct rp_dir_user *)a)->login,
			      ((const struct rp_dir_user *)b)->login);
	case K_GROUP:
		return strcmp(((const struct rp_dir_group *)a)->name,
			      ((const struct rp_dir_group *)b)->name);
	case K_DGROUP:
		return strcmp(((const struct rp_dir_dgroup *)a)->name,
			      ((const struct rp_dir_dgroup *)b)->name);
	case K_DEVICE:
		return strcmp(((const struct rp_dir_device *)a)->id,
			      ((const struct rp_dir_device *)b)->id);
	case K_TOKEN:
		return strcmp(((const struct rp_dir_token *)a)->id,
			      ((const struct rp_dir_token *)b)->id);
	default: {
		const struct rp_dir_bind *x = a, *y = b;
		int c = strcmp(x->ugroup, y->ugroup);
		return c ? c : strcmp(x->dgroup, y->dgroup);
	}
	}
}

/* Index of the object with o's key in d's sorted array of kind k, or -1 (*ret_at: where it
 * would go). */
static ssize_t find(const struct rp_dir *d, enum kind k, const void *o, size_t *ret_at)
{
	size_t *n, lo = 0, hi;
	void ***a = arr((struct rp_dir *)d, k, &n);

	hi = *n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(k, (*a)[mid], o);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ret_at)
		*ret_at = lo;
	return -1;
}

/* The object of kind k whose key's first field is name (a login, a name, an id). */
static const void *get(const struct rp_dir *d, enum kind k, const char *name)
{
	/* every kind's key starts its struct: a zeroed object of the largest kind carries it */
	union {
		struct rp_dir_user u;
		struct rp_dir_group g;
		struct rp_dir_dgroup dg;
		struct rp_dir_device v;
		struct rp_dir_token t;
	} key;
	size_t *n;
	void ***a = arr((struct rp_dir *)d, k, &n);
	ssize_t i;

	memset(&key, 0, sizeof(key));
	snprintf((char *)&key, RP_DIR_NAME_MAX + 1, "%s", name);
	i = find(d, k, &key, NULL);
	return i < 0 ? NULL : (*a)[i];
}

const struct rp_dir_user *rp_dir_user_get(const struct rp_dir *d, const char *login)
{
	return get(d, K_USER, login);
}

const struct rp_dir_group *rp_dir_group_get(const struct rp_dir *d, const char *name)
{
	return get(d, K_GROUP, name);
}

const struct rp_dir_device *rp_dir_device_get(const struct rp_dir *d, const char *id)
{
	return get(d, K_DEVICE, id);
}

bool rp_dir_dgroup_exists(const struct rp_dir *d, const char *name)
{
	return get(d, K_DGROUP, name) != NULL;
}

const struct rp_dir_token *rp_dir_token_get(const struct rp_dir *d, const char *id)
{
	return get(d, K_TOKEN, id);
}

static bool in_names(const char (*names)[RP_DIR_NAME_MAX + 1], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

bool rp_dir_targets(const struct rp_dir *s, const char *target, const char *device_id)
{
	const struct rp_dir_device *v;

	if (!strcmp(target, "all"))
		return true;
	if (!strcmp(target, device_id))
		return true;
	if (!(v = rp_dir_device_get(s, device_id)))
		return false;
	if (!strncmp(target, "group:", 6))
		return in_names((const char(*)[RP_DIR_NAME_MAX + 1]) v->groups, v->ngroups,
				target + 6);
	if (!strncmp(target, "tag:", 4))
		return in_names((const char(*)[RP_DIR_NAME_MAX + 1]) v->tags, v->ntags, target + 4);
	return false;
}

bool rp_dir_device_targets(const struct rp_dir_device *v, const struct rp_command *c,
			   const char *device_id)
{
	if (rp_command_targets(c, device_id))
		return true;
	if (!v || !c->by_directory)
		return false;
	for (size_t i = 0; i < c->ntargets; i++) {
		const char *t = c->targets[i];
		if ((!strncmp(t, "group:", 6) &&
		     in_names((const char(*)[RP_DIR_NAME_MAX + 1]) v->groups, v->ngroups, t + 6)) ||
		    (!strncmp(t, "tag:", 4) &&
		     in_names((const char(*)[RP_DIR_NAME_MAX + 1]) v->tags, v->ntags, t + 4)))
			return true;
	}
	return false;
}

bool rp_dir_command_targets(const struct rp_dir *dir, const struct rp_command *c,
			    const char *device_id)
{
	if (rp_command_targets(c, device_id))
		return true;
	if (!dir || !c->by_directory)
		return false;
	for (size_t i = 0; i < c->ntargets; i++)
		if (rp_dir_targets(dir, c->targets[i], device_id))
			return true;
	return false;
}

uint32_t rp_dir_threshold(const struct rp_policy *p, const struct rp_dir *dir, enum rp_role_id role,
			  const char *device_id)
{
	const struct rp_dir_device *v = dir ? rp_dir_device_get(dir, device_id) : NULL;

	return rp_policy_threshold(p, role,
				   v ? (const char(*)[RP_USER_NAME_MAX + 1]) v->groups : NULL,
				   v ? v->ngroups : 0);
}

uint32_t rp_dir_statement_threshold(const struct rp_policy *p, const struct rp_dir *dir,
				    const struct rp_command *c)
{
	enum rp_role_id role = rp_command_role(c);
	uint32_t t = p->roles[role].threshold;

	if (p->ngthresholds == 0 || !dir)
		return t;
	/* a token enrols every device it names into its groups: their threshold too */
	for (size_t i = 0; c->kind == RP_KIND_DIRECTORY && c->dir && i < c->dir->put.ntokens; i++) {
		const struct rp_dir_token *tk = c->dir->put.tokens[i];
		uint32_t k = rp_policy_threshold(
			p, role, (const char(*)[RP_USER_NAME_MAX + 1]) tk->groups, tk->ngroups);
		if (k > t)
			t = k;
	}
	for (size_t i = 0; i < dir->ndevices; i++) {
		const struct rp_dir_device *v = dir->devices[i];
		uint32_t k;
		if (!rp_dir_command_targets(dir, c, v->id))
			continue;
		k = rp_policy_threshold(p, role, (const char(*)[RP_USER_NAME_MAX + 1]) v->groups,
					v->ngroups);
		if (k > t)
			t = k;
	}
	return t;
}

/* ---- formatting ---- */

static void names_format(struct rp_sb *sb, const char *word,
			 const char (*names)[RP_DIR_NAME_MAX + 1], size_t n)
{
	if (n == 0)
		return;
	rp_sb_printf(sb, " %s ", word);
	for (size_t i = 0; i < n; i++)
		rp_sb_printf(sb, "%s%s", i ? "," : "", names[i]);
}

static const char *access_word(enum rp_dir_access a)
{
	return a == RP_ACCESS_SUDO_ALL ? "sudo-all" : a == RP_ACCESS_SUDO ? "sudo" : "login";
}

/* One object's lines (prefix before each: "" in statements, "+ " in diffs). */
static void obj_format(struct rp_sb *sb, enum kind k, const void *o, const char *prefix)
{
	switch (k) {
	case K_USER: {
		const struct rp_dir_user *u = o;
		rp_sb_printf(sb, "%suser %s uid %u gid %u shell %s state %s%s", prefix, u->login,
			     u->uid, u->gid, u->shell, u->suspended ? "suspended" : "active",
			     u->takeover ? " takeover" : "");
		if (u->gecos[0])
			rp_sb_printf(sb, " name %s", u->gecos);
		rp_sb_puts(sb, "\n");
		for (size_t i = 0; i < u->nkeys; i++)
			rp_sb_printf(sb, "%skey %s\n", prefix, u->keys[i]);
		break;
	}
	case K_GROUP: {
		const struct rp_dir_group *g = o;
		rp_sb_printf(sb, "%sgroup %s gid %u", prefix, g->name, g->gid);
		names_format(sb, "members", (const char(*)[RP_DIR_NAME_MAX + 1]) g->members,
			     g->nmembers);
		rp_sb_puts(sb, "\n");
		break;
	}
	case K_DGROUP:
		rp_sb_printf(sb, "%sdevice-group %s\n", prefix,
			     ((const struct rp_dir_dgroup *)o)->name);
		break;
	case K_DEVICE: {
		const struct rp_dir_device *v = o;
		rp_sb_printf(sb, "%sdevice %s", prefix, v->id);
		names_format(sb, "groups", (const char(*)[RP_DIR_NAME_MAX + 1]) v->groups,
			     v->ngroups);
		names_format(sb, "tags", (const char(*)[RP_DIR_NAME_MAX + 1]) v->tags, v->ntags);
		rp_sb_puts(sb, v->decommissioned ? " decommissioned\n" : "\n");
		break;
	}
	case K_TOKEN: {
		const struct rp_dir_token *tk = o;
		char t[21], *key = rp_b64_encode(tk->key, sizeof(tk->key));
		rp_time_format(tk->expires, t);
		if (!key) {
			sb->err = RP_E_NOMEM;
			break;
		}
		rp_sb_printf(sb, "%stoken %s key %s expires %s max %u", prefix, tk->id, key, t,
			     tk->max);
		free(key);
		names_format(sb, "groups", (const char(*)[RP_DIR_NAME_MAX + 1]) tk->groups,
			     tk->ngroups);
		names_format(sb, "tags", (const char(*)[RP_DIR_NAME_MAX + 1]) tk->tags, tk->ntags);
		rp_sb_puts(sb, "\n");
		for (size_t i = 0; i < tk->nenrolled; i++)
			rp_sb_printf(sb, "%senrolled %s\n", prefix, tk->enrolled[i]);
		break;
	}
	default: {
		const struct rp_dir_bind *b = o;
		char t[21];
		rp_sb_printf(sb, "%sbind %s %s %s", prefix, b->ugroup, b->dgroup,
			     access_word(b->access));
		if (b->until) {
			rp_time_format(b->until, t);
			rp_sb_printf(sb, " until %s", t);
		}
		rp_sb_puts(sb, "\n");
		for (size_t i = 0; i < b->ncommands; i++)
			rp_sb_printf(sb, "%scommand %s\n", prefix, b->commands[i]);
	}
	}
}

static void obj_key_format(struct rp_sb *sb, enum kind k, const void *o)
{
	switch (k) {
	case K_USER:
		rp_sb_printf(sb, "remove user %s\n", ((const struct rp_dir_user *)o)->login);
		break;
	case K_GROUP:
		rp_sb_printf(sb, "remove group %s\n", ((const struct rp_dir_group *)o)->name);
		break;
	case K_DGROUP:
		rp_sb_printf(sb, "remove device-group %s\n",
			     ((const struct rp_dir_dgroup *)o)->name);
		break;
	case K_DEVICE:
		rp_sb_printf(sb, "remove device %s\n", ((const struct rp_dir_device *)o)->id);
		break;
	case K_TOKEN:
		rp_sb_printf(sb, "remove token %s\n", ((const struct rp_dir_token *)o)->id);
		break;
	default:
		rp_sb_printf(sb, "remove bind %s %s\n", ((const struct rp_dir_bind *)o)->ugroup,
			     ((const struct rp_dir_bind *)o)->dgroup);
	}
}

static void dir_format(struct rp_sb *sb, const struct rp_dir *d)
{
	for (int k = 0; k < K_N; k++) {
		size_t *n;
		void ***a = arr((struct rp_dir *)d, (enum kind)k, &n);
		for (size_t i = 0; i < *n; i++)
			obj_format(sb, (enum kind)k, (*a)[i], "");
	}
}

char *rp_dir_stmt_format(const struct rp_dir_stmt *st, size_t *ret_len)
{
	struct rp_sb sb;
	char t[21], h[65];

	rp_time_format(st->expires, t);
	rp_hex_encode(st->previous, 32, h);
	rp_sb_init(&sb, RP_LOG_ENTRY_MAX);
	rp_sb_printf(&sb, "%s\norg %s\nid %s\nversion %llu\n", stmt_header, st->org, st->id,
		     (unsigned long long)st->version);
	if (st->first)
		rp_sb_puts(&sb, "previous none\n");
	else
		rp_sb_printf(&sb, "previous sha256:%s\n", h);
	rp_sb_printf(&sb, "expires %s\n", t);
	dir_format(&sb, &st->put);
	for (int k = 0; k < K_N; k++) {
		size_t *n;
		void ***a = arr((struct rp_dir *)&st->del, (enum kind)k, &n);
		for (size_t i = 0; i < *n; i++)
			obj_key_format(&sb, (enum kind)k, (*a)[i]);
	}
	if (st->repair_all)
		rp_sb_puts(&sb, "repair all\n");
	for (size_t i = 0; i < st->nrepair; i++)
		rp_sb_printf(&sb, "repair %s\n", st->repair[i]);
	if (st->comment[0])
		rp_sb_printf(&sb, "comment %s\n", st->comment);
	return rp_sb_take(&sb, ret_len);
}

char *rp_dir_state_format(const struct rp_dir_state *s, size_t *ret_len)
{
	struct rp_sb sb;
	char h[65];

	rp_hex_encode(s->head, 32, h);
	rp_sb_init(&sb, RP_DIR_STATE_MAX);
	rp_sb_printf(&sb, "%s\norg %s\nversion %llu\n", state_header, s->org,
		     (unsigned long long)s->version);
	if (s->version == 0)
		rp_sb_puts(&sb, "head none\n");
	else
		rp_sb_printf(&sb, "head sha256:%s\n", h);
	if (s->entries != s->version) {
		rp_hex_encode(s->tail, 32, h);
		rp_sb_printf(&sb, "entries %llu tail sha256:%s\n", (unsigned long long)s->entries,
			     h);
	}
	dir_format(&sb, &s->dir);
	return rp_sb_take(&sb, ret_len);
}

/* ---- parsing ---- */

struct parser {
	struct rp_cursor cur;
	const char *what; /* "directory" or "directory state" */
	bool state;       /* a state: tokens list the devices they enrolled */
	struct rp_diag *d;
	size_t lineno;
	/* the line read ahead, if any */
	bool have;
	const char *line;
	size_t len;
};

static int next_line(struct parser *p)
{
	int k;

	if (p->have) {
		p->have = false;
		return 1;
	}
	k = rp_cursor_line(&p->cur, &p->line, &p->len);
	if (k == 1)
		p->lineno++;
	return k;
}

static int bad(struct parser *p, const char *why)
{
	char q[72];

	rp_quote(q, sizeof(q), p->line, p->len);
	rp_diagf(p->d, "%s: line %zu `%s': %s", p->what, p->lineno, q, why);
	return RP_E_MALFORMED;
}

/* Words of a line split at single spaces; past max - 1 of them, the rest is the last. */
struct words {
	size_t n;
	const char *w[16];
	size_t l[16];
};

static bool split(const char *s, size_t n, size_t max, struct words *ret)
{
	size_t i = 0;

	ret->n = 0;
	while (i < n) {
		size_t j = i;
		if (ret->n == max - 1) {
			ret->w[ret->n] = s + i;
			ret->l[ret->n++] = n - i;
			return true;
		}
		while (j < n && s[j] != ' ')
			j++;
		if (j == i || ret->n == 16)
			return false; /* an empty word: a leading, trailing or doubled space */
		ret->w[ret->n] = s + i;
		ret->l[ret->n++] = j - i;
		i = j + 1;
		if (j < n && j + 1 == n)
			return false;
	}
	return ret->n > 0;
}

static bool word_is(const struct words *w, size_t i, const char *lit)
{
	return i < w->n && rp_memeq(w->w[i], w->l[i], lit);
}

static bool parse_id32(const char *s, size_t n, uint32_t *ret)
{
	uint64_t v;

	if (rp_parse_u64(s, n, UINT32_MAX, &v) != 0 || !id_valid(v))
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* "a,b,c": sorted strictly ascending, each a valid name, at most max. */
static int parse_names(const char *s, size_t n, size_t max, char (**ret)[RP_DIR_NAME_MAX + 1],
		       size_t *ret_n)
{
	size_t count = 1, k = 0, i = 0;
	char(*names)[RP_DIR_NAME_MAX + 1];

	for (size_t j = 0; j < n; j++)
		count += s[j] == ',';
	if (count > max)
		return RP_E_TOOBIG;
	if (!(names = calloc(count, sizeof(*names))))
		return RP_E_NOMEM;
	while (k < count) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		if (!rp_dir_name_valid(s + i, j - i))
			goto bad;
		memcpy(names[k], s + i, j - i);
		if (k > 0 && strcmp(names[k - 1], names[k]) >= 0)
			goto bad;
		k++;
		i = j + 1;
	}
	*ret = names;
	*ret_n = count;
	return 0;
bad:
	free(names);
	return RP_E_MALFORMED;
}

static int parse_user(struct parser *p, const struct words *w, struct rp_dir_user **ret)
{
	struct rp_dir_user *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return RP_E_NOMEM;
	/* user LOGIN uid N gid N shell PATH state active|suspended [takeover] [name ...] */
	if (w->n < 10 || (w->n == 11 && w->l[10] == 0) || !word_is(w, 2, "uid") ||
	    !word_is(w, 4, "gid") || !word_is(w, 6, "shell") || !word_is(w, 8, "state")) {
		r = bad(p, "is not `user LOGIN uid N gid N shell PATH state active|suspended "
			   "[takeover] [name FULL NAME]'");
		goto fail;
	}
	if (!rp_dir_name_valid(w->w[1], w->l[1])) {
		r = bad(p, "the login is not a valid user name");
		goto fail;
	}
	memcpy(u->login, w->w[1], w->l[1]);
	if (!parse_id32(w->w[3], w->l[3], &u->uid) || !parse_id32(w->w[5], w->l[5], &u->gid)) {
		r = bad(p, "uid and gid must be numbers from 1000 to 65533");
		goto fail;
	}
	if (!shell_valid(w->w[7], w->l[7])) {
		r = bad(p, "the shell is not an absolute path");
		goto fail;
	}
	memcpy(u->shell, w->w[7], w->l[7]);
	if (word_is(w, 9, "suspended"))
		u->suspended = true;
	else if (!word_is(w, 9, "active")) {
		r = bad(p, "state is neither active nor suspended");
		goto fail;
	}
	if (w->n == 11) {
		/* the rest: [takeover] [name FULL NAME] */
		const char *t = w->w[10];
		size_t tl = w->l[10];
		if (tl >= 8 && !memcmp(t, "takeover", 8) && (tl == 8 || t[8] == ' ')) {
			u->takeover = true;
			t += tl == 8 ? 8 : 9;
			tl -= tl == 8 ? 8 : 9;
		}
		if (tl >= 5 && !memcmp(t, "name ", 5)) {
			if (!gecos_valid(t + 5, tl - 5)) {
				r = bad(p, "the name is empty, over 64 bytes, or holds `:' `,', a "
					   "control character or an edge space");
				goto fail;
			}
			memcpy(u->gecos, t + 5, tl - 5);
		} else if (tl) {
			r = bad(p, "unknown words after the state");
			goto fail;
		}
	}
	/* its keys, on the lines that follow */
	while ((r = next_line(p)) == 1) {
		const char *k;
		size_t kl;
		if (p->len < 4 || memcmp(p->line, "key ", 4) != 0) {
			p->have = true;
			break;
		}
		k = p->line + 4;
		kl = p->len - 4;
		if (u->nkeys == RP_DIR_KEYS_MAX) {
			r = bad(p, "more than 32 keys for one user");
			goto fail;
		}
		if (!rp_ssh_key_valid(k, kl)) {
			r = bad(p, "is not `key TYPE BASE64 [COMMENT]' with a known SSH key type "
				   "and no options");
			goto fail;
		}
		for (size_t j = 0; j < u->nkeys; j++) {
			/* the same key twice, whatever its comment */
			struct words a, b;
			if (split(u->keys[j], strlen(u->keys[j]), 3, &a) && split(k, kl, 3, &b) &&
			    a.n >= 2 && b.n >= 2 && a.l[1] == b.l[1] &&
			    !memcmp(a.w[1], b.w[1], a.l[1])) {
				r = bad(p, "the same key is listed twice");
				goto fail;
			}
		}
		char **nk = realloc(u->keys, (u->nkeys + 1) * sizeof(*nk));
		if (!nk || !(nk[u->nkeys] = memdup0(k, kl))) {
			if (nk)
				u->keys = nk;
			r = RP_E_NOMEM;
			goto fail;
		}
		u->keys = nk;
		u->nkeys++;
	}
	if (r < 0) {
		rp_diagf(p->d, "%s: the last line does not end in a newline", p->what);
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = u;
	return 0;
fail:
	user_free(u);
	return r;
}

static int parse_group(struct parser *p, const struct words *w, struct rp_dir_group **ret)
{
	struct rp_dir_group *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return RP_E_NOMEM;
	if ((w->n != 4 && w->n != 6) || !word_is(w, 2, "gid") ||
	    (w->n == 6 && !word_is(w, 4, "members"))) {
		r = bad(p, "is not `group NAME gid N [members LOGIN,...]'");
		goto fail;
	}
	if (!rp_dir_name_valid(w->w[1], w->l[1])) {
		r = bad(p, "the group name is not valid");
		goto fail;
	}
	memcpy(g->name, w->w[1], w->l[1]);
	if (!parse_id32(w->w[3], w->l[3], &g->gid)) {
		r = bad(p, "gid must be a number from 1000 to 65533");
		goto fail;
	}
	if (w->n == 6 && (r = parse_names(w->w[5], w->l[5], RP_DIR_MEMBERS_MAX, &g->members,
					  &g->nmembers)) < 0) {
		r = r == RP_E_NOMEM
			    ? r
			    : bad(p, r == RP_E_TOOBIG ? "more than 2000 members"
						      : "members are not valid logins in ascending "
							"order, each once");
		goto fail;
	}
	*ret = g;
	return 0;
fail:
	group_free(g);
	return r;
}

/*
 * `[groups NAME,...] [tags NAME,...]' from word *i on (moved past them):
 * what a device record and a token give a device. Every word used: 0;
 * RP_E_TOOBIG, RP_E_NOMEM, or RP_E_MALFORMED otherwise.
 */
static int parse_membership(const struct words *w, size_t *i, char (**groups)[RP_DIR_NAME_MAX + 1],
			    size_t *ngroups, char (**tags)[RP_DIR_NAME_MAX + 1], size_t *ntags)
{
	int r = 0;

	if (word_is(w, *i, "groups") && *i + 1 < w->n) {
		r = parse_names(w->w[*i + 1], w->l[*i + 1], RP_DIR_DEVICE_GROUPS_MAX, groups,
				ngroups);
		*i += 2;
	}
	if (r == 0 && word_is(w, *i, "tags") && *i + 1 < w->n) {
		r = parse_names(w->w[*i + 1], w->l[*i + 1], RP_DIR_TAGS_MAX, tags, ntags);
		*i += 2;
	}
	return r == 0 && *i != w->n ? RP_E_MALFORMED : r;
}

static int parse_device(struct parser *p, const struct words *w, struct rp_dir_device **ret)
{
	struct rp_dir_device *v = calloc(1, sizeof(*v));
	size_t i = 2;
	int r = 0;

	if (!v)
		return RP_E_NOMEM;
	if (w->n < 2 || !rp_id_valid(w->w[1], w->l[1])) {
		r = bad(p, "is not `device ID [groups NAME,...] [tags NAME,...]'");
		goto fail;
	}
	memcpy(v->id, w->w[1], w->l[1]);
	/* `decommissioned' last, and alone: the device leaves every group and tag */
	struct words m = *w;
	if (m.n == 3 && word_is(&m, 2, "decommissioned")) {
		v->decommissioned = true;
		m.n--;
	}
	r = parse_membership(&m, &i, &v->groups, &v->ngroups, &v->tags, &v->ntags);
	if (r == RP_E_NOMEM)
		goto fail;
	if (r < 0) {
		r = bad(p, r == RP_E_TOOBIG ? "more than 32 groups or tags"
					    : "is not `device ID [groups NAME,...] [tags "
					      "NAME,...] | decommissioned', names in ascending "
					      "order, each once");
		goto fail;
	}
	*ret = v;
	return 0;
fail:
	device_free(v);
	return r;
}

static int parse_bind(struct parser *p, const struct words *w, struct rp_dir_bind **ret)
{
	struct rp_dir_bind *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return RP_E_NOMEM;
	if ((w->n != 4 && w->n != 6) || (w->n == 6 && !word_is(w, 4, "until")) ||
	    !rp_dir_name_valid(w->w[1], w->l[1]) || !rp_dir_name_valid(w->w[2], w->l[2])) {
		r = bad(p, "is not `bind USER-GROUP DEVICE-GROUP login|sudo|sudo-all [until "
			   "TIME]'");
		goto fail;
	}
	memcpy(b->ugroup, w->w[1], w->l[1]);
	memcpy(b->dgroup, w->w[2], w->l[2]);
	if (word_is(w, 3, "login"))
		b->access = RP_ACCESS_LOGIN;
	else if (word_is(w, 3, "sudo"))
		b->access = RP_ACCESS_SUDO;
	else if (word_is(w, 3, "sudo-all"))
		b->access = RP_ACCESS_SUDO_ALL;
	else {
		r = bad(p, "access is not login, sudo or sudo-all");
		goto fail;
	}
	if (w->n == 6 && rp_time_parse(w->w[5], w->l[5], &b->until) != 0) {
		r = bad(p, "until is not YYYY-MM-DDTHH:MM:SSZ");
		goto fail;
	}
	while ((r = next_line(p)) == 1) {
		const char *c;
		size_t cl;
		if (p->len < 8 || memcmp(p->line, "command ", 8) != 0) {
			p->have = true;
			break;
		}
		c = p->line + 8;
		cl = p->len - 8;
		if (b->access != RP_ACCESS_SUDO) {
			r = bad(p, "a command follows a binding that is not `sudo'");
			goto fail;
		}
		if (b->ncommands == RP_DIR_COMMANDS_MAX) {
			r = bad(p, "more than 64 commands for one binding");
			goto fail;
		}
		if (!rp_sudo_command_valid(c, cl)) {
			r = bad(p, "is not `command /ABSOLUTE/PATH [ARGS]' without characters "
				   "sudoers gives a meaning to");
			goto fail;
		}
		for (size_t j = 0; j < b->ncommands; j++)
			if (strlen(b->commands[j]) == cl && !memcmp(b->commands[j], c, cl)) {
				r = bad(p, "the same command is listed twice");
				goto fail;
			}
		char **nc = realloc(b->commands, (b->ncommands + 1) * sizeof(*nc));
		if (!nc || !(nc[b->ncommands] = memdup0(c, cl))) {
			if (nc)
				b->commands = nc;
			r = RP_E_NOMEM;
			goto fail;
		}
		b->commands = nc;
		b->ncommands++;
	}
	if (r < 0) {
		rp_diagf(p->d, "%s: the last line does not end in a newline", p->what);
		r = RP_E_MALFORMED;
		goto fail;
	}
	if (b->access == RP_ACCESS_SUDO && b->ncommands == 0) {
		rp_diagf(p->d, "%s: a `sudo' binding of %s to %s lists no command", p->what,
			 b->ugroup, b->dgroup);
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = b;
	return 0;
fail:
	bind_free(b);
	return r;
}

static int parse_token(struct parser *p, const struct words *w, struct rp_dir_token **ret)
{
	struct rp_dir_token *t = calloc(1, sizeof(*t));
	size_t i = 8, klen;
	uint64_t max;
	int r = 0;

	if (!t)
		return RP_E_NOMEM;
	/* token ID key BASE64 expires TIME max N [groups NAME,...] [tags NAME,...] */
	if (w->n < 8 || !rp_id_valid(w->w[1], w->l[1]) || !word_is(w, 2, "key") ||
	    !word_is(w, 4, "expires") || !word_is(w, 6, "max")) {
		r = bad(p, "is not `token ID key BASE64 expires TIME max N [groups NAME,...] "
			   "[tags NAME,...]'");
		goto fail;
	}
	memcpy(t->id, w->w[1], w->l[1]);
	if (w->l[3] != 44 || rp_b64_decode(w->w[3], w->l[3], t->key, sizeof(t->key), &klen) < 0 ||
	    klen != 32) {
		r = bad(p, "the token key is not base64 of a 32-byte Ed25519 public key");
		goto fail;
	}
	if (rp_time_parse(w->w[5], w->l[5], &t->expires) != 0) {
		r = bad(p, "expires is not YYYY-MM-DDTHH:MM:SSZ");
		goto fail;
	}
	if (rp_parse_u64(w->w[7], w->l[7], RP_ENROLL_TOKEN_DEVICES_MAX, &max) != 0 || max == 0) {
		r = bad(p, "max is not a number of devices from 1 to 10000");
		goto fail;
	}
	t->max = (uint32_t)max;
	r = parse_membership(w, &i, &t->groups, &t->ngroups, &t->tags, &t->ntags);
	if (r == RP_E_NOMEM)
		goto fail;
	if (r < 0) {
		r = bad(p, r == RP_E_TOOBIG ? "more than 32 groups or tags"
					    : "is not `token ... max N [groups NAME,...] [tags "
					      "NAME,...]', names in ascending order, each once");
		goto fail;
	}
	/* in a state, the devices it enrolled, on the lines that follow, in log order */
	while (p->state && (r = next_line(p)) == 1) {
		if (p->len < 9 || memcmp(p->line, "enrolled ", 9) != 0) {
			p->have = true;
			break;
		}
		char id[RP_ID_HEX + 1] = "";
		if (!rp_id_valid(p->line + 9, p->len - 9) || t->nenrolled >= t->max) {
			r = bad(p, "is not `enrolled DEVICE-ID', at most max of them");
			goto fail;
		}
		memcpy(id, p->line + 9, RP_ID_HEX);
		if ((r = rp_dir_token_enlist(t, id)) < 0)
			goto fail;
	}
	if (r < 0) {
		rp_diagf(p->d, "%s: the last line does not end in a newline", p->what);
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	token_free(t);
	return r;
}

/* A removal line's object: only the key. */
static int parse_removal(struct parser *p, const struct words *w, enum kind *ret_k, void **ret)
{
	size_t want = 3;
	int k;

	for (k = 0; k < K_N; k++)
		if (word_is(w, 1, kind_word[k]))
			break;
	if (k == K_N)
		return bad(p, "is not `remove user|group|device-group|device|bind|token ...'");
	if (k == K_BIND)
		want = 4;
	if (w->n != want)
		return bad(p, k == K_BIND ? "is not `remove bind USER-GROUP DEVICE-GROUP'"
					  : "is not `remove KIND NAME'");
	if (k == K_DEVICE || k == K_TOKEN
		    ? !rp_id_valid(w->w[2], w->l[2])
		    : !rp_dir_name_valid(w->w[2], w->l[2]) ||
			      (k == K_BIND && !rp_dir_name_valid(w->w[3], w->l[3])))
		return bad(p, "the name is not valid");
	/* the largest of the objects, zeroed: each kind's key is its first field(s) */
	void *o = calloc(1, sizeof(struct rp_dir_user) > sizeof(struct rp_dir_bind)
				    ? sizeof(struct rp_dir_user)
				    : sizeof(struct rp_dir_bind));
	if (!o)
		return RP_E_NOMEM;
	switch (k) {
	case K_USER: memcpy(((struct rp_dir_user *)o)->login, w->w[2], w->l[2]); break;
	case K_GROUP: memcpy(((struct rp_dir_group *)o)->name, w->w[2], w->l[2]); break;
	case K_DGROUP: memcpy(((struct rp_dir_dgroup *)o)->name, w->w[2], w->l[2]); break;
	case K_DEVICE: memcpy(((struct rp_dir_device *)o)->id, w->w[2], w->l[2]); break;
	case K_TOKEN: memcpy(((struct rp_dir_token *)o)->id, w->w[2], w->l[2]); break;
	default:
		memcpy(((struct rp_dir_bind *)o)->ugroup, w->w[2], w->l[2]);
		memcpy(((struct rp_dir_bind *)o)->dgroup, w->w[3], w->l[3]);
	}
	*ret_k = (enum kind)k;
	*ret = o;
	return 0;
}

/*
 * Objects until a line that is none (left read ahead) or the end; into put
 * (and, when del is non-NULL, removals into del). Sections in order, keys
 * strictly ascending in each.
 */
static int parse_objects(struct parser *p, struct rp_dir *put, struct rp_dir *del,
			 size_t *ret_count)
{
	int section = -1, r;
	size_t count = 0;

	while ((r = next_line(p)) == 1) {
		struct words w;
		enum kind k;
		bool removal = false;
		void *o = NULL;

		if (!split(p->line, p->len, 2, &w) ||
		    !split(p->line, p->len, word_is(&w, 0, "user") ? 11 : 16, &w))
			return bad(p, "is empty, has too many words, or a leading, trailing or "
				      "doubled space");
		if (word_is(&w, 0, "remove") && del) {
			removal = true;
			if ((r = parse_removal(p, &w, &k, &o)) < 0)
				return r;
		} else {
			int i;
			for (i = 0; i < K_N; i++)
				if (word_is(&w, 0, kind_word[i]))
					break;
			if (i == K_N) {
				p->have = true;
				break;
			}
			k = (enum kind)i;
			switch (k) {
			case K_USER: r = parse_user(p, &w, (struct rp_dir_user **)&o); break;
			case K_GROUP: r = parse_group(p, &w, (struct rp_dir_group **)&o); break;
			case K_DGROUP:
				if (w.n != 2 || !rp_dir_name_valid(w.w[1], w.l[1])) {
					r = bad(p, "is not `device-group NAME'");
					break;
				}
				if (!(o = calloc(1, sizeof(struct rp_dir_dgroup)))) {
					r = RP_E_NOMEM;
					break;
				}
				memcpy(((struct rp_dir_dgroup *)o)->name, w.w[1], w.l[1]);
				r = 0;
				break;
			case K_DEVICE: r = parse_device(p, &w, (struct rp_dir_device **)&o); break;
			case K_TOKEN: r = parse_token(p, &w, (struct rp_dir_token **)&o); break;
			default: r = parse_bind(p, &w, (struct rp_dir_bind **)&o);
			}
			if (r < 0)
				return r;
		}
		/* order: the section, then the key within it */
		int sec = (int)k + (removal ? K_N : 0);
		struct rp_dir *into = removal ? del : put;
		size_t *n;
		void ***a = arr(into, k, &n);
		if (sec < section || (sec == section && key_cmp(k, (*a)[*n - 1], o) >= 0)) {
			p->have = false;
			obj_free(k, o);
			rp_diagf(
				p->d,
				"%s: the %s%s line before line %zu is out of order: sections "
				"go user, group, device-group, device, bind, token (then removals), "
				"each sorted, each object once",
				p->what, removal ? "remove " : "", kind_word[k], p->lineno + 1);
			return RP_E_MALFORMED;
		}
		if (++count > RP_DIR_OBJECTS_MAX) {
			obj_free(k, o);
			rp_diagf(p->d, "%s: more than %d objects", p->what, RP_DIR_OBJECTS_MAX);
			return RP_E_TOOBIG;
		}
		section = sec;
		if ((r = push(into, k, o)) < 0) {
			obj_free(k, o);
			return r;
		}
	}
	if (r < 0) {
		rp_diagf(p->d, "%s: the last line does not end in a newline", p->what);
		return RP_E_MALFORMED;
	}
	*ret_count = count;
	return 0;
}

static int parse_hash_field(struct parser *p, const char *name, bool *ret_none, uint8_t out[32])
{
	const char *v;
	size_t vlen;
	int r;

	if ((r = rp_expect_field(&p->cur, p->what, name, &v, &vlen, p->d)) < 0)
		return r;
	p->lineno++;
	p->line = v;
	p->len = vlen;
	*ret_none = rp_memeq(v, vlen, "none");
	if (*ret_none)
		return 0;
	if (vlen != 7 + 64 || memcmp(v, "sha256:", 7) != 0 ||
	    rp_hex_decode(v + 7, 64, out, 32) != 0)
		return bad(p, "is not `none' or `sha256:<64 hex>'");
	return 0;
}

static int parse_u64_field(struct parser *p, const char *name, uint64_t max, uint64_t *ret)
{
	const char *v;
	size_t vlen;
	int r;

	if ((r = rp_expect_field(&p->cur, p->what, name, &v, &vlen, p->d)) < 0)
		return r;
	p->lineno++;
	p->line = v;
	p->len = vlen;
	if (rp_parse_u64(v, vlen, max, ret) != 0)
		return bad(p, "is not a number");
	return 0;
}

static int parse_org(struct parser *p, char out[RP_ORG_NAME_MAX + 1])
{
	const char *v;
	size_t vlen;
	int r;

	if ((r = rp_expect_field(&p->cur, p->what, "org", &v, &vlen, p->d)) < 0)
		return r;
	p->lineno++;
	p->line = v;
	p->len = vlen;
	if (!rp_org_name_valid(v, vlen))
		return bad(p, "is not a valid organisation name");
	memcpy(out, v, vlen);
	return 0;
}

static int parse_header(struct parser *p, const char *text, size_t len, const char *header)
{
	p->cur.p = text;
	p->cur.n = len;
	if (next_line(p) != 1 || !rp_memeq(p->line, p->len, header)) {
		if (!p->line)
			p->len = 0;
		return bad(p, header == stmt_header ? "the first line is not `rampart/directory/v1'"
						    : "the first line is not "
						      "`rampart/directory-state/v1'");
	}
	return 0;
}

int rp_dir_stmt_parse_text(const char *text, size_t len, struct rp_dir_stmt **ret,
			   struct rp_diag *d)
{
	struct parser p = {.what = "directory", .d = d};
	struct rp_dir_stmt *st;
	const char *v;
	size_t vlen, count = 0;
	bool none;
	int r;

	if (len > RP_LOG_ENTRY_MAX) {
		rp_diagf(d, "directory: %zu bytes, more than %d", len, RP_LOG_ENTRY_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (!(st = calloc(1, sizeof(*st))))
		return RP_E_NOMEM;
	if ((r = parse_header(&p, text, len, stmt_header)) < 0 || (r = parse_org(&p, st->org)) < 0)
		goto fail;
	if ((r = rp_expect_field(&p.cur, p.what, "id", &v, &vlen, d)) < 0)
		goto fail;
	p.lineno++;
	p.line = v;
	p.len = vlen;
	if (!rp_id_valid(v, vlen)) {
		r = bad(&p, "the id is not 32 lowercase hex digits");
		goto fail;
	}
	memcpy(st->id, v, vlen);
	if ((r = parse_u64_field(&p, "version", INT64_MAX, &st->version)) < 0)
		goto fail;
	if (st->version == 0) {
		r = bad(&p, "versions start at 1");
		goto fail;
	}
	if ((r = parse_hash_field(&p, "previous", &none, st->previous)) < 0)
		goto fail;
	st->first = none;
	if (none != (st->version == 1)) {
		r = bad(&p, "version 1, and only it, names no previous entry (`previous none')");
		goto fail;
	}
	if ((r = rp_expect_field(&p.cur, p.what, "expires", &v, &vlen, d)) < 0)
		goto fail;
	p.lineno++;
	p.line = v;
	p.len = vlen;
	if (rp_time_parse(v, vlen, &st->expires) != 0) {
		r = bad(&p, "expires is not YYYY-MM-DDTHH:MM:SSZ");
		goto fail;
	}
	if ((r = parse_objects(&p, &st->put, &st->del, &count)) < 0)
		goto fail;
	/* an object put and removed at once is two meanings for one line */
	for (int k = 0; k < K_N; k++) {
		size_t *n;
		void ***a = arr(&st->del, (enum kind)k, &n);
		for (size_t i = 0; i < *n; i++)
			if (find(&st->put, (enum kind)k, (*a)[i], NULL) >= 0) {
				rp_diagf(d, "directory: a %s is both put and removed",
					 kind_word[k]);
				r = RP_E_MALFORMED;
				goto fail;
			}
	}
	/* then repairs, then the comment */
	while ((r = next_line(&p)) == 1) {
		if (p.len > 7 && !memcmp(p.line, "repair ", 7) && !st->comment[0]) {
			const char *t = p.line + 7;
			size_t tl = p.len - 7;
			if (rp_memeq(t, tl, "all")) {
				if (st->repair_all || st->nrepair) {
					r = bad(&p, "`repair all' comes first, and once");
					goto fail;
				}
				st->repair_all = true;
			} else {
				if (!rp_id_valid(t, tl) ||
				    (st->nrepair &&
				     memcmp(st->repair[st->nrepair - 1], t, tl) >= 0)) {
					r = bad(&p, "is not `repair all' or `repair DEVICE-ID', "
						    "ids ascending, each once");
					goto fail;
				}
				if (st->nrepair == RP_STATEMENT_TARGETS_MAX) {
					r = bad(&p, "more than 1000 devices to repair");
					goto fail;
				}
				void *nr = realloc(st->repair,
						   (st->nrepair + 1) * sizeof(*st->repair));
				if (!nr) {
					r = RP_E_NOMEM;
					goto fail;
				}
				st->repair = nr;
				memset(st->repair[st->nrepair], 0, sizeof(st->repair[0]));
				memcpy(st->repair[st->nrepair++], t, tl);
			}
			count++;
		} else if (p.len > 8 && !memcmp(p.line, "comment ", 8) && !st->comment[0]) {
			if (p.len - 8 > RP_STATEMENT_COMMENT_MAX) {
				r = bad(&p, "the comment is longer than 512 bytes");
				goto fail;
			}
			memcpy(st->comment, p.line + 8, p.len - 8);
		} else {
			r = bad(&p, st->comment[0] ? "follows the comment, which is last"
						   : "is not a directory line (unknown, or out "
						     "of order)");
			goto fail;
		}
	}
	if (r < 0) {
		rp_diagf(d, "directory: the last line does not end in a newline");
		r = RP_E_MALFORMED;
		goto fail;
	}
	if (count == 0) {
		rp_diagf(d, "directory: the statement changes nothing");
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = st;
	return 0;
fail:
	rp_dir_stmt_free(st);
	return r;
}

int rp_dir_stmt_parse(const char *msg, size_t len, struct rp_dir_stmt **ret, struct rp_diag *d)
{
	struct rp_note *note;
	struct rp_dir_stmt *st;
	int r;

	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_dir_stmt_parse_text(note->msg, note->text_len, &st, d)) < 0) {
		rp_note_free(note);
		return r;
	}
	st->note = note;
	*ret = st;
	return 0;
}

void rp_dir_stmt_free(struct rp_dir_stmt *st)
{
	if (!st)
		return;
	dir_release(&st->put);
	dir_release(&st->del);
	free(st->repair);
	rp_note_free(st->note);
	free(st);
}

bool rp_entry_is_directory(const uint8_t *entry, size_t len)
{
	return len > sizeof(stmt_header) && !memcmp(entry, stmt_header, sizeof(stmt_header) - 1) &&
	       entry[sizeof(stmt_header) - 1] == '\n';
}

/* ---- the state ---- */

void rp_dir_state_init(struct rp_dir_state *s, const char *org)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->org, sizeof(s->org), "%s", org);
}

void rp_dir_state_release(struct rp_dir_state *s)
{
	dir_release(&s->dir);
}

int rp_dir_state_parse(const char *text, size_t len, struct rp_dir_state *ret, struct rp_diag *d)
{
	struct parser p = {.what = "directory state", .state = true, .d = d};
	struct rp_dir_state s;
	size_t count;
	bool none;
	int r;

	memset(&s, 0, sizeof(s));
	if (len > RP_DIR_STATE_MAX) {
		rp_diagf(d, "directory state: %zu bytes, more than %d", len, RP_DIR_STATE_MAX);
		return RP_E_TOOBIG;
	}
	if (memchr(text, '\0', len) || memchr(text, '\r', len)) {
		rp_diagf(d, "directory state: holds a NUL or a carriage return");
		return RP_E_MALFORMED;
	}
	if ((r = parse_header(&p, text, len, state_header)) < 0 || (r = parse_org(&p, s.org)) < 0 ||
	    (r = parse_u64_field(&p, "version", INT64_MAX, &s.version)) < 0 ||
	    (r = parse_hash_field(&p, "head", &none, s.head)) < 0)
		goto fail;
	if (none != (s.version == 0)) {
		r = bad(&p, "version 0, and only it, has no head");
		goto fail;
	}
	s.entries = s.version;
	if ((r = next_line(&p)) == 1 && p.len > 8 && !memcmp(p.line, "entries ", 8)) {
		struct words w;
		uint64_t n;
		if (!split(p.line, p.len, 4, &w) || w.n != 4 || !word_is(&w, 2, "tail") ||
		    rp_parse_u64(w.w[1], w.l[1], INT64_MAX, &n) != 0 || n <= s.version ||
		    w.l[3] != 71 || memcmp(w.w[3], "sha256:", 7) != 0 ||
		    rp_hex_decode(w.w[3] + 7, 64, s.tail, 32) != 0) {
			r = bad(&p, "is not `entries N tail sha256:<64 hex>', N above the version");
			goto fail;
		}
		s.entries = n;
	} else if (r == 1) {
		p.have = true;
	}
	if ((r = parse_objects(&p, &s.dir, NULL, &count)) < 0)
		goto fail;
	if (next_line(&p) == 1) {
		r = bad(&p, "is not a directory object (unknown, or out of order)");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	dir_release(&s.dir);
	return r;
}

/* A deep copy of object o of kind k. */
static void *obj_dup(enum kind k, const void *o)
{
	switch (k) {
	case K_USER: {
		const struct rp_dir_user *u = o;
		struct rp_dir_user *c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		*c = *u;
		c->keys = NULL;
		c->nkeys = 0;
		if (u->nkeys && !(c->keys = calloc(u->nkeys, sizeof(*c->keys))))
			goto fail_u;
		for (; c->nkeys < u->nkeys; c->nkeys++)
			if (!(c->keys[c->nkeys] = strdup(u->keys[c->nkeys])))
				goto fail_u;
		return c;
	fail_u:
		user_free(c);
		return NULL;
	}
	case K_GROUP: {
		const struct rp_dir_group *g = o;
		struct rp_dir_group *c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		*c = *g;
		c->members = NULL;
		if (g->nmembers && !(c->members = malloc(g->nmembers * sizeof(*c->members)))) {
			free(c);
			return NULL;
		}
		if (g->nmembers)
			memcpy(c->members, g->members, g->nmembers * sizeof(*c->members));
		return c;
	}
	case K_DGROUP: {
		struct rp_dir_dgroup *c = malloc(sizeof(*c));
		if (c)
			*c = *(const struct rp_dir_dgroup *)o;
		return c;
	}
	case K_DEVICE: {
		const struct rp_dir_device *v = o;
		struct rp_dir_device *c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		memcpy(c->id, v->id, sizeof(c->id));
		if ((v->ngroups && !(c->groups = malloc(v->ngroups * sizeof(*c->groups)))) ||
		    (v->ntags && !(c->tags = malloc(v->ntags * sizeof(*c->tags))))) {
			device_free(c);
			return NULL;
		}
		c->ngroups = v->ngroups;
		c->ntags = v->ntags;
		c->decommissioned = v->decommissioned;
		if (v->ngroups)
			memcpy(c->groups, v->groups, v->ngroups * sizeof(*c->groups));
		if (v->ntags)
			memcpy(c->tags, v->tags, v->ntags * sizeof(*c->tags));
		return c;
	}
	case K_TOKEN: {
		const struct rp_dir_token *t = o;
		struct rp_dir_token *c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		memcpy(c->id, t->id, sizeof(c->id));
		memcpy(c->key, t->key, sizeof(c->key));
		c->expires = t->expires;
		c->max = t->max;
		if ((t->ngroups && !(c->groups = malloc(t->ngroups * sizeof(*c->groups)))) ||
		    (t->ntags && !(c->tags = malloc(t->ntags * sizeof(*c->tags)))) ||
		    (t->nenrolled &&
		     !(c->enrolled = malloc(t->nenrolled * sizeof(*c->enrolled))))) {
			token_free(c);
			return NULL;
		}
		c->ngroups = t->ngroups;
		c->ntags = t->ntags;
		c->nenrolled = t->nenrolled;
		if (t->ngroups)
			memcpy(c->groups, t->groups, t->ngroups * sizeof(*c->groups));
		if (t->ntags)
			memcpy(c->tags, t->tags, t->ntags * sizeof(*c->tags));
		if (t->nenrolled)
			memcpy(c->enrolled, t->enrolled, t->nenrolled * sizeof(*c->enrolled));
		return c;
	}
	default: {
		const struct rp_dir_bind *b = o;
		struct rp_dir_bind *c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		*c = *b;
		c->commands = NULL;
		c->ncommands = 0;
		if (b->ncommands && !(c->commands = calloc(b->ncommands, sizeof(*c->commands))))
			goto fail_b;
		for (; c->ncommands < b->ncommands; c->ncommands++)
			if (!(c->commands[c->ncommands] = strdup(b->commands[c->ncommands])))
				goto fail_b;
		return c;
	fail_b:
		bind_free(c);
		return NULL;
	}
	}
}

int rp_dir_token_enlist(struct rp_dir_token *t, const char *device)
{
	if ((t->nenrolled & (t->nenrolled - 1)) == 0) {
		size_t cap = t->nenrolled ? t->nenrolled * 2 : 4;
		void *n = realloc(t->enrolled, cap * sizeof(*t->enrolled));
		if (!n)
			return RP_E_NOMEM;
		t->enrolled = n;
	}
	memset(t->enrolled[t->nenrolled], 0, sizeof(t->enrolled[0]));
	snprintf(t->enrolled[t->nenrolled++], RP_ID_HEX + 1, "%s", device);
	return 0;
}

static bool final_record(enum kind k, const void *o)
{
	return k == K_DEVICE && ((const struct rp_dir_device *)o)->decommissioned;
}

static int token_keep_enrolled(struct rp_dir_token *t, const struct rp_dir_token *old)
{
	free(t->enrolled);
	t->enrolled = NULL;
	t->nenrolled = 0;
	if (old->nenrolled && !(t->enrolled = malloc(old->nenrolled * sizeof(*t->enrolled))))
		return RP_E_NOMEM;
	if (old->nenrolled)
		memcpy(t->enrolled, old->enrolled, old->nenrolled * sizeof(*t->enrolled));
	t->nenrolled = old->nenrolled;
	return 0;
}

static size_t dir_count(const struct rp_dir *d)
{
	return d->nusers + d->ngroups + d->ndgroups + d->ndevices + d->nbinds + d->ntokens;
}

int rp_dir_apply(struct rp_dir_state *s, const struct rp_dir_stmt *st, const uint8_t *entry,
		 size_t len, bool apply, struct rp_diag *d)
{
	struct rp_dir next = {0};
	char h[65];

	if (strcmp(st->org, s->org) != 0) {
		rp_diagf(d, "directory version %llu is of org %s, not %s",
			 (unsigned long long)st->version, st->org, s->org);
		return RP_E_ORG;
	}
	if (st->version != s->version + 1 ||
	    (!st->first && memcmp(st->previous, s->head, 32) != 0)) {
		rp_hex_encode(s->head, 32, h);
		rp_diagf(d,
			 "directory version %llu does not follow version %llu (sha256:%.16s...): "
			 "the chain is broken, nothing changes",
			 (unsigned long long)st->version, (unsigned long long)s->version,
			 s->version ? h : "none");
		return RP_E_MALFORMED;
	}
	if (apply) {
		if (dir_count(&s->dir) + dir_count(&st->put) > RP_DIR_OBJECTS_MAX) {
			rp_diagf(d, "directory version %llu would hold more than %d objects",
				 (unsigned long long)st->version, RP_DIR_OBJECTS_MAX);
			return RP_E_TOOBIG;
		}
		/* a merge of three sorted lists per kind: the state, minus removals, with puts */
		for (int k = 0; k < K_N; k++) {
			size_t *sn, *pn, *dn, i = 0, j = 0;
			void ***sa = arr(&s->dir, (enum kind)k, &sn);
			void ***pa = arr((struct rp_dir *)&st->put, (enum kind)k, &pn);
			void ***da = arr((struct rp_dir *)&st->del, (enum kind)k, &dn);
			while (i < *sn || j < *pn) {
				int c = i == *sn   ? 1
					: j == *pn ? -1
						   : key_cmp((enum kind)k, (*sa)[i], (*pa)[j]);
				void *o, *old = NULL;
				if (c < 0) {
					o = (*sa)[i++];
					if (find((struct rp_dir *)&st->del, (enum kind)k, o,
						 NULL) >= 0 &&
					    !final_record(k, o))
						continue;
					o = obj_dup((enum kind)k, o);
				} else if (c == 0 && final_record(k, (*sa)[i])) {
					/* decommissioned for good: the put changes nothing */
					o = obj_dup((enum kind)k, (*sa)[i++]);
					j++;
				} else {
					if (c == 0)
						old = (*sa)[i++];
					o = obj_dup((enum kind)k, (*pa)[j++]);
					/* a token put again keeps the devices it enrolled */
					if (o && old && k == K_TOKEN &&
					    token_keep_enrolled(o, old) < 0) {
						obj_free((enum kind)k, o);
						o = NULL;
					}
				}
				if (!o || push(&next, (enum kind)k, o) < 0) {
					obj_free((enum kind)k, o);
					dir_release(&next);
					return RP_E_NOMEM;
				}
			}
			(void)da;
		}
		dir_release(&s->dir);
		s->dir = next;
	}
	s->version = st->version;
	rp_dir_stmt_hash(st, entry, len, s->head);
	s->entries++;
	rp_sha256(entry, len, s->tail);
	return 0;
}

void rp_dir_stmt_hash(const struct rp_dir_stmt *st, const uint8_t *entry, size_t len,
		      uint8_t out[32])
{
	if (st->note)
		rp_sha256(st->note->msg, st->note->text_len, out);
	else
		rp_sha256(entry, len, out);
}

/* Drops from a the device records needing more than count signatures under s's groups. */
static size_t drop_devices(struct rp_dir *a, const struct rp_dir_state *s,
			   const struct rp_policy *p, size_t count)
{
	size_t k = 0, dropped = 0;

	for (size_t i = 0; i < a->ndevices; i++) {
		struct rp_dir_device *v = a->devices[i];
		if (rp_dir_threshold(p, &s->dir, RP_ROLE_DIRECTORY, v->id) > count) {
			device_free(v);
			dropped++;
		} else {
			a->devices[k++] = v;
		}
	}
	a->ndevices = k;
	return dropped;
}

/*
 * Drops from a the tokens needing more than count signatures: every device
 * a token enrols joins its groups, so it carries what those groups require.
 */
static size_t drop_tokens(struct rp_dir *a, const struct rp_policy *p, size_t count)
{
	size_t k = 0, dropped = 0;

	for (size_t i = 0; i < a->ntokens; i++) {
		struct rp_dir_token *t = a->tokens[i];
		if (rp_policy_threshold(p, RP_ROLE_DIRECTORY,
					(const char(*)[RP_USER_NAME_MAX + 1]) t->groups,
					t->ngroups) > count) {
			token_free(t);
			dropped++;
		} else {
			a->tokens[k++] = t;
		}
	}
	a->ntokens = k;
	return dropped;
}

int rp_dir_fold(struct rp_dir_state *s, struct rp_dir_stmt *st, const uint8_t *entry, size_t len,
		const struct rp_policy *p, uint32_t min, bool *ret_applied, size_t *ret_dropped,
		struct rp_diag *d)
{
	struct rp_diag qd = {""};
	size_t count = 0, dropped = 0;
	bool ok = st->note &&
		  rp_quorum_check_min(p, RP_ROLE_DIRECTORY, min, st->note, &count, &qd) == 0;
	int r;

	*ret_applied = ok;
	if (ok && p->ngthresholds) {
		dropped = drop_devices(&st->put, s, p, count);
		dropped += drop_devices(&st->del, s, p, count);
		dropped += drop_tokens(&st->put, p, count);
	}
	if ((r = rp_dir_apply(s, st, entry, len, ok, d)) < 0)
		return r;
	if (!ok)
		rp_diagf(d, "%s", qd.msg[0] ? qd.msg : "it is not a signed note");
	if (ret_dropped)
		*ret_dropped = dropped;
	return 0;
}

/* ---- building ---- */

int rp_dir_insert(struct rp_dir *d, enum rp_dir_kind k, void *o)
{
	size_t *n, at = 0;
	void ***a = arr(d, (enum kind)k, &n);
	ssize_t i = find(d, (enum kind)k, o, &at);
	int r;

	if (i >= 0) {
		obj_free((enum kind)k, (*a)[i]);
		(*a)[i] = o;
		return 0;
	}
	if ((r = push(d, (enum kind)k, o)) < 0)
		return r;
	memmove(&(*a)[at + 1], &(*a)[at], (*n - 1 - at) * sizeof(**a));
	(*a)[at] = o;
	return 0;
}

void *rp_dir_find(const struct rp_dir *d, enum rp_dir_kind k, const void *key)
{
	size_t *n;
	void ***a = arr((struct rp_dir *)d, (enum kind)k, &n);
	ssize_t i = find(d, (enum kind)k, key, NULL);

	return i < 0 ? NULL : (*a)[i];
}

void *rp_dir_obj_dup(enum rp_dir_kind k, const void *o)
{
	return obj_dup((enum kind)k, o);
}

void rp_dir_obj_free(enum rp_dir_kind k, void *o)
{
	obj_free((enum kind)k, o);
}

void rp_dir_release(struct rp_dir *d)
{
	dir_release(d);
}

size_t rp_dir_obj_len(enum rp_dir_kind k, const void *o)
{
	struct rp_sb sb;
	size_t n;

	rp_sb_init(&sb, RP_DIR_STATE_MAX);
	obj_format(&sb, (enum kind)k, o, "");
	n = sb.err ? RP_DIR_STATE_MAX : sb.len;
	rp_sb_release(&sb);
	return n;
}

/* ---- diff ---- */

static char *obj_text(enum kind k, const void *o)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_LOG_ENTRY_MAX);
	obj_format(&sb, k, o, "");
	return rp_sb_take(&sb, NULL);
}

char *rp_dir_diff(const struct rp_dir *from, const struct rp_dir *to, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_DIR_STATE_MAX);
	for (int k = 0; k < K_N; k++) {
		size_t *fn, *tn, i = 0, j = 0;
		void ***fa = arr((struct rp_dir *)from, (enum kind)k, &fn);
		void ***ta = arr((struct rp_dir *)to, (enum kind)k, &tn);
		while (i < *fn || j < *tn) {
			int c = i == *fn   ? 1
				: j == *tn ? -1
					   : key_cmp((enum kind)k, (*fa)[i], (*ta)[j]);
			if (c < 0) {
				obj_format(&sb, (enum kind)k, (*fa)[i++], "- ");
			} else if (c > 0) {
				obj_format(&sb, (enum kind)k, (*ta)[j++], "+ ");
			} else {
				char *a = obj_text((enum kind)k, (*fa)[i]);
				char *b = obj_text((enum kind)k, (*ta)[j]);
				if (!a || !b)
					sb.err = RP_E_NOMEM;
				else if (strcmp(a, b) != 0) {
					obj_format(&sb, (enum kind)k, (*fa)[i], "~ - ");
					obj_format(&sb, (enum kind)k, (*ta)[j], "~ + ");
				}
				free(a);
				free(b);
				i++;
				j++;
			}
		}
	}
	return rp_sb_take(&sb, ret_len);
}
