#!/usr/bin/env bash
# A root server that cannot take a caller's identity (no CAP_SETUID and
# CAP_SETGID: a container, a systemd CapabilityBoundingSet) must refuse the
# calls it would make as the caller, not make them as root: the server runs
# under setpriv --bounding-set -setuid,-setgid with -o allow_other, and
# atfs-u3 creates a file in a 0777 directory (it would be root's), opens a
# 0666 file and mkdirs through the mount: each is refused with EPERM and
# nothing is created in SOURCE. Root's own calls, which need no switch,
# still work.
# usage: switch-refused.sh FS_BIN
TEST_NAME=switch-refused
here=$(dirname "$0")
. "$here/../stress/mountlib.sh"
. "$here/users.sh"
FS_BIN=$1
require_root_fuse
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
make_work
create_users || finish

src=$WORK/src mnt=$WORK/mnt
mkdir -m 0755 "$src" "$mnt"
mkdir -m 0777 "$src/d"
echo data >"$src/f"
chmod 0666 "$src/f"
real_bin=$FS_BIN
FS_BIN=$WORK/atomfs-without-setid
printf '#!/bin/sh\nexec setpriv --bounding-set -setuid,-setgid -- %q "$@"\n' "$real_bin" >"$FS_BIN"
chmod 0755 "$FS_BIN"
fs_start "$src" "$mnt" -o allow_other || finish
try() { # try USER EXPECTED CMD...: the errno name CMD's python call ends with
	local u=$1 want=$2 got
	shift 2
	got=$(as "$u" $PY -c "import errno, os, sys
try:
    $*
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])" 2>&1)
	[ "$got" = "$want" ] && ok "$u: $* -> $got" || fail "$u: $* -> $got, expected $want"
}
try atfs-u3 EPERM "os.close(os.open('$mnt/d/new', os.O_CREAT | os.O_WRONLY, 0o644))"
try atfs-u3 EPERM "os.mkdir('$mnt/d/newdir')"
try atfs-u3 EPERM "open('$mnt/f').read()"
[ -e "$src/d/new" ] && fail "SOURCE/d/new exists: $(stat -c '%U:%G' "$src/d/new")" || ok "SOURCE/d/new not created"
[ -e "$src/d/newdir" ] && fail "SOURCE/d/newdir exists" || ok "SOURCE/d/newdir not created"
try root OK "open('$mnt/f').read()"
try root OK "os.mkdir('$mnt/d/rootdir')"
grep -q "cannot act as the caller" "$FS_LOG" && ok "server says why" || fail "no message in the server log"
fs_stop "$mnt" || fail "server exit status $?"
finish
