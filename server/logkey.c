/* SPDX-License-Identifier: Apache-2.0 */
/* The log signer keys' files (logkey.h); the rows that name them are db-log.c's. */
#include "logkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_err.h"

static bool plain_byte(unsigned char c, size_t i)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || (c == '.' && i > 0);
}

int logkey_path(const char *dir, const char *origin, char *out, size_t n, struct rp_diag *d)
{
	char name[NAME_MAX + 1];
	int len = rp_percent_encode(origin, plain_byte, name, sizeof(name) - strlen(".key"));
	int k;

	if (len < 0)
		goto too_long;
	memcpy(name + len, ".key", sizeof(".key"));
	k = snprintf(out, n, "%s/%s/%s", dir, LOGKEY_DIR, name);
	if (k < 0 || (size_t)k >= n) {
		rp_diagf(d, "the key file's path under %s is too long", dir);
		return RP_E_TOOBIG;
	}
	return 0;
too_long:
	rp_diagf(d, "origin %.*s... makes a key file name longer than %d bytes", 40, origin,
		 NAME_MAX);
	return RP_E_TOOBIG;
}

/* log-keys must be a directory of ours that nobody else can enter (the same rule as the files). */
static int dir_check(const char *dir, struct rp_diag *d)
{
	char p[PATH_MAX];
	struct stat st;
	int k = snprintf(p, sizeof(p), "%s/%s", dir, LOGKEY_DIR);

	if (k < 0 || (size_t)k >= sizeof(p)) {
		rp_diagf(d, "%s/%s: path too long", dir, LOGKEY_DIR);
		return RP_E_TOOBIG;
	}
	if (lstat(p, &st) != 0) {
		rp_diagf(d, "%s: %s", p, strerror(errno));
		return errno == ENOENT ? RP_E_NOTFOUND : RP_E_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		rp_diagf(d, "%s is not a directory%s", p,
			 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return RP_E_UNSAFE;
	}
	if (st.st_uid != geteuid()) {
		rp_diagf(d, "%s belongs to uid %u, not to this process (uid %u)", p,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return RP_E_UNSAFE;
	}
	if (st.st_mode & 077) {
		rp_diagf(d, "%s is open to others (mode %03o); chmod 700 it", p,
			 (unsigned)(st.st_mode & 0777));
		return RP_E_UNSAFE;
	}
	return 0;
}

int logkey_load(const char *dir, const char *origin, const struct rp_vkey *want,
		struct rp_skey *ret, struct rp_diag *d)
{
	char path[PATH_MAX], *s = NULL;
	struct rp_skey k;
	struct rp_vkey v;
	size_t n = 0;
	int r;

	if (want)
		origin = want->name;
	if ((r = logkey_path(dir, origin, path, sizeof(path), d)) < 0)
		return r;
	if ((r = dir_check(dir, d)) < 0 && r != RP_E_NOTFOUND)
		return r;
	if (r == 0)
		r = rp_read_file_flags(path, RP_KEYTEXT_MAX, RP_FILE_PRIVATE, &s, &n, d);
	if (r == RP_E_NOTFOUND) {
		rp_diagf(d, "%s is missing: restore it from the backup of the log keys", path);
		return r;
	}
	if (r < 0)
		return r; /* d names the file and why */
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	r = rp_skey_parse(s, n, &k, d);
	sodium_memzero(s, n);
	free(s);
	if (r < 0) {
		struct rp_diag why = *d;
		rp_diagf(d, "%s: %s", path, why.msg[0] ? why.msg : rp_strerror(r));
		return RP_E_KEY;
	}
	rp_skey_vkey(&k, &v);
	if (strcmp(k.name, origin) != 0) {
		rp_diagf(d, "%s holds the key of %s, not of %s", path, k.name, origin);
		r = RP_E_KEY;
	} else if (want && (v.id != want->id || memcmp(v.pub, want->pub, sizeof(v.pub)) != 0)) {
		/* key ids, not whole keys: the message must fit a diagnostic with the path */
		rp_diagf(d, "%s holds key %08x, but the database names key %08x of this origin",
			 path, v.id, want->id);
		r = RP_E_KEY;
	}
	if (r == 0)
		*ret = k;
	rp_skey_wipe(&k);
	return r;
}

/* fsync of a directory, so that an entry made in it survives a crash. */
static int dir_sync(const char *path, struct rp_diag *d)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0 || fsync(fd) != 0) {
		rp_diagf(d, "syncing %s: %s", path, strerror(errno));
		r = RP_E_IO;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int logkey_store(const char *dir, const struct rp_skey *k, struct rp_diag *d)
{
	char path[PATH_MAX], kdir[PATH_MAX], *text = NULL, *line = NULL;
	struct rp_skey have;
	struct rp_vkey v;
	int r;

	if ((r = logkey_path(dir, k->name, path, sizeof(path), d)) < 0)
		return r;
	snprintf(kdir, sizeof(kdir), "%s/%s", dir, LOGKEY_DIR); /* a prefix of path: it fits */
	if (mkdir(kdir, 0700) == 0) {
		if ((r = dir_sync(dir, d)) < 0)
			return r;
	} else if (errno != EEXIST) {
		rp_diagf(d, "creating %s: %s", kdir, strerror(errno));
		return RP_E_IO;
	}
	if ((r = dir_check(dir, d)) < 0)
		return r;
	if (!(text = rp_skey_format(k)) || asprintf(&line, "%s\n", text) < 0) {
		line = NULL;
		r = RP_E_NOMEM;
		rp_diagf(d, "writing %s: out of memory", path);
		goto out;
	}
	/* Whole or not at all, never over a file; fsynced, and log-keys too. */
	r = rp_write_file_new(path, line, strlen(line), 0600);
	if (r == RP_E_EXISTS) {
		rp_skey_vkey(k, &v);
		r = logkey_load(dir, NULL, &v, &have, d);
		rp_skey_wipe(&have);
		if (r < 0) {
			struct rp_diag why = *d;
			rp_diagf(d, "%s; not overwritten: move it away if unneeded", why.msg);
			r = RP_E_EXISTS;
		}
	} else if (r < 0) {
		rp_diagf(d, "writing %s: %s", path, strerror(errno));
	}
out:
	if (text)
		sodium_memzero(text, strlen(text));
	if (line)
		sodium_memzero(line, strlen(line));
	free(text);
	free(line);
	return r;
}

/* The signer key of origin: the one already in its file (a run that stopped before its row), or a
 * new one. */
static int origin_key(const char *dir, const char *origin, struct rp_vkey *ret, struct rp_diag *d)
{
	char path[PATH_MAX];
	struct rp_skey k;
	int r;

	if ((r = logkey_path(dir, origin, path, sizeof(path), d)) < 0)
		return r;
	r = logkey_load(dir, origin, NULL, &k, d);
	if (r == 0) {
		fprintf(stderr, "rampartd: taking the log key already in %s\n", path);
	} else if (r == RP_E_NOTFOUND) {
		if ((r = rp_skey_generate(origin, &k)) < 0) {
			rp_diagf(d, "making a log key: %s", rp_strerror(r));
			return r;
		}
		r = logkey_store(dir, &k, d);
	}
	if (r < 0) {
		rp_skey_wipe(&k);
		return r;
	}
	rp_skey_vkey(&k, ret);
	rp_skey_wipe(&k);
	return 0;
}

/* "<host>/rampart/<org>" plus "/<gen>" after the first generation, checked to be a key name. */
static int make_origin(char out[RP_ORIGIN_MAX + 1], const char *host, const char *org, int64_t gen,
		       struct rp_diag *d)
{
	int n = gen > 1 ? snprintf(out, RP_ORIGIN_MAX + 1, "%s/rampart/%s/%lld", host, org,
				   (long long)gen)
			: snprintf(out, RP_ORIGIN_MAX + 1, "%s/rampart/%s", host, org);

	if (n < 0 || n > RP_ORIGIN_MAX || !rp_key_name_valid(out, (size_t)n)) {
		rp_diagf(d, "the host name makes no valid key name (%s/rampart/%s)", host, org);
		return RP_E_INVAL;
	}
	return 0;
}

int logkey_create(struct db *db, const char *dir, const char *org, const char *host,
		  struct rp_vkey *ret, bool *ret_made, struct rp_diag *d)
{
	char origin[RP_ORIGIN_MAX + 1];
	struct rp_vkey v;
	int r;

	if ((r = db_log_vkey(db, org, &v)) != RP_E_NOTFOUND) {
		if (r < 0)
			rp_diagf(d, "reading the log key of %s: %s", org, rp_strerror(r));
		if (r == 0) {
			*ret = v;
			*ret_made = false;
		}
		return r;
	}
	if ((r = make_origin(origin, host, org, 1, d)) < 0 ||
	    (r = origin_key(dir, origin, &v, d)) < 0)
		return r;
	if ((r = db_log_create(db, org, &v)) < 0) {
		rp_diagf(d, "storing the log of %s: %s", org, rp_strerror(r));
		return r;
	}
	*ret = v;
	*ret_made = true;
	return 0;
}

int logkey_next(struct db *db, const char *dir, const char *org, const char *host,
		struct rp_vkey *ret, bool *ret_made, struct rp_diag *d)
{
	char origin[RP_ORIGIN_MAX + 1], from[RP_ORIGIN_MAX + 1], tail[RP_ORG_NAME_MAX + 16];
	struct db_log active, next;
	struct rp_vkey v;
	int r;

	if ((r = db_log_get_next(db, org, &next)) == 0) {
		if ((r = db_log_vkey_by_id(db, next.id, &v)) < 0) {
			rp_diagf(d, "reading the next log key of %s: %s", org, rp_strerror(r));
			return r;
		}
		*ret = v;
		*ret_made = false;
		return 0;
	}
	/* the active log is the newest: retired ones are older, and there is no next */
	if (r != RP_E_NOTFOUND || (r = db_log_get(db, org, &active)) < 0) {
		if (r == RP_E_NOTFOUND)
			rp_diagf(d, "org %s has no log yet: `rampartd log-key' makes its first",
				 org);
		else
			rp_diagf(d, "reading the logs of %s: %s", org, rp_strerror(r));
		return r;
	}
	snprintf(from, sizeof(from), "%s", active.origin);
	if (!host) { /* the host of the active log's origin */
		char *at;
		snprintf(tail, sizeof(tail), "/rampart/%s", org);
		if (!(at = strstr(from, tail))) {
			rp_diagf(d,
				 "the active log's origin %s has no host part to keep: give --host",
				 from);
			return RP_E_INVAL;
		}
		*at = '\0';
		host = from;
	}
	if ((r = make_origin(origin, host, org, active.gen + 1, d)) < 0 ||
	    (r = origin_key(dir, origin, &v, d)) < 0)
		return r;
	if ((r = db_log_create_next(db, org, active.gen + 1, &v)) < 0) {
		rp_diagf(d, "storing the next log of %s: %s", org, rp_strerror(r));
		return r;
	}
	*ret = v;
	*ret_made = true;
	return 0;
}

int logkey_migrate(struct db *db, const char *dir)
{
	struct db_log_skey *v = NULL;
	struct rp_vkey *vkeys = NULL;
	struct rp_diag d = {""};
	char path[PATH_MAX];
	bool scrubbed = false;
	size_t n = 0;
	int r;

	if ((r = db_log_skeys(db, &v, &n)) < 0)
		return r;
	if (n && !(vkeys = calloc(n, sizeof(*vkeys)))) {
		r = RP_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct rp_skey k;
		if ((r = rp_skey_parse(v[i].skey, strlen(v[i].skey), &k, &d)) < 0 ||
		    strcmp(k.name, v[i].origin) != 0) {
			fprintf(stderr,
				"rampartd: the log key of org %s in the database is not a signer "
				"key of its origin %s%s%s; nothing moved\n",
				v[i].org, v[i].origin, r < 0 ? ": " : "", r < 0 ? d.msg : "");
			rp_skey_wipe(&k);
			r = RP_E_DB;
			goto out;
		}
		r = logkey_store(dir, &k, &d);
		rp_skey_vkey(&k, &vkeys[i]);
		rp_skey_wipe(&k);
		if (r < 0) {
			fprintf(stderr,
				"rampartd: moving the log key of org %s out of the database: %s; "
				"the key stays in the database until this succeeds\n",
				v[i].org, d.msg);
			goto out;
		}
	}
	if (n && (r = db_log_skeys_forget(db, v, vkeys, n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (logkey_path(dir, v[i].origin, path, sizeof(path), NULL) == 0)
			fprintf(stderr, "rampartd: moved the log key of org %s to %s\n", v[i].org,
				path);
	if ((r = db_scrub(db, &scrubbed)) < 0)
		goto out;
	if (scrubbed)
		fprintf(stderr, "rampartd: database rewritten (VACUUM, WAL emptied): no copy of a "
				"deleted log key is left in it\n");
out:
	db_log_skeys_free(v, n);
	free(vkeys);
	return r;
}
