#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An administrator whose signing key lives only in ssh-agent (issue 9): a
# real OpenSSH ssh-agent in the test's directory holds admin2's Ed25519 key,
# whose file is deleted once it is added. admin2 signs the root policy,
# proposes a command that an agent runs, approves another through the
# config file's `key ssh-agent:' line, and no Rampart key file for it ever
# exists. Then the attacks: an agent that answers signatures that do not
# verify, and agents whose keys are RSA or FIDO (sk-ssh-ed25519).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
FAKE_AGENT=$(dirname "$0")/fake-ssh-agent.py

ME=$(id -un)
rp_server_init
rp_witnesses 1

# rp_ssh_agent NAME: a real ssh-agent on $T/ssh/NAME.sock, in the foreground of its job.
rp_ssh_agent() {
	mkdir -p "$T/ssh"
	ssh-agent -D -a "$T/ssh/$1.sock" >"$T/ssh-agent-$1.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 10 test -S "$T/ssh/$1.sock" || die "ssh-agent $1 did not come up"
}

# fake_agent MODE: fake-ssh-agent.py on $T/ssh/fake-MODE.sock, relaying to the real agent.
fake_agent() {
	python3 "$FAKE_AGENT" "$T/ssh/fake-$1.sock" "$T/ssh/real.sock" "$1" "$T/ssh/fake-$1.requests" \
		>>"$T/fake-agent-$1.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 10 test -S "$T/ssh/fake-$1.sock" || die "fake agent $1 did not come up"
}

rp_ssh_agent real
export SSH_AUTH_SOCK=$T/ssh/real.sock
ssh-keygen -q -t ed25519 -N '' -C 'admin2 laptop' -f "$T/ssh/id_ed25519" || die "ssh-keygen"
ssh-add "$T/ssh/id_ed25519" 2>/dev/null || die "ssh-add"
# From here on the agent holds the only copy of the key.
rm -f "$T/ssh/id_ed25519"

test_vkey_from_agent() {
	"$CLI" key from-ssh-agent admin2@acme.example >"$T/admin2.vkey" 2>"$T/from-agent.err" ||
		die "key from-ssh-agent: $(cat "$T/from-agent.err")"
	[ "$(wc -l <"$T/admin2.vkey")" -eq 1 ] || die "key from-ssh-agent printed $(wc -l <"$T/admin2.vkey") lines"
	VK2=$(cat "$T/admin2.vkey")
	# The same public key ssh-keygen wrote, with the note key's name and id.
	local pub
	pub=$(awk '{print $2}' "$T/ssh/id_ed25519.pub" | base64 -d | tail -c 32 | base64)
	[ "$(cut -d+ -f3- <<<"$VK2" | base64 -d | tail -c 32 | base64)" = "$pub" ] ||
		die "the vkey is not the agent's key: $VK2"
	grep -q "admin2 laptop" "$T/from-agent.err" || die "key from-ssh-agent did not say which key: $(cat "$T/from-agent.err")"
	echo "ssh-agent:$VK2" >"$T/admin/admin2.keyspec"
	rp_ok "rampart key from-ssh-agent prints the verifier key of the agent's ed25519 key"
}

test_org_with_agent_key() {
	rp_admins 1
	# root 2 of 2: the policy is valid only with the agent's signature.
	rp_org acme 2 2
	"$CLI" note verify --vkey "$VK2" <"$T/admin/acme.policy" | grep -q "verified by admin2@acme.example" ||
		die "the root policy does not carry admin2's signature from the agent"
	rp_ok "org init with the agent's vkey; root policy signed in ssh-agent and uploaded"
}

test_command_proposed_in_agent() {
	rp_enroll a1
	rp_agent_start a1
	local id
	id=$(rp_submit 2 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo ran >> $T/ran.proposed")
	[ -n "$id" ] || die "run with the agent's key submitted nothing"
	sleep 2
	[ ! -e "$T/ran.proposed" ] || die "ran with one signature"
	rp_as 1 approve --yes "$id" | grep -q approved || die "approval by admin1 did not approve"
	rp_wait_for 30 test -e "$T/ran.proposed" || die "the command signed in ssh-agent never ran"
	rp_wait_for 20 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" 2>/dev/null ||
		[ "$(rp_status "$id" "$DEV_a1")" = done ] || die "status is $(rp_status "$id" "$DEV_a1")"
	rp_as 1 approve --yes "$id" | grep -q "already carries your signature" ||
		die "admin1's approval not recorded"
	rp_as 2 approve --yes "$id" | grep -q "already carries your signature" ||
		die "the statement does not carry admin2's signature from the agent"
	rp_ok "a command proposed with the agent's key, approved with a key file, runs"
}

test_approve_with_agent_key_from_config() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo ran >> $T/ran.approved")
	# admin2's config names the agent key; no --key on the command line.
	RAMPART_CONFIG=$T/admin2/config "$CLI" --server "https://127.0.0.1:$PORT" --pin "$PIN" --org acme \
		--key "$(rp_key 2)" config --save >/dev/null || die "config --save"
	grep -qx "key ssh-agent:$VK2" "$T/admin2/config" || die "config has no ssh-agent key line"
	RAMPART_CONFIG=$T/admin2/config "$CLI" policy trust "$T/admin/acme.policy" >/dev/null ||
		die "policy trust"
	RAMPART_CONFIG=$T/admin2/config "$CLI" approve --yes "$id" >"$T/approve2.out" 2>&1 ||
		die "approve with the agent key from the config: $(cat "$T/approve2.out")"
	grep -q approved "$T/approve2.out" || die "approval in ssh-agent did not approve"
	rp_wait_for 30 test -e "$T/ran.approved" || die "the command approved in ssh-agent never ran"
	rp_ok "config line \`key ssh-agent:VKEY' approves a command, which runs"
}

test_note_signed_in_agent() {
	printf 'hello from the agent\n' | "$CLI" note sign --key "$(rp_key 2)" >"$T/agent.note" ||
		die "note sign with the agent key"
	"$CLI" note verify --vkey "$VK2" <"$T/agent.note" | grep -q "verified by admin2@acme.example" ||
		die "the agent-signed note does not verify"
	rp_ok "rampart note sign --key ssh-agent:VKEY makes a note that verifies"
}

test_no_key_file_written() {
	local f
	# Nothing in the test's tree holds admin2's secret: no key file, plain or
	# encrypted, and no PRIVATE+KEY text for it (the ssh key file was removed).
	f=$(grep -rlaE 'PRIVATE\+KEY\+admin2@' "$T" 2>/dev/null || true)
	[ -z "$f" ] || die "a signer key for admin2 was written: $f"
	f=$(find "$T" -name 'admin2*.key' -o -name 'admin2*.key.vkey' -o -name id_ed25519)
	[ -z "$f" ] || die "key files for admin2 exist: $f"
	# admin1's key file is what a key file looks like, so the check can see one.
	grep -qa 'PRIVATE+KEY+admin1@' "$T/admin/admin1.key" || die "the check does not recognise a key file"
	rp_ok "no Rampart key file, plain or encrypted, was ever written for the agent's key"
}

commands_in_db() { rp_sql "SELECT count(*) FROM commands"; }
posts_logged() { grep -c 'POST /v1/orgs/acme/commands' "$T/server.log" || true; }

test_agent_returns_wrong_signature() {
	local mode before posts id sigs
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo ran >> $T/ran.forged")
	sigs=$(rp_sql "SELECT statement FROM commands WHERE id = '$id'" | grep -c '^—')
	for mode in wrong-data garbage; do
		fake_agent "$mode"
		before=$(commands_in_db)
		posts=$(posts_logged)
		if SSH_AUTH_SOCK=$T/ssh/fake-$mode.sock rp_as 2 run --to "$DEV_a1" --run-as "$ME" -- true \
			>"$T/forged-$mode.out" 2>&1; then
			die "$mode: run succeeded with an agent whose signature does not verify"
		fi
		grep -q "returned a signature that does not verify under admin2@acme.example" "$T/forged-$mode.out" ||
			die "$mode: no clear error: $(cat "$T/forged-$mode.out")"
		grep -q "^13$" "$T/ssh/fake-$mode.requests" || die "$mode: the fake agent was never asked to sign"
		[ "$(commands_in_db)" = "$before" ] || die "$mode: a command reached the server"
		[ "$(posts_logged)" = "$posts" ] || die "$mode: a command was sent to the server"
		# Approving: the first signed request fails, so nothing is fetched or sent.
		if SSH_AUTH_SOCK=$T/ssh/fake-$mode.sock rp_as 2 approve --yes "$id" >"$T/forged-a-$mode.out" 2>&1; then
			die "$mode: approve succeeded with an agent whose signature does not verify"
		fi
		grep -q "does not verify" "$T/forged-a-$mode.out" || die "$mode: approve: $(cat "$T/forged-a-$mode.out")"
		[ "$(rp_sql "SELECT statement FROM commands WHERE id = '$id'" | grep -c '^—')" = "$sigs" ] ||
			die "$mode: a signature was added to $id"
	done
	sleep 2
	[ ! -e "$T/ran.forged" ] || die "the command ran"
	rp_ok "test_agent_returns_wrong_signature: a signature of other bytes, or junk, is refused; nothing signed or sent"
}

test_agent_key_of_other_type() {
	local before posts
	# A real agent that holds only an RSA key.
	rp_ssh_agent rsa
	ssh-keygen -q -t rsa -b 2048 -N '' -C 'old rsa key' -f "$T/ssh/id_rsa" || die "ssh-keygen rsa"
	SSH_AUTH_SOCK=$T/ssh/rsa.sock ssh-add "$T/ssh/id_rsa" 2>/dev/null || die "ssh-add rsa"
	if SSH_AUTH_SOCK=$T/ssh/rsa.sock "$CLI" key from-ssh-agent admin2@acme.example >"$T/rsa.vkey" 2>"$T/rsa.err"; then
		die "key from-ssh-agent accepted an agent with only an RSA key"
	fi
	[ ! -s "$T/rsa.vkey" ] || die "a vkey was printed for an RSA key"
	grep -q "ssh-rsa key \`old rsa key': refused: Rampart signs with Ed25519 keys only" "$T/rsa.err" ||
		die "no message for the RSA key: $(cat "$T/rsa.err")"
	before=$(commands_in_db)
	posts=$(posts_logged)
	if "$CLI" --ssh-agent "$T/ssh/rsa.sock" --server "https://127.0.0.1:$PORT" --pin "$PIN" --org acme \
		--key "$(rp_key 2)" run --to "$DEV_a1" --run-as "$ME" -- true >"$T/rsa.out" 2>&1; then
		die "run signed with an agent that holds only an RSA key"
	fi
	grep -q "holds no ssh-ed25519 key for admin2@acme.example.*other types: Rampart signs with Ed25519 keys only" \
		"$T/rsa.out" || die "no message for the RSA agent: $(cat "$T/rsa.out")"

	# A FIDO key with admin2's very public key: listed, never asked to sign.
	fake_agent sk
	if SSH_AUTH_SOCK=$T/ssh/fake-sk.sock "$CLI" key from-ssh-agent admin2@acme.example >"$T/sk.vkey" 2>"$T/sk.err"; then
		die "key from-ssh-agent accepted a FIDO key"
	fi
	[ ! -s "$T/sk.vkey" ] || die "a vkey was printed for a FIDO key"
	grep -q "sk-ssh-ed25519@openssh.com key \`admin2 laptop': refused: FIDO keys" "$T/sk.err" ||
		die "no message for the FIDO key: $(cat "$T/sk.err")"
	if SSH_AUTH_SOCK=$T/ssh/fake-sk.sock rp_as 2 run --to "$DEV_a1" --run-as "$ME" -- true >"$T/sk.out" 2>&1; then
		die "run signed with a FIDO key"
	fi
	grep -q "holds admin2@acme.example+[0-9a-f]* only as sk-ssh-ed25519@openssh.com key .*refused: FIDO keys .* not the Ed25519 signature" \
		"$T/sk.out" || die "no message for the FIDO agent: $(cat "$T/sk.out")"
	! grep -q "^13$" "$T/ssh/fake-sk.requests" || die "the FIDO key was asked to sign"
	[ "$(commands_in_db)" = "$before" ] || die "a command reached the server"
	[ "$(posts_logged)" = "$posts" ] || die "a command was sent to the server"
	rp_ok "test_agent_key_of_other_type: RSA and FIDO sk keys are refused with the reason; nothing signed or sent"
}

test_no_agent() {
	if env -u SSH_AUTH_SOCK "$CLI" note sign --key "$(rp_key 2)" <<<"x" >/dev/null 2>"$T/noagent.err"; then
		die "note sign without an agent succeeded"
	fi
	grep -q "SSH_AUTH_SOCK is not set" "$T/noagent.err" || die "no message without an agent: $(cat "$T/noagent.err")"
	if "$CLI" --ssh-agent "$T/ssh/none.sock" note sign --key "$(rp_key 2)" <<<"x" >/dev/null 2>"$T/noagent.err"; then
		die "note sign with a dead socket succeeded"
	fi
	grep -q "cannot reach ssh-agent at $T/ssh/none.sock" "$T/noagent.err" ||
		die "no message for a dead socket: $(cat "$T/noagent.err")"
	rp_ok "no agent, or a socket nothing listens on: a message naming it"
}

test_vkey_from_agent
test_org_with_agent_key
test_command_proposed_in_agent
test_approve_with_agent_key_from_config
test_note_signed_in_agent
test_no_key_file_written
test_agent_returns_wrong_signature
test_agent_key_of_other_type
test_no_agent
