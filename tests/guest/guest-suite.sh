#!/usr/bin/env bash
# Runs inside the VM: every tests/guest/*.test.sh (or those whose name matches the
# extended regex $ATOMFS_GUEST_TESTS), each under a time limit, then a summary.
# Exit 0 only if none failed (77 = skipped).
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
filter=${ATOMFS_GUEST_TESTS:-.}
limit=${ATOMFS_GUEST_TEST_TIMEOUT:-600}

echo "guest suite on $(uname -r) ($(nproc) CPUs), filter '$filter'"
pass=() failed=() skipped=()
for t in "$dir"/*.test.sh; do
	name=$(basename "$t" .test.sh)
	[[ $name =~ $filter ]] || continue
	echo "--- $name"
	start=$(date +%s.%N)
	timeout -k 5 "$limit" bash "$t" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
	case $rc in
	0) pass+=("$name"); echo "PASS $name (${secs}s)" ;;
	77) skipped+=("$name"); echo "SKIP $name" ;;
	124) failed+=("$name"); echo "FAIL $name (timed out after ${limit}s)" ;;
	*) failed+=("$name"); echo "FAIL $name (exit $rc, ${secs}s)" ;;
	esac
done
echo
echo "guest suite: ${#pass[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
[ ${#pass[@]} -gt 0 ] || { echo "no test ran"; exit 1; }
