#!/usr/bin/env bash
# The README's main job: install, build userspace and the patched kernel, boot it in
# QEMU, mount atomfs in the guest and show atomic open at work (FUSE requests per open,
# with and without atomic open, side by side).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
step() { printf '\n=== %s\n' "$*"; }
t0=$(date +%s)

step "setup (apt packages)"
bash scripts/setup.sh
step "build the library, atomfs and the tests"
bash scripts/build.sh
[ -x build/fs/atomfs/atomfs ] || { echo "main: error: build/fs/atomfs/atomfs was not built" >&2; exit 1; }
step "build the patched kernel (Debian linux-source-6.12 + kernel/patches)"
ls kernel/patches/*.patch 2>/dev/null | sed 's|^|  |' || echo "  (no patches yet: stock kernel)"
t1=$(date +%s)
bash vm/build-kernel.sh
t2=$(date +%s)
step "boot it under QEMU and open files through atomfs"
bash vm/run.sh --timeout 600 -- bash vm/demo-atomic-open.sh
t3=$(date +%s)
echo "main: done in $((t3 - t0))s (kernel $((t2 - t1))s, VM run $((t3 - t2))s)"
