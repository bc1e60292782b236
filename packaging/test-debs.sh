#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The Debian packages as a user gets them (CI stage; root): builds them
# (build-debs.sh), installs them with dpkg, mounts through
# `mount -t fuse.atomfs` and an /etc/fstab line (bind-mounted over the real
# one in a private mount namespace), builds examples/hello against the
# installed -dev package with find_package(AtomfsFuse) and runs it from the
# installed shared library, then purges the packages and checks that none of
# their files is left.
# Usage: packaging/test-debs.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (installs packages)"; exit 77; }
[ -w /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
pkgs=(libatomfs-fuse0.1 libatomfs-fuse-dev atomfs)
fail() { echo "FAIL: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'; }
# Installed already: left by an earlier run that was killed (CI=true: removed
# here), or installed on purpose (refused: the test would remove them).
for p in "${pkgs[@]}"; do
	installed "$p" || continue
	[ "${CI:-}" = true ] || fail "$p is installed already: this test would remove it (dpkg --purge $p first)"
	echo "removing $p, left installed by an earlier run"
	dpkg --purge "${pkgs[@]}" >/dev/null || fail "cannot purge the earlier run's packages"
	break
done

work=$(mktemp -d "${TMPDIR:-/tmp}/atomfs-debtest-XXXXXX")
hello_pid=
cleanup() {
	[ -z "$hello_pid" ] || kill "$hello_pid" 2>/dev/null || true
	for m in "$work"/mnt*; do umount -l "$m" 2>/dev/null || true; done
	local p still=()
	for p in "${pkgs[@]}"; do if installed "$p"; then still+=("$p"); fi; done
	[ ${#still[@]} = 0 ] || dpkg --purge "${still[@]}" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/src" "$work/mnt1" "$work/mnt2" "$work/mnt3"
echo packaged >"$work/src/file"

echo "== build"
mapfile -t debs < <(bash "$top/packaging/build-debs.sh" "$build" "$work/debs")
[ "${#debs[@]}" = 3 ] || fail "want 3 packages, got: ${debs[*]}"
for d in "${debs[@]}"; do
	dpkg-deb --info "$d" | sed -n 's/^ \(Package\|Depends\|Installed-Size\): /  /p' | paste -sd' '
done

echo "== install"
dpkg -i "${debs[@]}" >/dev/null || fail "dpkg -i"
for p in "${pkgs[@]}"; do
	installed "$p" || fail "$p not installed"
	dpkg -L "$p" >>"$work/owned"
done
[ "$(command -v atomfs)" = /usr/bin/atomfs ] || fail "atomfs on PATH is $(command -v atomfs)"
/usr/bin/atomfs --version >/dev/null || fail "atomfs --version"
ldconfig -p | grep -q 'libatomfs_fuse.so.0.1 ' || fail "ldconfig does not know libatomfs_fuse.so.0.1"

echo "== mount -t fuse.atomfs, and an fstab line"
mount -t fuse.atomfs "$work/src" "$work/mnt1" -o fsname=debtest1
grep -q "^debtest1 $work/mnt1 fuse.atomfs " /proc/self/mounts || fail "mount -t fuse.atomfs"
[ "$(cat "$work/mnt1/file")" = packaged ] || fail "read through mount -t fuse.atomfs"
umount "$work/mnt1"
printf '%s %s fuse.atomfs defaults,nofail,fsname=debtest2 0 0\n' "$work/src" "$work/mnt2" >"$work/fstab"
unshare -m --propagation private bash -euo pipefail -c '
	mount --bind "$1/fstab" /etc/fstab
	mount "$1/mnt2"
	grep -q "^debtest2 $1/mnt2 fuse.atomfs " /proc/self/mounts
	[ "$(cat "$1/mnt2/file")" = packaged ]
	umount "$1/mnt2"
' _ "$work" || fail "mount through the fstab line"

echo "== examples/hello against libatomfs-fuse-dev"
mkdir "$work/hello"
cat >"$work/hello/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(hello_from_deb CXX)
find_package(AtomfsFuse 0.1 REQUIRED)
add_executable(hello $top/examples/hello/hello.cc)
target_link_libraries(hello PRIVATE AtomfsFuse::atomfs_fuse)
CMAKE
cmake -S "$work/hello" -B "$work/hello/build" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
	fail "configure against the installed package"
cmake --build "$work/hello/build" >/dev/null || fail "build hello against the installed package"
so=$(ldd "$work/hello/build/hello" | awk '$1 == "libatomfs_fuse.so.0.1" { print $3 }')
[ -n "$so" ] && dpkg -S "$(readlink -f "$so")" | grep -q '^libatomfs-fuse0.1:' ||
	fail "hello does not use the packaged library: $(ldd "$work/hello/build/hello" | grep atomfs)"
[ "$(pkg-config --modversion atomfs_fuse)" = "$(dpkg-query -W -f='${Version}' libatomfs-fuse-dev)" ] ||
	fail "pkg-config atomfs_fuse version"
"$work/hello/build/hello" "$work/mnt3" &
hello_pid=$!
for _ in $(seq 300); do # up to 30 s: a loaded machine
	grep -q " $work/mnt3 fuse.hello " /proc/self/mounts && break
	sleep 0.1
done
[ "$(cat "$work/mnt3/hello")" = "Hello, world!" ] || fail "hello's file through its mount"
kill -TERM "$hello_pid"
wait "$hello_pid" || fail "hello exited $? on SIGTERM"
hello_pid=

echo "== purge"
dpkg --purge "${pkgs[@]}" >/dev/null || fail "dpkg --purge"
for p in "${pkgs[@]}"; do ! installed "$p" || fail "$p still installed"; done
left=0
while read -r f; do
	[ -d "$f" ] && continue # shared directories (/usr/bin, ...) stay
	if [ -e "$f" ] || [ -L "$f" ]; then echo "left behind: $f" >&2; left=1; fi
done <"$work/owned"
[ "$left" = 0 ] || fail "files left after dpkg --purge"
for d in /usr/include/atomfs /usr/share/doc/atomfs /usr/share/doc/libatomfs-fuse-dev; do
	[ ! -e "$d" ] || fail "$d left after dpkg --purge"
done
! ldconfig -p | grep -q libatomfs_fuse || fail "ldconfig still lists libatomfs_fuse"
echo "PASS"
