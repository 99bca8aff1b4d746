/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the unit test binaries: the golden vectors of
 * ../shared/vectors (VECTORS_DIR, set by meson), the three vector keys,
 * and small text builders. Everything here fails the current test rather
 * than returning errors.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "note.h"
#include "policy.h"
#include "rp_err.h"
#include "statement.h"

/* Reads VECTORS_DIR/rel (NUL-terminated); fails the test if it cannot. */
char *vec_read(const char *rel, size_t *ret_len);
/* Line i (0-based) of note/keys.txt without its newline, malloc'd. */
char *vec_key_text(int line);
/* alice, bob, carol from note/keys.txt (index 0, 1, 2). */
void vec_skey(int i, struct rp_skey *ret);
void vec_vkey(int i, struct rp_vkey *ret);
/* A deterministic extra key: seed byte `seed' repeated, name `name'. */
void test_skey(const char *name, uint8_t seed, struct rp_skey *ret);

/*
 * A policy text: org acme, version 1, the three vector keys, every role
 * listing all three with the given thresholds.
 */
char *policy_text(unsigned root, unsigned exec, unsigned query, unsigned dir, int64_t expires);
/* text signed by the listed vector keys (indexes, -1 ends), in that order. */
char *sign_by(const char *text, size_t len, const int *who);
/* Replaces the first occurrence of from with to in s (malloc'd); from must occur. */
char *replace(const char *s, const char *from, const char *to);
/* a followed by b, malloc'd. */
char *concat(const char *a, const char *b);
/* The signature block of a note (after the last blank line). */
const char *sig_block(const char *note);

/* Fails unless d->msg contains word. */
void assert_diag_has(const struct rp_diag *d, const char *word);

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
