/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Commands that talk to the server: config, enroll-token, devices, run,
 * approve, commands, results, alerts, token. The server is not trusted:
 * what these show as true is verified first (trust.c), and every string
 * the server sent is neutralised before it reaches the terminal (out.c).
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "directory.h"
#include "drift.h"
#include "rp_err.h"
#include "release.h"
#include "statement.h"
#include "text.h"
#include "token.h"

/* GET path; the caller prints what it verified. */
json_t *cli_get(struct cli *c, const char *path)
{
	struct rp_diag d = {""};
	json_t *j = NULL;

	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("%s", d.msg);
		return NULL;
	}
	return j;
}

static const char *ago(json_int_t t, char *buf, size_t n)
{
	int64_t s = rp_now() - (int64_t)t;

	if (t <= 0)
		snprintf(buf, n, "never");
	else if (s < 120)
		snprintf(buf, n, "%llds ago", (long long)s);
	else if (s < 7200)
		snprintf(buf, n, "%lldm ago", (long long)s / 60);
	else
		snprintf(buf, n, "%lldh ago", (long long)s / 3600);
	return buf;
}

const char *cli_js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* mkdir -p dir: the parents as umask allows, dir itself 0700. */
static int mkdirs(const char *dir)
{
	char p[512];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -1;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int cmd_config(struct cli *c, int argc, char *argv[])
{
	struct rp_sb sb;
	char *text, key[512];
	size_t len;
	bool save = false;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart [--server URL] [--pin PIN] [--org ORG] [--key FILE|ssh-agent:VKEY] config [--save]\n\n"
		       "Shows the settings in force; with --save writes them to the config file\n"
		       "(%s, its directory created) so later commands need no\n"
		       "options. A key file is saved as an absolute path, so the config works\n"
		       "from any directory. A key kept in ssh-agent is saved as the line `key\n"
		       "ssh-agent:VKEY'. An API token is never printed, only whether one is set.\n"
		       "--json: {\"server\", \"pin\", \"org\", \"key\", \"token_set\", \"config\"}.\n",
		       c->config_path);
		return CLI_OK;
	}
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--save"))
			save = true;
		else {
			cli_err("config: unexpected `%s' (global options such as --server come "
				"before the command word: rampart --server URL config --save)",
				argv[k]);
			return CLI_USAGE;
		}
	}
	/* A relative key path would mean another file from another directory. */
	snprintf(key, sizeof(key), "%s", c->key_path);
	if (key[0] && key[0] != '/' && strncmp(key, CLI_AGENT_PREFIX, strlen(CLI_AGENT_PREFIX))) {
		char *abs = realpath(c->key_path, NULL);
		if (!abs) {
			cli_err("config: --key %s: %s", c->key_path, strerror(errno));
			return CLI_FAIL;
		}
		snprintf(key, sizeof(key), "%s", abs);
		free(abs);
	}
	if (c->json && !save) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "server", c->server, "pin",
				      c->pin, "org", c->org, "key", key, "token_set",
				      c->token[0] != '\0', "config", c->config_path);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
		return o ? CLI_OK : CLI_FAIL;
	}
	rp_sb_init(&sb, RP_CLI_CONFIG_MAX); /* what cli/main.c reads back */
	rp_sb_printf(&sb, "server %s\npin %s\norg %s\nkey %s\n", c->server, c->pin, c->org, key);
	if (save && c->token[0])
		rp_sb_printf(&sb, "token %s\n", c->token);
	else if (c->token[0])
		rp_sb_printf(&sb, "token (set, not shown)\n");
	text = rp_sb_take(&sb, &len);
	if (!text)
		return CLI_FAIL;
	if (save) {
		if (mkdirs(c->config_dir) < 0 ||
		    rp_write_file_atomic(c->config_path, text, len, 0600) < 0) {
			cli_err("config: cannot write %s: %s", c->config_path, strerror(errno));
			free(text);
			return CLI_FAIL;
		}
		printf("saved to %s\n", c->config_path);
	} else {
		fputs(text, stdout);
	}
	free(text);
	return CLI_OK;
}

int cmd_enroll_token(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"expires", required_argument, NULL, 'x'},
		{"policy", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *expires = "24h", *ppath = NULL;
	struct rp_enroll_token t = {0};
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char path[600], *buf = NULL, *tok = NULL, hash[72], tpath[256];
	uint8_t secret[32];
	size_t len;
	json_t *body = NULL, *resp = NULL;
	int ch, r = 1;

	if (cli_enroll_is_reusable(argc, argv))
		return cli_enroll_reusable(c, argc, argv); /* cli/enroll.c */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "x:p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'x': expires = optarg; break;
		case 'p': ppath = optarg; break;
		case 'h':
			printf("Usage: rampart enroll-token [--expires WHEN] [--policy FILE]\n\n"
			       "Prints a one-time token for `rampart-agent enroll --token'. It carries\n"
			       "the server URL, the server key pin, the org, the hash of the root policy\n"
			       "(from your trusted copy, or FILE), a secret and an expiry (default 24h).\n"
			       "The server receives only the secret's hash. Treat the token as a secret\n"
			       "until it is used. Its id goes to stderr: `rampart rotate enroll-tokens\n"
			       "--id ID' revokes it before use.\n\n"
			       "Reusable tokens, for a fleet: rampart enroll-token --reusable --help.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_err("enroll-token: unexpected `%s' (see rampart enroll-token --help)",
			argv[optind]);
		return CLI_USAGE;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	if (ppath)
		snprintf(path, sizeof(path), "%s", ppath);
	else
		cli_trusted_policy_path(c, c->org, path, sizeof(path));
	if (rp_read_file(path, RP_NOTE_MAX, &buf, &len) < 0 ||
	    rp_policy_parse(buf, len, &p, &d) < 0) {
		cli_err("enroll-token: no trusted root policy at %s (%s); pass --policy FILE", path,
			d.msg[0] ? d.msg : "missing");
		goto out;
	}
	if (cli_parse_when(expires, rp_now(), &t.expires) < 0) {
		cli_err("enroll-token: --expires `%s' is not a duration or a time", expires);
		goto out;
	}
	randombytes_buf(secret, sizeof(secret));
	rp_hex_encode(secret, sizeof(secret), t.secret);
	sodium_memzero(secret, sizeof(secret));
	if (strlen(c->api.http.url.base) >= sizeof(t.server)) {
		cli_err("enroll-token: server URL is too long");
		goto out;
	}
	memcpy(t.server, c->api.http.url.base, strlen(c->api.http.url.base) + 1);
	snprintf(t.org, sizeof(t.org), "%s", c->org);
	memcpy(t.policy, p->hash, sizeof(t.policy));
	rp_sha256_text(t.secret, strlen(t.secret), hash);
	body = json_pack("{s:s, s:I}", "secret_hash", hash, "expires", (json_int_t)t.expires);
	snprintf(tpath, sizeof(tpath), "/v1/orgs/%s/enroll-tokens", c->org);
	/*
	 * The token names the key the server presented: one the configured pin
	 * or the trusted policy's server-pin lines accept, so a token made after
	 * a TLS key rotation names the new key, not the configured one.
	 */
	struct rp_https_conn conn = {0};
	c->api.conn = &conn;
	r = body ? rp_api_call(&c->api, "POST", tpath, body, &resp, NULL, &d) : RP_E_NOMEM;
	c->api.conn = NULL;
	rp_https_conn_close(&conn);
	if (r >= 0) {
		char hex[65];
		rp_hex_encode(conn.key, 32, hex);
		snprintf(t.pin, sizeof(t.pin), "sha256:%s", hex);
	}
	if (r < 0) {
		cli_err("enroll-token: %s", d.msg[0] ? d.msg : rp_strerror(r));
		r = 1;
		goto out;
	}
	/* On stderr, so that $(rampart enroll-token) is the token alone. */
	fputs("rampart: enrolment token ", stderr);
	cli_put(stderr, cli_js(resp, "id"));
	fputs(" (`rampart rotate enroll-tokens --id ID' revokes it)\n", stderr);
	tok = rp_enroll_token_format(&t);
	if (!tok)
		goto out;
	printf("%s\n", tok);
	r = 0;
out:
	sodium_memzero(&t, sizeof(t));
	if (tok)
		sodium_memzero(tok, strlen(tok));
	free(tok);
	free(buf);
	json_decref(body);
	json_decref(resp);
	rp_policy_free(p);
	return r;
}

/*
 * What every listing command shares: --help, the server, and a GET of
 * /v1/orgs/<org>/<what>. Returns the JSON, or NULL with *rc set.
 */
static json_t *list_get(struct cli *c, int argc, char *argv[], const char *help, const char *what,
			int *rc)
{
	char path[256];
	json_t *j;

	*rc = 0;
	if (cli_is_help(argc, argv)) {
		fputs(help, stdout);
		return NULL;
	}
	*rc = 1;
	if (cli_need_server(c, false) < 0)
		return NULL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/%s", c->org, what);
	if (!(j = cli_get(c, path)))
		return NULL;
	*rc = 0;
	return j;
}

/* The marker after a value that is the server's word, not the device's. */
#define SERVERS_WORD "?"
static const char servers_word_legend[] =
	"? = the server's word: not in facts signed by the device (an agent older than signed facts, or forged)\n";
/* The marker after a hostname that another device key signed too. */
#define CONFLICT_MARK "!"
static const char conflict_legend[] =
	"! = CONFLICT: more than one device key signed this hostname. A signed hostname is the\n"
	"    device's own claim, not a verified identity: one of them may be posing as the\n"
	"    other. Tell them apart by ID\n";

/* How many other device keys signed the hostname f shows for device id. */
static size_t conflicts(const struct cli_hosts *h, const char *id, const struct cli_facts *f)
{
	return f->verified ? cli_hosts_others(h, id, f->facts.hostname, NULL, 0) : 0;
}

/* The marker after a hostname: nothing, SERVERS_WORD or CONFLICT_MARK. */
static const char *host_mark(const struct cli_hosts *h, const char *id, const struct cli_facts *f)
{
	return !f->verified ? SERVERS_WORD : conflicts(h, id, f) ? CONFLICT_MARK : " ";
}

/* The ids of the other device keys that signed the same hostname, for --json. */
static json_t *conflict_json(const struct cli_hosts *h, const char *id, const struct cli_facts *f)
{
	const char *ids[16];
	size_t n = f->verified ? cli_hosts_others(h, id, f->facts.hostname, ids, 16) : 0;
	json_t *a = json_array();

	for (size_t i = 0; a && i < n && i < 16; i++)
		json_array_append_new(a, json_string(ids[i]));
	return a;
}

/* Hostname and OS as the device signed them, or as the server says (marked). */
static void device_names(json_t *v, const struct cli_facts *f, const char **host, const char **os)
{
	*host = f->verified ? f->facts.hostname : cli_js(v, "hostname");
	*os = f->verified ? f->facts.os : cli_js(v, "os");
}

static json_t *device_json(json_t *v, const struct cli_facts *f, const struct cli_hosts *h)
{
	const char *host, *os;

	device_names(v, f, &host, &os);
	return json_pack(
		"{s:s, s:b, s:I, s:b, s:s, s:b, s:o, s:s, s:s, s:s?, s:{s:s, s:s, s:s, s:I, "
		"s:I, s:s}}",
		"id", cli_js(v, "id"), "key_matches_id", f->key_ok, "keys",
		(json_int_t)(f->key_ok ? f->nkeys : 0), "facts_verified", f->verified, "hostname",
		host, "hostname_conflict", conflicts(h, cli_js(v, "id"), f) > 0,
		"hostname_also_signed_by", conflict_json(h, cli_js(v, "id"), f), "os", os,
		"agent_version", f->verified ? f->facts.agent_version : cli_js(v, "agent_version"),
		"problem", f->verified ? NULL : f->problem, "server", "hostname",
		cli_js(v, "hostname"), "os", cli_js(v, "os"), "agent_version",
		cli_js(v, "agent_version"), "last_seen",
		json_integer_value(json_object_get(v, "last_seen")), "enrolled",
		json_integer_value(json_object_get(v, "enrolled")), "alarm", cli_js(v, "alarm"));
}

/* A column as wide as its widest cell (at least min); cut only to fit a terminal. */
static size_t col_width(size_t widest, size_t min, size_t others)
{
	size_t w = cli_width(), cap;

	if (widest < min)
		widest = min;
	if (w == 0 || others + widest <= w)
		return widest;
	cap = w > others + min ? w - others : min;
	return widest < cap ? widest : cap;
}

int cmd_devices(struct cli *c, int argc, char *argv[])
{
	struct cli_hosts hosts;
	char a[32];
	json_t *j, *v, *out = NULL;
	size_t i;
	bool marked = false, conflict = false, drift = false;
	struct rp_drift *dr = NULL;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "remove"))
		return cli_devices_remove(c, argc - 1, argv + 1); /* cli/enroll.c */
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--drift"))
			drift = true;
		else if (strcmp(argv[k], "--help") && strcmp(argv[k], "-h")) {
			cli_err("devices: unknown argument `%s' (--drift, --help)", argv[k]);
			return 2;
		}
	}
	if (drift && !(dr = malloc(sizeof(*dr))))
		return 1;
	j = list_get(
		c, argc, argv,
		"Usage: rampart devices [--drift]\n\nLists the org's enrolled devices: id, hostname, OS, last seen,\n"
		"agent version, and any alarm an agent raised. Hostname and OS come from\n"
		"the facts each device signed at enrolment, checked against its key (whose\n"
		"hash is its id); otherwise they are marked `?', the server's word. A signed\n"
		"hostname is the device's own claim, not a verified identity: a compromised\n"
		"device can sign any name. A hostname signed by more than one device key\n"
		"is marked `!' (CONFLICT); the ID is what tells devices apart. LAST SEEN\n"
		"and ALARM are always the server's word. --json prints this view\n"
		"(\"hostname_conflict\", with the other ids in \"hostname_also_signed_by\").\n\n"
		"LAST SEEN says `online' for a device seen within 90 s (an agent holds a\n"
		"poll, 30 s by default, and is seen at each; the server's word).\n"
		"A device decommissioned in the directory this CLI verified is marked\n"
		"DECOMMISSIONED (`rampart devices remove DEVICE --help').\n\n"
		"  --drift  a DRIFT column: the items of each device's signed drift report\n"
		"           (`rampart drift DEVICE' lists them), `-' for none sent, `?' for one\n"
		"           that does not verify; --json adds \"drift\" (its count, or null)\n",
		"devices", &rc);
	if (!j) {
		free(dr);
		return rc;
	}
	cli_hosts_init(&hosts, c->org, json_object_get(j, "devices"));
	/* HOSTNAME and OS as wide as their longest (the device's word if signed), cut only to fit
	 */
	size_t hw = 8, ow = 8;
	json_array_foreach (json_object_get(j, "devices"), i, v) {
		struct cli_facts f;
		const char *host, *os;
		cli_facts_check(c->org, cli_js(v, "id"), json_object_get(v, "pubkey"),
				json_object_get(v, "keys"), json_object_get(v, "facts"), &f);
		device_names(v, &f, &host, &os);
		hw = strlen(host) > hw ? strlen(host) : hw;
		ow = strlen(os) > ow ? strlen(os) : ow;
	}
	hw = col_width(hw, 8, 32 + 2 + 10 + 8 + 2 * 6 + ow / 2 + 12);
	ow = col_width(ow, 8, 32 + 2 + 10 + 8 + 2 * 6 + hw + 12);
	if (c->json && !(out = json_array())) {
		cli_hosts_release(&hosts);
		json_decref(j);
		return 1;
	}
	if (!c->json)
		printf("%-32s  %-*s  %-*s  %-10s  %-8s  %s%s\n", "ID", (int)hw + 1, "HOSTNAME",
		       (int)ow + 1, "OS", "LAST SEEN", "AGENT", drift ? "DRIFT  " : "", "ALARM");
	json_array_foreach (json_object_get(j, "devices"), i, v) {
		struct cli_facts f;
		const char *host, *os;

		cli_facts_check(c->org, cli_js(v, "id"), json_object_get(v, "pubkey"),
				json_object_get(v, "keys"), json_object_get(v, "facts"), &f);
		char dcell[16] = "";
		int dres = RP_E_NOTFOUND;
		if (drift) {
			char problem[400];
			dres = cli_drift_check(c->org, cli_js(v, "id"), &f,
					       json_object_get(v, "drift"), dr, problem,
					       sizeof(problem));
			snprintf(dcell, sizeof(dcell), "%s",
				 dres == RP_E_NOTFOUND ? "-"
				 : dres < 0            ? "?"
						       : "");
			if (dres == 0)
				snprintf(dcell, sizeof(dcell), "%zu", dr->n);
		}
		bool gone = cli_device_decommissioned(c, cli_js(v, "id"));
		json_int_t seen = json_integer_value(json_object_get(v, "last_seen"));
		bool online = seen > 0 && rp_now() - (int64_t)seen <= CLI_ONLINE_WINDOW_S;
		if (c->json) {
			json_t *o = device_json(v, &f, &hosts);
			char tb[21];
			if (o) {
				json_object_set_new(o, "decommissioned", json_boolean(gone));
				json_object_set_new(o, "online", json_boolean(online && !gone));
				json_object_set_new(o, "kernel",
						    f.verified && f.facts.kernel[0]
							    ? json_string(f.facts.kernel)
							    : json_null());
				rp_time_format(f.facts.booted, tb);
				json_object_set_new(o, "booted",
						    f.verified && f.facts.booted ? json_string(tb)
										 : json_null());
			}
			if (o && drift)
				json_object_set_new(o, "drift",
						    dres == 0 ? json_integer((json_int_t)dr->n)
							      : json_null());
			json_array_append_new(out, o);
			continue;
		}
		device_names(v, &f, &host, &os);
		marked |= !f.verified;
		conflict |= conflicts(&hosts, cli_js(v, "id"), &f) > 0;
		cli_cell(stdout, cli_js(v, "id"), 32);
		fputs("  ", stdout);
		cli_cell(stdout, host, hw);
		fputs(host_mark(&hosts, cli_js(v, "id"), &f), stdout);
		fputs("  ", stdout);
		cli_cell(stdout, os, ow);
		fputs(f.verified ? " " : SERVERS_WORD, stdout);
		fputs("  ", stdout);
		cli_cell(stdout, online && !gone ? "online" : ago(seen, a, sizeof(a)), 10);
		fputs("  ", stdout);
		cli_cell(stdout, f.verified ? f.facts.agent_version : cli_js(v, "agent_version"),
			 8);
		fputs("  ", stdout);
		if (drift) {
			cli_cell(stdout, dcell, 5);
			fputs("  ", stdout);
		}
		if (gone)
			fputs("DECOMMISSIONED ", stdout);
		if (!f.key_ok) {
			fputs("SECURITY: ", stdout);
			cli_put(stdout, f.problem);
			fputc(' ', stdout);
		}
		cli_last(stdout, cli_js(v, "alarm"), 0);
	}
	if (c->json) {
		json_t *o = json_pack("{s:o}", "devices", out);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		if (marked)
			fputs(servers_word_legend, stdout);
		if (conflict)
			fputs(conflict_legend, stdout);
	}
	cli_hosts_release(&hosts);
	json_decref(j);
	free(dr);
	return 0;
}

/* 'a b' -> exec 'a' 'b': one shell word per argument, nothing expanded. */
static char *argv_script(int argc, char *argv[], size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_PAYLOAD_MAX);
	rp_sb_puts(&sb, "exec");
	for (int i = 0; i < argc; i++) {
		rp_sb_puts(&sb, " ");
		rp_sb_shell_word(&sb, argv[i]);
	}
	rp_sb_puts(&sb, "\n");
	return rp_sb_take(&sb, ret_len);
}

static int submit_signatures(struct cli *c, const char *id, const char *note, json_t **ret)
{
	struct rp_diag d = {""};
	char path[256];
	json_t *b = json_pack("{s:s}", "statement", note);
	int r;

	int status = 0;

	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/signatures", c->org, id);
	r = b ? rp_api_call(&c->api, "POST", path, b, ret, &status, &d) : RP_E_NOMEM;
	if (r < 0)
		cli_err("approve: %s", d.msg);
	json_decref(b);
	return r < 0 && status == 409 ? RP_E_CONFLICT : r;
}

/*
 * What a submitted note amounts to, from the note itself and the trusted
 * policy (the server's answer is not evidence), then a check that the
 * server stored it: the command is fetched back and verified.
 */
void cli_report_submitted(struct cli *c, const char *what, const char *id, const char *note,
			  json_t *resp, bool json)
{
	struct rp_policy *p = cli_policy(c);
	struct cli_view mine, stored;
	char path[256];
	json_t *j = NULL;
	int64_t now = rp_now();

	if (!p) {
		printf("command %s %s (unverified: no trusted policy; the server says ", id, what);
		cli_put(stdout, cli_js(resp, "state"));
		printf(")\n");
		return;
	}
	cli_view_init(&mine, p, c->org, id, note);
	cli_view_strict(c, p, &mine);
	memset(&stored, 0, sizeof(stored));
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, id);
	if ((j = cli_get(c, path))) {
		cli_view_init(&stored, p, c->org, id, cli_js(j, "statement"));
		cli_view_strict(c, p, &stored);
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:o, s:o*}", "id", id, "submitted",
				      cli_view_json(&mine, now), "stored",
				      stored.cmd ? cli_view_json(&stored, now) : NULL);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		printf("command %s %s: %s (%zu of %u %s signatures verified)\n", id, what,
		       cli_view_state(&mine, now), mine.count, mine.threshold,
		       rp_role_name(mine.role));
		if (!stored.cmd)
			printf("WARNING: the server's copy of %s could not be verified: %s\n", id,
			       j ? stored.problem : "not fetched");
		else if (stored.count < mine.count)
			printf("WARNING: the server's copy of %s carries only %zu of those %zu valid "
			       "signatures: it did not store yours\n",
			       id, stored.count, mine.count);
	}
	cli_view_release(&mine);
	cli_view_release(&stored);
	json_decref(j);
	rp_policy_free(p);
}

int cli_add_targets(struct rp_command *cmd, const char *what, const char *arg)
{
	for (const char *tok = arg; *tok;) {
		size_t n = strcspn(tok, ", ");
		if (!rp_target_valid(tok, n) || cmd->ntargets == RP_STATEMENT_TARGETS_MAX) {
			cli_err("%s: `%.*s' is not a device id (32 hex digits, see `rampart "
				"devices'), group:DEVICE-GROUP, tag:TAG or all",
				what, (int)n, tok);
			return -1;
		}
		memcpy(cmd->targets[cmd->ntargets++], tok, n);
		tok += n;
		tok += strspn(tok, ", ");
	}
	return 0;
}

int cli_command_submit(struct cli *c, const char *what, struct rp_command *cmd,
		       const uint8_t *payload, size_t plen)
{
	struct rp_command *chk = NULL;
	struct rp_diag d = {""};
	char *text = NULL, *note = NULL, *b64 = NULL, path[256];
	size_t tlen, nlen;
	json_t *body = NULL, *resp = NULL;
	int r = -1;

	rp_sha256(payload, plen, cmd->payload_hash);
	cmd->payload_size = plen;
	text = rp_command_format(cmd, &tlen);
	if (!text || rp_command_parse_text(text, tlen, &chk, &d) < 0) {
		cli_err("%s: %s", what, text ? d.msg : "out of memory");
		goto out;
	}
	if (rp_note_sign_by(text, tlen, NULL, &c->signer.s, &note, &nlen, &d) < 0) {
		cli_err("%s: not signed, nothing submitted: %s", what, d.msg);
		goto out;
	}
	if (!(b64 = rp_b64_encode(payload, plen)))
		goto out;
	body = json_pack("{s:s, s:s}", "statement", note, "payload", b64);
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands", c->org);
	if (!body || rp_api_call(&c->api, "POST", path, body, &resp, NULL, &d) < 0) {
		cli_err("%s: %s", what, d.msg);
		goto out;
	}
	cli_report_submitted(c, "submitted", cmd->id, note, resp, c->json);
	r = 0;
out:
	rp_command_free(chk);
	free(text);
	free(note);
	free(b64);
	json_decref(body);
	json_decref(resp);
	return r;
}

int cmd_run(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'A'},
		{"timeout", required_argument, NULL, 'T'},
		{"run-as", required_argument, NULL, 'u'},
		{"expires", required_argument, NULL, 'x'},
		{"not-before", required_argument, NULL, 'n'},
		{"comment", required_argument, NULL, 'c'},
		{"script", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_command cmd = {0};
	const char *expires = "1h", *not_before = NULL, *script = NULL;
	char *payload = NULL;
	size_t plen = 0;
	uint64_t v;
	int ch, r = CLI_USAGE; /* until the options are judged */

	cmd.timeout = 60;
	snprintf(cmd.run_as, sizeof(cmd.run_as), "root");
	cmd.targets = calloc(RP_STATEMENT_TARGETS_MAX, sizeof(*cmd.targets));
	if (!cmd.targets)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+t:T:u:x:n:c:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (cli_add_targets(&cmd, "run", optarg) < 0)
				goto out;
			break;
		case 'A':
			if (cmd.ntargets == RP_STATEMENT_TARGETS_MAX)
				goto out;
			snprintf(cmd.targets[cmd.ntargets++], RP_TARGET_MAX + 1, "all");
			break;
		case 'T':
			if (rp_parse_u64(optarg, strlen(optarg), RP_TIMEOUT_MAX_S, &v) != 0 ||
			    v == 0) {
				cli_err("run: --timeout `%s' is not 1 to %d seconds", optarg,
					RP_TIMEOUT_MAX_S);
				goto out;
			}
			cmd.timeout = (uint32_t)v;
			break;
		case 'u':
			if (!rp_user_name_valid(optarg, strlen(optarg))) {
				cli_err("run: --run-as `%s' is not a valid user name", optarg);
				goto out;
			}
			snprintf(cmd.run_as, sizeof(cmd.run_as), "%s", optarg);
			break;
		case 'x': expires = optarg; break;
		case 'n': not_before = optarg; break;
		case 'c': snprintf(cmd.comment, sizeof(cmd.comment), "%s", optarg); break;
		case 's': script = optarg; break;
		case 'h':
			printf("Usage: rampart run --to DEVICE...|--all [--timeout S] [--run-as USER] [--expires WHEN]\n"
			       "                   [--not-before WHEN] [--comment TEXT] (--script FILE | -- CMD...)\n\n"
			       "Builds a command statement, signs it with your key and submits it. Agents\n"
			       "run it only once enough `exec' administrators have signed (see `approve').\n\n"
			       "  --to DEVICE     device id, group:DEVICE-GROUP, tag:TAG or all; repeat or\n"
			       "                  separate with commas. Groups and tags are the signed\n"
			       "                  directory's, resolved by each device (not the server)\n"
			       "  --all           every device of the org (--to all)\n"
			       "  --timeout S     seconds before the agent kills it and all it started (default 60)\n"
			       "  --run-as USER   local account (/etc/passwd) it runs as (default root)\n"
			       "  --not-before WHEN\n"
			       "                  start (default now). Once approved, the server holds\n"
			       "                  it back (state `scheduled') and logs it only then, so\n"
			       "                  it runs at that time, after everything approved before\n"
			       "                  it became due; agents refuse it if delivered earlier\n"
			       "                  (more than 300 s early by their clock)\n"
			       "  --expires WHEN  default 1h after the start; from then on the server no\n"
			       "                  longer delivers it and agents refuse it (exactly, by\n"
			       "                  their clock), so a command shown expired never ran\n"
			       "  WHEN            a time YYYY-MM-DDTHH:MM:SSZ or a duration (30s, 10m,\n"
			       "                  1h, 2d) from now, for --expires from the start; the\n"
			       "                  clocks of server and agents must agree (NTP)\n"
			       "  --comment TEXT  free text kept in the signed statement\n"
			       "  --script FILE   run FILE (by /bin/sh, or its #! line)\n"
			       "  -- CMD...       run CMD with these arguments, unexpanded\n");
			free(cmd.targets);
			return 0;
		default: goto out;
		}
	}
	if (cmd.ntargets == 0 || (!script && optind >= argc) || (script && optind < argc)) {
		cli_err("run: need --to DEVICE and either --script FILE or -- CMD... (see --help)");
		goto out;
	}
	r = CLI_FAIL;
	if (cli_need_server(c, true) < 0)
		goto out;
	/* after cli_need_server: the directory is fetched from the server configured */
	for (size_t i = 0; i < cmd.ntargets; i++)
		if (rp_id_valid(cmd.targets[i], strlen(cmd.targets[i])) &&
		    cli_device_decommissioned(c, cmd.targets[i])) {
			cli_err("run: device %s is decommissioned (the verified directory says "
				"so): not a target",
				cmd.targets[i]);
			goto out;
		}
	if (script) {
		int k = rp_read_file(script, RP_PAYLOAD_MAX, &payload, &plen);
		if (k < 0) {
			cli_err("run: reading %s: %s", script, rp_strerror(k));
			goto out;
		}
	} else if (!(payload = argv_script(argc - optind, argv + optind, &plen))) {
		cli_err("run: command is larger than %d bytes", RP_PAYLOAD_MAX);
		goto out;
	}
	int64_t now = rp_now();
	snprintf(cmd.org, sizeof(cmd.org), "%s", c->org);
	rp_random_hex(cmd.id, RP_ID_HEX / 2);
	cmd.not_before = now;
	if ((not_before && cli_parse_when(not_before, now, &cmd.not_before) < 0) ||
	    cli_parse_when(expires, cmd.not_before, &cmd.expires) < 0) {
		cli_err("run: --expires/--not-before must be a duration (1h, 30m) or a time");
		goto out;
	}
	if (cli_command_submit(c, "run", &cmd, (const uint8_t *)payload, plen) < 0)
		goto out;
	r = 0;
out:
	free(cmd.targets);
	free(payload);
	return r;
}

/*
 * A payload is shown unless it holds a NUL (a binary, not a script); what
 * a terminal would obey in it is escaped by cli_fenced, and announced.
 */
static bool showable(const uint8_t *p, size_t n)
{
	return memchr(p, '\0', n) == NULL;
}

/* Each target of the statement with its hostname, as the device signed it or marked. */
static void show_targets(struct cli *c, const struct rp_command *cmd)
{
	struct cli_hosts hosts;
	char path[256];
	json_t *j, *devs;
	bool marked = false, conflict = false;

	snprintf(path, sizeof(path), "/v1/orgs/%s/devices", c->org);
	j = cli_get(c, path);
	devs = j ? json_object_get(j, "devices") : NULL;
	cli_hosts_init(&hosts, c->org, devs);
	/*
	 * A device group, a tag or `all' is resolved here as each device will
	 * resolve it: against the directory this CLI verified (every device the
	 * server lists, for `all'), so the hostnames shown are where it runs.
	 */
	size_t nids = 0;
	char(*ids)[RP_TARGET_MAX + 1] = NULL;
	const struct rp_dir_state *ds = NULL;
	if (cmd->by_directory || cmd->all_devices) {
		struct rp_policy *p = cli_policy(c);
		ds = p ? cli_directory_once(c, p) : NULL;
		rp_policy_free(p);
		for (size_t i = 0; i < cmd->ntargets; i++)
			printf("  %s\n", cmd->targets[i]);
		if (!ds)
			printf("WARNING: the directory could not be verified: the devices these "
			       "targets reach are not shown\n");
	}
	size_t cap = cmd->ntargets + (ds ? ds->dir.ndevices : 0) + json_array_size(devs);
	ids = calloc(cap ? cap : 1, sizeof(*ids));
	for (size_t i = 0; ids && i < cmd->ntargets; i++)
		if (rp_id_valid(cmd->targets[i], strlen(cmd->targets[i])))
			memcpy(ids[nids++], cmd->targets[i], sizeof(ids[0]));
	if (ids && ds && cmd->all_devices) {
		json_t *v;
		size_t k;
		json_array_foreach (devs, k, v)
			if (rp_id_valid(cli_js(v, "id"), strlen(cli_js(v, "id"))))
				snprintf(ids[nids++], sizeof(ids[0]), "%s", cli_js(v, "id"));
	} else if (ids && ds) {
		for (size_t k = 0; k < ds->dir.ndevices; k++) {
			const char *id = ds->dir.devices[k]->id;
			bool dup = false;
			for (size_t m = 0; m < nids && !dup; m++)
				dup = !strcmp(ids[m], id);
			if (!dup && rp_dir_command_targets(&ds->dir, cmd, id))
				snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
		}
	}
	printf("---- target devices (%zu) ----\n", nids);
	for (size_t i = 0; i < nids; i++) {
		json_t *v, *dev = NULL;
		struct cli_facts f;
		size_t k;

		json_array_foreach (devs, k, v)
			if (!strcmp(cli_js(v, "id"), ids[i]))
				dev = v;
		printf("  %s  ", ids[i]);
		if (!dev) {
			printf("(not a device the server lists)\n");
			continue;
		}
		cli_facts_check(c->org, ids[i], json_object_get(dev, "pubkey"),
				json_object_get(dev, "keys"), json_object_get(dev, "facts"), &f);
		if (f.verified) {
			const char *others[4];
			size_t n = cli_hosts_others(&hosts, ids[i], f.facts.hostname, others, 4);
			cli_put(stdout, f.facts.hostname);
			printf(" (signed by the device)");
			if (n) {
				printf(" " CONFLICT_MARK
				       " CONFLICT: also signed by %zu other device%s:",
				       n, n == 1 ? "" : "s");
				for (size_t m = 0; m < n && m < 4; m++) {
					putchar(' ');
					cli_put(stdout, others[m]);
				}
				printf("%s", n > 4 ? " ..." : "");
				conflict = true;
			}
			putchar('\n');
		} else {
			cli_put(stdout, cli_js(dev, "hostname"));
			printf(" " SERVERS_WORD "\n");
			marked = true;
		}
	}
	if (marked)
		fputs(servers_word_legend, stdout);
	if (conflict)
		fputs(conflict_legend, stdout);
	cli_hosts_release(&hosts);
	free(ids);
	json_decref(j);
}

/* An upgrade's payload, the release the devices are to install (agent/upgrade.c). */
static void show_release(const struct cli *c, const uint8_t *payload, size_t plen)
{
	struct rp_release *rel = NULL;
	struct rp_diag d = {""};
	char h[65];

	if (rp_release_parse_text((const char *)payload, plen, &rel, &d) < 0 ||
	    strcmp(rel->org, c->org) != 0) {
		printf("WARNING: this upgrade's payload is not a release of org %s (%s): every "
		       "agent refuses it\n",
		       c->org, rel ? "another org" : d.msg);
		rp_release_free(rel);
		return;
	}
	rp_hex_encode(rel->hash, 32, h);
	printf("---- upgrade: %s %s for %s, package sha256:%s, %llu bytes. Each device installs\n"
	       "     it only if the bytes it fetches have this hash and the version is newer than\n"
	       "     any it has run ----\n",
	       rel->package, rel->version, rel->arch, h, (unsigned long long)rel->size);
	rp_release_free(rel);
}

bool cli_key_in_role(const struct rp_policy *p, enum rp_role_id role, const struct rp_vkey *k)
{
	int i = rp_policy_key_index(p, k->name);

	if (i < 0 || memcmp(p->keys[i].pub, k->pub, 32) != 0)
		return false;
	for (size_t j = 0; j < p->roles[role].nkeys; j++)
		if (p->roles[role].keys[j] == i)
			return true;
	return false;
}

/* The statement, payload (NULL: it did not match), targets and signatures, exactly as verified. */
void cli_show_command(struct cli *c, const struct rp_policy *p, const struct cli_view *v,
		      const uint8_t *payload, size_t plen)
{
	size_t e;

	/* What others wrote goes inside the gutter (cli_fenced), the CLI's own words outside. */
	printf("---- statement (exactly what you sign, each line after \"" CLI_GUTTER "\") ----\n");
	e = cli_fenced(stdout, v->cmd->note->msg, v->cmd->note->text_len);
	if (e)
		printf("WARNING: %zu characters of the statement that a terminal would not show "
		       "as themselves are shown as \\u escapes\n",
		       e);
	if (v->cmd->kind == RP_KIND_DIRECTORY) {
		/* no payload: the change is the statement, shown against the directory verified */
		const struct rp_dir_state *s = cli_directory_once(c, p);
		if (s) {
			cli_directory_diff(stdout, s, v->cmd->dir,
					   (const uint8_t *)v->cmd->note->msg,
					   v->cmd->note->msg_len);
		} else {
			printf("WARNING: the directory could not be verified, so the change cannot "
			       "be shown against it: do not sign what you cannot see\n");
		}
		printf("---- targets: every device of org %s; each applies what its signed "
		       "device groups grant ----\n",
		       c->org);
		goto signatures;
	}
	if (!payload) { /* rampart cancel: what is cancelled is the statement, whatever is served */
		printf("---- payload: NOT SHOWN: the server's does not match the statement's hash "
		       "----\n");
		show_targets(c, v->cmd);
		goto signatures;
	}
	printf("---- payload (%zu bytes, hash verified, each line after \"" CLI_GUTTER "\") ----\n",
	       plen);
	if (showable(payload, plen)) {
		e = cli_fenced(stdout, (const char *)payload, plen);
		if (e)
			printf("WARNING: the payload holds %zu bytes or characters a terminal would "
			       "not show as themselves, shown as \\x or \\u escapes\n",
			       e);
	} else {
		printf("(binary payload, not shown)\n");
	}
	if (v->cmd->kind == RP_KIND_UPGRADE)
		show_release(c, payload, plen);
	show_targets(c, v->cmd);
signatures:
	printf("---- signatures (verified against your trusted root policy, version %llu) ----\n",
	       (unsigned long long)p->version);
	cli_view_signatures(stdout, p, v);
	if (v->count == 0)
		printf("PROPOSED BY NO ADMINISTRATOR: no valid signature by a key of role %s.\n"
		       "Whoever wrote this command, it was not one of your colleagues.\n",
		       rp_role_name(v->role));
	if (v->forged)
		printf("SECURITY: %zu FORGED signature line%s: the server, or whoever wrote this "
		       "command, is impersonating an administrator. Report it. Forged lines are "
		       "never counted, and your approval does not carry them.\n",
		       v->forged, v->forged == 1 ? "" : "s");
	if (cli_key_in_role(p, v->role, &c->signer.s.vkey))
		printf("---- %zu of %u %s signatures verified; with yours: %zu of %u ----\n",
		       v->count, v->threshold, rp_role_name(v->role), v->count + 1, v->threshold);
	else
		printf("---- %zu of %u %s signatures verified; yours will not count: your key %s "
		       "is not a key of role %s ----\n",
		       v->count, v->threshold, rp_role_name(v->role), c->signer.s.vkey.name,
		       rp_role_name(v->role));
}

/*
 * Your note: the text, the lines that verified (first per key), yours.
 * Forged and unknown lines are not passed on as if they were fine.
 */
static int approval_note(const struct cli *c, const struct cli_view *v, char **ret, size_t *ret_len,
			 struct rp_diag *d)
{
	struct rp_note *kept = NULL;
	bool keep[RP_NOTE_SIGS_MAX];
	char *text = NULL;
	size_t len, n = 0;
	int r;

	for (size_t i = 0; i < v->cmd->note->nsigs; i++) {
		keep[i] = (v->sig[i].verdict == RP_SIG_ROLE || v->sig[i].verdict == RP_SIG_OTHER) &&
			  v->sig[i].first;
		n += keep[i];
	}
	if (n > 0 && ((r = rp_note_keep(v->cmd->note, keep, &text, &len)) < 0 ||
		      (r = rp_note_parse(text, len, &kept, NULL)) < 0))
		goto out;
	r = rp_note_sign_by(v->cmd->note->msg, v->cmd->note->text_len, kept, &c->signer.s, ret,
			    ret_len, d);
out:
	rp_note_free(kept);
	free(text);
	return r;
}

static const char unsigned_phrase[] = "sign it anyway";

int cmd_approve(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	struct cli_view v = {0};
	struct rp_diag d = {""};
	char path[256], *note = NULL;
	uint8_t *payload = NULL;
	size_t plen = 0, nlen;
	int k;
	bool yes = false, unsigned_ok = false, policy = false;
	const char *id = NULL;
	json_t *j = NULL, *resp = NULL;
	int r = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y"))
			yes = true;
		else if (!strcmp(argv[i], "--policy"))
			policy = true;
		else if (!strcmp(argv[i], "--unsigned-ok"))
			unsigned_ok = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: rampart approve [--yes] [--unsigned-ok] ID\n"
			       "       rampart approve --policy [--yes] [HASH]\n\n"
			       "Fetches command ID, checks its payload against the signed hash, prints\n"
			       "the exact statement text, the payload, the targets (hostnames as the\n"
			       "devices signed them, or marked as the server's word) and every signature\n"
			       "line as verified against your trusted root policy, and asks before\n"
			       "adding your signature (--yes: do not ask, for scripts; all of it is\n"
			       "still printed). A signed hostname is the device's own claim, not a\n"
			       "verified identity; one signed by more than one device key is flagged\n"
			       "CONFLICT with the other devices' ids. The statement signs device ids.\n\n"
			       "Only valid signatures by keys of the command's role count. A line that\n"
			       "claims an administrator but does not verify is shown as FORGED and is\n"
			       "not passed on: your approval carries the text, the valid lines and yours.\n"
			       "A command with no valid signature by its role was proposed by no\n"
			       "administrator: signing it needs you to type `%s', or, with --yes,\n"
			       "--unsigned-ok as well.\n\n"
			       "--policy: a pending proposal of root policy version N+1 (HASH, its\n"
			       "sha256:<hex>, when several are pending), shown as the diff against your\n"
			       "trusted version N with every signature line as verified and both root\n"
			       "quorums (N's and N+1's own), then signed and uploaded. The server\n"
			       "publishes it once both are met.\n",
			       unsigned_phrase);
			return 0;
		} else
			id = argv[i];
	}
	if (policy || (id && !strncmp(id, "sha256:", 7)))
		return cli_approve_policy(c, id, yes);
	if (!id || !rp_id_valid(id, strlen(id))) {
		cli_err("approve: expected a command ID (see `rampart commands') or --policy");
		return 2;
	}
	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return 1;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, id);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("approve: %s", d.msg);
		goto out;
	}
	/* The server is not trusted: check everything we are about to sign. */
	cli_view_init(&v, p, c->org, id, cli_js(j, "statement"));
	cli_view_strict(c, p, &v);
	if (!v.cmd) {
		cli_err("approve: %s", v.problem);
		goto out;
	}
	if ((k = cli_view_payload(&v, j, &payload, &plen)) < 0) {
		cli_err(k == RP_E_PAYLOAD ? "approve: SECURITY: the payload does not match the "
					    "statement's hash"
					  : "approve: payload is not base64");
		goto out;
	}
	for (size_t i = 0; i < v.cmd->note->nsigs; i++) {
		if (v.sig[i].verdict != RP_SIG_BAD && v.sig[i].verdict != RP_SIG_IMPOSTOR &&
		    rp_note_sig_valid(v.cmd->note, i, &c->signer.s.vkey)) {
			if (c->json) {
				json_t *o = json_pack("{s:s, s:b, s:o}", "id", id, "already_signed",
						      1, "stored", cli_view_json(&v, rp_now()));
				if (o)
					cli_json(stdout, o);
				json_decref(o);
			} else {
				printf("command %s already carries your signature\n", id);
			}
			r = 0;
			goto out;
		}
	}
	/* Refused before anything is shown or asked: a signature here changes nothing. */
	cli_view_cancel(&v, p, json_object_get(j, "cancel"));
	if (cli_view_cancel_state(&v)) {
		cli_err("approve: not signed: command %s is %s (by %s, a verified cancel): no agent "
			"runs it",
			id, cli_view_cancel_state(&v), v.cancel_by);
		r = CLI_REFUSED;
		goto out;
	}
	if (cli_view_approved(&v)) {
		cli_err("approve: not signed: command %s is approved already (%zu of %u %s "
			"signatures verified): yours would change nothing",
			id, v.count, v.threshold, rp_role_name(v.role));
		r = CLI_REFUSED;
		goto out;
	}
	if (rp_now() >= v.cmd->expires) {
		char t[21];
		rp_time_format(v.cmd->expires, t);
		cli_err("approve: not signed: command %s expired at %s, unapproved: no agent "
			"runs it any more (submit it again with `rampart run')",
			id, t);
		r = CLI_REFUSED;
		goto out;
	}
	if (!cli_key_in_role(p, v.role, &c->signer.s.vkey)) {
		cli_err("approve: not signed: your key %s is not a key of role %s in the "
			"trusted root policy: your signature would not count",
			c->signer.s.vkey.name, rp_role_name(v.role));
		r = CLI_REFUSED;
		goto out;
	}
	/*
	 * Shown with --yes too, so scripted approvals leave a record; with
	 * --json on stderr, stdout then holds the JSON alone.
	 */
	int saved = -1;
	if (c->json) {
		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		if (saved < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			cli_err("approve: %s", strerror(errno));
			goto out;
		}
	}
	cli_show_command(c, p, &v, payload, plen);
	if (saved >= 0) {
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	if (v.count == 0) {
		if (yes && !unsigned_ok) {
			cli_err("approve: not signed: command %s was proposed by no administrator; "
				"--yes alone does not sign it (add --unsigned-ok if you mean it)",
				id);
			goto out;
		}
		if (!unsigned_ok && !cli_confirm_phrase("This command was proposed by no "
							"administrator. To sign it anyway, type",
							unsigned_phrase)) {
			cli_err("approve: not signed");
			goto out;
		}
	}
	if (!yes && !cli_confirm("Sign this command?")) {
		cli_err("approve: not signed");
		goto out;
	}
	d.msg[0] = '\0';
	if (approval_note(c, &v, &note, &nlen, &d) < 0) {
		cli_err("approve: not signed, nothing submitted: %s",
			d.msg[0] ? d.msg : "out of memory");
		goto out;
	}
	int sr = submit_signatures(c, id, note, &resp);
	if (sr < 0) {
		r = sr == RP_E_CONFLICT ? CLI_REFUSED : CLI_FAIL;
		goto out;
	}
	/* --json: what the approval amounts to, as verified (the review went to stderr) */
	cli_report_submitted(c, "signed", id, note, resp, c->json);
	r = 0;
out:
	free(note);
	free(payload);
	cli_view_release(&v);
	rp_policy_free(p);
	json_decref(j);
	json_decref(resp);
	return r;
}

static const char states_legend[] =
	"STATE and SIGS are derived from the signatures verified against your trusted root\n"
	"policy: unsigned (proposed by no administrator), pending-approval, expired (never\n"
	"approved), scheduled (approved, not-before to come), approved, ended (its window\n"
	"closed). UNVERIFIED: the server's statement is not a valid one of this org.\n";

int cmd_commands(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	char path[256], t[21];
	uint64_t limit = 0;
	json_t *j = NULL, *v, *out = NULL;
	int64_t now = rp_now();
	size_t i;
	int r = 1;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			printf("Usage: rampart commands [--limit N]\n"
			       "       rampart commands --awaiting-me   (the same as `rampart pending')\n\n"
			       "Lists commands, newest first (N, default %d, at most %d). Each row\n"
			       "is derived from the command's signed statement, verified against your\n"
			       "trusted root policy, never from the server's state fields.\n\n%s"
			       "SIGS: valid signatures of the role / threshold; FORGED: lines that\n"
			       "claim an administrator and do not verify. --json prints this view,\n"
			       "the server's claims under \"server\". Pending root policy proposals\n"
			       "that verify follow, with both root quorums (rampart approve --policy).\n",
			       RP_COMMANDS_LIST_DEFAULT, RP_COMMANDS_LIST_MAX, states_legend);
			return 0;
		}
		if (!strcmp(argv[k], "--awaiting-me") && argc == 2)
			return cmd_pending(c, 1, argv); /* the same as `rampart pending' */
		if (!strcmp(argv[k], "--limit") && k + 1 < argc &&
		    rp_parse_u64(argv[k + 1], strlen(argv[k + 1]), RP_COMMANDS_LIST_MAX, &limit) ==
			    0 &&
		    limit > 0) {
			k++;
			continue;
		}
		cli_err("commands: unexpected `%s' (see --help)", argv[k]);
		return 2;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return 1;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands?limit=%llu", c->org,
		 (unsigned long long)(limit ? limit : RP_COMMANDS_LIST_DEFAULT));
	if (!(j = cli_get(c, path)))
		goto out;
	if (c->json && !(out = json_array()))
		goto out;
	if (!c->json)
		printf("%-32s  %-16s  %-6s  %-7s  %-20s  %s\n", "ID", "STATE", "SIGS", "TARGETS",
		       "NOT BEFORE", "COMMENT");
	json_array_foreach (json_object_get(j, "commands"), i, v) {
		struct cli_view cv;
		char sigs[48];

		cli_view_init(&cv, p, c->org, NULL, cli_js(v, "statement"));
		cli_view_strict(c, p, &cv);
		cli_view_cancel(&cv, p, json_object_get(v, "cancel"));
		if (cv.cmd && strcmp(cv.cmd->id, cli_js(v, "id")) != 0) {
			snprintf(cv.problem, sizeof(cv.problem),
				 "SECURITY: the server lists "
				 "statement %s as command %.32s",
				 cv.cmd->id, cli_js(v, "id"));
			cli_view_release(&cv);
		}
		if (c->json) {
			json_t *o = cli_view_json(&cv, now);
			if (o) {
				json_object_set_new(
					o, "id",
					json_string(cv.cmd ? cv.cmd->id : cli_js(v, "id")));
				json_object_set_new(
					o, "server",
					json_pack(
						"{s:s, s:I, s:I, s:I, s:s}", "state",
						cli_js(v, "state"), "signatures",
						json_integer_value(
							json_object_get(v, "signatures")),
						"threshold",
						json_integer_value(json_object_get(v, "threshold")),
						"created",
						json_integer_value(json_object_get(v, "created")),
						"comment", cli_js(v, "comment")));
				json_array_append_new(out, o);
			}
			cli_view_release(&cv);
			continue;
		}
		cli_cell(stdout, cv.cmd ? cv.cmd->id : cli_js(v, "id"), 32);
		fputs("  ", stdout);
		cli_cell(stdout, cli_view_state(&cv, now), 16);
		fputs("  ", stdout);
		if (!cv.cmd) {
			printf("%-6s  %-7s  %-20s  ", "-", "-", "-");
			fputs("the server says: ", stdout);
			cli_last(stdout, cli_js(v, "comment"),
				 cli_rest(32 + 16 + 6 + 7 + 20 + 10 + 17, 20));
			continue;
		}
		snprintf(sigs, sizeof(sigs), "%zu/%u", cv.count, cv.threshold);
		rp_time_format(cv.cmd->not_before, t);
		printf("%-6s  %-7zu  %-20s  ", sigs, cv.cmd->ntargets, t);
		if (cv.forged)
			printf("%zu FORGED signature line%s! ", cv.forged,
			       cv.forged == 1 ? "" : "s");
		if (cv.cancel_problem[0])
			fputs("FORGED CANCEL shown by the server! ", stdout);
		if (cli_view_cancel_state(&cv)) {
			/* who and why, from the verified cancel; neutralised like any text */
			char why[RP_NOTE_NAME_MAX + RP_CANCEL_REASON_MAX + 8];
			snprintf(why, sizeof(why), "by %s%s%s", cv.cancel_by,
				 cv.cancel_reason[0] ? ": " : "", cv.cancel_reason);
			cli_last(stdout, why, cli_rest(32 + 16 + 6 + 7 + 20 + 10, 20));
		} else {
			cli_last(stdout, cv.cmd->comment, cli_rest(32 + 16 + 6 + 7 + 20 + 10, 20));
		}
		cli_view_release(&cv);
	}
	if (c->json) {
		json_t *o = json_pack("{s:o, s:b, s:o}", "commands", out, "truncated",
				      json_is_true(json_object_get(j, "truncated")),
				      "policy_proposals", cli_policy_pending(c, p, NULL));
		out = NULL;
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else if (json_is_true(json_object_get(j, "truncated"))) {
		printf("(the server stopped the list early: the statements fill its answer)\n");
	}
	if (!c->json)
		json_decref(cli_policy_pending(c, p, stdout));
	r = 0;
out:
	json_decref(out);
	json_decref(j);
	rp_policy_free(p);
	return r;
}

/* The last line of a verified output, for the table. */
static void last_line(const uint8_t *out, size_t n, char *buf, size_t bufn)
{
	size_t end = n, start;

	while (end && out[end - 1] == '\n')
		end--;
	start = end;
	while (start && out[start - 1] != '\n')
		start--;
	snprintf(buf, bufn, "%.*s", (int)(end - start), (const char *)out + start);
	/* A NUL inside the line ends it here; the filter shows the rest of what it was. */
}

static json_t *row_json(const struct cli_row *x, const struct cli_hosts *h)
{
	json_t *row = x->row;
	char *o64 = x->verified ? rp_b64_encode(x->output, x->output_len) : NULL;
	const char *host = x->facts.verified ? x->facts.facts.hostname : cli_js(row, "hostname");
	json_t *j = json_pack(
		"{s:s, s:b, s:s, s:b, s:s?, s:o, s:o, s:o, s:o, s:s?, s:s, s:b, s:b, s:o, s:o}",
		"device", x->device, "target", x->target, "status", x->status, "verified",
		x->verified, "problem", x->verified ? NULL : x->problem, "device_key",
		x->verified ? json_pack("{s:I, s:b}", "number", (json_int_t)x->key_no, "retired",
					x->key_no < x->facts.nkeys)
			    : json_null(),
		"exit_code",
		x->verified && x->res.exit_code >= 0 ? json_integer(x->res.exit_code) : json_null(),
		"signal", x->verified && x->res.signal ? json_integer(x->res.signal) : json_null(),
		"duration_ms",
		x->verified ? json_integer((json_int_t)x->res.duration_ms) : json_null(), "output",
		o64, "hostname", host, "hostname_verified", x->facts.verified, "hostname_conflict",
		conflicts(h, x->device, &x->facts) > 0, "hostname_also_signed_by",
		conflict_json(h, x->device, &x->facts), "server",
		row ? json_pack(
			      "{s:s, s:O, s:s, s:s, s:I}", "status", cli_js(row, "status"),
			      "exit_code",
			      json_object_get(row, "exit_code") ? json_object_get(row, "exit_code")
								: json_null(),
			      "reason", cli_js(row, "reason"), "hostname", cli_js(row, "hostname"),
			      "updated", json_integer_value(json_object_get(row, "updated")))
		    : json_null());

	free(o64);
	return j;
}

/* "(128+KILL) " for a shell's exit status that reports a signal, else "". */
static const char *shell_signal(const struct rp_result *r, char *buf, size_t n)
{
	int sig = r->exit_code - 128;

	buf[0] = '\0';
	if (r->status == RP_RESULT_DONE && sig > 0 && sig <= 64)
		snprintf(buf, n, "(exit 128+%s: a signal ended what it ran) ",
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "SIG?");
	return buf;
}

static void print_rows(const struct cli_row *x, size_t n, const struct cli_hosts *h)
{
	bool marked = false, conflict = false;
	size_t hw = 0;

	for (size_t i = 0; i < n; i++) {
		const char *host = x[i].facts.verified ? x[i].facts.facts.hostname
						       : cli_js(x[i].row, "hostname");
		hw = strlen(host) > hw ? strlen(host) : hw;
	}
	/* DEVICE, the marker, STATUS, EXIT, TIME and the gaps: 32+1+10+4+8+2*5; 20 for the rest */
	hw = col_width(hw, 8, 32 + 1 + 10 + 4 + 8 + 10 + 20);
	size_t rest = cli_rest(32 + hw + 1 + 10 + 4 + 8 + 10, 20);
	printf("%-32s  %-*s  %-10s  %-4s  %-8s  %s\n", "DEVICE", (int)hw + 1, "HOSTNAME", "STATUS",
	       "EXIT", "TIME", "OUTPUT (last line) / REASON");
	for (size_t i = 0; i < n; i++) {
		const char *host = x[i].facts.verified ? x[i].facts.facts.hostname
						       : cli_js(x[i].row, "hostname");
		char exs[16] = "-", ms[24] = "-", tail[RP_OUTPUT_KEEP + 1], sh[80];

		marked |= !x[i].facts.verified;
		conflict |= conflicts(h, x[i].device, &x[i].facts) > 0;
		cli_cell(stdout, x[i].device, 32);
		fputs("  ", stdout);
		cli_cell(stdout, host, hw);
		fputs(host_mark(h, x[i].device, &x[i].facts), stdout);
		fputs("  ", stdout);
		cli_cell(stdout, x[i].status, 10);
		fputs("  ", stdout);
		if (x[i].verified) {
			/* killed, timed-out: the signal that ended it, signed */
			if (x[i].res.signal)
				snprintf(exs, sizeof(exs), "%s",
					 sigabbrev_np(x[i].res.signal)
						 ? sigabbrev_np(x[i].res.signal)
						 : "SIG?");
			else if (x[i].res.exit_code >= 0)
				snprintf(exs, sizeof(exs), "%d", (int)x[i].res.exit_code);
			snprintf(ms, sizeof(ms), "%.2fs", (double)x[i].res.duration_ms / 1000.0);
			last_line(x[i].output, x[i].output_len, tail, sizeof(tail));
			printf("%-4s  %-8s  ", exs, ms);
			/* signed by a key the device has since replaced */
			if (x[i].key_no < x[i].facts.nkeys)
				printf("(by retired key %zu of %zu) ", x[i].key_no,
				       x[i].facts.nkeys);
			fputs(shell_signal(&x[i].res, sh, sizeof(sh)), stdout);
			cli_last(stdout, tail, rest);
			continue;
		}
		printf("%-4s  %-8s  ", exs, ms);
		if (!x[i].problem[0]) { /* pending, scheduled, expired: nothing claimed */
			if (x[i].why[0]) {
				cli_last(stdout, x[i].why, rest);
			} else if (x[i].row &&
				   strcmp(cli_js(x[i].row, "status"), x[i].status) != 0) {
				fputs("the server says: ", stdout);
				cli_last(stdout, cli_js(x[i].row, "status"), rest);
			} else {
				fputc('\n', stdout);
			}
			continue;
		}
		cli_put(stdout, x[i].problem);
		if (x[i].row) {
			fputs("; the server says: ", stdout);
			cli_put(stdout, cli_js(x[i].row, "status"));
			if (json_is_integer(json_object_get(x[i].row, "exit_code")))
				printf(", exit %lld", (long long)json_integer_value(json_object_get(
							      x[i].row, "exit_code")));
			if (cli_js(x[i].row, "reason")[0]) {
				fputs(": ", stdout);
				cli_last(stdout, cli_js(x[i].row, "reason"), rest);
				continue;
			}
		}
		fputc('\n', stdout);
	}
	if (marked)
		fputs(servers_word_legend, stdout);
	if (conflict)
		fputs(conflict_legend, stdout);
}

int cmd_results(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	struct cli_view v = {0};
	struct cli_row *x = NULL;
	struct cli_hosts hosts = {0};
	bool hosts_ok = false;
	const char *id = NULL;
	uint64_t wait = 0;
	bool judge = false; /* --wait: exit by the outcome */
	char path[256];
	json_t *j = NULL, *devs = NULL;
	size_t n = 0;
	int64_t now;
	int r = CLI_FAIL;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			printf("Usage: rampart results [--wait S] ID\n\n"
			       "Per target of the command's signed statement: status, exit code,\n"
			       "duration and the tail of the output, from the result note the device\n"
			       "signed, checked: the device key hashes to the device id, the note\n"
			       "verifies with it and names this org and command, and the output\n"
			       "matches its signed hash. Status is done, killed or timed-out (EXIT\n"
			       "then shows the signal that ended it: KILL, SEGV...), failed or refused\n"
			       "as the device signed it; pending, scheduled (not-before to come) or\n"
			       "expired (no signed result by the statement's expiry, and not handed\n"
			       "to the device before it) while there is none; UNVERIFIED when the\n"
			       "server claims what it cannot prove (shown after `the server says').\n"
			       "A target still waiting says why: the approvals it awaits (who signed,\n"
			       "how many more of which role), its start time, the witnesses not yet\n"
			       "cosigning it, or its device offline (the last two the server's word).\n"
			       "--wait S polls up to S seconds while a target is pending (progress on\n"
			       "stderr when it is a terminal). HOSTNAME\n"
			       "is the one the device signed at enrolment (its own claim, not a\n"
			       "verified identity), `?' when it is the server's word, and `!' when\n"
			       "more than one device key signed it (CONFLICT: tell them apart by\n"
			       "DEVICE). --json prints this view (\"verified\" per row,\n"
			       "\"hostname_conflict\", the server's claims under \"server\"; docs/cli.md).\n"
			       "`rampart output ID DEVICE' prints a result's whole output.\n\n"
			       "Exit status, with --wait (--wait 0 judges at once, without waiting):\n"
			       "0 every target done with exit 0; 1 every target failed (failed,\n"
			       "refused, killed, timed-out, a non-zero exit, expired); 6 some did and\n"
			       "others did not; 5 none failed but some never answered (still pending\n"
			       "when the wait ended); 4 it was cancelled or rejected (a verified\n"
			       "cancel) before any target ran it; 3 something did not verify. A\n"
			       "cancelled target ends the wait, counted as failed among others that\n"
			       "ran. Without --wait it\n"
			       "shows and exits 0 (1 or 3 when it cannot); --json's \"exit\" is the\n"
			       "status --wait would exit with.\n");
			return 0;
		}
		if (!strcmp(argv[k], "--wait")) {
			if (k + 1 >= argc ||
			    rp_parse_u64(argv[k + 1], strlen(argv[k + 1]), 86400, &wait) != 0) {
				cli_err("results: --wait `%s' is not a number of seconds (0 to 86400)",
					k + 1 < argc ? argv[k + 1] : "");
				return CLI_USAGE;
			}
			judge = true;
			k++;
		} else if (argv[k][0] == '-') {
			cli_err("results: unknown option `%s' (see rampart results --help)",
				argv[k]);
			return CLI_USAGE;
		} else if (id) {
			cli_err("results: one command ID only, `%s' is extra (see --help)",
				argv[k]);
			return CLI_USAGE;
		} else {
			id = argv[k];
		}
	}
	if (!id || !rp_id_valid(id, strlen(id))) {
		cli_err("results: expected a command ID (32 hex digits, see `rampart commands')");
		return CLI_USAGE;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return CLI_FAIL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/results", c->org, id);
	for (int64_t until = rp_now() + (int64_t)wait;;) {
		size_t nwait = 0;
		json_decref(j);
		cli_view_release(&v);
		cli_rows_free(x, n);
		x = NULL;
		n = 0;
		if (!(j = cli_get(c, path)))
			goto out;
		now = rp_now();
		cli_view_init(&v, p, c->org, id, cli_js(j, "statement"));
		cli_view_strict(c, p, &v);
		cli_view_cancel(&v, p, json_object_get(j, "cancel"));
		if (cli_rows(c->org, &v, json_object_get(j, "results"), now, &x, &n) < 0)
			goto out;
		for (size_t i = 0; i < n; i++)
			nwait += cli_row_waiting(&x[i]);
		if (!nwait || rp_now() >= until)
			break;
		if (v.cmd && !cli_view_approved(&v)) {
			char why[240];
			cli_view_awaiting(&v, why, sizeof(why));
			cli_progress("results: %llds left, %zu of %zu answered; %s",
				     (long long)(until - rp_now()), n - nwait, n, why);
		} else {
			cli_progress("results: %llds left, %zu of %zu answered",
				     (long long)(until - rp_now()), n - nwait, n);
		}
		usleep(250 * 1000);
	}
	cli_progress_end();
	snprintf(path, sizeof(path), "/v1/orgs/%s/devices", c->org);
	devs = cli_get(c, path);
	hosts_ok = devs != NULL;
	cli_hosts_init(&hosts, c->org, devs ? json_object_get(devs, "devices") : NULL);
	if (!hosts_ok)
		cli_err("results: cannot list the org's devices, so hostnames signed by more than "
			"one device are not flagged");
	cli_rows_why(c, &v, x, n, devs ? json_object_get(devs, "devices") : NULL);
	int outcome = cli_results_exit(&v, x, n);
	r = judge ? outcome : CLI_OK;
	if (c->json) {
		json_t *a = json_array(), *o;
		for (size_t i = 0; a && i < n; i++) {
			json_t *row = row_json(&x[i], &hosts);
			if (row) {
				json_object_set_new(row, "ok", json_boolean(cli_row_ok(&x[i])));
				json_object_set_new(row, "waiting_for",
						    x[i].why[0] ? json_string(x[i].why)
								: json_null());
			}
			json_array_append_new(a, row);
		}
		o = json_pack("{s:s, s:o, s:o, s:i}", "command", id, "statement",
			      cli_view_json(&v, now), "results", a, "exit", outcome);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		printf("command %s: ", id);
		if (v.cmd) {
			printf("%s (%zu of %u %s signatures verified)\n", cli_view_state(&v, now),
			       v.count, v.threshold, rp_role_name(v.role));
		} else {
			printf("UNVERIFIED: ");
			cli_put(stdout, v.problem);
			printf("\n");
		}
		if (cli_view_cancel_state(&v)) {
			printf("%s by ", cli_view_cancel_state(&v));
			cli_put(stdout, v.cancel_by);
			printf(" (signed cancel, verified)%s", v.cancel_reason[0] ? ": " : "");
			cli_put(stdout, v.cancel_reason);
			printf("\n");
		}
		if (v.cancel_problem[0]) {
			cli_put(stdout, v.cancel_problem);
			printf("\n");
		}
		print_rows(x, n, &hosts);
	}
out:
	cli_progress_end();
	cli_hosts_release(&hosts);
	cli_rows_free(x, n);
	cli_view_release(&v);
	json_decref(j);
	json_decref(devs);
	rp_policy_free(p);
	return r;
}

int cmd_alerts(struct cli *c, int argc, char *argv[])
{
	char t[21];
	json_t *j, *v;
	size_t i;
	bool unacked = false;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "ack"))
		return cli_alerts_ack(c, argc - 1, argv + 1);
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--unacked"))
			unacked = true;
		else if (strcmp(argv[k], "--help") && strcmp(argv[k], "-h")) {
			cli_err("alerts: unexpected `%s' (--unacked, ack ID|--all, --help)",
				argv[k]);
			return CLI_USAGE;
		}
	}
	j = list_get(c, argc, argv,
		     "Usage: rampart alerts [--unacked]\n"
		     "       rampart alerts ack ID|--all\n\n"
		     "Security alerts raised by agents that refused a delivery\n"
		     "(bad or missing signatures, wrong org or target, replay, expiry...), as the\n"
		     "server reports them: alerts are not signed notes, so this list is the\n"
		     "server's word (each agent's own alerts.log is the record). An acknowledged\n"
		     "one names who and when (`rampart alerts ack'); --unacked: only the others.\n"
		     "--json: {\"alerts\": [{\"id\", \"at\", \"device\", \"command\", \"code\",\n"
		     "\"reason\", \"acked_by\", \"acked_at\"}], \"source\": \"server\"}.\n",
		     "alerts", &rc);
	if (!j)
		return rc;
	json_t *out = json_array();
	json_array_foreach (json_object_get(j, "alerts"), i, v) {
		if (unacked && json_integer_value(json_object_get(v, "acked_at")) > 0)
			continue;
		json_array_append_new(
			out, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id",
				       json_integer_value(json_object_get(v, "id")), "at",
				       json_integer_value(json_object_get(v, "at")), "device",
				       cli_js(v, "device"), "command", cli_js(v, "command"), "code",
				       cli_js(v, "code"), "reason", cli_js(v, "reason"), "acked_by",
				       cli_js(v, "acked_by"), "acked_at",
				       json_integer_value(json_object_get(v, "acked_at"))));
	}
	if (c->json) {
		json_t *o = json_pack("{s:o, s:s}", "alerts", out, "source", "server");
		out = NULL;
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		size_t cw = 4, rest;
		json_array_foreach (out, i, v)
			cw = strlen(cli_js(v, "code")) > cw ? strlen(cli_js(v, "code")) : cw;
		cw = col_width(cw, 4, 6 + 20 + 32 + 8 + 30);
		rest = cli_rest(6 + 20 + 32 + cw + 8, 30);
		printf("%-6s  %-20s  %-32s  %-*s  ", "ID", "TIME", "DEVICE", (int)cw, "CODE");
		cli_last(stdout, "REASON [COMMAND] [ACKNOWLEDGED BY, AT]", rest);
		json_array_foreach (out, i, v) {
			char reason[1200], at[21];
			size_t l;
			snprintf(reason, sizeof(reason), "%s", cli_js(v, "reason"));
			if (cli_js(v, "command")[0]) {
				l = strlen(reason);
				snprintf(reason + l, sizeof(reason) - l, " [command %s]",
					 cli_js(v, "command"));
			}
			if (json_integer_value(json_object_get(v, "acked_at")) > 0) {
				l = strlen(reason);
				rp_time_format(json_integer_value(json_object_get(v, "acked_at")),
					       at);
				snprintf(reason + l, sizeof(reason) - l,
					 " [acknowledged by %s, %s]", cli_js(v, "acked_by"), at);
			}
			rp_time_format(json_integer_value(json_object_get(v, "at")), t);
			printf("%-6lld  %-20s  ",
			       (long long)json_integer_value(json_object_get(v, "id")), t);
			cli_cell(stdout, cli_js(v, "device"), 32);
			fputs("  ", stdout);
			cli_cell(stdout, cli_js(v, "code"), cw);
			fputs("  ", stdout);
			cli_last(stdout, reason, rest);
		}
		printf("(as the server reports them)\n");
	}
	json_decref(out);
	json_decref(j);
	return 0;
}

int cmd_token(struct cli *c, int argc, char *argv[])
{
	struct rp_diag d = {""};
	char path[256], t[21];
	json_t *j = NULL, *v;
	size_t i;
	int r = 1;

	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart token create --name NAME [--scope read|write] [--expires WHEN]\n"
		       "       rampart token list\n"
		       "       rampart token revoke ID\n\n"
		       "API tokens let scripts read (or submit, with scope write) without a\n"
		       "signing key. A token never authorises a command by itself: commands\n"
		       "still need administrators' signatures. The server stores only a hash.\n"
		       "`rampart rotate api-tokens [--reissue]' revokes them all at once.\n"
		       "--json: create prints {\"id\", \"token\", \"name\", \"scope\", \"expires\"};\n"
		       "list the server's {\"tokens\": [{\"id\", \"name\", \"scope\", \"expires\"}]}.\n");
		return argc < 2 ? 2 : 0;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	if (!strcmp(argv[1], "create")) {
		const char *name = NULL, *scope = "read", *expires = "30d";
		int64_t exp;
		uint8_t sec[32];
		char secret[65], hash[72];
		for (int k = 2; k < argc; k += 2) {
			const char **to = !strcmp(argv[k], "--name")      ? &name
					  : !strcmp(argv[k], "--scope")   ? &scope
					  : !strcmp(argv[k], "--expires") ? &expires
									  : NULL;
			if (!to || k + 1 >= argc) {
				cli_err("token create: %s `%s' (options: --name NAME, --scope "
					"read|write, --expires WHEN; see --help)",
					to ? "no value after" : "unknown option", argv[k]);
				return 2;
			}
			*to = argv[k + 1];
		}
		if (!name || (strcmp(scope, "read") && strcmp(scope, "write")) ||
		    cli_parse_when(expires, rp_now(), &exp) < 0) {
			cli_err("token create: need --name, --scope read|write, --expires WHEN");
			return 2;
		}
		randombytes_buf(sec, sizeof(sec));
		rp_hex_encode(sec, sizeof(sec), secret);
		rp_sha256_text(secret, strlen(secret), hash);
		json_t *b = json_pack("{s:s, s:s, s:I, s:s}", "name", name, "scope", scope,
				      "expires", (json_int_t)exp, "secret_hash", hash);
		snprintf(path, sizeof(path), "/v1/orgs/%s/tokens", c->org);
		if (b && rp_api_call(&c->api, "POST", path, b, &j, NULL, &d) >= 0) {
			if (rp_id_valid(cli_js(j, "id"), strlen(cli_js(j, "id")))) {
				if (c->json) {
					char tok[120];
					snprintf(tok, sizeof(tok), "rpt_%s_%s", cli_js(j, "id"),
						 secret);
					json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id",
							      cli_js(j, "id"), "token", tok, "name",
							      name, "scope", scope, "expires",
							      (json_int_t)exp);
					cli_json(stdout, o);
					json_decref(o);
					sodium_memzero(tok, sizeof(tok));
				} else {
					printf("rpt_%s_%s\n", cli_js(j, "id"), secret);
				}
				r = 0;
			} else {
				cli_err("token create: the server answered an id that is not 32 hex digits");
			}
		} else {
			cli_err("token create: %s", d.msg);
		}
		sodium_memzero(secret, sizeof(secret));
		json_decref(b);
	} else if (!strcmp(argv[1], "list") && argc == 2) {
		snprintf(path, sizeof(path), "/v1/orgs/%s/tokens", c->org);
		if ((j = cli_get(c, path))) {
			if (c->json) {
				cli_json(stdout, j);
			} else {
				/* names as wide as the widest, cut only to fit the terminal */
				size_t nw = 4;
				json_array_foreach (json_object_get(j, "tokens"), i, v) {
					const char *nm = cli_js(v, "name");
					size_t w = rp_text_width(nm, strlen(nm), RP_TEXT_LINE);
					nw = w > nw ? w : nw;
				}
				nw = col_width(nw, 4, 32 + 2 + 2 + 6 + 2 + 20);
				printf("%-32s  %-*s  %-6s  %s\n", "ID", (int)nw, "NAME", "SCOPE",
				       "EXPIRES");
				json_array_foreach (json_object_get(j, "tokens"), i, v) {
					rp_time_format(
						json_integer_value(json_object_get(v, "expires")),
						t);
					cli_cell(stdout, cli_js(v, "id"), 32);
					fputs("  ", stdout);
					cli_cell(stdout, cli_js(v, "name"), nw);
					fputs("  ", stdout);
					cli_cell(stdout, cli_js(v, "scope"), 6);
					printf("  %s\n", t);
				}
			}
			r = 0;
		}
	} else if (!strcmp(argv[1], "revoke") && argc == 3) {
		if (!rp_id_valid(argv[2], strlen(argv[2]))) {
			cli_err("token revoke: `%s' is not a token id (32 hex digits, see `rampart "
				"token list')",
				argv[2]);
			return 2;
		}
		snprintf(path, sizeof(path), "/v1/orgs/%s/tokens/%s", c->org, argv[2]);
		if (rp_api_call(&c->api, "DELETE", path, NULL, NULL, NULL, &d) >= 0) {
			printf("token %s revoked\n", argv[2]);
			r = 0;
		} else {
			cli_err("token revoke: %s", d.msg);
		}
	} else {
		cli_err("token: expected create [OPTIONS], list or revoke ID, nothing more (see --help)");
		return 2;
	}
	json_decref(j);
	return r;
}
