/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A device's result for one command, signed by the device key as a note
 * (key name = device id). Format: docs/formats.md.
 */

#include <stdint.h>

#include "statement.h"

enum rp_result_status {
	RP_RESULT_DONE,      /* exited by itself; exit code is the program's */
	RP_RESULT_TIMED_OUT, /* killed by the agent at its timeout; signal set */
	RP_RESULT_FAILED,    /* could not be started (no such user, ...) */
	RP_RESULT_REFUSED,   /* a check of DESIGN.md section 4 failed */
	/* Ended by a signal it did not ask for (SIGSEGV, the OOM killer's
	 * SIGKILL, ...) or by the agent stopping; signal set. */
	RP_RESULT_KILLED,
	/* not run: a signed cancel (lib/cancel.h) names it; exit -1 */
	RP_RESULT_CANCELLED,
};

struct rp_result {
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
	char command[RP_ID_HEX + 1];
	enum rp_result_status status;
	int32_t exit_code; /* -1 when there is none */
	/* killed, timed-out: the signal that ended it (1-64), else 0 */
	int32_t signal;
	uint64_t duration_ms;
	uint8_t output_hash[32];
	uint64_t output_size; /* the kept tail */
};

const char *rp_result_status_name(enum rp_result_status s);
int rp_result_parse_text(const char *text, size_t len, struct rp_result *ret, struct rp_diag *d);
char *rp_result_format(const struct rp_result *r, size_t *ret_len);
/*
 * A result note of device id (NULL: the hash of pub) signed by its key
 * pub under the device id (rp_device_vkey), and naming that device. The
 * caller checks org and command. RP_E_MALFORMED, RP_E_BADSIG / RP_E_NOSIG,
 * or RP_E_KEY when it names another device.
 */
int rp_result_verify(const char *msg, size_t len, const uint8_t pub[32], const char *id,
		     struct rp_result *ret, struct rp_diag *d);
