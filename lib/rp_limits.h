/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every size cap in Rampart, in one place (DESIGN.md section 7).
 * A cap is checked before the bytes it bounds are read into memory.
 */
#pragma once

/* Signed notes (C2SP signed-note). */
#define RP_NOTE_MAX            (64 * 1024)   /* whole note: text + signatures */
#define RP_NOTE_SIGS_MAX       64            /* signature lines per note */
#define RP_NOTE_NAME_MAX       128           /* key name bytes */
#define RP_KEYTEXT_MAX         512           /* a verifier or signer key text */

/* Root policy. */
#define RP_POLICY_KEYS_MAX     32            /* administrator keys */
#define RP_POLICY_WITNESSES_MAX 32
#define RP_ORG_NAME_MAX        64

/* Statements. */
#define RP_STATEMENT_TARGETS_MAX 1000        /* entries are <= 65,535 bytes */
#define RP_STATEMENT_COMMENT_MAX 512
#define RP_USER_NAME_MAX       32
#define RP_TIMEOUT_MAX_S       (24 * 3600)
#define RP_PAYLOAD_MAX         (1024 * 1024) /* script bytes */
#define RP_LOG_ENTRY_MAX       65535         /* tlog-tiles entry bundle limit */

/* Execution. */
#define RP_OUTPUT_KEEP         (64 * 1024)   /* tail of stdout+stderr kept */
#define RP_CLOCK_SKEW_S        300           /* tolerated clock skew */

/* HTTP. */
#define RP_HTTP_BODY_MAX       (2 * 1024 * 1024)  /* authenticated request body */
#define RP_HTTP_BODY_PREAUTH_MAX (16 * 1024)      /* enrolment, before any key is known */
#define RP_HTTP_HEADERS_MAX    (16 * 1024)
#define RP_HTTP_RESPONSE_MAX   (4 * 1024 * 1024)  /* what a client reads */
#define RP_JSON_DEPTH_MAX      8
#define RP_REQUEST_SKEW_S      300           /* signed-request timestamp window */

/* Tokens. */
#define RP_TOKEN_MAX           2048

/* Merkle log, checkpoints and witnesses (C2SP tlog-*). */
#define RP_PROOF_HASHES_MAX    63            /* fixed by DESIGN.md and tlog-witness */
#define RP_ORIGIN_MAX          RP_NOTE_NAME_MAX /* checkpoint origin = log key name */
#define RP_CHECKPOINT_MAX      (16 * 1024)   /* a checkpoint with all its cosignatures */
#define RP_CHECKPOINT_EXT_MAX  16            /* extension lines in a checkpoint */
#define RP_WITNESS_REQUEST_MAX (RP_CHECKPOINT_MAX + 64 * 64 + 32) /* add-checkpoint body */
#define RP_WITNESS_GROUPS_MAX  32
#define RP_URL_MAX             512
#define RP_TILE_HEIGHT         8             /* tlog-tiles: 256 hashes a tile */
#define RP_TILE_WIDTH          256
#define RP_FRESHNESS_DEFAULT_S 3600          /* cosigned checkpoint freshness window */
#define RP_FRESHNESS_MIN_S     10
#define RP_FRESHNESS_MAX_S     (7 * 24 * 3600)

/*
 * What the administrator's CLI shows (DESIGN.md section 4a). The listing
 * of commands carries each signed statement, so that the CLI derives every
 * state from what it verified; it stops before the client's response cap.
 */
#define RP_TEXT_MARKS_MAX      2             /* combining marks kept on one character */
#define RP_COMMANDS_LIST_DEFAULT 100         /* commands a listing returns by default */
#define RP_COMMANDS_LIST_MAX   500           /* ?limit= at most */
#define RP_COMMANDS_LIST_BYTES (2 * 1024 * 1024) /* statements in one listing */
/* A device's signed facts (docs/formats.md "Device facts"). */
#define RP_FACTS_HOSTNAME_MAX  255
#define RP_FACTS_OS_MAX        128
#define RP_FACTS_VERSION_MAX   32
#define RP_FACTS_MAX           1024          /* the whole facts text */
