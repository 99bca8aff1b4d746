#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Enrolling a fleet with one reusable token (docs/operating.md, "Enrolling
# a fleet"; lib/enroll.h). 3 administrators, directory 2 of 3. A token for
# device group web, at most 2 devices, is signed by 2 and logged; two
# agents enrol with the same line and join web in every view (the agents',
# the CLI's, rampartd's deliveries), so a command for group:web reaches
# exactly them and not a0, enrolled the old way. A third device is refused
# by rampartd; a breached rampartd that logs it anyway (with the token's
# seed, as a leaked token would give it) gets it folded by no one; one
# without the seed cannot enrol at all; an expired and a revoked token
# enrol nothing. A device decommissioned by a signed statement stops for
# good (exit 10), keeps its accounts, and stays decommissioned in the CLI's
# view whatever the server's rows say. Agents converge root prefixes of
# their own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/directory-lib.sh"
rp_init "$1"

rp_server_init
rp_witnesses 2
rp_admins 3
# agents fetch a checkpoint every 10 s: enrolments of others reach them without a delivery
export FRESHNESS=20
rp_org acme 3 2
rp_enroll a0
rp_dir_exports
ME=$(id -un)
HERE=$(dirname "$0")

# agent_run NAME: the agent, converging a root prefix of its own
agent_run() {
	mkdir -p "$T/root-$1/etc/sudoers.d" "$T/root-$1/etc/skel" "$T/root-$1/home"
	cp -a /etc/passwd /etc/shadow /etc/group /etc/gshadow "$T/root-$1/etc/"
	"$AGENT" run --state-dir "$T/$1" --poll-wait "${AGENT_WAIT:-5}" --max-backoff 2 \
		--accounts-root "$T/root-$1" >>"$T/$1.log" 2>&1 &
	PIDS+=("$!")
	printf -v "APID_$1" '%s' "$!"
}
agent_run a0

# new_token ARGS...: a reusable token signed by admins 1 and 2; sets TOKEN and TOKEN_ID
new_token() {
	local out sid
	out=$(rp_as 1 enroll-token --reusable "$@" 2>"$T/token.err") || { cat "$T/token.err" >&2; die "enroll-token --reusable $*"; }
	TOKEN_ID=$(sed -n 's/^rampart: token \([0-9a-f]*\) awaits.*/\1/p' "$T/token.err")
	sid=$(awk '$1 == "command" {print $2}' <<<"$out")
	[ -n "$TOKEN_ID" ] && [ -n "$sid" ] || die "enroll-token --reusable said: $out $(cat "$T/token.err")"
	! grep -q '^RPE2\.' <<<"$out" || die "a token was printed before its statement was logged"
	# the change it makes, as text and as JSON (the same lines)
	rp_as 1 directory diff "$sid" >"$T/diff.txt" || die "directory diff"
	grep -q "$TOKEN_ID" "$T/diff.txt" || die "directory diff does not show the token: $(cat "$T/diff.txt")"
	rp_as 1 --json directory diff "$sid" >"$T/diff.json" || die "directory diff --json"
	python3 - "$T/diff.json" "$T/diff.txt" "$sid" <<'EOF' || die "directory diff --json: $(head -c 400 "$T/diff.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["id"] == sys.argv[3] and j["version"] >= 1, j
assert j["diff"] == open(sys.argv[2]).read().splitlines(), (j["diff"], open(sys.argv[2]).read())
EOF
	rp_as 2 approve --yes "$sid" >"$T/approve.token" 2>&1 || { cat "$T/approve.token" >&2; die "approve the token"; }
	rp_wait_for 30 bash -c "rp_as 1 enroll-token print $TOKEN_ID >'$T/token.$TOKEN_ID' 2>/dev/null" ||
		die "the approved token is not printed: $(rp_as 1 enroll-token print "$TOKEN_ID" 2>&1)"
	TOKEN=$(cat "$T/token.$TOKEN_ID")
	grep -q '^RPE2\.' <<<"$TOKEN" || die "enroll-token print: $TOKEN"
	rp_as 1 --json enroll-token print "$TOKEN_ID" 2>/dev/null >"$T/token.json" || die "enroll-token print --json"
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert j["token"] == sys.argv[2] and j["id"] == sys.argv[3] and j["enrolled"] == 0, j' \
		"$T/token.json" "$TOKEN" "$TOKEN_ID" || die "enroll-token print --json: $(cat "$T/token.json")"
}

# enrol NAME: the agent enrolled with $TOKEN (0 or 1: the enrol's exit status)
enrol() { "$AGENT" enroll --token "$TOKEN" --state-dir "$T/$1" >"$T/$1.enroll" 2>&1; }
dev_of() { awk '$1 == "device" {print $2}' "$T/$1/agent.conf"; }
# cli_groups DEVICE: its groups in admin 3's verified directory ("" when none)
cli_groups() {
	rp_as 3 --json directory show | python3 -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["id"] == sys.argv[1]:
        print(",".join(d["groups"]))' "$1"
}
inject_note() { # inject_note NOTE DEVICE-ID: what a breached server logs, behind the API's back
	local id
	id=$(openssl rand -hex 16)
	rp_sql "INSERT INTO devices (id, org, pubkey, hostname, os, agent_version, enrolled, last_seen)
		VALUES ('$2', 'acme', x'$(cat "$1.pub")', 'evil', 'x', '0', strftime('%s','now'), strftime('%s','now'));
		INSERT INTO commands (id, org, statement, payload, state, created) VALUES
		('$id', 'acme', readfile('$1'), x'', 'approved', strftime('%s','now'))"
	rp_wait_for 30 bash -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$DATA/rampart.db' \"SELECT log_index FROM commands WHERE id = '$id'\")\" != '' ]" ||
		die "the sequencer did not log the injected note"
}

test_token_enrols_into_group() {
	local id
	id=$(dir_change device-group add web)
	dir_done "$id" "$DEV_a0"
	new_token --max-devices 2 --for 1h --group web --tag fleet
	enrol e1 || { cat "$T/e1.enroll" >&2; die "e1 did not enrol with the reusable token"; }
	enrol e2 || { cat "$T/e2.enroll" >&2; die "e2 did not enrol with the same token"; }
	DEV_e1=$(dev_of e1)
	DEV_e2=$(dev_of e2)
	agent_run e1
	agent_run e2
	rp_wait_for 30 grep -q "^device $DEV_e1 groups web tags fleet$" "$T/e2/directory.state" ||
		die "e2 did not fold e1's enrolment: $(grep "^device" "$T/e2/directory.state" 2>&1)"
	rp_wait_for 30 grep -q "^device $DEV_e2 groups web tags fleet$" "$T/a0/directory.state" ||
		die "a0 did not fold e2's enrolment"
	rp_wait_for 30 grep -q "web" "$T/e1/membership.state" || die "e1's own membership lacks web"
	[ "$(cli_groups "$DEV_e1")" = web ] && [ "$(cli_groups "$DEV_e2")" = web ] ||
		die "the CLI's verified directory: $(rp_as 3 directory show)"
	rp_as 1 enroll-token list | grep -q "^$TOKEN_ID .* 2/2 .*group:web,tag:fleet" ||
		die "enroll-token list: $(rp_as 1 enroll-token list)"
	rp_ok "one reusable token, logged with the directory quorum, enrols two servers into web (agents, CLI and list agree)"
}

test_group_command_reaches_them() {
	local id out
	id=$(rp_submit 1 --to group:web --run-as "$ME" -- sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID")
	out=$(rp_as 2 approve --yes "$id")
	grep -A3 '^---- target devices (2) ----' <<<"$out" | grep -q "$DEV_e1" ||
		die "approve does not list web's enrolled devices: $out"
	rp_wait_for 30 bash -c "[ \"\$(wc -l < '$T/ran.$id' 2>/dev/null)\" = 2 ]" ||
		die "group:web did not run on both enrolled devices"
	sleep 3
	[ "$(wc -l <"$T/ran.$id")" = 2 ] || die "group:web ran $(wc -l <"$T/ran.$id") times"
	[ "$(rp_status "$id" "$DEV_e1")" = done ] && [ "$(rp_status "$id" "$DEV_e2")" = done ] ||
		die "results: $(rp_as 1 results "$id")"
	[ -z "$(rp_status "$id" "$DEV_a0")" ] || die "a0 has a delivery of group:web: $(rp_status "$id" "$DEV_a0")"
	rp_ok "a command for group:web reaches exactly the two devices the token enrolled"
}

test_max_refused() {
	local out dev
	! enrol e3 || die "a third device enrolled with a token for 2"
	grep -q 'maximum of 2' "$T/e3.enroll" || die "the refusal says: $(cat "$T/e3.enroll")"
	[ ! -e "$T/e3/agent.conf" ] || die "e3 kept an enrolled state"
	rp_ok "the third enrolment with a token for two devices is refused by rampartd"
	# a breached server logs a third, signed with the token's seed (a leaked token)
	dev=$(python3 "$HERE/enrolment-note.py" "$TOKEN" evil3 "$T/note3")
	inject_note "$T/note3" "$dev"
	# a0 folds the entry and refuses it; so do the CLI and rampartd's deliveries
	rp_wait_for 30 grep -q "enrolment note not folded: token $TOKEN_ID enrolled its maximum" "$T/a0.log" ||
		die "a0 did not see the third enrolment: $(tail -n 5 "$T/a0.log")"
	! grep -q "^device $dev" "$T/a0/directory.state" || die "a0 folded the third enrolment"
	[ -z "$(cli_groups "$dev")" ] || die "the CLI puts the third device in $(cli_groups "$dev")"
	rp_ok "a breached server logging the (max+1)th enrolment gets it folded by no agent nor CLI"
}

test_forged_refused() {
	local dev code
	dev=$(python3 "$HERE/enrolment-note.py" --forge acme "$TOKEN_ID" forged "$T/forged")
	python3 -c 'import json,sys; print(json.dumps({"org":"acme","enrolment":open(sys.argv[1]).read(),"hostname":"forged","os":"x","agent_version":"0"}))' \
		"$T/forged" >"$T/forged.json"
	code=$(curl -sk --tlsv1.3 -o "$T/forged.out" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/forged.json" "https://127.0.0.1:$PORT/v1/enroll")
	[ "$code" = 403 ] && grep -q "not signed by the token's key" "$T/forged.out" ||
		die "a note without the seed got $code: $(cat "$T/forged.out")"
	inject_note "$T/forged" "$dev"
	rp_wait_for 30 grep -q "log entry .*: enrolment note of device $dev is not signed\|enrolment note not folded: .*$dev" "$T/a0.log" ||
		die "a0 did not refuse the forged note: $(tail -n 5 "$T/a0.log")"
	! grep -q "^device $dev" "$T/a0/directory.state" "$T/e1/directory.state" || die "an agent folded a forged enrolment"
	[ -z "$(cli_groups "$dev")" ] || die "the CLI folded a forged enrolment"
	rp_ok "an enrolment without the token's seed is refused by rampartd (403), and logged anyway is folded by no one"
}

test_expired_token() {
	local code
	new_token --max-devices 5 --for 1m --group web
	rp_note "waiting for a 1-minute token to expire"
	sleep 61
	! enrol x1 || die "an expired token enrolled a device"
	grep -q 'expired' "$T/x1.enroll" || die "the refusal says: $(cat "$T/x1.enroll")"
	# rampartd refuses it too, from an agent that does not look at the expiry
	python3 "$HERE/enrolment-note.py" "$TOKEN" late "$T/expired" >/dev/null
	python3 -c 'import json,sys; print(json.dumps({"org":"acme","enrolment":open(sys.argv[1]).read(),"hostname":"late","os":"x","agent_version":"0"}))' \
		"$T/expired" >"$T/expired.json"
	code=$(curl -sk --tlsv1.3 -o "$T/expired.out" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/expired.json" "https://127.0.0.1:$PORT/v1/enroll")
	[ "$code" = 403 ] && grep -q "expired" "$T/expired.out" || die "an expired token's note got $code: $(cat "$T/expired.out")"
	rp_ok "an expired reusable token enrols nothing (the agent and rampartd refuse it)"
}

test_revoked_token() {
	local id dev
	new_token --max-devices 5 --for 1h --group web
	local tok=$TOKEN tid=$TOKEN_ID
	id=$(dir_change enroll-token revoke "$tid")
	dir_done "$id" "$DEV_a0"
	! rp_as 1 enroll-token list | grep -q "^$tid " || die "a revoked token is still listed"
	! enrol r1 || die "a revoked token enrolled a device"
	grep -q 'does not hold' "$T/r1.enroll" || die "the refusal says: $(cat "$T/r1.enroll")"
	# a breached server logs an enrolment under it anyway (notes signed before the revocation)
	dev=$(python3 "$HERE/enrolment-note.py" "$tok" late "$T/late")
	inject_note "$T/late" "$dev"
	rp_wait_for 30 grep -q "enrolment note not folded: .*$dev names token $tid" "$T/a0.log" ||
		die "a0 did not refuse the enrolment after the revocation: $(tail -n 3 "$T/a0.log")"
	[ -z "$(cli_groups "$dev")" ] || die "the CLI folded an enrolment under a revoked token"
	rp_ok "a revoked token enrols nothing: refused by rampartd, and not folded when logged after the revocation"
}

# dev_json DEVICE FIELD: that field of the device in admin 3's `devices --json'
dev_json() {
	rp_as 3 --json devices | python3 -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["id"] == sys.argv[1]:
        print(d.get(sys.argv[2]))' "$1" "$2"
}

test_facts_kept_current() {
	[ "$(dev_json "$DEV_e1" online)" = True ] || die "e1 is not shown online: $(rp_as 3 devices)"
	[ -n "$(dev_json "$DEV_e1" kernel)" ] && [ "$(dev_json "$DEV_e1" kernel)" != None ] ||
		die "e1's signed facts carry no kernel: $(rp_as 3 --json devices)"
	# the machine is renamed (the agent's test-only override): at its next look, new signed facts
	rp_agent_stop e1
	RAMPART_AGENT_FACTS_HOSTNAME=renamed-e1 "$AGENT" run --state-dir "$T/e1" --poll-wait 5 \
		--max-backoff 2 --accounts-root "$T/root-e1" >>"$T/e1.log" 2>&1 &
	PIDS+=("$!")
	APID_e1=$!
	rp_wait_for 30 bash -c "rp_as 3 devices | grep '^$DEV_e1 ' | grep -q 'renamed-e1 '" ||
		die "e1's new hostname is not shown: $(rp_as 3 devices)"
	[ "$(dev_json "$DEV_e1" facts_verified)" = True ] && [ "$(dev_json "$DEV_e1" hostname)" = renamed-e1 ] ||
		die "the new hostname is not the device's signed word: $(rp_as 3 --json devices)"
	# a breached server puts back the old hostname without a signature: shown as its word
	rp_sql "UPDATE devices SET facts = NULL, hostname = 'evil' WHERE id = '$DEV_e1'"
	rp_as 3 devices | grep "^$DEV_e1 " | grep -q 'evil *?' || die "unsigned facts shown as the device's: $(rp_as 3 devices)"
	# seen long ago: offline
	rp_sql "UPDATE devices SET last_seen = strftime('%s','now') - 1000 WHERE id = '$DEV_a0'"
	[ "$(dev_json "$DEV_a0" online)" = False ] || die "a device seen 1000 s ago is shown online"
	rp_ok "devices shows who is online, and facts the agent re-signed when its hostname changed"
}

test_decommission() {
	local id out rc
	# an account that web grants, on both enrolled devices
	dir_change user add dora --uid 61401 >/dev/null
	dir_change group add webops --gid 61402 --member dora >/dev/null
	id=$(dir_change bind webops web --access login)
	dir_done "$id" "$DEV_e2"
	rp_wait_for 30 grep -q '^dora:' "$T/root-e2/etc/passwd" || die "dora was not made on e2"
	id=$(dir_change devices remove "$DEV_e2")
	rp_wait_for 30 bash -c "! kill -0 $APID_e2 2>/dev/null" || die "e2's agent did not stop once decommissioned"
	rc=0
	wait "$APID_e2" || rc=$?
	[ "$rc" = 10 ] || die "the decommissioned agent exited with $rc, not 10"
	grep -q "DECOMMISSIONED by log entry" "$T/e2.log" && [ -e "$T/e2/decommissioned" ] ||
		die "e2 did not record its decommission: $(tail -n 3 "$T/e2.log")"
	grep -q '^dora:' "$T/root-e2/etc/passwd" || die "decommissioning removed the accounts e2 manages"
	rc=0
	"$AGENT" run --state-dir "$T/e2" --poll-wait 2 --accounts-root "$T/root-e2" >"$T/e2.again" 2>&1 || rc=$?
	[ "$rc" = 10 ] && grep -q 'was decommissioned' "$T/e2.again" || die "e2 started again ($rc): $(cat "$T/e2.again")"
	rp_ok "a decommissioned agent stops for good (exit 10, at every start), its accounts untouched"
	# a breached server brings its row back to life: the CLI still says decommissioned
	rp_sql "UPDATE devices SET last_seen = strftime('%s','now'), hostname = 'web-2' WHERE id = '$DEV_e2'"
	rp_as 3 devices | grep "^$DEV_e2 " | grep -q DECOMMISSIONED || die "devices: $(rp_as 3 devices)"
	[ "$(rp_as 3 --json devices | python3 -c 'import json,sys; print([d["decommissioned"] for d in json.load(sys.stdin)["devices"] if d["id"] == sys.argv[1]][0])' "$DEV_e2")" = True ] ||
		die "devices --json does not mark e2 decommissioned"
	out=$(rp_as 1 run --to "$DEV_e2" -- true 2>&1) && die "a command for a decommissioned device was submitted: $out"
	grep -q "decommissioned (the verified directory says so)" <<<"$out" && ! grep -q resolving <<<"$out" \
		|| die "the CLI did not refuse it from its own directory: $out"
	[ -z "$(cli_groups "$DEV_e2")" ] || die "a decommissioned device is still in $(cli_groups "$DEV_e2")"
	rp_ok "a decommissioned device stays decommissioned in the CLI's view, its row resurrected or not; run refuses it"
	# a command signed outside this CLI (another administrator's tool): rampartd refuses it too
	local now exp resp
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
	printf 'rampart/command/v1\norg acme\nid %s\nkind exec\nnot-before %s\nexpires %s\nrun-as root\ntimeout 60\npayload sha256:%s 0\ntarget %s\n' \
		"$(openssl rand -hex 16)" "$now" "$exp" "$(printf '' | sha256sum | cut -d' ' -f1)" "$DEV_e2" >"$T/to-e2.txt"
	rp_sign "$T/to-e2.txt" "$T/to-e2.note" 1
	python3 -c 'import json,sys; print(json.dumps({"statement": open(sys.argv[1]).read(), "payload": ""}))' \
		"$T/to-e2.note" >"$T/to-e2.json"
	resp=$(python3 "$HERE/signed-request.py" "$PORT" "$T/admin/admin1.key" POST /v1/orgs/acme/commands "$(cat "$T/to-e2.json")")
	[ "${resp%% *}" = 400 ] && grep -q decommissioned <<<"$resp" || die "rampartd took a command for a decommissioned device: $resp"
	rp_ok "rampartd refuses a command naming a decommissioned device, whoever built it"
}

test_token_enrols_into_group
test_group_command_reaches_them
test_max_refused
test_forged_refused
test_revoked_token
test_facts_kept_current
test_decommission
test_expired_token
