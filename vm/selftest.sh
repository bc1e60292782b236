#!/usr/bin/env bash
# Checks that vm/run.sh can fail: the guest command's status comes back, a kernel
# report in the log fails the run, a hung guest is killed. Three short boots.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run() { bash "$top/vm/run.sh" "$@" >"$log" 2>&1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failures=0
check() { # check WHAT WANT GOT
	if [ "$2" = "$3" ]; then echo "ok   $1 (status $3)"
	else echo "FAIL $1: status $3, want $2"; sed 's/^/     /' "$log"; failures=$((failures + 1)); fi
}

rc=0; run --timeout 120 -- bash -c 'test "$(cat /proc/sys/kernel/ostype)" = Linux && exit 7' || rc=$?
check "command status returned to the host" 7 "$rc"
grep -q 'boot to command' "$log" || { echo "FAIL no boot time reported"; failures=$((failures + 1)); }

rc=0; run --timeout 120 -- bash -c 'echo "WARNING: CPU: 0 PID: 1 at selftest" >/dev/kmsg' || rc=$?
check "kernel WARNING fails the run" 120 "$rc"

rc=0; run --timeout 15 -- sleep 600 || rc=$?
check "hung guest killed after the timeout" 124 "$rc"

[ "$failures" = 0 ] || { echo "vm selftest: $failures failed"; exit 1; }
echo "vm selftest: passed"
