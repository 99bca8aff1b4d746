/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent releases (docs/upgrades.md): `rampart upgrade' uploads a package
 * to the server's store and submits an `upgrade' command whose payload is
 * the rampart/release/v1 text naming the package by SHA-256, signed like
 * any exec command; `rampart releases' lists the upgrades that verify;
 * `rampart enroll-command' prints the line that installs a release whose
 * hash the exec quorum signed, enrols and starts the agent. The server
 * only stores bytes: every hash shown or printed here comes from a
 * statement this CLI verified against the trusted root policy.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "release.h"
#include "rp_err.h"

/* The package's pieces PUT in order; one already stored whole counts as uploaded. */
static int upload(struct cli *c, const char *hex, const uint8_t *buf, size_t n)
{
	struct rp_diag d = {""};
	char path[256];

	for (size_t off = 0; off < n; off += RP_PACKAGE_CHUNK) {
		size_t len = n - off < RP_PACKAGE_CHUNK ? n - off : RP_PACKAGE_CHUNK;
		struct rp_http_resp resp = {0};
		int r;

		snprintf(path, sizeof(path), "/v1/orgs/%s/packages/%s?size=%zu&offset=%zu", c->org,
			 hex, n, off);
		r = rp_api_request(&c->api, "PUT", path, buf + off, len, &resp, &d);
		int status = resp.status;
		rp_http_resp_release(&resp);
		if (r < 0) {
			cli_err("upgrade: uploading the package: %s", d.msg);
			return -1;
		}
		if (status == 409 && off == 0)
			return 0; /* stored whole already (or an upload under way: offset 0 restarts
				     it) */
		if (status < 200 || status > 299) {
			cli_err("upgrade: the server refused piece %zu of the package (HTTP %d)",
				off / RP_PACKAGE_CHUNK, status);
			return -1;
		}
		if (n > RP_PACKAGE_CHUNK)
			fprintf(stderr, "\rrampart: upgrade: uploaded %zu of %zu bytes", off + len,
				n);
	}
	if (n > RP_PACKAGE_CHUNK)
		fputc('\n', stderr);
	return 0;
}

int cmd_upgrade(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'A'},
		{"version", required_argument, NULL, 'V'},
		{"arch", required_argument, NULL, 'a'},
		{"timeout", required_argument, NULL, 'T'},
		{"expires", required_argument, NULL, 'x'},
		{"not-before", required_argument, NULL, 'n'},
		{"comment", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_command cmd = {.kind = RP_KIND_UPGRADE, .timeout = 600};
	struct rp_release rel = {.size = 0};
	const char *expires = "1d", *not_before = NULL, *version = NULL, *arch = RP_DEB_ARCH;
	char *pkg = NULL, *text = NULL, hex[65];
	size_t plen = 0, tlen;
	uint64_t v;
	int ch, r = CLI_USAGE;

	snprintf(cmd.run_as, sizeof(cmd.run_as), "root");
	if (!(cmd.targets = calloc(RP_STATEMENT_TARGETS_MAX, sizeof(*cmd.targets))))
		return CLI_FAIL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+t:AV:a:T:x:n:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (cli_add_targets(&cmd, "upgrade", optarg) < 0)
				goto out;
			break;
		case 'A':
			if (cli_add_targets(&cmd, "upgrade", "all") < 0)
				goto out;
			break;
		case 'V': version = optarg; break;
		case 'a': arch = optarg; break;
		case 'T':
			if (rp_parse_u64(optarg, strlen(optarg), RP_TIMEOUT_MAX_S, &v) != 0 ||
			    v == 0) {
				cli_err("upgrade: --timeout `%s' is not 1 to %d seconds", optarg,
					RP_TIMEOUT_MAX_S);
				goto out;
			}
			cmd.timeout = (uint32_t)v;
			break;
		case 'x': expires = optarg; break;
		case 'n': not_before = optarg; break;
		case 'c': snprintf(cmd.comment, sizeof(cmd.comment), "%s", optarg); break;
		case 'h':
			printf("Usage: rampart upgrade --to DEVICE...|--all --version V [--arch A]\n"
			       "                       [--timeout S] [--expires WHEN] [--not-before WHEN]\n"
			       "                       [--comment TEXT] PACKAGE\n\n"
			       "Uploads PACKAGE (a rampart-agent .deb) to the server's package store and\n"
			       "signs an `upgrade' command whose payload is the release statement naming\n"
			       "it by SHA-256 and size. Like `run', it needs the exec quorum (`approve'\n"
			       "shows the release). Each device fetches the package, refuses bytes that\n"
			       "do not hash to the signed value and any version not newer than one it\n"
			       "has run (rollback), installs it with its own installer (dpkg -i), reports\n"
			       "the result and restarts itself. See docs/upgrades.md.\n\n"
			       "  --to DEVICE     device id, group:DEVICE-GROUP, tag:TAG or all (as for run)\n"
			       "  --all           every device of the org\n"
			       "  --version V     the package's version: 1 to 4 dotted numbers (1.4.0)\n"
			       "  --arch A        its Debian architecture (default " RP_DEB_ARCH
			       ")\n"
			       "  --timeout S     seconds the installer may take (default 600)\n"
			       "  --expires WHEN  default 1d after the start: devices offline until\n"
			       "                  then never install it\n"
			       "  --not-before WHEN, --comment TEXT  as for run\n");
			free(cmd.targets);
			return 0;
		default: goto out;
		}
	}
	if (cmd.ntargets == 0 || !version || optind != argc - 1) {
		cli_err("upgrade: need --to DEVICE (or --all), --version V and one PACKAGE file "
			"(see --help)");
		goto out;
	}
	if (!rp_release_version_valid(version, strlen(version))) {
		cli_err("upgrade: --version `%s' is not 1 to 4 dotted numbers without leading "
			"zeros (1.4.0)",
			version);
		goto out;
	}
	if (!rp_release_arch_valid(arch, strlen(arch))) {
		cli_err("upgrade: --arch `%s' is not a Debian architecture name (amd64, arm64)",
			arch);
		goto out;
	}
	r = CLI_FAIL;
	int k = rp_read_file(argv[optind], RP_PACKAGE_MAX, &pkg, &plen);
	if (k < 0 || plen == 0) {
		cli_err("upgrade: reading %s: %s", argv[optind],
			k < 0 ? rp_strerror(k) : "it is empty");
		goto out;
	}
	if (cli_need_server(c, true) < 0)
		goto out;
	snprintf(rel.org, sizeof(rel.org), "%s", c->org);
	snprintf(rel.package, sizeof(rel.package), "%s", RP_RELEASE_PACKAGE);
	snprintf(rel.version, sizeof(rel.version), "%s", version);
	snprintf(rel.arch, sizeof(rel.arch), "%s", arch);
	rp_sha256(pkg, plen, rel.hash);
	rel.size = plen;
	rel.signed_at = rp_now();
	rp_hex_encode(rel.hash, 32, hex);
	if (!(text = rp_release_format(&rel, &tlen)))
		goto out;
	if (upload(c, hex, (const uint8_t *)pkg, plen) < 0)
		goto out;
	snprintf(cmd.org, sizeof(cmd.org), "%s", c->org);
	rp_random_hex(cmd.id, RP_ID_HEX / 2);
	int64_t now = rp_now();
	cmd.not_before = now;
	if ((not_before && cli_parse_when(not_before, now, &cmd.not_before) < 0) ||
	    cli_parse_when(expires, cmd.not_before, &cmd.expires) < 0) {
		cli_err("upgrade: --expires/--not-before must be a duration (1h, 30m) or a time");
		r = CLI_USAGE;
		goto out;
	}
	if (!cmd.comment[0])
		snprintf(cmd.comment, sizeof(cmd.comment), "upgrade rampart-agent to %s", version);
	if (!c->json)
		printf("package sha256:%s (%zu bytes) stored; release %s for %s\n", hex, plen,
		       version, arch);
	if (cli_command_submit(c, "upgrade", &cmd, (const uint8_t *)text, tlen) < 0)
		goto out;
	r = 0;
out:
	free(cmd.targets);
	free(pkg);
	free(text);
	return r;
}

/* An upgrade the server lists, as this CLI verified it. */
struct release_row {
	struct cli_view v;
	struct rp_release *rel; /* NULL: its payload did not verify */
	char problem[200];
};

/* The payload of command id fetched and checked against v's hash, parsed as a release. */
static void release_of(struct cli *c, struct release_row *x, const char *id)
{
	char path[256];
	json_t *j;
	uint8_t *payload = NULL;
	size_t plen = 0;
	struct rp_diag d = {""};
	int k;

	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, id);
	if (!(j = cli_get(c, path))) {
		snprintf(x->problem, sizeof(x->problem), "not fetched");
		return;
	}
	if ((k = cli_view_payload(&x->v, j, &payload, &plen)) < 0)
		snprintf(x->problem, sizeof(x->problem), "%s",
			 k == RP_E_PAYLOAD ? "SECURITY: the server's payload does not match the "
					     "statement's hash"
					   : "the payload is not base64");
	else if (rp_release_parse_text((const char *)payload, plen, &x->rel, &d) < 0)
		snprintf(x->problem, sizeof(x->problem), "not a release: %.150s", d.msg);
	else if (strcmp(x->rel->org, c->org) != 0) {
		snprintf(x->problem, sizeof(x->problem), "a release of org %.64s", x->rel->org);
		rp_release_free(x->rel);
		x->rel = NULL;
	}
	free(payload);
	json_decref(j);
}

/* The org's upgrades that verify, newest first, into *ret (count returned; -1 after an error). */
static long releases_fetch(struct cli *c, const struct rp_policy *p, struct release_row **ret,
			   size_t *ret_bad)
{
	char path[256];
	json_t *j, *a;
	struct release_row *rows;
	size_t n = 0, i;
	json_t *o;

	*ret_bad = 0;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands?limit=%d", c->org, RP_COMMANDS_LIST_MAX);
	if (!(j = cli_get(c, path)))
		return -1;
	a = json_object_get(j, "commands");
	if (!(rows = calloc(json_array_size(a) + 1, sizeof(*rows)))) {
		json_decref(j);
		return -1;
	}
	json_array_foreach (a, i, o) {
		struct release_row *x = &rows[n];
		const char *st = cli_js(o, "statement");

		if (!strstr(st, "\nkind upgrade\n"))
			continue; /* only a look: each one kept is verified below */
		cli_view_init(&x->v, p, c->org, cli_js(o, "id"), st);
		if (!x->v.cmd || x->v.cmd->kind != RP_KIND_UPGRADE) {
			(*ret_bad)++;
			cli_view_release(&x->v);
			continue;
		}
		cli_view_strict(c, p, &x->v);
		cli_view_cancel(&x->v, p, json_object_get(o, "cancel"));
		release_of(c, x, x->v.cmd->id);
		n++;
	}
	json_decref(j);
	*ret = rows;
	return (long)n;
}

static void releases_free(struct release_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cli_view_release(&rows[i].v);
		rp_release_free(rows[i].rel);
	}
	free(rows);
}

/* Approved by the exec quorum (as this CLI counts it), not cancelled, its release verified. */
static bool release_signed(const struct release_row *x)
{
	return x->rel && cli_view_approved(&x->v) && !cli_view_cancel_state(&x->v);
}

int cmd_releases(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p;
	struct release_row *rows = NULL;
	size_t bad;
	long n;
	int64_t now = rp_now();
	json_t *out = NULL;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart releases [--json]\n\n"
		       "Lists the agent releases of `rampart upgrade' commands, each verified\n"
		       "against your trusted root policy: the package's version, architecture,\n"
		       "SHA-256 and size from the signed statement, its state and signatures.\n"
		       "`signed' marks those the exec quorum approved: the releases\n"
		       "`rampart enroll-command' may name.\n");
		return 0;
	}
	if (argc > 1) {
		cli_err("releases: unexpected argument `%s' (see --help)", argv[1]);
		return CLI_USAGE;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return CLI_FAIL;
	if ((n = releases_fetch(c, p, &rows, &bad)) < 0) {
		rp_policy_free(p);
		return CLI_FAIL;
	}
	if (c->json && !(out = json_array())) {
		releases_free(rows, (size_t)n);
		rp_policy_free(p);
		return CLI_FAIL;
	}
	if (!c->json)
		printf("%-10s %-6s %-8s %-16s %-32s %s\n", "VERSION", "ARCH", "SIGNED", "STATE",
		       "COMMAND", "PACKAGE");
	for (long i = 0; i < n; i++) {
		struct release_row *x = &rows[i];
		const char *state = cli_view_cancel_state(&x->v);
		char hex[65] = "";

		if (!state)
			state = cli_view_state(&x->v, now);
		if (x->rel)
			rp_hex_encode(x->rel->hash, 32, hex);
		if (c->json) {
			json_t *o = json_pack(
				"{s:s, s:s?, s:s?, s:s?, s:I, s:b, s:s, s:I, s:I, s:s?}", "command",
				x->v.cmd->id, "version", x->rel ? x->rel->version : NULL, "arch",
				x->rel ? x->rel->arch : NULL, "sha256", x->rel ? hex : NULL, "size",
				(json_int_t)(x->rel ? x->rel->size : 0), "signed",
				release_signed(x), "state", state, "signatures",
				(json_int_t)x->v.count, "threshold", (json_int_t)x->v.threshold,
				"problem", x->rel ? NULL : x->problem);
			if (o)
				json_array_append_new(out, o);
			continue;
		}
		if (!x->rel) {
			printf("%-10s %-6s %-8s %-16s %-32s ", "?", "?", "no", state, x->v.cmd->id);
			cli_put(stdout, x->problem);
			printf("\n");
			continue;
		}
		printf("%-10s %-6s %-8s %-16s %-32s sha256:%s %llu\n", x->rel->version,
		       x->rel->arch, release_signed(x) ? "yes" : "no", state, x->v.cmd->id, hex,
		       (unsigned long long)x->rel->size);
	}
	if (c->json) {
		cli_json(stdout, out);
		json_decref(out);
	} else if (bad) {
		printf("WARNING: %zu upgrade statement%s listed by the server did not verify "
		       "(not shown)\n",
		       bad, bad == 1 ? "" : "s");
	}
	releases_free(rows, (size_t)n);
	rp_policy_free(p);
	return 0;
}

/* The pin "sha256:<hex>" as curl's --pinnedpubkey wants it: sha256//<base64>. */
static int curl_pin(const char *pin, char *out, size_t n)
{
	uint8_t h[32];

	if (strncmp(pin, "sha256:", 7) != 0 || rp_hex_decode(pin + 7, 64, h, 32) != 0 ||
	    n < 9 + sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	memcpy(out, "sha256//", 8);
	sodium_bin2base64(out + 8, n - 8, h, 32, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int cmd_enroll_command(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"token", required_argument, NULL, 't'},
		{"release", required_argument, NULL, 'r'},
		{"arch", required_argument, NULL, 'a'},
		{"package-url", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *token = NULL, *version = NULL, *arch = RP_DEB_ARCH, *url = NULL;
	struct release_row *rows = NULL, *best = NULL;
	struct rp_policy *p = NULL;
	struct rp_sb sb;
	char hex[65], pin[80], purl[600];
	size_t bad;
	long n = 0;
	int ch, r = CLI_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+t:r:a:u:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': token = optarg; break;
		case 'r': version = optarg; break;
		case 'a': arch = optarg; break;
		case 'u': url = optarg; break;
		case 'h':
			printf("Usage: rampart enroll-command --token TOKEN [--release VERSION]\n"
			       "                              [--arch A] [--package-url URL]\n\n"
			       "Prints the one line an operator pastes on a new server (as root): it\n"
			       "downloads the rampart-agent package, refuses it unless its SHA-256 is the\n"
			       "one the exec quorum signed in the release's upgrade statement (verified\n"
			       "here against your trusted root policy, never taken from the server),\n"
			       "installs it, enrols with TOKEN and starts the service.\n\n"
			       "  --token TOKEN    from `rampart enroll-token' (--reusable for a fleet);\n"
			       "                   the line carries it: treat the line as a secret\n"
			       "  --release V      the release to install (default: the newest signed\n"
			       "                   one for the architecture; see `rampart releases')\n"
			       "  --arch A         Debian architecture (default " RP_DEB_ARCH ")\n"
			       "  --package-url URL  where the new server downloads it (default: this\n"
			       "                   server's package store); any mirror will do, since\n"
			       "                   the line checks the hash\n");
			return 0;
		default: return CLI_USAGE;
		}
	}
	if (!token || optind != argc) {
		cli_err("enroll-command: need --token TOKEN and no other argument (see --help)");
		return CLI_USAGE;
	}
	if (strncmp(token, "RPE1.", 5) != 0 && strncmp(token, "RPE2.", 5) != 0) {
		cli_err("enroll-command: --token is not an enrolment token (RPE1.… or RPE2.…, "
			"from `rampart enroll-token')");
		return CLI_USAGE;
	}
	if (version && !rp_release_version_valid(version, strlen(version))) {
		cli_err("enroll-command: --release `%s' is not a version (1.4.0)", version);
		return CLI_USAGE;
	}
	r = CLI_FAIL;
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		goto out;
	if ((n = releases_fetch(c, p, &rows, &bad)) < 0)
		goto out;
	for (long i = 0; i < n; i++) {
		struct release_row *x = &rows[i];
		if (!release_signed(x) || strcmp(x->rel->arch, arch) != 0 ||
		    (version && rp_release_version_cmp(x->rel->version, version) != 0))
			continue;
		if (!best || rp_release_version_cmp(x->rel->version, best->rel->version) > 0)
			best = x;
	}
	if (!best) {
		cli_err("enroll-command: no release %s%sfor %s is signed by the exec quorum (see "
			"`rampart releases'; `rampart upgrade' makes one)",
			version ? version : "", version ? " " : "", arch);
		goto out;
	}
	rp_hex_encode(best->rel->hash, 32, hex);
	if (!url) {
		snprintf(purl, sizeof(purl), "%s/v1/orgs/%s/packages/%s", c->server, c->org, hex);
		url = purl;
	}
	rp_sb_init(&sb, 16384);
	rp_sb_puts(&sb, "set -e; f=$(mktemp --suffix=.deb); curl -fsS --retry 5 ");
	if (!strncmp(url, c->server, strlen(c->server)) && curl_pin(c->pin, pin, sizeof(pin)) == 0)
		/* rampartd's certificate may be its own: the pin is what the agent trusts too */
		rp_sb_printf(&sb, "--insecure --pinnedpubkey %s ", pin);
	rp_sb_puts(&sb, "-o \"$f\" ");
	rp_sb_shell_word(&sb, url);
	rp_sb_printf(&sb,
		     "; echo '%s  '\"$f\" | sha256sum --check --strict --quiet; "
		     "apt-get install -y \"$f\"; rm -f \"$f\"; rampart-agent enroll --token ",
		     hex);
	rp_sb_shell_word(&sb, token);
	rp_sb_puts(&sb, "; systemctl enable --now rampart-agent\n");
	if (c->json) {
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "command", sb.s, "version",
				  best->rel->version, "arch", best->rel->arch, "sha256", hex,
				  "size", (json_int_t)best->rel->size, "upgrade", best->v.cmd->id);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		fprintf(stderr,
			"rampart: enroll-command: release %s for %s, package sha256:%s, signed by "
			"%zu of %u exec administrators (upgrade %s); paste this as root:\n",
			best->rel->version, best->rel->arch, hex, best->v.count, best->v.threshold,
			best->v.cmd->id);
		fputs(sb.s, stdout);
	}
	rp_sb_release(&sb);
	r = 0;
out:
	releases_free(rows, n > 0 ? (size_t)n : 0);
	rp_policy_free(p);
	return r;
}
