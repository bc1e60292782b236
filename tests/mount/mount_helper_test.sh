#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/mount.fuse.atomfs: called directly as mount(8) would, then through
# mount(8) itself (-t fuse.atomfs, an /etc/fstab line, xfstests' source:DIR
# device names) inside a private mount namespace where a tmpfs over /sbin
# holds the helper.
# Usage: mount_helper_test.sh ATOMFS_BINARY HELPER
set -euo pipefail
bin=$1 helper=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -w /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/atomfs-helper-XXXXXX")
cleanup() {
	for m in "$work"/mnt*; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/src" "$work/mnt" "$work/mnt2" "$work/mnt3" "$work/mnt4"
echo hello >"$work/src/file"

fail() { echo "FAIL: $*" >&2; exit 1; }
mounted_as() { # MNT FSNAME: the mount exists with that source and type fuse.atomfs
	grep -q "^$2 $1 fuse.atomfs " /proc/self/mounts
}

# 1. Direct call with fstab-only options mixed in: they are dropped.
ATOMFS_BIN=$bin "$helper" "$work/src" "$work/mnt" -o noauto,_netdev,nofail,x-systemd.foo,fsname=helper1,nocache,noatime ||
	fail "helper exited $?"
mounted_as "$work/mnt" helper1 || fail "not mounted: $(grep atomfs /proc/self/mounts)"
grep "^helper1 " /proc/self/mounts | grep -q noatime || fail "noatime not passed to the kernel"
[ "$(cat "$work/mnt/file")" = hello ] || fail "cannot read through the helper's mount"
umount "$work/mnt"

# 2. Bad usage: exit 2, one line.
set +e
out=$(ATOMFS_BIN=$bin "$helper" "$work/src" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || fail "missing mountpoint: exit $rc, want 2"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "want one line, got: $out"

# 2b. subtype= empty drops the subtype (type fuse), subtype=NAME sets it.
ATOMFS_BIN=$bin "$helper" "$work/src" "$work/mnt" -o fsname=plain,subtype= || fail "helper exited $?"
grep -q "^plain $work/mnt fuse " /proc/self/mounts || fail "subtype= not dropped: $(grep "^plain " /proc/self/mounts)"
umount "$work/mnt"
ATOMFS_BIN=$bin "$helper" "source:$work/src" "$work/mnt" -o subtype=other || fail "helper exited $?"
grep -q "^source:$work/src $work/mnt fuse.other " /proc/self/mounts ||
	fail "subtype=other not kept for a source: device: $(grep "$work/mnt " /proc/self/mounts)"
umount "$work/mnt"

# 3. mount(8) -t fuse.atomfs and fstab, in a private mount namespace.
unshare -m --propagation private bash -euo pipefail -c '
	work=$1 bin=$2 helper=$3
	mount -t tmpfs tmpfs "$(readlink -f /sbin)"
	printf "#!/bin/sh\nATOMFS_BIN=%s exec %s \"\$@\"\n" "$bin" "$helper" >/sbin/mount.fuse.atomfs
	chmod +x /sbin/mount.fuse.atomfs
	mount -t fuse.atomfs "$work/src" "$work/mnt2" -o fsname=helper2,timeout=5
	grep -q "^helper2 $work/mnt2 fuse.atomfs " /proc/self/mounts
	[ "$(cat "$work/mnt2/file")" = hello ]
	umount "$work/mnt2"
	printf "%s %s fuse.atomfs defaults,nofail,fsname=helper3,nocache 0 0\n" "$work/src" "$work/mnt3" >"$work/fstab"
	mount --bind "$work/fstab" /etc/fstab
	mount "$work/mnt3"
	grep -q "^helper3 $work/mnt3 fuse.atomfs " /proc/self/mounts
	[ "$(cat "$work/mnt3/file")" = hello ]
	umount "$work/mnt3"
	# xfstests FSTYP=fuse FUSE_SUBTYP=.atomfs TEST_DEV=source:DIR: the suite
	# mounts with -t fuse.atomfs, then finds the mount by its device name
	# and wants type "fuse" (common/rc: _fs_type, findmnt -S); it remounts too.
	mount -t fuse.atomfs "source:$work/src" "$work/mnt4"
	[ "$(findmnt -rncv -S "source:$work/src" -o FSTYPE,TARGET)" = "fuse $work/mnt4" ]
	[ "$(cat "$work/mnt4/file")" = hello ]
	mount -o remount,ro "$work/mnt4"
	findmnt -rncv -S "source:$work/src" -o OPTIONS | grep -q "^ro,"
	! touch "$work/mnt4/new" 2>/dev/null
	umount "$work/mnt4"
' _ "$work" "$bin" "$(readlink -f "$helper")" || fail "mount(8) with the helper"
echo "PASS"
