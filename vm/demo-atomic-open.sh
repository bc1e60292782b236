#!/usr/bin/env bash
# Runs inside the VM (scripts/main.sh): mounts atomfs over tmpfs with atomic open and
# with --no-atomic-open, performs the same opens on each, and prints the FUSE requests
# each open cost, side by side, from atomfs's own per-opcode counters.
. "$(dirname "$0")/../tests/guest/lib.sh"

ops=(LOOKUP OPEN CREATE OPEN_ATOMIC GETATTR)
# requests OPS...: the nonzero counts of the open-related opcodes since counts_reset
requests() {
	local line out="" total=0
	while IFS== read -r op n; do
		[ "$n" = 0 ] && continue
		out+="$op=$n "
		total=$((total + n))
	done < <(_count_diff "${ops[@]}")
	echo "$total  (${out% })"
}

# measure OPTIONS...: prints "row|requests" for each scenario on a fresh mount
measure() {
	local src mnt=$WORK/mnt
	src=$(fresh_source)
	echo data >"$src/existing"
	echo data >"$src/warmup"
	atomfs_start "$src" "$mnt" "$@"
	# With --no-atomic-open the kernel's first OPEN_ATOMIC gets ENOSYS and it falls
	# back for good; open something first so the rows show the steady state.
	cat "$mnt/warmup" >/dev/null
	counts_reset
	cat "$mnt/existing" >/dev/null
	echo "open existing file, not cached|$(requests)"
	counts_reset
	echo new >"$mnt/created"
	echo "open(O_CREAT) of a new name|$(requests)"
	atomfs_stop

	# --nocache: entries expire at once, so a second open must revalidate the dentry
	src=$(fresh_source)
	echo data >"$src/existing"
	echo data >"$src/warmup"
	atomfs_start "$src" "$mnt" --nocache "$@"
	cat "$mnt/warmup" >/dev/null
	cat "$mnt/existing" >/dev/null
	counts_reset
	cat "$mnt/existing" >/dev/null
	echo "reopen, cached entry expired (--nocache)|$(requests)"
	counts_reset
	echo more >>"$mnt/existing"
	echo "reopen O_CREAT+O_APPEND, expired (--nocache)|$(requests)"
	atomfs_stop
}

mapfile -t with < <(measure)
mapfile -t without < <(measure --no-atomic-open)
printf '\nFUSE requests per open(2) on the patched kernel %s\n' "$(uname -r)"
printf '%-46s | %-30s | %-30s\n' "operation" "atomfs (atomic open)" "atomfs --no-atomic-open"
printf '%-46s-+-%-30s-+-%-30s\n' "$(printf '%.0s-' {1..46})" "$(printf '%.0s-' {1..30})" "$(printf '%.0s-' {1..30})"
for i in "${!with[@]}"; do
	printf '%-46s | %-30s | %-30s\n' "${with[i]%%|*}" "${with[i]#*|}" "${without[i]#*|}"
done
echo
