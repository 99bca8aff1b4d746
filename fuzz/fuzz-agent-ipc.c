/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The messages between the agent's two processes (agent/ipc.c): what the
 * root process reads from a network process that may be compromised. The
 * first byte chooses the decoder (hello, request, answer); an answer is
 * checked against a request whose sequence number and kind come from the
 * next five bytes. Whatever decodes must encode again to the same bytes
 * (one encoding per message), and decode from those to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "ipc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

/* encoded holds the length prefix, then the message: the same bytes as m. */
static void same_bytes(const uint8_t *enc, size_t enclen, const uint8_t *m, size_t n)
{
	FUZZ_CHECK(enclen == n + 4);
	FUZZ_CHECK(memcmp(enc + 4, m, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_diag d = {""};
	uint8_t *enc = NULL;
	size_t enclen;

	if (size < 6)
		return 0;
	const uint8_t *m = data + 6;
	size_t n = size - 6;
	switch (data[0] % 3) {
	case 0: {
		struct agent_hello h;
		if (agent_ipc_hello_decode(m, n, &h, &d) == 0) {
			FUZZ_CHECK(strlen(h.url) <= AGENT_IPC_URL_MAX);
			FUZZ_CHECK(agent_ipc_hello_encode(&h, &enc, &enclen) == 0);
			same_bytes(enc, enclen, m, n);
		}
		break;
	}
	case 1: {
		struct agent_request q;
		if (agent_ipc_request_decode(m, n, &q, &d) == 0) {
			FUZZ_CHECK(q.nheaders <= AGENT_IPC_HEADERS_MAX);
			FUZZ_CHECK(q.nfields <= AGENT_IPC_FIELDS_MAX);
			FUZZ_CHECK(q.body_len <= AGENT_IPC_BODY_MAX);
			FUZZ_CHECK(q.kind <= AGENT_ANS_BYTES);
			FUZZ_CHECK(agent_ipc_request_encode(&q, &enc, &enclen) == 0);
			same_bytes(enc, enclen, m, n);
		}
		break;
	}
	default: {
		struct agent_request asked = {
			.seq = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
			       (uint32_t)data[3] << 8 | data[4],
			.kind = (uint8_t)(data[5] % 6),
			/* AGENT_ANS_BYTES: a package's piece, bounded by what was asked */
			.max_body = ((size_t)(data[5] >> 4) + 1) << 16,
			.nfields = data[5] >> 4 > AGENT_IPC_FIELDS_MAX ? AGENT_IPC_FIELDS_MAX
								       : data[5] >> 4,
		};
		struct agent_answer a, b;
		if (agent_ipc_answer_decode(m, n, &asked, &a, &d) == 0) {
			const struct rp_delivery *dl = &a.dl;
			FUZZ_CHECK(a.seq == asked.seq);
			FUZZ_CHECK(a.kind == AGENT_ANS_STATUS || a.kind == asked.kind);
			FUZZ_CHECK(a.r <= 0 &&
				   (a.status == 0 || (a.status >= 100 && a.status < 600)));
			FUZZ_CHECK(dl->nproof <= RP_PROOF_HASHES_MAX &&
				   dl->ncons <= RP_PROOF_HASHES_MAX);
			FUZZ_CHECK(dl->statement_len <= RP_LOG_ENTRY_MAX);
			FUZZ_CHECK(dl->payload_len <= RP_PAYLOAD_MAX);
			FUZZ_CHECK(a.kind != AGENT_ANS_BYTES || dl->payload_len <= asked.max_body);
			FUZZ_CHECK(dl->checkpoint_len <= RP_CHECKPOINT_MAX);
			FUZZ_CHECK(!dl->statement || strlen(dl->statement) == dl->statement_len);
			size_t total = 0;
			FUZZ_CHECK(a.ents.n <= RP_SCAN_ENTRIES_MAX &&
				   a.ents.ncons <= RP_PROOF_HASHES_MAX);
			for (size_t i = 0; i < a.ents.n; i++) {
				FUZZ_CHECK(a.ents.off[i] == total && a.ents.len[i] >= 1);
				total += a.ents.len[i];
			}
			FUZZ_CHECK(total <= RP_SCAN_BYTES_MAX);
			for (size_t i = 0; i < AGENT_IPC_FIELDS_MAX; i++)
				FUZZ_CHECK(!a.field[i] || (i < asked.nfields &&
							   strlen(a.field[i]) == a.field_len[i]));
			FUZZ_CHECK(agent_ipc_answer_encode(&a, &enc, &enclen) == 0);
			FUZZ_CHECK(agent_ipc_answer_decode(enc + 4, enclen - 4, &asked, &b, &d) ==
				   0);
			FUZZ_CHECK(b.r == a.r && b.status == a.status && b.kind == a.kind);
			FUZZ_CHECK(b.dl.index == a.dl.index && b.dl.nproof == a.dl.nproof);
			FUZZ_CHECK(b.dl.payload_len == a.dl.payload_len &&
				   (!a.dl.payload_len ||
				    memcmp(b.dl.payload, a.dl.payload, a.dl.payload_len) == 0));
			FUZZ_CHECK(b.ents.n == a.ents.n && b.ents.from == a.ents.from &&
				   (a.ents.n == 0 || memcmp(b.ents.buf, a.ents.buf, total) == 0));
			agent_answer_release(&b);
			agent_answer_release(&a);
		}
		break;
	}
	}
	free(enc);
	return 0;
}
