/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network process's seccomp filter (agent/sandbox.c), applied to a
 * child of this test: what it allows still works (a socket, a read-only
 * open, the channel), what only an attacker would do kills it (execve,
 * fork, ptrace, setuid, kill), and the rest fails with EPERM (an open for
 * writing, a local socket EACCES).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rp_err.h"
#include "sandbox.h"

/* Runs fn in a confined child; its wait status. */
static int confined(int (*fn)(int fd))
{
	int sv[2];
	pid_t pid;
	int st = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rp_diag d = {""};
		close(sv[0]);
		if (dup2(sv[1], 3) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    agent_sandbox_net_enter(3, &d) < 0)
			_exit(100);
		_exit(fn(3));
	}
	close(sv[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(sv[0]);
	return st;
}

static int allowed_calls(int fd)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int f = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
	char b = 'x';
	if (s < 0 || f < 0)
		return 1;
	close(s);
	close(f);
	return write(fd, &b, 1) == 1 ? 0 : 2;
}

static int open_for_writing(int fd)
{
	(void)fd;
	return open("/tmp/rampart-sandbox-test", O_WRONLY | O_CREAT, 0600) < 0 && errno == EPERM
		       ? 0
		       : 1;
}

static int unix_socket(int fd)
{
	(void)fd;
	return socket(AF_UNIX, SOCK_STREAM, 0) < 0 && errno == EACCES ? 0 : 1;
}

static int exec_shell(int fd)
{
	char *argv[] = {"/bin/true", NULL};
	(void)fd;
	execv("/bin/true", argv);
	return 1;
}

__attribute__((unused)) static int fork_child(int fd)
{
	(void)fd;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return 1;
}

static int setuid_root(int fd)
{
	(void)fd;
	setuid(0);
	return 1;
}

__attribute__((unused)) static int ptrace_parent(int fd)
{
	(void)fd;
	ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
	return 1;
}

static void what_it_needs_works(void **s)
{
	(void)s;
	int st = confined(allowed_calls);
	if (!WIFEXITED(st))
		fail_msg("killed by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void what_it_may_not_fails(void **s)
{
	(void)s;
	int st = confined(open_for_writing);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = confined(unix_socket);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access("/tmp/rampart-sandbox-test", F_OK), -1);
}

/* Attack: code running in the network process executes a shell, forks,
 * takes root back, or attaches to another process. Each kills it (in a
 * sanitizer build, which allows clone and ptrace, execve and setuid do). */
static void what_only_an_attacker_does_kills_it(void **s)
{
	int (*fns[])(int) = {
		exec_shell,
		setuid_root,
	/* sanitizer builds allow clone and ptrace for LeakSanitizer (agent/sandbox.c) */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
		fork_child,
		ptrace_parent,
#endif
	};
	(void)s;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int st = confined(fns[i]);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			fail_msg("attack %zu: status %#x, not killed by SIGSYS", i, st);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(what_it_needs_works),
		cmocka_unit_test(what_it_may_not_fails),
		cmocka_unit_test(what_only_an_attacker_does_kills_it),
	};
	return cmocka_run_group_tests_name("agent-sandbox", tests, NULL, NULL);
}
