#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rotation of the credentials the server checks (issue 9): every API
# token of an org revoked at once, optionally reissued; every unused
# enrolment token revoked; by the administrators' CLI (one signed request)
# and by the operator on the server's own database while rampartd runs.
# Each old credential is refused on the very next request, the new ones
# work, and an enrolled agent keeps running commands throughout: it
# authenticates with its device key, which rotation does not touch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
rp_server_init
rp_witnesses 2
rp_admins 2
rp_org acme 2 1
rp_enroll a1
rp_agent_start a1

URL="https://127.0.0.1:$PORT"
# code TOKEN [CURL ARGS] PATH: the HTTP status of a request with that bearer token.
code() {
	local tok=$1; shift
	curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$@"
}
read_code() { code "$1" "$URL/v1/orgs/acme/devices"; }
# A write route with a body it refuses (400) once the token may write; 403 when it may not.
write_code() {
	code "$1" -X POST -H 'Content-Type: application/json' --data '{}' "$URL/v1/orgs/acme/commands"
}
# jq-less JSON: py EXPR reads the JSON on stdin as j and prints EXPR.
py() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

# run_ok NAME: a command run on a1 end to end (signed, logged, witnessed, executed, result verified).
run_ok() {
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- sh -c "echo ran-$1") || true
	[ -n "$id" ] || die "$1: no command id"
	rp_wait_for 60 bash -c "[ \"\$(rp_status $id $DEV_a1)\" = done ]" \
		|| die "$1: the agent did not run command $id: $(rp_as 1 results "$id" 2>&1 | tail -n 3)"
	rp_as 1 results "$id" | grep -q "ran-$1" || die "$1: the verified output is not there"
}
export -f rp_status rp_as
export CLI PORT PIN T

test_help() {
	"$CLI" rotate --help | grep -q api-tokens || die "rampart rotate --help lists no api-tokens"
	"$CLI" rotate --help | grep -q enroll-tokens || die "rampart rotate --help lists no enroll-tokens"
	"$CLI" rotate api-tokens --help | grep -q -- --reissue || die "rampart rotate api-tokens --help"
	"$CLI" rotate enroll-tokens --help | grep -q -- --id || die "rampart rotate enroll-tokens --help"
	"$RAMPARTD" --help | grep -q rotate || die "rampartd --help lists no rotate"
	"$RAMPARTD" rotate --help | grep -q api-tokens || die "rampartd rotate --help lists no api-tokens"
	"$RAMPARTD" rotate --help | grep -q enroll-tokens || die "rampartd rotate --help lists no enroll-tokens"
	"$RAMPARTD" rotate --help | grep -q "tls " || die "rampartd rotate --help lists no tls"
	"$RAMPARTD" rotate api-tokens --help | grep -q -- --reissue || die "rampartd rotate api-tokens --help"
	"$RAMPARTD" rotate enroll-tokens --help | grep -q -- --id || die "rampartd rotate enroll-tokens --help"
	rp_ok "--help of rampart rotate and rampartd rotate lists every subcommand"
}

test_rotate_reissue() {
	local r1 r2 w1 t out ids n
	r1=$(rp_as 1 token create --name ci-read --scope read --expires 1h)
	r2=$(rp_as 1 token create --name dashboard --scope read --expires 7d)
	w1=$(rp_as 2 token create --name deploy --scope write --expires 2h)
	# One already expired (a row as an old server leaves it): revoked, never brought back.
	rp_sql "INSERT INTO api_tokens VALUES ('00112233445566778899aabbccddeeff', 'acme', 'stale',
		'read', 'sha256:$(printf %064d 0)', strftime('%s','now') - 10, strftime('%s','now') - 3600, 'test')"
	for t in "$r1" "$r2"; do [ "$(read_code "$t")" = 200 ] || die "a new read token does not read"; done
	[ "$(write_code "$r1")" = 403 ] || die "a read token may write"
	[ "$(write_code "$w1")" = 400 ] || die "a write token may not write ($(write_code "$w1"))"

	out=$(rp_as 1 --json rotate api-tokens --reissue --yes) || die "rotate api-tokens --reissue"
	# Refused on the very next request, not at some later expiry.
	for t in "$r1" "$r2" "$w1"; do
		[ "$(read_code "$t")" = 401 ] || die "an old token still reads after the rotation"
		[ "$(write_code "$t")" = 401 ] || die "an old token still writes after the rotation"
	done
	n=$(py 'len(j["revoked"])' <<<"$out")
	[ "$n" = 4 ] || die "rotation revoked $n tokens, want 4: $out"
	ids=$(py '" ".join(sorted(r["id"] for r in j["revoked"]))' <<<"$out")
	for t in "$r1" "$r2" "$w1"; do
		t=${t#rpt_}
		[[ " $ids " == *" ${t%%_*} "* ]] || die "revoked ids $ids lack ${t%%_*}"
	done
	[[ " $ids " == *" 00112233445566778899aabbccddeeff "* ]] || die "the expired token was not revoked"
	[ "$(py 'len(j["reissued"])' <<<"$out")" = 3 ] || die "want 3 reissued (not the expired one): $out"
	[ "$(py '" ".join(sorted(r["name"] + ":" + r["scope"] for r in j["reissued"]))' <<<"$out")" \
		= "ci-read:read dashboard:read deploy:write" ] || die "names or scopes changed: $out"
	# Same lifetime, counted from now: deploy had 2h, dashboard 7d.
	py '[r for r in j["reissued"] if r["name"] == "deploy"][0]["expires"]' <<<"$out" >"$T/exp"
	[ $(( $(cat "$T/exp") - $(date +%s) )) -gt 7000 ] && [ $(( $(cat "$T/exp") - $(date +%s) )) -le 7200 ] \
		|| die "deploy's replacement does not live 2h"
	py '[r for r in j["reissued"] if r["name"] == "dashboard"][0]["expires"]' <<<"$out" >"$T/exp"
	[ $(( $(cat "$T/exp") - $(date +%s) )) -gt 604000 ] || die "dashboard's replacement does not live 7d"
	NEW_R=$(py '[r for r in j["reissued"] if r["name"] == "ci-read"][0]["token"]' <<<"$out")
	NEW_W=$(py '[r for r in j["reissued"] if r["name"] == "deploy"][0]["token"]' <<<"$out")
	[ "$(read_code "$NEW_R")" = 200 ] || die "a reissued read token does not read"
	[ "$(write_code "$NEW_R")" = 403 ] || die "a reissued read token may write"
	[ "$(write_code "$NEW_W")" = 400 ] || die "a reissued write token may not write"
	[ "$(rp_as 1 --json token list | py 'len(j["tokens"])')" = 3 ] || die "token list: want the 3 replacements"
	rp_ok "rotate api-tokens --reissue: every old token 401 at once, expired ones revoked too, replacements keep name, scope and lifetime"
}

test_rotate_prints_what_it_revoked() {
	local out
	out=$(rp_as 1 rotate api-tokens --yes) || die "rotate api-tokens"
	grep -q "^3 API tokens of org acme revoked" <<<"$out" || die "no count: $out"
	for n in ci-read dashboard deploy; do
		grep -E "^[0-9a-f]{32} +$n +(read|write) " <<<"$out" >/dev/null || die "$n not listed: $out"
	done
	grep -q "rpt_" <<<"$out" && die "rotation without --reissue printed a token"
	[ "$(read_code "$NEW_R")" = 401 ] || die "a reissued token survived a second rotation"
	[ "$(write_code "$NEW_W")" = 401 ] || die "a reissued write token survived a second rotation"
	[ "$(rp_as 1 --json token list | py 'len(j["tokens"])')" = 0 ] || die "tokens left after rotation"
	rp_as 1 rotate api-tokens --reissue --yes | grep -q "^0 API tokens" || die "rotating none"
	rp_ok "rotate api-tokens prints each revoked token (id, name, scope) and reissues nothing unasked"
}

test_stolen_api_token_after_rotation() {
	local tok stolen
	tok=$(rp_as 1 token create --name backup --scope write --expires 1h)
	stolen=$tok # what an attacker copied out of a CI job before the breach was found
	[ "$(read_code "$stolen")" = 200 ] || die "the token did not work before the rotation"
	rp_as 2 rotate api-tokens --reissue --yes >"$T/stolen.out" || die "rotate"
	[ "$(read_code "$stolen")" = 401 ] || die "ATTACK: a token copied before the rotation still reads"
	[ "$(write_code "$stolen")" = 401 ] || die "ATTACK: a token copied before the rotation still writes"
	[ "$(code "$stolen" "$URL/v1/orgs/acme/commands")" = 401 ] || die "ATTACK: the stolen token lists commands"
	local new
	new=$(awk '$1 ~ /^rpt_/ {print $1}' "$T/stolen.out")
	[ -n "$new" ] && [ "$new" != "$stolen" ] || die "no replacement printed: $(cat "$T/stolen.out")"
	[ "$(write_code "$new")" = 400 ] || die "the replacement does not work"
	rp_ok "test_stolen_api_token_after_rotation: a token copied before the rotation is refused after it"
}

test_agent_keeps_working() {
	run_ok after-api-rotation
	rp_ok "an enrolled agent runs a signed command end to end after the API tokens were rotated"
}

# enroll_token: a new enrolment token on stdout, its id in $T/etid.
enroll_token() {
	rp_as 1 enroll-token --expires 10m 2>"$T/et.err" || die "enroll-token"
	sed -n 's/^rampart: enrolment token \([0-9a-f]\{32\}\) .*/\1/p' "$T/et.err" >"$T/etid"
	[ -s "$T/etid" ] || die "enroll-token printed no id: $(cat "$T/et.err")"
}
# enrols NAME TOKEN: true when the agent enrols with it.
enrols() {
	"$AGENT" enroll --token "$2" --state-dir "$T/$1" >"$T/$1.enroll" 2>&1
}

test_rotate_enroll_tokens() {
	local a b b_id c out
	a=$(enroll_token)
	b=$(enroll_token)
	b_id=$(cat "$T/etid")
	out=$(rp_as 1 rotate enroll-tokens --yes) || die "rotate enroll-tokens"
	grep -q "^2 unused enrolment tokens of org acme revoked" <<<"$out" || die "want 2 revoked: $out"
	grep -q "^$b_id " <<<"$out" || die "$b_id not listed: $out"
	# a1's token, used, stays: the record of who enrolled it.
	[ "$(rp_sql "SELECT count(*) FROM enroll_tokens WHERE device_id = '$DEV_a1'")" = 1 ] \
		|| die "the used token of a1 was deleted"
	! enrols x1 "$a" || die "an outstanding enrolment token still enrols after rotation"
	grep -q "403" "$T/x1.enroll" || grep -qi "unknown, used or expired" "$T/x1.enroll" \
		|| die "refusal does not say why: $(cat "$T/x1.enroll")"
	! enrols x2 "$b" || die "the second outstanding token still enrols after rotation"
	c=$(enroll_token)
	enrols a2 "$c" || die "a token made after the rotation does not enrol: $(cat "$T/a2.enroll")"
	rp_ok "rotate enroll-tokens: outstanding tokens no longer enrol, a new one does, used ones stay"
}

test_rotate_one_enroll_token() {
	local d d_id e out
	d=$(enroll_token)
	d_id=$(cat "$T/etid")
	e=$(enroll_token)
	out=$(rp_as 2 --json rotate enroll-tokens --id "$d_id" --yes) || die "rotate --id"
	[ "$(py '" ".join(r["id"] for r in j["revoked"])' <<<"$out")" = "$d_id" ] || die "want only $d_id: $out"
	! enrols x3 "$d" || die "the token revoked by id still enrols"
	enrols a3 "$e" || die "revoking one id revoked another: $(cat "$T/a3.enroll")"
	! rp_as 1 rotate enroll-tokens --id "$d_id" --yes 2>"$T/again.err" || die "revoking a gone id succeeded"
	grep -q "no enrolment token" "$T/again.err" || die "unclear error: $(cat "$T/again.err")"
	rp_ok "rotate enroll-tokens --id revokes that token only"
}

test_rampartd_offline_while_serving() {
	local t1 t2 out new tok stop i
	t1=$(rp_as 1 token create --name nightly --scope read --expires 1h)
	t2=$(rp_as 1 token create --name pusher --scope write --expires 1h)
	tok=$(enroll_token)
	# Writers through the API while the operator rotates: SQLite's lock orders them.
	stop=$T/stop.writers
	( while [ ! -e "$stop" ]; do rp_as 1 token create --name busy --scope read --expires 1h >/dev/null 2>&1 || true; done ) &
	PIDS+=("$!")
	local writer=$!
	sleep 1
	out=$("$RAMPARTD" rotate api-tokens --data "$DATA" --org acme --reissue 2>"$T/offline.err") \
		|| die "rampartd rotate api-tokens: $(cat "$T/offline.err")"
	touch "$stop"
	wait "$writer" || true
	for t in "$t1" "$t2"; do
		[ "$(read_code "$t")" = 401 ] || die "a token still reads after rampartd rotate"
	done
	grep -E "^revoked [0-9a-f]{32} read .* nightly$" <<<"$out" >/dev/null || die "nightly not listed: $out"
	grep -E "^revoked [0-9a-f]{32} write .* pusher$" <<<"$out" >/dev/null || die "pusher not listed: $out"
	new=$(awk '$1 == "reissued" && $NF == "pusher" {print $5}' <<<"$out")
	[ -n "$new" ] || die "pusher was not reissued: $out"
	[ "$(write_code "$new")" = 400 ] || die "the offline replacement does not work through the running server"
	[ "$(rp_sql 'PRAGMA integrity_check')" = ok ] || die "database damaged by the second writer"
	out=$("$RAMPARTD" rotate enroll-tokens --data "$DATA" --org acme 2>>"$T/offline.err") \
		|| die "rampartd rotate enroll-tokens"
	grep -q "^revoked $(cat "$T/etid") " <<<"$out" || die "the enrolment token is not listed: $out"
	! enrols x4 "$tok" || die "an enrolment token still enrols after rampartd rotate"
	! "$RAMPARTD" rotate api-tokens --data "$DATA" --org nosuch 2>"$T/nosuch.err" || die "an unknown org rotated"
	grep -q "no such org" "$T/nosuch.err" || die "unclear error: $(cat "$T/nosuch.err")"
	run_ok after-offline-rotation
	rp_ok "rampartd rotate api-tokens/enroll-tokens against a running server, beside API writers; agents keep working"
}

# signed ADMIN METHOD PATH [BODY]: "STATUS BODY" of a request signed by adminN's key.
signed() {
	local n=$1; shift
	python3 "$(dirname "$0")/signed-request.py" "$PORT" "$T/admin/admin$n.key" "$@"
}

test_write_token_cannot_rotate() {
	local w
	w=$(rp_as 1 token create --name stolen-writer --scope write --expires 1h)
	[ "$(code "$w" -X POST --data '{}' "$URL/v1/orgs/acme/tokens/rotate")" = 401 ] \
		|| die "ATTACK: an API token revoked the org's tokens (denial of service to every script)"
	[ "$(code "$w" -X POST --data '{}' "$URL/v1/orgs/acme/enroll-tokens/revoke")" = 401 ] \
		|| die "ATTACK: an API token revoked the org's enrolment tokens"
	[ "$(read_code "$w")" = 200 ] || die "the refused rotation revoked something"
	rp_ok "test_write_token_cannot_rotate: rotation needs a request signed by a policy key, not an API token"
}

test_reissue_map_must_name_every_token() {
	local a b a_id out
	a=$(rp_as 1 token create --name listed --scope read --expires 1h)
	b=$(rp_as 1 token create --name created-meanwhile --scope read --expires 1h)
	a_id=${a#rpt_}
	a_id=${a_id%%_*}
	# A map made before b existed: the server refuses it whole rather than drop b unreplaced.
	out=$(signed 1 POST /v1/orgs/acme/tokens/rotate "{\"reissue\": {\"$a_id\": \"sha256:$(printf %064d 1)\"}}")
	[ "${out%% *}" = 409 ] || die "a reissue map missing a token: want 409, got $out"
	grep -q "nothing was revoked" <<<"$out" || die "the 409 does not say nothing changed: $out"
	[ "$(read_code "$a")" = 200 ] && [ "$(read_code "$b")" = 200 ] || die "a refused rotation revoked tokens"
	out=$(signed 1 POST /v1/orgs/acme/tokens/rotate '{"reissue": {"nothex": "sha256:00"}}')
	[ "${out%% *}" = 400 ] || die "a malformed reissue map: want 400, got $out"
	[ "$(read_code "$a")" = 200 ] || die "a malformed rotation revoked tokens"
	rp_as 1 rotate api-tokens --yes >/dev/null || die "cleanup rotation"
	rp_ok "a reissue map that leaves out a token (or is malformed) is refused whole: 409/400, nothing revoked"
}

test_help
test_rotate_reissue
test_rotate_prints_what_it_revoked
test_stolen_api_token_after_rotation
test_agent_keeps_working
test_rotate_enroll_tokens
test_rotate_one_enroll_token
test_write_token_cannot_rotate
test_reissue_map_must_name_every_token
test_rampartd_offline_while_serving
