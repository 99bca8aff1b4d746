/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vec_read(const char *rel, size_t *ret_len)
{
	char path[1024], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, rel);
	assert_int_equal(rp_read_file(path, 1 << 20, &buf, &len), 0);
	if (ret_len)
		*ret_len = len;
	return buf;
}

static void key_line(int line, char *out, size_t n)
{
	size_t len;
	char *buf = vec_read("note/keys.txt", &len), *p = buf;

	for (int i = 0; i < line; i++)
		p = strchr(p, '\n') + 1;
	size_t k = strcspn(p, "\n");
	assert_true(k < n);
	memcpy(out, p, k);
	out[k] = '\0';
	free(buf);
}

void vec_skey(int i, struct rp_skey *ret)
{
	char line[512];

	key_line(2 * i, line, sizeof(line));
	assert_int_equal(rp_skey_parse(line, strlen(line), ret, NULL), 0);
}

void vec_vkey(int i, struct rp_vkey *ret)
{
	char line[512];

	key_line(2 * i + 1, line, sizeof(line));
	assert_int_equal(rp_vkey_parse(line, strlen(line), ret, NULL), 0);
}

char *policy_text(unsigned root, unsigned exec, unsigned query, unsigned dir, int64_t expires)
{
	struct rp_sb sb;
	char t[21], k[512];
	const char *names = "alice.example bob.example carol.example";

	rp_time_format(expires, t);
	rp_sb_init(&sb, 8192);
	rp_sb_printf(&sb, "rampart/policy/v1\norg acme\nversion 1\nexpires %s\n", t);
	for (int i = 0; i < 3; i++) {
		key_line(2 * i + 1, k, sizeof(k));
		rp_sb_printf(&sb, "key %s\n", k);
	}
	rp_sb_printf(&sb, "role root %u %s\nrole exec %u %s\nrole query %u %s\nrole directory %u %s\n",
		     root, names, exec, names, query, names, dir, names);
	return rp_sb_take(&sb, NULL);
}

char *sign_by(const char *text, size_t len, const int *who)
{
	struct rp_note *note = NULL;
	char *cur = NULL;
	size_t clen;

	for (; *who >= 0; who++) {
		struct rp_skey k;
		char *next;
		vec_skey(*who, &k);
		assert_int_equal(rp_note_sign(text, len, note, &k, &next, &clen), 0);
		rp_note_free(note);
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

	assert_non_null(p);
	rp_sb_init(&sb, 1 << 20);
	rp_sb_put(&sb, s, (size_t)(p - s));
	rp_sb_puts(&sb, to);
	rp_sb_puts(&sb, p + strlen(from));
	return rp_sb_take(&sb, NULL);
}
