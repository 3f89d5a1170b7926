package fsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestNilClockIsSystemClock: WithClock(nil) is the system clock, as
// leaving the option out is, also after another WithClock, the rule of
// every clock option of the module (httpsession's, scsstore's,
// gorillastore's SetClock). It failed Open, where httpsession took nil
// for time.Now.
func TestNilClockIsSystemClock(t *testing.T) {
	past := func() time.Time { return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"nil", []fsstore.Option{fsstore.WithClock(nil)}},
		{"nil after a clock", []fsstore.Option{fsstore.WithClock(past), fsstore.WithClock(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fsstore.Open(t.TempDir(), tc.opts...)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			before := time.Now()
			sess := &fsstore.Session{ID: newID(t), Data: []byte("x")}
			if err := s.Save(context.Background(), sess); err != nil {
				t.Fatal(err)
			}
			if sess.Created.Before(before.Truncate(time.Second)) {
				t.Errorf("created %v, before the system clock's %v", sess.Created, before)
			}
		})
	}
}
