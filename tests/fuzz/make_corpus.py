#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the dispatcher fuzzer: for every opcode the
library serves (and OPEN_ATOMIC = 60), one well-formed request after an INIT,
plus a few stateful sequences (create, write, read, release). An input is a
concatenation of requests, each a fuse_in_header (len counts the whole
request) and its body, in the kernel's 7.38+ layout (<linux/fuse.h>).

  make_corpus.py OUTDIR      (deterministic: same bytes every run)
"""
import os
import struct
import sys

OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9,
          UNLINK=10, RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16, STATFS=17,
          RELEASE=18, FSYNC=20, SETXATTR=21, GETXATTR=22, LISTXATTR=23, REMOVEXATTR=24,
          FLUSH=25, INIT=26, OPENDIR=27, READDIR=28, RELEASEDIR=29, FSYNCDIR=30, GETLK=31,
          SETLK=32, SETLKW=33, ACCESS=34, CREATE=35, INTERRUPT=36, BMAP=37, DESTROY=38,
          IOCTL=39, POLL=40, BATCH_FORGET=42, FALLOCATE=43, READDIRPLUS=44, RENAME2=45,
          LSEEK=46, COPY_FILE_RANGE=47, SYNCFS=50, TMPFILE=51, STATX=52, OPEN_ATOMIC=60)
ROOT = 1
O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC = 0, 1, 2, 0o100, 0o200, 0o1000
O_DIRECTORY, O_NOFOLLOW = 0o200000, 0o400000


class Seq:
    def __init__(self):
        self.data = b""
        self.unique = 0

    def req(self, op, body=b"", nodeid=ROOT, uid=0, gid=0):
        self.unique += 2
        hdr = struct.pack("<IIQQIIIHH", 40 + len(body), OP[op], self.unique, nodeid, uid, gid,
                          1000, 0, 0)
        self.data += hdr + body
        return self


def name(s):
    return s.encode() + b"\0"


def init_body():
    # major 7, minor 41, max_readahead 128k, flags: ASYNC_READ|POSIX_LOCKS|...|INIT_EXT,
    # flags2 0, 11 unused words.
    return struct.pack("<IIIII", 7, 41, 131072, 0x7ffffffb | (1 << 30), 0) + b"\0" * 44


def create_in(flags, mode=0o100644, umask=0o022, open_flags=0):
    return struct.pack("<IIII", flags, mode, umask, open_flags)


def read_in(fh=16, off=0, size=4096):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def release_in(fh=16, flags=O_RDWR):
    return struct.pack("<QIIQ", fh, flags, 0, 0)


def setattr_in(valid, mode=0o644, size=0, fh=0):
    return struct.pack("<IIQQQQQQIIIIIIII", valid, 0, fh, size, 0, 0, 0, 0, 0, 0, 0, mode, 0, 0,
                       0, 0)


def bodies():
    """(label, opcode, body, nodeid) of one request each."""
    lk = struct.pack("<QQQQIIII", 16, 1, 0, 100, 1, 1234, 0, 0)  # fh owner start end type pid flags pad
    return [
        ("lookup", "LOOKUP", name("f"), ROOT),
        ("lookup-dotdot", "LOOKUP", name(".."), ROOT),
        ("forget", "FORGET", struct.pack("<Q", 1), 2),
        ("getattr", "GETATTR", struct.pack("<IIQ", 0, 0, 0), ROOT),
        ("setattr-mode", "SETATTR", setattr_in(1), ROOT),
        ("setattr-size", "SETATTR", setattr_in(8, size=10), 2),
        ("readlink", "READLINK", b"", 2),
        ("symlink", "SYMLINK", name("l") + name("/etc/passwd"), ROOT),
        ("mknod-fifo", "MKNOD", struct.pack("<IIII", 0o10644, 0, 0o022, 0) + name("p"), ROOT),
        ("mkdir", "MKDIR", struct.pack("<II", 0o755, 0o022) + name("d"), ROOT),
        ("unlink", "UNLINK", name("f"), ROOT),
        ("rmdir", "RMDIR", name("d"), ROOT),
        ("rename", "RENAME", struct.pack("<Q", ROOT) + name("f") + name("g"), ROOT),
        ("link", "LINK", struct.pack("<Q", 2) + name("h"), ROOT),
        ("open", "OPEN", struct.pack("<II", O_RDWR, 0), 2),
        ("read", "READ", read_in(), 2),
        ("write", "WRITE", struct.pack("<QQIIQII", 16, 0, 5, 0, 0, 0, 0) + b"hello", 2),
        ("statfs", "STATFS", b"", ROOT),
        ("release", "RELEASE", release_in(), 2),
        ("fsync", "FSYNC", struct.pack("<QII", 16, 0, 0), 2),
        ("setxattr", "SETXATTR", struct.pack("<IIII", 1, 0, 0, 0) + name("user.a") + b"v", ROOT),
        ("getxattr", "GETXATTR", struct.pack("<II", 64, 0) + name("user.a"), ROOT),
        ("listxattr", "LISTXATTR", struct.pack("<II", 64, 0), ROOT),
        ("removexattr", "REMOVEXATTR", name("user.a"), ROOT),
        ("flush", "FLUSH", struct.pack("<QIIQ", 16, 0, 0, 0), 2),
        ("opendir", "OPENDIR", struct.pack("<II", O_RDONLY | O_DIRECTORY, 0), ROOT),
        ("readdir", "READDIR", read_in(fh=16), ROOT),
        ("releasedir", "RELEASEDIR", release_in(flags=0), ROOT),
        ("fsyncdir", "FSYNCDIR", struct.pack("<QII", 16, 0, 0), ROOT),
        ("getlk", "GETLK", lk, 2),
        ("setlk", "SETLK", lk, 2),
        ("setlkw", "SETLKW", lk, 2),
        ("access", "ACCESS", struct.pack("<II", 4, 0), ROOT),
        ("create", "CREATE", create_in(O_CREAT | O_RDWR) + name("c"), ROOT),
        ("interrupt", "INTERRUPT", struct.pack("<Q", 4), 0),
        ("bmap", "BMAP", struct.pack("<QII", 0, 4096, 0), 2),
        ("ioctl", "IOCTL", struct.pack("<QIIQII", 16, 0, 0x5401, 0, 0, 0), 2),
        ("poll", "POLL", struct.pack("<QQII", 16, 0, 0, 0), 2),
        ("batch-forget", "BATCH_FORGET", struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 2, 1, 3, 5), 0),
        ("fallocate-punch", "FALLOCATE", struct.pack("<QQQII", 16, 0, 4096, 3, 0), 2),
        ("readdirplus", "READDIRPLUS", read_in(fh=16), ROOT),
        ("rename2-exchange", "RENAME2", struct.pack("<QII", ROOT, 2, 0) + name("f") + name("g"), ROOT),
        ("lseek-data", "LSEEK", struct.pack("<QQII", 16, 0, 3, 0), 2),
        ("copy-file-range", "COPY_FILE_RANGE", struct.pack("<QQQQQQQ", 16, 0, 2, 16, 100, 10, 0), 2),
        ("syncfs", "SYNCFS", struct.pack("<Q", 0), ROOT),
        ("tmpfile", "TMPFILE", create_in(O_RDWR) + name("tmp"), ROOT),
        ("statx", "STATX", struct.pack("<IIQII", 0, 0, 0, 0, 0x7ff), ROOT),
        ("open-atomic", "OPEN_ATOMIC", create_in(O_RDWR) + name("f"), ROOT),
        ("open-atomic-create", "OPEN_ATOMIC", create_in(O_CREAT | O_RDWR) + name("n"), ROOT),
        ("open-atomic-excl-trunc", "OPEN_ATOMIC", create_in(O_CREAT | O_EXCL | O_TRUNC | O_WRONLY) + name("n"), ROOT),
        ("open-atomic-dir", "OPEN_ATOMIC", create_in(O_RDONLY | O_DIRECTORY) + name("d"), ROOT),
        ("open-atomic-nofollow", "OPEN_ATOMIC", create_in(O_RDONLY | O_NOFOLLOW) + name("l"), ROOT),
        ("open-atomic-dotdot", "OPEN_ATOMIC", create_in(O_CREAT | O_RDWR) + name(".."), ROOT),
        ("open-atomic-slash", "OPEN_ATOMIC", create_in(O_CREAT | O_RDWR) + name("a/b"), ROOT),
        ("destroy", "DESTROY", b"", ROOT),
    ]


def main(out):
    os.makedirs(out, exist_ok=True)
    files = {"init-only": Seq().req("INIT", init_body()).data}
    for label, op, body, nodeid in bodies():
        files[f"op-{label}"] = Seq().req("INIT", init_body()).req(op, body, nodeid).data
    # Stateful sequences: names and handles the filesystem will really have.
    s = Seq().req("INIT", init_body())
    s.req("OPEN_ATOMIC", create_in(O_CREAT | O_RDWR) + name("f"))
    s.req("WRITE", struct.pack("<QQIIQII", 16, 0, 11, 0, 0, 0, 0) + b"hello world", 2)
    s.req("READ", read_in(), 2).req("FLUSH", struct.pack("<QIIQ", 16, 0, 0, 0), 2)
    s.req("RELEASE", release_in(), 2).req("FORGET", struct.pack("<Q", 1), 2)
    files["seq-create-write-read"] = s.data
    s = Seq().req("INIT", init_body())
    s.req("MKDIR", struct.pack("<II", 0o755, 0) + name("d"))
    s.req("OPEN_ATOMIC", create_in(O_RDONLY | O_DIRECTORY) + name("d"))
    s.req("READDIRPLUS", read_in(fh=16), 2).req("RELEASEDIR", release_in(flags=0), 2)
    s.req("RMDIR", name("d"))
    files["seq-dir"] = s.data
    s = Seq().req("INIT", init_body())
    s.req("SYMLINK", name("l") + name("../../outside")).req("LOOKUP", name("l"))
    s.req("OPEN_ATOMIC", create_in(O_CREAT | O_RDWR) + name("l"))
    s.req("READLINK", b"", 2).req("RENAME2", struct.pack("<QII", ROOT, 1, 0) + name("l") + name("m"))
    files["seq-symlink"] = s.data
    for k, v in sorted(files.items()):
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)
    print(f"make_corpus: {len(files)} seeds in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus"))
