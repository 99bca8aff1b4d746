/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Account convergence (converge.h). One run reads everything first:
 * converge.state, the four account files, the Rampart key files, the
 * sudo drop-ins, the managed users' own authorized_keys; it then decides,
 * for every line and file Rampart manages, what it should hold, and only
 * then writes. conv_apply makes that decision twice: once without locks,
 * and when nothing is to be written it stops there (an unchanged plan
 * creates not even a lock file); otherwise it takes the locks, reads
 * again and decides again under them, and writes.
 *
 * Plan, hand and state. For each managed line or file: P what the plan
 * wants, C what the machine has, H the hash of what this module last
 * wrote (converge.state). C == P: nothing to do. C is H (the machine is
 * as it was left): the plan changed, P is written. C is neither: a hand
 * change, reported as drift and left alone, unless the plan also changed
 * it (P is not H: the plan wins, so a suspension always locks) or the
 * plan asks for a repair. A state marked `pending' (an apply that did
 * not finish) makes every difference a plan change.
 *
 * The shadow password field. sshd with `UsePAM no' refuses any account
 * whose password starts with `!' (OpenSSH's LOCKED_PASSWD_PREFIX on
 * Linux, auth.c allowed_user()), even for a public key; with `UsePAM yes'
 * (Debian's default) it never looks at the field, and pam_unix's account
 * check refuses only an expired account. So `!' alone, what useradd
 * writes on Debian 12, would lock a key-only account under one setting
 * and lock nothing under the other. Instead:
 *   access:    `*': no password can match it and it is no lock, so keys
 *              log in under both settings (adduser --disabled-password);
 *   no access: `!*' (usermod -L's `!' before `*') and the account expiry
 *              field 1 (usermod -e 1: 2 January 1970): refused by sshd
 *              itself under `UsePAM no', by pam_unix's expiry check under
 *              `UsePAM yes', whatever key file sshd finds.
 * tests/integration/test-sshd-ns.sh logs in to the real sshd with each
 * field under both settings (`*' logs in; `!', `!*' are refused under
 * `UsePAM no' only; expiry 1 under both).
 *
 * Order of writes, so that a crash at any point leaves no account more
 * open than the plan: the state is written first, marked `pending'; the
 * keys and sudo of accounts that lose them are removed; the account files
 * are written (passwd, shadow, group, gshadow: an account appears before
 * its shadow line, when it has no keys and no home yet, and disappears
 * before it); sessions are ended; homes, keys and sudo rules are written;
 * foreign files are moved aside; the state is written again, complete.
 */
#include "converge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "rp_err.h"
#include "sshkey.h"
#include "statement.h"
#include "text.h"

_Static_assert(CONV_KEY_MAX == RP_SSH_KEY_LINE_MAX, "one cap for a key line");
_Static_assert(CONV_COMMAND_MAX == RP_SUDO_COMMAND_MAX, "one cap for a sudo command");

#define STATE_MAGIC "rampart/converge-state/v1"
#define STATE_FILE  "converge.state"
/* Managed uids and gids: not the system's (< 1000), not nobody's (65534) nor (uint16_t)-1. */
#define ID_MIN      1000u
#define ID_END      65534u
#define HOME_DIR    "/home"
#define LASTCHG_MAX 1000000u /* days: the year 4707 */

static bool id_managed(uint64_t v)
{
	return v >= ID_MIN && v < ID_END;
}

/* ---- converge.state ---- */

void conv_state_release(struct conv_state *s)
{
	if (!s)
		return;
	free(s->users);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}

/* Up to n words of a line split on single spaces; false unless exactly n. */
static bool words(const char *line, size_t len, struct rp_account_field *w, size_t n)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (k == n || i == start)
			return false;
		w[k].p = line + start;
		w[k].n = i - start;
		k++;
		start = i + 1;
	}
	return k == n;
}

static bool word_id(const struct rp_account_field *w, uint32_t *ret)
{
	uint64_t v;

	if (rp_parse_u64(w->p, w->n, UINT32_MAX, &v) != 0 || !id_managed(v))
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool word_hash(const struct rp_account_field *w, uint8_t out[32])
{
	return rp_hex_decode(w->p, w->n, out, 32) == 0;
}

/* A hash or `-'. */
static bool word_opt_hash(const struct rp_account_field *w, bool *ret_has, uint8_t out[32])
{
	if (rp_memeq(w->p, w->n, "-")) {
		*ret_has = false;
		memset(out, 0, 32);
		return true;
	}
	*ret_has = true;
	return word_hash(w, out);
}

/* A login or group name; never root's, which no plan may manage. */
static bool word_name(const struct rp_account_field *w, char out[RP_USER_NAME_MAX + 1])
{
	if (!rp_user_name_valid(w->p, w->n) || rp_memeq(w->p, w->n, "root"))
		return false;
	memcpy(out, w->p, w->n);
	out[w->n] = '\0';
	return true;
}

static int state_user(const struct rp_account_field *w, void *out)
{
	struct conv_state_user *u = out;
	uint64_t days;

	memset(u, 0, sizeof(*u));
	if (!word_name(&w[1], u->login) || !word_id(&w[2], &u->uid) || !word_id(&w[3], &u->gid) ||
	    rp_parse_u64(w[4].p, w[4].n, LASTCHG_MAX, &days) != 0 || !word_hash(&w[5], u->passwd) ||
	    !word_hash(&w[6], u->shadow) || !word_opt_hash(&w[7], &u->has_keys, u->keys) ||
	    !word_opt_hash(&w[8], &u->has_sudo, u->sudo) ||
	    !word_opt_hash(&w[9], &u->has_refused, u->refused))
		return RP_E_MALFORMED;
	u->lastchg = (uint32_t)days;
	return 0;
}

static int state_group(const struct rp_account_field *w, void *out)
{
	struct conv_state_group *g = out;

	memset(g, 0, sizeof(*g));
	if (!word_name(&w[1], g->name) || !word_id(&w[2], &g->gid) || !word_hash(&w[4], g->group) ||
	    !word_hash(&w[5], g->gshadow))
		return RP_E_MALFORMED;
	if (rp_memeq(w[3].p, w[3].n, "personal"))
		g->personal = true;
	else if (!rp_memeq(w[3].p, w[3].n, "plan"))
		return RP_E_MALFORMED;
	return 0;
}

/* Appends one more element of size sz to *arr (n elements, growing capacity *cap). */
static void *grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return arr;
	if (c > SIZE_MAX / sz || !(p = realloc(arr, c * sz)))
		return NULL;
	*cap = c;
	return p;
}

static int state_bad(struct rp_diag *d, size_t lineno, const char *line, size_t len,
		     const char *why)
{
	char q[80];

	rp_quote(q, sizeof(q), line, len);
	rp_diagf(d, "converge.state line %zu %s: `%s'", lineno, why, q);
	return RP_E_MALFORMED;
}

/* The users or the groups of a state as they are parsed. */
struct state_list {
	const char *what; /* "user", "group" */
	size_t nwords, sz, max;
	int (*fill)(const struct rp_account_field *w, void *out);
	void *a;
	size_t n, cap;
};

/* Both kinds of entry begin with their name: the order is checked on it. */
_Static_assert(offsetof(struct conv_state_user, login) == 0, "the name first");
_Static_assert(offsetof(struct conv_state_group, name) == 0, "the name first");

/* One more entry: within its cap, valid, after the one before it. */
static int state_push(struct state_list *l, const struct rp_account_field *w, size_t lineno,
		      const char *line, size_t llen, struct rp_diag *d)
{
	char why[48], *e;

	if (l->n == l->max) {
		rp_diagf(d, "converge.state has more than %zu %s lines", l->max, l->what);
		return RP_E_TOOBIG;
	}
	if (!(e = grow(l->a, &l->cap, l->n, l->sz)))
		return RP_E_NOMEM;
	l->a = e;
	e += l->n * l->sz;
	if (l->fill(w, e) != 0) {
		snprintf(why, sizeof(why), "is not a valid %s line", l->what);
		return state_bad(d, lineno, line, llen, why);
	}
	if (l->n > 0 && strcmp(e - l->sz, e) >= 0)
		return state_bad(d, lineno, line, llen, "is out of order or repeated");
	l->n++;
	return 0;
}

int conv_state_parse(const char *text, size_t len, struct conv_state *ret, struct rp_diag *d)
{
	struct state_list users = {"user", 10, sizeof(struct conv_state_user), RP_CONV_USERS_MAX,
				   state_user},
			  groups = {"group", 6, sizeof(struct conv_state_group),
				    RP_CONV_USERS_MAX + RP_CONV_GROUPS_MAX, state_group};
	struct rp_cursor c = {text, len};
	struct rp_account_field w[10];
	size_t lineno = 0;
	const char *line;
	size_t llen;
	int k, r = RP_E_MALFORMED;
	bool pending = false;

	if (len > RP_CONVERGE_STATE_MAX) {
		rp_diagf(d, "converge.state is %zu bytes, more than %d", len,
			 RP_CONVERGE_STATE_MAX);
		return RP_E_TOOBIG;
	}
	while ((k = rp_cursor_line(&c, &line, &llen)) == 1) {
		lineno++;
		if (lineno == 1 && !rp_memeq(line, llen, STATE_MAGIC)) {
			r = state_bad(d, lineno, line, llen, "is not `" STATE_MAGIC "'");
			goto fail;
		} else if (lineno == 1) {
			continue;
		} else if (lineno == 2 && rp_memeq(line, llen, "pending")) {
			pending = true;
		} else if (words(line, llen, w, users.nwords) && rp_memeq(w[0].p, w[0].n, "user")) {
			if (groups.n > 0) {
				r = state_bad(d, lineno, line, llen, "comes after the groups");
				goto fail;
			}
			if ((r = state_push(&users, w, lineno, line, llen, d)) < 0)
				goto fail;
		} else if (words(line, llen, w, groups.nwords) &&
			   rp_memeq(w[0].p, w[0].n, "group")) {
			if ((r = state_push(&groups, w, lineno, line, llen, d)) < 0)
				goto fail;
		} else {
			r = state_bad(d, lineno, line, llen, "is not a state line");
			goto fail;
		}
	}
	if (k < 0 || lineno == 0) {
		rp_diagf(d, "converge.state: %s", k < 0 ? "the last line has no newline" : "empty");
		r = RP_E_MALFORMED;
		goto fail;
	}
	*ret = (struct conv_state){pending, users.n, groups.n, users.a, groups.a};
	return 0;
fail:
	free(users.a);
	free(groups.a);
	return r;
}

static void put_hash(struct rp_sb *sb, bool has, const uint8_t h[32])
{
	char hex[65];

	if (!has) {
		rp_sb_puts(sb, " -");
		return;
	}
	rp_hex_encode(h, 32, hex);
	rp_sb_printf(sb, " %s", hex);
}

char *conv_state_format(const struct conv_state *s, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_CONVERGE_STATE_MAX);
	rp_sb_puts(&sb, STATE_MAGIC "\n");
	if (s->pending)
		rp_sb_puts(&sb, "pending\n");
	for (size_t i = 0; i < s->nusers; i++) {
		const struct conv_state_user *u = &s->users[i];
		rp_sb_printf(&sb, "user %s %u %u %u", u->login, u->uid, u->gid, u->lastchg);
		put_hash(&sb, true, u->passwd);
		put_hash(&sb, true, u->shadow);
		put_hash(&sb, u->has_keys, u->keys);
		put_hash(&sb, u->has_sudo, u->sudo);
		put_hash(&sb, u->has_refused, u->refused);
		rp_sb_puts(&sb, "\n");
	}
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct conv_state_group *g = &s->groups[i];
		rp_sb_printf(&sb, "group %s %u %s", g->name, g->gid,
			     g->personal ? "personal" : "plan");
		put_hash(&sb, true, g->group);
		put_hash(&sb, true, g->gshadow);
		rp_sb_puts(&sb, "\n");
	}
	return rp_sb_take(&sb, ret_len);
}

/* ---- a table of names ---- */

/* Open addressing over (pointer, length) keys that outlive it; values are indexes. */
struct map {
	struct slot {
		const char *k;
		size_t n;
		size_t v;
	} * s;
	size_t cap;
};

static size_t key_hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211u;
	return (size_t)h;
}

/* Room for want keys: the table stays at most half full. */
static int map_init(struct map *m, size_t want)
{
	size_t cap = 64;

	while (cap < 2 * want + 2)
		cap *= 2;
	m->s = calloc(cap, sizeof(*m->s));
	m->cap = m->s ? cap : 0;
	return m->s ? 0 : RP_E_NOMEM;
}

static void map_release(struct map *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

static struct slot *map_slot(const struct map *m, const char *k, size_t n)
{
	for (size_t i = key_hash(k, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
		if (!m->s[i].k || (m->s[i].n == n && memcmp(m->s[i].k, k, n) == 0))
			return &m->s[i];
}

/* false when k is there already (its value kept). */
static bool map_put(struct map *m, const char *k, size_t n, size_t v)
{
	struct slot *s = map_slot(m, k, n);

	if (s->k)
		return false;
	*s = (struct slot){k, n, v};
	return true;
}

static bool map_get(const struct map *m, const char *k, size_t n, size_t *ret)
{
	struct slot *s;

	if (!m->cap)
		return false;
	s = map_slot(m, k, n);
	if (!s->k)
		return false;
	*ret = s->v;
	return true;
}

/* ---- the account files ---- */

enum { F_PASSWD, F_SHADOW, F_GROUP, F_GSHADOW, NFILES };

static const struct file_kind {
	const char *name; /* under <root>/etc */
	size_t nfields;
	size_t idf; /* the id field; nfields when none */
	const char *idname;
	mode_t mode; /* at most these bits, and these for a new file */
} kinds[NFILES] = {
	{"passwd", 7, 2, "uid", 0644},
	{"shadow", 9, 9, "", 0640},
	{"group", 4, 2, "gid", 0644},
	{"gshadow", 4, 4, "", 0640},
};

struct aline {
	const char *p; /* as read, without '\n' */
	size_t n;
	bool entry;     /* not a comment, blank or NIS line */
	size_t nlen;    /* its name: p[0..nlen) */
	uint32_t id;    /* passwd's uid, group's gid */
	ptrdiff_t next; /* the next line of the same id, or -1 */
	char *repl;     /* what replaces it (malloc'd); NULL: kept as it is */
	size_t rn;
	bool drop;
};

struct afile {
	bool exists;
	char *text;
	size_t len;
	bool final_nl; /* the text ends in '\n', or is empty */
	struct stat st;
	struct aline *l;
	size_t n;
	struct map names; /* name -> line */
	struct map ids;   /* the id's decimal text -> its first line */
	char **add;       /* lines appended (malloc'd) */
	size_t nadd, addcap;
	bool changed;
};

static void afile_release(struct afile *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->l[i].repl);
	for (size_t i = 0; i < f->nadd; i++)
		free(f->add[i]);
	free(f->add);
	free(f->l);
	free(f->text);
	map_release(&f->names);
	map_release(&f->ids);
	memset(f, 0, sizeof(*f));
}

/*
 * f->text split into lines. A name on two entries is refused: glibc would
 * read the first and this module could rewrite either.
 */
static int afile_parse(struct afile *f, const struct file_kind *k, struct rp_diag *d)
{
	struct rp_account_reader rd;
	struct rp_account_field fl[9];
	size_t lines = 1, first = 0;
	uint32_t id = 0;
	bool entry;
	int r;

	for (size_t i = 0; i < f->len; i++)
		lines += f->text[i] == '\n';
	if (!(f->l = calloc(lines, sizeof(*f->l))) || map_init(&f->names, lines) < 0 ||
	    map_init(&f->ids, lines) < 0)
		return RP_E_NOMEM;
	if ((r = rp_account_reader_init(&rd, k->name, f->text, f->len, d)) < 0)
		return r;
	f->final_nl = true;
	while ((r = rp_account_read(&rd, fl, k->nfields, k->idf, k->idname, &entry, &id, d)) == 1) {
		struct aline *l = &f->l[f->n];

		*l = (struct aline){.p = rd.line, .n = rd.llen, .entry = entry, .next = -1};
		f->final_nl = rd.nl;
		if (entry) {
			l->nlen = fl[0].n;
			l->id = id;
			if (!map_put(&f->names, l->p, l->nlen, f->n)) {
				char why[64];
				map_get(&f->names, l->p, l->nlen, &first);
				/* one aline per line: the index is the line's number less one */
				snprintf(why, sizeof(why), "repeats the name of line %zu",
					 first + 1);
				return rp_account_bad_line(&rd, why, d);
			}
			if (k->idf < k->nfields &&
			    !map_put(&f->ids, fl[k->idf].p, fl[k->idf].n, f->n)) {
				size_t j = 0;
				map_get(&f->ids, fl[k->idf].p, fl[k->idf].n, &j);
				while (f->l[j].next >= 0)
					j = (size_t)f->l[j].next;
				f->l[j].next = (ptrdiff_t)f->n;
			}
		}
		f->n++;
	}
	return r;
}

static ptrdiff_t afile_find_n(const struct afile *f, const char *name, size_t n)
{
	size_t i;

	if (!map_get(&f->names, name, n, &i))
		return -1;
	return (ptrdiff_t)i;
}

/* The entry named name, or -1. */
static ptrdiff_t afile_find(const struct afile *f, const char *name)
{
	return afile_find_n(f, name, strlen(name));
}

/* The first line of id, or -1; f->l[i].next leads to the others. */
static ptrdiff_t afile_find_id(const struct afile *f, uint32_t id)
{
	char dec[16];
	size_t i;

	snprintf(dec, sizeof(dec), "%u", id);
	return map_get(&f->ids, dec, strlen(dec), &i) ? (ptrdiff_t)i : -1;
}

/* Field k of a ':'-separated line; false past its last field. */
static bool field_of(const char *p, size_t n, size_t k, struct rp_account_field *ret)
{
	size_t start = 0, idx = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ':')
			continue;
		if (idx == k) {
			ret->p = p + start;
			ret->n = i - start;
			return true;
		}
		idx++;
		start = i + 1;
	}
	return false;
}

static int afile_replace(struct afile *f, size_t i, const char *text, size_t n)
{
	char *t = malloc(n + 1);

	if (!t)
		return RP_E_NOMEM;
	memcpy(t, text, n);
	t[n] = '\0';
	free(f->l[i].repl);
	f->l[i].repl = t;
	f->l[i].rn = n;
	f->changed = true;
	return 0;
}

static int afile_append(struct afile *f, const char *text, size_t n)
{
	char **a = f->add, *t;

	if (f->nadd == f->addcap) {
		size_t cap = f->addcap ? 2 * f->addcap : 64;
		if (!(a = realloc(f->add, cap * sizeof(*a))))
			return RP_E_NOMEM;
		f->add = a;
		f->addcap = cap;
	}
	if (!(t = malloc(n + 1)))
		return RP_E_NOMEM;
	memcpy(t, text, n);
	t[n] = '\0';
	f->add[f->nadd++] = t;
	f->changed = true;
	return 0;
}

static void afile_drop(struct afile *f, size_t i)
{
	f->l[i].drop = true;
	f->changed = true;
}

/*
 * The new text: every line kept as it was read, replaced or dropped, then
 * the new lines. A last line that had no '\n' gets none while it stays last.
 */
static char *afile_text(const struct afile *f, size_t *ret_len)
{
	struct rp_sb sb;
	ptrdiff_t last = -1;

	for (size_t i = 0; i < f->n; i++)
		if (!f->l[i].drop)
			last = (ptrdiff_t)i;
	rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
	for (size_t i = 0; i < f->n; i++) {
		const struct aline *l = &f->l[i];
		if (l->drop)
			continue;
		if (l->repl)
			rp_sb_put(&sb, l->repl, l->rn);
		else
			rp_sb_put(&sb, l->p, l->n);
		if (!((ptrdiff_t)i == last && i == f->n - 1 && !f->final_nl && f->nadd == 0))
			rp_sb_put(&sb, "\n", 1);
	}
	for (size_t i = 0; i < f->nadd; i++) {
		rp_sb_puts(&sb, f->add[i]);
		rp_sb_put(&sb, "\n", 1);
	}
	return rp_sb_take(&sb, ret_len);
}

/* ---- what one run decides ---- */

enum how {
	H_MANAGED,  /* in converge.state */
	H_CREATE,   /* new, and nothing local has its name or id */
	H_TAKEOVER, /* a local account (or its personal group) of that name and id, managed from now
		     */
	H_CONFLICT, /* something local has its name or id: left alone */
};

/* A line Rampart wants, and the hash the state keeps for it after this run. */
struct want {
	char *text;
	size_t n;
	uint8_t hash[32];
	bool written;
};

struct pgroup {
	char name[RP_USER_NAME_MAX + 1];
	char gidtext[12]; /* the key of the plan's table of gids */
	uint32_t gid;
	bool personal;
	const struct conv_group *g; /* NULL: a personal group */
	const struct conv_state_group *st;
	enum how how;
	struct want gr, gs;
};

/* A file Rampart owns: a key file or a sudo rule. */
enum fact { A_KEEP, A_WRITE, A_REMOVE };
struct ownfile {
	char *want; /* NULL: there should be none */
	size_t n;
	enum fact act;
	bool has;         /* after this run, a file of ours is there ... */
	uint8_t hash[32]; /* ... holding this */
};

struct puser {
	const struct conv_user *u;
	const struct conv_state_user *st;
	enum how how;
	uint32_t uid, gid; /* as written: the plan's, or the old ones where the plan's conflict */
	uint32_t lastchg;
	bool was_locked; /* its shadow line, as read, starts with `!' */
	struct want pw, sh;
	struct ownfile keys, sudo;
	bool has_refused; /* visudo refused the rule hashed in refused */
	uint8_t refused[32];
	bool home_missing;
};

/* A name in one of the directories Rampart writes (sudoers.d, the key directory). */
enum { D_SUDOERS, D_KEYS };
struct dname {
	int dir;
	bool quarantine; /* a foreign file, moved aside by a repair; else ours, removed */
	char name[NAME_MAX + 1];
};

/* A user's own ~/.ssh/authorized_keys, rewritten without the keys the plan does not give. */
struct userkeys {
	const struct puser *pu;
	char *text;
	size_t n;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct conv {
	const struct conv_env *env;
	const struct conv_plan *p;
	struct conv_report *rep;
	size_t items_cap;
	struct rp_diag *d;
	bool apply;      /* writes (under the locks) */
	bool drift_only; /* conv_drift: only drift-* and conflict items */
	bool dirty;      /* something is to be written */
	int err;         /* sticky: the report ran out of memory */
	char root[PATH_MAX];
	uint32_t today;
	int etc, keysdir, sudoers, home; /* directory descriptors, -1: none */
	struct conv_state old;
	char *old_text;
	size_t old_len;
	struct map old_users, old_groups;
	struct afile f[NFILES];
	gid_t shadow_gid; /* the `shadow' group's, for a new shadow file; 0: none */
	struct puser *u;
	size_t nu;
	struct pgroup *g; /* the plan's groups, then personal groups */
	size_t ng;
	struct map by_login;                 /* managed users after this run */
	struct map by_group;                 /* managed groups after this run */
	struct map by_gid;                   /* the plan's groups, by gid */
	const struct conv_state_user **gone; /* managed users the plan no longer has */
	size_t ngone;
	struct map gone_map;
	const struct conv_state_group **gone_groups;
	size_t ngone_groups;
	struct dname *names;
	size_t nnames, namescap;
	struct userkeys *uk;
	size_t nuk, ukcap;
	uint32_t *kill;
	size_t nkill, killcap;
};

/* ---- the report ---- */

void conv_report_release(struct conv_report *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static void note(struct conv *c, const char *code, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct conv *c, const char *code, const char *subject, const char *fmt, ...)
{
	struct conv_report *r = c->rep;
	struct conv_item *it;
	va_list ap;

	if (c->err || r->n >= RP_CONV_ITEMS_MAX)
		return;
	/* a conflict is what is in the directory's way: the drift report says it too */
	if (c->drift_only && strncmp(code, "drift-", 6) != 0 && strcmp(code, "conflict") != 0)
		return;
	if (!(it = grow(r->items, &c->items_cap, r->n, sizeof(*it)))) {
		c->err = RP_E_NOMEM;
		return;
	}
	r->items = it;
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->code, sizeof(it->code), "%s", code);
	snprintf(it->subject, sizeof(it->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

/* A name read from the machine, quoted to be a subject. */
static const char *quoted(char out[RP_USER_NAME_MAX + 64], const char *s, size_t n)
{
	rp_quote(out, RP_USER_NAME_MAX + 64, s, n);
	return out;
}

/* ---- the plan, checked ---- */

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Printable UTF-8 (nothing a terminal hides or obeys), no ':' or ','. */
static bool gecos_ok(const char *s)
{
	size_t n = strlen(s), k;
	unsigned cp;

	if (n > CONV_GECOS_MAX)
		return false;
	for (size_t i = 0; i < n; i += k) {
		if (!(k = rp_utf8_decode((const unsigned char *)s + i, n - i, &cp)) || cp < 0x20 ||
		    cp == 0x7f || cp == ':' || cp == ',' || rp_text_cp_hidden(cp))
			return false;
	}
	return true;
}

/* An absolute path of printable ASCII, no space or ':'. */
static bool shell_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > CONV_SHELL_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return false;
	return true;
}

static bool name_ok(const char *s)
{
	return terminated(s, RP_USER_NAME_MAX + 1) && rp_user_name_valid(s, strlen(s));
}

static int plan_bad(struct rp_diag *d, const char *what, const char *name, const char *why)
{
	char q[48];

	rp_quote(q, sizeof(q), name, strnlen(name, RP_USER_NAME_MAX + 1));
	rp_diagf(d, "plan: %s `%s' %s", what, q, why);
	return RP_E_MALFORMED;
}

static int user_check(const struct conv_user *u, struct rp_diag *d)
{
	if (!name_ok(u->login))
		return plan_bad(d, "user", u->login, "is not a valid login");
	if (!id_managed(u->uid) || !id_managed(u->gid))
		return plan_bad(d, "user", u->login,
				"has a uid or gid outside 1000-65533 (never a system or nobody's)");
	if (!terminated(u->gecos, sizeof(u->gecos)) || !gecos_ok(u->gecos))
		return plan_bad(d, "user", u->login,
				"has a name that is not printable, or has : or ,");
	if (!terminated(u->shell, sizeof(u->shell)) || !shell_ok(u->shell))
		return plan_bad(d, "user", u->login, "has a shell that is not an absolute path");
	if (u->nkeys > RP_CONV_KEYS_MAX || (u->nkeys && !u->keys))
		return plan_bad(d, "user", u->login, "has too many keys");
	for (size_t i = 0; i < u->nkeys; i++)
		if (!u->keys[i] ||
		    !rp_ssh_key_valid(u->keys[i], strnlen(u->keys[i], CONV_KEY_MAX + 1)))
			return plan_bad(d, "user", u->login,
					"has a key that is not `TYPE BASE64 [COMMENT]'");
	if (u->sudo != CONV_SUDO_NONE && u->sudo != CONV_SUDO_COMMANDS && u->sudo != CONV_SUDO_ALL)
		return plan_bad(d, "user", u->login, "has an unknown sudo rule");
	if (u->sudo != CONV_SUDO_COMMANDS)
		return 0;
	if (u->ncommands > RP_CONV_COMMANDS_MAX || (u->ncommands && !u->commands))
		return plan_bad(d, "user", u->login, "has too many sudo commands");
	for (size_t i = 0; i < u->ncommands; i++)
		if (!u->commands[i] ||
		    !rp_sudo_command_valid(u->commands[i],
					   strnlen(u->commands[i], CONV_COMMAND_MAX + 1)))
			return plan_bad(d, "user", u->login,
					"has a sudo command sudoers could misread");
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Any id twice among n: true, with it in *ret. */
static bool id_repeated(uint32_t *ids, size_t n, uint32_t *ret)
{
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (size_t i = 1; i < n; i++)
		if (ids[i] == ids[i - 1]) {
			*ret = ids[i];
			return true;
		}
	return false;
}

/*
 * Everything a plan puts in a file, checked before anything is read:
 * names, ids, texts, keys and commands, each login, uid, group name and
 * gid once, members that are the plan's users, personal groups that clash
 * with nothing.
 */
static int plan_check(const struct conv_plan *p, struct rp_diag *d)
{
	struct map logins = {0}, groups = {0}, members = {0};
	uint32_t *ids = NULL, dup;
	size_t n = p->nusers > p->ngroups ? p->nusers : p->ngroups, v;
	int r = RP_E_MALFORMED;

	if (p->nusers > RP_CONV_USERS_MAX || p->ngroups > RP_CONV_GROUPS_MAX ||
	    (p->nusers && !p->users) || (p->ngroups && !p->groups)) {
		rp_diagf(d, "plan: more than %d users or %d groups", RP_CONV_USERS_MAX,
			 RP_CONV_GROUPS_MAX);
		return RP_E_TOOBIG;
	}
	if (!(ids = malloc((2 * n + 1) * sizeof(*ids))) || map_init(&logins, p->nusers) < 0 ||
	    map_init(&groups, p->nusers + p->ngroups) < 0) {
		r = RP_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->nusers; i++) {
		const struct conv_user *u = &p->users[i];
		if ((r = user_check(u, d)) < 0)
			goto out;
		if (!map_put(&logins, u->login, strlen(u->login), i)) {
			r = plan_bad(d, "user", u->login, "is listed twice");
			goto out;
		}
		ids[i] = u->uid;
	}
	if (id_repeated(ids, p->nusers, &dup)) {
		rp_diagf(d, "plan: uid %u is given to two users", dup);
		r = RP_E_MALFORMED;
		goto out;
	}
	for (size_t i = 0; i < p->ngroups; i++) {
		const struct conv_group *g = &p->groups[i];
		if (!name_ok(g->name) || !id_managed(g->gid)) {
			r = plan_bad(d, "group", g->name,
				     "has a bad name or a gid outside 1000-65533");
			goto out;
		}
		if (!map_put(&groups, g->name, strlen(g->name), i)) {
			r = plan_bad(d, "group", g->name, "is listed twice");
			goto out;
		}
		if (g->nmembers > RP_CONV_MEMBERS_MAX || (g->nmembers && !g->members)) {
			r = plan_bad(d, "group", g->name, "has too many members");
			goto out;
		}
		map_release(&members);
		if (map_init(&members, g->nmembers) < 0) {
			r = RP_E_NOMEM;
			goto out;
		}
		for (size_t k = 0; k < g->nmembers; k++) {
			const char *m = g->members[k];
			if (!name_ok(m) || !map_get(&logins, m, strlen(m), &v)) {
				r = plan_bad(d, "group", g->name,
					     "lists a member who is no user of the plan");
				goto out;
			}
			if (!map_put(&members, m, strlen(m), k)) {
				r = plan_bad(d, "group", g->name, "lists a member twice");
				goto out;
			}
		}
		ids[i] = g->gid;
	}
	n = p->ngroups;
	if (id_repeated(ids, n, &dup)) {
		rp_diagf(d, "plan: gid %u is given to two groups", dup);
		r = RP_E_MALFORMED;
		goto out;
	}
	/* Personal groups: one per user whose gid is no group's, named after the login. */
	for (size_t i = 0; i < p->nusers; i++) {
		const struct conv_user *u = &p->users[i];
		if (bsearch(&u->gid, ids, p->ngroups, sizeof(*ids), cmp_u32))
			continue;
		if (map_get(&groups, u->login, strlen(u->login), &v)) {
			r = plan_bad(
				d, "user", u->login,
				"needs a personal group of its name, which the plan gives another gid");
			goto out;
		}
		ids[n++] = u->gid;
	}
	if (id_repeated(ids + p->ngroups, n - p->ngroups, &dup)) {
		rp_diagf(d,
			 "plan: two users without a group share gid %u (each would have a "
			 "personal group of that gid)",
			 dup);
		r = RP_E_MALFORMED;
		goto out;
	}
	r = 0;
out:
	free(ids);
	map_release(&logins);
	map_release(&groups);
	map_release(&members);
	return r;
}

/* ---- reading the machine ---- */

static int path_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);
	return n < 0 || (size_t)n >= cap ? RP_E_TOOBIG : 0;
}

/*
 * A regular file name in dfd, read whole (at most max bytes): never
 * through a symbolic link, never a FIFO or device. RP_E_NOTFOUND when it
 * is not there, RP_E_UNSAFE when it is not a regular file.
 */
static int read_at(int dfd, const char *name, size_t max, char **ret, size_t *ret_len,
		   struct stat *ret_st)
{
	if (dfd < 0)
		return RP_E_NOTFOUND;
	return rp_read_file_at(dfd, name, max, RP_FILE_NOFOLLOW, ret, ret_len, ret_st, NULL);
}

/*
 * A directory under the root prefix (-1 if there is none), never through a
 * link at its last component: a link there is refused. /home alone may be
 * a link (the administrator's layout: /home -> /srv/home).
 */
static int dir_at(const char *root, const char *rel, int *ret, struct rp_diag *d)
{
	char path[PATH_MAX];
	int fd;

	if (path_join(path, sizeof(path), root, rel) < 0) {
		rp_diagf(d, "%s/%s: path too long", root, rel);
		return RP_E_TOOBIG;
	}
	fd = open(path,
		  O_RDONLY | O_DIRECTORY | O_CLOEXEC | (strcmp(rel, "home") == 0 ? 0 : O_NOFOLLOW));
	if (fd < 0 && errno != ENOENT) {
		rp_diagf(d, "%s: %s", path, strerror(errno));
		return RP_E_IO;
	}
	*ret = fd;
	return 0;
}

static int state_load(struct conv *c)
{
	char path[PATH_MAX];
	struct rp_diag pd = {""};
	int r;

	if (path_join(path, sizeof(path), c->env->state, STATE_FILE) < 0) {
		rp_diagf(c->d, "%s: path too long", c->env->state);
		return RP_E_TOOBIG;
	}
	r = rp_read_file_flags(path, RP_CONVERGE_STATE_MAX, RP_FILE_NOFOLLOW, &c->old_text,
			       &c->old_len, &pd);
	if (r == RP_E_NOTFOUND) {
		c->old_text = NULL;
		c->old_len = 0;
	} else if (r < 0) {
		rp_diagf(c->d, "%s", pd.msg);
		return r;
	} else if ((r = conv_state_parse(c->old_text, c->old_len, &c->old, &pd)) < 0) {
		rp_diagf(c->d, "%s: %s (refusing to guess what Rampart manages)", path, pd.msg);
		return r;
	}
	if (map_init(&c->old_users, c->old.nusers) < 0 ||
	    map_init(&c->old_groups, c->old.ngroups) < 0)
		return RP_E_NOMEM;
	for (size_t i = 0; i < c->old.nusers; i++)
		map_put(&c->old_users, c->old.users[i].login, strlen(c->old.users[i].login), i);
	for (size_t i = 0; i < c->old.ngroups; i++)
		map_put(&c->old_groups, c->old.groups[i].name, strlen(c->old.groups[i].name), i);
	return 0;
}

static const struct conv_state_user *old_user(const struct conv *c, const char *p, size_t n)
{
	size_t i;
	return map_get(&c->old_users, p, n, &i) ? &c->old.users[i] : NULL;
}

static const struct conv_state_group *old_group(const struct conv *c, const char *p, size_t n)
{
	size_t i;
	return map_get(&c->old_groups, p, n, &i) ? &c->old.groups[i] : NULL;
}

static int files_load(struct conv *c)
{
	struct rp_diag pd = {""};
	ptrdiff_t sg;
	int r;

	if (c->etc < 0 && (r = dir_at(c->root, "etc", &c->etc, c->d)) < 0)
		return r;
	if (c->etc < 0) {
		rp_diagf(c->d, "%s/etc does not exist", c->root);
		return RP_E_NOTFOUND;
	}
	for (int k = 0; k < NFILES; k++) {
		struct afile *f = &c->f[k];
		r = read_at(c->etc, kinds[k].name, RP_ACCOUNT_FILE_MAX, &f->text, &f->len, &f->st);
		if (r == RP_E_NOTFOUND && (k == F_SHADOW || k == F_GSHADOW)) {
			f->text = NULL; /* made when something goes in it */
			f->len = 0;
		} else if (r < 0) {
			rp_diagf(c->d, "%s/etc/%s: %s", c->root, kinds[k].name,
				 r == RP_E_TOOBIG ? "larger than "
						    "RP_ACCOUNT_FILE_MAX"
						  : rp_strerror(r));
			return r;
		} else {
			f->exists = true;
		}
		if ((r = afile_parse(f, &kinds[k], &pd)) < 0) {
			rp_diagf(c->d, "%s/etc/%s: %s; nothing was changed", c->root, kinds[k].name,
				 pd.msg);
			return r;
		}
	}
	sg = afile_find(&c->f[F_GROUP], "shadow");
	c->shadow_gid = sg >= 0 ? (gid_t)c->f[F_GROUP].l[sg].id : 0;
	return 0;
}

/* Line i of a file names no account or group Rampart manages. */
static bool foreign_line(const struct conv *c, int file, size_t i)
{
	const struct aline *l = &c->f[file].l[i];
	size_t v;

	if (file == F_PASSWD || file == F_SHADOW)
		return !map_get(&c->old_users, l->p, l->nlen, &v);
	return !map_get(&c->old_groups, l->p, l->nlen, &v);
}

/* A foreign entry of file (passwd or group) with that id other than line `but', or -1. */
static ptrdiff_t foreign_id(const struct conv *c, int file, uint32_t id, ptrdiff_t but)
{
	for (ptrdiff_t i = afile_find_id(&c->f[file], id); i >= 0; i = c->f[file].l[i].next)
		if (i != but && foreign_line(c, file, (size_t)i))
			return i;
	return -1;
}

/* ---- who is what ---- */

static void conflict(struct conv *c, const char *subject, const struct afile *f, ptrdiff_t i,
		     const char *file, const char *what)
{
	char q[48];

	if (i >= 0) {
		rp_quote(q, sizeof(q), f->l[i].p, f->l[i].nlen);
		note(c, "conflict", subject,
		     "%s: %s `%s' (line %zu), which Rampart does not manage", what, file, q,
		     (size_t)i + 1);
	} else {
		note(c, "conflict", subject, "%s", what);
	}
}

/* The plan's groups: managed ones keep their gid if the new one is taken; new ones must be free. */
static void resolve_groups(struct conv *c)
{
	for (size_t i = 0; i < c->p->ngroups; i++) {
		struct pgroup *pg = &c->g[i];
		const struct conv_group *g = &c->p->groups[i];
		ptrdiff_t byname, bygid, gsh;

		snprintf(pg->name, sizeof(pg->name), "%s", g->name);
		pg->g = g;
		pg->gid = g->gid;
		pg->st = old_group(c, g->name, strlen(g->name));
		if (pg->st) {
			pg->how = H_MANAGED;
			if (pg->gid != pg->st->gid &&
			    (bygid = foreign_id(c, F_GROUP, pg->gid, -1)) >= 0) {
				conflict(c, pg->name, &c->f[F_GROUP], bygid, "group",
					 "its new gid is already a group's; it keeps its gid");
				pg->gid = pg->st->gid;
			}
			continue;
		}
		byname = afile_find(&c->f[F_GROUP], g->name);
		bygid = foreign_id(c, F_GROUP, g->gid, -1);
		gsh = afile_find(&c->f[F_GSHADOW], g->name);
		pg->how = byname < 0 && bygid < 0 && gsh < 0 ? H_CREATE : H_CONFLICT;
		if (byname >= 0 || bygid >= 0)
			conflict(c, pg->name, &c->f[F_GROUP], byname >= 0 ? byname : bygid, "group",
				 "a local group has its name or gid");
		else if (gsh >= 0)
			conflict(c, pg->name, &c->f[F_GSHADOW], gsh, "gshadow",
				 "a local group has its name");
	}
}

/* A plan user: managed, new, taken over, or a conflict. */
static void resolve_user(struct conv *c, struct puser *pu)
{
	const struct conv_user *u = pu->u;
	struct afile *pw = &c->f[F_PASSWD], *sh = &c->f[F_SHADOW];
	ptrdiff_t byname, byuid, shl;
	struct rp_account_field fl;
	uint64_t days;

	pu->uid = u->uid;
	pu->gid = u->gid;
	pu->st = old_user(c, u->login, strlen(u->login));
	if (pu->st) {
		pu->how = H_MANAGED;
		pu->lastchg = pu->st->lastchg;
		if (pu->uid != pu->st->uid && (byuid = foreign_id(c, F_PASSWD, pu->uid, -1)) >= 0) {
			conflict(c, u->login, pw, byuid, "passwd",
				 "its new uid is already an account's; it keeps its uid");
			pu->uid = pu->st->uid;
		}
		return;
	}
	pu->lastchg = c->today;
	byname = afile_find(pw, u->login);
	shl = afile_find(sh, u->login);
	byuid = foreign_id(c, F_PASSWD, u->uid, byname);
	if (byname < 0 && shl < 0 && byuid < 0) {
		pu->how = H_CREATE;
		return;
	}
	/* Taken over: the same login and uid, no other account of that uid, never root. */
	if (byname >= 0 && u->takeover && pw->l[byname].id == u->uid && byuid < 0 &&
	    strcmp(u->login, "root") != 0) {
		pu->how = H_TAKEOVER;
		if (shl >= 0 && field_of(sh->l[shl].p, sh->l[shl].n, 2, &fl) &&
		    rp_parse_u64(fl.p, fl.n, LASTCHG_MAX, &days) == 0)
			pu->lastchg = (uint32_t)days;
		return;
	}
	pu->how = H_CONFLICT;
	if (byname >= 0)
		conflict(c, u->login, pw, byname, "passwd",
			 u->takeover ? "a local account has its login and another uid"
				     : "a local account has its login (no takeover)");
	else if (byuid >= 0)
		conflict(c, u->login, pw, byuid, "passwd", "a local account has its uid");
	else
		conflict(c, u->login, sh, shl, "shadow", "a shadow entry has its login");
}

static struct pgroup *plan_group_of_gid(const struct conv *c, uint32_t gid)
{
	char dec[16];
	size_t i;

	snprintf(dec, sizeof(dec), "%u", gid);
	return map_get(&c->by_gid, dec, strlen(dec), &i) ? &c->g[i] : NULL;
}

/*
 * The personal group of pu at gid: managed, new, taken over with its
 * account, or a conflict (NULL).
 */
static struct pgroup *personal_group(struct conv *c, struct puser *pu, uint32_t gid)
{
	const char *login = pu->u->login;
	struct pgroup *pg = &c->g[c->ng];
	struct afile *gr = &c->f[F_GROUP];
	ptrdiff_t byname, bygid, gsh;

	memset(pg, 0, sizeof(*pg));
	snprintf(pg->name, sizeof(pg->name), "%s", login);
	pg->gid = gid;
	pg->personal = true;
	pg->st = old_group(c, login, strlen(login));
	if (pg->st) {
		pg->how = H_MANAGED;
		if (gid != pg->st->gid && foreign_id(c, F_GROUP, gid, -1) >= 0)
			return NULL;
	} else {
		byname = afile_find(gr, login);
		bygid = foreign_id(c, F_GROUP, gid, byname);
		gsh = afile_find(&c->f[F_GSHADOW], login);
		if (byname < 0 && bygid < 0 && gsh < 0)
			pg->how = H_CREATE;
		else if (pu->how == H_TAKEOVER && byname >= 0 && gr->l[byname].id == gid &&
			 bygid < 0)
			pg->how = H_TAKEOVER;
		else
			return NULL;
	}
	c->ng++;
	return pg;
}

/* Each user's primary group: a plan group of its gid, else its personal group. */
static void resolve_primary(struct conv *c, struct puser *pu)
{
	struct pgroup *pg = plan_group_of_gid(c, pu->u->gid);
	const struct conv_state_group *old;
	char why[96];

	if (pg && pg->how != H_CONFLICT)
		return;
	if (!pg && personal_group(c, pu, pu->u->gid))
		return;
	snprintf(why, sizeof(why), "its group (gid %u) conflicts with a local group", pu->u->gid);
	if (pu->how != H_MANAGED) {
		note(c, "conflict", pu->u->login, "%s; the account is not made", why);
		pu->how = H_CONFLICT;
		return;
	}
	/* Managed: it keeps the gid it had, and the personal group of it if it had one. */
	note(c, "conflict", pu->u->login, "%s; it keeps gid %u", why, pu->st->gid);
	pu->gid = pu->st->gid;
	old = old_group(c, pu->u->login, strlen(pu->u->login));
	if (old && old->personal && old->gid == pu->gid && !plan_group_of_gid(c, pu->gid))
		personal_group(c, pu, pu->gid);
}

static int resolve(struct conv *c)
{
	const struct conv_plan *p = c->p;

	if (!(c->u = calloc(p->nusers + 1, sizeof(*c->u))) ||
	    !(c->g = calloc(p->ngroups + p->nusers + 1, sizeof(*c->g))) ||
	    map_init(&c->by_gid, p->ngroups) < 0 || map_init(&c->by_login, p->nusers) < 0 ||
	    map_init(&c->by_group, p->ngroups + p->nusers) < 0)
		return RP_E_NOMEM;
	resolve_groups(c);
	c->ng = p->ngroups;
	for (size_t i = 0; i < p->ngroups; i++) {
		snprintf(c->g[i].gidtext, sizeof(c->g[i].gidtext), "%u", p->groups[i].gid);
		map_put(&c->by_gid, c->g[i].gidtext, strlen(c->g[i].gidtext), i);
	}
	c->nu = p->nusers;
	for (size_t i = 0; i < p->nusers; i++) {
		c->u[i].u = &p->users[i];
		resolve_user(c, &c->u[i]);
	}
	for (size_t i = 0; i < p->nusers; i++)
		if (c->u[i].how != H_CONFLICT)
			resolve_primary(c, &c->u[i]);
	for (size_t i = 0; i < c->nu; i++)
		if (c->u[i].how != H_CONFLICT)
			map_put(&c->by_login, c->u[i].u->login, strlen(c->u[i].u->login), i);
	for (size_t i = 0; i < c->ng; i++)
		if (c->g[i].how != H_CONFLICT)
			map_put(&c->by_group, c->g[i].name, strlen(c->g[i].name), i);
	/* What the state manages and the plan no longer has goes. */
	if (!(c->gone = calloc(c->old.nusers + 1, sizeof(*c->gone))) ||
	    !(c->gone_groups = calloc(c->old.ngroups + 1, sizeof(*c->gone_groups))))
		return RP_E_NOMEM;
	if (map_init(&c->gone_map, c->old.nusers) < 0)
		return RP_E_NOMEM;
	for (size_t i = 0; i < c->old.nusers; i++) {
		const char *l = c->old.users[i].login;
		size_t v;
		if (map_get(&c->by_login, l, strlen(l), &v))
			continue;
		map_put(&c->gone_map, l, strlen(l), c->ngone);
		c->gone[c->ngone++] = &c->old.users[i];
	}
	for (size_t i = 0; i < c->old.ngroups; i++) {
		size_t v;
		if (!map_get(&c->by_group, c->old.groups[i].name, strlen(c->old.groups[i].name),
			     &v))
			c->gone_groups[c->ngone_groups++] = &c->old.groups[i];
	}
	return c->err;
}

static bool managed_login(const struct conv *c, const char *p, size_t n)
{
	size_t v;
	return map_get(&c->by_login, p, n, &v);
}

static bool gone_login(const struct conv *c, const char *p, size_t n)
{
	size_t v;
	return map_get(&c->gone_map, p, n, &v);
}

/* ---- the account lines ---- */

static int want_take(struct want *w, struct rp_sb *sb)
{
	free(w->text);
	if (!(w->text = rp_sb_take(sb, &w->n)))
		return RP_E_NOMEM;
	rp_sha256(w->text, w->n, w->hash);
	return 0;
}

static int user_lines(struct puser *pu)
{
	const struct conv_user *u = pu->u;
	struct rp_sb sb;
	int r;

	rp_sb_init(&sb, 1024);
	rp_sb_printf(&sb, "%s:x:%u:%u:%s:" HOME_DIR "/%s:%s", u->login, pu->uid, pu->gid, u->gecos,
		     u->login, u->shell);
	if ((r = want_take(&pu->pw, &sb)) < 0)
		return r;
	rp_sb_init(&sb, 1024);
	if (u->access)
		rp_sb_printf(&sb, "%s:*:%u:0:99999:7:::", u->login, pu->lastchg);
	else
		rp_sb_printf(&sb, "%s:!*:%u:0:99999:7::1:", u->login, pu->lastchg);
	return want_take(&pu->sh, &sb);
}

static int group_lines(const struct conv *c, struct pgroup *pg)
{
	struct rp_sb sb, m;
	size_t k = 0;
	char *members;
	int r;

	rp_sb_init(&m, (size_t)RP_CONV_MEMBERS_MAX * (RP_USER_NAME_MAX + 1) + 1);
	for (size_t i = 0; pg->g && i < pg->g->nmembers; i++) {
		const char *login = pg->g->members[i];
		/* only accounts Rampart has: never a local account of the same login */
		if (!managed_login(c, login, strlen(login)))
			continue;
		rp_sb_printf(&m, "%s%s", k++ ? "," : "", login);
	}
	if (!(members = rp_sb_take(&m, NULL)))
		return RP_E_NOMEM;
	rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
	rp_sb_printf(&sb, "%s:x:%u:%s", pg->name, pg->gid, members);
	if ((r = want_take(&pg->gr, &sb)) == 0) {
		rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
		rp_sb_printf(&sb, "%s:!::%s", pg->name, members);
		r = want_take(&pg->gs, &sb);
	}
	free(members);
	return r;
}

/*
 * One line Rampart manages, in file, of name: w is what the plan wants,
 * last the hash of what was written last (NULL: never). The rules of the
 * file's comment: the plan's change is written, a hand change is drift,
 * left alone unless the plan changed too or asks for a repair. 1 when it
 * is to be written, 0 when not; w->hash is what the state keeps.
 */
static int converge_line(struct conv *c, int file, const char *name, struct want *w,
			 const uint8_t *last)
{
	struct afile *f = &c->f[file];
	ptrdiff_t i = afile_find(f, name);
	const char *cur = i >= 0 ? f->l[i].p : NULL;
	size_t cn = i >= 0 ? f->l[i].n : 0;
	uint8_t ch[32];
	bool hand = false;
	int r;

	w->written = false;
	if (cur && cn == w->n && memcmp(cur, w->text, cn) == 0)
		return 0;
	if (last && !c->old.pending) {
		if (cur)
			rp_sha256(cur, cn, ch);
		hand = !cur || memcmp(ch, last, 32) != 0;
	}
	if (hand) {
		bool plan_changed = memcmp(w->hash, last, 32) != 0;
		note(c, "drift-account", name, "its %s line was %s by hand%s", kinds[file].name,
		     cur ? "changed" : "removed",
		     c->p->repair   ? ""
		     : plan_changed ? "; the plan changed it too, so the plan's line replaces it"
				    : "; left as it is (a repair restores it)");
		if (!c->p->repair && !plan_changed) {
			memcpy(w->hash, last, 32);
			return 0;
		}
		if (c->p->repair)
			note(c, "repaired", name, "its %s line restored", kinds[file].name);
	}
	r = i >= 0 ? afile_replace(f, (size_t)i, w->text, w->n) : afile_append(f, w->text, w->n);
	if (r < 0)
		return r;
	w->written = true;
	c->dirty = true;
	return 1;
}

static bool shadow_locked(const struct conv *c, const char *login)
{
	ptrdiff_t i = afile_find(&c->f[F_SHADOW], login);
	struct rp_account_field pw;

	return i >= 0 && field_of(c->f[F_SHADOW].l[i].p, c->f[F_SHADOW].l[i].n, 1, &pw) &&
	       pw.n > 0 && pw.p[0] == '!';
}

static int plan_user(struct conv *c, struct puser *pu)
{
	const struct conv_user *u = pu->u;
	int r, wp, ws;

	if ((r = user_lines(pu)) < 0)
		return r;
	pu->was_locked = shadow_locked(c, u->login);
	if ((wp = converge_line(c, F_PASSWD, u->login, &pu->pw, pu->st ? pu->st->passwd : NULL)) <
	    0)
		return wp;
	if ((ws = converge_line(c, F_SHADOW, u->login, &pu->sh, pu->st ? pu->st->shadow : NULL)) <
	    0)
		return ws;
	switch (pu->how) {
	case H_CREATE:
		note(c, "created", u->login, "uid %u gid %u, home " HOME_DIR "/%s%s", pu->uid,
		     pu->gid, u->login, u->access ? "" : "; locked");
		break;
	case H_TAKEOVER:
		note(c, "taken-over", u->login,
		     "the local account of uid %u is managed from now on", pu->uid);
		break;
	default:
		if (wp)
			note(c, "updated", u->login,
			     "passwd line: uid %u gid %u, name, home, shell", pu->uid, pu->gid);
		if (ws && pu->was_locked != !u->access)
			note(c, u->access ? "unlocked" : "locked", u->login, "%s",
			     u->access ? "may log in with its keys" : "may not log in");
		else if (ws)
			note(c, "updated", u->login, "shadow line");
	}
	return 0;
}

static int plan_group(struct conv *c, struct pgroup *pg)
{
	int r, wg, ws;

	if ((r = group_lines(c, pg)) < 0)
		return r;
	if ((wg = converge_line(c, F_GROUP, pg->name, &pg->gr, pg->st ? pg->st->group : NULL)) < 0)
		return wg;
	if ((ws = converge_line(c, F_GSHADOW, pg->name, &pg->gs, pg->st ? pg->st->gshadow : NULL)) <
	    0)
		return ws;
	if (pg->how == H_CREATE)
		note(c, "group", pg->name, "created, gid %u%s", pg->gid,
		     pg->personal ? " (personal)" : "");
	else if (pg->how == H_TAKEOVER)
		note(c, "taken-over", pg->name, "the local group of gid %u is managed from now on",
		     pg->gid);
	else if (wg || ws)
		note(c, "group", pg->name, "updated: gid %u and its members", pg->gid);
	return 0;
}

static int kill_add(struct conv *c, uint32_t uid)
{
	uint32_t *k;

	for (size_t i = 0; i < c->nkill; i++)
		if (c->kill[i] == uid)
			return 0;
	if (!(k = grow(c->kill, &c->killcap, c->nkill, sizeof(*k))))
		return RP_E_NOMEM;
	c->kill = k;
	c->kill[c->nkill++] = uid;
	return 0;
}

static int lock_foreign(struct conv *c, size_t pi, bool *ret_changed);

/*
 * A managed account the plan no longer has: its lines go, its home stays.
 * One whose passwd line now has an id Rampart never writes (made uid 0 or
 * a system uid by hand) is not Rampart's line to delete: it is locked and
 * reported, and is no longer managed.
 */
static int plan_gone_user(struct conv *c, const struct conv_state_user *st)
{
	ptrdiff_t i = afile_find(&c->f[F_PASSWD], st->login);
	bool changed;
	int r;

	if ((r = kill_add(c, st->uid)) < 0)
		return r;
	c->dirty = true;
	if (i >= 0 && !id_managed(c->f[F_PASSWD].l[i].id)) {
		if ((r = lock_foreign(c, (size_t)i, &changed)) < 0)
			return r;
		note(c, "conflict", st->login,
		     "removed from the plan, but its passwd line has uid %u now, which Rampart "
		     "never writes: locked, not removed",
		     c->f[F_PASSWD].l[i].id);
		return 0;
	}
	if (i >= 0) {
		afile_drop(&c->f[F_PASSWD], (size_t)i);
		if ((r = kill_add(c, c->f[F_PASSWD].l[i].id)) < 0)
			return r;
	}
	if ((i = afile_find(&c->f[F_SHADOW], st->login)) >= 0)
		afile_drop(&c->f[F_SHADOW], (size_t)i);
	note(c, "removed", st->login, "uid %u: its account, keys and sudo", st->uid);
	note(c, "home-kept", st->login, HOME_DIR "/%s is never deleted", st->login);
	return 0;
}

static void plan_gone_group(struct conv *c, const struct conv_state_group *st)
{
	ptrdiff_t i = afile_find(&c->f[F_GROUP], st->name);

	c->dirty = true;
	if (i >= 0 && !id_managed(c->f[F_GROUP].l[i].id)) {
		note(c, "conflict", st->name,
		     "removed from the plan, but its group line has gid %u now, which Rampart "
		     "never writes: left as it is",
		     c->f[F_GROUP].l[i].id);
		return;
	}
	if (i >= 0)
		afile_drop(&c->f[F_GROUP], (size_t)i);
	if ((i = afile_find(&c->f[F_GSHADOW], st->name)) >= 0)
		afile_drop(&c->f[F_GSHADOW], (size_t)i);
	note(c, "group", st->name, "removed (gid %u)", st->gid);
}

/*
 * The member lists (fields first..last, comma-separated) of a group or
 * gshadow line of a group Rampart does not manage: a removed account's
 * login goes (as userdel does, so that a later account of that login
 * inherits nothing); a managed account listed there is drift, removed by
 * a repair. Notes come from the group file only.
 */
static int plan_members_line(struct conv *c, int file, size_t li)
{
	struct aline *l = &c->f[file].l[li];
	size_t nf = kinds[file].nfields, first = file == F_GROUP ? 3 : 2;
	struct rp_account_field fl;
	struct rp_sb sb;
	char gq[RP_USER_NAME_MAX + 64];
	bool changed = false;
	char *t;
	size_t tn;

	quoted(gq, l->p, l->nlen);
	rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
	for (size_t k = 0; k < nf; k++) {
		if (!field_of(l->p, l->n, k, &fl))
			break;
		if (k)
			rp_sb_put(&sb, ":", 1);
		if (k < first) {
			rp_sb_put(&sb, fl.p, fl.n);
			continue;
		}
		for (size_t s = 0, e, out = 0; s <= fl.n; s = e + 1) {
			const char *m = fl.p + s;
			size_t mn;
			bool drop = false;

			for (e = s; e < fl.n && fl.p[e] != ','; e++)
				;
			mn = e - s;
			if (mn && gone_login(c, m, mn)) {
				drop = true;
				if (file == F_GROUP)
					note(c, "group", gq, "removed account `%.*s' taken out",
					     (int)mn, m);
			} else if (mn && managed_login(c, m, mn)) {
				char mq[RP_USER_NAME_MAX + 64];
				quoted(mq, m, mn);
				if (file == F_GROUP)
					note(c, "drift-account", mq,
					     "listed in group `%s', which Rampart does not manage%s",
					     gq, c->p->repair ? "" : " (a repair takes it out)");
				if (c->p->repair) {
					drop = true;
					if (file == F_GROUP)
						note(c, "repaired", mq, "taken out of group `%s'",
						     gq);
				}
			}
			if (drop) {
				changed = true;
			} else {
				if (out++)
					rp_sb_put(&sb, ",", 1);
				rp_sb_put(&sb, m, mn);
			}
			if (e >= fl.n)
				break;
		}
	}
	if (!(t = rp_sb_take(&sb, &tn)))
		return RP_E_NOMEM;
	if (changed && afile_replace(&c->f[file], li, t, tn) < 0) {
		free(t);
		return RP_E_NOMEM;
	}
	if (changed)
		c->dirty = true;
	free(t);
	return 0;
}

static int plan_members(struct conv *c)
{
	size_t v;
	int r;

	for (int file = F_GROUP; file <= F_GSHADOW; file++) {
		struct afile *f = &c->f[file];
		for (size_t i = 0; i < f->n; i++) {
			const struct aline *l = &f->l[i];
			if (!l->entry || l->drop || map_get(&c->by_group, l->p, l->nlen, &v) ||
			    map_get(&c->old_groups, l->p, l->nlen, &v))
				continue;
			if ((r = plan_members_line(c, file, i)) < 0)
				return r;
		}
	}
	return c->err;
}

/* A copy of line l with field k replaced by (p, n), or prefixed by it when prefix. */
static char *field_set(const char *line, size_t len, size_t nf, size_t k, const char *p, size_t n,
		       bool prefix, size_t *ret_len)
{
	struct rp_account_field fl;
	struct rp_sb sb;

	rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
	for (size_t i = 0; i < nf && field_of(line, len, i, &fl); i++) {
		if (i)
			rp_sb_put(&sb, ":", 1);
		if (i == k)
			rp_sb_put(&sb, p, n);
		if (i != k || prefix)
			rp_sb_put(&sb, fl.p, fl.n);
	}
	return rp_sb_take(&sb, ret_len);
}

/*
 * Locks an account Rampart does not manage (a repair, for uid 0): `!'
 * before its shadow password and expiry 1, as usermod -L -e 1; a password
 * hash in passwd itself gets the `!' too. Nothing is deleted.
 */
static int lock_foreign(struct conv *c, size_t pi, bool *ret_changed)
{
	struct afile *pw = &c->f[F_PASSWD], *sh = &c->f[F_SHADOW];
	const struct aline *pl = &pw->l[pi];
	struct rp_account_field pwf, sp = {"", 0}, ex = {"", 0};
	ptrdiff_t si = afile_find_n(sh, pl->p, pl->nlen);
	char *t = NULL, *t2 = NULL;
	size_t tn, t2n;
	int r = 0;

	*ret_changed = false;
	if (field_of(pl->p, pl->n, 1, &pwf) && !rp_memeq(pwf.p, pwf.n, "x") &&
	    !(pwf.n && pwf.p[0] == '!')) {
		if (!(t = field_set(pl->p, pl->n, 7, 1, "!", 1, true, &tn)) ||
		    afile_replace(pw, pi, t, tn) < 0)
			goto nomem;
		free(t);
		t = NULL;
		*ret_changed = true;
	}
	if (si < 0) {
		struct rp_sb sb;
		rp_sb_init(&sb, RP_ACCOUNT_FILE_MAX);
		rp_sb_put(&sb, pl->p, pl->nlen);
		rp_sb_printf(&sb, ":!*:%u:0:99999:7::1:", c->today);
		if (!(t = rp_sb_take(&sb, &tn)) || afile_append(sh, t, tn) < 0)
			goto nomem;
		*ret_changed = true;
		goto out;
	}
	field_of(sh->l[si].p, sh->l[si].n, 1, &sp);
	field_of(sh->l[si].p, sh->l[si].n, 7, &ex);
	if (sp.n && sp.p[0] == '!' && rp_memeq(ex.p, ex.n, "1"))
		goto out;
	if (!(t = sp.n && sp.p[0] == '!'
			  ? field_set(sh->l[si].p, sh->l[si].n, 9, 1, sp.p, sp.n, false, &tn)
			  : field_set(sh->l[si].p, sh->l[si].n, 9, 1, "!", 1, true, &tn)) ||
	    !(t2 = field_set(t, tn, 9, 7, "1", 1, false, &t2n)) ||
	    afile_replace(sh, (size_t)si, t2, t2n) < 0)
		goto nomem;
	*ret_changed = true;
	goto out;
nomem:
	r = RP_E_NOMEM;
out:
	free(t);
	free(t2);
	return r;
}

/* An account of uid 0 that is not root: drift; a repair locks it. */
static int plan_uid0(struct conv *c)
{
	struct afile *pw = &c->f[F_PASSWD];
	size_t v;
	int r;

	for (ptrdiff_t i = afile_find_id(pw, 0); i >= 0; i = pw->l[i].next) {
		const struct aline *l = &pw->l[i];
		char q[RP_USER_NAME_MAX + 64];
		bool changed = false;

		if (l->drop || rp_memeq(l->p, l->nlen, "root"))
			continue;
		quoted(q, l->p, l->nlen);
		if (map_get(&c->old_users, l->p, l->nlen, &v)) {
			/* its line is drift-account too: the plan's line is restored, not locked */
			note(c, "drift-uid0", q, "a managed account made uid 0 by hand (line %zu)",
			     (size_t)i + 1);
			continue;
		}
		if (c->p->repair) {
			if ((r = lock_foreign(c, (size_t)i, &changed)) < 0)
				return r;
			if (changed)
				c->dirty = true;
		}
		note(c, "drift-uid0", q, "an account of uid 0 other than root (line %zu)%s",
		     (size_t)i + 1, c->p->repair ? "" : "; a repair locks it");
		if (changed)
			note(c, "repaired", q, "locked (shadow `!' and expiry 1), not deleted");
	}
	return c->err;
}

static int plan_accounts(struct conv *c)
{
	int r;

	for (size_t i = 0; i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		if (pu->how == H_CONFLICT)
			continue;
		if ((r = plan_user(c, pu)) < 0)
			return r;
		if (!pu->u->access && (r = kill_add(c, pu->uid)) < 0)
			return r;
	}
	for (size_t i = 0; i < c->ng; i++)
		if (c->g[i].how != H_CONFLICT && (r = plan_group(c, &c->g[i])) < 0)
			return r;
	for (size_t i = 0; i < c->ngone; i++)
		if ((r = plan_gone_user(c, c->gone[i])) < 0)
			return r;
	for (size_t i = 0; i < c->ngone_groups; i++)
		plan_gone_group(c, c->gone_groups[i]);
	if ((r = plan_members(c)) < 0)
		return r;
	return plan_uid0(c);
}

/* ---- the files Rampart owns: key files, sudo rules ---- */

static int keys_text(const struct conv_user *u, struct ownfile *of)
{
	struct rp_sb sb;

	free(of->want);
	of->want = NULL;
	if (!u->access || u->nkeys == 0)
		return 0;
	rp_sb_init(&sb, (size_t)RP_CONV_KEYS_MAX * (CONV_KEY_MAX + 1));
	for (size_t i = 0; i < u->nkeys; i++) {
		rp_sb_puts(&sb, u->keys[i]);
		rp_sb_put(&sb, "\n", 1);
	}
	return (of->want = rp_sb_take(&sb, &of->n)) ? 0 : RP_E_NOMEM;
}

static int sudo_text(const struct conv_user *u, struct ownfile *of)
{
	struct rp_sb sb;

	free(of->want);
	of->want = NULL;
	if (!u->access || u->sudo == CONV_SUDO_NONE ||
	    (u->sudo == CONV_SUDO_COMMANDS && u->ncommands == 0))
		return 0;
	rp_sb_init(&sb, (size_t)RP_CONV_COMMANDS_MAX * (CONV_COMMAND_MAX + 2) + 128);
	if (u->sudo == CONV_SUDO_ALL) {
		rp_sb_printf(&sb, "%s ALL=(ALL:ALL) NOPASSWD: ALL\n", u->login);
	} else {
		rp_sb_printf(&sb, "%s ALL=(root) NOPASSWD: ", u->login);
		for (size_t i = 0; i < u->ncommands; i++)
			rp_sb_printf(&sb, "%s%s", i ? ", " : "", u->commands[i]);
		rp_sb_put(&sb, "\n", 1);
	}
	return (of->want = rp_sb_take(&sb, &of->n)) ? 0 : RP_E_NOMEM;
}

/*
 * A whole file of ours, name in the directory fd: the rules of
 * converge_line, with `none' as one of the values. last_has/last: what
 * was written last; managed: the account was managed before this run (a
 * file found for one that is not is no one's hand change: the plan's
 * state replaces it).
 */
static int converge_file(struct conv *c, int fd, const char *name, struct ownfile *of,
			 bool last_has, const uint8_t *last, bool managed, const char *code,
			 const char *subject, const char *what)
{
	bool present = false, readable = false, hand = false;
	uint8_t wh[32] = {0}, ch[32];
	char *cur = NULL;
	size_t cn = 0;
	int r;

	r = read_at(fd, name, RP_AUTHORIZED_KEYS_MAX, &cur, &cn, NULL);
	if (r == 0)
		present = readable = true;
	else if (r == RP_E_UNSAFE || r == RP_E_TOOBIG)
		present = true; /* a link, a directory, a huge file: not what was written */
	else if (r != RP_E_NOTFOUND) {
		rp_diagf(c->d, "reading %s %s: %s", subject, what, rp_strerror(r));
		return r;
	}
	if (of->want)
		rp_sha256(of->want, of->n, wh);
	of->act = A_KEEP;
	of->has = of->want != NULL;
	memcpy(of->hash, wh, 32);
	if ((!of->want && !present) ||
	    (of->want && readable && cn == of->n && memcmp(cur, of->want, cn) == 0))
		goto out;
	if (readable)
		rp_sha256(cur, cn, ch);
	if (managed && !c->old.pending)
		hand = !((!present && !last_has) ||
			 (readable && last_has && memcmp(ch, last, 32) == 0));
	if (hand) {
		bool plan_changed =
			(of->want != NULL) != last_has || (of->want && memcmp(wh, last, 32) != 0);
		note(c, code, subject, "%s was %s by hand%s", what,
		     !present   ? "removed"
		     : last_has ? "changed"
				: "added",
		     c->p->repair   ? ""
		     : plan_changed ? "; the plan changed it too, so the plan's is written"
				    : "; left as it is (a repair restores it)");
		if (!c->p->repair && !plan_changed) {
			of->has = last_has;
			if (last_has)
				memcpy(of->hash, last, 32);
			goto out;
		}
		if (c->p->repair)
			note(c, "repaired", subject, "%s restored", what);
	}
	of->act = of->want ? A_WRITE : A_REMOVE;
	c->dirty = true;
out:
	free(cur);
	return 0;
}

static int name_add(struct conv *c, int dir, const char *name, bool quarantine)
{
	struct dname *n;

	if (!(n = grow(c->names, &c->namescap, c->nnames, sizeof(*n))))
		return RP_E_NOMEM;
	c->names = n;
	n = &c->names[c->nnames++];
	n->dir = dir;
	n->quarantine = quarantine;
	snprintf(n->name, sizeof(n->name), "%s", name);
	c->dirty = true;
	return 0;
}

static bool exists_at(int fd, const char *name)
{
	struct stat st;
	return fd >= 0 && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int plan_user_files(struct conv *c, struct puser *pu)
{
	const struct conv_user *u = pu->u;
	const struct conv_state_user *st = pu->st;
	bool managed = pu->how == H_MANAGED;
	char sname[RP_USER_NAME_MAX + 16];
	uint8_t h[32];
	int r;

	if ((r = keys_text(u, &pu->keys)) < 0 ||
	    (r = converge_file(c, c->keysdir, u->login, &pu->keys, st && st->has_keys,
			       st ? st->keys : NULL, managed, "drift-key", u->login,
			       "its Rampart key file")) < 0)
		return r;
	if (pu->keys.act == A_WRITE)
		note(c, "keys", u->login, "%zu authorised keys written", u->nkeys);
	else if (pu->keys.act == A_REMOVE)
		note(c, "keys", u->login, "key file removed (%s)",
		     u->access ? "no keys" : "no access");
	if ((r = sudo_text(u, &pu->sudo)) < 0)
		return r;
	if (pu->sudo.want && st && st->has_refused) {
		rp_sha256(pu->sudo.want, pu->sudo.n, h);
		if (memcmp(h, st->refused, 32) == 0) {
			/* visudo refused this very rule: not tried again until it changes */
			pu->has_refused = true;
			memcpy(pu->refused, h, 32);
			free(pu->sudo.want);
			pu->sudo.want = NULL;
			note(c, "sudo", u->login,
			     "no sudo: visudo refused this rule before (tried again when it changes)");
		}
	}
	snprintf(sname, sizeof(sname), "rampart-%s", u->login);
	if ((r = converge_file(c, c->sudoers, sname, &pu->sudo, st && st->has_sudo,
			       st ? st->sudo : NULL, managed, "drift-file", u->login,
			       "its sudo rule")) < 0)
		return r;
	if (pu->sudo.act == A_REMOVE)
		note(c, "sudo", u->login, "sudo rule removed");
	return 0;
}

/* Every entry of a directory, each given to fn; names are what readdir gives. */
static int each_entry(int fd, int (*fn)(struct conv *, const char *), struct conv *c)
{
	struct dirent *e;
	DIR *dir;
	int dfd, r = 0;

	if (fd < 0)
		return 0;
	if ((dfd = dup(fd)) < 0 || !(dir = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return RP_E_IO;
	}
	rewinddir(dir);
	while (r == 0 && (errno = 0, e = readdir(dir)))
		r = fn(c, e->d_name);
	if (r == 0 && errno != 0)
		r = RP_E_IO;
	closedir(dir);
	return r;
}

/* A sudoers.d name sudo reads and Rampart did not write. */
static int sudoers_entry(struct conv *c, const char *name)
{
	size_t n = strlen(name);
	char q[RP_USER_NAME_MAX + 64];

	/* sudo skips names with a '.' or ending in '~' (and so do we: our temporary files) */
	if (strchr(name, '.') || name[n - 1] == '~' || strcmp(name, "README") == 0)
		return 0;
	if (strncmp(name, "rampart-", 8) == 0 &&
	    (managed_login(c, name + 8, n - 8) || gone_login(c, name + 8, n - 8)))
		return 0;
	quoted(q, name, n);
	note(c, "drift-sudoers", q, "a sudo drop-in Rampart did not write%s",
	     c->p->repair ? "; moved to quarantine" : " (a repair moves it to quarantine)");
	return c->p->repair ? name_add(c, D_SUDOERS, name, true) : 0;
}

/* A Rampart key file of no account Rampart manages (root's, say): sshd would read it. */
static int keys_entry(struct conv *c, const char *name)
{
	size_t n = strlen(name);
	char q[RP_USER_NAME_MAX + 64];

	if (name[0] == '.' || managed_login(c, name, n) || gone_login(c, name, n))
		return 0;
	quoted(q, name, n);
	note(c, "drift-key", q,
	     "a key file in /etc/ssh/rampart/authorized_keys for an account "
	     "Rampart does not manage%s",
	     c->p->repair ? "; moved to quarantine" : " (a repair moves it to quarantine)");
	return c->p->repair ? name_add(c, D_KEYS, name, true) : 0;
}

/* "TYPE BASE64" of an authorized_keys line: its first two words, or (p, 0). */
static size_t key_words(const char *p, size_t n)
{
	const char *sp = memchr(p, ' ', n), *sp2;

	if (!sp)
		return 0;
	sp2 = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p));
	return sp2 ? (size_t)(sp2 - p) : n;
}

static bool key_given(const struct conv_user *u, const char *p, size_t n)
{
	size_t kw = key_words(p, n);

	for (size_t i = 0; u->access && kw && i < u->nkeys; i++) {
		size_t klen = strlen(u->keys[i]), pw = key_words(u->keys[i], klen);
		if (pw == kw && memcmp(u->keys[i], p, kw) == 0 && rp_ssh_key_valid(p, n))
			return true;
	}
	return false;
}

/*
 * The keys a managed user's own ~/.ssh/authorized_keys gives (sshd reads it
 * after Rampart's file): anything but the plan's keys is drift, taken out
 * by a repair. The home is the user's: nothing there is followed.
 */
static int plan_home(struct conv *c, struct puser *pu)
{
	const char *login = pu->u->login;
	struct rp_cursor cur;
	struct rp_sb kept;
	struct stat st;
	char *text = NULL, *line;
	size_t n = 0, extra = 0, ll;
	int hfd = -1, sfd = -1, r = 0;

	if (c->home < 0 ||
	    (hfd = openat(c->home, login, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (c->home < 0 || errno == ENOENT) {
			pu->home_missing = true;
			c->dirty = true;
		}
		return 0; /* a link or a file where the home should be is not ours to follow */
	}
	if ((sfd = openat(hfd, ".ssh", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto out;
	r = read_at(sfd, "authorized_keys", RP_AUTHORIZED_KEYS_MAX, &text, &n, &st);
	if (r == RP_E_NOTFOUND) {
		r = 0;
		goto out;
	}
	if (r < 0 || (st.st_uid != pu->uid && st.st_uid != 0) || st.st_nlink != 1) {
		note(c, "drift-key", login,
		     HOME_DIR
		     "/%s/.ssh/authorized_keys is not a plain file of its own (%s); not read",
		     login, r < 0 ? rp_strerror(r) : "another owner, or more links");
		r = 0;
		goto out;
	}
	rp_sb_init(&kept, RP_AUTHORIZED_KEYS_MAX);
	cur = (struct rp_cursor){text, n};
	while (cur.n > 0) {
		const char *nl = memchr(cur.p, '\n', cur.n), *s;
		line = (char *)cur.p;
		ll = nl ? (size_t)(nl - cur.p) : cur.n;
		cur.p += nl ? ll + 1 : ll;
		cur.n -= nl ? ll + 1 : ll;
		for (s = line; s < line + ll && (*s == ' ' || *s == '\t'); s++)
			;
		if (s == line + ll || *s == '#' || key_given(pu->u, line, ll)) {
			rp_sb_put(&kept, line, ll);
			rp_sb_put(&kept, "\n", 1);
		} else {
			extra++;
		}
	}
	if (extra == 0) {
		rp_sb_release(&kept);
		goto out;
	}
	note(c, "drift-key", login,
	     "%zu keys in " HOME_DIR "/%s/.ssh/authorized_keys that the directory does not give%s",
	     extra, login, c->p->repair ? "; taken out" : " (a repair takes them out)");
	if (c->p->repair) {
		struct userkeys *uk = grow(c->uk, &c->ukcap, c->nuk, sizeof(*uk));
		if (!uk) {
			rp_sb_release(&kept);
			r = RP_E_NOMEM;
			goto out;
		}
		c->uk = uk;
		uk = &c->uk[c->nuk++];
		memset(uk, 0, sizeof(*uk));
		uk->pu = pu;
		uk->mode = st.st_mode & 0644; /* sshd refuses group or world write anyway */
		uk->uid = st.st_uid;
		uk->gid = st.st_gid;
		if (!(uk->text = rp_sb_take(&kept, &uk->n))) {
			r = RP_E_NOMEM;
			goto out;
		}
		c->dirty = true;
		note(c, "repaired", login, "%zu keys taken out of its ~/.ssh/authorized_keys",
		     extra);
	} else {
		rp_sb_release(&kept);
	}
out:
	free(text);
	if (sfd >= 0)
		close(sfd);
	if (hfd >= 0)
		close(hfd);
	return r;
}

static int plan_files(struct conv *c)
{
	char sname[RP_USER_NAME_MAX + 16];
	int r;

	if ((r = dir_at(c->root, "etc/ssh/rampart/authorized_keys", &c->keysdir, c->d)) < 0 ||
	    (r = dir_at(c->root, "etc/sudoers.d", &c->sudoers, c->d)) < 0 ||
	    (r = dir_at(c->root, "home", &c->home, c->d)) < 0)
		return r;
	for (size_t i = 0; i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		if (pu->how == H_CONFLICT)
			continue;
		if ((r = plan_user_files(c, pu)) < 0 || (r = plan_home(c, pu)) < 0)
			return r;
	}
	for (size_t i = 0; i < c->ngone; i++) {
		const char *login = c->gone[i]->login;
		snprintf(sname, sizeof(sname), "rampart-%s", login);
		if (exists_at(c->keysdir, login) && (r = name_add(c, D_KEYS, login, false)) < 0)
			return r;
		if (exists_at(c->sudoers, sname) && (r = name_add(c, D_SUDOERS, sname, false)) < 0)
			return r;
	}
	if ((r = each_entry(c->sudoers, sudoers_entry, c)) < 0 ||
	    (r = each_entry(c->keysdir, keys_entry, c)) < 0) {
		rp_diagf(c->d, "listing %s/etc/sudoers.d or the Rampart key directory: %s", c->root,
			 strerror(errno));
		return r;
	}
	return c->err;
}

/* ---- writing ---- */

/* A new file tmp in dfd (a stale one of that name removed first), exactly mode and owner. */
static int tmp_write(int dfd, const char *tmp, const void *p, size_t n, mode_t mode, uid_t uid,
		     gid_t gid)
{
	if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT)
		return RP_E_IO;
	return rp_file_create_at(dfd, tmp, p, n, (int)mode, (long)uid, (long)gid) == 0 ? 0
										       : RP_E_IO;
}

/* A random name in dfd that sudo and sshd both ignore (it has a '.'). */
static void tmp_name(char out[NAME_MAX + 1], const char *base)
{
	char rnd[17];

	rp_random_hex(rnd, 8);
	snprintf(out, NAME_MAX + 1, ".%.200s.%s.tmp", base, rnd);
}

/* name in dfd replaced whole (the directory's fsync is the caller's). */
static int put_file(int dfd, const char *name, const void *p, size_t n, mode_t mode, uid_t uid,
		    gid_t gid)
{
	char tmp[NAME_MAX + 1];
	int r;

	tmp_name(tmp, name);
	if ((r = tmp_write(dfd, tmp, p, n, mode, uid, gid)) < 0)
		return r;
	if (renameat(dfd, tmp, dfd, name) != 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		errno = e;
		return RP_E_IO;
	}
	return 0;
}

static int io_fail(struct conv *c, const char *doing, const char *what)
{
	rp_diagf(c->d, "%s %s: %s", doing, what, strerror(errno));
	return RP_E_IO;
}

/*
 * An account file replaced as shadow-utils does: <file>+ written with the
 * file's mode and owner and fsynced, read back and parsed, the old text
 * kept as <file>-, then <file>+ renamed over <file>.
 */
static int write_account(struct conv *c, int k, const char *text, size_t len)
{
	const struct file_kind *kind = &kinds[k];
	struct afile *f = &c->f[k], chk = {0};
	struct rp_diag pd = {""};
	char tmp[32], bak[32];
	mode_t mode = kind->mode;
	uid_t uid = 0;
	gid_t gid = 0;
	int r;

	snprintf(tmp, sizeof(tmp), "%s+", kind->name);
	snprintf(bak, sizeof(bak), "%s-", kind->name);
	if (f->exists) {
		mode = f->st.st_mode & kind->mode; /* never more open than shadow-utils makes it */
		uid = f->st.st_uid;
		gid = f->st.st_gid;
	} else if (kind->mode == 0640) {
		gid = c->shadow_gid;
		mode = gid ? 0640 : 0600;
	}
	if (tmp_write(c->etc, tmp, text, len, mode, uid, gid) < 0)
		return io_fail(c, "writing", tmp);
	r = read_at(c->etc, tmp, RP_ACCOUNT_FILE_MAX, &chk.text, &chk.len, NULL);
	if (r == 0 && (chk.len != len || memcmp(chk.text, text, len) != 0))
		r = RP_E_IO;
	if (r == 0 && (r = afile_parse(&chk, kind, &pd)) < 0)
		rp_diagf(c->d, "the new %s does not parse (%s); nothing replaced", kind->name,
			 pd.msg);
	else if (r < 0)
		rp_diagf(c->d, "the new %s does not read back as written; nothing replaced",
			 kind->name);
	afile_release(&chk);
	if (r < 0)
		goto fail;
	if (f->exists && put_file(c->etc, bak, f->text, f->len, mode, uid, gid) < 0) {
		r = io_fail(c, "writing the backup", bak);
		goto fail;
	}
	if (renameat(c->etc, tmp, c->etc, kind->name) != 0) {
		r = io_fail(c, "replacing", kind->name);
		goto fail;
	}
	c->rep->writes += f->exists ? 2 : 1;
	return 0;
fail:
	unlinkat(c->etc, tmp, 0);
	return r;
}

static int write_accounts(struct conv *c)
{
	int r;

	for (int k = 0; k < NFILES; k++) {
		struct afile *f = &c->f[k];
		size_t len;
		char *text;

		if (!f->changed)
			continue;
		if (!(text = afile_text(f, &len))) {
			rp_diagf(c->d, "the new %s would be larger than %d bytes", kinds[k].name,
				 RP_ACCOUNT_FILE_MAX);
			return RP_E_TOOBIG;
		}
		r = f->exists && len == f->len && memcmp(text, f->text, len) == 0
			    ? 0
			    : write_account(c, k, text, len);
		free(text);
		if (r < 0)
			return r;
	}
	return fsync(c->etc) != 0 ? io_fail(c, "syncing", "etc") : 0;
}

/* A directory of root's that no one else may write to (sshd's StrictModes, sudo's own checks). */
static int dir_secure(struct conv *c, int fd, const char *name, mode_t mode, bool made)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return io_fail(c, "checking", name);
	if (!made && st.st_uid == 0 && st.st_gid == 0 && !(st.st_mode & 022))
		return 0;
	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0)
		return io_fail(c, "securing", name);
	return 0;
}

/* A directory of root's, name in parent, made if missing (its mode whatever the umask), never
 * through a link. */
static int ensure_dir(struct conv *c, int parent, const char *name, mode_t mode, int *ret)
{
	bool made = mkdirat(parent, name, mode) == 0;
	int fd, r;

	if (!made && errno != EEXIST)
		return io_fail(c, "making", name);
	if ((fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return io_fail(c, "opening", name);
	if ((r = dir_secure(c, fd, name, mode, made)) < 0) {
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static int copy_file(int src, int dst, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char buf[8192];
	int in, out, r = RP_E_IO;

	if ((in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return RP_E_IO;
	if ((out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	    0)
		goto out;
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf)), w = 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		while (w < k) {
			ssize_t m = write(out, buf + w, (size_t)(k - w));
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				goto out;
			w += m;
		}
	}
	r = fchown(out, uid, gid) == 0 && fchmod(out, mode) == 0 ? 0 : RP_E_IO;
out:
	if (out >= 0)
		close(out);
	close(in);
	return r;
}

/*
 * /etc/skel into a new home: directories and regular files only (a link
 * in skel is not followed, a device not made), owned by the user, without
 * set-id bits; at most RP_CONV_SKEL_DEPTH_MAX deep and
 * RP_CONV_SKEL_ENTRIES_MAX entries.
 */
static int copy_tree(int src, int dst, unsigned depth, uid_t uid, gid_t gid, size_t *count)
{
	struct dirent *e;
	DIR *dir;
	int fd, r = 0;

	if ((fd = dup(src)) < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return RP_E_IO;
	}
	rewinddir(dir);
	while (r == 0 && (e = readdir(dir))) {
		struct stat st;
		mode_t mode;
		int sd, dd;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++*count > RP_CONV_SKEL_ENTRIES_MAX)
			break;
		if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		mode = st.st_mode & 0777;
		if (S_ISREG(st.st_mode)) {
			r = copy_file(src, dst, e->d_name, mode, uid, gid);
			continue;
		}
		if (!S_ISDIR(st.st_mode) || depth + 1 >= RP_CONV_SKEL_DEPTH_MAX)
			continue;
		if (mkdirat(dst, e->d_name, 0700) != 0) {
			r = RP_E_IO;
			break;
		}
		sd = openat(src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		dd = openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sd < 0 || dd < 0 || fchown(dd, uid, gid) != 0)
			r = RP_E_IO;
		else if ((r = copy_tree(sd, dd, depth + 1, uid, gid, count)) == 0 &&
			 fchmod(dd, mode) != 0)
			r = RP_E_IO;
		if (sd >= 0)
			close(sd);
		if (dd >= 0)
			close(dd);
	}
	closedir(dir);
	return r;
}

static int make_homes(struct conv *c)
{
	int rootfd = -1, skel = -1, r = 0;
	size_t made = 0;

	for (size_t i = 0; r == 0 && i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		const char *login = pu->u->login;
		size_t count = 0;
		int hfd;

		if (pu->how == H_CONFLICT || !pu->home_missing)
			continue;
		if (c->home < 0) {
			if ((rootfd = open(c->root[0] ? c->root : "/",
					   O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
				return io_fail(c, "opening", c->root);
			r = ensure_dir(c, rootfd, "home", 0755, &c->home);
			close(rootfd);
			if (r < 0)
				return r;
		}
		if (skel < 0 && (r = dir_at(c->root, "etc/skel", &skel, c->d)) < 0)
			return r;
		if (mkdirat(c->home, login, 0700) != 0) {
			if (errno == EEXIST)
				continue; /* made since it was looked at: not ours to fill */
			r = io_fail(c, "making the home of", login);
			break;
		}
		if ((hfd = openat(c->home, login,
				  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			r = io_fail(c, "opening the home of", login);
			break;
		}
		if (fchown(hfd, pu->uid, pu->gid) != 0 || fchmod(hfd, 0700) != 0)
			r = io_fail(c, "giving its home to", login);
		else if (skel >= 0 && copy_tree(skel, hfd, 0, pu->uid, pu->gid, &count) < 0)
			r = io_fail(c, "copying /etc/skel for", login);
		close(hfd);
		made++;
		c->rep->writes++;
		if (r == 0 && pu->how == H_MANAGED)
			note(c, "updated", login, HOME_DIR "/%s was missing: made from /etc/skel",
			     login);
	}
	if (skel >= 0)
		close(skel);
	/*
	 * Every home made, and every file copied into it, durable at once:
	 * one syncfs of the homes' file system, not an fsync per file (about
	 * three per home from a stock /etc/skel), which the files copied
	 * never had.
	 */
	if (r == 0 && made && syncfs(c->home) != 0)
		r = io_fail(c, "syncing", HOME_DIR);
	return r;
}

/* ---- removing, moving aside ---- */

static int dir_fd(const struct conv *c, int dir)
{
	return dir == D_SUDOERS ? c->sudoers : c->keysdir;
}

static int unlink_ours(struct conv *c, int fd, const char *name)
{
	if (fd < 0 || unlinkat(fd, name, 0) == 0) {
		if (fd >= 0)
			c->rep->writes++;
		return 0;
	}
	return errno == ENOENT ? 0 : io_fail(c, "removing", name);
}

/* The keys and sudo that go, before the accounts change (a locked account keeps neither). */
static int remove_files(struct conv *c)
{
	char sname[RP_USER_NAME_MAX + 16];
	int r;

	for (size_t i = 0; i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		if (pu->how == H_CONFLICT)
			continue;
		snprintf(sname, sizeof(sname), "rampart-%s", pu->u->login);
		if ((pu->keys.act == A_REMOVE &&
		     (r = unlink_ours(c, c->keysdir, pu->u->login)) < 0) ||
		    (pu->sudo.act == A_REMOVE && (r = unlink_ours(c, c->sudoers, sname)) < 0))
			return r;
	}
	for (size_t i = 0; i < c->nnames; i++)
		if (!c->names[i].quarantine &&
		    (r = unlink_ours(c, dir_fd(c, c->names[i].dir), c->names[i].name)) < 0)
			return r;
	if ((c->keysdir >= 0 && fsync(c->keysdir) != 0) ||
	    (c->sudoers >= 0 && fsync(c->sudoers) != 0))
		return io_fail(c, "syncing", "the key or sudo directory");
	return 0;
}

static int quarantine_dir(struct conv *c, int *ret)
{
	int sfd = open(c->env->state, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (sfd < 0)
		return io_fail(c, "opening", c->env->state);
	if (mkdirat(sfd, "quarantine", 0700) != 0 && errno != EEXIST) {
		close(sfd);
		return io_fail(c, "making", "quarantine");
	}
	*ret = openat(sfd, "quarantine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = *ret < 0 ? io_fail(c, "opening", "quarantine") : 0;
	close(sfd);
	return r;
}

/* A foreign file moved into <state>/quarantine, never deleted. */
static int quarantine(struct conv *c, int qfd, const struct dname *n)
{
	int src = dir_fd(c, n->dir);
	char qname[NAME_MAX + 1], *buf = NULL;
	size_t len;
	int r;

	for (unsigned k = 0;; k++) {
		int w = snprintf(qname, sizeof(qname), "%lld-%s-%.180s", (long long)rp_now(),
				 n->dir == D_SUDOERS ? "sudoers.d" : "authorized_keys", n->name);
		if (k > 0 && w > 0 && (size_t)w < sizeof(qname))
			w += snprintf(qname + w, sizeof(qname) - (size_t)w, ".%u", k);
		if (w < 0 || (size_t)w >= sizeof(qname) || k > 100)
			return io_fail(c, "naming the quarantined", n->name);
		if (!exists_at(qfd, qname))
			break;
	}
	if (renameat(src, n->name, qfd, qname) == 0) {
		c->rep->writes++;
		return 0;
	}
	if (errno != EXDEV)
		return io_fail(c, "moving to quarantine", n->name);
	/* Another file system: copied, synced, then removed. */
	if ((r = read_at(src, n->name, RP_AUTHORIZED_KEYS_MAX, &buf, &len, NULL)) < 0) {
		rp_diagf(c->d, "quarantining %s: %s", n->name, rp_strerror(r));
		return r;
	}
	r = put_file(qfd, qname, buf, len, 0600, 0, 0);
	free(buf);
	if (r < 0 || fsync(qfd) != 0)
		return io_fail(c, "writing to quarantine", n->name);
	c->rep->writes++;
	return unlink_ours(c, src, n->name);
}

static int move_foreign(struct conv *c)
{
	int qfd = -1, r = 0;

	for (size_t i = 0; r == 0 && i < c->nnames; i++) {
		if (!c->names[i].quarantine)
			continue;
		if (qfd < 0 && (r = quarantine_dir(c, &qfd)) < 0)
			break;
		r = quarantine(c, qfd, &c->names[i]);
	}
	if (qfd >= 0) {
		if (r == 0 && fsync(qfd) != 0)
			r = io_fail(c, "syncing", "quarantine");
		close(qfd);
	}
	return r;
}

/* The users' own authorized_keys, rewritten without the keys the plan does not give. */
static int write_userkeys(struct conv *c)
{
	for (size_t i = 0; i < c->nuk; i++) {
		const struct userkeys *uk = &c->uk[i];
		const char *login = uk->pu->u->login;
		int hfd, sfd, r = RP_E_IO;

		hfd = openat(c->home, login, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sfd = hfd < 0 ? -1
			      : openat(hfd, ".ssh",
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd >= 0 &&
		    put_file(sfd, "authorized_keys", uk->text, uk->n, uk->mode, uk->uid, uk->gid) ==
			    0 &&
		    fsync(sfd) == 0)
			r = 0;
		if (r < 0)
			io_fail(c, "rewriting the authorized_keys of", login);
		if (sfd >= 0)
			close(sfd);
		if (hfd >= 0)
			close(hfd);
		if (r < 0)
			return r;
		c->rep->writes++;
	}
	return 0;
}

/* ---- keys and sudo rules ---- */

static int write_keys(struct conv *c)
{
	int ssh = -1, rampart = -1, r = 0;
	size_t n = 0;

	for (size_t i = 0; i < c->nu; i++)
		n += c->u[i].how != H_CONFLICT && c->u[i].keys.act == A_WRITE;
	if (n == 0)
		return 0;
	if (c->keysdir >= 0)
		r = dir_secure(c, c->keysdir, "authorized_keys", 0755, false);
	else if ((r = ensure_dir(c, c->etc, "ssh", 0755, &ssh)) == 0 &&
		 (r = ensure_dir(c, ssh, "rampart", 0755, &rampart)) == 0)
		r = ensure_dir(c, rampart, "authorized_keys", 0755, &c->keysdir);
	if (ssh >= 0)
		close(ssh);
	if (rampart >= 0)
		close(rampart);
	for (size_t i = 0; r == 0 && i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		if (pu->how == H_CONFLICT || pu->keys.act != A_WRITE)
			continue;
		if (put_file(c->keysdir, pu->u->login, pu->keys.want, pu->keys.n, 0644, 0, 0) < 0)
			r = io_fail(c, "writing the key file of", pu->u->login);
		else
			c->rep->writes++;
	}
	if (r == 0 && fsync(c->keysdir) != 0)
		r = io_fail(c, "syncing", "the key directory");
	return r;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void visudo_exec(const char *visudo, const char *file, int errfd)
{
	char *const argv[] = {(char *)visudo, (char *)"-c", (char *)"-q",
			      (char *)"-f",   (char *)file, NULL};
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C",
			      NULL};
	struct sigaction sa;
	sigset_t none;
	int nul;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((nul = open("/dev/null", O_RDWR)) < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
	    dup2(errfd, 2) < 0)
		_exit(126);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	execve(visudo, argv, envp);
	_exit(127);
}

enum { VISUDO_OK, VISUDO_REFUSED, VISUDO_FAILED };

/*
 * `visudo -c -q -f file', no shell, no inherited descriptor, its stderr
 * kept (quoted) in why; killed after RP_CONV_VISUDO_S.
 */
static int visudo_check(const struct conv *c, const char *file, char *why, size_t whylen)
{
	const char *visudo = c->env->visudo ? c->env->visudo : "/usr/sbin/visudo";
	char err[256];
	size_t elen = 0;
	int pfd[2], status = 0;
	int64_t deadline = rp_mono_ms() + RP_CONV_VISUDO_S * 1000;
	bool late = false;
	pid_t pid;

	snprintf(why, whylen, "could not run %s", visudo);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return VISUDO_FAILED;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return VISUDO_FAILED;
	}
	if (pid == 0)
		visudo_exec(visudo, file, pfd[1]);
	close(pfd[1]);
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		int64_t left = deadline - rp_mono_ms();
		char buf[512];
		ssize_t k;

		if (left <= 0) {
			late = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((k = read(pfd[0], buf, sizeof(buf))) < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (ssize_t j = 0; j < k && elen < sizeof(err); j++)
			err[elen++] = buf[j] == '\n' ? ' ' : buf[j];
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (late) {
		snprintf(why, whylen, "%s did not finish in %d s", visudo, RP_CONV_VISUDO_S);
		return VISUDO_FAILED;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return VISUDO_OK;
	if (WIFEXITED(status) && WEXITSTATUS(status) >= 126) {
		snprintf(why, whylen, "could not run %s (exit %d)", visudo, WEXITSTATUS(status));
		return VISUDO_FAILED;
	}
	while (elen > 0 && err[elen - 1] == ' ')
		elen--;
	rp_quote(why, whylen, err, elen);
	if (elen == 0)
		snprintf(why, whylen, "%s exited %d", visudo,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return VISUDO_REFUSED;
}

struct sudo_tmp {
	struct puser *pu;
	char tmp[NAME_MAX + 1];
	int verdict;
	char why[160];
};

static int sudo_path(const struct conv *c, const char *name, char *out, size_t n)
{
	int k = snprintf(out, n, "%s/etc/sudoers.d/%s", c->root, name);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : 0;
}

/*
 * Each new rule written to a temporary name sudo ignores (a '.' in it),
 * checked by visudo, then renamed to rampart-<login>. All the rules are
 * first checked together, one file of one line each: each line stands
 * alone in sudoers, so the whole passes exactly when each does, and a
 * thousand rules cost one visudo. When it does not pass, each is checked.
 */
static int write_sudo(struct conv *c)
{
	struct sudo_tmp *t = NULL;
	struct rp_sb all;
	char path[PATH_MAX], name[RP_USER_NAME_MAX + 16], why[160] = "";
	size_t n = 0;
	int r = 0, verdict = VISUDO_REFUSED;

	for (size_t i = 0; i < c->nu; i++)
		n += c->u[i].how != H_CONFLICT && c->u[i].sudo.act == A_WRITE;
	if (n == 0)
		return 0;
	if (c->sudoers < 0 ? (r = ensure_dir(c, c->etc, "sudoers.d", 0750, &c->sudoers)) < 0
			   : (r = dir_secure(c, c->sudoers, "sudoers.d", 0750, false)) < 0)
		return r;
	if (!(t = calloc(n, sizeof(*t))))
		return RP_E_NOMEM;
	rp_sb_init(&all, RP_ACCOUNT_FILE_MAX);
	n = 0;
	for (size_t i = 0; i < c->nu; i++) {
		struct puser *pu = &c->u[i];
		if (pu->how == H_CONFLICT || pu->sudo.act != A_WRITE)
			continue;
		snprintf(name, sizeof(name), "rampart-%s", pu->u->login);
		t[n].pu = pu;
		tmp_name(t[n].tmp, name);
		if (tmp_write(c->sudoers, t[n].tmp, pu->sudo.want, pu->sudo.n, 0440, 0, 0) < 0) {
			r = io_fail(c, "writing the sudo rule of", pu->u->login);
			goto out;
		}
		t[n].verdict = VISUDO_REFUSED;
		rp_sb_put(&all, pu->sudo.want, pu->sudo.n);
		n++;
	}
	if (n > 1 && !all.err) {
		char allname[NAME_MAX + 1];
		tmp_name(allname, "rampart-check");
		if (tmp_write(c->sudoers, allname, all.s, all.len, 0440, 0, 0) == 0 &&
		    sudo_path(c, allname, path, sizeof(path)) == 0)
			verdict = visudo_check(c, path, why, sizeof(why));
		unlinkat(c->sudoers, allname, 0);
	}
	for (size_t i = 0; i < n; i++) {
		if (verdict != VISUDO_REFUSED) { /* all passed, or visudo did not run at all */
			t[i].verdict = verdict;
			snprintf(t[i].why, sizeof(t[i].why), "%s", why);
		} else if (sudo_path(c, t[i].tmp, path, sizeof(path)) == 0) {
			t[i].verdict = visudo_check(c, path, t[i].why, sizeof(t[i].why));
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct puser *pu = t[i].pu;
		const char *login = pu->u->login;
		snprintf(name, sizeof(name), "rampart-%s", login);
		if (t[i].verdict == VISUDO_OK) {
			if (renameat(c->sudoers, t[i].tmp, c->sudoers, name) != 0) {
				r = io_fail(c, "installing the sudo rule of", login);
				goto out;
			}
			t[i].tmp[0] = '\0';
			c->rep->writes++;
			if (pu->u->sudo == CONV_SUDO_ALL)
				note(c, "sudo", login, "rule installed: every command as anyone");
			else
				note(c, "sudo", login, "rule installed: %zu commands as root",
				     pu->u->ncommands);
			continue;
		}
		/* Refused: no sudo at all for it, not the rule it had before. */
		if ((r = unlink_ours(c, c->sudoers, name)) < 0)
			goto out;
		pu->sudo.has = false;
		if (t[i].verdict == VISUDO_REFUSED) {
			pu->has_refused = true;
			rp_sha256(pu->sudo.want, pu->sudo.n, pu->refused);
		}
		note(c, "sudo", login, "no sudo: visudo refused the rule: %s", t[i].why);
	}
	if (fsync(c->sudoers) != 0)
		r = io_fail(c, "syncing", "sudoers.d");
out:
	for (size_t i = 0; i < n; i++)
		if (t[i].tmp[0])
			unlinkat(c->sudoers, t[i].tmp, 0);
	free(t);
	rp_sb_release(&all);
	return r;
}

/* ---- sessions ---- */

/* What /proc says of one process. */
struct pinfo {
	uint32_t real, eff;
	uint32_t loginuid; /* the login it descends from (pam_loginuid); UINT32_MAX: none */
	bool alive;
};

static bool proc_number(int procfd, const char *path, uint32_t *ret)
{
	char *text = NULL;
	size_t len;
	uint64_t v;
	bool ok;

	if (read_at(procfd, path, 32, &text, &len, NULL) != 0)
		return false;
	ok = rp_parse_u64(text, len, UINT32_MAX, &v) == 0;
	free(text);
	if (ok)
		*ret = (uint32_t)v;
	return ok;
}

/* Tab-separated field k (0: the first after the name) of a status line. */
static bool status_field(const char *line, size_t ll, size_t k, uint32_t *ret)
{
	size_t s = 0, e;
	uint64_t v;

	for (size_t i = 0;; i++, s = e + 1) {
		for (e = s; e < ll && line[e] != '\t'; e++)
			;
		if (i == k + 1)
			break;
		if (e >= ll)
			return false;
	}
	if (rp_parse_u64(line + s, e - s, UINT32_MAX, &v) != 0)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/*
 * Real and effective uid, loginuid, and whether anything of the process
 * still runs: a zombie is dead, unless it is a thread group leader that
 * exited with its other threads still running (pthread_exit in main).
 */
static bool proc_info(int procfd, const char *pid, struct pinfo *ret)
{
	char path[64], *text = NULL;
	struct rp_cursor cur;
	const char *line;
	size_t len, ll;
	uint32_t threads = 1;
	bool uids = false, zombie = false;

	snprintf(path, sizeof(path), "%s/status", pid);
	if (read_at(procfd, path, 16384, &text, &len, NULL) != 0)
		return false;
	cur = (struct rp_cursor){text, len};
	while (rp_cursor_line(&cur, &line, &ll) == 1) {
		if (ll > 7 && memcmp(line, "State:\t", 7) == 0)
			zombie = line[7] == 'Z' || line[7] == 'X';
		else if (ll > 8 && memcmp(line, "Threads:", 8) == 0)
			status_field(line, ll, 0, &threads);
		else if (ll > 4 && memcmp(line, "Uid:", 4) == 0)
			uids = status_field(line, ll, 0, &ret->real) &&
			       status_field(line, ll, 1, &ret->eff);
	}
	free(text);
	ret->alive = !zombie || threads > 1;
	snprintf(path, sizeof(path), "%s/loginuid", pid);
	if (!proc_number(procfd, path, &ret->loginuid))
		ret->loginuid = UINT32_MAX;
	return uids;
}

static bool uid_listed(const struct conv *c, uint32_t uid, size_t *ret)
{
	for (size_t i = 0; i < c->nkill; i++)
		if (c->kill[i] == uid) {
			*ret = i;
			return true;
		}
	return false;
}

/*
 * On the machine itself (no root prefix, the real /proc), logind's slice
 * of the user first: cgroup.kill takes every process in it at once, so
 * a session that forks faster than /proc is read still ends. Best effort:
 * no slice (no logind, cgroup v1, no session) is nothing to do.
 */
static void cgroup_kill(uint32_t uid)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/user.slice/user-%u.slice/cgroup.kill", uid);
	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if (write(fd, "1", 1) != 1) {
		/* before Linux 5.14 there is no cgroup.kill: the /proc walk does it all */
	}
	close(fd);
}

/*
 * SIGKILL to every process whose real or effective uid is a locked or
 * removed account's, through a pidfd (its uid read again once the pidfd
 * pins it, so a reused pid is never hit), until none is left or
 * RP_CONV_KILL_WAIT_MS have passed.
 */
static int kill_sessions(struct conv *c)
{
	const char *proc = c->env->proc ? c->env->proc : "/proc";
	int64_t deadline = rp_mono_ms() + RP_CONV_KILL_WAIT_MS;
	size_t *count = NULL, *others = NULL, left = 0, nseen = 0, seencap = 0;
	pid_t *seen = NULL;
	pid_t self = getpid();
	int procfd;

	if (!c->env->kill_sessions || c->nkill == 0)
		return 0;
	if ((procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return io_fail(c, "opening", proc);
	if (!(count = calloc(c->nkill, sizeof(*count))) ||
	    !(others = calloc(c->nkill, sizeof(*others)))) {
		free(count);
		close(procfd);
		return RP_E_NOMEM;
	}
	if (!c->env->proc && c->root[0] == '\0')
		for (size_t k = 0; k < c->nkill; k++)
			cgroup_kill(c->kill[k]);
	for (unsigned rounds = 0;; rounds++) {
		struct dirent *e;
		DIR *dir;
		int dfd = dup(procfd);

		if (dfd < 0 || !(dir = fdopendir(dfd))) {
			if (dfd >= 0)
				close(dfd);
			break;
		}
		left = 0;
		while ((e = readdir(dir))) {
			struct pinfo pi, again;
			bool seen_before = false;
			uint64_t pid;
			size_t k;
			int pfd;

			if (rp_parse_u64(e->d_name, strlen(e->d_name), INT32_MAX, &pid) != 0 ||
			    pid <= 1 || (pid_t)pid == self || !proc_info(procfd, e->d_name, &pi) ||
			    !pi.alive)
				continue;
			if (!uid_listed(c, pi.real, &k) && !uid_listed(c, pi.eff, &k)) {
				/* root shells of its sudo: reported, not killed (their uid is not
				 * its) */
				if (rounds == 0 && pi.loginuid != UINT32_MAX &&
				    uid_listed(c, pi.loginuid, &k))
					others[k]++;
				continue;
			}
			left++;
#ifdef SYS_pidfd_open
			pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
			pfd = -1;
			errno = ENOSYS;
#endif
			if (pfd >= 0) {
				/* the pidfd pins the process: its uids read again are its own */
				if (proc_info(procfd, e->d_name, &again) && again.real == pi.real &&
				    again.eff == pi.eff)
					syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
				close(pfd);
			} else if (errno == ENOSYS) {
				kill((pid_t)pid, SIGKILL);
			}
			for (size_t j = 0; j < nseen; j++)
				seen_before = seen_before || seen[j] == (pid_t)pid;
			if (!seen_before) {
				pid_t *sp = grow(seen, &seencap, nseen, sizeof(*sp));
				if (sp) {
					seen = sp;
					seen[nseen++] = (pid_t)pid;
				}
				count[k]++;
			}
		}
		closedir(dir);
		if (left == 0 || rp_mono_ms() >= deadline)
			break;
		rp_sleep_ms(20);
	}
	close(procfd);
	for (size_t k = 0; k < c->nkill; k++) {
		const char *who = NULL;
		for (size_t i = 0; !who && i < c->nu; i++)
			if (c->u[i].how != H_CONFLICT && c->u[i].uid == c->kill[k])
				who = c->u[i].u->login;
		for (size_t i = 0; !who && i < c->ngone; i++)
			if (c->gone[i]->uid == c->kill[k])
				who = c->gone[i]->login;
		if (count[k])
			note(c, "sessions-ended", who ? who : "?",
			     "%zu processes of uid %u killed%s", count[k], c->kill[k],
			     left ? "; some still ran after 2 s" : "");
		if (others[k])
			note(c, "sessions-ended", who ? who : "?",
			     "%zu processes of other accounts started in its sessions (sudo, su: "
			     "loginuid %u) still run",
			     others[k], c->kill[k]);
	}
	free(count);
	free(others);
	free(seen);
	return 0;
}

/* ---- the state this run leaves ---- */

static int by_login_cmp(const void *a, const void *b)
{
	return strcmp(((const struct conv_state_user *)a)->login,
		      ((const struct conv_state_user *)b)->login);
}

static int by_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct conv_state_group *)a)->name,
		      ((const struct conv_state_group *)b)->name);
}

/*
 * What converge.state says after this run. pending: the state written
 * before anything else, which still lists what this run removes (so that
 * a crash leaves it to be removed again, never unmanaged and forgotten).
 */
static int state_build(const struct conv *c, bool pending, char **ret, size_t *ret_len)
{
	struct conv_state s = {.pending = pending};
	int r = RP_E_NOMEM;

	s.users = calloc(c->nu + c->ngone + 1, sizeof(*s.users));
	s.groups = calloc(c->ng + c->ngone_groups + 1, sizeof(*s.groups));
	if (!s.users || !s.groups)
		goto out;
	for (size_t i = 0; i < c->nu; i++) {
		const struct puser *pu = &c->u[i];
		struct conv_state_user *u = &s.users[s.nusers];
		if (pu->how == H_CONFLICT)
			continue;
		snprintf(u->login, sizeof(u->login), "%s", pu->u->login);
		u->uid = pu->uid;
		u->gid = pu->gid;
		u->lastchg = pu->lastchg;
		memcpy(u->passwd, pu->pw.hash, 32);
		memcpy(u->shadow, pu->sh.hash, 32);
		u->has_keys = pu->keys.has;
		memcpy(u->keys, pu->keys.hash, 32);
		u->has_sudo = pu->sudo.has;
		memcpy(u->sudo, pu->sudo.hash, 32);
		u->has_refused = pu->has_refused;
		memcpy(u->refused, pu->refused, 32);
		s.nusers++;
	}
	for (size_t i = 0; pending && i < c->ngone; i++)
		s.users[s.nusers++] = *c->gone[i];
	for (size_t i = 0; i < c->ng; i++) {
		const struct pgroup *pg = &c->g[i];
		struct conv_state_group *g = &s.groups[s.ngroups];
		if (pg->how == H_CONFLICT)
			continue;
		snprintf(g->name, sizeof(g->name), "%s", pg->name);
		g->gid = pg->gid;
		g->personal = pg->personal;
		memcpy(g->group, pg->gr.hash, 32);
		memcpy(g->gshadow, pg->gs.hash, 32);
		s.ngroups++;
	}
	for (size_t i = 0; pending && i < c->ngone_groups; i++)
		s.groups[s.ngroups++] = *c->gone_groups[i];
	qsort(s.users, s.nusers, sizeof(*s.users), by_login_cmp);
	qsort(s.groups, s.ngroups, sizeof(*s.groups), by_name_cmp);
	if ((*ret = conv_state_format(&s, ret_len)))
		r = 0;
out:
	conv_state_release(&s);
	return r;
}

static bool same_text(const char *a, size_t an, const char *b, size_t bn)
{
	return a && b && an == bn && memcmp(a, b, an) == 0;
}

/* The state written when it differs from what is there (*on_disk, replaced by text). */
static int state_write(struct conv *c, char **on_disk, size_t *on_disk_len, char *text, size_t len)
{
	char path[PATH_MAX];

	if (same_text(*on_disk, *on_disk_len, text, len)) {
		free(text);
		return 0;
	}
	if (path_join(path, sizeof(path), c->env->state, STATE_FILE) < 0 ||
	    rp_write_file_atomic(path, text, len, 0600) < 0) {
		free(text);
		return io_fail(c, "writing", path);
	}
	free(*on_disk);
	*on_disk = text;
	*on_disk_len = len;
	c->rep->writes++;
	return 0;
}

/* ---- locks ---- */

struct locks {
	int pwfd; /* <root>/etc/.pwd.lock, fcntl-locked as lckpwdf() does */
	bool held[NFILES];
};

/* lckpwdf(): a write lock on /etc/.pwd.lock, waited for up to RP_CONV_LOCK_WAIT_S. */
static int lock_pwd(struct conv *c, struct locks *lk)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int64_t deadline = rp_mono_ms() + RP_CONV_LOCK_WAIT_S * 1000;

	lk->pwfd = openat(c->etc, ".pwd.lock", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lk->pwfd < 0)
		return io_fail(c, "opening", ".pwd.lock");
	while (fcntl(lk->pwfd, F_SETLK, &fl) != 0) {
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return io_fail(c, "locking", ".pwd.lock");
		if (rp_mono_ms() >= deadline) {
			rp_diagf(c->d,
				 "%s/etc/.pwd.lock stayed locked for %d s: another program "
				 "(useradd, passwd, vipw...) is changing the accounts",
				 c->root, RP_CONV_LOCK_WAIT_S);
			return RP_E_EXISTS;
		}
		rp_sleep_ms(50);
	}
	return 0;
}

/*
 * <file>.lock as shadow-utils makes it: <file>.<pid> holding our pid,
 * linked to <file>.lock. A lock whose process is gone is stale: removed,
 * and linked again; a live one is waited for, RP_CONV_LOCKFILE_WAIT_S.
 */
static int lock_file(struct conv *c, const char *name)
{
	char tmp[64], lock[64], pidtext[24], *held = NULL;
	int64_t deadline = rp_mono_ms() + RP_CONV_LOCKFILE_WAIT_S * 1000;
	size_t len;
	int n, r;

	snprintf(tmp, sizeof(tmp), "%s.%ld", name, (long)getpid());
	snprintf(lock, sizeof(lock), "%s.lock", name);
	n = snprintf(pidtext, sizeof(pidtext), "%ld", (long)getpid());
	if (tmp_write(c->etc, tmp, pidtext, (size_t)n, 0600, 0, 0) < 0)
		return io_fail(c, "writing", tmp);
	for (;;) {
		struct stat st;
		uint64_t pid = 0;

		if (linkat(c->etc, tmp, c->etc, lock, 0) == 0) {
			/* as shadow-utils checks: both names on one inode, or the link lied (NFS)
			 */
			r = fstatat(c->etc, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink == 2
				    ? 0
				    : RP_E_IO;
			unlinkat(c->etc, tmp, 0);
			if (r < 0) {
				unlinkat(c->etc, lock, 0);
				rp_diagf(c->d, "%s/etc/%s: the lock did not take", c->root, lock);
			}
			return r;
		}
		if (errno != EEXIST) {
			r = io_fail(c, "linking", lock);
			break;
		}
		r = read_at(c->etc, lock, 32, &held, &len, NULL);
		if (r == 0 && len > 0 && held[len - 1] == '\n')
			len--;
		if (r == 0 && rp_parse_u64(held, len, INT32_MAX, &pid) == 0 && pid > 0 &&
		    ((pid_t)pid == getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))) {
			/* its process is gone (or it is ours, left by a crash): stale */
			free(held);
			held = NULL;
			unlinkat(c->etc, lock, 0);
			continue;
		}
		free(held);
		held = NULL;
		if (r == RP_E_NOTFOUND)
			continue; /* released meanwhile */
		if (rp_mono_ms() >= deadline) {
			if (pid > 0)
				rp_diagf(c->d,
					 "%s/etc/%s is held by process %llu, which is running: "
					 "another program is changing the accounts",
					 c->root, lock, (unsigned long long)pid);
			else
				rp_diagf(c->d,
					 "%s/etc/%s holds no process id; remove it if no program "
					 "is changing the accounts",
					 c->root, lock);
			r = RP_E_EXISTS;
			break;
		}
		rp_sleep_ms(100);
	}
	unlinkat(c->etc, tmp, 0);
	return r;
}

static void locks_release(struct conv *c, struct locks *lk)
{
	char lock[64];

	for (int k = NFILES - 1; k >= 0; k--) {
		if (!lk->held[k])
			continue;
		snprintf(lock, sizeof(lock), "%s.lock", kinds[k].name);
		unlinkat(c->etc, lock, 0);
		lk->held[k] = false;
	}
	if (lk->pwfd >= 0)
		close(lk->pwfd); /* drops the fcntl lock */
	lk->pwfd = -1;
}

/* lckpwdf()'s lock first, then each file's, as shadow-utils' commonio takes them. */
static int locks_take(struct conv *c, struct locks *lk)
{
	int r;

	*lk = (struct locks){.pwfd = -1};
	if ((r = dir_at(c->root, "etc", &c->etc, c->d)) < 0)
		return r;
	if (c->etc < 0) {
		rp_diagf(c->d, "%s/etc does not exist", c->root);
		return RP_E_NOTFOUND;
	}
	if ((r = lock_pwd(c, lk)) < 0)
		goto fail;
	for (int k = 0; k < NFILES; k++) {
		if ((r = lock_file(c, kinds[k].name)) < 0)
			goto fail;
		lk->held[k] = true;
	}
	return 0;
fail:
	locks_release(c, lk);
	return r;
}

/* ---- one run ---- */

static void conv_release(struct conv *c)
{
	for (size_t i = 0; c->u && i < c->nu; i++) {
		free(c->u[i].pw.text);
		free(c->u[i].sh.text);
		free(c->u[i].keys.want);
		free(c->u[i].sudo.want);
	}
	for (size_t i = 0; c->g && i < c->ng; i++) {
		free(c->g[i].gr.text);
		free(c->g[i].gs.text);
	}
	for (size_t i = 0; i < c->nuk; i++)
		free(c->uk[i].text);
	for (int k = 0; k < NFILES; k++)
		afile_release(&c->f[k]);
	if (c->etc >= 0)
		close(c->etc);
	if (c->keysdir >= 0)
		close(c->keysdir);
	if (c->sudoers >= 0)
		close(c->sudoers);
	if (c->home >= 0)
		close(c->home);
	free(c->u);
	free(c->g);
	free(c->gone);
	free(c->gone_groups);
	free(c->names);
	free(c->uk);
	free(c->kill);
	free(c->old_text);
	conv_state_release(&c->old);
	map_release(&c->old_users);
	map_release(&c->old_groups);
	map_release(&c->by_login);
	map_release(&c->by_group);
	map_release(&c->by_gid);
	map_release(&c->gone_map);
	memset(c, 0, sizeof(*c));
}

static int conv_init(struct conv *c, const struct conv_env *env, const struct conv_plan *p,
		     struct conv_report *rep, struct rp_diag *d)
{
	const char *root = env->root ? env->root : "";
	size_t n = strlen(root);

	memset(c, 0, sizeof(*c));
	c->env = env;
	c->p = p;
	c->rep = rep;
	c->d = d;
	c->etc = c->keysdir = c->sudoers = c->home = -1;
	while (n > 0 && root[n - 1] == '/')
		n--;
	if (n >= sizeof(c->root) - 64) {
		rp_diagf(d, "root prefix too long");
		return RP_E_TOOBIG;
	}
	memcpy(c->root, root, n);
	c->root[n] = '\0';
	c->today = (uint32_t)(rp_now() / 86400);
	return 0;
}

/* Reads everything and decides; writes nothing. */
static int decide(struct conv *c)
{
	int r;

	if ((r = state_load(c)) < 0 || (r = files_load(c)) < 0 || (r = resolve(c)) < 0 ||
	    (r = plan_accounts(c)) < 0 || (r = plan_files(c)) < 0)
		return r;
	return c->err;
}

/* Writes what decide() found, in the order of the file's comment. */
static int execute(struct conv *c)
{
	char *text;
	size_t len;
	int r;

	if ((r = state_build(c, true, &text, &len)) < 0 ||
	    (r = state_write(c, &c->old_text, &c->old_len, text, len)) < 0)
		return r;
	if ((r = remove_files(c)) < 0 || (r = write_accounts(c)) < 0 ||
	    (r = kill_sessions(c)) < 0 || (r = make_homes(c)) < 0 || (r = write_keys(c)) < 0 ||
	    (r = write_sudo(c)) < 0 || (r = move_foreign(c)) < 0 || (r = write_userkeys(c)) < 0)
		return r;
	if ((r = state_build(c, false, &text, &len)) < 0 ||
	    (r = state_write(c, &c->old_text, &c->old_len, text, len)) < 0)
		return r;
	return c->err;
}

static int check_args(const struct conv_env *env, const struct conv_plan *p,
		      struct conv_report *rep, struct rp_diag *d)
{
	if (!env || !env->state || !p || !rep) {
		rp_diagf(d, "conv: missing environment, plan or report");
		return RP_E_INVAL;
	}
	memset(rep, 0, sizeof(*rep));
	return plan_check(p, d);
}

int conv_apply(const struct conv_env *env, const struct conv_plan *p, struct conv_report *rep,
	       struct rp_diag *d)
{
	struct conv c;
	struct locks lk = {.pwfd = -1};
	char *text;
	size_t len;
	int r;

	if ((r = check_args(env, p, rep, d)) < 0)
		return r;
	/* First without locks: an unchanged plan writes nothing, not even a lock file. */
	if ((r = conv_init(&c, env, p, rep, d)) < 0)
		return r;
	if ((r = decide(&c)) == 0 && !c.dirty) {
		if ((r = state_build(&c, false, &text, &len)) == 0) {
			c.dirty = !same_text(c.old_text, c.old_len, text, len);
			free(text);
		}
	}
	if (r < 0 || !c.dirty) {
		if (r == 0)
			r = kill_sessions(&c);
		conv_release(&c);
		return r;
	}
	conv_release(&c);
	conv_report_release(rep);
	/* Then under the locks, everything read again. */
	if ((r = conv_init(&c, env, p, rep, d)) < 0)
		return r;
	c.apply = true;
	if ((r = locks_take(&c, &lk)) == 0) {
		if ((r = decide(&c)) == 0)
			r = execute(&c);
		locks_release(&c, &lk);
	}
	conv_release(&c);
	return r;
}

int conv_drift(const struct conv_env *env, const struct conv_plan *p, struct conv_report *rep,
	       struct rp_diag *d)
{
	struct conv c;
	int r;

	if ((r = check_args(env, p, rep, d)) < 0 || (r = conv_init(&c, env, p, rep, d)) < 0)
		return r;
	c.drift_only = true;
	r = decide(&c);
	conv_release(&c);
	return r;
}
