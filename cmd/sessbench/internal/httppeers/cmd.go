package httppeers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/redisaddr"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/run"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/fstarget"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/target/redistarget"
	"github.com/sessfs/sessfs/fsstore"
)

// Options are the settings of "sessbench http"; flags bind to them.
type Options struct {
	IO          *cmdutil.IOStreams
	Dir         string
	Redis       string
	Peers       []string
	Sizes       []string
	Duration    time.Duration
	Rounds      int
	Concurrency int
	Sessions    int
	Hot         string
	Durability  string
	JSON        bool
	Plot        string
	Title       string
	CPUProfile  string
}

// NewCmdHTTP returns the http command.
func NewCmdHTTP(io *cmdutil.IOStreams) *cobra.Command {
	o := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "http",
		Short: "Compare one HTTP request through sessfs with other Go session stores",
		Long: `Serve the same HTTP request through each peer's session middleware: read a
counter from the session, increment it, write the session back. The session
also holds a padding string that makes it --size bytes.

Peers (--peers, in report order; ratios are the first ÷ the second):
  sessfs      httpsession (Exclusive) over fsstore.Open in a private
              directory under --dir, with the store's default durability
              (or --durability)
  scs-redis   alexedwards/scs v2 with redisstore on the --redis server
  scs-mem     scs v2 with memstore (process memory)
  gorilla-fs  gorilla/sessions FilesystemStore under --dir

Every peer keeps a session for the same time after its creation (gorilla's
FilesystemStore, which has no such limit: after its last write), and none
expires during the run: twice the run's planned length plus an hour, at
least 24 hours, as sessbench run's Redis target (the planned length is
--duration times 2 measurements, the peers and the sizes). A killed run's
scs-redis keys expire then. The report says how long.

Requests call each peer's http.Handler directly (no sockets). For each peer
and size: p50 and p99 latency with one client sending requests back to back,
then throughput and p50 with --concurrency clients on sessions of their own,
each measured for --duration in --rounds rounds that interleave the peers.
Percentiles are nearest-rank, read from a histogram as in sessbench run (at
or above the exact value by less than 0.8%), so memory stays flat however
long the run.
Last, the lost-update test (--hot CLIENTSxINCREMENTS; 0x0 for none):
CLIENTS clients at once each send INCREMENTS increments of the counter of
one session, shared by all: every increment answered 200 that the counter
does not show is a lost update (two answered with the same value: one
overwrote the other). Increments answered with an error status are
counted as failed, and those the counter shows all the same as saved: a
504 from sessfs says the change may have been saved. They are not set off
against lost updates.

As in sessbench run, a --dir that is a sessfs store's directory, or lies
in its data or lock directory, is refused: the sessfs and gorilla-fs peers
measure in a scratch directory, never in a live store. A run whose sessions
(--sessions and the lost-update test's one, of every --size, for each
peer) would take more than half of the space free in --dir, or of the
memory the --redis server has left before its maxmemory, is refused
before anything is written, and so is
one whose --redis server takes fewer connections at once than the
scs-redis peer's clients open (--concurrency, or the --hot clients).
A flag for a peer --peers leaves out (--dir without sessfs or
gorilla-fs, --durability without sessfs, --redis without scs-redis) is
refused (exit 2), as is a --plot or --cpuprofile file that cannot be
written, before any peer is opened.

A peer that fails during the run (a request answered with an error
status; for scs-redis, a command its Redis server does not answer in
time: 5 s, plus the time a 1 MiB/s link takes to carry one session of
the largest --size per client, 69 s for 64 clients of 1 MiB) is left out
from then on: the report lists it as failed, with its error, and has the
other peers' results, and sessbench exits 1.

The output is a Markdown table (or --json), the ratios of the first peer
to the second, and how each peer was set up, including the durability
the sessfs store used. --json has started and finished (UTC, RFC 3339),
the settings (duration_s per peer, size and measurement; rounds;
concurrency; sessions; hot_clients; hot_increments, per client;
session_ttl_s, how long each peer keeps a session, in seconds), peers
(name, desc, and for scs-redis persistence: what its Redis keeps of a
write, as sessbench run gives it), and in results a row per peer and
size: p50_ns and p99_ns with one client and the requests_1 they rest on;
throughput_rps, p50_ns_concurrent and requests_concurrent with
--concurrency clients; hot_sent, hot_ok (answered 200), hot_gain (what
the counter gained), lost_updates, hot_failed (answered with an error
status) and hot_saved_failed (of those, what the counter shows saved).
failed lists the peers that failed (peer, error), and ratios the first
peer's p50 and throughput divided by the second's at each size (size,
of, to, p50, throughput).`,
		Example: `  sessbench http --dir /mnt/efs/bench --redis 127.0.0.1:6379 --plot http.svg
  sessbench http --peers sessfs,scs-mem --size 1KiB --duration 1s`,
		Args: cmdutil.NoArgs("peers and targets are given with flags"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Without --dir the peers use a temporary directory; an empty
			// one given is not a request for that.
			if cmd.Flags().Changed("dir") {
				if err := run.CheckDirNames(o.Dir); err != nil {
					return err
				}
			}
			return runHTTP(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "`directory` for the sessfs and gorilla stores (default: a temporary directory on local disk)")
	f.StringVar(&o.Redis, "redis", "", "Redis server for scs-redis, `address` host:port, redis://[[user]:password@]host[:port][/db] or rediss:// for TLS (password: $"+redisaddr.PasswordEnv+"; without it, scs-redis is left out)")
	f.StringSliceVar(&o.Peers, "peers", AllPeers, "`peers` to compare: "+strings.Join(AllPeers, ", "))
	f.StringSliceVar(&o.Sizes, "size", []string{"1KiB", "16KiB"}, "session `sizes` (B, KiB, MiB; less than 64MiB)")
	f.DurationVar(&o.Duration, "duration", 2*time.Second, "measured time per peer, size and measurement, over all rounds")
	cmdutil.IntVarP(f, &o.Rounds, "rounds", "", 3, "interleaved rounds each measurement is split into")
	cmdutil.IntVarP(f, &o.Concurrency, "concurrency", "", 8, "clients of the throughput measurement (at most 100000)")
	cmdutil.IntVarP(f, &o.Sessions, "sessions", "", 64, "sessions per peer and size (at least --concurrency: each client has sessions of its own)")
	f.StringVar(&o.Hot, "hot", "8x50", "same-session lost-update test: `CLIENTSxINCREMENTS` (0x0: none; at most 100000 clients and 1000000 increments in all)")
	f.StringVar(&o.Durability, "durability", "", "sessfs durability: none, file or full (default: the store's default)")
	f.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	f.StringVar(&o.Plot, "plot", "", "write a bar chart to `file` (SVG; name it .svg; an existing file is replaced)")
	f.StringVar(&o.Title, "title", "", "header `text` of the --plot chart (default: sessbench http and the date)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the measurements to `file` (go tool pprof)")
	return cmd
}

func runHTTP(ctx context.Context, o *Options) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := Config{Duration: o.Duration, Rounds: o.Rounds, Concurrency: o.Concurrency, Sessions: o.Sessions}
	for _, s := range o.Sizes {
		n, err := bytesize.Parse(s)
		if err != nil {
			return cmdutil.UsageErrorf("--size: %w", err)
		}
		// The sessfs peer's store takes at most 64 MiB, and the padding
		// is only part of the session it saves.
		if n > maxSize {
			return cmdutil.UsageErrorf("--size %s: at most %d bytes here (64MiB less room for the session's counter and encoding)", strings.TrimSpace(s), maxSize)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	// Compared as byte counts: 1KiB and 1024 are one size.
	sizeOf := func(s string) int { n, _ := bytesize.Parse(s); return n }
	if err := run.Repeated("--size", o.Sizes, sizeOf, strings.TrimSpace); err != nil {
		return err
	}
	if o.Title != "" && o.Plot == "" {
		return cmdutil.UsageErrorf("--title applies to the chart; add --plot FILE")
	}
	c, i, ok := strings.Cut(o.Hot, "x")
	var cerr, ierr error
	cfg.HotClients, cerr = strconv.Atoi(c)
	cfg.HotIncrements, ierr = strconv.Atoi(i)
	if !ok || cerr != nil || ierr != nil {
		return cmdutil.UsageErrorf("--hot %q: want CLIENTSxINCREMENTS, e.g. 8x50", o.Hot)
	}
	if err := cfg.Validate(); err != nil {
		return cmdutil.UsageErrorf("%w", err)
	}
	po := PeerOptions{Dir: o.Dir, MaxSize: max(1<<20, slices.Max(cfg.Sizes)+sessionOverhead)}
	if o.Redis != "" {
		srv, err := redisaddr.Parse(o.Redis, os.Getenv)
		if err != nil {
			return cmdutil.UsageErrorf("--redis: %w", err)
		}
		po.Redis = &srv
	}
	if o.Durability != "" {
		d, err := fsstore.ParseDurability(o.Durability)
		if err != nil {
			return cmdutil.UsageErrorf("--durability: %w", err)
		}
		po.Durability = &d
	}
	var names []string
	for _, p := range o.Peers {
		p = strings.TrimSpace(p)
		if !slices.Contains(AllPeers, p) {
			return cmdutil.UsageErrorf("--peers %s: want some of %s", p, strings.Join(AllPeers, ", "))
		}
		if slices.Contains(names, p) {
			return cmdutil.UsageErrorf("--peers %s: given twice", p)
		}
		if p == PeerSCSRedis && o.Redis == "" {
			fmt.Fprintln(o.IO.ErrOut, "sessbench http: no --redis: scs-redis left out")
			continue
		}
		names = append(names, p)
	}
	if len(names) == 0 {
		return cmdutil.UsageErrorf("--peers: nothing to measure")
	}
	if err := checkApplies(o, names); err != nil {
		return err
	}
	if err := run.CheckPlot(o.Plot); err != nil {
		return err
	}
	// Before the peers open, as --plot's: a profile that cannot be
	// written failed the run once its sessions were written.
	if err := checkProfile(o.CPUProfile); err != nil {
		return err
	}
	// cleanup removes what the run created (see run.Cleanup).
	var peers []*Peer
	var cleanup run.Cleanup
	if o.IO.ErrTTY {
		cleanup.Status = o.IO.ErrOut
	}
	defer func() { err = errors.Join(err, cleanup.Do()) }()
	onDir := slices.Contains(names, PeerSessfs) || slices.Contains(names, PeerGorillaFS)
	// Only for the peers that keep their sessions in a directory: the
	// others' run needs none, and failed where $TMPDIR cannot be written.
	if po.Dir == "" && onDir {
		base := run.LocalTempDir()
		// Before this run's own, which is not left over.
		if note := fstarget.TempLeftoverNote(base); note != "" {
			fmt.Fprintf(o.IO.ErrOut, "sessbench: %s\n", note)
		}
		tmp, err := os.MkdirTemp(base, fstarget.TempPrefixes[1])
		if err != nil {
			return fmt.Errorf("creating a temporary directory in %s: %w", base, err)
		}
		cleanup.Tmp = tmp
		po.Dir, po.DirIsTemporary = tmp, true
	}
	// Every peer's, so that none expires during the run and a killed
	// run's Redis keys go soon after it would have ended.
	cfg.SessionTTL = redistarget.TTL(cfg.PlannedLength(len(names)))
	po.SessionTTL = cfg.SessionTTL
	if err := checkRoom(cfg, names, &po); err != nil {
		return err
	}
	if !po.DirIsTemporary && onDir {
		// Before the peers make their own directories.
		if note := fstarget.LeftoverNote(po.Dir); note != "" {
			fmt.Fprintf(o.IO.ErrOut, "sessbench: %s\n", note)
		}
	}
	for _, n := range names {
		p, err := OpenPeer(ctx, n, po)
		if err != nil {
			return err
		}
		if p.Note != "" {
			fmt.Fprintf(o.IO.ErrOut, "sessbench: %s\n", p.Note)
		}
		peers = append(peers, p)
		cleanup.Add(p)
	}
	if o.IO.ErrTTY {
		cfg.OnStep = func(s string) { fmt.Fprintf(o.IO.ErrOut, "\r\033[K%s", s) }
	}
	if o.CPUProfile != "" {
		pf, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			err = errors.Join(err, pf.Close())
		}()
	}
	started := time.Now()
	res, failures, err := Run(ctx, cfg, peers)
	if o.IO.ErrTTY {
		fmt.Fprint(o.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		return cmdutil.Interrupted(ctx, err)
	}
	rep := BuildReport(cfg, peers, res, failures, started, time.Now())
	// After the report and the chart, which keep the other peers'
	// results: exit 1, so that a script does not take the run for whole.
	var failed error
	for _, f := range failures {
		failed = errors.Join(failed, fmt.Errorf("the %s peer failed, and its results are left out: %s", f.Peer, f.Error))
	}
	if failed != nil {
		failed = cmdutil.FailureErrorf("%w", failed)
	}
	cleanErr := cleanup.Do()
	write := WriteMarkdown
	if o.JSON {
		write = WriteJSON
	}
	if err := write(o.IO.Out, rep); err != nil {
		return errors.Join(fmt.Errorf("writing report: %w", err), cleanErr, failed)
	}
	if o.Plot != "" {
		// After the report, so that a chart that cannot be written does
		// not cost the results.
		title := o.Title
		if title == "" {
			title = fmt.Sprintf("sessbench http, %s", started.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if err := cmdutil.WriteFile(o.Plot, 0o644, func(w io.Writer) error { return WritePlot(w, rep, title) }); err != nil {
			return errors.Join(fmt.Errorf("--plot: %w", err), cleanErr, failed)
		}
		fmt.Fprintf(o.IO.ErrOut, "wrote %s\n", o.Plot)
	}
	return errors.Join(failed, cleanErr)
}

// checkApplies refuses, as a usage error, a flag given for peers that
// names leaves out, as --title without --plot is: --dir with only the scs
// peers measured process memory and Redis, and said nothing of the
// directory it was given.
func checkApplies(o *Options, names []string) error {
	for _, f := range []struct {
		flag, value string
		peers       []string
	}{
		{"--dir", o.Dir, []string{PeerSessfs, PeerGorillaFS}},
		{"--durability", o.Durability, []string{PeerSessfs}},
		{"--redis", o.Redis, []string{PeerSCSRedis}},
	} {
		if f.value == "" || slices.ContainsFunc(f.peers, func(p string) bool { return slices.Contains(names, p) }) {
			continue
		}
		what := "the " + f.peers[0] + " peer"
		if len(f.peers) > 1 {
			what = "the " + strings.Join(f.peers, " and ") + " peers"
		}
		return cmdutil.UsageErrorf("%s applies to %s, which --peers %s leaves out; add one, or drop %s",
			f.flag, what, strings.Join(names, ","), f.flag)
	}
	return nil
}

// checkProfile refuses a --cpuprofile file that cannot be written, as a
// usage error: opened for writing, and removed if this made it, it is
// left as it was (an existing profile is not truncated by a run refused
// later).
func checkProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		f.Close()
		os.Remove(path)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		if f, err = os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
			return nil
		}
	}
	return cmdutil.UsageErrorf("--cpuprofile %s: cannot be written: %w", path, err)
}

// sessionOverhead is an upper estimate of what a peer's session costs
// besides its padding: the counter, the encoding, the record's header.
const sessionOverhead = 4096

// maxSize is the largest --size: the sessfs peer's session, its padding
// and sessionOverhead, within fsstore's largest WithMaxSize, 64 MiB.
const maxSize = 64<<20 - sessionOverhead

// checkRoom refuses, before anything is written, a run whose sessions
// would take more than bench.RoomShare of the space free in --dir (the
// sessfs and gorilla-fs peers' sessions together), and sets the bytes
// the scs-redis peer checks against its server's memory (see
// bench.RoomChecker).
func checkRoom(cfg Config, names []string, po *PeerOptions) error {
	sessions := cfg.Sessions + 1 // and the lost-update test's
	clients := max(cfg.Concurrency, cfg.HotClients)
	po.RedisClients = clients
	po.RedisAnswer = redisaddr.AnswerTimeout(slices.Max(cfg.Sizes)+sessionOverhead, clients)
	po.RedisBytes = redistarget.KeyOverhead*float64(sessions*len(cfg.Sizes)) +
		fstarget.Footprint(sessions, cfg.Sizes, clients, sessionOverhead, 1)
	onDir := 0
	for _, n := range names {
		if n == PeerSessfs || n == PeerGorillaFS {
			onDir++
		}
	}
	if onDir == 0 {
		return nil
	}
	if err := fstarget.CheckDir(po.Dir); err != nil {
		return err
	}
	free, block, ok, err := fstarget.FreeSpace(po.Dir)
	if err != nil {
		return fmt.Errorf("--dir %s: free space: %w", po.Dir, err)
	}
	if !ok {
		return nil
	}
	need := float64(onDir) * fstarget.Footprint(sessions, cfg.Sizes, clients, sessionOverhead, block)
	if err := bench.NoRoom("the file system of "+po.Dir, need, free); err != nil {
		return fmt.Errorf("--dir %s: %w", po.Dir, err)
	}
	return nil
}
