#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Account convergence (agent/converge.c, driven by tests/agent/converge-run)
# against the real OpenSSH sshd and sudo, in the test's own namespaces
# (sshd-ns.sh), under both UsePAM no and Debian's UsePAM yes: an account
# it makes logs in by its key and gets its sudo; a second apply writes
# nothing; a suspended account is refused by both sshds (`!*' and expiry
# 1: each setting refuses for its own reason), loses its sudo, and its
# session is ended; access given back logs in again; a removed account is
# refused and its home stays. On the host afterwards: nothing changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-ns.sh"
rp_ns_init "$@"
# From here on this runs in the namespaces, as root; /etc is the test's copy.

RUN=$BIN/tests/agent/converge-run
STATE=$T/agent-state
ALICE=61101 # above what a Debian host hands out, below systemd's dynamic users
mkdir -m 0700 "$STATE"

# plan ACCESS SUDO: alice with her key, or no plan line at all for `gone'.
plan() {
	if [ "$1" = gone ]; then
		: >"$T/plan"
		return
	fi
	{
		echo "user alice $ALICE $ALICE $1 $2"
		echo "key $(cat "$T/keys/alice.pub")"
	} >"$T/plan"
}

converge() {
	"$RUN" "" "$STATE" "$T/plan" >"$T/converge.out" 2>"$T/converge.err" ||
		die "converge-run: $(cat "$T/converge.err")"
	cat "$T/converge.out" >>"$T/converge.log"
}

# Not logged in, whatever the reason each sshd gives (refused, or expired).
no_login() {
	local out rc=0
	out=$(rp_ssh -p "$1" "$T/keys/alice" alice id -un) || rc=$?
	[ $rc -ne 0 ] && [ -z "$out" ] &&
		grep -q 'Permission denied (publickey)\|Your account has expired' "$T/ssh.err"
}

test_created_account_logs_in() {
	rp_ns_keygen alice
	rp_sshd_start sshd
	rp_sshd_start pam 'UsePAM yes'
	plan access all
	converge
	grep -q '^created alice: ' "$T/converge.out" || die "alice not created: $(cat "$T/converge.out")"
	rp_ssh_login -p "$SSHD_PORT_sshd" "$T/keys/alice" alice || die "alice cannot log in (UsePAM no): $(cat "$T/ssh.err")"
	rp_ssh_login -p "$SSHD_PORT_pam" "$T/keys/alice" alice || die "alice cannot log in (UsePAM yes): $(cat "$T/ssh.err")"
	[ "$(rp_ssh -p "$SSHD_PORT_sshd" "$T/keys/alice" alice sudo -n /usr/bin/id -u)" = 0 ] ||
		die "alice's sudo: $(cat "$T/ssh.err")"
	[ -d /home/alice ] && [ "$(stat -c '%a %u' /home/alice)" = "700 $ALICE" ] || die "alice's home"
	rp_ok "an account converge made logs in by its key under UsePAM no and yes, and its sudo works"
}

test_unchanged_plan_writes_nothing() {
	local before after
	before=$(stat -c '%i %Y' /etc/passwd /etc/shadow /etc/group /etc/gshadow)
	converge
	after=$(stat -c '%i %Y' /etc/passwd /etc/shadow /etc/group /etc/gshadow)
	grep -qx 'writes 0' "$T/converge.out" && [ "$before" = "$after" ] ||
		die "an unchanged plan wrote: $(cat "$T/converge.out")"
	rp_ok "the same plan again writes nothing"
}

test_suspended_refused_and_session_ended() {
	rp_ssh -p "$SSHD_PORT_sshd" "$T/keys/alice" alice 'setsid sleep 600 </dev/null >/dev/null 2>&1 &' ||
		die "alice could not start a background session"
	rp_wait_for 5 pgrep -u alice -x sleep || die "alice's sleep is not running"
	plan locked all
	converge
	grep -q '^locked alice: ' "$T/converge.out" && grep -q '^sessions-ended alice: ' "$T/converge.out" ||
		die "no lock or no session ended: $(cat "$T/converge.out")"
	! pgrep -u "$ALICE" >/dev/null || die "alice's processes survived: $(pgrep -a -u "$ALICE" | tr '\n' ';')"
	no_login "$SSHD_PORT_sshd" || die "a suspended alice logged in (UsePAM no): $(cat "$T/ssh.err")"
	no_login "$SSHD_PORT_pam" || die "a suspended alice logged in (UsePAM yes): $(cat "$T/ssh.err")"
	[ ! -e /etc/sudoers.d/rampart-alice ] && [ ! -e /etc/ssh/rampart/authorized_keys/alice ] ||
		die "a suspended alice kept her sudo or her keys"
	rp_ok "suspended: refused by both sshds, no sudo, no keys, her session killed"
}

test_own_authorized_keys_do_not_open_a_locked_account() {
	# her own ~/.ssh/authorized_keys (sshd reads it after Rampart's): the lock holds
	install -d -m 0700 -o "$ALICE" -g "$ALICE" /home/alice/.ssh
	install -m 0600 -o "$ALICE" -g "$ALICE" "$T/keys/alice.pub" /home/alice/.ssh/authorized_keys
	no_login "$SSHD_PORT_sshd" || die "a locked alice logged in by ~/.ssh (UsePAM no): $(cat "$T/ssh.err")"
	no_login "$SSHD_PORT_pam" || die "a locked alice logged in by ~/.ssh (UsePAM yes): $(cat "$T/ssh.err")"
	converge
	grep -q '^drift-key alice: ' "$T/converge.out" || die "her own key is not drift: $(cat "$T/converge.out")"
	rm -rf /home/alice/.ssh
	rp_ok "a key in her own ~/.ssh does not open the locked account, and is reported"
}

test_access_given_back() {
	plan access none
	converge
	grep -q '^unlocked alice: ' "$T/converge.out" || die "not unlocked: $(cat "$T/converge.out")"
	rp_ssh_login -p "$SSHD_PORT_sshd" "$T/keys/alice" alice || die "alice cannot log in again (UsePAM no)"
	rp_ssh_login -p "$SSHD_PORT_pam" "$T/keys/alice" alice || die "alice cannot log in again (UsePAM yes)"
	if rp_ssh -p "$SSHD_PORT_sshd" "$T/keys/alice" alice sudo -n /usr/bin/id -u >/dev/null; then
		die "alice has sudo with a plan that gives her none"
	fi
	rp_ok "access given back: she logs in again under both, without sudo"
}

test_removed_refused_home_kept() {
	plan gone
	converge
	grep -q '^removed alice: ' "$T/converge.out" && grep -q '^home-kept alice: ' "$T/converge.out" ||
		die "not removed: $(cat "$T/converge.out")"
	! getent passwd alice >/dev/null || die "alice is still in passwd"
	no_login "$SSHD_PORT_sshd" || rp_ssh_refused -p "$SSHD_PORT_sshd" "$T/keys/alice" alice ||
		die "a removed alice logged in"
	[ -d /home/alice ] || die "her home went"
	rp_sshd_stop sshd
	rp_sshd_stop pam
	rp_ok "removed: no account, no login, the home kept"
}

test_created_account_logs_in
test_unchanged_plan_writes_nothing
test_suspended_refused_and_session_ended
test_own_authorized_keys_do_not_open_a_locked_account
test_access_given_back
test_removed_refused_home_kept
