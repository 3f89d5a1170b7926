package httpsession_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// TestPayloadEdges holds what a session at the edges of the codec and of
// the store's size limit gives: the longest value that saves loads back
// whole, and one byte more is a 500 naming the limit that sends no cookie;
// a key and a value holding NUL bytes round-trip; a key that is not UTF-8
// is ErrUnencodable and saves nothing; a key larger than the limit is the
// limit's 500. Never a panic, never a session cut short.
func TestPayloadEdges(t *testing.T) {
	const limit = 256
	e := newEnv(t, []fsstore.Option{fsstore.WithMaxSize(limit)})
	var (
		putErr        error
		key, val, got string
		load          bool
	)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		if load {
			got = s.GetString(key)
			return
		}
		putErr = s.Put(key, val)
	}))
	loadBack := func(cookie string) string {
		load, got = true, ""
		defer func() { load = false }()
		if resp := do(t, h, cookie); resp.StatusCode != 200 {
			t.Fatalf("load: status %d", resp.StatusCode)
		}
		return got
	}
	key = "k"
	last := -1
	for n := 0; n <= limit; n++ {
		val = strings.Repeat("x", n)
		resp := do(t, h, "")
		if putErr != nil {
			t.Fatalf("Put of %d bytes: %v", n, putErr)
		}
		if resp.StatusCode != 200 {
			if last < 0 || resp.StatusCode != 500 {
				t.Fatalf("a value of %d bytes: status %d", n, resp.StatusCode)
			}
			if sessionCookie(resp) != nil || !strings.Contains(e.log.String(), "fsstore.WithMaxSize") {
				t.Errorf("one byte over the limit (%d): cookie %v, log %q: want none, and the limit named", n, sessionCookie(resp), e.log)
			}
			break
		}
		last = n
		c := sessionCookie(resp)
		if c == nil {
			t.Fatalf("a value of %d bytes saved without a cookie", n)
		}
		if v := loadBack(c.Value); v != val {
			t.Fatalf("a value of %d bytes loaded back as %d bytes", n, len(v))
		}
	}
	if last < 0 || last == limit {
		t.Fatalf("no limit met below %d bytes (last saved %d)", limit, last)
	}
	for _, tt := range []struct {
		name, key, val string
		status         int
		putErr         error
	}{
		{"NUL in key and value", "a\x00b", "c\x00d", 200, nil},
		{"invalid UTF-8 key", "a\xffb", "v", 200, httpsession.ErrUnencodable},
		{"key larger than the limit", strings.Repeat("k", 2*limit), "v", 500, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, val = tt.key, tt.val
			resp := do(t, h, "")
			if !errors.Is(putErr, tt.putErr) || resp.StatusCode != tt.status {
				t.Fatalf("Put: %v, status %d; want %v, %d", putErr, resp.StatusCode, tt.putErr, tt.status)
			}
			c := sessionCookie(resp)
			switch {
			case tt.status != 200 || tt.putErr != nil:
				if c != nil {
					t.Errorf("a cookie was sent for a session that was not saved")
				}
			case c == nil:
				t.Fatal("saved without a cookie")
			default:
				if v := loadBack(c.Value); v != val {
					t.Errorf("loaded back %q, want %q", v, val)
				}
			}
		})
	}
}
