package fsstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// TestBreakerRowEndedByErrorAnswer: an operation that finishes in time
// ends the breaker's row of timeouts, whether it succeeded or the file
// system answered it with an error (a Load of a session that is not
// there): the file system answers. A Health check answered with an error
// is such an answer too; it left the row standing, and the next timeout
// opened the breaker of a store that had just answered.
func TestBreakerRowEndedByErrorAnswer(t *testing.T) {
	between := []struct {
		name string
		op   func(t *testing.T, f *boundFixture)
	}{
		{"Load", func(t *testing.T, f *boundFixture) {
			if _, err := f.s.Load(context.Background(), newID(t)); !errors.Is(err, fsstore.ErrNotFound) {
				t.Fatalf("Load of a session not there: %v, want ErrNotFound", err)
			}
		}},
		{"Health", func(t *testing.T, f *boundFixture) {
			// Neither the data directory nor the marker is there to
			// fetch: the file system answers ENOENT.
			for _, name := range []string{fsstore.DataDir, fsstore.MarkerFile} {
				p := filepath.Join(f.dir, name)
				if err := os.Rename(p, p+".away"); err != nil {
					t.Fatal(err)
				}
				defer os.Rename(p+".away", p)
			}
			err := f.s.Health(context.Background())
			if !errors.Is(err, fsstore.ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Health without data directory and marker: %v, want ErrUnavailable and ENOENT", err)
			}
			// Answered: its words are Health's for a refusal, not
			// ErrUnavailable's for a server that did not answer.
			if msg := err.Error(); !strings.Contains(msg, "session store unusable on this host") || strings.Contains(msg, "did not answer") {
				t.Fatalf("Health without data directory and marker: %q, want it to say the store is unusable on this host, not that the file system did not answer", msg)
			}
		}},
	}
	for _, tt := range between {
		t.Run(tt.name, func(t *testing.T) {
			f := newBoundFixture(t, fsstore.WithBreaker(2, time.Hour))
			giveUp := func() (release func()) {
				t.Helper()
				return f.giveUp(t, "save", func(ctx context.Context) error {
					return f.s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")})
				})
			}
			defer giveUp()()
			tt.op(t, f)
			defer giveUp()()
			if st := f.s.Breaker(); st != fsstore.BreakerClosed {
				t.Fatalf("breaker %v after 2 timeouts with a %s answered with an error between them, want closed (it opens at 2 in a row)", st, tt.name)
			}
		})
	}
}
