/* SPDX-License-Identifier: Apache-2.0 */
/* Starting and confining the agent's network process (agent/sandbox.h). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account.h"
#include "rp_err.h"

extern char **environ;

/* Sanitizer runtimes need more of the kernel; such builds are for tests only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZED 1
#endif
#endif

/* ---- the root process: spawning ---- */

/*
 * What the child tells the root process before exec, on a close-on-exec
 * pipe: "E<why>" when a step failed (and it exits), "N<what>\n" for a
 * confinement the kernel did not allow (and it goes on).
 */
static void child_say(int fd, char kind, const char *text)
{
	char msg[200];
	int n = snprintf(msg, sizeof(msg), "%c%s%s", kind, text, kind == 'N' ? "\n" : "");
	if (n > 0 && write(fd, msg, (size_t)n) < 0)
		_exit(126);
}

static void child_fail(int fd, const char *step)
{
	char msg[190];
	snprintf(msg, sizeof(msg), "%s: %s", step, strerror(errno));
	child_say(fd, 'E', msg);
	_exit(126);
}

/*
 * Its own view of the filesystem: a mount namespace where the state
 * directory is an empty read-only tmpfs, its working directory, and every
 * mount is read-only. False (nothing changed that matters) when the
 * kernel or the container does not allow it.
 */
static bool private_view(const char *hide, char *why, size_t whylen)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};

	if (unshare(CLONE_NEWNS) != 0) {
		snprintf(why, whylen, "no mount namespace (%s)", strerror(errno));
		return false;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    (hide &&
	     mount("rampart-net", hide, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
		   "size=4k,nr_inodes=1,mode=0555") != 0)) {
		snprintf(why, whylen, "cannot hide the state directory (%s)", strerror(errno));
		return false;
	}
	/* Everything read-only, recursively (Linux 5.12); the hidden state is enough before. */
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) != 0)
		snprintf(why, whylen, "state hidden, but mounts stay writable (%s)",
			 strerror(errno));
	return true;
}

struct child_args {
	const struct agent_net_spawn *s;
	const struct rp_account *acct;
	bool root;
	int sock, err_fd, log_fd;
	pid_t parent;
	char **envp;
};

int agent_sandbox_drop(unsigned uid, unsigned gid)
{
	gid_t g = (gid_t)gid;
	uid_t u = (uid_t)uid;

	if (setgroups(0, NULL) != 0 || setresgid(g, g, g) != 0 || setresuid(u, u, u) != 0)
		return -1;
	/* Final: root cannot be had back. */
	if (u != 0 && (setuid(0) != -1 || setgid(0) != -1 || geteuid() != u || getegid() != g))
		return -1;
	return 0;
}

static void child(const struct child_args *c)
{
	/* The real network process drops to its account itself, after exec:
	 * a process is made non-dumpable by a change of credentials, and exec
	 * would make it dumpable again, open to ptrace by that account until
	 * its first instructions ran (agent_net_main). */
	char uid[16], gid[16], ppid[16];
	char *argv[] = {"rampart-agent", AGENT_NET_ARG, uid, gid, ppid, NULL};
	char why[160] = "";
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* fd 3 is the channel (dup2 onto itself would keep close-on-exec); the
	 * error pipe is close-on-exec; stdout goes nowhere, stderr to a pipe
	 * the root process relays (quoted: the agent's own log cannot be
	 * forged or shut through it); nothing else stays open. */
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(c->log_fd, 2) < 0 ||
	    (c->sock == AGENT_NET_FD ? fcntl(c->sock, F_SETFD, 0) : dup2(c->sock, AGENT_NET_FD)) <
		    0)
		child_fail(c->err_fd, "setting up descriptors");
	if (c->err_fd > AGENT_NET_FD + 1)
		close_range(AGENT_NET_FD + 1, (unsigned)c->err_fd - 1, 0);
	close_range((unsigned)c->err_fd + 1, ~0U, 0);
	bool viewed = c->root && private_view(c->s->hide, why, sizeof(why));
	if (why[0])
		child_say(c->err_fd, 'N', why);
	if (viewed && c->s->hide) {
		if (chdir(c->s->hide) != 0)
			child_fail(c->err_fd, "entering its empty directory");
	} else if (chdir("/") != 0) {
		child_fail(c->err_fd, "chdir /");
	}
	/* This binary, opened again inside the new namespace: exec refuses a
	 * file reached through a mount of another one. */
	int exe = c->s->program ? -1 : open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (!c->s->program && exe < 0)
		child_fail(c->err_fd, "opening /proc/self/exe");
	snprintf(uid, sizeof(uid), "%u", c->root ? c->acct->uid : (unsigned)getuid());
	snprintf(gid, sizeof(gid), "%u", c->root ? c->acct->gid : (unsigned)getgid());
	snprintf(ppid, sizeof(ppid), "%d", (int)c->parent);
	/* A stand-in (tests) cannot drop by itself: it is dropped here. */
	if (c->root && c->s->program && agent_sandbox_drop(c->acct->uid, c->acct->gid) != 0)
		child_fail(c->err_fd, "dropping to its account");
#ifndef SANITIZED
	/* Its heap and private mappings: far above what it parses (a
	 * delivery's few MB), far below what would trouble the host. */
	struct rlimit data = {AGENT_NET_DATA_MAX, AGENT_NET_DATA_MAX};
	if (setrlimit(RLIMIT_DATA, &data) != 0)
		child_fail(c->err_fd, "setrlimit");
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(c->err_fd, "prctl");
	if (getppid() != c->parent)
		_exit(126);
	if (c->s->program)
		execve(c->s->program, argv, c->envp);
	else
		fexecve(exe, argv, c->envp);
	child_fail(c->err_fd, "executing the network process");
}

/* The environment it gets: the sanitizers' options and the time zone, nothing else. */
static char **net_env(char **out, size_t max)
{
	static const char *const keep[] = {
		"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=", "TZ="};
	size_t n = 0;

	for (char **e = environ; e && *e && n + 1 < max; e++)
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0)
				out[n++] = *e;
	out[n] = NULL;
	return out;
}

int agent_net_spawn(const struct agent_net_spawn *s, struct agent_net_info *ret, struct rp_diag *d)
{
	struct rp_account acct = {.uid = (uint32_t)getuid(), .gid = (uint32_t)getgid()};
	struct child_args c = {.s = s, .acct = &acct, .root = geteuid() == 0, .parent = getpid()};
	char *envp[8], msg[400];
	int sv[2], ep[2];
	ssize_t n;
	pid_t pid;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	ret->log_fd = -1;
	if (c.root) {
		if ((r = rp_account_lookup("/etc/passwd", "/etc/group", s->user, &acct, d)) < 0) {
			char m[sizeof(d->msg)];
			snprintf(m, sizeof(m), "%s", d->msg);
			rp_diagf(d,
				 "the network process's account: %s (create a system account, "
				 "e.g. `useradd --system --no-create-home --shell "
				 "/usr/sbin/nologin %s', or name one with --net-user)",
				 m, s->user);
			return r;
		}
		if (acct.uid == 0) {
			rp_diagf(d, "the network process's account `%s' is uid 0", s->user);
			return RP_E_INVAL;
		}
	} else {
		snprintf(ret->why_not, sizeof(ret->why_not),
			 "the agent is not root: the network process keeps uid %u", acct.uid);
	}
	int lp[2] = {-1, -1};
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0 || pipe2(lp, O_CLOEXEC) != 0) {
		rp_diagf(d, "socketpair: %s", strerror(errno));
		return RP_E_IO;
	}
	c.log_fd = lp[1];
	c.sock = sv[1];
	c.err_fd = ep[1];
	c.envp = net_env(envp, sizeof(envp) / sizeof(envp[0]));
	if ((pid = fork()) < 0) {
		rp_diagf(d, "fork: %s", strerror(errno));
		close(sv[0]), close(sv[1]), close(ep[0]), close(ep[1]);
		close(lp[0]), close(lp[1]);
		return RP_E_IO;
	}
	if (pid == 0)
		child(&c);
	close(sv[1]);
	close(ep[1]);
	close(lp[1]);
	fcntl(lp[0], F_SETFL, O_NONBLOCK);
	/* The pipe closes at exec, after any notes, or carries why not. */
	size_t got = 0;
	while (got < sizeof(msg) - 1 && ((n = read(ep[0], msg + got, sizeof(msg) - 1 - got)) > 0 ||
					 (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	msg[got] = '\0';
	close(ep[0]);
	/* Notes, each "N<note>\n", then on failure "E<why>". */
	char *l = msg;
	while (l < msg + got && *l == 'N') {
		char *end = memchr(l, '\n', (size_t)(msg + got - l));
		if (!end)
			break;
		*end = '\0';
		if (!ret->why_not[0])
			snprintf(ret->why_not, sizeof(ret->why_not), "%s", l + 1);
		l = end + 1;
	}
	if (l < msg + got) {
		rp_diagf(d, "starting the network process: %s", *l == 'E' ? l + 1 : l);
		close(sv[0]);
		close(lp[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return RP_E_IO;
	}
	ret->pid = pid;
	ret->fd = sv[0];
	ret->log_fd = lp[0];
	ret->uid = acct.uid;
	ret->gid = acct.gid;
	return 0;
}

/* ---- the network process: confining itself ---- */

static int rule(scmp_filter_ctx f, uint32_t action, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	/* a call this architecture does not have needs no rule */
	return nr == __NR_SCMP_ERROR ? 0 : seccomp_rule_add(f, action, nr, 0);
}

static int filter_load(struct rp_diag *d)
{
	/* TLS and HTTP over a socket, DNS through glibc (files, UDP and TCP
	 * to the resolver, a netlink query of the interfaces), this channel. */
	static const char *const calls[] = {
		"read",
		"write",
		"readv",
		"writev",
		"pread64",
		"close",
		"fstat",
		"newfstatat",
		"statx",
		"lseek",
		"mmap",
		"munmap",
		"mremap",
		"mprotect",
		"madvise",
		"brk",
		"rt_sigaction",
		"rt_sigprocmask",
		"rt_sigreturn",
		"poll",
		"ppoll",
		"connect",
		"sendto",
		"recvfrom",
		"sendmsg",
		"recvmsg",
		"sendmmsg",
		"bind",
		"getsockname",
		"getpeername",
		"setsockopt",
		"getsockopt",
		"shutdown",
		"fcntl",
		"getrandom",
		"clock_gettime",
		"clock_getres",
		"gettimeofday",
		"nanosleep",
		"clock_nanosleep",
		"futex",
		"exit",
		"exit_group",
		"getpid",
		"gettid",
		"uname",
		"getuid",
		"geteuid",
		"getgid",
		"getegid",
		"restart_syscall",
		"sched_yield",
#ifdef SANITIZED
		/* the sanitizer runtimes: stacks, reports, LeakSanitizer's stop-the-world */
		"sigaltstack",
		"prctl",
		"readlink",
		"readlinkat",
		"getrlimit",
		"prlimit64",
		"sched_getaffinity",
		"clone",
		"clone3",
		"ptrace",
		"wait4",
		"waitid",
		"kill",
		"tgkill",
		"getppid",
		"dup",
		"dup2",
		"pipe",
		"pipe2",
		"getdents64",
		"munlock",
		"mlock",
		"set_robust_list",
		"rseq",
		"ioctl",
		"getcwd",
#endif
	};
	/* What only an attacker in this process would call: it dies at once. */
	static const char *const fatal[] = {
		"execve",
		"execveat",
		"process_vm_readv",
		"process_vm_writev",
		"mount",
		"umount2",
		"pivot_root",
		"chroot",
		"unshare",
		"setns",
		"init_module",
		"finit_module",
		"delete_module",
		"kexec_load",
		"kexec_file_load",
		"bpf",
		"perf_event_open",
		"userfaultfd",
		"open_by_handle_at",
		"name_to_handle_at",
		"keyctl",
		"add_key",
		"request_key",
		"setuid",
		"setgid",
		"setreuid",
		"setregid",
		"setresuid",
		"setresgid",
		"setgroups",
		"capset",
		"personality",
		"fork",
		"vfork",
		"memfd_create",
		"pidfd_open",
		"pidfd_getfd",
		"pidfd_send_signal",
		"io_uring_setup",
		"fanotify_init",
		"tkill",
#ifndef SANITIZED
		"clone",
		"clone3",
		"kill",
		"tgkill",
		"ptrace",
#endif
	};
	/*
	 * Anything else not allowed fails with EPERM rather than killing: a
	 * module glibc loads for name resolution (nsswitch.conf) may try a
	 * call this list does not foresee, and should fail, not stop the agent.
	 */
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = f ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof(calls) / sizeof(calls[0]); i++)
		r = rule(f, SCMP_ACT_ALLOW, calls[i]);
	for (size_t i = 0; r == 0 && i < sizeof(fatal) / sizeof(fatal[0]); i++)
		r = rule(f, SCMP_ACT_KILL_PROCESS, fatal[i]);
	/* Sockets: the internet, and netlink for getaddrinfo; a local socket
	 * (nscd) fails as if it were absent. */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* Files: read-only opens (resolv.conf, hosts, nsswitch.conf). */
	if (r == 0)
		r = seccomp_rule_add(
			f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	if (r < 0) {
		rp_diagf(d, "cannot load the seccomp filter: %s", strerror(-r));
		return RP_E_IO;
	}
	return 0;
}

int agent_sandbox_net_enter(int fd, struct rp_diag *d)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		rp_diagf(d, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return RP_E_IO;
	}
	for (int i = 3; i < 1024; i++)
		if (i != fd)
			close(i);
	return filter_load(d);
}
