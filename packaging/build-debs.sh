#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds the Debian packages from a built tree, with Debian's own tools:
#   libatomfs-fuse0.1   libatomfs_fuse.so.0.1 (the shared library)
#   libatomfs-fuse-dev  headers, libatomfs_fuse.so, the static libraries (the
#                       fake kernel's atomfs_fuse_testing too), the CMake
#                       package and the pkg-config files
#   atomfs              /usr/bin/atomfs and /usr/sbin/mount.fuse.atomfs
# Usage: packaging/build-debs.sh [BUILD_DIR [OUT_DIR]]
#   (defaults: build/ and BUILD_DIR/debs; BUILD_DIR from scripts/build.sh)
# How: `cmake --install BUILD_DIR --prefix /usr` into a staging tree, every
# staged file assigned to exactly one package, binaries stripped, Depends
# computed by dpkg-shlibdeps, .debs written by dpkg-deb. Why not
# dpkg-buildpackage: it would configure and compile the tree again (minutes
# on two cores), and the packages would hold other binaries than the ones
# the tests just ran; see packaging/README.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) || { echo "build-debs: no build directory ${1:-$top/build}" >&2; exit 2; }
out=${2:-$build/debs}
die() { echo "build-debs: $*" >&2; exit 1; }
[ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build (run scripts/build.sh first)"
for t in dpkg-deb dpkg-shlibdeps dpkg-architecture strip; do
	command -v "$t" >/dev/null || die "$t missing (apt-get install dpkg-dev binutils)"
done

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || die "no project version in $build/CMakeCache.txt"
soversion=$(echo "$version" | cut -d. -f1,2) # the SONAME carries major.minor while major is 0
lib_pkg=libatomfs-fuse$soversion
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
maintainer="atomfs maintainers <maintainers@atomfs.invalid>"

# Up to date after scripts/build.sh: this only makes sure the installed files exist.
cmake --build "$build" --target atomfs_fuse atomfs_fuse_shared atomfs_fuse_testing atomfs >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/atomfs-debs-XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
DESTDIR=$stage cmake --install "$build" --prefix /usr >/dev/null
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
libdir=usr/${libdir:-lib}

# Which package each staged file goes to (a path relative to the root,
# matched as a shell pattern); a file no rule takes fails the build.
rules=(
	"$lib_pkg	$libdir/libatomfs_fuse.so.*"
	"libatomfs-fuse-dev	usr/include/*"
	"libatomfs-fuse-dev	$libdir/libatomfs_fuse.so"
	"libatomfs-fuse-dev	$libdir/*.a"
	"libatomfs-fuse-dev	$libdir/cmake/*"
	"libatomfs-fuse-dev	$libdir/pkgconfig/*"
	"atomfs	usr/bin/atomfs"
	"atomfs	usr/sbin/mount.fuse.atomfs"
)
for p in "$lib_pkg" libatomfs-fuse-dev atomfs; do mkdir -p "$work/$p/DEBIAN"; done
(cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$work/files"
while read -r f; do
	pkg=
	for r in "${rules[@]}"; do
		# shellcheck disable=SC2053 # the pattern is meant to match
		if [[ $f == ${r#*	} ]]; then pkg=${r%%	*}; break; fi
	done
	[ -n "$pkg" ] || die "installed file $f belongs to no package (add a rule)"
	mkdir -p "$work/$pkg/$(dirname "$f")"
	cp -a "$stage/$f" "$work/$pkg/$f"
done <"$work/files"

# Stripped as dh_strip would (no -dbgsym packages here: the build tree
# keeps the debug information).
find "$work/$lib_pkg" -name '*.so.*' -type f -exec strip --strip-unneeded \
	--remove-section=.comment --remove-section=.note {} +
find "$work/libatomfs-fuse-dev" -name '*.a' -exec strip --strip-debug \
	--remove-section=.comment {} +
strip --remove-section=.comment --remove-section=.note "$work/atomfs/usr/bin/atomfs"

# dpkg-shlibdeps reads debian/control of a source tree: a minimal one.
mkdir -p "$work/src/debian"
cat >"$work/src/debian/control" <<CONTROL
Source: atomfs
Maintainer: $maintainer

Package: $lib_pkg
Architecture: any

Package: atomfs
Architecture: any
CONTROL
shlibdeps() { # FILE...: the Depends that these ELF files need
	local d
	d=$(cd "$work/src" && dpkg-shlibdeps -O "$@") || die "dpkg-shlibdeps $*"
	d=$(printf '%s\n' "$d" | sed -n 's/^shlibs:Depends=//p')
	[ -n "$d" ] || die "dpkg-shlibdeps found no dependency for $*"
	printf '%s\n' "$d"
}

doc() { # PACKAGE: copyright and changelog, as Debian policy wants them
	local d=$work/$1/usr/share/doc/$1
	mkdir -p "$d"
	{
		echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
		echo "Upstream-Name: atomfs"
		echo
		echo "Files: *"
		echo "Copyright: the atomfs authors"
		echo "License: Expat"
		echo
		echo "License: Expat"
		sed 's/^$/./; s/^/ /' "$top/packaging/LICENSE.Expat"
	} >"$d/copyright"
	printf '%s (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n' \
		atomfs "$version" "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo 'a source tree')" \
		"$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}")" |
		gzip -9n >"$d/changelog.Debian.gz"
}

control() { # PACKAGE SECTION DEPENDS DESCRIPTION-LINES...
	local p=$1 section=$2 depends=$3
	shift 3
	local size
	size=$(du -sk --exclude=DEBIAN "$work/$p" | cut -f1)
	{
		echo "Package: $p"
		echo "Version: $version"
		echo "Architecture: $arch"
		echo "Maintainer: $maintainer"
		echo "Installed-Size: $size"
		[ -z "$depends" ] || echo "Depends: $depends"
		[ "$p" != atomfs ] || echo "Recommends: fuse3"
		echo "Section: $section"
		echo "Priority: optional"
		echo "Description: $1"
		shift
		for l in "$@"; do echo " $l"; done
	} >"$work/$p/DEBIAN/control"
	(cd "$work/$p" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
		sort -z | xargs -0 md5sum) >"$work/$p/DEBIAN/md5sums"
}

doc "$lib_pkg"
doc libatomfs-fuse-dev
doc atomfs
so=$(cd "$work/$lib_pkg" && find "$libdir" -name 'libatomfs_fuse.so.*' -type f | head -n1)
lib_depends=$(shlibdeps "$work/$lib_pkg/$so")
atomfs_depends=$(shlibdeps "$work/atomfs/usr/bin/atomfs")
control "$lib_pkg" libs "$lib_depends" \
	"FUSE server library with atomic open (shared library)" \
	"A C++20 library that speaks the /dev/fuse protocol itself and serves an" \
	"inode-based filesystem object, with FUSE_OPEN_ATOMIC (one-request opens)" \
	"on kernels that have it."
# Programs linked against the library get this package in their Depends.
echo "libatomfs_fuse $soversion $lib_pkg (>= $version)" >"$work/$lib_pkg/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$work/$lib_pkg/DEBIAN/triggers"
control libatomfs-fuse-dev libdevel "$lib_pkg (= $version)" \
	"FUSE server library with atomic open (development files)" \
	"Headers, static libraries, the CMake package (find_package(AtomfsFuse)) and" \
	"pkg-config files (atomfs_fuse, atomfs_fuse_testing) of atomfs_fuse, and" \
	"atomfs_fuse_testing: an in-process fake kernel for unit tests of a" \
	"filesystem's protocol handling without mounting."
control atomfs utils "$atomfs_depends" \
	"passthrough FUSE filesystem with one-request opens" \
	"Serves a directory tree through FUSE, with FUSE_OPEN_ATOMIC, kernel" \
	"passthrough and POSIX ACLs. Includes mount.fuse.atomfs, so that" \
	"mount -t fuse.atomfs and /etc/fstab entries work."

mkdir -p "$out"
for p in "$lib_pkg" libatomfs-fuse-dev atomfs; do
	deb=$out/${p}_${version}_$arch.deb
	dpkg-deb --root-owner-group --build "$work/$p" "$deb" >/dev/null
	echo "$deb"
done
