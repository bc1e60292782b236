#!/usr/bin/env bash
# POSIX ACLs with allow_other, compared with native on SOURCE itself: the
# same tree is built twice inside SOURCE, SOURCE/n used directly and
# SOURCE/m through the mount, and each temporary user (atfs-u1, atfs-u2 in
# atfs-g, atfs-u3 in no shared group) runs the same operation list (fsops.py
# acl) on both. Covered: named-user and named-group entries and the mask on
# files and directories (read, append, access, listdir, lookup, create),
# default ACLs inherited on create, mkdir and mkfifo with umask 022 and 077,
# the mode right after setfacl by the owner (stat -c %a: statx asking for
# the mode alone, which the kernel answers from its cache), setfacl by others
# (EPERM), set-group-ID dropped by setfacl when the owner is not in the
# file's group. Every outcome must equal native, and getfacl -R of the two
# trees must end equal. Cached and --nocache.
# usage: acl.sh FS_BIN
TEST_NAME=acl
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

# build DIR: the tree fsops.py acl expects (as root).
build() {
	local d=$1 u
	mkdir "$d"
	chmod 0755 "$d"
	mkfile() { # mkfile PATH MODE ACL
		echo "content of $(basename "$1")" >"$1"
		chmod "$2" "$1"
		[ -z "$3" ] || setfacl -m "$3" "$1"
	}
	mkfile "$d/f-u1-denied" 0644 u:atfs-u1:---
	mkfile "$d/f-u1-granted" 0600 u:atfs-u1:rw-
	mkfile "$d/f-group-rw" 0600 g:$SHARED_GROUP:rw-
	mkfile "$d/f-masked" 0600 u:atfs-u1:rw-,u:atfs-u3:rw-,m::r--
	mkfile "$d/f-other-only" 0604 g:users:---
	for sub in d-u1-denied:u:atfs-u1:--- d-group-rwx:g:$SHARED_GROUP:rwx d-u1-noexec:u:atfs-u1:rw-; do
		mkdir "$d/${sub%%:*}"
		mkfile "$d/${sub%%:*}/x" 0644 ""
		setfacl -m "${sub#*:}" "$d/${sub%%:*}"
	done
	mkdir -m 0777 "$d/d-default" "$d/d-default/sub"
	setfacl -d -m u::rwx,g::r-x,o::r-x,u:atfs-u2:rwx,g:$SHARED_GROUP:r-x,m::rwx "$d/d-default"
	setfacl -d -m u::rwx,g::rwx,o::---,u:atfs-u3:r--,m::r-x "$d/d-default/sub"
	mkdir -m 0755 "$d/own"
	for u in "${USERS[@]}"; do
		mkfile "$d/own/$u" 0644 ""
		chown "$u" "$d/own/$u"
		mkdir -m 0755 "$d/own/dir-$u"
		chown "$u" "$d/own/dir-$u"
		mkfile "$d/own/sgid-rootgroup-$u" 02775 ""
		chown "$u:root" "$d/own/sgid-rootgroup-$u"
		chmod 02775 "$d/own/sgid-rootgroup-$u"
		mkfile "$d/own/sgid-owngroup-$u" 02775 ""
		chown "$u:users" "$d/own/sgid-owngroup-$u"
		chmod 02775 "$d/own/sgid-owngroup-$u"
	done
}

for mode in cached nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode
	mkdir "$src" "$mnt"
	chmod 0755 "$src"
	build "$src/n"
	build "$src/m"
	opts=(-o allow_other)
	[ $mode = nocache ] && opts+=(--nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	compare_with_native "$mode" acl "$src/n" "$mnt/m" 129
	# The oracle itself must deny and grant through the ACLs.
	for check in "atfs-u1:read f-u1-denied -> EACCES" "atfs-u2:read f-u1-denied -> OK content_of_f-u1-denied" \
		"atfs-u1:read f-u1-granted -> OK content_of_f-u1-granted" "atfs-u2:read f-u1-granted -> EACCES" \
		"atfs-u2:append f-group-rw -> OK" "atfs-u3:read f-group-rw -> EACCES" \
		"atfs-u1:append f-masked -> EACCES" "atfs-u1:listdir d-u1-denied -> EACCES" \
		"atfs-u1:create d-group-rwx/new-atfs-u1 -> OK" "atfs-u3:create d-group-rwx/new-atfs-u3 -> EACCES" \
		"atfs-u1:mode d-default/file-atfs-u1-077 -> OK 0o664" \
		"atfs-u1:mode own/atfs-u1 -> OK 674" \
		"atfs-u1:mode after own/sgid-rootgroup-atfs-u1 -> OK 775" \
		"atfs-u1:mode after own/sgid-owngroup-atfs-u1 -> OK 2775" \
		"atfs-u2:setfacl -m u:atfs-u3:rwx own/atfs-u1 -> EPERM"; do
		u=${check%%:*} line=${check#*:}
		grep -qxF -- "$line" "$WORK/native-$mode-$u.out" || fail "$mode: oracle: $u: expected '$line' natively"
		grep -qxF -- "$line" "$WORK/mount-$mode-$u.out" && ok "$mode: $u: $line" ||
			fail "$mode: $u: expected '$line' through the mount"
	done
	fs_stop "$mnt" || fail "$mode: server exit status $?"
	(cd "$src/n" && getfacl -R -p -n . 2>/dev/null) >"$WORK/acl.n"
	(cd "$src/m" && getfacl -R -p -n . 2>/dev/null) >"$WORK/acl.m"
	if diff -u "$WORK/acl.n" "$WORK/acl.m"; then
		ok "$mode: getfacl -R of the trees equal ($(grep -c '^# file' "$WORK/acl.n") files)"
	else
		fail "$mode: getfacl -R differs (- native, + through the mount)"
	fi
done
finish
