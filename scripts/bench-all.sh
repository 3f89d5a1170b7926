#!/usr/bin/env bash
# bench-all.sh: produce every table of docs/benchmarks.md in ONE run, on the
# documented device, with the peers and the raw baselines measured in the
# same run. Run it as root (it mounts a loop device and drops the page
# cache) from anywhere in the repository:
#
#   scripts/bench-all.sh [OUTDIR]          (default ./bench-all-out)
#
# Steps, each into its own subdirectory of OUTDIR, each timed (times.txt):
#
#   machine.txt  date (UTC), CPU, cores, memory, kernel, Go, PHP, Redis, the
#                commit measured (and whether the tree had changes), load
#   device       a journaled ext4 file system made fresh on a loop device:
#                  truncate -s $IMG_SIZE $WORK/ext4.img
#                  mkfs.ext4 -q -F $MKFS_OPTS $WORK/ext4.img
#                  mount -o loop $WORK/ext4.img $WORK/mnt
#                (mkfs.ext4's defaults: a journal, data=ordered,
#                auto_da_alloc; device.txt records the features and the
#                mount). Every local measurement below writes there; it is
#                unmounted and removed at the end.
#   redis        redis-server on 127.0.0.1:$REDIS_PORT, --save '' --appendonly
#                no, in $WORK, stopped at the end
#   http/        sessbench http: the same HTTP request (read a counter,
#                increment it, write the session) through sessfs (httpsession
#                over fsstore.Open's defaults), scs + redisstore, scs
#                memstore and gorilla's FilesystemStore; 1 KiB and 16 KiB;
#                p50 with one client, throughput with 8, lost updates of
#                8 × 50 increments on one session; http.md, http.json and
#                the chart http.svg
#   core/        scripts/bench-core.sh: Load, Save (none, file, full), the
#                locked cycle and the touch cycle against raw baselines, the
#                Go replay of PHP's system calls and PHP 8.2's own files
#                handler (php-cli), plus BenchmarkPaired
#   codec/       httpsession's BenchmarkCodec (the codec alone, with
#                allocations) and BenchmarkRequest (the request on the device)
#   gc-ext4/     scripts/gc-bench.sh on the device: sessgc (--concurrency
#                $GC_CONCURRENCY, default 16, sessgc's own default) against
#                find -delete, cold and warm, $GC_N sessions, 10% expired
#   nfs/         in the User-Mode-Linux NFS harness (docs/testing.md):
#                sessgc against find -delete on NFS (scripts/nfs-gc-bench.sh,
#                netem 1 ms each way, $NFS_GC_N sessions) and the NFS suite's
#                RPC counts per operation (RPC| lines of TestNFSStore), and
#                per HTTP request through httpsession (TestNFSOutage/RPCBudgets)
#   tables.md    every generated block of docs/benchmarks.md (its tables,
#                the sentences that quote the run's figures, the run's facts
#                and the goals' verdicts), rendered from the raw outputs
#                above by scripts/bench-tables.py (medians of the runs,
#                ratios of medians, paired ratios, as the page defines
#                them). It is rendered last and from the files alone, so a
#                renderer failure loses nothing: rerun it with
#                  scripts/bench-tables.py OUTDIR > OUTDIR/tables.md
#                Refresh the page from the run, then check it, with
#                  scripts/bench-tables.py OUTDIR --write docs/benchmarks.md
#                  scripts/bench-tables.py OUTDIR --diff docs/benchmarks.md
#                (a note on the run, OUTDIR/notes.md, goes into the page's
#                "The run" with --write: what else ran, what disturbed it)
#
# Environment:
#   SECTIONS    steps to run (default "http core codec gc nfs")
#   WORK        scratch directory for the image and the binaries (default
#               /var/tmp/sessfs-bench-all; the image is sparse)
#   IMG_SIZE    size of the ext4 image (default 8G: room and inodes for
#               two copies of the GC tree)
#   MKFS_OPTS   extra mkfs.ext4 options (default none)
#   REDIS_PORT  (default 6399)
#   HTTP_DURATION, HTTP_ROUNDS   sessbench http --duration/--rounds (2s, 3)
#   CORE_COUNT, CORE_BENCHTIME   bench-core.sh COUNT and BENCHTIME (3, 0.3s)
#   GC_N        sessions of the ext4 GC benchmark (default 200000)
#   QUICK=1     a smoke run: short durations, small trees (minutes, not
#               meaningful figures)
#
# Wall time with the defaults on 2 cores: the steps' times are in
# docs/benchmarks.md's "The run" (about 10 minutes, plus building; the NFS
# steps wait for any other User-Mode-Linux guest on the machine first).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-bench-all-out}" && cd "${1:-bench-all-out}" && pwd)
work=${WORK:-/var/tmp/sessfs-bench-all}
sections=${SECTIONS:-http core codec gc nfs}
img_size=${IMG_SIZE:-8G}
redis_port=${REDIS_PORT:-6399}
http_duration=${HTTP_DURATION:-2s}
http_rounds=${HTTP_ROUNDS:-3}
core_count=${CORE_COUNT:-3}
core_benchtime=${CORE_BENCHTIME:-0.3s}
gc_n=${GC_N:-200000}
if [ "${QUICK:-0}" = 1 ]; then
	http_duration=300ms http_rounds=1 core_count=1 core_benchtime=20x gc_n=5000
	export CORE_PAIRED_BENCHTIME=200x PHP_N=200 CODEC_BENCHTIME=20x NFS_GC_N=2000
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench-all: run as root (loop mount, drop_caches)" >&2
	exit 2
fi
# The tools and the Debian packages that have them (.ci/run installs only
# what the tests need, not PHP).
for tp in go:golang php:php-cli redis-server:redis-server mkfs.ext4:e2fsprogs /usr/bin/time:time python3:python3; do
	tool=${tp%%:*} pkg=${tp#*:}
	command -v "$tool" >/dev/null || {
		echo "bench-all: $tool not found (Debian: apt-get install -y --no-install-recommends $pkg)" >&2
		exit 2
	}
done

mnt=$work/mnt
redis_pid=
cleanup() {
	set +e
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	if mountpoint -q "$mnt"; then
		umount "$mnt"
	fi
	rm -f "$work/ext4.img"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$mnt"
if mountpoint -q "$mnt"; then
	umount "$mnt"
fi

# --- machine and commit
commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain 2>/dev/null | grep -vc '^??' || true)
{
	echo "date:     $(date -u +%FT%TZ)"
	echo "commit:   $commit$([ "$dirty" != 0 ] && echo " (with $dirty changed files)")"
	echo "host:     $(hostname)"
	echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
	echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:   $(uname -r)"
	echo "go:       $(go version)"
	echo "php:      $(php -r 'echo PHP_VERSION;')"
	echo "redis:    $(redis-server --version)"
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, before the run)"
	echo "sections: $sections"
} | tee "$out/machine.txt"
: >"$out/times.txt"

# --- the device
truncate -s "$img_size" "$work/ext4.img"
# shellcheck disable=SC2086 # MKFS_OPTS is a list of options
mkfs.ext4 -q -F ${MKFS_OPTS:-} "$work/ext4.img"
mount -o loop "$work/ext4.img" "$mnt"
dev=$(awk -v m="$mnt" '$2 == m {print $1}' /proc/mounts)
{
	echo "image:    $work/ext4.img, $img_size sparse, on $(df -T "$work" | awk 'NR==2 {print $2 " " $1}')"
	echo "mkfs:     mkfs.ext4 -q -F ${MKFS_OPTS:-}"
	echo "mount:    $(awk -v m="$mnt" '$2 == m {print $1, $3, $4}' /proc/mounts)"
	echo "journal:  /proc/fs/jbd2/$(ls /proc/fs/jbd2 | grep "^$(basename "$dev")-" || echo "none")"
	dumpe2fs -h "$dev" 2>/dev/null |
		grep -E '^(Filesystem features|Inode count|Block size|Journal size)' || true
} | tee "$out/device.txt"

# --- redis
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
	--logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
	redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
	sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null

(cd "$repo" && go build -o "$work/bin/sessbench" ./cmd/sessbench)

# step NAME CMD...: run one step, time it, keep going if it fails (the
# summary says so) so that one broken step does not cost the others.
failed=
step() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	echo "== $name ($(date -u +%T))"
	"$@" || rc=$?
	echo "$name: $(( $(date +%s) - start )) s, exit $rc" | tee -a "$out/times.txt"
	[ "$rc" = 0 ] || failed="$failed $name"
}

has() { case " $sections " in *" $1 "*) return 0 ;; esac; return 1; }

http_step() {
	mkdir -p "$out/http" "$mnt/http"
	"$work/bin/sessbench" http --dir "$mnt/http" --redis "127.0.0.1:$redis_port" \
		--duration "$http_duration" --rounds "$http_rounds" --json \
		--plot "$out/http/http.svg" \
		--title "HTTP request through each session store: journaled ext4 (loop), local Redis, $(date -u +%F)" \
		>"$out/http/http.json"
	# The same run as a table: the JSON is rendered, not measured again.
	python3 - "$out/http/http.json" >"$out/http/http.md" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
def t(ns):
    us = ns / 1e3
    return f"{us:.1f} µs" if us < 10 else (f"{us:.0f} µs" if us < 1000 else f"{us/1e3:.2f} ms")
def sz(n):
    return f"{n//1024} KiB" if n % 1024 == 0 else f"{n} B"
print(f"| peer | size | p50, 1 client | p99, 1 client | throughput, {r['concurrency']} clients | lost updates, {r['hot_clients']} × {r['hot_increments']} on one session |")
print("|---|---|---|---|---|---|")
for x in r["results"]:
    print(f"| {x['peer']} | {sz(x['size'])} | {t(x['p50_ns'])} | {t(x['p99_ns'])} | {x['throughput_rps']:.0f} req/s | {x['lost_updates']} of {x['hot_ok']} |")
print()
for ra in r.get("ratios", []):
    print(f"- {ra['of']} ÷ {ra['to']}, {sz(ra['size'])}: p50 {ra['p50']:.2f}×, throughput {ra['throughput']:.2f}×")
print()
for p in r["peers"]:
    print(f"- {p['name']}: {p['desc']}")
EOF
	cat "$out/http/http.md"
	rm -rf "$mnt/http"
}

core_step() {
	mkdir -p "$mnt/core" "$out/core"
	# Save per durability, the locked cycle and the touch cycle against
	# PHP 8.2 and the Go replay of its system calls, and BenchmarkPaired
	# (store, replay and the atomic floor alternating operation by
	# operation).
	SESSFS_BENCH_DIR=$mnt/core COUNT=$core_count BENCHTIME=$core_benchtime \
		BENCH='^Benchmark(Save|Cycle|TouchCycle)$' PHP_N=${PHP_N:-3000} \
		PAIRED_BENCHTIME=${CORE_PAIRED_BENCHTIME:-4000x} SYSCALLS=${SYSCALLS:-0} \
		"$repo/scripts/bench-core.sh" "$out/core"
	rm -rf "$mnt/core"
}

codec_step() {
	mkdir -p "$out/codec"
	# The codec alone, with allocations, and the whole request through
	# the middleware on the device (16 KiB against 1 KiB).
	mkdir -p "$mnt/codec"
	(cd "$repo" && TMPDIR=$mnt/codec go test -run '^$' -bench '^Benchmark(Codec|Request)$' -benchmem \
		-count "$core_count" -benchtime "${CODEC_BENCHTIME:-0.2s}" ./httpsession) | tee "$out/codec/codec.txt"
	rm -rf "$mnt/codec"
}

gc_step() {
	mkdir -p "$out/gc-ext4"
	"$repo/scripts/gc-bench.sh" "$mnt/gc" "$gc_n" "${GC_CONCURRENCY:-16}" | tee "$out/gc-ext4/gc.txt"
	rm -rf "$mnt/gc"
}

nfs_step() {
	mkdir -p "$out/nfs"
	local rc=0
	# sessgc at its defaults against find -delete on one NFS mount, netem
	# 1 ms each way, 20,000 sessions, a tenth expired.
	"$repo/scripts/nfs-gc-bench.sh" -n "${NFS_GC_N:-20000}" -d 1ms -o "$out/nfs/gc" || rc=$?
	# The NFS suite's RPC counts per operation (it asserts the budgets).
	(cd "$repo" && SESSFS_REQUIRE_NFS=1 go test -count=1 -v -run 'TestNFSStore' ./fsstore) \
		>"$out/nfs/rpc-suite.txt" 2>&1 || rc=$?
	grep 'RPC|' "$out/nfs/rpc-suite.txt" | tee "$out/nfs/rpc.txt" || true
	# Real HTTP requests through httpsession's middleware, round trips per
	# request in each mode (the page's "httpsession, per request").
	(cd "$repo" && SESSFS_REQUIRE_NFS=1 go test -count=1 -v -run 'TestNFSOutage/RPCBudgets' ./httpsession) \
		>"$out/nfs/rpc-httpsession.txt" 2>&1 || rc=$?
	grep 'RPC|' "$out/nfs/rpc-httpsession.txt" || true
	return $rc
}

has http && step http http_step
has core && step core core_step
has codec && step codec codec_step
has gc && step gc-ext4 gc_step
has nfs && step nfs nfs_step

# When the steps ended, for the page's "The run" (times.txt's step lines
# are the steps' own; this one is not a step).
echo "finished: $(date -u +%FT%TZ)" >>"$out/times.txt"

# The blocks of docs/benchmarks.md, from the files above (not a step: it
# measures nothing, and the page's wall time is the steps').
if python3 "$repo/scripts/bench-tables.py" "$out" >"$out/tables.md"; then
	echo "== tables: $out/tables.md"
else
	echo "bench-all: scripts/bench-tables.py failed; the raw outputs are intact in $out (rerun: scripts/bench-tables.py $out)" >&2
	failed="$failed tables"
fi

echo "== done: $out ($(awk '/ s, exit /{s += $2} END {print s}' "$out/times.txt") s in the steps)"
cat "$out/times.txt"
if [ -n "$failed" ]; then
	echo "bench-all: failed steps:$failed" >&2
	exit 1
fi
