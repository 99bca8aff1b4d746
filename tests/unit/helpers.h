/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the unit test binaries: the golden vectors of
 * tests/vectors (VECTORS_DIR, set by meson), the three vector keys,
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

#include "checkpoint.h"
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
/* Signed by each of the n keys in turn; malloc'd. */
char *sign_keys(const char *text, size_t len, const struct rp_skey *ks, size_t n);
/* Replaces the first occurrence of from with to in s (malloc'd); from must occur. */
char *replace(const char *s, const char *from, const char *to);
/* a followed by b, malloc'd. */
char *concat(const char *a, const char *b);
/* The signature block of a note (after the last blank line). */
const char *sig_block(const char *note);

/* Fails unless d->msg contains word. */
void assert_diag_has(const struct rp_diag *d, const char *word);

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The log and witness lines every test policy ends with: log key seed
 * 0x55 x32 named example.com/rampart/acme; witness1.example (seed 0x44,
 * tests/vectors/note/witness1.vkey) and witness2.example (seed 0x66);
 * both must cosign.
 */
#define TEST_LOG_NAME "example.com/rampart/acme"
#define TEST_LOG_SEED 0x55
#define TEST_W1_SEED  0x44
#define TEST_W2_SEED  0x66
#define POLICY_LOG_TAIL                                                                        \
	"freshness 3600\n"                                                                     \
	"log example.com/rampart/acme+d85341b6+AcaCJjfH0xDsV2J74AuiWdJTdJ9Kr2REcM/75To19zJC\n" \
	"witness w1 witness1.example+b4263706+BNdZeTu8E6KBmoJ8dq22+6ikmu4Af0ny0JktmbglrSxI\n"  \
	"witness w2 witness2.example+574422a3+BDS02QQxVsttzwvrCilJt1WclA0ry22+jFOpswJ446dG\n"  \
	"group both all w1 w2\n"                                                               \
	"quorum both\n"

/*
 * A small in-memory transparency log for the tests: up to TEST_LOG_MAX
 * entries, hashes stored as rp_merkle_append lays them out, checkpoints
 * signed by the test log key and cosigned by the policy's witnesses.
 */
#define TEST_LOG_MAX    64
#define TEST_LOG_LEVELS 7  /* 2^6 = TEST_LOG_MAX */
#define TEST_W1         1u /* witness1.example */
#define TEST_W2         2u /* witness2.example */
#define TEST_WBOTH      (TEST_W1 | TEST_W2)

struct test_log {
	uint64_t size;
	uint8_t h[TEST_LOG_LEVELS][TEST_LOG_MAX][RP_HASH_LEN]; /* stored hash (level, index) */
};

/* The log key (TEST_LOG_NAME, seed TEST_LOG_SEED) and witness 1 or 2. */
void test_log_skey(struct rp_skey *ret);
void test_witness_skey(int which, struct rp_skey *ret);
/* Appends data as the next entry; returns its index. */
uint64_t test_log_append(struct test_log *l, const void *data, size_t len);
/* Appends n entries "filler <index>\n". */
void test_log_fill(struct test_log *l, unsigned n);
/* The checkpoint of the first size entries (origin TEST_LOG_NAME). */
void test_log_head(const struct test_log *l, uint64_t size, struct rp_checkpoint *ret);
/*
 * The checkpoint of the first size entries as a note signed by the log
 * key and cosigned at time t by the witnesses in the mask (TEST_W1,
 * TEST_W2); malloc'd.
 */
char *test_log_note(const struct test_log *l, uint64_t size, unsigned witnesses, int64_t t);
/* The same for any checkpoint and log key. */
char *test_checkpoint_note(const struct rp_checkpoint *cp, const struct rp_skey *log,
			   unsigned witnesses, int64_t t);
/* note (a signed checkpoint) with one more cosignature line by w at t; malloc'd. */
char *test_cosign(const char *note, const struct rp_skey *w, int64_t t);
/* Inclusion proof of index in the first size entries; returns the count. */
size_t test_log_inclusion(const struct test_log *l, uint64_t index, uint64_t size,
			  uint8_t (*out)[RP_HASH_LEN]);
/* Consistency proof from size1 to size2 entries (1 <= size1 <= size2). */
size_t test_log_consistency(const struct test_log *l, uint64_t size1, uint64_t size2,
			    uint8_t (*out)[RP_HASH_LEN]);
