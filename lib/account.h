/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Local accounts, read from /etc/passwd and /etc/group by this module and
 * not through NSS. The agent is linked statically, and a static glibc's
 * getpwnam() still dlopen()s the NSS modules nsswitch.conf names (on
 * Debian 12, libnss_systemd), whose ABI need not match the static libc:
 * one unknown name crashed the agent. Parsing the two files ourselves
 * loads nothing into the agent, and accounts that only exist in LDAP,
 * sssd or NIS are not visible (docs/operating.md).
 *
 * Both parsers read the whole text and refuse it if any line is
 * malformed (other than blank lines, `#' comments and NIS compat lines
 * starting with `+' or `-', which are skipped), so that a damaged file
 * cannot half-match a name: a command is better refused than run as
 * whoever a broken line happened to parse into.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "util.h"

struct rp_account {
	char name[RP_USER_NAME_MAX + 1];
	uint32_t uid, gid;
	char home[RP_ACCOUNT_HOME_MAX + 1]; /* "" when the entry has none */
	/* Every group the account is in: its primary gid first, then each
	 * group of /etc/group that lists it, without duplicates. */
	uint32_t groups[RP_ACCOUNT_GROUPS_MAX];
	size_t ngroups;
};

/*
 * Finds name in the text of a passwd file. Returns 0 with ret filled in
 * (groups: the primary gid only), RP_E_NOTFOUND when no entry has that
 * name, RP_E_MALFORMED (a line, or the entry appearing twice) or
 * RP_E_TOOBIG (its home directory) with a diagnostic naming the line.
 */
int rp_account_parse_passwd(const char *text, size_t len, const char *name, struct rp_account *ret,
			    struct rp_diag *d);

/*
 * Adds to acct the groups of a group file's text that list acct->name.
 * acct is changed only on success; RP_E_MALFORMED for a bad line,
 * RP_E_TOOBIG past RP_ACCOUNT_GROUPS_MAX groups.
 */
int rp_account_parse_group(const char *text, size_t len, struct rp_account *acct,
			   struct rp_diag *d);

/*
 * Both files, read with their size cap (RP_ACCOUNT_FILE_MAX). An unknown
 * name is RP_E_NOTFOUND with the diagnostic "no such user `NAME' on this
 * device", which the agent reports as the command's failure.
 */
int rp_account_lookup(const char *passwd_path, const char *group_path, const char *name,
		      struct rp_account *ret, struct rp_diag *d);

/*
 * Every line of an account file (passwd, shadow, group, gshadow), for a
 * caller that rewrites one (agent/converge.c) and keeps each line it does
 * not own as it is: the same rules as the parsers above, one line at a
 * time. The last line may lack its '\n' (r->nl says).
 */
struct rp_account_field {
	const char *p;
	size_t n;
};
struct rp_account_reader {
	struct rp_cursor c;
	const char *file; /* "passwd", "shadow", ...: for diagnostics */
	size_t lineno;
	const char *line; /* the line last read, without its '\n' */
	size_t llen;
	bool nl; /* a '\n' ended it */
};
/* RP_E_MALFORMED for a text holding a NUL byte. */
int rp_account_reader_init(struct rp_account_reader *r, const char *file, const char *text,
			   size_t len, struct rp_diag *d);
/*
 * The next line: 1 with r->line and *ret_entry, false for a line that is
 * no entry (blank, a `#' comment, NIS compat `+...' or `-...'), true for
 * an entry of exactly nf ':'-separated fields, a name first, split into f,
 * field idf (none when idf >= nf) a uid or gid in *ret_id. 0 at the end;
 * RP_E_MALFORMED with d naming the file, the line's number and the line.
 */
int rp_account_read(struct rp_account_reader *r, struct rp_account_field *f, size_t nf, size_t idf,
		    const char *idname, bool *ret_entry, uint32_t *ret_id, struct rp_diag *d);
/* RP_E_MALFORMED, d "<file> line <n> <why>: `<the line, quoted>'". */
int rp_account_bad_line(const struct rp_account_reader *r, const char *why, struct rp_diag *d);
