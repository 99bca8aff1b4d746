/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "client/api.h"
#include "cancel.h"
#include "facts.h"
#include "note.h"
#include "policy.h"
#include "result.h"
#include "signer.h"
#include "sshagent.h"
#include "statement.h"

/*
 * signer.c: what signs for the administrator. --key (RAMPART_KEY, config
 * `key') names a key file, or "ssh-agent:" and a verifier key (the text
 * name+hexid+base64, or a .vkey file holding it) for an Ed25519 key held
 * by ssh-agent: the agent at --ssh-agent SOCKET, else $SSH_AUTH_SOCK.
 */
#define CLI_AGENT_PREFIX "ssh-agent:"
struct cli_signer {
	struct rp_signer s; /* what signs; s.vkey names the key */
	bool open;
	bool agent;              /* the key is in an ssh-agent */
	struct rp_skey key;      /* a key file's key */
	struct rp_sshagent conn; /* an agent's connection */
	char what[160];          /* "ssh-agent at PATH" */
};

/*
 * Settings, from (strongest first) command-line options, the environment
 * (RAMPART_SERVER, RAMPART_PIN, RAMPART_ORG, RAMPART_KEY, RAMPART_TOKEN)
 * and the config file ($RAMPART_CONFIG, else ~/.config/rampart/config).
 */
struct cli {
	char config_path[512];
	char config_dir[512];
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char key_path[512];
	char token[256];
	char ssh_agent[108]; /* --ssh-agent SOCKET */
	bool json;
	struct cli_signer signer; /* the --key signer, once cli_need_server opened it */
	struct rp_api api;
	/* The trusted policy followed the server's chain and its expiry was checked (rotate.c). */
	bool policy_checked;
	/* cli_need_server found the settings wrong (none, or not valid): main exits CLI_USAGE. */
	bool usage_error;
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char *argv[]);
	const char *help;
};

/*
 * Exit statuses, the same for every command (docs/cli.md, rampart --help).
 * Stable: scripts test them.
 */
enum cli_exit {
	CLI_OK = 0,       /* what was asked was done (and verified) */
	CLI_FAIL = 1,     /* what was asked failed: the server refused or is unreachable, a
			     device's command failed, nothing found */
	CLI_USAGE = 2,    /* a wrong option, argument or command: nothing was done */
	CLI_SECURITY = 3, /* something did not verify: a forged or foreign statement, a
			     policy chain, a hash, an audit finding */
	CLI_REFUSED = 4,  /* refused for the state it is in: approved already, expired */
	CLI_TIMEOUT = 5,  /* a wait ran out with targets that never answered */
	CLI_PARTIAL = 6,  /* some targets succeeded, others failed */
};
/* An error message said SECURITY: main turns a plain failure into CLI_SECURITY. */
extern bool cli_security_seen;

/* Errors go to stderr as "rampart: <what>: <why>". */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_need_server(struct cli *c, bool need_key);
/* GET path from the server (admin.c); NULL after an error message. */
json_t *cli_get(struct cli *c, const char *path);
/* o's string k, or "" (never NULL). */
const char *cli_js(json_t *o, const char *k);
int cli_load_key(struct cli *c, const char *path, struct rp_skey *ret);
/* A verifier key: the text, or a file holding it; d says what was wrong. */
int cli_read_vkey(const char *arg, struct rp_vkey *ret, struct rp_diag *d);
/*
 * The signer spec names (a key file, or ssh-agent:VKEY); an error message
 * printed on failure. ret must stay where it is until cli_signer_close.
 */
int cli_signer_open(struct cli *c, const char *spec, struct cli_signer *ret);
void cli_signer_close(struct cli_signer *s); /* a zeroed one, or one that failed, too */
/* $SSH_AUTH_SOCK, or --ssh-agent SOCKET; NULL for none. */
const char *cli_agent_path(const struct cli *c);
/* True when the key file is an encrypted one (keyfile.c). */
bool cli_key_encrypted(const char *path);
/*
 * unlock.c: the signer of an encrypted key file whose key ssh-agent holds
 * (`rampart key unlock'), named by FILE.vkey; RP_E_NOTFOUND otherwise.
 */
int cli_signer_unlocked(struct cli *c, const char *path, struct cli_signer *ret);
int cli_key_unlock(struct cli *c, int argc, char *argv[]);
int cli_key_lock(struct cli *c, int argc, char *argv[]);
/* rampart key from-ssh-agent NAME */
int cli_key_from_agent(struct cli *c, int argc, char *argv[]);
int cli_confirm(const char *question);
/* True only when the person types phrase exactly (not a y of habit). */
int cli_confirm_phrase(const char *question, const char *phrase);
/* "30s", "10m", "24h", "7d" or a YYYY-MM-DDTHH:MM:SSZ time. */
int cli_parse_when(const char *s, int64_t now, int64_t *ret);
int cli_trusted_policy_path(const struct cli *c, const char *org, char *out, size_t n);
/* Adds the server keys p names to those the connection accepts (cli_policy does). */
void cli_policy_pins(struct cli *c, const struct rp_policy *p);
/* The same from the trusted copy on disk, for commands that do not follow the chain (audit). */
void cli_trusted_pins(struct cli *c);
/* Version 1 of the org's root policy, kept when the trusted copy first moves past it (audit). */
int cli_genesis_policy_path(const struct cli *c, const char *org, char *out, size_t n);
bool cli_is_help(int argc, char *argv[]);

/*
 * out.c: every string from the server reaches the terminal through these
 * (lib/text.c): neutralised, in cells as wide as what they display.
 */
void cli_put(FILE *f, const char *s);                /* a fragment of one line */
void cli_cell(FILE *f, const char *s, size_t width); /* exactly width columns */
void cli_last(FILE *f, const char *s, size_t width); /* a last column, cut at width, then \n */
/*
 * Lines as they are, each after CLI_GUTTER (returns escapes): a text
 * someone else wrote (a statement, a payload, evidence), fenced, so that a
 * line in it can never pass for one of the CLI's own ("---- signatures").
 */
#define CLI_GUTTER "| "
size_t cli_fenced(FILE *f, const char *s, size_t n);
void cli_json(FILE *f, const json_t *j); /* ASCII-only JSON */

/* trust.c: what the CLI verified (DESIGN.md section 4a). */
/* The org's trusted root policy (<config dir>/<org>.policy); NULL after an error message. */
struct rp_policy *cli_policy(struct cli *c);

/*
 * rotate.c: root policy N+1. cli_policy_follow moves the trusted copy p (kept
 * at path) forward along the server's published versions, each verified by
 * rp_policy_verify_rotation after the one before, never backwards; a version
 * that does not verify is a SECURITY error (RP_E_POLICY) and nothing beyond
 * the last good one is trusted. *pp is then the newest verified version.
 */
int cli_policy_follow(struct cli *c, struct rp_policy **pp, const char *path);
/* A warning on stderr when p expires within RP_POLICY_WARN_S (or has expired). */
void cli_policy_warn_expiry(const struct rp_policy *p);
/* Line-based diff of two texts, each line after "  ", "- " or "+ " and the gutter. */
size_t cli_policy_diff(FILE *f, const char *a, size_t alen, const char *b, size_t blen);
/* `rampart approve --policy [HASH]': review and sign a pending proposal. */
int cli_approve_policy(struct cli *c, const char *hash, bool yes);
/*
 * The pending proposals of version N+1 that verify against p, one line each
 * to f when f is set, for listings of what awaits signatures; the same as a
 * JSON array (never NULL but out of memory). Nothing when the server does
 * not answer.
 */
json_t *cli_policy_pending(struct cli *c, const struct rp_policy *p, FILE *f);
/* `rampart policy propose|status|submit', argv[0] being the word. */
int cli_policy_rotation(struct cli *c, int argc, char *argv[]);
/* Feeds each line of text (tlog-policy lines, each ending in \n) to wp, then finishes it. */
int cli_wpolicy_lines(struct rp_wpolicy *wp, const char *text, struct rp_diag *d);
/* True when k is the key of that name in p, and a key of the role. */
bool cli_key_in_role(const struct rp_policy *p, enum rp_role_id role, const struct rp_vkey *k);
/* cli_read_vkey for an administrator's key: the error message printed. */
int cli_admin_vkey(const char *arg, struct rp_vkey *ret);

/* A command statement from the server, as verified against the trusted policy. */
struct cli_view {
	struct rp_command *cmd; /* NULL: not a valid statement of this org (and id) */
	char problem[320];      /* why, when cmd is NULL */
	enum rp_role_id role;
	struct rp_sig_check sig[RP_NOTE_SIGS_MAX];
	size_t count; /* distinct valid signatures by keys of the role */
	uint32_t threshold;
	size_t forged;  /* lines claiming a policy key that do not verify */
	size_t unknown; /* lines by keys outside the policy */
	/* A signed cancel of it, verified (cli_view_cancel, cancel.c): state cancelled or
	 * rejected, by whom, why. cancel_problem: the server showed one that does not verify. */
	int cancel_kind; /* 0: none; 1 + enum rp_cancel_kind */
	char cancel_by[RP_NOTE_NAME_MAX + 1];
	char cancel_reason[RP_CANCEL_REASON_MAX + 1];
	int64_t cancel_time;
	char cancel_problem[400];
};
/*
 * cancel.c: the server's "cancel" of the command v shows (a signed note, or
 * null), verified against p: one valid signature by an exec key, naming
 * this command and the very text v verified. Sets v's cancel fields.
 */
void cli_view_cancel(struct cli_view *v, const struct rp_policy *p, json_t *cancel);
/* "cancelled", "rejected", or NULL when v carries no verified cancel. */
const char *cli_view_cancel_state(const struct cli_view *v);
int cmd_cancel(struct cli *c, int argc, char *argv[]);
/* admin.c: --to's device ids, group:, tag: or all, comma-separated, into cmd->targets. */
int cli_add_targets(struct rp_command *cmd, const char *what, const char *arg);
/*
 * admin.c: cmd, filled but for its payload's hash and size, signed with
 * the administrator's key and submitted with payload; the outcome printed
 * as `run' prints it. 0, or -1 after an error message (what: the command's name).
 */
int cli_command_submit(struct cli *c, const char *what, struct rp_command *cmd,
		       const uint8_t *payload, size_t plen);
/* upgrade.c */
int cmd_upgrade(struct cli *c, int argc, char *argv[]);
int cmd_releases(struct cli *c, int argc, char *argv[]);
int cmd_enroll_command(struct cli *c, int argc, char *argv[]);
int cmd_reject(struct cli *c, int argc, char *argv[]);
/* admin.c: the review approve shows (statement, payload, targets, signatures). */
void cli_show_command(struct cli *c, const struct rp_policy *p, const struct cli_view *v,
		      const uint8_t *payload, size_t plen);
/* id NULL: any id. */
void cli_view_init(struct cli_view *v, const struct rp_policy *p, const char *org, const char *id,
		   const char *statement);
void cli_view_release(struct cli_view *v);
/*
 * The "payload" of the server's command object j (base64), checked
 * against the statement v verified: 0 and the bytes (malloc'd),
 * RP_E_MALFORMED when it is not base64, RP_E_PAYLOAD when its size or
 * hash is not the statement's (nothing returned), RP_E_NOMEM.
 */
int cli_view_payload(const struct cli_view *v, json_t *j, uint8_t **ret, size_t *ret_len);
bool cli_view_approved(const struct cli_view *v);
/* UNVERIFIED, unsigned, pending-approval, expired, scheduled, approved or ended. */
const char *cli_view_state(const struct cli_view *v, int64_t now);
/* One line per signature line, each as verified; forged ones loudly. */
void cli_view_signatures(FILE *f, const struct rp_policy *p, const struct cli_view *v);
json_t *cli_view_json(const struct cli_view *v, int64_t now);

/* A device's facts, verified against the key that hashes to its id. */
struct cli_facts {
	bool key_ok;   /* the server's first key for it hashes to its id, and every
			  binding of its later keys verifies (lib/devkey.h) */
	bool verified; /* facts signed by the first key, for this org */
	struct rp_facts facts;
	uint8_t cur[32]; /* when key_ok: its current key */
	size_t nkeys;    /* when key_ok: how many keys it has had, the first included */
	char problem[320];
};
/* keys: the server's "keys", the device's key bindings (NULL: none). */
void cli_facts_check(const char *org, const char *id, json_t *pubkey, json_t *keys, json_t *facts,
		     struct cli_facts *ret);

/*
 * The hostnames the org's devices signed, to find the ones claimed by more
 * than one device key. A signed hostname is the device's own claim, made
 * at enrolment, not a verified identity: a compromised device (or a
 * breached server with a key of its own) can sign another host's name.
 * Two keys claiming one name are shown as conflicting wherever the name is
 * shown. Names compare as DNS does: ASCII case and a trailing dot aside.
 */
struct cli_hosts {
	size_t n;
	struct cli_host {
		char id[RP_ID_HEX + 1];
		char host[RP_FACTS_HOSTNAME_MAX + 1];
	} * v;
};
/* From the server's device list (GET .../devices "devices"); only verified facts count. */
void cli_hosts_init(struct cli_hosts *h, const char *org, json_t *devices);
void cli_hosts_release(struct cli_hosts *h);
/*
 * How many other device keys signed host (which device id claims), the
 * first max of their ids in ret_ids (may be NULL).
 */
size_t cli_hosts_others(const struct cli_hosts *h, const char *id, const char *host,
			const char **ret_ids, size_t max);

/* One target's result, as verified. */
struct cli_row {
	char device[RP_ID_HEX + 1];
	bool target;          /* named by the signed statement */
	bool verified;        /* a device-signed result, checked */
	size_t key_no;        /* when verified: by the device's key number key_no (1: its first) */
	struct rp_result res; /* when verified */
	uint8_t *output;      /* when verified: the output, matching its signed hash */
	size_t output_len;
	const char *status; /* derived: the result's status, or pending, scheduled, expired,
			       UNVERIFIED */
	char problem[320];  /* why UNVERIFIED */
	char why[240];      /* why it still waits (outcome.c), or "" */
	json_t *row;        /* the server's row (borrowed), or NULL */
	struct cli_facts facts;
};
/* Every target of the signed statement, then the server's other rows. */
int cli_rows(const char *org, const struct cli_view *v, json_t *rows, int64_t now,
	     struct cli_row **ret, size_t *ret_n);
void cli_rows_free(struct cli_row *x, size_t n);
/* True while a target may still report (pending or scheduled, nothing verified). */
bool cli_row_waiting(const struct cli_row *x);

/*
 * outcome.c. A target's result is a success only when its device signed
 * `done' with exit 0; anything else it signed (failed, refused, killed,
 * timed-out, a non-zero exit) is a failure, and so is expired.
 */
bool cli_row_ok(const struct cli_row *x);
/* The exit status of `rampart results' (enum cli_exit). */
int cli_results_exit(const struct cli_view *v, const struct cli_row *x, size_t n);
/* "awaiting approvals: 1 of 2 exec signatures (signed by a); 1 more of role exec". */
void cli_view_awaiting(const struct cli_view *v, char *buf, size_t n);
/* Each waiting row's why; devices: the server's device list (may be NULL). */
void cli_rows_why(struct cli *c, const struct cli_view *v, struct cli_row *x, size_t n,
		  json_t *devices);
/* One line of progress on stderr, rewritten in place; only when stderr is a terminal. */
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_progress_end(void);
/* Columns of the terminal on stdout ($COLUMNS, else TIOCGWINSZ), 0 when it is not one. */
size_t cli_width(void);
/* What is left of the width after used columns, at least min; 0 (no cut) off a terminal. */
size_t cli_rest(size_t used, size_t min);

int cmd_key(struct cli *c, int argc, char *argv[]);
int cmd_org(struct cli *c, int argc, char *argv[]);
int cmd_policy(struct cli *c, int argc, char *argv[]);
int cmd_enroll_token(struct cli *c, int argc, char *argv[]);
int cmd_devices(struct cli *c, int argc, char *argv[]);
int cmd_run(struct cli *c, int argc, char *argv[]);
int cmd_approve(struct cli *c, int argc, char *argv[]);
int cmd_commands(struct cli *c, int argc, char *argv[]);
int cmd_results(struct cli *c, int argc, char *argv[]);
int cmd_alerts(struct cli *c, int argc, char *argv[]);
int cmd_note(struct cli *c, int argc, char *argv[]);
int cmd_token(struct cli *c, int argc, char *argv[]);
int cmd_rotate(struct cli *c, int argc, char *argv[]);
int cmd_config(struct cli *c, int argc, char *argv[]);
int cmd_audit(struct cli *c, int argc, char *argv[]);
/* lifecycle.c */
int cmd_output(struct cli *c, int argc, char *argv[]);
int cmd_pending(struct cli *c, int argc, char *argv[]);
int cli_alerts_ack(struct cli *c, int argc, char *argv[]);

/* directory.c */
int cmd_directory(struct cli *c, int argc, char *argv[]);
int cmd_user(struct cli *c, int argc, char *argv[]);
int cmd_group(struct cli *c, int argc, char *argv[]);
int cmd_device_group(struct cli *c, int argc, char *argv[]);
int cmd_bind(struct cli *c, int argc, char *argv[]);
int cmd_drift(struct cli *c, int argc, char *argv[]);
/*
 * v's threshold raised to what the devices it reaches require
 * (device-group-threshold), judged on the directory this CLI verified.
 */
void cli_view_strict(struct cli *c, const struct rp_policy *p, struct cli_view *v);
struct rp_drift;
/*
 * A device's drift report note (the server's "drift"), verified by the
 * device's current key (f, from cli_facts_check): 0, RP_E_NOTFOUND for
 * none, or < 0 with problem saying why it does not verify.
 */
int cli_drift_check(const char *org, const char *id, const struct cli_facts *f, json_t *note,
		    struct rp_drift *ret, char *problem, size_t n);
struct rp_dir_state;
struct rp_dir_stmt;
/*
 * The org's directory as this CLI verified it: the logged directory
 * statements, each checked against the trusted policy p and chained to
 * the one before, from the verified copy kept in the config directory on.
 * quiet: no word on statements that do not reach the quorum.
 */
int cli_directory(struct cli *c, const struct rp_policy *p, struct rp_dir_state *ret, bool quiet);
struct rp_dir;
/*
 * A directory statement putting *put and removing *del (both taken),
 * built on the verified directory, shown, signed and submitted like
 * `rampart device-group' does; its id in ret_id. 0, or 1 after an error.
 */
int cli_directory_change(struct cli *c, const char *what, struct rp_dir *put, struct rp_dir *del,
			 char ret_id[RP_ID_HEX + 1]);
/* name (valid, <= RP_DIR_NAME_MAX) into the sorted set names, once; RP_E_TOOBIG past max. */
int cli_dir_add_name(char (**names)[RP_USER_NAME_MAX + 1], size_t *n, size_t max, const char *name);
/* enroll.c: `rampart enroll-token --reusable|list|print|revoke'. */
int cli_enroll_reusable(struct cli *c, int argc, char *argv[]);
bool cli_enroll_is_reusable(int argc, char *argv[]);
/* `rampart devices': seen this recently, a device is shown online (3 default polls). */
#define CLI_ONLINE_WINDOW_S 90
/* `rampart devices remove DEVICE': a signed, logged decommission. */
int cli_devices_remove(struct cli *c, int argc, char *argv[]);
/* Whether the directory this CLI verified marks device id decommissioned. */
bool cli_device_decommissioned(struct cli *c, const char *id);
/* cli_directory, quiet, once per run and kept (NULL when it failed). */
const struct rp_dir_state *cli_directory_once(struct cli *c, const struct rp_policy *p);
/* The change st (logged as entry) makes to s, fenced: what approvers and proposers see. */
int cli_directory_diff(FILE *f, const struct rp_dir_state *s, const struct rp_dir_stmt *st,
		       const uint8_t *entry, size_t len);
void cli_report_submitted(struct cli *c, const char *what, const char *id, const char *note,
			  json_t *resp, bool json);
