/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A device's facts (hostname, OS, agent version) as the device states
 * them, signed by its key as a note whose key name is the device id, like
 * a result. Sent at enrolment; administrators choose targets by these
 * names, so the CLI shows a hostname as the device's only when this note
 * verifies, and as the server's word otherwise. Format: docs/formats.md.
 */

#include <stdint.h>

#include "rp_limits.h"
#include "statement.h"

struct rp_facts {
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
	char hostname[RP_FACTS_HOSTNAME_MAX + 1];
	char os[RP_FACTS_OS_MAX + 1];
	char agent_version[RP_FACTS_VERSION_MAX + 1];
	/*
	 * Optional, in this order after agent-version (notes from before them
	 * stay valid): the kernel release, when it last booted, and when the
	 * device signed these facts. "" / 0 when absent.
	 */
	char kernel[RP_FACTS_OS_MAX + 1];
	int64_t booted, time;
};

int rp_facts_parse_text(const char *text, size_t len, struct rp_facts *ret, struct rp_diag *d);
/* The one canonical text; parse(format(f)) == f. NULL when a field is invalid. */
char *rp_facts_format(const struct rp_facts *f, size_t *ret_len);
/*
 * The signed facts note of the device whose public key is pub: signed by
 * that key under the device id (rp_device_vkey), and naming that device.
 * RP_E_MALFORMED, RP_E_BADSIG / RP_E_NOSIG, or RP_E_KEY when it names
 * another device.
 */
int rp_facts_verify(const char *msg, size_t len, const uint8_t pub[32], struct rp_facts *ret,
		    struct rp_diag *d);
/* The same for a key the device re-keyed to: signed by pub under the device id device. */
int rp_facts_verify_as(const char *msg, size_t len, const uint8_t pub[32], const char *device,
		       struct rp_facts *ret, struct rp_diag *d);
