/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A device's drift report (docs/directory.md, "Drift"): what on the machine
 * differs from what the signed directory grants it, as the device found it,
 * signed by its key like a result (note key name = device id), so that
 * `rampart drift' shows the device's word, not the server's.
 * Format: docs/formats.md, "Drift report".
 */

#include <stdint.h>

#include "rp_limits.h"
#include "statement.h"

struct rp_drift_item {
	char code[RP_DRIFT_CODE_MAX + 1];       /* drift-key, drift-uid0, conflict, ... */
	char subject[RP_DRIFT_SUBJECT_MAX + 1]; /* a login, group or file: no space */
	char detail[RP_DRIFT_DETAIL_MAX + 1];   /* "" when none */
};

struct rp_drift {
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
	uint64_t version; /* of the directory it was judged against */
	int64_t at;       /* when */
	size_t n;
	struct rp_drift_item items[RP_DRIFT_ITEMS_MAX];
};

/* Strict: RP_E_MALFORMED / RP_E_TOOBIG naming the line. ret is large: allocate it. */
int rp_drift_parse_text(const char *text, size_t len, struct rp_drift *ret, struct rp_diag *d);
/* The one text; NULL when a field would not parse back. */
char *rp_drift_format(const struct rp_drift *r, size_t *ret_len);
/*
 * The signed report of device id (its current key pub): signed by that
 * key under that id, and naming that device (RP_E_KEY otherwise).
 */
int rp_drift_verify(const char *msg, size_t len, const uint8_t pub[32], const char *id,
		    struct rp_drift *ret, struct rp_diag *d);
/* Makes s one printable-ASCII word (escapes as rp_quote, a space as \x20), at most max bytes. */
void rp_drift_word(char *out, size_t max, const char *s);
