#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a consumer out of
# tree against the installed copy only, once with find_package(AtomfsFuse),
# once with pkg-config, and runs both. Also checks that only the public
# headers were installed and that the shared library carries its SONAME.
# Usage: consumer-test.sh BUILD_DIR CXX
set -euo pipefail
build=$1 cxx=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/atomfs-consumer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "consumer-test: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix=$tmp/prefix
libdir=$(dirname "$(find "$prefix" -name libatomfs_fuse.a)")

headers=$(cd "$prefix/include" && find . -type f | sort | tr '\n' ' ')
want='./atomfs/fuse/filesystem.h ./atomfs/fuse/pending_reply.h ./atomfs/fuse/session.h ./atomfs/fuse/stats.h ./atomfs/fuse/testing/fake_kernel.h ./atomfs/fuse/version.h '
[ "$headers" = "$want" ] || fail "installed headers: $headers (want $want)"
soname=$(objdump -p "$libdir/libatomfs_fuse.so" | awk '$1 == "SONAME" {print $2}')
case $soname in libatomfs_fuse.so.[0-9]*) ;; *) fail "SONAME '$soname'" ;; esac
[ -e "$libdir/$soname" ] || fail "$soname not installed"

echo "--- CMake find_package"
cmake -S "$here/consumer" -B "$tmp/cmake" -DCMAKE_CXX_COMPILER="$cxx" \
	-DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer" # rpath to the installed shared library
objdump -p "$tmp/cmake/consumer" | grep -q "NEEDED.*$soname" || fail "not linked to $soname"

echo "--- pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion atomfs_fuse)" = "$(pkg-config --modversion atomfs_fuse_testing)" ] ||
	fail "pkg-config versions differ"
# shellcheck disable=SC2046 # the flags are meant to be split
"$cxx" -std=c++20 $(pkg-config --cflags atomfs_fuse_testing) -o "$tmp/consumer-pc" \
	"$here/consumer/consumer.cc" $(pkg-config --libs atomfs_fuse_testing)
LD_LIBRARY_PATH=$libdir "$tmp/consumer-pc"
