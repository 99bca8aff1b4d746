/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampartd's HTTP API (docs/api.md): routing, authentication, handlers.
 * The server verifies signatures so that it stores only well-formed,
 * validly signed statements, but nothing here is trusted by agents: they
 * check everything again (lib/verify.c).
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
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "policy.h"
#include "reqsig.h"
#include "result.h"
#include "rp_err.h"
#include "server.h"
#include "statement.h"

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
	char who[RP_NOTE_NAME_MAX + 1]; /* key name, token name or device id */
	double t0;
};

static double now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

static void log_req(struct req *q, int status)
{
	fprintf(stderr, "rampartd: %s %s %d %.1f ms%s%s\n", q->method, q->path, status,
		now_ms() - q->t0, q->who[0] ? " by " : "", q->who);
}

static void reply(struct req *q, int status, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s) {
		evbuffer_add(b, s, strlen(s));
		evhttp_add_header(evhttp_request_get_output_headers(q->r), "Content-Type",
				  "application/json");
	}
	evhttp_add_header(evhttp_request_get_output_headers(q->r), "Cache-Control", "no-store");
	evhttp_send_reply(q->r, status, NULL, b);
	log_req(q, status);
	evbuffer_free(b);
	free(s);
	json_decref(j);
}

static const char *status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "too_large";
	default: return "internal";
	}
}

static void fail(struct req *q, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct req *q, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rampartd: %s %s: %s\n", q->method, q->path, msg);
	reply(q, status, json_pack("{s:{s:s, s:s}}", "error", "code", status_code(status),
				   "message", msg));
}

/* ---- request bodies ---- */

static json_t *body_json(struct req *q)
{
	json_error_t e;
	json_t *j = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &e);

	if (!j || !json_is_object(j)) {
		fail(q, 400, "body is not a JSON object: %s", j ? "wrong type" : e.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string field of at most max bytes, printable text; NULL after failing. */
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

static bool text_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* ---- policies and authentication ---- */

static struct rp_policy *load_policy(struct server *s, const char *org)
{
	sqlite3_stmt *st = db_prep(&s->db, "SELECT policy FROM policies WHERE org = ? "
					   "ORDER BY version DESC LIMIT 1", "t", org);
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};

	if (!st)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *text = db_text(st, 0);
		if (rp_policy_parse(text, strlen(text), &p, &d) < 0)
			fprintf(stderr, "rampartd: stored policy of %s does not parse: %s\n", org, d.msg);
	}
	sqlite3_finalize(st);
	return p;
}

static const char *hdr(struct req *q, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(q->r), name);
}

static bool check_sig(struct req *q, const uint8_t pub[32])
{
	struct rp_diag d = {""};

	if (rp_reqsig_verify(pub, q->method, q->uri, hdr(q, RP_REQSIG_HDR_TIME), q->body,
			     q->body_len, hdr(q, RP_REQSIG_HDR_SIG), rp_now(), &d) < 0) {
		fail(q, 401, "%s", d.msg);
		return false;
	}
	return true;
}

static bool auth_admin(struct req *q, enum auth need)
{
	const char *key = hdr(q, RP_REQSIG_HDR_KEY), *authz = hdr(q, "Authorization");

	if (key) {
		struct rp_policy *p = load_policy(q->srv, q->org);
		int k = p ? rp_policy_key_index(p, key) : -1;
		bool ok;
		if (k < 0) {
			rp_policy_free(p);
			fail(q, 401, "key `%.64s' is not in the root policy of org %s", key, q->org);
			return false;
		}
		ok = check_sig(q, p->keys[k].pub);
		if (ok)
			snprintf(q->who, sizeof(q->who), "%s", key);
		rp_policy_free(p);
		return ok;
	}
	if (need != AUTH_SIGNED && authz && !strncmp(authz, "Bearer rpt_", 11)) {
		/* rpt_<32 hex id>_<64 hex secret> */
		const char *t = authz + 11;
		char id[33], hash[72];
		if (strlen(t) != 32 + 1 + 64 || t[32] != '_' || !rp_id_valid(t, 32)) {
			fail(q, 401, "malformed API token");
			return false;
		}
		memcpy(id, t, 32);
		id[32] = '\0';
		rp_sha256_text(t + 33, 64, hash);
		sqlite3_stmt *st = db_prep(&q->srv->db,
					   "SELECT secret_hash, scope, expires, name FROM api_tokens "
					   "WHERE id = ? AND org = ?", "tt", id, q->org);
		bool ok = false;
		if (st && sqlite3_step(st) == SQLITE_ROW &&
		    sodium_memcmp(db_text(st, 0), hash, 71) == 0 &&
		    sqlite3_column_int64(st, 2) > rp_now()) {
			ok = need == AUTH_READ || !strcmp(db_text(st, 1), "write");
			snprintf(q->who, sizeof(q->who), "token:%s", db_text(st, 3));
			if (!ok) {
				sqlite3_finalize(st);
				fail(q, 403, "API token has scope read; this needs write");
				return false;
			}
		}
		sqlite3_finalize(st);
		if (!ok)
			fail(q, 401, "unknown, revoked or expired API token");
		return ok;
	}
	fail(q, 401, need == AUTH_SIGNED ? "this needs a request signed by an administrator's key"
					 : "no credentials: sign the request or send an API token");
	return false;
}

static bool auth_device(struct req *q)
{
	const char *id = hdr(q, RP_REQSIG_HDR_KEY);
	sqlite3_stmt *st;
	bool ok = false;

	if (!id || !rp_id_valid(id, strlen(id))) {
		fail(q, 401, "no device id in %s", RP_REQSIG_HDR_KEY);
		return false;
	}
	st = db_prep(&q->srv->db, "SELECT pubkey, org FROM devices WHERE id = ?", "t", id);
	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		snprintf(q->org, sizeof(q->org), "%s", db_text(st, 1));
		snprintf(q->who, sizeof(q->who), "%s", id);
		ok = check_sig(q, sqlite3_column_blob(st, 0));
		sqlite3_finalize(st);
		return ok;
	}
	sqlite3_finalize(st);
	fail(q, 401, "unknown device %s", id);
	return false;
}

static bool auth_bootstrap(struct req *q)
{
	const char *a = hdr(q, "Authorization");
	char hash[72];
	sqlite3_stmt *st;
	bool ok;

	if (!a || strncmp(a, "Bootstrap ", 10) != 0 || strlen(a) > 200) {
		fail(q, 401, "this needs `Authorization: Bootstrap <token>' from rampartd init");
		return false;
	}
	rp_sha256_text(a + 10, strlen(a + 10), hash);
	st = db_prep(&q->srv->db, "SELECT 1 FROM bootstrap_tokens WHERE hash = ? AND used IS NULL",
		     "t", hash);
	ok = st && sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!ok)
		fail(q, 401, "unknown or already used bootstrap token");
	else
		snprintf(q->who, sizeof(q->who), "bootstrap");
	return ok;
}

/* ---- handlers ---- */

static void h_health(struct req *q)
{
	reply(q, 200, json_pack("{s:s, s:s}", "status", "ok", "version", RP_VERSION));
}

static void h_org_create(struct req *q)
{
	struct rp_policy *p = NULL;
	struct rp_diag d = {""};
	const char *text, *a = hdr(q, "Authorization");
	char hash[72];
	json_t *j = body_json(q);
	int r;

	if (!j || !(text = field(q, j, "policy", RP_NOTE_MAX, false)))
		goto out;
	if ((r = rp_policy_parse(text, strlen(text), &p, &d)) < 0 ||
	    (r = rp_policy_verify_initial(p, p->hash, rp_now(), &d)) < 0) {
		fail(q, 400, "root policy refused: %s", d.msg);
		goto out;
	}
	rp_sha256_text(a + 10, strlen(a + 10), hash);
	struct db *db = &q->srv->db;
	if (db_begin(db) < 0) {
		fail(q, 500, "database busy");
		goto out;
	}
	r = db_exec(db, "INSERT INTO orgs (name, created) VALUES (?, ?)", "ti", p->org, rp_now());
	if (r == RP_E_EXISTS) {
		db_rollback(db);
		fail(q, 409, "org %s already exists", p->org);
		goto out;
	}
	if (r < 0 ||
	    db_exec(db, "INSERT INTO policies (org, version, hash, policy, created) VALUES (?, ?, ?, ?, ?)",
		    "titti", p->org, (int64_t)p->version, p->hash, text, rp_now()) < 0 ||
	    db_exec(db, "UPDATE bootstrap_tokens SET used = ? WHERE hash = ?", "it", rp_now(), hash) < 0 ||
	    db_commit(db) < 0) {
		db_rollback(db);
		fail(q, 500, "storing org %s failed", p->org);
		goto out;
	}
	fprintf(stderr, "rampartd: org %s created with root policy version %llu %s\n", p->org,
		(unsigned long long)p->version, p->hash);
	reply(q, 201, json_pack("{s:s, s:I, s:s}", "org", p->org, "version", (json_int_t)p->version,
				"hash", p->hash));
out:
	rp_policy_free(p);
	json_decref(j);
}

static void h_policy(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT version, hash, policy FROM policies WHERE org = ? "
						"ORDER BY version DESC LIMIT 1", "t", q->org);

	if (st && sqlite3_step(st) == SQLITE_ROW)
		reply(q, 200, json_pack("{s:s, s:I, s:s, s:s}", "org", q->org, "version",
					(json_int_t)sqlite3_column_int64(st, 0), "hash", db_text(st, 1),
					"policy", db_text(st, 2)));
	else
		fail(q, 404, "no org %s", q->org);
	sqlite3_finalize(st);
}

static bool hash_text_valid(const char *s)
{
	uint8_t h[32];
	return strlen(s) == 71 && !strncmp(s, "sha256:", 7) && rp_hex_decode(s + 7, 64, h, 32) == 0;
}

static void h_enroll_token(struct req *q)
{
	json_t *j = body_json(q);
	const char *hash;
	json_int_t exp;
	char id[33];

	if (!j || !(hash = field(q, j, "secret_hash", 71, false)))
		goto out;
	exp = json_integer_value(json_object_get(j, "expires"));
	if (!hash_text_valid(hash) || exp <= rp_now() || exp > rp_now() + 30 * 86400) {
		fail(q, 400, "need secret_hash sha256:<hex> and expires within 30 days");
		goto out;
	}
	rp_random_hex(id, 16);
	if (db_exec(&q->srv->db, "INSERT INTO enroll_tokens (id, org, secret_hash, expires, created, "
				 "created_by) VALUES (?, ?, ?, ?, ?, ?)",
		    "tttiit", id, q->org, hash, (int64_t)exp, rp_now(), q->who) < 0) {
		fail(q, 409, "could not store the enrolment token (duplicate secret?)");
		goto out;
	}
	reply(q, 201, json_pack("{s:s}", "id", id));
out:
	json_decref(j);
}

static void h_enroll(struct req *q)
{
	json_t *j = body_json(q);
	const char *org, *secret, *pub64, *host, *os, *ver, *proof64;
	uint8_t pub[34], proof[66];
	size_t publen, prooflen;
	char hash[72], devid[RP_ID_HEX + 1], msg[256];
	struct db *db = &q->srv->db;
	sqlite3_stmt *st = NULL;
	int r;

	if (!j || !(org = field(q, j, "org", RP_ORG_NAME_MAX, false)) ||
	    !(secret = field(q, j, "secret", 64, false)) ||
	    !(pub64 = field(q, j, "pubkey", 44, false)) ||
	    !(host = field(q, j, "hostname", 255, false)) || !(os = field(q, j, "os", 128, true)) ||
	    !(ver = field(q, j, "agent_version", 32, false)) ||
	    !(proof64 = field(q, j, "proof", 88, false)))
		goto out;
	if (!text_printable(host) || !text_printable(os) || !text_printable(ver)) {
		fail(q, 400, "hostname, os and agent_version must be printable text");
		goto out;
	}
	if (rp_b64_decode(pub64, strlen(pub64), pub, sizeof(pub), &publen) < 0 || publen != 32 ||
	    rp_b64_decode(proof64, strlen(proof64), proof, sizeof(proof), &prooflen) < 0 ||
	    prooflen != 64) {
		fail(q, 400, "pubkey and proof must be base64 of 32 and 64 bytes");
		goto out;
	}
	snprintf(msg, sizeof(msg), "rampart-enroll/v1\n%s\n%s\n", org, secret);
	if (crypto_sign_verify_detached(proof, (const uint8_t *)msg, strlen(msg), pub) != 0) {
		fail(q, 400, "enrolment proof does not verify with the device key");
		goto out;
	}
	rp_sha256_text(secret, strlen(secret), hash);
	rp_device_id(pub, devid);
	if (db_begin(db) < 0) {
		fail(q, 500, "database busy");
		goto out;
	}
	st = db_prep(db, "SELECT id FROM enroll_tokens WHERE org = ? AND secret_hash = ? "
			 "AND used IS NULL AND expires > ?", "tti", org, hash, rp_now());
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		db_rollback(db);
		fail(q, 403, "enrolment secret is unknown, used or expired for org %s", org);
		goto out;
	}
	char tid[33];
	snprintf(tid, sizeof(tid), "%s", db_text(st, 0));
	r = db_exec(db, "INSERT INTO devices (id, org, pubkey, hostname, os, agent_version, enrolled, "
			"last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		    "ttbtttii", devid, org, pub, (size_t)32, host, os, ver, rp_now(), rp_now());
	if (r == RP_E_EXISTS) {
		db_rollback(db);
		fail(q, 409, "device %s is already enrolled", devid);
		goto out;
	}
	if (r < 0 || db_exec(db, "UPDATE enroll_tokens SET used = ?, device_id = ? WHERE id = ?", "itt",
			     rp_now(), devid, tid) < 0 || db_commit(db) < 0) {
		db_rollback(db);
		fail(q, 500, "storing device %s failed", devid);
		goto out;
	}
	snprintf(q->who, sizeof(q->who), "%s", devid);
	fprintf(stderr, "rampartd: device %s (%s) enrolled in org %s\n", devid, host, org);
	reply(q, 201, json_pack("{s:s}", "device_id", devid));
out:
	sqlite3_finalize(st);
	json_decref(j);
}

static void h_devices(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT id, hostname, os, agent_version, enrolled, "
						"last_seen, alarm FROM devices WHERE org = ? ORDER BY hostname, id",
				   "t", q->org);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "id",
						   db_text(st, 0), "hostname", db_text(st, 1), "os",
						   db_text(st, 2), "agent_version", db_text(st, 3),
						   "enrolled", (json_int_t)sqlite3_column_int64(st, 4),
						   "last_seen", (json_int_t)sqlite3_column_int64(st, 5),
						   "alarm", db_text(st, 6)));
	sqlite3_finalize(st);
	reply(q, 200, json_pack("{s:o}", "devices", a));
}

/*
 * Checks the signatures of a command statement against the exec role.
 * Returns 1 when the quorum is met, 0 when some (but not enough) valid
 * signatures are there, or -1 after failing the request.
 */
static int command_quorum(struct req *q, const struct rp_command *c, size_t *ret_count,
			  uint32_t *ret_threshold)
{
	struct rp_policy *p = load_policy(q->srv, q->org);
	struct rp_diag d = {""};
	int r;

	if (!p) {
		fail(q, 404, "no org %s", q->org);
		return -1;
	}
	r = rp_quorum_check(p, rp_command_role(c), c->note, ret_count, &d);
	*ret_threshold = p->roles[rp_command_role(c)].threshold;
	rp_policy_free(p);
	if (r == 0)
		return 1;
	if (r == RP_E_QUORUM && *ret_count > 0)
		return 0;
	fail(q, 400, "statement signatures refused: %s", d.msg);
	return -1;
}

static void command_reply(struct req *q, int status, const char *id, bool approved,
			  size_t count, uint32_t threshold)
{
	reply(q, status, json_pack("{s:s, s:s, s:I, s:I}", "id", id, "state",
				   approved ? "approved" : "pending-approval", "signatures",
				   (json_int_t)count, "threshold", (json_int_t)threshold));
}

static void wake_targets(struct server *s, const struct rp_command *c)
{
	for (size_t i = 0; i < c->ntargets; i++)
		api_wake(s, c->targets[i]);
}

static void h_cmd_submit(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	struct db *db = &q->srv->db;
	const char *text, *p64;
	uint8_t *payload = NULL, h[32];
	size_t plen = 0, count = 0;
	uint32_t threshold = 0;
	int ok;

	if (!j || !(text = field(q, j, "statement", RP_LOG_ENTRY_MAX, false)) ||
	    !(p64 = field(q, j, "payload", (RP_PAYLOAD_MAX + 2) / 3 * 4, true)))
		goto out;
	if (rp_command_parse(text, strlen(text), &c, &d) < 0) {
		fail(q, 400, "%s", d.msg);
		goto out;
	}
	if (strcmp(c->org, q->org) != 0) {
		fail(q, 400, "statement is for org %s, not %s", c->org, q->org);
		goto out;
	}
	payload = malloc(strlen(p64) / 4 * 3 + 1);
	if (!payload || (*p64 && rp_b64_decode(p64, strlen(p64), payload, strlen(p64) / 4 * 3 + 1,
						&plen) < 0)) {
		fail(q, 400, "payload is not base64");
		goto out;
	}
	rp_sha256(payload, plen, h);
	if (plen != c->payload_size || sodium_memcmp(h, c->payload_hash, 32) != 0) {
		fail(q, 400, "payload does not match the statement's hash and size");
		goto out;
	}
	for (size_t i = 0; i < c->ntargets; i++) {
		sqlite3_stmt *st = db_prep(db, "SELECT 1 FROM devices WHERE id = ? AND org = ?", "tt",
					   c->targets[i], q->org);
		bool known = st && sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (!known) {
			fail(q, 400, "target %s is not a device of org %s", c->targets[i], q->org);
			goto out;
		}
	}
	if ((ok = command_quorum(q, c, &count, &threshold)) < 0)
		goto out;
	if (db_begin(db) < 0) {
		fail(q, 500, "database busy");
		goto out;
	}
	int r = db_exec(db, "INSERT INTO commands (id, org, statement, payload, state, signatures, "
			    "threshold, targets, comment, expires, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			"tttbtiiitii", c->id, q->org, text, payload, plen,
			ok ? "approved" : "pending-approval", (int64_t)count, (int64_t)threshold,
			(int64_t)c->ntargets, c->comment, c->expires, rp_now());
	for (size_t i = 0; r == 0 && i < c->ntargets; i++)
		r = db_exec(db, "INSERT INTO deliveries (command_id, device_id, status, updated) "
				"VALUES (?, ?, 'pending', ?)", "tti", c->id, c->targets[i], rp_now());
	if (r < 0 || db_commit(db) < 0) {
		db_rollback(db);
		if (r == RP_E_EXISTS)
			fail(q, 409, "command %s already exists", c->id);
		else
			fail(q, 500, "storing command %s failed", c->id);
		goto out;
	}
	fprintf(stderr, "rampartd: command %s submitted by %s: %zu of %u signatures\n", c->id, q->who,
		count, threshold);
	command_reply(q, 201, c->id, ok, count, threshold);
	if (ok)
		wake_targets(q->srv, c);
out:
	free(payload);
	rp_command_free(c);
	json_decref(j);
}

static void h_cmd_list(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT id, state, created, signatures, threshold, "
						"targets, comment FROM commands WHERE org = ? "
						"ORDER BY seq DESC LIMIT 500", "t", q->org);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "id",
						   db_text(st, 0), "state", db_text(st, 1), "created",
						   (json_int_t)sqlite3_column_int64(st, 2), "signatures",
						   (json_int_t)sqlite3_column_int64(st, 3), "threshold",
						   (json_int_t)sqlite3_column_int64(st, 4), "targets",
						   (json_int_t)sqlite3_column_int64(st, 5), "comment",
						   db_text(st, 6)));
	sqlite3_finalize(st);
	reply(q, 200, json_pack("{s:o}", "commands", a));
}

static void h_cmd_get(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT state, statement, payload, signatures, threshold "
						"FROM commands WHERE id = ? AND org = ?", "tt",
				   q->arg[1], q->org);
	char *p64;

	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		fail(q, 404, "no command %s in org %s", q->arg[1], q->org);
		return;
	}
	p64 = rp_b64_encode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	reply(q, 200, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", q->arg[1], "state",
				db_text(st, 0), "statement", db_text(st, 1), "payload", p64 ? p64 : "",
				"signatures", (json_int_t)sqlite3_column_int64(st, 3), "threshold",
				(json_int_t)sqlite3_column_int64(st, 4)));
	free(p64);
	sqlite3_finalize(st);
}

static void h_cmd_sign(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_note *add = NULL, *have = NULL;
	struct rp_command *c = NULL;
	struct rp_diag d = {""};
	struct db *db = &q->srv->db;
	sqlite3_stmt *st = NULL;
	const char *text;
	char *merged = NULL, state[32];
	size_t mlen, count = 0;
	uint32_t threshold = 0;
	int ok;

	if (!j || !(text = field(q, j, "statement", RP_LOG_ENTRY_MAX, false)))
		goto out;
	if (rp_note_parse(text, strlen(text), &add, &d) < 0) {
		fail(q, 400, "%s", d.msg);
		goto out;
	}
	st = db_prep(db, "SELECT statement, state FROM commands WHERE id = ? AND org = ?", "tt",
		     q->arg[1], q->org);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		fail(q, 404, "no command %s in org %s", q->arg[1], q->org);
		goto out;
	}
	snprintf(state, sizeof(state), "%s", db_text(st, 1));
	if (rp_note_parse(db_text(st, 0), strlen(db_text(st, 0)), &have, &d) < 0 ||
	    rp_note_merge(have, add, &merged, &mlen) < 0) {
		fail(q, 400, "the signed text differs from command %s", q->arg[1]);
		goto out;
	}
	if (rp_command_parse(merged, mlen, &c, &d) < 0) {
		fail(q, 400, "%s", d.msg);
		goto out;
	}
	if ((ok = command_quorum(q, c, &count, &threshold)) < 0)
		goto out;
	bool newly = ok && strcmp(state, "approved") != 0;
	if (db_exec(db, "UPDATE commands SET statement = ?, signatures = ?, state = ? WHERE id = ?",
		    "titt", merged, (int64_t)count, ok ? "approved" : state, c->id) < 0) {
		fail(q, 500, "storing signatures for %s failed", c->id);
		goto out;
	}
	fprintf(stderr, "rampartd: command %s signed by %s: %zu of %u signatures%s\n", c->id, q->who,
		count, threshold, newly ? ", approved" : "");
	command_reply(q, 200, c->id, ok || !strcmp(state, "approved"), count, threshold);
	if (newly)
		wake_targets(q->srv, c);
out:
	sqlite3_finalize(st);
	rp_note_free(add);
	rp_note_free(have);
	rp_command_free(c);
	free(merged);
	json_decref(j);
}

static void h_results(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db,
				   "SELECT d.device_id, ifnull(v.hostname, ''), d.status, d.exit_code, "
				   "d.output, ifnull(d.duration_ms, 0), d.updated, d.reason, c.expires "
				   "FROM commands c JOIN deliveries d ON d.command_id = c.id "
				   "LEFT JOIN devices v ON v.id = d.device_id "
				   "WHERE c.id = ? AND c.org = ? ORDER BY v.hostname, d.device_id",
				   "tt", q->arg[1], q->org);
	sqlite3_stmt *chk = db_prep(&q->srv->db, "SELECT 1 FROM commands WHERE id = ? AND org = ?",
				    "tt", q->arg[1], q->org);
	json_t *a = json_array();
	bool exists = chk && sqlite3_step(chk) == SQLITE_ROW;

	sqlite3_finalize(chk);
	if (!exists) {
		sqlite3_finalize(st);
		json_decref(a);
		fail(q, 404, "no command %s in org %s", q->arg[1], q->org);
		return;
	}
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *status = db_text(st, 2);
		int64_t exp = sqlite3_column_int64(st, 8);
		if ((!strcmp(status, "pending") || !strcmp(status, "running")) && exp && rp_now() > exp)
			status = "expired";
		char *out = rp_b64_encode(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4));
		json_t *ex = sqlite3_column_type(st, 3) == SQLITE_NULL
				     ? json_null()
				     : json_integer(sqlite3_column_int64(st, 3));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:s}", "device",
						   db_text(st, 0), "hostname", db_text(st, 1), "status",
						   status, "exit_code", ex, "output", out ? out : "",
						   "duration_ms", (json_int_t)sqlite3_column_int64(st, 5),
						   "updated", (json_int_t)sqlite3_column_int64(st, 6),
						   "reason", db_text(st, 7)));
		free(out);
	}
	sqlite3_finalize(st);
	reply(q, 200, json_pack("{s:o}", "results", a));
}

static void h_alerts(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT device_id, command_id, code, reason, at FROM alerts "
						"WHERE org = ? ORDER BY id DESC LIMIT 1000", "t", q->org);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "device", db_text(st, 0),
						   "command", db_text(st, 1), "code", db_text(st, 2),
						   "reason", db_text(st, 3), "at",
						   (json_int_t)sqlite3_column_int64(st, 4)));
	sqlite3_finalize(st);
	reply(q, 200, json_pack("{s:o}", "alerts", a));
}

static void h_token_create(struct req *q)
{
	json_t *j = body_json(q);
	const char *name, *scope, *hash;
	json_int_t exp;
	char id[33];

	if (!j || !(name = field(q, j, "name", 64, false)) || !(scope = field(q, j, "scope", 8, false)) ||
	    !(hash = field(q, j, "secret_hash", 71, false)))
		goto out;
	exp = json_integer_value(json_object_get(j, "expires"));
	if ((strcmp(scope, "read") && strcmp(scope, "write")) || !hash_text_valid(hash) ||
	    !text_printable(name) || exp <= rp_now() || exp > rp_now() + 366 * 86400) {
		fail(q, 400, "need scope read|write, secret_hash sha256:<hex>, expires within a year");
		goto out;
	}
	rp_random_hex(id, 16);
	if (db_exec(&q->srv->db, "INSERT INTO api_tokens (id, org, name, scope, secret_hash, expires, "
				 "created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		    "tttttiit", id, q->org, name, scope, hash, (int64_t)exp, rp_now(), q->who) < 0) {
		fail(q, 500, "storing the token failed");
		goto out;
	}
	fprintf(stderr, "rampartd: API token %s (%s, %s) created by %s\n", id, name, scope, q->who);
	reply(q, 201, json_pack("{s:s}", "id", id));
out:
	json_decref(j);
}

static void h_token_list(struct req *q)
{
	sqlite3_stmt *st = db_prep(&q->srv->db, "SELECT id, name, scope, expires, created, created_by "
						"FROM api_tokens WHERE org = ? ORDER BY created", "t", q->org);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", db_text(st, 0),
						   "name", db_text(st, 1), "scope", db_text(st, 2),
						   "expires", (json_int_t)sqlite3_column_int64(st, 3),
						   "created", (json_int_t)sqlite3_column_int64(st, 4),
						   "created_by", db_text(st, 5)));
	sqlite3_finalize(st);
	reply(q, 200, json_pack("{s:o}", "tokens", a));
}

static void h_token_revoke(struct req *q)
{
	struct db *db = &q->srv->db;

	if (db_exec(db, "DELETE FROM api_tokens WHERE id = ? AND org = ?", "tt", q->arg[1], q->org) < 0) {
		fail(q, 500, "revoking token %s failed", q->arg[1]);
		return;
	}
	if (sqlite3_changes(db->h) == 0) {
		fail(q, 404, "no token %s in org %s", q->arg[1], q->org);
		return;
	}
	fprintf(stderr, "rampartd: API token %s revoked by %s\n", q->arg[1], q->who);
	reply(q, 200, json_object());
}

/* ---- agents ---- */

/*
 * The device's next delivery: the oldest approved command without a final
 * result. Commands that expired long ago are not offered again; rows that
 * carry no expiry (0) are delivered and left to the agent to judge.
 */
static json_t *next_delivery(struct server *s, const char *device)
{
	sqlite3_stmt *st = db_prep(&s->db,
				   "SELECT c.id, c.statement, c.payload FROM deliveries d "
				   "JOIN commands c ON c.id = d.command_id "
				   "WHERE d.device_id = ? AND c.state = 'approved' "
				   "AND d.status IN ('pending', 'running') "
				   "AND (c.expires = 0 OR c.expires > ?) ORDER BY c.seq LIMIT 1",
				   "ti", device, rp_now() - RP_CLOCK_SKEW_S);
	json_t *j = NULL;

	if (st && sqlite3_step(st) == SQLITE_ROW) {
		char *p64 = rp_b64_encode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
		j = json_pack("{s:s, s:s, s:s}", "command", db_text(st, 0), "statement", db_text(st, 1),
			      "payload", p64 ? p64 : "");
		free(p64);
	}
	sqlite3_finalize(st);
	return j;
}

static void waiter_free(struct waiter *w)
{
	struct server *s = w->srv;

	if (w->prev)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	s->nwaiters--;
	event_free(w->timer);
	free(w);
}

static void waiter_answer(struct waiter *w, json_t *delivery)
{
	struct req q = {.srv = w->srv, .r = w->req, .method = "GET", .t0 = w->started};
	struct evhttp_connection *conn = evhttp_request_get_connection(w->req);

	snprintf(q.path, sizeof(q.path), "/v1/agent/poll");
	snprintf(q.who, sizeof(q.who), "%s", w->device);
	evhttp_connection_set_closecb(conn, NULL, NULL);
	waiter_free(w);
	if (delivery)
		reply(&q, 200, delivery);
	else
		reply(&q, 204, NULL);
}

static void on_hold_end(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	(void)fd;
	(void)what;
	/* Rows written behind the server's back (or missed) are seen here. */
	waiter_answer(w, w->srv->stopping ? NULL : next_delivery(w->srv, w->device));
}

static void on_waiter_close(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	waiter_free(arg);
}

void api_wake(struct server *s, const char *device)
{
	for (struct waiter *w = s->waiters, *next; w; w = next) {
		next = w->next;
		if (strcmp(w->device, device) == 0) {
			json_t *j = next_delivery(s, device);
			if (j)
				waiter_answer(w, j);
		}
	}
}

void api_release_all(struct server *s)
{
	while (s->waiters)
		waiter_answer(s->waiters, NULL);
}

static void h_poll(struct req *q)
{
	struct evkeyvalq params;
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(q->r));
	const char *wait_s = NULL;
	uint64_t wait = 0;
	json_t *j;

	TAILQ_INIT(&params);
	if (query && evhttp_parse_query_str(query, &params) == 0)
		wait_s = evhttp_find_header(&params, "wait");
	if (wait_s && rp_parse_u64(wait_s, strlen(wait_s), 3600, &wait) != 0) {
		evhttp_clear_headers(&params);
		fail(q, 400, "wait must be a number of seconds");
		return;
	}
	evhttp_clear_headers(&params);
	/* At most one write a minute per device: polls are frequent, fsyncs are not free. */
	db_exec(&q->srv->db, "UPDATE devices SET last_seen = ? WHERE id = ? AND last_seen < ?", "iti",
		rp_now(), q->who, rp_now() - 60);
	if ((j = next_delivery(q->srv, q->who))) {
		reply(q, 200, j);
		return;
	}
	if (wait == 0 || q->srv->stopping) {
		reply(q, 204, NULL);
		return;
	}
	if (wait > (uint64_t)q->srv->poll_hold)
		wait = (uint64_t)q->srv->poll_hold;
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		fail(q, 500, "out of memory");
		return;
	}
	w->srv = q->srv;
	w->req = q->r;
	w->started = q->t0;
	memcpy(w->device, q->who, sizeof(w->device));
	w->timer = evtimer_new(q->srv->base, on_hold_end, w);
	struct timeval tv = {(time_t)wait, 0};
	evtimer_add(w->timer, &tv);
	w->next = q->srv->waiters;
	if (w->next)
		w->next->prev = w;
	q->srv->waiters = w;
	q->srv->nwaiters++;
	evhttp_connection_set_closecb(evhttp_request_get_connection(q->r), on_waiter_close, w);
}

static void h_started(struct req *q)
{
	json_t *j = body_json(q);
	const char *id;

	if (!j || !(id = field(q, j, "command", RP_ID_HEX, false)))
		goto out;
	db_exec(&q->srv->db, "UPDATE deliveries SET status = 'running', updated = ? "
			     "WHERE command_id = ? AND device_id = ? AND status = 'pending'",
		"itt", rp_now(), id, q->who);
	reply(q, 200, json_object());
out:
	json_decref(j);
}

static void h_result(struct req *q)
{
	json_t *j = body_json(q);
	struct rp_note *note = NULL;
	struct rp_result res;
	struct rp_diag d = {""};
	struct rp_vkey k = {0};
	struct db *db = &q->srv->db;
	sqlite3_stmt *st = NULL;
	const char *text, *o64, *reason;
	uint8_t *out = NULL, h[32];
	size_t olen = 0;
	bool ok;

	if (!j || !(text = field(q, j, "result", 8192, false)) ||
	    !(o64 = field(q, j, "output", (RP_OUTPUT_KEEP + 2) / 3 * 4, true)) ||
	    !(reason = field(q, j, "reason", 255, true)))
		goto out;
	st = db_prep(db, "SELECT pubkey FROM devices WHERE id = ?", "t", q->who);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		fail(q, 500, "device %s vanished", q->who);
		goto out;
	}
	snprintf(k.name, sizeof(k.name), "%s", q->who);
	k.type = RP_KEY_ED25519;
	memcpy(k.pub, sqlite3_column_blob(st, 0), 32);
	k.id = rp_key_id(k.name, strlen(k.name), RP_KEY_ED25519, k.pub);
	if (rp_note_parse(text, strlen(text), &note, &d) < 0 || rp_note_verify(note, &k, 1, &ok, &d) < 0 ||
	    rp_result_parse_text(note->msg, note->text_len, &res, &d) < 0) {
		fail(q, 400, "result refused: %s", d.msg);
		goto out;
	}
	if (strcmp(res.device, q->who) != 0 || strcmp(res.org, q->org) != 0) {
		fail(q, 400, "result is for device %s of org %s", res.device, res.org);
		goto out;
	}
	out = malloc(strlen(o64) / 4 * 3 + 1);
	if (!out || (*o64 && rp_b64_decode(o64, strlen(o64), out, strlen(o64) / 4 * 3 + 1, &olen) < 0)) {
		fail(q, 400, "output is not base64");
		goto out;
	}
	rp_sha256(out, olen, h);
	if (olen != res.output_size || sodium_memcmp(h, res.output_hash, 32) != 0) {
		fail(q, 400, "output does not match the signed result");
		goto out;
	}
	if (db_exec(db, "UPDATE deliveries SET status = ?, exit_code = ?, output = ?, duration_ms = ?, "
			"reason = ?, result = ?, updated = ? WHERE command_id = ? AND device_id = ? "
			"AND status IN ('pending', 'running')",
		    "tibittitt", rp_result_status_name(res.status), (int64_t)res.exit_code, out, olen,
		    (int64_t)res.duration_ms, reason, text, rp_now(), res.command, q->who) < 0) {
		fail(q, 500, "storing the result failed");
		goto out;
	}
	if (sqlite3_changes(db->h) == 0) {
		fail(q, 409, "no open delivery of command %s for this device", res.command);
		goto out;
	}
	fprintf(stderr, "rampartd: result of %s on %s: %s, exit %d\n", res.command, q->who,
		rp_result_status_name(res.status), (int)res.exit_code);
	reply(q, 200, json_object());
out:
	free(out);
	sqlite3_finalize(st);
	rp_note_free(note);
	json_decref(j);
}

static void h_alert(struct req *q)
{
	json_t *j = body_json(q);
	const char *id, *code, *reason;
	struct db *db = &q->srv->db;

	if (!j || !(id = field(q, j, "command", RP_ID_HEX, true)) ||
	    !(code = field(q, j, "code", 32, false)) || !(reason = field(q, j, "reason", 512, false)))
		goto out;
	if ((*id && !rp_id_valid(id, strlen(id))) || !text_printable(code) || !text_printable(reason)) {
		fail(q, 400, "alert fields must be an id and printable text");
		goto out;
	}
	bool security = strcmp(code, "interrupted") != 0;
	if (db_begin(db) < 0) {
		fail(q, 500, "database busy");
		goto out;
	}
	if (db_exec(db, "INSERT INTO alerts (org, device_id, command_id, code, reason, at) "
			"VALUES (?, ?, ?, ?, ?, ?)", "ttttti", q->org, q->who, id, code, reason,
		    rp_now()) < 0 ||
	    (*id && db_exec(db, "UPDATE deliveries SET status = ?, reason = ?, updated = ? "
				"WHERE command_id = ? AND device_id = ? AND status IN ('pending', 'running')",
			    "ttitt", security ? "refused" : "failed", reason, rp_now(), id, q->who) < 0) ||
	    (security && db_exec(db, "UPDATE devices SET alarm = ? WHERE id = ?", "tt", code, q->who) < 0) ||
	    db_commit(db) < 0) {
		db_rollback(db);
		fail(q, 500, "storing the alert failed");
		goto out;
	}
	fprintf(stderr, "rampartd: %s from device %s: %s: command %s: %s\n",
		security ? "SECURITY ALERT" : "notice", q->who, code, *id ? id : "-", reason);
	reply(q, 200, json_object());
out:
	json_decref(j);
}

/* ---- routing ---- */

static const struct route {
	const char *method;
	const char *pattern; /* '*' matches one segment */
	enum auth auth;
	size_t body_max;
	void (*fn)(struct req *q);
} routes[] = {
	{"GET", "/v1/health", AUTH_NONE, 0, h_health},
	{"POST", "/v1/orgs", AUTH_BOOTSTRAP, RP_HTTP_BODY_PREAUTH_MAX * 4, h_org_create},
	{"GET", "/v1/orgs/*/policy", AUTH_NONE, 0, h_policy},
	{"POST", "/v1/orgs/*/enroll-tokens", AUTH_SIGNED, 4096, h_enroll_token},
	{"POST", "/v1/enroll", AUTH_NONE, RP_HTTP_BODY_PREAUTH_MAX, h_enroll},
	{"GET", "/v1/orgs/*/devices", AUTH_READ, 0, h_devices},
	{"POST", "/v1/orgs/*/commands", AUTH_WRITE, RP_HTTP_BODY_MAX, h_cmd_submit},
	{"GET", "/v1/orgs/*/commands", AUTH_READ, 0, h_cmd_list},
	{"GET", "/v1/orgs/*/commands/*", AUTH_READ, 0, h_cmd_get},
	{"POST", "/v1/orgs/*/commands/*/signatures", AUTH_WRITE, RP_NOTE_MAX * 2, h_cmd_sign},
	{"GET", "/v1/orgs/*/commands/*/results", AUTH_READ, 0, h_results},
	{"GET", "/v1/orgs/*/alerts", AUTH_READ, 0, h_alerts},
	{"POST", "/v1/orgs/*/tokens", AUTH_SIGNED, 4096, h_token_create},
	{"GET", "/v1/orgs/*/tokens", AUTH_SIGNED, 0, h_token_list},
	{"DELETE", "/v1/orgs/*/tokens/*", AUTH_SIGNED, 0, h_token_revoke},
	{"GET", "/v1/agent/poll", AUTH_DEVICE, 0, h_poll},
	{"POST", "/v1/agent/started", AUTH_DEVICE, 4096, h_started},
	{"POST", "/v1/agent/result", AUTH_DEVICE, 2 * RP_OUTPUT_KEEP + 16384, h_result},
	{"POST", "/v1/agent/alert", AUTH_DEVICE, 4096, h_alert},
};

/* Matches path against pattern; fills args. */
static bool match(const char *pattern, char *path, char *args[2])
{
	int n = 0;
	const char *p = pattern;
	char *s = path;

	while (*p && *s) {
		if (*p == '*') {
			char *end = strchr(s, '/');
			size_t len = end ? (size_t)(end - s) : strlen(s);
			if (len == 0 || n == 2)
				return false;
			args[n++] = s;
			s += len;
			p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "OTHER";
	}
}

static void dispatch(struct evhttp_request *r, void *arg)
{
	struct req q = {.srv = arg, .r = r, .t0 = now_ms()};
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	const struct route *rt = NULL;
	bool path_known = false;
	char scratch[512];

	q.method = method_name(evhttp_request_get_command(r));
	q.uri = evhttp_request_get_uri(r);
	snprintf(q.path, sizeof(q.path), "%s", path ? path : "?");
	if (!path || strlen(path) >= sizeof(scratch) || strchr(path, '%')) {
		fail(&q, 404, "no such resource");
		return;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char *args[2] = {NULL, NULL};
		snprintf(scratch, sizeof(scratch), "%s", path);
		if (!match(routes[i].pattern, scratch, args))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, q.method) != 0)
			continue;
		rt = &routes[i];
		/* Split the captured segments in place. */
		for (char *c = scratch; *c; c++)
			if (*c == '/')
				*c = '\0';
		q.arg[0] = args[0];
		q.arg[1] = args[1];
		snprintf(q.path, sizeof(q.path), "%s", path);
		break;
	}
	if (!rt) {
		fail(&q, path_known ? 405 : 404, path_known ? "method not allowed" : "no such resource");
		return;
	}
	q.body_len = evbuffer_get_length(in);
	if (q.body_len > rt->body_max) {
		fail(&q, 413, "body of %zu bytes exceeds this endpoint's %zu", q.body_len, rt->body_max);
		return;
	}
	q.body = q.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (q.arg[0] && !strncmp(rt->pattern, "/v1/orgs/", 9)) {
		if (!rp_org_name_valid(q.arg[0], strlen(q.arg[0]))) {
			fail(&q, 404, "no such org");
			return;
		}
		snprintf(q.org, sizeof(q.org), "%s", q.arg[0]);
	}
	if (q.arg[1] && !rp_id_valid(q.arg[1], strlen(q.arg[1]))) {
		fail(&q, 404, "`%.40s' is not an id", q.arg[1]);
		return;
	}
	switch (rt->auth) {
	case AUTH_NONE: break;
	case AUTH_BOOTSTRAP:
		if (!auth_bootstrap(&q))
			return;
		break;
	case AUTH_DEVICE:
		if (!auth_device(&q))
			return;
		break;
	default:
		if (!auth_admin(&q, rt->auth))
			return;
		break;
	}
	rt->fn(&q);
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
	struct server *s = arg;
	SSL *ssl = SSL_new(s->ssl);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int api_init(struct server *s)
{
	s->http = evhttp_new(s->base);
	if (!s->http)
		return RP_E_NOMEM;
	evhttp_set_bevcb(s->http, make_bev, s);
	evhttp_set_gencb(s->http, dispatch, s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(s->http, RP_HTTP_BODY_MAX);
	evhttp_set_max_headers_size(s->http, RP_HTTP_HEADERS_MAX);
	evhttp_set_timeout(s->http, s->poll_hold + 30);
	return 0;
}
