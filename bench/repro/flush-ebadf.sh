#!/usr/bin/env bash
# Reproducer (in the guest): passthrough_ll, cache=never, two threads opening cached names
# a/b/c/fN (every open revalidates a, b, c and the name). Some close(2) calls fail with
# EBADF when passthrough_ll runs out of descriptors (one O_PATH fd per known inode against
# a soft RLIMIT_NOFILE of 1,024): its FLUSH does close(dup(fh)) and dup fails. Seen the
# same on unpatched 6.12 and on 6.18 with ulimit -n 1024; gone with ulimit -n 4096 (not a
# kernel bug; bench/lib/fsvariants.py now raises the servers' soft limit). atomfs is run
# the same way for comparison.
#   bash vm/run.sh --ext4 1024 -- bash bench/repro/flush-ebadf.sh
# (passthrough_ll is built on the host by bench/run.sh into $BUILD_DIR/bench-peer/.)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
w=${ATOMFS_EXT4:-/tmp}/flush-ebadf
mkdir -p "$w/src" "$w/mnt"
run() {
	rm -rf "${w:?}"/src/*
	"$@" &
	local p=$!
	for _ in $(seq 100); do mountpoint -q "$w/mnt" && break; sleep 0.05; done
	python3 "$top/bench/repro/open-two-threads.py" "$w/mnt" 1000 4
	umount "$w/mnt"
	wait $p
}
echo "== passthrough_ll -o cache=never"
run "$build/bench-peer/passthrough_ll" -f -o "source=$w/src,cache=never" "$w/mnt"
echo "== atomfs --nocache --no-atomic-open"
run "$build/fs/atomfs/atomfs" -f --nocache --no-atomic-open "$w/src" "$w/mnt"
echo "== atomfs --nocache"
run "$build/fs/atomfs/atomfs" -f --nocache "$w/src" "$w/mnt"
