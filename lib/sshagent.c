/* SPDX-License-Identifier: Apache-2.0 */
#include "sshagent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rp_err.h"

/* A bounds-checked reader over an agent's bytes. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool rd_u8(struct rd *r, uint8_t *ret)
{
	if (r->n < 1)
		return false;
	*ret = r->p[0];
	r->p++;
	r->n--;
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *ret)
{
	if (r->n < 4)
		return false;
	*ret = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	       (uint32_t)r->p[3];
	r->p += 4;
	r->n -= 4;
	return true;
}

/* An RFC 4251 string: its bytes as a reader of their own. */
static bool rd_string(struct rd *r, struct rd *ret)
{
	uint32_t len;
	struct rd save = *r;

	if (!rd_u32(r, &len) || len > r->n) {
		*r = save;
		return false;
	}
	ret->p = r->p;
	ret->n = len;
	r->p += len;
	r->n -= len;
	return true;
}

static bool rd_is(const struct rd *s, const char *lit)
{
	return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t *put_string(uint8_t *p, const void *s, size_t n)
{
	put_u32(p, (uint32_t)n);
	memcpy(p + 4, s, n);
	return p + 4 + n;
}

void rp_sshagent_ids_request(uint8_t out[5])
{
	put_u32(out, 1);
	out[4] = RP_SSH_AGENTC_REQUEST_IDS;
}

/* The RFC 8709 public key blob: string "ssh-ed25519", string key[32]. */
#define ED25519_BLOB_LEN (4 + sizeof(RP_SSH_ED25519) - 1 + 4 + 32)

int rp_sshagent_sign_request(const uint8_t pub[32], const void *data, size_t len, uint8_t **ret,
			     size_t *ret_len)
{
	size_t body = 1 + 4 + ED25519_BLOB_LEN + 4 + len + 4;
	uint8_t *m, *p;

	if (len > RP_SSHAGENT_DATA_MAX)
		return RP_E_TOOBIG;
	if (!(m = malloc(4 + body)))
		return RP_E_NOMEM;
	put_u32(m, (uint32_t)body);
	m[4] = RP_SSH_AGENTC_SIGN_REQUEST;
	put_u32(m + 5, ED25519_BLOB_LEN);
	p = put_string(m + 9, RP_SSH_ED25519, sizeof(RP_SSH_ED25519) - 1);
	p = put_string(p, pub, 32);
	p = put_string(p, data, len);
	put_u32(p, 0); /* flags: none are defined for Ed25519 */
	*ret = m;
	*ret_len = 4 + body;
	return 0;
}

int rp_sshagent_answer_len(const uint8_t hdr[4], uint32_t *ret, struct rp_diag *d)
{
	struct rd r = {hdr, 4};
	uint32_t n = 0;

	(void)rd_u32(&r, &n);
	if (n == 0) {
		rp_diagf(d, "ssh-agent answered an empty message");
		return RP_E_MALFORMED;
	}
	if (n > RP_SSHAGENT_ANSWER_MAX) {
		rp_diagf(d, "ssh-agent's answer of %lu bytes is over the %d-byte cap",
			 (unsigned long)n, RP_SSHAGENT_ANSWER_MAX);
		return RP_E_TOOBIG;
	}
	*ret = n;
	return 0;
}

static void copy_text(char *out, size_t cap, const struct rd *s)
{
	size_t k = s->n < cap ? s->n : cap;
	const uint8_t *z = memchr(s->p, '\0', k);

	if (z)
		k = (size_t)(z - s->p);
	memcpy(out, s->p, k);
	out[k] = '\0';
}

/* One key blob: its type, and for the two Ed25519 kinds their public key. */
static int parse_blob(struct rd blob, struct rp_sshagent_id *id, size_t i, struct rp_diag *d)
{
	struct rd type, pub, app;
	char q[80];

	if (!rd_string(&blob, &type) || type.n == 0) {
		rp_diagf(d, "ssh-agent's key %zu: its key blob does not start with a key type",
			 i + 1);
		return RP_E_MALFORMED;
	}
	if (type.n > RP_SSHAGENT_KEYTYPE_MAX) {
		rp_quote(q, sizeof(q), (const char *)type.p, type.n);
		rp_diagf(d, "ssh-agent's key %zu: key type `%s' is longer than %d bytes", i + 1, q,
			 RP_SSHAGENT_KEYTYPE_MAX);
		return RP_E_MALFORMED;
	}
	copy_text(id->type, sizeof(id->type) - 1, &type);
	if (rd_is(&type, RP_SSH_ED25519))
		id->kind = RP_SSHKEY_ED25519;
	else if (rd_is(&type, RP_SSH_SK_ED25519))
		id->kind = RP_SSHKEY_SK_ED25519;
	else {
		id->kind = RP_SSHKEY_OTHER; /* its contents are not ours to read */
		return 0;
	}
	if (!rd_string(&blob, &pub) || pub.n != 32) {
		rp_diagf(d, "ssh-agent's key %zu (%s): the public key is not a string of 32 bytes",
			 i + 1, id->type);
		return RP_E_MALFORMED;
	}
	memcpy(id->pub, pub.p, 32);
	/* sk keys carry the FIDO application ("ssh:" usually) after the key. */
	if (id->kind == RP_SSHKEY_SK_ED25519 && !rd_string(&blob, &app)) {
		rp_diagf(d, "ssh-agent's key %zu (%s): the application string is missing", i + 1,
			 id->type);
		return RP_E_MALFORMED;
	}
	if (blob.n != 0) {
		rp_diagf(d, "ssh-agent's key %zu (%s): %zu bytes after the key", i + 1, id->type,
			 blob.n);
		return RP_E_MALFORMED;
	}
	return 0;
}

int rp_sshagent_parse_ids(const uint8_t *msg, size_t n, struct rp_sshagent_id **ret, size_t *ret_n,
			  struct rp_diag *d)
{
	struct rd r = {msg, n};
	struct rp_sshagent_id *v = NULL;
	uint32_t count;
	uint8_t type;
	int e;

	if (!rd_u8(&r, &type)) {
		rp_diagf(d, "ssh-agent answered an empty message");
		return RP_E_MALFORMED;
	}
	if (type == RP_SSH_AGENT_FAILURE) {
		rp_diagf(d, "ssh-agent refused to list its keys (SSH_AGENT_FAILURE)");
		return RP_E_NOTFOUND;
	}
	if (type != RP_SSH_AGENT_IDENTITIES_ANSWER) {
		rp_diagf(d,
			 "ssh-agent answered the key list request with message type %u, not "
			 "SSH_AGENT_IDENTITIES_ANSWER (12)",
			 type);
		return RP_E_MALFORMED;
	}
	if (!rd_u32(&r, &count)) {
		rp_diagf(d, "ssh-agent's key list has no key count");
		return RP_E_MALFORMED;
	}
	if (count > RP_SSHAGENT_IDENTITIES_MAX) {
		rp_diagf(d, "ssh-agent lists %lu keys, more than the %d this client reads",
			 (unsigned long)count, RP_SSHAGENT_IDENTITIES_MAX);
		return RP_E_TOOBIG;
	}
	/* Each key takes at least two string lengths: a count the bytes cannot hold is a lie. */
	if (count > r.n / 8) {
		rp_diagf(d, "ssh-agent's key list claims %lu keys in %zu bytes",
			 (unsigned long)count, r.n);
		return RP_E_MALFORMED;
	}
	if (count > 0 && !(v = calloc(count, sizeof(*v))))
		return RP_E_NOMEM;
	for (size_t i = 0; i < count; i++) {
		struct rd blob, comment;

		if (!rd_string(&r, &blob) || !rd_string(&r, &comment)) {
			rp_diagf(d, "ssh-agent's key %zu of %lu is cut short", i + 1,
				 (unsigned long)count);
			e = RP_E_MALFORMED;
			goto fail;
		}
		if ((e = parse_blob(blob, &v[i], i, d)) < 0)
			goto fail;
		copy_text(v[i].comment, RP_SSHAGENT_COMMENT_MAX, &comment);
	}
	if (r.n != 0) {
		rp_diagf(d, "ssh-agent's key list has %zu bytes after its %lu keys", r.n,
			 (unsigned long)count);
		e = RP_E_MALFORMED;
		goto fail;
	}
	*ret = v;
	*ret_n = count;
	return 0;
fail:
	free(v);
	return e;
}

int rp_sshagent_parse_sig(const uint8_t *msg, size_t n, uint8_t ret_sig[64], struct rp_diag *d)
{
	struct rd r = {msg, n}, blob, type, sig;
	uint8_t t;
	char q[80];

	if (!rd_u8(&r, &t)) {
		rp_diagf(d, "ssh-agent answered an empty message");
		return RP_E_MALFORMED;
	}
	if (t == RP_SSH_AGENT_FAILURE) {
		rp_diagf(d, "ssh-agent refused to sign (SSH_AGENT_FAILURE): the key may have been "
			    "removed, the agent locked, or a confirmation declined");
		return RP_E_NOSIG;
	}
	if (t != RP_SSH_AGENT_SIGN_RESPONSE) {
		rp_diagf(d,
			 "ssh-agent answered the sign request with message type %u, not "
			 "SSH_AGENT_SIGN_RESPONSE (14)",
			 t);
		return RP_E_MALFORMED;
	}
	if (!rd_string(&r, &blob) || r.n != 0) {
		rp_diagf(d, "ssh-agent's sign response is not exactly one signature string");
		return RP_E_MALFORMED;
	}
	if (!rd_string(&blob, &type)) {
		rp_diagf(d, "ssh-agent's signature has no signature type");
		return RP_E_MALFORMED;
	}
	if (!rd_is(&type, RP_SSH_ED25519)) {
		rp_quote(q, sizeof(q), (const char *)type.p, type.n);
		rp_diagf(d, "ssh-agent answered a signature of type `%s', not " RP_SSH_ED25519, q);
		return RP_E_MALFORMED;
	}
	if (!rd_string(&blob, &sig) || sig.n != 64 || blob.n != 0) {
		rp_diagf(d, "ssh-agent's " RP_SSH_ED25519 " signature is not exactly 64 bytes");
		return RP_E_MALFORMED;
	}
	memcpy(ret_sig, sig.p, 64);
	return 0;
}

int rp_sshagent_connect(const char *path, struct rp_sshagent *ret, struct rp_diag *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	int fd;

	if (n == 0 || n >= sizeof(sa.sun_path) || n >= sizeof(ret->path)) {
		rp_diagf(d, "ssh-agent socket path `%.64s%s' is empty or longer than %zu bytes",
			 path, n > 64 ? "..." : "", sizeof(sa.sun_path) - 1);
		return RP_E_INVAL;
	}
	memcpy(sa.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rp_diagf(d, "ssh-agent: socket: %s", strerror(errno));
		return RP_E_NET;
	}
	/* A Unix socket connects at once or fails (EAGAIN: its backlog is full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rp_diagf(d, "cannot reach ssh-agent at %s: %s", path, strerror(errno));
		close(fd);
		return RP_E_NET;
	}
	ret->fd = fd;
	ret->timeout_ms = RP_SSHAGENT_TIMEOUT_S * 1000;
	memcpy(ret->path, path, n + 1);
	return 0;
}

void rp_sshagent_close(struct rp_sshagent *a)
{
	if (a && a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
}

/* 1 when fd is ready before the deadline, 0 when it passed, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - rp_mono_ms();
		int k;

		if (left <= 0)
			return 0;
		k = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k > 0)
			return 1;
	}
}

/* "did not answer" for the deadline, the socket's error otherwise. */
static int io_fail(struct rp_sshagent *a, int w, const char *doing, struct rp_diag *d)
{
	if (w == 0)
		rp_diagf(d, "ssh-agent at %s did not %s within %d.%d s", a->path, doing,
			 a->timeout_ms / 1000, a->timeout_ms % 1000 / 100);
	else if (w == 1)
		rp_diagf(d, "ssh-agent at %s closed the connection before it %s", a->path,
			 strcmp(doing, "answer") == 0 ? "answered" : "took the request");
	else
		rp_diagf(d, "ssh-agent at %s: %s", a->path, strerror(errno));
	/* Half an exchange leaves the stream out of step: nothing more is read from it. */
	rp_sshagent_close(a);
	return RP_E_NET;
}

static int read_full(struct rp_sshagent *a, uint8_t *p, size_t n, int64_t deadline,
		     struct rp_diag *d)
{
	while (n > 0) {
		ssize_t k = recv(a->fd, p, n, MSG_DONTWAIT);
		int w;

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0)
			return io_fail(a, 1, "answer", d);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return io_fail(a, -1, "answer", d);
		if ((w = wait_fd(a->fd, POLLIN, deadline)) <= 0)
			return io_fail(a, w, "answer", d);
	}
	return 0;
}

/*
 * Sends one request and reads its answer (type byte onwards, malloc'd), all
 * before one deadline. MSG_DONTWAIT on every call, whatever the
 * descriptor's mode, so that only poll() waits, and never past the deadline.
 */
static int exchange(struct rp_sshagent *a, const uint8_t *req, size_t len, uint8_t **ret,
		    size_t *ret_len, struct rp_diag *d)
{
	int64_t deadline = rp_mono_ms() + a->timeout_ms;
	uint8_t hdr[4], *body;
	uint32_t n;
	int r;

	if (a->fd < 0) {
		rp_diagf(d, "the connection to ssh-agent at %s was closed after an error", a->path);
		return RP_E_NET;
	}
	while (len > 0) {
		ssize_t k = send(a->fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int w;

		if (k > 0) {
			req += k;
			len -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return io_fail(a, -1, "take the request", d);
		if ((w = wait_fd(a->fd, POLLOUT, deadline)) <= 0)
			return io_fail(a, w, "take the request", d);
	}
	if ((r = read_full(a, hdr, 4, deadline, d)) < 0)
		return r;
	if ((r = rp_sshagent_answer_len(hdr, &n, d)) < 0) {
		rp_sshagent_close(a);
		return r;
	}
	if (!(body = malloc(n)))
		return RP_E_NOMEM;
	if ((r = read_full(a, body, n, deadline, d)) < 0) {
		free(body);
		return r;
	}
	*ret = body;
	*ret_len = n;
	return 0;
}

int rp_sshagent_list(struct rp_sshagent *a, struct rp_sshagent_id **ret, size_t *ret_n,
		     struct rp_diag *d)
{
	uint8_t req[5], *ans = NULL;
	size_t n;
	int r;

	rp_sshagent_ids_request(req);
	if ((r = exchange(a, req, sizeof(req), &ans, &n, d)) < 0)
		return r;
	r = rp_sshagent_parse_ids(ans, n, ret, ret_n, d);
	free(ans);
	return r;
}

int rp_sshagent_sign(struct rp_sshagent *a, const uint8_t pub[32], const void *data, size_t len,
		     uint8_t ret_sig[64], struct rp_diag *d)
{
	uint8_t *req = NULL, *ans = NULL;
	size_t qn, n;
	int r;

	if ((r = rp_sshagent_sign_request(pub, data, len, &req, &qn)) < 0) {
		rp_diagf(d, "%zu bytes to sign are over the %d-byte cap", len,
			 RP_SSHAGENT_DATA_MAX);
		return r;
	}
	r = exchange(a, req, qn, &ans, &n, d);
	free(req);
	if (r < 0)
		return r;
	r = rp_sshagent_parse_sig(ans, n, ret_sig, d);
	free(ans);
	return r;
}

int rp_sshagent_add_request(const uint8_t sk[64], const char *comment, uint32_t lifetime_s,
			    uint8_t **ret, size_t *ret_len)
{
	size_t cn = strlen(comment);
	size_t body = 1 + 4 + sizeof(RP_SSH_ED25519) - 1 + 4 + 32 + 4 + 64 + 4 + cn + 1 + 4;
	uint8_t *m, *p;

	if (cn > RP_SSHAGENT_COMMENT_MAX)
		return RP_E_TOOBIG;
	if (!(m = malloc(4 + body)))
		return RP_E_NOMEM;
	put_u32(m, (uint32_t)body);
	m[4] = RP_SSH_AGENTC_ADD_ID_CONSTRAINED;
	p = put_string(m + 5, RP_SSH_ED25519, sizeof(RP_SSH_ED25519) - 1);
	p = put_string(p, sk + 32, 32); /* ENC(A), the public key */
	p = put_string(p, sk, 64);      /* k || ENC(A) */
	p = put_string(p, comment, cn);
	*p++ = RP_SSH_AGENT_CONSTRAIN_LIFETIME;
	put_u32(p, lifetime_s);
	*ret = m;
	*ret_len = 4 + body;
	return 0;
}

int rp_sshagent_remove_request(const uint8_t pub[32], uint8_t **ret, size_t *ret_len)
{
	size_t body = 1 + 4 + ED25519_BLOB_LEN;
	uint8_t *m, *p;

	if (!(m = malloc(4 + body)))
		return RP_E_NOMEM;
	put_u32(m, (uint32_t)body);
	m[4] = RP_SSH_AGENTC_REMOVE_IDENTITY;
	put_u32(m + 5, ED25519_BLOB_LEN);
	p = put_string(m + 9, RP_SSH_ED25519, sizeof(RP_SSH_ED25519) - 1);
	put_string(p, pub, 32);
	*ret = m;
	*ret_len = 4 + body;
	return 0;
}

int rp_sshagent_parse_status(const uint8_t *msg, size_t n, struct rp_diag *d)
{
	if (n == 1 && msg[0] == RP_SSH_AGENT_SUCCESS)
		return 0;
	if (n == 1 && msg[0] == RP_SSH_AGENT_FAILURE) {
		rp_diagf(d, "the agent refused");
		return RP_E_NOTFOUND;
	}
	rp_diagf(d, "the agent answered message type %u of %zu bytes, not success or failure",
		 n ? msg[0] : 0u, n);
	return RP_E_MALFORMED;
}

/* Sends req (wiped and freed) and judges the one-byte answer. */
static int status_exchange(struct rp_sshagent *a, uint8_t *req, size_t qn, struct rp_diag *d)
{
	uint8_t *ans = NULL;
	size_t n;
	int r = exchange(a, req, qn, &ans, &n, d);

	explicit_bzero(req, qn);
	free(req);
	if (r < 0)
		return r;
	r = rp_sshagent_parse_status(ans, n, d);
	free(ans);
	return r;
}

int rp_sshagent_add(struct rp_sshagent *a, const uint8_t sk[64], const char *comment,
		    uint32_t lifetime_s, struct rp_diag *d)
{
	uint8_t *req = NULL;
	size_t qn;
	int r = rp_sshagent_add_request(sk, comment, lifetime_s, &req, &qn);

	if (r < 0) {
		rp_diagf(d, "the key's comment is over %d bytes", RP_SSHAGENT_COMMENT_MAX);
		return r;
	}
	return status_exchange(a, req, qn, d);
}

int rp_sshagent_remove(struct rp_sshagent *a, const uint8_t pub[32], struct rp_diag *d)
{
	uint8_t *req = NULL;
	size_t qn;
	int r = rp_sshagent_remove_request(pub, &req, &qn);

	return r < 0 ? r : status_exchange(a, req, qn, d);
}
