/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints and witnesses (lib/checkpoint.c): the Go vectors of
 * tests/vectors/note first (a real tlog-cosignature produced by Go must
 * verify, and ours over the same text with the same seed and time must be
 * the same bytes), then one named case per malformed checkpoint,
 * add-checkpoint request and tlog-policy line, then the witness quorum as
 * rp_checkpoint_verify evaluates it, one attack or edge per test.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "helpers.h"

#define EM_DASH  "\xe2\x80\x94"
#define NOW      1700000000
#define FRESH    3600
#define SKEW     300
#define ORIGIN   "example.com/log"
#define VEC_ROOT "Q0QkLjlvrHKBsoDqjDGh2a09Ef3uMrKuSCXXZ1OmjD4="
#define VEC_TEXT ORIGIN "\n5\n" VEC_ROOT "\n"

/* The log key (seed 0x55, named as the origin) and six witnesses. */
#define NWIT 6
static struct rp_skey logk, wk[NWIT];
static char *logvk_text, *wvk_text[NWIT];

static int setup(void **state)
{
	(void)state;
	struct rp_vkey lv;

	test_skey(ORIGIN, 0x55, &logk);
	rp_skey_vkey(&logk, &lv);
	logvk_text = rp_vkey_format(&lv);
	for (int i = 0; i < NWIT; i++) {
		char name[32];
		struct rp_vkey v;

		snprintf(name, sizeof(name), "witness%d.example", i + 1);
		/* witness1.example, seed 0x44: the key of the Go vector. */
		test_skey(name, (uint8_t)(0x44 + i), &wk[i]);
		rp_cosig_vkey(&wk[i], &v);
		wvk_text[i] = rp_vkey_format(&v);
	}
	return logvk_text ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(logvk_text);
	for (int i = 0; i < NWIT; i++)
		free(wvk_text[i]);
	return 0;
}

/* ---- builders ---- */

/* A checkpoint text of the test log at size with a root derived from it. */
static char *cp_text(uint64_t size)
{
	struct rp_checkpoint c;
	char *t;

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, ORIGIN);
	c.size = size;
	rp_sha256(&size, sizeof(size), c.root);
	t = rp_checkpoint_format(&c, NULL);
	assert_non_null(t);
	return t;
}

struct cs {
	int w; /* witness index */
	int64_t t;
};

/* text, a blank line, the log signature (when logsig), then cosignatures. */
static char *make_note(const char *text, bool logsig, const struct cs *c, size_t nc)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, text);
	rp_sb_put(&sb, "\n", 1);
	if (logsig) {
		char *l = rp_note_sign_line(text, strlen(text), &logk);
		assert_non_null(l);
		rp_sb_puts(&sb, l);
		free(l);
	}
	for (size_t i = 0; i < nc; i++) {
		char *l = rp_cosig_sign_line(text, strlen(text), &wk[c[i].w], (uint64_t)c[i].t);
		assert_non_null(l);
		rp_sb_puts(&sb, l);
		free(l);
	}
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

/* Expands $L (log vkey) and $1..$6 (witness vkeys) in a policy template. */
static char *expand(const char *tmpl)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 1 << 20);
	for (const char *p = tmpl; *p; p++) {
		if (*p == '$' && p[1] == 'L') {
			rp_sb_puts(&sb, logvk_text);
			p++;
		} else if (*p == '$' && p[1] >= '1' && p[1] <= '0' + NWIT) {
			rp_sb_puts(&sb, wvk_text[p[1] - '1']);
			p++;
		} else {
			rp_sb_put(&sb, p, 1);
		}
	}
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

/* Feeds the lines of an (expanded) template, then finishes: first error. */
static int wp_parse(const char *tmpl, struct rp_wpolicy *wp, struct rp_diag *d)
{
	char *text = expand(tmpl);
	const char *p = text;
	int r = 0;

	memset(wp, 0, sizeof(*wp));
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		r = rp_wpolicy_line(wp, p, (size_t)(nl - p), d);
		if (r < 0)
			break;
		p = nl + 1;
	}
	if (r == 0)
		r = rp_wpolicy_finish(wp, d);
	free(text);
	return r;
}

static void wp_ok(const char *tmpl, struct rp_wpolicy *wp)
{
	struct rp_diag d = {""};
	int r = wp_parse(tmpl, wp, &d);

	if (r != 0)
		fail_msg("policy rejected: %s (%s)", rp_strerror(r), d.msg);
}

static void wp_rejects(const char *tmpl, int want, const char *word)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};

	assert_int_equal(wp_parse(tmpl, &wp, &d), want);
	assert_diag_has(&d, word);
}

/* Two levels: top = all of (X = 2 of w1 w2 w3) and (Y = any of w4 w5). */
static const char nested_policy[] = "log $L\n"
				    "witness w1 $1\n"
				    "witness w2 $2\n"
				    "witness w3 $3\n"
				    "group X 2 w1 w2 w3\n"
				    "witness w4 $4\n"
				    "witness w5 $5\n"
				    "group Y any w4 w5\n"
				    "group top all X Y\n"
				    "quorum top\n";

static int verify_with(const char *tmpl, const struct cs *c, size_t nc, int64_t now,
		       int64_t freshness, int64_t *ret_newest)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};
	char *text = cp_text(42), *note = make_note(text, true, c, nc);
	int r;

	wp_ok(tmpl, &wp);
	r = rp_checkpoint_verify(&wp, note, strlen(note), now, freshness, SKEW, NULL, ret_newest,
				 &d);
	if (r != 0)
		assert_true(d.msg[0] != '\0');
	free(note);
	free(text);
	return r;
}

static int verify_nested(const struct cs *c, size_t nc)
{
	return verify_with(nested_policy, c, nc, NOW, FRESH, NULL);
}

/* ---- the Go vectors ---- */

static void vector_checkpoint_parses(void **state)
{
	struct rp_checkpoint c;
	uint8_t root[33];
	size_t len, rlen, flen;
	char *body = vec_read("note/checkpoint-body.txt", &len), *back;
	(void)state;

	assert_int_equal(rp_checkpoint_parse(body, len, &c, NULL), 0);
	assert_string_equal(c.origin, ORIGIN);
	assert_int_equal(c.size, 5);
	assert_int_equal(c.next, 0);
	assert_int_equal(rp_b64_decode(VEC_ROOT, strlen(VEC_ROOT), root, sizeof(root), &rlen), 0);
	assert_int_equal(rlen, 32);
	assert_memory_equal(c.root, root, 32);
	back = rp_checkpoint_format(&c, &flen);
	assert_non_null(back);
	assert_int_equal(flen, len);
	assert_memory_equal(back, body, len);
	free(back);
	free(body);
}

/* Go's cosignature (witness1, time 1700000000) verifies with witness1.vkey. */
static void vector_go_cosignature_verifies(void **state)
{
	struct rp_vkey w;
	struct rp_note *note = NULL;
	struct rp_diag d = {""};
	size_t len, wlen;
	char *buf = vec_read("note/checkpoint-cosigned.note", &len);
	char *wt = vec_read("note/witness1.vkey", &wlen);
	uint64_t t = 0;
	(void)state;

	assert_int_equal(rp_vkey_parse(wt, strcspn(wt, "\n"), &w, NULL), 0);
	assert_int_equal(w.type, RP_KEY_COSIGNATURE);
	assert_int_equal(rp_note_parse(buf, len, &note, NULL), 0);
	assert_int_equal(note->nsigs, 2);
	assert_int_equal(rp_cosig_verify(&w, note->msg, note->text_len, &note->sigs[1], &t, &d), 0);
	assert_int_equal(t, 1700000000);
	/* carol's line is not by the witness. */
	assert_int_equal(rp_cosig_verify(&w, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_NOTFOUND);
	/* Over another text it fails. */
	assert_int_equal(rp_cosig_verify(&w, "x\n1\n" VEC_ROOT "\n", strlen("x\n1\n" VEC_ROOT "\n"),
					 &note->sigs[1], &t, &d),
			 RP_E_BADSIG);
	rp_note_free(note);
	free(buf);
	free(wt);
}

/* Ed25519 is deterministic: our line equals Go's byte for byte, and so does the vkey. */
static void vector_cosignature_byte_identical(void **state)
{
	struct rp_skey k;
	struct rp_vkey v;
	struct rp_note *note = NULL;
	size_t len, wlen, blen;
	char *buf = vec_read("note/checkpoint-cosigned.note", &len);
	char *wt = vec_read("note/witness1.vkey", &wlen);
	char *body = vec_read("note/checkpoint-body.txt", &blen);
	char *line, *vt;
	(void)state;

	test_skey("witness1.example", 0x44, &k);
	line = rp_cosig_sign_line(body, blen, &k, 1700000000);
	assert_non_null(line);
	assert_int_equal(rp_note_parse(buf, len, &note, NULL), 0);
	assert_int_equal(strlen(line), note->sigs[1].line_len);
	assert_memory_equal(line, note->sigs[1].line, note->sigs[1].line_len);
	rp_cosig_vkey(&k, &v);
	vt = rp_vkey_format(&v);
	assert_non_null(vt);
	assert_int_equal(strlen(vt), strcspn(wt, "\n"));
	assert_memory_equal(vt, wt, strlen(vt));
	free(vt);
	free(line);
	rp_note_free(note);
	free(buf);
	free(wt);
	free(body);
	rp_skey_wipe(&k);
}

/*
 * The whole path with Go's cosignature line: our log key (named as the
 * origin) signs the vector's checkpoint text, Go's witness line follows.
 */
static void vector_checkpoint_verify_with_go_cosignature(void **state)
{
	struct rp_wpolicy wp;
	struct rp_note *note = NULL;
	struct rp_checkpoint c;
	struct rp_diag d = {""};
	size_t len;
	char *buf = vec_read("note/checkpoint-cosigned.note", &len);
	char *logline = rp_note_sign_line(VEC_TEXT, strlen(VEC_TEXT), &logk);
	char *n1, *n2;
	int64_t newest = 0;
	(void)state;

	assert_int_equal(rp_note_parse(buf, len, &note, NULL), 0);
	n1 = concat(VEC_TEXT "\n", logline);
	n2 = concat(n1, sig_block(buf) + note->sigs[0].line_len);
	wp_ok("log $L\nwitness w1 $1\nquorum w1\n", &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, n2, strlen(n2), NOW + 10, FRESH, SKEW, &c, &newest, &d),
		0);
	assert_int_equal(newest, 1700000000);
	assert_int_equal(c.size, 5);
	/* An hour and a bit later it is stale. */
	assert_int_equal(rp_checkpoint_verify(&wp, n2, strlen(n2), NOW + FRESH + 1, FRESH, SKEW,
					      NULL, NULL, &d),
			 RP_E_STALE);
	/* carol's note as is: carol is not the log key, so no log signature. */
	assert_int_equal(rp_checkpoint_verify(&wp, buf, len, NOW, FRESH, SKEW, NULL, NULL, &d),
			 RP_E_NOSIG);
	free(n1);
	free(n2);
	free(logline);
	rp_note_free(note);
	free(buf);
}

/* ---- checkpoint texts ---- */

static void cp_rejects(const char *text, size_t len, int want, const char *word)
{
	struct rp_checkpoint c;
	struct rp_diag d = {""};

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(rp_checkpoint_parse(text, len, &c, &d), want);
	assert_diag_has(&d, word);
	/* Nothing written on failure. */
	for (size_t i = 0; i < sizeof(c); i++)
		assert_int_equal(((uint8_t *)&c)[i], 0xa5);
}

#define CP_REJECTS(lit, want, word) cp_rejects(lit, sizeof(lit) - 1, want, word)

static void cp_missing_size(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n", RP_E_MALFORMED, "missing tree size");
}

static void cp_missing_root(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\n", RP_E_MALFORMED, "missing root");
}

static void cp_size_leading_zero(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n05\n" VEC_ROOT "\n", RP_E_MALFORMED, "`05'");
}

static void cp_size_empty(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n\n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
}

static void cp_size_signed(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n+5\n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
	CP_REJECTS(ORIGIN "\n-5\n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
}

static void cp_size_with_space(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5 \n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
}

/* Go parses sizes as int64: 2^63 is refused, 2^63 - 1 accepted. */
static void cp_size_beyond_int64(void **state)
{
	struct rp_checkpoint c;
	static const char ok[] = ORIGIN "\n9223372036854775807\n" VEC_ROOT "\n";
	(void)state;

	CP_REJECTS(ORIGIN "\n9223372036854775808\n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
	CP_REJECTS(ORIGIN "\n18446744073709551616\n" VEC_ROOT "\n", RP_E_MALFORMED, "tree size");
	assert_int_equal(rp_checkpoint_parse(ok, sizeof(ok) - 1, &c, NULL), 0);
	assert_int_equal(c.size, INT64_MAX);
}

static void cp_size_zero(void **state)
{
	struct rp_checkpoint c;
	static const char t[] = ORIGIN "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	(void)state;

	assert_int_equal(rp_checkpoint_parse(t, sizeof(t) - 1, &c, NULL), 0);
	assert_int_equal(c.size, 0);
}

static void cp_root_31_bytes(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\nQ0QkLjlvrHKBsoDqjDGh2a09Ef3uMrKuSCXXZ1OmjA==\n", RP_E_MALFORMED,
		   "root hash");
}

static void cp_root_33_bytes(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\nQ0QkLjlvrHKBsoDqjDGh2a09Ef3uMrKuSCXXZ1OmjD4A\n", RP_E_MALFORMED,
		   "root hash");
}

/* Padding bits set: decodes to the same bytes under a lax decoder. */
static void cp_root_noncanonical_base64(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\nQ0QkLjlvrHKBsoDqjDGh2a09Ef3uMrKuSCXXZ1OmjD5=\n", RP_E_MALFORMED,
		   "canonical");
}

static void cp_root_unpadded(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\nQ0QkLjlvrHKBsoDqjDGh2a09Ef3uMrKuSCXXZ1OmjD4\n", RP_E_MALFORMED,
		   "root hash");
}

static void cp_root_url_safe_alphabet(void **state)
{
	(void)state;
	/* 32 bytes of 0xfb are "+/v7..." in standard base64. */
	CP_REJECTS(ORIGIN "\n5\n-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s=\n", RP_E_MALFORMED,
		   "root hash");
}

static void cp_empty_origin(void **state)
{
	(void)state;
	CP_REJECTS("\n5\n" VEC_ROOT "\n", RP_E_MALFORMED, "origin");
}

static void cp_origin_non_ascii(void **state)
{
	(void)state;
	CP_REJECTS("ex\xc3\xa4mple.com/log\n5\n" VEC_ROOT "\n", RP_E_MALFORMED, "printable");
}

static void cp_origin_too_long(void **state)
{
	char t[RP_ORIGIN_MAX + 100];
	(void)state;

	memset(t, 'a', RP_ORIGIN_MAX + 1);
	strcpy(t + RP_ORIGIN_MAX + 1, "\n5\n" VEC_ROOT "\n");
	cp_rejects(t, strlen(t), RP_E_MALFORMED, "origin");
	/* RP_ORIGIN_MAX itself is fine. */
	struct rp_checkpoint c;
	memmove(t, t + 1, strlen(t));
	assert_int_equal(rp_checkpoint_parse(t, strlen(t), &c, NULL), 0);
	assert_int_equal(strlen(c.origin), RP_ORIGIN_MAX);
}

static void cp_carriage_return(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\r\n5\n" VEC_ROOT "\n", RP_E_MALFORMED, "control");
}

static void cp_no_trailing_newline(void **state)
{
	(void)state;
	CP_REJECTS(ORIGIN "\n5\n" VEC_ROOT, RP_E_MALFORMED, "newline");
}

static void cp_empty_extension_line(void **state)
{
	(void)state;
	CP_REJECTS(VEC_TEXT "\nmore\n", RP_E_MALFORMED, "extension line 1 is empty");
}

static void cp_extension_lines_counted(void **state)
{
	struct rp_checkpoint c;
	static const char t[] = VEC_TEXT "ext one\n\xe2\x80\x94 opaque\n";
	char *back;
	(void)state;

	assert_int_equal(rp_checkpoint_parse(t, sizeof(t) - 1, &c, NULL), 0);
	assert_int_equal(c.next, 2);
	assert_int_equal(c.size, 5);
	/* Rampart writes none. */
	back = rp_checkpoint_format(&c, NULL);
	assert_string_equal(back, VEC_TEXT);
	free(back);
}

static void cp_too_many_extension_lines(void **state)
{
	struct rp_checkpoint c;
	struct rp_sb sb;
	char *t;
	(void)state;

	rp_sb_init(&sb, 4096);
	rp_sb_puts(&sb, VEC_TEXT);
	for (int i = 0; i < RP_CHECKPOINT_EXT_MAX; i++)
		rp_sb_printf(&sb, "ext %d\n", i);
	t = rp_sb_take(&sb, NULL);
	assert_int_equal(rp_checkpoint_parse(t, strlen(t), &c, NULL), 0);
	assert_int_equal(c.next, RP_CHECKPOINT_EXT_MAX);
	char *t2 = concat(t, "one too many\n");
	cp_rejects(t2, strlen(t2), RP_E_TOOBIG, "extension lines");
	free(t2);
	free(t);
}

static void cp_oversize(void **state)
{
	size_t n = RP_CHECKPOINT_MAX + 1;
	char *t = malloc(n);
	(void)state;

	memset(t, 'a', n);
	memcpy(t, VEC_TEXT, strlen(VEC_TEXT));
	t[n - 1] = '\n';
	cp_rejects(t, n, RP_E_TOOBIG, "more than");
	free(t);
}

static void cp_format_round_trip(void **state)
{
	struct rp_checkpoint c, c2;
	char *t;
	size_t len;
	(void)state;

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, "rampart.example/rampart/acme");
	c.size = 1234567;
	memset(c.root, 0xfb, sizeof(c.root));
	t = rp_checkpoint_format(&c, &len);
	assert_non_null(t);
	assert_int_equal(len, strlen(t));
	assert_int_equal(rp_checkpoint_parse(t, len, &c2, NULL), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	free(t);
}

/* rp_checkpoint_format never writes what rp_checkpoint_parse would refuse. */
static void cp_format_refuses_unparsable(void **state)
{
	struct rp_checkpoint c;
	(void)state;

	memset(&c, 0, sizeof(c));
	assert_null(rp_checkpoint_format(&c, NULL)); /* empty origin */
	strcpy(c.origin, "a\nb");
	assert_null(rp_checkpoint_format(&c, NULL));
	strcpy(c.origin, ORIGIN);
	c.size = (uint64_t)INT64_MAX + 1;
	assert_null(rp_checkpoint_format(&c, NULL));
}

/* ---- cosignatures ---- */

static void cosig_vkey_type_and_id(void **state)
{
	struct rp_vkey v, p;
	(void)state;

	rp_cosig_vkey(&wk[1], &v);
	assert_int_equal(v.type, RP_KEY_COSIGNATURE);
	assert_string_equal(v.name, "witness2.example");
	assert_int_equal(v.id, rp_key_id(v.name, strlen(v.name), 0x04, wk[1].pub));
	assert_true(v.id != wk[1].id);
	assert_int_equal(rp_vkey_parse(wvk_text[1], strlen(wvk_text[1]), &p, NULL), 0);
	assert_memory_equal(&p, &v, sizeof(v));
}

static int sign_and_verify(const char *text, uint64_t t, uint64_t *ret_t)
{
	struct rp_note *note = NULL;
	struct rp_vkey v;
	char *line = rp_cosig_sign_line(text, strlen(text), &wk[0], t);
	char *n = concat(text, "\n");
	char *m = concat(n, line);
	int r;

	assert_int_equal(rp_note_parse(m, strlen(m), &note, NULL), 0);
	rp_cosig_vkey(&wk[0], &v);
	r = rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], ret_t, NULL);
	rp_note_free(note);
	free(m);
	free(n);
	free(line);
	return r;
}

static void cosig_round_trip_times(void **state)
{
	uint64_t t = 1;
	(void)state;

	assert_int_equal(sign_and_verify(VEC_TEXT, 0, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sign_and_verify(VEC_TEXT, INT64_MAX, &t), 0);
	assert_int_equal(t, INT64_MAX);
}

/* tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1. */
static void cosig_sign_refuses_time_beyond_int64(void **state)
{
	(void)state;
	assert_null(
		rp_cosig_sign_line(VEC_TEXT, strlen(VEC_TEXT), &wk[0], (uint64_t)INT64_MAX + 1));
}

/* A hand-made line by witness1 whose time field says 2^63: rejected. */
static void cosig_verify_time_beyond_int64(void **state)
{
	struct rp_note_sig s;
	struct rp_vkey v;
	uint64_t t;
	(void)state;

	rp_cosig_vkey(&wk[0], &v);
	memset(&s, 0, sizeof(s));
	strcpy(s.name, v.name);
	s.id = v.id;
	s.sig_len = 72;
	s.sig[0] = 0x80;
	assert_int_equal(rp_cosig_verify(&v, VEC_TEXT, strlen(VEC_TEXT), &s, &t, NULL),
			 RP_E_BADSIG);
}

static void cosig_verify_not_by_key(void **state)
{
	struct rp_note *note = NULL;
	struct rp_vkey v;
	char *line = rp_cosig_sign_line(VEC_TEXT, strlen(VEC_TEXT), &wk[0], NOW);
	char *m = concat(VEC_TEXT "\n", line);
	uint64_t t = 7;
	(void)state;

	assert_int_equal(rp_note_parse(m, strlen(m), &note, NULL), 0);
	/* Other key: other name and id. */
	rp_cosig_vkey(&wk[1], &v);
	assert_int_equal(rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_NOTFOUND);
	/* Same key, other name (so other id too). */
	rp_cosig_vkey(&wk[0], &v);
	strcpy(v.name, "witness1.other");
	assert_int_equal(rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_NOTFOUND);
	/* Same name, other id. */
	rp_cosig_vkey(&wk[0], &v);
	v.id ^= 1;
	assert_int_equal(rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_NOTFOUND);
	assert_int_equal(t, 7); /* untouched */
	rp_note_free(note);
	free(m);
	free(line);
}

/* A plain note signature (64 bytes) under the cosigner's name and id. */
static void cosig_verify_wrong_length(void **state)
{
	struct rp_note_sig s;
	struct rp_vkey v;
	struct rp_diag d = {""};
	uint64_t t;
	(void)state;

	rp_cosig_vkey(&wk[0], &v);
	memset(&s, 0, sizeof(s));
	strcpy(s.name, v.name);
	s.id = v.id;
	s.sig_len = 64;
	assert_int_equal(rp_cosig_verify(&v, VEC_TEXT, strlen(VEC_TEXT), &s, &t, &d), RP_E_BADSIG);
	assert_diag_has(&d, "bytes");
}

/* The time is signed: changing it in the line breaks the signature. */
static void cosig_verify_time_changed(void **state)
{
	struct rp_note *note = NULL;
	struct rp_vkey v;
	char *line = rp_cosig_sign_line(VEC_TEXT, strlen(VEC_TEXT), &wk[0], NOW);
	char *m = concat(VEC_TEXT "\n", line);
	uint64_t t;
	(void)state;

	assert_int_equal(rp_note_parse(m, strlen(m), &note, NULL), 0);
	note->sigs[0].sig[7] ^= 1;
	rp_cosig_vkey(&wk[0], &v);
	assert_int_equal(rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_BADSIG);
	rp_note_free(note);
	free(m);
	free(line);
}

/* A cosignature is not a note signature: the 0x01 key with the same seed ignores it. */
static void cosig_is_not_a_note_signature(void **state)
{
	struct rp_note *note = NULL;
	struct rp_vkey v;
	bool ok;
	char *line = rp_cosig_sign_line(VEC_TEXT, strlen(VEC_TEXT), &wk[0], NOW);
	char *m = concat(VEC_TEXT "\n", line);
	uint64_t t;
	(void)state;

	assert_int_equal(rp_note_parse(m, strlen(m), &note, NULL), 0);
	rp_skey_vkey(&wk[0], &v);
	assert_int_equal(rp_note_verify(note, &v, 1, &ok, NULL), RP_E_NOSIG);
	/* And an Ed25519 note key is refused as a cosigner key. */
	assert_int_equal(rp_cosig_verify(&v, note->msg, note->text_len, &note->sigs[0], &t, NULL),
			 RP_E_INVAL);
	rp_note_free(note);
	free(m);
	free(line);
}

/* ---- add-checkpoint requests ---- */

static void wreq_rejects(const char *body, size_t len, int want, const char *word)
{
	struct rp_witness_req r;
	struct rp_diag d = {""};

	memset(&r, 0, sizeof(r));
	assert_int_equal(rp_witness_req_parse(body, len, &r, &d), want);
	assert_null(r.note);
	assert_diag_has(&d, word);
}

#define WREQ_REJECTS(lit, want, word) wreq_rejects(lit, sizeof(lit) - 1, want, word)

/* The example body of tlog-witness.md, verbatim (signatures not checked). */
#define SPEC_CP                                                                         \
	"example.com/behind-the-sofa\n"                                                 \
	"20852163\n"                                                                    \
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"                                \
	"\n" EM_DASH " example.com/behind-the-sofa "                                    \
	"Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"                     \
	"Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n" EM_DASH " example.com/behind-the-sofa " \
	"opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/"                  \
	"V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
#define SPEC_PROOF                                       \
	"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n" \
	"jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n" \
	"5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n" \
	"/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
#define SPEC_BODY "old 20852014\n" SPEC_PROOF "\n" SPEC_CP

static void wreq_spec_example(void **state)
{
	static const char body[] = SPEC_BODY;
	struct rp_witness_req r;
	struct rp_diag d = {""};
	uint8_t h[33];
	size_t hl;
	char *back;
	size_t blen;
	(void)state;

	assert_int_equal(rp_witness_req_parse(body, sizeof(body) - 1, &r, &d), 0);
	assert_int_equal(r.old_size, 20852014);
	assert_int_equal(r.nproof, 4);
	assert_int_equal(rp_b64_decode("/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=", 44, h,
				       sizeof(h), &hl),
			 0);
	assert_memory_equal(r.proof[3], h, 32);
	assert_non_null(r.note);
	assert_int_equal(r.note->nsigs, 2);
	assert_string_equal(r.cp.origin, "example.com/behind-the-sofa");
	assert_int_equal(r.cp.size, 20852163);
	back = rp_witness_req_format(r.old_size, (const uint8_t(*)[32])r.proof, r.nproof,
				     r.note->msg, r.note->msg_len, &blen);
	assert_non_null(back);
	assert_int_equal(blen, sizeof(body) - 1);
	assert_memory_equal(back, body, blen);
	free(back);
	rp_witness_req_release(&r);
	assert_null(r.note);
	rp_witness_req_release(&r); /* twice is harmless */
}

static void wreq_round_trip_signed(void **state)
{
	uint8_t proof[3][32];
	struct rp_witness_req r;
	char *text = cp_text(7), *note = make_note(text, true, NULL, 0);
	char *body;
	size_t blen;
	(void)state;

	for (int i = 0; i < 3; i++)
		memset(proof[i], 0x10 * (i + 1), 32);
	body = rp_witness_req_format(3, (const uint8_t(*)[32])proof, 3, note, strlen(note), &blen);
	assert_non_null(body);
	assert_int_equal(rp_witness_req_parse(body, blen, &r, NULL), 0);
	assert_int_equal(r.old_size, 3);
	assert_int_equal(r.nproof, 3);
	assert_memory_equal(r.proof, proof, sizeof(proof));
	assert_int_equal(r.cp.size, 7);
	assert_int_equal(r.note->msg_len, strlen(note));
	rp_witness_req_release(&r);
	free(body);
	free(note);
	free(text);
}

static void wreq_old_zero_empty_proof(void **state)
{
	static const char body[] = "old 0\n\n" SPEC_CP;
	struct rp_witness_req r;
	(void)state;

	assert_int_equal(rp_witness_req_parse(body, sizeof(body) - 1, &r, NULL), 0);
	assert_int_equal(r.old_size, 0);
	assert_int_equal(r.nproof, 0);
	rp_witness_req_release(&r);
}

static void wreq_missing_old_line(void **state)
{
	(void)state;
	WREQ_REJECTS(SPEC_PROOF "\n" SPEC_CP, RP_E_MALFORMED, "line 1");
	WREQ_REJECTS("\n" SPEC_CP, RP_E_MALFORMED, "old <size>");
}

static void wreq_empty_body(void **state)
{
	(void)state;
	wreq_rejects("", 0, RP_E_MALFORMED, "missing");
}

static void wreq_old_leading_zero(void **state)
{
	(void)state;
	WREQ_REJECTS("old 020852014\n" SPEC_PROOF "\n" SPEC_CP, RP_E_MALFORMED, "`020852014'");
	WREQ_REJECTS("old 00\n\n" SPEC_CP, RP_E_MALFORMED, "leading zeros");
}

static void wreq_old_malformed(void **state)
{
	(void)state;
	WREQ_REJECTS("old  5\n\n" SPEC_CP, RP_E_MALFORMED, "old size");
	WREQ_REJECTS("old 5 \n\n" SPEC_CP, RP_E_MALFORMED, "old size");
	WREQ_REJECTS("Old 5\n\n" SPEC_CP, RP_E_MALFORMED, "old <size>");
	WREQ_REJECTS("old\n\n" SPEC_CP, RP_E_MALFORMED, "old <size>");
	WREQ_REJECTS("old -1\n\n" SPEC_CP, RP_E_MALFORMED, "old size");
	WREQ_REJECTS("old 9223372036854775808\n\n" SPEC_CP, RP_E_MALFORMED, "old size");
}

static char *body_with_proofs(size_t n)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 1 << 20);
	rp_sb_puts(&sb, "old 1\n");
	for (size_t i = 0; i < n; i++)
		rp_sb_puts(&sb, "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n");
	rp_sb_puts(&sb, "\n" SPEC_CP);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

static void wreq_63_proof_lines(void **state)
{
	struct rp_witness_req r;
	char *b = body_with_proofs(63);
	(void)state;

	assert_int_equal(rp_witness_req_parse(b, strlen(b), &r, NULL), 0);
	assert_int_equal(r.nproof, 63);
	rp_witness_req_release(&r);
	free(b);
}

static void wreq_64_proof_lines(void **state)
{
	char *b = body_with_proofs(64);
	(void)state;

	wreq_rejects(b, strlen(b), RP_E_TOOBIG, "line 65");
	free(b);
}

static void wreq_bad_base64_line(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\nnot base64!\n\n" SPEC_CP,
		     RP_E_MALFORMED, "line 3");
}

static void wreq_proof_noncanonical(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkax=\n\n" SPEC_CP,
		     RP_E_MALFORMED, "canonical");
}

static void wreq_proof_not_32_bytes(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkQ==\n\n" SPEC_CP,
		     RP_E_MALFORMED, "32 bytes");
	WREQ_REJECTS("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw= \n\n" SPEC_CP,
		     RP_E_MALFORMED, "line 2");
}

/* Without the empty line the checkpoint's origin is read as a proof line. */
static void wreq_no_blank_line(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\n" SPEC_PROOF, RP_E_MALFORMED, "no empty line");
	WREQ_REJECTS("old 1\n" SPEC_PROOF SPEC_CP, RP_E_MALFORMED, "line 6");
}

static void wreq_unterminated_line(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=", RP_E_MALFORMED,
		     "newline");
	WREQ_REJECTS("old 1", RP_E_MALFORMED, "missing");
}

static void wreq_no_checkpoint(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\n\n", RP_E_MALFORMED, "no checkpoint");
}

static void wreq_checkpoint_unsigned(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\n\n" VEC_TEXT, RP_E_MALFORMED, "blank line");
	WREQ_REJECTS("old 1\n\n" VEC_TEXT "\n", RP_E_MALFORMED, "no signature");
}

static void wreq_not_a_checkpoint(void **state)
{
	(void)state;
	WREQ_REJECTS("old 1\n\nexample.com/log\n05\n" VEC_ROOT "\n\n" EM_DASH " x AAAAAAAA\n",
		     RP_E_MALFORMED, "tree size");
}

static void wreq_oversize(void **state)
{
	size_t n = RP_WITNESS_REQUEST_MAX + 1;
	char *b = malloc(n);
	(void)state;

	memset(b, '\n', n);
	wreq_rejects(b, n, RP_E_TOOBIG, "more than");
	free(b);
}

/* A request within its cap whose checkpoint alone is over RP_CHECKPOINT_MAX. */
static void wreq_checkpoint_oversize(void **state)
{
	size_t n = RP_CHECKPOINT_MAX + 100;
	char *b = malloc(n);
	(void)state;

	memset(b, 'a', n);
	memcpy(b, "old 1\n\n", 7);
	wreq_rejects(b, n, RP_E_TOOBIG, "checkpoint is");
	free(b);
}

static void wreq_format_too_many_proofs(void **state)
{
	static uint8_t proof[64][32];
	(void)state;

	assert_null(rp_witness_req_format(1, (const uint8_t(*)[32])proof, 64, SPEC_CP,
					  strlen(SPEC_CP), NULL));
}

/* ---- tlog-policy lines ---- */

static void wp_spec_example(void **state)
{
	struct rp_wpolicy wp, wp2;
	struct rp_sb sb, sb2;
	(void)state;

	wp_ok(nested_policy, &wp);
	assert_true(wp.have_log);
	assert_int_equal(wp.nwitnesses, 5);
	assert_int_equal(wp.ngroups, 3);
	assert_int_equal(wp.groups[0].threshold, 2);
	assert_int_equal(wp.groups[1].threshold, 1);
	assert_int_equal(wp.groups[2].threshold, 2);
	assert_int_equal(wp.groups[2].nmembers, 2);
	assert_int_equal(wp.groups[2].members[0], RP_POLICY_WITNESSES_MAX + 0);
	assert_int_equal(wp.groups[2].members[1], RP_POLICY_WITNESSES_MAX + 1);
	assert_int_equal(wp.quorum, RP_POLICY_WITNESSES_MAX + 2);
	assert_string_equal(wp.log.name, ORIGIN);
	/* Canonical text: witnesses before groups; it parses to the same text again. */
	rp_sb_init(&sb, 1 << 16);
	rp_wpolicy_format(&wp, &sb);
	assert_int_equal(sb.err, 0);
	assert_int_equal(wp_parse(sb.s, &wp2, NULL), 0);
	rp_sb_init(&sb2, 1 << 16);
	rp_wpolicy_format(&wp2, &sb2);
	assert_string_equal(sb.s, sb2.s);
	assert_non_null(strstr(sb.s, "group X 2 w1 w2 w3\n"));
	assert_non_null(strstr(sb.s, "group Y any w4 w5\n"));
	assert_non_null(strstr(sb.s, "group top all X Y\nquorum top\n"));
	rp_sb_release(&sb);
	rp_sb_release(&sb2);
}

static void wp_urls(void **state)
{
	struct rp_wpolicy wp;
	struct rp_sb sb;
	char *want;
	(void)state;

	wp_ok("log $L https://rampart.example/log/acme\n"
	      "witness w1 $1 https://w1.example/\n"
	      "quorum w1\n",
	      &wp);
	assert_string_equal(wp.log_url, "https://rampart.example/log/acme");
	assert_string_equal(wp.witnesses[0].url, "https://w1.example/");
	rp_sb_init(&sb, 1 << 16);
	rp_wpolicy_format(&wp, &sb);
	want = expand("log $L https://rampart.example/log/acme\n"
		      "witness w1 $1 https://w1.example/\n"
		      "quorum w1\n");
	assert_string_equal(sb.s, want);
	free(want);
	rp_sb_release(&sb);
}

static void wp_url_too_long(void **state)
{
	char tmpl[RP_URL_MAX + 100];
	(void)state;

	strcpy(tmpl, "log $L https://");
	size_t o = strlen(tmpl);
	memset(tmpl + o, 'a', RP_URL_MAX);
	strcpy(tmpl + o + RP_URL_MAX, "\nquorum none\n");
	wp_rejects(tmpl, RP_E_MALFORMED, "URL");
}

static void wp_quorum_none(void **state)
{
	struct rp_wpolicy wp;
	(void)state;

	wp_ok("log $L\nquorum none\n", &wp);
	assert_int_equal(wp.quorum, -1);
	assert_int_equal(wp.nwitnesses, 0);
}

static void wp_canonical_thresholds(void **state)
{
	struct rp_wpolicy wp;
	struct rp_sb sb;
	(void)state;

	wp_ok("log $L\nwitness a $1\nwitness b $2\ngroup g 2 a b\ngroup h 1 a b\n"
	      "group i 1 g\nquorum i\n",
	      &wp);
	rp_sb_init(&sb, 1 << 16);
	rp_wpolicy_format(&wp, &sb);
	assert_non_null(strstr(sb.s, "group g all a b\n"));
	assert_non_null(strstr(sb.s, "group h any a b\n"));
	assert_non_null(strstr(sb.s, "group i all g\n"));
	rp_sb_release(&sb);
}

static void wp_duplicate_witness_key(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nwitness w2 $1\nquorum w1\n", RP_E_MALFORMED,
		   "same key as witness w1");
}

/* tlog-policy: duplicates wrap the same public key, whatever name the vkey gives. */
static void wp_duplicate_witness_key_other_vkey_name(void **state)
{
	struct rp_vkey v;
	char tmpl[1024], *vt;
	(void)state;

	rp_cosig_vkey(&wk[0], &v);
	strcpy(v.name, "another.name");
	v.id = rp_key_id(v.name, strlen(v.name), RP_KEY_COSIGNATURE, v.pub);
	vt = rp_vkey_format(&v);
	snprintf(tmpl, sizeof(tmpl), "log $L\nwitness w1 $1\nwitness w2 %s\nquorum w1\n", vt);
	wp_rejects(tmpl, RP_E_MALFORMED, "same key");
	free(vt);
}

static void wp_duplicate_name(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nwitness w1 $2\nquorum w1\n", RP_E_MALFORMED,
		   "`w1' is defined twice");
}

static void wp_group_name_is_witness_name(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup w1 any w1\nquorum w1\n", RP_E_MALFORMED,
		   "defined twice");
}

static void wp_group_undefined_member(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g any w1 w9\nquorum g\n", RP_E_MALFORMED,
		   "`w9' is not defined");
}

static void wp_group_later_name(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g any w1 w2\nwitness w2 $2\nquorum g\n",
		   RP_E_MALFORMED, "`w2' is not defined on an earlier line");
}

static void wp_group_references_itself(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g any w1 g\nquorum g\n", RP_E_MALFORMED,
		   "`g' is not defined");
}

static void wp_group_member_twice(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nwitness w2 $2\ngroup g 2 w1 w2 w1\nquorum g\n",
		   RP_E_MALFORMED, "lists `w1' twice");
}

static void wp_group_k_zero(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g 0 w1\nquorum g\n", RP_E_MALFORMED,
		   "threshold `0'");
}

static void wp_group_k_above_n(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nwitness w2 $2\ngroup g 3 w1 w2\nquorum g\n",
		   RP_E_MALFORMED, "threshold `3'");
}

static void wp_group_k_malformed(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g 01 w1\nquorum g\n", RP_E_MALFORMED,
		   "threshold `01'");
	wp_rejects("log $L\nwitness w1 $1\ngroup g ALL w1\nquorum g\n", RP_E_MALFORMED,
		   "threshold `ALL'");
	wp_rejects("log $L\nwitness w1 $1\ngroup g -1 w1\nquorum g\n", RP_E_MALFORMED, "threshold");
}

static void wp_group_no_members(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g any\nquorum w1\n", RP_E_MALFORMED, "expected");
}

static void wp_none_as_member(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\ngroup g any w1 none\nquorum g\n", RP_E_MALFORMED,
		   "`none' cannot be a group member");
}

static void wp_none_as_name(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness none $1\nquorum none\n", RP_E_MALFORMED, "reserved");
	wp_rejects("log $L\nwitness w1 $1\ngroup none any w1\nquorum none\n", RP_E_MALFORMED,
		   "reserved");
}

static void wp_quorum_missing(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\n", RP_E_MALFORMED, "missing quorum");
}

static void wp_two_quorum_lines(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nquorum w1\nquorum w1\n", RP_E_MALFORMED,
		   "after the quorum line");
}

static void wp_line_after_quorum(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nquorum w1\nwitness w2 $2\n", RP_E_MALFORMED,
		   "after the quorum line");
}

static void wp_quorum_undefined(void **state)
{
	(void)state;
	wp_rejects("log $L\nquorum w1\nwitness w1 $1\n", RP_E_MALFORMED,
		   "`w1' is not defined on an earlier line");
}

static void wp_quorum_extra_field(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $1\nquorum w1 w1\n", RP_E_MALFORMED, "quorum");
}

static void wp_log_missing(void **state)
{
	(void)state;
	wp_rejects("witness w1 $1\nquorum w1\n", RP_E_MALFORMED, "missing log");
}

static void wp_two_logs(void **state)
{
	(void)state;
	wp_rejects("log $L\nlog $L\nquorum none\n", RP_E_MALFORMED, "more than one log");
}

static void wp_log_key_type_04(void **state)
{
	(void)state;
	wp_rejects("log $1\nquorum none\n", RP_E_MALFORMED, "type 0x04, not 0x01");
}

static void wp_witness_key_type_01(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 $L\nquorum w1\n", RP_E_MALFORMED, "type 0x01, not 0x04");
}

/* The log cannot be its own witness, whichever line comes first. */
static void wp_witness_key_is_log_key(void **state)
{
	struct rp_skey s;
	struct rp_vkey v;
	char tmpl[1024], *vt;
	(void)state;

	test_skey("w.example", 0x55, &s); /* the log's seed */
	rp_cosig_vkey(&s, &v);
	vt = rp_vkey_format(&v);
	snprintf(tmpl, sizeof(tmpl), "log $L\nwitness w1 %s\nquorum w1\n", vt);
	wp_rejects(tmpl, RP_E_MALFORMED, "log's key");
	snprintf(tmpl, sizeof(tmpl), "witness w1 %s\nlog $L\nquorum w1\n", vt);
	wp_rejects(tmpl, RP_E_MALFORMED, "also the key of witness w1");
	free(vt);
}

static void wp_bad_vkey(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w1 witness1.example+00000000+BAAA\nquorum w1\n", RP_E_MALFORMED,
		   "witness key");
}

static void wp_bad_name(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitness w+1 $1\nquorum none\n", RP_E_MALFORMED, "valid name");
	wp_rejects("log $L\nwitness w\xc3\xa4 $1\nquorum none\n", RP_E_MALFORMED, "valid name");
}

static void wp_whitespace_not_canonical(void **state)
{
	(void)state;
	wp_rejects("log  $L\nquorum none\n", RP_E_MALFORMED, "empty field");
	wp_rejects("log $L \nquorum none\n", RP_E_MALFORMED, "empty field");
	wp_rejects(" log $L\nquorum none\n", RP_E_MALFORMED, "empty field");
	wp_rejects("log\t$L\nquorum none\n", RP_E_MALFORMED, "not log");
	wp_rejects("log $L\n\nquorum none\n", RP_E_MALFORMED, "empty field");
}

static void wp_unknown_keyword(void **state)
{
	(void)state;
	wp_rejects("log $L\nwitnesses w1 $1\nquorum none\n", RP_E_MALFORMED,
		   "`witnesses' is not log, witness, group or quorum");
}

static void wp_too_many_witnesses(void **state)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};
	char line[512];
	int r = 0;
	(void)state;

	memset(&wp, 0, sizeof(wp));
	for (int i = 0; i <= RP_POLICY_WITNESSES_MAX && r == 0; i++) {
		struct rp_skey s;
		struct rp_vkey v;
		char name[32], *vt;

		snprintf(name, sizeof(name), "w%d.example", i);
		test_skey(name, (uint8_t)(0x80 + i), &s);
		rp_cosig_vkey(&s, &v);
		vt = rp_vkey_format(&v);
		snprintf(line, sizeof(line), "witness w%d %s", i, vt);
		free(vt);
		r = rp_wpolicy_line(&wp, line, strlen(line), &d);
		if (i < RP_POLICY_WITNESSES_MAX)
			assert_int_equal(r, 0);
	}
	assert_int_equal(r, RP_E_TOOBIG);
	assert_int_equal(wp.nwitnesses, RP_POLICY_WITNESSES_MAX);
	assert_diag_has(&d, "more than");
}

/* A rejected line leaves the policy as it was. */
static void wp_failure_changes_nothing(void **state)
{
	struct rp_wpolicy wp, before;
	struct rp_diag d;
	char *line = expand("witness w3 $3");
	char *bad = expand("group g 3 w1 w2");
	(void)state;

	assert_int_equal(wp_parse("log $L\nwitness w1 $1\nwitness w2 $2\nquorum none\n", &wp, NULL),
			 0);
	wp.have_quorum = false; /* reopen for more lines */
	before = wp;
	assert_int_equal(rp_wpolicy_line(&wp, bad, strlen(bad), &d), RP_E_MALFORMED);
	assert_memory_equal(&wp, &before, sizeof(wp));
	assert_int_equal(rp_wpolicy_line(&wp, line, strlen(line), &d), 0);
	assert_int_equal(wp.nwitnesses, 3);
	free(line);
	free(bad);
}

/* ---- the quorum, through rp_checkpoint_verify ---- */

static void q_nested_met(void **state)
{
	const struct cs c[] = {{0, NOW}, {1, NOW - 10}, {3, NOW - 20}};
	int64_t newest = 0;
	(void)state;

	assert_int_equal(verify_with(nested_policy, c, 3, NOW, FRESH, &newest), 0);
	assert_int_equal(newest, NOW);
}

static void q_nested_inner_k_short(void **state)
{
	const struct cs c[] = {{0, NOW}, {3, NOW}, {4, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_WITNESS);
}

static void q_nested_other_branch_missing(void **state)
{
	const struct cs c[] = {{0, NOW}, {1, NOW}, {2, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_WITNESS);
}

static void q_nested_any_member(void **state)
{
	const struct cs c1[] = {{1, NOW}, {2, NOW}, {4, NOW}};
	const struct cs c2[] = {{0, NOW}, {2, NOW}, {3, NOW}, {4, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c1, 3), 0);
	assert_int_equal(verify_nested(c2, 4), 0);
}

static void q_no_cosignatures(void **state)
{
	(void)state;
	assert_int_equal(verify_nested(NULL, 0), RP_E_WITNESS);
}

static void q_single_witness(void **state)
{
	const struct cs c[] = {{1, NOW}};
	const struct cs c2[] = {{0, NOW}};
	(void)state;
	assert_int_equal(verify_with("log $L\nwitness w1 $1\nwitness w2 $2\nquorum w2\n", c, 1, NOW,
				     FRESH, NULL),
			 0);
	assert_int_equal(verify_with("log $L\nwitness w1 $1\nwitness w2 $2\nquorum w2\n", c2, 1,
				     NOW, FRESH, NULL),
			 RP_E_WITNESS);
}

static void q_all(void **state)
{
	static const char p[] = "log $L\nwitness a $1\nwitness b $2\nwitness c $3\n"
				"group g all a b c\nquorum g\n";
	const struct cs all3[] = {{0, NOW}, {1, NOW}, {2, NOW}};
	(void)state;
	assert_int_equal(verify_with(p, all3, 3, NOW, FRESH, NULL), 0);
	assert_int_equal(verify_with(p, all3, 2, NOW, FRESH, NULL), RP_E_WITNESS);
}

static void q_any(void **state)
{
	static const char p[] = "log $L\nwitness a $1\nwitness b $2\nwitness c $3\n"
				"group g any a b c\nquorum g\n";
	const struct cs one[] = {{2, NOW}};
	(void)state;
	assert_int_equal(verify_with(p, one, 1, NOW, FRESH, NULL), 0);
	assert_int_equal(verify_with(p, NULL, 0, NOW, FRESH, NULL), RP_E_WITNESS);
}

static void q_quorum_none(void **state)
{
	int64_t newest = 99;
	(void)state;
	assert_int_equal(verify_with("log $L\nquorum none\n", NULL, 0, NOW, FRESH, &newest), 0);
	assert_int_equal(newest, 0);
}

/* The same witness twice counts once: 2 of 3 is not met by w1 alone. */
static void q_duplicate_cosignature_counts_once(void **state)
{
	const struct cs c[] = {{0, NOW}, {0, NOW - 1}, {3, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_WITNESS);
}

/* witness6 is not in the policy: its (valid) cosignature is ignored. */
static void q_unlisted_witness_ignored(void **state)
{
	const struct cs c[] = {{0, NOW}, {5, NOW}, {3, NOW}};
	const struct cs c2[] = {{0, NOW}, {1, NOW}, {5, NOW}, {3, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_WITNESS);
	assert_int_equal(verify_nested(c2, 4), 0);
}

/* Garbage under an unknown name is ignored, as Go's note.Open does. */
static void q_unlisted_bad_cosignature_ignored(void **state)
{
	struct rp_wpolicy wp;
	const struct cs c[] = {{0, NOW}, {1, NOW}, {3, NOW}};
	char *text = cp_text(42), *note = make_note(text, true, c, 3);
	/* 72 zero bytes: the shape of a cosignature, verifying nothing. */
	char *m = concat(note, EM_DASH " stranger.example "
				       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	(void)state;

	wp_ok(nested_policy, &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, m, strlen(m), NOW, FRESH, SKEW, NULL, NULL, NULL), 0);
	free(m);
	free(note);
	free(text);
}

/* A listed witness's line that does not verify rejects, even with the quorum met. */
static void q_bad_cosignature_by_listed_witness_rejects(void **state)
{
	struct rp_wpolicy wp;
	struct rp_note *n = NULL;
	struct rp_diag d = {""};
	const struct cs c[] = {{0, NOW}, {1, NOW}, {3, NOW}, {4, NOW}};
	char *text = cp_text(42), *note = make_note(text, true, c, 4), *bad;
	(void)state;

	/* Flip one base64 character inside witness5's signature bytes. */
	assert_int_equal(rp_note_parse(note, strlen(note), &n, NULL), 0);
	bad = strdup(note);
	size_t off = (size_t)(n->sigs[4].line - n->msg) + n->sigs[4].line_len - 10;
	bad[off] = bad[off] == 'A' ? 'B' : 'A';
	wp_ok(nested_policy, &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, bad, strlen(bad), NOW, FRESH, SKEW, NULL, NULL, &d),
		RP_E_BADSIG);
	assert_diag_has(&d, "witness5.example");
	rp_note_free(n);
	free(bad);
	free(note);
	free(text);
}

/* A line under a listed witness's name but another key id is not that witness's. */
static void q_listed_name_other_keyid_ignored(void **state)
{
	struct rp_wpolicy wp;
	struct rp_skey other;
	const struct cs c[] = {{0, NOW}, {1, NOW}, {3, NOW}};
	char *text = cp_text(42), *note = make_note(text, true, c, 3), *line, *m;
	(void)state;

	test_skey("witness3.example", 0x99, &other);
	line = rp_cosig_sign_line(text, strlen(text), &other, NOW);
	m = concat(note, line);
	wp_ok(nested_policy, &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, m, strlen(m), NOW, FRESH, SKEW, NULL, NULL, NULL), 0);
	free(m);
	free(line);
	free(note);
	free(text);
}

/* Replaying witness1's cosignature of checkpoint 41 onto checkpoint 42. */
static void q_cosignature_over_other_checkpoint(void **state)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};
	const struct cs c[] = {{1, NOW}, {3, NOW}};
	char *t41 = cp_text(41), *t42 = cp_text(42);
	char *note = make_note(t42, true, c, 2);
	char *line = rp_cosig_sign_line(t41, strlen(t41), &wk[0], NOW);
	char *m = concat(note, line);
	(void)state;

	wp_ok(nested_policy, &wp);
	assert_int_equal(rp_checkpoint_verify(&wp, m, strlen(m), NOW, FRESH, SKEW, NULL, NULL, &d),
			 RP_E_BADSIG);
	assert_diag_has(&d, "witness1.example");
	free(m);
	free(line);
	free(note);
	free(t41);
	free(t42);
}

static void q_all_stale(void **state)
{
	const struct cs c[] = {{0, NOW - 7200}, {1, NOW - 7200}, {3, NOW - 7200}};
	int64_t newest = 5;
	(void)state;
	assert_int_equal(verify_with(nested_policy, c, 3, NOW, FRESH, &newest), RP_E_STALE);
	assert_int_equal(newest, 5); /* untouched */
}

/* Met only with w2's old cosignature: stale, not "not witnessed". */
static void q_partly_stale(void **state)
{
	const struct cs c[] = {{0, NOW}, {1, NOW - FRESH - 1}, {3, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_STALE);
}

/* Stale cosignatures that could not meet the quorum anyway: not witnessed. */
static void q_stale_and_short(void **state)
{
	const struct cs c[] = {{0, NOW - 7200}, {3, NOW - 7200}};
	(void)state;
	assert_int_equal(verify_nested(c, 2), RP_E_WITNESS);
}

/* A fresh cosignature beside an old one by the same witness counts. */
static void q_fresh_and_stale_same_witness(void **state)
{
	const struct cs c[] = {{0, NOW - 7200}, {0, NOW}, {1, NOW}, {3, NOW}};
	int64_t newest = 0;
	(void)state;
	assert_int_equal(verify_with(nested_policy, c, 4, NOW, FRESH, &newest), 0);
	assert_int_equal(newest, NOW);
}

static void q_freshness_boundary(void **state)
{
	const struct cs edge[] = {{0, NOW - FRESH}, {1, NOW - FRESH}, {3, NOW - FRESH}};
	const struct cs past[] = {{0, NOW - FRESH - 1}, {1, NOW - FRESH}, {3, NOW - FRESH}};
	int64_t newest = 0;
	(void)state;
	assert_int_equal(verify_with(nested_policy, edge, 3, NOW, FRESH, &newest), 0);
	assert_int_equal(newest, NOW - FRESH);
	assert_int_equal(verify_nested(past, 3), RP_E_STALE);
}

/* freshness 0: any time counts (auditors replaying history). */
static void q_freshness_zero_any_time(void **state)
{
	const struct cs c[] = {{0, 1000}, {1, 2000}, {3, 3000}};
	int64_t newest = 0;
	(void)state;
	assert_int_equal(verify_with(nested_policy, c, 3, NOW, 0, &newest), 0);
	assert_int_equal(newest, 3000);
}

/* Beyond the skew a cosignature is not counted, and not "stale" either. */
static void q_future_beyond_skew(void **state)
{
	const struct cs c[] = {{0, NOW}, {1, NOW + SKEW + 1}, {3, NOW}};
	(void)state;
	assert_int_equal(verify_nested(c, 3), RP_E_WITNESS);
}

static void q_future_within_skew(void **state)
{
	const struct cs c[] = {{0, NOW}, {1, NOW + SKEW}, {3, NOW}};
	int64_t newest = 0;
	(void)state;
	assert_int_equal(verify_with(nested_policy, c, 3, NOW, FRESH, &newest), 0);
	assert_int_equal(newest, NOW + SKEW);
}

static void q_log_signature_missing(void **state)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};
	const struct cs c[] = {{0, NOW}, {1, NOW}, {3, NOW}};
	char *text = cp_text(42), *note = make_note(text, false, c, 3);
	(void)state;

	wp_ok(nested_policy, &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, &d),
		RP_E_NOSIG);
	free(note);
	free(text);
}

static void q_log_signature_bad(void **state)
{
	struct rp_wpolicy wp;
	struct rp_note *n = NULL;
	const struct cs c[] = {{0, NOW}, {1, NOW}, {3, NOW}};
	char *text = cp_text(42), *note = make_note(text, true, c, 3);
	(void)state;

	assert_int_equal(rp_note_parse(note, strlen(note), &n, NULL), 0);
	size_t off = (size_t)(n->sigs[0].line - n->msg) + n->sigs[0].line_len - 10;
	note[off] = note[off] == 'A' ? 'B' : 'A';
	wp_ok(nested_policy, &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, NULL),
		RP_E_BADSIG);
	rp_note_free(n);
	free(note);
	free(text);
}

/* Signed by a key named as the origin but not the policy's log key. */
static void q_log_signature_by_other_key(void **state)
{
	struct rp_wpolicy wp;
	struct rp_skey impostor;
	char *text = cp_text(42), *line, *note;
	(void)state;

	test_skey(ORIGIN, 0x56, &impostor);
	line = rp_note_sign_line(text, strlen(text), &impostor);
	char *n1 = concat(text, "\n");
	note = concat(n1, line);
	wp_ok("log $L\nquorum none\n", &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, NULL),
		RP_E_NOSIG);
	free(n1);
	free(note);
	free(line);
	free(text);
}

/* A checkpoint of another log, validly signed by our log key: origin must match. */
static void q_origin_mismatch(void **state)
{
	struct rp_wpolicy wp;
	struct rp_diag d = {""};
	static const char text[] = "other.example/log\n5\n" VEC_ROOT "\n";
	char *note = make_note(text, true, NULL, 0);
	(void)state;

	wp_ok("log $L\nquorum none\n", &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, &d),
		RP_E_NOSIG);
	assert_diag_has(&d, "origin");
	free(note);
}

static void q_not_a_checkpoint(void **state)
{
	struct rp_wpolicy wp;
	static const char text[] = ORIGIN "\n05\n" VEC_ROOT "\n";
	char *note = make_note(text, true, NULL, 0);
	(void)state;

	wp_ok("log $L\nquorum none\n", &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, NULL),
		RP_E_MALFORMED);
	free(note);
}

static void q_oversize(void **state)
{
	struct rp_wpolicy wp;
	size_t n = RP_CHECKPOINT_MAX + 1;
	char *b = calloc(1, n);
	(void)state;

	wp_ok("log $L\nquorum none\n", &wp);
	assert_int_equal(rp_checkpoint_verify(&wp, b, n, NOW, FRESH, SKEW, NULL, NULL, NULL),
			 RP_E_TOOBIG);
	free(b);
}

/* Cosignatures cover extension lines too; the parsed checkpoint is returned. */
static void q_extension_lines_and_ret_cp(void **state)
{
	struct rp_wpolicy wp;
	struct rp_checkpoint c;
	static const char text[] = ORIGIN "\n5\n" VEC_ROOT "\nextension\n";
	const struct cs cs1[] = {{0, NOW}};
	char *note = make_note(text, true, cs1, 1);
	(void)state;

	wp_ok("log $L\nwitness w1 $1\nquorum w1\n", &wp);
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, &c, NULL, NULL), 0);
	assert_string_equal(c.origin, ORIGIN);
	assert_int_equal(c.size, 5);
	assert_int_equal(c.next, 1);
	free(note);
}

static void q_incomplete_policy(void **state)
{
	struct rp_wpolicy wp;
	char *text = cp_text(1), *note = make_note(text, true, NULL, 0);
	(void)state;

	memset(&wp, 0, sizeof(wp));
	assert_int_equal(
		rp_checkpoint_verify(&wp, note, strlen(note), NOW, FRESH, SKEW, NULL, NULL, NULL),
		RP_E_INVAL);
	free(note);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vector_checkpoint_parses),
		cmocka_unit_test(vector_go_cosignature_verifies),
		cmocka_unit_test(vector_cosignature_byte_identical),
		cmocka_unit_test(vector_checkpoint_verify_with_go_cosignature),
		cmocka_unit_test(cp_missing_size),
		cmocka_unit_test(cp_missing_root),
		cmocka_unit_test(cp_size_leading_zero),
		cmocka_unit_test(cp_size_empty),
		cmocka_unit_test(cp_size_signed),
		cmocka_unit_test(cp_size_with_space),
		cmocka_unit_test(cp_size_beyond_int64),
		cmocka_unit_test(cp_size_zero),
		cmocka_unit_test(cp_root_31_bytes),
		cmocka_unit_test(cp_root_33_bytes),
		cmocka_unit_test(cp_root_noncanonical_base64),
		cmocka_unit_test(cp_root_unpadded),
		cmocka_unit_test(cp_root_url_safe_alphabet),
		cmocka_unit_test(cp_empty_origin),
		cmocka_unit_test(cp_origin_non_ascii),
		cmocka_unit_test(cp_origin_too_long),
		cmocka_unit_test(cp_carriage_return),
		cmocka_unit_test(cp_no_trailing_newline),
		cmocka_unit_test(cp_empty_extension_line),
		cmocka_unit_test(cp_extension_lines_counted),
		cmocka_unit_test(cp_too_many_extension_lines),
		cmocka_unit_test(cp_oversize),
		cmocka_unit_test(cp_format_round_trip),
		cmocka_unit_test(cp_format_refuses_unparsable),
		cmocka_unit_test(cosig_vkey_type_and_id),
		cmocka_unit_test(cosig_round_trip_times),
		cmocka_unit_test(cosig_sign_refuses_time_beyond_int64),
		cmocka_unit_test(cosig_verify_time_beyond_int64),
		cmocka_unit_test(cosig_verify_not_by_key),
		cmocka_unit_test(cosig_verify_wrong_length),
		cmocka_unit_test(cosig_verify_time_changed),
		cmocka_unit_test(cosig_is_not_a_note_signature),
		cmocka_unit_test(wreq_spec_example),
		cmocka_unit_test(wreq_round_trip_signed),
		cmocka_unit_test(wreq_old_zero_empty_proof),
		cmocka_unit_test(wreq_missing_old_line),
		cmocka_unit_test(wreq_empty_body),
		cmocka_unit_test(wreq_old_leading_zero),
		cmocka_unit_test(wreq_old_malformed),
		cmocka_unit_test(wreq_63_proof_lines),
		cmocka_unit_test(wreq_64_proof_lines),
		cmocka_unit_test(wreq_bad_base64_line),
		cmocka_unit_test(wreq_proof_noncanonical),
		cmocka_unit_test(wreq_proof_not_32_bytes),
		cmocka_unit_test(wreq_no_blank_line),
		cmocka_unit_test(wreq_unterminated_line),
		cmocka_unit_test(wreq_no_checkpoint),
		cmocka_unit_test(wreq_checkpoint_unsigned),
		cmocka_unit_test(wreq_not_a_checkpoint),
		cmocka_unit_test(wreq_oversize),
		cmocka_unit_test(wreq_checkpoint_oversize),
		cmocka_unit_test(wreq_format_too_many_proofs),
		cmocka_unit_test(wp_spec_example),
		cmocka_unit_test(wp_urls),
		cmocka_unit_test(wp_url_too_long),
		cmocka_unit_test(wp_quorum_none),
		cmocka_unit_test(wp_canonical_thresholds),
		cmocka_unit_test(wp_duplicate_witness_key),
		cmocka_unit_test(wp_duplicate_witness_key_other_vkey_name),
		cmocka_unit_test(wp_duplicate_name),
		cmocka_unit_test(wp_group_name_is_witness_name),
		cmocka_unit_test(wp_group_undefined_member),
		cmocka_unit_test(wp_group_later_name),
		cmocka_unit_test(wp_group_references_itself),
		cmocka_unit_test(wp_group_member_twice),
		cmocka_unit_test(wp_group_k_zero),
		cmocka_unit_test(wp_group_k_above_n),
		cmocka_unit_test(wp_group_k_malformed),
		cmocka_unit_test(wp_group_no_members),
		cmocka_unit_test(wp_none_as_member),
		cmocka_unit_test(wp_none_as_name),
		cmocka_unit_test(wp_quorum_missing),
		cmocka_unit_test(wp_two_quorum_lines),
		cmocka_unit_test(wp_line_after_quorum),
		cmocka_unit_test(wp_quorum_undefined),
		cmocka_unit_test(wp_quorum_extra_field),
		cmocka_unit_test(wp_log_missing),
		cmocka_unit_test(wp_two_logs),
		cmocka_unit_test(wp_log_key_type_04),
		cmocka_unit_test(wp_witness_key_type_01),
		cmocka_unit_test(wp_witness_key_is_log_key),
		cmocka_unit_test(wp_bad_vkey),
		cmocka_unit_test(wp_bad_name),
		cmocka_unit_test(wp_whitespace_not_canonical),
		cmocka_unit_test(wp_unknown_keyword),
		cmocka_unit_test(wp_too_many_witnesses),
		cmocka_unit_test(wp_failure_changes_nothing),
		cmocka_unit_test(q_nested_met),
		cmocka_unit_test(q_nested_inner_k_short),
		cmocka_unit_test(q_nested_other_branch_missing),
		cmocka_unit_test(q_nested_any_member),
		cmocka_unit_test(q_no_cosignatures),
		cmocka_unit_test(q_single_witness),
		cmocka_unit_test(q_all),
		cmocka_unit_test(q_any),
		cmocka_unit_test(q_quorum_none),
		cmocka_unit_test(q_duplicate_cosignature_counts_once),
		cmocka_unit_test(q_unlisted_witness_ignored),
		cmocka_unit_test(q_unlisted_bad_cosignature_ignored),
		cmocka_unit_test(q_bad_cosignature_by_listed_witness_rejects),
		cmocka_unit_test(q_listed_name_other_keyid_ignored),
		cmocka_unit_test(q_cosignature_over_other_checkpoint),
		cmocka_unit_test(q_all_stale),
		cmocka_unit_test(q_partly_stale),
		cmocka_unit_test(q_stale_and_short),
		cmocka_unit_test(q_fresh_and_stale_same_witness),
		cmocka_unit_test(q_freshness_boundary),
		cmocka_unit_test(q_freshness_zero_any_time),
		cmocka_unit_test(q_future_beyond_skew),
		cmocka_unit_test(q_future_within_skew),
		cmocka_unit_test(q_log_signature_missing),
		cmocka_unit_test(q_log_signature_bad),
		cmocka_unit_test(q_log_signature_by_other_key),
		cmocka_unit_test(q_origin_mismatch),
		cmocka_unit_test(q_not_a_checkpoint),
		cmocka_unit_test(q_oversize),
		cmocka_unit_test(q_extension_lines_and_ret_cp),
		cmocka_unit_test(q_incomplete_policy),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown);
}
