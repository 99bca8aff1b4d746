#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The core story over real sockets: 3 administrators, exec 2 of 3, three
# enrolled agents. A command for two of them runs nowhere with one
# signature, on exactly those two after the second, never on the third;
# a server restart during long polls loses nothing and runs nothing twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_admins 3
rp_org acme 3 2
for a in a1 a2 a3; do rp_enroll $a; done
for a in a1 a2 a3; do rp_agent_start $a; done

test_devices_listed() {
	local out
	out=$(rp_as 1 devices)
	for d in "$DEV_a1" "$DEV_a2" "$DEV_a3"; do
		grep -q "$d" <<<"$out" || die "device $d not listed"
	done
	echo "ok - devices listed"
}

test_one_signature_runs_nowhere() {
	ID=$(rp_submit 1 --to "$DEV_a1,$DEV_a2" --run-as "$ME" --timeout 20 -- \
		sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID; echo hello from rampart")
	[ -n "$ID" ] || die "no command id"
	rp_as 2 commands | grep "$ID" | grep -q pending-approval || die "command not pending approval"
	sleep 3
	[ ! -e "$T/ran.$ID" ] || die "command ran with 1 signature"
	[ "$(rp_status "$ID" "$DEV_a1")" = pending ] || die "status not pending"
	echo "ok - one signature of two runs nowhere"
}

test_second_signature_runs_on_targets_only() {
	rp_as 2 approve --yes "$ID" | grep -q approved || die "second approval did not approve"
	rp_wait_for 20 bash -c "[ \$(wc -l < '$T/ran.$ID') -ge 2 ]" || die "command did not run on both targets"
	for d in "$DEV_a1" "$DEV_a2"; do
		rp_wait_for 20 bash -c "[ \"\$(rp_status $ID $d)\" = done ]" 2>/dev/null || \
			[ "$(rp_status "$ID" "$d")" = done ] || die "result of $d is $(rp_status "$ID" "$d")"
	done
	local res
	res=$(rp_as 1 results "$ID")
	grep -q "hello from rampart" <<<"$res" || die "output tail missing from results: $res"
	[ "$(rp_as 1 --json results "$ID" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))')" = 2 ] \
		|| die "results not exactly the 2 targets"
	sleep 2
	[ "$(wc -l < "$T/ran.$ID")" -eq 2 ] || die "ran $(wc -l < "$T/ran.$ID") times, expected 2"
	! grep -q "$ID" "$T/a3/executed" 2>/dev/null || die "non-target a3 recorded the command"
	echo "ok - second signature runs on exactly the two targets; third never"
}

test_timeout_kills_process_group() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --timeout 2 -- \
		sh -c "sleep 60 & echo \$! > $T/bg.pid; sleep 60")
	rp_as 3 approve --yes "$id" >/dev/null
	rp_wait_for 30 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = timed-out ]" || \
		die "status is $(rp_status "$id" "$DEV_a1"), expected timed-out"
	local bg
	bg=$(cat "$T/bg.pid")
	# Killed children may linger as zombies until init reaps them.
	if [ -e "/proc/$bg" ] && ! grep -q '^State:.*Z' "/proc/$bg/status" 2>/dev/null; then
		die "background child $bg survived the timeout"
	fi
	echo "ok - timeout kills the whole process group"
}

test_restart_during_long_poll() {
	rp_server_stop -KILL
	local id
	rp_server_start
	id=$(rp_submit 1 --to "$DEV_a3" --run-as "$ME" -- sh -c "echo x >> $T/restart.ran")
	rp_server_stop -TERM
	rp_server_start
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 test -e "$T/restart.ran" || die "command after restart never ran"
	rp_wait_for 20 bash -c "[ \"\$(rp_status $id $DEV_a3)\" = done ]" || die "no result after restart"
	rp_server_stop -TERM
	rp_server_start
	sleep 4
	[ "$(wc -l < "$T/restart.ran")" -eq 1 ] || die "command ran twice across restarts"
	echo "ok - server restarts lose nothing and run nothing twice"
}

export -f rp_status rp_as
export T PORT PIN CLI ORG
test_devices_listed
test_one_signature_runs_nowhere
test_second_signature_runs_on_targets_only
test_timeout_kills_process_group
test_restart_during_long_poll
echo "all e2e tests passed"
