/* SPDX-License-Identifier: Apache-2.0 */
#include "sshkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "util.h"

/* What follows the type string in each kind of blob. */
enum blob_shape {
	SHAPE_ED25519,    /* string key[32] */
	SHAPE_RSA,        /* mpint e, mpint n */
	SHAPE_ECDSA,      /* string curve, string Q */
	SHAPE_SK_ED25519, /* string key[32], string application */
	SHAPE_SK_ECDSA,   /* string curve, string Q, string application */
};

static const struct key_type {
	const char *name;
	enum blob_shape shape;
	const char *curve; /* ECDSA: the curve name the blob repeats */
	size_t qlen;       /* ECDSA: 0x04 || X || Y */
} key_types[] = {
	{"ssh-ed25519", SHAPE_ED25519, NULL, 0},
	{"ssh-rsa", SHAPE_RSA, NULL, 0},
	{"ecdsa-sha2-nistp256", SHAPE_ECDSA, "nistp256", 65},
	{"ecdsa-sha2-nistp384", SHAPE_ECDSA, "nistp384", 97},
	{"ecdsa-sha2-nistp521", SHAPE_ECDSA, "nistp521", 133},
	{"sk-ssh-ed25519@openssh.com", SHAPE_SK_ED25519, NULL, 0},
	{"sk-ecdsa-sha2-nistp256@openssh.com", SHAPE_SK_ECDSA, "nistp256", 65},
};

/* Bytes of a key blob still to read. */
struct wire {
	const uint8_t *p;
	size_t n;
};

/* An RFC 4251 string (uint32 length, bytes) off the front of w. */
static bool wire_take(struct wire *w, struct wire *ret)
{
	uint32_t len;

	if (w->n < 4)
		return false;
	len = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 | (uint32_t)w->p[2] << 8 |
	      (uint32_t)w->p[3];
	if (len > w->n - 4)
		return false;
	ret->p = w->p + 4;
	ret->n = len;
	w->p += 4 + (size_t)len;
	w->n -= 4 + (size_t)len;
	return true;
}

static bool wire_is(const struct wire *s, const char *lit)
{
	return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

/* A positive mpint in its one encoding (RFC 4251 5): no leading zero byte unless the top bit needs
 * it. */
static bool mpint_bits(const struct wire *m, size_t *ret_bits)
{
	size_t bits, skip;

	if (m->n == 0 || (m->p[0] & 0x80))
		return false; /* zero, or negative */
	if (m->p[0] == 0 && (m->n == 1 || !(m->p[1] & 0x80)))
		return false; /* a needless leading zero */
	skip = m->p[0] == 0;  /* the zero byte in front of a top bit set */
	bits = (m->n - skip) * 8;
	for (uint8_t top = m->p[skip]; !(top & 0x80); top = (uint8_t)(top << 1))
		bits--;
	*ret_bits = bits;
	return true;
}

static bool blob_valid(const struct key_type *t, struct wire w)
{
	struct wire type, a, b, app;
	size_t ebits, nbits;

	if (!wire_take(&w, &type) || !wire_is(&type, t->name))
		return false;
	switch (t->shape) {
	case SHAPE_ED25519:
	case SHAPE_SK_ED25519:
		if (!wire_take(&w, &a) || a.n != 32)
			return false;
		break;
	case SHAPE_RSA:
		/* OpenSSH refuses moduli under 1024 bits and over 16384 (SSH_RSA_*_MODULUS_SIZE).
		 */
		if (!wire_take(&w, &a) || !wire_take(&w, &b) || !mpint_bits(&a, &ebits) ||
		    !mpint_bits(&b, &nbits) || ebits < 2 || !(a.p[a.n - 1] & 1) || nbits < 1024 ||
		    nbits > 16384)
			return false;
		break;
	case SHAPE_ECDSA:
	case SHAPE_SK_ECDSA:
		if (!wire_take(&w, &a) || !wire_is(&a, t->curve) || !wire_take(&w, &b) ||
		    b.n != t->qlen || b.p[0] != 0x04)
			return false;
		break;
	}
	/* FIDO keys name the relying party ("ssh:" unless chosen otherwise). */
	if ((t->shape == SHAPE_SK_ED25519 || t->shape == SHAPE_SK_ECDSA) &&
	    (!wire_take(&w, &app) || app.n == 0))
		return false;
	return w.n == 0;
}

bool rp_ssh_key_valid(const char *s, size_t n)
{
	const struct key_type *t = NULL;
	const char *b64, *sp, *end = s + n;
	size_t blen, dlen;
	uint8_t *blob;
	bool ok;

	if (n == 0 || n > RP_SSH_KEY_LINE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false; /* a newline, a tab, a NUL, anything not ASCII */
	if (!(sp = memchr(s, ' ', n)))
		return false;
	/* An option prefix (command="..." ssh-ed25519 ...) is no type of this list. */
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (rp_memeq(s, (size_t)(sp - s), key_types[i].name))
			t = &key_types[i];
	if (!t)
		return false;
	b64 = sp + 1;
	sp = memchr(b64, ' ', (size_t)(end - b64));
	blen = (size_t)((sp ? sp : end) - b64);
	if (sp) {
		const char *comment = sp + 1;
		size_t clen = (size_t)(end - comment);
		if (clen == 0 || clen > RP_SSH_KEY_COMMENT_MAX || comment[0] == ' ')
			return false;
	}
	if (blen == 0 || blen % 4 != 0 || !(blob = malloc(blen)))
		return false;
	ok = rp_b64_decode(b64, blen, blob, blen, &dlen) == 0 &&
	     blob_valid(t, (struct wire){blob, dlen});
	free(blob);
	return ok;
}

bool rp_sudo_command_valid(const char *s, size_t n)
{
	if (n == 0 || n > RP_SUDO_COMMAND_MAX || s[0] != '/' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || strchr("\\,:=()!#%\"'", c))
			return false;
		if (c == ' ' && i + 1 < n && s[i + 1] == ' ')
			return false;
	}
	return true;
}
