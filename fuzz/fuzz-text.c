/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_text_safe and rp_text_cell on any bytes: what they write has no
 * control byte (but a block's \n and \t), is valid UTF-8 with no hidden
 * character, is safe already (a second pass in block mode changes
 * nothing), and a cell is exactly as wide as asked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "text.h"

static void check_safe(const char *s, size_t n, unsigned mode)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = p[i], cp;
		size_t k;

		if (c < 0x80) {
			FUZZ_CHECK(c >= 0x20 ||
				   ((mode & RP_TEXT_BLOCK) && (c == '\n' || c == '\t')));
			FUZZ_CHECK(c != 0x7f);
			i++;
			continue;
		}
		k = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		FUZZ_CHECK(k != 0 && i + k <= n);
		cp = c & (0x7f >> k);
		for (size_t j = 1; j < k; j++) {
			FUZZ_CHECK((p[i + j] & 0xc0) == 0x80);
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		FUZZ_CHECK(!((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
			     (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
			     (cp >= 0xd800 && cp <= 0xdfff)));
		FUZZ_CHECK(!rp_text_cp_hidden(cp));
		i += k;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_sb sb, again;
	size_t len, width;
	char *out;

	for (unsigned mode = 0; mode < 2; mode++) {
		rp_sb_init(&sb, 16 * size + 16);
		rp_text_safe(&sb, (const char *)data, size, mode);
		out = rp_sb_take(&sb, &len);
		FUZZ_CHECK(out != NULL);
		check_safe(out, len, mode);
		FUZZ_CHECK(rp_text_width(out, len, RP_TEXT_BLOCK) ==
			   rp_text_width((const char *)data, size, mode));
		if (mode == RP_TEXT_BLOCK) {
			rp_sb_init(&again, 16 * len + 16);
			FUZZ_CHECK(rp_text_safe(&again, out, len, RP_TEXT_BLOCK) == 0);
			FUZZ_CHECK(again.len == len &&
				   memcmp(again.s ? again.s : "", out, len) == 0);
			rp_sb_release(&again);
		}
		free(out);
	}
	/* A cell of the first byte's width (0 to 63 columns). */
	width = size ? data[0] % 64 : 0;
	rp_sb_init(&sb, 16 * size + 80);
	rp_text_cell(&sb, (const char *)data, size, width);
	out = rp_sb_take(&sb, &len);
	FUZZ_CHECK(out != NULL);
	check_safe(out, len, RP_TEXT_LINE);
	if (width)
		FUZZ_CHECK(rp_text_width(out, len, RP_TEXT_BLOCK) == width);
	free(out);
	return 0;
}
