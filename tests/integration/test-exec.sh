#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How the agent runs a command (agent/exec.c; docs/operating.md "How
# commands run"), with the real binaries. Agent x1 runs inside a user and
# mount namespace of this test's own, where a temporary /etc/passwd and
# /etc/group (bind-mounted) hold a second account, rpuser, that exists
# nowhere else; it is started the way a careless supervisor would start it
# (umask 077, SIGHUP ignored, SIGUSR2 blocked, a stray fd 7), none of which
# a command may inherit. Agent x2 runs with --no-cgroup: the subreaper
# fallback. Each test is one named bug or attack of issue 7.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

rp_server_init
rp_witnesses 2
rp_admins 2
rp_org acme 2 1 # exec 1 of 2: a command runs as soon as it is submitted
rp_enroll x1
rp_enroll x2

# rpuser's uid and gid inside x1's namespaces, and what they are on the host.
if unshare --user --mount true 2>/dev/null; then
	USERNS=1 IN_UID=1000 HOST_UID=101000
else
	# No user namespaces here: a mount namespace alone, with an id no host account uses.
	USERNS='' IN_UID=4242 HOST_UID=4242
	rp_note "user namespaces unavailable: rpuser is uid $HOST_UID in a mount namespace only"
fi
mkdir -p "$T/etc" "$T/home/rpuser" "$T/out"
chmod 1777 "$T/out"
chown "$HOST_UID:$HOST_UID" "$T/home/rpuser"
chmod 0700 "$T/home/rpuser"
cat >"$T/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
rpuser:x:$IN_UID:$IN_UID:Rampart test user:$T/home/rpuser:/bin/sh
rpnet:x:$((IN_UID + 5)):$((IN_UID + 5)):the agent's network process:/:/usr/sbin/nologin
EOF
cat >"$T/etc/group" <<EOF
root:x:0:
rpuser:x:$IN_UID:
rpextra:x:$((IN_UID + 1)):root,rpuser
rpnet:x:$((IN_UID + 5)):
EOF

# What mess.py leaves the agent with: SIGUSR2 blocked and signal 32 (glibc's
# own, which its sigaction() refuses to touch) ignored, through the raw
# system call where its number is known.
cat >"$T/mess.py" <<'EOF'
import ctypes, os, platform, signal, sys
nr = {"x86_64": 13, "aarch64": 134}.get(platform.machine())  # rt_sigaction
if nr and ctypes.CDLL(None).syscall(nr, 32, (ctypes.c_ulong * 4)(1), None, 8) != 0:
    sys.exit("mess.py: cannot ignore signal 32")
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
os.execv(sys.argv[1], sys.argv[1:])
EOF
case $(uname -m) in x86_64 | aarch64) SIG32=1 ;; *) SIG32='' ;; esac

in_new_userns() { [ "$(readlink "/proc/$1/ns/user")" != "$(readlink /proc/self/ns/user)" ]; }

# x1_start: agent x1 in its own namespaces; sets APID_x1.
x1_start() {
	local fifo=$T/x1.go pid
	rm -f "$fifo"
	mkfifo "$fifo"
	(
		umask 077
		trap '' HUP
		exec 7>"$T/x1.fd7"
		# dash clears the signal mask, so the mask is set after it (mess.py).
		exec unshare ${USERNS:+--user} --mount --propagation private -- sh -c '
			read go <"$1" && mount --bind "$2/passwd" /etc/passwd &&
			mount --bind "$2/group" /etc/group &&
			exec python3 "$5" "$3" run --state-dir "$4" --poll-wait 5 --max-backoff 2 \
				--net-user rpnet' \
			sh "$fifo" "$T/etc" "$AGENT" "$T/x1" "$T/mess.py"
	) >>"$T/x1.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	APID_x1=$pid
	if [ -n "$USERNS" ]; then
		rp_wait_for 10 in_new_userns "$pid" || die "x1 did not enter its user namespace"
		# One write each (a map is written once): root stays root, rpuser's ids map to HOST_UID...
		python3 -c 'import os, sys
for f in ("uid_map", "gid_map"):
    fd = os.open("/proc/%s/%s" % (sys.argv[1], f), os.O_WRONLY)
    os.write(fd, ("0 0 1\n%s %s 10\n" % (sys.argv[2], sys.argv[3])).encode())
    os.close(fd)' "$pid" "$IN_UID" "$HOST_UID" || die "writing x1's uid and gid maps"
	fi
	echo go >"$fifo"
}

# A process is gone: no such pid, a zombie, or the pid now belongs to another program.
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null ||
		[ "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" != "sleep 300 " ]
}
exited() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
final() {
	local s
	s=$(rp_status "$1" "$2")
	[ -n "$s" ] && [ "$s" != pending ] && [ "$s" != running ]
}
# wait_final ID DEVICE: until the device's result is in.
wait_final() {
	rp_wait_for "${3:-40}" final "$1" "$2" ||
		die "command $1 on $2 never finished (status: $(rp_status "$1" "$2"))"
}
# field ID DEVICE NAME: a field of the device's result as `rampart results
# --json' shows it (output decoded; the reason is the server's word, unsigned).
field() {
	rp_as 1 --json results "$1" | python3 -c '
import base64, json, sys
for r in json.load(sys.stdin)["results"]:
    if r["device"] == sys.argv[1]:
        name = sys.argv[2]
        v = (r.get("server") or {}).get(name) if name == "reason" else r.get(name)
        if name == "output":
            v = base64.b64decode(v or "").decode(errors="replace")
        print("" if v is None else v)' "$2" "$3"
}
# field_has ID DEVICE NAME GREP-ARGS...: grep in a field (never in a pipe:
# with pipefail, grep -q closing it early could fail the writer).
field_has() {
	local v
	v=$(field "$1" "$2" "$3")
	shift 3
	grep "$@" <<<"$v"
}
# note ID DEVICE: the device-signed result, as the server keeps it.
note() { rp_sql "SELECT result FROM deliveries WHERE command_id = '$1' AND device_id = '$2'"; }
# note_has ID DEVICE TEXT: the signed result holds TEXT (lines and all).
note_has() {
	note "$1" "$2" | python3 -c 'import sys; sys.exit(sys.argv[1] not in sys.stdin.read())' "$3"
}
expect() { # ID DEVICE STATUS
	local s
	s=$(rp_status "$1" "$2")
	[ "$s" = "$3" ] || die "command $1: status $s, expected $3 (reason: $(field "$1" "$2" reason); output: $(field "$1" "$2" output | tail -n 3))"
}

x1_start
x2_start() {
	"$AGENT" run --state-dir "$T/x2" --poll-wait 5 --max-backoff 2 --no-cgroup >>"$T/x2.log" 2>&1 &
	PIDS+=("$!")
	APID_x2=$!
}
x2_start

test_supervisor_leftovers_are_real() {
	# The premise of test_clean_signal_state: x1 itself has them.
	rp_wait_for 10 grep -q 'polling' "$T/x1.log" || die "x1 did not start"
	local ign blk
	ign=$(awk '/^SigIgn/ {print $2}' "/proc/$APID_x1/status")
	blk=$(awk '/^SigBlk/ {print $2}' "/proc/$APID_x1/status")
	(( (16#$ign & 1) != 0 )) || die "x1 does not ignore SIGHUP (SigIgn $ign)"
	[ -z "$SIG32" ] || (( (16#$ign & 16#80000000) != 0 )) || die "x1 does not ignore signal 32 (SigIgn $ign)"
	(( (16#$blk & 16#800) != 0 )) || die "x1 does not block SIGUSR2 (SigBlk $blk)"
	[ -e "/proc/$APID_x1/fd/7" ] || die "x1 has no fd 7"
	rp_ok "x1 runs with SIGHUP${SIG32:+ and signal 32} ignored, SIGUSR2 blocked, umask 077 and a stray fd 7"
}

test_run_as_second_account() {
	# Bug: the script was written to the root-only state dir, which the
	# dropped child could not open. Now a sealed memfd; #! scripts are
	# executed from it (execveat), others run by /bin/sh /dev/fd/3.
	cat >"$T/runas.sh" <<EOF
#!/bin/sh
echo "ids uid=\$(id -u) gid=\$(id -g) groups=\$(id -G)"
echo "where home=\$HOME pwd=\$(pwd) user=\$USER logname=\$LOGNAME"
touch $T/out/runas.created
if cat $T/x1/device.key >/dev/null 2>&1; then echo READ-THE-DEVICE-KEY; else echo state-unreadable; fi
if ls $T/x1 >/dev/null 2>&1; then echo LISTED-THE-STATE; fi
if echo x >/dev/fd/3 2>/dev/null; then echo CHANGED-THE-SCRIPT; else echo script-sealed; fi
EOF
	local id out
	id=$(rp_submit 1 --to "$DEV_x1" --run-as rpuser --timeout 20 --script "$T/runas.sh")
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" done
	out=$(field "$id" "$DEV_x1" output)
	grep -qx "ids uid=$IN_UID gid=$IN_UID groups=$IN_UID $((IN_UID + 1))" <<<"$out" ||
		die "run-as rpuser: wrong ids: $out"
	grep -qx "where home=$T/home/rpuser pwd=$T/home/rpuser user=rpuser logname=rpuser" <<<"$out" ||
		die "run-as rpuser: wrong home or names: $out"
	grep -qx state-unreadable <<<"$out" || die "rpuser could read the agent's device key: $out"
	! grep -q LISTED-THE-STATE <<<"$out" || die "rpuser could list the agent's state: $out"
	grep -qx script-sealed <<<"$out" || die "rpuser could write to its script: $out"
	[ "$(stat -c %u:%g "$T/out/runas.created")" = "$HOST_UID:$HOST_UID" ] ||
		die "the file rpuser made is owned by $(stat -c %u:%g "$T/out/runas.created"), not $HOST_UID"
	# Without #!: /bin/sh reads the script from /dev/fd/3.
	id=$(rp_submit 1 --to "$DEV_x1" --run-as rpuser -- sh -c 'echo "plain $(id -un) $(id -u)"')
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" done
	field_has "$id" "$DEV_x1" output -qx "plain rpuser $IN_UID" || die "plain script as rpuser"
	rp_ok "run-as a second account: its uid and groups, its home, no access to the agent's state, a sealed script"
}

test_unknown_run_as_user_fails_cleanly() {
	# Bug: getpwnam() of an unknown name crashed the static agent in libnss_systemd.
	local id id2
	id=$(rp_submit 1 --to "$DEV_x1" --run-as nosuchuser -- echo never)
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" failed
	field_has "$id" "$DEV_x1" reason -qF "no such user \`nosuchuser' on this device" ||
		die "unknown user: the reason is: $(field "$id" "$DEV_x1" reason)"
	! exited "$APID_x1" || die "x1 died on an unknown run-as user"
	id2=$(rp_submit 1 --to "$DEV_x1" --run-as root -- echo still here)
	wait_final "$id2" "$DEV_x1"
	expect "$id2" "$DEV_x1" done
	field_has "$id2" "$DEV_x1" output -qx "still here" || die "the next command's output"
	rp_ok "an unknown run-as user is a clear failed result, and the agent runs the next command"
}

test_redirected_output_keeps_running() {
	# Bug: EOF on the output pipe ended the wait and the kill followed (done, exit 137).
	local id
	id=$(rp_submit 1 --to "$DEV_x1" --run-as root --timeout 30 -- \
		sh -c "exec >$T/out/redir.log 2>&1; sleep 2; echo done >>$T/out/redir.flag")
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" done
	[ "$(field "$id" "$DEV_x1" exit_code)" = 0 ] || die "redirected: exit $(field "$id" "$DEV_x1" exit_code)"
	grep -qx done "$T/out/redir.flag" 2>/dev/null || die "the command was killed before it finished"
	rp_ok "a command that redirects its own output runs to its end"
}

# escapes DEVICE TAG: children that left the process group die at the timeout.
escapes_killed_at_timeout() {
	local dev=$1 tag=$2 id p
	id=$(rp_submit 1 --to "$dev" --run-as root --timeout 3 -- sh -c "
		setsid sh -c 'sleep 300 & echo \$! >$T/out/$tag.setsid; wait' &
		(sleep 300 & echo \$! >$T/out/$tag.double) &
		sleep 300")
	wait_final "$id" "$dev"
	for p in setsid double; do
		[ -s "$T/out/$tag.$p" ] || die "$tag: the $p child never started"
		rp_wait_for 10 gone "$(cat "$T/out/$tag.$p")" ||
			die "$tag: the $p child $(cat "$T/out/$tag.$p") survived the timeout"
	done
	expect "$id" "$dev" timed-out
	note_has "$id" "$dev" $'\nsignal 9\n' || die "$tag: the timed-out result has no \`signal 9': $(note "$id" "$dev")"
}

# leftovers DEVICE TAG: what the command left behind dies when it ends.
leftovers_killed_at_end() {
	local dev=$1 tag=$2 id
	id=$(rp_submit 1 --to "$dev" --run-as root --timeout 30 -- \
		sh -c "setsid sleep 300 & echo \$! >$T/out/$tag.left; sleep 0.5; echo main-done")
	wait_final "$id" "$dev"
	rp_wait_for 10 gone "$(cat "$T/out/$tag.left")" ||
		die "$tag: the setsid child $(cat "$T/out/$tag.left") outlived its command"
	expect "$id" "$dev" done
	field_has "$id" "$dev" output -qx main-done || die "$tag: output lost: $(field "$id" "$dev" output)"
}

test_setsid_and_double_fork_killed_at_timeout() {
	# Bug: kill(-pgid) missed children that called setsid() or double-forked.
	escapes_killed_at_timeout "$DEV_x1" x1
	rp_ok "x1: setsid'd and double-forked children are killed at the timeout"
	escapes_killed_at_timeout "$DEV_x2" x2
	grep -q 'contained by subreaper' "$T/x2.log" || die "x2 did not use the subreaper fallback"
	rp_ok "x2 (--no-cgroup, subreaper): setsid'd and double-forked children are killed at the timeout"
}

test_leftovers_killed_when_the_command_ends() {
	leftovers_killed_at_end "$DEV_x1" x1
	rp_ok "x1: a setsid'd child is killed when its command ends"
	leftovers_killed_at_end "$DEV_x2" x2
	rp_ok "x2 (subreaper): a setsid'd child is killed when its command ends"
	if grep -q 'contained by cgroup' "$T/x1.log"; then
		rp_note "x1 contained its commands in cgroups"
	else
		rp_note "x1 fell back to the subreaper: $(grep -o 'contained by .*' "$T/x1.log" | tail -n 1)"
	fi
}

test_killed_by_signal_is_reported_as_killed() {
	# Bug: a kill was reported as done with exit 128+n.
	local id
	id=$(rp_submit 1 --to "$DEV_x1" --run-as root -- sh -c 'ulimit -c 0; kill -SEGV $$')
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" killed
	note_has "$id" "$DEV_x1" $'\nstatus killed\nexit -1\nsignal 11\n' ||
		die "SIGSEGV: the signed result does not say killed by signal 11: $(note "$id" "$DEV_x1")"
	field_has "$id" "$DEV_x1" reason -q SIGSEGV || die "SIGSEGV: reason $(field "$id" "$DEV_x1" reason)"
	# rampart results shows the signed signal: SEGV in EXIT, "signal": 11 in --json.
	local table
	table=$(rp_as 1 results "$id")
	grep -qE "^$DEV_x1 .* killed +SEGV " <<<"$table" || die "rampart results does not show SEGV: $table"
	[ "$(field "$id" "$DEV_x1" signal)" = 11 ] || die "rampart results --json: signal $(field "$id" "$DEV_x1" signal)"
	id=$(rp_submit 1 --to "$DEV_x1" --run-as root -- sh -c 'kill -9 $$')
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" killed
	note_has "$id" "$DEV_x1" $'\nstatus killed\nexit -1\nsignal 9\n' ||
		die "SIGKILL: the signed result does not say killed by signal 9"
	rp_ok "a command killed by SIGSEGV or SIGKILL is reported as killed, with the signal, signed"
}

test_clean_signal_state() {
	# Bug: the child kept the agent's ignored and blocked signals and its umask.
	local id out
	id=$(rp_submit 1 --to "$DEV_x1" --run-as root -- sh -c \
		'grep -E "^Sig(Ign|Blk)" /proc/self/status; echo "umask $(umask)"; echo "fds $(ls /proc/self/fd | tr "\n" " ")"')
	wait_final "$id" "$DEV_x1"
	expect "$id" "$DEV_x1" done
	out=$(field "$id" "$DEV_x1" output)
	grep -qP '^SigIgn:\t0000000000000000$' <<<"$out" || die "the command inherited ignored signals: $out"
	grep -qP '^SigBlk:\t0000000000000000$' <<<"$out" || die "the command inherited blocked signals: $out"
	grep -qx 'umask 0022' <<<"$out" || die "the command's umask is not 022: $out"
	! grep -q '^fds .* 7 ' <<<"$out" || die "the command inherited the agent's fd 7: $out"
	rp_ok "a command starts with default signals, nothing blocked, umask 022 and only its own fds"
}

# stop_during NAME TAG SIGNAL PRELUDE: SIGTERM to agent NAME while a long
# command (PRELUDE, then a background sleep) runs; the agent must exit
# promptly, take the command's child with it, and, restarted, report the
# command killed with SIGNAL.
stop_during() {
	local name=$1 tag=$2 sig=$3 prelude=$4 id dev apid
	dev=DEV_$name
	apid=APID_$name
	id=$(rp_submit 1 --to "${!dev}" --run-as root --timeout 600 -- \
		sh -c "$prelude sleep 300 & echo \$! >$T/out/$tag.child; wait")
	rp_wait_for 30 test -s "$T/out/$tag.child" || die "$tag: the long command never started"
	kill -TERM "${!apid}"
	rp_wait_for 20 exited "${!apid}" ||
		die "$tag: $name still runs 20 s after SIGTERM (the command's timeout is 600 s)"
	wait "${!apid}" 2>/dev/null || true
	rp_wait_for 10 gone "$(cat "$T/out/$tag.child")" || die "$tag: the command's child outlived the agent"
	"${name}_start"
	wait_final "$id" "${!dev}"
	expect "$id" "${!dev}" killed
	field_has "$id" "${!dev}" reason -q 'the agent stopped' ||
		die "$tag: the reason is: $(field "$id" "${!dev}" reason)"
	note_has "$id" "${!dev}" $'\nsignal '"$sig"$'\n' || die "$tag: the signed result has no \`signal $sig'"
}

test_sigterm_to_agent_ends_command() {
	# Bug: SIGTERM to the agent waited out the command's timeout.
	stop_during x1 term 15 ''
	rp_ok "SIGTERM to the agent ends a running command (SIGTERM), reports it killed, and the agent exits"
	# A command that ignores SIGTERM gets SIGKILL after the grace; x2 is the subreaper.
	stop_during x2 term2 9 "trap '' TERM;"
	rp_ok "a command that ignores SIGTERM is killed after the grace, and the agent exits"
}

export -f rp_status rp_as
export T PORT PIN CLI ORG
test_supervisor_leftovers_are_real
test_run_as_second_account
test_unknown_run_as_user_fails_cleanly
test_redirected_output_keeps_running
test_setsid_and_double_fork_killed_at_timeout
test_leftovers_killed_when_the_command_ends
test_killed_by_signal_is_reported_as_killed
test_clean_signal_state
test_sigterm_to_agent_ends_command
rp_note "all exec tests passed"
