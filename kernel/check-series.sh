#!/usr/bin/env bash
# Checks the series the way a maintainer would: every patch applies in order with
# `patch -p1` to the pristine Debian linux-source-6.12, passes
# `checkpatch.pl --strict --no-tree` without errors, and every prefix of the series
# compiles the files it touches (fs/fuse/, fs/namei.o) without warnings, with a
# small config (tinyconfig + kernel/config/guest.config). The full bzImage of the
# whole series is vm/build-kernel.sh's job.
#
# usage: kernel/check-series.sh [WORKDIR]   (default: a temporary directory, removed)
# Takes about 5 minutes on 2 cores. Exit 0 only if every step passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${ATOMFS_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
work=${1:-}
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/check-series.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
src=$work/src
rm -rf "$src"
mkdir -p "$src"
echo "check-series: unpacking $(basename "$tarball")"
tar -xJf "$tarball" -C "$src" --strip-components=1
make -C "$src" -s ARCH=x86_64 tinyconfig
(cd "$work" && "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$top/kernel/config/guest.config") >"$work/merge.log" 2>&1
make -C "$src" -s ARCH=x86_64 olddefconfig
echo "check-series: make prepare"
make -C "$src" -s ARCH=x86_64 -j"$(nproc)" prepare >"$work/prepare.log" 2>&1

failures=0
build_step() { # LABEL
	local log=$work/build-$1.log
	if ! make -C "$src" ARCH=x86_64 -j"$(nproc)" fs/fuse/ fs/namei.o >"$log" 2>&1; then
		grep -E 'error|warning' "$log" | head -20
		echo "FAIL $1: does not build (log: $log)"; failures=$((failures + 1)); return
	fi
	if grep -q 'warning:' "$log"; then
		grep -A3 'warning:' "$log" | head -20
		echo "FAIL $1: compiler warnings"; failures=$((failures + 1)); return
	fi
	echo "ok   $1: fs/fuse/ and fs/namei.o build without warnings"
}
build_step base
for p in "$top"/kernel/patches/*.patch; do
	name=$(basename "$p" .patch)
	case $name in 0000-cover-letter)
		# a mail without a diff: only check that it is one
		if grep -q '^diff --git' "$p"; then
			echo "FAIL $name: the cover letter contains a diff"; failures=$((failures + 1))
		else
			echo "ok   $name: cover letter, no diff"
		fi
		continue ;;
	esac
	if ! patch -p1 -d "$src" --forward --batch --quiet <"$p"; then
		echo "FAIL $name: does not apply"; exit 1
	fi
	out=$("$src/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse "$p" || true)
	if grep -q ': ERROR:' <<<"$out"; then
		echo "$out"; echo "FAIL $name: checkpatch errors"; failures=$((failures + 1))
	else
		echo "ok   $name: applies; checkpatch: ${out:-clean}"
	fi
	build_step "$name"
done
[ "$failures" = 0 ] || { echo "check-series: $failures failed"; exit 1; }
echo "check-series: passed"
