#!/usr/bin/env bash
# The README's test command: installs, builds and runs every test.
# Stages: unit + mounted tests on the host kernel (ctest), the guest suite on
# the patched kernel in QEMU, and the benchmark's quick mode.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

stage() { printf '\n=== %s ===\n' "$*"; }

stage "setup"
bash scripts/setup.sh
stage "build"
bash scripts/build.sh
stage "unit and mounted tests (host kernel)"
ctest --test-dir build --output-on-failure -j1
stage "unit tests under ASan+UBSan"
BUILD_DIR=$top/build-asan bash scripts/build.sh -DATOMFS_SANITIZE=ON
ctest --test-dir build-asan -L unit --output-on-failure -j"$(nproc)"
stage "protocol fuzzing (libFuzzer: 60 s, then corpus and regression replay)"
bash tests/fuzz/run-fuzz.sh
stage "VM harness self-check"
bash vm/selftest.sh
stage "guest suite (patched kernel in QEMU)"
bash tests/guest/run-suite.sh
stage "guest concurrency (debug kernel: lockdep, KASAN)"
ATOMFS_STRESS_SECONDS=10 bash tests/guest/run-suite.sh --debug --only concurrency
stage "benchmark quick mode (host kernel and VM; asserts request counts, never timings)"
bash bench/run.sh --quick
