/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_result r;
	size_t len;
	char *t;

	if (sodium_init() < 0)
		__builtin_trap();
	if (rp_result_parse_text((const char *)data, size, &r, NULL) == 0) {
		t = rp_result_format(&r, &len);
		if (!t || len != size || memcmp(t, data, size) != 0)
			__builtin_trap();
		free(t);
	}
	return 0;
}
