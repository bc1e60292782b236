#!/usr/bin/env bash
# Namespace stress through a mount: atomfs-nsstress (processes x threads on a
# few shared names) for a bounded time, cached and --nocache. Afterwards:
# the tree seen through the mount equals the source directory (types, modes,
# sizes, link counts, symlink targets, file contents); the server's open fd
# count is back to its baseline and, after dropping the kernel's dentry and
# inode caches (FORGET for everything), atomfs's inode table holds only the
# root.
# usage: namespace.sh FS_BIN NSSTRESS_BIN   (ATOMFS_NSSTRESS_SECONDS, default 6)
TEST_NAME=namespace
. "$(dirname "$0")/mountlib.sh"
FS_BIN=$1 NSSTRESS=$2
seconds=${ATOMFS_NSSTRESS_SECONDS:-6}
require_root_fuse
make_work

# settle BASE_FDS: drops the kernel's dentry and inode caches until the
# server's fd count is back to BASE_FDS and (atomfs) its inode table holds
# only the root. FORGET is asynchronous, and a directory's dentry becomes
# unused only once its children are gone, so this takes several passes.
# Sets INODES and FDS to the last values seen.
settle() {
	local i
	for i in $(seq 1 60); do
		sync
		echo 2 >/proc/sys/vm/drop_caches
		sleep 0.1
		FDS=$(fd_count "$FS_PID")
		INODES=1
		fs_is_atomfs && INODES=$(json_number "$(fs_stats)" inodes)
		[ "$FDS" = "$1" ] && [ "$INODES" = 1 ] && return 0
	done
	return 1
}

seed=1
for mode in cached nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode
	mkdir "$src" "$mnt"
	opts=()
	[ $mode = nocache ] && opts=(--nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	base_fds=$(fd_count "$FS_PID")
	say "$mode: server pid $FS_PID has $base_fds fds before the load"

	if "$NSSTRESS" "$mnt" --seconds "$seconds" --procs 3 --threads 3 --seed $seed; then
		ok "$mode: no unexpected errors (seed $seed)"
	else
		fail "$mode: unexpected errors under load (seed $seed)"
	fi
	# Entries may be cached up to the entry timeout; drop them so that the
	# listing through the mount asks the server.
	echo 2 >/proc/sys/vm/drop_caches
	tree_listing "$src" >"$WORK/src.list"
	tree_listing "$mnt" >"$WORK/mnt.list"
	tree_hashes "$src" >"$WORK/src.hash"
	tree_hashes "$mnt" >"$WORK/mnt.hash"
	say "$mode: $(wc -l <"$WORK/src.list") entries left in the source"
	if diff -u "$WORK/src.list" "$WORK/mnt.list"; then ok "$mode: mount tree equals source"; else fail "$mode: mount tree differs from source"; fi
	if diff -u "$WORK/src.hash" "$WORK/mnt.hash"; then ok "$mode: contents equal"; else fail "$mode: file contents differ"; fi

	settle "$base_fds"
	if fs_is_atomfs; then
		expect_eq "$mode: inode table size after drop_caches" 1 "$INODES"
	else
		say "$mode: (passthrough_ll has no stats; inode table not checked)"
	fi
	expect_eq "$mode: server fd count back to baseline" "$base_fds" "$FDS"
	fs_stop "$mnt" || fail "$mode: server exit status $?"
	seed=$((seed + 1))
done
finish
