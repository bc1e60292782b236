#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Access changed in the source behind the kernel's cached attributes.

  stale.py NATIVE SOURCE MOUNT USER...      (as root)

SOURCE is served at MOUNT (-o allow_other, a long --timeout);
NATIVE is a directory outside it. For every case and every USER (a user
name, or "root") a fresh copy of the case is built under NATIVE/USER/CASE
and SOURCE/USER/CASE, then one child process, as the user:
  1. stats the case's paths through MOUNT and asks access(R_OK) of them,
     so that the kernel holds their attributes and ACLs as they are now;
  2. waits while root changes both copies directly (chmod, chown,
     setfacl): the kernel is not told, and keeps what it cached;
  3. at once does the operation through MOUNT, then on NATIVE.
The timeout outlasts steps 1-3 however slow the machine, so the kernel's own
check (default_permissions) sees the old access: only the server, judging
the caller against the source as it is now, gives the native answer.
Each line is "USER CASE: native OUTCOME mount OUTCOME"; the driver
compares the two.
"""
import errno
import grp
import json
import os
import ctypes
import pwd
import struct
import subprocess
import sys

from fsops import outcome  # same directory: OK, OK <value> or the errno name


def write(path, data, mode, uid=0, gid=0):
    with open(path, "w") as f:
        f.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def mkdir(path, mode, uid=0, gid=0):
    os.mkdir(path)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def read(path):
    with open(path) as f:
        return f.read().strip().replace(" ", "_")


def open_close(path, flags):
    os.close(os.open(path, flags))


def write_close(path):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"more\n")
    finally:
        os.close(fd)


def mode(path):
    return "mode " + oct(os.stat(path).st_mode & 0o7777)


# An ACL as the system.posix_acl_* xattrs hold it: version 2, then
# (tag, perm, id) entries sorted by tag and id.
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER = 1, 2, 4, 0x10, 0x20


def acl_xattr(user, perm):
    undef = 0xFFFFFFFF
    e = [(ACL_USER_OBJ, 6, undef), (ACL_USER, perm, user), (ACL_GROUP_OBJ, 4, undef),
         (ACL_MASK, perm, undef), (ACL_OTHER, 4, undef)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def utime_mtime_only(path, t):
    """utimensat(path, {UTIME_OMIT, t}): the request --writeback's own
    mtime flush looks like (FATTR_MTIME, no atime)."""
    libc = ctypes.CDLL(None, use_errno=True)
    ts = (Timespec * 2)(Timespec(0, (1 << 30) - 2), Timespec(t, 0))
    if libc.utimensat(-100, os.fsencode(path), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


SOURCE_OF = {}  # mount directory -> the source directory it serves


def refused_then_mode(fn, path):
    """fn's outcome and the file's mode afterwards, stat'ed in the source
    for a path through the mount (whose attributes may be cached)."""
    r = outcome(fn)
    for m, src in SOURCE_OF.items():
        if path.startswith(m + "/"):
            path = src + path[len(m):]
    return f"{r} mode {oct(os.stat(path).st_mode & 0o7777)}"


class Ids:
    def __init__(self, group):
        self.u = {n: pwd.getpwnam(n).pw_uid for n in ("atfs-u1", "atfs-u2", "atfs-u3")}
        self.g = grp.getgrnam(group).gr_gid


# Each case: (name, setup(dir), prime paths, change(dir), act(dir), after):
# after(dir), when given, is what root sees of the copy once the act is
# done (NATIVE's, and SOURCE's for the mount), appended to the outcome.
# Paths are relative to the case's directory; the setups give "other"
# (atfs-u3), the group member (atfs-u2) and the owner (atfs-u1) access
# that the change then takes away. Nothing is granted: a grant the kernel
# has not seen yet is refused by the kernel's check (stale but safe).
def cases(ids):
    u1, u2, u3, g = ids.u["atfs-u1"], ids.u["atfs-u2"], ids.u["atfs-u3"], ids.g

    def setfacl(*args):
        subprocess.run(["setfacl", *args], check=True)

    c = []

    def case(name, setup, prime, change, act, after=None):
        c.append((name, setup, prime, change, act, after))

    # Opens (FUSE_OPEN): read and write access revoked by mode, owner, ACL.
    case("read-chmod-600",
         lambda d: write(f"{d}/f", "data\n", 0o644), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o600),
         lambda d: read(f"{d}/f"))
    case("write-chmod-644",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: open_close(f"{d}/f", os.O_WRONLY | os.O_APPEND))
    case("otrunc-chmod-644",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: open_close(f"{d}/f", os.O_WRONLY | os.O_TRUNC))
    case("read-chown-away",
         lambda d: write(f"{d}/f", "data\n", 0o600, u3, g), ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: read(f"{d}/f"))
    case("read-chgrp-away",
         lambda d: write(f"{d}/f", "data\n", 0o640, 0, g), ["f"],
         lambda d: os.chown(f"{d}/f", -1, 0),
         lambda d: read(f"{d}/f"))
    case("read-group-only",  # no change: the group member's supplementary group
         lambda d: write(f"{d}/f", "data\n", 0o640, 0, g), ["f"],
         lambda d: None,
         lambda d: read(f"{d}/f"))
    case("read-acl-removed",
         lambda d: (write(f"{d}/f", "data\n", 0o640), setfacl("-m", f"u:{u3}:r", f"{d}/f")),
         ["f"],
         lambda d: setfacl("-x", f"u:{u3}", f"{d}/f"),
         lambda d: read(f"{d}/f"))
    case("write-acl-denied",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: setfacl("-m", f"u:{u3}:r,u:{u2}:r,u:{u1}:r,m::rw", f"{d}/f"),
         lambda d: open_close(f"{d}/f", os.O_WRONLY))
    case("listdir-chmod-711",
         lambda d: (mkdir(f"{d}/dir", 0o755), write(f"{d}/dir/f", "x\n", 0o644)), ["dir"],
         lambda d: os.chmod(f"{d}/dir", 0o711),
         lambda d: sorted(os.listdir(f"{d}/dir")))
    # setattr: truncate, chmod, utimes.
    case("truncate-chmod-644",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: os.truncate(f"{d}/f", 1))
    case("chmod-chown-away",
         lambda d: write(f"{d}/f", "data\n", 0o644, u3, g), ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: os.chmod(f"{d}/f", 0o666))
    case("utime-now-chmod-644",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: os.utime(f"{d}/f"))
    case("utime-set-chown-away",
         lambda d: write(f"{d}/f", "data\n", 0o644, u3, g), ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: os.utime(f"{d}/f", (1000000000, 1000000000)))
    # No change: a writer who does not own the file (--writeback flushes
    # the mtime of its write at close, and turns its touch into an
    # explicit mtime).
    case("write-close-other",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: None,
         lambda d: write_close(f"{d}/f"))
    case("utime-now-other",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: None,
         lambda d: os.utime(f"{d}/f"))
    case("utime-mtime-chown-away",  # --writeback: not the kernel's mtime flush
         lambda d: write(f"{d}/f", "data\n", 0o644, u3, g), ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: utime_mtime_only(f"{d}/f", 1000000000),
         lambda d: str(int(os.stat(f"{d}/f").st_mtime) == 1000000000))
    # A refused truncate or chown of a set-ID file leaves its bits (mode
    # read from the copy itself, not through the mount's cache).
    case("setid-truncate-chmod-6755",
         lambda d: write(f"{d}/f", "data\n", 0o6777, u1, g), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o6755),
         lambda d: refused_then_mode(lambda: os.truncate(f"{d}/f", 1), f"{d}/f"))
    case("setid-chown-chown-away",
         lambda d: write(f"{d}/f", "data\n", 0o6777, u3, g), ["f"],
         lambda d: (os.chown(f"{d}/f", 0, -1), os.chmod(f"{d}/f", 0o6777)),
         lambda d: refused_then_mode(lambda: os.chown(f"{d}/f", -1, g), f"{d}/f"))
    case("truncate-setuid-chmod",  # root's set-user-ID file, refused to everyone
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o4755),
         lambda d: os.truncate(f"{d}/f", 0),
         lambda d: mode(f"{d}/f"))
    # POSIX ACLs: only the owner sets or removes them (see also
    # setfacl-chown-away below).
    case("setacl-default-chown-away",
         lambda d: mkdir(f"{d}/dir", 0o755, u3, g), ["dir"],
         lambda d: os.chown(f"{d}/dir", 0, -1),
         lambda d: os.setxattr(f"{d}/dir", "system.posix_acl_default", acl_xattr(u3, 7)),
         lambda d: "default-acl " + str("system.posix_acl_default" in os.listxattr(f"{d}/dir")))
    # Names: rename, unlink, rmdir in directories whose write access went.
    for op, act in (("rename", lambda d: os.rename(f"{d}/dir/a", f"{d}/dir/b")),
                    ("unlink", lambda d: os.unlink(f"{d}/dir/a")),
                    ("rmdir", lambda d: os.rmdir(f"{d}/dir/sub"))):
        case(f"{op}-chmod-755",
             lambda d: (mkdir(f"{d}/dir", 0o777), write(f"{d}/dir/a", "a\n", 0o644),
                        mkdir(f"{d}/dir/sub", 0o755)),
             ["dir", "dir/a", "dir/sub"],
             lambda d: os.chmod(f"{d}/dir", 0o755), act)
    case("rename-into-chmod-755",
         lambda d: (mkdir(f"{d}/from", 0o777), write(f"{d}/from/a", "a\n", 0o666),
                    mkdir(f"{d}/to", 0o777)),
         ["from", "from/a", "to"],
         lambda d: os.chmod(f"{d}/to", 0o755),
         lambda d: os.rename(f"{d}/from/a", f"{d}/to/a"))
    case("unlink-acl-removed",
         lambda d: (mkdir(f"{d}/dir", 0o755), write(f"{d}/dir/a", "a\n", 0o644),
                    setfacl("-m", f"u:{u3}:rwx,g:{g}:rwx", f"{d}/dir")),
         ["dir", "dir/a"],
         lambda d: setfacl("-x", f"u:{u3}", "-x", f"g:{g}", f"{d}/dir"),
         lambda d: os.unlink(f"{d}/dir/a"))
    # Sticky directory: the victim's owner changed behind the cache.
    case("sticky-unlink-chown-away",
         lambda d: (mkdir(f"{d}/dir", 0o1777), write(f"{d}/dir/a", "a\n", 0o666, u3, g)),
         ["dir", "dir/a"],
         lambda d: os.chown(f"{d}/dir/a", 0, -1),
         lambda d: os.unlink(f"{d}/dir/a"))
    case("sticky-rename-chown-away",
         lambda d: (mkdir(f"{d}/dir", 0o1777), write(f"{d}/dir/a", "a\n", 0o666, u3, g)),
         ["dir", "dir/a"],
         lambda d: os.chown(f"{d}/dir/a", 0, -1),
         lambda d: os.rename(f"{d}/dir/a", f"{d}/dir/b"))
    # user.* extended attributes.
    case("setxattr-chmod-644",
         lambda d: write(f"{d}/f", "data\n", 0o666), ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: os.setxattr(f"{d}/f", "user.x", b"1"))
    case("removexattr-chmod-644",
         lambda d: (write(f"{d}/f", "data\n", 0o666), os.setxattr(f"{d}/f", "user.x", b"1")),
         ["f"],
         lambda d: os.chmod(f"{d}/f", 0o644),
         lambda d: os.removexattr(f"{d}/f", "user.x"))
    case("getxattr-chmod-600",
         lambda d: (write(f"{d}/f", "data\n", 0o644), os.setxattr(f"{d}/f", "user.x", b"1")),
         ["f"],
         lambda d: os.chmod(f"{d}/f", 0o600),
         lambda d: os.getxattr(f"{d}/f", "user.x").decode())
    # POSIX ACLs are the owner's to set and remove.
    case("setfacl-chown-away",
         lambda d: write(f"{d}/f", "data\n", 0o644, u3, g), ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: as_setfacl("-m", f"u:{u1}:rw", f"{d}/f"))
    case("setfacl-remove-chown-away",
         lambda d: (write(f"{d}/f", "data\n", 0o644, u3, g), setfacl("-m", f"u:{u1}:r", f"{d}/f")),
         ["f"],
         lambda d: os.chown(f"{d}/f", 0, -1),
         lambda d: as_setfacl("-b", f"{d}/f"))
    return c


def as_setfacl(*args):
    """setfacl as the calling user: an OSError with its errno on failure."""
    r = subprocess.run(["setfacl", *args], capture_output=True, text=True)
    if r.returncode == 0:
        return None
    for text, e in (("not permitted", errno.EPERM), ("Permission denied", errno.EACCES)):
        if text in r.stderr:
            raise OSError(e, r.stderr)
    raise OSError(errno.EIO, r.stderr)


def user_ids(name):
    if name == "root":
        return 0, 0, []
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(name, pw.pw_gid)


def run_case(user, case, native, source, mount):
    name, setup, prime, change, act, after = case
    dirs = {k: os.path.join(top, user, name) for k, top in
            (("native", native), ("source", source), ("mount", mount))}
    for k in ("native", "source"):
        os.makedirs(dirs[k], mode=0o755)
        setup(dirs[k])
    uid, gid, groups = user_ids(user)
    primed_r, primed_w = os.pipe()
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            for p in prime:  # attributes, and with access() the ACLs
                os.stat(os.path.join(dirs["mount"], p))
                os.access(os.path.join(dirs["mount"], p), os.R_OK)
            os.write(primed_w, b"p")
            os.read(go_r, 1)
            m = outcome(lambda: act(dirs["mount"]))
            n = outcome(lambda: act(dirs["native"]))
            os.write(res_w, json.dumps([n, m]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(primed_w)
    os.close(res_w)
    ok = os.read(primed_r, 1) == b"p"
    if ok:
        for k in ("native", "source"):
            change(dirs[k])
    os.write(go_w, b"g")
    data = b""
    while chunk := os.read(res_r, 4096):
        data += chunk
    os.waitpid(pid, 0)
    for fd in (primed_r, go_r, go_w, res_r):
        os.close(fd)
    if not ok or not data:
        return "ERROR", "ERROR"
    n, m = json.loads(data)
    if after:
        n += " " + after(dirs["native"])
        m += " " + after(dirs["source"])
    return n, m


def main():
    native, source, mount, *users = sys.argv[1:]
    SOURCE_OF[mount] = source
    ids = Ids("atfs-g")
    for user in users:
        for case in cases(ids):
            n, m = run_case(user, case, native, source, mount)
            print(f"{user} {case[0]}: native {n} mount {m}", flush=True)


if __name__ == "__main__":
    main()
