/* SPDX-License-Identifier: Apache-2.0 */
/* rampart-agent: enrols once, long-polls, verifies every delivery, executes. */
#include <getopt.h>
#include <unistd.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "upgrade.h"
#include "cmd.h"
#include "sandbox.h"

static const char *state_dir(const char *opt)
{
	const char *e = getenv("RAMPART_AGENT_DIR");
	return opt ? opt : e ? e : AGENT_DEFAULT_DIR;
}

static int enroll_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"token", required_argument, NULL, 't'},
		{"state-dir", required_argument, NULL, 's'},
		{"net-user", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *token = NULL, *dir = NULL, *net_user = getenv("RAMPART_AGENT_NET_USER");
	int c;

	while ((c = getopt_long(argc, argv, "t:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': token = optarg; break;
		case 's': dir = optarg; break;
		case 'u': net_user = optarg; break;
		case 'h':
			printf("Usage: rampart-agent enroll --token TOKEN [--state-dir DIR] [--net-user USER]\n\n"
			       "Enrols this device: checks the token, fetches the organisation's root\n"
			       "policy over TLS pinned to the server key named in the token, refuses it\n"
			       "unless its hash matches the token and its root signatures reach quorum\n"
			       "(or, when the policy was rotated since the token was made, unless it\n"
			       "follows from the token's version by verified rotations, each signed by\n"
			       "both root quorums), makes the device's Ed25519 key and registers it\n"
			       "with the one-time secret, or (a reusable RPE2 token) with an enrolment\n"
			       "note signed by the token's key and the device's, which rampartd logs and\n"
			       "which puts the device in the token's device groups and tags.\n\n"
			       "  --token TOKEN      RPE1.… or RPE2.… token from `rampart enroll-token'\n"
			       "  --state-dir DIR    where state is kept (default %s, or $RAMPART_AGENT_DIR)\n"
			       "  --net-user USER    the account of the process that talks to the server\n"
			       "                     (default %s, or $RAMPART_AGENT_NET_USER; as for `run')\n",
			       AGENT_DEFAULT_DIR, AGENT_NET_USER_DEFAULT);
			return 0;
		default: return 2;
		}
	}
	if (!token) {
		fprintf(stderr, "rampart-agent enroll: --token is required (see --help)\n");
		return 2;
	}
	return agent_enroll(token, state_dir(dir), net_user);
}

static int run_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"poll-wait", required_argument, NULL, 'w'},
		{"max-backoff", required_argument, NULL, 'b'},
		{"once", no_argument, NULL, '1'},
		{"no-cgroup", no_argument, NULL, 'C'},
		{"net-user", required_argument, NULL, 'u'},
		{"net-program", required_argument, NULL, 'P'},
		{"accounts-root", required_argument, NULL, 'R'},
		{"drift-interval", required_argument, NULL, 'D'},
		{"installer", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char self[PATH_MAX];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct run_opts o = {.poll_wait = 30,
			     .max_backoff = 60,
			     .net_user = getenv("RAMPART_AGENT_NET_USER"),
			     .drift_interval = RP_DRIFT_INTERVAL_S};
	const char *dir = NULL;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "s:w:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'w':
		case 'b':
		case 'D':
			if (rp_parse_u64(optarg, strlen(optarg), 3600, &v) != 0 || v == 0) {
				fprintf(stderr,
					"rampart-agent run: `%s' is not a number of seconds from 1 to 3600\n",
					optarg);
				return 2;
			}
			*(c == 'w'   ? &o.poll_wait
			  : c == 'b' ? &o.max_backoff
				     : &o.drift_interval) = (int)v;
			break;
		case '1': o.once = true; break;
		case 'C': o.no_cgroup = true; break;
		case 'u': o.net_user = optarg; break;
		case 'P': o.net_program = optarg; break;
		case 'R': o.accounts_root = optarg; break;
		case 'I':
			if (!*optarg || strchr(optarg, '\'') || strchr(optarg, '\n')) {
				fprintf(stderr,
					"rampart-agent run: --installer `%s' is empty or holds "
					"a quote or a newline\n",
					optarg);
				return 2;
			}
			o.installer = optarg;
			break;
		case 'h':
			printf("Usage: rampart-agent run [--state-dir DIR] [--poll-wait S] [--max-backoff S] [--once]\n"
			       "                         [--no-cgroup] [--net-user USER] [--accounts-root DIR]\n"
			       "                         [--drift-interval S] [--installer CMD]\n\n"
			       "Long-polls the server and, for every delivery, runs the checks of\n"
			       "DESIGN.md section 4 (policy, quorum of the exec role, org, target, time\n"
			       "window, never twice, payload hash and size) before executing anything.\n"
			       "A failed check is a security alert: logged to DIR/alerts.log and reported,\n"
			       "the same alert once per %d minutes (then a count), a code at most %d\n"
			       "statements' alerts per window (then a count), every field escaped.\n"
			       "The alerts about the log and the root of trust (log-fork, log-rollback,\n"
			       "witness-quorum, stale-checkpoint, freeze, policy-expired, ...) also go to\n"
			       "DIR/security.log, which no other alert fills. Each file is rotated to\n"
			       "FILE.1 at %d KiB (docs/operating.md). Every request has one\n"
			       "deadline (%d s, a poll its hold + %d s) and a size cap. The root policy's\n"
			       "expiry is enforced on every delivery, with warnings from %d days before.\n\n"
			       "  --state-dir DIR    state from `enroll' (default %s)\n"
			       "  --poll-wait S      how long the server may hold a poll (default 30)\n"
			       "  --max-backoff S    longest wait between retries when the server is down (default 60)\n"
			       "  --once             exit after handling one delivery\n"
			       "  --no-cgroup        never put a command in a cgroup of its own; contain it as\n"
			       "                     the subreaper of its processes instead (docs/operating.md)\n"
			       "  --net-user USER    the account of the network process (default %s,\n"
			       "                     or $RAMPART_AGENT_NET_USER); see below\n"
			       "  --net-program PATH run PATH as the network process, confined the same way\n"
			       "                     (tests of the split; never needed otherwise)\n"
			       "  --accounts-root DIR  converge the accounts of DIR/etc and DIR/home instead\n"
			       "                     of the machine's (tests; never needed otherwise)\n"
			       "  --drift-interval S how often the machine is looked at for drift from the\n"
			       "                     directory, and a changed drift report signed and sent\n"
			       "                     (default %d)\n"
			       "  --installer CMD    what installs a signed release of an `upgrade' command,\n"
			       "                     the package's path appended (default " AGENT_INSTALLER_DEFAULT
			       "):\n"
			       "                     run as root like a command; once it exits 0 the agent\n"
			       "                     runs itself again, the new binary (docs/upgrades.md)\n\n"
			       "The signed directory (docs/directory.md): every directory statement in the\n"
			       "log that reaches this device's quorum is folded into DIR/directory.state,\n"
			       "and the machine is converged to what it grants here: accounts in /etc/passwd,\n"
			       "/etc/shadow, /etc/group and /etc/gshadow (locked like shadow-utils, written\n"
			       "atomically, a backup kept as FILE-), SSH keys in\n"
			       "/etc/ssh/rampart/authorized_keys/LOGIN, sudo in /etc/sudoers.d/rampart-LOGIN\n"
			       "(checked by visudo first). A grant with an end is revoked at its end by this\n"
			       "device's clock, whether or not the server answers. Accounts the directory\n"
			       "does not manage are never touched; home directories are never deleted.\n\n"
			       "Two processes (docs/privsep.md): this one, root, keeps the device key and the\n"
			       "state, verifies and executes; a network process it starts, as USER with no\n"
			       "privilege, no_new_privs, a seccomp filter, and (where the kernel allows) a\n"
			       "read-only view of the filesystem in which DIR is empty, does all TLS, HTTP and\n"
			       "JSON. It passes on the raw signed bytes, checked here again; if it dies, hangs\n"
			       "or breaks the protocol, the agent stops with status 3 (alerts.log says why)\n"
			       "and the service manager restarts both. Status 10: this device was\n"
			       "decommissioned (`rampart devices remove'); it refuses to start again, its\n"
			       "accounts left as they are, so its unit needs RestartPreventExitStatus=10.\n\n"
			       "Commands run as their run-as account from /etc/passwd and /etc/group (not NSS:\n"
			       "LDAP/sssd accounts are not visible), with a clean environment. Everything a\n"
			       "command starts is killed when it ends, at its timeout, and on SIGTERM/SIGINT,\n"
			       "which stop the agent: a running command gets SIGTERM, then SIGKILL after %d s,\n"
			       "and is reported as killed.\n",
			       RP_ALERT_WINDOW_S / 60, RP_ALERT_CODE_KEYS, RP_ALERTS_LOG_MAX / 1024,
			       RP_AGENT_REQUEST_S, RP_AGENT_POLL_SLACK_S, RP_POLICY_WARN_S / 86400,
			       AGENT_DEFAULT_DIR, AGENT_NET_USER_DEFAULT, RP_DRIFT_INTERVAL_S,
			       RP_EXEC_STOP_GRACE_MS / 1000);
			return 0;
		default: return 2;
		}
	}
	int r = agent_run(state_dir(dir), &o);
	if (r != AGENT_EXIT_UPGRADED)
		return r;
	/* The same path and arguments: the binary there is the release just installed. */
	if (sn <= 0) {
		fprintf(stderr, "rampart-agent: upgraded, but its own path is unknown: exiting for "
				"the service manager to start it\n");
		return r;
	}
	self[sn] = '\0';
	argv[0] = "run";
	char **nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	if (!nargv)
		return r;
	nargv[0] = self;
	for (int i = 0; i < argc; i++)
		nargv[i + 1] = argv[i];
	fflush(NULL);
	execv(self, nargv);
	fprintf(stderr, "rampart-agent: upgraded, but running %s failed: %s\n", self,
		strerror(errno));
	free(nargv);
	return r;
}

static int verify_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'h':
			printf("Usage: rampart-agent verify [--state-dir DIR] FILE\n\n"
			       "Runs the agent's verification, the same code path as `run', on a\n"
			       "delivery saved to FILE (the JSON body of a poll answer). Executes\n"
			       "nothing and records nothing. Exit 0 if it would run, 1 if refused.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "rampart-agent verify: expected one FILE (see --help)\n");
		return 2;
	}
	return agent_verify_file(state_dir(dir), argv[optind], false);
}

static int status_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'j': json = true; break;
		case 'h':
			printf("Usage: rampart-agent status [--state-dir DIR] [--json]\n\n"
			       "This device's health, from its own state (no server is asked): its\n"
			       "version and installed release, root policy, how fresh its newest\n"
			       "cosigned checkpoint is, results waiting to be sent, and the alerts of\n"
			       "the last 24 hours by code. Exit 0 when healthy; 1 when its checkpoint is\n"
			       "older than the policy's freshness, the policy expires within %d days, an\n"
			       "alert was raised in the last day, results wait to be sent, or\n"
			       "it was decommissioned (each named under `health'); 2 when the state\n"
			       "cannot be read. For the host's own monitoring (docs/monitoring.md).\n\n"
			       "  --state-dir DIR    the agent's state (default %s, or $RAMPART_AGENT_DIR)\n"
			       "  --json             one JSON object (docs/monitoring.md has its shape)\n",
			       RP_POLICY_WARN_S / 86400, AGENT_DEFAULT_DIR);
			return 0;
		default: return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rampart-agent status: unexpected argument `%s' (see --help)\n",
			argv[optind]);
		return 2;
	}
	return agent_status(state_dir(dir), json);
}

static int rekey_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"net-user", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *net_user = getenv("RAMPART_AGENT_NET_USER");
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'u': net_user = optarg; break;
		case 'h':
			printf("Usage: rampart-agent rekey [--state-dir DIR] [--net-user USER]\n\n"
			       "Gives this device a new Ed25519 key. The new key is bound to the\n"
			       "current one by a note both keys sign; the server takes it and\n"
			       "refuses the old key from then on. The device id stays (it is the\n"
			       "hash of the first key), and administrators' CLIs verify the chain\n"
			       "of bindings back to it. A running agent carries on with the new\n"
			       "key at its next request. Interrupted, run it again: it finishes\n"
			       "with the same key.\n\n"
			       "  --state-dir DIR    the agent's state (default %s, or $RAMPART_AGENT_DIR)\n"
			       "  --net-user USER    the account of the process that talks to the server\n"
			       "                     (default %s, or $RAMPART_AGENT_NET_USER; as for `run')\n",
			       AGENT_DEFAULT_DIR, AGENT_NET_USER_DEFAULT);
			return 0;
		default: return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rampart-agent rekey: unexpected argument `%s' (see --help)\n",
			argv[optind]);
		return 2;
	}
	return agent_rekey(state_dir(dir), net_user);
}

static const struct rp_cmd commands[] = {
	{"enroll", enroll_main, "enrol this device with a token from an administrator"},
	{"rekey", rekey_main, "give this device a new key, bound to the current one"},
	{"run", run_main, "poll the server, verify and execute signed commands"},
	{"status", status_main, "this device's health from its own state, for monitoring"},
	{"verify", verify_main, "check a saved delivery with the same code path as run"},
};

int main(int argc, char *argv[])
{
	/* The network process, as `run' starts it (agent/sandbox.c): not for
	 * people. It signs and verifies nothing, so it never initialises
	 * libsodium (whose self-tests and choice of implementations would
	 * touch pages it does not need). */
	if (argc == 5 && strcmp(argv[1], AGENT_NET_ARG) == 0) {
		uint64_t u, g, p;
		if (rp_parse_u64(argv[2], strlen(argv[2]), UINT32_MAX, &u) != 0 ||
		    rp_parse_u64(argv[3], strlen(argv[3]), UINT32_MAX, &g) != 0 ||
		    rp_parse_u64(argv[4], strlen(argv[4]), INT32_MAX, &p) != 0)
			return 2;
		return agent_net_main(AGENT_NET_FD, (unsigned)u, (unsigned)g, (pid_t)p);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "rampart-agent: libsodium failed to initialise\n");
		return 1;
	}
	return rp_cmd_main("rampart-agent", NULL, commands, sizeof(commands) / sizeof(commands[0]),
			   argc, argv);
}
