#!/usr/bin/env bash
# Access taken away in SOURCE behind the kernel's cached attributes:
# -o allow_other with the default 1 s timeouts; stale.py has root chmod,
# chown and setfacl a file or directory directly in SOURCE right after a
# user made the kernel cache it, and the user then at once opens, reads,
# writes, truncates, chmods, utimes, renames, unlinks, lists or sets user.*
# xattrs of it through the mount. The kernel's default_permissions check
# still sees the old access; the server must judge the caller against the
# source as it is now, which gives the native outcome (the same case built
# and changed alike outside the mount). Each of atfs-u1 (owner, where a case
# says so), atfs-u2 (group), atfs-u3 (other) and root runs every case.
# usage: stale.sh FS_BIN
TEST_NAME=stale
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
require_root_fuse
command -v setfacl >/dev/null || skip "setfacl missing (package acl)"
make_work
create_users || finish

src=$WORK/src mnt=$WORK/mnt native=$WORK/native
mkdir "$src" "$mnt" "$native"
for top in "$src" "$native"; do
	for u in "${USERS[@]}" root; do mkdir -m 0755 "$top/$u"; done
done
fs_start "$src" "$mnt" -o allow_other || finish
$PY "$here/stale.py" "$native" "$src" "$mnt" "${USERS[@]}" root >"$WORK/stale.out" 2>&1
n=$(grep -c ': native ' "$WORK/stale.out")
say "$n cases run ($(grep -c 'native EACCES\|native EPERM' "$WORK/stale.out") refused natively)"
[ "$n" -ge 108 ] || { fail "only $n cases ran:"; cat "$WORK/stale.out"; }
while read -r line; do
	case $line in
	*": native "*" mount "*)
		n=${line#*: native } n=${n% mount *} m=${line##* mount }
		[ "$n" = "$m" ] && ok "$line" || fail "$line" ;;
	*) fail "stale.py: $line" ;;
	esac
done <"$WORK/stale.out"
# The oracle itself refuses what the cases take away.
for check in "atfs-u3 read-chmod-600: native EACCES" "atfs-u3 truncate-chmod-644: native EACCES" \
	"atfs-u3 rename-chmod-755: native EACCES" "atfs-u3 chmod-chown-away: native EPERM" \
	"atfs-u2 read-group-only: native OK data" "root read-chmod-600: native OK data"; do
	grep -qF -- "$check " "$WORK/stale.out" && ok "oracle: $check" || fail "oracle: expected '$check'"
done
fs_stop "$mnt" || fail "server exit status $?"
finish
