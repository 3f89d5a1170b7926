#!/usr/bin/env bash
# nfs-gc-bench.sh: sessgc against `find -delete` on a real NFSv4.1 mount, in
# the User-Mode-Linux guest of scripts/nfs-harness.sh (one client host,
# netem delay on its link).
#
# In the guest, on the server's own tmpfs export (so that setup costs no
# round trips and the client's caches start cold): gcgen writes a store of
# N sessions (1 KiB, depth-1 shards) with a tenth of them aged 48 h, and
# `cp -a` makes an identical copy for find. Then, on hostA's NFS mount:
#   find COPY/data -type f -mmin +1440 -delete
#   sessgc run --dir STORE --json [SESSGC_FLAGS...]    (defaults otherwise)
# each timed, with the mount's RPC counts by operation before and after
# (from /proc/self/mountstats). The report gives wall time, RPCs per removal
# by operation, and whether each removed exactly the expired set (the names
# left, listed on the server, against the names that were not aged).
#
# Usage: scripts/nfs-gc-bench.sh [-n N] [-d DELAY] [-o OUTDIR] [-a FLAGS] [-- SESSGC_FLAGS...]
#   -n N       sessions (default 20000)
#   -d DELAY   netem delay on each end of the link (default 1ms: RTT 2 ms)
#   -o OUTDIR  where the report goes (default ./nfs-gc-bench-out)
#   -a FLAGS   also time `sessgc run` with these flags (e.g. "-c 16") on a
#              third identical copy, in the same guest
# Needs what nfs-harness.sh needs (root, user-mode-linux, nfs-kernel-server).
set -euo pipefail

N=20000 DELAY=1ms OUT=./nfs-gc-bench-out ALT=
while [ $# -gt 0 ]; do
  case $1 in
  -a) ALT=$2; shift 2 ;;
  -n) N=$2; shift 2 ;;
  -d) DELAY=$2; shift 2 ;;
  -o) OUT=$2; shift 2 ;;
  --) shift; break ;;
  -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "nfs-gc-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
(cd "$ROOT" && go build -o "$BIN/sessgc" ./cmd/sessgc && go build -o "$BIN/gcgen" ./cmd/sessgc/internal/gcgen)

# The guest side: runs on hostA with NFS_MNT set.
cat >"$BIN/guest.sh" <<'EOF'
set -euo pipefail
E=/run/export/gcbench M=$NFS_MNT/gcbench
mkdir -p "$E"
# rpcs: this mount's RPC counts, "OP count" per line.
rpcs() {
  awk -v m=" $NFS_MNT " 'index($0, "device ") == 1 { on = index($0, m) > 0 }
    on && /^[ \t]+[A-Z_]+: [0-9]/ { sub(":", "", $1); print $1, $2 }' /proc/self/mountstats
}
# diffops BEFORE AFTER REMOVED: RPCs per removal by operation.
diffops() {
  awk -v n="$3" 'NR == FNR { b[$1] = $2; next }
    { d = $2 - b[$1]; if (d > 0 && $1 != "SEQUENCE") { t += d; s = s sprintf(" %s=%.2f", $1, d / n) } }
    END { printf "%.2f RPCs per removal (%d RPCs):%s\n", t / n, t, s }' "$1" "$2"
}
# run LABEL DIR CMD...: time CMD, check what it left in DIR.
run() {
  local label=$1 dir=$2; shift 2
  rpcs >"$E/$label.before"
  local t0=$(date +%s.%N)
  "$@" >"$E/$label.out"
  local t1=$(date +%s.%N)
  rpcs >"$E/$label.after"
  (cd "$E/$dir/data" && find . -type f | sort) >"$E/$label.left"
  local removed=$(( $(wc -l <"$E/all") - $(wc -l <"$E/$label.left") ))
  local verdict="exactly the expired set"
  cmp -s "$E/$label.left" "$E/live" || verdict="NOT the expired set ($(comm -3 "$E/$label.left" "$E/live" | wc -l) names differ)"
  echo "$label: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, removed $removed: $verdict"
  echo "$label: $(diffops "$E/$label.before" "$E/$label.after" "$removed")"
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >"$E/$label.secs"
}
"$BIN/gcgen" -dir "$E/store" -n "$N" -expired 0.1 -workers 2
cp -a "$E/store" "$E/copy"
[ -z "$ALT" ] || cp -a "$E/store" "$E/alt"
(cd "$E/store/data" && find . -type f | sort) >"$E/all"
(cd "$E/store/data" && find . -type f -mmin -1440 | sort) >"$E/live"
echo "sessions: $(wc -l <"$E/all"), expired: $(( $(wc -l <"$E/all") - $(wc -l <"$E/live") )); delay $NETEM_DELAY each way; $(uname -r)"
run find copy find "$M/copy/data" -type f -mmin +1440 -delete
run sessgc store "$BIN/sessgc" run --dir "$M/store" --json "$@"
echo "sessgc summary: $(tail -n 1 "$E/sessgc.out")"
awk 'NR == FNR { f = $1; next } { printf "sessgc is %.2fx faster than find\n", f / $1 }' "$E/find.secs" "$E/sessgc.secs"
if [ -n "$ALT" ]; then
  # shellcheck disable=SC2086
  run sessgc-alt alt "$BIN/sessgc" run --dir "$M/alt" --json $ALT
  awk -v a="$ALT" 'NR == FNR { f = $1; next } { printf "sessgc %s is %.2fx faster than find\n", a, f / $1 }' "$E/find.secs" "$E/sessgc-alt.secs"
fi
EOF
sed -i "s|\"\$BIN/|\"$BIN/|g" "$BIN/guest.sh"

STATE=$(mktemp -d)
echo "nfs-gc-bench: N=$N delay=$DELAY; $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown); $(date -u +%FT%TZ)" | tee "$OUT/nfs-gc-bench.txt"
status=0
export N ALT
# nfs-harness.sh takes the machine-wide guest lock itself.
STATE=$STATE "$ROOT/scripts/nfs-harness.sh" -q -n 1 -d "$DELAY" -t 1200 -- bash "$BIN/guest.sh" "$@" || status=$?
cat "$STATE/hostA.out" | tee -a "$OUT/nfs-gc-bench.txt"
echo "command: scripts/nfs-gc-bench.sh -n $N -d $DELAY${ALT:+ -a \"$ALT\"}${*:+ -- $*}" | tee -a "$OUT/nfs-gc-bench.txt"
rm -rf "$STATE"
exit $status
