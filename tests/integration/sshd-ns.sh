# SPDX-License-Identifier: Apache-2.0
# A real OpenSSH sshd, sudo and local accounts for an integration test, in
# namespaces of the test's own, so that the accounts, keys and sudo drop-ins
# a test (or the agent it runs) writes never touch this machine's.
# Source it after lib.sh and call rp_ns_init instead of rp_init:
#
#	. "$(dirname "$0")/lib.sh"
#	. "$(dirname "$0")/sshd-ns.sh"
#	rp_ns_init "$@"      # from here on, this script runs in the namespaces
#	rp_sshd_start
#	rp_ns_add_user alice 61001
#	rp_ns_keygen alice
#	rp_ns_authorize alice "$T/keys/alice.pub"
#	[ "$(rp_ssh "$T/keys/alice" alice id -un)" = alice ] || die "alice cannot log in"
#	rp_ok "alice logs in"
#
# rp_ns_init runs rp_init, then runs the calling script again, from its
# start, inside `unshare --user --mount --pid --net --fork --mount-proc'
# (rp_ns_run), and waits for it. In there:
#  - /etc is a bind mount of a copy of the host's /etc ($T/ns/etc), so a
#    file in it may be replaced by rename() (a bind mount of one file may
#    not); /home is an empty directory; /run and /tmp are tmpfs (sudo's
#    timestamps, utmp, /run/sshd), but $T is where it was; /var/log is
#    empty (sshd writes wtmp and lastlog there) and /var/lib/sudo a copy;
#  - the network is a loopback interface of its own, so every port is free
#    and nothing outside can connect to the test's sshd, or be reached;
#  - the script is not pid 1: a shell that waits for it is, and when that
#    exits the kernel kills whatever the test left in the namespace.
# Its steps continue the TAP count. When it has exited, the script on the
# host checks that the host's account, sudo and sshd files are byte-for-
# byte what they were and that no process of the namespace survived (two
# steps), then exits with the inner script's status.
#
# Namespaces: user (identity-mapped), mount, pid and network. The user
# namespace maps every id to itself (0 0 4294967295): file access is what
# real root's is (every host uid is mapped, so root in it still overrides
# permissions on any file it can see; the mount namespace is what keeps the
# host's /etc untouched), but root in it holds no capability over the host
# as a whole: no modules, host sysctls, mknod, mounts of real filesystems,
# clock, reboot, or ptrace of host processes, if a test or an agent under
# test goes wrong. Tried, sshd's privilege separation (setuid, chroot to
# /run/sshd), sudo (setuid root: uid 0 is mapped and / is the host's mount,
# so the bit is honoured) and PAM (pam_loginuid steps aside in a user
# namespace) all work in it, with the same results as real root. Where no
# user namespace can be made, or with RP_NS_USERNS=0, it is mount, pid and
# network namespaces as real root (a note says so); RP_NS_USERNS=1 insists.
#
# sshd runs with UsePAM no by default: pubkey login needs nothing from PAM,
# and sshd then applies its own account checks (a password field starting
# with `!' is locked, an expired account is refused). Debian's own sshd
# runs UsePAM yes, which hands those checks to PAM's account stack instead
# (pam_unix checks expiry, not `!'): rp_sshd_start NAME 'UsePAM yes' runs
# one like that, and test-sshd-ns.sh shows where the two differ.

RP_NS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sshd-ns.sh

# The host files a test in the namespace must leave exactly as they were.
RP_NS_HOST_FILES="/etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/sudoers /etc/subuid /etc/subgid"
RP_NS_HOST_DIRS="/etc/sudoers.d /etc/ssh /etc/pam.d"

# rp_ns_init BUILD_DIR [ARGS...]: on the host, rp_init, then rp_ns_run of
# the calling script with the same arguments, the host checks, and exit; in
# the namespace, the variables rp_init sets, with the host's $T.
rp_ns_init() {
	if [ -n "${RP_NS_INSIDE:-}" ]; then
		local t=$RP_NS_T
		rp_init "$1"
		rm -rf "$T"
		T=$t
		export RAMPART_CONFIG=$T/admin/config
		RP_TAP_N=$RP_NS_TAP_N
		trap rp__ns_inner_exit EXIT
		rp_ns_inside || die "RP_NS_INSIDE is set but /etc is not $T/ns/etc: not in the test's namespace"
		echo 0 >"$T/ns/inner.started"
		return 0
	fi
	rp_init "$1"
	local script rc=0
	script=$(realpath "$0")
	rp_ns_run bash "$script" "$@" || rc=$?
	exit $rc
}

# rp_ns_inside: this process sees the test's copy as /etc.
rp_ns_inside() {
	[ -n "${T:-}" ] && [ -d "$T/ns/etc" ] &&
		[ "$(stat -c %d:%i /etc)" = "$(stat -c %d:%i "$T/ns/etc")" ]
}

rp__ns_need() {
	local c
	for c in unshare mount ip ssh ssh-keygen sudo visudo realpath python3 /usr/sbin/sshd; do
		command -v "$c" >/dev/null 2>&1 || die "sshd-ns.sh needs $c (scripts/install-deps installs it)"
	done
	[ "$(id -u)" = 0 ] || die "sshd-ns.sh needs root (mount namespaces, sshd, accounts)"
}

# rp__ns_host_state: what of the host a test must not change, as text to
# compare before and after: hashes of the account and sudo files, and of
# every file in sudoers.d, /etc/ssh, /etc/pam.d, with their modes and owners;
# what is in /home and /root/.ssh; whether /run/sshd exists.
rp__ns_host_state() {
	local f
	for f in $RP_NS_HOST_FILES; do
		if [ -e "$f" ]; then sha256sum "$f"; else echo "absent $f"; fi
	done
	# shellcheck disable=SC2086
	find $RP_NS_HOST_DIRS -printf '%y %m %u:%g %p\n' 2>/dev/null | sort
	# shellcheck disable=SC2086
	find $RP_NS_HOST_DIRS -type f -exec sha256sum {} + 2>/dev/null | sort -k 2
	find /home -maxdepth 1 -printf '%y %m %u:%g %p\n' 2>/dev/null | sort
	for f in /root/.ssh /run/sshd; do [ ! -e "$f" ] || echo "exists $f"; done
}

# rp_ns_run CMD...: runs CMD in the namespaces (see above); its status.
# The steps of the host checks follow, and fail the test (die) if the host
# changed or a process of the namespace survived it.
rp_ns_run() {
	rp__ns_need
	local rc=0 upid nsid='' fd n='' died='' keep_tmp='' userns=''
	[ ! -e "$T/ns" ] || die "rp_ns_run: $T/ns exists (one namespace per test)"
	mkdir -m 0700 "$T/ns" "$T/ns/home" "$T/ns/log"
	rp__ns_host_state >"$T/ns/host.before"
	# The copy keeps owners, modes and links (shadow 0640 root:shadow,
	# sudoers 0440); $T/ns is 0700, so no one else reads it.
	cp -a /etc "$T/ns/etc" || die "copying /etc"
	[ ! -d /var/lib/sudo ] || cp -a /var/lib/sudo "$T/ns/sudo-lib" || die "copying /var/lib/sudo"
	: >"$T/ns/log/wtmp"
	: >"$T/ns/log/btmp"
	: >"$T/ns/log/lastlog"
	chmod 0755 "$T/ns/home" "$T/ns/log"
	chmod 0660 "$T/ns/log/btmp"
	echo "$RP_TAP_N" >"$T/ns/tap"
	mkfifo "$T/ns/go"
	# A private /tmp would hide the tests or the build directory under it.
	case "$RP_NS_LIB:$BIN" in
	/tmp/* | *:/tmp/*) keep_tmp=1 ;;
	esac
	case ${RP_NS_USERNS:-} in
	0) ;;
	1) userns=1 ;;
	*) if unshare --user true 2>/dev/null; then userns=1; else
		rp_note "no user namespace here: the test runs as real root in mount, pid and network namespaces"
	fi ;;
	esac
	RP_NS_INSIDE=1 RP_NS_T=$T RP_NS_TAP_N=$RP_TAP_N RP_NS_KEEP_TMP=$keep_tmp RP_NS_USER=$userns \
		RP_NS_HOST_USERNS=$(readlink /proc/self/ns/user) \
		unshare ${userns:+--user} --mount --pid --net --fork --kill-child --mount-proc --propagation private -- \
		bash -c '. "$1" && shift && rp__ns_pid1 "$@"' rp-ns-init "$RP_NS_LIB" "$T" "$@" &
	upid=$!
	# unshare blocks SIGTERM while it waits for the namespace, so what
	# rp_cleanup sends it would not stop the test: on any exit or signal
	# before the namespace has ended, SIGKILL it (--kill-child then kills
	# the namespace's pid 1, and the kernel everything in it).
	RP_NS_UPID=$upid
	# (rp__ns_abort keeps the exit status for rp_cleanup, which exits: both
	# branches, so that set -e does not end the trap on a failed status.)
	trap 'rp__ns_abort && rp_cleanup || rp_cleanup' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# Hold the new pid namespace open (fd), so that its id is not reused
	# before the check that nothing in it survived; then let it start.
	for _ in $(seq 1 100); do
		nsid=$(readlink "/proc/$upid/ns/pid_for_children" 2>/dev/null) || nsid=
		[ -z "$nsid" ] || [ "$nsid" = "$(readlink /proc/self/ns/pid)" ] || break
		nsid=
		sleep 0.05
	done
	[ -n "$nsid" ] || die "unshare did not make a pid namespace"
	exec {fd}<"/proc/$upid/ns/pid_for_children"
	# The identity map, written once, by root outside (so setgroups stays allowed).
	if [ -n "$userns" ]; then
		printf '0 0 4294967295\n' >"/proc/$upid/uid_map" && printf '0 0 4294967295\n' >"/proc/$upid/gid_map" ||
			die "writing the user namespace's uid and gid maps"
	fi
	echo go >"$T/ns/go"
	wait "$upid" || rc=$?
	RP_NS_UPID=
	read -r n died <"$T/ns/tap" || true
	RP_TAP_N=${n:-$RP_TAP_N}
	[ -z "$died" ] || RP_DIED=1
	[ -e "$T/ns/inner.started" ] || rp_note "the namespace did not start: see $T/ns.log"
	rp__ns_host_checks "$nsid"
	exec {fd}<&-
	return $rc
}

rp__ns_abort() {
	local rc=$?
	if [ -n "${RP_NS_UPID:-}" ]; then
		kill -KILL "$RP_NS_UPID" 2>/dev/null || true
		wait "$RP_NS_UPID" 2>/dev/null || true
		RP_NS_UPID=
	fi
	return $rc
}

# rp__ns_forget PID: PID is no longer one for rp_cleanup to kill.
rp__ns_forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# rp__ns_host_checks NSID: the two steps on the host, both taken even if
# the first fails (each in a subshell, where die ends only that step).
rp__ns_host_checks() {
	local nsid=$1 bad=''
	(rp__ns_host_unchanged) || bad=1
	RP_TAP_N=$((RP_TAP_N + 1))
	(rp__ns_none_left "$nsid") || bad=1
	RP_TAP_N=$((RP_TAP_N + 1))
	[ -z "$bad" ] || { RP_DIED=1; exit 1; }
}

rp__ns_host_unchanged() {
	rp__ns_host_state >"$T/ns/host.after"
	if ! cmp -s "$T/ns/host.before" "$T/ns/host.after"; then
		diff "$T/ns/host.before" "$T/ns/host.after" | sed 's/^/# /' >&2
		die "the host's accounts, sudoers or sshd files changed: $(diff "$T/ns/host.before" "$T/ns/host.after" | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
	fi
	rp_ok "the host's passwd, shadow, group, sudoers, sudoers.d, /etc/ssh and /home are as they were"
}

# rp__ns_none_left NSID: no process is in the pid namespace NSID (held
# open by rp_ns_run, so the id is not another's), nor names $T.
rp__ns_none_left() {
	local nsid=$1 p left=''
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" != "$nsid" ] ||
			left+="${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null); "
	done
	p=$(pgrep -a -f -- "$T/" || true)
	[ -z "$p" ] || left+="$p"
	[ -z "$left" ] || die "processes of the test's namespace survived it: $left"
	rp_ok "no process of the test's namespace (sshd, sessions, sudo) survived it"
}

# rp__ns_pid1 T CMD...: pid 1 of the namespace. Mounts the test's /etc,
# /home, /run, /tmp, /var/log; brings up lo; runs CMD and exits with its status.
rp__ns_pid1() {
	local t=$1 err
	shift
	exec {err}>&2 2>>"$t/ns.log"
	read -r _ <"$t/ns/go"
	set -e
	mount --make-rprivate /
	mount --bind "$t/ns/etc" /etc
	mount --bind "$t/ns/home" /home
	mount --bind "$t/ns/log" /var/log
	[ ! -d "$t/ns/sudo-lib" ] || mount --bind "$t/ns/sudo-lib" /var/lib/sudo
	# /run of its own, with sshd's privilege separation directory (root, 0755);
	# $T, if under /tmp, moves through it to the new /tmp.
	mount -t tmpfs -o mode=0755,nosuid,nodev rp-run /run
	mkdir -m 0755 /run/sshd
	mkdir -m 1777 /run/lock
	case ${RP_NS_KEEP_TMP:+keep}$t in
	keep*) ;;
	/tmp/*)
		mkdir /run/rp-t
		mount --bind "$t" /run/rp-t
		mount -t tmpfs -o mode=1777,nosuid,nodev rp-tmp /tmp
		mkdir -p "$t"
		mount --move /run/rp-t "$t"
		rmdir /run/rp-t
		;;
	*) mount -t tmpfs -o mode=1777,nosuid,nodev rp-tmp /tmp ;;
	esac
	ip link set lo up
	set +e
	exec 2>&"$err" {err}>&-
	"$@"
}

# In the namespace, on the script's exit: stop what it started, pass the
# TAP count (and whether a step failed) to the host side, keep the status.
rp__ns_inner_exit() {
	local rc=$? p
	set +e
	if [ $rc -ne 0 ] && [ -z "${RP_DIED:-}" ]; then
		[ -z "${RP_TAP:-}" ] || echo "not ok $((RP_TAP_N += 1)) - exited with status $rc"
		RP_DIED=1
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	echo "$RP_TAP_N ${RP_DIED:+died}" >"$T/ns/tap"
	exit $rc
}

# rp_ns_keygen NAME: a fresh ed25519 key pair, $T/keys/NAME and NAME.pub.
rp_ns_keygen() {
	[ -d "$T/keys" ] || mkdir -m 0700 "$T/keys"
	ssh-keygen -q -t ed25519 -N '' -C "$1@rampart-test" -f "$T/keys/$1" </dev/null ||
		die "ssh-keygen $1"
}

# rp_ns_add_user LOGIN UID [PASSWORD-FIELD [SHADOW-REST [SHELL]]]: an
# account made by hand in the namespace's passwd, group, shadow and gshadow
# (uid = gid = UID; the password field `*' unless given; SHADOW-REST the
# fields after it, default changed today, no aging, no expiry), with an
# empty home /home/LOGIN, 0700, its own. Dies if the name or id is taken.
rp_ns_add_user() {
	local login=$1 uid=$2 pw=${3-*} rest=${4:-} shell=${5:-/bin/sh}
	rp_ns_inside || die "rp_ns_add_user outside the test's namespace"
	! getent passwd "$login" >/dev/null && ! getent passwd "$uid" >/dev/null &&
		! getent group "$login" >/dev/null && ! getent group "$uid" >/dev/null ||
		die "account $login or id $uid exists already"
	[ -n "$rest" ] || rest="$(($(date +%s) / 86400)):0:99999:7:::"
	echo "$login:x:$uid:$uid:Rampart test account:/home/$login:$shell" >>/etc/passwd
	echo "$login:x:$uid:" >>/etc/group
	echo "$login:$pw:$rest" >>/etc/shadow
	[ ! -e /etc/gshadow ] || echo "$login:!::" >>/etc/gshadow
	install -d -m 0700 -o "$uid" -g "$uid" "/home/$login"
}

# rp_ns_authorize LOGIN PUBKEY-FILE...: /etc/ssh/rampart/authorized_keys/LOGIN
# holds those keys (root's, 0644, replaced by rename); no file, no keys.
rp_ns_authorize() {
	local login=$1 d=/etc/ssh/rampart/authorized_keys
	shift
	rp_ns_inside || die "rp_ns_authorize outside the test's namespace"
	install -d -m 0755 -o root -g root /etc/ssh/rampart "$d"
	if [ $# -eq 0 ]; then rm -f "$d/$login"; return; fi
	cat "$@" >"$d/.$login.tmp"
	chown root:root "$d/.$login.tmp"
	chmod 0644 "$d/.$login.tmp"
	mv -f "$d/.$login.tmp" "$d/$login"
}

# rp_sshd_start [NAME [CONFIG-LINE...]]: starts an sshd of the test's own
# on 127.0.0.1 in the namespace and waits until it answers; CONFIG-LINEs
# (`UsePAM yes') come before the defaults, so they win. Its config, fresh
# host key and pid file are in $T/NAME (default sshd), its log in
# $T/NAME.log. Sets SSHD_PORT, SSHD_PID, SSHD_LOG (for rp_ssh) and
# SSHD_PORT_NAME, SSHD_PID_NAME, SSHD_LOG_NAME.
rp_sshd_start() {
	local name=${1:-sshd} d port pid line
	[ $# -eq 0 ] || shift
	rp_ns_inside || die "rp_sshd_start outside the test's namespace"
	d=$T/$name
	[ -d "$d" ] || mkdir -m 0700 "$d"
	[ -f "$d/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "rampart-test $name" \
		-f "$d/host_ed25519" </dev/null || die "ssh-keygen for $name's host key"
	for _ in 1 2 3; do
		# The namespace has a loopback of its own: a port the kernel just
		# gave out is free unless this test started something on it since.
		port=$(rp_free_port)
		{
			echo "# $name: written by tests/integration/sshd-ns.sh"
			for line in "$@"; do echo "$line"; done
			cat <<EOF
ListenAddress 127.0.0.1:$port
AddressFamily inet
HostKey $d/host_ed25519
PidFile $d/sshd.pid
LogLevel VERBOSE
UsePAM no
PubkeyAuthentication yes
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication no
KerberosAuthentication no
PermitRootLogin no
AuthorizedKeysFile /etc/ssh/rampart/authorized_keys/%u .ssh/authorized_keys
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
MaxStartups 50:30:100
Subsystem sftp internal-sftp
EOF
		} >"$d/sshd_config"
		/usr/sbin/sshd -t -f "$d/sshd_config" >>"$T/$name.log" 2>&1 ||
			die "sshd -t refuses $d/sshd_config: $(tail -n 3 "$T/$name.log")"
		/usr/sbin/sshd -D -f "$d/sshd_config" -E "$T/$name.log" </dev/null &
		pid=$!
		for _ in $(seq 1 100); do
			! rp__sshd_banner "$port" || break 2
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	done
	[ -n "$pid" ] || die "sshd $name did not come up: $(tail -n 3 "$T/$name.log")"
	PIDS+=("$pid")
	SSHD_PORT=$port SSHD_PID=$pid SSHD_LOG=$T/$name.log
	printf -v "SSHD_PORT_$name" '%s' "$port"
	printf -v "SSHD_PID_$name" '%s' "$pid"
	printf -v "SSHD_LOG_$name" '%s' "$SSHD_LOG"
}

# rp__sshd_banner PORT: something on 127.0.0.1:PORT greets as SSH-2.0.
rp__sshd_banner() {
	local fd banner=''
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	read -r -t 2 banner <&"$fd" || true
	exec {fd}>&-
	[[ $banner == SSH-2.0-* ]]
}

# rp_sshd_stop [NAME]: stops that sshd (its listener; the namespace's end
# takes any session left) and waits for it.
rp_sshd_stop() {
	local v="SSHD_PID_${1:-sshd}"
	[ -n "${!v:-}" ] || return 0
	kill "${!v}" 2>/dev/null || true
	wait "${!v}" 2>/dev/null || true
	rp__ns_forget "${!v}"
	printf -v "$v" '%s' ''
}

# rp_ssh [-p PORT] KEY LOGIN CMD...: CMD run as LOGIN by the test's sshd
# (port SSHD_PORT unless given), logging in with KEY only (no agent, no
# config file, no password); CMD's output on stdout, ssh's stderr in
# $T/ssh.err (the last run's) and $T/ssh.log (all); ssh's status, 255 if
# ssh itself failed (refused, no connection).
rp_ssh() {
	local port=${SSHD_PORT:-} key login rc=0
	if [ "$1" = -p ]; then port=$2; shift 2; fi
	key=$1 login=$2
	shift 2
	ssh -F /dev/null -i "$key" -p "$port" -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$T/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 \
		-o PreferredAuthentications=publickey -o LogLevel=INFO \
		"$login@127.0.0.1" "$@" </dev/null 2>"$T/ssh.err" || rc=$?
	{ echo "== ssh -p $port $login@127.0.0.1 $* (key $key): status $rc"; cat "$T/ssh.err"; } >>"$T/ssh.log"
	return $rc
}

# rp_ssh_login [-p PORT] KEY LOGIN: LOGIN logs in with KEY (`id -un' prints LOGIN).
rp_ssh_login() {
	local p=()
	if [ "$1" = -p ]; then p=(-p "$2"); shift 2; fi
	[ "$(rp_ssh "${p[@]}" "$1" "$2" id -un 2>/dev/null)" = "$2" ]
}

# rp_ssh_refused [-p PORT] KEY LOGIN: sshd answered and refused LOGIN with
# KEY (not: no connection, or logged in and failed later).
rp_ssh_refused() {
	local p=() rc=0
	if [ "$1" = -p ]; then p=(-p "$2"); shift 2; fi
	rp_ssh "${p[@]}" "$1" "$2" true >/dev/null || rc=$?
	[ $rc -eq 255 ] && grep -q 'Permission denied (publickey)' "$T/ssh.err"
}
