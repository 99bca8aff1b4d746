/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Library functions return 0 or a negative RP_E_* code; the binaries log.
 * Values never change meaning once released: add at the end only.
 */
#define RP_ERRORS(X)                                                                  \
	X(OK, 0, "success")                                                           \
	X(NOMEM, -1, "out of memory")                                                 \
	X(TOOBIG, -2, "input exceeds its size limit")                                 \
	X(MALFORMED, -3, "malformed input")                                           \
	X(BADSIG, -4, "invalid signature")                                            \
	X(NOSIG, -5, "no verifiable signature")                                       \
	X(QUORUM, -6, "signatures do not reach the role's threshold")                 \
	X(IO, -7, "input/output error")                                               \
	X(NOTFOUND, -8, "not found")                                                  \
	X(EXPIRED, -9, "expired")                                                     \
	X(NOTYET, -10, "not yet valid")                                               \
	X(ORG, -11, "organisation mismatch")                                          \
	X(TARGET, -12, "this device is not a target")                                 \
	X(REPLAY, -13, "statement already executed")                                  \
	X(PAYLOAD, -14, "payload does not match its hash or size")                    \
	X(KEY, -15, "bad key")                                                        \
	X(POLICY, -16, "root policy check failed")                                    \
	X(CRYPTO, -17, "cryptographic library failure")                               \
	X(NET, -18, "network error")                                                  \
	X(TLS, -19, "TLS error")                                                      \
	X(PIN, -20, "server key does not match the pinned key")                       \
	X(HTTP, -21, "unexpected HTTP response")                                      \
	X(DB, -22, "database error")                                                  \
	X(KIND, -23, "unknown statement kind")                                        \
	X(INVAL, -24, "invalid argument")                                             \
	X(PASSPHRASE, -25, "wrong passphrase")                                        \
	X(EXISTS, -26, "already exists")                                              \
	X(LOG, -27, "transparency log check failed")                                  \
	X(PROOF, -28, "Merkle proof does not verify")                                 \
	X(ROLLBACK, -29, "checkpoint is older than one already seen")                 \
	X(FORK, -30, "checkpoint conflicts with one already seen")                    \
	X(WITNESS, -31, "witness cosignatures do not reach the quorum")               \
	X(STALE, -32, "no fresh cosigned checkpoint")                                 \
	X(UNSAFE, -33, "file refused: a link, not a regular file, or open to others") \
	X(POLICY_EXPIRED, -34, "the root policy has expired")                         \
	X(UNSCANNED, -35, "the log entry is past the entries read so far")            \
	X(CONFLICT, -36, "does not follow the current state")

enum {
#define RP_ERR_ENUM(name, val, text) RP_E_##name = (val),
	RP_ERRORS(RP_ERR_ENUM)
#undef RP_ERR_ENUM
};

const char *rp_strerror(int r);
