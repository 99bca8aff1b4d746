/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's cancel.state (lib/cancel.h), read at every start: a state
 * that parses holds at most RP_CANCEL_KEEP_MAX records, sorted, each
 * once, and is written back byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "fuzz-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_cancel_state s;
	struct rp_diag d;
	size_t len;
	char *t;

	if (rp_cancel_state_parse((const char *)data, size, &s, &d) == 0) {
		FUZZ_CHECK(s.n <= RP_CANCEL_KEEP_MAX);
		for (size_t i = 1; i < s.n; i++)
			FUZZ_CHECK(strcmp(s.rec[i - 1].command, s.rec[i].command) < 0);
		t = rp_cancel_state_format(&s, &len);
		FUZZ_CHECK(t != NULL && len == size && memcmp(t, data, size) == 0);
		free(t);
	}
	return 0;
}
