/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device key bindings (lib/devkey.h): a text that parses is canonical,
 * format(parse(x)) == x; as a note or a chain of notes apart by 0x1e (as
 * rampartd lists them), nothing verifies that the fixed key did not sign.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devkey.h"
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
	static const uint8_t pub[32] = {1};
	const char *v[8];
	char device[RP_ID_HEX + 1];
	size_t lens[8], n = 0, len;
	struct rp_devkey_binding b;
	struct rp_diag d;
	uint8_t cur[32];
	char *t;

	rp_device_id(pub, device);
	FUZZ_CHECK(rp_devkey_verify((const char *)data, size, "acme", device, pub, &b, &d) < 0);
	for (const uint8_t *p = data, *e; n < 8 && p <= data + size; p = e + 1) {
		e = memchr(p, 0x1e, (size_t)(data + size - p));
		if (!e)
			e = data + size;
		v[n] = (const char *)p;
		lens[n++] = (size_t)(e - p);
	}
	/* nobody holds pub's secret half: no binding from it verifies */
	FUZZ_CHECK(rp_devkey_chain("acme", device, pub, v, lens, n, cur, NULL, NULL, &d) < 0);
	if (rp_devkey_parse_text((const char *)data, size, &b, &d) != 0)
		return 0;
	t = rp_devkey_format(&b, &len);
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(len == size && memcmp(t, data, size) == 0);
	free(t);
	return 0;
}
