/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's privilege separation (docs/privsep.md). The root process
 * starts the network process with agent_net_spawn; the network process
 * confines itself further with agent_sandbox_net_enter once it runs.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

#define AGENT_NET_USER_DEFAULT "rampart-agent"
#define AGENT_NET_FD           3 /* the network process's end of the socketpair */
#define AGENT_NET_ARG          "network-process"
#define AGENT_NET_DATA_MAX     (64UL << 20) /* its RLIMIT_DATA (not in sanitizer builds) */

struct agent_net_spawn {
	const char *user;    /* the account it runs as when the agent is root */
	const char *hide;    /* the state directory: not in its view of the filesystem */
	const char *program; /* NULL: this binary; else a stand-in (tests) */
};

/* What the network process was given, for the agent's log and the tests. */
struct agent_net_info {
	pid_t pid;
	int fd;     /* the root process's end */
	int log_fd; /* its stderr, a pipe the root process reads and relays quoted */
	unsigned uid, gid;
	char why_not[160]; /* a confinement the kernel did not allow, or "" */
};

/*
 * In the root process: looks the account up in /etc/passwd (not NSS),
 * then forks the network process: its end of a socketpair as fd 3 and
 * nothing else but stdin (/dev/null), stdout and stderr; a mount
 * namespace of its own when the kernel allows, where every mount is
 * read-only and the state directory is an empty read-only tmpfs, its
 * working directory; no_new_privs; SIGKILL when the root process dies;
 * RLIMIT_DATA. Then it executes this binary again (a fresh image: nothing
 * of the root process's memory, key included) as `rampart-agent
 * network-process UID GID PPID', which drops to the account itself
 * (agent_net_main), so that it is never dumpable as that account. An
 * agent that is not root keeps its uid and has no mount namespace: the
 * network process can then read what that uid can (logged at start).
 */
int agent_net_spawn(const struct agent_net_spawn *s, struct agent_net_info *ret, struct rp_diag *d);

/* setgroups, setresgid, setresuid to the account, and the check that root
 * cannot be had back: 0, or -1 with errno. */
int agent_sandbox_drop(unsigned uid, unsigned gid);

/*
 * In the network process, first thing: not dumpable (no ptrace, no core),
 * every fd closed but 0-2 and fd, then a seccomp filter that allows the
 * system calls of TLS, HTTP, DNS and this channel only: it kills the
 * process on those only an attacker would make (execve, ptrace, mount,
 * setuid, fork, kill, ...) and fails any other with EPERM (open for
 * writing, a local socket is EACCES).
 */
int agent_sandbox_net_enter(int fd, struct rp_diag *d);
