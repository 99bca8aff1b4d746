/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's signer: a key file (keyfile.c), or an Ed25519 key
 * that ssh-agent holds, so that the key never touches this machine's disk
 * (a hardware-backed agent keeps it off the machine altogether). Every
 * signature, from either, is verified against the configured public key
 * (rp_signer_sign) before a note or a request is built with it.
 *
 * The agent's key is named by its verifier key, because the signed-note
 * key name (alice@acme.example) is not in the agent: --key
 * ssh-agent:alice@acme.example+7a006fab+AdBK... `rampart key
 * from-ssh-agent NAME' prints that text for each key the agent holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rp_err.h"

static const char fido_why[] =
	"FIDO keys (" RP_SSH_SK_ED25519 ") cannot sign for Rampart: their signature covers "
	"a hash of the data with the token's flags and counter, not the data, so it is not the "
	"Ed25519 signature a note or a request carries; keep a plain " RP_SSH_ED25519 " key "
	"in the agent (docs/operating.md)";
static const char other_why[] = "Rampart signs with Ed25519 keys only";

static int agent_sign(void *ctx, const uint8_t *msg, size_t n, uint8_t sig[64], struct rp_diag *d)
{
	struct cli_signer *s = ctx;

	return rp_sshagent_sign(&s->conn, s->s.vkey.pub, msg, n, sig, d);
}

const char *cli_agent_path(const struct cli *c)
{
	const char *e = getenv("SSH_AUTH_SOCK");

	if (c->ssh_agent[0])
		return c->ssh_agent;
	return e && e[0] ? e : NULL;
}

/* Connects to the agent and lists its keys; an error message printed on failure. */
static int agent_keys(const struct cli *c, const char *what, struct rp_sshagent *conn,
		      struct rp_sshagent_id **ret, size_t *ret_n)
{
	const char *path = cli_agent_path(c);
	struct rp_diag d = {""};
	int r;

	if (!path) {
		cli_err("%s: no ssh-agent: SSH_AUTH_SOCK is not set; start one (eval "
			"\"$(ssh-agent)\"; ssh-add KEYFILE) or name its socket with --ssh-agent SOCKET",
			what);
		return RP_E_INVAL;
	}
	if ((r = rp_sshagent_connect(path, conn, &d)) < 0 ||
	    (r = rp_sshagent_list(conn, ret, ret_n, &d)) < 0) {
		cli_err("%s: %s", what, d.msg);
		rp_sshagent_close(conn);
		return r;
	}
	return 0;
}

/* The agent's key type and comment, quoted (the agent is another program). */
static void describe(const struct rp_sshagent_id *id, char *out, size_t n)
{
	char t[2 * RP_SSHAGENT_KEYTYPE_MAX], cm[96];

	rp_quote(t, sizeof(t), id->type, strlen(id->type));
	rp_quote(cm, sizeof(cm), id->comment, strlen(id->comment));
	snprintf(out, n, "%s key `%s'", t, cm);
}

static int open_agent(struct cli *c, const char *vkey, struct cli_signer *ret)
{
	struct rp_sshagent_id *ids = NULL;
	struct rp_diag d = {""};
	size_t n = 0, other = 0;
	const struct rp_sshagent_id *found = NULL, *fido = NULL;
	char desc[256];
	int r;

	if ((r = cli_read_vkey(vkey, &ret->s.vkey, &d)) < 0) {
		cli_err("key ssh-agent:%s: %s", vkey, d.msg);
		return r;
	}
	if (ret->s.vkey.type != RP_KEY_ED25519) {
		cli_err("key ssh-agent:%s: not an Ed25519 signing key (type 0x01)", vkey);
		return RP_E_KEY;
	}
	if ((r = agent_keys(c, "key " CLI_AGENT_PREFIX, &ret->conn, &ids, &n)) < 0)
		return r;
	snprintf(ret->what, sizeof(ret->what), "ssh-agent at %s", ret->conn.path);
	for (size_t i = 0; i < n; i++) {
		if (ids[i].kind == RP_SSHKEY_OTHER)
			other++;
		else if (memcmp(ids[i].pub, ret->s.vkey.pub, 32) != 0)
			continue;
		else if (ids[i].kind == RP_SSHKEY_ED25519 && !found)
			found = &ids[i];
		else if (ids[i].kind == RP_SSHKEY_SK_ED25519 && !fido)
			fido = &ids[i];
	}
	r = RP_E_NOTFOUND;
	if (!found && fido) {
		describe(fido, desc, sizeof(desc));
		cli_err("%s holds %s+%08x only as %s, refused: %s", ret->what, ret->s.vkey.name,
			ret->s.vkey.id, desc, fido_why);
	} else if (!found) {
		char others[128] = "";
		if (other)
			snprintf(others, sizeof(others), ", %zu of them of other types: %s", other,
				 other_why);
		if (n == 0)
			snprintf(others, sizeof(others), "; a locked agent lists none: ssh-add -X");
		cli_err("%s holds no " RP_SSH_ED25519 " key for %s+%08x (it holds %zu key%s%s); "
			"add it with ssh-add, or check the verifier key with `rampart key "
			"from-ssh-agent'",
			ret->what, ret->s.vkey.name, ret->s.vkey.id, n, n == 1 ? "" : "s", others);
	} else {
		ret->s.sign = agent_sign;
		ret->s.ctx = ret;
		ret->s.what = ret->what;
		ret->agent = true;
		ret->open = true;
		r = 0;
	}
	free(ids);
	if (r < 0)
		rp_sshagent_close(&ret->conn);
	return r;
}

int cli_signer_open(struct cli *c, const char *spec, struct cli_signer *ret)
{
	const size_t pn = sizeof(CLI_AGENT_PREFIX) - 1;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->conn.fd = -1;
	if (strncmp(spec, CLI_AGENT_PREFIX, pn) == 0)
		return open_agent(c, spec + pn, ret);
	/* An encrypted key file unlocked into ssh-agent (unlock.c): no passphrase asked. */
	if (cli_signer_unlocked(c, spec, ret) == 0)
		return 0;
	memset(ret, 0, sizeof(*ret));
	ret->conn.fd = -1;
	if ((r = cli_load_key(c, spec, &ret->key)) < 0) {
		rp_skey_wipe(&ret->key); /* whatever a failed parse left there */
		return r;
	}
	rp_signer_skey(&ret->s, &ret->key);
	snprintf(ret->what, sizeof(ret->what), "key file %s", spec);
	ret->s.what = ret->what;
	ret->open = true;
	return 0;
}

void cli_signer_close(struct cli_signer *s)
{
	if (!s->open)
		return;
	if (s->agent)
		rp_sshagent_close(&s->conn);
	rp_skey_wipe(&s->key);
	s->open = false;
}

int cli_key_from_agent(struct cli *c, int argc, char *argv[])
{
	struct rp_sshagent conn = {.fd = -1};
	struct rp_sshagent_id *ids = NULL;
	size_t n = 0, good = 0;
	const char *name;
	char desc[256];

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart [--ssh-agent SOCKET] key from-ssh-agent NAME\n\n"
		       "Prints the verifier key NAME+hexid+base64 of each " RP_SSH_ED25519
		       " key that\n"
		       "ssh-agent holds (the agent at --ssh-agent SOCKET, else $SSH_AUTH_SOCK),\n"
		       "one a line in the agent's order, and on stderr which key each line is.\n"
		       "Give the line to whoever builds the root policy (`rampart org init\n"
		       "--admin'), and sign with --key ssh-agent:VKEY: the private key stays\n"
		       "in the agent. NAME is your key's name in notes (e.g. alice@example.com).\n"
		       "Keys of other types are listed as refused: RSA and ECDSA because Rampart\n"
		       "signs with Ed25519 only, FIDO " RP_SSH_SK_ED25519 " keys because their\n"
		       "signatures are not plain Ed25519 signatures of the data.\n"
		       "Exits 1 when the agent holds no usable key.\n");
		return 0;
	}
	if (argc != 2) {
		cli_err("key from-ssh-agent: expected one NAME (see --help)");
		return 2;
	}
	name = argv[1];
	if (!rp_key_name_valid(name, strlen(name))) {
		cli_err("key from-ssh-agent: `%s' is not a valid key name (printable ASCII, no "
			"spaces or '+')",
			name);
		return 2;
	}
	if (agent_keys(c, "key from-ssh-agent", &conn, &ids, &n) < 0)
		return 1;
	rp_sshagent_close(&conn);
	for (size_t i = 0; i < n; i++) {
		describe(&ids[i], desc, sizeof(desc));
		if (ids[i].kind != RP_SSHKEY_ED25519) {
			cli_err("%s: refused: %s", desc,
				ids[i].kind == RP_SSHKEY_SK_ED25519 ? fido_why : other_why);
			continue;
		}
		struct rp_vkey v = {.type = RP_KEY_ED25519};
		memcpy(v.name, name, strlen(name) + 1);
		memcpy(v.pub, ids[i].pub, 32);
		v.id = rp_key_id(name, strlen(name), RP_KEY_ED25519, v.pub);
		char *t = rp_vkey_format(&v);
		if (!t)
			break;
		printf("%s\n", t);
		fflush(stdout);
		cli_err("%s: %s", desc, t);
		free(t);
		good++;
	}
	free(ids);
	if (good == 0) {
		cli_err("key from-ssh-agent: the agent holds no " RP_SSH_ED25519
			" key (%zu key%s of other types)",
			n, n == 1 ? "" : "s");
		return 1;
	}
	return 0;
}
