/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The directory (DESIGN.md section 6): users, user groups, device groups,
 * devices and bindings, changed only by `rampart/directory/v1' statements
 * signed by the `directory' role's quorum and logged like commands.
 *
 * A statement is a change set: each object it names is put whole (a user
 * with all its keys, a group with all its members) or removed. The signed
 * directory is the fold of every directory statement in the log, in log
 * order: rampart and the agents compute it the same way (rp_dir_apply).
 * Statements form a chain: each names the version it makes (1, 2, ...) and
 * the hash of the directory entry before it, so a statement signed against
 * an older directory can never be logged after a newer one: the server
 * cannot hold a change back and play it after the one that undid it.
 *
 * Objects are kept sorted by their key (login, name, device id, the pair
 * of group names of a binding), which is also the one order a statement
 * lists them in, so that both the statement and the state have a single
 * text (docs/formats.md, "Directory").
 */

#include <stdbool.h>
#include <stdint.h>

#include "note.h"
#include "rp_limits.h"
#include "statement.h"
#include "util.h"

#define RP_DIR_NAME_MAX 32 /* user logins, group, device group and tag names */

enum rp_dir_access {
	RP_ACCESS_LOGIN,    /* log in, no sudo */
	RP_ACCESS_SUDO,     /* sudo for the commands listed, as root */
	RP_ACCESS_SUDO_ALL, /* sudo for everything */
};

struct rp_dir_user {
	char login[RP_DIR_NAME_MAX + 1];
	uint32_t uid, gid;
	char shell[RP_DIR_SHELL_MAX + 1];
	bool suspended;
	bool takeover; /* a local account of this login may be taken over (same uid) */
	char gecos[RP_DIR_GECOS_MAX + 1]; /* "" when none */
	size_t nkeys;
	char **keys; /* authorized_keys lines (lib/sshkey.h) */
};

struct rp_dir_group {
	char name[RP_DIR_NAME_MAX + 1];
	uint32_t gid;
	size_t nmembers;
	char (*members)[RP_DIR_NAME_MAX + 1]; /* logins, sorted, unique */
};

struct rp_dir_dgroup {
	char name[RP_DIR_NAME_MAX + 1];
};

struct rp_dir_device {
	char id[RP_ID_HEX + 1];
	size_t ngroups, ntags;
	char (*groups)[RP_DIR_NAME_MAX + 1]; /* device groups, sorted, unique */
	char (*tags)[RP_DIR_NAME_MAX + 1];   /* sorted, unique */
	/*
	 * `decommissioned' (rampart devices remove): in no group, with no tag, and
	 * for good: no later statement or enrolment changes the record, and the
	 * device's agent, seeing it, stops acting (docs/directory.md).
	 */
	bool decommissioned;
};

struct rp_dir_bind {
	char ugroup[RP_DIR_NAME_MAX + 1], dgroup[RP_DIR_NAME_MAX + 1];
	enum rp_dir_access access;
	int64_t until; /* 0: no end; else the first second it no longer grants */
	size_t ncommands;
	char **commands; /* RP_ACCESS_SUDO (lib/sshkey.h: rp_sudo_command_valid) */
};

/*
 * A reusable enrolment token (docs/formats.md, "Reusable enrolment
 * token"): devices whose enrolment note its key signed before it expired
 * get a record with its groups and tags, up to max of them, counted in
 * log order (lib/enroll.h). enrolled is the fold's (the state's), never a
 * statement's: the devices it already enrolled, so that a note logged
 * again counts once and a record removed later is not brought back.
 */
struct rp_dir_token {
	char id[RP_ID_HEX + 1];
	uint8_t key[32]; /* the Ed25519 public key whose seed the token text carries */
	int64_t expires; /* enrolment notes signed at or after it are not folded */
	uint32_t max;    /* devices it may enrol */
	size_t ngroups, ntags;
	char (*groups)[RP_DIR_NAME_MAX + 1]; /* device groups, sorted, unique */
	char (*tags)[RP_DIR_NAME_MAX + 1];   /* sorted, unique */
	size_t nenrolled;
	char (*enrolled)[RP_ID_HEX + 1]; /* state only: in log order */
};

/* A set of objects: the state, or what a statement puts or removes. */
struct rp_dir {
	size_t nusers, ngroups, ndgroups, ndevices, nbinds, ntokens;
	struct rp_dir_user **users;
	struct rp_dir_group **groups;
	struct rp_dir_dgroup **dgroups;
	struct rp_dir_device **devices;
	struct rp_dir_bind **binds;
	struct rp_dir_token **tokens;
};

/* A `rampart/directory/v1' statement. */
struct rp_dir_stmt {
	char org[RP_ORG_NAME_MAX + 1];
	char id[RP_ID_HEX + 1];
	uint64_t version;     /* the directory version it makes: 1, 2, ... */
	bool first;           /* version 1: `previous none' */
	uint8_t previous[32]; /* rp_dir_stmt_hash of the directory statement before it */
	int64_t expires;      /* it may be logged before this second only */
	struct rp_dir put;    /* objects put whole */
	struct rp_dir del;    /* objects removed: only their keys are set */
	bool repair_all;      /* `repair all' */
	size_t nrepair;       /* `repair <device id>' lines */
	char (*repair)[RP_ID_HEX + 1];
	char comment[RP_STATEMENT_COMMENT_MAX + 1];
	struct rp_note *note; /* when parsed from a signed note */
};

/* The folded directory: what the log's directory statements made, in order. */
struct rp_dir_state {
	char org[RP_ORG_NAME_MAX + 1];
	uint64_t version;  /* of the last directory entry; 0: none yet */
	uint8_t head[32];  /* rp_dir_stmt_hash of it (what the next one names as previous) */
	struct rp_dir dir; /* sorted by key */
	/*
	 * Entries folded: directory statements and enrolment notes (lib/enroll.h),
	 * and SHA-256 of the last one's bytes (what the CLI asks the server to show
	 * again). Without enrolments, entries == version and tail is unused.
	 */
	uint64_t entries;
	uint8_t tail[32];
};

bool rp_dir_name_valid(const char *s, size_t n);

/* Building statements (rampart's directory commands): objects by kind. */
enum rp_dir_kind {
	RP_DIR_USER,
	RP_DIR_GROUP,
	RP_DIR_DGROUP,
	RP_DIR_DEVICE,
	RP_DIR_BIND,
	RP_DIR_TOKEN
};
/* Inserts o (owned from then on) in d's sorted set, replacing an object of the same key. */
int rp_dir_insert(struct rp_dir *d, enum rp_dir_kind k, void *o);
/* The object of d with the key of key (an object of kind k, only its key set), or NULL. */
void *rp_dir_find(const struct rp_dir *d, enum rp_dir_kind k, const void *key);
void *rp_dir_obj_dup(enum rp_dir_kind k, const void *o);
void rp_dir_obj_free(enum rp_dir_kind k, void *o);
void rp_dir_release(struct rp_dir *d);
/* The bytes object o takes in a statement (its lines, its keys or commands included). */
size_t rp_dir_obj_len(enum rp_dir_kind k, const void *o);

/* Strict parse (docs/formats.md "Directory"); RP_E_MALFORMED/TOOBIG naming the line. */
int rp_dir_stmt_parse_text(const char *text, size_t len, struct rp_dir_stmt **ret,
			   struct rp_diag *d);
/* A signed note of one: st->note is set. */
int rp_dir_stmt_parse(const char *msg, size_t len, struct rp_dir_stmt **ret, struct rp_diag *d);
void rp_dir_stmt_free(struct rp_dir_stmt *st);
/* The text of st (what administrators sign); NULL when over RP_LOG_ENTRY_MAX or no memory. */
char *rp_dir_stmt_format(const struct rp_dir_stmt *st, size_t *ret_len);
bool rp_entry_is_directory(const uint8_t *entry, size_t len);

/*
 * The statement, logged as entry (its bytes, signatures included), applied
 * to s: it must name s's version + 1 and s's head (RP_E_MALFORMED
 * otherwise, with d saying which: the chain is broken, nothing changes).
 * With apply false only the chain moves (version and head): a device that
 * refuses the statement for its quorum keeps the chain but not the change.
 */
int rp_dir_apply(struct rp_dir_state *s, const struct rp_dir_stmt *st, const uint8_t *entry,
		 size_t len, bool apply, struct rp_diag *d);
/*
 * The statement, logged as entry, judged and folded into s under policy p
 * by an observer that requires min signatures (0: the role's threshold;
 * a device: the strictest of its groups, rp_dir_threshold): applied when
 * its `directory' signatures reach that (*ret_applied, set even when the
 * chain then refuses it), else only the chain moves. Applied, it changes the record of a device
 * only where it carries the signatures that device's groups require (by s, before it): so every
 * observer, whatever it requires itself, agrees on every device's groups and tags, and a statement
 * below the wallet servers' threshold cannot take one out of `wallet' in anyone's view.
 * *ret_dropped: the device records so left out. d: why not applied, or
 * why the chain is broken (the return value).
 */
int rp_dir_fold(struct rp_dir_state *s, struct rp_dir_stmt *st, const uint8_t *entry, size_t len,
		const struct rp_policy *p, uint32_t min, bool *ret_applied, size_t *ret_dropped,
		struct rp_diag *d);

/*
 * What the next statement names as previous: SHA-256 of st's text, its
 * signatures excluded (stable while they are collected, so that a change
 * in several parts is chained before any is signed); of entry when st was
 * parsed from a bare text.
 */
void rp_dir_stmt_hash(const struct rp_dir_stmt *st, const uint8_t *entry, size_t len,
		      uint8_t out[32]);

void rp_dir_state_init(struct rp_dir_state *s, const char *org);
void rp_dir_state_release(struct rp_dir_state *s);
/*
 * The state as text: `rampart/directory-state/v1', org, version, head,
 * then the objects in the statement's syntax and order. Parse is strict
 * (RP_E_TOOBIG over RP_DIR_STATE_MAX).
 */
char *rp_dir_state_format(const struct rp_dir_state *s, size_t *ret_len);
int rp_dir_state_parse(const char *text, size_t len, struct rp_dir_state *ret, struct rp_diag *d);

/* Lookups in a sorted set (a state's); NULL when absent. */
const struct rp_dir_user *rp_dir_user_get(const struct rp_dir *d, const char *login);
const struct rp_dir_group *rp_dir_group_get(const struct rp_dir *d, const char *name);
const struct rp_dir_device *rp_dir_device_get(const struct rp_dir *d, const char *id);
bool rp_dir_dgroup_exists(const struct rp_dir *d, const char *name);
const struct rp_dir_token *rp_dir_token_get(const struct rp_dir *d, const char *id);
/* device appended to t's enrolled list (lib/enroll.c's fold, the state's parse). */
int rp_dir_token_enlist(struct rp_dir_token *t, const char *device);

/*
 * Whether a command's `target' value reaches the device under the
 * directory s: a device id (itself), `group:<device group>', `tag:<tag>'
 * or `all'.
 */
bool rp_dir_targets(const struct rp_dir *s, const char *target, const char *device_id);

/* rp_command_targets, then its group and tag targets against the device's record v (may be NULL).
 */
bool rp_dir_device_targets(const struct rp_dir_device *v, const struct rp_command *c,
			   const char *device_id);
/* rp_command_targets, then its group and tag targets resolved against dir (may be NULL). */
bool rp_dir_command_targets(const struct rp_dir *dir, const struct rp_command *c,
			    const char *device_id);
/*
 * The threshold of role for the device under policy p: the strictest
 * device-group-threshold among the groups the directory dir puts it in.
 */
uint32_t rp_dir_threshold(const struct rp_policy *p, const struct rp_dir *dir, enum rp_role_id role,
			  const char *device_id);

/*
 * The signatures statement c needs before it is logged, under policy p and
 * directory dir: its role's threshold, or the strictest
 * device-group-threshold among the devices it reaches (every device for a
 * directory statement or `target all', else its targets, by id, group or
 * tag), so that every device it reaches accepts it.
 */
uint32_t rp_dir_statement_threshold(const struct rp_policy *p, const struct rp_dir *dir,
				    const struct rp_command *c);

/*
 * The difference between two states, one line per object added (+),
 * removed (-) or changed (~, then the old and new lines), in the state's
 * order: what `rampart directory diff' and `rampart approve' show. A
 * malloc'd text ("" when equal), NULL without memory.
 */
char *rp_dir_diff(const struct rp_dir *from, const struct rp_dir *to, size_t *ret_len);
