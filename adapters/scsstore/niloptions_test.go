package scsstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

// TestNilOptionsAreDefaults: every option of New that takes a pointer or
// a func takes nil for its default, as leaving it out is (the rule of
// fsstore's and httpsession's options); a logger that cannot log (a zero
// slog.Logger) fails every call with an error saying so, as a nil Option
// does, not a panic at the first log line.
func TestNilOptionsAreDefaults(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		name    string
		opt     scsstore.Option
		wantErr string // "": the store works
	}{
		{"WithLogger(nil)", scsstore.WithLogger(nil), ""},
		{"WithCodecOf(nil)", scsstore.WithCodecOf(nil), ""},
		{"WithClock(nil)", scsstore.WithClock(nil), ""},
		{"WithLogger of a zero slog.Logger", scsstore.WithLogger(new(slog.Logger)), "without a handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := scsstore.New(st, tc.opt)
			ctx := context.Background()
			tok := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
			err := s.CommitCtx(ctx, tok, []byte("x"), time.Now().Add(time.Hour))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Commit: %v, want an error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if _, _, err := s.FindCtx(ctx, tok); err != nil {
				t.Fatalf("Find: %v", err)
			}
		})
	}
}
