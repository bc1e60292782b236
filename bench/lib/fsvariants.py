"""The file systems under test: native source dir, libfuse's passthrough_ll, atomfs.

Each variant mounts a source directory on a mount point (native: the source itself) and
knows how to count requests: the kernel tracepoint when the kernel has it, otherwise the
server's own counters (atomfs --stats) or debug log (passthrough_ll -d, count passes only).
"""
import json
import os
import resource
import signal
import subprocess
import time

from counters import KernelTracer, diff, parse_libfuse_debug


# Entry/attribute timeout of the caching mounts (both servers default to 1 s). Long, like
# passthrough_hp's default, so that the directory's entry does not expire in the middle of a
# phase: "uncached" then means exactly the file's own name. Revalidation is measured
# separately, on the zero-timeout mounts.
LONG_TIMEOUT = 86400


def _fuse_mounted(path):
    with open("/proc/self/mounts") as f:
        return any(l.split()[1] == path and l.split()[2].startswith("fuse") for l in f)


class Native:
    kind = "native"

    def __init__(self, name, src, mnt, opts=()):
        self.name, self.src, self.root = name, src, src
        self.conn = None
        self.pin = None

    def mount(self, nocache=False):
        self.nocache = nocache

    def umount(self):
        pass

    def counts_begin(self, tracer):
        pass

    def counts_end(self, tracer):
        return None


class FuseServer:
    """A FUSE server started in the foreground; subclasses give the command line."""

    kind = "fuse"

    def __init__(self, name, src, mnt, opts=()):
        self.name, self.src, self.mnt, self.opts = name, src, mnt, list(opts)
        self.root = mnt
        self.proc = None
        self.conn = None
        self.log = mnt + ".log"
        self.debug_log = None
        self.pin = None  # CPU list for taskset (the VM's one-thread runs), or None

    def command(self, nocache, debug):
        raise NotImplementedError

    debug_pass = False  # count from the server's debug log (slow: never timed)

    def mount(self, nocache=False):
        subprocess.run(["umount", "-l", self.mnt], stderr=subprocess.DEVNULL, check=False)
        os.makedirs(self.mnt, exist_ok=True)
        debug_log = self.mnt + ".debug.log" if self.debug_pass else None
        self.debug_log = debug_log
        cmd = self.command(nocache, debug_log is not None)
        if self.pin is not None:
            cmd = ["taskset", "-c", self.pin] + cmd
        out = open(debug_log or self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                     preexec_fn=_nofile_to_hard_limit)
        for _ in range(200):
            if _fuse_mounted(self.mnt):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start: %s" % (cmd, open(out.name).read()[-2000:]))
            time.sleep(0.025)
        else:
            raise RuntimeError("%s did not mount within 5s" % cmd)
        st = os.stat(self.mnt)  # waits for INIT
        self.conn = os.minor(st.st_dev)

    def umount(self):
        if not self.proc:
            return
        if subprocess.run(["umount", self.mnt], check=False).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt], check=False)  # busy: detach anyway
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    # Request counting: the kernel tracepoint if there is one, else the server's view.
    def counts_begin(self, tracer):
        if tracer:
            tracer.start(self.conn)
        self._base = self.server_counts()
        self._dbg_pos = os.path.getsize(self.debug_log) if self.debug_log else 0

    def counts_end(self, tracer):
        """Returns {"kernel": {...} or None, "server": {...} or None}."""
        kern = tracer.stop() if tracer else None
        if not tracer:
            time.sleep(0.2)  # let the background RELEASEs reach the server
        now = self.server_counts()
        srv = diff(now, self._base) if now is not None and self._base is not None else None
        if self.debug_log:
            time.sleep(0.2)
            with open(self.debug_log) as f:
                f.seek(self._dbg_pos)
                srv = parse_libfuse_debug(f.read())
        return {"kernel": kern, "server": srv}

    def server_counts(self):
        return None


def _nofile_to_hard_limit():
    """Servers get the hard fd limit as their soft one: passthrough_ll keeps an O_PATH fd
    per known inode and, at the guest's default 1,024, fails FLUSH (EBADF) and OPEN
    (EMFILE) near 1,000 files; atomfs raises its own limit the same way."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class PassthroughLL(FuseServer):
    def __init__(self, name, src, mnt, binary, opts=()):
        super().__init__(name, src, mnt, opts)
        self.binary = binary

    def command(self, nocache, debug):
        o = "source=" + self.src + (",cache=never" if nocache else ",timeout=%d" % LONG_TIMEOUT)
        return [self.binary, "-f"] + (["-d"] if debug else []) + ["-o", o] + self.opts + [self.mnt]


class AtomFS(FuseServer):
    def __init__(self, name, src, mnt, binary, opts=()):
        super().__init__(name, src, mnt, opts)
        self.binary = binary
        self.stats = mnt + ".stats.json"

    def command(self, nocache, debug):
        return ([self.binary, "-f", "--stats=" + self.stats]
                + (["--nocache"] if nocache else ["--timeout=%d" % LONG_TIMEOUT])
                + self.opts + [self.src, self.mnt])

    def server_counts(self):
        """The server's request counters, rewritten on SIGUSR1."""
        if not self.proc:
            return None
        try:
            os.unlink(self.stats)
        except FileNotFoundError:
            pass
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(500):
            try:
                with open(self.stats) as f:
                    return dict(json.load(f)["requests"])
            except (FileNotFoundError, ValueError):
                time.sleep(0.01)
        raise RuntimeError("atomfs did not rewrite %s on SIGUSR1" % self.stats)
