#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The directory, proved with a real OpenSSH sshd and sudo in namespaces of
# the test's own (sshd-ns.sh): 3 administrators, directory 2 of 3, two
# agents. Agent a1 is in device group db and converges the namespace's
# /etc, which the sshd reads; agent a2 is not, and converges a root prefix
# of its own. A user added to the directory and bound to db logs in on a1
# with her key and gets sudo exactly as granted, and nothing on a2; a
# suspension locks her out within a poll interval and ends her session; a
# grant with an end ends at its end with the server stopped; a directory
# statement below quorum, forged, widening a group or not in the log
# changes nothing and raises an alert. On the host, after it: the host's
# accounts and sudoers are byte-identical and nothing of it runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-ns.sh"
. "$(dirname "$0")/directory-lib.sh"
rp_ns_init "$@"
# From here on this runs in the namespaces, as root.

# Test ids above any a Debian host hands out, below systemd's dynamic users.
ALICE_UID=61101
BOB_UID=61102
DBA_GID=61201
ONCALL_GID=61202

rp_server_init
rp_witnesses 2
rp_admins 3
rp_org acme 3 2
rp_enroll a1
rp_enroll a2
# a1 looks for drift every 3 s (the default is 300)
"$AGENT" run --state-dir "$T/a1" --poll-wait "${AGENT_WAIT:-5}" --max-backoff 2 --drift-interval 3 \
	>>"$T/a1.log" 2>&1 &
PIDS+=("$!")
APID_a1=$!
# a2's accounts live under a root prefix of its own: two agents must not share one /etc
R2=$T/root2
mkdir -p "$R2/etc/sudoers.d" "$R2/etc/skel" "$R2/home"
cp -a /etc/passwd /etc/shadow /etc/group /etc/gshadow "$R2/etc/"
"$AGENT" run --state-dir "$T/a2" --poll-wait "${AGENT_WAIT:-5}" --max-backoff 2 \
	--accounts-root "$R2" >>"$T/a2.log" 2>&1 &
PIDS+=("$!")
APID_a2=$!
rp_sshd_start sshd
rp_ns_keygen alice
rp_ns_keygen bob
rp_ns_keygen intruder

rp_dir_exports

test_show_empty() {
	local out
	out=$(rp_as 1 directory show) || die "directory show: $out"
	grep -q 'version 0' <<<"$out" && grep -q '(empty)' <<<"$out" || die "an empty directory shows as: $out"
	rp_ok "directory show: an empty directory, version 0"
}

test_user_login_and_sudo() {
	local out id
	getent passwd alice >/dev/null && die "alice exists before the directory made her"
	# the diff is shown before anything is signed
	out=$(rp_as 1 user add alice --uid $ALICE_UID --name "Alice Liddell" --key "$T/keys/alice.pub" --dry-run)
	grep -q "^| + user alice uid $ALICE_UID gid $ALICE_UID shell /bin/bash state active name Alice Liddell" <<<"$out" &&
		grep -q '^| + key ssh-ed25519 ' <<<"$out" && grep -q 'dry run: nothing signed' <<<"$out" ||
		die "user add --dry-run shows: $out"
	dir_change user add alice --uid $ALICE_UID --name "Alice Liddell" --key "$T/keys/alice.pub" >/dev/null
	dir_change group add dba --gid $DBA_GID --member alice >/dev/null
	dir_change device-group add db >/dev/null
	dir_change device-group join db "$DEV_a1" >/dev/null
	id=$(dir_change bind dba db --access sudo --command /usr/bin/id)
	dir_done "$id" "$DEV_a1"
	dir_done "$id" "$DEV_a2"
	getent passwd alice | grep -q "^alice:x:$ALICE_UID:$ALICE_UID:Alice Liddell:/home/alice:/bin/bash$" ||
		die "alice's account: $(getent passwd alice)"
	rp_ssh_login "$T/keys/alice" alice || die "alice cannot log in: $(cat "$T/ssh.err")"
	! rp_ssh_login "$T/keys/intruder" alice || die "a key the directory does not hold logs in as alice"
	out=$(rp_ssh "$T/keys/alice" alice sudo -n /usr/bin/id -u) || die "sudo -n /usr/bin/id: $(cat "$T/ssh.err")"
	[ "$out" = 0 ] || die "sudo /usr/bin/id -u printed $out"
	! rp_ssh "$T/keys/alice" alice sudo -n /bin/cat /etc/shadow >/dev/null 2>&1 ||
		die "sudo grants alice more than /usr/bin/id"
	id -nG alice | grep -qw dba || die "alice is not in group dba: $(id -nG alice)"
	# a2 is in no group bound to anything: none of it there
	! grep -q '^alice:' "$R2/etc/passwd" || die "alice was made on a2, which is not in db"
	[ ! -e "$R2/etc/ssh/rampart/authorized_keys/alice" ] || die "a2 holds alice's keys"
	rp_ok "a user bound to the device's group logs in by key, with exactly the sudo granted; not on the other device"
}

test_show_verified() {
	local out
	out=$(rp_as 3 directory show) || die "directory show: $out"
	grep -q 'version 5' <<<"$out" && grep -q "^| device $DEV_a1 groups db$" <<<"$out" &&
		grep -q '^| bind dba db sudo$' <<<"$out" && grep -q '^| command /usr/bin/id$' <<<"$out" ||
		die "directory show: $out"
	rp_ok "directory show: version 5, as verified by another administrator's CLI"
}

test_stale_change_refused() {
	# A change made against version 5, approved after another one was logged: never logged.
	local a b out
	a=$(rp_as 1 user add bob --uid $BOB_UID --key "$T/keys/bob.pub" | awk '$1 == "command" {print $2}')
	# version 6 is now someone else's change: a second proposal built on 5 as well
	b=$(rp_as 3 group add oncall --gid $ONCALL_GID | awk '$1 == "command" {print $2}')
	rp_as 2 approve --yes "$a" >/dev/null || die "approving $a"
	out=$(rp_as 2 approve --yes "$b" 2>&1) && die "a change made against an older directory was approved: $out"
	grep -q 'no longer the next version' <<<"$out" || die "the refusal says: $out"
	rp_as 1 directory show | grep -q "^| user bob " || die "bob's change is not in the directory"
	! rp_as 1 directory show | grep -q "^| group oncall " || die "the stale change was applied"
	rp_ok "a change made against an older directory is refused once another was logged (409)"
}

test_suspend_ends_login_and_session() {
	local id
	# a session that runs while she is suspended
	rp_ssh "$T/keys/alice" alice 'sleep 300' >/dev/null 2>&1 &
	local sess=$!
	rp_wait_for 10 pgrep -u alice -x sleep >/dev/null || die "alice's session did not start"
	id=$(dir_change user suspend alice)
	dir_done "$id" "$DEV_a1"
	! rp_ssh_login "$T/keys/alice" alice || die "a suspended user logs in"
	rp_ssh_refused "$T/keys/alice" alice || die "the refusal is not sshd's: $(cat "$T/ssh.err")"
	[ ! -e /etc/ssh/rampart/authorized_keys/alice ] || die "a suspended user keeps her keys"
	[ ! -e /etc/sudoers.d/rampart-alice ] || die "a suspended user keeps her sudo"
	rp_wait_for 10 bash -c '! pgrep -u alice >/dev/null' || die "alice's processes survive her suspension"
	wait "$sess" 2>/dev/null || true
	[ -d /home/alice ] || die "suspension deleted alice's home"
	id=$(dir_change user activate alice)
	dir_done "$id" "$DEV_a1"
	rp_ssh_login "$T/keys/alice" alice || die "alice cannot log in once active again"
	rp_ok "suspension locks the account, removes keys and sudo, ends the session; activation restores"
}

test_drift_reported_and_repaired() {
	local id out
	# by hand, behind the directory's back: a key for alice, a second uid 0 account
	cat "$T/keys/intruder.pub" >>/etc/ssh/rampart/authorized_keys/alice
	echo 'toor:x:0:0::/root:/bin/sh' >>/etc/passwd
	echo 'toor:*:20000:0:99999:7:::' >>/etc/shadow
	rp_ssh_login "$T/keys/intruder" alice || die "the hand-made key does not even work"
	rp_wait_for 30 bash -c "rp_as 1 drift '$DEV_a1' | grep -q 'drift-uid0 *toor'" ||
		die "no drift-uid0 for toor: $(rp_as 1 drift "$DEV_a1" 2>&1)"
	out=$(rp_as 1 drift "$DEV_a1")
	grep -q 'signed by the device' <<<"$out" && grep -Eq 'drift-(file|key) .*alice' <<<"$out" ||
		die "the changed key file is not reported: $out"
	# not fought: the hand-made key still works until the administrators say so
	rp_ssh_login "$T/keys/intruder" alice || die "drift was undone without a repair"
	out=$(rp_as 1 devices --drift)
	grep "$DEV_a1" <<<"$out" | grep -Eq '  [2-9][0-9]* ' || die "devices --drift does not count a1's drift: $out"
	grep "$DEV_a2" <<<"$out" | grep -q '  -  ' || die "devices --drift shows drift for a2: $out"
	id=$(dir_change drift repair "$DEV_a1")
	dir_done "$id" "$DEV_a1"
	! rp_ssh_login "$T/keys/intruder" alice || die "the repair left the hand-made key"
	rp_ssh_login "$T/keys/alice" alice || die "the repair took alice's own key"
	grep -q '^toor:!' /etc/shadow || die "the repair did not lock the unknown uid 0 account: $(grep ^toor: /etc/shadow)"
	grep -q '^toor:x:0:0:' /etc/passwd || die "the repair deleted the uid 0 account (it locks, never deletes)"
	rp_wait_for 30 bash -c "! rp_as 1 drift '$DEV_a1' | grep -Eq 'drift-(file|key) .*alice'" ||
		die "the repaired key file is still reported"
	# the host's copy: leave no uid 0 account behind for the tests that follow
	sed -i '/^toor:/d' /etc/passwd /etc/shadow
	rp_ok "drift (a key added by hand, a uid 0 account) is reported, signed, not fought, then repaired"
}

test_grant_ends_with_server_stopped() {
	local id until
	dir_change group add oncall --gid $ONCALL_GID --member alice >/dev/null
	id=$(dir_change bind oncall db --access sudo-all --for 25s)
	dir_done "$id" "$DEV_a1"
	rp_ssh "$T/keys/alice" alice sudo -n /bin/true || die "the temporary sudo-all does not work"
	rp_server_stop
	# with the server down, the agent's own clock ends the grant
	rp_wait_for 45 bash -c '[ ! -e /etc/sudoers.d/rampart-alice ] || ! grep -q "NOPASSWD: ALL" /etc/sudoers.d/rampart-alice' ||
		die "the grant did not end at its end with the server stopped: $(cat /etc/sudoers.d/rampart-alice)"
	! rp_ssh "$T/keys/alice" alice sudo -n /bin/true 2>/dev/null || die "sudo-all still works after its end"
	rp_ssh "$T/keys/alice" alice sudo -n /usr/bin/id -u >/dev/null || die "the lasting grant went with it"
	rp_server_start
	rp_ok "a grant with an end ends at its end by the device's clock, the server stopped"
}


test_below_quorum_and_widening_refused() {
	local id
	# a1's keys as they are
	local keys_before
	keys_before=$(sha256sum /etc/ssh/rampart/authorized_keys/alice)
	next_text "$T/widen.txt" "device $DEV_a2 groups db" "user alice uid $ALICE_UID gid $ALICE_UID shell /bin/bash state active name Alice Liddell" \
		"key $(cut -d' ' -f1,2 "$T/keys/intruder.pub")"
	# sorted: users come before devices
	python3 - "$T/widen.txt" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
head, body = lines[:6], lines[6:]
order = {"user": 0, "key": 0, "group": 1, "device-group": 2, "device": 3, "bind": 4}
users = [l for l in body if l.split()[0] in ("user", "key")]
rest = [l for l in body if l.split()[0] not in ("user", "key")]
open(p, "w").write("\n".join(head + users + rest) + "\n")
EOF
	forge "$T/widen.txt" "$T/widen.note" 1
	id=$(inject "$T/widen.note")
	rp_wait_for 30 bash -c "rp_as 1 --json alerts | grep -q directory-refused" ||
		die "no directory-refused alert for a statement below quorum"
	sleep 3
	[ "$(sha256sum /etc/ssh/rampart/authorized_keys/alice)" = "$keys_before" ] || die "a statement below quorum changed alice's keys"
	! rp_ssh_login "$T/keys/intruder" alice || die "the intruder's key logs in"
	! grep -q '^alice:' "$R2/etc/passwd" || die "a statement below quorum widened db to a2"
	rp_ok "a directory statement below quorum (adding a key, widening a group) changes nothing, with an alert"
}

test_forged_signature_refused() {
	local id
	next_text "$T/forged.txt" "user alice uid $ALICE_UID gid $ALICE_UID shell /bin/bash state active name Alice Liddell" \
		"key $(cut -d' ' -f1,2 "$T/keys/intruder.pub")"
	forge "$T/forged.txt" "$T/forged.note" 1 3
	# admin 3's signature line corrupted: a forgery under a real administrator's name
	python3 - "$T/forged.note" <<'EOF'
import base64, sys
p = sys.argv[1]
lines = open(p, encoding="utf-8").read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("\u2014 admin3@"):
        name, sig = l.rsplit(" ", 1)
        raw = bytearray(base64.b64decode(sig))
        raw[-1] ^= 1
        lines[i] = name + " " + base64.b64encode(bytes(raw)).decode()
open(p, "w", encoding="utf-8").write("\n".join(lines))
EOF
	id=$(inject "$T/forged.note")
	rp_wait_for 30 bash -c "rp_as 1 --json alerts | grep -q '$id'" || die "no alert names the forged statement $id"
	! rp_ssh_login "$T/keys/intruder" alice || die "a forged directory statement added a key"
	rp_ok "a directory statement with a forged signature changes nothing"
}

test_not_in_log_refused() {
	# A statement signed by a quorum but never logged: log_index -1 (the sequencer
	# skips it) in the active log (the server offers it, without a proof)
	local id
	next_text "$T/unlogged.txt" "user alice uid $ALICE_UID gid $ALICE_UID shell /bin/bash state active name Alice Liddell" \
		"key $(cut -d' ' -f1,2 "$T/keys/intruder.pub")"
	forge "$T/unlogged.txt" "$T/unlogged.note" 1 2
	id=$(sed -n 's/^id //p' "$T/unlogged.note")
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created, log_index, log) VALUES
		('$id', 'acme', readfile('$T/unlogged.note'), x'', 'approved', strftime('%s','now'), -1,
		 (SELECT id FROM logs WHERE org = 'acme' AND state = 'active'));
		INSERT INTO deliveries (command_id, device_id, status, updated)
		SELECT '$id', id, 'pending', strftime('%s','now') FROM devices;"
	# refused before its text is judged: the alert cannot name it, only say what it lacks
	rp_wait_for 30 bash -c "rp_as 1 --json alerts | grep -q 'not-in-log'" || die "no alert for a statement not in the log"
	[ "$(rp_status "$id" "$DEV_a1")" != done ] || die "a statement not in the log was applied"
	# the server stops offering it (one it offers again and again delays what follows)
	rp_sql "DELETE FROM deliveries WHERE command_id = '$id'"
	! rp_ssh_login "$T/keys/intruder" alice || die "a statement not in the log added a key"
	rp_ok "a signed directory statement not in the log changes nothing, with an alert"
}

test_removal_keeps_home() {
	local id
	id=$(dir_change user remove alice)
	dir_done "$id" "$DEV_a1"
	! getent passwd alice >/dev/null || die "a removed user keeps her account"
	[ -d /home/alice ] || die "removal deleted the home directory"
	! rp_ssh_login "$T/keys/alice" alice || die "a removed user logs in"
	rp_ok "removal deletes the account, keeps its home"
}

test_import_in_parts() {
	local ids n i out
	mkdir -p "$T/ref/keys/imp0002/.ssh"
	: >"$T/ref/passwd"
	for i in $(seq 1 300); do
		printf 'imp%04d:x:%d:%d:Imported %d,,,:/home/imp%04d:/bin/bash\n' "$i" $((62000 + i)) $((62000 + i)) "$i" "$i" >>"$T/ref/passwd"
	done
	printf 'daemon:x:1:1::/:/usr/sbin/nologin\n' >>"$T/ref/passwd"
	printf 'imp0001:x:62001:\nstaff2:x:63000:imp0001,imp0002,nobody-here\n' >"$T/ref/group"
	{
		cut -d' ' -f1,2 "$T/keys/bob.pub"
		echo "command=\"/bin/sh\" $(cut -d' ' -f1,2 "$T/keys/intruder.pub")"
	} >"$T/ref/keys/imp0002/.ssh/authorized_keys"
	# keys of 300 users: more than one log entry takes, so several chained statements
	for i in $(seq 3 300); do
		cut -d' ' -f1,2 "$T/keys/bob.pub" >"$T/ref/keys/$(printf 'imp%04d' "$i")"
	done
	out=$(rp_as 1 directory import --passwd "$T/ref/passwd" --group "$T/ref/group" --keys "$T/ref/keys" \
		--max-uid 62999 2>&1) ||
		die "import: $out"
	grep -q '1 line skipped (options' <<<"$out" || die "the key line with options was not reported: $out"
	grep -q '^| + user imp0300 uid 62300 gid 62300 shell /bin/bash state active name Imported 300$' <<<"$out" &&
		grep -q '^| + group staff2 gid 63000 members imp0001,imp0002$' <<<"$out" &&
		! grep -q 'daemon\|group imp0001' <<<"$out" || die "the import shows: $(grep '^| ' <<<"$out" | head -n 5)"
	ids=$(awk '$1 == "command" {print $2}' <<<"$out")
	n=$(wc -w <<<"$ids")
	[ "$n" -ge 2 ] || die "300 users with keys fit one statement?"
	for i in $ids; do
		rp_as 2 approve --yes "$i" >/dev/null || die "approving part $i"
	done
	out=$(rp_as 3 directory show)
	[ "$(grep -c '^| user imp' <<<"$out")" = 300 ] || die "not every imported user is in the directory"
	[ "$(grep -A2 '^| user imp0002 ' <<<"$out" | grep -c '^| key ')" = 1 ] || die "imp0002's keys: $(grep -A2 '^| user imp0002 ' <<<"$out")"
	# a CSV: a group it names must exist or be given a gid; nothing is signed on --dry-run
	printf 'login,uid,gid,shell,name,groups,keys\ncsv1,62501,,,CSV One,ops;staff2,%s\ncsv2,62502,62501,/bin/sh,,ops,\n' \
		"$(cut -d' ' -f1,2 "$T/keys/bob.pub")" >"$T/ref/users.csv"
	out=$(rp_as 1 directory import --csv "$T/ref/users.csv" --dry-run 2>&1) && die "a CSV naming an unknown group was taken: $out"
	grep -q 'group ops is neither in the directory nor given a gid' <<<"$out" || die "the CSV refusal says: $out"
	out=$(rp_as 1 directory import --csv "$T/ref/users.csv" --new-group ops=63001 --dry-run 2>&1) || die "CSV import: $out"
	grep -q '^| + user csv1 uid 62501 gid 62501 shell /bin/bash state active name CSV One$' <<<"$out" &&
		grep -q '^| + group ops gid 63001 members csv1,csv2$' <<<"$out" &&
		grep -q '^| ~ + group staff2 gid 63000 members csv1,imp0001,imp0002$' <<<"$out" &&
		grep -q 'dry run: nothing signed' <<<"$out" || die "the CSV import shows: $out"
	rp_ok "a reference server's passwd, group and keys imported in $n chained statements, approved in turn; a CSV too"
}

test_takeover_explicit() {
	local id out
	# a local account the directory also names: a conflict until takeover is said
	rp_ns_add_user carl 61150
	echo "carl-was-here" >/home/carl/note
	dir_change user add carl --uid 61150 --key "$T/keys/bob.pub" >/dev/null
	id=$(dir_change group edit dba --add-member carl)
	dir_done "$id" "$DEV_a1"
	[ ! -e /etc/ssh/rampart/authorized_keys/carl ] || die "a local account was taken over without --takeover"
	rp_wait_for 30 bash -c "rp_as 1 drift '$DEV_a1' | grep -q 'conflict *carl'" ||
		die "no conflict reported for carl: $(rp_as 1 drift "$DEV_a1")"
	id=$(dir_change user edit carl --takeover)
	dir_done "$id" "$DEV_a1"
	rp_ssh_login "$T/keys/bob" carl || die "carl was not taken over: $(cat "$T/ssh.err")"
	[ "$(cat /home/carl/note)" = carl-was-here ] || die "the takeover touched carl's home"
	rp_ok "a local account of the same login and uid is a conflict, left alone, until taken over explicitly"
}

test_audit_sees_directory() {
	local out
	out=$(rp_as 3 audit 2>&1) && die "an audit of a log holding forged directory statements found nothing: $out"
	grep -q '^#[0-9]* directory version 1 [0-9a-f]*, signed by admin1@acme.example, admin2@acme.example; puts 1 users' <<<"$out" ||
		die "the audit does not show directory version 1: $(grep directory <<<"$out" | head -n 3)"
	[ "$(grep -c 'FINDING.*is not authorised' <<<"$out")" -ge 2 ] ||
		die "the audit does not find the statements below quorum and forged: $(grep FINDING <<<"$out")"
	rp_ok "rampart audit shows every directory statement and who signed it, and finds the forged ones"
}

test_show_empty
test_user_login_and_sudo
test_show_verified
test_stale_change_refused
test_suspend_ends_login_and_session
test_drift_reported_and_repaired
test_grant_ends_with_server_stopped
test_not_in_log_refused
test_below_quorum_and_widening_refused
test_forged_signature_refused
test_removal_keeps_home
test_takeover_explicit
test_import_in_parts
test_audit_sees_directory
