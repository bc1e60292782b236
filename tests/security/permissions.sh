#!/usr/bin/env bash
# Permissions with allow_other: root mounts SOURCE with -o allow_other,
# default_permissions; three temporary users (owner, group member, other)
# each run the same fixed list of 280 operations (stat, read, access,
# readdir, create, mkdir, symlink, mkfifo, append, utime, xattr, link, chmod,
# chown, truncate, rename, unlink, rmdir in private, group, exec-only, sticky
# and read-only directories) on a native copy of the tree and through the
# mount. Every outcome (errno) must be identical; a few are also checked to
# be EACCES explicitly. Cached and --nocache.
# usage: permissions.sh FS_BIN
TEST_NAME=permissions
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
FSOPS=$here/fsops.py
require_root_fuse
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
make_work
create_users || finish

for mode in cached nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode native=$WORK/native-$mode
	mkdir "$src" "$mnt" "$native"
	for u in "${USERS[@]}"; do
		for top in "$src" "$native"; do
			mkdir "$top/$u"
			$PY "$FSOPS" tree "$top/$u" atfs-u1 atfs-u2 $SHARED_GROUP
		done
	done
	opts=(-o allow_other,default_permissions)
	[ $mode = nocache ] && opts+=(--nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	compare_with_native "$mode" perm "$native/%u" "$mnt/%u" 251
	# Spot checks that the oracle itself denies what it should.
	for check in "atfs-u3:read pub/u1-600 -> EACCES" "atfs-u2:read priv/f -> EACCES" \
		"atfs-u3:create shared/new -> EACCES" "atfs-u2:read pub/u1-640 -> OK u1_group-readable"; do
		u=${check%%:*} line=${check#*:}
		grep -qxF -- "$line" "$WORK/mount-$mode-$u.out" && ok "$mode: $u: $line" ||
			fail "$mode: $u: expected '$line' through the mount"
	done
	# The trees themselves (modes, owners, contents) must have ended equal.
	for u in "${USERS[@]}"; do
		(cd "$native/$u" && find . -printf '%p %y %m %u %g %s\n' | sort) >"$WORK/n.tree"
		(cd "$src/$u" && find . -printf '%p %y %m %u %g %s\n' | sort) >"$WORK/s.tree"
		diff -u "$WORK/n.tree" "$WORK/s.tree" >/dev/null && ok "$mode: $u: source tree equals native tree" ||
			{ diff -u "$WORK/n.tree" "$WORK/s.tree"; fail "$mode: $u: source tree differs from native"; }
	done
	fs_stop "$mnt" || fail "$mode: server exit status $?"
done
finish
