#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attacks from inside the server: the attacker can write anything into the
# database that rampartd serves from. Each named attack must be refused by
# every agent it reaches, raise a security alert (in the agent's own
# alerts.log and on the server), and a canary file proves nothing ran.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 4
rp_org acme 3 2        # admin4 is not in the policy: an outsider's key
for a in a1 a2 a3; do rp_enroll $a; done
for a in a1 a2 a3; do rp_agent_start $a; done
ALL="$DEV_a1 $DEV_a2 $DEV_a3"

now() { date -u -d "@$(( $(date +%s) + ${1:-0} ))" +%Y-%m-%dT%H:%M:%SZ; }
newid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# mkcmd NAME ORG NOT_BEFORE EXPIRES TARGETS...: writes $T/NAME.txt (the
# statement text) and $T/NAME.payload (a script that drops a canary).
mkcmd() {
	local name=$1 org=$2 nb=$3 ex=$4; shift 4
	printf 'touch %s/canary.%s\n' "$T" "$name" >"$T/$name.payload"
	local h size t
	h=$(sha256sum <"$T/$name.payload" | cut -d' ' -f1)
	size=$(wc -c <"$T/$name.payload")
	{
		printf 'rampart/command/v1\norg %s\nid %s\nkind exec\n' "$org" "$(newid)"
		printf 'not-before %s\nexpires %s\nrun-as %s\ntimeout 10\n' "$nb" "$ex" "$ME"
		printf 'payload sha256:%s %s\n' "$h" "$size"
		for t in "$@"; do printf 'target %s\n' "$t"; done
	} >"$T/$name.txt"
}

# sign NAME ADMIN...: $T/NAME.note signed by those admins.
sign() {
	local name=$1; shift
	rp_sign "$T/$name.txt" "$T/$name.note" "$@"
}

stmt_id() { awk '$1 == "id" {print $2; exit}' "$1"; }

# forge NOTEFILE PAYLOADFILE DEVICES...: written straight into the database.
forge() {
	local note=$1 payload=$2; shift 2
	local id d
	id=$(stmt_id "$note")
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('$id', 'acme', readfile('$note'), readfile('$payload'), 'approved', strftime('%s','now'));"
	for d in "$@"; do
		rp_sql "INSERT INTO deliveries (command_id, device_id, status, updated)
			VALUES ('$id', '$d', 'pending', strftime('%s','now'));"
	done
	echo "$id"
}

agent_of() {
	local n v
	for n in a1 a2 a3; do
		v=DEV_$n
		if [ "${!v}" = "$1" ]; then echo "$n"; fi
	done
}

# expect_refused NAME ID CODE DEVICE...: each device alerts with CODE, no canary.
expect_refused() {
	local name=$1 id=$2 code=$3 d a; shift 3
	for d in "$@"; do
		a=$(agent_of "$d")
		rp_wait_for 30 grep -q "$code $id" "$T/$a/alerts.log" ||
			die "$name: agent $a raised no '$code' alert for $id"
		rp_wait_for 10 bash -c "'$CLI' --server https://127.0.0.1:$PORT --pin $PIN --org acme \
			--key $T/admin/admin1.key --json alerts | grep -q '$id'" ||
			die "$name: the server has no alert for $id"
	done
	sleep 1
	[ ! -e "$T/canary.$name" ] || die "$name: the canary exists: the forged command RAN"
	rp_ok "$name: refused by $#, alerted, nothing ran"
}

test_forged_unsigned_command() {
	mkcmd forged acme "$(now -60)" "$(now 3600)" $ALL
	sign forged 4             # the attacker's own key
	expect_refused forged "$(forge "$T/forged.note" "$T/forged.payload" $ALL)" no-quorum $ALL
}

test_one_signature_forced_approved() {
	mkcmd onesig acme "$(now -60)" "$(now 3600)" $ALL
	sign onesig 1
	expect_refused onesig "$(forge "$T/onesig.note" "$T/onesig.payload" $ALL)" no-quorum $ALL
}

test_signature_swapped() {
	mkcmd legit acme "$(now -60)" "$(now 3600)" "$DEV_a1"
	sign legit 1 2
	mkcmd swapped acme "$(now -60)" "$(now 3600)" $ALL
	# The forged text under the legitimate command's signature lines.
	{ cat "$T/swapped.txt"; echo; sed -n '/^$/,$p' "$T/legit.note" | tail -n +2; } >"$T/swapped.note"
	expect_refused swapped "$(forge "$T/swapped.note" "$T/swapped.payload" $ALL)" bad-signature $ALL
}

test_target_added() {
	mkcmd narrow acme "$(now -60)" "$(now 3600)" "$DEV_a1"
	sign narrow 1 2
	# The server widens the signed target set to a3.
	{ sed -n '1,/^$/p' "$T/narrow.note" | sed '$d'; echo "target $DEV_a3"; echo;
	  sed -n '/^$/,$p' "$T/narrow.note" | tail -n +2; } >"$T/widened.note"
	expect_refused narrow "$(forge "$T/widened.note" "$T/narrow.payload" "$DEV_a3")" bad-signature "$DEV_a3"
}

test_delivered_to_non_target() {
	mkcmd nontarget acme "$(now -60)" "$(now 3600)" "$DEV_a1"
	sign nontarget 1 2
	local id
	id=$(stmt_id "$T/nontarget.note")
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('$id', 'acme', readfile('$T/nontarget.note'), readfile('$T/nontarget.payload'), 'approved', strftime('%s','now'));
		INSERT INTO deliveries (command_id, device_id, status, updated)
		VALUES ('$id', '$DEV_a3', 'pending', strftime('%s','now'));"
	expect_refused nontarget "$id" not-a-target "$DEV_a3"
}

test_replay_executed_command() {
	local id
	id=$(rp_submit 1 --to "$DEV_a2" --run-as "$ME" -- sh -c "echo once >> $T/replay.count")
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 bash -c "[ \"\$(rp_status $id $DEV_a2)\" = done ]" || die "replay: first run did not finish"
	rp_sql "UPDATE deliveries SET status = 'pending' WHERE command_id = '$id' AND device_id = '$DEV_a2';"
	rp_wait_for 30 grep -q "replay $id" "$T/a2/alerts.log" || die "replay: no replay alert"
	sleep 1
	[ "$(wc -l <"$T/replay.count")" -eq 1 ] || die "replay: the command ran again"
	rp_ok "replay: executed command replayed is refused, alerted, ran once"
}

test_expired_command() {
	mkcmd expired acme "$(now -7200)" "$(now -3600)" $ALL
	sign expired 1 2
	expect_refused expired "$(forge "$T/expired.note" "$T/expired.payload" $ALL)" expired $ALL
}

test_expired_within_skew() {
	# Expired a minute ago, well inside the 300 s of clock skew the agent
	# used to allow after expires: the server shows it expired, so it must
	# never run (an administrator would re-submit it and get it twice).
	mkcmd lapsed acme "$(now -3600)" "$(now -60)" $ALL
	sign lapsed 1 2
	expect_refused lapsed "$(forge "$T/lapsed.note" "$T/lapsed.payload" $ALL)" expired $ALL
}

test_scheduled_delivered_early() {
	# A command approved for an hour from now is held back by the server;
	# the attacker marks it approved, so the server logs and delivers it now.
	local id
	id=$(rp_submit 1 --to "${ALL// /,}" --run-as "$ME" --not-before 1h -- touch "$T/canary.early")
	rp_as 2 approve --yes "$id" >/dev/null
	[ "$(rp_sql "SELECT state FROM commands WHERE id = '$id'")" = scheduled ] \
		|| die "early: the approved command is not held back as scheduled"
	rp_sql "UPDATE commands SET state = 'approved' WHERE id = '$id';"
	expect_refused early "$id" not-yet-valid $ALL
}

test_other_org_command() {
	mkcmd otherorg globex "$(now -60)" "$(now 3600)" $ALL
	sign otherorg 1 2
	expect_refused otherorg "$(forge "$T/otherorg.note" "$T/otherorg.payload" $ALL)" wrong-org $ALL
}

test_payload_swapped() {
	mkcmd payload acme "$(now -60)" "$(now 3600)" $ALL
	sign payload 1 2
	printf 'touch %s/canary.payload\n#x\n' "$T" >"$T/payload.evil"
	expect_refused payload "$(forge "$T/payload.note" "$T/payload.evil" $ALL)" payload-mismatch $ALL
}

test_audit_reports_forgeries() {
	# Every forged row was delivered, so it is in the log: the audit names each
	# unauthorised entry and exits 1.
	local rc=0
	rp_as 1 audit --quiet >"$T/audit.out" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || { cat "$T/audit.out" >&2; die "audit exit status $rc, want 3"; }
	for what in "forged" "onesig" "swapped" "narrow"; do
		local id
		id=$(awk '$1 == "id" {print $2}' "$T/$what.note")
		grep -q "^FINDING: entry [0-9]*: command $id is not authorised" "$T/audit.out" \
			|| { cat "$T/audit.out" >&2; die "audit did not report $what ($id)"; }
	done
	grep -q "^FINDING: entry [0-9]*: command .* is for org .globex." "$T/audit.out" \
		|| die "audit did not report the other org's command"
	rp_ok "rampart audit reports every forged entry as a finding"
}

# rows N FROM: N approved rows never logged, all with the statement and
# payload of files FROM.note and FROM.payload; rampartd's sequencer logs
# them (as it logs any approved row written behind its API).
rows() {
	rp_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO commands (id, org, statement, payload, state, created)
		SELECT lower(hex(randomblob(16))), 'acme', readfile('$2.note'), readfile('$2.payload'),
			'approved', strftime('%s','now') FROM n;"
}

served_size() {
	curl -sk --tlsv1.3 "https://127.0.0.1:$PORT/v1/log/acme/checkpoint" | sed -n 2p
}

test_audit_bounded_on_junk() {
	# A breached server pads the log with junk entries (cheap, append-only,
	# cosigned by honest witnesses): the audit must stop after a bounded
	# number of findings, say what it left unchecked, and keep only the
	# verified progress made before its first finding.
	local rc=0 s0 size out
	rp_as 1 audit --quiet --state "$T/junk.state" >"$T/junk0.out" 2>&1 || true
	s0=$(awk '$1 == "size" {print $2; exit}' "$T/junk.state")
	[ -n "$s0" ] && [ "$s0" -lt 256 ] || die "junk: first audit saved size '$s0'"
	# 300 authorised entries (the same signed command again: a whole clean
	# bundle, entries $s0 to 255), then 300 junk entries.
	mkcmd clean acme "$(now -60)" "$(now 3600)" $ALL
	sign clean 1 2
	rows 300 "$T/clean"
	printf 'junk\n' >"$T/junk.note"
	: >"$T/junk.payload"
	rows 300 "$T/junk"
	rp_wait_for 60 bash -c "[ \"\$(curl -sk --tlsv1.3 https://127.0.0.1:$PORT/v1/log/acme/checkpoint | sed -n 2p)\" -ge $((s0 + 600)) ]" ||
		die "junk: the log did not grow to $((s0 + 600)) entries (served $(served_size))"
	size=$(served_size)
	for run in 1 2; do
		rc=0
		rp_as 1 audit --quiet --state "$T/junk.state" >"$T/junk$run.out" 2>&1 || rc=$?
		[ "$rc" -eq 3 ] || { cat "$T/junk$run.out" >&2; die "junk: audit run $run exited $rc, want 3"; }
		[ "$(grep -c '^FINDING: ' "$T/junk$run.out")" -eq 100 ] ||
			die "junk: run $run printed $(grep -c '^FINDING: ' "$T/junk$run.out") findings, want 100"
		grep -q "^FINDING: entry $((s0 + 300)): unknown kind of entry .junk." "$T/junk$run.out" ||
			{ cat "$T/junk$run.out" >&2; die "junk: run $run does not report the first junk entry"; }
		out="audit: stopped after 100 findings: the $((size - s0 - 400)) entries from $((s0 + 400)) to $((size - 1)) are left unchecked"
		grep -qF "$out" "$T/junk$run.out" || { cat "$T/junk$run.out" >&2; die "junk: run $run lacks '$out'"; }
		# Saved: the clean bundle, proven in the checkpoint's tree; nothing past the first finding.
		[ "$(awk '$1 == "size" {print $2; exit}' "$T/junk.state")" = 256 ] ||
			die "junk: run $run saved size $(awk '$1 == "size" {print $2; exit}' "$T/junk.state"), want 256"
	done
	grep -q "^FINDING: entry $((s0 + 299))" "$T/junk2.out" && die "junk: an authorised entry was a finding"
	rp_ok "attack: log padded with junk: audit stops after 100 findings (exit 3), saves only the verified clean prefix, and a rerun reports them again"
}

export -f rp_status rp_as
export T PORT PIN CLI ORG
test_forged_unsigned_command
test_one_signature_forced_approved
test_signature_swapped
test_target_added
test_delivered_to_non_target
test_replay_executed_command
test_expired_command
test_expired_within_skew
test_scheduled_delivered_early
test_other_org_command
test_payload_swapped
test_audit_reports_forgeries
test_audit_bounded_on_junk
rp_note "all attack tests passed"
