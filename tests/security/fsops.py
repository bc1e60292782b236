#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Deterministic filesystem operation lists for the security tests.

The same list runs on a native directory and on a FUSE mount of an
identical source, as the same (unprivileged) user; every line of output is
an operation and its outcome with paths relative to ROOT, so the two outputs
must be identical.

  fsops.py tree ROOT U1 U2 GROUP      build the permission tree (as root)
  fsops.py perm ROOT                  permission ops as the calling user
  fsops.py own ROOT                   ownership/mode ops as the calling user
  fsops.py acl ROOT                   POSIX ACL ops as the calling user (acl.sh's tree)
  fsops.py setid ROOT                 set-ID clearing by the calling user (setid.sh's tree)
  fsops.py mk ROOT                    creating calls by the calling user (creates.sh's tree)
  fsops.py writes FILE N              N pwrites to FILE through one open file
"""
import errno
import mmap
import os
import stat
import sys
import time


def outcome(fn):
    try:
        r = fn()
        return "OK" if r is None else "OK " + str(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


class Runner:
    def __init__(self, root):
        self.root = root

    def p(self, rel):
        return os.path.join(self.root, rel)

    def do(self, what, fn):
        print(f"{what} -> {outcome(fn)}", flush=True)


def build_tree(root, u1, u2, group):
    """Modes and owners that give each of u1 (owner), u2 (group) and a third
    user (other) different rights."""
    import grp
    import pwd
    uid1, uid2 = pwd.getpwnam(u1).pw_uid, pwd.getpwnam(u2).pw_uid
    gid = grp.getgrnam(group).gr_gid

    def mk(rel, mode, uid=0, gid_=0, data=None):
        path = os.path.join(root, rel)
        if data is None:
            os.mkdir(path)
        else:
            with open(path, "w") as f:
                f.write(data)
        os.chown(path, uid, gid_)
        os.chmod(path, mode)

    mk("pub", 0o755)
    mk("pub/root644", 0o644, data="root file\n")
    mk("pub/root666", 0o666, data="world writable\n")
    mk("pub/root600", 0o600, data="root only\n")
    mk("pub/u1-640", 0o640, uid1, gid, data="u1 group-readable\n")
    mk("pub/u1-600", 0o600, uid1, gid, data="u1 private\n")
    mk("pub/u1-000", 0o000, uid1, gid, data="nobody\n")
    mk("pub/u2-664", 0o664, uid2, gid, data="u2 group-writable\n")
    mk("priv", 0o700, uid1, gid)
    mk("priv/f", 0o644, uid1, gid, data="in priv\n")
    mk("shared", 0o770, 0, gid)
    mk("shared/f", 0o660, uid2, gid, data="in shared\n")
    mk("xonly", 0o711, 0, 0)
    mk("xonly/f", 0o644, 0, 0, data="reachable by name\n")
    mk("sticky", 0o1777, 0, 0)
    mk("sticky/u1", 0o666, uid1, gid, data="u1's in sticky\n")
    mk("sticky/u2", 0o666, uid2, gid, data="u2's in sticky\n")
    mk("ro", 0o555, uid1, gid)
    mk("ro/f", 0o666, uid1, gid, data="in read-only dir\n")
    os.symlink("root600", os.path.join(root, "pub/link-root600"))


def perm_ops(root):
    r = Runner(root)
    p = r.p

    def read(rel):
        with open(p(rel)) as f:
            return f.read().strip().replace(" ", "_")

    def append(rel):
        with open(p(rel), "a") as f:
            f.write("x\n")

    def create(rel, flags=os.O_CREAT | os.O_WRONLY | os.O_EXCL):
        os.close(os.open(p(rel), flags, 0o644))

    def listdir(rel):
        return ",".join(sorted(os.listdir(p(rel))))

    files = ["pub/root644", "pub/root666", "pub/root600", "pub/u1-640", "pub/u1-600",
             "pub/u1-000", "pub/u2-664", "priv/f", "shared/f", "xonly/f", "sticky/u1",
             "sticky/u2", "ro/f", "pub/link-root600"]
    dirs = ["pub", "priv", "shared", "xonly", "sticky", "ro"]
    for f in files:
        r.do(f"stat {f}", lambda: oct(os.stat(p(f)).st_mode))
        r.do(f"read {f}", lambda: read(f))
        for mode, name in ((os.R_OK, "R"), (os.W_OK, "W"), (os.X_OK, "X")):
            r.do(f"access {name} {f}", lambda: os.access(p(f), mode) or None)
    for d in dirs:
        r.do(f"readdir {d}", lambda: listdir(d))
        r.do(f"create {d}/new", lambda: create(d + "/new"))
        r.do(f"mkdir {d}/newdir", lambda: os.mkdir(p(d + "/newdir")))
        r.do(f"symlink {d}/newlink", lambda: os.symlink("target", p(d + "/newlink")))
        r.do(f"mkfifo {d}/fifo", lambda: os.mkfifo(p(d + "/fifo"), 0o600))
    for i, f in enumerate(files):
        r.do(f"append {f}", lambda: append(f))
        r.do(f"utime-now {f}", lambda: os.utime(p(f)))
        r.do(f"utime-set {f}", lambda: os.utime(p(f), (1000000, 1000000)))
        r.do(f"setxattr {f}", lambda: os.setxattr(p(f), "user.t", b"v"))
        r.do(f"getxattr {f}", lambda: os.getxattr(p(f), "user.t").decode())
        r.do(f"link {f} -> pub/hl{i}", lambda: os.link(p(f), p(f"pub/hl{i}")))
        r.do(f"chmod {f}", lambda: os.chmod(p(f), 0o640, follow_symlinks=False)
             if not f.endswith("link-root600") else os.chmod(p(f), 0o640))
        r.do(f"chown-to-root {f}", lambda: os.chown(p(f), 0, -1))
        r.do(f"chgrp-same {f}", lambda: os.chown(p(f), -1, os.stat(p(f)).st_gid))
        r.do(f"truncate {f}", lambda: os.truncate(p(f), 3))
        r.do(f"stat-after {f}", lambda: oct(os.stat(p(f)).st_mode))
    # Names in other users' places: rename, unlink, rmdir.
    r.do("rename sticky/u2 -> sticky/mine", lambda: os.rename(p("sticky/u2"), p("sticky/mine")))
    r.do("rename sticky/u1 -> sticky/mine1", lambda: os.rename(p("sticky/u1"), p("sticky/mine1")))
    r.do("rename pub/u2-664 -> pub/x", lambda: os.rename(p("pub/u2-664"), p("pub/x")))
    r.do("rename shared/f -> shared/g", lambda: os.rename(p("shared/f"), p("shared/g")))
    r.do("rename ro/f -> pub/f", lambda: os.rename(p("ro/f"), p("pub/f")))
    for f in ["pub/hl0", "pub/hl1", "sticky/u2", "sticky/mine", "sticky/mine1", "shared/g", "shared/f",
              "priv/f", "ro/f", "pub/root644"]:
        r.do(f"unlink {f}", lambda: os.unlink(p(f)))
    for d in ["pub/newdir", "shared/newdir", "sticky/newdir", "priv/newdir", "ro"]:
        r.do(f"rmdir {d}", lambda: os.rmdir(p(d)))
    for d in dirs:
        r.do(f"final listing {d}", lambda: listdir(d))


def own_ops(root):
    """Ownership and mode of what the caller creates; setgid directories and
    default ACLs are prepared by the test (dirs sgid/ and acl/)."""
    import grp
    import pwd
    r = Runner(root)
    p = r.p

    def owner(rel):
        st = os.lstat(p(rel))
        return (f"{pwd.getpwuid(st.st_uid).pw_name}:{grp.getgrgid(st.st_gid).gr_name}"
                f":{oct(stat.S_IMODE(st.st_mode))}")

    os.umask(0o022)
    for d in ["top", "sgid", "acl"]:
        base = d if d != "top" else "."
        r.do(f"umask 022 create {d}/file", lambda: os.close(os.open(p(base + "/file"), os.O_CREAT | os.O_WRONLY, 0o666)))
        r.do(f"owner {d}/file", lambda: owner(base + "/file"))
        r.do(f"umask 022 mkdir {d}/dir", lambda: os.mkdir(p(base + "/dir"), 0o777))
        r.do(f"owner {d}/dir", lambda: owner(base + "/dir"))
        r.do(f"umask 022 mkfifo {d}/fifo", lambda: os.mkfifo(p(base + "/fifo"), 0o666))
        r.do(f"owner {d}/fifo", lambda: owner(base + "/fifo"))
        r.do(f"symlink {d}/sym", lambda: os.symlink("file", p(base + "/sym")))
        r.do(f"owner {d}/sym", lambda: owner(base + "/sym"))
    os.umask(0o077)
    for d in ["sgid", "acl"]:
        r.do(f"umask 077 create {d}/file77", lambda: os.close(os.open(p(d + "/file77"), os.O_CREAT | os.O_WRONLY, 0o666)))
        r.do(f"owner {d}/file77", lambda: owner(d + "/file77"))
        r.do(f"umask 077 mkdir {d}/dir77", lambda: os.mkdir(p(d + "/dir77"), 0o777))
        r.do(f"owner {d}/dir77", lambda: owner(d + "/dir77"))
        r.do(f"umask 077 mkdir {d}/dir77/sub", lambda: os.mkdir(p(d + "/dir77/sub"), 0o777))
        r.do(f"owner {d}/dir77/sub", lambda: owner(d + "/dir77/sub"))
    os.umask(0o022)


def kill_ops(root):
    """setuid/setgid clearing by a non-owner's write, truncate, fallocate.
    The test prepares kill/w, kill/t, kill/ft, kill/fa owned by another user
    with mode 06777 (and kill/g with 02775 with group exec)."""
    r = Runner(root)
    p = r.p

    def mode(rel):
        return oct(stat.S_IMODE(os.stat(p(rel)).st_mode))

    def write(rel):
        fd = os.open(p(rel), os.O_WRONLY)
        try:
            os.pwrite(fd, b"data", 0)
        finally:
            os.close(fd)

    def otrunc(rel):
        os.close(os.open(p(rel), os.O_WRONLY | os.O_TRUNC))

    def ftrunc(rel):
        fd = os.open(p(rel), os.O_WRONLY)
        try:
            os.ftruncate(fd, 100)
        finally:
            os.close(fd)

    def falloc(rel):
        fd = os.open(p(rel), os.O_WRONLY)
        try:
            os.posix_fallocate(fd, 0, 8192)
        finally:
            os.close(fd)

    for rel, fn, name in (("kill/w", write, "write"), ("kill/t", otrunc, "open O_TRUNC"),
                          ("kill/ft", ftrunc, "ftruncate"), ("kill/fa", falloc, "fallocate"),
                          ("kill/g", write, "write (setgid, group x)")):
        r.do(f"mode before {name} {rel}", lambda: mode(rel))
        r.do(f"{name} {rel}", lambda: fn(rel))
        r.do(f"mode after {name} {rel}", lambda: mode(rel))


def mmap_times(root):
    """mtime and ctime advance after a write through a shared mapping."""
    path = os.path.join(root, "mapped")
    with open(path, "wb") as f:
        f.write(b"\0" * 8192)
    os.utime(path, (1000000, 1000000))
    before = os.stat(path)
    ctime_before = before.st_ctime_ns
    time.sleep(1.1)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[100:104] = b"abcd"
    m.flush()
    m.close()
    os.close(fd)
    after = os.stat(path)
    print(f"mmap write: mtime advanced -> {after.st_mtime_ns > before.st_mtime_ns}")
    print(f"mmap write: ctime advanced -> {after.st_ctime_ns > ctime_before}")
    with open(path, "rb") as f:
        f.seek(100)
        print(f"mmap write: data visible -> {f.read(4) == b'abcd'}")


def acl_ops(root):
    """Access through POSIX ACLs (named users and groups, the mask, on files
    and directories), default ACLs inherited on create, and the mode right
    after setfacl. acl.sh builds the tree; names carry the caller's name so
    that each user's creations are its own."""
    import pwd
    import subprocess
    r = Runner(root)
    p = r.p
    me = pwd.getpwuid(os.getuid()).pw_name

    def read(rel):
        with open(p(rel), "rb") as f:
            return f.read().decode().strip().replace(" ", "_")

    def append(rel):
        with open(p(rel), "ab") as f:
            f.write(b"x")

    def create(rel, mode=0o666):
        os.close(os.open(p(rel), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))

    def mode(rel):
        return oct(stat.S_IMODE(os.lstat(p(rel)).st_mode))

    def mode_only(rel):
        # stat(1) asks statx for the mode alone, which a cached mode
        # answers; os.stat() asks for ctime too, which a setxattr
        # invalidates.
        out = subprocess.run(["stat", "-c", "%a", p(rel)], capture_output=True, text=True)
        if out.returncode:
            raise OSError(errno.EACCES if "denied" in out.stderr else errno.EIO, out.stderr)
        return out.stdout.strip()

    def facl(rel):
        out = subprocess.run(["getfacl", "-c", "-n", p(rel)], capture_output=True, text=True)
        if out.returncode:
            raise OSError(errno.EACCES if "denied" in out.stderr else errno.EIO, out.stderr)
        return ",".join(out.stdout.split())

    def setfacl(*args):
        out = subprocess.run(["setfacl", *args[:-1], p(args[-1])], capture_output=True, text=True)
        if out.returncode:
            raise OSError(errno.EPERM if "not permitted" in out.stderr else errno.EIO, out.stderr)

    for f in ("f-u1-denied", "f-u1-granted", "f-group-rw", "f-masked", "f-other-only"):
        r.do(f"read {f}", lambda: read(f))
        r.do(f"append {f}", lambda: append(f))
        r.do(f"access R_OK {f}", lambda: os.access(p(f), os.R_OK))
        r.do(f"access W_OK {f}", lambda: os.access(p(f), os.W_OK))
    for d in ("d-u1-denied", "d-group-rwx", "d-u1-noexec"):
        r.do(f"listdir {d}", lambda: sorted(os.listdir(p(d))))
        r.do(f"stat {d}/x", lambda: mode(d + "/x"))
        r.do(f"read {d}/x", lambda: read(d + "/x"))
        r.do(f"create {d}/new-{me}", lambda: create(f"{d}/new-{me}"))
        r.do(f"unlink {d}/new-{me}", lambda: os.unlink(p(f"{d}/new-{me}")))
    for um in (0o022, 0o077):
        os.umask(um)
        for d in ("d-default", "d-default/sub"):
            f, sub = f"{d}/file-{me}-{um:03o}", f"{d}/dir-{me}-{um:03o}"
            r.do(f"umask {um:03o} create {f}", lambda: create(f, 0o666))
            r.do(f"mode {f}", lambda: mode(f))
            r.do(f"acl {f}", lambda: facl(f))
            r.do(f"umask {um:03o} mkdir {sub}", lambda: os.mkdir(p(sub), 0o777))
            r.do(f"mode {sub}", lambda: mode(sub))
            r.do(f"acl {sub}", lambda: facl(sub))
            r.do(f"umask {um:03o} mkfifo {sub}/fifo", lambda: os.mkfifo(p(sub + "/fifo"), 0o666))
            r.do(f"acl {sub}/fifo", lambda: facl(sub + "/fifo"))
    os.umask(0o022)
    # The mode right after setfacl on one's own files: the ACL's mask and
    # entries become the group bits at once (stat right after, no waiting).
    for who in ("atfs-u1", "atfs-u2", "atfs-u3"):
        f = f"own/{who}"
        for spec in (("-m", "u:atfs-u3:rwx"), ("-m", "m::r--"), ("-m", "g::---,o::rw-"),
                     ("-x", "u:atfs-u3"), ("-b",)):
            r.do(f"setfacl {' '.join(spec)} {f}", lambda: setfacl(*spec, f))
            r.do(f"mode {f}", lambda: mode_only(f))
            r.do(f"acl {f}", lambda: facl(f))
        r.do(f"chmod 0640 {f}", lambda: os.chmod(p(f), 0o640))
        r.do(f"setfacl -d -m u:atfs-u2:rwx own/dir-{who}", lambda: setfacl("-d", "-m", "u:atfs-u2:rwx", f"own/dir-{who}"))
        r.do(f"acl own/dir-{who}", lambda: facl(f"own/dir-{who}"))
    # set-group-ID is dropped when the owner setting the ACL is not in the
    # file's group, kept when it is.
    for f in ("own/sgid-rootgroup-" + me, "own/sgid-owngroup-" + me):
        r.do(f"mode {f}", lambda: mode(f))
        r.do(f"setfacl -m u:atfs-u3:r-x {f}", lambda: setfacl("-m", "u:atfs-u3:r-x", f))
        r.do(f"mode after {f}", lambda: mode_only(f))
        r.do(f"acl {f}", lambda: facl(f))
    # xattrs the VFS leaves to the filesystem (system.* other than the
    # ACLs, security.*) or to a capability (trusted.*), on another's file
    # and one's own; an access ACL removed by a non-owner and the owner.
    for f in ("own/atfs-u1", "own/" + me):
        for n in ("system.atfs_test", "security.atfs_test", "trusted.atfs_test"):
            r.do(f"setxattr {n} {f}", lambda: os.setxattr(p(f), n, b"1"))
            r.do(f"removexattr {n} {f}", lambda: os.removexattr(p(f), n))
        r.do(f"removexattr system.posix_acl_access {f}",
             lambda: os.removexattr(p(f), "system.posix_acl_access"))


def mk_ops(root):
    """Every creating call into each directory of creates.sh's tree; what
    was made is removed again (as root the test would not be able to)."""
    import pwd
    r = Runner(root)
    p = r.p
    me = pwd.getpwuid(os.getuid()).pw_name

    def tmpfile(d):
        os.close(os.open(p(d), os.O_TMPFILE | os.O_WRONLY, 0o600))

    def cleanup(d, name):
        try:
            os.rmdir(p(f"{d}/{name}")) if name.startswith("dir") else os.unlink(p(f"{d}/{name}"))
        except OSError:
            pass

    for d in ("revoked-mode", "revoked-acl", "named-group"):
        made = {
            "create": ("file", lambda d: os.close(os.open(p(f"{d}/file-{me}"),
                                                           os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))),
            "mkdir": ("dir", lambda d: os.mkdir(p(f"{d}/dir-{me}"))),
            "mknod": ("fifo", lambda d: os.mkfifo(p(f"{d}/fifo-{me}"))),
            "symlink": ("sl", lambda d: os.symlink("target", p(f"{d}/sl-{me}"))),
            "link": ("ln", lambda d: os.link(p(f"own/{me}"), p(f"{d}/ln-{me}"))),
        }
        for op, (kind, fn) in made.items():
            r.do(f"{op} {d}", lambda: fn(d))
            r.do(f"lstat {d}/{kind}", lambda: oct(os.lstat(p(f"{d}/{kind}-{me}")).st_mode))
            cleanup(d, f"{kind}-{me}")
        r.do(f"tmpfile {d}", lambda: tmpfile(d))
        r.do(f"listdir {d}", lambda: sorted(os.listdir(p(d))))


def setid_ops(root):
    """Each of the caller's victims ROOT/<user>-<op>-<mode> (owned by another
    user, modes with set-user-ID and set-group-ID, with and without group
    execute) gets one operation; the mode before and after is printed."""
    import grp
    import pwd
    r = Runner(root)
    p = r.p
    me = os.environ.get("SETID_ME") or pwd.getpwuid(os.getuid()).pw_name

    def mode(rel):
        return oct(stat.S_IMODE(os.stat(p(rel)).st_mode))

    def with_fd(rel, fn, flags=os.O_WRONLY):
        fd = os.open(p(rel), flags)
        try:
            fn(fd)
        finally:
            os.close(fd)

    def cfr(fd):
        src = os.open(p("data"), os.O_RDONLY)
        try:
            os.copy_file_range(src, fd, 4, 0, 0)
        finally:
            os.close(src)

    ops = {
        "write": lambda rel: with_fd(rel, lambda fd: os.pwrite(fd, b"data", 0)),
        "otrunc": lambda rel: os.close(os.open(p(rel), os.O_WRONLY | os.O_TRUNC)),
        "ftrunc": lambda rel: with_fd(rel, lambda fd: os.ftruncate(fd, 100)),
        "trunc": lambda rel: os.truncate(p(rel), 3),
        "falloc": lambda rel: with_fd(rel, lambda fd: os.posix_fallocate(fd, 0, 8192)),
        "cfr": lambda rel: with_fd(rel, cfr),
        "chown": lambda rel: os.chown(p(rel), os.getuid(), -1),
        "chgrp": lambda rel: os.chown(p(rel), -1, grp.getgrnam("atfs-g").gr_gid),
        "chgrpin": lambda rel: os.chown(p(rel), -1, grp.getgrnam("users").gr_gid),
        # The caller's own file, made set-ID while open (for passthrough):
        # the write through the already open file clears the bits.
        "late": lambda rel: with_fd(rel, lambda fd: (os.chmod(p(rel), int(rel.split("-")[-1], 8)),
                                                     os.pwrite(fd, b"data", 0))),
    }
    for rel in sorted(os.listdir(root)):
        if not rel.startswith(me + "-"):
            continue
        op = rel.split("-")[-2]
        r.do(f"mode before {rel}", lambda: mode(rel))
        r.do(f"{op} {rel}", lambda: ops[op](rel))
        r.do(f"mode after {rel}", lambda: mode(rel))


def writes(path, n):
    fd = os.open(path, os.O_WRONLY)
    for i in range(n):
        os.pwrite(fd, b"x", i)
    os.close(fd)


if __name__ == "__main__":
    cmd, root = sys.argv[1], sys.argv[2]
    if cmd == "tree":
        build_tree(root, *sys.argv[3:6])
    elif cmd == "perm":
        perm_ops(root)
    elif cmd == "own":
        own_ops(root)
    elif cmd == "kill":
        kill_ops(root)
    elif cmd == "mk":
        mk_ops(sys.argv[2])
    elif cmd == "setid":
        setid_ops(root)
    elif cmd == "writes":
        writes(root, int(sys.argv[3]))
    elif cmd == "acl":
        acl_ops(root)
    elif cmd == "mmap-times":
        mmap_times(root)
    else:
        sys.exit(f"fsops.py: unknown command {cmd}")
