#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The log key in its own file (server/logkey.c), with real binaries:
# rampartd, one witness, one agent. The attacker here holds a copy of the
# database (a backup, a replica) but not the data directory's key files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 1
rp_admins 3
rp_org acme 3 2
rp_enroll a1
rp_agent_start a1
KEYFILE=$DATA/log-keys/127.0.0.1%2Frampart%2Facme.key
KEYTEXT=$(cat "$KEYFILE")

# run_cmd NAME: signed by admins 1 and 2 for a1; drops $T/canary.NAME.
run_cmd() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- touch "$T/canary.$1")
	rp_as 2 approve --yes "$id" >/dev/null
	echo "$id"
}
ran() { [ -f "$T/canary.$1" ]; }
# signed_size ORG [DIR]: the size of the newest checkpoint the log key signed (-1: none).
signed_size() {
	local v i
	for i in 1 2 3 4 5; do # a read that SQLite answered with SQLITE_BUSY is asked again
		v=$(sqlite3 -cmd ".timeout 5000" "${2:-$DATA}/rampart.db" \
			"SELECT signed_size FROM logs WHERE org = '$1'" 2>>"$T/sqlite.err") && [ -n "$v" ] \
			&& { echo "$v"; return 0; }
		sleep 0.2
	done
	return 1
}
mode() { stat -c %a "$1"; }

# key_bytes_in FILE...: succeeds when any FILE holds the private key, its
# base64 text or the raw seed, either half of either (a copy may straddle a page).
key_bytes_in() {
	python3 - "$KEYTEXT" "$@" <<'PY'
import base64, os, sys
b64 = sys.argv[1].strip().split("+", 4)[4]  # PRIVATE+KEY+name+id+base64
seed = base64.b64decode(b64)[1:]
parts = [b64[:22].encode(), b64[22:].encode(), seed[:16], seed[16:]]
hits = []
for f in sys.argv[2:]:
    if os.path.exists(f):
        data = open(f, "rb").read()
        hits += [f"{f}: {data.count(p)} x part {i}" for i, p in enumerate(parts) if p in data]
print("\n".join(hits))
sys.exit(0 if hits else 1)
PY
}
db_files() { echo "$1/rampart.db" "$1/rampart.db-wal" "$1/rampart.db-shm"; }

# serve_refused DIR LOG: rampartd serve on DIR must exit at once, not serve.
serve_refused() {
	local rc=0
	timeout 20 "$RAMPARTD" serve --data "$1" --listen "127.0.0.1:$(rp_free_port)" >"$2" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
}

test_key_in_its_own_file() {
	[ "$(mode "$DATA/log-keys")" = 700 ] && [ "$(mode "$KEYFILE")" = 600 ] \
		|| die "log-keys is $(mode "$DATA/log-keys"), the key file $(mode "$KEYFILE"): want 700 and 600"
	[[ "$KEYTEXT" == "PRIVATE+KEY+127.0.0.1/rampart/acme+"* ]] || die "key file holds: ${KEYTEXT:0:40}..."
	[ "$(rp_sql "SELECT vkey || '|' || skey FROM logs WHERE org = 'acme'")" = "$LOGKEY|" ] \
		|| die "the database's row is not the verifier key alone"
	rp_sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	! key_bytes_in $(db_files "$DATA") || die "private key bytes in the database files"
	run_cmd first >/dev/null
	rp_wait_for 30 ran first || die "a command did not run, signed with the key file"
	rp_ok "the log key is in log-keys/ (0600 in 0700), the database holds its verifier key only, commands run"
}

# refused WHAT MESSAGE: with the key file broken, a command waits and the
# server says MESSAGE; fixed, it runs.
refused() {
	local name=$1 msg=$2 before
	before=$(signed_size acme)
	run_cmd "$name" >/dev/null
	rp_wait_for 20 grep -qF "org acme: not signing checkpoints with its log key: $msg" "$T/server.log" \
		|| die "$name: the server did not say: $msg"
	sleep 2
	! ran "$name" || die "$name: ran with a refused key file"
	[ "$(signed_size acme)" = "$before" ] || die "$name: a checkpoint was signed ($before -> $(signed_size acme))"
	rp_health || die "$name: the server stopped serving"
}

test_origin_cannot_escape_log_keys() {
	# The host is the operator's word, but its origin names a file: each one
	# stays a file of its own inside log-keys, whatever it holds.
	"$RAMPARTD" init --data "$T/names" >/dev/null 2>&1 || die "init names"
	local h i=0
	for h in .. ../.. .hidden 'a/b' 'a%2Fb' 'a%252Fb'; do
		i=$((i + 1))
		"$RAMPARTD" log-key --data "$T/names" --org "o$i" --host "$h" >/dev/null 2>"$T/names.err" \
			|| { cat "$T/names.err" >&2; die "log-key --host $h"; }
	done
	[ "$(find "$T/names/log-keys" -mindepth 1 -maxdepth 1 -type f -name '*.key' ! -name '.*' | wc -l)" -eq 6 ] \
		&& [ "$(find "$T" -name '*.key' ! -path "$T/names/log-keys/*" ! -name tls.key -newer "$T/names/rampart.db" | wc -l)" -eq 0 ] \
		&& [ "$(find "$T/names/log-keys" -mindepth 1 | wc -l)" -eq 6 ] \
		|| { find "$T/names" >&2; die "a key file outside log-keys, hidden or in a subdirectory"; }
	rp_ok "attack: host names like .., ../.., a/b, a%2Fb make distinct, visible key files inside log-keys"
}

test_key_file_open_to_others_refused() {
	chmod 640 "$KEYFILE"
	refused mode "$KEYFILE is open to others (mode 640); chmod 600 it"
	# Other orgs are not affected: a new org's log is signed meanwhile.
	BOOT=$("$RAMPARTD" bootstrap-token --data "$DATA" | awk '{print $2}')
	local acme_key=$LOGKEY
	rp_org beta 3 2
	ORG=acme LOGKEY=$acme_key
	rp_wait_for 20 bash -c "[ \"\$(sqlite3 '$DATA/rampart.db' \"SELECT signed_size FROM logs WHERE org = 'beta'\")\" = 1 ]" \
		|| die "org beta got no checkpoint while acme's key file was refused"
	[ "$(mode "$DATA/log-keys/127.0.0.1%2Frampart%2Fbeta.key")" = 600 ] || die "beta's key file"
	chmod 600 "$KEYFILE"
	rp_wait_for 30 ran mode || die "did not run once the mode was fixed"
	grep -q "org acme: its log key file is usable again" "$T/server.log" || die "no word that the key is usable again"
	# Refused once, not once a second.
	[ "$(grep -c 'org acme: not signing checkpoints' "$T/server.log")" -eq 1 ] || die "the refusal was repeated"
	chmod 750 "$DATA/log-keys"
	refused dirmode "$DATA/log-keys is open to others (mode 750); chmod 700 it"
	chmod 700 "$DATA/log-keys"
	rp_wait_for 30 ran dirmode || die "did not run once the directory's mode was fixed"
	rp_ok "attack: key file (or log-keys) open to others: refused with the file and the fix named, nothing signed, other orgs signed, served on"
}

test_key_file_mismatch_refused() {
	# Another key of the same origin, from another data directory.
	"$RAMPARTD" init --data "$T/other" >/dev/null 2>&1 || die "init other"
	"$RAMPARTD" log-key --data "$T/other" --org acme --host 127.0.0.1 >"$T/other.vkey" 2>/dev/null || die "log-key other"
	cp -p "$KEYFILE" "$T/acme.key.saved"
	cp -p "$T/other/log-keys/127.0.0.1%2Frampart%2Facme.key" "$KEYFILE"
	local have want
	have=$(cut -d+ -f2 "$T/other.vkey") want=$(cut -d+ -f2 <<<"$LOGKEY")
	refused swapped "$KEYFILE holds key $have, but the database names key $want of this origin"
	local rc=0
	"$RAMPARTD" log-key --data "$DATA" --org acme >"$T/lk.out" 2>"$T/lk.err" || rc=$?
	[ "$rc" -eq 1 ] && grep -q "org acme cannot sign checkpoints: $KEYFILE holds key $have" "$T/lk.err" \
		&& [ "$(cat "$T/lk.out")" = "$LOGKEY" ] || die "rampartd log-key on a swapped key file: exit $rc"
	rm "$KEYFILE"
	refused missing "$KEYFILE is missing: restore it from the backup of the log keys"
	cp -p "$T/acme.key.saved" "$KEYFILE"
	rp_wait_for 30 ran swapped && rp_wait_for 30 ran missing || die "did not run once the key file was restored"
	rp_ok "attack: key file swapped for another key of the origin, or missing: refused, nothing signed; restored, commands run"
}

test_database_copy_cannot_sign() {
	rp_server_stop
	"$RAMPARTD" init --data "$T/copy" >/dev/null 2>&1 || die "init copy"
	cp "$DATA/rampart.db" "$T/copy/rampart.db"
	! key_bytes_in $(db_files "$T/copy") || die "private key bytes in the database copy"
	local saved_data=$DATA saved_port=$PORT before
	before=$(signed_size acme "$T/copy")
	DATA=$T/copy PORT=$(rp_free_port)
	rp_server_start
	# Anything appended to the copy's log (a row the sequencer finds) wants a checkpoint.
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('00000000000000000000000000c0ffee', 'acme', 'rampart/command/v1
org acme
', x'', 'approved', strftime('%s','now'));"
	rp_wait_for 20 bash -c "[ \$(sqlite3 '$T/copy/rampart.db' \"SELECT size FROM logs WHERE org = 'acme'\") -gt $before ]" \
		|| die "the copy's sequencer did not log the row"
	rp_wait_for 20 grep -qF "org acme: not signing checkpoints with its log key: $T/copy/log-keys/127.0.0.1%2Frampart%2Facme.key is missing" "$T/server.log" \
		|| die "the server on the copy did not say why it signs nothing"
	sleep 2
	[ "$(signed_size acme "$T/copy")" = "$before" ] || die "a rampartd on the database copy signed a checkpoint"
	rp_server_stop
	DATA=$saved_data PORT=$saved_port
	rp_server_start
	rp_ok "attack: database copied alone: no private key bytes in it, and a rampartd on it signs no checkpoint"
}

# to_schema_6 DIR: the database as rampartd before migration 7 left it: the
# signer key in logs.skey, and no migration 7 (nor 8 to 14, which come after it: 10's
# logs table is rebuilt as migration 3 made it). Old copies of the key are
# left where SQLite leaves deleted bytes: a freed page (a dropped table)
# and the free space of the logs row's page (the row grown and shrunk, as
# appends and checkpoints rewrote it), with secure_delete off, as SQLite is
# built upstream (Debian builds it on: there deleted bytes are zeroed in the
# file, but not in the WAL's older frames).
to_schema_6() {
	sqlite3 "$1/rampart.db" "PRAGMA secure_delete = OFF;
		CREATE TABLE logs_v3 (id INTEGER PRIMARY KEY, org TEXT NOT NULL UNIQUE,
		  origin TEXT NOT NULL, skey TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,
		  signed_size INTEGER NOT NULL DEFAULT -1, signed_note TEXT NOT NULL DEFAULT '',
		  served_size INTEGER NOT NULL DEFAULT 0, served_note TEXT NOT NULL DEFAULT '',
		  created INTEGER NOT NULL);
		INSERT INTO logs_v3 SELECT id, org, origin, skey, size, signed_size, signed_note,
		  served_size, served_note, created FROM logs;
		DROP TABLE logs; ALTER TABLE logs_v3 RENAME TO logs; ALTER TABLE commands DROP COLUMN log;
		DROP TABLE scrub_pending;
		DROP TABLE policy_proposals; ALTER TABLE policies DROP COLUMN log_index;
		DROP TABLE device_keys; ALTER TABLE devices DROP COLUMN cur_key; ALTER TABLE devices DROP COLUMN key_seq;
		ALTER TABLE devices DROP COLUMN drift; ALTER TABLE devices DROP COLUMN drift_at;
		ALTER TABLE alerts DROP COLUMN acked_by; ALTER TABLE alerts DROP COLUMN acked_at;
		ALTER TABLE commands DROP COLUMN cancel; ALTER TABLE commands DROP COLUMN cancel_index;
		DROP TABLE packages; DROP TABLE package_chunks;
		DELETE FROM schema_version WHERE version >= 7;
		UPDATE logs SET skey = '$KEYTEXT' WHERE org = 'acme';
		UPDATE logs SET skey = '$(cat "$1/log-keys/127.0.0.1%2Frampart%2Fbeta.key")' WHERE org = 'beta';
		CREATE TABLE old_copy AS SELECT skey || printf('%.*c', 2000, ' ') AS k FROM logs;
		DROP TABLE old_copy;" >/dev/null || die "to schema 6" # the PRAGMA prints its value
	local i
	for i in 1 5 20; do
		sqlite3 "$1/rampart.db" "PRAGMA secure_delete = OFF; UPDATE logs SET signed_note = signed_note || printf('%.*c', $i * 40, 'x') WHERE org = 'acme';
			UPDATE logs SET signed_note = substr(signed_note, 1, length(signed_note) - $i * 40) WHERE org = 'acme';" >/dev/null
	done
}

test_migration_from_key_in_database() {
	rp_server_stop
	local note
	note=$(rp_sql "SELECT signed_note FROM logs WHERE org = 'acme'")
	to_schema_6 "$DATA"
	rm "$KEYFILE"
	key_bytes_in $(db_files "$DATA") >"$T/before.hits" || die "the schema-6 database does not hold the key (test broken)"
	grep -qE ': ([2-9]|[0-9]{2,}) x part' "$T/before.hits" || die "no old copies of the key to scrub (test broken)"
	[ "$(rp_sql "SELECT signed_note FROM logs WHERE org = 'acme'")" = "$note" ] || die "to_schema_6 changed the row"
	rp_server_start
	grep -q "rampartd: moved the log key of org acme to $KEYFILE" "$T/server.log" &&
		grep -q "rampartd: moved the log key of org beta to " "$T/server.log" || die "no word of the move"
	! grep -q "no usable verifier key" "$T/server.log" || die "a log lost its verifier key"
	grep -q "database rewritten (VACUUM, WAL emptied)" "$T/server.log" || die "no word of the scrub"
	[ "$(cat "$KEYFILE")" = "$KEYTEXT" ] && [ "$(mode "$KEYFILE")" = 600 ] || die "key file after the migration"
	[ "$(rp_sql "SELECT vkey || '|' || skey FROM logs WHERE org = 'acme'")" = "$LOGKEY|" ] \
		|| die "the row after the migration"
	[ "$(rp_sql "SELECT count(*) FROM scrub_pending")" = 0 ] || die "scrub still pending"
	key_bytes_in $(db_files "$DATA") && die "private key bytes left in the database files after the migration"
	run_cmd migrated >/dev/null
	rp_wait_for 30 ran migrated || die "a command did not run after the migration"
	rp_ok "migration: key moved from the column to its file (0600), cleared, no byte of it left in the database files; commands run"
}

test_migration_resumes_after_crash() {
	rp_server_stop
	# Stopped after writing the file, before clearing the column: done on the next start.
	to_schema_6 "$DATA"
	rp_server_start
	grep -c "moved the log key of org acme" "$T/server.log" | grep -qx 2 || die "the move was not completed"
	[ "$(cat "$KEYFILE")" = "$KEYTEXT" ] || die "the key file changed"
	key_bytes_in $(db_files "$DATA") && die "key bytes left after the resumed move"
	rp_server_stop
	# Stopped after clearing, before the VACUUM: scrubbed on the next start.
	rp_sql "INSERT INTO scrub_pending (since) VALUES (0)"
	local n
	n=$(grep -c "database rewritten" "$T/server.log")
	rp_server_start
	[ "$(grep -c "database rewritten" "$T/server.log")" = $((n + 1)) ] || die "the pending scrub was not done"
	rp_server_stop
	# A file of another key where the key is to go: refused, nothing overwritten, the key kept.
	to_schema_6 "$DATA"
	cp -p "$T/other/log-keys/127.0.0.1%2Frampart%2Facme.key" "$KEYFILE"
	serve_refused "$DATA" "$T/refused.log" || die "rampartd served with a conflicting key file"
	grep -q "moving the log key of org acme out of the database: $KEYFILE holds key .*; not overwritten" "$T/refused.log" \
		|| { cat "$T/refused.log" >&2; die "the refusal does not name the file and the conflict"; }
	[ "$(rp_sql "SELECT skey FROM logs WHERE org = 'acme'")" = "$KEYTEXT" ] || die "the key left the database"
	printf '%s\n' "$KEYTEXT" >"$KEYFILE"
	rp_server_start
	run_cmd resumed >/dev/null
	rp_wait_for 30 ran resumed || die "a command did not run after the resumed migration"
	rp_ok "migration stopped at any step completes at the next start; a conflicting key file stops it, overwriting nothing"
}

test_key_in_its_own_file
test_origin_cannot_escape_log_keys
test_key_file_open_to_others_refused
test_key_file_mismatch_refused
test_database_copy_cannot_sign
test_migration_from_key_in_database
test_migration_resumes_after_crash
rp_note "all log key tests passed"
