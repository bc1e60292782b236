# Shared helpers of the stress and security tests (sourced, not run).
#
# The filesystem under test is $FS_BIN: the atomfs binary, or the word
# "passthrough_ll", which builds libfuse's example from the installed
# libfuse3-dev into a temporary directory (the reference we developed the
# tests against; it is never committed). Options are given in atomfs's
# spelling and translated for passthrough_ll.
#
# Every helper prints what it does; failures go through fail(), which
# counts them, and finish() exits 1 if anything failed.

set -uo pipefail

FAILS=0
SKIP=77
say() { printf '%s: %s\n' "${TEST_NAME:-test}" "$*"; }
fail() { printf '%s: FAIL: %s\n' "${TEST_NAME:-test}" "$*"; FAILS=$((FAILS + 1)); }
ok() { printf '%s: ok: %s\n' "${TEST_NAME:-test}" "$*"; }
skip() { say "SKIP: $*"; exit $SKIP; }
finish() {
	if [ "$FAILS" -ne 0 ]; then
		say "$FAILS failure(s)"
		exit 1
	fi
	say "all checks passed"
	exit 0
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}

require_root_fuse() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -c /dev/fuse ] || skip "needs /dev/fuse"
}

# A scratch base outside any FUSE mount; removed by cleanup().
WORK=""
MOUNTS=()
FS_PIDS=()
make_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/atomfs-${TEST_NAME:-t}-XXXXXX")
	chmod 755 "$WORK"
	trap cleanup EXIT
}
cleanup() {
	local m p
	for m in "${MOUNTS[@]}"; do
		is_fuse "$m" && umount -l "$m" 2>/dev/null
	done
	for p in "${FS_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "$WORK" ]; then
		# Small tmpfs sources are mounted inside WORK.
		grep -F " $WORK/" /proc/mounts | awk '{print $2}' | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf --one-file-system "$WORK"
	fi
	[ -n "${CLEANUP_HOOK:-}" ] && $CLEANUP_HOOK
	return 0
}

is_fuse() { [ "$(stat -f -c %t "$1" 2>/dev/null)" = 65735546 ]; }

# Builds passthrough_ll once per test into $WORK (needs make_work first).
PASSTHROUGH_LL=""
build_passthrough_ll() {
	[ -n "$PASSTHROUGH_LL" ] && return 0
	local ex=/usr/share/doc/libfuse3-dev/examples
	[ -f $ex/passthrough_ll.c ] || skip "libfuse3-dev examples not installed"
	mkdir -p "$WORK/pll"
	cp $ex/passthrough_ll.c $ex/passthrough_helpers.h "$WORK/pll/"
	if ! cc -O1 -D_GNU_SOURCE -o "$WORK/pll/passthrough_ll" "$WORK/pll/passthrough_ll.c" \
		$(pkg-config --cflags --libs fuse3) 2>"$WORK/pll/build.log"; then
		cat "$WORK/pll/build.log"
		skip "cannot build passthrough_ll"
	fi
	PASSTHROUGH_LL=$WORK/pll/passthrough_ll
}

# ATOMFS_TEST_FS overrides the binary the test was registered with, e.g.
# ATOMFS_TEST_FS=passthrough_ll ctest -L security (the reference run).
fs_is_atomfs() {
	[ -n "${ATOMFS_TEST_FS:-}" ] && FS_BIN=$ATOMFS_TEST_FS
	[ "${FS_BIN:-}" != passthrough_ll ]
}

# fs_start SRC MNT [atomfs-style options...]: starts the server in the
# foreground (background job), waits for the mount. Sets FS_PID, FS_LOG and
# FS_STATS (empty for passthrough_ll).
FS_PID=""
FS_LOG=""
FS_STATS=""
fs_start() {
	local src=$1 mnt=$2
	shift 2
	local argv=()
	FS_LOG=$WORK/server.$(basename "$mnt").log
	if fs_is_atomfs; then
		[ -x "${FS_BIN:-}" ] || { fail "atomfs binary '${FS_BIN:-}' missing"; return 1; }
		FS_STATS=$WORK/stats.$(basename "$mnt").json
		argv=("$FS_BIN" "$src" "$mnt" -f "--stats=$FS_STATS" "$@")
	else
		build_passthrough_ll
		FS_STATS=""
		local o="source=$src,xattr" a
		for a in "$@"; do
			case $a in
			--nocache) o="$o,cache=never" ;;
			--writeback) o="$o,writeback" ;;
			--timeout=*) o="$o,timeout=${a#--timeout=}" ;;
			-o) ;;
			--*) ;; # atomfs-only option
			*) o="$o,$a" ;;
			esac
		done
		argv=("$PASSTHROUGH_LL" -f -o "$o" "$mnt")
	fi
	# FS_WRAP: a command prefix that execs the server (e.g. prlimit), so
	# that FS_PID is still the server's pid.
	argv=(${FS_WRAP[@]+"${FS_WRAP[@]}"} "${argv[@]}")
	say "mount: ${argv[*]}"
	"${argv[@]}" >"$FS_LOG" 2>&1 &
	FS_PID=$!
	FS_PIDS+=("$FS_PID")
	MOUNTS+=("$mnt")
	local i
	for i in $(seq 1 500); do
		is_fuse "$mnt" && return 0
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.02
	done
	fail "mount of $mnt did not come up; server log:"
	cat "$FS_LOG"
	return 1
}

# fs_stop MNT: unmounts and waits for the server; returns its exit status.
fs_stop() {
	local mnt=$1 i rc=0
	for i in $(seq 1 100); do
		is_fuse "$mnt" || break
		umount "$mnt" 2>/dev/null && break
		sleep 0.05
	done
	is_fuse "$mnt" && { say "umount $mnt busy, detaching"; umount -l "$mnt"; }
	for i in $(seq 1 200); do
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$FS_PID" 2>/dev/null; then
		fail "server $FS_PID did not exit after unmount"
		kill -9 "$FS_PID"
	fi
	wait "$FS_PID" 2>/dev/null
	rc=$?
	return $rc
}

# fs_stats: prints the stats JSON after SIGUSR1 (atomfs only).
fs_stats() {
	[ -n "$FS_STATS" ] || return 1
	local before
	before=$(stat -c %Y.%s "$FS_STATS" 2>/dev/null || echo none)
	rm -f "$FS_STATS"
	kill -USR1 "$FS_PID"
	local i
	for i in $(seq 1 200); do
		[ -s "$FS_STATS" ] && grep -q '}' "$FS_STATS" && { cat "$FS_STATS"; return 0; }
		sleep 0.02
	done
	return 1
}
# json_number JSON FIELD: a top-level integer field ("inodes": 3).
json_number() { grep -o "\"$2\"[[:space:]]*:[[:space:]]*[0-9]*" <<<"$1" | head -1 | grep -o '[0-9]*$'; }

# fd_count PID: the server's fds on files and directories (not pipes,
# sockets, anon inodes or devices, which worker threads create lazily, e.g.
# libfuse's per-thread splice pipes).
fd_count() {
	find "/proc/$1/fd" -mindepth 1 -printf '%l\n' 2>/dev/null |
		grep -Evc '^(pipe:|socket:|anon_inode:|/dev/)'
}

# tree_listing DIR: type, mode, size, link count and content hash of every
# entry, relative to DIR, sorted (the oracle for "mount equals source").
tree_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %n %l\n' | sort) || true
}
tree_hashes() {
	(cd "$1" && find . -mindepth 1 -type f -print0 | sort -z | xargs -0 -r md5sum) || true
}
