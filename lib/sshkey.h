/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The two kinds of text a directory statement hands to the machine's own
 * parsers: SSH authorised keys (sshd reads them) and sudo commands (sudo
 * reads them). Both are checked here, strictly, before anything is signed
 * or written (lib/directory.c when a statement is parsed, agent/converge.c
 * again before a file is written), so that no field can smuggle in an
 * option (command="...", from="..."), a second line, or a sudoers list
 * separator.
 */

#include <stdbool.h>
#include <stddef.h>

#include "rp_limits.h"

/*
 * "TYPE BASE64[ COMMENT]", single spaces, no options: TYPE one of
 * ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521,
 * sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com; BASE64
 * canonical (rp_b64_decode) and decoding to the public key blob of that
 * type (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4, OpenSSH PROTOCOL.u2f):
 * its first string is TYPE, every field is there with its size (an
 * Ed25519 key of 32 bytes, an uncompressed point of the named curve, an
 * RSA modulus of 1024 to 16384 bits) and nothing follows. COMMENT
 * printable ASCII of 1 to RP_SSH_KEY_COMMENT_MAX bytes, not starting with
 * a space; at most RP_SSH_KEY_LINE_MAX bytes in all. One spelling per
 * key: ssh-keygen's trailing space after an empty comment is refused.
 * An ECDSA point is not checked to be on its curve (sshd does that, and
 * refuses the key, not the file).
 */
bool rp_ssh_key_valid(const char *s, size_t n);

/*
 * A sudo command: an absolute path, then arguments: 1 to
 * RP_SUDO_COMMAND_MAX bytes of printable ASCII, single spaces, no
 * trailing space, none of the characters sudoers gives a meaning to
 * (\ , : = ( ) ! # % " '). Wildcards (* ? [ ]) are sudo's own and pass.
 */
bool rp_sudo_command_valid(const char *s, size_t n);
