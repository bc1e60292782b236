# Bounded-time concurrency for atomic open and atomic revalidate, meant for the
# debug kernel (lockdep, KASAN; `run-suite.sh --debug --only concurrency`): openers
# with and without O_CREAT race a writer that keeps replacing the same names in the
# source by a file, a directory, a symlink or nothing, behind the kernel's back, so
# revalidation keeps finding other inodes. ATOMFS_STRESS_SECONDS (default 10) per
# mode. Only ENOENT, EISDIR and ENOTDIR are expected errnos (never EIO or ESTALE);
# afterwards every name opens as it does in the source.
. "$(dirname "$0")/lib.sh"
secs=${ATOMFS_STRESS_SECONDS:-10}
names=(n0 n1 n2 n3 n4 n5)

replacer() { # SRC DEADLINE
	local src=$1 end=$2 i=0 n tmp
	echo target >"$src/target"
	mkdir -p "$src/targetdir"
	while [ "$(date +%s)" -lt "$end" ]; do
		for n in "${names[@]}"; do
			tmp=$src/.tmp-$n
			rm -rf "$tmp"
			case $(( (i + ${#n} + ${n#n}) % 5 )) in
			0) echo "v$i" >"$tmp" ;;
			1) mkdir "$tmp" ;;
			2) ln -s target "$tmp" ;;
			3) ln -s targetdir "$tmp" ;;
			4) ;;
			esac
			rm -rf "${src:?}/$n"
			# an opener may create the name again in between: then mv fails
			if [ -e "$tmp" ] || [ -L "$tmp" ]; then mv -T "$tmp" "$src/$n" 2>/dev/null || true; fi
		done
		i=$((i + 1))
	done
}

opener() { # MNT DEADLINE FLAGS
	local mnt=$1 end=$2 flags=$3 n out bad=0
	while [ "$(date +%s)" -lt "$end" ]; do
		for n in "${names[@]}"; do
			out=$(probe open "$mnt/$n" "$flags")
			case $out in
			open=ok* | open=ENOENT* | open=EISDIR* | open=ENOTDIR*) ;;
			*) echo "unexpected: $n $flags: $out"; bad=1 ;;
			esac
		done
	done
	return $bad
}

for mode in --nocache --timeout=1; do
	src=$(fresh_source)
	mnt=$WORK/mnt
	atomfs_start "$src" "$mnt" "$mode"
	end=$(( $(date +%s) + secs ))
	replacer "$src" "$end" &
	rpid=$!
	pids=()
	for flags in O_RDONLY "O_WRONLY|O_CREAT|O_APPEND" "O_RDWR|O_TRUNC" "O_RDONLY|O_DIRECTORY"; do
		opener "$mnt" "$end" "$flags" >"$WORK/opener.$BASHPID.${#pids[@]}" 2>&1 &
		pids+=($!)
	done
	failed=0
	for p in "${pids[@]}"; do wait "$p" || failed=1; done
	wait "$rpid" || true
	cat "$WORK"/opener.* 2>/dev/null | sort | uniq -c | head -20
	rm -f "$WORK"/opener.*
	[ "$failed" = 0 ] || fail "$mode: unexpected open results under concurrency"

	# Quiet now: after expiry every name opens as it does in the source.
	[ "$mode" = --timeout=1 ] && sleep 1.2
	for n in "${names[@]}"; do
		expect_eq "$mode: $n after the race" "$(probe open "$src/$n" O_RDONLY)" "$(probe open "$mnt/$n" O_RDONLY)"
	done
	atomfs_stop
done
