/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Enrolment token: what an administrator hands to a new server so that its
 * agent trusts exactly the right control plane and root policy.
 *   RPE1.<base64url, no padding, of the text below>
 *   rampart/enroll/v1
 *   server https://host:port
 *   pin sha256:<hex>
 *   org <org>
 *   policy sha256:<hex>
 *   secret <64 hex>
 *   expires <YYYY-MM-DDTHH:MM:SSZ>
 * The server stores only SHA-256 of the secret.
 */

#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

struct rp_enroll_token {
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char policy[72];
	char secret[65];
	int64_t expires;
};

/*
 * The text inside `<prefix><base64url>' (both token kinds: this one, and
 * lib/enroll.h's reusable one), its first line header; *ret is left after
 * it. The caller wipes text. RP_E_MALFORMED with d naming what (what:
 * "enrolment token").
 */
int rp_token_text_open(const char *s, size_t n, const char *pfx, const char *hdr, const char *what,
		       char text[RP_TOKEN_TEXT_MAX], struct rp_cursor *ret, struct rp_diag *d);
/* `<prefix><base64url of text>', malloc'd; NULL without memory. */
char *rp_token_text_seal(const char *pfx, const char *text, size_t len);

int rp_enroll_token_parse(const char *s, size_t n, struct rp_enroll_token *ret, struct rp_diag *d);
char *rp_enroll_token_format(const struct rp_enroll_token *t);
