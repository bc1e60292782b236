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
