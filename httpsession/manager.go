package httpsession

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// Manager loads and commits sessions for HTTP requests. It is safe for
// concurrent use; create one per store and share it across routes.
type Manager struct {
	st  *fsstore.Store
	cfg config
}

// New returns a Manager keeping sessions in st. The store stays the
// caller's to close.
func New(st *fsstore.Store, opts ...Option) *Manager {
	c := defaultConfig()
	for _, o := range opts {
		o.apply(&c)
	}
	if c.idle <= 0 {
		c.idle = 24 * time.Minute
		if _, _, maxIdle, err := fsstore.ReadLayout(st.Dir()); err == nil && maxIdle > 0 {
			c.idle = maxIdle
		}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	m := &Manager{st: st, cfg: c}
	if m.cfg.errorHandler == nil {
		m.cfg.errorHandler = m.defaultErrorHandler
	}
	return m
}

func (m *Manager) defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, fsstore.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, fsstore.ErrLocked):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	m.cfg.log.ErrorContext(r.Context(), "httpsession: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	http.Error(w, http.StatusText(code), code)
}

// Handler wraps next with the middleware in the Manager's default mode.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return m.Middleware(m.cfg.mode)(next)
}

// Middleware returns the middleware for one mode, for routers that take
// func(http.Handler) http.Handler. When a request already carries a session
// from an outer middleware of this package, the outer one's mode applies
// and the inner one does nothing.
func (m *Manager) Middleware(mode Mode) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if FromContext(r.Context()) != nil {
				next.ServeHTTP(w, r)
				return
			}
			m.serve(mode, next, w, r)
		})
	}
}

func (m *Manager) serve(mode Mode, next http.Handler, w http.ResponseWriter, r *http.Request) {
	// Responses differ by cookie: shared caches must not mix users.
	w.Header().Add("Vary", "Cookie")
	s, err := m.load(r, mode)
	if err != nil {
		m.cfg.errorHandler(w, r, err)
		return
	}
	// Unlock only after the handler returns, even if it panics: the lock
	// serializes the user's requests for their whole length, not just
	// until the headers are out.
	defer s.release()
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
	sw := &responseWriter{ResponseWriter: w, s: s, r: r}
	next.ServeHTTP(sw, r)
	sw.finish()
}

// load reads the session named by the request's cookie. An ID that is
// malformed, unknown, expired or whose record is damaged is not adopted:
// the request gets an empty session that will receive a fresh ID.
func (m *Manager) load(r *http.Request, mode Mode) (*Session, error) {
	s := &Session{m: m, mode: mode, ctx: context.WithoutCancel(r.Context()), values: map[string]json.RawMessage{}}
	c, err := r.Cookie(m.cfg.cookie.Name)
	if err != nil {
		return s, nil
	}
	id := c.Value
	if fsstore.ValidID(id) != nil {
		s.staleCookie = true
		return s, nil
	}
	var rec *fsstore.Session
	if mode == Exclusive {
		ctx, cancel := context.WithTimeout(r.Context(), m.cfg.lockTimeout)
		lk, err := m.st.Lock(ctx, id, fsstore.Exclusive)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("httpsession: lock session: %w", err)
		}
		rec, err = lk.Load(r.Context())
		if err != nil {
			lk.Unlock()
		} else {
			s.lk = lk
		}
		if err = m.loadError(r, err); err != nil {
			return nil, err
		}
	} else {
		rec, err = m.st.Load(r.Context(), id)
		if err = m.loadError(r, err); err != nil {
			return nil, err
		}
	}
	if rec == nil {
		s.staleCookie = true
		return s, nil
	}
	values, err := decode(rec.Data)
	if err != nil {
		// Not ours (another application's encoding) or damaged: start
		// afresh rather than fail every request of this user.
		m.cfg.log.WarnContext(r.Context(), "httpsession: session payload is not a JSON object; starting a new session", "err", err)
		s.release()
		s.staleCookie = true
		return s, nil
	}
	s.rec, s.loaded, s.values = rec, rec.Data, values
	return s, nil
}

// loadError turns "no usable session" into nil (the caller starts afresh)
// and keeps real failures.
func (m *Manager) loadError(r *http.Request, err error) error {
	switch {
	case err == nil, errors.Is(err, fsstore.ErrNotFound):
		return nil
	case errors.Is(err, fsstore.ErrCorrupt):
		m.cfg.log.WarnContext(r.Context(), "httpsession: damaged session record; starting a new session", "err", err)
		return nil
	}
	return fmt.Errorf("httpsession: load session: %w", err)
}

// newRecord makes a record with a fresh ID for payload.
func (m *Manager) newRecord(payload []byte) (*fsstore.Session, error) {
	id, err := fsstore.NewID()
	if err != nil {
		return nil, fmt.Errorf("httpsession: %w", err)
	}
	rec := &fsstore.Session{ID: id, Data: payload}
	if m.cfg.lifetime > 0 {
		rec.Deadline = m.cfg.now().Add(m.cfg.lifetime)
	}
	return rec, nil
}

func (m *Manager) cookie(value string) *http.Cookie {
	c := m.cfg.cookie
	return &http.Cookie{
		Name: c.Name, Value: value, Path: c.Path, Domain: c.Domain,
		Secure: c.Secure, HttpOnly: c.HttpOnly, SameSite: c.SameSite,
	}
}

func (m *Manager) setCookie(h http.Header, id string, deadline, now time.Time) {
	c := m.cookie(id)
	if m.cfg.cookie.Persist && deadline.After(now) {
		c.Expires = deadline.UTC().Truncate(time.Second).Add(time.Second)
		c.MaxAge = int(math.Ceil(deadline.Sub(now).Seconds()))
	}
	h.Add("Set-Cookie", c.String())
	// Tell caches not to store the Set-Cookie header with the page.
	h.Add("Cache-Control", `no-cache="Set-Cookie"`)
}

func (m *Manager) expireCookie(h http.Header) {
	c := m.cookie("")
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0)
	h.Add("Set-Cookie", c.String())
}

// errDiscarded is returned to a handler writing after the session commit
// failed and the error handler answered instead.
var errDiscarded = errors.New("httpsession: response discarded because the session could not be saved")

// responseWriter commits the session just before the response headers go
// out, so that the cookie can still be set.
type responseWriter struct {
	http.ResponseWriter
	s       *Session
	r       *http.Request
	started bool
	failed  bool
}

// start commits the session with the headers still open. On failure the
// error handler answers in place of the handler.
func (w *responseWriter) start() bool {
	if w.started {
		return !w.failed
	}
	w.started = true
	if err := w.s.commit(w.Header()); err != nil {
		w.failed = true
		h := w.Header()
		// Drop what the handler prepared (Content-Length, Location...):
		// it describes a response that will not be sent.
		clear(h)
		h.Set("Vary", "Cookie")
		w.s.m.cfg.errorHandler(w.ResponseWriter, w.r, err)
		return false
	}
	return true
}

// WriteHeader commits the session, then writes the header. Informational
// (1xx) headers pass through without committing.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.start() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session before the first byte.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.start() {
		return 0, errDiscarded
	}
	return w.ResponseWriter.Write(b)
}

// Flush commits the session and flushes, when the underlying writer can.
func (w *responseWriter) Flush() {
	if w.start() {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Hijack commits the session and hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.start() {
		return nil, nil, errDiscarded
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after the handler: it commits a session whose handler wrote
// nothing, or saves changes made after the response started.
func (w *responseWriter) finish() {
	if !w.started {
		w.start()
		return
	}
	if w.failed {
		return
	}
	if err := w.s.commit(nil); err != nil {
		w.s.m.cfg.log.ErrorContext(w.r.Context(), "httpsession: saving changes made after the response started failed", "method", w.r.Method, "path", w.r.URL.Path, "err", err)
	}
}
