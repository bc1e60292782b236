#!/usr/bin/env bash
# Synchronous vs asynchronous replies at a metadata latency, on the host:
# atomfs --threads=W --meta-latency=L with --sync-latency (each worker sleeps
# L per request: W requests in flight) and without (the request waits on a
# timer, the worker serves others: up to one request per caller in flight),
# driven by C callers (atomfs-bench --threads=C). Prints one Markdown table,
# ops/s side by side and their ratio (async / sync), median of R runs.
#
#   bench/async-latency.sh [--latency 1ms] [--workers 4] [--callers 16]
#                          [--files 2000] [--reps 3]
# Needs root (mount(2)); BUILD_DIR (default build/) holds atomfs and atomfs-bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
latency=1ms workers=4 callers=16 files=2000 reps=3
while [ $# -gt 0 ]; do
	case "$1" in
	--latency) latency=$2; shift 2 ;;
	--workers) workers=$2; shift 2 ;;
	--callers) callers=$2; shift 2 ;;
	--files) files=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	*) echo "async-latency: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "async-latency: needs root (mount)" >&2; exit 77; }
atomfs=$build/fs/atomfs/atomfs
driver=$build/bench/atomfs-bench
[ -x "$atomfs" ] && [ -x "$driver" ] || { echo "async-latency: build first ($build)" >&2; exit 1; }
work=/var/tmp/atomfs-bench/async-latency
mkdir -p "$work"

mounted() { grep -q " $1 fuse" /proc/mounts; }
rate() { sed -n 's/.*"rate":\([0-9.]*\).*/\1/p'; }

# one run: prints "create stat open" rates
run_once() { # mode (sync|async)
	local src=$work/src mnt=$work/mnt extra=()
	rm -rf "$src"
	mkdir -p "$src" "$mnt"
	[ "$1" = sync ] && extra=(--sync-latency)
	# --nocache: every stat and open reaches the server (zero timeouts)
	"$atomfs" "$src" "$mnt" -f --nocache --threads="$workers" --meta-latency="$latency" \
		"${extra[@]}" 2>"$work/log" &
	local pid=$!
	for _ in $(seq 200); do mounted "$mnt" && break; sleep 0.05; done
	mounted "$mnt" || { cat "$work/log" >&2; exit 1; }
	"$driver" --root="$mnt" --workload=mkdirs --files="$files" >/dev/null
	local c s o
	c=$("$driver" --root="$mnt" --workload=create --files="$files" --threads="$callers" | rate)
	s=$("$driver" --root="$mnt" --workload=stat --files="$files" --threads="$callers" --drop=0 | rate)
	o=$("$driver" --root="$mnt" --workload=open --files="$files" --threads="$callers" --drop=0 | rate)
	umount "$mnt"
	wait "$pid"
	echo "$c $s $o"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A res
for mode in sync async; do
	for r in $(seq "$reps"); do
		run_once "$mode" >>"$work/$mode.$$"
	done
	for i in 1 2 3; do
		res[$mode,$i]=$(awk -v i="$i" '{print $i}' "$work/$mode.$$" | median)
	done
	rm -f "$work/$mode.$$"
done

echo "atomfs --meta-latency=$latency --threads=$workers --nocache, $callers callers, $files files, median of $reps"
echo
echo "| workload | sync ops/s | async ops/s | async/sync |"
echo "|---|---|---|---|"
i=1
for w in create stat open; do
	awk -v w="$w" -v s="${res[sync,$i]}" -v a="${res[async,$i]}" \
		'BEGIN {printf "| %s | %.0f | %.0f | %.1fx |\n", w, s, a, a / s}'
	i=$((i + 1))
done
