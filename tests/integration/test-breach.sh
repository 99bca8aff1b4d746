#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The standing hostile-server suite (issue 9; docs/threat-model.md, "The
# hostile-server suite"). A real agent runs one genuine command through the
# real rampartd; then the attacker takes the server over: a stand-in
# (hostile-agent-server.py, mode `files') holds rampartd's TLS key, so the
# agent's pin matches, and serves what breach.c makes from rampartd's data
# directory: the database with the org's log and its log key. It holds
# nothing of the administrators' or the witnesses': the witnesses are real
# rampart-witness processes, asked to cosign as rampartd asks them, and
# they refuse a fork. Statements the administrators signed are theirs
# (their keys in $T/admin), which the attacker may log, reorder, cut and
# replay, but not make.
#
# The stand-in is Python and breach only makes bytes: the TLS server with
# rampartd's key is the one test-hostile.sh already runs, a server of our
# own in C would be code of its own to trust, and everything the agent
# verifies (notes, checkpoints, proofs, deliveries) is still made by the
# library's code, in breach.
#
# One test per attack. Each asserts that the agent refuses (its log), raises
# a security alert with the attack's code (alerts.log, security.log for the
# codes about the log, and the report to the server), that the canary the
# command would create does not exist, and that a genuine command still
# runs afterwards, so a refusal is not a crash.
#   RP_ONLY="test_a test_b" runs only those after the setup.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

ME=$(id -un)
# Short, so that the freeze test waits little; every step cosigns anew.
export FRESHNESS=20
BREACH=$BIN/tests/integration/breach
HOSTILE=$(dirname "$0")/hostile-agent-server.py
H=$T/breach # the attacker's workshop
S=$T/serve  # what the stand-in serves (hostile-agent-server.py, files)
mkdir -p "$H" "$S"
SECURITY_CODES=" not-in-log log-proof log-rollback log-fork witness-quorum stale-checkpoint bad-checkpoint freeze "

rp_server_init
rp_witnesses 2
rp_admins 3
# admin3 holds every role but exec: its signature is one outside the role.
POLICY_EDIT='/^role exec /s/ admin3@acme\.example//' rp_org acme 3 2
grep -q '^role exec 2 admin1@acme.example admin2@acme.example$' "$T/admin/acme.policy" ||
	die "setup: the policy's exec role is not admin1 and admin2"
rp_enroll a1
rp_agent_start a1

now() { date -u -d "@$(($(date +%s) + ${1:-0}))" +%Y-%m-%dT%H:%M:%SZ; }
newid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
count() { local n; n=$(grep -c -- "$1" "$2" 2>/dev/null) || true; echo "${n:-0}"; }

breach() { "$BREACH" --data "$DATA" --org acme --log "$H/log" "$@"; }
# The same as a command line for the stand-in to run.
breach_cmd() { printf '%q ' "$BREACH" --data "$DATA" --org acme --log "$H/log" "$@"; }

# Lines of a file written since the last mark (the start of the current attack).
declare -A MARK
mark() {
	local f
	for f in "$T/a1.log" "$T/a1/alerts.log" "$T/a1/security.log" "$T/standin.log"; do
		MARK[$f]=0
		[ ! -f "$f" ] || MARK[$f]=$(wc -l <"$f")
	done
}
since() { tail -n +$((${MARK[$1]:-0} + 1)) "$1" 2>/dev/null || true; }
new_line() { since "$1" | grep -qE -- "$2"; }

# The agent writes an alert once per statement and code per window, and
# counts a code's alerts past 4 statements (agent/alert.c): an attack whose
# alert would be counted, not written, gets a fresh agent process first.
declare -A ALERTED
fresh_agent() {
	local before
	rp_agent_stop a1
	before=$(count ' polling ' "$T/a1.log")
	rp_agent_start a1
	rp_wait_for 30 bash -c "[ \$(grep -c ' polling ' '$T/a1.log') -gt $before ]" ||
		die "the agent did not start again"
	ALERTED=()
}
# attack CODE ID: the next alert is CODE for statement ID (- when none parses).
attack() {
	local k n=0
	for k in "${!ALERTED[@]}"; do [[ $k != "$1 "* ]] || n=$((n + 1)); done
	if [ -n "${ALERTED[$1 $2]:-}" ] || [ "$n" -ge 4 ]; then fresh_agent; fi
	ALERTED[$1 $2]=1
	mark
}

# stmt NAME: $H/NAME.txt, an exec statement for a1 whose payload
# $H/NAME.payload ($PAYLOAD, by default one that creates $T/canary.NAME).
stmt() {
	local name=$1
	printf '%s\n' "${PAYLOAD:-touch $T/canary.$name}" >"$H/$name.payload"
	{
		printf 'rampart/command/v1\norg acme\nid %s\nkind exec\n' "$(newid)"
		printf 'not-before %s\nexpires %s\nrun-as %s\ntimeout 10\n' "$(now -60)" \
			"$(now 3600)" "$ME"
		printf 'payload sha256:%s %s\n' "$(sha256sum <"$H/$name.payload" | cut -d' ' -f1)" \
			"$(wc -c <"$H/$name.payload")"
		printf 'target %s\n' "$DEV_a1"
	} >"$H/$name.txt"
}
# sign NAME ADMIN...: $H/NAME.note, the text signed by those administrators in turn.
sign() {
	local name=$1
	shift
	rp_sign "$H/$name.txt" "$H/$name.note" "$@"
}
id_of() { awk '$1 == "id" {print $2; exit}' "$H/$1.txt"; }
# logged NAME: appends $H/NAME.note to the log; prints its index.
logged() { breach append "$H/$1.note"; }

# cosign OUT [N [VIEW...]]: the checkpoint of the first N entries (default
# all) of the log, or of the view that the breach options VIEW make, signed
# by the log key and posted to every witness as rampartd posts it (old size
# first, the witness's own on a 409); the cosignatures they return are
# appended. OUT is the note; REFUSED counts the witnesses that refused.
cosign() {
	local out=$1 n=${2:-} i old code port
	shift
	[ $# -eq 0 ] || shift
	[ -n "$n" ] || n=$(breach "$@" size)
	REFUSED=0
	breach "$@" checkpoint --size "$n" >"$out.tmp" || die "breach checkpoint"
	for i in $(seq 1 "$NWITNESSES"); do
		port=WPORT_$i
		old=$(cat "$H/w$i.size" 2>/dev/null || echo 0)
		for _ in 1 2; do
			breach "$@" request --old "$old" --size "$n" >"$H/req" || die "breach request"
			code=$(curl -s -o "$H/resp" -w '%{http_code}' --data-binary @"$H/req" \
				"http://127.0.0.1:${!port}/add-checkpoint")
			# A 409 with text/x.tlog.size names the size this witness holds; one
			# without it refuses a fork.
			[ "$code" = 409 ] && [[ $(head -n 1 "$H/resp") =~ ^[0-9]+$ ]] || break
			old=$(head -n 1 "$H/resp")
		done
		if [ "$code" = 200 ]; then
			cat "$H/resp" >>"$out.tmp"
			[ $# -gt 0 ] || echo "$n" >"$H/w$i.size"
		else
			REFUSED=$((REFUSED + 1))
		fi
	done
	mv "$out.tmp" "$out"
}

# offer [--swap I=FILE] DELIVERY-ARGS...: the next poll is answered by
# `breach delivery' (its consistency proof from the size the agent polls
# with); returns once the stand-in has taken it.
offer() {
	local view=()
	if [ "$1" = --swap ]; then view=(--swap "$2"); shift 2; fi
	breach_cmd "${view[@]}" delivery "$@" >"$S/poll.tmp"
	mv "$S/poll.tmp" "$S/poll"
	rp_wait_for 30 test ! -e "$S/poll" || die "the agent did not poll for the delivery"
}
# deliver NAME [DELIVERY-ARGS...]: $H/NAME.note appended to the log, the log
# cosigned, and offered with $H/NAME.payload (ARGS add to them or override);
# DELIVERED is its index.
deliver() {
	local name=$1 i
	shift
	i=$(logged "$name")
	cosign "$H/cp.note"
	DELIVERED=$i
	offer --index "$i" --checkpoint "$H/cp.note" --payload "$H/$name.payload" "$@"
}
# offer_body FILE: the next poll is answered 200 with FILE's bytes.
offer_body() {
	printf 'cat %q\n' "$1" >"$S/poll.tmp"
	mv "$S/poll.tmp" "$S/poll"
	rp_wait_for 30 test ! -e "$S/poll" || die "the agent did not poll for the delivery"
}

# alerted CODE ID WHAT [WHY]: since the mark, the agent logged the refusal,
# alerts.log (and security.log for the codes about the log) holds the alert
# with CODE for statement ID (- when none parsed), its reason matching the
# extended regex WHY, and the stand-in got its report.
alerted() {
	local code=$1 id=$2 what=$3 why=${4:-} shown=$2
	[ "$id" != - ] || shown="(unparsed)"
	rp_wait_for 30 new_line "$T/a1/alerts.log" "^[^ ]+ $code $id " ||
		die "$what: no '$code' alert for $id in alerts.log"
	new_line "$T/a1/alerts.log" "^[^ ]+ $code $id .*$why" ||
		die "$what: the '$code' alert does not say why ($why): $(since "$T/a1/alerts.log" | tail -n 1)"
	new_line "$T/a1.log" "SECURITY ALERT: $code: command ${shown//[()]/.}: " ||
		die "$what: the agent's log does not show the refusal"
	if [[ $SECURITY_CODES == *" $code "* ]]; then
		# written just after alerts.log's line: waited for, not raced
		rp_wait_for 10 new_line "$T/a1/security.log" "^[^ ]+ $code $id " ||
			die "$what: the '$code' alert is not in security.log"
	fi
	local cid=$id
	[ "$id" != - ] || cid=
	rp_wait_for 10 new_line "$T/standin.log" "^post /v1/agent/alert .*\"command\":\"$cid\".*\"code\":\"$code\"" ||
		die "$what: the '$code' alert was not reported to the server"
}
# refused NAME CODE ID [WHY]: alerted, and $T/canary.NAME does not exist.
refused() {
	alerted "$2" "$3" "$1" "${4:-}"
	[ ! -e "$T/canary.$1" ] || die "$1: the canary exists: the attack RAN"
}

# still_works WHAT: a statement the administrators signed, logged, cosigned
# and delivered runs, and its result is reported.
OKN=0
still_works() {
	local name=ok$((++OKN))
	PAYLOAD="touch $T/ok.$name" stmt "$name"
	sign "$name" 1 2
	mark
	deliver "$name"
	rp_wait_for 30 test -e "$T/ok.$name" || die "$1: the agent no longer runs a genuine command"
	rp_wait_for 10 new_line "$T/standin.log" "^post /v1/agent/result .*$(id_of "$name")" ||
		die "$1: the genuine command's result was not reported"
	LAST_OK=$DELIVERED
}

# One genuine command through the real rampartd: the agent holds its
# checkpoint and has acted on its entry when the attacker takes over.
id=$(rp_submit 1 --to "$DEV_a1" --run-as "$ME" -- touch "$T/ok.real")
rp_as 2 approve --yes "$id" >/dev/null
rp_wait_for 30 test -e "$T/ok.real" || die "setup: the genuine command did not run"
rp_wait_for 30 grep -q "command $id: done" "$T/a1.log" || die "setup: the command did not end"
rp_server_stop
echo "files $S" >"$T/standin.mode"
python3 "$HOSTILE" "$PORT" "$DATA/tls.crt" "$DATA/tls.key" "$T/standin.mode" "$T/standin.log" \
	>>"$T/standin.err.log" 2>&1 &
PIDS+=("$!")
rp_wait_for 20 curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$PORT/" ||
	die "the stand-in server did not come up"
cosign "$H/cp.note"
[ "$REFUSED" -eq 0 ] || die "setup: the witnesses refused the log rampartd left"
breach_cmd answer --checkpoint "$H/cp.note" >"$S/checkpoint"
# The agent's walk through the log (lib/scan.h): the attacker's log, as it is.
{ breach_cmd entries; printf '"$FROM" "$HAVE"\n'; } >"$S/entries"
still_works "setup"
rp_ok "setup: the stand-in holds rampartd's TLS key, log and log key; a genuine command runs through it"

test_same_key_signs_twice() {
	stmt twice
	sign twice 1
	# Two signature lines by one key (admin1's, written again): one signer.
	tail -n 1 "$H/twice.note" >>"$H/twice.note"
	attack no-quorum "$(id_of twice)"
	deliver twice
	refused twice no-quorum "$(id_of twice)" "1 of 2 required signatures of role exec"
	still_works twice
	rp_ok "attack: the same key signs twice: one signer of two, refused (no-quorum), alerted, nothing ran"
}

test_signer_outside_role() {
	stmt outside
	sign outside 1 3 # admin3 is a policy key, but not of the exec role
	attack no-quorum "$(id_of outside)"
	deliver outside
	refused outside no-quorum "$(id_of outside)" "1 of 2 required signatures of role exec"
	still_works outside
	rp_ok "attack: a signer outside the role: refused (no-quorum), alerted, nothing ran"
}

test_invalid_line_under_admin_name() {
	stmt badline
	sign badline 1
	# A line with admin2's name and key id, its signature over another text.
	printf 'another text\n' | "$CLI" note sign --key "$T/admin/admin2.key" | tail -n 1 \
		>>"$H/badline.note"
	attack bad-signature "$(id_of badline)"
	deliver badline
	refused badline bad-signature "$(id_of badline)" "signature by admin2@acme.example\+[0-9a-f]+ does not verify"
	still_works badline
	rp_ok "attack: a line under an administrator's name that does not verify, beside a valid one: refused (bad-signature), never counted"
}

test_replay_at_later_index() {
	local first id
	PAYLOAD="echo once >>$T/replay.count" stmt replay
	sign replay 1 2
	id=$(id_of replay)
	first=$(logged replay)
	cosign "$H/cp.note"
	offer --index "$first" --checkpoint "$H/cp.note" --payload "$H/replay.payload"
	rp_wait_for 30 test -s "$T/replay.count" || die "replay: the genuine command did not run"
	rp_wait_for 10 grep -q "command $id: done" "$T/a1.log" || die "replay: it did not end"
	# The attacker logs the executed statement again, at a later index.
	attack replay "$id"
	deliver replay
	refused replay replay "$id" "was already executed here"
	[ "$(wc -l <"$T/replay.count")" -eq 1 ] || die "replay: the command ran again"
	still_works replay
	rp_ok "attack: an executed statement logged again at a later index: refused (replay), ran once"
}

test_reordered_entries() {
	local ia ib
	stmt earlier
	sign earlier 1 2
	PAYLOAD="touch $T/ok.later" stmt later
	sign later 1 2
	ia=$(logged earlier)
	ib=$(logged later)
	cosign "$H/cp.note"
	# The later entry first: it runs; then the earlier one.
	offer --index "$ib" --checkpoint "$H/cp.note" --payload "$H/later.payload"
	rp_wait_for 30 test -e "$T/ok.later" || die "reorder: the later entry did not run"
	attack replay "$(id_of earlier)"
	offer --index "$ia" --checkpoint "$H/cp.note" --payload "$H/earlier.payload"
	refused earlier replay "$(id_of earlier)" "is log entry $ia, not after entry $ib already acted on"
	still_works reorder
	rp_ok "attack: entries reordered (entry $ia after $ib): refused (replay), alerted, nothing ran"
}

test_payload_truncated() {
	# Cut after its first line: what is left still runs, and is not what was signed.
	PAYLOAD="touch $T/canary.truncated
rm -f $T/canary.truncated # the rest of the script" stmt truncated
	sign truncated 1 2
	head -n 1 "$H/truncated.payload" >"$H/truncated.cut"
	attack payload-mismatch "$(id_of truncated)"
	deliver truncated --payload "$H/truncated.cut"
	refused truncated payload-mismatch "$(id_of truncated)" "payload is [0-9]+ bytes, statement .* says"
	still_works truncated
	rp_ok "attack: the payload truncated: refused (payload-mismatch), alerted, nothing ran"
}

test_entry_not_in_log() {
	local n
	cosign "$H/cp.note"
	n=$(breach size)
	# Signed by a quorum, never logged: delivered without log data, then
	# under the index and proof of the last genuine entry, then past the tree.
	for c in unlogged misplaced beyond; do
		stmt "$c"
		sign "$c" 1 2
	done
	attack not-in-log -
	offer --no-log --index 0 --statement "$H/unlogged.note" --payload "$H/unlogged.payload"
	refused unlogged not-in-log - "delivery carries no transparency log proof"
	attack log-proof -
	offer --index "$LAST_OK" --statement "$H/misplaced.note" --checkpoint "$H/cp.note" \
		--payload "$H/misplaced.payload"
	refused misplaced log-proof - "is not entry $LAST_OK of the checkpointed log"
	attack log-proof -
	offer --index "$n" --statement "$H/beyond.note" --checkpoint "$H/cp.note" \
		--payload "$H/beyond.payload"
	refused beyond log-proof - "is not entry $n of the checkpointed log: .*outside the tree"
	still_works "not in log"
	rp_ok "attack: a signed statement not in the log (no proof, another entry's proof, an index past the tree): refused (not-in-log, log-proof)"
}

test_checkpoint_rollback() {
	local i0 i1
	PAYLOAD="touch $T/ok.before" stmt before
	sign before 1 2
	stmt rollback
	sign rollback 1 2
	i0=$(logged before)
	i1=$(logged rollback)
	cosign "$H/cp.old" # both entries, genuinely cosigned a moment ago
	printf 'an entry the attacker logs after them\n' >"$H/filler.note"
	logged filler >/dev/null
	cosign "$H/cp.note"
	offer --index "$i0" --checkpoint "$H/cp.note" --payload "$H/before.payload"
	rp_wait_for 30 test -e "$T/ok.before" || die "rollback: the first entry did not run"
	# The agent holds the newer checkpoint; the entry after it comes with the older one.
	attack log-rollback -
	offer --index "$i1" --checkpoint "$H/cp.old" --payload "$H/rollback.payload"
	refused rollback log-rollback - "is older than the [0-9]+ already seen"
	still_works rollback
	rp_ok "attack: rollback to an older checkpoint, itself cosigned and fresh: refused (log-rollback), alerted, nothing ran"
}

test_split_view() {
	local k
	PAYLOAD="touch $T/ok.shared" stmt shared
	sign shared 1 2
	k=$(logged shared)
	printf 'an entry of the honest view\n' >"$H/honest.note"
	logged honest >/dev/null
	cosign "$H/cp.note"
	offer --index "$k" --checkpoint "$H/cp.note" --payload "$H/shared.payload"
	rp_wait_for 30 test -e "$T/ok.shared" || die "split: the shared entry did not run"
	# The other view: entry k+1 is a statement shown to this device alone.
	stmt split
	sign split 1 2
	cosign "$H/cp.split" $((k + 2)) --swap $((k + 1))="$H/split.note"
	[ "$REFUSED" -eq "$NWITNESSES" ] || die "split: $((NWITNESSES - REFUSED)) witnesses cosigned the other view"
	"$WITNESS" evidence --data "$T/w1" | grep -q . || die "split: witness 1 kept no evidence of the fork"
	attack witness-quorum -
	offer --swap $((k + 1))="$H/split.note" --index $((k + 1)) --checkpoint "$H/cp.split" \
		--payload "$H/split.payload"
	refused split witness-quorum - "witness cosignatures do not reach the quorum"
	# The same view under the honest checkpoint's cosignature lines.
	{ cat "$H/cp.split"; grep '^— witness' "$H/cp.note"; } >"$H/cp.pasted"
	attack bad-checkpoint -
	offer --swap $((k + 1))="$H/split.note" --index $((k + 1)) --checkpoint "$H/cp.pasted" \
		--payload "$H/split.payload"
	refused split bad-checkpoint - "cosignature by witness1.test\+[0-9a-f]+ does not verify"
	still_works split
	rp_ok "attack: split view: the witnesses refuse to cosign it (evidence kept); served with the log signature only (witness-quorum) or the other view's cosignatures (bad-checkpoint), refused"
}

test_forged_consistency_proof() {
	stmt forkproof
	sign forkproof 1 2
	# A genuinely cosigned, larger checkpoint, with a consistency proof that lies.
	attack log-fork -
	deliver forkproof --consistency flip
	refused forkproof log-fork - "is not consistent with the [0-9]+ already seen"
	still_works forkproof
	rp_ok "attack: a consistency proof that does not hold from the agent's checkpoint: refused (log-fork), alerted, nothing ran"
}

test_freeze_beyond_window() {
	local i t0 wait
	stmt frozen
	sign frozen 1 2
	i=$(logged frozen)
	cosign "$H/cp.frozen"
	t0=$(date +%s)
	# The server withholds: no checkpoint refresh, no delivery.
	rm "$S/checkpoint"
	attack freeze -
	rp_wait_for $((FRESHNESS + 20)) new_line "$T/a1/alerts.log" "^[^ ]+ freeze - " ||
		die "freeze: no freeze alarm past the window of $FRESHNESS s"
	alerted freeze - freeze
	# Then it delivers with the checkpoint it cosigned before the window.
	wait=$((t0 + FRESHNESS + 2 - $(date +%s)))
	[ "$wait" -le 0 ] || sleep "$wait"
	attack stale-checkpoint -
	offer --index "$i" --checkpoint "$H/cp.frozen" --payload "$H/frozen.payload"
	refused frozen stale-checkpoint - "met only by cosignatures older than $FRESHNESS s"
	breach_cmd answer --checkpoint "$H/cp.note" >"$S/checkpoint"
	still_works freeze
	rp_ok "attack: freeze beyond the window: the freeze alarm is raised, a checkpoint cosigned before it is refused (stale-checkpoint)"
}

# noted NAME WHY: $H/NAME.note appended, cosigned and delivered; refused as malformed.
noted() {
	attack malformed -
	deliver "$1"
	refused "$1" malformed - "$2"
}

test_malformed_notes() {
	local i
	cosign "$H/cp.note"
	# No signature at all.
	stmt nosig
	cp "$H/nosig.txt" "$H/nosig.note"
	noted nosig "note has no blank line before its signatures"
	# More signature lines than a note may carry (a quorum among them).
	stmt manysigs
	sign manysigs 1 2
	for i in $(seq 1 $((64 - 1))); do tail -n 1 "$H/manysigs.note"; done >>"$H/manysigs.note"
	noted manysigs "note has more than 64 signature lines"
	# A field the format does not have, signed by a quorum.
	stmt badfield
	sed -i 's/^timeout 10$/timeout 10\nsudo-ok yes/' "$H/badfield.txt"
	sign badfield 1 2
	noted badfield "expected field .payload., found .sudo-ok yes."
	# Larger than a log entry may be (a 70 kB comment, inserted after the
	# signing, which no administrator's tool would sign): refused by its size
	# before anything parses it.
	stmt oversized
	sign oversized 1 2
	sed -i "/^target /a comment $(printf '%070000d' 0)" "$H/oversized.note"
	attack malformed -
	offer --index "$LAST_OK" --statement "$H/oversized.note" --checkpoint "$H/cp.note" \
		--payload "$H/oversized.payload"
	refused oversized malformed - "delivery statement is [0-9]+ bytes, more than 65535"
	still_works notes
	rp_ok "attack: malformed and oversized notes (no signature, 65 lines, an unknown field, 70 kB): refused (malformed), nothing ran"
}

test_malformed_proofs() {
	local c
	for c in drop flip long short; do
		stmt "proof$c"
		sign "proof$c" 1 2
	done
	stmt conslong
	sign conslong 1 2
	local id=()
	for c in drop flip long short conslong; do id+=("$(logged "$([ $c = conslong ] || echo proof)$c")"); done
	cosign "$H/cp.note"
	# An inclusion proof cut short, or with a bit flipped: not this entry's.
	attack log-proof -
	offer --index "${id[0]}" --checkpoint "$H/cp.note" --payload "$H/proofdrop.payload" --proof drop
	refused proofdrop log-proof - "is not entry ${id[0]} of the checkpointed log"
	attack log-proof -
	offer --index "${id[1]}" --checkpoint "$H/cp.note" --payload "$H/proofflip.payload" --proof flip
	refused proofflip log-proof - "is not entry ${id[1]} of the checkpointed log"
	# 64 hashes (63 is the most), a hash of 31 bytes, a consistency proof of 64.
	attack malformed -
	offer --index "${id[2]}" --checkpoint "$H/cp.note" --payload "$H/prooflong.payload" --proof long
	refused prooflong malformed - "delivery proof has 64 hashes, more than 63"
	attack malformed -
	offer --index "${id[3]}" --checkpoint "$H/cp.note" --payload "$H/proofshort.payload" --proof short
	refused proofshort malformed - "delivery proof hash 0 is not base64 of 32 bytes"
	attack malformed -
	offer --index "${id[4]}" --checkpoint "$H/cp.note" --payload "$H/conslong.payload" --consistency long
	refused conslong malformed - "delivery consistency has 64 hashes, more than 63"
	still_works proofs
	rp_ok "attack: inclusion proofs cut or flipped (log-proof), 64 hashes, a 31-byte hash, a consistency proof of 64 (malformed): refused"
}

test_malformed_checkpoints() {
	local i
	stmt cpjunk
	sign cpjunk 1 2
	stmt cpformat
	sign cpformat 1 2
	stmt cpbig
	sign cpbig 1 2
	i=$(logged cpjunk)
	logged cpformat >/dev/null
	logged cpbig >/dev/null
	cosign "$H/cp.note"
	# Not a note.
	printf 'not a checkpoint\n' >"$H/cp.junk"
	attack bad-checkpoint -
	offer --index "$i" --checkpoint "$H/cp.junk" --payload "$H/cpjunk.payload"
	refused cpjunk bad-checkpoint - "note has no blank line before its signatures"
	# Signed by the log key, but not in the checkpoint format (a size with leading zeros).
	sed -n '1,3p' "$H/cp.note" | sed '2s/^/00/' >"$H/cp.format.txt"
	breach sign "$H/cp.format.txt" >"$H/cp.format"
	attack bad-checkpoint -
	offer --index $((i + 1)) --checkpoint "$H/cp.format" --payload "$H/cpformat.payload"
	refused cpformat bad-checkpoint - "tree size .00[0-9]+. is not a decimal without leading zeros"
	# Larger than a checkpoint with all its cosignatures may be: the delivery
	# does not parse, so it is malformed like any answer that does not.
	{ cat "$H/cp.note"; for c in $(seq 1 300); do grep '^— witness1' "$H/cp.note"; done; } >"$H/cp.big"
	attack malformed -
	offer --index $((i + 2)) --checkpoint "$H/cp.big" --payload "$H/cpbig.payload"
	refused cpbig malformed - "delivery checkpoint is [0-9]+ bytes, more than 16384"
	still_works checkpoints
	rp_ok "attack: malformed checkpoints (not a note, signed by the log key but malformed: bad-checkpoint; over 16 KiB: malformed): refused, nothing ran"
}

test_malformed_json() {
	local i c
	stmt json
	sign json 1 2
	i=$(logged json)
	cosign "$H/cp.note"
	HAVE=$(awk '$1 == "size" {print $2}' "$T/a1/log.state") \
		breach delivery --index "$i" --checkpoint "$H/cp.note" --payload "$H/json.payload" \
		>"$H/json.delivery"
	python3 - "$H/json.delivery" "$H" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
d = json.load(open(src))
text = open(src).read()
cases = {
    # cut in the middle
    "cut": text[: len(text) // 2],
    # two "statement" keys: parsers that keep the first or the last disagree
    "dupkey": text[:-1] + ', "statement": ' + json.dumps(d["statement"].replace("acme", "acmf")) + "}",
    # the index as a string
    "type": json.dumps(dict(d, index=str(d["index"]))),
    # a NUL inside the statement
    "nul": json.dumps(dict(d, statement=d["statement"].replace("\nkind", "\u0000\nkind"))),
    # an array, not an object
    "array": json.dumps([d]),
}
for name, body in cases.items():
    open("%s/json.%s" % (out, name), "w").write(body)
PY
	local -A why=([cut]="not JSON: premature end of input" [dupkey]="duplicate object key"
		[type]="delivery log fields: .index. must be a non-negative integer"
		[nul]="u0000 is not allowed" [array]="delivery is not a JSON object")
	for c in cut dupkey type nul array; do
		attack malformed -
		offer_body "$H/json.$c"
		refused json malformed - "${why[$c]}"
	done
	still_works json
	rp_ok "attack: malformed delivery JSON (cut, a duplicate key, a wrong type, a NUL, an array): refused (malformed), nothing ran"
}

test_malformed_http() {
	local c before
	stmt http
	sign http 1 2
	logged http >/dev/null
	cosign "$H/cp.note"
	printf 'SSH-2.0-OpenSSH_9.2\r\n' >"$H/http.nothttp"
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789' >"$H/http.twolengths"
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n' >"$H/http.chunk"
	{ printf 'HTTP/1.1 200 OK\r\nX-Junk: '; head -c 100000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$H/http.headers"
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"statement": "' >"$H/http.short"
	mark
	for c in nothttp twolengths chunk headers short; do
		before=$(count 'rampart-agent: poll: ' "$T/a1.log")
		cp "$H/http.$c" "$S/poll.raw.tmp"
		mv "$S/poll.raw.tmp" "$S/poll.raw"
		rp_wait_for 30 test ! -e "$S/poll.raw" || die "http $c: not taken"
		rp_wait_for 30 bash -c "[ \$(grep -c 'rampart-agent: poll: ' '$T/a1.log') -gt $before ]" ||
			die "http $c: the agent did not log the failed poll"
		kill -0 "$APID_a1" || die "http $c: the agent died"
	done
	[ ! -e "$T/canary.http" ] || die "http: the canary exists"
	since "$T/a1.log" | grep 'poll: ' | sed 's/^/# /'
	still_works http
	rp_ok "attack: malformed HTTP (not HTTP, two lengths, a chunk size past 2^64, 100 kB of headers, a body cut short): logged and retried, no alert (not a delivery), nothing ran"
}

TESTS="test_same_key_signs_twice test_signer_outside_role test_invalid_line_under_admin_name
	test_replay_at_later_index test_reordered_entries test_payload_truncated test_entry_not_in_log
	test_checkpoint_rollback test_split_view test_forged_consistency_proof test_malformed_notes
	test_malformed_proofs test_malformed_checkpoints test_malformed_json test_malformed_http
	test_freeze_beyond_window"
for t in ${RP_ONLY:-$TESTS}; do
	"$t"
done
rp_note "all breach tests passed"
