/* SPDX-License-Identifier: Apache-2.0 */
/*
 * converge-run: conv_apply (agent/converge.c) from the command line, for
 * the integration tests that check its accounts against a real sshd and
 * sudo in namespaces of their own (test-converge-sshd.sh). Not installed.
 *
 *   converge-run ROOT STATE-DIR PLAN-FILE [repair]
 *
 * ROOT is the root prefix ("" for the machine: only ever inside the
 * test's namespace). The plan file is a test format, a line each:
 *
 *   user LOGIN UID GID access|locked all|none|COMMAND
 *   key TYPE BASE64 [COMMENT]       (a key of the user above)
 *   group NAME GID [MEMBER...]
 *
 * Sessions of locked and removed accounts are killed. Prints each item as
 * `CODE SUBJECT: DETAIL', then `writes N'; exits 0, or 1 with the
 * diagnostic.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converge.h"
#include "rp_err.h"

#define MAX 64

static struct conv_user users[MAX];
static struct conv_group groups[MAX];
static char *keys[MAX][8], *cmds[MAX][1];

static int usage(void)
{
	fprintf(stderr, "usage: converge-run ROOT STATE-DIR PLAN-FILE [repair]\n");
	return 2;
}

static int bad(const char *line)
{
	fprintf(stderr, "converge-run: bad plan line: %s\n", line);
	return 2;
}

/* Words of line (spaces), at most n; the last takes the rest of the line. */
static size_t split(char *line, char **w, size_t n)
{
	size_t k = 0;

	while (*line && k < n) {
		w[k++] = line;
		if (k == n)
			break;
		line += strcspn(line, " ");
		if (*line)
			*line++ = '\0';
	}
	return k;
}

int main(int argc, char **argv)
{
	struct conv_plan p = {.users = users, .groups = groups};
	struct conv_env env = {.kill_sessions = true};
	struct conv_report rep;
	struct rp_diag d = {""};
	char line[16384], *w[MAX + 3];
	FILE *f;
	int r;

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "repair") != 0))
		return usage();
	if (sodium_init() < 0)
		return 1;
	env.root = argv[1];
	env.state = argv[2];
	p.repair = argc == 5;
	if (!(f = fopen(argv[3], "r"))) {
		perror(argv[3]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "user ", 5) == 0) {
			struct conv_user *u = &users[p.nusers];
			if (p.nusers == MAX || split(line + 5, w, 5) != 5)
				return bad(line);
			snprintf(u->login, sizeof(u->login), "%s", w[0]);
			u->uid = (uint32_t)strtoul(w[1], NULL, 10);
			u->gid = (uint32_t)strtoul(w[2], NULL, 10);
			snprintf(u->shell, sizeof(u->shell), "/bin/sh");
			u->access = strcmp(w[3], "access") == 0;
			u->keys = keys[p.nusers];
			if (strcmp(w[4], "all") == 0) {
				u->sudo = CONV_SUDO_ALL;
			} else if (strcmp(w[4], "none") != 0) {
				u->sudo = CONV_SUDO_COMMANDS;
				cmds[p.nusers][0] = strdup(w[4]);
				u->commands = cmds[p.nusers];
				u->ncommands = 1;
			}
			p.nusers++;
		} else if (strncmp(line, "key ", 4) == 0) {
			struct conv_user *u = &users[p.nusers - 1];
			if (p.nusers == 0 || u->nkeys == 8)
				return bad(line);
			u->keys[u->nkeys++] = strdup(line + 4);
		} else if (strncmp(line, "group ", 6) == 0) {
			struct conv_group *g = &groups[p.ngroups];
			size_t n = split(line + 6, w, MAX + 2);
			if (p.ngroups == MAX || n < 2)
				return bad(line);
			snprintf(g->name, sizeof(g->name), "%s", w[0]);
			g->gid = (uint32_t)strtoul(w[1], NULL, 10);
			g->members = calloc(n, sizeof(*g->members));
			for (size_t i = 2; i < n; i++)
				snprintf(g->members[g->nmembers++], sizeof(*g->members), "%s",
					 w[i]);
			p.ngroups++;
		} else if (line[0]) {
			return bad(line);
		}
	}
	fclose(f);
	r = conv_apply(&env, &p, &rep, &d);
	for (size_t i = 0; i < rep.n; i++)
		printf("%s %s: %s\n", rep.items[i].code, rep.items[i].subject, rep.items[i].detail);
	printf("writes %u\n", rep.writes);
	conv_report_release(&rep);
	if (r < 0) {
		fprintf(stderr, "converge-run: %s: %s\n", rp_strerror(r), d.msg);
		return 1;
	}
	return 0;
}
