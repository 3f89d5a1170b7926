//go:build linux

package httpsession_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/internal/fakeclock"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestTouchOnReadOnlyMountLogsOnce: on a mount that turned read-only (on
// one host, or the whole fleet's), the routes that only read the session
// (ReadOnly mode) go on serving, as they should; but each read of a
// session due for a touch logged "touch failed" at Error, for a request
// that succeeded: a line per request of every active user, saying what
// the store logs once and sessfs_read_only_fs shows. The refused touch is
// now logged at Warn once, until a touch succeeds again (the mount is
// writable), and then once more if the mount turns read-only again. The
// store, opened WithLogger as the examples open it, logged each refused
// touch at Error too ("session store operation failed"): it logs the
// finding once, at Warn.
func TestTouchOnReadOnlyMountLogsOnce(t *testing.T) {
	mnt := testenv.MountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
	st, err := fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(10*time.Minute), fsstore.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := httpsession.New(st, httpsession.WithClock(clk.Now), httpsession.WithLogger(logger))
	// Seeded without a lock: a remount read-only fails with EBUSY while a
	// lock file is open for writing.
	id := seedSessions(t, st, 1)[0]
	h := m.Middleware(httpsession.ReadOnly)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
	}))
	read := func(n int) {
		t.Helper()
		for range n {
			if resp := do(t, h, id); resp.StatusCode != http.StatusOK {
				t.Fatalf("a read on a read-only mount: status %d, want 200", resp.StatusCode)
			}
		}
	}
	lines := func(sub string) int { return strings.Count(logs.String(), sub) }

	for round := 1; round <= 2; round++ {
		testenv.RemountTmpfs(t, mnt, true)
		clk.Advance(8 * time.Minute) // past half the idle timeout: each read touches
		read(3)
		if n := lines("level=ERROR"); n != 0 {
			t.Errorf("round %d: %d ERROR lines for reads that were served:\n%s", round, n, logs.String())
		}
		// One of the store's (the finding), one of the Manager's (the
		// touch refused).
		if n := lines("level=WARN"); n != 2*round {
			t.Errorf("round %d: %d WARN lines in all, want %d (two per read-only spell):\n%s", round, n, 2*round, logs.String())
		}
		if !strings.Contains(logs.String(), "read-only") {
			t.Errorf("round %d: the log does not say the mount is read-only:\n%s", round, logs.String())
		}
		testenv.RemountTmpfs(t, mnt, false)
		before := statRecord(t, st, id).ModTime()
		read(1) // the touch succeeds again, and the record's expiry moves
		if after := statRecord(t, st, id).ModTime(); !after.After(before) {
			t.Fatalf("round %d: the read after the remount read-write did not touch the session (mtime %v, was %v)", round, after, before)
		}
	}
}
