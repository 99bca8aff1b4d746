#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Malformed, oversized and unauthenticated requests get a 4xx with a JSON
# error, and the server keeps serving. Also: --help on every command. Then
# the connection guard (lib/httpd) against hostile clients over real
# sockets (http-probe.py): bodies refused from their headers, phase
# deadlines, the connection caps (all, per address, new ones); one held
# poll per device (signed-poll.py); a witness answering 100 MiB
# (fake-witness.py); a tile index that wraps around.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
# every request logged: the tests below read the poll lines
SERVER_ARGS="--log-level debug" rp_server_init
URL="https://127.0.0.1:$PORT"

# expect STATUS CODE curl-args...: HTTP status and JSON error code.
expect() {
	local want=$1 code=$2; shift 2
	local got
	got=$(curl -sk --tlsv1.3 -o "$T/body" -w '%{http_code}' "$@") || true
	[ "$got" = "$want" ] || die "$* -> $got, want $want ($(head -c 200 "$T/body"))"
	if [ "$code" != - ]; then
		grep -q "\"code\":\"$code\"" "$T/body" || die "$* -> body lacks code $code: $(head -c 200 "$T/body")"
	fi
}

test_errors_are_json() {
	expect 200 - "$URL/v1/health"
	grep -q '"status":"ok"' "$T/body" || die "health body: $(head -c 200 "$T/body")"
	curl -sk --tlsv1.3 -D - -o /dev/null "$URL/v1/health" | grep -qi '^content-type: application/json' \
		|| die "health is not application/json"
	expect 404 not_found "$URL/nope"
	expect 404 not_found "$URL/v1/orgs/acme/commands/not-an-id"
	expect 404 not_found "$URL/v1/orgs/ACME/devices"
	expect 404 not_found "$URL/v1/orgs/acme/policy"
	expect 405 method_not_allowed -X DELETE "$URL/v1/health"
	expect 405 method_not_allowed -X PUT "$URL/v1/orgs"
	expect 404 not_found -X PATCH "$URL/nope"
	rp_ok "unknown routes and methods: JSON 404/405"
}

test_malformed_bodies() {
	expect 400 bad_request -X POST --data '{not json' "$URL/v1/enroll"
	expect 400 bad_request -X POST --data '[1,2]' "$URL/v1/enroll"
	expect 400 bad_request -X POST --data '{"org":"acme","org":"x"}' "$URL/v1/enroll"
	expect 400 bad_request -X POST --data '{"org":"acme","secret":"00","pubkey":"AAAA","hostname":"h","os":"o","agent_version":"1","proof":"AAAA"}' "$URL/v1/enroll"
	rp_ok "malformed JSON bodies: 400 bad_request"
	# Within the route's cap, but thousands of values: bounded before jansson builds them.
	python3 -c 'import json; print(json.dumps({"org": "acme", "x": [[0]] * 3000}))' >"$T/values.json"
	expect 413 too_large -X POST --data-binary @"$T/values.json" "$URL/v1/enroll"
	rp_ok "a body of thousands of JSON values: 413 before a tree is built"
}

test_oversized_bodies() {
	head -c 20000 /dev/zero | tr '\0' 'a' >"$T/20k"
	expect 413 too_large -X POST --data-binary @"$T/20k" "$URL/v1/enroll"
	head -c 3000000 /dev/zero | tr '\0' 'a' >"$T/3m"
	expect 413 - -X POST --data-binary @"$T/3m" "$URL/v1/enroll"
	local big
	big=$(head -c 20000 /dev/zero | tr '\0' 'x')
	expect 431 too_large -H "X-Big: $big" "$URL/v1/health"
	rp_ok "oversized bodies and headers: 4xx before parsing"
}

test_unauthenticated() {
	expect 401 unauthorized -X POST --data '{"policy":"x"}' -H 'Authorization: Bootstrap nope' "$URL/v1/orgs"
	expect 401 unauthorized "$URL/v1/agent/poll"
	expect 401 unauthorized -H 'X-Rampart-Key: 00112233445566778899aabbccddeeff' \
		-H "X-Rampart-Time: $(date +%s)" -H 'X-Rampart-Signature: AAAA' "$URL/v1/agent/poll"
	expect 401 unauthorized -H 'Authorization: Bearer rpt_00112233445566778899aabbccddeeff_00' "$URL/v1/orgs/acme/devices"
	rp_ok "missing or bad credentials: 401"
}

test_not_http_and_old_tls() {
	# Plain HTTP and garbage on the TLS port, and a TLS 1.2-only client.
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read()); s.recv(100)' "$PORT" >/dev/null 2>&1 || true
	head -c 5000 /dev/urandom | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read()); s.recv(100)' "$PORT" >/dev/null 2>&1 || true
	if curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "$URL/v1/health"; then
		die "a TLS 1.2 client was served"
	fi
	rp_ok "plain HTTP, garbage and TLS 1.2 are refused"
}

test_still_serving() {
	expect 200 - "$URL/v1/health"
	kill -0 "$SERVER_PID" || die "rampartd died"
	rp_ok "still serving after all of the above"
}

test_init_data_dir() {
	local d=$T/init2 out
	[ "$(stat -c %a "$DATA")" = 700 ] || die "data dir mode $(stat -c %a "$DATA")"
	for f in tls.key tls.crt rampart.db; do
		[ "$(stat -c %a "$DATA/$f")" = 600 ] || die "$f mode $(stat -c %a "$DATA/$f")"
	done
	[ "$("$RAMPARTD" pin --data "$DATA")" = "$PIN" ] || die "rampartd pin differs from init's pin"
	openssl x509 -in "$DATA/tls.crt" -pubkey -noout | openssl pkey -pubin -outform DER \
		| sha256sum | grep -q "^${PIN#sha256:} " || die "pin is not SHA-256 of the SubjectPublicKeyInfo"
	if "$RAMPARTD" init --data "$DATA" >/dev/null 2>&1; then die "init overwrote a data dir"; fi
	if "$RAMPARTD" init --data "$d" --host 'x,IP:10.0.0.1' >/dev/null 2>&1; then
		die "init took a --host that injects a SAN"
	fi
	[ ! -e "$d" ] || die "a refused init left $d behind"
	"$RAMPARTD" init --data "$d" --host 10.9.8.7 >/dev/null 2>&1 || die "init --host IP"
	openssl x509 -in "$d/tls.crt" -noout -ext subjectAltName | grep -q 'IP Address:10.9.8.7' \
		|| die "--host IP is not an IP SAN"
	out=$("$RAMPARTD" bootstrap-token --data "$DATA")
	[[ $out =~ ^bootstrap\ [0-9a-f]{64}$ ]] || die "bootstrap-token printed: $out"
	rp_ok "init: modes, pin, no overwrite, --host checked; bootstrap-token"
}

test_held_poll_hangup() {
	rp_admins 2
	rp_org acme 2 2
	rp_enroll a1
	AGENT_WAIT=30 rp_agent_start a1
	rp_wait_for 10 grep -q "agent/poll" "$T/server.log" || true
	sleep 1.5 # the agent's poll is held now (nothing to deliver)
	kill -9 "$APID_a1"; wait "$APID_a1" 2>/dev/null || true
	rp_wait_for 3 grep -q "device $DEV_a1 hung up its held poll" "$T/server.log" \
		|| die "a held poll of a dead agent was not dropped"
	rp_ok "an agent that hangs up mid-poll is dropped at once"
}

PROBE=$(dirname "$0")/http-probe.py
probe() { python3 "$PROBE" --tls "$PORT" "$@"; }
# The server's peak RSS, kB.
peak_kb() { awk '$1 == "VmHWM:" {print $2}' "/proc/$SERVER_PID/status"; }

# restart_with SERVE-ARGS...: rampartd again, with these limits. ASan's
# quarantine is off, so that the peak RSS counts what the server holds,
# not what it has freed.
restart_with() {
	rp_server_stop
	SERVER_ARGS="--log-level debug $*" ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" rp_server_start
}

test_limits_restart() {
	restart_with --header-timeout 2 --body-timeout 2 --idle-timeout 2
	"$RAMPARTD" serve --help | grep -q -- '--max-connections N' || die "serve --help lacks the limits"
	if "$RAMPARTD" serve --data "$DATA" --header-timeout 0 2>"$T/err"; then
		die "serve took --header-timeout 0"
	fi
	grep -q "header-timeout.*not a whole number from 1" "$T/err" || die "bad timeout: $(cat "$T/err")"
	rp_ok "serve takes --max-connections and the phase timeouts, and refuses 0"
}

test_preauth_body_refused_before_read() {
	local got before after
	# 50 clients send the headers of a 2 MiB enrolment, then wait for an answer.
	got=$(probe refuse 50 POST /v1/enroll 2097152 10)
	[ "$(tr ' ' '\n' <<<"$got" | sort -u)" = 413 ] ||
		die "2 MiB enrolments that sent only their headers got: $got (want 50 x 413)"
	# 50 more send the whole 2 MiB as fast as the server reads.
	before=$(peak_kb)
	probe blast 50 POST /v1/enroll 2097152 >/dev/null
	after=$(peak_kb)
	[ $((after - before)) -lt 25600 ] ||
		die "50 x 2 MiB enrolments grew the server's peak RSS by $(((after - before) / 1024)) MB"
	grep -q "POST /v1/enroll 413 .*body of 2097152 bytes exceeds the 16384 bytes" "$T/server.log" ||
		die "the refusal is not logged"
	rp_ok "attack: 50 parallel 2 MiB enrolments (pre-auth cap 16 KiB): 413 from the headers, before the body; 50 more grew the peak RSS by $(((after - before) / 1024)) MB"
}

test_slowloris_headers() {
	local out
	# 2 bytes a second: every read is on time, the headers never complete.
	out=$(probe trickle 20 0.5 '' 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
	[[ $out == "closed "*" 408" ]] || die "slowloris headers at 2 bytes/s: $out (want closed with 408)"
	grep -q "408 .*request headers not complete within 2 s" "$T/server.log" || die "408 not logged"
	rp_ok "attack: slowloris headers (2 bytes/s) closed at the headers deadline: $out"
}

test_slow_body() {
	local out
	out=$(probe trickle 20 0.5 'POST /v1/agent/alert HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n' \
		'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
	[[ $out == "closed "*" 408" ]] || die "a body at 2 bytes/s: $out (want closed with 408)"
	grep -q "POST /v1/agent/alert 408 .*request body not complete within 2 s" "$T/server.log" ||
		die "408 not logged"
	rp_ok "attack: a body trickled at 2 bytes/s closed at the body deadline: $out"
}

test_idle_keepalive() {
	local out
	out=$(probe idle 20)
	[[ $out == "closed "* ]] || die "an idle keep-alive connection: $out (want closed)"
	rp_ok "attack: an idle keep-alive connection closed at the idle deadline: $out"
}

# A poll of the agent a1 held to the end of the server's hold (POLL_HOLD s).
poll_held_to_the_end() {
	awk -v dev="$DEV_a1" -v min=$(((${POLL_HOLD:-5} - 1) * 1000)) \
		'/GET \/v1\/agent\/poll 204 / && $0 ~ ("by " dev "$") && $5 + 0 >= min {ok = 1}
		 END {exit !ok}' "$T/server.log"
}

test_held_poll_not_cut() {
	# The hold (5 s) outlasts every deadline (2 s): the client is not the one silent.
	AGENT_WAIT=30 rp_agent_start a1
	rp_wait_for 30 poll_held_to_the_end || die "no poll of a1 was held for its ${POLL_HOLD:-5} s"
	rp_agent_stop a1
	! grep -q "408 .* by $DEV_a1" "$T/server.log" || die "a held poll was cut"
	rp_ok "a long poll held ${POLL_HOLD:-5} s is not cut by 2 s deadlines"
}

test_witness_reply_cap() {
	local i port vkey args=() before after
	# Two witnesses that answer 100 MiB: with a Content-Length, and without one.
	for i in 1 2; do
		vkey=$("$WITNESS" init --data "$T/fw$i" --name "fake$i.test" 2>/dev/null) ||
			die "witness init fw$i"
		port=$(rp_free_port)
		python3 "$(dirname "$0")/fake-witness.py" "$port" "$([ $i = 1 ] && echo length || echo stream)" \
			104857600 "$T/fw$i.out" >>"$T/fw$i.log" 2>&1 &
		PIDS+=("$!")
		args+=(--witness "fw$i $vkey http://127.0.0.1:$port")
	done
	before=$(peak_kb)
	BOOT=$("$RAMPARTD" bootstrap-token --data "$DATA" | awk '{print $2}')
	WITNESS_ARGS=("${args[@]}" --quorum 1)
	NWITNESSES=0
	rp_org huge 2 2
	WITNESS_ARGS=()
	ORG=acme
	for i in 1 2; do
		rp_wait_for 30 grep -q "org huge: witness fw$i .*answer refused unread: its body exceeds 16384 bytes" \
			"$T/server.log" || die "fw$i's 100 MiB answer was not refused ($(tail -3 "$T/server.log"))"
	done
	after=$(peak_kb)
	[ $((after - before)) -lt 25600 ] ||
		die "100 MiB witness answers grew the server's peak RSS by $(((after - before) / 1024)) MB"
	rp_health || die "rampartd stopped serving"
	rp_ok "attack: witnesses answering 100 MiB (with and without a length) cut at 16 KiB; peak RSS +$(((after - before) / 1024)) MB"
}

test_tile_index_overflow() {
	local code
	rp_wait_for 20 curl -skf --tlsv1.3 -o /dev/null "$URL/v1/log/acme/tile/entries/000.p/1" ||
		die "acme's log is not served"
	# 2^56 * 256 = 2^64: wraps around to entry 0, served as immutable.
	code=$(curl -sk --tlsv1.3 -o "$T/tile" -w '%{http_code}' \
		"$URL/v1/log/acme/tile/entries/x072/x057/x594/x037/x927/936.p/1")
	[ "$code" = 404 ] || die "entry tile 2^56 answered $code ($(head -c 60 "$T/tile" | od -c | head -2))"
	code=$(curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' \
		"$URL/v1/log/acme/tile/0/x072/x057/x594/x037/x927/936.p/1")
	[ "$code" = 404 ] || die "hash tile 2^56 answered $code"
	rp_ok "attack: tile index 2^56 (x 256 wraps to entry 0) is 404, not entry 0"
}

test_connection_cap() {
	local code
	restart_with --max-connections 4 --max-connections-per-address 4
	probe hold 4 "$T/release" >"$T/hold.out" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 20 grep -q "held 4" "$T/hold.out" || die "could not open 4 connections"
	if curl -sk --tlsv1.3 -m 3 -o /dev/null "$URL/v1/health"; then
		die "a fifth connection was served past --max-connections 4"
	fi
	curl -sk --tlsv1.3 -m 30 -o /dev/null -w '%{http_code}' "$URL/v1/health" >"$T/fifth.code" &
	local fifth=$!
	touch "$T/release" # one of the four asks; then all four close
	rp_wait_for 20 grep -q "served 200" "$T/hold.out" ||
		die "an open connection was not served at the cap: $(cat "$T/hold.out")"
	wait "$fifth" || true
	[ "$(cat "$T/fifth.code")" = 200 ] || die "the waiting connection got $(cat "$T/fifth.code") once the others closed"
	grep -q "4 connections open, the cap" "$T/server.log" || die "the cap is not logged"
	rp_ok "attack: connections past --max-connections wait; open ones are served; the waiting one once they close"
}

# flood_then_health NAME PORT PROBE-ARGS -- HEALTH-CURL-ARGS...: one address
# (127.0.0.2) opens 40 connections, half of them silent, half idle after
# one request; five more (127.0.0.3-7) open 6 silent ones each: new
# connections, which hold no more than a quarter of the pool. A client on
# 127.0.0.1 must still be answered within 5 s (the cap is 12 connections, 3
# per address: without the caps the listener stops at 12 and the client
# waits for the idle deadline, 30 s).
flood_then_health() {
	local name=$1 port=$2 i code out; shift 2
	local pargs=() cargs=()
	while [ "$1" != -- ]; do pargs+=("$1"); shift; done
	shift
	cargs=("$@")
	rm -f "$T/$name.release"
	python3 "$PROBE" "${pargs[@]}" "$port" flood 40 127.0.0.2 "$T/$name.release" >"$T/$name.flood2" 2>&1 &
	PIDS+=("$!")
	for i in 3 4 5 6 7; do
		python3 "$PROBE" "${pargs[@]}" "$port" flood 6 "127.0.0.$i" "$T/$name.release" silent \
			>"$T/$name.flood$i" 2>&1 &
		PIDS+=("$!")
	done
	for i in 2 3 4 5 6 7; do
		rp_wait_for 30 grep -q "^held" "$T/$name.flood$i" || die "$name: flood from 127.0.0.$i did not finish"
	done
	out=$(cat "$T/$name.flood2")
	[[ $out =~ ^held\ ([0-9]+)\ of\ 40$ ]] && [ "${BASH_REMATCH[1]}" -le 3 ] ||
		die "$name: one address kept more than 3 connections: $out"
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${cargs[@]}") || true
	touch "$T/$name.release"
	[ "$code" = "${WANT_CODE:-200}" ] ||
		die "$name: a client on another address got '$code' within 5 s while 127.0.0.2-7 held connections"
	rp_ok "attack: $name: 40 connections from one address (it kept ${BASH_REMATCH[1]}) and 30 new ones from five more; another client still answered within 5 s"
}

test_one_address_cannot_fill_the_pool() {
	local wport
	restart_with --max-connections 12 --max-connections-per-address 3
	flood_then_health rampartd "$PORT" --tls -- -k --tlsv1.3 "$URL/v1/health"
	grep -q "closed [0-9]* connections* since the last such line: the last from 127.0.0.[2-7], which had 3 open (--max-connections-per-address)" \
		"$T/server.log" || die "rampartd did not log the per-address closes"
	grep -q "the oldest of [0-9]* new connections (a quarter of --max-connections)" "$T/server.log" ||
		die "rampartd did not log closing the oldest new connection"
	rp_health || die "rampartd stopped serving"
	# The witness: the same guard, over plain HTTP.
	"$WITNESS" init --data "$T/wflood" --name flood.test >/dev/null 2>&1 || die "witness init"
	wport=$(rp_free_port)
	"$WITNESS" serve --data "$T/wflood" --listen "127.0.0.1:$wport" --max-connections 12 \
		--max-connections-per-address 3 >>"$T/wflood.log" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$wport/" || die "witness did not come up"
	WANT_CODE=404 flood_then_health rampart-witness "$wport" -- "http://127.0.0.1:$wport/"
	grep -q "(--max-connections-per-address)" "$T/wflood.log" || die "the witness did not log the per-address closes"
}

test_first_request_deadline() {
	local out
	# Headers at 2 bytes a second, within --header-timeout (30 s), not within 2 s of connecting.
	restart_with --first-request-timeout 2 --header-timeout 30
	out=$(probe trickle 20 0.5 '' 'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
	[[ $out == "closed "*" 408" ]] || die "a first request at 2 bytes/s: $out (want closed with 408)"
	grep -q "408 .*first request not complete within 2 s of connecting" "$T/server.log" || die "408 not logged"
	# A connection that never finishes TLS: closed at the same deadline.
	out=$(python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
t0 = time.monotonic()
s.recv(1)
print(f"{time.monotonic() - t0:.1f}")' "$PORT")
	awk -v t="$out" 'BEGIN {exit !(t < 5)}' || die "a silent new connection stayed $out s (want about 2)"
	rp_ok "attack: a new connection that does not finish TLS and a first request is closed $out s after accepting (--first-request-timeout 2)"
}

test_one_poll_per_device() {
	local id
	# A host replays its device's signed poll: two held at once with one key.
	POLL_HOLD=60 restart_with
	python3 "$(dirname "$0")/signed-poll.py" "$PORT" "$T/a1/device.key" 60 "$T/poll1" 2>>"$T/poll.log" &
	PIDS+=("$!")
	sleep 1.5 # the first poll is held now
	[ ! -s "$T/poll1" ] || die "the first poll was answered before a second came: $(cat "$T/poll1")"
	python3 "$(dirname "$0")/signed-poll.py" "$PORT" "$T/a1/device.key" 60 "$T/poll2" 2>>"$T/poll.log" &
	PIDS+=("$!")
	rp_wait_for 5 grep -q "^then" "$T/poll1" || die "the first poll was not answered when the second came: $(cat "$T/poll1" 2>&1)"
	grep -q "^status 204" "$T/poll1" || die "the first poll got $(cat "$T/poll1"), want 204"
	grep -q "^then 200" "$T/poll1" || die "the first poll's connection did not carry on: $(cat "$T/poll1")"
	grep -q "GET /v1/agent/poll 204 .* by $DEV_a1: a newer poll from the same device took its place" \
		"$T/server.log" || die "the superseded poll is not logged"
	[ ! -s "$T/poll2" ] || die "the second poll was answered early: $(cat "$T/poll2")"
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$(id -un)" -- true)
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 30 grep -q "^status" "$T/poll2" || die "the newest poll got no delivery"
	grep -q "^status 200 .*$id" "$T/poll2" || die "the newest poll got $(head -c 200 "$T/poll2"), want the delivery of $id"
	rp_ok "attack: two polls held with one device key: the older answered 204 at once (its connection carries on), the delivery to the newest"
}

test_sigterm() {
	local rc=0
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || rc=$?
	[ "$rc" = 0 ] || die "rampartd exited $rc on SIGTERM"
	grep -q "stopped" "$T/server.log" || die "no clean stop in the log"
	rp_ok "SIGTERM: clean exit 0"
}

test_help_everywhere() {
	local c
	"$RAMPARTD" --help | grep -q serve || die "rampartd --help"
	for c in init serve pin bootstrap-token; do "$RAMPARTD" "$c" --help >/dev/null || die "rampartd $c --help"; done
	"$AGENT" --help | grep -q enroll || die "rampart-agent --help"
	for c in enroll run verify; do "$AGENT" "$c" --help >/dev/null || die "rampart-agent $c --help"; done
	"$CLI" --help | grep -q approve || die "rampart --help"
	for c in key org policy config enroll-token devices run approve commands results alerts token note; do
		"$CLI" "$c" --help >/dev/null || die "rampart $c --help"
	done
	for c in "key generate" "org init" "policy sign" "policy upload"; do
		"$CLI" $c --help >/dev/null || die "rampart $c --help"
	done
	rp_ok "--help on every command"
}

test_errors_are_json
test_malformed_bodies
test_oversized_bodies
test_unauthenticated
test_not_http_and_old_tls
test_still_serving
test_init_data_dir
test_help_everywhere
test_held_poll_hangup
test_limits_restart
test_preauth_body_refused_before_read
test_slowloris_headers
test_slow_body
test_idle_keepalive
test_held_poll_not_cut
test_witness_reply_cap
test_tile_index_overflow
test_connection_cap
test_one_address_cannot_fill_the_pool
test_first_request_deadline
test_one_poll_per_device
test_sigterm
rp_note "all server-http tests passed"
