/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LD_PRELOAD shim for test-files.sh: swaps a file at the moment a process
 * opens it. When the process opens RP_SWAP_TARGET (the exact path), the
 * file RP_SWAP_WITH is first renamed over it, once. A program that checks
 * a path (stat, access) and then opens it has made its check on the file
 * that was there before; one that checks the opened descriptor checks the
 * file it reads. Deterministic, unlike racing a second process.
 */
/* The headers would rename open to open64; this file defines both itself. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int swapped;

static void maybe_swap(const char *path)
{
	const char *target = getenv("RP_SWAP_TARGET"), *with = getenv("RP_SWAP_WITH");

	if (swapped || !target || !with || !path || strcmp(path, target) != 0)
		return;
	swapped = 1;
	if (rename(with, target) != 0)
		perror("swap-open: rename");
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

/* Only a call that creates passes a mode. */
static int has_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define SHIM_OPEN(name)                                          \
	int name(const char *path, int flags, ...);              \
	int name(const char *path, int flags, ...)               \
	{                                                        \
		static open_fn real;                             \
		va_list ap;                                      \
		unsigned mode = 0;                               \
		if (!real)                                       \
			real = (open_fn)dlsym(RTLD_NEXT, #name); \
		if (has_mode(flags)) {                           \
			va_start(ap, flags);                     \
			mode = va_arg(ap, unsigned);             \
			va_end(ap);                              \
		}                                                \
		maybe_swap(path);                                \
		return real(path, flags, mode);                  \
	}
#define SHIM_OPENAT(name)                                          \
	int name(int dfd, const char *path, int flags, ...);       \
	int name(int dfd, const char *path, int flags, ...)        \
	{                                                          \
		static openat_fn real;                             \
		va_list ap;                                        \
		unsigned mode = 0;                                 \
		if (!real)                                         \
			real = (openat_fn)dlsym(RTLD_NEXT, #name); \
		if (has_mode(flags)) {                             \
			va_start(ap, flags);                       \
			mode = va_arg(ap, unsigned);               \
			va_end(ap);                                \
		}                                                  \
		maybe_swap(path);                                  \
		return real(dfd, path, flags, mode);               \
	}

SHIM_OPEN(open)
SHIM_OPEN(open64)
SHIM_OPENAT(openat)
SHIM_OPENAT(openat64)
