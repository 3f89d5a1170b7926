package httpsession_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestNilOptionsAreDefaults: every option of New that takes a pointer or
// a func takes nil for its default, as leaving it out is (the rule of
// fsstore's options and the adapters'); a logger that cannot log (a zero
// slog.Logger) is refused at New, not a panic at the first log line.
func TestNilOptionsAreDefaults(t *testing.T) {
	st, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		name    string
		opt     httpsession.Option
		wantErr string // "": New accepts it
	}{
		{"WithLogger(nil)", httpsession.WithLogger(nil), ""},
		{"WithErrorHandler(nil)", httpsession.WithErrorHandler(nil), ""},
		{"WithClock(nil)", httpsession.WithClock(nil), ""},
		{"WithLogger of a zero slog.Logger", httpsession.WithLogger(new(slog.Logger)), "without a handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *httpsession.Manager
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("New panicked: %v", r)
					}
				}()
				m = httpsession.New(st, tc.opt)
			}()
			if tc.wantErr != "" {
				if err := m.Err(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Err() = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err := m.Err(); err != nil {
				t.Fatalf("New: %v", err)
			}
			h := m.Handler(counter())
			id := mustCookie(t, do(t, h, "")).Value
			if got := body(t, do(t, h, id)); got != "2" {
				t.Fatalf("second request's counter reads %q, want 2", got)
			}
		})
	}
}
