/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Account convergence (agent/converge.c) on a machine of its own: each
 * test makes a root prefix under /tmp with etc/passwd, shadow, group,
 * gshadow, sudoers.d, skel and home, and converges that, never this
 * machine's /etc. Sudo rules go through the real visudo. One test kills a
 * child it runs under uid 61234 (checked free on this host first).
 *
 * What is proved, each as its own test: a plan is written once and an
 * unchanged plan writes nothing (same inodes, same times); suspension
 * locks, takes keys and sudo away; removal keeps the home; a local
 * account in the way is a conflict unless taken over; lines Rampart does
 * not manage stay byte for byte; a malformed file is refused whole; a
 * rule visudo refuses installs nothing; every drift code is found, left
 * alone, and repaired on request; a stale lock is cleared, a live one
 * waited for; a thousand users converge.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "converge.h"
#include "helpers.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucMhRJz6x1XaV1w"
#define KEY_B                                                                                \
	"ecdsa-sha2-nistp256 "                                                               \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKpVmrIbAGZTreEDDjERPTMPHjiRUr" \
	"Y86p4L+1PUOMZ66uY+h3Wwu1KQtiyEiSmnqNJQxkxF4qtZchFp3Kd+no0="
#define KEY_C                                                                                \
	"sk-ssh-ed25519@openssh.com "                                                        \
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICZNAneGjcl7eglME7Gg6axWno2LG8AEI1GylX" \
	"GKNJMgAAAABHNzaDo="

/* The machine before Rampart: system accounts, a local user, odd but valid lines. */
static const char passwd0[] = "root:x:0:0:root:/root:/bin/bash\n"
			      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			      "# a comment the admin wrote: keep me\n"
			      "\n"
			      "carol:x:1500:1500:Carol Local,,,:/home/carol:/bin/bash\n"
			      "odd:x:1600:1600::/nonexistent:\n"
			      "+nisuser::::::\n"
			      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";
static const char shadow0[] = "root:*:19000:0:99999:7:::\n"
			      "daemon:*:19000:0:99999:7:::\n"
			      "carol:$y$j9T$salt$hash:19500:0:99999:7:::\n"
			      "odd:!:19500::::::\n"
			      "nobody:*:19000:0:99999:7:::\n";
static const char group0[] = "root:x:0:\n"
			     "shadow:x:42:\n"
			     "sudo:x:27:carol\n"
			     "users:x:100:\n"
			     "carol:x:1500:\n"
			     "odd:x:1600:\n"
			     "ops:x:4000:carol\n"
			     "nogroup:x:65534:\n";
static const char gshadow0[] = "root:*::\n"
			       "shadow:*::\n"
			       "sudo:*::carol\n"
			       "users:*::\n"
			       "carol:!::\n"
			       "odd:!::\n"
			       "ops:!::carol\n"
			       "nogroup:*::\n";

static char top[64], root[96], statedir[96];
static const char *visudo_path = "/usr/sbin/visudo";

static const char *at(const char *rel)
{
	static char p[4][PATH_MAX];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", root, rel);
	return p[k];
}

static void put(const char *rel, const char *text, mode_t mode)
{
	FILE *f = fopen(at(rel), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(at(rel), mode), 0);
}

static char *get(const char *rel)
{
	char *buf = NULL;
	size_t len;
	if (rp_read_file(at(rel), 64u << 20, &buf, &len) != 0)
		return NULL;
	return buf;
}

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(at(rel), &st) == 0;
}

static void mkdirs(const char *rel, mode_t mode)
{
	assert_int_equal(mkdir(at(rel), mode), 0);
}

static int setup(void **state)
{
	char cmd[512];
	(void)state;

	snprintf(top, sizeof(top), "/tmp/rampart-converge.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(statedir, sizeof(statedir), "%s/state", top);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/etc/sudoers.d %s/etc/skel/.config %s/home %s", root,
		 root, root, statedir);
	if (system(cmd) != 0 || chmod(statedir, 0700) != 0)
		return -1;
	put("etc/passwd", passwd0, 0644);
	put("etc/shadow", shadow0, 0640);
	put("etc/group", group0, 0644);
	put("etc/gshadow", gshadow0, 0640);
	if (chown(at("etc/shadow"), 0, 42) != 0 || chown(at("etc/gshadow"), 0, 42) != 0)
		return -1;
	put("etc/sudoers.d/README", "# sudo ignores nothing but this README\n", 0440);
	put("etc/skel/.bashrc", "# skel bashrc\n", 0644);
	put("etc/skel/.config/settings", "x=1\n", 0600);
	if (symlink("/etc/shadow", at("etc/skel/link-to-shadow")) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- plans ---- */

struct tplan {
	struct conv_plan p;
	struct conv_user *u;
	struct conv_group *g;
};

static void tp_init(struct tplan *t, size_t nu, size_t ng)
{
	memset(t, 0, sizeof(*t));
	t->u = calloc(nu + 1, sizeof(*t->u));
	t->g = calloc(ng + 1, sizeof(*t->g));
	assert_non_null(t->u);
	assert_non_null(t->g);
	t->p.users = t->u;
	t->p.groups = t->g;
}

static struct conv_user *tp_user(struct tplan *t, const char *login, uint32_t uid, uint32_t gid)
{
	struct conv_user *u = &t->u[t->p.nusers++];
	memset(u, 0, sizeof(*u));
	snprintf(u->login, sizeof(u->login), "%s", login);
	u->uid = uid;
	u->gid = gid;
	snprintf(u->shell, sizeof(u->shell), "/bin/bash");
	u->access = true;
	return u;
}

static void tp_keys(struct conv_user *u, const char *k1, const char *k2)
{
	u->keys = calloc(2, sizeof(*u->keys));
	assert_non_null(u->keys);
	u->keys[0] = strdup(k1);
	u->nkeys = 1;
	if (k2) {
		u->keys[1] = strdup(k2);
		u->nkeys = 2;
	}
}

static void tp_commands(struct conv_user *u, const char *c1, const char *c2)
{
	u->sudo = CONV_SUDO_COMMANDS;
	u->commands = calloc(2, sizeof(*u->commands));
	assert_non_null(u->commands);
	u->commands[0] = strdup(c1);
	u->ncommands = 1;
	if (c2) {
		u->commands[1] = strdup(c2);
		u->ncommands = 2;
	}
}

static struct conv_group *tp_group(struct tplan *t, const char *name, uint32_t gid,
				   const char *const *members, size_t n)
{
	struct conv_group *g = &t->g[t->p.ngroups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->gid = gid;
	g->members = calloc(n + 1, sizeof(*g->members));
	assert_non_null(g->members);
	for (size_t i = 0; i < n; i++)
		snprintf(g->members[i], sizeof(g->members[i]), "%s", members[i]);
	g->nmembers = n;
	return g;
}

static void tp_free(struct tplan *t)
{
	for (size_t i = 0; i < t->p.nusers; i++) {
		for (size_t k = 0; k < t->u[i].nkeys; k++)
			free(t->u[i].keys[k]);
		free(t->u[i].keys);
		for (size_t k = 0; k < t->u[i].ncommands; k++)
			free(t->u[i].commands[k]);
		free(t->u[i].commands);
	}
	for (size_t i = 0; i < t->p.ngroups; i++)
		free(t->g[i].members);
	free(t->u);
	free(t->g);
	memset(t, 0, sizeof(*t));
}

/* alice (in devs, sudo ALL, two keys), bob (personal group, two commands), dave (personal). */
static void three_users(struct tplan *t)
{
	static const char *const devs[] = {"alice", "bob"};
	struct conv_user *u;

	tp_init(t, 8, 4);
	u = tp_user(t, "alice", 2001, 3000);
	snprintf(u->gecos, sizeof(u->gecos), "Alice Liddell");
	tp_keys(u, KEY_A " alice@laptop", KEY_B);
	u->sudo = CONV_SUDO_ALL;
	u = tp_user(t, "bob", 2002, 2002);
	tp_keys(u, KEY_C " bob-token", NULL);
	tp_commands(u, "/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u nginx *");
	u = tp_user(t, "dave", 2003, 2003);
	snprintf(u->shell, sizeof(u->shell), "/bin/sh");
	tp_group(t, "devs", 3000, devs, 2);
}

/* ---- running ---- */

static struct conv_env env_of(void)
{
	return (struct conv_env){.root = root, .state = statedir, .visudo = visudo_path};
}

static void apply_ok(const struct conv_plan *p, struct conv_report *rep)
{
	struct conv_env env = env_of();
	struct rp_diag d = {""};
	int r = conv_apply(&env, p, rep, &d);
	if (r != 0)
		fail_msg("conv_apply: %s: %s", rp_strerror(r), d.msg);
}

static void drift_ok(const struct conv_plan *p, struct conv_report *rep)
{
	struct conv_env env = env_of();
	struct rp_diag d = {""};
	int r = conv_drift(&env, p, rep, &d);
	if (r != 0)
		fail_msg("conv_drift: %s: %s", rp_strerror(r), d.msg);
}

static const struct conv_item *item(const struct conv_report *rep, const char *code,
				    const char *subject)
{
	for (size_t i = 0; i < rep->n; i++)
		if (strcmp(rep->items[i].code, code) == 0 &&
		    (!subject || strcmp(rep->items[i].subject, subject) == 0))
			return &rep->items[i];
	return NULL;
}

static void must_have(const struct conv_report *rep, const char *code, const char *subject)
{
	if (item(rep, code, subject))
		return;
	for (size_t i = 0; i < rep->n; i++)
		print_message("# item %s %s: %s\n", rep->items[i].code, rep->items[i].subject,
			      rep->items[i].detail);
	fail_msg("no item %s for %s", code, subject ? subject : "(any)");
}

static size_t count_code(const struct conv_report *rep, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < rep->n; i++)
		n += strncmp(rep->items[i].code, prefix, strlen(prefix)) == 0;
	return n;
}

/* The line of name in a file under the root, without its '\n' (static), or NULL. */
static const char *line_of(const char *rel, const char *name)
{
	static char out[4096];
	char *t = get(rel), *p;
	size_t n = strlen(name);

	if (!t)
		return NULL;
	for (p = t; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			size_t l = strcspn(p, "\n");
			snprintf(out, sizeof(out), "%.*s", (int)l, p);
			free(t);
			return out;
		}
	}
	free(t);
	return NULL;
}

static bool has_text(const char *rel, const char *needle)
{
	char *t = get(rel);
	bool r = t && strstr(t, needle);
	free(t);
	return r;
}

struct snap {
	struct stat st[12];
	bool there[12];
};

static const char *const watched[] = {
	"etc/passwd",
	"etc/shadow",
	"etc/group",
	"etc/gshadow",
	"etc/passwd-",
	"etc/ssh/rampart/authorized_keys/alice",
	"etc/sudoers.d/rampart-alice",
	"etc/sudoers.d/rampart-bob",
	"etc/sudoers.d",
	"etc",
	"home/alice",
};

static void snap_take(struct snap *s)
{
	char path[PATH_MAX];
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < N_ELEMS(watched); i++)
		s->there[i] = lstat(at(watched[i]), &s->st[i]) == 0;
	snprintf(path, sizeof(path), "%s/converge.state", statedir);
	s->there[11] = lstat(path, &s->st[11]) == 0;
}

/* Nothing replaced, nothing touched: inode, size and both times equal. */
static void snap_same(const struct snap *a, const struct snap *b)
{
	for (size_t i = 0; i < 12; i++) {
		const char *what = i < N_ELEMS(watched) ? watched[i] : "converge.state";
		if (a->there[i] != b->there[i])
			fail_msg("%s appeared or went", what);
		if (!a->there[i])
			continue;
		if (a->st[i].st_ino != b->st[i].st_ino || a->st[i].st_size != b->st[i].st_size ||
		    a->st[i].st_mtim.tv_sec != b->st[i].st_mtim.tv_sec ||
		    a->st[i].st_mtim.tv_nsec != b->st[i].st_mtim.tv_nsec ||
		    a->st[i].st_ctim.tv_nsec != b->st[i].st_ctim.tv_nsec)
			fail_msg("%s was written", what);
	}
}

static void assert_mode(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	assert_int_equal(lstat(at(rel), &st), 0);
	if ((st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid)
		fail_msg("%s is %04o %u:%u, not %04o %u:%u", rel, st.st_mode & 07777,
			 (unsigned)st.st_uid, (unsigned)st.st_gid, mode, (unsigned)uid,
			 (unsigned)gid);
}

static uint32_t today(void)
{
	return (uint32_t)(time(NULL) / 86400);
}

/* three_users, applied once. */
static void converged(struct tplan *t)
{
	struct conv_report rep;

	three_users(t);
	apply_ok(&t->p, &rep);
	conv_report_release(&rep);
}

/* ---- the tests ---- */

static void creates_users_and_group_then_writes_nothing(void **s)
{
	struct tplan t;
	struct conv_report rep;
	struct snap a, b;
	char want[256], *old;
	mode_t old_mask;
	(void)s;

	three_users(&t);
	old_mask = umask(077); /* the agent's own: modes are set, not left to it */
	apply_ok(&t.p, &rep);
	umask(old_mask);
	must_have(&rep, "created", "alice");
	must_have(&rep, "created", "bob");
	must_have(&rep, "created", "dave");
	must_have(&rep, "group", "devs");
	must_have(&rep, "group", "bob");
	assert_true(rep.writes > 0);
	conv_report_release(&rep);

	assert_string_equal(line_of("etc/passwd", "alice"),
			    "alice:x:2001:3000:Alice Liddell:/home/alice:/bin/bash");
	assert_string_equal(line_of("etc/passwd", "dave"), "dave:x:2003:2003::/home/dave:/bin/sh");
	snprintf(want, sizeof(want), "alice:*:%u:0:99999:7:::", today());
	assert_string_equal(line_of("etc/shadow", "alice"), want);
	assert_string_equal(line_of("etc/group", "devs"), "devs:x:3000:alice,bob");
	assert_string_equal(line_of("etc/group", "bob"), "bob:x:2002:");
	assert_null(line_of("etc/group", "alice")); /* her gid is devs' */
	assert_string_equal(line_of("etc/gshadow", "devs"), "devs:!::alice,bob");
	/* modes and owners of the originals, the old text kept as <file>- */
	assert_mode("etc/passwd", 0644, 0, 0);
	assert_mode("etc/shadow", 0640, 0, 42);
	assert_mode("etc/gshadow", 0640, 0, 42);
	old = get("etc/passwd-");
	assert_non_null(old);
	assert_string_equal(old, passwd0);
	free(old);
	assert_false(exists("etc/passwd+"));
	assert_false(exists("etc/passwd.lock"));
	assert_false(exists("etc/shadow.lock"));
	/* keys and sudo */
	old = get("etc/ssh/rampart/authorized_keys/alice");
	assert_string_equal(old, KEY_A " alice@laptop\n" KEY_B "\n");
	free(old);
	assert_mode("etc/ssh/rampart/authorized_keys/alice", 0644, 0, 0);
	assert_mode("etc/ssh/rampart/authorized_keys", 0755, 0, 0);
	assert_mode("etc/ssh", 0755, 0, 0);
	assert_mode("etc/sudoers.d", 0755, 0, 0); /* as it was: not open to others, so kept */
	assert_false(exists("etc/ssh/rampart/authorized_keys/dave"));
	old = get("etc/sudoers.d/rampart-alice");
	assert_string_equal(old, "alice ALL=(ALL:ALL) NOPASSWD: ALL\n");
	free(old);
	old = get("etc/sudoers.d/rampart-bob");
	assert_string_equal(old, "bob ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx, "
				 "/usr/bin/journalctl -u nginx *\n");
	free(old);
	assert_mode("etc/sudoers.d/rampart-alice", 0440, 0, 0);
	assert_false(exists("etc/sudoers.d/rampart-dave"));
	/* homes from skel, the user's, links in skel not copied */
	assert_mode("home/alice", 0700, 2001, 3000);
	assert_mode("home/alice/.bashrc", 0644, 2001, 3000);
	assert_mode("home/bob/.config/settings", 0600, 2002, 2002);
	assert_false(exists("home/alice/link-to-shadow"));

	snap_take(&a);
	apply_ok(&t.p, &rep);
	assert_int_equal(rep.writes, 0);
	assert_int_equal(count_code(&rep, "created") + count_code(&rep, "updated") +
				 count_code(&rep, "drift"),
			 0);
	conv_report_release(&rep);
	snap_take(&b);
	snap_same(&a, &b); /* etc's own times too: not even a lock file was made */
	tp_free(&t);
}

static void suspension_locks_and_takes_keys_and_sudo(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char want[256];
	(void)s;

	converged(&t);
	t.u[0].access = false; /* alice */
	apply_ok(&t.p, &rep);
	must_have(&rep, "locked", "alice");
	must_have(&rep, "keys", "alice");
	must_have(&rep, "sudo", "alice");
	conv_report_release(&rep);
	snprintf(want, sizeof(want), "alice:!*:%u:0:99999:7::1:", today());
	assert_string_equal(line_of("etc/shadow", "alice"), want);
	assert_false(exists("etc/ssh/rampart/authorized_keys/alice"));
	assert_false(exists("etc/sudoers.d/rampart-alice"));
	assert_true(exists("etc/sudoers.d/rampart-bob"));
	/* still an account, still in its group */
	assert_non_null(line_of("etc/passwd", "alice"));
	assert_string_equal(line_of("etc/group", "devs"), "devs:x:3000:alice,bob");

	t.u[0].access = true;
	apply_ok(&t.p, &rep);
	must_have(&rep, "unlocked", "alice");
	conv_report_release(&rep);
	snprintf(want, sizeof(want), "alice:*:%u:0:99999:7:::", today());
	assert_string_equal(line_of("etc/shadow", "alice"), want);
	assert_true(exists("etc/ssh/rampart/authorized_keys/alice"));
	assert_true(exists("etc/sudoers.d/rampart-alice"));
	tp_free(&t);
}

static void removal_keeps_home(void **s)
{
	struct tplan t;
	struct conv_report rep;
	(void)s;

	converged(&t);
	put("home/bob/notes.txt", "bob's work\n", 0600);
	t.p.nusers = 1; /* bob and dave leave; devs keeps alice only */
	t.g[0].nmembers = 1;
	apply_ok(&t.p, &rep);
	must_have(&rep, "removed", "bob");
	must_have(&rep, "removed", "dave");
	must_have(&rep, "home-kept", "bob");
	conv_report_release(&rep);
	t.p.nusers = 3;
	assert_null(line_of("etc/passwd", "bob"));
	assert_null(line_of("etc/shadow", "bob"));
	assert_null(line_of("etc/group", "bob")); /* the personal group went with him */
	assert_null(line_of("etc/gshadow", "dave"));
	assert_string_equal(line_of("etc/group", "devs"), "devs:x:3000:alice");
	assert_false(exists("etc/ssh/rampart/authorized_keys/bob"));
	assert_false(exists("etc/sudoers.d/rampart-bob"));
	assert_true(has_text("home/bob/notes.txt", "bob's work"));
	assert_non_null(line_of("etc/passwd", "carol"));

	/* Attack: a managed account made uid 0 by hand, then removed: locked, not deleted */
	{
		char *pw = get("etc/passwd"), *p = strstr(pw, "alice:x:2001:3000");
		assert_non_null(p);
		memmove(p + 11, p + 17, strlen(p + 17) + 1); /* alice:x:0:0:... */
		memcpy(p + 6, "x:0:0", 5);
		put("etc/passwd", pw, 0644);
		free(pw);
	}
	t.p.nusers = 0;
	t.p.ngroups = 0;
	apply_ok(&t.p, &rep);
	must_have(&rep, "conflict", "alice");
	assert_null(item(&rep, "removed", "alice"));
	conv_report_release(&rep);
	t.p.nusers = 3;
	t.p.ngroups = 1;
	assert_non_null(strstr(line_of("etc/passwd", "alice"), "alice:x:0:0:"));
	assert_int_equal(strncmp(line_of("etc/shadow", "alice"), "alice:!*:", 9), 0);
	tp_free(&t);
}

/* A local account is never touched: same login, same uid, same group name or gid. */
static void local_accounts_conflict(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char *pw;
	(void)s;

	tp_init(&t, 4, 2);
	tp_user(&t, "carol", 2010, 2010); /* carol is local, uid 1500 */
	tp_user(&t, "erin", 1500, 2011);  /* carol's uid */
	tp_user(&t, "odd", 1600, 1600)->takeover = false;
	tp_group(&t, "ops", 4001, NULL, 0); /* a local group of that name */
	apply_ok(&t.p, &rep);
	must_have(&rep, "conflict", "carol");
	must_have(&rep, "conflict", "erin");
	must_have(&rep, "conflict", "odd");
	must_have(&rep, "conflict", "ops");
	assert_null(item(&rep, "created", NULL));
	conv_report_release(&rep);
	pw = get("etc/passwd");
	assert_string_equal(pw, passwd0);
	free(pw);
	assert_true(has_text("etc/shadow", "carol:$y$j9T$salt$hash:19500:0:99999:7:::\n"));
	assert_true(has_text("etc/group", "ops:x:4000:carol\n"));
	assert_false(exists("home/erin"));
	tp_free(&t);
}

static void takeover_of_the_same_uid(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char want[128];
	struct conv_user *u;
	(void)s;

	tp_init(&t, 2, 1);
	u = tp_user(&t, "carol", 1500, 1500);
	u->takeover = true;
	snprintf(u->gecos, sizeof(u->gecos), "Carol Managed");
	tp_keys(u, KEY_A " carol", NULL);
	apply_ok(&t.p, &rep);
	must_have(&rep, "taken-over", "carol");
	assert_null(item(&rep, "conflict", NULL));
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/passwd", "carol"),
			    "carol:x:1500:1500:Carol Managed:/home/carol:/bin/bash");
	/* its password day is kept; its password is not: key-only from now */
	snprintf(want, sizeof(want), "carol:*:19500:0:99999:7:::");
	assert_string_equal(line_of("etc/shadow", "carol"), want);
	assert_string_equal(line_of("etc/group", "carol"), "carol:x:1500:");
	assert_true(exists("etc/ssh/rampart/authorized_keys/carol"));
	/* carol is in two local groups: drift, reported, not undone without a repair */
	assert_string_equal(line_of("etc/group", "sudo"), "sudo:x:27:carol");
	apply_ok(&t.p, &rep);
	assert_int_equal(rep.writes, 0);
	must_have(&rep, "drift-account", "carol");
	conv_report_release(&rep);

	/* another uid: takeover or not, a conflict */
	t.u[0].uid = 1501;
	snprintf(t.u[0].login, sizeof(t.u[0].login), "odd");
	t.u[0].gid = 1601;
	apply_ok(&t.p, &rep);
	must_have(&rep, "conflict", "odd");
	must_have(&rep, "removed", "carol"); /* carol left the plan: removed, home kept */
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/passwd", "odd"), "odd:x:1600:1600::/nonexistent:");
	/* a removed account leaves no membership behind in local groups */
	assert_string_equal(line_of("etc/group", "sudo"), "sudo:x:27:");
	assert_string_equal(line_of("etc/gshadow", "ops"), "ops:!::");
	tp_free(&t);
}

/* A plan that moves ids: groups made and dropped, a uid taken by a local account kept. */
static void plan_changes_ids(void **s)
{
	struct tplan t;
	struct conv_report rep;
	(void)s;

	converged(&t);
	t.u[0].gid = 2001; /* alice: from devs to a group of her own */
	t.u[1].gid = 3000; /* bob: from his own to devs */
	t.u[2].uid = 2100; /* dave: a free uid */
	apply_ok(&t.p, &rep);
	must_have(&rep, "updated", "alice");
	must_have(&rep, "group", "alice");
	must_have(&rep, "group", "bob"); /* removed */
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/group", "alice"), "alice:x:2001:");
	assert_null(line_of("etc/group", "bob"));
	assert_null(line_of("etc/gshadow", "bob"));
	assert_string_equal(line_of("etc/passwd", "bob"), "bob:x:2002:3000::/home/bob:/bin/bash");
	assert_string_equal(line_of("etc/passwd", "dave"), "dave:x:2100:2003::/home/dave:/bin/sh");

	t.u[2].uid = 1500; /* carol's, a local account's: dave keeps 2100 */
	apply_ok(&t.p, &rep);
	must_have(&rep, "conflict", "dave");
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/passwd", "dave"), "dave:x:2100:2003::/home/dave:/bin/sh");
	apply_ok(&t.p, &rep); /* and stays so, quietly but for the conflict */
	assert_int_equal(rep.writes, 0);
	conv_report_release(&rep);
	tp_free(&t);
}

/* Every line Rampart does not manage survives byte for byte and in order. */
static void unmanaged_lines_kept_byte_for_byte(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char *pw, *gr;
	(void)s;

	converged(&t);
	pw = get("etc/passwd");
	/* the original text, its unterminated last line now ended, then the new lines */
	assert_memory_equal(pw, passwd0, strlen(passwd0));
	assert_int_equal(pw[strlen(passwd0)], '\n');
	assert_string_equal(pw + strlen(passwd0) + 1,
			    "alice:x:2001:3000:Alice Liddell:/home/alice:/bin/bash\n"
			    "bob:x:2002:2002::/home/bob:/bin/bash\n"
			    "dave:x:2003:2003::/home/dave:/bin/sh\n");
	free(pw);
	gr = get("etc/group");
	assert_memory_equal(gr, group0, strlen(group0));
	free(gr);
	gr = get("etc/gshadow");
	assert_memory_equal(gr, gshadow0, strlen(gshadow0));
	free(gr);

	/* removing them gives the original text back, but for the newline it gained */
	t.p.nusers = 0;
	t.p.ngroups = 0;
	apply_ok(&t.p, &rep);
	conv_report_release(&rep);
	t.p.nusers = 3;
	t.p.ngroups = 1;
	pw = get("etc/passwd");
	assert_int_equal(strlen(pw), strlen(passwd0) + 1);
	assert_memory_equal(pw, passwd0, strlen(passwd0));
	free(pw);
	gr = get("etc/group");
	assert_string_equal(gr, group0);
	free(gr);
	tp_free(&t);
}

/* Attack: a line the parser cannot read would be guessed at; the whole run is refused. */
static void malformed_file_refused_whole(void **s)
{
	static const char bad[] = "root:x:0:0:root:/root:/bin/bash\n"
				  "mallory:x:10o1:1001::/home/mallory:/bin/sh\n";
	static const char dup[] = "root:x:0:0:root:/root:/bin/bash\n"
				  "alice:x:2001:3000::/home/alice:/bin/bash\n"
				  "alice:x:0:0::/root:/bin/bash\n";
	struct conv_env env = env_of();
	struct tplan t;
	struct conv_report rep;
	struct rp_diag d = {""};
	struct snap a, b;
	char path[PATH_MAX];
	(void)s;

	three_users(&t);
	put("etc/passwd", bad, 0644);
	snap_take(&a);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "passwd line 2");
	assert_diag_has(&d, "10o1");
	snap_take(&b);
	snap_same(&a, &b);
	snprintf(path, sizeof(path), "%s/converge.state", statedir);
	assert_int_equal(access(path, F_OK), -1);
	assert_false(exists("etc/passwd.lock"));
	conv_report_release(&rep);

	put("etc/passwd", dup, 0644);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "passwd line 3 repeats the name of line 2");
	conv_report_release(&rep);
	assert_int_equal(conv_drift(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	conv_report_release(&rep);
	tp_free(&t);
}

/* Attack: a plan field that would add a line, an option or a list entry is refused. */
static void plan_fields_checked(void **s)
{
	struct conv_env env = env_of();
	struct tplan t;
	struct conv_report rep;
	struct rp_diag d = {""};
	struct snap a, b;
	(void)s;

	snap_take(&a);
	tp_init(&t, 2, 1);
	tp_user(&t, "alice", 2001, 2001);
	snprintf(t.u[0].gecos, sizeof(t.u[0].gecos), "Alice:0:0");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].gecos, sizeof(t.u[0].gecos), "Alice\nroot2::0:0::/:/bin/sh");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].gecos, sizeof(t.u[0].gecos), "Alice \xe2\x80\xae"); /* RLO */
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].gecos, sizeof(t.u[0].gecos),
		 "Al\xc3\xad"
		 "ce Liddell");
	snprintf(t.u[0].shell, sizeof(t.u[0].shell), "bin/sh");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].shell, sizeof(t.u[0].shell), "/bin/sh:x");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].shell, sizeof(t.u[0].shell), "/bin/sh");
	snprintf(t.u[0].login, sizeof(t.u[0].login), "Alice");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.u[0].login, sizeof(t.u[0].login), "alice");
	t.u[0].uid = 999;
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	t.u[0].uid = 65534;
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	t.u[0].uid = 2001;
	tp_keys(&t.u[0], "command=\"/bin/sh\" " KEY_A, NULL);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "alice");
	free(t.u[0].keys[0]);
	t.u[0].keys[0] = strdup(KEY_A);
	tp_commands(&t.u[0], "/bin/ls, /bin/sh", NULL);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	free(t.u[0].commands[0]);
	t.u[0].commands[0] = strdup("/bin/ls");
	tp_user(&t, "bob", 2001, 2002); /* alice's uid */
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	t.u[1].uid = 2002;
	tp_group(&t, "bob", 3000, NULL, 0); /* bob's personal group would be 2002 */
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	snprintf(t.g[0].name, sizeof(t.g[0].name), "devs");
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), 0);
	conv_report_release(&rep);
	snap_take(&b);
	assert_true(b.st[0].st_ino != a.st[0].st_ino); /* the valid plan was written */
	tp_free(&t);
}

static void visudo_refusal_installs_no_sudo(void **s)
{
	struct tplan t;
	struct conv_report rep;
	const struct conv_item *it;
	(void)s;

	three_users(&t);
	visudo_path = "/bin/false";
	apply_ok(&t.p, &rep);
	visudo_path = "/usr/sbin/visudo";
	it = item(&rep, "sudo", "alice");
	assert_non_null(it);
	assert_non_null(strstr(it->detail, "visudo refused"));
	must_have(&rep, "sudo", "bob");
	must_have(&rep, "created", "alice");
	conv_report_release(&rep);
	assert_false(exists("etc/sudoers.d/rampart-alice"));
	assert_false(exists("etc/sudoers.d/rampart-bob"));
	assert_true(exists("etc/ssh/rampart/authorized_keys/alice"));
	/* nothing of the attempt is left in sudoers.d: only the README */
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "test $(ls -A %s/etc/sudoers.d | wc -l) -eq 1", root);
		assert_int_equal(system(cmd), 0);
	}
	/* the same refused rule is not tried again: nothing written */
	apply_ok(&t.p, &rep);
	assert_int_equal(rep.writes, 0);
	must_have(&rep, "sudo", "alice");
	conv_report_release(&rep);
	/* a rule that changes is tried again, by the real visudo */
	t.u[0].sudo = CONV_SUDO_COMMANDS;
	tp_commands(&t.u[0], "/usr/bin/id", NULL);
	apply_ok(&t.p, &rep);
	conv_report_release(&rep);
	assert_true(has_text("etc/sudoers.d/rampart-alice",
			     "alice ALL=(root) NOPASSWD: /usr/bin/id\n"));
	tp_free(&t);
}

/* The drift a hand makes, each code; left alone by an apply of the same plan. */
static void make_drift(void)
{
	char *pw = get("etc/passwd"), *p, *t, *n;
	struct rp_sb sb;

	/* alice's gecos changed in passwd; a uid 0 account added */
	p = strstr(pw, "Alice Liddell");
	assert_non_null(p);
	memcpy(p, "Alice Hacked!", 13);
	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, pw);
	rp_sb_puts(&sb, "toor:x:0:0::/root:/bin/sh\n");
	t = rp_sb_take(&sb, NULL);
	put("etc/passwd", t, 0644);
	free(t);
	free(pw);
	/* a key added to Rampart's file and one to alice's own */
	t = get("etc/ssh/rampart/authorized_keys/alice");
	n = concat(t, KEY_C " intruder\n");
	put("etc/ssh/rampart/authorized_keys/alice", n, 0644);
	free(t);
	free(n);
	mkdirs("home/alice/.ssh", 0700);
	put("home/alice/.ssh/authorized_keys",
	    "# my keys\n" KEY_A " alice@laptop\ncommand=\"/bin/sh\" " KEY_C " mine\n", 0600);
	assert_int_equal(chown(at("home/alice/.ssh"), 2001, 3000), 0);
	assert_int_equal(chown(at("home/alice/.ssh/authorized_keys"), 2001, 3000), 0);
	/* sudo: a foreign drop-in, one posing as Rampart's, ours changed, an ignored one */
	put("etc/sudoers.d/evil", "mallory ALL=(ALL) NOPASSWD: ALL\n", 0440);
	put("etc/sudoers.d/rampart-mallory", "mallory ALL=(ALL) NOPASSWD: ALL\n", 0440);
	put("etc/sudoers.d/rampart-alice", "alice ALL=(ALL) ALL\n", 0440);
	put("etc/sudoers.d/old.dpkg-dist", "mallory ALL=(ALL) ALL\n", 0440);
	put("etc/sudoers.d/backup~", "mallory ALL=(ALL) ALL\n", 0440);
	/* a Rampart key file for root, which sshd would read */
	put("etc/ssh/rampart/authorized_keys/root", KEY_C " root-backdoor\n", 0644);
}

static void drift_found_and_left_alone(void **s)
{
	struct tplan t;
	struct conv_report rep;
	struct snap a, b;
	(void)s;

	converged(&t);
	make_drift();

	snap_take(&a);
	drift_ok(&t.p, &rep);
	must_have(&rep, "drift-account", "alice");
	must_have(&rep, "drift-uid0", "toor");
	must_have(&rep, "drift-key", "alice");
	must_have(&rep, "drift-key", "root");
	must_have(&rep, "drift-sudoers", "evil");
	must_have(&rep, "drift-sudoers", "rampart-mallory");
	must_have(&rep, "drift-file", "alice");
	assert_null(item(&rep, "drift-sudoers", "old.dpkg-dist"));
	assert_null(item(&rep, "drift-sudoers", "backup~"));
	assert_null(item(&rep, "drift-sudoers", "README"));
	assert_null(item(&rep, "drift-account", "bob"));
	assert_int_equal(count_code(&rep, "drift-"), rep.n); /* conv_drift says drift only */
	assert_int_equal(rep.writes, 0);
	conv_report_release(&rep);
	snap_take(&b);
	snap_same(&a, &b);

	/* an apply of the same plan reports it and leaves it */
	apply_ok(&t.p, &rep);
	must_have(&rep, "drift-account", "alice");
	must_have(&rep, "drift-file", "alice");
	assert_null(item(&rep, "repaired", NULL));
	conv_report_release(&rep);
	assert_true(has_text("etc/passwd", "Alice Hacked!"));
	assert_true(has_text("etc/sudoers.d/rampart-alice", "alice ALL=(ALL) ALL\n"));
	assert_true(exists("etc/sudoers.d/evil"));

	/* but a change of the plan wins over a hand change of the same line */
	snprintf(t.u[0].gecos, sizeof(t.u[0].gecos), "Alice L.");
	apply_ok(&t.p, &rep);
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/passwd", "alice"),
			    "alice:x:2001:3000:Alice L.:/home/alice:/bin/bash");
	tp_free(&t);
}

static void repair_restores(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char *k, cmd[512];
	const char *sh;
	(void)s;

	converged(&t);
	make_drift();
	t.p.repair = true;
	apply_ok(&t.p, &rep);
	must_have(&rep, "repaired", "alice");
	must_have(&rep, "repaired", "toor");
	conv_report_release(&rep);

	assert_string_equal(line_of("etc/passwd", "alice"),
			    "alice:x:2001:3000:Alice Liddell:/home/alice:/bin/bash");
	k = get("etc/ssh/rampart/authorized_keys/alice");
	assert_string_equal(k, KEY_A " alice@laptop\n" KEY_B "\n");
	free(k);
	k = get("home/alice/.ssh/authorized_keys");
	assert_string_equal(k, "# my keys\n" KEY_A " alice@laptop\n");
	free(k);
	assert_mode("home/alice/.ssh/authorized_keys", 0600, 2001, 3000);
	assert_true(has_text("etc/sudoers.d/rampart-alice", "alice ALL=(ALL:ALL) NOPASSWD: ALL\n"));
	/* foreign files moved aside, not deleted; what sudo ignores stays */
	assert_false(exists("etc/sudoers.d/evil"));
	assert_false(exists("etc/sudoers.d/rampart-mallory"));
	assert_false(exists("etc/ssh/rampart/authorized_keys/root"));
	assert_true(exists("etc/sudoers.d/old.dpkg-dist"));
	snprintf(cmd, sizeof(cmd),
		 "ls %s/quarantine | grep -q -- '-sudoers.d-evil$' && "
		 "ls %s/quarantine | grep -q -- '-authorized_keys-root$'",
		 statedir, statedir);
	assert_int_equal(system(cmd), 0);
	/* toor is locked, not deleted */
	assert_non_null(line_of("etc/passwd", "toor"));
	sh = line_of("etc/shadow", "toor");
	assert_non_null(sh);
	assert_int_equal(strncmp(sh, "toor:!*:", 8), 0);
	assert_non_null(strstr(sh, ":1:"));

	/* what is left: toor is still uid 0 (locked), and nothing more to repair */
	apply_ok(&t.p, &rep);
	assert_int_equal(rep.writes, 0);
	must_have(&rep, "drift-uid0", "toor");
	assert_null(item(&rep, "repaired", NULL));
	assert_int_equal(count_code(&rep, "drift-"), 1);
	conv_report_release(&rep);
	tp_free(&t);
}

/* Attack: links where Rampart writes or reads are never followed. */
static void links_not_followed(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char *shadow;
	(void)s;

	three_users(&t);
	/* bob's home is a link to /etc before he exists: it is not made, not entered */
	assert_int_equal(symlink("/etc", at("home/bob")), 0);
	apply_ok(&t.p, &rep);
	conv_report_release(&rep);
	assert_int_equal(access("/etc/.bashrc", F_OK), -1);
	/* alice's authorized_keys a link to the shadow file: not read, not rewritten */
	mkdirs("home/alice/.ssh", 0700);
	assert_int_equal(symlink(at("etc/shadow"), at("home/alice/.ssh/authorized_keys")), 0);
	t.p.repair = true;
	apply_ok(&t.p, &rep);
	must_have(&rep, "drift-key", "alice");
	conv_report_release(&rep);
	shadow = get("etc/shadow");
	assert_non_null(strstr(shadow, "alice:*:"));
	free(shadow);
	{
		struct stat st;
		assert_int_equal(lstat(at("home/alice/.ssh/authorized_keys"), &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	tp_free(&t);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	assert_true(p > 0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return p;
}

static void stale_lock_cleared_live_lock_waited_for(void **s)
{
	struct conv_env env = env_of();
	struct tplan t;
	struct conv_report rep;
	struct rp_diag d = {""};
	char pid[32];
	pid_t holder;
	time_t t0;
	(void)s;

	three_users(&t);
	snprintf(pid, sizeof(pid), "%ld", (long)dead_pid());
	put("etc/passwd.lock", pid, 0600);
	put("etc/shadow.lock", pid, 0600);
	apply_ok(&t.p, &rep);
	must_have(&rep, "created", "alice");
	conv_report_release(&rep);
	assert_false(exists("etc/passwd.lock"));
	assert_false(exists("etc/shadow.lock"));

	/* a running process's lock: waited for, then refused with what holds it */
	holder = fork();
	if (holder == 0) {
		pause();
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%ld", (long)holder);
	put("etc/group.lock", pid, 0600);
	t.p.nusers = 2;
	t0 = time(NULL);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_EXISTS);
	assert_true(time(NULL) - t0 >= RP_CONV_LOCKFILE_WAIT_S - 1);
	assert_diag_has(&d, "group.lock");
	assert_diag_has(&d, pid);
	conv_report_release(&rep);
	assert_non_null(line_of("etc/passwd", "dave")); /* nothing changed */
	assert_true(exists("etc/group.lock"));          /* not ours to remove */
	assert_false(exists("etc/passwd.lock"));
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	/* now it is stale */
	apply_ok(&t.p, &rep);
	must_have(&rep, "removed", "dave");
	conv_report_release(&rep);
	tp_free(&t);
}

static void thousand_users_fifty_groups(void **s)
{
	struct tplan t;
	struct conv_report rep;
	struct timespec a, b;
	char login[32], *pw;
	size_t lines = 0;
	(void)s;

	tp_init(&t, 1000, 50);
	for (size_t g = 0; g < 50; g++) {
		snprintf(login, sizeof(login), "team%zu", g);
		tp_group(&t, login, 30000 + (uint32_t)g, NULL, 0);
		t.g[g].members = realloc(t.g[g].members, 20 * sizeof(*t.g[g].members));
	}
	for (size_t i = 0; i < 1000; i++) {
		struct conv_user *u;
		snprintf(login, sizeof(login), "user%04zu", i);
		/* half with a team as primary group, half with a personal group */
		u = tp_user(&t, login, 10000 + (uint32_t)i,
			    i % 2 ? 30000 + (uint32_t)(i % 50) : 10000 + (uint32_t)i);
		tp_keys(u, KEY_A, NULL);
		if (i % 10 == 0)
			u->sudo = CONV_SUDO_ALL;
		if (t.g[i % 50].nmembers < 20)
			snprintf(t.g[i % 50].members[t.g[i % 50].nmembers++], RP_USER_NAME_MAX + 1,
				 "%s", login);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	apply_ok(&t.p, &rep);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("# 1000 users, 50 groups: first apply %.3f s, %u writes\n",
		      (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		      rep.writes);
	assert_int_equal(count_code(&rep, "created"), 1000);
	conv_report_release(&rep);
	pw = get("etc/passwd");
	for (char *p = pw; *p; p++)
		lines += *p == '\n';
	free(pw);
	assert_int_equal(lines, 8 + 1000);
	assert_true(exists("etc/sudoers.d/rampart-user0990"));
	assert_true(exists("home/user0999/.bashrc"));
	assert_string_equal(line_of("etc/group", "user0998"), "user0998:x:10998:");

	clock_gettime(CLOCK_MONOTONIC, &a);
	apply_ok(&t.p, &rep);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("# unchanged: %.3f s\n",
		      (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	assert_int_equal(rep.writes, 0);
	conv_report_release(&rep);
	tp_free(&t);
}

#define TEST_UID 61234

static void *thread_pause(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * A child under TEST_UID that says so on fd and waits to be killed; with
 * leader_exits, its main thread exits and another thread runs on (its
 * /proc status then says zombie: the process is not dead).
 */
static pid_t session_child(int fd, bool leader_exits)
{
	pid_t child = fork();
	pthread_t t;

	assert_true(child >= 0);
	if (child > 0)
		return child;
	if (setgid(TEST_UID) != 0 || setuid(TEST_UID) != 0)
		_exit(2);
	if (leader_exits && pthread_create(&t, NULL, thread_pause, NULL) != 0)
		_exit(4);
	if (write(fd, "x", 1) != 1)
		_exit(3);
	if (leader_exits)
		pthread_exit(NULL);
	for (;;)
		pause();
}

/* pid is gone within 3 s, by SIGKILL; if not, it is killed here and false. */
static bool killed_by_sigkill(pid_t pid)
{
	int status;

	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

/* Suspension ends the sessions: a child of uid 61234 is killed, and reported. */
static void locked_account_sessions_ended(void **s)
{
	struct conv_env env = env_of();
	struct tplan t;
	struct conv_report rep;
	struct rp_diag d = {""};
	int sync[2], status;
	char *host, c;
	pid_t child, child2;
	(void)s;

	/* the host must not have that uid: its processes would be killed */
	host = NULL;
	{
		size_t len;
		assert_int_equal(rp_read_file("/etc/passwd", 64u << 20, &host, &len), 0);
		assert_null(strstr(host, ":61234:"));
		free(host);
	}
	tp_init(&t, 1, 0);
	tp_user(&t, "sess", TEST_UID, TEST_UID);
	env.kill_sessions = true;
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), 0);
	conv_report_release(&rep);

	assert_int_equal(pipe(sync), 0);
	child = session_child(sync[1], false);
	child2 = session_child(sync[1], true);
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 1);
	assert_int_equal(read(sync[0], &c, 1), 1);
	close(sync[0]);

	/* access: the session lives on */
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), 0);
	conv_report_release(&rep);
	assert_int_equal(waitpid(child, &status, WNOHANG), 0);
	assert_int_equal(waitpid(child2, &status, WNOHANG), 0);

	t.u[0].access = false;
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), 0);
	must_have(&rep, "locked", "sess");
	must_have(&rep, "sessions-ended", "sess");
	conv_report_release(&rep);
	assert_true(killed_by_sigkill(child));
	assert_true(killed_by_sigkill(child2));
	tp_free(&t);
}

/* A crash after the state said `pending': the next apply writes the plan over what it finds. */
static void interrupted_apply_is_finished(void **s)
{
	struct tplan t;
	struct conv_report rep;
	char path[PATH_MAX], *st, *nl, *p;
	struct rp_sb sb;
	(void)s;

	converged(&t);
	/* as if an apply changing alice's name had died between the state and passwd */
	p = get("etc/passwd");
	memcpy(strstr(p, "Alice Liddell"), "Alice Half-Do", 13);
	put("etc/passwd", p, 0644);
	free(p);
	snprintf(path, sizeof(path), "%s/converge.state", statedir);
	assert_int_equal(rp_read_file(path, 1 << 20, &st, &(size_t){0}), 0);
	nl = strchr(st, '\n');
	rp_sb_init(&sb, 1 << 20);
	rp_sb_put(&sb, st, (size_t)(nl + 1 - st));
	rp_sb_puts(&sb, "pending\n");
	rp_sb_puts(&sb, nl + 1);
	free(st);
	st = rp_sb_take(&sb, NULL);
	assert_int_equal(rp_write_file_atomic(path, st, strlen(st), 0600), 0);
	free(st);

	apply_ok(&t.p, &rep);
	must_have(&rep, "updated", "alice");
	assert_null(item(&rep, "drift-account", "alice"));
	conv_report_release(&rep);
	assert_string_equal(line_of("etc/passwd", "alice"),
			    "alice:x:2001:3000:Alice Liddell:/home/alice:/bin/bash");
	assert_int_equal(rp_read_file(path, 1 << 20, &st, &(size_t){0}), 0);
	assert_null(strstr(st, "pending"));
	free(st);
	tp_free(&t);
}

/* A key directory someone opened to all is closed again before a key goes in it. */
static void key_directory_secured(void **s)
{
	struct tplan t;
	struct conv_report rep;
	(void)s;

	converged(&t);
	assert_int_equal(chmod(at("etc/ssh/rampart/authorized_keys"), 0777), 0);
	tp_keys(&t.u[2], KEY_B " dave", NULL);
	apply_ok(&t.p, &rep);
	must_have(&rep, "keys", "dave");
	conv_report_release(&rep);
	assert_mode("etc/ssh/rampart/authorized_keys", 0755, 0, 0);
	tp_free(&t);
}

/* ---- converge.state ---- */

static void state_round_trip_and_strictness(void **s)
{
	static const char good[] =
		"rampart/converge-state/v1\n"
		"pending\n"
		"user alice 2001 3000 20000 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - "
		"0000000000000000000000000000000000000000000000000000000000000003 -\n"
		"user bob 2002 2002 20001 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - - -\n"
		"group bob 2002 personal "
		"0000000000000000000000000000000000000000000000000000000000000004 "
		"0000000000000000000000000000000000000000000000000000000000000005\n"
		"group devs 3000 plan "
		"0000000000000000000000000000000000000000000000000000000000000004 "
		"0000000000000000000000000000000000000000000000000000000000000005\n";
	static const char *const bad[] = {
		"",
		"rampart/converge-state/v2\n",
		"rampart/converge-state/v1", /* no newline */
		"rampart/converge-state/v1\nuser bob 2002 2002 1 - - - - -\n",
		"rampart/converge-state/v1\nuser Bob 2002 2002 1 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - - -\n",
		"rampart/converge-state/v1\nuser root 0 0 1 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - - -\n",
		"rampart/converge-state/v1\nuser bob 2002 2002 1 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"000000000000000000000000000000000000000000000000000000000000000A - - -\n",
		"rampart/converge-state/v1\nuser bob 2002 2002 1  "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - - -\n",
		"rampart/converge-state/v1\ngroup x 3000 plan "
		"0000000000000000000000000000000000000000000000000000000000000004 "
		"0000000000000000000000000000000000000000000000000000000000000005\n"
		"group x 3001 plan "
		"0000000000000000000000000000000000000000000000000000000000000004 "
		"0000000000000000000000000000000000000000000000000000000000000005\n",
		"rampart/converge-state/v1\nuser bob 2002 2002 1 "
		"0000000000000000000000000000000000000000000000000000000000000001 "
		"0000000000000000000000000000000000000000000000000000000000000002 - - -\n"
		"pending\n",
	};
	struct conv_state st, back;
	struct rp_diag d = {""};
	size_t len;
	char *text;
	(void)s;

	assert_int_equal(conv_state_parse(good, strlen(good), &st, &d), 0);
	assert_true(st.pending);
	assert_int_equal(st.nusers, 2);
	assert_int_equal(st.ngroups, 2);
	assert_true(st.users[0].has_sudo && !st.users[0].has_keys);
	assert_true(st.groups[0].personal && !st.groups[1].personal);
	text = conv_state_format(&st, &len);
	assert_non_null(text);
	assert_string_equal(text, good);
	assert_int_equal(conv_state_parse(text, len, &back, &d), 0);
	free(text);
	conv_state_release(&back);
	conv_state_release(&st);
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		if (conv_state_parse(bad[i], strlen(bad[i]), &st, &d) == 0)
			fail_msg("bad state %zu parsed", i);
	}
}

/* A state file changed to claim a local account does not make it Rampart's to rewrite blindly. */
static void corrupt_state_refused(void **s)
{
	struct conv_env env = env_of();
	struct tplan t;
	struct conv_report rep;
	struct rp_diag d = {""};
	char path[PATH_MAX];
	FILE *f;
	(void)s;

	snprintf(path, sizeof(path), "%s/converge.state", statedir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("rampart/converge-state/v1\nuser carol 1500 1500 garbage\n", f);
	fclose(f);
	three_users(&t);
	assert_int_equal(conv_apply(&env, &t.p, &rep, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "converge.state line 2");
	conv_report_release(&rep);
	assert_false(exists("etc/passwd-"));
	tp_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(creates_users_and_group_then_writes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(suspension_locks_and_takes_keys_and_sudo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(removal_keeps_home, setup, teardown),
		cmocka_unit_test_setup_teardown(local_accounts_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_of_the_same_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(plan_changes_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(unmanaged_lines_kept_byte_for_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(malformed_file_refused_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(plan_fields_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(visudo_refusal_installs_no_sudo, setup, teardown),
		cmocka_unit_test_setup_teardown(drift_found_and_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(repair_restores, setup, teardown),
		cmocka_unit_test_setup_teardown(links_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_lock_cleared_live_lock_waited_for, setup,
						teardown),
		cmocka_unit_test_setup_teardown(thousand_users_fifty_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(locked_account_sessions_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupted_apply_is_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(key_directory_secured, setup, teardown),
		cmocka_unit_test(state_round_trip_and_strictness),
		cmocka_unit_test_setup_teardown(corrupt_state_refused, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	if (geteuid() != 0) {
		printf("1..0 # SKIP test-converge needs root (owners and modes of account files)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("agent-converge", tests, NULL, NULL);
}
