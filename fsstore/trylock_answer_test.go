package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestTryLockGrantEndsBreakerRow: a TryLock that the file server granted
// is its answer, as a Lock's granted attempt is: it ends the breaker's
// row of timeouts. One granted by sharing the stripe's lock that this
// process holds already asked nothing, and ends no row
// (TestBreakerRowNotEndedByLockShare for Lock).
func TestTryLockGrantEndsBreakerRow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool // the stripe's lock is held in the process already
		want   fsstore.BreakerState
	}{
		{"granted", false, fsstore.BreakerClosed},
		{"shared", true, fsstore.BreakerOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour), fsstore.WithLockStripes(1))
			if tc.shared {
				holder, err := f.s.Lock(context.Background(), newID(t), fsstore.Exclusive)
				if err != nil {
					t.Fatal(err)
				}
				defer holder.Unlock()
			}
			giveUp := func() (release func()) {
				t.Helper()
				return f.giveUp(t, "save", func(ctx context.Context) error {
					return f.s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")})
				})
			}
			defer giveUp()()
			l, err := f.s.TryLock(newID(t), fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			defer giveUp()()
			if st := f.s.Breaker(); st != tc.want {
				t.Fatalf("breaker %v after 2 timeouts with a TryLock %s between them, want %v", st, tc.name, tc.want)
			}
		})
	}
}
