/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the fuzz targets: the public test keys of
 * tests/vectors/note/keys.txt, and a check that aborts (a crash libFuzzer
 * reports, with the input saved) when an invariant does not hold.
 */
#pragma once

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ALICE   "alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3"
#define FUZZ_BOB     "bob.example+cf055346+AaCapfR6Z1mAL/lV+NwtKhSlyZ0jvpf4ZBJ/+Tg0VaTw"
#define FUZZ_CAROL   "carol.example+49c530a3+ARfLefsrQSDysexl5BmNbgiyjoE/6wHkpACDm4XhgIDO"
#define FUZZ_LOG     "example.com/rampart/acme+d85341b6+AcaCJjfH0xDsV2J74AuiWdJTdJ9Kr2REcM/75To19zJC"
#define FUZZ_WITNESS "witness1.example+b4263706+BNdZeTu8E6KBmoJ8dq22+6ikmu4Af0ny0JktmbglrSxI"

#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
