package httpsession_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// TestNilSessionPanicsNamingMiddleware checks that every method of the nil
// Session FromContext returns for a request that bypassed the middleware
// panics with a message naming the cause and the fix, not a bare nil
// pointer dereference from deep inside the method.
func TestNilSessionPanicsNamingMiddleware(t *testing.T) {
	s := httpsession.FromContext(httptest.NewRequest("GET", "/", nil).Context())
	if s != nil {
		t.Fatalf("FromContext outside the middleware = %v, want nil", s)
	}
	for _, tt := range []struct {
		name string
		call func()
	}{
		{"IsNew", func() { s.IsNew() }},
		{"Mode", func() { s.Mode() }},
		{"Created", func() { s.Created() }},
		{"Deadline", func() { s.Deadline() }},
		{"Get", func() { var v string; s.Get("k", &v) }},
		{"GetString", func() { s.GetString("k") }},
		{"GetInt", func() { s.GetInt("k") }},
		{"GetInt64", func() { s.GetInt64("k") }},
		{"GetFloat64", func() { s.GetFloat64("k") }},
		{"GetBool", func() { s.GetBool("k") }},
		{"GetTime", func() { s.GetTime("k") }},
		{"PopString", func() { s.PopString("k") }},
		{"Exists", func() { s.Exists("k") }},
		{"Keys", func() { s.Keys() }},
		{"Put", func() { s.Put("k", 1) }},
		{"Delete", func() { s.Delete("k") }},
		{"Clear", func() { s.Clear() }},
		{"Renew", func() { s.Renew() }},
		{"Destroy", func() { s.Destroy() }},
		{"Release", func() { s.Release() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := nilSessionPanic(tt.call)
			if !strings.HasPrefix(msg, "httpsession: no session in this request's context") || !strings.Contains(msg, "Manager.Middleware") {
				t.Errorf("panic %q, want one naming the missing middleware", msg)
			}
		})
	}
}

// nilSessionPanic returns what call panicked with, as a string.
func nilSessionPanic(call func()) (msg string) {
	defer func() {
		r := recover()
		if err, ok := r.(error); ok {
			msg = err.Error()
		} else if s, ok := r.(string); ok {
			msg = s
		} else {
			msg = "no panic"
		}
	}()
	call()
	return "no panic"
}

// TestFromNilContext holds that FromContext(nil) answers as for a context
// without a session, nil, whose methods panic naming the missing
// middleware, where it panicked in ctx.Value with a nil dereference that
// named nothing.
func TestFromNilContext(t *testing.T) {
	var s *httpsession.Session
	var nilCtx context.Context
	if msg := nilSessionPanic(func() { s = httpsession.FromContext(nilCtx) }); msg != "no panic" || s != nil {
		t.Fatalf("FromContext(nil) = %v, panic %q; want nil and no panic", s, msg)
	}
	if msg := nilSessionPanic(func() { s.GetString("k") }); !strings.HasPrefix(msg, "httpsession: no session in this request's context") {
		t.Errorf("a method of FromContext(nil)'s session panicked with %q, want the missing middleware named", msg)
	}
}
