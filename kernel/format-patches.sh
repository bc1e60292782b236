#!/usr/bin/env bash
# Regenerates kernel/patches/ from a kernel git tree whose commits BASE..HEAD are
# the series (BASE: the pristine linux-source-6.12 tree). The output is stable:
# the same commits always give byte-identical files (zero commit ids, no
# signature, author dates from the commits), so a diff of kernel/patches/ shows
# only real changes.
#
# usage: kernel/format-patches.sh KERNEL_TREE [BASE]   (BASE defaults to "base")
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:?usage: kernel/format-patches.sh KERNEL_TREE [BASE]}
base=${2:-base}
out=$top/kernel/patches
git -C "$tree" diff --quiet HEAD || { echo "format-patches: $tree has uncommitted changes" >&2; exit 1; }
rm -f "$out"/*.patch
git -C "$tree" -c core.abbrev=12 -c diff.noprefix=false format-patch --quiet \
	--zero-commit --no-signature --no-cover-letter \
	-o "$out" "$base..HEAD"
ls "$out"
