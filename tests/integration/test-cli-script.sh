#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A CLI that tells the truth and scripts well (docs/cli.md), against the
# real rampartd and agents on 127.0.0.1: exit statuses for success,
# failure, partial failure, a wait that ran out, killed and timed-out
# commands, refusals and forgeries; the JSON shapes; why a target waits;
# `rampart output' in full and neutralised; alerts acknowledged; what
# awaits my signature; --help and usage errors on every command; the rough
# edges of a first day (config --save, policy trust --fetch, rampartd init
# into an empty directory, errors that name the option).
#   RP_ONLY=test_name runs one test after the setup.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 1
rp_admins 3
rp_org acme 3 2
HASH=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^sha256:/) {print $i; exit}}' "$T/upload.out")
for a in a1 a2 a3; do rp_enroll $a; done
rp_agent_start a1
rp_agent_start a2 # a3 is enrolled and never runs

# rc CMD...: CMD's exit status, its stdout in $T/rc.out and stderr in $T/rc.err.
rc() { local r=0; "$@" >"$T/rc.out" 2>"$T/rc.err" || r=$?; echo "$r"; }
# want N WHAT CMD...: CMD exits N.
want() {
	local n=$1 what=$2 r; shift 2
	r=$(rc "$@")
	[ "$r" = "$n" ] || { cat "$T/rc.out" "$T/rc.err" >&2; die "$what: exit $r, want $n"; }
}
# approved ARGS...: a command submitted by admin1 and approved by admin2; its id.
approved() {
	local id
	id=$(rp_submit 1 "$@")
	[ -n "$id" ] || die "no command id for $*"
	rp_as 2 approve --yes "$id" >/dev/null || die "approve $id"
	echo "$id"
}
# jq PYTHON: checks on the JSON in $T/rc.out (j), an assert fails the step.
jq() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); $1" "$T/rc.out" || die "JSON check: $1: $(head -c 600 "$T/rc.out")"; }

test_exit_success() {
	local id
	id=$(approved --to "$DEV_a1,$DEV_a2" --run-as "$ME" -- echo fine)
	want 0 "results --wait of a command done everywhere with exit 0" rp_as 1 results --wait 30 "$id"
	want 0 "--json results" rp_as 1 --json results "$id"
	jq 'assert j["exit"] == 0 and len(j["results"]) == 2; assert all(r["ok"] and r["status"] == "done" and r["exit_code"] == 0 and r["verified"] and r["waiting_for"] is None for r in j["results"]); assert j["statement"]["approved"] is True'
	rp_ok "results --wait: 0 when every target is done with exit 0; --json says ok per row"
}

test_exit_failure_partial() {
	local id
	id=$(approved --to "$DEV_a1,$DEV_a2" --run-as "$ME" -- false)
	want 1 "a command that failed everywhere" rp_as 1 results --wait 30 "$id"
	# one device makes the directory, the other finds it made: one success, one failure
	id=$(approved --to "$DEV_a1,$DEV_a2" --run-as "$ME" -- mkdir "$T/once")
	want 6 "a command that failed on one of two" rp_as 1 results --wait 30 "$id"
	rp_as 1 --json results "$id" >"$T/rc.out" || true
	jq 'assert j["exit"] == 6; assert sorted(r["ok"] for r in j["results"]) == [False, True]'
	id=$(approved --to "$DEV_a1" --run-as nosuchuser-rampart -- true)
	want 1 "a command that could not start" rp_as 1 results --wait 30 "$id"
	grep -q "failed" "$T/rc.out" || die "not shown as failed: $(cat "$T/rc.out")"
	rp_ok "results --wait: 1 when every target failed, 6 when some did (partial), a run-as that cannot start fails"
}

test_killed_is_never_done() {
	local id
	# the command's own process killed by a signal
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- sh -c 'kill -KILL $$')
	want 1 "a killed command" rp_as 1 results --wait 30 "$id"
	grep -q " killed .* KILL " "$T/rc.out" || die "not shown as killed by KILL: $(cat "$T/rc.out")"
	! grep -q " done " "$T/rc.out" || die "a killed command reads as done: $(cat "$T/rc.out")"
	rp_as 1 --json results "$id" >"$T/rc.out" || true
	jq 'r = j["results"][0]; assert r["status"] == "killed" and r["signal"] == 9 and not r["ok"] and r["exit_code"] is None'
	# a shell that reports its child's signal as 128+9: done as signed, shown as a signal, exit 1
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- sh -c 'sh -c "kill -KILL \$\$"; exit $?')
	want 1 "a command whose child was killed" rp_as 1 results --wait 30 "$id"
	grep -q "137 .*exit 128+KILL: a signal ended what it ran" "$T/rc.out" \
		|| die "128+KILL not explained: $(cat "$T/rc.out")"
	# the agent's timeout
	id=$(approved --to "$DEV_a1" --run-as "$ME" --timeout 1 -- sleep 30)
	want 1 "a timed-out command" rp_as 1 results --wait 40 "$id"
	grep -q "timed-out" "$T/rc.out" || die "not timed-out: $(cat "$T/rc.out")"
	rp_ok "killed and timed-out commands read as such, never done, and results exits 1; a shell's 128+N is named as a signal"
}

test_wait_reasons_and_timeout() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	want 5 "a wait that ran out awaiting approvals" rp_as 1 results --wait 1 "$id"
	grep -q "awaiting approvals: 1 of 2 exec signatures (signed by admin1@acme.example); 1 more of role exec" \
		"$T/rc.out" || die "no approvals reason: $(cat "$T/rc.out")"
	! grep -q $'\r' "$T/rc.err" || die "progress written to a stderr that is not a terminal"
	rp_as 1 --json results "$id" >"$T/rc.out" || true
	jq 'assert j["exit"] == 5; assert j["results"][0]["waiting_for"].startswith("awaiting approvals: 1 of 2")'
	# not yet its start time
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --not-before 1h -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	want 5 "a scheduled command" rp_as 1 results --wait 0 "$id"
	want 0 "results without --wait shows and exits 0" rp_as 1 results "$id"
	grep -q "scheduled .* not before .* (in [0-9]*s)" "$T/rc.out" || die "no start-time reason: $(cat "$T/rc.out")"
	# device offline: a3 never polls; its last poll is made old
	rp_sql "UPDATE devices SET last_seen = last_seen - 3600 WHERE id = '$DEV_a3'"
	id=$(approved --to "$DEV_a3" --run-as "$ME" -- true)
	rp_wait_for 20 bash -c "$CLI --server https://127.0.0.1:$PORT --pin $PIN --org acme --key $T/admin/admin1.key results $id | grep -q 'device offline'" || true
	want 5 "a device that is offline" rp_as 1 results --wait 0 "$id"
	grep -q "the server says: device offline (last seen [0-9]*s ago)" "$T/rc.out" \
		|| die "no offline reason: $(cat "$T/rc.out")"
	rp_ok "a wait says why (approvals awaited and who signed, start time, device offline) and exits 5 when it runs out"
}

test_witness_reason() {
	local id
	rp_witness_stop 1
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- true)
	want 5 "a command the witness has not cosigned" rp_as 1 results --wait 0 "$id"
	grep -q "not yet in a checkpoint the witnesses cosigned" "$T/rc.out" \
		|| die "no witness reason: $(cat "$T/rc.out")"
	rp_witness_start 1
	want 0 "once the witness is back" rp_as 1 results --wait 60 "$id"
	rp_ok "a command waiting for the witnesses' cosignature says so; once cosigned it runs"
}

test_approve_refused() {
	local id
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- true)
	want 4 "an approval after the quorum" rp_as 3 approve --yes "$id"
	grep -q "approved already (2 of 2 exec signatures verified): yours would change nothing" "$T/rc.err" \
		|| die "no clear refusal: $(cat "$T/rc.err")"
	# the server refuses it too (409), for a client that does not check first
	local st
	st=$(python3 "$(dirname "$0")/signed-request.py" "$PORT" "$T/admin/admin1.key" GET "/v1/orgs/acme/commands/$id")
	python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ", 1)[1])["statement"], end="")' "$st" >"$T/stmt.note"
	"$CLI" note sign --key "$T/admin/admin3.key" <"$T/stmt.note" >"$T/stmt3.note" || die "note sign"
	st=$(python3 "$(dirname "$0")/signed-request.py" "$PORT" "$T/admin/admin3.key" POST \
		"/v1/orgs/acme/commands/$id/signatures" "$(python3 -c 'import json,sys; print(json.dumps({"statement": open(sys.argv[1]).read()}))' "$T/stmt3.note")")
	[[ "$st" == "409 "*"approved already"* ]] || die "server: a signature past the quorum answered $st"
	rp_as 1 --json results "$id" >"$T/rc.out" || true
	jq 'assert j["statement"]["signatures"] == 2'
	# an expired command
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --expires 2s -- true)
	sleep 3
	want 4 "an approval of an expired command" rp_as 2 approve --yes "$id"
	grep -q "expired at .*no agent runs it any more" "$T/rc.err" || die "no expiry refusal: $(cat "$T/rc.err")"
	rp_ok "approving past the quorum or after expiry is refused (exit 4) by the CLI and by the server (409), never recorded as 3 of 2"
}

test_output_full_and_neutralised() {
	local id
	# 58893 bytes of numbered lines: far more than the table's last line
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- sh -c 'seq 1 6000 | sed "s/^/line /"')
	want 0 "results" rp_as 1 results --wait 30 "$id"
	want 0 "output of a long result" rp_as 1 output "$id"
	seq 1 6000 | sed 's/^/line /' | cmp -s - "$T/rc.out" || die "output is not the whole output ($(wc -c <"$T/rc.out") bytes)"
	grep -q "output of $id on $DEV_a1: done, exit 0, 58893 bytes, signed by the device$" "$T/rc.err" \
		|| die "no header on stderr: $(cat "$T/rc.err")"
	# past the agent's 64 KiB: the tail it kept, and said so
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- sh -c 'seq 1 9000 | sed "s/^/line /"')
	want 0 "results" rp_as 1 results --wait 30 "$id"
	want 0 "output of a result past the cap" rp_as 1 output "$id"
	seq 1 9000 | sed 's/^/line /' | tail -c 65536 | cmp -s - "$T/rc.out" || die "output past the cap is not the kept tail"
	grep -q "65536 bytes (the last ones: the agent keeps a tail)" "$T/rc.err" || die "the cut is not said: $(cat "$T/rc.err")"
	# a hostile result: escape sequences a terminal would obey
	id=$(approved --to "$DEV_a1" --run-as "$ME" -- printf 'a\033]0;pwned\007b\033[2Jc\n')
	want 0 "results" rp_as 1 results --wait 30 "$id"
	want 0 "output --raw" rp_as 1 output --raw "$id"
	printf 'a\033]0;pwned\007b\033[2Jc\n' | cmp -s - "$T/rc.out" || die "--raw is not the bytes as signed"
	want 0 "output --safe" rp_as 1 output --safe "$id"
	! grep -q $'\033' "$T/rc.out" || die "--safe let an escape through: $(od -c "$T/rc.out" | head)"
	grep -q 'pwned' "$T/rc.out" || die "--safe dropped the text"
	# on a terminal, neutralised by default (script(1) gives it a pty)
	script -qec "$CLI --server https://127.0.0.1:$PORT --pin $PIN --org acme --key $T/admin/admin1.key output $id" \
		"$T/tty.out" >/dev/null 2>&1 || die "output on a terminal failed"
	grep -q 'pwned' "$T/tty.out" || die "nothing printed on the terminal"
	! grep -q $'\033\\]0;pwned' "$T/tty.out" || die "the terminal got the escape sequence"
	# two targets: the device must be named
	id=$(approved --to "$DEV_a1,$DEV_a2" --run-as "$ME" -- echo two)
	rp_as 1 results --wait 30 "$id" >/dev/null || true
	want 2 "output of a command with two targets, no device" rp_as 1 output "$id"
	want 0 "output ID DEVICE" rp_as 1 output "$id" "$DEV_a2"
	[ "$(cat "$T/rc.out")" = two ] || die "output ID DEVICE: $(cat "$T/rc.out")"
	# a breached server swaps the output: not printed
	rp_sql "UPDATE deliveries SET output = CAST('forged' AS BLOB) WHERE command_id = '$id' AND device_id = '$DEV_a2'"
	want 3 "a forged output" rp_as 1 output "$id" "$DEV_a2"
	grep -q "SECURITY: the result of $DEV_a2 is not shown: output does not match the signed hash" "$T/rc.err" \
		|| die "forgery not named: $(cat "$T/rc.err")"
	want 3 "results with a forged output" rp_as 1 results --wait 0 "$id"
	rp_ok "rampart output: the whole signed output, raw off a terminal, neutralised on one or with --safe; a forged one refused (exit 3)"
}

test_pending() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --comment "for pending" -- true)
	want 0 "pending as admin2" rp_as 2 pending
	grep -q "$id .*awaiting approvals: 1 of 2 exec signatures (signed by admin1@acme.example); 1 more of role exec" \
		"$T/rc.out" || die "admin2's pending misses $id: $(cat "$T/rc.out")"
	want 0 "commands --awaiting-me as admin2" rp_as 2 commands --awaiting-me
	grep -q "$id .*awaiting approvals: 1 of 2" "$T/rc.out" || die "commands --awaiting-me misses $id"
	want 0 "pending as admin1" rp_as 1 pending
	! grep -q "$id" "$T/rc.out" || die "admin1 is asked to sign what it signed"
	want 0 "pending --json" rp_as 3 --json pending
	jq "c = [x for x in j['commands'] if x['id'] == '$id']; assert len(c) == 1 and c[0]['role'] == 'exec' and c[0]['signatures'] == 1 and c[0]['threshold'] == 2; assert isinstance(j['policy_proposals'], list)"
	rp_as 2 approve --yes "$id" >/dev/null
	want 0 "pending after approval" rp_as 3 pending
	! grep -q "$id" "$T/rc.out" || die "an approved command still awaits a signature"
	rp_ok "rampart pending: what my key can still sign, with what each awaits; not what I signed, not what is approved"
}

test_alerts_ack() {
	rp_sql "INSERT INTO alerts (org, device_id, command_id, code, reason, at) VALUES ('acme', '$DEV_a1', '', 'test', 'raised by the test', strftime('%s'))"
	want 0 "alerts --json" rp_as 1 --json alerts
	jq 'a = j["alerts"][0]; assert j["source"] == "server" and a["code"] == "test" and a["acked_by"] == "" and a["acked_at"] == 0'
	local n
	n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["alerts"][0]["id"])' "$T/rc.out")
	want 0 "alerts ack" rp_as 2 alerts ack "$n"
	grep -q "1 alert acknowledged by admin2@acme.example" "$T/rc.out" || die "ack: $(cat "$T/rc.out")"
	want 0 "alerts --json after ack" rp_as 1 --json alerts
	jq "a = [x for x in j['alerts'] if x['id'] == $n][0]; assert a['acked_by'] == 'admin2@acme.example' and a['acked_at'] > 0"
	want 0 "alerts" rp_as 1 alerts
	grep -q "raised by the test \[acknowledged by admin2@acme.example, 20[0-9-]*T" "$T/rc.out" \
		|| die "alerts does not say who acknowledged: $(cat "$T/rc.out")"
	want 0 "alerts --unacked" rp_as 1 --json alerts --unacked
	jq "assert all(x['id'] != $n for x in j['alerts'])"
	want 1 "a second ack of the same alert" rp_as 3 alerts ack "$n"
	want 2 "alerts ack without an id" rp_as 1 alerts ack
	rp_ok "alerts ack: the server records who acknowledged and when, shown in alerts (and --json); a second ack is refused"
}

test_json_shapes() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- true)
	want 0 "devices --json" rp_as 1 --json devices
	jq 'd = j["devices"]; assert len(d) == 3; assert all(set(["id", "key_matches_id", "facts_verified", "hostname", "os", "server"]) <= set(x) for x in d)'
	want 0 "commands --json" rp_as 1 --json commands
	jq 'assert isinstance(j["truncated"], bool) and isinstance(j["policy_proposals"], list); c = j["commands"][0]; assert set(["id", "verified", "state", "signatures", "threshold", "signers", "forged", "server"]) <= set(c)'
	want 0 "config --json" rp_as 1 --json config
	jq "assert j['org'] == 'acme' and j['key'] == '$T/admin/admin1.key' and j['token_set'] is False and j['server'].startswith('https://')"
	want 0 "policy show --json" "$CLI" --json policy show "$T/admin/acme.policy"
	jq "assert j['org'] == 'acme' and j['version'] == 1 and j['hash'] == '$HASH' and j['signatures'] == 'valid' and len(j['signed_by']) == 2 and j['root_threshold'] == 2"
	want 0 "policy status --json" rp_as 1 --json policy status
	jq "assert j['trusted']['version'] == 1 and j['trusted']['hash'] == '$HASH' and j['server_version'] == 1 and j['proposals'] == []"
	want 0 "audit --json" rp_as 1 --json audit --state "$T/json-audit.state"
	jq 'assert j["clean"] is True and j["findings"] == [] and j["size"] >= 1 and j["exit"] == 0'
	grep -q "^#0 root policy" "$T/rc.err" || die "audit --json: no history on stderr"
	want 0 "approve --json" rp_as 2 --json approve --yes "$id"
	jq "assert j['id'] == '$id' and j['submitted']['approved'] is True and j['stored']['signatures'] == 2"
	grep -q -- "---- signatures" "$T/rc.err" || die "approve --json: the review is not on stderr"
	want 0 "directory show --json" rp_as 1 --json directory show
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/rc.out" || die "directory show --json is not JSON"
	"$CLI" --json note verify --vkey "$T/admin/admin1.key.vkey" --vkey "$T/admin/admin3.key.vkey" \
		<"$T/admin/acme.policy" >"$T/rc.out" || die "note verify --json"
	jq "assert j['verified'] == [open('$T/admin/admin1.key.vkey').read().split('+')[0] + '+' + open('$T/admin/admin1.key.vkey').read().split('+')[1]]"
	want 0 "releases --json" rp_as 1 --json releases
	jq 'assert j == []'
	rp_ok "--json shapes: devices, commands, results, config, policy show, audit, approve, alerts, pending, directory show, note verify, releases"
}

# Every command and subcommand: --help exits 0 and prints its usage.
test_help_everywhere() {
	local c
	while read -r c; do
		[ -n "$c" ] || continue
		# shellcheck disable=SC2086
		want 0 "rampart $c --help" "$CLI" $c --help
		grep -q "^Usage: rampart" "$T/rc.out" || die "rampart $c --help printed no usage: $(head -3 "$T/rc.out")"
	done <<-'EOF'
	key
	key generate
	key from-ssh-agent
	key unlock
	key lock
	org
	org init
	policy
	policy sign
	policy show
	policy upload
	policy trust
	policy propose
	policy status
	policy submit
	config
	enroll-token
	devices
	run
	approve
	commands
	results
	output
	pending
	alerts
	alerts ack
	token
	token create
	token list
	token revoke
	rotate
	rotate api-tokens
	rotate enroll-tokens
	note
	note sign
	note verify
	audit
	directory
	directory show
	directory diff
	upgrade
	releases
	enroll-command
	user
	user add
	user edit
	user suspend
	group
	group add
	device-group
	device-group add
	device-group join
	device-group tag
	bind
	unbind
	drift
	EOF
	want 0 "rampart --help" "$CLI" --help
	grep -q "^Exit status" "$T/rc.out" && grep -q "3  SECURITY" "$T/rc.out" || die "rampart --help has no exit status table"
	rp_ok "--help on every command and subcommand exits 0 and prints its usage; rampart --help has the exit status table"
}

test_usage_errors() {
	want 2 "no command" "$CLI"
	want 2 "an unknown command" "$CLI" nosuch
	want 2 "an unknown global option" "$CLI" --bogus devices
	want 2 "results without an ID" rp_as 1 results
	want 2 "results with an unknown option" rp_as 1 results --bogus 0123456789abcdef0123456789abcdef
	want 2 "results with an extra argument" rp_as 1 results 0123456789abcdef0123456789abcdef extra
	grep -q "extra" "$T/rc.err" || die "no hint: $(cat "$T/rc.err")"
	want 2 "results --wait without a number" rp_as 1 results --wait x 0123456789abcdef0123456789abcdef
	want 2 "run without --to" rp_as 1 run -- true
	want 2 "run with an unknown option" rp_as 1 run --bogus
	grep -q "see \`rampart run --help'" "$T/rc.err" || die "getopt's error has no hint: $(cat "$T/rc.err")"
	want 2 "audit with an extra argument" rp_as 1 audit extra
	want 2 "enroll-token with an extra argument" rp_as 1 enroll-token extra
	want 2 "output without an ID" rp_as 1 output
	want 2 "pending with an argument" rp_as 1 pending x
	want 2 "alerts with an unknown option" rp_as 1 alerts --bogus
	want 2 "devices with an unknown option" rp_as 1 devices --bogus
	want 2 "commands with an unknown option" rp_as 1 commands --bogus
	want 2 "approve without an ID" rp_as 1 approve
	want 2 "token create with an unknown option" rp_as 1 token create --name x --scoep write
	grep -q "unknown option \`--scoep'" "$T/rc.err" || die "token create: $(cat "$T/rc.err")"
	want 2 "token list with an extra argument" rp_as 1 token list extra
	want 2 "token revoke of a malformed id" rp_as 1 token revoke nope
	rp_as 1 --json token create --name scripted --expires 1h | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert t["token"].startswith("rpt_" + t["id"] + "_") and t["scope"] == "read", t' \
		|| die "token create --json"
	want 2 "config with an unknown argument" rp_as 1 config --bogus
	want 2 "policy show without a file" "$CLI" policy show
	want 2 "policy with an unknown word" "$CLI" policy nosuch
	want 2 "a command without a server" env RAMPART_CONFIG="$T/none/config" "$CLI" devices
	# errors name the option that was wrong
	want 2 "org init --log-key x" "$CLI" org init --org acme2 --admin "$T/admin/admin1.key.vkey" --root 1 --exec 1 \
		--query 1 --directory 1 --log-key x --out "$T/x.policy"
	grep -q -- "--log-key \`x'" "$T/rc.err" && ! grep -q "administrator key" "$T/rc.err" \
		|| die "org init --log-key x blames: $(cat "$T/rc.err")"
	want 2 "a malformed --org" rp_as 1 --org Not_An_Org devices
	grep -q -- "--org \`Not_An_Org' is not an org name" "$T/rc.err" || die "--org not named: $(cat "$T/rc.err")"
	want 1 "an org this server does not know" rp_as 1 --org nosuchorg devices
	grep -q "you trust no root policy of org \`nosuchorg'.*check --org" "$T/rc.err" \
		|| die "a wrong --org does not point at --org: $(cat "$T/rc.err")"
	want 2 "a malformed --pin" "$CLI" --server "https://127.0.0.1:$PORT" --pin nope --org acme --key "$T/admin/admin1.key" devices
	grep -q -- "--pin \`nope'" "$T/rc.err" || die "--pin not named: $(cat "$T/rc.err")"
	rp_ok "usage errors exit 2 with a hint, naming the option that was wrong (--log-key, --org, --pin)"
}

test_first_day() {
	# config --save makes ~/.config/rampart and stores an absolute key path
	local home=$T/home2
	mkdir -p "$home" "$T/keys2"
	cp "$T/admin/admin2.key" "$T/keys2/me.key"
	(cd "$T/keys2" && env -u RAMPART_CONFIG HOME="$home" "$CLI" --server "https://127.0.0.1:$PORT" \
		--pin "$PIN" --org acme --key me.key config --save) >"$T/save.out" 2>&1 \
		|| die "config --save into a fresh HOME: $(cat "$T/save.out")"
	[ -f "$home/.config/rampart/config" ] || die "config --save did not create ~/.config/rampart"
	grep -qx "key $T/keys2/me.key" "$home/.config/rampart/config" || die "key path not absolute: $(cat "$home/.config/rampart/config")"
	# every other administrator fetches the root policy by its hash
	want 3 "policy trust --fetch with another hash" env -u RAMPART_CONFIG HOME="$home" "$CLI" policy trust --fetch \
		"sha256:$(printf '0%.0s' $(seq 64))"
	[ ! -e "$home/.config/rampart/acme.policy" ] || die "a policy of another hash was trusted"
	want 0 "policy trust --fetch" env -u RAMPART_CONFIG HOME="$home" "$CLI" policy trust --fetch "$HASH"
	cmp -s "$home/.config/rampart/acme.policy" "$T/admin/acme.policy" || die "the fetched policy is not the uploaded one"
	(cd / && env -u RAMPART_CONFIG HOME="$home" "$CLI" commands) >"$T/cmds.out" 2>&1 \
		|| die "commands from another directory with the saved config: $(cat "$T/cmds.out")"
	# rampartd init into an empty directory, never into one with files
	mkdir "$T/empty-data"
	want 0 "rampartd init into an empty directory" "$RAMPARTD" init --data "$T/empty-data"
	[ "$(stat -c %a "$T/empty-data")" = 700 ] || die "the data directory is not 0700"
	want 1 "rampartd init into a used directory" "$RAMPARTD" init --data "$T/empty-data"
	rp_ok "first day: config --save makes ~/.config/rampart with an absolute key; policy trust --fetch HASH (another hash: exit 3); rampartd init into an empty dir"
}

test_key_unlock() {
	# an encrypted copy of admin3's key, and a real ssh-agent of the test's own
	mkdir -p "$T/ssh"
	ssh-agent -D -a "$T/ssh/agent.sock" >"$T/ssh-agent.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 10 test -S "$T/ssh/agent.sock" || die "ssh-agent did not come up"
	RAMPART_PASSPHRASE=unlock-pass "$CLI" key generate carol@acme.example --encrypt --out "$T/ssh/carol.key" \
		>/dev/null 2>&1 || die "key generate --encrypt"
	local ask=(env -u RAMPART_PASSPHRASE SSH_AUTH_SOCK="$T/ssh/agent.sock" setsid "$CLI" --key "$T/ssh/carol.key")
	printf 'text\n' >"$T/ssh/t.txt"
	# locked: a command needs the passphrase (and has no terminal to ask on)
	"${ask[@]}" note sign --key "$T/ssh/carol.key" <"$T/ssh/t.txt" >/dev/null 2>"$T/ssh/err" \
		&& die "an encrypted key signed without its passphrase"
	grep -q "passphrase" "$T/ssh/err" || die "locked: $(cat "$T/ssh/err")"
	want 0 "key unlock" env RAMPART_PASSPHRASE=unlock-pass SSH_AUTH_SOCK="$T/ssh/agent.sock" "$CLI" \
		--key "$T/ssh/carol.key" key unlock --for 3s
	SSH_AUTH_SOCK="$T/ssh/agent.sock" ssh-add -l | grep -q "rampart:carol@acme.example" || die "the agent does not hold the key"
	# unlocked: no passphrase, and the signature verifies with the key's vkey
	"${ask[@]}" note sign --key "$T/ssh/carol.key" <"$T/ssh/t.txt" >"$T/ssh/t.note" 2>"$T/ssh/err" \
		|| die "unlocked, the key did not sign: $(cat "$T/ssh/err")"
	"$CLI" note verify --vkey "$T/ssh/carol.key.vkey" <"$T/ssh/t.note" >/dev/null || die "the agent's signature does not verify"
	# the agent forgets it at the lifetime
	sleep 4
	! SSH_AUTH_SOCK="$T/ssh/agent.sock" ssh-add -l 2>/dev/null | grep -q carol || die "the key outlived --for"
	"${ask[@]}" note sign --key "$T/ssh/carol.key" <"$T/ssh/t.txt" >/dev/null 2>&1 && die "signed after the lifetime"
	# lock ends it at once
	env RAMPART_PASSPHRASE=unlock-pass SSH_AUTH_SOCK="$T/ssh/agent.sock" "$CLI" --key "$T/ssh/carol.key" key unlock >/dev/null \
		|| die "unlock again"
	want 0 "key lock" env SSH_AUTH_SOCK="$T/ssh/agent.sock" "$CLI" --key "$T/ssh/carol.key" key lock
	! SSH_AUTH_SOCK="$T/ssh/agent.sock" ssh-add -l 2>/dev/null | grep -q carol || die "key lock left the key in the agent"
	want 2 "key unlock of a plain key file" env SSH_AUTH_SOCK="$T/ssh/agent.sock" "$CLI" --key "$T/admin/admin1.key" key unlock
	rp_ok "key unlock: the passphrase once, the key in ssh-agent for --for (the agent forgets it), lock ends it"
}

ALL="test_help_everywhere test_usage_errors test_exit_success test_exit_failure_partial
test_killed_is_never_done test_wait_reasons_and_timeout test_approve_refused
test_output_full_and_neutralised test_pending test_alerts_ack test_json_shapes test_first_day
test_witness_reason test_key_unlock"
for t in ${RP_ONLY:-$ALL}; do "$t"; done
