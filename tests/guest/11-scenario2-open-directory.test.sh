# Cover letter scenario 2 (and 6: again with --nocache): open a directory through
# the mount (over tmpfs and ext4). One FUSE_OPEN_ATOMIC, no LOOKUP and no OPENDIR (the server makes the
# directory handle inside OPEN_ATOMIC); results equal the native ones.
. "$(dirname "$0")/lib.sh"

fstypes=(tmpfs)
[ -z "${ATOMFS_EXT4:-}" ] || fstypes+=(ext4)
for run in "${fstypes[@]/%/:default}" "${fstypes[@]/%/:--nocache}"; do
	fstype=${run%%:*} mode=${run#*:}
	note "== atomfs $mode over $fstype"
	opts=(); [ "$mode" = default ] || opts=("$mode")
	src=$(SOURCE_FS=$fstype fresh_source)
	mnt=$WORK/mnt
	mkdir "$src/dir"
	touch "$src/dir/inside"
	atomfs_start "$src" "$mnt" "${opts[@]}"

	expect_eq "open(dir, O_RDONLY)" "$(probe open "$src/dir" O_RDONLY)" "$(probe open "$mnt/dir" O_RDONLY)"
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPENDIR=0"

	# `cat dir` as in the cover letter: same failure as natively
	native=$(cat "$src/dir" 2>&1 | sed "s|$src|X|") || true
	fused=$(cat "$mnt/dir" 2>&1 | sed "s|$mnt|X|") || true
	expect_eq "cat dir" "$native" "$fused"
	expect_eq "listing" "inside" "$(ls "$mnt/dir")"

	atomfs_stop
	rmdir "$src/dir/inside" 2>/dev/null || rm -f "$src/dir/inside"
	rmdir "$src/dir"
done
