/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /etc/passwd and /etc/group without NSS (lib/account.c): the right entry,
 * every group it is in, and a refusal that names the line for anything
 * malformed, so that a damaged file never half-matches a name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "helpers.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "# a comment\n"
			     "\n"
			     "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/sh\n"
			     "bob:x:1001:100::/home/bob:/bin/sh\n"
			     "nohome:x:1002:1002:::/bin/sh\n"
			     "+nis::::::\n"
			     "carol:x:4294967294:4294967294::/home/carol:"; /* no final newline */

static const char group[] = "root:x:0:\n"
			    "adm:x:4:alice,bob\n"
			    "users:x:100:bob\n"
			    "alice:x:1000:\n"
			    "wheel:x:10:carol,alice\n"
			    "alicia:x:11:alicia\n"
			    "dup:x:4:alice\n"; /* gid 4 again: counted once */

static void find(const char *name, struct rp_account *a)
{
	struct rp_diag d = {""};

	assert_int_equal(rp_account_parse_passwd(passwd, strlen(passwd), name, a, &d), 0);
	assert_int_equal(rp_account_parse_group(group, strlen(group), a, &d), 0);
}

static void finds_user_and_groups(void **state)
{
	struct rp_account a;
	(void)state;

	find("alice", &a);
	assert_string_equal(a.name, "alice");
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 1000);
	assert_string_equal(a.home, "/home/alice");
	/* primary first, then adm and wheel; `alicia' is not `alice' */
	assert_int_equal(a.ngroups, 3);
	assert_int_equal(a.groups[0], 1000);
	assert_int_equal(a.groups[1], 4);
	assert_int_equal(a.groups[2], 10);

	find("bob", &a);
	assert_int_equal(a.uid, 1001);
	assert_int_equal(a.ngroups, 2); /* users (100) is also his primary group */
	assert_int_equal(a.groups[0], 100);
	assert_int_equal(a.groups[1], 4);
}

static void edges_of_the_file(void **state)
{
	struct rp_account a;
	(void)state;

	find("carol", &a); /* the last line, without its newline; the largest id */
	assert_int_equal(a.uid, 4294967294u);
	assert_int_equal(a.ngroups, 2);
	find("nohome", &a);
	assert_string_equal(a.home, "");
	find("root", &a);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.ngroups, 1);
}

static void unknown_user_is_notfound(void **state)
{
	struct rp_account a;
	struct rp_diag d = {""};
	(void)state;

	memset(&a, 0x5a, sizeof(a));
	assert_int_equal(rp_account_parse_passwd(passwd, strlen(passwd), "mallory", &a, &d),
			 RP_E_NOTFOUND);
	assert_string_equal(d.msg, "no such user `mallory' on this device");
	assert_int_equal((unsigned char)a.name[0], 0x5a); /* untouched */
	/* Compat lines and comments are never names. */
	assert_int_equal(rp_account_parse_passwd(passwd, strlen(passwd), "+nis", &a, NULL),
			 RP_E_NOTFOUND);
	assert_int_equal(rp_account_parse_passwd(passwd, strlen(passwd), "# a comment", &a, NULL),
			 RP_E_NOTFOUND);
	assert_int_equal(rp_account_parse_passwd("", 0, "root", &a, NULL), RP_E_NOTFOUND);
}

static void passwd_rejects(const char *line, const char *why)
{
	char *text = concat(passwd, line);
	struct rp_account a;
	struct rp_diag d = {""};

	memset(&a, 0x5a, sizeof(a));
	/* Whichever name is asked for: the file as a whole is refused. */
	assert_int_equal(rp_account_parse_passwd(text, strlen(text), "alice", &a, &d),
			 RP_E_MALFORMED);
	assert_diag_has(&d, why);
	assert_int_equal((unsigned char)a.name[0], 0x5a);
	free(text);
}

/* A case that appends line to a fixture and expects check() to refuse it with why. */
#define REJECTS(name, check, line, why) \
	static void name(void **state)  \
	{                               \
		(void)state;            \
		check(line, why);       \
	}
#define PCASE(name, line, why) REJECTS(name, passwd_rejects, line, why)

/* The fixture's last line has no newline: each case starts a new one. */
PCASE(passwd_six_fields, "\neve:x:1003:1003::/home/eve", "line 10 is not 7 fields")
PCASE(passwd_eight_fields, "\neve:x:1003:1003::/home/eve:/bin/sh:x", "not 7 fields")
PCASE(passwd_empty_name, "\n:x:1003:1003::/home/eve:/bin/sh", "not 7 fields with a name")
PCASE(passwd_uid_not_a_number, "\neve:x:10O3:1003::/:/bin/sh", "bad uid or gid")
PCASE(passwd_uid_leading_zero, "\neve:x:01003:1003::/:/bin/sh", "bad uid or gid")
PCASE(passwd_uid_negative, "\neve:x:-1:1003::/:/bin/sh", "bad uid or gid")
PCASE(passwd_uid_minus_one_unsigned, "\neve:x:4294967295:1003::/:/bin/sh", "4294967295")
PCASE(passwd_gid_empty, "\neve:x:1003:::/:/bin/sh", "bad uid or gid")
PCASE(passwd_duplicate_of_asked, "\nalice:x:0:0::/root:/bin/sh", "twice (lines 5 and 10)")

static void passwd_bad_home_of_the_user(void **state)
{
	struct rp_account a;
	struct rp_diag d = {""};
	static const char rel[] = "alice:x:1000:1000::home/alice:/bin/sh\n";
	static const char ctl[] = "alice:x:1000:1000::/home/al\tice:/bin/sh\n";
	char *longhome = malloc(RP_ACCOUNT_HOME_MAX + 64);
	(void)state;

	assert_int_equal(rp_account_parse_passwd(rel, strlen(rel), "alice", &a, &d),
			 RP_E_MALFORMED);
	assert_diag_has(&d, "relative home");
	assert_int_equal(rp_account_parse_passwd(ctl, strlen(ctl), "alice", &a, &d),
			 RP_E_MALFORMED);
	assert_diag_has(&d, "control byte");
	int n = snprintf(longhome, RP_ACCOUNT_HOME_MAX + 64, "alice:x:1:1::/%0*d:/bin/sh\n",
			 RP_ACCOUNT_HOME_MAX, 0);
	assert_int_equal(rp_account_parse_passwd(longhome, (size_t)n, "alice", &a, &d),
			 RP_E_TOOBIG);
	assert_diag_has(&d, "home directory longer");
	free(longhome);
}

static void passwd_nul_byte(void **state)
{
	static const char t[] = "alice:x:1000:1000::/home/alice:/bin/sh\n\0bob:x:1:1::/:/bin/sh\n";
	struct rp_account a;
	struct rp_diag d = {""};
	(void)state;

	assert_int_equal(rp_account_parse_passwd(t, sizeof(t) - 1, "alice", &a, &d),
			 RP_E_MALFORMED);
	assert_diag_has(&d, "NUL");
}

static void group_rejects(const char *line, const char *why)
{
	char *text = concat(group, line);
	struct rp_account a;
	struct rp_diag d = {""};

	find("alice", &a);
	struct rp_account before = a;
	assert_int_equal(rp_account_parse_group(text, strlen(text), &a, &d), RP_E_MALFORMED);
	assert_diag_has(&d, why);
	assert_memory_equal(&a, &before, sizeof(a)); /* changed only on success */
	free(text);
}

#define GCASE(name, line, why) REJECTS(name, group_rejects, line, why)

GCASE(group_three_fields, "ops:x:20\n", "line 8 is not 4 fields")
GCASE(group_five_fields, "ops:x:20:alice:x\n", "not 4 fields")
GCASE(group_bad_gid, "ops:x:2O:alice\n", "bad gid")
GCASE(group_empty_member, "ops:x:20:bob,,alice\n", "empty member")
GCASE(group_trailing_comma, "ops:x:20:alice,\n", "empty member")

static void group_too_many(void **state)
{
	struct rp_sb sb;
	struct rp_account a;
	struct rp_diag d = {""};
	char *text;
	size_t len;
	(void)state;

	rp_sb_init(&sb, 1 << 20);
	for (int i = 0; i < RP_ACCOUNT_GROUPS_MAX; i++)
		rp_sb_printf(&sb, "g%d:x:%d:alice\n", i, 20000 + i);
	text = rp_sb_take(&sb, &len);
	/* The primary group and 1024 more: one too many. */
	assert_int_equal(rp_account_parse_passwd(passwd, strlen(passwd), "alice", &a, &d), 0);
	struct rp_account before = a;
	assert_int_equal(rp_account_parse_group(text, len, &a, &d), RP_E_TOOBIG);
	assert_diag_has(&d, "more than 1024 groups");
	assert_memory_equal(&a, &before, sizeof(a));
	/* Without the last line it fits exactly. */
	char *last = strrchr(text, 'g');
	assert_int_equal(rp_account_parse_group(text, (size_t)(last - text), &a, &d), 0);
	assert_int_equal(a.ngroups, RP_ACCOUNT_GROUPS_MAX);
	assert_int_equal(a.groups[0], 1000);
	assert_int_equal(a.groups[RP_ACCOUNT_GROUPS_MAX - 1], 20000 + RP_ACCOUNT_GROUPS_MAX - 2);
	free(text);
}

static void lookup_reads_both_files(void **state)
{
	char dir[] = "/tmp/rp-account-XXXXXX", pw[64], gr[64];
	struct rp_account a;
	struct rp_diag d = {""};
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(gr, sizeof(gr), "%s/group", dir);
	assert_non_null(f = fopen(pw, "w"));
	fputs(passwd, f);
	fclose(f);
	assert_int_equal(rp_account_lookup(pw, gr, "alice", &a, &d), RP_E_NOTFOUND);
	assert_diag_has(&d, "reading");
	assert_diag_has(&d, "/group");
	assert_non_null(f = fopen(gr, "w"));
	fputs(group, f);
	fclose(f);
	assert_int_equal(rp_account_lookup(pw, gr, "alice", &a, &d), 0);
	assert_int_equal(a.ngroups, 3);
	assert_int_equal(rp_account_lookup(pw, gr, "zed", &a, &d), RP_E_NOTFOUND);
	assert_string_equal(d.msg, "no such user `zed' on this device");
	unlink(pw);
	unlink(gr);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_user_and_groups),
		cmocka_unit_test(edges_of_the_file),
		cmocka_unit_test(unknown_user_is_notfound),
		cmocka_unit_test(passwd_six_fields),
		cmocka_unit_test(passwd_eight_fields),
		cmocka_unit_test(passwd_empty_name),
		cmocka_unit_test(passwd_uid_not_a_number),
		cmocka_unit_test(passwd_uid_leading_zero),
		cmocka_unit_test(passwd_uid_negative),
		cmocka_unit_test(passwd_uid_minus_one_unsigned),
		cmocka_unit_test(passwd_gid_empty),
		cmocka_unit_test(passwd_duplicate_of_asked),
		cmocka_unit_test(passwd_bad_home_of_the_user),
		cmocka_unit_test(passwd_nul_byte),
		cmocka_unit_test(group_three_fields),
		cmocka_unit_test(group_five_fields),
		cmocka_unit_test(group_bad_gid),
		cmocka_unit_test(group_empty_member),
		cmocka_unit_test(group_trailing_comma),
		cmocka_unit_test(group_too_many),
		cmocka_unit_test(lookup_reads_both_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
