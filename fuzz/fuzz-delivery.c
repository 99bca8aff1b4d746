/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A delivery as the agent receives it: rp_delivery_parse (JSON transport,
 * caps, canonical base64), then the whole check path rp_verify_delivery
 * under a policy of exec 2 of alice, bob and carol. Anything accepted must
 * really be for this device, in its window, with the payload it names.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "rp_err.h"
#include "verify.h"

#define DEV "00112233445566778899aabbccddeeff"
#define NOW 1795000000

static struct rp_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] =
		"rampart/policy/v1\norg acme\nversion 1\nexpires 2100-01-01T00:00:00Z\n"
		"key " FUZZ_ALICE "\nkey " FUZZ_BOB "\nkey " FUZZ_CAROL "\n"
		"role root 2 alice.example bob.example carol.example\n"
		"role exec 2 alice.example bob.example carol.example\n"
		"role query 1 alice.example bob.example carol.example\n"
		"role directory 2 alice.example bob.example carol.example\n"
		"freshness 3600\nlog " FUZZ_LOG "\nwitness w1 " FUZZ_WITNESS "\nquorum w1\n";

	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	FUZZ_CHECK(rp_policy_parse_text(text, strlen(text), &policy, NULL) == 0);
	return 0;
}

static int seen_none(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_verify_ctx ctx = {.policy = policy,
				    .device_id = DEV,
				    .now = NOW,
				    .skew = RP_CLOCK_SKEW_S,
				    .seen = seen_none};
	struct rp_delivery dl;
	struct rp_command *c = NULL;
	struct rp_diag d;
	char id[RP_ID_HEX + 1];
	uint8_t h[32];

	/* The agent's checkpoint refresh answer is the same JSON fields. */
	if (rp_checkpoint_update_parse((const char *)data, size, &dl, &d) == 0) {
		FUZZ_CHECK(dl.checkpoint && dl.checkpoint_len <= RP_CHECKPOINT_MAX &&
			   dl.ncons <= RP_PROOF_HASHES_MAX && dl.index == -1);
		rp_delivery_release(&dl);
	}
	if (rp_delivery_parse((const char *)data, size, &dl, &d) != 0)
		return 0;
	FUZZ_CHECK(dl.statement_len <= RP_LOG_ENTRY_MAX && dl.payload_len <= RP_PAYLOAD_MAX);
	if (rp_verify_delivery(&ctx, &dl, &c, id, &d) == 0) {
		FUZZ_CHECK(strcmp(c->org, "acme") == 0);
		FUZZ_CHECK(rp_command_targets(c, DEV));
		FUZZ_CHECK(NOW <= c->expires + RP_CLOCK_SKEW_S &&
			   NOW + RP_CLOCK_SKEW_S >= c->not_before);
		FUZZ_CHECK(c->payload_size == dl.payload_len);
		rp_sha256(dl.payload, dl.payload_len, h);
		FUZZ_CHECK(memcmp(h, c->payload_hash, 32) == 0);
		FUZZ_CHECK(strcmp(id, c->id) == 0);
		rp_command_free(c);
	}
	rp_delivery_release(&dl);
	return 0;
}
