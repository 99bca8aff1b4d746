/* SPDX-License-Identifier: Apache-2.0 */
/* Signed notes against the independent (Go) vectors in shared/vectors/note. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static int verify_file(const char *rel, bool ok[3])
{
	struct rp_vkey keys[3];
	struct rp_note *note = NULL;
	size_t len;
	char *buf = vec_read(rel, &len);
	int r;

	for (int i = 0; i < 3; i++)
		vec_vkey(i, &keys[i]);
	r = rp_note_parse(buf, len, &note, NULL);
	if (r == 0)
		r = rp_note_verify(note, keys, 3, ok, NULL);
	rp_note_free(note);
	free(buf);
	return r;
}

static void ok_alice(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/ok-alice.note", ok), 0);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_false(ok[2]);
}

static void ok_alice_bob(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/ok-alice-bob.note", ok), 0);
	assert_true(ok[0] && ok[1]);
	assert_false(ok[2]);
}

static void checkpoint_carol(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/checkpoint.note", ok), 0);
	assert_true(ok[2]);
}

static void checkpoint_cosigned_ignores_witness_line(void **state)
{
	struct rp_vkey w;
	struct rp_note *note;
	bool ok[3];
	size_t len;
	char *buf, *v = vec_read("note/witness1.vkey", &len);
	(void)state;

	assert_int_equal(verify_file("note/checkpoint-cosigned.note", ok), 0);
	assert_true(ok[2]);
	while (len && v[len - 1] == '\n')
		len--;
	assert_int_equal(rp_vkey_parse(v, len, &w, NULL), 0);
	assert_int_equal(w.type, RP_KEY_COSIGNATURE);
	buf = vec_read("note/checkpoint-cosigned.note", &len);
	assert_int_equal(rp_note_parse(buf, len, &note, NULL), 0);
	assert_int_equal(note->nsigs, 2);
	/* The cosignature is keyid || time (1700000000, big endian) || sig. */
	assert_int_equal(note->sigs[1].id, w.id);
	assert_int_equal(note->sigs[1].sig_len, 8 + 64);
	assert_int_equal(note->sigs[1].sig[4], 0x65);
	/* Only Ed25519 (0x01) keys verify notes: a cosigner key alone finds nothing. */
	bool wok;
	assert_int_equal(rp_note_verify(note, &w, 1, &wok, NULL), RP_E_NOSIG);
	rp_note_free(note);
	free(buf);
	free(v);
}

static void bad_modified_text(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/bad-modified-text.note", ok), RP_E_BADSIG);
}

static void bad_signature_bitflip(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/bad-signature-bitflip.note", ok), RP_E_BADSIG);
}

static void unknown_keyid(void **state)
{
	bool ok[3];
	(void)state;
	assert_int_equal(verify_file("note/unknown-keyid.note", ok), RP_E_NOSIG);
}

static void malformed(const char *rel)
{
	struct rp_note *note = NULL;
	struct rp_diag d = {""};
	size_t len;
	char *buf = vec_read(rel, &len);

	assert_int_equal(rp_note_parse(buf, len, &note, &d), RP_E_MALFORMED);
	assert_null(note);
	assert_true(d.msg[0] != '\0');
	free(buf);
}

static void bad_no_blank_line(void **state) { (void)state; malformed("note/bad-no-blank-line.note"); }
static void bad_no_trailing_newline(void **state) { (void)state; malformed("note/bad-no-trailing-newline.note"); }
static void bad_control_char(void **state) { (void)state; malformed("note/bad-control-char.note"); }
static void bad_ascii_dash(void **state) { (void)state; malformed("note/bad-ascii-dash.note"); }

static void keys_round_trip(void **state)
{
	size_t len;
	char *keys = vec_read("note/keys.txt", &len), *line = keys;
	(void)state;

	for (int i = 0; i < 3; i++) {
		struct rp_skey sk;
		struct rp_vkey vk, derived;
		char *sline = line, *vline = strchr(line, '\n') + 1;
		line = strchr(vline, '\n') + 1;
		size_t slen = strcspn(sline, "\n"), vlen = strcspn(vline, "\n");

		assert_int_equal(rp_skey_parse(sline, slen, &sk, NULL), 0);
		assert_int_equal(rp_vkey_parse(vline, vlen, &vk, NULL), 0);
		char *s2 = rp_skey_format(&sk), *v2 = rp_vkey_format(&vk);
		assert_int_equal(strlen(s2), slen);
		assert_memory_equal(s2, sline, slen);
		assert_int_equal(strlen(v2), vlen);
		assert_memory_equal(v2, vline, vlen);
		rp_skey_vkey(&sk, &derived);
		char *v3 = rp_vkey_format(&derived);
		assert_string_equal(v3, v2);
		free(s2);
		free(v2);
		free(v3);
	}
	free(keys);
}

static void sign_matches_go(void **state)
{
	size_t blen, nlen, olen;
	char *body = vec_read("note/body1.txt", &blen), *want = vec_read("note/ok-alice.note", &nlen), *out;
	struct rp_skey alice;
	(void)state;

	vec_skey(0, &alice);
	assert_int_equal(rp_note_sign(body, blen, NULL, &alice, &out, &olen), 0);
	assert_int_equal(olen, nlen);
	assert_memory_equal(out, want, nlen);
	free(out);
	free(body);
	free(want);
}

static void merge_matches_go(void **state)
{
	size_t blen, nlen, olen;
	char *body = vec_read("note/body1.txt", &blen), *want = vec_read("note/ok-alice-bob.note", &nlen);
	char *a = sign_by(body, blen, (int[]){0, -1}), *b = sign_by(body, blen, (int[]){1, -1}), *out;
	struct rp_note *na, *nb;
	(void)state;

	assert_int_equal(rp_note_parse(a, strlen(a), &na, NULL), 0);
	assert_int_equal(rp_note_parse(b, strlen(b), &nb, NULL), 0);
	assert_int_equal(rp_note_merge(na, nb, &out, &olen), 0);
	assert_int_equal(olen, nlen);
	assert_memory_equal(out, want, nlen);
	free(out);
	rp_note_free(na);
	rp_note_free(nb);
	free(a);
	free(b);
	free(body);
	free(want);
}

static void key_text_rejects(void **state)
{
	struct rp_vkey v;
	struct rp_skey s;
	struct rp_diag d = {""};
	static const char *const bad_vkeys[] = {
		"alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c4", /* id mismatch */
		"alice.example+7a006fac+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3", /* id mismatch */
		"alice.example+7A006FAB+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3", /* uppercase id */
		"alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c",  /* short base64 */
		"alice example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3", /* space in name */
		"+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3",              /* empty name */
		"alice.example",                                                        /* no fields */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad_vkeys) / sizeof(bad_vkeys[0]); i++) {
		assert_int_equal(rp_vkey_parse(bad_vkeys[i], strlen(bad_vkeys[i]), &v, &d), RP_E_KEY);
		assert_true(d.msg[0] != '\0');
	}
	const char *bad_skey = "PRIVATE+KEY+alice.example+7a006fab+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3";
	assert_int_equal(rp_skey_parse(bad_skey, strlen(bad_skey), &s, &d), RP_E_KEY);
	assert_int_equal(rp_skey_generate("bad name", &s), RP_E_INVAL);
	assert_int_equal(rp_skey_generate("bad+name", &s), RP_E_INVAL);
}

static void noncanonical_base64_rejected(void **state)
{
	/* The last base64 digit's unused bits set: decodes, but is not canonical. */
	const char *note = "hello\n\n\xe2\x80\x94 alice.example egBvq547v1enKhI0HQbovf9fbFNOwCKdcxctVCxbGkz+rWaZaHsW/TGQN9Sz2+of9DW88Oyh7hPYkpmzNnu7iC71Pgl=\n";
	struct rp_note *n = NULL;
	(void)state;
	assert_int_equal(rp_note_parse(note, strlen(note), &n, NULL), RP_E_MALFORMED);
}

static void too_many_signatures(void **state)
{
	struct rp_sb sb;
	struct rp_note *n = NULL;
	size_t len;
	char *s;
	(void)state;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, "hello\n\n");
	for (int i = 0; i <= RP_NOTE_SIGS_MAX; i++)
		rp_sb_puts(&sb, "\xe2\x80\x94 x AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	s = rp_sb_take(&sb, &len);
	assert_int_equal(rp_note_parse(s, len, &n, NULL), RP_E_TOOBIG);
	free(s);
}

static void oversized_note(void **state)
{
	size_t n = RP_NOTE_MAX + 1;
	char *s = malloc(n);
	struct rp_note *note = NULL;
	(void)state;
	memset(s, 'a', n);
	assert_int_equal(rp_note_parse(s, n, &note, NULL), RP_E_TOOBIG);
	free(s);
}

static void invalid_utf8_text(void **state)
{
	struct rp_diag d = {""};
	(void)state;
	assert_false(rp_note_text_valid("caf\xc3\n", 5, &d));
	assert_false(rp_note_text_valid("\xc0\xaf\n", 3, &d));       /* overlong */
	assert_false(rp_note_text_valid("\xed\xa0\x80\n", 4, &d));   /* surrogate */
	assert_false(rp_note_text_valid("a\xc2\x85\n", 4, &d));      /* C1 control */
	assert_false(rp_note_text_valid("a\r\n", 3, &d));
	assert_true(rp_note_text_valid("caf\xc3\xa9 \xe2\x80\x94\n", 10, &d));
}

static void duplicate_signature_counts_once(void **state)
{
	size_t blen;
	char *body = vec_read("note/body1.txt", &blen);
	char *twice = sign_by(body, blen, (int[]){0, -1});
	struct rp_vkey keys[3];
	struct rp_note *n;
	bool ok[3];
	(void)state;

	/* The same line twice: parses, verifies, alice counts once. */
	char *dup = malloc(strlen(twice) * 2);
	const char *sig = strstr(twice, "\n\n") + 2;
	snprintf(dup, strlen(twice) * 2, "%s%s", twice, sig);
	for (int i = 0; i < 3; i++)
		vec_vkey(i, &keys[i]);
	assert_int_equal(rp_note_parse(dup, strlen(dup), &n, NULL), 0);
	assert_int_equal(n->nsigs, 2);
	assert_int_equal(rp_note_verify(n, keys, 3, ok, NULL), 0);
	assert_true(ok[0]);
	rp_note_free(n);
	free(dup);
	free(twice);
	free(body);
}

static void bad_known_signature_beside_good(void **state)
{
	bool ok[3];
	size_t len;
	char *good = vec_read("note/ok-alice-bob.note", &len);
	/* Corrupt bob's signature only. */
	char *bad = replace(good, "zwVTRqBl", "zwVTRqBm");
	struct rp_vkey keys[3];
	struct rp_note *n;
	(void)state;

	for (int i = 0; i < 3; i++)
		vec_vkey(i, &keys[i]);
	assert_int_equal(rp_note_parse(bad, strlen(bad), &n, NULL), 0);
	assert_int_equal(rp_note_verify(n, keys, 3, ok, NULL), RP_E_BADSIG);
	rp_note_free(n);
	free(bad);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ok_alice),
		cmocka_unit_test(ok_alice_bob),
		cmocka_unit_test(checkpoint_carol),
		cmocka_unit_test(checkpoint_cosigned_ignores_witness_line),
		cmocka_unit_test(bad_modified_text),
		cmocka_unit_test(bad_signature_bitflip),
		cmocka_unit_test(unknown_keyid),
		cmocka_unit_test(bad_no_blank_line),
		cmocka_unit_test(bad_no_trailing_newline),
		cmocka_unit_test(bad_control_char),
		cmocka_unit_test(bad_ascii_dash),
		cmocka_unit_test(keys_round_trip),
		cmocka_unit_test(sign_matches_go),
		cmocka_unit_test(merge_matches_go),
		cmocka_unit_test(key_text_rejects),
		cmocka_unit_test(noncanonical_base64_rejected),
		cmocka_unit_test(too_many_signatures),
		cmocka_unit_test(oversized_note),
		cmocka_unit_test(invalid_utf8_text),
		cmocka_unit_test(duplicate_signature_counts_once),
		cmocka_unit_test(bad_known_signature_beside_good),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("note", tests, NULL, NULL);
}
