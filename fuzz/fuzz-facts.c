/* SPDX-License-Identifier: Apache-2.0 */
/* Device facts: a text that parses is canonical, format(parse(x)) == x. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
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
	static const uint8_t pub[32] = {1};
	struct rp_facts f;
	struct rp_diag d;
	size_t len;
	char *t;

	/* As a signed note too: it must fail cleanly, never verify by accident. */
	FUZZ_CHECK(rp_facts_verify((const char *)data, size, pub, &f, &d) < 0);
	if (rp_facts_parse_text((const char *)data, size, &f, &d) != 0)
		return 0;
	t = rp_facts_format(&f, &len);
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(len == size && memcmp(t, data, size) == 0);
	free(t);
	return 0;
}
