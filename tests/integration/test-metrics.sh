#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# rampartd's /metrics (--metrics-listen, docs/monitoring.md) follows what
# happens: a device enrolled, a command delivered and its result stored,
# the witness cosigning and then down; and the log has no line per agent
# poll at the default level, one with --log-level debug.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
MPORT=$(rp_free_port)
SERVER_ARGS="--metrics-listen 127.0.0.1:$MPORT"
rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 2
rp_enroll a1
rp_agent_start a1

export -f rp_status rp_as
export CLI PORT PIN ORG T
scrape() { curl -sf "http://127.0.0.1:$MPORT/metrics"; }
# metric 'NAME{LABELS}': its value in a scrape (empty when absent)
metric() { scrape | awk -v k="$1" '$1 == k {print $2}'; }

test_metrics_follow_actions() {
	local id
	scrape >"$T/m0" || die "no /metrics on 127.0.0.1:$MPORT"
	grep -q '^# TYPE rampartd_http_responses_total counter$' "$T/m0" || die "no type lines: $(head "$T/m0")"
	[ "$(metric 'rampart_devices{org="acme"}')" = 1 ] || die "devices: $(grep rampart_devices "$T/m0")"
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	[ "$(metric 'rampart_commands{org="acme",state="pending-approval"}')" = 1 ] || die "pending approvals: $(scrape | grep rampart_commands)"
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 60 bash -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -qx 'rampart_deliveries{org=\"acme\",status=\"done\"} 1'" ||
		die "the stored result is not counted: $(scrape | grep rampart_deliveries)"
	[ "$(metric 'rampart_devices_online{org="acme"}')" = 1 ] || die "online: $(scrape | grep online)"
	local ok size
	ok=$(metric 'rampartd_witness_requests_total{org="acme",log="1",witness="w1",result="ok"}')
	[ -n "$ok" ] && [ "$ok" -ge 1 ] || die "witness answers: $(scrape | grep witness_requests)"
	size=$(metric 'rampart_log_size{org="acme"}')
	[ "$size" -ge 2 ] || die "log size $size"
	[ "$(metric 'rampartd_witness_latency_seconds_count{org="acme",log="1",witness="w1"}')" = "$ok" ] || die "latency count"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/v1/health")" = 404 ] || die "the metrics listener serves other paths"
	rp_ok "/metrics: devices, online, pending approvals, a stored result, log size, witness answers and latency follow what happened"
}

# A command for one device wakes one held poll, not every one (issue 12).
polls_held() { [ "$(metric rampartd_held_polls)" = "$1" ]; }
test_wake_only_targets() {
	local before after id
	rp_enroll a2
	rp_enroll a3
	rp_agent_start a2
	rp_agent_start a3
	rp_wait_for 30 polls_held 3 || die "three polls are not held: $(metric rampartd_held_polls)"
	before=$(metric rampartd_poll_lookups_total)
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 60 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" || die "the command did not run"
	after=$(metric rampartd_poll_lookups_total)
	[ "$((after - before))" = 1 ] || die "a command for one device looked up $((after - before)) held polls"
	rp_ok "a checkpoint with a command for one device wakes that device's held poll alone"
}

test_witness_down_counted() {
	local before after id
	before=$(metric 'rampartd_witness_requests_total{org="acme",log="1",witness="w1",result="failed"}')
	kill "$WPID_1"; wait "$WPID_1" 2>/dev/null || true
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 60 bash -c "[ \$(curl -sf http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"rampartd_witness_requests_total{org=\\\"acme\\\",log=\\\"1\\\",witness=\\\"w1\\\",result=\\\"failed\\\"}\" {print \$2}') -gt $before ]" ||
		die "a witness down is not counted: $(scrape | grep witness_requests)"
	rp_ok "a witness that is down shows as failed cosignature requests"
}

test_poll_lines_only_at_debug() {
	grep -q "GET /v1/agent/poll" "$T/server.log" && die "a line per poll at the default level: $(grep -m2 'agent/poll' "$T/server.log")"
	grep -q "POST /v1/agent/result 200" "$T/server.log" || die "no line for the result (an event)"
	rp_server_stop
	SERVER_ARGS="--log-level debug" rp_server_start
	rp_wait_for 30 grep -q "GET /v1/agent/poll" "$T/server.log" || die "no poll line with --log-level debug"
	local rc=0
	"$RAMPARTD" serve --data "$DATA" --log-level loud >/dev/null 2>"$T/ll.err" || rc=$?
	[ "$rc" = 2 ] && grep -q -- "--log-level \`loud' is not info or debug" "$T/ll.err" || die "--log-level loud: $rc"
	rp_ok "no log line per agent poll at the default level, one each with --log-level debug; a bad level is a usage error"
}

# Under journald (JOURNAL_STREAM names its stderr, as systemd sets it) a
# line's priority is its sd-daemon prefix; elsewhere lines carry none.
test_journal_priorities() {
	local js id
	grep -q '^<[0-7]>' "$T/server.log" && die "a priority prefix outside journald: $(grep -m1 '^<' "$T/server.log")"
	rp_server_stop
	: >"$T/journal.log"
	js=$(stat -c '%d:%i' "$T/journal.log")
	JOURNAL_STREAM=$js "$RAMPARTD" serve --data "$DATA" --listen "127.0.0.1:$PORT" --poll-hold 5 \
		>>"$T/journal.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	rp_wait_for 20 rp_health || die "rampartd did not come back"
	curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$PORT/v1/orgs/acme/commands" || true
	rp_wait_for 10 grep -q '^<5>rampartd: GET /v1/orgs/acme/commands 401 ' "$T/journal.log" ||
		die "a refusal is not a notice: $(grep -m1 'commands 401' "$T/journal.log")"
	# the witness is down (above): a new checkpoint cannot be cosigned, a warning
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 grep -q '^<[34]>rampartd: org acme: witness w1 ' "$T/journal.log" ||
		die "a witness failure has no priority: $(grep -m2 'witness w1' "$T/journal.log")"
	grep -q '^rampartd [0-9.]*: serving' "$T/journal.log" ||
		die "the start line has a prefix or is missing: $(head -2 "$T/journal.log")"
	rp_ok "under journald a refusal is a notice and a witness failure a warning; info lines and lines outside journald carry no prefix"
}

test_metrics_follow_actions
test_wake_only_targets
test_witness_down_counted
test_poll_lines_only_at_debug
test_journal_priorities
rp_note "all metrics tests passed"
