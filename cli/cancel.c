/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rampart cancel' and `rampart reject': a signed "this command must never
 * run" (lib/cancel.h). The CLI verifies the command first, as approve
 * does, and takes what the cancel binds from that verified text: its hash
 * and its expiry, which tells agents how long to keep the cancel (never
 * the server's word). A cancel shown by the server counts only when it
 * verifies (cli_view_cancel): a server cannot make a command look
 * cancelled, nor hide that one was.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

const char *cli_view_cancel_state(const struct cli_view *v)
{
	if (!v->cmd || !v->cancel_kind)
		return NULL;
	return v->cancel_kind == 1 + RP_CANCEL_REJECT ? "rejected" : "cancelled";
}

void cli_view_cancel(struct cli_view *v, const struct rp_policy *p, json_t *cancel)
{
	const char *note = json_string_value(cancel);
	struct rp_cancel *k = NULL;
	struct rp_diag d = {""};
	uint8_t h[32];

	v->cancel_kind = 0;
	v->cancel_problem[0] = '\0';
	if (!note || !v->cmd)
		return;
	if (rp_cancel_parse(note, strlen(note), &k, &d) < 0) {
		snprintf(v->cancel_problem, sizeof(v->cancel_problem),
			 "SECURITY: the server shows a cancel that does not parse: %s", d.msg);
		return;
	}
	rp_cancel_statement_hash(v->cmd->note->msg, v->cmd->note->text_len, h);
	if (strcmp(k->command, v->cmd->id) != 0 || sodium_memcmp(h, k->statement_hash, 32) != 0)
		snprintf(v->cancel_problem, sizeof(v->cancel_problem),
			 "SECURITY: the server shows a cancel of another statement");
	else if (rp_cancel_check(p, k, v->cancel_by, &d) < 0)
		snprintf(v->cancel_problem, sizeof(v->cancel_problem),
			 "SECURITY: the server shows a cancel no administrator signed: %s", d.msg);
	else {
		v->cancel_kind = 1 + (int)k->kind;
		memcpy(v->cancel_reason, k->reason, sizeof(v->cancel_reason));
		v->cancel_time = k->time;
	}
	rp_cancel_free(k);
}

static int usage(bool reject, FILE *f)
{
	if (reject)
		fprintf(f,
			"Usage: rampart reject [--yes] --reason TEXT ID\n\n"
			"An approver's no: signs a cancel of kind `reject' for command ID, which\n"
			"awaits approval. Like `rampart cancel' (see its --help), it is logged,\n"
			"and no agent ever runs the command; `commands' and `results' show it as\n"
			"rejected, with who signed the reject and the reason. A reason is required.\n\n"
			"Exit status: 0 rejected, 1 failed, 2 usage, 3 the command does not verify,\n"
			"4 refused for its state (approved already: cancel it instead; expired;\n"
			"cancelled or rejected already).\n");
	else
		fprintf(f,
			"Usage: rampart cancel [--yes] [--reason TEXT] ID\n\n"
			"Signs a cancel of command ID: it can never run later. The command is\n"
			"fetched and verified against your trusted root policy and shown (the\n"
			"statement, payload, targets, signatures, as `approve' shows it) before\n"
			"you are asked (--yes: do not ask). The cancel names the command by id\n"
			"and by the hash of the text shown, and carries that text's expiry: every\n"
			"agent keeps it at least that long. One signature by a key of the exec\n"
			"role is enough: a cancel only ever stops things.\n\n"
			"rampartd appends it to the org's log, which every agent reads in full,\n"
			"and never logs the command afterwards. An agent refuses a cancelled\n"
			"command whether the cancel was logged before or after it, as long as it\n"
			"has not started, and reports the signed result `cancelled'. A command\n"
			"already running is not stopped.\n\n"
			"--reason TEXT  why, up to %d bytes of printable text, shown to others\n\n"
			"Exit status: 0 cancelled, 1 failed, 2 usage, 3 the command does not\n"
			"verify, 4 refused for its state (expired, every target reported,\n"
			"cancelled already).\n",
			RP_CANCEL_REASON_MAX);
	return f == stdout ? CLI_OK : CLI_USAGE;
}

static int cancel_main(struct cli *c, int argc, char *argv[], bool reject)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *what = reject ? "reject" : "cancel";
	struct rp_policy *p = NULL;
	struct cli_view v = {0};
	struct rp_cancel k = {0}, *check = NULL;
	struct rp_diag d = {""};
	const char *id, *reason = NULL;
	char path[256], *text = NULL, *note = NULL;
	uint8_t *payload = NULL;
	size_t tlen, nlen, plen = 0;
	bool yes = false;
	json_t *j = NULL, *resp = NULL, *b = NULL;
	int ch, status = 0, r = CLI_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+hy", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': reason = optarg; break;
		case 'y': yes = true; break;
		case 'h': return usage(reject, stdout);
		default: return CLI_USAGE;
		}
	}
	if (optind + 1 != argc || !rp_id_valid(argv[optind], strlen(argv[optind]))) {
		cli_err("%s: expected one command ID, 32 hex digits (see rampart %s --help)", what,
			what);
		return CLI_USAGE;
	}
	id = argv[optind];
	if (reject && (!reason || !reason[0])) {
		cli_err("reject: --reason TEXT is required: say why, for the others");
		return CLI_USAGE;
	}
	if (reason && (!reason[0] || strlen(reason) > RP_CANCEL_REASON_MAX)) {
		cli_err("%s: --reason is empty or longer than %d bytes", what,
			RP_CANCEL_REASON_MAX);
		return CLI_USAGE;
	}
	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return CLI_FAIL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s", c->org, id);
	if (!(j = cli_get(c, path)))
		goto out;
	cli_view_init(&v, p, c->org, id, cli_js(j, "statement"));
	cli_view_strict(c, p, &v);
	if (!v.cmd) {
		cli_err("%s: SECURITY: %s", what, v.problem);
		r = CLI_SECURITY;
		goto out;
	}
	cli_view_cancel(&v, p, json_object_get(j, "cancel"));
	if (v.cmd->kind == RP_KIND_DIRECTORY) {
		cli_err("%s: %s is a directory statement: it is superseded by the next version, "
			"not cancelled",
			what, id);
		goto out;
	}
	if (cli_view_cancel_state(&v)) {
		cli_err("%s: command %s is %s already (by %s)", what, id, cli_view_cancel_state(&v),
			v.cancel_by);
		r = CLI_REFUSED;
		goto out;
	}
	if (rp_now() >= v.cmd->expires) {
		cli_err("%s: command %s has expired: no agent runs it any more", what, id);
		r = CLI_REFUSED;
		goto out;
	}
	if (reject && cli_view_approved(&v)) {
		cli_err("reject: command %s is approved already (%zu of %u signatures): a reject "
			"comes too late; `rampart cancel' it instead",
			id, v.count, v.threshold);
		r = CLI_REFUSED;
		goto out;
	}
	if (!cli_key_in_role(p, RP_ROLE_EXEC, &c->signer.s.vkey)) {
		cli_err("%s: your key %s is not a key of role exec: its cancel would not count",
			what, c->signer.s.vkey.name);
		goto out;
	}
	/* a payload that does not match is not shown, and does not stop a cancel */
	int pk = cli_view_payload(&v, j, &payload, &plen);
	if (pk == RP_E_MALFORMED || pk == RP_E_NOMEM) {
		cli_err("%s: the payload is not base64", what);
		goto out;
	}
	/* the review goes to stderr with --json, so that stdout holds the JSON alone */
	{
		int saved = -1;
		if (c->json) {
			fflush(stdout);
			if ((saved = dup(STDOUT_FILENO)) < 0 ||
			    dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
				cli_err("%s: %s", what, strerror(errno));
				goto out;
			}
		}
		cli_show_command(c, p, &v, payload, plen);
		if (saved >= 0) {
			fflush(stdout);
			dup2(saved, STDOUT_FILENO);
			close(saved);
		}
	}
	snprintf(k.org, sizeof(k.org), "%s", c->org);
	memcpy(k.command, v.cmd->id, sizeof(k.command));
	k.kind = reject ? RP_CANCEL_REJECT : RP_CANCEL_CANCEL;
	rp_cancel_statement_hash(v.cmd->note->msg, v.cmd->note->text_len, k.statement_hash);
	k.until = v.cmd->expires; /* from the text verified here */
	k.time = rp_now();
	if (reason)
		snprintf(k.reason, sizeof(k.reason), "%s", reason);
	if (!(text = rp_cancel_format(&k, &tlen)))
		goto out;
	if (rp_cancel_parse_text(text, tlen, &check, &d) < 0) {
		cli_err("%s: --reason: %s", what, d.msg);
		r = CLI_USAGE;
		goto out;
	}
	if (!yes && !cli_confirm(reject ? "Reject this command?" : "Cancel this command?")) {
		cli_err("%s: not signed", what);
		goto out;
	}
	if (rp_note_sign_by(text, tlen, NULL, &c->signer.s, &note, &nlen, &d) < 0) {
		cli_err("%s: signing: %s", what, d.msg[0] ? d.msg : "failed");
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/cancel", c->org, id);
	b = json_pack("{s:s}", "cancel", note);
	if (!b || rp_api_call(&c->api, "POST", path, b, &resp, &status, &d) < 0) {
		cli_err("%s: %s", what, d.msg[0] ? d.msg : "out of memory");
		r = status == 409 ? CLI_REFUSED : CLI_FAIL;
		goto out;
	}
	if (c->json) {
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:O?}", "id", id, "state",
				  reject ? "rejected" : "cancelled", "by", c->signer.s.vkey.name,
				  "reason", k.reason, "index", json_object_get(resp, "index"));
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		printf("command %s %s by %s; the cancel is log entry %lld: every agent reads it "
		       "once it is in a witnessed checkpoint\n",
		       id, reject ? "rejected" : "cancelled", c->signer.s.vkey.name,
		       (long long)json_integer_value(json_object_get(resp, "index")));
	}
	r = CLI_OK;
out:
	rp_cancel_free(check);
	free(text);
	free(note);
	free(payload);
	json_decref(b);
	json_decref(resp);
	json_decref(j);
	cli_view_release(&v);
	rp_policy_free(p);
	return r;
}

int cmd_cancel(struct cli *c, int argc, char *argv[])
{
	return cancel_main(c, argc, argv, false);
}

int cmd_reject(struct cli *c, int argc, char *argv[])
{
	return cancel_main(c, argc, argv, true);
}
