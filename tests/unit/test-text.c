/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_text_safe and rp_text_cell (lib/text.c): nothing a server writes
 * reaches the terminal as a control. One test per trick a hostile string
 * can play on a terminal.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "text.h"

static char *safe(const char *s, size_t n, unsigned mode, size_t *ret_escapes)
{
	struct rp_sb sb;
	size_t e;
	char *out;

	rp_sb_init(&sb, 1 << 20);
	e = rp_text_safe(&sb, s, n, mode);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	if (ret_escapes)
		*ret_escapes = e;
	return out;
}

#define SAFE_EQ(in, mode, want)                                  \
	do {                                                     \
		char *o_ = safe(in, sizeof(in) - 1, mode, NULL); \
		assert_string_equal(o_, want);                   \
		free(o_);                                        \
	} while (0)

static char *cell(const char *s, size_t width)
{
	struct rp_sb sb;
	char *out;

	rp_sb_init(&sb, 1 << 20);
	rp_text_cell(&sb, s, strlen(s), width);
	out = rp_sb_take(&sb, NULL);
	assert_non_null(out);
	return out;
}

static void plain_text_unchanged(void **state)
{
	size_t e;
	char *o = safe("web1.example.com Debian 12", 26, RP_TEXT_LINE, &e);
	(void)state;

	assert_string_equal(o, "web1.example.com Debian 12");
	assert_int_equal(e, 0);
	free(o);
	/* UTF-8 that a terminal shows as itself stays. */
	SAFE_EQ("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", RP_TEXT_LINE,
		"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
}

static void clear_screen_csi(void **state)
{
	(void)state;
	SAFE_EQ("ok\x1b[2J\x1b[H", RP_TEXT_LINE, "ok\\x1b[2J\\x1b[H");
	/* Cursor movement: up, column, save and restore. */
	SAFE_EQ("a\x1b[1A\x1b[10G\x1b"
		"7b\x1b"
		"8",
		RP_TEXT_LINE, "a\\x1b[1A\\x1b[10G\\x1b7b\\x1b8");
}

static void osc52_clipboard_and_osc8_link(void **state)
{
	(void)state;
	SAFE_EQ("\x1b]52;c;Y3VybCBldmlsfHNo\x07", RP_TEXT_LINE, "\\x1b]52;c;Y3VybCBldmlsfHNo\\x07");
	SAFE_EQ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", RP_TEXT_LINE,
		"\\x1b]8;;https://evil.example\\x1b\\\\click\\x1b]8;;\\x1b\\\\");
}

static void dcs_and_eight_bit_csi(void **state)
{
	(void)state;
	/* DCS and C1 CSI as raw bytes (not UTF-8), and C1 CSI as UTF-8 (U+009B). */
	SAFE_EQ("\x1bP1$r\x1b\\", RP_TEXT_LINE, "\\x1bP1$r\\x1b\\\\");
	SAFE_EQ("x\x9b"
		"2J",
		RP_TEXT_LINE, "x\\x9b2J");
	SAFE_EQ("x\xc2\x9b"
		"2J",
		RP_TEXT_LINE, "x\\u009b2J");
	SAFE_EQ("\xc2\x85", RP_TEXT_LINE, "\\u0085");
}

static void carriage_return_overwrite(void **state)
{
	(void)state;
	/* "exit 0" then CR: the terminal would print the rest over it. */
	SAFE_EQ("FAILED: disk full\rdone, exit 0   ", RP_TEXT_LINE,
		"FAILED: disk full\\rdone, exit 0   ");
	SAFE_EQ("FAILED\rdone\n", RP_TEXT_BLOCK, "FAILED\\rdone\n");
	SAFE_EQ("a\bb\x7f", RP_TEXT_LINE, "a\\x08b\\x7f");
	SAFE_EQ("nul\0here", RP_TEXT_LINE, "nul\\x00here");
}

static void bidi_override_and_isolates(void **state)
{
	(void)state;
	/* "web1" RLO "gnp.exe" shows as web1exe.png. */
	SAFE_EQ("web1\xe2\x80\xaegnp.exe", RP_TEXT_LINE, "web1\\u202egnp.exe");
	SAFE_EQ("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", RP_TEXT_LINE,
		"\\u202a\\u202b\\u202c\\u202d");
	SAFE_EQ("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", RP_TEXT_BLOCK,
		"\\u2066\\u2067\\u2068\\u2069");
	SAFE_EQ("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", RP_TEXT_LINE, "\\u200e\\u200f\\u061c");
}

static void invisible_format_characters(void **state)
{
	(void)state;
	/* Zero-width space and joiner, word joiner, BOM, soft hyphen, LS, PS. */
	SAFE_EQ("a\xe2\x80\x8b"
		"b\xe2\x80\x8d"
		"c\xe2\x81\xa0"
		"d\xef\xbb\xbf"
		"e\xc2\xad"
		"f",
		RP_TEXT_LINE, "a\\u200bb\\u200dc\\u2060d\\ufeffe\\u00adf");
	SAFE_EQ("\xe2\x80\xa8\xe2\x80\xa9", RP_TEXT_BLOCK, "\\u2028\\u2029");
	/* Tag characters (invisible "ASCII smuggling"), above the BMP. */
	SAFE_EQ("x\xf3\xa0\x81\x81", RP_TEXT_LINE, "x\\U000e0041");
	/* A noncharacter. */
	SAFE_EQ("\xef\xbf\xbe", RP_TEXT_LINE, "\\ufffe");
}

static void invalid_utf8(void **state)
{
	(void)state;
	/* Overlong ESC, lone continuation, surrogate, truncated sequence, too large. */
	SAFE_EQ("\xc0\x9b", RP_TEXT_LINE, "\\xc0\\x9b");
	SAFE_EQ("\x80", RP_TEXT_LINE, "\\x80");
	SAFE_EQ("\xed\xa0\x80", RP_TEXT_LINE, "\\xed\\xa0\\x80");
	SAFE_EQ("ab\xe2\x80", RP_TEXT_LINE, "ab\\xe2\\x80");
	SAFE_EQ("\xf4\x90\x80\x80", RP_TEXT_LINE, "\\xf4\\x90\\x80\\x80");
	SAFE_EQ("\xff\xfe", RP_TEXT_LINE, "\\xff\\xfe");
}

static void line_mode_is_unambiguous(void **state)
{
	(void)state;
	/* A literal backslash cannot pass for an escape in a line. */
	SAFE_EQ("\\x1b[2J", RP_TEXT_LINE, "\\\\x1b[2J");
	SAFE_EQ("two\nlines\ttab", RP_TEXT_LINE, "two\\nlines\\ttab");
}

static void block_mode_keeps_script(void **state)
{
	size_t e;
	char *o = safe("sed 's/\\./x/'\n\tdone\n", 20, RP_TEXT_BLOCK, &e);
	(void)state;

	/* A script reads as written; the caller reports escapes (here none). */
	assert_string_equal(o, "sed 's/\\./x/'\n\tdone\n");
	assert_int_equal(e, 0);
	free(o);
	o = safe("a\x1b[2Jb\n", 7, RP_TEXT_BLOCK, &e);
	assert_string_equal(o, "a\\x1b[2Jb\n");
	assert_int_equal(e, 1);
	free(o);
}

static void combining_marks(void **state)
{
	(void)state;
	/* Two marks on a letter stay; the third and a mark with no base become escapes. */
	SAFE_EQ("e\xcc\x81\xcc\x82", RP_TEXT_LINE, "e\xcc\x81\xcc\x82");
	SAFE_EQ("e\xcc\x81\xcc\x82\xcc\x83", RP_TEXT_LINE, "e\xcc\x81\xcc\x82\\u0303");
	SAFE_EQ("\xcc\x81x", RP_TEXT_LINE, "\\u0301x");
	SAFE_EQ("\x1b\xcc\x81", RP_TEXT_LINE, "\\x1b\\u0301");
}

static void output_is_safe_utf8(void **state)
{
	/* Every byte value, alone and after a lead byte: the output has no control and is UTF-8. */
	(void)state;
	for (unsigned mode = 0; mode < 2; mode++) {
		for (unsigned a = 0; a < 256; a++) {
			for (unsigned b = 0; b < 256; b += 17) {
				char in[3] = {(char)a, (char)b, (char)0xe2};
				char *o = safe(in, 3, mode, NULL);
				struct rp_diag d;
				size_t n = strlen(o);
				for (size_t i = 0; i < n; i++) {
					unsigned char c = (unsigned char)o[i];
					assert_false(
						(c < 0x20 && !(mode && (c == '\n' || c == '\t'))) ||
						c == 0x7f);
				}
				/*
				 * rp_note_text_valid checks UTF-8 and C1 (it wants a final
				 * \n and no tab: a block's tabs become spaces first).
				 */
				char *t = concat(o, "\n");
				for (char *p = t; *p; p++)
					if (*p == '\t')
						*p = ' ';
				assert_true(rp_note_text_valid(t, strlen(t), &d));
				free(t);
				free(o);
			}
		}
	}
}

#define CELL_EQ(in, width, want)               \
	do {                                   \
		char *o_ = cell(in, width);    \
		assert_string_equal(o_, want); \
		free(o_);                      \
	} while (0)

static void cell_pads_and_cuts_by_columns(void **state)
{
	(void)state;

	CELL_EQ("web1", 8, "web1    ");
	/* Cut with a mark, never inside a UTF-8 sequence. */
	CELL_EQ("verylonghostname", 8, "verylon~");
	/* An escape counts as wide as its text. */
	CELL_EQ("a\x1b[2J", 12, "a\\x1b[2J    ");
	/* An escape is never cut in half: a partial one could read as something else. */
	CELL_EQ("a\x1b[2J", 4, "a~  ");
	/* é is one column in two bytes; 日本 two columns each. */
	CELL_EQ("caf\xc3\xa9", 6, "caf\xc3\xa9  ");
	CELL_EQ("\xe6\x97\xa5\xe6\x9c\xac", 5, "\xe6\x97\xa5\xe6\x9c\xac ");
	CELL_EQ("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5, "\xe6\x97\xa5\xe6\x9c\xac~");
	/* A bidi override cannot swallow the padding that follows it. */
	CELL_EQ("\xe2\x80\xae"
		"abc",
		10, "\\u202eabc ");
	/* width 0: the whole text, neutralised. */
	CELL_EQ("tail\r", 0, "tail\\r");
	assert_int_equal(rp_text_width("\xe6\x97\xa5\x1b", 4, RP_TEXT_LINE), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_text_unchanged),
		cmocka_unit_test(clear_screen_csi),
		cmocka_unit_test(osc52_clipboard_and_osc8_link),
		cmocka_unit_test(dcs_and_eight_bit_csi),
		cmocka_unit_test(carriage_return_overwrite),
		cmocka_unit_test(bidi_override_and_isolates),
		cmocka_unit_test(invisible_format_characters),
		cmocka_unit_test(invalid_utf8),
		cmocka_unit_test(line_mode_is_unambiguous),
		cmocka_unit_test(block_mode_keeps_script),
		cmocka_unit_test(combining_marks),
		cmocka_unit_test(output_is_safe_utf8),
		cmocka_unit_test(cell_pads_and_cuts_by_columns),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
