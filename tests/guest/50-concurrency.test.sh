# Bounded-time concurrency (meant for the debug kernel: lockdep, KASAN): threads open,
# create, truncate, unlink, rename, mkdir, rmdir and stat names in one directory
# through atomfs, ATOMFS_STRESS_SECONDS (default 10) per cache mode. Only ENOENT,
# EEXIST, EISDIR and ENOTDIR are expected errnos; afterwards the mount and the source
# agree. vm/run.sh fails the run on any kernel report.
. "$(dirname "$0")/lib.sh"
secs=${ATOMFS_STRESS_SECONDS:-10}

for mode in default --nocache; do
	src=$(fresh_source)
	mnt=$WORK/mnt
	opts=(); [ "$mode" = default ] || opts=("$mode")
	atomfs_start "$src" "$mnt" "${opts[@]}"
	out=$(probe stress "$mnt" "$secs" 4) || { echo "$out"; fail "$mode: unexpected errors"; }
	note "$mode: $out"
	a=$(ls -1 "$mnt" | LC_ALL=C sort | tr '\n' ' ')
	b=$(ls -1 "$src" | LC_ALL=C sort | tr '\n' ' ')
	expect_eq "$mode: mount lists the source" "$b" "$a"
	atomfs_stop
done
