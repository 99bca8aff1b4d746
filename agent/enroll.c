/* SPDX-License-Identifier: Apache-2.0 */
#include "agent.h"
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "facts.h"
#include "rp_err.h"
#include "enroll.h"
#include "token.h"

void agent_os_name(char *out, int n)
{
	char *buf = NULL;
	size_t len;
	struct utsname u;

	/* PRETTY_NAME from os-release, else the kernel's name. */
	if (rp_read_file("/etc/os-release", RP_OS_RELEASE_MAX, &buf, &len) == 0) {
		char *p = strstr(buf, "PRETTY_NAME=");
		if (p) {
			p += 12;
			if (*p == '"')
				p++;
			size_t k = strcspn(p, "\"\n");
			snprintf(out, (size_t)n, "%.*s", (int)k, p);
			free(buf);
			return;
		}
		free(buf);
	}
	if (uname(&u) == 0)
		snprintf(out, (size_t)n, "%.64s %.32s", u.sysname, u.release);
	else
		snprintf(out, (size_t)n, "unknown");
}

static int mkdirs(const char *dir)
{
	char p[600];
	static const char *const subs[] = {"spool"};

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return RP_E_IO;
	if (chmod(dir, 0700) != 0)
		return RP_E_IO;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return RP_E_IO;
	}
	return 0;
}

/*
 * The facts administrators choose targets by, signed by the device key:
 * the CLI shows them as the device's, not the server's word. NULL when a
 * value cannot be stated in the format (the server's columns then stand
 * alone, marked as its word).
 */
static char *facts_note(const struct rp_skey *key, const char *org, const char *devid,
			const char *hostname, const char *os)
{
	struct rp_facts f = {0};
	char *text, *note = NULL;
	size_t len, nlen;

	snprintf(f.org, sizeof(f.org), "%s", org);
	snprintf(f.device, sizeof(f.device), "%s", devid);
	snprintf(f.hostname, sizeof(f.hostname), "%s", hostname);
	snprintf(f.os, sizeof(f.os), "%s", os);
	snprintf(f.agent_version, sizeof(f.agent_version), "%s", RP_VERSION);
	if (!(text = rp_facts_format(&f, &len)))
		return NULL;
	if (rp_note_sign(text, len, NULL, key, &note, &nlen) < 0)
		note = NULL;
	free(text);
	return note;
}

/*
 * The root policy the server serves at path, parsed, not yet trusted (v:
 * the version asked for, 0: any). < 0 with d saying why, and *ret_answered
 * telling an answer that holds no such policy (true) from a request that
 * failed or an answer that is not a JSON object (false).
 */
static int fetch_policy(struct agent *net, const char *path, uint64_t v, struct rp_policy **ret,
			bool *ret_answered, struct rp_diag *d)
{
	struct agent_answer ans;
	struct agent_call get = {.method = "GET",
				 .path = path,
				 .timeout_ms = RP_AGENT_REQUEST_S * 1000L,
				 .max_body = RP_POLICY_ANSWER_MAX,
				 .values_max = RP_AGENT_ANSWER_VALUES_MAX,
				 .kind = AGENT_ANS_FIELDS,
				 .fields = {"policy", NULL}};
	int r;

	agent_answer_init(&ans);
	*ret_answered = false;
	if ((r = agent_net_call(net, &get, &ans, d)) < 0 || ans.kind != AGENT_ANS_FIELDS) {
		if (r >= 0)
			rp_diagf(d, "an answer that is not a JSON object");
		r = r < 0 ? r : RP_E_HTTP;
		goto out;
	}
	*ret_answered = true;
	if (!ans.field[0]) {
		rp_diagf(d, "no policy in the answer");
		r = RP_E_POLICY;
	} else if ((r = rp_policy_parse(ans.field[0], ans.field_len[0], ret, d)) == 0 && v &&
		   (*ret)->version != v) {
		rp_diagf(d, "asked for root policy version %llu, got version %llu",
			 (unsigned long long)v, (unsigned long long)(*ret)->version);
		r = RP_E_POLICY;
	}
out:
	agent_answer_release(&ans);
	return r;
}

/* Version v of the org's root policy as the server logged it (parsed, not yet trusted). */
static int fetch_policy_version(struct agent *net, const struct rp_enroll_token *tok, uint64_t v,
				struct rp_policy **ret, struct rp_diag *d)
{
	char path[160];
	bool answered;

	snprintf(path, sizeof(path), "/v1/orgs/%s/policies/%llu", tok->org, (unsigned long long)v);
	return fetch_policy(net, path, v, ret, &answered, d);
}

/*
 * The token names an older version than the server's current one (the
 * root policy was rotated after the token was made): the versions before
 * the current are fetched, newest first, down to the one whose hash the
 * token names (at most RP_POLICY_CHAIN_MAX back), and the chain from it up
 * to the current verified rotation by rotation (rp_policy_verify_rotation,
 * TUF's rule, as the CLI and the agent's walk do). Trust comes from the
 * token's hash alone; expiry is judged on the current version only.
 */
static int verify_from_token(struct agent *net, const struct rp_enroll_token *tok,
			     const struct rp_policy *cur, struct rp_diag *d)
{
	struct rp_policy *chain[RP_POLICY_CHAIN_MAX + 1] = {NULL};
	size_t n = 0;
	int r = RP_E_POLICY;

	/* as the CLI's walk: versions and bytes capped, and the whole of it bounded in time */
	int64_t deadline = rp_now() + 4 * RP_AGENT_REQUEST_S;
	size_t bytes = 0;

	chain[n++] = (struct rp_policy *)cur; /* not freed below */
	while (cur->version > n && n <= RP_POLICY_CHAIN_MAX) {
		if (rp_now() > deadline) {
			rp_diagf(d, "fetching the root policy versions took over %d s",
				 4 * RP_AGENT_REQUEST_S);
			r = RP_E_NET;
			goto out;
		}
		if ((r = fetch_policy_version(net, tok, cur->version - n, &chain[n], d)) < 0)
			goto out;
		bytes += chain[n]->note ? chain[n]->note->msg_len : 0;
		n++;
		if (bytes > RP_POLICY_CHAIN_BYTES) {
			rp_diagf(d, "the root policy versions after the token's exceed %d bytes",
				 RP_POLICY_CHAIN_BYTES);
			r = RP_E_TOOBIG;
			goto out;
		}
		if (!strcmp(chain[n - 1]->hash, tok->policy))
			break;
	}
	if (strcmp(chain[n - 1]->hash, tok->policy) != 0) {
		rp_diagf(d,
			 "none of root policy versions %llu to %llu is the one the enrolment "
			 "token names (%s)",
			 (unsigned long long)(cur->version - n + 1),
			 (unsigned long long)cur->version, tok->policy);
		r = RP_E_POLICY;
		goto out;
	}
	if (!chain[n - 1]->note ||
	    (r = rp_quorum_check(chain[n - 1], RP_ROLE_ROOT, chain[n - 1]->note, NULL, d)) < 0)
		goto out;
	for (size_t i = n - 1; i > 0; i--) {
		if ((r = rp_policy_verify_rotation(chain[i], chain[i - 1], d)) < 0) {
			char why[sizeof(d->msg)];
			snprintf(why, sizeof(why), "%s", d->msg);
			rp_diagf(d, "version %llu does not follow from version %llu: %s",
				 (unsigned long long)chain[i - 1]->version,
				 (unsigned long long)chain[i]->version, why);
			goto out;
		}
	}
	/* the current version's own quorum (implied by its rotation) and its expiry */
	if ((r = rp_policy_verify_initial(cur, cur->hash, rp_now(), d)) < 0)
		goto out;
	fprintf(stderr,
		"rampart-agent: the enrolment token names root policy version %llu; the server's "
		"current version %llu follows from it by %zu verified rotation%s\n",
		(unsigned long long)chain[n - 1]->version, (unsigned long long)cur->version, n - 1,
		n == 2 ? "" : "s");
	r = 0;
out:
	for (size_t i = 1; i < n; i++)
		rp_policy_free(chain[i]);
	return r;
}

/*
 * The request of a device enrolling by a reusable token: its enrolment
 * note, signed by the token's key (from the seed, which never leaves this
 * process) and by the new device key (lib/enroll.h).
 */
static int enrolment_body(const struct rp_reusable_token *t, const struct rp_skey *device,
			  const char *devid, const char *hostname, const char *os, json_t **ret)
{
	struct rp_enrolment e;
	struct rp_skey tk;
	char *note = NULL;
	size_t nlen;
	int r;

	memset(&e, 0, sizeof(e));
	snprintf(e.org, sizeof(e.org), "%s", t->org);
	snprintf(e.token, sizeof(e.token), "%s", t->id);
	snprintf(e.device, sizeof(e.device), "%s", devid);
	memcpy(e.pub, device->pub, 32);
	snprintf(e.hostname, sizeof(e.hostname), "%s", hostname);
	e.time = rp_now();
	if ((r = rp_reusable_token_key(t->id, t->seed, &tk)) < 0)
		return r;
	r = rp_enrolment_sign(&e, &tk, device, &note, &nlen);
	rp_skey_wipe(&tk);
	if (r < 0) {
		fprintf(stderr,
			"rampart-agent: cannot sign the enrolment note (hostname `%s'): %s\n",
			hostname, rp_strerror(r));
		return r;
	}
	*ret = json_pack("{s:s, s:s, s:s, s:s, s:s}", "org", t->org, "enrolment", note, "hostname",
			 hostname, "os", os, "agent_version", RP_VERSION);
	free(note);
	return *ret ? 0 : RP_E_NOMEM;
}

int agent_enroll(const char *token_text, const char *dir, const char *net_user)
{
	struct rp_enroll_token tok;
	struct rp_reusable_token rtok = {0};
	bool reusable = false;
	struct rp_diag d = {""};
	struct rp_url url;
	struct rp_policy *pol = NULL;
	struct rp_skey key = {0};
	struct agent_conf conf = {0};
	struct agent_answer ans;
	json_t *body = NULL;
	char path[600], hostname[256] = "", os[128], *keytext = NULL, *proof_b64 = NULL;
	char *pub_b64 = NULL, *msg = NULL, *facts = NULL, *text = NULL;
	uint8_t proof[crypto_sign_BYTES];
	int r;
	/* Its requests go through a network process too (docs/privsep.md): the
	 * server's answers are parsed there, not here. It signs nothing: the
	 * proof of the secret is in the body. */
	struct agent *net = calloc(1, sizeof(*net));
	struct agent_net_spawn spawn = {
		.user = net_user ? net_user : AGENT_NET_USER_DEFAULT,
		.hide = NULL, /* nothing to hide yet: the state directory comes last */
	};

	agent_answer_init(&ans);
	if (!net) {
		fprintf(stderr, "rampart-agent: out of memory\n");
		return 1;
	}
	net->net.fd = -1;
	net->net.log_fd = -1;

	if (rp_reusable_token_is(token_text, strlen(token_text))) {
		/* a reusable token: the same trust anchors, and a seed instead of a secret */
		reusable = true;
		if ((r = rp_reusable_token_parse(token_text, strlen(token_text), &rtok, &d)) < 0) {
			fprintf(stderr, "rampart-agent: enrolment token rejected: %s\n", d.msg);
			goto out;
		}
		memset(&tok, 0, sizeof(tok));
		memcpy(tok.server, rtok.server, sizeof(tok.server));
		memcpy(tok.pin, rtok.pin, sizeof(tok.pin));
		memcpy(tok.org, rtok.org, sizeof(tok.org));
		memcpy(tok.policy, rtok.policy, sizeof(tok.policy));
		tok.expires = rtok.expires;
	} else if ((r = rp_enroll_token_parse(token_text, strlen(token_text), &tok, &d)) < 0) {
		fprintf(stderr, "rampart-agent: enrolment token rejected: %s\n", d.msg);
		goto out; /* what it parsed of the token is wiped there too */
	}
	if (rp_now() >= tok.expires) {
		fprintf(stderr,
			"rampart-agent: enrolment token expired; ask an administrator for a new one\n");
		r = RP_E_EXPIRED;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr,
			"rampart-agent: %s is already enrolled (remove the state directory to enrol again)\n",
			dir);
		r = RP_E_EXISTS;
		goto out;
	}
	if ((r = rp_url_parse(tok.server, &url, &d)) < 0 ||
	    (r = rp_pin_parse(tok.pin, net->api.http.pin, &d)) < 0) {
		fprintf(stderr, "rampart-agent: enrolment token: %s\n", d.msg);
		goto out;
	}
	if (strlen(url.base) >= sizeof(net->conf.server)) {
		fprintf(stderr,
			"rampart-agent: enrolment token: the server URL is over %zu bytes\n",
			sizeof(net->conf.server) - 1);
		r = RP_E_TOOBIG;
		goto out;
	}
	memcpy(net->conf.server, url.base, strlen(url.base) + 1);
	if ((r = agent_net_start(net, &spawn, &d)) < 0) {
		fprintf(stderr, "rampart-agent: %s\n", d.msg);
		goto out;
	}

	/* The root policy: from the server, trusted only by the token's hash. */
	snprintf(path, sizeof(path), "/v1/orgs/%s/policy", tok.org);
	bool answered;
	if ((r = fetch_policy(net, path, 0, &pol, &answered, &d)) < 0 && !answered) {
		/* d carries the server's own error message: escaped (agent_errf). */
		agent_errf("fetching the root policy from %s: %s", tok.server, d.msg);
		goto out;
	}
	if (r < 0 || (strcmp(pol->hash, tok.policy) == 0
			      ? (r = rp_policy_verify_initial(pol, tok.policy, rp_now(), &d))
			      : (r = verify_from_token(net, &tok, pol, &d))) < 0) {
		fprintf(stderr, "rampart-agent: SECURITY: refusing the server's root policy: %s\n",
			d.msg);
		goto out;
	}
	if (strcmp(pol->org, tok.org) != 0) {
		fprintf(stderr,
			"rampart-agent: SECURITY: root policy is for org %s, token for %s\n",
			pol->org, tok.org);
		r = RP_E_ORG;
		goto out;
	}

	/* The device key: its name is the device id, derived from the key. */
	char devid[RP_ID_HEX + 1];
	if ((r = rp_skey_generate("device", &key)) < 0)
		goto out;
	rp_device_id(key.pub, devid);
	memset(key.name, 0, sizeof(key.name));
	memcpy(key.name, devid, RP_ID_HEX);
	key.id = rp_key_id(key.name, RP_ID_HEX, RP_KEY_ED25519, key.pub);

	struct rp_sb sb;
	rp_sb_init(&sb, 1024);
	rp_sb_printf(&sb, "rampart-enroll/v1\n%s\n%s\n", tok.org, tok.secret);
	size_t mlen;
	msg = rp_sb_take(&sb, &mlen);
	if (!msg) {
		r = RP_E_NOMEM;
		goto out;
	}
	crypto_sign_detached(proof, NULL, (const uint8_t *)msg, mlen, key.sk);
	proof_b64 = rp_b64_encode(proof, sizeof(proof));
	pub_b64 = rp_b64_encode(key.pub, 32);
	gethostname(hostname, sizeof(hostname) - 1);
	agent_os_name(os, (int)sizeof(os));
	if (!os[0])
		snprintf(os, sizeof(os), "unknown");
	facts = facts_note(&key, tok.org, devid, hostname, os);
	if (reusable) {
		if ((r = enrolment_body(&rtok, &key, devid, hostname, os, &body)) < 0)
			goto out;
	} else {
		body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "org", tok.org, "secret",
				 tok.secret, "pubkey", pub_b64, "hostname", hostname, "os", os,
				 "agent_version", RP_VERSION, "proof", proof_b64);
	}
	if (body && facts && json_object_set_new(body, "facts", json_string(facts)) < 0) {
		json_decref(body);
		body = NULL; /* out of memory, below */
	}
	agent_answer_release(&ans);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!text || !proof_b64 || !pub_b64) {
		r = RP_E_NOMEM;
		goto out;
	}
	struct agent_call post = {.method = "POST",
				  .path = "/v1/enroll",
				  .body = text,
				  .body_len = strlen(text),
				  .timeout_ms = RP_AGENT_REQUEST_S * 1000L,
				  .max_body = RP_AGENT_ANSWER_MAX,
				  .values_max = RP_AGENT_ANSWER_VALUES_MAX,
				  .kind = AGENT_ANS_FIELDS,
				  .fields = {"device_id", "entry", NULL}};
	if ((r = agent_net_call(net, &post, &ans, &d)) < 0) {
		agent_errf("enrolling with %s: %s", tok.server, d.msg);
		goto out;
	}
	const char *sid = ans.kind == AGENT_ANS_FIELDS ? ans.field[0] : NULL;
	if (!sid || strcmp(sid, devid) != 0) {
		agent_errf("server answered device id %s, expected %s", sid ? sid : "(none)",
			   devid);
		r = RP_E_HTTP;
		goto out;
	}

	/* State: the key and policy first, the config last, since its
	 * presence is what marks the directory as enrolled. */
	if ((r = mkdirs(dir)) < 0) {
		fprintf(stderr, "rampart-agent: cannot create %s: %s\n", dir, strerror(errno));
		goto out;
	}
	keytext = rp_skey_format(&key);
	snprintf(path, sizeof(path), "%s/device.key", dir);
	if (!keytext || (r = rp_write_file_atomic(path, keytext, strlen(keytext), 0600)) < 0)
		goto io;
	snprintf(path, sizeof(path), "%s/policy.note", dir);
	if ((r = rp_write_file_atomic(path, pol->note->msg, pol->note->msg_len, 0600)) < 0)
		goto io;
	memcpy(conf.server, url.base, strlen(url.base) + 1);
	memcpy(conf.pin, tok.pin, sizeof(conf.pin));
	memcpy(conf.org, tok.org, sizeof(conf.org));
	memcpy(conf.device, devid, sizeof(conf.device));
	/* enrolled by a reusable token: where its enrolment note is (agent_enrol_pending) */
	uint64_t entry;
	if (reusable && ans.field[1] &&
	    rp_parse_u64(ans.field[1], ans.field_len[1], INT64_MAX, &entry) == 0) {
		char ix[24];
		snprintf(path, sizeof(path), "%s/enrolment.index", dir);
		snprintf(ix, sizeof(ix), "%llu\n", (unsigned long long)entry);
		if ((r = rp_write_file_atomic(path, ix, strlen(ix), 0600)) < 0)
			goto io;
	}
	if ((r = agent_conf_write(dir, &conf)) < 0)
		goto io;
	printf("enrolled device %s in org %s (root policy version %llu, %s)\n", devid, tok.org,
	       (unsigned long long)pol->version, pol->hash);
	r = 0;
	goto out;
io:
	fprintf(stderr, "rampart-agent: writing %s: %s\n", path, rp_strerror(r ? r : RP_E_NOMEM));
	r = r ? r : RP_E_NOMEM;
out:
	if (keytext) {
		sodium_memzero(keytext, strlen(keytext));
		free(keytext);
	}
	sodium_memzero(&tok, sizeof(tok));
	sodium_memzero(&rtok, sizeof(rtok));
	rp_skey_wipe(&key);
	free(msg);
	free(facts);
	free(proof_b64);
	free(pub_b64);
	free(text);
	json_decref(body);
	agent_answer_release(&ans);
	agent_net_stop(net);
	free(net);
	rp_policy_free(pol);
	return r < 0 ? 1 : 0;
}
