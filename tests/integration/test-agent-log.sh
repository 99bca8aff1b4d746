#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the agent's alerts reach operators without the server (issue 11):
# each alert also goes to the host's syslog (authpriv), and under journald
# its lines carry the journal's priority prefix instead of a timestamp of
# ours. The syslog here is a socket of the test's own at /dev/log, in a
# mount namespace of the agent's (a /dev of the test's): never the host's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 2
rp_enroll a1
REAL_AGENT=$AGENT

# A syslog daemon of the test's own: each datagram on $T/syslog.sock, one per line.
python3 - "$T/syslog.sock" "$T/syslog.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(8192).decode(errors="replace").rstrip("\n") + "\n")
PY
PIDS+=("$!")
rp_wait_for 10 test -S "$T/syslog.sock" || die "the test's syslog socket"

# The agent with the test's /dev: the host's null, zero, urandom... and
# /dev/log the test's socket, moved over /dev in a mount namespace.
mkdir -p "$T/dev"
cat >"$T/agent-ns" <<EOF
#!/bin/bash
exec unshare -m --propagation private bash -c '
set -e
d=$T/dev
mount -t tmpfs -o mode=755 rp-dev "\$d"
for f in null zero full random urandom tty; do
	[ -e /dev/\$f ] || continue
	touch "\$d/\$f"; mount --bind /dev/\$f "\$d/\$f"
done
ln -s /proc/self/fd "\$d/fd"
touch "\$d/log"; mount --bind "$T/syslog.sock" "\$d/log"
mount --move "\$d" /dev
exec "$REAL_AGENT" "\$@"' rampart-agent "\$@"
EOF
chmod +x "$T/agent-ns"

test_journal_prefix() {
	# JOURNAL_STREAM names stderr (device:inode), as systemd sets it
	: >"$T/a1.log"
	local js
	js=$(stat -c '%d:%i' "$T/a1.log")
	AGENT=$T/agent-ns JOURNAL_STREAM=$js rp_agent_start a1
	rp_wait_for 30 grep -q "^<6>rampart-agent: " "$T/a1.log" || die "no journal priority prefix: $(head -3 "$T/a1.log")"
	! grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/a1.log" || die "a timestamp of ours under journald: $(head -3 "$T/a1.log")"
	rp_ok "under journald (JOURNAL_STREAM names stderr) each agent line starts with its priority, no timestamp of ours"
}

test_alert_to_syslog() {
	# A breached server delivers a command approved for an hour from now, now.
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" --not-before 1h -- touch "$T/canary.early")
	rp_as 2 approve --yes "$id" >/dev/null
	rp_sql "UPDATE commands SET state = 'approved' WHERE id = '$id';"
	rp_wait_for 60 grep -q "SECURITY ALERT: not-yet-valid: command $id" "$T/syslog.out" ||
		die "no syslog line for the refused delivery: $(cat "$T/syslog.out")"
	# authpriv (10) at warning (4): <84>, the agent's name and pid
	grep -qE "^<84>.* rampart-agent\[[0-9]+\]: SECURITY ALERT: not-yet-valid: command $id: " "$T/syslog.out" ||
		die "the syslog line: $(cat "$T/syslog.out")"
	grep -q "^<4>rampart-agent: SECURITY ALERT: not-yet-valid: command $id" "$T/a1.log" ||
		die "the alert's journal line has no warning priority"
	[ ! -e "$T/canary.early" ] || die "the early command ran"
	rp_ok "attack: a command delivered early is refused and the alert reaches the host's syslog (authpriv.warning) and the journal, not only the server"
}

test_journal_prefix
test_alert_to_syslog
rp_note "all agent log tests passed"
