/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release statements (docs/formats.md, "Release"): the one text, each
 * field refused by name, the version order, and the exec quorum.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "release.h"

#define FUTURE 4102444800
#define H1     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const char good[] = "rampart/release/v1\n"
			   "org acme\n"
			   "package rampart-agent\n"
			   "version 1.4.0\n"
			   "architecture amd64\n"
			   "sha256 " H1 "\n"
			   "size 12345\n"
			   "signed 2026-12-04T03:00:00Z\n";

static void round_trip(void **state)
{
	struct rp_release *r = NULL;
	size_t len;
	char *out;
	(void)state;

	assert_int_equal(rp_release_parse_text(good, strlen(good), &r, NULL), 0);
	assert_string_equal(r->org, "acme");
	assert_string_equal(r->package, "rampart-agent");
	assert_string_equal(r->version, "1.4.0");
	assert_string_equal(r->arch, "amd64");
	assert_int_equal(r->hash[0], 0x00);
	assert_int_equal(r->hash[31], 0xff);
	assert_int_equal(r->size, 12345);
	assert_int_equal(r->signed_at, 1796353200);
	out = rp_release_format(r, &len);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(out, good, len);
	free(out);
	rp_release_free(r);
	assert_true(rp_entry_is_release((const uint8_t *)good, strlen(good)));
	assert_false(rp_entry_is_release((const uint8_t *)"rampart/release/v10\n", 20));
}

/* Each bad value is refused with RP_E_MALFORMED, the diagnostic naming its field. */
static void refuse(const char *from, const char *to, const char *field)
{
	char *t = replace(good, from, to);
	struct rp_release *r = NULL;
	struct rp_diag d = {{0}};

	assert_int_equal(rp_release_parse_text(t, strlen(t), &r, &d), RP_E_MALFORMED);
	assert_null(r);
	assert_diag_has(&d, field);
	free(t);
}

static void bad_fields(void **state)
{
	(void)state;
	refuse("rampart/release/v1\n", "rampart/release/v2\n", "first line");
	refuse("org acme\n", "org Acme Corp\n", "org");
	refuse("package rampart-agent\n", "package rampart-agent; rm -rf /\n", "package");
	refuse("package rampart-agent\n", "package openssh-server\n", "package");
	refuse("version 1.4.0\n", "version 1.4.0~rc1\n", "version");
	refuse("version 1.4.0\n", "version 01.4\n", "version");
	refuse("version 1.4.0\n", "version 1.4.\n", "version");
	refuse("version 1.4.0\n", "version 1..4\n", "version");
	refuse("version 1.4.0\n", "version 1.2.3.4.5\n", "version");
	refuse("version 1.4.0\n", "version 1000000\n", "version");
	refuse("version 1.4.0\n", "version $(reboot)\n", "version");
	refuse("architecture amd64\n", "architecture AMD64\n", "architecture");
	refuse("architecture amd64\n", "architecture amd64 x\n", "architecture");
	refuse("sha256 " H1 "\n", "sha256 " H1 "0\n", "sha256");
	refuse("sha256 00", "sha256 0A", "sha256");
	refuse("size 12345\n", "size 0\n", "size");
	refuse("size 12345\n", "size 268435457\n", "size");
	refuse("size 12345\n", "size 012\n", "size");
	refuse("signed 2026-12-04T03:00:00Z\n", "signed yesterday\n", "signed");
	/* one order, no unknown or repeated field */
	refuse("version 1.4.0\narchitecture amd64\n", "architecture amd64\nversion 1.4.0\n",
	       "version");
	refuse("signed 2026-12-04T03:00:00Z\n",
	       "signed 2026-12-04T03:00:00Z\nsigned 2026-12-04T03:00:00Z\n", "after the last");
	refuse("size 12345\n", "size 12345\ncomment hi\n", "signed");
}

static void too_big(void **state)
{
	char *t = calloc(1, RP_RELEASE_TEXT_MAX + 2);
	struct rp_release *r = NULL;
	struct rp_diag d = {{0}};
	(void)state;

	memset(t, 'a', RP_RELEASE_TEXT_MAX);
	t[RP_RELEASE_TEXT_MAX] = '\n';
	assert_int_equal(rp_release_parse_text(t, RP_RELEASE_TEXT_MAX + 1, &r, &d), RP_E_TOOBIG);
	assert_null(r);
	free(t);
}

static void versions(void **state)
{
	(void)state;
	assert_true(rp_release_version_cmp("1.4.0", "1.4") == 0);
	assert_true(rp_release_version_cmp("1.10", "1.9") > 0);
	assert_true(rp_release_version_cmp("1.9", "1.10") < 0);
	assert_true(rp_release_version_cmp("2", "1.999999.999999.999999") > 0);
	assert_true(rp_release_version_cmp("0.0.0.1", "0") > 0);
	assert_true(rp_release_version_cmp("1.4.1", "1.4.0") > 0);
	assert_true(rp_release_version_valid("0", 1));
	assert_true(rp_release_version_valid("999999.999999.999999.999999", 27));
	assert_false(rp_release_version_valid("", 0));
	assert_false(rp_release_version_valid(".1", 2));
	assert_false(rp_release_version_valid("1.-1", 4));
	assert_false(rp_release_version_valid("1 ", 2));
	assert_true(rp_release_arch_valid("arm64", 5));
	assert_false(rp_release_arch_valid("", 0));
	assert_false(rp_release_arch_valid("x86_64", 6));
}

static void quorum(void **state)
{
	char *pt = policy_text(2, 2, 1, 1, FUTURE);
	struct rp_policy *p;
	struct rp_release *r = NULL;
	struct rp_diag d = {{0}};
	char *one = sign_by(good, strlen(good), (int[]){0, -1});
	char *two = sign_by(good, strlen(good), (int[]){0, 1, -1});
	char *other = replace(good, "org acme", "org other");
	char *two_other = sign_by(other, strlen(other), (int[]){0, 1, -1});
	(void)state;

	assert_int_equal(rp_policy_parse_text(pt, strlen(pt), &p, NULL), 0);
	assert_int_equal(rp_release_verify(p, "acme", 0, two, strlen(two), &r, &d), 0);
	assert_non_null(r->note);
	assert_string_equal(r->version, "1.4.0");
	rp_release_free(r);
	r = NULL;
	/* attack: signed below the exec quorum */
	assert_int_equal(rp_release_verify(p, "acme", 0, one, strlen(one), &r, &d), RP_E_QUORUM);
	assert_null(r);
	/* a device in a stricter group asks for three */
	assert_int_equal(rp_release_verify(p, "acme", 3, two, strlen(two), &r, &d), RP_E_QUORUM);
	assert_null(r);
	/* attack: another org's release */
	assert_int_equal(rp_release_verify(p, "acme", 0, two_other, strlen(two_other), &r, &d),
			 RP_E_ORG);
	assert_null(r);
	/* attack: the text changed after signing */
	char *forged = replace(two, "size 12345", "size 12346");
	assert_int_equal(rp_release_verify(p, "acme", 0, forged, strlen(forged), &r, &d),
			 RP_E_BADSIG);
	assert_null(r);
	free(forged);
	/* a bare text is no signed statement */
	assert_int_not_equal(rp_release_verify(p, "acme", 0, good, strlen(good), &r, &d), 0);
	rp_policy_free(p);
	free(pt);
	free(one);
	free(two);
	free(other);
	free(two_other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip), cmocka_unit_test(bad_fields),
		cmocka_unit_test(too_big),    cmocka_unit_test(versions),
		cmocka_unit_test(quorum),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("release", tests, NULL, NULL);
}
