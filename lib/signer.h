/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Who makes a signature: a key in memory (struct rp_skey), or a key held
 * elsewhere (an ssh-agent, a hardware token behind it) that is asked for
 * each one. Whatever the backend, rp_signer_sign verifies the signature
 * against the signer's public key before returning it, so a backend that
 * answers garbage, or signs other bytes than it was given, is caught where
 * it answers and nothing is built on its answer.
 */

#include <stddef.h>
#include <stdint.h>

#include "note.h"

struct rp_signer {
	struct rp_vkey
		vkey; /* name, key id, type 0x01 and public key the signatures verify under */
	/* Signs the n bytes at msg into sig; d says why not. */
	int (*sign)(void *ctx, const uint8_t *msg, size_t n, uint8_t sig[64], struct rp_diag *d);
	void *ctx;
	const char *what; /* for messages: "ssh-agent at /run/user/1000/agent.sock" */
};

/* A signer over k, which must outlive it. */
void rp_signer_skey(struct rp_signer *s, const struct rp_skey *k);

/*
 * The backend's signature of msg, verified: RP_E_BADSIG when it does not
 * verify under s->vkey, with d saying so. ret_sig is written only on success.
 */
int rp_signer_sign(const struct rp_signer *s, const uint8_t *msg, size_t n, uint8_t ret_sig[64],
		   struct rp_diag *d);
