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

int rp_enroll_token_parse(const char *s, size_t n, struct rp_enroll_token *ret, struct rp_diag *d);
char *rp_enroll_token_format(const struct rp_enroll_token *t);
