/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Reusable enrolment (docs/formats.md, "Reusable enrolment token" and
 * "Enrolment note"; docs/directory.md, "Enrolling a fleet").
 *
 * Administrators sign a `token' line in a directory statement: a token id,
 * the public half of a key pair whose seed only the token text carries,
 * an expiry, a maximum number of devices, and the device groups and tags
 * new devices join. A new device signs an enrolment note with that seed
 * AND its own device key; rampartd logs the note; every fold (the agents',
 * the CLI's, rampartd's) gives a logged note under a logged, unrevoked
 * token a device record with the token's groups and tags when the device
 * has none, up to the token's maximum, counted in log order. A server
 * without the seed cannot make a note; one that logs a seen note again
 * gains nothing (the token lists the devices it enrolled).
 *
 * The token text handed to operators:
 *   RPE2.<base64url, no padding, of>
 *   rampart/enroll/v2
 *   server https://host:port
 *   pin sha256:<hex>
 *   org <org>
 *   policy sha256:<hex>
 *   token <id>
 *   seed <64 hex>
 *   expires <YYYY-MM-DDTHH:MM:SSZ>
 */

#include <stdbool.h>
#include <stdint.h>

#include "directory.h"
#include "note.h"
#include "rp_limits.h"
#include "util.h"

struct rp_reusable_token {
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char policy[72];
	char id[RP_ID_HEX + 1];
	uint8_t seed[32];
	int64_t expires; /* what the statement says; the fold judges by the statement */
};

/* True when s starts with the reusable token's prefix (RPE2.). */
bool rp_reusable_token_is(const char *s, size_t n);
int rp_reusable_token_parse(const char *s, size_t n, struct rp_reusable_token *ret,
			    struct rp_diag *d);
/* malloc'd token text; NULL without memory. */
char *rp_reusable_token_format(const struct rp_reusable_token *t);
/* The token's signing key (name `token-<id>'), from its seed. */
int rp_reusable_token_key(const char *id, const uint8_t seed[32], struct rp_skey *ret);

/* An enrolment note's text (rampart/enrolment/v1). */
struct rp_enrolment {
	char org[RP_ORG_NAME_MAX + 1];
	char token[RP_ID_HEX + 1];
	char device[RP_ID_HEX + 1];
	uint8_t pub[32]; /* the device's enrolment key: device = rp_device_id(pub) */
	char hostname[RP_FACTS_HOSTNAME_MAX + 1];
	int64_t time; /* when the device signed it: judged against the token's expiry */
};

bool rp_entry_is_enrolment(const uint8_t *entry, size_t len);
/* Strict parse of the text; RP_E_MALFORMED/TOOBIG naming what was wrong. */
int rp_enrolment_parse_text(const char *text, size_t len, struct rp_enrolment *ret,
			    struct rp_diag *d);
/* The one text of e; NULL when a field is invalid. */
char *rp_enrolment_format(const struct rp_enrolment *e, size_t *ret_len);
/* The note, signed by the token key and then by the device key (its name the device id). */
int rp_enrolment_sign(const struct rp_enrolment *e, const struct rp_skey *token,
		      const struct rp_skey *device, char **ret, size_t *ret_len);

/*
 * Whether the logged entry (an enrolment note, signatures included) would
 * add a device record to s: 0, with *ret the note's fields; else
 * RP_E_MALFORMED (not a note of this shape), RP_E_ORG, RP_E_NOTFOUND (no
 * such token in s: never logged, dropped for its groups' threshold, or
 * revoked), RP_E_BADSIG/RP_E_NOSIG (not signed by both the token key and
 * the device key), RP_E_EXPIRED (signed at or after the token's expiry),
 * RP_E_EXISTS (the device has a record, or this token enrolled it
 * already) or RP_E_TOOBIG (the token enrolled its maximum); d says which.
 */
int rp_dir_enrol_judge(const struct rp_dir_state *s, const uint8_t *entry, size_t len,
		       struct rp_enrolment *ret, struct rp_diag *d);
/*
 * The entry folded into s: a record for the device with the token's groups
 * and tags, and the device listed under the token, when rp_dir_enrol_judge
 * allows (*ret_folded); s's entry count and tail move either way. < 0 only
 * without memory. d: why not folded.
 */
int rp_dir_enrol_fold(struct rp_dir_state *s, const uint8_t *entry, size_t len, bool *ret_folded,
		      struct rp_enrolment *ret, struct rp_diag *d);
