/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTP response parsing: the same http-parser callbacks that
 * rp_https_do feeds from the network, here over one buffer. Besides
 * crashes, a wrong result aborts (so libFuzzer keeps the input).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/httpc.h"
#include "fuzz-common.h"

#define MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_http_resp r, again;
	int k;

	if (rp_http_parse_response((const char *)data, size, MAX_BODY, &r, NULL) != 0)
		return 0;
	FUZZ_CHECK(r.body != NULL);
	FUZZ_CHECK(r.body_len <= MAX_BODY && r.body_len <= size);
	FUZZ_CHECK(r.body[r.body_len] == '\0');
	FUZZ_CHECK(r.status >= 0 && r.status <= 999 &&
		   (r.status < 100 || r.status >= 200 || r.status == 101));
	FUZZ_CHECK(memchr(r.content_type, '\0', sizeof(r.content_type)) != NULL);
	/* The parser keeps no state between calls. */
	k = rp_http_parse_response((const char *)data, size, MAX_BODY, &again, NULL);
	FUZZ_CHECK(k == 0 && again.status == r.status && again.body_len == r.body_len &&
		   memcmp(again.body, r.body, r.body_len) == 0 &&
		   strcmp(again.content_type, r.content_type) == 0);
	rp_http_resp_release(&again);
	rp_http_resp_release(&r);
	return 0;
}
