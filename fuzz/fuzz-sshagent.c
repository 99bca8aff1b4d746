/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ssh-agent answers (lib/sshagent.c) as the CLI reads them from an agent,
 * which may be forwarded from another machine: the identities answer, the
 * sign response, the status answer to an add or remove (key unlock|lock)
 * and the length field, each over the same bytes.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "rp_err.h"
#include "sshagent.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_sshagent_id *v = NULL;
	struct rp_diag d;
	uint8_t sig[64], *req = NULL;
	uint32_t len = 0;
	size_t n = 0, qn;
	int r;

	r = rp_sshagent_parse_ids(data, size, &v, &n, &d);
	if (r == 0) {
		FUZZ_CHECK(n <= RP_SSHAGENT_IDENTITIES_MAX && (n == 0) == (v == NULL));
		for (size_t i = 0; i < n; i++) {
			FUZZ_CHECK(strlen(v[i].comment) <= RP_SSHAGENT_COMMENT_MAX);
			FUZZ_CHECK(strlen(v[i].type) > 0 || v[i].kind == RP_SSHKEY_OTHER);
			if (v[i].kind == RP_SSHKEY_ED25519) {
				FUZZ_CHECK(strcmp(v[i].type, RP_SSH_ED25519) == 0);
				FUZZ_CHECK(rp_sshagent_sign_request(v[i].pub, data, size, &req,
								    &qn) == 0);
				free(req);
			}
		}
		free(v);
	} else {
		FUZZ_CHECK(v == NULL && d.msg[0] != '\0');
	}
	r = rp_sshagent_parse_sig(data, size, sig, &d);
	FUZZ_CHECK(r == 0 || d.msg[0] != '\0');
	r = rp_sshagent_parse_status(data, size, &d);
	FUZZ_CHECK(r == 0 ? size == 1 && data[0] == RP_SSH_AGENT_SUCCESS : d.msg[0] != '\0');
	if (size >= 4 && rp_sshagent_answer_len(data, &len, &d) == 0)
		FUZZ_CHECK(len > 0 && len <= RP_SSHAGENT_ANSWER_MAX);
	return 0;
}
