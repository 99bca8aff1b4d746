/* SPDX-License-Identifier: Apache-2.0 */
/* rampart: the administrator's command-line tool. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

static const struct cli_cmd commands[] = {
	{"key", cmd_key, "generate an administrator's signing key"},
	{"org", cmd_org, "build root policy version 1 for a new organisation"},
	{"policy", cmd_policy, "sign, show, upload or trust a root policy"},
	{"config", cmd_config, "show or save the server, pin, org and key to use"},
	{"enroll-token", cmd_enroll_token,
	 "make an enrolment token: one device, or (--reusable) a fleet"},
	{"devices", cmd_devices, "list enrolled devices"},
	{"run", cmd_run, "sign and submit a command for some devices"},
	{"upgrade", cmd_upgrade, "upload an agent package and sign its upgrade for some devices"},
	{"releases", cmd_releases, "list the agent releases of upgrade commands, verified"},
	{"enroll-command", cmd_enroll_command,
	 "print the line that installs, enrols and starts an agent"},
	{"approve", cmd_approve, "review a pending command and add your signature"},
	{"commands", cmd_commands, "list commands"},
	{"results", cmd_results, "show a command's results per device"},
	{"output", cmd_output, "print the whole output of a command's result on a device"},
	{"pending", cmd_pending, "list what awaits your signature"},
	{"cancel", cmd_cancel, "sign a cancel: a command that has not started never runs"},
	{"reject", cmd_reject, "an approver's no: a command awaiting approval never runs"},
	{"alerts", cmd_alerts, "list or acknowledge security alerts raised by agents"},
	{"token", cmd_token, "create, list or revoke API tokens"},
	{"rotate", cmd_rotate, "revoke every API token or unused enrolment token at once"},
	{"note", cmd_note, "sign or verify a signed note on stdin"},
	{"audit", cmd_audit, "verify the transparency log and print what was authorised"},
	{"directory", cmd_directory, "show the signed directory, or the change a statement makes"},
	{"user", cmd_user, "add, edit, suspend or remove a user of the directory"},
	{"group", cmd_group, "add, edit or remove a user group"},
	{"device-group", cmd_device_group, "manage device groups, their devices and tags"},
	{"bind", cmd_bind, "grant a user group login or sudo on a device group"},
	{"unbind", cmd_bind, "end a user group's grant on a device group"},
	{"drift", cmd_drift, "show a device's drift from the directory, or have it repaired"},
};

bool cli_security_seen;
/* An error message pointed at --help already (main adds the hint otherwise). */
static bool cli_hinted;

void cli_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	/*
	 * Messages quote the server (its error messages, statement fields):
	 * the whole line goes through the terminal filter, so none of it can
	 * move the cursor or fake a second line.
	 */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strstr(msg, "SECURITY"))
		cli_security_seen = true;
	if (strstr(msg, "--help"))
		cli_hinted = true;
	fflush(stdout); /* what was printed first reads first, in a log too */
	fputs("rampart: ", stderr);
	cli_put(stderr, msg);
	fputc('\n', stderr);
}

bool cli_is_help(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

static void set(char *dst, size_t n, const char *v)
{
	size_t k = strnlen(v, n - 1);

	memcpy(dst, v, k);
	dst[k] = '\0';
}

static void config_load(struct cli *c)
{
	char *buf = NULL;
	size_t len;
	struct rp_cursor cur;
	const char *line, *w, *v;
	size_t llen, wlen, vlen;

	if (rp_read_file(c->config_path, RP_CLI_CONFIG_MAX, &buf, &len) < 0)
		return;
	cur.p = buf;
	cur.n = len;
	while (rp_cursor_line(&cur, &line, &llen) == 1) {
		if (llen == 0 || line[0] == '#' || !rp_split_word(line, llen, &w, &wlen, &v, &vlen))
			continue;
		char val[512];
		snprintf(val, sizeof(val), "%.*s", (int)vlen, v);
		if (rp_memeq(w, wlen, "server"))
			set(c->server, sizeof(c->server), val);
		else if (rp_memeq(w, wlen, "pin"))
			set(c->pin, sizeof(c->pin), val);
		else if (rp_memeq(w, wlen, "org"))
			set(c->org, sizeof(c->org), val);
		else if (rp_memeq(w, wlen, "key"))
			set(c->key_path, sizeof(c->key_path), val);
		else if (rp_memeq(w, wlen, "token"))
			set(c->token, sizeof(c->token), val);
	}
	free(buf);
}

static void env_load(struct cli *c)
{
	const char *e;

	if ((e = getenv("RAMPART_SERVER")))
		set(c->server, sizeof(c->server), e);
	if ((e = getenv("RAMPART_PIN")))
		set(c->pin, sizeof(c->pin), e);
	if ((e = getenv("RAMPART_ORG")))
		set(c->org, sizeof(c->org), e);
	if ((e = getenv("RAMPART_KEY")))
		set(c->key_path, sizeof(c->key_path), e);
	if ((e = getenv("RAMPART_TOKEN")))
		set(c->token, sizeof(c->token), e);
}

int cli_trusted_policy_path(const struct cli *c, const char *org, char *out, size_t n)
{
	int k = snprintf(out, n, "%s/%s.policy", c->config_dir, org);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : 0;
}

int cli_genesis_policy_path(const struct cli *c, const char *org, char *out, size_t n)
{
	int k = snprintf(out, n, "%s/%s.v1.policy", c->config_dir, org);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : 0;
}

/*
 * The server keys a trusted root policy names (server-pin lines) are
 * accepted besides the configured pin, so that the CLI follows a TLS key
 * rotation the administrators signed as agents do (docs/operating.md).
 */
void cli_policy_pins(struct cli *c, const struct rp_policy *p)
{
	struct rp_https_client *h = &c->api.http;

	h->npins = 0;
	if (p->npins == 0)
		return;
	memcpy(h->pins[h->npins++], h->pin, 32);
	for (size_t i = 0; i < p->npins && h->npins < RP_POLICY_PINS_MAX; i++)
		if (memcmp(p->pins[i], h->pin, 32) != 0)
			memcpy(h->pins[h->npins++], p->pins[i], 32);
}

void cli_trusted_pins(struct cli *c)
{
	struct rp_policy *p = NULL;
	char path[600], *buf = NULL;
	size_t len;

	if (cli_trusted_policy_path(c, c->org, path, sizeof(path)) < 0 ||
	    rp_read_file(path, RP_NOTE_MAX, &buf, &len) < 0)
		return;
	if (rp_policy_parse(buf, len, &p, NULL) == 0 &&
	    rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, NULL) == 0)
		cli_policy_pins(c, p);
	rp_policy_free(p);
	free(buf);
}

int cli_need_server(struct cli *c, bool need_key)
{
	struct rp_diag d = {""};

	if (!c->server[0] || !c->pin[0] || !c->org[0]) {
		cli_err("no server, pin or org configured: use --server/--pin/--org, "
			"RAMPART_SERVER/RAMPART_PIN/RAMPART_ORG or `rampart config'");
		return c->usage_error = true, RP_E_INVAL;
	}
	if (!rp_org_name_valid(c->org, strlen(c->org))) {
		cli_err("--org `%s' is not an org name (a-z, 0-9, '-')", c->org);
		return c->usage_error = true, RP_E_INVAL;
	}
	if (rp_url_parse(c->server, &c->api.http.url, &d) < 0) {
		cli_err("--server `%s': %s", c->server, d.msg);
		return c->usage_error = true, RP_E_INVAL;
	}
	if (rp_pin_parse(c->pin, c->api.http.pin, &d) < 0) {
		cli_err("--pin `%s': %s", c->pin, d.msg);
		return c->usage_error = true, RP_E_INVAL;
	}
	c->api.http.timeout_ms = 30000;
	if (need_key || !c->token[0]) {
		if (!c->key_path[0]) {
			cli_err("no signing key configured: use --key, RAMPART_KEY or `rampart config --key'");
			return c->usage_error = true, RP_E_INVAL;
		}
		if (!c->signer.open && cli_signer_open(c, c->key_path, &c->signer) < 0)
			return RP_E_KEY;
		c->api.signer = &c->signer.s;
	} else {
		c->api.bearer = c->token;
	}
	/*
	 * Every command that talks to the server brings the trusted root policy
	 * up to the server's verified chain first, and warns of its expiry
	 * (trust.c, rotate.c); a version that does not verify stops it.
	 */
	char path[600];
	if (cli_trusted_policy_path(c, c->org, path, sizeof(path)) == 0 && access(path, F_OK) != 0)
		fprintf(stderr,
			"rampart: note: you trust no root policy of org `%s' (%s): if the server "
			"refuses your key, check --org first\n",
			c->org, path);
	if (!c->policy_checked && cli_trusted_policy_path(c, c->org, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0) {
		struct rp_policy *p = cli_policy(c);
		if (!p)
			return RP_E_POLICY;
		rp_policy_free(p);
	}
	return 0;
}

int cli_confirm(const char *question)
{
	char buf[16];
	FILE *tty = fopen("/dev/tty", "r+e");
	FILE *in = tty ? tty : stdin;

	fprintf(tty ? tty : stderr, "%s [y/N] ", question);
	fflush(tty ? tty : stderr);
	if (!fgets(buf, sizeof(buf), in))
		buf[0] = '\0';
	if (tty)
		fclose(tty);
	return buf[0] == 'y' || buf[0] == 'Y';
}

int cli_confirm_phrase(const char *question, const char *phrase)
{
	char buf[128];
	FILE *tty = fopen("/dev/tty", "r+e");
	FILE *in = tty ? tty : stdin;
	size_t n;

	fprintf(tty ? tty : stderr, "%s `%s': ", question, phrase);
	fflush(tty ? tty : stderr);
	if (!fgets(buf, sizeof(buf), in))
		buf[0] = '\0';
	if (tty)
		fclose(tty);
	n = strcspn(buf, "\r\n");
	return n == strlen(phrase) && memcmp(buf, phrase, n) == 0;
}

int cli_parse_when(const char *s, int64_t now, int64_t *ret)
{
	size_t n = strlen(s);
	uint64_t v;
	int64_t unit;

	if (rp_time_parse(s, n, ret) == 0)
		return 0;
	if (n < 2)
		return RP_E_MALFORMED;
	switch (s[n - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return RP_E_MALFORMED;
	}
	if (rp_parse_u64(s, n - 1, 10 * 365 * 86400 / (uint64_t)unit, &v) != 0)
		return RP_E_MALFORMED;
	*ret = now + (int64_t)v * unit;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: rampart [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
		   "Rampart's administrator tool: your key signs what agents may do; the\n"
		   "server only stores and delivers it.\n\nCommands:\n");
	int w = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		w = (int)strlen(commands[i].name) > w ? (int)strlen(commands[i].name) : w;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-*s  %s\n", w, commands[i].name, commands[i].help);
	fprintf(f,
		"\nGlobal options (also RAMPART_* environment variables and the config file):\n"
		"  --server URL    https://host:port of rampartd\n"
		"  --pin PIN       sha256:<hex> of the server's public key (from `rampartd init')\n"
		"  --org ORG       organisation name\n"
		"  --key FILE      your signing key: a key file (`rampart key generate'), or\n"
		"                  ssh-agent:VKEY for an Ed25519 key kept in ssh-agent, named by\n"
		"                  its verifier key (`rampart key from-ssh-agent')\n"
		"  --ssh-agent SOCKET\n"
		"                  the agent that holds it (default $SSH_AUTH_SOCK)\n"
		"  --token TOKEN   API token for read-only commands instead of a key\n"
		"  --config FILE   config file (default ~/.config/rampart/config)\n"
		"  --json          print what the CLI verified as JSON instead of tables\n"
		"  --version\n\n"
		"\nExit status (every command; docs/cli.md):\n"
		"  0  done (and verified)     1  failed (server error, a device failed, not found)\n"
		"  2  usage error             3  SECURITY: something did not verify\n"
		"  4  refused for its state (a command approved already, expired, or cancelled)\n"
		"  5  a wait ran out with targets that never answered\n"
		"  6  partial: some targets succeeded, others failed\n\n"
		"`rampart COMMAND --help' describes each command.\n");
}

int main(int argc, char *argv[])
{
	struct cli c;
	const char *home = getenv("HOME"), *cfg = getenv("RAMPART_CONFIG");
	int i, r;

	memset(&c, 0, sizeof(c));
	if (sodium_init() < 0) {
		cli_err("libsodium failed to initialise");
		return 1;
	}
	if (cfg)
		set(c.config_path, sizeof(c.config_path), cfg);
	else
		snprintf(c.config_path, sizeof(c.config_path), "%s/.config/rampart/config",
			 home ? home : ".");
	/* Global options come before the command word. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			set(c.config_path, sizeof(c.config_path), argv[++i]);
	}
	snprintf(c.config_dir, sizeof(c.config_dir), "%s", c.config_path);
	char *slash = strrchr(c.config_dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(c.config_dir, sizeof(c.config_dir), ".");
	config_load(&c);
	env_load(&c);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(o, "--version")) {
			printf("rampart %s\n", RP_VERSION);
			return 0;
		}
		if (!strcmp(o, "--json")) {
			c.json = true;
			continue;
		}
		if (i + 1 >= argc) {
			cli_err("option %s needs a value", o);
			return 2;
		}
		const char *v = argv[++i];
		if (!strcmp(o, "--server"))
			set(c.server, sizeof(c.server), v);
		else if (!strcmp(o, "--pin"))
			set(c.pin, sizeof(c.pin), v);
		else if (!strcmp(o, "--org"))
			set(c.org, sizeof(c.org), v);
		else if (!strcmp(o, "--key"))
			set(c.key_path, sizeof(c.key_path), v);
		else if (!strcmp(o, "--token"))
			set(c.token, sizeof(c.token), v);
		else if (!strcmp(o, "--ssh-agent"))
			set(c.ssh_agent, sizeof(c.ssh_agent), v);
		else if (strcmp(o, "--config") != 0) {
			cli_err("unknown option %s (see rampart --help)", o);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	r = -1;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(argv[i], commands[k].name))
			r = commands[k].fn(&c, argc - i, argv + i);
	if (r == -1) {
		cli_err("unknown command `%s' (see rampart --help)", argv[i]);
		r = 2;
	}
	cli_signer_close(&c.signer);
	if (r == CLI_FAIL && cli_security_seen)
		r = CLI_SECURITY;
	else if (r == CLI_FAIL && c.usage_error)
		r = CLI_USAGE;
	/* getopt's own "unrecognized option" names no way out: the hint is added here */
	if (r == CLI_USAGE && !cli_hinted && !c.usage_error && i < argc) {
		fputs("rampart: see `rampart ", stderr);
		cli_put(stderr, argv[i]);
		fputs(" --help'\n", stderr);
	}
	return r;
}
