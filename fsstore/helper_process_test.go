//go:build unix

package fsstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/lock"
)

// Cross-process tests re-run this test binary as a child selected by
// helperEnv (internal/proctest). Children read parameters from the
// environment and report to the parent with say.
const helperEnv = "SESSFS_FSSTORE_HELPER"

// TestHelperProcess is not a test: it is the body of the child processes.
func TestHelperProcess(t *testing.T) { proctest.Main(t, helperEnv, runHelper) }

var say = proctest.Say

func runHelper(role string) error {
	dir := os.Getenv("STORE_DIR")
	ctx := context.Background()
	switch role {
	case "incr":
		s, err := fsstore.Open(dir)
		if err != nil {
			return err
		}
		defer s.Close()
		return runIncrementers(ctx, s, strings.Split(os.Getenv("STORE_IDS"), ","),
			os.Getenv("STORE_MODE"), proctest.EnvInt("STORE_GOROUTINES", 1), proctest.EnvInt("STORE_ITER", 1))
	case "crash-writer":
		d, err := fsstore.ParseDurability(os.Getenv("STORE_DURABILITY"))
		if err != nil {
			return err
		}
		s, err := fsstore.Open(dir, fsstore.WithDurability(d))
		if err != nil {
			return err
		}
		return crashWriter(ctx, s, os.Getenv("STORE_ID"), os.Getenv("STORE_LOCKED") == "true")
	case "hold-lock":
		s, err := fsstore.Open(dir)
		if err != nil {
			return err
		}
		defer s.Close()
		l, err := s.Lock(ctx, os.Getenv("STORE_ID"), fsstore.Exclusive)
		if err != nil {
			return err
		}
		say("locked")
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		return l.Unlock()
	case "try-lock":
		// Reports whether STORE_ID's lock is free to this process,
		// without waiting.
		s, err := fsstore.Open(dir, fsstore.WithCreate(false))
		if err != nil {
			return err
		}
		defer s.Close()
		l, err := s.TryLock(os.Getenv("STORE_ID"), fsstore.Exclusive)
		if err != nil {
			say("held %v", err)
			return nil
		}
		say("free")
		return l.Unlock()
	case "die-in-save":
		// Save STORE_ID under its lock (STORE_OP "locked": Lock, Load,
		// Locked.Save; "cas": Load, CompareAndSwap), stopping at
		// STORE_STAGE of the save ("rename": the temp file written, before
		// the rename that publishes it; "after": right after the rename,
		// the lock still held) until the parent kills this process.
		var opts []fsstore.Option
		if os.Getenv("STORE_STRATEGY") == "lease" {
			opts = append(opts, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Second))
		}
		s, err := fsstore.Open(dir, opts...)
		if err != nil {
			return err
		}
		id, stage := os.Getenv("STORE_ID"), os.Getenv("STORE_STAGE")
		s.SetLockCheckHookForTest(func(at string) {
			if at == stage {
				say("at %s", at)
				io.Copy(io.Discard, os.Stdin) // until killed
			}
		})
		data := bytes.Repeat([]byte("new "), 16<<10)
		switch os.Getenv("STORE_OP") {
		case "locked":
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				return err
			}
			sess, err := l.Load(ctx)
			if err != nil {
				return err
			}
			sess.Data = data
			err = l.Save(ctx, sess)
			return fmt.Errorf("Locked.Save returned (%v) instead of stopping at %q", err, stage)
		case "cas":
			sess, err := s.Load(ctx, id)
			if err != nil {
				return err
			}
			sess.Data = data
			err = s.CompareAndSwap(ctx, sess)
			return fmt.Errorf("CompareAndSwap returned (%v) instead of stopping at %q", err, stage)
		}
		return fmt.Errorf("unknown STORE_OP %q", os.Getenv("STORE_OP"))
	case "sweep-loop":
		// Sweep without pause until the parent closes stdin; every
		// record older than the marker's idle is a candidate.
		s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithIdleTimeout(time.Second))
		if err != nil {
			return err
		}
		defer s.Close()
		stop := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
		say("sweeping")
		for n := 0; ; n++ {
			select {
			case <-stop:
				say("swept %d", n)
				return nil
			default:
			}
			if _, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond}); err != nil {
				return err
			}
		}
	case "hammer":
		return runHammerWorker(ctx, dir, strings.Split(os.Getenv("STORE_IDS"), ","), os.Getenv("HAMMER_LOG"))
	case "raise":
		// Open with STORE_IDLE and, if STORE_RECORD_IDLE is set, save a
		// session carrying that idle timeout, both as soon as the parent
		// says "go", so that the raises of several processes interleave.
		idle, err := time.ParseDuration(os.Getenv("STORE_IDLE"))
		if err != nil {
			return err
		}
		say("ready")
		bufio.NewScanner(os.Stdin).Scan()
		s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(idle))
		if err != nil {
			return err
		}
		defer s.Close()
		if v := os.Getenv("STORE_RECORD_IDLE"); v != "" {
			ri, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			id, err := fsstore.NewID()
			if err != nil {
				return err
			}
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x"), Idle: ri, Deadline: time.Now().Add(30 * 24 * time.Hour)}); err != nil {
				return err
			}
		}
		say("done")
		return nil
	case "sweep-step":
		// One sweep that stops after judging a record expired and again
		// after moving it aside, until the parent says "go"; with
		// STORE_MAINTENANCE set, of a maintenance store, as sessgc's.
		opts := []fsstore.Option{fsstore.WithCreate(false), fsstore.WithIdleTimeout(time.Second)}
		if os.Getenv("STORE_MAINTENANCE") != "" {
			opts = append(opts, fsstore.WithMaintenanceOnly())
		}
		s, err := fsstore.Open(dir, opts...)
		if err != nil {
			return err
		}
		defer s.Close()
		in := bufio.NewScanner(os.Stdin)
		pause := func(msg string) func(string) {
			return func(string) {
				say(msg)
				in.Scan()
			}
		}
		s.SetSweepHooksForTest(nil, pause("judged"), pause("moved"))
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
		if err != nil {
			return err
		}
		say("swept sessions=%d renewed=%d errors=%d", st.Sessions, st.SkippedRenewed, st.Errors)
		return nil
	case "sweep-pause":
		return sweepPause(ctx, dir)
	case "sweep-kill":
		// One sweep that stops after judging a record expired until the
		// parent says "go", then at STORE_STAGE until the parent kills
		// it: "moved", the record moved aside and not yet checked;
		// "linked", a record renewed since the scan linked back under its
		// name and still under its aside name too.
		s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithIdleTimeout(time.Second))
		if err != nil {
			return err
		}
		defer s.Close()
		in := bufio.NewScanner(os.Stdin)
		stop := func(msg string) {
			say(msg)
			in.Scan()
			os.Exit(3) // not killed: the parent gave up
		}
		var (
			link   func(oldpath, newpath string) error
			settle func(string)
		)
		switch stage := os.Getenv("STORE_STAGE"); stage {
		case "moved":
			settle = func(string) { stop("moved") }
		case "linked":
			link = func(oldpath, newpath string) error {
				if err := os.Link(oldpath, newpath); err != nil {
					return err
				}
				stop("linked")
				return nil
			}
		default:
			return fmt.Errorf("unknown STORE_STAGE %q", stage)
		}
		s.SetSweepHooksForTest(link, func(string) {
			say("judged")
			in.Scan()
		}, settle)
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Nanosecond})
		return fmt.Errorf("sweep returned (%+v, %v) instead of stopping", st, err)
	case "lease-stop-save":
		return leaseStopSave(ctx, dir, os.Getenv("STORE_ID"), os.Getenv("STORE_STAGE"), os.Getenv("STORE_OP"))
	case "lease-sweep":
		return leaseSweep(ctx, dir, os.Getenv("STORE_STAGE"))
	case "probe-unreadable-marker":
		// The open breaker's probe, once this process, the store's
		// owner, may no longer read the store's marker.
		s, err := fsstore.Open(dir, fsstore.WithCreate(false))
		if err != nil {
			return err
		}
		defer s.Close()
		p := filepath.Join(dir, fsstore.MarkerFile)
		if err := os.Chmod(p, 0); err != nil {
			return err
		}
		if _, err := os.ReadFile(p); err == nil {
			return fmt.Errorf("read %s with mode 0", p)
		}
		if err := s.ProbeBreakerForTest(); err != nil {
			say("probe %s", describe(err))
		} else {
			say("probe ok")
		}
		return nil
	case "perm-ops":
		// Every operation on STORE_ID, each reported as "<op> <outcome>",
		// for a process the record's permissions do not let read it.
		s, err := fsstore.Open(dir, fsstore.WithCreate(false))
		if err != nil {
			say("open %s", describe(err))
			return nil
		}
		defer s.Close()
		id := os.Getenv("STORE_ID")
		report := func(op string, err error) {
			if err != nil {
				say("%s %s", op, describe(err))
			} else {
				say("%s ok", op)
			}
		}
		_, err = s.LoadInto(ctx, id, nil)
		report("loadinto", err)
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		report("lock", err)
		if err == nil {
			_, err = l.Load(ctx)
			report("locked-load", err)
			report("locked-touch", l.Touch(ctx))
			l.Unlock()
		}
		report("cas", s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("cas"), Version: 1}))
		_, err = s.Range(ctx, func(*fsstore.Record) bool { return true })
		report("range", err)
		if id2 := os.Getenv("STORE_ID2"); id2 != "" {
			// A session whose lock file is another user's.
			l, err := s.Lock(ctx, id2, fsstore.Exclusive)
			if err == nil {
				l.Unlock()
			}
			report("lock2", err)
		}
		return nil
	case "rekey":
		// A rekey of the store, as sessgc runs it, with the key lines in
		// STORE_KEYS (separated by ";"), reported as rekeySummary does.
		keys, err := fsstore.ParseKeys(strings.NewReader(strings.ReplaceAll(os.Getenv("STORE_KEYS"), ";", "\n")))
		if err != nil {
			return err
		}
		s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithMaintenanceOnly(), fsstore.WithKeys(keys...))
		if err != nil {
			return err
		}
		defer s.Close()
		say("%s", rekeySummary(ctx, s))
		return nil
	case "rekey-step":
		// A rekey as the "rekey" role's that stops right before the
		// rename of its first rewrite, holding the record's lock (and
		// the sweep lock, for a record near its expiry), until the
		// parent says "go"; on the lease strategy (STORE_STRATEGY
		// "lease") with a 1 s lease.
		keys, err := fsstore.ParseKeys(strings.NewReader(strings.ReplaceAll(os.Getenv("STORE_KEYS"), ";", "\n")))
		if err != nil {
			return err
		}
		opts := []fsstore.Option{fsstore.WithCreate(false), fsstore.WithMaintenanceOnly(), fsstore.WithKeys(keys...)}
		if os.Getenv("STORE_STRATEGY") == "lease" {
			opts = append(opts, fsstore.WithLockStrategy(lock.Lease), fsstore.WithLeaseTTL(time.Second))
		}
		s, err := fsstore.Open(dir, opts...)
		if err != nil {
			return err
		}
		defer s.Close()
		in := bufio.NewScanner(os.Stdin)
		var once sync.Once
		s.SetRekeyCheckedHookForTest(func(string) {
			once.Do(func() {
				say("checked")
				in.Scan()
			})
		})
		say("%s", rekeySummary(ctx, s))
		return nil
	case "modes":
		// A host of a store shared by the users of one group, with its
		// own modes (STORE_FILE_MODE, STORE_DIR_MODE, in octal), umask
		// (STORE_UMASK) and idle timeout (STORE_IDLE): it opens the
		// store, loads the sessions of STORE_LOAD and saves those of
		// STORE_SAVE (IDs separated by commas), saying how each went.
		mode := func(name string) uint32 {
			n, err := strconv.ParseUint(os.Getenv(name), 8, 32)
			if err != nil {
				panic(fmt.Sprintf("%s: %v", name, err))
			}
			return uint32(n)
		}
		syscall.Umask(int(mode("STORE_UMASK")))
		// The store's log on stderr, which a test reads for warnings.
		opts := []fsstore.Option{fsstore.WithPermissions(fs.FileMode(mode("STORE_FILE_MODE")), fs.FileMode(mode("STORE_DIR_MODE"))),
			fsstore.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
		if v := os.Getenv("STORE_IDLE"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			opts = append(opts, fsstore.WithIdleTimeout(d))
		}
		s, err := fsstore.Open(dir, opts...)
		if errors.Is(err, fsstore.ErrLayoutMismatch) {
			say("open layout: %v", err)
			return nil
		}
		if err != nil {
			say("open %s", describe(err))
			return nil
		}
		defer s.Close()
		say("open ok")
		for _, id := range strings.Split(os.Getenv("STORE_LOAD"), ",") {
			if id == "" {
				continue
			}
			if sess, err := s.Load(ctx, id); err != nil {
				say("load %s", describe(err))
			} else {
				say("load ok %s", sess.Data)
			}
		}
		for _, id := range strings.Split(os.Getenv("STORE_SAVE"), ",") {
			if id == "" {
				continue
			}
			if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(id[:4])}); err != nil {
				say("save %s", describe(err))
			} else {
				say("save ok")
			}
		}
		return nil
	case "open":
		s, err := fsstore.Open(dir, fsstore.WithCreate(os.Getenv("STORE_CREATE") != ""))
		if err != nil {
			say("open %s", describe(err))
			return nil
		}
		defer s.Close()
		say("open ok")
		sess, err := s.Load(ctx, os.Getenv("STORE_ID"))
		if err != nil {
			say("load %s", describe(err))
			if err := s.Touch(ctx, os.Getenv("STORE_ID")); err != nil {
				say("touch %s", describe(err))
			} else {
				say("touch ok")
			}
			return nil
		}
		say("load ok %s", sess.Data)
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

// rekeySummary runs one Rekey pass of s and describes it on one line: its
// counts, how many errors OnError was given, and the first of them.
func rekeySummary(ctx context.Context, s *fsstore.Store) string {
	var (
		mu       sync.Mutex
		reported []error
	)
	st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	first := "none"
	if len(reported) > 0 {
		first = reported[0].Error()
	}
	return fmt.Sprintf("rekey scanned=%d rekeyed=%d errors=%d reported=%d err=%v first=%s", st.Scanned, st.Rekeyed, st.Errors, len(reported), err, first)
}

// describe classifies an error for the parent.
func describe(err error) string {
	switch {
	case errors.Is(err, fsstore.ErrRefused):
		return "refused: " + err.Error()
	case errors.Is(err, fs.ErrPermission):
		return "permission: " + err.Error()
	case errors.Is(err, syscall.EROFS):
		return "readonly: " + err.Error()
	}
	return "error: " + err.Error()
}

// runIncrementers runs goroutines that each increment every session iter
// times, by mode "lock" (Lock, Load, +1, Save, Unlock) or "cas" (Load, +1,
// CompareAndSwap, retry on ErrConflict).
func runIncrementers(ctx context.Context, s *fsstore.Store, ids []string, mode string, goroutines, iter int) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < iter; i++ {
				for j := range ids {
					id := ids[(g+j)%len(ids)] // goroutines start on different sessions
					var err error
					if mode == "cas" {
						err = incrementCAS(ctx, s, id)
					} else {
						err = incrementLocked(ctx, s, id)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func counterOf(sess *fsstore.Session) (int, error) {
	n, err := strconv.Atoi(string(sess.Data))
	if err != nil {
		return 0, fmt.Errorf("session %s holds %q: %w", sess.ID[:6], sess.Data, err)
	}
	return n, nil
}

func incrementLocked(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	if errors.Is(err, fsstore.ErrNotFound) {
		sess, err = &fsstore.Session{ID: id, Data: []byte("0")}, nil
	}
	if err != nil {
		return err
	}
	n, err := counterOf(sess)
	if err != nil {
		return err
	}
	sess.Data = []byte(strconv.Itoa(n + 1))
	if err := l.Save(ctx, sess); err != nil {
		return err
	}
	return l.Unlock()
}

func incrementCAS(ctx context.Context, s *fsstore.Store, id string) error {
	for {
		sess, err := s.Load(ctx, id)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = &fsstore.Session{ID: id, Data: []byte("0")}, nil
		}
		if err != nil {
			return err
		}
		n, err := counterOf(sess)
		if err != nil {
			return err
		}
		sess.Data = []byte(strconv.Itoa(n + 1))
		err = s.CompareAndSwap(ctx, sess)
		if errors.Is(err, fsstore.ErrConflict) {
			continue
		}
		return err
	}
}

// genPayload is the value saved for generation n: "gen n|" repeated,
// alternately big and small bytes long, so a torn or mixed record is
// recognizable even if it passed the checksum, and sizes change on every
// save.
func genPayload(n, big, small int) []byte {
	size := small
	if n%2 == 0 {
		size = big
	}
	unit := fmt.Sprintf("gen %d|", n)
	return bytes.Repeat([]byte(unit), size/len(unit)+1)[:size]
}

// parseGenPayload returns the generation of a payload and whether the
// payload is exactly genPayload of it.
func parseGenPayload(b []byte, big, small int) (int, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("gen "))
	if !ok {
		return 0, false
	}
	i := bytes.IndexByte(rest, '|')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return 0, false
	}
	return n, bytes.Equal(b, genPayload(n, big, small))
}

// crashPayload is the value the crash writer saves for generation n,
// alternately ~192 KiB and ~3 KiB.
func crashPayload(n int) []byte { return genPayload(n, 192<<10, 3000) }

func parseCrashPayload(b []byte) (int, bool) { return parseGenPayload(b, 192<<10, 3000) }

// crashWriter saves generation after generation of one session until it is
// killed, continuing from the generation on disk; locked, each under the
// session's lock (Locked.Save).
func crashWriter(ctx context.Context, s *fsstore.Store, id string, locked bool) error {
	n := 0
	sess, err := s.Load(ctx, id)
	switch {
	case err == nil:
		g, ok := parseCrashPayload(sess.Data)
		if !ok {
			return fmt.Errorf("found a damaged value: %.40q", sess.Data)
		}
		n = g
	case errors.Is(err, fsstore.ErrNotFound):
		sess = &fsstore.Session{ID: id}
	default:
		return err
	}
	for first := true; ; first = false {
		n++
		sess.Data = crashPayload(n)
		save := s.Save
		if locked {
			save = func(ctx context.Context, sess *fsstore.Session) error {
				l, err := s.Lock(ctx, id, fsstore.Exclusive)
				if err != nil {
					return err
				}
				defer l.Unlock()
				return l.Save(ctx, sess)
			}
		}
		if err := save(ctx, sess); err != nil {
			return err
		}
		if first {
			say("saved %d", n)
		}
	}
}

// child is a running helper process (see internal/proctest).
type child = proctest.Child

// startChild starts the helper with role and extra environment variables.
func startChild(t *testing.T, role string, env []string, opts ...proctest.Option) *child {
	t.Helper()
	return proctest.Start(t, "TestHelperProcess", helperEnv, role, env, opts...)
}

// plainChild runs a child on this test binary built without the race
// detector, where this one has it: the copy the NFS guest runs
// (nfstest.GuestBinary), which CI builds for the guest anyway. For
// children started by the hundred whose role is one goroutine's work,
// whose assertions are the parent's, on what the processes left on
// disk: the race detector finds nothing in them, and a race-enabled
// child's start alone took 3 times the CPU (0.09 s against 0.03 s) and
// its run until its first save more, which came to 25 s of CPU in
// TestCrashDuringSave's 200 writers and 17 s in
// TestMarkerRaiseMultiProcess's 144 raisers. Where no go command can
// build the copy, the child runs this binary, as before.
func plainChild(t *testing.T) proctest.Option {
	t.Helper()
	bin, err := nfstest.GuestBinary()
	if err != nil {
		t.Logf("children run the race-enabled test binary: %v", err)
		return func(*exec.Cmd) {}
	}
	return func(cmd *exec.Cmd) {
		cmd.Path = bin
		cmd.Args[0] = bin
	}
}
