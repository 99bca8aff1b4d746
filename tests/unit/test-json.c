/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_json_load: the lexical bound on depth and values that runs before
 * jansson builds a tree, so that a hostile server's 4 MiB of nested or tiny
 * arrays costs a scan, not hundreds of MB.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "json.h"
#include "rp_limits.h"

static int scan(const char *s, size_t depth, size_t values)
{
	return rp_json_scan(s, strlen(s), depth, values, NULL);
}

/* The exact caps a text needs: it passes at (depth, values), fails one below each. */
static void needs(const char *s, size_t depth, size_t values)
{
	json_t *j = NULL;

	if (scan(s, depth, values) != 0)
		fail_msg("%s refused at depth %zu, %zu values", s, depth, values);
	if (depth > 0 && scan(s, depth - 1, values) != RP_E_TOOBIG)
		fail_msg("%s passed at depth %zu", s, depth - 1);
	if (values > 0 && scan(s, depth, values - 1) != RP_E_TOOBIG)
		fail_msg("%s passed with %zu values", s, values - 1);
	assert_int_equal(rp_json_load(s, strlen(s), depth, values, &j, NULL), 0);
	assert_non_null(j);
	json_decref(j);
}

static void counts_values_not_keys(void **state)
{
	(void)state;
	needs("{}", 1, 1);
	needs("[]", 1, 1);
	needs("[1, 2.5e-3, -0, true, false, null]", 1, 7);
	needs("{\"a\": 1, \"b\": \"x\", \"c\": [null]}", 2, 5);
	needs("[{\"k\": {\"k\": {}}}]", 4, 4);
	needs("{\"a\": [\"x\", {\"b\": 1}], \"c\": 2}", 3, 6);
	needs(" \t\r\n[ \"a\" , \"b\" ]\n", 1, 3);
}

static void strings_and_escapes(void **state)
{
	(void)state;
	/* Brackets, quotes, commas and colons inside strings are text. */
	needs("[\"[[[{{{,:,\"]", 1, 2);
	needs("{\"[{\": \"}]\"}", 1, 2);
	needs("[\"a\\\"[b\", \"\\\\\", \"\\u005b\"]", 1, 4);
	/* An escaped quote does not end a key. */
	needs("{\"a\\\"b\": {\"c\": 1}}", 2, 3);
}

/* Attack: the nesting that made the agent reach 320 MB, refused at the cap. */
static void nesting_refused_before_jansson(void **state)
{
	size_t n = 4 << 20;
	char *s = malloc(n + 1);
	struct rp_diag d = {""};
	json_t *j = (json_t *)&j; /* must stay untouched */
	json_t *keep = j;
	(void)state;
	assert_non_null(s);
	memset(s, '[', n / 2);
	memset(s + n / 2, ']', n / 2);
	s[n] = '\0';
	assert_int_equal(rp_json_load(s, n, RP_JSON_DEPTH_MAX, RP_JSON_VALUES_MAX, &j, &d),
			 RP_E_TOOBIG);
	assert_ptr_equal(j, keep);
	assert_diag_has(&d, "deeper than 8 levels");
	free(s);
}

/* Attack: 4 MiB of tiny arrays, each shallow, refused by the count. */
static void tiny_arrays_refused_by_count(void **state)
{
	size_t n = 4 << 20, k = 1;
	char *s = malloc(n + 1);
	struct rp_diag d = {""};
	json_t *j = NULL;
	(void)state;
	assert_non_null(s);
	s[0] = '[';
	while (k + 4 < n) {
		memcpy(s + k, "[],", 3);
		k += 3;
	}
	memcpy(s + k, "[]]", 3);
	s[k + 3] = '\0';
	assert_int_equal(rp_json_load(s, k + 3, RP_JSON_DEPTH_MAX, RP_DELIVERY_VALUES_MAX, &j, &d),
			 RP_E_TOOBIG);
	assert_null(j);
	assert_diag_has(&d, "more than");
	free(s);
}

static void malformed_is_jansson_s_to_refuse(void **state)
{
	struct rp_diag d = {""};
	json_t *j = NULL;
	/* jansson repeats the bytes near an error: ESC and a bidi override here. */
	const char *hostile = "[\"\xe2\x80\xae\" \x1b[2J";
	(void)state;
	/* Unbalanced or junk bytes pass the scan; jansson refuses them. */
	assert_int_equal(scan("]]]]", 1, 1), 0);
	assert_int_equal(scan("[\"unterminated", 1, 2), 0);
	assert_int_equal(rp_json_load("]]", 2, 8, 8, &j, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "not JSON");
	assert_int_equal(rp_json_load("{\"a\":1,\"a\":2}", 13, 8, 8, &j, &d), RP_E_MALFORMED);
	assert_int_equal(rp_json_load("1", 1, 8, 8, &j, &d),
			 RP_E_MALFORMED); /* arrays, objects only */
	assert_int_equal(rp_json_load(hostile, strlen(hostile), 8, 8, &j, &d), RP_E_MALFORMED);
	for (const char *p = d.msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			fail_msg("diagnostic carries byte 0x%02x", (unsigned char)*p);
	assert_null(j);
	assert_int_equal(rp_json_scan("[]", 2, RP_JSON_SCAN_DEPTH_LIMIT + 1, 8, NULL), RP_E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_values_not_keys),
		cmocka_unit_test(strings_and_escapes),
		cmocka_unit_test(nesting_refused_before_jansson),
		cmocka_unit_test(tiny_arrays_refused_by_count),
		cmocka_unit_test(malformed_is_jansson_s_to_refuse),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
