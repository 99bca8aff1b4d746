/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What the benchmarks print about the machine they ran on
 * (docs/performance.md: every figure names its machine).
 */
#include <stddef.h>

/* /proc/cpuinfo's first `model name', or "?". */
void bench_cpu_model(char *out, size_t cap);
/* The type of the file system holding path: ext4, tmpfs, xfs, btrfs, other, or "?". */
const char *bench_fs_type(const char *path);
/*
 * For an ext4 file system: whether it has a journal (jbd2 runs for its
 * device, /proc/fs/jbd2/<device>-*): "journal", "no journal"; "" for any
 * other file system or when the device is not found.
 */
const char *bench_fs_journal(const char *path);
