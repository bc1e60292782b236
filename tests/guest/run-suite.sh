#!/usr/bin/env bash
# Host side of the guest suite: builds (or finds) the patched kernel, checks the
# userspace build, boots the VM once and runs tests/guest/guest-suite.sh in it.
#
# usage: tests/guest/run-suite.sh [--debug] [--only REGEX] [--timeout S] [--kernel BZIMAGE]
#   --debug       the debug kernel (lockdep, KASAN, ...)
#   --only REGEX  run only tests whose name matches (e.g. concurrency)
#   --kernel F    boot the kernel image F (e.g. one built from a kernel tree) instead
#                 of the one vm/build-kernel.sh builds from kernel/patches
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
debug=() only=. timeout=1800 kernel=()
while [ $# -gt 0 ]; do
	case $1 in
	--debug) debug=(--debug) ;;
	--only) only=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--kernel) kernel=(--kernel "$(realpath "$2")"); shift ;;
	*) echo "run-suite: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

for bin in "${ATOMFS_BIN:-$build/fs/atomfs/atomfs}" "${ATOMFS_FSPROBE:-$build/tests/guest/fsprobe}"; do
	[ -x "$bin" ] || { echo "run-suite: error: $bin missing; run scripts/build.sh first" >&2; exit 1; }
done
# vm/run.sh would build the kernel too; building here keeps its time out of the boot.
[ ${#kernel[@]} -gt 0 ] || bash "$top/vm/build-kernel.sh" "${debug[@]}" >/dev/null

start=$(date +%s)
cd "$top"
rc=0
ATOMFS_GUEST_TESTS=$only BUILD_DIR=$build \
	bash "$top/vm/run.sh" "${debug[@]}" "${kernel[@]}" --ext4 256 --timeout "$timeout" -- \
	bash tests/guest/guest-suite.sh || rc=$?
echo "run-suite: guest suite ${debug:+(debug kernel) }finished in $(( $(date +%s) - start ))s with status $rc"
exit $rc
