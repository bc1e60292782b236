#!/usr/bin/env bash
# Ownership and mode semantics compared with native, as the unprivileged
# caller atfs-u1 (member of atfs-g) on a native directory and through the
# mount (-o allow_other), cached and --nocache:
#  - files, directories, FIFOs and symlinks are owned by the caller (fsuid,
#    fsgid), with umask 022 and 077;
#  - a setgid directory (root:atfs-g, 2777) passes its group on, and its
#    setgid bit to new subdirectories;
#  - a directory's default POSIX ACL is inherited and the umask (077) is not
#    applied on top (getfacl of everything created compared with native);
#  - setuid/setgid bits are cleared by a non-owner's write, O_TRUNC,
#    ftruncate and fallocate exactly as natively;
#  - a write through a shared mmap advances mtime and ctime;
#  - -o noatime: a read through the mount leaves the source's atime alone.
# usage: ownership.sh FS_BIN
TEST_NAME=ownership
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
FSOPS=$here/fsops.py
require_root_fuse
command -v setfacl >/dev/null || skip "setfacl missing (package acl)"
make_work
create_users || finish

# prepare DIR: the directories and victims the op lists expect.
prepare() {
	local d=$1 f
	chmod 0777 "$d"
	mkdir "$d/sgid" "$d/acl" "$d/kill"
	chown root:$SHARED_GROUP "$d/sgid"
	chmod 2777 "$d/sgid"
	chmod 0777 "$d/acl" "$d/kill"
	setfacl -d -m u::rwx,g::r-x,o::r-x,u:atfs-u2:rwx,m::rwx "$d/acl"
	for f in w t ft fa; do
		echo "victim" >"$d/kill/$f"
		chown atfs-u2:$SHARED_GROUP "$d/kill/$f"
		chmod 06777 "$d/kill/$f"
	done
	echo "victim" >"$d/kill/g"
	chown atfs-u2:$SHARED_GROUP "$d/kill/g"
	chmod 02775 "$d/kill/g"
}
# compare WHAT NATIVE_FILE MOUNT_FILE
compare() {
	if diff -u "$2" "$3"; then ok "$1: equal to native ($(wc -l <"$2") lines)"; else fail "$1: differs from native (- native, + mount)"; fi
}

for mode in cached nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode native=$WORK/native-$mode
	mkdir "$src" "$mnt" "$native"
	prepare "$src"
	prepare "$native"
	opts=(-o allow_other,default_permissions)
	[ $mode = nocache ] && opts+=(--nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	for list in own kill mmap-times; do
		as atfs-u1 $PY "$FSOPS" $list "$native" >"$WORK/$list.native" 2>&1
		as atfs-u1 $PY "$FSOPS" $list "$mnt" >"$WORK/$list.mount" 2>&1
		say "$mode: $list as atfs-u1:"
		sed 's/^/    /' "$WORK/$list.native"
		compare "$mode: $list" "$WORK/$list.native" "$WORK/$list.mount"
	done
	grep -q 'advanced -> True' "$WORK/mmap-times.native" || fail "oracle: native mmap write did not advance mtime"
	(cd "$native" && getfacl -R -p . 2>/dev/null) >"$WORK/acl.native"
	(cd "$src" && getfacl -R -p . 2>/dev/null) >"$WORK/acl.src"
	compare "$mode: ACLs of everything (getfacl -R of the source)" "$WORK/acl.native" "$WORK/acl.src"
	fs_stop "$mnt" || fail "$mode: server exit status $?"
done

say "noatime: a read through a -o noatime mount"
src=$WORK/src-noatime mnt=$WORK/mnt-noatime
mkdir "$src" "$mnt"
echo "read me" >"$src/f"
touch -m -d '2002-01-01' "$src/f"
touch -a -d '2001-01-01' "$src/f" # older than mtime: relatime would update it
before=$(stat -c %X "$src/f")
if fs_start "$src" "$mnt" -o noatime; then
	grep -q "$mnt .*noatime" /proc/mounts && ok "noatime in /proc/mounts" || fail "noatime missing from /proc/mounts: $(grep "$mnt" /proc/mounts)"
	cat "$mnt/f" >/dev/null
	expect_eq "noatime: atime seen through the mount after a read" "$before" "$(stat -c %X "$mnt/f")"
	fs_stop "$mnt" || fail "noatime: server exit status $?"
	expect_eq "noatime: source atime after a read through the mount" "$before" "$(stat -c %X "$src/f")"
fi
finish
