#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Root policy version N+1 through rampartd and the CLI (issue 9, DESIGN.md
# section 2): three administrators revoke one (2 of 3 sign), the server
# publishes only when the root quorum of N and N+1's own are both met, the
# revoked key can sign no request and count for no later version, a witness
# added by a rotation is asked to cosign and one removed is no longer asked,
# and the CLI's trusted copy follows the chain, never past a version that
# does not verify. Attacks, each a named test:
#   test_rotation_below_old_quorum  N+1 signed only by N+1's new keys
#   test_replayed_old_policy        a version <= the current one again
#   test_skipped_version            N+2 while N is current
#   test_forged_signature_line      a proposal line claiming a key, not by it
#   test_chain_walk_two_versions    a CLI two versions behind catches up
#   test_server_forged_next_policy  a policies row written by hand
#   RP_ONLY is not supported: each test builds on the versions before it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
# cosigns() counts the witnesses' lines per cosignature: written at debug only.
WITNESS_SERVE_ARGS="--log-level debug"

# post_policy KEYFILE NOTEFILE: POST /v1/orgs/acme/policies {"policy": NOTE}
# signed with KEYFILE, without the CLI's checks (the attacks send what the
# CLI refuses to); "STATUS BODY", the body's keys sorted.
post_policy() {
	python3 "$(dirname "$0")/signed-request.py" --sort-json "$PORT" "$1" POST \
		/v1/orgs/acme/policies "$(python3 -c 'import json, sys; print(json.dumps({"policy": open(sys.argv[1]).read()}))' "$2")"
}
rp_server_init
rp_witnesses 2
# Version 1 names w1 alone; w2 runs, trusts the log key, and joins in version 2.
W2=${WITNESS_ARGS[3]}
WITNESS_ARGS=("${WITNESS_ARGS[0]}" "${WITNESS_ARGS[1]}" --quorum 1)
rp_admins 4 # admin4 is in no version: a key that was never an administrator's
rp_org acme 3 2
rp_enroll a1
rp_agent_start a1
A=$T/admin
cp "$A/acme.policy" "$T/v1.policy"

# text NOTE: the policy text of a signed note (up to the blank line).
text() { awk 'NF == 0 {exit} {print}' "$1"; }
# signas OUT KEY... : $T/policy.txt signed by each admin key in turn into OUT.
signas() {
	local out=$1 k; shift
	cp "$T/policy.txt" "$out"
	for k in "$@"; do
		"$CLI" note sign --key "$A/admin$k.key" <"$out" >"$out.tmp" && mv "$out.tmp" "$out"
	done
}
maxversion() { rp_sql "SELECT MAX(version) FROM policies WHERE org = 'acme';"; }
cosigns() { grep -c 'POST /add-checkpoint 200' "$T/w$1.log" || true; }
trusted_version() { awk '$1 == "version" {print $2; exit}' "$A/acme.policy"; }

# ---- version 2: revoke admin3, add witness w2, both witnesses required ----
rp_as 1 policy propose --yes --revoke admin3@acme.example --add-witness "$W2" --quorum 2 \
	>"$T/propose2.out" 2>"$T/propose2.err" || { cat "$T/propose2.err" >&2; die "policy propose v2"; }
grep -q 'REVOKING key admin3@acme.example' "$T/propose2.err" || die "revocation was not said loudly"
grep -q '^- | key admin3@acme.example+' "$T/propose2.out" &&
	grep -q '^- | role root 2 admin1@acme.example admin2@acme.example admin3@acme.example$' "$T/propose2.out" &&
	grep -q '^+ | role root 2 admin1@acme.example admin2@acme.example$' "$T/propose2.out" &&
	grep -q '^+ | witness w2 ' "$T/propose2.out" &&
	grep -q '^+ | group witnesses all w1 w2$' "$T/propose2.out" ||
	{ cat "$T/propose2.out" >&2; die "the proposal's diff against version 1 is not what changed"; }
grep -q 'server: pending: root quorum of version N 1 of 2, of N+1 1 of 2' "$T/propose2.out" ||
	{ cat "$T/propose2.out" >&2; die "one signature did not leave v2 pending"; }
[ "$(maxversion)" = 1 ] || die "the server published version 2 with one signature"
H2=$(awk '$1 == "proposed" {print $6}' "$T/propose2.out")
rp_ok "policy propose: v2 built from the trusted v1, diff shown, revocation loud, pending at 1 of 2"

test_rotation_below_old_quorum() {
	# Version 2 whose root is admin4 alone, signed by admin4 alone: its own
	# quorum is met, version 1's is not.
	text "$T/v1.policy" | sed -e 's/^version 1$/version 2/' \
		-e "/^role root /i key $(cat "$A/admin4.key.vkey")" \
		-e 's/^role root .*/role root 1 admin4@acme.example/' >"$T/policy.txt"
	signas "$T/takeover.note" 4
	out=$(post_policy "$A/admin1.key" "$T/takeover.note")
	case $out in
	"200 "*'"old": {"have": 0, "need": 2'*'"state": "pending"'*) ;;
	*) die "a v2 signed only by its new key was not left pending: $out" ;;
	esac
	[ "$(maxversion)" = 1 ] || die "the server published a v2 without version 1's root quorum"
	# Both proposals are listed, each verified: the takeover shows 0 of 2.
	rp_as 2 policy status >"$T/status.out" 2>&1 || die "policy status"
	grep -q 'root quorum of version 1 (trusted): 0 of 2; of version 2 (its own): 1 of 1' "$T/status.out" &&
		grep -q '^ADDED: key admin4@acme.example' "$T/status.out" ||
		{ cat "$T/status.out" >&2; die "policy status does not show the takeover as 0 of 2"; }
	rp_ok "test_rotation_below_old_quorum: signed only by N+1's new key, not published"
}
test_rotation_below_old_quorum

# admin2 signs the real proposal: both quorums met, published and logged.
size0=$(rp_sql "SELECT size FROM logs WHERE org = 'acme';")
rp_as 2 approve --policy --yes "$H2" >"$T/approve2.out" 2>&1 || { cat "$T/approve2.out" >&2; die "approve v2"; }
grep -q 'root quorum of version 1 (trusted): 1 of 2; of version 2 (its own): 1 of 2' "$T/approve2.out" &&
	grep -q 'server: published at log index' "$T/approve2.out" ||
	{ cat "$T/approve2.out" >&2; die "approve --policy did not publish v2"; }
[ "$(maxversion)" = 2 ] || die "version 2 is not stored"
idx=$(rp_sql "SELECT log_index FROM policies WHERE org = 'acme' AND version = 2;")
[ "$idx" = "$size0" ] || die "version 2 is at log index '$idx', not the next entry $size0"
[ "$(rp_sql "SELECT COUNT(*) FROM policy_proposals WHERE org = 'acme';")" = 0 ] ||
	die "the proposals of version 2 (the takeover) outlived its publication"
logged=$(rp_sql "SELECT data FROM log_entries e JOIN logs l ON e.log = l.id WHERE l.org = 'acme' AND e.idx = $idx;")
[ "$logged" = "$(rp_sql "SELECT policy FROM policies WHERE org = 'acme' AND version = 2;")" ] ||
	die "the log entry is not the stored signed note of version 2"
rp_ok "v2 published at both quorums: stored, logged at index $idx, proposals gone"

# The CLI's trusted copy follows to v2, verified.
rp_as 1 policy status >"$T/status2.out" 2>&1 || die "policy status after v2"
grep -q 'follows the chain from version 1 to 2' "$T/status2.out" && [ "$(trusted_version)" = 2 ] ||
	{ cat "$T/status2.out" >&2; die "the trusted copy did not follow to version 2"; }
rp_ok "the CLI's trusted copy follows to version 2"

# The witness added by v2 is asked on the next round, and the served
# checkpoint needs its cosignature (quorum 2): deliveries go on.
w2_asked() { test "$(cosigns 2)" -gt 0; }
rp_wait_for 20 w2_asked || die "witness w2, added by version 2, was never asked to cosign"
id=$(rp_submit 1 --to "$DEV_a1" -- true)
rp_as 2 approve --yes "$id" >/dev/null 2>&1 || die "approve a command after v2"
ran() { test "$(rp_status "$id" "$DEV_a1")" = done; }
rp_wait_for 60 ran ||
	die "a command after v2 did not run: $(rp_status "$id" "$DEV_a1" 2>&1); agent: $(tail -n 3 "$T/a1.log")"
served=$(curl -skf --tlsv1.3 "https://127.0.0.1:$PORT/v1/log/acme/checkpoint")
grep -q '^— witness2.test ' <<<"$served" || die "the served checkpoint carries no w2 cosignature"
rp_ok "w2 (added by v2) cosigns; the served checkpoint carries it; a command runs after v2"

# Version 2 is a log entry, and the audit walks the chain from the v1 it trusts.
# (Run before v3: the audit judges the served checkpoint by the policy it has
# reached so far, v1 on a first run, and v3 drops the witness v1 requires.)
rp_as 1 audit --policy "$T/v1.policy" --state "$T/audit.state" >"$T/audit.out" 2>&1 ||
	{ cat "$T/audit.out" >&2; die "the audit of a log with version 2 failed"; }
grep -q '^#1 root policy of acme version 2' "$T/audit.out" && ! grep -q FINDING "$T/audit.out" ||
	{ cat "$T/audit.out" >&2; die "the audit does not show version 2 cleanly"; }
rp_ok "rampart audit: version 2 is log entry 1 and follows version 1, no finding"

test_revoked_key() {
	out=$(rp_as 3 devices 2>&1) && die "the revoked admin3 still signs requests"
	grep -q "key .admin3@acme.example' is not in the root policy" <<<"$out" ||
		die "admin3's request was refused for another reason: $out"
	rp_ok "revoked key: admin3's signed requests are refused (401) at once"
}
test_revoked_key

test_replayed_old_policy() {
	out=$(post_policy "$A/admin1.key" "$T/v1.policy")
	case $out in
	"409 "*"current version is 2"*) ;;
	*) die "version 1 replayed was not refused naming the current version: $out" ;;
	esac
	rp_sql "SELECT writefile('$T/v2.note', policy) FROM policies WHERE org = 'acme' AND version = 2;" >/dev/null
	out=$(post_policy "$A/admin1.key" "$T/v2.note")
	case $out in
	"409 "*"current version is 2"*) ;;
	*) die "version 2 posted again was not refused: $out" ;;
	esac
	rp_ok "test_replayed_old_policy: versions 1 and 2 posted again are refused (409)"
}
test_replayed_old_policy

test_skipped_version() {
	text "$T/v2.note" | sed -e 's/^version 2$/version 4/' >"$T/policy.txt"
	signas "$T/v4.note" 1 2
	out=$(post_policy "$A/admin1.key" "$T/v4.note")
	case $out in
	"409 "*"current version is 2, so only version 3"*) ;;
	*) die "version 4 after version 2 was not refused: $out" ;;
	esac
	[ "$(maxversion)" = 2 ] || die "a skipped version was stored"
	rp_ok "test_skipped_version: N+2 signed by N's root quorum is refused (409)"
}
test_skipped_version

test_forged_signature_line() {
	# A proposal of v3 by admin1 with a line claiming admin2 over another text.
	text "$T/v2.note" | sed -e 's/^version 2$/version 3/' -e 's/^freshness .*/freshness 600/' >"$T/policy.txt"
	signas "$T/forged3.note" 1
	printf 'rampart/policy/v1\nsomething else\n' | "$CLI" note sign --key "$A/admin2.key" | tail -n 1 >>"$T/forged3.note"
	out=$(post_policy "$A/admin1.key" "$T/forged3.note")
	case $out in
	"400 "*"signature line of \`admin2@acme.example' does not verify"*) ;;
	*) die "a proposal with a forged admin2 line was not refused: $out" ;;
	esac
	[ "$(rp_sql "SELECT COUNT(*) FROM policy_proposals WHERE org = 'acme';")" = 0 ] ||
		die "the proposal with a forged line was stored"
	rp_ok "test_forged_signature_line: a proposal line claiming admin2 that does not verify is refused (400)"
}
test_forged_signature_line

# ---- version 3: w1 removed, expiry in 20 days; the revoked key's signature does not count ----
served_all() { test "$(rp_sql "SELECT served_size = size FROM logs WHERE org = 'acme';")" = 1; }
rp_wait_for 20 served_all || die "the log before version 3 was never all served"
w1_before=$(cosigns 1)
rp_as 1 policy propose --yes --remove-witness w1 --quorum 1 --expires 20d >"$T/propose3.out" 2>&1 ||
	{ cat "$T/propose3.out" >&2; die "policy propose v3"; }
H3=$(awk '$1 == "proposed" {print $6}' "$T/propose3.out")
rp_sql "SELECT writefile('$T/v3.pending', policy) FROM policy_proposals WHERE org = 'acme' AND hash = '$H3';" >/dev/null
"$CLI" note sign --key "$A/admin3.key" <"$T/v3.pending" >"$T/v3.admin3"
out=$(post_policy "$A/admin1.key" "$T/v3.admin3")
case $out in
"200 "*'"dropped": 1'*'"old": {"have": 1, "need": 2'*) ;;
*) die "admin3's signature on v3 was not dropped uncounted: $out" ;;
esac
[ "$(maxversion)" = 2 ] || die "v3 was published with the revoked key's signature"
rp_ok "revoked key: admin3's signature on v3 is dropped and counts for neither quorum"
# Pending proposals show beside the pending commands, verified.
rp_as 2 commands >"$T/commands.out" 2>&1 || die "commands"
grep -q "^root policy version 3 $H3 pending: root quorum of version 2 1 of 2, of its own 1 of 2 (rampart approve --policy $H3)" "$T/commands.out" ||
	{ cat "$T/commands.out" >&2; die "rampart commands does not list the pending v3"; }
rp_as 2 --json commands | python3 -c '
import json, sys
p = json.load(sys.stdin)["policy_proposals"]
assert len(p) == 1 and p[0]["version"] == 3 and p[0]["old"] == {"have": 1, "need": 2}, p' ||
	die "rampart --json commands does not carry the pending v3"
rp_ok "rampart commands lists the pending v3 with both quorums, verified"
rp_as 2 approve --policy --yes >"$T/approve3.out" 2>&1 || { cat "$T/approve3.out" >&2; die "approve v3"; }
[ "$(maxversion)" = 3 ] || die "version 3 is not published"
# The v3 entry made the log grow: the round that follows asks w2 alone.
rp_wait_for 20 served_all || die "the log with version 3 was never served"
sleep 3
[ "$(cosigns 1)" = "$w1_before" ] || die "witness w1, removed by version 3, is still asked ($w1_before, then $(cosigns 1))"
rp_ok "v3 published; w1 (removed by v3) is no longer asked to cosign"

test_chain_walk_two_versions() {
	mkdir -p "$T/behind"
	cp "$T/v1.policy" "$T/behind/acme.policy"
	rp_sql "SELECT writefile('$T/v3.note', policy) FROM policies WHERE org = 'acme' AND version = 3;" >/dev/null
	RAMPART_CONFIG=$T/behind/config rp_as 1 policy status >"$T/behind.out" 2>&1 ||
		{ cat "$T/behind.out" >&2; die "policy status two versions behind"; }
	grep -q 'follows the chain from version 1 to 3' "$T/behind.out" &&
		[ "$(awk '$1 == "version" {print $2; exit}' "$T/behind/acme.policy")" = 3 ] &&
		cmp -s "$T/behind/acme.policy" "$T/v3.note" ||
		{ cat "$T/behind.out" >&2; die "a CLI two versions behind did not catch up to v3"; }
	rp_ok "test_chain_walk_two_versions: a CLI trusting v1 verifies v2 and v3 and trusts v3"
}
test_chain_walk_two_versions

test_server_forged_next_policy() {
	# Version 4 written into the database: admin1's signature only, 1 of
	# version 3's 2. The server serves it; the CLI must not follow it.
	rp_as 1 policy status >/dev/null 2>&1 || die "policy status before the forgery"
	cp "$A/acme.policy" "$T/trusted.before"
	text "$A/acme.policy" | sed -e 's/^version 3$/version 4/' >"$T/policy.txt"
	signas "$T/forged.note" 1
	rp_sql "INSERT INTO policies (org, version, hash, policy, created)
		VALUES ('acme', 4, 'sha256:00', readfile('$T/forged.note'), strftime('%s','now'));"
	out=$(rp_as 1 policy status 2>&1) && die "the CLI accepted a forged version 4: $out"
	grep -q 'SECURITY: root policy version 4 from the server does not follow version 3' <<<"$out" &&
		grep -q 'Nothing beyond version 3 is trusted' <<<"$out" ||
		die "the forged version 4 was not refused as SECURITY: $out"
	cmp -s "$A/acme.policy" "$T/trusted.before" || die "the trusted copy changed after a forged version"
	rp_sql "DELETE FROM policies WHERE org = 'acme' AND version = 4;"
	rp_ok "test_server_forged_next_policy: SECURITY, trusted copy unchanged at version 3"
}
test_server_forged_next_policy

# Lockout: a proposal leaving the root role with a threshold above its keys.
out=$(rp_as 1 policy propose --yes --remove-admin admin2@acme.example 2>&1) &&
	die "a proposal that locks the org out was made: $out"
grep -q 'refused: role root would need 2 signatures of its 1 keys' <<<"$out" || die "lockout not refused: $out"
[ "$(rp_sql "SELECT COUNT(*) FROM policy_proposals;")" = 0 ] || die "a lockout proposal reached the server"
rp_ok "policy propose refuses a version that would lock the org out"

# v3 expires in 20 days: every CLI command warns, and so does rampartd at start.
grep -q 'warning: org acme: the root policy (version 3) expires at .*, in 19 days 23 hours' "$T/behind.out" ||
	{ cat "$T/behind.out" >&2; die "the CLI did not warn of the trusted policy's expiry"; }
rp_server_stop
rp_server_start
rp_wait_for 10 grep -q 'rampartd: warning: org acme: the root policy (version 3) expires at' "$T/server.log" ||
	die "rampartd did not warn at start that the current policy expires within 30 days"
rp_ok "a current policy expiring within 30 days: the CLI warns on every command, rampartd at start"

# Signatures gathered offline: propose --out, `policy sign' on the file (as a
# key kept in a safe would sign it), `policy submit'.
rp_as 1 policy propose --yes --expires 300d --out "$T/v4.offline" >"$T/propose4.out" 2>&1 ||
	{ cat "$T/propose4.out" >&2; die "policy propose --out v4"; }
"$CLI" policy sign --yes --key "$A/admin2.key" "$T/v4.offline" >/dev/null || die "policy sign v4 offline"
rp_as 1 policy submit "$T/v4.offline" >"$T/submit4.out" 2>&1 || { cat "$T/submit4.out" >&2; die "policy submit v4"; }
grep -q 'of version 3 (trusted): 2 of 2; of version 4 (its own): 2 of 2' "$T/submit4.out" &&
	grep -q 'server: published' "$T/submit4.out" && [ "$(maxversion)" = 4 ] ||
	{ cat "$T/submit4.out" >&2; die "v4 signed offline was not published"; }
rp_ok "propose --out, policy sign offline, policy submit: v4 published"
