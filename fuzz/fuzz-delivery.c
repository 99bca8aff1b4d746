/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "verify.h"

/* The JSON transport form and then the whole check path, as the agent runs it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_policy *policy;
	struct rp_delivery dl;
	struct rp_command *c = NULL;
	char id[RP_ID_HEX + 1];

	if (!policy) {
		static const char text[] =
			"rampart/policy/v1\norg acme\nversion 1\nexpires 2100-01-01T00:00:00Z\n"
			"key alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3\n"
			"role root 1 alice.example\nrole exec 1 alice.example\n"
			"role query 1 alice.example\nrole directory 1 alice.example\n";
		if (sodium_init() < 0 || rp_policy_parse_text(text, strlen(text), &policy, NULL) < 0)
			__builtin_trap();
	}
	if (rp_delivery_parse((const char *)data, size, &dl, NULL) == 0) {
		struct rp_verify_ctx ctx = {.policy = policy,
					    .device_id = "00112233445566778899aabbccddeeff",
					    .now = 1795000000, .skew = 300};
		if (rp_verify_delivery(&ctx, &dl, &c, id, NULL) == 0)
			rp_command_free(c);
		rp_delivery_release(&dl);
	}
	return 0;
}
