#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Confinement operations through a mount; prints "what -> outcome" lines,
and the shell test compares them with the expected outcomes below.

Layout (made by confinement.sh):
  BASE/canary/secret          outside SOURCE, must never change
  BASE/src  (SOURCE)          esc-abs -> BASE/canary/secret, esc-rel -> ../canary/secret,
                              esc-dir -> ../canary, esc-new -> ../canary/created,
                              file, sub/
  BASE/m/mnt (MOUNT)          one level deeper, so a relative link followed by the
                              client resolves to BASE/m/canary (absent): only a server
                              following the link would reach the canary.
"""
import errno
import os
import sys

mnt, canary = sys.argv[1], sys.argv[2]
failures = 0


def check(what, fn, expect):
    global failures
    try:
        r = fn()
        got = "OK"
    except OSError as e:
        got = errno.errorcode.get(e.errno, str(e.errno))
    good = got in expect.split("|")
    if not good:
        failures += 1
    print(f"confine: {'ok' if good else 'FAIL'}: {what} -> {got} (expected {expect})", flush=True)


def p(rel):
    return os.path.join(mnt, rel)


def open_close(rel, flags, mode=0o644):
    os.close(os.open(p(rel), flags, mode))


R, W, C = os.O_RDONLY, os.O_WRONLY, os.O_CREAT
NF = os.O_NOFOLLOW
for link in ["esc-abs", "esc-rel", "esc-dir", "esc-new"]:
    check(f"open {link} O_NOFOLLOW", lambda: open_close(link, R | NF), "ELOOP")
    check(f"open {link} O_NOFOLLOW|O_WRONLY", lambda: open_close(link, W | NF), "ELOOP")
    check(f"open {link} O_CREAT|O_NOFOLLOW", lambda: open_close(link, W | C | NF), "ELOOP")
    check(f"open {link} O_CREAT|O_EXCL", lambda: open_close(link, W | C | os.O_EXCL), "EEXIST")
    check(f"readlink {link}", lambda: os.readlink(p(link)), "OK")
# Relative links are followed by the client from the mount: BASE/m/canary is absent.
check("open esc-rel (client follows to BASE/m/canary)", lambda: open_close("esc-rel", R), "ENOENT")
check("open esc-new O_CREAT (dangling, outside)", lambda: open_close("esc-new", W | C), "ENOENT")
check("stat esc-dir/secret", lambda: os.stat(p("esc-dir/secret")), "ENOENT")
check("mkdir esc-dir/x", lambda: os.mkdir(p("esc-dir/x")), "ENOENT")
# Operations on the link itself must stay on the link (never its target).
check("lchown esc-abs", lambda: os.chown(p("esc-abs"), 1, 1, follow_symlinks=False), "OK")
check("lutimes esc-abs", lambda: os.utime(p("esc-abs"), (5, 5), follow_symlinks=False), "OK")
check("lsetxattr user.x on esc-abs", lambda: os.setxattr(p("esc-abs"), "user.x", b"1", follow_symlinks=False), "OK|EPERM|ENOTSUP")
check("lsetxattr trusted.x on esc-abs", lambda: os.setxattr(p("esc-abs"), "trusted.x", b"1", follow_symlinks=False), "OK|EPERM|ENOTSUP")
check("lremovexattr user.keep on esc-abs", lambda: os.removexattr(p("esc-abs"), "user.keep", follow_symlinks=False), "ENODATA|EPERM|ENOTSUP")
check("rename esc-abs -> moved", lambda: os.rename(p("esc-abs"), p("moved")), "OK")
check("link moved -> moved2 (the link itself)", lambda: os.link(p("moved"), p("moved2"), follow_symlinks=False), "OK")
check("unlink moved2", lambda: os.unlink(p("moved2")), "OK")
# ".." at the mount root is the mount's parent, not SOURCE's.
base_m = os.path.dirname(mnt)
check("'..' of the root is the mountpoint's parent",
      lambda: None if os.stat(p("..")).st_ino == os.stat(base_m).st_ino else (_ for _ in ()).throw(OSError(errno.EXDEV, "wrong ..")), "OK")
check("'sub/../..' is the mountpoint's parent",
      lambda: None if os.stat(p("sub/../..")).st_ino == os.stat(base_m).st_ino else (_ for _ in ()).throw(OSError(errno.EXDEV, "wrong ..")), "OK")
check("open ../canary/secret from the root", lambda: open_close("../canary/secret", R), "ENOENT")
# Crossing the boundary: hard links and renames between the mount and outside.
check("link canary/secret -> mnt/stolen", lambda: os.link(os.path.join(canary, "secret"), p("stolen")), "EXDEV")
check("link mnt/file -> canary/planted", lambda: os.link(p("file"), os.path.join(canary, "planted")), "EXDEV")
check("rename mnt/file -> canary/planted", lambda: os.rename(p("file"), os.path.join(canary, "planted")), "EXDEV")
check("rename canary/secret -> mnt/stolen", lambda: os.rename(os.path.join(canary, "secret"), p("stolen")), "EXDEV")
check("rename mnt/sub -> canary/sub", lambda: os.rename(p("sub"), os.path.join(canary, "sub")), "EXDEV")
# Names the kernel never sends but a path can spell.
check("mkdir sub/..", lambda: os.mkdir(p("sub/..")), "EEXIST")
check("rmdir sub/..", lambda: os.rmdir(p("sub/..")), "ENOTEMPTY|EBUSY|EINVAL")
check("stat a name of 255 bytes", lambda: os.stat(p("n" * 255)), "ENOENT")
check("create a name of 256 bytes", lambda: open_close("n" * 256, W | C), "ENAMETOOLONG")
sys.exit(1 if failures else 0)
