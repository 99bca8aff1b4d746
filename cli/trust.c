/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the CLI shows as true it verified first (DESIGN.md section 4a),
 * against the org's trusted root policy, never the server's copy:
 *  - a statement's signatures, line by line (rp_policy_classify): only
 *    valid lines by keys of the role count, and a line that does not
 *    verify is shown as an attack;
 *  - a command's state, from those signatures and the statement's signed
 *    window, never from the server's state, signatures or threshold;
 *  - a result, from the device-signed result note: the device key must
 *    hash to the device id, the device must be a target of the signed
 *    statement, the note must name this org and command, and the output
 *    must match its signed hash; otherwise it is UNVERIFIED and what the
 *    server says is shown only as the server's word;
 *  - a device's hostname and OS, from the facts note its key signed at
 *    enrolment, else marked as the server's word; a hostname signed by
 *    more than one device key is marked as conflicting (cli_hosts), as a
 *    signed hostname is only what that device claims to be.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "devkey.h"
#include "facts.h"
#include "result.h"
#include "rp_err.h"

struct rp_policy *cli_policy(struct cli *c)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	char path[600], *buf = NULL;
	size_t len;
	int r;

	if (cli_trusted_policy_path(c, c->org, path, sizeof(path)) < 0 ||
	    (r = rp_read_file(path, RP_NOTE_MAX, &buf, &len)) < 0) {
		cli_err("no trusted root policy of org %s at %s: everything the server says is "
			"checked against it (`rampart policy trust FILE' installs it)",
			c->org, path);
		return NULL;
	}
	if (rp_policy_parse(buf, len, &p, &d) < 0 ||
	    rp_quorum_check(p, RP_ROLE_ROOT, p->note, NULL, &d) < 0) {
		cli_err("trusted root policy %s: %s", path, d.msg);
		goto fail;
	}
	if (strcmp(p->org, c->org) != 0) {
		cli_err("trusted root policy %s is for org %s, not %s", path, p->org, c->org);
		goto fail;
	}
	/* With a server to ask, follow its published versions first (rotate.c), once a run. */
	if (!c->policy_checked) {
		/* the server's key may be one only the policy names; then its successor's */
		cli_policy_pins(c, p);
		if (c->api.http.url.base[0] && cli_policy_follow(c, &p, path) < 0)
			goto fail;
		cli_policy_pins(c, p);
		cli_policy_warn_expiry(p);
		c->policy_checked = c->api.http.url.base[0] != '\0';
	}
	free(buf);
	return p;
fail:
	rp_policy_free(p);
	free(buf);
	return NULL;
}

void cli_view_init(struct cli_view *v, const struct rp_policy *p, const char *org, const char *id,
		   const char *statement)
{
	struct rp_command *c = NULL;
	struct rp_diag d = {""};

	memset(v, 0, sizeof(*v));
	if (!statement || rp_command_parse(statement, strlen(statement), &c, &d) < 0) {
		snprintf(v->problem, sizeof(v->problem), "the server's statement %s",
			 statement ? d.msg : "is missing");
		return;
	}
	if (strcmp(c->org, org) != 0 || (id && strcmp(c->id, id) != 0)) {
		snprintf(v->problem, sizeof(v->problem),
			 "SECURITY: the server returned statement %s of org %s for %s", c->id,
			 c->org, id ? id : "this command");
		rp_command_free(c);
		return;
	}
	v->role = rp_command_role(c);
	v->threshold = p->roles[v->role].threshold;
	if (rp_policy_classify(p, v->role, c->note, v->sig, &v->count) < 0) {
		snprintf(v->problem, sizeof(v->problem), "its signatures cannot be classified");
		rp_command_free(c);
		return;
	}
	for (size_t i = 0; i < c->note->nsigs; i++) {
		v->forged +=
			v->sig[i].verdict == RP_SIG_BAD || v->sig[i].verdict == RP_SIG_IMPOSTOR;
		v->unknown += v->sig[i].verdict == RP_SIG_UNKNOWN;
	}
	v->cmd = c;
}

void cli_view_release(struct cli_view *v)
{
	rp_command_free(v->cmd);
	v->cmd = NULL;
}

int cli_view_payload(const struct cli_view *v, json_t *j, uint8_t **ret, size_t *ret_len)
{
	const char *pb = cli_js(j, "payload");
	size_t n = strlen(pb), len = 0;
	uint8_t *p = malloc(n / 4 * 3 + 1), h[32];

	*ret = NULL;
	*ret_len = 0;
	if (!p)
		return RP_E_NOMEM;
	if (n && rp_b64_decode(pb, n, p, n / 4 * 3 + 1, &len) < 0) {
		free(p);
		return RP_E_MALFORMED;
	}
	rp_sha256(p, len, h);
	if (len != v->cmd->payload_size || sodium_memcmp(h, v->cmd->payload_hash, 32) != 0) {
		free(p);
		return RP_E_PAYLOAD;
	}
	*ret = p;
	*ret_len = len;
	return 0;
}

bool cli_view_approved(const struct cli_view *v)
{
	return v->cmd && v->count >= v->threshold;
}

const char *cli_view_state(const struct cli_view *v, int64_t now)
{
	if (!v->cmd)
		return "UNVERIFIED";
	if (cli_view_cancel_state(v))
		return cli_view_cancel_state(v);
	if (!cli_view_approved(v))
		return now >= v->cmd->expires ? "expired"
		       : v->count == 0        ? "unsigned"
					      : "pending-approval";
	if (now < v->cmd->not_before)
		return "scheduled";
	return now >= v->cmd->expires ? "ended" : "approved";
}

void cli_view_signatures(FILE *f, const struct rp_policy *p, const struct cli_view *v)
{
	const char *role = rp_role_name(v->role);

	for (size_t i = 0; v->cmd && i < v->cmd->note->nsigs; i++) {
		const struct rp_note_sig *s = &v->cmd->note->sigs[i];
		const struct rp_sig_check *k = &v->sig[i];

		/* Names are printable ASCII without spaces (rp_key_name_valid); cli_put anyway. */
		switch (k->verdict) {
		case RP_SIG_ROLE:
			fputs(k->first ? "  signed by " : "  again by ", f);
			cli_put(f, s->name);
			fprintf(f, k->first ? " (valid, %s key)\n" : " (valid, counted once)\n",
				role);
			break;
		case RP_SIG_OTHER:
			fputs("  signed by ", f);
			cli_put(f, s->name);
			fprintf(f, " (valid, but not a key of role %s: not counted)\n", role);
			break;
		case RP_SIG_BAD:
			fputs("  FORGED signature line claiming ", f);
			cli_put(f, s->name);
			fputs(" (bad signature): NOT counted\n", f);
			break;
		case RP_SIG_IMPOSTOR:
			fputs("  FORGED signature line claiming ", f);
			cli_put(f, s->name);
			fprintf(f, " (key id %08x is not its key %08x): NOT counted\n", s->id,
				p->keys[k->key].id);
			break;
		case RP_SIG_UNKNOWN:
			fputs("  signature by ", f);
			cli_put(f, s->name);
			fprintf(f, "+%08x, a key not in the root policy: not counted\n", s->id);
			break;
		}
	}
}

json_t *cli_view_json(const struct cli_view *v, int64_t now)
{
	json_t *j = json_object(), *signers = json_array(), *forged = json_array();
	char nb[21], ex[21];

	if (!j || !signers || !forged)
		goto fail;
	json_object_set_new(j, "verified", json_boolean(v->cmd != NULL));
	json_object_set_new(j, "state", json_string(cli_view_state(v, now)));
	if (!v->cmd) {
		json_object_set_new(j, "problem", json_string(v->problem));
		json_decref(signers);
		json_decref(forged);
		return j;
	}
	for (size_t i = 0; i < v->cmd->note->nsigs; i++) {
		const struct rp_sig_check *k = &v->sig[i];
		if (k->verdict == RP_SIG_ROLE && k->first)
			json_array_append_new(signers, json_string(v->cmd->note->sigs[i].name));
		if (k->verdict == RP_SIG_BAD || k->verdict == RP_SIG_IMPOSTOR)
			json_array_append_new(forged, json_pack("{s:s, s:s}", "claims",
								v->cmd->note->sigs[i].name, "why",
								rp_sig_verdict_name(k->verdict)));
	}
	rp_time_format(v->cmd->not_before, nb);
	rp_time_format(v->cmd->expires, ex);
	json_object_set_new(j, "approved", json_boolean(cli_view_approved(v)));
	json_object_set_new(j, "signatures", json_integer((json_int_t)v->count));
	json_object_set_new(j, "threshold", json_integer((json_int_t)v->threshold));
	json_object_set_new(j, "signers", signers);
	json_object_set_new(j, "forged", forged);
	json_object_set_new(j, "unknown_keys", json_integer((json_int_t)v->unknown));
	json_object_set_new(j, "not_before", json_string(nb));
	json_object_set_new(j, "expires", json_string(ex));
	json_object_set_new(j, "targets", json_integer((json_int_t)v->cmd->ntargets));
	json_object_set_new(j, "comment", json_string(v->cmd->comment));
	if (cli_view_cancel_state(v)) {
		char t[21];
		rp_time_format(v->cancel_time, t);
		json_object_set_new(j, "cancel",
				    json_pack("{s:s, s:s, s:s, s:s}", "state",
					      cli_view_cancel_state(v), "by", v->cancel_by,
					      "reason", v->cancel_reason, "time", t));
	} else if (v->cancel_problem[0]) {
		json_object_set_new(j, "cancel_problem", json_string(v->cancel_problem));
	}
	return j;
fail:
	json_decref(j);
	json_decref(signers);
	json_decref(forged);
	return NULL;
}

/* The device's key from the server, if it hashes to the device id. */
static bool device_key(json_t *b64, const char *id, uint8_t pub[32])
{
	const char *s = json_string_value(b64);
	char got[RP_ID_HEX + 1];
	size_t n;

	if (!s || rp_b64_decode(s, strlen(s), pub, 32, &n) < 0 || n != 32)
		return false;
	rp_device_id(pub, got);
	return strcmp(got, id) == 0;
}

/*
 * The device's keys from its first key (which must hash to id) and the
 * server's list of bindings, each verified (lib/devkey.h): the current one
 * in cur, how many in *ret_n, the first in first; and when ret is not
 * NULL (room for json_array_size(keys) + 1) every one, oldest first, with
 * since[i] when key i became current. 0, or < 0 with problem set.
 */
static int device_keys(const char *org, const char *id, json_t *pubkey, json_t *keys,
		       uint8_t first[32], uint8_t cur[32], uint8_t (*ret)[32], int64_t *since,
		       size_t *ret_n, char *problem, size_t plen)
{
	const char *v[RP_DEVKEY_CHAIN_MAX];
	size_t lens[RP_DEVKEY_CHAIN_MAX], n = 0, i;
	struct rp_diag d = {""};
	json_t *b;

	if (!device_key(pubkey, id, first)) {
		snprintf(problem, plen, "the server's key for this device does not hash to its id");
		return RP_E_KEY;
	}
	if (keys && !json_is_array(keys)) {
		snprintf(problem, plen, "the server's key bindings are not a list");
		return RP_E_MALFORMED;
	}
	if (json_array_size(keys) > RP_DEVKEY_CHAIN_MAX) {
		snprintf(problem, plen, "the server lists %zu key bindings, more than %d",
			 json_array_size(keys), RP_DEVKEY_CHAIN_MAX);
		return RP_E_TOOBIG;
	}
	json_array_foreach (keys, i, b) {
		if (!(v[n] = json_string_value(b))) {
			snprintf(problem, plen, "key binding %zu is not a string", i + 1);
			return RP_E_MALFORMED;
		}
		lens[n] = strlen(v[n]);
		n++;
	}
	if (rp_devkey_chain(org, id, first, v, lens, n, cur, ret, since, &d) < 0) {
		snprintf(problem, plen, "its key bindings do not verify: %s", d.msg);
		return RP_E_KEY;
	}
	*ret_n = n + 1;
	return 0;
}

/* cli_facts_check, and the device's keys as device_keys gives them. */
static void facts_check(const char *org, const char *id, json_t *pubkey, json_t *keys,
			json_t *facts, struct cli_facts *ret, uint8_t (*ret_keys)[32],
			int64_t *since)
{
	struct rp_diag d = {""};
	struct rp_facts f;
	uint8_t first[32];
	const char *note = json_string_value(facts);

	memset(ret, 0, sizeof(*ret));
	ret->key_ok = device_keys(org, id, pubkey, keys, first, ret->cur, ret_keys, since,
				  &ret->nkeys, ret->problem, sizeof(ret->problem)) == 0;
	if (!ret->key_ok)
		return;
	/* signed at enrolment by the first key, or later by the current one */
	if (!note)
		snprintf(ret->problem, sizeof(ret->problem), "no facts signed by the device");
	else if (rp_facts_verify(note, strlen(note), first, &f, &d) < 0 &&
		 /* or kept current since (agent/facts.c), by the key it holds now */
		 (memcmp(ret->cur, first, 32) == 0 ||
		  rp_facts_verify_as(note, strlen(note), ret->cur, id, &f, &d) < 0))
		snprintf(ret->problem, sizeof(ret->problem), "facts: %s", d.msg);
	else if (strcmp(f.org, org) != 0)
		snprintf(ret->problem, sizeof(ret->problem), "facts are for org %s", f.org);
	else {
		ret->verified = true;
		ret->facts = f;
	}
}

void cli_facts_check(const char *org, const char *id, json_t *pubkey, json_t *keys, json_t *facts,
		     struct cli_facts *ret)
{
	facts_check(org, id, pubkey, keys, facts, ret, NULL, NULL);
}

void cli_hosts_init(struct cli_hosts *h, const char *org, json_t *devices)
{
	json_t *v;
	size_t i;

	memset(h, 0, sizeof(*h));
	if (!json_array_size(devices) || !(h->v = calloc(json_array_size(devices), sizeof(*h->v))))
		return;
	json_array_foreach (devices, i, v) {
		struct cli_facts f;
		const char *id = json_string_value(json_object_get(v, "id"));

		if (!id)
			continue;
		cli_facts_check(org, id, json_object_get(v, "pubkey"), json_object_get(v, "keys"),
				json_object_get(v, "facts"), &f);
		if (!f.verified)
			continue;
		/* The facts name the device (rp_facts_verify), so the id is the key's. */
		snprintf(h->v[h->n].id, sizeof(h->v[h->n].id), "%s", f.facts.device);
		snprintf(h->v[h->n].host, sizeof(h->v[h->n].host), "%s", f.facts.hostname);
		h->n++;
	}
}

void cli_hosts_release(struct cli_hosts *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

/* Equal as DNS names: ASCII case-insensitive, a trailing dot aside. */
static bool same_host(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na && a[na - 1] == '.')
		na--;
	if (nb && b[nb - 1] == '.')
		nb--;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

size_t cli_hosts_others(const struct cli_hosts *h, const char *id, const char *host,
			const char **ret_ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (!strcmp(h->v[i].id, id) || !same_host(h->v[i].host, host))
			continue;
		/* The same key listed twice is one claim. */
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = !strcmp(h->v[k].id, h->v[i].id) && same_host(h->v[k].host, host);
		if (dup)
			continue;
		if (ret_ids && n < max)
			ret_ids[n] = h->v[i].id;
		n++;
	}
	return n;
}

/*
 * The server's statuses that claim no result: waiting, or handed over
 * ('delivered') or started ('running') with the result still to come.
 */
static bool server_final(const char *status)
{
	return strcmp(status, "pending") && strcmp(status, "scheduled") &&
	       strcmp(status, "delivered") && strcmp(status, "running") &&
	       strcmp(status, "expired");
}

/*
 * For a target without a verified result: what the signed window says.
 * Past expires, a delivery the server says it handed over or the device
 * started stays pending: agents refuse from expires on, and the server
 * offers nothing after it, so one handed over was handed over in time and
 * may be running to its end; called expired, its result would then turn
 * up and an administrator who re-submitted would get it twice. A server
 * that lies here only keeps it pending (a delay).
 */
static const char *waiting(const struct rp_command *c, const char *sstatus, int64_t now)
{
	bool handed = sstatus && (!strcmp(sstatus, "delivered") || !strcmp(sstatus, "running"));

	if (now >= c->expires && !handed)
		return "expired";
	return now < c->not_before ? "scheduled" : "pending";
}

/* The server's row for device, or NULL. */
static json_t *row_of(json_t *rows, const char *device)
{
	json_t *r;
	size_t i;

	json_array_foreach (rows, i, r) {
		const char *d = json_string_value(json_object_get(r, "device"));
		if (d && !strcmp(d, device))
			return r;
	}
	return NULL;
}

/* row_check, with room for every key the device had (NULL: it never re-keyed). */
static void row_judge(const char *org, const struct cli_view *v, struct cli_row *x, int64_t now,
		      uint8_t (*keys)[32], int64_t *since)
{
	json_t *row = x->row;
	const char *sstatus = row ? json_string_value(json_object_get(row, "status")) : NULL;
	const char *note = row ? json_string_value(json_object_get(row, "note")) : NULL;
	const char *o64 = row ? json_string_value(json_object_get(row, "output")) : NULL;
	struct rp_diag d = {""};
	uint8_t h[32] = {0};
	size_t n, k = 0;

	x->status = "UNVERIFIED";
	facts_check(org, x->device, row ? json_object_get(row, "pubkey") : NULL,
		    row ? json_object_get(row, "keys") : NULL,
		    row ? json_object_get(row, "facts") : NULL, &x->facts, keys, since);
	if (!v->cmd) {
		snprintf(x->problem, sizeof(x->problem), "the statement is not verified");
		return;
	}
	if (!x->target) {
		snprintf(x->problem, sizeof(x->problem), "not a target of the signed statement");
		return;
	}
	if (!note) {
		if (cli_view_cancel_state(v))
			x->status = cli_view_cancel_state(v); /* the signed cancel, verified */
		else if (sstatus && server_final(sstatus))
			snprintf(x->problem, sizeof(x->problem), "no signed result");
		else
			x->status = waiting(v->cmd, sstatus, now);
		return;
	}
	if (!x->facts.key_ok) {
		snprintf(x->problem, sizeof(x->problem), "%s", x->facts.problem);
		return;
	}
	if (x->facts.nkeys > 1 && !keys) {
		snprintf(x->problem, sizeof(x->problem), "out of memory");
		return;
	}
	/* By its current key, or by one it had when the command could start. */
	if (rp_devkey_result_verify(note, strlen(note), x->device,
				    keys ? (const uint8_t(*)[32])keys : &x->facts.cur,
				    x->facts.nkeys, &x->res, &k, &d) < 0) {
		snprintf(x->problem, sizeof(x->problem), "result does not verify: %s", d.msg);
		return;
	}
	if (!rp_devkey_may_sign(since, x->facts.nkeys, k, v->cmd->not_before)) {
		snprintf(x->problem, sizeof(x->problem),
			 "signed by the device's key %zu, retired before this command could start",
			 k + 1);
		return;
	}
	x->key_no = k + 1;
	if (strcmp(x->res.org, org) != 0 || strcmp(x->res.command, v->cmd->id) != 0) {
		snprintf(x->problem, sizeof(x->problem), "signed result is of command %s in org %s",
			 x->res.command, x->res.org);
		return;
	}
	n = o64 ? strlen(o64) : 0;
	x->output = malloc(n / 4 * 3 + 1);
	if (!x->output ||
	    (n && rp_b64_decode(o64, n, x->output, n / 4 * 3 + 1, &x->output_len) < 0))
		x->output_len = SIZE_MAX;
	if (x->output_len != SIZE_MAX)
		rp_sha256(x->output, x->output_len, h);
	if (x->output_len != x->res.output_size || sodium_memcmp(h, x->res.output_hash, 32) != 0) {
		snprintf(x->problem, sizeof(x->problem), "output does not match the signed hash");
		free(x->output);
		x->output = NULL;
		x->output_len = 0;
		return;
	}
	x->verified = true;
	x->status = rp_result_status_name(x->res.status);
}

static void row_check(const char *org, const struct cli_view *v, struct cli_row *x, int64_t now)
{
	size_t nb = json_array_size(x->row ? json_object_get(x->row, "keys") : NULL) + 1;
	/* every key it had, for results signed before it re-keyed */
	uint8_t(*keys)[32] = nb > 1 && nb <= RP_DEVKEY_CHAIN_MAX + 1 ? calloc(nb, 32) : NULL;
	int64_t *since = keys ? calloc(nb, sizeof(*since)) : NULL;

	row_judge(org, v, x, now, since ? keys : NULL, since);
	free(keys);
	free(since);
}

int cli_rows(const char *org, const struct cli_view *v, json_t *rows, int64_t now,
	     struct cli_row **ret, size_t *ret_n)
{
	size_t ntargets = v->cmd ? v->cmd->ntargets : 0, n = 0, i;
	struct cli_row *x = calloc(ntargets + json_array_size(rows) + 1, sizeof(*x));
	json_t *r;

	if (!x)
		return RP_E_NOMEM;
	/* Every device id target of the signed statement, whatever rows the server lists. */
	for (i = 0; i < ntargets; i++) {
		if (!rp_id_valid(v->cmd->targets[i], strlen(v->cmd->targets[i])))
			continue;
		memcpy(x[n].device, v->cmd->targets[i], RP_ID_HEX + 1);
		x[n].target = true;
		x[n].row = row_of(rows, x[n].device);
		row_check(org, v, &x[n], now);
		n++;
	}
	/*
	 * Then the server's rows for anything else. A statement for every
	 * device, a device group or a tag reaches devices the statement does
	 * not list: their rows count as targets, verified by the result each
	 * device signed (a device reports only what it verified reaches it);
	 * any other row is never verified.
	 */
	json_array_foreach (rows, i, r) {
		const char *d = json_string_value(json_object_get(r, "device"));
		bool listed = false;
		for (size_t k = 0; d && v->cmd && k < ntargets; k++)
			listed = listed || !strcmp(v->cmd->targets[k], d);
		if (!d || listed)
			continue;
		snprintf(x[n].device, sizeof(x[n].device), "%.32s", d);
		x[n].row = r;
		x[n].target = v->cmd && (v->cmd->all_devices || v->cmd->by_directory);
		row_check(org, v, &x[n], now);
		n++;
	}
	*ret = x;
	*ret_n = n;
	return 0;
}

void cli_rows_free(struct cli_row *x, size_t n)
{
	for (size_t i = 0; x && i < n; i++)
		free(x[i].output);
	free(x);
}

bool cli_row_waiting(const struct cli_row *x)
{
	return !x->verified && (!strcmp(x->status, "pending") || !strcmp(x->status, "scheduled"));
}
