package fsstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A session expires at min(mtime + idle, deadline), that instant
// included: Load, Locked.Load and Touch serve it up to the nanosecond
// before its Expires and refuse it from Expires on, for an idle timeout
// and for a deadline alike.
func TestExpiryBoundary(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		deadline time.Duration // after the save; 0: none, the idle timeout ends it
	}{
		{"idle", 0},
		{"deadline", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			s := openTemp(t, fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now))
			id := newID(t)
			sess := &fsstore.Session{ID: id, Data: []byte("v")}
			if tc.deadline > 0 {
				sess.Deadline = clock.Now().Add(tc.deadline)
			}
			if err := s.Save(ctx, sess); err != nil {
				t.Fatal(err)
			}
			want := clock.Now().Add(time.Hour)
			if tc.deadline > 0 {
				want = sess.Deadline
			}
			if !sess.Expires.Equal(want) {
				t.Fatalf("Expires %v, want %v", sess.Expires, want)
			}
			clock.Advance(sess.Expires.Sub(clock.Now()) - time.Nanosecond)
			got, err := s.Load(ctx, id)
			if err != nil {
				t.Fatalf("Load 1ns before Expires: %v", err)
			}
			if !got.Expires.Equal(sess.Expires) {
				t.Errorf("Load's Expires %v, Save's %v", got.Expires, sess.Expires)
			}
			clock.Advance(time.Nanosecond)
			if _, err := s.Load(ctx, id); !errors.Is(err, fsstore.ErrExpired) {
				t.Errorf("Load at Expires: %v, want ErrExpired", err)
			}
			l, err := s.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Load(ctx); !errors.Is(err, fsstore.ErrExpired) {
				t.Errorf("Locked.Load at Expires: %v, want ErrExpired", err)
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			if err := s.Touch(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Touch at Expires: %v, want ErrNotFound", err)
			}
		})
	}
}
