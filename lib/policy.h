/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Root policy: the administrators' keys, and per role the keys that may
 * sign and the threshold they must reach. Exact format: docs/formats.md.
 */

#include <stdint.h>

#include "checkpoint.h"
#include "note.h"

enum rp_role_id { RP_ROLE_ROOT, RP_ROLE_EXEC, RP_ROLE_QUERY, RP_ROLE_DIRECTORY, RP_ROLE_COUNT };

struct rp_role {
	uint32_t threshold;
	size_t nkeys;
	uint8_t keys[RP_POLICY_KEYS_MAX]; /* indexes into rp_policy.keys */
};

/*
 * `device-group-threshold <device group> <role> <k>': statements of the
 * role that reach a device of that group need k signatures of the role's
 * keys, more than its threshold (DESIGN.md section 6). A device applies
 * the strictest among the groups it belongs to (rp_policy_threshold).
 */
struct rp_group_threshold {
	char dgroup[RP_USER_NAME_MAX + 1];
	enum rp_role_id role; /* exec, query or directory */
	uint32_t threshold;
};

struct rp_policy {
	char org[RP_ORG_NAME_MAX + 1];
	uint64_t version;
	int64_t expires;
	size_t nkeys;
	struct rp_vkey keys[RP_POLICY_KEYS_MAX];
	struct rp_role roles[RP_ROLE_COUNT];
	size_t ngthresholds; /* sorted by group, then role; each pair once */
	struct rp_group_threshold gthresholds[RP_POLICY_GROUP_THRESHOLDS_MAX];
	int64_t freshness; /* seconds a cosigned checkpoint stays fresh */
	/* server-pin lines: when any, the TLS keys of the server agents accept
	 * (instead of the enrolment token's pin); how a key rotation reaches them */
	size_t npins;
	uint8_t pins[RP_POLICY_PINS_MAX][32];
	struct rp_wpolicy wp; /* the log key, witnesses and their quorum */
	char hash[72];        /* "sha256:<hex>" of the policy text */
	struct rp_note *note; /* the signed note, when parsed from one */
};

const char *rp_role_name(enum rp_role_id role);
int rp_role_from_name(const char *s, size_t n);
bool rp_org_name_valid(const char *s, size_t n);

/* Parses the policy text (the note's body) strictly. */
int rp_policy_parse_text(const char *text, size_t len, struct rp_policy **ret, struct rp_diag *d);
/* Parses a signed note holding a policy; signatures are not checked. */
int rp_policy_parse(const char *msg, size_t len, struct rp_policy **ret, struct rp_diag *d);
void rp_policy_free(struct rp_policy *p);
/* Serialises to the one canonical text; parse(format(p)) == p. */
char *rp_policy_format(const struct rp_policy *p, size_t *ret_len);

/*
 * Quorum: signatures on note by distinct keys of the role, each verified,
 * reaching the threshold. A signature by a role key that fails to verify
 * rejects the note (RP_E_BADSIG); signatures by other keys do not count.
 * ret_count (may be NULL) receives the number of distinct valid signers.
 */
int rp_quorum_check(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		    size_t *ret_count, struct rp_diag *d);
/*
 * The threshold of role for a device in the given device groups: the
 * role's own, or the largest device-group-threshold among those groups.
 */
uint32_t rp_policy_threshold(const struct rp_policy *p, enum rp_role_id role,
			     const char (*groups)[RP_USER_NAME_MAX + 1], size_t ngroups);
/* rp_quorum_check against a threshold of at least min (rp_policy_threshold). */
int rp_quorum_check_min(const struct rp_policy *p, enum rp_role_id role, uint32_t min,
			const struct rp_note *note, size_t *ret_count, struct rp_diag *d);
/*
 * The same check, also telling which keys signed: ret_signed[i] for
 * p->keys[i] (keys of the role only), set once the signatures were
 * verified, whether or not the threshold is met. Each signature is
 * verified once.
 */
int rp_quorum_signers(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		      size_t *ret_count, bool ret_signed[RP_POLICY_KEYS_MAX], struct rp_diag *d);

/*
 * What one signature line of a note is, judged against the policy and a
 * role. Agents need only the quorum (rp_quorum_check); whatever shows
 * signatures to a person, or keeps them, needs every line's verdict.
 */
enum rp_sig_verdict {
	RP_SIG_ROLE,     /* verifies with a key of the role */
	RP_SIG_OTHER,    /* verifies with a policy key outside the role: does not count */
	RP_SIG_BAD,      /* a policy key's name and key id, but it does not verify */
	RP_SIG_IMPOSTOR, /* a policy key's name with another key id */
	RP_SIG_UNKNOWN,  /* a name that no policy key has */
};

struct rp_sig_check {
	enum rp_sig_verdict verdict;
	/*
	 * Index into p->keys: the key that verified (ROLE, OTHER), the key
	 * whose name and id the line carries (BAD) or whose name it claims
	 * (IMPOSTOR); -1 for UNKNOWN.
	 */
	int key;
	bool first; /* ROLE, OTHER: the first valid line of that key (a key counts once) */
};

/*
 * Verifies every signature line of note once and classifies it; ret[i] is
 * the verdict on note->sigs[i]. ret_count (may be NULL): distinct keys of
 * the role with a valid line. A line that does not verify is a verdict
 * here, not an error: callers show it, or drop it, and never count it.
 */
int rp_policy_classify(const struct rp_policy *p, enum rp_role_id role, const struct rp_note *note,
		       struct rp_sig_check ret[RP_NOTE_SIGS_MAX], size_t *ret_count);
/* "valid", "valid (other role)", "INVALID", "IMPOSTOR", "unknown key". */
const char *rp_sig_verdict_name(enum rp_sig_verdict v);

/*
 * A first policy (version 1) as an agent accepts it at enrolment: its
 * text hash equals want_hash, it is signed by its own root quorum, and
 * it has not expired at now.
 */
int rp_policy_verify_initial(const struct rp_policy *p, const char *want_hash, int64_t now,
			     struct rp_diag *d);

/*
 * Version N+1 after version N (TUF's rule): same org, version exactly one
 * more, signed by a root quorum of cur and a root quorum of next itself.
 */
int rp_policy_verify_rotation(const struct rp_policy *cur, const struct rp_policy *next,
			      struct rp_diag *d);

/*
 * The signature lines of a proposed version next (its note) judged for the
 * rotation after cur: each line against cur's root role (old[i]) and next's
 * (new[i]). A line is kept when it verifies with a key of either version
 * and is that key's first valid line there; it is forged when it verifies
 * with neither but claims a key of one of them (a bad signature, another
 * key id under that name: it may verify under the other version, where the
 * name has a new key, and is then not forged); any other line is nobody's.
 * have_old and have_new are the distinct root keys of each version with a
 * valid line, the counts rp_policy_verify_rotation holds to the thresholds.
 * rampartd keeps only the kept lines and refuses a forged one; the CLI shows
 * every verdict.
 */
struct rp_rotation_sigs {
	struct rp_sig_check old[RP_NOTE_SIGS_MAX], new[RP_NOTE_SIGS_MAX];
	bool keep[RP_NOTE_SIGS_MAX], forged[RP_NOTE_SIGS_MAX];
	size_t have_old, have_new, nkept, nforged;
};
int rp_policy_rotation_sigs(const struct rp_policy *cur, const struct rp_policy *next,
			    struct rp_rotation_sigs *ret);

/* Index of the key with this name, or -1. */
int rp_policy_key_index(const struct rp_policy *p, const char *name);
