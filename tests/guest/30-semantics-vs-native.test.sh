# open(2) through atomfs behaves exactly like open(2) on the native source: each case
# runs fsprobe (result errno, file type, size, inotify IN_CREATE) on a native directory
# and on the mount, over identical trees, on a cold cache, with and without --nocache,
# over tmpfs and (when the VM has the disk) ext4. Afterwards both trees must match.
. "$(dirname "$0")/lib.sh"

# name  flags  what the name is before the open
cases=(
	"excl_existing    O_WRONLY|O_CREAT|O_EXCL  file"
	"trunc_existing   O_WRONLY|O_TRUNC         file"
	"creat_existing   O_RDWR|O_CREAT           file"
	"creat_trunc      O_RDWR|O_CREAT|O_TRUNC   file"
	"append_existing  O_WRONLY|O_APPEND        file"
	"creat_new        O_RDWR|O_CREAT           none"
	"excl_new         O_WRONLY|O_CREAT|O_EXCL  none"
	"open_missing     O_RDONLY                 none"
	"trunc_missing    O_WRONLY|O_TRUNC         none"
	"dir_rdonly       O_RDONLY                 dir"
	"dir_wronly       O_WRONLY                 dir"
	"dir_creat        O_RDONLY|O_CREAT         dir"
	"dir_directory    O_RDONLY|O_DIRECTORY     dir"
	"file_directory   O_RDONLY|O_DIRECTORY     file"
	"link_follow      O_RDONLY                 symlink"
	"link_nofollow    O_RDONLY|O_NOFOLLOW      symlink"
	"link_excl        O_WRONLY|O_CREAT|O_EXCL  symlink"
	"dangling_creat   O_WRONLY|O_CREAT         dangling"
	"dangling_open    O_RDONLY                 dangling"
	"fifo_nonblock    O_RDONLY|O_NONBLOCK      fifo"
	"chrdev_rdwr      O_RDWR                   chrdev"
	"notdir_path      O_RDONLY                 notdir"
)

# make_tree DIR: the "before" state of every case
make_tree() {
	local d=$1 c name flags kind
	for c in "${cases[@]}"; do
		read -r name flags kind <<<"$c"
		case $kind in
		file) printf 'twelve bytes' >"$d/$name" ;;
		dir) mkdir "$d/$name" ;;
		symlink) printf 'target' >"$d/$name.target"; ln -s "$name.target" "$d/$name" ;;
		dangling) ln -s "$name.target" "$d/$name" ;;
		fifo) mkfifo "$d/$name" ;;
		chrdev) mknod "$d/$name" c 1 3 ;; # /dev/null
		notdir) printf 'x' >"$d/$name.file" ;;
		none) ;;
		esac
	done
}

case_path() { # the path a case opens, relative to its tree
	local name=$1 kind=$2
	if [ "$kind" = notdir ]; then echo "$name.file/child"; else echo "$name"; fi
}

# tree_state DIR: names, types, sizes and contents, for comparing trees
tree_state() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f link $(readlink "$f")"
		elif [ -f "$f" ]; then echo "$f file $(stat -c %s "$f") $(md5sum <"$f" | cut -c1-8)"
		else echo "$f $(stat -c %F "$f")"; fi
	done)
}

run_all() {
	local mode=$1 fstype=$2
	local opts=(); [ "$mode" = default ] || opts=("$mode")
	local native src mnt=$WORK/mnt c name flags kind p want got
	native=$(SOURCE_FS=$fstype fresh_source)
	src=$(SOURCE_FS=$fstype fresh_source)
	make_tree "$native"
	make_tree "$src"
	# -o dev: like libfuse, atomfs mounts nodev unless asked, and the native side
	# opens the device node
	atomfs_start "$src" "$mnt" -o dev "${opts[@]}"
	for c in "${cases[@]}"; do
		read -r name flags kind <<<"$c"
		p=$(case_path "$name" "$kind")
		want=$(probe open "$native/$p" "$flags")
		got=$(timeout 10 "$FSPROBE" open "$mnt/$p" "$flags") || fail "$name: probe failed or hung on the mount"
		[ "$want" = "$got" ] || fail "$fstype $mode $name ($flags on $kind): native [$want] atomfs [$got]"
		note "$fstype $mode $name: $got"
	done

	# FIFO with a reader and a writer in the guest; the server must not be blocked
	mkfifo "$native/pipe" "$src/pipe"
	want=$(timeout 10 "$FSPROBE" fifo "$native/pipe")
	got=$(timeout 10 "$FSPROBE" fifo "$mnt/pipe") || fail "fifo reader/writer through the mount hung"
	expect_eq "$fstype $mode fifo reader+writer" "$want" "$got"
	timeout 10 stat "$mnt/excl_existing" >/dev/null || fail "server blocked after the FIFO test"

	atomfs_stop
	local a b
	a=$(tree_state "$native")
	b=$(tree_state "$src")
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | sed 's/^/    /' >&2; fail "$fstype $mode: trees differ after the opens (< native, > atomfs source)"; }
	note "$fstype $mode: trees equal ($(echo "$b" | wc -l) entries)"
	rm -rf "$native" "$src"
}

fstypes=(tmpfs)
[ -n "${ATOMFS_EXT4:-}" ] && fstypes+=(ext4) || note "no ext4 disk: tmpfs only"
for fstype in "${fstypes[@]}"; do
	for mode in default --nocache; do
		run_all "$mode" "$fstype"
	done
done
