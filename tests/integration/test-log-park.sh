#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: a breached server parks an agent on its retired log. The agent
# has read the root policy that ended its log (a log key rotation), but the
# server never hands it over: no 409, nothing past the end, only held polls
# (here: rampartd made to believe the old log is still the active one). The
# old log's checkpoint stays cosigned, so freshness alone would not see it;
# the agent counts the time since it found its log retired, and raises the
# freeze alarm naming the rotation once the window has passed. Nothing of
# the new log runs meanwhile (there is nothing it could run), and the agent
# moves once the server hands it over. And a server that says the retired
# log is done while it still holds a command for the device does not make
# it leave before that command ran or expired.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
export FRESHNESS=12 # seconds: the alarm is due 12 s after the agent found its log retired
rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 1
rp_enroll a1
rp_enroll a2 # away until test_withheld_command_keeps_it_on_the_retired_log
rp_agent_start a1

test_parked_on_a_retired_log() {
	local id lk
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true) || die "run"
	rp_wait_for 40 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" || die "the first command did not run"
	# a command for a2 (away) in the log about to end; it expires in 75 s
	A2CMD=$(rp_submit 1 --to "$DEV_a2" --expires 75s --run-as "$ME" -- touch "$T/canary.a2") || die "run for a2"
	rp_agent_stop a1
	lk=$("$RAMPARTD" rotate log-key --data "$DATA" --org acme 2>"$T/lk.log") || die "rotate log-key"
	"$WITNESS" add-log --data "$T/w1" --vkey "$lk" >/dev/null || die "add-log"
	rp_as 1 policy propose --yes --log-key "$lk" >"$T/p2.out" 2>&1 || { cat "$T/p2.out" >&2; die "propose"; }
	rp_as 2 approve --policy --yes >"$T/a2.out" 2>&1 || { cat "$T/a2.out" >&2; die "approve"; }
	rp_wait_for 20 bash -c "[ \"\$(rp_sql 'SELECT served_size FROM logs WHERE gen = 1')\" = 4 ]" ||
		die "the policy ending log 1 was not witnessed"
	# the breach: log 1 is the active log again for rampartd, so polls on it are held
	rp_sql "UPDATE logs SET state = 'next' WHERE gen = 2; UPDATE logs SET state = 'active' WHERE gen = 1"
	rp_agent_start a1
	rp_wait_for 20 grep -q "log 127.0.0.1/rampart/acme ends at entry 3" "$T/a1.log" ||
		die "a1 did not read the policy that ended its log: $(tail -5 "$T/a1.log")"
	rp_wait_for 40 grep -q "FREEZE: log 127.0.0.1/rampart/acme ended (a log key rotation) .* the server has not handed this device over to log 127.0.0.1/rampart/acme/2" "$T/a1.log" ||
		die "no freeze alarm naming the rotation: $(tail -5 "$T/a1.log")"
	grep -q " freeze " "$T/a1/alerts.log" || die "the freeze alarm was not raised as an alert"
	! grep -q "moved from log" "$T/a1.log" || die "a1 moved without the server's word (test broken)"
	rp_ok "attack: parked on its retired log by held polls, the agent raises the freeze alarm naming the rotation"

	rp_sql "UPDATE logs SET state = 'retired' WHERE gen = 1; UPDATE logs SET state = 'active' WHERE gen = 2"
	rp_wait_for 40 grep -q "moved from log 127.0.0.1/rampart/acme to log 127.0.0.1/rampart/acme/2" "$T/a1.log" ||
		die "a1 did not move once handed over"
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true) || die "run after"
	rp_wait_for 40 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" || die "the command in log 2 did not run"
	rp_ok "handed over at last, it moves and runs the new log's commands"
}
# The server tells a2, back after the rotation, that its retired log holds
# nothing more for it (409: here its delivery row marked refused), while the
# log holds a command for it, signed by the quorum, not run yet.
test_withheld_command_keeps_it_on_the_retired_log() {
	rp_sql "UPDATE deliveries SET status = 'refused' WHERE device_id = '$DEV_a2'"
	rp_agent_start a2
	rp_wait_for 40 grep -q "SECURITY: log-withheld: the server says log 127.0.0.1/rampart/acme holds nothing more for this device, but its entry 2 is a command for it" "$T/a2.log" ||
		die "a2 did not refuse to leave its log: $(tail -5 "$T/a2.log")"
	grep -q " log-withheld " "$T/a2/alerts.log" || die "no log-withheld alert"
	! grep -q "moved from log" "$T/a2.log" || die "a2 left the log that still owed it a command"
	rp_ok "attack: told its retired log is done while it owes a signed command, the agent stays and alerts log-withheld"
	rp_wait_for 90 grep -q "moved from log 127.0.0.1/rampart/acme to log 127.0.0.1/rampart/acme/2" "$T/a2.log" ||
		die "a2 did not move once the withheld command expired: $(tail -3 "$T/a2.log")"
	[ ! -e "$T/canary.a2" ] || die "the withheld command ran"
	rp_ok "once the withheld command expired, the agent moves; the command ran nowhere"
}
export -f rp_status rp_as rp_sql
export DATA CLI PORT PIN T

test_parked_on_a_retired_log
test_withheld_command_keeps_it_on_the_retired_log
rp_agent_stop a1
rp_agent_stop a2
