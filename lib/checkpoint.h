/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Checkpoints and their witnesses, in the C2SP formats named by DESIGN.md
 * section 3:
 *   tlog-checkpoint v1.0.0   "<origin>\n<size>\n<base64 root>\n" [extension lines]
 *   tlog-cosignature v1.0.1  type 0x04 key; signed message
 *                            "cosignature/v1\ntime <T>\n" || checkpoint text;
 *                            signature bytes keyid[4] || u64 BE T || sig[64]
 *   tlog-witness v1.0.0      add-checkpoint request body
 *   tlog-policy              log / witness / group / quorum lines
 */

#include <stdbool.h>
#include <stdint.h>

#include "merkle.h"
#include "note.h"

struct rp_checkpoint {
	char origin[RP_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[RP_HASH_LEN];
	size_t next; /* extension lines after the root line (kept in the text) */
};

/*
 * Parses a checkpoint body (a note's text): origin non-empty printable
 * without `+' rules beyond the note's, size decimal without leading zeros,
 * root canonical base64 of 32 bytes, at most RP_CHECKPOINT_EXT_MAX non-empty
 * extension lines.
 */
int rp_checkpoint_parse(const char *text, size_t len, struct rp_checkpoint *ret, struct rp_diag *d);
/* The text Rampart writes (no extension lines); malloc'd, NUL-terminated. */
char *rp_checkpoint_format(const struct rp_checkpoint *c, size_t *ret_len);

/*
 * A cosignature line "— <name> <base64(keyid || time || sig)>\n" by the
 * type-0x04 key k over the checkpoint text at time t; malloc'd.
 * rp_skey holds an Ed25519 seed: here it is used as a cosignature key
 * (its key id recomputed with type 0x04).
 */
char *rp_cosig_sign_line(const char *text, size_t len, const struct rp_skey *k, uint64_t t);
/* The type-0x04 verifier key of the same seed. */
void rp_cosig_vkey(const struct rp_skey *k, struct rp_vkey *ret);

/*
 * Verifies signature line sig of a note against the cosignature key k:
 * 0 and the cosigned time, RP_E_NOTFOUND when the line is not by k (name
 * or key id differ), RP_E_BADSIG when it is by k but does not verify (or
 * is not 72 bytes).
 */
int rp_cosig_verify(const struct rp_vkey *k, const char *text, size_t len,
		    const struct rp_note_sig *sig, uint64_t *ret_time, struct rp_diag *d);

/* tlog-witness add-checkpoint request. */
struct rp_witness_req {
	uint64_t old_size;
	size_t nproof;
	uint8_t proof[RP_PROOF_HASHES_MAX][RP_HASH_LEN];
	struct rp_note *note; /* the signed checkpoint */
	struct rp_checkpoint cp;
};
/*
 * Strict parse of the request body: RP_E_TOOBIG over RP_WITNESS_REQUEST_MAX
 * or more than 63 proof lines, RP_E_MALFORMED otherwise with the line at
 * fault named. Signatures are not checked.
 */
int rp_witness_req_parse(const char *body, size_t len, struct rp_witness_req *ret,
			 struct rp_diag *d);
void rp_witness_req_release(struct rp_witness_req *r);
/* The request body for a signed checkpoint note; malloc'd. */
char *rp_witness_req_format(uint64_t old_size, const uint8_t (*proof)[RP_HASH_LEN], size_t nproof,
			    const char *note, size_t note_len, size_t *ret_len);

/*
 * The witness part of a root policy, in C2SP tlog-policy lines:
 *   log <vkey> [<url>]                 exactly one, type 0x01, key name = origin
 *   witness <name> <vkey> [<url>]      type 0x04, names and keys unique
 *   group <name> all|any|<k> <name>... members defined on earlier lines, once each
 *   quorum <name>|none                 exactly one, last
 */
struct rp_witness {
	char name[RP_NOTE_NAME_MAX + 1];
	struct rp_vkey key;
	char url[RP_URL_MAX + 1]; /* "" when none */
};
struct rp_wgroup {
	char name[RP_NOTE_NAME_MAX + 1];
	uint32_t threshold;
	size_t nmembers;
	/* member i: witness index when < RP_POLICY_WITNESSES_MAX, else group index + that */
	uint16_t members[RP_POLICY_WITNESSES_MAX + RP_WITNESS_GROUPS_MAX];
};
struct rp_wpolicy {
	bool have_log;
	struct rp_vkey log;
	char log_url[RP_URL_MAX + 1];
	size_t nwitnesses;
	struct rp_witness witnesses[RP_POLICY_WITNESSES_MAX];
	size_t ngroups;
	struct rp_wgroup groups[RP_WITNESS_GROUPS_MAX];
	bool have_quorum;
	int quorum; /* -1: none; else a member code as in rp_wgroup.members */
};

/*
 * Feeds one line (without '\n') whose first word is log, witness, group or
 * quorum; returns RP_E_MALFORMED naming the problem. Callers feed lines in
 * order, then call rp_wpolicy_finish (quorum present, log present).
 */
int rp_wpolicy_line(struct rp_wpolicy *wp, const char *line, size_t len, struct rp_diag *d);
int rp_wpolicy_finish(const struct rp_wpolicy *wp, struct rp_diag *d);
/* Appends the lines, in canonical form, to sb. */
void rp_wpolicy_format(const struct rp_wpolicy *wp, struct rp_sb *sb);

/*
 * A checkpoint as an agent or auditor accepts it: note parses, text is a
 * checkpoint whose origin is the log key's name, signed by the log key
 * (else RP_E_NOSIG / RP_E_BADSIG), and cosigned by witnesses meeting the
 * quorum. A cosignature counts when its time is within [now - freshness,
 * now + skew] (freshness 0: any time). A cosignature line by a listed
 * witness that does not verify rejects the checkpoint (RP_E_BADSIG).
 * Quorum not met: RP_E_STALE when it would be met counting cosignatures
 * that are only too old, else RP_E_WITNESS. ret_cp (may be NULL) gets the
 * parsed checkpoint, ret_newest (may be NULL) the newest counted
 * cosignature time.
 */
int rp_checkpoint_verify(const struct rp_wpolicy *wp, const char *note, size_t len, int64_t now,
			 int64_t freshness, int64_t skew, struct rp_checkpoint *ret_cp,
			 int64_t *ret_newest, struct rp_diag *d);
