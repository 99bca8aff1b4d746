#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# When statements run, over real binaries: expiry means one thing for the
# server, the agent and what results show.
#
# No timing is asserted: "not after its expiry" is correctness (the clocks
# here are one clock), and everything else waits for a condition with a
# deadline.
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
	touch "$T/long.release"
	rp_wait_for 30 bash -c "[ \"\$(status $id)\" = done ]" || die "long: status $(status "$id"), want done"
	rp_ok "a command started before its expiry shows running past it, then done; never expired"
}

test_expired_while_agent_down_never_runs
test_started_before_expiry_is_done_not_expired
rp_note "all schedule tests passed"
