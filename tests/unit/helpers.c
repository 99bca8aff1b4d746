/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vec_read(const char *rel, size_t *ret_len)
{
	char path[1024], *buf = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, rel);
	r = rp_read_file(path, 1 << 20, &buf, &len);
	if (r != 0)
		fail_msg("cannot read vector %s: %s", path, rp_strerror(r));
	if (ret_len)
		*ret_len = len;
	return buf;
}

char *vec_key_text(int line)
{
	char *buf = vec_read("note/keys.txt", NULL), *p = buf, *out;

	for (int i = 0; i < line; i++) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	size_t k = strcspn(p, "\n");
	assert_true(k > 0);
	out = strndup(p, k);
	assert_non_null(out);
	free(buf);
	return out;
}

void vec_skey(int i, struct rp_skey *ret)
{
	char *t = vec_key_text(2 * i);

	assert_int_equal(rp_skey_parse(t, strlen(t), ret, NULL), 0);
	free(t);
}

void vec_vkey(int i, struct rp_vkey *ret)
{
	char *t = vec_key_text(2 * i + 1);

	assert_int_equal(rp_vkey_parse(t, strlen(t), ret, NULL), 0);
	free(t);
}

void test_skey(const char *name, uint8_t seed, struct rp_skey *ret)
{
	memset(ret, 0, sizeof(*ret));
	assert_true(strlen(name) < sizeof(ret->name));
	memcpy(ret->name, name, strlen(name));
	memset(ret->seed, seed, sizeof(ret->seed));
	crypto_sign_seed_keypair(ret->pub, ret->sk, ret->seed);
	ret->id = rp_key_id(name, strlen(name), RP_KEY_ED25519, ret->pub);
}

char *policy_text(unsigned root, unsigned exec, unsigned query, unsigned dir, int64_t expires)
{
	static const char names[] = "alice.example bob.example carol.example";
	struct rp_sb sb;
	char t[21];
	char *out;

	rp_time_format(expires, t);
	rp_sb_init(&sb, 8192);
	rp_sb_printf(&sb, "rampart/policy/v1\norg acme\nversion 1\nexpires %s\n", t);
	for (int i = 0; i < 3; i++) {
		char *k = vec_key_text(2 * i + 1);
		rp_sb_printf(&sb, "key %s\n", k);
		free(k);
	}
	rp_sb_printf(&sb,
		     "role root %u %s\nrole exec %u %s\nrole query %u %s\nrole directory %u %s\n",
		     root, names, exec, names, query, names, dir, names);
	rp_sb_puts(&sb, POLICY_LOG_TAIL);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

char *sign_keys(const char *text, size_t len, const struct rp_skey *ks, size_t n)
{
	struct rp_note *note = NULL;
	char *cur = NULL, *next;
	size_t clen;

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rp_note_sign(text, len, note, &ks[i], &next, &clen), 0);
		rp_note_free(note);
		note = NULL;
		assert_int_equal(rp_note_parse(next, clen, &note, NULL), 0);
		free(cur);
		cur = next;
	}
	rp_note_free(note);
	return cur;
}

char *sign_by(const char *text, size_t len, const int *who)
{
	struct rp_skey ks[8];
	size_t n = 0;

	for (; *who >= 0; who++) {
		assert_true(n < 8);
		vec_skey(*who, &ks[n++]);
	}
	return sign_keys(text, len, ks, n);
}

char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct rp_sb sb;
	char *out;

	if (!p)
		fail_msg("`%s' does not occur in the text", from);
	rp_sb_init(&sb, 4 << 20);
	rp_sb_put(&sb, s, (size_t)(p - s));
	rp_sb_puts(&sb, to);
	rp_sb_puts(&sb, p + strlen(from));
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

char *concat(const char *a, const char *b)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 4 << 20);
	rp_sb_puts(&sb, a);
	rp_sb_puts(&sb, b);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

const char *sig_block(const char *note)
{
	const char *p = NULL, *q = note;

	while ((q = strstr(q, "\n\n")) != NULL)
		p = q++;
	assert_non_null(p);
	return p + 2;
}

void assert_diag_has(const struct rp_diag *d, const char *word)
{
	if (!strstr(d->msg, word))
		fail_msg("diagnostic `%s' does not mention `%s'", d->msg, word);
}

/* ---- the in-memory test log ---- */

void test_log_skey(struct rp_skey *ret)
{
	test_skey(TEST_LOG_NAME, TEST_LOG_SEED, ret);
}

void test_witness_skey(int which, struct rp_skey *ret)
{
	assert_true(which == 1 || which == 2);
	if (which == 1)
		test_skey("witness1.example", TEST_W1_SEED, ret);
	else
		test_skey("witness2.example", TEST_W2_SEED, ret);
}

static int test_log_read(void *arg, unsigned level, uint64_t index, uint8_t out[RP_HASH_LEN])
{
	const struct test_log *l = arg;

	if (level >= TEST_LOG_LEVELS || index >= TEST_LOG_MAX || (index + 1) << level > l->size)
		fail_msg("test log: read of (%u, %llu), which is not stored", level,
			 (unsigned long long)index);
	memcpy(out, l->h[level][index], RP_HASH_LEN);
	return 0;
}

uint64_t test_log_append(struct test_log *l, const void *data, size_t len)
{
	struct rp_stored_hash out[64];
	uint8_t leaf[RP_HASH_LEN];
	size_t n = 0;

	assert_true(l->size < TEST_LOG_MAX);
	rp_merkle_leaf_hash(data, len, leaf);
	assert_int_equal(rp_merkle_append(l->size, leaf, test_log_read, l, out, &n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(out[i].level < TEST_LOG_LEVELS && out[i].index < TEST_LOG_MAX);
		memcpy(l->h[out[i].level][out[i].index], out[i].hash, RP_HASH_LEN);
	}
	return l->size++;
}

void test_log_fill(struct test_log *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char e[32];
		snprintf(e, sizeof(e), "filler %llu\n", (unsigned long long)l->size);
		test_log_append(l, e, strlen(e));
	}
}

void test_log_head(const struct test_log *l, uint64_t size, struct rp_checkpoint *ret)
{
	assert_true(size <= l->size);
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->origin, sizeof(ret->origin), "%s", TEST_LOG_NAME);
	ret->size = size;
	assert_int_equal(rp_merkle_tree_hash(size, test_log_read, (void *)l, ret->root), 0);
}

char *test_cosign(const char *note, const struct rp_skey *w, int64_t t)
{
	struct rp_note *n = NULL;
	char *line, *out;

	assert_int_equal(rp_note_parse(note, strlen(note), &n, NULL), 0);
	line = rp_cosig_sign_line(n->msg, n->text_len, w, (uint64_t)t);
	assert_non_null(line);
	out = concat(note, line);
	free(line);
	rp_note_free(n);
	return out;
}

char *test_checkpoint_note(const struct rp_checkpoint *cp, const struct rp_skey *log,
			   unsigned witnesses, int64_t t)
{
	size_t len, nlen;
	char *text = rp_checkpoint_format(cp, &len), *note;

	assert_non_null(text);
	assert_int_equal(rp_note_sign(text, len, NULL, log, &note, &nlen), 0);
	free(text);
	for (int i = 1; i <= 2; i++) {
		struct rp_skey w;
		char *next;
		if (!(witnesses & (i == 1 ? TEST_W1 : TEST_W2)))
			continue;
		test_witness_skey(i, &w);
		next = test_cosign(note, &w, t);
		free(note);
		note = next;
	}
	return note;
}

char *test_log_note(const struct test_log *l, uint64_t size, unsigned witnesses, int64_t t)
{
	struct rp_checkpoint cp;
	struct rp_skey k;

	test_log_head(l, size, &cp);
	test_log_skey(&k);
	return test_checkpoint_note(&cp, &k, witnesses, t);
}

size_t test_log_inclusion(const struct test_log *l, uint64_t index, uint64_t size,
			  uint8_t (*out)[RP_HASH_LEN])
{
	size_t n = 0;

	assert_true(size <= l->size);
	assert_int_equal(rp_merkle_prove_inclusion(index, size, test_log_read, (void *)l, out, &n),
			 0);
	return n;
}

size_t test_log_consistency(const struct test_log *l, uint64_t size1, uint64_t size2,
			    uint8_t (*out)[RP_HASH_LEN])
{
	size_t n = 0;

	assert_true(size2 <= l->size);
	assert_int_equal(
		rp_merkle_prove_consistency(size1, size2, test_log_read, (void *)l, out, &n), 0);
	return n;
}
