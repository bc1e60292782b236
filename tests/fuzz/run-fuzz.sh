#!/usr/bin/env bash
# CI stage: builds the libFuzzer harness with clang in its own build dir,
# fuzzes ~60 s (ATOMFS_FUZZ_SECONDS) from the saved corpus with a fixed seed,
# then replays the corpus and every saved crash through ctest. New inputs go
# to a scratch dir, never into the tracked corpus. A crash leaves its input
# in build-fuzz/artifacts/: copy it to tests/fuzz/crashes/ to make it a
# regression test once fixed.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
seconds=${ATOMFS_FUZZ_SECONDS:-60}
if [ ! -f "$top/lib/transport/fake_kernel.h" ]; then
	echo "run-fuzz: error: lib/transport/fake_kernel.h (the library's fake kernel transport)" \
		"is missing; tests/fuzz/fuzz_link.cc is the one place to adapt" >&2
	exit 1
fi
CC=clang CXX=clang++ cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DATOMFS_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_dispatch
bin=$build/tests/fuzz/fuzz_dispatch
[ -x "$bin" ] || { echo "run-fuzz: $bin was not built (library missing?)" >&2; exit 1; }
scratch=$build/corpus-run
artifacts=$build/artifacts
rm -rf "$scratch"
mkdir -p "$scratch" "$artifacts"
echo "run-fuzz: $seconds s from $(ls "$top/tests/fuzz/corpus" | wc -l) seeds, seed 1"
"$bin" -seed=1 -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=8192 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$top/tests/fuzz/corpus"
echo "run-fuzz: replaying the saved corpus and regression inputs"
ctest --test-dir "$build" -L fuzz --output-on-failure
