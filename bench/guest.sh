#!/usr/bin/env bash
# Inside the VM (vm/run.sh --ext4 MB): runs the suite with the sources on the ext4 disk
# (like the host, whose sources live on ext4) and prints the JSON between markers.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${ATOMFS_EXT4:-/tmp}/bench
mkdir -p "$work"
python3 "$top/bench/run.py" --env vm --work "$work" --out /tmp/bench-vm.json "$@"
status=$?
echo "=== bench-json-begin ==="
cat /tmp/bench-vm.json 2>/dev/null
echo
echo "=== bench-json-end ==="
exit $status
