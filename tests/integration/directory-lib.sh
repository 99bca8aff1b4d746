# SPDX-License-Identifier: Apache-2.0
# Directory changes for the integration tests (test-directory.sh,
# test-directory-quorum.sh), sourced after lib.sh: through the CLI, or as a
# breached server would make them.

# dir_change ARGS...: admin 1 proposes the change, admin 2 approves it; prints its id.
dir_change() {
	local id
	id=$(rp_as 1 "$@" | awk '$1 == "command" {print $2}')
	[ -n "$id" ] || die "no statement id from: rampart $*"
	rp_as 2 approve --yes "$id" >"$T/approve.$id" 2>&1 || { cat "$T/approve.$id" >&2; die "approve $id"; }
	echo "$id"
}

# dir_done ID DEVICE: waits for the device's result of directory statement ID.
dir_done() {
	rp_wait_for 30 bash -c "[ \"\$(rp_status_ '$1' '$2')\" = done ]" ||
		die "directory statement $1 not done on $2: $(rp_as 1 results "$1" 2>&1 | tail -n 5)"
}
rp_status_() { rp_status "$@"; }

# rp_dir_exports: what the functions above need in the shells rp_wait_for starts.
rp_dir_exports() {
	export -f rp_status_ rp_status rp_as
	export CLI PORT PIN ORG T
}

# Directory statements that never went through the API: signed by whom the
# attacker chooses, inserted as approved rows, which the sequencer logs.
forge() { # forge FILE ADMIN...: a directory statement chained to the current one, signed
	local text=$1 note=$2
	shift 2
	rp_sign "$text" "$note" "$@"
}

next_text() { # next_text OUT LINES...: the next version's text, made from the verified state
	local out=$1 ver head
	shift
	ver=$(rp_as 1 --json directory show | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
	head=$(sed -n 's/^head //p' "$T/admin/acme.directory")
	{
		printf 'rampart/directory/v1\norg acme\nid %s\nversion %d\nprevious %s\nexpires %s\n' \
			"$(openssl rand -hex 16)" $((ver + 1)) "$head" "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
		printf '%s\n' "$@"
	} >"$out"
}

inject() { # inject NOTE: stored as an approved statement behind the API's back
	local id
	id=$(sed -n 's/^id //p' "$1")
	rp_sql "INSERT INTO commands (id, org, statement, payload, state, created) VALUES
		('$id', 'acme', readfile('$1'), x'', 'approved', strftime('%s','now'));
		INSERT INTO deliveries (command_id, device_id, status, updated)
		SELECT '$id', id, 'pending', strftime('%s','now') FROM devices;"
	echo "$id"
}
