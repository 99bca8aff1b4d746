/* SPDX-License-Identifier: Apache-2.0 */
#include "reqsig.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"
#include "signer.h"

static char *message(const char *method, const char *path, int64_t ts, const void *body,
		     size_t body_len, size_t *ret_len)
{
	uint8_t h[32];
	char hex[65];
	struct rp_sb sb;

	rp_sha256(body ? body : "", body_len, h);
	rp_hex_encode(h, 32, hex);
	rp_sb_init(&sb, RP_REQSIG_TEXT_MAX);
	rp_sb_printf(&sb, "rampart-request/v1\n%s\n%s\n%lld\n%s\n", method, path, (long long)ts,
		     hex);
	return rp_sb_take(&sb, ret_len);
}

char *rp_reqsig_sign(const struct rp_skey *k, const char *method, const char *path, int64_t ts,
		     const void *body, size_t body_len)
{
	uint8_t sig[crypto_sign_BYTES];
	size_t len;
	char *m = message(method, path, ts, body, body_len, &len);

	if (!m)
		return NULL;
	crypto_sign_detached(sig, NULL, (const uint8_t *)m, len, k->sk);
	free(m);
	return rp_b64_encode(sig, sizeof(sig));
}

int rp_reqsig_sign_by(const struct rp_signer *s, const char *method, const char *path, int64_t ts,
		      const void *body, size_t body_len, char **ret, struct rp_diag *d)
{
	uint8_t sig[crypto_sign_BYTES];
	size_t len;
	char *m = message(method, path, ts, body, body_len, &len), *b64;
	int r;

	if (!m) {
		rp_diagf(d, "request text for %s %.64s is over %d bytes", method, path,
			 RP_REQSIG_TEXT_MAX);
		return RP_E_TOOBIG;
	}
	r = rp_signer_sign(s, (const uint8_t *)m, len, sig, d);
	free(m);
	if (r < 0)
		return r;
	if (!(b64 = rp_b64_encode(sig, sizeof(sig))))
		return RP_E_NOMEM;
	*ret = b64;
	return 0;
}

int rp_reqsig_verify(const uint8_t pub[32], const char *method, const char *path,
		     const char *ts_text, const void *body, size_t body_len, const char *sig_b64,
		     int64_t now, struct rp_diag *d)
{
	uint8_t sig[crypto_sign_BYTES + 2];
	size_t siglen, len;
	uint64_t ts;
	char *m;
	int ok;

	if (!ts_text || !sig_b64 || rp_parse_u64(ts_text, strlen(ts_text), INT64_MAX, &ts) != 0) {
		rp_diagf(d, "request signature headers are missing or malformed");
		return RP_E_MALFORMED;
	}
	if ((int64_t)ts > now + RP_REQUEST_SKEW_S || (int64_t)ts < now - RP_REQUEST_SKEW_S) {
		rp_diagf(d, "request time %llu is more than %d s from the server's clock",
			 (unsigned long long)ts, RP_REQUEST_SKEW_S);
		return RP_E_EXPIRED;
	}
	if (rp_b64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig), &siglen) != 0 ||
	    siglen != crypto_sign_BYTES) {
		rp_diagf(d, "request signature is not base64 of 64 bytes");
		return RP_E_MALFORMED;
	}
	m = message(method, path, (int64_t)ts, body, body_len, &len);
	if (!m)
		return RP_E_NOMEM;
	ok = crypto_sign_verify_detached(sig, (const uint8_t *)m, len, pub) == 0;
	free(m);
	if (!ok) {
		rp_diagf(d, "request signature does not verify");
		return RP_E_BADSIG;
	}
	return 0;
}
