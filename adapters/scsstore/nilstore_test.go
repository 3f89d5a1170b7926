package scsstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
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
