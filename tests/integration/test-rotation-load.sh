#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A rotation under load (issue 9): commands keep flowing to three agents
# while the root policy is rotated (a key revoked, a threshold changed),
# the server's TLS key is rotated through a signed policy and rampartd
# restarted on it, a device re-keys, every API token is rotated and the
# log key is rotated to a new log; and
# nothing that should run is refused: every command the CLI submitted ran
# on every target, and no agent raised an alert.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 3
rp_org acme 3 1
for a in a1 a2 a3; do
	rp_enroll "$a"
	rp_agent_start "$a"
done
TARGETS=(--to "$DEV_a1" --to "$DEV_a2" --to "$DEV_a3")

# The load: one command to all three every half second, as admin1, until
# $T/stop exists. Submissions the server cannot take (it restarts) are
# counted, not retried: the CLI said so, nothing was signed into the log.
load() {
	local n=0 id
	while [ ! -e "$T/stop" ]; do
		n=$((n + 1))
		if id=$(rp_submit 1 "${TARGETS[@]}" --run-as "$ME" -- sh -c "echo load-$n" 2>>"$T/load.err") &&
			[ -n "$id" ]; then
			echo "$id" >>"$T/submitted"
		else
			echo "$n" >>"$T/failed"
		fi
		sleep 0.5
	done
}
: >"$T/submitted"
: >"$T/failed"
load &
LOAD=$!
PIDS+=("$LOAD")
# waits until N more commands were submitted
more() {
	local want=$(($(wc -l <"$T/submitted") + $1))
	rp_wait_for 60 bash -c "[ \$(wc -l <'$T/submitted') -ge $want ]" || die "the load stalled: $(tail -3 "$T/load.err")"
}

test_rotations_under_load() {
	more 3
	# 1. the root policy: admin3 revoked, exec needs 1 of the two left
	rp_as 1 policy propose --yes --revoke admin3@acme.example >"$T/p2.out" 2>&1 ||
		{ cat "$T/p2.out" >&2; die "policy propose v2"; }
	rp_as 2 approve --policy --yes >"$T/a2.out" 2>&1 || { cat "$T/a2.out" >&2; die "approve v2"; }
	more 3
	# 2. the TLS key: the next key named in version 3, activated, rampartd restarted
	local cur next
	"$RAMPARTD" rotate tls --data "$DATA" >"$T/rotate.out" 2>"$T/rotate.log" || die "rampartd rotate tls"
	cur=$(awk '$1 == "current" {print $2}' "$T/rotate.out")
	next=$(awk '$1 == "next" {print $2}' "$T/rotate.out")
	rp_as 1 policy propose --yes --server-pin "$cur" --server-pin "$next" >"$T/p3.out" 2>&1 ||
		{ cat "$T/p3.out" >&2; die "policy propose v3"; }
	rp_as 2 approve --policy --yes >"$T/a3.out" 2>&1 || { cat "$T/a3.out" >&2; die "approve v3"; }
	for a in a1 a2 a3; do
		rp_wait_for 60 grep -q 'names other server keys: restarting the network process' "$T/$a.log" ||
			die "$a did not take the policy's server keys"
	done
	"$RAMPARTD" rotate tls --data "$DATA" --activate >/dev/null 2>>"$T/rotate.log" || die "activate"
	rp_server_stop
	rp_server_start
	more 3
	# 3. a device key, while its agent runs
	"$AGENT" rekey --state-dir "$T/a2" >"$T/rekey.out" 2>&1 || { cat "$T/rekey.out" >&2; die "rekey a2"; }
	more 3
	# 4. every API token (none here but the one made now), and the enrolment tokens
	rp_as 1 token create --name ci --scope read >/dev/null 2>&1 || die "token create"
	rp_as 1 rotate api-tokens --yes >/dev/null 2>&1 || die "rotate api-tokens"
	rp_as 1 rotate enroll-tokens --yes >/dev/null 2>&1 || die "rotate enroll-tokens"
	more 3
	# 5. the log key: a new log, added by both witnesses, started by version 4
	local lk i
	lk=$("$RAMPARTD" rotate log-key --data "$DATA" --org acme 2>>"$T/rotate.log") || die "rotate log-key"
	for i in 1 2; do
		"$WITNESS" add-log --data "$T/w$i" --vkey "$lk" >/dev/null 2>>"$T/rotate.log" || die "add-log on w$i"
	done
	rp_as 1 policy propose --yes --log-key "$lk" >"$T/p4.out" 2>&1 ||
		{ cat "$T/p4.out" >&2; die "policy propose v4"; }
	rp_as 2 approve --policy --yes >"$T/a4.out" 2>&1 || { cat "$T/a4.out" >&2; die "approve v4"; }
	for a in a1 a2 a3; do
		rp_wait_for 60 grep -q "moved from log .* to log 127.0.0.1/rampart/acme/2" "$T/$a.log" ||
			die "$a did not move to the new log"
	done
	more 3
	touch "$T/stop"
	wait "$LOAD" || true
	local n f
	n=$(wc -l <"$T/submitted")
	f=$(wc -l <"$T/failed")
	rp_note "$n commands submitted during the rotations, $f submissions refused while rampartd restarted"
	[ "$n" -ge 15 ] || die "only $n commands went in"
	rp_ok "$n commands submitted to three agents while the policy, the TLS key, a device key, the tokens and the log key were rotated"

	# every one ran on every target; no alert anywhere
	local id a s bad=0
	for id in $(cat "$T/submitted"); do
		for a in a1 a2 a3; do
			local v="DEV_$a"
			rp_wait_for 90 bash -c "[ \"\$(rp_status $id ${!v})\" = done ]" || {
				s=$(rp_status "$id" "${!v}")
				echo "command $id on $a: $s" >&2
				bad=$((bad + 1))
			}
		done
	done
	[ "$bad" -eq 0 ] || die "$bad deliveries did not end done"
	for a in a1 a2 a3; do
		[ ! -s "$T/$a/alerts.log" ] || die "$a raised alerts: $(cat "$T/$a/alerts.log")"
		grep -q "SECURITY" "$T/$a.log" && die "$a logged a SECURITY line: $(grep SECURITY "$T/$a.log" | head -3)"
	done
	rp_ok "every command ran on every target (verified results), and no agent refused or alerted anything"
}
export -f rp_status rp_as
export CLI PORT PIN T

test_rotations_under_load
for a in a1 a2 a3; do rp_agent_stop "$a"; done
