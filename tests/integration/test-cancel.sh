#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cancel and reject (issue 11), over real binaries: a signed
# rampart/cancel/v1 statement is logged, every agent's walk reads it, and
# a cancelled command never runs, however the server orders, hides or
# re-marks things. Each attack is what a breached rampartd can do: write
# its database (the sequencer logs whatever is marked approved) and append
# to the log; it holds no administrator's key.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 3
# admin3 holds no exec key: a cancel it signs is by the wrong role
POLICY_EDIT='s/^\(role exec 2 .*\) admin3@acme.example$/\1/' rp_org acme 3 2
grep -q '^role exec 2 admin1@acme.example admin2@acme.example$' "$T/admin/acme.policy" ||
	die "admin3 is still an exec key (test broken)"
rp_enroll a1
rp_agent_start a1
TOKEN=$(rp_as 1 token create --name cancel --scope write --expires 1h)

api() {
	curl -skf --tlsv1.3 -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/v1/orgs/acme/$1"
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# cli_state ID: the state `rampart commands --json' derives for ID
cli_state() {
	rp_as 1 --json commands | python3 -c '
import json, sys
for c in json.load(sys.stdin)["commands"]:
    if c["id"] == sys.argv[1]:
        print(c["state"])' "$1"
}
# submit NAME ARGS...: a command (1 of 2 signatures) that leaves $T/ran.NAME
submit() {
	local name=$1 id; shift
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" "$@" -- sh -c "date +%s >> $T/ran.$name")
	[ -n "$id" ] || die "$name: no command id"
	echo "$id"
}
# barrier N: a command approved now runs to its end: the agent acts in log
# order, so everything logged before it has been acted on.
barrier() {
	local id
	id=$(submit "barrier$1")
	rp_as 2 approve --yes "$id" >/dev/null || die "barrier $1: approve"
	rp_wait_for 30 test -e "$T/ran.barrier$1" || die "barrier $1 did not run"
}
# entry ID: the log index of command ID's cancel
cancel_entry() { rp_sql "SELECT cancel_index FROM commands WHERE id = '$1'"; }
# remark ID: the breached server marks cancelled command ID approved again,
# with a pending delivery, so that it hands it out; a command never logged
# (log_index NULL) its sequencer then logs, after the cancel
remark() {
	rp_sql "UPDATE commands SET state = 'approved', cancel = NULL, cancel_index = NULL
		WHERE id = '$1';
		UPDATE deliveries SET status = 'pending' WHERE command_id = '$1'"
}
# is_done ID: the device's signed result of ID is in
is_done() { [ "$(rp_status "$1" "$DEV_a1")" = done ]; }
# logged ID: command ID has a log entry
logged() { [ -n "$(rp_sql "SELECT log_index FROM commands WHERE id = '$1'")" ]; }
# hand_cancel ID UNTIL KEYS...: a cancel of ID written by hand, signed by admins KEYS
hand_cancel() {
	local id=$1 until=$2 h; shift 2
	h=$(rp_sql "SELECT statement FROM commands WHERE id = '$id'" |
		python3 -c 'import sys, hashlib; t = sys.stdin.read(); print(hashlib.sha256(t[:t.index("\n\n") + 1].encode()).hexdigest())')
	printf 'rampart/cancel/v1\norg acme\ncommand %s\nkind cancel\nstatement sha256:%s\nuntil %s\ntime %s\nreason by hand\n' \
		"$id" "$h" "$until" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$T/cancel.$id.txt"
	rp_sign "$T/cancel.$id.txt" "$T/cancel.$id.note" "$@"
}
export -f api
export TOKEN PORT

test_cancel_pending_then_approve() {
	local id rc
	id=$(submit pending)
	rp_as 1 cancel --yes --reason "wrong host" "$id" >"$T/cancel1.out" || die "cancel: exit $?"
	grep -q "command $id cancelled by admin1@acme.example" "$T/cancel1.out" || die "cancel: no word of it"
	grep -q -- "---- signatures" "$T/cancel1.out" || die "cancel: the command was not shown first"
	[ "$(api "commands/$id" | field state)" = cancelled ] || die "server state is not cancelled"
	[ "$(cli_state "$id")" = cancelled ] || die "rampart commands: $(cli_state "$id"), want cancelled"
	rp_as 1 commands | grep "$id" | grep -q "by admin1@acme.example: wrong host" || die "commands: no who and why"
	rc=0; rp_as 2 approve --yes "$id" >/dev/null 2>"$T/approve1.err" || rc=$?
	[ $rc -eq 4 ] || die "approve of a cancelled command: exit $rc, want 4"
	rc=0; rp_as 2 cancel --yes "$id" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 4 ] || die "cancel again: exit $rc, want 4"
	! rp_as 2 pending | grep -q "$id" || die "pending still lists it"
	[ -z "$(rp_sql "SELECT log_index FROM commands WHERE id = '$id'")" ] || die "logged after its cancel"
	barrier 1
	[ ! -e "$T/ran.pending" ] || die "the cancelled command ran"
	rc=0; rp_as 1 results --wait 5 "$id" >"$T/results1.out" || rc=$?
	[ $rc -eq 4 ] || die "results --wait on a cancelled command: exit $rc, want 4"
	grep -q "cancelled by admin1@acme.example (signed cancel, verified): wrong host" "$T/results1.out" ||
		die "results: no verified cancel shown"
	rp_ok "cancel a pending command: approving it is refused (4), it is never logged nor run, commands/results show cancelled by whom and why, pending drops it, results --wait ends with 4"
}

test_cancel_scheduled() {
	local id nb
	id=$(submit later --not-before 6s)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	[ "$(api "commands/$id" | field state)" = scheduled ] || die "not scheduled"
	rp_as 2 --json cancel --yes "$id" >"$T/cancel2.json" 2>/dev/null || die "cancel of a scheduled command: exit $?"
	[ "$(field state <"$T/cancel2.json")" = cancelled ] || die "--json: state"
	[ "$(field by <"$T/cancel2.json")" = admin2@acme.example ] || die "--json: by"
	nb=$(($(date +%s) + 8))
	rp_wait_for 30 bash -c "[ \$(date +%s) -gt $nb ]"
	barrier 2
	[ ! -e "$T/ran.later" ] || die "the scheduled command ran after its cancel"
	[ -z "$(rp_sql "SELECT log_index FROM commands WHERE id = '$id'")" ] || die "logged at its time"
	[ "$(rp_status "$id" "$DEV_a1")" = cancelled ] || die "results: $(rp_status "$id" "$DEV_a1"), want cancelled"
	rp_ok "cancel a scheduled command (approved, not-before ahead): never logged, never runs, result cancelled; --json"
}

test_reject() {
	local id rc approved
	id=$(submit rejected)
	rc=0; rp_as 2 reject --yes "$id" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || die "reject without --reason: exit $rc, want 2"
	rp_as 2 reject --yes --reason "not during the freeze" "$id" >/dev/null || die "reject: exit $?"
	[ "$(cli_state "$id")" = rejected ] || die "commands: $(cli_state "$id"), want rejected"
	rp_as 1 commands | grep "$id" | grep -q "by admin2@acme.example: not during the freeze" || die "commands: no who and why"
	[ "$(rp_status "$id" "$DEV_a1")" = rejected ] || die "results: $(rp_status "$id" "$DEV_a1"), want rejected"
	approved=$(submit approved)
	rp_as 2 approve --yes "$approved" >/dev/null
	rc=0; rp_as 2 reject --yes --reason late "$approved" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 4 ] || die "reject of an approved command: exit $rc, want 4"
	rp_wait_for 30 is_done "$approved" || die "the approved command did not run"
	rc=0; rp_as 2 cancel --yes "$approved" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 4 ] || die "cancel of a command that ran everywhere: exit $rc, want 4"
	barrier 3
	[ ! -e "$T/ran.rejected" ] || die "the rejected command ran"
	rp_ok "reject by an approver: needs a reason (2), shown rejected with who and why, never runs; too late once approved (4), cancel after it ran everywhere refused (4)"
}

test_agent_offline() {
	local id
	rp_agent_stop a1
	id=$(submit offline)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_wait_for 30 logged "$id" || die "offline: not logged"
	rp_as 1 cancel --yes --reason "changed my mind" "$id" >/dev/null || die "cancel"
	[ "$(cancel_entry "$id")" -gt "$(rp_sql "SELECT log_index FROM commands WHERE id = '$id'")" ] ||
		die "offline: the cancel is not logged after the command"
	# the breached server hands the command out all the same: only the agent's walk stops it
	remark "$id"
	rp_agent_start a1
	rp_wait_for 60 grep -q "command $id: cancelled by a signed statement" "$T/a1.log" ||
		die "offline: the agent did not refuse it as cancelled"
	barrier 4
	[ ! -e "$T/ran.offline" ] || die "offline: ran"
	[ "$(rp_status "$id" "$DEV_a1")" = cancelled ] || die "offline: results $(rp_status "$id" "$DEV_a1"), want the signed cancelled"
	rp_ok "agent offline while the command and then its cancel were logged, the command delivered anyway: it reads the cancel first and never runs it (signed result cancelled)"
}

test_attack_forged_cancel() {
	local id fake
	id=$(submit forged)
	for who in 3 mallory; do
		if [ "$who" = mallory ]; then
			"$CLI" key generate mallory@evil.example --out "$T/admin/adminmallory.key" >/dev/null 2>&1
		fi
		hand_cancel "$id" 2030-01-01T00:00:00Z "$who"
		# the server's own endpoint refuses it
		! curl -skf --tlsv1.3 -H "Authorization: Bearer $TOKEN" -X POST \
			--data "$(python3 -c 'import json, sys; print(json.dumps({"cancel": open(sys.argv[1]).read()}))' "$T/cancel.$id.note")" \
			"https://127.0.0.1:$PORT/v1/orgs/acme/commands/$id/cancel" >/dev/null || die "rampartd took a cancel by $who"
		# a breached one logs it anyway: a row marked approved is logged by its sequencer
		fake=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
		rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
			VALUES ('$fake', 'acme', CAST(readfile('$T/cancel.$id.note') AS TEXT), x'', 'approved', strftime('%s','now'))"
		rp_wait_for 30 logged "$fake" ||
			die "the forged cancel by $who was not logged (test broken)"
	done
	barrier 5
	rp_wait_for 30 grep -q "cancel-refused .*a cancel of command $id, is refused" "$T/a1/alerts.log" || die "no cancel-refused alert"
	rp_as 1 --json alerts | grep -q "cancel-refused" || die "the alert did not reach the server"
	rp_as 2 approve --yes "$id" >/dev/null || die "approve after the forged cancels"
	rp_wait_for 30 test -e "$T/ran.forged" || die "a forged cancel stopped the command"
	rp_ok "attack: the server logs a cancel by a key of the wrong role and by an unknown key: refused (403), alerted cancel-refused, the command still runs"
}

test_attack_short_until_and_remark() {
	local id until keep ex ce fake
	id=$(submit short --not-before 5s --expires 1h)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	until=$(date -u -d @$(($(date +%s) + 1)) +%Y-%m-%dT%H:%M:%SZ)
	hand_cancel "$id" "$until" 1
	! curl -skf --tlsv1.3 -H "Authorization: Bearer $TOKEN" -X POST \
		--data "$(python3 -c 'import json, sys; print(json.dumps({"cancel": open(sys.argv[1]).read()}))' "$T/cancel.$id.note")" \
		"https://127.0.0.1:$PORT/v1/orgs/acme/commands/$id/cancel" >/dev/null || die "rampartd took a cancel whose until is before the command's expiry"
	# a breached server logs it (a row it marks approved), and keeps the command scheduled:
	# its sequencer logs the command at its not-before, after the cancel
	fake=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('$fake', 'acme', CAST(readfile('$T/cancel.$id.note') AS TEXT), x'', 'approved', strftime('%s','now'))"
	rp_wait_for 30 logged "$fake" || die "the short cancel was not logged (test broken)"
	ce=$(rp_sql "SELECT log_index FROM commands WHERE id = '$fake'")
	barrier 6
	keep=$(awk -v id="$id" '$2 == id {print $5}' "$T/a1/cancel.state")
	ex=$(date -u -d "$(rp_sql "SELECT statement FROM commands WHERE id = '$id'" | awk '$1 == "expires" {print $2}' | sed 's/T/ /; s/Z$//')" +%s)
	[ -n "$keep" ] && [ "$keep" -gt "$ex" ] || die "cancel.state keeps it until ${keep:-never}, before the command's expiry $ex"
	rp_wait_for 30 logged "$id" || die "the scheduled command was not logged at its time (test broken)"
	[ "$(rp_sql "SELECT log_index FROM commands WHERE id = '$id'")" -gt "$ce" ] ||
		die "not logged after the cancel (test broken)"
	rp_wait_for 30 grep -q "command $id: cancelled by a signed statement" "$T/a1.log" || die "the agent did not refuse it"
	barrier 7
	[ ! -e "$T/ran.short" ] || die "ran after a cancel with a short until"
	[ "$(rp_status "$id" "$DEV_a1")" = cancelled ] || die "results: $(rp_status "$id" "$DEV_a1"), want the signed cancelled"
	rp_ok "attack: a cancel whose until passes in 1 s (refused by rampartd, logged by a breached one) is kept past the command's expiry; the command logged after it at its not-before is refused (signed result cancelled)"
}

test_attack_remarked_after_cancel() {
	local id size
	id=$(submit remarked --not-before 3s)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_as 1 cancel --yes "$id" >/dev/null || die "cancel"
	barrier 8 # the agent has read the cancel
	rp_agent_stop a1
	sleep 4 # past its not-before
	remark "$id"
	rp_wait_for 30 logged "$id" || die "the breached server did not log it (test broken)"
	size=$(awk '$1 == "size" {print $2}' "$T/a1/log.state")
	rp_wait_for 30 api "commands/$id/delivery?size=$size" || die "the re-marked command is not delivered (test broken)"
	api "commands/$id/delivery?size=$size" >"$T/remarked.delivery"
	! "$AGENT" verify --state-dir "$T/a1" "$T/remarked.delivery" >"$T/verify.out" 2>&1 ||
		die "rampart-agent verify accepts the cancelled command"
	grep -q "REFUSED (cancelled): command $id is cancelled" "$T/verify.out" || die "verify: $(cat "$T/verify.out")"
	rp_agent_start a1
	rp_wait_for 30 grep -q "command $id: cancelled by a signed statement" "$T/a1.log" || die "the agent did not refuse it"
	barrier 9
	[ ! -e "$T/ran.remarked" ] || die "ran once re-marked approved"
	rp_ok "attack: the server re-marks a cancelled command approved and logs it after the cancel: rampart-agent verify and the agent refuse it"
}

test_attack_hidden_cancel_stalls() {
	local id ce orig
	rp_agent_stop a1
	id=$(submit hidden)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_wait_for 30 logged "$id" || die "hidden: not logged"
	rp_as 1 cancel --yes --reason "hide me" "$id" >/dev/null || die "cancel"
	ce=$(cancel_entry "$id")
	rp_wait_for 30 bash -c "curl -skf --tlsv1.3 https://127.0.0.1:$PORT/v1/log/acme/checkpoint | sed -n 2p | awk '\$1 > $ce {ok=1} END {exit !ok}'" ||
		die "hidden: the cancel is not in a witnessed checkpoint"
	# the breached server hands the command out, and serves other bytes in the cancel's place
	remark "$id"
	orig=$(rp_sql "SELECT hex(data) FROM log_entries WHERE idx = $ce AND substr(data, 1, 18) = CAST('rampart/cancel/v1' || char(10) AS BLOB)")
	[ -n "$orig" ] || { rp_sql "SELECT idx, substr(CAST(data AS TEXT), 1, 40) FROM log_entries WHERE idx >= $ce - 2" >&2; die "hidden: no cancel entry at $ce (test broken)"; }
	rp_sql "UPDATE log_entries SET data = CAST('rampart/comment/v1' || char(10) || 'nothing here' || char(10) AS BLOB) WHERE idx = $ce AND hex(data) = '$orig'"
	rp_agent_start a1
	rp_wait_for 60 grep -q "log-proof" "$T/a1.log" || die "hidden: the walk did not refuse the doctored entries"
	rp_wait_for 30 grep -q "waiting: " "$T/a1.log" || die "hidden: the agent did not say it waits"
	sleep 3
	[ ! -e "$T/ran.hidden" ] || die "hidden: ran while its cancel was hidden"
	! grep -q "running command $id" "$T/a1.log" || die "hidden: started"
	rp_ok "attack: the server hides a logged cancel (serves other bytes in its place) and hands the command out: the walk refuses the entries (log-proof), the agent waits and never runs it"
	rp_sql "UPDATE log_entries SET data = X'$orig' WHERE idx = $ce"
	rp_wait_for 60 grep -q "command $id: cancelled by a signed statement" "$T/a1.log" ||
		die "hidden: once served as logged, the cancel was not applied"
	[ ! -e "$T/ran.hidden" ] || die "hidden: ran"
	rp_ok "once the log is served as it is, the agent reads the cancel and refuses the command (signed result cancelled)"
}

test_audit_shows_cancels() {
	local rc=0
	rp_as 1 audit --state "$T/audit.state" >"$T/audit.out" 2>&1 || rc=$?
	# the two cancels the breached server forged (test_attack_forged_cancel) are findings
	[ $rc -eq 3 ] || { cat "$T/audit.out" >&2; die "audit: exit $rc, want 3 for the forged cancels"; }
	[ "$(grep -c "FINDING: entry [0-9]*: cancel of command .* is not authorised" "$T/audit.out")" -eq 2 ] ||
		die "audit: the forged cancels are not two findings"
	grep -q "cancel of command .*, signed by admin1@acme.example (wrong host)" "$T/audit.out" || die "audit: no cancel in the history"
	grep -q "reject of command .*, signed by admin2@acme.example (not during the freeze)" "$T/audit.out" || die "audit: no reject"
	rp_ok "rampart audit lists each logged cancel and reject with who signed it and why, and a forged one as a finding"
}

test_cancel_pending_then_approve
test_cancel_scheduled
test_reject
test_agent_offline
test_attack_forged_cancel
test_attack_short_until_and_remark
test_attack_remarked_after_cancel
test_attack_hidden_cancel_stalls
test_audit_shows_cancels
