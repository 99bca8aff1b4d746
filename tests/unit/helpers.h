/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "note.h"
#include "policy.h"
#include "rp_err.h"
#include "statement.h"

/* Reads VECTORS_DIR/rel; fails the test if it cannot. */
char *vec_read(const char *rel, size_t *ret_len);
/* alice, bob, carol from note/keys.txt (index 0, 1, 2). */
void vec_skey(int i, struct rp_skey *ret);
void vec_vkey(int i, struct rp_vkey *ret);

/* A policy text: the three vector keys, thresholds per role. */
char *policy_text(unsigned root, unsigned exec, unsigned query, unsigned dir, int64_t expires);
/* text signed by the listed keys (indexes, -1 ends). */
char *sign_by(const char *text, size_t len, const int *who);
/* Replaces the first occurrence of from with to in s (malloc'd). */
char *replace(const char *s, const char *from, const char *to);
