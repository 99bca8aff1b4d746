/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running one verified command, split as systemd splits exec_spawn:
 *
 *   prepare  looks the run-as account up (lib/account.c: /etc/passwd and
 *            /etc/group, never NSS), builds the environment and puts the
 *            script in a sealed memfd;
 *   spawn    makes the command's cgroup (or falls back to the subreaper)
 *            and forks; the child sets itself up and execs;
 *   collect  waits for the main process until its deadline or the agent's
 *            stop, keeps the tail of the output, kills whatever is left of
 *            the subtree and says how the command ended.
 *
 * Containment. The whole subtree must die at the timeout, when the agent
 * stops and when the main process ends, children that called setsid() or
 * double-forked included, without ever signalling a pid that was reused by
 * an unrelated process. The choices:
 *  - A cgroup v2 of its own (the primary): the child joins it before it
 *    runs anything of the command's; no process leaves it without write
 *    access to another cgroup's cgroup.procs (root only, and a root
 *    command can do anything anyway); cgroup.kill (Linux 5.14) kills every
 *    member at once with no pid involved; cgroup.events says when it is
 *    empty. The command sees the host as it is: same pids, same /proc.
 *  - A PID namespace, rejected: killing its init kills everything in it,
 *    but the command would see the pids of its own namespace and none of
 *    the host's processes, so `kill -HUP $(cat /run/nginx.pid)' and pkill,
 *    which administrators run every day, would fail with ESRCH.
 *  - The fallback, when no cgroup can be made (no cgroup2 mounted, agent
 *    not root, read-only cgroupfs, Linux < 5.14, or --no-cgroup): the
 *    agent is PR_SET_CHILD_SUBREAPER, so every orphan of the subtree is
 *    reparented to it, and it kills its children until none are left. A
 *    child is not reaped until the agent waits for it, so its pid cannot
 *    be reused while it is signalled. This assumes the agent has no other
 *    children: a privilege-separated helper would have to be skipped here.
 * Neither catches a process handed to someone else on purpose (systemd-run,
 * socket activation): that is what those are for.
 * The main process is always watched and signalled through a pidfd, and
 * everything runs on Linux 5.10 or later (pidfd_open 5.3, close_range 5.9).
 */
#include "exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "rp_err.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable even under vm.memfd_noexec=1 */
#endif

#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE  "/etc/group"
/* In the child: the script is /dev/fd/3; 4 reports a failure before exec. */
#define SCRIPT_FD    3
#define ERROR_FD     4
#define COMMAND_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *sig_name(int sig, char buf[16])
{
	const char *a = sigabbrev_np(sig);

	snprintf(buf, 16, "SIG%s", a ? a : "?");
	return buf;
}

/* ---- the output's tail ---- */

/* Output is kept as a ring: the tail is what an administrator wants. */
struct tail {
	char *buf;
	size_t start, len;
};

static void tail_put(struct tail *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t pos = (t->start + t->len) % RP_OUTPUT_KEEP;
		t->buf[pos] = p[i];
		if (t->len < RP_OUTPUT_KEEP)
			t->len++;
		else
			t->start = (t->start + 1) % RP_OUTPUT_KEEP;
	}
}

static char *tail_take(const struct tail *t)
{
	char *out = malloc(t->len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < t->len; i++)
		out[i] = t->buf[(t->start + i) % RP_OUTPUT_KEEP];
	out[t->len] = '\0';
	return out;
}

/* ---- prepare ---- */

struct plan {
	char id[RP_ID_HEX + 1];
	struct rp_account acct;
	bool drop;    /* the agent is root: take the account's uid, gid and groups */
	bool shebang; /* exec the script itself, else /bin/sh runs it */
	int script_fd;
	char env_home[RP_ACCOUNT_HOME_MAX + 8], env_user[RP_USER_NAME_MAX + 8],
		env_logname[RP_USER_NAME_MAX + 10], env_id[RP_ID_HEX + 24];
};

static void plan_release(struct plan *p)
{
	if (p->script_fd >= 0)
		close(p->script_fd);
	p->script_fd = -1;
}

/*
 * The script in a memfd rather than a file: the run-as account could not
 * open a file in the root-only state directory, and any file it could open
 * another local user could race. Sealed, so that what runs (and whatever
 * later re-reads /dev/fd/3) is the payload whose hash was verified: the
 * account may open the memfd through /proc, but never change it.
 */
static int script_fd_make(const uint8_t *p, size_t len, int *ret_fd, char *why, size_t n)
{
	int fd, r = RP_E_IO;

	fd = memfd_create("rampart-command", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && (errno == EINVAL || errno == EACCES)) /* before 6.3, or memfd_noexec=2 */
		fd = memfd_create("rampart-command", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(why, n, "memfd_create: %s", strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t k = write(fd, p + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(why, n, "writing the script to its memfd: %s", strerror(errno));
			goto out;
		}
		off += (size_t)k;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		snprintf(why, n, "sealing the script's memfd: %s", strerror(errno));
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int prepare(const struct rp_command *c, const uint8_t *payload, size_t len, struct plan *ret,
		   char *why, size_t n)
{
	struct plan p = {.script_fd = -1};
	struct rp_diag d = {""};
	int r;

	memcpy(p.id, c->id, sizeof(p.id));
	if ((r = rp_account_lookup(PASSWD_FILE, GROUP_FILE, c->run_as, &p.acct, &d)) < 0) {
		snprintf(why, n, "%s", d.msg);
		goto out;
	}
	if (geteuid() == 0) {
		p.drop = true;
	} else if (p.acct.uid != geteuid()) {
		snprintf(why, n, "the agent does not run as root, so it cannot run as `%s'",
			 c->run_as);
		r = RP_E_INVAL;
		goto out;
	}
	if ((r = script_fd_make(payload, len, &p.script_fd, why, n)) < 0)
		goto out;
	p.shebang = len >= 2 && payload[0] == '#' && payload[1] == '!';
	snprintf(p.env_home, sizeof(p.env_home), "HOME=%s", p.acct.home[0] ? p.acct.home : "/");
	snprintf(p.env_user, sizeof(p.env_user), "USER=%s", p.acct.name);
	snprintf(p.env_logname, sizeof(p.env_logname), "LOGNAME=%s", p.acct.name);
	snprintf(p.env_id, sizeof(p.env_id), "RAMPART_COMMAND_ID=%s", c->id);
	*ret = p;
	p.script_fd = -1;
out:
	plan_release(&p);
	return r;
}

/* ---- the command's cgroup ---- */

struct cgroup {
	int parent_fd; /* the agent's own cgroup; -1: no cgroup, the fallback */
	int dir_fd, procs_fd;
	char name[96];  /* under parent_fd */
	char path[512]; /* as /proc/<pid>/cgroup shows it */
};
#define CGROUP_NONE                                           \
	{                                                     \
		.parent_fd = -1, .dir_fd = -1, .procs_fd = -1 \
	}

/* The "0::<path>" line of a /proc/<pid>/cgroup: the cgroup v2 path. */
static int cgroup_of(const char *proc_file, char *out, size_t n)
{
	char *buf = NULL;
	const char *line;
	size_t len, llen;
	struct rp_cursor c;
	int r;

	if ((r = rp_read_file(proc_file, RP_EXEC_PROC_FILE_MAX, &buf, &len)) < 0)
		return r;
	c.p = buf;
	c.n = len;
	r = RP_E_NOTFOUND;
	while (rp_cursor_line(&c, &line, &llen) == 1) {
		if (llen < 4 || memcmp(line, "0::/", 4) != 0)
			continue;
		/* A path the kernel marks as unreachable from our namespace, or too long. */
		if (llen - 3 >= n || memmem(line, llen, " (deleted)", 10))
			break;
		memcpy(out, line + 3, llen - 3);
		out[llen - 3] = '\0';
		r = 0;
		break;
	}
	free(buf);
	return r;
}

static void cgroup_release(struct cgroup *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	/* Empty by now (collect waited); if not, it stays for the operator to see. */
	if (cg->parent_fd >= 0) {
		unlinkat(cg->parent_fd, cg->name, AT_REMOVEDIR);
		close(cg->parent_fd);
	}
	*cg = (struct cgroup)CGROUP_NONE;
}

/*
 * A child cgroup of the agent's own, "rampart-cmd-<id>-<agent pid>" (two
 * agents on one host may run the same command). Under systemd the unit
 * should say Delegate=yes (docs/operating.md); no controller is enabled,
 * so the agent may stay in its own cgroup beside its children.
 */
static int cgroup_make(const char *id, struct cgroup *ret, char *why, size_t n)
{
	struct cgroup cg = CGROUP_NONE;
	struct statfs fs;
	const char *mnt = NULL;
	char own[400], where[480];
	int r = RP_E_NOTFOUND;

	if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		mnt = "/sys/fs/cgroup";
	else if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		mnt = "/sys/fs/cgroup/unified"; /* systemd's hybrid layout */
	if (!mnt) {
		snprintf(why, n,
			 "no cgroup2 file system at /sys/fs/cgroup or /sys/fs/cgroup/unified");
		goto out;
	}
	if (cgroup_of("/proc/self/cgroup", own, sizeof(own)) < 0) {
		snprintf(why, n, "no cgroup v2 path for the agent in /proc/self/cgroup");
		goto out;
	}
	snprintf(where, sizeof(where), "%s%s", mnt, own);
	snprintf(cg.name, sizeof(cg.name), "rampart-cmd-%s-%ld", id, (long)getpid());
	snprintf(cg.path, sizeof(cg.path), "%s/%s", strcmp(own, "/") ? own : "", cg.name);
	r = RP_E_IO;
	if ((cg.parent_fd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, n, "opening %.140s: %s", where, strerror(errno));
		goto out;
	}
	/* Left over by an agent that died with the same pid: reuse it only empty. */
	if (mkdirat(cg.parent_fd, cg.name, 0755) != 0 &&
	    (errno != EEXIST || unlinkat(cg.parent_fd, cg.name, AT_REMOVEDIR) != 0 ||
	     mkdirat(cg.parent_fd, cg.name, 0755) != 0)) {
		snprintf(why, n, "mkdir %.100s/%.60s: %s", where, cg.name, strerror(errno));
		close(cg.parent_fd);
		cg.parent_fd = -1;
		goto out;
	}
	if ((cg.dir_fd = openat(cg.parent_fd, cg.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, n, "opening %.100s/%.60s: %s", where, cg.name, strerror(errno));
		goto out;
	}
	if (faccessat(cg.dir_fd, "cgroup.kill", W_OK, 0) != 0) {
		snprintf(why, n, "%.140s has no cgroup.kill (Linux before 5.14)", where);
		goto out;
	}
	if ((cg.procs_fd = openat(cg.dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0) {
		snprintf(why, n, "opening %.100s/%.60s/cgroup.procs: %s", where, cg.name,
			 strerror(errno));
		goto out;
	}
	*ret = cg;
	cg = (struct cgroup)CGROUP_NONE;
	r = 0;
out:
	cgroup_release(&cg);
	return r;
}

/* Up to n-1 bytes of a cgroup file, NUL-terminated; its length or -1. */
static ssize_t cgroup_read(const struct cgroup *cg, const char *file, char *buf, size_t n)
{
	int fd = openat(cg->dir_fd, file, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -1;
	while (len + 1 < n) {
		ssize_t k = read(fd, buf + len, n - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static bool cgroup_empty(const struct cgroup *cg)
{
	char buf[256];

	/* If the file cannot be read, nothing more can be learnt by waiting. */
	return cgroup_read(cg, "cgroup.events", buf, sizeof(buf)) < 0 ||
	       strstr(buf, "populated 0\n") != NULL;
}

static void cgroup_kill(const struct cgroup *cg)
{
	int fd = openat(cg->dir_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
}

/*
 * A signal other than SIGKILL to every member (cgroup.kill only kills).
 * Each pid is pinned by a pidfd first, then checked to be in the cgroup,
 * then checked to be still alive: so the /proc file read was that
 * process's, and the signal cannot reach a process that reused the pid.
 */
static void cgroup_signal(const struct cgroup *cg, int sig)
{
	char *buf = malloc(RP_EXEC_PROC_FILE_MAX), *p, *end, path[48], in[sizeof(cg->path)];

	if (!buf || cgroup_read(cg, "cgroup.procs", buf, RP_EXEC_PROC_FILE_MAX) < 0)
		goto out;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);
		int fd;

		if (end == p)
			break;
		if (pid <= 0 || (fd = pidfd_open((pid_t)pid, 0)) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
		if (cgroup_of(path, in, sizeof(in)) == 0 && strcmp(in, cg->path) == 0 &&
		    pidfd_send_signal(fd, 0, NULL, 0) == 0)
			pidfd_send_signal(fd, sig, NULL, 0);
		close(fd);
	}
out:
	free(buf);
}

/* ---- the fallback: the agent's own children ---- */

/*
 * sig to every child of the agent but keep and spare, read from every thread's
 * /proc/self/task/<tid>/children; with reap, each is then reaped if it
 * has exited. Returns how many children were seen.
 */
static size_t children_signal(int sig, pid_t keep, pid_t spare, bool reap)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	char path[64], *buf = malloc(RP_EXEC_PROC_FILE_MAX), *p, *end;
	size_t seen = 0;

	if (!dir || !buf)
		goto out;
	while ((e = readdir(dir))) {
		int fd;
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/children", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		k = read(fd, buf, RP_EXEC_PROC_FILE_MAX - 1);
		close(fd);
		buf[k > 0 ? k : 0] = '\0';
		for (p = buf; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid <= 0 || pid == keep || (spare > 0 && pid == spare))
				continue;
			seen++;
			/* A child of ours: its pid stays ours until we reap it. */
			kill((pid_t)pid, sig);
			if (reap)
				waitpid((pid_t)pid, NULL, WNOHANG);
		}
	}
out:
	if (dir)
		closedir(dir);
	free(buf);
	return seen;
}

/* ---- spawn ---- */

struct proc {
	pid_t pid;
	int pidfd;
	int out_fd; /* stdout and stderr, -1 at EOF */
	int err_fd; /* the child's failure report; EOF once it has exec'd */
	struct cgroup cg;
	bool reaped;
	siginfo_t si; /* once reaped */
	pid_t spare;  /* exec_opts.spare: never signalled */
};
#define PROC_NONE                                                                     \
	{                                                                             \
		.pid = -1, .pidfd = -1, .out_fd = -1, .err_fd = -1, .cg = CGROUP_NONE \
	}

static void proc_release(struct proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	cgroup_release(&p->cg);
	*p = (struct proc)PROC_NONE;
}

enum child_step {
	STEP_CGROUP,
	STEP_FDS,
	STEP_SETSID,
	STEP_SETGROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_UNDO,
	STEP_CHDIR,
	STEP_EXEC_SCRIPT,
	STEP_EXEC_SH,
};

static const char *const step_names[] = {
	[STEP_CGROUP] = "joining its cgroup",
	[STEP_FDS] = "setting up its descriptors",
	[STEP_SETSID] = "setsid",
	[STEP_SETGROUPS] = "setgroups",
	[STEP_SETGID] = "setgid",
	[STEP_SETUID] = "setuid",
	[STEP_UNDO] = "checking the drop of privileges (setuid(0) or setgid(0) still worked)",
	[STEP_CHDIR] = "chdir",
	[STEP_EXEC_SCRIPT] = "executing the script's #! interpreter",
	[STEP_EXEC_SH] = "executing /bin/sh",
};

struct child_error {
	int step, err;
};

static _Noreturn void child_fail(int fd, enum child_step step)
{
	struct child_error e = {step, errno};

	(void)!write(fd, &e, sizeof(e));
	_exit(127);
}

/*
 * In the child, between fork and exec: async-signal-safe calls only. Any
 * failure is reported on the error pipe (close-on-exec, so the agent reads
 * EOF once exec succeeded) and the child exits.
 */
static _Noreturn void child(const struct plan *pl, char *const envp[], const struct cgroup *cg,
			    int out_fd, int err_fd, int null_fd)
{
	/* The kernel's struct sigaction, all zero: SIG_DFL, no flags, empty mask. */
	unsigned long dfl[4] = {0};
	gid_t groups[RP_ACCOUNT_GROUPS_MAX];
	sigset_t none;
	int e, o, s, z;

	/*
	 * Dispositions and mask survive exec: the agent ignores SIGPIPE, blocks
	 * SIGTERM/SIGINT while it waits, and may have inherited more from
	 * whoever started it. A command starts with every signal at its default
	 * and none blocked, as from a login. The raw system call, because
	 * glibc's sigaction() refuses signals 32 and 33 (its own, for threads)
	 * and an ignored one stays ignored across exec (meson's test runner
	 * starts the agent with 32 ignored); safe here, single-threaded and
	 * about to exec.
	 */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)(NSIG / 8));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((e = fcntl(err_fd, F_DUPFD_CLOEXEC, 10)) < 0)
		_exit(127);
	/* Contained before anything of the command's runs. */
	if (cg->procs_fd >= 0 && write(cg->procs_fd, "0", 1) != 1)
		child_fail(e, STEP_CGROUP);
	/*
	 * Descriptors: everything moves above 10, then lands on 0 /dev/null,
	 * 1 and 2 the output pipe, 3 the script (not close-on-exec: the #!
	 * interpreter opens /dev/fd/3), 4 this error report (close-on-exec);
	 * all others close, whatever the agent had open.
	 */
	if ((o = fcntl(out_fd, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (s = fcntl(pl->script_fd, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (z = fcntl(null_fd, F_DUPFD_CLOEXEC, 10)) < 0 || dup2(z, 0) < 0 || dup2(o, 1) < 0 ||
	    dup2(o, 2) < 0 || dup2(s, SCRIPT_FD) < 0 || dup3(e, ERROR_FD, O_CLOEXEC) < 0)
		child_fail(e, STEP_FDS);
	e = ERROR_FD;
	if (close_range(ERROR_FD + 1, ~0U, 0) != 0)
		child_fail(e, STEP_FDS);
	/* Its own session and process group, with no controlling terminal. */
	if (setsid() < 0)
		child_fail(e, STEP_SETSID);
	/*
	 * 022, whatever the agent's: files a command creates are readable by
	 * all and writable by their owner, as from a login shell on Debian;
	 * a command that wants stricter sets its own.
	 */
	umask(022);
	if (pl->drop) {
		for (size_t i = 0; i < pl->acct.ngroups; i++)
			groups[i] = (gid_t)pl->acct.groups[i];
		if (setgroups(pl->acct.ngroups, groups) != 0)
			child_fail(e, STEP_SETGROUPS);
		if (setgid((gid_t)pl->acct.gid) != 0)
			child_fail(e, STEP_SETGID);
		if (setuid((uid_t)pl->acct.uid) != 0)
			child_fail(e, STEP_SETUID);
		/*
		 * The drop must be final: if root can be had back (a kernel or
		 * capability setup that left the saved uid, say), nothing runs.
		 * no_new_privs is deliberately not set: administrators run sudo
		 * and other setuid programs from commands, and the run-as
		 * account's own rights are the boundary, as at a login.
		 */
		errno = EPERM;
		if (getuid() != pl->acct.uid || geteuid() != pl->acct.uid ||
		    getgid() != pl->acct.gid || getegid() != pl->acct.gid ||
		    (pl->acct.uid != 0 && setuid(0) != -1) ||
		    (pl->acct.gid != 0 && pl->acct.uid != 0 && setgid(0) != -1))
			child_fail(e, STEP_UNDO);
	}
	if (chdir(pl->acct.home[0] ? pl->acct.home : "/") != 0 && chdir("/") != 0)
		child_fail(e, STEP_CHDIR);
	if (pl->shebang) {
		char *const argv[] = {"/dev/fd/3", NULL};
		execveat(SCRIPT_FD, "", argv, envp, AT_EMPTY_PATH);
		child_fail(e, STEP_EXEC_SCRIPT);
	} else {
		char *const argv[] = {"sh", "/dev/fd/3", NULL};
		execve("/bin/sh", argv, envp);
		child_fail(e, STEP_EXEC_SH);
	}
}

static int spawn(const struct plan *pl, const struct exec_opts *o, struct proc *ret, char *why,
		 size_t n, char *cont, size_t cn)
{
	struct proc p = PROC_NONE;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, null_fd = -1, r = RP_E_IO;
	char cwhy[200] = "--no-cgroup";
	char *const envp[] = {
		COMMAND_PATH,         (char *)pl->env_home,
		(char *)pl->env_user, (char *)pl->env_logname,
		"SHELL=/bin/sh",      "LANG=C.UTF-8",
		(char *)pl->env_id,   NULL,
	};

	p.spare = o->spare;

	if (!o->no_cgroup && cgroup_make(pl->id, &p.cg, cwhy, sizeof(cwhy)) == 0) {
		snprintf(cont, cn, "cgroup %.180s", p.cg.path);
	} else {
		/* Orphans of the subtree come to the agent, which kills them. */
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
			snprintf(cont, cn,
				 "process group only (no cgroup: %.80s; no subreaper: %s)", cwhy,
				 strerror(errno));
		else
			snprintf(cont, cn, "subreaper (no cgroup: %.150s)", cwhy);
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(why, n, "could not start: %s", strerror(errno));
		goto out;
	}
	if ((p.pid = fork()) < 0) {
		snprintf(why, n, "could not start: fork: %s", strerror(errno));
		goto out;
	}
	if (p.pid == 0)
		child(pl, envp, &p.cg, out[1], err[1], null_fd);
	/* Our child and not yet reaped, so the pid is still its own. */
	if ((p.pidfd = pidfd_open(p.pid, 0)) < 0) {
		snprintf(why, n,
			 "could not watch it: pidfd_open: %s (Linux 5.3 or later is needed)",
			 strerror(errno));
		kill(p.pid, SIGKILL);
		waitpid(p.pid, NULL, 0);
		if (p.cg.dir_fd >= 0)
			cgroup_kill(&p.cg);
		goto out;
	}
	p.out_fd = out[0];
	p.err_fd = err[0];
	out[0] = err[0] = -1;
	fcntl(p.out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p.err_fd, F_SETFL, O_NONBLOCK);
	*ret = p;
	p = (struct proc)PROC_NONE;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (null_fd >= 0)
		close(null_fd);
	proc_release(&p);
	return r;
}

/* ---- collect ---- */

/* Signals the whole subtree: the main process, then the cgroup or the agent's children. */
static void subtree_signal(struct proc *p, int sig)
{
	if (!p->reaped)
		pidfd_send_signal(p->pidfd, sig, NULL, 0);
	if (p->cg.dir_fd >= 0) {
		if (sig == SIGKILL)
			cgroup_kill(&p->cg);
		else
			cgroup_signal(&p->cg, sig);
		return;
	}
	/* Its process group is pinned while the main process is unreaped. */
	if (!p->reaped)
		kill(-p->pid, sig);
	children_signal(sig, p->reaped ? 0 : p->pid, p->spare, false);
}

/* SIGKILL until nothing of the subtree is left, or until; true if none is. */
static bool subtree_gone(struct proc *p, int64_t until)
{
	for (;;) {
		bool empty = p->cg.dir_fd < 0 || cgroup_empty(&p->cg);
		if (!empty)
			cgroup_kill(&p->cg);
		/* Orphans reparented to the agent (a subreaper, now or since an earlier command).
		 */
		size_t left = children_signal(SIGKILL, p->reaped ? 0 : p->pid, p->spare, true);
		if (empty && left == 0)
			return true;
		if (rp_mono_ms() >= until)
			return false;
		rp_sleep_ms(10);
	}
}

static void read_output(struct proc *p, struct tail *t)
{
	char buf[8192];
	ssize_t k = read(p->out_fd, buf, sizeof(buf));

	if (k > 0) {
		tail_put(t, buf, (size_t)k);
	} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(p->out_fd);
		p->out_fd = -1;
	}
}

/* What is left in the pipe once its writers are gone (or until). */
static void drain(struct proc *p, struct tail *t, int64_t until)
{
	while (p->out_fd >= 0) {
		int64_t now = rp_mono_ms();
		struct pollfd f = {.fd = p->out_fd, .events = POLLIN};

		if (now >= until || poll(&f, 1, (int)(until - now)) == 0)
			break;
		read_output(p, t);
	}
}

enum ended_by { BY_ITSELF, BY_TIMEOUT, BY_STOP };

static void collect(struct proc *p, int64_t start, int64_t timeout_ms, const struct exec_opts *o,
		    struct tail *t, struct exec_result *res)
{
	int64_t deadline = start + timeout_ms, kill_at = 0, give_up = 0;
	enum ended_by by = BY_ITSELF;
	struct child_error ce;
	size_t ce_len = 0;
	int sent = 0, code, died;
	sigset_t block, old;
	char sn[16];

	/* Taken only inside ppoll: a stop between the check and the wait still wakes it. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!p->reaped) {
		int64_t now = rp_mono_ms(), until;
		struct pollfd f[3];
		nfds_t nf = 0;
		int k;

		if (by == BY_ITSELF && o->stop && *o->stop) {
			by = BY_STOP;
			subtree_signal(p, SIGTERM);
			sent = SIGTERM;
			kill_at = now + RP_EXEC_STOP_GRACE_MS;
		} else if (by == BY_ITSELF && now >= deadline) {
			by = BY_TIMEOUT;
			subtree_signal(p, SIGKILL);
			sent = SIGKILL;
			give_up = now + RP_EXEC_REAP_MS;
		}
		if (sent == SIGTERM && now >= kill_at) {
			subtree_signal(p, SIGKILL);
			sent = SIGKILL;
			give_up = now + RP_EXEC_REAP_MS;
		}
		/* Killed and still there: stuck in the kernel. Report what is known. */
		if (sent == SIGKILL && now >= give_up)
			break;
		until = by == BY_ITSELF ? deadline : sent == SIGTERM ? kill_at : give_up;
		/* EOF on the output is not the end: it may have redirected its own. */
		f[nf++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		if (p->out_fd >= 0)
			f[nf++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
		if (p->err_fd >= 0)
			f[nf++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
		struct timespec ts = {(until - now) / 1000, ((until - now) % 1000) * 1000000L};
		k = ppoll(f, nf, &ts, &old);
		if (k < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; k > 0 && i < nf; i++) {
			if (!f[i].revents)
				continue;
			if (f[i].fd == p->out_fd) {
				read_output(p, t);
			} else if (f[i].fd == p->err_fd) {
				ssize_t m =
					read(p->err_fd, (char *)&ce + ce_len, sizeof(ce) - ce_len);
				if (m > 0)
					ce_len += (size_t)m;
				if (m == 0 || ce_len == sizeof(ce) ||
				    (m < 0 && errno != EAGAIN && errno != EINTR)) {
					close(p->err_fd);
					p->err_fd = -1;
				}
			} else if (waitid(P_PIDFD, (id_t)p->pidfd, &p->si, WEXITED) == 0) {
				p->reaped = true;
			}
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Whatever is left goes now, at the end of the main process as at a kill. */
	subtree_signal(p, SIGKILL);
	if (!p->reaped && waitid(P_PIDFD, (id_t)p->pidfd, &p->si, WEXITED | WNOHANG) == 0 &&
	    p->si.si_pid != 0)
		p->reaped = true;
	if (!subtree_gone(p, rp_mono_ms() + RP_EXEC_REAP_MS)) {
		size_t l = strlen(res->containment);
		snprintf(res->containment + l, sizeof(res->containment) - l,
			 "; processes of it outlived SIGKILL (stuck in the kernel?)");
	}
	drain(p, t, rp_mono_ms() + RP_EXEC_DRAIN_MS);

	code = p->reaped && p->si.si_code == CLD_EXITED ? p->si.si_status : -1;
	died = p->reaped && (p->si.si_code == CLD_KILLED || p->si.si_code == CLD_DUMPED)
		       ? p->si.si_status
		       : 0;
	res->exit_code = code;
	if (ce_len == sizeof(ce) && ce.step >= 0 && ce.step <= STEP_EXEC_SH) {
		res->status = RP_RESULT_FAILED;
		res->exit_code = -1;
		snprintf(res->reason, sizeof(res->reason), "could not start: %s: %s",
			 step_names[ce.step], strerror(ce.err));
	} else if (by == BY_TIMEOUT) {
		res->status = RP_RESULT_TIMED_OUT;
		res->signal = died ? died : SIGKILL;
		snprintf(res->reason, sizeof(res->reason), "timed out after %lld s; killed by %s",
			 (long long)(timeout_ms / 1000), sig_name(res->signal, sn));
	} else if (by == BY_STOP) {
		res->status = RP_RESULT_KILLED;
		res->signal = died ? died : sent;
		snprintf(res->reason, sizeof(res->reason),
			 "the agent stopped while it ran: ended by %s", sig_name(res->signal, sn));
	} else if (code >= 0) {
		res->status = RP_RESULT_DONE;
	} else {
		res->status = RP_RESULT_KILLED;
		res->signal = died ? died : SIGKILL;
		snprintf(res->reason, sizeof(res->reason), "%s %s",
			 died ? "killed by"
			      : "lost track of it (the agent's wait failed); killed by",
			 sig_name(res->signal, sn));
	}
}

int agent_exec(const struct rp_command *c, const uint8_t *payload, size_t len,
	       const struct exec_opts *o, struct exec_result *ret)
{
	struct exec_result res = {.status = RP_RESULT_FAILED, .exit_code = -1};
	struct plan pl = {.script_fd = -1};
	struct proc p = PROC_NONE;
	struct tail t = {0};
	int64_t start = rp_mono_ms();
	int r;

	if (!(t.buf = malloc(RP_OUTPUT_KEEP))) {
		r = RP_E_NOMEM;
		goto out;
	}
	if (prepare(c, payload, len, &pl, res.reason, sizeof(res.reason)) == 0 &&
	    spawn(&pl, o, &p, res.reason, sizeof(res.reason), res.containment,
		  sizeof(res.containment)) == 0)
		collect(&p, start, (int64_t)c->timeout * 1000, o, &t, &res);
	res.duration_ms = (uint64_t)(rp_mono_ms() - start);
	res.output_len = t.len;
	if (!(res.output = tail_take(&t))) {
		r = RP_E_NOMEM;
		goto out;
	}
	*ret = res;
	res.output = NULL;
	r = 0;
out:
	proc_release(&p);
	plan_release(&pl);
	free(t.buf);
	free(res.output);
	return r;
}

void exec_result_release(struct exec_result *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}
