# Shared helpers for tests/guest/*.test.sh (sourced; bash). Runs inside the VM.
#
#   atomfs_start SRC MNT [ATOMFS_OPTIONS...]   mount atomfs (-f, --stats) and wait for it
#   atomfs_stop                                unmount, wait for the server, check its status
#   atomfs_remount                             stop + start with the same arguments (cold cache)
#   counts_reset                               remember the current counters as zero
#   count OPCODE                               requests of OPCODE since counts_reset
#   expect_counts "OPEN_ATOMIC=1 LOOKUP=0 ..." assert exact counts since counts_reset, then reset
#   expect_at_most N "OP1 OP2"                 the requests of these opcodes add up to <= N, then reset
#   expect_eq WHAT EXPECTED ACTUAL             assert equality (prints both on failure)
#   server_inodes                              inodes the server knows (root included)
#   expect_all_forgotten                       drop the kernel's caches; the server ends up knowing only the root
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

# Under TCG every process costs about 0.2 s, so the helpers that run often
# (waiting, reading the stats) use bash builtins and at most one awk.

# _nap SECONDS: sleep without a process (read with a timeout from a FIFO that
# never gets data)
_nap() {
	if [ -z "${_nap_fd:-}" ]; then
		mkfifo "$WORK/nap"
		exec {_nap_fd}<>"$WORK/nap"
	fi
	read -r -t "$1" -u "$_nap_fd" _ || true
}

_is_fuse_mounted() {
	local dev m t rest
	while read -r dev m t rest; do
		[ "$m" = "$1" ] && [[ $t == fuse* ]] && return 0
	done </proc/self/mounts
	return 1
}

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
	for ((i = 0; i < 600; i++)); do
		_is_fuse_mounted "$_afs_mnt" && break
		kill -0 "$_afs_pid" 2>/dev/null || { cat "$WORK/atomfs.log" >&2; _afs_pid=; fail "atomfs exited at start"; }
		_nap 0.05
	done
	_is_fuse_mounted "$_afs_mnt" || fail "atomfs did not mount $_afs_mnt within 30s"
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
	local i content flat
	for ((i = 0; i < 1000; i++)); do
		_nap 0.02
		[ -s "$_afs_stats" ] || continue
		IFS= read -r -d '' content <"$_afs_stats" || true
		# complete once the JSON object is closed (atomfs may write in place)
		flat=${content//[[:space:]]/}
		if [ "${flat: -1}" = "}" ]; then
			printf '%s\n' "$content"
			return 0
		fi
	done
	fail "atomfs did not write $_afs_stats within 20s of SIGUSR1"
}

counts_reset() { _stats_now >"$_afs_base"; }

# Prints "OPCODE=n" lines (differences since counts_reset) for the given opcodes,
# every changed opcode when none are given. Counters are the plain numbers of the
# stats' "requests" object: {"requests":{"LOOKUP":3,"OPEN_ATOMIC":1},...}.
_count_diff() {
	_stats_now >"$WORK/now.json"
	awk -v names="$*" -v base="$_afs_base" '
		{ text[FILENAME] = text[FILENAME] $0 }
		function requests(s, out,   n, kv, i, p) {
			gsub(/[ \t\r\n]/, "", s)
			if (!match(s, /"requests":[{][^}]*[}]/))
				return 0
			n = split(substr(s, RSTART + 12, RLENGTH - 13), kv, ",")
			for (i = 1; i <= n; i++)
				if (split(kv[i], p, ":") == 2 && p[2] ~ /^[0-9]+$/) {
					gsub(/"/, "", p[1])
					out[p[1]] = p[2]
				}
			return 1
		}
		END {
			for (f in text) if (f != base) nowf = f
			if (!requests(text[nowf], now)) {
				print "no \"requests\" object in the stats: " substr(text[nowf], 1, 300) >"/dev/stderr"
				exit 3
			}
			requests(text[base], old)
			n = split(names, want, " ")
			if (n == 0) for (k in now) if (now[k] != old[k]) want[++n] = k
			for (i = 1; i <= n; i++) printf "%s=%d\n", want[i], now[want[i]] - old[want[i]]
		}' "$_afs_base" "$WORK/now.json"
}

# the stats just read by _count_diff become the base of the next step
_counts_advance() {
	local content
	IFS= read -r -d '' content <"$WORK/now.json" || true
	printf '%s' "$content" >"$_afs_base"
}

count() { _count_diff "$1" | cut -d= -f2; }

# expect_counts "OPEN_ATOMIC=1 LOOKUP=0": exact request counts since counts_reset;
# resets the counters afterwards, so consecutive checks each cover one step.
expect_counts() {
	local want=$1 names=() w got
	for w in $want; do names+=("${w%%=*}"); done
	got=$(_count_diff "${names[@]}") || fail "could not read the request counts"
	got=${got//$'\n'/ }
	if [ "$got" != "$want" ]; then
		echo "  all requests since reset: $(_count_diff | tr '\n' ' ')" >&2
		fail "request counts: want [$want] got [$got]"
	fi
	note "counts ok: $got"
	_counts_advance
}

# expect_at_most N "OPEN_ATOMIC LOOKUP": for an open whose exact counts depend on
# how the kernel revalidates (in ->d_revalidate() or in ->open()), a bound on the
# round trips it may take; resets the counters afterwards, as expect_counts does.
expect_at_most() {
	local max=$1 names got sum=0 w
	read -ra names <<<"$2"
	got=$(_count_diff "${names[@]}") || fail "could not read the request counts"
	got=${got//$'\n'/ }
	for w in $got; do sum=$((sum + ${w#*=})); done
	if [ "$sum" -gt "$max" ]; then
		echo "  all requests since reset: $(_count_diff | tr '\n' ' ')" >&2
		fail "request counts: want at most $max of [$2] got [$got]"
	fi
	note "counts ok (at most $max): $got"
	_counts_advance
}

# The number of inodes the server knows, the root included ("fs":{"inodes":N}).
server_inodes() {
	local content
	_stats_now >"$WORK/inodes.json"
	IFS= read -r -d '' content <"$WORK/inodes.json" || true
	[[ $content =~ \"inodes\":[[:space:]]*([0-9]+) ]] || fail "no \"inodes\" in the stats"
	echo "${BASH_REMATCH[1]}"
}

# Lookup counts balance: once the kernel dropped every unused dentry and inode,
# its FORGETs leave the server with the root alone (FORGETs are queued
# asynchronously: wait for them, generously).
expect_all_forgotten() {
	local i n
	for ((i = 0; i < 100; i++)); do
		echo 2 >/proc/sys/vm/drop_caches
		n=$(server_inodes)
		[ "$n" = 1 ] && { note "lookups balanced: the server knows the root only"; return 0; }
		_nap 0.1
	done
	fail "the server still knows $n inodes (root included) after drop_caches: lookups and FORGETs do not balance"
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected [$2] got [$3]"
	note "$1: $3"
}

probe() {
	[ -x "$FSPROBE" ] || fail "fsprobe not built at $FSPROBE (run scripts/build.sh)"
	"$FSPROBE" "$@"
}
