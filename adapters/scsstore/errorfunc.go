package scsstore

import (
	"log/slog"
	"net/http"

	"github.com/sessfs/sessfs/httpsession"
)

// ErrorFunc returns a handler for scs.SessionManager.ErrorFunc that
// answers as httpsession does (httpsession.StatusCode): 503 Service
// Unavailable with Retry-After when the store's file server did not answer
// in time or its circuit breaker is open (fsstore.ErrUnavailable), so that
// clients and load balancers retry rather than see scs's default 500 in an
// outage; 504 Gateway Timeout when a commit may have been saved; 499,
// logged at Info rather than Error, when the client went away; 500
// otherwise. It logs each error to logger (nil: slog.Default()), with the
// request's method and path; the error never contains the session token.
//
//	sessionManager.ErrorFunc = scsstore.ErrorFunc(logger)
func ErrorFunc(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		code := httpsession.StatusCode(err)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		level := slog.LevelError
		if code == httpsession.StatusClientClosedRequest {
			level = slog.LevelInfo // the client went away: not the server's failure
		}
		l.Log(r.Context(), level, "scsstore: session request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
		http.Error(w, http.StatusText(code), code)
	}
}
