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


def old_ref(summ, atomic):
    """The old-path reference of the same server: atomfs --no-atomic-open on the patched
    kernel; on the host (no atomic open) atomfs itself takes the old path."""
    return "atomfs-old" if atomic else "atomfs"


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
    old = old_ref(summ, atomic)
    for wl in ("open-uncached", "create", "open-cached-nocache"):
        a, o = find(summ, "atomfs", wl), find(summ, "atomfs-old", wl)
        p = find(summ, "passthrough_ll", wl)
        v = name_requests(a, 1)
        add("name requests per %s of d/f: atomfs %s (old path: atomfs-old %s, passthrough_ll %s)" % (
            wl, "atomic" if atomic else "old path", _f(name_requests(o, 1)), _f(name_requests(p, 1))),
            v, "1.0 (old 2.0)", None if v is None or not atomic else abs(v - 1.0) < 1e-9, na)
    a = find(summ, "atomfs", "open-uncached")
    o, p = find(summ, "atomfs-old", "open-uncached"), find(summ, "passthrough_ll", "open-uncached")
    sa, so, sp = (reqs(x)["sync_meta"] if reqs(x) else None for x in (a, o, p))
    add("sync requests per uncached open+close, 1-byte READ excluded (atomfs-old %s: "
        "FOPEN_NOFLUSH, no FLUSH; passthrough_ll %s: LOOKUP+OPEN+FLUSH)" % (_f(so), _f(sp)), sa,
        "1 (old 3)", None if sa is None or not atomic else abs(sa - 1.0) < 1e-9, na)
    a, o = find(summ, "atomfs", "open-cached-nocache"), find(summ, "atomfs-old", "open-cached-nocache")
    p = find(summ, "passthrough_ll", "open-cached-nocache")
    if atomic and meta_total(a) is not None and meta_total(o):
        v = meta_total(a) / meta_total(o)
        add("--nocache total requests per open of d/f, atomic/old path, same server (%s vs %s; "
            "both spend 1 LOOKUP on d/ and 1 async RELEASE)" % (_f(meta_total(a)), _f(meta_total(o))),
            v, "<= 0.5", v <= 0.5 + 1e-9,
            "met for the name alone (%s vs %s)" % (_f(name_requests(a, 1)), _f(name_requests(o, 1))))
        if meta_total(p):
            v = meta_total(a) / meta_total(p)
            add("--nocache total requests per open of d/f, atomfs/passthrough_ll (%s vs %s; "
                "READ excluded)" % (_f(meta_total(a)), _f(meta_total(p))), v, "<= 0.5", v <= 0.5 + 1e-9,
                "passthrough_ll's counts from its 100-file debug-log pass")
    else:
        add("--nocache total requests per open of d/f, atomic/old", None, "<= 0.5", None, na)
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
    for wl in ("open-cached-nocache", "stat-nocache"):
        r = ratio(find(summ, "atomfs-fd-tenth", wl), find(summ, "atomfs-fd-fits", wl))
        add("%s, fd cache a tenth of the files / fd cache holding them all" % wl, r, ">= 0.5",
            None if not r else r["median"] >= 0.5, "" if r else "not measured (--only fdbudget)")
    for wl in ("seqread", "seqwrite"):
        r = ratio(find(summ, "atomfs", wl, depth=0), find(summ, "native", wl, depth=0))
        add("%s with passthrough, atomfs/native" % wl, r, ">= 0.9",
            None if not r else r["median"] >= 0.9, "" if r else na)
    return t


def expected(env, variant, workload, depth):
    """What the protocol implies for one thread: ({opcode: count per operation},
    {opcode: count per run}) for every opcode the run sends, so that any other opcode
    must be absent; None when there is no exact expectation. An uncached open+close
    resolves and opens the name, then RELEASE; atomfs sets FOPEN_NOFLUSH and passes
    data through the kernel (no READ/WRITE), passthrough_ll does neither. A create is
    followed by the driver's one-byte write, before which the kernel asks for the new
    file's security.capability (passthrough_ll's answer stops that after the first)."""
    atomic = env == "vm" and variant == "atomfs"
    ll = variant == "passthrough_ll"
    if variant not in ("atomfs", "atomfs-old", "passthrough_ll"):
        return None
    if workload in ("create", "open-uncached"):
        per = {"OPEN_ATOMIC": 1} if atomic else \
            {"LOOKUP": 1, "CREATE" if workload == "create" else "OPEN": 1}
    elif workload == "open-cached-nocache":
        # a zero-timeout walk revalidates each directory with a LOOKUP, then the name
        per = {"LOOKUP": depth, "OPEN_ATOMIC": 1} if atomic else {"LOOKUP": depth + 1, "OPEN": 1}
    else:
        return None
    per["RELEASE"] = 1
    fixed = {}
    if ll:
        per["FLUSH"] = 1
        per["WRITE" if workload == "create" else "READ"] = 1
        if workload == "create":
            fixed["GETXATTR"] = 1
    elif workload == "create":
        per["GETXATTR"] = 1
    return per, fixed


def quick_checks(doc):
    """Exact request counts of every one-thread record at both depths, every opcode
    (quick mode fails on any mismatch, and on a record whose counts are missing), and on
    the host atomfs's counters against the kernel's tracepoint."""
    checks, env = [], doc["env"]
    variants = {r["variant"] for r in doc["records"]}
    checks.append({"what": "ran: %d records from %s" % (len(doc["records"]), sorted(variants)),
                   "ok": bool(doc["records"])})
    if "atomfs" not in variants:
        checks.append({"what": "atomfs measured", "ok": False})
    counted, uncounted = set(), set()
    for r in doc["records"]:
        if r.get("threads") != 1 or r.get("big") or r["variant"] in ("native", "atomfs-nopt"):
            continue
        counts = r.get("counts_kernel") or r.get("counts_server")
        label = "%s %s %s d%d rep %d lat %s" % (env, r["variant"], r["workload"], r.get("depth", 0),
                                                r["rep"], r.get("meta_latency", "-"))
        exp = expected(env, r["variant"], r["workload"], r.get("depth", 0))
        if exp is not None and counts is None:
            # fine for a timed run whose counts come from its own count pass (the
            # peer in the VM: no tracepoint there), checked below
            uncounted.add((r["variant"], r["workload"], r.get("depth", 0)))
        elif exp is not None:
            counted.add((r["variant"], r["workload"], r.get("depth", 0)))
            n = r["ops"]
            per, fixed = exp
            want = {k: v * n for k, v in per.items()}
            for k, v in fixed.items():
                want[k] = want.get(k, 0) + v
            got = {k: v for k, v in counts.items() if v}
            checks.append({"what": "%s: %s, want %s" % (label, _fmt_counts(got), _fmt_counts(want)),
                           "ok": got == want})
            if r["workload"] == "open-uncached" and r.get("meta_latency", "-") in ("-", "0"):
                sync = sum(v for k, v in counts.items() if k not in ASYNC and k not in DATA)
                w = sum(v for k, v in want.items() if k not in ASYNC and k not in DATA)
                checks.append({"what": "%s: synchronous requests for open+close %d, want %d (%d per open)"
                               % (label, sync, w, w // n), "ok": sync == w})
        ck, cs = r.get("counts_kernel"), r.get("counts_server")
        if ck is not None and cs is not None:  # atomfs's counters against the kernel's
            # forgets bypass the request queue: no tracepoint event for them
            a = {k: v for k, v in ck.items() if k not in ("FORGET", "BATCH_FORGET")}
            b = {k: v for k, v in cs.items() if k not in ("FORGET", "BATCH_FORGET")}
            checks.append({"what": "%s: atomfs counters == tracepoint: %s" % (
                label, _fmt_counts(a) if a == b else "%s != %s" % (_fmt_counts(b), _fmt_counts(a))),
                "ok": a == b})
    for variant, workload, depth in sorted(uncounted - counted):
        checks.append({"what": "%s %s %s d%d: no request counts" % (env, variant, workload, depth),
                       "ok": False})
    return checks


def _fmt_counts(c):
    return "{" + " ".join("%s %d" % (k, v) for k, v in sorted(c.items())) + "}"


def _f(v):
    return "n/a" if v is None else "%.2f" % v
