# O_TRUNC with the writeback cache or default_permissions on the revalidating path.
# FUSE_OPEN_ATOMIC never carries O_TRUNC (the VFS truncates through SETATTR after
# its open checks, serialized with writeback and after the permission check), so
# these opens need no LOOKUP fallback: OPEN_ATOMIC, plus SETATTR when an existing
# file is truncated. When the cached name was removed or replaced in the source
# meanwhile, the open must still do what it does natively: create the name for
# O_CREAT, open and truncate the new file otherwise.
. "$(dirname "$0")/lib.sh"

for opts in "--timeout=1 -o default_permissions" "--timeout=1 --writeback"; do
	read -ra o <<<"$opts"
	src=$(fresh_source)
	native=$(fresh_source)
	mnt=$WORK/mnt
	atomfs_start "$src" "$mnt" "${o[@]}"
	note "== $opts"
	# SETATTR counts the truncation only without the writeback cache, which also
	# sends SETATTR to write back times after a write
	case $opts in *--writeback*) setattr_none= setattr_trunc= ;; *) setattr_none=" SETATTR=0" setattr_trunc=" SETATTR=1" ;; esac

	echo a >"$mnt/gone"
	cat "$mnt/gone" >/dev/null # cached, positive
	rm -f "$src/gone"
	sleep 1.2 # expired
	counts_reset
	echo b >"$mnt/gone" || fail "$opts: open(O_WRONLY|O_CREAT|O_TRUNC) of a name removed in the source failed"
	expect_counts "OPEN_ATOMIC=1 CREATE=0$setattr_none" # created by the OPEN_ATOMIC
	expect_eq "$opts: recreated through the mount" b "$(cat "$src/gone")"

	echo a >"$mnt/replaced"
	cat "$mnt/replaced" >/dev/null
	rm -f "$src/replaced"
	echo other-file >"$src/replaced"
	sleep 1.2
	counts_reset
	echo c >"$mnt/replaced" || fail "$opts: open(O_WRONLY|O_CREAT|O_TRUNC) of a replaced name failed"
	expect_counts "OPEN_ATOMIC=1 CREATE=0 OPEN=0$setattr_trunc"
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
