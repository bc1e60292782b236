# RELEASE before FORGET on the error paths of an atomic open. atomfs --test-bad-attr
# opens "bad-attr*" names and replies with a size above LLONG_MAX, which the kernel
# refuses (EIO) after the server opened the file: the kernel must release that handle and
# only then queue the FORGET of the node, as for FUSE_CREATE. With
# --test-strict-forget atomfs logs "strict:" for a FORGET that drops a node with
# open files (or more lookups than it counted); the series queued the FORGET first.
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
mnt=$WORK/mnt
atomfs_start "$src" "$mnt" --test-strict-forget --test-bad-attr
for i in $(seq 8); do
	echo data >"$src/bad-attr-$i"
	expect_eq "existing bad-attr-$i" "open=EIO type=- size=- created=0" "$(probe open "$mnt/bad-attr-$i" O_RDONLY)"
	expect_eq "new bad-attr-new-$i" "open=EIO type=- size=- created=0" \
		"$(probe open "$mnt/bad-attr-new-$i" "O_RDWR|O_CREAT")"
done
expect_counts "OPEN_ATOMIC=16 RELEASE=16"
# Normal names keep working, and their lookups balance out at unmount.
for i in $(seq 4); do echo "$i" >"$mnt/ok-$i"; cat "$mnt/ok-$i" >/dev/null; done
rm -f "$mnt"/ok-*
echo 2 >/proc/sys/vm/drop_caches # FORGET everything the kernel may drop
sleep 0.5
atomfs_stop
if grep 'strict:' "$WORK/atomfs.log" >&2; then
	fail "atomfs saw FORGETs out of order (above)"
fi
note "no strict: FORGET after RELEASE, no over-forget"
