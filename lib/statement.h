/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Command statements (DESIGN.md section 3), parsed strictly: one field
 * order, no unknown or duplicated fields, every value checked.
 */

#include <stdint.h>

#include "rp_limits.h"
#include "note.h"
#include "policy.h"

#define RP_ID_HEX 32 /* statement and device ids: 16 bytes, hex */
/* a `target' value: a device id, `all', `group:<device group>' or `tag:<tag>' */
#define RP_TARGET_MAX (6 + RP_USER_NAME_MAX)

enum rp_command_kind {
	RP_KIND_EXEC,
	RP_KIND_DIRECTORY, /* a rampart/directory/v1 statement (lib/directory.h): c->dir */
	/* Install an agent release: the payload is the rampart/release/v1 text
	 * (lib/release.h) naming the package by hash; run-as root; role exec. */
	RP_KIND_UPGRADE,
};

struct rp_dir_stmt;

struct rp_command {
	char org[RP_ORG_NAME_MAX + 1];
	char id[RP_ID_HEX + 1];
	enum rp_command_kind kind;
	int64_t not_before, expires;
	char run_as[RP_USER_NAME_MAX + 1];
	uint32_t timeout;
	uint8_t payload_hash[32];
	uint64_t payload_size;
	size_t ntargets;
	char (*targets)[RP_TARGET_MAX + 1];
	/* Reaches every device of the org: a directory statement, or `target all'. */
	bool all_devices;
	/* Some target names a device group or a tag: only the directory resolves it. */
	bool by_directory;
	char comment[RP_STATEMENT_COMMENT_MAX + 1];
	struct rp_note *note;    /* when parsed from a signed note */
	struct rp_dir_stmt *dir; /* RP_KIND_DIRECTORY: the statement itself (owned) */
};

bool rp_id_valid(const char *s, size_t n);
bool rp_user_name_valid(const char *s, size_t n);
enum rp_role_id rp_command_role(const struct rp_command *c);

/*
 * A command, or (RP_KIND_DIRECTORY) a directory statement seen as one by
 * what stores, orders, delivers and reports statements: its org, id and
 * expiry, no payload (the hash of nothing), no run-as, every device a
 * target (all_devices), the `directory' role.
 */
int rp_command_parse_text(const char *text, size_t len, struct rp_command **ret, struct rp_diag *d);
int rp_command_parse(const char *msg, size_t len, struct rp_command **ret, struct rp_diag *d);
void rp_command_free(struct rp_command *c);
char *rp_command_format(const struct rp_command *c, size_t *ret_len);
/*
 * Whether c names device_id: among its device ids, or every device. A
 * target by device group or tag is not resolved here (lib/directory.h:
 * rp_dir_command_targets resolves it against the signed directory).
 */
bool rp_command_targets(const struct rp_command *c, const char *device_id);
bool rp_target_valid(const char *s, size_t n);

/* Device id: hex of the first 16 bytes of SHA-256(Ed25519 public key). */
void rp_device_id(const uint8_t pub[32], char out[RP_ID_HEX + 1]);
/*
 * A device key as a note verifier: its name is the device id, which is
 * the hash of the device's first key (id NULL: this key is that one) and
 * stays the name of every key it re-keys to (lib/devkey.h).
 */
void rp_device_vkey(const uint8_t pub[32], const char *id, struct rp_vkey *ret);
/*
 * A note signed by the device key pub under the device id id (NULL: the
 * hash of pub; rp_device_vkey): parsed and verified, with that id.
 * RP_E_BADSIG / RP_E_NOSIG when that key did not sign it. The caller
 * parses the text and checks that it names ret_id (rp_result_verify,
 * rp_facts_verify).
 */
int rp_device_note_open(const char *msg, size_t len, const uint8_t pub[32], const char *id,
			struct rp_note **ret, char ret_id[RP_ID_HEX + 1], struct rp_diag *d);
