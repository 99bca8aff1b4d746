#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# rampart-witness over real sockets (C2SP tlog-witness add-checkpoint): a
# log simulated by tests/witness/logsim asks for cosignatures; every status
# code of the spec is reached, every refusal leaves the stored state as it
# was, forks (and only forks) are kept as evidence, and a kill -9 in the middle of a stream
# of appends leaves the witness on a checkpoint it really cosigned. Its
# /metrics (--metrics-listen) counts each answer by result, and
# --log-level decides whether a cosignature gets a log line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

W=$BIN/witness/rampart-witness
L=$BIN/tests/witness/logsim
WDATA=$T/witness
ORIGIN=log.test/rampart/acme
[ -x "$W" ] && [ -x "$L" ] || die "rampart-witness or logsim not built in $BIN"

# WARGS: more `serve' options (limits and timeouts, the log level).
w_start() {
	"$W" serve --data "$WDATA" --listen "127.0.0.1:$WPORT" --metrics-listen "127.0.0.1:$MPORT" \
		${WARGS:-} >>"$T/witness.log" 2>&1 &
	WPID=$!
	PIDS+=("$WPID")
	# Any HTTP answer (404 here) means it is up.
	rp_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$WPORT/" ||
		die "rampart-witness did not come up on port $WPORT"
}

# post FILE [curl args...]: sets CODE, CTYPE and BODY from the answer.
post() {
	local f=$1 out
	shift
	out=$(curl -s -o "$T/resp" -w '%{http_code} %{content_type}' "$@" \
		--data-binary @"$f" "http://127.0.0.1:$WPORT/add-checkpoint") || true
	CODE=${out%% *}
	CTYPE=${out#* }
	BODY=$(cat "$T/resp" 2>/dev/null || true)
}

# req NAME logsim-request-args...: writes $T/NAME.req.
req() {
	local name=$1
	shift
	"$L" request --key "${KEY:-$T/log.key}" "$@" >"$T/$name.req" || die "logsim request $*"
}

# The whole stored state: history of cosigned checkpoints, latest sizes, evidence count.
snapshot() {
	"$W" list --data "$WDATA"
	"$W" logs --data "$WDATA"
}
stored_size() { "$W" logs --data "$WDATA" | awk -v o="$ORIGIN" '$1 == o {print $3}'; }
evidence_count() { "$W" evidence --data "$WDATA" | grep -c '^evidence ' || true; }

# expect_refused NAME CODE WHY: posts $T/NAME.req, wants CODE and an unchanged state.
expect_refused() {
	local name=$1 want=$2 why=$3 before after
	before=$(snapshot)
	post "$T/$name.req"
	[ "$CODE" = "$want" ] || die "$why: status $CODE ($BODY), want $want"
	after=$(snapshot)
	[ "$before" = "$after" ] || die "$why: the stored state changed on a $CODE:
before: $before
after: $after"
}

# expect_cosigned NAME SIZE: posts $T/NAME.req, wants 200, a cosignature that
# verifies, and SIZE as the stored state with logsim's root for it.
expect_cosigned() {
	local name=$1 size=$2 root
	post "$T/$name.req"
	[ "$CODE" = 200 ] || die "$name: status $CODE ($BODY), want 200"
	cp "$T/resp" "$T/$name.cosig"
	"$L" verify --witness "$WVKEY" --request "$T/$name.req" --cosig "$T/$name.cosig" \
		>"$T/$name.verify" || die "$name: the cosignature does not verify"
	[ "$(stored_size)" = "$size" ] || die "$name: stored size $(stored_size), want $size"
	root=$("$L" root --size "$size")
	"$W" list --data "$WDATA" --origin "$ORIGIN" | tail -n 1 | grep -F " $size $root " >/dev/null ||
		die "$name: history does not end with size $size root $root"
}

test_init() {
	"$W" --help | grep add-log >/dev/null || die "--help does not list the commands"
	for c in init vkey add-log remove-log logs serve list evidence; do
		"$W" "$c" --help | grep "^Usage: rampart-witness $c" >/dev/null || die "$c --help"
	done
	"$W" init --data "$T/bad" --name 'has space' 2>"$T/err" && die "init took a bad name"
	grep -q "not a valid key name" "$T/err" || die "bad name error does not say why"
	WVKEY=$("$W" init --data "$WDATA" --name witness.test/w1 2>>"$T/cli.log") ||
		die "rampart-witness init"
	[ "$(stat -c %a "$WDATA")" = 700 ] || die "data dir mode $(stat -c %a "$WDATA")"
	[ "$(stat -c %a "$WDATA/witness.key")" = 600 ] || die "key mode not 600"
	grep -q '^PRIVATE+KEY+witness.test/w1+' "$WDATA/witness.key" || die "key file text"
	[ "$("$W" vkey --data "$WDATA")" = "$WVKEY" ] || die "vkey differs from init's"
	python3 - "$WVKEY" <<'PY' || die "the printed key is not a type-0x04 cosignature vkey"
import base64, sys
name, keyid, key = sys.argv[1].split("+", 2)
assert name == "witness.test/w1" and len(keyid) == 8
raw = base64.b64decode(key)
assert raw[0] == 4 and len(raw) == 33, raw
PY
	local key
	key=$(sha256sum "$WDATA/witness.key")
	"$W" init --data "$WDATA" --name witness.test/w1 2>"$T/err" && die "init overwrote a witness"
	grep -q "already holds a witness" "$T/err" || die "refusal does not say why"
	[ "$(sha256sum "$WDATA/witness.key")" = "$key" ] || die "the refused init changed the key"
	rp_ok "init: 0700 dir, 0600 key, type-0x04 vkey printed, never overwrites"
}

test_add_log() {
	LVKEY=$("$L" keygen "$ORIGIN" "$T/log.key")
	"$W" add-log --data "$WDATA" --vkey "$WVKEY" 2>"$T/err" && die "took a cosignature key as a log key"
	grep -q "type 0x04" "$T/err" || die "wrong-type error does not say why"
	"$W" add-log --data "$WDATA" --vkey 'not+a+key' 2>"$T/err" && die "took a broken key"
	"$W" add-log --data "$WDATA" --vkey "$LVKEY" 2>>"$T/cli.log" || die "add-log"
	"$W" add-log --data "$WDATA" --vkey "$LVKEY" 2>"$T/err" && die "added the same key twice"
	[ "$("$W" logs --data "$WDATA")" = "$ORIGIN $LVKEY 0" ] || die "logs: $("$W" logs --data "$WDATA")"
	rp_ok "add-log: origin is the key name, only Ed25519 log keys, once"
}

test_first_checkpoint() {
	req first --old 0 --size 5
	expect_cosigned first 5
	grep -q '^ok ' "$T/first.verify" || die "verify output"
	local t
	t=$(awk '{print $2}' "$T/first.verify")
	[ $((t - $(date +%s))) -le 5 ] && [ $(($(date +%s) - t)) -le 60 ] || die "cosignature time $t"
	# The cosignature is by this witness only: another witness's key rejects it.
	local other
	other=$("$W" init --data "$T/other-witness" --name witness.test/w1 2>/dev/null)
	"$L" verify --witness "$other" --request "$T/first.req" --cosig "$T/first.cosig" \
		2>/dev/null && die "cosignature verified under another witness's key"
	rp_ok "first checkpoint (old 0) cosigned; the cosignature verifies, only for this key"
}

test_growth() {
	req grow --old 5 --size 12
	expect_cosigned grow 12
	# Asked again for the same checkpoint: cosigned again, still 12.
	req again --old 12 --size 12
	expect_cosigned again 12
	rp_ok "growth with a valid consistency proof cosigned; the same checkpoint again too"
}

test_stale_old_size() {
	req stale --old 5 --size 15
	expect_refused stale 409 "stale old size"
	[ "$CTYPE" = text/x.tlog.size ] || die "409 Content-Type is $CTYPE"
	[ "$(od -c "$T/resp" | head -1)" = "$(printf '12\n' | od -c | head -1)" ] ||
		die "409 body is '$BODY', want '12\\n'"
	rp_ok "stale old size: 409 text/x.tlog.size \"12\\n\"; state unchanged"
}

evidence_lines() { grep -c "EVIDENCE: log $ORIGIN" "$T/witness.log" || true; }

test_fork_same_size() {
	local n
	n=$(evidence_count)
	req fork --old 12 --size 12 --fork 3
	expect_refused fork 409 "same size, different root"
	[ "$CTYPE" != text/x.tlog.size ] || die "a fork answered as a stale size"
	[ "$(evidence_count)" = $((n + 1)) ] || die "the fork was not kept as evidence"
	"$W" evidence --data "$WDATA" | grep -A3 'status 409 old 12 size 12' | grep -x $'\told 12' >/dev/null ||
		die "evidence does not carry the request body"
	[ "$(evidence_lines)" = 1 ] || die "the fork was not logged once: $(evidence_lines) EVIDENCE lines"
	# The same fork again is counted, not stored twice nor announced again.
	expect_refused fork 409 "same fork, again"
	[ "$(evidence_count)" = $((n + 1)) ] || die "a replayed fork was stored twice"
	[ "$(evidence_lines)" = 1 ] || die "a replayed fork was announced again"
	"$W" evidence --data "$WDATA" | grep 'status 409 old 12 size 12 .* seen 2: ' >/dev/null ||
		die "the replayed fork was not counted"
	rp_ok "attack: log rewrites entry 3 at the same size: 409, kept as evidence, logged once"
}

test_fork_with_proof() {
	local n l
	n=$(evidence_count)
	l=$(evidence_lines)
	# A forked log (entry 2 rewritten) proves its own history from 12 to 20:
	# refused, but a proof is the client's word, so not evidence.
	req forkgrow --old 12 --size 20 --fork 2
	expect_refused forkgrow 422 "forked log's consistency proof"
	[ "$(evidence_count)" = "$n" ] || die "a failed proof was kept as evidence"
	[ "$(evidence_lines)" = "$l" ] || die "a failed proof raised EVIDENCE"
	rp_ok "forked log with its own valid-looking proof: 422, no cosignature, not evidence"
}

test_bad_proof() {
	req badproof --old 12 --size 20 --bad-proof
	expect_refused badproof 422 "corrupted proof"
	# The cosigned checkpoint itself, with a proof where none belongs.
	req badsame --old 12 --size 12 --bad-proof
	expect_refused badsame 422 "equal sizes with a non-empty proof"
	rp_ok "corrupted or spurious consistency proof: 422; state unchanged"
}

# Anyone can fetch the log's public checkpoint: posted again with the stored
# size as old and one junk proof hash, over and over, it must not make an
# honest log look forked, fill the evidence table or flood the log with alarms.
test_junk_proof_is_not_evidence() {
	local n l lines i
	n=$(evidence_count)
	l=$(evidence_lines)
	lines=$(wc -l <"$T/witness.log")
	req junk --old 12 --size 12 --bad-proof
	for i in $(seq 20); do
		expect_refused junk 422 "public checkpoint with a junk proof ($i)"
	done
	[ "$(evidence_count)" = "$n" ] || die "junk proofs stored evidence against an honest log"
	[ "$(evidence_lines)" = "$l" ] || die "junk proofs raised EVIDENCE against an honest log"
	# One ordinary request line per request, nothing more.
	[ $(($(wc -l <"$T/witness.log") - lines)) = 20 ] ||
		die "20 junk requests wrote $(($(wc -l <"$T/witness.log") - lines)) log lines, want 20"
	"$W" evidence --data "$WDATA" | grep 'status 422' >/dev/null && die "a 422 is listed as evidence"
	rp_ok "attack: public checkpoint replayed with a junk proof: plain 422, no evidence, no alarm"
}

test_unknown_origin() {
	"$L" keygen other.test/log "$T/other.key" >/dev/null
	KEY=$T/other.key req unknown --old 0 --size 3
	expect_refused unknown 404 "unknown origin"
	rp_ok "unknown origin: 404"
}

test_untrusted_key() {
	# Same origin, not the trusted key: an attacker's signature.
	"$L" keygen "$ORIGIN" "$T/evil.key" >/dev/null
	KEY=$T/evil.key req evil --old 12 --size 13
	expect_refused evil 403 "checkpoint signed by an untrusted key"
	# The trusted key's id with a broken signature.
	req forged --old 12 --size 13
	python3 - "$T/forged.req" <<'PY'
import base64, sys
p = sys.argv[1]
lines = open(p, encoding="utf-8").read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("\u2014 "):
        name, sig = l[2:].split(" ")
        raw = bytearray(base64.b64decode(sig))
        raw[10] ^= 1                      # inside the signature, not the key id
        lines[i] = "\u2014 " + name + " " + base64.b64encode(bytes(raw)).decode()
open(p, "w", encoding="utf-8").write("\n".join(lines))
PY
	expect_refused forged 403 "trusted key id with a broken signature"
	rp_ok "attack: checkpoint signed by another key of the same origin: 403; forged signature: 403"
}

test_malformed() {
	printf 'garbage\n' >"$T/garbage.req"
	expect_refused garbage 400 "garbage body"
	grep -q "malformed" <<<"$BODY" || die "400 body does not say why: $BODY"
	sed '1s/.*/old 012/' "$T/grow.req" >"$T/leadzero.req"
	expect_refused leadzero 400 "old size with a leading zero"
	: >"$T/empty.req"
	expect_refused empty 400 "empty body"
	req oldbig --old 20 --size 13
	expect_refused oldbig 400 "old size > checkpoint size"
	grep -q "larger than the checkpoint size" <<<"$BODY" || die "old > size body: $BODY"
	rp_ok "malformed bodies and old > size: 400; state unchanged"
}

test_http() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/add-checkpoint")
	[ "$code" = 405 ] || die "GET add-checkpoint: $code, want 405"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "http://127.0.0.1:$WPORT/other")
	[ "$code" = 404 ] || die "POST /other: $code, want 404"
	rp_ok "other methods 405, other paths 404"
}

test_oversized() {
	local before
	before=$(snapshot)
	head -c 40000 /dev/zero | tr '\0' 'A' >"$T/big.req"
	post "$T/big.req"
	[ "$CODE" = 413 ] || [ "$CODE" = 400 ] || die "oversized body: $CODE, want 413 or 400"
	post "$T/big.req" -H 'Transfer-Encoding: chunked'
	[ "$CODE" = 413 ] || [ "$CODE" = 400 ] || [ "$CODE" = 000 ] ||
		die "oversized chunked body: $CODE"
	[ "$(snapshot)" = "$before" ] || die "an oversized body changed the state"
	req aftbig --old 12 --size 14
	expect_cosigned aftbig 14
	rp_ok "oversized bodies refused before buffering; the witness keeps serving"
}

PROBE=$(dirname "$0")/http-probe.py
w_stop() {
	kill -TERM "$WPID"
	wait "$WPID" 2>/dev/null || true
}

test_connection_guard() {
	local got out before
	before=$(snapshot)
	w_stop
	WARGS="--header-timeout 2"
	w_start
	# Headers of a 2 MiB add-checkpoint, then silence: answered from the headers.
	got=$(python3 "$PROBE" "$WPORT" refuse 20 POST /add-checkpoint 2097152 10)
	[ "$(tr ' ' '\n' <<<"$got" | sort -u)" = 413 ] ||
		die "2 MiB add-checkpoints that sent only their headers got: $got (want 20 x 413)"
	grep -q "POST /add-checkpoint 413 .*exceeds the $((16384 + 64 * 64 + 32)) bytes" "$T/witness.log" ||
		die "the 413 is not logged"
	rp_ok "attack: 20 parallel 2 MiB add-checkpoints that send only their headers: 413 from the headers"
	# Slowloris: 2 bytes a second.
	out=$(python3 "$PROBE" "$WPORT" trickle 20 0.5 '' 'POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
	[[ $out == "closed "*" 408" ]] || die "slowloris headers: $out (want closed with 408)"
	rp_ok "attack: slowloris headers (2 bytes/s) closed at the headers deadline: $out"
	# Three connections held open: a fourth waits, the three are served.
	w_stop
	WARGS="--max-connections 3 --max-connections-per-address 3"
	w_start
	python3 "$PROBE" "$WPORT" hold 3 "$T/wrelease" >"$T/whold.out" 2>&1 &
	PIDS+=("$!")
	rp_wait_for 20 grep -q "held 3" "$T/whold.out" || die "could not open 3 connections"
	if curl -s -m 3 -o /dev/null "http://127.0.0.1:$WPORT/"; then
		die "a fourth connection was served past --max-connections 3"
	fi
	touch "$T/wrelease"
	rp_wait_for 20 grep -q "served 404" "$T/whold.out" || die "an open connection was not served"
	rp_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$WPORT/" || die "not served after the cap freed"
	[ "$(snapshot)" = "$before" ] || die "the guard's refusals changed the state"
	w_stop
	WARGS=""
	w_start
	rp_ok "attack: connections past --max-connections wait, open ones are served; no refusal changed the state"
}

test_remove_readd_keeps_state() {
	"$W" remove-log --data "$WDATA" --origin "$ORIGIN" 2>>"$T/cli.log" || die "remove-log"
	[ -z "$("$W" logs --data "$WDATA")" ] || die "logs after remove-log"
	req removed --old 14 --size 15
	expect_refused removed 404 "removed log"
	"$W" add-log --data "$WDATA" --vkey "$LVKEY" 2>>"$T/cli.log" || die "add-log again"
	[ "$(stored_size)" = 14 ] || die "re-adding the log reset it to $(stored_size)"
	req zero --old 0 --size 15
	expect_refused zero 409 "old 0 after re-adding"
	[ "$BODY" = 14 ] || die "409 after re-adding says $BODY"
	rp_ok "attack: remove and re-add a log does not reset it to size 0"
}

test_restart() {
	kill -TERM "$WPID"
	local rc=0
	wait "$WPID" || rc=$?
	[ $rc = 0 ] || die "SIGTERM exit status $rc"
	grep -q "rampart-witness: stopped" "$T/witness.log" || die "no clean stop logged"
	w_start
	[ "$(stored_size)" = 14 ] || die "size after restart $(stored_size)"
	req after --old 14 --size 16
	expect_cosigned after 16
	rp_ok "SIGTERM stops cleanly; state survives the restart"
}

test_kill9_during_appends() {
	local start=16 last=$((16 + 300))
	# The log appends one entry at a time and records each answer.
	(
		old=$start
		for size in $(seq $((start + 1)) $last); do
			"$L" request --key "$T/log.key" --old "$old" --size "$size" >"$T/stream.req"
			code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/stream.req" \
				"http://127.0.0.1:$WPORT/add-checkpoint") || true
			echo "$size $code" >>"$T/stream.out"
			[ "$code" = 200 ] || break
			old=$size
		done
	) &
	local loop=$!
	sleep 1.5
	kill -KILL "$WPID"
	{ wait "$loop"; } 2>/dev/null || true
	{ wait "$WPID"; } 2>/dev/null || true
	local acked tried s root
	acked=$(awk '$2 == 200 {s = $1} END {print s + 0}' "$T/stream.out")
	tried=$(tail -n 1 "$T/stream.out" | awk '{print $1}')
	[ "$acked" -gt "$start" ] || die "no append was cosigned before the kill"
	[ "$acked" -lt "$last" ] || die "the stream finished before the kill (too fast to test)"
	w_start
	s=$(stored_size)
	# Every acknowledged cosignature is durable; the one in flight may be too.
	[ "$s" -ge "$acked" ] && [ "$s" -le "$tried" ] ||
		die "after kill -9 the witness is at $s; acknowledged $acked, tried $tried"
	root=$("$L" root --size "$s")
	"$W" list --data "$WDATA" --origin "$ORIGIN" | tail -n 1 | grep -F " $s $root " >/dev/null ||
		die "state $s is not a checkpoint the witness cosigned"
	req resume --old "$s" --size $((s + 3))
	expect_cosigned resume $((s + 3))
	rp_ok "kill -9 during $((acked - start)) appends: state $s is a cosigned checkpoint (acknowledged $acked), and the witness continues"
}

test_list_and_evidence() {
	"$W" list --data "$WDATA" --origin "$ORIGIN" --notes | grep $'^\t— log.test/rampart/acme ' >/dev/null ||
		die "list --notes does not show the signed notes"
	"$W" list --data "$WDATA" | grep "^$ORIGIN 12 .* cosigned 2 times" >/dev/null ||
		die "a checkpoint cosigned twice is not counted"
	# The forks only (test_fork_same_size's and test_metrics'): failed proofs are not evidence.
	[ "$(evidence_count)" = 2 ] || die "evidence rows: $(evidence_count), want 2"
	grep -q "POST /add-checkpoint 422 .* origin $ORIGIN old 12 size 20 stored 12" "$T/witness.log" ||
		die "request log line lacks origin and sizes"
	rp_ok "list shows the history with notes; evidence lists the refused forks"
}

# ---- /metrics and the log level ----

scrape() { curl -sf "http://127.0.0.1:$MPORT/metrics"; }
# metric FILE 'NAME{LABELS}': its value in a saved scrape (empty when absent)
metric() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
# moved NAME{LABELS} WANT: the value in $T/m1 minus that in $T/m0 is WANT.
moved() {
	local a b
	a=$(metric "$T/m0" "$1")
	b=$(metric "$T/m1" "$1")
	[ -n "$a" ] && [ -n "$b" ] || die "/metrics lacks $1: $(grep -F "${1%%\{*}" "$T/m1")"
	[ $((b - a)) = "$2" ] || die "$1 moved by $((b - a)) ($a to $b), want $2"
}

# One request of every result, each counted once, and nothing else counted.
test_metrics() {
	local r t now
	scrape >"$T/m0" || die "no /metrics on 127.0.0.1:$MPORT"
	grep -qx '# TYPE rampart_witness_cosign_requests_total counter' "$T/m0" || die "no TYPE lines: $(head "$T/m0")"
	grep -qx 'rampart_witness_build_info{version="[0-9][0-9.]*"} 1' "$T/m0" || die "build_info: $(grep build_info "$T/m0")"
	t=$(metric "$T/m0" rampart_witness_start_time_seconds)
	now=$(date +%s)
	[ -n "$t" ] && [ "$t" -le "$now" ] && [ "$t" -ge $((now - 600)) ] || die "start time $t (now $now)"
	[ -n "$(metric "$T/m0" rampart_witness_connections)" ] || die "no connections gauge"
	req m_ok --old 14 --size 14
	expect_cosigned m_ok 14
	req m_stale --old 5 --size 15
	expect_refused m_stale 409 "metrics: stale old size"
	req m_fork --old 14 --size 14 --fork 4
	expect_refused m_fork 409 "metrics: fork"
	req m_proof --old 14 --size 20 --bad-proof
	expect_refused m_proof 422 "metrics: bad proof"
	expect_refused unknown 404 "metrics: unknown origin"
	expect_refused evil 403 "metrics: untrusted key"
	expect_refused garbage 400 "metrics: garbage"
	# Not an add-checkpoint: an HTTP answer, not a cosign request.
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/add-checkpoint")" = 405 ] || die "GET add-checkpoint"
	scrape >"$T/m1" || die "second scrape"
	for r in cosigned stale_size fork inconsistent unknown_log bad_signature malformed; do
		moved "rampart_witness_cosign_requests_total{result=\"$r\"}" 1
	done
	moved 'rampart_witness_cosign_requests_total{result="error"}' 0
	moved 'rampart_witness_http_responses_total{code="2xx"}' 1
	moved 'rampart_witness_http_responses_total{code="4xx"}' 7
	moved 'rampart_witness_http_responses_total{code="5xx"}' 0
	moved rampart_witness_cosign_latency_seconds_count 1
	moved 'rampart_witness_cosign_latency_seconds_bucket{le="+Inf"}' 1
	moved rampart_witness_evidence 1
	[ "$(metric "$T/m1" rampart_witness_logs)" = 1 ] || die "logs: $(metric "$T/m1" rampart_witness_logs)"
	[ "$(metric "$T/m1" "rampart_witness_log_size{origin=\"$ORIGIN\"}")" = 14 ] ||
		die "log size: $(grep log_size "$T/m1")"
	t=$(metric "$T/m1" "rampart_witness_log_cosigned_time_seconds{origin=\"$ORIGIN\"}")
	[ -n "$t" ] && [ $((now - t)) -le 60 ] && [ $((t - now)) -le 60 ] || die "cosigned time $t"
	python3 - "$T/m1" <<'PY' || die "the latency sum is not a number >= 0"
import sys
v = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("rampart_witness_cosign_latency_seconds_sum ")]
assert len(v) == 1 and float(v[0]) >= 0, v
PY
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/add-checkpoint")" = 404 ] || die "the metrics listener serves other paths"
	# (a body is refused from its headers, 413: the listener takes none)
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")" = 404 ] || die "POST /metrics"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/metrics")" = 404 ] || die "/metrics on the add-checkpoint port"
	rp_ok "/metrics: each result counted once (cosigned, stale size, fork, bad proof, unknown log, bad signature, malformed), answers by class, latency, logs and sizes; other paths 404"
}

# info: refusals get a line, cosignatures none; debug: a line for every request.
test_log_level() {
	local rc=0 n
	grep -q "POST /add-checkpoint 409 " "$T/witness.log" || die "no line for a refusal at the default level"
	n=$(grep -c "POST /add-checkpoint 200 " "$T/witness.log" || true)
	[ "$n" = 0 ] || die "$n lines for cosignatures at the default level: $(grep -m2 'add-checkpoint 200' "$T/witness.log")"
	w_stop
	WARGS="--log-level debug"
	w_start
	req dbg --old 14 --size 14
	expect_cosigned dbg 14
	rp_wait_for 10 grep -q "POST /add-checkpoint 200 .* origin $ORIGIN old 14 size 14 stored 14 cosigned at [0-9]*$" "$T/witness.log" ||
		die "no line for a cosignature with --log-level debug: $(tail -2 "$T/witness.log")"
	w_stop
	WARGS=""
	w_start
	"$W" serve --data "$WDATA" --log-level loud >/dev/null 2>"$T/ll.err" || rc=$?
	[ "$rc" = 2 ] && grep -q -- "--log-level \`loud' is not info or debug" "$T/ll.err" || die "--log-level loud: $rc $(cat "$T/ll.err")"
	"$W" serve --help | grep -q -- "--metrics-listen ADDR:PORT" || die "serve --help lacks --metrics-listen"
	"$W" serve --help | grep -q -- "--log-level L" || die "serve --help lacks --log-level"
	# Off by default: a witness started without --metrics-listen says nothing of metrics.
	local p pid
	p=$(rp_free_port)
	"$W" serve --data "$T/other-witness" --listen "127.0.0.1:$p" >"$T/plain.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	rp_wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$p/" || die "plain witness did not come up"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	grep -q "metrics on" "$T/plain.log" && die "metrics without --metrics-listen: $(cat "$T/plain.log")"
	rp_ok "log level: no line per cosignature at info, refusals kept; one per cosignature at debug; a bad level is a usage error; metrics off by default"
}

WPORT=$(rp_free_port)
MPORT=$(rp_free_port)
test_init
test_add_log
w_start
test_first_checkpoint
test_growth
test_stale_old_size
test_fork_same_size
test_fork_with_proof
test_bad_proof
test_junk_proof_is_not_evidence
test_unknown_origin
test_untrusted_key
test_malformed
test_http
test_oversized
test_metrics
test_log_level
test_connection_guard
test_remove_readd_keeps_state
test_restart
test_kill9_during_appends
test_list_and_evidence
rp_note "all witness tests passed"
