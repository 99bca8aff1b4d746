/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection guard's request framing (lib/httpd/frame.c) on what a
 * client sends. The first byte chooses how the rest is cut into reads;
 * besides crashes, a broken invariant aborts:
 *   - the verdict (refused or not, the status, requests complete, phase)
 *     is the same whether the bytes come at once, one at a time, or in
 *     the chosen reads;
 *   - no request's body passes its cap (decoded chunked bytes included),
 *     and a refusal has a reason and a status the guard can send;
 *   - a header block never grows past RP_HTTP_HEADERS_MAX unrefused;
 *   - a refused frame stays refused.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"
#include "httpd/frame.h"
#include "rp_err.h"

/* A cap that depends on the request: its target's length, and 0 for some methods. */
static size_t cap(void *arg, const char *method, const char *target)
{
	(void)arg;
	FUZZ_CHECK(strlen(target) <= RP_HTTP_TARGET_MAX);
	if (!strcmp(method, "GET") || !strcmp(method, "DELETE"))
		return 0;
	return strlen(target) * 16;
}

struct run {
	int r, status;
	uint64_t messages;
	enum rp_frame_phase phase;
};

static struct run feed(const uint8_t *p, size_t n, unsigned step)
{
	struct rp_frame f;
	struct run out = {0};
	size_t off = 0;

	rp_frame_init(&f, cap, NULL);
	while (off < n && out.r == 0) {
		size_t k = step == 0 ? n - off : step;
		if (k > n - off)
			k = n - off;
		out.r = rp_frame_feed(&f, p + off, k);
		off += k;
		FUZZ_CHECK(f.body <= f.cap_now || out.r != 0);
		FUZZ_CHECK(f.head <= RP_HTTP_HEADERS_MAX || out.r != 0);
	}
	out.status = f.status;
	out.messages = f.messages;
	out.phase = f.phase;
	if (out.r != 0) {
		FUZZ_CHECK(out.r == RP_E_MALFORMED || out.r == RP_E_TOOBIG);
		FUZZ_CHECK((out.r == RP_E_MALFORMED) == (f.status == 400));
		FUZZ_CHECK(f.status == 400 || f.status == 413 || f.status == 414 ||
			   f.status == 431);
		FUZZ_CHECK(f.why[0] != '\0');
		FUZZ_CHECK(rp_frame_feed(&f, "GET / HTTP/1.1\r\n\r\n", 18) == out.r);
	} else {
		FUZZ_CHECK(f.status == 0);
	}
	return out;
}

static void same(struct run a, struct run b)
{
	FUZZ_CHECK(a.r == b.r && a.status == b.status);
	/* once refused, how far it got before depends only on the bytes, not the reads */
	FUZZ_CHECK(a.messages == b.messages);
	FUZZ_CHECK(a.r != 0 || a.phase == b.phase);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, bytes, cut;

	if (size == 0)
		return 0;
	whole = feed(data + 1, size - 1, 0);
	bytes = feed(data + 1, size - 1, 1);
	cut = feed(data + 1, size - 1, (unsigned)data[0] % 61 + 1);
	same(whole, bytes);
	same(whole, cut);
	return 0;
}
