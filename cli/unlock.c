/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart key unlock|lock: an encrypted key file's key handed to ssh-agent
 * for a while (SSH_AGENT_CONSTRAIN_LIFETIME), so that the commands of a
 * working session ask for the passphrase once, not at every command.
 *
 * Why ssh-agent and not a cache of our own: the agent already exists on an
 * administrator's machine, keeps the key in one process that other users
 * cannot read (its socket is 0600 in a 0700 directory), forgets it at the
 * lifetime the agent itself enforces (no daemon of ours to trust to expire
 * it, nothing written to disk), and signer.c already signs through it. The
 * cost is the agent's: anything running as this user may ask it to sign
 * until the lifetime ends, as it may with any key in the agent; keep the
 * lifetime short, and `rampart key lock' ends it at once.
 *
 * A key file is used through the agent when the file is encrypted, its
 * FILE.vkey names the key, and the agent holds that key: every signature
 * is still verified against the verifier key before use (lib/signer.h).
 */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

#define UNLOCK_DEFAULT_S (15 * 60)
#define UNLOCK_MAX_S     (12 * 3600)

/* FILE.vkey of a key file; false when there is none that parses. */
static bool vkey_of(const char *path, struct rp_vkey *ret)
{
	char vpath[600];
	struct rp_diag d = {""};

	snprintf(vpath, sizeof(vpath), "%s.vkey", path);
	return access(vpath, R_OK) == 0 && cli_read_vkey(vpath, ret, &d) == 0;
}

int cli_signer_unlocked(struct cli *c, const char *path, struct cli_signer *ret)
{
	struct rp_sshagent conn = {.fd = -1};
	struct rp_sshagent_id *ids = NULL;
	struct rp_diag d = {""};
	struct rp_vkey v;
	const char *sock = cli_agent_path(c);
	char text[RP_NOTE_NAME_MAX + 160];
	size_t n = 0;
	bool held = false;

	if (!sock || !cli_key_encrypted(path) || !vkey_of(path, &v))
		return RP_E_NOTFOUND;
	if (rp_sshagent_connect(sock, &conn, &d) < 0 || rp_sshagent_list(&conn, &ids, &n, &d) < 0) {
		rp_sshagent_close(&conn);
		return RP_E_NOTFOUND;
	}
	for (size_t i = 0; i < n; i++)
		held = held || (ids[i].kind == RP_SSHKEY_ED25519 && !memcmp(ids[i].pub, v.pub, 32));
	free(ids);
	rp_sshagent_close(&conn);
	char *vt = held ? rp_vkey_format(&v) : NULL;
	if (!vt)
		return RP_E_NOTFOUND;
	snprintf(text, sizeof(text), CLI_AGENT_PREFIX "%s", vt);
	free(vt);
	return cli_signer_open(c, text, ret);
}

static int agent_connect(struct cli *c, struct rp_sshagent *conn, const char *what)
{
	const char *sock = cli_agent_path(c);
	struct rp_diag d = {""};

	if (!sock) {
		cli_err("%s: no ssh-agent: SSH_AUTH_SOCK is not set; start one (eval "
			"\"$(ssh-agent)\") or name its socket with --ssh-agent SOCKET",
			what);
		return RP_E_INVAL;
	}
	if (rp_sshagent_connect(sock, conn, &d) < 0) {
		cli_err("%s: %s", what, d.msg);
		return RP_E_NET;
	}
	return 0;
}

int cli_key_unlock(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"for", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *path = c->key_path, *dur = NULL;
	struct rp_sshagent conn = {.fd = -1};
	struct rp_skey k = {0};
	struct rp_vkey v;
	struct rp_diag d = {""};
	int64_t until;
	char comment[RP_NOTE_NAME_MAX + 16], vpath[600];
	int ch, r = CLI_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': dur = optarg; break;
		case 'h':
			printf("Usage: rampart [--key FILE] key unlock [--for DURATION] [FILE]\n"
			       "       rampart [--key FILE] key lock [FILE]\n\n"
			       "unlock asks once for the passphrase of the encrypted key FILE (default\n"
			       "--key) and hands the key to ssh-agent ($SSH_AUTH_SOCK, or --ssh-agent)\n"
			       "for DURATION (default 15m, at most 12h), which the agent enforces: it\n"
			       "forgets the key then. Until then every command run with --key FILE signs\n"
			       "through the agent and asks for no passphrase (FILE.vkey names the key;\n"
			       "each signature is verified against it). lock removes it from the agent\n"
			       "at once. Meanwhile anything running as you may ask the agent to sign\n"
			       "with it: keep DURATION short (docs/cli.md).\n");
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc || !path[0] ||
	    !strncmp(path, CLI_AGENT_PREFIX, strlen(CLI_AGENT_PREFIX))) {
		cli_err("key unlock: expected one key FILE (--key or an argument; a key already "
			"in ssh-agent needs no unlock)");
		return CLI_USAGE;
	}
	if (cli_parse_when(dur ? dur : "15m", 0, &until) < 0 || until < 1 || until > UNLOCK_MAX_S) {
		cli_err("key unlock: --for `%s' is not a duration from 1s to 12h (30m, 2h)", dur);
		return CLI_USAGE;
	}
	if (!cli_key_encrypted(path)) {
		cli_err("key unlock: %s is not an encrypted key file: it asks for no passphrase "
			"(rampart key generate --encrypt makes one)",
			path);
		return CLI_USAGE;
	}
	if (agent_connect(c, &conn, "key unlock") < 0)
		return CLI_FAIL;
	if (cli_load_key(c, path, &k) < 0)
		goto out;
	rp_skey_vkey(&k, &v);
	snprintf(vpath, sizeof(vpath), "%s.vkey", path);
	if (access(vpath, F_OK) != 0) { /* public: written so that later commands find the key */
		char *vt = rp_vkey_format(&v);
		if (!vt || rp_write_file_atomic(vpath, vt, strlen(vt), 0644) < 0) {
			cli_err("key unlock: cannot write %s", vpath);
			free(vt);
			goto out;
		}
		free(vt);
	}
	snprintf(comment, sizeof(comment), "rampart:%s", k.name);
	if (rp_sshagent_add(&conn, k.sk, comment, (uint32_t)until, &d) < 0) {
		cli_err("key unlock: ssh-agent at %s did not take the key: %s", conn.path, d.msg);
		goto out;
	}
	printf("key %s+%08x is in ssh-agent at %s for %llds: commands with --key %s sign through "
	       "it without a passphrase until then (`rampart key lock' ends it now)\n",
	       k.name, k.id, conn.path, (long long)until, path);
	r = CLI_OK;
out:
	rp_skey_wipe(&k);
	rp_sshagent_close(&conn);
	return r;
}

int cli_key_lock(struct cli *c, int argc, char *argv[])
{
	struct rp_sshagent conn = {.fd = -1};
	struct rp_diag d = {""};
	struct rp_vkey v;
	const char *path = c->key_path;
	int r;

	if (cli_is_help(argc, argv))
		return cli_key_unlock(c, argc, argv);
	if (argc == 2)
		path = argv[1];
	if (argc > 2 || !path[0] || !vkey_of(path, &v)) {
		cli_err("key lock: expected a key FILE with its FILE.vkey (--key or an argument)");
		return CLI_USAGE;
	}
	if (agent_connect(c, &conn, "key lock") < 0)
		return CLI_FAIL;
	r = rp_sshagent_remove(&conn, v.pub, &d);
	if (r == RP_E_NOTFOUND)
		printf("key %s+%08x was not in ssh-agent at %s\n", v.name, v.id, conn.path);
	else if (r < 0)
		cli_err("key lock: %s", d.msg);
	else
		printf("key %s+%08x removed from ssh-agent at %s\n", v.name, v.id, conn.path);
	rp_sshagent_close(&conn);
	return r < 0 && r != RP_E_NOTFOUND ? CLI_FAIL : CLI_OK;
}
