#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# When statements run, over real binaries: expiry means one thing for the
# server, the agent and what results show; a command scheduled with
# --not-before is held back by the server, logged and delivered at its
# time, and runs then, in the order of the times, across a restart.
#
# No timing is asserted: "not before its time" and "not after its expiry"
# are correctness (the clocks here are one clock), and everything else
# waits for a condition with a deadline. How late a scheduled command ran
# is printed as a note; bench/burst measures the sequencer's timing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 2
rp_org acme 2 2
rp_enroll a1
rp_agent_start a1
TOKEN=$(rp_as 1 token create --name schedule --scope read --expires 1h)

# api PATH: the server's JSON for GET /v1/orgs/acme/PATH (a read token).
api() {
	curl -skf --tlsv1.3 -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/v1/orgs/acme/$1"
}
# field JSON-PATH: a field of the JSON on stdin, e.g. `field state'.
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
status() { api "commands/$1/results" | python3 -c '
import json, sys
print(json.load(sys.stdin)["results"][0]["status"])'; }
# epoch TIME: Unix seconds of a statement's YYYY-MM-DDTHH:MM:SSZ.
epoch() { date -u -d "$(sed 's/T/ /; s/Z$//' <<<"$1")" +%s; }
# stmt_time ID FIELD: not-before or expires of the stored signed statement, in Unix seconds.
stmt_time() {
	epoch "$(rp_sql "SELECT statement FROM commands WHERE id = '$1'" | awk -v f="$2" '$1 == f {print $2}')"
}
# stamp_at T: Unix second T as a statement time, for --not-before.
stamp_at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# ran_at NAME: when command NAME ran (ns), written by the command itself.
ran_at() { head -n 1 "$T/ran.$1"; }
# submit_approved NAME ARGS...: a command that writes the time it ran to
# $T/ran.NAME, submitted by admin1 and approved by admin2; prints the id.
submit_approved() {
	local name=$1 id; shift
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" "$@" -- sh -c "date +%s%N >> $T/ran.$name")
	[ -n "$id" ] || die "$name: no command id"
	rp_as 2 approve --yes "$id" >/dev/null || die "$name: approve"
	echo "$id"
}
# clock_past T: true once this machine's clock is past Unix second T.
clock_past() { [ "$(date +%s)" -gt "$1" ]; }
# barrier: a command approved now, after everything before it, run to the end;
# the agent acts in log order, so whatever it was offered before has been acted on.
barrier() {
	local id
	id=$(submit_approved "barrier$1")
	rp_wait_for 30 test -e "$T/ran.barrier$1" || die "barrier $1 did not run"
	rp_wait_for 10 bash -c "[ \"\$(status $id)\" = done ]" || die "barrier $1 not done"
}
export -f api status
export TOKEN PORT

test_expired_while_agent_down_never_runs() {
	rp_agent_stop a1
	local id ex
	id=$(submit_approved lapsed --expires 3s)
	ex=$(stmt_time "$id" expires)
	rp_wait_for 30 clock_past "$ex" || die "lapsed: the clock never passed its expiry"
	[ "$(status "$id")" = expired ] || die "lapsed: status $(status "$id") past expiry, want expired"
	rp_agent_start a1
	barrier 1
	[ ! -e "$T/ran.lapsed" ] || die "lapsed: ran after its expiry (within the old 300 s skew)"
	[ "$(status "$id")" = expired ] || die "lapsed: status became $(status "$id"), want expired"
	[ "$(rp_status "$id" "$DEV_a1")" = expired ] || die "lapsed: rampart results shows $(rp_status "$id" "$DEV_a1"), want expired"
	! grep -q "$id" "$T/a1/executed" 2>/dev/null || die "lapsed: the agent was offered it after expiry"
	rp_ok "a command whose expiry passed while its agent was down never runs and stays expired"
}

test_started_before_expiry_is_done_not_expired() {
	# It runs across its expiry: started in time, so never shown expired.
	local id ex
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --expires 15s --timeout 120 -- \
		sh -c "touch $T/long.started; while [ ! -e $T/long.release ]; do sleep 0.1; done")
	rp_as 2 approve --yes "$id" >/dev/null
	ex=$(stmt_time "$id" expires)
	rp_wait_for 30 test -e "$T/long.started" || die "long: did not start"
	rp_wait_for 30 clock_past "$ex" || die "long: the clock never passed its expiry"
	rp_wait_for 10 bash -c "[ \"\$(status $id)\" = running ]" \
		|| die "long: status $(status "$id") past expiry while it runs, want running"
	# The CLI derives its own state from what it verified: no result yet, so
	# still pending (a result may come), not expired.
	[ "$(rp_status "$id" "$DEV_a1")" = pending ] \
		|| die "long: rampart results shows $(rp_status "$id" "$DEV_a1") past expiry while it runs, want pending"
	touch "$T/long.release"
	rp_wait_for 30 bash -c "[ \"\$(status $id)\" = done ]" || die "long: status $(status "$id"), want done"
	[ "$(rp_status "$id" "$DEV_a1")" = done ] || die "long: rampart results shows $(rp_status "$id" "$DEV_a1"), want done"
	rp_ok "a command started before its expiry shows running (rampart results: pending) past it, then done; never expired"
}

test_not_before_runs_at_its_time() {
	local id nb t
	id=$(submit_approved later --not-before 8s)
	nb=$(stmt_time "$id" not-before)
	[ "$(api "commands/$id" | field state)" = scheduled ] || die "later: state is not scheduled"
	[ "$(api "commands/$id" | field not_before)" = "$nb" ] || die "later: API not_before differs"
	[ "$(status "$id")" = scheduled ] || die "later: result status $(status "$id"), want scheduled"
	[ -z "$(rp_sql "SELECT log_index FROM commands WHERE id = '$id'")" ] \
		|| die "later: logged before its time"
	rp_wait_for 40 test -e "$T/ran.later" || die "later: never ran"
	t=$(ran_at later)
	[ "$t" -ge "$((nb * 1000000000))" ] || die "later: ran $(((nb * 1000000000 - t) / 1000000)) ms before its not-before"
	rp_wait_for 10 bash -c "[ \"\$(status $id)\" = done ]" || die "later: status $(status "$id"), want done"
	rp_note "later: ran $(((t - nb * 1000000000) / 1000000)) ms after its not-before"
	rp_ok "--not-before 8s: scheduled, not logged, runs at its time and not before"
}

test_due_earlier_runs_first() {
	local a b nba nbb
	a=$(submit_approved first --not-before 10s)
	b=$(submit_approved second --not-before 4s)
	nba=$(stmt_time "$a" not-before)
	nbb=$(stmt_time "$b" not-before)
	[ "$nbb" -lt "$nba" ] || die "order: second is not due first"
	rp_wait_for 40 test -e "$T/ran.first" || die "order: first never ran"
	rp_wait_for 10 test -e "$T/ran.second" || die "order: second never ran"
	[ "$(ran_at second)" -lt "$(ran_at first)" ] || die "order: submitted-first ran first, not due-first"
	[ "$(ran_at second)" -ge "$((nbb * 1000000000))" ] || die "order: second ran early"
	[ "$(ran_at first)" -ge "$((nba * 1000000000))" ] || die "order: first ran early"
	[ "$(rp_sql "SELECT log_index FROM commands WHERE id = '$b'")" -lt \
	  "$(rp_sql "SELECT log_index FROM commands WHERE id = '$a'")" ] || die "order: log order is not due order"
	rp_ok "a command submitted later but due earlier is logged and runs first"
}

test_restart_while_scheduled() {
	# x2 is submitted before x1 but due a second later; both fall due while
	# the server is down. y is still ahead when it comes back.
	local x1 x2 y nb1 nb2 nby base=$(($(date +%s) + 10))
	x2=$(submit_approved x2 --not-before "$(stamp_at $((base + 1)))")
	x1=$(submit_approved x1 --not-before "$(stamp_at "$base")")
	y=$(submit_approved y --not-before "$(stamp_at $((base + 14)))")
	nb1=$(stmt_time "$x1" not-before)
	nb2=$(stmt_time "$x2" not-before)
	nby=$(stmt_time "$y" not-before)
	[ "$nb1" -lt "$nb2" ] || die "restart: x1 is not due before x2"
	clock_past "$((nb1 - 1))" && die "restart: x1 due before the server stopped (machine too slow to test)"
	rp_server_stop
	rp_wait_for 30 clock_past "$nb2" || die "restart: the clock never passed x2's start"
	[ "$(date +%s)" -lt "$nby" ] || die "restart: y already due (machine too slow to test)"
	rp_server_start
	rp_wait_for 40 test -e "$T/ran.x2" || die "restart: x2, due while the server was down, never ran"
	rp_wait_for 10 test -e "$T/ran.x1" || die "restart: x1 never ran"
	[ "$(ran_at x1)" -lt "$(ran_at x2)" ] || die "restart: due together, not run in the order of their times"
	[ ! -e "$T/ran.y" ] || die "restart: y ran before its time"
	rp_wait_for 40 test -e "$T/ran.y" || die "restart: y never ran after the restart"
	[ "$(ran_at y)" -ge "$((nby * 1000000000))" ] || die "restart: y ran early"
	rp_note "restart: y ran $((($(ran_at y) - nby * 1000000000) / 1000000)) ms after its not-before"
	rp_ok "restart: what fell due while down runs at start in time order; what is ahead runs at its time"
}

test_expired_while_agent_down_never_runs
test_started_before_expiry_is_done_not_expired
test_not_before_runs_at_its_time
test_due_earlier_runs_first
test_restart_while_scheduled
rp_note "all schedule tests passed"
