// Package run implements `sessgc run`, one garbage-collection pass over a
// store.
package run

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/foreignname"
	"github.com/sessfs/sessfs/internal/nfsname"
)

// FleetLockName is the file in the store's lock directory that lets one
// sweep run at a time across every host mounting the store.
const FleetLockName = ".sessgc"

// RunOptions are the settings of one sweep; flags bind to its fields.
type RunOptions struct {
	IO *cmdutil.IOStreams

	Dir         string
	DryRun      bool
	MaxDuration time.Duration // 0: no budget
	Concurrency int
	Rate        float64 // removals per second; 0: no cap
	Grace       time.Duration
	TempAge     time.Duration
	Jitter      time.Duration // random delay before starting, to spread hosts
	NoFleetLock bool
	// FleetLockTTL: the fleet lease's TTL (--fleet-lock-ttl); 0: the store's.
	FleetLockTTL time.Duration
	// FleetLockTTLFromFlag records that --fleet-lock-ttl was on the
	// command line: where it does nothing (a store that locks with
	// flock) it is warned of, and SESSGC_FLEET_LOCK_TTL is not.
	FleetLockTTLFromFlag bool
	JSON                 bool
	Verbose              bool
	Quiet                bool
	NoProgress           bool
	Textfile             string // node-exporter textfile to write the summary to; "": none
	MissingOK            bool   // a missing or empty Dir is no error: no store yet
	LogLevel             pass.LogLevel

	// creatingWait waits before OpenStore is tried again on a store that
	// is being created; nil: creatingDelay. Tests replace it. (An
	// interface, not a func, keeps RunOptions comparable for flag tests.)
	creatingWait waiter
	// removeWait, when set, is waited for after each removal is counted:
	// tests block in it to play a file server that stops answering in the
	// middle of a pass.
	removeWait waiter
	// pathFS is the file system of the checks before the pass
	// (pass.CheckPaths); nil: the operating system's. Tests play a hung
	// mount with it.
	pathFS pass.PathFS
	// minCheckWait, when set, is pass.Budget.MinCheck: tests whose
	// file system answers set it long, so that a loaded machine does not
	// make the checks look hung.
	minCheckWait time.Duration
}

// waiter waits for something outside the process, or until ctx is done.
type waiter interface {
	wait(ctx context.Context) error
}

// waitFunc is a func as a waiter.
type waitFunc func(ctx context.Context) error

func (f waitFunc) wait(ctx context.Context) error { return f(ctx) }

// creatingDelay is how long a run with --missing-ok waits for an
// application that is creating the store to publish its marker: creation
// takes a few round trips, even on a slow NFS server.
const creatingDelay = time.Second

// NewCmdRun returns the run command. runF, when not nil, replaces the
// sweep; tests use it to check flag parsing.
func NewCmdRun(io *cmdutil.IOStreams, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: io}
	// --quiet excludes the flags that ask for output: which one the
	// operator meant cannot be told, and either way one would be ignored
	// without a word (a cron job meant to be quiet mailing every removal
	// or a JSON summary, or a dry run printing nothing).
	exclusions := []pass.Exclusion{
		{A: "quiet", B: "dry-run", Why: "--quiet prints nothing, --dry-run lists each removal",
			Keep: "dry-run", KeepWhy: "without it the run would remove files"},
		{A: "quiet", B: "verbose", Why: "--quiet prints nothing, --verbose lists each removal"},
		{A: "quiet", B: "json", Why: "--quiet prints nothing, --json prints the summary as JSON"},
	}
	cmd := &cobra.Command{
		Use:   "run --dir DIR [flags]",
		Short: "Remove expired sessions, stale temp files and stale lock files (the default command)",
		Long: `Run one garbage-collection pass over a session store.

The pass removes session records idle for longer than the largest idle timeout
recorded in the store plus --grace, temp files older than --temp-age left by
writers that crashed, and lease lock files whose holder died. It never removes
a session that was saved or touched while the pass looked at it, stripe lock
files, or any file the store did not write; a session's lock matters only
after its idle timeout was lowered by hand (see docs/operations.md): then one
a request holds is kept. Memory use does not depend on the number of files.

One host sweeps at a time: the pass takes the fleet lock DIR/locks/.sessgc
without waiting, and when another sessgc holds it (on this host or
another), prints one line and exits 0, so the same cron line can run on
every host. --max-duration bounds the run: the pass stops cleanly and
exits 0 (stopped_early), and the next run passes quickly over the parts
already cleaned.

More in "sessgc help run-passes" (the fleet lock and its TTL, what
--max-duration bounds and a file server that stops answering, --textfile,
--missing-ok); the exit codes in "sessgc --help".`,
		Example: `  # What cron runs on every host (only one of them sweeps):
  sessgc run --dir /mnt/efs/sessions --quiet --jitter 1m --max-duration 8m --rate 200

  # See what would be removed, changing nothing:
  sessgc run --dir /mnt/efs/sessions --dry-run

  # Machine-readable summary, configuration from the environment:
  SESSGC_DIR=/mnt/efs/sessions SESSGC_RATE=500 sessgc run --json

  # A CronJob that may start before the application creates the store:
  sessgc run --dir /mnt/efs/sessions --quiet --missing-ok --max-duration 8m

  # Metrics for node-exporter's textfile collector:
  sessgc run --dir /mnt/efs/sessions --quiet --textfile /var/lib/node_exporter/textfile/sessgc.prom`,
		Args: cmdutil.NoArgs("the store is given with --dir"),
	}
	run := pass.RunE(io, opts, opts.validate, runF, runRun, exclusions...)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// Asked before the environment fills the flag in.
		opts.FleetLockTTLFromFlag = c.Flags().Changed("fleet-lock-ttl")
		return run(c, args)
	}
	f := cmd.Flags()
	pass.PathVarP(f, &opts.Dir, "dir", "d", "", "store directory (required)")
	f.BoolVarP(&opts.DryRun, "dry-run", "n", false, "list what would be removed; change nothing")
	f.DurationVar(&opts.MaxDuration, "max-duration", 0, "stop cleanly this long after starting, --jitter's sleep not counted (0: no limit); exit 0 with stopped_early")
	cmdutil.IntVarP(f, &opts.Concurrency, "concurrency", "c", 16, "shard directories walked (and files removed) in parallel, 1..64 (fewer under a low ulimit -n, said on stderr); on NFS each keeps one round trip in flight")
	f.Float64VarP(&opts.Rate, "rate", "r", 0, "at most this many removals per second across workers (0: no cap)")
	f.DurationVar(&opts.Grace, "grace", time.Minute, "extra age beyond the store's idle timeout before a session is removed (absorbs clock skew)")
	f.DurationVar(&opts.TempAge, "temp-age", 10*time.Minute, "age after which a temp file or broken lease counts as abandoned (at least 1m)")
	f.DurationVar(&opts.Jitter, "jitter", 0, "sleep a random time up to this long before starting, to spread hosts")
	f.BoolVar(&opts.NoFleetLock, "no-fleet-lock", false, "sweep even if another sessgc is sweeping the store")
	pass.FleetLockTTLFlag(f, &opts.FleetLockTTL)
	f.BoolVar(&opts.JSON, "json", false, "print JSON lines: one per removal and foreign file with -v or --dry-run, then a summary object")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "list each removal, and each foreign file left alone")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing unless something is wrong (errors still go to stderr); not with -v, --dry-run or --json")
	f.BoolVar(&opts.NoProgress, "no-progress", false, "never draw progress (it is only drawn when stderr is a terminal)")
	pass.PathVarP(f, &opts.Textfile, "textfile", "", "", "after the run, write its summary as Prometheus metrics to this .prom file (node-exporter textfile collector)")
	f.BoolVar(&opts.MissingOK, "missing-ok", false, "exit 0 doing nothing when --dir does not exist or is empty (no store created yet)")
	pass.LogLevelFlag(f, &opts.LogLevel)
	// What an operator sets first, grouped; the rest tune the pass.
	cmdutil.GroupFlags(cmd,
		cmdutil.FlagGroup{Title: "Store", Flags: []string{"dir", "missing-ok"}},
		cmdutil.FlagGroup{Title: "What to do", Flags: []string{"dry-run", "max-duration", "rate"}},
		cmdutil.FlagGroup{Title: "Output", Flags: []string{"quiet", "verbose", "json", "textfile"}},
		cmdutil.FlagGroup{Title: "Fleet lock", Flags: []string{"jitter", "no-fleet-lock", "fleet-lock-ttl"}},
		cmdutil.FlagGroup{Title: "How to sweep", Flags: []string{"concurrency", "grace", "temp-age", "log-level", "no-progress"}},
	)
	cmd.MarkFlagDirname("dir")
	return cmd
}

// PassesTopic is the help topic "sessgc help run-passes": the reference
// text that run --help leaves out so that its flags show on one screen.
func PassesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "run-passes",
		Short: "The fleet lock, --max-duration, --textfile and --missing-ok of sessgc run",
		Long: `Unless --no-fleet-lock is given, the pass first takes the fleet lock
DIR/locks/.sessgc without waiting: when another sessgc, on this host or
another, is already sweeping the same store, sessgc prints one line and exits
0, so the same cron line can run on every host. A --dry-run takes no fleet
lock. The pass checks the lock once a second, and stops with exit 1
(stop_reason "fleet-lock-lost") once it finds it lost: its host stalled or
lost the file server for longer than the lock's lease, and another host may be
sweeping now (see docs/operations.md). On a store that locks with leases,
--fleet-lock-ttl gives the fleet lease a TTL longer than the store's 15s,
which outlasts longer stalls, at most --max-duration: a pass that dies keeps
the others out until its lease expires.

--max-duration bounds the run, counted from its start (the checks of --dir
and --textfile included, --jitter's sleep not): when it is spent the pass
stops cleanly, reports stopped_early, and exits 0; the next run starts at a
random shard, so that runs cut short still reach every one, and passes
quickly over the parts already cleaned. It also bounds a run
stuck in a call to an unreachable file server (an NFS hard mount waits for
the server without end): a check that has no answer when the budget is
spent is skipped, and a tenth of --max-duration later (at least 1 s, at
most 30 s) sessgc gives up on the pass, reports stop_reason "unresponsive"
and exits 4.

--textfile PATH writes the summary as Prometheus gauges (sessgc_*) for the
node-exporter textfile collector, replacing PATH atomically after every run:
also after a run skipped because of the fleet lock, and after a failed one
(sessgc_last_run_success 0). A --dry-run does not write it. Its directory
must exist and this user must be able to create a file in it, and PATH must
not be a directory, nor another user's file in a directory with the sticky
bit that this user does not own (the rename could not replace it): all are
checked before the pass (exit 2). A full file system there is no mistake
in the job: the pass runs, and the write after it fails the run (exit 1)
unless the pass freed the room (a textfile beside the store).

--missing-ok is for jobs that may run before any application has created
the store, such as a CronJob on a fresh volume: when DIR does not exist, or
exists and is empty, the run does nothing, prints one line, reports skipped
with skip_reason "no-store" (sessgc_store_missing 1) and exits 0 instead of
3. A DIR with anything in it but no valid .sessfs marker is still refused
with exit 3 and left untouched, with or without the flag; so is a DIR that
is a symbolic link to a missing target, or that cannot be listed, a
missing DIR with white space at either end (a trailing space or newline
from an environment file), and a missing or empty DIR at or below a mount
point that /etc/fstab lists (without noauto) and nothing is mounted on
(the share failed to mount at boot: the refusal names it). When DIR
holds only what an application makes while creating the store (empty data/
and locks/ directories, a marker temp file), the run looks once more a
second later before refusing it. The --textfile must not be inside DIR.`,
	}
}

func (o *RunOptions) validate() error {
	if err := pass.Check(o.Dir, o.Concurrency, o.Rate, o.MaxDuration, o.Textfile); err != nil {
		return err
	}
	if err := pass.CheckFleetLockTTL(o.FleetLockTTL, o.MaxDuration); err != nil {
		return err
	}
	if err := pass.CheckJitter(o.Jitter); err != nil {
		return err
	}
	return pass.CheckAges(o.Grace, o.TempAge)
}

// Summary is the JSON object printed last with --json. Its fields are
// documented in docs/operations.md; add fields, never rename them.
type Summary struct {
	Event  string `json:"event"` // always "summary"
	Dir    string `json:"dir"`
	DryRun bool   `json:"dry_run"`
	pass.Outcome
	Scanned        int64   `json:"scanned"`
	Live           int64   `json:"live"`
	LiveBytes      int64   `json:"live_bytes"` // size of the live records counted in live
	Removed        int64   `json:"removed"`    // sessions + temps + leases
	Sessions       int64   `json:"sessions"`
	Temps          int64   `json:"temps"`
	Leases         int64   `json:"leases"`
	BytesFreed     int64   `json:"bytes_freed"`
	SkippedLocked  int64   `json:"skipped_locked"`
	SkippedRenewed int64   `json:"skipped_renewed"`
	Restored       int64   `json:"restored"` // live records an interrupted sweep or locked delete left aside, put back (or that would be, with DryRun)
	Foreign        int64   `json:"foreign"`
	Errors         int64   `json:"errors"`
	DurationSecs   float64 `json:"duration_seconds"`
	FilesPerSecond float64 `json:"files_per_second"` // scanned per second
}

// removalLine is one JSON line per removal (with -v or --dry-run).
type removalLine struct {
	Event   string  `json:"event"` // "remove", or "would-remove" in a dry run
	Path    string  `json:"path"`
	PathB64 string  `json:"path_base64,omitempty"` // see rawPath
	Kind    string  `json:"kind"`                  // session, temp or lease
	Bytes   int64   `json:"bytes"`
	AgeSecs float64 `json:"age_seconds"`
}

// printer serializes output from the sweep's workers.
type printer struct {
	mu   sync.Mutex
	opts *RunOptions
	errs *pass.ErrorLog
	// drawn: the progress line is on stderr, without a newline; a line
	// printed on stderr meanwhile clears it first, or would follow its
	// text.
	drawn bool
}

// newPrinter returns the printer of a run with opts, whose errors and
// store log go to stderr through it.
func newPrinter(opts *RunOptions) *printer {
	p := &printer{opts: opts}
	p.errs = pass.NewErrorLog(stderrLines{p})
	return p
}

func (p *printer) line(w io.Writer, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && w == p.opts.IO.ErrOut {
		s = "\r\033[K" + s
		p.drawn = false
	}
	io.WriteString(w, s)
}

// progress draws s, the progress line or its erasure: drawn says which.
func (p *printer) progress(s string, drawn bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.opts.IO.ErrOut, s)
	p.drawn = drawn
}

// stderrLines writes whole lines on stderr through a printer.
type stderrLines struct{ p *printer }

func (w stderrLines) Write(b []byte) (int, error) {
	w.p.line(w.p.opts.IO.ErrOut, string(b))
	return len(b), nil
}

// storeLog returns the logger of the run's store.
func (p *printer) storeLog() *slog.Logger {
	return pass.StoreLogger(stderrLines{p}, p.opts.LogLevel)
}

func (p *printer) json(v any) {
	b, _ := json.Marshal(v)
	p.line(p.opts.IO.Out, string(b)+"\n")
}

func (p *printer) removal(r fsstore.Removal) {
	o := p.opts
	if o.JSON {
		ev := "remove"
		if o.DryRun {
			ev = "would-remove"
		}
		p.json(removalLine{Event: ev, Path: r.Path, PathB64: rawPath(r.Path), Kind: r.Kind.String(), Bytes: r.Size, AgeSecs: r.Age.Seconds()})
		return
	}
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	// A temp or lease file's name is its writer's, whoever that was.
	p.line(o.IO.Out, fmt.Sprintf("%s %s %s (%s, idle %s)\n", verb, r.Kind, shownPath(r.Path), pass.Bytes(r.Size), r.Age.Round(time.Second)))
}

// foreignLine is one JSON line per foreign file (with -v or --dry-run).
type foreignLine struct {
	Event   string `json:"event"` // "foreign"
	Path    string `json:"path"`
	PathB64 string `json:"path_base64,omitempty"` // see rawPath
	// Hidden: Path (and PathB64) leave part of the file's name out
	// (foreignname), and name no file: a script that moves foreign
	// files out of the store finds the file by listing the directory.
	Hidden bool `json:"path_hidden,omitempty"`
}

// rawPath is path_base64 of a JSON line: a path that is not UTF-8, which
// JSON cannot hold (its path field has U+FFFD for each byte that is not),
// in base64 (standard, padded), so that a script gets the name back as it
// is; "" (no field) for one that is. A foreign file's name is anyone's,
// and an old host's may be Latin-1.
func rawPath(path string) string {
	if utf8.ValidString(path) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(path))
}

// foreign lists a file or directory the sweep left alone as not the
// store's, for the operator to find: the summary only counts them, on
// every run.
//
// The file's name is shown as fsstore's refusals show it (foreignname):
// another application's session files left in the store (PHP's sess_ID)
// are named after live session IDs, which cron mail, a terminal and a
// JSON pipeline's logs are no place for. The directory, which is the
// store's, is shown whole, for the operator to find the file in it, and
// so is a name of the store's own form in its shard (a record's name, a
// hash: ShownInShard), to tell such files apart.
func (p *printer) foreign(path string) {
	o := p.opts
	name := filepath.Base(path)
	shown := foreignname.ShownInShard(name, shardOf(filepath.Dir(path)))
	path = filepath.Join(filepath.Dir(path), shown)
	if o.JSON {
		p.json(foreignLine{Event: "foreign", Path: path, PathB64: rawPath(path), Hidden: shown != name})
		return
	}
	why := "not the store's: never removed; move it out of the store"
	if nfsname.IsLeftover(filepath.Base(path)) {
		why = "an NFS client's name for a removed file still open on that host: it goes when the file is closed"
	}
	p.line(o.IO.Out, fmt.Sprintf("left foreign file %s alone (%s)\n", shownPath(path), why))
}

// shardOf returns the names of the shard directories dir ends in (two
// lowercase hex digits each: data/ab/cd gives "abcd"), which a record's
// name there starts with; "" for a directory that is no shard.
func shardOf(dir string) string {
	shard := ""
	for i := 0; i < 8; i++ {
		b := filepath.Base(dir)
		if len(b) != 2 || !isLowerHex(b[0]) || !isLowerHex(b[1]) {
			break
		}
		shard = b + shard
		dir = filepath.Dir(dir)
	}
	return shard
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// shownPath is path as a line of output shows it: quoted (strconv.Quote)
// if it holds anything but printable characters and spaces, or is not
// UTF-8 (a byte 0x9b is a control sequence to some terminals). A foreign
// file's name is anyone's: one with a line break in it added a line of
// its own making ("removed session ..." of a removal no run made), and
// an escape sequence went to the operator's terminal.
func shownPath(path string) string {
	if !utf8.ValidString(path) || strings.ContainsFunc(path, func(r rune) bool { return r != ' ' && !strconv.IsPrint(r) }) {
		return strconv.Quote(path)
	}
	return path
}

// error prints the first errors on stderr and keeps them for the summary.
func (p *printer) error(err error) { p.errs.Add(err) }

func runRun(ctx context.Context, opts *RunOptions) error {
	// --max-duration counts from here, the checks of the paths included
	// (on a hung mount they wait), but not --jitter's sleep: jitter plus
	// budget is what must stay below the interval.
	budget := pass.NewBudget(opts.MaxDuration)
	budget.MinCheck = opts.minCheckWait
	absDir, err := pass.CheckPaths(budget, opts.Dir, opts.Textfile, !opts.DryRun, opts.pathFS)
	if err != nil {
		return err // a usage error: nothing done, no metrics
	}
	p := newPrinter(opts)
	// Absolute, as the store reports it after opening, so that a run
	// that never opens one (no store yet, or an error) says the same.
	sum := Summary{Event: "summary", Dir: pass.Shown(absDir), DryRun: opts.DryRun}
	// The pass fills its own copy: an abandoned one (see pass.Watchdog)
	// may still write to it after this function returned.
	// The sweep counts into prog as it goes too, so that the summary and
	// the textfile metrics of an abandoned pass say what it did before
	// it hung rather than nothing.
	var (
		prog      fsstore.SweepProgress
		abandoned bool
		swept     = sum
	)
	if opts.Jitter > 0 {
		slept := time.Now()
		err = sleepCtx(ctx, rand.N(opts.Jitter))
		budget = budget.Excluding(time.Since(slept))
	}
	if err != nil {
		swept.StoppedEarly, swept.StopReason = true, pass.StopInterrupted
		err = pass.Interrupted(ctx, "before the sweep started")
	} else {
		abandoned, err = pass.Watchdog(ctx, budget, func(ctx context.Context) error { return sweep(ctx, opts, p, &prog, &swept) })
	}
	if abandoned {
		sum.Abandoned(err)
		st := prog.Stats()
		st.Duration = time.Since(budget.Start)
		fill(&sum, &st)
	} else {
		sum = swept
	}
	err = sum.SetErr(err)
	if !opts.DryRun {
		err = sum.SetErr(pass.Finish(opts.Textfile, metrics(absDir, &sum, time.Now()), err, opts.IO.ErrOut))
	}
	sum.ErrorSamples = append([]string{}, p.errs.Samples()...) // [] rather than null in JSON
	switch {
	case opts.JSON:
		p.json(sum)
	case !opts.Quiet:
		p.line(opts.IO.Out, humanSummary(opts, &sum))
	}
	return err
}

func sweep(ctx context.Context, opts *RunOptions, p *printer, prog *fsstore.SweepProgress, sum *Summary) error {
	if err := pass.CheckOwner(opts.Dir); err != nil {
		return err
	}
	log := p.storeLog()
	s, err := pass.OpenStore(opts.Dir, log)
	if opts.MissingOK && errors.Is(err, pass.ErrStoreCreating) {
		// The first application is creating the store right now: this
		// is the fresh volume --missing-ok is for, so give it a moment
		// rather than fail. A directory that still looks half-created
		// after that (an application died creating it) is refused.
		var w waiter = waitFunc(waitCreating)
		if opts.creatingWait != nil {
			w = opts.creatingWait
		}
		if err := w.wait(ctx); err != nil {
			sum.StoppedEarly, sum.StopReason = true, pass.StopInterrupted
			return pass.Interrupted(ctx, "before the sweep started")
		}
		s, err = pass.OpenStore(opts.Dir, log)
		if errors.Is(err, pass.ErrStoreCreating) {
			// Said, as for a directory that is not empty: the operator
			// gave the flag and expected a skip, and the bare "not a
			// sessfs store" hides the likely cause and its remedy.
			return cmdutil.StoreErrorf("%w: it holds only what an application makes while it creates a store (empty data/ and locks/, a marker temp file), still so a second later: an application most likely died creating it, and starting one again finishes the store; --missing-ok skips only a missing or empty directory", err)
		}
	}
	if opts.MissingOK && errors.Is(err, pass.ErrNotEmpty) {
		// Said, as the operator gave the flag and expected a skip.
		return cmdutil.StoreErrorf("%w: it is not empty, and --missing-ok skips only a missing or empty directory", err)
	}
	if opts.MissingOK && errors.Is(err, pass.ErrNoStore) {
		// The applications create the store when they first open it: until
		// then there is nothing to sweep, and nothing is created here.
		sum.Skipped, sum.SkipReason = true, pass.SkipNoStore
		return nil
	}
	if err != nil {
		return err
	}
	defer s.Close()
	sum.Dir = pass.Shown(s.Dir())

	var unavailable atomic.Bool
	so := fsstore.SweepOptions{
		DryRun:      opts.DryRun,
		Concurrency: opts.Concurrency,
		Rate:        opts.Rate,
		Grace:       opts.Grace,
		TempAge:     opts.TempAge,
		OnError: func(err error) {
			if errors.Is(err, fsstore.ErrUnavailable) {
				unavailable.Store(true)
			}
			p.error(err)
		},
		OnRemove: func(r fsstore.Removal) {
			if opts.Verbose || opts.DryRun {
				p.removal(r)
			}
			if opts.removeWait != nil {
				opts.removeWait.wait(ctx)
			}
		},
		OnForeign: func(path string) {
			if opts.Verbose || opts.DryRun {
				p.foreign(path)
			}
		},
		Progress: prog,
	}
	defer pass.ThreadsFor(s.OnNFS(), opts.Concurrency)()
	var st fsstore.SweepStats
	// A dry run changes nothing, so it needs no fleet lock.
	lim := pass.Limits{LockName: FleetLockName, NoFleetLock: opts.NoFleetLock || opts.DryRun, FleetLeaseTTL: opts.FleetLockTTL, FleetLeaseTTLGiven: opts.FleetLockTTLFromFlag, Warn: pass.Warner(opts.IO), Log: log}
	sum.Outcome, err = pass.Run(ctx, s, lim, func(ctx context.Context) error {
		if opts.IO.ErrTTY && !opts.Quiet && !opts.NoProgress && !opts.Verbose && !opts.DryRun {
			stop := startProgress(opts, p, prog)
			defer stop()
		}
		start := time.Now()
		var err error
		st, err = s.Sweep(ctx, so)
		if errors.Is(err, fsstore.ErrUnavailable) {
			// Given up on in a call the file server did not answer, and
			// perhaps still in it: what it did so far is in prog.
			st = prog.Stats()
			st.Duration = time.Since(start)
		}
		if errors.Is(err, fsstore.ErrNoServerClock) {
			// Ages by this host's clock would remove records early where
			// it is ahead: refused, exit 3, before anything was removed.
			return fmt.Errorf("store %s: nothing was deleted: a sweep judges ages by the file server's clock, read from a temp file "+
				"created at the store's top, and none could be (sessgc stats counts the store by this host's clock): %w", s.Dir(), err)
		}
		// Sweep fails as a whole when the store itself is unusable
		// (marker, data directory or lock directory unreadable), or when
		// it stopped early: a write refused as read-only, a run of I/O
		// errors, the store's close (pass.Run tells these apart). Errors
		// on single files and shards are counted in st.Errors instead.
		return err
	})
	fill(sum, &st)
	if err != nil {
		return err
	}
	if st.Errors > 0 && unavailable.Load() {
		// The store gave up on the file server: an outage, not files
		// that are wrong.
		sum.StoppedEarly, sum.StopReason = true, pass.StopUnresponsive
		return pass.Unavailable(fmt.Errorf("%d files or directories could not be examined or removed: %w", st.Errors, fsstore.ErrUnavailable))
	}
	if st.Errors > 0 {
		return cmdutil.FailureErrorf("%d files or directories could not be examined or removed", st.Errors)
	}
	return nil
}

// waitCreating waits creatingDelay, or until ctx is done.
func waitCreating(ctx context.Context) error { return sleepCtx(ctx, creatingDelay) }

// sleepCtx waits d, or until ctx is done: the jitter before a sweep and
// the wait for a store being created.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// metrics renders a run's summary for the node-exporter textfile
// collector, labelled with the store's absolute path dir. The names are
// documented in docs/operations.md; add metrics, never rename them.
func metrics(dir string, sum *Summary, now time.Time) *pass.Metrics {
	m := pass.PassMetrics(dir, "sessgc_", "run", &sum.Outcome, sum.DurationSecs, now)
	m.Gauge("sessgc_store_missing", "1 if the last sessgc run did nothing because --missing-ok was given and the store directory was missing or empty.", pass.Bool(sum.Skipped && sum.SkipReason == pass.SkipNoStore))
	m.Gauge("sessgc_scanned_files", "Files examined by the last sweep.", float64(sum.Scanned))
	m.Gauge("sessgc_live_sessions", "Live sessions kept by the last sweep.", float64(sum.Live))
	m.Gauge("sessgc_live_bytes", "Bytes of the live session records kept by the last sweep (those counted in sessgc_live_sessions).", float64(sum.LiveBytes))
	for _, k := range []struct {
		kind string
		n    int64
	}{{"session", sum.Sessions}, {"temp", sum.Temps}, {"lease", sum.Leases}} {
		m.Gauge("sessgc_removed_files", "Files removed by the last sweep, by kind.", float64(k.n), pass.Label{Name: "kind", Value: k.kind})
	}
	m.Gauge("sessgc_removed_bytes", "Bytes freed by the last sweep.", float64(sum.BytesFreed))
	m.Gauge("sessgc_skipped_locked", "Expired sessions kept by the last sweep because a request held their lock.", float64(sum.SkippedLocked))
	m.Gauge("sessgc_skipped_renewed", "Sessions renewed while the last sweep examined them, and kept.", float64(sum.SkippedRenewed))
	m.Gauge("sessgc_restored_sessions", "Live sessions that an interrupted sweep or a locked delete had left moved aside, put back by the last sweep.", float64(sum.Restored))
	m.Gauge("sessgc_foreign_files", "Files and directories anywhere in the store that it did not write, left alone by the last sweep.", float64(sum.Foreign))
	m.Gauge("sessgc_errors", "Files or directories the last sweep could not examine or remove.", float64(sum.Errors))
	return m
}

func fill(sum *Summary, st *fsstore.SweepStats) {
	sum.Scanned, sum.Live, sum.LiveBytes, sum.Removed = st.Scanned, st.Live, st.LiveBytes, st.Removed()
	sum.Sessions, sum.Temps, sum.Leases, sum.BytesFreed = st.Sessions, st.Temps, st.Leases, st.Bytes
	sum.SkippedLocked, sum.SkippedRenewed, sum.Restored = st.SkippedLocked, st.SkippedRenewed, st.Restored
	sum.Foreign, sum.Errors = st.Foreign, st.Errors
	sum.DurationSecs = st.Duration.Seconds()
	if sum.DurationSecs > 0 {
		sum.FilesPerSecond = float64(st.Scanned) / sum.DurationSecs
	}
}

func humanSummary(opts *RunOptions, sum *Summary) string {
	switch {
	case sum.Skipped && sum.SkipReason == pass.SkipNoStore:
		return fmt.Sprintf("sessgc: no store in %s yet (the directory is missing or empty); nothing to do\n", sum.Dir)
	case sum.Skipped:
		// A flock does not say whose it is: a sweep of this host (a run
		// by hand beside cron's) holds it as another host's does. A
		// lease's record does, and a holder killed holds it until it
		// runs out.
		lockPath := filepath.Join(fsstore.LockDir, FleetLockName)
		return pass.SkippedMessage(sum.FleetHolder, sum.Dir, lockPath, "sessgc is sweeping it",
			fmt.Sprintf("sessgc: another sessgc is sweeping %s, on this host or another (fleet lock %s held); nothing to do\n", sum.Dir, lockPath))
	}
	// A pass the file server stopped answering says what it did before,
	// nothing at all included, as one its budget stopped does.
	if sum.Error != "" && sum.Scanned == 0 && sum.StopReason != pass.StopUnresponsive {
		return "" // the error itself is printed by main
	}
	verb, did, restore := "swept", "removed", "restored"
	if opts.DryRun {
		verb, did, restore = "dry run of", "would remove", "would be restored"
	}
	d := pass.ElapsedSecs(sum.DurationSecs)
	// Restored only when there are any: it takes a sweep that died, or a
	// locked delete that found its lock lost or died between its move and
	// its check; the count cannot tell which, so the summary names both.
	restored := ""
	if sum.Restored > 0 {
		restored = fmt.Sprintf(", %s %s after an interrupted sweep or locked delete", pass.Count(sum.Restored), restore)
	}
	s := fmt.Sprintf("sessgc: %s %s in %s: %s %s files (%s sessions, %s temp, %s lease), %s; kept %s live sessions (%s locked, %s renewed meanwhile%s); scanned %s files (%.0f/s)",
		verb, sum.Dir, d, did, pass.Count(sum.Removed), pass.Count(sum.Sessions),
		pass.Count(sum.Temps), pass.Count(sum.Leases), pass.Bytes(sum.BytesFreed),
		pass.Count(sum.Live+sum.SkippedLocked+sum.SkippedRenewed+sum.Restored), pass.Count(sum.SkippedLocked),
		pass.Count(sum.SkippedRenewed), restored, pass.Count(sum.Scanned), sum.FilesPerSecond)
	if sum.Foreign > 0 {
		s += fmt.Sprintf("; left %s foreign files alone", pass.Count(sum.Foreign))
		if !opts.Verbose && !opts.DryRun {
			s += " (-v lists them)"
		}
	}
	return s + sum.Human(sum.Errors, opts.MaxDuration, "the next run starts at a random shard and passes quickly over what is clean")
}

// startProgress redraws one status line on stderr until stop is called.
// The total is unknown without a second walk, so it shows counts and rate
// rather than a percentage.
func startProgress(opts *RunOptions, p *printer, prog *fsstore.SweepProgress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				p.progress("\r\033[K", false)
				return
			case <-t.C:
				el := time.Since(start)
				st := prog.Stats()
				n := st.Removed()
				p.progress(fmt.Sprintf("\r\033[Ksessgc: %s removed, %s freed, %.0f/s, %s",
					pass.Count(n), pass.Bytes(st.Bytes), float64(n)/el.Seconds(), el.Round(time.Second)), true)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
