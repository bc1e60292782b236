# Atomic revalidate falls back to FUSE_LOOKUP inside ->atomic_open() where the kernel
# must not let the server truncate by name: O_TRUNC with the writeback cache (the
# truncation must be serialized with writeback) or with default_permissions (the
# permission check comes after ->atomic_open()). When the cached name was removed or
# replaced in the source meanwhile, the open must still do what it does natively:
# create the name for O_CREAT (the previous series failed with ENOENT), open the new
# file otherwise.
. "$(dirname "$0")/lib.sh"

for opts in "--timeout=1 -o default_permissions" "--timeout=1 --writeback"; do
	read -ra o <<<"$opts"
	src=$(fresh_source)
	native=$(fresh_source)
	mnt=$WORK/mnt
	atomfs_start "$src" "$mnt" "${o[@]}"
	note "== $opts"

	echo a >"$mnt/gone"
	cat "$mnt/gone" >/dev/null # cached, positive
	rm -f "$src/gone"
	sleep 1.2 # expired
	counts_reset
	echo b >"$mnt/gone" || fail "$opts: open(O_WRONLY|O_CREAT|O_TRUNC) of a name removed in the source failed"
	expect_counts "OPEN_ATOMIC=0 CREATE=1" # the fallback: LOOKUPs, then CREATE
	expect_eq "$opts: recreated through the mount" b "$(cat "$src/gone")"

	echo a >"$mnt/replaced"
	cat "$mnt/replaced" >/dev/null
	rm -f "$src/replaced"
	echo other-file >"$src/replaced"
	sleep 1.2
	counts_reset
	echo c >"$mnt/replaced" || fail "$opts: open(O_WRONLY|O_CREAT|O_TRUNC) of a replaced name failed"
	expect_counts "OPEN_ATOMIC=0 CREATE=0 OPEN=1"
	expect_eq "$opts: replaced file truncated and written" c "$(cat "$src/replaced")"

	for flags in "O_WRONLY|O_CREAT|O_TRUNC" "O_RDWR|O_CREAT|O_EXCL" "O_WRONLY|O_TRUNC"; do
		echo a >"$mnt/f"
		cat "$mnt/f" >/dev/null
		rm -f "$src/f" "$native/f"
		sleep 1.2
		got=$(probe open "$mnt/f" "$flags")
		want=$(probe open "$native/f" "$flags")
		expect_eq "$opts: $flags on a name removed in the source" "$want" "$got"
		rm -f "$src/f"
	done
	atomfs_stop
done
