/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "client/httpc.h"

/* The agent's HTTP response parsing (http-parser behind rp_http_parse_response). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_http_resp r;

	if (rp_http_parse_response((const char *)data, size, 4096, &r, NULL) == 0)
		rp_http_resp_release(&r);
	return 0;
}
