"""Counting FUSE requests per opcode, three honest ways.

KernelTracer: the kernel's own view, the fuse:fuse_request_send tracepoint in a private
tracefs instance filtered on the connection (= minor of the mount's st_dev). It sees every
request the kernel queues, including the asynchronous RELEASE, but not FORGET/BATCH_FORGET
(forgets bypass the request queue and have no tracepoint). Linux 6.18 (host) has it; our
6.12 guest kernel is built without ftrace, so in the guest we use the server's counters.

atomfs stats (--stats=PATH, rewritten on SIGUSR1): the server's view, includes forgets.
libfuse -d debug output: the peer's view (used for passthrough_ll where no tracepoint exists).
"""
import os
import re
import time

OPCODES = {
    1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 5: "READLINK", 6: "SYMLINK",
    8: "MKNOD", 9: "MKDIR", 10: "UNLINK", 11: "RMDIR", 12: "RENAME", 13: "LINK", 14: "OPEN",
    15: "READ", 16: "WRITE", 17: "STATFS", 18: "RELEASE", 20: "FSYNC", 21: "SETXATTR",
    22: "GETXATTR", 23: "LISTXATTR", 24: "REMOVEXATTR", 25: "FLUSH", 26: "INIT",
    27: "OPENDIR", 28: "READDIR", 29: "RELEASEDIR", 30: "FSYNCDIR", 34: "ACCESS",
    35: "CREATE", 36: "INTERRUPT", 38: "DESTROY", 42: "BATCH_FORGET", 43: "FALLOCATE",
    44: "READDIRPLUS", 45: "RENAME2", 46: "LSEEK", 52: "STATX", 60: "OPEN_ATOMIC",
}
# The caller does not wait for these.
ASYNC = {"RELEASE", "RELEASEDIR", "FORGET", "BATCH_FORGET", "INTERRUPT"}
# Requests that resolve or open the name: what atomic open replaces.
OPEN_CLASS = {"LOOKUP", "GETATTR", "OPEN", "CREATE", "OPEN_ATOMIC"}
# Data requests, kept apart so "metadata" figures compare like with like.
DATA = {"READ", "WRITE"}

TRACEFS = "/sys/kernel/tracing"


def opname(num):
    return OPCODES.get(num, str(num))


class KernelTracer:
    """fuse_request_send counts for one connection, in a private tracefs instance."""

    def __init__(self, name, buffer_kb):
        self.dir = os.path.join(TRACEFS, "instances", name)
        self.event = os.path.join(self.dir, "events/fuse/fuse_request_send")
        self.buffer_kb = buffer_kb

    @staticmethod
    def available():
        if not os.path.isdir(os.path.join(TRACEFS, "instances")):
            os.system("mount -t tracefs nodev %s 2>/dev/null" % TRACEFS)
        return os.path.isdir(os.path.join(TRACEFS, "events/fuse/fuse_request_send"))

    def _w(self, rel, val):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(val)

    def setup(self):
        os.makedirs(self.dir, exist_ok=True)
        self._w("buffer_size_kb", str(self.buffer_kb))
        self._w("tracing_on", "0")

    def start(self, conn):
        self._w("tracing_on", "0")
        self._w("events/fuse/fuse_request_send/enable", "0")
        self._w("events/fuse/fuse_request_send/filter", "connection == %d" % conn)
        self._w("trace", "")
        self._w("events/fuse/fuse_request_send/enable", "1")
        self._w("tracing_on", "1")

    def stop(self, settle=0.2):
        """Returns {opcode name: count}, or None when the ring buffer overflowed."""
        time.sleep(settle)  # RELEASE is queued in the background after close() returns
        self._w("tracing_on", "0")
        lost = 0
        for cpu in os.listdir(os.path.join(self.dir, "per_cpu")):
            with open(os.path.join(self.dir, "per_cpu", cpu, "stats")) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k.strip() in ("overrun", "dropped events"):
                        lost += int(v)
        counts = {}
        pat = re.compile(r"fuse_request_send: connection \d+ req \d+ opcode (\d+)")
        with open(os.path.join(self.dir, "trace")) as f:
            for line in f:
                m = pat.search(line)
                if m:
                    n = opname(int(m.group(1)))
                    counts[n] = counts.get(n, 0) + 1
        self._w("trace", "")
        return None if lost else counts

    def teardown(self):
        try:
            self._w("tracing_on", "0")
            self._w("events/fuse/fuse_request_send/enable", "0")
            os.rmdir(self.dir)
        except OSError:
            pass


def diff(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def parse_libfuse_debug(text):
    """Counts 'opcode: NAME' lines of libfuse's -d output."""
    counts = {}
    for m in re.finditer(r"opcode: ([A-Z_]+)", text):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def per_op(counts, ops):
    """Per-operation figures from a {opcode: count} dict."""
    if counts is None or not ops:
        return None
    tot = sum(counts.values())
    asyn = sum(v for k, v in counts.items() if k in ASYNC)
    return {
        "by_opcode": {k: v / ops for k, v in sorted(counts.items())},
        "total": tot / ops,
        "sync": (tot - asyn) / ops,
        "async": asyn / ops,
        "open_class": sum(v for k, v in counts.items() if k in OPEN_CLASS) / ops,
        "sync_meta": sum(v for k, v in counts.items()
                         if k not in ASYNC and k not in DATA) / ops,
    }
