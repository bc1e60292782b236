"""Medians and spreads over repetitions, ratios within one run, targets and count checks."""
import statistics

from counters import ASYNC, DATA


def key(r):
    return "|".join([r["variant"], r["workload"], "d%d" % r.get("depth", 0),
                     "t%d" % r.get("threads", 1), r.get("meta_latency", "-"),
                     "big" if r.get("big") else "n"])


def summarize(records):
    groups, counted = {}, {}
    for r in records:
        # count passes (peer with its debug log on, where no tracepoint exists) give
        # request counts only: their timings are not the server's
        if r.get("count_pass"):
            counted.setdefault(key(r), r)
        else:
            groups.setdefault(key(r), []).append(r)
    out = {}
    for k, rs in groups.items():
        rates = [r["rate"] for r in rs]
        first = rs[0]
        if not (first.get("requests_kernel") or first.get("requests_server")) and k in counted:
            first = dict(first, requests_server=counted[k].get("requests_server"),
                         counts_server=counted[k].get("counts_server"))
            first["requests_note"] = "from a %d-file count pass with the debug log" % counted[k]["files"]
        out[k] = {
            "variant": first["variant"], "workload": first["workload"],
            "depth": first.get("depth", 0), "threads": first.get("threads", 1),
            "meta_latency": first.get("meta_latency", "-"), "big": bool(first.get("big")),
            "files": first.get("files"), "unit": first["unit"], "n": len(rs),
            "rate_median": statistics.median(rates), "rate_min": min(rates),
            "rate_max": max(rates),
            "lat_mean_us": statistics.median(r["lat_mean_us"] for r in rs),
            "lat_p99_us": statistics.median(r["lat_p99_us"] for r in rs),
            "requests_kernel": first.get("requests_kernel"),
            "requests_server": first.get("requests_server"),
            "requests_note": first.get("requests_note", ""),
            # counts must not change between repetitions; record when they do
            "requests_stable": len({str(r.get("counts_kernel") or r.get("counts_server"))
                                    for r in rs}) == 1,
        }
    return out


def find(summ, variant, workload, depth=1, threads=1, lat="-"):
    return summ.get("|".join([variant, workload, "d%d" % depth, "t%d" % threads, lat, "n"]))


def ratio(a, b):
    """Ratio of medians, with the range from the spreads (min/max, max/min)."""
    if not a or not b or not b["rate_median"] or not b["rate_min"]:
        return None
    return {"median": a["rate_median"] / b["rate_median"],
            "min": a["rate_min"] / b["rate_max"], "max": a["rate_max"] / b["rate_min"]}


def reqs(s):
    return (s or {}).get("requests_kernel") or (s or {}).get("requests_server")


def name_requests(s, depth):
    """Requests that resolve/open the file's own name per open: LOOKUP, GETATTR, OPEN,
    CREATE, OPEN_ATOMIC, minus one LOOKUP per directory level that a zero-timeout walk
    revalidates (only under --nocache)."""
    r = reqs(s)
    if not r:
        return None
    v = r["open_class"]
    if s["workload"].endswith("nocache"):
        v -= depth * 1.0
    return v


def meta_total(s):
    """All requests per op except the data requests (READ, WRITE) of the workload."""
    r = reqs(s)
    if not r:
        return None
    return r["total"] - sum(v for k, v in r["by_opcode"].items() if k in DATA)


def ratios(summ, env):
    out = []
    pairs = [("atomfs", "passthrough_ll"), ("atomfs", "native"), ("passthrough_ll", "native")]
    if env == "vm":
        pairs.insert(0, ("atomfs", "atomfs-old"))
    for a, b in pairs:
        for s in summ.values():
            if s["variant"] != a or s["big"]:
                continue
            other = find(summ, b, s["workload"], s["depth"], s["threads"], s["meta_latency"])
            r = ratio(s, other)
            if r:
                out.append(dict(r, a=a, b=b, workload=s["workload"], depth=s["depth"],
                                threads=s["threads"], meta_latency=s["meta_latency"]))
    return out


def targets(doc):
    summ, env = doc["summary"], doc["env"]
    t = []

    def add(what, value, goal, met, note=""):
        t.append({"what": what, "value": value, "target": goal, "met": met, "note": note})

    atomic = env == "vm"
    na = "" if atomic else "host kernel has no atomic open: atomfs takes the old path"
    if not any(s["variant"] == "atomfs" for s in summ.values()):
        na = "atomfs was not built for this run"
        atomic = False
    for wl in ("open-uncached", "create", "open-cached-nocache"):
        a, o = find(summ, "atomfs", wl), find(summ, "atomfs-old" if atomic else "passthrough_ll", wl)
        v = name_requests(a, 1)
        add("name requests per %s of d/f (atomfs; old path/peer %s)" % (
            wl, _f(name_requests(o, 1))), v, "1.0 (old 2.0)",
            None if v is None or not atomic else abs(v - 1.0) < 1e-9, na)
    a, o = find(summ, "atomfs", "open-uncached"), find(summ, "atomfs-old" if atomic else "passthrough_ll", "open-uncached")
    sa = reqs(a)["sync_meta"] if reqs(a) else None
    so = reqs(o)["sync_meta"] if reqs(o) else None
    add("sync requests per uncached open+close (excl. the 1-byte READ; old %s)" % _f(so), sa,
        "1 (old 3)", None if sa is None or not atomic else sa <= 1.0 + 1e-9,
        na or "FLUSH counts as synchronous; servers may opt out with FOPEN_NOFLUSH")
    a, o = find(summ, "atomfs", "open-cached-nocache"), find(summ, "atomfs-old", "open-cached-nocache")
    if atomic and meta_total(a) is not None and meta_total(o):
        v = meta_total(a) / meta_total(o)
        add("--nocache requests per open of d/f, atomic/old (%s vs %s)" % (
            _f(meta_total(a)), _f(meta_total(o))), v, "<= 0.5", v <= 0.5)
    else:
        add("--nocache requests per open of d/f, atomic/old", None, "<= 0.5", None, na)
    for wl in ("open-uncached", "create"):
        r = ratio(find(summ, "atomfs", wl, lat="1ms"), find(summ, "atomfs-old", wl, lat="1ms"))
        add("%s rate at 1 ms metadata latency, atomic/old" % wl, r, ">= 1.8",
            None if not r else r["median"] >= 1.8, na)
    r = ratio(find(summ, "atomfs", "create"), find(summ, "atomfs-old", "create"))
    add("create rate at 0 latency, atomic/old", r, ">= 1.3",
        None if not r else r["median"] >= 1.3, na)
    r = ratio(find(summ, "atomfs", "create"), find(summ, "passthrough_ll", "create"))
    add("create rate at 0 latency, atomfs/passthrough_ll", r, ">= 1.3",
        None if not r else r["median"] >= 1.3, "" if r else na)
    for wl in ("seqread", "seqwrite"):
        r = ratio(find(summ, "atomfs", wl, depth=0), find(summ, "native", wl, depth=0))
        add("%s with passthrough, atomfs/native" % wl, r, ">= 0.9",
            None if not r else r["median"] >= 0.9, "" if r else na)
    return t


def quick_checks(doc):
    """Exact request counts per open at depth 1, one thread, every repetition."""
    checks, env = [], doc["env"]
    atomic_kernel = env == "vm"
    variants = {r["variant"] for r in doc["records"]}
    checks.append({"what": "ran: %d records from %s" % (len(doc["records"]), sorted(variants)),
                   "ok": bool(doc["records"])})
    for r in doc["records"]:
        if r.get("depth") != 1 or r.get("threads") != 1 or r["workload"] not in ("create", "open-uncached"):
            continue
        counts = r.get("counts_kernel") or r.get("counts_server")
        if r["variant"] == "native" or counts is None:
            continue
        n, c = r["ops"], lambda op: counts.get(op, 0)
        second = "CREATE" if r["workload"] == "create" else "OPEN"
        label = "%s %s %s rep %d lat %s" % (env, r["variant"], r["workload"], r["rep"],
                                            r.get("meta_latency", "-"))
        if atomic_kernel and r["variant"] == "atomfs":
            got = (c("OPEN_ATOMIC"), c("LOOKUP"), c("OPEN"), c("CREATE"))
            checks.append({"what": "%s: OPEN_ATOMIC,LOOKUP,OPEN,CREATE = %s, want (%d,0,0,0)"
                           % (label, got, n), "ok": got == (n, 0, 0, 0)})
        else:
            got = (c("OPEN_ATOMIC"), c("LOOKUP"), c(second))
            checks.append({"what": "%s: OPEN_ATOMIC,LOOKUP,%s = %s, want (0,%d,%d)"
                           % (label, second, got, n, n), "ok": got == (0, n, n)})
        ck, cs = r.get("counts_kernel"), r.get("counts_server")
        if ck is not None and cs is not None:  # atomfs's counters against the kernel's
            ops = {"LOOKUP", "OPEN", "CREATE", "OPEN_ATOMIC", "FLUSH", "RELEASE", "READ", "WRITE"}
            a = {k: v for k, v in ck.items() if k in ops}
            b = {k: v for k, v in cs.items() if k in ops}
            checks.append({"what": "%s: atomfs counters %s == tracepoint %s" % (label, b, a),
                           "ok": a == b})
    return checks


def _f(v):
    return "n/a" if v is None else "%.2f" % v
