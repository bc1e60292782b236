# Opens on the revalidating path (a cached dentry whose entry expired: --nocache)
# behave as natively (issue 13): O_NOFOLLOW on a symlink (ELOOP), O_EXCL on an
# existing name (EEXIST), a trailing slash on a file (ENOTDIR), each also after
# the name was replaced in the source; exec of a cached binary, of one replaced
# in the source, and of one open for writing (ETXTBSY, bytes intact); a bind
# mount of a FUSE file opened after the file was replaced or renamed over in the
# source (natively the bind mount keeps the old file); and mounts on top of a
# FUSE file and directory, which the open must cross instead of opening the
# FUSE node. Every result is compared with the same steps in a native tmpfs
# directory. Request counts are bounds where they depend on where the kernel
# revalidates (->d_revalidate() or ->open()): one round trip for an unchanged
# name, at most two when the name changed (the retry), none reaching a FUSE
# node hidden under a mount.
. "$(dirname "$0")/lib.sh"

src=$(fresh_source)
native=$(fresh_source)
mnt=$WORK/mnt
mounts=()
cleanup_mounts() { local m; for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap 'cleanup_mounts; _cleanup' EXIT

# both CMD...: the same step in the source and in the native tree
both() { local d; for d in "$src" "$native"; do (cd "$d" && "$@"); done; }
# the result of CMD... run on the mount, and on the native tree, paths made alike
same() {
	local what=$1 sub=$2 got want
	shift 2
	got=$("$@" "$mnt/$sub" 2>&1 | sed "s|$mnt|ROOT|g")
	want=$("$@" "$native/$sub" 2>&1 | sed "s|$native|ROOT|g")
	expect_eq "$what vs native" "$want" "$got"
}
openp() { "$FSPROBE" open "$2" "$1"; }

# tree_state DIR: names, types, sizes and contents, for comparing trees
tree_state() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f link $(readlink "$f")"
		elif [ -f "$f" ]; then echo "$f file $(stat -c %s "$f") $(md5sum <"$f" | cut -c1-8)"
		else echo "$f $(stat -c %F "$f")"; fi
	done)
}

atomfs_start "$src" "$mnt" --nocache

note "== O_NOFOLLOW, O_EXCL, trailing slash on cached names, unchanged and replaced"
# name  how it is cached  what the source makes of it  path  flags  max requests
cases=(
	"nf-link      link  same     nf-link      O_RDONLY|O_NOFOLLOW         1"
	"nf-file      file  same     nf-file      O_RDONLY|O_NOFOLLOW         1"
	"nf-f2link    file  link     nf-f2link    O_RDONLY|O_NOFOLLOW         2"
	"nf-f2dangle  file  dangling nf-f2dangle  O_WRONLY|O_CREAT|O_NOFOLLOW 2"
	"ex-file      file  same     ex-file      O_WRONLY|O_CREAT|O_EXCL     1"
	"ex-f2link    file  dangling ex-f2link    O_WRONLY|O_CREAT|O_EXCL     2"
	"ex-f2dir     file  dir      ex-f2dir     O_RDONLY|O_CREAT|O_EXCL     2"
	"ex-gone      file  gone     ex-gone      O_RDWR|O_CREAT|O_EXCL       2"
	"sl-file      file  same     sl-file/     O_RDONLY                    1"
	"sl-creat     file  same     sl-creat/    O_RDWR|O_CREAT              1"
	"sl-f2dir     file  dir      sl-f2dir/    O_RDONLY                    2"
	"sl-f2link    file  linkdir  sl-f2link/   O_RDONLY                    2"
	"sl-gone      file  gone     sl-gone/     O_RDONLY                    2"
)
for c in "${cases[@]}"; do
	read -r name cached after path flags max <<<"$c"
	both mkdir -p targetdir
	case $cached in
	file) both sh -c "echo before >$name" ;;
	link) both sh -c "echo target >$name.target && ln -s $name.target $name" ;;
	esac
	stat "$mnt/$name" >/dev/null 2>&1 || true # cached through the mount
	case $after in
	same) ;;
	link) both sh -c "rm -f $name && echo other >$name.t2 && ln -s $name.t2 $name" ;;
	dangling) both sh -c "rm -f $name && ln -s $name.nowhere $name" ;;
	dir) both sh -c "rm -f $name && mkdir $name" ;;
	linkdir) both sh -c "rm -f $name && ln -s targetdir $name" ;;
	gone) both rm -f "$name" ;;
	esac
	counts_reset
	got=$(openp "$flags" "$mnt/$path")
	expect_at_most "$max" "LOOKUP OPEN_ATOMIC OPEN CREATE OPENDIR"
	want=$(openp "$flags" "$native/$path")
	expect_eq "$name ($cached -> $after) $path $flags vs native" "$want" "$got"
done
a=$(tree_state "$native")
b=$(tree_state "$src")
[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | sed 's/^/    /' >&2; fail "trees differ after the opens (< native, > atomfs source)"; }
note "trees equal after the opens"

note "== exec on the revalidating path"
both cp "$(type -P true)" prog
both chmod 0755 prog
run() { ( exec "$1" ); echo "exit=$?"; }
stat "$mnt/prog" >/dev/null
counts_reset
expect_eq "exec of a cached binary" "exit=0" "$(run "$mnt/prog")"
# one open, whichever request carries it; exec also reads (READ or passthrough)
expect_at_most 1 "LOOKUP OPEN_ATOMIC OPEN"
both sh -c "rm -f prog && cp $(type -P false) prog && chmod 0755 prog"
same "exec of a binary replaced in the source" prog run
both sh -c "rm -f prog && printf '#!/bin/sh\necho replaced-by-script\n' >prog && chmod 0755 prog"
same "exec of a script replaced in the source" prog run
both cp "$(type -P true)" prog2
both chmod 0755 prog2
counts_reset
expect_eq "exec of an uncached binary" "exit=0" "$(run "$mnt/prog2")"
expect_counts "OPEN_ATOMIC=1 LOOKUP=0 OPEN=0"

note "== exec of a binary open for writing: ETXTBSY, bytes intact"
exec {wm}>>"$mnt/prog2" {wn}>>"$native/prog2"
same "exec while open for writing" prog2 run
exec {wm}>&- {wn}>&-
cmp -s "$(type -P true)" "$src/prog2" || fail "prog2 changed in the source"
same "exec once closed" prog2 run

note "== a bind mount of a FUSE file, the file replaced or renamed over in the source"
for kind in modified replaced renamed; do
	both sh -c "echo original-$kind >bf-$kind"
	mkdir -p "$WORK/bind-$kind-m" "$WORK/bind-$kind-n"
	touch "$WORK/bind-$kind-m/f" "$WORK/bind-$kind-n/f"
	mount --bind "$mnt/bf-$kind" "$WORK/bind-$kind-m/f"
	mounts+=("$WORK/bind-$kind-m/f")
	mount --bind "$native/bf-$kind" "$WORK/bind-$kind-n/f"
	mounts+=("$WORK/bind-$kind-n/f")
	case $kind in
	modified) both sh -c "echo appended >>bf-$kind" ;;
	replaced) both sh -c "rm bf-$kind && echo new-file >bf-$kind" ;;
	renamed) both sh -c "echo renamed-over >other && mv other bf-$kind" ;;
	esac
	counts_reset
	got=$(cat "$WORK/bind-$kind-m/f" 2>&1 | sed "s|$WORK/bind-$kind-m|B|")
	# the bind mount's root is opened as it is: at most a revalidation and a retry
	expect_at_most 3 "LOOKUP OPEN_ATOMIC OPEN"
	want=$(cat "$WORK/bind-$kind-n/f" 2>&1 | sed "s|$WORK/bind-$kind-n|B|")
	expect_eq "bind mount, file $kind in the source: read vs native" "$want" "$got"
	got=$(openp O_WRONLY "$WORK/bind-$kind-m/f")
	want=$(openp O_WRONLY "$WORK/bind-$kind-n/f")
	expect_eq "bind mount, file $kind: open for writing vs native" "$want" "$got"
	expect_eq "bind mount, file $kind: name in the mount vs native" "$(cat "$native/bf-$kind")" "$(cat "$mnt/bf-$kind")"
done

note "== mounts on top of a FUSE file and a FUSE directory"
both sh -c "echo under-file >mf && mkdir md && echo under-dir >md/x"
echo over-file >"$WORK/over-m"
echo over-file >"$WORK/over-n"
stat "$mnt/mf" "$mnt/md/x" >/dev/null
mount --bind "$WORK/over-m" "$mnt/mf"
mounts+=("$mnt/mf")
mount --bind "$WORK/over-n" "$native/mf"
mounts+=("$native/mf")
mount -t tmpfs none "$mnt/md"
mounts+=("$mnt/md")
mount -t tmpfs none "$native/md"
mounts+=("$native/md")
echo over-dir >"$mnt/md/x"
echo over-dir >"$native/md/x"
counts_reset
same "read of a file mounted over a FUSE file" mf cat
same "read in a tmpfs mounted over a FUSE directory" md/x cat
expect_counts "OPEN_ATOMIC=0 OPEN=0 CREATE=0 OPENDIR=0"
for flags in "O_WRONLY|O_TRUNC" "O_WRONLY|O_CREAT|O_EXCL" "O_RDONLY|O_NOFOLLOW" "O_RDONLY|O_DIRECTORY"; do
	counts_reset
	same "mountpoint file, $flags" mf openp "$flags"
	# never the FUSE file under the mount: at most its revalidating LOOKUP
	expect_counts "OPEN_ATOMIC=0 OPEN=0 CREATE=0 SETATTR=0"
done
for p in md/new md/x; do
	counts_reset
	same "under the mounted directory, $p O_RDWR|O_CREAT" "$p" openp "O_RDWR|O_CREAT"
	expect_counts "OPEN_ATOMIC=0 OPEN=0 CREATE=0"
done
same "the directory mountpoint itself" md openp O_RDONLY
cleanup_mounts
mounts=()
expect_eq "FUSE file under the mount untouched" under-file "$(cat "$src/mf")"
expect_eq "FUSE directory under the mount untouched" "x" "$(ls "$src/md")"
atomfs_stop
