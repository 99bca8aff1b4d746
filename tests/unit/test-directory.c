/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory statements and the folded directory (lib/directory.h): the
 * one text of each, the chain that orders them, the fold, target
 * resolution and the diff administrators sign from. One named case per
 * malformed input, each asserting the code and the diagnostic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "helpers.h"
#include "rp_err.h"

#define K1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBT4kAqgUVvdsFmh7yKOFqYLRe/dkFioOLeIds2RACFP"
#define K2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHG9Ngp+ZyOJe0qq7DZ+IYml/BwiZUnwgoQcgqOzBkX"
#define D1 "00112233445566778899aabbccddeeff"
#define D2 "00112233445566778899aabbccddeef0"
#define HEAD                     \
	"rampart/directory/v1\n" \
	"org acme\n"             \
	"id 5f0c8c1d2b7e4a90b1d8e3f4a6c7d8e9\n"
#define V1 HEAD "version 1\nprevious none\nexpires 2026-12-10T00:00:00Z\n"

static const char v1[] =
	V1 "user alice uid 1001 gid 1001 shell /bin/bash state active name Alice Liddell\n"
	   "key " K2 " alice@desk\n"
	   "user bob uid 1002 gid 1002 shell /bin/sh state active takeover name Bob\n"
	   "key " K1 " bob@laptop\n"
	   "user carol uid 1003 gid 1003 shell /bin/bash state suspended\n"
	   "group dba gid 2001 members alice,bob\n"
	   "group dev gid 2002\n"
	   "device-group db\n"
	   "device-group web\n"
	   "device " D2 " groups web tags prod\n"
	   "device " D1 " groups db,web tags eu,prod\n"
	   "bind dba db sudo until 2026-12-03T15:00:00Z\n"
	   "command /usr/bin/systemctl restart postgresql\n"
	   "command /usr/bin/journalctl\n"
	   "bind dev web login\n"
	   "comment first directory\n";

/* An ed25519 key line whose public key is 32 bytes of b. */
static char *fake_key(int b)
{
	uint8_t blob[4 + 11 + 4 + 32] = {0,   0,   0,   11,  's', 's', 'h', '-', 'e', 'd',
					 '2', '5', '5', '1', '9', 0,   0,   0,   32};
	char *b64, *line;

	memset(blob + 19, b, 32);
	b64 = rp_b64_encode(blob, sizeof(blob));
	assert_true(asprintf(&line, "ssh-ed25519 %s", b64) > 0);
	free(b64);
	return line;
}

static struct rp_dir_stmt *parse_ok(const char *text)
{
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	int r = rp_dir_stmt_parse_text(text, strlen(text), &st, &d);
	if (r != 0)
		fail_msg("parse: %s (%s)", rp_strerror(r), d.msg);
	return st;
}

static void expect_bad(const char *text, int code, const char *diag)
{
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	int r = rp_dir_stmt_parse_text(text, strlen(text), &st, &d);
	if (r != code || !strstr(d.msg, diag))
		fail_msg("expected %d containing `%s', got %d: %s", code, diag, r, d.msg);
	assert_null(st);
}

static void round_trip(void **state)
{
	struct rp_dir_stmt *st;
	size_t len;
	char *out;
	(void)state;

	/* devices sort by id: D2 < D1 in byte order ("...ef0" < "...eff") */
	st = parse_ok(v1);
	assert_int_equal(st->version, 1);
	assert_true(st->first);
	assert_int_equal(st->put.nusers, 3);
	assert_string_equal(st->put.users[0]->gecos, "Alice Liddell");
	assert_int_equal(st->put.users[0]->nkeys, 1);
	assert_string_equal(st->put.users[0]->keys[0], K2 " alice@desk");
	assert_true(st->put.users[1]->takeover);
	assert_string_equal(st->put.users[1]->gecos, "Bob");
	assert_true(st->put.users[2]->suspended);
	assert_int_equal(st->put.ngroups, 2);
	assert_int_equal(st->put.groups[0]->nmembers, 2);
	assert_int_equal(st->put.groups[1]->nmembers, 0);
	assert_int_equal(st->put.ndevices, 2);
	assert_int_equal(st->put.devices[1]->ngroups, 2);
	assert_int_equal(st->put.nbinds, 2);
	assert_int_equal(st->put.binds[0]->access, RP_ACCESS_SUDO);
	assert_int_equal(st->put.binds[0]->ncommands, 2);
	assert_int_equal(st->put.binds[0]->until, 1796310000);
	assert_string_equal(st->comment, "first directory");
	out = rp_dir_stmt_format(st, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(v1));
	assert_memory_equal(out, v1, len);
	free(out);
	rp_dir_stmt_free(st);
}

static void removals_and_repairs(void **state)
{
	static const char t[] = HEAD "version 2\nprevious sha256:"
				     "00000000000000000000000000000000"
				     "00000000000000000000000000000000\n"
				     "expires 2026-12-10T00:00:00Z\n"
				     "user dave uid 1004 gid 1004 shell /bin/bash state active\n"
				     "remove user carol\n"
				     "remove group dev\n"
				     "remove device " D1 "\n"
				     "remove bind dba db\n"
				     "repair " D2 "\n"
				     "repair " D1 "\n"
				     "comment off-boarding\n";
	struct rp_dir_stmt *st;
	size_t len;
	char *out;
	(void)state;

	/* repairs ascend: D2 before D1 */
	st = parse_ok(t);
	assert_false(st->first);
	assert_int_equal(st->del.nusers, 1);
	assert_int_equal(st->del.ngroups, 1);
	assert_int_equal(st->del.ndevices, 1);
	assert_int_equal(st->del.nbinds, 1);
	assert_int_equal(st->nrepair, 2);
	out = rp_dir_stmt_format(st, &len);
	assert_non_null(out);
	assert_memory_equal(out, t, len);
	free(out);
	rp_dir_stmt_free(st);
}

static void malformed(void **state)
{
	(void)state;
	expect_bad("rampart/directory/v2\n", RP_E_MALFORMED, "first line");
	expect_bad(HEAD "version 0\n", RP_E_MALFORMED, "start at 1");
	expect_bad(HEAD "version 2\nprevious none\nexpires 2026-12-10T00:00:00Z\n"
			"device-group db\n",
		   RP_E_MALFORMED, "only it");
	expect_bad(V1, RP_E_MALFORMED, "changes nothing");
	/* order and duplicates */
	expect_bad(V1 "device-group web\ndevice-group db\n", RP_E_MALFORMED, "out of order");
	expect_bad(V1 "device-group db\ndevice-group db\n", RP_E_MALFORMED, "out of order");
	expect_bad(V1 "device-group db\nuser bob uid 1002 gid 1002 shell /bin/sh state active\n",
		   RP_E_MALFORMED, "out of order");
	expect_bad(V1 "device-group db\nremove device-group db\n", RP_E_MALFORMED,
		   "both put and removed");
	/* values */
	expect_bad(V1 "user root uid 0 gid 0 shell /bin/sh state active\n", RP_E_MALFORMED,
		   "1000 to 65533");
	expect_bad(V1 "user bob uid 65534 gid 1000 shell /bin/sh state active\n", RP_E_MALFORMED,
		   "1000 to 65533");
	expect_bad(V1 "user Bob uid 1000 gid 1000 shell /bin/sh state active\n", RP_E_MALFORMED,
		   "valid user name");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell bash state active\n", RP_E_MALFORMED,
		   "absolute path");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state on\n", RP_E_MALFORMED,
		   "neither active");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state active name a:b\n",
		   RP_E_MALFORMED, "`:'");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state active name x,y\n",
		   RP_E_MALFORMED, "`,'");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state active admin\n",
		   RP_E_MALFORMED, "unknown words");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh  state active\n", RP_E_MALFORMED,
		   "doubled space");
	/* a key with options, or a key line that smuggles one */
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state active\n"
		      "key command=\"/bin/sh\" " K1 "\n",
		   RP_E_MALFORMED, "no options");
	expect_bad(V1 "user bob uid 1000 gid 1000 shell /bin/sh state active\n"
		      "key " K1 "\nkey " K1 " again\n",
		   RP_E_MALFORMED, "twice");
	expect_bad(V1 "group dba gid 2001 members bob,alice\n", RP_E_MALFORMED, "ascending");
	expect_bad(V1 "group dba gid 2001 members alice,alice\n", RP_E_MALFORMED, "ascending");
	expect_bad(V1 "group dba gid 2001 members\n", RP_E_MALFORMED, "is not `group");
	expect_bad(V1 "device 0011 groups db\n", RP_E_MALFORMED, "is not `device");
	expect_bad(V1 "device " D1 " tags prod groups db\n", RP_E_MALFORMED, "is not `device");
	expect_bad(V1 "bind dba db root\n", RP_E_MALFORMED, "login, sudo or sudo-all");
	expect_bad(V1 "bind dba db sudo\n", RP_E_MALFORMED, "lists no command");
	expect_bad(V1 "bind dba db login\ncommand /bin/true\n", RP_E_MALFORMED, "not `sudo'");
	/* a sudoers injection through a command */
	expect_bad(V1 "bind dba db sudo\ncommand /bin/true, ALL\n", RP_E_MALFORMED,
		   "sudoers gives a meaning");
	expect_bad(V1 "bind dba db sudo\ncommand bin/true\n", RP_E_MALFORMED, "ABSOLUTE");
	expect_bad(V1 "bind dba db sudo until tomorrow\ncommand /bin/true\n", RP_E_MALFORMED,
		   "until");
	expect_bad(V1 "remove host x\n", RP_E_MALFORMED, "is not `remove");
	expect_bad(V1 "device-group db\nrepair " D1 "\nrepair all\n", RP_E_MALFORMED,
		   "comes first");
	expect_bad(V1 "device-group db\ncomment a\ncomment b\n", RP_E_MALFORMED, "follows");
	expect_bad(V1 "device-group db\nfrobnicate\n", RP_E_MALFORMED, "unknown");
	expect_bad(V1 "device-group db", RP_E_MALFORMED, "newline");
}

static void caps(void **state)
{
	struct rp_sb sb;
	(void)state;

	/* 2001 members */
	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, V1 "group big gid 3000 members ");
	for (int i = 0; i < 2001; i++)
		rp_sb_printf(&sb, "%su%04d", i ? "," : "", i);
	rp_sb_puts(&sb, "\n");
	expect_bad(sb.s, RP_E_MALFORMED, "2000 members");
	rp_sb_release(&sb);
	/* 33 keys */
	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, V1 "user bob uid 1000 gid 1000 shell /bin/sh state active\n");
	for (int i = 0; i < 33; i++) {
		char *k = fake_key(i);
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	}
	expect_bad(sb.s, RP_E_MALFORMED, "32 keys");
	rp_sb_release(&sb);
	/* a statement past one log entry */
	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, V1);
	for (int i = 0; i < 4000; i++)
		rp_sb_printf(&sb, "device-group g%05d\n", i);
	expect_bad(sb.s, RP_E_TOOBIG, "65535");
	rp_sb_release(&sb);
}

/* v1, then a v2 chained to it, folded. */
static void fold(void **state)
{
	struct rp_dir_state s;
	struct rp_dir_stmt *a = parse_ok(v1), *b;
	struct rp_diag d = {""};
	char h[65], *v2, *text, *diff;
	size_t len;
	uint8_t hash[32];
	(void)state;

	rp_dir_state_init(&s, "acme");
	assert_int_equal(rp_dir_apply(&s, a, (const uint8_t *)"entry-1", 7, true, &d), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(s.dir.nusers, 3);
	assert_non_null(rp_dir_user_get(&s.dir, "bob"));
	assert_null(rp_dir_user_get(&s.dir, "dave"));

	rp_sha256("entry-1", 7, hash);
	rp_hex_encode(hash, 32, h);
	assert_true(asprintf(&v2,
			     HEAD "version 2\nprevious sha256:%s\nexpires 2026-12-10T00:00:00Z\n"
				  "user bob uid 1002 gid 1002 shell /bin/sh state suspended\n"
				  "key " K1 " bob@laptop\n"
				  "user dave uid 1004 gid 1004 shell /bin/bash state active\n"
				  "remove user carol\nremove bind dev web\n",
			     h) > 0);
	b = parse_ok(v2);
	/* chained to another entry than the one logged before it: refused, nothing changes */
	struct rp_dir_state other;
	rp_dir_state_init(&other, "acme");
	assert_int_equal(rp_dir_apply(&other, a, (const uint8_t *)"entry-X", 7, true, &d), 0);
	assert_int_equal(rp_dir_apply(&other, b, (const uint8_t *)"entry-2", 7, true, &d),
			 RP_E_MALFORMED);
	assert_int_equal(other.version, 1);
	assert_false(rp_dir_user_get(&other.dir, "bob")->suspended);
	rp_dir_state_release(&other);
	/* a v1 logged again after itself: the chain says no */
	assert_int_equal(rp_dir_apply(&s, a, (const uint8_t *)"entry-1", 7, true, &d),
			 RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "does not follow"));
	assert_int_equal(s.version, 1);

	struct rp_dir_state before;
	text = rp_dir_state_format(&s, &len);
	assert_non_null(text);
	if (rp_dir_state_parse(text, len, &before, &d) != 0)
		fail_msg("%s\n%s", d.msg, text);
	free(text);

	/* the real one: logged as entry-2 after entry-1 */
	rp_dir_state_release(&s);
	rp_dir_state_init(&s, "acme");
	assert_int_equal(rp_dir_apply(&s, a, (const uint8_t *)"entry-1", 7, true, &d), 0);
	assert_int_equal(rp_dir_apply(&s, b, (const uint8_t *)"entry-2", 7, true, &d), 0);
	assert_int_equal(s.version, 2);
	assert_int_equal(s.dir.nusers, 3); /* alice, bob, dave */
	assert_true(rp_dir_user_get(&s.dir, "bob")->suspended);
	assert_null(rp_dir_user_get(&s.dir, "carol"));
	assert_int_equal(s.dir.nbinds, 1);

	diff = rp_dir_diff(&before.dir, &s.dir, &len);
	assert_non_null(diff);
	assert_non_null(strstr(diff, "~ - user bob uid 1002 gid 1002 shell /bin/sh state active "
				     "takeover name Bob\n"));
	assert_non_null(strstr(diff, "~ + user bob uid 1002 gid 1002 shell /bin/sh state "
				     "suspended\n"));
	assert_non_null(strstr(diff, "- user carol "));
	assert_non_null(strstr(diff, "+ user dave "));
	assert_non_null(strstr(diff, "- bind dev web login\n"));
	assert_null(strstr(diff, "alice"));
	free(diff);
	diff = rp_dir_diff(&s.dir, &s.dir, &len);
	assert_string_equal(diff, "");
	free(diff);

	/* the state's text reads back to the same text */
	text = rp_dir_state_format(&s, &len);
	struct rp_dir_state again;
	assert_int_equal(rp_dir_state_parse(text, len, &again, &d), 0);
	char *text2 = rp_dir_state_format(&again, NULL);
	assert_string_equal(text, text2);
	free(text2);
	free(text);

	/* a device that refuses b for its quorum keeps the chain, not the change */
	rp_dir_state_release(&again);
	rp_dir_state_init(&again, "acme");
	assert_int_equal(rp_dir_apply(&again, a, (const uint8_t *)"entry-1", 7, true, &d), 0);
	assert_int_equal(rp_dir_apply(&again, b, (const uint8_t *)"entry-2", 7, false, &d), 0);
	assert_int_equal(again.version, 2);
	assert_memory_equal(again.head, s.head, 32);
	assert_false(rp_dir_user_get(&again.dir, "bob")->suspended);

	/* another org's statement */
	rp_dir_state_release(&again);
	rp_dir_state_init(&again, "other");
	assert_int_equal(rp_dir_apply(&again, a, (const uint8_t *)"entry-1", 7, true, &d),
			 RP_E_ORG);

	rp_dir_state_release(&again);
	rp_dir_state_release(&before);
	rp_dir_state_release(&s);
	rp_dir_stmt_free(a);
	rp_dir_stmt_free(b);
	free(v2);
}

static void targets(void **state)
{
	struct rp_dir_state s;
	struct rp_dir_stmt *a = parse_ok(v1);
	(void)state;

	rp_dir_state_init(&s, "acme");
	assert_int_equal(rp_dir_apply(&s, a, (const uint8_t *)"e", 1, true, NULL), 0);
	assert_true(rp_dir_targets(&s.dir, "group:db", D1));
	assert_false(rp_dir_targets(&s.dir, "group:db", D2));
	assert_true(rp_dir_targets(&s.dir, "group:web", D2));
	assert_true(rp_dir_targets(&s.dir, "tag:eu", D1));
	assert_false(rp_dir_targets(&s.dir, "tag:eu", D2));
	assert_true(rp_dir_targets(&s.dir, "tag:prod", D2));
	assert_true(rp_dir_targets(&s.dir, "all", D2));
	assert_true(rp_dir_targets(&s.dir, D2, D2));
	assert_false(rp_dir_targets(&s.dir, D1, D2));
	/* a device the directory does not list is in no group */
	assert_false(rp_dir_targets(&s.dir, "group:db", "ffffffffffffffffffffffffffffffff"));
	assert_false(rp_dir_targets(&s.dir, "group:d", D1));
	rp_dir_state_release(&s);
	rp_dir_stmt_free(a);
}

static void state_malformed(void **state)
{
	static const char *const bad[] = {
		"rampart/directory-state/v1\norg acme\nversion 0\nhead sha256:"
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"rampart/directory-state/v1\norg acme\nversion 1\nhead none\n",
		"rampart/directory-state/v1\norg acme\nversion 0\nhead none\nremove user bob\n",
		"rampart/directory-state/v1\norg acme\nversion 0\nhead none\n"
		"device-group b\ndevice-group a\n",
		"rampart/directory-state/v1\norg acme\nversion 0\nhead none\ncomment x\n",
	};
	struct rp_dir_state s;
	struct rp_diag d = {""};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.msg[0] = '\0';
		assert_int_equal(rp_dir_state_parse(bad[i], strlen(bad[i]), &s, &d),
				 RP_E_MALFORMED);
		assert_true(d.msg[0] != '\0');
	}
	static const char empty[] = "rampart/directory-state/v1\norg acme\nversion 0\nhead none\n";
	assert_int_equal(rp_dir_state_parse(empty, strlen(empty), &s, &d), 0);
	assert_int_equal(s.version, 0);
	rp_dir_state_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(removals_and_repairs),
		cmocka_unit_test(malformed),
		cmocka_unit_test(caps),
		cmocka_unit_test(fold),
		cmocka_unit_test(targets),
		cmocka_unit_test(state_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
