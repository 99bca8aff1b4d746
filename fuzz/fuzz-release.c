/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release statements: a text that parses is in its one canonical form,
 * format(parse(x)) == x byte for byte; the version order is a total
 * preorder on what parses (antisymmetric).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "release.h"

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
	struct rp_release *r = NULL;
	struct rp_diag d;
	size_t olen;
	char *t;

	if (rp_release_parse_text(s, size, &r, &d) == 0) {
		t = rp_release_format(r, &olen);
		FUZZ_CHECK(t != NULL && olen == size && memcmp(t, s, size) == 0);
		free(t);
		FUZZ_CHECK(rp_release_version_cmp(r->version, r->version) == 0);
		FUZZ_CHECK(rp_release_version_cmp(r->version, "1.0") ==
			   -rp_release_version_cmp("1.0", r->version));
		rp_release_free(r);
	}
	if (rp_release_parse(s, size, &r, &d) == 0)
		rp_release_free(r);
	return 0;
}
