# A refused open changes nothing. The kernel's open checks run after
# ->atomic_open() returns (ETXTBSY for a running binary, O_NOATIME by a non-owner,
# protected_regular in a sticky directory), so FUSE_OPEN_ATOMIC must not let the
# server truncate: the VFS truncates through SETATTR once every check passed.
# Each case on the uncached path (a name the kernel has not looked up) and on the
# revalidating path (an expired cached entry), compared with the native source;
# callers: root, root without CAP_FOWNER (setpriv) and uid 1000 (allow_other).
# O_TRUNC of an existing file costs OPEN_ATOMIC + SETATTR, as LOOKUP + OPEN did.
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
native=$(fresh_source)
mnt=$WORK/mnt
bin=$(command -v sleep)
pids=()
old_pr=$(cat /proc/sys/fs/protected_regular)
restore() { kill "${pids[@]}" 2>/dev/null || true; echo "$old_pr" >/proc/sys/fs/protected_regular; }
trap 'restore; _cleanup' EXIT

# case NAME FLAGS CONTENT [RUNNER...]: the open of NAME in the source, through the
# mount and natively, gives the same line, and leaves CONTENT (a file) in both.
check() {
	local name=$1 flags=$2 want_bytes=$3
	shift 3
	local got want
	got=$("$@" "$FSPROBE" open "$mnt/$name" "$flags")
	want=$("$@" "$FSPROBE" open "$native/$name" "$flags")
	expect_eq "$name $flags vs native" "$want" "$got"
	case $want in open=ok*) fail "$name: the native open succeeded, the case tests nothing" ;; esac
	cmp -s "$want_bytes" "$src/$name" || fail "$name: the refused open changed the file in the source"
	cmp -s "$want_bytes" "$native/$name" || fail "$name: the refused open changed the native file"
}

# both CMD...: run in the source and native trees (same layout in both)
both() { local d; for d in "$src" "$native"; do (cd "$d" && "$@"); done; }

atomfs_start "$src" "$mnt" --timeout=1
expire() { sleep 1.2; }
echo keep >"$WORK/keep"

note "== ETXTBSY: writing over a running binary"
both cp "$bin" prog
both ln prog prog-link
"$mnt/prog" 600 &
pids+=($!)
"$native/prog" 600 &
pids+=($!)
sleep 0.5
# uncached: another name of the running binary, never looked up
check prog-link "O_WRONLY|O_TRUNC" "$bin"
cp "$bin" "$mnt/prog-link" 2>/dev/null && fail "cp over a running binary succeeded"
cmp -s "$bin" "$src/prog" || fail "cp over a running binary changed it"
# revalidating: the running binary's own, expired entry
expire
check prog "O_WRONLY|O_TRUNC" "$bin"
expire
check prog "O_RDWR|O_CREAT|O_TRUNC" "$bin"
kill "${pids[@]}"
wait "${pids[@]}" 2>/dev/null || true
pids=()

note "== O_NOATIME by a non-owner (root without CAP_FOWNER): EPERM"
nofowner=(setpriv --inh-caps=-fowner --bounding-set=-fowner --)
for name in noatime-cold noatime-warm; do
	both cp "$WORK/keep" "$name"
	both chown 1000:1000 "$name"
	both chmod 0666 "$name"
done
check noatime-cold "O_WRONLY|O_TRUNC|O_NOATIME" "$WORK/keep" "${nofowner[@]}"
cat "$mnt/noatime-warm" >/dev/null
expire
check noatime-warm "O_WRONLY|O_TRUNC|O_NOATIME" "$WORK/keep" "${nofowner[@]}"

note "== an allowed O_TRUNC of an existing file: OPEN_ATOMIC + SETATTR, truncated"
for name in t-cold t-warm; do echo data >"$src/$name"; done
cat "$mnt/t-warm" >/dev/null
expire
for name in t-cold t-warm; do
	counts_reset
	exec {fd}>"$mnt/$name" && exec {fd}>&- # open(O_WRONLY|O_CREAT|O_TRUNC)
	expect_counts "OPEN_ATOMIC=1 SETATTR=1 LOOKUP=0 OPEN=0 CREATE=0"
	expect_eq "$name: size after O_TRUNC" 0 "$(stat -c %s "$src/$name")"
done
atomfs_stop

# allow_other (and with it default_permissions, without which FUSE clears the
# sticky bit of its inodes and the VFS applies no protected_regular): the old
# series fell back to LOOKUP + OPEN for O_TRUNC here; now OPEN_ATOMIC + SETATTR.
chmod 0755 "$WORK" "$src" "$native" # let uid 1000 walk to both trees
atomfs_start "$src" "$mnt" --timeout=1 -o allow_other

note "== protected_regular: O_CREAT of another user's file in a sticky directory: EACCES"
for level in 1 2; do
	echo "$level" >/proc/sys/fs/protected_regular
	dmode=$([ "$level" = 1 ] && echo 1777 || echo 1770) # 2 also covers group-writable
	d=sticky$level
	both mkdir "$d"
	both chown 1000:1000 "$d"
	both chmod "$dmode" "$d"
	for name in cold warm; do
		both cp "$WORK/keep" "$d/$name"
		both chown 1001:1000 "$d/$name"
		both chmod 0666 "$d/$name"
	done
	check "$d/cold" "O_WRONLY|O_CREAT|O_TRUNC" "$WORK/keep"
	cat "$mnt/$d/warm" >/dev/null
	expire
	check "$d/warm" "O_WRONLY|O_CREAT|O_TRUNC" "$WORK/keep"
done
echo "$old_pr" >/proc/sys/fs/protected_regular

note "== O_NOATIME by a non-owner, uid 1000 (allow_other): EPERM"
user=(setpriv --reuid=1000 --regid=1000 --clear-groups --)
for name in noatime-user-cold noatime-user-warm; do
	both cp "$WORK/keep" "$name"
	both chown 1001:1001 "$name"
	both chmod 0666 "$name"
done
check noatime-user-cold "O_WRONLY|O_TRUNC|O_NOATIME" "$WORK/keep" "${user[@]}"
cat "$mnt/noatime-user-warm" >/dev/null
expire
check noatime-user-warm "O_WRONLY|O_TRUNC|O_NOATIME" "$WORK/keep" "${user[@]}"

note "== default_permissions, uid 1000: EACCES leaves the file alone"
for name in eacces-cold eacces-warm; do
	both cp "$WORK/keep" "$name"
	both chmod 0644 "$name" # root's: uid 1000 may read, not write
done
cat "$mnt/eacces-warm" >/dev/null
expire
for name in eacces-cold eacces-warm; do
	check "$name" "O_WRONLY|O_TRUNC" "$WORK/keep" "${user[@]}"
done
both mkdir rootdir # 0755, root's
got=$("${user[@]}" "$FSPROBE" open "$mnt/rootdir/new" "O_WRONLY|O_CREAT")
want=$("${user[@]}" "$FSPROBE" open "$native/rootdir/new" "O_WRONLY|O_CREAT")
expect_eq "uid 1000 O_CREAT in root's directory vs native" "$want" "$got"
[ ! -e "$src/rootdir/new" ] || fail "the refused O_CREAT created rootdir/new in the source"

note "== default_permissions: an allowed O_TRUNC is OPEN_ATOMIC + SETATTR"
echo data >"$src/dp-cold"
counts_reset
exec {fd}>"$mnt/dp-cold" && exec {fd}>&-
expect_counts "OPEN_ATOMIC=1 SETATTR=1 LOOKUP=0 OPEN=0 CREATE=0"
expect_eq "dp-cold: size after O_TRUNC" 0 "$(stat -c %s "$src/dp-cold")"
atomfs_stop

note "== writeback cache: O_TRUNC of an uncached existing name, then a write"
atomfs_start "$src" "$mnt" --timeout=1 --writeback
for d in "$src" "$native"; do printf 'old-content' >"$d/wb"; done
counts_reset
printf new >"$mnt/wb"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0 CREATE=0" # SETATTR: truncation and times
printf new >"$native/wb"
expect_eq "writeback: content after O_TRUNC + write vs native" "$(cat "$native/wb")" "$(cat "$mnt/wb")"
atomfs_stop
expect_eq "writeback: source after unmount" new "$(cat "$src/wb")"
