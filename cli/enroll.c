/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reusable enrolment tokens, from the administrator's side
 * (docs/operating.md, "Enrolling a fleet"; lib/enroll.h):
 *
 *   rampart enroll-token --reusable [--max-devices N] [--for 30d] [--group G]... [--tag T]...
 *   rampart enroll-token print TOKEN-ID
 *   rampart enroll-token list [--json]
 *   rampart enroll-token revoke TOKEN-ID
 *
 * The CLI makes the token's key pair; the seed stays in this CLI's config
 * directory (<org>.enroll/<id>.seed, 0600) and in the token text, never on
 * the server. The token itself is a `token' line of a directory statement,
 * signed by the directory role's quorum (and by what every group it names
 * requires), and it enrols nothing until it is logged: the token text is
 * printed only once this CLI's own fold of the logged directory holds it
 * with the public key of that seed.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "directory.h"
#include "enroll.h"
#include "policy.h"
#include "rp_err.h"

#define REUSABLE_FOR_DEFAULT "24h"
#define REUSABLE_FOR_MAX_S   (90 * 86400)
#define REUSABLE_MAX_DEFAULT 100
#define REUSABLE_WAIT_S      60

bool cli_enroll_is_reusable(int argc, char *argv[])
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "list") || !strcmp(argv[1], "print") || !strcmp(argv[1], "revoke")))
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--reusable"))
			return true;
	return false;
}

static int seed_path(const struct cli *c, const char *id, char *out, size_t n, bool mkdirs)
{
	int w = snprintf(out, n, "%s/%s.enroll", c->config_dir, c->org);

	if (w < 0 || (size_t)w >= n)
		return RP_E_TOOBIG;
	if (mkdirs && mkdir(out, 0700) != 0 && errno != EEXIST)
		return RP_E_IO;
	w = snprintf(out, n, "%s/%s.enroll/%s.seed", c->config_dir, c->org, id);
	return w > 0 && (size_t)w < n ? 0 : RP_E_TOOBIG;
}

static int seed_load(const struct cli *c, const char *id, uint8_t seed[32])
{
	char path[700], *buf = NULL;
	size_t len;
	int r;

	if ((r = seed_path(c, id, path, sizeof(path), false)) < 0 ||
	    (r = rp_read_file_flags(path, 128, RP_FILE_NOFOLLOW, &buf, &len, NULL)) < 0) {
		cli_err("enroll-token: no seed for token %s in %s (made by another administrator's "
			"CLI?): %s",
			id, path, rp_strerror(r));
		return r;
	}
	r = len >= 64 && rp_hex_decode(buf, 64, seed, 32) == 0 ? 0 : RP_E_MALFORMED;
	if (r < 0)
		cli_err("enroll-token: %s is not 64 hex digits", path);
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

/*
 * The token text of token id, once this CLI's fold of the logged directory
 * holds it with the key of the seed kept here; 1 while it does not yet.
 */
static int token_print(struct cli *c, const struct rp_policy *p, const char *id, bool quiet)
{
	struct rp_dir_state s;
	const struct rp_dir_token *t;
	struct rp_reusable_token rt;
	struct rp_skey k;
	struct rp_diag d = {""};
	char *text = NULL, hex[65];
	int r;

	memset(&rt, 0, sizeof(rt));
	if (seed_load(c, id, rt.seed) < 0)
		return -1;
	if (cli_directory(c, p, &s, true) < 0) {
		sodium_memzero(&rt, sizeof(rt));
		return -1;
	}
	rp_reusable_token_key(id, rt.seed, &k);
	t = rp_dir_token_get(&s.dir, id);
	if (!t) {
		if (!quiet)
			cli_err("enroll-token: token %s is not in the logged directory (yet): "
				"`rampart approve' it, or see `rampart commands'",
				id);
		r = 1;
		goto out;
	}
	if (memcmp(t->key, k.pub, 32) != 0) {
		cli_err("SECURITY: the logged token %s names another key than the seed kept here",
			id);
		r = -1;
		goto out;
	}
	/* the key the server presents, as `enroll-token' pins it (one the trust accepts) */
	struct rp_https_conn conn = {0};
	char path[160];
	json_t *j = NULL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/policy", c->org);
	c->api.conn = &conn;
	r = rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d);
	c->api.conn = NULL;
	rp_https_conn_close(&conn);
	json_decref(j);
	if (r < 0) {
		cli_err("enroll-token: %s", d.msg);
		r = -1;
		goto out;
	}
	rp_hex_encode(conn.key, 32, hex);
	snprintf(rt.pin, sizeof(rt.pin), "sha256:%s", hex);
	if (strlen(c->api.http.url.base) >= sizeof(rt.server)) {
		cli_err("enroll-token: the server URL is too long for a token");
		r = -1;
		goto out;
	}
	memcpy(rt.server, c->api.http.url.base, strlen(c->api.http.url.base) + 1);
	snprintf(rt.org, sizeof(rt.org), "%s", c->org);
	snprintf(rt.policy, sizeof(rt.policy), "%s", p->hash);
	snprintf(rt.id, sizeof(rt.id), "%s", id);
	rt.expires = t->expires;
	if (!(text = rp_reusable_token_format(&rt))) {
		r = -1;
		goto out;
	}
	fprintf(stderr,
		"rampart: reusable token %s is logged: up to %u devices until its expiry, "
		"%zu enrolled so far (`rampart enroll-token revoke %s' ends it)\n",
		id, t->max, t->nenrolled, id);
	if (c->json) {
		char exp[21];
		rp_time_format(t->expires, exp);
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", id, "token", text,
				      "expires", exp, "max_devices", (json_int_t)t->max, "enrolled",
				      (json_int_t)t->nenrolled);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		printf("%s\n", text);
	}
	r = 0;
out:
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	rp_skey_wipe(&k);
	sodium_memzero(&rt, sizeof(rt));
	rp_dir_state_release(&s);
	return r;
}

static const char create_help[] =
	"Usage: rampart enroll-token --reusable [--max-devices N] [--for DURATION]\n"
	"                            [--group NAME]... [--tag NAME]...\n"
	"       rampart enroll-token print TOKEN-ID\n"
	"       rampart enroll-token list [--json]\n"
	"       rampart enroll-token revoke TOKEN-ID\n\n"
	"A reusable token enrols up to N servers (default 100, at most 10000) until\n"
	"it expires (--for, default 24h, at most 90d), each into the device groups\n"
	"and tags named: one line for cloud-init or an autoscaling group. It is a\n"
	"directory change, signed by the directory role's quorum and by what every\n"
	"group it names requires (device-group-threshold), and it enrols nothing\n"
	"until it is logged. Its secret is a key made here: the server never sees it.\n"
	"The token is printed once this CLI verified it in the logged directory; if\n"
	"it awaits approvals, `rampart enroll-token print TOKEN-ID' prints it later\n"
	"(the seed stays in <config dir>/<org>.enroll/). Treat it as a secret: whoever\n"
	"holds it can enrol servers into those groups until it expires, is used up,\n"
	"or is revoked.\n\n"
	"  list     the tokens of the verified directory, with the devices each enrolled\n"
	"  revoke   a signed change: no enrolment logged after it is folded\n"
	"Each change may wait 7 days for its approvals.\n";

static int reusable_create(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"reusable", no_argument, NULL, 'R'},
		{"max-devices", required_argument, NULL, 'm'},
		{"for", required_argument, NULL, 'f'},
		{"group", required_argument, NULL, 'g'},
		{"tag", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_dir put = {0}, del = {0};
	struct rp_dir_token *t = calloc(1, sizeof(*t));
	struct rp_policy *p = NULL;
	struct rp_dir_state s;
	struct rp_skey k;
	uint8_t seed[32];
	char path[700], hex[65], sid[RP_ID_HEX + 1], id[RP_ID_HEX + 1];
	const char *lifetime = REUSABLE_FOR_DEFAULT;
	uint64_t max = REUSABLE_MAX_DEFAULT;
	int64_t now = rp_now();
	int ch, r = 1;

	memset(&k, 0, sizeof(k));
	if (!t)
		return 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'R': break;
		case 'm':
			if (rp_parse_u64(optarg, strlen(optarg), RP_ENROLL_TOKEN_DEVICES_MAX,
					 &max) != 0 ||
			    max == 0) {
				cli_err("enroll-token: --max-devices `%s' is not from 1 to %d",
					optarg, RP_ENROLL_TOKEN_DEVICES_MAX);
				r = 2;
				goto out;
			}
			break;
		case 'f': lifetime = optarg; break;
		case 'g':
		case 't':
			if (!rp_dir_name_valid(optarg, strlen(optarg)) ||
			    (r = cli_dir_add_name(ch == 'g' ? &t->groups : &t->tags,
						  ch == 'g' ? &t->ngroups : &t->ntags,
						  ch == 'g' ? RP_DIR_DEVICE_GROUPS_MAX
							    : RP_DIR_TAGS_MAX,
						  optarg)) < 0) {
				cli_err("enroll-token: --%s `%s' is not a valid name, or too many",
					ch == 'g' ? "group" : "tag", optarg);
				r = 2;
				goto out;
			}
			r = 1;
			break;
		case 'h':
			printf("%s", create_help);
			r = 0;
			goto out;
		default: r = 2; goto out;
		}
	}
	if (optind != argc) {
		cli_err("enroll-token: unexpected argument `%s' (see --help)", argv[optind]);
		r = 2;
		goto out;
	}
	if (cli_parse_when(lifetime, now, &t->expires) < 0 || t->expires <= now ||
	    t->expires > now + REUSABLE_FOR_MAX_S) {
		cli_err("enroll-token: --for `%s' is not a duration up to 90d", lifetime);
		r = 2;
		goto out;
	}
	t->max = (uint32_t)max;
	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		goto out;
	if (cli_directory(c, p, &s, true) < 0)
		goto out;
	for (size_t i = 0; i < t->ngroups; i++)
		if (!rp_dir_dgroup_exists(&s.dir, t->groups[i])) {
			cli_err("enroll-token: %s is not a device group (rampart device-group add %s)",
				t->groups[i], t->groups[i]);
			rp_dir_state_release(&s);
			goto out;
		}
	rp_dir_state_release(&s);
	rp_random_hex(t->id, RP_ID_HEX / 2);
	randombytes_buf(seed, sizeof(seed));
	rp_reusable_token_key(t->id, seed, &k);
	memcpy(t->key, k.pub, 32);
	/* the seed is kept before anything is submitted: a token logged without it is useless */
	rp_hex_encode(seed, sizeof(seed), hex);
	hex[64] = '\n';
	if (seed_path(c, t->id, path, sizeof(path), true) < 0 ||
	    rp_write_file_atomic(path, hex, 65, 0600) < 0) {
		cli_err("enroll-token: cannot keep the token's seed in %s", path);
		goto out;
	}
	memcpy(id, t->id, sizeof(id));
	if (rp_dir_insert(&put, RP_DIR_TOKEN, t) < 0)
		goto out;
	t = NULL;
	if ((r = cli_directory_change(c, "enroll-token", &put, &del, sid)) != 0)
		goto out;
	/*
	 * Printed only once logged and verified: waited for when the server says
	 * it is approved (its word decides only whether to wait).
	 */
	r = 1;
	bool approved = false;
	{
		char cpath[200];
		json_t *j = NULL;
		struct rp_diag d = {""};
		snprintf(cpath, sizeof(cpath), "/v1/orgs/%s/commands/%s", c->org, sid);
		if (rp_api_call(&c->api, "GET", cpath, NULL, &j, NULL, &d) == 0) {
			const char *st = json_string_value(json_object_get(j, "state"));
			approved = st && !strcmp(st, "approved");
		}
		json_decref(j);
	}
	for (int64_t until = rp_now() + (approved ? REUSABLE_WAIT_S : 0);
	     r == 1 && rp_now() < until;) {
		r = token_print(c, p, id, true);
		if (r == 1)
			sleep(1);
	}
	if (r == 1) {
		fprintf(stderr,
			"rampart: token %s awaits its approvals (statement %s): once `rampart "
			"approve %s' reached the quorum, `rampart enroll-token print %s' prints it\n",
			id, sid, sid, id);
		r = 0;
	}
	r = r < 0 ? 1 : r;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(hex, sizeof(hex));
	rp_skey_wipe(&k);
	rp_dir_obj_free(RP_DIR_TOKEN, t);
	rp_dir_release(&put);
	rp_dir_release(&del);
	rp_policy_free(p);
	return r;
}

static int reusable_list(struct cli *c)
{
	struct rp_policy *p;
	struct rp_dir_state s;
	char t[21];

	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return 1;
	if (cli_directory(c, p, &s, true) < 0) {
		rp_policy_free(p);
		return 1;
	}
	rp_policy_free(p);
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < s.dir.ntokens; i++) {
			const struct rp_dir_token *tk = s.dir.tokens[i];
			json_t *g = json_array(), *tg = json_array(), *dv = json_array();
			for (size_t k = 0; k < tk->ngroups; k++)
				json_array_append_new(g, json_string(tk->groups[k]));
			for (size_t k = 0; k < tk->ntags; k++)
				json_array_append_new(tg, json_string(tk->tags[k]));
			for (size_t k = 0; k < tk->nenrolled; k++)
				json_array_append_new(dv, json_string(tk->enrolled[k]));
			rp_time_format(tk->expires, t);
			json_array_append_new(a,
					      json_pack("{s:s, s:s, s:b, s:I, s:I, s:o, s:o, s:o}",
							"id", tk->id, "expires", t, "expired",
							tk->expires <= rp_now(), "max_devices",
							(json_int_t)tk->max, "enrolled",
							(json_int_t)tk->nenrolled, "groups", g,
							"tags", tg, "devices", dv));
		}
		json_t *j = json_pack("{s:o}", "enroll_tokens", a);
		if (j)
			cli_json(stdout, j);
		json_decref(j);
	} else {
		printf("%-32s  %-20s  %9s  %s\n", "TOKEN (verified)", "EXPIRES", "ENROLLED",
		       "GROUPS / TAGS");
		for (size_t i = 0; i < s.dir.ntokens; i++) {
			const struct rp_dir_token *tk = s.dir.tokens[i];
			char n[24];
			rp_time_format(tk->expires, t);
			snprintf(n, sizeof(n), "%zu/%u", tk->nenrolled, tk->max);
			printf("%-32s  %-20s  %9s  ", tk->id,
			       tk->expires <= rp_now() ? "expired" : t, n);
			for (size_t k = 0; k < tk->ngroups; k++)
				printf("%sgroup:%s", k ? "," : "", tk->groups[k]);
			for (size_t k = 0; k < tk->ntags; k++)
				printf("%stag:%s", k || tk->ngroups ? "," : "", tk->tags[k]);
			printf("\n");
		}
		if (s.dir.ntokens == 0)
			printf("(no reusable enrolment token in the verified directory)\n");
	}
	rp_dir_state_release(&s);
	return 0;
}

/* The directory this CLI verified, before a change is built on it. */
static int verified_dir(struct cli *c, struct rp_dir_state *s)
{
	struct rp_policy *p;
	int r;

	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return -1;
	r = cli_directory(c, p, s, true);
	rp_policy_free(p);
	return r < 0 ? -1 : 0;
}

static int reusable_revoke(struct cli *c, const char *id)
{
	struct rp_dir put = {0}, del = {0};
	struct rp_dir_token *t;
	struct rp_dir_state s;
	char sid[RP_ID_HEX + 1];
	int r;

	if (verified_dir(c, &s) < 0)
		return 1;
	r = rp_dir_token_get(&s.dir, id) ? 0 : 1;
	rp_dir_state_release(&s);
	if (r) {
		cli_err("enroll-token revoke: no token %s in the verified directory", id);
		return 1;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return 1;
	memcpy(t->id, id, RP_ID_HEX);
	if (rp_dir_insert(&del, RP_DIR_TOKEN, t) < 0) {
		free(t);
		return 1;
	}
	return cli_directory_change(c, "enroll-token revoke", &put, &del, sid);
}

int cli_enroll_reusable(struct cli *c, int argc, char *argv[])
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (!strcmp(sub, "list") || !strcmp(sub, "print") || !strcmp(sub, "revoke")) {
		if (cli_is_help(argc - 1, argv + 1)) {
			printf("%s", create_help);
			return 0;
		}
		if (!strcmp(sub, "list")) {
			if (argc != 2) {
				cli_err("enroll-token list: unexpected argument `%s'", argv[2]);
				return 2;
			}
			return reusable_list(c);
		}
		if (argc != 3 || !rp_id_valid(argv[2], strlen(argv[2]))) {
			cli_err("enroll-token %s: need one token id (32 hex digits)", sub);
			return 2;
		}
		if (!strcmp(sub, "revoke"))
			return reusable_revoke(c, argv[2]);
		struct rp_policy *p;
		if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
			return 1;
		int r = token_print(c, p, argv[2], false);
		rp_policy_free(p);
		return r == 0 ? 0 : 1;
	}
	return reusable_create(c, argc, argv);
}

/* ---- decommissioning ---- */

int cli_devices_remove(struct cli *c, int argc, char *argv[])
{
	struct rp_dir put = {0}, del = {0};
	struct rp_dir_device *v;
	struct rp_dir_state s;
	const struct rp_dir_device *cur;
	char sid[RP_ID_HEX + 1];
	int r;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart devices remove DEVICE\n\n"
		       "Decommissions a device, for good: a signed directory change (the directory\n"
		       "quorum, and the stricter one of the device's groups) that takes it out of\n"
		       "every group and tag and marks it `decommissioned'. Once logged, its agent\n"
		       "stops acting and exits with status 10 at every start (its service must not\n"
		       "restart it: RestartPreventExitStatus=10); the accounts it manages stay as\n"
		       "they are (take the device out of its groups first to have them removed).\n"
		       "`rampart devices' shows it DECOMMISSIONED from the verified directory\n"
		       "whatever the server's rows say, and `rampart run' refuses to target it.\n");
		return 0;
	}
	if (argc != 2 || !rp_id_valid(argv[1], strlen(argv[1]))) {
		cli_err("devices remove: need one device id (32 hex digits)");
		return 2;
	}
	if (verified_dir(c, &s) < 0)
		return 1;
	cur = rp_dir_device_get(&s.dir, argv[1]);
	r = cur && cur->decommissioned;
	rp_dir_state_release(&s);
	if (r) {
		cli_err("devices remove: %s is decommissioned already", argv[1]);
		return 1;
	}
	if (!(v = calloc(1, sizeof(*v))))
		return 1;
	memcpy(v->id, argv[1], RP_ID_HEX);
	v->decommissioned = true;
	if (rp_dir_insert(&put, RP_DIR_DEVICE, v) < 0) {
		rp_dir_obj_free(RP_DIR_DEVICE, v);
		return 1;
	}
	return cli_directory_change(c, "devices remove", &put, &del, sid);
}

bool cli_device_decommissioned(struct cli *c, const char *id)
{
	/* one policy and one fold per run (cli_directory_once), whatever asks */
	static struct rp_policy *p;
	static bool tried;
	const struct rp_dir_state *s;
	const struct rp_dir_device *v;

	if (!tried) {
		tried = true;
		p = cli_policy(c); /* kept for the run */
	}
	s = p ? cli_directory_once(c, p) : NULL;
	v = s ? rp_dir_device_get(&s->dir, id) : NULL;
	return v && v->decommissioned;
}
