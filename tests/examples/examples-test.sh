#!/usr/bin/env bash
# Mounts the examples on the host kernel and checks them against an oracle:
# hello's one file byte for byte, and memfs against a native tmpfs directory
# given the same operations (create, write, rename, hard links, unlink,
# rmdir and their errors). Needs root and /dev/fuse (exit 77: skipped).
# Usage: examples-test.sh HELLO_BIN MEMFS_BIN
set -euo pipefail
hello=$1 memfs=$2
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "examples-test: needs root and /dev/fuse"; exit 77; }
tmp=$(mktemp -d /tmp/atomfs-examples.XXXXXX)
pids=()
cleanup() {
	for m in "$tmp"/mnt-*; do mountpoint -q "$m" && umount -l "$m"; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	mountpoint -q "$tmp/native" && umount "$tmp/native"
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "examples-test: FAILED: $*" >&2; exit 1; }

mount_fs() { # BIN NAME: starts BIN on $tmp/mnt-NAME and waits for the mount
	mkdir -p "$tmp/mnt-$2"
	"$1" "$tmp/mnt-$2" "${@:3}" &
	pids+=($!)
	for _ in $(seq 100); do
		mountpoint -q "$tmp/mnt-$2" && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || fail "$2 exited before mounting"
		sleep 0.1
	done
	fail "$2 did not mount"
}
unmount_fs() { # NAME PID: unmounts, and the server must end cleanly (0)
	umount "$tmp/mnt-$1"
	wait "$2" || fail "$1 ended with $?"
}

echo "--- hello"
mount_fs "$hello" hello
m=$tmp/mnt-hello
[ "$(ls -A "$m")" = hello ] || fail "hello: listing '$(ls -A "$m")'"
printf 'Hello, world!\n' | cmp - "$m/hello" || fail "hello: bytes differ"
[ "$(stat -c '%s %a %F %h' "$m/hello")" = "14 444 regular file 1" ] ||
	fail "hello: stat $(stat -c '%s %a %F %h' "$m/hello")"
if (echo x >"$m/hello") 2>/dev/null; then fail "hello: writable"; fi
[ ! -e "$m/other" ] || fail "hello: other name exists"
unmount_fs hello "${pids[-1]}"

echo "--- memfs vs tmpfs"
# The same operations in DIR; prints what a user sees (errors included).
ops() (
	cd "$1"
	try() { "$@" 2>&1 | sed 's/^[a-z]*: //' || true; }
	echo one >f
	mkdir d d/sub
	ln f d/g
	stat -c '%n %h %s %a %F' f d/g
	stat -c '%n %h %a %F' d d/sub # a directory's size is the filesystem's own
	mv f d/h
	try cat f
	cat d/h d/g
	echo two >>d/g
	cat d/h
	ln d/h link2
	stat -c '%n %h %s' d/h
	unlink d/g
	stat -c '%n %h %s' d/h link2
	echo three >x
	mv x d/h # replaces
	cat d/h link2
	try rmdir d
	try ln d d2
	try mv d d/sub/inside
	mv d/sub e
	: >d/empty
	truncate -s 3 link2
	stat -c '%n %h %F' e
	stat -c '%n %h %s %F' d/empty link2
	cat link2; echo
	rm -f link2 d/h d/empty
	rmdir d e
	echo created >new; cat new
	mkdir -p top/a/b
	ls -lR --time-style=+ . | awk '$1 != "total" {print $1, $2, ($1 ~ /^d/ ? "-" : $5), $NF}'
)
mount_fs "$memfs" memfs
mkdir "$tmp/native"
mount -t tmpfs tmpfs "$tmp/native"
chmod 755 "$tmp/native"
ops "$tmp/native" >"$tmp/native.out"
ops "$tmp/mnt-memfs" >"$tmp/memfs.out"
diff -u "$tmp/native.out" "$tmp/memfs.out" || fail "memfs differs from tmpfs"
unmount_fs memfs "${pids[-1]}"
echo "examples-test: hello and memfs as expected ($(wc -l <"$tmp/native.out") lines compared)"
