/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `make bench-directory`: issue 10's figures for docs/performance.md,
 * "1,000 users and 50 groups converge on one device in under 2 s, and an
 * unchanged directory costs the agent no writes". It runs the agent's
 * own code: lib/directory.c folds the statements, agent/directory.c
 * (agent_dir_plan) plans for the device, agent/converge.c (conv_apply)
 * writes the accounts, under a temporary root prefix, never this
 * machine's /etc.
 *
 * The directory: BENCH_USERS users (uids 61000 up, a personal group of
 * the same number each, 1 or 2 ed25519 keys of random bytes each), 50
 * user groups (gids 62000 up; each user in 1 to 3 of them), one device
 * group, one device in it, and 50 bindings of the user groups to it: 10
 * sudo-all, 20 sudo with 2 commands, 20 login. It is written as the
 * administrators would sign it, as a chain of directory statements of at
 * most STMT_CAP bytes each (version N+1 names the SHA-256 of version N's
 * text, the entry as logged here: no signatures), every one checked to
 * parse and to format back to the same text.
 *
 * Each of BENCH_RUNS runs (at least 5):
 *   1. the fold: every statement parsed (rp_dir_stmt_parse_text) and
 *      applied (rp_dir_apply) to an empty state. The agent's walk calls
 *      rp_dir_fold, which checks the statement's signatures and then
 *      calls rp_dir_apply: the signatures are left out here (about 50 us
 *      each, docs/performance.md "Transparency log"). Then
 *      directory.state's text made and parsed, as the agent saves and
 *      loads it;
 *   2. the first converge in a fresh prefix: agent_dir_plan and conv_apply
 *      (every account, home, key file and sudo drop-in created, the sudo
 *      rules through the real visudo -c), with the process's user and
 *      system CPU time for it (visudo's, a child's, apart);
 *   3. conv_apply again with the same plan: its report must count 0
 *      writes, and no file or directory under the prefix or the state
 *      directory may differ (inode, size, mtime, ctime, mode, owner);
 *   4. one user given one more key (a statement of version N+1, folded):
 *      agent_dir_plan and conv_apply, and the writes it counts.
 * Prints each run, then min, median and max per figure against the
 * targets; exits 1 when one is missed (the median of 2 over 2 s, or any
 * run of 3 with a write or a changed file), 2 when the benchmark could
 * not run. Before the runs and after, a probe of the disk: a new 4 KiB
 * file written and fsynced, 200 times (the first converge fsyncs about
 * 2,900 files and directories).
 *
 * Every run's prefix is in one temporary directory (mkdtemp under
 * BENCH_DIR, default $TMPDIR or /tmp), all removed at the end, none
 * between runs: ext4 without a journal (this project's CI machine) does
 * not reuse an inode freed in the last minute or so (the kernel's
 * recently_deleted(), 60 s, 360 s while its inode table block is not yet
 * written), and skipping thousands of them made each file creation of
 * the next run cost more, up to doubling the first converge. For the
 * same reason, figures read within a few minutes of a mass deletion on
 * that file system (this benchmark's last invocation, a test suite's
 * temporary directories) are too high. A run's prefix holds this
 * machine's /etc/passwd, shadow, group and gshadow, sudoers.d and skel,
 * copied with their modes and owners, and an empty home; the benchmark
 * must run as root (conv_apply gives homes and files to their users).
 *
 * Environment (defaults in brackets):
 *   BENCH_RUNS   runs [5]; fewer than 5 are refused
 *   BENCH_USERS  users [1000]; the targets are judged at 1000 only
 *   BENCH_DIR    parent of the temporary directory [$TMPDIR or /tmp]
 *   BENCH_KEEP   1: keep every run's prefix and print where they are
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "converge.h"
#include "directory.h"
#include "machine.h"
#include "rp_err.h"
#include "state.h"

#define ORG       "acme"
#define DEVICE    "b3c1e0d2a4f5968778695a4b3c2d1e0f"
#define DGROUP    "bench"
#define NGROUPS   50
#define UID_BASE  61000u
#define GID_BASE  62000u
#define EXPIRES   "2099-12-31T00:00:00Z"
#define MIN_RUNS  5
#define TARGET_S  2.0
#define CHANGED_U 500 /* the user given a key in figure 4 */
/*
 * A statement's text, below the log's entry cap (RP_LOG_ENTRY_MAX, 65535)
 * by enough for the signature lines of a quorum of administrators (about
 * 100 bytes each) that the signed note adds.
 */
#define STMT_CAP 60000

/* ---- small helpers ---- */

/*
 * The temporary directory of this invocation; in it, the directory of
 * each run, and in that the root prefix and the agent's state directory.
 */
static char top[PATH_MAX], rundir[PATH_MAX], root[PATH_MAX], statedir[PATH_MAX];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench-directory: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (top[0])
		fprintf(stderr, "bench-directory: its files are left in %s\n", top);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t env_size(const char *name, size_t dflt, size_t min, size_t max)
{
	const char *s = getenv(name);
	uint64_t v;

	if (!s || !*s)
		return dflt;
	if (rp_parse_u64(s, strlen(s), max, &v) != 0 || v < min)
		die("%s=%s is not a number from %zu to %zu", name, s, min, max);
	return (size_t)v;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double min, median, max;
};

static struct stats stats_of(const double *v, size_t n)
{
	double *s = xcalloc(n, sizeof(*s));
	struct stats r;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	r.min = s[0];
	r.max = s[n - 1];
	r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return r;
}

/* ---- the directory ---- */

struct buser {
	char login[RP_DIR_NAME_MAX + 1];
	size_t nkeys, ngroups;
	char *keys[3]; /* authorized_keys lines; a third in figure 4 */
	unsigned groups[3];
};

static struct buser *users;
static size_t nusers;

/* An ed25519 key line as ssh-keygen writes it, of 32 given bytes (tests' fake_key). */
static char *key_line(const uint8_t pk[32], const char *comment)
{
	uint8_t blob[4 + 11 + 4 + 32] = {0,   0,   0,   11,  's', 's', 'h', '-', 'e', 'd',
					 '2', '5', '5', '1', '9', 0,   0,   0,   32};
	struct rp_sb sb;
	char *b64, *line;

	memcpy(blob + 19, pk, 32);
	if (!(b64 = rp_b64_encode(blob, sizeof(blob))))
		die("out of memory");
	rp_sb_init(&sb, CONV_KEY_MAX);
	rp_sb_printf(&sb, "ssh-ed25519 %s %s", b64, comment);
	free(b64);
	if (!(line = rp_sb_take(&sb, NULL)))
		die("out of memory");
	return line;
}

/*
 * Users, their keys and groups, from a fixed seed: every run, and every
 * invocation, converges the same directory.
 */
static void make_users(size_t n)
{
	static const uint8_t seed[randombytes_SEEDBYTES] = "rampart bench/directory seed 01";
	size_t per = 1 + 2 * 32, len = n * per + 32;
	uint8_t *rnd = xcalloc(len, 1);
	char comment[64];

	randombytes_buf_deterministic(rnd, len, seed);
	users = xcalloc(n, sizeof(*users));
	nusers = n;
	for (size_t i = 0; i < n; i++) {
		struct buser *u = &users[i];
		const uint8_t *r = rnd + i * per;

		snprintf(u->login, sizeof(u->login), "user%04zu", i);
		u->nkeys = 1 + (r[0] & 1);
		for (size_t k = 0; k < u->nkeys; k++) {
			snprintf(comment, sizeof(comment), "%s@laptop-%zu", u->login, k + 1);
			u->keys[k] = key_line(r + 1 + 32 * k, comment);
		}
		/* 1 to 3 groups, distinct (17 and 34 apart out of 50), every group some members */
		u->ngroups = 1 + (size_t)(r[0] >> 1) % 3;
		for (size_t g = 0; g < u->ngroups; g++)
			u->groups[g] = (unsigned)((i + 17 * g) % NGROUPS);
	}
	/* figure 4's key, not in the directory until then */
	snprintf(comment, sizeof(comment), "%s@new-laptop", users[CHANGED_U % n].login);
	users[CHANGED_U % n].keys[2] = key_line(rnd + n * per, comment);
	free(rnd);
}

static void user_text(struct rp_sb *sb, size_t i, bool with_new_key)
{
	const struct buser *u = &users[i];

	rp_sb_printf(sb,
		     "user %s uid %u gid %u shell /bin/bash state active name Bench User %04zu\n",
		     u->login, UID_BASE + (unsigned)i, UID_BASE + (unsigned)i, i);
	for (size_t k = 0; k < u->nkeys; k++)
		rp_sb_printf(sb, "key %s\n", u->keys[k]);
	if (with_new_key)
		rp_sb_printf(sb, "key %s\n", u->keys[2]);
}

static bool in_group(const struct buser *u, unsigned g)
{
	for (size_t k = 0; k < u->ngroups; k++)
		if (u->groups[k] == g)
			return true;
	return false;
}

static void group_text(struct rp_sb *sb, unsigned g)
{
	const char *sep = " members ";

	rp_sb_printf(sb, "group team%02u gid %u", g, GID_BASE + g);
	for (size_t i = 0; i < nusers; i++)
		if (in_group(&users[i], g)) {
			rp_sb_printf(sb, "%s%s", sep, users[i].login);
			sep = ",";
		}
	rp_sb_puts(sb, "\n");
}

/* 10 sudo-all, 20 sudo with 2 commands, 20 login. */
static enum rp_dir_access group_access(unsigned g)
{
	return g % 5 == 0 ? RP_ACCESS_SUDO_ALL : g % 5 <= 2 ? RP_ACCESS_SUDO : RP_ACCESS_LOGIN;
}

static void bind_text(struct rp_sb *sb, unsigned g)
{
	switch (group_access(g)) {
	case RP_ACCESS_SUDO_ALL: rp_sb_printf(sb, "bind team%02u " DGROUP " sudo-all\n", g); break;
	case RP_ACCESS_SUDO:
		rp_sb_printf(sb,
			     "bind team%02u " DGROUP " sudo\n"
			     "command /usr/bin/systemctl restart app%02u\n"
			     "command /usr/bin/journalctl -u app%02u\n",
			     g, g, g);
		break;
	case RP_ACCESS_LOGIN: rp_sb_printf(sb, "bind team%02u " DGROUP " login\n", g); break;
	}
}

struct stmt {
	char *text;
	size_t len;
};

static struct stmt *stmts;
static size_t nstmts;

static void stmt_head(struct rp_sb *sb, uint64_t version, const uint8_t prev[32])
{
	char h[65];

	rp_sb_printf(sb, "rampart/directory/v1\norg " ORG "\nid %016llx%016llx\nversion %llu\n",
		     0xbe4c0d1a2e3f4051ull, (unsigned long long)version,
		     (unsigned long long)version);
	if (version == 1) {
		rp_sb_puts(sb, "previous none\n");
	} else {
		rp_hex_encode(prev, 32, h);
		rp_sb_printf(sb, "previous sha256:%s\n", h);
	}
	rp_sb_puts(sb, "expires " EXPIRES "\n");
}

/* The statement's text must parse and format back to itself: the one text of a change. */
static struct stmt stmt_close(struct rp_sb *sb, uint8_t head[32])
{
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	struct stmt s;
	char *again;
	size_t alen;
	int r;

	if (!(s.text = rp_sb_take(sb, &s.len)))
		die("a statement over %d bytes", STMT_CAP);
	if ((r = rp_dir_stmt_parse_text(s.text, s.len, &st, &d)) < 0)
		die("a statement of the benchmark does not parse: %s: %s", rp_strerror(r), d.msg);
	if (!(again = rp_dir_stmt_format(st, &alen)) || alen != s.len ||
	    memcmp(again, s.text, alen) != 0)
		die("a statement of the benchmark is not in its one text (version %llu)",
		    (unsigned long long)st->version);
	free(again);
	rp_dir_stmt_free(st);
	rp_sha256(s.text, s.len, head);
	return s;
}

/* Everything after the header, as pieces that must not be split across statements. */
static void make_statements(void)
{
	size_t npieces = nusers + 2 * NGROUPS + 2, cap = nusers / 100 + 8, k = 0;
	struct rp_sb *pieces = xcalloc(npieces, sizeof(*pieces));
	struct rp_sb sb;
	uint8_t head[32] = {0};

	for (size_t i = 0; i < nusers; i++) {
		rp_sb_init(&pieces[k], STMT_CAP);
		user_text(&pieces[k++], i, false);
	}
	for (unsigned g = 0; g < NGROUPS; g++) {
		rp_sb_init(&pieces[k], STMT_CAP);
		group_text(&pieces[k++], g);
	}
	rp_sb_init(&pieces[k], STMT_CAP);
	rp_sb_puts(&pieces[k++], "device-group " DGROUP "\n");
	rp_sb_init(&pieces[k], STMT_CAP);
	rp_sb_puts(&pieces[k++], "device " DEVICE " groups " DGROUP " tags bench\n");
	for (unsigned g = 0; g < NGROUPS; g++) {
		rp_sb_init(&pieces[k], STMT_CAP);
		bind_text(&pieces[k++], g);
	}
	stmts = xcalloc(cap, sizeof(*stmts));
	rp_sb_init(&sb, STMT_CAP);
	stmt_head(&sb, 1, head);
	for (size_t i = 0; i < npieces; i++) {
		if (pieces[i].err)
			die("out of memory");
		if (sb.len + pieces[i].len > STMT_CAP) {
			if (nstmts + 1 == cap)
				die("more statements than expected");
			stmts[nstmts++] = stmt_close(&sb, head);
			rp_sb_init(&sb, STMT_CAP);
			stmt_head(&sb, nstmts + 1, head);
		}
		rp_sb_put(&sb, pieces[i].s, pieces[i].len);
		rp_sb_release(&pieces[i]);
	}
	stmts[nstmts++] = stmt_close(&sb, head);
	free(pieces);
}

/* Figure 4's statement: the changed user put whole, its new key with the others. */
static struct stmt change_statement(const uint8_t head[32])
{
	struct rp_sb sb;
	uint8_t h[32];

	rp_sb_init(&sb, STMT_CAP);
	stmt_head(&sb, nstmts + 1, head);
	user_text(&sb, CHANGED_U % nusers, true);
	rp_sb_puts(&sb, "comment a new laptop\n");
	return stmt_close(&sb, h);
}

/* ---- the fold (figure 1) ---- */

static void fold(struct rp_dir_state *s, const struct stmt *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rp_dir_stmt *st = NULL;
		struct rp_diag d = {""};
		int r;

		if ((r = rp_dir_stmt_parse_text(list[i].text, list[i].len, &st, &d)) < 0 ||
		    (r = rp_dir_apply(s, st, (const uint8_t *)list[i].text, list[i].len, true,
				      &d)) < 0)
			die("folding version %zu: %s: %s", i + 1, rp_strerror(r), d.msg);
		rp_dir_stmt_free(st);
	}
}

/* ---- the root prefix ---- */

static void path_at(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		die("path too long: %s/%s", dir, name);
}

/* A regular file copied with its mode and owner. */
static void copy_file(const char *from, const char *to)
{
	struct stat st;
	char *buf = NULL;
	size_t len;
	int fd, r;

	if (stat(from, &st) != 0)
		die("%s: %s", from, strerror(errno));
	if ((r = rp_read_file(from, RP_ACCOUNT_FILE_MAX, &buf, &len)) < 0)
		die("reading %s: %s", from, rp_strerror(r));
	fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
	    fchown(fd, st.st_uid, st.st_gid) != 0 || fchmod(fd, st.st_mode & 07777) != 0 ||
	    close(fd) != 0)
		die("writing %s: %s", to, strerror(errno));
	free(buf);
}

/* The regular files of a directory of this machine (skel, sudoers.d), one level. */
static void copy_dir(const char *from, const char *to, mode_t mode)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (mkdir(to, mode) != 0 || chmod(to, mode) != 0)
		die("mkdir %s: %s", to, strerror(errno));
	if (!(d = opendir(from)))
		return; /* none here: an empty one */
	while ((e = readdir(d))) {
		struct stat st;
		path_at(a, sizeof(a), from, e->d_name);
		if (lstat(a, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		path_at(b, sizeof(b), to, e->d_name);
		copy_file(a, b);
	}
	closedir(d);
}

/* BENCH_DIR, else $TMPDIR, else /tmp. */
static const char *parent_dir(void)
{
	const char *p = getenv("BENCH_DIR");

	if (!p || !*p)
		p = getenv("TMPDIR");
	return p && *p ? p : "/tmp";
}

static void make_top(void)
{
	path_at(top, sizeof(top), parent_dir(), "rampart-bench-directory.XXXXXX");
	if (!mkdtemp(top))
		die("mkdtemp %s: %s", top, strerror(errno));
}

/* Run n's prefix: this machine's account files, sudoers.d and skel; an empty home. */
static void make_prefix(size_t n)
{
	static const char *const files[] = {"passwd", "shadow", "group", "gshadow"};
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "run%zu", n);
	path_at(rundir, sizeof(rundir), top, a);
	path_at(root, sizeof(root), rundir, "root");
	path_at(statedir, sizeof(statedir), rundir, "state");
	if (mkdir(rundir, 0755) != 0 || mkdir(root, 0755) != 0 || mkdir(statedir, 0700) != 0)
		die("mkdir under %s: %s", top, strerror(errno));
	path_at(a, sizeof(a), root, "etc");
	if (mkdir(a, 0755) != 0)
		die("mkdir %s: %s", a, strerror(errno));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "etc/%s", files[i]);
		path_at(a, sizeof(a), "", rel);
		path_at(b, sizeof(b), root, rel);
		copy_file(a, b);
	}
	path_at(b, sizeof(b), root, "etc/sudoers.d");
	copy_dir("/etc/sudoers.d", b, 0750);
	path_at(b, sizeof(b), root, "etc/skel");
	copy_dir("/etc/skel", b, 0755);
	path_at(b, sizeof(b), root, "home");
	if (mkdir(b, 0755) != 0)
		die("mkdir %s: %s", b, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "bench-directory: removing %s: %s\n", path, strerror(errno));
	return 0;
}

static void remove_top(void)
{
	if (top[0] && nftw(top, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench-directory: removing %s: %s\n", top, strerror(errno));
	top[0] = '\0';
}

/* ---- every file's identity (figure 3) ---- */

struct fent {
	char *path; /* below rundir */
	struct stat st;
};

struct snap {
	size_t n, cap;
	struct fent *e;
};

static struct snap *snap_cur;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct snap *s = snap_cur;
	(void)flag;
	(void)ftw;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		struct fent *e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			die("out of memory");
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n].path = xstrdup(path + strlen(rundir));
	s->e[s->n].st = *st;
	s->n++;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct fent *)a)->path, ((const struct fent *)b)->path);
}

/* Everything under the prefix and the state directory, sorted by path. */
static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	snap_cur = s;
	if (nftw(rundir, snap_one, 32, FTW_PHYS) != 0)
		die("reading %s: %s", rundir, strerror(errno));
	qsort(s->e, s->n, sizeof(*s->e), by_path);
}

static void snap_release(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].path);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static const char *entry_change(const struct stat *a, const struct stat *b)
{
	if (a->st_ino != b->st_ino || a->st_dev != b->st_dev)
		return "inode";
	if (a->st_size != b->st_size)
		return "size";
	if (!same_time(a->st_mtim, b->st_mtim))
		return "mtime";
	if (!same_time(a->st_ctim, b->st_ctim))
		return "ctime";
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		return "mode or owner";
	return NULL;
}

/* Differences between two snapshots, the first few printed; 0 when none. */
static size_t snap_diff(const struct snap *a, const struct snap *b)
{
	size_t i = 0, j = 0, diffs = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->e[i].path, b->e[j].path);
		const char *what = NULL, *path;

		if (c < 0) {
			what = "removed";
			path = a->e[i++].path;
		} else if (c > 0) {
			what = "added";
			path = b->e[j++].path;
		} else {
			what = entry_change(&a->e[i].st, &b->e[j].st);
			path = a->e[i].path;
			i++;
			j++;
		}
		if (!what)
			continue;
		if (diffs++ < 10)
			printf("    changed by the unchanged apply: %s (%s)\n", path, what);
	}
	return diffs;
}

/* ---- converging ---- */

struct counts {
	size_t accounts, homes, keyfiles, sudofiles, refused, conflicts;
};

static size_t dir_count(const char *rel, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	path_at(path, sizeof(path), root, rel);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* What the first converge made: accounts in passwd, homes, key files, drop-ins. */
static struct counts count_made(const struct conv_report *rep)
{
	struct counts c = {0};
	char path[PATH_MAX], *text = NULL;
	size_t len;

	path_at(path, sizeof(path), root, "etc/passwd");
	if (rp_read_file(path, RP_ACCOUNT_FILE_MAX, &text, &len) < 0)
		die("reading %s", path);
	/* login:x:UID:... of the benchmark's uids */
	for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		char *uid = NULL, *end = NULL;
		uint64_t v;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if ((uid = strchr(line, ':')) && (uid = strchr(uid + 1, ':')))
			end = strchr(++uid, ':');
		if (end && rp_parse_u64(uid, (size_t)(end - uid), UINT32_MAX, &v) == 0 &&
		    v >= UID_BASE && v < UID_BASE + nusers)
			c.accounts++;
	}
	free(text);
	c.homes = dir_count("home", "user");
	c.keyfiles = dir_count("etc/ssh/rampart/authorized_keys", "user");
	c.sudofiles = dir_count("etc/sudoers.d", "rampart-");
	for (size_t i = 0; i < rep->n; i++) {
		c.refused += !strcmp(rep->items[i].code, "sudo") &&
			     strstr(rep->items[i].detail, "no sudo") != NULL;
		c.conflicts += !strcmp(rep->items[i].code, "conflict");
	}
	return c;
}

/* The user's Rampart key file holds its new key (figure 4). */
static bool key_written(size_t i)
{
	char rel[64 + RP_DIR_NAME_MAX], path[PATH_MAX], *text = NULL;
	size_t len;
	bool ok;

	snprintf(rel, sizeof(rel), "etc/ssh/rampart/authorized_keys/%s", users[i].login);
	path_at(path, sizeof(path), root, rel);
	if (rp_read_file(path, 1 << 20, &text, &len) < 0)
		return false;
	ok = strstr(text, users[i].keys[2]) != NULL;
	free(text);
	return ok;
}

static void apply(const struct conv_plan *p, struct conv_report *rep, const char *what)
{
	struct conv_env env = {.root = root, .state = statedir, .kill_sessions = false};
	struct rp_diag d = {""};
	int r;

	if ((r = conv_apply(&env, p, rep, &d)) < 0)
		die("%s: conv_apply: %s: %s", what, rp_strerror(r), d.msg);
}

static void plan(const struct rp_dir_state *s, struct conv_plan *p)
{
	int64_t due;
	int r;

	if ((r = agent_dir_plan(&s->dir, DEVICE, rp_now(), p, &due)) < 0)
		die("agent_dir_plan: %s", rp_strerror(r));
}

/* ---- the machine ---- */

static void loadavg(char out[128])
{
	char *text = NULL;
	size_t len;

	snprintf(out, 128, "?");
	if (rp_read_file("/proc/loadavg", 4096, &text, &len) == 0) {
		text[strcspn(text, "\n")] = '\0';
		snprintf(out, 128, "%s", text);
	}
	free(text);
}

static void print_machine(void)
{
	struct utsname u;
	char model[256], line[512], load[128];
	uint64_t mem_kb = 0;
	FILE *f;

	bench_cpu_model(model, sizeof(model));
	if ((f = fopen("/proc/meminfo", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "MemTotal:", 9) == 0) {
				char *p = line + 9, *e;
				while (*p == ' ')
					p++;
				e = p + strspn(p, "0123456789");
				if (rp_parse_u64(p, (size_t)(e - p), UINT64_MAX, &mem_kb) != 0)
					mem_kb = 0;
				break;
			}
		fclose(f);
	}
	uname(&u);
	loadavg(load);
	printf("machine: nproc %ld (%s), MemTotal %llu kB (%.1f GiB), %s %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model, (unsigned long long)mem_kb,
	       (double)mem_kb / (1024.0 * 1024), u.sysname, u.release);
	printf("prefix in %s (%s%s%s); visudo /usr/sbin/visudo; /proc/loadavg before: %s\n",
	       parent_dir(), bench_fs_type(parent_dir()),
	       *bench_fs_journal(parent_dir()) ? ", " : "", bench_fs_journal(parent_dir()), load);
}

/*
 * What one durable small file costs on this disk: n new files of 4 KiB in
 * the prefix's file system, each written and fsynced, as converge.c
 * writes a key file or a sudo rule. The median per file, in seconds.
 */
static double fsync_probe(const char *name, size_t n)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	static const char block[4096];
	double *t = xcalloc(n, sizeof(*t)), med;

	path_at(dir, sizeof(dir), top, name);
	if (mkdir(dir, 0700) != 0)
		die("mkdir %s: %s", dir, strerror(errno));
	sync();
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();
		int fd;

		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, block, sizeof(block)) != (ssize_t)sizeof(block) ||
		    fsync(fd) != 0 || close(fd) != 0)
			die("fsync probe in %s: %s", dir, strerror(errno));
		t[i] = now_s() - t0;
	}
	med = stats_of(t, n).median;
	free(t);
	return med;
}

/* This process's user and system CPU time so far, in seconds. */
static void cpu_s(double *ret_user, double *ret_sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*ret_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*ret_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- main ---- */

struct figures {
	double fold, fold_one, state_fmt, state_parse, plan, first, first_user, first_sys,
		unchanged, change;
	unsigned first_writes, unchanged_writes, change_writes;
	size_t changed_files, snap_files;
};

static void row(const char *what, const double *v, size_t n, double scale, const char *unit,
		const char *target)
{
	struct stats s = stats_of(v, n);

	printf("| %-44s | %9.1f | %9.1f | %9.1f | %-2s | %s\n", what, s.min * scale,
	       s.median * scale, s.max * scale, unit, target);
}

int main(void)
{
	size_t runs = env_size("BENCH_RUNS", MIN_RUNS, MIN_RUNS, 1000);
	size_t nu = env_size("BENCH_USERS", 1000, 1, 20000);
	bool keep = getenv("BENCH_KEEP") && !strcmp(getenv("BENCH_KEEP"), "1");
	struct figures *fg;
	struct rp_dir_state base;
	struct stmt change;
	size_t maxlen = 0, nkeys = 0, state_len = 0, psudo = 0, psudo_all = 0, pusers = 0,
	       pgroups = 0;
	char load[128];
	bool met_time, met_writes = true, met_files = true;
	double v[10][1000], probe[2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		die("must run as root: conv_apply gives homes and files to their users");
	if (sodium_init() < 0)
		die("sodium_init failed");
	if (access("/usr/sbin/visudo", X_OK) != 0)
		die("/usr/sbin/visudo is not there: the sudo rules go through it (apt install sudo)");
	print_machine();
	make_top();

	make_users(nu);
	make_statements();
	for (size_t i = 0; i < nstmts; i++)
		maxlen = stmts[i].len > maxlen ? stmts[i].len : maxlen;
	for (size_t i = 0; i < nusers; i++)
		nkeys += users[i].nkeys;
	rp_dir_state_init(&base, ORG);
	fold(&base, stmts, nstmts);
	change = change_statement(base.head);
	{
		char *t = rp_dir_state_format(&base, &state_len);
		struct conv_plan p;
		free(t);
		plan(&base, &p);
		pusers = p.nusers;
		pgroups = p.ngroups;
		for (size_t i = 0; i < p.nusers; i++) {
			psudo += p.users[i].sudo != CONV_SUDO_NONE;
			psudo_all += p.users[i].sudo == CONV_SUDO_ALL;
		}
		agent_dir_plan_release(&p);
	}
	rp_dir_state_release(&base);
	printf("directory: %zu users (%zu ed25519 keys), %d user groups, 1 device group, 1 device, "
	       "%d bindings (10 sudo-all, 20 sudo with 2 commands, 20 login)\n",
	       nusers, nkeys, NGROUPS, NGROUPS);
	printf("  as %zu chained statements of at most %zu bytes (cap %d), directory.state %zu "
	       "bytes\n",
	       nstmts, maxlen, STMT_CAP, state_len);
	printf("plan for device " DEVICE ": %zu accounts, %zu groups, %zu with sudo (%zu all, %zu "
	       "2 commands)\n",
	       pusers, pgroups, psudo, psudo_all, psudo - psudo_all);
	probe[0] = fsync_probe("probe-before", 200);
	printf("fsync probe: a new 4 KiB file written and fsynced, median of 200: %.2f ms\n",
	       probe[0] * 1e3);
	printf("runs: %zu (fresh prefix each)\n\n", runs);

	fg = xcalloc(runs, sizeof(*fg));
	for (size_t run = 0; run < runs; run++) {
		struct figures *f = &fg[run];
		struct rp_dir_state s, again;
		struct conv_plan p;
		struct conv_report rep;
		struct counts c;
		struct snap before, after;
		struct rp_diag d = {""};
		double t0, t1, u0, s0;
		char *text;
		size_t len;
		int r;

		/* 1. the fold, and directory.state's text written and read back */
		rp_dir_state_init(&s, ORG);
		t0 = now_s();
		fold(&s, stmts, nstmts);
		f->fold = now_s() - t0;
		t0 = now_s();
		if (!(text = rp_dir_state_format(&s, &len)))
			die("rp_dir_state_format: out of memory");
		t1 = now_s();
		if ((r = rp_dir_state_parse(text, len, &again, &d)) < 0)
			die("rp_dir_state_parse: %s: %s", rp_strerror(r), d.msg);
		f->state_parse = now_s() - t1;
		f->state_fmt = t1 - t0;
		free(text);
		rp_dir_state_release(&again);

		/* 2. the first converge, everything made */
		make_prefix(run + 1);
		sync(); /* the copies' and the last run's removal's writeback, not charged here */
		t0 = now_s();
		cpu_s(&u0, &s0);
		plan(&s, &p);
		t1 = now_s();
		apply(&p, &rep, "first converge");
		f->first = now_s() - t0;
		cpu_s(&f->first_user, &f->first_sys);
		f->first_user -= u0;
		f->first_sys -= s0;
		f->plan = t1 - t0;
		f->first_writes = rep.writes;
		c = count_made(&rep);
		conv_report_release(&rep);
		if (c.accounts != nusers || c.homes != nusers || c.keyfiles != nusers ||
		    c.sudofiles != psudo || c.refused || c.conflicts)
			die("the first converge did not make the directory: %zu accounts, %zu "
			    "homes, %zu key files, %zu sudo drop-ins (want %zu, %zu, %zu, %zu), %zu "
			    "rules refused, %zu conflicts",
			    c.accounts, c.homes, c.keyfiles, c.sudofiles, nusers, nusers, nusers,
			    psudo, c.refused, c.conflicts);

		/* 3. the same plan again: nothing written, nothing touched */
		snap_take(&before);
		t0 = now_s();
		apply(&p, &rep, "unchanged apply");
		f->unchanged = now_s() - t0;
		f->unchanged_writes = rep.writes;
		conv_report_release(&rep);
		snap_take(&after);
		f->snap_files = after.n;
		f->changed_files = snap_diff(&before, &after);
		snap_release(&before);
		snap_release(&after);
		agent_dir_plan_release(&p);
		met_writes = met_writes && f->unchanged_writes == 0;
		met_files = met_files && f->changed_files == 0;

		/* 4. one user's new key: folded, planned, applied */
		t0 = now_s();
		fold(&s, &change, 1);
		f->fold_one = now_s() - t0;
		t0 = now_s();
		plan(&s, &p);
		apply(&p, &rep, "one key added");
		f->change = now_s() - t0;
		f->change_writes = rep.writes;
		conv_report_release(&rep);
		agent_dir_plan_release(&p);
		rp_dir_state_release(&s);
		if (f->change_writes == 0 || !key_written(CHANGED_U % nusers))
			die("the new key of %s was not written", users[CHANGED_U % nusers].login);

		printf("run %zu: fold %.1f ms, first converge %.0f ms (%u writes), unchanged %.1f "
		       "ms (%u writes; %zu of %zu files and directories changed), one key added "
		       "%.1f ms (%u writes)\n",
		       run + 1, f->fold * 1e3, f->first * 1e3, f->first_writes, f->unchanged * 1e3,
		       f->unchanged_writes, f->changed_files, f->snap_files, f->change * 1e3,
		       f->change_writes);
	}

	for (size_t i = 0; i < runs; i++) {
		v[0][i] = fg[i].fold;
		v[1][i] = fg[i].state_fmt + fg[i].state_parse;
		v[2][i] = fg[i].plan;
		v[3][i] = fg[i].first;
		v[4][i] = fg[i].fold + fg[i].first;
		v[5][i] = fg[i].unchanged;
		v[6][i] = fg[i].change;
		v[7][i] = fg[i].fold_one;
		v[8][i] = fg[i].first_user;
		v[9][i] = fg[i].first_sys;
	}
	{
		struct stats first = stats_of(v[3], runs);
		unsigned wmin = UINT32_MAX, wmax = 0, cmin = UINT32_MAX, cmax = 0;
		char t2[96], t3[128], t4[64], t1[64];

		for (size_t i = 0; i < runs; i++) {
			wmin = fg[i].unchanged_writes < wmin ? fg[i].unchanged_writes : wmin;
			wmax = fg[i].unchanged_writes > wmax ? fg[i].unchanged_writes : wmax;
			cmin = fg[i].change_writes < cmin ? fg[i].change_writes : cmin;
			cmax = fg[i].change_writes > cmax ? fg[i].change_writes : cmax;
		}
		met_time = first.median <= TARGET_S;
		snprintf(t1, sizeof(t1), "%u writes", fg[0].first_writes);
		snprintf(t2, sizeof(t2), "<= 2 s (median): %s%s",
			 nusers != 1000 ? "not judged (BENCH_USERS)"
			 : met_time     ? "met"
					: "MISSED",
			 nusers == 1000 && met_time && first.max > TARGET_S ? " (max over)" : "");
		snprintf(t3, sizeof(t3), "0 writes, 0 files changed: %s (writes %u-%u)",
			 met_writes && met_files ? "met" : "MISSED", wmin, wmax);
		snprintf(t4, sizeof(t4), "writes %u-%u", cmin, cmax);

		printf("\n| %-44s | %9s | %9s | %9s | %-2s | target\n", "figure", "min", "median",
		       "max", "");
		row("(1) fold of all statements (parse + apply)", v[0], runs, 1e3, "ms", "");
		row("    directory.state format + parse", v[1], runs, 1e3, "ms", "");
		row("    agent_dir_plan", v[2], runs, 1e3, "ms", "");
		row("(2) first converge (plan + conv_apply)", v[3], runs, 1e3, "ms", t2);
		row("    its user CPU (visudo's apart)", v[8], runs, 1e3, "ms", "");
		row("    its system CPU", v[9], runs, 1e3, "ms", "");
		row("    fold + first converge", v[4], runs, 1e3, "ms", t1);
		row("(3) unchanged: conv_apply, same plan", v[5], runs, 1e3, "ms", t3);
		row("(4) one key added: plan + conv_apply", v[6], runs, 1e3, "ms", t4);
		row("    its statement folded", v[7], runs, 1e3, "ms", "");
		printf("unchanged-apply file check: every file and directory under the prefix and "
		       "the state directory (%zu), inode, size, mtime, ctime, mode, owner: %s\n",
		       fg[runs - 1].snap_files,
		       met_files ? "identical in every run" : "CHANGED (listed above)");
	}
	probe[1] = fsync_probe("probe-after", 200);
	printf("fsync probe after: %.2f ms\n", probe[1] * 1e3);
	loadavg(load);
	printf("/proc/loadavg after: %s\n", load);
	if (keep) {
		printf("kept: %s (run N: runN/root, the prefix, and runN/state)\n", top);
	} else {
		remove_top();
		sync();
	}
	free(fg);
	free(change.text);
	for (size_t i = 0; i < nstmts; i++)
		free(stmts[i].text);
	free(stmts);
	for (size_t i = 0; i < nusers; i++)
		for (size_t k = 0; k < 3; k++)
			free(users[i].keys[k]);
	free(users);
	return (nusers == 1000 && !met_time) || !met_writes || !met_files ? 1 : 0;
}
