/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart rotate: revoke credentials the server checks, all at once
 * (issue 9). API tokens and enrolment tokens authorise nothing an agent
 * acts on, but a stolen one reads the org or enrols a device into it;
 * after a breach every one of them goes in one signed request, as
 * JumpCloud had to invalidate every administrator API key in 2023.
 * Agents are untouched: they authenticate with their device keys.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rp_err.h"

static const char rotate_usage[] =
	"Usage: rampart rotate api-tokens [--reissue] [--yes]\n"
	"       rampart rotate enroll-tokens [--id ID] [--yes]\n\n"
	"Revokes credentials the server checks, at once, in one request signed by\n"
	"your key (a key of the org's root policy):\n\n"
	"  api-tokens     every API token of the org; with --reissue each unexpired\n"
	"                 one is replaced (same name, scope and lifetime, new secret)\n"
	"  enroll-tokens  every enrolment token not yet used (or only --id ID)\n\n"
	"Enrolled agents keep working: they authenticate with their device keys.\n"
	"On the server itself, `rampartd rotate' does the same without the API.\n"
	"`rampart rotate SUBCOMMAND --help' describes each.\n";

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* One new secret per token the server listed, by token id. */
struct secrets {
	size_t n;
	struct secret {
		char old_id[RP_ID_HEX + 1];
		char secret[65];
	} * v;
};

static void secrets_release(struct secrets *s)
{
	if (s->v)
		sodium_memzero(s->v, s->n * sizeof(*s->v));
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const char *secret_of(const struct secrets *s, const char *old_id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].old_id, old_id))
			return s->v[i].secret;
	return NULL;
}

/*
 * {"reissue": {"<id>": "sha256:<hex of a new secret>"}} for every token the
 * server lists now (it reissues only the unexpired ones, by its clock).
 */
static json_t *reissue_body(struct cli *c, struct secrets *s)
{
	char path[256], hash[72];
	json_t *j, *v, *m = NULL, *b = NULL;
	struct rp_diag d = {""};
	size_t i, n;

	snprintf(path, sizeof(path), "/v1/orgs/%s/tokens", c->org);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("rotate api-tokens: listing the tokens to reissue: %s", d.msg);
		return NULL;
	}
	n = json_array_size(json_object_get(j, "tokens"));
	if (n > RP_API_TOKENS_REISSUE_MAX) {
		cli_err("rotate api-tokens: the org has %zu API tokens, more than one request "
			"reissues (%d): rotate without --reissue and create what is still needed",
			n, RP_API_TOKENS_REISSUE_MAX);
		goto out;
	}
	if (!(s->v = calloc(n ? n : 1, sizeof(*s->v))) || !(m = json_object()))
		goto out;
	json_array_foreach (json_object_get(j, "tokens"), i, v) {
		const char *id = js(v, "id");
		if (!rp_id_valid(id, strlen(id)))
			continue; /* the server may not name it; it refuses a map without it */
		memcpy(s->v[s->n].old_id, id, RP_ID_HEX + 1);
		rp_random_hex(s->v[s->n].secret, 32);
		rp_sha256_text(s->v[s->n].secret, 64, hash);
		s->n++;
		if (json_object_set_new(m, id, json_string(hash)) < 0)
			goto out;
	}
	b = json_pack("{s:o}", "reissue", m);
	m = NULL;
out:
	json_decref(m);
	json_decref(j);
	return b;
}

static void print_revoked(json_t *a, bool reissue)
{
	char t[21];
	json_t *v;
	size_t i;

	printf("%-32s  %-20s  %-5s  %-20s  %s\n", "REVOKED", "NAME", "SCOPE", "EXPIRES",
	       reissue ? "REPLACED BY" : "CREATED BY");
	json_array_foreach (a, i, v) {
		json_int_t exp = json_integer_value(json_object_get(v, "expires"));
		rp_time_format(exp, t);
		cli_cell(stdout, js(v, "id"), 32);
		fputs("  ", stdout);
		cli_cell(stdout, js(v, "name"), 20);
		fputs("  ", stdout);
		cli_cell(stdout, js(v, "scope"), 5);
		printf("  %-20s  ", exp <= rp_now() ? "expired" : t);
		if (!reissue)
			cli_last(stdout, js(v, "created_by"), 0);
		else
			cli_last(stdout,
				 json_is_string(json_object_get(v, "replaced_by"))
					 ? js(v, "replaced_by")
					 : "- (expired: not reissued)",
				 0);
	}
}

/*
 * The new tokens, each from the server's id for it and the secret made
 * here for the token it replaces: shown once. RP_E_MALFORMED when the
 * server names a replacement it cannot have been asked for.
 */
static int print_reissued(json_t *a, const struct secrets *s, json_t *out)
{
	char t[21], tok[RP_ID_HEX + 70];
	json_t *v;
	size_t i;
	bool head = false;
	int r = 0;

	json_array_foreach (a, i, v) {
		const char *nid = js(v, "replaced_by"), *sec = secret_of(s, js(v, "id"));
		if (!nid[0])
			continue;
		if (!rp_id_valid(nid, strlen(nid)) || !sec) {
			cli_err("rotate api-tokens: the server names a replacement `%s' for token "
				"`%s' that was not asked for",
				nid, js(v, "id"));
			r = RP_E_MALFORMED;
			continue;
		}
		snprintf(tok, sizeof(tok), "rpt_%s_%s", nid, sec);
		if (out) {
			json_array_append_new(
				out,
				json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "replaces", js(v, "id"),
					  "id", nid, "name", js(v, "name"), "scope", js(v, "scope"),
					  "expires",
					  json_integer_value(json_object_get(v, "new_expires")),
					  "token", tok));
		} else {
			if (!head)
				printf("\nNew tokens, shown only now (the server keeps their hashes); "
				       "hand each to whoever used the one it replaces:\n");
			head = true;
			rp_time_format(json_integer_value(json_object_get(v, "new_expires")), t);
			printf("%s  ", tok);
			cli_cell(stdout, js(v, "scope"), 5);
			printf("  %s  ", t);
			cli_last(stdout, js(v, "name"), 0);
		}
		sodium_memzero(tok, sizeof(tok));
	}
	return r;
}

static int rotate_api(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"reissue", no_argument, NULL, 'r'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct secrets s = {0};
	struct rp_diag d = {""};
	bool reissue = false, yes = false;
	char path[256];
	json_t *b = NULL, *j = NULL, *out = NULL;
	int ch, status = 0, r = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ryh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': reissue = true; break;
		case 'y': yes = true; break;
		case 'h':
			printf("Usage: rampart rotate api-tokens [--reissue] [--yes]\n\n"
			       "Revokes every API token of the org at once, in one request signed by\n"
			       "your key and one transaction on the server: the next request with any\n"
			       "of them gets 401. Prints each one revoked (id, name, scope, expiry).\n\n"
			       "  --reissue  replace each unexpired token: same name and scope, its old\n"
			       "             lifetime from now, a new id and a new secret made here (the\n"
			       "             server receives only its hash). The new tokens are printed\n"
			       "             once, as `token create' does. Should the tokens change\n"
			       "             between the listing and the rotation, nothing is revoked\n"
			       "             and the CLI tries again.\n"
			       "  --yes      do not ask first\n\n"
			       "--json prints {\"revoked\": [...], \"reissued\": [{\"replaces\", \"id\",\n"
			       "\"name\", \"scope\", \"expires\", \"token\"}]}. Agents are not affected.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_err("rotate api-tokens: unexpected `%s' (see --help)", argv[optind]);
		return 2;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	if (!yes && !cli_confirm(reissue ? "Revoke and reissue every API token of this org?"
					 : "Revoke every API token of this org?")) {
		cli_err("rotate api-tokens: nothing revoked");
		return 1;
	}
	snprintf(path, sizeof(path), "/v1/orgs/%s/tokens/rotate", c->org);
	for (int attempt = 0; attempt < 3; attempt++) {
		status = 0;
		secrets_release(&s);
		json_decref(b);
		b = reissue ? reissue_body(c, &s) : json_object();
		if (!b)
			goto out;
		if (rp_api_call(&c->api, "POST", path, b, &j, &status, &d) >= 0)
			break;
		if (status != 409 || !reissue) {
			cli_err("rotate api-tokens: %s", d.msg);
			goto out;
		}
	}
	if (!j) {
		cli_err("rotate api-tokens: %s", d.msg);
		goto out;
	}
	if (c->json) {
		json_t *o;
		if (!(out = json_array()))
			goto out;
		r = print_reissued(json_object_get(j, "revoked"), &s, out) < 0 ? 1 : 0;
		o = json_pack("{s:s, s:O, s:o}", "org", c->org, "revoked",
			      json_object_get(j, "revoked"), "reissued", out);
		out = NULL;
		if (o)
			cli_json(stdout, o);
		json_decref(o);
		goto out;
	}
	printf("%zu API token%s of org ", json_array_size(json_object_get(j, "revoked")),
	       json_array_size(json_object_get(j, "revoked")) == 1 ? "" : "s");
	cli_put(stdout, c->org);
	printf(" revoked; they stop working now.\n");
	print_revoked(json_object_get(j, "revoked"), reissue);
	r = print_reissued(json_object_get(j, "revoked"), &s, NULL) < 0 ? 1 : 0;
out:
	secrets_release(&s);
	json_decref(out);
	json_decref(b);
	json_decref(j);
	return r;
}

static int rotate_enroll(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_diag d = {""};
	const char *id = NULL;
	bool yes = false;
	char path[256], t[21];
	json_t *b, *j = NULL, *v;
	size_t i;
	int ch, r = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:yh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': id = optarg; break;
		case 'y': yes = true; break;
		case 'h':
			printf("Usage: rampart rotate enroll-tokens [--id ID] [--yes]\n\n"
			       "Revokes every enrolment token of the org not yet used, or only the one\n"
			       "with this ID (printed when it was made, and by this command), in one\n"
			       "request signed by your key: none of them enrols a device any more.\n"
			       "Enrolled devices are not affected; used tokens stay on the server as\n"
			       "the record of who enrolled what. Prints each one revoked.\n\n"
			       "  --yes  do not ask first\n");
			return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_err("rotate enroll-tokens: unexpected `%s' (see --help)", argv[optind]);
		return 2;
	}
	if (id && !rp_id_valid(id, strlen(id))) {
		cli_err("rotate enroll-tokens: --id `%s' is not an enrolment token id (32 hex digits)",
			id);
		return 2;
	}
	if (cli_need_server(c, true) < 0)
		return 1;
	if (!yes && !cli_confirm(id ? "Revoke this enrolment token?"
				    : "Revoke every unused enrolment token of this org?")) {
		cli_err("rotate enroll-tokens: nothing revoked");
		return 1;
	}
	snprintf(path, sizeof(path), "/v1/orgs/%s/enroll-tokens/revoke", c->org);
	b = id ? json_pack("{s:s}", "id", id) : json_object();
	if (!b || rp_api_call(&c->api, "POST", path, b, &j, NULL, &d) < 0) {
		cli_err("rotate enroll-tokens: %s", d.msg);
		goto out;
	}
	if (c->json) {
		cli_json(stdout, j);
		r = 0;
		goto out;
	}
	printf("%zu unused enrolment token%s of org ",
	       json_array_size(json_object_get(j, "revoked")),
	       json_array_size(json_object_get(j, "revoked")) == 1 ? "" : "s");
	cli_put(stdout, c->org);
	printf(" revoked; none of them enrols a device now.\n");
	printf("%-32s  %-20s  %s\n", "REVOKED", "EXPIRES", "CREATED BY");
	json_array_foreach (json_object_get(j, "revoked"), i, v) {
		json_int_t exp = json_integer_value(json_object_get(v, "expires"));
		rp_time_format(exp, t);
		cli_cell(stdout, js(v, "id"), 32);
		printf("  %-20s  ", exp <= rp_now() ? "expired" : t);
		cli_last(stdout, js(v, "created_by"), 0);
	}
	r = 0;
out:
	json_decref(b);
	json_decref(j);
	return r;
}

int cmd_rotate(struct cli *c, int argc, char *argv[])
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(rotate_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "api-tokens"))
		return rotate_api(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "enroll-tokens"))
		return rotate_enroll(c, argc - 1, argv + 1);
	cli_err("rotate: unknown `%s': expected api-tokens or enroll-tokens (see --help)", argv[1]);
	return 2;
}
