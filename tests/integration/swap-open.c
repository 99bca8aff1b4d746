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

typedef int (*openat_fn)(int, const char *, int, ...);

/* Every wrapper ends here: open(path) is openat(AT_FDCWD, path). */
static int swap_then_open(int dfd, const char *path, int flags, unsigned mode)
{
	static openat_fn real;

	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	maybe_swap(path);
	return real(dfd, path, flags, mode);
}

/* Only a call that creates passes a mode. */
static int has_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* The mode argument after flags, or 0; a GNU statement expression. */
#define MODE_ARG(flags)                            \
	__extension__({                            \
		unsigned m_ = 0;                   \
		if (has_mode(flags)) {             \
			va_list ap;                \
			va_start(ap, flags);       \
			m_ = va_arg(ap, unsigned); \
			va_end(ap);                \
		}                                  \
		m_;                                \
	})

int open(const char *path, int flags, ...)
{
	return swap_then_open(AT_FDCWD, path, flags, MODE_ARG(flags));
}

int open64(const char *path, int flags, ...)
{
	return swap_then_open(AT_FDCWD, path, flags, MODE_ARG(flags));
}

int openat(int dfd, const char *path, int flags, ...)
{
	return swap_then_open(dfd, path, flags, MODE_ARG(flags));
}

int openat64(int dfd, const char *path, int flags, ...)
{
	return swap_then_open(dfd, path, flags, MODE_ARG(flags));
}
