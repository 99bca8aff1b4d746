/* SPDX-License-Identifier: Apache-2.0 */
#include "account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_err.h"

/* uid_t and gid_t are 32 bits; (uint32_t)-1 means "no change" to setuid(). */
#define ID_MAX 4294967294u

/*
 * Lines of a passwd or group file. The last line may lack its '\n'
 * (editors leave files that way and glibc reads them). Returns 1 and the
 * line, 0 at the end.
 */
static int next_line(struct rp_cursor *c, const char **ret, size_t *ret_len, bool *ret_nl)
{
	const char *nl;
	size_t n;

	if (c->n == 0)
		return 0;
	nl = memchr(c->p, '\n', c->n);
	n = nl ? (size_t)(nl - c->p) : c->n;
	*ret = c->p;
	*ret_len = n;
	*ret_nl = nl != NULL;
	c->p += nl ? n + 1 : n;
	c->n -= nl ? n + 1 : n;
	return 1;
}

/* Exactly nf fields separated by ':'. */
static bool split_fields(const char *line, size_t len, struct rp_account_field *f, size_t nf)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ':')
			continue;
		if (k == nf)
			return false;
		f[k].p = line + start;
		f[k].n = i - start;
		k++;
		start = i + 1;
	}
	return k == nf;
}

static bool skipped(const char *line, size_t len)
{
	/* Blank, a comment, or NIS compat (`+name', `-name', `+'): not ours. */
	return len == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-';
}

static bool parse_id(const struct rp_account_field *f, uint32_t *ret)
{
	uint64_t v;

	if (rp_parse_u64(f->p, f->n, ID_MAX, &v) != 0)
		return false;
	*ret = (uint32_t)v;
	return true;
}

int rp_account_bad_line(const struct rp_account_reader *r, const char *why, struct rp_diag *d)
{
	char q[72];

	rp_quote(q, sizeof(q), r->line, r->llen);
	rp_diagf(d, "%s line %zu %s: `%s'", r->file, r->lineno, why, q);
	return RP_E_MALFORMED;
}

int rp_account_reader_init(struct rp_account_reader *r, const char *file, const char *text,
			   size_t len, struct rp_diag *d)
{
	*r = (struct rp_account_reader){.c = {text, len}, .file = file};
	if (memchr(text, '\0', len)) {
		rp_diagf(d, "%s holds a NUL byte", file);
		return RP_E_MALFORMED;
	}
	return 0;
}

int rp_account_read(struct rp_account_reader *r, struct rp_account_field *f, size_t nf, size_t idf,
		    const char *idname, bool *ret_entry, uint32_t *ret_id, struct rp_diag *d)
{
	char why[48];

	if (next_line(&r->c, &r->line, &r->llen, &r->nl) != 1)
		return 0;
	r->lineno++;
	if (skipped(r->line, r->llen)) {
		*ret_entry = false;
		return 1;
	}
	if (!split_fields(r->line, r->llen, f, nf) || f[0].n == 0) {
		snprintf(why, sizeof(why), "is not %zu fields with a name", nf);
		return rp_account_bad_line(r, why, d);
	}
	if (idf < nf && !parse_id(&f[idf], ret_id)) {
		snprintf(why, sizeof(why), "has a bad %s", idname);
		return rp_account_bad_line(r, why, d);
	}
	*ret_entry = true;
	return 1;
}

/* The next entry, skipping the lines that are not: 1, 0 at the end, or RP_E_MALFORMED. */
static int next_entry(struct rp_account_reader *r, struct rp_account_field *f, size_t nf,
		      size_t idf, const char *idname, uint32_t *ret_id, struct rp_diag *d)
{
	bool entry = false;
	int k;

	while ((k = rp_account_read(r, f, nf, idf, idname, &entry, ret_id, d)) == 1)
		if (entry)
			return 1;
	return k;
}

int rp_account_parse_passwd(const char *text, size_t len, const char *name, struct rp_account *ret,
			    struct rp_diag *d)
{
	struct rp_account_reader rd;
	struct rp_account a = {{0}};
	struct rp_account_field f[7]; /* name:password:uid:gid:gecos:home:shell */
	size_t nlen = strlen(name), found = 0;
	uint32_t uid, gid;
	int k;

	if ((k = rp_account_reader_init(&rd, "passwd", text, len, d)) < 0)
		return k;
	while ((k = next_entry(&rd, f, 7, 2, "uid or gid", &uid, d)) == 1) {
		if (!parse_id(&f[3], &gid))
			return rp_account_bad_line(&rd, "has a bad uid or gid", d);
		if (!rp_memeq(f[0].p, f[0].n, name))
			continue;
		if (found) {
			rp_diagf(d, "passwd names user `%.40s' twice (lines %zu and %zu)", name,
				 found, rd.lineno);
			return RP_E_MALFORMED;
		}
		found = rd.lineno;
		if (nlen > RP_USER_NAME_MAX) {
			rp_diagf(d, "user name `%.40s...' is longer than %d bytes", name,
				 RP_USER_NAME_MAX);
			return RP_E_TOOBIG;
		}
		if (f[5].n > RP_ACCOUNT_HOME_MAX) {
			rp_diagf(d, "passwd line %zu: home directory longer than %d bytes",
				 rd.lineno, RP_ACCOUNT_HOME_MAX);
			return RP_E_TOOBIG;
		}
		/* The home becomes the working directory and $HOME: absolute, printable. */
		for (size_t i = 0; i < f[5].n; i++)
			if ((unsigned char)f[5].p[i] < 0x20 || f[5].p[i] == 0x7f)
				return rp_account_bad_line(&rd, "has a control byte in its home",
							   d);
		if (f[5].n > 0 && f[5].p[0] != '/')
			return rp_account_bad_line(&rd, "has a relative home directory", d);
		memcpy(a.name, name, nlen);
		a.uid = uid;
		a.gid = gid;
		memcpy(a.home, f[5].p, f[5].n);
		a.groups[0] = gid;
		a.ngroups = 1;
	}
	if (k < 0)
		return k;
	if (!found) {
		char q[48];
		rp_quote(q, sizeof(q), name, nlen);
		rp_diagf(d, "no such user `%s' on this device", q);
		return RP_E_NOTFOUND;
	}
	*ret = a;
	return 0;
}

/* Is name one of the comma-separated members? Empty members are malformed. */
static int has_member(const struct rp_account_field *m, const char *name, size_t nlen)
{
	size_t start = 0;
	bool hit = false;

	if (m->n == 0)
		return 0;
	for (size_t i = 0; i <= m->n; i++) {
		if (i < m->n && m->p[i] != ',')
			continue;
		if (i == start)
			return -1;
		if (i - start == nlen && memcmp(m->p + start, name, nlen) == 0)
			hit = true;
		start = i + 1;
	}
	return hit;
}

int rp_account_parse_group(const char *text, size_t len, struct rp_account *acct, struct rp_diag *d)
{
	struct rp_account_reader rd;
	struct rp_account_field f[4]; /* name:password:gid:member,member,... */
	uint32_t groups[RP_ACCOUNT_GROUPS_MAX], gid;
	size_t n = acct->ngroups, nlen = strlen(acct->name);
	int k, m;

	if (n > RP_ACCOUNT_GROUPS_MAX)
		return RP_E_INVAL;
	if ((k = rp_account_reader_init(&rd, "group", text, len, d)) < 0)
		return k;
	memcpy(groups, acct->groups, n * sizeof(groups[0]));
	while ((k = next_entry(&rd, f, 4, 2, "gid", &gid, d)) == 1) {
		bool dup = false;

		if ((m = has_member(&f[3], acct->name, nlen)) < 0)
			return rp_account_bad_line(&rd, "has an empty member name", d);
		if (!m)
			continue;
		for (size_t i = 0; i < n; i++)
			dup = dup || groups[i] == gid;
		if (dup)
			continue;
		if (n == RP_ACCOUNT_GROUPS_MAX) {
			rp_diagf(d, "user `%.40s' is in more than %d groups", acct->name,
				 RP_ACCOUNT_GROUPS_MAX);
			return RP_E_TOOBIG;
		}
		groups[n++] = gid;
	}
	if (k < 0)
		return k;
	memcpy(acct->groups, groups, n * sizeof(groups[0]));
	acct->ngroups = n;
	return 0;
}

int rp_account_lookup(const char *passwd_path, const char *group_path, const char *name,
		      struct rp_account *ret, struct rp_diag *d)
{
	struct rp_account a;
	struct rp_diag pd = {""};
	char *buf = NULL;
	size_t len;
	int r;

	if ((r = rp_read_file(passwd_path, RP_ACCOUNT_FILE_MAX, &buf, &len)) < 0) {
		rp_diagf(d, "reading %s: %s", passwd_path, rp_strerror(r));
		goto out;
	}
	if ((r = rp_account_parse_passwd(buf, len, name, &a, &pd)) < 0) {
		if (r == RP_E_NOTFOUND)
			rp_diagf(d, "%s", pd.msg);
		else
			rp_diagf(d, "%s: %s", passwd_path, pd.msg);
		goto out;
	}
	free(buf);
	buf = NULL;
	if ((r = rp_read_file(group_path, RP_ACCOUNT_FILE_MAX, &buf, &len)) < 0) {
		rp_diagf(d, "reading %s: %s", group_path, rp_strerror(r));
		goto out;
	}
	if ((r = rp_account_parse_group(buf, len, &a, &pd)) < 0) {
		rp_diagf(d, "%s: %s", group_path, pd.msg);
		goto out;
	}
	*ret = a;
out:
	free(buf);
	return r;
}
