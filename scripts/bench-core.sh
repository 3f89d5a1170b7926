#!/usr/bin/env bash
# bench-core.sh: measure the store's core operations against raw baselines
# in one run, and PHP's files session handler next to them (targets and
# results: docs/benchmarks.md).
#
# Usage: scripts/bench-core.sh [OUTDIR]
#
# Environment:
#   SESSFS_BENCH_DIR  directory the benchmarks write in (default
#                     /var/tmp/sessfs-bench). Pick a disk filesystem:
#                     os.TempDir may be tmpfs, where writes cost a fifth.
#   COUNT             -count for go test and PHP repetitions (default 6:
#                     benchstat needs 6 for a confidence interval)
#   BENCHTIME         -benchtime (default 0.5s)
#   BENCH             -bench regexp (default: everything but BenchmarkHeap)
#   PHP_N             requests per PHP run (default 3000)
#   PAIRED=0          skip BenchmarkPaired (store and baseline alternating;
#                     the most robust ratios on a noisy machine)
#   PAIRED_BENCHTIME  -benchtime for BenchmarkPaired (default 1s)
#   HEAP=1            also run BenchmarkHeap (-benchtime 1x; creates 100,000
#                     files and takes a minute)
#   SYSCALLS=1        also count system calls per operation with strace -c
#                     (difference of two runs of 2000 and 12000 operations,
#                     so set-up and the runtime's own calls cancel out)
#
# Output in OUTDIR (default ./bench-out): machine.txt, go.txt (raw go test
# output), php.txt, all.txt (both, for benchstat), one benchstat table per
# benchmark family (stat-Load.txt, ...), syscalls.txt and heap.txt when
# asked for. Compare impl=... columns within one run only: absolute figures
# on a shared VM drift by ±25% between runs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-bench-out}" && cd "${1:-bench-out}" && pwd)
export SESSFS_BENCH_DIR=${SESSFS_BENCH_DIR:-/var/tmp/sessfs-bench}
count=${COUNT:-6}
benchtime=${BENCHTIME:-0.5s}
bench=${BENCH:-'^Benchmark(Load|Save|Cycle|Touch|TouchCycle)$'}
php_n=${PHP_N:-3000}
mkdir -p "$SESSFS_BENCH_DIR"

benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
if [ ! -x "$benchstat" ]; then
	echo "installing benchstat" >&2
	go install golang.org/x/perf/cmd/benchstat@latest
fi

{
	echo "date:       $(date -u +%FT%TZ)"
	echo "nproc:      $(nproc)"
	echo "cpu:        $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "kernel:     $(uname -r)"
	echo "go:         $(go version)"
	echo "php:        $(php -r 'echo PHP_VERSION;' 2>/dev/null || echo 'not installed')"
	echo "bench dir:  $SESSFS_BENCH_DIR"
	echo "filesystem: $(df -T "$SESSFS_BENCH_DIR" | awk 'NR==2 {print $1, $2}')"
	mnt=$(df --output=target "$SESSFS_BENCH_DIR" | tail -1)
	echo "mount:      $(awk -v m="$mnt" '$2 == m {print $3, $4}' /proc/mounts | tail -1)"
	echo "command:    go test -run '^\$' -bench '$bench' -benchmem -count $count -benchtime $benchtime ./fsstore"
} | tee "$out/machine.txt"

# The test binary is built outside $out, which holds results only.
bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
bin="$bindir/fsstore.test"
(cd "$repo" && go test -c -o "$bin" ./fsstore)

# Go benchmarks first, PHP after, each with -count repetitions.
"$bin" -test.run '^$' -test.bench "$bench" -test.benchmem \
	-test.count "$count" -test.benchtime "$benchtime" | tee "$out/go.txt"

: >"$out/php.txt"
if command -v php >/dev/null; then
	phpdir="$SESSFS_BENCH_DIR/php-sessions"
	mkdir -p "$phpdir"
	procs=$(nproc)
	for i in $(seq "$count"); do
		for size in 1KiB:1024 16KiB:16384; do
			php "$repo/scripts/php-session-bench.php" "$phpdir" "${size#*:}" "$php_n" rmw \
				"BenchmarkCycle/size=${size%%:*}/par=1/impl=php-$procs" >>"$out/php.txt"
			php "$repo/scripts/php-session-bench.php" "$phpdir" "${size#*:}" "$php_n" touch \
				"BenchmarkTouchCycle/size=${size%%:*}/par=1/impl=php-$procs" >>"$out/php.txt"
		done
	done
	rm -rf "$phpdir"
	cat "$out/php.txt"
else
	echo "php not installed: BenchmarkCycle is compared with impl=php-go only" >&2
fi

# PHP lines first, under the Go run's configuration header, so that
# benchstat puts them in the same tables and uses php as the base column of
# the Cycle and TouchCycle tables.
{
	grep -E '^(goos|goarch|pkg|cpu):' "$out/go.txt" || true
	cat "$out/php.txt"
	grep -vE '^(goos|goarch|pkg|cpu):' "$out/go.txt" || true
} >"$out/all.txt"
for fam in Load Save Cycle Touch TouchCycle; do
	# A family BENCH left out has no table, rather than an empty file.
	grep -q "^Benchmark$fam/" "$out/all.txt" || continue
	"$benchstat" -col /impl -filter ".name:$fam" "$out/all.txt" >"$out/stat-$fam.txt" 2>&1 || true
done
echo "benchstat tables: $out/stat-*.txt"

# Paired: store and baseline alternating operation by operation, so that
# the disk's drift cancels out of the ratio (see BenchmarkPaired).
if [ "${PAIRED:-1}" = 1 ]; then
	"$bin" -test.run '^$' -test.bench '^BenchmarkPaired$' -test.benchmem \
		-test.count "$count" -test.benchtime "${PAIRED_BENCHTIME:-1s}" | tee "$out/paired.txt"
	"$benchstat" "$out/paired.txt" >"$out/stat-Paired.txt" 2>&1 || true
fi

if [ "${HEAP:-0}" = 1 ]; then
	"$bin" -test.run '^$' -test.bench '^BenchmarkHeap$' -test.benchtime 1x | tee "$out/heap.txt"
fi

if [ "${SYSCALLS:-0}" = 1 ]; then
	if ! command -v strace >/dev/null; then
		echo "strace not installed; skipping syscall counts" >&2
		exit 0
	fi
	n1=2000 n2=12000
	: >"$out/syscalls.txt"
	for re in \
		'Load/size=1KiB/par=1/impl=(os|syscall|store|store-cache)$' \
		'Save/size=1KiB/dur=(none|file|full)/par=1/impl=(raw|store)$' \
		'Cycle/size=1KiB/par=1/impl=(php-go|raw|store)$' \
		'Touch/size=1KiB/par=1/impl=(utimes|store)$' \
		'TouchCycle/size=1KiB/par=1/impl=(php-go|store)$'; do
		fam=${re%%/*}
		for name in $(grep -oE "^Benchmark$fam/[^ ]+" "$out/go.txt" | sed 's/-[0-9]*$//' | sort -u | grep -E "^Benchmark$re"); do
			# One anchored regexp per name level, as -test.bench wants.
			sub=$(echo "$name" | sed 's#[^/]*#^&$#g')
			for n in $n1 $n2; do
				strace -f -c -o "$out/strace.$n" "$bin" -test.run '^$' -test.bench "$sub" \
					-test.benchtime "${n}x" >/dev/null 2>&1
			done
			# Per-op count of each call; the runtime's own (futex,
			# nanosleep, ...) are left in but are not per-op.
			awk -v n1=$n1 -v n2=$n2 -v name="$name" '
				FNR == 1 { f++ }
				$1 ~ /^[0-9.]+$/ && NF >= 5 { c = ($4 ~ /^[0-9]+$/) ? $4 : 0; if (f == 1) a[$NF] = c; else b[$NF] = c }
				END {
					line = name ":"
					for (k in b) { d = (b[k] - a[k]) / (n2 - n1); if (d >= 0.05 && k != "total") line = line sprintf(" %s=%.2f", k, d) }
					print line
				}' "$out/strace.$n1" "$out/strace.$n2" | tee -a "$out/syscalls.txt"
		done
	done
	rm -f "$out/strace.$n1" "$out/strace.$n2"
fi
