package scsstore_test

import (
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// An expiry more than time.Duration's range (about 292 years) away, as
// scs's SetDeadline gives for a "never log out" session, is capped like any
// expiry beyond fsstore.MaxIdleTimeout: the record lives that long without
// a commit. Rounding the saturated expiry.Sub(now) up to a whole second
// used to overflow to a negative idle timeout, raised to the 1s minimum:
// the session was gone a second after its commit.
func TestFarExpiryIsCapped(t *testing.T) {
	tests := []struct {
		name     string
		expiry   func(now time.Time) time.Time
		wantIdle time.Duration
	}{
		{"300 days", func(now time.Time) time.Time { return now.Add(300 * 24 * time.Hour) }, 300 * 24 * time.Hour},
		{"just under the Duration range", func(now time.Time) time.Time { return now.Add(1<<63 - 1) }, fsstore.MaxIdleTimeout},
		{"a thousand years", func(now time.Time) time.Time { return now.AddDate(1000, 0, 0) }, fsstore.MaxIdleTimeout},
		{"year 9999", func(time.Time) time.Time { return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }, fsstore.MaxIdleTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New()
			dir := t.TempDir()
			s := open(t, dir, clk)
			tok := newToken(t)
			if err := s.Commit(tok, []byte("data"), tt.expiry(clk.Now())); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour)
			if b, found := mustFind(t, s, tok); !found || string(b) != "data" {
				t.Fatalf("an hour after the commit: Find = %q, %v; want the session", b, found)
			}
			st, err := fsstore.Open(dir, fsstore.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rec, err := st.Load(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Idle != tt.wantIdle {
				t.Errorf("record idle timeout %v; want %v", rec.Idle, tt.wantIdle)
			}
		})
	}
}
