# The checks FUSE_LOOKUP has apply to FUSE_OPEN_ATOMIC too: a name longer than
# FUSE_NAME_MAX (1,024 bytes) gets ENAMETOOLONG without a request, as natively
# (where it is longer than NAME_MAX). And FOPEN_FILE_CREATED in CREATE and OPEN
# replies (a server sharing its create handler with open_atomic, here atomfs
# --test-created-flag) is ignored: with passthrough on, the open must not fail with
# EIO (the passthrough open-flag check refuses unknown bits).
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
mnt=$WORK/mnt
atomfs_start "$src" "$mnt"
long=$(printf 'n%.0s' $(seq 1025))
for flags in O_RDONLY "O_RDWR|O_CREAT" "O_WRONLY|O_CREAT|O_EXCL"; do
	got=$(probe open "$mnt/$long" "$flags")
	want=$(probe open "$src/$long" "$flags")
	expect_eq "1,025-byte name, $flags vs native" "$want" "$got"
	expect_counts "OPEN_ATOMIC=0 LOOKUP=0 CREATE=0"
done
atomfs_stop

for mode in --no-atomic-open --timeout=30; do
	note "== --test-created-flag $mode"
	src=$(fresh_source)
	atomfs_start "$src" "$mnt" --test-created-flag "$mode"
	# --no-atomic-open: LOOKUP + CREATE, then LOOKUP + OPEN after a remount;
	# --timeout=30: OPEN_ATOMIC creates, then the cached name opens with OPEN.
	echo a >"$mnt/f" || fail "$mode: create with FOPEN_FILE_CREATED in the reply failed"
	expect_eq "$mode: content written" a "$(cat "$src/f")"
	[ "$mode" = --timeout=30 ] || atomfs_remount
	counts_reset
	expect_eq "$mode: read back" a "$(cat "$mnt/f")"
	expect_counts "OPEN=1"
	echo b >>"$mnt/f" || fail "$mode: open(O_APPEND) with FOPEN_FILE_CREATED in the reply failed"
	expect_eq "$mode: appended" "a b" "$(tr '\n' ' ' <"$src/f" | sed 's/ $//')"
	atomfs_stop
done
