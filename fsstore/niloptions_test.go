package fsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// nilObserver is an Observer whose method reads its receiver, as
// metrics/prom's does: called on a nil pointer, it panics.
type nilObserver struct{ n int }

func (o *nilObserver) Observe(fsstore.Event) { o.n++ }

// TestNilOptionsAreDefaults: every option of Open that takes a pointer,
// func or interface takes nil for its default, as leaving it out is, the
// rule of the module's options (httpsession's and the adapters' too).
// WithLogger(nil) failed Open, and a nil *Observer given to WithObserver
// panicked in the first operation.
func TestNilOptionsAreDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  fsstore.Option
	}{
		{"WithLogger(nil)", fsstore.WithLogger(nil)},
		{"WithObserver(nil)", fsstore.WithObserver(nil)},
		{"WithObserver of a nil pointer", fsstore.WithObserver((*nilObserver)(nil))},
		{"WithClock(nil)", fsstore.WithClock(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fsstore.Open(t.TempDir(), tc.opt)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			ctx := context.Background()
			id := newID(t)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panicked: %v", r)
					}
				}()
				if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
					t.Fatalf("Save: %v", err)
				}
				if _, err := s.Load(ctx, id); err != nil {
					t.Fatalf("Load: %v", err)
				}
				if _, err := s.Load(ctx, "not an id"); !errors.Is(err, fsstore.ErrInvalidID) {
					t.Fatalf("Load of a bad ID: %v, want ErrInvalidID", err)
				}
			}()
		})
	}
}
