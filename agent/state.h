/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The agent's state directory (default /var/lib/rampart-agent, mode 0700):
 *   agent.conf   server URL, pin, org, device id (written at enrolment)
 *   device.key   the device's Ed25519 signer key (0600)
 *   policy.note  the root policy accepted at enrolment (never rewritten)
 *   policy.v<N>.note  version N of the root policy, found in the log by the
 *                walk and verified by the rotation rule (agent/walk.c)
 *   scan.state   the walk through the log (rp_scan_state_parse): every entry read
 *                so far hashed into a frontier, and the root policies kept with
 *                the entry from which each is in force (atomic rewrite)
 *   executed     append-only record: "<statement id> <started|reported|refused> <unix>",
 *                compacted to one line per statement (the latest) when it grows
 *   log.state    the transparency log as this device last verified it (rp_log_state_parse):
 *                "size N\nroot <base64>\nnewest <unix>\nlast-index K\n" (atomic rewrite)
 *   checkpoint.note  the cosigned checkpoint behind log.state, kept as evidence
 *   spool/       results not yet acknowledged by the server
 *   alerts.log   alerts, one line each, rate-limited, the server's text escaped;
 *                rotated to alerts.log.1 past RP_ALERTS_LOG_MAX
 *   security.log the alerts about the log and the root of trust (agent_alert_security),
 *                also in alerts.log; rotated to security.log.1 on its own, so that a
 *                flood of other alerts never rotates them away
 * (Scripts are not written here: agent/exec.c hands each to its command
 * in a sealed memfd, which a dropped run-as user can read.)
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/api.h"
#include "cancel.h"
#include "converge.h"
#include "directory.h"
#include "note.h"
#include "policy.h"
#include "rp_limits.h"
#include "sandbox.h"
#include "scan.h"
#include "statement.h"
#include "converge.h"
#include "directory.h"
#include "verify.h"

struct agent_conf {
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
};

enum exec_mark { MARK_NONE, MARK_STARTED, MARK_REPORTED, MARK_REFUSED };

struct agent_record {
	char id[RP_ID_HEX + 1];
	enum exec_mark mark;
	int64_t t;    /* unix time of the mark */
	uint64_t seq; /* order of the marks, for compaction and dropping oldest first */
};

/* Alerts across statements (agent_alert): the caps are in lib/rp_limits.h. */

struct agent_alert_code {
	char code[RP_ALERT_CODE_MAX + 1];
	int64_t start, span;
	uint32_t keys;       /* statements that opened a window of their own in this one */
	uint64_t suppressed; /* alerts of the other statements, counted */
	uint64_t seen[RP_ALERT_SEEN_BITS / 64]; /* their ids, one keyed-hash bit each */
};

/* One rate-limit window: the same code for the same statement (id may be ""). */
struct agent_alert_window {
	char id[RP_ID_HEX + 1];
	char code[RP_ALERT_CODE_MAX + 1];
	int64_t start;
	uint64_t suppressed;
};

/* An alert (or a window's summary) for the caller to report to the server. */
struct agent_alert_note {
	char id[RP_ID_HEX + 1];
	char code[RP_ALERT_CODE_MAX + 1];
	char reason[RP_ALERT_REASON_MAX + 1];
};

#define AGENT_MEMBER_MAX 32 /* membership changes kept (membership.state) */

struct agent {
	char dir[512];
	struct agent_conf conf;
	struct rp_skey key;
	bool key_fixed;           /* `rekey' chooses the key it signs with: no agent_key_reload */
	bool key_hinted;          /* agent_key_reload said how to finish an unconfirmed rekey */
	struct rp_policy *policy; /* the newest root policy: pols[scan.npol - 1] */
	/* The walk through the log (agent/walk.c), and the policies it keeps, as
	 * scan.pol lists them: pols[i] is in force from entry scan.pol[i].index. */
	struct rp_scan_state scan;
	struct rp_policy *pols[RP_POLICY_KEEP_MAX];
	struct rp_api api;         /* the server's URL and pin, handed to the network process */
	struct rp_https_conn conn; /* kept from one request to the next (enrolment) */
	/* The network process (agent/privsep.h): every request goes through it. */
	struct agent_net_info net;
	/* the server keys it was started with (agent_net_start): a policy that
	 * names others restarts it (agent/run.c) */
	size_t net_npins;
	uint8_t net_pins[RP_POLICY_PINS_MAX][32];
	/* started trusting any server key, to read the log only (agent/run.c) */
	bool net_unpinned;
	uint32_t net_seq;
	bool upgraded;     /* an upgrade was installed: agent_run ends, main runs the new binary */
	bool net_broken;   /* gone, late or off-protocol: stop */
	char net_why[256]; /* how it broke */
	const volatile sig_atomic_t *cancel; /* the stop flag of the run loop */
	/*
	 * The executed record in memory, one entry per statement, with an
	 * open-addressing index by id (slot: record index + 1, 0 free).
	 * Started and reported records are as many as the commands this
	 * device ran; refused ones are kept to refused_keep, newest first.
	 */
	struct agent_record *recs;
	size_t nrecs, caprecs, nrefused;
	uint32_t *index;
	size_t index_cap; /* a power of two, at least twice nrecs */
	uint64_t seq;
	/* The executed file: its lines (records, superseded ones, junk) and
	 * size; stale once records were dropped from memory and not yet from it. */
	uint64_t exec_lines, exec_bytes;
	bool exec_stale;
	struct rp_log_state log;
	/* Rate-limit windows of alerts (agent_alert). */
	struct agent_alert_window alerts[RP_ALERT_KEYS_MAX];
	size_t nalerts;
	struct agent_alert_code alert_codes[RP_ALERT_CODES_MAX];
	size_t ncodes;
	/* The run loop's clock: when the freeze alarm is next due (0: never),
	 * which every request and nap ends before; the last expiry warning. */
	int64_t freeze_due, policy_warned;
	/* When this run found its log retired (scan.retired), 0 when not: from then on the
	 * old log's fresh checkpoints no longer count against the freeze alarm */
	int64_t retired_since;
	/* Versions dropped from scan.state whose files go once it no longer names them */
	uint64_t unkept[RP_POLICY_KEEP_MAX];
	size_t nunkept;
	/* The owed entry last alerted `log-withheld' for (+1; 0: none) */
	uint64_t withheld_alerted;
	char fresh_why[400]; /* why the last checkpoint refresh failed, for the freeze alarm */
	/*
	 * The signed directory as this device folded it (agent/directory.c):
	 * dir_dirty until directory.state holds it, dir_changed until the
	 * machine was converged to it; dir_due, when a grant on this device
	 * next ends (0: none), converged then, server or no server.
	 */
	struct rp_dir_state dirst;
	/* The cancels the walk read (agent/cancel.c, cancel.state); dirty until written. */
	struct rp_cancel_state *cancels;
	bool cancels_dirty;
	/*
	 * This device's record (groups, tags) as it changed along the log it
	 * reads: member[i] is in force after entry member[i].index (oldest
	 * first; none: in no group). A command is judged by the record in
	 * force at its entry, never by one a later change made
	 * (membership.state, agent/directory.c).
	 */
	size_t nmember;
	struct agent_member {
		uint64_t index;
		size_t ngroups, ntags;
		char groups[RP_DIR_DEVICE_GROUPS_MAX][RP_DIR_NAME_MAX + 1];
		char tags[RP_DIR_TAGS_MAX][RP_DIR_NAME_MAX + 1];
	} member[AGENT_MEMBER_MAX];
	struct rp_dir_device member_view; /* what agent_dir_device_at returns */
	bool member_dirty;
	bool dir_dirty, dir_changed;
	int64_t dir_due;
	/* The drift report last acknowledged by the server (its items' hash), and
	 * when the machine is next looked at for drift (agent/run.c). */
	uint8_t drift_sent[32];
	bool drift_sent_ok;
	int64_t drift_due, drift_interval;
	/*
	 * Enrolled by a reusable token: the log index of its enrolment note
	 * (enrolment.index), -1 otherwise. Until the walk passed it, the
	 * checkpoint is fetched every few seconds, not every half freshness
	 * window: the device's groups come from that entry (lib/enroll.h).
	 */
	int64_t enrol_index;
	bool decommissioned; /* its own record says so (agent_decommission) */
	int64_t facts_due;   /* the next look at its facts (agent/facts.c) */
	/* Caps, set by agent_load from rp_limits.h (tests lower them). */
	size_t refused_keep;
	uint64_t compact_min, alerts_max;
	int64_t alert_window;
};

int agent_path(const struct agent *a, char *out, size_t outlen, const char *name);
int agent_conf_write(const char *dir, const struct agent_conf *c);
/* agent.conf's text: exactly the four lines agent_conf_format writes. */
int agent_conf_parse(const char *text, size_t len, struct agent_conf *c, struct rp_diag *d);
/* Writes the text into buf; its length, or RP_E_TOOBIG. */
int agent_conf_format(const struct agent_conf *c, char *buf, size_t n);
/*
 * One line of the executed record (without '\n'), exactly "<id> <mark>
 * <unix>": 0 and the record (seq 0), or RP_E_MALFORMED.
 */
int agent_record_parse(const char *line, size_t len, struct agent_record *ret);
/* The line (with '\n') into buf: its length, or RP_E_TOOBIG. */
int agent_record_format(const struct agent_record *r, char *buf, size_t n);
/*
 * Loads conf, key, policy and the executed record; sets up the API client.
 * The executed record is read a block at a time, whatever its size (lines
 * that do not parse, such as a torn last line, are skipped), and compacted
 * when it has grown: an agent never fails to start because it grew.
 */
int agent_load(struct agent *a, const char *dir, struct rp_diag *d);
void agent_release(struct agent *a);
/*
 * After the server refused the device's key: device.key read again, and
 * taken when `rampart-agent rekey' replaced it (a valid key under this
 * device's id). 1 when the key changed, 0 when not, < 0 when unreadable.
 */
int agent_key_reload(struct agent *a);
/* A device key file: the owner's alone (RP_FILE_PRIVATE), parsed, its text wiped. */
int agent_key_read(const char *path, struct rp_skey *ret, struct rp_diag *d);

enum exec_mark agent_mark_get(const struct agent *a, const char *id);
/*
 * Appends and fsyncs a record line before returning (a torn last line is
 * cut first: rp_append_line), then compacts the file when it has grown.
 * Marks only move forward (none, refused, started, reported): setting
 * the mark a statement already has, or an earlier one, writes nothing.
 */
int agent_mark_set(struct agent *a, const char *id, enum exec_mark m);
/* Rewrites executed as one line per statement, refused ones beyond refused_keep dropped. */
int agent_records_compact(struct agent *a);
/*
 * The rp_verify_delivery replay hook: a statement that started or ran is
 * "seen". A refusal is not: it was for what the statement says (refused
 * again on a new delivery) or for an unverified text under that id, which
 * must not block the genuine statement.
 */
int agent_seen(void *arg, const char *id);

/* agent/directory.c */

/* directory.state, or an empty directory (none yet). */
int agent_dir_load(struct agent *a, struct rp_diag *d);
void agent_dir_release(struct agent *a);
/* Writes directory.state and membership.state when the fold changed them (atomically). */
int agent_dir_save(struct agent *a);
/* This device's record in force at log entry index (NULL: in no group). */
const struct rp_dir_device *agent_dir_device_at(struct agent *a, uint64_t index);
/* A move to a new log: its record from the new log's entry 0 on is the current one. */
void agent_dir_log_moved(struct agent *a);
/* membership.state's text; parse is strict (RP_E_MALFORMED naming the line). */
int agent_member_parse(const char *text, size_t len, struct agent *a, struct rp_diag *d);
char *agent_member_format(const struct agent *a, size_t *ret_len);
/*
 * The walk's judgement of a directory entry (p: the policy in force at
 * it): folded into a->dirst, or not, with ret's code, reason and the
 * statement's id set (code "" when nothing is to be alerted).
 */
struct agent_walk_alert;
void agent_dir_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len,
		    const struct rp_policy *p, struct agent_walk_alert *ret);
/*
 * A logged enrolment note (lib/enroll.h) folded into the directory: the
 * device it enrols gets the token's groups and tags, in every agent's view
 * alike (rp_dir_enrol_fold); this device's membership moves when it is the one.
 */
void agent_dir_enrol_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len);
/* enrolment.index: read at start; pending while the walk has not passed it. */
void agent_enrol_load(struct agent *a);
bool agent_enrol_pending(struct agent *a);
/* agent/facts.c: facts re-sent, signed, when they change; looked at this often. */
#define AGENT_FACTS_INTERVAL_S 60
void agent_facts_refresh(struct agent *a);
/* PRETTY_NAME of os-release, else the kernel's name and release. */
void agent_os_name(char *out, int n);
/* The exit status of a decommissioned agent: its service must not restart it. */
#define AGENT_EXIT_DECOMMISSIONED 10
void agent_decommission(struct agent *a, uint64_t index, const char *id);
/* Whether a `decommissioned' file says this device was decommissioned. */
bool agent_decommissioned_before(struct agent *a);
/*
 * What the directory dir grants on device at now, as agent/converge.c
 * takes it: the users of every user group bound to one of the device's
 * groups (locked when suspended or their grants ended), those groups,
 * each user's sudo. Keys and commands are borrowed from dir, which must
 * outlive the plan. *ret_due: when the next grant in it ends (0: none).
 */
int agent_dir_plan(const struct rp_dir *dir, const char *device, int64_t now, struct conv_plan *ret,
		   int64_t *ret_due);
void agent_dir_plan_release(struct conv_plan *p);

/* agent/walk.c */

/*
 * Loads scan.state and the policies it keeps (each quorum-checked again), or
 * starts the walk at entry 0 with policy.note, the enrolment's, in force from
 * there. Called by agent_load once policy.note is loaded into a->policy,
 * which the walk then owns (a->policy is the newest policy kept; a failed
 * load leaves it NULL). agent_walk_release frees them all.
 */
int agent_walk_load(struct agent *a, struct rp_diag *d);
/*
 * One step of the walk: entries that continue it, checked against the
 * stored checkpoint (rp_scan_verify), then each root policy among them
 * judged in log order (the next version by the rotation rule, anything else
 * refused with an alert in ret_alerts: code and reason), kept durably, and
 * scan.state written. RP_E_PROOF (nothing kept) when the entries are not
 * the log's.
 */
struct agent_walk_alert {
	char code[RP_ALERT_CODE_MAX + 1];
	char reason[RP_ALERT_REASON_MAX + 1];
	char id[RP_ID_HEX + 1]; /* the statement it is about, or "" */
};
int agent_walk(struct agent *a, const struct rp_entries *e, struct agent_walk_alert *ret_alerts,
	       size_t max_alerts, size_t *ret_nalerts, struct rp_diag *d);
/* The root policy in force at entry index: the newest kept at or before it. */
const struct rp_policy *agent_policy_at(const struct agent *a, uint64_t index);
/*
 * The policy whose log line names the log this device reads (its
 * checkpoints' key, witnesses, freshness): the newest, except while the
 * newest has retired this log (scan.retired) and the device has not moved.
 */
const struct rp_policy *agent_log_policy(const struct agent *a);
/* While the log is retired, its size at its end (the policy that ended it is the last entry); else
 * 0. */
uint64_t agent_log_end(const struct agent *a);
/*
 * Whether the walk read a command for this device (signed by its quorum)
 * that it has not acted on and that has not expired (scan.owed): a
 * retired log is not left while it is owed.
 */
bool agent_owes(const struct agent *a);
/*
 * The move to the log the newest policy names, once this one is retired
 * and nothing more is to come from it: the walk starts again at its entry
 * 0 under that policy alone, and the log state starts empty (the newest
 * cosignature time is kept for the freeze alarm). Entries of the old log
 * are never acted on after this. Durable: scan.state, then log.state.
 */
int agent_log_move(struct agent *a);
/* Drops kept policies no entry still to be acted on can need (after last-index moved). */
void agent_walk_prune(struct agent *a);
void agent_walk_release(struct agent *a);

/*
 * agent/cancel.c: the cancels read along the log (lib/cancel.h). Loaded and
 * released with the walk; a cancel entry is judged by the policy in force
 * at it (one valid exec signature), recorded, and written to cancel.state
 * before scan.state moves past it. agent_cancelled: the record of command
 * id, or NULL; agent_cancel_seen: a command entry with that id was read,
 * so the record is kept until that command's own expiry.
 */
int agent_cancel_load(struct agent *a, struct rp_diag *d);
void agent_cancel_release(struct agent *a);
void agent_cancel_walk(struct agent *a, uint64_t index, const uint8_t *entry, size_t len,
		       struct agent_walk_alert *ret);
const struct rp_cancel_rec *agent_cancelled(struct agent *a, const char *id);
void agent_cancel_seen(struct agent *a, const char *id, int64_t expires);
int agent_cancel_save(struct agent *a);

/* agent/alert.c */

/*
 * A line on stderr, "<time> rampart-agent: <msg>", msg escaped with
 * rp_quote: what the server sent cannot start a line of its own or send
 * the terminal escape sequences.
 */
void agent_log_line(const char *msg);
void agent_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same without the time, "rampart-agent: <msg>", for commands a person runs (enroll). */
void agent_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes one alert, unconditionally, to stderr and alerts.log as
 * "<time> <code> <id or -> <reason>", each field escaped (rp_quote), so a
 * line is one alert, and a security alert to security.log too; each file
 * is rotated to <file>.1 first when the line would take it past
 * a->alerts_max.
 */
void agent_alert_log(const struct agent *a, const char *id, const char *code, const char *reason);

/*
 * Whether code speaks of the log or the root of trust (fork, rollback,
 * proofs, witnesses, freshness, the root policy's expiry): kept in
 * security.log as well, which other alerts never rotate.
 */
bool agent_alert_security(const char *code);

/*
 * What alerts.log lines (`<time> <code> <id> <reason>', as agent_alert
 * writes them) say from since on, for `rampart-agent status': lines that
 * do not read so, or are older, are passed over.
 */
#define AGENT_TALLY_CODES_MAX 32
struct agent_alert_tally {
	struct {
		char code[RP_ALERT_CODE_MAX + 1];
		unsigned n;
	} codes[AGENT_TALLY_CODES_MAX];
	size_t ncodes;
	unsigned total, security, refusals;
	unsigned other_codes;         /* lines of codes past AGENT_TALLY_CODES_MAX */
	char last[RP_ALERT_LINE_MAX]; /* the newest line counted, as written (escaped) */
};
void agent_alerts_tally(const char *buf, size_t len, int64_t since, struct agent_alert_tally *t);

/*
 * The rate limiter in front of agent_alert_log: the same code for the same
 * statement is written once per a->alert_window; the others are counted,
 * and the count is written as one summary line when the window closes.
 * A code writes at most RP_ALERT_CODE_KEYS statements' alerts per window
 * (struct agent_alert_code); the others are counted for the code, and
 * agent_alert_flush writes the count.
 * Returns how many notes (0 to 2) in out the caller should report to the
 * server: the alert itself unless suppressed, and the summary of a window
 * this alert closed (its own key's past window, or the oldest evicted to
 * make room).
 */
size_t agent_alert(struct agent *a, int64_t now, const char *id, const char *code,
		   const char *reason, struct agent_alert_note out[2]);
/*
 * Closes every window that has passed: writes the summary of those that
 * suppressed alerts and returns up to max of them in out, to report. A
 * code's flood is counted until this closes its window (the run loop
 * calls it every cycle), so that agent_alert has no third note to return.
 */
size_t agent_alert_flush(struct agent *a, int64_t now, struct agent_alert_note *out, size_t max);

/* rp_verify_ctx.store: keeps a verified checkpoint (log.state, checkpoint.note). */
int agent_log_store(void *arg, const struct rp_checkpoint *cp, const char *note, size_t len,
		    int64_t newest);
/* Empties log.state for a log of that origin (the move to a new log), durably. */
int agent_log_begin(struct agent *a, const char *origin);
/* Records that log entry index was acted on (run or refused): entries go in order. */
int agent_log_acted(struct agent *a, int64_t index);
