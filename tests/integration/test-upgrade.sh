#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Agent upgrades and the enrol line (issue 11), over real binaries. The
# package is a copy of the agent binary; the agent's --installer is a
# script of this test that puts it in place of the binary the agent runs
# from ($T/bin), so an installed upgrade is seen end to end: the package
# fetched piece by piece, checked, installed, reported, the agent running
# again from the new file. The attacks are a breached rampartd's: it
# rewrites its package store, and cannot sign.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

rp_server_init
rp_witnesses 1
rp_admins 2
rp_org acme 2 2
rp_enroll a1

mkdir -p "$T/bin" "$T/shim"
cp "$AGENT" "$T/bin/rampart-agent"
cat >"$T/install.sh" <<EOF
#!/bin/sh
# the test's installer: records what it was handed, then installs it
set -e
echo "\$(sha256sum "\$1" | cut -d' ' -f1) \${RAMPART_COMMAND_ID:-}" >>"$T/installed.log"
cp "\$1" "$T/bin/rampart-agent.new"
chmod 0755 "$T/bin/rampart-agent.new"
mv -f "$T/bin/rampart-agent.new" "$T/bin/rampart-agent"
echo "installed \$1"
EOF
chmod 0755 "$T/install.sh"
: >"$T/installed.log"
notify_listen agent
NOTIFY_SOCKET=$T/agent.notify "$T/bin/rampart-agent" run --state-dir "$T/a1" --poll-wait 5 --max-backoff 2 \
	--installer "$T/install.sh" >>"$T/a1.log" 2>&1 &
APID=$!
PIDS+=("$APID")

# Packages: the agent binary, and the same with bytes appended (another hash).
PKG=$T/rampart-agent.deb
cp "$T/bin/rampart-agent" "$PKG"
PKG_SHA=$(sha256sum "$PKG" | cut -d' ' -f1)
PKG_SIZE=$(stat -c %s "$PKG")

upgrade_id() { awk '$1 == "command" {print $2}'; }
# installs: how many packages the installer was handed
installs() { wc -l <"$T/installed.log"; }
# alerts_at_least CODE N: the server holds N alerts of that code or more
alerts_at_least() { [ "$(rp_as 1 --json alerts | grep -o "\"$1\"" | wc -l)" -ge "$2" ]; }
# polled_twice: the agent's log shows a second start
polled_twice() { [ "$(grep -c ' polling https' "$T/a1.log")" -ge 2 ]; }
# status_is ID STATUS: the device's status for command ID
status_is() { [ "$(rp_status "$1" "$DEV_a1")" = "$2" ]; }

test_store_refuses_wrong_bytes() {
	local tok code
	tok=$(rp_as 1 token create --name up --scope write --expires 1h)
	# a piece whose whole does not hash to the name: nothing kept
	head -c 1000 /dev/urandom >"$T/junk"
	code=$(curl -sk --tlsv1.3 -o "$T/put.out" -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $tok" --data-binary @"$T/junk" \
		"https://127.0.0.1:$PORT/v1/orgs/acme/packages/$PKG_SHA?size=1000&offset=0")
	[ "$code" = 400 ] || die "a package that does not hash to its name: HTTP $code"
	grep -q 'do not hash' "$T/put.out" || die "the refusal does not say why: $(cat "$T/put.out")"
	[ "$(rp_sql "SELECT count(*) FROM packages")" = 0 ] || die "a wrong package was kept"
	# a piece of the wrong length
	code=$(curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $tok" --data-binary @"$T/junk" \
		"https://127.0.0.1:$PORT/v1/orgs/acme/packages/$PKG_SHA?size=5000000&offset=0")
	[ "$code" = 400 ] || die "a short first piece: HTTP $code"
	# no write credential, no upload
	code=$(curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$T/junk" \
		"https://127.0.0.1:$PORT/v1/orgs/acme/packages/$PKG_SHA?size=1000&offset=0")
	[ "$code" = 401 ] || die "an upload without credentials: HTTP $code"
	rp_ok "the package store keeps only bytes that hash to their name, uploaded with a write credential"
}

# healthy: rampart-agent status says OK and exits 0
healthy() { "$AGENT" status --state-dir "$T/a1" >"$T/status.out" 2>&1; }

test_status_healthy() {
	rp_wait_for 30 healthy || die "a fresh agent is not healthy: $(cat "$T/status.out")"
	grep -q '^health   OK$' "$T/status.out" || die "status: $(cat "$T/status.out")"
	grep -q "^device   $DEV_a1 of org acme" "$T/status.out" || die "status names no device"
	rp_ok "rampart-agent status: a new agent with no alerts is healthy (exit 0)"
}

test_upgrade_installs() {
	local id
	id=$(rp_as 1 upgrade --to "$DEV_a1" --version 99.0 "$PKG" | upgrade_id)
	[ -n "$id" ] || die "upgrade: no command id"
	# pieces: a package over 1 MiB travels in several
	[ "$(rp_sql "SELECT count(*) FROM package_chunks WHERE sha256 = '$PKG_SHA'")" -gt 1 ] ||
		die "the package was not stored in pieces"
	# one signature of two: nothing is installed
	sleep 3
	[ "$(installs)" = 0 ] || die "installed with one signature of two"
	rp_as 2 approve "$id" </dev/null >"$T/review.out" 2>&1 || true
	grep -q "upgrade: rampart-agent 99.0 for $(dpkg --print-architecture 2>/dev/null || echo amd64), package sha256:$PKG_SHA" \
		"$T/review.out" || die "approve does not show the release: $(head -c 600 "$T/review.out")"
	rp_as 2 approve --yes "$id" >"$T/approve.out" || die "approve the upgrade"
	rp_wait_for 60 status_is "$id" done ||
		die "upgrade not done: $(rp_status "$id" "$DEV_a1"); $(tail -5 "$T/a1.log")"
	[ "$(installs)" = 1 ] || die "the installer ran $(installs) times"
	grep -q "^$PKG_SHA $id\$" "$T/installed.log" ||
		die "the installer got other bytes or no command id: $(cat "$T/installed.log")"
	rp_as 1 output "$id" "$DEV_a1" | grep -q "installed $T/a1/upgrade/$PKG_SHA.deb" ||
		die "the installer's output is not the result's"
	[ "$(cat "$T/a1/upgrade.state")" = 99.0 ] || die "upgrade.state: $(cat "$T/a1/upgrade.state")"
	[ ! -e "$T/a1/upgrade/$PKG_SHA.deb" ] || die "the package file was left behind"
	# the agent ran itself again: the same process, a new start, polling
	rp_wait_for 20 grep -q 'rampart-agent 99.0 installed; restarting' "$T/a1.log" ||
		die "no restart line"
	rp_wait_for 20 polled_twice ||
		die "the agent did not start again: $(tail -3 "$T/a1.log")"
	kill -0 "$APID" || die "the agent is gone after its upgrade"
	# to systemd (Type=notify) the same service, ready again, never stopping
	rp_wait_for 20 bash -c "[ \$(grep -cx READY=1 '$T/agent.notified') -ge 2 ]" ||
		die "no second READY=1: $(cat "$T/agent.notified")"
	! grep -qx STOPPING=1 "$T/agent.notified" || die "the upgrade told systemd the agent stops"
	[ "$(readlink "/proc/$APID/exe")" = "$T/bin/rampart-agent" ] ||
		die "the agent does not run the installed file: $(readlink "/proc/$APID/exe")"
	rp_ok "a signed upgrade is fetched in pieces, hash-checked, installed, reported, and the agent runs the new binary"
}

# sign_upgrade VERSION FILE [ARGS]: an upgrade approved by both admins; its id
sign_upgrade() {
	local v=$1 f=$2 id; shift 2
	id=$(rp_as 1 upgrade --to "$DEV_a1" --version "$v" "$@" "$f" | upgrade_id)
	[ -n "$id" ] || die "upgrade $v: no command id"
	echo "$id"
}

test_rollback_refused() {
	local id n0
	n0=$(installs)
	for v in 50.0 99.0; do
		id=$(sign_upgrade "$v" "$PKG")
		rp_as 2 approve --yes "$id" >/dev/null || die "approve $v"
		rp_wait_for 30 status_is "$id" refused ||
			die "upgrade to $v: $(rp_status "$id" "$DEV_a1")"
	done
	[ "$(installs)" = "$n0" ] || die "a rollback was installed"
	rp_wait_for 10 alerts_at_least rollback 2 || die "no rollback alerts"
	grep -q 'to 50.0 refused: not newer than 99.0' "$T/a1/alerts.log" ||
		die "the alert does not say why: $(tail -3 "$T/a1/alerts.log")"
	rp_ok "an upgrade to an older or the same version is refused as a rollback, alerted, never installed"
}

test_wrong_arch_refused() {
	local id n0
	n0=$(installs)
	id=$(sign_upgrade 120.0 "$PKG" --arch s390x)
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_wait_for 30 status_is "$id" refused ||
		die "another architecture's release: $(rp_status "$id" "$DEV_a1")"
	[ "$(installs)" = "$n0" ] || die "another architecture's package was installed"
	rp_ok "a release for another architecture is refused"
}

# The breached server swaps the package's bytes once administrators signed its hash.
test_swapped_package_refused() {
	local id n0
	n0=$(installs)
	cp "$PKG" "$T/other.deb"
	echo "# not the signed release" >>"$T/other.deb"
	local sha
	sha=$(sha256sum "$T/other.deb" | cut -d' ' -f1)
	id=$(sign_upgrade 150.0 "$T/other.deb")
	rp_sql "UPDATE package_chunks SET data = zeroblob(length(data)) WHERE sha256 = '$sha' AND seq = 1"
	rp_as 2 approve --yes "$id" >/dev/null || die "approve"
	rp_wait_for 30 status_is "$id" refused ||
		die "a swapped package: $(rp_status "$id" "$DEV_a1")"
	[ "$(installs)" = "$n0" ] || die "a swapped package was installed"
	rp_wait_for 10 alerts_at_least package-hash 1 || die "no package-hash alert"
	[ -z "$(ls "$T/a1/upgrade")" ] || die "the swapped package was left on disk"
	kill -0 "$APID" || die "the agent is gone after refusing a swapped package"
	rp_ok "attack: a package swapped in the server's store is refused by its signed hash, alerted, not installed"
}

test_status_reports_alerts() {
	local rc=0
	"$AGENT" status --state-dir "$T/a1" --json >"$T/status.json" || rc=$?
	[ "$rc" = 1 ] || die "status exits $rc after alerts, not 1"
	python3 - "$T/status.json" "$DEV_a1" <<'EOF' || die "status --json: $(cat "$T/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["device"] == sys.argv[2] and s["org"] == "acme", s
assert s["installed_release"] == "99.0", s["installed_release"]
assert s["healthy"] is False and any("alerts" in p for p in s["problems"]), s["problems"]
a = s["alerts_24h"]
assert a["by_code"]["rollback"] >= 2 and a["by_code"]["package-hash"] >= 1, a
assert s["log"]["read"] == s["log"]["size"] and s["log"]["age_s"] >= 0, s["log"]
assert s["results_waiting"] == 0
EOF
	rp_ok "rampart-agent status reports the installed release and the day's alerts by code, and exits 1"
}

test_releases_and_enroll_command() {
	local tok line out
	rp_as 1 releases >"$T/releases.out" || die "releases"
	grep -E "^99\.0 +[a-z0-9]+ +yes " "$T/releases.out" >/dev/null ||
		die "releases does not list 99.0 as signed: $(cat "$T/releases.out")"
	tok=$(rp_as 1 enroll-token --expires 10m 2>/dev/null) || die "enroll-token"
	line=$(rp_as 1 enroll-command --token "$tok" --release 99.0 2>"$T/ec.err") ||
		die "enroll-command: $(cat "$T/ec.err")"
	grep -q "sha256:$PKG_SHA" "$T/ec.err" || die "enroll-command does not name the hash"
	case $line in
	*"$PKG_SHA"*--pinnedpubkey*) ;;
	*) case $line in *--pinnedpubkey*"$PKG_SHA"*) ;; *) die "the line: $line" ;; esac ;;
	esac
	# the line run with shims for what would change this machine
	for c in apt-get rampart-agent systemctl; do
		printf '#!/bin/sh\necho "%s $*" >>%s/shim.log\n[ "%s" != apt-get ] || sha256sum "$3" >>%s/shim.log\n' \
			"$c" "$T" "$c" "$T" >"$T/shim/$c"
		chmod 0755 "$T/shim/$c"
	done
	PATH=$T/shim:$PATH bash -c "$line" >"$T/line.out" 2>&1 || die "the line failed: $(cat "$T/line.out")"
	grep -q "^$PKG_SHA " "$T/shim.log" || die "apt-get got other bytes: $(cat "$T/shim.log")"
	grep -q "^rampart-agent enroll --token $tok\$" "$T/shim.log" || die "no enrol: $(cat "$T/shim.log")"
	grep -q "^systemctl enable --now rampart-agent\$" "$T/shim.log" || die "no start"
	# a server that swaps the package: the line stops before installing anything
	: >"$T/shim.log"
	rp_sql "UPDATE package_chunks SET data = zeroblob(length(data)) WHERE sha256 = '$PKG_SHA' AND seq = 0"
	if PATH=$T/shim:$PATH bash -c "$line" >"$T/line.out" 2>&1; then
		die "the line succeeded with a swapped package"
	fi
	[ ! -s "$T/shim.log" ] || die "the line went on past a bad hash: $(cat "$T/shim.log")"
	# no signed release of that version: nothing printed
	if out=$(rp_as 1 enroll-command --token "$tok" --release 7.0 2>&1); then
		die "enroll-command printed a line for an unsigned release: $out"
	fi
	# docs/deployment.md step 7: a release for new servers only (--to tag:none), then the
	# line for the newest signed one; no enrolled device installs it
	local n0 id rel
	n0=$(installs)
	cp "$PKG" "$T/new.deb"
	echo "# 200.0" >>"$T/new.deb"
	rel=$(sha256sum "$T/new.deb" | cut -d' ' -f1)
	id=$(rp_as 1 upgrade --to tag:none --version 200.0 "$T/new.deb" | upgrade_id)
	[ -n "$id" ] || die "upgrade --to tag:none: no command id"
	rp_as 2 approve --yes "$id" >/dev/null || die "approve the release for new servers"
	line=$(rp_as 1 enroll-command --token "$tok" 2>"$T/ec.err") || die "enroll-command: $(cat "$T/ec.err")"
	grep -q "release 200.0 for" "$T/ec.err" && [[ $line == *"$rel"* ]] ||
		die "enroll-command did not take the newest signed release: $(cat "$T/ec.err")"
	sleep 3
	[ "$(installs)" = "$n0" ] || die "a release for no device was installed"
	rp_ok "enroll-command prints a line that installs only the package whose hash the exec quorum signed; a release for new servers alone (--to tag:none) is its default"
}

test_status_healthy
test_store_refuses_wrong_bytes
test_upgrade_installs
test_rollback_refused
test_wrong_arch_refused
test_swapped_package_refused
test_status_reports_alerts
test_releases_and_enroll_command
rp_note "all upgrade tests passed"
