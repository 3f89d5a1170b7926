#!/usr/bin/env python3
"""bench-tables.py: render docs/benchmarks.md's figures from one run of
scripts/bench-all.sh, so that the page is refreshed by a command rather than
by transcribing medians, ratios and verdicts by hand.

    scripts/bench-tables.py OUTDIR                  print the page's generated blocks
    scripts/bench-tables.py OUTDIR --write DOC.md   rewrite DOC's blocks in place
    scripts/bench-tables.py OUTDIR --diff DOC.md    list where DOC differs from the run
    scripts/bench-tables.py --self-test             check the script on its stored run

OUTDIR is bench-all.sh's output directory (bench-all.sh writes OUTDIR/tables.md
with this script at the end of a run). Every figure of the page that comes
from a run stands in a generated block,

    <!-- bench:begin NAME -->
    ...
    <!-- bench:end NAME -->

whose text this script renders from OUTDIR alone (BLOCKS below names them):
the tables, the sentences that quote the run's figures, "The run"'s facts
(date, commit, clean tree, load before, step times, machine, device, from
machine.txt, times.txt and device.txt) and the verdicts of "Goals at a
glance" (GOALS below states each goal's thresholds). --write replaces the
text between each begin and end line and leaves the page's own prose, which
quotes no figure of a run, as it is; --diff then reports nothing. When the
run is not the one the page held, the goals block gets one line per goal
with the previous run's ratios and verdict, read from the page before it is
overwritten. An optional OUTDIR/notes.md (the maintainer's words on the run:
what else ran, what disturbed a step) goes into "The run" as it stands.
README.md at the top of the repository holds one block too (README_BLOCKS:
its sentence on the local figures, naming the run): --write and --diff of
docs/benchmarks.md write and compare it as well.

Every figure follows the definition the page states for it:

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

Figures are rounded half up, thousands with commas. Only the Python standard
library. A block whose raw output is missing (a step left out by SECTIONS,
or failed before writing it) says so in its place; one the renderer cannot
read prints its error there and makes the exit status 1; the other blocks
are rendered either way.
"""

import contextlib
import difflib
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
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
    """sessbench's figures (httppeers.FormatNS): µs to a tenth below 10 µs,
    whole µs, ms with two decimals, or s with two from 1 s, the form chosen
    after rounding: 999.6 µs is 1.00 ms, not 1000 µs. An exact half rounds
    up, on whole nanoseconds (report.RoundDiv)."""
    ns = int(ns)
    if ns < 0:
        return "-" + http_t(-ns)
    q = (ns + 50) // 100
    if q < 100:
        return f"{q // 10}.{q % 10} µs"
    q = (ns + 500) // 1000
    if q < 1000:
        return f"{q} µs"
    q = (ns + 5000) // 10000
    if q < 100000:
        return f"{q // 100}.{q % 100:02d} ms"
    q = (ns + 5000000) // 10000000
    return f"{q // 100}.{q % 100:02d} s"


def pair_http(a_ns, b_ns):
    """'362 / 410 µs' as sessbench prints them (http_t), the first unit
    left out only where both are µs: '958 µs / 1.04 ms', not '958 / 1.04 ms'
    (a p99 from 1 s is in s)."""
    a, b = http_t(a_ns), http_t(b_ns)
    if a.endswith(" µs") and b.endswith(" µs"):
        a = a[:-len(" µs")]
    return f"{a} / {b}"


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


def minus(s):
    """'-0.3' as the page writes it: '−0.3'."""
    return "−" + s[1:] if s.startswith("-") else s


def moves(x, nd):
    """'grows by 23' or 'falls by 3' (x rounded to nd decimals)."""
    r = rnd(x, nd)
    return f"falls by {r[1:]}" if r.startswith("-") else f"grows by {r}"


def pct(x, y):
    """How far two ratios (1 KiB, 16 KiB) are from 1, in words:
    '15% / 11% above', '3% below / 5% above', 'level / 2% above'."""
    def one(r):
        p = Decimal(rnd((r - 1) * 100, 0))
        return ("level", "") if p == 0 else (f"{abs(p)}%", "above" if p > 0 else "below")
    (a, da), (b, db) = one(x), one(y)
    if da == db:
        return f"{a} / {b} {da}".rstrip()
    return f"{a} {da} / {b} {db}".replace("  ", " ").strip()


# --- the generated blocks of the page, each rendered from the run alone


def blk_http(run):
    r, by = http_figs(run)
    rows = []
    failed = 0
    for x in r["results"]:
        lost = f"{x['lost_updates']} of {x['hot_ok']}"
        rows.append([PEER.get(x["peer"], x["peer"]), sz(x["size"]), http_t(x["p50_ns"]), http_t(x["p99_ns"]),
                     f"{num(x['throughput_rps'])} req/s", bold(lost, x["peer"] == "sessfs" and x["lost_updates"] == 0)])
        if x.get("hot_failed") or x.get("hot_saved_failed"):
            failed += x.get("hot_failed", 0)
            rows[-1][-1] += f" ({x.get('hot_failed', 0)} failed, {x.get('hot_saved_failed', 0)} of them saved)"
    out = [f"{r.get('rounds')} rounds of {r.get('duration_s')} s per peer, size and measurement, interleaving the "
           f"peers; {r.get('sessions')} sessions per peer and size. "
           + ("No increment failed in this run." if not failed else f"{failed} increments failed in this run (the last column)."),
           "",
           table(["peer", "size", "p50, 1 client", "p99, 1 client", f"throughput, {r['concurrency']} clients",
                  f"lost updates, {r['hot_clients']} × {r['hot_increments']} on one session"], rows), ""]
    s, c = [by[("sessfs", n)] for n in SIZES], [by[("scs-redis", n)] for n in SIZES]
    p50 = [a["p50_ns"] / b["p50_ns"] for a, b in zip(s, c)]
    thr = [a["throughput_rps"] / b["throughput_rps"] for a, b in zip(s, c)]
    line = (f"sessfs ÷ scs + redisstore: p50 **{ratio(p50[0])}×** at 1 KiB and **{ratio(p50[1])}×** at 16 KiB, "
            f"throughput **{ratio(thr[0])}×** and **{ratio(thr[1])}×**.")
    m = by.get(("scs-mem", 1024))
    if m:
        line += (f" scs + redisstore's p50 is {rnd(c[0]['p50_ns'] / m['p50_ns'], 1)}× scs memstore's at 1 KiB, "
                 f"sessfs's {rnd(s[0]['p50_ns'] / m['p50_ns'], 1)}×")
        line += (": on this machine Redis's loopback round trip costs more than the store's file system calls."
                 if c[0]["p50_ns"] > s[0]["p50_ns"] else ".")
    out.append(line)
    return out


def paired_figs(run, op, size):
    p = run.paired()
    name = f"BenchmarkPaired/op={op}/size={size}"
    return dict(base=med(p, name, "base-p50-ns"), store=med(p, name, "store-p50-ns"),
                ratio=med(p, name, "ratio-p50"), ratios=vals(p, name, "ratio-p50"),
                pairs=int(med(p, name, "n")), runs=len(p.get(name, [])))


def blk_fsync(run):
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
    out = [f"`BenchmarkPaired`: the store's Save and the raw temp file + rename (+ the same syncs) alternate "
           f"operation by operation, {num(a['pairs'])} pairs per run, p50 of each, median of {a['runs']} runs "
           "(the ratio: median of the runs' ratios); 1 KiB / 16 KiB:", "",
           table(["durability", "raw temp + rename", "store Save", "store ÷ raw"], rows), ""]
    try:
        _, by = http_figs(run)
    except Missing:
        by = None
    k = [f["file"][i]["store"] / f["none"][i]["store"] for i in (0, 1)]
    extra = [f["file"][i]["store"] - f["none"][i]["store"] for i in (0, 1)]
    rs = [f[d][i]["ratio"] for d in ("file", "full") for i in (0, 1)]
    line = (f"With `fdatasync` a Save costs {rnd(k[0], 1)} (1 KiB) and {rnd(k[1], 1)} (16 KiB) times one without "
            f"on this device, {rnd(extra[0] / 1e6, 2)} / {rnd(extra[1] / 1e6, 2)} ms more.")
    if by:
        h = [by[("sessfs", n)]["p50_ns"] for n in SIZES]
        rd = [by[("scs-redis", n)]["p50_ns"] for n in SIZES]
        slow = [(h[i] + extra[i]) / h[i] for i in (0, 1)]
        vs = [(h[i] + extra[i]) / rd[i] for i in (0, 1)]
        line += (f" The whole HTTP request costs {pair_http(h[0], h[1])} without it (p50): "
                 f"an fsync per request would make it about {rnd(slow[0], 1)} / {rnd(slow[1], 1)} times as slow, "
                 f"{rnd(vs[0], 1)} / {rnd(vs[1], 1)} times scs + Redis's p50.")
    line += f" With a sync the store is {ratio(min(rs))}–{ratio(max(rs))}× the raw system calls."
    out.append(line)
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
                    d[impl + " runs"] = vals(c, base + impl, "p50-ns")
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


def blk_cycle(run):
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
    out = [f"p50 in µs, median of {len(d['store runs'])} runs; PHP's own handler {num(d.get('php n', 0))} requests per run, "
           f"the range of its runs in parentheses; \"paired\" from `BenchmarkPaired` ({num(d['paired']['pairs'])} pairs "
           f"per run, median of {d['paired']['runs']} ratios, their range in parentheses for the locked cycle).", "",
           table(["request", "store", "real PHP 8.2", "Go replay of PHP", "atomic floor (`impl=raw-falloc`)",
                  "store ÷ PHP", "store ÷ replay, separate", "store ÷ replay, paired", "store ÷ floor, paired"], rows),
           ""]
    fl = [fig[("Cycle", s)] for s in ("1KiB", "16KiB")]
    tc = [fig[("TouchCycle", s)] for s in ("1KiB", "16KiB")]
    lines = []
    if all("php" in x for x in tc):
        lines.append(f"The touch cycle is {pct(tc[0]['store'] / tc[0]['php'], tc[1]['store'] / tc[1]['php'])} "
                     f"real PHP's; against the replay "
                     f"{pct(tc[0]['paired']['ratio'], tc[1]['paired']['ratio'])} paired, "
                     f"{pct(tc[0]['store'] / tc[0]['php-go'], tc[1]['store'] / tc[1]['php-go'])} separately. "
                     f"The store's three separate touch runs span {rng(tc[0]['store runs'], 2, 1e3)} / "
                     f"{rng(tc[1]['store runs'], 2, 1e3)} µs.")
    if all("php" in x for x in fl):
        lines.append(f"The locked cycle is {ratio(fl[0]['store'] / fl[0]['php'])} / {ratio(fl[1]['store'] / fl[1]['php'])}× "
                     f"real PHP's; the atomic floor, a new fallocated file renamed over the record in bare system calls, "
                     f"is {ratio(fl[0]['raw-falloc'] / fl[0]['php'])} / {ratio(fl[1]['raw-falloc'] / fl[1]['php'])}× "
                     f"PHP's in-place rewrite, and the store {ratio(fl[0]['floor paired']['ratio'])} / "
                     f"{ratio(fl[1]['floor paired']['ratio'])}× the floor (paired).")
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
    lines.append(f"Over this run's separate and paired runs the locked cycle's p50 spans {spans['store'][0]} / "
                 f"{spans['store'][1]} µs for the store and {spans['replay'][0]} / {spans['replay'][1]} µs for "
                 "the replay: a paired ratio cancels such moves, separate ratios and ranges do not.")
    out.append("\n".join(lines))
    return out


def blk_spread(run):
    """Means against p50s: the lock's fairness pause."""
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
    out = [table(["benchmark", "mean", "p50", "mean ÷ p50", "p99"], rows), ""]
    lines = []
    for bench, ref, what, cyc in (("Cycle", "raw-falloc", "the floor's", "locked cycle"),
                                  ("TouchCycle", "php-go", "the replay's", "touch cycle")):
        d = [fig[(bench, s)] for s in ("1KiB", "16KiB")]
        would = [x["store"] * x[ref + " mean"] / x[ref] for x in d]
        lines.append(f"With {what} spread the store's {cyc} would have a mean of {rnd(would[0] / 1e3, 1)} / "
                     f"{rnd(would[1] / 1e3, 1)} µs; the measured one is {ratio(d[0]['store mean'] / would[0])} / "
                     f"{ratio(d[1]['store mean'] / would[1])} times that (the pause alone: up to 1.2).")
    out.append("\n".join(lines))
    return out


def codec_figs(run):
    c = run.codec()
    req = {}
    for kind in ("blob", "keys", "blob-reuse", "keys-reuse"):
        for size in ("1K", "16K"):
            n = f"BenchmarkRequest/{kind}/{size}"
            # The -reuse cases (WithBufferReuse, opt-in) are shown beside
            # the default when the run has them; verdicts use the default.
            if kind.endswith("-reuse") and n not in c:
                continue
            req[(kind, size)] = dict(ns=med(c, n, "ns/op"), b=med(c, n, "B/op"), allocs=med(c, n, "allocs/op"),
                                     cpu=med(c, n, "cpu-ns/op") if any("cpu-ns/op" in r for r in c.get(n, [])) else None,
                                     runs=len(c[n]))
    return c, req


def blk_codec_request(run):
    c, req = codec_figs(run)
    rows = []
    for kind in ("blob", "keys", "blob-reuse", "keys-reuse"):
        if (kind, "1K") not in req or (kind, "16K") not in req:
            continue
        a, b = req[(kind, "1K")], req[(kind, "16K")]
        cell = lambda x: f"{rnd(x['ns'] / 1e3, 1)} µs, {num(x['b'])} B, {num(x['allocs'])} allocs"
        label = kind if not kind.endswith("-reuse") else f"{kind.removesuffix('-reuse')}, `WithBufferReuse`"
        rows.append([label, cell(a), cell(b), ratio(b["ns"] / a["ns"])])
    out = [f"Medians of {req[('blob', '1K')]['runs']} runs.", "",
           table(["`BenchmarkRequest` (mean)", "1 KiB", "16 KiB", "16 KiB ÷ 1 KiB"], rows), ""]
    lines = []
    grow = [req[(k, "16K")]["ns"] - req[(k, "1K")]["ns"] for k in ("blob", "keys")]
    lines.append(f"From 1 KiB to 16 KiB the mean {moves(grow[0] / 1e3, 0)} µs (blob) and {moves(grow[1] / 1e3, 0)} µs (keys).")
    cpu = [req[(k, s)]["cpu"] for k in ("blob", "keys") for s in ("1K", "16K")]
    if all(x is not None for x in cpu):
        lines.append(f"The CPU time per request (`cpu-ns/op`) goes from {rnd(cpu[0] / 1e3, 1)} to {rnd(cpu[1] / 1e3, 1)} µs "
                     f"(blob) and from {rnd(cpu[2] / 1e3, 1)} to {rnd(cpu[3] / 1e3, 1)} µs (keys), "
                     f"{ratio(cpu[1] / cpu[0])} / {ratio(cpu[3] / cpu[2])} times.")
    try:
        _, by = http_figs(run)
        h = [by[("sessfs", n)]["p50_ns"] for n in SIZES]
        p99 = [by[("sessfs", n)]["p99_ns"] for n in SIZES]
        fig = cycle_figs(run)
        a, b = fig[("Cycle", "1KiB")], fig[("Cycle", "16KiB")]
        lines.append(f"The same run's other measures of the same step: the HTTP peers' sessfs p50 (one client, through "
                     f"`sessbench`) {pair_http(h[0], h[1])}, {ratio(h[1] / h[0])}, its p99 "
                     f"{pair_http(p99[0], p99[1])}; the store's locked cycle alone "
                     f"(`BenchmarkCycle`, `impl=store`, p50) {rnd(a['store'] / 1e3, 1)} / {rnd(b['store'] / 1e3, 1)} µs, "
                     f"{ratio(b['store'] / a['store'])}, and the atomic floor in bare system calls (`impl=raw-falloc`, p50) "
                     f"{rnd(a['raw-falloc'] / 1e3, 1)} / {rnd(b['raw-falloc'] / 1e3, 1)} µs, "
                     f"{ratio(b['raw-falloc'] / a['raw-falloc'])}.")
        grow = h[1] - h[0]
        kern = b["raw-falloc"] - a["raw-falloc"]
        store = (b["store"] - a["store"]) - kern
        codec = med(c, "BenchmarkCodec/blob/16K/one-changed", "ns/op") - med(c, "BenchmarkCodec/blob/1K/one-changed", "ns/op")
        lines.append(f"From 1 KiB to 16 KiB the median request {moves(grow / 1e3, 0)} µs, of which the kernel's "
                     f"work on the larger record (the floor's growth) accounts for {minus(rnd(kern / 1e3, 1))} µs, the store's own "
                     f"code for {minus(rnd(store / 1e3, 1))} µs and the codec's for {minus(rnd(codec / 1e3, 1))} µs (blob, "
                     f"one-changed, below); {minus(rnd((grow - kern - store - codec) / 1e3, 0))} µs are not accounted for "
                     "by the run's measurements.")
    except (Missing, KeyError):
        pass
    out.append("\n".join(lines))
    return out


def blk_codec(run):
    c = run.codec()
    rows = []
    for op in ("read-only", "one-changed", "all-changed"):
        row = [op]
        for kind in ("blob", "keys"):
            a, b = f"BenchmarkCodec/{kind}/1K/{op}", f"BenchmarkCodec/{kind}/16K/{op}"
            row.append(f"{num(med(c, a, 'ns/op'))} → {num(med(c, b, 'ns/op'))}")
            row.append(f"{num(med(c, a, 'B/op'))} / {num(med(c, a, 'allocs/op'))} → "
                       f"{num(med(c, b, 'B/op'))} / {num(med(c, b, 'allocs/op'))}")
        rows.append(row)
    out = [table(["codec, 1 KiB → 16 KiB", "blob, ns", "blob, B / allocs", "keys, ns", "keys, B / allocs"], rows), ""]
    one = [med(c, f"BenchmarkCodec/{k}/16K/one-changed", "ns/op") for k in ("blob", "keys")]
    line = (f"The codec's share of the 16 KiB request when one value changes is {rnd(one[0] / 1e3, 1)} µs for a blob "
            f"and {rnd(one[1] / 1e3, 1)} µs for keys")
    try:
        _, req = codec_figs(run)
        _, by = http_figs(run)
        line += (f", against {http_t(by[('sessfs', 16384)]['p50_ns'])} (p50) to "
                 f"{rnd(req[('blob', '16K')]['ns'] / 1e3, 0)}–{rnd(req[('keys', '16K')]['ns'] / 1e3, 0)} µs (mean) for the request")
    except (Missing, KeyError):
        pass
    out.append(line + ".")
    return out


def blk_gc_ext4(run):
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

    t = run.text("gc-ext4/gc.txt")
    gens = re.findall(r"wrote \d+ sessions in ([\d.]+)s", t)
    age = re.search(r"aged \d+ by (\d+)h", t)
    out = [f"`scripts/gc-bench.sh WORK/mnt/gc {n} {conc}`: two stores of {num(n)} sessions of 1 KiB (depth-1 shards), "
           f"{num(aged)} aged {age.group(1) if age else '?'} h, each written by `gcgen`"
           + (f" ({' and '.join(rnd(float(g), 1) + ' s' for g in gens)})" if gens else "")
           + ", one for each program.", "",
           table(["pass", "command", "wall", "CPU (user + sys)", "data read", "peak RSS"],
                 [row("find", "cold"), row("sessgc", "cold"), row("find", "warm"), row("sessgc", "warm")]), ""]
    w = lambda p, ph: float(res[(p, ph)]["wall"].rstrip("s"))
    cpu = lambda p, ph: float(res[(p, ph)]["cpu_s"])
    fsin = lambda p, ph: int(res[(p, ph)]["fs_inputs"])
    lines = []
    if left:
        lines.append(f"After the cold pass find left {num(int(left.get('find', 0)))} files, sessgc "
                     f"{num(int(left.get('sessgc', 0)))}" + (f" (its summary: removed {num(summ['removed'])})" if summ else "")
                     + ".")
    lines.append(f"Cold, sessgc is {ratio(w('find', 'cold') / w('sessgc', 'cold'))}× as fast as find, reading "
                 f"{ratio(fsin('sessgc', 'cold') / fsin('find', 'cold'))}× its data with "
                 f"{ratio(cpu('sessgc', 'cold') / cpu('find', 'cold'))}× its CPU; warm it takes "
                 f"{ratio(w('sessgc', 'warm') / w('find', 'warm'))}× find's time with "
                 f"{ratio(cpu('sessgc', 'warm') / cpu('find', 'warm'))}× its CPU.")
    out.append("\n".join(lines))
    return out


def rpc_ops_str(ops, lead=None):
    """'REMOVE 1.00, READDIR 0.13, ...': the nonzero ops, largest first."""
    items = [(k, v) for k, v in ops.items() if v > 0]
    items.sort(key=lambda kv: (-kv[1], [-ord(ch) for ch in kv[0]]))
    return ", ".join(f"{k} {v:.2f}" for k, v in items)


def blk_gc_nfs(run):
    head, exp, res, summ = run.gc_nfs()
    n, delay = (int(head.group(1)), head.group(2)) if head else (None, "?")
    expired = int(exp.group(2)) if exp else None
    t = run.text("nfs/gc/nfs-gc-bench.txt")
    gen = re.search(r"wrote \d+ sessions in ([\d.]+)s, aged \d+ by (\d+)h", t)
    rtt = float(delay.rstrip("ms")) * 2 if delay.endswith("ms") else None
    rows = []
    for prog, command in (("find", "`find COPY/data -type f -mmin +1440 -delete`"),
                          ("sessgc", "`sessgc run --dir STORE --json` (defaults: `--concurrency 16`)")):
        x = res[prog]
        removed = (f"exactly the {num(x['removed'])} expired" if x["verdict"] == "exactly the expired set"
                   else f"{num(x['removed'])}: {x['verdict']}")
        per = f"{x['per']:.2f}: {rpc_ops_str(x['ops'])}"
        rows.append([command, f"{x['wall']:.2f} s", removed, bold(per, prog == "sessgc")])
    out = [f"`scripts/nfs-gc-bench.sh -n {n} -d {delay}`: {num(n)} sessions of 1 KiB, {num(expired)} aged "
           f"{gen.group(2) if gen else '?'} h, netem {delay.replace('ms', ' ms')} each way"
           + (f" (RTT {rnd(rtt, 0)} ms)" if rtt else "")
           + (f"; `gcgen` took {rnd(float(gen.group(1)), 1)} s to write the store in the guest" if gen else "") + ".", "",
           table(["command", "wall", "removed", "RPCs per removal"], rows), ""]
    sp = res["find"]["wall"] / res["sessgc"]["wall"]
    lines = [f"sessgc is {ratio(sp)}× as fast as find"
             + (f" (its own summary counts {rnd(summ['duration_seconds'], 2)} s of sweep; the rest is starting the "
                "process and its worker child)" if summ else "")
             + f", with {res['sessgc']['per']:.2f} RPCs per removal; 3× find would mean sessgc in "
             f"{rnd(res['find']['wall'] / 3, 2)} s."]
    if rtt:
        rt = res["find"]["rpcs"] * rtt / 1e3
        lines.append(f"find makes its {num(res['find']['rpcs'])} RPCs one after the other: {rnd(rt, 2)} s of round trips "
                     f"at {rnd(rtt, 0)} ms, {rnd(res['find']['wall'] - rt, 2)} s left of its time.")
    out.append("\n".join(lines))
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
    ("Save, new session", "Save, new session"),
    ("Touch", "Touch"),
    ("Lock+Load+Save+Unlock, own write", "Lock+Load+Save+Unlock, own write"),
    ("Lock+Load+Save+Unlock, other wrote", "Lock+Load+Save+Unlock, other wrote"),
    ("Lock+Load+Unlock, own write", "Lock+Load+Unlock, own write"),
    ("Lock+Load+Touch+Unlock, own write", "Lock+Load+Touch+Unlock, own write"),
    ("Lock+Load+Unlock, other wrote", "Lock+Load+Unlock, other wrote"),
    ("Health", "Health"),
    ("CompareAndSwap, new session", "CompareAndSwap, new session"),
    ("CompareAndSwap, this host wrote last", "CompareAndSwap, this host wrote last"),
    ("CompareAndSwap with cache, this host wrote last", "CompareAndSwap with cache, this host wrote last"),
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


def suite_result(run, rel="nfs/rpc-suite.txt", pkg="fsstore"):
    t = run.text(rel)
    if re.search(rf"^ok\s+\S+/{pkg}\b", t, re.M):
        return "passed"
    if re.search(r"^(FAIL|--- FAIL)", t, re.M):
        return "FAILED"
    return "did not finish"


def guest_ran(run, rel):
    """'2m34.6s (booted and mounted in 7.6s)' of the first guest of a -v output, or None."""
    try:
        m = re.search(r"guest ran (\S+) after its go \(booted and mounted in (\S+?),", run.text(rel))
    except Missing:
        return None
    return f"{m.group(1)} (booted and mounted in {m.group(2)})" if m else None


def blk_rpc(run):
    h = rpc_halves(run, r"/RPCBudgets$")
    if not h:
        raise Missing("no RPC| lines of TestNFSStore/delegations=.../RPCBudgets in nfs/rpc-suite.txt")
    rows = []
    names = [n for _, n in h]
    known = {t for t, _ in FSSTORE_ROWS}
    for test_name, label in FSSTORE_ROWS + [(n, n) for n in dict.fromkeys(names) if n not in known]:
        off, on = h.get((False, test_name)), h.get((True, test_name))
        if not off and not on:
            continue
        ref = off or on
        rows.append([label, budget_cell(ref[4]), rpc_cell(off) if off else "–", rpc_cell(on) if on else "–",
                     breakdown(ref[5])])
    reps = re.search(r"(\d+) repetitions", run.text("nfs/rpc-suite.txt"))
    out = [f"The suite {suite_result(run)} in this run" + (f"; its guest ran {guest_ran(run, 'nfs/rpc-suite.txt')}" if guest_ran(run, 'nfs/rpc-suite.txt') else "")
           + ". Average over the repetitions, the median repetition in parentheses where the average does not round to it; "
           "the breakdown is the delegations-off half's, whole RPCs then the fractions of the repetitions that sent one more.", "",
           table(["operation", "budget", "delegations off", "delegations on", "breakdown (delegations off)"], rows)]
    notc = {n: r[6] for (deleg, n), r in h.items() if deleg and r[6]}
    if notc:
        out += ["", "Not counted with delegations on (DELEGRETURNs answering the server's recalls): " +
                "; ".join(f"{n}: {', '.join(f'{k} {v:.2f}' for k, v in d.items())}" for n, d in notc.items()) + "."]
    return out


SCS_ROWS = [("Find, this host wrote last", "Find, this host wrote last", None),
            ("Find, other host wrote last", "Find, other host wrote last", None),
            ("Commit, new session", "Commit, new session", True),
            ("Commit, this host wrote last", "Commit, this host wrote last", True),
            ("Commit, other host wrote last", "Commit, other host wrote last", True),
            ("Delete, this host wrote last", "Delete, this host wrote last", True),
            ("Delete, other host wrote last", "Delete, other host wrote last", True)]


def blk_scs(run):
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
        # The budgets first: internal/docscheck holds them to the suite's.
        rows.append([label, budget_cell(g[4]), budget_cell(ng[4]) if ng else "–",
                     f"{g[3]:g} / {ng[3]:g}" if ng else f"{g[3]:g} / –", breakdown(g[5])])
    spread = max(abs(r[2] - r[3]) for r in lines.values())
    off = [f"{n.removeprefix('scs ')} (median {r[3]:g}, budget {budget_cell(r[4])})" for n, r in lines.items()
           if r[4].startswith("budget") and f"{r[3]:g}" != budget_cell(r[4])]
    reps = re.search(r"SCSRPCBudgets.*?(\d+) repetitions", run.text("nfs/rpc-suite.txt"), re.S)
    return [table(["operation", "guard", "no guard", "measured median, guard / no guard",
                   "breakdown with the guard (delegations off, averages)"], rows), "",
            f"Every median met its budget in this run"
            + (f"; below it: {'; '.join(off)}" if off else ", and equalled it")
            + f". Averages over the repetitions were within {rnd(spread, 2)} of the medians."]


HTTP_RPC_ROWS = [("first visit, Exclusive", "first visit (no cookie) that puts a value, `Exclusive`"),
                 ("first visit, Optimistic", "the same, `Optimistic`"),
                 ("gone session, Exclusive", "cookie naming a gone session (expired, logged out, forged), a read, `Exclusive`"),
                 ("gone session, Optimistic", "the same, `Optimistic`"),
                 ("read-modify-write, Exclusive", "read-modify-write, `Exclusive`"),
                 ("read-modify-write, Optimistic", "read-modify-write, `Optimistic`"),
                 ("read, Exclusive", "read, `Exclusive`"),
                 ("read, ReadOnly", "read, `ReadOnly`")]


def blk_http_rpc(run):
    """httpsession's per-request round trips (bench-all.sh's nfs step),
    rendered from OUTDIR/nfs/rpc-httpsession.txt, the -v output of
    `go test -run 'TestNFSOutage/RPCBudgets' ./httpsession`."""
    t = run.text("nfs/rpc-httpsession.txt")
    rows = parse_rpc_suite(t)
    by = {r[1]: r for r in rows}
    out = []
    for name, label in HTTP_RPC_ROWS:
        r = by.get(name)
        if r:
            out.append([label, budget_cell(r[4]), f"{r[2]:.2f}, {r[3]:g}", breakdown(r[5])])
    meas = re.search(r"(\d+) requests measured in ([\d.]+)s", t)
    warm = re.search(r"warmed up in ([\d.]+)s", t)
    g = guest_ran(run, "nfs/rpc-httpsession.txt")
    facts = [f"the guest ran {g}"] if g else []
    if meas:
        facts.append(f"the {meas.group(1)} measured requests {rnd(float(meas.group(2)), 1)} s of it")
    if warm:
        facts.append(f"the warm-up requests {rnd(float(warm.group(1)), 1)} s")
    return [f"The test {suite_result(run, 'nfs/rpc-httpsession.txt', 'httpsession')} in this run"
            + (f"; {', '.join(facts)}" if facts else "") + ".", "",
            table(["request", "budget", "measured (average, median)", "breakdown"], out)]


# The goals' criteria: what "met?" checks, each figure against its
# threshold, as the page's "Goals at a glance" states them. A goal is met
# when every one of its checks is.
GOALS = {
    "1": "≤ 1.0× scs + redisstore's p50, ≥ 1.0× its throughput, 0 lost updates, at both sizes",
    "2": "16 KiB ÷ 1 KiB ≤ 1.15: the one-client p50 and the mean of both codecs",
    "3 locked": "store ÷ PHP ≤ 1.0 at both sizes: real PHP, the replay separately and paired",
    "3 touch": "store ÷ PHP ≤ 1.0 at both sizes: real PHP, the replay paired",
    "4 nfs": "find ÷ sessgc ≥ 3 in wall time, ≤ 3 RPCs per removal, exactly the expired set",
    "4 ext4": "cold: find ÷ sessgc ≥ 1.5 in wall time, sessgc ÷ find ≤ 1.0 in CPU and in data read; "
              "warm: sessgc ÷ find ≤ 1.0 in wall time",
    "5": "the median repetition: Touch ≤ 1 RPC, a cached Load of an unchanged record ≤ 2, delegations off and on",
}


def verdict(checks):
    """'yes' when every check holds, else 'no: p50 no, mean (blob) yes, ...':
    each check (name, ok[, its figures' own verdicts, 'yes / no']) named."""
    if all(c[1] for c in checks):
        return "yes"
    return "no: " + ", ".join(f"{c[0]} {c[2] if len(c) > 2 else yn(c[1])}" for c in checks)


# The checks compare the ratio as the page shows it (two decimals), so that
# a verdict never contradicts the figure beside it.
def ge(x, t):
    return Decimal(ratio(x)) >= Decimal(t)


def le(x, t):
    return Decimal(ratio(x)) <= Decimal(t)


def goal_rows(run):
    """[(goal, measured, ratio, met?)] of "Goals at a glance"."""
    rows = []
    # 1
    try:
        r, by = http_figs(run)
        s, c = [by[("sessfs", n)] for n in SIZES], [by[("scs-redis", n)] for n in SIZES]
        p50 = [a["p50_ns"] / b["p50_ns"] for a, b in zip(s, c)]
        thr = [a["throughput_rps"] / b["throughput_rps"] for a, b in zip(s, c)]
        lost = [x["lost_updates"] for x in s]
        rows.append([f"1. a request out of the box ≤ 1.0× scs + redisstore p50, ≥ 1.0× its throughput ({r['concurrency']} clients), 0 lost updates",
                     f"p50 {pair_http(s[0]['p50_ns'], s[1]['p50_ns'])} against "
                     f"{pair_http(c[0]['p50_ns'], c[1]['p50_ns'])}; "
                     f"{num(s[0]['throughput_rps'])} / {num(s[1]['throughput_rps'])} against "
                     f"{num(c[0]['throughput_rps'])} / {num(c[1]['throughput_rps'])} req/s (1 KiB / 16 KiB)",
                     f"p50 **{ratio(p50[0])} / {ratio(p50[1])}**, throughput **{ratio(thr[0])} / {ratio(thr[1])}**, "
                     f"lost {lost[0]} of {s[0]['hot_ok']}" + (f" / {lost[1]} of {s[1]['hot_ok']}" if lost[1] or s[1]['hot_ok'] != s[0]['hot_ok'] else "")
                     + f" (scs + Redis: {c[0]['lost_updates']} / {c[1]['lost_updates']})",
                     verdict([("p50", all(le(x, 1) for x in p50)), ("throughput", all(ge(x, 1) for x in thr)),
                              ("lost updates", not any(lost))])])
    except Exception as e:
        rows.append(["1.", run.failed(e), "–", "–"])
    # 2
    try:
        parts, rats, checks = [], [], []
        try:
            _, by = http_figs(run)
            h = [by[("sessfs", n)]["p50_ns"] for n in SIZES]
            parts.append(f"HTTP peers' sessfs p50 (one client) {pair_http(h[0], h[1])}")
            rats.append(f"p50 {ratio(h[1] / h[0])}")
            checks.append(("p50", le(h[1] / h[0], "1.15")))
        except (Missing, KeyError):
            pass
        _, req = codec_figs(run)
        rb = req[("blob", "16K")]["ns"] / req[("blob", "1K")]["ns"]
        rk = req[("keys", "16K")]["ns"] / req[("keys", "1K")]["ns"]
        parts.append(f"`BenchmarkRequest` (mean) {rnd(req[('blob', '1K')]['ns'] / 1e3, 1)} / {rnd(req[('blob', '16K')]['ns'] / 1e3, 1)} µs (blob), "
                     f"{rnd(req[('keys', '1K')]['ns'] / 1e3, 1)} / {rnd(req[('keys', '16K')]['ns'] / 1e3, 1)} µs (keys)")
        rats.append(f"mean {ratio(rb)} / {ratio(rk)} (blob / keys)")
        checks += [("mean (blob)", le(rb, "1.15")), ("mean (keys)", le(rk, "1.15"))]
        if all((k, z) in req for k in ("blob-reuse", "keys-reuse") for z in ("1K", "16K")):
            ub = req[("blob-reuse", "16K")]["ns"] / req[("blob-reuse", "1K")]["ns"]
            uk = req[("keys-reuse", "16K")]["ns"] / req[("keys-reuse", "1K")]["ns"]
            rats.append(f"opt-in `WithBufferReuse` mean {ratio(ub)} / {ratio(uk)}")
        try:
            fig = cycle_figs(run)
            a, b = fig[("Cycle", "1KiB")], fig[("Cycle", "16KiB")]
            parts.append(f"the store's locked cycle alone {rnd(a['store'] / 1e3, 1)} / {rnd(b['store'] / 1e3, 1)} µs and the atomic floor "
                         f"(`impl=raw-falloc`) {rnd(a['raw-falloc'] / 1e3, 1)} / {rnd(b['raw-falloc'] / 1e3, 1)} µs")
            rats.append(f"store cycle {ratio(b['store'] / a['store'])}, floor {ratio(b['raw-falloc'] / a['raw-falloc'])}")
        except (Missing, KeyError):
            pass
        rows.append(["2. the 16 KiB request ≤ 1.15× the 1 KiB one", "; ".join(parts), "; ".join(rats), verdict(checks)])
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
        sizes = lambda xs: " / ".join(yn(le1(x)) for x in xs)
        checks = ([("real PHP", all(le1(x) for x in vp), sizes(vp))] if php else [("real PHP", False, "not measured")]) + \
            [("replay separate", all(le1(x) for x in vs), sizes(vs)), ("replay paired", all(le1(x) for x in pp), sizes(pp))]
        rows.append(["3. locked cycle ≤ 1.0× PHP (real and replay), 1 KiB / 16 KiB", meas, rat, verdict(checks)])
        a, b = fig[("TouchCycle", "1KiB")], fig[("TouchCycle", "16KiB")]
        f2 = lambda x: rnd(x / 1e3, 2)
        php = "php" in a and "php" in b
        meas = f"store {f2(a['store'])} / {f2(b['store'])} µs; " + \
            (f"PHP {f2(a['php'])} / {f2(b['php'])} µs; " if php else "") + f"replay {f2(a['php-go'])} / {f2(b['php-go'])} µs"
        vp = [a["store"] / a["php"], b["store"] / b["php"]] if php else None
        pp = [a["paired"]["ratio"], b["paired"]["ratio"]]
        rat = (f"real PHP {bold(ratio(vp[0]), le1(vp[0]))} / {bold(ratio(vp[1]), le1(vp[1]))}; " if php else "") + \
            f"replay paired {bold(ratio(pp[0]), le1(pp[0]))} / {bold(ratio(pp[1]), le1(pp[1]))}"
        checks = ([("real PHP", all(le1(x) for x in vp), sizes(vp))] if php else [("real PHP", False, "not measured")]) + \
            [("replay paired", all(le1(x) for x in pp), sizes(pp))]
        rows.append(["3. touch-only ≤ PHP's `lazy_write` touch", meas, rat, verdict(checks)])
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
                     verdict([("3×", ge(sp, 3)), ("≤ 3 RPCs", res["sessgc"]["per"] <= 3), ("exact set", exact)])])
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
                     verdict([("cold speed", ge(sp, "1.5")), ("cold CPU", le(cr, 1)), ("cold data", le(dr, 1)),
                              ("warm", le(wr, 1))])])
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
                     f"{l0[2]:.2f} / {l1[2]:.2f}; cached Load {c0[2]:.2f} / {c1[2]:.2f} (delegations off / on)",
                     f"median Touch {t0[3]:g} / {t1[3]:g}, cached Load {c0[3]:g} / {c1[3]:g}",
                     verdict([("Touch", max(t0[3], t1[3]) <= 1), ("cached Load", max(c0[3], c1[3]) <= 2)])])
    except Exception as e:
        rows.append(["5.", run.failed(e), "–", "–"])
    return rows


GOAL_HEAD = ["goal", "measured in this run", "ratio", "met?"]


def blk_goals(run, prev=None):
    """The goals-at-a-glance table; prev, the page's previous run (its
    name and its rows' ratio and met? cells), becomes one line a goal."""
    rows = goal_rows(run)
    out = [table(GOAL_HEAD, rows)]
    if prev and prev.get("rows"):
        out += ["", f"The previous run on this page ({prev['name']}), for comparison only:", ""]
        for i, r in enumerate(rows):
            p = prev["rows"].get(r[0]) or (prev["order"][i] if i < len(prev["order"]) else None)
            if p:
                name = GOAL_NAMES[i] if i < len(GOAL_NAMES) else r[0]
                out.append(f"- {name}: {p[2].replace('**', '')}; met? {p[3]}")
    return out


# The goals' short names, in goal_rows' order, for the previous run's lines.
GOAL_NAMES = ["1, the request against scs + redisstore", "2, 16 KiB against 1 KiB", "3, the locked cycle against PHP",
              "3, the touch cycle against PHP", "4, sessgc on NFS", "4, sessgc on local ext4", "5, NFS round trips"]


def machine(run):
    return dict((k, v.strip()) for k, v in re.findall(r"^(\w+):\s+(.*)$", run.text("machine.txt"), re.M))


def run_name(run):
    """'2026-12-05 16:39 UTC, `6a1c130`': a run as the page names it."""
    m = machine(run)
    d = m.get("date", "?").replace("T", " ")
    return f"{d[:16]} UTC, `{m.get('commit', '?')[:7]}`"


def blk_run(run):
    out = []
    m = machine(run)
    commit = m.get("commit", "?")
    dirty = re.search(r"\(with (\d+) changed files\)", commit)
    start = m.get("date", "?").replace("T", " ").rstrip("Z")
    try:
        tt = run.text("times.txt")
        times = re.findall(r"^(\S+): (\d+) s, exit (\d+)$", tt, re.M)
        fin = re.search(r"^finished: (\S+)", tt, re.M)
        if fin:
            end = fin.group(1).replace("T", " ").rstrip("Z")
        else:  # runs before the script wrote it: times.txt's last write, the last step's end
            end = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(os.path.join(run.outdir, "times.txt"))))
    except Missing:
        times, end = [], None
    when = f"{start[:16]}–{end[11:16]} UTC" if end and end[:10] == start[:10] else f"{start[:16]} UTC"
    tot = sum(int(t) for _, t, _ in times)
    guests = [(w, g) for w, g in (("the NFS suite's", guest_ran(run, "nfs/rpc-suite.txt")),
                                  ("`TestNFSOutage`'s", guest_ran(run, "nfs/rpc-httpsession.txt"))) if g]
    out.append(f"- **When, what:** {when}, commit `{commit[:7]}`, "
               + (f"the tree with {dirty.group(1)} changed files" if dirty else "the tree clean")
               + (f". {tot // 60} min {tot % 60} s in the steps ("
                  + ", ".join(f"{n} {t} s" + ("" if rc == "0" else f", exit {rc}") for n, t, rc in times)
                  + "), plus building and making the device" if times else "")
               + (f"; the NFS step's guests: {', '.join(f'{w} ran {g}' for w, g in guests)}" if guests else "")
               + " (the script does not record the sessgc benchmark's guest apart, nor any wait for another guest).")
    cpu = m.get("cpu", "?")
    gocpu = None
    try:
        c = re.search(r"^cpu: (.+?)\s*$", run.text("core/go.txt"), re.M)
        gocpu = c.group(1) if c else None
    except Missing:
        pass
    cm = re.match(r"(.*), nproc (\d+)$", cpu)
    cpu_s = f"\"{cm.group(1)}\", `nproc` {cm.group(2)}" if cm else cpu
    load = m.get("load", "? ? ?").split()[:3]
    out.append(f"- **Machine:** {cpu_s}" + (f" (Go's benchmarks name it \"{gocpu}\")" if gocpu else "")
               + f", {m.get('memory', '?')} RAM, kernel {m.get('kernel', '?')}, "
               f"Go {m.get('go', '?').replace('go version go', '').split()[0]}, PHP {m.get('php', '?')} CLI (files handler, "
               f"`lazy_write` on), Redis {re.sub(r' .*', '', m.get('redis', '?').replace('Redis server v=', ''))} "
               f"(`--save '' --appendonly no`, loopback). Load average {' / '.join(load)} before the run "
               "(1, 5 and 15 minutes).")
    try:
        d = dict((k, v.strip()) for k, v in re.findall(r"^(\w[\w ]*?):\s+(.*)$", run.text("device.txt"), re.M))
        opts = d.get("mkfs", "mkfs.ext4 -q -F").replace("mkfs.ext4 -q -F", "").strip()
        size = re.search(r", (\S+) sparse", d.get("image", ""))
        out.append(f"- **Device:** a journaled ext4 file system made fresh by the script on a loop device: a sparse "
                   f"image of {size.group(1) if size else '?'} on the VM's root file system, `mkfs.ext4` with "
                   + (f"the options `{opts}`" if opts else "its defaults")
                   + f", mounted {d.get('mount', '?').split()[-1]}; journal "
                   + ("present" if d.get("journal", "none") != "none" else "none") + ".")
    except Missing as e:
        out.append(f"- **Device:** {e}")
    try:
        note = run.text("notes.md").strip()
        if note:
            out.append("- **Notes on this run** (the maintainer's, `OUTDIR/notes.md`): " + " ".join(note.split()))
    except Missing:
        out.append("- **What else ran:** the script does not record it; the load average above is all it says.")
    return out


def blk_readme(run):
    """The README's sentence on local figures: the same run as the page's,
    named by its date and commit, so that a page refreshed without the
    README shows (docscheck compares the two names)."""
    _, by = http_figs(run)
    s, c = by[("sessfs", SIZES[0])], by[("scs-redis", SIZES[0])]
    fig = cycle_figs(run)[("Cycle", "1KiB")]
    f1 = lambda x: rnd(x / 1e3, 1)
    return [f"On local journaled ext4 (the scripted run of [docs/benchmarks.md](docs/benchmarks.md) of "
            f"{run_name(run)}, a 2-core VM; 1 KiB sessions, p50) an HTTP request through httpsession took "
            f"{http_t(s['p50_ns'])} against {http_t(c['p50_ns'])} for scs + Redis, and the store's locked cycle "
            f"{f1(fig['store'])} µs against {f1(fig['php'])} µs for PHP's files handler, which rewrites the "
            f"file in place where a reader can see it half-written; PHP's figure moves from run to run more than "
            f"the store's ([benchmarks](docs/benchmarks.md#the-locked-cycle-and-the-touch-cycle-against-php))."]


# name, title in OUTDIR/tables.md, renderer. Each is the text between
# <!-- bench:begin NAME --> and <!-- bench:end NAME --> on the page.
BLOCKS = [("run", "The run", blk_run),
          ("spread", "Means against medians", blk_spread),
          ("goals", "Goals at a glance", blk_goals),
          ("http", "HTTP request", blk_http),
          ("fsync", "What an fsync costs", blk_fsync),
          ("cycle", "The locked cycle and the touch cycle against PHP", blk_cycle),
          ("codec-request", "The session codec: the request", blk_codec_request),
          ("codec", "The session codec: the codec alone", blk_codec),
          ("gc-ext4", "sessgc against find: local ext4", blk_gc_ext4),
          ("gc-nfs", "sessgc against find: NFS", blk_gc_nfs),
          ("rpc", "NFS round trips per operation", blk_rpc),
          ("rpc-scs", "scsstore, with the delete guard and without", blk_scs),
          ("rpc-http", "httpsession, per request", blk_http_rpc)]
# The README's blocks: README.md at the top of the repository whose
# docs/benchmarks.md is written or compared.
README_BLOCKS = [("readme", "The README's local figures", blk_readme)]


def render_blocks(outdir, prev=None):
    """{name: text} of every block, and whether all rendered without a
    renderer error. A block whose raw output is missing says so."""
    run = Run(outdir)
    out, ok = {}, True
    for name, _, fn in BLOCKS + README_BLOCKS:
        try:
            lines = fn(run, prev) if fn is blk_goals else fn(run)
            out[name] = "\n".join(lines)
        except Missing as e:
            out[name] = f"_Not rendered from this run: {e}._"
        except Exception:  # a renderer bug must not cost the other blocks
            ok = False
            out[name] = f"_Renderer error:_\n\n```\n{traceback.format_exc()}```"
    return out, ok and run.errors == 0, run


def render(outdir):
    blocks, ok, _ = render_blocks(outdir)
    parts = [f"# Generated blocks of docs/benchmarks.md, from `{os.path.basename(os.path.normpath(outdir))}`\n\n"
             "Rendered by `scripts/bench-tables.py` from the raw outputs of one run of `scripts/bench-all.sh`; "
             "1 KiB / 16 KiB where a cell has two figures. `scripts/bench-tables.py OUTDIR --write "
             "docs/benchmarks.md` puts each block in its place on the page."]
    for name, title, _ in BLOCKS + README_BLOCKS:
        parts.append(f"## {title} (`{name}`)\n\n{blocks[name]}")
    return "\n\n".join(parts) + "\n", ok


# --- the page's blocks

BEGIN = re.compile(r"^<!-- bench:begin (\S+) -->$", re.M)


def page_blocks(doc):
    """[(name, start, end)] of the page's blocks: the offsets of the text
    between each begin line and its end line. A block without its end,
    nested or repeated, is an error (ValueError) that names it."""
    out, seen = [], set()
    pos = 0
    for m in BEGIN.finditer(doc):
        name = m.group(1)
        if m.start() < pos:
            raise ValueError(f"block {name} begins inside another block")
        if name in seen:
            raise ValueError(f"block {name} is on the page twice")
        seen.add(name)
        end = doc.find(f"\n<!-- bench:end {name} -->", m.end())
        if end < 0:
            raise ValueError(f"block {name} has no <!-- bench:end {name} --> line")
        if BEGIN.search(doc, m.end(), end):
            raise ValueError(f"block {name} has another block's begin before its end")
        out.append((name, m.end() + 1, end))
        pos = end
    for m in re.finditer(r"^<!-- bench:end (\S+) -->$", doc, re.M):
        if m.group(1) not in seen:
            raise ValueError(f"<!-- bench:end {m.group(1)} --> has no begin")
    return out


def prev_run(doc, run):
    """What the goals block says of the page's previous run: the run on
    the page now, if it is not this one (then the previous run the page
    names already, so that writing one run twice changes nothing)."""
    blocks = {n: doc[s:e] for n, s, e in page_blocks(doc)}
    if "run" not in blocks or "goals" not in blocks:
        return None
    m = re.search(r"\*\*When, what:\*\* (\S+ \d\d:\d\d)\S* UTC, commit `(\w+)`", blocks["run"])
    if not m:
        return None
    this = run_name(run)
    page = f"{m.group(1)} UTC, `{m.group(2)}`"
    goals = blocks["goals"]
    if page == this:
        # The same run again: keep the lines of the run before it.
        p = re.search(r"^The previous run on this page \((.*?)\), for comparison only:\n\n((?:- .*\n?)+)", goals, re.M)
        if not p:
            return None
        return {"keep": p.group(0).rstrip("\n"), "name": p.group(1)}
    rows = md_tables(goals).get(tuple(GOAL_HEAD), {})
    return {"name": page, "rows": {k: v for k, v in rows.items()}, "order": list(rows.values())}


def blocks_for(outdir, doc):
    prev = None
    try:
        run = Run(outdir)
        prev = prev_run(doc, run)
    except Missing:
        pass
    keep = prev.pop("keep", None) if prev else None
    blocks, ok, run = render_blocks(outdir, prev if prev and "rows" in prev else None)
    if keep:
        blocks["goals"] += "\n\n" + keep
    return blocks, ok


def write(outdir, path):
    """Rewrite path's blocks in place from the run; the text outside them
    is left as it is. Returns the exit status."""
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    try:
        spans = page_blocks(doc)
    except ValueError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    blocks, ok = blocks_for(outdir, doc)
    rc = write_page(path, doc, spans, blocks, BLOCKS, outdir)
    readme = readme_path(path)
    if readme:
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        try:
            rspans = page_blocks(text)
        except ValueError as e:
            print(f"{readme}: {e}", file=sys.stderr)
            return 1
        rc = max(rc, write_page(readme, text, rspans, blocks, README_BLOCKS, outdir))
    return 0 if ok and rc == 0 else 1


def readme_path(page):
    """README.md beside the page's docs/ directory, if there is one."""
    p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(page)), os.pardir, "README.md"))
    return p if os.path.basename(os.path.dirname(os.path.abspath(page))) == "docs" and os.path.exists(p) else None


def write_page(path, doc, spans, blocks, want, outdir):
    """Rewrite doc's blocks (those of want) at path; the exit status."""
    names = {n for n, _, _ in spans}
    missing = [n for n, _, _ in want if n not in names]
    unknown = [n for n in names if n not in {n for n, _, _ in want}]
    for n in unknown:
        print(f"{path}: block {n} is not one the script renders; left as it is", file=sys.stderr)
    for n in missing:
        print(f"{path}: no block {n} on the page; its text is in the script's output (without --write)", file=sys.stderr)
    out, last = [], 0
    for name, s, e in spans:
        out.append(doc[last:s])
        out.append(blocks[name] + "\n" if name not in unknown else doc[s:e + 1])
        last = e + 1
    out.append(doc[last:])
    new = "".join(out)
    if new != doc:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(tmp, path)
    print(f"{path}: {len(spans) - len(unknown)} blocks written from {os.path.basename(os.path.normpath(outdir))}")
    return 0 if not missing and not unknown else 1


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



def diff_blocks(blocks, doc, want=None):
    """Print how the page's blocks (those of want, by default BLOCKS)
    differ from the run's; the number of blocks that differ (a block
    missing from the page counts)."""
    want = BLOCKS if want is None else want
    try:
        spans = page_blocks(doc)
    except ValueError as e:
        print(f"the page's blocks: {e}")
        return 1
    page = {n: doc[s:e] for n, s, e in spans}
    n = 0
    for name, _, _ in want:
        if name not in page:
            print(f"block not on the page: {name}")
            n += 1
            continue
        mine, theirs = blocks[name].rstrip("\n"), page[name].rstrip("\n")
        if mine == theirs:
            continue
        n += 1
        print(f"block {name} differs from the run's:")
        for line in difflib.unified_diff(theirs.splitlines(), mine.splitlines(), "page", "run", n=0, lineterm=""):
            if not line.startswith(("---", "+++", "@@")):
                print("    " + line)
    for name in page:
        if name not in {n for n, _, _ in want}:
            print(f"block on the page that the script does not render: {name}")
            n += 1
    return n


SELF_TEST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "bench-run")
SELF_TEST_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "benchmarks.md")


def self_test():
    """Render the stored run (scripts/testdata/bench-run, a run's raw
    outputs cut to the lines the script reads) into a copy of
    docs/benchmarks.md and check what --write promises: the blocks and
    only the blocks change, --diff then finds nothing, a second write
    changes nothing, the previous run's line appears when the run changes,
    and the verdicts follow the thresholds. Prints what failed; returns
    the exit status."""
    fails = []
    check = lambda ok, what: ok or fails.append(what)
    with open(SELF_TEST_PAGE, encoding="utf-8") as f:
        page = f.read()
    try:
        spans = page_blocks(page)
    except ValueError as e:
        print(f"docs/benchmarks.md: {e}")
        return 1
    check({n for n, _, _ in spans} == {n for n, _, _ in BLOCKS},
          f"docs/benchmarks.md's blocks {sorted(n for n, _, _ in spans)} are not the script's {[n for n, _, _ in BLOCKS]}")
    outside = lambda d: re.sub(r"(<!-- bench:begin (\S+) -->\n).*?(\n<!-- bench:end \2 -->)", r"\1\3", d, flags=re.S)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "benchmarks.md")
        # A page whose run is another one's: the goals block then names it.
        other = page
        for n, s, e in reversed(page_blocks(page)):
            if n == "run":
                other = page[:s] + "- **When, what:** 2000-01-02 03:04–03:14 UTC, commit `0000000`, the tree clean.\n" + page[e + 1:]
        with open(path, "w", encoding="utf-8") as f:
            f.write(other)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = write(SELF_TEST_DIR, path)
        check(rc == 0, f"--write exited {rc}")
        with open(path, encoding="utf-8") as f:
            once = f.read()
        check(outside(once) == outside(page), "--write changed text outside the blocks")
        check("The previous run on this page (2000-01-02 03:04 UTC, `0000000`), for comparison only:" in once,
              "the goals block does not name the page's previous run")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            write(SELF_TEST_DIR, path)
        with open(path, encoding="utf-8") as f:
            twice = f.read()
        check(twice == once, "a second --write of the same run changed the page")
        blocks, ok = blocks_for(SELF_TEST_DIR, once)
        check(ok, "a block of the stored run did not render")
        with contextlib.redirect_stdout(io.StringIO()) as o:
            nd = diff_blocks(blocks, once)
        check(nd == 0, "--diff after --write: " + o.getvalue())
        for name, text in blocks.items():
            check("not rendered" not in text.lower() and "renderer error" not in text.lower(), f"block {name}: {text[:200]}")
    readme = readme_path(SELF_TEST_PAGE)
    if readme:
        with open(readme, encoding="utf-8") as f:
            try:
                names = [n for n, _, _ in page_blocks(f.read())]
            except ValueError as e:
                names = [str(e)]
        check(names == [n for n, _, _ in README_BLOCKS], f"README.md's blocks {names} are not the script's {[n for n, _, _ in README_BLOCKS]}")
    # http_t prints sessbench http's figures as its table does
    # (httppeers.FormatNS, TestFormatNS's cases): the form is picked after
    # rounding, so that 999.6 µs is 1.00 ms, not "1000 µs" beside a 1.00 ms;
    # from 1 s on in s; an exact half up.
    for ns, want in ((5_300, "5.3 µs"), (59_000, "59 µs"), (362_000, "362 µs"), (1_500_000, "1.50 ms"),
                     (9_940, "9.9 µs"), (9_960, "10 µs"), (9_999, "10 µs"),
                     (999_499, "999 µs"), (999_500, "1.00 ms"), (999_999, "1.00 ms"), (3_456_789_000, "3.46 s"),
                     (999_995_000, "1.00 s"), (1_250, "1.3 µs"), (1_235_000, "1.24 ms"), (9_995_000, "10.00 ms")):
        check(http_t(ns) == want, f"http_t({ns}) = {http_t(ns)!r}, want {want!r}")
    # Two of sessbench's figures side by side keep each unit where they
    # differ: "958 / 1.04 ms" read as 958 ms.
    for a, b, want in ((362_000, 410_000, "362 / 410 µs"), (958_000, 1_040_000, "958 µs / 1.04 ms"),
                       (1_500_000, 3_456_789_000, "1.50 ms / 3.46 s")):
        got = pair_http(a, b)
        check(got == want, f"pair_http({a}, {b}) = {got!r}, want {want!r}")
    # The verdicts, against the thresholds.
    check(verdict([("a", True), ("b", True)]) == "yes", "verdict of all yes")
    check(verdict([("a", True), ("b", False, "yes / no")]) == "no: a yes, b yes / no", "verdict of one no")
    check(le(1.004, 1) and not le(1.005, 1) and ge(2.995, 3) and not ge(2.994, 3), "thresholds round as the page does")
    rows = goal_rows(Run(SELF_TEST_DIR))
    want = ["yes", "no: p50 no, mean (blob) no, mean (keys) no",
            "no: real PHP no / no, replay separate no / no, replay paired yes / no",
            "no: real PHP no / no, replay paired no / no", "no: 3× no, ≤ 3 RPCs yes, exact set yes",
            "no: cold speed no, cold CPU no, cold data yes, warm yes", "yes"]
    check([r[3] for r in rows] == want, f"the stored run's verdicts: {[r[3] for r in rows]}")
    for f in fails:
        print("self-test: " + f)
    print("self-test: " + ("ok" if not fails else f"{len(fails)} failed"))
    return 1 if fails else 0


USAGE = """usage:
    scripts/bench-tables.py OUTDIR                  print the page's generated blocks (markdown)
    scripts/bench-tables.py OUTDIR --diff DOC.md    list where DOC's tables and blocks differ from the run's
    scripts/bench-tables.py OUTDIR --write DOC.md   rewrite DOC's blocks in place from the run
    scripts/bench-tables.py --self-test             check the script on its stored run"""


def main(argv):
    args = argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if any(a in ("-h", "-help", "--help") for a in args):
        print(USAGE)
        return 0
    if any(a.startswith("-") and a not in ("--diff", "--write") for a in args):
        print(USAGE, file=sys.stderr)
        return 2
    mode = doc = None
    for flag in ("--diff", "--write"):
        if flag in args:
            i = args.index(flag)
            if mode or i + 1 >= len(args):
                args = []
                break
            mode, doc = flag, args[i + 1]
            del args[i:i + 2]
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    if mode == "--write":
        return write(args[0], doc)
    if mode is None:
        out, ok = render(args[0])
        sys.stdout.write(out)
        return 0 if ok else 1
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    blocks, ok = blocks_for(args[0], text)
    n = diff("\n\n".join(blocks.values()), text)
    print(f"{n} cells differ")
    nb = diff_blocks(blocks, text)
    readme = readme_path(doc)
    if readme:
        with open(readme, encoding="utf-8") as f:
            print(f"{readme}:")
            nb += diff_blocks(blocks, f.read(), README_BLOCKS)
    print(f"{nb} blocks differ")
    return 0 if ok and n == 0 and nb == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
