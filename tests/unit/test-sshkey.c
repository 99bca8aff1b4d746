/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authorised key lines and sudo commands (lib/sshkey.c), the two texts a
 * directory statement hands to sshd and sudo. The keys are real: made by
 * OpenSSH 9.2's ssh-keygen (Debian 12) for these tests, one of each type;
 * the two FIDO keys are blobs built by hand (no token here) and accepted
 * by that ssh-keygen -l. Each attack is a line that would have given sshd
 * or sudo something more than a key or a command.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sshkey.h"

#define ED25519      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucMhRJz6x1XaV1w"
#define ED25519_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucMhRJz6x1XaV1w"
#define P256                                                                                 \
	"ecdsa-sha2-nistp256 "                                                               \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKpVmrIbAGZTreEDDjERPTMPHjiRUr" \
	"Y86p4L+1PUOMZ66uY+h3Wwu1KQtiyEiSmnqNJQxkxF4qtZchFp3Kd+no0="
#define P384                                                                                 \
	"ecdsa-sha2-nistp384 "                                                               \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBHwrkPG2ZM3qyE4VwXNV+9a6r1Xuoq" \
	"xJ3Xx6GeaoLYdf5JVHv75lGn9+1KO/mQws488G1ia9GlqWPoY7R8VYTPSPwcg7oahXtD9OlmbVdIHktfTj" \
	"qbiQQ0KJEHwMZQ9MYg=="
#define P521                                                                                 \
	"ecdsa-sha2-nistp521 "                                                               \
	"AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAHS+UGq6FUCkTQKvMwFexSLVKhvE0" \
	"EZNokcBXO/G7JOy8T4QGe847kcUyrK5tpBDUYDWSkhyTXcp9xNQhhHrJlalAD8eJZPx5jPkrGHjvwJB1mx" \
	"Wvl9gzuMB1k+wGXiCETDLX6zLg+5wuO8VpJ5nl40cSd/dcG49Oi3Vz3QjDfhXqRYyg=="
#define RSA                                                                                  \
	"ssh-rsa "                                                                           \
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQC2vuJRAdVeNPsyvag+SuvTx+DhKodeEOyoVzyj6HuReK8MHQW7EA" \
	"6iN1ThqSCJh89RwzBIHC7WQnh7Xmd+QY8RpIHE0hMNlwAM9Jf5iQ2Wgt0wzwGf6C4NMdCQ3hqh+/gAtLJF" \
	"HpqwB+cafJh9og83llPZoPmfZKUZZFRotzFHQZQQAM4wLMIPqEW2KasoHrW1SqY0yTY/JsqHwAk0KyiPw9" \
	"TJ7L1YJcsoUeWQ4FgNTOosZQGaxe08uPW7csAce4mo7Ad75p+5IHCykrvtjpglAhZpO1A0VwM43OEa2qco" \
	"Cltc3wJf/oOQcNUi374bz63sYddXk2RTvt9WsPQ4Gc1p"
#define SK_ED25519                                                                           \
	"sk-ssh-ed25519@openssh.com "                                                        \
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICZNAneGjcl7eglME7Gg6axWno2LG8AEI1GylX" \
	"GKNJMgAAAABHNzaDo="
#define SK_P256                                                                              \
	"sk-ecdsa-sha2-nistp256@openssh.com "                                                \
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBKpVmrIbAG" \
	"ZTreEDDjERPTMPHjiRUrY86p4L+1PUOMZ66uY+h3Wwu1KQtiyEiSmnqNJQxkxF4qtZchFp3Kd+no0AAAAE" \
	"c3NoOg=="

static bool key_ok(const char *s)
{
	return rp_ssh_key_valid(s, strlen(s));
}

static bool cmd_ok(const char *s)
{
	return rp_sudo_command_valid(s, strlen(s));
}

static void real_keys_accepted(void **state)
{
	(void)state;
	assert_true(key_ok(ED25519 " alice@laptop"));
	assert_true(key_ok(ED25519)); /* no comment */
	assert_true(key_ok(P256 " bob@work"));
	assert_true(key_ok(P384)); /* ssh-keygen wrote "... " for its empty comment */
	assert_true(key_ok(P521 " carol 521 key"));
	assert_true(key_ok(RSA " dave@old-box"));
	assert_true(key_ok(SK_ED25519 " yubikey"));
	assert_true(key_ok(SK_P256 " token"));
}

/* Attack: options before the key (sshd obeys them: a forced command, an agent socket, ...). */
static void option_prefix_refused(void **state)
{
	(void)state;
	assert_false(key_ok("command=\"/bin/sh\" " ED25519 " x"));
	assert_false(key_ok("no-pty " ED25519));
	assert_false(key_ok("restrict," ED25519));
	assert_false(key_ok("environment=\"LD_PRELOAD=/tmp/x.so\" " ED25519));
	assert_false(key_ok(" " ED25519)); /* a leading space */
}

/* Attack: a second line in a key field is a second key, with options of its own. */
static void newline_injection_refused(void **state)
{
	(void)state;
	assert_false(key_ok(ED25519 " a\ncommand=\"id\" " ED25519 " b"));
	assert_false(key_ok(ED25519 "\n"));
	assert_false(key_ok(ED25519 " a\r"));
	assert_false(key_ok(ED25519 " a\rcommand=\"id\" " ED25519));
}

/* Attack: the line says one type and the blob is another (or no key at all). */
static void type_mismatch_refused(void **state)
{
	(void)state;
	assert_false(key_ok("ssh-rsa " ED25519_BLOB " x"));
	assert_false(key_ok("ecdsa-sha2-nistp256 " ED25519_BLOB));
	assert_false(key_ok("sk-ssh-ed25519@openssh.com " ED25519_BLOB));
	/* nistp256 in the type, nistp384 as the blob's curve */
	assert_false(
		key_ok("ecdsa-sha2-nistp256 "
		       "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAzODQAAABBBKpVmrIbAGZTreEDDj"
		       "ERPTMPHjiRUrY86p4L+1PUOMZ66uY+h3Wwu1KQtiyEiSmnqNJQxkxF4qtZchFp3Kd+no0="));
	/* a type sshd knows but this list does not: certificates, DSA */
	assert_false(key_ok("ssh-ed25519-cert-v01@openssh.com " ED25519_BLOB));
	assert_false(key_ok("ssh-dss " ED25519_BLOB));
	assert_false(key_ok("SSH-ED25519 " ED25519_BLOB));
}

static void truncated_or_padded_blob_refused(void **state)
{
	(void)state;
	/* the blob less its last byte, re-encoded canonically */
	assert_false(
		key_ok("ssh-ed25519 "
		       "AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucMhRJz6x1XaV0="));
	/* the base64 text cut (not a multiple of 4), and cut at a multiple of 4 */
	assert_false(key_ok("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucM"
			    "hRJz6x1XaV1"));
	assert_false(key_ok("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdS"));
	assert_false(key_ok("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")); /* the type string alone */
	/* a byte after the key */
	assert_false(
		key_ok("ssh-ed25519 "
		       "AAAAC3NzaC1lZDI1NTE5AAAAIMl0yHqQEqPWvb8OcEdSoRqAn0/9iucMhRJz6x1XaV1wAA=="));
	/* a 31-byte Ed25519 key, a FIDO key without its application, a 512-bit RSA key */
	assert_false(
		key_ok("ssh-ed25519 "
		       "AAAAC3NzaC1lZDI1NTE5AAAAHxERERERERERERERERERERERERERERERERERERERERE="));
	assert_false(key_ok("sk-ssh-ed25519@openssh.com "
			    "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIBERERERERERERERERERERERER"
			    "ERERERERERERERERERER"));
	assert_false(key_ok("ssh-rsa "
			    "AAAAB3NzaC1yc2EAAAADAQABAAAAQQDBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"
			    "HBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcEB"));
	/* non-canonical base64: the unused bits before the padding set ("no0=" as "no1=") */
	{
		char p256[] = P256;
		p256[strlen(p256) - 2] = '1';
		assert_false(key_ok(p256));
	}
	assert_false(key_ok("ssh-ed25519 "));
	assert_false(key_ok("ssh-ed25519"));
	assert_false(key_ok(""));
}

/* Tabs, doubled spaces, NUL, bytes past ASCII: sshd splits on any blank, we on one space. */
static void separators_and_bytes_refused(void **state)
{
	static const char nul[] = ED25519 " a\0command=\"id\"";
	char big[RP_SSH_KEY_LINE_MAX + 2];
	(void)state;

	assert_false(key_ok("ssh-ed25519\t" ED25519_BLOB));
	assert_false(key_ok(ED25519 "\tcomment"));
	assert_false(key_ok("ssh-ed25519  " ED25519_BLOB));
	assert_false(key_ok(ED25519 "  two spaces"));
	assert_false(key_ok(ED25519 " ")); /* an empty comment */
	assert_false(rp_ssh_key_valid(nul, sizeof(nul) - 1));
	assert_false(key_ok(ED25519 " caf\xc3\xa9"));
	assert_false(key_ok(ED25519 " \x1b[2Jscreen"));
	assert_false(key_ok(ED25519 " del\x7f"));

	/* the comment's cap, and the line's */
	memset(big, 0, sizeof(big));
	snprintf(big, sizeof(big), "%s ", ED25519);
	memset(big + strlen(big), 'c', RP_SSH_KEY_COMMENT_MAX);
	assert_true(key_ok(big));
	big[strlen(big)] = 'c';
	assert_false(key_ok(big));
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(rp_ssh_key_valid(big, RP_SSH_KEY_LINE_MAX + 1));
}

static void sudo_commands(void **state)
{
	char big[RP_SUDO_COMMAND_MAX + 2];
	(void)state;

	assert_true(cmd_ok("/usr/bin/systemctl restart nginx"));
	assert_true(cmd_ok("/usr/bin/journalctl -u nginx *"));
	assert_true(cmd_ok("/"));
	assert_false(cmd_ok(""));
	assert_false(cmd_ok("systemctl restart nginx")); /* relative: any program of that name */
	assert_false(cmd_ok("ALL"));
	assert_false(cmd_ok("sudoedit /etc/hosts"));
	/* Attack: a list separator adds a command; ':' and '=' start another spec or a Defaults. */
	assert_false(cmd_ok("/bin/ls, /bin/sh"));
	assert_false(cmd_ok("/bin/ls : ALL = (ALL) ALL"));
	assert_false(cmd_ok("/bin/ls\nalice ALL=(ALL) ALL"));
	assert_false(cmd_ok("/bin/ls\\")); /* a continuation onto the next line */
	assert_false(cmd_ok("/bin/ls !/bin/sh"));
	assert_false(cmd_ok("/bin/ls #comment"));
	assert_false(cmd_ok("/bin/ls %admins"));
	assert_false(cmd_ok("/bin/ls \"\""));
	assert_false(cmd_ok("/bin/ls 'x'"));
	assert_false(cmd_ok("/bin/ls (ALL)"));
	assert_false(cmd_ok("/bin/ls\t-l"));
	assert_false(cmd_ok("/bin/ls  -l"));
	assert_false(cmd_ok("/bin/ls -l "));
	assert_false(cmd_ok("/bin/l\xc3\xa9"));
	assert_false(rp_sudo_command_valid("/bin/ls\0 -l", 11));

	memset(big, 'a', sizeof(big));
	big[0] = '/';
	assert_true(rp_sudo_command_valid(big, RP_SUDO_COMMAND_MAX));
	assert_false(rp_sudo_command_valid(big, RP_SUDO_COMMAND_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_keys_accepted),
		cmocka_unit_test(option_prefix_refused),
		cmocka_unit_test(newline_injection_refused),
		cmocka_unit_test(type_mismatch_refused),
		cmocka_unit_test(truncated_or_padded_blob_refused),
		cmocka_unit_test(separators_and_bytes_refused),
		cmocka_unit_test(sudo_commands),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("sshkey", tests, NULL, NULL);
}
