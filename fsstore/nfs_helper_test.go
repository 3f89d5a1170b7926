//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// Child processes of the NFS suite. A role function on a harness host
// re-runs the test binary (os.Args[0], which the guest sees through
// hostfs) with -test.run selecting TestNFSHelperProcess and nfsHelperEnv
// naming the child's role; parameters come in NFS_CHILD_* variables and
// the child reports with nfsSay (internal/proctest). Children save and lock
// through nfsSave and nfsLock, so the deliberately broken variants
// (nfs_break_*_test.go) apply to them too.
const nfsHelperEnv = "SESSFS_NFS_HELPER"

// TestNFSHelperProcess is not a test: it is the body of the NFS suite's
// child processes.
func TestNFSHelperProcess(t *testing.T) { proctest.Main(t, nfsHelperEnv, runNFSHelper) }

var nfsSay = proctest.Say

func runNFSHelper(role string) error {
	ctx := context.Background()
	s, err := fsstore.Open(os.Getenv("NFS_CHILD_DIR"))
	if err != nil {
		return err
	}
	defer s.Close()
	switch role {
	case "incr":
		return nfsIncrementers(ctx, s, strings.Split(os.Getenv("NFS_CHILD_IDS"), ","),
			os.Getenv("NFS_CHILD_MODE"), proctest.EnvInt("NFS_CHILD_GOROUTINES", 1), proctest.EnvInt("NFS_CHILD_ITER", 1),
			os.Getenv("NFS_CHILD_HIST"))
	case "hold":
		// The store's own lock, whatever the breakage: this role tests that
		// the death of a holder frees the lock for other hosts.
		l, err := s.Lock(ctx, os.Getenv("NFS_CHILD_ID"), fsstore.Exclusive)
		if err != nil {
			return err
		}
		nfsSay("locked")
		io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin or kills us
		return l.Unlock()
	case "crash":
		return nfsCrashWriter(ctx, s, os.Getenv("NFS_CHILD_ID"))
	}
	return fmt.Errorf("unknown role %q", role)
}

// nfsIncrementers runs goroutines that each increment every session iter
// times, by mode "lock" (nfsLock, Load, +1, Save, Unlock) or "cas" (Load,
// +1, CompareAndSwap, retried on ErrConflict). Each acknowledged increment
// is written to the file hist (one line, see incrStep), so that a lost
// update can be traced to the two increments that claimed one version.
func nfsIncrementers(ctx context.Context, s *fsstore.Store, ids []string, mode string, goroutines, iter int, hist string) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		lines []string
	)
	host, _ := os.Hostname()
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			who := fmt.Sprintf("%s/%d/g%d", host, os.Getpid(), g)
			for i := 0; i < iter; i++ {
				for j := range ids {
					id := ids[(g+j)%len(ids)] // goroutines start on different sessions
					var (
						st  incrStep
						err error
					)
					if mode == "cas" {
						st, err = nfsIncrementCAS(ctx, s, id)
					} else {
						st, err = nfsIncrementLocked(ctx, s, id)
					}
					if err != nil {
						errs <- fmt.Errorf("%s increment of %s: %w", mode, id, err)
						return
					}
					st.id, st.who = id, who
					mu.Lock()
					lines = append(lines, st.String())
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	err := <-errs
	if hist != "" {
		// Only for a report: a failure to keep it fails nothing.
		if werr := os.WriteFile(hist, []byte(strings.Join(lines, "")), 0o644); werr != nil {
			fmt.Fprintf(os.Stderr, "increment history not kept: %v\n", werr)
		}
	}
	return err
}

// incrStep is one acknowledged increment: the version it read and the one
// it wrote, and when it began, when it held the lock (or, for a
// CompareAndSwap, when it called it) and when it was acknowledged.
type incrStep struct {
	id, who                string
	from, to               uint64
	counter                int
	start, critical, ended time.Time
}

func (st incrStep) String() string {
	return fmt.Sprintf("%s %d %d %d %s %s %s %s\n", st.id, st.from, st.to, st.counter, st.who,
		st.start.UTC().Format(time.RFC3339Nano), st.critical.UTC().Format(time.RFC3339Nano), st.ended.UTC().Format(time.RFC3339Nano))
}

func parseIncrStep(line string) (incrStep, bool) {
	f := strings.Fields(line)
	if len(f) != 8 {
		return incrStep{}, false
	}
	var st incrStep
	var err [6]error
	st.id, st.who = f[0], f[4]
	st.from, err[0] = strconv.ParseUint(f[1], 10, 64)
	st.to, err[1] = strconv.ParseUint(f[2], 10, 64)
	st.counter, err[2] = strconv.Atoi(f[3])
	st.start, err[3] = time.Parse(time.RFC3339Nano, f[5])
	st.critical, err[4] = time.Parse(time.RFC3339Nano, f[6])
	st.ended, err[5] = time.Parse(time.RFC3339Nano, f[7])
	return st, errors.Join(err[:]...) == nil
}

func nfsIncrementLocked(ctx context.Context, s *fsstore.Store, id string) (incrStep, error) {
	st := incrStep{start: time.Now()}
	l, err := nfsLock(ctx, s, id)
	if err != nil {
		return st, err
	}
	defer l.Unlock()
	st.critical = time.Now()
	sess, err := l.Load(ctx)
	if err != nil {
		return st, err
	}
	n, err := counterOf(sess)
	if err != nil {
		return st, err
	}
	st.from, st.counter = sess.Version, n+1
	sess.Data = []byte(strconv.Itoa(n + 1))
	if err := l.Save(ctx, sess); err != nil {
		return st, err
	}
	st.to = sess.Version
	err = l.Unlock()
	st.ended = time.Now()
	return st, err
}

func nfsIncrementCAS(ctx context.Context, s *fsstore.Store, id string) (incrStep, error) {
	st := incrStep{start: time.Now()}
	for {
		sess, err := s.Load(ctx, id)
		if err != nil {
			return st, err
		}
		n, err := counterOf(sess)
		if err != nil {
			return st, err
		}
		st.from, st.counter = sess.Version, n+1
		sess.Data = []byte(strconv.Itoa(n + 1))
		st.critical = time.Now()
		err = s.CompareAndSwap(ctx, sess)
		if errors.Is(err, fsstore.ErrConflict) {
			continue
		}
		st.to, st.ended = sess.Version, time.Now()
		return st, err
	}
}

// incrReport describes, for a session whose counter came out short, every
// version that more than one acknowledged increment wrote: who wrote it,
// from which version, and when. Two increments from one version whose
// critical sections (lock held, or CompareAndSwap called, to acknowledged)
// overlap point at the lock; one that began after the other was
// acknowledged read a stale record, unless a write of the version it read
// may have been published in between (the late half of an earlier
// duplicate).
func incrReport(histDir, id string) string {
	files, _ := filepath.Glob(filepath.Join(histDir, "*"))
	byTo := map[uint64][]incrStep{}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if st, ok := parseIncrStep(line); ok && st.id == id {
				byTo[st.to] = append(byTo[st.to], st)
				n++
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%d acknowledged increments of %s in %d history files", n, id, len(files))
	tos := make([]uint64, 0, len(byTo))
	for to := range byTo {
		tos = append(tos, to)
	}
	slices.Sort(tos)
	for _, to := range tos {
		sts := byTo[to]
		if len(sts) < 2 {
			continue
		}
		fmt.Fprintf(&out, "\n  version %d written %d times:", to, len(sts))
		for _, st := range sts {
			fmt.Fprintf(&out, "\n    %s from version %d, counter %d: began %s, critical %s, acknowledged %s",
				st.who, st.from, st.counter, st.start.Format("15:04:05.000000"), st.critical.Format("15:04:05.000000"), st.ended.Format("15:04:05.000000"))
		}
		// Each write against the one before it in time.
		slices.SortFunc(sts, func(x, y incrStep) int { return x.critical.Compare(y.critical) })
		for k := 1; k < len(sts); k++ {
			out.WriteString("\n    " + incrPair(sts[k-1], sts[k], byTo[sts[k].from]))
		}
	}
	return out.String()
}

// incrPair classifies two increments a and b (b's critical section began
// later) that wrote the same version. wrote are the writes of the version
// b read. All hosts of the harness are one guest kernel: one clock.
func incrPair(a, b incrStep, wrote []incrStep) string {
	if b.critical.Before(a.ended) {
		return fmt.Sprintf("%s and %s overlap: the second began its critical section %v before the first was acknowledged", a.who, b.who, a.ended.Sub(b.critical))
	}
	// b read version b.from after a had replaced it. With two or more
	// writes of that version, one published late (its critical section
	// ends after a's began and begins before b's read ended) explains the
	// read: the other half of an earlier duplicate. With one, a read it
	// too before replacing it, so b's read was stale.
	if len(wrote) >= 2 {
		for _, w := range wrote {
			if w.ended.After(a.critical) && w.critical.Before(b.ended) {
				return fmt.Sprintf("%s began its critical section %v after %s was acknowledged, and may have read version %d as %s wrote it late (acknowledged %s): a consequence of that earlier duplicate",
					b.who, b.critical.Sub(a.ended), a.who, b.from, w.who, w.ended.Format("15:04:05.000000"))
			}
		}
	}
	return fmt.Sprintf("%s began its critical section %v after %s was acknowledged: it read a stale record", b.who, b.critical.Sub(a.ended), a.who)
}

// nfsPayload is genPayload at ~96 KiB and ~2 KiB: smaller than the local
// crash test's, as every byte crosses the (emulated) network.
func nfsPayload(n int) []byte { return genPayload(n, 96<<10, 2000) }

func nfsParsePayload(b []byte) (int, bool) { return parseGenPayload(b, 96<<10, 2000) }

// nfsCrashWriter saves generation after generation of one session until it
// is killed, continuing from the generation on disk.
func nfsCrashWriter(ctx context.Context, s *fsstore.Store, id string) error {
	sess, err := s.Load(ctx, id)
	if err != nil {
		return err
	}
	n, ok := nfsParsePayload(sess.Data)
	if !ok {
		return fmt.Errorf("found a damaged value: %.40q", sess.Data)
	}
	for first := true; ; first = false {
		n++
		sess.Data = nfsPayload(n)
		if err := nfsSave(ctx, s, sess); err != nil {
			return err
		}
		if first {
			nfsSay("saved %d", n)
		}
	}
}

// startNFSChild starts a child in role with the store in dir and extra
// NFS_CHILD_* variables (see internal/proctest).
func startNFSChild(t *testing.T, role, dir string, env ...string) *proctest.Child {
	t.Helper()
	return proctest.Start(t, "TestNFSHelperProcess", nfsHelperEnv, role, append([]string{"NFS_CHILD_DIR=" + dir}, env...))
}
