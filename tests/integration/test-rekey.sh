#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Device re-keying (issue 9): `rampart-agent rekey' gives a device a new
# key bound to the old one by a note both keys sign. The server takes it
# and refuses the old key on the very next request; the running agent
# carries on with the new key; the CLI verifies the chain of bindings
# back to the key the device id is the hash of, and every result by the
# key that signed it. An interrupted rekey finishes with the same key. A
# breached server can neither bind a key of its own nor bring back a
# retired one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
HERE=$(cd "$(dirname "$0")" && pwd)

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 2
rp_org acme 2 1
rp_enroll a1
rp_agent_start a1

# req KEYFILE METHOD PATH [BODY]: "STATUS BODY" of a request signed by that device key.
req() { python3 "$HERE/signed-request.py" "$PORT" "$@"; }
py() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }
# body FILE: the rekey request's body carrying the binding in FILE.
body() { python3 -c 'import json, sys; print(json.dumps({"binding": open(sys.argv[1]).read()}))' "$1"; }
# run_ok NAME: a command run on a1 end to end; prints its id.
run_ok() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo ran-$1") || true
	[ -n "$id" ] || die "$1: no command id"
	rp_wait_for 60 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" ||
		die "$1: the agent did not run command $id: $(rp_as 1 results "$id" 2>&1 | tail -n 3)"
	echo "$id"
}
export -f rp_status rp_as
export CLI PORT PIN T

test_help() {
	"$AGENT" --help | grep -q rekey || die "rampart-agent --help lists no rekey"
	"$AGENT" rekey --help | grep -q "bound to the" || die "rampart-agent rekey --help"
	rp_ok "rampart-agent --help lists rekey, and rekey --help says what it does"
}

test_rekey_while_running() {
	local before after out
	before=$(run_ok before)
	cp "$T/a1/device.key" "$T/key1"
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "rekey: $out"
	grep -q "re-keyed" <<<"$out" || die "rekey said: $out"
	! cmp -s "$T/a1/device.key" "$T/key1" || die "device.key is the old key"
	[ ! -e "$T/a1/device.key.next" ] || die "rekey left device.key.next behind"
	# kept until the next rekey confirms it: a forged answer must not lock the device out
	cmp -s "$T/a1/device.key.prev" "$T/key1" || die "the old key is not kept in device.key.prev"
	[ "$(stat -c %a "$T/a1/device.key.prev")" = 600 ] || die "device.key.prev is not 0600"
	[ -e "$T/a1/rekey.binding" ] || die "the binding is not kept"
	[ "$(stat -c %a "$T/a1/device.key")" = 600 ] || die "the new device.key is not 0600"
	grep -q "PRIVATE+KEY+$DEV_a1+" "$T/a1/device.key" || die "the new key is not named by the device id"
	out=$(req "$T/key1" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 401 ] || die "the old key still authenticates: $out"
	out=$(req "$T/a1/device.key" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 200 ] || die "the new key does not authenticate: $out"
	rp_ok "rekey: the server takes the new key and refuses the old one at once"
	# the agent, running all along, picks the new key up
	after=$(run_ok after)
	rp_wait_for 10 grep -q "device.key was replaced" "$T/a1.log" || die "the agent did not say it took the new key"
	rp_ok "the running agent carries on with the new key"
	# the CLI: the chain verifies, each result by the key that signed it
	out=$(rp_as 1 --json devices)
	[ "$(py "j['devices'][0]['keys']" <<<"$out")" = 2 ] || die "devices: not 2 keys: $out"
	[ "$(py "j['devices'][0]['key_matches_id']" <<<"$out")" = True ] || die "devices: chain refused: $out"
	out=$(rp_as 1 --json results "$after")
	[ "$(py "j['results'][0]['verified'], j['results'][0]['device_key']" <<<"$out")" = \
		"True {'number': 2, 'retired': False}" ] || die "a result by the new key: $out"
	out=$(rp_as 1 --json results "$before")
	[ "$(py "j['results'][0]['verified'], j['results'][0]['device_key']" <<<"$out")" = \
		"True {'number': 1, 'retired': True}" ] || die "a result by the old key: $out"
	rp_as 1 results "$before" | grep -q "by retired key 1 of 2" || die "results does not say the key was retired"
	rp_ok "the CLI verifies the chain; a result signed before the rekey shows its retired key"
	# twice more: a chain of three bindings
	"$AGENT" rekey --state-dir "$T/a1" >/dev/null 2>&1 || die "second rekey"
	"$AGENT" rekey --state-dir "$T/a1" >/dev/null 2>&1 || die "third rekey"
	run_ok third >/dev/null
	[ "$(rp_as 1 --json devices | py "j['devices'][0]['keys']")" = 4 ] || die "not 4 keys after three rekeys"
	rp_ok "three rekeys: a chain of four keys, verified, and commands still run"
}

test_interrupted_rekey() {
	local out
	rp_agent_stop a1
	cp "$T/a1/device.key" "$T/keyA"
	# the server is down: the rekey stops after writing the new key aside
	rp_server_stop
	if out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1); then die "a rekey without a server succeeded"; fi
	grep -q "keeps its key" <<<"$out" || die "the failed rekey said: $out"
	cmp -s "$T/a1/device.key" "$T/keyA" || die "a failed rekey changed device.key"
	[ -e "$T/a1/device.key.next" ] && [ -e "$T/a1/rekey.binding" ] || die "no new key kept aside"
	cp "$T/a1/device.key.next" "$T/keyB"
	cp "$T/a1/rekey.binding" "$T/bindingB"
	rp_server_start
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "the second rekey: $out"
	cmp -s "$T/a1/device.key" "$T/keyB" || die "the second run did not finish with the same key"
	rp_ok "a rekey the server never saw is finished by the next run, with the same key"
	# the server took it, but the agent stopped before it saved it
	cp "$T/keyA" "$T/a1/device.key"
	cp "$T/keyB" "$T/a1/device.key.next"
	cp "$T/bindingB" "$T/a1/rekey.binding"
	chmod 600 "$T/a1/device.key" "$T/a1/device.key.next" "$T/a1/rekey.binding"
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "the resumed rekey: $out"
	grep -q "earlier rekey finished" <<<"$out" || die "the resumed rekey said: $out"
	cmp -s "$T/a1/device.key" "$T/keyB" || die "the resumed run did not keep the key the server took"
	rp_agent_start a1
	run_ok resumed >/dev/null
	rp_ok "a rekey the server took but the agent did not save is finished by the next run"
	# the next rekey first confirms that one (the server knows the current key), then makes a new key
	cp "$T/a1/device.key" "$T/keyC"
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "the rekey after: $out"
	grep -q "re-keyed" <<<"$out" || die "the rekey after said: $out"
	cmp -s "$T/a1/device.key.prev" "$T/keyC" || die "device.key.prev is not the key before"
	run_ok after-confirmed >/dev/null
	rp_ok "the next rekey confirms the last one and makes a new key"
}

test_forged_answer_does_not_lock_out() {
	local out
	# The network process said the server took the last rekey, but it did not:
	# rampartd's rows put back as they were before it.
	local seq prev
	seq=$(rp_sql "SELECT key_seq FROM devices WHERE id = '$DEV_a1'")
	prev=$(rp_sql "SELECT hex(pubkey) FROM device_keys WHERE device = '$DEV_a1' AND seq = $((seq - 1))")
	rp_sql "DELETE FROM device_keys WHERE device = '$DEV_a1' AND seq = $seq;
		UPDATE devices SET cur_key = X'$prev', key_seq = $((seq - 1)) WHERE id = '$DEV_a1';"
	out=$(req "$T/a1/device.key" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 401 ] || die "the server still knows the key: $out"
	# the running agent, refused, says what to do
	rp_wait_for 30 grep -q "tells it again if it never took it" "$T/a1.log" || die "the agent did not say how to recover"
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "rekey after a forged answer: $out"
	grep -q "had not taken the last rekey; it has now" <<<"$out" || die "rekey said: $out"
	out=$(req "$T/a1/device.key" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 200 ] || die "the device is still locked out: $out"
	[ ! -e "$T/a1/device.key.prev" ] && [ ! -e "$T/a1/rekey.binding" ] || die "the confirmed rekey left its files"
	run_ok after-forged >/dev/null
	rp_ok "a forged 'key taken' answer does not lock the device out: the next rekey tells the server again with the previous key"
}

# A result signed before a rekey and reported after it (spooled while the
# server was away) is taken by the server and verified by the CLI.
test_spooled_result_across_rekey() {
	local id out
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "sleep 3; echo spooled")
	rp_wait_for 30 grep -q "running command $id" "$T/a1.log" || die "the command did not start"
	rp_server_stop
	rp_wait_for 30 grep -q "reporting result of $id: .*(kept for retry)" "$T/a1.log" || die "the result was not spooled"
	rp_agent_stop a1
	rp_server_start
	out=$("$AGENT" rekey --state-dir "$T/a1" 2>&1) || die "rekey: $out"
	rp_agent_start a1
	rp_wait_for 60 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" ||
		die "the spooled result was not taken: $(grep "$id" "$T/a1.log" | tail -2)"
	out=$(rp_as 1 --json results "$id")
	[ "$(py "j['results'][0]['device_key']['retired']" <<<"$out")" = True ] || die "not by the retired key: $out"
	rp_ok "a result spooled before a rekey is taken after it, verified as signed by the retired key"
}

# The thief of a retired key signs a result for a command that starts after
# the rekey; the breached server shows it. The CLI refuses it.
test_retired_key_after_the_rekey() {
	local id h out
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --not-before 20m -- sh -c "echo later")
	[ -n "$id" ] || die "no command"
	h=$(printf '' | sha256sum | cut -d' ' -f1)
	printf 'rampart/result/v1\norg acme\ndevice %s\ncommand %s\nstatus done\nexit 0\nduration-ms 1\noutput sha256:%s 0\n' \
		"$DEV_a1" "$id" "$h" | python3 "$HERE/devkey-binding.py" sign "$T/a1/device.key.prev" >"$T/forged.result"
	rp_sql "UPDATE deliveries SET status = 'done', exit_code = 0, output = x'', result = readfile('$T/forged.result')
		WHERE command_id = '$id' AND device_id = '$DEV_a1';"
	out=$(rp_as 1 --json results "$id")
	[ "$(py "j['results'][0]['verified']" <<<"$out")" = False ] || die "a retired key's result for a later command is verified: $out"
	grep -q "retired before this command could start" <<<"$out" || die "the CLI does not say why: $out"
	rp_ok "a result signed by a retired key for a command that starts after the rekey is UNVERIFIED"
}

test_server_cannot_bind_its_own_key() {
	local out id
	# a key of the server's making, bound by a note only that key signed
	python3 "$HERE/devkey-binding.py" acme "$DEV_a1" "$T/a1/device.key" new new "$T/evil.key" >"$T/evil.binding"
	out=$(req "$T/a1/device.key" POST /v1/agent/rekey \
		"$(body "$T/evil.binding")")
	[ "${out%% *}" = 400 ] || die "a binding without the old key's signature was taken: $out"
	grep -q "not signed by the old key" <<<"$out" || die "the refusal does not say why: $out"
	# Past the API: the breached server writes it into its own database.
	local pub seq
	pub=$(python3 -c 'import base64,sys; t=open(sys.argv[1]).read().strip().split("+", 4); 
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey as K
from cryptography.hazmat.primitives import serialization as s
k=K.from_private_bytes(base64.b64decode(t[4])[1:33]); print(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())' "$T/evil.key")
	seq=$(rp_sql "SELECT key_seq FROM devices WHERE id = '$DEV_a1'")
	cp "$DATA/rampart.db" "$T/db.before"
	rp_sql "INSERT INTO device_keys VALUES ('$DEV_a1', $((seq + 1)), X'$pub', readfile('$T/evil.binding'), 0);
		UPDATE devices SET cur_key = X'$pub', key_seq = $((seq + 1)) WHERE id = '$DEV_a1';"
	out=$(req "$T/evil.key" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 200 ] || die "the forged row is not in force: $out"
	# a result it signs with its key: the CLI refuses the chain and the result
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo never-here")
	out=$(rp_as 1 --json devices)
	[ "$(py "j['devices'][0]['key_matches_id']" <<<"$out")" = False ] || die "devices trusts the forged chain: $out"
	grep -q "not signed by the old key" <<<"$out" || die "devices does not say what is wrong: $out"
	rp_as 1 devices | grep -q "SECURITY: its key bindings do not verify" || die "devices does not flag it"
	out=$(rp_as 1 --json results "$id")
	[ "$(py "j['results'][0]['verified']" <<<"$out")" = False ] || die "results trusts the forged key: $out"
	rp_ok "a key the server binds itself (the old key did not sign) is refused by the server and, written to its database, by the CLI"
	# put the honest rows back
	rp_sql "DELETE FROM device_keys WHERE device = '$DEV_a1' AND seq = $((seq + 1));
		UPDATE devices SET cur_key = (SELECT pubkey FROM device_keys WHERE device = '$DEV_a1' AND seq = $seq), key_seq = $seq WHERE id = '$DEV_a1';"
	rp_wait_for 60 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" || die "the agent did not carry on"
}

test_retired_key_cannot_come_back() {
	local out
	# the device's first key (retired) bound again as its next: both keys sign
	python3 "$HERE/devkey-binding.py" acme "$DEV_a1" "$T/a1/device.key" "$T/key1" old,new >"$T/back.binding"
	out=$(req "$T/a1/device.key" POST /v1/agent/rekey \
		"$(body "$T/back.binding")")
	[ "${out%% *}" = 409 ] || die "a retired key was made current again: $out"
	out=$(req "$T/key1" GET /v1/agent/checkpoint)
	[ "${out%% *}" = 401 ] || die "the retired key authenticates: $out"
	# the first binding (key 1 to key 2) replayed: it no longer replaces the current key
	python3 "$HERE/signed-request.py" "$PORT" "$T/admin/admin1.key" GET /v1/orgs/acme/devices | cut -d' ' -f2- |
		python3 -c 'import json, sys; print(json.dumps({"binding": json.load(sys.stdin)["devices"][0]["keys"][0]}))' >"$T/replay.json"
	out=$(req "$T/a1/device.key" POST /v1/agent/rekey "$(cat "$T/replay.json")")
	[ "${out%% *}" = 400 ] || die "an old binding replayed was taken: $out"
	grep -q "not the device's current one" <<<"$out" || die "the replay's refusal does not say why: $out"
	# the binding that made the current key, sent again: the agent's retry, answered as before
	local keys
	keys=$(rp_as 1 --json devices | py "j['devices'][0]['keys']")
	out=$(req "$T/a1/device.key" POST /v1/agent/rekey "$(body "$T/a1/rekey.binding")")
	[ "${out%% *}" = 200 ] || die "the retry of the current binding was refused: $out"
	[ "$(rp_as 1 --json devices | py "j['devices'][0]['keys']")" = "$keys" ] || die "the retry added a key"
	# no chain longer than the CLI verifies (256 bindings)
	local seq
	seq=$(rp_sql "SELECT key_seq FROM devices WHERE id = '$DEV_a1'")
	rp_sql "UPDATE devices SET key_seq = 257 WHERE id = '$DEV_a1';"
	out=$(req "$T/a1/device.key" POST /v1/agent/rekey "$(body "$T/back.binding")")
	rp_sql "UPDATE devices SET key_seq = $seq WHERE id = '$DEV_a1';"
	[ "${out%% *}" = 409 ] && grep -q "the most a chain of bindings holds" <<<"$out" ||
		die "a 257th binding was not refused: $out"
	rp_ok "a retired key cannot be made current again; an old binding replayed is refused; a retry changes nothing; no chain past 256 bindings"
}

test_help
test_rekey_while_running
test_forged_answer_does_not_lock_out
test_interrupted_rekey
test_spooled_result_across_rekey
test_retired_key_after_the_rekey
test_server_cannot_bind_its_own_key
test_retired_key_cannot_come_back
rp_agent_stop a1
