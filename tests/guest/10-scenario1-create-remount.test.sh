# Cover letter scenario 1 (and 6: again with --nocache), over tmpfs and ext4: create
# a file through the mount, remount to drop the cache, read it back, remove it.
# Each open is exactly one FUSE_OPEN_ATOMIC and no LOOKUP/OPEN/CREATE.
. "$(dirname "$0")/lib.sh"

fstypes=(tmpfs)
[ -z "${ATOMFS_EXT4:-}" ] || fstypes+=(ext4)
for run in "${fstypes[@]/%/:default}" "${fstypes[@]/%/:--nocache}"; do
	fstype=${run%%:*} mode=${run#*:}
	note "== atomfs $mode over $fstype"
	opts=(); [ "$mode" = default ] || opts=("$mode")
	src=$(SOURCE_FS=$fstype fresh_source)
	mnt=$WORK/mnt
	rm -f "$src/file"
	atomfs_start "$src" "$mnt" "${opts[@]}"

	echo a >"$mnt/file" # open(O_WRONLY|O_CREAT|O_TRUNC) of a name never seen
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 CREATE=0 OPEN=0"
	expect_eq "source content after create" a "$(cat "$src/file")"

	atomfs_remount
	expect_eq "content read back after remount" a "$(cat "$mnt/file")"
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0"

	rm -f "$mnt/file"
	[ ! -e "$src/file" ] || fail "file still in the source after rm through the mount"
	atomfs_stop
done
