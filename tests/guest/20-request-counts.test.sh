# Request-count proofs on a cold cache, with atomic open and with the server
# refusing it (--no-atomic-open: the kernel falls back after the first ENOSYS).
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
mnt=$WORK/mnt
for i in 1 2 3; do echo "content $i" >"$src/existing$i"; done

note "== atomic open"
atomfs_start "$src" "$mnt"
expect_eq "open existing" "open=ok type=file size=10 created=0" "$(probe open "$mnt/existing1" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "create new" "open=ok type=file size=0 created=1" "$(probe open "$mnt/new1" O_RDWR\|O_CREAT)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "open missing" "open=ENOENT type=- size=- created=0" "$(probe open "$mnt/missing1" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0"
atomfs_stop

note "== --no-atomic-open (fallback)"
atomfs_start "$src" "$mnt" --no-atomic-open
# first open: the kernel tries OPEN_ATOMIC once, gets ENOSYS, falls back for good
expect_eq "open existing" "open=ok type=file size=10 created=0" "$(probe open "$mnt/existing2" O_RDONLY)"
expect_counts "OPEN_ATOMIC=1 LOOKUP=1 OPEN=1 CREATE=0"
expect_eq "open existing again" "open=ok type=file size=10 created=0" "$(probe open "$mnt/existing3" O_RDONLY)"
expect_counts "OPEN_ATOMIC=0 LOOKUP=1 OPEN=1 CREATE=0"
expect_eq "create new" "open=ok type=file size=0 created=1" "$(probe open "$mnt/new2" O_RDWR\|O_CREAT)"
expect_counts "OPEN_ATOMIC=0 LOOKUP=1 OPEN=0 CREATE=1"
atomfs_stop
[ -f "$src/new1" ] && [ -f "$src/new2" ] || fail "created files missing in the source"
