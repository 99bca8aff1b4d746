/* SPDX-License-Identifier: Apache-2.0 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drift.h"
#include "exec.h"
#include "privsep.h"
#include "upgrade.h"
#include "json.h"
#include "rp_err.h"
#include "sdnotify.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * One request through the network process: a deadline of its own, cut so
 * that it ends before the freeze alarm is due (a server that trickles or
 * stalls must not make the alarm late), and the body caps of the answer
 * it expects.
 */
static struct agent_call call_for(const struct agent *a, const char *method, const char *path,
				  long ms, size_t max_body, size_t values, enum agent_ans_kind kind)
{
	struct agent_call c = {.method = method,
			       .path = path,
			       .max_body = max_body,
			       .values_max = values,
			       .kind = kind};

	if (a->freeze_due > 0) {
		/* 2 s of grace: a poll held until just before the alarm still gets its answer. */
		int64_t left = a->freeze_due - rp_now();
		left = (left > 0 ? left : 0) * 1000 + 2000;
		if (left < ms)
			ms = (long)left;
	}
	c.timeout_ms = ms;
	return c;
}

int agent_post_json(struct agent *a, const char *path, json_t *body, int *ret_status,
		    struct rp_diag *d)
{
	struct agent_call c =
		call_for(a, "POST", path, RP_AGENT_REQUEST_S * 1000L, RP_AGENT_ANSWER_MAX,
			 RP_AGENT_ANSWER_VALUES_MAX, AGENT_ANS_STATUS);
	struct agent_answer ans;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int r;

	if (!text) {
		rp_diagf(d, "out of memory");
		return RP_E_NOMEM;
	}
	c.body = text;
	c.body_len = strlen(text);
	r = agent_net_call(a, &c, &ans, d);
	if (ret_status)
		*ret_status = ans.status;
	agent_answer_release(&ans);
	free(text);
	return r;
}

static const struct rp_policy *policy_at(const void *arg, uint64_t index)
{
	return agent_policy_at(arg, index);
}

static const struct rp_dir_device *device_at(const void *arg, uint64_t index)
{
	return agent_dir_device_at((struct agent *)arg, index);
}

static struct rp_verify_ctx check_ctx(struct agent *a, bool store, int64_t *ret_proved)
{
	struct rp_verify_ctx ctx = {
		.policy = a->policy,
		.log_policy = agent_log_policy(a),
		.log_end = agent_log_end(a),
		.device_id = a->conf.device,
		.now = rp_now(),
		.skew = RP_CLOCK_SKEW_S,
		.seen = agent_seen,
		.seen_arg = a,
		.log = &a->log,
		.store = store ? agent_log_store : NULL,
		.store_arg = a,
		.ret_proved = ret_proved,
		.dir = &a->dirst.dir,
	};
	/* Online, a statement is judged only once the walk passed it, by the
	 * policy in force at its entry; offline (verify) by the newest. */
	if (store) {
		ctx.scanned = a->scan.f.size;
		ctx.policy_at = policy_at;
		ctx.policy_at_arg = a;
		/* groups and tags as they were at the entry, not as a later change made them */
		ctx.device_at = device_at;
		ctx.device_at_arg = a;
	}
	return ctx;
}

int agent_check(struct agent *a, const struct rp_delivery *dl, bool store,
		struct rp_command **ret_cmd, char ret_id[RP_ID_HEX + 1], int64_t *ret_proved,
		struct rp_diag *d)
{
	struct rp_verify_ctx ctx = check_ctx(a, store, ret_proved);

	return rp_verify_delivery(&ctx, dl, ret_cmd, ret_id, d);
}

static const char *alert_code(int r)
{
	switch (r) {
	case RP_E_ORG: return "wrong-org";
	case RP_E_QUORUM: return "no-quorum";
	case RP_E_BADSIG: return "bad-signature";
	case RP_E_NOSIG: return "no-signature";
	case RP_E_EXPIRED: return "expired";
	case RP_E_NOTYET: return "not-yet-valid";
	case RP_E_TARGET: return "not-a-target";
	case RP_E_REPLAY: return "replay";
	case RP_E_PAYLOAD: return "payload-mismatch";
	case RP_E_KIND: return "unknown-kind";
	case RP_E_LOG: return "not-in-log";
	case RP_E_PROOF: return "log-proof";
	case RP_E_ROLLBACK: return "log-rollback";
	case RP_E_FORK: return "log-fork";
	case RP_E_WITNESS: return "witness-quorum";
	case RP_E_STALE: return "stale-checkpoint";
	case RP_E_POLICY_EXPIRED: return "policy-expired";
	case RP_E_UNSCANNED: return "log-walk";
	default: return "malformed";
	}
}

/*
 * The alert code of a refused delivery or checkpoint. A checkpoint refused
 * for its signatures or its form (check 1, before any entry was proved:
 * proved < 0) is `bad-checkpoint', a code about the log: under a
 * statement's codes (bad-signature, malformed) it would be filed with the
 * junk a breached server makes at will, in alerts.log only, where a flood
 * of junk rotates it away (docs/threat-model.md, rows 78 and 111).
 */
static const char *refusal_code(int r, int64_t proved)
{
	if (proved < 0 &&
	    (r == RP_E_BADSIG || r == RP_E_NOSIG || r == RP_E_MALFORMED || r == RP_E_TOOBIG))
		return "bad-checkpoint";
	return alert_code(r);
}

static void report_notes(struct agent *a, const struct agent_alert_note *notes, size_t n)
{
	for (size_t i = 0; i < n && !a->net_broken; i++) {
		struct rp_diag d = {""};
		json_t *b = json_pack("{s:s, s:s, s:s}", "command", notes[i].id, "code",
				      notes[i].code, "reason", notes[i].reason);
		if (b && agent_post_json(a, "/v1/agent/alert", b, NULL, &d) < 0)
			agent_logf("could not report the alert to the server: %s", d.msg);
		json_decref(b);
	}
}

/*
 * A security alert, rate-limited (agent_alert): the same code for the same
 * statement is logged and reported once per window, the rest counted.
 */
static void send_alert(struct agent *a, const char *id, const char *code, const char *reason)
{
	struct agent_alert_note notes[2];

	report_notes(a, notes, agent_alert(a, rp_now(), id, code, reason, notes));
}

/* Windows that closed with alerts suppressed: their counts, logged and reported. */
static void flush_alerts(struct agent *a)
{
	struct agent_alert_note notes[4];
	size_t n;

	while ((n = agent_alert_flush(a, rp_now(), notes, 4)) > 0)
		report_notes(a, notes, n);
}

/*
 * The root policy's expiry, each cycle: past it an alert (rate-limited like
 * every alert, so a log line per window), before it a warning from 30 days
 * out, daily, and hourly in the last 7 (RP_POLICY_WARN_S, RP_POLICY_URGENT_S).
 * The refusal itself is rp_verify_delivery's, for every delivery.
 */
static void check_policy(struct agent *a)
{
	struct rp_diag d = {""};
	int64_t now = rp_now();
	int r = rp_verify_policy_expiry(a->policy, now, &d);

	if (r < 0) {
		send_alert(a, "", "policy-expired", d.msg);
	} else if (r > 0 && now - a->policy_warned >= (r == RP_POLICY_URGENT ? 3600 : 86400)) {
		agent_logf("WARNING: %s", d.msg);
		send_alert(a, "", "policy-expiring", d.msg);
		a->policy_warned = now;
	}
}

/* Spooled results survive crashes: written before they are sent. */
static int spool_path(const struct agent *a, const char *id, char *out, size_t n)
{
	int k = snprintf(out, n, "%s/spool/%s.json", a->dir, id);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : 0;
}

static int spool_send(struct agent *a, const char *id)
{
	char path[700], *buf = NULL;
	size_t len;
	json_t *j;
	struct rp_diag d = {""};
	int r, status = 0;

	spool_path(a, id, path, sizeof(path));
	if ((r = rp_read_file_flags(path, RP_SPOOL_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL)) < 0)
		return r;
	/* Our own file, but read like any JSON: three strings in one object. */
	r = rp_json_load(buf, len, RP_JSON_DEPTH_MAX, RP_AGENT_ANSWER_VALUES_MAX, &j, NULL);
	free(buf);
	if (r < 0) {
		agent_logf("spooled result %s is unreadable; dropping it", path);
		unlink(path);
		return RP_E_MALFORMED;
	}
	r = agent_post_json(a, "/v1/agent/result", j, &status, &d);
	json_decref(j);
	/* 409: the server already holds a final result for it. */
	if (r >= 0 || status == 409) {
		if ((r = agent_mark_set(a, id, MARK_REPORTED)) < 0)
			return r;
		unlink(path);
		return 0;
	}
	agent_logf("reporting result of %s: %s (kept for retry)", id, d.msg);
	return r;
}

static int spool_flush(struct agent *a)
{
	char path[600];
	DIR *dir;
	struct dirent *e;
	int r = 0;

	snprintf(path, sizeof(path), "%s/spool", a->dir);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		if (n != RP_ID_HEX + 5 || strcmp(e->d_name + RP_ID_HEX, ".json") != 0)
			continue;
		char id[RP_ID_HEX + 1];
		memcpy(id, e->d_name, RP_ID_HEX);
		id[RP_ID_HEX] = '\0';
		if (spool_send(a, id) < 0)
			r = RP_E_NET;
		if (a->net_broken)
			break;
	}
	closedir(dir);
	return r;
}

/* The device-signed result of statement id, spooled (kept until the server has it), then sent. */
static int report(struct agent *a, const char *id, const struct exec_result *x)
{
	struct rp_result res = {0};
	char *text = NULL, *note = NULL, *out_b64 = NULL, *dump = NULL, path[700];
	size_t tlen, nlen;
	json_t *j = NULL;
	int r;

	memcpy(res.org, a->conf.org, sizeof(res.org));
	memcpy(res.device, a->conf.device, sizeof(res.device));
	memcpy(res.command, id, sizeof(res.command));
	res.status = x->status;
	res.exit_code = x->exit_code;
	res.signal = x->signal;
	res.duration_ms = x->duration_ms;
	rp_sha256(x->output, x->output_len, res.output_hash);
	res.output_size = x->output_len;
	text = rp_result_format(&res, &tlen);
	if (!text || (r = rp_note_sign(text, tlen, NULL, &a->key, &note, &nlen)) < 0) {
		r = RP_E_NOMEM;
		goto out;
	}
	out_b64 = rp_b64_encode((const uint8_t *)x->output, x->output_len);
	j = json_pack("{s:s, s:s, s:s}", "result", note, "output", out_b64 ? out_b64 : "", "reason",
		      x->reason);
	dump = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!dump || !out_b64) {
		r = RP_E_NOMEM;
		goto out;
	}
	spool_path(a, id, path, sizeof(path));
	if ((r = rp_write_file_atomic(path, dump, strlen(dump), 0600)) < 0) {
		agent_logf("cannot spool the result of %s: %s", id, rp_strerror(r));
		goto out;
	}
	r = spool_send(a, id);
out:
	free(text);
	free(note);
	free(out_b64);
	free(dump);
	json_decref(j);
	return r;
}

/* A statement this device already knows: a redelivery or a replay. */
static void handle_known(struct agent *a, const char *id)
{
	char path[700];

	switch (agent_mark_get(a, id)) {
	case MARK_STARTED:
		/* Started but never reported: the agent died while it ran.
		 * It is not run again (at most once); its result is resent if
		 * spooled, else reported as failed: a result signed by the
		 * device like any other, spooled until the server has it. */
		spool_path(a, id, path, sizeof(path));
		if (access(path, F_OK) == 0) {
			spool_send(a, id);
		} else {
			struct exec_result x = {.status = RP_RESULT_FAILED, .exit_code = -1};
			snprintf(x.reason, sizeof(x.reason),
				 "interrupted: the agent stopped while it ran (crash or kill -9); "
				 "not run again, its end unknown");
			/* the reason is the server's to show; the output is signed */
			x.output = x.reason;
			x.output_len = strlen(x.reason);
			agent_logf(
				"command %s was interrupted by an agent restart; not running it again",
				id);
			report(a, id, &x);
		}
		break;
	default:
		send_alert(a, id, "replay",
			   "statement was already executed or refused on this device");
		break;
	}
}

/* RFC 3986's unreserved characters: the rest of an origin is percent-encoded. */
static bool url_plain(unsigned char c, size_t i)
{
	(void)i;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * Appends "&origin=<the log this device reads>" to the request path: the
 * server has an org's logs side by side after a log key rotation, and
 * answers for the one named (what it answers is verified against that
 * log's key anyway).
 */
static void add_origin(const struct agent *a, char *path, size_t n)
{
	size_t k = strlen(path);
	int w = snprintf(path + k, n - k, "&origin=");

	if (w > 0 && (size_t)w < n - k)
		rp_percent_encode(agent_log_policy(a)->wp.log.name, url_plain, path + k + (size_t)w,
				  n - k - (size_t)w);
}

/*
 * A delivery as the network process passed it on: the raw signed bytes,
 * verified here from scratch, as if they came straight from the server.
 */
/*
 * The walk through the log (agent/walk.c) up to the stored checkpoint: the
 * entries not read yet, a bounded number of requests per call. 0 when the
 * walk reached the checkpoint; a server that does not hand the entries out
 * only delays what comes after them (logged, and alerted once they prove
 * not to be the log's).
 */
static int catch_up(struct agent *a)
{
	for (int step = 0; step < RP_SCAN_STEPS_PER_CYCLE && a->scan.f.size < a->log.size &&
			   !a->scan.retired && !a->net_broken && !stopping;
	     step++) {
		struct agent_walk_alert al[4];
		struct agent_answer ans;
		struct agent_call c;
		struct rp_diag d = {""};
		char path[AGENT_IPC_PATH_MAX + 1];
		size_t nal = 0;
		int r;

		snprintf(path, sizeof(path), "/v1/agent/entries?from=%llu&size=%llu",
			 (unsigned long long)a->scan.f.size, (unsigned long long)a->log.size);
		add_origin(a, path, sizeof(path));
		c = call_for(a, "GET", path, RP_AGENT_REQUEST_S * 1000L, RP_SCAN_ANSWER_MAX,
			     RP_SCAN_ANSWER_VALUES_MAX, AGENT_ANS_ENTRIES);
		r = agent_net_call(a, &c, &ans, &d);
		if (r == 200 && ans.kind == AGENT_ANS_ENTRIES) {
			r = agent_walk(a, &ans.ents, al, 4, &nal, &d);
			for (size_t i = 0; i < nal; i++)
				send_alert(a, al[i].id, al[i].code, al[i].reason);
			if (r < 0)
				send_alert(a, "", r == RP_E_PROOF ? "log-proof" : "log-walk",
					   d.msg);
		} else {
			agent_logf("reading the log's entries from %llu: %s",
				   (unsigned long long)a->scan.f.size,
				   r < 0 ? d.msg : "an answer without entries");
			if (r >= 0 || ans.status == 200)
				send_alert(a, "", "log-walk", r < 0 ? d.msg : "no entries");
			r = -1;
		}
		agent_answer_release(&ans);
		if (r < 0)
			return r;
	}
	return a->scan.f.size >= a->log.size || a->scan.retired ? 0 : -1;
}

/*
 * The usual case needs no request: the delivered statement is the one entry
 * the walk lacks, and the last of the checkpoint's tree. Walked with it
 * (the frontier and the leaf must make the checkpoint's root), else left to
 * catch_up.
 */
static void walk_delivered(struct agent *a, const struct rp_delivery *dl)
{
	struct agent_walk_alert al[4];
	struct rp_entries e = {.from = (uint64_t)dl->index, .n = 1};
	struct rp_diag d = {""};
	size_t nal = 0;

	if (a->scan.retired || (uint64_t)dl->index != a->scan.f.size ||
	    a->log.size != a->scan.f.size + 1 || dl->statement_len == 0 ||
	    dl->statement_len > RP_LOG_ENTRY_MAX)
		return;
	e.buf = (uint8_t *)dl->statement;
	e.len[0] = dl->statement_len;
	if (agent_walk(a, &e, al, 4, &nal, &d) == 0)
		for (size_t i = 0; i < nal; i++)
			send_alert(a, al[i].id, al[i].code, al[i].reason);
	/* a failure here is the inclusion check's to report, on the judgement that follows */
}

/*
 * The machine made what the signed directory grants this device
 * (agent/converge.c). Nothing at all is read or written on a device the
 * directory never granted anything and that manages nothing yet. The
 * report's lines go to the agent's log and, for a directory delivery,
 * into its signed result (out, when non-NULL).
 */
static struct conv_env conv_env_of(const struct agent *a, const struct run_opts *o)
{
	/* under a root prefix (tests), the processes of /proc are not its accounts' */
	struct conv_env env = {.root = o->accounts_root ? o->accounts_root : "",
			       .state = a->dir,
			       .kill_sessions = !o->accounts_root};
	return env;
}

/*
 * The drift and conflicts of a report (a convergence's, which found them
 * already, or conv_drift's), signed as the device's drift report and sent
 * when it is not what the server last acknowledged; the machine is looked
 * at again every drift interval.
 */
static void send_drift(struct agent *a, const struct conv_report *rep)
{
	struct rp_drift *dr = calloc(1, sizeof(*dr));
	struct rp_diag d = {""};
	char *text = NULL, *note = NULL;
	size_t len, nlen, more = 0;
	uint8_t h[32];
	json_t *b = NULL;
	int status = 0;

	a->drift_due = rp_now() + a->drift_interval;
	if (!dr)
		return;
	memcpy(dr->org, a->conf.org, sizeof(dr->org));
	memcpy(dr->device, a->conf.device, sizeof(dr->device));
	dr->version = a->dirst.version;
	for (size_t i = 0; i < rep->n; i++) {
		const struct conv_item *it = &rep->items[i];
		if (strncmp(it->code, "drift-", 6) != 0 && strcmp(it->code, "conflict") != 0)
			continue;
		if (dr->n == RP_DRIFT_ITEMS_MAX - 1) {
			more++;
			continue;
		}
		struct rp_drift_item *o = &dr->items[dr->n++];
		snprintf(o->code, sizeof(o->code), "%s", it->code);
		rp_drift_word(o->subject, sizeof(o->subject), it->subject);
		rp_quote(o->detail, sizeof(o->detail), it->detail, strlen(it->detail));
		/* one spelling: no space at either end */
		while (o->detail[0] && o->detail[strlen(o->detail) - 1] == ' ')
			o->detail[strlen(o->detail) - 1] = '\0';
		if (o->detail[0] == ' ')
			memmove(o->detail, o->detail + strspn(o->detail, " "),
				strlen(o->detail + strspn(o->detail, " ")) + 1);
	}
	if (more) {
		struct rp_drift_item *o = &dr->items[dr->n++];
		snprintf(o->code, sizeof(o->code), "more");
		snprintf(o->subject, sizeof(o->subject), "%zu", more);
		snprintf(o->detail, sizeof(o->detail), "items not listed");
	}
	/* the same items as last acknowledged: nothing to send (the time is left out) */
	if (!(text = rp_drift_format(dr, &len))) {
		agent_logf("directory: the drift report does not format");
		goto out;
	}
	rp_sha256(text, len, h);
	if (a->drift_sent_ok && !memcmp(h, a->drift_sent, 32))
		goto out;
	free(text);
	dr->at = rp_now();
	if (!(text = rp_drift_format(dr, &len)) ||
	    rp_note_sign(text, len, NULL, &a->key, &note, &nlen) < 0)
		goto out;
	if (!(b = json_pack("{s:s}", "report", note)))
		goto out;
	if (agent_post_json(a, "/v1/agent/drift", b, &status, &d) == 0 && status == 200) {
		memcpy(a->drift_sent, h, 32);
		a->drift_sent_ok = true;
		if (dr->n)
			agent_logf("directory: %zu drift item%s reported", dr->n,
				   dr->n == 1 ? "" : "s");
	}
out:
	json_decref(b);
	free(note);
	free(text);
	free(dr);
}

/* What conv_drift finds, sent as send_drift does. */
static void report_drift(struct agent *a, const struct conv_env *env, const struct conv_plan *p)
{
	struct conv_report rep = {0};
	struct rp_diag d = {""};

	if (conv_drift(env, p, &rep, &d) < 0) {
		a->drift_due = rp_now() + a->drift_interval;
		agent_logf("directory: looking for drift: %s", d.msg);
	} else {
		send_drift(a, &rep);
	}
	conv_report_release(&rep);
}

/* The machine looked at for drift alone, where the directory manages something. */
static void drift_check(struct agent *a, const struct run_opts *o)
{
	struct conv_env env = conv_env_of(a, o);
	struct conv_plan p;
	char path[600];
	int64_t due;

	a->drift_due = rp_now() + a->drift_interval;
	agent_path(a, path, sizeof(path), "converge.state");
	if (agent_dir_plan(&a->dirst.dir, a->conf.device, rp_now(), &p, &due) < 0)
		return;
	if (p.nusers || p.ngroups || access(path, F_OK) == 0)
		report_drift(a, &env, &p);
	agent_dir_plan_release(&p);
}

static int converge(struct agent *a, const struct run_opts *o, bool repair, struct rp_sb *out)
{
	if (a->decommissioned)
		return 0; /* its accounts stay as they are */
	struct conv_env env = conv_env_of(a, o);
	struct conv_report rep = {0};
	struct conv_plan p;
	struct rp_diag d = {""};
	char path[600];
	int64_t due;
	int r;

	if ((r = agent_dir_plan(&a->dirst.dir, a->conf.device, rp_now(), &p, &due)) < 0) {
		agent_logf("directory: planning version %llu: %s",
			   (unsigned long long)a->dirst.version, rp_strerror(r));
		return r;
	}
	agent_path(a, path, sizeof(path), "converge.state");
	if (p.nusers == 0 && p.ngroups == 0 && !repair && access(path, F_OK) != 0) {
		a->dir_changed = false;
		a->dir_due = 0;
		agent_dir_plan_release(&p);
		if (out)
			rp_sb_puts(out, "nothing granted on this device\n");
		return 0;
	}
	p.repair = repair;
	r = conv_apply(&env, &p, &rep, &d);
	if (r == 0)
		send_drift(a, &rep); /* what it left alone and what stood in its way: the drift */
	agent_dir_plan_release(&p);
	if (r < 0) {
		agent_logf("directory: converging to version %llu: %s",
			   (unsigned long long)a->dirst.version, d.msg);
		if (out)
			rp_sb_printf(out, "failed: %s\n", d.msg);
		conv_report_release(&rep);
		return r;
	}
	for (size_t i = 0; i < rep.n; i++) {
		char subj[96], det[420];
		rp_quote(subj, sizeof(subj), rep.items[i].subject, strlen(rep.items[i].subject));
		rp_quote(det, sizeof(det), rep.items[i].detail, strlen(rep.items[i].detail));
		agent_logf("directory: %s %s%s%s", rep.items[i].code, subj, det[0] ? ": " : "",
			   det);
		if (out)
			rp_sb_printf(out, "%s %s%s%s\n", rep.items[i].code, subj,
				     det[0] ? ": " : "", det);
	}
	agent_logf("directory version %llu converged: %zu item%s, %u file%s written",
		   (unsigned long long)a->dirst.version, rep.n, rep.n == 1 ? "" : "s", rep.writes,
		   rep.writes == 1 ? "" : "s");
	if (out)
		rp_sb_printf(out, "directory version %llu: %u file%s written\n",
			     (unsigned long long)a->dirst.version, rep.writes,
			     rep.writes == 1 ? "" : "s");
	conv_report_release(&rep);
	a->dir_changed = false;
	a->dir_due = due;
	return 0;
}

/* A directory statement delivered: the walk folded it; the machine converges, and says so. */
static int handle_directory(struct agent *a, const struct run_opts *o, const struct rp_command *c,
			    int64_t proved)
{
	struct exec_result x = {.status = RP_RESULT_DONE};
	bool repair = c->dir && c->dir->repair_all;
	struct rp_sb out;
	int64_t t0 = rp_mono_ms();
	int r;

	for (size_t i = 0; c->dir && i < c->dir->nrepair; i++)
		repair = repair || !strcmp(c->dir->repair[i], a->conf.device);
	if (agent_mark_get(a, c->id) == MARK_REFUSED) {
		/* the walk refused it (this device's quorum, judged before the entry) */
		x.status = RP_RESULT_REFUSED;
		x.exit_code = -1;
		snprintf(x.reason, sizeof(x.reason),
			 "below this device's quorum (its device groups'): nothing changed here");
		x.output = strdup(x.reason);
		x.output_len = x.output ? strlen(x.output) : 0;
		agent_log_acted(a, proved);
		r = report(a, c->id, &x);
		exec_result_release(&x);
		return r;
	}
	if ((r = agent_mark_set(a, c->id, MARK_STARTED)) < 0 ||
	    (r = agent_log_acted(a, proved)) < 0) {
		agent_logf("cannot record directory statement %s: %s", c->id, rp_strerror(r));
		return r;
	}
	rp_sb_init(&out, RP_OUTPUT_KEEP);
	if (converge(a, o, repair, &out) < 0) {
		x.status = RP_RESULT_FAILED;
		x.exit_code = 1;
		snprintf(x.reason, sizeof(x.reason), "the machine could not be converged");
	}
	if (out.err) {
		rp_sb_release(&out);
		rp_sb_init(&out, 64);
		rp_sb_puts(&out, "(report over its cap)\n");
	}
	x.output = rp_sb_take(&out, &x.output_len);
	x.duration_ms = (uint64_t)(rp_mono_ms() - t0);
	r = report(a, c->id, &x);
	exec_result_release(&x);
	return r;
}

/*
 * A command is run only once the walk has read every entry of the stored
 * checkpoint, so that a cancel logged after it (agent/cancel.c) is known
 * first: a server that withholds those entries makes it wait (-1, offered
 * again), never run. A cancelled one is refused, consumed in log order,
 * and reported `cancelled' (1). 0: it may run.
 */
static int cancel_check(struct agent *a, const struct rp_command *c, int64_t proved)
{
	const struct rp_cancel_rec *cr;
	struct exec_result x = {.status = RP_RESULT_CANCELLED, .exit_code = -1};
	int r;

	if (!a->scan.retired && a->scan.f.size < a->log.size)
		catch_up(a);
	if (!a->scan.retired && a->scan.f.size < a->log.size) {
		agent_logf("waiting: command %s is not run until the log is read up to its "
			   "checkpoint (%llu of %llu entries): a cancel may be among them",
			   c->id, (unsigned long long)a->scan.f.size,
			   (unsigned long long)a->log.size);
		return -1;
	}
	if (!(cr = agent_cancelled(a, c->id)))
		return 0;
	snprintf(x.reason, sizeof(x.reason), "%s by a signed statement at log entry %llu: not run",
		 cr->kind == RP_CANCEL_REJECT ? "rejected" : "cancelled",
		 (unsigned long long)cr->entry);
	x.output = x.reason;
	x.output_len = strlen(x.reason);
	agent_logf("command %s: %s", c->id, x.reason);
	if ((r = agent_mark_set(a, c->id, MARK_REFUSED)) < 0 ||
	    (r = agent_log_acted(a, proved)) < 0) {
		agent_logf("cannot record command %s as cancelled: %s", c->id, rp_strerror(r));
		return -1;
	}
	report(a, c->id, &x);
	return 1;
}

/*
 * An upgrade that passed every check: its release judged (a refusal is
 * alerted and reported, the statement consumed), then recorded started,
 * fetched, checked against the signed hash and installed like a command
 * (its timeout, its output reported). Once the installer succeeded the
 * agent ends its run so that main runs the new binary.
 */
static int handle_upgrade(struct agent *a, const struct run_opts *o, const struct rp_command *c,
			  const struct rp_delivery *dl, const struct exec_opts *eo, int64_t proved)
{
	struct exec_result x = {.status = RP_RESULT_REFUSED, .exit_code = -1};
	struct rp_release *rel = NULL;
	char path[700] = "", *script = NULL;
	size_t slen;
	struct rp_diag d = {""};
	int r;

	if ((r = agent_upgrade_check(a, c, dl->payload, dl->payload_len, &rel, x.reason,
				     sizeof(x.reason))) < 0) {
		const char *code = r == RP_E_ROLLBACK ? "rollback" : "upgrade-refused";
		agent_logf("%s", x.reason);
		if ((r = agent_mark_set(a, c->id, MARK_REFUSED)) < 0 ||
		    (r = agent_log_acted(a, proved)) < 0)
			return r;
		x.output = x.reason;
		x.output_len = strlen(x.reason);
		/* the signed result first: an alert closes the delivery without one */
		r = report(a, c->id, &x);
		send_alert(a, c->id, code, x.reason);
		return r;
	}
	if ((r = agent_mark_set(a, c->id, MARK_STARTED)) < 0 ||
	    (r = agent_log_acted(a, proved)) < 0) {
		agent_logf("cannot record upgrade %s before applying it: %s; not applying it",
			   c->id, rp_strerror(r));
		goto out;
	}
	json_t *b = json_pack("{s:s}", "command", c->id);
	agent_post_json(a, "/v1/agent/started", b, NULL, &d);
	json_decref(b);
	agent_logf("upgrade %s: fetching rampart-agent %s (%llu bytes)", c->id, rel->version,
		   (unsigned long long)rel->size);
	if ((r = agent_upgrade_fetch(a, rel, path, sizeof(path), x.reason, sizeof(x.reason))) < 0) {
		bool forged = r == RP_E_PAYLOAD;
		agent_logf("upgrade %s: %s", c->id, x.reason);
		x.status = forged ? RP_RESULT_REFUSED : RP_RESULT_FAILED;
		x.output = x.reason;
		x.output_len = strlen(x.reason);
		r = report(a, c->id, &x);
		x.output = NULL; /* the reason, not to be freed */
		if (forged)
			send_alert(a, c->id, "package-hash", x.reason);
		goto out;
	}
	if (!(script = agent_upgrade_script(o->installer ? o->installer : AGENT_INSTALLER_DEFAULT,
					    path, &slen))) {
		r = RP_E_NOMEM;
		goto out;
	}
	agent_logf("upgrade %s: package sha256 verified; installing %s with %s", c->id,
		   rel->version, o->installer ? o->installer : AGENT_INSTALLER_DEFAULT);
	if ((r = agent_exec(c, (const uint8_t *)script, slen, eo, &x)) < 0) {
		agent_logf("upgrade %s: %s", c->id, rp_strerror(r));
		goto out;
	}
	agent_logf("upgrade %s: %s, exit %d, %llu ms%s%s", c->id, rp_result_status_name(x.status),
		   x.exit_code, (unsigned long long)x.duration_ms, x.reason[0] ? ": " : "",
		   x.reason);
	bool installed = x.status == RP_RESULT_DONE && x.exit_code == 0;
	if (installed)
		agent_upgrade_done(a, rel, path);
	else
		unlink(path);
	r = report(a, c->id, &x);
	if (installed) {
		agent_logf("upgrade %s: rampart-agent %s installed; restarting", c->id,
			   rel->version);
		a->upgraded = true;
	}
out:
	free(script);
	exec_result_release(&x);
	rp_release_free(rel);
	return r;
}

static int handle_delivery(struct agent *a, const struct run_opts *o, const struct rp_delivery *dl)
{
	struct exec_opts eo = {.no_cgroup = o->no_cgroup, .stop = &stopping, .spare = a->net.pid};
	struct rp_command *c = NULL;
	struct exec_result x = {0};
	struct rp_diag d = {""};
	char id[RP_ID_HEX + 1] = "";
	int64_t proved = -1;
	int r;

	r = agent_check(a, dl, true, &c, id, &proved, &d);
	if (a->decommissioned) {
		/* the walk of this very delivery read this device's decommission */
		rp_command_free(c);
		return 0;
	}
	if (r == RP_E_UNSCANNED) {
		/*
		 * Its checkpoint is stored by now: read the log up to it, then
		 * judge it again. Its consistency proof led from the tree held
		 * before to this one, which is now the one held: the same tree
		 * needs none.
		 */
		struct rp_delivery again = *dl;
		walk_delivered(a, dl);
		catch_up(a);
		d.msg[0] = '\0';
		again.ncons = 0;
		r = agent_check(a, &again, true, &c, id, &proved, &d);
	}
	if (r == RP_E_UNSCANNED) {
		/* not refused: nothing is recorded, and the server offers it again */
		agent_logf("waiting: %s", d.msg);
		r = -1;
		goto out;
	}
	if (r == RP_E_REPLAY && agent_mark_get(a, id) == MARK_STARTED) {
		handle_known(a, id);
		goto out;
	}
	if (r < 0) {
		send_alert(a, id, refusal_code(r, proved), d.msg);
		/* Once per statement: agent_mark_set writes nothing for a mark it already has. */
		if (id[0] && r != RP_E_REPLAY)
			agent_mark_set(a, id, MARK_REFUSED);
		/* a proved entry refused for what it says is still consumed, in order */
		if (proved >= 0 && r != RP_E_REPLAY)
			agent_log_acted(a, proved);
		goto out;
	}

	if (c->kind == RP_KIND_DIRECTORY) {
		r = handle_directory(a, o, c, proved);
		goto out;
	}

	if ((r = cancel_check(a, c, proved)) != 0) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	if (c->kind == RP_KIND_UPGRADE) {
		r = handle_upgrade(a, o, c, dl, &eo, proved);
		goto out;
	}

	/* Durable before anything runs: a crash from here on never reruns it. */
	if ((r = agent_mark_set(a, c->id, MARK_STARTED)) < 0 ||
	    (r = agent_log_acted(a, proved)) < 0) {
		agent_logf("cannot record command %s before running it: %s; not running it", c->id,
			   rp_strerror(r));
		goto out;
	}
	json_t *b = json_pack("{s:s}", "command", c->id);
	agent_post_json(a, "/v1/agent/started", b, NULL, &d);
	json_decref(b);
	agent_logf("running command %s as %s (timeout %u s)", c->id, c->run_as, c->timeout);
	if ((r = agent_exec(c, dl->payload, dl->payload_len, &eo, &x)) < 0) {
		agent_logf("running command %s: %s", c->id, rp_strerror(r));
		goto out;
	}
	agent_logf("command %s: %s, exit %d, %llu ms%s%s%s%s", c->id,
		   rp_result_status_name(x.status), x.exit_code, (unsigned long long)x.duration_ms,
		   x.reason[0] ? ": " : "", x.reason, x.containment[0] ? "; contained by " : "",
		   x.containment);
	r = report(a, c->id, &x);
out:
	exec_result_release(&x);
	rp_command_free(c);
	return r;
}

/*
 * Since when this device has known its log to be current: its newest
 * cosignature, or the start of the run. Once its log is retired (a log key
 * rotation), the old log's checkpoints stay fresh (its witnesses cosign it
 * again) but nothing new can come from it: from the moment the device found
 * it retired, the clock runs until it moves to the next log, so a server
 * that never hands it over (no 409, nothing past the end) raises the
 * freeze alarm like any other withholding.
 */
static int64_t fresh_since(const struct agent *a, int64_t started)
{
	int64_t since = a->log.newest > started ? a->log.newest : started;

	if (a->scan.retired) {
		int64_t r = a->retired_since > started ? a->retired_since : started;
		since = r < since ? r : since;
	}
	return since;
}

/* When the freeze alarm is next due (unix seconds), or 0 under `quorum none'. */
static int64_t freeze_due(const struct agent *a, int64_t started, int64_t alarmed)
{
	const struct rp_policy *lp = agent_log_policy(a);
	int64_t fresh = lp->freshness, since, due;

	if (lp->wp.quorum < 0)
		return 0;
	since = fresh_since(a, started);
	due = since + fresh + 1;
	if (alarmed > 0 && alarmed + fresh / 2 + 1 > due)
		due = alarmed + fresh / 2 + 1;
	return due;
}

/*
 * Fetches the served checkpoint and its consistency proof, and keeps it
 * once rp_verify_checkpoint accepts it (its raw bytes, whatever the network
 * process made of them). a->fresh_why says why the last fetch failed, for
 * the freeze alarm of a later cycle. The status of the fetch (200), or < 0.
 */
static int fetch_checkpoint(struct agent *a)
{
	char path[AGENT_IPC_PATH_MAX + 1], *why = a->fresh_why;
	size_t whylen = sizeof(a->fresh_why);
	struct rp_diag d = {""};
	struct agent_answer ans;
	struct agent_call c;
	int r;

	snprintf(path, sizeof(path), "/v1/agent/checkpoint?size=%llu",
		 (unsigned long long)a->log.size);
	add_origin(a, path, sizeof(path));
	c = call_for(a, "GET", path, RP_AGENT_REQUEST_S * 1000L, RP_CHECKPOINT_ANSWER_MAX,
		     RP_CHECKPOINT_ANSWER_VALUES_MAX, AGENT_ANS_CHECKPOINT);
	r = agent_net_call(a, &c, &ans, &d);
	if (r == 200 && ans.kind == AGENT_ANS_CHECKPOINT) {
		struct rp_verify_ctx ctx = check_ctx(a, true, NULL);
		r = rp_verify_checkpoint(&ctx, ans.dl.checkpoint, ans.dl.checkpoint_len,
					 (const uint8_t(*)[RP_HASH_LEN])ans.dl.consistency,
					 ans.dl.ncons, NULL, &d);
		if (r < 0) {
			send_alert(a, "", refusal_code(r, -1), d.msg);
			snprintf(why, whylen, "the served checkpoint was refused: %s", d.msg);
		} else {
			why[0] = '\0';
			r = 200;
		}
	} else if (ans.status == 200 && r < 0) {
		snprintf(why, whylen, "the served checkpoint was refused: %s", d.msg);
	} else {
		snprintf(why, whylen, "no checkpoint from the server: %.300s",
			 r < 0 ? d.msg : "an answer without one");
		if (r >= 0)
			r = RP_E_HTTP;
	}
	agent_answer_release(&ans);
	return r;
}

/*
 * Keeps the device's checkpoint fresh when no work arrives: fetches the
 * served checkpoint and its consistency proof once half the policy's
 * freshness window has passed since the newest cosignature held, and
 * raises the freeze alarm (local log and report) when the window has
 * passed without a fresh cosigned checkpoint: the server, or every path
 * to the witnesses, is withholding the log. On time whatever the server
 * does: the fetch and every other request end before the alarm is due
 * (api_for), and the alarm is judged after the fetch, each cycle.
 */
static void keep_fresh(struct agent *a, int64_t started, int64_t *next_try, int64_t *alarmed)
{
	const struct rp_policy *lp = agent_log_policy(a);
	int64_t now = rp_now(), fresh = lp->freshness, since;

	/* `quorum none': no cosignature times, so no freshness to judge (docs/witness.md) */
	if (lp->wp.quorum < 0)
		return;
	a->freeze_due = freeze_due(a, started, *alarmed);
	/* a log not read yet (just moved to) is fetched at once, not after half a window;
	 * nor is one that has yet to show this device's own enrolment (agent/enroll-walk.c) */
	bool enrolling = agent_enrol_pending(a);
	if ((now - a->log.newest >= fresh / 2 || a->log.size == 0 || enrolling) &&
	    now >= *next_try) {
		*next_try = now + (enrolling ? 2 : fresh / 10 > 5 ? fresh / 10 : 5);
		fetch_checkpoint(a);
	}
	since = fresh_since(a, started);
	if (rp_now() - since > fresh && rp_now() - *alarmed > fresh / 2) {
		char msg[sizeof(a->fresh_why) + 256];
		if (a->scan.retired)
			snprintf(msg, sizeof(msg),
				 "log %s ended (a log key rotation) %lld s ago (window %lld s) and "
				 "the server has not handed this device over to log %s: nothing "
				 "new can run",
				 lp->wp.log.name, (long long)(rp_now() - since), (long long)fresh,
				 a->policy->wp.log.name);
		else
			snprintf(msg, sizeof(msg),
				 "no fresh cosigned checkpoint for %lld s (window %lld s); "
				 "nothing new can run: %.300s",
				 (long long)(rp_now() - since), (long long)fresh,
				 a->fresh_why[0] ? a->fresh_why
						 : "the checkpoint offered is not fresh");
		agent_logf("FREEZE: %s", msg);
		*alarmed = rp_now();
		a->freeze_due = freeze_due(a, started, *alarmed);
		send_alert(a, "", "freeze", msg);
	}
	a->freeze_due = freeze_due(a, started, *alarmed);
}

/* Exponential backoff with full jitter, never past the freeze alarm's time. */
static void nap(const struct agent *a, int seconds_max, unsigned *attempt)
{
	/* Full jitter, so a fleet that lost its server does not come back in lockstep. */
	unsigned shift = *attempt < 6 ? *attempt : 6;
	uint32_t cap = (1u << shift) * 1000u;
	if (cap > (uint32_t)seconds_max * 1000u)
		cap = (uint32_t)seconds_max * 1000u;
	uint32_t ms = 500 + randombytes_uniform(cap);
	if (a->freeze_due > 0) {
		int64_t left = (a->freeze_due - rp_now()) * 1000;
		if (left < (int64_t)ms)
			ms = left > 0 ? (uint32_t)left : 0;
	}
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	(*attempt)++;
	while (!stopping && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * The server presents a key no pin names. The administrators may have
 * rotated it while this device was away, naming the new key in a root
 * policy this device has not read: over a connection that trusts no key,
 * it reads the checkpoint and the log (everything in them is verified
 * against its own state, the witnesses and the policy chain, whoever sends
 * it), then starts again pinned to the keys of the newest policy it
 * accepted. Unpinned, the network process asks for nothing else
 * (agent_net_call). At most every 5 minutes; a key no policy names stays
 * refused, with a local security alert.
 */
static void follow_server_key(struct agent *a, const struct agent_net_spawn *spawn,
			      int64_t *next_try)
{
	struct agent_alert_note notes[2];
	struct rp_diag d = {""};
	uint64_t before = a->policy->version;

	if (rp_now() < *next_try)
		return;
	*next_try = rp_now() + 300;
	agent_logf("the server presents a key no pin names: reading the log over an unpinned "
		   "connection for a root policy that names it");
	agent_net_stop(a);
	a->net_unpinned = true;
	if (agent_net_start(a, spawn, &d) == 0 && fetch_checkpoint(a) == 200)
		catch_up(a);
	agent_net_stop(a);
	a->net_unpinned = false;
	if (agent_net_start(a, spawn, &d) < 0) {
		snprintf(a->net_why, sizeof(a->net_why), "restarting it: %.200s", d.msg);
		a->net_broken = true;
		return;
	}
	if (a->policy->version != before)
		agent_logf("root policy version %llu read over the unpinned connection; pinned "
			   "again to the keys it names",
			   (unsigned long long)a->policy->version);
	else
		agent_alert(a, rp_now(), "", "server-key",
			    "the server presents a TLS key that neither the enrolment pin nor "
			    "any root policy this device accepted names: refused",
			    notes);
}

/*
 * The server says the log this device reads is retired and holds nothing
 * more for it (poll: 409). Believed only as far as this device can check:
 * it reads its log to the checkpoint the witnesses cosigned, and moves to
 * the next log only once it found there, itself, the root policy that
 * ended this one (scan.retired). A server that says so falsely costs a
 * checkpoint fetch, at most every few seconds (next_try, keep_fresh's).
 * 0 when the device moved.
 */
static int follow_log(struct agent *a, int64_t *next_try, int64_t *next_fresh)
{
	int r;

	if (!a->scan.retired && rp_now() >= *next_try) {
		*next_try = rp_now() + 5;
		if (fetch_checkpoint(a) == 200)
			catch_up(a);
	}
	if (!a->scan.retired)
		return -1;
	if (agent_owes(a)) {
		/*
		 * The server says nothing more is to come, but the walk read a
		 * command for this device that it has not run: stay until it runs
		 * or expires (the freeze alarm counts meanwhile).
		 */
		if (a->withheld_alerted != a->scan.owed + 1) {
			char msg[512], t[21];
			rp_time_format(a->scan.owed_until, t);
			snprintf(
				msg, sizeof(msg),
				"the server says log %s holds nothing more for this device, but "
				"its entry %llu is a command for it, signed by its quorum, not run "
				"yet: staying on that log until it runs or %s",
				agent_log_policy(a)->wp.log.name, (unsigned long long)a->scan.owed,
				t);
			agent_logf("SECURITY: log-withheld: %s", msg);
			send_alert(a, "", "log-withheld", msg);
			a->withheld_alerted = a->scan.owed + 1;
		}
		return -1;
	}
	if ((r = agent_log_move(a)) < 0) {
		agent_logf("moving to the next log: %s", rp_strerror(r));
		return r;
	}
	*next_try = 0;
	*next_fresh = 0; /* the new log's checkpoint at once */
	return 0;
}

/* Whether the newest policy's server keys differ from the network process's. */
static bool pins_changed(const struct agent *a)
{
	return a->policy->npins != a->net_npins ||
	       memcmp(a->policy->pins, a->net_pins, a->net_npins * 32) != 0;
}

/* The network process failed or broke the protocol: recorded where the server cannot reach. */
static void net_failed(struct agent *a, const char *why)
{
	struct agent_alert_note notes[2];

	agent_logf("SECURITY: stopping: %s", why);
	/* local only: the network process is the one way to the server */
	agent_alert(a, rp_now(), "", "network-process", why, notes);
}

int agent_run(const char *dir, const struct run_opts *o)
{
	struct agent a;
	struct rp_diag d = {""};
	struct sigaction sa = {.sa_handler = on_signal};
	char path[AGENT_IPC_PATH_MAX + 1];
	unsigned attempt = 0;
	int64_t started = rp_now(), next_fresh = 0, alarmed = 0, next_unpinned = 0, next_follow = 0;
	int r;

	if ((r = agent_load(&a, dir, &d)) < 0) {
		fprintf(stderr, "rampart-agent: loading state from %s: %s\n", dir, d.msg);
		agent_release(&a);
		return 1;
	}
	if (agent_decommissioned_before(&a)) {
		fprintf(stderr,
			"rampart-agent: device %s was decommissioned (%s/decommissioned): not "
			"starting\n",
			a.conf.device, dir);
		agent_release(&a);
		return AGENT_EXIT_DECOMMISSIONED;
	}
	/* No SA_RESTART: a signal interrupts a held poll so we stop at once;
	 * a running command sees the flag too (agent_exec: SIGTERM to it,
	 * SIGKILL after a grace, reported as killed). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.cancel = &stopping;
	struct agent_net_spawn spawn = {
		.user = o->net_user ? o->net_user : AGENT_NET_USER_DEFAULT,
		.hide = a.dir,
		.program = o->net_program,
	};
	if ((r = agent_net_start(&a, &spawn, &d)) < 0) {
		fprintf(stderr, "rampart-agent: %s\n", d.msg);
		agent_release(&a);
		return 1;
	}
	agent_logf("network process %d runs as uid %u%s%s", (int)a.net.pid, a.net.uid,
		   a.net.why_not[0] ? ": " : "", a.net.why_not);
	agent_logf("device %s of org %s polling %s", a.conf.device, a.conf.org, a.conf.server);
	/* systemd's Type=notify (dist/rampart-agent.service): state loaded, network up */
	if (rp_notify("READY=1") < 0)
		agent_logf("$NOTIFY_SOCKET: %s", strerror(errno));
	a.dir_changed = true; /* converged at start: grants may have ended while it was stopped */
	agent_enrol_load(&a);
	a.drift_interval = o->drift_interval > 0 ? o->drift_interval : RP_DRIFT_INTERVAL_S;

	while (!stopping && !a.net_broken) {
		struct agent_answer ans;
		struct agent_call c;
		int wait = o->poll_wait;

		check_policy(&a);
		keep_fresh(&a, started, &next_fresh, &alarmed);
		if (agent_enrol_pending(&a) && wait > 2)
			wait = 2; /* its own enrolment is still to be read (keep_fresh) */
		if (a.scan.f.size < a.log.size)
			catch_up(&a);
		if (a.decommissioned)
			break;
		agent_facts_refresh(&a);
		/* the directory: folded by the walk, or a grant ended (on this clock) */
		if (a.dir_changed || (a.dir_due > 0 && rp_now() >= a.dir_due))
			converge(&a, o, false, NULL);
		else if (rp_now() >= a.drift_due)
			drift_check(&a, o);
		if (a.dir_due > 0 && (a.freeze_due <= 0 || a.dir_due < a.freeze_due))
			a.freeze_due = a.dir_due; /* every wait ends by then */
		if (pins_changed(&a)) {
			/*
			 * A root policy the walk accepted names other server keys (a TLS
			 * key rotation): the network process starts again with them.
			 */
			agent_logf("the root policy in force names other server keys: restarting "
				   "the network process with them");
			agent_net_stop(&a);
			if ((r = agent_net_start(&a, &spawn, &d)) < 0) {
				snprintf(a.net_why, sizeof(a.net_why), "restarting it: %.200s",
					 d.msg);
				a.net_broken = true;
				break;
			}
			continue;
		}
		flush_alerts(&a);
		if (spool_flush(&a) < 0) {
			if (!a.net_broken)
				nap(&a, o->max_backoff, &attempt);
			continue;
		}
		/* A hold that ends before the freeze alarm is due, so a quiet server is not an
		 * error. */
		if (a.freeze_due > 0 && a.freeze_due - rp_now() - 1 < wait)
			wait = a.freeze_due - rp_now() - 1 > 1 ? (int)(a.freeze_due - rp_now() - 1)
							       : 1;
		snprintf(path, sizeof(path), "/v1/agent/poll?wait=%d&size=%llu", wait,
			 (unsigned long long)a.log.size);
		add_origin(&a, path, sizeof(path));
		c = call_for(&a, "GET", path, (long)(wait + RP_AGENT_POLL_SLACK_S) * 1000,
			     RP_DELIVERY_MAX, RP_DELIVERY_VALUES_MAX, AGENT_ANS_DELIVERY);
		int64_t polled = rp_now();
		r = agent_net_call(&a, &c, &ans, &d);
		if (stopping || a.net_broken) {
			agent_answer_release(&ans);
			break;
		}
		if (r == 200 && ans.kind == AGENT_ANS_DELIVERY) {
			/*
			 * A refused delivery backs off like an error: a server that
			 * repeats it on every poll cannot make the agent spin.
			 */
			if (handle_delivery(&a, o, &ans.dl) >= 0 || a.net_broken)
				attempt = 0;
			else if (agent_log_end(&a) && ans.dl.index >= 0 &&
				 (uint64_t)ans.dl.index >= agent_log_end(&a) &&
				 follow_log(&a, &next_follow, &next_fresh) == 0)
				/* Offered an entry past the policy that ended this log (and
				 * refused it): deliveries come in log order, so nothing
				 * before the end is left for this device. */
				attempt = 0;
			else
				nap(&a, o->max_backoff, &attempt);
			if (o->once || a.upgraded)
				stopping = 1;
		} else if (r == 204) {
			attempt = 0;
			/* Held for less than asked: at most a poll a second, whatever the server
			 * does. */
			if (wait > 0 && rp_now() - polled < 1) {
				struct timespec ts = {1, 0};
				nanosleep(&ts, NULL);
			}
		} else if (r < 0 && ans.status == 200) {
			/* the server's answer did not parse as a delivery */
			send_alert(&a, "", "malformed", d.msg);
			nap(&a, o->max_backoff, &attempt);
		} else if (r == RP_E_HTTP && ans.status == 409) {
			/* the server says the log this device reads is retired */
			if (follow_log(&a, &next_follow, &next_fresh) == 0)
				attempt = 0;
			else
				nap(&a, o->max_backoff, &attempt);
		} else {
			agent_logf("poll: %s", r < 0 ? d.msg : "an answer without a delivery");
			if (r == RP_E_PIN) {
				agent_logf(
					"SECURITY: the server's key does not match the pinned key");
				follow_server_key(&a, &spawn, &next_unpinned);
			}
			nap(&a, o->max_backoff, &attempt);
		}
		agent_answer_release(&ans);
	}
	r = 0;
	if (a.decommissioned) {
		r = AGENT_EXIT_DECOMMISSIONED;
	} else if (a.upgraded) {
		r = AGENT_EXIT_UPGRADED;
	} else if (a.net_broken && !stopping) {
		net_failed(&a, a.net_why);
		r = 3;
	}
	/* an upgraded agent does not stop: the same process runs the new binary (main.c) */
	if (!a.upgraded)
		rp_notify("STOPPING=1");
	agent_net_stop(&a);
	agent_logf(a.upgraded ? "running the release just installed" : "stopping");
	agent_release(&a);
	return r;
}

int agent_verify_file(const char *dir, const char *file, bool quiet)
{
	struct agent a;
	struct rp_delivery dl = {0};
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	char *buf = NULL, id[RP_ID_HEX + 1];
	int64_t proved = -1;
	size_t len;
	bool parsed;
	int r;

	if ((r = agent_load(&a, dir, &d)) < 0) {
		fprintf(stderr, "rampart-agent: loading state from %s: %s\n", dir, d.msg);
		agent_release(&a);
		return 2;
	}
	if ((r = rp_read_file(file, RP_DELIVERY_MAX, &buf, &len)) < 0) {
		fprintf(stderr, "rampart-agent: reading %s: %s\n", file, rp_strerror(r));
		agent_release(&a);
		return 2;
	}
	r = rp_delivery_parse(buf, len, &dl, &d);
	parsed = r == 0;
	if (parsed)
		r = agent_check(&a, &dl, false, &c, id, &proved, &d);
	if (r == 0 && agent_cancelled(&a, c->id)) {
		/* the same judgement as a run (cancel_check), from what this device has read */
		printf("REFUSED (cancelled): command %s is cancelled by the signed statement at log "
		       "entry %llu\n",
		       c->id, (unsigned long long)agent_cancelled(&a, c->id)->entry);
		r = RP_E_CONFLICT;
	} else if (r < 0) {
		char q[4 * sizeof(d.msg)];
		rp_quote(q, sizeof(q), d.msg, strlen(d.msg));
		/* a delivery that does not parse is malformed, whatever it carries */
		printf("REFUSED (%s): %s\n", parsed ? refusal_code(r, proved) : alert_code(r), q);
	} else if (!quiet) {
		struct rp_diag w = {""};
		if ((uint64_t)dl.index >= a.scan.f.size)
			printf("NOTE: entry %lld is past the %llu entries this device has read: "
			       "judged by root policy version %llu, the newest it knows\n",
			       (long long)dl.index, (unsigned long long)a.scan.f.size,
			       (unsigned long long)a.policy->version);
		if (rp_verify_policy_expiry(a.policy, rp_now(), &w) > 0)
			printf("WARNING: %s\n", w.msg);
		printf("OK: command %s would run as %s on device %s (timeout %u s)\n", c->id,
		       c->run_as, a.conf.device, c->timeout);
	}
	rp_command_free(c);
	rp_delivery_release(&dl);
	free(buf);
	agent_release(&a);
	return r < 0 ? 1 : 0;
}
