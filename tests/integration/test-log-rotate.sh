#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Log key rotation (issue 9): `rampartd rotate log-key' makes the key of a
# new log, the witnesses add it, and a root policy naming it ends the old
# log (its last entry) and starts the new one (its entry 0). Agents follow
# without being touched: a running one moves at once, one that was away
# first runs what the old log still held for it, then moves. The old log
# stays served and cosigned, so it stays auditable; and a breached server
# that still holds the old log key and appends to the retired log makes
# no agent act on it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 1
for a in a1 a2 a3 a7; do rp_enroll "$a"; done
rp_agent_start a1
rp_agent_start a2

# waits until command ID ended STATUS on the agent NAME
ended() {
	local v="DEV_$2"
	rp_wait_for "${4:-40}" bash -c "[ \"\$(rp_status $1 ${!v})\" = $3 ]" ||
		die "command $1 on $2: $(rp_status "$1" "${!v}"), not $3"
}
# witnessed GEN: waits until every entry of that log is in its served checkpoint
witnessed() {
	rp_wait_for 20 bash -c "[ \"\$(rp_sql 'SELECT served_size FROM logs WHERE gen = $1')\" = \"\$(rp_sql 'SELECT size FROM logs WHERE gen = $1')\" ]"
}
export -f rp_status rp_as rp_sql
export DATA
export CLI PORT PIN T

test_rotation_makes_a_next_log() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --to "$DEV_a2" --to "$DEV_a7" --run-as "$ME" -- sh -c "echo before >>$T/before.\$(hostname)") ||
		die "run before"
	A7CMD=$id # a7 is away until after two rotations (test_agent_away_across_two_rotations)
	ended "$id" a1 done
	ended "$id" a2 done
	"$RAMPARTD" rotate log-key --data "$DATA" --org acme >"$T/lk2" 2>"$T/lk2.log" ||
		die "rotate log-key: $(cat "$T/lk2.log")"
	LK2=$(cat "$T/lk2")
	[[ "$LK2" == 127.0.0.1/rampart/acme/2+* ]] || die "the next log key is $LK2"
	[ -f "$DATA/log-keys/127.0.0.1%2Frampart%2Facme%2F2.key" ] || die "no key file for the next log"
	[ "$("$RAMPARTD" rotate log-key --data "$DATA" --org acme 2>/dev/null)" = "$LK2" ] ||
		die "a second rotate log-key made another key"
	[ "$(rp_sql "SELECT gen || state FROM logs ORDER BY gen")" = "$(printf '1active\n2next')" ] ||
		die "logs after rotate log-key: $(rp_sql "SELECT gen, state FROM logs")"
	rp_ok "rotate log-key makes one next log (origin …/acme/2, its own key file), and says it again when asked again"
	rp_as 1 audit --state "$T/audit.state" >"$T/audit0.out" 2>&1 || { cat "$T/audit0.out" >&2; die "audit before the rotation"; }
	cp "$T/a1/checkpoint.note" "$T/a1-log1.note" # a device's checkpoint of log 1, for --checkpoint later
	# an enrolment token made before the rotation, used after it (test_new_enrolment_and_restart)
	OLDTOK=$(rp_as 1 enroll-token --expires 10m) || die "enroll-token"
	OLDTOK2=$(rp_as 1 enroll-token --expires 10m) || die "enroll-token"

	# a policy naming a key the server does not hold is refused before anyone signs twice
	"$CLI" key generate "stray@acme.example" --out "$T/stray.key" >/dev/null 2>&1
	rp_as 1 policy propose --yes --log-key "$(cat "$T/stray.key.vkey" | sed 's/^stray@acme.example/127.0.0.1\/rampart\/acme\/9/')" \
		>"$T/pstray.out" 2>&1 && die "a policy naming an unknown log key was proposed"
	grep -q "nor the key of a next log" "$T/pstray.out" ||
		grep -q "not an Ed25519 verifier key\|--log-key" "$T/pstray.out" || die "stray key: $(cat "$T/pstray.out")"
	rp_ok "a root policy naming a log key the server holds no next log for is refused"
}

# a3 is away during the rotation, with a command waiting for it in the old log
test_policy_moves_the_log() {
	OLDCMD=$(rp_submit 1 --to "$DEV_a3" --run-as "$ME" -- sh -c "echo old-log >$T/a3.old") ||
		die "run for a3"
	witnessed 1 || die "the command for a3 was not witnessed"
	"$WITNESS" add-log --data "$T/w1" --vkey "$LK2" >/dev/null || die "add-log on w1"
	rp_as 1 policy propose --yes --log-key "$LK2" >"$T/p2.out" 2>&1 || { cat "$T/p2.out" >&2; die "propose"; }
	grep -q "NEW LOG: the log key becomes 127.0.0.1/rampart/acme/2" "$T/p2.out" ||
		die "propose did not say the log moves: $(cat "$T/p2.out")"
	rp_as 2 approve --policy --yes >"$T/a2.out" 2>&1 || { cat "$T/a2.out" >&2; die "approve"; }
	grep -q "its log ends at entry" "$T/server.log" || die "rampartd did not say the log ended"
	[ "$(rp_sql "SELECT gen || state FROM logs ORDER BY gen")" = "$(printf '1retired\n2active')" ] ||
		die "logs after the policy: $(rp_sql "SELECT gen, state FROM logs")"
	local last first
	last=$(rp_sql "SELECT hex(data) FROM log_entries e JOIN logs l ON l.id = e.log WHERE l.gen = 1 ORDER BY idx DESC LIMIT 1")
	first=$(rp_sql "SELECT hex(data) FROM log_entries e JOIN logs l ON l.id = e.log WHERE l.gen = 2 AND idx = 0")
	[ -n "$last" ] && [ "$last" = "$first" ] || die "the policy is not both the old log's last entry and the new log's first"
	rp_ok "the policy naming the next key is published: the last entry of log 1 and entry 0 of log 2"

	for a in a1 a2; do
		rp_wait_for 40 grep -q "moved from log 127.0.0.1/rampart/acme to log 127.0.0.1/rampart/acme/2" "$T/$a.log" ||
			die "$a did not move to the new log: $(tail -5 "$T/$a.log")"
	done
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --to "$DEV_a2" --to "$DEV_a3" --run-as "$ME" -- sh -c "echo after >>$T/after.\$(hostname)") ||
		die "run after"
	NEWCMD=$id
	ended "$id" a1 done
	ended "$id" a2 done
	[ "$(grep -o 'origin [^ ]*' "$T/a1/log.state")" = "origin 127.0.0.1/rampart/acme/2" ] ||
		die "a1's log.state: $(cat "$T/a1/log.state")"
	rp_ok "running agents move to the new log without being touched, and run its commands"

	# the audit that stopped at log 1 goes on into log 2, and remembers it
	rp_as 1 audit --state "$T/audit.state" >"$T/audit1.out" 2>&1 || { cat "$T/audit1.out" >&2; die "audit across the rotation"; }
	grep -q "it ended at entry 3, a log key rotation: reading log generation 2" "$T/audit1.out" ||
		die "the audit did not follow the rotation: $(cat "$T/audit1.out")"
	grep -q "^#2/0 root policy of acme version 2 .* starts log 127.0.0.1/rampart/acme/2 (generation 2)" "$T/audit1.out" ||
		die "the audit did not check log 2's entry 0: $(cat "$T/audit1.out")"
	grep -q "^audit: 127.0.0.1/rampart/acme/2: 2 entries, .*; 0 findings" "$T/audit1.out" ||
		die "audit summary: $(tail -2 "$T/audit1.out")"
	grep -qx "log 2" "$T/audit.state" || die "the audit state does not say log 2: $(head -3 "$T/audit.state")"
	grep -q "^retired 1 4 [^ ]* 1 sha256:" "$T/audit.state" || die "the audit state does not keep log 1: $(head -4 "$T/audit.state")"
	rp_as 1 audit --state "$T/audit.state" --checkpoint "$T/a1-log1.note" --checkpoint "$T/a1/checkpoint.note" \
		>"$T/audit2.out" 2>&1 || { cat "$T/audit2.out" >&2; die "audit rerun with the devices' checkpoints"; }
	[ "$(grep -c "is consistent with this log" "$T/audit2.out")" = 2 ] ||
		die "a checkpoint of log 1 and one of log 2 were not both checked against their logs: $(cat "$T/audit2.out")"
	grep -q "^audit: retired log 127.0.0.1/rampart/acme (generation 1): still the 4 entries replayed" "$T/audit2.out" ||
		die "the rerun did not check the retired log: $(cat "$T/audit2.out")"
	rp_as 2 audit --quiet --state "$T/audit-new.state" >"$T/audit3.out" 2>&1 || { cat "$T/audit3.out" >&2; die "audit from scratch"; }
	rp_ok "rampart audit replays log 1 to the policy that ended it, then log 2 from that policy; incremental and from scratch; devices' checkpoints of either log checked against their own log"
}

test_agent_away_follows() {
	# The breached server still holds the old key: it appends to the retired log
	# (here by making it the active one again for one command), the witness
	# cosigns (the log only grew), and it serves that entry to an agent still
	# reading the old log.
	# (the witness is down meanwhile, so that rampartd asks it once log 1 is
	# retired again and serves what it cosigns)
	rp_witness_stop 1
	rp_sql "UPDATE logs SET state = 'next' WHERE gen = 2; UPDATE logs SET state = 'active' WHERE gen = 1"
	EVIL=$(rp_submit 1 --to "$DEV_a3" --run-as "$ME" -- sh -c "echo evil >$T/a3.evil") || die "run evil"
	rp_sql "UPDATE logs SET state = 'retired' WHERE gen = 1; UPDATE logs SET state = 'active' WHERE gen = 2"
	rp_witness_start 1
	witnessed 1 || die "the entry after the end of log 1 was not witnessed"
	rp_ok "a breached server appended a command to the retired log with the old key, and the witness cosigned it"

	rp_agent_start a3
	ended "$OLDCMD" a3 done 60
	[ "$(cat "$T/a3.old")" = old-log ] || die "a3 did not run the old log's command"
	ended "$NEWCMD" a3 done 60
	grep -q "moved from log 127.0.0.1/rampart/acme to log 127.0.0.1/rampart/acme/2" "$T/a3.log" ||
		die "a3 did not move"
	rp_ok "an agent away during the rotation runs what the old log held for it, moves, and runs the new log's commands"

	[ ! -e "$T/a3.evil" ] || die "a3 ran the command appended to the retired log"
	grep -q "log-retired" "$T/a3/alerts.log" || die "a3 raised no log-retired alert: $(cat "$T/a3/alerts.log" 2>/dev/null)"
	[ "$(rp_status "$EVIL" "$DEV_a3")" != done ] || die "the evil command shows done on a3"
	rp_ok "the entry appended to the retired log ran nowhere: a3 read past the policy that ended it, alerted log-retired, refused it"

	local rc=0
	rp_as 2 audit --quiet --state "$T/audit-evil.state" >"$T/audit4.out" 2>&1 || rc=$?
	[ "$rc" = 3 ] || { cat "$T/audit4.out" >&2; die "audit of the grown retired log: exit $rc, want 3"; }
	grep -q "^FINDING: entry 4: log 127.0.0.1/rampart/acme has an entry after entry 3, the root policy that ended it" "$T/audit4.out" ||
		die "the audit did not report the entry after the end: $(cat "$T/audit4.out")"
	rc=0
	rp_as 1 audit --quiet --state "$T/audit.state" >"$T/audit5.out" 2>&1 || rc=$?
	[ "$rc" = 3 ] || { cat "$T/audit5.out" >&2; die "incremental audit after the append: exit $rc, want 3"; }
	grep -q "^FINDING: retired log 127.0.0.1/rampart/acme (generation 1) grew from 4 to 5 entries" "$T/audit5.out" ||
		die "the incremental audit did not see the retired log grow: $(cat "$T/audit5.out")"
	rp_ok "attack: rampart audit reports the entry appended to the retired log as a finding, from scratch and in an audit that had moved past it"
}

test_new_enrolment_and_restart() {
	# a new device after the rotation reads the new log from its entry 0
	rp_enroll a4
	rp_agent_start a4
	# and one enrolled with a token made before it trusts what that token names, follows
	"$AGENT" enroll --token "$OLDTOK" --state-dir "$T/a5" >"$T/a5.enroll" 2>&1 ||
		{ cat "$T/a5.enroll" >&2; die "enroll a5 with a token made before the rotation"; }
	DEV_a5=$(awk '$1 == "device" {print $2}' "$T/a5/agent.conf")
	rp_agent_start a5
	local id
	id=$(rp_submit 1 --to "$DEV_a4" --to "$DEV_a1" --to "$DEV_a5" --run-as "$ME" -- true) || die "run a4"
	ended "$id" a4 done
	ended "$id" a5 done 60
	# a restart of rampartd and of an agent keeps everyone on the new log
	rp_agent_stop a1
	rp_server_stop
	rp_server_start
	rp_agent_start a1
	ended "$id" a1 done
	id=$(rp_submit 1 --to "$DEV_a1" --to "$DEV_a4" --run-as "$ME" -- true) || die "run after restart"
	ended "$id" a1 done
	ended "$id" a4 done
	rp_ok "devices enrolled after the rotation (with a token made before it, too), and restarts of rampartd and an agent, work on the new log"

	# both logs stay served: the old one at /v1/log/acme/1/, the new one at /v1/log/acme/
	curl -skf "https://127.0.0.1:$PORT/v1/log/acme/1/checkpoint" | head -1 | grep -qx "127.0.0.1/rampart/acme" ||
		die "log 1's checkpoint is not served"
	curl -skf "https://127.0.0.1:$PORT/v1/log/acme/checkpoint" | head -1 | grep -qx "127.0.0.1/rampart/acme/2" ||
		die "the active log's checkpoint is not log 2's"
	curl -skf "https://127.0.0.1:$PORT/v1/log/acme/2/checkpoint" | head -1 | grep -qx "127.0.0.1/rampart/acme/2" ||
		die "log 2's checkpoint is not served by generation"
	rp_ok "the retired log stays served (/v1/log/acme/1/), beside the new one"
	for a in a1 a2 a4 a5; do
		[ ! -s "$T/$a/alerts.log" ] || die "$a raised alerts: $(cat "$T/$a/alerts.log")"
	done
	rp_ok "no agent that read only the genuine logs raised an alert"
}

# a7 was enrolled before the first rotation and starts only after a second:
# it reads log 1 to its end, log 2 to its end, and goes on in log 3.
test_agent_away_across_two_rotations() {
	"$RAMPARTD" rotate log-key --data "$DATA" --org acme >"$T/lk3" 2>>"$T/lk2.log" || die "rotate log-key again"
	LK3=$(cat "$T/lk3")
	[[ "$LK3" == 127.0.0.1/rampart/acme/3+* ]] || die "the third log key is $LK3"
	"$WITNESS" add-log --data "$T/w1" --vkey "$LK3" >/dev/null || die "add-log log 3"
	rp_as 1 policy propose --yes --log-key "$LK3" >"$T/p3l.out" 2>&1 || { cat "$T/p3l.out" >&2; die "propose v3"; }
	rp_as 2 approve --policy --yes >"$T/a3l.out" 2>&1 || { cat "$T/a3l.out" >&2; die "approve v3"; }
	for a in a1 a2 a4; do
		rp_wait_for 40 grep -q "moved from log 127.0.0.1/rampart/acme/2 to log 127.0.0.1/rampart/acme/3" "$T/$a.log" ||
			die "$a did not move to log 3: $(tail -3 "$T/$a.log")"
	done
	local id
	id=$(rp_submit 1 --to "$DEV_a7" --to "$DEV_a1" --run-as "$ME" -- true) || die "run in log 3"
	ended "$id" a1 done
	rp_agent_start a7
	ended "$A7CMD" a7 done 60
	ended "$id" a7 done 60
	[ "$(grep -c "moved from log" "$T/a7.log")" = 2 ] || die "a7 moved $(grep -c "moved from log" "$T/a7.log") times, not 2"
	grep -q "origin 127.0.0.1/rampart/acme/3" "$T/a7/log.state" || die "a7's log.state: $(cat "$T/a7/log.state")"
	rp_ok "an agent away across two log key rotations runs the first log's command, moves twice, and runs the third log's"
}

# The breached server promotes a proposal only one root key signed to be
# the current version, and serves it to a device enrolling with a token
# made before the rotation: the chain from the token's version breaks at it.
test_enrolment_refuses_a_forged_chain() {
	rp_as 1 policy propose --yes --freshness 700 >"$T/p4.out" 2>&1 || { cat "$T/p4.out" >&2; die "propose v4"; }
	rp_sql "INSERT INTO policies (org, version, hash, policy, created) SELECT org, version, hash, policy, created FROM policy_proposals WHERE version = 4"
	[ "$(curl -skf "https://127.0.0.1:$PORT/v1/orgs/acme/policy" | grep -o '"version": *[0-9]*' | grep -o '[0-9]*$')" = 4 ] ||
		die "the server does not serve the forged version 4 (test broken)"
	"$AGENT" enroll --token "$OLDTOK2" --state-dir "$T/a6" >"$T/a6.enroll" 2>&1 &&
		die "a device enrolled under a root policy only one root key signed"
	grep -q "SECURITY: refusing the server's root policy: version 4 does not follow from version 3: 1 of 2 required signatures of role root" "$T/a6.enroll" ||
		die "enrolment: $(cat "$T/a6.enroll")"
	[ ! -e "$T/a6/agent.conf" ] || die "a6 was left enrolled"
	rp_ok "attack: a device enrolling with a token older than the rotation refuses a current version that does not follow from the token's by verified rotations"
}

test_rotation_makes_a_next_log
test_policy_moves_the_log
test_agent_away_follows
test_new_enrolment_and_restart
test_agent_away_across_two_rotations
test_enrolment_refuses_a_forged_chain
for a in a1 a2 a3 a4 a5 a7; do rp_agent_stop "$a"; done
