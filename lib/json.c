/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rp_err.h"

static bool is_scalar_byte(unsigned char c)
{
	/* What numbers and the literals true, false, null are made of. */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

int rp_json_scan(const char *buf, size_t len, size_t max_depth, size_t max_values,
		 struct rp_diag *d)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint64_t in_object = 0; /* bit k: the container at depth k + 1 is an object */
	size_t depth = 0, values = 0;
	bool want_key = false; /* the next string in this object is a key */

	if (max_depth > RP_JSON_SCAN_DEPTH_LIMIT)
		return RP_E_INVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '"':
			/* A backslash escapes the next byte, whatever it is: \" does not end it. */
			for (i++; i < len && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			if (!want_key)
				values++;
			want_key = false;
			break;
		case '[':
		case '{':
			values++;
			if (depth == max_depth) {
				rp_diagf(d, "JSON nests deeper than %zu levels (at byte %zu)",
					 max_depth, i);
				return RP_E_TOOBIG;
			}
			if (c == '{')
				in_object |= UINT64_C(1) << depth;
			else
				in_object &= ~(UINT64_C(1) << depth);
			depth++;
			want_key = c == '{';
			break;
		case ']':
		case '}':
			/* Unbalanced closers are jansson's to refuse; never below 0 here. */
			if (depth > 0)
				depth--;
			want_key = false;
			break;
		case ',': want_key = depth > 0 && (in_object >> (depth - 1)) & 1; break;
		case ':': want_key = false; break;
		default:
			if (is_scalar_byte(c)) {
				/* One value for the whole number or literal. */
				while (i + 1 < len && is_scalar_byte(p[i + 1]))
					i++;
				values++;
				want_key = false;
			}
			/* Whitespace, and bytes JSON does not allow (jansson refuses those). */
			break;
		}
		if (values > max_values) {
			rp_diagf(d, "JSON holds more than %zu values (at byte %zu)", max_values, i);
			return RP_E_TOOBIG;
		}
	}
	return 0;
}

int rp_json_load(const char *buf, size_t len, size_t max_depth, size_t max_values, json_t **ret,
		 struct rp_diag *d)
{
	json_error_t jerr;
	json_t *j;
	char q[sizeof(jerr.text) * 4 + 4];
	int r;

	if ((r = rp_json_scan(buf, len, max_depth, max_values, d)) < 0)
		return r;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		/* jansson's text quotes the input ("near '...'"): hostile bytes. */
		rp_quote(q, sizeof(q), jerr.text, strnlen(jerr.text, sizeof(jerr.text)));
		rp_diagf(d, "not JSON: %s at byte %d", q, jerr.position);
		return RP_E_MALFORMED;
	}
	*ret = j;
	return 0;
}

int rp_json_hashes(json_t *a, const char *what, uint8_t (*out)[RP_HASH_LEN], size_t *ret_n,
		   struct rp_diag *d)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a)) {
		rp_diagf(d, "delivery field `%s' is not an array", what);
		return RP_E_MALFORMED;
	}
	if (json_array_size(a) > RP_PROOF_HASHES_MAX) {
		rp_diagf(d, "delivery %s has %zu hashes, more than %d", what, json_array_size(a),
			 RP_PROOF_HASHES_MAX);
		return RP_E_TOOBIG;
	}
	json_array_foreach (a, i, v) {
		size_t n;
		if (!json_is_string(v) ||
		    rp_b64_decode(json_string_value(v), json_string_length(v), out[i], RP_HASH_LEN,
				  &n) != 0 ||
		    n != RP_HASH_LEN) {
			rp_diagf(d, "delivery %s hash %zu is not base64 of 32 bytes", what, i);
			return RP_E_MALFORMED;
		}
	}
	*ret_n = json_array_size(a);
	return 0;
}
