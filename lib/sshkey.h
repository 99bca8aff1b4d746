/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The two kinds of text a directory statement hands to the machine's own
 * parsers: SSH authorised keys (sshd reads them) and sudo commands (sudo
 * reads them). Both are checked here, strictly, before anything is signed
 * or written, so that no field can smuggle in an option (command="...",
 * from="..."), a second line, or a sudoers list separator.
 */

#include <stdbool.h>
#include <stddef.h>

#include "rp_limits.h"

/*
 * "TYPE BASE64[ COMMENT]", single spaces, no options: TYPE a known key
 * type, BASE64 decoding to an SSH key blob whose first string is TYPE,
 * COMMENT printable ASCII of at most RP_SSH_KEY_COMMENT_MAX bytes; at
 * most RP_SSH_KEY_LINE_MAX bytes in all.
 */
bool rp_ssh_key_valid(const char *s, size_t n);

/*
 * An absolute path, then arguments: printable ASCII, single spaces, no
 * trailing space, none of the characters sudoers gives a meaning to
 * (\ , : = ( ) ! # % " '), at most RP_SUDO_COMMAND_MAX bytes.
 */
bool rp_sudo_command_valid(const char *s, size_t n);
