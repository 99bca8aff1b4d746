/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Convergence (DESIGN.md section 6): makes this machine's accounts, group
 * memberships, SSH authorised keys and sudo rights what the signed
 * directory says they should be on this device, and finds what differs
 * (drift). The caller (agent/directory.c) turns the signed directory
 * state into a conv_plan for this device; this module knows nothing of
 * statements or signatures, only of the machine.
 *
 * What it writes, under env->root (a prefix: "" for the machine itself):
 *   /etc/passwd, /etc/shadow, /etc/group, /etc/gshadow: locked the way
 *     shadow-utils locks them (lckpwdf()'s /etc/.pwd.lock and each file's
 *     <file>.lock link), rewritten atomically (temporary file, fsync,
 *     rename), the previous version kept as <file>- as shadow-utils does,
 *     and the new text re-parsed before it replaces the old. Lines of
 *     accounts Rampart does not manage are kept byte for byte.
 *   /etc/ssh/rampart/authorized_keys/<login>: the keys sshd reads for a
 *     managed account (sshd_config: AuthorizedKeysFile
 *     /etc/ssh/rampart/authorized_keys/%u .ssh/authorized_keys).
 *   /etc/sudoers.d/rampart-<login>: installed only after `visudo -c -f'
 *     accepts it.
 * Home directories are created (from /etc/skel) for new accounts and are
 * never deleted. Accounts that Rampart does not manage are never touched,
 * except by a repair (conv_plan.repair), which locks an unknown uid 0
 * account, moves a foreign sudo drop-in or Rampart key file aside (into
 * env->state/quarantine), takes managed accounts out of local groups and
 * takes the keys the plan does not give out of their ~/.ssh/authorized_keys;
 * it deletes nothing. A removed account's login is taken out of the
 * member lists of local groups too, as userdel does, so that a later
 * account of that login inherits no membership.
 *
 * What it keeps, in env->state: converge.state, the accounts and groups
 * it manages and the hash of every file it wrote (strict parser, size
 * cap, fuzz target), so that an unchanged plan costs no write at all and
 * a file changed by hand is told apart from one the plan changes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

#define CONV_GECOS_MAX   64   /* printable UTF-8, no ':' ',' or control bytes */
#define CONV_SHELL_MAX   128  /* an absolute path */
#define CONV_KEY_MAX     8192 /* one authorized_keys line: type, base64, comment */
#define CONV_COMMAND_MAX 512  /* one sudo command: absolute path and arguments */

enum conv_sudo {
	CONV_SUDO_NONE,
	CONV_SUDO_COMMANDS, /* the listed commands, as root, without a password */
	CONV_SUDO_ALL,      /* (ALL:ALL) NOPASSWD: ALL */
};

struct conv_user {
	char login[RP_USER_NAME_MAX + 1];
	uint32_t uid, gid; /* uid >= 1000; gid: a conv_group's, else a personal group is made */
	char gecos[CONV_GECOS_MAX + 1];
	char shell[CONV_SHELL_MAX + 1];
	/* A local account of this login that Rampart does not manage yet may be
	 * taken over (same uid only); without it that account is a conflict,
	 * reported and left alone. */
	bool takeover;
	/*
	 * May log in: false for a suspended user and one whose grants on this
	 * device ended. The account then exists but is locked (shadow `!*'
	 * and account expiry 1, as `usermod -L -e 1': sshd under `UsePAM yes'
	 * ignores the `!', see converge.c), has no authorised keys and no
	 * sudo, and its running processes are ended (env->kill_sessions).
	 */
	bool access;
	size_t nkeys;
	char **keys; /* authorized_keys lines, without options: "TYPE BASE64 [COMMENT]" */
	enum conv_sudo sudo;
	size_t ncommands;
	char **commands; /* CONV_SUDO_COMMANDS */
};

struct conv_group {
	char name[RP_USER_NAME_MAX + 1];
	uint32_t gid;
	size_t nmembers;
	char (*members)[RP_USER_NAME_MAX + 1]; /* logins of the plan's users */
};

/*
 * Everything Rampart manages on this device. A managed account (one in
 * converge.state) that is not in the plan is removed: its passwd, shadow,
 * group and gshadow lines, its keys and its sudo go, its processes are
 * ended; its home directory stays and is reported.
 */
struct conv_plan {
	size_t nusers;
	struct conv_user *users;
	size_t ngroups;
	struct conv_group *groups;
	bool repair; /* the administrators asked for drift to be undone (a signed statement) */
};

struct conv_env {
	const char *root;   /* prefix of /etc and /home; "" for the machine itself */
	const char *state;  /* the agent's state directory (converge.state) */
	const char *visudo; /* NULL: /usr/sbin/visudo */
	bool kill_sessions; /* end the processes of accounts locked or removed */
	const char *proc;   /* NULL: /proc (where sessions are looked for) */
};

/* One thing done or found, for the agent's log and its signed report. */
struct conv_item {
	char code[24]; /* created, updated, locked, unlocked, removed, home-kept, keys, sudo,
			  group, conflict, drift-key, drift-uid0, drift-sudoers, drift-file,
			  drift-account, repaired, sessions-ended */
	char subject[RP_USER_NAME_MAX + 64]; /* a login, group or file */
	char detail[200];
};

struct conv_report {
	size_t n;
	struct conv_item *items; /* malloc'd; conv_report_release */
	unsigned writes;         /* files written (0 for an unchanged plan) */
};
void conv_report_release(struct conv_report *r);

/*
 * Converges the machine to p: what changed in p since the last apply is
 * written; what was changed by hand is left alone and reported as drift,
 * unless p->repair, which restores it. Returns 0, or an RP_E_* code with d
 * saying what failed (nothing is left half-written: each file is replaced
 * whole or not at all; a plan whose sudo rule visudo refuses installs no
 * sudo for that account and reports it).
 */
int conv_apply(const struct conv_env *env, const struct conv_plan *p, struct conv_report *rep,
	       struct rp_diag *d);

/* Finds drift (drift-* items) and conflicts only; writes nothing. */
int conv_drift(const struct conv_env *env, const struct conv_plan *p, struct conv_report *rep,
	       struct rp_diag *d);

/* Keys and sudo commands in a plan are checked by the directory's parser first
 * (lib/sshkey.h: rp_ssh_key_valid, rp_sudo_command_valid); conv_apply checks them again. */

/*
 * converge.state (env->state/converge.state, 0600, at most
 * RP_CONVERGE_STATE_MAX bytes): what the last apply wrote, so that the next
 * one tells a change of the plan from a change made by hand.
 *
 *   rampart/converge-state/v1
 *   pending
 *   user LOGIN UID GID LASTCHG PASSWD SHADOW KEYS SUDO REFUSED
 *   group NAME GID personal|plan GROUP GSHADOW
 *
 * `pending' (optional): an apply began writing and did not finish; the
 * next one writes the plan over whatever it finds. PASSWD, SHADOW, GROUP,
 * GSHADOW: SHA-256 (lowercase hex) of the line last written, without its
 * '\n'. KEYS, SUDO: of the file last written, `-' when there is none.
 * REFUSED: of the sudo rule visudo last refused, `-' when none (not tried
 * again until the rule changes). LASTCHG: the shadow line's day of the
 * last password change (days since 1970), fixed when the account was made.
 * Users, then groups, each sorted by name (strcmp), each name once and
 * never `root'; every id in the managed range (1000 to 65533). Nothing
 * else: one text per state.
 */
struct conv_state_user {
	char login[RP_USER_NAME_MAX + 1];
	uint32_t uid, gid, lastchg;
	uint8_t passwd[32], shadow[32];
	bool has_keys, has_sudo, has_refused;
	uint8_t keys[32], sudo[32], refused[32];
};

struct conv_state_group {
	char name[RP_USER_NAME_MAX + 1];
	uint32_t gid;
	bool personal; /* made for a user whose gid is no plan group's */
	uint8_t group[32], gshadow[32];
};

struct conv_state {
	bool pending;
	size_t nusers, ngroups;
	struct conv_state_user *users;   /* sorted by login */
	struct conv_state_group *groups; /* sorted by name */
};

/* Strict (RP_E_MALFORMED, RP_E_TOOBIG), d naming the line; ret set on success only. */
int conv_state_parse(const char *text, size_t len, struct conv_state *ret, struct rp_diag *d);
/* The text of s (malloc'd), NULL without memory or when s is not one the parser takes. */
char *conv_state_format(const struct conv_state *s, size_t *ret_len);
void conv_state_release(struct conv_state *s);
