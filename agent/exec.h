/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "result.h"
#include "state.h"

struct exec_result {
	enum rp_result_status status;
	int exit_code; /* -1 when the program did not exit by itself */
	int signal;    /* KILLED, TIMED_OUT: the signal that ended it, else 0 */
	uint64_t duration_ms;
	char *output; /* the last RP_OUTPUT_KEEP bytes of stdout+stderr */
	size_t output_len;
	char reason[RP_RESULT_REASON_MAX + 1]; /* why it failed to start, or what killed it */
	/* For the agent's log: how the subtree was contained, and why the
	 * fallback was used when it was. */
	char containment[200];
};

struct exec_opts {
	/* Never make a cgroup: use the subreaper fallback (docs/operating.md). */
	bool no_cgroup;
	/* Set by the caller's SIGTERM/SIGINT handler: the agent is stopping.
	 * agent_exec blocks those two signals while it waits and takes them
	 * only inside ppoll(), so a stop is never missed between a check of
	 * the flag and the wait. */
	const volatile sig_atomic_t *stop;
	/* A child of the agent that is not the command's: the network
	 * process, spared when the agent's orphans are killed (0: none). */
	pid_t spare;
};

/*
 * Runs a verified command's payload as its run-as account (docs/operating.md
 * "How commands run"): the script in a sealed memfd run by /bin/sh, or
 * executed itself when it starts with #!; a clean environment, umask 022,
 * default signal dispositions, stdin from /dev/null, stdout and stderr into
 * a pipe whose tail is kept. The command and everything it starts live in
 * a cgroup of their own (or, where none can be made, under the agent as
 * subreaper), and all of it is killed when the main process ends, at the
 * timeout, or when the agent stops (SIGTERM, then SIGKILL after
 * RP_EXEC_STOP_GRACE_MS).
 *
 * Returns 0 with *ret filled in for every outcome, a command that could
 * not start included (FAILED with a reason); < 0 only when no result can
 * be built at all (out of memory).
 */
int agent_exec(const struct rp_command *c, const uint8_t *payload, size_t len,
	       const struct exec_opts *o, struct exec_result *ret);
void exec_result_release(struct exec_result *r);
