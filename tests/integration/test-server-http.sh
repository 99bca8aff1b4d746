#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Malformed, oversized and unauthenticated requests get a 4xx with a JSON
# error, and the server keeps serving. Also: --help on every command.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
rp_server_init
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
}

test_oversized_bodies() {
	head -c 20000 /dev/zero | tr '\0' 'a' >"$T/20k"
	expect 413 too_large -X POST --data-binary @"$T/20k" "$URL/v1/enroll"
	head -c 3000000 /dev/zero | tr '\0' 'a' >"$T/3m"
	expect 413 - -X POST --data-binary @"$T/3m" "$URL/v1/enroll"
	local big
	big=$(head -c 20000 /dev/zero | tr '\0' 'x')
	expect 400 - -H "X-Big: $big" "$URL/v1/health"
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
test_sigterm
rp_note "all server-http tests passed"
