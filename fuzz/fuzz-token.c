/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_enroll_token t, back;
	char *s;

	if (sodium_init() < 0)
		__builtin_trap();
	if (rp_enroll_token_parse((const char *)data, size, &t, NULL) == 0) {
		s = rp_enroll_token_format(&t);
		if (!s || rp_enroll_token_parse(s, strlen(s), &back, NULL) != 0 ||
		    memcmp(&t, &back, sizeof(t)) != 0)
			__builtin_trap();
		free(s);
	}
	return 0;
}
