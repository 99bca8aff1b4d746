/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every size cap in Rampart, in one place (DESIGN.md section 7).
 * A cap is checked before the bytes it bounds are read into memory.
 */
#pragma once

#include <stdint.h>

/* Signed notes (C2SP signed-note). */
#define RP_NOTE_MAX      (64 * 1024) /* whole note: text + signatures */
#define RP_NOTE_SIGS_MAX 64          /* signature lines per note */
#define RP_NOTE_NAME_MAX 128         /* key name bytes */
#define RP_KEYTEXT_MAX   512         /* a verifier or signer key text */

/* Root policy. */
#define RP_POLICY_KEYS_MAX             32 /* administrator keys */
#define RP_POLICY_WITNESSES_MAX        32
#define RP_POLICY_PINS_MAX             4  /* server-pin lines: the server keys agents accept */
#define RP_POLICY_GROUP_THRESHOLDS_MAX 32 /* device-group-threshold lines */
#define RP_ORG_NAME_MAX                64

/* Statements. */
#define RP_STATEMENT_TARGETS_MAX 1000 /* entries are <= 65,535 bytes */
#define RP_STATEMENT_COMMENT_MAX 512
#define RP_USER_NAME_MAX         32
#define RP_TIMEOUT_MAX_S         (24 * 3600)
#define RP_PAYLOAD_MAX           (1024 * 1024) /* script bytes */
#define RP_LOG_ENTRY_MAX         65535         /* tlog-tiles entry bundle limit */

/* Agent releases (lib/release.h). */
#define RP_RELEASE_TEXT_MAX 1024               /* a rampart/release/v1 text, signatures excluded */
#define RP_PACKAGE_MAX      (64 * 1024 * 1024) /* one package file, stored and fetched */
#define RP_PACKAGE_CHUNK    (1024 * 1024)      /* the piece of one upload or agent fetch */
#define RP_PACKAGES_MAX     32                 /* packages an org stores */

/*
 * The directory (lib/directory.h). A statement is one log entry
 * (RP_LOG_ENTRY_MAX); the state folded from all of them has its own caps.
 */
#define RP_DIR_SHELL_MAX         128    /* login shell: an absolute path */
#define RP_DIR_GECOS_MAX         64     /* a user's full name */
#define RP_DIR_KEYS_MAX          32     /* SSH keys of one user */
#define RP_DIR_MEMBERS_MAX       2000   /* members of one user group */
#define RP_DIR_DEVICE_GROUPS_MAX 32     /* device groups of one device */
#define RP_DIR_TAGS_MAX          32     /* tags of one device */
#define RP_DIR_COMMANDS_MAX      64     /* sudo commands of one binding */
#define RP_DIR_OBJECTS_MAX       200000 /* objects in the folded directory */
#define RP_DRIFT_ITEMS_MAX       128 /* items of one drift report (the last may count the rest) */
#define RP_DRIFT_CODE_MAX        24
#define RP_DRIFT_SUBJECT_MAX     96
#define RP_DRIFT_DETAIL_MAX      200
#define RP_DRIFT_MAX             (60 * 1024) /* a drift report's text: a note within RP_NOTE_MAX */
#define RP_DRIFT_INTERVAL_S      300         /* how often the agent looks for drift */
#define RP_DIR_ANSWER_ENTRIES    64          /* entries per GET /v1/orgs/ORG/directory */
#define RP_DIR_ANSWER_BYTES      (2 * 1024 * 1024)
#define RP_DIR_STATE_MAX         (64 * 1024 * 1024) /* its text (directory.state) */

/* Execution. */
#define RP_OUTPUT_KEEP  (64 * 1024) /* tail of stdout+stderr kept */
#define RP_CLOCK_SKEW_S 300         /* tolerated clock skew */

/*
 * Running commands (agent/exec.c, lib/account.c).
 * Accounts come from /etc/passwd and /etc/group, read whole: a file past
 * its cap refuses every run-as rather than matching half a file.
 */
#define RP_ACCOUNT_FILE_MAX   (8 * 1024 * 1024) /* /etc/passwd, /etc/group */
#define RP_ACCOUNT_HOME_MAX   1024              /* home directory path bytes */
#define RP_ACCOUNT_GROUPS_MAX 1024              /* groups of one account (setgroups) */
#define RP_EXEC_STOP_GRACE_MS 3000              /* SIGTERM to SIGKILL when the agent stops */
#define RP_EXEC_REAP_MS       5000              /* waiting for a killed subtree to be gone */
#define RP_EXEC_DRAIN_MS      1000              /* reading output after the subtree is killed */
#define RP_SIGNAL_MAX         64                /* SIGRTMAX on Linux: a result's `signal' */
/* What is read of /proc/<pid>/cgroup, cgroup.procs and /proc/self/task/<tid>/children
 * (about 9000 pids): a subtree larger still gets its SIGTERM from the main process's
 * group and its SIGKILL from cgroup.kill. */
#define RP_EXEC_PROC_FILE_MAX (64 * 1024)

/* HTTP. */
#define RP_HTTP_BODY_MAX         (2 * 1024 * 1024) /* authenticated request body */
#define RP_HTTP_BODY_PREAUTH_MAX (16 * 1024)       /* enrolment, before any key is known */
#define RP_HTTP_HEADERS_MAX      (16 * 1024)
#define RP_HTTP_RESPONSE_MAX     (4 * 1024 * 1024) /* what a client reads */
#define RP_JSON_DEPTH_MAX        8
#define RP_REQUEST_SKEW_S        300 /* signed-request timestamp window */

/* Tokens. */
#define RP_TOKEN_MAX 2048

/* Merkle log, checkpoints and witnesses (C2SP tlog-*). */
#define RP_PROOF_HASHES_MAX    63               /* fixed by DESIGN.md and tlog-witness */
#define RP_ORIGIN_MAX          RP_NOTE_NAME_MAX /* checkpoint origin = log key name */
#define RP_CHECKPOINT_MAX      (16 * 1024)      /* a checkpoint with all its cosignatures */
#define RP_CHECKPOINT_EXT_MAX  16               /* extension lines in a checkpoint */
#define RP_WITNESS_REQUEST_MAX (RP_CHECKPOINT_MAX + 64 * 64 + 32) /* add-checkpoint body */
#define RP_WITNESS_GROUPS_MAX  32
#define RP_URL_MAX             512
#define RP_TILE_HEIGHT         8 /* tlog-tiles: 256 hashes a tile */
#define RP_TILE_WIDTH          256
#define RP_FRESHNESS_DEFAULT_S 3600 /* cosigned checkpoint freshness window */
#define RP_FRESHNESS_MIN_S     10
#define RP_FRESHNESS_MAX_S     (7 * 24 * 3600)

/*
 * What the administrator's CLI shows (DESIGN.md section 4a). The listing
 * of commands carries each signed statement, so that the CLI derives every
 * state from what it verified; it stops before the client's response cap.
 */
#define RP_TEXT_MARKS_MAX        2                 /* combining marks kept on one character */
#define RP_COMMANDS_LIST_DEFAULT 100               /* commands a listing returns by default */
#define RP_COMMANDS_LIST_MAX     500               /* ?limit= at most */
#define RP_COMMANDS_LIST_BYTES   (2 * 1024 * 1024) /* statements in one listing */
/* A device's signed facts (docs/formats.md "Device facts"). */
#define RP_FACTS_HOSTNAME_MAX 255
#define RP_FACTS_OS_MAX       128
#define RP_FACTS_VERSION_MAX  32
#define RP_FACTS_MAX          1024 /* the whole facts text */

/* Device key bindings (lib/devkey.h, docs/formats.md "Device key bindings"). */
#define RP_DEVKEY_TEXT_MAX  512  /* the binding text */
#define RP_DEVKEY_NOTE_MAX  1024 /* the signed note: the text and two signature lines */
#define RP_DEVKEY_CHAIN_MAX 256  /* re-keyings of one device */

/*
 * Caps that were bare numbers where they are checked (issue 7). Files are
 * read whole, so a file's cap is what its reader may hold; fields are
 * checked by the API before a handler sees them.
 */
/* Files, each rp_read_file's max. */
#define RP_AGENT_CONF_MAX 4096 /* agent.conf: four lines, the longest a URL */
#define RP_LOG_STATE_MAX  4096 /* log.state: size, root, newest time, last index */
/* A spooled result: what POST /v1/agent/result sends (base64 output, note, reason). */
#define RP_SPOOL_MAX      (2 * RP_OUTPUT_KEEP + 8192)
#define RP_OS_RELEASE_MAX (16 * 1024) /* /etc/os-release (~400 bytes), for PRETTY_NAME */
#define RP_CLI_CONFIG_MAX (16 * 1024) /* the CLI's config: five one-line settings */
#define RP_SKEY_FILE_MAX  4096        /* a signer key file, plain or encrypted (base64) */
/*
 * rampart audit's saved state: 64 edge hashes, a line per retired log (at
 * most RP_AUDIT_LOGS_MAX, one per log key rotation) and the policy in force.
 */
#define RP_AUDIT_LOGS_MAX  64
#define RP_AUDIT_STATE_MAX (RP_NOTE_MAX + 8192 + RP_AUDIT_LOGS_MAX * 256)
/*
 * rampart audit stops its replay after this many findings in one run: a
 * log padded with junk would otherwise print a finding per entry for as
 * long as the server cares to append (cli/audit.c).
 */
#define RP_AUDIT_FINDINGS_MAX 100
/* ... and saves the progress of a clean replay at most this often (cli/audit.c). */
#define RP_AUDIT_SAVE_S 10
/* What rampartd accepts in API fields and bodies (server/api.c). */
#define RP_RESULT_TEXT_MAX     4096 /* rampart/result/v1 text: fixed fields, a hash */
#define RP_RESULT_NOTE_MAX     (2 * RP_RESULT_TEXT_MAX) /* and its device signature */
#define RP_RESULT_REASON_MAX   255                      /* why a command failed to start */
#define RP_ALERT_CODE_MAX      32   /* an agent's alert code: replay, freeze, ... */
#define RP_ALERT_REASON_MAX    512  /* an agent's alert reason */
#define RP_API_TOKEN_NAME_MAX  64   /* an API token's name, shown in listings */
#define RP_BOOTSTRAP_AUTH_MAX  200  /* "Bootstrap <token>", before anything is known */
#define RP_HTTP_BODY_SMALL_MAX 4096 /* bodies of a few short fields: tokens, alerts */
/* Values in an API request body: every body is one flat object of a few fields. */
#define RP_HTTP_REQUEST_VALUES_MAX 32
#define RP_HTTP_ORG_BODY_MAX       (2 * RP_NOTE_MAX) /* a root policy note, JSON-escaped */
/* POST /v1/agent/result: base64 output (4/3 of RP_OUTPUT_KEEP), the note, a reason. */
#define RP_HTTP_RESULT_BODY_MAX   (2 * RP_OUTPUT_KEEP + 16384)
#define RP_ENROLL_TOKEN_TTL_MAX_S (30 * 24 * 3600) /* the longest an enrolment token lives */
/*
 * Reusable enrolment tokens (lib/enroll.h): the most devices one may enrol
 * (its state lists each, 33 bytes), and its enrolment notes: the note
 * itself, and how far its signed time may be from rampartd's clock.
 */
#define RP_ENROLL_TOKEN_DEVICES_MAX 10000
#define RP_ENROLMENT_NOTE_MAX       2048
#define RP_ENROLMENT_SKEW_S         300

/* The longest an API token lives (created, or reissued with its old lifetime). */
#define RP_API_TOKEN_TTL_MAX_S (366 * 86400)
/*
 * The most API tokens one `rotate api-tokens --reissue' request replaces
 * (its body names each with a new hash); an org with more rotates
 * without --reissue and creates what it still needs.
 */
#define RP_API_TOKENS_REISSUE_MAX 256
/* That request's body: {"reissue": {"<id>": "sha256:<hex>", ...}}, ~110 bytes a token. */
#define RP_HTTP_ROTATE_BODY_MAX (RP_API_TOKENS_REISSUE_MAX * 128 + 256)

/* Texts built from input, capped as they are built. */
#define RP_REQSIG_TEXT_MAX 8192 /* a request signature's text: method, path, hash */
#define RP_TOKEN_TEXT_MAX  1024 /* an enrolment token's text, before base64 */
#define RP_PASSPHRASE_MAX  511  /* a key file's passphrase (terminal or env) */
/*
 * Witnesses. The most rampartd reads of a witness's reply: libevent stops
 * at it (a cosignature is ~150 bytes, a 409 size a few).
 */
#define RP_WITNESS_RESPONSE_MAX (16 * 1024)
/* Trusted keys per origin at a witness: a log rotating its key has two for a
 * while. It bounds only the witness's own configuration, and is here because
 * every cap is (DESIGN.md section 7). */
#define RP_WITNESS_LOG_KEYS_MAX 8
/* Logs listed by the witness's /metrics (one row each per gauge), first by origin. */
#define RP_WITNESS_METRICS_LOGS_MAX 1000

/*
 * The daemons' HTTP edge (lib/httpd): each connection's guard reads a
 * request's line and headers before evhttp does, so a body over its
 * route's cap is refused from Content-Length (or as chunks arrive) before
 * it is buffered, and each phase of a request has a deadline of its own,
 * a total for the phase rather than a per-read timeout. See
 * docs/operating.md, "Limits and timeouts", for how to size them.
 */
#define RP_HTTP_TARGET_MAX        1024 /* request target: path and query */
#define RP_HTTP_HEADERS_TIMEOUT_S 10   /* first byte of a request to the end of its headers */
#define RP_HTTP_BODY_TIMEOUT_S    60   /* end of the headers to the end of the body */
#define RP_HTTP_FIRST_TIMEOUT_S   10   /* accept to the end of a connection's first request */
#define RP_HTTP_IDLE_TIMEOUT_S    30   /* keep-alive: answer sent (or accept) to the next request */
#define RP_HTTP_WRITE_TIMEOUT_S   30   /* an answer the client stops reading: no progress */
#define RP_HTTP_TIMEOUT_MAX_S     3600 /* largest value the options take */
#define RP_HTTP_LINGER_S          2    /* input discarded after a refusal, so the answer is read */
#define RP_HTTP_CONNS_DEFAULT     16384 /* rampartd: one held poll per agent, plus admins */
#define RP_HTTP_CONNS_MAX         1000000
#define RP_WITNESS_CONNS_DEFAULT  256 /* rampart-witness: a few logs, one request each */

/*
 * The CLI's ssh-agent client (lib/sshagent.c): what it reads of an agent's
 * answer and holds of its keys. An agent is local, but it is another
 * program, possibly forwarded from another machine: its answers are parsed
 * like any other input. OpenSSH's agent itself refuses messages over 256 KiB.
 */
#define RP_SSHAGENT_ANSWER_MAX     (256 * 1024) /* one answer, after its length */
#define RP_SSHAGENT_IDENTITIES_MAX 256          /* keys in one identities answer */
#define RP_SSHAGENT_KEYTYPE_MAX    64           /* a key type name, kept to name it */
#define RP_SSHAGENT_COMMENT_MAX    256          /* a key's comment bytes kept to show; cut after */
#define RP_SSHAGENT_DATA_MAX       RP_NOTE_MAX  /* bytes it is asked to sign: a note's text */
/* One exchange, write to last byte read: a hardware key may wait for a touch or a PIN. */
#define RP_SSHAGENT_TIMEOUT_S 60

/*
 * Leaves a log can hold: sizes are signed 64-bit in storage. A tile path
 * whose first leaf would lie at or past it names nothing (rp_tile_parse).
 */
#define RP_LOG_LEAVES_MAX (UINT64_C(1) << 63)
/*
 * How much a log may grow from one stored checkpoint to the next one a
 * verifier accepts (agent, witness, audit: rp_tlog_advance). Without it a
 * breached server could have an invented tree of 2^63 - 1 entries
 * cosigned, deliver one junk entry at its end and leave every agent and
 * witness unable to move on; with it, using up the index space takes 2^39
 * witnessed steps. Sixteen million statements between two checkpoints a
 * device sees is far beyond any fleet's pace.
 */
#define RP_LOG_GROWTH_MAX (UINT64_C(1) << 24)

/*
 * What a hostile server can make an agent (or the CLI) hold: time per
 * request, memory per answer, disk per state file. Answer caps are derived
 * from the caps of what the answer carries, so they move with them.
 */
#define RP_SHA256_LEN 32                    /* RP_HASH_LEN, for the sizes below */
#define RP_B64_LEN(n) ((((n) + 2) / 3) * 4) /* padded base64 of n bytes */
/* A JSON string of n bytes of note text: \n, \" and \\ double a byte, plus quotes. */
#define RP_JSON_TEXT_LEN(n) (2 * (n) + 2)
/* A JSON array of proof hashes, each "<base64>" and a comma. */
#define RP_JSON_HASHES_LEN (RP_PROOF_HASHES_MAX * (RP_B64_LEN(RP_SHA256_LEN) + 3) + 2)
/* Values (arrays, objects, strings, numbers, literals) in one JSON answer a
 * client parses when it has no tighter cap: a device list of about 30,000. */
#define RP_JSON_VALUES_MAX (256 * 1024)
/* A delivery (poll answer): payload in base64, statement, checkpoint, both proofs. */
#define RP_DELIVERY_MAX                                                        \
	(RP_B64_LEN(RP_PAYLOAD_MAX) + 2 + RP_JSON_TEXT_LEN(RP_LOG_ENTRY_MAX) + \
	 RP_JSON_TEXT_LEN(RP_CHECKPOINT_MAX) + 2 * RP_JSON_HASHES_LEN + 256)
#define RP_DELIVERY_VALUES_MAX (16 + 2 * RP_PROOF_HASHES_MAX)
/* The answer to a checkpoint refresh: checkpoint and consistency proof. */
#define RP_CHECKPOINT_ANSWER_MAX        (RP_JSON_TEXT_LEN(RP_CHECKPOINT_MAX) + RP_JSON_HASHES_LEN + 128)
#define RP_CHECKPOINT_ANSWER_VALUES_MAX (8 + RP_PROOF_HASHES_MAX)
/*
 * The agent reads every entry of its org's log, in order, to know every
 * root policy in force (lib/scan.h): one answer of GET /v1/agent/entries
 * carries at most RP_SCAN_ENTRIES_MAX entries and RP_SCAN_BYTES_MAX bytes of
 * them (the server stops before the entry that would pass it, but always
 * sends one), in base64, with a consistency proof.
 */
#define RP_SCAN_ENTRIES_MAX 256
#define RP_SCAN_BYTES_MAX   (512 * 1024)
#define RP_SCAN_ANSWER_MAX \
	(RP_B64_LEN(RP_SCAN_BYTES_MAX) + RP_SCAN_ENTRIES_MAX * 4 + RP_JSON_HASHES_LEN + 256)
#define RP_SCAN_ANSWER_VALUES_MAX (8 + RP_SCAN_ENTRIES_MAX + RP_PROOF_HASHES_MAX)
/* Requests of entries in one cycle of the agent's loop before it polls again. */
#define RP_SCAN_STEPS_PER_CYCLE 64
/*
 * Root policies an agent keeps: the newest, and older ones only while an
 * entry logged under them may still be acted on. Past it the oldest is
 * dropped, and entries before its successor are judged by the successor.
 */
#define RP_POLICY_KEEP_MAX 8
/* The agent's scan.state file: its walk through the log (64 hashes at most). */
#define RP_SCAN_STATE_MAX 8192

/* The root policy fetched at enrolment: {"policy": "<note>", ...}. */
#define RP_POLICY_ANSWER_MAX (RP_JSON_TEXT_LEN(RP_NOTE_MAX) + 1024)
/* Any other answer the agent reads: {} or {"error": {...}}, an id. */
#define RP_AGENT_ANSWER_MAX        (4 * 1024)
#define RP_AGENT_ANSWER_VALUES_MAX 16
/* One deadline per request (connect, TLS, sending, headers, body), not per read. */
#define RP_AGENT_REQUEST_S    15 /* every agent request but the long poll */
#define RP_AGENT_POLL_SLACK_S 15 /* a long poll: the hold it asks for, plus this */
/* alerts.log: rotated to alerts.log.1 past this, so both hold 2 MiB at most. */
#define RP_ALERTS_LOG_MAX (1024 * 1024)
#define RP_ALERT_LINE_MAX 2048 /* one alert line, reason escaped */
/* The same alert (code and statement) at most once per window, locally and to
 * the server; a count of the suppressed ones is written when it closes. */
#define RP_ALERT_WINDOW_S 600
#define RP_ALERT_KEYS_MAX 64 /* windows open at once; the oldest closes first */
/*
 * Alerts across statements (agent/alert.c). In one window a code writes the
 * alerts of RP_ALERT_CODE_KEYS statements; past that (a flood of new ids)
 * the code is the key: the rest are counted, and a flood's next window is
 * twice as long, up to RP_ALERT_FLOOD_SPAN_MAX, and writes one line before
 * it counts. Codes come from the agent's own list (agent/run.c alert_code),
 * not from the server: RP_ALERT_CODES_MAX is never reached.
 */
#define RP_ALERT_CODE_KEYS      4
#define RP_ALERT_CODES_MAX      32
#define RP_ALERT_SEEN_BITS      2048 /* how many statements a flood had, a lower bound */
#define RP_ALERT_FLOOD_SPAN_MAX (24 * 3600)
/* The executed record: one line per statement once compacted. Refused
 * statements are dropped oldest first beyond this many (log order already
 * refuses anything at or below last-index); started and reported never. */
#define RP_EXECUTED_REFUSED_KEEP 1024
#define RP_EXECUTED_LINE_MAX     128
/* Rewritten (compacted) when larger than this and twice its compacted size. */
#define RP_EXECUTED_COMPACT_MIN (64 * 1024)
/* The root policy's expiry: the agent warns daily from 30 days before, hourly
 * in the last 7; past it, nothing is acted on. */
#define RP_POLICY_WARN_S   (30 * 24 * 3600)
#define RP_POLICY_URGENT_S (7 * 24 * 3600)
/*
 * Root policy N+1 (issue 9). Proposals of the next version kept per org
 * (more are refused until one is published); versions and bytes the CLI
 * walks in one run to bring its trusted copy up to the server's current
 * version (each answer is at most RP_POLICY_ANSWER_MAX); lines of a policy
 * text the CLI's diff compares.
 */
#define RP_POLICY_PROPOSALS_MAX  16
#define RP_POLICY_CHAIN_MAX      64
#define RP_POLICY_CHAIN_BYTES    (4 * 1024 * 1024)
#define RP_POLICY_DIFF_LINES_MAX 256

/*
 * Account convergence (agent/converge.c, lib/sshkey.c): what a plan may
 * hold, what is read of the machine, how long it waits for others.
 */
#define RP_SSH_KEY_LINE_MAX    8192 /* an authorized_keys line: type, base64, comment */
#define RP_SSH_KEY_COMMENT_MAX 256  /* its comment */
#define RP_SUDO_COMMAND_MAX    512  /* one sudo command: absolute path and arguments */
#define RP_CONV_USERS_MAX      10000
#define RP_CONV_GROUPS_MAX     10000 /* the plan's groups; personal groups come on top */
#define RP_CONV_KEYS_MAX       64    /* authorised keys of one user */
#define RP_CONV_COMMANDS_MAX   64    /* sudo commands of one user */
#define RP_CONV_MEMBERS_MAX    RP_CONV_USERS_MAX
#define RP_CONV_ITEMS_MAX      (8 * RP_CONV_USERS_MAX) /* report items of one run */
/* converge.state: a line per managed account (~260 bytes) and per group (~190). */
#define RP_CONVERGE_STATE_MAX    (16 * 1024 * 1024)
#define RP_AUTHORIZED_KEYS_MAX   (1024 * 1024) /* a user's ~/.ssh/authorized_keys, read for drift */
#define RP_SUDOERS_DROPIN_MAX    (64 * 1024)   /* a sudoers.d file read back or quarantined */
#define RP_CONV_LOCK_WAIT_S      15            /* lckpwdf()'s own wait for /etc/.pwd.lock */
#define RP_CONV_LOCKFILE_WAIT_S  5             /* for a live process's <file>.lock */
#define RP_CONV_VISUDO_S         10            /* visudo -c, killed past it */
#define RP_CONV_KILL_WAIT_MS     2000          /* ending the sessions of locked accounts */
#define RP_CONV_SKEL_DEPTH_MAX   8             /* directories deep, copying /etc/skel */
#define RP_CONV_SKEL_ENTRIES_MAX 4096          /* entries copied from /etc/skel */

/*
 * Cancel statements (lib/cancel.h) and the agent's cancel.state. A record
 * is kept at least RP_CANCEL_KEEP_MIN_S after the agent walked it, longer
 * than any command's window (31 days), and at least until the cancelled
 * statement's own expiry, whatever the cancel says (docs/formats.md).
 */
#define RP_CANCEL_TEXT_MAX   1024 /* a cancel's text */
#define RP_CANCEL_NOTE_MAX   (8 * 1024)
#define RP_CANCEL_REASON_MAX 256
#define RP_CANCEL_KEEP_MAX   1024 /* records in cancel.state */
#define RP_CANCEL_STATE_MAX  (RP_CANCEL_KEEP_MAX * 96 + 64)
#define RP_CANCEL_KEEP_MIN_S (32 * 24 * 3600)
