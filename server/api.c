/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampartd's HTTP API (docs/api.md): routing, authentication, handlers.
 * The server verifies signatures so that it stores only well-formed,
 * validly signed statements, but nothing here is trusted by agents: they
 * check everything again (lib/verify.c). All SQL is in db.c.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "api.h"
#include "cancel.h"
#include "devkey.h"
#include "facts.h"
#include "json.h"
#include "httpd/httpd.h"
#include "log.h"
#include "policy.h"
#include "drift.h"
#include "enroll.h"
#include "poll.h"
#include "reqsig.h"
#include "result.h"
#include "release.h"
#include "rp_err.h"
#include "statement.h"
#include "webhook.h"

enum auth {
	AUTH_NONE,
	AUTH_BOOTSTRAP,
	AUTH_READ,   /* signed request, or a read or write API token */
	AUTH_WRITE,  /* signed request, or a write API token */
	AUTH_SIGNED, /* signed request by a key of the org's policy */
	AUTH_DEVICE, /* signed request by an enrolled device */
};

struct req {
	struct server *srv;
	struct evhttp_request *r;
	const char *method;
	const char *uri; /* path and query, as signed */
	char path[512];
	char *arg[2]; /* the '*' segments of the route */
	const char *body;
	size_t body_len;
	char org[RP_ORG_NAME_MAX + 1];
	char who[RP_NOTE_NAME_MAX + 8]; /* key name, token:<name> or device id */
	struct db_device dev;           /* AUTH_DEVICE: the device, its key the one that signed */
	double t0;
};

/* ---- replies (lib/httpd) ---- */

static struct rp_httpd_line line_of(const struct req *q)
{
	return (struct rp_httpd_line){
		.method = q->method, .path = q->path, .who = q->who, .t0 = q->t0};
}

static void reply(struct req *q, int status, json_t *j)
{
	struct rp_httpd_line l = line_of(q);

	rp_httpd_reply_json(&q->srv->httpd, q->r, status, j, &l, NULL);
}

/* Answers with the JSON error of docs/api.md; the message says what was wrong. */
static void fail(struct req *q, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct req *q, int status, const char *fmt, ...)
{
	struct rp_httpd_line l = line_of(q);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp_httpd_reply_error(&q->srv->httpd, q->r, status, msg, &l);
}

/* Answers a failed db_* call: 404 for RP_E_NOTFOUND, otherwise 500. */
static void fail_db(struct req *q, int r, const char *what)
{
	if (r == RP_E_NOTFOUND)
		fail(q, 404, "no %s in org %s", what, q->org);
	else
		fail(q, 500, "reading %s: %s", what, rp_strerror(r));
}

/* ---- request bodies ---- */

/*
 * Bounded before jansson builds a tree (rp_json_load): an authenticated
 * body may be 2 MiB, and 2 MiB of tiny arrays is a hundred MB of json_t.
 */
static json_t *body_json_values(struct req *q, size_t max_values)
{
	struct rp_diag d = {""};
	json_t *j = NULL;
	int r = rp_json_load(q->body, q->body_len, RP_JSON_DEPTH_MAX, max_values, &j, &d);

	if (r < 0 || !json_is_object(j)) {
		fail(q, r == RP_E_TOOBIG ? 413 : 400,
		     "body is not a JSON object of a few fields: %s", r < 0 ? d.msg : "wrong type");
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *body_json(struct req *q)
{
	return body_json_values(q, RP_HTTP_REQUEST_VALUES_MAX);
}

static bool text_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * A string field of at most max bytes (empty only when empty_ok), with no
 * NUL inside; NULL after failing the request.
 */
static const char *field(struct req *q, json_t *j, const char *name, size_t max, bool empty_ok)
{
	json_t *v = json_object_get(j, name);
	const char *s = json_string_value(v);

	if (!s || (!empty_ok && !*s) || json_string_length(v) > max ||
	    strlen(s) != json_string_length(v)) {
		fail(q, 400, "field `%s' must be a string of %s1 to %zu bytes", name,
		     empty_ok ? "0 or " : "", max);
		return NULL;
	}
	return s;
}

/* Like field(), and printable text only. */
static const char *text_field(struct req *q, json_t *j, const char *name, size_t max, bool empty_ok)
{
	const char *s = field(q, j, name, max, empty_ok);

	if (s && !text_printable(s)) {
		fail(q, 400, "field `%s' must be printable text", name);
		return NULL;
	}
	return s;
}

static bool hash_text_valid(const char *s)
{
	uint8_t h[32];
	return strlen(s) == 71 && !strncmp(s, "sha256:", 7) && rp_hex_decode(s + 7, 64, h, 32) == 0;
}

static bool hex_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/*
 * Decodes base64 that must hold exactly want bytes. The encoded length is
 * checked first, so nothing is allocated for input of the wrong size.
 */
static int b64_exact(const char *s, uint64_t want, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(s), len = 0;
	uint8_t *p;

	if (want > RP_PAYLOAD_MAX || n != (size_t)(want + 2) / 3 * 4)
		return RP_E_PAYLOAD;
	if (!(p = malloc(n / 4 * 3 + 1)))
		return RP_E_NOMEM;
	if (n && (rp_b64_decode(s, n, p, n / 4 * 3 + 1, &len) < 0 || len != want)) {
		free(p);
		return RP_E_PAYLOAD;
	}
	*ret = p;
	*ret_len = len;
	return 0;
}

/* ---- authentication ---- */

static const char *hdr(struct req *q, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(q->r), name);
}

static bool check_sig(struct req *q, const uint8_t pub[32])
{
	struct rp_diag d = {""};

	if (rp_reqsig_verify(pub, q->method, q->uri, hdr(q, RP_REQSIG_HDR_TIME), q->body,
			     q->body_len, hdr(q, RP_REQSIG_HDR_SIG), rp_now(), &d) < 0) {
		fail(q, 401, "request signature refused: %s", d.msg);
		return false;
	}
	return true;
}

/* A request signed by any key of the org's current root policy. */
static bool auth_signed(struct req *q, const char *key)
{
	struct rp_policy *p = db_policy(&q->srv->db, q->org);
	int k = p ? rp_policy_key_index(p, key) : -1;
	char qkey[RP_NOTE_NAME_MAX + 1];
	bool ok = false;

	rp_quote(qkey, sizeof(qkey), key, strlen(key));
	if (k < 0)
		fail(q, 401, "key `%s' is not in the root policy of org %s", qkey, q->org);
	else if ((ok = check_sig(q, p->keys[k].pub)))
		snprintf(q->who, sizeof(q->who), "%s", qkey);
	rp_policy_free(p);
	return ok;
}

/* Authorization: Bearer rpt_<32 hex id>_<64 hex secret>, scoped. */
static bool auth_token(struct req *q, const char *t, enum auth need)
{
	struct db_token tok;
	char id[RP_ID_HEX + 1], hash[72];
	int r;

	if (strlen(t) != 32 + 1 + 64 || t[32] != '_' || !rp_id_valid(t, 32)) {
		fail(q, 401, "malformed API token");
		return false;
	}
	memcpy(id, t, 32);
	id[32] = '\0';
	rp_sha256_text(t + 33, 64, hash);
	r = db_token_get(&q->srv->db, id, q->org, &tok);
	if (r < 0 && r != RP_E_NOTFOUND) {
		fail(q, 500, "looking up API token %s: %s", id, rp_strerror(r));
		return false;
	}
	if (r < 0 || sodium_memcmp(tok.secret_hash, hash, sizeof(hash)) != 0 ||
	    tok.expires <= rp_now()) {
		fail(q, 401, "unknown, revoked or expired API token");
		return false;
	}
	snprintf(q->who, sizeof(q->who), "token:%s", tok.name);
	if (need == AUTH_WRITE && strcmp(tok.scope, "write") != 0) {
		fail(q, 403, "API token has scope %s; this needs write", tok.scope);
		return false;
	}
	return true;
}

static bool auth_admin(struct req *q, enum auth need)
{
	const char *key = hdr(q, RP_REQSIG_HDR_KEY), *authz = hdr(q, "Authorization");

	if (key)
		return auth_signed(q, key);
	if (need != AUTH_SIGNED && authz && !strncmp(authz, "Bearer rpt_", 11))
		return auth_token(q, authz + 11, need);
	fail(q, 401,
	     need == AUTH_SIGNED ? "this needs a request signed by an administrator's key"
				 : "no credentials: sign the request or send an API token");
	return false;
}

static bool auth_device(struct req *q)
{
	const char *id = hdr(q, RP_REQSIG_HDR_KEY);
	struct db_device *dev = &q->dev;
	int r;

	if (!id || !rp_id_valid(id, strlen(id))) {
		fail(q, 401, "no device id in %s", RP_REQSIG_HDR_KEY);
		return false;
	}
	if ((r = db_device_get(&q->srv->db, id, dev)) < 0) {
		if (r == RP_E_NOTFOUND)
			fail(q, 401, "unknown device %s", id);
		else
			fail(q, 500, "looking up device %s: %s", id, rp_strerror(r));
		return false;
	}
	if (!check_sig(q, dev->pub))
		return false;
	memcpy(q->org, dev->org, sizeof(q->org));
	snprintf(q->who, sizeof(q->who), "%s", id);
	return true;
}

/* The hash of the bootstrap token in the Authorization header, if any. */
static bool bootstrap_hash(struct req *q, char hash[72])
{
	const char *a = hdr(q, "Authorization");

	if (!a || strncmp(a, "Bootstrap ", 10) != 0 || strlen(a) > RP_BOOTSTRAP_AUTH_MAX)
		return false;
	rp_sha256_text(a + 10, strlen(a + 10), hash);
	return true;
}

static bool auth_bootstrap(struct req *q)
{
	char hash[72];

	if (!bootstrap_hash(q, hash)) {
		fail(q, 401, "this needs `Authorization: Bootstrap <token>' from rampartd init");
		return false;
	}
	if (db_bootstrap_check(&q->srv->db, hash) < 0) {
		fail(q, 401, "unknown or already used bootstrap token");
		return false;
	}
	snprintf(q->who, sizeof(q->who), "bootstrap");
	return true;
}

/* ---- orgs, enrolment, devices ---- */

static void h_health(struct req *q)
{
	reply(q, 200, json_pack("{s:s, s:s}", "status", "ok", "version", RP_VERSION));
}

/*
 * The policy's `log' line must name the key this server signs the org's
 * checkpoints with, or, when ret_new is given (a version after 1), the key
 * of the org's next log (`rampartd rotate log-key'): then *ret_new is set,
 * and publishing the policy moves the org to that log.
 */
static bool log_key_matches(struct req *q, const struct rp_policy *p, bool *ret_new)
{
	struct db_log next;
	struct rp_vkey v, nv;
	char *want;
	int r = db_log_vkey(&q->srv->db, p->org, &v);

	if (r == RP_E_NOTFOUND) {
		fail(q, 400,
		     "root policy refused: this server has no log key for org %s yet "
		     "(the operator runs `rampartd log-key --org %s')",
		     p->org, p->org);
		return false;
	}
	if (r < 0) {
		fail(q, 500, "reading the log key of %s: %s", p->org, rp_strerror(r));
		return false;
	}
	if (rp_vkey_equal(&v, &p->wp.log))
		return true;
	if (ret_new && db_log_get_next(&q->srv->db, p->org, &next) == 0 &&
	    db_log_vkey_by_id(&q->srv->db, next.id, &nv) == 0 && rp_vkey_equal(&nv, &p->wp.log)) {
		*ret_new = true;
		return true;
	}
	want = rp_vkey_format(&v);
	fail(q, 400,
	     "root policy refused: its log key %s is neither this server's log key for org "
	     "%s, %s, nor the key of a next log (`rampartd rotate log-key --org %s' makes one)",
	     p->wp.log.name, p->org, want ? want : "?", p->org);
	free(want);
	return false;
}

static void h_org_create(struct req *q)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	const char *text;
	char hash[72];
	json_t *j = body_json(q);
	int r;

	if (!j || !(text = field(q, j, "policy", RP_NOTE_MAX, false)))
		goto out;
	if (rp_policy_parse(text, strlen(text), &p, &d) < 0 ||
	    rp_policy_verify_initial(p, p->hash, rp_now(), &d) < 0) {
		fail(q, 400, "root policy refused: %s", d.msg);
		goto out;
	}
	if (p->version != 1) {
		fail(q, 400, "root policy refused: a new org starts at version 1, not %llu",
		     (unsigned long long)p->version);
		goto out;
	}
	if (!log_key_matches(q, p, NULL))
		goto out;
	bootstrap_hash(q, hash); /* present: auth_bootstrap checked it */
	r = db_org_create(&q->srv->db, p->org, p->version, p->hash, text, hash);
	if (r == RP_E_EXISTS) {
		fail(q, 409, "org %s already exists", p->org);
	} else if (r == RP_E_NOTFOUND) {
		fail(q, 401, "bootstrap token already used");
	} else if (r < 0) {
		fail(q, 500, "storing org %s: %s", p->org, rp_strerror(r));
	} else {
		fprintf(stderr, "rampartd: org %s created with root policy version %llu %s\n",
			p->org, (unsigned long long)p->version, p->hash);
		reply(q, 201,
		      json_pack("{s:s, s:I, s:s}", "org", p->org, "version", (json_int_t)p->version,
				"hash", p->hash));
	}
out:
	rp_policy_free(p);
	json_decref(j);
}

static void h_policy(struct req *q)
{
	json_t *j = NULL;
	int r = db_policy_json(&q->srv->db, q->org, &j);

	if (r == RP_E_NOTFOUND)
		fail(q, 404, "no org %s", q->org);
	else if (r < 0)
		fail_db(q, r, "policy");
	else
		reply(q, 200, j);
}

/* ---- root policy N+1 (docs/api.md, POST and GET /v1/orgs/<org>/policies) ---- */

struct proposal_count {
	size_t have_old, have_new, dropped;
};

/*
 * The proposal's note with only the lines that verify by a key of N or of
 * N+1 (the first of each key), in *ret (malloc'd). With refuse_forged, a
 * forged line fails the request (400) naming it: the posted lines; the
 * stored ones were checked when they came and are only filtered again.
 * Returns 0, or -1 after failing the request.
 */
static int proposal_keep_valid(struct req *q, const struct rp_policy *cur,
			       const struct rp_policy *next, bool refuse_forged, char **ret,
			       struct proposal_count *ret_count)
{
	struct rp_rotation_sigs v;
	const struct rp_note *note = next->note;
	size_t len;

	if (rp_policy_rotation_sigs(cur, next, &v) < 0) {
		fail(q, 500, "classifying the signatures of root policy %s", next->hash);
		return -1;
	}
	for (size_t i = 0; refuse_forged && i < note->nsigs; i++) {
		if (v.forged[i]) {
			char qn[RP_NOTE_NAME_MAX + 1];
			rp_quote(qn, sizeof(qn), note->sigs[i].name, strlen(note->sigs[i].name));
			fail(q, 400,
			     "root policy refused: the signature line of `%s' does not verify "
			     "with that key of version %llu or %llu",
			     qn, (unsigned long long)cur->version,
			     (unsigned long long)next->version);
			return -1;
		}
	}
	if (v.nkept == 0) {
		fail(q, 400,
		     "root policy refused: no valid signature by a key of version %llu or %llu",
		     (unsigned long long)cur->version, (unsigned long long)next->version);
		return -1;
	}
	if (rp_note_keep(note, v.keep, ret, &len) < 0) {
		fail(q, 500, "rebuilding root policy %s", next->hash);
		return -1;
	}
	*ret_count = (struct proposal_count){v.have_old, v.have_new, note->nsigs - v.nkept};
	return 0;
}

/* {"state": "pending", "version", "hash", "old": {have, need}, "new": {have, need}}. */
static json_t *proposal_state(const struct rp_policy *cur, const struct rp_policy *next,
			      const struct proposal_count *k)
{
	return json_pack("{s:s, s:I, s:s, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:I}", "state",
			 "pending", "version", (json_int_t)next->version, "hash", next->hash, "old",
			 "version", (json_int_t)cur->version, "have", (json_int_t)k->have_old,
			 "need", (json_int_t)cur->roles[RP_ROLE_ROOT].threshold, "new", "version",
			 (json_int_t)next->version, "have", (json_int_t)k->have_new, "need",
			 (json_int_t)next->roles[RP_ROLE_ROOT].threshold, "dropped",
			 (json_int_t)k->dropped);
}

/* The stored proposal's lines, then the posted ones (same text: same hash). */
static int proposal_merge(const char *stored, const char *posted, char **ret, size_t *ret_len)
{
	struct rp_note *have = NULL, *add = NULL;
	int r;

	if ((r = rp_note_parse(stored, strlen(stored), &have, NULL)) == 0 &&
	    (r = rp_note_parse(posted, strlen(posted), &add, NULL)) == 0)
		r = rp_note_merge(have, add, ret, ret_len);
	rp_note_free(have);
	rp_note_free(add);
	return r;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Room for a new proposal of this version, or the hash already stored. */
static bool proposal_room(struct req *q, const struct rp_policy *next)
{
	char **v = NULL;
	size_t n = 0;
	int r = db_policy_proposals(&q->srv->db, q->org, next->version, &v, &n);
	bool ok = r == 0 && n < RP_POLICY_PROPOSALS_MAX;

	strv_free(v, n);
	if (r < 0)
		fail(q, 500, "listing root policy proposals: %s", rp_strerror(r));
	else if (!ok)
		fail(q, 409,
		     "root policy refused: %d proposals of version %llu are pending already; "
		     "sign one of them (`rampart policy status')",
		     RP_POLICY_PROPOSALS_MAX, (unsigned long long)next->version);
	return ok;
}

static void h_policy_propose(struct req *q)
{
	struct rp_policy *cur = NULL, *next = NULL, *merged_p = NULL;
	struct proposal_count k = {0};
	struct rp_diag d = {""};
	const char *text;
	char *kept = NULL, *stored = NULL, *merged = NULL, *final = NULL;
	size_t mlen;
	uint64_t idx;
	bool new_log = false;
	json_t *j = body_json(q);
	int r;

	if (!j || !(text = field(q, j, "policy", RP_NOTE_MAX, false)))
		goto out;
	if (!(cur = db_policy(&q->srv->db, q->org))) {
		fail(q, 404, "no root policy for org %s", q->org);
		goto out;
	}
	if (rp_policy_parse(text, strlen(text), &next, &d) < 0) {
		fail(q, 400, "root policy refused: %s", d.msg);
		goto out;
	}
	if (strcmp(next->org, q->org) != 0) {
		fail(q, 400, "root policy refused: it is for org %s, not %s", next->org, q->org);
		goto out;
	}
	if (next->version != cur->version + 1) {
		fail(q, 409,
		     "root policy refused: version %llu; the current version is %llu, so only "
		     "version %llu can be proposed",
		     (unsigned long long)next->version, (unsigned long long)cur->version,
		     (unsigned long long)cur->version + 1);
		goto out;
	}
	if (next->expires <= rp_now()) {
		fail(q, 400, "root policy refused: version %llu has already expired",
		     (unsigned long long)next->version);
		goto out;
	}
	if (!log_key_matches(q, next, &new_log))
		goto out;
	if (proposal_keep_valid(q, cur, next, true, &kept, &k) < 0)
		goto out;
	/* Merged with what was collected for the same text, then filtered again. */
	r = db_policy_proposal(&q->srv->db, q->org, next->hash, &stored);
	if (r == RP_E_NOTFOUND) {
		if (!proposal_room(q, next))
			goto out;
		merged = kept;
		kept = NULL;
	} else if (r < 0) {
		fail(q, 500, "reading root policy proposal %s: %s", next->hash, rp_strerror(r));
		goto out;
	} else if ((r = proposal_merge(stored, kept, &merged, &mlen)) < 0) {
		fail(q, 500, "merging with stored root policy proposal %s: %s", next->hash,
		     rp_strerror(r));
		goto out;
	}
	if (rp_policy_parse(merged, strlen(merged), &merged_p, &d) < 0) {
		fail(q, 500, "merged root policy %s does not parse: %s", next->hash, d.msg);
		goto out;
	}
	size_t dropped = k.dropped; /* the posted lines dropped; the stored ones were clean */
	if (proposal_keep_valid(q, cur, merged_p, false, &final, &k) < 0)
		goto out;
	k.dropped += dropped;
	rp_policy_free(merged_p);
	merged_p = NULL;
	if (rp_policy_parse(final, strlen(final), &merged_p, &d) < 0) {
		fail(q, 500, "kept root policy %s does not parse: %s", next->hash, d.msg);
		goto out;
	}
	/* The agents' own rule: published exactly when they will accept it. */
	if (rp_policy_verify_rotation(cur, merged_p, &d) < 0) {
		if ((r = db_policy_propose(&q->srv->db, q->org, next->version, next->hash, final)) <
		    0) {
			fail(q, 500, "storing root policy proposal %s: %s", next->hash,
			     rp_strerror(r));
			goto out;
		}
		fprintf(stderr,
			"rampartd: org %s: root policy version %llu %s signed by %s: %zu of %u "
			"of version %llu, %zu of %u of its own\n",
			q->org, (unsigned long long)next->version, next->hash, q->who, k.have_old,
			cur->roles[RP_ROLE_ROOT].threshold, (unsigned long long)cur->version,
			k.have_new, next->roles[RP_ROLE_ROOT].threshold);
		reply(q, 200, proposal_state(cur, merged_p, &k));
		goto out;
	}
	r = db_policy_publish(&q->srv->db, q->org, next->version, next->hash, final, new_log, &idx);
	if (r == RP_E_EXISTS) {
		fail(q, 409, "root policy refused: version %llu was published meanwhile (stale)",
		     (unsigned long long)next->version);
		goto out;
	}
	if (r == RP_E_TOOBIG) {
		fail(q, 413,
		     "root policy %s with its signatures is more than a log entry holds (%d)",
		     next->hash, RP_LOG_ENTRY_MAX);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "publishing root policy %s: %s", next->hash, rp_strerror(r));
		goto out;
	}
	fprintf(stderr,
		"rampartd: org %s: root policy version %llu %s published at log index %llu "
		"(signed by %s)\n",
		q->org, (unsigned long long)next->version, next->hash, (unsigned long long)idx,
		q->who);
	if (new_log)
		fprintf(stderr,
			"rampartd: org %s: its log ends at entry %llu; new entries go to log %s, "
			"which starts with this policy\n",
			q->org, (unsigned long long)idx, next->wp.log.name);
	reply(q, 201,
	      json_pack("{s:s, s:I, s:s, s:I}", "state", "published", "version",
			(json_int_t)next->version, "hash", next->hash, "index", (json_int_t)idx));
	log_kick(q->srv);
out:
	free(kept);
	free(stored);
	free(merged);
	free(final);
	rp_policy_free(cur);
	rp_policy_free(next);
	rp_policy_free(merged_p);
	json_decref(j);
}

/* The current version, and the proposals of the next one with the signatures collected. */
static void h_policies(struct req *q)
{
	struct rp_policy *cur = db_policy(&q->srv->db, q->org);
	json_t *a = json_array(), *o;
	char **v = NULL;
	size_t n = 0;
	int r;

	if (!cur) {
		fail(q, 404, "no root policy for org %s", q->org);
		json_decref(a);
		return;
	}
	if ((r = db_policy_proposals(&q->srv->db, q->org, cur->version + 1, &v, &n)) < 0) {
		fail_db(q, r, "policy proposals");
		json_decref(a);
		rp_policy_free(cur);
		return;
	}
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	o = a ? json_pack("{s:I, s:s, s:o}", "version", (json_int_t)cur->version, "hash", cur->hash,
			  "proposals", a)
	      : NULL;
	if (o)
		reply(q, 200, o);
	else
		fail(q, 500, "out of memory listing root policy proposals");
	strv_free(v, n);
	rp_policy_free(cur);
}

/* Version N's signed note, as logged, and its log index. */
static void h_policy_version(struct req *q)
{
	char *note = NULL;
	int64_t idx;
	uint64_t version;
	int r;

	if (rp_parse_u64(q->arg[1], strlen(q->arg[1]), UINT32_MAX, &version) != 0 || version < 1) {
		fail(q, 404, "`%s' is not a policy version", q->arg[1]);
		return;
	}
	r = db_policy_version(&q->srv->db, q->org, version, &note, &idx);
	if (r == RP_E_NOTFOUND)
		fail(q, 404, "org %s has no root policy version %llu", q->org,
		     (unsigned long long)version);
	else if (r < 0)
		fail_db(q, r, "policy");
	else
		reply(q, 200,
		      json_pack("{s:s, s:I, s:s, s:I}", "org", q->org, "version",
				(json_int_t)version, "policy", note, "index", (json_int_t)idx));
	free(note);
}

static void h_enroll_token(struct req *q)
{
	json_t *j = body_json(q);
	const char *hash;
	json_int_t exp;
	char id[RP_ID_HEX + 1];
	int r;

	if (!j || !(hash = field(q, j, "secret_hash", 71, false)))
		goto out;
	exp = json_integer_value(json_object_get(j, "expires"));
	if (!hash_text_valid(hash) || exp <= rp_now() ||
	    exp > rp_now() + RP_ENROLL_TOKEN_TTL_MAX_S) {
		fail(q, 400, "need secret_hash sha256:<hex> and expires within 30 days");
		goto out;
	}
	rp_random_hex(id, 16);
	r = db_enroll_token_add(&q->srv->db, id, q->org, hash, exp, q->who);
	if (r == RP_E_EXISTS)
		fail(q, 409, "an enrolment token with this secret already exists");
	else if (r < 0)
		fail(q, 500, "storing the enrolment token: %s", rp_strerror(r));
	else
		reply(q, 201, json_pack("{s:s}", "id", id));
out:
	json_decref(j);
}

/* The proof: the device key's signature over "rampart-enroll/v1\n<org>\n<secret>\n". */
static bool enroll_proof_ok(const char *org, const char *secret, const uint8_t pub[32],
			    const uint8_t proof[64])
{
	char msg[32 + RP_ORG_NAME_MAX + 64 + 4];
	int n = snprintf(msg, sizeof(msg), "rampart-enroll/v1\n%s\n%s\n", org, secret);

	return n > 0 && (size_t)n < sizeof(msg) &&
	       crypto_sign_verify_detached(proof, (const uint8_t *)msg, (size_t)n, pub) == 0;
}

/*
 * The device's signed facts, when it sends them (older agents do not):
 * they must verify with its key and say what the request says, so that
 * the columns the server shows and the note the CLI verifies agree.
 */
static bool enroll_facts_ok(struct req *q, const struct db_device *dev, const char *org)
{
	struct rp_facts f;
	struct rp_diag d = {""};

	if (rp_facts_verify(dev->facts, strlen(dev->facts), dev->pub, &f, &d) < 0) {
		fail(q, 400, "facts refused: %s", d.msg);
		return false;
	}
	if (strcmp(f.org, org) != 0 || strcmp(f.hostname, dev->hostname) != 0 ||
	    strcmp(f.os, dev->os) != 0 || strcmp(f.agent_version, dev->agent_version) != 0) {
		fail(q, 400,
		     "facts refused: the signed facts differ from hostname, os, "
		     "agent_version or org");
		return false;
	}
	return true;
}

/*
 * A device enrolled by a reusable token (lib/enroll.h): its enrolment note,
 * signed by the token's key and its own, is judged against this server's
 * fold of the directory and its clock, then logged with the device row.
 * The fold of that note is what puts the device in the token's groups, for
 * every observer; refusing here only spares the log what no fold would take.
 */
static void enroll_reusable(struct req *q, json_t *j)
{
	const char *org, *note;
	struct db_device dev = {0};
	struct rp_enrolment e;
	struct rp_dir_state ds;
	const struct rp_dir_token *t;
	struct rp_diag d = {""};
	uint64_t idx;
	int r, status;

	if (!(org = field(q, j, "org", RP_ORG_NAME_MAX, false)) ||
	    !(note = field(q, j, "enrolment", RP_ENROLMENT_NOTE_MAX, false)) ||
	    !(dev.hostname = text_field(q, j, "hostname", RP_FACTS_HOSTNAME_MAX, false)) ||
	    !(dev.os = text_field(q, j, "os", RP_FACTS_OS_MAX, true)) ||
	    !(dev.agent_version = text_field(q, j, "agent_version", RP_FACTS_VERSION_MAX, false)))
		return;
	if (json_object_get(j, "facts") &&
	    !(dev.facts = field(q, j, "facts", RP_FACTS_MAX + RP_KEYTEXT_MAX, false)))
		return;
	if (!rp_org_name_valid(org, strlen(org))) {
		fail(q, 400, "org must be an org name");
		return;
	}
	snprintf(q->org, sizeof(q->org), "%s", org);
	if ((r = db_directory_state(&q->srv->db, org, &ds)) < 0) {
		fail_db(q, r, "directory");
		return;
	}
	r = rp_dir_enrol_judge(&ds, (const uint8_t *)note, strlen(note), &e, &d);
	t = r == 0 ? rp_dir_token_get(&ds.dir, e.token) : NULL;
	status = r == RP_E_MALFORMED || r == RP_E_ORG ? 400 : r == RP_E_EXISTS ? 409 : 403;
	if (r < 0) {
		fail(q, status, "enrolment refused: %s", d.msg);
	} else if (rp_now() >= t->expires) {
		fail(q, 403, "enrolment refused: token %s has expired", e.token);
		r = RP_E_EXPIRED;
	} else if (e.time > rp_now() + RP_ENROLMENT_SKEW_S ||
		   e.time < rp_now() - RP_ENROLMENT_SKEW_S) {
		fail(q, 400, "enrolment refused: its time is over %d s from this server's clock",
		     RP_ENROLMENT_SKEW_S);
		r = RP_E_NOTYET;
	} else if (strcmp(e.hostname, dev.hostname) != 0) {
		fail(q, 400, "enrolment refused: the note names hostname %s, the request %s",
		     e.hostname, dev.hostname);
		r = RP_E_INVAL;
	}
	rp_dir_state_release(&ds);
	if (r < 0)
		return;
	memcpy(dev.pub, e.pub, sizeof(dev.pub));
	memcpy(dev.id, e.device, sizeof(dev.id));
	snprintf(dev.org, sizeof(dev.org), "%s", org);
	if (dev.facts && !enroll_facts_ok(q, &dev, org))
		return;
	r = db_enrol_logged(&q->srv->db, &dev, note, &idx);
	if (r == RP_E_EXISTS) {
		fail(q, 409, "device %s is already enrolled", dev.id);
	} else if (r < 0) {
		fail(q, 500, "storing device %s: %s", dev.id, rp_strerror(r));
	} else {
		snprintf(q->who, sizeof(q->who), "%s", dev.id);
		fprintf(stderr,
			"rampartd: device %s (%s) enrolled in org %s by token %s (log entry %llu)\n",
			dev.id, dev.hostname, org, e.token, (unsigned long long)idx);
		log_kick(q->srv);
		char entry[24];
		snprintf(entry, sizeof(entry), "%llu", (unsigned long long)idx);
		/* the index also as a string: the agent's answers carry string fields only */
		reply(q, 201,
		      json_pack("{s:s, s:I, s:s}", "device_id", dev.id, "index", (json_int_t)idx,
				"entry", entry));
	}
}

static void h_enroll(struct req *q)
{
	json_t *j = body_json(q);
	const char *org, *secret, *pub64, *proof64;
	struct db_device dev = {0};
	uint8_t proof[66];
	size_t publen, prooflen;
	char hash[72];
	int r;

	if (j && json_object_get(j, "enrolment")) {
		enroll_reusable(q, j);
		goto out;
	}
	if (!j || !(org = field(q, j, "org", RP_ORG_NAME_MAX, false)) ||
	    !(secret = field(q, j, "secret", 64, false)) ||
	    !(pub64 = field(q, j, "pubkey", 44, false)) ||
	    !(dev.hostname = text_field(q, j, "hostname", RP_FACTS_HOSTNAME_MAX, false)) ||
	    !(dev.os = text_field(q, j, "os", RP_FACTS_OS_MAX, true)) ||
	    !(dev.agent_version = text_field(q, j, "agent_version", RP_FACTS_VERSION_MAX, false)) ||
	    !(proof64 = field(q, j, "proof", 88, false)))
		goto out;
	if (json_object_get(j, "facts") &&
	    !(dev.facts = field(q, j, "facts", RP_FACTS_MAX + RP_KEYTEXT_MAX, false)))
		goto out;
	if (!rp_org_name_valid(org, strlen(org)) || !hex_valid(secret)) {
		fail(q, 400, "org must be an org name and secret lowercase hex");
		goto out;
	}
	if (rp_b64_decode(pub64, strlen(pub64), dev.pub, sizeof(dev.pub), &publen) < 0 ||
	    publen != 32 ||
	    rp_b64_decode(proof64, strlen(proof64), proof, sizeof(proof), &prooflen) < 0 ||
	    prooflen != 64) {
		fail(q, 400, "pubkey and proof must be base64 of 32 and 64 bytes");
		goto out;
	}
	if (!enroll_proof_ok(org, secret, dev.pub, proof)) {
		fail(q, 400, "enrolment proof does not verify with the device key");
		goto out;
	}
	if (dev.facts && !enroll_facts_ok(q, &dev, org))
		goto out;
	rp_sha256_text(secret, strlen(secret), hash);
	rp_device_id(dev.pub, dev.id);
	snprintf(dev.org, sizeof(dev.org), "%s", org);
	r = db_enroll(&q->srv->db, hash, &dev);
	if (r == RP_E_NOTFOUND) {
		fail(q, 403, "enrolment secret is unknown, used or expired for org %s", org);
	} else if (r == RP_E_EXISTS) {
		fail(q, 409, "device %s is already enrolled", dev.id);
	} else if (r < 0) {
		fail(q, 500, "storing device %s: %s", dev.id, rp_strerror(r));
	} else {
		snprintf(q->who, sizeof(q->who), "%s", dev.id);
		fprintf(stderr, "rampartd: device %s (%s) enrolled in org %s\n", dev.id,
			dev.hostname, org);
		reply(q, 201, json_pack("{s:s}", "device_id", dev.id));
	}
out:
	json_decref(j);
}

/* GET endpoints that list rows: {"<key>": [...]}. */
static void reply_list(struct req *q, const char *key, int r, json_t *a)
{
	if (r < 0)
		fail_db(q, r, key);
	else
		reply(q, 200, json_pack("{s:o}", key, a));
}

static void h_devices(struct req *q)
{
	json_t *a = NULL;
	int r = db_devices_json(&q->srv->db, q->org, &a);

	reply_list(q, "devices", r, a);
}

/* ---- commands ---- */

/*
 * The signed command text with only the signature lines that verify by a
 * key of the org's root policy, the first line of each key; everything
 * else is dropped: a bad signature, a key id that does not belong to the
 * name, a key the policy does not hold. What is stored, logged and served
 * to agents and administrators then carries no line that could pass for
 * an approval. *ret_cmd is parsed from the kept text (*ret_text).
 * Returns 1 when the quorum of the command's role is met, 0 when at least
 * one key of the role signed, or -1 after failing the request.
 */
struct signed_command {
	struct rp_command *cmd;
	char *text;
	size_t len, dropped, count;
	uint32_t threshold;
};

static void signed_command_release(struct signed_command *sc)
{
	rp_command_free(sc->cmd);
	free(sc->text);
	memset(sc, 0, sizeof(*sc));
}

static int command_keep_valid(struct req *q, const char *text, size_t len,
			      struct signed_command *ret)
{
	struct rp_policy *p = db_policy(&q->srv->db, q->org);
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	bool keep[RP_NOTE_SIGS_MAX];
	struct signed_command sc = {0};
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	enum rp_role_id role;
	int r, ok = -1;

	if (!p) {
		fail(q, 404, "no root policy for org %s", q->org);
		return -1;
	}
	if (rp_command_parse(text, len, &c, &d) < 0) {
		fail(q, 400, "statement refused: %s", d.msg);
		goto out;
	}
	role = rp_command_role(c);
	if (rp_policy_classify(p, role, c->note, v, &sc.count) < 0) {
		fail(q, 500, "classifying the signatures of %s", c->id);
		goto out;
	}
	for (size_t i = 0; i < c->note->nsigs; i++) {
		keep[i] =
			(v[i].verdict == RP_SIG_ROLE || v[i].verdict == RP_SIG_OTHER) && v[i].first;
		sc.dropped += !keep[i];
	}
	/*
	 * Where the root policy asks more of some device groups, the statement
	 * waits for the strictest among the devices it reaches (this server's
	 * fold of the directory): logged at the role's own threshold, those
	 * devices would refuse it, and no later signature could reach them.
	 */
	sc.threshold = p->roles[role].threshold;
	if (p->ngthresholds) {
		struct rp_dir_state ds;
		if ((r = db_directory_state(&q->srv->db, q->org, &ds)) < 0) {
			fail_db(q, r, "directory");
			goto out;
		}
		sc.threshold = rp_dir_statement_threshold(p, &ds.dir, c);
		rp_dir_state_release(&ds);
	}
	if (sc.count == 0) {
		fail(q, 400, "statement has no valid signature by a key of the %s role",
		     rp_role_name(role));
		goto out;
	}
	if ((r = rp_note_keep(c->note, keep, &sc.text, &sc.len)) < 0 ||
	    (r = rp_command_parse(sc.text, sc.len, &sc.cmd, &d)) < 0) {
		fail(q, 500, "rebuilding the statement of %s: %s", c->id, rp_strerror(r));
		goto out;
	}
	/* The agents' own rule on what is kept: approved exactly when they will accept it. */
	r = rp_quorum_check_min(p, role, sc.threshold, sc.cmd->note, &sc.count, &d);
	if (r < 0 && r != RP_E_QUORUM) {
		fail(q, 400, "statement signatures refused: %s", d.msg[0] ? d.msg : rp_strerror(r));
		goto out;
	}
	if (sc.dropped)
		fprintf(stderr,
			"%srampartd: command %s: dropped %zu signature line%s that do not "
			"verify against the root policy of org %s\n",
			rp_log_prio(LOG_WARNING), c->id, sc.dropped, sc.dropped == 1 ? "" : "s",
			q->org);
	ok = r == 0 ? 1 : 0;
	*ret = sc;
	memset(&sc, 0, sizeof(sc));
out:
	signed_command_release(&sc);
	rp_command_free(c);
	rp_policy_free(p);
	return ok;
}

static json_t *command_state(const char *id, bool approved, bool scheduled,
			     const struct signed_command *sc)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", id, "state",
			 !approved   ? "pending-approval"
			 : scheduled ? "scheduled"
				     : "approved",
			 "signatures", (json_int_t)sc->count, "threshold",
			 (json_int_t)sc->threshold, "dropped", (json_int_t)sc->dropped);
}

/*
 * An approval whose not-before is still ahead on this server's clock is
 * held back, unlogged, until then (db.c): logged now, it would reach
 * agents at once and be refused as not yet valid, which consumes its log
 * index for good; logged at its time, it runs at its time, after
 * everything logged before. An administrator's clock ahead of this one
 * delays an immediate command by the difference, bounded by the signed
 * request's RP_REQUEST_SKEW_S (docs/operating.md, Clocks).
 */
static bool held_back(const struct rp_command *c)
{
	return c->not_before > rp_now();
}

/*
 * Every device id target must be a device of this org: the server never
 * widens a target set. A device group or tag is the directory's to
 * resolve, on each device; a directory statement must be the next version
 * of the directory (409 otherwise: it was made against an older one).
 */
static bool targets_known(struct req *q, const struct rp_command *c, const char *text)
{
	if (c->kind == RP_KIND_DIRECTORY) {
		int r = db_directory_next(&q->srv->db, q->org, text);
		if (r == RP_E_CONFLICT)
			fail(q, 409,
			     "directory statement %s is not the next version of the directory "
			     "(made against an older one, or expired): rebuild the change",
			     c->id);
		else if (r < 0)
			fail(q, r == RP_E_MALFORMED ? 400 : 500,
			     "checking directory statement %s: %s", c->id, rp_strerror(r));
		return r == 0;
	}
	struct rp_dir_state ds;
	bool folded = false, ok = true;
	for (size_t i = 0; ok && i < c->ntargets; i++) {
		if (!rp_id_valid(c->targets[i], strlen(c->targets[i])))
			continue;
		int r = db_device_in_org(&q->srv->db, c->targets[i], q->org);
		if (r == RP_E_NOTFOUND) {
			fail(q, 400, "target %s is not a device of org %s", c->targets[i], q->org);
			ok = false;
		} else if (r < 0) {
			fail(q, 500, "looking up target %s: %s", c->targets[i], rp_strerror(r));
			ok = false;
		} else if (!folded && (r = db_directory_state(&q->srv->db, q->org, &ds)) < 0) {
			fail_db(q, r, "directory");
			ok = false;
		} else {
			/* decommissioned in the signed directory: never served again */
			const struct rp_dir_device *v;
			folded = true;
			if ((v = rp_dir_device_get(&ds.dir, c->targets[i])) && v->decommissioned) {
				fail(q, 400,
				     "target %s is decommissioned (the signed directory says so)",
				     c->targets[i]);
				ok = false;
			}
		}
	}
	if (folded)
		rp_dir_state_release(&ds);
	return ok;
}

/*
 * An upgrade's payload is a release of this org whose package is stored
 * whole, so that approvers are not asked to sign what no device could
 * fetch. A courtesy only: devices check the release and the bytes
 * themselves. False after failing q.
 */
static bool upgrade_stored(struct req *q, const uint8_t *payload, size_t len)
{
	struct rp_release *rel = NULL;
	struct rp_diag d = {""};
	char hex[65];
	uint64_t size = 0;
	bool ok;
	int r;

	if (rp_release_parse_text((const char *)payload, len, &rel, &d) < 0) {
		fail(q, 400, "the upgrade's payload is not a release statement: %s", d.msg);
		return false;
	}
	rp_hex_encode(rel->hash, 32, hex);
	r = strcmp(rel->org, q->org) != 0 ? RP_E_ORG
					  : db_package_info(&q->srv->db, q->org, hex, &size);
	if (r == RP_E_ORG)
		fail(q, 400, "the upgrade's release is for org %s, not %s", rel->org, q->org);
	else if (r == RP_E_NOTFOUND || (r == 0 && size != rel->size))
		fail(q, 409,
		     "package sha256:%s (%llu bytes) is not stored whole: upload it first "
		     "(rampart upgrade does)",
		     hex, (unsigned long long)rel->size);
	else if (r < 0)
		fail_db(q, r, "package");
	ok = r == 0 && size == rel->size;
	rp_release_free(rel);
	return ok;
}

static void h_cmd_submit(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_command *c = NULL;
	struct signed_command sc = {0};
	struct rp_diag d = {""};
	const char *text, *p64;
	uint8_t *payload = NULL, h[32];
	struct db_command row = {0};
	char when[21];
	int ok, r;

	if (!j || !(text = field(q, j, "statement", RP_LOG_ENTRY_MAX, false)) ||
	    !(p64 = field(q, j, "payload", (RP_PAYLOAD_MAX + 2) / 3 * 4, true)))
		goto out;
	if (rp_command_parse(text, strlen(text), &c, &d) < 0) {
		fail(q, 400, "statement refused: %s", d.msg);
		goto out;
	}
	if (strcmp(c->org, q->org) != 0) {
		fail(q, 400, "statement is for org %s, not %s", c->org, q->org);
		goto out;
	}
	if ((r = b64_exact(p64, c->payload_size, &payload, &row.payload_len)) < 0) {
		fail(q, r == RP_E_NOMEM ? 500 : 400,
		     "payload is not base64 of the statement's "
		     "%llu bytes",
		     (unsigned long long)c->payload_size);
		goto out;
	}
	rp_sha256(payload, row.payload_len, h);
	if (sodium_memcmp(h, c->payload_hash, 32) != 0) {
		fail(q, 400, "payload does not match the statement's hash");
		goto out;
	}
	if (c->kind == RP_KIND_UPGRADE && !upgrade_stored(q, payload, row.payload_len))
		goto out;
	if (!targets_known(q, c, text) || (ok = command_keep_valid(q, text, strlen(text), &sc)) < 0)
		goto out;
	row.cmd = sc.cmd;
	row.statement = sc.text;
	row.payload = payload;
	row.approved = ok == 1;
	row.signatures = sc.count;
	row.threshold = sc.threshold;
	row.scheduled = row.approved && held_back(sc.cmd);
	r = db_command_insert(&q->srv->db, &row);
	if (r == RP_E_EXISTS) {
		fail(q, 409, "command %s already exists", c->id);
		goto out;
	}
	if (r == RP_E_CONFLICT) {
		fail(q, 409, "directory statement %s is not the next version of the directory",
		     c->id);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "storing command %s: %s", c->id, rp_strerror(r));
		goto out;
	}
	rp_time_format(c->not_before, when);
	fprintf(stderr,
		"rampartd: command %s submitted by %s to %zu targets: %zu of %u signatures%s%s\n",
		c->id, q->who, c->ntargets, row.signatures, row.threshold,
		row.scheduled  ? ", approved, scheduled for "
		: row.approved ? ", approved"
			       : "",
		row.scheduled ? when : "");
	reply(q, 201, command_state(c->id, row.approved, row.scheduled, &sc));
	if (row.approved)
		log_kick(q->srv);
out:
	free(payload);
	signed_command_release(&sc);
	rp_command_free(c);
	json_decref(j);
}

static bool query_u64(struct req *q, const char *name, uint64_t max, uint64_t *ret);
static int query_value(struct req *q, const char *name, char *out, size_t cap);

/*
 * ?limit=N (default RP_COMMANDS_LIST_DEFAULT): the newest commands with
 * their signed statements, so that the CLI derives every state from what
 * it verifies; "truncated" when the statements would pass the cap.
 */
static void h_cmd_list(struct req *q)
{
	json_t *a = NULL;
	uint64_t limit;
	bool truncated = false;
	int r;

	if (!query_u64(q, "limit", RP_COMMANDS_LIST_MAX, &limit))
		return;
	r = db_commands_json(&q->srv->db, q->org, limit ? (size_t)limit : RP_COMMANDS_LIST_DEFAULT,
			     RP_COMMANDS_LIST_BYTES, &a, &truncated);
	if (r < 0)
		fail_db(q, r, "commands");
	else
		reply(q, 200, json_pack("{s:o, s:b}", "commands", a, "truncated", truncated));
}

static void h_cmd_get(struct req *q)
{
	json_t *j = NULL;
	int r = db_command_json(&q->srv->db, q->org, q->arg[1], &j);

	if (r < 0)
		fail_db(q, r, "such command");
	else
		reply(q, 200, j);
}

/*
 * The stored note merged with the signature lines of the posted one: the
 * texts must be byte-identical. Fails the request and returns NULL otherwise.
 */
static char *merge_signatures(struct req *q, const char *stored, const char *posted,
			      size_t *ret_len)
{
	struct rp_note *have = NULL, *add = NULL;
	struct rp_diag d = {""};
	char *merged = NULL;

	if (rp_note_parse(posted, strlen(posted), &add, &d) < 0)
		fail(q, 400, "statement refused: %s", d.msg);
	else if (rp_note_parse(stored, strlen(stored), &have, &d) < 0)
		fail(q, 500, "stored statement of %s does not parse: %s", q->arg[1], d.msg);
	else if (rp_note_merge(have, add, &merged, ret_len) < 0)
		fail(q, 400, "the signed text differs from that of command %s", q->arg[1]);
	rp_note_free(have);
	rp_note_free(add);
	return merged;
}

static void h_cmd_sign(struct req *q)
{
	json_t *j = body_json(q);
	struct signed_command sc = {0};
	const char *text;
	char *stored = NULL, *merged = NULL, when[21];
	struct db_command row = {0};
	bool was_approved = false;
	size_t mlen;
	int ok, r;

	if (!j || !(text = field(q, j, "statement", RP_LOG_ENTRY_MAX, false)))
		goto out;
	if ((r = db_command_statement(&q->srv->db, q->org, q->arg[1], &stored, &was_approved)) <
	    0) {
		fail_db(q, r, "such command");
		goto out;
	}
	if ((r = db_command_is_cancelled(&q->srv->db, q->org, q->arg[1])) != 0) {
		if (r > 0)
			fail(q, 409,
			     "command %s is cancelled (a signed cancel is logged): a signature "
			     "changes nothing and is not recorded",
			     q->arg[1]);
		else
			fail_db(q, r, "such command");
		goto out;
	}
	/* Merged, then only what verifies kept: a forged line stored earlier goes too. */
	if (!(merged = merge_signatures(q, stored, text, &mlen)) ||
	    (ok = command_keep_valid(q, merged, mlen, &sc)) < 0)
		goto out;
	/*
	 * A signature that can change nothing is refused, not recorded: on a
	 * command approved already ("3 of 2") or one past its expiry, which
	 * no agent runs any more (docs/api.md).
	 */
	if (was_approved) {
		fail(q, 409,
		     "command %s is approved already (its quorum was reached): a further "
		     "signature changes nothing and is not recorded",
		     sc.cmd->id);
		goto out;
	}
	if (rp_now() >= sc.cmd->expires) {
		rp_time_format(sc.cmd->expires, when);
		fail(q, 409,
		     "command %s expired at %s: no agent runs it any more, so a signature is not "
		     "recorded (submit it again)",
		     sc.cmd->id, when);
		goto out;
	}
	row.cmd = sc.cmd;
	row.statement = sc.text;
	row.approved = ok == 1;
	row.scheduled = row.approved && held_back(sc.cmd);
	row.was_approved = was_approved;
	row.signatures = sc.count;
	row.threshold = sc.threshold;
	if ((r = db_command_sign(&q->srv->db, &row)) == RP_E_TOOBIG) {
		fail(q, 413,
		     "command %s with its signatures is %zu bytes, more than a log entry "
		     "may hold (%d)",
		     sc.cmd->id, sc.len, RP_LOG_ENTRY_MAX);
		goto out;
	}
	if (r == RP_E_CONFLICT) {
		/* approved now, but another change of the directory was logged first */
		fail(q, 409,
		     "directory statement %s is no longer the next version of the directory "
		     "(another change was logged first, or it expired): rebuild the change",
		     sc.cmd->id);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "storing signatures of %s: %s", sc.cmd->id, rp_strerror(r));
		goto out;
	}
	rp_time_format(sc.cmd->not_before, when);
	fprintf(stderr, "rampartd: command %s signed by %s: %zu of %u signatures%s%s\n", sc.cmd->id,
		q->who, row.signatures, row.threshold,
		!row.approved || was_approved ? ""
		: row.scheduled               ? ", approved, scheduled for "
					      : ", approved",
		row.approved && !was_approved && row.scheduled ? when : "");
	reply(q, 200, command_state(sc.cmd->id, row.approved || was_approved, row.scheduled, &sc));
	if (row.approved && !was_approved)
		log_kick(q->srv); /* logged (or its due time armed); delivered once witnessed */
out:
	signed_command_release(&sc);
	free(merged);
	free(stored);
	json_decref(j);
}

/*
 * A signed cancel (lib/cancel.h) of command arg[1]: one valid signature by
 * a key of the exec role is enough, and only those lines are kept. It is
 * appended to the log, so that every agent's walk reads it, and the
 * command is never logged from then on. 409 when it would change nothing
 * (cancelled already, expired, every target reported) or a reject of a
 * command that is approved.
 */
static void h_cmd_cancel(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_cancel *c = NULL, *kept = NULL;
	struct rp_command *cmd = NULL;
	struct rp_policy *p = NULL;
	struct rp_sig_check v[RP_NOTE_SIGS_MAX];
	bool keep[RP_NOTE_SIGS_MAX], approved = false;
	struct rp_diag d = {""};
	char *stored = NULL, *text = NULL, who[RP_NOTE_NAME_MAX + 1];
	const char *note;
	uint8_t h[32];
	uint64_t idx = 0;
	size_t len, open = 0;
	int r;

	if (!j || !(note = field(q, j, "cancel", RP_CANCEL_NOTE_MAX, false)))
		goto out;
	if (rp_cancel_parse(note, strlen(note), &c, &d) < 0) {
		fail(q, 400, "cancel refused: %s", d.msg);
		goto out;
	}
	if (strcmp(c->org, q->org) != 0 || strcmp(c->command, q->arg[1]) != 0) {
		fail(q, 400, "the cancel names command %s of org %s, not %s of %s", c->command,
		     c->org, q->arg[1], q->org);
		goto out;
	}
	if ((r = db_command_statement(&q->srv->db, q->org, q->arg[1], &stored, &approved)) < 0) {
		fail_db(q, r, "such command");
		goto out;
	}
	if ((r = rp_command_parse(stored, strlen(stored), &cmd, &d)) < 0) {
		fail(q, 500, "stored statement of %s does not parse: %s", q->arg[1], d.msg);
		goto out;
	}
	if (cmd->kind == RP_KIND_DIRECTORY) {
		fail(q, 400,
		     "%s is a directory statement: it is not cancelled, it is superseded "
		     "(make the next directory version)",
		     q->arg[1]);
		goto out;
	}
	rp_cancel_statement_hash(cmd->note->msg, cmd->note->text_len, h);
	if (sodium_memcmp(h, c->statement_hash, 32) != 0) {
		fail(q, 400, "the cancel names another statement text than command %s's",
		     q->arg[1]);
		goto out;
	}
	if (c->until < cmd->expires) {
		/* agents keep it longer anyway (agent/cancel.c); an honest CLI never writes this */
		fail(q, 400, "the cancel's until is before command %s's expiry: sign it again",
		     q->arg[1]);
		goto out;
	}
	if (!(p = db_policy(&q->srv->db, q->org))) {
		fail(q, 404, "no root policy for org %s", q->org);
		goto out;
	}
	if (rp_cancel_check(p, c, who, &d) < 0) {
		fail(q, 403, "cancel refused: %s", d.msg);
		goto out;
	}
	if (c->kind == RP_CANCEL_REJECT && approved) {
		fail(q, 409,
		     "command %s is approved already: an approver's reject comes too late "
		     "(cancel it instead)",
		     q->arg[1]);
		goto out;
	}
	if (rp_now() >= cmd->expires) {
		fail(q, 409, "command %s has expired: no agent runs it any more", q->arg[1]);
		goto out;
	}
	if ((r = db_command_final(&q->srv->db, q->org, q->arg[1], &open)) < 0) {
		fail_db(q, r, "deliveries");
		goto out;
	}
	if (approved && open == 0 && !cmd->by_directory && !cmd->all_devices) {
		fail(q, 409, "every target of command %s has reported: nothing is left to cancel",
		     q->arg[1]);
		goto out;
	}
	/* only the lines that verify by a key of the role are logged */
	if (rp_policy_classify(p, RP_ROLE_EXEC, c->note, v, NULL) < 0) {
		fail(q, 500, "classifying the signatures of the cancel");
		goto out;
	}
	for (size_t i = 0; i < c->note->nsigs; i++)
		keep[i] = v[i].verdict == RP_SIG_ROLE && v[i].first;
	if (rp_note_keep(c->note, keep, &text, &len) < 0 ||
	    rp_cancel_parse(text, len, &kept, &d) < 0) {
		fail(q, 500, "rebuilding the cancel of %s", q->arg[1]);
		goto out;
	}
	r = db_command_cancel(&q->srv->db, q->org, q->arg[1], text, c->kind == RP_CANCEL_REJECT,
			      &idx);
	if (r == RP_E_EXISTS) {
		fail(q, 409, "command %s is cancelled already", q->arg[1]);
		goto out;
	}
	if (r < 0) {
		fail_db(q, r, "such command");
		goto out;
	}
	fprintf(stderr, "rampartd: command %s %s by %s (log entry %llu)\n", q->arg[1],
		c->kind == RP_CANCEL_REJECT ? "rejected" : "cancelled", who,
		(unsigned long long)idx);
	reply(q, 200,
	      json_pack("{s:s, s:s, s:s, s:I}", "id", q->arg[1], "state",
			c->kind == RP_CANCEL_REJECT ? "rejected" : "cancelled", "by", who, "index",
			(json_int_t)idx));
	log_kick(q->srv);
out:
	rp_cancel_free(kept);
	rp_cancel_free(c);
	rp_command_free(cmd);
	rp_policy_free(p);
	free(stored);
	free(text);
	json_decref(j);
}

/* The command exactly as agents receive it, with its log proofs. */

/* ?size=N: with a consistency proof from the checkpoint size a device holds. */
static void h_cmd_delivery(struct req *q)
{
	json_t *j = NULL;
	uint64_t have;
	int r;

	if (!query_u64(q, "size", INT64_MAX, &have))
		return;
	r = log_command_delivery(q->srv, q->org, q->arg[1], have, &j);

	if (r == RP_E_NOTFOUND)
		fail(q, 404,
		     "command %s is not in a witnessed checkpoint of org %s (not approved, "
		     "scheduled and not yet due, or not yet cosigned)",
		     q->arg[1], q->org);
	else if (r < 0)
		fail(q, 500, "building the delivery: %s", rp_strerror(r));
	else
		reply(q, 200, j);
}

/*
 * The results with what the CLI needs to verify them: the signed
 * statement (its targets and window) and per target the device-signed
 * result note and the device's public key.
 */
static void h_results(struct req *q)
{
	json_t *a = NULL;
	char *statement = NULL, *cancel = NULL;
	bool approved;
	int r = db_command_statement(&q->srv->db, q->org, q->arg[1], &statement, &approved);

	if (r == 0)
		r = db_results_json(&q->srv->db, q->org, q->arg[1], &a);
	if (r == RP_E_NOTFOUND)
		fail(q, 404, "no command %s in org %s", q->arg[1], q->org);
	else if (r < 0)
		fail_db(q, r, "results");
	else if ((r = db_command_cancel_note(&q->srv->db, q->org, q->arg[1], &cancel)) < 0)
		fail_db(q, r, "results");
	else
		reply(q, 200,
		      json_pack("{s:s, s:o, s:s?}", "statement", statement, "results", a, "cancel",
				cancel));
	free(cancel);
	free(statement);
}

/*
 * ?from=N: the logged directory statements from the N-th on, as logged
 * (signatures included), for the CLI's own fold: it verifies each, and
 * the chain between them, before it shows or builds on any.
 */
static void h_directory(struct req *q)
{
	json_t *a = NULL;
	uint64_t from;
	bool more;
	int r;

	if (!query_u64(q, "from", INT64_MAX, &from))
		return;
	r = db_directory_json(&q->srv->db, q->org, from, RP_DIR_ANSWER_BYTES, &a, &more);
	if (r < 0)
		fail_db(q, r, "directory");
	else
		reply(q, 200,
		      json_pack("{s:I, s:o, s:b}", "from", (json_int_t)from, "entries", a, "more",
				more));
}

static void h_alerts(struct req *q)
{
	json_t *a = NULL;
	int r = db_alerts_json(&q->srv->db, q->org, &a);

	reply_list(q, "alerts", r, a);
}

/*
 * {"id": N} or {"all": true}: alerts acknowledged by the administrator
 * whose key signed the request. The server's record, as alerts are.
 */
static void h_alerts_ack(struct req *q)
{
	json_t *j = body_json(q), *id;
	json_int_t n = 0;
	int done = 0, r;

	if (!j)
		return;
	id = json_object_get(j, "id");
	if (json_is_true(json_object_get(j, "all")) == (id != NULL) ||
	    (id && (!json_is_integer(id) || (n = json_integer_value(id)) <= 0))) {
		fail(q, 400, "expected {\"id\": N} (a positive alert id) or {\"all\": true}");
		json_decref(j);
		return;
	}
	r = db_alert_ack(&q->srv->db, q->org, (int64_t)n, q->who, rp_now(), &done);
	if (r < 0)
		fail_db(q, r, "alerts");
	else if (n > 0 && done == 0)
		fail(q, 404, "no alert %lld in org %s that is not acknowledged already",
		     (long long)n, q->org);
	else {
		fprintf(stderr, "rampartd: %d alert%s of %s acknowledged by %s\n", done,
			done == 1 ? "" : "s", q->org, q->who);
		reply(q, 200, json_pack("{s:i, s:s}", "acknowledged", done, "by", q->who));
	}
	json_decref(j);
}

/* ---- API tokens ---- */

static void h_token_create(struct req *q)
{
	json_t *j = body_json(q);
	const char *name, *scope, *hash;
	json_int_t exp;
	char id[RP_ID_HEX + 1];
	int r;

	if (!j || !(name = text_field(q, j, "name", RP_API_TOKEN_NAME_MAX, false)) ||
	    !(scope = field(q, j, "scope", 8, false)) ||
	    !(hash = field(q, j, "secret_hash", 71, false)))
		goto out;
	exp = json_integer_value(json_object_get(j, "expires"));
	if ((strcmp(scope, "read") && strcmp(scope, "write")) || !hash_text_valid(hash) ||
	    exp <= rp_now() || exp > rp_now() + RP_API_TOKEN_TTL_MAX_S) {
		fail(q, 400,
		     "need scope read|write, secret_hash sha256:<hex>, expires within a year");
		goto out;
	}
	rp_random_hex(id, 16);
	if ((r = db_token_add(&q->srv->db, id, q->org, name, scope, hash, exp, q->who)) < 0) {
		fail(q, 500, "storing the token: %s", rp_strerror(r));
		goto out;
	}
	fprintf(stderr, "rampartd: API token %s (%s, %s) created by %s\n", id, name, scope, q->who);
	reply(q, 201, json_pack("{s:s}", "id", id));
out:
	json_decref(j);
}

static void h_token_list(struct req *q)
{
	json_t *a = NULL;
	int r = db_tokens_json(&q->srv->db, q->org, &a);

	reply_list(q, "tokens", r, a);
}

static void h_token_revoke(struct req *q)
{
	int r = db_token_revoke(&q->srv->db, q->arg[1], q->org);

	if (r < 0) {
		fail_db(q, r, "such token");
		return;
	}
	fprintf(stderr, "rampartd: API token %s revoked by %s\n", q->arg[1], q->who);
	reply(q, 200, json_object());
}

/* The hash the rotation request names for row's replacement (db_reissue_fn). */
static int reissue_from_body(void *arg, const struct db_token_row *row, char hash[72])
{
	const char *h = json_string_value(json_object_get(arg, row->id));

	if (!h)
		return RP_E_EXISTS; /* created after the CLI listed the tokens */
	memcpy(hash, h, 72);
	return 0;
}

/* {"reissue": {"<id>": "sha256:<hex>", ...}}: every id a token id, every hash well-formed. */
static bool reissue_valid(struct req *q, json_t *m)
{
	const char *id;
	json_t *h;

	if (!json_is_object(m) || json_object_size(m) > RP_API_TOKENS_REISSUE_MAX) {
		fail(q, 400,
		     "field `reissue' must be an object of at most %d \"<token id>\": "
		     "\"sha256:<hex>\" pairs",
		     RP_API_TOKENS_REISSUE_MAX);
		return false;
	}
	json_object_foreach (m, id, h) {
		if (!rp_id_valid(id, strlen(id)) || !json_is_string(h) ||
		    !hash_text_valid(json_string_value(h))) {
			fail(q, 400,
			     "field `reissue': each name must be a token id, each value "
			     "sha256:<hex> of the new secret");
			return false;
		}
	}
	return true;
}

static json_t *token_row_json(const struct db_token_row *t)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s?, s:I}", "id", t->id, "name", t->name,
			 "scope", t->scope, "expires", (json_int_t)t->expires, "created",
			 (json_int_t)t->created, "created_by", t->created_by, "replaced_by",
			 t->new_id[0] ? t->new_id : NULL, "new_expires",
			 (json_int_t)t->new_expires);
}

/*
 * Every API token of the org revoked at once; with "reissue", each
 * unexpired one replaced by a token with the hash the administrator's
 * CLI made (the server never sees a new secret). The map must name every
 * token the server finds unexpired, so that none is silently dropped.
 */
static void h_tokens_rotate(struct req *q)
{
	json_t *j = body_json_values(q, 2 * RP_API_TOKENS_REISSUE_MAX + 4), *m, *a = NULL;
	struct db_token_row *v = NULL;
	size_t n = 0, reissued = 0;
	int r;

	if (!j)
		return;
	m = json_object_get(j, "reissue");
	if (json_is_null(m))
		m = NULL;
	if (m && !reissue_valid(q, m))
		goto out;
	r = db_tokens_rotate(&q->srv->db, q->org, rp_now(), m ? reissue_from_body : NULL, m, q->who,
			     &v, &n);
	if (r == RP_E_EXISTS) {
		fail(q, 409,
		     "an API token of org %s is missing from `reissue' (created since you listed "
		     "them?): nothing was revoked; list and rotate again",
		     q->org);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "rotating the API tokens: %s", rp_strerror(r));
		goto out;
	}
	if (!(a = json_array()))
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		reissued += v[i].new_id[0] != '\0';
		if (json_array_append_new(a, token_row_json(&v[i])) < 0)
			goto nomem;
	}
	fprintf(stderr, "rampartd: API tokens of org %s rotated by %s: %zu revoked, %zu reissued\n",
		q->org, q->who, n, reissued);
	reply(q, 200, json_pack("{s:s, s:o}", "org", q->org, "revoked", a));
	a = NULL;
	goto out;
nomem:
	fail(q, 500, "API tokens of org %s rotated (%zu revoked), but the answer ran out of memory",
	     q->org, n);
out:
	json_decref(a);
	free(v);
	json_decref(j);
}

/* The org's unused enrolment tokens revoked, or only {"id"}'s. */
static void h_enroll_tokens_revoke(struct req *q)
{
	json_t *j = body_json(q), *a = NULL;
	struct db_enroll_row *v = NULL;
	const char *id = NULL;
	size_t n = 0;
	int r;

	if (!j)
		return;
	if (json_object_get(j, "id") && !json_is_null(json_object_get(j, "id"))) {
		if (!(id = field(q, j, "id", RP_ID_HEX, false)))
			goto out;
		if (!rp_id_valid(id, strlen(id))) {
			fail(q, 400, "field `id' must be an enrolment token id (32 hex digits)");
			goto out;
		}
	}
	r = db_enroll_tokens_revoke(&q->srv->db, q->org, id, &v, &n);
	if (r == RP_E_NOTFOUND) {
		fail(q, 404, "no enrolment token %s in org %s", id, q->org);
		goto out;
	}
	if (r == RP_E_EXISTS) {
		fail(q, 409, "enrolment token %s was already used: it cannot enrol again", id);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "revoking enrolment tokens: %s", rp_strerror(r));
		goto out;
	}
	fprintf(stderr, "rampartd: %zu unused enrolment token%s of org %s revoked by %s\n", n,
		n == 1 ? "" : "s", q->org, q->who);
	if (!(a = json_array()))
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I}", "id", v[i].id,
						       "created_by", v[i].created_by, "expires",
						       (json_int_t)v[i].expires, "created",
						       (json_int_t)v[i].created)) < 0)
			goto nomem;
	reply(q, 200, json_pack("{s:s, s:o}", "org", q->org, "revoked", a));
	a = NULL;
	goto out;
nomem:
	fail(q, 500, "%zu enrolment tokens of org %s revoked, but the answer ran out of memory", n,
	     q->org);
out:
	json_decref(a);
	free(v);
	json_decref(j);
}

/* ---- packages (db-package.c; docs/api.md, "Packages") ---- */

static bool package_name_valid(const char *s)
{
	uint8_t h[32];

	return rp_hex_decode(s, strlen(s), h, sizeof(h)) == 0;
}

/*
 * PUT /v1/orgs/ORG/packages/SHA256?size=S&offset=O, the body one piece
 * (RP_PACKAGE_CHUNK bytes, the last one shorter): an administrator's
 * upload, piece by piece, so that no request is larger than an ordinary
 * one. 201 once the last piece is in and the whole has that hash.
 */
static void h_package_put(struct req *q)
{
	uint64_t size, offset;
	int r;

	if (!query_u64(q, "size", RP_PACKAGE_MAX, &size) ||
	    !query_u64(q, "offset", RP_PACKAGE_MAX, &offset))
		return;
	r = db_package_put(&q->srv->db, q->org, q->arg[1], size, offset, q->body, q->body_len,
			   q->who);
	switch (r) {
	case 0:
	case 1:
		reply(q, r ? 201 : 200,
		      json_pack("{s:s, s:I, s:I, s:b}", "sha256", q->arg[1], "size",
				(json_int_t)size, "stored", (json_int_t)(offset + q->body_len),
				"complete", r == 1));
		break;
	case RP_E_INVAL:
		fail(q, 400,
		     "a piece is %d bytes (the last one the rest) at an offset that is a "
		     "multiple of it, below size (1 to %d): got %zu bytes at %llu of %llu",
		     RP_PACKAGE_CHUNK, RP_PACKAGE_MAX, q->body_len, (unsigned long long)offset,
		     (unsigned long long)size);
		break;
	case RP_E_CONFLICT:
		fail(q, 409,
		     "package %s: not the next piece, or another size than the upload under way "
		     "(start again at offset 0)",
		     q->arg[1]);
		break;
	case RP_E_EXISTS: fail(q, 409, "package %s is already stored whole", q->arg[1]); break;
	case RP_E_TOOBIG:
		fail(q, 507, "org %s stores %d packages already", q->org, RP_PACKAGES_MAX);
		break;
	case RP_E_PAYLOAD:
		fail(q, 400, "the bytes uploaded do not hash to %s: nothing of them is kept",
		     q->arg[1]);
		break;
	default: fail_db(q, r, "package"); break;
	}
}

static void package_sent(const void *body, size_t len, void *arg)
{
	struct server *s = arg;

	s->package_bytes -= len;
	free((void *)body);
}

/*
 * GET /v1/orgs/ORG/packages/SHA256: the whole package (the enrol line's
 * curl), or with ?offset=O the RP_PACKAGE_CHUNK bytes from O (an agent's
 * upgrade, piece by piece). Anyone may fetch it: a package is public,
 * and whoever installs it checks its hash against the signed release.
 * The bytes of answers not yet sent are bounded (503 beyond).
 */
static void h_package_get(struct req *q)
{
	struct rp_httpd_line l = line_of(q);
	uint64_t size, offset = 0, end;
	char buf[32];
	uint8_t *out;
	int has = query_value(q, "offset", buf, sizeof(buf)), r;

	if (has < 0 || (has == 1 && rp_parse_u64(buf, strlen(buf), RP_PACKAGE_MAX, &offset) != 0)) {
		fail(q, 400, "offset must be an integer from 0 to %d", RP_PACKAGE_MAX);
		return;
	}
	if ((r = db_package_info(&q->srv->db, q->org, q->arg[1], &size)) < 0) {
		fail_db(q, r, "complete package of that hash");
		return;
	}
	if (offset % RP_PACKAGE_CHUNK != 0 || (has == 1 && offset >= size)) {
		fail(q, 400, "offset %llu is not a multiple of %d below the package's %llu bytes",
		     (unsigned long long)offset, RP_PACKAGE_CHUNK, (unsigned long long)size);
		return;
	}
	end = has == 1 && size - offset > RP_PACKAGE_CHUNK ? offset + RP_PACKAGE_CHUNK : size;
	if (q->srv->package_bytes + (end - offset) > SERVER_PACKAGE_BYTES_MAX) {
		evhttp_add_header(evhttp_request_get_output_headers(q->r), "Retry-After", "5");
		fail(q, 503, "too many package downloads under way: retry");
		return;
	}
	if (!(out = malloc(end - offset ? end - offset : 1))) {
		fail(q, 500, "out of memory");
		return;
	}
	if ((r = db_package_read(&q->srv->db, q->org, q->arg[1], offset, end, out)) < 0) {
		free(out);
		fail(q, 500, "package %s is not readable whole: %s", q->arg[1], rp_strerror(r));
		return;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)size);
	evhttp_add_header(evhttp_request_get_output_headers(q->r), "X-Rampart-Package-Size", buf);
	q->srv->package_bytes += end - offset;
	rp_httpd_reply_owned(&q->srv->httpd, q->r, 200, "application/octet-stream", out,
			     end - offset, package_sent, q->srv, &l);
}

static void h_packages(struct req *q)
{
	json_t *a = NULL;
	int r = db_packages_json(&q->srv->db, q->org, &a);

	reply_list(q, "packages", r, a);
}

/* ---- agents ---- */

/*
 * Query parameter name, decoded, into out (at most cap - 1 bytes): 1, or 0
 * when absent, -1 when the query string does not parse, -2 when the value
 * is longer.
 */
static int query_value(struct req *q, const char *name, char *out, size_t cap)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(q->r));
	struct evkeyvalq params;
	const char *w;
	int r = 0;

	TAILQ_INIT(&params);
	if (query && evhttp_parse_query_str(query, &params) != 0)
		r = -1;
	else if (query && (w = evhttp_find_header(&params, name)))
		r = strlen(w) < cap ? 1 : -2;
	if (r == 1)
		snprintf(out, cap, "%s", w);
	evhttp_clear_headers(&params);
	return r;
}

/* Query parameter name as an integer up to max; 0 when absent. False after failing q. */
static bool query_u64(struct req *q, const char *name, uint64_t max, uint64_t *ret)
{
	char w[32];
	int r = query_value(q, name, w, sizeof(w));

	*ret = 0;
	if (r == -2 || (r == 1 && rp_parse_u64(w, strlen(w), max, ret) != 0)) {
		fail(q, 400, "%s must be an integer from 0 to %llu", name, (unsigned long long)max);
		return false;
	}
	return true;
}

/*
 * The log the device reads: ?origin=<its origin> (an agent names the log
 * its root policy's `log' line names: after a log key rotation, one that
 * has not read to the policy naming the new log is still on the old one),
 * else the org's active log. False after failing q.
 */
static bool device_log(struct req *q, struct db_log *ret)
{
	char origin[RP_ORIGIN_MAX + 1], o[RP_ORIGIN_MAX + 1];
	int has = query_value(q, "origin", origin, sizeof(origin)), r;

	if (has == -1) {
		/* not the active log by default: a query that says something unreadable */
		fail(q, 400, "the query string does not parse");
		return false;
	}
	r = has == -2  ? RP_E_NOTFOUND
	    : has == 1 ? db_log_get_origin(&q->srv->db, q->org, origin, ret)
		       : db_log_get(&q->srv->db, q->org, ret);
	if (r == RP_E_NOTFOUND && has) {
		rp_quote(o, sizeof(o), has == 1 ? origin : "(over-long)",
			 has == 1 ? strlen(origin) : 11);
		fail(q, 404, "org %s has no log of origin %s", q->org, o);
	} else if (r < 0) {
		fail_db(q, r, "log");
	}
	return r == 0;
}

/* ?wait=<seconds to hold>&size=<the agent's checkpoint size>[&origin=<its log>] */
static void h_poll(struct req *q)
{
	struct server *s = q->srv;
	uint64_t wait, have;
	struct db_log lg;
	json_t *j = NULL;
	int r;

	if (!query_u64(q, "wait", 3600, &wait) || !query_u64(q, "size", INT64_MAX, &have) ||
	    !device_log(q, &lg))
		return;
	db_device_seen(&s->db, q->who); /* best effort; logged by db.c */
	r = log_next_delivery(s, q->who, lg.id, have, &j);
	if (r == 0) {
		reply(q, 200, j);
		return;
	}
	if (r != RP_E_NOTFOUND) {
		fail(q, 500, "looking up deliveries: %s", rp_strerror(r));
		return;
	}
	if (lg.state == DB_LOG_RETIRED) {
		/*
		 * Nothing left for the device in a log that no longer grows: it
		 * should read the log to its end, where the policy naming the
		 * next log is. The agent believes none of this; it only reads.
		 */
		fail(q, 409,
		     "log %s is retired and holds nothing more for this device: read it to its "
		     "end, where the root policy naming the next log is",
		     lg.origin);
		return;
	}
	if (wait == 0 || s->stopping) {
		reply(q, 204, NULL);
		return;
	}
	if (wait > (uint64_t)s->poll_hold)
		wait = (uint64_t)s->poll_hold;
	if (poll_hold(s, q->r, q->who, lg.id, have, (unsigned)wait, q->t0) < 0)
		fail(q, 500, "out of memory holding a poll");
}

/* The served checkpoint of the device's org, with consistency from ?size=. */
static void h_agent_checkpoint(struct req *q)
{
	struct db_log lg;
	uint64_t have;
	json_t *j;
	int r = RP_E_NOMEM;

	/* q->org: the device's (auth_device) */
	if (!query_u64(q, "size", INT64_MAX, &have) || !device_log(q, &lg))
		return;
	if (lg.served_size == 0) {
		fail(q, 404, "org %s has no witnessed checkpoint yet", q->org);
		return;
	}
	if (!(j = json_object()) || (r = log_checkpoint_json(q->srv, &lg, have, j)) < 0) {
		json_decref(j);
		fail(q, 500, "checkpoint: %s", rp_strerror(r));
		return;
	}
	reply(q, 200, j);
}

/*
 * The agent's walk through the log (lib/scan.h): entries from `from' of the
 * served tree of `size' entries, which must be the device's stored
 * checkpoint, so no more than the witnessed log is ever handed out.
 */
static void h_agent_entries(struct req *q)
{
	struct db_log lg;
	uint64_t from, size;
	json_t *j;
	int r = RP_E_NOMEM;

	if (!query_u64(q, "from", INT64_MAX, &from) || !query_u64(q, "size", INT64_MAX, &size) ||
	    !device_log(q, &lg))
		return;
	if (size > lg.served_size || from >= size) {
		fail(q, 404,
		     "no entries from %llu in a tree of %llu: the witnessed log of org %s has "
		     "%llu",
		     (unsigned long long)from, (unsigned long long)size, q->org,
		     (unsigned long long)lg.served_size);
		return;
	}
	if (!(j = json_object()) || (r = log_entries_json(q->srv, &lg, from, size, j)) < 0) {
		json_decref(j);
		fail(q, 500, "entries: %s", rp_strerror(r));
		return;
	}
	reply(q, 200, j);
}

static void h_started(struct req *q)
{
	json_t *j = body_json(q);
	const char *id;
	int r;

	if (!j || !(id = field(q, j, "command", RP_ID_HEX, false)))
		goto out;
	if ((r = db_delivery_started(&q->srv->db, id, q->who)) < 0)
		fail(q, 500, "marking %s running: %s", id, rp_strerror(r));
	else
		reply(q, 200, json_object());
out:
	json_decref(j);
}

/*
 * Parses and verifies the signed result note; fails the request otherwise.
 * A device that re-keyed may report a result its earlier key signed (kept
 * for retry while the server was away): taken under the rule the CLI
 * judges it by (rp_devkey_may_sign).
 */
static bool result_verify(struct req *q, const char *text, struct rp_result *res)
{
	uint8_t keys[RP_DEVKEY_CHAIN_MAX + 1][32];
	int64_t since[RP_DEVKEY_CHAIN_MAX + 1], nb = 0;
	struct rp_diag d = {""};
	size_t n = 1, k = 0;
	int r;

	memcpy(keys[0], q->dev.pub, 32);
	since[0] = 0;
	if (q->dev.key_seq > 1 && (r = db_device_keys(&q->srv->db, q->dev.id, keys, since,
						      RP_DEVKEY_CHAIN_MAX + 1, &n)) < 0) {
		fail(q, 500, "reading the keys of device %s: %s", q->who, rp_strerror(r));
		return false;
	}
	if ((r = rp_devkey_result_verify(text, strlen(text), q->dev.id, keys, n, res, &k, &d)) <
	    0) {
		if (r == RP_E_NOSIG)
			fail(q, 400, "result refused: not signed by device %s", q->who);
		else
			fail(q, 400, "result refused: %s", d.msg);
		return false;
	}
	if (k + 1 < n && (db_command_not_before(&q->srv->db, q->org, res->command, &nb) < 0 ||
			  !rp_devkey_may_sign(since, n, k, nb))) {
		fail(q, 400,
		     "result refused: signed by a key device %s replaced before command %s could "
		     "start",
		     q->who, res->command);
		return false;
	}
	if (strcmp(res->org, q->org) != 0) {
		fail(q, 400, "result is for device %s of org %s, not %s of %s", res->device,
		     res->org, q->who, q->org);
		return false;
	}
	return true;
}

/*
 * POST /v1/agent/rekey {"binding": note}, signed by the device's current
 * key: the note binds it to a new key and both keys signed it
 * (lib/devkey.h). From the commit on, only the new key authenticates the
 * device. Sent again signed by the new key (an agent that stopped before
 * it saw the answer), the same binding is answered as the first time.
 */
static void h_rekey(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_devkey_binding b;
	struct rp_diag d = {""};
	const struct db_device *dev = &q->dev;
	const char *note;
	char *stored = NULL;
	int r;

	if (!j || !(note = field(q, j, "binding", RP_DEVKEY_NOTE_MAX, false)))
		goto out;
	/* a longer chain than a CLI verifies would leave the device unverifiable */
	if (dev->key_seq > RP_DEVKEY_CHAIN_MAX) {
		fail(q, 409,
		     "device %s has had %lld keys, the most a chain of bindings holds; "
		     "enrol the host again",
		     dev->id, (long long)dev->key_seq);
		goto out;
	}
	if (rp_devkey_verify(note, strlen(note), dev->org, dev->id, dev->pub, &b, &d) == 0) {
		r = db_device_rekey(&q->srv->db, dev, b.new_pub, note);
		if (r == RP_E_EXISTS) {
			fail(q, 409, "the new key is, or was, a device's key");
		} else if (r < 0) {
			fail_db(q, r, "device key");
		} else {
			fprintf(stderr, "rampartd: device %s of org %s re-keyed (its key %lld)\n",
				dev->id, dev->org, (long long)dev->key_seq + 1);
			reply(q, 200,
			      json_pack("{s:s, s:I}", "device_id", dev->id, "key",
					(json_int_t)dev->key_seq + 1));
		}
		goto out;
	}
	/* the retry of the binding that made the current key */
	if (dev->key_seq > 1 &&
	    db_device_binding(&q->srv->db, dev->id, dev->key_seq, &stored) == 0 &&
	    strcmp(stored, note) == 0) {
		reply(q, 200,
		      json_pack("{s:s, s:I}", "device_id", dev->id, "key",
				(json_int_t)dev->key_seq));
		goto out;
	}
	fail(q, 400, "%s", d.msg);
out:
	free(stored);
	json_decref(j);
}

/*
 * {"report": "<drift report note>"}: kept as the device's latest, once it
 * verifies by the device's current key and names this device and org. The
 * CLI verifies it again; the server only keeps what the device signed.
 */
static void h_drift(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_drift *dr = malloc(sizeof(*dr));
	struct rp_diag d = {""};
	const char *text;
	int r;

	if (!dr) {
		fail(q, 500, "out of memory");
		goto out;
	}
	if (!j || !(text = field(q, j, "report", RP_NOTE_MAX, false)))
		goto out;
	if ((r = rp_drift_verify(text, strlen(text), q->dev.pub, q->dev.id, dr, &d)) < 0) {
		fail(q, 400, "drift report refused: %s", d.msg);
		goto out;
	}
	if (strcmp(dr->org, q->org) != 0) {
		fail(q, 400, "drift report is for org %s, not %s", dr->org, q->org);
		goto out;
	}
	if ((r = db_device_drift(&q->srv->db, q->who, text)) < 0) {
		fail(q, 500, "storing the drift report: %s", rp_strerror(r));
		goto out;
	}
	fprintf(stderr, "rampartd: device %s reports %zu drift item%s (directory version %llu)\n",
		q->who, dr->n, dr->n == 1 ? "" : "s", (unsigned long long)dr->version);
	reply(q, 200, json_object());
out:
	free(dr);
	json_decref(j);
}

/*
 * The device's facts as they are now (agent/facts.c), signed by its current
 * key: the newest is kept in place of the one before, with the columns the
 * server shows beside it.
 */
static void h_facts(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_diag d = {""};
	struct rp_facts f;
	const char *note;
	int r;

	if (!j || !(note = field(q, j, "facts", RP_FACTS_MAX + RP_KEYTEXT_MAX, false)))
		goto out;
	if ((r = rp_facts_verify_as(note, strlen(note), q->dev.pub, q->dev.id, &f, &d)) < 0) {
		fail(q, 400, "facts refused: %s", d.msg);
		goto out;
	}
	if (strcmp(f.org, q->org) != 0 || !f.time) {
		fail(q, 400, "facts refused: of org %s, or without their time", f.org);
		goto out;
	}
	if ((r = db_device_facts(&q->srv->db, q->dev.id, note, &f)) < 0) {
		fail(q, r == RP_E_CONFLICT ? 409 : 500, "storing the facts: %s", rp_strerror(r));
		goto out;
	}
	reply(q, 200, json_object());
out:
	json_decref(j);
}

static void h_result(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_result res;
	const char *text, *o64, *reason = "";
	uint8_t *out = NULL, h[32];
	struct db_result row = {0};
	int r;

	if (!j || !(text = field(q, j, "result", RP_RESULT_NOTE_MAX, false)) ||
	    !(o64 = field(q, j, "output", (RP_OUTPUT_KEEP + 2) / 3 * 4, true)))
		goto out;
	if (json_object_get(j, "reason") &&
	    !(reason = text_field(q, j, "reason", RP_RESULT_REASON_MAX, true)))
		goto out;
	if (!result_verify(q, text, &res))
		goto out;
	if (res.output_size > RP_OUTPUT_KEEP ||
	    b64_exact(o64, res.output_size, &out, &row.output_len) < 0) {
		fail(q, 400, "output is not base64 of the result's %llu bytes",
		     (unsigned long long)res.output_size);
		goto out;
	}
	rp_sha256(out, row.output_len, h);
	if (sodium_memcmp(h, res.output_hash, 32) != 0) {
		fail(q, 400, "output does not match the signed result's hash");
		goto out;
	}
	row.command = res.command;
	row.device = q->who;
	row.status = rp_result_status_name(res.status);
	row.exit_code = res.exit_code;
	row.duration_ms = (int64_t)res.duration_ms;
	row.output = out;
	row.reason = reason;
	row.note = text;
	r = db_result_store(&q->srv->db, &row);
	if (r == RP_E_NOTFOUND) {
		fail(q, 409, "command %s has no open delivery for this device (unknown or final)",
		     res.command);
		goto out;
	}
	if (r < 0) {
		fail(q, 500, "storing the result of %s: %s", res.command, rp_strerror(r));
		goto out;
	}
	fprintf(stderr, "rampartd: result of %s on %s: %s, exit %d, %llu ms\n", res.command, q->who,
		row.status, (int)res.exit_code, (unsigned long long)res.duration_ms);
	reply(q, 200, json_object());
out:
	free(out);
	json_decref(j);
}

static void h_alert(struct req *q)
{
	json_t *j = body_json(q);
	const char *id, *code, *reason;
	bool security;
	int r;

	if (!j || !(id = field(q, j, "command", RP_ID_HEX, true)) ||
	    !(code = text_field(q, j, "code", RP_ALERT_CODE_MAX, false)) ||
	    !(reason = text_field(q, j, "reason", RP_ALERT_REASON_MAX, false)))
		goto out;
	if (*id && !rp_id_valid(id, strlen(id))) {
		fail(q, 400, "field `command' must be a command id or empty");
		goto out;
	}
	/*
	 * "interrupted": the agent restarted while running the command and
	 * will not run it again. A failure, not a refusal, and no alarm.
	 */
	security = strcmp(code, "interrupted") != 0;
	r = db_alert_store(&q->srv->db, q->org, q->who, id, code, reason,
			   security ? "refused" : "failed", security);
	if (r < 0) {
		fail(q, 500, "storing the alert: %s", rp_strerror(r));
		goto out;
	}
	fprintf(stderr, "%srampartd: %s from device %s: %s: command %s: %s\n",
		rp_log_prio(security ? LOG_WARNING : LOG_NOTICE),
		security ? "SECURITY ALERT" : "notice", q->who, code, *id ? id : "-", reason);
	webhook_alert(q->srv, q->org, q->who, id, code, reason, security);
	reply(q, 200, json_object());
out:
	json_decref(j);
}

/* ---- the log, read-only, for auditors (C2SP tlog-tiles) ---- */

/* A non-JSON 200 with its cache policy. */
static void send_bytes(struct req *q, const char *type, const char *cache, const void *p, size_t n)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->r);
	struct rp_httpd_line l = line_of(q);

	evhttp_add_header(h, "Cache-Control", cache);
	evhttp_add_header(h, "Access-Control-Allow-Origin", "*");
	rp_httpd_reply(&q->srv->httpd, q->r, 200, type, p, n, &l, NULL);
}

/*
 * GET /v1/log/<org>/checkpoint and /v1/log/<org>/tile/...: public, no
 * authentication: the log is for anyone to audit. Only what the served
 * (witnessed) checkpoint covers is readable. Tiles never change once
 * they exist (a partial tile of width W keeps its W hashes), so they are
 * cacheable for good; the checkpoint moves and is cached for seconds.
 */
static void h_log(struct req *q)
{
	const char *rest = q->path + strlen("/v1/log/"), *slash = strchr(rest, '/');
	struct rp_diag d = {""};
	struct rp_tile t;
	struct db_log lg;
	struct rp_sb sb;
	char *note = NULL;
	int r;

	if (strcmp(q->method, "GET") != 0) {
		fail(q, 405, "method %s not allowed on %s", q->method, q->path);
		return;
	}
	if (!slash || (size_t)(slash - rest) > RP_ORG_NAME_MAX ||
	    !rp_org_name_valid(rest, (size_t)(slash - rest))) {
		fail(q, 404, "no such log");
		return;
	}
	memcpy(q->org, rest, (size_t)(slash - rest));
	q->org[slash - rest] = '\0';
	/* /v1/log/<org>/<gen>/...: one of the org's logs; /v1/log/<org>/...: its active one */
	const char *g = slash + 1, *gend = strchr(g, '/');
	uint64_t gen = 0;
	if (gend && gend > g && strspn(g, "0123456789") == (size_t)(gend - g)) {
		if (rp_parse_u64(g, (size_t)(gend - g), INT64_MAX, &gen) < 0 || gen == 0) {
			fail(q, 404, "no such log");
			return;
		}
		slash = gend;
	}
	r = gen ? db_log_get_gen(&q->srv->db, q->org, (int64_t)gen, &lg)
		: db_log_get(&q->srv->db, q->org, &lg);
	if (r < 0 || lg.served_size == 0) {
		fail(q, r == 0 || r == RP_E_NOTFOUND ? 404 : 500, "no witnessed log for org %s%s",
		     q->org, gen ? " of that generation" : "");
		return;
	}
	if (!strcmp(slash + 1, "checkpoint")) {
		if ((r = db_log_served_note(&q->srv->db, lg.id, &note)) < 0)
			fail(q, 500, "reading the checkpoint: %s", rp_strerror(r));
		else
			send_bytes(q, "text/plain; charset=utf-8", "public, max-age=5", note,
				   strlen(note));
		free(note);
		return;
	}
	if (strncmp(slash + 1, "tile/", 5) != 0 ||
	    rp_tile_parse(slash + 1, strlen(slash + 1), &t, &d) < 0) {
		fail(q, 404, "no such log resource%s%s", *d.msg ? ": " : "", d.msg);
		return;
	}
	rp_sb_init(&sb, (size_t)RP_TILE_WIDTH * (RP_LOG_ENTRY_MAX + 2));
	r = db_log_tile(&q->srv->db, lg.id, &t, lg.served_size, &sb);
	if (r == RP_E_NOTFOUND)
		fail(q, 404, "tile %s is not in the witnessed tree of %llu entries", slash + 1,
		     (unsigned long long)lg.served_size);
	else if (r < 0)
		fail(q, 500, "reading tile %s: %s", slash + 1, rp_strerror(r));
	else
		/* a tile of a numbered log never changes; /v1/log/<org>/ names another log
		 * after a log key rotation, so its tiles are not cached for long */
		send_bytes(q, "application/octet-stream",
			   gen ? "public, max-age=31536000, immutable" : "public, max-age=5", sb.s,
			   sb.len);
	rp_sb_release(&sb);
}

/* ---- routing ---- */

/*
 * Body caps per route. The connection guard (lib/httpd) asks route_cap()
 * for them once a request's headers are in, and refuses a larger body
 * before it is read; routes reached before any authentication (enrolment,
 * org creation) take the smallest. /v1/orgs takes a whole root policy
 * note (up to RP_NOTE_MAX, longer once JSON-escaped), so its cap is above
 * RP_HTTP_BODY_PREAUTH_MAX; its bootstrap token is checked before the
 * body is parsed.
 */
#define ORG_BODY_MAX    RP_HTTP_ORG_BODY_MAX
#define RESULT_BODY_MAX RP_HTTP_RESULT_BODY_MAX

static const struct route {
	const char *method;
	const char *pattern; /* '*' matches one segment */
	enum auth auth;
	size_t body_max;
	void (*fn)(struct req *q);
} routes[] = {
	{"GET", "/v1/health", AUTH_NONE, 0, h_health},
	{"POST", "/v1/orgs", AUTH_BOOTSTRAP, ORG_BODY_MAX, h_org_create},
	{"GET", "/v1/orgs/*/policy", AUTH_NONE, 0, h_policy},
	{"POST", "/v1/orgs/*/policies", AUTH_SIGNED, RP_HTTP_ORG_BODY_MAX, h_policy_propose},
	{"GET", "/v1/orgs/*/policies", AUTH_READ, 0, h_policies},
	{"GET", "/v1/orgs/*/policies/*", AUTH_NONE, 0, h_policy_version},
	{"POST", "/v1/orgs/*/enroll-tokens", AUTH_SIGNED, RP_HTTP_BODY_SMALL_MAX, h_enroll_token},
	{"POST", "/v1/orgs/*/enroll-tokens/revoke", AUTH_SIGNED, RP_HTTP_BODY_SMALL_MAX,
	 h_enroll_tokens_revoke},
	{"POST", "/v1/enroll", AUTH_NONE, RP_HTTP_BODY_PREAUTH_MAX, h_enroll},
	{"GET", "/v1/orgs/*/devices", AUTH_READ, 0, h_devices},
	{"POST", "/v1/orgs/*/commands", AUTH_WRITE, RP_HTTP_BODY_MAX, h_cmd_submit},
	{"GET", "/v1/orgs/*/commands", AUTH_READ, 0, h_cmd_list},
	{"GET", "/v1/orgs/*/commands/*", AUTH_READ, 0, h_cmd_get},
	{"POST", "/v1/orgs/*/commands/*/signatures", AUTH_WRITE, 2 * RP_NOTE_MAX, h_cmd_sign},
	{"POST", "/v1/orgs/*/commands/*/cancel", AUTH_WRITE, 2 * RP_CANCEL_NOTE_MAX, h_cmd_cancel},
	{"GET", "/v1/orgs/*/commands/*/results", AUTH_READ, 0, h_results},
	{"GET", "/v1/orgs/*/commands/*/delivery", AUTH_READ, 0, h_cmd_delivery},
	{"GET", "/v1/orgs/*/alerts", AUTH_READ, 0, h_alerts},
	{"POST", "/v1/orgs/*/alerts/ack", AUTH_SIGNED, RP_HTTP_BODY_SMALL_MAX, h_alerts_ack},
	{"GET", "/v1/orgs/*/directory", AUTH_READ, 0, h_directory},
	{"PUT", "/v1/orgs/*/packages/*", AUTH_WRITE, RP_PACKAGE_CHUNK, h_package_put},
	{"GET", "/v1/orgs/*/packages/*", AUTH_NONE, 0, h_package_get},
	{"GET", "/v1/orgs/*/packages", AUTH_READ, 0, h_packages},
	{"POST", "/v1/orgs/*/tokens", AUTH_SIGNED, RP_HTTP_BODY_SMALL_MAX, h_token_create},
	{"GET", "/v1/orgs/*/tokens", AUTH_SIGNED, 0, h_token_list},
	{"POST", "/v1/orgs/*/tokens/rotate", AUTH_SIGNED, RP_HTTP_ROTATE_BODY_MAX, h_tokens_rotate},
	{"DELETE", "/v1/orgs/*/tokens/*", AUTH_SIGNED, 0, h_token_revoke},
	{"GET", "/v1/agent/poll", AUTH_DEVICE, 0, h_poll},
	{"GET", "/v1/agent/checkpoint", AUTH_DEVICE, 0, h_agent_checkpoint},
	{"GET", "/v1/agent/entries", AUTH_DEVICE, 0, h_agent_entries},
	{"POST", "/v1/agent/started", AUTH_DEVICE, RP_HTTP_BODY_SMALL_MAX, h_started},
	{"POST", "/v1/agent/result", AUTH_DEVICE, RESULT_BODY_MAX, h_result},
	{"POST", "/v1/agent/drift", AUTH_DEVICE, 2 * RP_NOTE_MAX, h_drift},
	{"POST", "/v1/agent/facts", AUTH_DEVICE, RP_HTTP_BODY_SMALL_MAX, h_facts},
	{"POST", "/v1/agent/alert", AUTH_DEVICE, RP_HTTP_BODY_SMALL_MAX, h_alert},
	{"POST", "/v1/agent/rekey", AUTH_DEVICE, RP_HTTP_BODY_SMALL_MAX, h_rekey},
};

/* Matches path against pattern, '*' being one non-empty segment; fills args. */
static bool match(const char *pattern, const char *path, const char *args[2], size_t alen[2])
{
	int n = 0;
	const char *p = pattern, *s = path;

	while (*p && *s) {
		if (*p == '*') {
			size_t len = strcspn(s, "/");
			if (len == 0 || n == 2)
				return false;
			args[n] = s;
			alen[n++] = len;
			s += len;
			p++;
			continue;
		}
		if (*p++ != *s++)
			return false;
	}
	return *p == '\0' && *s == '\0';
}

/*
 * The body cap of (method, path) for the connection guard. A request with
 * no route (the log's GETs have none here either) may carry the
 * pre-authentication cap, so that it gets its 404 or 405.
 */
static size_t route_cap(void *arg, const char *method, const char *path)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *args[2] = {NULL, NULL};
		size_t alen[2] = {0, 0};
		if (!strcmp(routes[i].method, method) && match(routes[i].pattern, path, args, alen))
			return routes[i].body_max;
	}
	return !strncmp(path, "/v1/log/", 8) && !strcmp(method, "GET") ? 0
								       : RP_HTTP_BODY_PREAUTH_MAX;
}

/* The route for q->path, with its segments copied into argbuf; 404/405 otherwise. */
static const struct route *route_find(struct req *q, char argbuf[2][RP_ORG_NAME_MAX + 1])
{
	bool path_known = false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *args[2] = {NULL, NULL};
		size_t alen[2] = {0, 0};
		if (!match(routes[i].pattern, q->path, args, alen))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, q->method) != 0)
			continue;
		for (int k = 0; k < 2 && args[k]; k++) {
			if (alen[k] > RP_ORG_NAME_MAX) {
				fail(q, 404, "no such resource");
				return NULL;
			}
			memcpy(argbuf[k], args[k], alen[k]);
			argbuf[k][alen[k]] = '\0';
			q->arg[k] = argbuf[k];
		}
		return &routes[i];
	}
	if (path_known)
		fail(q, 405, "method %s not allowed on %s", q->method, q->path);
	else
		fail(q, 404, "no such resource");
	return NULL;
}

/* Org and id segments must be well-formed before anything looks them up. */
static bool args_valid(struct req *q, const struct route *rt)
{
	if (q->arg[0] && !strncmp(rt->pattern, "/v1/orgs/", 9)) {
		if (!rp_org_name_valid(q->arg[0], strlen(q->arg[0]))) {
			fail(q, 404, "no such org");
			return false;
		}
		snprintf(q->org, sizeof(q->org), "%s", q->arg[0]);
	}
	if (q->arg[1] && strstr(rt->pattern, "/packages/")) {
		if (!package_name_valid(q->arg[1])) {
			fail(q, 404, "`%s' is not a package's SHA-256 (64 lowercase hex)",
			     q->arg[1]);
			return false;
		}
		return true;
	}
	/* A policy version is a number (h_policy_version parses it); anything else is an id. */
	if (q->arg[1] && !strstr(rt->pattern, "/policies/") &&
	    !rp_id_valid(q->arg[1], strlen(q->arg[1]))) {
		fail(q, 404, "`%s' is not an id", q->arg[1]);
		return false;
	}
	return true;
}

static bool authenticate(struct req *q, enum auth a)
{
	switch (a) {
	case AUTH_NONE: return true;
	case AUTH_BOOTSTRAP: return auth_bootstrap(q);
	case AUTH_DEVICE: return auth_device(q);
	default: return auth_admin(q, a);
	}
}

static void dispatch(struct evhttp_request *r, void *arg)
{
	struct req q = {.srv = arg, .r = r, .t0 = rp_httpd_now_ms()};
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	char argbuf[2][RP_ORG_NAME_MAX + 1];
	const struct route *rt;

	q.method = rp_httpd_method(evhttp_request_get_command(r));
	q.uri = evhttp_request_get_uri(r);
	snprintf(q.path, sizeof(q.path), "%s", path ? path : "?");
	if (!path || strlen(path) >= sizeof(q.path) || strchr(path, '%')) {
		fail(&q, 404, "no such resource");
		return;
	}
	if (!strncmp(q.path, "/v1/log/", 8)) {
		h_log(&q);
		return;
	}
	if (!(rt = route_find(&q, argbuf)) || !args_valid(&q, rt))
		return;
	q.body_len = evbuffer_get_length(in);
	/* The guard refused this before reading it; kept so the cap never depends on it. */
	if (q.body_len > rt->body_max) {
		fail(&q, 413, "body of %zu bytes exceeds this endpoint's %zu", q.body_len,
		     rt->body_max);
		return;
	}
	q.body = q.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (!q.body) {
		fail(&q, 500, "out of memory reading the body");
		return;
	}
	if (authenticate(&q, rt->auth))
		rt->fn(&q);
}

/* TLS under each connection; on failure lib/httpd closes it, never serving it in the clear. */
static struct bufferevent *tls_bev(void *arg, struct event_base *base)
{
	struct server *s = arg;
	SSL *ssl = SSL_new(s->ssl);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Too routine for a line of its own at the default log level: an agent's
 * poll or log read answered, an audit's tile. Refusals and errors, every
 * write and every administrator's request keep theirs.
 */
static bool routine(void *arg, const char *method, const char *path, int status)
{
	(void)arg;
	return status < 400 && !strcmp(method, "GET") &&
	       (!strcmp(path, "/v1/agent/poll") || !strncmp(path, "/v1/log/", 8));
}

int api_init(struct server *s, const struct rp_httpd_limits *lim)
{
	const struct rp_httpd_config c = {
		.name = "rampartd",
		.log = stderr,
		.lim = *lim,
		.cap = route_cap,
		.body_max = RP_HTTP_BODY_MAX,
		.error = rp_httpd_error_json,
		.bev = tls_bev,
		.handle = dispatch,
		.arg = s,
		.routine = routine,
		.log_all = s->log_debug,
	};

	return rp_httpd_init(&s->httpd, s->base, &c);
}
