#!/usr/bin/env bash
# nfs-harness.sh: run commands on N NFS client "hosts" that share one real
# kernel NFSv4.1 export, inside a User-Mode-Linux (UML) guest.
#
# The host kernel of our dev/CI machines has neither NFS nor netem, so the
# whole setup lives in one UML guest (Debian kernel 6.1, modules from
# /usr/lib/uml/modules/<ver>):
#
#   root netns (server)                 netns hostA              netns hostB
#   nfsd, export /run/export (tmpfs)    nodename hostA           nodename hostB
#   vethA-s 10.99.1.1  <-------------->  vethA-c 10.99.1.2
#   vethB-s 10.99.2.1  <----------------------------------------> vethB-c 10.99.2.2
#
# Each host has its own network namespace, its own UTS nodename (so its own
# NFSv4 client identity and lease), and its own NFS mount of the export at
# /run/nfs/<host>. Its command runs inside that namespace, concurrently with
# the other hosts' commands, after every host's mount was checked. The
# 10.99.x.x addresses exist only inside the guest; no packet leaves it.
#
# The guest's root is the host's / (hostfs, read-write), so commands see the
# host's binaries and files; /run, /var/lib/nfs are guest-private tmpfs.
#
# Usage: scripts/nfs-harness.sh [options] [--] [CMD [ARGS...]]
#
#   CMD ARGS        run on every host (unless --on gives that host its own)
#   -n, --hosts N   client hosts hostA, hostB, ... (default 2, max 26; env NFS_HOSTS)
#   -d, --delay D   netem delay on each veth end, e.g. 500us, 1ms: one-way
#                   latency D, RTT = 2*D (env NETEM_DELAY; default none)
#   --delegations   let nfsd grant NFSv4 delegations (env NFS_DELEGATIONS=1).
#                   Default off, like AWS EFS, which grants none.
#   --lease S       NFSv4 lease and grace time in seconds (env NFS_LEASE;
#                   default 10; nfsd and EFS use 90)
#   --squash OPTS   the export's user mapping in place of no_root_squash:
#                   all_squash,anonuid=U,anongid=G (an EFS access point:
#                   every client user is U:G, root too, and the export's
#                   top directory is U:G's, as an access point's root
#                   directory is) or root_squash (EFS without an access
#                   point, where IAM denies root) (env NFS_SQUASH)
#   --squashed OPTS a second export beside the first, a tmpfs of its own
#                   (the first's directory squashed, /squashed to the
#                   hosts), with the user mapping OPTS as --squash takes
#                   them, mounted on every host at NFS_SQUASHED_MNT: an
#                   access point's scenario runs in a guest booted for
#                   others, beside their export (env NFS_SQUASHED)
#   --on HOST CMD   shell command string for one host (repeatable)
#   --server-local  instead of hosts: run CMD once in the server's namespace
#                   with a loopback NFS mount at /run/mnt (NFS_MNT) and a
#                   guest tmpfs dir /run/local (NFS_LOCAL), for local-vs-NFS
#                   comparisons (netem, if any, is applied to lo)
#   -s, --state DIR state dir on the host (env STATE; default a new mktemp dir)
#   -t, --timeout S bound on the whole run in seconds (env UML_TIMEOUT; 600);
#                   with --wait-go, from the go
#   --wait-go S     boot and mount, then wait, at most S seconds from the
#                   start, for the file STATEDIR/guest.go before the
#                   commands start (see "Booting ahead" below)
#   -q, --quiet     don't print the hosts' output at the end, only the summary
#   -h, --help      this text
#
# The script boots its guest only while holding flock(1) on the machine-wide
# guest lock SESSFS_UML_LOCK (default /tmp/sessfs-uml.lock; "off": don't),
# so that guests never share the cores; NFS_HARNESS_LOCKED=1 tells it that
# the caller holds the lock (internal/nfstest's Run sets it).
#
# Environment of each host's command: the caller's exported environment, plus
#   NFS_HOST         hostA, hostB, ... ("server" with --server-local)
#   NFS_HOSTS        number of hosts
#   NFS_MNT          this host's mount point of the export
#   NFS_LOCAL        (--server-local only) guest tmpfs dir, not NFS
#   NFS_EXPORT       the exported directory itself (the server's tmpfs, which
#                    every host's mount shows): files written there reach no
#                    client's cache, and cost no RPC
#   NFS_SERVER_VETH  server-side veth of this host (vethA-s ...)
#   NFS_CTL          control dir for link cuts (see below)
#   NFS_CTL_WAKE     FIFO that wakes the control loop (see below)
#   NFS_DELEGATIONS  0 or 1;  NETEM_DELAY  the delay ("" if none)
#   NFS_LEASE        the server's lease (and grace) time in seconds
#   NFS_SQUASH       the export's user mapping (no_root_squash unless --squash)
#   NFS_SQUASHED     the second export's (--squashed), or ""
#   NFS_SQUASHED_MNT this host's mount point of the second export, or ""
#   NFS_TIMELINE     file to append "HH:MM:SS.mmm who: event" lines to (UTC)
# The command starts in the caller's working directory (through hostfs).
#
# Link cuts (lease-loss tests): any host writes a file NAME.req into $NFS_CTL
# (write it elsewhere in $NFS_CTL first, then rename) holding "cut HOST SECS"
# or "restore HOST [CUT]", then writes a line to the FIFO $NFS_CTL_WAKE (or
# leaves it: the loop looks every second). A loop in the server namespace then runs
# `ip link set vethX-s down`, creates NAME.down, sleeps SECS, brings the link
# up and creates NAME.up. NAME.down and a link's NAME.up carry as their
# mtime the moment the command began (created beforehand, renamed into
# place after): the earliest moment the outage may have begun or ended.
# "restore" brings the link up at once; given CUT, the NAME of a cut of
# that link still under way, it ends that cut: CUT.up is created as the
# cut's own would be, and the cut leaves the link alone when its time is
# up. Other files in $NFS_CTL are the hosts' own.
# Errors create NAME.err. Lease time and grace time
# are 10 s (--lease), so a longer cut makes the host lose its lease.
# "nfsd-stop SECS" stops the server's nfsd instead (`rpc.nfsd 0`: every
# client's state is lost, as in a server reboot), creates NAME.down, and
# starts it again after SECS (a new grace period), then creates NAME.up
# once rpc.nfsd has returned (starting nfsd's threads takes seconds on a
# busy guest), with the moment the restart began as its mtime: nfsd may
# answer from any moment after it.
#
# Outputs, in the state dir: HOST.out (stdout+stderr of the command), HOST.rc
# (exit code), console.log (guest console), clients.txt (the server's list of
# NFSv4 clients, one per host), ctl.log (link cuts), timeline.log (UTC
# timestamps of setup, link cuts and restores, each host's start and exit, and
# whatever commands append to $NFS_TIMELINE), HOST.mountstats (the host's
# /proc/self/mountstats when its command ended, or at the guest's timeout),
# dmesg.log (the guest kernel's log at power-off). Exit status: 0 if every host's
# command exited 0; else the exit code of the first failing host (in name
# order; a host whose harness process was killed before its command's exit
# code: 128+the signal); 124 on timeout; 125 if the guest failed to set up
# (e.g. a mount).
#
# Booting ahead (--wait-go): a caller that waits for the machine-wide lock
# (internal/nfstest) boots the guest meanwhile, at its own priority, which
# takes boot and setup off the time it holds the lock. Once every host has
# mounted, the guest creates STATEDIR/guest.ready and waits for
# STATEDIR/guest.go (write it elsewhere, then rename it there, once the
# script has created STATEDIR/guest.started, which it does first), holding
# "go" or "go SECS" (SECS: a shorter bound than -t) to start the commands,
# or "cancel" to power off. From the go the guest runs at nice -10 and the
# -t bound counts. The caller takes the lock itself (NFS_HARNESS_LOCKED=1),
# and may release it once STATEDIR/guest.done exists (every host's command
# has exited; the guest, now at nice 19, powers off).
#
# Cost: about 10 s to boot and set up the guest; needs root and the Debian
# packages user-mode-linux nfs-kernel-server kmod iproute2 (.ci/run installs
# them; set NFS_HARNESS_INSTALL=1 to let this script apt-get them).
#
# Examples:
#   scripts/nfs-harness.sh -- sh -c 'echo $NFS_HOST > $NFS_MNT/$NFS_HOST; sleep 1; ls $NFS_MNT'
#   go test -c -o /tmp/fsstore.test ./fsstore &&
#     NETEM_DELAY=1ms scripts/nfs-harness.sh -- /tmp/fsstore.test -test.v -test.run NFS
#   scripts/nfs-harness.sh --server-local -- /tmp/sessbench run --dir /run/local --dir /run/mnt
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "nfs-harness: $*" >&2; exit 125; }

HOSTS=${NFS_HOSTS:-2}
DELAY=${NETEM_DELAY:-}
DELEG=${NFS_DELEGATIONS:-0}
LEASE=${NFS_LEASE:-10}
SQUASH=${NFS_SQUASH:-no_root_squash}
SQUASHED=${NFS_SQUASHED:-}
TIMEOUT=${UML_TIMEOUT:-600}
WAIT_GO=0
STATE=${STATE:-}
MODE=hosts
QUIET=0
MEM=${UML_MEM:-1024M}
# The AWS-recommended EFS mount options, so client behaviour (hard mount,
# 60 s RPC timeout, new source port on reconnect) matches production.
MOUNT_OPTS=${NFS_MOUNT_OPTS:-vers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport}
declare -A ON=()

while [ $# -gt 0 ]; do
  case $1 in
  -n | --hosts) HOSTS=${2:?}; shift 2 ;;
  -d | --delay) DELAY=${2?}; shift 2 ;;
  --delegations) DELEG=1; shift ;;
  --no-delegations) DELEG=0; shift ;;
  --lease) LEASE=${2:?}; shift 2 ;;
  --squash) SQUASH=${2:?}; shift 2 ;;
  --squashed) SQUASHED=${2:?}; shift 2 ;;
  --on) ON[${2:?}]=${3:?}; shift 3 ;;
  --server-local) MODE=server; shift ;;
  -s | --state) STATE=${2:?}; shift 2 ;;
  -t | --timeout) TIMEOUT=${2:?}; shift 2 ;;
  --wait-go) WAIT_GO=${2:?}; shift 2 ;;
  -q | --quiet) QUIET=1; shift ;;
  -h | --help) usage; exit 0 ;;
  --) shift; break ;;
  -*) die "unknown option $1 (see --help)" ;;
  *) break ;;
  esac
done

[[ $HOSTS =~ ^[0-9]+$ ]] && [ "$HOSTS" -ge 1 ] && [ "$HOSTS" -le 26 ] || die "--hosts must be 1..26"
[[ $TIMEOUT =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -ge 30 ] || die "--timeout must be >= 30 seconds"
[[ $WAIT_GO =~ ^[0-9]+$ ]] || die "--wait-go must be a number of seconds"
[[ $DELEG == [01] ]] || die "NFS_DELEGATIONS must be 0 or 1"
[[ $LEASE =~ ^[0-9]+$ ]] && [ "$LEASE" -ge 5 ] && [ "$LEASE" -le 3600 ] || die "--lease must be 5..3600 seconds"
[[ $SQUASH =~ ^(no_root_squash|root_squash|all_squash)(,anon[ug]id=[0-9]+)*$ ]] || die "bad --squash '$SQUASH' (e.g. all_squash,anonuid=1000,anongid=1000)"
[[ -z $SQUASHED || $SQUASHED =~ ^(no_root_squash|root_squash|all_squash)(,anon[ug]id=[0-9]+)*$ ]] || die "bad --squashed '$SQUASHED' (e.g. all_squash,anonuid=1000,anongid=1000)"
[[ -z $DELAY || $DELAY =~ ^[0-9.]+(us|ms|s)$ ]] || die "bad delay '$DELAY' (e.g. 500us, 1ms)"
[ "$(id -u)" = 0 ] || die "must run as root (UML nfsd setup needs it)"

need=(linux.uml rpc.nfsd rpc.mountd rpcbind exportfs modprobe tc ip unshare)
missing() { local c; for c in "${need[@]}"; do command -v "$c" >/dev/null || return 0; done; return 1; }
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
if missing; then
  [ "${NFS_HARNESS_INSTALL:-0}" = 1 ] ||
    die "missing tools; run: apt-get install -y --no-install-recommends user-mode-linux nfs-kernel-server kmod iproute2 (or set NFS_HARNESS_INSTALL=1)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    user-mode-linux nfs-kernel-server kmod iproute2 >/dev/null
  ! missing || die "tools still missing after apt-get install"
fi
# One guest at a time on the machine: two guests sharing the cores make
# timing-sensitive scenarios flaky and benchmarks wrong. Take the lock that
# internal/nfstest's Run takes (SESSFS_UML_LOCK, default
# /tmp/sessfs-uml.lock; "off" when the caller serializes guests otherwise),
# unless the caller holds it already (Run sets NFS_HARNESS_LOCKED=1; an
# ancestor process holding it, such as a `flock` wrapper, counts too).
UML_LOCK=${SESSFS_UML_LOCK:-/tmp/sessfs-uml.lock}
# ancestor_holds FILE: whether a process above this one holds a flock on
# FILE (a test binary built before Run passed NFS_HARNESS_LOCKED, or a
# `flock FILE` wrapper): waiting for it would wait for ourselves.
ancestor_holds() {
  local ino holders p
  ino=$(stat -c %i "$1" 2>/dev/null) || return 1
  holders=" $(awk -v ino="$ino" '$2 == "FLOCK" { n = split($6, a, ":"); if (a[n] == ino) print $5 }' /proc/locks | tr '\n' ' ')"
  p=$$
  while [ "${p:-0}" -gt 1 ]; do
    p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2)
    case $holders in *" $p "*) return 0 ;; esac
  done
  return 1
}
if [ "${NFS_HARNESS_LOCKED:-0}" != 1 ] && [ "$UML_LOCK" != off ] && ! ancestor_holds "$UML_LOCK"; then
  exec 9>>"$UML_LOCK" || die "cannot open the machine-wide guest lock $UML_LOCK"
  if ! flock -n 9; then
    echo "nfs-harness: waiting for the machine-wide guest lock $UML_LOCK" >&2
    flock 9 || die "cannot take the machine-wide guest lock $UML_LOCK"
  fi
fi
KVER=$(ls /usr/lib/uml/modules 2>/dev/null | head -1)
[ -n "$KVER" ] || die "no UML modules in /usr/lib/uml/modules"

host_name() { printf 'host\x'"$(printf %x $((64 + $1)))"; } # 1 -> hostA
if [ "$MODE" = server ]; then
  NAMES=(server)
  [ ${#ON[@]} -eq 0 ] || die "--on is not used with --server-local"
  [ $# -gt 0 ] || die "--server-local needs a command"
  [ -z "$SQUASHED" ] || die "--squashed is not used with --server-local"
else
  NAMES=()
  for ((i = 1; i <= HOSTS; i++)); do NAMES+=("$(host_name $i)"); done
  for h in "${!ON[@]}"; do
    [[ " ${NAMES[*]} " == *" $h "* ]] || die "--on $h: no such host (hosts: ${NAMES[*]})"
  done
  [ $# -gt 0 ] || [ ${#ON[@]} -gt 0 ] || die "no command given (see --help)"
fi

if [ -z "$STATE" ]; then STATE=$(mktemp -d /tmp/nfs-harness.XXXXXX); fi
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd -P)
case $STATE/ in /run/* | /var/lib/nfs/* | /proc/* | /sys/* | /dev/*)
  die "state dir $STATE is hidden inside the guest; use one under /tmp" ;;
esac
rm -f "$STATE"/*.rc "$STATE"/*.out "$STATE"/*.mount "$STATE"/*.mountstats "$STATE"/cmd.* "$STATE"/guest.* "$STATE"/harness.* \
  "$STATE"/console.log "$STATE"/dmesg.log "$STATE"/timeline.log "$STATE"/ctl.log
# Booting ahead, the caller may write guest.go (and lines of the timeline)
# from now on.
[ "$WAIT_GO" = 0 ] || : >"$STATE/guest.started"
CWD=$(pwd -P)
# The timeline: one line per event, UTC, from this script, the guest and the
# hosts' commands (NFS_TIMELINE), merged by time when a run is diagnosed.
event() { echo "$(date -u +%T.%3N) $*" >>"$STATE/timeline.log"; }

# Commands: a shell string per host, run with bash -c.
for h in "${NAMES[@]}"; do
  if [ -n "${ON[$h]:-}" ]; then
    printf '%s\n' "${ON[$h]}" >"$STATE/cmd.$h"
  elif [ $# -gt 0 ]; then
    printf '%q ' "$@" >"$STATE/cmd.$h"
  fi
done

# The caller's exported environment, less what describes this shell or host.
export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_|HOSTNAME|NFS_[A-Z_]*|NETEM_DELAY|BASH_[A-Z_]*)(=|$)' \
  >"$STATE/env.sh" || true

# Functions for the guest's scripts (init.sh and host.sh source it).
cat >"$STATE/lib.sh" <<'EOF'
G=/run/harness
# stamp FILE MSG...: a line with the time, without a process (date(1)
# would be one): the outage stamps must be moments, not process starts,
# apart. TZ=UTC comes from init.sh.
stamp() {
  local f=$1 t=$EPOCHREALTIME s
  shift
  printf -v s '%(%T)T' "${t%.*}"; t=${t#*.}
  echo "$s.${t:0:3} $*" >>"$f"
}
event() { stamp "$STATE/timeline.log" "$@"; }
ctllog() { stamp "$STATE/ctl.log" "$@"; }
# A pause without a process (a link's flag polled, a cut's length, a
# guest booted ahead looking for its go): a read that times out on a FIFO
# nobody writes to (init.sh makes it). A sleep(1) costs about 0.2 s of the
# guest's one CPU to start, which it takes from the hosts' commands.
nap() { read -rt "$1" <>$G/nap || true; }
# Waits with no end in sight block on a FIFO instead (host.sh's go,
# init.sh's mounts and hosts, the control loop's requests): a guest
# process's every system call is several of the host's under UML, and the
# poll loops, 10-20 looks a second each, took a sixth of the guest's CPU
# from the hosts' commands, and more of the machine's while a guest booted
# ahead waited for its turn. (FIFOs open read-write: no open blocks, and
# what is written stays until read while anyone has them open.)
EOF

# Runs in each host's netns (and its own UTS and mount namespaces):
# set the nodename, mount, report, wait for the go signal, run the command.
cat >"$STATE/host.sh" <<'EOF'
#!/bin/bash
# args: HOST IDX STATE SERVER_ADDR MOUNTPOINT
H=$1 I=$2 STATE=$3 SRV=$4 MNT=$5
. "$STATE/lib.sh"
exec 8<>"$G/$H.go" # init.sh's "go" (or "abort"), made before this starts
# mounted MSG: this host's mount check, for init.sh, which waits for all.
mounted() { echo "$1" >"$G/$H.mount"; echo "$H" 1<>"$G/mounted"; }
# Builtins where a command would do (hostname, grep, cat): every process
# started here and in init.sh is on the way to the hosts' commands, and
# costs the busy guest up to a second.
echo "$H" >/proc/sys/kernel/hostname # this UTS namespace's nodename
echo $$ >"$G/$H.pid"
# mountnfs PATH DIR: mount the server's PATH on DIR and check that it is
# NFS and writable, or report why not and exit.
mountnfs() {
  local out fstype mounted mp ty
  if ! mount -t nfs4 -o "$MOUNT_OPTS" "$SRV:$1" "$2" >"$G/$H.err" 2>&1; then
    IFS= read -r -d '' out <"$G/$H.err"
    mounted "mount $SRV:$1 on $2 failed: $out"; exit 1
  fi
  fstype=$(stat -f -c %T "$2" 2>&1)
  mounted=0
  while read -r _ mp ty _; do
    if [ "$mp" = "$2" ] && [ "$ty" = nfs4 ]; then mounted=1; fi
  done </proc/self/mounts
  if [ $mounted = 0 ] || [ "$fstype" != nfs ]; then
    mounted "$2 is not an NFS mount after mount (statfs type: $fstype)"; exit 1
  fi
  if ! echo "$H" >"$2/.harness-$H" 2>"$G/$H.err"; then
    mounted "cannot write to $2: $(cat "$G/$H.err")"; exit 1
  fi
  rm -f "$2/.harness-$H"
}
mountnfs / "$MNT"
SMNT=
if [ -n "$SQUASHED" ]; then SMNT=$MNT.squashed; mountnfs /squashed "$SMNT"; fi
event "$H: mounted"
mounted ok
read -r verb <&8 || verb=
exec 8<&-
[ "$verb" = go ] || exit 1
if [ -e "$STATE/cmd.$H" ]; then
  set -a; . "$STATE/env.sh"; set +a
  export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
  export NFS_HOST=$H NFS_HOSTS=$NHOSTS NFS_MNT=$MNT NFS_CTL=$G/ctl \
    NFS_DELEGATIONS=$DELEG NETEM_DELAY=$DELAY NFS_LEASE=$LEASE NFS_SQUASH=$SQUASH NFS_TIMELINE=$STATE/timeline.log \
    NFS_SQUASHED=$SQUASHED NFS_SQUASHED_MNT=$SMNT \
    NFS_EXPORT=/run/export NFS_CTL_WAKE=$G/ctl.wake
  if [ "$H" = server ]; then export NFS_LOCAL=/run/local; else export NFS_SERVER_VETH=veth${H#host}-s; fi
  cd "$CWD" 2>/dev/null || cd /
  event "$H: command started"
  IFS= read -r -d '' cmd <"$STATE/cmd.$H"
  bash -c "$cmd" </dev/null >"$STATE/$H.out" 2>&1
  rc=$?
  event "$H: command exited $rc"
else
  rc=0
fi
cat /proc/self/mountstats >"$STATE/$H.mountstats" 2>/dev/null
cd /
# -i: umount(2) itself, without the umount.nfs4 helper, which is one
# more process start on the way to the lock's release (an NFSv4 unmount
# needs nothing of it).
[ -z "$SMNT" ] || umount -i -l -f "$SMNT" 2>/dev/null
umount -i -l -f "$MNT" 2>/dev/null
echo $rc >"$G/$H.rc"
EOF

# The guest's init (pid 1).
cat >"$STATE/init.sh" <<EOF
#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export STATE=$(printf %q "$STATE") CWD=$(printf %q "$CWD") MOUNT_OPTS=$(printf %q "$MOUNT_OPTS")
export NHOSTS=${#NAMES[@]} DELEG=$DELEG DELAY=$(printf %q "$DELAY") LEASE=$LEASE SQUASH=$SQUASH SQUASHED=$SQUASHED
NAMES=(${NAMES[*]})
MODE=$MODE KVER=$KVER TIMEOUT=$TIMEOUT WAIT_GO=$WAIT_GO
EOF
cat >>"$STATE/init.sh" <<'EOF'
export TZ=UTC # for lib.sh's stamps
. "$STATE/lib.sh"
# The kernel's log goes to the state dir on every way out, for diagnosis.
off() { dmesg >"$STATE/dmesg.log" 2>&1; sync; echo o >/proc/sysrq-trigger; sleep 60; }
fail() { echo "nfs-harness: guest setup failed: $*"; echo "$*" >"$STATE/guest.err"; off; }
mount -t proc proc /proc; mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /var/lib/nfs
mkdir -p $G/ctl /run/netns /run/nfs /run/export /run/mnt /run/local \
  /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery
: >/var/lib/nfs/etab; : >/var/lib/nfs/rmtab
mkfifo $G/nap # for lib.sh's nap
# The blocking waits' FIFOs (see lib.sh): a go per host, the hosts' mount
# checks, and the control loop's wake-up ($NFS_CTL_WAKE).
for h in "${NAMES[@]}"; do mkfifo $G/$h.go; done
mkfifo $G/mounted $G/ctl.wake
exec 9<>$G/mounted 6<>$G/ctl.wake
# Watchdog: the guest powers itself off before the host-side timeout.
# Hosts' commands still running then get their mountstats taken from outside.
# watchdog SECS WHAT: off after SECS; its pid in wd.
watchdog() {
  ( sleep "$1"; echo "nfs-harness: guest timeout: $2"
    event "guest: timeout: $2"
    for h in "${NAMES[@]}"; do
      [ -e $G/$h.rc ] || cat /proc/"$(cat $G/$h.pid 2>/dev/null)"/mountstats >"$STATE/$h.mountstats" 2>/dev/null
    done
    echo timeout >"$STATE/guest.timeout"; off ) &
  wd=$!
}
if [ "$WAIT_GO" = 0 ]; then
  watchdog $((TIMEOUT - 10)) "$((TIMEOUT - 10))s after boot"
else
  # Booting ahead: -t counts from the go; until then, --wait-go bounds it.
  watchdog "$WAIT_GO" "no go within ${WAIT_GO}s of boot"
fi
event "guest: booted"

# One modprobe loads the modules and what they depend on, from the UML
# package's tree (it has its modules.dep), seen at <root>/lib/modules: an
# insmod per module was 14 process starts, seconds of a busy guest's boot.
mkdir -p /run/kmod/lib && ln -s /usr/lib/uml/modules /run/kmod/lib/modules &&
  modprobe -d /run/kmod -S "$KVER" -a nfsd nfsv4 sch_netem veth || fail "modprobe"
ip link set lo up
mount -t nfsd nfsd /proc/fs/nfsd || fail "mount nfsd fs"
mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
mount -t tmpfs -o size=512m,mode=1777 tmpfs /run/export
mount -t tmpfs -o size=512m,mode=1777 tmpfs /run/local
rpcbind -w || fail rpcbind
# export DIR MAPPING FSID: export DIR to the hosts with the user mapping.
export_dir() {
  # An EFS access point's root directory is its user's: under all_squash
  # the export's is anonuid's, as every client's files there are.
  if [[ $2 == all_squash* ]]; then
    [[ $2 =~ anonuid=([0-9]+) ]] && chown "${BASH_REMATCH[1]}" "$1"
    [[ $2 =~ anongid=([0-9]+) ]] && chgrp "${BASH_REMATCH[1]}" "$1"
    chmod 0755 "$1"
  fi
  exportfs -o "rw,sync,no_subtree_check,$2,insecure,fsid=$3" "127.0.0.1:$1" "10.99.0.0/16:$1" || fail "exportfs $1"
}
# The second export (--squashed) is a file system of its own below the
# first, the NFSv4 root (fsid=0), so that the hosts reach it by path
# (/squashed); an NFSv4 client crosses into it from the first as well.
if [ -n "$SQUASHED" ]; then
  mkdir /run/export/squashed && mount -t tmpfs -o size=512m,mode=1777 tmpfs /run/export/squashed || fail "tmpfs of the second export"
fi
export_dir /run/export "$SQUASH" 0
[ -z "$SQUASHED" ] || export_dir /run/export/squashed "$SQUASHED" 1
# mountd answers nfsd's export lookups whatever it serves itself; the
# hosts mount NFSv4, which never asks it, so it serves no MOUNT v2 or v3
# and no UDP: its registrations of those with rpcbind took about 1.3 s of
# the guest's CPU of each boot.
rpc.mountd -N 2 -N 3 -u 2>/dev/null || fail rpc.mountd
# Short lease and grace so lease-loss tests take seconds, not minutes
# (EFS and nfsd default to 90 s leases).
echo $LEASE >/proc/fs/nfsd/nfsv4leasetime; echo $LEASE >/proc/fs/nfsd/nfsv4gracetime
# EFS grants no delegations; nfsd grants none when file leases are disabled.
[ "$DELEG" = 1 ] || echo 0 >/proc/sys/fs/leases-enable
# NFSv4 only: no lockd, so no NLM grace period blocking the first LOCK.
rpc.nfsd -N 3 8 || fail rpc.nfsd
# A server that has just started for the first time has no client to
# reclaim anything, so its grace period would only hold up the hosts'
# first OPEN: refused until it ends, retried with the client's doubling
# back-off, it cost 15-20 s per guest. End it. A restart (nfsd-stop below)
# keeps its grace period, which the lease-loss tests are about.
echo Y >/proc/fs/nfsd/v4_end_grace || fail "end nfsd's grace period"
event "guest: nfsd started"

# Links change through one ip process, started now and fed commands on a
# FIFO: starting a process in a busy guest takes up to seconds, and an
# outage is timed from its stamp, which must be moments from the change.
# linkset VETH up|down returns once the link's flag changed (5 s at most).
mkfifo $G/ipcmd
exec 7<>$G/ipcmd
ip -force -batch - <$G/ipcmd >>"$STATE/ctl.log" 2>&1 &
linkset() {
  local want=0 f i
  [ "$2" = up ] && want=1
  echo "link set $1 $2" >&7
  for ((i = 0; i < 500; i++)); do
    read -r f <"/sys/class/net/$1/flags" && (( (f & 1) == want )) && return 0
    nap 0.01
  done
  echo "link set $1 $2: the flag did not change in 5 s" >>"$STATE/ctl.log"
  return 1
}

# nfsconn HOST: sets conn to the host's TCP connections to nfsd as its
# kernel has them, read with builtins only (no fork) from /proc/PID/net/tcp
# of its host.sh, which runs in its network namespace: the retransmission
# timeout (ms), how many times the unanswered segment was sent again, and
# when the timer fires next (timer 1: a retransmission). ss and its
# pipeline, five process starts between a cut's end and its link coming
# up, kept links down 2-9 s longer than asked for.
nfsconn() {
  local pid sl loc rem st q tm retr uid probes inode ref ptr rto rest
  conn=
  read -r pid 2>/dev/null <"$G/$1.pid" || { conn=none; return; }
  while read -r sl loc rem st q tm retr uid probes inode ref ptr rto rest; do
    # Port 2049 is 0801; not TIME_WAIT (06) or LISTEN (0A).
    [[ $rem == *:0801 && $st != 06 && $st != 0A ]] || continue
    conn+="${conn:+; }rto:$((rto * 10)) retransmits:$((16#$retr)) timer:$((16#${tm%%:*})) in $((16#${tm#*:} * 10))ms"
  done <"/proc/$pid/net/tcp"
  conn=${conn:-none}
}

# Link-cut control loop (see the header of nfs-harness.sh).
# Between a request and its link going down, only builtins and one fork:
# each exec in a busy one-CPU guest can take a second (a cut once came 5.5 s
# after its request, which outlasted what the test meant it to interrupt).
# So requests are remembered in the loop rather than renamed, and a link is
# looked up in sysfs rather than with ip.
ctl() {
  local f id verb h secs veth
  local -A seen
  while :; do
    for f in $G/ctl/*.req; do
      [ -e "$f" ] || continue
      id=${f%.req}
      [ -z "${seen[$id]:-}" ] || continue
      seen[$id]=1
      read -r verb h secs <"$f"
      if [ "$verb" = nfsd-stop ]; then
        # "nfsd-stop SECS": no host; the server's nfsd stops (every client's
        # opens and locks are forgotten, as in a server reboot) and starts
        # again after SECS, with a fresh grace period.
        [[ $h =~ ^[0-9.]+$ ]] || { echo "bad seconds '$h'" >"$id.err"; continue; }
        # Stopped by writing what rpc.nfsd 0 writes, without starting it:
        # the stop must follow its stamp at once (see linkset).
        ( : >"$id.down.t"; echo 0 >/proc/fs/nfsd/threads && event "server: nfsd stopped for ${h}s, state lost (${id##*/})" && mv "$id.down.t" "$id.down"
          ctllog "nfsd stopped for ${h}s"
          # Stamped before rpc.nfsd: nfsd may answer as soon as it has
          # written the thread count, before rpc.nfsd has even exited.
          # And when rpc.nfsd has returned, nfsd surely answers: the
          # server came back between the two stamps (nfstest's Cut.Ready).
          nap "$h"; : >"$id.up.t"
          rpc.nfsd -N 3 8 && : >"$id.ready" && mv "$id.up.t" "$id.up" && event "server: nfsd started again (${id##*/})"
          ctllog "nfsd started" ) &
        continue
      fi
      veth=veth${h#host}-s
      if [ ! -e "/sys/class/net/$veth" ]; then
        echo "no link $veth for host '$h'" >"$id.err"; continue
      fi
      case $verb in
      cut)
        [[ $secs =~ ^[0-9.]+$ ]] || { echo "bad seconds '$secs'" >"$id.err"; continue; }
        ( : >"$id.down.t"; linkset "$veth" down && event "server: link of $h down for ${secs}s (${id##*/})" &&
            mv "$id.down.t" "$id.down"
          ctllog "cut $h ($veth) for ${secs}s"
          nap "$secs"
          if [ -e "$id.restored" ]; then ctllog "cut of $h had been ended (${id##*/})"; exit 0; fi
          # The host's TCP connection to nfsd retransmits with exponential
          # backoff while the link is down; its next retry, not the link,
          # decides when the host is heard again. Record it.
          nfsconn "$h"
          event "server: link of $h coming up; its NFS connection: $conn"
          : >"$id.up.t"; linkset "$veth" up && event "server: link of $h up (${id##*/})" && mv "$id.up.t" "$id.up"
          ctllog "restored $h" ) & ;;
      restore)
        cut=
        if [ -n "$secs" ]; then
          [[ $secs =~ ^[A-Za-z0-9._-]+$ && -e $G/ctl/$secs.down ]] || { echo "no cut '$secs'" >"$id.err"; continue; }
          cut=$G/ctl/$secs
          : >"$cut.restored"
        fi
        nfsconn "$h"
        event "server: link of $h coming up on request; its NFS connection: $conn"
        : >"$id.up.t"
        if linkset "$veth" up; then
          event "server: link of $h restored on request (${id##*/})"
          # The cut's up, stamped as the restore's (a link, same mtime),
          # unless the cut's time was up first.
          [ -z "$cut" ] || [ -e "$cut.up" ] || ln "$id.up.t" "$cut.up" 2>/dev/null || true
          mv "$id.up.t" "$id.up"
        fi
        ctllog "restored $h on request" ;;
      *) echo "unknown verb '$verb'" >"$id.err" ;;
      esac
    done
    # Until a request's writer says so on the wake-up FIFO (nfstest
    # does), or for a second: a shell that only renames its request in
    # is seen within that.
    read -r -t 1 -u 6 _ || true
  done
}
ctl &

if [ "$MODE" = server ]; then
  [ -n "$DELAY" ] && tc qdisc add dev lo root netem delay "$DELAY"
  bash "$STATE/host.sh" server 0 "$STATE" 127.0.0.1 /run/mnt &
  hostpids=($!)
else
  # Batches, one ip or tc process for many changes: each process start
  # costs the busy guest a fraction of a second, and these are many.
  srv= tcs= hostpids=()
  for i in "${!NAMES[@]}"; do
    h=${NAMES[$i]} n=$((i + 1)) L=${NAMES[$i]#host}
    srv+="netns add $h
link add veth$L-s type veth peer name veth$L-c
link set veth$L-c netns $h
addr add 10.99.$n.1/24 dev veth$L-s
link set veth$L-s up
"
    tcs+="qdisc add dev veth$L-s root netem delay $DELAY
"
  done
  ip -batch - <<<"$srv" || fail "links and namespaces for the hosts"
  if [ -n "$DELAY" ]; then tc -batch - <<<"$tcs" || fail "netem $DELAY"; fi
  mkdir -p "${NAMES[@]/#//run/nfs/}"
  if [ -n "$SQUASHED" ]; then
    smnts=("${NAMES[@]/#//run/nfs/}")
    mkdir -p "${smnts[@]/%/.squashed}"
  fi
  for i in "${!NAMES[@]}"; do
    h=${NAMES[$i]} n=$((i + 1)) L=${NAMES[$i]#host}
    ip -n $h -batch - <<<"addr add 10.99.$n.2/24 dev veth$L-c
link set veth$L-c up
link set lo up" || fail "addresses for $h"
    if [ -n "$DELAY" ]; then
      tc -n $h qdisc add dev veth$L-c root netem delay "$DELAY" || fail "netem $DELAY"
    fi
    ip netns exec $h unshare --uts bash "$STATE/host.sh" $h $n "$STATE" 10.99.$n.1 /run/nfs/$h &
    hostpids+=($!)
  done
fi

# Every host must have mounted before any command starts: each says so
# on $G/mounted once its check is done, whatever it found.
deadline=$((SECONDS + 60)) bad= n=0
while [ $n -lt ${#NAMES[@]} ] && [ $SECONDS -lt $deadline ] && read -r -t $((deadline - SECONDS)) -u 9 _; do n=$((n + 1)); done
for h in "${NAMES[@]}"; do
  r="mount timed out after 60s"
  if [ -s $G/$h.mount ]; then IFS= read -r -d '' r <$G/$h.mount; r=${r%$'\n'}; fi
  if [ "$r" != ok ]; then bad+="$h: $r"$'\n'; fi
done
if [ -n "$bad" ]; then
  for h in "${NAMES[@]}"; do echo abort 1<>$G/$h.go; done
  printf '%s' "$bad" >"$STATE/guest.err"
  printf 'nfs-harness: NFS mount check failed:\n%s' "$bad"; off
fi
# The server's view of its NFSv4 clients: one per host, each its own identity.
# Builtins rather than cat: see host.sh.
for f in /proc/fs/nfsd/clients/*/info; do
  [ -e "$f" ] || continue
  while IFS= read -r l; do echo "$l"; done <"$f"; echo
done >"$STATE/clients.txt"
read -r lt </proc/fs/nfsd/nfsv4leasetime
echo "nfs-harness: ${#NAMES[@]} host(s) mounted (lease ${lt}s, delegations=$DELEG, delay=${DELAY:-none}); running"
if [ "$WAIT_GO" != 0 ]; then
  # Booted ahead of the caller's turn: wait for it (see "Booting ahead").
  event "guest: ${#NAMES[@]} host(s) mounted; waiting for the go"
  : >"$STATE/guest.ready"
  # The harness writes the go to the console, the guest's stdin, as well:
  # the read returns then. The file is looked at every second regardless.
  while [ ! -e "$STATE/guest.go" ]; do
    read -r -t 1 _
    [ $? != 1 ] || nap 1 # the console at its end: no go will come on it
  done
  read -r verb secs <"$STATE/guest.go" || true
  [ "$verb" = go ] || { event "guest: $verb, not go: powering off"; off; }
  [[ ${secs:-} =~ ^[0-9]+$ ]] && [ "$secs" -lt "$TIMEOUT" ] && TIMEOUT=$secs
  kill "$wd" 2>/dev/null
  watchdog $((TIMEOUT - 10)) "$((TIMEOUT - 10))s after the go"
fi
event "guest: ${#NAMES[@]} host(s) mounted (lease ${lt}s, delegations=$DELEG, delay=${DELAY:-none}); go"
for h in "${NAMES[@]}"; do echo go 1<>$G/$h.go; done
# A host's rc is there once its host.sh has exited. A host.sh killed
# before it (by the OOM killer, or by its command) leaves its own status,
# 128+the signal, in its place: the host failed, where the harness's 125
# would say the guest had not been set up.
for i in "${!NAMES[@]}"; do
  h=${NAMES[$i]} rc=
  wait "${hostpids[$i]}"; st=$?
  if ! read -r rc <$G/$h.rc && [ $st != 0 ]; then
    rc=$st
    echo "nfs-harness: $h: its harness process ended with status $st before its command's exit code"
    event "guest: $h: harness process ended with status $st, no exit code of its command"
  fi
  [ -z "$rc" ] || echo "$rc" >"$STATE/$h.rc"
done 2>/dev/null
echo done >"$STATE/guest.done"
off
EOF
chmod +x "$STATE/init.sh" "$STATE/host.sh"

t0=$SECONDS
# The guest has one CPU for its hosts and server, and its tests time
# requests against deadlines: it runs ahead of the machine's other work (go
# test runs other packages beside it) at a higher priority, as real hosts
# would have CPUs of their own. Without the privilege (CAP_SYS_NICE, which
# a container's root may lack) nice warns and runs it as is; the timeline
# says which.
prio=(nice -n -10) limit=$TIMEOUT con0=null,fd:1 in=/dev/null
if [ "$WAIT_GO" = 0 ]; then
  event "harness: starting the guest (nice $(nice -n -10 nice 2>/dev/null))"
else
  # Booting ahead, beside another guest that has the lock: at the caller's
  # priority, below that guest's, until the go. Then all of it (the guest
  # is a process group of its own) goes to -10. The host's bound is a last
  # resort: the guest's own watchdogs come first.
  prio=() limit=$((WAIT_GO + TIMEOUT + 30))
  event "harness: starting the guest ahead of its go (nice $(nice))"
  # Its process group is looked up while it boots, so that at the go only
  # renice starts: a process start can take a second on a busy machine.
  # The waits pause without a process, like the guest's nap.
  mkfifo "$STATE/harness.nap" "$STATE/harness.go"
  # The guest's console reads the go from harness.go (see init.sh).
  con0=fd:0,fd:1 in=$STATE/harness.go
  hnap() { read -rt 0.1 <>"$STATE/harness.nap" || true; }
  (
    until uml=$(pgrep -o -f "^linux.uml .*umid=nfsh$$ "); do
      [ -e "$STATE/guest.exited" ] && exit 0
      hnap
    done
    pg=$(ps -o pgid= -p "$uml")
    while [ ! -e "$STATE/guest.go" ]; do
      [ -e "$STATE/guest.exited" ] && exit 0
      hnap
    done
    # The go, to the guest's console, where init.sh waits for it.
    read -r l <"$STATE/guest.go" && echo "$l" 1<>"$STATE/harness.go"
    renice -n -10 -g $pg >/dev/null 2>&1
    event "harness: go; the guest at nice $(ps -o ni= -p "$uml")"
    # Once the hosts are done, the caller lets the next guest go while
    # this one powers off: at the lowest priority, out of its way.
    while [ ! -e "$STATE/guest.done" ]; do
      [ -e "$STATE/guest.exited" ] && exit 0
      hnap
    done
    renice -n 19 -g $pg >/dev/null 2>&1
  ) &
fi
# UML's pid/umid files go to the state dir, not ~/.uml; a unique umid lets
# several guests run at once. The guest needs no terminal but its console
# (con0): no other consoles, serial lines or legacy BSD ptys, each of which
# was a device the kernel made at boot, before init, one at a time: the
# 512 legacy ptys alone took 1 s of a quiet machine's boot and 10 s of a
# loaded one's. (Each line set to "none" says "setup_one_line failed" on
# the console: filtered out.) Booting ahead, the console's input is the
# FIFO harness.go, on which the go comes.
timeout -k 10 "$limit" "${prio[@]}" linux.uml mem="$MEM" umid="nfsh$$" uml_dir="$STATE/uml" \
  root=/dev/root rootfstype=hostfs rootflags=/ rw init="$STATE/init.sh" \
  con=none con0="$con0" ssl=none pty.legacy_count=0 quiet <>"$in" 2>&1 |
  grep --line-buffered -vE -e 'setup_one_line failed|SELinux|mmapper_init|ubd device|svc_tli_create|^sysrq|^reboot|Power down|^$' \
    -e $'^(go|cancel)( [0-9]+)?\r?$' | # the console's echo of the go
  tee "$STATE/console.log" || true
elapsed=$((SECONDS - t0))
: >"$STATE/guest.exited"
event "harness: guest exited after ${elapsed}s"

status=0
if [ -e "$STATE/guest.err" ]; then
  echo "nfs-harness: FAILED to set up the guest: $(cat "$STATE/guest.err")" >&2
  echo "nfs-harness: console log: $STATE/console.log" >&2
  exit 125
fi
for h in "${NAMES[@]}"; do
  rc=$(cat "$STATE/$h.rc" 2>/dev/null || echo "")
  if [ -z "$rc" ]; then
    if [ -e "$STATE/guest.timeout" ] || [ $elapsed -ge "$limit" ]; then rc=124; else rc=125; fi
  fi
  if [ "$QUIET" = 0 ] && [ -s "$STATE/$h.out" ]; then
    sed "s/^/[$h] /" "$STATE/$h.out"
  fi
  echo "nfs-harness: $h exit $rc${rc:+ }($STATE/$h.out)"
  [ "$status" != 0 ] || [ "$rc" = 0 ] || status=$rc
done
echo "nfs-harness: ${elapsed}s in guest, state $STATE"
exit "$status"
