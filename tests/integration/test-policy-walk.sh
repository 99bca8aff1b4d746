#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's walk through the log (agent/walk.c, lib/scan.h): it reads
# every entry in order, proves them to be the witnessed log's, follows a
# root policy rotation it finds there, and judges every statement by the
# policy in force at its entry. Root policies are put into the log the way a
# breached server can put anything there: a row written straight into the
# database, which the sequencer logs (the real publication route checks
# the same rule before it appends; the agent trusts neither).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 5
rp_org acme 3 2 # admin1-3; admin4 and admin5 are outsiders
rp_enroll a1
rp_enroll a2 # offline until test_offline_agent_catches_up
rp_agent_start a1

now() { date -u -d "@$(( $(date +%s) + ${1:-0} ))" +%Y-%m-%dT%H:%M:%SZ; }
newid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
served_size() { curl -sk --tlsv1.3 "https://127.0.0.1:$PORT/v1/log/acme/checkpoint" | sed -n 2p; }

# The text of the policy in force (the signed v1 file without its signatures).
# ($T/admin/acme.policy is the CLI's trusted copy: it follows the chain.)
cp "$T/admin/acme.policy" "$T/v1.policy"
sed '/^$/,$d' "$T/v1.policy" >"$T/v1.txt"

# policy NAME VERSION SED-SCRIPT ADMIN...: $T/NAME.policy, v1's text edited
# and signed by those admins (rampart policy sign refuses keys not in it).
policy() {
	local name=$1 v=$2 script=$3 n; shift 3
	sed -e "s/^version 1\$/version $v/" -e "$script" "$T/v1.txt" >"$T/$name.policy"
	for n in "$@"; do
		"$CLI" policy sign --yes --key "$T/admin/admin$n.key" "$T/$name.policy" >/dev/null ||
			die "policy sign $name admin$n"
	done
}

# logged NOTEFILE: appended to the org's log as a breached server would.
logged() {
	local before
	before=$(served_size)
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('$(newid)', 'acme', readfile('$1'), x'', 'approved', strftime('%s','now'));"
	rp_wait_for 60 bash -c "[ \"\$(curl -sk --tlsv1.3 https://127.0.0.1:$PORT/v1/log/acme/checkpoint | sed -n 2p)\" -gt $before ]" ||
		die "$1 was not logged"
}

# cmd_to_a1 NAME ADMIN...: a command to a1 that drops $T/canary.NAME, signed by
# those admins and forged into the database as approved.
cmd_to_a1() {
	local name=$1 id n h size; shift
	id=$(newid)
	printf 'touch %s/canary.%s\n' "$T" "$name" >"$T/$name.payload"
	h=$(sha256sum <"$T/$name.payload" | cut -d' ' -f1)
	size=$(wc -c <"$T/$name.payload")
	{
		printf 'rampart/command/v1\norg acme\nid %s\nkind exec\n' "$id"
		printf 'not-before %s\nexpires %s\nrun-as %s\ntimeout 10\n' "$(now -60)" "$(now 3600)" "$ME"
		printf 'payload sha256:%s %s\ntarget %s\n' "$h" "$size" "${TO:-$DEV_a1}"
	} >"$T/$name.note"
	for n in "$@"; do
		"$CLI" note sign --key "$T/admin/admin$n.key" <"$T/$name.note" >"$T/$name.tmp"
		mv "$T/$name.tmp" "$T/$name.note"
	done
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created)
		VALUES ('$id', 'acme', readfile('$T/$name.note'), readfile('$T/$name.payload'), 'approved', strftime('%s','now'));
		INSERT INTO deliveries (command_id, device_id, status, updated)
		VALUES ('$id', '${TO:-$DEV_a1}', 'pending', strftime('%s','now'));"
	echo "$name $id $*" >>"$T/commands"
	echo "$id"
}

expect_ran() {
	rp_wait_for 30 test -e "$T/canary.$1" || die "$1: the command did not run"
}
expect_refused() {
	local name=$1 id=$2 code=$3
	rp_wait_for 30 grep -q "$code $id" "$T/${AG:-a1}/alerts.log" ||
		die "$name: no '$code' alert for $id"
	sleep 1
	[ ! -e "$T/canary.$name" ] || die "$name: the canary exists: the command RAN"
}

test_walk_reads_the_whole_log() {
	local id
	id=$(cmd_to_a1 before 1 2)
	expect_ran before
	rp_wait_for 30 bash -c "awk '\$1 == \"scanned\" {exit !(\$2 > 1)}' '$T/a1/scan.state'" ||
		die "the agent has not walked the log (scan.state: $(head -1 "$T/a1/scan.state" 2>/dev/null))"
	grep -q '^policy 1 0$' "$T/a1/scan.state" || die "scan.state does not keep version 1 from entry 0"
	rp_ok "walk: the agent reads the log's entries, proved, before acting (command $id ran)"
}

test_rotation_followed() {
	# Version 2 revokes admin3: signed by admin1 and admin2, a root quorum of
	# version 1 and of version 2 itself.
	# Published the administrators' way: proposed by admin1, approved by admin2.
	rp_as 1 policy propose --yes --revoke admin3@acme.example >"$T/propose2.out" 2>&1 ||
		{ cat "$T/propose2.out" >&2; die "policy propose v2"; }
	rp_as 2 approve --policy --yes >"$T/approve2.out" 2>&1 ||
		{ cat "$T/approve2.out" >&2; die "approve --policy v2"; }
	# The agent reads on when it has something to act on past its walk (or
	# refreshes its checkpoint, every half freshness window): a command.
	cmd_to_a1 after 1 2 >/dev/null
	expect_ran after
	grep -q 'root policy version 2 .* is in force from log entry' "$T/a1.log" ||
		die "the agent did not take version 2 into force before running a later command"
	[ -f "$T/a1/policy.v2.note" ] || die "policy.v2.note was not kept"
	rp_ok "rotation: version 2, signed by version 1's root quorum and its own, is in force on the agent"
}

test_revoked_key_after_rotation() {
	# admin1 + admin3 meet version 1's exec threshold; admin3 is revoked in 2.
	local id
	id=$(cmd_to_a1 revoked 1 3)
	expect_refused revoked "$id" no-quorum
	rp_ok "attack: a statement acted on under a policy that was rotated away: refused, and one signed under version 2 runs"
}

test_rotation_not_signed_by_old_quorum() {
	# "Version 3" handing the org to the outsiders admin4 and admin5, signed
	# by them only: its own root quorum, none of version 2's.
	local k4 k5
	k4=$(cat "$T/admin/admin4.key.vkey")
	k5=$(cat "$T/admin/admin5.key.vkey")
	# v1's text with the keys and roles replaced, in the fields' order
	python3 - "$T/v1.txt" "$T/v3bad.policy" "$k4" "$k5" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = []
for l in lines:
    w = l.split(" ")
    if w[0] == "version":
        out.append("version 3")
    elif w[0] == "key":
        if not any(o.startswith("key ") for o in out):
            out += ["key " + sys.argv[3], "key " + sys.argv[4]]
    elif w[0] == "role":
        out.append("role %s 1 admin4@acme.example admin5@acme.example" % w[1])
    else:
        out.append(l)
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
	for n in 4 5; do
		"$CLI" policy sign --yes --key "$T/admin/admin$n.key" "$T/v3bad.policy" >/dev/null ||
			die "policy sign v3bad admin$n"
	done
	logged "$T/v3bad.policy"
	local id
	id=$(cmd_to_a1 takeover 4 5)
	expect_refused takeover "$id" no-quorum
	grep -q 'policy-refused' "$T/a1/alerts.log" ||
		die "no policy-refused alert for a version 3 without version 2's root quorum"
	grep -q 'policy-refused' "$T/a1/security.log" || die "policy-refused is not in security.log"
	rp_ok "attack: root policy N+1 not signed by version N's threshold: refused with an alert, the outsiders' command refused"
}

test_skipped_version() {
	policy v4 4 '/^key admin3@/d; s/ admin3@acme.example//g' 1 2
	logged "$T/v4.policy"
	cmd_to_a1 skip 1 2 >/dev/null
	expect_ran skip
	grep -q 'policy-skipped' "$T/a1/alerts.log" ||
		die "no policy-skipped alert for version 4 after version 2"
	grep -q '^policy 4 ' "$T/a1/scan.state" && die "version 4 was kept"
	rp_ok "attack: a skipped root version: refused with an alert, version 2 stays in force"
}

test_replayed_old_policy() {
	# Version 1 itself, logged again: it would give admin3 back its vote.
	logged "$T/v1.policy"
	local id
	id=$(cmd_to_a1 replayed 1 3)
	expect_refused replayed "$id" no-quorum
	grep -q 'policy-replayed' "$T/a1/alerts.log" ||
		die "no policy-replayed alert for version 1 logged again"
	rp_ok "attack: a replayed old root policy changes nothing: alerted, admin3's vote stays revoked"
}

test_restart_keeps_the_walk() {
	rp_agent_stop a1
	rp_agent_start a1
	local id
	id=$(cmd_to_a1 restart 1 3)
	expect_refused restart "$id" no-quorum
	id=$(cmd_to_a1 restart2 1 2)
	expect_ran restart2
	rp_ok "restart: the walk and version 2 are loaded from the state directory"
}

test_audit_lists_what_the_stolen_key_signed() {
	local rc=0 want got
	cmp -s "$T/admin/acme.v1.policy" "$T/v1.policy" ||
		die "the CLI did not keep version 1 aside when its trusted copy moved on"
	# The audit's default anchor: that version 1 (acme.v1.policy).
	rp_as 1 audit --quiet --signed-by admin3@acme.example \
		--state "$T/audit.state" >"$T/signed.out" 2>&1 || rc=$?
	# the log holds junk policies and commands signed with a revoked key: findings
	[ "$rc" -eq 3 ] || { cat "$T/signed.out" >&2; die "audit --signed-by exited $rc, want 3"; }
	want=$(awk '/ 3$| 3 / {print $2}' "$T/commands" | sort)
	got=$(grep '^SIGNED #' "$T/signed.out" | grep -o 'command [0-9a-f]\{32\}' | cut -d' ' -f2 | sort)
	[ -n "$want" ] && [ "$want" = "$got" ] ||
		{ cat "$T/signed.out" >&2; die "SIGNED lines name '$got', want exactly '$want'"; }
	grep -q "audit: key admin3@acme.example signed $(echo "$want" | wc -l) of the" "$T/signed.out" ||
		die "no summary of what admin3 signed"
	[ ! -e "$T/audit.state" ] || die "audit --signed-by saved a state"
	rp_ok "audit --signed-by lists exactly what the revoked key ever signed ($(echo "$want" | wc -l) commands), under any policy"
}

test_tls_rotation_followed() {
	local cur next
	"$RAMPARTD" rotate tls --data "$DATA" >"$T/rotate.out" 2>"$T/rotate.log" || die "rampartd rotate tls"
	cur=$(awk '$1 == "current" {print $2}' "$T/rotate.out")
	next=$(awk '$1 == "next" {print $2}' "$T/rotate.out")
	[ "$cur" = "$PIN" ] && [ -n "$next" ] && [ "$next" != "$PIN" ] || die "rotate tls printed '$cur' '$next'"
	# Version 3: version 2 naming both server keys, proposed and approved.
	rp_as 1 policy propose --yes --server-pin "$cur" --server-pin "$next" >"$T/propose3.out" 2>&1 ||
		{ cat "$T/propose3.out" >&2; die "policy propose v3"; }
	grep -q "^+server-pin $next\$\|server-pin $next" "$T/propose3.out" || die "the diff does not show the next key"
	rp_as 2 approve --policy --yes >"$T/approve3.out" 2>&1 ||
		{ cat "$T/approve3.out" >&2; die "approve --policy v3"; }
	rp_as 1 policy status >"$T/status3.out" 2>&1 || die "policy status"
	cmd_to_a1 tls1 1 2 >/dev/null
	expect_ran tls1
	rp_wait_for 20 grep -q 'names other server keys: restarting the network process' "$T/a1.log" ||
		die "the agent did not take the policy's server keys"
	"$RAMPARTD" rotate tls --data "$DATA" --activate >"$T/activate.out" 2>>"$T/rotate.log" ||
		die "rampartd rotate tls --activate"
	rp_server_stop
	rp_server_start
	# The CLI follows too: its trusted policy (version 3 now) names the new key.
	rp_as 1 devices >/dev/null 2>"$T/devices.err" ||
		{ cat "$T/devices.err" >&2; die "the CLI does not accept the key its trusted policy names"; }
	cmd_to_a1 tls2 1 2 >/dev/null
	expect_ran tls2
	rp_ok "TLS key rotation: the agent moves to the new key through a signed, logged policy and keeps working"
}

test_pin_change_without_statement() {
	# The breached server swaps in a key of its own that no policy names.
	"$RAMPARTD" rotate tls --data "$DATA" >"$T/rotate2.out" 2>>"$T/rotate.log" || die "rotate tls (rogue)"
	"$RAMPARTD" rotate tls --data "$DATA" --activate >/dev/null 2>>"$T/rotate.log" || die "activate (rogue)"
	rp_server_stop
	rp_server_start
	cmd_to_a1 rogue 1 2 >/dev/null
	rp_wait_for 30 grep -q 'not one the root policy names (server-pin)' "$T/a1.log" ||
		die "the agent did not refuse the rogue key"
	rp_wait_for 30 grep -q 'server-key' "$T/a1/security.log" ||
		die "no server-key alert after reading the log for a policy naming the rogue key"
	[ ! -e "$T/canary.rogue" ] || die "a command ran over the rogue key"
	# The operator puts the policy's key back (the rename --activate made, undone).
	rp_server_stop
	mv "$DATA/tls.key" "$DATA/tls.next.key"
	mv "$DATA/tls.crt" "$DATA/tls.next.crt"
	mv "$DATA/tls.prev.key" "$DATA/tls.key"
	mv "$DATA/tls.prev.crt" "$DATA/tls.crt"
	rp_server_start
	expect_ran rogue
	rp_ok "attack: a TLS pin change without a signed statement: the agent refuses the server's new key and runs nothing until the policy's key is back"
}

test_offline_agent_catches_up() {
	# a2 enrolled under version 1 with the first server key; since then
	# versions 2 and 3 were published and the server's key rotated.
	rp_agent_start a2
	local id
	TO=$DEV_a2 AG=a2 cmd_to_a1 offline 1 2 >/dev/null
	expect_ran offline
	grep -q 'reading the log over an unpinned connection' "$T/a2.log" ||
		die "a2 did not read the log over an unpinned connection"
	grep -q 'root policy version 3 .* is in force' "$T/a2.log" || die "a2 did not reach version 3"
	grep -q 'root policy version 2 .* is in force' "$T/a2.log" || die "a2 did not walk version 2"
	id=$(TO=$DEV_a2 AG=a2 cmd_to_a1 offline-revoked 1 3)
	AG=a2 expect_refused offline-revoked "$id" no-quorum
	rp_ok "an agent offline across two root rotations and a TLS key rotation catches up: it walks both over an unpinned connection, pins the new key, refuses the revoked one"
}

test_enrolled_after_rotations() {
	# A token made now names the newest version the CLI verified (3): the new
	# device trusts it from the start, and reads the older versions as history.
	rp_enroll a3
	grep -q 'root policy version 3' "$T/a3.enroll" || die "a3 was not enrolled under version 3"
	rp_agent_start a3
	local id
	TO=$DEV_a3 AG=a3 cmd_to_a1 late 1 2 >/dev/null
	expect_ran late
	id=$(TO=$DEV_a3 AG=a3 cmd_to_a1 late-revoked 1 3)
	AG=a3 expect_refused late-revoked "$id" no-quorum
	# The forged "version 4" logged before version 3 (test_skipped_version) is
	# history to a3, not a rotation from the version it was enrolled with.
	grep -q 'the root policy this device was enrolled with (version 3) is log entry' "$T/a3.log" ||
		die "a3 did not find its enrolment's policy in the log"
	! grep -q 'root policy version 4 .* is in force' "$T/a3.log" ||
		die "a3 took the version 4 logged before its enrolment's version 3"
	rp_ok "a device enrolled after two rotations trusts version 3 from its token and walks the older ones as history"
}

test_no_false_alarm() {
	# Everything above was an honest log (forged rows are refused or logged,
	# never forked): no alert may speak of a fork, a rollback or a bad proof.
	local a
	for a in a1 a2 a3; do
		! grep -E ' (log-fork|log-proof|log-rollback) ' "$T/$a/alerts.log" ||
			die "agent $a raised a log alarm on an honest log"
	done
	rp_ok "no log alarm on the honest log through rotations, deferred entries and key changes"
}

test_walk_reads_the_whole_log
test_rotation_followed
test_revoked_key_after_rotation
test_rotation_not_signed_by_old_quorum
test_skipped_version
test_replayed_old_policy
test_restart_keeps_the_walk
test_tls_rotation_followed
test_pin_change_without_statement
test_offline_agent_catches_up
test_audit_lists_what_the_stolen_key_signed
test_enrolled_after_rotations
test_no_false_alarm
rp_note "all policy walk tests passed"
