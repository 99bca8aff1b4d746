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
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

char *sign_by(const char *text, size_t len, const int *who)
{
	struct rp_note *note = NULL;
	char *cur = NULL;
	size_t clen;

	assert_true(*who >= 0);
	for (; *who >= 0; who++) {
		struct rp_skey k;
		char *next;

		vec_skey(*who, &k);
		assert_int_equal(rp_note_sign(text, len, note, &k, &next, &clen), 0);
		rp_note_free(note);
		note = NULL;
		assert_int_equal(rp_note_parse(next, clen, &note, NULL), 0);
		free(cur);
		cur = next;
	}
	rp_note_free(note);
	return cur;
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
