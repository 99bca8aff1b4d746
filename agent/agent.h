/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "state.h"
#include "verify.h"

#define AGENT_DEFAULT_DIR "/var/lib/rampart-agent"

struct run_opts {
	int poll_wait;             /* seconds the server may hold a poll */
	int max_backoff;           /* seconds */
	bool once;                 /* handle at most one delivery, then exit (tests) */
	bool no_cgroup;            /* contain commands without a cgroup (agent/exec.c) */
	const char *net_user;      /* the network process's account (NULL: the default) */
	const char *net_program;   /* a stand-in for the network process (tests) */
	const char *accounts_root; /* prefix of the /etc and /home converged (NULL: /) */
	int drift_interval;        /* seconds between looks for drift (RP_DRIFT_INTERVAL_S) */
	const char *installer;     /* what installs a release (agent/upgrade.h), NULL: dpkg -i */
};

int agent_enroll(const char *token, const char *dir, const char *net_user);
/* A new device key, bound to the current one (agent/rekey.c). */
int agent_rekey(const char *dir, const char *net_user);
int agent_run(const char *dir, const struct run_opts *o);
int agent_verify_file(const char *dir, const char *file, bool quiet);
/* `rampart-agent status' (agent/status.c): 0 healthy, 1 not, 2 state unreadable. */
int agent_status(const char *dir, bool json);
/* The network process's whole life (agent/net.c), on the channel fd. */
int agent_net_main(int fd, unsigned uid, unsigned gid, pid_t parent);

/*
 * The whole of DESIGN.md section 4 for this agent: its policy, its device
 * id, the clock with bounded skew, its durable executed record and its
 * view of the log. store: keep a newly verified checkpoint (false for
 * offline checks, which change nothing). *ret_proved: the entry's index
 * once the log checks passed, else left alone.
 */
int agent_check(struct agent *a, const struct rp_delivery *dl, bool store,
		struct rp_command **ret_cmd, char ret_id[RP_ID_HEX + 1], int64_t *ret_proved,
		struct rp_diag *d);
