#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# rampartd's --alert-webhook (docs/monitoring.md): an alert an agent
# reports reaches a receiver on loopback, signed with the shared secret,
# through a receiver that refuses at first and one that is down for a
# while; the counters say so; wrong settings stop rampartd at start.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

HERE=$(cd "$(dirname "$0")" && pwd)
ME=$(id -un)
MPORT=$(rp_free_port)
RPORT=$(rp_free_port)
printf 'a shared secret\n' >"$T/hook.secret"
chmod 0600 "$T/hook.secret"
SERVER_ARGS="--metrics-listen 127.0.0.1:$MPORT --alert-webhook http://127.0.0.1:$RPORT/hooks/rampart?team=ops --alert-webhook-secret $T/hook.secret"
rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 2
rp_enroll a1
rp_agent_start a1

# receiver [FAIL_FIRST]: (re)starts the receiver; sets RECV_PID
receiver() {
	python3 "$HERE/webhook-receiver.py" "$RPORT" "$T/hooks.jsonl" "$T/hook.secret" "${1:-0}" \
		>>"$T/receiver.log" 2>&1 &
	RECV_PID=$!
	PIDS+=("$RECV_PID")
	rp_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RPORT" || die "the receiver did not come up"
}
metric() { curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
hooks() { [ -f "$T/hooks.jsonl" ] && wc -l <"$T/hooks.jsonl" || echo 0; }
failed_at_least() { [ "$(metric 'rampartd_alert_webhook_total{result="failed"}')" -ge "$1" ]; }
hooks_at_least() { [ "$(hooks)" -ge "$1" ]; }
# replay ID: the breached server hands the device command ID again: the agent's `replay' alert
replay() { rp_sql "UPDATE deliveries SET status = 'pending' WHERE command_id = '$1'"; }
ran() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_wait_for 30 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" 2>/dev/null || true
	echo "$id"
}
export -f rp_status rp_as
export CLI PORT PIN ORG T

test_alert_reaches_webhook_through_refusals() {
	local id line
	receiver 2
	id=$(ran)
	replay "$id"
	rp_wait_for 40 hooks_at_least 1 || die "no alert reached the webhook: $(tail -3 "$T/server.log")"
	[ "$(wc -l <"$T/hooks.jsonl.fails")" = 2 ] || die "the receiver's refusals were not retried"
	line=$(head -1 "$T/hooks.jsonl")
	python3 - "$line" "$DEV_a1" "$id" <<'EOF' || die "the posted alert: $line"
import json, sys
h = json.loads(sys.argv[1]); b = h["body"]
assert h["path"] == "/hooks/rampart?team=ops", h["path"]
assert h["signature_ok"], "signature"
assert b["source"] == "rampartd" and b["org"] == "acme", b
assert b["device"] == sys.argv[2] and b["command"] == sys.argv[3], b
assert b["code"] == "replay" and b["security"] is True and "already" in b["reason"], b
assert isinstance(b["at"], int)
EOF
	[ "$(metric 'rampartd_alert_webhook_total{result="sent"}')" = 1 ] || die "sent counter"
	[ "$(metric 'rampartd_alert_webhook_total{result="failed"}')" = 2 ] || die "failed counter"
	[ "$(metric 'rampartd_alert_webhook_queued')" = 0 ] || die "queued gauge"
	rp_ok "an agent's alert reaches the webhook, signed (HMAC-SHA256), after two refusals retried"
}

test_receiver_down_then_back() {
	local id
	kill "$RECV_PID"
	wait "$RECV_PID" 2>/dev/null || true
	id=$(ran)
	replay "$id"
	rp_wait_for 30 failed_at_least 3 || die "rampartd did not try the receiver that is down"
	q=$(metric 'rampartd_alert_webhook_queued'); [ "$q" = 1 ] || die "the alert is not queued: $q; $(grep webhook "$T/server.log" | tail -3)"
	receiver 0
	rp_wait_for 40 hooks_at_least 2 || die "the queued alert never arrived"
	grep -q "\"command\": \"$id\"" "$T/hooks.jsonl" || die "another alert arrived"
	rp_ok "an alert raised while the receiver is down arrives once it is back"
}

test_bad_settings() {
	local rc=0
	"$RAMPARTD" serve --data "$DATA" --listen 127.0.0.1:1 --alert-webhook-secret "$T/hook.secret" \
		>"$T/bad1.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q 'need --alert-webhook URL' "$T/bad1.log" || die "a secret without a URL: $rc"
	cp "$T/hook.secret" "$T/open.secret"
	chmod 0644 "$T/open.secret"
	rc=0
	timeout 10 "$RAMPARTD" serve --data "$DATA" --listen "127.0.0.1:$(rp_free_port)" \
		--alert-webhook http://127.0.0.1:1/ --alert-webhook-secret "$T/open.secret" >"$T/bad2.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q 'alert-webhook-secret' "$T/bad2.log" || die "a secret open to others: $rc $(cat "$T/bad2.log")"
	rc=0
	timeout 10 "$RAMPARTD" serve --data "$DATA" --listen "127.0.0.1:$(rp_free_port)" \
		--alert-webhook ftp://127.0.0.1/ >"$T/bad3.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q 'is not http' "$T/bad3.log" || die "an ftp URL: $rc $(cat "$T/bad3.log")"
	rp_ok "a secret without a URL, a secret open to others and a URL that is not http(s) stop rampartd"
}

test_alert_reaches_webhook_through_refusals
test_receiver_down_then_back
test_bad_settings
rp_note "all webhook tests passed"
