# examples/memfs implements lookup, open and create but no open_atomic: the
# library's default serves FUSE_OPEN_ATOMIC, so on the patched kernel an
# uncached open, a create and a missing name are each one OPEN_ATOMIC (no
# LOOKUP, OPEN or CREATE), counted by the session's stats (memfs MNT STATS).
. "$(dirname "$0")/lib.sh"

MEMFS=${ATOMFS_MEMFS:-$BUILD/examples/memfs}
[ -x "$MEMFS" ] || fail "memfs not built at $MEMFS (run scripts/build.sh)"
_afs_mnt=$WORK/mnt
mkdir -p "$_afs_mnt"
"$MEMFS" "$_afs_mnt" "$_afs_stats" >"$WORK/atomfs.log" 2>&1 &
_afs_pid=$!
for _ in $(seq 100); do
	_is_fuse_mounted "$_afs_mnt" && break
	kill -0 "$_afs_pid" 2>/dev/null || { cat "$WORK/atomfs.log" >&2; _afs_pid=; fail "memfs exited at start"; }
	sleep 0.05
done
_is_fuse_mounted "$_afs_mnt" || fail "memfs did not mount within 5s"
stat "$_afs_mnt" >/dev/null
mnt=$_afs_mnt

echo "some content" >"$mnt/existing"
mkdir "$mnt/dir"
# Forget every cached name: the next opens find nothing in the dcache.
sync
echo 2 >/proc/sys/vm/drop_caches
counts_reset

expect_eq "open existing" "open=ok type=file size=13 created=0" "$(probe open "$mnt/existing" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "create new" "open=ok type=file size=0 created=1" "$(probe open "$mnt/new" O_RDWR\|O_CREAT)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "open missing" "open=ENOENT type=- size=- created=0" "$(probe open "$mnt/missing" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "open directory" "$(probe open "$WORK" O_RDONLY | sed 's/size=[0-9]*/size=/')" \
	"$(probe open "$mnt/dir" O_RDONLY | sed 's/size=[0-9]*/size=/')"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPENDIR=0"
expect_eq "O_CREAT|O_EXCL on an existing name" "open=EEXIST type=- size=- created=0" \
	"$(probe open "$mnt/new" O_RDWR\|O_CREAT\|O_EXCL)"
atomfs_stop
