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

# Opens with bash redirections: open(2) + close(2) only (cat would add an fstat,
# which costs a GETATTR of its own under zero attribute timeouts).
open_r() { local fd; exec {fd}<"$1" && exec {fd}<&-; }             # O_RDONLY
open_w() { local fd; exec {fd}>"$1" && exec {fd}>&-; }             # O_WRONLY|O_CREAT|O_TRUNC
open_a() { local fd; exec {fd}>>"$1" && exec {fd}>&-; }            # O_WRONLY|O_CREAT|O_APPEND

row() { printf '%s\t%s\n' "$1" "$(requests)"; } # "description<TAB>requests"

# measure OPTIONS...: prints a row for each scenario on a fresh mount
measure() {
	local src mnt=$WORK/mnt
	src=$(fresh_source)
	echo data >"$src/existing"
	echo data >"$src/warmup"
	atomfs_start "$src" "$mnt" "$@"
	# With --no-atomic-open the kernel's first OPEN_ATOMIC gets ENOSYS and it falls
	# back for good; open something first so the rows show the steady state.
	open_r "$mnt/warmup"
	counts_reset
	open_r "$mnt/existing"
	row "open(O_RDONLY) of an existing file, not cached"
	counts_reset
	open_w "$mnt/created"
	row "open(O_CREAT|O_TRUNC) of a new name"
	counts_reset
	open_r "$mnt/missing" 2>/dev/null || true
	row "open(O_RDONLY) of a missing name (ENOENT)"
	atomfs_stop

	# --nocache: entries expire at once, so every open of a cached name revalidates it
	src=$(fresh_source)
	echo data >"$src/existing"
	echo data >"$src/warmup"
	atomfs_start "$src" "$mnt" --nocache "$@"
	open_r "$mnt/warmup"
	open_r "$mnt/existing"
	counts_reset
	open_r "$mnt/existing"
	row "--nocache: reopen, entry expired (revalidate)"
	counts_reset
	open_a "$mnt/existing"
	row "--nocache: reopen O_CREAT|O_APPEND, expired"
	rm -f "$src/existing"
	echo other >"$src/existing"
	counts_reset
	open_r "$mnt/existing"
	row "--nocache: reopen, replaced in the source"
	expect_eq "content after the replacement" other "$(cat "$mnt/existing")" >/dev/null
	atomfs_stop
}

measure >"$WORK/with.txt" || exit 1
measure --no-atomic-open >"$WORK/without.txt" || exit 1
mapfile -t with <"$WORK/with.txt"
mapfile -t without <"$WORK/without.txt"
printf '\nFUSE requests per open(2) on the patched kernel %s\n' "$(uname -r)"
printf '%-48s | %-30s | %-30s\n' "operation" "atomfs (atomic open)" "atomfs --no-atomic-open"
printf '%-48s-+-%-30s-+-%-30s\n' "$(printf '%.0s-' {1..48})" "$(printf '%.0s-' {1..30})" "$(printf '%.0s-' {1..30})"
for i in "${!with[@]}"; do
	printf '%-48s | %-30s | %-30s\n' "${with[i]%%$'\t'*}" "${with[i]#*$'\t'}" "${without[i]#*$'\t'}"
done
echo
# The point of the series: one request per open, wherever the old path needs more.
bad=0 old_total=0
for i in "${!with[@]}"; do
	n=${with[i]#*$'\t'} o=${without[i]#*$'\t'}
	old_total=$((old_total + ${o%% *}))
	[ "${n%% *}" = 1 ] || { echo "demo: atomic open took ${n%% *} requests: ${with[i]%%$'\t'*}"; bad=1; }
done
[ "$bad" = 0 ] || exit 1
echo "atomic open: ${#with[@]} requests for these ${#with[@]} opens; without it: $old_total."
