#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The harness of sshd-ns.sh, proved with the real OpenSSH sshd and sudo in
# the test's own namespaces: an account made by hand logs in by the key in
# /etc/ssh/rampart/authorized_keys/<login> and no other; a sudoers drop-in
# /etc/sudoers.d/rampart-<login> grants what it says and nothing more; and
# which shadow password fields let a key log in, under UsePAM no and yes,
# which is how the agent must lock an account. On the host, after it: the
# host's accounts and sudoers are byte-identical and nothing of it runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-ns.sh"
rp_ns_init "$@"
# From here on this runs in the namespaces (sshd-ns.sh), as root.

# Test ids: above any a Debian host hands out (useradd stops at 60000),
# below systemd's dynamic users (61184-65519).
UID0=61001

test_in_namespaces_of_its_own() {
	rp_ns_inside || die "/etc is not the test's copy"
	[ $$ -ne 1 ] && tr '\0' ' ' </proc/1/cmdline | grep -q '^bash -c .* rp-ns-init ' ||
		die "pid 1 is not the namespace's own: $(tr '\0' ' ' </proc/1/cmdline)"
	local links
	links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
	[ "$links" = "lo " ] || die "the namespace has network interfaces other than lo: $links"
	[ "$(findmnt -no TARGET /run)" = /run ] && [ "$(findmnt -no FSTYPE /run)" = tmpfs ] &&
		[ -d /run/sshd ] && [ -z "$(ls -A /home)" ] || die "/run or /home are not the test's own"
	[ "$(findmnt -no PROPAGATION /etc)" = private ] || die "/etc's propagation is $(findmnt -no PROPAGATION /etc)"
	local user="real root"
	if [ -n "$RP_NS_USER" ]; then
		[ "$(readlink /proc/self/ns/user)" != "$RP_NS_HOST_USERNS" ] || die "not in a user namespace of its own"
		[ "$(awk '{print $1, $2, $3}' /proc/self/uid_map)" = "0 0 4294967295" ] &&
			[ "$(awk '{print $1, $2, $3}' /proc/self/gid_map)" = "0 0 4294967295" ] ||
			die "the user namespace's maps are not the identity: $(cat /proc/self/uid_map)"
		# Root in it is root over the namespace only: the host's hostname is not its to set.
		! hostname "$(hostname)" 2>/dev/null || die "root in the user namespace may set the host's hostname"
		user="an identity-mapped user namespace"
	fi
	rp_ok "in namespaces of its own ($user): /etc a private copy, /home empty, /run with /run/sshd, pid 1 its own, only lo"
}

test_sshd_without_host_keys() {
	# The test's sshd needs none of the host's keys: the copy loses them.
	rm -f /etc/ssh/ssh_host_*
	! compgen -G '/etc/ssh/ssh_host_*' >/dev/null || die "host keys left in the copy"
	rp_sshd_start sshd
	rp__sshd_banner "$SSHD_PORT" || die "sshd does not answer on 127.0.0.1:$SSHD_PORT"
	/usr/sbin/sshd -T -f "$T/sshd/sshd_config" >"$T/sshd.T" 2>&1 || die "sshd -T: $(tail -n 2 "$T/sshd.T")"
	grep -qx 'usepam no' "$T/sshd.T" && grep -qx 'passwordauthentication no' "$T/sshd.T" &&
		grep -qx 'kbdinteractiveauthentication no' "$T/sshd.T" && grep -qx 'strictmodes yes' "$T/sshd.T" &&
		grep -qx 'authorizedkeysfile /etc/ssh/rampart/authorized_keys/%u .ssh/authorized_keys' "$T/sshd.T" ||
		die "sshd's effective config is not the test's: $(grep -E '^(usepam|passwordauth|kbdinter|strictmodes|authorizedkeysfile) ' "$T/sshd.T" | tr '\n' ';')"
	rp_ok "sshd runs on 127.0.0.1:$SSHD_PORT with a host key of its own, none of the host's in /etc/ssh"
}

test_key_login() {
	# The namespace's account files are still the host's, byte for byte
	# (rp_ns_run's hashes of the host's), and know no alice and no uid UID0.
	local f
	for f in /etc/passwd /etc/shadow /etc/group; do
		grep -qx "$(sha256sum <"$f" | cut -d' ' -f1)  $f" "$T/ns/host.before" || die "$f is not the host's"
	done
	getent passwd alice >/dev/null || getent passwd "$UID0" >/dev/null ||
		getent group "$UID0" >/dev/null && die "alice or uid $UID0 exists on the host"
	rp_ns_add_user alice "$UID0"
	[ "$(id -u alice)" = "$UID0" ] && [ "$(stat -c %u:%a /home/alice)" = "$UID0:700" ] ||
		die "alice was not made: $(id alice 2>&1)"
	rp_ns_keygen alice
	rp_ns_keygen intruder
	! rp_ssh_login "$T/keys/alice" alice || die "alice logs in before her key is authorised"
	rp_ns_authorize alice "$T/keys/alice.pub"
	[ "$(stat -c %U:%G:%a /etc/ssh/rampart/authorized_keys/alice)" = root:root:644 ] ||
		die "the key file is $(stat -c %U:%G:%a /etc/ssh/rampart/authorized_keys/alice)"
	local out
	out=$(rp_ssh "$T/keys/alice" alice 'id -un; id -u; echo "home $HOME"') ||
		die "alice cannot log in with her key: $(cat "$T/ssh.err")"
	[ "$out" = "alice
$UID0
home /home/alice" ] || die "alice's session: $out"
	grep -q "Accepted publickey for alice from 127.0.0.1" "$SSHD_LOG" || die "sshd did not log alice's key login"
	rp_ok "an account made by hand (uid $UID0, not the host's) logs in by the key in /etc/ssh/rampart/authorized_keys/alice"
	rp_ssh_refused "$T/keys/intruder" alice || die "a key not in alice's file: $(cat "$T/ssh.err")"
	rp_ok "a second key, not in the file, is refused"
}

test_strict_modes() {
	# The agent must write the keys root's and not writable by others: sshd ignores them otherwise.
	local f=/etc/ssh/rampart/authorized_keys/alice
	chmod 0664 "$f"
	rp_ssh_refused "$T/keys/alice" alice || die "a group-writable key file is used: $(cat "$T/ssh.err")"
	grep -q "bad ownership or modes for file $f" "$SSHD_LOG" || die "sshd did not say why it refused the group-writable file"
	chmod 0644 "$f"
	chmod 0775 /etc/ssh/rampart/authorized_keys
	rp_ssh_refused "$T/keys/alice" alice || die "a key file in a group-writable directory is used"
	chmod 0755 /etc/ssh/rampart/authorized_keys
	rp_ssh_login "$T/keys/alice" alice || die "alice no longer logs in with the modes restored"
	rp_ok "StrictModes: a group-writable key file or directory is refused, 0644 in 0755 is not"
}

# sudo_drop_in NAME TEXT: /etc/sudoers.d/NAME, as the agent should write it:
# checked by visudo, 0440 root's, renamed into place.
sudo_drop_in() {
	local tmp=/etc/sudoers.d/.$1.tmp
	printf '%s\n' "$2" >"$tmp"
	chmod 0440 "$tmp"
	visudo -cqf "$tmp" || die "visudo refuses $1"
	mv -f "$tmp" "/etc/sudoers.d/$1"
}

test_sudo_drop_in() {
	local out
	! out=$(rp_ssh "$T/keys/alice" alice sudo -n /usr/bin/id -u 2>&1) || die "alice has sudo before any drop-in: $out"
	sudo_drop_in rampart-alice "alice ALL=(root) NOPASSWD: /usr/bin/id"
	out=$(rp_ssh "$T/keys/alice" alice sudo -n /usr/bin/id -u) || die "sudo -n /usr/bin/id -u: $(cat "$T/ssh.err")"
	[ "$out" = 0 ] || die "sudo -n /usr/bin/id -u printed $out"
	rp_ok "/etc/sudoers.d/rampart-alice lets alice run sudo -n /usr/bin/id -u (it prints 0) over ssh"
	if out=$(rp_ssh "$T/keys/alice" alice sudo -n /bin/cat /etc/shadow); then die "alice read /etc/shadow through sudo"; fi
	[ -z "$out" ] || die "sudo cat /etc/shadow printed something"
	grep -q 'not allowed to execute\|a password is required' "$T/ssh.err" || die "sudo cat /etc/shadow: $(cat "$T/ssh.err")"
	rp_ok "and nothing else: sudo -n /bin/cat /etc/shadow is refused"
	rm -f /etc/sudoers.d/rampart-alice
	! rp_ssh "$T/keys/alice" alice sudo -n /usr/bin/id -u >/dev/null || die "sudo still works with the drop-in removed"
	rp_ok "removing the drop-in takes the grant away"
}

test_sudo_ignores_dotted_drop_in() {
	# sudo skips sudoers.d files whose name holds a `.' or ends in `~'
	# (sudoers(5), #includedir): rampart-<login> for a login with a dot is ignored.
	rp_ns_add_user j.doe $((UID0 + 1))
	rp_ns_authorize j.doe "$T/keys/alice.pub"
	sudo_drop_in rampart-j.doe "j.doe ALL=(root) NOPASSWD: /usr/bin/id"
	rp_ssh_login "$T/keys/alice" j.doe || die "j.doe cannot log in: $(cat "$T/ssh.err")"
	! rp_ssh "$T/keys/alice" j.doe sudo -n /usr/bin/id -u >/dev/null || die "sudo read /etc/sudoers.d/rampart-j.doe"
	# The same text under a name without the dot is read.
	mv /etc/sudoers.d/rampart-j.doe /etc/sudoers.d/rampart-j_doe
	[ "$(rp_ssh "$T/keys/alice" j.doe sudo -n /usr/bin/id -u)" = 0 ] || die "sudo ignores rampart-j_doe too"
	rm -f /etc/sudoers.d/rampart-j_doe
	rp_ok "sudo ignores /etc/sudoers.d/rampart-j.doe (reads it as rampart-j_doe): a drop-in's name must not hold a dot"
}

# The shadow password fields, and how an account is locked with them:
# LOGIN|FIELD|REST|UsePAM no|UsePAM yes: REST the fields after the password
# (default: changed today, no expiry), then what a key login comes to
# under each (outcome, below).
TODAY=$(($(date +%s) / 86400))
HASH='$6$rampart0$PPt60Q4jyPpL4zK5K.tg2M6UB7L9vxEjtQaoMDf6DNEu7A4hojs7hCcDuQeHHjJp/VfRWSRd14UtVYevNS6I60'
SHADOW_CASES=(
	"pw-star|*||login|login"                          # no password, not locked: useradd -p '*'
	"pw-bang|!||refused|login"                        # useradd's (and adduser's) default on Debian 12
	"pw-bangstar|!*||refused|login"                   # usermod -L (passwd -l) of `*'
	"pw-empty|||login|login"                          # empty: no password needed at all
	"pw-hash|$HASH||login|login"                      # a password set (password auth is off)
	"pw-banghash|!$HASH||refused|login"               # usermod -L of an account with a password
	"pw-expired|*|$TODAY:0:99999:7::1:|refused|expired" # usermod -e 1: the account expired in 1970
	"pw-mustchange|*|0:0:99999:7:::|login|pwchange"   # passwd -e: the password must be changed
)

# outcome PORT LOGIN: what a login by key as LOGIN comes to: `login' (id
# -un printed LOGIN), `refused' (Permission denied), `expired' (PAM: the
# account expired, connection closed), `pwchange' (logged in, but the
# command does not run: a password change needs a tty), or `other(...)'.
outcome() {
	local out rc=0
	out=$(rp_ssh -p "$1" "$T/keys/matrix" "$2" id -un) || rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$2" ]; then
		echo login
	elif [ $rc -eq 255 ] && grep -q 'Permission denied (publickey)' "$T/ssh.err"; then
		echo refused
	elif [ $rc -eq 255 ] && grep -q 'Your account has expired' "$T/ssh.err"; then
		echo expired
	elif [ -z "$out" ] && grep -q 'Password change required but no TTY available' "$T/ssh.err"; then
		echo pwchange
	else
		echo "other(status $rc: $(tr '\n' ' ' <"$T/ssh.err" | cut -c1-80))"
	fi
}

test_shadow_password_fields() {
	local c login pw rest uid=$((UID0 + 10)) nopam pam want_nopam want_pam bad=''
	rp_ns_keygen matrix
	for c in "${SHADOW_CASES[@]}"; do
		IFS='|' read -r login pw rest want_nopam want_pam <<<"$c"
		rp_ns_add_user "$login" "$uid" "$pw" "$rest"
		rp_ns_authorize "$login" "$T/keys/matrix.pub"
		uid=$((uid + 1))
	done
	rp_sshd_start pam 'UsePAM yes'
	rp_note "shadow password field: a key login under UsePAM no / UsePAM yes"
	for c in "${SHADOW_CASES[@]}"; do
		IFS='|' read -r login pw rest want_nopam want_pam <<<"$c"
		nopam=$(outcome "$SSHD_PORT_sshd" "$login")
		pam=$(outcome "$SSHD_PORT_pam" "$login")
		rp_note "$(printf '%-14s %-9s %-22s UsePAM no: %-8s UsePAM yes: %s' "$login" "'${pw:0:4}'" "${rest:-changed today}" "$nopam" "$pam")"
		[ "$nopam" = "$want_nopam" ] || bad+="$login under UsePAM no: $nopam, not $want_nopam; "
		[ "$pam" = "$want_pam" ] || bad+="$login under UsePAM yes: $pam, not $want_pam; "
	done
	[ -z "$bad" ] || die "shadow password fields: $bad"
	rp_ok "UsePAM no: a key logs in with '*', '' or a hash; '!', '!*', '!<hash>' (usermod -L) and an expired account are refused"
	rp_ok "UsePAM yes (Debian's sshd): '!' locks nothing, an expired account is refused, a forced password change runs no command"
}

# A session left running, for the host to see that the namespace's end takes it.
test_leftover_session() {
	rp_ssh "$T/keys/alice" alice 'setsid sleep 600 </dev/null >/dev/null 2>&1 &' ||
		die "alice could not start a background session"
	rp_wait_for 5 pgrep -u alice -x sleep || die "alice's background sleep is not running"
	# In the namespace's /proc, pgrep sees the namespace's processes only.
	pgrep -x sshd | grep -qx "$SSHD_PID_sshd" && pgrep -x sshd | grep -qx "$SSHD_PID_pam" ||
		die "pgrep does not see the two sshds: $(pgrep -a sshd | tr '\n' ';')"
	rp_sshd_stop sshd
	rp_sshd_stop pam
	rp_wait_for 5 sh -c '! pgrep -x sshd' || die "sshd still runs after rp_sshd_stop: $(pgrep -a sshd | tr '\n' ';')"
	rp_ok "the sshds stop; alice's setsid'd sleep is left for the namespace's end"
}

test_in_namespaces_of_its_own
test_sshd_without_host_keys
test_key_login
test_strict_modes
test_sudo_drop_in
test_sudo_ignores_dotted_drop_in
test_shadow_password_fields
test_leftover_session
