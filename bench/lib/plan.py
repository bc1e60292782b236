"""Runs the measurements: metadata sequences, latency sweep and data workloads.

One metadata *sequence* (per variant, depth, threads and repetition, on a fresh source):
  mount            mkdirs, create, [drop] open-uncached, [drop] stat-uncached, readdir
  mount --nocache  [warm] open-cached (every open revalidates), stat-nocache
  mount            unlink (fresh mount, names uncached)
"[drop]" = echo 2 > /proc/sys/vm/drop_caches, then a stat of the file's directory so that
only the file's own name is uncached; all this happens outside the timed and counted window.
"""
import json
import os
import shutil
import subprocess
import sys
import time

from counters import per_op


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


class Runner:
    def __init__(self, cfg, tracer):
        self.cfg = cfg            # dict: driver, env, files, ... (see run.py)
        self.tracer = tracer
        self.records = []

    def driver(self, fs, workload, **kw):
        args = [self.cfg["driver"], "--root=" + fs.root, "--workload=" + workload]
        args += ["--%s=%s" % (k, v) for k, v in kw.items()]
        if fs.pin is not None:
            args = ["taskset", "-c", fs.pin] + args
        p = subprocess.run(args, capture_output=True, text=True)
        try:
            res = json.loads(p.stdout)
        except ValueError:
            raise RuntimeError("driver failed: %s\n%s%s" % (args, p.stdout, p.stderr))
        if res["errors"]:
            raise RuntimeError("%s on %s: %d errors, first: %s"
                               % (workload, fs.name, res["errors"], res["first_error"]))
        return res

    def measure(self, fs, label, workload, extra, **kw):
        """One timed, counted workload run; appends a record."""
        # The big run would need a huge ring buffer and minutes of parsing: server counts.
        tracer = None if extra.get("big") else self.tracer
        fs.counts_begin(tracer)
        res = self.driver(fs, workload, **kw)
        counts = fs.counts_end(tracer)
        rec = dict(res, driver_workload=workload)
        rec.update(extra, env=self.cfg["env"], variant=fs.name, workload=label,
                   pinned=fs.pin is not None)
        if counts:
            rec["requests_kernel"] = per_op(counts["kernel"], res["ops"] if label != "readdir" else res["units"])
            rec["requests_server"] = per_op(counts["server"], res["ops"] if label != "readdir" else res["units"])
            rec["counts_kernel"], rec["counts_server"] = counts["kernel"], counts["server"]
        self.records.append(rec)
        log("%-22s %-18s d%d t%d %10.0f %s/s  mean %8.1f us  p99 %8.1f us%s" % (
            fs.name, label, kw.get("depth", 0), kw.get("threads", 1), res["rate"], res["unit"],
            res["lat_mean_us"], res["lat_p99_us"], _req_note(rec)))
        return rec

    def warm_connection(self, fs):
        """One untimed create+open+unlink at the root: spends the connection's one-time
        requests (e.g. the OPEN_ATOMIC that meets ENOSYS under --no-atomic-open) outside
        the counted window."""
        p = os.path.join(fs.root, ".bench-warm")
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
        os.close(os.open(p, os.O_RDONLY))
        os.unlink(p)

    def warm_dir(self, fs, depth):
        d = os.path.join(fs.root, "d" if depth == 1 else "a/b/c")
        os.stat(d)

    def pin(self, fs, threads):
        """In the TCG guest, one-thread runs keep the driver and the server on one vCPU:
        a wake-up across vCPUs costs milliseconds there when the host's cores are busy
        (measured: 2-3x slower and far noisier than pinned). Two-thread runs are not pinned."""
        fs.pin = self.cfg.get("pin") if threads == 1 else None

    def fresh_source(self, name):
        src = os.path.join(self.cfg["work"], "src-" + name)
        shutil.rmtree(src, ignore_errors=True)
        os.makedirs(src)
        return src

    def metadata_sequence(self, make_fs, depth, threads, rep, files, extra=None):
        ex = dict(extra or {}, depth=depth, threads=threads, rep=rep, files=files)
        kw = dict(files=files, depth=depth, threads=threads)
        fs = make_fs()
        self.pin(fs, threads)
        fs.debug_pass = bool(ex.get("count_pass"))
        fs.mount()
        try:
            self.warm_connection(fs)
            self.driver(fs, "mkdirs", depth=depth)
            self.measure(fs, "create", "create", ex, **kw)
            drop_caches(); self.warm_dir(fs, depth)
            self.measure(fs, "open-uncached", "open", ex, **kw)
            drop_caches(); self.warm_dir(fs, depth)
            self.measure(fs, "stat-uncached", "stat", ex, **kw)
            drop_caches()
            self.measure(fs, "readdir", "readdir", ex, **kw)
        finally:
            fs.umount()
        if fs.kind == "fuse":
            fs.mount(nocache=True)
            try:
                self.warm_connection(fs)
                self.warm_dir(fs, depth)
                self.driver(fs, "open", **kw)  # the names are now cached dentries
                self.measure(fs, "open-cached-nocache", "open", ex, **kw)
                self.measure(fs, "stat-nocache", "stat", ex, **kw)
            finally:
                fs.umount()
        else:  # native has no entry timeout: the cached open is the reference
            self.measure(fs, "open-cached-nocache", "open", ex, **kw)
        fs.mount()
        try:
            self.warm_connection(fs)
            self.measure(fs, "unlink", "unlink", ex, **kw)
        finally:
            fs.umount()

    def create_open_only(self, make_fs, files, rep, extra):
        """The latency sweep's two workloads: create, then open-uncached."""
        ex = dict(extra, depth=1, threads=1, rep=rep, files=files)
        kw = dict(files=files, depth=1, threads=1)
        fs = make_fs()
        self.pin(fs, 1)
        fs.mount()
        try:
            self.warm_connection(fs)
            self.driver(fs, "mkdirs", depth=1)
            self.measure(fs, "create", "create", ex, **kw)
            drop_caches(); self.warm_dir(fs, 1)
            self.measure(fs, "open-uncached", "open", ex, **kw)
        finally:
            fs.umount()

    def nocache_sequence(self, make_fs, files, rep, extra):
        """The zero-timeout workloads alone (open revalidating a cached name, stat), on a
        tree created through a caching mount first: with an fd budget below the file
        count every LOOKUP names an inode whose fd may have been evicted."""
        ex = dict(extra, depth=1, threads=1, rep=rep, files=files)
        kw = dict(files=files, depth=1, threads=1)
        fs = make_fs()
        self.pin(fs, 1)
        fs.mount()
        try:
            self.driver(fs, "mkdirs", depth=1)
            self.driver(fs, "create", **kw)
        finally:
            fs.umount()
        fs.mount(nocache=True)
        try:
            self.warm_connection(fs)
            self.warm_dir(fs, 1)
            self.driver(fs, "open", **kw)  # the names are now cached dentries
            self.measure(fs, "open-cached-nocache", "open", ex, **kw)
            self.measure(fs, "stat-nocache", "stat", ex, **kw)
        finally:
            fs.umount()

    def data_sequence(self, make_fs, rep, size, ops):
        ex = dict(rep=rep, depth=0, threads=1, size=size)
        fs = make_fs()
        self.pin(fs, 1)
        fs.mount()
        try:
            self.warm_connection(fs)
            os.sync()  # earlier dirty data must not be written back inside this run
            self.measure(fs, "seqwrite", "seqwrite", ex, size=size)
            os.sync()
            # The source file stays in the page cache: reads measure the file system
            # path, not the disk. The FUSE-side cache is dropped by the driver (fadvise).
            drop = 0 if fs.kind == "native" else 1
            self.measure(fs, "seqread", "seqread", ex, size=size, drop=drop)
            self.measure(fs, "randread-4k", "randread", ex, size=size, ops=ops, drop=drop)
            os.unlink(os.path.join(fs.root, "data"))
        finally:
            fs.umount()


def _req_note(rec):
    r = rec.get("requests_kernel") or rec.get("requests_server")
    if not r:
        return ""
    ops = " ".join("%s=%.2f" % (k, v) for k, v in r["by_opcode"].items())
    return "  req/op %.2f (sync %.2f): %s" % (r["total"], r["sync"], ops)
