#!/usr/bin/env bash
# nfs-sessbench.sh: run sessbench against local storage, a real kernel NFSv4.1
# mount and a real Redis server, all inside the User-Mode-Linux guest of
# scripts/nfs-harness.sh, in ONE sessbench invocation (so rounds interleave
# the targets and the ratios between them are measured in the same run).
#
# You need this only because our dev/CI kernels have no NFS client. With a
# real EFS/NFS mount, run sessbench directly against it instead:
#   go run ./cmd/sessbench run --dir /mnt/efs/bench --dir /var/tmp --redis 127.0.0.1:6379
#
# Targets, in this order (the first is the baseline of sessbench's ratios):
#   tmpfs   a tmpfs inside the guest (/run/local): memory, NOT a disk
#   hostfs  the host's /var/tmp seen through UML hostfs (host ext4 on a
#           virtio disk). Every file operation is a UML kernel call that
#           becomes host system calls, and fsync reaches the host disk; it
#           stands in for "local disk" (--no-hostfs leaves it out)
#   nfs     a loopback NFSv4.1 mount of a tmpfs export (/run/mnt), the
#           harness's EFS mount options, no delegations
#   redis   redis-server started in the guest on 127.0.0.1:6379
#           (--save '' --appendonly no), one sessbench client pool
#           (--no-redis leaves it out)
# In the guest they are reached as the relative directories tmpfs, hostfs and
# nfs (symlinks in /run/sb), so the report and chart name them plainly.
#
# Delay: -d D is the harness's netem delay. In --server-local mode the harness
# puts netem on the guest's loopback device lo, and every loopback packet
# crosses it once: NFS RPCs and Redis requests alike see RTT = 2*D (-d 1ms:
# 2 ms RTT). That is deliberate: it models a Redis server across the same
# network as the NFS server (as ElastiCache would be), so the comparison shows
# round trips per operation, not a local process against a remote one. The
# tmpfs and hostfs targets use no network and are not delayed. For Redis
# without delay, see the -d 0 run. The guest measures the RTT with
# `redis-cli --latency` before sessbench starts (guest-info-LABEL.txt).
#
# Usage: scripts/nfs-sessbench.sh [options] [-- SESSBENCH_RUN_FLAGS...]
#
#   -o, --out DIR    output directory on the host (default ./sessbench-nfs-out)
#   -d, --delay D    netem delay per loopback crossing (RTT = 2*D), e.g. 1ms;
#                    0 or empty: none (default)
#   -l, --label L    file name label (default: nfs-0ms, nfs-2ms, ... from -d)
#   --no-hostfs      leave out the hostfs (host disk) target
#   --no-redis       leave out the Redis target
#   -b, --binary B   use this sessbench binary instead of building one; use
#                    it to compare runs (e.g. -d 0 and -d 1ms) of the same code
#                    while others change the tree
#   -t, --timeout S  bound on the guest run in seconds (default 900)
#   -h, --help       this text
#
# SESSBENCH_RUN_FLAGS go to `sessbench run`; a flag given there replaces this
# script's default for it. Defaults (modest, ~3 minutes on 2 cores):
#   --workload cycle,load,save,touch --size 1KiB,16KiB --concurrency 1,8
#   --duration 1s --rounds 3 --sessions 500
# Do not pass --dir, --redis, --json, --csv or --plot: the script sets them.
#
# Outputs in DIR (LABEL from -l):
#   sessbench-LABEL.json   sessbench's --json report (with its verdict)
#   sessbench-LABEL.svg    sessbench's --plot chart; its title names the
#                          conditions (UML, netem delay)
#   sessbench-LABEL.md     a Markdown table made from the JSON (needs python3)
#   sessbench-LABEL.err    sessbench's stderr
#   guest-info-LABEL.txt   guest kernel, mounts, qdisc, Redis RTT, load average
#   build-LABEL.txt        `go version -m` of the sessbench binary measured
#   host-load-LABEL.txt    host load average before and after
#   harness-LABEL/         the harness state dir (console.log, server.out, ...)
#
# Needs root and what scripts/nfs-harness.sh needs, plus go and redis-server.
#
# Examples:
#   scripts/nfs-sessbench.sh -o /tmp/sb
#   scripts/nfs-sessbench.sh -o /tmp/sb -d 1ms -- --duration 3s --concurrency 1,8,32
#   scripts/nfs-sessbench.sh -o /tmp/sb --no-hostfs -- --workload cycle --size 1KiB
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "nfs-sessbench: $*" >&2; exit 2; }

OUT=./sessbench-nfs-out
DELAY=
LABEL=
HOSTFS=1
REDIS=1
TIMEOUT=900
BIN=
while [ $# -gt 0 ]; do
  case $1 in
  -o | --out) OUT=${2:?}; shift 2 ;;
  -d | --delay) DELAY=${2?}; shift 2 ;;
  -l | --label) LABEL=${2:?}; shift 2 ;;
  --no-hostfs) HOSTFS=0; shift ;;
  --no-redis) REDIS=0; shift ;;
  -t | --timeout) TIMEOUT=${2:?}; shift 2 ;;
  -b | --binary) BIN=${2:?}; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  --) shift; break ;;
  *) die "unknown argument $1 (see --help; sessbench flags go after --)" ;;
  esac
done
for a in "$@"; do
  case $a in
  --dir | --dir=* | --redis | --redis=* | --json | --csv | --plot | --plot=*)
    die "$a is set by this script; see --help" ;;
  esac
done
case $DELAY in 0 | 0us | 0ms | 0s) DELAY= ;; esac
RTT=0ms
if [ -n "$DELAY" ]; then
  [[ $DELAY =~ ^[0-9.]+(us|ms|s)$ ]] || die "bad delay '$DELAY' (e.g. 500us, 1ms)"
  # RTT = 2*D, in ms when whole (1ms -> 2ms), else in µs.
  v=${DELAY%us}; v=${v%ms}; v=${v%s}
  us=$(awk -v v="$v" -v d="$DELAY" 'BEGIN { m = d ~ /us$/ ? 1 : d ~ /ms$/ ? 1000 : 1000000; printf "%d", 2 * v * m }')
  if [ $((us % 1000)) -eq 0 ]; then RTT=$((us / 1000))ms; else RTT=${us}us; fi
fi
LABEL=${LABEL:-nfs-$RTT}

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
[ -n "$BIN" ] || command -v go >/dev/null || die "go not found (or pass --binary)"
if [ "$REDIS" = 1 ]; then
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    die "redis-server/redis-cli not found (apt-get install redis-server, or --no-redis)"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
case $OUT/ in /run/* | /var/lib/nfs/* | /proc/* | /sys/* | /dev/*)
  die "output dir $OUT is hidden inside the guest; use one under /tmp or the repo" ;;
esac
STATE=$OUT/harness-$LABEL
rm -rf "$STATE"
mkdir -p "$STATE"

if [ -n "$BIN" ]; then
  [ -x "$BIN" ] || die "--binary $BIN: not an executable"
  cp "$BIN" "$STATE/sessbench"
else
  echo "nfs-sessbench: building sessbench" >&2
  (cd "$ROOT" && go build -o "$STATE/sessbench" ./cmd/sessbench)
fi
# Which code was measured: module versions, VCS revision, and whether the
# tree had uncommitted changes.
go version -m "$STATE/sessbench" >"$OUT/build-$LABEL.txt" 2>&1 || true

# Runs inside the guest, in the NFS server's (root) namespace.
cat >"$STATE/guest-bench.sh" <<'EOF'
#!/bin/bash
# args: STATE OUT LABEL HOSTFS REDIS [sessbench run flags...]
set -u
STATE=$1 OUT=$2 LABEL=$3 HOSTFS=$4 REDIS=$5
shift 5
info=$OUT/guest-info-$LABEL.txt
mkdir -p /run/sb /run/redis
ln -sfn "$NFS_LOCAL" /run/sb/tmpfs
ln -sfn "$NFS_MNT" /run/sb/nfs
dirs=(--dir tmpfs)
if [ "$HOSTFS" = 1 ]; then
  ln -sfn /var/tmp /run/sb/hostfs
  dirs+=(--dir hostfs)
fi
dirs+=(--dir nfs)
{
  echo "guest: $(uname -srvm)"
  echo "guest CPUs: $(nproc); guest memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "netem delay per loopback crossing: ${NETEM_DELAY:-none}"
  echo "qdisc on lo: $(tc qdisc show dev lo)"
  for d in tmpfs hostfs nfs; do
    [ -e /run/sb/$d ] || continue
    echo "$d -> $(readlink /run/sb/$d): statfs type $(stat -f -c %T /run/sb/$d/)"
  done
  echo "mounts:"
  grep -E ' (/|/run/local|/run/mnt|/run/export) ' /proc/self/mountinfo | sed 's/^/  /'
} >"$info" 2>&1
rargs=()
if [ "$REDIS" = 1 ]; then
  redis-server --save '' --appendonly no --port 6379 --bind 127.0.0.1 \
    --dir /run/redis --daemonize yes >>"$info" 2>&1
  ok=
  for _ in $(seq 100); do # up to ~10 s: UML starts processes slowly
    if [ "$(redis-cli -p 6379 ping 2>/dev/null)" = PONG ]; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "redis-server did not answer PING" | tee -a "$info"; exit 3; }
  {
    echo "redis: $(redis-cli -p 6379 info server | grep -E '^redis_version' | tr -d '\r')"
    # min max avg samples (ms) of PING round trips over about a second.
    echo "redis-cli --latency (min max avg samples, ms): $(timeout 10 redis-cli -p 6379 --latency --raw)"
  } >>"$info" 2>&1
  rargs=(--redis 127.0.0.1:6379)
fi
echo "load average at start (guest): $(cat /proc/loadavg)" >>"$info"
cd /run/sb || exit 3
# Defaults only for flags the caller did not give: sessbench's list flags
# (--workload, --size, --concurrency) append to an earlier value instead of
# replacing it, so "default, then override" would run both lists.
defaults=()
for kv in workload=cycle,load,save,touch size=1KiB,16KiB concurrency=1,8 \
  duration=1s rounds=3 sessions=500; do
  k=${kv%%=*} given=
  for a in "$@"; do
    case $a in --$k | --$k=*) given=1 ;; esac
  done
  # --ops replaces --duration (sessbench refuses both).
  if [ "$k" = duration ]; then
    for a in "$@"; do case $a in --ops | --ops=*) given=1 ;; esac; done
  fi
  [ -n "$given" ] || defaults+=("--$kv")
done
echo "sessbench run ${dirs[*]} ${rargs[*]} ${defaults[*]} $* --json --plot $OUT/sessbench-$LABEL.svg" >>"$info"
"$STATE/sessbench" run "${dirs[@]}" "${rargs[@]}" "${defaults[@]}" \
  "$@" --json --plot "$OUT/sessbench-$LABEL.svg" --title "$SESSBENCH_TITLE" \
  >"$OUT/sessbench-$LABEL.json" 2>"$OUT/sessbench-$LABEL.err"
rc=$?
echo "sessbench exit $rc" >>"$info"
[ "$REDIS" = 1 ] && redis-cli -p 6379 shutdown nosave >/dev/null 2>&1
exit $rc
EOF
chmod +x "$STATE/guest-bench.sh"

# The chart's title says under which conditions it was measured.
if [ -n "$DELAY" ]; then
  SESSBENCH_TITLE="sessbench in a UML guest: tmpfs, host disk, NFS and Redis over loopback with netem $DELAY each way"
else
  SESSBENCH_TITLE="sessbench in a UML guest: tmpfs, host disk, NFS and Redis over loopback, no netem"
fi
export SESSBENCH_TITLE
hargs=(--server-local -s "$STATE" -t "$TIMEOUT")
[ -n "$DELAY" ] && hargs+=(-d "$DELAY")
echo "nfs-sessbench: host load average before boot: $(cat /proc/loadavg)" | tee "$OUT/host-load-$LABEL.txt" >&2
rc=0
"$ROOT/scripts/nfs-harness.sh" "${hargs[@]}" -- \
  bash "$STATE/guest-bench.sh" "$STATE" "$OUT" "$LABEL" "$HOSTFS" "$REDIS" "$@" || rc=$?
echo "nfs-sessbench: host load average after run: $(cat /proc/loadavg)" | tee -a "$OUT/host-load-$LABEL.txt" >&2
[ -s "$OUT/sessbench-$LABEL.err" ] && sed 's/^/[sessbench stderr] /' "$OUT/sessbench-$LABEL.err" >&2
if [ "$rc" != 0 ]; then
  echo "nfs-sessbench: run failed (exit $rc); see $STATE and $OUT/guest-info-$LABEL.txt" >&2
  exit "$rc"
fi


# Markdown tables from the JSON, for docs; sessbench's own text table needs a
# second run, and this keeps the numbers of one run together.
if command -v python3 >/dev/null; then
  python3 - "$OUT/sessbench-$LABEL.json" >"$OUT/sessbench-$LABEL.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def d(ns):
    # As sessbench's FormatDuration: three significant digits, rounded
    # before the unit and the decimals are picked (999.6 µs is 1.00 ms),
    # an exact half up, on whole nanoseconds (report.RoundDiv).
    ns = int(ns)
    if ns < 1000:
        return f"{ns:.0f} ns"
    p = 1
    while ns // p >= 1000:
        p *= 10
    v = (ns + p // 2) // p * p
    u, lim = next((u, lim) for lim, u in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")) if v >= lim)
    v /= lim
    return f"{v:.0f} {u}" if v >= 100 else f"{v:.1f} {u}" if v >= 10 else f"{v:.2f} {u}"
names = [t["name"] for t in r["targets"]]
base = names[0]
nfs = next((t["name"] for t in r["targets"] if t.get("nfs")), None)
redis = next((t["name"] for t in r["targets"] if t["kind"] == "redis"), None)
rows = {(x["workload"], x["payload_bytes"], x["concurrency"], x["target"]): x for x in r["results"]}
hdr = ["workload", "size", "clients"] + [f"{n} p50 / p99 (ops/s)" for n in names]
if nfs:
    hdr += [f"{nfs} p50 ×{base}"] + ([f"{nfs} p50 ×{redis}"] if redis else [])
    hdr += [f"{nfs} RPCs/op: total (OP LK RD WR GA; other)"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for w in r["config"]["workloads"]:
    for s in dict.fromkeys(r["config"]["payload_sizes"]):
        for c in dict.fromkeys(r["config"]["concurrency"]):
            cells = [w, f"{s // 1024} KiB" if s % 1024 == 0 and s else f"{s} B", str(c)]
            for n in names:
                x = rows[(w, s, c, n)]
                cells.append(f'{d(x["p50_ns"])} / {d(x["p99_ns"])} ({x["ops_per_sec"]:.0f})')
            if nfs:
                x = rows[(w, s, c, nfs)]
                cells.append(f'{x["p50_ratio"]:.1f}×')
                if redis:
                    rp = rows[(w, s, c, redis)]["p50_ns"]
                    cells.append(f'{x["p50_ns"] / rp:.2f}×' if rp else "–")
                k = x.get("nfs_rpcs_per_op")
                if k:
                    other = max(0.0, k["total"] - k["opens"] - k["locks"] - k["reads"] - k["writes"] - k["getattrs"] - k["lookups"])
                    cells.append(f'**{k["total"]:.2f}** ({k["opens"]:.2f} {k["locks"]:.2f} {k["reads"]:.2f} {k["writes"]:.2f} {k["getattrs"]:.2f}; {other:.2f})')
                else:
                    cells.append("–")
            print("| " + " | ".join(cells) + " |")
print(f'\nErrors: {sum(x["errors"] for x in r["results"])}.')
print()
print("Verdict:", r["verdict"])
PY
fi
echo "nfs-sessbench: wrote $OUT/sessbench-$LABEL.{json,svg,md} and guest-info-$LABEL.txt" >&2
