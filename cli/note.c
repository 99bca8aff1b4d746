/* SPDX-License-Identifier: Apache-2.0 */
/* rampart note sign|verify: signed notes on stdin, for scripts and audits. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

static int read_stdin(char **ret, size_t *ret_len)
{
	struct rp_sb sb;
	char buf[4096];
	ssize_t n;

	rp_sb_init(&sb, RP_NOTE_MAX);
	while ((n = read(0, buf, sizeof(buf))) > 0)
		rp_sb_put(&sb, buf, (size_t)n);
	if (sb.err) {
		cli_err("note: input is larger than %d bytes", RP_NOTE_MAX);
		rp_sb_release(&sb);
		return RP_E_TOOBIG;
	}
	*ret = rp_sb_take(&sb, ret_len);
	return *ret ? 0 : RP_E_NOMEM;
}

static int note_sign(struct cli *c, int argc, char *argv[])
{
	const char *keypath = c->key_path[0] ? c->key_path : NULL;
	struct rp_note *existing = NULL;
	struct cli_signer k = {0};
	struct rp_diag d = {""};
	char *in = NULL, *out = NULL;
	size_t len, olen;
	int ch, r = 1;

	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{0},
	};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		if (ch != 'k')
			return 2;
		keypath = optarg;
	}
	if (!keypath) {
		cli_err("note sign: --key FILE (or --key ssh-agent:VKEY) is required");
		return 2;
	}
	if (read_stdin(&in, &len) < 0)
		return 1;
	/* Already a note: add a signature. Otherwise sign the text. */
	if (rp_note_parse(in, len, &existing, NULL) < 0)
		existing = NULL;
	if (!existing && !rp_note_text_valid(in, len, &d)) {
		cli_err("note sign: %s", d.msg);
		goto out;
	}
	if (cli_signer_open(c, keypath, &k) < 0)
		goto out;
	if (rp_note_sign_by(existing ? existing->msg : in, existing ? existing->text_len : len,
			    existing, &k.s, &out, &olen, &d) < 0) {
		cli_err("note sign: not signed: %s", d.msg);
		goto out;
	}
	fwrite(out, 1, olen, stdout);
	r = 0;
out:
	cli_signer_close(&k);
	rp_note_free(existing);
	free(in);
	free(out);
	return r;
}

static int note_verify(const struct cli *c, int argc, char *argv[])
{
	struct rp_vkey keys[RP_NOTE_SIGS_MAX];
	bool ok[RP_NOTE_SIGS_MAX];
	struct rp_note *note = NULL;
	struct rp_diag d = {""};
	size_t nkeys = 0, len;
	char *in = NULL;
	int r = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--vkey") != 0 || i + 1 >= argc) {
			cli_err("note verify: expected --vkey VKEY... (see rampart note --help)");
			return 2;
		}
		const char *v = argv[++i];
		if (nkeys == RP_NOTE_SIGS_MAX)
			return 2;
		if (cli_read_vkey(v, &keys[nkeys], &d) < 0) {
			cli_err("note verify: key `%s': %s", v, d.msg);
			return 2;
		}
		nkeys++;
	}
	if (nkeys == 0) {
		cli_err("note verify: at least one --vkey is required");
		return 2;
	}
	if (read_stdin(&in, &len) < 0)
		return 1;
	if (rp_note_parse(in, len, &note, &d) < 0 ||
	    rp_note_verify(note, keys, nkeys, ok, &d) < 0) {
		cli_err("note verify: %s", d.msg);
		goto out;
	}
	if (c->json) {
		/* {"verified": ["name+hexid", ...]}: the keys given whose signature verified */
		json_t *a = json_array(), *o;
		for (size_t i = 0; a && i < nkeys; i++)
			if (ok[i])
				json_array_append_new(
					a, json_sprintf("%s+%08x", keys[i].name, keys[i].id));
		if ((o = json_pack("{s:o}", "verified", a)))
			cli_json(stdout, o);
		json_decref(o);
	} else {
		for (size_t i = 0; i < nkeys; i++)
			if (ok[i])
				printf("verified by %s+%08x\n", keys[i].name, keys[i].id);
	}
	r = 0;
out:
	rp_note_free(note);
	free(in);
	return r;
}

int cmd_note(struct cli *c, int argc, char *argv[])
{
	if (cli_is_help(argc, argv) || argc < 2) {
		printf("Usage: rampart note sign --key FILE|ssh-agent:VKEY < text-or-note > note\n"
		       "       rampart note verify --vkey VKEY [--vkey VKEY...] < note\n\n"
		       "C2SP signed notes (Go sumdb/note compatible). `sign' adds a signature\n"
		       "to a note, or signs plain text. `verify' prints each key that verified\n"
		       "and exits 1 if a known key's signature is bad or none verified;\n"
		       "with --json it prints {\"verified\": [\"NAME+HEXID\", ...]}.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "sign"))
		return note_sign(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return note_verify(c, argc - 1, argv + 1);
	cli_err("note: expected sign or verify");
	return 2;
}
