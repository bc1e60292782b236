# An open that the server refuses for a reason of the open's own (EPERM: the source
# file is immutable) says nothing about the name, so the atomic revalidate keeps the
# expired dentry instead of invalidating it. Invalidating unhashed the name under
# every open file: /proc/PID/fd showed "f (deleted)" for a file that is still there.
# Only ENOENT/ESTALE (or another nodeid/generation in a reply) invalidate.
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
mnt=$WORK/mnt
atomfs_start "$src" "$mnt" --timeout=1
echo data >"$src/f"
chattr +i "$src/f" 2>/dev/null || skip "chattr +i is not supported on the source filesystem"
trap 'chattr -i "$src/f" 2>/dev/null; _cleanup' EXIT

exec {fd}<"$mnt/f"
sleep 1.2 # expired
got=$(probe open "$mnt/f" O_WRONLY)
want=$(probe open "$src/f" O_WRONLY)
expect_eq "write open of an immutable file vs native" "$want" "$got"
expect_eq "name of the file held open" "$mnt/f" "$(readlink "/proc/$$/fd/$fd")"
counts_reset
stat "$mnt/f" >/dev/null # the kept, still expired dentry is revalidated
expect_counts "LOOKUP=1 OPEN_ATOMIC=0"
expect_eq "name of the file held open after the revalidation" "$mnt/f" "$(readlink "/proc/$$/fd/$fd")"
exec {fd}<&-
chattr -i "$src/f"
atomfs_stop
