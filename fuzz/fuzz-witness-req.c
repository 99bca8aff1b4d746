/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlog-witness add-checkpoint request bodies: whatever rp_witness_req_parse
 * accepts, rp_witness_req_format writes back byte for byte (the parser
 * admits one spelling only), with at most 63 proof hashes and a checkpoint
 * note that parses on its own. Refusals carry a diagnostic.
 * Seeds: fuzz/corpus/witness-req (tlog-witness.md's example, and requests
 * for a Rampart log with and without a proof).
 */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz-common.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rp_witness_req req;
	struct rp_checkpoint c;
	struct rp_diag d = {""};
	char *back;
	size_t blen;
	int r;

	r = rp_witness_req_parse(s, size, &req, &d);
	if (r != 0) {
		FUZZ_CHECK(r == RP_E_MALFORMED || r == RP_E_TOOBIG || r == RP_E_NOMEM);
		FUZZ_CHECK(d.msg[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(req.nproof <= RP_PROOF_HASHES_MAX && req.note != NULL);
	FUZZ_CHECK(req.old_size <= INT64_MAX && req.cp.size <= INT64_MAX);
	FUZZ_CHECK(rp_checkpoint_parse(req.note->msg, req.note->text_len, &c, NULL) == 0);
	FUZZ_CHECK(memcmp(&c, &req.cp, sizeof(c)) == 0);
	back = rp_witness_req_format(req.old_size, (const uint8_t(*)[RP_HASH_LEN])req.proof,
				     req.nproof, req.note->msg, req.note->msg_len, &blen);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(blen == size && memcmp(back, s, size) == 0);
	free(back);
	rp_witness_req_release(&req);
	FUZZ_CHECK(req.note == NULL);
	return 0;
}
