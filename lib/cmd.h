/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The command table of rampartd, rampart-agent and rampart-witness, in
 * wireguard-tools' style: `prog COMMAND [OPTIONS]`, each command a
 * `int x_main(int argc, char *argv[])` that parses its own options and
 * answers its own --help.
 */

#include <stddef.h>

struct rp_cmd {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *help;
};

/*
 * Runs argv[1]'s command with argv shifted by one, or answers --version,
 * --help (usage on stdout, 0) and anything else (usage on stderr, 2).
 * summary (may be NULL) is a paragraph printed above the command list.
 */
int rp_cmd_main(const char *prog, const char *summary, const struct rp_cmd *cmds, size_t n,
		int argc, char *argv[]);
