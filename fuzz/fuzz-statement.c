/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statement.h"

/* A statement that parses is in its one canonical form: format(parse(x)) == x. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_command *c;
	size_t len;
	char *t;

	if (sodium_init() < 0)
		__builtin_trap();
	if (rp_command_parse_text((const char *)data, size, &c, NULL) == 0) {
		t = rp_command_format(c, &len);
		if (!t || len != size || memcmp(t, data, size) != 0)
			__builtin_trap();
		free(t);
		rp_command_free(c);
	}
	if (rp_command_parse((const char *)data, size, &c, NULL) == 0)
		rp_command_free(c);
	return 0;
}
