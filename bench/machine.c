/* SPDX-License-Identifier: Apache-2.0 */
#include "machine.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void bench_cpu_model(char *out, size_t cap)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, cap, "?");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');
			if (p) {
				snprintf(out, cap, "%s", p + 2);
				out[strcspn(out, "\n")] = '\0';
			}
			break;
		}
	if (f)
		fclose(f);
}

const char *bench_fs_type(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) != 0)
		return "?";
	return sf.f_type == 0xEF53       ? "ext4"
	       : sf.f_type == 0x01021994 ? "tmpfs"
	       : sf.f_type == 0x58465342 ? "xfs"
	       : sf.f_type == 0x9123683E ? "btrfs"
					 : "other";
}

const char *bench_fs_journal(const char *path)
{
	char link[64], target[PATH_MAX], *name;
	const char *ret = "no journal";
	struct dirent *e;
	struct stat st;
	ssize_t n;
	size_t len;
	DIR *d;

	if (strcmp(bench_fs_type(path), "ext4") != 0 || stat(path, &st) != 0)
		return "";
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
		return "";
	target[n] = '\0';
	name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	len = strlen(name);
	if (!(d = opendir("/proc/fs/jbd2")))
		return ret;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, name, len) == 0 && e->d_name[len] == '-')
			ret = "journal";
	closedir(d);
	return ret;
}
