package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// hookLog is a slog.Handler that calls hook with each record's message,
// on the goroutine that logs it.
type hookLog struct{ hook func(msg string) }

func (h hookLog) Enabled(context.Context, slog.Level) bool      { return true }
func (h hookLog) Handle(_ context.Context, r slog.Record) error { h.hook(r.Message); return nil }
func (h hookLog) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h hookLog) WithGroup(string) slog.Handler                 { return h }

// TestChangeAfterLastCommitFails: once the commit after the handler
// returned has run, no change is saved any more, so none may be accepted:
// a goroutine the handler left running that changes the session then
// gets ErrReleased, never a nil error for a change nothing saves. The
// first case puts from the log line of a failed last commit, which runs
// between that commit and the end of the request, where a Put returned
// nil; the second races a goroutine's Puts with the handler's return,
// and checks that the last one accepted is the one stored.
func TestChangeAfterLastCommitFails(t *testing.T) {
	t.Run("after a failed last commit", func(t *testing.T) {
		var late func() error
		lateErr := make(chan error, 1)
		log := slog.New(hookLog{func(msg string) {
			if strings.Contains(msg, "after the response started failed") && late != nil {
				lateErr <- late()
			}
		}})
		e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(256)}, httpsession.WithLogger(log))
		id := seedSession(t, e.m, map[string]any{"n": 1})
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.FromContext(r.Context())
			fmt.Fprint(w, s.GetInt("n"))
			// Saved when the handler returns, where it fails: too large.
			if err := s.Put("big", strings.Repeat("x", 1024)); err != nil {
				t.Error(err)
			}
			late = func() error { return s.Put("n", 2) }
		}))
		do(t, h, id)
		select {
		case err := <-lateErr:
			if !errors.Is(err, httpsession.ErrReleased) {
				t.Fatalf("Put after the last commit = %v, want ErrReleased: nothing saves it", err)
			}
		default:
			t.Fatal("the failed last commit was not logged")
		}
	})
	t.Run("racing the handler's return", func(t *testing.T) {
		e := newEnv(t, nil)
		id := seedSession(t, e.m, map[string]any{"n": 0})
		read := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, httpsession.FromContext(r.Context()).GetInt("n"))
		}))
		for i := range 100 {
			accepted := make(chan int, 1)
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				first := make(chan struct{})
				go func() {
					last := 0
					for n := i*1000000 + 1; s.Put("n", n) == nil; n++ {
						if last == 0 {
							close(first)
						}
						last = n
					}
					accepted <- last
				}()
				<-first // the handler returns while the goroutine puts
			}))
			do(t, h, id)
			want := <-accepted
			if got := body(t, do(t, read, id)); got != fmt.Sprint(want) {
				t.Fatalf("request %d: the session holds n = %s, want %d, the last value Put accepted", i, got, want)
			}
		}
	})
}
