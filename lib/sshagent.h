/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A client of the ssh-agent protocol (draft-miller-ssh-agent, RFC 9987)
 * for Ed25519 keys (RFC 8709), so that an administrator's signing key can
 * stay in an agent (or a hardware token behind one) and never be on disk.
 * Two requests only: list the keys (SSH_AGENTC_REQUEST_IDENTITIES) and sign
 * (SSH_AGENTC_SIGN_REQUEST, flags 0). For ssh-ed25519 the agent's signature
 * is a plain Ed25519 signature over the bytes sent, so it is a note's or a
 * request's signature as it is.
 *
 * Messages are uint32 length, type byte, contents; strings are uint32
 * length and bytes (RFC 4251). The parsers work over a buffer (the answer
 * after its 4-byte length) so that they are tested and fuzzed without a
 * socket; every length is checked against what is left and against the
 * caps of rp_limits.h, and trailing bytes are an error.
 *
 * A signature from the agent is NOT verified here: callers go through
 * rp_signer_sign (lib/signer.h), which verifies every signature against
 * the key before anything uses it.
 */

#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

#define RP_SSH_AGENT_FAILURE             5
#define RP_SSH_AGENTC_REQUEST_IDS        11
#define RP_SSH_AGENT_IDENTITIES_ANSWER   12
#define RP_SSH_AGENTC_SIGN_REQUEST       13
#define RP_SSH_AGENT_SIGN_RESPONSE       14
#define RP_SSH_AGENT_SUCCESS             6
#define RP_SSH_AGENTC_REMOVE_IDENTITY    18
#define RP_SSH_AGENTC_ADD_ID_CONSTRAINED 25
#define RP_SSH_AGENT_CONSTRAIN_LIFETIME  1

#define RP_SSH_ED25519    "ssh-ed25519"
#define RP_SSH_SK_ED25519 "sk-ssh-ed25519@openssh.com"

enum rp_sshkey_kind {
	RP_SSHKEY_ED25519,    /* usable: signs the data as plain Ed25519 */
	RP_SSHKEY_SK_ED25519, /* FIDO: signs a hash of the data with flags and counter */
	RP_SSHKEY_OTHER,      /* RSA, ECDSA, certificates, ...: not Ed25519 */
};

struct rp_sshagent_id {
	enum rp_sshkey_kind kind;
	/* The key type as the agent named it: quote it (rp_quote) to show it. */
	char type[RP_SSHAGENT_KEYTYPE_MAX + 1];
	uint8_t pub[32]; /* ed25519 and sk-ed25519 */
	/* The first RP_SSHAGENT_COMMENT_MAX bytes of the comment, NUL-terminated
	 * (a NUL in it ends it); quote it to show it. */
	char comment[RP_SSHAGENT_COMMENT_MAX + 1];
};

/* The 5-byte SSH_AGENTC_REQUEST_IDENTITIES message. */
void rp_sshagent_ids_request(uint8_t out[5]);
/*
 * The SSH_AGENTC_SIGN_REQUEST message (length included) asking the
 * ssh-ed25519 key pub to sign data, flags 0; malloc'd. RP_E_TOOBIG beyond
 * RP_SSHAGENT_DATA_MAX.
 */
int rp_sshagent_sign_request(const uint8_t pub[32], const void *data, size_t len, uint8_t **ret,
			     size_t *ret_len);

/*
 * The length field of an answer: RP_E_MALFORMED for 0, RP_E_TOOBIG past
 * RP_SSHAGENT_ANSWER_MAX, with d saying so.
 */
int rp_sshagent_answer_len(const uint8_t hdr[4], uint32_t *ret, struct rp_diag *d);
/*
 * An SSH_AGENT_IDENTITIES_ANSWER (msg: type byte onwards): every key, in
 * the agent's order, each with its kind; *ret malloc'd (NULL when there is
 * none). SSH_AGENT_FAILURE is RP_E_NOTFOUND; any other shape RP_E_MALFORMED
 * or RP_E_TOOBIG (more than RP_SSHAGENT_IDENTITIES_MAX keys), d naming what
 * was wrong and at which key.
 */
int rp_sshagent_parse_ids(const uint8_t *msg, size_t n, struct rp_sshagent_id **ret, size_t *ret_n,
			  struct rp_diag *d);
/*
 * An SSH_AGENT_SIGN_RESPONSE holding an ssh-ed25519 signature: its 64
 * bytes in ret_sig. SSH_AGENT_FAILURE is RP_E_NOSIG ("the agent refused");
 * a signature of another type or length, or any other shape, RP_E_MALFORMED.
 */
int rp_sshagent_parse_sig(const uint8_t *msg, size_t n, uint8_t ret_sig[64], struct rp_diag *d);

/*
 * SSH_AGENTC_ADD_ID_CONSTRAINED (length included, malloc'd; the caller
 * wipes and frees it: it holds the private key): the ssh-ed25519 key
 * (sk: libsodium's seed||pub, as the protocol's k||ENC(A)), with comment,
 * kept lifetime_s seconds by the agent (SSH_AGENT_CONSTRAIN_LIFETIME).
 */
int rp_sshagent_add_request(const uint8_t sk[64], const char *comment, uint32_t lifetime_s,
			    uint8_t **ret, size_t *ret_len);
/* SSH_AGENTC_REMOVE_IDENTITY of the ssh-ed25519 key pub (length included, malloc'd). */
int rp_sshagent_remove_request(const uint8_t pub[32], uint8_t **ret, size_t *ret_len);
/*
 * The answer to an add or a remove: SSH_AGENT_SUCCESS alone is 0,
 * SSH_AGENT_FAILURE RP_E_NOTFOUND (the agent refused, or holds no such
 * key), anything else RP_E_MALFORMED.
 */
int rp_sshagent_parse_status(const uint8_t *msg, size_t n, struct rp_diag *d);

/* A connection to an agent's socket. */
struct rp_sshagent {
	int fd;
	int timeout_ms; /* per exchange: RP_SSHAGENT_TIMEOUT_S from rp_sshagent_connect */
	char path[108]; /* sizeof(sun_path) */
};
/*
 * Connects to the agent at path (a Unix socket, e.g. $SSH_AUTH_SOCK).
 * RP_E_INVAL for a path too long for a socket address, RP_E_NET when
 * nothing answers there; d names the path and the reason.
 */
int rp_sshagent_connect(const char *path, struct rp_sshagent *ret, struct rp_diag *d);
void rp_sshagent_close(struct rp_sshagent *a);
/*
 * Lists the agent's keys (rp_sshagent_parse_ids), within a->timeout_ms from
 * the request's first byte to the answer's last. After a failure in the
 * middle of an exchange the connection is closed (fd -1): the stream is out
 * of step, and nothing more is read from it.
 */
int rp_sshagent_list(struct rp_sshagent *a, struct rp_sshagent_id **ret, size_t *ret_n,
		     struct rp_diag *d);
/*
 * Asks the agent to sign data with its ssh-ed25519 key pub, within
 * a->timeout_ms. The signature is the agent's word: not verified.
 */
int rp_sshagent_sign(struct rp_sshagent *a, const uint8_t pub[32], const void *data, size_t len,
		     uint8_t ret_sig[64], struct rp_diag *d);
/* The add and remove requests, within a->timeout_ms (rp_sshagent_parse_status). */
int rp_sshagent_add(struct rp_sshagent *a, const uint8_t sk[64], const char *comment,
		    uint32_t lifetime_s, struct rp_diag *d);
int rp_sshagent_remove(struct rp_sshagent *a, const uint8_t pub[32], struct rp_diag *d);
