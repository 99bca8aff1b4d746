/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * JSON from a peer we do not trust (the server, for the agent and the
 * CLI). jansson builds a whole tree and has no runtime depth or size
 * limit (only a compile-time depth of 2048): 4 MiB of nested or tiny
 * arrays becomes a few hundred MB of json_t. So every such document goes
 * through rp_json_load, which first bounds it lexically and only then
 * lets jansson parse it.
 */

#include <jansson.h>
#include <stddef.h>

#include "merkle.h"
#include "util.h"

/* rp_json_scan refuses a max_depth above this (its nesting is a 64-bit mask). */
#define RP_JSON_SCAN_DEPTH_LIMIT 64

/*
 * A bounded pass over the raw bytes, aware of strings and their escapes,
 * counting nesting and values (every array, object, string, number and
 * literal, object keys not counted): RP_E_TOOBIG (with d) as soon as
 * nesting exceeds max_depth or the values exceed max_values, else 0. It
 * is a bound, not a parser: it does not judge syntax, and for any text
 * jansson accepts it counts exactly the tree jansson builds (the fuzz
 * target fuzz-json checks both). Constant memory, one pass.
 * RP_E_INVAL when max_depth > RP_JSON_SCAN_DEPTH_LIMIT.
 */
int rp_json_scan(const char *buf, size_t len, size_t max_depth, size_t max_values,
		 struct rp_diag *d);

/*
 * rp_json_scan, then json_loadb with duplicate keys refused. 0 and the
 * tree (an array or an object) in *ret; RP_E_TOOBIG over a cap;
 * RP_E_MALFORMED when it is not JSON, with jansson's message quoted
 * (it repeats bytes of the input) in d.
 */
int rp_json_load(const char *buf, size_t len, size_t max_depth, size_t max_values, json_t **ret,
		 struct rp_diag *d);

/*
 * A JSON array of at most RP_PROOF_HASHES_MAX base64 hashes (a proof) into
 * out; `what' names it in the diagnostic. RP_E_MALFORMED, RP_E_TOOBIG.
 */
int rp_json_hashes(json_t *a, const char *what, uint8_t (*out)[RP_HASH_LEN], size_t *ret_n,
		   struct rp_diag *d);
