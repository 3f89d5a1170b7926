// Package rekey implements `sessgc rekey`, which rewrites every session
// record under the newest encryption key, for key rotation.
package rekey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/fsstore"
)

// FleetLockName is the file in the store's lock directory that lets one
// rekey pass run at a time across the fleet. It is not the sweep's lock:
// a rekey and a sweep may run together (each record is rewritten or
// removed under its own lock, and one the sweep may remove by its mtime
// alone rewritten under the sweep lock). The store lets one rekey at a
// time run anyway (fsstore.ErrRekeyRunning); the fleet lock, taken first,
// says whose it is where it is a lease, and keeps out a sessgc of an
// earlier version.
const FleetLockName = ".sessgc-rekey"

// RekeyOptions are the settings of one rekey pass; flags bind to its fields.
type RekeyOptions struct {
	IO *cmdutil.IOStreams

	Dir      string
	KeysFile string // --keys-file or SESSGC_KEYS_FILE; else SESSGC_KEYS
	// KeysFileFromFlag records that --keys-file was on the command line,
	// which then wins over SESSGC_KEYS.
	KeysFileFromFlag bool
	// KeysFileTrusted takes a keys file that a user other than root and
	// sessgc's could replace (--keys-file-trusted).
	KeysFileTrusted bool
	Rate            float64 // records rewritten per second; 0: no cap
	Concurrency     int
	Grace           time.Duration // how long after expiry a record is still rekeyed (--grace, run's)
	MaxDuration     time.Duration // 0: no limit
	NoFleetLock     bool
	FleetLockTTL    time.Duration // the fleet lease's TTL (--fleet-lock-ttl); 0: the store's
	// FleetLockTTLFromFlag records that --fleet-lock-ttl was on the
	// command line: where it does nothing (a store that locks with
	// flock) it is warned of, and SESSGC_FLEET_LOCK_TTL is not.
	FleetLockTTLFromFlag bool
	MigratePlaintext     bool // also encrypt plaintext records (end of a migration to encryption)
	Textfile             string
	JSON                 bool
	Quiet                bool
	LogLevel             pass.LogLevel
}

// NewCmdRekey returns the rekey command. runF, when not nil, replaces the
// pass; tests use it to check flag parsing.
func NewCmdRekey(io *cmdutil.IOStreams, runF func(*RekeyOptions) error) *cobra.Command {
	opts := &RekeyOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "rekey --dir DIR [--keys-file FILE] [flags]",
		Short: "Rewrite every session record under the newest encryption key",
		Long: `Rewrite every live session record that is not encrypted with the newest
key under the newest key, for key rotation. Expired records are left to the
sweep (expired by more than --grace, which must be run's: app hosts whose
clocks are behind the file server's still serve a record expired less than
that ago). Each record is rewritten under its session's lock, keeping its
version, times and last activity, so live traffic is safe and no session is
extended or shortened. The pass is resumable: --max-duration (or a signal)
stops it cleanly and the next pass skips the records already converted.

The key set is read from --keys-file (or SESSGC_KEYS_FILE), "ID BASE64SECRET"
lines, newest key first, that only its owner may read, or from SESSGC_KEYS;
never from a flag ("sessgc keygen" makes a key line). More in "sessgc help
rekey-keys": plaintext records (--migrate-plaintext), the keys' check files,
who may own the keys file, the fleet lock (a second rekey exits 0).

Exit codes:
  0    done, or another rekey is running, or --max-duration stopped it
  1    some records could not be rewritten (under a key ID not in the key
       set, or a key that reached the application hosts after the newest
       key here, which a rewrite would roll back; I/O errors), --textfile
       or standard output could not be written, or the fleet lock was lost
       mid-pass (stop_reason "fleet-lock-lost"); run again to continue
  2    usage: bad flags, no keys, a key file unreadable, readable by
       others, replaceable by another user or malformed; nothing rewritten
  3    store unusable, a key that does not match the store ("wrong key"),
       a newest key without a check file, a store not encrypted yet;
       nothing rewritten
  4    the file server did not answer within --max-duration: the pass was
       abandoned; every rewrite is atomic, so the next pass continues
  5    sessgc crashed (a bug): its worker died of a panic or a Go runtime
       fatal error; every rewrite is atomic, as for 4
  130  interrupted by Ctrl-C (SIGINT); 143 for SIGTERM, 129 for SIGHUP,
       141 for SIGPIPE (a closed standard output): the pass stopped
       cleanly; run again to continue. A worker process killed (137:
       SIGKILL, the out-of-memory killer) is said on stderr; as for 4`,
		Example: `  # Rotate from key 1 to key 2 (see docs/operations.md):
  sessgc rekey --dir /mnt/efs/sessions --keys-file /etc/sessfs/keys --rate 200

  # Bounded, resumable passes, e.g. from cron at night:
  sessgc rekey --dir /mnt/efs/sessions --keys-file /etc/sessfs/keys --max-duration 30m -q

  # Key set from the environment (e.g. a systemd credential):
  SESSGC_KEYS="$(cat /run/credentials/sessgc/keys)" sessgc rekey --dir /mnt/efs/sessions --json`,
		Args: cmdutil.NoArgs("the store is given with --dir"),
	}
	// As run's: which of the two the operator meant cannot be told.
	quietJSON := pass.Exclusion{A: "quiet", B: "json", Why: "--quiet prints nothing, --json prints the summary as JSON"}
	run := pass.RunE(io, opts, opts.validate, runF, rekeyRun, quietJSON)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// Asked before the environment fills the flag in.
		opts.KeysFileFromFlag = c.Flags().Changed("keys-file")
		opts.FleetLockTTLFromFlag = c.Flags().Changed("fleet-lock-ttl")
		return run(c, args)
	}
	f := cmd.Flags()
	pass.PathVarP(f, &opts.Dir, "dir", "d", "", "store directory (required)")
	pass.PathVarP(f, &opts.KeysFile, "keys-file", "", "", "file with the key set, newest key first, mode 0600 (or set SESSGC_KEYS)")
	f.BoolVar(&opts.KeysFileTrusted, "keys-file-trusted", false, "read the keys file even if a user other than root and sessgc's could replace it (only if they are trusted with the sessions)")
	f.Float64VarP(&opts.Rate, "rate", "r", 200, "at most this many records rewritten per second (0: no cap)")
	cmdutil.IntVarP(f, &opts.Concurrency, "concurrency", "c", 4, "shard directories processed in parallel, 1..64 (fewer under a low ulimit -n, said on stderr)")
	f.DurationVar(&opts.Grace, "grace", time.Minute, "as for run: a record expired less than this ago is still rekeyed, since app hosts whose clocks are behind still serve it; give run's")
	f.DurationVar(&opts.MaxDuration, "max-duration", 0, "stop cleanly this long after starting (0: no limit); exit 0 with stopped_early; the next pass continues")
	f.BoolVar(&opts.NoFleetLock, "no-fleet-lock", false, "take no fleet lock (the store still lets one rekey run at a time: a second one exits 0)")
	pass.FleetLockTTLFlag(f, &opts.FleetLockTTL)
	f.BoolVar(&opts.MigratePlaintext, "migrate-plaintext", false, "also encrypt plaintext records (only while migrating a store to encryption: it also encrypts a record forged in clear text; each pass names some it encrypted)")
	pass.PathVarP(f, &opts.Textfile, "textfile", "", "", "after the pass, write its summary as Prometheus metrics to this .prom file (node-exporter textfile collector)")
	f.BoolVar(&opts.JSON, "json", false, "print a JSON summary object")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing unless something is wrong (errors still go to stderr); not with --json")
	pass.LogLevelFlag(f, &opts.LogLevel)
	// What an operator sets first, grouped; the rest tune the pass.
	cmdutil.GroupFlags(cmd,
		cmdutil.FlagGroup{Title: "Store and keys", Flags: []string{"dir", "keys-file", "migrate-plaintext"}},
		cmdutil.FlagGroup{Title: "What to do", Flags: []string{"max-duration", "rate"}},
		cmdutil.FlagGroup{Title: "Output", Flags: []string{"quiet", "json", "textfile"}},
		cmdutil.FlagGroup{Title: "Fleet lock", Flags: []string{"no-fleet-lock", "fleet-lock-ttl"}},
		cmdutil.FlagGroup{Title: "How to rekey", Flags: []string{"concurrency", "grace", "keys-file-trusted", "log-level"}},
	)
	cmd.MarkFlagDirname("dir")
	cmd.MarkFlagFilename("keys-file")
	return cmd
}

// KeysTopic is the help topic "sessgc help rekey-keys": the reference text
// that rekey --help leaves out so that its flags show on one screen.
func KeysTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "rekey-keys",
		Short: "Plaintext records, key check files, the keys file's owner and the fleet lock of sessgc rekey",
		Long: `Plaintext records are rewritten only with --migrate-plaintext, which ends a
migration of an unencrypted store to encryption (the app hosts run with
fsstore.WithPlaintextMigration meanwhile); without it they are errors, so
that a record forged in clear text by someone who can write the mount is
never turned into a valid encrypted one. With it or without, a store that
no host has opened with keys yet is refused (exit 3) and left as it is:
marking it encrypted would make the hosts still running without keys fail
every save.

sessgc never vouches that the hosts have a key: an application host writes
a key's check file when it first opens the store with it, and a rekey whose
newest key has none is refused (exit 3, nothing rewritten), since no host
could read the records rewritten under it.

The key set is read from --keys-file (or SESSGC_KEYS_FILE), a file of
"ID BASE64SECRET" lines, newest key first, that only its owner may read; or
from SESSGC_KEYS, the key lines themselves separated by newlines or
semicolons; a # comment runs to the end of its line, as in the file.
Never from a flag: command lines are visible to every user.
"sessgc keygen" makes a key line. A keys file that a user other than root
and sessgc's own could replace (owned by another user, or in a directory
that another user owns or that group or others may write, without the
sticky bit) is refused, as OpenSSH's StrictModes refuses such an
authorized_keys file: whoever can replace it chooses the keys. Where those
users are trusted with the sessions anyway, --keys-file-trusted reads it;
its mode (readable by its owner only) is checked all the same.

Unless --no-fleet-lock is given, the pass takes DIR/locks/.sessgc-rekey
without waiting; if another rekey holds it, sessgc prints one line and exits
0. Sweeps (sessgc run) may run at the same time. The pass checks the lock
once a second and stops with exit 1 (stop_reason "fleet-lock-lost") once it
finds it lost; --fleet-lock-ttl sets the fleet lease's TTL, as for sessgc run.
The store itself lets one rekey run at a time, also past --no-fleet-lock and
against an application's Rekey, which takes no fleet lock: a pass that finds
the store's lock DIR/locks/rekey held prints one line and exits 0 too
(skip_reason "rekey-running").`,
	}
}

func (o *RekeyOptions) validate() error {
	if err := pass.Check(o.Dir, o.Concurrency, o.Rate, o.MaxDuration, o.Textfile); err != nil {
		return err
	}
	if o.Grace <= 0 {
		return cmdutil.UsageErrorf("--grace %v: want a positive duration", o.Grace)
	}
	return pass.CheckFleetLockTTL(o.FleetLockTTL, o.MaxDuration)
}

// Summary is the JSON object printed with --json. Its fields are documented
// in docs/operations.md; add fields, never rename them.
type Summary struct {
	Event string `json:"event"` // always "summary"
	Dir   string `json:"dir"`
	KeyID uint32 `json:"key_id"` // the newest key, which records are rewritten under
	pass.Outcome
	Scanned      int64   `json:"scanned"`    // records examined
	Rekeyed      int64   `json:"rekeyed"`    // records rewritten under the newest key
	UpToDate     int64   `json:"up_to_date"` // records already under the newest key
	Expired      int64   `json:"expired"`    // expired records, left to the sweep whatever their key
	Plaintext    int64   `json:"plaintext"`  // plaintext records encrypted (--migrate-plaintext), among rekeyed
	Errors       int64   `json:"errors"`
	DurationSecs float64 `json:"duration_seconds"`
	// RekeyHolder is who holds the store's rekey lock, when it is a
	// lease whose owner record could be read (pass.SkipRekeyRunning), as
	// FleetHolder is the fleet lock's: a rekey killed, or whose host was
	// lost, holds it until its lease runs out, and the skip said only
	// that another rekey was running.
	RekeyHolder *pass.FleetHolder `json:"rekey_lock_holder,omitempty"`
}

func rekeyRun(ctx context.Context, opts *RekeyOptions) error {
	el, log := pass.Stderr(opts.IO.ErrOut, opts.LogLevel)
	// --max-duration counts from here: the checks of the paths spend it.
	budget := pass.NewBudget(opts.MaxDuration)
	absDir, err := pass.CheckPaths(budget, opts.Dir, opts.Textfile, true, nil)
	if err != nil {
		return err // a usage error: nothing attempted, no metrics
	}
	// Absolute, as the store reports it after opening.
	sum := Summary{Event: "summary", Dir: pass.Shown(absDir)}
	// The pass fills its own copy: an abandoned one (see pass.Watchdog)
	// may still write to it after this function returned. It counts into
	// prog as it goes too, so that an abandoned pass says what it did
	// before it hung rather than nothing.
	var prog progress
	done := sum
	abandoned, err := pass.Watchdog(ctx, budget, func(ctx context.Context) error { return rekey(ctx, opts, el, log, &prog, &done) })
	if abandoned {
		sum.Abandoned(err)
		sum.KeyID = prog.keyID.Load()
		fill(&sum, prog.Stats())
		sum.DurationSecs = time.Since(budget.Start).Seconds()
	} else {
		sum = done
	}
	err = sum.SetErr(err)
	// Usage errors (no keys, bad key file) leave no metrics: nothing was
	// attempted, and the path may be the mistake.
	if sum.ExitCode != cmdutil.ExitUsage {
		err = sum.SetErr(pass.Finish(opts.Textfile, metrics(opts, absDir, &sum, time.Now()), err, opts.IO.ErrOut))
	}
	sum.ErrorSamples = append([]string{}, el.Samples()...) // [] rather than null in JSON
	switch {
	case opts.JSON:
		b, _ := json.Marshal(sum)
		fmt.Fprintf(opts.IO.Out, "%s\n", b)
	case !opts.Quiet:
		fmt.Fprint(opts.IO.Out, humanSummary(opts, &sum))
	}
	return err
}

// progress is what a pass tells as it goes, for its summary if it is
// abandoned: the key it rewrites under, and its counts.
type progress struct {
	fsstore.RekeyProgress
	keyID atomic.Uint32
}

func rekey(ctx context.Context, opts *RekeyOptions, el *pass.ErrorLog, log *slog.Logger, prog *progress, sum *Summary) error {
	// The platform first: where the store does not run, advice on the
	// keys file would be followed only to be refused then.
	if err := pass.CheckPlatform(opts.Dir); err != nil {
		return err
	}
	// Root is refused another user's store before its keys are read: that
	// user's keys file, which root would find owned by another user, is
	// the usual case, and its refusal would advise a chown or
	// --keys-file-trusted rather than the fix, running as that user.
	if err := pass.CheckOwner(opts.Dir); err != nil {
		return err
	}
	keys, err := pass.LoadKeys(opts.KeysFile, opts.KeysFileFromFlag, opts.KeysFileTrusted, opts.IO.Getenv)
	if err != nil {
		return err
	}
	sum.KeyID = keys[0].ID
	prog.keyID.Store(keys[0].ID)
	storeOpts := []fsstore.Option{fsstore.WithKeys(keys...)}
	if opts.MigratePlaintext {
		storeOpts = append(storeOpts, fsstore.WithPlaintextMigration())
	}
	s, err := pass.OpenStore(opts.Dir, log, storeOpts...)
	if err != nil {
		// A wrong secret under a known key ID fails here, with a message
		// ending in "wrong key" (exit 3): better than rewriting nothing
		// and counting every record as an error.
		return err
	}
	defer s.Close()
	sum.Dir = pass.Shown(s.Dir())

	// A record cut short by the deadline is neither scanned nor failed in
	// st (Rekey leaves it for the next pass), so st needs no correction.
	var (
		unknownKey  atomic.Bool
		rollback    atomic.Bool
		unreadable  atomic.Bool
		plaintext   atomic.Bool
		unavailable atomic.Bool
		running     atomic.Bool
		holder      atomic.Pointer[pass.FleetHolder] // of the store's rekey lock, when running
		st          fsstore.RekeyStats
	)
	lim := pass.Limits{LockName: FleetLockName, NoFleetLock: opts.NoFleetLock, FleetLeaseTTL: opts.FleetLockTTL, FleetLeaseTTLGiven: opts.FleetLockTTLFromFlag, Warn: pass.Warner(opts.IO), Log: log}
	sum.Outcome, err = pass.Run(ctx, s, lim, func(ctx context.Context) error {
		start := time.Now()
		var err error
		st, err = s.Rekey(ctx, fsstore.RekeyOptions{
			Progress:    &prog.RekeyProgress,
			Rate:        opts.Rate,
			Concurrency: opts.Concurrency,
			Grace:       opts.Grace,
			OnError: func(err error) {
				if errors.Is(err, fsstore.ErrUnknownKey) {
					unknownKey.Store(true)
				}
				if errors.Is(err, fsstore.ErrKeyRollback) {
					rollback.Store(true)
				}
				if errors.Is(err, fsstore.ErrKeyOrderUnreadable) {
					unreadable.Store(true)
				}
				if errors.Is(err, fsstore.ErrUnencrypted) {
					plaintext.Store(true)
				}
				if errors.Is(err, fsstore.ErrUnavailable) {
					unavailable.Store(true)
				}
				el.Add(err)
			},
		})
		if errors.Is(err, fsstore.ErrUnavailable) {
			// Given up on in a call the file server did not answer, and
			// perhaps still in it: what it did so far is in prog.
			st = prog.Stats()
			st.Duration = time.Since(start)
		}
		if errors.Is(err, fsstore.ErrRekeyRunning) {
			// Past the fleet lock, or with none: the store lets one
			// pass at a time run, which does what this one would, as
			// for a fleet lock held.
			running.Store(true)
			holder.Store(pass.LeaseHolder(s, "rekey"))
			return nil
		}
		// Rekey fails as a whole only when the store itself is unusable;
		// single records are counted in st.Errors.
		return err
	})
	fill(sum, st)
	if err == nil && running.Load() {
		sum.Skipped, sum.SkipReason = true, pass.SkipRekeyRunning
		sum.RekeyHolder = holder.Load()
		return nil
	}
	if errors.Is(err, fsstore.ErrNotEncrypted) {
		return cmdutil.StoreErrorf("%s is not an encrypted store: no application host has opened it with keys, and a rekey does not turn it encrypted (the hosts still running without keys would fail every save); to turn encryption on, follow docs/security.md, \"Turning encryption on for a store in use\": the application hosts get the keys first, and rekey --migrate-plaintext comes last: %w", sum.Dir, err)
	}
	if errors.Is(err, fsstore.ErrKeyNotDeployed) {
		return cmdutil.StoreErrorf("%w", err)
	}
	if err != nil {
		return err
	}
	if st.Errors > 0 && unavailable.Load() {
		// The store gave up on the file server: an outage, not records
		// that are wrong.
		sum.StoppedEarly, sum.StopReason = true, pass.StopUnresponsive
		return pass.Unavailable(fmt.Errorf("%d records could not be rewritten: %w", st.Errors, fsstore.ErrUnavailable))
	}
	if st.Errors > 0 {
		hint := ""
		if unknownKey.Load() {
			hint = "; some are under a key that is not in the key set: keep the old keys, after the newest, until a rekey pass ends with 0 errors"
		}
		if rollback.Load() {
			hint += fmt.Sprintf("; some are under a key that the application hosts made newest after key %d: this key set is older than theirs (is key %d still first here, where they have moved the new key first?); update it and run again (to move off that key anyway, rotate to a new key)", sum.KeyID, sum.KeyID)
		}
		if unreadable.Load() {
			hint += "; some are under a key that the rekey cannot order against the newest: a file it needs may not be read by this user (named above, once for all the records under that key); give the user read access to it, as to the store's other files, and run again"
		}
		if plaintext.Load() {
			hint += "; some are plaintext: pass --migrate-plaintext if you are turning encryption on for this store, otherwise a host runs without keys or someone forged records"
		}
		return cmdutil.FailureErrorf("%d records could not be rewritten under key %d%s", st.Errors, sum.KeyID, hint)
	}
	return nil
}

// metrics renders a pass's summary for the node-exporter textfile
// collector, labelled with the store's absolute path dir. The names are
// documented in docs/operations.md.
func metrics(opts *RekeyOptions, dir string, sum *Summary, now time.Time) *pass.Metrics {
	m := pass.PassMetrics(dir, "sessgc_rekey_", "rekey", &sum.Outcome, sum.DurationSecs, now)
	m.Gauge("sessgc_rekey_key_id", "ID of the newest key, which the last rekey rewrote records under.", float64(sum.KeyID))
	m.Gauge("sessgc_rekey_scanned_records", "Records examined by the last rekey.", float64(sum.Scanned))
	m.Gauge("sessgc_rekey_rekeyed_records", "Records rewritten under the newest key by the last rekey.", float64(sum.Rekeyed))
	m.Gauge("sessgc_rekey_up_to_date_records", "Records the last rekey found already under the newest key.", float64(sum.UpToDate))
	m.Gauge("sessgc_rekey_plaintext_records", "Plaintext records the last rekey encrypted (--migrate-plaintext), among those rewritten: after a migration to encryption, forgeries it made valid.", float64(sum.Plaintext))
	m.Gauge("sessgc_rekey_errors", "Records the last rekey could not rewrite.", float64(sum.Errors))
	return m
}

// fill sets the counts of sum from st.
func fill(sum *Summary, st fsstore.RekeyStats) {
	sum.Scanned, sum.Rekeyed, sum.UpToDate, sum.Errors = st.Scanned, st.Rekeyed, st.UpToDate, st.Errors
	sum.Expired, sum.Plaintext = st.Expired, st.Plaintext
	sum.DurationSecs = st.Duration.Seconds()
}

func humanSummary(opts *RekeyOptions, sum *Summary) string {
	if h := sum.RekeyHolder; sum.Skipped && sum.SkipReason == pass.SkipRekeyRunning && h != nil {
		// As pass.SkippedMessage says of the fleet lock's lease.
		return fmt.Sprintf("sessgc: another rekey of %s is running: the store's rekey lock %s is held by pid %d on host %s until %s by that host's clock unless renewed: "+
			"an application's Rekey or a rekey that took no fleet lock there, or one that died (killed, its host down), which looks the same until the lease runs out; nothing to do\n",
			sum.Dir, filepath.Join(fsstore.LockDir, "rekey.lease"), h.PID, h.Host, h.Expires.UTC().Format(time.RFC3339))
	}
	if sum.Skipped && sum.SkipReason == pass.SkipRekeyRunning {
		return fmt.Sprintf("sessgc: another rekey of %s is running (the store's lock %s held: an application's Rekey, or a rekey that took no fleet lock; on the lease strategy also one that died, until its lease %s expires); nothing to do\n",
			sum.Dir, filepath.Join(fsstore.LockDir, "rekey"), filepath.Join(fsstore.LockDir, "rekey.lease"))
	}
	if sum.Skipped {
		lockPath := filepath.Join(fsstore.LockDir, FleetLockName)
		return pass.SkippedMessage(sum.FleetHolder, sum.Dir, lockPath, "rekey is running",
			fmt.Sprintf("sessgc: another rekey of %s is running (lock %s held); nothing to do\n", sum.Dir, lockPath))
	}
	// A pass the file server stopped answering says what it did before,
	// nothing at all included, as one its budget stopped does.
	if sum.Error != "" && sum.Scanned == 0 && sum.StopReason != pass.StopUnresponsive {
		return "" // the error itself is printed by main
	}
	d := pass.ElapsedSecs(sum.DurationSecs)
	plain := ""
	if sum.Plaintext > 0 {
		// Said where a forged record made valid would otherwise pass
		// as one rotated (the store's warning names some).
		plain = fmt.Sprintf(" (%s of them plaintext, encrypted: --migrate-plaintext)", pass.Count(sum.Plaintext))
	}
	s := fmt.Sprintf("sessgc: rekeyed %s to key %d in %s: rewrote %s records%s, %s already up to date; scanned %s records",
		sum.Dir, sum.KeyID, d, pass.Count(sum.Rekeyed), plain, pass.Count(sum.UpToDate), pass.Count(sum.Scanned))
	return s + sum.Human(sum.Errors, opts.MaxDuration, "run again to continue (converted records are skipped)")
}
