#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Stricter quorum where it matters: the root policy asks 3 of 3 for
# `directory' and `exec' statements that reach device group `wallet',
# where the rest of the fleet needs 2. Agent a1 is in `wallet', a2 is not;
# both converge root prefixes of their own (no account of this machine is
# touched). rampartd holds a statement until it has what the strictest
# device it reaches requires; a statement logged with 2 behind the API's
# back changes the directory on a2 and nothing on a1, which alerts; a
# command for group:wallet runs only on a1, and only with 3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/directory-lib.sh"
rp_init "$1"

rp_server_init
rp_witnesses 2
rp_admins 3
POLICY_EDIT='/^role directory /a device-group-threshold wallet exec 3\ndevice-group-threshold wallet directory 3'
rp_org acme 3 2
grep -q '^device-group-threshold wallet exec 3$' "$T/admin/acme.policy" || die "the policy has no group threshold"
rp_enroll a1
rp_enroll a2
for a in a1 a2; do
	mkdir -p "$T/root-$a/etc/sudoers.d" "$T/root-$a/etc/skel" "$T/root-$a/home"
	cp -a /etc/passwd /etc/shadow /etc/group /etc/gshadow "$T/root-$a/etc/"
	"$AGENT" run --state-dir "$T/$a" --poll-wait "${AGENT_WAIT:-5}" --max-backoff 2 \
		--accounts-root "$T/root-$a" >>"$T/$a.log" 2>&1 &
	PIDS+=("$!")
done
rp_dir_exports
ME=$(id -un)

# in_dir DEVICE-NAME LOGIN: the user is in that agent's folded directory
in_dir() { grep -q "^user $2 " "$T/$1/directory.state" 2>/dev/null; }

test_wallet_made_with_two() {
	local id
	# wallet has no device yet: the role's 2 suffice, as for joining it
	dir_change device-group add wallet >/dev/null
	id=$(dir_change device-group join wallet "$DEV_a1")
	dir_done "$id" "$DEV_a1"
	grep -q "^device $DEV_a1 groups wallet$" "$T/a1/directory.state" || die "a1 is not in wallet"
	rp_ok "device group wallet made and a1 put in it with the role's 2 signatures"
}

test_directory_waits_for_three() {
	local id out
	id=$(rp_as 1 user add dan --uid 61301 | awk '$1 == "command" {print $2}')
	out=$(rp_as 2 approve --yes "$id")
	grep -q 'pending-approval (2 of 3 directory signatures' <<<"$out" ||
		die "with 2 of 3 the CLI says: $out"
	sleep 3
	! in_dir a2 dan || die "logged with 2 signatures although it reaches wallet"
	out=$(rp_as 3 approve --yes "$id")
	grep -q 'approved (3 of 3' <<<"$out" || die "with 3 the CLI says: $out"
	dir_done "$id" "$DEV_a1"
	dir_done "$id" "$DEV_a2"
	in_dir a1 dan && in_dir a2 dan || die "dan is not in both devices' directory"
	rp_ok "a directory change reaching wallet waits for 3 signatures, then reaches every device"
}

test_below_group_quorum_refused_on_wallet() {
	local id
	next_text "$T/eve.txt" "user eve uid 61302 gid 61302 shell /bin/sh state active"
	forge "$T/eve.txt" "$T/eve.note" 1 2
	id=$(inject "$T/eve.note")
	rp_wait_for 30 bash -c "grep -q '^user eve ' '$T/a2/directory.state'" || die "a2 did not take eve with 2 signatures"
	rp_wait_for 30 grep -q "directory-refused.*$id.*a device group's" "$T/a1/alerts.log" ||
		die "a1 did not refuse eve for wallet's threshold: $(tail -n 3 "$T/a1/alerts.log")"
	! in_dir a1 eve || die "a1, in wallet, took a change signed by 2"
	# refused on a1 (an alert, no signed result), done on a2: results --wait says so
	local rc=0
	rp_as 1 results --wait 30 "$id" >"$T/eve.results" 2>&1 || rc=$?
	[ "$rc" = 3 ] && grep -q "^$DEV_a1 .*UNVERIFIED .*the server says: refused" "$T/eve.results" &&
		grep -q "^$DEV_a2 .* done " "$T/eve.results" && ! grep -q "^UNVERIFIED: *$" "$T/eve.results" ||
		die "results --wait on a refused statement: exit $rc: $(cat "$T/eve.results")"
	# leaving wallet with 2: judged while a1 is still in it
	next_text "$T/leave.txt" "device $DEV_a1"
	forge "$T/leave.txt" "$T/leave.note" 1 2
	id=$(inject "$T/leave.note")
	rp_wait_for 30 grep -q "directory-refused.*$id" "$T/a1/alerts.log" || die "a1 left wallet with 2 signatures"
	grep -q "^device $DEV_a1 groups wallet$" "$T/a1/directory.state" || die "a1 is out of wallet"
	# everyone agrees: a device's record moves only with what that device requires
	rp_wait_for 30 bash -c "grep -q '^user eve ' '$T/a2/directory.state' && ! grep -q '^version 4$' '$T/a2/directory.state'" ||
		die "a2 did not fold the statement that would move a1"
	grep -q "^device $DEV_a1 groups wallet$" "$T/a2/directory.state" || die "in a2's view a1 left wallet"
	rp_as 1 directory show 2>/dev/null | grep -q "^| device $DEV_a1 groups wallet$" || die "in the CLI's view a1 left wallet"
	rp_ok "on the wallet device a change with 2 of its 3 changes nothing, with an alert (results --wait: refused there, exit 3); elsewhere it applies, but no view lets 2 take a1 out of wallet"
}

test_exec_group_target_needs_three() {
	local id out
	id=$(rp_submit 1 --to group:wallet --run-as "$ME" -- sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID")
	out=$(rp_as 2 approve --yes "$id")
	grep -q 'pending-approval (2 of 3 exec' <<<"$out" || die "exec to wallet with 2: $out"
	sleep 3
	[ ! -e "$T/ran.$id" ] || die "a command for wallet ran with 2 signatures"
	rp_as 3 approve --yes "$id" >"$T/approve3.out" || die "third approval"
	rp_wait_for 30 test -e "$T/ran.$id" || die "the command for wallet did not run with 3"
	sleep 3
	[ "$(wc -l <"$T/ran.$id")" = 1 ] || die "group:wallet ran on $(wc -l <"$T/ran.$id") devices, not a1 alone"
	[ "$(rp_status "$id" "$DEV_a1")" = done ] || die "a1's result: $(rp_status "$id" "$DEV_a1")"
	rp_ok "a command for group:wallet waits for 3 and runs on wallet's device alone"
}

test_approve_lists_group_devices() {
	local id out
	id=$(rp_submit 1 --to group:wallet --run-as "$ME" -- true)
	out=$(rp_as 2 approve --yes "$id")
	grep -A3 '^---- target devices (1) ----' <<<"$out" | grep -q "$DEV_a1" ||
		die "approve does not list the device group:wallet reaches: $out"
	rp_ok "approve lists the devices a group target resolves to in the verified directory"
}

test_membership_at_the_entry() {
	local early id
	# approved for group:web while web has no device: logged, delivered nowhere
	early=$(rp_submit 1 --to group:web --run-as "$ME" -- sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID")
	rp_as 2 approve --yes "$early" | grep -q approved || die "approving $early"
	# wallet has a device: every directory change needs its 3
	id=$(dir_change device-group add web)
	rp_as 3 approve --yes "$id" >/dev/null || die "approving $id"
	id=$(dir_change device-group join web "$DEV_a2")
	rp_as 3 approve --yes "$id" >/dev/null || die "approving $id"
	dir_done "$id" "$DEV_a2"
	# a breached server hands the earlier command to the device that joined since
	rp_sql "INSERT INTO deliveries (command_id, device_id, status, updated)
		VALUES ('$early', '$DEV_a2', 'pending', strftime('%s','now'))"
	rp_wait_for 30 grep -q "not-a-target $early" "$T/a2/alerts.log" ||
		die "a2 did not refuse a command logged before it joined web: $(tail -n 3 "$T/a2/alerts.log")"
	[ ! -e "$T/ran.$early" ] || die "a command approved for web before a2 joined it ran on a2"
	# one logged after it joined does run there
	id=$(rp_submit 1 --to group:web --run-as "$ME" -- sh -c "echo ran >> $T/ran.\$RAMPART_COMMAND_ID")
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 test -e "$T/ran.$id" || die "a command for web logged after a2 joined did not run on it"
	rp_ok "a group target is judged by the membership at its entry: joining a group later does not add a device to commands approved before"
}

test_wallet_made_with_two
test_directory_waits_for_three
test_below_group_quorum_refused_on_wallet
test_exec_group_target_needs_three
test_approve_lists_group_devices
test_membership_at_the_entry
