#!/usr/bin/env bash
# Builds the guest initramfs (busybox-static + vm/guest-init.sh as /init), cached by
# the hash of both; prints its path as the last line.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${ATOMFS_CACHE:-/var/cache/atomfs}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! readelf -l "$busybox" 2>/dev/null | grep -q INTERP ||
	{ echo "make-initramfs: error: a static busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
key=$(cat "$busybox" "$top/vm/guest-init.sh" "$0" | sha256sum | cut -c1-16)
out="$cache/initramfs-$key.cpio.gz"
if [ ! -s "$out" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot}
	cp "$busybox" "$tmp/bin/busybox"
	install -m 0755 "$top/vm/guest-init.sh" "$tmp/init"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
fi
echo "$out"
