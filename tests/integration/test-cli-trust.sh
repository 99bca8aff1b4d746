#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attacks on the administrators through their CLI (DESIGN.md section 4a):
# the attacker writes rows straight into the database rampartd serves
# from, or answers as a server of its own, and the person reading
# `rampart approve', `commands', `results' or `devices' must see what was
# verified, every forgery named as one, and no byte that a terminal obeys.
#   RP_ONLY=test_name runs one test after the setup.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 1
rp_admins 3
rp_org acme 3 2
for a in a1 a2 a3; do rp_enroll $a; done
rp_agent_start a1
rp_agent_start a2 # a3 is enrolled and never runs: its rows change only by forgery
mkdir -p "$T/evil" "$T/out"
# The attacker's keys: one named like admin1, one named like device a3.
"$CLI" key generate admin1@acme.example --out "$T/evil/admin1.key" >/dev/null 2>&1
"$CLI" key generate eve@evil.example --out "$T/evil/eve.key" >/dev/null 2>&1
"$CLI" key generate "$DEV_a3" --out "$T/evil/dev-a3.key" >/dev/null 2>&1

now() { date -u -d "@$(( $(date +%s) + ${1:-0} ))" +%Y-%m-%dT%H:%M:%SZ; }
newid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
stmt_id() { awk '$1 == "id" {print $2; exit}' "$1"; }

# mkcmd NAME [--comment TEXT] [--nb WHEN] TARGETS...: $T/NAME.txt, a statement
# whose payload $T/NAME.payload drops the canary $T/canary.NAME.
mkcmd() {
	local name=$1 comment="" nb t; shift
	nb=$(now -60)
	while [ $# -gt 0 ]; do
		case $1 in
		--comment) comment=$2; shift 2 ;;
		--nb) nb=$2; shift 2 ;;
		*) break ;;
		esac
	done
	printf 'touch %s/canary.%s\n' "$T" "$name" >"$T/$name.payload"
	{
		printf 'rampart/command/v1\norg acme\nid %s\nkind exec\n' "$(newid)"
		printf 'not-before %s\nexpires %s\nrun-as %s\ntimeout 10\n' "$nb" "$(now 3600)" "$ME"
		printf 'payload sha256:%s %s\n' "$(sha256sum <"$T/$name.payload" | cut -d' ' -f1)" \
			"$(wc -c <"$T/$name.payload")"
		for t in "$@"; do printf 'target %s\n' "$t"; done
		[ -z "$comment" ] || printf 'comment %s\n' "$comment"
	} >"$T/$name.txt"
}

# signk NAME KEYFILE...: $T/NAME.note, the text signed by those keys in turn.
signk() {
	local name=$1 k; shift
	cp "$T/$name.txt" "$T/$name.note"
	for k in "$@"; do
		"$CLI" note sign --key "$k" <"$T/$name.note" >"$T/$name.tmp"
		mv "$T/$name.tmp" "$T/$name.note"
	done
}

# badline KEYFILE: a signature line by that key, but over another text.
badline() {
	printf 'rampart/command/v1\nsomething else\n' | "$CLI" note sign --key "$1" | tail -n 1
}

# pending NAME [STATE]: the note written straight into the database as a
# command (with the server's claimed state, default pending-approval, and
# made-up counts) with a pending delivery per target. Prints the id.
pending() {
	local name=$1 state=${2:-pending-approval} id d
	id=$(stmt_id "$T/$name.txt")
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, signatures, threshold, targets, created)
		VALUES ('$id', 'acme', readfile('$T/$name.note'), readfile('$T/$name.payload'), '$state', 2, 2, 1,
		strftime('%s','now'));"
	for d in $(awk '$1 == "target" {print $2}' "$T/$name.txt"); do
		rp_sql "INSERT INTO deliveries (command_id, device_id, status, updated)
			VALUES ('$id', '$d', 'pending', strftime('%s','now'));"
	done
	echo "$id"
}

stored() { rp_sql "SELECT statement FROM commands WHERE id = '$1';"; }
# Signature lines of the stored note.
stored_sigs() { stored "$1" | grep -c '^— ' || true; }

# Without a controlling terminal, so that confirmations read stdin.
rp_as_notty() {
	local n=$1; shift
	setsid -w "$CLI" --server "https://127.0.0.1:$PORT" --pin "$PIN" --org acme \
		--key "$T/admin/admin$n.key" "$@"
}

# cli_out NAME ARGS...: `rampart ARGS' as admin 1, stdout and stderr kept in $T/out/NAME.
cli_out() {
	local name=$1; shift
	rp_as 1 "$@" >"$T/out/$name" 2>&1 || true
}

test_approve_forged_keyid() {
	# A pending command whose only line claims admin1 under the attacker's key.
	mkcmd impostor "$DEV_a1"
	signk impostor "$T/evil/admin1.key"
	local id rc=0
	id=$(pending impostor)
	rp_as 2 approve --yes "$id" >"$T/impostor.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat "$T/impostor.out" >&2; die "approve --yes signed a command no administrator proposed"; }
	grep -q "FORGED signature line claiming admin1@acme.example (key id [0-9a-f]* is not its key" \
		"$T/impostor.out" || { cat "$T/impostor.out" >&2; die "the forged line is not shown as forged"; }
	grep -q "PROPOSED BY NO ADMINISTRATOR" "$T/impostor.out" || die "not shown as proposed by no administrator"
	grep -q "0 of 2 exec signatures verified" "$T/impostor.out" || die "the forged line was counted"
	! grep -q "signed so far by: admin1" "$T/impostor.out" || die "admin1 shown as a signer"
	[ "$(stored_sigs "$id")" = 1 ] || die "approve --yes added a signature"
	rp_ok "approve: a line claiming admin1 with a bogus key id is FORGED, counts 0, --yes does not sign"
	# A `y' out of habit does not sign it either; the typed phrase does.
	echo y | rp_as_notty 2 approve "$id" >"$T/impostor2.out" 2>&1 && die "a plain y signed it"
	[ "$(stored_sigs "$id")" = 1 ] || die "a plain y added a signature"
	printf 'sign it anyway\ny\n' | rp_as_notty 2 approve "$id" >"$T/impostor3.out" 2>&1 \
		|| { cat "$T/impostor3.out" >&2; die "the typed phrase did not sign"; }
	grep -q "pending-approval (1 of 2 exec signatures verified)" "$T/impostor3.out" \
		|| { cat "$T/impostor3.out" >&2; die "after signing: not 1 of 2"; }
	stored "$id" | grep -q '^— admin2@acme.example ' || die "admin2's signature is not stored"
	! stored "$id" | grep -q '^— admin1@acme.example ' || die "the forged admin1 line was kept"
	rp_ok "approve: only the typed phrase signs it, and the forged line is not passed on"
}

test_approve_forged_bad_signature() {
	# admin1's real key id, a signature over another text.
	mkcmd badsig "$DEV_a1"
	{ cat "$T/badsig.txt"; echo; badline "$T/admin/admin1.key"; } >"$T/badsig.note"
	local id rc=0
	id=$(pending badsig)
	rp_as 2 approve --yes "$id" >"$T/badsig.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || die "approve --yes signed a command with only a bad signature"
	grep -q "FORGED signature line claiming admin1@acme.example (bad signature)" "$T/badsig.out" \
		|| { cat "$T/badsig.out" >&2; die "the bad line is not shown as forged"; }
	grep -q "0 of 2 exec signatures verified" "$T/badsig.out" || die "the bad line was counted"
	rp_as 2 commands >"$T/badsig.list"
	grep "$id" "$T/badsig.list" | grep -q "unsigned .*0/2 .*1 FORGED signature line" \
		|| { cat "$T/badsig.list" >&2; die "commands does not show it unsigned with a forged line"; }
	rp_ok "approve and commands: admin1's key id with a bad signature is FORGED, counts 0"
}

test_approve_drops_forged_line() {
	# admin1 really proposed it; the server added a bad line claiming admin3.
	# Signing passes on admin1's line and yours, never the forged one, so the
	# agents (which refuse a note with a bad line by a role key) run it.
	mkcmd mixed --comment "restart after forgery" "$DEV_a1"
	signk mixed "$T/admin/admin1.key"
	badline "$T/admin/admin3.key" >>"$T/mixed.note"
	local id
	id=$(pending mixed)
	rp_as 2 approve --yes "$id" >"$T/mixed.out" 2>&1 || { cat "$T/mixed.out" >&2; die "approve failed"; }
	grep -q "FORGED signature line claiming admin3@acme.example (bad signature)" "$T/mixed.out" \
		|| die "the forged admin3 line is not shown"
	grep -q "SECURITY: 1 FORGED signature line" "$T/mixed.out" || die "no security warning"
	grep -q "signed: approved (2 of 2 exec signatures verified)" "$T/mixed.out" \
		|| { cat "$T/mixed.out" >&2; die "not approved with 2 of 2"; }
	! stored "$id" | grep -q '^— admin3@acme.example ' || die "the forged line is stored"
	rp_wait_for 30 test -e "$T/canary.mixed" || die "the approved command did not run"
	rp_ok "approve: a forged line beside a real proposal is shown, not passed on; the command runs"
}

# post ENDPOINT JSONFILE: POST with the write token; prints the body.
post() {
	curl -sk --tlsv1.3 -H "Authorization: Bearer $WTOKEN" -H 'Content-Type: application/json' \
		--data-binary "@$2" "https://127.0.0.1:$PORT/v1/orgs/acme/$1"
}

body() { # body JSONFILE NOTEFILE [PAYLOADFILE]
	python3 -c 'import base64, json, sys
b = {"statement": open(sys.argv[2]).read()}
if len(sys.argv) > 3: b["payload"] = base64.b64encode(open(sys.argv[3], "rb").read()).decode()
json.dump(b, open(sys.argv[1], "w"))' "$@"
}

test_server_drops_unverified_lines() {
	# Submitted with admin1's line, an unknown key's and one claiming admin2.
	mkcmd http "$DEV_a1"
	signk http "$T/admin/admin1.key" "$T/evil/eve.key" "$T/evil/admin1.key"
	local id out
	id=$(stmt_id "$T/http.txt")
	body "$T/http.json" "$T/http.note" "$T/http.payload"
	out=$(post commands "$T/http.json")
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); assert j["dropped"] == 2 and j["signatures"] == 1, j' \
		"$out" || die "submit: $out"
	[ "$(stored_sigs "$id")" = 1 ] || die "submit stored $(stored_sigs "$id") lines, want admin1's only"
	rp_ok "server: a submitted note keeps only lines that verify (unknown and impostor dropped)"
	# A forged line already in the stored note goes at the next merge.
	rp_sql "UPDATE commands SET statement = statement || '$(badline "$T/admin/admin3.key")' || char(10) WHERE id = '$id';"
	# More signatures: admin2's, a bad line claiming admin3, the impostor again.
	cp "$T/http.txt" "$T/http2.txt"
	signk http2 "$T/admin/admin2.key" "$T/evil/admin1.key"
	badline "$T/admin/admin3.key" >>"$T/http2.note"
	body "$T/http2.json" "$T/http2.note"
	out=$(post "commands/$id/signatures" "$T/http2.json")
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); assert j["dropped"] >= 2 and j["signatures"] == 2 and j["state"] == "approved", j' \
		"$out" || die "sign: $out"
	[ "$(stored_sigs "$id")" = 2 ] || die "merge stored $(stored_sigs "$id") lines, want 2"
	! stored "$id" | grep -q '^— admin3@acme.example ' || die "a stored forged line survived the merge"
	# Once approved, a further signature changes nothing: refused, not merged.
	out=$(post "commands/$id/signatures" "$T/http2.json")
	[[ "$out" == *'"conflict"'*"approved already"* ]] || die "re-sign of an approved command: $out"
	[ "$(stored_sigs "$id")" = 2 ] || die "the refused re-sign changed the stored lines"
	rp_ok "server: merging signatures drops every line that does not verify, stored ones too; none is merged once approved (409)"
}

# json_row FILE DEVICE FIELD: that field of the device's row of `--json results'.
json_row() {
	python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    if r["device"] == sys.argv[2]:
        v = r
        for k in sys.argv[3].split("."): v = v[k]
        print(v)' "$@"
}

test_results_unverified() {
	# A real run on a1 and a2: signed results, verified.
	local a b c n hex
	a=$(rp_submit 1 --to "$DEV_a1,$DEV_a2" --run-as "$ME" -- echo genuine output)
	rp_as 2 approve --yes "$a" >/dev/null
	rp_wait_for 30 bash -c "[ \"\$(rp_status $a $DEV_a1)\" = done ] && [ \"\$(rp_status $a $DEV_a2)\" = done ]" \
		|| die "the genuine command did not finish"
	# B: proposed by admin1 only, never approved, so it never ran anywhere.
	b=$(rp_submit 1 --to "$DEV_a1,$DEV_a2,$DEV_a3" --run-as "$ME" -- systemctl restart nginx)
	# a1: "done, exit 0, service restarted" with no note at all.
	rp_sql "UPDATE deliveries SET status = 'done', exit_code = 0, output = CAST('service restarted' AS BLOB)
		WHERE command_id = '$b' AND device_id = '$DEV_a1';"
	# a3: a result note signed by a key the attacker named like the device.
	printf 'ok\n' >"$T/forged.out"
	printf 'rampart/result/v1\norg acme\ndevice %s\ncommand %s\nstatus done\nexit 0\nduration-ms 5\noutput sha256:%s 3\n' \
		"$DEV_a3" "$b" "$(sha256sum <"$T/forged.out" | cut -d' ' -f1)" \
		| "$CLI" note sign --key "$T/evil/dev-a3.key" >"$T/forged.note"
	rp_sql "UPDATE deliveries SET status = 'done', exit_code = 0, output = readfile('$T/forged.out'),
		result = readfile('$T/forged.note') WHERE command_id = '$b' AND device_id = '$DEV_a3';"
	# a2: its own genuine note of A, replayed as its result of B.
	rp_sql "UPDATE deliveries SET status = 'done', exit_code = 0,
		output = (SELECT output FROM deliveries WHERE command_id = '$a' AND device_id = '$DEV_a2'),
		result = (SELECT result FROM deliveries WHERE command_id = '$a' AND device_id = '$DEV_a2')
		WHERE command_id = '$b' AND device_id = '$DEV_a2';"
	rp_as 1 --json results "$b" >"$T/b.json"
	rp_as 1 results "$b" >"$T/b.txt"
	for d in "$DEV_a1" "$DEV_a2" "$DEV_a3"; do
		[ "$(json_row "$T/b.json" "$d" status)" = UNVERIFIED ] && [ "$(json_row "$T/b.json" "$d" verified)" = False ] \
			|| { cat "$T/b.json" >&2; die "results: forged row of $d is not UNVERIFIED"; }
	done
	[ "$(json_row "$T/b.json" "$DEV_a1" server.status)" = done ] || die "the server's claim is not kept as its word"
	grep "$DEV_a1" "$T/b.txt" | grep -q "UNVERIFIED.*no signed result; the server says: done, exit 0" \
		|| { cat "$T/b.txt" >&2; die "a1: no-note row not shown as the server's word"; }
	grep "$DEV_a3" "$T/b.txt" | grep -q "UNVERIFIED.*result does not verify" || die "a3: forged note not refused"
	grep "$DEV_a2" "$T/b.txt" | grep -q "UNVERIFIED.*signed result is of command $a" || die "a2: replayed note accepted"
	grep -q "^command $b: pending-approval (1 of 2 exec signatures verified)" "$T/b.txt" \
		|| die "results header: $(head -1 "$T/b.txt")"
	rp_ok "results: done-exit-0 rows with no note, a forged note or a replayed note are UNVERIFIED"
	# The genuine results, with the device key swapped behind them.
	rp_as 1 results "$a" >"$T/a.txt"
	grep "$DEV_a2" "$T/a.txt" | grep -q " done .*genuine output" || { cat "$T/a.txt" >&2; die "genuine result not shown"; }
	hex=$(rp_sql "SELECT hex(pubkey) FROM devices WHERE id = '$DEV_a1';")
	rp_sql "UPDATE devices SET pubkey = randomblob(32) WHERE id = '$DEV_a1';"
	rp_as 1 --json results "$a" >"$T/a.json"
	rp_sql "UPDATE devices SET pubkey = X'$hex' WHERE id = '$DEV_a1';"
	[ "$(json_row "$T/a.json" "$DEV_a1" status)" = UNVERIFIED ] || die "a1 verified with a key that is not its own"
	[ "$(json_row "$T/a.json" "$DEV_a2" status)" = done ] && [ "$(json_row "$T/a.json" "$DEV_a2" verified)" = True ] \
		|| die "a2's genuine result is not verified"
	# A row for a device the statement does not name.
	rp_sql "INSERT INTO deliveries (command_id, device_id, status, exit_code, updated)
		VALUES ('$a', '$DEV_a3', 'done', 0, strftime('%s','now'));"
	rp_as 1 --json results "$a" >"$T/a2.json"
	[ "$(json_row "$T/a2.json" "$DEV_a3" target)" = False ] && [ "$(json_row "$T/a2.json" "$DEV_a3" status)" = UNVERIFIED ] \
		|| die "a row for a non-target is not UNVERIFIED"
	rp_ok "results: a swapped device key or a row for a non-target is UNVERIFIED; genuine ones verify"
}

test_commands_state_forced() {
	local d e out
	d=$(rp_submit 1 --to "$DEV_a3" --run-as "$ME" -- true)
	rp_sql "UPDATE commands SET state = 'approved', signatures = 2, threshold = 2 WHERE id = '$d';"
	rp_as 1 commands >"$T/cmds.txt"
	grep "^$d" "$T/cmds.txt" | grep -q " pending-approval .* 1/2 " \
		|| { cat "$T/cmds.txt" >&2; die "commands took the server's forced state"; }
	rp_as 1 --json commands >"$T/cmds.json"
	out=$(python3 -c 'import json, sys
for c in json.load(open(sys.argv[1]))["commands"]:
    if c["id"] == sys.argv[2]: print(c["state"], c["approved"], c["signatures"], c["server"]["state"])' "$T/cmds.json" "$d")
	[ "$out" = "pending-approval False 1 approved" ] || die "commands --json: $out"
	rp_ok "commands: a state forced to approved shows as pending-approval 1/2 (server's word apart)"
	# Signed by two, not-before to come, the server saying pending: scheduled.
	mkcmd later --nb "$(now 1800)" "$DEV_a3"
	signk later "$T/admin/admin1.key" "$T/admin/admin2.key"
	e=$(pending later)
	rp_as 1 commands | grep "^$e" | grep -q " scheduled .* 2/2 " || die "a scheduled command is not shown scheduled"
	rp_ok "commands: state derived from the signed window (scheduled), not the server's state"
}

# no_raw FILE...: no byte a terminal obeys, valid UTF-8, no hidden character.
no_raw() {
	python3 - "$@" <<'PY'
import sys
bad_cp = set(range(0x80, 0xa0)) | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a)) \
    | set(range(0x200b, 0x2010)) | {0xfeff, 0x2028, 0x2029}
for path in sys.argv[1:]:
    b = open(path, "rb").read()
    for i, c in enumerate(b):
        if (c < 0x20 and c != 0x0a) or c == 0x7f:
            sys.exit(f"{path}: raw byte 0x{c:02x} at {i}: {b[max(0, i - 30):i + 10]!r}")
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit(f"{path}: not UTF-8: {e}")
    for i, ch in enumerate(s):
        if ord(ch) in bad_cp:
            sys.exit(f"{path}: raw U+{ord(ch):04X} at {i}: {s[max(0, i - 30):i]!r}")
PY
}

test_hostile_strings() {
	local evil="'x' || char(27) || '[2J' || char(27) || '[H' || char(27) || ']52;c;ZWNobyBwd25lZA==' || char(7)
		|| char(27) || ']8;;https://evil.example' || char(27) || '\\click' || char(13) || char(27) || '[1A'
		|| char(27) || '[2K' || char(0x202e) || 'gnp.exe' || char(0x200b) || char(0x9b) || char(0x7f) || 'y'"
	local id f g
	# Device rows (a2 without its signed facts, so the server's column shows), alarm.
	rp_sql "UPDATE devices SET hostname = $evil, os = $evil, agent_version = $evil, alarm = $evil, facts = NULL
		WHERE id = '$DEV_a2';"
	rp_sql "INSERT INTO alerts (org, device_id, command_id, code, reason, at)
		VALUES ('acme', $evil, $evil, $evil, $evil, strftime('%s','now'));"
	rp_sql "UPDATE api_tokens SET name = $evil;"
	# An unverifiable row whose comment is the server's word, and a claimed result with reason and output.
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, comment, created)
		VALUES ('$(newid)', 'acme', 'not a statement', X'', 'approved', $evil, strftime('%s','now'));"
	id=$(rp_submit 1 --to "$DEV_a2" --run-as "$ME" --comment "pending one" -- true)
	rp_sql "UPDATE deliveries SET status = 'done', exit_code = 0, reason = $evil, output = CAST($evil AS BLOB)
		WHERE command_id = '$id';"
	# A proposal whose signed comment hides text direction and a zero-width space.
	mkcmd bidi --comment "$(printf 'restart \u202etxt.exe\u200b now')" "$DEV_a2"
	signk bidi "$T/evil/admin1.key"
	f=$(pending bidi)
	# A genuine command whose own output is terminal sequences.
	g=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- printf '\033[2J\033]52;c;eA==\007\033[1Afake\rdone\n')
	rp_as 2 approve --yes "$g" >"$T/out/approve-g" 2>&1
	rp_wait_for 30 bash -c "[ \"\$(rp_status $g $DEV_a1)\" = done ]" || die "the output command did not run"
	cli_out devices devices
	cli_out devices.json --json devices
	cli_out alerts alerts
	cli_out alerts.json --json alerts
	cli_out tokens token list
	cli_out commands commands
	cli_out commands.json --json commands
	cli_out results results "$id"
	cli_out results.json --json results "$id"
	cli_out results-g results "$g"
	rp_as 2 approve --yes "$f" >"$T/out/approve-f" 2>&1 || true
	rp_as 2 approve --yes "$id" >"$T/out/approve-id" 2>&1 || true
	no_raw "$T"/out/* || die "raw control bytes reached the terminal"
	grep -q 'x\\x1b\[2J\\x1b\[H\\x1b\]52;c;' "$T/out/devices" || { cat "$T/out/devices" >&2; die "hostname not shown escaped"; }
	grep -q 'the server says: done, exit 0: x\\x1b\[2J\\x1b\[H' "$T/out/results" || die "reason not shown escaped"
	grep -q 'click\\r\\x1b\[1A' "$T/out/alerts" || die "CR overwrite not shown escaped"
	grep -q '\\u202egnp.exe\\u200b\\u009b\\x7fy' "$T/out/alerts" || die "alert: bidi and C1 not shown escaped"
	grep -q 'restart \\u202etxt.exe\\u200b now' "$T/out/approve-f" || die "statement: bidi not shown escaped"
	grep -q 'WARNING: 2 characters of the statement' "$T/out/approve-f" || die "statement escapes not announced"
	grep -q '\\x1b\[1Afake\\rdone' "$T/out/results-g" || { cat "$T/out/results-g" >&2; die "verified output not shown escaped"; }
	grep "$DEV_a2" "$T/out/devices" | grep -q '?' || die "hostname not marked as the server's word"
	rp_ok "hostnames, OS, comments, reasons, alert codes and outputs reach the terminal neutralised"
}

test_hostile_server_messages() {
	# A server of the attacker's own: its error messages and listings.
	local port pin
	port=$(rp_free_port)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
		-keyout "$T/evil/tls.key" -out "$T/evil/tls.crt" >/dev/null 2>&1 || die "openssl req"
	pin=sha256:$(openssl pkey -in "$T/evil/tls.key" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
	python3 "$(dirname "${BASH_SOURCE[0]}")/hostile-server.py" "$port" "$T/evil/tls.crt" "$T/evil/tls.key" \
		>>"$T/hostile.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 20 curl -sk -o /dev/null "https://127.0.0.1:$port/" || die "hostile server did not come up"
	evil() { "$CLI" --server "https://127.0.0.1:$port" --pin "$pin" --org acme --key "$T/admin/admin1.key" "$@"; }
	mkdir -p "$T/out2"
	evil devices >"$T/out2/devices" 2>&1 || true
	evil alerts >"$T/out2/alerts" 2>&1 || true
	evil commands >"$T/out2/commands" 2>&1 || true
	evil results 0123456789abcdef0123456789abcdef >"$T/out2/results" 2>&1 || true
	evil approve --yes 0123456789abcdef0123456789abcdef >"$T/out2/approve" 2>&1 || true
	evil run --to "$DEV_a1" -- true >"$T/out2/run" 2>&1 || true
	evil token list >"$T/out2/tokens" 2>&1 || true
	evil audit --policy "$T/admin/acme.policy" --state "$T/out2-audit.state" >"$T/out2/audit" 2>&1 &&
		die "audit accepted the hostile server's checkpoint"
	no_raw "$T"/out2/* || die "raw control bytes from the hostile server reached the terminal"
	grep -q 'server answered 400 bad_request: \\x1b\[2J' "$T/out2/approve" \
		|| { cat "$T/out2/approve" >&2; die "the server's error message is not shown escaped"; }
	grep -q '\\u009b2Jok\\u202egnp.exe' "$T/out2/devices" || { cat "$T/out2/devices" >&2; die "listing not escaped"; }
	grep -q '^FINDING: ' "$T/out2/audit" && grep -q '\\x1b\[2J' "$T/out2/audit" \
		|| { cat "$T/out2/audit" >&2; die "audit evidence not shown escaped"; }
	rp_ok "a hostile server's error messages, listings and audit evidence reach the terminal neutralised"
}

test_devices_hostname_facts() {
	local host out
	host=$(hostname)
	rp_as 1 devices >"$T/dev.txt"
	# Every agent here runs on this machine, so each signed this hostname: shown, as signed,
	# and marked as claimed by more than one key (test_devices_hostname_conflict).
	grep "^$DEV_a1" "$T/dev.txt" | grep -q "^$DEV_a1  $host *!  " || { cat "$T/dev.txt" >&2; die "a1's signed hostname not shown as signed"; }
	# The server renames a1, and gives a3 the facts a1 signed.
	rp_sql "UPDATE devices SET hostname = 'db-primary' WHERE id = '$DEV_a1';"
	rp_sql "UPDATE devices SET hostname = 'db-primary', facts = (SELECT facts FROM devices WHERE id = '$DEV_a1')
		WHERE id = '$DEV_a3';"
	rp_as 1 devices >"$T/dev2.txt"
	grep "^$DEV_a1" "$T/dev2.txt" | grep -q "^$DEV_a1  $host *!  " || die "the server's rename of a1 was believed"
	grep "^$DEV_a3" "$T/dev2.txt" | grep -q "db-primary *?" || { cat "$T/dev2.txt" >&2; die "a3 with a1's facts not marked"; }
	rp_as 1 --json devices >"$T/dev.json"
	out=$(python3 -c 'import json, sys
for d in json.load(open(sys.argv[1]))["devices"]:
    if d["id"] in sys.argv[2:]: print(d["facts_verified"], d["server"]["hostname"])' "$T/dev.json" "$DEV_a1" "$DEV_a3")
	[ "$out" = "$(printf 'True db-primary\nFalse db-primary')" ] || [ "$out" = "$(printf 'False db-primary\nTrue db-primary')" ] \
		|| die "devices --json: $out"
	# approve shows each target's hostname, marked when it is the server's word.
	mkcmd targets "$DEV_a1" "$DEV_a3"
	signk targets "$T/admin/admin1.key"
	rp_as 2 approve --yes "$(pending targets)" >"$T/targets.out" 2>&1 || true
	grep -q "  $DEV_a1  $host (signed by the device)" "$T/targets.out" || { cat "$T/targets.out" >&2; die "approve: a1 not signed"; }
	grep -q "  $DEV_a3  db-primary ?" "$T/targets.out" || die "approve: a3's hostname not marked"
	rp_ok "devices and approve: hostnames from signed facts, else marked as the server's word"
}

# refacts AGENT HOSTNAME: facts claiming HOSTNAME, signed by that device's own
# key (as a compromised device would sign them at enrolment), put in the server.
refacts() {
	local dev
	dev=$(awk '$1 == "device" {print $2}' "$T/$1/agent.conf")
	printf 'rampart/facts/v1\norg acme\ndevice %s\nhostname %s\nos Debian GNU/Linux 12 (bookworm)\nagent-version 0.1.0\n' \
		"$dev" "$2" | "$CLI" note sign --key "$T/$1/device.key" >"$T/$1.facts" || die "refacts $1"
	rp_sql "UPDATE devices SET hostname = '$2', facts = CAST(readfile('$T/$1.facts') AS TEXT) WHERE id = '$dev';"
}

# conflict FILE ID: that device's hostname_conflict and hostname_also_signed_by in devices --json.
conflict() {
	python3 -c 'import json, sys
for d in json.load(open(sys.argv[1]))["devices"]:
    if d["id"] == sys.argv[2]: print(d["facts_verified"], d["hostname"], d["hostname_conflict"], *d["hostname_also_signed_by"])' "$@"
}

test_devices_hostname_conflict() {
	local host id
	host=$(hostname)
	# a3 claims a name of its own: verified, unmarked, no conflict.
	refacts a3 db-prod-1
	rp_as 1 devices >"$T/conf1.txt"
	grep -q "^$DEV_a3  db-prod-1  " "$T/conf1.txt" || { cat "$T/conf1.txt" >&2; die "a3's unique signed hostname is marked"; }
	# The attack: compromised device a2 signs db-prod-1's name (in another case, with a dot).
	refacts a2 DB-Prod-1.
	rp_as 1 devices >"$T/conf2.txt"
	grep -q "^$DEV_a2  DB-Prod-1\. *!  " "$T/conf2.txt" || { cat "$T/conf2.txt" >&2; die "devices: the impostor a2 is not marked"; }
	grep -q "^$DEV_a3  db-prod-1 *!  " "$T/conf2.txt" || { cat "$T/conf2.txt" >&2; die "devices: the real db-prod-1 is not marked"; }
	grep -q "^$DEV_a1  $host   " "$T/conf2.txt" || { cat "$T/conf2.txt" >&2; die "devices: a1, alone with its name now, is marked"; }
	grep -q '^! = CONFLICT: more than one device key signed this hostname' "$T/conf2.txt" || die "devices: no conflict legend"
	rp_as 1 --json devices >"$T/conf.json"
	[ "$(conflict "$T/conf.json" "$DEV_a2")" = "True DB-Prod-1. True $DEV_a3" ] || die "devices --json a2: $(conflict "$T/conf.json" "$DEV_a2")"
	[ "$(conflict "$T/conf.json" "$DEV_a3")" = "True db-prod-1 True $DEV_a2" ] || die "devices --json a3: $(conflict "$T/conf.json" "$DEV_a3")"
	[ "$(conflict "$T/conf.json" "$DEV_a1")" = "True $host False" ] || die "devices --json a1: $(conflict "$T/conf.json" "$DEV_a1")"
	# approve's targets name the other claimant; results mark it too.
	mkcmd conflict "$DEV_a2" "$DEV_a3"
	signk conflict "$T/admin/admin1.key"
	id=$(pending conflict)
	rp_as 2 approve "$id" </dev/null >"$T/conf-approve.out" 2>&1 || true
	grep -qF "  $DEV_a2  DB-Prod-1. (signed by the device) ! CONFLICT: also signed by 1 other device: $DEV_a3" "$T/conf-approve.out" ||
		{ cat "$T/conf-approve.out" >&2; die "approve: the impostor target is not flagged"; }
	grep -qF "  $DEV_a3  db-prod-1 (signed by the device) ! CONFLICT: also signed by 1 other device: $DEV_a2" "$T/conf-approve.out" ||
		die "approve: the real db-prod-1 is not flagged"
	rp_as 1 results "$id" >"$T/conf-results.txt"
	grep -q "^$DEV_a2  DB-Prod-1\. *!  " "$T/conf-results.txt" || { cat "$T/conf-results.txt" >&2; die "results: a2 not marked"; }
	grep -q '^! = CONFLICT' "$T/conf-results.txt" || die "results: no conflict legend"
	rp_as 1 --json results "$id" >"$T/conf-results.json"
	[ "$(json_row "$T/conf-results.json" "$DEV_a2" hostname_conflict)" = True ] || die "results --json: a2 not in conflict"
	[ "$(json_row "$T/conf-results.json" "$DEV_a2" hostname_also_signed_by)" = "['$DEV_a3']" ] || die "results --json: a2's other claimant"
	rp_as 1 devices --help | grep -q "the device's own claim, not a verified identity" || die "devices --help does not say what a signed hostname is"
	rp_ok "attack: a compromised device signs another host's name: both flagged as CONFLICT in devices, approve and results (and --json)"
}

test_approve_payload_fenced() {
	# A payload written to look like the end of approve's own output: a
	# signatures section with a valid admin1 line and a met quorum.
	local id fake
	mkcmd fence "$DEV_a1"
	fake="---- signatures (verified against your trusted root policy, version 1) ----"
	printf 'true\n%s\nadmin1@acme.example: valid signature (exec)\n---- 2 of 2 exec signatures verified ----\n' \
		"$fake" >"$T/fence.payload"
	sed -i "s/^payload .*/payload sha256:$(sha256sum <"$T/fence.payload" | cut -d' ' -f1) $(wc -c <"$T/fence.payload")/" "$T/fence.txt"
	signk fence "$T/admin/admin1.key"
	id=$(pending fence)
	rp_as 2 approve "$id" </dev/null >"$T/fence.out" 2>"$T/fence.err" && die "approve signed without an answer"
	# Every line of the statement and the payload is behind the gutter, the CLI's headers are not.
	python3 - "$T/fence.out" <<'PY' || { cat "$T/fence.out" >&2; die "approve: a payload line is not fenced"; }
import sys
lines = open(sys.argv[1]).read().split("\n")
def section(head):
    i = next(k for k, l in enumerate(lines) if l.startswith(head))
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("---- "))
    return lines[i + 1:j]
st, pl = section("---- statement "), section("---- payload ")
assert st and all(l.startswith("| ") for l in st), st
assert pl == ["| true", "| ---- signatures (verified against your trusted root policy, version 1) ----",
              "| admin1@acme.example: valid signature (exec)", "| ---- 2 of 2 exec signatures verified ----"], pl
assert sum(l.startswith("---- signatures ") for l in lines) == 1, "two signature sections"
PY
	rp_ok "attack: a payload imitating approve's section headers and a valid signature shows only behind the | gutter"
}

test_policy_trust() {
	# Another administrator's machine: nothing is shown until it trusts a policy.
	local cfg=$T/other/config i
	mkdir -p "$T/other"
	RAMPART_CONFIG=$cfg rp_as 3 commands >"$T/other/none.out" 2>&1 && die "commands without a trusted policy"
	grep -q "no trusted root policy of org acme" "$T/other/none.out" || die "no hint to trust a policy"
	RAMPART_CONFIG=$cfg "$CLI" policy trust "$T/admin/acme.policy" >"$T/other/trust.out" \
		|| die "policy trust: $(cat "$T/other/trust.out")"
	grep -q "^trusting root policy of acme version 1 sha256:" "$T/other/trust.out" || die "policy trust output"
	RAMPART_CONFIG=$cfg rp_as 3 commands >/dev/null || die "commands after policy trust"
	# A different policy (exec 3) never replaces the trust anchor.
	"$CLI" org init --org acme --admin "$T/admin/admin1.key.vkey" --admin "$T/admin/admin2.key.vkey" \
		--admin "$T/admin/admin3.key.vkey" --root 2 --exec 3 --query 1 --directory 2 \
		--log-key "$LOGKEY" "${WITNESS_ARGS[@]}" --out "$T/other/acme2.policy" >/dev/null 2>&1 || die "org init"
	for i in 1 2; do "$CLI" policy sign --yes --key "$T/admin/admin$i.key" "$T/other/acme2.policy" >/dev/null; done
	RAMPART_CONFIG=$cfg "$CLI" policy trust "$T/other/acme2.policy" >/dev/null 2>&1 && die "trust anchor replaced"
	rp_ok "policy trust: the CLI shows nothing unverified before, and never swaps its trust anchor"
}

run() { if [ -z "${RP_ONLY:-}" ] || [ "$RP_ONLY" = "$1" ]; then "$1"; fi; }
export -f rp_status rp_as
export T PORT PIN CLI ORG
WTOKEN=$(rp_as 1 token create --name writer --scope write --expires 1h)
run test_approve_forged_keyid
run test_approve_forged_bad_signature
run test_approve_drops_forged_line
run test_server_drops_unverified_lines
run test_results_unverified
run test_commands_state_forced
run test_devices_hostname_facts
run test_devices_hostname_conflict
run test_approve_payload_fenced
run test_hostile_strings
run test_hostile_server_messages
run test_policy_trust
rp_note "all CLI trust tests passed"
