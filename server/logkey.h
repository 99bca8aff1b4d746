/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The log signer keys, each in its own file under the data directory, so
 * that a copy of the database alone (a backup, a replica) cannot sign
 * checkpoints: DIR/log-keys/<origin>.key, mode 0600 in a 0700 directory,
 * one file per origin (an org whose log key is rotated gets a second file
 * beside the first). The database keeps the origin and the verifier key.
 *
 * The origin (`<host>/rampart/<org>', printable ASCII without spaces or
 * '+') is percent-encoded into the file name: letters, digits, '-', '_'
 * and '.' stay (a '.' as the first byte does not), every other byte is
 * %XX, so no name holds a '/', is `.' or `..', or starts with the '.' of
 * rp_write_file_atomic's temporary files; different origins never share a
 * name.
 *
 * Functions return 0 or a negative RP_E_* code and fill d (naming the file
 * and what is wrong) on every failure.
 */

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "note.h"
#include "util.h"

#define LOGKEY_DIR "log-keys"

/* DIR/log-keys/<encoded origin>.key into out; RP_E_TOOBIG if it does not fit a file name. */
int logkey_path(const char *dir, const char *origin, char *out, size_t n, struct rp_diag *d);
/*
 * The signer key for want's origin, from its file: refused (RP_E_UNSAFE)
 * when the file or log-keys is a link, not ours, or open to group or
 * others; RP_E_NOTFOUND when missing; RP_E_KEY when it does not parse, is
 * another origin's, or is not the key of want (the verifier key the
 * database holds). With want NULL, origin alone names the file and only
 * the name is checked.
 */
int logkey_load(const char *dir, const char *origin, const struct rp_vkey *want,
		struct rp_skey *ret, struct rp_diag *d);
/*
 * Writes k to its file, creating log-keys (0700) if needed, durably (the
 * file, log-keys and DIR fsynced) and never over another file: one already
 * there must hold k (a run that stopped after writing it), else RP_E_EXISTS.
 */
int logkey_store(const char *dir, const struct rp_skey *k, struct rp_diag *d);
/*
 * The org's log: its verifier key when it has one; otherwise a new key
 * (origin "<host>/rampart/<org>") written to its file before the database
 * row that names it is committed. A key file already there for that origin
 * with no row (a run that stopped in between) is taken as it is;
 * *ret_made says whether the log is new.
 */
int logkey_create(struct db *db, const char *dir, const char *org, const char *host,
		  struct rp_vkey *ret, bool *ret_made, struct rp_diag *d);
/*
 * The org's next log (log key rotation): its verifier key when one is
 * waiting for its root policy; otherwise a new key of origin
 * "<host>/rampart/<org>/<gen>" (gen: one more than the org's newest; host:
 * the active log's when NULL), its file written before its row, as above.
 */
int logkey_next(struct db *db, const char *dir, const char *org, const char *host,
		struct rp_vkey *ret, bool *ret_made, struct rp_diag *d);
/*
 * At start: every log whose signer key is still in the database gets its
 * file (durably), then the keys are cleared from the rows in one
 * transaction, then the database is scrubbed (db_scrub). Each step is
 * redone by the next start if this one stops; says on stderr what it did.
 */
int logkey_migrate(struct db *db, const char *dir);
