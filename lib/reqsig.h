/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Signed API requests: devices and administrators authenticate each
 * request with their Ed25519 key, never with a bearer secret alone.
 * Headers: X-Rampart-Key, X-Rampart-Time, X-Rampart-Signature over
 *   "rampart-request/v1\n" METHOD "\n" PATH "\n" TIME "\n" hex(SHA-256(body)) "\n"
 */

#include <stddef.h>
#include <stdint.h>

#include "note.h"

#define RP_REQSIG_HDR_KEY  "X-Rampart-Key"
#define RP_REQSIG_HDR_TIME "X-Rampart-Time"
#define RP_REQSIG_HDR_SIG  "X-Rampart-Signature"

/* Returns the base64 signature (malloc'd). */
char *rp_reqsig_sign(const struct rp_skey *k, const char *method, const char *path, int64_t ts,
		     const void *body, size_t body_len);
/*
 * The same with any signer (lib/signer.h), its signature verified first:
 * the base64 signature in *ret (malloc'd), or an error with d saying why.
 */
struct rp_signer;
int rp_reqsig_sign_by(const struct rp_signer *s, const char *method, const char *path, int64_t ts,
		      const void *body, size_t body_len, char **ret, struct rp_diag *d);

/*
 * 0 when sig_b64 is a valid signature by pub over the request and ts is
 * within RP_REQUEST_SKEW_S of now.
 */
int rp_reqsig_verify(const uint8_t pub[32], const char *method, const char *path,
		     const char *ts_text, const void *body, size_t body_len, const char *sig_b64,
		     int64_t now, struct rp_diag *d);
