/* SPDX-License-Identifier: Apache-2.0 */
#include "text.h"

#include <stdio.h>
#include <string.h>

#include "rp_limits.h"

struct range {
	unsigned lo, hi;
};

static bool in(const struct range *t, size_t n, unsigned cp)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (cp < t[m].lo)
			b = m;
		else if (cp > t[m].hi)
			a = m + 1;
		else
			return true;
	}
	return false;
}

#define N(t) (sizeof(t) / sizeof((t)[0]))

/*
 * Characters a terminal shows as nothing, or that change how the text
 * around them is laid out: C1 controls, Unicode's format characters (Cf:
 * soft hyphen, zero-width characters, bidi marks, embeddings, overrides
 * and isolates, the invisible operators, tags), line and paragraph
 * separators, variation selectors, fillers that render blank,
 * noncharacters. Sorted, for the binary search.
 */
static const struct range hidden[] = {
	{0x0080, 0x009f},   {0x00ad, 0x00ad},   {0x034f, 0x034f},   {0x0600, 0x0605},
	{0x061c, 0x061c},   {0x06dd, 0x06dd},   {0x070f, 0x070f},   {0x0890, 0x0891},
	{0x08e2, 0x08e2},   {0x115f, 0x1160},   {0x17b4, 0x17b5},   {0x180b, 0x180f},
	{0x200b, 0x200f},   {0x2028, 0x202e},   {0x2060, 0x206f},   {0x3164, 0x3164},
	{0xfdd0, 0xfdef},   {0xfe00, 0xfe0f},   {0xfeff, 0xfeff},   {0xffa0, 0xffa0},
	{0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
	{0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0000, 0xe007f},
	{0xe0100, 0xe01ef},
};

/*
 * Combining marks (no column of their own), the common blocks. Widths are
 * for alignment only: a mark missing here costs a misaligned column, never
 * a hidden character.
 */
static const struct range combining[] = {
	{0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x05bf, 0x05bf}, {0x05c1, 0x05c2},
	{0x05c4, 0x05c5}, {0x05c7, 0x05c7}, {0x0610, 0x061a}, {0x064b, 0x065f}, {0x0670, 0x0670},
	{0x06d6, 0x06dc}, {0x06df, 0x06e4}, {0x06e7, 0x06e8}, {0x06ea, 0x06ed}, {0x0711, 0x0711},
	{0x0730, 0x074a}, {0x07a6, 0x07b0}, {0x07eb, 0x07f3}, {0x0900, 0x0902}, {0x093a, 0x093c},
	{0x0941, 0x0948}, {0x094d, 0x094d}, {0x0951, 0x0957}, {0x0962, 0x0963}, {0x0e31, 0x0e31},
	{0x0e34, 0x0e3a}, {0x0e47, 0x0e4e}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x20d0, 0x20ff},
	{0x302a, 0x302d}, {0x3099, 0x309a}, {0xfe20, 0xfe2f},
};

/* East Asian wide and fullwidth characters, and the emoji blocks: two columns. */
static const struct range wide[] = {
	{0x1100, 0x115f},   {0x2e80, 0x303e},   {0x3041, 0x33ff},   {0x3400, 0x4dbf},
	{0x4e00, 0x9fff},   {0xa000, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},
	{0xf900, 0xfaff},   {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},
	{0xffe0, 0xffe6},   {0x1f300, 0x1f64f}, {0x1f680, 0x1f6ff}, {0x1f900, 0x1f9ff},
	{0x1fa70, 0x1faff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

bool rp_text_cp_hidden(unsigned cp)
{
	/* Noncharacters U+nFFFE and U+nFFFF of every plane, too. */
	return in(hidden, N(hidden), cp) || (cp & 0xfffe) == 0xfffe;
}

size_t rp_utf8_decode(const unsigned char *s, size_t n, unsigned *ret_cp)
{
	unsigned c = s[0], cp;
	size_t k;

	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		k = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		k = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		k = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (k > n)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return k;
}

/* One piece of output: either input bytes kept as they are, or an escape. */
struct unit {
	const char *p;
	size_t len;   /* bytes to write from p */
	size_t width; /* terminal columns */
	bool escape;
	char esc[12];
};

struct scan {
	const unsigned char *s;
	size_t n, i;
	unsigned mode;
	bool base;      /* the last unit was a visible character a mark may sit on */
	unsigned marks; /* combining marks kept on that character so far */
};

/* An escape: the literal text, or \xHH for a byte (cp < 0x100 and byte), else \u/\U. */
static void set_escape(struct unit *u, const char *lit, unsigned v, bool byte)
{
	int k;

	if (lit)
		k = snprintf(u->esc, sizeof(u->esc), "%s", lit);
	else if (byte)
		k = snprintf(u->esc, sizeof(u->esc), "\\x%02x", v);
	else if (v > 0xffff)
		k = snprintf(u->esc, sizeof(u->esc), "\\U%08x", v);
	else
		k = snprintf(u->esc, sizeof(u->esc), "\\u%04x", v);
	u->escape = true;
	u->p = u->esc;
	u->len = (size_t)k;
	u->width = (size_t)k;
}

/* The next unit of the input; false at its end. */
static bool next_unit(struct scan *sc, struct unit *u)
{
	const unsigned char *s = sc->s + sc->i;
	size_t n = sc->n - sc->i, k;
	unsigned cp = 0;
	bool block = sc->mode & RP_TEXT_BLOCK;

	if (n == 0)
		return false;
	memset(u, 0, sizeof(*u));
	k = rp_utf8_decode(s, n, &cp);
	if (k == 0) {
		set_escape(u, NULL, s[0], true);
		sc->i++;
		sc->base = false;
		return true;
	}
	sc->i += k;
	if (cp < 0x20 || cp == 0x7f) {
		if (block && (cp == '\n' || cp == '\t')) {
			u->p = (const char *)s;
			u->len = 1;
			u->width = cp == '\t' ? 1 : 0; /* a tab: at least one column */
		} else if (cp == '\n') {
			set_escape(u, "\\n", 0, false);
		} else if (cp == '\r') {
			set_escape(u, "\\r", 0, false);
		} else if (cp == '\t') {
			set_escape(u, "\\t", 0, false);
		} else {
			set_escape(u, NULL, cp, true);
		}
		sc->base = false;
		return true;
	}
	if (cp == '\\' && !block) {
		set_escape(u, "\\\\", 0, false);
		sc->base = false;
		return true;
	}
	if (rp_text_cp_hidden(cp)) {
		set_escape(u, NULL, cp, false);
		sc->base = false;
		return true;
	}
	if (in(combining, N(combining), cp)) {
		/*
		 * A mark with nothing of this text to sit on would land on the
		 * column before it; a pile of them spills over the lines above
		 * and below. Both become escapes.
		 */
		if (!sc->base || sc->marks >= RP_TEXT_MARKS_MAX) {
			set_escape(u, NULL, cp, false);
			sc->base = false;
			return true;
		}
		sc->marks++;
		u->p = (const char *)s;
		u->len = k;
		u->width = 0;
		return true;
	}
	u->p = (const char *)s;
	u->len = k;
	u->width = in(wide, N(wide), cp) ? 2 : 1;
	sc->base = true;
	sc->marks = 0;
	return true;
}

size_t rp_text_safe(struct rp_sb *sb, const char *s, size_t n, unsigned mode)
{
	struct scan sc = {(const unsigned char *)s, n, 0, mode, false, 0};
	struct unit u;
	size_t escapes = 0;

	while (next_unit(&sc, &u)) {
		rp_sb_put(sb, u.p, u.len);
		escapes += u.escape;
	}
	return escapes;
}

size_t rp_text_width(const char *s, size_t n, unsigned mode)
{
	struct scan sc = {(const unsigned char *)s, n, 0, mode, false, 0};
	struct unit u;
	size_t w = 0;

	while (next_unit(&sc, &u))
		w += u.width;
	return w;
}

void rp_text_cell(struct rp_sb *sb, const char *s, size_t n, size_t width)
{
	struct scan sc = {(const unsigned char *)s, n, 0, RP_TEXT_LINE, false, 0};
	struct unit u;
	size_t total = rp_text_width(s, n, RP_TEXT_LINE), w = 0;

	if (width == 0) {
		rp_text_safe(sb, s, n, RP_TEXT_LINE);
		return;
	}
	/* Cut: whole units while they fit in width - 1 columns, then the mark. */
	size_t room = total > width ? width - 1 : width;
	while (next_unit(&sc, &u) && w + u.width <= room) {
		rp_sb_put(sb, u.p, u.len);
		w += u.width;
	}
	if (total > width) {
		rp_sb_put(sb, "~", 1);
		w++;
	}
	for (; w < width; w++)
		rp_sb_put(sb, " ", 1);
}
