/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Text from someone we do not trust (the server, a log's peer), made safe
 * for a terminal. A terminal obeys some bytes instead of showing them: C0
 * controls (CR returns to the start of the line, ESC starts CSI, OSC, DCS
 * sequences that clear the screen, move the cursor, set the clipboard or
 * make links), DEL and the C1 controls (0x9b is CSI on its own). Unicode
 * adds characters that a terminal shows as nothing or that reorder what
 * follows (bidi overrides and isolates, zero-width and other format
 * characters). Each of those, and every byte that is not valid UTF-8,
 * becomes a visible escape: \xHH for a byte, \uHHHH or \UHHHHHHHH for a
 * character, \n \r \t for those three. Once ESC or CSI is visible, the rest
 * of its sequence is plain text, so no sequence needs parsing.
 *
 * Two modes:
 *  - RP_TEXT_LINE (a table cell, a message): \n and \t are escaped too, and
 *    a backslash becomes \\, so that what is shown is unambiguous.
 *  - RP_TEXT_BLOCK (a text printed on purpose over several lines: a
 *    statement, a script, an output tail): \n and \t are kept and a
 *    backslash is kept as it is, because a reviewer reads a script as
 *    written. Callers say that escapes occurred (the return value) so that
 *    a literal "\x1b" in a script cannot pass for an escaped byte.
 *
 * Every function writes valid UTF-8 with no control byte other than the
 * \n and \t a block keeps.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define RP_TEXT_LINE  0u
#define RP_TEXT_BLOCK 1u

/* Appends s[0..n) to sb, neutralised; returns how many escapes it wrote. */
size_t rp_text_safe(struct rp_sb *sb, const char *s, size_t n, unsigned mode);

/* Terminal columns of what rp_text_safe would write (no \n in LINE mode). */
size_t rp_text_width(const char *s, size_t n, unsigned mode);

/*
 * A table cell: s neutralised (LINE mode) and then cut or padded with
 * spaces to exactly width columns, counting what is displayed (an escape
 * is as wide as its text, CJK characters two columns, combining marks
 * none). A cut text ends in "~" so that it is not taken for the whole.
 * width 0: no padding and no cut (a last column).
 */
void rp_text_cell(struct rp_sb *sb, const char *s, size_t n, size_t width);

/* True when the character is one rp_text_safe escapes (format, bidi, C1...). */
bool rp_text_cp_hidden(unsigned cp);
/*
 * The length (1-4) of the valid UTF-8 sequence at s (n > 0 bytes left) and
 * its code point; 0 if it is not one (bad lead or continuation byte,
 * truncated, overlong, a surrogate, past U+10FFFF). Notes and the
 * terminal filter both decode with it.
 */
size_t rp_utf8_decode(const unsigned char *s, size_t n, unsigned *ret_cp);
