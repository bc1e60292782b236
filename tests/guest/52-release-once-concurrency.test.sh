# An open that fails after do_dentry_open() set FMODE_OPENED: a directory opened with
# O_DIRECT gets EINVAL there (FUSE directories have no direct I/O), and the final
# fput() releases the handle. The directory handle that came with FUSE_OPEN_ATOMIC
# must then be released exactly once (one RELEASEDIR), as with OPENDIR on the old
# path; a double release is a use after free (KASAN on the debug kernel, which runs
# this with the concurrency tests). Also from several threads at once.
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
mnt=$WORK/mnt
mkdir "$src/dir"
touch "$src/dir/inside"
echo x >"$src/warm"

# releasedirs_settle WANT: RELEASEDIR is sent asynchronously after the close
releasedirs_settle() {
	local i n
	for i in $(seq 50); do
		n=$(count RELEASEDIR)
		[ "$n" -ge "$1" ] && break
		sleep 0.1
	done
	sleep 0.3
	count RELEASEDIR
}

declare -A result
for mode in default --no-atomic-open; do
	opts=(); [ "$mode" = default ] || opts=("$mode")
	atomfs_start "$src" "$mnt" "${opts[@]}"
	cat "$mnt/warm" >/dev/null # --no-atomic-open: the one ENOSYS happens here
	counts_reset
	result[$mode]=$(probe open "$mnt/dir" "O_RDONLY|O_DIRECTORY|O_DIRECT")
	opened=$(( $(count OPEN_ATOMIC) + $(count OPENDIR) ))
	expect_eq "$mode: directory handles opened" 1 "$opened"
	expect_eq "$mode: RELEASEDIR per handle" 1 "$(releasedirs_settle 1)"
	note "$mode: ${result[$mode]}"
	# the same from 4 processes at once, 10 times each
	counts_reset
	pids=()
	for p in 1 2 3 4; do
		(for i in $(seq 10); do "$FSPROBE" open "$mnt/dir" "O_RDONLY|O_DIRECTORY|O_DIRECT" >/dev/null; done) &
		pids+=($!)
	done
	wait "${pids[@]}" # (a bare wait would wait for the server too)
	opened=$(( $(count OPEN_ATOMIC) + $(count OPENDIR) ))
	expect_eq "$mode: parallel: RELEASEDIR per handle" "$opened" "$(releasedirs_settle "$opened")"
	atomfs_stop
done
expect_eq "atomic open gives what the old path gives" "${result[--no-atomic-open]}" "${result[default]}"
