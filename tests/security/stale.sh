#!/usr/bin/env bash
# Access taken away in SOURCE behind the kernel's cached attributes:
# -o allow_other --timeout=30 (a slow machine must not let the kernel
# revalidate before the act, which would pass without the server's own
# check), once as default and once with --writeback; stale.py has root chmod,
# chown and setfacl a file or directory directly in SOURCE right after a
# user made the kernel cache it, and the user then at once opens, reads,
# writes, truncates, chmods, chowns, utimes, renames, unlinks, lists, sets
# user.* xattrs or POSIX ACLs of it through the mount (a refused truncate or
# chown must also leave a set-user-ID file's mode as natively). The
# kernel's default_permissions check still sees the old access; the server
# must judge the caller against the source as it is now, which gives the
# native outcome (the same case built and changed alike outside the
# mount). Each of atfs-u1 (owner, where a case says so), atfs-u2 (group),
# atfs-u3 (other) and root runs every case.
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

# run_pass LABEL [atomfs options]: one mount, every case, every user.
run_pass() {
	local label=$1 src=$WORK/src-$1 mnt=$WORK/mnt-$1 native=$WORK/native-$1 out=$WORK/stale-$1.out
	shift
	mkdir "$src" "$mnt" "$native"
	for top in "$src" "$native"; do
		for u in "${USERS[@]}" root; do mkdir -m 0755 "$top/$u"; done
	done
	fs_start "$src" "$mnt" -o allow_other --timeout=30 "$@" || return
	$PY "$here/stale.py" "$native" "$src" "$mnt" "${USERS[@]}" root >"$out" 2>&1
	n=$(grep -c ': native ' "$out")
	say "$label: $n cases run ($(grep -c 'native EACCES\|native EPERM' "$out") refused natively)"
	[ "$n" -ge 128 ] || { fail "$label: only $n cases ran:"; cat "$out"; }
	while read -r line; do
		case $line in
		*": native "*" mount "*)
			n=${line#*: native } n=${n% mount *} m=${line##* mount }
			[ "$n" = "$m" ] && ok "$label: $line" || fail "$label: $line" ;;
		*) fail "$label: stale.py: $line" ;;
		esac
	done <"$out"
	# The oracle itself refuses what the cases take away.
	for check in "atfs-u3 read-chmod-600: native EACCES" "atfs-u3 truncate-chmod-644: native EACCES" \
		"atfs-u3 rename-chmod-755: native EACCES" "atfs-u3 chmod-chown-away: native EPERM" \
		"atfs-u2 read-group-only: native OK data" "root read-chmod-600: native OK data" \
		"atfs-u3 setfacl-chown-away: native EPERM" "atfs-u3 setfacl-remove-chown-away: native EPERM" \
		"atfs-u3 setacl-default-chown-away: native EPERM" \
		"atfs-u3 truncate-setuid-chmod: native EACCES mode 0o4755" \
		"atfs-u3 utime-mtime-chown-away: native EPERM False"; do
		grep -qF -- "$check " "$out" && ok "$label: oracle: $check" || fail "$label: oracle: expected '$check'"
	done
	fs_stop "$mnt" || fail "$label: server exit status $?"
}
run_pass default
# --writeback: the kernel keeps mtime itself and flushes it through setattr.
run_pass writeback --writeback
finish
