/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drift reports (rampartd parses them from every device, the CLI from the
 * server): a text that parses is in its one canonical form,
 * format(parse(x)) == x byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"
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
	static struct rp_drift dr;
	struct rp_diag d;
	size_t len;
	char *t;

	if (rp_drift_parse_text((const char *)data, size, &dr, &d) == 0) {
		FUZZ_CHECK(dr.n <= RP_DRIFT_ITEMS_MAX);
		t = rp_drift_format(&dr, &len);
		FUZZ_CHECK(t != NULL && len == size && memcmp(t, data, size) == 0);
		free(t);
	}
	return 0;
}
