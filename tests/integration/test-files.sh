#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A secret key is checked on the file that is read, not on a path before
# the open: rampart-witness's key swapped between a check and the open
# (swap-open.so, an LD_PRELOAD shim, renames a prepared file over the key
# at the moment the witness opens it), a key that is a link, a FIFO, a key
# open to others. Each must stop `serve' before it serves anything.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rp_init "$1"

W=$BIN/witness/rampart-witness
SHIM=$BIN/tests/integration/swap-open.so
WDATA=$T/witness
KEY=$WDATA/witness.key
WPORT=$(rp_free_port)
[ -x "$W" ] && [ -f "$SHIM" ] || die "rampart-witness or swap-open.so not built in $BIN"
# The shim is loaded before the sanitizer runtime in the ASan build.
SHIM_ASAN=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# serve_until_decided [env...]: starts serve; returns once it either exited
# (SERVE_RC set) or said it is serving (SERVE_RC empty, still running).
serve_until_decided() {
	: >"$T/serve.err"
	env "$@" "$W" serve --data "$WDATA" --listen "127.0.0.1:$WPORT" 2>"$T/serve.err" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	rp_wait_for 20 eval "! kill -0 $SERVE_PID 2>/dev/null || grep -q ': serving ' '$T/serve.err'" ||
		die "serve neither served nor exited (blocked on its key?): $(cat "$T/serve.err")"
	SERVE_RC=
	if ! grep -q ': serving ' "$T/serve.err"; then
		SERVE_RC=0
		wait "$SERVE_PID" || SERVE_RC=$?
	fi
}

# swapped_in NAME WHY: the key is replaced by $T/NAME as serve opens it;
# serve must refuse it, saying WHY. Then the good key is put back.
swapped_in() {
	local name=$1 why=$2
	serve_until_decided LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
		RP_SWAP_TARGET="$KEY" RP_SWAP_WITH="$T/$name"
	if [ -z "$SERVE_RC" ]; then
		kill "$SERVE_PID"
		die "serve used a key swapped in for $name: $(cat "$T/serve.err")"
	fi
	[ ! -e "$T/$name" ] && [ ! -L "$T/$name" ] || die "the shim did not swap $name in (not preloaded?)"
	[ "$SERVE_RC" -ne 0 ] || die "serve exited 0 on $name"
	grep -q "$why" "$T/serve.err" || die "refusal of $name does not say '$why': $(cat "$T/serve.err")"
	rm -f "$KEY"
	cp -p "$T/good.key" "$KEY"
}

"$W" init --data "$WDATA" --name witness.test/w1 >/dev/null 2>>"$T/cli.log" || die "init"
cp -p "$KEY" "$T/good.key"

# Control: the key as init wrote it serves, with the shim loaded and idle.
serve_until_decided LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" RP_SWAP_TARGET=/nonexistent \
	RP_SWAP_WITH=/nonexistent
[ -z "$SERVE_RC" ] || die "serve refused its own key: $(cat "$T/serve.err")"
kill "$SERVE_PID"
wait "$SERVE_PID" || true
rp_ok "control: serve starts on the key init wrote, with the shim preloaded"

# The same key, open to others: the old check (stat before the open) saw
# the 0600 file that was there before the swap and served with this one.
cp "$T/good.key" "$T/open.key"
chmod 0644 "$T/open.key"
swapped_in open.key "open to others (mode 644)"
rp_ok "attack key_swapped_open_to_others: a 0644 copy swapped in at the open is refused"

# A link to a private copy elsewhere: stat followed it and saw 0600.
mkdir -m 0700 "$T/elsewhere"
cp -p "$T/good.key" "$T/elsewhere/key"
ln -s "$T/elsewhere/key" "$T/link.key"
swapped_in link.key "symbolic link"
rp_ok "attack key_swapped_for_link: a symbolic link swapped in at the open is refused"

# A FIFO: the old open blocked on it for ever, and serve never started.
mkfifo -m 0600 "$T/fifo.key"
swapped_in fifo.key "not a regular file"
rp_ok "attack key_swapped_for_fifo: a FIFO swapped in is refused at once, not waited on"

# No race needed: a key made readable by others is refused as before.
chmod 0640 "$KEY"
serve_until_decided
[ -n "$SERVE_RC" ] && [ "$SERVE_RC" -ne 0 ] || die "serve used a 0640 key"
grep -q "chmod 600" "$T/serve.err" || die "the refusal does not say how to fix it"
chmod 0600 "$KEY"
rp_ok "a key open to the group is refused, with the chmod that fixes it"
