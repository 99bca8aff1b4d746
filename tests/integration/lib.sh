# SPDX-License-Identifier: Apache-2.0
# Shared by the integration tests and `make demo`: start the real binaries
# on 127.0.0.1 in a temporary directory, and clean everything up on exit.
# Source it, then call rp_init BUILD_DIR.
#
# Under meson (RP_TAP=1) every step is a TAP test point: rp_ok prints
# "ok N - what passed", die prints "not ok N - why", and the plan comes
# last, so `make check' counts steps, not scripts. A step is one claim a
# test checked; a test function may check several.

RP_TAP_N=0

# rp_ok TEXT: one step passed.
rp_ok() {
	RP_TAP_N=$((RP_TAP_N + 1))
	if [ -n "${RP_TAP:-}" ]; then echo "ok $RP_TAP_N - $*"; else echo "ok - $*"; fi
}

# rp_note TEXT: a line of commentary that is not a step.
rp_note() { if [ -n "${RP_TAP:-}" ]; then echo "# $*"; else echo "$*"; fi; }

rp_init() {
	local build=$1
	BIN=$(cd "$build" && pwd)
	RAMPARTD=$BIN/server/rampartd
	AGENT=$BIN/agent/rampart-agent
	CLI=$BIN/cli/rampart
	WITNESS=$BIN/witness/rampart-witness
	WITNESS_ARGS=()
	T=$(mktemp -d "${TMPDIR:-/tmp}/rampart-test.XXXXXX")
	chmod 0755 "$T"
	PIDS=()
	trap rp_cleanup EXIT
	export RAMPART_CONFIG=$T/admin/config
	# The agent's network process runs as this account (docs/privsep.md); a
	# real install has a dedicated one, a test must not add it to the host.
	export RAMPART_AGENT_NET_USER=${RAMPART_AGENT_NET_USER:-nobody}
	unset RAMPART_SERVER RAMPART_PIN RAMPART_ORG RAMPART_KEY RAMPART_TOKEN
	mkdir -p "$T/admin"
}

rp_cleanup() {
	local rc=$?
	set +e
	# A failure that did not go through die (set -e, a signal) is a step too.
	[ -n "${RP_TAP:-}" ] && [ $rc -ne 0 ] && [ -z "${RP_DIED:-}" ] &&
		echo "not ok $((RP_TAP_N += 1)) - exited with status $rc"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# A sanitizer report from any daemon fails the test, even if every step
	# passed; it is a step of its own, naming the log and the report's line.
	local f what
	for f in $(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null); do
		what=$(grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | cut -c1-200)
		[ -n "${RP_TAP:-}" ] && echo "not ok $((RP_TAP_N += 1)) - sanitizer report in ${f##*/}: $what"
		echo "FAIL: sanitizer report in $f" >&2
		[ $rc -ne 0 ] || rc=1
	done
	[ -n "${RP_TAP:-}" ] && echo "1..$RP_TAP_N"
	if [ $rc -ne 0 ] && [ -z "${RP_QUIET_FAIL:-}" ]; then
		echo "---- logs of the failed run ($T) ----" >&2
		for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 40 "$f" >&2; }; done
	fi
	if [ -n "${RP_KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
	exit $rc
}

rp_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

die() {
	RP_DIED=1
	[ -n "${RP_TAP:-}" ] && echo "not ok $((RP_TAP_N += 1)) - $*"
	echo "FAIL: $*" >&2
	exit 1
}

# rp_wait_for SECONDS CMD...: retries CMD until it succeeds.
rp_wait_for() {
	local until=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $until ] || return 1
		sleep 0.1
	done
}

rp_health() { curl -skf --tlsv1.3 "https://127.0.0.1:$PORT/v1/health" >/dev/null; }

# Starts rampartd on a fresh data dir; sets PORT, PIN, BOOT, DATA, SERVER_PID.
# SERVER_ARGS: more `rampartd serve' options (limits and timeouts).
rp_server_init() {
	DATA=$T/server
	PORT=$(rp_free_port)
	"$RAMPARTD" init --data "$DATA" >"$T/init.out" 2>"$T/init.log" || die "rampartd init"
	PIN=$(awk '$1 == "pin" {print $2}' "$T/init.out")
	BOOT=$(awk '$1 == "bootstrap" {print $2}' "$T/init.out")
	[ -n "$PIN" ] && [ -n "$BOOT" ] || die "rampartd init printed no pin or bootstrap token"
	rp_server_start
}

rp_server_start() {
	"$RAMPARTD" serve --data "$DATA" --listen "127.0.0.1:$PORT" --poll-hold "${POLL_HOLD:-5}" ${SERVER_ARGS:-} \
		${WITNESS_CA:+--witness-ca "$WITNESS_CA"} >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	rp_wait_for 20 rp_health || die "rampartd did not come up on port $PORT"
}

rp_server_stop() {
	kill "${1:--TERM}" "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# rp_witness_tls I...: before rp_server_init, puts witnesses I... behind a
# TLS proxy (tls-proxy.py) with a certificate rampartd trusts (--witness-ca).
rp_witness_tls() {
	WITNESS_TLS=" $* "
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$T/wtls.key" -out "$T/wtls.crt" >/dev/null 2>&1 || die "openssl req"
	WITNESS_CA=$T/wtls.crt
}

# rp_witnesses N [QUORUM]: starts witnesses w1..wN (state in $T/wI); org init
# then names them, with QUORUM cosignatures required (default N).
rp_witnesses() {
	local n=$1 q=${2:-$1} i port vkey url pport
	NWITNESSES=$n
	WITNESS_ARGS=()
	for i in $(seq 1 "$n"); do
		"$WITNESS" init --data "$T/w$i" --name "witness$i.test" >/dev/null 2>"$T/w$i.init.log" \
			|| die "rampart-witness init w$i"
		vkey=$("$WITNESS" vkey --data "$T/w$i") || die "rampart-witness vkey w$i"
		port=$(rp_free_port)
		printf -v "WPORT_$i" '%s' "$port"
		rp_witness_start "$i"
		url="http://127.0.0.1:$port"
		if [[ "${WITNESS_TLS:-}" == *" $i "* ]]; then
			pport=$(rp_free_port)
			python3 "$(dirname "${BASH_SOURCE[0]}")/tls-proxy.py" "$pport" "$T/wtls.crt" \
				"$T/wtls.key" "$port" >>"$T/w$i.proxy.log" 2>&1 &
			PIDS+=("$!")
			rp_wait_for 20 curl -s -o /dev/null --cacert "$T/wtls.crt" "https://127.0.0.1:$pport/" \
				|| die "TLS proxy of w$i did not come up"
			url="https://127.0.0.1:$pport"
		fi
		WITNESS_ARGS+=(--witness "w$i $vkey $url")
	done
	WITNESS_ARGS+=(--quorum "$q")
}

# rp_witness_start I: starts witness wI; WITNESS_SERVE_ARGS: more `serve' options.
rp_witness_start() {
	local i=$1 v="WPORT_$1"
	"$WITNESS" serve --data "$T/w$i" --listen "127.0.0.1:${!v}" ${WITNESS_SERVE_ARGS:-} \
		>>"$T/w$i.log" 2>&1 &
	PIDS+=("$!")
	printf -v "WPID_$i" '%s' "$!"
	rp_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:${!v}/" \
		|| die "witness w$i did not come up"
}

rp_witness_stop() {
	local v="WPID_$1"
	kill "${2:--TERM}" "${!v}" 2>/dev/null || true
	wait "${!v}" 2>/dev/null || true
}

# rp_admins N: admin1..adminN keys in $T/admin.
rp_admins() {
	local i
	for i in $(seq 1 "$1"); do
		"$CLI" key generate "admin$i@acme.example" --out "$T/admin/admin$i.key" \
			>/dev/null 2>&1 || die "key generate admin$i"
	done
}

# rp_key N: admin N's --key: $T/admin/adminN.key, or what $T/admin/adminN.keyspec
# holds (ssh-agent:VKEY for a key kept in ssh-agent, test-sshagent.sh).
rp_key() {
	if [ -f "$T/admin/admin$1.keyspec" ]; then cat "$T/admin/admin$1.keyspec"; else echo "$T/admin/admin$1.key"; fi
}

# rp_vkey N: admin N's verifier key (a .vkey file, or the text of its keyspec).
rp_vkey() {
	local k
	k=$(rp_key "$1")
	if [[ "$k" == ssh-agent:* ]]; then echo "${k#ssh-agent:}"; else echo "$k.vkey"; fi
}

# As admin N: rp_as N rampart-args... (scripts export -f it for bash -c: it
# calls no other function of this file).
rp_as() {
	local n=$1 key=$T/admin/admin$1.key; shift
	[ ! -f "$T/admin/admin$n.keyspec" ] || key=$(cat "$T/admin/admin$n.keyspec")
	"$CLI" --server "https://127.0.0.1:$PORT" --pin "$PIN" --org "${ORG:-acme}" \
		--key "$key" "$@"
}

# rp_org ORG NADMINS EXEC_THRESHOLD: root policy signed by a root quorum, uploaded.
# POLICY_EDIT: a sed script applied to the policy text before it is signed
# (a role that not every administrator holds).
rp_org() {
	ORG=$1
	local n=$2 exec_t=$3 i args=()
	for i in $(seq 1 "$n"); do args+=(--admin "$(rp_vkey "$i")"); done
	# The server's log key for the org, trusted by every witness.
	LOGKEY=$("$RAMPARTD" log-key --data "$DATA" --org "$ORG" --host 127.0.0.1) \
		|| die "rampartd log-key"
	for i in $(seq 1 "${NWITNESSES:-0}"); do
		"$WITNESS" add-log --data "$T/w$i" --vkey "$LOGKEY" >/dev/null || die "add-log w$i"
	done
	"$CLI" org init --org "$ORG" "${args[@]}" --root 2 --exec "$exec_t" --query 1 \
		--directory 2 --log-key "$LOGKEY" "${WITNESS_ARGS[@]}" ${FRESHNESS:+--freshness "$FRESHNESS"} \
		--out "$T/admin/$ORG.policy" >/dev/null 2>"$T/orginit.log" || die "org init"
	[ -z "${POLICY_EDIT:-}" ] || sed -i "$POLICY_EDIT" "$T/admin/$ORG.policy"
	for i in 1 2; do
		"$CLI" policy sign --yes --key "$(rp_key "$i")" "$T/admin/$ORG.policy" \
			>/dev/null || die "policy sign $i"
	done
	rp_as 1 policy upload --bootstrap "$BOOT" "$T/admin/$ORG.policy" >"$T/upload.out" \
		|| die "policy upload"
}

# rp_enroll NAME: enrols an agent with state in $T/NAME; sets DEV_<NAME>.
rp_enroll() {
	local name=$1 tok
	tok=$(rp_as 1 enroll-token --expires 10m) || die "enroll-token"
	"$AGENT" enroll --token "$tok" --state-dir "$T/$name" >"$T/$name.enroll" 2>&1 \
		|| { cat "$T/$name.enroll" >&2; die "enroll $name"; }
	local id
	id=$(awk '$1 == "device" {print $2}' "$T/$name/agent.conf")
	printf -v "DEV_$name" '%s' "$id"
}

# rp_agent_start NAME: runs the agent in the background; sets APID_<NAME>.
rp_agent_start() {
	local name=$1
	"$AGENT" run --state-dir "$T/$name" --poll-wait "${AGENT_WAIT:-5}" --max-backoff 2 \
		>>"$T/$name.log" 2>&1 &
	PIDS+=("$!")
	printf -v "APID_$1" '%s' "$!"
}

rp_agent_stop() {
	local v="APID_$1" i
	kill "${!v}" 2>/dev/null || true
	# A signal that reaches the background job before it has executed the
	# agent can be lost in bash's child: repeat it every 2 s until it ends.
	for i in $(seq 1 150); do
		kill -0 "${!v}" 2>/dev/null || break
		sleep 0.1
		[ $((i % 20)) -ne 0 ] || kill "${!v}" 2>/dev/null || true
	done
	wait "${!v}" 2>/dev/null || true
}

# rp_sign TEXT NOTE ADMIN...: NOTE is the text (or note) in TEXT signed by
# those administrators in turn, with `rampart note sign'.
rp_sign() {
	local text=$1 note=$2 n
	shift 2
	cp "$text" "$note.signing"
	for n in "$@"; do
		"$CLI" note sign --key "$T/admin/admin$n.key" <"$note.signing" >"$note.tmp" ||
			die "note sign by admin$n"
		mv "$note.tmp" "$note.signing"
	done
	mv "$note.signing" "$note"
}

# rp_submit N ARGS...: `rampart run' as admin N; prints the command id.
rp_submit() {
	local n=$1; shift
	rp_as "$n" run "$@" | awk '$1 == "command" {print $2}'
}

# rp_status ID DEVICE: that device's status for the command.
rp_status() {
	rp_as 1 --json results "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["results"]:
    if r["device"] == sys.argv[1]:
        print(r["status"])' "$2"
}

rp_sql() { sqlite3 -cmd ".timeout 5000" "$DATA/rampart.db" "$@"; }

# notify_listen NAME: a NOTIFY_SOCKET of the test's own at $T/NAME.notify
# (sd_notify's datagrams), each message appended to $T/NAME.notified.
notify_listen() {
	python3 - "$T/$1.notify" "$T/$1.notified" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace") + "\n")
PY
	PIDS+=("$!")
	rp_wait_for 10 test -S "$T/$1.notify" || die "notify socket $1"
}
