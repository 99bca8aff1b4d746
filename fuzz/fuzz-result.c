/* SPDX-License-Identifier: Apache-2.0 */
/* Result notes: a text that parses is canonical, format(parse(x)) == x. */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "result.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_result r;
	struct rp_diag d;
	size_t len;
	char *t;

	if (rp_result_parse_text((const char *)data, size, &r, &d) != 0)
		return 0;
	t = rp_result_format(&r, &len);
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(len == size && memcmp(t, data, size) == 0);
	free(t);
	return 0;
}
