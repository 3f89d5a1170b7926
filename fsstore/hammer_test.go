//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// The hammer: hammerProcs worker processes × hammerGoroutines goroutines
// run locked and CAS increments on a handful of counter sessions, renew
// and destroy sessions of their own, and revisit short-lived sessions
// around their expiry, while the parent sweeps every 100 ms with a grace
// of 1 ms and SIGKILLs or SIGSTOPs a random worker every few hundred
// milliseconds. Half the sessions have a 1 s idle timeout, half 2 s.
//
// Workers log every acknowledged update and every violation they see to a
// file of their own, one write(2) per line (a SIGKILL cannot tear a line
// in the middle; a partial last line is ignored). The parent then checks:
//
//   - no lost acknowledged update: no two acknowledged increments of a
//     counter wrote the same value (two read-modify-writes overlapped),
//     and the counter ends at least at its largest acknowledged value;
//   - no live session swept: a Load that starts before the expiry that the
//     last Save reported finds the session (workers check their own
//     sessions; a counter never disappears while acknowledged as live);
//   - no hang: every operation ends within its context's deadline plus a
//     slack; a lock wait that times out is counted, not a failure. A
//     watchdog per operation (the workers') and per sweep (the parent's)
//     reports one still running then, with every goroutine's stack, and a
//     worker that does not exit when told to is SIGQUIT and failed, so a
//     hang fails the hammer within its own deadlines rather than at go
//     test's timeout (TestHammerWatchdog shows it);
//   - an increment acknowledged twice with the same value is a lost update,
//     counting afresh after each legitimate counter reset (an expiry).
//
// SESSFS_HAMMER_SECONDS sets the duration (CI: 60, see .ci/run).
func TestHammer(t *testing.T) {
	seconds := proctest.EnvInt("SESSFS_HAMMER_SECONDS", 5)
	const (
		procs    = 3
		counters = 6
	)
	dir := t.TempDir()
	logs := t.TempDir()
	s := openDir(t, dir, fsstore.WithIdleTimeout(time.Second))
	var ids []string
	for i := 0; i < counters; i++ {
		ids = append(ids, newID(t))
	}
	env := func(slot, gen int) []string {
		return hammerEnv(dir, ids, filepath.Join(logs, fmt.Sprintf("w%d-%d.log", slot, gen)))
	}
	workers := make([]*child, procs)
	gens := make([]int, procs)
	for i := range workers {
		workers[i] = startChild(t, "hammer", env(i, 0))
		workers[i].Expect(t, "running")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		sweeps  int
		swept   fsstore.SweepStats
		sweepE  []error
		hangMu  sync.Mutex
		hangs   []string // sweeps the watchdog found stuck
		sweeper = make(chan struct{})
	)
	go func() {
		defer close(sweeper)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sctx, scancel := context.WithTimeout(ctx, hammerSweepTimeout)
			watch := watchOp("sweep", hammerSweepTimeout+hammerSlack, func(format string, args ...any) {
				hangMu.Lock()
				hangs = append(hangs, fmt.Sprintf(format, args...))
				hangMu.Unlock()
			})
			st, err := s.Sweep(sctx, fsstore.SweepOptions{Grace: time.Millisecond})
			watch.Stop()
			scancel()
			if err != nil && ctx.Err() == nil {
				sweepE = append(sweepE, err)
			}
			sweeps++
			swept.Sessions += st.Sessions
			swept.SkippedLocked += st.SkippedLocked
			swept.SkippedRenewed += st.SkippedRenewed
			swept.Errors += st.Errors
		}
	}()

	kills, stops := 0, 0
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	for time.Now().Before(end) {
		pause := time.NewTimer(time.Duration(200+rand.IntN(400)) * time.Millisecond)
		<-pause.C
		i := rand.IntN(procs)
		w := workers[i]
		if rand.IntN(2) == 0 {
			w.Cmd.Process.Signal(syscall.SIGKILL)
			w.Wait()
			gens[i]++
			workers[i] = startChild(t, "hammer", env(i, gens[i]))
			workers[i].Expect(t, "running")
			kills++
		} else {
			w.Cmd.Process.Signal(syscall.SIGSTOP)
			hold := time.NewTimer(time.Duration(50+rand.IntN(350)) * time.Millisecond)
			<-hold.C
			w.Cmd.Process.Signal(syscall.SIGCONT)
			stops++
		}
	}
	// Told to stop, a worker finishes the operation each goroutine is
	// in, each bounded by hammerOpTimeout: one still running long after
	// is stuck, and Stop fails it with its stacks.
	stopErrs := make([]error, len(workers))
	var stopping sync.WaitGroup
	for i, w := range workers {
		stopping.Add(1)
		go func() {
			defer stopping.Done()
			stopErrs[i] = w.Stop(2 * (hammerOpTimeout + hammerSlack))
		}()
	}
	stopping.Wait()
	for _, err := range stopErrs {
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	cancel()
	select {
	case <-sweeper:
	case <-time.After(hammerSweepTimeout + 2*hammerSlack):
		hangMu.Lock()
		defer hangMu.Unlock()
		for _, h := range hangs {
			t.Error(h)
		}
		t.Errorf("bad hang: the parent's sweep did not end after its context was cancelled\n%s", allStacks())
		checkHammerLogs(t, s, ids, logs)
		return
	}
	hangMu.Lock()
	for _, h := range hangs {
		t.Error(h)
	}
	hangMu.Unlock()
	t.Logf("%d sweeps (%d sessions removed, %d skipped locked, %d skipped renewed, %d errors), %d kills, %d stops",
		sweeps, swept.Sessions, swept.SkippedLocked, swept.SkippedRenewed, swept.Errors, kills, stops)
	for _, err := range sweepE {
		t.Errorf("sweep: %v", err)
	}
	checkHammerLogs(t, s, ids, logs)
}

// TestHammerWatchdog shows that the hammer catches an operation that never
// returns: a worker told to hang one operation logs "bad hang" with the
// stuck goroutine's stack while it is stuck, and does not exit when told
// to, which Stop reports with the worker's stacks.
func TestHammerWatchdog(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	logPath := filepath.Join(t.TempDir(), "w.log")
	w := startChild(t, "hammer", append(hammerEnv(dir, []string{newID(t)}, logPath), "HAMMER_HANG=1"))
	w.Expect(t, "running")
	var log string
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(proctest.Deadline); !strings.Contains(log, "bad hang: injected hang"); <-poll.C {
		if time.Now().After(deadline) {
			t.Fatalf("no hang logged within %v; log:\n%s", proctest.Deadline, log)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		log = string(b)
	}
	if !strings.Contains(log, "stack ") || !strings.Contains(log, "injectedHang") {
		t.Errorf("the hang's log has no stack of the stuck goroutine:\n%s", log)
	}
	err := w.Stop(time.Second)
	if !errors.Is(err, proctest.ErrHung) || !strings.Contains(err.Error(), "injectedHang") {
		t.Errorf("Stop of the hung worker: %v, want ErrHung with its stacks", err)
	}
}

// hammerEnv is the environment of a hammer worker. GOTRACEBACK=all makes
// the SIGQUIT that Stop sends a hung worker print every goroutine.
func hammerEnv(dir string, ids []string, logPath string) []string {
	return []string{"STORE_DIR=" + dir, "STORE_IDS=" + strings.Join(ids, ","), "HAMMER_LOG=" + logPath, "GOTRACEBACK=all"}
}

// hammerAck is one acknowledged counter update: the value written, when
// the Save returned and the expiry it reported (both by the worker's
// clock, which is the test machine's).
type hammerAck struct {
	value         int
	done, expires time.Time
}

func checkHammerLogs(t testing.TB, s *fsstore.Store, ids []string, logs string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(logs, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	acks := map[int][]hammerAck{}
	resets := map[int][]hammerReset{}
	nresets := 0
	ops, timeouts := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		var stacks []string
		defer func() {
			if len(stacks) > 0 {
				t.Logf("%s: goroutines at the hang:\n%s", filepath.Base(f), strings.Join(stacks, "\n"))
			}
		}()
		for _, line := range lines[:len(lines)-1] { // the last is empty or torn
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			switch fields[0] {
			case "ack":
				var slot, v int
				var done, exp int64
				if _, err := fmt.Sscan(strings.Join(fields[1:], " "), &slot, &v, &done, &exp); err != nil {
					t.Fatalf("%s: bad line %q", f, line)
				}
				acks[slot] = append(acks[slot], hammerAck{v, time.Unix(0, done), time.Unix(0, exp)})
			case "reset":
				var slot int
				var at, end int64
				var how string
				// The Load's end and kind may be missing (the log check's
				// own test leaves them out).
				if n, err := fmt.Sscan(strings.Join(fields[1:], " "), &slot, &at, &end, &how); n < 2 {
					t.Fatalf("%s: bad line %q: %v", f, line, err)
				}
				resets[slot] = append(resets[slot], hammerReset{at: time.Unix(0, at), end: time.Unix(0, end), how: how})
				nresets++
			case "ops":
				n, _ := strconv.Atoi(fields[1])
				m, _ := strconv.Atoi(fields[2])
				ops += n
				timeouts += m
			case "bad":
				t.Errorf("%s: %s", filepath.Base(f), line)
			case "stack":
				stacks = append(stacks, line)
			}
		}
	}
	// A counter found missing is a live session swept unless its last
	// acknowledged save had expired by then. One that had is created
	// afresh from 1: its values count again from there.
	var epochs = map[int][]time.Time{}
	for slot, rs := range resets {
	reset:
		for _, r := range rs {
			seen := r.at
			for _, a := range acks[slot] {
				if a.done.Before(seen) && a.expires.Add(-hammerClockSlop).After(seen) {
					t.Errorf("counter %d vanished at %v%s, live until %v (value %d saved at %v): a live session swept",
						slot, seen.Format(time.StampMicro), r.load(), a.expires.Format(time.StampMicro), a.value, a.done.Format(time.StampMicro))
					continue reset
				}
			}
			epochs[slot] = append(epochs[slot], seen)
		}
	}
	total := 0
	for slot, as := range acks {
		total += len(as)
		// Two acknowledged increments that wrote the same value overlapped,
		// unless a legitimate reset lies between them: walk the acks in
		// the order they were made, starting over at each reset (acks of
		// the old counter were all made before the reset saw it gone; of
		// the new one, after).
		slices.SortFunc(as, func(a, b hammerAck) int { return a.done.Compare(b.done) })
		rs := epochs[slot]
		slices.SortFunc(rs, time.Time.Compare)
		seen := map[int]bool{}
		maxV := 0 // of the counter as it is now: since the last reset
		for _, a := range as {
			for len(rs) > 0 && !rs[0].After(a.done) {
				clear(seen)
				maxV = 0
				rs = rs[1:]
			}
			if seen[a.value] {
				t.Errorf("counter %d: value %d acknowledged twice: a lost update", slot, a.value)
			}
			seen[a.value] = true
			maxV = max(maxV, a.value)
		}
		if len(rs) > 0 {
			maxV = 0 // reset after its last ack; the next save was not acknowledged
		}
		last := as[len(as)-1]
		checkAt := time.Now()
		sess, err := s.Load(context.Background(), ids[slot])
		if errors.Is(err, fsstore.ErrNotFound) && !checkAt.Before(last.expires.Add(-hammerClockSlop)) {
			continue // expired since the workers stopped
		}
		if err != nil {
			t.Errorf("counter %d at the end: %v (last save expires %v)", slot, err, last.expires.Format(time.StampMicro))
			continue
		}
		n, err := counterOf(sess)
		if err != nil || n < maxV {
			t.Errorf("counter %d ends at %d (%v), below its largest acknowledged value %d", slot, n, err, maxV)
		}
	}
	t.Logf("%d operations by workers that were not killed, %d acknowledged counter updates, %d lock waits timed out, %d Loads that found a counter missing (its first use, after an expiry, or an unlocked Load beside another worker's creation)", ops, total, timeouts, nresets)
	if total == 0 {
		t.Error("no counter update was acknowledged")
	}
}

// hammerReset is a counter found missing: the Load that found it so
// started at at and returned at end (zero: not logged); how is "locked"
// (under the counter's lock) or "unlocked" (before a CompareAndSwap).
type hammerReset struct {
	at, end time.Time
	how     string
}

// load describes the Load, for a failure: whether it held the lock, and
// its end.
func (r hammerReset) load() string {
	how := map[string]string{"locked": "under the counter's lock", "unlocked": "without its lock, before a CompareAndSwap"}[r.how]
	if how == "" {
		return ""
	}
	return fmt.Sprintf(" (the start of a Load %s, which returned at %v)", how, r.end.Format(time.StampMicro))
}

// runHammerWorker is the body of a hammer worker process.
func runHammerWorker(ctx context.Context, dir string, ids []string, logPath string) error {
	s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithIdleTimeout(time.Second))
	if err != nil {
		return err
	}
	defer s.Close()
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		logMu.Lock()
		lf.WriteString(line) // one write(2): whole or not at all under SIGKILL
		logMu.Unlock()
	}
	stop := make(chan struct{})
	go func() {
		bufio.NewScanner(os.Stdin).Scan() // EOF: the parent wants us done
		close(stop)
	}()
	say("running")
	// HAMMER_HANG makes one goroutine's first operation never return,
	// for the test of the watchdog.
	hang := os.Getenv("HAMMER_HANG") != ""
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &hammerWorker{s: s, ids: ids, logf: logf, hang: hang && g == 0}
			for {
				select {
				case <-stop:
					w.finish()
					return
				default:
				}
				w.step(ctx)
			}
		}()
	}
	wg.Wait()
	return nil
}

// hammerOpTimeout bounds each operation; hammerSlack is what an operation
// may overrun it by before it counts as a hang (a lock wait polls, and a
// SIGSTOP of this very process stretches any operation).
// hammerSweepTimeout bounds each of the parent's sweeps.
const (
	hammerOpTimeout    = 3 * time.Second
	hammerSweepTimeout = 10 * time.Second
	hammerSlack        = 2 * time.Second
)

// watchOp arms a watchdog for an operation that must end within d: if it
// has not, the watchdog logs a hang with every goroutine's stack while the
// operation is still stuck, so that one that never returns is reported
// too, not only one that returns late. Stop the timer when the operation
// ends.
func watchOp(op string, d time.Duration, logf func(string, ...any)) *time.Timer {
	return time.AfterFunc(d, func() {
		// One call: the worker's log gets it in one write.
		stacks := strings.TrimRight(allStacks(), "\n")
		logf("bad hang: %s still running after %v\nstack %s", op, d, strings.ReplaceAll(stacks, "\n", "\nstack "))
	})
}

// allStacks returns the stacks of every goroutine of this process.
func allStacks() string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// hammerClockSlop is how much earlier than the Expires its Save reported
// a session may really expire: Save computes Expires from the clock read
// before it writes, but the kernel stamps the file's mtime from its
// coarse clock, which lags the fine one by up to a tick (4 ms at
// HZ=250). Not a timing threshold on the code under test: a bound on the
// kernel's timestamp granularity.
const hammerClockSlop = 20 * time.Millisecond

type hammerWorker struct {
	s    *fsstore.Store
	ids  []string
	logf func(string, ...any)
	// hang makes the next operation never return.
	hang bool

	ops, timeouts int
	// chain is this goroutine's own session, renewed and destroyed.
	chain     string
	chainN    int
	chainIdle time.Duration
	// chainExpires is the expiry the chain's last save reported.
	chainExpires time.Time
	// probes are short-lived sessions revisited around their expiry.
	probes []hammerProbe
}

type hammerProbe struct {
	id      string
	expires time.Time // as Save reported: no later than the real expiry
	visitAt time.Time
}

func slotIdle(slot int) time.Duration { return time.Duration(1+slot%2) * time.Second }

func (w *hammerWorker) finish() { w.logf("ops %d %d", w.ops, w.timeouts) }

// step runs one random operation under its own deadline, watched for a
// hang.
func (w *hammerWorker) step(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, hammerOpTimeout)
	defer cancel()
	var op string
	var run func(context.Context) error
	switch r := rand.IntN(100); {
	case w.hang:
		op, run = "injected hang", w.injectedHang
	case r < 40:
		op, run = "locked increment", func(ctx context.Context) error { return w.increment(ctx, true) }
	case r < 70:
		op, run = "CAS increment", func(ctx context.Context) error { return w.increment(ctx, false) }
	case r < 85:
		op, run = "chain", w.chainStep
	default:
		op, run = "probe", w.probe
	}
	watch := watchOp(op, hammerOpTimeout+hammerSlack, w.logf)
	err := run(ctx)
	watch.Stop()
	w.ops++
	switch {
	case err == nil:
	case errors.Is(err, fsstore.ErrLocked) && errors.Is(err, context.DeadlineExceeded):
		w.timeouts++
	default:
		w.logf("bad %s: %v", op, err)
	}
}

// injectedHang is an operation stuck for good, ignoring its context.
func (w *hammerWorker) injectedHang(context.Context) error {
	select {}
}

// increment adds one to a random counter, locked or by CompareAndSwap,
// and acknowledges the value written.
func (w *hammerWorker) increment(ctx context.Context, locked bool) error {
	slot := rand.IntN(len(w.ids))
	id := w.ids[slot]
	// The time a reset is logged at is the Load's start, not its end:
	// a save acknowledged while a Load that found nothing was on its way
	// back (an unlocked one, before a CompareAndSwap that then conflicts)
	// is no live session swept, and timed at the end it looked like one.
	// Its end and whether it held the lock are logged too, for the
	// report of a failure: a locked Load that found a counter missing
	// after its save was acknowledged is no race of the test's making.
	var loadStart time.Time
	how := "unlocked"
	if locked {
		how = "locked"
	}
	fresh := func() *fsstore.Session {
		w.logf("reset %d %d %d %s", slot, loadStart.UnixNano(), time.Now().UnixNano(), how)
		return &fsstore.Session{ID: id, Data: []byte("0"), Idle: slotIdle(slot)}
	}
	if locked {
		l, err := w.s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			return err
		}
		defer l.Unlock()
		loadStart = time.Now()
		sess, err := l.Load(ctx)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = fresh(), nil
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
		w.logf("ack %d %d %d %d", slot, n+1, time.Now().UnixNano(), sess.Expires.UnixNano())
		return nil
	}
	for {
		loadStart = time.Now()
		sess, err := w.s.Load(ctx, id)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = fresh(), nil
		}
		if err != nil {
			return err
		}
		n, err := counterOf(sess)
		if err != nil {
			return err
		}
		sess.Data = []byte(strconv.Itoa(n + 1))
		err = w.s.CompareAndSwap(ctx, sess)
		if errors.Is(err, fsstore.ErrConflict) {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%w: %w", fsstore.ErrLocked, err)
			}
			continue
		}
		if err != nil {
			return err
		}
		w.logf("ack %d %d %d %d", slot, n+1, time.Now().UnixNano(), sess.Expires.UnixNano())
		return nil
	}
}

// chainStep advances this goroutine's own session: create it, increment
// it under its lock, renew it (CompareAndSwap to a fresh ID on the old
// one's lock stripe while holding that lock, then delete the old one) or
// destroy it. Only this
// goroutine writes it and it is never idle for long, so every step must
// find exactly what the previous one left.
func (w *hammerWorker) chainStep(ctx context.Context) error {
	if w.chain == "" {
		id, err := fsstore.NewID()
		if err != nil {
			return err
		}
		w.chainIdle = time.Duration(1+rand.IntN(2)) * time.Second
		sess := &fsstore.Session{ID: id, Data: []byte("0"), Idle: w.chainIdle}
		if err := w.s.CompareAndSwap(ctx, sess); err != nil {
			return err
		}
		w.chain, w.chainN, w.chainExpires = id, 0, sess.Expires
		return nil
	}
	l, err := w.s.Lock(ctx, w.chain, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	end := time.Now()
	if err != nil {
		id := w.chain
		w.chain = ""
		if errors.Is(err, fsstore.ErrNotFound) && !end.Before(w.chainExpires.Add(-hammerClockSlop)) {
			return nil // idle past its timeout (this process was stopped, or waited): gone by rule
		}
		return fmt.Errorf("own session %s (idle %v, expires %v) at %v: %w", id[:6], w.chainIdle,
			w.chainExpires.Format(time.StampMicro), end.Format(time.StampMicro), err)
	}
	if n, err := counterOf(sess); err != nil || n != w.chainN {
		w.chain = ""
		return fmt.Errorf("own session holds %q, want %d", sess.Data, w.chainN)
	}
	switch r := rand.IntN(10); {
	case r < 6:
		sess.Data = []byte(strconv.Itoa(w.chainN + 1))
		if err := l.Save(ctx, sess); err != nil {
			w.chain = ""
			return err
		}
		w.chainN++
		w.chainExpires = sess.Expires
	case r < 9:
		// Renew, as httpsession does in Exclusive mode: the fresh ID
		// shares the held lock's stripe, so that the CompareAndSwap
		// shares the OS lock held here and never waits for another
		// process's stripe with this one held. Two workers doing that
		// the other way round waited for each other until their
		// contexts ended.
		id, err := l.NewIDSharingStripe()
		if err != nil {
			return err
		}
		next := &fsstore.Session{ID: id, Data: sess.Data, Idle: sess.Idle}
		if err := w.s.CompareAndSwap(ctx, next); err != nil {
			w.chain = ""
			return fmt.Errorf("renew: %w", err)
		}
		if err := l.Delete(ctx); err != nil {
			w.chain = ""
			return fmt.Errorf("renew: delete the old ID: %w", err)
		}
		if _, err := w.s.Load(ctx, w.chain); !errors.Is(err, fsstore.ErrNotFound) {
			w.chain = ""
			return fmt.Errorf("renew: the old ID still loads: %v", err)
		}
		w.chain, w.chainExpires = id, next.Expires
	default:
		if err := l.Delete(ctx); err != nil {
			return fmt.Errorf("destroy: %w", err)
		}
		w.chain = ""
	}
	return nil
}

// probe creates a short-lived session, or revisits one that is due: a
// Load that starts before the expiry its Save reported must find it (the
// sweep must not have taken it); one that starts after may or may not.
// A found session is saved again half the time, reviving it just around
// its expiry, which is when the sweep is likeliest to be judging it.
func (w *hammerWorker) probe(ctx context.Context) error {
	now := time.Now()
	for i, p := range w.probes {
		if now.Before(p.visitAt) {
			continue
		}
		w.probes = append(w.probes[:i], w.probes[i+1:]...)
		sess, err := w.s.Load(ctx, p.id)
		end := time.Now()
		switch {
		case errors.Is(err, fsstore.ErrNotFound) && end.Before(p.expires.Add(-hammerClockSlop)):
			w.logf("bad live session swept: Load done at %v, expires %v", end.Format(time.StampMicro), p.expires.Format(time.StampMicro))
			return nil
		case errors.Is(err, fsstore.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		if rand.IntN(2) == 0 {
			if err := w.s.Save(ctx, sess); err != nil {
				return err
			}
			w.schedule(p.id, sess.Expires, sess.Idle)
		}
		return nil
	}
	if len(w.probes) >= 20 {
		return nil
	}
	id, err := fsstore.NewID()
	if err != nil {
		return err
	}
	sess := &fsstore.Session{ID: id, Data: []byte("probe"), Idle: time.Duration(1+rand.IntN(2)) * time.Second}
	if err := w.s.Save(ctx, sess); err != nil {
		return err
	}
	w.schedule(id, sess.Expires, sess.Idle)
	return nil
}

// schedule revisits a probe at a random time from half its idle timeout
// to a bit past its expiry.
func (w *hammerWorker) schedule(id string, expires time.Time, idle time.Duration) {
	at := expires.Add(-idle / 2).Add(time.Duration(rand.Int64N(int64(idle/2 + 300*time.Millisecond))))
	w.probes = append(w.probes, hammerProbe{id: id, expires: expires, visitAt: at})
}

// errorsTB records the failures reported to it instead of failing.
type errorsTB struct {
	testing.TB
	errs []string
}

func (e *errorsTB) Errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// TestHammerLogCheck shows what the hammer's log check calls a lost update
// or a live session swept, on made-up logs: a counter that expired and
// started over at 1 is neither.
func TestHammerLogCheck(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	ack := func(v int, done, exp time.Duration) string {
		return fmt.Sprintf("ack 0 %d %d %d", v, at(done), at(exp))
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string // in one of the failures reported; "" for none
	}{
		{"restart after an expiry", []string{
			"reset 0 " + strconv.FormatInt(at(0), 10), ack(1, 1, time.Second), ack(2, 2, 2*time.Second),
			"reset 0 " + strconv.FormatInt(at(3*time.Second), 10), ack(1, 4*time.Second, 5*time.Second),
		}, ""},
		{"same value twice", []string{
			"reset 0 " + strconv.FormatInt(at(0), 10), ack(1, 1, time.Second), ack(1, 2, 2*time.Second),
		}, "acknowledged twice"},
		{"reset while live", []string{
			"reset 0 " + strconv.FormatInt(at(0), 10), ack(1, 1, 3*time.Second),
			"reset 0 " + strconv.FormatInt(at(2*time.Second), 10), ack(1, 3*time.Second, 4*time.Second),
		}, "a live session swept"},
		{"reset while live, by a Load under the lock", []string{
			"reset 0 " + strconv.FormatInt(at(0), 10), ack(1, 1, 3*time.Second),
			fmt.Sprintf("reset 0 %d %d locked", at(2*time.Second), at(2*time.Second+time.Millisecond)), ack(1, 3*time.Second, 4*time.Second),
		}, "a Load under the counter's lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := t.TempDir()
			if err := os.WriteFile(filepath.Join(logs, "w0-0.log"), []byte(strings.Join(tc.lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			rec := &errorsTB{TB: t}
			checkHammerLogs(rec, openTemp(t), []string{newID(t)}, logs)
			switch {
			case tc.want == "" && len(rec.errs) > 0:
				t.Errorf("check failed a valid log: %q", rec.errs)
			case tc.want != "" && !slices.ContainsFunc(rec.errs, func(e string) bool { return strings.Contains(e, tc.want) }):
				t.Errorf("check reported %q, want a failure with %q", rec.errs, tc.want)
			}
		})
	}
}
