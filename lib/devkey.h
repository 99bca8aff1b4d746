/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device re-keying (docs/formats.md "Device key bindings"). A device's id
 * is the hash of its first key and never changes; each later key is bound
 * to the one before it by a note both keys sign:
 *
 *   rampart/device-key/v1
 *   org <org>
 *   device <id>
 *   old <base64 of the key it replaces>
 *   new <base64 of the new key>
 *   time <RFC 3339 UTC>
 *
 * Both signature lines carry the name <id> (each key signs under the
 * device id, as results and facts do). The server cannot bind a key of its
 * own (it does not hold the old one) nor a key nobody holds (the new one
 * signs). A chain is verified from the key that hashes to the id, binding
 * by binding; a key that comes back (A to B to A) is refused, so a retired
 * key can never be made current again.
 */
#ifndef RP_DEVKEY_H
#define RP_DEVKEY_H

#include <stddef.h>
#include <stdint.h>

#include "note.h"
#include "result.h"
#include "rp_limits.h"
#include "statement.h"
#include "util.h"

struct rp_devkey_binding {
	char org[RP_ORG_NAME_MAX + 1];
	char device[RP_ID_HEX + 1];
	uint8_t old_pub[32], new_pub[32];
	int64_t time;
};

/* The binding text, strictly: one order, one spelling, nothing else. */
int rp_devkey_parse_text(const char *text, size_t len, struct rp_devkey_binding *ret,
			 struct rp_diag *d);
/* The binding text of b; NULL when it would not parse back (or out of memory). */
char *rp_devkey_format(const struct rp_devkey_binding *b, size_t *ret_len);
/* The binding note of old_key to new_key (both named the device id), signed by both. */
int rp_devkey_bind(const char *org, const char *device, const struct rp_skey *old_key,
		   const struct rp_skey *new_key, int64_t now, char **ret, size_t *ret_len);
/*
 * One binding: a note for org and device whose `old' is cur and that both
 * cur and its `new' key signed under the device id. ret gets the binding.
 */
int rp_devkey_verify(const char *msg, size_t len, const char *org, const char *device,
		     const uint8_t cur[32], struct rp_devkey_binding *ret, struct rp_diag *d);
/*
 * A whole chain: pub0 must hash to device, then each of the n bindings in
 * order (at most RP_DEVKEY_CHAIN_MAX). ret_cur gets the current key;
 * ret_keys (if not NULL, n + 1 entries) every key of the chain, oldest
 * first, and ret_times (n + 1 entries) when each became current (0 for the
 * first, whose time the chain does not know).
 */
int rp_devkey_chain(const char *org, const char *device, const uint8_t pub0[32],
		    const char *const *bindings, const size_t *lens, size_t n, uint8_t ret_cur[32],
		    uint8_t (*ret_keys)[32], int64_t *ret_times, struct rp_diag *d);

/*
 * A result note of device, signed by one of its keys keys[0..n), oldest
 * first, the last its current one (the chain rp_devkey_chain verified, or
 * the server's own rows): the current key is tried first. ret_key: the
 * index of the key that signed it. Else the current key's error.
 */
int rp_devkey_result_verify(const char *msg, size_t len, const char *device,
			    const uint8_t (*keys)[32], size_t n, struct rp_result *ret,
			    size_t *ret_key, struct rp_diag *d);
/*
 * Whether key k of the n, since[i] being when key i became current (as
 * rp_devkey_chain's ret_times), counts for a command that starts at
 * not_before: the current key always; a retired one only when the command
 * could start before it was retired (RP_CLOCK_SKEW_S allowed). The time of
 * the binding that retired it is signed by the key after it too, so the
 * thief of a retired key cannot move it. The one rule of the CLI and
 * rampartd.
 */
bool rp_devkey_may_sign(const int64_t *since, size_t n, size_t k, int64_t not_before);

#endif
