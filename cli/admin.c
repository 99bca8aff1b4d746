/* SPDX-License-Identifier: Apache-2.0 */
/* Commands that talk to the server: config, enroll-token, devices, run,
 * approve, commands, results, alerts, token. */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"
#include "statement.h"
#include "token.h"

/* GET path and print either the JSON or nothing (caller prints a table). */
static json_t *get(struct cli *c, const char *path)
{
	struct rp_diag d = {""};
	json_t *j = NULL;

	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("%s", d.msg);
		return NULL;
	}
	if (c->json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
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

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int cmd_config(struct cli *c, int argc, char *argv[])
{
	struct rp_sb sb;
	char *text;
	size_t len;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart [--server URL] [--pin PIN] [--org ORG] [--key FILE] config [--save]\n\n"
		       "Shows the settings in force; with --save writes them to the config file\n"
		       "(%s) so later commands need no options.\n", c->config_path);
		return 0;
	}
	rp_sb_init(&sb, 8192);
	rp_sb_printf(&sb, "server %s\npin %s\norg %s\nkey %s\n", c->server, c->pin, c->org,
		     c->key_path);
	if (c->token[0])
		rp_sb_printf(&sb, "token %s\n", c->token);
	text = rp_sb_take(&sb, &len);
	if (!text)
		return 1;
	if (argc >= 2 && !strcmp(argv[1], "--save")) {
		mkdir(c->config_dir, 0700);
		if (rp_write_file_atomic(c->config_path, text, len, 0600) < 0) {
			cli_err("config: cannot write %s", c->config_path);
			free(text);
			return 1;
		}
		printf("saved to %s\n", c->config_path);
	} else {
		fputs(text, stdout);
	}
	free(text);
	return 0;
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
	json_t *body = NULL;
	int ch, r = 1;

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
			       "until it is used.\n");
			return 0;
		default: return 2;
		}
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
	snprintf(t.pin, sizeof(t.pin), "%s", c->pin);
	snprintf(t.org, sizeof(t.org), "%s", c->org);
	memcpy(t.policy, p->hash, sizeof(t.policy));
	rp_sha256_text(t.secret, strlen(t.secret), hash);
	body = json_pack("{s:s, s:I}", "secret_hash", hash, "expires", (json_int_t)t.expires);
	snprintf(tpath, sizeof(tpath), "/v1/orgs/%s/enroll-tokens", c->org);
	if (!body || rp_api_call(&c->api, "POST", tpath, body, NULL, NULL, &d) < 0) {
		cli_err("enroll-token: %s", d.msg);
		goto out;
	}
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
	rp_policy_free(p);
	return r;
}

/*
 * What every listing command shares: --help, the server, and a GET of
 * /v1/orgs/<org>/<what>. Returns the JSON, or NULL with *rc set.
 */
static json_t *list_get(struct cli *c, int argc, char *argv[], const char *help,
			const char *what, int *rc)
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
	if (!(j = get(c, path)))
		return NULL;
	*rc = 0;
	return j;
}

int cmd_devices(struct cli *c, int argc, char *argv[])
{
	char a[32];
	json_t *j, *v;
	size_t i;
	int rc;

	j = list_get(c, argc, argv,
		     "Usage: rampart devices\n\nLists the org's enrolled devices: id, hostname, OS, last seen,\n"
		     "agent version, and any alarm an agent raised.\n", "devices", &rc);
	if (!j)
		return rc;
	if (!c->json) {
		printf("%-32s  %-20s  %-28s  %-10s  %-8s  %s\n", "ID", "HOSTNAME", "OS", "LAST SEEN",
		       "AGENT", "ALARM");
		json_array_foreach(json_object_get(j, "devices"), i, v)
			printf("%-32s  %-20.20s  %-28.28s  %-10s  %-8s  %s\n", js(v, "id"),
			       js(v, "hostname"), js(v, "os"),
			       ago(json_integer_value(json_object_get(v, "last_seen")), a, sizeof(a)),
			       js(v, "agent_version"), js(v, "alarm"));
	}
	json_decref(j);
	return 0;
}

/* 'a b' -> exec 'a' 'b': one shell word per argument, nothing expanded. */
static char *argv_script(int argc, char *argv[], size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_PAYLOAD_MAX);
	rp_sb_puts(&sb, "exec");
	for (int i = 0; i < argc; i++) {
		rp_sb_puts(&sb, " '");
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				rp_sb_puts(&sb, "'\\''");
			else
				rp_sb_put(&sb, p, 1);
		}
		rp_sb_puts(&sb, "'");
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

	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/signatures", c->org, id);
	r = b ? rp_api_call(&c->api, "POST", path, b, ret, NULL, &d) : RP_E_NOMEM;
	if (r < 0)
		cli_err("approve: %s", d.msg);
	json_decref(b);
	return r;
}

int cmd_run(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
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
	struct rp_diag d = {""};
	const char *expires = "1h", *not_before = NULL, *script = NULL;
	char *payload = NULL, *text = NULL, *note = NULL, *b64 = NULL, path[256];
	size_t plen = 0, tlen, nlen;
	uint64_t v;
	json_t *body = NULL, *resp = NULL;
	int ch, r = 1;

	cmd.timeout = 60;
	snprintf(cmd.run_as, sizeof(cmd.run_as), "root");
	cmd.targets = calloc(RP_STATEMENT_TARGETS_MAX, sizeof(*cmd.targets));
	if (!cmd.targets)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+t:T:u:x:n:c:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			for (char *tok = optarg; *tok;) {
				size_t n = strcspn(tok, ", ");
				if (!rp_id_valid(tok, n) || cmd.ntargets == RP_STATEMENT_TARGETS_MAX) {
					cli_err("run: `%.*s' is not a device id (32 hex digits, see `rampart devices')",
						(int)n, tok);
					goto out;
				}
				memcpy(cmd.targets[cmd.ntargets++], tok, n);
				tok += n;
				tok += strspn(tok, ", ");
			}
			break;
		case 'T':
			if (rp_parse_u64(optarg, strlen(optarg), RP_TIMEOUT_MAX_S, &v) != 0 || v == 0) {
				cli_err("run: --timeout `%s' is not 1 to %d seconds", optarg, RP_TIMEOUT_MAX_S);
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
			printf("Usage: rampart run --to DEVICE... [--timeout S] [--run-as USER] [--expires WHEN]\n"
			       "                   [--not-before WHEN] [--comment TEXT] (--script FILE | -- CMD...)\n\n"
			       "Builds a command statement, signs it with your key and submits it. Agents\n"
			       "run it only once enough `exec' administrators have signed (see `approve').\n\n"
			       "  --to DEVICE     device id; repeat or separate with commas\n"
			       "  --timeout S     seconds before the agent kills it (default 60)\n"
			       "  --run-as USER   account it runs as (default root)\n"
			       "  --expires WHEN  default 1h; agents refuse it afterwards\n"
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
	if (cli_need_server(c, true) < 0)
		goto out;
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
	rp_sha256(payload, plen, cmd.payload_hash);
	cmd.payload_size = plen;
	text = rp_command_format(&cmd, &tlen);
	struct rp_command *chk = NULL;
	if (!text || rp_command_parse_text(text, tlen, &chk, &d) < 0) {
		cli_err("run: %s", text ? d.msg : "out of memory");
		goto out;
	}
	rp_command_free(chk);
	if (rp_note_sign(text, tlen, NULL, &c->key, &note, &nlen) < 0 ||
	    !(b64 = rp_b64_encode((const uint8_t *)payload, plen)))
		goto out;
	body = json_pack("{s:s, s:s}", "statement", note, "payload", b64);
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands", c->org);
	if (!body || rp_api_call(&c->api, "POST", path, body, &resp, NULL, &d) < 0) {
		cli_err("run: %s", d.msg);
		goto out;
	}
	if (c->json) {
		json_dumpf(resp, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("command %s submitted: %s (%lld of %lld signatures)\n", cmd.id,
		       js(resp, "state"), json_integer_value(json_object_get(resp, "signatures")),
		       json_integer_value(json_object_get(resp, "threshold")));
	}
	r = 0;
out:
	free(cmd.targets);
	free(payload);
	free(text);
	free(note);
	free(b64);
	json_decref(body);
	json_decref(resp);
	return r;
}

static bool printable(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x20 && ch != '\n' && ch != '\t')
			return false;
	}
	return true;
}

int cmd_approve(struct cli *c, int argc, char *argv[])
{
	struct rp_command *cmd = NULL;
	struct rp_diag d = {""};
	char path[256], *note = NULL;
	uint8_t *payload = NULL, h[32];
	size_t plen = 0, nlen;
	bool yes = false;
	const char *id = NULL;
	json_t *j = NULL, *resp = NULL;
	int r = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y"))
			yes = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: rampart approve [--yes] ID\n\n"
			       "Fetches command ID, checks its payload against the signed hash, prints\n"
			       "the exact statement text and the payload, and asks before adding your\n"
			       "signature (--yes: do not ask, for scripts; the text is still printed).\n");
			return 0;
		} else
			id = argv[i];
	}
	if (!id || !rp_id_valid(id, strlen(id))) {
		cli_err("approve: expected a command ID (see `rampart commands')");
		return 2;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, id);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("approve: %s", d.msg);
		return 1;
	}
	const char *st = js(j, "statement"), *pb = js(j, "payload");
	if (rp_command_parse(st, strlen(st), &cmd, &d) < 0) {
		cli_err("approve: the server's statement does not parse: %s", d.msg);
		goto out;
	}
	/* The server is not trusted: check everything we are about to sign. */
	if (strcmp(cmd->id, id) != 0 || strcmp(cmd->org, c->org) != 0) {
		cli_err("approve: SECURITY: the server returned statement %s of org %s for %s",
			cmd->id, cmd->org, id);
		goto out;
	}
	payload = malloc(strlen(pb) / 4 * 3 + 1);
	if (!payload || (strlen(pb) > 0 &&
			 rp_b64_decode(pb, strlen(pb), payload, strlen(pb) / 4 * 3 + 1, &plen) < 0)) {
		cli_err("approve: payload is not base64");
		goto out;
	}
	rp_sha256(payload, plen, h);
	if (plen != cmd->payload_size || sodium_memcmp(h, cmd->payload_hash, 32) != 0) {
		cli_err("approve: SECURITY: the payload does not match the statement's hash");
		goto out;
	}
	for (size_t i = 0; i < cmd->note->nsigs; i++)
		if (!strcmp(cmd->note->sigs[i].name, c->key.name) && cmd->note->sigs[i].id == c->key.id) {
			printf("command %s already carries your signature\n", id);
			r = 0;
			goto out;
		}
	{
		/* Shown with --yes too, so scripted approvals leave a record. */
		printf("---- statement (exactly what you sign) ----\n");
		fwrite(cmd->note->msg, 1, cmd->note->text_len, stdout);
		printf("---- payload (%zu bytes, hash verified) ----\n", plen);
		if (printable((const char *)payload, plen))
			fwrite(payload, 1, plen, stdout);
		else
			printf("(binary payload, not shown)\n");
		printf("---- signed so far by:");
		for (size_t i = 0; i < cmd->note->nsigs; i++)
			printf(" %s", cmd->note->sigs[i].name);
		printf("\n");
		if (!yes && !cli_confirm("Sign this command?")) {
			cli_err("approve: not signed");
			goto out;
		}
	}
	if (rp_note_sign(cmd->note->msg, cmd->note->text_len, cmd->note, &c->key, &note, &nlen) < 0)
		goto out;
	if (submit_signatures(c, id, note, &resp) < 0)
		goto out;
	printf("command %s: %s (%lld of %lld signatures)\n", id, js(resp, "state"),
	       json_integer_value(json_object_get(resp, "signatures")),
	       json_integer_value(json_object_get(resp, "threshold")));
	r = 0;
out:
	free(note);
	free(payload);
	rp_command_free(cmd);
	json_decref(j);
	json_decref(resp);
	return r;
}

int cmd_commands(struct cli *c, int argc, char *argv[])
{
	char t[21];
	json_t *j, *v;
	size_t i;
	int rc;

	j = list_get(c, argc, argv,
		     "Usage: rampart commands\n\nLists commands, newest first, with their approval state.\n",
		     "commands", &rc);
	if (!j)
		return rc;
	if (!c->json) {
		printf("%-32s  %-16s  %-5s  %-7s  %-20s  %s\n", "ID", "STATE", "SIGS", "TARGETS",
		       "CREATED", "COMMENT");
		json_array_foreach(json_object_get(j, "commands"), i, v) {
			char sigs[16];
			rp_time_format(json_integer_value(json_object_get(v, "created")), t);
			snprintf(sigs, sizeof(sigs), "%lld/%lld",
				 json_integer_value(json_object_get(v, "signatures")),
				 json_integer_value(json_object_get(v, "threshold")));
			printf("%-32s  %-16s  %-5s  %-7lld  %-20s  %s\n", js(v, "id"), js(v, "state"),
			       sigs, json_integer_value(json_object_get(v, "targets")), t,
			       js(v, "comment"));
		}
	}
	json_decref(j);
	return 0;
}

static bool results_final(json_t *j)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(j, "results"), i, v) {
		const char *s = js(v, "status");
		if (!strcmp(s, "pending") || !strcmp(s, "running"))
			return false;
	}
	return true;
}

int cmd_results(struct cli *c, int argc, char *argv[])
{
	const char *id = NULL;
	uint64_t wait = 0;
	char path[256];
	json_t *j = NULL, *v;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			printf("Usage: rampart results [--wait S] ID\n\n"
			       "Per target device: status (pending, running, done, refused, timed-out,\n"
			       "failed, expired), exit code, duration and the tail of the output.\n"
			       "--wait S polls up to S seconds until no device is pending or running.\n");
			return 0;
		}
		if (!strcmp(argv[k], "--wait") && k + 1 < argc) {
			if (rp_parse_u64(argv[k + 1], strlen(argv[k + 1]), 86400, &wait) != 0) {
				cli_err("results: --wait `%s' is not a number of seconds", argv[k + 1]);
				return 2;
			}
			k++;
		} else {
			id = argv[k];
		}
	}
	if (!id || !rp_id_valid(id, strlen(id))) {
		cli_err("results: expected a command ID");
		return 2;
	}
	if (cli_need_server(c, false) < 0)
		return 1;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/results", c->org, id);
	bool json = c->json;
	c->json = false;
	for (int64_t until = rp_now() + (int64_t)wait;;) {
		json_decref(j);
		if (!(j = get(c, path)))
			return 1;
		if (results_final(j) || rp_now() >= until)
			break;
		usleep(250 * 1000);
	}
	c->json = json;
	if (c->json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
		return 0;
	}
	printf("%-32s  %-16s  %-9s  %-4s  %-8s  %s\n", "DEVICE", "HOSTNAME", "STATUS", "EXIT",
	       "TIME", "OUTPUT (tail) / REASON");
	json_array_foreach(json_object_get(j, "results"), i, v) {
		const char *out = js(v, "output");
		size_t olen = 0, n = strlen(out);
		char *txt = malloc(n / 4 * 3 + 1), ms[24];
		if (txt && n && rp_b64_decode(out, n, (uint8_t *)txt, n / 4 * 3 + 1, &olen) < 0)
			olen = 0;
		if (txt)
			txt[olen] = '\0';
		/* The last line of output, for the table. */
		while (olen && txt[olen - 1] == '\n')
			txt[--olen] = '\0';
		const char *last = txt ? strrchr(txt, '\n') : NULL;
		last = last ? last + 1 : txt ? txt : "";
		json_t *ex = json_object_get(v, "exit_code");
		snprintf(ms, sizeof(ms), "%.2fs",
			 (double)json_integer_value(json_object_get(v, "duration_ms")) / 1000.0);
		char exs[8] = "-";
		if (json_is_integer(ex) && json_integer_value(ex) >= 0)
			snprintf(exs, sizeof(exs), "%lld", json_integer_value(ex));
		printf("%-32s  %-16.16s  %-9s  %-4s  %-8s  %.60s%s\n", js(v, "device"),
		       js(v, "hostname"), js(v, "status"), exs, ms,
		       js(v, "reason")[0] ? js(v, "reason") : last, "");
		free(txt);
	}
	json_decref(j);
	return 0;
}

int cmd_alerts(struct cli *c, int argc, char *argv[])
{
	char t[21];
	json_t *j, *v;
	size_t i;
	int rc;

	j = list_get(c, argc, argv,
		     "Usage: rampart alerts\n\nSecurity alerts raised by agents that refused a delivery\n"
		     "(bad or missing signatures, wrong org or target, replay, expiry...).\n",
		     "alerts", &rc);
	if (!j)
		return rc;
	if (!c->json) {
		printf("%-20s  %-32s  %-32s  %-16s  %s\n", "TIME", "DEVICE", "COMMAND", "CODE", "REASON");
		json_array_foreach(json_object_get(j, "alerts"), i, v) {
			rp_time_format(json_integer_value(json_object_get(v, "at")), t);
			printf("%-20s  %-32s  %-32s  %-16s  %s\n", t, js(v, "device"), js(v, "command"),
			       js(v, "code"), js(v, "reason"));
		}
	}
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
		       "still need administrators' signatures. The server stores only a hash.\n");
		return argc < 2 ? 2 : 0;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	if (!strcmp(argv[1], "create")) {
		const char *name = NULL, *scope = "read", *expires = "30d";
		int64_t exp;
		uint8_t sec[32];
		char secret[65], hash[72];
		for (int k = 2; k + 1 < argc; k += 2) {
			if (!strcmp(argv[k], "--name"))
				name = argv[k + 1];
			else if (!strcmp(argv[k], "--scope"))
				scope = argv[k + 1];
			else if (!strcmp(argv[k], "--expires"))
				expires = argv[k + 1];
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
			printf("rpt_%s_%s\n", js(j, "id"), secret);
			r = 0;
		} else {
			cli_err("token create: %s", d.msg);
		}
		sodium_memzero(secret, sizeof(secret));
		json_decref(b);
	} else if (!strcmp(argv[1], "list")) {
		snprintf(path, sizeof(path), "/v1/orgs/%s/tokens", c->org);
		if ((j = get(c, path))) {
			if (!c->json) {
				printf("%-32s  %-20s  %-6s  %s\n", "ID", "NAME", "SCOPE", "EXPIRES");
				json_array_foreach(json_object_get(j, "tokens"), i, v) {
					rp_time_format(json_integer_value(json_object_get(v, "expires")), t);
					printf("%-32s  %-20s  %-6s  %s\n", js(v, "id"), js(v, "name"),
					       js(v, "scope"), t);
				}
			}
			r = 0;
		}
	} else if (!strcmp(argv[1], "revoke") && argc == 3) {
		snprintf(path, sizeof(path), "/v1/orgs/%s/tokens/%s", c->org, argv[2]);
		if (rp_api_call(&c->api, "DELETE", path, NULL, NULL, NULL, &d) >= 0) {
			printf("token %s revoked\n", argv[2]);
			r = 0;
		} else {
			cli_err("token revoke: %s", d.msg);
		}
	} else {
		cli_err("token: expected create, list or revoke ID");
		return 2;
	}
	json_decref(j);
	return r;
}
