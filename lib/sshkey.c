/* SPDX-License-Identifier: Apache-2.0 */
#include "sshkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const key_types[] = {
	"ssh-ed25519",
	"ssh-rsa",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
};

bool rp_ssh_key_valid(const char *s, size_t n)
{
	const char *sp, *b64, *end = s + n, *comment = NULL;
	size_t tlen, blen, dlen;
	uint8_t *blob;
	bool known = false, ok;

	if (n == 0 || n > RP_SSH_KEY_LINE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	if (!(sp = memchr(s, ' ', n)))
		return false;
	tlen = (size_t)(sp - s);
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		known = known || (strlen(key_types[i]) == tlen && !memcmp(key_types[i], s, tlen));
	if (!known)
		return false; /* an option prefix (command="...") is not a type */
	b64 = sp + 1;
	sp = memchr(b64, ' ', (size_t)(end - b64));
	blen = (size_t)((sp ? sp : end) - b64);
	if (sp) {
		comment = sp + 1;
		if (comment == end || (size_t)(end - comment) > RP_SSH_KEY_COMMENT_MAX ||
		    comment[0] == ' ' || end[-1] == ' ')
			return false;
	}
	if (blen == 0 || blen % 4 != 0 || !(blob = malloc(blen)))
		return false;
	ok = rp_b64_decode(b64, blen, blob, blen, &dlen) == 0 && dlen >= 4 + tlen &&
	     (((uint32_t)blob[0] << 24) | ((uint32_t)blob[1] << 16) | ((uint32_t)blob[2] << 8) |
	      blob[3]) == tlen &&
	     !memcmp(blob + 4, s, tlen) && dlen > 4 + tlen;
	free(blob);
	return ok;
}

bool rp_sudo_command_valid(const char *s, size_t n)
{
	if (n < 2 || n > RP_SUDO_COMMAND_MAX || s[0] != '/' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || strchr("\\,:=()!#%\"'", c) ||
		    (c == ' ' && s[i + 1] == ' '))
			return false;
	}
	return true;
}
