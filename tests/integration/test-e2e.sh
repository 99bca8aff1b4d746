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
rp_witnesses 2
rp_admins 3
rp_org acme 3 2
for a in a1 a2 a3; do rp_enroll $a; done
export RP_LEAK_CANARY=agent-environment
for a in a1 a2 a3; do rp_agent_start $a; done
unset RP_LEAK_CANARY

test_audit_clean() {
	# Everything authorised, nothing else: a clean audit, then an incremental one.
	rp_as 1 audit >"$T/audit.out" 2>&1 || { cat "$T/audit.out" >&2; die "audit of a clean log failed"; }
	grep -q '^#0 root policy of acme version 1' "$T/audit.out" || die "audit: no policy entry"
	grep -q '^#1 command .* signed by admin' "$T/audit.out" || die "audit: no command history"
	! grep -q FINDING "$T/audit.out" || die "audit: findings on a clean log"
	grep -q ' 0 findings$' "$T/audit.out" || die "audit: no summary"
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 20 grep -q "$id reported" "$T/a1/executed" || die "audit: command did not run"
	rp_as 1 audit >"$T/audit2.out" 2>&1 || { cat "$T/audit2.out" >&2; die "incremental audit failed"; }
	[ "$(grep -c '^#' "$T/audit2.out")" -eq 1 ] || die "incremental audit replayed more than the new entry"
	grep -q "^#[0-9]* command $id" "$T/audit2.out" || die "incremental audit missed $id"
	rp_ok "rampart audit: history of a clean log, then only what is new"
}

test_devices_listed() {
	local out
	out=$(rp_as 1 devices)
	for d in "$DEV_a1" "$DEV_a2" "$DEV_a3"; do
		grep -q "$d" <<<"$out" || die "device $d not listed"
	done
	rp_ok "devices listed"
}

test_one_signature_runs_nowhere() {
	ID=$(rp_submit 1 --to "$DEV_a1,$DEV_a2" --run-as "$ME" --timeout 20 -- \
		sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID; echo hello from rampart")
	[ -n "$ID" ] || die "no command id"
	rp_as 2 commands | grep "$ID" | grep -q pending-approval || die "command not pending approval"
	sleep 3
	[ ! -e "$T/ran.$ID" ] || die "command ran with 1 signature"
	[ "$(rp_status "$ID" "$DEV_a1")" = pending ] || die "status not pending"
	rp_ok "one signature of two runs nowhere"
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
	rp_ok "second signature runs on exactly the two targets; third never"
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
	rp_ok "timeout kills the whole process group"
}

# The agent killed while a command runs (kill -9, an OOM kill): restarted,
# it does not run the command again, and reports it failed in a result it
# signs, through its spool, so the server cannot lose the report.
test_agent_killed_mid_command() {
	local id marker=$T/mid.$$.started
	id=$(rp_submit 1 --to "$DEV_a2" --run-as "$ME" -- sh -c "echo x >> $marker; exec sleep 307")
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 test -e "$marker" || die "the command never started"
	kill -9 "$APID_a2"
	wait "$APID_a2" 2>/dev/null || true
	pkill -f 'sleep 307' || true # a command outlives kill -9 of its agent (docs/operating.md)
	rp_agent_start a2
	rp_wait_for 40 bash -c "[ \"\$(rp_status $id $DEV_a2)\" = failed ]" ||
		die "status is $(rp_status "$id" "$DEV_a2"), expected failed"
	rp_as 1 results "$id" >"$T/mid.results" 2>&1 || true
	grep "${DEV_a2:0:12}" "$T/mid.results" | grep -v UNVERIFIED | grep -q interrupted ||
		die "the interrupted result is not one the CLI verified: $(cat "$T/mid.results")"
	grep -q "$id reported" "$T/a2/executed" || die "a2 did not record the report"
	[ "$(wc -l <"$marker")" -eq 1 ] || die "the command ran twice"
	rp_ok "an agent killed mid-command reports it failed (signed, spooled) after its restart, and never runs it again"
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
	rp_ok "server restarts lose nothing and run nothing twice"
}

test_agent_verify_offline() {
	# `rampart-agent verify` runs the same checks on a saved delivery.
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 20 grep -q "$id reported" "$T/a1/executed" || die "verify: command never ran on a1"
	# The delivery as an agent gets it: proofs, and consistency from its checkpoint.
	bundle() {
		local size
		size=$(awk '$1 == "size" {print $2}' "$T/$1/log.state")
		curl -skf --tlsv1.3 -H "Authorization: Bearer $READ_TOKEN" \
			"https://127.0.0.1:$PORT/v1/orgs/acme/commands/$id/delivery?size=$size" \
			>"$T/delivery.json" || die "verify: no delivery bundle for $id"
	}
	bundle a1
	# Already executed here: the offline check says replay.
	if "$AGENT" verify --state-dir "$T/a1" "$T/delivery.json" >"$T/verify.out"; then
		die "verify accepted an executed command"
	fi
	grep -q "REFUSED (replay)" "$T/verify.out" || die "verify: $(cat "$T/verify.out")"
	# Not a target: a2 refuses it.
	bundle a2
	! "$AGENT" verify --state-dir "$T/a2" "$T/delivery.json" >"$T/verify.out" || die "a2 accepted"
	grep -q "not-a-target" "$T/verify.out" || die "verify a2: $(cat "$T/verify.out")"
	rp_ok "rampart-agent verify: the same checks offline"
}

test_api_tokens() {
	local url="https://127.0.0.1:$PORT/v1/orgs/acme"
	[ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" "$url/devices")" = 200 ] \
		|| die "read token cannot list devices"
	[ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" -X POST \
		--data '{"statement":"x","payload":""}' "$url/commands")" = 403 ] || die "read token could submit"
	[ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" "$url/tokens")" = 401 ] \
		|| die "a token could manage tokens"
	local tid long=nightly-inventory-export-for-the-cmdb
	rp_as 1 token create --name "$long" --scope read --expires 1h >/dev/null || die "token create $long"
	# off a terminal a table is as wide as its cells: the name whole, the columns aligned
	rp_as 1 token list >"$T/tokens.txt"
	grep -qE "^[0-9a-f]{32}  $long  read  " "$T/tokens.txt" || die "token list cuts or misaligns: $(cat "$T/tokens.txt")"
	python3 - "$T/tokens.txt" "$long" <<'EOF' || die "token list columns: $(cat "$T/tokens.txt")"
import sys
lines = open(sys.argv[1]).read().splitlines()
row = [l for l in lines if sys.argv[2] in l][0]
assert lines[0].index("SCOPE") == row.index(" read ") + 1, (lines[0], row)
EOF
	tid=$(rp_as 1 --json token list | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)["tokens"] if t["name"] == "ci"][0])')
	rp_as 1 token revoke "$tid" >/dev/null
	[ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" "$url/devices")" = 401 ] \
		|| die "revoked token still works"
	rp_ok "API tokens: scoped, cannot manage tokens, revocable"
}

test_encrypted_key() {
	RAMPART_PASSPHRASE="correct horse battery" "$CLI" key generate enc@acme.example --encrypt \
		--out "$T/enc.key" >/dev/null 2>&1 || die "encrypted key generate"
	grep -q '^RAMPART+ENCRYPTED+KEY+v1+' "$T/enc.key" || die "key file is not encrypted"
	! grep -q PRIVATE "$T/enc.key" || die "plain key text in the encrypted file"
	echo hello | RAMPART_PASSPHRASE="correct horse battery" "$CLI" note sign --key "$T/enc.key" \
		| "$CLI" note verify --vkey "$T/enc.key.vkey" | grep -q "verified by enc@acme.example" \
		|| die "encrypted key does not sign"
	if echo hello | RAMPART_PASSPHRASE="wrong" "$CLI" note sign --key "$T/enc.key" >/dev/null 2>&1; then
		die "wrong passphrase accepted"
	fi
	rp_ok "passphrase-encrypted keys"
}

test_script_output_cap_and_clean_env() {
	cat >"$T/script.sh" <<'SCRIPT'
#!/bin/sh
head -c 100000 /dev/zero | tr '\0' x
echo
env | sort
echo LAST-LINE
SCRIPT
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --script "$T/script.sh")
	rp_as 3 approve --yes "$id" >/dev/null
	rp_wait_for 30 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" || die "script did not finish"
	rp_as 1 --json results "$id" | python3 -c '
import base64, json, sys
r = json.load(sys.stdin)["results"][0]
out = base64.b64decode(r["output"]).decode()
assert len(out) <= 65536, f"output tail is {len(out)} bytes"
assert out.rstrip().endswith("LAST-LINE"), "tail lost the last line"
assert "RAMPART_COMMAND_ID=" in out and "PATH=/usr/local/sbin:" in out, "clean environment missing"
assert "RP_LEAK_CANARY" not in out, "the agent leaked its environment into the command"
' || die "output cap or environment check failed"
	rp_ok "--script runs; output tail capped at 64 KiB; clean environment"
}

test_unapproved_command_expires() {
	local id
	id=$(rp_submit 1 --to "$DEV_a2" --run-as "$ME" --expires 2s -- true)
	sleep 3
	[ "$(rp_status "$id" "$DEV_a2")" = expired ] || die "status is $(rp_status "$id" "$DEV_a2"), want expired"
	rp_ok "a command never approved shows as expired"
}

export -f rp_status rp_as
export T PORT PIN CLI ORG
READ_TOKEN=$(rp_as 1 token create --name ci --scope read --expires 1h)
test_devices_listed
test_one_signature_runs_nowhere
test_second_signature_runs_on_targets_only
test_timeout_kills_process_group
test_agent_killed_mid_command
test_restart_during_long_poll
test_agent_verify_offline
test_api_tokens
test_encrypted_key
test_script_output_cap_and_clean_env
test_unapproved_command_expires
test_audit_clean
rp_note "all e2e tests passed"
