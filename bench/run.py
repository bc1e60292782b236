#!/usr/bin/env python3
"""Benchmark suite, one environment per invocation (bench/run.sh drives host and VM).

  run.py --env host|vm [--quick] [--files N] [--reps R] [--big N] [--out FILE.json]

Writes raw records + summary + target checks as JSON; bench/report.py renders it.
In quick mode it asserts the request counts per open (exit 1 when wrong), never timings.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from counters import KernelTracer  # noqa: E402
from fsvariants import AtomFS, Native, PassthroughLL  # noqa: E402
from plan import Runner, log  # noqa: E402
import summary  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER_SRC = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"


def build_peer(build):
    """Compiles libfuse's passthrough_ll from the installed examples into the build dir."""
    out = os.path.join(build, "bench-peer", "passthrough_ll")
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", out, PEER_SRC] + flags, check=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", choices=["host", "vm"], required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--files", type=int)
    ap.add_argument("--reps", type=int)
    ap.add_argument("--big", type=int, help="atomfs alone at this many files (0: skip)")
    ap.add_argument("--data-size", help="bytes for the data workloads, e.g. 1G")
    ap.add_argument("--work", help="scratch directory for sources and mount points")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="meta,fdbudget,sweep,data,big", help="parts to run")
    ap.add_argument("--variants", help="comma-separated variants of the metadata and data "
                    "runs (default: all)")
    ap.add_argument("--depths", default="1,3", help="metadata tree depths (1, 3)")
    ap.add_argument("--threads", default="1,2", help="metadata thread counts")
    ap.add_argument("--no-pin", action="store_true",
                    help="VM: do not keep one-thread runs on vCPU 0 (see Runner.pin)")
    a = ap.parse_args()

    build = os.environ.get("BUILD_DIR", os.path.join(TOP, "build"))
    quick = a.quick
    # The VM runs under TCG, 30-100x slower than the host per FUSE round trip (about 2 ms
    # per request pinned): fewer files there.
    files = a.files or (200 if quick else (10000 if a.env == "host" else 1000))
    reps = a.reps or (1 if quick else 3)
    big = a.big if a.big is not None else (0 if quick or a.env == "vm" else 1000000)
    # The guest has 2 GiB of RAM: its data file must stay in its page cache.
    # Reads without passthrough go at ~20 MB/s in the TCG guest: 256 MiB there.
    size = a.data_size or ("16M" if quick else ("1G" if a.env == "host" else "256M"))
    # Outside the repository: tree walks of other tools (grep -r, editors) must not wander
    # into the mounts while they are measured.
    work = a.work or os.path.join("/var/tmp", "atomfs-bench", a.env)
    os.makedirs(work, exist_ok=True)

    driver = os.path.join(build, "bench", "atomfs-bench")
    atomfs = os.environ.get("ATOMFS_BIN", os.path.join(build, "fs", "atomfs", "atomfs"))
    peer = build_peer(build)
    tracer = None
    if KernelTracer.available():
        # ~36 bytes per event, up to ~10 events per op per phase, spread over the CPUs
        tracer = KernelTracer("atomfs-bench-%d" % os.getpid(),
                              buffer_kb=min(262144, max(16384, files * 10 * 48 // 1024)))
        tracer.setup()
    log("env %s, %d files, %d reps, counting with %s" % (
        a.env, files, reps, "the fuse_request_send tracepoint" if tracer else "server counters"))

    cfg = dict(env=a.env, driver=driver, work=work, files=files,
               pin="0" if a.env == "vm" and not a.no_pin else None)
    run = Runner(cfg, tracer)

    def variants(extra_atomfs=(), data=False):
        """name -> factory; each factory mounts on a fresh source dir."""
        v = {}

        def mk(cls, name, *args, opts=()):
            def f():
                src = run.fresh_source(name)
                mnt = os.path.join(work, "mnt-" + name)
                if cls is Native:
                    return Native(name, src, mnt)
                return cls(name, src, mnt, *args, opts=opts)
            return f
        v["native"] = mk(Native, "native")
        v["passthrough_ll"] = mk(PassthroughLL, "passthrough_ll", peer)
        if os.access(atomfs, os.X_OK):
            v["atomfs"] = mk(AtomFS, "atomfs", atomfs, opts=extra_atomfs)
            if a.env == "vm":
                v["atomfs-old"] = mk(AtomFS, "atomfs-old", atomfs,
                                     opts=list(extra_atomfs) + ["--no-atomic-open"])
            if data:
                v["atomfs-nopt"] = mk(AtomFS, "atomfs-nopt", atomfs,
                                      opts=list(extra_atomfs) + ["--no-passthrough"])
        else:
            log("atomfs not built at %s: measuring without it" % atomfs)
        return v

    errors = []

    def attempt(fn, *args):
        """Full runs survive a failing sequence (reported in the JSON); quick runs fail."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - any failure of a server or workload
            if quick:
                raise
            log("ERROR %s%s: %s" % (fn.__name__, args[1:], e))
            errors.append("%s%s: %s" % (fn.__name__, args[1:], e))

    t0 = time.time()
    parts = a.only.split(",")
    try:
        if "meta" in parts:
            for rep in range(reps):
                for depth in [int(x) for x in a.depths.split(",")]:
                    for threads in [int(x) for x in a.threads.split(",")] if not quick else (1,):
                        for name, make in variants().items():
                            if a.variants and name not in a.variants.split(","):
                                continue
                            attempt(run.metadata_sequence, make, depth, threads, rep, files)
        if "meta" in parts and not tracer:
            # No tracepoint in this kernel: count passthrough_ll's requests from its -d log
            # in a small separate pass per depth (debug logging slows it; never timed).
            for depth in (1, 3):
                attempt(run.metadata_sequence, variants()["passthrough_ll"], depth, 1, 0,
                        min(files, 100), {"count_pass": True})
        if "fdbudget" in parts and not quick and os.access(atomfs, os.X_OK):
            # A tree 10x larger than the server's fd cache against one that fits, side by
            # side: evicted fds must not make the zero-timeout workloads thrash.
            small, fits = max(files // 10, 1), files * 2
            for rep in range(reps):
                for name, n in (("atomfs-fd-fits", fits), ("atomfs-fd-tenth", small)):
                    make = variants(["--fd-cache=%d" % n])["atomfs"]
                    attempt(run.nocache_sequence, _renamed(make, name), files, rep,
                            {"fd_cache": n})
        if "sweep" in parts and not quick and os.access(atomfs, os.X_OK):
            # Per-op rates do not depend on N; fewer files keep the 1 ms runs short.
            for lat, n in (("0", files), ("100us", min(files, 4000)), ("1ms", min(files, 1000))):
                for rep in range(reps):
                    for name, make in variants(["--meta-latency=" + lat]).items():
                        if name.startswith("atomfs"):
                            attempt(run.create_open_only, make, n, rep, {"meta_latency": lat})
        if "data" in parts:
            n_rand = 2000 if quick else (20000 if a.env == "host" else 5000)
            for rep in range(reps):
                for name, make in variants(data=True).items():
                    if name != "atomfs-old" and (not a.variants or name in a.variants.split(",")):
                        attempt(run.data_sequence, make, rep, size, n_rand)
        if "big" in parts and big and os.access(atomfs, os.X_OK):
            make = variants()["atomfs"]
            attempt(run.metadata_sequence, make, 1, 2, 0, big, {"big": True})
    finally:
        if tracer:
            tracer.teardown()

    doc = {
        "env": a.env, "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "host": platform.node(), "cpu": _cpu_model()},
        "config": {"files": files, "reps": reps, "big": big, "data_size": size,
                   "pinned_one_thread_runs": cfg["pin"],
                   "quick": quick, "counting": "tracepoint" if tracer else "server",
                   "seconds": round(time.time() - t0, 1)},
        "records": run.records,
        "errors": errors,
    }
    doc["summary"] = summary.summarize(run.records)
    doc["targets"] = summary.targets(doc)
    doc["checks"] = summary.quick_checks(doc)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    log("wrote %s (%.0f s)" % (a.out, time.time() - t0))
    bad = [c for c in doc["checks"] if not c["ok"]]
    for c in doc["checks"]:
        log("%s %s" % ("ok  " if c["ok"] else "FAIL", c["what"]))
    # Only quick mode fails on counts. Full runs on a shared machine may see a stray
    # directory LOOKUP after someone else's drop_caches; they report it instead.
    return 1 if bad and quick else 0


def _renamed(make, name):
    """The same server factory, recorded under another variant name."""
    def f():
        fs = make()
        fs.name = name
        return fs
    return f


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
