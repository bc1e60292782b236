#!/bin/busybox sh
# /init of the guest initramfs (run by the kernel as PID 1; busybox-static only).
# Mounts the host root (read-only virtio-9p) plus writable tmpfs and the run's
# io share, chroots into it, runs /run/atomfs-vm/cmd.sh with the host's bash,
# stores its exit status in the io share and powers off (QEMU runs with -no-reboot).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "atomfs-init: $*" >/dev/console; }
fail() { say "FATAL: $*"; echo "ATOMFS-EXIT=255" >/dev/console; reboot -f; sleep 60; }

r=/newroot
mkdir -p $r
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot $r ||
	fail "cannot mount the host root over 9p"
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm 2>/dev/null
# devtmpfs lacks the /dev/fd links that bash process substitution needs
ln -sf /proc/self/fd $r/dev/fd
ln -sf /proc/self/fd/0 $r/dev/stdin
ln -sf /proc/self/fd/1 $r/dev/stdout
ln -sf /proc/self/fd/2 $r/dev/stderr
mount -t devpts devpts $r/dev/pts
mount -t fusectl fusectl $r/sys/fs/fuse/connections 2>/dev/null
# The run's io share, first outside the new root: its "keep" file lists host
# directories (the repository, the command's directory) under /tmp, /var/tmp, /run
# or /dev/shm, which the tmpfs mounts below would hide; they are bound back above them.
mkdir -p /io /keep
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 atomfs_io /io ||
	fail "cannot mount the io share"
n=0
: >/keep.list
if [ -r /io/keep ]; then
	while read -r d; do
		[ -n "$d" ] && [ -d "$r$d" ] || fail "kept directory $d not found on the host root"
		n=$((n + 1))
		mkdir -p /keep/$n
		mount -o bind "$r$d" /keep/$n || fail "cannot keep $d"
		echo "$n $d" >>/keep.list
	done </io/keep
fi
for d in tmp run var/tmp dev/shm; do
	mount -t tmpfs -o mode=1777 tmpfs $r/$d || fail "cannot mount tmpfs on /$d"
done
while read -r n d; do
	mkdir -p "$r$d" && mount -o bind /keep/$n "$r$d" || fail "cannot bind $d back"
done </keep.list
mkdir -p $r/run/atomfs-vm $r/run/lock
mount -o bind /io $r/run/atomfs-vm || fail "cannot mount the io share"

if grep -q ' vda$' /proc/partitions; then
	mkdir -p $r/run/atomfs-ext4
	mount -t ext4 /dev/vda $r/run/atomfs-ext4 || fail "cannot mount the ext4 disk /dev/vda"
	echo "export ATOMFS_EXT4=/run/atomfs-ext4" >$r/run/atomfs-ext4.env
fi
hostname atomfs-guest

# The command's output goes to the second serial port, kept apart from kernel
# messages on the console so that neither can spoil the other.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
read up _ </proc/uptime
say "starting command at ${up}s"
echo "ATOMFS-BOOT-SECONDS=$up" >$r/run/atomfs-vm/boot
chroot $r /bin/bash /run/atomfs-vm/cmd.sh </dev/null >/dev/ttyS1 2>&1
rc=$?
dmesg >$r/run/atomfs-vm/dmesg.txt 2>/dev/null
echo $rc >$r/run/atomfs-vm/exit
sync
umount $r/run/atomfs-ext4 2>/dev/null
say "command exited with $rc"
echo "ATOMFS-EXIT=$rc" >/dev/console
reboot -f
sleep 60
