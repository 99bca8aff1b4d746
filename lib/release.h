/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Agent releases (docs/formats.md, "Release"): a `rampart/release/v1'
 * statement names one package file of the agent by its SHA-256 and size,
 * with its version and architecture. It is signed by the `exec' role's
 * quorum (installing a package as root runs its maintainer scripts as
 * root: the same power as an exec command, so the same signers) and
 * logged like every statement. Wherever the file comes from, whoever
 * installs it (the agent's upgrade, the enrol line) checks it against
 * this hash: the server only stores bytes.
 *
 * Versions are strict dotted numbers: 1 to 4 decimal components, each
 * 0..999999 without leading zeros ("1.4.0", "2.0"). They compare
 * component by component, a missing component counting as 0, so "1.4"
 * and "1.4.0" are equal and neither is newer than the other.
 */

#include <stdbool.h>
#include <stdint.h>

#include "note.h"
#include "policy.h"
#include "rp_limits.h"
#include "util.h"

#define RP_RELEASE_PACKAGE     "rampart-agent"
#define RP_RELEASE_VERSION_MAX 27 /* 4 components of 6 digits, 3 dots */
#define RP_RELEASE_ARCH_MAX    16

struct rp_release {
	char org[RP_ORG_NAME_MAX + 1];
	char package[sizeof(RP_RELEASE_PACKAGE)];
	char version[RP_RELEASE_VERSION_MAX + 1];
	char arch[RP_RELEASE_ARCH_MAX + 1];
	uint8_t hash[32]; /* SHA-256 of the package file */
	uint64_t size;    /* its bytes: 1..RP_PACKAGE_MAX */
	int64_t signed_at;
	struct rp_note *note; /* when parsed from a signed note */
};

/* A version as above; false for anything else. */
bool rp_release_version_valid(const char *s, size_t n);
/* <0, 0, >0 as a is older than, equal to, newer than b (both valid). */
int rp_release_version_cmp(const char *a, const char *b);
/* A Debian architecture name: [a-z0-9]{1,16} (amd64, arm64, all). */
bool rp_release_arch_valid(const char *s, size_t n);

/* Strict parse of the text; RP_E_TOOBIG over RP_RELEASE_TEXT_MAX, RP_E_MALFORMED naming the field.
 */
int rp_release_parse_text(const char *text, size_t len, struct rp_release **ret, struct rp_diag *d);
/* A signed note of one: r->note is set (signatures not checked: rp_release_verify). */
int rp_release_parse(const char *msg, size_t len, struct rp_release **ret, struct rp_diag *d);
void rp_release_free(struct rp_release *r);
/* The text administrators sign; NULL without memory. */
char *rp_release_format(const struct rp_release *r, size_t *ret_len);
bool rp_entry_is_release(const uint8_t *entry, size_t len);

/*
 * A signed release checked under policy p for org: parses, names org, and
 * carries the `exec' quorum, at least min signatures (0: the role's
 * threshold; an agent passes the strictest of its device groups,
 * rp_dir_threshold): RP_E_QUORUM / RP_E_ORG / the parse error.
 * Whether it is logged is the caller's check (the agent's inclusion proof,
 * the CLI's log scan).
 */
int rp_release_verify(const struct rp_policy *p, const char *org, uint32_t min, const char *msg,
		      size_t len, struct rp_release **ret, struct rp_diag *d);
