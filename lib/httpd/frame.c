/* SPDX-License-Identifier: Apache-2.0 */
#include "httpd/frame.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rp_err.h"

/* f->hdr: what the header being read is; HDR_NAME while its name arrives. */
enum { HDR_NAME = -1, HDR_OTHER, HDR_TE };

static struct rp_frame *frame_of(http_parser *p)
{
	return p->data;
}

static void refuse(struct rp_frame *f, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse(struct rp_frame *f, int status, const char *fmt, ...)
{
	va_list ap;

	if (f->status)
		return; /* the first reason stands */
	f->status = status;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static int on_message_begin(http_parser *p)
{
	struct rp_frame *f = frame_of(p);

	f->phase = RP_FRAME_HEADERS;
	f->target_len = 0;
	f->target[0] = '\0';
	f->name_len = 0;
	f->hdr = HDR_OTHER;
	f->te_len = 0;
	f->n_te = 0;
	f->body = 0;
	f->cap_now = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct rp_frame *f = frame_of(p);

	if (n > RP_HTTP_TARGET_MAX - f->target_len) {
		refuse(f, 414, "request target longer than %d bytes", RP_HTTP_TARGET_MAX);
		return -1;
	}
	memcpy(f->target + f->target_len, at, n);
	f->target_len += n;
	f->target[f->target_len] = '\0';
	return 0;
}

/* A header name is complete: note whether it is one that frames the body. */
static void end_name(struct rp_frame *f)
{
	static const char te[] = "transfer-encoding";

	f->hdr = f->name_len == sizeof(te) - 1 && !memcmp(f->name, te, sizeof(te) - 1) ? HDR_TE
										       : HDR_OTHER;
	if (f->hdr == HDR_TE) {
		f->n_te++;
		f->te_len = 0;
	}
	f->name_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct rp_frame *f = frame_of(p);

	if (f->phase != RP_FRAME_HEADERS)
		return 0;         /* trailers frame nothing */
	if (f->hdr != HDR_NAME) { /* a value came in between: a new name starts */
		f->hdr = HDR_NAME;
		f->name_len = 0;
	}
	for (size_t i = 0; i < n; i++) {
		char c = at[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (f->name_len < sizeof(f->name))
			f->name[f->name_len] = c;
		f->name_len++;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct rp_frame *f = frame_of(p);

	if (f->phase != RP_FRAME_HEADERS)
		return 0;
	if (f->hdr == HDR_NAME)
		end_name(f);
	if (f->hdr == HDR_TE) {
		size_t k = n < sizeof(f->te) - f->te_len ? n : sizeof(f->te) - f->te_len;
		memcpy(f->te + f->te_len, at, k);
		f->te_len += k;
		if (k < n)
			f->te_len = sizeof(f->te); /* too long to be `chunked' */
	}
	return 0;
}

/* Transfer-Encoding's value is exactly `chunked', as evhttp compares it (after trimming). */
static bool te_is_chunked(const struct rp_frame *f)
{
	static const char want[] = "chunked";
	size_t n = f->te_len;

	if (n >= sizeof(f->te))
		return false;
	while (n > 0 && (f->te[n - 1] == ' ' || f->te[n - 1] == '\t'))
		n--;
	if (n != sizeof(want) - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = f->te[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

/* The methods evhttp reads a body for (evhttp_method_may_have_body). */
static bool may_have_body(unsigned method)
{
	return method == HTTP_POST || method == HTTP_PUT || method == HTTP_PATCH;
}

static int on_headers_complete(http_parser *p)
{
	struct rp_frame *f = frame_of(p);
	const char *method = http_method_str((enum http_method)p->method);
	bool chunked = (p->flags & F_CHUNKED) != 0;
	bool has_length = p->content_length != ULLONG_MAX && p->content_length > 0;
	size_t cap;

	if (f->hdr == HDR_NAME)
		end_name(f);
	if (f->n_te > 1) {
		refuse(f, 400, "more than one Transfer-Encoding header");
		return -1;
	}
	if (f->n_te == 1 && !te_is_chunked(f)) {
		refuse(f, 400, "Transfer-Encoding is not exactly `chunked'");
		return -1;
	}
	if (!may_have_body(p->method) && (chunked || has_length)) {
		refuse(f, 400, "a %s request carries no body", method);
		return -1;
	}
	cap = f->cap ? f->cap(f->arg, method, f->target) : 0;
	if (has_length && p->content_length > cap) {
		refuse(f, 413, "body of %llu bytes exceeds the %zu bytes %s %.64s takes",
		       (unsigned long long)p->content_length, cap, method, f->target);
		return -1;
	}
	if (chunked && cap == 0) {
		refuse(f, 413, "%s %.64s takes no body", method, f->target);
		return -1;
	}
	f->cap_now = cap;
	f->paused_headers = true;
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct rp_frame *f = frame_of(p);

	(void)at;
	f->body += n;
	if (f->body > f->cap_now) {
		refuse(f, 413, "chunked body exceeds the %llu bytes %s %.64s takes",
		       (unsigned long long)f->cap_now, http_method_str((enum http_method)p->method),
		       f->target);
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct rp_frame *f = frame_of(p);

	f->paused_message = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void rp_frame_init(struct rp_frame *f, rp_frame_cap_fn cap, void *arg)
{
	memset(f, 0, sizeof(*f));
	http_parser_init(&f->p, HTTP_REQUEST);
	f->p.data = f;
	f->cap = cap;
	f->arg = arg;
	f->phase = RP_FRAME_IDLE;
	f->hdr = HDR_OTHER;
}

static int refused(const struct rp_frame *f)
{
	return f->status == 400 ? RP_E_MALFORMED : RP_E_TOOBIG;
}

/*
 * A header block is parsed one byte at a time (it is at most
 * RP_HTTP_HEADERS_MAX bytes), so that each check below happens at the
 * byte that fails it, whatever the reads were: the verdict on a request
 * never depends on how its bytes arrived. A body goes to http-parser
 * whole.
 */
int rp_frame_feed(struct rp_frame *f, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off = 0;

	if (f->status)
		return refused(f);
	while (off < len) {
		/* Bytes before a request's headers are accepted count as its header block. */
		bool head = f->phase != RP_FRAME_BODY;
		size_t k;
		enum http_errno e;

		if (head) {
			/* a LF then a space or a tab: obsolete line folding */
			if (f->last_lf && (p[off] == ' ' || p[off] == '\t'))
				refuse(f, 400, "obsolete line folding in the request headers");
			else if (f->head >= RP_HTTP_HEADERS_MAX)
				refuse(f, 431, "request line and headers exceed %d bytes",
				       RP_HTTP_HEADERS_MAX);
			if (f->status)
				return refused(f);
		}
		k = http_parser_execute(&f->p, &settings, (const char *)p + off,
					head ? 1 : len - off);
		e = HTTP_PARSER_ERRNO(&f->p);
		if (head && k > 0) {
			f->last_lf = p[off] == '\n';
			f->head += k;
		}
		off += k;
		if (f->status)
			return refused(f);
		if (e == HPE_PAUSED) {
			/*
			 * At the end of the headers the pause comes before
			 * their last LF, which the next call parses as the
			 * body's first byte (it starts none).
			 */
			http_parser_pause(&f->p, 0);
			if (f->paused_headers) { /* accepted */
				f->paused_headers = false;
				f->phase = RP_FRAME_BODY;
			}
			if (f->paused_message) {
				f->paused_message = false;
				f->phase = RP_FRAME_IDLE;
				f->messages++;
				f->head = 0;
				f->last_lf = false;
			}
			continue;
		}
		if (e != HPE_OK) {
			refuse(f, 400, "malformed HTTP request: %s", http_errno_description(e));
			return refused(f);
		}
		if (k == 0) { /* cannot happen without an error or a pause; never loop */
			refuse(f, 400, "malformed HTTP request");
			return refused(f);
		}
	}
	return 0;
}
