#!/usr/bin/env bash
# Confinement: symlinks pointing outside SOURCE (absolute, relative, to a
# directory, dangling), ".." at the mount root, hard links and renames
# across the boundary (EXDEV), O_NOFOLLOW on symlinks (ELOOP), operations on
# links themselves (lchown, lutimes, lsetxattr): nothing outside SOURCE is
# read, written or created. A canary directory beside SOURCE (contents,
# modes, owners, times, xattrs, atime included) is compared before and after.
# Cached and --nocache.
# usage: confinement.sh FS_BIN
TEST_NAME=confinement
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
FS_BIN=$1
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3)
require_root_fuse
make_work

canary=$WORK/canary
# snapshot: every entry of the canary with its stat fields (atime
# included), xattrs and contents, read with O_NOATIME so that the snapshot
# itself does not move the atime it records.
snapshot() {
	$PY - "$canary" <<'PYEOF'
import os, sys
root = sys.argv[1]
for d, dirs, files in sorted(os.walk(root)):
    for name in sorted(["."] + dirs + files):
        path = os.path.join(d, name)
        st = os.lstat(path)
        x = sorted((k, os.getxattr(path, k, follow_symlinks=False)) for k in os.listxattr(path, follow_symlinks=False))
        data = b""
        if os.path.isfile(path):
            fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
            data = os.read(fd, 1 << 20)
            os.close(fd)
        print(os.path.relpath(path, root), oct(st.st_mode), st.st_uid, st.st_gid, st.st_size,
              st.st_nlink, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns, x, data)
PYEOF
}
mkdir -p "$canary/sub"
echo "secret data" >"$canary/secret"
echo "also secret" >"$canary/sub/inner"
setfattr -n user.keep -v canary "$canary/secret" 2>/dev/null
touch -a -d '2001-01-01' "$canary/secret" "$canary/sub/inner" # atime: a read would move it
snapshot >"$WORK/canary.before"

for mode in cached nocache; do
	src=$WORK/src mnt=$WORK/m/mnt
	rm -rf "$src" "$WORK/m"
	mkdir -p "$src/sub" "$mnt"
	echo "inside" >"$src/file"
	ln -s "$canary/secret" "$src/esc-abs"
	ln -s ../canary/secret "$src/esc-rel"
	ln -s ../canary "$src/esc-dir"
	ln -s ../canary/created "$src/esc-new"
	opts=()
	[ $mode = nocache ] && opts=(--nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	# Everything beside SOURCE, one level up, besides the server's own
	# stats file (written at exit): a server resolving ".." would create here.
	beside() { ls -A "$WORK" | grep -Ev '^(stats\.|beside\.)' ; }
	beside >"$WORK/beside.before"
	say "$mode: operations through the mount"
	$PY "$here/confine.py" "$mnt" "$canary" || fail "$mode: confinement operations (see FAIL lines)"
	fs_stop "$mnt" || fail "$mode: server exit status $?"
	beside >"$WORK/beside.after"
	diff -u "$WORK/beside.before" "$WORK/beside.after" && ok "$mode: nothing new beside SOURCE" ||
		fail "$mode: entries appeared beside SOURCE"
	snapshot >"$WORK/canary.after"
	if diff -u "$WORK/canary.before" "$WORK/canary.after"; then
		ok "$mode: canary unchanged (contents, modes, owners, times, xattrs)"
	else
		fail "$mode: the canary beside SOURCE changed"
	fi
	[ -e "$WORK/m/canary" ] && fail "$mode: something created $WORK/m/canary"
	expect_eq "$mode: source symlink esc-abs was renamed, its target text kept" "$canary/secret" "$(readlink "$src/moved")"
	expect_eq "$mode: source file still inside" "inside" "$(cat "$src/file")"
done
finish
