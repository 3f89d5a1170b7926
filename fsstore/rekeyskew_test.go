package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestRekeyLeavesNoLiveRecordOfALaggingHost: an application host whose
// clock is behind the file server's (by less than the minute sessgc
// run's --grace absorbs) still serves, and touches back to life, a
// session that the file server's clock says expired a moment ago. A
// rekey, which judges expiry by the file server's clock, left such a
// record under the old key, as expired; the host's touch kept it live
// under that key, and once the key was retired (the rekey had reported
// no error), its user was logged out: ErrUnknownKey.
func TestRekeyLeavesNoLiveRecordOfALaggingHost(t *testing.T) {
	ctx := context.Background()
	l := newLagging(t, 45*time.Second)
	st, err := l.open(l.server, l.k2, l.k1).Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Errors != 0 {
		t.Fatalf("rekey: %+v, %v", st, err)
	}
	// The host's next request: live by its clock.
	if err := l.rotated.Touch(ctx, l.id); err != nil {
		t.Fatalf("touch on the host: %v", err)
	}
	// The old key retired, as the rekey's report allowed.
	if _, err := l.open(l.host, l.k2).Load(ctx, l.id); err != nil {
		t.Fatalf("load after the old key is retired: %v (rekey: %+v)", err, st)
	}
}

// TestRekeyGraceIsTheSweeps: a store whose sweep is given a longer grace
// (sessgc run --grace 5m) for app hosts whose clocks are further behind
// the file server's keeps a record expired by the server's clock less
// than that ago, and such a host still serves it and touches it back to
// life. A rekey given the same grace rewrites it, where one that judged by
// a fixed minute left it under the old key, which its retirement then
// made unreadable. A record expired by more than the grace is left alone.
func TestRekeyGraceIsTheSweeps(t *testing.T) {
	ctx := context.Background()
	l := newLagging(t, 3*time.Minute) // the host's clock is 3 minutes behind
	st, err := l.open(l.server, l.k2, l.k1).Rekey(ctx, fsstore.RekeyOptions{Grace: 5 * time.Minute})
	if err != nil || st.Errors != 0 || st.Rekeyed != 1 {
		t.Fatalf("rekey with the sweep's grace: %+v, %v; want 1 rekeyed", st, err)
	}
	if err := l.rotated.Touch(ctx, l.id); err != nil {
		t.Fatalf("touch on the host: %v", err)
	}
	if _, err := l.open(l.host, l.k2).Load(ctx, l.id); err != nil {
		t.Fatalf("load after the old key is retired: %v (rekey: %+v)", err, st)
	}

	// Expired by more than the grace, by the server's clock: left alone.
	id2 := newID(t)
	if err := l.old.Save(ctx, &fsstore.Session{ID: id2, Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	l.host.Advance(lagIdle + 3*time.Minute)
	l.server.Advance(lagIdle + 3*time.Minute)
	st, err = l.open(l.server, l.k2, l.k1).Rekey(ctx, fsstore.RekeyOptions{Grace: 5 * time.Minute})
	if err != nil || st.Errors != 0 || st.Expired != 2 || st.Rekeyed != 0 {
		t.Fatalf("rekey past the grace: %+v, %v; want 2 expired, none rekeyed", st, err)
	}
	if _, err := l.open(l.server, l.k2).Rekey(ctx, fsstore.RekeyOptions{Grace: -time.Second}); err == nil {
		t.Error("rekey with a negative Grace: no error")
	}
}

// lagIdle is the idle timeout of newLagging's stores.
const lagIdle = 10 * time.Minute

// lagging is a store in which an application host whose clock is behind
// the file server's saved one session under key 1 (old), then made key 2
// the newest (rotated), and 20 s are left of the session's idle timeout
// by the host's clock, while the server's says it expired lag - 20 s ago.
type lagging struct {
	k1, k2       fsstore.Key
	host, server *fakeclock.Clock
	old, rotated *fsstore.Store
	id           string
	// open opens the store once more, on clock, with keys.
	open func(clock *fakeclock.Clock, keys ...fsstore.Key) *fsstore.Store
}

func newLagging(t *testing.T, lag time.Duration) *lagging {
	t.Helper()
	dir := t.TempDir()
	l := &lagging{k1: mustKey(t, 1), k2: mustKey(t, 2), host: fakeclock.New(), server: fakeclock.New()}
	l.server.Advance(lag)
	l.open = func(clock *fakeclock.Clock, keys ...fsstore.Key) *fsstore.Store {
		t.Helper()
		s, err := fsstore.Open(dir, fsstore.WithKeys(keys...), fsstore.WithIdleTimeout(lagIdle), fsstore.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	l.old = l.open(l.host, l.k1)
	l.id = newID(t)
	if err := l.old.Save(context.Background(), &fsstore.Session{ID: l.id, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	l.rotated = l.open(l.host, l.k2, l.k1) // the new key made newest on the host
	l.host.Advance(lagIdle - 20*time.Second)
	l.server.Advance(lagIdle - 20*time.Second)
	return l
}
