#!/usr/bin/env bash
# Resource limits.
#  fd limit: the server runs with RLIMIT_NOFILE 256 over a source of 3000
#   files in 30 directories; every file is stat'ed, read (content = its own
#   name), rewritten and read back through the mount while the kernel keeps
#   all of them cached (so the server knows 3000+ inodes at once), cached
#   and --nocache; the tree through the mount then equals the source.
#   The trees live on a tmpfs: removing 6000 written files from a disk
#   mounted with online discard takes longer than the test itself. Files
#   are read with the shell's read builtin, not one cat process per file:
#   starting 6000 processes cost ten times the server's own time.
#  ENOSPC: SOURCE is a 4 MiB tmpfs with 200 inodes. Filling it through the
#   mount with one big file, then with many small ones, fails with ENOSPC;
#   the files written before are intact (through the mount and in the
#   source) and, after removing the filler, writing works again.
# usage: limits.sh FS_BIN
TEST_NAME=limits
. "$(dirname "$0")/mountlib.sh"
FS_BIN=$1
require_root_fuse
make_work
command -v prlimit >/dev/null || skip "prlimit missing (util-linux)"

nfiles=3000
trees=$WORK/trees
mkdir "$trees"
mount -t tmpfs -o size=64m,mode=755 atomfs-limits-trees "$trees" || fail "mount tmpfs for the trees"
for mode in cached nocache; do
	src=$trees/src-$mode mnt=$WORK/mnt-$mode
	mkdir "$src" "$mnt"
	for d in $(seq 0 29); do
		mkdir "$src/d$d"
		for f in $(seq 0 99); do echo "d$d/f$f" >"$src/d$d/f$f"; done
	done
	opts=()
	[ $mode = nocache ] && opts=(--nocache)
	FS_WRAP=(prlimit --nofile=256:256 --)
	fs_start "$src" "$mnt" "${opts[@]}" || { FS_WRAP=(); continue; }
	FS_WRAP=()
	say "$mode: server fd limit: $(grep 'open files' /proc/$FS_PID/limits | awk '{print $4}'), $nfiles files"
	bad=0 n=0
	for d in $(seq 0 29); do
		for f in $(seq 0 99); do
			p=$mnt/d$d/f$f
			got=
			if ! { read -r got <"$p"; } 2>/dev/null || [ "$got" != "d$d/f$f" ]; then
				bad=$((bad + 1))
				[ $bad -le 3 ] && say "$mode: read $p: '$got' $(cat "$p" 2>&1)"
			fi
			n=$((n + 1))
		done
	done
	expect_eq "$mode: files read correctly through the mount (of $n)" 0 $bad
	bad=0
	for d in $(seq 0 29); do
		for f in $(seq 0 99); do
			echo "rewritten d$d/f$f" >"$mnt/d$d/f$f" 2>/dev/null || bad=$((bad + 1))
		done
	done
	expect_eq "$mode: failed rewrites" 0 $bad
	out=$(cat "$mnt"/d*/f* 2>&1 | grep -c '^rewritten ')
	expect_eq "$mode: rewritten contents read back in one cat" $nfiles "$out"
	stat_fail=$(find "$mnt" -type f 2>&1 | wc -l)
	expect_eq "$mode: files found by find" $nfiles "$stat_fail"
	echo 2 >/proc/sys/vm/drop_caches
	diff <(tree_hashes "$src" 2>&1) <(tree_hashes "$mnt" 2>&1) >/dev/null && ok "$mode: tree equals source" ||
		fail "$mode: tree through the mount differs from the source"
	grep -q "Too many open files" "$FS_LOG" && fail "$mode: server log mentions EMFILE"
	fs_stop "$mnt" || fail "$mode: server exit status $?"
done
umount "$trees" || fail "umount $trees"

say "ENOSPC on a full backing filesystem"
src=$WORK/small mnt=$WORK/mnt-small
mkdir "$src" "$mnt"
mount -t tmpfs -o size=4m,nr_inodes=200 atomfs-limits "$src" || fail "mount tmpfs"
for i in 1 2 3; do head -c 100000 /dev/urandom >"$src/keep$i"; done
(cd "$src" && md5sum keep*) >"$WORK/keep.md5"
if fs_start "$src" "$mnt"; then
	err=$(dd if=/dev/zero of="$mnt/filler" bs=64k count=200 conv=fsync 2>&1)
	rc=$?
	case "$rc $err" in
	0*) fail "ENOSPC: writing 12.8 MB into a 4 MiB tmpfs succeeded" ;;
	*"No space left"*) ok "ENOSPC: big write fails with ENOSPC" ;;
	*) fail "ENOSPC: big write failed otherwise: $err" ;;
	esac
	err=$(for i in $(seq 1 300); do : >"$mnt/small$i" || exit 1; done 2>&1)
	case $err in
	*"No space left"*) ok "ENOSPC: creating 300 files on 200 inodes fails with ENOSPC" ;;
	*) fail "ENOSPC: creates: '$err'" ;;
	esac
	(cd "$mnt" && md5sum -c --quiet "$WORK/keep.md5") && ok "ENOSPC: existing files intact through the mount" ||
		fail "ENOSPC: existing files damaged (mount)"
	(cd "$src" && md5sum -c --quiet "$WORK/keep.md5") && ok "ENOSPC: existing files intact in the source" ||
		fail "ENOSPC: existing files damaged (source)"
	rm -f "$mnt/filler" "$mnt"/small*
	echo "after" >"$mnt/after" && expect_eq "ENOSPC: writing works again after freeing space" after "$(cat "$mnt/after")"
	fs_stop "$mnt" || fail "ENOSPC: server exit status $?"
fi
umount "$src"
finish
