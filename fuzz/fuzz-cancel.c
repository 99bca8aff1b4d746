/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cancel statements (lib/cancel.h: agents read them from the log, rampartd
 * from administrators, the CLI from the server): a text that parses is in
 * its one canonical form, format(parse(x)) == x byte for byte; the signed
 * form parses within its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
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
	struct rp_cancel *c = NULL;
	struct rp_diag d;
	size_t len;
	char *t;

	if (rp_cancel_parse_text((const char *)data, size, &c, &d) == 0) {
		FUZZ_CHECK(size <= RP_CANCEL_TEXT_MAX && strlen(c->reason) <= RP_CANCEL_REASON_MAX);
		t = rp_cancel_format(c, &len);
		FUZZ_CHECK(t != NULL && len == size && memcmp(t, data, size) == 0);
		free(t);
		rp_cancel_free(c);
		c = NULL;
	}
	if (rp_cancel_parse((const char *)data, size, &c, &d) == 0) {
		FUZZ_CHECK(size <= RP_CANCEL_NOTE_MAX && c->note != NULL);
		rp_cancel_free(c);
	}
	return 0;
}
