#!/usr/bin/env bash
# Creating calls judged by the source itself, compared with native on
# SOURCE (SOURCE/n used directly, SOURCE/m through the mount, built alike),
# -o allow_other --timeout=30 so that the kernel keeps every directory's
# attributes and ACLs cached for the whole test:
#  - write access revoked directly in SOURCE after the mount cached it
#    (chmod 0777 -> 0755, an ACL entry u:atfs-u3:rwx removed): create,
#    O_TMPFILE, mknod, mkdir, symlink and link by atfs-u3 must fail with
#    EACCES as natively, not pass on the kernel's stale verdict;
#  - a directory writable only through a named-group ACL entry
#    (g:atfs-g:rwx, root:root 0755): atfs-u1 (atfs-g is a supplementary
#    group, not the directory's) creates, links and so on as natively,
#    atfs-u3 (not in atfs-g) is refused.
# usage: creates.sh FS_BIN
TEST_NAME=creates
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
FSOPS=$here/fsops.py
require_root_fuse
command -v setfacl >/dev/null || skip "setfacl missing (package acl)"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
make_work
create_users || finish

build() {
	local d=$1
	mkdir -m 0755 "$d" "$d/own"
	mkdir -m 0777 "$d/revoked-mode"
	mkdir -m 0755 "$d/revoked-acl" "$d/named-group"
	setfacl -m u:atfs-u3:rwx "$d/revoked-acl"
	setfacl -m g:$SHARED_GROUP:rwx "$d/named-group"
	for u in "${USERS[@]}"; do
		echo "$u" >"$d/own/$u"
		chown "$u" "$d/own/$u"
	done
}

src=$WORK/src mnt=$WORK/mnt
mkdir "$src" "$mnt"
chmod 0755 "$src"
build "$src/n"
build "$src/m"
fs_start "$src" "$mnt" -o allow_other --timeout=30 || finish
# Cache every directory's attributes (and ACLs) as the users see them.
for u in "${USERS[@]}"; do
	as "$u" $PY "$FSOPS" mk "$mnt/m" >/dev/null 2>&1
done
for d in n m; do
	chmod 0755 "$src/$d/revoked-mode"
	setfacl -x u:atfs-u3 "$src/$d/revoked-acl"
done
compare_with_native creates mk "$src/n" "$mnt/m" 21
for check in "atfs-u1:create revoked-mode -> EACCES" "atfs-u3:create revoked-acl -> EACCES" \
	"atfs-u3:link revoked-acl -> EACCES" "atfs-u1:create named-group -> OK" \
	"atfs-u1:link named-group -> OK" "atfs-u1:mkdir named-group -> OK" \
	"atfs-u3:create named-group -> EACCES"; do
	u=${check%%:*} line=${check#*:}
	grep -qxF -- "$line" "$WORK/native-creates-$u.out" || fail "oracle: $u: expected '$line' natively"
	grep -qxF -- "$line" "$WORK/mount-creates-$u.out" && ok "$u: $line" ||
		fail "$u: expected '$line' through the mount"
done
fs_stop "$mnt" || fail "server exit status $?"
finish
