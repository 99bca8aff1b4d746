/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's socketpair messages (agent/ipc.h): writer, reader, framing. */
#include "ipc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rp_err.h"

/* ---- writing ---- */

static void w_u8(struct rp_sb *sb, uint8_t v)
{
	rp_sb_put(sb, &v, 1);
}

static void w_u32(struct rp_sb *sb, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	rp_sb_put(sb, b, 4);
}

static void w_u64(struct rp_sb *sb, uint64_t v)
{
	w_u32(sb, (uint32_t)(v >> 32));
	w_u32(sb, (uint32_t)v);
}

static void w_bytes(struct rp_sb *sb, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		sb->err = RP_E_TOOBIG;
		return;
	}
	w_u32(sb, (uint32_t)n);
	rp_sb_put(sb, p, n);
}

static void w_str(struct rp_sb *sb, const char *s)
{
	w_bytes(sb, s, strlen(s));
}

static void w_hashes(struct rp_sb *sb, const uint8_t (*h)[RP_HASH_LEN], size_t n)
{
	w_u32(sb, (uint32_t)n);
	rp_sb_put(sb, h, n * RP_HASH_LEN);
}

/* A message begins with room for its length, filled in by w_finish. */
static void w_start(struct rp_sb *sb, uint8_t type)
{
	rp_sb_init(sb, AGENT_IPC_MSG_MAX + 4);
	w_u32(sb, 0);
	w_u8(sb, type);
}

static int w_finish(struct rp_sb *sb, uint8_t **ret, size_t *ret_len)
{
	size_t len;
	char *s;

	if (!sb->err && sb->len - 4 > AGENT_IPC_MSG_MAX)
		sb->err = RP_E_TOOBIG;
	int err = sb->err;
	if (!(s = rp_sb_take(sb, &len)))
		return err ? err : RP_E_NOMEM;
	uint32_t n = (uint32_t)(len - 4);
	s[0] = (char)(n >> 24);
	s[1] = (char)(n >> 16);
	s[2] = (char)(n >> 8);
	s[3] = (char)n;
	*ret = (uint8_t *)s;
	*ret_len = len;
	return 0;
}

int agent_ipc_hello_encode(const struct agent_hello *h, uint8_t **ret, size_t *ret_len)
{
	struct rp_sb sb;

	w_start(&sb, AGENT_IPC_HELLO);
	w_str(&sb, h->url);
	rp_sb_put(&sb, h->pin, sizeof(h->pin));
	w_u8(&sb, h->npins);
	for (size_t i = 0; i < h->npins && i < RP_POLICY_PINS_MAX; i++)
		rp_sb_put(&sb, h->pins[i], 32);
	w_u8(&sb, h->unpinned);
	return w_finish(&sb, ret, ret_len);
}

int agent_ipc_request_encode(const struct agent_request *q, uint8_t **ret, size_t *ret_len)
{
	struct rp_sb sb;

	w_start(&sb, AGENT_IPC_REQUEST);
	w_u32(&sb, q->seq);
	w_u8(&sb, q->kind);
	w_str(&sb, q->method);
	w_str(&sb, q->path);
	w_u8(&sb, (uint8_t)q->nheaders);
	for (size_t i = 0; i < q->nheaders && i < AGENT_IPC_HEADERS_MAX; i++) {
		w_str(&sb, q->headers[i].name);
		w_str(&sb, q->headers[i].value);
	}
	w_u32(&sb, q->timeout_ms);
	w_u32(&sb, q->max_body);
	w_u32(&sb, q->values_max);
	w_u8(&sb, (uint8_t)q->nfields);
	for (size_t i = 0; i < q->nfields && i < AGENT_IPC_FIELDS_MAX; i++)
		w_str(&sb, q->fields[i]);
	w_bytes(&sb, q->body, q->body_len);
	return w_finish(&sb, ret, ret_len);
}

int agent_ipc_answer_encode(const struct agent_answer *a, uint8_t **ret, size_t *ret_len)
{
	const struct rp_delivery *dl = &a->dl;
	struct rp_sb sb;

	w_start(&sb, AGENT_IPC_ANSWER);
	w_u32(&sb, a->seq);
	w_u8(&sb, a->kind);
	w_u32(&sb, (uint32_t)a->r);
	w_u32(&sb, (uint32_t)a->status);
	w_str(&sb, a->msg);
	switch (a->kind) {
	case AGENT_ANS_FIELDS:
		w_u8(&sb, AGENT_IPC_FIELDS_MAX);
		for (size_t i = 0; i < AGENT_IPC_FIELDS_MAX; i++) {
			w_u8(&sb, a->field[i] != NULL);
			if (a->field[i])
				w_bytes(&sb, a->field[i], a->field_len[i]);
		}
		break;
	case AGENT_ANS_DELIVERY:
		w_bytes(&sb, dl->statement, dl->statement_len);
		w_bytes(&sb, dl->payload, dl->payload_len);
		w_u64(&sb, (uint64_t)dl->index);
		w_hashes(&sb, (const uint8_t(*)[RP_HASH_LEN])dl->proof, dl->nproof);
		/* both carry a checkpoint and its consistency proof */
		__attribute__((fallthrough));
	case AGENT_ANS_CHECKPOINT:
		w_bytes(&sb, dl->checkpoint, dl->checkpoint ? dl->checkpoint_len : 0);
		w_hashes(&sb, (const uint8_t(*)[RP_HASH_LEN])dl->consistency, dl->ncons);
		break;
	case AGENT_ANS_BYTES: w_bytes(&sb, dl->payload, dl->payload_len); break;
	case AGENT_ANS_ENTRIES:
		w_u64(&sb, a->ents.from);
		w_u32(&sb, (uint32_t)a->ents.n);
		for (size_t i = 0; i < a->ents.n; i++)
			w_bytes(&sb, a->ents.buf + a->ents.off[i], a->ents.len[i]);
		w_hashes(&sb, (const uint8_t(*)[RP_HASH_LEN])a->ents.consistency, a->ents.ncons);
		break;
	default: break;
	}
	return w_finish(&sb, ret, ret_len);
}

/* ---- reading ---- */

/* A cursor over one message; the first error sticks, and says which field. */
struct rd {
	const uint8_t *p;
	size_t n;
	int err;
	struct rp_diag *d;
};

static void rd_fail(struct rd *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rd_fail(struct rd *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;
	r->err = err;
	if (r->d) {
		va_start(ap, fmt);
		vsnprintf(r->d->msg, sizeof(r->d->msg), fmt, ap);
		va_end(ap);
	}
}

static const uint8_t *rd_take(struct rd *r, size_t n, const char *field)
{
	const uint8_t *p = r->p;

	if (r->err)
		return NULL;
	if (n > r->n) {
		rd_fail(r, RP_E_MALFORMED, "message ends inside field `%s' (%zu bytes of %zu)",
			field, r->n, n);
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

static uint8_t rd_u8(struct rd *r, const char *field)
{
	const uint8_t *p = rd_take(r, 1, field);
	return p ? p[0] : 0;
}

static uint32_t rd_u32(struct rd *r, const char *field)
{
	const uint8_t *p = rd_take(r, 4, field);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static uint64_t rd_u64(struct rd *r, const char *field)
{
	uint64_t hi = rd_u32(r, field);
	return hi << 32 | rd_u32(r, field);
}

/* A length-prefixed field of at most max bytes. */
static const uint8_t *rd_bytes(struct rd *r, size_t max, size_t *ret_len, const char *field)
{
	uint32_t n = rd_u32(r, field);

	*ret_len = 0;
	if (r->err)
		return NULL;
	if (n > max) {
		rd_fail(r, RP_E_TOOBIG, "field `%s' is %u bytes, more than %zu", field, n, max);
		return NULL;
	}
	*ret_len = n;
	return rd_take(r, n, field);
}

/* Text: at most max bytes, no NUL (every reader of it stops at one). */
static bool rd_text_ok(struct rd *r, const uint8_t *p, size_t n, const char *field)
{
	if (p && memchr(p, '\0', n)) {
		rd_fail(r, RP_E_MALFORMED, "field `%s' holds a NUL byte", field);
		return false;
	}
	return !r->err;
}

static void rd_str(struct rd *r, char *out, size_t outsz, const char *field)
{
	size_t n;
	const uint8_t *p = rd_bytes(r, outsz - 1, &n, field);

	out[0] = '\0';
	if (p && rd_text_ok(r, p, n, field)) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

/* A malloc'd NUL-terminated copy of a text field; *ret NULL when empty and !keep_empty. */
static void rd_dup(struct rd *r, size_t max, char **ret, size_t *ret_len, bool keep_empty,
		   const char *field)
{
	size_t n;
	const uint8_t *p = rd_bytes(r, max, &n, field);

	*ret = NULL;
	*ret_len = 0;
	if (!p || !rd_text_ok(r, p, n, field) || (n == 0 && !keep_empty))
		return;
	if (!(*ret = malloc(n + 1))) {
		r->err = RP_E_NOMEM;
		return;
	}
	memcpy(*ret, p, n);
	(*ret)[n] = '\0';
	*ret_len = n;
}

static size_t rd_hashes(struct rd *r, uint8_t (*out)[RP_HASH_LEN], const char *field)
{
	uint32_t n = rd_u32(r, field);
	const uint8_t *p;

	if (r->err)
		return 0;
	if (n > RP_PROOF_HASHES_MAX) {
		rd_fail(r, RP_E_TOOBIG, "field `%s' holds %u hashes, more than %d", field, n,
			RP_PROOF_HASHES_MAX);
		return 0;
	}
	if (!(p = rd_take(r, (size_t)n * RP_HASH_LEN, field)))
		return 0;
	memcpy(out, p, (size_t)n * RP_HASH_LEN);
	return n;
}

static int rd_start(struct rd *r, const uint8_t *m, size_t n, uint8_t type, struct rp_diag *d)
{
	static const char *const names[] = {"?", "hello", "request", "answer"};

	*r = (struct rd){m, n, 0, d};
	if (n > AGENT_IPC_MSG_MAX) {
		rd_fail(r, RP_E_TOOBIG, "a message of %zu bytes, more than %d", n,
			AGENT_IPC_MSG_MAX);
		return r->err;
	}
	uint8_t t = rd_u8(r, "type");
	if (!r->err && t != type)
		rd_fail(r, RP_E_MALFORMED, "a message of type %u where %s was due", t, names[type]);
	return r->err;
}

static int rd_end(struct rd *r)
{
	if (!r->err && r->n > 0)
		rd_fail(r, RP_E_MALFORMED, "%zu bytes after the last field", r->n);
	return r->err;
}

int agent_ipc_hello_decode(const uint8_t *m, size_t n, struct agent_hello *ret, struct rp_diag *d)
{
	struct agent_hello h = {""};
	struct rd r;
	const uint8_t *pin;

	if (rd_start(&r, m, n, AGENT_IPC_HELLO, d) < 0)
		return r.err;
	rd_str(&r, h.url, sizeof(h.url), "url");
	if ((pin = rd_take(&r, sizeof(h.pin), "pin")))
		memcpy(h.pin, pin, sizeof(h.pin));
	h.npins = rd_u8(&r, "pins");
	if (!r.err && h.npins > RP_POLICY_PINS_MAX)
		rd_fail(&r, RP_E_TOOBIG, "field `pins' counts %u, more than %d", h.npins,
			RP_POLICY_PINS_MAX);
	for (size_t i = 0; i < h.npins && !r.err; i++)
		if ((pin = rd_take(&r, 32, "pins")))
			memcpy(h.pins[i], pin, 32);
	h.unpinned = rd_u8(&r, "unpinned");
	if (!r.err && h.unpinned > 1)
		rd_fail(&r, RP_E_MALFORMED, "field `unpinned' is %u, not 0 or 1", h.unpinned);
	if (rd_end(&r) < 0)
		return r.err;
	*ret = h;
	return 0;
}

int agent_ipc_request_decode(const uint8_t *m, size_t n, struct agent_request *ret,
			     struct rp_diag *d)
{
	struct agent_request q;
	struct rd r;

	memset(&q, 0, sizeof(q));
	if (rd_start(&r, m, n, AGENT_IPC_REQUEST, d) < 0)
		return r.err;
	q.seq = rd_u32(&r, "seq");
	q.kind = rd_u8(&r, "kind");
	if (!r.err && q.kind > AGENT_ANS_BYTES)
		rd_fail(&r, RP_E_MALFORMED, "field `kind' is %u, not a kind of answer", q.kind);
	rd_str(&r, q.method, sizeof(q.method), "method");
	rd_str(&r, q.path, sizeof(q.path), "path");
	q.nheaders = rd_u8(&r, "headers");
	if (!r.err && q.nheaders > AGENT_IPC_HEADERS_MAX)
		rd_fail(&r, RP_E_TOOBIG, "field `headers' counts %zu, more than %d", q.nheaders,
			AGENT_IPC_HEADERS_MAX);
	for (size_t i = 0; i < q.nheaders && !r.err; i++) {
		rd_str(&r, q.headers[i].name, sizeof(q.headers[i].name), "header name");
		rd_str(&r, q.headers[i].value, sizeof(q.headers[i].value), "header value");
	}
	q.timeout_ms = rd_u32(&r, "timeout");
	q.max_body = rd_u32(&r, "max_body");
	q.values_max = rd_u32(&r, "values_max");
	q.nfields = rd_u8(&r, "fields");
	if (!r.err && q.nfields > AGENT_IPC_FIELDS_MAX)
		rd_fail(&r, RP_E_TOOBIG, "field `fields' counts %zu, more than %d", q.nfields,
			AGENT_IPC_FIELDS_MAX);
	for (size_t i = 0; i < q.nfields && !r.err; i++)
		rd_str(&r, q.fields[i], sizeof(q.fields[i]), "field name");
	q.body = rd_bytes(&r, AGENT_IPC_BODY_MAX, &q.body_len, "body");
	if (rd_end(&r) < 0)
		return r.err;
	*ret = q;
	return 0;
}

void agent_answer_init(struct agent_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->dl.index = -1;
}

void agent_answer_release(struct agent_answer *a)
{
	for (size_t i = 0; i < AGENT_IPC_FIELDS_MAX; i++)
		free(a->field[i]);
	rp_delivery_release(&a->dl);
	rp_entries_release(&a->ents);
	agent_answer_init(a);
}

/* The walk's entries: 1 to RP_SCAN_ENTRIES_MAX, each 1 to RP_LOG_ENTRY_MAX, RP_SCAN_BYTES_MAX in
 * all. */
static void rd_entries(struct rd *r, struct rp_entries *e)
{
	size_t used = 0;

	e->from = rd_u64(r, "from");
	e->n = rd_u32(r, "entries");
	if (!r->err && (e->n == 0 || e->n > RP_SCAN_ENTRIES_MAX))
		rd_fail(r, e->n ? RP_E_TOOBIG : RP_E_MALFORMED,
			"field `entries' counts %zu, not 1 to %d", e->n, RP_SCAN_ENTRIES_MAX);
	if (!r->err && !(e->buf = malloc(RP_SCAN_BYTES_MAX)))
		r->err = RP_E_NOMEM;
	for (size_t i = 0; i < e->n && !r->err; i++) {
		size_t k;
		const uint8_t *p = rd_bytes(r, RP_LOG_ENTRY_MAX, &k, "entry");
		if (!p)
			break;
		if (k == 0 || k > RP_SCAN_BYTES_MAX - used) {
			rd_fail(r, k ? RP_E_TOOBIG : RP_E_MALFORMED,
				"entry %zu is %zu bytes: empty, or past %d bytes in all", i, k,
				RP_SCAN_BYTES_MAX);
			break;
		}
		memcpy(e->buf + used, p, k);
		e->off[i] = used;
		e->len[i] = k;
		used += k;
	}
	e->ncons = rd_hashes(r, e->consistency, "consistency");
}

int agent_ipc_answer_decode(const uint8_t *m, size_t n, const struct agent_request *asked,
			    struct agent_answer *ret, struct rp_diag *d)
{
	struct agent_answer a;
	struct rp_delivery *dl = &a.dl;
	struct rd r;

	agent_answer_init(&a);
	if (rd_start(&r, m, n, AGENT_IPC_ANSWER, d) < 0)
		return r.err;
	a.seq = rd_u32(&r, "seq");
	if (!r.err && a.seq != asked->seq)
		rd_fail(&r, RP_E_MALFORMED, "the answer to request %u, where %u is due", a.seq,
			asked->seq);
	a.kind = rd_u8(&r, "kind");
	if (!r.err && a.kind != AGENT_ANS_STATUS && a.kind != asked->kind)
		rd_fail(&r, RP_E_MALFORMED, "an answer of kind %u to a request of kind %u", a.kind,
			asked->kind);
	a.r = (int32_t)rd_u32(&r, "r");
	a.status = (int32_t)rd_u32(&r, "status");
	if (!r.err && (a.r > 0 || a.r < -1000))
		rd_fail(&r, RP_E_MALFORMED, "field `r' is %d, not an error code", a.r);
	if (!r.err && a.status != 0 && (a.status < 100 || a.status > 599))
		rd_fail(&r, RP_E_MALFORMED, "field `status' is %d, not an HTTP status", a.status);
	rd_str(&r, a.msg, sizeof(a.msg), "msg");
	switch (a.kind) {
	case AGENT_ANS_FIELDS: {
		uint8_t nf = rd_u8(&r, "fields");
		if (!r.err && nf != AGENT_IPC_FIELDS_MAX)
			rd_fail(&r, RP_E_MALFORMED, "field `fields' counts %u, not %d", nf,
				AGENT_IPC_FIELDS_MAX);
		for (size_t i = 0; i < AGENT_IPC_FIELDS_MAX && !r.err; i++) {
			uint8_t present = rd_u8(&r, "present");
			if (!r.err && (present > 1 || (present && i >= asked->nfields)))
				rd_fail(&r, RP_E_MALFORMED, "field %zu was not asked for", i);
			if (present)
				rd_dup(&r, AGENT_IPC_FIELD_VALUE_MAX, &a.field[i], &a.field_len[i],
				       true, "field value");
		}
		break;
	}
	case AGENT_ANS_DELIVERY:
		rd_dup(&r, RP_LOG_ENTRY_MAX, &dl->statement, &dl->statement_len, true, "statement");
		{
			size_t pn;
			const uint8_t *p = rd_bytes(&r, RP_PAYLOAD_MAX, &pn, "payload");
			if (p && (dl->payload = malloc(pn + 1))) {
				memcpy(dl->payload, p, pn);
				dl->payload_len = pn;
			} else if (p) {
				r.err = RP_E_NOMEM;
			}
		}
		dl->index = (int64_t)rd_u64(&r, "index");
		if (!r.err && dl->index < -1)
			rd_fail(&r, RP_E_MALFORMED, "field `index' is %lld", (long long)dl->index);
		dl->nproof = rd_hashes(&r, dl->proof, "proof");
		__attribute__((fallthrough));
	case AGENT_ANS_CHECKPOINT:
		rd_dup(&r, RP_CHECKPOINT_MAX, &dl->checkpoint, &dl->checkpoint_len, false,
		       "checkpoint");
		dl->ncons = rd_hashes(&r, dl->consistency, "consistency");
		break;
	case AGENT_ANS_ENTRIES: rd_entries(&r, &a.ents); break;
	case AGENT_ANS_BYTES: {
		size_t pn;
		const uint8_t *p = rd_bytes(&r, asked->max_body, &pn, "bytes");
		if (p && (dl->payload = malloc(pn + 1))) {
			memcpy(dl->payload, p, pn);
			dl->payload_len = pn;
		} else if (p) {
			r.err = RP_E_NOMEM;
		}
		break;
	}
	default: break;
	}
	if (rd_end(&r) < 0) {
		agent_answer_release(&a);
		return r.err;
	}
	*ret = a;
	return 0;
}

/* ---- framing ---- */

int64_t agent_ipc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int agent_ipc_send(int fd, const uint8_t *m, size_t n, int64_t deadline_ms,
		   const volatile sig_atomic_t *cancel, struct rp_diag *d)
{
	while (n > 0) {
		ssize_t k = send(fd, m, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
			/* a peer that does not read: bounded by the deadline, and a stop */
			struct pollfd pfd = {fd, POLLOUT, 0};
			int64_t left = deadline_ms > 0 ? deadline_ms - agent_ipc_now_ms() : 60000;
			if (cancel && *cancel) {
				rp_diagf(d, "cancelled");
				return RP_E_NET;
			}
			if (left <= 0) {
				rp_diagf(d, "the other process does not read its channel");
				return RP_E_IO;
			}
			if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR) {
				rp_diagf(d, "waiting to write to the other process: %s",
					 strerror(errno));
				return RP_E_IO;
			}
			continue;
		}
		if (k <= 0) {
			rp_diagf(d, "writing to the other process: %s",
				 k < 0 ? strerror(errno) : "?");
			return RP_E_IO;
		}
		m += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads exactly n bytes by the deadline. */
static int recv_all(int fd, uint8_t *p, size_t n, int64_t deadline_ms,
		    const volatile sig_atomic_t *cancel, bool first, struct rp_diag *d)
{
	size_t got = 0;

	while (got < n) {
		int wait = -1;
		if (cancel && *cancel) {
			rp_diagf(d, "cancelled");
			return RP_E_NET;
		}
		if (deadline_ms > 0) {
			int64_t left = deadline_ms - agent_ipc_now_ms();
			if (left <= 0) {
				rp_diagf(d, "no answer from the other process by its deadline");
				return RP_E_NET;
			}
			wait = left > 60000 ? 60000 : (int)left;
		}
		struct pollfd pfd = {fd, POLLIN, 0};
		int k = poll(&pfd, 1, wait);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rp_diagf(d, "waiting for the other process: %s", strerror(errno));
			return RP_E_IO;
		}
		if (k == 0)
			continue;
		ssize_t m = recv(fd, p + got, n - got, 0);
		if (m < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (m < 0) {
			rp_diagf(d, "reading from the other process: %s", strerror(errno));
			return RP_E_IO;
		}
		if (m == 0) {
			if (first && got == 0)
				return RP_E_NOTFOUND;
			rp_diagf(d,
				 "the other process closed the channel inside a message "
				 "(%zu bytes of %zu)",
				 got, n);
			return RP_E_IO;
		}
		got += (size_t)m;
	}
	return 0;
}

int agent_ipc_recv(int fd, int64_t deadline_ms, const volatile sig_atomic_t *cancel, uint8_t **ret,
		   size_t *ret_len, struct rp_diag *d)
{
	uint8_t h[4], *m;
	uint32_t n;
	int r;

	if ((r = recv_all(fd, h, 4, deadline_ms, cancel, true, d)) < 0) {
		if (r == RP_E_NOTFOUND)
			rp_diagf(d, "the other process closed the channel");
		return r;
	}
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (n == 0 || n > AGENT_IPC_MSG_MAX) {
		rp_diagf(d, "a message of %u bytes announced, not 1 to %u", n,
			 (unsigned)AGENT_IPC_MSG_MAX);
		return n ? RP_E_TOOBIG : RP_E_MALFORMED;
	}
	if (!(m = malloc(n)))
		return RP_E_NOMEM;
	if ((r = recv_all(fd, m, n, deadline_ms, cancel, false, d)) < 0) {
		free(m);
		return r;
	}
	*ret = m;
	*ret_len = n;
	return 0;
}
