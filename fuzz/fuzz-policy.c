/* SPDX-License-Identifier: Apache-2.0 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Whatever parses must serialise to text that parses to the same hash. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_policy *p, *q;
	size_t len;
	char *t;

	if (sodium_init() < 0)
		__builtin_trap();
	if (rp_policy_parse_text((const char *)data, size, &p, NULL) == 0 ||
	    rp_policy_parse((const char *)data, size, &p, NULL) == 0) {
		t = rp_policy_format(p, &len);
		if (!t || rp_policy_parse_text(t, len, &q, NULL) != 0 || strcmp(p->hash, q->hash) != 0)
			__builtin_trap();
		if (p->note)
			rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, NULL);
		rp_policy_free(q);
		free(t);
		rp_policy_free(p);
	}
	return 0;
}
