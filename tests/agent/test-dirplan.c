/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the signed directory grants one device (agent/directory.c:
 * agent_dir_plan): the users of the user groups bound to its device
 * groups, locked when suspended or every grant reaching them ended,
 * their sudo the widest of their grants, and when the next grant ends.
 */
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "helpers.h"
#include "state.h"

#define DEV   "00112233445566778899aabbccddeeff"
#define OTHER "ffeeddccbbaa99887766554433221100"
#define K1    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBT4kAqgUVvdsFmh7yKOFqYLRe/dkFioOLeIds2RACFP"
#define NOW   1796297400 /* 2026-12-03T11:30:00Z */

static const char state_text[] =
	"rampart/directory-state/v1\norg acme\nversion 1\nhead sha256:"
	"abababababababababababababababababababababababababababababababab\n"
	"user alice uid 61001 gid 61001 shell /bin/bash state active\n"
	"key " K1 " alice\n"
	"user bob uid 61002 gid 62001 shell /bin/sh state active\n"
	"user carol uid 61003 gid 61003 shell /bin/bash state suspended\n"
	"user dave uid 61004 gid 61004 shell /bin/bash state active\n"
	"user erin uid 61005 gid 61005 shell /bin/bash state active\n"
	"group dba gid 62001 members alice,bob,carol,ghost\n"
	"group oncall gid 62002 members alice,erin\n"
	"group web gid 62003 members dave\n"
	"device-group db\n"
	"device-group frontend\n"
	"device " DEV " groups db\n"
	"device " OTHER " groups frontend\n"
	"bind dba db sudo\n"
	"command /usr/bin/id\n"
	"command /usr/bin/journalctl\n"
	"bind oncall db sudo-all until 2026-12-03T12:00:00Z\n"
	"bind web frontend login\n";

static void load(struct rp_dir_state *s)
{
	struct rp_diag d = {""};

	if (rp_dir_state_parse(state_text, strlen(state_text), s, &d) != 0)
		fail_msg("state: %s", d.msg);
}

static const struct conv_user *user(const struct conv_plan *p, const char *login)
{
	for (size_t i = 0; i < p->nusers; i++)
		if (!strcmp(p->users[i].login, login))
			return &p->users[i];
	return NULL;
}

static void grants_of_the_device(void **state)
{
	struct rp_dir_state s;
	struct conv_plan p;
	const struct conv_user *u;
	int64_t due;
	(void)state;

	load(&s);
	assert_int_equal(agent_dir_plan(&s.dir, DEV, NOW, &p, &due), 0);
	/* dba and oncall reach db; web reaches frontend only; ghost is no user */
	assert_int_equal(p.nusers, 4);
	assert_null(user(&p, "dave"));
	assert_null(user(&p, "ghost"));
	u = user(&p, "alice");
	assert_non_null(u);
	assert_true(u->access);
	assert_int_equal(u->sudo, CONV_SUDO_ALL); /* the widest: oncall's, until it ends */
	assert_int_equal(u->ncommands, 0);
	assert_int_equal(u->nkeys, 1);
	u = user(&p, "bob");
	assert_true(u->access);
	assert_int_equal(u->sudo, CONV_SUDO_COMMANDS);
	assert_int_equal(u->ncommands, 2);
	assert_int_equal(u->gid, 62001);
	u = user(&p, "carol");
	assert_false(u->access); /* suspended: on the device, locked */
	assert_int_equal(u->sudo, CONV_SUDO_NONE);
	assert_true(user(&p, "erin")->access);
	assert_int_equal(user(&p, "erin")->sudo, CONV_SUDO_ALL);
	/* the groups: dba and oncall, members among the planned users */
	assert_int_equal(p.ngroups, 2);
	for (size_t i = 0; i < p.ngroups; i++)
		if (!strcmp(p.groups[i].name, "dba"))
			assert_int_equal(p.groups[i].nmembers, 3);
	assert_int_equal(due, 1796299200); /* 2026-12-03T12:00:00Z */
	agent_dir_plan_release(&p);

	/* after oncall's end: alice keeps dba's commands, erin is locked */
	assert_int_equal(agent_dir_plan(&s.dir, DEV, due, &p, &due), 0);
	assert_int_equal(user(&p, "alice")->sudo, CONV_SUDO_COMMANDS);
	assert_int_equal(user(&p, "alice")->ncommands, 2);
	assert_false(user(&p, "erin")->access);
	assert_int_equal(due, 0);
	agent_dir_plan_release(&p);

	/* the other device: dave only; a device the directory does not name: nothing */
	assert_int_equal(agent_dir_plan(&s.dir, OTHER, NOW, &p, &due), 0);
	assert_int_equal(p.nusers, 1);
	assert_int_equal(user(&p, "dave")->sudo, CONV_SUDO_NONE);
	agent_dir_plan_release(&p);
	assert_int_equal(agent_dir_plan(&s.dir, "0123456789abcdef0123456789abcdef", NOW, &p, &due),
			 0);
	assert_int_equal(p.nusers, 0);
	assert_int_equal(p.ngroups, 0);
	agent_dir_plan_release(&p);
	rp_dir_state_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grants_of_the_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
