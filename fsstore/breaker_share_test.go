package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestBreakerRowNotEndedByLockShare: a Lock granted by sharing the
// stripe's OS lock this process holds already, and the Unlock that
// keeps it, make no call to the server: they must not end a row of
// timeouts. In an outage the stripes are held by the requests stuck in
// the file system, and every new request's Lock on one of them would
// otherwise keep the breaker closed.
func TestBreakerRowNotEndedByLockShare(t *testing.T) {
	f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour), fsstore.WithLockStripes(1))
	ctx := context.Background()
	holder, err := f.s.Lock(ctx, newID(t), fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()
	id := newID(t)
	mustSave(t, f.s, id, "v1")
	giveUp := func() (release func()) {
		t.Helper()
		return f.giveUp(t, "load", func(ctx context.Context) error { _, err := f.s.Load(ctx, id); return err })
	}
	defer giveUp()()
	shared, err := f.s.Lock(ctx, newID(t), fsstore.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if err := shared.Unlock(); err != nil {
		t.Fatal(err)
	}
	defer giveUp()()
	if st := f.s.Breaker(); st != fsstore.BreakerOpen {
		t.Fatalf("breaker %v after 2 loads without an answer, a lock shared in the process between them, want open", st)
	}
}
