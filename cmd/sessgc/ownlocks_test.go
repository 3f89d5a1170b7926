//go:build unix

package main_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// liveLease is the owner record of a lease held by pid on host until
// expires, as the lock package writes it.
func liveLease(pid int, host string, expires time.Time) string {
	rec := fmt.Sprintf("sessfs-lease 1 token=0123456789abcdef0123456789abcdef expires=%019d pid=%010d host=%s", expires.UnixNano(), pid, host)
	return rec + strings.Repeat(" ", 159-len(rec)) + "\n"
}

// noneForeign matches a JSON summary's count of no foreign file, run's
// (one line) or stats' (indented).
var noneForeign = regexp.MustCompile(`"foreign": ?0[,\n}]`)

// TestOwnLockFilesNotForeign: every file the store and sessgc keep in the
// store's lock directory, on either strategy, held by another host at
// the time, is the store's to sessgc run (a dry run or not) and to
// sessgc stats: none counted foreign, none listed as such, and the store
// is not refused. On the lease strategy they are the lease files of the
// store's rekey lock (rekey.lease), its sweep and marker locks, a stripe
// lock and both fleet locks; on flock, the lock files of the same names.
// (fsstore's TestOwnFilesNotForeign makes them by running the store.)
func TestOwnLockFilesNotForeign(t *testing.T) {
	names := []string{"rekey", "sweep", "marker", "0000", "sessgc-rekey"}
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			k1 := newKey(t, 1)
			st := newStore(t, fsstore.WithKeys(k1), fsstore.WithLockStrategy(strategy))
			st.save(2)
			locks := filepath.Join(st.dir, fsstore.LockDir)
			for _, n := range names {
				content, file := "", n
				if strategy == lock.Lease {
					content, file = liveLease(4242, "gc-host-7", time.Now().Add(time.Hour)), n+".lease"
				}
				writeFile(t, filepath.Join(locks, file), content, time.Now())
			}
			for _, args := range [][]string{{"run", "--dry-run", "--json", "-v"}, {"run", "--json", "-v"}, {"stats", "--json"}} {
				r := runGC(t, append(args, "--dir", st.dir))
				if r.code != 0 || strings.Contains(r.stdout, "foreign file") || !noneForeign.MatchString(r.stdout) {
					t.Errorf("%v with the store's lock files held elsewhere: exit %d\nstdout: %s\nstderr: %s\nwant exit 0, nothing foreign", args, r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}
