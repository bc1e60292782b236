#!/usr/bin/env bash
# The README's test command: installs, builds and runs every test.
# Stages: unit + mounted tests on the host kernel (ctest), the guest suite on
# the patched kernel in QEMU, and the benchmark's quick mode.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

t_all=$(date +%s) t_stage=$t_all
stage() { # prints how long the previous stage took, then the new stage's name
	local now
	now=$(date +%s)
	[ "$t_stage" = "$t_all" ] || printf '(stage took %ds)\n' "$((now - t_stage))"
	t_stage=$now
	printf '\n=== %s === (%dm%02ds in)\n' "$*" $(((now - t_all) / 60)) $(((now - t_all) % 60))
}
kernel_pid=
on_exit() {
	printf '(stage took %ds; total %ds)\n' $(($(date +%s) - t_stage)) $(($(date +%s) - t_all))
	# a failed stage must not leave the background kernel build running
	[ -z "$kernel_pid" ] || kill -TERM -- "-$kernel_pid" 2>/dev/null || true
}
trap on_exit EXIT

stage "setup"
bash scripts/setup.sh

# The two guest kernels (about 5 and 10 minutes on 2 cores) build in the background,
# at the lowest priority, while the host stages run; the VM stages below call
# vm/build-kernel.sh, which waits for the same build (flock) or finds it cached,
# and builds (or reports the failure of) a kernel itself if this one failed.
kernel_log=$(mktemp /tmp/atomfs-kernel-prebuild.XXXXXX)
setsid nice -n 19 bash -c 'bash vm/build-kernel.sh && bash vm/build-kernel.sh --debug' >"$kernel_log" 2>&1 &
kernel_pid=$! # its own process group (setsid), so that on_exit can end all of it
stage "build"
bash scripts/build.sh
stage "unit and mounted tests (host kernel)"
ctest --test-dir build --output-on-failure -j1
stage "Debian packages: build, install, mount, build hello against -dev, purge"
bash packaging/test-debs.sh build
stage "unit tests under ASan+UBSan"
BUILD_DIR=$top/build-asan bash scripts/build.sh -DATOMFS_SANITIZE=ON
ctest --test-dir build-asan -L unit --output-on-failure -j"$(nproc)"
stage "protocol fuzzing (libFuzzer: 60 s, then corpus and regression replay)"
bash tests/fuzz/run-fuzz.sh
stage "kernel series: applies, checkpatch, every prefix builds fs/fuse and fs/namei.o"
bash kernel/check-series.sh
stage "guest kernels (background build started after setup)"
wait "$kernel_pid" || echo "test-all: the background kernel build failed; building again below"
kernel_pid=
sed 's/^/  /' "$kernel_log"
rm -f "$kernel_log"
stage "VM harness self-check"
bash vm/selftest.sh
stage "guest suite (patched kernel in QEMU)"
bash tests/guest/run-suite.sh
stage "guest concurrency (debug kernel: lockdep, KASAN)"
ATOMFS_STRESS_SECONDS=10 bash tests/guest/run-suite.sh --debug --only concurrency
stage "benchmark quick mode (host kernel and VM; asserts request counts, never timings)"
bash bench/run.sh --quick
