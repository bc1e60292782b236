#!/usr/bin/env bash
# Boots the patched kernel under QEMU and runs one command in the host's userspace.
#
# usage: vm/run.sh [--debug] [--timeout S] [--ext4 MB] [--kernel BZIMAGE] -- COMMAND...
#   --debug      use the debug kernel (lockdep, KASAN, ...; built on first use)
#   --timeout S  kill the guest after S seconds (default 900) and fail
#   --ext4 MB    attach a fresh ext4 disk of MB megabytes; the guest mounts it and
#                exports ATOMFS_EXT4=<mountpoint> to COMMAND
#   --kernel F   boot F instead of building/looking up the kernel (still scanned)
# The guest sees the host root read-only over virtio-9p (so repo binaries run unmodified
# at the same paths), with tmpfs on /tmp /run /var/tmp /dev/shm. COMMAND runs with bash
# in the current directory; its output is streamed here; its exit status is ours.
# Fails (non-zero) as well when the kernel log holds a WARNING, BUG, Oops, lockdep,
# KASAN or UBSAN report, or when the guest hangs or crashes. Under TCG by default;
# ATOMFS_VM_KVM=1 tries KVM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${ATOMFS_CACHE:-/var/cache/atomfs}

debug=() timeout=900 ext4_mb=0 kernel=
while [ $# -gt 0 ]; do
	case $1 in
	--debug) debug=(--debug) ;;
	--timeout) timeout=$2; shift ;;
	--ext4) ext4_mb=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--) shift; break ;;
	*) echo "vm/run.sh: unknown argument '$1' (usage: vm/run.sh [options] -- COMMAND...)" >&2; exit 2 ;;
	esac
	shift
done
[ $# -gt 0 ] || { echo "vm/run.sh: no command given (usage: vm/run.sh [options] -- COMMAND...)" >&2; exit 2; }
die() { echo "vm/run.sh: error: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (run scripts/setup.sh)"
[ -n "$kernel" ] || kernel=$(bash "$top/vm/build-kernel.sh" "${debug[@]}" | tail -n1)
[ -s "$kernel" ] || die "kernel image '$kernel' not found"
initrd=$(bash "$top/vm/make-initramfs.sh" | tail -n1)

# Per-run directory: the io share (command script, exit status, dmesg) and the logs.
mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run-$(date +%Y%m%d-%H%M%S)-XXXX")
io="$run/io"
mkdir -p "$io"
console="$run/console.log"
output="$run/output.log"
: >"$console" >"$output"

# The command script: same directory, the project's environment, then the command.
{
	echo 'set -e'
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
	echo 'export HOME=/tmp LANG=C.UTF-8 TERM=dumb ATOMFS_IN_VM=1'
	echo '[ ! -r /run/atomfs-ext4.env ] || . /run/atomfs-ext4.env'
	# pass through the project's own knobs (ATOMFS_*, BUILD_DIR)
	while IFS= read -r var; do
		printf 'export %s=%q\n' "$var" "${!var}"
	done < <(compgen -e | grep -E '^(ATOMFS_[A-Z0-9_]+|BUILD_DIR)$' | grep -vx 'ATOMFS_IN_VM' || true)
	printf 'cd %q\n' "$PWD"
	echo 'set +e'
	printf '%q ' "$@"
	echo
} >"$io/cmd.sh"

# Host directories the command needs that the guest's tmpfs mounts would hide (a
# checkout under /tmp or /var/tmp): vm/guest-init.sh binds them back.
for d in "$PWD" "$top" ${BUILD_DIR:+"$BUILD_DIR"}; do
	d=$(realpath -m "$d")
	case $d/ in /tmp/* | /var/tmp/* | /run/* | /dev/shm/*) echo "$d" ;; esac
done | sort -u >"$io/keep"

disk=()
if [ "$ext4_mb" != 0 ]; then
	truncate -s "${ext4_mb}M" "$run/ext4.img"
	mkfs.ext4 -q -F "$run/ext4.img" || die "mkfs.ext4 failed"
	disk=(-drive "file=$run/ext4.img,format=raw,if=virtio,cache=unsafe")
fi

accel=(-accel tcg,thread=multi -cpu max)
# Under TCG a vCPU thread can be starved by the host for tens of seconds (a
# 2-core host emulating 2 vCPUs beside other work): the debug kernel's soft
# lockup detector (20 s) then reported the boot's stop_machine (clocksource
# switch) as a lockup. 120 s still catches a real lockup, which never ends.
cmdline="console=ttyS0 panic=-1 rdinit=/init watchdog_thresh=60"
if [ "${ATOMFS_VM_KVM:-0}" = 1 ]; then
	accel=(-accel kvm -cpu host)
	cmdline="console=ttyS0 panic=-1 rdinit=/init"
fi

qemu=(qemu-system-x86_64 "${accel[@]}" -smp 2 -m 2G -nographic -no-reboot
	-kernel "$kernel" -initrd "$initrd"
	-append "$cmdline"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$io,mount_tag=atomfs_io,security_model=none"
	-chardev "file,id=con,path=$console" -serial chardev:con
	-chardev "file,id=out,path=$output" -serial chardev:out
	-monitor none "${disk[@]}")

echo "vm/run.sh: booting $(basename "$(dirname "$kernel")") (logs: $run)" >&2
start=$(date +%s.%N)
timeout --kill-after=10 "$timeout" "${qemu[@]}" </dev/null >"$run/qemu.log" 2>&1 &
qpid=$!
# On ^C or kill, take the guest down with us (timeout passes TERM on to QEMU).
trap 'kill -TERM "$qpid" 2>/dev/null; exit 130' INT TERM
tail -n +1 --pid="$qpid" -f "$output" &
tpid=$!
qrc=0
wait "$qpid" || qrc=$?
wait "$tpid" 2>/dev/null || true
elapsed=$(echo "$(date +%s.%N) - $start" | bc)

status=0
boot=$(sed -n 's/^ATOMFS-BOOT-SECONDS=//p' "$io/boot" 2>/dev/null || true)
# Wall-clock boot time: the guest writes io/boot (on the host's disk) just before the command.
boot_wall=?
[ -e "$io/boot" ] && boot_wall=$(printf '%.1f' "$(echo "$(stat -c %.3Y "$io/boot") - $start" | bc)")
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm/run.sh: FAIL: guest still running after ${timeout}s, killed" >&2
	status=124
elif [ ! -s "$io/exit" ]; then
	echo "vm/run.sh: FAIL: guest ended without reporting an exit status (crash or panic?); qemu said:" >&2
	sed 's/^/  /' "$run/qemu.log" >&2
	status=125
else
	status=$(cat "$io/exit")
fi

# symbolize: kernel text addresses to symbol+offset with the image's System.map
# (the normal kernel has no kallsyms); unchanged without one.
symbolize() {
	local map
	map=$(dirname "$kernel")/System.map
	if [ -r "$map" ] && command -v python3 >/dev/null; then
		python3 -c '
import bisect, re, sys
addrs, names = [], []
for line in open(sys.argv[1]):
    a, t, n = line.split()[:3]
    if t in "tTwW":
        addrs.append(int(a, 16)); names.append(n)
def sym(m):
    a = int(m.group(0), 16)
    i = bisect.bisect_right(addrs, a) - 1
    return m.group(0) if i < 0 else "%s+0x%x" % (names[i], a - addrs[i])
for line in sys.stdin:
    sys.stdout.write(re.sub(r"0xffffffff8[0-9a-f]{7}", sym, line))
' "$map"
	else
		cat
	fi
}

# Kernel reports: scan the live console and the final dmesg buffer.
splat='WARNING:|BUG:|Oops|Kernel panic|general protection fault|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KASAN:|UBSAN:|list_add corruption|list_del corruption|INFO: task .* blocked|soft lockup|hard LOCKUP|Call Trace'
if grep -Eq "$splat" "$console" "$io/dmesg.txt" 2>/dev/null; then
	echo "vm/run.sh: FAIL: the kernel log holds a report:" >&2
	log=$console; [ -s "$io/dmesg.txt" ] && log="$io/dmesg.txt" # dmesg: complete, no console loss
	grep -E -m1 -B2 -A40 "$splat" "$log" | head -60 | tr -d '\r' | symbolize | sed 's/^/  | /' >&2
	[ "$status" != 0 ] || status=120
fi
if [ "$status" != 0 ]; then
	echo "vm/run.sh: last console lines:" >&2
	tail -n 25 "$console" | tr -d '\r' | sed 's/^/  | /' >&2
fi
printf 'vm/run.sh: exit %s; boot to command %ss (guest clock %ss), total %.1fs; console log: %s\n' \
	"$status" "$boot_wall" "${boot:-?}" "$elapsed" "$console" >&2
# Keep only the last 20 runs' logs.
ls -1dt "$cache"/runs/run-* 2>/dev/null | tail -n +21 | xargs -r rm -rf
exit "$status"
