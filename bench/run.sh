#!/usr/bin/env bash
# The benchmark suite: host kernel run, then the same suite inside the VM on the patched
# kernel, then one Markdown report with plots under bench/results/.
#
# usage: bench/run.sh [--quick] [--host-only|--vm-only] [run.py options, e.g. --files N --reps R]
#   --quick   tens of seconds: few files, one repetition, no sweep; fails only when the
#             request counts per open are wrong (never on timing)
# Needs root (mounts, drop_caches, tracefs) and a build (scripts/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
export BUILD_DIR=$build

quick=() host=1 vm=1 extra=()
for a in "$@"; do
	case $a in
	--quick) quick=(--quick) ;;
	--host-only) vm=0 ;;
	--vm-only) host=0 ;;
	*) extra+=("$a") ;;
	esac
done

[ -x "$build/bench/atomfs-bench" ] || bash "$top/scripts/build.sh"
# The peer, libfuse's passthrough_ll, compiled from the installed examples (never vendored);
# built here because the guest sees the build directory read-only.
peer=$build/bench-peer/passthrough_ll
if [ ! -x "$peer" ]; then
	mkdir -p "$(dirname "$peer")"
	cc -O2 -o "$peer" /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c $(pkg-config --cflags --libs fuse3)
fi
results=$top/bench/results
stamp=$(date +%Y%m%d-%H%M%S)
# quick runs (CI) are checks, not results to keep: they go to the ignored tmp folder
[ ${#quick[@]} -eq 0 ] || results=$results/tmp/quick
mkdir -p "$results"
outs=() status=0

if [ $host = 1 ]; then
	out=$results/$stamp-host.json
	python3 "$top/bench/run.py" --env host "${quick[@]}" "${extra[@]}" --out "$out" || status=1
	[ -s "$out" ] && outs+=("$out")
fi

if [ $vm = 1 ]; then
	out=$results/$stamp-vm.json
	# The guest sees the host root read-only: it writes into its tmpfs (sources, mounts,
	# the JSON), and prints the JSON between markers for us to keep.
	mb=$([ ${#quick[@]} -eq 0 ] && echo 4096 || echo 512)
	log=$(mktemp)
	timeout=$([ ${#quick[@]} -eq 0 ] && echo 7200 || echo 900)
	if bash "$top/vm/run.sh" --timeout "${ATOMFS_BENCH_VM_TIMEOUT:-$timeout}" --ext4 "$mb" -- \
		bash "$top/bench/guest.sh" "${quick[@]}" "${extra[@]}" |
		tee "$log" | awk '/^=== bench-json-begin/ { skip = 1 } !skip { print } /^=== bench-json-end/ { skip = 0 }'
	then :; else status=1; fi
	sed -n '/^=== bench-json-begin ===$/,/^=== bench-json-end ===$/p' "$log" | sed '1d;$d' | tr -d '\r' >"$out"
	rm -f "$log"
	if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out" 2>/dev/null; then
		outs+=("$out")
	else
		echo "bench: no result JSON from the VM" >&2
		rm -f "$out"
		status=1
	fi
fi

if [ ${#outs[@]} -gt 0 ]; then
	python3 "$top/bench/report.py" "$results/$stamp" "${outs[@]}"
fi
exit $status
