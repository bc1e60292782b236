# Atomic revalidate (kernel patches 3-5): an open of a cached name whose entry
# expired is one FUSE_OPEN_ATOMIC, no LOOKUP/GETATTR/OPEN. Cover letter scenarios
# 3, 4, 5 with --nocache and with --timeout=1 (after expiry), the old counts with
# --no-atomic-open, and a name replaced in the source by a file, a directory, a
# symlink or nothing gives what the native source gives.
#
# Opens are counted with bash redirections (open + close only: fstat would add a
# GETATTR under zero attribute timeouts, which is not the open's doing).
. "$(dirname "$0")/lib.sh"

open_r() { exec {fd}<"$1" && exec {fd}<&-; }  # open(O_RDONLY)
open_a() { exec {fd}>>"$1" && exec {fd}>&-; } # open(O_WRONLY|O_CREAT|O_APPEND)

# expire MODE: wait until the cached entries are stale for this mode
expire() { [ "$1" = --timeout=1 ] && sleep 1.2 || true; }

OPEN_COUNTS="LOOKUP=0 GETATTR=0 OPEN=0 CREATE=0"

for mode in --nocache --timeout=1; do
	src=$(fresh_source)
	mnt=$WORK/mnt
	atomfs_start "$src" "$mnt" "$mode"

	note "== $mode: scenario 3, revalidate without change"
	echo a >"$mnt/file"
	counts_reset
	expire "$mode"
	open_a "$mnt/file"
	expect_counts "OPEN_ATOMIC=1 $OPEN_COUNTS"
	expire "$mode"
	open_r "$mnt/file"
	expect_counts "OPEN_ATOMIC=1 $OPEN_COUNTS"
	echo b >>"$mnt/file"
	echo c >>"$mnt/file"
	expect_eq "$mode: scenario 3 content" "a b c" "$(cat "$mnt/file" | tr '\n' ' ' | sed 's/ $//')"
	rm -f "$mnt/file"

	note "== $mode: scenario 4, revalidate after a change in the source"
	echo a >"$mnt/file"
	expect_eq "$mode: first content" a "$(cat "$mnt/file")"
	rm -f "$src/file"
	echo b >"$src/file"
	expire "$mode"
	counts_reset
	open_r "$mnt/file"
	expect_counts "OPEN_ATOMIC=1 $OPEN_COUNTS"
	expire "$mode"
	expect_eq "$mode: scenario 4 content after revalidation" b "$(cat "$mnt/file")"
	rm -f "$mnt/file"

	note "== $mode: scenario 5, revalidate with O_CREAT after a change in the source"
	echo a >>"$mnt/file"
	rm -f "$src/file"
	echo b >"$src/file"
	expire "$mode"
	counts_reset
	echo c >>"$mnt/file" # one OPEN_ATOMIC with O_CREAT finds the new file
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
	expect_eq "$mode: scenario 5 source content" "b c" "$(cat "$src/file" | tr '\n' ' ' | sed 's/ $//')"
	rm -f "$mnt/file"

	note "== $mode: scenario 1 (create, cold cache, read back)"
	counts_reset
	echo a >"$mnt/s1"
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
	atomfs_remount
	open_r "$mnt/s1"
	expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0"
	expect_eq "$mode: scenario 1 content" a "$(cat "$mnt/s1")"
	rm -f "$mnt/s1"

	note "== $mode: scenario 2 (directory open)"
	mkdir "$src/dir"
	expect_eq "$mode: scenario 2 dir open" "$(probe open "$src/dir" O_RDONLY)" "$(probe open "$mnt/dir" O_RDONLY)"
	expire "$mode"
	# a cached directory is revalidated the normal way (never atomically)
	counts_reset
	open_r "$mnt/dir"
	expect_counts "OPEN_ATOMIC=0 OPENDIR=1"
	rmdir "$src/dir"

	note "== $mode: a name replaced in the source gives what the source gives"
	for kind in file dir symlink symlink-dir nothing; do
		for flags in O_RDONLY "O_RDWR|O_CREAT" "O_WRONLY|O_TRUNC" "O_RDONLY|O_DIRECTORY"; do
			name=r-$kind
			setup() {
				rm -rf "${src:?}/$name" "$src/target" "$src/targetdir"
				echo target-content >"$src/target"
				mkdir "$src/targetdir"
				case $kind in
				file) echo replaced-content >"$src/$name" ;;
				dir) mkdir "$src/$name" ;;
				symlink) ln -s target "$src/$name" ;;
				symlink-dir) ln -s targetdir "$src/$name" ;;
				nothing) ;;
				esac
			}
			rm -rf "${src:?}/$name"
			echo original >"$src/$name"
			expire "$mode" # the previous round may have cached another type
			cat "$mnt/$name" >/dev/null # cached as a regular file
			setup
			expire "$mode"
			got=$(probe open "$mnt/$name" "$flags")
			setup
			want=$(probe open "$src/$name" "$flags")
			expect_eq "$mode: $kind, $flags" "$want" "$got"
		done
	done
	rm -rf "${src:?}"/r-* "$src/target" "$src/targetdir"
	atomfs_stop
done

note "== --no-atomic-open --nocache: the old path and its counts"
src=$(fresh_source)
mnt=$WORK/mnt
echo a >"$src/file"
echo b >"$src/other"
atomfs_start "$src" "$mnt" --no-atomic-open --nocache
open_r "$mnt/file" # first: OPEN_ATOMIC answered ENOSYS, then LOOKUP + OPEN
expect_counts "OPEN_ATOMIC=1 LOOKUP=1 OPEN=1"
open_r "$mnt/file" # cached, expired: revalidating LOOKUP + OPEN, no OPEN_ATOMIC any more
expect_counts "OPEN_ATOMIC=0 LOOKUP=1 OPEN=1"
echo c >>"$mnt/other"
expect_counts "OPEN_ATOMIC=0 LOOKUP=1 OPEN=1 CREATE=0"
rm -f "$src/file"
echo new >"$src/file"
expect_eq "no-atomic-open: content after change" new "$(cat "$mnt/file")"
atomfs_stop
