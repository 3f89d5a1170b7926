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

// TestRekeyLeaseHolderSaid: on the lease strategy, a sessgc rekey skipped
// for the store's rekey lock (rekey-running) says whose lease holds it,
// by its record (pid, host, when it runs out), and that a holder that
// died looks the same until then, in text and in --json
// (rekey_lock_holder), as a pass skipped for the fleet lock does
// (TestFleetLeaseHolderSaid): it said only that another rekey was
// running, and an operator looked for one on every host, where one
// killed, or on a host that went down, held it. With --no-fleet-lock
// too, which takes no fleet lock: the store's lock is what refuses it.
func TestRekeyLeaseHolderSaid(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1), fsstore.WithLockStrategy(lock.Lease))
	st.save(1)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	writeFile(t, filepath.Join(st.dir, fsstore.LockDir, "rekey.lease"), liveLease(4242, "gc-host-7", expires), time.Now())
	for _, extra := range [][]string{nil, {"--no-fleet-lock"}} {
		args := append([]string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0"}, extra...)
		r := runGC(t, args)
		for _, want := range []string{"locks/rekey.lease", "held by pid 4242 on host gc-host-7 until " + expires.UTC().Format(time.RFC3339), "one that died"} {
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Errorf("%v while a killed rekey's lease is held: exit %d, stdout %q; want it to say %q", extra, r.code, r.stdout, want)
			}
		}
		r = runGC(t, append(args, "--json"))
		if s := rekeyJSON(t, r); r.code != 0 || s.SkipReason != "rekey-running" {
			t.Errorf("%v --json: exit %d, %+v; want skipped, rekey-running", extra, r.code, s)
		}
		if want := `"rekey_lock_holder":{"host":"gc-host-7","pid":4242,"expires":"`; !strings.Contains(r.stdout, want) {
			t.Errorf("%v --json: stdout %q; want %q", extra, r.stdout, want)
		}
	}
}
