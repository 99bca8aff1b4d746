/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int rp_cmd_main(const char *prog, const char *summary, const struct rp_cmd *cmds, size_t n,
		int argc, char *argv[])
{
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
				  !strcmp(argv[1], "help"));
	FILE *f = help ? stdout : stderr;
	int width = 8;

	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", prog, RP_VERSION);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (argc >= 2 && !help)
		fprintf(stderr, "%s: unknown command `%s'\n", prog, argv[1]);
	fprintf(f, "Usage: %s COMMAND [OPTIONS]\n\n%s%sCommands:\n", prog, summary ? summary : "",
		summary ? "\n" : "");
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(cmds[i].name) > width)
			width = (int)strlen(cmds[i].name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-*s  %s\n", width, cmds[i].name, cmds[i].help);
	fprintf(f, "\n`%s COMMAND --help' for each; --version for the version.\n", prog);
	return help ? 0 : 2;
}
