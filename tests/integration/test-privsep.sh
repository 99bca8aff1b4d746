#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's two processes (docs/privsep.md, issue 8). The real network
# process: not root, holding the connection to the server, confined
# (no_new_privs, seccomp, the state directory out of its view). Then a
# compromised one (evil-net.py, put in its place with --net-program and
# confined the same way) sends forged, truncated, oversized, reordered and
# over-cap messages: the root process refuses each, raises an alert and
# executes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
HERE=$(cd "$(dirname "$0")" && pwd)

rp_server_init
rp_witnesses 2
rp_admins 2
rp_org acme 2 1 # exec 1 of 2: a command runs as soon as it is submitted
rp_enroll a1
rp_enroll e1
NET_UID=$(awk -F: -v u="$RAMPART_AGENT_NET_USER" '$1 == u {print $3}' /etc/passwd)
[ -n "$NET_UID" ] || die "no account $RAMPART_AGENT_NET_USER for the network process"

# net_pid ROOTPID: the agent's network process (its child running `network-process').
net_pid() {
	local c
	for c in $(cat "/proc/$1/task/"*/children 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q 'network-process'; then
			echo "$c"
			return 0
		fi
	done
	return 1
}
# gone PID: no such process, or a zombie waiting to be reaped.
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# tcp_to_server PID: the process holds a TCP socket connected to the server's port.
tcp_to_server() { ss -tnpH state established "( dport = :$PORT )" 2>/dev/null | grep -q "pid=$1,"; }

test_network_process_is_not_root() {
	rp_agent_start a1
	local root=$APID_a1 net
	rp_wait_for 20 net_pid "$root" || die "a1 started no network process"
	net=$(net_pid "$root")
	rp_wait_for 20 tcp_to_server "$net" || die "the network process holds no connection to the server"
	! tcp_to_server "$root" || die "the root process holds a connection to the server itself"
	[ "$(status_field "$net" Uid)" = "$NET_UID" ] || die "network process runs as uid $(status_field "$net" Uid)"
	[ "$(status_field "$net" NoNewPrivs)" = 1 ] || die "network process lacks no_new_privs"
	[ "$(status_field "$net" Seccomp)" = 2 ] || die "network process has no seccomp filter"
	[ "$(awk '$1 == "CapEff:" {print $2}' "/proc/$net/status")" = 0000000000000000 ] ||
		die "network process holds capabilities"
	# What it sees: its own mount namespace, the state directory empty.
	if [ "$(readlink "/proc/$net/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; then
		[ -z "$(ls -A "/proc/$net/root$T/a1")" ] || die "the state directory is visible to it: $(ls "/proc/$net/root$T/a1")"
		! nsenter -t "$net" -m -S "$NET_UID" -G "$NET_UID" cat "$T/a1/device.key" >/dev/null 2>&1 ||
			die "as the network process, in its view, the device key opens"
		rp_ok "the network process has a view of its own: the state directory is empty"
	else
		rp_note "no mount namespace here: the state directory is protected by its uid alone"
	fi
	# And by its uid alone, even where it could see the files.
	! setpriv --reuid="$NET_UID" --regid="$NET_UID" --clear-groups cat "$T/a1/device.key" >/dev/null 2>&1 ||
		die "the network process's account can read the device key"
	rp_ok "the process holding the connection is uid $NET_UID, not root: no_new_privs, seccomp, no capabilities, and it cannot open the key"
	# And the split still does the work: a command runs.
	local id
	id=$(rp_submit 1 --to "$DEV_a1" -- sh -c 'echo split-ok')
	rp_wait_for 60 grep -q "$id reported" "$T/a1/executed" || die "a command did not run through the split"
	rp_ok "a command runs and is reported through the network process"
}

test_killing_the_network_process_stops_the_agent() {
	local root=$APID_a1 net
	net=$(net_pid "$root")
	kill -9 "$net"
	rp_wait_for 30 bash -c "! kill -0 $root 2>/dev/null" || die "the agent kept running without its network process"
	wait "$root" 2>/dev/null && die "the agent exited 0 when its network process died" || true
	grep -q 'network-process' "$T/a1/alerts.log" || die "no alert for the dead network process"
	# restarted, it carries on: nothing lost, nothing twice
	rp_agent_start a1
	local id
	id=$(rp_submit 1 --to "$DEV_a1" -- sh -c 'echo after-restart')
	rp_wait_for 60 grep -q "$id reported" "$T/a1/executed" || die "after a restart, a command did not run"
	rp_ok "kill -9 of the network process stops the agent (alert, non-zero status); restarted, it carries on"
	# The other way round: the root process killed, its network process goes too.
	root=$APID_a1
	rp_wait_for 20 net_pid "$root" || die "no network process after the restart"
	net=$(net_pid "$root")
	kill -9 "$root"
	wait "$root" 2>/dev/null || true
	rp_wait_for 10 gone "$net" || die "the network process outlived its root process"
	rp_agent_start a1
	rp_wait_for 20 net_pid "$APID_a1" || die "the agent did not start again"
	rp_ok "kill -9 of the root process takes its network process with it"
	rp_agent_stop a1
}

test_enrol_and_names_through_the_split() {
	# No account for the network process: a clear refusal, nothing enrolled.
	local tok out
	tok=$(rp_as 1 enroll-token --expires 10m) || die "enroll-token"
	if out=$("$AGENT" enroll --token "$tok" --state-dir "$T/n1" --net-user no-such-rp-user 2>&1); then
		die "enrolment without the network process's account succeeded"
	fi
	grep -q "no-such-rp-user" <<<"$out" || die "the refusal does not name the account: $out"
	[ ! -e "$T/n1/agent.conf" ] || die "a half enrolment was left behind"
	# Enrolment itself went through a network process (rp_enroll above); and
	# a server named by a host name resolves inside the sandbox (DNS, hosts).
	cp -a "$T/a1" "$T/l1"
	sed -i "s|https://127.0.0.1:|https://localhost:|" "$T/l1/agent.conf"
	grep -q localhost "$T/l1/agent.conf" || die "agent.conf has no server line to rename"
	local id
	"$AGENT" run --state-dir "$T/l1" --poll-wait 2 --max-backoff 1 >>"$T/l1.log" 2>&1 &
	PIDS+=("$!")
	local lpid=$!
	id=$(rp_submit 1 --to "$DEV_a1" -- sh -c 'echo by-name')
	rp_wait_for 60 grep -q "$id reported" "$T/l1/executed" ||
		die "through https://localhost: nothing ran: $(tail -3 "$T/l1.log")"
	kill "$lpid"
	wait "$lpid" 2>/dev/null || true
	if grep -q 'killed by signal' "$T/l1.log"; then
		# LeakSanitizer's own stop-the-world at exit can fail (ASan build
		# only); it says so, and that is the runtime's failure, not ours.
		if grep -q 'killed by signal 6' "$T/l1.log" &&
			grep -q 'LeakSanitizer has encountered a fatal error' "$T/l1.log"; then
			rp_note "LeakSanitizer failed in the network process at its exit: $(grep -m3 'network process said' "$T/l1.log")"
		else
			die "the network process was killed: $(grep -A30 'killed by' "$T/l1.log")"
		fi
	fi
	rp_ok "enrolment goes through the split and refuses a missing account; a host name resolves inside the sandbox"
}

# evil MODE [SECONDS]: runs e1 with the stand-in for its network process until it
# stops or SECONDS (25) pass.
evil() {
	local mode=$1 secs=${2:-25} prog="$T/evil/evil-net-$1.py"
	mkdir -p "$T/evil"
	chmod 0755 "$T/evil"
	cp "$HERE/evil-net.py" "$prog"
	chmod 0755 "$prog"
	echo "$T/e1" >"$T/evil/evil-net-report.state"
	: >"$T/e1.$mode.log"
	local rc=0
	timeout "$secs" "$AGENT" run --state-dir "$T/e1" --poll-wait 2 --max-backoff 1 \
		--net-program "$prog" >>"$T/e1.$mode.log" 2>&1 || rc=$?
	echo "$rc"
}
ran_nothing() {
	[ ! -e "$T/e1.canary" ] || die "$1: something ran"
	! grep -qE ' (started|reported)$' "$T/e1/executed" 2>/dev/null || die "$1: the executed record holds a run"
}

test_forged_delivery_refused() {
	local rc
	rc=$(evil forged)
	[ "$rc" = 124 ] || die "forged: the agent stopped (status $rc), it should refuse and carry on"
	grep -qE 'SECURITY ALERT: (not-in-log|malformed|log-proof|witness-quorum|bad-checkpoint|no-signature|bad-signature|no-quorum)' "$T/e1.forged.log" ||
		die "forged: no refusal alert: $(tail -5 "$T/e1.forged.log")"
	ran_nothing forged
	rp_ok "a compromised network process passes on a forged delivery: re-verified, refused, alerted, nothing runs"
}

test_peek_at_state() {
	local rc
	rc=$(evil peek)
	grep -q 'evil-net: refused device.key' "$T/e1.peek.log" || die "peek: $(grep evil-net "$T/e1.peek.log")"
	! grep -q 'evil-net: OPENED' "$T/e1.peek.log" || die "peek: it opened state: $(grep OPENED "$T/e1.peek.log")"
	grep -q "evil-net: uid $NET_UID euid $NET_UID" "$T/e1.peek.log" || die "peek: $(grep 'evil-net: uid' "$T/e1.peek.log")"
	# What it writes on stderr is relayed, quoted: no line of its own, no escape.
	grep -q 'network process said: evil-net: refused device.key' "$T/e1.peek.log" ||
		die "peek: its stderr was not relayed as its own: $(grep -m1 'evil-net' "$T/e1.peek.log")"
	! grep -q '^1999-' "$T/e1.peek.log" || die "peek: it forged a line of the agent's log"
	! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/e1.peek.log" ||
		die "peek: a control byte reached the agent's log"
	if grep -q 'evil-net: WROTE' "$T/e1.peek.log"; then
		rp_note "no read-only view here: it could write outside the state directory"
	fi
	ran_nothing peek
	rp_ok "code running as the network process cannot open the key, executed, log.state, agent.conf or the policy, nor forge the agent's log"
}

test_protocol_abuse_stops_the_agent() {
	local mode rc
	for mode in truncated oversized reordered bigfield deaf; do
		# deaf: the poll's deadline (2 s hold + 15 s slack + 5 s grace) must pass
		rc=$(evil "$mode" 45)
		[ "$rc" = 3 ] || die "$mode: status $rc, expected 3 (stopped on a broken channel): $(tail -3 "$T/e1.$mode.log")"
		grep -q 'SECURITY ALERT: network-process' "$T/e1.$mode.log" ||
			die "$mode: no alert: $(tail -3 "$T/e1.$mode.log")"
		grep -q ' network-process ' "$T/e1/security.log" ||
			die "$mode: the alert is not in security.log"
		ran_nothing "$mode"
	done
	grep -q 'inside a message' "$T/e1.truncated.log" || die "truncated: not named"
	grep -q 'announced' "$T/e1.oversized.log" || die "oversized: not named"
	grep -q 'where .* is due' "$T/e1.reordered.log" || die "reordered: not named"
	grep -q 'more than' "$T/e1.bigfield.log" || die "bigfield: not named"
	grep -q 'did not answer' "$T/e1.deaf.log" || die "deaf: not named: $(tail -3 "$T/e1.deaf.log")"
	rp_ok "truncated, oversized, reordered, over-cap and unanswered messages: refused, alerted, the agent stops (status 3), nothing runs"
}

test_network_process_is_not_root
test_killing_the_network_process_stops_the_agent
test_enrol_and_names_through_the_split
test_forged_delivery_refused
test_peek_at_state
test_protocol_abuse_stops_the_agent
