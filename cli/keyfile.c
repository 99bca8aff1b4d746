/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart key generate, and loading signer keys, optionally encrypted:
 *   RAMPART+ENCRYPTED+KEY+v1+<base64(salt[16] || nonce[24] || secretbox(key text))>
 * with the box key from Argon2id (libsodium crypto_pwhash, MODERATE limits).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

static const char enc_prefix[] = "RAMPART+ENCRYPTED+KEY+v1+";

static int read_passphrase(const char *prompt, char *out, size_t n)
{
	const char *env = getenv("RAMPART_PASSPHRASE");
	struct termios old, quiet;
	int fd;
	ssize_t k;

	if (env) {
		if (strlen(env) >= n)
			return RP_E_TOOBIG;
		memcpy(out, env, strlen(env) + 1);
		return 0;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cli_err("a passphrase is needed and there is no terminal (set RAMPART_PASSPHRASE)");
		return RP_E_PASSPHRASE;
	}
	(void)!write(fd, prompt, strlen(prompt));
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	k = read(fd, out, n - 1);
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	if (k <= 0)
		return RP_E_PASSPHRASE;
	out[k] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int box_key(const char *pass, const uint8_t salt[16], uint8_t key[32])
{
	if (crypto_pwhash(key, 32, pass, strlen(pass), salt, crypto_pwhash_OPSLIMIT_MODERATE,
			  crypto_pwhash_MEMLIMIT_MODERATE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return RP_E_NOMEM;
	return 0;
}

static char *encrypt_key(const char *text, const char *pass)
{
	size_t tlen = strlen(text), blen = 16 + 24 + crypto_secretbox_MACBYTES + tlen;
	uint8_t *blob = malloc(blen), key[32];
	char *b64 = NULL, *out = NULL;

	if (!blob)
		return NULL;
	randombytes_buf(blob, 16 + 24);
	if (box_key(pass, blob, key) == 0) {
		crypto_secretbox_easy(blob + 40, (const uint8_t *)text, tlen, blob + 16, key);
		b64 = rp_b64_encode(blob, blen);
	}
	sodium_memzero(key, sizeof(key));
	free(blob);
	if (b64) {
		size_t n = sizeof(enc_prefix) + strlen(b64) + 1;
		out = malloc(n);
		if (out)
			snprintf(out, n, "%s%s\n", enc_prefix, b64);
		free(b64);
	}
	return out;
}

int cli_load_key(struct cli *c, const char *path, struct rp_skey *ret)
{
	char *buf = NULL, pass[RP_PASSPHRASE_MAX + 1];
	size_t len;
	struct rp_diag d = {""};
	int r;

	(void)c;
	if ((r = rp_read_file(path, RP_SKEY_FILE_MAX, &buf, &len)) < 0) {
		cli_err("reading key %s: %s", path, rp_strerror(r));
		return r;
	}
	if (len > sizeof(enc_prefix) && memcmp(buf, enc_prefix, sizeof(enc_prefix) - 1) == 0) {
		const char *b = buf + sizeof(enc_prefix) - 1;
		size_t blen = strcspn(b, "\n"), rawlen;
		uint8_t *raw = malloc(blen), key[32];
		char *plain = NULL;

		r = RP_E_KEY;
		if (raw && rp_b64_decode(b, blen, raw, blen, &rawlen) == 0 &&
		    rawlen > 40 + crypto_secretbox_MACBYTES &&
		    (r = read_passphrase("Passphrase for signing key: ", pass, sizeof(pass))) ==
			    0 &&
		    (r = box_key(pass, raw, key)) == 0) {
			size_t plen = rawlen - 40 - crypto_secretbox_MACBYTES;
			plain = malloc(plen + 1);
			if (plain && crypto_secretbox_open_easy((uint8_t *)plain, raw + 40,
								rawlen - 40, raw + 16, key) == 0) {
				plain[plen] = '\0';
				r = rp_skey_parse(plain, plen, ret, &d);
				sodium_memzero(plain, plen);
			} else {
				r = RP_E_PASSPHRASE;
			}
		}
		sodium_memzero(key, sizeof(key));
		sodium_memzero(pass, sizeof(pass));
		free(plain);
		free(raw);
	} else {
		r = rp_skey_parse(buf, len, ret, &d);
	}
	sodium_memzero(buf, len);
	free(buf);
	if (r < 0)
		cli_err("loading key %s: %s%s%s", path, rp_strerror(r), d.msg[0] ? ": " : "",
			d.msg);
	return r;
}

bool cli_key_encrypted(const char *path)
{
	char *buf = NULL;
	size_t len;
	bool enc;

	if (rp_read_file(path, RP_SKEY_FILE_MAX, &buf, &len) < 0)
		return false;
	enc = len > sizeof(enc_prefix) && memcmp(buf, enc_prefix, sizeof(enc_prefix) - 1) == 0;
	sodium_memzero(buf, len);
	free(buf);
	return enc;
}

int cli_read_vkey(const char *arg, struct rp_vkey *ret, struct rp_diag *d)
{
	char *buf = NULL;
	size_t len;
	int r;

	/* A path to a .vkey file, or the key text itself. */
	if (rp_read_file(arg, RP_KEYTEXT_MAX + 2, &buf, &len) == 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			len--;
		r = rp_vkey_parse(buf, len, ret, d);
		free(buf);
	} else {
		r = rp_vkey_parse(arg, strlen(arg), ret, d);
	}
	return r;
}

static int key_generate(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"encrypt", no_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *out = NULL;
	bool encrypt = false;
	char path[512], vpath[600], pass[RP_PASSPHRASE_MAX + 1], pass2[RP_PASSPHRASE_MAX + 1];
	struct rp_skey k;
	struct rp_vkey v;
	char *text = NULL, *vtext = NULL, *file = NULL;
	int ch, r = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:eh", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'e': encrypt = true; break;
		case 'h':
			printf("Usage: rampart key generate NAME [--out FILE] [--encrypt]\n\n"
			       "Makes an Ed25519 signing key named NAME (e.g. alice@example.com):\n"
			       "FILE (default NAME.key, mode 0600) holds the signer key in Go's note\n"
			       "format, or encrypted with a passphrase (Argon2id + XSalsa20-Poly1305)\n"
			       "with --encrypt ($RAMPART_PASSPHRASE or the terminal). The verifier key\n"
			       "is printed and written to FILE.vkey: give it to whoever builds the root policy.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_err("key generate: expected one NAME (see --help)");
		return 2;
	}
	if (rp_skey_generate(argv[optind], &k) < 0) {
		cli_err("key generate: `%s' is not a valid key name (printable ASCII, no spaces or '+')",
			argv[optind]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s", out ? out : argv[optind]);
	if (!out)
		snprintf(path, sizeof(path), "%s.key", argv[optind]);
	snprintf(vpath, sizeof(vpath), "%s.vkey", path);
	text = rp_skey_format(&k);
	rp_skey_vkey(&k, &v);
	vtext = rp_vkey_format(&v);
	if (!text || !vtext)
		goto out;
	if (encrypt) {
		if (read_passphrase("New passphrase: ", pass, sizeof(pass)) < 0 ||
		    read_passphrase("Repeat passphrase: ", pass2, sizeof(pass2)) < 0)
			goto out;
		if (strcmp(pass, pass2) != 0 || strlen(pass) < 8) {
			cli_err("key generate: passphrases differ or are shorter than 8 characters");
			goto out;
		}
		file = encrypt_key(text, pass);
	} else {
		size_t n = strlen(text) + 2;
		file = malloc(n);
		if (file)
			snprintf(file, n, "%s\n", text);
	}
	if (!file)
		goto out;
	/* Never over someone's key, and never a half-written one after a crash. */
	if (rp_write_file_new(path, file, strlen(file), 0600) < 0) {
		cli_err("key generate: creating %s: %s", path, strerror(errno));
		goto out;
	}
	size_t vn = strlen(vtext);
	vtext[vn] = '\n';
	r = rp_write_file_atomic(vpath, vtext, vn + 1, 0644);
	vtext[vn] = '\0';
	if (r < 0) {
		cli_err("key generate: writing %s: %s", vpath, rp_strerror(r));
		r = 1;
		goto out;
	}
	printf("%s\n", vtext);
	fprintf(stderr, "signer key written to %s (keep it secret), verifier key to %s\n", path,
		vpath);
	r = 0;
out:
	sodium_memzero(pass, sizeof(pass));
	sodium_memzero(pass2, sizeof(pass2));
	if (text)
		sodium_memzero(text, strlen(text));
	if (file)
		sodium_memzero(file, strlen(file));
	free(text);
	free(file);
	free(vtext);
	rp_skey_wipe(&k);
	return r;
}

int cmd_key(struct cli *c, int argc, char *argv[])
{
	if (argc >= 2 && !strcmp(argv[1], "generate"))
		return key_generate(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "from-ssh-agent"))
		return cli_key_from_agent(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "unlock"))
		return cli_key_unlock(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "lock"))
		return cli_key_lock(c, argc - 1, argv + 1);
	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart key generate NAME [--out FILE] [--encrypt]\n"
		       "       rampart [--ssh-agent SOCKET] key from-ssh-agent NAME\n"
		       "       rampart [--key FILE] key unlock [--for DURATION] | lock\n\n"
		       "`generate' makes a key file; `from-ssh-agent' prints the verifier key of\n"
		       "each Ed25519 key in ssh-agent, to sign with --key ssh-agent:VKEY; `unlock'\n"
		       "puts an encrypted key file's key in ssh-agent for a while, so that commands\n"
		       "ask for its passphrase once (`rampart key unlock --help').\n");
		return 0;
	}
	cli_err("key: expected `generate', `from-ssh-agent', `unlock' or `lock' (see rampart key "
		"--help)");
	return 2;
}
