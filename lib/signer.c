/* SPDX-License-Identifier: Apache-2.0 */
#include "signer.h"

#include <sodium.h>
#include <string.h>

#include "rp_err.h"

static int skey_sign(void *ctx, const uint8_t *msg, size_t n, uint8_t sig[64], struct rp_diag *d)
{
	const struct rp_skey *k = ctx;

	(void)d;
	crypto_sign_detached(sig, NULL, msg, n, k->sk);
	return 0;
}

void rp_signer_skey(struct rp_signer *s, const struct rp_skey *k)
{
	memset(s, 0, sizeof(*s));
	rp_skey_vkey(k, &s->vkey);
	s->sign = skey_sign;
	s->ctx = (void *)k;
	s->what = "the key file";
}

int rp_signer_sign(const struct rp_signer *s, const uint8_t *msg, size_t n, uint8_t ret_sig[64],
		   struct rp_diag *d)
{
	uint8_t sig[crypto_sign_BYTES];
	int r;

	if ((r = s->sign(s->ctx, msg, n, sig, d)) < 0)
		return r;
	if (crypto_sign_verify_detached(sig, msg, n, s->vkey.pub) != 0) {
		rp_diagf(d,
			 "%s returned a signature that does not verify under %s+%08x: refused, "
			 "nothing was signed with it",
			 s->what, s->vkey.name, s->vkey.id);
		return RP_E_BADSIG;
	}
	memcpy(ret_sig, sig, sizeof(sig));
	return 0;
}
