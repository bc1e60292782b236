# Shared helpers for tests/guest/*.test.sh (sourced; bash). Runs inside the VM.
#
#   atomfs_start SRC MNT [ATOMFS_OPTIONS...]   mount atomfs (-f, --stats) and wait for it
#   atomfs_stop                                unmount, wait for the server, check its status
#   atomfs_remount                             stop + start with the same arguments (cold cache)
#   counts_reset                               remember the current counters as zero
#   count OPCODE                               requests of OPCODE since counts_reset
#   expect_counts "OPEN_ATOMIC=1 LOOKUP=0 ..." assert exact counts since counts_reset, then reset
#   expect_eq WHAT EXPECTED ACTUAL             assert equality (prints both on failure)
#   probe ARGS...                              run the fsprobe helper
#   fresh_source                               an empty source directory on tmpfs or ext4
#
# A test is a bash script that exits 0 on pass, 77 on skip, anything else on failure.
# Helpers fail the test (exit 1) with a message on the first broken assertion.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$GUEST_DIR/../.." && pwd)
BUILD=${BUILD_DIR:-$TOP/build}
ATOMFS_BIN=${ATOMFS_BIN:-$BUILD/fs/atomfs/atomfs}
FSPROBE=${ATOMFS_FSPROBE:-$BUILD/tests/guest/fsprobe}
WORK=$(mktemp -d /tmp/guest-test.XXXXXX)

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "  $*"; }

_afs_pid= _afs_args=() _afs_mnt= _afs_stats="$WORK/stats.json" _afs_base="$WORK/base.json"

_cleanup() {
	if [ -n "$_afs_pid" ]; then
		umount -l "$_afs_mnt" 2>/dev/null || true
		kill "$_afs_pid" 2>/dev/null || true
	fi
	rm -rf "$WORK" 2>/dev/null || true
}
trap _cleanup EXIT

# An empty source directory: on the ext4 disk when the VM has one and the test asks
# for it with SOURCE_FS=ext4, on tmpfs otherwise.
fresh_source() {
	local base=$WORK
	if [ "${SOURCE_FS:-tmpfs}" = ext4 ]; then
		[ -n "${ATOMFS_EXT4:-}" ] || skip "no ext4 disk (vm/run.sh --ext4)"
		base=$ATOMFS_EXT4
	fi
	mktemp -d "$base/src.XXXXXX"
}

_is_fuse_mounted() { awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { f = 1 } END { exit !f }' /proc/self/mounts; }

atomfs_start() {
	[ -x "$ATOMFS_BIN" ] || fail "atomfs not built at $ATOMFS_BIN (run scripts/build.sh)"
	local src=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	_afs_args=("$src" "$mnt" "$@")
	_afs_mnt=$(cd "$mnt" && pwd)
	"$ATOMFS_BIN" -f --stats="$_afs_stats" "$@" "$src" "$_afs_mnt" >"$WORK/atomfs.log" 2>&1 &
	_afs_pid=$!
	local i
	for i in $(seq 100); do
		_is_fuse_mounted "$_afs_mnt" && break
		kill -0 "$_afs_pid" 2>/dev/null || { cat "$WORK/atomfs.log" >&2; _afs_pid=; fail "atomfs exited at start"; }
		sleep 0.05
	done
	_is_fuse_mounted "$_afs_mnt" || fail "atomfs did not mount $_afs_mnt within 5s"
	# The mount is up; INIT may still be in flight. Any access waits for it.
	stat "$_afs_mnt" >/dev/null
	counts_reset
}

atomfs_stop() {
	[ -n "$_afs_pid" ] || return 0
	umount "$_afs_mnt" || fail "umount $_afs_mnt failed"
	local rc=0
	wait "$_afs_pid" || rc=$?
	_afs_pid=
	[ "$rc" = 0 ] || { cat "$WORK/atomfs.log" >&2; fail "atomfs exited with status $rc"; }
}

atomfs_remount() {
	local args=("${_afs_args[@]}")
	atomfs_stop
	atomfs_start "${args[@]}"
}

# Asks the server to rewrite its stats file and prints it once it is complete.
# (No python here: under TCG its start-up over 9p costs about a second per call.)
_stats_now() {
	[ -n "$_afs_pid" ] || fail "atomfs is not running"
	rm -f "$_afs_stats"
	kill -USR1 "$_afs_pid"
	local i
	for i in $(seq 250); do
		# complete once the JSON object is closed (atomfs may write in place)
		if [ -s "$_afs_stats" ] && [ "$(tr -d ' \n\t' <"$_afs_stats" | tail -c1)" = "}" ]; then
			cat "$_afs_stats"
			return 0
		fi
		sleep 0.02
	done
	fail "atomfs did not write $_afs_stats within 5s of SIGUSR1"
}

counts_reset() { _stats_now >"$_afs_base"; }

# The "requests" object of a stats file as "OPCODE n" lines. Counters are plain
# numbers: {"requests":{"LOOKUP":3,"OPEN_ATOMIC":1},...}.
_requests() {
	tr -d ' \n\t' <"$1" | grep -o '"requests":{[^}]*}' | head -n1 |
		sed 's/^"requests":{//; s/}$//' | tr ',' '\n' | sed -n 's/^"\([A-Z0-9_]*\)":\([0-9]*\)$/\1 \2/p'  | awk 1 # awk: end the last line
}

# Prints "OPCODE=n" lines (differences since counts_reset) for the given opcodes,
# every changed opcode when none are given.
_count_diff() {
	_stats_now >"$WORK/now.json"
	grep -q '"requests"' "$WORK/now.json" || fail "no \"requests\" object in the stats: $(head -c 300 "$WORK/now.json")"
	awk -v names="$*" '
		FNR == NR { base[$1] = $2; next }
		{ now[$1] = $2 }
		END {
			n = split(names, want, " ")
			if (n == 0) for (k in now) if (now[k] != base[k]) want[++n] = k
			for (i = 1; i <= n; i++) printf "%s=%d\n", want[i], now[want[i]] - base[want[i]]
		}' <(_requests "$_afs_base") <(_requests "$WORK/now.json")
}

count() { _count_diff "$1" | cut -d= -f2; }

# expect_counts "OPEN_ATOMIC=1 LOOKUP=0": exact request counts since counts_reset;
# resets the counters afterwards, so consecutive checks each cover one step.
expect_counts() {
	local want=$1 names=() w got
	for w in $want; do names+=("${w%%=*}"); done
	got=$(_count_diff "${names[@]}" | tr '\n' ' ')
	got=${got% }
	if [ "$got" != "$want" ]; then
		echo "  all requests since reset: $(_count_diff | tr '\n' ' ')" >&2
		fail "request counts: want [$want] got [$got]"
	fi
	note "counts ok: $got"
	cp "$WORK/now.json" "$_afs_base"
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected [$2] got [$3]"
	note "$1: $3"
}

probe() {
	[ -x "$FSPROBE" ] || fail "fsprobe not built at $FSPROBE (run scripts/build.sh)"
	"$FSPROBE" "$@"
}
