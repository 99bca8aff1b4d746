#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What an operator installs (issue 11, docs/packaging.md): the tree
# `meson install' puts in place and, where Debian's tooling is present, the
# four .deb packages `make deb' builds, each unpacked into a temporary root
# (dpkg-deb -x: nothing is installed on this machine). The binaries are run
# from there through the main story (server, witness, org, an agent, a
# command), each daemon saying READY=1 to a NOTIFY_SOCKET of the test's own;
# every unit passes `systemd-analyze verify', and its `systemd-analyze
# security' figure is the one docs/packaging.md records.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$T/root
PREFIX=/usr/local

UNITS="rampartd rampart-witness rampart-agent"
MANS="man1/rampart.1 man8/rampartd.8 man8/rampart-agent.8 man8/rampart-witness.8"

# units_check ROOT BINDIR: every unit verifies with ExecStart pointed into
# ROOT, and has the exposure figure docs/packaging.md gives.
units_check() {
	local root=$1 bindir=$2 u f out fig want
	mkdir -p "$T/units"
	for u in $UNITS; do
		f=$root/$3/$u.service
		[ -f "$f" ] || die "no $u.service in $root/$3"
		grep -q "^ExecStart=$bindir/" "$f" || die "$u.service: ExecStart is not in $bindir: $(grep ExecStart "$f")"
		sed "s|^ExecStart=$bindir/|ExecStart=$root$bindir/|" "$f" >"$T/units/$u.service"
		out=$(systemd-analyze verify --man=no "$T/units/$u.service" 2>&1) || die "verify $u: $out"
		[ -z "$out" ] || die "systemd-analyze verify $u.service: $out"
		fig=$(systemd-analyze security --offline=yes "$T/units/$u.service" 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		want=$(sed -n "s/^| \`$u.service\` | \([0-9.]*\) |.*/\1/p" "$SRC/docs/packaging.md")
		[ -n "$fig" ] && [ "$fig" = "$want" ] ||
			die "$u.service: systemd-analyze security says ${fig:-nothing}, docs/packaging.md ${want:-nothing}"
	done
}

test_meson_install() {
	DESTDIR=$ROOT meson install -C "$BIN" --quiet --no-rebuild >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log" >&2; die "meson install --destdir"; }
	local f
	for f in bin/rampartd bin/rampart-agent bin/rampart bin/rampart-witness \
		lib/systemd/system/rampartd.service lib/systemd/system/rampart-witness.service \
		lib/systemd/system/rampart-agent.service lib/sysusers.d/rampartd.conf \
		lib/sysusers.d/rampart-witness.conf lib/sysusers.d/rampart-agent.conf \
		lib/tmpfiles.d/rampartd.conf lib/tmpfiles.d/rampart-agent.conf \
		share/bash-completion/completions/rampart share/doc/rampart/deployment.md; do
		[ -e "$ROOT$PREFIX/$f" ] || die "meson install left out $PREFIX/$f"
	done
	for f in rampartd rampart-witness rampart-agent; do
		[ -f "$ROOT$PREFIX/etc/default/$f" ] || die "no /etc/default/$f"
	done
	for f in $MANS; do [ -f "$ROOT$PREFIX/share/man/$f" ] || die "no man page $f"; done
	# nothing outside the prefix (no test touches this machine's /etc or /lib)
	[ "$(find "$ROOT" -mindepth 1 -maxdepth 1)" = "$ROOT/usr" ] || die "installed outside $PREFIX: $(ls "$ROOT")"
	grep -q "^RestartPreventExitStatus=10$" "$ROOT$PREFIX/lib/systemd/system/rampart-agent.service" ||
		die "the agent's unit would restart a decommissioned agent"
	rp_ok "meson install --destdir: binaries, units, sysusers.d, tmpfiles.d, /etc/default, man pages, completion, docs"
}

test_units() {
	units_check "$ROOT" "$PREFIX/bin" "$PREFIX/lib/systemd/system"
	rp_ok "every unit passes systemd-analyze verify, its security exposure as docs/packaging.md records"
}

test_man_and_completion() {
	local f page c
	for f in $MANS; do
		page=$(MANWIDTH=100 man -l "$ROOT$PREFIX/share/man/$f" 2>"$T/man.err") || die "man -l $f: $(cat "$T/man.err")"
		[ ! -s "$T/man.err" ] || die "man -l $f warns: $(cat "$T/man.err")"
		grep -q "^SYNOPSIS" <<<"$page" && grep -q "^COMMANDS" <<<"$page" || die "$f has no SYNOPSIS or COMMANDS"
	done
	# every command `rampart --help' lists has its section in rampart(1)
	page=$(MANWIDTH=200 man -l "$ROOT$PREFIX/share/man/man1/rampart.1")
	for c in $("$CLI" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
		grep -q "^   rampart $c$" <<<"$page" || die "rampart(1) has no section for rampart $c"
	done
	# bash completion completes commands and options from the program itself
	local got
	got=$(PATH="$ROOT$PREFIX/bin:$PATH" bash -c '. "$1"; COMP_WORDS=(rampart pol); COMP_CWORD=1; _rampart; echo "${COMPREPLY[*]}";
		COMP_WORDS=(rampart results --wa); COMP_CWORD=2; _rampart; echo "${COMPREPLY[*]}"' _ \
		"$ROOT$PREFIX/share/bash-completion/completions/rampart")
	[ "$got" = $'policy\n--wait' ] || die "completion: $got"
	rp_ok "man pages render without warnings, one section per command; bash completion offers commands and options"
}

test_debs() {
	local d list_deb list_meson
	"$SRC/scripts/build-deb" "$T/deb" >"$T/build-deb.out" 2>&1 ||
		{ cat "$T/build-deb.out" >&2; die "make deb failed"; }
	grep -q "^build-deb: lintian clean$" "$T/build-deb.out" || die "lintian: $(cat "$T/build-deb.out")"
	for d in rampartd rampart-agent rampart rampart-witness; do
		[ -f "$T/deb/${d}_0.1.0_amd64.deb" ] || die "no package $d"
		dpkg-deb -x "$T/deb/${d}_0.1.0_amd64.deb" "$T/debroot"
	done
	[ -x "$T/debroot/usr/bin/rampartd" ] && [ -x "$T/debroot/usr/bin/rampart-agent" ] || die "no binaries in the packages"
	units_check "$T/debroot" /usr/bin lib/systemd/system
	# meson install puts the same files in place (its prefix aside; dpkg
	# adds its copyright and changelog and compresses man pages)
	list_deb=$(cd "$T/debroot" && find . -type f | sed -e 's|^\./lib/systemd|./usr/lib/systemd|' -e 's|\.gz$||' |
		grep -v -e '^\./usr/share/doc/rampart[a-z-]*/\(copyright\|changelog\)$' -e '^./usr/share/lintian/' | sort)
	list_meson=$(cd "$ROOT$PREFIX" && find . -type f | sed -e 's|^\./|./usr/|' -e 's|^\./usr/etc/|./etc/|' | sort)
	[ "$list_deb" = "$list_meson" ] || die "packages and meson install differ: $(diff <(echo "$list_deb") <(echo "$list_meson"))"
	rp_ok "make deb: four packages with Debian's tooling, lintian clean, unpacked into a temporary root: units verify, the same files as meson install"
}

# The main story with the packages' binaries, the daemons started as their
# units start them (Type=notify): each says READY=1 once it serves.
test_installed_binaries_run() {
	RAMPARTD=$T/debroot/usr/bin/rampartd AGENT=$T/debroot/usr/bin/rampart-agent
	CLI=$T/debroot/usr/bin/rampart WITNESS=$T/debroot/usr/bin/rampart-witness
	notify_listen server
	notify_listen witness
	notify_listen agent
	NOTIFY_SOCKET=$T/witness.notify rp_witnesses 1
	NOTIFY_SOCKET=$T/server.notify rp_server_init
	rp_wait_for 10 grep -qx READY=1 "$T/server.notified" || die "rampartd did not say READY=1"
	rp_wait_for 10 grep -qx READY=1 "$T/witness.notified" || die "the witness did not say READY=1"
	rp_admins 2
	rp_org acme 2 2
	rp_enroll a1
	NOTIFY_SOCKET=$T/agent.notify rp_agent_start a1
	rp_wait_for 30 grep -qx READY=1 "$T/agent.notified" || die "the agent did not say READY=1"
	local id
	id=$(rp_submit 1 --to "$DEV_a1" --run-as "$(id -un)" -- touch "$T/ran")
	rp_as 2 approve --yes "$id" >/dev/null
	rp_wait_for 60 test -e "$T/ran" || die "a command did not run with the installed binaries"
	rp_server_stop
	rp_wait_for 10 grep -qx STOPPING=1 "$T/server.notified" || die "rampartd did not say STOPPING=1"
	rp_ok "the packages' rampartd, witness, agent and CLI run the main story; each daemon says READY=1 (and STOPPING=1)"
}

test_meson_install
test_units
test_man_and_completion
test_debs
test_installed_binaries_run
rp_note "all package tests passed"
