/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "result.h"
#include "state.h"

struct exec_result {
	enum rp_result_status status;
	int exit_code; /* -1 when the program did not exit by itself */
	uint64_t duration_ms;
	char *output; /* the last RP_OUTPUT_KEEP bytes of stdout+stderr */
	size_t output_len;
	char reason[256]; /* why it failed to start, for FAILED */
};

/*
 * Runs a verified command's payload: written to work/<id> and run by
 * /bin/sh (or its own #! interpreter) as the run-as user, in a new session
 * and process group, with a clean environment and stdin from /dev/null.
 * At the timeout the whole process group is killed.
 */
int agent_exec(const struct agent *a, const struct rp_command *c,
	       const uint8_t *payload, size_t len, struct exec_result *ret);
void exec_result_release(struct exec_result *r);
