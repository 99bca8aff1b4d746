/* SPDX-License-Identifier: Apache-2.0 */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rp_err.h"

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

static char *tail_take(struct tail *t)
{
	char *out = malloc(t->len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < t->len; i++)
		out[i] = t->buf[(t->start + i) % RP_OUTPUT_KEEP];
	out[t->len] = '\0';
	return out;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: never returns. Only async-signal-safe work after fork. */
static void child(const char *script, bool shebang, const struct passwd *pw,
		  bool drop, int out_fd, char *const envp[])
{
	int devnull = open("/dev/null", O_RDONLY);

	setsid();
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	if (drop) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0)
			_exit(126);
	}
	if (chdir(pw->pw_dir) != 0 && chdir("/") != 0)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	if (shebang) {
		char *const argv[] = {(char *)script, NULL};
		execve(script, argv, envp);
	} else {
		char *const argv[] = {"sh", (char *)script, NULL};
		execve("/bin/sh", argv, envp);
	}
	_exit(127);
}

int agent_exec(const struct agent *a, const struct rp_command *c,
	       const uint8_t *payload, size_t len, struct exec_result *ret)
{
	struct exec_result res = {.exit_code = -1};
	struct tail tail = {0};
	char script[600] = "", env_home[300], env_user[80], env_logname[80], env_id[80];
	struct passwd pwbuf, *pw = NULL;
	char pwstore[4096];
	bool drop = false, shebang;
	int pipefd[2] = {-1, -1}, fd = -1, status = 0, r;
	pid_t pid;
	int64_t start = mono_ms(), deadline;

	if (getpwnam_r(c->run_as, &pwbuf, pwstore, sizeof(pwstore), &pw) != 0 || !pw) {
		res.status = RP_RESULT_FAILED;
		snprintf(res.reason, sizeof(res.reason), "no such user `%s' on this device", c->run_as);
		goto done;
	}
	if (geteuid() == 0) {
		drop = pw->pw_uid != 0;
	} else if (pw->pw_uid != geteuid()) {
		res.status = RP_RESULT_FAILED;
		snprintf(res.reason, sizeof(res.reason),
			 "the agent does not run as root, so it cannot run as `%s'", c->run_as);
		goto done;
	}

	/* The script file: created fresh, readable only by its runner. */
	snprintf(script, sizeof(script), "%s/work/%s", a->dir, c->id);
	unlink(script);
	fd = open(script, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0700);
	if (fd < 0 || (len > 0 && write(fd, payload, len) != (ssize_t)len) ||
	    (drop && fchown(fd, pw->pw_uid, pw->pw_gid) != 0)) {
		res.status = RP_RESULT_FAILED;
		snprintf(res.reason, sizeof(res.reason), "cannot write %.180s: %.60s", script, strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	shebang = len >= 2 && payload[0] == '#' && payload[1] == '!';

	snprintf(env_home, sizeof(env_home), "HOME=%s", pw->pw_dir);
	snprintf(env_user, sizeof(env_user), "USER=%s", pw->pw_name);
	snprintf(env_logname, sizeof(env_logname), "LOGNAME=%s", pw->pw_name);
	snprintf(env_id, sizeof(env_id), "RAMPART_COMMAND_ID=%s", c->id);
	char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		env_home, env_user, env_logname, "SHELL=/bin/sh", "LANG=C.UTF-8",
		env_id, NULL,
	};

	tail.buf = malloc(RP_OUTPUT_KEEP);
	if (!tail.buf || pipe2(pipefd, O_CLOEXEC) != 0) {
		r = RP_E_NOMEM;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		res.status = RP_RESULT_FAILED;
		snprintf(res.reason, sizeof(res.reason), "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0)
		child(script, shebang, pw, drop, pipefd[1], envp);
	close(pipefd[1]);
	pipefd[1] = -1;

	deadline = start + (int64_t)c->timeout * 1000;
	bool exited = false, timed_out = false, eof = false;
	int64_t drain_until = 0;
	while (!eof) {
		int64_t now = mono_ms(), until = exited ? drain_until : deadline;
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		int wait_ms = until > now ? (int)(until - now) : 0;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			/* Background children may hold the pipe: give them a second. */
			drain_until = now + 1000;
			continue;
		}
		if (wait_ms > 200)
			wait_ms = 200; /* wake to reap the child */
		int k = poll(&p, 1, wait_ms);
		if (k < 0 && errno != EINTR)
			break;
		if (k > 0) {
			char buf[8192];
			ssize_t n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0)
				tail_put(&tail, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				eof = true;
			continue;
		}
		if (mono_ms() >= until) {
			if (!exited)
				timed_out = true;
			break;
		}
	}
	/* Whatever is left of the process group goes now. */
	kill(-pid, SIGKILL);
	if (!exited)
		waitpid(pid, &status, 0);

	res.duration_ms = (uint64_t)(mono_ms() - start);
	if (timed_out) {
		res.status = RP_RESULT_TIMED_OUT;
	} else if (WIFEXITED(status)) {
		res.status = RP_RESULT_DONE;
		res.exit_code = WEXITSTATUS(status);
	} else {
		res.status = RP_RESULT_DONE;
		res.exit_code = 128 + WTERMSIG(status) > 255 ? 255 : 128 + WTERMSIG(status);
	}
done:
	if (fd >= 0)
		close(fd);
	if (script[0])
		unlink(script);
	if (tail.buf) {
		res.output = tail_take(&tail);
		res.output_len = tail.len;
	} else {
		res.output = strdup("");
	}
	if (!res.output) {
		r = RP_E_NOMEM;
		goto fail;
	}
	free(tail.buf);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	*ret = res;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (script[0])
		unlink(script);
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	free(tail.buf);
	free(res.output);
	return r;
}

void exec_result_release(struct exec_result *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}
