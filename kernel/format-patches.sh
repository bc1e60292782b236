#!/usr/bin/env bash
# Regenerates kernel/patches/ from a kernel git tree whose commits BASE..HEAD are
# the series (BASE: the pristine linux-source-6.12 tree). The output is stable:
# the same commits always give byte-identical files (zero commit ids, no
# signature, author dates from the commits), so a diff of kernel/patches/ shows
# only real changes.
#
# The cover letter (patches/0000-cover-letter.patch) is not generated and is
# left in place.
#
# usage: kernel/format-patches.sh KERNEL_TREE [BASE]   (BASE defaults to "base")
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:?usage: kernel/format-patches.sh KERNEL_TREE [BASE]}
base=${2:-base}
out=$top/kernel/patches
git -C "$tree" diff --quiet HEAD || { echo "format-patches: $tree has uncommitted changes" >&2; exit 1; }
# 0000-cover-letter.patch is written by hand and kept
find "$out" -maxdepth 1 -name '*.patch' ! -name '0000-cover-letter.patch' -delete
git -C "$tree" -c core.abbrev=12 -c diff.noprefix=false format-patch --quiet \
	--zero-commit --no-signature --no-cover-letter \
	-o "$out" "$base..HEAD"
ls "$out"
