#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (as root).
# Idempotent: apt-get skips what is already there.
set -euo pipefail

packages=(
	# build and unit tests
	build-essential cmake pkg-config g++ clang libclang-rt-14-dev
	libgtest-dev libgmock-dev libbenchmark-dev liburing-dev
	# mounted tests and the peer we compare against
	fuse3 libfuse3-dev acl attr e2fsprogs util-linux procps psmisc passwd
	# the kernel and the VM
	linux-source-6.12 bc flex bison libelf-dev libssl-dev cpio xz-utils kmod
	qemu-system-x86 busybox-static
	# request counting, benchmark plots, profiling the server (perf record -g, strace -c)
	bpftrace gnuplot-nox python3 linux-perf strace
	# the API reference (ctest lib.doxygen) and the Debian packages
	doxygen dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
