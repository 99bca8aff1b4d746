/* SPDX-License-Identifier: Apache-2.0 */
/* Reusable enrolment tokens (lib/enroll.h): what parses formats to a token that parses the same. */
#include <stdint.h>
#include <string.h>

#include "enroll.h"
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
	struct rp_reusable_token t, back;
	struct rp_diag d;
	char *s;

	if (rp_reusable_token_parse((const char *)data, size, &t, &d) != 0)
		return 0;
	s = rp_reusable_token_format(&t);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(rp_reusable_token_parse(s, strlen(s), &back, NULL) == 0);
	FUZZ_CHECK(strcmp(t.server, back.server) == 0 && strcmp(t.pin, back.pin) == 0 &&
		   strcmp(t.org, back.org) == 0 && strcmp(t.policy, back.policy) == 0 &&
		   strcmp(t.id, back.id) == 0 && memcmp(t.seed, back.seed, 32) == 0 &&
		   t.expires == back.expires);
	free(s);
	return 0;
}
