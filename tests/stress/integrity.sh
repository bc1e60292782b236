#!/usr/bin/env bash
# Data integrity through a mount: atomfs-integrity with fixed seeds, cached,
# --nocache and --writeback, against the in-memory model and the backing source file.
# usage: integrity.sh FS_BIN INTEGRITY_BIN [--seeds "1 2 3"] [--ops N]
# FS_BIN is the atomfs binary or "passthrough_ll"; ATOMFS_INTEGRITY_OPS and
# ATOMFS_INTEGRITY_SEEDS override the defaults for long runs.
TEST_NAME=integrity
. "$(dirname "$0")/mountlib.sh"
FS_BIN=$1 INTEGRITY=$2
shift 2
seeds=${ATOMFS_INTEGRITY_SEEDS:-"1 2 3"}
ops=${ATOMFS_INTEGRITY_OPS:-3000}
while [ $# -gt 0 ]; do
	case $1 in
	--seeds) seeds=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	*) echo "usage: integrity.sh FS_BIN INTEGRITY_BIN [--seeds LIST] [--ops N]"; exit 2 ;;
	esac
done
require_root_fuse
make_work

extra=()
fs_is_atomfs || extra=(--lenient) # passthrough_ll: direct_io, no fallocate

say "native self-check of the generator (seed 1, $ops ops)"
mkdir "$WORK/native"
"$INTEGRITY" "$WORK/native" --seed 1 --ops "$ops" || fail "native run failed: generator bug"

for mode in cached nocache writeback; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode
	mkdir "$src" "$mnt"
	opts=()
	[ $mode = nocache ] && opts=(--nocache)
	[ $mode = writeback ] && opts=(--writeback)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	for seed in $seeds; do
		say "$mode: seed $seed, $ops ops"
		if "$INTEGRITY" "$mnt" --seed "$seed" --ops "$ops" --source "$src" "${extra[@]}"; then
			ok "$mode seed $seed"
		else
			fail "$mode seed $seed (rerun: atomfs-integrity MNT --seed $seed --ops $ops --source SRC)"
		fi
	done
	fs_stop "$mnt" || fail "$mode: server exit status $?"
	left=$(ls -A "$src" | wc -l)
	expect_eq "$mode: test files removed from the source" 0 "$left"
done
finish
