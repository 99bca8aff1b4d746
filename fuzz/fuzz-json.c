/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_json_load, the bound every server answer passes before jansson builds
 * a tree. For three pairs of caps: no crash; what it accepts is exactly what
 * jansson accepts, as a tree within the caps; and it never refuses a text
 * that jansson parses into a tree within the caps (the scan counts exactly).
 */
#include <jansson.h>
#include <stdint.h>

#include "fuzz-common.h"
#include "json.h"
#include "rp_err.h"
#include "rp_limits.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Depth (a scalar is 0, [] is 1) and number of values, keys not counted. */
static void measure(json_t *j, size_t level, size_t *depth, size_t *values)
{
	const char *k;
	size_t i;
	json_t *v;

	(*values)++;
	if (json_is_array(j) || json_is_object(j)) {
		if (level + 1 > *depth)
			*depth = level + 1;
	}
	if (json_is_array(j)) {
		json_array_foreach (j, i, v)
			measure(v, level + 1, depth, values);
	} else if (json_is_object(j)) {
		json_object_foreach (j, k, v)
			measure(v, level + 1, depth, values);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[][2] = {
		{1, 4},
		{3, 12},
		{RP_JSON_DEPTH_MAX, RP_JSON_VALUES_MAX},
	};
	const char *s = (const char *)data;
	json_error_t e;
	json_t *ref = json_loadb(s, size, JSON_REJECT_DUPLICATES, &e);
	size_t depth = 0, values = 0;

	if (ref)
		measure(ref, 0, &depth, &values);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct rp_diag d;
		json_t *j = NULL;
		int r = rp_json_load(s, size, caps[i][0], caps[i][1], &j, &d);
		bool within = ref && depth <= caps[i][0] && values <= caps[i][1];

		FUZZ_CHECK(r == 0 || r == RP_E_TOOBIG || r == RP_E_MALFORMED);
		FUZZ_CHECK((r == 0) == (j != NULL));
		FUZZ_CHECK(r != 0 || (ref && within && json_equal(ref, j)));
		FUZZ_CHECK(!within || r == 0);
		FUZZ_CHECK(ref || r != 0);
		json_decref(j);
	}
	json_decref(ref);
	return 0;
}
