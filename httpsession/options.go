package httpsession

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Mode selects how a route holds the session (see the package
// documentation).
type Mode int

const (
	// Exclusive holds the session's lock from the handler's first use of
	// the session until the handler returns or calls Session.Release.
	Exclusive Mode = iota
	// ReadOnly takes no lock and never writes the session's record. A
	// read still touches it (its mtime, not its contents) when less than
	// half its idle timeout remains, so that a user who only reads stays
	// logged in: see "Lazy writes and Touch" in the package documentation.
	ReadOnly
	// Optimistic takes no lock and saves with compare-and-swap.
	Optimistic
)

// String returns the mode's name, as errors give it: "exclusive",
// "read-only" or "optimistic", and Mode(n) for a value that is none of
// them.
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

func (m Mode) valid() bool { return m >= Exclusive && m <= Optimistic }

// Cookie configures the session cookie. Its zero value is the safe
// default: every field left zero means the secure setting, and each
// weakening is a field you set on purpose.
//
// For a development server on plain http://localhost, set Insecure; never
// in production, where the cookie would then travel in clear text. The
// Manager logs a warning, once, when it sends a Secure cookie in answer to
// a plain HTTP request that no proxy header (X-Forwarded-Proto, Forwarded,
// CloudFront-Forwarded-Proto, ...; of a list, the first element, the
// client's) says came over HTTPS: browsers do not send such a cookie back.
type Cookie struct {
	// Name of the cookie. Default "session". A name with the __Host- or
	// __Secure- prefix must come with the attributes the prefix promises
	// (Secure, and for __Host- Path "/" and no Domain): browsers drop the
	// cookie otherwise, so New refuses such a setting. A __Host- name
	// ("__Host-session") is worth it in production: no other host of the
	// domain can set a cookie of that name, which a sibling subdomain could
	// otherwise use to send the app's users to a session it holds locked
	// (cookie tossing; see docs/security.md). It is not the default because
	// it needs Secure (not Insecure) and no Domain, and a new default would
	// log every user out.
	Name string
	// Path of the cookie. Default "/".
	Path string
	// Domain of the cookie. Default "" (host-only, the safest). Browsers
	// drop a cookie whose Domain the page's host is not in (the domain
	// itself or a subdomain of it) and one that ends in a dot; the
	// Manager logs a warning, once per host (for up to 8 hosts), when it
	// sends one in answer to such a request.
	Domain string
	// SameSite restricts cross-site requests. Zero means
	// http.SameSiteLaxMode; http.SameSiteStrictMode is stricter;
	// http.SameSiteDefaultMode sends no SameSite attribute;
	// http.SameSiteNoneMode cannot be combined with Insecure (browsers drop
	// such cookies).
	SameSite http.SameSite
	// Insecure drops the Secure attribute, so that the browser also sends
	// the cookie over plain HTTP: for development on http://localhost only.
	Insecure bool
	// ScriptAccess drops the HttpOnly attribute, letting the page's
	// JavaScript (and any script injected into it) read the session ID.
	ScriptAccess bool
	// BrowserSession drops Max-Age and Expires: the browser forgets the
	// cookie when it closes. By default the cookie lives until the
	// session's absolute deadline (when there is one).
	BrowserSession bool
	// Partitioned adds the Partitioned attribute (CHIPS): for an app
	// embedded in other sites' pages, whose browsers block third-party
	// cookies unless they are partitioned by the top-level site. Browsers
	// drop a partitioned cookie without Secure, so it cannot be combined
	// with Insecure; an embedded app also needs SameSite=None for the
	// cookie to be sent in the embedding site's requests.
	Partitioned bool
}

// DefaultCookie returns the default cookie settings with every default
// spelled out; it is equivalent to the zero Cookie.
func DefaultCookie() Cookie {
	return Cookie{Name: "session", Path: "/", SameSite: http.SameSiteLaxMode}
}

// resolve fills in the defaults of zero fields and checks the result.
func (c Cookie) resolve() (Cookie, error) {
	d := DefaultCookie()
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.Path == "" {
		c.Path = d.Path
	}
	if c.SameSite == 0 {
		c.SameSite = d.SameSite
	}
	switch {
	case c.SameSite < http.SameSiteDefaultMode || c.SameSite > http.SameSiteNoneMode:
		return c, fmt.Errorf("unknown SameSite value %d", int(c.SameSite))
	case c.SameSite == http.SameSiteNoneMode && c.Insecure:
		return c, errors.New("SameSite=None requires Secure: browsers drop it with Insecure")
	case c.Partitioned && c.Insecure:
		return c, errors.New("a Partitioned cookie requires Secure: browsers drop it with Insecure")
	}
	// Browsers drop a cookie whose name prefix (matched regardless of
	// case) promises what its attributes do not (RFC 6265bis, "Cookie Name
	// Prefixes").
	switch name := strings.ToLower(c.Name); {
	case strings.HasPrefix(name, "__secure-") && c.Insecure:
		return c, fmt.Errorf("cookie %q: the __Secure- prefix requires Secure: browsers drop it with Insecure", c.Name)
	case strings.HasPrefix(name, "__host-") && (c.Insecure || c.Path != "/" || c.Domain != ""):
		return c, fmt.Errorf("cookie %q: the __Host- prefix requires Secure, Path \"/\" and no Domain: browsers drop it otherwise", c.Name)
	}
	// http.Cookie.String silently drops a cookie it cannot format and
	// attributes it cannot encode: check them here, once, rather than lose
	// every session without a word.
	if err := (&http.Cookie{Name: c.Name, Value: "x", Path: c.Path, Domain: c.Domain}).Valid(); err != nil {
		return c, fmt.Errorf("cookie: %w", err)
	}
	return c, nil
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
	reuseBuffers bool
}

// WithCookie sets the cookie settings. Zero fields keep their safe
// defaults (see Cookie), so WithCookie(Cookie{Name: "sid"}) changes only
// the name. An invalid setting makes every request fail with a 500 and a
// log line naming the problem; Manager.Err returns it.
func WithCookie(c Cookie) Option { return optionFunc(func(cf *config) { cf.cookie = c }) }

// WithMode sets the mode of Manager.Handler (default Exclusive).
func WithMode(m Mode) Option { return optionFunc(func(c *config) { c.mode = m }) }

// WithIdleTimeout sets the idle timeout of new sessions (and of sessions
// given a fresh ID by Renew): each expires this long after its last
// request that saved or touched it. The record carries it
// (fsstore.Session.Idle), so every process and the sweep honour it
// whatever their own setting; a session created earlier keeps the idle
// timeout it was created with. It must lie within
// 1s..fsstore.MaxIdleTimeout; outside that every request fails with a 500
// naming it. Default 0: the store's (fsstore.WithIdleTimeout, 24 minutes
// unless set), so that a user idle for longer is logged out. A "remember
// me" of two weeks sets both this and WithLifetime.
func WithIdleTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.idle = d }) }

// WithLifetime sets the absolute lifetime of new sessions (and of sessions
// given a fresh ID by Renew), whatever their activity. Default 0: the
// store's lifetime (fsstore.WithLifetime, 24 hours unless set). The cookie
// lasts as long (see Cookie.BrowserSession). One below 1s (a units
// mistake: WithLifetime(1) is 1ns) fails every request with a 500 naming
// it, as an idle timeout below 1s does.
func WithLifetime(d time.Duration) Option { return optionFunc(func(c *config) { c.lifetime = d }) }

// WithLockTimeout bounds how long an Exclusive request waits for the
// session's lock (default 30 seconds; the request's context also bounds
// it). A request that times out gets the error handler with an error
// matching fsstore.ErrLocked (503 by default). It also bounds the commit
// that saves the session when the request has no earlier deadline: a
// commit runs on even if the client hangs up, but never past the
// request's deadline (set one, e.g. with a middleware, as the operator
// guide shows) or this timeout.
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lockTimeout = d })
}

// WithClock replaces time.Now, for tests; pass the same clock as
// fsstore.WithClock. A nil now is time.Now, as leaving the option out is.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithErrorHandler sets the function that answers a request whose session
// could not be loaded or committed before the response started. The
// default logs the error and answers 409 Conflict for fsstore.ErrConflict
// (an Optimistic commit lost a race; the client may retry); 504 Gateway
// Timeout for fsstore.ErrInDoubt (the change may have been saved); 503 Service
// Unavailable with Retry-After when the failure should pass (the store's
// file server did not answer in time or its circuit breaker is open,
// fsstore.ErrUnavailable; the lock wait timed out, fsstore.ErrLocked; the
// lock was lost, fsstore.ErrLockLost, as after a file server restart;
// the process holds as many locks as it may, fsstore.ErrTooManyLocks; the
// store is closed or its
// file server unreachable or out of space); and 500 Internal Server Error
// otherwise, including a session over the store's size limit
// (fsstore.ErrTooLarge), logged as such. Every error handler, h too, is
// handed a header whose Cache-Control is no-store, without the caching
// fields an outer middleware set for the route's pages (CDN-Cache-Control,
// Surrogate-Control, Edge-Control, X-Accel-Expires, Expires), so that no
// cache keeps an outage's answer and serves it after the outage; h may
// still Set a Cache-Control of its own. An answer that carries the
// session's cookie (a Release's, saved before the failure) is kept from
// shared caches as it starts, whatever h set, as every response with the
// cookie is (h's writer does it; it unwraps, for
// http.ResponseController). The error never contains the session ID. A
// nil h is the default handler, as leaving the option out is.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, error)) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

// WithLogger sets the logger for everything the Manager logs (default
// slog.Default(), which a nil l also selects; a zero slog.Logger, which has
// no handler, is an invalid configuration): an invalid configuration, the default error handler's
// errors, errors that can only be logged (after the response started, a
// failed touch or unlock, the failed delete of a session that a handler
// destroyed before it panicked), sessions started afresh because their
// record was damaged, sealed with a retired key, refused, or held another
// application's payload, and the warnings about a Secure cookie sent over
// plain HTTP, a cookie Domain the request's host is not in and two
// Managers with the same cookie name nested.
//
// It is not the store's logger, which is set where the store is opened
// (fsstore.WithLogger) and by default discards everything: the store logs
// from Open, before any Manager exists, and from goroutines of its own,
// what no request reports (its circuit breaker opening and closing, its
// mount turning read-only and back, a lock lost or a write applied after
// its request gave up, a key's check file or keys file in trouble, a
// mount that looks wrong at Open). Open the store with fsstore.WithLogger
// too, or those go nowhere.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.log = l }) }

// WithBufferReuse hands every buffer a request used back to the
// Manager's pool when the request ends, for later requests to read
// records and encode payloads into, the one the session's values live in
// included. Without it that buffer stays with the session, so that code
// still holding the session once the request ended (a framework's error
// handler or an outer middleware that runs after the handler, a goroutine
// the handler left running) reads the values it had, and each request
// that reads a session allocates a buffer of its size, which the garbage
// collector then reclaims: at 16 KiB most of what such a request costs
// beyond a 1 KiB one (see docs/measurements.md).
//
// With it, that code reads nothing: from the end of the request on, Get
// returns an error matching ErrReleased, the typed getters and PopString
// zero values, Exists false and Keys nothing, instead of bytes that
// another request may have written since. IsNew, Created, Deadline and
// Mode still answer. Nothing a request was given aliases a pooled buffer:
// the getters and Get decode into values of their own, and a Get still
// decoding a value when the request ends keeps the request's buffers out
// of the pool. The exception is a type of the application's that decodes
// itself: a json.Unmarshaler or encoding.TextUnmarshaler in dst is given
// bytes of the pooled buffer, which it must copy to keep, as
// encoding/json and encoding require (one that keeps them, say
// UnmarshalText storing its argument, reads another session's bytes
// once they are reused; without this option they stay the session's). Use it when nothing reads the session once
// the middleware's handler has returned.
func WithBufferReuse() Option { return optionFunc(func(c *config) { c.reuseBuffers = true }) }

func defaultConfig() config {
	return config{
		cookie:      DefaultCookie(),
		mode:        Exclusive,
		lockTimeout: 30 * time.Second,
		now:         time.Now,
	}
}
