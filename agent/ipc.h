/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The messages between the agent's two processes (docs/privsep.md). The
 * root process asks and the network process answers, one request at a
 * time, over a socketpair: a hello (the server's URL and pin) once, then
 * requests, each answered before the next is sent.
 *
 * A message is a 4-byte big-endian length, then that many bytes: a type
 * byte and the fields its type fixes, in order, each an integer of fixed
 * size (big-endian) or a 4-byte length and its bytes, with nothing after
 * the last. Every field has a cap, and a message is refused whole, with a
 * diagnostic that names the field, when it is over its cap, ends inside a
 * field, has bytes after its last one, or is not the answer to the request
 * outstanding (its sequence number and kind). The root process reads only
 * this format from the network process, never JSON, HTTP or TLS.
 */

#include <signal.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"
#include "scan.h"
#include "verify.h"

enum { AGENT_IPC_HELLO = 1, AGENT_IPC_REQUEST = 2, AGENT_IPC_ANSWER = 3 };

/* What the network process makes of the server's answer to a request. */
enum agent_ans_kind {
	AGENT_ANS_STATUS = 0,     /* the status, and on an error the server's message */
	AGENT_ANS_FIELDS = 1,     /* named string fields of a JSON object */
	AGENT_ANS_DELIVERY = 2,   /* a poll's delivery: the raw signed bytes */
	AGENT_ANS_CHECKPOINT = 3, /* a checkpoint refresh: checkpoint and consistency proof */
	AGENT_ANS_ENTRIES = 4,    /* log entries for the walk (lib/scan.h), and a proof */
	AGENT_ANS_BYTES = 5,      /* the body as it came (a package's piece): dl.payload */
};

#define AGENT_IPC_URL_MAX         511
#define AGENT_IPC_METHOD_MAX      7
#define AGENT_IPC_PATH_MAX        511
#define AGENT_IPC_HEADERS_MAX     3
#define AGENT_IPC_HNAME_MAX       31
#define AGENT_IPC_HVALUE_MAX      255
#define AGENT_IPC_FIELDS_MAX      4
#define AGENT_IPC_FNAME_MAX       31
#define AGENT_IPC_FIELD_VALUE_MAX RP_NOTE_MAX             /* a root policy, at enrolment */
#define AGENT_IPC_BODY_MAX        RP_HTTP_RESULT_BODY_MAX /* the largest request: a result */
/* The largest message: a delivery's payload, statement, checkpoint and proofs. */
#define AGENT_IPC_MSG_MAX                                        \
	(RP_PAYLOAD_MAX + RP_LOG_ENTRY_MAX + RP_CHECKPOINT_MAX + \
	 2 * RP_PROOF_HASHES_MAX * RP_SHA256_LEN + 4096)

struct agent_hello {
	char url[AGENT_IPC_URL_MAX + 1];
	uint8_t pin[32];
	/* the newest root policy's server-pin lines, when it has any */
	uint8_t npins;
	uint8_t pins[RP_POLICY_PINS_MAX][32];
	/* 1: accept any server key (the root process then asks only for the
	 * checkpoint and the log's entries, which it verifies itself) */
	uint8_t unpinned;
};

struct agent_ipc_header {
	char name[AGENT_IPC_HNAME_MAX + 1];
	char value[AGENT_IPC_HVALUE_MAX + 1];
};

struct agent_request {
	uint32_t seq;
	uint8_t kind; /* enum agent_ans_kind */
	char method[AGENT_IPC_METHOD_MAX + 1];
	char path[AGENT_IPC_PATH_MAX + 1];
	size_t nheaders;
	struct agent_ipc_header headers[AGENT_IPC_HEADERS_MAX];
	uint32_t timeout_ms, max_body, values_max;
	size_t nfields; /* AGENT_ANS_FIELDS: the names wanted */
	char fields[AGENT_IPC_FIELDS_MAX][AGENT_IPC_FNAME_MAX + 1];
	const uint8_t *body; /* decoded: points into the message */
	size_t body_len;
};

struct agent_answer {
	uint32_t seq;
	uint8_t kind;
	int32_t r;                                    /* 0, or the request's RP_E_* failure */
	int32_t status;                               /* the HTTP status, 0 when none came */
	char msg[sizeof(((struct rp_diag *)0)->msg)]; /* why it failed: the server's words */
	/* AGENT_ANS_FIELDS: each wanted field's value (NUL-terminated), NULL if absent */
	char *field[AGENT_IPC_FIELDS_MAX];
	size_t field_len[AGENT_IPC_FIELDS_MAX];
	/* AGENT_ANS_DELIVERY, AGENT_ANS_CHECKPOINT: statement, payload, proofs */
	struct rp_delivery dl;
	/* AGENT_ANS_ENTRIES: the entries, raw, and the consistency proof */
	struct rp_entries ents;
};

void agent_answer_init(struct agent_answer *a);
void agent_answer_release(struct agent_answer *a);

/* Encoders: the whole message, length prefix included (malloc'd). */
int agent_ipc_hello_encode(const struct agent_hello *h, uint8_t **ret, size_t *ret_len);
int agent_ipc_request_encode(const struct agent_request *q, uint8_t **ret, size_t *ret_len);
int agent_ipc_answer_encode(const struct agent_answer *a, uint8_t **ret, size_t *ret_len);

/*
 * Decoders of a message's bytes after its length prefix. The answer is
 * checked against the request it must answer: its sequence number, and a
 * kind that is AGENT_ANS_STATUS or the one asked for (with the fields
 * asked for, in number). On failure nothing is left allocated.
 */
int agent_ipc_hello_decode(const uint8_t *m, size_t n, struct agent_hello *ret, struct rp_diag *d);
int agent_ipc_request_decode(const uint8_t *m, size_t n, struct agent_request *ret,
			     struct rp_diag *d);
int agent_ipc_answer_decode(const uint8_t *m, size_t n, const struct agent_request *asked,
			    struct agent_answer *ret, struct rp_diag *d);

/*
 * Writes a whole message (MSG_NOSIGNAL) by deadline_ms on the monotonic
 * clock (0: none): 0, RP_E_NET when cancel is set, else RP_E_IO (a peer
 * gone, or one that stopped reading).
 */
int agent_ipc_send(int fd, const uint8_t *m, size_t n, int64_t deadline_ms,
		   const volatile sig_atomic_t *cancel, struct rp_diag *d);
/*
 * Reads one message: its length (refused over AGENT_IPC_MSG_MAX before
 * anything else is read), then its bytes, by deadline_ms on the monotonic
 * clock (0: no deadline). RP_E_NOTFOUND at a clean end of stream before a
 * message; RP_E_NET when cancel is set by a signal or the deadline passes;
 * RP_E_IO or RP_E_TOOBIG otherwise. *ret is malloc'd.
 */
int agent_ipc_recv(int fd, int64_t deadline_ms, const volatile sig_atomic_t *cancel, uint8_t **ret,
		   size_t *ret_len, struct rp_diag *d);
int64_t agent_ipc_now_ms(void);
