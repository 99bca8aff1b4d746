/* SPDX-License-Identifier: Apache-2.0 */
#include "scan.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rp_err.h"

static const char POLICY_FIRST_LINE[] = "rampart/policy/v1\n";

bool rp_entry_is_policy(const uint8_t *entry, size_t len)
{
	size_t n = sizeof(POLICY_FIRST_LINE) - 1;
	return len >= n && !memcmp(entry, POLICY_FIRST_LINE, n);
}

void rp_entries_release(struct rp_entries *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

/* Decodes the "entries" array into e->buf, each within its caps. */
static int decode_entries(json_t *a, struct rp_entries *e, struct rp_diag *d)
{
	size_t i, total = 0;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		rp_diagf(d, "entries answer: `entries' is not a non-empty array");
		return RP_E_MALFORMED;
	}
	if (json_array_size(a) > RP_SCAN_ENTRIES_MAX) {
		rp_diagf(d, "entries answer has %zu entries, more than %d", json_array_size(a),
			 RP_SCAN_ENTRIES_MAX);
		return RP_E_TOOBIG;
	}
	json_array_foreach (a, i, v) {
		if (!json_is_string(v)) {
			rp_diagf(d, "entries answer: entry %zu is not a string", i);
			return RP_E_MALFORMED;
		}
		/* base64 decodes to at most 3/4 of its length: the buffer's bound */
		total += json_string_length(v) / 4 * 3 + 3;
	}
	if (total > RP_SCAN_BYTES_MAX + 3 * RP_SCAN_ENTRIES_MAX)
		total = RP_SCAN_BYTES_MAX + 3 * RP_SCAN_ENTRIES_MAX;
	if (!(e->buf = malloc(total ? total : 1)))
		return RP_E_NOMEM;
	size_t used = 0;
	json_array_foreach (a, i, v) {
		size_t n;
		if (rp_b64_decode(json_string_value(v), json_string_length(v), e->buf + used,
				  total - used, &n) != 0) {
			rp_diagf(d,
				 "entries answer: entry %zu is not base64, or the entries are "
				 "more than %d bytes",
				 i, RP_SCAN_BYTES_MAX);
			return RP_E_MALFORMED;
		}
		if (n == 0 || n > RP_LOG_ENTRY_MAX) {
			rp_diagf(d, "entries answer: entry %zu is %zu bytes, not 1 to %d", i, n,
				 RP_LOG_ENTRY_MAX);
			return RP_E_MALFORMED;
		}
		e->off[i] = used;
		e->len[i] = n;
		used += n;
		if (used > RP_SCAN_BYTES_MAX) {
			rp_diagf(d, "entries answer carries more than %d bytes of entries",
				 RP_SCAN_BYTES_MAX);
			return RP_E_TOOBIG;
		}
	}
	e->n = json_array_size(a);
	return 0;
}

int rp_entries_parse(const char *json, size_t len, struct rp_entries *ret, struct rp_diag *d)
{
	struct rp_entries e;
	struct rp_diag jd = {""};
	json_t *root = NULL, *from, *cs;
	int r;

	memset(&e, 0, sizeof(e));
	if (len > RP_SCAN_ANSWER_MAX) {
		rp_diagf(d, "entries answer is %zu bytes, more than %d", len, RP_SCAN_ANSWER_MAX);
		return RP_E_TOOBIG;
	}
	if ((r = rp_json_load(json, len, RP_JSON_DEPTH_MAX, RP_SCAN_ANSWER_VALUES_MAX, &root,
			      &jd)) < 0) {
		rp_diagf(d, "entries answer: %s", jd.msg);
		return r;
	}
	from = json_object_get(root, "from");
	cs = json_object_get(root, "consistency");
	if (!json_is_object(root) || !json_is_integer(from) || json_integer_value(from) < 0) {
		rp_diagf(d, "entries answer: not an object with a non-negative integer `from'");
		r = RP_E_MALFORMED;
		goto out;
	}
	e.from = (uint64_t)json_integer_value(from);
	if ((r = decode_entries(json_object_get(root, "entries"), &e, d)) < 0 ||
	    (r = rp_json_hashes(cs, "consistency", e.consistency, &e.ncons, d)) < 0)
		goto out;
	*ret = e;
	memset(&e, 0, sizeof(e));
out:
	rp_entries_release(&e);
	json_decref(root);
	return r;
}

int rp_scan_verify(struct rp_frontier *f, const struct rp_entries *e, uint64_t size,
		   const uint8_t root[RP_HASH_LEN], struct rp_diag *d)
{
	struct rp_frontier next = *f;
	uint8_t leaf[RP_HASH_LEN], r1[RP_HASH_LEN];
	struct rp_diag why = {""};
	int r;

	if (e->from != f->size || e->n == 0 || f->size > size || e->n > size - f->size) {
		rp_diagf(d,
			 "entries %" PRIu64 " to %" PRIu64
			 " are not the ones asked for (from %" PRIu64 " in a tree of %" PRIu64 ")",
			 e->from, e->from + e->n, f->size, size);
		return RP_E_MALFORMED;
	}
	for (size_t i = 0; i < e->n; i++) {
		rp_merkle_leaf_hash(e->buf + e->off[i], e->len[i], leaf);
		if ((r = rp_frontier_append(&next, leaf)) < 0)
			return r;
	}
	rp_frontier_root(&next, r1);
	r = rp_merkle_verify_consistency(next.size, size, r1, root,
					 (const uint8_t(*)[RP_HASH_LEN])e->consistency, e->ncons,
					 &why);
	if (r < 0) {
		rp_diagf(d,
			 "entries %" PRIu64 " to %" PRIu64
			 " are not those of the witnessed tree of %" PRIu64 " entries: %s",
			 e->from, next.size, size, why.msg);
		return RP_E_PROOF;
	}
	*f = next;
	return 0;
}

/* ---- scan.state ---- */

/* A line "<word> <rest>" whose word is name: the rest, else false. */
static bool field(const char *line, size_t len, const char *name, const char **ret_v,
		  size_t *ret_vlen)
{
	const char *w;
	size_t wlen;

	return rp_split_word(line, len, &w, &wlen, ret_v, ret_vlen) && rp_memeq(w, wlen, name);
}

int rp_scan_state_parse(const char *text, size_t len, struct rp_scan_state *ret, struct rp_diag *d)
{
	struct rp_cursor c = {text, len};
	struct rp_scan_state st;
	const char *line, *v, *v2;
	size_t llen, vlen, v2len, n;
	unsigned lineno = 1;
	int r;

	memset(&st, 0, sizeof(st));
	if (len > RP_SCAN_STATE_MAX) {
		rp_diagf(d, "scan state is %zu bytes, more than %d", len, RP_SCAN_STATE_MAX);
		return RP_E_TOOBIG;
	}
	if (rp_cursor_line(&c, &line, &llen) != 1 || !field(line, llen, "scanned", &v, &vlen) ||
	    rp_parse_u64(v, vlen, RP_LOG_LEAVES_MAX - 1, &st.f.size) != 0)
		goto bad;
	for (int l = 63; l >= 0; l--) {
		if (!((st.f.size >> l) & 1))
			continue;
		lineno++;
		if (rp_cursor_line(&c, &line, &llen) != 1 ||
		    !field(line, llen, "hash", &v, &vlen) ||
		    rp_b64_decode(v, vlen, st.f.hash[l], RP_HASH_LEN, &n) != 0 || n != RP_HASH_LEN)
			goto bad;
	}
	while ((r = rp_cursor_line(&c, &line, &llen)) == 1) {
		struct rp_scan_policy *sp = &st.pol[st.npol];
		lineno++;
		if (st.pending || st.retired)
			goto bad; /* nothing after either */
		if (rp_memeq(line, llen, "pending")) {
			if (st.npol != 1)
				goto bad;
			st.pending = true;
			continue;
		}
		if (rp_memeq(line, llen, "retired")) {
			if (st.npol < 2)
				goto bad;
			st.retired = true;
			continue;
		}
		if (field(line, llen, "owed", &v, &vlen)) {
			uint64_t until;
			if (st.npol == 0 || st.owed_until ||
			    !rp_split_word(v, vlen, &v, &vlen, &v2, &v2len) ||
			    rp_parse_u64(v, vlen, UINT64_MAX, &st.owed) != 0 ||
			    rp_parse_u64(v2, v2len, INT64_MAX, &until) != 0 || until == 0 ||
			    (st.f.size > 0 && st.owed >= st.f.size))
				goto bad;
			st.owed_until = (int64_t)until;
			continue;
		}
		if (st.owed_until)
			goto bad; /* no policy line after it */
		if (st.npol == RP_POLICY_KEEP_MAX || !field(line, llen, "policy", &v, &vlen) ||
		    !rp_split_word(v, vlen, &v, &vlen, &v2, &v2len) ||
		    rp_parse_u64(v, vlen, UINT64_MAX, &sp->version) != 0 ||
		    rp_parse_u64(v2, v2len, UINT64_MAX, &sp->index) != 0 || sp->version == 0 ||
		    (st.f.size > 0 && sp->index >= st.f.size) ||
		    (st.npol > 0 && (sp->version <= st.pol[st.npol - 1].version ||
				     sp->index <= st.pol[st.npol - 1].index)))
			goto bad;
		st.npol++;
	}
	if (r < 0 || st.npol == 0) {
		lineno++;
		goto bad;
	}
	*ret = st;
	return 0;
bad:
	rp_diagf(d, "scan state line %u is not what it must be (docs/formats.md)", lineno);
	return RP_E_MALFORMED;
}

char *rp_scan_state_format(const struct rp_scan_state *st, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_SCAN_STATE_MAX);
	rp_sb_printf(&sb, "scanned %" PRIu64 "\n", st->f.size);
	for (int l = 63; l >= 0; l--) {
		if (!((st->f.size >> l) & 1))
			continue;
		char *b64 = rp_b64_encode(st->f.hash[l], RP_HASH_LEN);
		if (!b64) {
			free(sb.s);
			return NULL;
		}
		rp_sb_printf(&sb, "hash %s\n", b64);
		free(b64);
	}
	for (size_t i = 0; i < st->npol; i++)
		rp_sb_printf(&sb, "policy %" PRIu64 " %" PRIu64 "\n", st->pol[i].version,
			     st->pol[i].index);
	if (st->owed_until > 0)
		rp_sb_printf(&sb, "owed %" PRIu64 " %" PRId64 "\n", st->owed, st->owed_until);
	if (st->pending && st->npol == 1)
		rp_sb_puts(&sb, "pending\n");
	else if (st->retired && st->npol >= 2)
		rp_sb_puts(&sb, "retired\n");
	return rp_sb_take(&sb, ret_len);
}
