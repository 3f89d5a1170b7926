#!/bin/sh
# gc-bench.sh: sessgc against the find(1) baseline on two trees written alike.
#
# Builds two stores of N sessions each (default 1,000,000, 1 KiB each,
# depth-1 shards) with 10% aged 48 h, one for each program, both written by
# gcgen as an application writes a store (sessions created in random order
# across the shards), so that neither program meets a tree laid out
# differently, as a cp -a copy is. Then, on the same machine and in the
# same run:
#   find FINDSTORE -type f -mmin +1440 -delete  (what PHP operators run today)
#   sessgc run --dir STORE --json               (lock-aware sweep)
# each under /usr/bin/time -v after dropping the page cache (when allowed),
# then a second, warm pass of each with nothing left to delete.
# Reports wall time, files/s (files examined per second of wall time),
# peak RSS, CPU (user + system seconds) and data read (GNU time's "file
# system inputs", 512-byte blocks). Before the warm passes both trees are
# read once (find without -delete), so that neither warm pass pays for the
# other's cold one. Needs GNU time (apt-get install time) and about 9 GB free;
# dropping the caches and freezing the file system (fsfreeze, util-linux)
# need root, and without them the cold passes are not cold.
#
# Usage: scripts/gc-bench.sh [WORKDIR] [N] [CONCURRENCY]
set -eu

WORK=${1:-/tmp/sessgc-bench}
N=${2:-1000000}
CONC=${3:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ -x /usr/bin/time ] || { echo "gc-bench: /usr/bin/time missing: apt-get install -y time" >&2; exit 2; }

rm -rf "$WORK"
mkdir -p "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/sessgc" ./cmd/sessgc && go build -o "$WORK/bin/gcgen" ./cmd/sessgc/internal/gcgen)

echo "== machine"
echo "nproc: $(nproc)"
echo "kernel: $(uname -r)"
echo "fs: $(df -T "$WORK" | awk 'NR==2 {print $2 " on " $1}')"
echo "go: $(go version)"

echo "== generate $N sessions, twice"
for tree in store findstore; do
	start=$(date +%s)
	"$WORK/bin/gcgen" -dir "$WORK/$tree" -n "$N" -expired 0.1
	echo "generate $tree: $(( $(date +%s) - start )) s"
done

# dropcache empties the page cache, then reads both programs back in, so
# that a cold pass's data read is the store's, not a 10 MB Go binary's.
#
# Dropping the page cache is not enough on a journaled file system:
# metadata the journal has committed but not yet written to its home
# location stays pinned in memory, and a cold pass over the tree written
# last read less than half the blocks of a later cold pass over the same
# tree (find: 61,208 blocks, then 133,216). Freezing the file system writes
# the journal out, so both programs start from the disk. Not done when
# WORK is on the root file system, where a freeze would stall the machine.
mnt=$(df --output=target "$WORK" | tail -n 1)
dropcache() {
	sync
	if [ "$mnt" = / ]; then
		echo "(work directory on /, not frozen: the tree written last may start warmer)"
	elif fsfreeze -f "$mnt" 2>/dev/null; then
		# Never leave the file system frozen, whatever stops the script.
		trap 'fsfreeze -u "$mnt"' EXIT
		trap 'exit 130' INT TERM
		fsfreeze -u "$mnt"
		trap - EXIT INT TERM
	else
		echo "(could not freeze $mnt: the tree written last may start warmer)"
	fi
	if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
		echo "(page cache dropped)"
	else
		echo "(could not drop the page cache: runs are warm)"
	fi
	cat "$(command -v find)" "$WORK/bin/sessgc" >/dev/null
}

count() { find "$1/data" -type f | wc -l; }

# sessgc does its work in a child process that it does not wait for (so
# that it exits on time when an NFS server hangs); GNU time would measure
# only the supervisor. Run it as that worker itself (reporting its exit
# code on descriptor 3), so that CPU and data read are the sweep's.
WORKER=SESSFS_SESSGC_WORKER_FD=3

# measure LABEL FILES_BEFORE CMD...: run under GNU time, print a result line.
measure() {
	label=$1 files=$2
	shift 2
	/usr/bin/time -v -o "$WORK/time.$label" "$@" > "$WORK/out.$label" 3>/dev/null
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.$label")
	secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.$label")
	cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$WORK/time.$label")
	cpus=$(awk -F': ' '/User time|System time/ {t += $2} END {printf "%.2f", t}' "$WORK/time.$label")
	inputs=$(awk -F': ' '/File system inputs/ {print $2}' "$WORK/time.$label")
	echo "$label: files=$files wall=${secs}s files/s=$(awk -v f="$files" -v s="$secs" 'BEGIN { printf "%.0f", f / s }') peakRSS=$((rss / 1024))MiB cpu=$cpu cpu_s=$cpus fs_inputs=$inputs"
}

before=$(count "$WORK/findstore")
echo "== cold pass ($before session files each)"
dropcache
measure find-cold "$before" find "$WORK/findstore" -type f -mmin +1440 -delete
echo "find left $(count "$WORK/findstore") files"
dropcache
measure sessgc-cold "$before" env "$WORKER" "$WORK/bin/sessgc" run --dir "$WORK/store" --json --concurrency "$CONC"
echo "sessgc left $(count "$WORK/store") files; summary: $(tail -n 1 "$WORK/out.sessgc-cold")"

after=$(count "$WORK/findstore")
find "$WORK/findstore" "$WORK/store" -type f -mmin +1440 >/dev/null
echo "== warm pass, nothing to delete ($after files each)"
measure find-warm "$after" find "$WORK/findstore" -type f -mmin +1440 -delete
measure sessgc-warm "$after" env "$WORKER" "$WORK/bin/sessgc" run --dir "$WORK/store" --json --concurrency "$CONC"
echo "sessgc warm summary: $(tail -n 1 "$WORK/out.sessgc-warm")"
echo "command: scripts/gc-bench.sh $WORK $N $CONC"
