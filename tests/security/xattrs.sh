#!/usr/bin/env bash
# xattrs of symlinks themselves (setfattr -h / getfattr -h: l*xattr), as
# root, compared with native on SOURCE (SOURCE/n used directly, SOURCE/m
# through the mount, built alike): trusted.* set, read, listed and
# removed on a symlink and on a dangling one; user.* on a symlink (refused
# natively). The symlink's target must not get the attributes.
# usage: xattrs.sh FS_BIN
TEST_NAME=xattrs
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
FS_BIN=$1
require_root_fuse
command -v setfattr >/dev/null || skip "setfattr missing (package attr)"
make_work

# ops DIR: one line per operation and its outcome.
ops() {
	local d=$1 sl
	for sl in sl dangling; do
		for n in trusted.atfs user.atfs; do
			printf 'set %s %s -> ' "$n" "$sl"
			setfattr -h -n "$n" -v "v-$sl" "$d/$sl" 2>&1 | sed 's/.*: //' | tr -d '\n'
			echo
			printf 'get %s %s -> ' "$n" "$sl"
			getfattr -h --absolute-names --only-values -n "$n" "$d/$sl" 2>&1 | sed 's/.*: //' | tr -d '\n'
			echo
		done
		printf 'list %s -> ' "$sl"
		getfattr -h -d -m '^(trusted|user)\.' --absolute-names "$d/$sl" 2>&1 | grep -v '^#' | tr '\n' ' '
		echo
	done
	printf 'target -> '
	getfattr -d -m '^(trusted|user)\.' --absolute-names "$d/target" 2>&1 | grep -v '^#' | tr '\n' ' '
	echo
	printf 'remove trusted.atfs sl -> '
	setfattr -h -x trusted.atfs "$d/sl" 2>&1 | sed 's/.*: //' | tr -d '\n'
	echo
	printf 'list after sl -> '
	getfattr -h -d -m '^(trusted|user)\.' --absolute-names "$d/sl" 2>&1 | grep -v '^#' | tr '\n' ' '
	echo
}

src=$WORK/src mnt=$WORK/mnt
mkdir "$src" "$mnt"
for d in n m; do
	mkdir "$src/$d"
	echo data >"$src/$d/target"
	ln -s target "$src/$d/sl"
	ln -s missing "$src/$d/dangling"
done
fs_start "$src" "$mnt" || finish
ops "$src/n" >"$WORK/native.out"
ops "$mnt/m" >"$WORK/mount.out"
grep -qxF 'get trusted.atfs sl -> v-sl' "$WORK/native.out" || fail "oracle: trusted.atfs not set on the symlink natively"
if diff -u "$WORK/native.out" "$WORK/mount.out"; then
	ok "$(wc -l <"$WORK/native.out") outcomes equal native"
else
	fail "outcomes differ from native (- native, + mount)"
fi
fs_stop "$mnt" || fail "server exit status $?"
finish
