//go:build unix

package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

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
			os.Getenv("NFS_CHILD_MODE"), proctest.EnvInt("NFS_CHILD_GOROUTINES", 1), proctest.EnvInt("NFS_CHILD_ITER", 1))
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
// +1, CompareAndSwap, retried on ErrConflict).
func nfsIncrementers(ctx context.Context, s *fsstore.Store, ids []string, mode string, goroutines, iter int) error {
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
						err = nfsIncrementCAS(ctx, s, id)
					} else {
						err = nfsIncrementLocked(ctx, s, id)
					}
					if err != nil {
						errs <- fmt.Errorf("%s increment of %s: %w", mode, id, err)
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

func nfsIncrementLocked(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := nfsLock(ctx, s, id)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
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

func nfsIncrementCAS(ctx context.Context, s *fsstore.Store, id string) error {
	for {
		sess, err := s.Load(ctx, id)
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
