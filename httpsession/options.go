package httpsession

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Mode selects how a route holds the session (see the package
// documentation).
type Mode int

const (
	// Exclusive holds the session's lock for the whole request.
	Exclusive Mode = iota
	// ReadOnly takes no lock and never writes the session.
	ReadOnly
	// Optimistic takes no lock and saves with compare-and-swap.
	Optimistic
)

func (m Mode) String() string {
	switch m {
	case Exclusive:
		return "exclusive"
	case ReadOnly:
		return "read-only"
	case Optimistic:
		return "optimistic"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Cookie configures the session cookie. Start from DefaultCookie and change
// what you need: its zero value is not the safe default.
type Cookie struct {
	// Name of the cookie. Default "session".
	Name string
	// Path of the cookie. Default "/".
	Path string
	// Domain of the cookie. Default "" (host-only).
	Domain string
	// Secure sends the cookie over HTTPS only. Default true; turn it off only
	// for plain-HTTP development servers.
	Secure bool
	// HttpOnly hides the cookie from JavaScript. Default true.
	HttpOnly bool
	// SameSite restricts cross-site requests. Default http.SameSiteLaxMode.
	SameSite http.SameSite
	// Persist sets Max-Age so the cookie outlives the browser session, up to
	// the session's absolute deadline. Default true. With false the cookie
	// is a browser-session cookie.
	Persist bool
}

// DefaultCookie returns the default cookie settings.
func DefaultCookie() Cookie {
	return Cookie{Name: "session", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, Persist: true}
}

// An Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	cookie       Cookie
	mode         Mode
	idle         time.Duration
	lifetime     time.Duration
	lockTimeout  time.Duration
	now          func() time.Time
	errorHandler func(http.ResponseWriter, *http.Request, error)
	log          *slog.Logger
}

// WithCookie sets the cookie settings (default DefaultCookie()).
func WithCookie(c Cookie) Option { return optionFunc(func(cf *config) { cf.cookie = c }) }

// WithMode sets the mode of Manager.Handler (default Exclusive).
func WithMode(m Mode) Option { return optionFunc(func(c *config) { c.mode = m }) }

// WithIdleTimeout tells the middleware the store's idle timeout, which it
// uses only to decide when a read-only request should Touch the session
// (when less than half of it remains). Default: the largest idle timeout
// recorded in the store directory, which is at least the store's own. Set
// it to the value given to fsstore.WithIdleTimeout; a larger value only
// makes touches more frequent, never lets a session expire early.
func WithIdleTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.idle = d }) }

// WithLifetime sets the absolute lifetime of new sessions (and of sessions
// given a fresh ID by Renew), whatever their activity. Default 0: the
// store's lifetime (fsstore.WithLifetime).
func WithLifetime(d time.Duration) Option { return optionFunc(func(c *config) { c.lifetime = d }) }

// WithLockTimeout bounds how long an Exclusive request waits for the
// session's lock (default 30 seconds; the request's context also bounds
// it). A request that times out gets the error handler with an error
// matching fsstore.ErrLocked (503 by default).
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lockTimeout = d })
}

// WithClock replaces time.Now, for tests; pass the same clock as
// fsstore.WithClock.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithErrorHandler sets the function that answers a request whose session
// could not be loaded or committed before the response started. The
// default logs the error and answers 409 Conflict for fsstore.ErrConflict
// (an Optimistic commit lost a race; the client may retry), 503 Service
// Unavailable with Retry-After for fsstore.ErrLocked (the lock wait timed
// out) and 500 Internal Server Error otherwise. The error never contains
// the session ID.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, error)) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

// WithLogger sets the logger for errors that happen after the response
// started and can only be logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.log = l }) }

func defaultConfig() config {
	return config{
		cookie:      DefaultCookie(),
		mode:        Exclusive,
		lockTimeout: 30 * time.Second,
		now:         time.Now,
	}
}
