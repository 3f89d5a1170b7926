package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/storetest"
	"github.com/sessfs/sessfs/lock"
)

// oneShardStore makes a store whose live and expired sessions all share
// one shard directory, so that a sweep lists them all before its first
// removal, whatever shard it starts at.
func oneShardStore(t *testing.T, live, expired int) string {
	t.Helper()
	return oneShardStoreIn(t, t.TempDir(), live, expired)
}

// oneShardStoreIn is oneShardStore in dir.
func oneShardStoreIn(t *testing.T, dir string, live, expired int) string {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-48 * time.Hour)
	for i := 0; i < live+expired; {
		id, err := fsstore.NewID()
		if err != nil {
			t.Fatal(err)
		}
		// The record's name (part of the on-disk format), whose first
		// two hex digits name its shard.
		sum := sha256.Sum256([]byte("sessfs-name\x00" + id))
		if name := hex.EncodeToString(sum[:16]); name[:2] != "00" {
			continue
		}
		if err := s.Save(context.Background(), &fsstore.Session{ID: id}); err != nil {
			t.Fatal(err)
		}
		if i++; i <= expired {
			p := filepath.Join(dir, fsstore.DataDir, "00", hex.EncodeToString(sum[:16]))
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestRunRunAbandonedSummary: a pass abandoned in a call that does not
// return (a hung file server: here its first removal never returns) says
// what it did before, in its human summary as in its JSON one, as a pass
// that ends does: it printed only the error line, and JSON counted its
// removals but neither what it scanned nor what it kept. Abandoned when
// its budget is spent, or when interrupted and not stopping.
func TestRunRunAbandonedSummary(t *testing.T) {
	storetest.Skip(t)
	for _, tc := range []struct {
		name      string
		json      bool
		interrupt bool
		want      []string // in the human summary
		reason    string
		code      int
	}{
		{"budget", false, false, []string{"removed 1 files (1 sessions, 0 temp, 0 lease)", "kept 2 live sessions", "scanned 3 files",
			"\nsessgc: stopped early: the file server did not answer within --max-duration"}, "unresponsive", cmdutil.ExitUnresponsive},
		{"budget json", true, false, nil, "unresponsive", cmdutil.ExitUnresponsive},
		{"interrupted", false, true, []string{"removed 1 files (1 sessions, 0 temp, 0 lease)", "kept 2 live sessions", "scanned 3 files",
			"\nsessgc: stopped early: interrupted"}, "interrupted", cmdutil.ExitInterrupted},
		{"interrupted json", true, true, nil, "interrupted", cmdutil.ExitInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A budget the sweep may spend before its first removal on a
			// loaded machine: then it ends by itself and is run again
			// with a larger one.
			for budget := 500 * time.Millisecond; ; budget *= 2 {
				dir := oneShardStore(t, 2, 1)
				io, out, _ := testIO(nil)
				ctx, cancel := context.WithCancelCause(context.Background())
				hung, release := make(chan struct{}, 1), make(chan struct{})
				opts := RunOptions{IO: io, Dir: dir, Concurrency: 1, Grace: time.Minute, TempAge: 10 * time.Minute, JSON: tc.json,
					removeWait: waitFunc(func(context.Context) error {
						hung <- struct{}{}
						<-release
						return nil
					})}
				if tc.interrupt {
					go func() {
						<-hung
						cancel(&cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: cmdutil.ErrInterrupted})
					}()
				} else {
					opts.MaxDuration = budget
				}
				err := runRun(ctx, &opts)
				reached := len(hung) > 0 || tc.interrupt
				close(release)
				waitPassDone(t, dir)
				cancel(nil)
				if !reached && budget < time.Minute {
					t.Logf("budget %v spent before the first removal: %v", budget, err)
					continue
				}
				if cmdutil.ExitCode(err) != tc.code {
					t.Fatalf("exit %d (%v), want %d", cmdutil.ExitCode(err), err, tc.code)
				}
				if tc.json {
					var s Summary
					if err := json.Unmarshal(out.Bytes(), &s); err != nil {
						t.Fatalf("not one JSON object: %v\n%s", err, out)
					}
					if s.StopReason != tc.reason || s.ExitCode != tc.code || s.Removed != 1 || s.Sessions != 1 || s.Scanned != 3 || s.Live != 2 || s.LiveBytes == 0 {
						t.Errorf("summary %s; want stop_reason %s, exit_code %d, removed 1, sessions 1, scanned 3, live 2 and their bytes", out, tc.reason, tc.code)
					}
					return
				}
				t.Logf("stdout: %s", out)
				if !strings.HasPrefix(out.String(), "sessgc: swept "+dir) {
					t.Errorf("stdout %q, want the summary of what the pass did", out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out.String(), w) {
						t.Errorf("stdout %q lacks %q", out, w)
					}
				}
				return
			}
		})
	}
}

// waitPassDone waits until an abandoned pass let go of its fleet lock,
// its last use of the store, so that the test's directory can go.
func waitPassDone(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, fsstore.LockDir, FleetLockName)
	for deadline := time.Now().Add(time.Minute); ; {
		l, err := lock.TryLockFile(path)
		if err == nil {
			l.Unlock()
			return
		}
		if !errors.Is(err, lock.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("the abandoned pass still holds the fleet lock: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // the pass's goroutine: nothing to wait on
	}
}
