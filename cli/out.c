/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Everything the CLI prints that came from the server goes through here,
 * and so through lib/text.c: table cells, message fragments, multi-line
 * blocks, JSON. A terminal then shows the server's bytes; it never obeys
 * them (DESIGN.md section 4a).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "text.h"

/* An escape is at most 10 bytes for 1 to 4 input bytes. */
static size_t out_max(size_t n)
{
	return 10 * n + 64;
}

static void sb_flush(FILE *f, struct rp_sb *sb)
{
	if (!sb->err && sb->len)
		fwrite(sb->s, 1, sb->len, f);
	rp_sb_release(sb);
}

void cli_put(FILE *f, const char *s)
{
	struct rp_sb sb;

	if (!s)
		return;
	rp_sb_init(&sb, out_max(strlen(s)));
	rp_text_safe(&sb, s, strlen(s), RP_TEXT_LINE);
	sb_flush(f, &sb);
}

/* The cell, without its padding when last (the cut stays). */
static void cell(FILE *f, const char *s, size_t width, bool last)
{
	struct rp_sb sb;
	size_t n = s ? strlen(s) : 0;

	rp_sb_init(&sb, out_max(n) + width);
	rp_text_cell(&sb, s ? s : "", n, width);
	while (last && !sb.err && sb.len && sb.s[sb.len - 1] == ' ')
		sb.s[--sb.len] = '\0';
	sb_flush(f, &sb);
}

void cli_cell(FILE *f, const char *s, size_t width)
{
	cell(f, s, width, false);
}

void cli_last(FILE *f, const char *s, size_t width)
{
	cell(f, s, width, true);
	fputc('\n', f);
}

size_t cli_fenced(FILE *f, const char *s, size_t n)
{
	struct rp_sb sb;
	const char *p, *end;
	size_t e;

	rp_sb_init(&sb, out_max(n));
	e = rp_text_safe(&sb, s, n, RP_TEXT_BLOCK);
	if (sb.err) {
		fputs(CLI_GUTTER "(out of memory)\n", f);
		rp_sb_release(&sb);
		return e;
	}
	/* Only \n and \t are left to move the cursor: every line starts with the gutter. */
	for (p = sb.s, end = sb.s ? sb.s + sb.len : NULL; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		fputs(CLI_GUTTER, f);
		fwrite(p, 1, len, f);
		fputc('\n', f);
		p += len + (nl != NULL);
	}
	rp_sb_release(&sb);
	return e;
}

void cli_json(FILE *f, const json_t *j)
{
	/*
	 * ASCII only: every character past 0x7f is a \u escape, controls are
	 * escaped by JSON itself; DEL, which JSON leaves alone, is escaped
	 * here (it occurs only inside strings).
	 */
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_SORT_KEYS);

	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		if (*p == 0x7f)
			fputs("\\u007f", f);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
	free(s);
}
