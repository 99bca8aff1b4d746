/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an administrator reaches for once commands run: the whole output
 * of a result (`rampart output'), what awaits my signature (`rampart
 * pending'), acknowledging alerts (`rampart alerts ack'). As everywhere,
 * what is shown as true was verified first (trust.c), and the server's
 * bytes reach a terminal only neutralised (out.c, lib/text.c).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"
#include "text.h"

/* The output bytes, neutralised for a terminal: only \n and \t move the cursor. */
static void put_safe(const uint8_t *s, size_t n)
{
	struct rp_sb sb;

	rp_sb_init(&sb, 10 * n + 64);
	rp_text_safe(&sb, (const char *)s, n, RP_TEXT_BLOCK);
	if (!sb.err && sb.len)
		fwrite(sb.s, 1, sb.len, stdout);
	if (sb.err)
		cli_err("output: out of memory");
	rp_sb_release(&sb);
}

int cmd_output(struct cli *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{"raw", no_argument, NULL, 'r'},
		{"safe", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_policy *p = NULL;
	struct cli_view v = {0};
	struct cli_row *x = NULL, *row = NULL;
	const char *id, *dev = NULL;
	bool raw = false, safe = false;
	char path[256];
	json_t *j = NULL;
	size_t n = 0;
	int ch, r = CLI_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': raw = true; break;
		case 's': safe = true; break;
		case 'h':
			printf("Usage: rampart output [--raw|--safe] ID [DEVICE]\n\n"
			       "Prints the whole output of command ID on DEVICE (needed when the\n"
			       "command has more than one target): the bytes the agent kept (stdout\n"
			       "and stderr together, as they came, the last %d KiB of them) and signed\n"
			       "by their hash in the device's result note, checked as `rampart\n"
			       "results' checks it. A result that does not verify is not printed\n"
			       "(exit 3). The output goes to stdout as is when stdout is not a\n"
			       "terminal, or with --raw; on a terminal (or with --safe) whatever a\n"
			       "terminal would obey in it (escape sequences, other controls, invalid\n"
			       "UTF-8) is shown as \\x or \\u escapes, only newlines and tabs kept.\n"
			       "What the result is (status, exit, size) goes to stderr.\n\n"
			       "Exit status: 0 printed, 5 no result yet, 3 it does not verify, 1 or\n"
			       "2 otherwise (rampart --help).\n",
			       RP_OUTPUT_KEEP / 1024);
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2 || (raw && safe)) {
		cli_err("output: expected ID [DEVICE]%s (see rampart output --help)",
			raw && safe ? ", and --raw or --safe, not both" : "");
		return CLI_USAGE;
	}
	id = argv[optind];
	dev = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (!rp_id_valid(id, strlen(id)) || (dev && !rp_id_valid(dev, strlen(dev)))) {
		cli_err("output: `%s' is not a %s id (32 hex digits)",
			rp_id_valid(id, strlen(id)) ? dev : id,
			rp_id_valid(id, strlen(id)) ? "device" : "command");
		return CLI_USAGE;
	}
	if (cli_need_server(c, false) < 0 || !(p = cli_policy(c)))
		return CLI_FAIL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/results", c->org, id);
	if (!(j = cli_get(c, path)))
		goto out;
	cli_view_init(&v, p, c->org, id, cli_js(j, "statement"));
	cli_view_strict(c, p, &v);
	if (!v.cmd) {
		cli_err("output: SECURITY: command %s does not verify: %s", id, v.problem);
		r = CLI_SECURITY;
		goto out;
	}
	if (cli_rows(c->org, &v, json_object_get(j, "results"), rp_now(), &x, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (x[i].target && (dev ? !strcmp(x[i].device, dev) : true)) {
			if (row && !dev) {
				cli_err("output: command %s has more than one target: name the DEVICE "
					"(see `rampart results %s')",
					id, id);
				r = CLI_USAGE;
				goto out;
			}
			row = &x[i];
		}
	if (!row) {
		cli_err("output: %s is not a target of command %s", dev ? dev : "nothing", id);
		goto out;
	}
	if (!row->verified) {
		if (cli_row_waiting(row)) {
			cli_rows_why(c, &v, row, 1, NULL);
			cli_err("output: no result from %s yet: %s", row->device,
				row->why[0] ? row->why : row->status);
			r = CLI_TIMEOUT;
		} else if (row->problem[0]) {
			cli_err("output: SECURITY: the result of %s is not shown: %s", row->device,
				row->problem);
			r = CLI_SECURITY;
		} else {
			cli_err("output: %s has no result: %s", row->device, row->status);
		}
		goto out;
	}
	fprintf(stderr, "rampart: output of %s on %s: %s, ", id, row->device, row->status);
	if (row->res.signal)
		fprintf(stderr, "signal %d, ", (int)row->res.signal);
	else
		fprintf(stderr, "exit %d, ", (int)row->res.exit_code);
	fprintf(stderr, "%zu bytes%s, signed by the device\n", row->output_len,
		row->output_len >= RP_OUTPUT_KEEP ? " (the last ones: the agent keeps a tail)"
						  : "");
	fflush(stderr);
	if (safe || (!raw && isatty(STDOUT_FILENO)))
		put_safe(row->output, row->output_len);
	else
		fwrite(row->output, 1, row->output_len, stdout);
	r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	cli_rows_free(x, n);
	cli_view_release(&v);
	json_decref(j);
	rp_policy_free(p);
	return r;
}

/* Did a valid line of the note come from my key? */
static bool signed_by_me(const struct cli_view *v, const struct rp_vkey *me)
{
	for (size_t i = 0; i < v->cmd->note->nsigs; i++)
		if (v->sig[i].verdict != RP_SIG_BAD && v->sig[i].verdict != RP_SIG_IMPOSTOR &&
		    rp_note_sig_valid(v->cmd->note, i, me))
			return true;
	return false;
}

int cmd_pending(struct cli *c, int argc, char *argv[])
{
	struct rp_policy *p = NULL;
	char path[256], t[21];
	json_t *j = NULL, *v, *out = NULL, *props = NULL;
	int64_t now = rp_now();
	size_t i, shown = 0;
	int r = CLI_FAIL;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart pending\n\n"
		       "What awaits your signature: the commands (of the newest %d) that are\n"
		       "neither approved nor expired, whose role your key (--key) holds and that\n"
		       "it has not signed, with the approvals each still needs; then the pending\n"
		       "root policy proposals your key may still sign (a root key of version N\n"
		       "or N+1). All of it derived from the signed statements verified against\n"
		       "your trusted root policy. `rampart approve ID' (or approve --policy\n"
		       "HASH) reviews and signs one. --json: {\"commands\": [...], \"policy_\n"
		       "proposals\": [...]} (docs/cli.md).\n",
		       RP_COMMANDS_LIST_MAX);
		return CLI_OK;
	}
	if (argc > 1) {
		cli_err("pending: unexpected `%s' (see rampart pending --help)", argv[1]);
		return CLI_USAGE;
	}
	if (cli_need_server(c, true) < 0 || !(p = cli_policy(c)))
		return CLI_FAIL;
	snprintf(path, sizeof(path), "/v1/orgs/%s/commands?limit=%d", c->org, RP_COMMANDS_LIST_MAX);
	if (!(j = cli_get(c, path)) || !(out = json_array()))
		goto out;
	json_array_foreach (json_object_get(j, "commands"), i, v) {
		struct cli_view cv;
		char why[240];

		cli_view_init(&cv, p, c->org, NULL, cli_js(v, "statement"));
		cli_view_strict(c, p, &cv);
		cli_view_cancel(&cv, p, json_object_get(v, "cancel"));
		if (!cv.cmd || strcmp(cv.cmd->id, cli_js(v, "id")) != 0 || cli_view_approved(&cv) ||
		    cli_view_cancel_state(&cv) || now >= cv.cmd->expires ||
		    !cli_key_in_role(p, cv.role, &c->signer.s.vkey) ||
		    signed_by_me(&cv, &c->signer.s.vkey)) {
			cli_view_release(&cv);
			continue;
		}
		cli_view_awaiting(&cv, why, sizeof(why));
		rp_time_format(cv.cmd->expires, t);
		if (c->json) {
			json_t *o = cli_view_json(&cv, now);
			if (o) {
				json_object_set_new(o, "id", json_string(cv.cmd->id));
				json_object_set_new(o, "role", json_string(rp_role_name(cv.role)));
				json_object_set_new(o, "awaiting", json_string(why));
			}
			json_array_append_new(out, o);
		} else {
			if (!shown)
				printf("Commands awaiting your signature (%s):\n",
				       c->signer.s.vkey.name);
			printf("  %s  expires %s  ", cv.cmd->id, t);
			cli_put(stdout, why);
			if (cv.forged)
				printf("; %zu FORGED signature line%s", cv.forged,
				       cv.forged == 1 ? "" : "s");
			if (cv.cmd->comment[0]) {
				fputs("  ", stdout);
				cli_put(stdout, cv.cmd->comment);
			}
			putchar('\n');
		}
		shown++;
		cli_view_release(&cv);
	}
	props = cli_policy_pending(c, p, NULL);
	json_t *mine = json_array();
	json_array_foreach (props, i, v)
		if (json_is_true(json_object_get(v, "awaiting_me")))
			json_array_append(mine, v);
	if (c->json) {
		json_t *o = json_pack("{s:o, s:o}", "commands", out, "policy_proposals", mine);
		out = NULL;
		mine = NULL;
		if (o)
			cli_json(stdout, o);
		json_decref(o);
	} else {
		if (!shown)
			printf("No command awaits your signature (%s).\n", c->signer.s.vkey.name);
		json_array_foreach (mine, i, v)
			printf("Root policy version %lld %s awaits your signature: root quorum of "
			       "version N %lld of %lld, of its own %lld of %lld (rampart approve "
			       "--policy %s)\n",
			       (long long)json_integer_value(json_object_get(v, "version")),
			       cli_js(v, "hash"),
			       (long long)json_integer_value(
				       json_object_get(json_object_get(v, "old"), "have")),
			       (long long)json_integer_value(
				       json_object_get(json_object_get(v, "old"), "need")),
			       (long long)json_integer_value(
				       json_object_get(json_object_get(v, "new"), "have")),
			       (long long)json_integer_value(
				       json_object_get(json_object_get(v, "new"), "need")),
			       cli_js(v, "hash"));
	}
	json_decref(mine);
	r = CLI_OK;
out:
	json_decref(props);
	json_decref(out);
	json_decref(j);
	rp_policy_free(p);
	return r;
}

int cli_alerts_ack(struct cli *c, int argc, char *argv[])
{
	struct rp_diag d = {""};
	char path[256];
	json_t *b = NULL, *resp = NULL;
	uint64_t id = 0;
	bool all = false;
	int r = CLI_FAIL;

	if (cli_is_help(argc, argv)) {
		printf("Usage: rampart alerts ack ID|--all\n\n"
		       "Marks alert ID (the first column of `rampart alerts'), or every alert\n"
		       "not acknowledged yet, as acknowledged by you (the name of your --key,\n"
		       "which signs the request) now. The server records who and when and\n"
		       "shows it in `rampart alerts'; like the alerts themselves it is the\n"
		       "server's record, not a signed statement: each agent's alerts.log stays\n"
		       "the evidence. An alert acknowledged before keeps its first\n"
		       "acknowledgement.\n");
		return CLI_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--all"))
		all = true;
	else if (argc != 2 || rp_parse_u64(argv[1], strlen(argv[1]), INT64_MAX, &id) != 0 ||
		 id == 0) {
		cli_err("alerts ack: expected an alert ID (a number, see `rampart alerts') or --all");
		return CLI_USAGE;
	}
	if (cli_need_server(c, true) < 0)
		return CLI_FAIL;
	b = all ? json_pack("{s:b}", "all", 1) : json_pack("{s:I}", "id", (json_int_t)id);
	snprintf(path, sizeof(path), "/v1/orgs/%s/alerts/ack", c->org);
	if (!b || rp_api_call(&c->api, "POST", path, b, &resp, NULL, &d) < 0) {
		cli_err("alerts ack: %s", d.msg[0] ? d.msg : "out of memory");
		goto out;
	}
	if (c->json) {
		cli_json(stdout, resp);
	} else {
		printf("%lld alert%s acknowledged by ",
		       (long long)json_integer_value(json_object_get(resp, "acknowledged")),
		       json_integer_value(json_object_get(resp, "acknowledged")) == 1 ? "" : "s");
		cli_put(stdout, cli_js(resp, "by"));
		printf(" (the server says)\n");
	}
	r = CLI_OK;
out:
	json_decref(b);
	json_decref(resp);
	return r;
}
