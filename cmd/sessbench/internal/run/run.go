// Package run implements "sessbench run".
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/progress"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/fstarget"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
)

// RunOptions are the settings of "sessbench run"; flags bind to them.
type RunOptions struct {
	IO *cmdutil.IOStreams
	// Context ends the run early (Ctrl-C); its cause says why.
	Context context.Context

	Dirs        []string
	Redis       string
	Workloads   []string
	Sizes       []string
	Concurrency []int
	Sessions    int
	HotSessions int
	WriteRatio  float64
	Duration    time.Duration
	Ops         int64
	Warmup      time.Duration
	Rounds      int
	Rate        float64
	Durability  string
	JSON        bool
	CSV         bool
	Plot        string
	Title       string
	Percentiles []string

	// TempBase is where the default target's temporary directory goes when
	// no --dir is given; empty means LocalTempDir().
	TempBase string

	// storeOpts are added after sessbench's own store options: tests give
	// the stores a clock of their own.
	storeOpts []fsstore.Option
	// openStore opens a directory target; nil means fstarget.Open. Tests
	// give one that fails as the store does on a platform it does not run
	// on.
	openStore func(name, dir string, opts ...fsstore.Option) (*fstarget.Target, error)
}

// NewCmdRun returns the run command. runF, if not nil, replaces the command's
// action (tests use it to inspect the parsed options).
func NewCmdRun(io *cmdutil.IOStreams, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Measure session latency on directories and Redis",
		Long: `Run the same session workloads against each target in turn, interleaved in
rounds (A B A B ...) so that drift hits every target alike, and report
latency percentiles and throughput of each target next to the first one.

Targets are --dir directories and --redis servers. Without --dir, a
temporary directory on local disk is used, so the command works with
nothing mounted. What a run creates is removed at its end; a run whose
sessions would not fit is refused before anything is written.

Workloads:
  cycle   a full request: lock, load, save, unlock
  load    load a session
  save    save a session
  touch   extend a session's expiry
  mixed   requests of which --write-ratio are full cycles and the rest loads
  hot     full cycles, every client on the same --hot-sessions sessions

The verdict at the end leads with the p50 difference with the fewest
clients (the storage's own cost), then p99 and throughput with the most
(queueing). There is no universal threshold: hold what the mount adds
against what your requests already take. On an NFS mount the verdict ends
with the p50 per NFS RPC; well above your round trip to the file server
(ping it), the mount's options or the network path are the first suspects.

More in "sessbench help run-targets" (what a run writes where, the room
and connections it needs, how long its sessions live, what a killed run
leaves) and "sessbench help run-report" (what each number is, the NFS RPC
counts, the --json, --csv and --plot outputs).`,
		Example: `  # Local disk only: the quickest look
  sessbench run

  # The shared mount against local disk and Redis
  sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench --redis 127.0.0.1:6379

  # Contention on one session, 10 s per measurement, JSON for a script
  sessbench run --dir /mnt/efs/bench --workload hot --concurrency 1,16,64 --duration 10s --json

  # Paced at 2000 requests/s (latency counted from intended start), with a chart
  sessbench run --dir /mnt/efs/bench --rate 2000 --plot latency.svg`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf("unexpected argument %q (targets are given with --dir and --redis)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked here rather than with cobra's flag groups so that the
			// error is a usage error (exit status 2) like every other misuse.
			if cmd.Flags().Changed("duration") && cmd.Flags().Changed("ops") {
				return cmdutil.UsageErrorf("--duration and --ops exclude each other")
			}
			if opts.JSON && opts.CSV {
				return cmdutil.UsageErrorf("--json and --csv exclude each other")
			}
			for _, name := range []string{"title", "percentiles"} {
				if cmd.Flags().Changed(name) && opts.Plot == "" {
					return cmdutil.UsageErrorf("--%s applies to the chart; add --plot FILE", name)
				}
			}
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Dirs, "dir", nil, "benchmark a session store in `directory` (repeatable; default: a temporary directory on local disk)")
	f.StringVar(&opts.Redis, "redis", "", "also benchmark the Redis server at `address`: host:port, redis://[[user]:password@]host[:port][/db], or rediss:// for TLS (password: $"+redisaddr.PasswordEnv+")")
	f.StringSliceVar(&opts.Workloads, "workload", []string{"cycle", "load", "save", "touch"}, "`workloads` to run: cycle, load, save, touch, mixed, hot")
	f.StringSliceVar(&opts.Sizes, "size", []string{"1KiB", "16KiB"}, "session payload `sizes` (B, KiB, MiB; at most 64MiB)")
	f.IntSliceVar(&opts.Concurrency, "concurrency", []int{1, 8, 64}, "concurrent `clients`, a sweep")
	cmdutil.IntVarP(f, &opts.Sessions, "sessions", "", 1000, "distinct sessions per payload size (at most 10000000)")
	cmdutil.IntVarP(f, &opts.HotSessions, "hot-sessions", "", 1, "sessions all clients share in the hot workload")
	f.Float64Var(&opts.WriteRatio, "write-ratio", 0.1, "fraction of mixed-workload requests that are full cycles (writes); the rest are loads")
	f.DurationVar(&opts.Duration, "duration", time.Second, "measured time per target and measurement, over all rounds")
	cmdutil.IntVarP(f, &opts.Ops, "ops", "", 0, "run at least this many operations per target and measurement instead of --duration, failed ones included (split over the rounds, rounded up, at least one per client; the clients of a round share its operations)")
	f.DurationVar(&opts.Warmup, "warmup", 200*time.Millisecond, "unrecorded warm-up before each target's first measurement")
	cmdutil.IntVarP(f, &opts.Rounds, "rounds", "", 3, "interleaved rounds each measurement is split into")
	f.Float64Var(&opts.Rate, "rate", 0, "pace each measurement at `ops/s` over all clients, latency from intended start (0: as fast as possible; a rate above 1e9 per client paces at 1e9)")
	f.StringVar(&opts.Durability, "durability", "", "fsstore durability: none, file or full (default: the store's own default; the report says which was used)")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.BoolVar(&opts.CSV, "csv", false, "print the results as CSV")
	f.StringVar(&opts.Plot, "plot", "", "write a latency chart to `file` (SVG; name it .svg; an existing file is replaced)")
	f.StringVar(&opts.Title, "title", "", "header `text` of the --plot chart (default: the targets, workloads and date)")
	f.StringSliceVar(&opts.Percentiles, "percentiles", report.DefaultPercentiles(), "`percentiles` the --plot chart draws: "+strings.Join(report.Percentiles(), ", "))
	// The flags of a first run first, grouped; the rest tune a run.
	cmdutil.GroupFlags(cmd,
		cmdutil.FlagGroup{Title: "Targets", Flags: []string{"dir", "redis"}},
		cmdutil.FlagGroup{Title: "What to measure", Flags: []string{"workload", "size", "concurrency", "duration"}},
		cmdutil.FlagGroup{Title: "Output", Flags: []string{"json", "csv", "plot"}},
		cmdutil.FlagGroup{Title: "How to measure", Flags: []string{"ops", "rate", "rounds", "warmup", "sessions", "hot-sessions", "write-ratio", "durability"}},
		cmdutil.FlagGroup{Title: "Chart (--plot)", Flags: []string{"percentiles", "title"}},
	)
	var workloads []string
	for _, w := range bench.Workloads {
		workloads = append(workloads, string(w)+"\t"+w.Describe())
	}
	var durabilities []string
	for d := fsstore.DurabilityNone; d <= fsstore.DurabilityFull; d++ {
		durabilities = append(durabilities, d.String())
	}
	cmd.RegisterFlagCompletionFunc("workload", complete(workloads, true))
	cmd.RegisterFlagCompletionFunc("percentiles", complete(report.Percentiles(), true))
	cmd.RegisterFlagCompletionFunc("durability", complete(durabilities, false))
	cmd.MarkFlagDirname("dir")
	cmd.MarkFlagFilename("plot", "svg")
	return cmd
}

// TargetsTopic is the help topic "sessbench help run-targets": what a run
// writes where and what it needs, which run --help leaves out so that its
// flags show on one screen.
func TargetsTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "run-targets",
		Short: "What run writes in its targets, the room it needs, what it leaves",
		Long: `Targets are --dir directories (one private subdirectory is created in each
and removed afterwards; a sessfs store's directory, or one in its data or
lock directory, is refused: give a scratch directory on the same mount)
and --redis servers (the run's keys, under a random sessbench: prefix,
are deleted afterwards; no other key is touched); on a terminal a line
shows while they are removed, before the report. Without --dir, a
temporary directory on local disk is used, so the command works with
nothing mounted: in $TMPDIR if set, else in /var/tmp (/tmp is often
tmpfs, memory), else in /tmp. It is removed before the
report is printed, which names it by where it was made (--json: its path
as "location", with "temporary": true).

Before measuring, each target is given --sessions sessions of every --size
(1000 × 64MiB is 62.5 GiB). A run whose sessions would take more than half
of the space free on a --dir's file system (all the --dir targets on it
together, also under device numbers of their own, as btrfs subvolumes or
two NFS mounts of one export have: those whose file systems report the
same size and nearly the same free space; on Linux, macOS and FreeBSD,
which report it), or of the memory a
--redis server has left before its maxmemory (without one, before its
host's memory runs out), is refused before anything is written: it shares
that space with the live store or the server's other keys, which a full
disk would fail and a maxmemory policy evict. Each session file is counted
in blocks of at most 4 KiB, whatever larger I/O size the file system
reports (an NFS mount's wsize). A --redis server must take every
connection the run opens at once, one per client of the largest
--concurrency and 16 to write the sessions: they are opened before
anything is written, and a server whose maxclients leaves too few, or that
refuses one, refuses the run. A --redis server that does not answer a
command in time (5 s, plus the time a 1 MiB/s link takes to carry one
session of the largest --size per connection: 69 s for 64 clients of
1 MiB) has stopped answering: it is left out of the rest of the run
(exit 1 after the report), named, and its keys expire after their TTL
(below).

Sessions do not expire during a run, so a run of any length, or a load or
touch workload that never saves, measures live sessions, not misses (with a
session handler's usual 24 minutes, they would have expired mid-run). No
target sets a limit from a session's creation; after its last write, a
directory keeps a session for 400 days (the store's idle timeout), and Redis
for twice the run's planned length plus an hour, at least 24 hours (the
TTL). The planned length is --duration + --warmup times the number of
targets × workloads × sizes × concurrencies. An --ops run has none: its
Redis TTL is 24 hours, and one that lasts longer (the table says so) may
have measured expired Redis sessions; give it a --duration instead. The run
removes its sessions at its end, also when interrupted; the Redis keys of a
run killed before it could (SIGKILL) expire after the TTL, but its directory
in each --dir (.sessbench-<digits>) stays until removed by hand:
rm -rf DIR/.sessbench-* once no run uses DIR (a later run in DIR names them
on stderr); without --dir, its sessbench-<digits> in $TMPDIR or /var/tmp,
which a later run without --dir names.`,
	}
}

// ReportTopic is the help topic "sessbench help run-report": what the
// numbers of run's report are, in each of its outputs.
func ReportTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "run-report",
		Short: "What run's report shows: the verdict, percentiles, NFS RPCs, each output",
		Long: `Besides its lead (run --help), the verdict says, when the baseline's own
p99 is over 20× its p50, that the run's tails are machine noise
(scheduling), not storage; and for a workload that saves, when the targets
do not promise the same for a save that returned: on the shared mount it
is on the file server's stable storage at every --durability, on local
disk only at file or full, in Redis only with appendonly yes and
appendfsync always (the targets' list gives each server's persistence, as
its CONFIG says: "aof, fsync always", "aof, fsync every second", "rdb
snapshots only", "none"; and each directory's durability and locks:
flock, or lease files where flock does not reach the file server, an NFS
mount with local_lock=flock or a FUSE mount, whose locked cycle costs
more round trips; --json: "durability" and "locks").

What the numbers are:
  - Latencies are of successful operations. Failed ones are counted in
    ERRORS (errors), named in the verdict, and in neither the latencies
    nor the throughput. A target whose every operation of a measurement
    fails ("every operation failed", with the first failure), or a Redis
    server that stopped answering, is left out of the rest of the run,
    said on stderr at once: the others are measured in full, the report
    lists it under "Failed" (--json: failed, each target's fields and
    its error; --csv: no row) with none of its results, and sessbench
    exits 1 after it. With no other target left, the run stops there
    (exit 1) and prints no report.
  - P50 to P99.9 are nearest-rank percentiles (the ceil(q·n)-th fastest
    operation) read from a log-linear histogram: each is at or above the
    exact value, by less than 0.8% (1/128). Min, mean and max are exact.
    A row of fewer than 100 operations has its slowest as its p99 (and
    of fewer than 1000, as its p99.9): the table gives each row's count
    (OPS) and says so under it, and the verdict says so of a p99 it
    quotes. The table's header gives the time measured per target and
    row, or the operations --ops ran, failed ones included, where OPS
    counts the successful.
  - OPS/S is successful operations per second of measured time: the
    warm-up and the sessions' creation are left out of it, as of the
    latencies. With --rate it is the rate times the share of the
    operations the schedule called for that succeeded, so a target that
    kept up shows the rate: the wall time also holds the operations in
    flight when the schedule ended, and by it one with slow operations
    read below the rate it kept.
  - Without --rate the loop is closed: each client sends its next
    operation when the last one returns, so a stall delays the operations
    behind it without being charged to them, and the tail is understated
    for a load that arrives regardless. With --rate, clients keep a
    schedule and each operation is also charged the time it would have
    queued behind slower ones had it started on time (not the pacing
    timer's own lateness). Operations the schedule called for that had
    not started when the measurement ended (with --ops, when its last
    operation started), because the target was still busy with earlier
    ones, are counted as behind; they are in no latency. A target whose
    clients started fewer than 90% of the operations the schedule called
    for is named ("behind --rate"): it could not keep up with the rate,
    and its latencies measure a backlog that grows with --duration. Long
    operations started on time are not behind.
  - --json and --csv give the same rows: *_ns in nanoseconds, seconds of
    measured time, ops_per_sec, ops, errors and behind (0 without --rate)
    as counts, p50_ratio, p99_ratio and ops_ratio against the first
    target's row for the same workload, size and concurrency (0: nothing
    to compare, a row without a successful operation). A row with
    errors also has first_error, the first failure's message (--csv: the
    last column, empty without errors; the table prints it under the
    rows).

On an NFS mount the report also shows NFS RPCs per operation, read from
/proc/self/mountstats for the whole mount (other users of the mount inflate
them). Lease renewals (SEQUENCE, RENEW) and delegation returns (DELEGRETURN)
are not counted in the total: the client sends them on a timer or at the
server's request, not for the operation. Each --json result then has:
  nfs_rpcs_per_op  by group: reads (READ), writes (WRITE, COMMIT), getattrs
                   (GETATTR), lookups (LOOKUP), opens (OPEN, CLOSE, ...),
                   locks (LOCK, LOCKT, LOCKU), other (everything else:
                   RENAME, SETATTR, REMOVE, ACCESS, FREE_STATEID, ...) and
                   total, the sum of the groups
  nfs_ops_per_op   every operation sent, by the kernel's name, renewals
                   included: {"OPEN": 1.0, "RENAME": 1.0, "SEQUENCE": 0.1, ...}
--csv has the groups as nfs_<group>_per_op columns and the total as
nfs_rpcs_per_op; the table has them under RPC/OP.

The host that runs sessbench wrote every session it measures, so on a
mount its reads find records unchanged since its own writes, which its
NFS client serves from its cache after a GETATTR (RD counts the reads it
sent). That is the cost where a user's requests stay on one host; where
another host wrote a session last (a fleet without sticky sessions), a
load costs 6 RPCs instead of 3 and a full cycle 14 instead of 11, as
sessfs's NFS suite counts them (NFSv4.1, flock, durability none, a record
that one READ and one WRITE carry). The verdict says so for a workload
that reads, and gives those counts only for a row measured so.

--plot draws --percentiles (p50, p90, p99, p99.9; default p50,p99) per
target against concurrency, one panel per workload and size, under --title
(default: the targets, the workloads and the date). A --plot file the run
could not write at its end (its directory missing or not writable, another
user's file in a directory with the sticky bit, as in /tmp) is refused
before anything is measured (exit 2).

Each workload, payload size (--size) and concurrency level (--concurrency) is
measured once: giving one twice is an error.`,
	}
}

// complete completes a flag's value from values ("name" or
// "name\tdescription") that start with what is typed. For a list flag
// (list), the word after the last comma is completed, names already in
// the list are not offered again, and no space follows, so that another
// comma can.
func complete(values []string, list bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		dir := cobra.ShellCompDirectiveNoFileComp
		var done []string
		head, word := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); list && i >= 0 {
			head, word = toComplete[:i+1], toComplete[i+1:]
			done = strings.Split(toComplete[:i], ",")
		}
		if list {
			dir |= cobra.ShellCompDirectiveNoSpace
		}
		var out []string
		for _, v := range values {
			name, _, _ := strings.Cut(v, "\t")
			if strings.HasPrefix(name, word) && !slices.Contains(done, name) {
				out = append(out, head+v)
			}
		}
		return out, dir
	}
}

// plan is the validated form of RunOptions.
type plan struct {
	cfg bench.Config
	// dur is the --durability given; nil leaves the store's default.
	dur  *fsstore.Durability
	plot report.PlotOptions
	// redis is the --redis server, nil without one.
	redis *redisaddr.Server
}

// Repeated reports the first value of vs whose key equals an earlier one's,
// as a usage error naming the flag: a value given twice would measure the
// same cell twice and print it as two rows.
func Repeated[T any, K comparable](flag string, vs []T, key func(T) K, show func(T) string) error {
	seen := map[K]int{}
	for i, v := range vs {
		k := key(v)
		j, ok := seen[k]
		if !ok {
			seen[k] = i
			continue
		}
		if show(vs[j]) == show(v) {
			return cmdutil.UsageErrorf("%s %s: given twice", flag, show(v))
		}
		return cmdutil.UsageErrorf("%s %s: the same as %s, given earlier", flag, show(v), show(vs[j]))
	}
	return nil
}

// CheckPlot checks a --plot file name before any work starts, so that a
// chart that cannot be written does not cost the run's results at its end.
func CheckPlot(path string) error {
	if path == "" {
		return nil
	}
	if !strings.EqualFold(filepath.Ext(path), ".svg") {
		return cmdutil.UsageErrorf("--plot %s: the chart is written as SVG; name the file .svg", path)
	}
	dir := filepath.Dir(path)
	dfi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cmdutil.UsageErrorf("--plot %s: directory %s does not exist", path, dir)
	case err != nil:
		return cmdutil.UsageErrorf("--plot %s: %w", path, err)
	case !dfi.IsDir():
		// Said not to exist, it sent the operator looking for a
		// directory that was a file all along.
		return cmdutil.UsageErrorf("--plot %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return cmdutil.UsageErrorf("--plot %s: a directory is in the way", path)
	}
	// A directory with the sticky bit (a shared /tmp) takes the new file,
	// but refuses the rename over another user's: asked of the file
	// itself (Lstat), which the rename replaces.
	if fi, err := os.Lstat(path); err == nil {
		euid, priv := os.Geteuid(), cmdutil.OverridesSticky(fi)
		if owner, refused := cmdutil.StickyRefuses(dfi, fi, euid, priv); refused {
			return cmdutil.UsageErrorf("--plot %s belongs to uid %d, in %s, a directory with the sticky bit that this user (uid %d) does not own: "+
				"the rename that writes the chart after the run would be refused; remove the file, or name another", path, owner, dir, euid)
		}
	}
	// The chart is written beside its final name and renamed over it
	// (cmdutil.WriteFile), so the directory must take a new file: a
	// read-only or full one would fail only once the run is over.
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-")
	if err != nil {
		return cmdutil.UsageErrorf("--plot %s: cannot write in %s: %w", path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// CheckDirNames refuses an empty --dir, as a usage error: it is what an
// unset variable in --dir "$BENCH_DIR" gives, and is no directory to
// create or to measure, nor a request for the default one.
func CheckDirNames(dirs ...string) error {
	for _, d := range dirs {
		if d == "" {
			return cmdutil.UsageErrorf("--dir: empty; name the directory to measure (an unset shell variable?)")
		}
	}
	return nil
}

// validate checks every option before any work starts.
func (o *RunOptions) validate() (*plan, error) {
	p := &plan{}
	c := &p.cfg
	if err := CheckDirNames(o.Dirs...); err != nil {
		return nil, err
	}
	for _, w := range o.Workloads {
		wl, err := bench.ParseWorkload(strings.TrimSpace(w))
		if err != nil {
			return nil, cmdutil.UsageErrorf("--workload: %w", err)
		}
		c.Workloads = append(c.Workloads, wl)
	}
	if err := Repeated("--workload", o.Workloads, strings.TrimSpace, strings.TrimSpace); err != nil {
		return nil, err
	}
	for _, s := range o.Sizes {
		n, err := bytesize.Parse(s)
		if err != nil {
			return nil, cmdutil.UsageErrorf("--size: %w", err)
		}
		c.Sizes = append(c.Sizes, n)
	}
	// Compared as byte counts: 1KiB and 1024 are one size.
	sizeOf := func(s string) int { n, _ := bytesize.Parse(s); return n }
	if err := Repeated("--size", o.Sizes, sizeOf, strings.TrimSpace); err != nil {
		return nil, err
	}
	if err := Repeated("--concurrency", o.Concurrency, func(n int) int { return n }, strconv.Itoa); err != nil {
		return nil, err
	}
	c.Concurrency = o.Concurrency
	c.Sessions, c.HotSessions, c.WriteRatio = o.Sessions, o.HotSessions, o.WriteRatio
	c.Duration, c.Ops, c.Warmup, c.Rounds, c.Rate = o.Duration, o.Ops, o.Warmup, o.Rounds, o.Rate
	if c.Ops > 0 {
		c.Duration = 0
	}
	if err := c.Validate(); err != nil {
		return nil, cmdutil.UsageErrorf("%w", err)
	}
	if o.Durability != "" {
		d, err := fsstore.ParseDurability(o.Durability)
		if err != nil {
			return nil, cmdutil.UsageErrorf("--durability: %w", err)
		}
		p.dur = &d
	}
	p.plot.Title = o.Title
	for _, s := range o.Percentiles {
		s = strings.ToLower(strings.TrimSpace(s))
		if !slices.Contains(report.Percentiles(), s) {
			return nil, cmdutil.UsageErrorf("--percentiles %s: want some of %s", s, strings.Join(report.Percentiles(), ", "))
		}
		p.plot.Percentiles = append(p.plot.Percentiles, s)
	}
	if len(p.plot.Percentiles) == 0 {
		return nil, cmdutil.UsageErrorf("--percentiles: name at least one of %s", strings.Join(report.Percentiles(), ", "))
	}
	if err := Repeated("--percentiles", p.plot.Percentiles, func(s string) string { return s }, func(s string) string { return s }); err != nil {
		return nil, err
	}
	if err := CheckPlot(o.Plot); err != nil {
		return nil, err
	}
	if o.Redis != "" {
		srv, err := redisaddr.Parse(o.Redis, os.Getenv)
		if err != nil {
			return nil, cmdutil.UsageErrorf("--redis: %w", err)
		}
		p.redis = &srv
	}
	return p, nil
}

// LocalTempDir returns a directory for the default target that is on disk:
// $TMPDIR when set, else /var/tmp (often /tmp is tmpfs, which would measure
// memory), else the system temporary directory.
func LocalTempDir() string {
	if d := os.Getenv("TMPDIR"); d != "" {
		return d
	}
	if fi, err := os.Stat("/var/tmp"); err == nil && fi.IsDir() {
		return "/var/tmp"
	}
	return os.TempDir()
}

func runRun(opts *RunOptions) (err error) {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := opts.validate()
	if err != nil {
		return err
	}

	dirs := opts.Dirs
	// A directory given twice is an A/A run, which shows the noise floor;
	// its targets still need distinct names in the report, as does a
	// directory called "redis" beside the Redis target.
	taken := map[string]bool{}
	unique := func(name string) string {
		u := name
		for n := 2; taken[u]; n++ {
			u = fmt.Sprintf("%s#%d", name, n)
		}
		taken[u] = true
		return u
	}
	names := make([]string, len(dirs))
	for i, d := range dirs {
		names[i] = unique(d)
	}
	// cleanup removes what the run created: each target's sessions, then
	// the default target's temporary directory (see Cleanup).
	var targets []bench.Target
	var cleanup Cleanup
	if opts.IO.ErrTTY {
		cleanup.Status = opts.IO.ErrOut
	}
	defer func() { err = errors.Join(err, cleanup.Do()) }()
	if len(dirs) == 0 {
		base := opts.TempBase
		if base == "" {
			base = LocalTempDir()
		}
		// Before this run's own, which is not left over.
		if note := fstarget.TempLeftoverNote(base); note != "" {
			fmt.Fprintf(opts.IO.ErrOut, "sessbench: %s\n", note)
		}
		tmp, err := os.MkdirTemp(base, fstarget.TempPrefixes[0])
		if err != nil {
			return fmt.Errorf("creating a temporary directory in %s: %w", base, err)
		}
		cleanup.Tmp = tmp
		dirs, names = []string{tmp}, []string{"local-tmp"}
	}
	// Open every target before measuring anything, so that a missing
	// directory or an unreachable server fails in a second, not after an
	// hour of measuring the others.
	maxConc := 0
	for _, n := range p.cfg.Concurrency {
		maxConc = max(maxConc, n)
	}
	// The store refuses payloads over 1 MiB by default; --size allows up
	// to 64 MiB.
	storeOpts := []fsstore.Option{fsstore.WithMaxSize(max(1<<20, slices.Max(p.cfg.Sizes)))}
	if p.dur != nil {
		storeOpts = append(storeOpts, fsstore.WithDurability(*p.dur))
	}
	storeOpts = append(storeOpts, opts.storeOpts...)
	// Before this run's own directories are made, which are not left over.
	for i, d := range opts.Dirs {
		if note := fstarget.LeftoverNote(d); note != "" && !slices.Contains(opts.Dirs[:i], d) {
			fmt.Fprintf(opts.IO.ErrOut, "sessbench: %s\n", note)
		}
	}
	open := opts.openStore
	if open == nil {
		open = fstarget.Open
	}
	for i, d := range dirs {
		t, err := open(names[i], d, storeOpts...)
		if err != nil && d == cleanup.Tmp && errors.Is(err, fsstore.ErrNotSupported) {
			// The default target, on a platform the store does not run on
			// (Windows): with --redis the run measures Redis alone, as the
			// help says; without, there is nothing to measure.
			if p.redis != nil {
				continue
			}
			// Not the store's error, which names the temporary directory
			// as a --dir the operator never gave.
			return fmt.Errorf("the default target, a store in a temporary directory, does not run on %s/%s (%w); give --redis to measure a Redis server alone",
				runtime.GOOS, runtime.GOARCH, fsstore.ErrNotSupported)
		}
		if err != nil {
			return err
		}
		targets = append(targets, t)
		cleanup.Add(t)
	}
	if p.redis != nil {
		// Its sessions outlive the run, and a killed run's keys not by
		// much (see redistarget.TTL); Redis is the last target.
		ttl := redistarget.TTL(p.cfg.PlannedLength(len(targets) + 1))
		// Its connections: one per client, and as many as write the
		// sessions before the run.
		conns := max(maxConc, min(bench.PopulateClients, p.cfg.Sessions))
		// Every client may carry a session of the largest size at once.
		answer := redisaddr.AnswerTimeout(slices.Max(p.cfg.Sizes), conns)
		t, err := redistarget.Open(ctx, unique("redis"), *p.redis, conns, ttl, answer)
		if err != nil {
			return cmdutil.Interrupted(ctx, err)
		}
		if note := t.Note(); note != "" {
			fmt.Fprintf(opts.IO.ErrOut, "sessbench: %s\n", note)
		}
		targets = append(targets, t)
		cleanup.Add(t)
	}

	// A target that fails is left out and the others measured, so that a
	// Redis server that died in the last round does not cost the mount's
	// results; the operator is told at once, and may stop the run.
	r := &bench.Runner{Config: p.cfg, Targets: targets, LeaveOutFailed: true}
	r.OnFail = func(f bench.Failure) {
		erase := ""
		if opts.IO.ErrTTY {
			erase = "\r\033[K" // the progress bar's line
		}
		fmt.Fprintf(opts.IO.ErrOut, "%ssessbench: %v\n", erase, f.Err)
	}
	var bar *progress.Bar
	if opts.IO.ErrTTY {
		bar = progress.Start(opts.IO.ErrOut, 200*time.Millisecond)
		r.OnStep = bar.Step
	}
	started := time.Now()
	results, err := r.Run(ctx)
	if bar != nil {
		bar.Stop() // erase the bar before anything else is printed
	}
	if err != nil {
		return cmdutil.Interrupted(ctx, err)
	}
	infos := targetInfos(targets, cleanup.Tmp)
	var failures []report.Failure
	var failed error
	for _, f := range r.Failed {
		i := slices.IndexFunc(infos, func(t report.Target) bool { return t.Name == f.Target })
		failures = append(failures, report.Failure{Target: infos[i], Error: f.Err.Error()})
		infos = slices.Delete(infos, i, i+1)
		failed = errors.Join(failed, f.Err)
	}
	rep := report.Build(reportConfig(opts, p, targets), infos, results, started, time.Now())
	rep.Failed = failures
	if failed != nil {
		// After the report and the chart, which keep the other targets'
		// results: exit 1, so that a script does not take the run for
		// whole.
		failed = cmdutil.FailureErrorf("%w", failed)
	}
	// A cleanup that failed is reported after the results, which it does
	// not change.
	cerr := errors.Join(failed, cleanup.Do())
	switch {
	case opts.JSON:
		err = report.WriteJSON(opts.IO.Out, rep)
	case opts.CSV:
		err = report.WriteCSV(opts.IO.Out, rep)
	default:
		err = report.WriteTable(opts.IO.Out, rep)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing report: %w", err), cerr)
	}
	if opts.Plot != "" {
		// After the report, so that a chart that cannot be written does
		// not cost the results. Replaced atomically, so a failed write
		// leaves no half chart behind and a server never serves one.
		err := cmdutil.WriteFile(opts.Plot, outputMode, func(w io.Writer) error { return report.WritePlot(w, rep, p.plot) })
		if err != nil {
			return errors.Join(fmt.Errorf("--plot: %w", err), cerr)
		}
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Plot)
	}
	return cerr
}

// outputMode is the permission of the files sessbench writes. A chart is
// made to be shared (served, copied into documentation), so it is readable
// by all, as a file made with os.Create usually is.
const outputMode = 0o644

// reportConfig describes the run. Its durability is what the stores used
// (each target's info repeats its own), so a run with the store's default
// says which level that was.
func reportConfig(o *RunOptions, p *plan, ts []bench.Target) report.Config {
	c := report.Config{
		PayloadSizes: p.cfg.Sizes, Concurrency: p.cfg.Concurrency, Sessions: p.cfg.Sessions,
		HotSessions: p.cfg.HotSessions, WriteRatio: p.cfg.WriteRatio, DurationSec: p.cfg.Duration.Seconds(),
		Ops: p.cfg.Ops, WarmupSec: p.cfg.Warmup.Seconds(), Rounds: p.cfg.Rounds, Rate: p.cfg.Rate,
	}
	var used []string
	for _, t := range ts {
		if d := t.Info().Durability; d != "" && !slices.Contains(used, d) {
			used = append(used, d)
		}
	}
	c.Durability = strings.Join(used, ",")
	if p.dur == nil && c.Durability != "" {
		c.Durability += " (default)"
	}
	for _, w := range p.cfg.Workloads {
		c.Workloads = append(c.Workloads, string(w))
	}
	return c
}

// targetInfos describes the targets for the report; tmp is the temporary
// directory of a run without --dir ("" with one), which is removed before
// the report is printed.
func targetInfos(ts []bench.Target, tmp string) []report.Target {
	out := make([]report.Target, len(ts))
	for i, t := range ts {
		info := t.Info()
		out[i] = report.Target{Name: t.Name(), Info: info, Temporary: tmp != "" && info.Kind == "fs" && info.Location == tmp}
	}
	return out
}

// Cleanup removes what a run created, once: what it opened, the last
// first, then the temporary directory it made (Tmp). sessbench run and
// http call Do once the measurements are over, before the report is
// printed, so that nothing that happens to the output (a reader gone,
// whose SIGPIPE ends the process; a terminal stalled until the operator
// gives up) leaves sessions on the mount, and defer it for every earlier
// return, Ctrl-C's included.
type Cleanup struct {
	closers []io.Closer
	// Tmp, if not empty, is removed with everything in it.
	Tmp string
	// Status, if not nil (the standard error of a terminal), shows a line
	// while Do removes: on EFS thousands of files take a while, and the
	// progress bar gone, a blank terminal looks like a hung run.
	Status io.Writer
	done   bool
}

// Add has Do close c, before what was added earlier.
func (c *Cleanup) Add(cl io.Closer) { c.closers = append(c.closers, cl) }

// Do closes what was added and removes Tmp, the first time it is called;
// later calls do nothing and return nil.
func (c *Cleanup) Do() error {
	if c.done {
		return nil
	}
	c.done = true
	if c.Status != nil && (len(c.closers) > 0 || c.Tmp != "") {
		// Erased once done, as the bar is: what follows (the report, an
		// error) starts on a clean line.
		fmt.Fprint(c.Status, "\r\033[K"+CleanupLine)
		defer fmt.Fprint(c.Status, "\r\033[K")
	}
	var errs error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = errors.Join(errs, c.closers[i].Close())
	}
	if c.Tmp != "" {
		errs = errors.Join(errs, fstarget.RemoveDir(c.Tmp))
	}
	return errs
}

// CleanupLine is what Cleanup.Status shows while Do removes; a second
// Ctrl-C kills the process there, leaving the rest behind.
const CleanupLine = "removing the sessions the run created (a second Ctrl-C stops this and leaves them)..."
