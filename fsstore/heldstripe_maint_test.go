//go:build unix

package fsstore_test

import (
	"os"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestMaintenanceBesideAHeldStripe: a sweep and a rekey (sessgc, another
// process) run while a request holds a session on the one lock stripe
// every record shares. The sweep only tries stripes and ends at once; the
// rekey waits for the stripe; meanwhile the request saves its session and
// creates another (which raises the marker's max idle, under the marker's
// lock): no lock it takes is one the maintenance holds, so nothing waits
// in a circle, and once the request lets go the rekey rewrites every
// record. A second Store of the directory stands for the other process
// (two Stores are two lock owners: TestTwoStoresOneDirectoryWaitForEachOther).
func TestMaintenanceBesideAHeldStripe(t *testing.T) {
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			k1, k2 := mustKey(t, 1), mustKey(t, 2)
			common := []fsstore.Option{fsstore.WithLockStripes(1), fsstore.WithLockStrategy(strategy), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithIdleTimeout(time.Hour)}
			app, err := fsstore.Open(dir, append(common, fsstore.WithKeys(k1))...)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			ids := []string{newID(t), newID(t), newID(t)}
			for _, id := range ids {
				if err := app.Save(noHang(t), &fsstore.Session{ID: id, Data: []byte("v1")}); err != nil {
					t.Fatal(err)
				}
			}
			expired := newID(t)
			if err := app.Save(noHang(t), &fsstore.Session{ID: expired, Data: []byte("old")}); err != nil {
				t.Fatal(err)
			}
			long := time.Now().Add(-48 * time.Hour)
			if err := os.Chtimes(app.RecordPathForTest(expired), long, long); err != nil {
				t.Fatal(err)
			}
			// The rekey's key has its check file, as on a fleet that has it.
			deploy, err := fsstore.Open(dir, append(common, fsstore.WithKeys(k2, k1))...)
			if err != nil {
				t.Fatal(err)
			}
			deploy.Close()
			maint, err := fsstore.Open(dir, append(common, fsstore.WithKeys(k2, k1), fsstore.WithMaintenanceOnly())...)
			if err != nil {
				t.Fatal(err)
			}
			defer maint.Close()

			held, err := app.Lock(noHang(t), ids[0], fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			sw, err := maint.Sweep(noHang(t), fsstore.SweepOptions{})
			if err != nil || sw.Sessions != 1 {
				t.Fatalf("sweep beside the held stripe: %+v, %v; want the expired session removed", sw, err)
			}
			rekeyed := make(chan error, 1)
			var rs fsstore.RekeyStats
			go func() {
				var err error
				rs, err = maint.Rekey(noHang(t), fsstore.RekeyOptions{})
				rekeyed <- err
			}()
			for deadline := time.Now().Add(time.Minute); maint.LockWaitersForTest() == 0; {
				if time.Now().After(deadline) {
					t.Fatal("the rekey never waited for the held stripe")
				}
				time.Sleep(time.Millisecond)
			}
			if err := held.Save(noHang(t), &fsstore.Session{ID: ids[0], Data: []byte("v2")}); err != nil {
				t.Fatalf("the request's save while the rekey waits: %v", err)
			}
			if err := app.Save(noHang(t), &fsstore.Session{ID: newID(t), Data: []byte("new"), Idle: 3 * time.Hour}); err != nil {
				t.Fatalf("a new session with a longer idle timeout while the rekey waits: %v", err)
			}
			if err := held.Unlock(); err != nil {
				t.Fatal(err)
			}
			// The session created meanwhile is under the newest key of
			// the next pass, if the listing missed it.
			if err := <-rekeyed; err != nil || rs.Errors != 0 || rs.Scanned < 3 || rs.Rekeyed+rs.UpToDate != rs.Scanned {
				t.Fatalf("rekey: %+v, %v; want every record it scanned (at least the 3 live ones) under the newest key, no errors", rs, err)
			}
			got, err := maint.Load(noHang(t), ids[0])
			if err != nil || string(got.Data) != "v2" {
				t.Fatalf("the held session after the rekey: %v, %v; want the request's save, v2", got, err)
			}
		})
	}
}
