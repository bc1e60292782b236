#!/usr/bin/env bash
# Crash and restart.
#  kill -9: the server dies during fsync'd writes (2 threads); the writers must
#   stop within seconds with ENOTCONN (or ECONNABORTED, which the kernel gives
#   requests in flight at the abort), never hang; a new stat and open get
#   ENOTCONN; the
#   dead mount is cleaned up (umount -l when cached, fusermount3 -u with
#   --nocache) and the same mountpoint mounted again; every record whose
#   fsync returned is intact in the source and through the new mount.
#  SIGTERM: under load (3 writer threads, no fsync) the server unmounts and
#   exits 0; every acknowledged write is in the source.
# usage: crash.sh FS_BIN CRASHWRITER_BIN
TEST_NAME=crash
. "$(dirname "$0")/mountlib.sh"
FS_BIN=$1 WRITER=$2
require_root_fuse
make_work

# wait_pid PID SECONDS: waits for a background job; 124 on timeout (killed).
wait_pid() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 124
}

for mode in cached nocache; do
	src=$WORK/src-$mode mnt=$WORK/mnt-$mode log=$WORK/acked-$mode.log
	mkdir "$src" "$mnt"
	opts=()
	[ $mode = nocache ] && opts=(--nocache)

	say "$mode: kill -9 during fsync'd writes"
	fs_start "$src" "$mnt" "${opts[@]}" || continue
	"$WRITER" write "$mnt" "$log" --threads 2 --fsync --seconds 60 &
	wpid=$!
	sleep 1.5
	kill -9 "$FS_PID"
	wait "$FS_PID" 2>/dev/null
	wait_pid $wpid 15
	rc=$?
	if [ $rc = 124 ]; then
		fail "$mode: writers still blocked 15 s after the server died"
	else
		expect_eq "$mode: writers stopped with ENOTCONN (status)" 0 $rc
	fi
	err=$(timeout 10 stat "$mnt/w0-0" 2>&1 >/dev/null)
	rc=$?
	[ $rc = 124 ] && fail "$mode: stat on the dead mount hangs"
	case $err in
	*"not connected"*) ok "$mode: stat on the dead mount: ENOTCONN" ;;
	*) fail "$mode: stat on the dead mount: '$err'" ;;
	esac
	err=$(timeout 10 cat "$mnt/new-file" 2>&1 >/dev/null)
	case $err in
	*"not connected"*) ok "$mode: open on the dead mount: ENOTCONN" ;;
	*) fail "$mode: open on the dead mount: '$err'" ;;
	esac

	if [ $mode = cached ]; then
		say "$mode: cleanup with umount -l"
		umount -l "$mnt" || fail "umount -l $mnt"
	else
		say "$mode: cleanup with fusermount3 -u"
		fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt"
	fi
	is_fuse "$mnt" && fail "$mode: $mnt still mounted after cleanup"
	acked=$(wc -l <"$log")
	say "$mode: $acked records were fsync'd before the kill"
	[ "$acked" -gt 0 ] || fail "$mode: no record was written before the kill (too slow?)"
	"$WRITER" verify "$src" "$log" && ok "$mode: every fsync'd record intact in the source" ||
		fail "$mode: fsync'd records lost in the source"

	say "$mode: remount on the same mountpoint"
	if fs_start "$src" "$mnt" "${opts[@]}"; then
		"$WRITER" verify "$mnt" "$log" && ok "$mode: records readable through the new mount" ||
			fail "$mode: records wrong through the new mount"
		expect_eq "$mode: listing through the new mount (md5 of the names)" \
			"$(ls "$src" | sort | md5sum)" "$(ls "$mnt" | sort | md5sum)"

		say "$mode: SIGTERM under load (3 writers, no fsync)"
		log2=$WORK/acked-term-$mode.log
		mkdir "$mnt/term"
		"$WRITER" write "$mnt/term" "$log2" --threads 3 --seconds 60 &
		wpid=$!
		sleep 1.5
		kill -TERM "$FS_PID"
		wait_pid "$FS_PID" 15
		rc=$?
		if [ $rc = 124 ]; then
			fail "$mode: server still running 15 s after SIGTERM"
		elif fs_is_atomfs; then
			expect_eq "$mode: server exit status after SIGTERM" 0 $rc
		else
			say "$mode: passthrough_ll exit status after SIGTERM: $rc (libfuse reports the signal)"
		fi
		is_fuse "$mnt" && fail "$mode: still mounted after SIGTERM" || ok "$mode: unmounted after SIGTERM"
		wait_pid $wpid 15
		rc=$?
		[ $rc = 124 ] && fail "$mode: writers hang after SIGTERM"
		say "$mode: writers ended with status $rc; $(wc -l <"$log2") records acknowledged"
		"$WRITER" verify "$src/term" "$log2" && ok "$mode: every acknowledged write in the source" ||
			fail "$mode: acknowledged writes lost after SIGTERM"
		expect_eq "$mode: nothing written into the bare mountpoint" "" "$(ls -A "$mnt")"
	fi
done
finish
