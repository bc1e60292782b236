#!/usr/bin/env bash
# Set-user-ID/set-group-ID clearing with FUSE_HANDLE_KILLPRIV_V2, compared
# with native on SOURCE itself (SOURCE/n used directly, SOURCE/m through the
# mount, built alike), with passthrough (cached), --no-passthrough and
# --nocache, -o allow_other:
#  - write, O_TRUNC, ftruncate, truncate, fallocate and copy_file_range into
#    files of atfs-u2 (group atfs-g) with modes 6777, 4777, 2777 and 2767
#    (set-group-ID without group execute: kept natively for a writer in
#    the group, atfs-u1 through a supplementary group, cleared for
#    atfs-u3), by atfs-u1, atfs-u3, the owner atfs-u2, and root (who keeps
#    them, CAP_FSETID) and uid 0 without CAP_FSETID (who does not); chown
#    by root; a write by the owner through a file opened before the owner
#    made it set-ID (with passthrough: a backing file registered without
#    set-ID bits); chgrp by the owner from a group
#    it is not in (set-group-ID goes) and from one it is in (kept unless
#    group-executable); security.capability removed by a write, a
#    truncate and a chown;
#  - requests, from the kernel's fuse_request_send tracepoint: 200 writes
#    through one open file by an ordinary user cause exactly one GETXATTR
#    (security.capability, for the first: the kernel asks again only after
#    it refreshes the inode's attributes), where it asked before every write.
# usage: setid.sh FS_BIN
TEST_NAME=setid
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
FSOPS=$here/fsops.py
require_root_fuse
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
command -v setfattr >/dev/null || skip "setfattr missing (package attr)"
make_work
create_users || finish
RUNNERS=(atfs-u1 atfs-u3 atfs-u2 root rootnf)

# build DIR: a victim per runner, operation and mode.
build() {
	local d=$1 u op m
	mkdir -m 0755 "$d"
	echo "source data" >"$d/data"
	for u in "${RUNNERS[@]}"; do
		for op in write otrunc ftrunc trunc falloc cfr; do
			for m in 6777 4777 2777 2767; do
				echo "victim" >"$d/$u-$op-$m"
				chown atfs-u2:$SHARED_GROUP "$d/$u-$op-$m"
				chmod $m "$d/$u-$op-$m"
			done
		done
	done
	for u in atfs-u1 atfs-u3 atfs-u2; do
		for m in 6777 4777 2777; do
			echo "victim" >"$d/$u-late-$m"
			chown $u:$SHARED_GROUP "$d/$u-late-$m"
			chmod 0777 "$d/$u-late-$m"
		done
	done
	# chgrp by the owner (atfs-u1, atfs-u2: in atfs-g and users) from a
	# group it is not in (root) or is in (atfs-g): set-group-ID without
	# group execute is kept only when the caller is in the old group.
	for u in atfs-u1 atfs-u2; do
		for m in 6755 2755 2745; do
			echo "victim" >"$d/$u-chgrp-$m"
			chown $u:root "$d/$u-chgrp-$m"
			chmod $m "$d/$u-chgrp-$m"
			echo "victim" >"$d/$u-chgrpin-$m"
			chown $u:$SHARED_GROUP "$d/$u-chgrpin-$m"
			chmod $m "$d/$u-chgrpin-$m"
		done
	done
	for m in 6777 6755 2755 2745; do
		echo "victim" >"$d/root-chown-$m"
		chown atfs-u2:$SHARED_GROUP "$d/root-chown-$m"
		chmod $m "$d/root-chown-$m"
	done
}
# rootnf: uid 0 without CAP_FSETID (as in a container, or capsh --drop).
run_as() {
	case $1 in
	root) shift; "$@" ;;
	rootnf) shift; SETID_ME=rootnf setpriv --inh-caps=-fsetid --bounding-set=-fsetid -- "$@" ;;
	*) as "$@" ;;
	esac
}

# GETXATTR requests of the connection behind mountpoint $1 while running $2...
TRACE=/sys/kernel/tracing
count_getxattr() {
	local mnt=$1 conn inst
	shift
	[ -d $TRACE/instances ] || mount -t tracefs nodev $TRACE 2>/dev/null
	[ -d $TRACE/events/fuse/fuse_request_send ] || { echo "no-tracepoint"; return; }
	conn=$(awk -v m="$mnt" '$5 == m { split($3, a, ":"); print a[2] }' /proc/self/mountinfo)
	inst=$TRACE/instances/atomfs-setid-$$
	mkdir -p "$inst"
	echo "connection == $conn" >"$inst/events/fuse/fuse_request_send/filter"
	echo >"$inst/trace"
	echo 1 >"$inst/events/fuse/fuse_request_send/enable"
	"$@"
	echo 0 >"$inst/events/fuse/fuse_request_send/enable"
	grep -c 'opcode 22 ' "$inst/trace"
	rmdir "$inst"
}

for mode in passthrough no-passthrough nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode
	mkdir "$src" "$mnt"
	chmod 0755 "$src"
	build "$src/n"
	build "$src/m"
	opts=(-o allow_other --timeout=60)
	[ $mode = no-passthrough ] && opts+=(--no-passthrough)
	[ $mode = nocache ] && opts=(-o allow_other --nocache)
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	for u in "${RUNNERS[@]}"; do
		run_as "$u" $PY "$FSOPS" setid "$src/n" >"$WORK/native-$mode-$u.out" 2>&1
		run_as "$u" $PY "$FSOPS" setid "$mnt/m" >"$WORK/mount-$mode-$u.out" 2>&1
		n=$(grep -c '^mode after' "$WORK/native-$mode-$u.out")
		cleared=$(grep '^mode after' "$WORK/native-$mode-$u.out" | grep -vc -- '-> OK 0o[246]7[0-7][0-7]$')
		say "$mode: $u: $n operations ($cleared leave no set-ID bit natively)"
		if diff -u "$WORK/native-$mode-$u.out" "$WORK/mount-$mode-$u.out"; then
			ok "$mode: $u: every mode equals native"
		else
			fail "$mode: $u: modes differ from native (- native, + mount)"
		fi
	done
	for check in "atfs-u1:mode after atfs-u1-write-6777 -> OK 0o777" \
		"atfs-u1:mode after atfs-u1-write-2767 -> OK 0o2767" \
		"atfs-u3:mode after atfs-u3-write-2767 -> OK 0o767" \
		"atfs-u1:mode after atfs-u1-otrunc-4777 -> OK 0o777" \
		"root:mode after root-write-6777 -> OK 0o6777" \
		"root:mode after root-chown-6755 -> OK 0o755" \
		"atfs-u1:mode after atfs-u1-late-6777 -> OK 0o777" \
		"atfs-u1:mode after atfs-u1-chgrp-2745 -> OK 0o745" \
		"rootnf:mode after rootnf-falloc-6777 -> OK 0o777" \
		"rootnf:mode after rootnf-cfr-4777 -> OK 0o777" \
		"atfs-u1:mode after atfs-u1-chgrpin-2745 -> OK 0o2745"; do
		u=${check%%:*} line=${check#*:}
		grep -qxF -- "$line" "$WORK/native-$mode-$u.out" || fail "$mode: oracle: $u: expected '$line' natively"
		grep -qxF -- "$line" "$WORK/mount-$mode-$u.out" && ok "$mode: $u: $line" ||
			fail "$mode: $u: expected '$line' through the mount"
	done

	# security.capability goes with a write or truncate by atfs-u1 and a
	# chown by root, natively and through the mount.
	CAP=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=
	for op in write trunc chown; do
		for t in n m; do
			echo victim >"$src/$t/cap-$op"
			chown atfs-u2 "$src/$t/cap-$op"
			chmod 0666 "$src/$t/cap-$op"
			setfattr -n security.capability -v $CAP "$src/$t/cap-$op"
		done
		for f in "$src/n/cap-$op" "$mnt/m/cap-$op"; do
			case $op in
			write) as atfs-u1 sh -c 'echo more >>"$1"' _ "$f" || say "write $f failed" ;;
			trunc) as atfs-u1 truncate -s 2 "$f" ;;
			chown) chown atfs-u3 "$f" ;;
			esac
		done
		native=$(getfattr -n security.capability --absolute-names "$src/n/cap-$op" 2>&1 | grep -c '^security')
		mounted=$(getfattr -n security.capability --absolute-names "$src/m/cap-$op" 2>&1 | grep -c '^security')
		if [ "$native" = 0 ] && [ "$mounted" = 0 ]; then
			ok "$mode: security.capability removed by $op as natively"
		else
			fail "$mode: security.capability after $op: native $native, through the mount $mounted (0 = removed)"
		fi
	done

	if [ $mode != nocache ]; then
		f=$mnt/m/counted
		: >"$src/m/counted"
		chown atfs-u1 "$src/m/counted"
		as atfs-u1 $PY "$FSOPS" writes "$f" 1 # the path's permissions and ACLs cached
		got=$(count_getxattr "$mnt" as atfs-u1 $PY "$FSOPS" writes "$f" 200)
		if [ "$got" = no-tracepoint ]; then
			say "$mode: SKIP request count: no fuse_request_send tracepoint"
		elif [ "$got" -eq 1 ]; then
			ok "$mode: 200 writes by atfs-u1 through one open file: $got GETXATTR"
		else
			fail "$mode: 200 writes by atfs-u1 through one open file: $got GETXATTR (1 expected: the first write after the open refreshed the attributes)"
		fi
	fi
	fs_stop "$mnt" || fail "$mode: server exit status $?"
done
finish
