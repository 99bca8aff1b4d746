#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The transparency log with real binaries: rampartd, two witnesses (quorum
# 2), two agents and `rampart audit`. Each attack is a named test; the
# attacker is inside the server (database, log key) but not the witnesses.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
export FRESHNESS=20 # seconds: short, so the freeze test is quick
rp_witness_tls 2    # witness 2 behind an HTTPS reverse proxy, as docs/witness.md advises
rp_server_init
rp_witnesses 2
rp_admins 3
rp_org acme 3 2
for a in a1 a2; do rp_enroll $a; done
for a in a1 a2; do rp_agent_start $a; done
BOTH="$DEV_a1 $DEV_a2"
LOGURL="https://127.0.0.1:$PORT/v1/log/acme"

# run_cmd NAME: signed by admins 1 and 2 for both agents; drops $T/canary.NAME.
run_cmd() {
	local id args=()
	for d in $BOTH; do args+=(--to "$d"); done
	id=$(rp_submit 1 "${args[@]}" --run-as "$ME" -- touch "$T/canary.$1")
	rp_as 2 approve --yes "$id" >/dev/null
	echo "$id"
}

ran() { [ -f "$T/canary.$1" ]; }
log_size() { awk '$1 == "size" {print $2}' "$T/$1/log.state"; }
alerted() { grep -q " $2 " "$T/$1/alerts.log" 2>/dev/null; }

test_checkpoint_cosigned_and_tiles() {
	local id
	id=$(run_cmd first)
	rp_wait_for 30 ran first || die "first command did not run"
	curl -sk --tlsv1.3 -D "$T/cp.h" "$LOGURL/checkpoint" >"$T/cp.note"
	head -1 "$T/cp.note" | grep -qx '127.0.0.1/rampart/acme' || die "checkpoint origin: $(head -1 "$T/cp.note")"
	[ "$(grep -c '^— ' "$T/cp.note")" -eq 3 ] || die "checkpoint lacks log + 2 witness signatures"
	grep -q '^— witness1.test ' "$T/cp.note" && grep -q '^— witness2.test ' "$T/cp.note" \
		|| die "checkpoint not cosigned by both witnesses (w2 over https)"
	grep -qi '^cache-control: public, max-age=5' "$T/cp.h" || die "checkpoint cache header"
	local size
	size=$(sed -n 2p "$T/cp.note")
	curl -sk --tlsv1.3 -D "$T/tile.h" "$LOGURL/tile/0/000.p/$size" >"$T/tile"
	[ "$(stat -c %s "$T/tile")" -eq $((32 * size)) ] || die "hash tile is not $size hashes"
	# the active log's path names another log after a log key rotation: cached briefly;
	# a numbered log's tiles never change
	grep -qi 'cache-control: public, max-age=5' "$T/tile.h" || die "tile cache header of the active log's path"
	curl -sk --tlsv1.3 -D "$T/tile1.h" "$LOGURL/1/tile/0/000.p/$size" >"$T/tile1"
	cmp -s "$T/tile" "$T/tile1" || die "log 1's tile differs from the active log's"
	grep -qi 'cache-control: public, max-age=31536000, immutable' "$T/tile1.h" || die "tile cache header of /1/"
	curl -sk --tlsv1.3 "$LOGURL/tile/entries/000.p/$size" >"$T/bundle"
	# Read as any tlog-tiles client would: entries, their leaf hashes in the
	# level-0 tile, and the root in the checkpoint.
	python3 - "$T/bundle" "$size" "$T/tile" "$T/cp.note" <<'PY' || die "tiles do not match the checkpoint"
import base64, hashlib, sys
b = open(sys.argv[1], "rb").read(); n = int(sys.argv[2]); off = 0; entries = []
for _ in range(n):
    l = int.from_bytes(b[off:off + 2], "big"); entries.append(b[off + 2:off + 2 + l]); off += 2 + l
assert off == len(b), "trailing bytes"
assert entries[0].startswith(b"rampart/policy/v1\n"), "entry 0 is not the root policy"
assert entries[-1].startswith(b"rampart/command/v1\n"), "last entry is not a command"
leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
tile = open(sys.argv[3], "rb").read()
assert [tile[i:i + 32] for i in range(0, len(tile), 32)] == leaves, "hash tile != leaf hashes"
def mth(h):
    if len(h) == 1: return h[0]
    k = 1
    while k * 2 < len(h): k *= 2
    return hashlib.sha256(b"\x01" + mth(h[:k]) + mth(h[k:])).digest()
root = base64.b64decode(open(sys.argv[4]).read().split("\n")[2])
assert mth(leaves) == root, "entries do not hash to the checkpoint's root"
PY
	[ "$(curl -sk -o /dev/null -w '%{http_code}' "$LOGURL/tile/0/000.p/$((size + 1))")" = 404 ] \
		|| die "a tile beyond the witnessed tree was served"
	[ "$(curl -sk -o /dev/null -w '%{http_code}' "$LOGURL/tile/0/0")" = 404 ] \
		|| die "a malformed tile path was served"
	[ "$(log_size a1)" = "$size" ] || die "a1 did not store checkpoint $size"
	# What a device saw, checked against the log (hash tiles) by a monitor.
	rp_as 1 audit --quiet --checkpoint "$T/a1/checkpoint.note" >"$T/audit-cp.out" 2>&1 \
		|| { cat "$T/audit-cp.out" >&2; die "audit --checkpoint of a consistent checkpoint"; }
	rp_ok "checkpoint cosigned by the witness quorum; tiles readable, cacheable, bounded"
}

test_witness_down_delays() {
	rp_witness_stop 2
	local id
	id=$(run_cmd delayed)
	sleep 4
	! ran delayed || die "ran without the second witness's cosignature"
	[ "$(rp_status "$id" "$DEV_a1")" = pending ] || die "delayed: not pending"
	rp_witness_start 2
	rp_wait_for 30 ran delayed || die "did not run once the witness was back"
	rp_ok "a witness that is down delays, and nothing runs until the quorum cosigns"
}

# Its HTTPS proxy gone, witness 2 cannot even be connected to: each retry of
# rampartd's fails to connect. libevent 2.1 never frees such a connection on
# its own (free_on_completion), which leaked one per retry; under ASan the
# report at rampartd's exit (lib.sh rp_cleanup) is this step's failure.
test_witness_unreachable_over_https() {
	local url port id
	url=$(printf '%s\n' "${WITNESS_ARGS[@]}" | grep -o 'https://127.0.0.1:[0-9]*' | head -1)
	port=${url##*:}
	pkill -f "tls-proxy.py $port " || die "no TLS proxy of witness 2 (test broken)"
	id=$(run_cmd unreachable)
	rp_wait_for 20 bash -c "[ \$(grep -c 'witness w2 .* unreachable' '$T/server.log') -ge 3 ]" ||
		die "rampartd did not retry the unreachable witness"
	! ran unreachable || die "ran without the second witness's cosignature"
	python3 "$(dirname "$0")/tls-proxy.py" "$port" "$T/wtls.crt" "$T/wtls.key" "$WPORT_2" \
		>>"$T/w2.proxy.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 30 ran unreachable || die "did not run once the witness was reachable again"
	rp_ok "a witness over https that cannot be connected to delays; its retries cost rampartd nothing (no leak)"
}

test_freeze_alarm() {
	# No witness answers: cosignatures age past the freshness window.
	rp_witness_stop 1
	rp_witness_stop 2
	rp_wait_for 60 alerted a1 freeze || die "a1 raised no freeze alarm"
	rp_wait_for 10 bash -c "rp_as 1 devices | grep '$DEV_a1' | grep -q freeze" \
		|| die "rampart devices does not show the freeze"
	rp_ok "freeze: no fresh cosigned checkpoint, the agent alarms and devices shows it"
}

served_size() { curl -sk --tlsv1.3 "$LOGURL/checkpoint" | sed -n 2p; }

test_audit_stale_checkpoint() {
	# Still frozen (test_freeze_alarm): the checkpoint served is signed and
	# witnessed, but its cosignatures are older than the window. A server
	# hiding newer entries looks exactly like this: never a clean audit.
	local rc=0 size
	size=$(served_size)
	rp_as 1 audit --quiet >"$T/audit-stale.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && grep -q "^FINDING: the server's checkpoint is stale: " "$T/audit-stale.out" \
		|| { cat "$T/audit-stale.out" >&2; die "audit of a stale checkpoint exited $rc without the finding"; }
	grep -q "older than the policy's freshness of $FRESHNESS s" "$T/audit-stale.out" \
		|| die "the stale finding does not say the window"
	rp_ok "attack: stale checkpoint (the server may hide newer entries): audit finding, exit 1"
	# Idle but healthy: no new entry, and once the witnesses are back the
	# server has them cosign the same checkpoint again, so the audit is clean.
	rp_witness_start 1
	rp_witness_start 2
	rp_wait_for 40 rp_as 1 audit --quiet || die "an idle log did not audit clean once cosigned again"
	[ "$(served_size)" = "$size" ] || die "the log grew: this was not an idle log"
	rp_ok "an idle log audits clean: its checkpoint is cosigned again without new entries"
}

test_audit_untrusted_root() {
	# A log whose entry 0 is not the policy the auditor trusts (here: the
	# auditor trusts another policy with the same log key and witnesses).
	# rampart audit used to crash on it with --checkpoint, and to give up
	# (exit 2) on the state it saved.
	local i rc=0 args=()
	for i in 1 2 3; do args+=(--admin "$T/admin/admin$i.key.vkey"); done
	"$CLI" org init --org acme "${args[@]}" --root 2 --exec 1 --query 1 --directory 2 \
		--log-key "$LOGKEY" "${WITNESS_ARGS[@]}" --freshness "$FRESHNESS" \
		--out "$T/other.policy" >/dev/null 2>&1 || die "org init of the other policy"
	for i in 1 2; do
		"$CLI" policy sign --yes --key "$T/admin/admin$i.key" "$T/other.policy" >/dev/null \
			|| die "policy sign $i"
	done
	rp_as 1 audit --quiet --state "$T/hostile.state" --policy "$T/other.policy" \
		--checkpoint "$T/a1/checkpoint.note" >"$T/audit-hostile.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && grep -q '^FINDING: entry 0: entry 0 is root policy' "$T/audit-hostile.out" &&
		grep -q '^FINDING: no entry of this log is the trusted root policy' "$T/audit-hostile.out" \
		|| { cat "$T/audit-hostile.out" >&2; die "audit of a log without the trusted root exited $rc"; }
	rp_ok "attack: entry 0 is not the trusted policy: findings, exit 1, no crash (--checkpoint)"
	# The state it kept holds no policy: the next run still reports it.
	rc=0
	rp_as 1 audit --quiet --state "$T/hostile.state" --policy "$T/other.policy" \
		>"$T/audit-hostile2.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && grep -q '^FINDING: no entry of this log is the trusted root policy' \
		"$T/audit-hostile2.out" || { cat "$T/audit-hostile2.out" >&2; die "second audit exited $rc"; }
	# Without the trusted policy at hand, nothing can judge the checkpoint: still a finding.
	rc=0
	rp_as 1 audit --quiet --state "$T/hostile.state" --policy "$T/none.policy" \
		--checkpoint "$T/a1/checkpoint.note" >"$T/audit-hostile3.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && grep -q "^FINDING: the server's checkpoint is not acceptable: no root policy" \
		"$T/audit-hostile3.out" || { cat "$T/audit-hostile3.out" >&2; die "third audit exited $rc"; }
	rp_ok "a saved state without a root policy: a finding on every run, exit 1, even without the policy file"
}

test_rollback_and_fork() {
	# The attacker restores an old database: the log shrinks, then grows
	# into a different tree.
	rp_as 1 audit --quiet >"$T/audit0.out" 2>&1 || { cat "$T/audit0.out" >&2; die "audit before the attack"; }
	rp_server_stop
	cp "$DATA/rampart.db" "$T/old.db"
	rp_server_start
	run_cmd second >/dev/null
	rp_wait_for 30 ran second || die "second command did not run"
	rp_wait_for 30 bash -c "[ \"\$(awk '\$1 == \"size\" {print \$2}' $T/a1/log.state)\" = \"\$(curl -sk $LOGURL/checkpoint | sed -n 2p)\" ]" \
		|| die "a1 did not store the newest checkpoint"
	local honest
	honest=$(log_size a1)
	rp_as 1 audit --quiet >"$T/audit1.out" 2>&1 || { cat "$T/audit1.out" >&2; die "audit after second"; }
	rp_server_stop
	rm -f "$DATA/rampart.db-wal" "$DATA/rampart.db-shm"
	cp "$T/old.db" "$DATA/rampart.db"
	rp_server_start
	cp "$T/a1/checkpoint.note" "$T/a1-honest.note"

	# A monitor that never saw the longer log still catches it, from a
	# device's checkpoint: the server showed that device a longer history.
	local rc=0
	rp_as 1 audit --quiet --state "$T/late.state" --policy "$T/admin/acme.policy" \
		--checkpoint "$T/a1-honest.note" >"$T/audit-late.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] && grep -q 'split view' "$T/audit-late.out" \
		|| { cat "$T/audit-late.out" >&2; die "audit --checkpoint missed the longer log ($rc)"; }

	# Rollback: the agents hold a larger checkpoint than the one served now.
	# Its cosignatures are older than the window by now, or not: either way refused.
	rp_wait_for 60 bash -c "alerted a1 log-rollback || alerted a1 stale-checkpoint" \
		|| die "a1 did not refuse the rolled-back checkpoint"
	rp_wait_for 20 grep -q "rolled back or forked" "$T/server.log" \
		|| die "the witnesses' 409 did not reveal the rollback"
	rp_ok "attack: rollback to an older checkpoint: witnesses and agents refuse it"

	# Fork: new entries make a tree of the honest size with another root.
	local fork
	fork=$(run_cmd forked)
	while [ "$(rp_sql "SELECT size FROM logs WHERE org = 'acme'")" -lt "$honest" ]; do
		run_cmd "filler$RANDOM" >/dev/null
	done
	rp_wait_for 30 bash -c "'$WITNESS' evidence --data '$T/w1' | grep -q ." \
		|| die "witness 1 kept no evidence of the fork"
	sleep 2
	! ran forked || die "the forked command ran"
	# The attacker serves the fork anyway, with the log signature only.
	rp_sql "UPDATE logs SET served_size = signed_size, served_note = signed_note WHERE org = 'acme';"
	rp_wait_for 40 alerted a1 witness-quorum || die "a1 did not refuse the unwitnessed fork"
	sleep 1
	! ran forked || die "the forked command ran"
	rc=0
	rp_as 1 audit >"$T/audit2.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || { cat "$T/audit2.out" >&2; die "audit exit $rc on a forked log, want 3"; }
	grep -q '^FINDING: ' "$T/audit2.out" || die "audit reported no finding"
	grep -q -- '---- last checkpoint verified ----' "$T/audit2.out" &&
		grep -q -- '---- checkpoint served now ----' "$T/audit2.out" \
		|| die "audit did not print both checkpoints as evidence"
	rp_ok "attack: forked log: witnesses refuse it, agents refuse and alarm, audit reports both checkpoints"
}

test_crash_during_appends() {
	# kill -9 while approvals append: after restart the log is whole, the
	# witnesses follow it, and a fresh monitor's audit is clean.
	local i
	(for i in 1 2 3 4 5 6; do run_cmd "crash$i" >/dev/null 2>&1 || true; done) &
	local bg=$!
	sleep 0.7
	rp_server_stop -KILL
	wait "$bg" 2>/dev/null || true
	rp_server_start
	run_cmd aftercrash >/dev/null
	rp_wait_for 40 ran aftercrash || die "nothing runs after the crash"
	# A fresh monitor: clean, and the first checkpoint of this test (a smaller
	# tree) is consistent with the log read from its hash tiles.
	rp_as 1 audit --state "$T/fresh.state" --policy "$T/admin/acme.policy" \
		--checkpoint "$T/cp.note" >"$T/audit-crash.out" 2>&1 \
		|| { cat "$T/audit-crash.out" >&2; die "audit after the crash"; }
	grep -q "checkpoint $T/cp.note ($(sed -n 2p "$T/cp.note") entries) is consistent" \
		"$T/audit-crash.out" || { cat "$T/audit-crash.out" >&2; die "older checkpoint not cross-checked"; }
	for i in 1 2; do
		"$WITNESS" evidence --data "$T/w$i" | grep -q . && die "witness $i saw a fork after the crash"
	done
	rp_ok "kill -9 during appends: log, witnesses and agents carry on; a fresh audit is clean"
}

export -f rp_status rp_as alerted
export T PORT PIN CLI ORG WITNESS
test_checkpoint_cosigned_and_tiles
test_audit_untrusted_root
test_witness_down_delays
test_crash_during_appends
test_witness_unreachable_over_https # after the kill -9: this rampartd's exit is checked
test_freeze_alarm
test_audit_stale_checkpoint
test_rollback_and_fork
rp_note "all log tests passed"
