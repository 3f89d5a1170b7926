#!/usr/bin/env python3
"""bench-tables.py: render the tables of docs/benchmarks.md from one run of
scripts/bench-all.sh, so that the page is refreshed by pasting rather than by
transcribing medians and ratios by hand.

    scripts/bench-tables.py OUTDIR                 print the tables (markdown)
    scripts/bench-tables.py OUTDIR --diff DOC.md   also compare them with DOC's
                                                   tables, row by row

OUTDIR is bench-all.sh's output directory (bench-all.sh writes OUTDIR/tables.md
with this script at the end of a run). Every figure follows the definition the
page states for it:

  - Go benchmarks run COUNT times (3 by default): a figure is the median of
    the runs' values, each metric on its own (p50-ns, ns/op, B/op, ...);
  - PHP's own handler likewise, with the runs' range in parentheses;
  - "separate" ratios are ratios of those medians;
  - "paired" ratios (BenchmarkPaired) are the median of the runs' own
    ratio-p50, with the runs' range in parentheses where the page gives one;
  - sessgc against find: /usr/bin/time's figures of the one pass each, data
    read from its file system inputs (512-byte blocks);
  - NFS round trips: the RPC| lines of the NFS suite, average over the
    repetitions (and the median repetition where it differs).

Only the Python standard library. A section whose raw output is missing (a
step left out by SECTIONS, or failed before writing it) says so in place of
its table; one the renderer cannot read prints its error there and makes the
exit status 1; the other sections are printed either way.
"""

import json
import os
import re
import statistics
import sys
import traceback
from decimal import ROUND_HALF_UP, Decimal

SIZES = (1024, 16384)


# --- number formatting, as the page writes numbers


def rnd(x, nd):
    """x rounded half up to nd decimals, as a string (no float surprises)."""
    q = Decimal(1).scaleb(-nd) if nd > 0 else Decimal(1)
    return str(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def thousands(s):
    """'17522' -> '17,522' (keeps decimals)."""
    neg = s.startswith("-")
    s = s.lstrip("-")
    whole, _, frac = s.partition(".")
    out = ""
    while len(whole) > 3:
        out = "," + whole[-3:] + out
        whole = whole[:-3]
    out = whole + out
    return ("-" if neg else "") + out + ("." + frac if frac else "")


def num(x, nd=0):
    return thousands(rnd(x, nd))


def ratio(x):
    return rnd(x, 2)


def sig3(us):
    """µs with three significant digits, as the fsync table gives them
    (the unit and the decimals chosen after rounding: 999.7 µs is 1.00 ms)."""
    if Decimal(rnd(us, 0)) >= 1000:
        return rnd(us / 1000, 2), "ms"
    if Decimal(rnd(us, 1)) >= 100:
        return rnd(us, 0), "µs"
    if Decimal(rnd(us, 2)) >= 10:
        return rnd(us, 1), "µs"
    return rnd(us, 2), "µs"


def pair_us(a_ns, b_ns):
    """'35.7 / 39.8 µs', or '958 µs / 1.04 ms' when the units differ."""
    (a, ua), (b, ub) = sig3(a_ns / 1e3), sig3(b_ns / 1e3)
    if ua == ub:
        return f"{a} / {b} {ua}"
    return f"{a} {ua} / {b} {ub}"


def http_t(ns):
    """sessbench's figures: whole µs, or ms with two decimals."""
    us = ns / 1e3
    if us < 10:
        return f"{rnd(us, 1)} µs"
    if us < 1000:
        return f"{rnd(us, 0)} µs"
    return f"{rnd(us / 1e3, 2)} ms"


def rng(vals, nd, scale=1.0):
    lo, hi = min(vals) / scale, max(vals) / scale
    return f"{rnd(lo, nd)}–{rnd(hi, nd)}"


def bold(s, on=True):
    return f"**{s}**" if on else s


def le1(x):
    """x ≤ 1.00 as the page rounds it (a goal of "≤ 1.0×")."""
    return Decimal(ratio(x)) <= 1


def yn(ok):
    return "yes" if ok else "no"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# --- parsing


class Missing(Exception):
    """A raw output the section needs is not in OUTDIR."""


def read(outdir, rel):
    p = os.path.join(outdir, rel)
    if not os.path.exists(p):
        raise Missing(f"no {rel} in the run's directory")
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read()


BENCH_NAME = re.compile(r"^(Benchmark\S+?)(?:-\d+)?$")
BENCH_RESULT = re.compile(r"^\s*(\d+)((?:\s+[-\d.e+]+ \S+)+)\s*$")


def parse_bench(text):
    """go test -bench output -> {name: [ {metric: value}, ... ]} in run order.

    A log line that a benchmark writes while it runs can split a result
    line: go test prints the name, then the log line, then the figures on
    a line of their own. Figures with no name in front of them are the
    last named benchmark's.
    """
    runs = {}
    pending = None
    for line in text.splitlines():
        rest = line
        if line.startswith("Benchmark"):
            head = line.split()[0]
            m = BENCH_NAME.match(head)
            if not m:
                continue
            pending = m.group(1)
            rest = line[len(head):]
        elif pending is None:
            continue
        m = BENCH_RESULT.match(rest.replace("\t", " "))
        if not m:
            continue
        vals = {"n": float(m.group(1))}
        toks = m.group(2).split()
        for v, unit in zip(toks[0::2], toks[1::2]):
            try:
                vals[unit] = float(v)
            except ValueError:
                pass
        runs.setdefault(pending, []).append(vals)
        pending = None
    return runs


def med(runs, name, metric):
    vals = [r[metric] for r in runs.get(name, []) if metric in r]
    if not vals:
        raise Missing(f"no {metric} of {name}")
    return statistics.median(vals)


def vals(runs, name, metric):
    v = [r[metric] for r in runs.get(name, []) if metric in r]
    if not v:
        raise Missing(f"no {metric} of {name}")
    return v


RPC_LINE = re.compile(r"RPC\|\s*(.*?)\s*\|\s*([\d.]+)\s*\|\s*median\s+([\d.]+)\s*\|\s*(budget \d+|\(logged\))\s*\|\s*([^|]*?)\s*(?:\|\s*(\S+) each\s*)?$")
RUN_LINE = re.compile(r"=== (?:RUN|NAME|CONT)\s+(\S+)")


def parse_rpc_suite(text):
    """The NFS suite's verbose output -> [(test, name, avg, median, budget, {op: avg}, {op: avg not counted})].

    Each RPC| line is the test's that the last === RUN/NAME line names
    (the guest relays the suite's -v output), so that the delegation
    setting of each half is known.
    """
    test = ""
    out = []
    for line in text.splitlines():
        m = RUN_LINE.search(line)
        if m:
            test = m.group(1)
            continue
        m = RPC_LINE.search(line)
        if not m:
            continue
        name, avg, median, budget, ops = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4), m.group(5)
        counted, uncounted = {}, {}
        for om in re.finditer(r"(\()?([A-Z_]+)=([\d.]+)(?: not counted\))?", ops):
            (uncounted if om.group(1) else counted)[om.group(2)] = float(om.group(3))
        out.append((test, name, avg, median, budget, counted, uncounted))
    return out


# --- the sections


class Run:
    def __init__(self, outdir):
        self.outdir = outdir
        self.cache = {}
        self.errors = 0

    def failed(self, e):
        """What a table cell says of a figure it could not render; a
        renderer error (not a missing output) fails the exit status."""
        if isinstance(e, Missing):
            return f"not rendered: {e}"
        self.errors += 1
        return f"not rendered: renderer error: {type(e).__name__}: {e}"

    def text(self, rel):
        if rel not in self.cache:
            self.cache[rel] = read(self.outdir, rel)
        return self.cache[rel]

    def http(self):
        return json.loads(self.text("http/http.json"))

    def core(self):
        if "core" not in self.cache:
            runs = parse_bench(self.text("core/go.txt"))
            try:
                for k, v in parse_bench(self.text("core/php.txt")).items():
                    runs.setdefault(k, []).extend(v)
            except Missing:
                pass
            self.cache["core"] = runs
        return self.cache["core"]

    def paired(self):
        if "paired" not in self.cache:
            self.cache["paired"] = parse_bench(self.text("core/paired.txt"))
        return self.cache["paired"]

    def codec(self):
        if "codec" not in self.cache:
            self.cache["codec"] = parse_bench(self.text("codec/codec.txt"))
        return self.cache["codec"]

    def gc_ext4(self):
        t = self.text("gc-ext4/gc.txt")
        res = {}
        for m in re.finditer(r"^(find|sessgc)-(cold|warm): (.*)$", t, re.M):
            kv = dict(x.split("=", 1) for x in m.group(3).split())
            res[(m.group(1), m.group(2))] = kv
        if len(res) < 4:
            raise Missing("gc-ext4/gc.txt lacks a pass (find-cold, sessgc-cold, find-warm, sessgc-warm)")
        left = dict(re.findall(r"^(find|sessgc) left (\d+) files", t, re.M))
        gen = re.search(r"wrote (\d+) sessions in [\d.]+s, aged (\d+) by", t)
        cmd = re.search(r"^command: .*gc-bench\.sh \S+ (\d+) (\d+)", t, re.M)
        summ = re.search(r"^sessgc left \d+ files; summary: (\{.*\})$", t, re.M)
        return res, left, gen, cmd, json.loads(summ.group(1)) if summ else None

    def gc_nfs(self):
        t = self.text("nfs/gc/nfs-gc-bench.txt")
        head = re.search(r"N=(\d+) delay=(\S+);", t)
        exp = re.search(r"sessions: (\d+), expired: (\d+)", t)
        res = {}
        for prog in ("find", "sessgc"):
            w = re.search(rf"^{prog}: ([\d.]+) s, removed (\d+): (.*)$", t, re.M)
            r = re.search(rf"^{prog}: ([\d.]+) RPCs per removal \((\d+) RPCs\): (.*)$", t, re.M)
            if not w or not r:
                raise Missing(f"nfs/gc/nfs-gc-bench.txt lacks {prog}'s result")
            ops = {k: float(v) for k, v in re.findall(r"([A-Z_]+)=([\d.]+)", r.group(3))}
            res[prog] = dict(wall=float(w.group(1)), removed=int(w.group(2)), verdict=w.group(3),
                             per=float(r.group(1)), rpcs=int(r.group(2)), ops=ops)
        summ = re.search(r"^sessgc summary: (\{.*\})$", t, re.M)
        return head, exp, res, json.loads(summ.group(1)) if summ else None

    def rpc(self):
        if "rpc" not in self.cache:
            self.cache["rpc"] = parse_rpc_suite(self.text("nfs/rpc-suite.txt"))
        return self.cache["rpc"]


def sz(n):
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} B"


PEER = {"sessfs": "sessfs", "scs-redis": "scs + redisstore", "scs-mem": "scs memstore",
        "gorilla-fs": "gorilla FilesystemStore"}


def http_figs(run):
    r = run.http()
    by = {(x["peer"], x["size"]): x for x in r["results"]}
    return r, by


def sec_http(run):
    r, by = http_figs(run)
    rows = []
    for x in r["results"]:
        lost = f"{x['lost_updates']} of {x['hot_ok']}"
        rows.append([PEER.get(x["peer"], x["peer"]), sz(x["size"]), http_t(x["p50_ns"]), http_t(x["p99_ns"]),
                     f"{num(x['throughput_rps'])} req/s", bold(lost, x["peer"] == "sessfs" and x["lost_updates"] == 0)])
        if x.get("hot_failed") or x.get("hot_saved_failed"):
            rows[-1][-1] += f" ({x.get('hot_failed', 0)} failed, {x.get('hot_saved_failed', 0)} of them saved)"
    out = ["## HTTP request: sessfs against the Go session stores users pick instead", "",
           table(["peer", "size", "p50, 1 client", "p99, 1 client", f"throughput, {r['concurrency']} clients",
                  f"lost updates, {r['hot_clients']} × {r['hot_increments']} on one session"], rows), ""]
    s, c = [by[("sessfs", n)] for n in SIZES], [by[("scs-redis", n)] for n in SIZES]
    p50 = [a["p50_ns"] / b["p50_ns"] for a, b in zip(s, c)]
    thr = [a["throughput_rps"] / b["throughput_rps"] for a, b in zip(s, c)]
    out.append(f"sessfs ÷ scs + redisstore: p50 **{ratio(p50[0])}×** at 1 KiB and **{ratio(p50[1])}×** at 16 KiB, "
               f"throughput **{ratio(thr[0])}×** and **{ratio(thr[1])}×**.")
    m = by.get(("scs-mem", 1024))
    if m:
        out.append(f"scs + redisstore's p50 is {rnd(c[0]['p50_ns'] / m['p50_ns'], 1)}× scs memstore's at 1 KiB, "
                   f"sessfs's {rnd(s[0]['p50_ns'] / m['p50_ns'], 1)}×.")
    out.append(f"Rounds: {r.get('rounds')} of {r.get('duration_s')} s per peer, size and measurement; "
               f"{r.get('sessions')} sessions per peer and size.")
    return out


def paired_figs(run, op, size):
    p = run.paired()
    name = f"BenchmarkPaired/op={op}/size={size}"
    return dict(base=med(p, name, "base-p50-ns"), store=med(p, name, "store-p50-ns"),
                ratio=med(p, name, "ratio-p50"), ratios=vals(p, name, "ratio-p50"),
                pairs=int(med(p, name, "n")), runs=len(p.get(name, [])))


def sec_fsync(run):
    rows = []
    label = {"none": "none (default)", "file": "file (fdatasync before the rename)",
             "full": "full (+ fsync of the directory)"}
    f = {}
    for d in ("none", "file", "full"):
        a, b = paired_figs(run, f"save-{d}", "1KiB"), paired_figs(run, f"save-{d}", "16KiB")
        f[d] = (a, b)
        rows.append([label[d], pair_us(a["base"], b["base"]),
                     bold(pair_us(a["store"], b["store"]), d == "none"),
                     f"{ratio(a['ratio'])} / {ratio(b['ratio'])}"])
    a = f["none"][0]
    out = ["## What an fsync costs on this device", "",
           f"`BenchmarkPaired`, {num(a['pairs'])} pairs per run, p50 of each, median of {a['runs']} runs "
           "(the ratio: median of the runs' ratios); 1 KiB / 16 KiB:", "",
           table(["durability", "raw temp + rename", "store Save", "store ÷ raw"], rows), ""]
    try:
        _, by = http_figs(run)
    except Missing:
        by = None
    k = [f["file"][i]["store"] / f["none"][i]["store"] for i in (0, 1)]
    extra = [f["file"][i]["store"] - f["none"][i]["store"] for i in (0, 1)]
    out.append(f"- Save with fdatasync ÷ without (store): {rnd(k[0], 1)} / {rnd(k[1], 1)}; "
               f"the sync adds {rnd(extra[0] / 1e6, 2)} / {rnd(extra[1] / 1e6, 2)} ms")
    if by:
        h = [by[("sessfs", n)]["p50_ns"] for n in SIZES]
        rd = [by[("scs-redis", n)]["p50_ns"] for n in SIZES]
        slow = [(h[i] + extra[i]) / h[i] for i in (0, 1)]
        vs = [(h[i] + extra[i]) / rd[i] for i in (0, 1)]
        out.append(f"- the HTTP request (sessfs p50 {http_t(h[0]).replace(' µs', '')} / {http_t(h[1])}) with that sync: "
                   f"{rnd(slow[0], 1)} / {rnd(slow[1], 1)} times as slow, {rnd(vs[0], 1)} / {rnd(vs[1], 1)} "
                   "times scs + Redis's p50")
    rs = [f[d][i]["ratio"] for d in ("file", "full") for i in (0, 1)]
    out.append(f"- store ÷ raw with a sync: {ratio(min(rs))}–{ratio(max(rs))}")
    return out


def cycle_figs(run):
    """The figures of the locked cycle / touch cycle table, per (bench, size)."""
    c = run.core()
    fig = {}
    for bench, pop in (("Cycle", "cycle"), ("TouchCycle", "touchcycle")):
        for size in ("1KiB", "16KiB"):
            base = f"Benchmark{bench}/size={size}/par=1/impl="
            d = {}
            for impl in ("store", "php-go", "raw-falloc"):
                if base + impl in c:
                    d[impl] = med(c, base + impl, "p50-ns")
                    d[impl + " mean"] = med(c, base + impl, "ns/op")
                    d[impl + " p99"] = med(c, base + impl, "p99-ns")
            # PHP's lines are named impl=php-NPROC, which reads as impl=php.
            php = base + "php"
            if php in c:
                d["php"] = med(c, php, "p50-ns")
                d["php runs"] = vals(c, php, "p50-ns")
                d["php mean"] = med(c, php, "ns/op")
                d["php p99"] = med(c, php, "p99-ns")
                d["php n"] = int(med(c, php, "n"))
            d["paired"] = paired_figs(run, pop, size)
            if bench == "Cycle":
                d["floor paired"] = paired_figs(run, "cycle-floor", size)
            fig[(bench, size)] = d
    return fig


def sec_cycle(run):
    fig = cycle_figs(run)
    rows = []
    for bench, what, nd in (("Cycle", "locked read-modify-write", 1), ("TouchCycle", "touch only", 2)):
        for size in ("1KiB", "16KiB"):
            d = fig[(bench, size)]
            st = d["store"]
            php = f"{rnd(d['php'] / 1e3, nd)} ({rng(d['php runs'], nd, 1e3)})" if "php" in d else "–"
            vs_php = bold(ratio(st / d["php"]), le1(st / d["php"])) if "php" in d else "–"
            sep = st / d["php-go"]
            pr = d["paired"]
            paired = bold(ratio(pr["ratio"]), le1(pr["ratio"]))
            if bench == "Cycle":
                paired += f" ({rng(pr['ratios'], 2)})"
            row = [f"{what}, {size.replace('KiB', ' KiB')}", rnd(st / 1e3, nd), php, rnd(d["php-go"] / 1e3, nd),
                   rnd(d["raw-falloc"] / 1e3, nd) if "raw-falloc" in d else "–", vs_php,
                   bold(ratio(sep), le1(sep)), paired,
                   ratio(d["floor paired"]["ratio"]) if "floor paired" in d else "–"]
            rows.append(row)
    d = fig[("Cycle", "1KiB")]
    out = ["## The locked cycle and the touch cycle against PHP", "",
           f"p50 in µs, median of {d['paired']['runs']} runs; PHP {num(d.get('php n', 0))} requests per run; "
           f"\"paired\" from `BenchmarkPaired` ({num(d['paired']['pairs'])} pairs per run, median of "
           f"{d['paired']['runs']} ratios, their range in parentheses for the locked cycle).", "",
           table(["request", "store", "real PHP 8.2", "Go replay of PHP", "atomic floor (`impl=raw-falloc`)",
                  "store ÷ PHP", "store ÷ replay, separate", "store ÷ replay, paired", "store ÷ floor, paired"], rows),
           ""]
    fl = [fig[("Cycle", s)] for s in ("1KiB", "16KiB")]
    if all("php" in x for x in fl):
        out.append(f"- the atomic floor ÷ real PHP: {ratio(fl[0]['raw-falloc'] / fl[0]['php'])} / "
                   f"{ratio(fl[1]['raw-falloc'] / fl[1]['php'])}")
    # How far each one's p50 moves over this run's separate and paired runs.
    c, p = run.core(), run.paired()
    spans = {}
    for who, sep, pairs in (("replay", "php-go", (("cycle", "base-p50-ns"),)),
                            ("store", "store", (("cycle", "store-p50-ns"), ("cycle-floor", "store-p50-ns")))):
        spans[who] = []
        for size in ("1KiB", "16KiB"):
            v = vals(c, f"BenchmarkCycle/size={size}/par=1/impl={sep}", "p50-ns")
            for op, metric in pairs:
                v += vals(p, f"BenchmarkPaired/op={op}/size={size}", metric)
            spans[who].append(rng(v, 1, 1e3))
    out.append(f"- the locked cycle's p50 over this run's separate and paired runs: the replay's {spans['replay'][0]} / "
               f"{spans['replay'][1]} µs, the store's {spans['store'][0]} / {spans['store'][1]} µs")
    tc = [fig[("TouchCycle", s)] for s in ("1KiB", "16KiB")]
    out.append(f"- touch only above the replay: paired {rnd((tc[0]['paired']['ratio'] - 1) * 100, 0)}% / "
               f"{rnd((tc[1]['paired']['ratio'] - 1) * 100, 0)}%, separately "
               f"{rnd((tc[0]['store'] / tc[0]['php-go'] - 1) * 100, 0)}% / {rnd((tc[1]['store'] / tc[1]['php-go'] - 1) * 100, 0)}%")
    return out


def sec_spread(run):
    """The fairness pause's paragraph in "The run": means against p50s."""
    fig = cycle_figs(run)
    rows = []
    for bench, what in (("Cycle", "locked cycle"), ("TouchCycle", "touch cycle")):
        d1, d16 = fig[(bench, "1KiB")], fig[(bench, "16KiB")]
        for impl, label in (("store", "store"), ("raw-falloc", "atomic floor (`impl=raw-falloc`)"),
                            ("php-go", "Go replay of PHP"), ("php", "real PHP")):
            if impl not in d1 or impl + " mean" not in d1:
                continue
            rows.append([f"{what}, {label}", f"{rnd(d1[impl + ' mean'] / 1e3, 1)} / {rnd(d16[impl + ' mean'] / 1e3, 1)}",
                         f"{rnd(d1[impl] / 1e3, 1 if bench == 'Cycle' else 2)} / {rnd(d16[impl] / 1e3, 1 if bench == 'Cycle' else 2)}",
                         f"{ratio(d1[impl + ' mean'] / d1[impl])} / {ratio(d16[impl + ' mean'] / d16[impl])}",
                         f"{rnd(d1[impl + ' p99'] / 1e3, 0)} / {rnd(d16[impl + ' p99'] / 1e3, 0)}" if impl + " p99" in d1 else "–"])
    out = ["## The run: means against medians (the lock's fairness pause)", "",
           "Mean (ns/op) and p50 in µs, medians of the runs, 1 KiB / 16 KiB:", "",
           table(["benchmark", "mean", "p50", "mean ÷ p50", "p99"], rows), ""]
    for bench, ref, what in (("Cycle", "raw-falloc", "the floor's"), ("TouchCycle", "php-go", "the replay's")):
        d = [fig[(bench, s)] for s in ("1KiB", "16KiB")]
        would = [x["store"] * x[ref + " mean"] / x[ref] for x in d]
        out.append(f"- {bench}: with {what} spread the store's mean would be {rnd(would[0] / 1e3, 1)} / "
                   f"{rnd(would[1] / 1e3, 1)} µs; the measured one is {ratio(d[0]['store mean'] / would[0])} / "
                   f"{ratio(d[1]['store mean'] / would[1])} times that")
    return out


def codec_figs(run):
    c = run.codec()
    req = {}
    for kind in ("blob", "keys"):
        for size in ("1K", "16K"):
            n = f"BenchmarkRequest/{kind}/{size}"
            req[(kind, size)] = dict(ns=med(c, n, "ns/op"), b=med(c, n, "B/op"), allocs=med(c, n, "allocs/op"),
                                     cpu=med(c, n, "cpu-ns/op") if any("cpu-ns/op" in r for r in c.get(n, [])) else None,
                                     runs=len(c[n]))
    return c, req


def sec_codec(run):
    c, req = codec_figs(run)
    rows = []
    for kind in ("blob", "keys"):
        a, b = req[(kind, "1K")], req[(kind, "16K")]
        cell = lambda x: f"{rnd(x['ns'] / 1e3, 1)} µs, {num(x['b'])} B, {num(x['allocs'])} allocs"
        rows.append([kind, cell(a), cell(b), ratio(b["ns"] / a["ns"])])
    out = ["## The session codec", "",
           f"Medians of {req[('blob', '1K')]['runs']}.", "",
           table(["`BenchmarkRequest` (mean)", "1 KiB", "16 KiB", "16 KiB ÷ 1 KiB"], rows), ""]
    grow = [req[(k, "16K")]["ns"] - req[(k, "1K")]["ns"] for k in ("blob", "keys")]
    out.append(f"- the mean grows by {rnd(grow[0] / 1e3, 0)} µs (blob) and {rnd(grow[1] / 1e3, 0)} µs (keys) from 1 KiB to 16 KiB")
    cpu = [req[(k, s)]["cpu"] for k in ("blob", "keys") for s in ("1K", "16K")]
    if all(x is not None for x in cpu):
        out.append(f"- CPU time per request (cpu-ns/op): blob {rnd(cpu[0] / 1e3, 1)} / {rnd(cpu[1] / 1e3, 1)} µs, "
                   f"keys {rnd(cpu[2] / 1e3, 1)} / {rnd(cpu[3] / 1e3, 1)} µs; 16 KiB ÷ 1 KiB {ratio(cpu[1] / cpu[0])} / "
                   f"{ratio(cpu[3] / cpu[2])}; it grows by {rnd((cpu[1] - cpu[0]) / 1e3, 0)} / {rnd((cpu[3] - cpu[2]) / 1e3, 0)} µs")
    out.append("")
    rows = []
    for op in ("read-only", "one-changed", "all-changed"):
        row = [op]
        for kind in ("blob", "keys"):
            a, b = f"BenchmarkCodec/{kind}/1K/{op}", f"BenchmarkCodec/{kind}/16K/{op}"
            row.append(f"{num(med(c, a, 'ns/op'))} → {num(med(c, b, 'ns/op'))}")
            row.append(f"{num(med(c, a, 'B/op'))} / {num(med(c, a, 'allocs/op'))} → "
                       f"{num(med(c, b, 'B/op'))} / {num(med(c, b, 'allocs/op'))}")
        rows.append(row)
    out.append(table(["codec, 1 KiB → 16 KiB", "blob, ns", "blob, B / allocs", "keys, ns", "keys, B / allocs"], rows))
    out.append("")
    one = [med(c, f"BenchmarkCodec/{k}/16K/one-changed", "ns/op") for k in ("blob", "keys")]
    out.append(f"- the codec's share of the 16 KiB request, one value changed: {rnd(one[0] / 1e3, 1)} µs (blob), "
               f"{rnd(one[1] / 1e3, 1)} µs (keys)")
    return out


def sec_gc_ext4(run):
    res, left, gen, cmd, summ = run.gc_ext4()
    n = int(cmd.group(1)) if cmd else None
    conc = cmd.group(2) if cmd else "16"
    aged = int(gen.group(2)) if gen else None

    def mib(kv):
        b = int(kv["fs_inputs"]) * 512
        return "0" if b == 0 else f"{rnd(b / 1048576, 1)} MiB"

    def row(prog, phase):
        kv = res[(prog, phase)]
        if phase == "cold":
            label = f"cold, {num(aged)} to delete" if aged is not None else "cold"
            command = ("`find FINDSTORE -type f -mmin +1440 -delete`" if prog == "find"
                       else f"`sessgc run --dir STORE --json --concurrency {conc}`")
        else:
            label = f"warm, nothing to delete ({num(n - aged)})" if n and aged is not None else "warm"
            command = "find, same" if prog == "find" else "sessgc, same"
        return [label, command, f"{kv['wall'].rstrip('s')} s", f"{rnd(float(kv['cpu_s']), 2)} s", mib(kv),
                kv["peakRSS"].replace("MiB", " MiB")]

    rows = [row("find", "cold"), row("sessgc", "cold"), row("find", "warm"), row("sessgc", "warm")]
    out = [f"## sessgc against find: local ext4 (`scripts/gc-bench.sh WORK/mnt/gc {n} {conc}`)", "",
           table(["pass", "command", "wall", "CPU (user + sys)", "data read", "peak RSS"], rows), ""]
    w = lambda p, ph: float(res[(p, ph)]["wall"].rstrip("s"))
    cpu = lambda p, ph: float(res[(p, ph)]["cpu_s"])
    fsin = lambda p, ph: int(res[(p, ph)]["fs_inputs"])
    out.append(f"- cold: sessgc {ratio(w('find', 'cold') / w('sessgc', 'cold'))}× as fast as find, "
               f"{ratio(cpu('sessgc', 'cold') / cpu('find', 'cold'))}× its CPU, "
               f"{ratio(fsin('sessgc', 'cold') / fsin('find', 'cold'))}× its data read")
    out.append(f"- warm: {ratio(w('sessgc', 'warm') / w('find', 'warm'))}× find's time, "
               f"{ratio(cpu('sessgc', 'warm') / cpu('find', 'warm'))}× its CPU")
    if left:
        out.append(f"- files left after the cold pass: find {num(int(left.get('find', 0)))}, "
                   f"sessgc {num(int(left.get('sessgc', 0)))}"
                   + (f" (sessgc's summary: removed {num(summ['removed'])})" if summ else ""))
    gens = re.findall(r"wrote \d+ sessions in ([\d.]+)s", run.text("gc-ext4/gc.txt"))
    if gens:
        out.append(f"- gcgen wrote the two stores in {' and '.join(rnd(float(g), 1) + ' s' for g in gens)}")
    return out


def rpc_ops_str(ops, lead=None):
    """'REMOVE 1.00, READDIR 0.13, ...': the nonzero ops, largest first."""
    items = [(k, v) for k, v in ops.items() if v > 0]
    items.sort(key=lambda kv: (-kv[1], [-ord(ch) for ch in kv[0]]))
    return ", ".join(f"{k} {v:.2f}" for k, v in items)


def sec_gc_nfs(run):
    head, exp, res, summ = run.gc_nfs()
    n, delay = (int(head.group(1)), head.group(2)) if head else (None, "?")
    expired = int(exp.group(2)) if exp else None
    rows = []
    for prog, command in (("find", "`find COPY/data -type f -mmin +1440 -delete`"),
                          ("sessgc", "`sessgc run --dir STORE --json` (defaults: `--concurrency 16`)")):
        x = res[prog]
        removed = (f"exactly the {num(x['removed'])} expired" if x["verdict"] == "exactly the expired set"
                   else f"{num(x['removed'])}: {x['verdict']}")
        per = f"{x['per']:.2f}: {rpc_ops_str(x['ops'])}"
        rows.append([command, f"{x['wall']:.2f} s", removed, bold(per, prog == "sessgc")])
    out = [f"## sessgc against find: NFS (`scripts/nfs-gc-bench.sh -n {n} -d {delay}`)", "",
           f"{num(n)} sessions, {num(expired)} expired, netem {delay.replace('ms', ' ms')} each way.", "",
           table(["command", "wall", "removed", "RPCs per removal"], rows), ""]
    sp = res["find"]["wall"] / res["sessgc"]["wall"]
    out.append(f"- sessgc is {ratio(sp)}× as fast as find"
               + (f"; its own summary counts {rnd(summ['duration_seconds'], 2)} s of sweep" if summ else ""))
    out.append(f"- find's RPCs: {num(res['find']['rpcs'])}; sessgc's: {num(res['sessgc']['rpcs'])}")
    out.append("")
    out.append("The row of this run in the table with longer round trips (the other rows are separate runs):")
    out.append("")
    out.append(table(["netem each way (RTT)", "find", "sessgc", "sessgc's speed-up"],
                     [[f"{delay.replace('ms', ' ms')} ({rnd(2 * float(delay.rstrip('ms')), 0)} ms), this run"
                       if delay.endswith("ms") else delay,
                       f"{res['find']['wall']:.2f} s", f"{res['sessgc']['wall']:.2f} s", f"{ratio(sp)}×"]]))
    return out


NFS_ORDER = ["LOCK", "GETATTR", "LOOKUP", "ACCESS", "OPEN", "OPEN_NOATTR", "READ", "SETATTR", "WRITE", "CLOSE",
             "RENAME", "REMOVE", "READDIR", "LOCKU", "FREE_STATEID"]


def breakdown(ops):
    """'LOCK, GETATTR ×2, ...; READ 0.25': whole RPCs every repetition
    sent, then the fractions that some did (attribute-cache expiries,
    reads back), in the order an operation sends them."""
    order = lambda k: (NFS_ORDER.index(k) if k in NFS_ORDER else len(NFS_ORDER), k)
    whole, frac = [], []
    for k in sorted(ops, key=order):
        v = round(ops[k] * 100)
        w, f = divmod(v, 100)
        if w == 1:
            whole.append(k)
        elif w > 1:
            whole.append(f"{k} ×{w}")
        if f:
            frac.append(f"{k} 0.{f:02d}")
    s = ", ".join(whole)
    if frac:
        s += ("; " if s else "") + ", ".join(frac)
    return s


FSSTORE_ROWS = [
    ("Load, this host wrote last", "Load, this host wrote last"),
    ("Load, other host wrote last", "Load, other host wrote last"),
    ("Load with cache, unchanged", "Load with cache (`WithCache`), record unchanged"),
    ("Load with cache, other host wrote", "Load with cache, other host wrote"),
    ("Save", "Save"),
    ("Touch", "Touch"),
    ("Lock+Load+Save+Unlock, own write", "Lock+Load+Save+Unlock, own write"),
    ("Lock+Load+Save+Unlock, other wrote", "Lock+Load+Save+Unlock, other wrote"),
    ("Lock+Load+Unlock, own write", "Lock+Load+Unlock, own write"),
    ("Lock+Load+Touch+Unlock, own write", "Lock+Load+Touch+Unlock, own write"),
    ("Lock+Load+Unlock, other wrote", "Lock+Load+Unlock, other wrote"),
    ("Health", "Health"),
    ("CompareAndSwap, new session", "CompareAndSwap, new session"),
    ("Lock+LoadLockedOnly+Unlock, no record", "Lock+LoadLockedOnly+Unlock, no record"),
    ("Lock+Load+Unlock, no record", "Lock+Load+Unlock, no record"),
]


def rpc_cell(r):
    _, _, avg, median, *_ = r
    s = f"{avg:.2f}"
    if Decimal(rnd(avg, 0)) != Decimal(repr(median)):
        s += f" (median {median:g})"
    return s


def budget_cell(b):
    return b.replace("budget ", "") if b.startswith("budget") else "logged"


def rpc_halves(run, test_re):
    """{(delegations, name): row} of the RPC| lines of the tests test_re matches."""
    out = {}
    for r in run.rpc():
        test, name = r[0], r[1]
        if not re.search(test_re, test):
            continue
        m = re.search(r"delegations=(true|false)", test)
        if m:
            out.setdefault((m.group(1) == "true", name), r)
    return out


def suite_result(run):
    t = run.text("nfs/rpc-suite.txt")
    if re.search(r"^ok\s+\S+/fsstore", t, re.M):
        return "passed"
    if re.search(r"^(FAIL|--- FAIL)", t, re.M):
        return "FAILED"
    return "did not finish"


def sec_rpc(run):
    h = rpc_halves(run, r"/RPCBudgets$")
    if not h:
        raise Missing("no RPC| lines of TestNFSStore/delegations=.../RPCBudgets in nfs/rpc-suite.txt")
    rows, seen = [], set()
    names = [n for _, n in h]
    known = {t for t, _ in FSSTORE_ROWS}
    for test_name, label in FSSTORE_ROWS + [(n, n) for n in dict.fromkeys(names) if n not in known]:
        off, on = h.get((False, test_name)), h.get((True, test_name))
        if not off and not on:
            continue
        seen.add(test_name)
        ref = off or on
        rows.append([label, budget_cell(ref[4]), rpc_cell(off) if off else "–", rpc_cell(on) if on else "–",
                     breakdown(ref[5])])
    out = ["## NFS round trips per operation", "",
           f"`TestNFSStore/delegations=.../RPCBudgets`, the `RPC|` lines; the suite {suite_result(run)}. "
           "Average over the repetitions, the median repetition in parentheses where the average does not "
           "round to it; the breakdown is the delegations-off half's, whole RPCs then fractions.", "",
           table(["operation", "budget", "delegations off", "delegations on", "breakdown (delegations off)"], rows)]
    notc = {n: r[6] for (deleg, n), r in h.items() if deleg and r[6]}
    if notc:
        out += ["", "Not counted with delegations on (DELEGRETURNs answering the server's recalls): " +
                "; ".join(f"{n}: {', '.join(f'{k} {v:.2f}' for k, v in d.items())}" for n, d in notc.items())]
    return out


SCS_ROWS = [("Find, this host wrote last", "Find, this host wrote last", None),
            ("Find, other host wrote last", "Find, other host wrote last", None),
            ("Commit, new session", "Commit, new session", True),
            ("Commit, this host wrote last", "Commit, this host wrote last", True),
            ("Commit, other host wrote last", "Commit, other host wrote last", True),
            ("Delete, this host wrote last", "Delete, this host wrote last", True),
            ("Delete, other host wrote last", "Delete, other host wrote last", True)]


def sec_scs(run):
    h = rpc_halves(run, r"/SCSRPCBudgets$")
    lines = {n: r for (deleg, n), r in h.items() if not deleg}
    if not lines:
        raise Missing("no RPC| lines of TestNFSStore/delegations=false/SCSRPCBudgets in nfs/rpc-suite.txt")
    rows = []
    for base, label, guarded in SCS_ROWS:
        if guarded:
            g, ng = lines.get(f"scs {base}, guard"), lines.get(f"scs {base}, no guard")
        else:
            g = ng = lines.get(f"scs {base}")
        if not g:
            continue
        cell = lambda r: f"{r[3]:g}" if r else "–"
        rows.append([label, cell(g), cell(ng), breakdown(g[5])])
    spread = max(abs(r[2] - r[3]) for r in lines.values())
    # The page's cells are the medians, which internal/docscheck holds to
    # the suite's budgets: a median below its budget is the page's call.
    off = [f"{n} (median {r[3]:g}, budget {budget_cell(r[4])})" for n, r in lines.items()
           if r[4].startswith("budget") and f"{r[3]:g}" != budget_cell(r[4])]
    return ["### scsstore, with the delete guard and without", "",
            "Medians of the repetitions (delegations off); the breakdown is the averages' with the guard.", "",
            table(["operation", "guard", "no guard", "breakdown with the guard (delegations off)"], rows), "",
            f"- averages within {rnd(spread, 2)} of these medians in this run",
            "- medians that differ from their budget (the page's table gives the budgets): " + ("; ".join(off) or "none")]


HTTP_RPC_ROWS = [("first visit, Exclusive", "first visit (no cookie) that puts a value, `Exclusive`"),
                 ("first visit, Optimistic", "the same, `Optimistic`"),
                 ("gone session, Exclusive", "cookie naming a gone session (expired, logged out, forged), a read, `Exclusive`"),
                 ("gone session, Optimistic", "the same, `Optimistic`"),
                 ("read-modify-write, Exclusive", "read-modify-write, `Exclusive`"),
                 ("read-modify-write, Optimistic", "read-modify-write, `Optimistic`"),
                 ("read, Exclusive", "read, `Exclusive`"),
                 ("read, ReadOnly", "read, `ReadOnly`")]


def sec_http_rpc(run):
    """httpsession's per-request round trips (bench-all.sh's nfs step),
    rendered from OUTDIR/nfs/rpc-httpsession.txt, the -v output of
    `go test -run 'TestNFSOutage/RPCBudgets' ./httpsession`."""
    rows = parse_rpc_suite(run.text("nfs/rpc-httpsession.txt"))
    by = {r[1]: r for r in rows}
    out = []
    for name, label in HTTP_RPC_ROWS:
        r = by.get(name)
        if r:
            out.append([label, budget_cell(r[4]), f"{r[2]:.2f}, {r[3]:g}", breakdown(r[5])])
    return ["### httpsession, per request", "",
            table(["request", "budget", "measured (average, median)", "the store operations, and the breakdown"], out)]


def goals(run):
    """The goals-at-a-glance table and the key ratios each goal uses."""
    rows, keys = [], []
    # 1
    try:
        r, by = http_figs(run)
        s, c = [by[("sessfs", n)] for n in SIZES], [by[("scs-redis", n)] for n in SIZES]
        p50 = [a["p50_ns"] / b["p50_ns"] for a, b in zip(s, c)]
        thr = [a["throughput_rps"] / b["throughput_rps"] for a, b in zip(s, c)]
        lost = [x["lost_updates"] for x in s]
        rows.append([f"1. a request out of the box ≤ 1.0× scs + redisstore p50, ≥ 1.0× its throughput ({r['concurrency']} clients), 0 lost updates",
                     f"p50 {http_t(s[0]['p50_ns']).replace(' µs', '')} / {http_t(s[1]['p50_ns'])} against "
                     f"{http_t(c[0]['p50_ns']).replace(' µs', '')} / {http_t(c[1]['p50_ns'])}; "
                     f"{num(s[0]['throughput_rps'])} / {num(s[1]['throughput_rps'])} against "
                     f"{num(c[0]['throughput_rps'])} / {num(c[1]['throughput_rps'])} req/s (1 KiB / 16 KiB)",
                     f"p50 **{ratio(p50[0])} / {ratio(p50[1])}**, throughput **{ratio(thr[0])} / {ratio(thr[1])}**, "
                     f"lost {lost[0]} of {s[0]['hot_ok']}" + (f" / {lost[1]} of {s[1]['hot_ok']}" if lost[1] or s[1]['hot_ok'] != s[0]['hot_ok'] else "")
                     + f" (scs + Redis: {c[0]['lost_updates']} / {c[1]['lost_updates']})",
                     yn(all(le1(x) for x in p50) and all(Decimal(ratio(x)) >= 1 for x in thr) and not any(lost))])
        keys.append(f"- goal 1: sessfs ÷ scs + redisstore p50 {ratio(p50[0])} / {ratio(p50[1])} (≤ 1.0), "
                    f"throughput {ratio(thr[0])} / {ratio(thr[1])} (≥ 1.0), lost updates {lost[0]} / {lost[1]} (0)")
    except Exception as e:
        rows.append(["1.", run.failed(e), "–", "–"])
    # 2
    try:
        parts, rats, verdicts = [], [], []
        try:
            _, by = http_figs(run)
            h = [by[("sessfs", n)]["p50_ns"] for n in SIZES]
            parts.append(f"HTTP peers' sessfs p50 (one client) {http_t(h[0]).replace(' µs', '')} / {http_t(h[1])}")
            rats.append(f"p50 {ratio(h[1] / h[0])}")
            verdicts.append(("p50", h[1] / h[0]))
        except (Missing, KeyError):
            h = None
        _, req = codec_figs(run)
        rb = req[("blob", "16K")]["ns"] / req[("blob", "1K")]["ns"]
        rk = req[("keys", "16K")]["ns"] / req[("keys", "1K")]["ns"]
        parts.append(f"`BenchmarkRequest` (mean) {rnd(req[('blob', '1K')]['ns'] / 1e3, 1)} / {rnd(req[('blob', '16K')]['ns'] / 1e3, 1)} µs (blob), "
                     f"{rnd(req[('keys', '1K')]['ns'] / 1e3, 1)} / {rnd(req[('keys', '16K')]['ns'] / 1e3, 1)} µs (keys)")
        rats.append(f"mean {ratio(rb)} / {ratio(rk)} (blob / keys)")
        verdicts += [("mean (blob)", rb), ("mean (keys)", rk)]
        try:
            fig = cycle_figs(run)
            a, b = fig[("Cycle", "1KiB")], fig[("Cycle", "16KiB")]
            parts.append(f"the store's locked cycle alone {rnd(a['store'] / 1e3, 1)} / {rnd(b['store'] / 1e3, 1)} µs and the atomic floor "
                         f"(`impl=raw-falloc`) {rnd(a['raw-falloc'] / 1e3, 1)} / {rnd(b['raw-falloc'] / 1e3, 1)} µs")
            rats.append(f"store cycle {ratio(b['store'] / a['store'])}, floor {ratio(b['raw-falloc'] / a['raw-falloc'])}")
            if h:
                c = run.codec()
                grow = h[1] - h[0]
                kern = b["raw-falloc"] - a["raw-falloc"]
                store = (b["store"] - a["store"]) - kern
                codec = med(c, "BenchmarkCodec/blob/16K/one-changed", "ns/op") - med(c, "BenchmarkCodec/blob/1K/one-changed", "ns/op")
                keys.append(f"- goal 2, the median request's growth 1 KiB → 16 KiB: {rnd(grow / 1e3, 0)} µs, of which the kernel's "
                            f"(the floor's growth) {rnd(kern / 1e3, 1)} µs, the store's own {rnd(store / 1e3, 1)} µs, the codec's "
                            f"{rnd(codec / 1e3, 1)} µs (blob, one-changed); not accounted for {rnd((grow - kern - store - codec) / 1e3, 0)} µs")
        except (Missing, KeyError):
            pass
        rows.append(["2. the 16 KiB request ≤ 1.15× the 1 KiB one", "; ".join(parts), "; ".join(rats),
                     "; ".join(f"{w} {yn(Decimal(ratio(x)) <= Decimal('1.15'))}" for w, x in verdicts)])
        keys.append("- goal 2: 16 KiB ÷ 1 KiB " + "; ".join(rats) + " (≤ 1.15)")
    except Exception as e:
        rows.append(["2.", run.failed(e), "–", "–"])
    # 3
    try:
        fig = cycle_figs(run)
        a, b = fig[("Cycle", "1KiB")], fig[("Cycle", "16KiB")]
        f1 = lambda x: rnd(x / 1e3, 1)
        php = "php" in a and "php" in b
        meas = f"store {f1(a['store'])} / {f1(b['store'])} µs; "
        if php:
            meas += f"PHP {f1(a['php'])} / {f1(b['php'])} µs (runs {rng(a['php runs'], 1, 1e3)} / {rng(b['php runs'], 1, 1e3)}); "
        meas += f"replay {f1(a['php-go'])} / {f1(b['php-go'])} µs; atomic floor (`impl=raw-falloc`) {f1(a['raw-falloc'])} / {f1(b['raw-falloc'])} µs"
        vp = [a["store"] / a["php"], b["store"] / b["php"]] if php else None
        vs = [a["store"] / a["php-go"], b["store"] / b["php-go"]]
        pp = [a["paired"]["ratio"], b["paired"]["ratio"]]
        rat = (f"real PHP {bold(ratio(vp[0]), le1(vp[0]))} / {bold(ratio(vp[1]), le1(vp[1]))}; " if php else "") + \
            f"replay, separate {bold(ratio(vs[0]), le1(vs[0]))} / {bold(ratio(vs[1]), le1(vs[1]))}, paired " \
            f"{bold(ratio(pp[0]), le1(pp[0]))} / {bold(ratio(pp[1]), le1(pp[1]))} (runs {rng(a['paired']['ratios'], 2)} / {rng(b['paired']['ratios'], 2)})"
        met = (f"real PHP {yn(le1(vp[0]))} / {yn(le1(vp[1]))}; " if php else "") + \
            f"replay separate {yn(le1(vs[0]))} / {yn(le1(vs[1]))}, paired {yn(le1(pp[0]))} / {yn(le1(pp[1]))}"
        rows.append(["3. locked cycle ≤ 1.0× PHP (real and replay), 1 KiB / 16 KiB", meas, rat, met])
        keys.append(f"- goal 3, locked cycle: {rat.replace('**', '')} (≤ 1.0)")
        if php:
            keys.append(f"- goal 3, locked cycle: atomic floor ÷ real PHP {ratio(a['raw-falloc'] / a['php'])} / {ratio(b['raw-falloc'] / b['php'])}; "
                        f"store ÷ floor, paired {ratio(a['floor paired']['ratio'])} / {ratio(b['floor paired']['ratio'])}")
        a, b = fig[("TouchCycle", "1KiB")], fig[("TouchCycle", "16KiB")]
        f2 = lambda x: rnd(x / 1e3, 2)
        php = "php" in a and "php" in b
        meas = f"store {f2(a['store'])} / {f2(b['store'])} µs; " + \
            (f"PHP {f2(a['php'])} / {f2(b['php'])} µs; " if php else "") + f"replay {f2(a['php-go'])} / {f2(b['php-go'])} µs"
        vp = [a["store"] / a["php"], b["store"] / b["php"]] if php else None
        pp = [a["paired"]["ratio"], b["paired"]["ratio"]]
        rat = (f"real PHP {bold(ratio(vp[0]), le1(vp[0]))} / {bold(ratio(vp[1]), le1(vp[1]))}; " if php else "") + \
            f"replay paired {bold(ratio(pp[0]), le1(pp[0]))} / {bold(ratio(pp[1]), le1(pp[1]))}"
        met = (f"real PHP {yn(le1(vp[0]))} / {yn(le1(vp[1]))}; " if php else "") + f"replay paired {yn(le1(pp[0]))} / {yn(le1(pp[1]))}"
        rows.append(["3. touch-only ≤ PHP's `lazy_write` touch", meas, rat, met])
        keys.append(f"- goal 3, touch only: {rat.replace('**', '')} (≤ 1.0)")
    except Exception as e:
        rows.append(["3.", run.failed(e), "–", "–"])
    # 4, NFS
    try:
        head, exp, res, _ = run.gc_nfs()
        sp = res["find"]["wall"] / res["sessgc"]["wall"]
        exact = all(res[p]["verdict"] == "exactly the expired set" for p in ("find", "sessgc"))
        n, expired = int(head.group(1)), int(exp.group(2))
        rows.append([f"4. sessgc on NFS (netem {head.group(2).replace('ms', ' ms')}, {num(n)} sessions, "
                     f"{rnd(100 * expired / n, 0)}% expired) ≥ 3× faster than `find -delete`, exactly the expired set",
                     f"{res['sessgc']['wall']:.2f} s against {res['find']['wall']:.2f} s; {res['sessgc']['per']:.2f} RPCs per removal "
                     f"(find {res['find']['per']:.2f})", f"**{ratio(sp)}×** as fast",
                     f"3× {yn(Decimal(ratio(sp)) >= 3)}; ≤ 3 RPCs {yn(res['sessgc']['per'] <= 3)}; exact set {yn(exact)}"])
        keys.append(f"- goal 4, NFS: find ÷ sessgc wall {ratio(sp)} (≥ 3), sessgc RPCs per removal {res['sessgc']['per']:.2f} (≤ 3), "
                    f"exactly the expired set: {yn(exact)}")
    except Exception as e:
        rows.append(["4. (NFS)", run.failed(e), "–", "–"])
    # 4, ext4
    try:
        res, *_ = run.gc_ext4()
        w = lambda p, ph: float(res[(p, ph)]["wall"].rstrip("s"))
        cpu = lambda p, ph: float(res[(p, ph)]["cpu_s"])
        fsin = lambda p, ph: int(res[(p, ph)]["fs_inputs"])
        mib = lambda p: rnd(fsin(p, "cold") * 512 / 1048576, 1)
        sp, cr, dr, wr = (w("find", "cold") / w("sessgc", "cold"), cpu("sessgc", "cold") / cpu("find", "cold"),
                          fsin("sessgc", "cold") / fsin("find", "cold"), w("sessgc", "warm") / w("find", "warm"))
        rows.append(["4. sessgc on local ext4: cold ≥ 1.5× find at ≤ 1.0× its CPU and data read; warm ≤ 1.0× find",
                     f"cold {w('sessgc', 'cold'):.2f} s, {cpu('sessgc', 'cold'):.2f} s CPU, {mib('sessgc')} MiB read, against "
                     f"{w('find', 'cold'):.2f} s, {cpu('find', 'cold'):.2f} s, {mib('find')} MiB; warm {w('sessgc', 'warm'):.2f} s "
                     f"against {w('find', 'warm'):.2f} s",
                     f"cold **{ratio(sp)}×** as fast, {ratio(cr)}× CPU, **{ratio(dr)}×** data; warm **{ratio(wr)}×** the time",
                     f"cold speed {yn(Decimal(ratio(sp)) >= Decimal('1.5'))}, CPU {yn(le1(cr))}, data {yn(le1(dr))}; warm {yn(le1(wr))}"])
        keys.append(f"- goal 4, ext4: cold find ÷ sessgc wall {ratio(sp)} (≥ 1.5), CPU sessgc ÷ find {ratio(cr)} (≤ 1.0), "
                    f"data read {ratio(dr)} (≤ 1.0); warm sessgc ÷ find wall {ratio(wr)} (≤ 1.0)")
    except Exception as e:
        rows.append(["4. (ext4)", run.failed(e), "–", "–"])
    # 5
    try:
        h = rpc_halves(run, r"/RPCBudgets$")
        g = lambda n, d: h[(d, n)]
        t0, t1 = g("Touch", False), g("Touch", True)
        l0, l1 = g("Load, this host wrote last", False), g("Load, this host wrote last", True)
        c0, c1 = g("Load with cache, unchanged", False), g("Load with cache, unchanged", True)
        rows.append(["5. NFS: Touch 1 RPC where provable; cached Load 2",
                     f"Touch alone {t0[2]:.2f} / {t1[2]:.2f} RPCs (SETATTR {t0[5].get('SETATTR', 0):.2f}); uncached Load "
                     f"{l0[2]:.2f} / {l1[2]:.2f}; cached Load {c0[2]:.2f} / {c1[2]:.2f} (delegations off / on)", "–",
                     f"Touch median {t0[3]:g} / {t1[3]:g}: {yn(max(t0[3], t1[3]) <= 1)}; cached Load median {c0[3]:g} / {c1[3]:g}: "
                     f"{yn(max(c0[3], c1[3]) <= 2)}"])
        keys.append(f"- goal 5: Touch median {t0[3]:g} / {t1[3]:g} RPCs (1), cached Load median {c0[3]:g} / {c1[3]:g} (2); "
                    f"the suite {suite_result(run)}")
    except Exception as e:
        rows.append(["5.", run.failed(e), "–", "–"])
    out = ["## Goals at a glance", "",
           "The \"met?\" column is each criterion's verdict on this run's figures; the page's own column explains it.", "",
           table(["goal", "measured in this run", "ratio", "met?"], rows), "",
           "### Key ratios, per goal", ""] + keys
    return out


def sec_run(run):
    out = ["## The run", ""]
    try:
        m = dict(re.findall(r"^(\w+):\s+(.*)$", run.text("machine.txt"), re.M))
        out.append(f"- date {m.get('date', '?')}, commit `{m.get('commit', '?')[:7]}`"
                   + (m.get("commit", "")[40:] if len(m.get("commit", "")) > 40 else "")
                   + f"; {m.get('cpu', '?')}, {m.get('memory', '?')}, kernel {m.get('kernel', '?')}; "
                   f"{m.get('go', '?').replace('go version ', '')}; PHP {m.get('php', '?')}; "
                   f"Redis {re.sub(r' .*', '', m.get('redis', '?').replace('Redis server v=', ''))}")
        out.append(f"- load before the run: {' / '.join(m.get('load', '? ? ?').split()[:3])}")
    except Missing as e:
        out.append(f"- {e}")
    try:
        times = re.findall(r"^(\S+): (\d+) s, exit (\d+)$", run.text("times.txt"), re.M)
        tot = sum(int(t) for _, t, _ in times)
        out.append(f"- {tot // 60} min {tot % 60} s in the steps ("
                   + ", ".join(f"{n} {t} s" + ("" if rc == "0" else f", exit {rc}") for n, t, rc in times) + ")")
    except Missing as e:
        out.append(f"- {e}")
    try:
        g = re.findall(r"guest ran (\S+)", run.text("nfs/rpc-suite.txt"))
        if g:
            out.append(f"- the NFS suite's guest ran {', '.join(g)}")
    except Missing:
        pass
    return out


SECTIONS = [sec_run, sec_spread, goals, sec_http, sec_fsync, sec_cycle, sec_codec, sec_gc_ext4, sec_gc_nfs,
            sec_rpc, sec_scs, sec_http_rpc]
OPTIONAL = {sec_http_rpc}


def render(outdir):
    run = Run(outdir)
    parts, ok = [], True
    parts.append(f"# Tables of docs/benchmarks.md, from `{os.path.basename(os.path.normpath(outdir))}`\n\n"
                 "Rendered by `scripts/bench-tables.py` from the raw outputs of one run of `scripts/bench-all.sh`; "
                 "1 KiB / 16 KiB where a cell has two figures.")
    for sec in SECTIONS:
        label = sec.__name__.removeprefix("sec_")
        try:
            parts.append("\n".join(sec(run)))
        except Missing as e:
            if sec in OPTIONAL:
                continue
            parts.append(f"_{label}: not rendered: {e}_")
        except Exception:  # a renderer bug must not cost the other tables
            ok = False
            parts.append(f"_{label}: renderer error:_\n\n```\n{traceback.format_exc()}```")
    return "\n\n".join(parts) + "\n", ok and run.errors == 0


# --- comparing with the page


def md_tables(text):
    """{header tuple: {first cell: [cells]}} of every table in a markdown text."""
    out, lines = {}, text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|(\s*-+\s*\|)+\s*$", lines[i + 1]):
            head = tuple(c.strip() for c in lines[i].strip().strip("|").split("|"))
            rows = out.setdefault(head, {})
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                # A row is known by its first cell without footnote marks,
                # and a first cell that repeats under one header ("the
                # same, `Optimistic`") by its turn: both sides count alike.
                key = base = re.sub(r"[\s¹²³⁴⁵⁶⁷⁸⁹⁰]+$", "", cells[0])
                turn = 1
                while key in rows:
                    turn += 1
                    key = f"{base} #{turn}"
                rows[key] = cells
                i += 1
        else:
            i += 1
    return out


def diff(rendered, doc):
    """Cells of the rendered tables whose numbers differ from the page's
    cell in the same table (same header), row (same first cell) and
    column. The page's wording around its numbers (links, notes in
    parentheses) is its own; the prose columns ("met?", the RPC
    breakdowns) are compared only where the rendered numbers are missing
    from the page's."""
    norm = lambda s: re.sub(r"\s+", " ", s.replace("**", "")).strip()
    nums = lambda s: re.findall(r"\d[\d,]*(?:\.\d+)?", re.sub(r"\(#[^)]*\)|`[^`]*`", "", s))
    mine, theirs = md_tables(rendered), md_tables(doc)
    n = worded = 0
    for head, rows in mine.items():
        if head not in theirs:
            print(f"table not on the page: {' | '.join(head)}")
            continue
        for key, cells in rows.items():
            other = theirs[head].get(key)
            if other is None:
                print(f"[{head[0]}] row not on the page: {key}")
                n += 1
                continue
            for h, a, b in zip(head, cells, other):
                if norm(a) == norm(b):
                    continue
                na, nb = nums(a), nums(b)
                prose = h == "met?" or "breakdown" in h
                # A prose column counts the repetitions' fractions (READ
                # 0.25) as its numbers: "GETATTR ×2" may be written out.
                frac = lambda v: [x for x in v if "." in x] if prose else v
                # A note in parentheses on one side only (the page's
                # comment, the rendered median) leaves the rest to compare.
                bare = lambda s: nums(re.sub(r"\([^()]*\)", "", s))
                one_note = ("(" in a) != ("(" in b)
                if frac(na) == frac(nb) or (prose and not [x for x in frac(na) if x not in nb]) or \
                        (one_note and bare(a) == bare(b)):
                    worded += 1
                    continue
                print(f"[{head[0]}] {key} / {h}:\n    rendered: {a}\n    page:     {b}")
                n += 1
    for head, rows in theirs.items():
        if head not in mine:
            print(f"table on the page not rendered from this run: {' | '.join(head)}")
            continue
        for key in rows:
            if key not in mine[head]:
                print(f"[{head[0]}] row on the page not rendered from this run: {key}")
    print(f"({worded} more cells have the same numbers in other words)")
    return n


def main(argv):
    args = argv[1:]
    doc = None
    if "--diff" in args:
        i = args.index("--diff")
        doc = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
        if doc is None:
            args = []
    if len(args) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, ok = render(args[0])
    if doc is None:
        sys.stdout.write(out)
        return 0 if ok else 1
    with open(doc, encoding="utf-8") as f:
        n = diff(out, f.read())
    print(f"{n} cells differ")
    return 0 if ok and n == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
