/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's log.state file: what parses formats back to the same bytes
 * (the form is canonical), and the invariant last-index < size holds.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_log_state st, back;
	struct rp_diag d;
	size_t len;
	char *s;

	if (rp_log_state_parse((const char *)data, size, &st, &d) != 0)
		return 0;
	FUZZ_CHECK(st.last_index < 0 || (uint64_t)st.last_index < st.size);
	s = rp_log_state_format(&st, &len);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(len == size && memcmp(s, data, size) == 0);
	FUZZ_CHECK(rp_log_state_parse(s, len, &back, NULL) == 0);
	FUZZ_CHECK(memcmp(&st, &back, sizeof(st)) == 0);
	free(s);
	return 0;
}
