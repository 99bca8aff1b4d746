/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The directory, from the administrator's side (docs/directory.md):
 * `rampart directory show|diff', and the commands that change it (user,
 * group, device-group, bind, unbind). Each change is a directory
 * statement built on the directory this CLI verified, shown as the exact
 * difference it makes before it is signed, then submitted like a command:
 * it takes effect once the `directory' role's quorum signed it
 * (`rampart approve').
 *
 * The directory this CLI trusts is its own fold of the logged directory
 * statements the server lists: each verified against the trusted root
 * policy, each chained to the one before (rp_dir_apply), kept in
 * <config dir>/<org>.directory so that later runs fetch only what is new,
 * and so that a server that shows an older or another directory than the
 * one already verified is caught (SECURITY). A statement that does not
 * reach the quorum under the trusted policy is shown and not applied, as
 * agents do.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "account.h"
#include "directory.h"
#include "drift.h"
#include "enroll.h"
#include "rp_err.h"
#include "sshkey.h"

#define DIR_EXPIRES_DEFAULT "7d"

int cmd_directory_import(struct cli *c, int argc, char *argv[]);

static int cache_path(const struct cli *c, char *out, size_t n)
{
	int w = snprintf(out, n, "%s/%s.directory", c->config_dir, c->org);

	return w > 0 && (size_t)w < n ? 0 : RP_E_TOOBIG;
}

/* The cached fold, or an empty directory; a damaged cache is said and not used. */
static void cache_load(const struct cli *c, struct rp_dir_state *s)
{
	char path[600], *buf = NULL;
	struct rp_diag d = {""};
	size_t len;

	rp_dir_state_init(s, c->org);
	if (cache_path(c, path, sizeof(path)) < 0 ||
	    rp_read_file_flags(path, RP_DIR_STATE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL) < 0)
		return;
	if (rp_dir_state_parse(buf, len, s, &d) < 0 || strcmp(s->org, c->org) != 0) {
		fprintf(stderr,
			"rampart: %s is not a directory of org %s (%s): verifying from the "
			"start\n",
			path, c->org, d.msg[0] ? d.msg : "another org");
		rp_dir_state_release(s);
		rp_dir_state_init(s, c->org);
	}
	free(buf);
}

static void cache_save(const struct cli *c, const struct rp_dir_state *s)
{
	char path[600], *text;
	size_t len;

	if (cache_path(c, path, sizeof(path)) < 0 || !(text = rp_dir_state_format(s, &len)))
		return;
	if (rp_write_file_atomic(path, text, len, 0600) < 0)
		fprintf(stderr, "rampart: could not keep the verified directory in %s\n", path);
	free(text);
}

/* One page of logged directory entries from position from; NULL after an error. */
static json_t *fetch(struct cli *c, uint64_t from, bool *ret_more)
{
	struct rp_diag d = {""};
	char path[256];
	json_t *j = NULL, *a;

	snprintf(path, sizeof(path), "/v1/orgs/%s/directory?from=%llu", c->org,
		 (unsigned long long)from);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("directory: %s", d.msg);
		return NULL;
	}
	a = json_object_get(j, "entries");
	if (!json_is_array(a) || json_array_size(a) > RP_DIR_ANSWER_ENTRIES) {
		cli_err("directory: the server's answer is not a list of entries");
		json_decref(j);
		return NULL;
	}
	*ret_more = json_is_true(json_object_get(j, "more"));
	return j;
}

int cli_directory(struct cli *c, const struct rp_policy *p, struct rp_dir_state *ret, bool quiet)
{
	struct rp_dir_state s;
	uint64_t from;
	bool more = true, first = true;
	size_t refused = 0;
	int r = 0;

	cache_load(c, &s);
	/* the last entry verified comes again: the server must still show the same one */
	from = s.entries ? s.entries - 1 : 0;
	while (more && r == 0) {
		json_t *j = fetch(c, from, &more), *e;
		size_t i;

		if (!j) {
			r = RP_E_NET;
			break;
		}
		json_array_foreach (json_object_get(j, "entries"), i, e) {
			const char *text = json_string_value(e);
			size_t len = text ? json_string_length(e) : 0;
			struct rp_dir_stmt *st = NULL;
			struct rp_diag d = {""};
			uint8_t h[32];

			if (!text || len > RP_LOG_ENTRY_MAX) {
				cli_err("directory: entry %llu from the server is not a text",
					(unsigned long long)(from + i));
				r = RP_E_MALFORMED;
				break;
			}
			if (first && s.entries) {
				struct rp_dir_stmt *prev = NULL;
				first = false;
				memset(h, 0, sizeof(h));
				/* the last entry was an enrolment note: its bytes (lib/enroll.h) */
				if (s.entries != s.version)
					rp_sha256(text, len, h);
				else if (rp_dir_stmt_parse(text, len, &prev, NULL) == 0)
					rp_dir_stmt_hash(prev, (const uint8_t *)text, len, h);
				rp_dir_stmt_free(prev);
				if (memcmp(h, s.entries != s.version ? s.tail : s.head, 32) != 0) {
					cli_err("SECURITY: the server's directory entry %llu is not the "
						"one this CLI verified before (version %llu): the server "
						"shows another history, or rolled the directory back",
						(unsigned long long)from,
						(unsigned long long)s.version);
					r = RP_E_FORK;
					break;
				}
				continue;
			}
			first = false;
			if (rp_entry_is_enrolment((const uint8_t *)text, len)) {
				bool folded;
				struct rp_enrolment en;
				if ((r = rp_dir_enrol_fold(&s, (const uint8_t *)text, len, &folded,
							   &en, &d)) < 0)
					break;
				if (!folded && !quiet)
					fprintf(stderr,
						"rampart: logged enrolment entry %llu not folded: %s\n",
						(unsigned long long)(from + i), d.msg);
				continue;
			}
			if ((r = rp_dir_stmt_parse(text, len, &st, &d)) < 0) {
				cli_err("SECURITY: logged directory entry %llu does not parse: %s",
					(unsigned long long)(from + i), d.msg);
				break;
			}
			bool ok = false;
			size_t dropped = 0;
			struct rp_diag cd = {""};
			if ((r = rp_dir_fold(&s, st, (const uint8_t *)text, len, p, 0, &ok,
					     &dropped, &cd)) < 0)
				cli_err("SECURITY: the server's directory entries do not chain: %s",
					cd.msg);
			else if (!ok) {
				refused++;
				if (!quiet)
					fprintf(stderr,
						"rampart: directory version %llu (%s) is not signed by "
						"a directory quorum under your root policy version "
						"%llu: not applied (%s)\n",
						(unsigned long long)st->version, st->id,
						(unsigned long long)p->version, cd.msg);
			} else if (dropped && !quiet) {
				fprintf(stderr,
					"rampart: directory version %llu (%s) changes %zu device "
					"record%s without the signatures those devices' groups "
					"require: not applied to them\n",
					(unsigned long long)st->version, st->id, dropped,
					dropped == 1 ? "" : "s");
			}
			rp_dir_stmt_free(st);
			if (r < 0)
				break;
		}
		if (first && s.entries && r == 0) {
			cli_err("SECURITY: the server no longer shows directory version %llu, which "
				"this CLI verified: the directory was rolled back",
				(unsigned long long)s.version);
			r = RP_E_ROLLBACK;
		}
		size_t got = json_array_size(json_object_get(j, "entries"));
		from += got;
		json_decref(j);
		if (got == 0)
			more = false;
	}
	if (r < 0) {
		rp_dir_state_release(&s);
		return r;
	}
	cache_save(c, &s);
	if (refused && !quiet)
		fprintf(stderr, "rampart: %zu directory statement%s not applied (see above)\n",
			refused, refused == 1 ? "" : "s");
	*ret = s;
	return 0;
}

/* A copy of s (its text read back). */
static int state_copy(const struct rp_dir_state *s, struct rp_dir_state *ret)
{
	size_t len;
	char *t = rp_dir_state_format(s, &len);
	int r;

	if (!t)
		return RP_E_NOMEM;
	r = rp_dir_state_parse(t, len, ret, NULL);
	free(t);
	return r;
}

int cli_directory_diff(FILE *f, const struct rp_dir_state *s, const struct rp_dir_stmt *st,
		       const uint8_t *entry, size_t len)
{
	struct rp_dir_state after;
	struct rp_diag d = {""};
	char *diff;
	size_t dlen;
	int r;

	if ((r = state_copy(s, &after)) < 0)
		return r;
	if ((r = rp_dir_apply(&after, st, entry, len, true, &d)) < 0) {
		fprintf(f, "NOT THE NEXT VERSION: %s\n", d.msg);
		rp_dir_state_release(&after);
		return r;
	}
	if (!(diff = rp_dir_diff(&s->dir, &after.dir, &dlen))) {
		rp_dir_state_release(&after);
		return RP_E_NOMEM;
	}
	fprintf(f,
		"---- the change, against directory version %llu as you verified it (\"+ \" "
		"added, \"- \" removed, \"~\" changed) ----\n",
		(unsigned long long)s->version);
	if (dlen == 0)
		fprintf(f, "(no object changes)\n");
	else
		cli_fenced(f, diff, dlen);
	if (st->repair_all)
		fprintf(f, "REPAIR: every device undoes its drift (docs/directory.md)\n");
	for (size_t i = 0; i < st->nrepair; i++)
		fprintf(f, "REPAIR: device %s undoes its drift\n", st->repair[i]);
	free(diff);
	rp_dir_state_release(&after);
	return 0;
}

/* ---- show ---- */

static json_t *names_json(const char (*names)[RP_DIR_NAME_MAX + 1], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *state_json(const struct rp_dir_state *s)
{
	json_t *users = json_array(), *groups = json_array(), *dgroups = json_array(),
	       *devices = json_array(), *binds = json_array();
	char t[21];

	for (size_t i = 0; i < s->dir.nusers; i++) {
		const struct rp_dir_user *u = s->dir.users[i];
		json_array_append_new(
			users, json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:b, s:o}", "login",
					 u->login, "uid", (json_int_t)u->uid, "gid",
					 (json_int_t)u->gid, "shell", u->shell, "name", u->gecos,
					 "state", u->suspended ? "suspended" : "active", "takeover",
					 u->takeover, "keys", strings_json(u->keys, u->nkeys)));
	}
	for (size_t i = 0; i < s->dir.ngroups; i++) {
		const struct rp_dir_group *g = s->dir.groups[i];
		json_array_append_new(
			groups,
			json_pack("{s:s, s:I, s:o}", "name", g->name, "gid", (json_int_t)g->gid,
				  "members",
				  names_json((const char(*)[RP_DIR_NAME_MAX + 1]) g->members,
					     g->nmembers)));
	}
	for (size_t i = 0; i < s->dir.ndgroups; i++)
		json_array_append_new(dgroups, json_string(s->dir.dgroups[i]->name));
	for (size_t i = 0; i < s->dir.ndevices; i++) {
		const struct rp_dir_device *v = s->dir.devices[i];
		json_array_append_new(
			devices,
			json_pack("{s:s, s:o, s:o}", "id", v->id, "groups",
				  names_json((const char(*)[RP_DIR_NAME_MAX + 1]) v->groups,
					     v->ngroups),
				  "tags",
				  names_json((const char(*)[RP_DIR_NAME_MAX + 1]) v->tags,
					     v->ntags)));
	}
	for (size_t i = 0; i < s->dir.nbinds; i++) {
		const struct rp_dir_bind *b = s->dir.binds[i];
		rp_time_format(b->until, t);
		json_array_append_new(binds,
				      json_pack("{s:s, s:s, s:s, s:s?, s:o}", "user_group",
						b->ugroup, "device_group", b->dgroup, "access",
						b->access == RP_ACCESS_SUDO_ALL ? "sudo-all"
						: b->access == RP_ACCESS_SUDO   ? "sudo"
										: "login",
						"until", b->until ? t : NULL, "commands",
						strings_json(b->commands, b->ncommands)));
	}
	json_t *tokens = json_array();
	for (size_t i = 0; i < s->dir.ntokens; i++) {
		const struct rp_dir_token *tk = s->dir.tokens[i];
		rp_time_format(tk->expires, t);
		json_array_append_new(
			tokens,
			json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "id", tk->id, "expires", t,
				  "max_devices", (json_int_t)tk->max, "enrolled",
				  (json_int_t)tk->nenrolled, "groups",
				  names_json((const char(*)[RP_DIR_NAME_MAX + 1]) tk->groups,
					     tk->ngroups),
				  "tags",
				  names_json((const char(*)[RP_DIR_NAME_MAX + 1]) tk->tags,
					     tk->ntags)));
	}
	return json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "org", s->org, "version",
			 (json_int_t)s->version, "users", users, "groups", groups, "device_groups",
			 dgroups, "devices", devices, "bindings", binds, "enroll_tokens", tokens);
}

static int dir_show(struct cli *c, int argc, char *argv[])
{
	struct rp_dir_state s;
	struct rp_policy *p;
	char *text;
	size_t len;
	int r;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart directory show [--json]\n\n"
		       "Prints the org's directory as this CLI verified it: every logged\n"
		       "directory statement checked against your trusted root policy and chained\n"
		       "to the one before, from version 1 (kept in <config dir>/<org>.directory,\n"
		       "so that a server showing an older or another directory is caught).\n");
		return 0;
	}
	if (argc > 1) {
		cli_err("directory show: unexpected argument `%s'", argv[1]);
		return 2;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return 1;
	r = cli_directory(c, p, &s, false);
	rp_policy_free(p);
	if (r < 0)
		return 1;
	if (c->json) {
		json_t *j = state_json(&s);
		if (j)
			cli_json(stdout, j);
		json_decref(j);
	} else {
		printf("---- directory of org %s, version %llu (verified; each line after \"" CLI_GUTTER
		       "\") ----\n",
		       s.org, (unsigned long long)s.version);
		text = rp_dir_state_format(&s, &len);
		if (text) {
			/* the objects only: the header lines are said above */
			const char *o = text;
			for (int k = 0; k < (s.entries != s.version ? 5 : 4) && o; k++)
				o = strchr(o, '\n') ? strchr(o, '\n') + 1 : NULL;
			if (o && *o)
				cli_fenced(stdout, o, len - (size_t)(o - text));
			else
				printf("(empty)\n");
		}
		free(text);
	}
	rp_dir_state_release(&s);
	return 0;
}

/* `rampart directory diff ID': the change a pending (or logged) directory statement makes. */
static int dir_diff(struct cli *c, int argc, char *argv[])
{
	struct rp_dir_state s;
	struct rp_policy *p;
	struct rp_dir_stmt *st = NULL;
	struct rp_diag d = {""};
	char path[256];
	json_t *j = NULL;
	const char *text;
	int r = 1;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart directory diff ID\n\n"
		       "Shows the change directory statement ID (see `rampart commands') makes\n"
		       "to the directory as this CLI verified it.\n");
		return 0;
	}
	if (argc != 2 || !rp_id_valid(argv[1], strlen(argv[1]))) {
		cli_err("directory diff: need one statement id (32 hex digits)");
		return 2;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return 1;
	if (cli_directory(c, p, &s, true) < 0) {
		rp_policy_free(p);
		return 1;
	}
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, argv[1]);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("directory diff: %s", d.msg);
	} else if (!(text = json_string_value(json_object_get(j, "statement"))) ||
		   rp_dir_stmt_parse(text, strlen(text), &st, &d) < 0 || strcmp(st->id, argv[1])) {
		cli_err("directory diff: %s is not a directory statement%s%s", argv[1],
			d.msg[0] ? ": " : "", d.msg);
	} else if (!c->json) {
		r = cli_directory_diff(stdout, &s, st, (const uint8_t *)text, strlen(text)) == 0
			    ? 0
			    : 1;
	} else {
		/* {"id", "version", "diff": [line, ...]}: the lines the text form prints */
		char *buf = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&buf, &blen);
		int k = m ? cli_directory_diff(m, &s, st, (const uint8_t *)text, strlen(text)) : -1;
		if (m)
			fclose(m);
		json_t *lines = json_array(), *o;
		for (char *line = buf, *nl; k == 0 && line && *line; line = nl + 1) {
			if (!(nl = strchr(line, '\n')))
				nl = line + strlen(line) - 1;
			json_array_append_new(lines, json_stringn(line, (size_t)(nl - line)));
		}
		if (k == 0 && (o = json_pack("{s:s, s:I, s:o}", "id", st->id, "version",
					     (json_int_t)st->version, "diff", lines))) {
			cli_json(stdout, o);
			json_decref(o);
			r = 0;
		} else {
			json_decref(lines);
		}
		free(buf);
	}
	rp_dir_stmt_free(st);
	json_decref(j);
	rp_dir_state_release(&s);
	rp_policy_free(p);
	return r;
}

int cmd_directory(struct cli *c, int argc, char *argv[])
{
	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart directory show|diff ...\n\n"
		       "  show [--json]  the directory as this CLI verified it\n"
		       "  diff ID        the change a directory statement makes\n"
		       "  import ...     users and groups from a CSV, or a server's passwd, group\n"
		       "                 and authorized_keys\n\n"
		       "Changes: rampart user|group|device-group|bind|unbind (each --help).\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "show"))
		return dir_show(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return dir_diff(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return cmd_directory_import(c, argc - 1, argv + 1);
	cli_err("directory: unknown subcommand `%s' (show, diff, import)", argv[1]);
	return 2;
}

/* ---- changes ---- */

/* What every change command shares: the statement being built and how it goes out. */
struct change {
	struct cli *c;
	struct rp_policy *p;
	struct rp_dir_state s; /* as verified */
	struct rp_dir_stmt st;
	const char *expires, *comment;
	bool dry_run;
	const char *what; /* "user add", for messages */
};

static const char change_opts_help[] =
	"  --expires WHEN  the change must be approved and logged by then (default 7d); it\n"
	"                  is then refused, as is one made against an older directory\n"
	"  --comment TEXT  free text kept in the signed statement\n"
	"  --dry-run       show the change, sign nothing\n";

static int change_begin(struct change *ch, struct cli *c, const char *what)
{
	memset(ch, 0, sizeof(*ch));
	ch->c = c;
	ch->what = what;
	ch->expires = DIR_EXPIRES_DEFAULT;
	if (cli_need_server(c, true) < 0 || !(ch->p = cli_policy(c)))
		return -1;
	if (cli_directory(c, ch->p, &ch->s, true) < 0) {
		rp_policy_free(ch->p);
		ch->p = NULL;
		return -1;
	}
	return 0;
}

static void change_end(struct change *ch)
{
	rp_dir_release(&ch->st.put);
	rp_dir_release(&ch->st.del);
	free(ch->st.repair);
	if (ch->p)
		rp_dir_state_release(&ch->s);
	rp_policy_free(ch->p);
}

/* Signs the statement text with the administrator's key and submits it; says what was stored. */
static int sign_submit(struct cli *c, const char *what, const char *id, const char *text,
		       size_t len)
{
	struct rp_diag d = {""};
	char *note = NULL, path[256];
	json_t *body = NULL, *resp = NULL;
	size_t nlen;
	int r = -1;

	if (rp_note_sign_by(text, len, NULL, &c->signer.s, &note, &nlen, &d) < 0) {
		cli_err("%s: not signed, nothing submitted: %s", what, d.msg);
		return -1;
	}
	body = json_pack("{s:s, s:s}", "statement", note, "payload", "");
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands", c->org);
	if (!body || rp_api_call(&c->api, "POST", path, body, &resp, NULL, &d) < 0) {
		cli_err("%s: %s", what, d.msg);
	} else {
		cli_report_submitted(c, "submitted", id, note, resp, c->json);
		r = 0;
	}
	free(note);
	json_decref(body);
	json_decref(resp);
	return r;
}

/* Signs and submits the statement built in ch; shows the change first. 0, or 1 after an error. */
static int change_submit(struct change *ch)
{
	struct cli *c = ch->c;
	struct rp_dir_stmt *chk = NULL;
	struct rp_diag d = {""};
	char *text = NULL;
	size_t tlen;
	int64_t now = rp_now();
	int r = 1;

	snprintf(ch->st.org, sizeof(ch->st.org), "%s", c->org);
	rp_random_hex(ch->st.id, RP_ID_HEX / 2);
	ch->st.version = ch->s.version + 1;
	ch->st.first = ch->s.version == 0;
	memcpy(ch->st.previous, ch->s.head, 32);
	if (cli_parse_when(ch->expires, now, &ch->st.expires) < 0 || ch->st.expires <= now) {
		cli_err("%s: --expires `%s' is not a duration (1h, 7d) or a time to come", ch->what,
			ch->expires);
		return 1;
	}
	if (ch->comment)
		snprintf(ch->st.comment, sizeof(ch->st.comment), "%s", ch->comment);
	if (!(text = rp_dir_stmt_format(&ch->st, &tlen))) {
		cli_err("%s: the change is larger than one log entry (%d bytes): split it",
			ch->what, RP_LOG_ENTRY_MAX);
		return 1;
	}
	/* what is signed is what parses, exactly */
	if (rp_dir_stmt_parse_text(text, tlen, &chk, &d) < 0) {
		cli_err("%s: %s", ch->what, d.msg);
		goto out;
	}
	if (cli_directory_diff(stdout, &ch->s, chk, (const uint8_t *)text, tlen) < 0)
		goto out;
	if (ch->dry_run) {
		printf("---- dry run: nothing signed ----\n");
		r = 0;
		goto out;
	}
	r = sign_submit(c, ch->what, ch->st.id, text, tlen) < 0 ? 1 : 0;
out:
	rp_dir_stmt_free(chk);
	free(text);
	return r;
}

int cli_directory_change(struct cli *c, const char *what, struct rp_dir *put, struct rp_dir *del,
			 char ret_id[RP_ID_HEX + 1])
{
	struct change ch;
	int r;

	if (change_begin(&ch, c, what) < 0)
		return 1;
	ch.st.put = *put;
	ch.st.del = *del;
	memset(put, 0, sizeof(*put));
	memset(del, 0, sizeof(*del));
	r = change_submit(&ch);
	memcpy(ret_id, ch.st.id, RP_ID_HEX + 1);
	change_end(&ch);
	return r;
}

/* The common options; 1 when ch took the option, 0 when not, -1 on a bad value. */
static int change_opt(struct change *ch, int opt)
{
	switch (opt) {
	case 'x': ch->expires = optarg; return 1;
	case 'c': ch->comment = optarg; return 1;
	case 'n': ch->dry_run = true; return 1;
	default: return 0;
	}
}

#define CHANGE_OPTS                                                                           \
	{"expires", required_argument, NULL, 'x'}, {"comment", required_argument, NULL, 'c'}, \
		{"dry-run", no_argument, NULL, 'n'},                                          \
	{                                                                                     \
		"help", no_argument, NULL, 'h'                                                \
	}

static bool parse_id(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (rp_parse_u64(s, strlen(s), 65533, &v) != 0 || v < 1000)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* A key: a line of text, or a .pub file holding one (the first line). */
static char *read_key(const char *arg, struct rp_diag *d)
{
	char *buf = NULL;
	size_t len;

	if (rp_ssh_key_valid(arg, strlen(arg)))
		return strdup(arg);
	if (rp_read_file(arg, RP_SSH_KEY_LINE_MAX + 2, &buf, &len) < 0) {
		rp_diagf(d, "`%.60s' is neither an SSH public key line nor a readable .pub file",
			 arg);
		return NULL;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (memchr(buf, '\n', len) || !rp_ssh_key_valid(buf, len)) {
		rp_diagf(d,
			 "%.60s does not hold one SSH public key line (TYPE BASE64 [COMMENT], no "
			 "options)",
			 arg);
		free(buf);
		return NULL;
	}
	return buf;
}

static int add_key(struct rp_dir_user *u, const char *arg, struct rp_diag *d)
{
	char *k = read_key(arg, d), **nk;

	if (!k)
		return RP_E_MALFORMED;
	if (u->nkeys == RP_DIR_KEYS_MAX) {
		rp_diagf(d, "a user holds at most %d keys", RP_DIR_KEYS_MAX);
		free(k);
		return RP_E_TOOBIG;
	}
	if (!(nk = realloc(u->keys, (u->nkeys + 1) * sizeof(*nk)))) {
		free(k);
		return RP_E_NOMEM;
	}
	u->keys = nk;
	u->keys[u->nkeys++] = k;
	return 0;
}

/* Removes the key whose base64 (or whole line) is arg, or the N-th (1-based). */
static bool remove_key(struct rp_dir_user *u, const char *arg)
{
	uint64_t n = 0;
	bool by_number = rp_parse_u64(arg, strlen(arg), RP_DIR_KEYS_MAX, &n) == 0 && n >= 1;

	for (size_t i = 0; i < u->nkeys; i++) {
		const char *b = strchr(u->keys[i], ' ');
		size_t bl = b ? strcspn(b + 1, " ") : 0;
		if ((by_number && i + 1 == n) || !strcmp(u->keys[i], arg) ||
		    (b && strlen(arg) == bl && !memcmp(b + 1, arg, bl))) {
			free(u->keys[i]);
			memmove(&u->keys[i], &u->keys[i + 1], (u->nkeys - i - 1) * sizeof(char *));
			u->nkeys--;
			return true;
		}
	}
	return false;
}

static const struct rp_dir_user *user_get(const struct change *ch, const char *login)
{
	return rp_dir_user_get(&ch->s.dir, login);
}

int cmd_user(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"uid", required_argument, NULL, 'u'},
		{"gid", required_argument, NULL, 'g'},
		{"shell", required_argument, NULL, 's'},
		{"name", required_argument, NULL, 'N'},
		{"key", required_argument, NULL, 'k'},
		{"add-key", required_argument, NULL, 'k'},
		{"remove-key", required_argument, NULL, 'K'},
		{"takeover", no_argument, NULL, 'T'},
		{"no-takeover", no_argument, NULL, 't'},
		CHANGE_OPTS,
		{0},
	};
	const char *sub = argc > 1 ? argv[1] : "";
	struct change ch;
	struct rp_dir_user *u = NULL;
	struct rp_diag d = {""};
	bool add = !strcmp(sub, "add"), edit = !strcmp(sub, "edit");
	int opt, r = 1, k;

	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart user add LOGIN --uid N [--gid N] [--shell PATH] [--name TEXT]\n"
		       "                          [--key KEY|FILE.pub]... [--takeover] [OPTIONS]\n"
		       "       rampart user edit LOGIN [--shell PATH] [--name TEXT] [--add-key KEY]...\n"
		       "                          [--remove-key KEY|N]... [--[no-]takeover] [OPTIONS]\n"
		       "       rampart user suspend|activate|remove LOGIN [OPTIONS]\n\n"
		       "Changes a user of the directory: a signed directory statement, shown as the\n"
		       "change it makes before you sign it, in force once the `directory' role's\n"
		       "quorum signed it (`rampart approve'). A user reaches the devices of the\n"
		       "device groups their user groups are bound to (`rampart bind').\n\n"
		       "  --uid N, --gid N  1000 to 65533; --gid defaults to the uid (a group of the\n"
		       "                  user's own name is made where no directory group has it)\n"
		       "  --shell PATH    login shell (default /bin/bash)\n"
		       "  --name TEXT     full name (no `:' or `,')\n"
		       "  --key KEY       an SSH public key line, or a .pub file; repeat (at most %d)\n"
		       "  --remove-key K  a key's base64, its whole line, or its number (1 is the first)\n"
		       "  --takeover      a local account of this login with the same uid, on a\n"
		       "                  device, becomes managed; without it that account is a\n"
		       "                  conflict, reported and left alone\n"
		       "  suspend         locks the account, removes its keys and sudo and ends its\n"
		       "                  sessions on every device, within one poll interval\n"
		       "  remove          deletes the account on every device; home directories stay\n"
		       "%s",
		       RP_DIR_KEYS_MAX, change_opts_help);
		return argc < 2 ? 2 : 0;
	}
	if (!add && !edit && strcmp(sub, "suspend") && strcmp(sub, "activate") &&
	    strcmp(sub, "remove")) {
		cli_err("user: unknown subcommand `%s' (add, edit, suspend, activate, remove)",
			sub);
		return 2;
	}
	if (argc < 3 || !rp_dir_name_valid(argv[2], strlen(argv[2]))) {
		cli_err("user %s: need a LOGIN ([a-z_][a-z0-9_-]*, at most 32)", sub);
		return 2;
	}
	const char *login = argv[2];
	/* parse the options once to know them, before anything reaches the server */
	if (change_begin(&ch, c, add ? "user add" : "user change") < 0)
		return 1;
	if (add) {
		if (user_get(&ch, login)) {
			cli_err("user add: %s is already a user of the directory (user edit)",
				login);
			goto out;
		}
		if (!(u = calloc(1, sizeof(*u))))
			goto out;
		snprintf(u->login, sizeof(u->login), "%s", login);
		snprintf(u->shell, sizeof(u->shell), "/bin/bash");
	} else {
		const struct rp_dir_user *cur = user_get(&ch, login);
		if (!cur) {
			cli_err("user %s: %s is not a user of the directory", sub, login);
			goto out;
		}
		if (!(u = rp_dir_obj_dup(RP_DIR_USER, cur)))
			goto out;
	}
	optind = 2;
	while ((opt = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		if ((k = change_opt(&ch, opt)) != 0)
			continue;
		if ((!add && !edit) && opt != '?') {
			cli_err("user %s: takes no such option (see --help)", sub);
			r = 2;
			goto out;
		}
		switch (opt) {
		case 'u':
			if (!add || !parse_id(optarg, &u->uid)) {
				cli_err("user: --uid `%s' is not 1000 to 65533%s", optarg,
					add ? "" : " (a uid is not changed: remove and add)");
				r = 2;
				goto out;
			}
			break;
		case 'g':
			if (!parse_id(optarg, &u->gid)) {
				cli_err("user: --gid `%s' is not 1000 to 65533", optarg);
				r = 2;
				goto out;
			}
			break;
		case 's':
			if (optarg[0] != '/' || strlen(optarg) > RP_DIR_SHELL_MAX ||
			    strpbrk(optarg, ": \t\n")) {
				cli_err("user: --shell `%s' is not an absolute path", optarg);
				r = 2;
				goto out;
			}
			snprintf(u->shell, sizeof(u->shell), "%s", optarg);
			break;
		case 'N':
			if (strlen(optarg) > RP_DIR_GECOS_MAX) {
				cli_err("user: --name is longer than %d bytes", RP_DIR_GECOS_MAX);
				r = 2;
				goto out;
			}
			snprintf(u->gecos, sizeof(u->gecos), "%s", optarg);
			break;
		case 'k':
			if (add_key(u, optarg, &d) < 0) {
				cli_err("user: --key: %s", d.msg);
				r = 2;
				goto out;
			}
			break;
		case 'K':
			if (!remove_key(u, optarg)) {
				cli_err("user: --remove-key: %s holds no such key (see `rampart "
					"directory show')",
					login);
				r = 2;
				goto out;
			}
			break;
		case 'T': u->takeover = true; break;
		case 't': u->takeover = false; break;
		default: r = 2; goto out;
		}
	}
	if (optind + 1 < argc) {
		cli_err("user %s: unexpected argument `%s'", sub, argv[optind + 1]);
		r = 2;
		goto out;
	}
	if (add && u->uid == 0) {
		cli_err("user add: --uid is required");
		r = 2;
		goto out;
	}
	if (add && u->gid == 0)
		u->gid = u->uid;
	for (size_t i = 0; add && i < ch.s.dir.nusers; i++)
		if (ch.s.dir.users[i]->uid == u->uid) {
			cli_err("user add: uid %u is %s's already", u->uid,
				ch.s.dir.users[i]->login);
			goto out;
		}
	if (!strcmp(sub, "suspend") || !strcmp(sub, "activate"))
		u->suspended = !strcmp(sub, "suspend");
	if (!strcmp(sub, "remove")) {
		/* a removal names the object only */
		for (size_t i = 0; i < u->nkeys; i++)
			free(u->keys[i]);
		free(u->keys);
		u->keys = NULL;
		u->nkeys = 0;
	}
	if (rp_dir_insert(!strcmp(sub, "remove") ? &ch.st.del : &ch.st.put, RP_DIR_USER, u) < 0)
		goto out;
	u = NULL;
	r = change_submit(&ch);
out:
	rp_dir_obj_free(RP_DIR_USER, u);
	change_end(&ch);
	return r;
}

int cli_dir_add_name(char (**names)[RP_DIR_NAME_MAX + 1], size_t *n, size_t max, const char *name)
{
	char(*nn)[RP_DIR_NAME_MAX + 1];
	size_t at = 0;

	while (at < *n && strcmp((*names)[at], name) < 0)
		at++;
	if (at < *n && !strcmp((*names)[at], name))
		return 0;
	if (*n == max)
		return RP_E_TOOBIG;
	if (!(nn = realloc(*names, (*n + 1) * sizeof(*nn))))
		return RP_E_NOMEM;
	*names = nn;
	memmove(&nn[at + 1], &nn[at], (*n - at) * sizeof(*nn));
	memset(nn[at], 0, sizeof(nn[at]));
	memcpy(nn[at], name, strlen(name));
	(*n)++;
	return 0;
}

static bool del_name(char (*names)[RP_DIR_NAME_MAX + 1], size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(names[i], name)) {
			memmove(&names[i], &names[i + 1], (*n - i - 1) * sizeof(names[0]));
			(*n)--;
			return true;
		}
	return false;
}

int cmd_group(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"gid", required_argument, NULL, 'g'},
		{"member", required_argument, NULL, 'm'},
		{"add-member", required_argument, NULL, 'm'},
		{"remove-member", required_argument, NULL, 'M'},
		CHANGE_OPTS,
		{0},
	};
	const char *sub = argc > 1 ? argv[1] : "";
	struct change ch;
	struct rp_dir_group *g = NULL;
	bool add = !strcmp(sub, "add");
	int opt, r = 1;

	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart group add NAME --gid N [--member LOGIN]... [OPTIONS]\n"
		       "       rampart group edit NAME [--add-member LOGIN]... [--remove-member LOGIN]...\n"
		       "       rampart group remove NAME [OPTIONS]\n\n"
		       "Changes a user group of the directory (a signed directory statement, like\n"
		       "`rampart user'). Bound to a device group (`rampart bind'), its members get\n"
		       "accounts on those devices, in this group (gid N).\n\n%s",
		       change_opts_help);
		return argc < 2 ? 2 : 0;
	}
	if (!add && strcmp(sub, "edit") && strcmp(sub, "remove")) {
		cli_err("group: unknown subcommand `%s' (add, edit, remove)", sub);
		return 2;
	}
	if (argc < 3 || !rp_dir_name_valid(argv[2], strlen(argv[2]))) {
		cli_err("group %s: need a NAME ([a-z_][a-z0-9_-]*, at most 32)", sub);
		return 2;
	}
	if (change_begin(&ch, c, add ? "group add" : "group change") < 0)
		return 1;
	const struct rp_dir_group *cur = rp_dir_group_get(&ch.s.dir, argv[2]);
	if (add == (cur != NULL)) {
		cli_err(add ? "group add: %s is already a group (group edit)"
			    : "group %s: %s is not a group of the directory",
			add ? argv[2] : sub, argv[2]);
		goto out;
	}
	if (!(g = cur ? rp_dir_obj_dup(RP_DIR_GROUP, cur) : calloc(1, sizeof(*g))))
		goto out;
	snprintf(g->name, sizeof(g->name), "%s", argv[2]);
	optind = 2;
	while ((opt = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		if (change_opt(&ch, opt))
			continue;
		switch (opt) {
		case 'g':
			if (!add || !parse_id(optarg, &g->gid)) {
				cli_err("group: --gid `%s' is not 1000 to 65533%s", optarg,
					add ? "" : " (a gid is not changed)");
				r = 2;
				goto out;
			}
			break;
		case 'm':
			if (!user_get(&ch, optarg)) {
				cli_err("group: %s is not a user of the directory", optarg);
				r = 2;
				goto out;
			}
			if (cli_dir_add_name(&g->members, &g->nmembers, RP_DIR_MEMBERS_MAX,
					     optarg) < 0)
				goto out;
			break;
		case 'M':
			if (!del_name(g->members, &g->nmembers, optarg)) {
				cli_err("group: %s is not a member of %s", optarg, g->name);
				r = 2;
				goto out;
			}
			break;
		default: r = 2; goto out;
		}
	}
	if (optind + 1 < argc) {
		cli_err("group %s: unexpected argument `%s'", sub, argv[optind + 1]);
		r = 2;
		goto out;
	}
	if (add && g->gid == 0) {
		cli_err("group add: --gid is required");
		r = 2;
		goto out;
	}
	if (!strcmp(sub, "remove")) {
		g->nmembers = 0;
		r = rp_dir_insert(&ch.st.del, RP_DIR_GROUP, g);
	} else {
		r = rp_dir_insert(&ch.st.put, RP_DIR_GROUP, g);
	}
	g = NULL;
	r = r < 0 ? 1 : change_submit(&ch);
out:
	rp_dir_obj_free(RP_DIR_GROUP, g);
	change_end(&ch);
	return r;
}

/* The device record of id as it will be: the verified one, or an empty one. */
static struct rp_dir_device *device_for(struct change *ch, const char *id)
{
	struct rp_dir_device key, *v;

	memset(&key, 0, sizeof(key));
	snprintf(key.id, sizeof(key.id), "%s", id);
	if ((v = rp_dir_find(&ch->st.put, RP_DIR_DEVICE, &key)))
		return v;
	const struct rp_dir_device *cur = rp_dir_device_get(&ch->s.dir, id);
	v = cur ? rp_dir_obj_dup(RP_DIR_DEVICE, cur) : calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->id, sizeof(v->id), "%s", id);
	if (rp_dir_insert(&ch->st.put, RP_DIR_DEVICE, v) < 0) {
		rp_dir_obj_free(RP_DIR_DEVICE, v);
		return NULL;
	}
	return v;
}

int cmd_device_group(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {CHANGE_OPTS, {0}};
	const char *sub = argc > 1 ? argv[1] : "";
	bool create = !strcmp(sub, "add"), drop = !strcmp(sub, "remove"),
	     join = !strcmp(sub, "join"), leave = !strcmp(sub, "leave"), tag = !strcmp(sub, "tag"),
	     untag = !strcmp(sub, "untag");
	struct change ch = {0};
	int opt, r = 1;

	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart device-group add|remove NAME [OPTIONS]\n"
		       "       rampart device-group join|leave NAME DEVICE... [OPTIONS]\n"
		       "       rampart device-group tag|untag DEVICE TAG... [OPTIONS]\n\n"
		       "Device groups are the directory's, signed like every change: a server\n"
		       "cannot put a device in a group, so it cannot widen who reaches it, nor what\n"
		       "`rampart run --to group:NAME' or `--to tag:TAG' runs on (each device\n"
		       "resolves them against the membership it verified).\n\n%s",
		       change_opts_help);
		return argc < 2 ? 2 : 0;
	}
	if (!create && !drop && !join && !leave && !tag && !untag) {
		cli_err("device-group: unknown subcommand `%s' (add, remove, join, leave, tag, untag)",
			sub);
		return 2;
	}
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1)
		if (opt == '?' || opt == 'h')
			return 2;
		else
			change_opt(&ch, opt);
	/* operands after the options: name, then devices or tags */
	int first = optind + 1;
	if (first >= argc || ((join || leave || tag || untag) && first + 1 >= argc) ||
	    ((create || drop) && first + 1 != argc)) {
		cli_err("device-group %s: missing or extra operands (see --help)", sub);
		return 2;
	}
	const char *name = argv[first];
	if ((tag || untag) ? !rp_id_valid(name, strlen(name))
			   : !rp_dir_name_valid(name, strlen(name))) {
		cli_err("device-group %s: `%s' is not a %s", sub, name,
			(tag || untag) ? "device id" : "device group name");
		return 2;
	}
	/* the options were parsed into a scratch change: parse them again into the real one */
	struct change opts_seen = ch;
	if (change_begin(&ch, c, "device-group") < 0)
		return 1;
	ch.expires = opts_seen.expires ? opts_seen.expires : DIR_EXPIRES_DEFAULT;
	ch.comment = opts_seen.comment;
	ch.dry_run = opts_seen.dry_run;
	if (create || drop) {
		struct rp_dir_dgroup *g = calloc(1, sizeof(*g));
		if (!g)
			goto out;
		snprintf(g->name, sizeof(g->name), "%s", name);
		if (create == rp_dir_dgroup_exists(&ch.s.dir, name)) {
			cli_err(create ? "device-group add: %s exists"
				       : "device-group remove: no %s",
				name);
			free(g);
			goto out;
		}
		if (rp_dir_insert(create ? &ch.st.put : &ch.st.del, RP_DIR_DGROUP, g) < 0) {
			free(g);
			goto out;
		}
	} else {
		for (int i = first + 1; i < argc; i++) {
			const char *dev = (tag || untag) ? name : argv[i];
			const char *what = (tag || untag) ? argv[i] : name;
			struct rp_dir_device *v;
			if (!rp_id_valid(dev, strlen(dev)) ||
			    !rp_dir_name_valid(what, strlen(what))) {
				cli_err("device-group %s: `%s' is not a %s", sub, argv[i],
					(tag || untag) ? "tag name" : "device id");
				r = 2;
				goto out;
			}
			if ((join || leave) && !rp_dir_dgroup_exists(&ch.s.dir, name)) {
				cli_err("device-group %s: %s is not a device group (device-group add)",
					sub, name);
				goto out;
			}
			if (!(v = device_for(&ch, dev)))
				goto out;
			if (join || tag) {
				if ((r = cli_dir_add_name(join ? &v->groups : &v->tags,
							  join ? &v->ngroups : &v->ntags,
							  join ? RP_DIR_DEVICE_GROUPS_MAX
							       : RP_DIR_TAGS_MAX,
							  what)) < 0) {
					cli_err("device-group %s: device %s has too many", sub,
						dev);
					r = 1;
					goto out;
				}
			} else if (!del_name(leave ? v->groups : v->tags,
					     leave ? &v->ngroups : &v->ntags, what)) {
				cli_err("device-group %s: device %s has no %s %s", sub, dev,
					leave ? "group" : "tag", what);
				goto out;
			}
		}
	}
	r = change_submit(&ch);
out:
	change_end(&ch);
	return r;
}

int cmd_bind(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"access", required_argument, NULL, 'a'},
		{"command", required_argument, NULL, 'C'},
		{"for", required_argument, NULL, 'f'},
		{"until", required_argument, NULL, 'f'},
		CHANGE_OPTS,
		{0},
	};
	bool unbind = !strcmp(argv[0], "unbind");
	struct change ch = {0};
	struct rp_dir_bind *b = calloc(1, sizeof(*b));
	const char *until = NULL, *access = NULL;
	int opt, r = 1;

	if (!b)
		return 1;
	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart bind USER-GROUP DEVICE-GROUP --access login|sudo|sudo-all\n"
		       "                   [--command CMD]... [--for DURATION|--until TIME] [OPTIONS]\n"
		       "       rampart unbind USER-GROUP DEVICE-GROUP [OPTIONS]\n\n"
		       "Grants the members of a user group access to the devices of a device group:\n"
		       "log in (login), sudo for the listed commands as root (sudo, each --command\n"
		       "an absolute path and its arguments), or sudo for everything (sudo-all).\n"
		       "With --for or --until the grant ends then: every device revokes it by its\n"
		       "own clock, whether or not the server answers (\"bob gets sudo on the\n"
		       "database servers for two hours\" is one signed statement). unbind ends a\n"
		       "grant now; accounts that no grant reaches any more are removed from those\n"
		       "devices (home directories stay).\n\n%s",
		       change_opts_help);
		free(b);
		return 0;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (change_opt(&ch, opt))
			continue;
		switch (opt) {
		case 'a': access = optarg; break;
		case 'f': until = optarg; break;
		case 'C': {
			char **nc;
			if (!rp_sudo_command_valid(optarg, strlen(optarg))) {
				cli_err("bind: --command `%s' is not an absolute path and arguments "
					"without \\ , : = ( ) ! # %% \" '",
					optarg);
				free(b);
				return 2;
			}
			if (b->ncommands == RP_DIR_COMMANDS_MAX ||
			    !(nc = realloc(b->commands, (b->ncommands + 1) * sizeof(*nc)))) {
				rp_dir_obj_free(RP_DIR_BIND, b);
				return 2;
			}
			b->commands = nc;
			if (!(b->commands[b->ncommands] = strdup(optarg))) {
				rp_dir_obj_free(RP_DIR_BIND, b);
				return 1;
			}
			b->ncommands++;
			break;
		}
		default: rp_dir_obj_free(RP_DIR_BIND, b); return 2;
		}
	}
	if (argc - optind != 2 || !rp_dir_name_valid(argv[optind], strlen(argv[optind])) ||
	    !rp_dir_name_valid(argv[optind + 1], strlen(argv[optind + 1]))) {
		cli_err("%s: need USER-GROUP DEVICE-GROUP (see --help)", argv[0]);
		rp_dir_obj_free(RP_DIR_BIND, b);
		return 2;
	}
	snprintf(b->ugroup, sizeof(b->ugroup), "%s", argv[optind]);
	snprintf(b->dgroup, sizeof(b->dgroup), "%s", argv[optind + 1]);
	if (!unbind) {
		if (!access || (strcmp(access, "login") && strcmp(access, "sudo") &&
				strcmp(access, "sudo-all"))) {
			cli_err("bind: --access login|sudo|sudo-all is required");
			rp_dir_obj_free(RP_DIR_BIND, b);
			return 2;
		}
		b->access = !strcmp(access, "sudo-all") ? RP_ACCESS_SUDO_ALL
			    : !strcmp(access, "sudo")   ? RP_ACCESS_SUDO
							: RP_ACCESS_LOGIN;
		if ((b->access == RP_ACCESS_SUDO) != (b->ncommands > 0)) {
			cli_err("bind: --command goes with --access sudo, which needs one at least");
			rp_dir_obj_free(RP_DIR_BIND, b);
			return 2;
		}
		if (until &&
		    (cli_parse_when(until, rp_now(), &b->until) < 0 || b->until <= rp_now())) {
			cli_err("bind: --for/--until `%s' is not a duration (2h) or a time to come",
				until);
			rp_dir_obj_free(RP_DIR_BIND, b);
			return 2;
		}
	} else if (access || until || b->ncommands) {
		cli_err("unbind: takes no --access, --command, --for or --until");
		rp_dir_obj_free(RP_DIR_BIND, b);
		return 2;
	}
	struct change seen = ch;
	if (change_begin(&ch, c, argv[0]) < 0) {
		rp_dir_obj_free(RP_DIR_BIND, b);
		return 1;
	}
	ch.expires = seen.expires ? seen.expires : DIR_EXPIRES_DEFAULT;
	ch.comment = seen.comment;
	ch.dry_run = seen.dry_run;
	if (!rp_dir_group_get(&ch.s.dir, b->ugroup) && !unbind)
		fprintf(stderr, "rampart: warning: %s is not a user group of the directory (yet)\n",
			b->ugroup);
	if (!rp_dir_dgroup_exists(&ch.s.dir, b->dgroup) && !unbind)
		fprintf(stderr,
			"rampart: warning: %s is not a device group of the directory (yet)\n",
			b->dgroup);
	if (unbind && !rp_dir_find(&ch.s.dir, RP_DIR_BIND, b)) {
		cli_err("unbind: %s is not bound to %s", b->ugroup, b->dgroup);
		goto out;
	}
	if (rp_dir_insert(unbind ? &ch.st.del : &ch.st.put, RP_DIR_BIND, b) < 0)
		goto out;
	b = NULL;
	r = change_submit(&ch);
out:
	rp_dir_obj_free(RP_DIR_BIND, b);
	change_end(&ch);
	return r;
}

/* ---- drift ---- */

int cli_drift_check(const char *org, const char *id, const struct cli_facts *f, json_t *note,
		    struct rp_drift *ret, char *problem, size_t n)
{
	struct rp_diag d = {""};
	const char *text = json_string_value(note);

	problem[0] = '\0';
	if (!text)
		return RP_E_NOTFOUND;
	if (!f->key_ok) {
		snprintf(problem, n, "the device's key does not verify: %s", f->problem);
		return RP_E_KEY;
	}
	if (rp_drift_verify(text, strlen(text), f->cur, id, ret, &d) < 0 ||
	    strcmp(ret->org, org) != 0) {
		snprintf(problem, n, "the drift report does not verify: %s",
			 d.msg[0] ? d.msg : "another org's");
		return RP_E_BADSIG;
	}
	return 0;
}

static json_t *drift_json(const struct rp_drift *dr)
{
	json_t *items = json_array();
	char t[21];

	for (size_t i = 0; items && i < dr->n; i++)
		json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "code", dr->items[i].code,
						       "subject", dr->items[i].subject, "detail",
						       dr->items[i].detail));
	rp_time_format(dr->at, t);
	return json_pack("{s:s, s:I, s:s, s:o}", "device", dr->device, "directory_version",
			 (json_int_t)dr->version, "at", t, "items", items);
}

/* `rampart drift DEVICE': the device's signed drift report. */
static int drift_show(struct cli *c, const char *id)
{
	struct rp_diag d = {""};
	struct rp_drift *dr = malloc(sizeof(*dr));
	struct cli_facts f;
	char path[256], problem[400], t[21];
	json_t *j = NULL, *v, *dev = NULL;
	size_t i;
	int r = 1;

	if (!dr)
		return 1;
	snprintf(path, sizeof(path), "/v1/orgs/%s/devices", c->org);
	if (rp_api_call(&c->api, "GET", path, NULL, &j, NULL, &d) < 0) {
		cli_err("drift: %s", d.msg);
		goto out;
	}
	json_array_foreach (json_object_get(j, "devices"), i, v)
		if (json_string_value(json_object_get(v, "id")) &&
		    !strcmp(json_string_value(json_object_get(v, "id")), id))
			dev = v;
	if (!dev) {
		cli_err("drift: %s is not a device of org %s", id, c->org);
		goto out;
	}
	cli_facts_check(c->org, id, json_object_get(dev, "pubkey"), json_object_get(dev, "keys"),
			json_object_get(dev, "facts"), &f);
	r = cli_drift_check(c->org, id, &f, json_object_get(dev, "drift"), dr, problem,
			    sizeof(problem));
	if (r == RP_E_NOTFOUND) {
		printf("device %s has sent no drift report (it manages nothing, or runs an agent "
		       "from before drift reports)\n",
		       id);
		r = 0;
		goto out;
	}
	if (r < 0) {
		cli_err("drift: SECURITY: %s", problem);
		r = 1;
		goto out;
	}
	if (c->json) {
		json_t *o = drift_json(dr);
		if (o)
			cli_json(stdout, o);
		json_decref(o);
		goto out;
	}
	rp_time_format(dr->at, t);
	printf("device %s: %zu drift item%s at %s, against directory version %llu (signed by the "
	       "device)\n",
	       id, dr->n, dr->n == 1 ? "" : "s", t, (unsigned long long)dr->version);
	for (i = 0; i < dr->n; i++) {
		printf("  ");
		cli_cell(stdout, dr->items[i].code, 16);
		printf("  ");
		cli_put(stdout, dr->items[i].subject);
		if (dr->items[i].detail[0]) {
			printf(": ");
			cli_put(stdout, dr->items[i].detail);
		}
		putchar('\n');
	}
	if (dr->n)
		printf("`rampart drift repair %s' has the device restore the signed state "
		       "(docs/directory.md, \"Drift\")\n",
		       id);
out:
	json_decref(j);
	free(dr);
	return r;
}

int cmd_drift(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'A'}, CHANGE_OPTS, {0}};
	struct change ch = {0}, seen = {0};
	bool all = false;
	int opt, r = 1;

	if (argc < 2 || cli_is_help(argc, argv)) {
		printf("Usage: rampart drift DEVICE\n"
		       "       rampart drift repair DEVICE...|--all [OPTIONS]\n\n"
		       "Shows what differs on a device from what the signed directory grants it, as\n"
		       "the device found and signed it: an extra key for a managed user, a uid 0\n"
		       "account other than root, a sudo drop-in Rampart did not write, a managed\n"
		       "file or account changed by hand, a local account in the way (conflict).\n"
		       "Agents look every %d s and after each change. `rampart devices --drift'\n"
		       "counts them for every device.\n\n"
		       "repair: a directory statement (signed, approved like any change) telling\n"
		       "those devices to restore the signed state: managed files and lines\n"
		       "rewritten, extra keys taken out of managed users' ~/.ssh/authorized_keys,\n"
		       "an unknown uid 0 account locked, a foreign sudo drop-in moved aside into\n"
		       "the agent's state directory. Nothing is deleted.\n\n%s",
		       RP_DRIFT_INTERVAL_S, change_opts_help);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "repair") != 0) {
		if (argc != 2 || !rp_id_valid(argv[1], strlen(argv[1]))) {
			cli_err("drift: need a DEVICE id (32 hex digits), or `repair'");
			return 2;
		}
		if (cli_need_server(c, false) < 0)
			return 1;
		return drift_show(c, argv[1]);
	}
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		if (opt == 'A')
			all = true;
		else if (!change_opt(&seen, opt))
			return 2;
	}
	int first = optind + 1;
	if (all == (first < argc)) {
		cli_err("drift repair: name the devices, or --all");
		return 2;
	}
	for (int i = first; i < argc; i++)
		if (!rp_id_valid(argv[i], strlen(argv[i]))) {
			cli_err("drift repair: `%s' is not a device id", argv[i]);
			return 2;
		}
	if (change_begin(&ch, c, "drift repair") < 0)
		return 1;
	ch.expires = seen.expires ? seen.expires : DIR_EXPIRES_DEFAULT;
	ch.comment = seen.comment;
	ch.dry_run = seen.dry_run;
	ch.st.repair_all = all;
	if (!all) {
		/* ascending, each once */
		if (!(ch.st.repair = calloc((size_t)(argc - first), sizeof(*ch.st.repair))))
			goto out;
		for (int i = first; i < argc; i++) {
			size_t at = 0;
			while (at < ch.st.nrepair && strcmp(ch.st.repair[at], argv[i]) < 0)
				at++;
			if (at < ch.st.nrepair && !strcmp(ch.st.repair[at], argv[i]))
				continue;
			memmove(&ch.st.repair[at + 1], &ch.st.repair[at],
				(ch.st.nrepair - at) * sizeof(ch.st.repair[0]));
			snprintf(ch.st.repair[at], sizeof(ch.st.repair[0]), "%s", argv[i]);
			ch.st.nrepair++;
		}
	}
	r = change_submit(&ch);
out:
	change_end(&ch);
	return r;
}

/* ---- import ---- */

/* What an import adds, before it is split into statements. */
struct import {
	struct change *ch;
	struct rp_dir add; /* users and groups put */
	bool takeover, update;
	size_t skipped, outside; /* already in the directory; accounts outside the uid range */
	uint32_t min_uid, max_uid;
};

/* A user read from a file: put unless the directory has one (then kept, unless --update). */
static int import_user(struct import *im, struct rp_dir_user *u)
{
	const struct rp_dir_user *cur = rp_dir_user_get(&im->ch->s.dir, u->login);

	u->takeover = im->takeover;
	if (cur && !im->update) {
		im->skipped++;
		rp_dir_obj_free(RP_DIR_USER, u);
		return 0;
	}
	for (size_t i = 0; i < im->ch->s.dir.nusers; i++)
		if (im->ch->s.dir.users[i]->uid == u->uid &&
		    strcmp(im->ch->s.dir.users[i]->login, u->login)) {
			cli_err("import: %s's uid %u is %s's in the directory", u->login, u->uid,
				im->ch->s.dir.users[i]->login);
			rp_dir_obj_free(RP_DIR_USER, u);
			return RP_E_CONFLICT;
		}
	if (rp_dir_find(&im->add, RP_DIR_USER, u)) {
		cli_err("import: %s is listed twice", u->login);
		rp_dir_obj_free(RP_DIR_USER, u);
		return RP_E_MALFORMED;
	}
	return rp_dir_insert(&im->add, RP_DIR_USER, u);
}

/* login joins group (the directory's, or one this import defines). */
static int import_member(struct import *im, const char *group, uint32_t gid, const char *login)
{
	struct rp_dir_group key, *g;

	memset(&key, 0, sizeof(key));
	snprintf(key.name, sizeof(key.name), "%s", group);
	if (!(g = rp_dir_find(&im->add, RP_DIR_GROUP, &key))) {
		const struct rp_dir_group *cur = rp_dir_group_get(&im->ch->s.dir, group);
		if (!cur && !gid) {
			cli_err("import: group %s is neither in the directory nor given a gid "
				"(--new-group %s=GID)",
				group, group);
			return RP_E_NOTFOUND;
		}
		g = cur ? rp_dir_obj_dup(RP_DIR_GROUP, cur) : calloc(1, sizeof(*g));
		if (!g)
			return RP_E_NOMEM;
		snprintf(g->name, sizeof(g->name), "%s", group);
		if (!cur)
			g->gid = gid;
		if (rp_dir_insert(&im->add, RP_DIR_GROUP, g) < 0) {
			rp_dir_obj_free(RP_DIR_GROUP, g);
			return RP_E_NOMEM;
		}
	}
	return login ? cli_dir_add_name(&g->members, &g->nmembers, RP_DIR_MEMBERS_MAX, login) : 0;
}

/* ';'-separated parts of a field, each handed to fn. */
static int each_part(char *field, int (*fn)(void *arg, const char *part), void *arg)
{
	int r = 0;

	for (char *p = field; r == 0 && p && *p;) {
		char *e = strchr(p, ';');
		if (e)
			*e = '\0';
		if (*p)
			r = fn(arg, p);
		p = e ? e + 1 : NULL;
	}
	return r;
}

struct csv_row {
	struct import *im;
	struct rp_dir_user *u;
	const char *(*newgroup)(void *, const char *, uint32_t *);
	void *ng;
	int lineno;
};

static int csv_key(void *arg, const char *k)
{
	struct csv_row *row = arg;
	struct rp_diag d = {""};

	if (!rp_ssh_key_valid(k, strlen(k))) {
		cli_err("import: line %d: `%.40s...' is not an SSH public key line", row->lineno,
			k);
		return RP_E_MALFORMED;
	}
	return add_key(row->u, k, &d);
}

/* --new-group NAME=GID options, as given. */
struct new_groups {
	size_t n;
	char *v[RP_DIR_OBJECTS_MAX > 256 ? 256 : RP_DIR_OBJECTS_MAX];
};

static uint32_t new_group_gid(const struct new_groups *ng, const char *name)
{
	for (size_t i = 0; i < ng->n; i++) {
		const char *eq = strchr(ng->v[i], '=');
		uint32_t gid;
		if (eq && (size_t)(eq - ng->v[i]) == strlen(name) &&
		    !strncmp(ng->v[i], name, strlen(name)) && parse_id(eq + 1, &gid))
			return gid;
	}
	return 0;
}

struct csv_groups {
	struct import *im;
	const struct new_groups *ng;
	const char *login;
};

static int csv_group(void *arg, const char *g)
{
	struct csv_groups *cg = arg;

	if (!rp_dir_name_valid(g, strlen(g))) {
		cli_err("import: `%s' is not a group name", g);
		return RP_E_MALFORMED;
	}
	return import_member(cg->im, g, new_group_gid(cg->ng, g), cg->login);
}

/*
 * CSV: login,uid[,gid[,shell[,name[,groups[,keys]]]]], one user a line;
 * groups and keys separated by `;'; no field holds a comma; a first line
 * starting `login,' and lines starting `#' are skipped.
 */
static int import_csv(struct import *im, const char *path, const struct new_groups *ng)
{
	char *buf = NULL, *line, *rest;
	size_t len;
	int r = 0, lineno = 0;

	if ((r = rp_read_file(path, RP_ACCOUNT_FILE_MAX, &buf, &len)) < 0) {
		cli_err("import: reading %s: %s", path, rp_strerror(r));
		return r;
	}
	if (memchr(buf, '\0', len)) {
		cli_err("import: %s holds a NUL byte", path);
		free(buf);
		return RP_E_MALFORMED;
	}
	for (rest = buf; r == 0 && (line = strsep(&rest, "\n"));) {
		char *f[8] = {0}, *p = line;
		size_t nf = 0;
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (!*line || *line == '#' || (lineno == 1 && !strncmp(line, "login,", 6)))
			continue;
		while (p && nf < 8) {
			f[nf++] = p;
			if ((p = strchr(p, ',')))
				*p++ = '\0';
		}
		if (p || nf < 2) {
			cli_err("import: %s line %d: not `login,uid[,gid[,shell[,name[,groups[,keys]]]]]'",
				path, lineno);
			r = RP_E_MALFORMED;
			break;
		}
		struct rp_dir_user *u = calloc(1, sizeof(*u));
		if (!u) {
			r = RP_E_NOMEM;
			break;
		}
		snprintf(u->shell, sizeof(u->shell), "/bin/bash");
		if (!rp_dir_name_valid(f[0], strlen(f[0])) || !parse_id(f[1], &u->uid) ||
		    (nf > 2 && *f[2] && !parse_id(f[2], &u->gid)) ||
		    (nf > 3 && *f[3] && (f[3][0] != '/' || strlen(f[3]) > RP_DIR_SHELL_MAX)) ||
		    (nf > 4 && strlen(f[4]) > RP_DIR_GECOS_MAX)) {
			cli_err("import: %s line %d: a bad login, uid, gid (1000-65533), shell or name",
				path, lineno);
			free(u);
			r = RP_E_MALFORMED;
			break;
		}
		snprintf(u->login, sizeof(u->login), "%s", f[0]);
		if (!u->gid)
			u->gid = u->uid;
		if (nf > 3 && *f[3])
			snprintf(u->shell, sizeof(u->shell), "%s", f[3]);
		if (nf > 4)
			snprintf(u->gecos, sizeof(u->gecos), "%s", f[4]);
		struct csv_row row = {.im = im, .u = u, .lineno = lineno};
		if (nf > 6 && (r = each_part(f[6], csv_key, &row)) < 0) {
			rp_dir_obj_free(RP_DIR_USER, u);
			break;
		}
		char login[RP_DIR_NAME_MAX + 1];
		snprintf(login, sizeof(login), "%s", u->login);
		if ((r = import_user(im, u)) < 0)
			break;
		struct csv_groups cg = {im, ng, login};
		if (nf > 5)
			r = each_part(f[5], csv_group, &cg);
	}
	free(buf);
	return r;
}

/* The valid key lines of an authorized_keys file (others, with options say, are skipped). */
static int import_keys(struct rp_dir_user *u, const char *dir)
{
	char path[1024], *buf = NULL, *line, *rest;
	size_t len;
	int skipped = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, u->login);
	if (rp_read_file(path, RP_AUTHORIZED_KEYS_MAX, &buf, &len) < 0) {
		snprintf(path, sizeof(path), "%s/%s/.ssh/authorized_keys", dir, u->login);
		if (rp_read_file(path, RP_AUTHORIZED_KEYS_MAX, &buf, &len) < 0)
			return 0;
	}
	for (rest = buf; (line = strsep(&rest, "\n"));) {
		struct rp_diag d = {""};
		line[strcspn(line, "\r")] = '\0';
		if (!*line || *line == '#')
			continue;
		if (!rp_ssh_key_valid(line, strlen(line)) || add_key(u, line, &d) < 0)
			skipped++;
	}
	if (skipped)
		fprintf(stderr,
			"rampart: import: %s: %d line%s skipped (options, an unknown type, or "
			"more than %d keys): only plain keys are imported\n",
			path, skipped, skipped == 1 ? "" : "s", RP_DIR_KEYS_MAX);
	free(buf);
	return 0;
}

/* passwd and group files of a reference server: accounts in [min-uid, max-uid]. */
static int import_files(struct import *im, const char *passwd, const char *group, const char *keys)
{
	char *pw = NULL, *gr = NULL;
	size_t pwlen, grlen;
	struct rp_account_reader rd;
	struct rp_account_field f[7];
	struct rp_diag d = {""};
	bool entry;
	uint32_t id;
	int r, k;

	if ((r = rp_read_file(passwd, RP_ACCOUNT_FILE_MAX, &pw, &pwlen)) < 0 ||
	    (group && (r = rp_read_file(group, RP_ACCOUNT_FILE_MAX, &gr, &grlen)) < 0)) {
		cli_err("import: reading %s: %s", pw ? group : passwd, rp_strerror(r));
		goto out;
	}
	if ((r = rp_account_reader_init(&rd, "passwd", pw, pwlen, &d)) < 0)
		goto bad;
	while ((k = rp_account_read(&rd, f, 7, 2, "uid", &entry, &id, &d)) == 1) {
		if (!entry)
			continue;
		if (id < im->min_uid || id > im->max_uid) {
			im->outside++;
			continue;
		}
		struct rp_dir_user *u = calloc(1, sizeof(*u));
		uint64_t gid;
		if (!u) {
			r = RP_E_NOMEM;
			goto out;
		}
		if (!rp_dir_name_valid(f[0].p, f[0].n) ||
		    rp_parse_u64(f[3].p, f[3].n, 65533, &gid) != 0 || gid < 1000 || f[6].n < 2 ||
		    f[6].n > RP_DIR_SHELL_MAX || f[6].p[0] != '/') {
			fprintf(stderr,
				"rampart: import: passwd line %zu skipped: a login, gid (1000-65533) or "
				"shell Rampart does not take\n",
				rd.lineno);
			free(u);
			continue;
		}
		memcpy(u->login, f[0].p, f[0].n);
		u->uid = id;
		u->gid = (uint32_t)gid;
		memcpy(u->shell, f[6].p, f[6].n);
		/* the full name: gecos up to its first comma */
		size_t gl = strcspn(f[4].p, ",:");
		if (gl > f[4].n)
			gl = f[4].n;
		if (gl > RP_DIR_GECOS_MAX)
			gl = RP_DIR_GECOS_MAX;
		memcpy(u->gecos, f[4].p, gl);
		while (gl && u->gecos[gl - 1] == ' ')
			u->gecos[--gl] = '\0';
		if (keys)
			import_keys(u, keys);
		if ((r = import_user(im, u)) < 0)
			goto out;
	}
	if (k < 0)
		goto bad;
	if (gr) {
		if ((r = rp_account_reader_init(&rd, "group", gr, grlen, &d)) < 0)
			goto bad;
		while ((k = rp_account_read(&rd, f, 4, 2, "gid", &entry, &id, &d)) == 1) {
			char name[RP_DIR_NAME_MAX + 1] = "";
			if (!entry || id < 1000 || id > 65533 || !rp_dir_name_valid(f[0].p, f[0].n))
				continue;
			memcpy(name, f[0].p, f[0].n);
			/* a user's own group is made on each device from the user's gid */
			struct rp_dir_user ukey;
			memset(&ukey, 0, sizeof(ukey));
			memcpy(ukey.login, name, sizeof(ukey.login));
			struct rp_dir_user *own = rp_dir_find(&im->add, RP_DIR_USER, &ukey);
			if (own && own->gid == id)
				continue;
			/* members among the imported users; a group with none is not imported */
			char members[4096];
			size_t ml = f[3].n < sizeof(members) - 1 ? f[3].n : sizeof(members) - 1;
			memcpy(members, f[3].p, ml);
			members[ml] = '\0';
			for (char *mrest = members, *m; (m = strsep(&mrest, ","));) {
				if (!*m)
					continue;
				memset(&ukey, 0, sizeof(ukey));
				snprintf(ukey.login, sizeof(ukey.login), "%s", m);
				if (rp_dir_find(&im->add, RP_DIR_USER, &ukey) &&
				    (r = import_member(im, name, id, m)) < 0)
					goto out;
			}
		}
		if (k < 0)
			goto bad;
	}
	r = 0;
	goto out;
bad:
	cli_err("import: %s", d.msg);
	r = RP_E_MALFORMED;
out:
	free(pw);
	free(gr);
	return r;
}

/* The import split into chained statements of at most budget bytes of objects each. */
#define IMPORT_PART_BYTES (48 * 1024)

int cmd_directory_import(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"csv", required_argument, NULL, 'C'},
		{"passwd", required_argument, NULL, 'P'},
		{"group", required_argument, NULL, 'G'},
		{"keys", required_argument, NULL, 'K'},
		{"new-group", required_argument, NULL, 'N'},
		{"min-uid", required_argument, NULL, 'm'},
		{"max-uid", required_argument, NULL, 'M'},
		{"takeover", no_argument, NULL, 'T'},
		{"update", no_argument, NULL, 'U'},
		CHANGE_OPTS,
		{0},
	};
	const char *csv = NULL, *passwd = NULL, *group = NULL, *keys = NULL;
	struct change ch = {0}, seen = {0};
	struct new_groups ng = {0};
	struct import im = {.min_uid = 1000, .max_uid = 60000};
	struct rp_dir_stmt *parts = NULL;
	size_t nparts = 0;
	int opt, r = 1;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart directory import --csv FILE [--new-group NAME=GID]...\n"
		       "       rampart directory import --passwd FILE [--group FILE] [--keys DIR]\n"
		       "                                [--min-uid N] [--max-uid N]\n"
		       "       ... [--takeover] [--update] [OPTIONS]\n\n"
		       "Adds users (and their groups) from what exists, as directory statements,\n"
		       "shown as one difference before anything is signed; a large import is\n"
		       "split into several statements, chained, each approved in turn (the ids\n"
		       "are printed in order).\n\n"
		       "  --csv FILE      login,uid[,gid[,shell[,name[,groups[,keys]]]]] a line; groups\n"
		       "                  and keys separated by `;' (no field holds a comma); a first\n"
		       "                  line `login,...' and `#' lines are skipped\n"
		       "  --new-group NAME=GID  a group the CSV names that the directory has not\n"
		       "  --passwd FILE, --group FILE  a reference server's files: accounts with a\n"
		       "                  uid from --min-uid (1000) to --max-uid (60000), the groups\n"
		       "                  (gid 1000 or more) they are in, not their own groups\n"
		       "  --keys DIR      each user's keys from DIR/LOGIN or DIR/LOGIN/.ssh/authorized_keys\n"
		       "                  (a copy of /home): plain key lines only, others reported\n"
		       "  --takeover      the imported users take over the local accounts of their\n"
		       "                  login and uid on the devices (docs/directory.md); without\n"
		       "                  it those accounts are conflicts, reported and left alone\n"
		       "  --update        users already in the directory are replaced (default: kept)\n"
		       "%s",
		       change_opts_help);
		return 0;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint32_t v;
		if (change_opt(&seen, opt))
			continue;
		switch (opt) {
		case 'C': csv = optarg; break;
		case 'P': passwd = optarg; break;
		case 'G': group = optarg; break;
		case 'K': keys = optarg; break;
		case 'N':
			if (ng.n == sizeof(ng.v) / sizeof(ng.v[0]) || !strchr(optarg, '=')) {
				cli_err("import: --new-group takes NAME=GID");
				return 2;
			}
			ng.v[ng.n++] = optarg;
			break;
		case 'm':
		case 'M':
			if (rp_parse_u64(optarg, strlen(optarg), 65533, &(uint64_t){0}) != 0 ||
			    !parse_id(optarg, &v)) {
				cli_err("import: --min-uid/--max-uid `%s' is not 1000 to 65533",
					optarg);
				return 2;
			}
			*(opt == 'm' ? &im.min_uid : &im.max_uid) = v;
			break;
		case 'T': im.takeover = true; break;
		case 'U': im.update = true; break;
		default: return 2;
		}
	}
	if (optind < argc || !csv == !passwd || (csv && (group || keys)) || (passwd && ng.n)) {
		cli_err("import: need --csv FILE, or --passwd FILE [--group FILE] [--keys DIR]");
		return 2;
	}
	if (change_begin(&ch, c, "directory import") < 0)
		return 1;
	im.ch = &ch;
	if ((csv ? import_csv(&im, csv, &ng) : import_files(&im, passwd, group, keys)) < 0)
		goto out;
	if (im.add.nusers == 0 && im.add.ngroups == 0) {
		printf("nothing to import: %zu user%s already in the directory, %zu account%s "
		       "outside uids %u to %u (--min-uid, --max-uid)\n",
		       im.skipped, im.skipped == 1 ? "" : "s", im.outside,
		       im.outside == 1 ? "" : "s", im.min_uid, im.max_uid);
		r = 0;
		goto out;
	}
	/* the parts: objects in their one order, each part under the budget */
	size_t total = im.add.nusers + im.add.ngroups;
	if (!(parts = calloc(total, sizeof(*parts))))
		goto out;
	size_t used = 0;
	for (int kind = RP_DIR_USER; kind <= RP_DIR_GROUP; kind++) {
		size_t n = kind == RP_DIR_USER ? im.add.nusers : im.add.ngroups;
		for (size_t i = 0; i < n; i++) {
			void *o = kind == RP_DIR_USER ? (void *)im.add.users[i]
						      : (void *)im.add.groups[i];
			size_t len = rp_dir_obj_len((enum rp_dir_kind)kind, o);
			if (nparts == 0 || used + len > IMPORT_PART_BYTES) {
				nparts++;
				used = 0;
			}
			void *dup = rp_dir_obj_dup((enum rp_dir_kind)kind, o);
			if (!dup || rp_dir_insert(&parts[nparts - 1].put, (enum rp_dir_kind)kind,
						  dup) < 0) {
				rp_dir_obj_free((enum rp_dir_kind)kind, dup);
				goto out;
			}
			used += len;
		}
	}
	/* chained: each names the text of the part before it */
	struct rp_dir_state after;
	if (state_copy(&ch.s, &after) < 0)
		goto out;
	int64_t now = rp_now(), expires;
	if (cli_parse_when(seen.expires ? seen.expires : DIR_EXPIRES_DEFAULT, now, &expires) < 0 ||
	    expires <= now) {
		cli_err("import: --expires is not a duration or a time to come");
		rp_dir_state_release(&after);
		goto out;
	}
	char *texts[1024] = {0};
	size_t lens[1024];
	if (nparts > 1024) {
		cli_err("import: more than 1024 statements: import in pieces");
		rp_dir_state_release(&after);
		goto out;
	}
	for (size_t k = 0; k < nparts; k++) {
		struct rp_dir_stmt *p = &parts[k];
		snprintf(p->org, sizeof(p->org), "%s", c->org);
		rp_random_hex(p->id, RP_ID_HEX / 2);
		p->version = after.version + 1;
		p->first = after.version == 0;
		memcpy(p->previous, after.head, 32);
		p->expires = expires;
		if (seen.comment)
			snprintf(p->comment, sizeof(p->comment), "%s", seen.comment);
		struct rp_dir_stmt *chk = NULL;
		struct rp_diag pd = {""};
		/* what is signed is what parses, exactly */
		if (!(texts[k] = rp_dir_stmt_format(p, &lens[k])) ||
		    rp_dir_stmt_parse_text(texts[k], lens[k], &chk, &pd) < 0 ||
		    rp_dir_apply(&after, p, (const uint8_t *)texts[k], lens[k], true, NULL) < 0) {
			rp_dir_stmt_free(chk);
			cli_err("import: part %zu: %s", k + 1,
				pd.msg[0] ? pd.msg : "does not format");
			rp_dir_state_release(&after);
			goto free_texts;
		}
		rp_dir_stmt_free(chk);
	}
	char *diff;
	size_t dlen;
	if ((diff = rp_dir_diff(&ch.s.dir, &after.dir, &dlen))) {
		printf("---- the import, against directory version %llu as you verified it, in %zu "
		       "statement%s ----\n",
		       (unsigned long long)ch.s.version, nparts, nparts == 1 ? "" : "s");
		cli_fenced(stdout, diff, dlen);
		free(diff);
	}
	if (im.skipped)
		printf("(%zu user%s already in the directory kept as they are: --update replaces "
		       "them)\n",
		       im.skipped, im.skipped == 1 ? "" : "s");
	rp_dir_state_release(&after);
	if (seen.dry_run) {
		printf("---- dry run: nothing signed ----\n");
		r = 0;
		goto free_texts;
	}
	r = 0;
	for (size_t k = 0; k < nparts && r == 0; k++) {
		char what[48];
		snprintf(what, sizeof(what), "import: part %zu of %zu", k + 1, nparts);
		r = sign_submit(c, what, parts[k].id, texts[k], lens[k]) < 0 ? 1 : 0;
	}
	if (r == 0 && nparts > 1)
		printf("approve the %zu parts in this order: each is logged only after the one "
		       "before it\n",
		       nparts);
free_texts:
	for (size_t k = 0; k < nparts; k++)
		free(texts[k]);
out:
	for (size_t k = 0; parts && k < nparts; k++) {
		rp_dir_release(&parts[k].put);
		rp_dir_release(&parts[k].del);
	}
	free(parts);
	rp_dir_release(&im.add);
	change_end(&ch);
	return r;
}

/* ---- thresholds ---- */

const struct rp_dir_state *cli_directory_once(struct cli *c, const struct rp_policy *p)
{
	/* one fold per run: `rampart approve' and `commands' ask for it several times */
	static struct rp_dir_state s;
	static bool tried, have;

	if (!tried) {
		tried = true;
		have = cli_directory(c, p, &s, true) == 0;
	}
	return have ? &s : NULL;
}

void cli_view_strict(struct cli *c, const struct rp_policy *p, struct cli_view *v)
{
	const struct rp_dir_state *s;

	if (v->cmd && p->ngthresholds && (s = cli_directory_once(c, p)))
		v->threshold = rp_dir_statement_threshold(p, &s->dir, v->cmd);
}
