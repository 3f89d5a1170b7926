package scsstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/testenv"
)

// TestNilStore: a Store made from the nil *fsstore.Store of a failed Open
// whose error was dropped fails every call with an error that says so
// (scs answers 500), instead of panicking in the middle of a handler.
func TestNilStore(t *testing.T) {
	s := scsstore.New(nil)
	ctx := context.Background()
	tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for name, call := range map[string]func() error{
		"Find":   func() error { _, _, err := s.FindCtx(ctx, tok); return err },
		"Commit": func() error { return s.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour)) },
		"Delete": func() error { return s.DeleteCtx(ctx, tok) },
		"All":    func() error { _, err := s.AllCtx(ctx); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "nil *fsstore.Store") {
			t.Errorf("%s: %v, want an error naming the nil store", name, err)
		}
	}
}

// TestNilOption: a nil Option given to New (one chosen at run time and
// left unset) fails every call with an error naming its position, as a
// nil store does, instead of panicking in New.
func TestNilOption(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for _, tt := range []struct {
		name string
		opts []scsstore.Option
		want string
	}{
		{"alone", []scsstore.Option{nil}, "option 1 of 1 passed to New is nil"},
		{"among others", []scsstore.Option{scsstore.WithoutDeleteGuard(), nil}, "option 2 of 2 passed to New is nil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := scsstore.New(st, tt.opts...)
			for name, call := range map[string]func() error{
				"Find":   func() error { _, _, err := s.FindCtx(ctx, tok); return err },
				"Commit": func() error { return s.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour)) },
				"Delete": func() error { return s.DeleteCtx(ctx, tok) },
				"All":    func() error { _, err := s.AllCtx(ctx); return err },
			} {
				if err := call(); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: %v, want an error saying %q", name, err, tt.want)
				}
			}
		})
	}
}

// TestNilClockAndContext: a nil Context fails its call alone, where it
// panicked (in the detached context every call makes); WithClock(nil) is
// the system clock (TestNilClockIsSystemClock).
func TestNilClockAndContext(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	var nilCtx context.Context
	for _, tt := range []struct {
		name string
		s    *scsstore.Store
		ctx  context.Context
		want string
	}{
		{"nil context", scsstore.New(st), nilCtx, "nil context.Context"},
	} {
		for name, call := range map[string]func() error{
			"Find":   func() error { _, _, err := tt.s.FindCtx(tt.ctx, tok); return err },
			"Commit": func() error { return tt.s.CommitCtx(tt.ctx, tok, []byte("x"), time.Now().Add(time.Hour)) },
			"Delete": func() error { return tt.s.DeleteCtx(tt.ctx, tok) },
			"All":    func() error { _, err := tt.s.AllCtx(tt.ctx); return err },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
			})
		}
	}
	// The store refused a nil Context on still commits.
	if err := scsstore.New(st).CommitCtx(context.Background(), tok, []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// TestStoreNotMadeByNew: every call that returns an error, on a nil
// *scsstore.Store or a Store{} not made by New, fails with an error saying
// which, where a nil one panicked with a nil dereference and a Store{}
// blamed a nil *fsstore.Store, or answered All with ErrNotIterable.
func TestStoreNotMadeByNew(t *testing.T) {
	ctx := context.Background()
	tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for _, tt := range []struct {
		name string
		s    *scsstore.Store
		want string
	}{
		{"nil", nil, "nil *scsstore.Store (use New)"},
		{"zero", &scsstore.Store{}, "scsstore.Store not made by New"},
	} {
		s := tt.s
		for name, call := range map[string]func() error{
			"Find":      func() error { _, _, err := s.Find(tok); return err },
			"FindCtx":   func() error { _, _, err := s.FindCtx(ctx, tok); return err },
			"Commit":    func() error { return s.Commit(tok, []byte("x"), time.Now().Add(time.Hour)) },
			"CommitCtx": func() error { return s.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour)) },
			"Delete":    func() error { return s.Delete(tok) },
			"DeleteCtx": func() error { return s.DeleteCtx(ctx, tok) },
			"All":       func() error { _, err := s.All(); return err },
			"AllCtx":    func() error { _, err := s.AllCtx(ctx); return err },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := testenv.NoPanic(t, call)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
			})
		}
		// A counter read by a metrics callback (prometheus.NewCounterFunc)
		// on every scrape: none counted, rather than a panic in the
		// metrics handler.
		t.Run(tt.name+"/Undecodable", func(t *testing.T) {
			var n uint64
			testenv.NoPanic(t, func() error { n = s.Undecodable(); return nil })
			if n != 0 {
				t.Fatalf("Undecodable = %d, want 0", n)
			}
		})
	}
}
