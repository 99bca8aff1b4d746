/* SPDX-License-Identifier: Apache-2.0 */
#include "statement.h"

#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "rp_err.h"

static const char command_header[] = "rampart/command/v1";
#define MAX_WINDOW_S (31 * 24 * 3600)

bool rp_id_valid(const char *s, size_t n)
{
	uint8_t b[RP_ID_HEX / 2];
	return rp_hex_decode(s, n, b, sizeof(b)) == 0;
}

bool rp_user_name_valid(const char *s, size_t n)
{
	/* The portable subset of POSIX user names that useradd accepts. */
	if (n == 0 || n > RP_USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || c == '_' ||
			  (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

enum rp_role_id rp_command_role(const struct rp_command *c)
{
	return c->kind == RP_KIND_DIRECTORY ? RP_ROLE_DIRECTORY : RP_ROLE_EXEC;
}

bool rp_target_valid(const char *s, size_t n)
{
	if (rp_id_valid(s, n) || rp_memeq(s, n, "all"))
		return true;
	if (n > 6 && !memcmp(s, "group:", 6))
		return rp_user_name_valid(s + 6, n - 6);
	if (n > 4 && !memcmp(s, "tag:", 4))
		return rp_user_name_valid(s + 4, n - 4);
	return false;
}

/* A directory statement as the command pipeline sees one (rp_command_parse_text). */
static int directory_command(const char *text, size_t len, struct rp_command **ret,
			     struct rp_diag *d)
{
	struct rp_command *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return RP_E_NOMEM;
	if ((r = rp_dir_stmt_parse_text(text, len, &c->dir, d)) < 0) {
		free(c);
		return r;
	}
	c->kind = RP_KIND_DIRECTORY;
	memcpy(c->org, c->dir->org, sizeof(c->org));
	memcpy(c->id, c->dir->id, sizeof(c->id));
	c->expires = c->dir->expires;
	c->not_before = 0;
	rp_sha256("", 0, c->payload_hash);
	c->all_devices = true;
	memcpy(c->comment, c->dir->comment, sizeof(c->comment));
	*ret = c;
	return 0;
}

void rp_device_id(const uint8_t pub[32], char out[RP_ID_HEX + 1])
{
	uint8_t h[32];

	rp_sha256(pub, 32, h);
	rp_hex_encode(h, RP_ID_HEX / 2, out);
}

void rp_device_vkey(const uint8_t pub[32], const char *id, struct rp_vkey *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (id && strlen(id) == RP_ID_HEX)
		memcpy(ret->name, id, RP_ID_HEX + 1);
	else
		rp_device_id(pub, ret->name);
	ret->type = RP_KEY_ED25519;
	memcpy(ret->pub, pub, 32);
	ret->id = rp_key_id(ret->name, RP_ID_HEX, RP_KEY_ED25519, pub);
}

int rp_device_note_open(const char *msg, size_t len, const uint8_t pub[32], const char *id,
			struct rp_note **ret, char ret_id[RP_ID_HEX + 1], struct rp_diag *d)
{
	struct rp_note *note = NULL;
	struct rp_vkey k;
	bool ok = false;
	int r;

	rp_device_vkey(pub, id, &k);
	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_note_verify(note, &k, 1, &ok, d)) < 0) {
		rp_note_free(note);
		return r;
	}
	memcpy(ret_id, k.name, RP_ID_HEX + 1);
	*ret = note;
	return 0;
}

static int bad(struct rp_diag *d, const char *fieldname, const char *v, size_t vlen,
	       const char *why)
{
	char q[80];

	rp_quote(q, sizeof(q), v, vlen);
	rp_diagf(d, "command: %s `%s' %s", fieldname, q, why);
	return RP_E_MALFORMED;
}

static int target_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No target twice, in O(T log T): sorted, then neighbours compared (a fleet's 1,000 ids). */
static int targets_distinct(const struct rp_command *c, struct rp_diag *d)
{
	const char **v;
	int r = 0;

	if (c->ntargets < 2)
		return 0;
	if (!(v = malloc(c->ntargets * sizeof(*v))))
		return RP_E_NOMEM;
	for (size_t i = 0; i < c->ntargets; i++)
		v[i] = c->targets[i];
	qsort(v, c->ntargets, sizeof(*v), target_cmp);
	for (size_t i = 1; i < c->ntargets && r == 0; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			r = bad(d, "target", v[i], strlen(v[i]), "is listed twice");
	free(v);
	return r;
}

int rp_command_parse_text(const char *text, size_t len, struct rp_command **ret, struct rp_diag *d)
{
	struct rp_cursor cur = {text, len};
	struct rp_command *c;
	const char *line, *v, *w;
	size_t llen, vlen, wlen;
	uint64_t u;
	int r, k;

	if (len > RP_LOG_ENTRY_MAX) {
		rp_diagf(d, "command: %zu bytes, more than %d", len, RP_LOG_ENTRY_MAX);
		return RP_E_TOOBIG;
	}
	if (!rp_note_text_valid(text, len, d))
		return RP_E_MALFORMED;
	if (rp_entry_is_directory((const uint8_t *)text, len))
		return directory_command(text, len, ret, d);
	c = calloc(1, sizeof(*c));
	if (!c)
		return RP_E_NOMEM;
	if (rp_cursor_line(&cur, &line, &llen) != 1 || !rp_memeq(line, llen, command_header)) {
		rp_quote(c->comment, 64, line, llen);
		rp_diagf(d, "command: first line `%s' is not `%s'", c->comment, command_header);
		r = RP_E_MALFORMED;
		goto fail;
	}
#define FIELD(name)                                                                 \
	do {                                                                        \
		if ((r = rp_expect_field(&cur, "command", name, &v, &vlen, d)) < 0) \
			goto fail;                                                  \
	} while (0)
#define BAD(name, why)                          \
	do {                                    \
		r = bad(d, name, v, vlen, why); \
		goto fail;                      \
	} while (0)

	FIELD("org");
	if (!rp_org_name_valid(v, vlen))
		BAD("org", "is not a valid organisation name");
	memcpy(c->org, v, vlen);

	FIELD("id");
	if (!rp_id_valid(v, vlen))
		BAD("id", "is not 32 lowercase hex digits");
	memcpy(c->id, v, vlen);

	FIELD("kind");
	if (rp_memeq(v, vlen, "exec")) {
		c->kind = RP_KIND_EXEC;
	} else if (rp_memeq(v, vlen, "upgrade")) {
		c->kind = RP_KIND_UPGRADE;
	} else {
		r = bad(d, "kind", v, vlen, "is not a known kind (exec, upgrade)");
		r = RP_E_KIND;
		goto fail;
	}

	FIELD("not-before");
	if (rp_time_parse(v, vlen, &c->not_before) != 0)
		BAD("not-before", "is not YYYY-MM-DDTHH:MM:SSZ");
	FIELD("expires");
	if (rp_time_parse(v, vlen, &c->expires) != 0)
		BAD("expires", "is not YYYY-MM-DDTHH:MM:SSZ");
	if (c->expires <= c->not_before)
		BAD("expires", "is not after not-before");
	if (c->expires - c->not_before > MAX_WINDOW_S)
		BAD("expires", "is more than 31 days after not-before");

	FIELD("run-as");
	if (!rp_user_name_valid(v, vlen))
		BAD("run-as", "is not a valid user name");
	memcpy(c->run_as, v, vlen);
	if (c->kind == RP_KIND_UPGRADE && strcmp(c->run_as, "root") != 0)
		BAD("run-as", "is not root, which an upgrade runs as");

	FIELD("timeout");
	if (rp_parse_u64(v, vlen, RP_TIMEOUT_MAX_S, &u) != 0 || u == 0)
		BAD("timeout", "is not a number of seconds from 1 to 86400");
	c->timeout = (uint32_t)u;

	FIELD("payload");
	if (!rp_split_word(v, vlen, &w, &wlen, &line, &llen) || wlen != 7 + 64 ||
	    memcmp(w, "sha256:", 7) != 0 || rp_hex_decode(w + 7, 64, c->payload_hash, 32) != 0)
		BAD("payload", "is not `sha256:<64 hex> <size>'");
	if (rp_parse_u64(line, llen, RP_PAYLOAD_MAX, &c->payload_size) != 0)
		BAD("payload", "size is not a number up to 1048576");
	if (c->kind == RP_KIND_UPGRADE &&
	    (c->payload_size == 0 || c->payload_size > RP_RELEASE_TEXT_MAX))
		BAD("payload", "of an upgrade is not a release statement (1 to 1024 bytes)");

	c->targets = calloc(RP_STATEMENT_TARGETS_MAX, sizeof(*c->targets));
	if (!c->targets) {
		r = RP_E_NOMEM;
		goto fail;
	}
	while ((k = rp_cursor_line(&cur, &line, &llen)) == 1) {
		if (!rp_split_word(line, llen, &w, &wlen, &v, &vlen)) {
			v = line;
			vlen = llen;
			BAD("line", "is not `field value'");
		}
		if (rp_memeq(w, wlen, "target")) {
			if (c->comment[0] || c->ntargets == RP_STATEMENT_TARGETS_MAX) {
				if (c->comment[0])
					BAD("target", "follows the comment");
				rp_diagf(d, "command: more than %d targets; use a device group",
					 RP_STATEMENT_TARGETS_MAX);
				r = RP_E_TOOBIG;
				goto fail;
			}
			if (!rp_target_valid(v, vlen))
				BAD("target", "is not a device id (32 lowercase hex digits), "
					      "`all', `group:NAME' or `tag:NAME'");
			if (rp_memeq(v, vlen, "all") && c->ntargets)
				BAD("target", "`all' is the only target when it is one");
			if (c->all_devices)
				BAD("target", "follows `target all'");
			memcpy(c->targets[c->ntargets++], v, vlen);
			c->all_devices = rp_memeq(v, vlen, "all");
			c->by_directory =
				c->by_directory || (!c->all_devices && !rp_id_valid(v, vlen));
		} else if (rp_memeq(w, wlen, "comment")) {
			if (c->comment[0])
				BAD("comment", "is a second comment");
			if (vlen == 0 || vlen > RP_STATEMENT_COMMENT_MAX)
				BAD("comment", "is empty or longer than 512 bytes");
			memcpy(c->comment, v, vlen);
		} else {
			BAD("field", "is unknown");
		}
	}
	if (c->ntargets == 0) {
		rp_diagf(d, "command: missing field `target'");
		r = RP_E_MALFORMED;
		goto fail;
	}
	if ((r = targets_distinct(c, d)) < 0)
		goto fail;
#undef FIELD
#undef BAD
	*ret = c;
	return 0;
fail:
	rp_command_free(c);
	return r;
}

int rp_command_parse(const char *msg, size_t len, struct rp_command **ret, struct rp_diag *d)
{
	struct rp_note *note;
	struct rp_command *c;
	int r;

	if ((r = rp_note_parse(msg, len, &note, d)) < 0)
		return r;
	if ((r = rp_command_parse_text(note->msg, note->text_len, &c, d)) < 0) {
		rp_note_free(note);
		return r;
	}
	c->note = note;
	*ret = c;
	return 0;
}

void rp_command_free(struct rp_command *c)
{
	if (!c)
		return;
	rp_note_free(c->note);
	rp_dir_stmt_free(c->dir);
	free(c->targets);
	free(c);
}

char *rp_command_format(const struct rp_command *c, size_t *ret_len)
{
	struct rp_sb sb;
	char nb[21], ex[21], h[65];

	if (c->kind == RP_KIND_DIRECTORY)
		return rp_dir_stmt_format(c->dir, ret_len);
	rp_time_format(c->not_before, nb);
	rp_time_format(c->expires, ex);
	rp_hex_encode(c->payload_hash, 32, h);
	rp_sb_init(&sb, RP_LOG_ENTRY_MAX);
	rp_sb_printf(&sb,
		     "%s\norg %s\nid %s\nkind %s\nnot-before %s\nexpires %s\n"
		     "run-as %s\ntimeout %u\npayload sha256:%s %llu\n",
		     command_header, c->org, c->id, c->kind == RP_KIND_UPGRADE ? "upgrade" : "exec",
		     nb, ex, c->run_as, c->timeout, h, (unsigned long long)c->payload_size);
	for (size_t i = 0; i < c->ntargets; i++)
		rp_sb_printf(&sb, "target %s\n", c->targets[i]);
	if (c->comment[0])
		rp_sb_printf(&sb, "comment %s\n", c->comment);
	return rp_sb_take(&sb, ret_len);
}

bool rp_command_targets(const struct rp_command *c, const char *device_id)
{
	if (c->all_devices)
		return true;
	for (size_t i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i], device_id) == 0)
			return true;
	return false;
}
