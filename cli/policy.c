/* SPDX-License-Identifier: Apache-2.0 */
/* rampart org init, rampart policy sign|show|upload|trust (N+1: rotate.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

int cli_admin_vkey(const char *arg, struct rp_vkey *ret)
{
	struct rp_diag d = {""};
	int r = cli_read_vkey(arg, ret, &d);

	if (r < 0)
		cli_err("administrator key `%s': %s", arg, d.msg);
	return r;
}

int cli_wpolicy_lines(struct rp_wpolicy *wp, const char *text, struct rp_diag *d)
{
	int r = 0;

	for (const char *l = text, *nl; r == 0 && (nl = strchr(l, '\n')); l = nl + 1)
		r = rp_wpolicy_line(wp, l, (size_t)(nl - l), d);
	return r < 0 ? r : rp_wpolicy_finish(wp, d);
}

/* The policy's tlog-policy lines: the log, each witness, one group of all of them, the quorum. */
static int witness_lines(struct rp_policy *p, const char *logkey, const char *const *w, size_t n,
			 const char *quorum)
{
	struct rp_diag d = {""};
	struct rp_vkey lk;
	struct rp_sb sb;
	char *line = NULL;
	uint64_t k = n;
	int r = 0;

	if (cli_read_vkey(logkey, &lk, &d) < 0) {
		cli_err("org init: --log-key `%s' (the server's log key, from `rampartd log-key "
			"--org ORG'): %s",
			logkey, d.msg);
		return RP_E_INVAL;
	}
	if (quorum && (n == 0 || rp_parse_u64(quorum, strlen(quorum), n, &k) != 0 || k < 1)) {
		cli_err("org init: --quorum `%s' must be a number from 1 to the %zu witnesses",
			quorum, n);
		return RP_E_INVAL;
	}
	rp_sb_init(&sb, RP_NOTE_MAX);
	char *lt = rp_vkey_format(&lk);
	rp_sb_printf(&sb, "log %s\n", lt ? lt : "");
	free(lt);
	for (size_t i = 0; i < n; i++)
		rp_sb_printf(&sb, "witness %s\n", w[i]);
	if (n > 0) {
		rp_sb_printf(&sb, "group witnesses %llu", (unsigned long long)k);
		for (size_t i = 0; i < n; i++)
			rp_sb_printf(&sb, " %.*s", (int)strcspn(w[i], " \t"), w[i]);
		rp_sb_puts(&sb, "\nquorum witnesses\n");
	} else {
		rp_sb_puts(&sb, "quorum none\n");
	}
	if (!(line = rp_sb_take(&sb, NULL)))
		return RP_E_NOMEM;
	if ((r = cli_wpolicy_lines(&p->wp, line, &d)) < 0)
		cli_err("org init: %s", d.msg);
	free(line);
	return r;
}

static int org_init(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},
		{"admin", required_argument, NULL, 'a'},
		{"root", required_argument, NULL, RP_ROLE_ROOT + 1},
		{"exec", required_argument, NULL, RP_ROLE_EXEC + 1},
		{"query", required_argument, NULL, RP_ROLE_QUERY + 1},
		{"directory", required_argument, NULL, RP_ROLE_DIRECTORY + 1},
		{"expires", required_argument, NULL, 'x'},
		{"out", required_argument, NULL, 'O'},
		{"log-key", required_argument, NULL, 'L'},
		{"witness", required_argument, NULL, 'W'},
		{"quorum", required_argument, NULL, 'Q'},
		{"freshness", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_policy *p = calloc(1, sizeof(*p));
	struct rp_policy *check = NULL;
	struct rp_diag d = {""};
	const char *out = NULL, *expires = "365d", *logkey = NULL, *quorum = NULL;
	const char *witnesses[RP_POLICY_WITNESSES_MAX];
	size_t nwitnesses = 0;
	uint64_t freshness = RP_FRESHNESS_DEFAULT_S;
	uint64_t th[RP_ROLE_COUNT] = {0};
	char *text = NULL, path[512];
	size_t len;
	int ch, r = CLI_USAGE; /* until the options are judged */

	if (!p)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:a:x:O:L:W:Q:F:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (!rp_org_name_valid(optarg, strlen(optarg))) {
				cli_err("org init: `%s' is not a valid org name (a-z, 0-9, '-')",
					optarg);
				goto out;
			}
			snprintf(p->org, sizeof(p->org), "%s", optarg);
			break;
		case 'a':
			if (p->nkeys == RP_POLICY_KEYS_MAX) {
				cli_err("org init: more than %d administrators",
					RP_POLICY_KEYS_MAX);
				goto out;
			}
			if (cli_read_vkey(optarg, &p->keys[p->nkeys], &d) < 0) {
				cli_err("org init: --admin `%s': %s", optarg, d.msg);
				goto out;
			}
			p->nkeys++;
			break;
		case RP_ROLE_ROOT + 1:
		case RP_ROLE_EXEC + 1:
		case RP_ROLE_QUERY + 1:
		case RP_ROLE_DIRECTORY + 1:
			if (rp_parse_u64(optarg, strlen(optarg), RP_POLICY_KEYS_MAX, &th[ch - 1]) !=
				    0 ||
			    th[ch - 1] < 1) {
				cli_err("org init: threshold `%s' for %s is not a number from 1 to %d",
					optarg, rp_role_name(ch - 1), RP_POLICY_KEYS_MAX);
				goto out;
			}
			break;
		case 'x': expires = optarg; break;
		case 'O': out = optarg; break;
		case 'L': logkey = optarg; break;
		case 'Q': quorum = optarg; break;
		case 'W':
			if (nwitnesses == RP_POLICY_WITNESSES_MAX) {
				cli_err("org init: more than %d witnesses",
					RP_POLICY_WITNESSES_MAX);
				goto out;
			}
			witnesses[nwitnesses++] = optarg;
			break;
		case 'F':
			if (rp_parse_u64(optarg, strlen(optarg), RP_FRESHNESS_MAX_S, &freshness) !=
				    0 ||
			    freshness < RP_FRESHNESS_MIN_S) {
				cli_err("org init: --freshness `%s' is not %d to %d seconds",
					optarg, RP_FRESHNESS_MIN_S, RP_FRESHNESS_MAX_S);
				goto out;
			}
			break;
		case 'h':
			printf("Usage: rampart org init --org ORG --admin VKEY... --root M --exec M\n"
			       "                        --query M --directory M --log-key VKEY\n"
			       "                        [--witness 'NAME VKEY URL'... --quorum K]\n"
			       "                        [--freshness S] [--expires WHEN] [--out FILE]\n\n"
			       "Builds version 1 of the organisation's root policy: every --admin key\n"
			       "(a .vkey file or the key text) may sign for every role, and each role\n"
			       "needs M distinct signatures. The policy is written, unsigned, to FILE\n"
			       "(default ORG.policy). Next, every root key holder runs\n"
			       "`rampart policy sign --key KEY FILE', then one of them runs\n"
			       "`rampart policy upload FILE --bootstrap TOKEN'.\n\n"
			       "  --log-key VKEY      the server's log key for ORG (`rampartd log-key')\n"
			       "  --witness 'NAME VKEY URL'  a witness: a name of your choosing, its\n"
			       "                      cosignature key (`rampart-witness init' prints it)\n"
			       "                      and its http:// URL; repeat for each\n"
			       "  --quorum K          cosignatures agents require (default: all witnesses);\n"
			       "                      without witnesses agents check the log key alone\n"
			       "  --freshness S       seconds a cosigned checkpoint stays fresh (default %d)\n"
			       "  --expires WHEN      365d (default), 24h, ... or YYYY-MM-DDTHH:MM:SSZ\n",
			       RP_FRESHNESS_DEFAULT_S);
			free(p);
			return 0;
		default: goto out;
		}
	}
	if (!p->org[0] || p->nkeys == 0) {
		cli_err("org init: --org and at least one --admin are required (see --help)");
		goto out;
	}
	if (cli_parse_when(expires, rp_now(), &p->expires) < 0) {
		cli_err("org init: --expires `%s' is not a duration (7d, 24h) or a time", expires);
		goto out;
	}
	p->version = 1;
	for (int role = 0; role < RP_ROLE_COUNT; role++) {
		if (th[role] == 0) {
			cli_err("org init: --%s threshold is required", rp_role_name(role));
			goto out;
		}
		p->roles[role].threshold = (uint32_t)th[role];
		p->roles[role].nkeys = p->nkeys;
		for (size_t k = 0; k < p->nkeys; k++)
			p->roles[role].keys[k] = (uint8_t)k;
	}
	if (!logkey) {
		cli_err("org init: --log-key is required: the server operator gets it with "
			"`rampartd log-key --org %s'",
			p->org);
		goto out;
	}
	p->freshness = (int64_t)freshness;
	if (witness_lines(p, logkey, witnesses, nwitnesses, quorum) < 0)
		goto out;
	if (nwitnesses == 0)
		fprintf(stderr,
			"rampart: warning: no witnesses: agents will trust checkpoints signed "
			"by the server's log key alone, so a breached server could show them a "
			"forked log (add --witness)\n");
	text = rp_policy_format(p, &len);
	/* The parser is the judge: duplicates, thresholds above the key count. */
	if (!text || rp_policy_parse_text(text, len, &check, &d) < 0) {
		cli_err("org init: %s", text ? d.msg : "out of memory");
		goto out;
	}
	if (!out)
		snprintf(path, sizeof(path), "%s.policy", p->org);
	else
		snprintf(path, sizeof(path), "%s", out);
	r = CLI_FAIL;
	if (rp_write_file_atomic(path, text, len, 0644) < 0) {
		cli_err("org init: cannot write %s", path);
		goto out;
	}
	fputs(text, stdout);
	printf("\npolicy %s written to %s\nnext: each root key holder runs `rampart policy sign --key KEY %s'\n",
	       check->hash, path, path);
	r = 0;
out:
	free(text);
	rp_policy_free(check);
	rp_policy_free(p);
	return r;
}

int cmd_org(struct cli *c, int argc, char *argv[])
{
	(void)c;
	if (argc >= 2 && !strcmp(argv[1], "init"))
		return org_init(argc - 1, argv + 1);
	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart org init --org ORG --admin VKEY... --root M --exec M --query M\n"
		       "                        --directory M --log-key VKEY [--witness 'NAME VKEY URL'...]\n");
		return 0;
	}
	cli_err("org: expected `init' (see rampart org init --help)");
	return 2;
}

/* Loads FILE as a signed policy note, or as bare policy text. */
static int load_policy_file(const char *path, struct rp_policy **ret, char **ret_buf,
			    size_t *ret_len)
{
	struct rp_diag d = {""};
	char *buf = NULL;
	size_t len;
	int r;

	if ((r = rp_read_file(path, RP_NOTE_MAX, &buf, &len)) < 0) {
		cli_err("reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_policy_parse(buf, len, ret, &d);
	if (r < 0) {
		struct rp_diag d2 = {""};
		if (rp_policy_parse_text(buf, len, ret, &d2) == 0)
			r = 0;
	}
	if (r < 0) {
		cli_err("%s: %s", path, d.msg);
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static void show_signers(const struct rp_policy *p)
{
	bool ok[RP_POLICY_KEYS_MAX];
	struct rp_diag d = {""};
	size_t n = 0;

	if (!p->note) {
		printf("signatures: none\n");
		return;
	}
	if (rp_note_verify(p->note, p->keys, p->nkeys, ok, &d) == RP_E_BADSIG) {
		printf("signatures: INVALID: %s\n", d.msg);
		return;
	}
	printf("signatures:");
	for (size_t i = 0; i < p->nkeys; i++)
		if (ok[i]) {
			printf(" %s", p->keys[i].name);
			n++;
		}
	printf("%s (root needs %u)\n", n ? "" : " none", p->roles[RP_ROLE_ROOT].threshold);
}

static int policy_sign(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *keypath = c->key_path[0] ? c->key_path : NULL;
	struct rp_policy *p = NULL;
	struct cli_signer k = {0};
	struct rp_diag d = {""};
	char *buf = NULL, *out = NULL;
	size_t len, olen;
	bool yes = false;
	int ch, r = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "k:yh", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': keypath = optarg; break;
		case 'y': yes = true; break;
		case 'h':
			printf("Usage: rampart policy sign [--key FILE|ssh-agent:VKEY] [--yes] POLICYFILE\n\n"
			       "Shows the policy text and, once you confirm, adds your signature to\n"
			       "POLICYFILE (in place). Only keys named in the policy may sign it.\n"
			       "--key ssh-agent:VKEY signs with that Ed25519 key in ssh-agent.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !keypath) {
		cli_err("policy sign: expected --key FILE and one POLICYFILE (see --help)");
		return 2;
	}
	if (load_policy_file(argv[optind], &p, &buf, &len) < 0)
		return 1;
	if (cli_signer_open(c, keypath, &k) < 0)
		goto out;
	if (rp_policy_key_index(p, k.s.vkey.name) < 0) {
		cli_err("policy sign: your key %s is not one of this policy's keys", k.s.vkey.name);
		goto out;
	}
	const char *text = p->note ? p->note->msg : buf;
	size_t tlen = p->note ? p->note->text_len : len;
	if (!yes) {
		fwrite(text, 1, tlen, stdout);
		printf("\npolicy %s\n", p->hash);
		if (!cli_confirm("Sign this root policy?")) {
			cli_err("policy sign: not signed");
			goto out;
		}
	}
	if (rp_note_sign_by(text, tlen, p->note, &k.s, &out, &olen, &d) < 0) {
		cli_err("policy sign: not signed: %s", d.msg);
		goto out;
	}
	if (rp_write_file_atomic(argv[optind], out, olen, 0644) < 0) {
		cli_err("policy sign: cannot write %s", argv[optind]);
		goto out;
	}
	printf("signed %s as %s\n", argv[optind], k.s.vkey.name);
	r = 0;
out:
	cli_signer_close(&k);
	free(out);
	free(buf);
	rp_policy_free(p);
	return r;
}

static int policy_show(int argc, char *argv[], bool json)
{
	struct rp_policy *p = NULL;
	char *buf = NULL;
	size_t len;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart policy show POLICYFILE\n\n"
		       "Prints the root policy in POLICYFILE (a signed note or bare text), its\n"
		       "hash and the keys of the policy whose signatures on it verify. It checks\n"
		       "no quorum: `policy trust' does. --json: {\"org\", \"version\", \"hash\",\n"
		       "\"signed_by\": [names that verify], \"signatures\": \"valid\"|\"invalid\"|\n"
		       "\"none\", \"root_threshold\", \"text\"}.\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		cli_err("policy show: expected one POLICYFILE (see rampart policy show --help)");
		return 2;
	}
	if (load_policy_file(argv[1], &p, &buf, &len) < 0)
		return 1;
	if (json) {
		bool ok[RP_POLICY_KEYS_MAX] = {0};
		struct rp_diag d = {""};
		const char *sv = !p->note ? "none"
				 : rp_note_verify(p->note, p->keys, p->nkeys, ok, &d) == RP_E_BADSIG
					 ? "invalid"
					 : "valid";
		json_t *names = json_array(), *o;

		for (size_t i = 0; p->note && !strcmp(sv, "valid") && i < p->nkeys; i++)
			if (ok[i])
				json_array_append_new(names, json_string(p->keys[i].name));
		o = json_pack("{s:s, s:I, s:s, s:o, s:s, s:I, s:s%}", "org", p->org, "version",
			      (json_int_t)p->version, "hash", p->hash, "signed_by", names,
			      "signatures", sv, "root_threshold",
			      (json_int_t)p->roles[RP_ROLE_ROOT].threshold, "text",
			      p->note ? p->note->msg : buf, p->note ? p->note->text_len : len);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
		free(buf);
		rp_policy_free(p);
		return o ? 0 : 1;
	}
	fwrite(p->note ? p->note->msg : buf, 1, p->note ? p->note->text_len : len, stdout);
	printf("\npolicy %s\n", p->hash);
	show_signers(p);
	free(buf);
	rp_policy_free(p);
	return 0;
}

static int policy_upload(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"bootstrap", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *boot = NULL;
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char *buf = NULL, auth[300], path[600];
	size_t len;
	json_t *body = NULL, *resp = NULL;
	int ch, r = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': boot = optarg; break;
		case 'h':
			printf("Usage: rampart policy upload --bootstrap TOKEN POLICYFILE\n\n"
			       "Creates the organisation on the server with its signed root policy\n"
			       "(TOKEN is printed by `rampartd init'), and keeps a trusted copy beside\n"
			       "your config, from which `rampart enroll-token' takes the policy hash.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !boot) {
		cli_err("policy upload: expected --bootstrap TOKEN and one POLICYFILE (see --help)");
		return 2;
	}
	if (load_policy_file(argv[optind], &p, &buf, &len) < 0)
		return 1;
	/* Check locally what the server and every agent will check. */
	if (rp_policy_verify_initial(p, p->hash, rp_now(), &d) < 0) {
		cli_err("policy upload: %s", d.msg);
		goto out;
	}
	if (!c->org[0])
		snprintf(c->org, sizeof(c->org), "%s", p->org);
	c->token[0] = '\0';
	if (!c->server[0] || !c->pin[0]) {
		cli_err("policy upload: no server or pin configured (see rampart --help)");
		goto out;
	}
	if (rp_url_parse(c->server, &c->api.http.url, &d) < 0 ||
	    rp_pin_parse(c->pin, c->api.http.pin, &d) < 0) {
		cli_err("%s", d.msg);
		goto out;
	}
	c->api.http.timeout_ms = 30000;
	snprintf(auth, sizeof(auth), "Bootstrap %s", boot);
	c->api.extra_auth = auth;
	body = json_pack("{s:s}", "policy", buf);
	if (!body || rp_api_call(&c->api, "POST", "/v1/orgs", body, &resp, NULL, &d) < 0) {
		cli_err("policy upload: %s", d.msg);
		goto out;
	}
	mkdir(c->config_dir, 0700);
	if (access(c->config_dir, F_OK) != 0) {
		cli_err("policy trust: cannot create %s (`rampart config --save' makes it)",
			c->config_dir);
		goto out;
	}
	cli_trusted_policy_path(c, p->org, path, sizeof(path));
	if (rp_write_file_atomic(path, buf, len, 0644) < 0) {
		cli_err("policy upload: uploaded, but could not keep a trusted copy at %s", path);
		goto out;
	}
	printf("org %s created with root policy version %llu\npolicy %s\n", p->org,
	       (unsigned long long)p->version, p->hash);
	r = 0;
out:
	json_decref(body);
	json_decref(resp);
	free(buf);
	rp_policy_free(p);
	return r;
}

/*
 * Installs FILE as this machine's trusted root policy of its org: what
 * approve, commands, results and devices verify the server against, and
 * enroll-token takes the hash from. `policy upload' does it for the
 * administrator who uploads; the others run this with the same file.
 */
static int policy_trust(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL, *old = NULL;
	struct rp_diag d = {""};
	char *buf = NULL, *obuf = NULL, path[600];
	size_t len, olen;
	int r = 1;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart policy trust POLICYFILE\n"
		       "       rampart [--server URL --pin PIN --org ORG] policy trust --fetch sha256:HASH\n\n"
		       "Keeps POLICYFILE, a root policy signed by its own root quorum, as your\n"
		       "trusted copy for its org (beside your config). Everything the server\n"
		       "shows is verified against it. Compare its hash with your colleagues'.\n"
		       "An existing trusted copy with another hash is never replaced.\n\n"
		       "--fetch HASH: version 1 of the org's root policy fetched from the server\n"
		       "instead of a file, trusted only when its hash is HASH (the one `policy\n"
		       "upload' printed, told you by a colleague over another channel) and its\n"
		       "own root quorum signed it. Later versions are then followed and each\n"
		       "verified as every command does. A server that serves another policy is\n"
		       "a SECURITY error (exit 3) and nothing is trusted.\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--fetch")) {
		char vpath[256];
		json_t *j = NULL;
		const char *note;

		if (strncmp(argv[2], "sha256:", 7) != 0 || strlen(argv[2]) != 71) {
			cli_err("policy trust: --fetch `%s' is not a policy hash (sha256:<64 hex>)",
				argv[2]);
			return 2;
		}
		if (!c->server[0] || !c->pin[0] || !c->org[0] ||
		    rp_url_parse(c->server, &c->api.http.url, &d) < 0 ||
		    rp_pin_parse(c->pin, c->api.http.pin, &d) < 0) {
			cli_err("policy trust --fetch: needs --server, --pin and --org%s%s",
				d.msg[0] ? ": " : "", d.msg);
			return 2;
		}
		c->api.http.timeout_ms = 30000;
		snprintf(vpath, sizeof(vpath), "/v1/orgs/%s/policies/1", c->org);
		if (rp_api_call(&c->api, "GET", vpath, NULL, &j, NULL, &d) < 0) {
			cli_err("policy trust: fetching version 1 of %s: %s", c->org, d.msg);
			return 1;
		}
		note = json_string_value(json_object_get(j, "policy"));
		buf = note ? strdup(note) : NULL;
		len = buf ? strlen(buf) : 0;
		json_decref(j);
		if (!buf || rp_policy_parse(buf, len, &p, &d) < 0) {
			cli_err("policy trust: SECURITY: the server's root policy of %s does not "
				"parse: %s",
				c->org, buf ? d.msg : "none served");
			goto out;
		}
		if (strcmp(p->hash, argv[2]) != 0 || strcmp(p->org, c->org) != 0) {
			cli_err("policy trust: SECURITY: the server serves root policy %s of org "
				"%s, not %s of %s: nothing trusted",
				p->hash, p->org, argv[2], c->org);
			goto out;
		}
	} else if (argc != 2 || argv[1][0] == '-') {
		cli_err("policy trust: expected POLICYFILE or --fetch sha256:HASH (see --help)");
		return 2;
	} else if (load_policy_file(argv[1], &p, &buf, &len) < 0) {
		return 1;
	}
	if (rp_policy_verify_initial(p, p->hash, rp_now(), &d) < 0) {
		cli_err("policy trust: %s", d.msg);
		goto out;
	}
	mkdir(c->config_dir, 0700);
	if (access(c->config_dir, F_OK) != 0) {
		cli_err("policy trust: cannot create %s (`rampart config --save' makes it)",
			c->config_dir);
		goto out;
	}
	cli_trusted_policy_path(c, p->org, path, sizeof(path));
	if (rp_read_file(path, RP_NOTE_MAX, &obuf, &olen) == 0) {
		if (rp_policy_parse(obuf, olen, &old, &d) == 0 && !strcmp(old->hash, p->hash)) {
			printf("already trusted: root policy of %s %s\n", p->org, p->hash);
			r = 0;
		} else {
			cli_err("policy trust: %s already holds another root policy; remove it "
				"first if you mean to replace your trust anchor",
				path);
		}
		goto out;
	}
	if (rp_write_file_atomic(path, buf, len, 0644) < 0) {
		cli_err("policy trust: cannot write %s", path);
		goto out;
	}
	printf("trusting root policy of %s version %llu %s (kept at %s)\n", p->org,
	       (unsigned long long)p->version, p->hash, path);
	r = 0;
out:
	free(buf);
	free(obuf);
	rp_policy_free(p);
	rp_policy_free(old);
	return r;
}

int cmd_policy(struct cli *c, int argc, char *argv[])
{
	if (argc >= 2 && !strcmp(argv[1], "trust"))
		return policy_trust(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sign"))
		return policy_sign(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return policy_show(argc - 1, argv + 1, c->json);
	if (argc >= 2 && !strcmp(argv[1], "upload"))
		return policy_upload(c, argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "propose") || !strcmp(argv[1], "status") ||
			  !strcmp(argv[1], "submit")))
		return cli_policy_rotation(c, argc - 1, argv + 1);
	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart policy sign [--key FILE] [--yes] POLICYFILE\n"
		       "       rampart policy show POLICYFILE\n"
		       "       rampart policy upload --bootstrap TOKEN POLICYFILE\n"
		       "       rampart policy trust POLICYFILE | --fetch sha256:HASH\n"
		       "       rampart policy propose CHANGES   (version N+1; see --help)\n"
		       "       rampart policy status\n"
		       "       rampart policy submit FILE\n");
		return 0;
	}
	cli_err("policy: expected sign, show, upload, trust, propose, status or submit (see "
		"rampart policy --help)");
	return 2;
}
