/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The append-only check (see tlog.h). Both entry points share the order of
 * the checks, so a rollback is a rollback and a fork a fork whatever the
 * evidence: only the last step differs.
 */
#include "tlog.h"

#include "rp_limits.h"

#include <inttypes.h>
#include <sodium.h>

#include "rp_err.h"

const char *rp_tlog_verdict_name(enum rp_tlog_verdict v)
{
	switch (v) {
	case RP_TLOG_SAME: return "same";
	case RP_TLOG_EXTENDS: return "extends";
	case RP_TLOG_ROLLBACK: return "rollback";
	case RP_TLOG_FORK: return "fork";
	case RP_TLOG_INCONSISTENT: return "inconsistent";
	}
	return "?";
}

/* The first bytes of a hash in hex, enough to tell two apart in a message. */
static void short_hex(const uint8_t h[RP_HASH_LEN], char out[17])
{
	rp_hex_encode(h, 8, out);
}

/*
 * The checks that need no evidence: a smaller tree, or the same size with
 * another root. Returns true with *ret set when one decides.
 */
static bool judged_by_size(const struct rp_tlog_head *stored, const struct rp_tlog_head *next,
			   enum rp_tlog_verdict *ret, struct rp_diag *d)
{
	char a[17], b[17];

	if (next->size < stored->size) {
		rp_diagf(d,
			 "tree of %" PRIu64 " entries is smaller than the %" PRIu64 " already seen",
			 next->size, stored->size);
		*ret = RP_TLOG_ROLLBACK;
		return true;
	}
	if (next->size == stored->size &&
	    sodium_memcmp(next->root, stored->root, RP_HASH_LEN) != 0) {
		short_hex(next->root, a);
		short_hex(stored->root, b);
		rp_diagf(d,
			 "tree of %" PRIu64 " entries has root %s..., not the root %s... already "
			 "seen at that size",
			 next->size, a, b);
		*ret = RP_TLOG_FORK;
		return true;
	}
	return false;
}

enum rp_tlog_verdict rp_tlog_advance(const struct rp_tlog_head *stored,
				     const struct rp_tlog_head *next,
				     const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
				     struct rp_diag *d)
{
	enum rp_tlog_verdict v;

	if (judged_by_size(stored, next, &v, d))
		return v;
	/*
	 * A bounded step: a log that leaps to the end of the index space (one
	 * junk entry at 2^63 - 2 of an invented tree) would leave every
	 * verifier that follows it unable to accept any later checkpoint.
	 */
	if (stored->size > 0 && next->size - stored->size > RP_LOG_GROWTH_MAX) {
		rp_diagf(d,
			 "tree of %" PRIu64 " entries grows by more than %" PRIu64
			 " from the %" PRIu64 " already seen",
			 next->size, (uint64_t)RP_LOG_GROWTH_MAX, stored->size);
		return RP_TLOG_INCONSISTENT;
	}
	/* Equal sizes too: the proof must then be empty (RFC 9162 2.1.4.2). */
	if (rp_merkle_verify_consistency(stored->size, next->size, stored->root, next->root, proof,
					 nproof, d) < 0)
		return RP_TLOG_INCONSISTENT;
	return next->size == stored->size ? RP_TLOG_SAME : RP_TLOG_EXTENDS;
}

enum rp_tlog_verdict rp_tlog_advance_rebuilt(const struct rp_tlog_head *stored,
					     const struct rp_tlog_head *next,
					     const uint8_t rebuilt[RP_HASH_LEN], struct rp_diag *d)
{
	enum rp_tlog_verdict v;
	char a[17], b[17];

	if (judged_by_size(stored, next, &v, d))
		return v;
	if (next->size == stored->size)
		return RP_TLOG_SAME;
	if (sodium_memcmp(rebuilt, next->root, RP_HASH_LEN) != 0) {
		short_hex(rebuilt, a);
		short_hex(next->root, b);
		rp_diagf(d,
			 "tree of %" PRIu64 " entries rebuilt from the %" PRIu64
			 " already seen has root %s..., not the root %s... given for it",
			 next->size, stored->size, a, b);
		return RP_TLOG_INCONSISTENT;
	}
	return RP_TLOG_EXTENDS;
}
