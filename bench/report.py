#!/usr/bin/env python3
"""Renders result JSON files (bench/run.py) as one Markdown report plus gnuplot plots.

  report.py OUT_PREFIX RESULT.json [RESULT.json ...]
writes OUT_PREFIX.md, OUT_PREFIX-sweep.png and OUT_PREFIX-ratios.png (when gnuplot exists).
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from summary import find, ratios, reqs  # noqa: E402

ORDER = ["atomfs", "atomfs-old", "atomfs-nopt", "passthrough_ll", "native", "atomfs-fd-fits", "atomfs-fd-tenth"]
META = ["create", "open-uncached", "open-cached-nocache", "stat-uncached", "stat-nocache",
        "readdir", "unlink"]
DATA = ["seqwrite", "seqread", "randread-4k"]


def fmt_rate(s):
    if not s:
        return "-"
    if s["unit"] == "bytes":
        return "%.0f (%.0f–%.0f) MB/s" % (s["rate_median"] / 1e6, s["rate_min"] / 1e6, s["rate_max"] / 1e6)
    return "%.0f (%.0f–%.0f)" % (s["rate_median"], s["rate_min"], s["rate_max"])


def _n(x):
    """Per-op counts: two decimals, but small values (readdir per entry) keep two digits."""
    return "%.2f" % x if x >= 0.1 or x == 0 else "%.2g" % x


def fmt_ratio(r):
    return "-" if not r else "%.2f (%.2f–%.2f)" % (r["median"], r["min"], r["max"])


def variants_of(summ):
    have = {s["variant"] for s in summ.values()}
    return [v for v in ORDER if v in have]


def big_table(summ):
    big = [s for s in summ.values() if s["big"]]
    if not big:
        return []
    out = ["", "#### atomfs alone at %d files (2 threads, depth 1, one run)" % big[0]["files"], "",
           "| workload | rate | mean / p99 µs | requests/op | by opcode |", "|---|---|---|---|---|"]
    for s in sorted(big, key=lambda s: META.index(s["workload"]) if s["workload"] in META else 99):
        r = reqs(s)
        out.append("| %s | %s | %.1f / %.1f | %s | %s |" % (
            s["workload"], fmt_rate(s), s["lat_mean_us"], s["lat_p99_us"],
            "%.2f" % r["total"] if r else "n/a",
            " ".join("%s %s" % (k, _n(x)) for k, x in r["by_opcode"].items()) if r else ""))
    return out


def env_section(doc):
    summ, env = doc["summary"], doc["env"]
    m, c = doc["machine"], doc["config"]
    vs = variants_of(summ)
    out = ["### %s: kernel %s, %s CPUs (%s), %s" % (
        "VM (patched kernel, QEMU TCG)" if env == "vm" else "host kernel", m["kernel"], m["cpus"],
        m["cpu"], doc["date"]),
        "",
        "%d files per run, %d repetitions (median, min–max), data file %s; requests counted by %s." % (
            c["files"], c["reps"], c["data_size"],
            "the kernel's fuse_request_send tracepoint" if c["counting"] == "tracepoint"
            else "atomfs's own counters (passthrough_ll: n/a, no tracepoint in this kernel)"),
        ""]
    if summ and all(s["big"] for s in summ.values()):
        return "\n".join(out[:1] + ["", "atomfs alone, %d files, 2 threads, depth 1, one run; "
                                     "requests counted by atomfs's own counters." % c["big"]]
                          + big_table(summ)) + "\n"
    out += ["#### Metadata rates, ops/s (readdir: entries/s)", "",
            "| workload | depth | threads | " + " | ".join(vs) + " |",
            "|---|---|---|" + "---|" * len(vs)]
    for wl in META:
        for d in (1, 3):
            for t in (1, 2):
                row = [find(summ, v, wl, d, t) for v in vs]
                if any(row):
                    out.append("| %s | %d | %d | %s |" % (wl, d, t, " | ".join(fmt_rate(s) for s in row)))
    out += ["", "#### Latency per operation, mean / p99 µs (depth 1, 1 thread)", "",
            "| workload | " + " | ".join(vs) + " |", "|---|" + "---|" * len(vs)]
    for wl in META:
        row = [find(summ, v, wl) for v in vs]
        if any(row):
            out.append("| %s | %s |" % (wl, " | ".join(
                "%.1f / %.1f" % (s["lat_mean_us"], s["lat_p99_us"]) if s else "-" for s in row)))
    out += ["", "#### FUSE requests per operation (whole system call; 1 thread)", "",
            "| workload | depth | variant | total | sync | async | by opcode |", "|---|---|---|---|---|---|---|"]
    for wl in META + DATA:
        for d in ((1, 3) if wl in META else (0,)):
            for v in vs:
                s = find(summ, v, wl, d, 1)
                r = reqs(s)
                if not r:
                    continue
                ops = " ".join("%s %s" % (k, _n(x)) for k, x in r["by_opcode"].items())
                note = (" (%s)" % s["requests_note"]) if s.get("requests_note") else ""
                out.append("| %s | %d | %s%s | %s | %s | %s | %s |" % (
                    wl, d, v, note, _n(r["total"]), _n(r["sync"]), _n(r["async"]), ops))
    sweep = [(lat, wl) for lat in ("0", "100us", "1ms") for wl in ("create", "open-uncached")
             if find(summ, "atomfs", wl, lat=lat)]
    if sweep:
        out += ["", "#### Metadata latency sweep (atomfs --meta-latency, depth 1, 1 thread), ops/s", "",
                "| latency | workload | atomfs | atomfs-old | atomic/old |", "|---|---|---|---|---|"]
        for lat, wl in sweep:
            a, o = find(summ, "atomfs", wl, lat=lat), find(summ, "atomfs-old", wl, lat=lat)
            from summary import ratio
            out.append("| %s | %s | %s | %s | %s |" % (lat, wl, fmt_rate(a), fmt_rate(o), fmt_ratio(ratio(a, o))))
    rows = [find(summ, v, wl, 0, 1) for wl in DATA for v in vs]
    if any(rows):
        out += ["", "#### Data, MB/s (atomfs: kernel FUSE passthrough; atomfs-nopt: --no-passthrough)", "",
                "| workload | " + " | ".join(vs) + " |", "|---|" + "---|" * len(vs)]
        for wl in DATA:
            out.append("| %s | %s |" % (wl, " | ".join(fmt_rate(find(summ, v, wl, 0, 1)) for v in vs)))
    out += big_table(summ)
    rs = [r for r in ratios(summ, env) if r["threads"] == 1 and r["depth"] in (0, 1)]
    if rs:
        out += ["", "#### Ratios within this run (rate a/b, median and min–max range)", "",
                "| workload | latency | a/b | ratio |", "|---|---|---|---|"]
        for r in rs:
            out.append("| %s | %s | %s/%s | %s |" % (r["workload"], r["meta_latency"], r["a"], r["b"], fmt_ratio(r)))
    if doc.get("errors"):
        out += ["", "#### Failed sequences (not in the tables)", ""] + ["- " + e for e in doc["errors"]]
    checks = doc.get("checks") or []
    if checks:
        bad = [c for c in checks if not c["ok"]]
        out += ["", "#### Exact request counts (%d checks, %d failed)" % (len(checks), len(bad)), "",
                "Every one-thread record against what the protocol implies per operation%s." % (
                    "; atomfs's counters against the tracepoint" if env == "host" else ""), ""]
        out += ["- **FAILED** " + c["what"] for c in bad]
        out += ["", "<details><summary>all checks</summary>", ""]
        out += ["- %s %s" % ("ok" if c["ok"] else "FAILED", c["what"]) for c in checks]
        out += ["", "</details>"]
    out += ["", "#### Targets (%s)" % env, "", "| target | measured | goal | |", "|---|---|---|---|"]
    for t in doc["targets"]:
        v = t["value"]
        val = "n/a" if v is None else (fmt_ratio(v) if isinstance(v, dict) else "%.3f" % v)
        verdict = {True: "met", False: "**MISSED**", None: "n/a"}[t["met"]]
        out.append("| %s | %s | %s | %s%s |" % (t["what"], val, t["target"], verdict,
                                                 (" — " + t["note"]) if t["note"] else ""))
    return "\n".join(out) + "\n"


def plots(docs, prefix):
    if not shutil.which("gnuplot"):
        return []
    made = []
    vm = [d for d in docs if d["env"] == "vm"]
    src = vm[0] if vm else docs[0]
    summ = src["summary"]
    dat = prefix + "-sweep.dat"
    lines = []
    for i, lat in enumerate(("0", "100us", "1ms")):
        vals = [find(summ, v, wl, lat=lat) for wl in ("create", "open-uncached") for v in ("atomfs", "atomfs-old")]
        lines.append("%d %s %s" % (i, lat, " ".join("%.1f" % s["rate_median"] if s else "NaN" for s in vals)))
    if any("NaN" not in l for l in lines) or any(l.count("NaN") < 4 for l in lines):
        with open(dat, "w") as f:
            f.write("\n".join(lines) + "\n")
        png = prefix + "-sweep.png"
        _gnuplot(png, """set title "Rate vs metadata latency (%s)"
set ylabel "ops/s"; set logscale y; set xtics ("0" 0, "100us" 1, "1ms" 2); set grid; set key outside
plot "%s" u 1:3 w lp t "create atomic", "" u 1:4 w lp t "create old path", \\
     "" u 1:5 w lp t "open-uncached atomic", "" u 1:6 w lp t "open-uncached old path"
""" % (src["env"], dat))
        made.append(png)
        os.unlink(dat)
    dat = prefix + "-ratios.dat"
    rows = []
    for d in docs:
        for r in ratios(d["summary"], d["env"]):
            # the headline ratios only: atomic/old and atomfs/peer on the open paths,
            # atomfs/native on sequential I/O
            key_meta = r["workload"] in ("create", "open-uncached", "open-cached-nocache")
            key_data = r["workload"] in ("seqread", "seqwrite")
            if r["a"] == "atomfs" and r["threads"] == 1 and r["depth"] in (0, 1) and \
                    r["meta_latency"] == "-" and ((key_meta and r["b"] != "native") or
                                                  (key_data and r["b"] == "native")):
                rows.append('"%s %s/%s %s" %.3f' % (d["env"], r["a"], r["b"], r["workload"], r["median"]))
    if rows:
        with open(dat, "w") as f:
            f.write("\n".join(rows) + "\n")
        png = prefix + "-ratios.png"
        _gnuplot(png, """set title "Rate ratios within one run (1 = parity)"
set style data histograms; set style fill solid 0.6; set boxwidth 0.8
set xtics rotate by -45 font ",9"; set grid y; set key off; set yrange [0:*]; set offsets 0,0,0.2,0; set bmargin 16; set rmargin 12
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot "%s" u 2:xtic(1)
""" % dat)
        made.append(png)
        os.unlink(dat)
    return made


def _gnuplot(png, script):
    subprocess.run(["gnuplot"], input='set terminal pngcairo size 1000,600\nset output "%s"\n%s' % (png, script),
                   text=True, check=False)
    if not os.path.exists(png):  # no cairo: the plain png terminal
        subprocess.run(["gnuplot"], input='set terminal png size 1000,600\nset output "%s"\n%s' % (png, script),
                       text=True, check=False)


def main():
    prefix, files = sys.argv[1], sys.argv[2:]
    docs = [json.load(open(f)) for f in files]
    md = ["## Benchmark results", ""]
    for d in docs:
        md.append(env_section(d))
    pngs = plots(docs, prefix)
    for p in pngs:
        md.append("![%s](%s)\n" % (os.path.basename(p), os.path.basename(p)))
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(md))
    print(prefix + ".md")


if __name__ == "__main__":
    main()
