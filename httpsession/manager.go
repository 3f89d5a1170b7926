package httpsession

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
	"github.com/sessfs/sessfs/internal/plainhttp"
)

// Errors reported by this package. The errors it returns wrap them, or
// fsstore's sentinels (fsstore.ErrLocked, fsstore.ErrTooLarge, ...); test
// them with errors.Is.
var (
	// ErrReleased reports a change to a session after Session.Release: the
	// session was already saved and unlocked, so the change is not saved.
	// A session changed once its handler returned (by a goroutine the
	// handler left running, say) fails with it too: its values can still
	// be read, but no change is saved any more; under WithBufferReuse a
	// Get then fails with it as well.
	ErrReleased = errors.New("httpsession: session already released")
	// ErrModeConflict reports a route whose Middleware asks for another
	// mode than an outer one after the outer handler already changed the
	// session: the change cannot be carried over safely.
	ErrModeConflict = errors.New("httpsession: route mode conflicts with changes already made to the session")
	// ErrNeedsCookie reports a change that needs a new session cookie
	// when the response can no longer carry one: Renew, or Put into a
	// session that has no record (a new one, or one destroyed in the
	// request), after the response started (a Renew refused so ends the
	// session, and every Put after it fails: see Session.Renew); and a Hijack of a request
	// that made a new session or renewed one, which the error handler
	// answers with it. Nothing of the change is kept. Make such changes before
	// the handler's first Write, WriteHeader or Flush. A change to a
	// session that has a record needs no cookie, and is saved when the
	// handler returns. A Put or Renew refused with it is logged at Warn,
	// once per change and path, for up to 8 of them per Manager: a
	// handler that drops the error loses the change on every request of
	// a client that comes without a session cookie.
	ErrNeedsCookie = errors.New("httpsession: the change needs a session cookie, which the response can no longer carry")
	// ErrUnencodable reports a Put of a key or value the session could not
	// give back as put: a value json.Marshal refuses (NaN, an infinity, a
	// channel, a cycle), a key that is not valid UTF-8 (JSON keys are
	// text: it would be saved as another key, merged with any that differs
	// from it only in its invalid bytes), or a value nested deeper than
	// JSON decoders read (9999 levels; encoding/json refuses more than
	// 10000, and the payload adds one). Nothing of the Put is kept.
	ErrUnencodable = errors.New("httpsession: cannot be stored as JSON")
)

// Manager loads and commits sessions for HTTP requests. It is safe for
// concurrent use; create one per store and share it across routes.
type Manager struct {
	st  *fsstore.Store
	cfg config
	// cfgErr is an invalid option found by New, which cannot return an
	// error: every request fails with it, loudly, instead of running with a
	// setting the caller did not ask for.
	cfgErr error
	// recIdle is the idle timeout WithIdleTimeout asked new records to
	// carry; 0 leaves them the store's.
	recIdle time.Duration
	// bufs holds *reqBuf for the records and encodings of requests (see
	// Session.held), so that a request's cost does not include
	// allocating, clearing and collecting its session's size.
	bufs sync.Pool
	// firstReads holds *[firstReadSize]byte for the read ReadFrom makes
	// before the response starts (see responseWriter.ReadFrom): every
	// file a handler serves through io.Copy or http.ServeContent would
	// allocate one.
	firstReads sync.Pool
	// plainWarned: the warning about a Secure cookie sent in answer to a
	// plain HTTP request was logged (see warnPlainHTTP).
	plainWarned atomic.Bool
	// nestedWarned: the warning about this Manager's middleware inside
	// another's with the same store and cookie name was logged (see
	// warnNested).
	nestedWarned atomic.Bool
	// needsCookieWarned holds the routes (change and path) that the
	// warning about a change refused with ErrNeedsCookie was logged for,
	// at most maxNeedsCookieWarnings (see warnNeedsCookie);
	// needsCookieFull is set once it holds that many.
	needsCookieMu     sync.Mutex
	needsCookieWarned map[string]bool
	needsCookieFull   atomic.Bool
	// domainWarned holds the hosts that the warning about a cookie Domain
	// they are not in was logged for, at most maxDomainWarnings (see
	// warnDomain); domainFull is set once it holds that many.
	domainMu     sync.Mutex
	domainWarned map[string]bool
	domainFull   atomic.Bool
	// readOnlyStore: the store refused a touch because it was opened
	// fsstore.WithReadOnly, which it stays for good; no touch is asked of
	// it again (see Session.maybeTouch).
	readOnlyStore atomic.Bool
	// readOnlyMount: a touch failed because the store's mount is
	// read-only on this host (EROFS), and that was logged; a touch that
	// succeeds clears it (see Session.maybeTouch).
	readOnlyMount atomic.Bool
	// idGen, when set (by a test), draws fresh IDs instead of
	// fsstore.NewID.
	idGen func() (string, error)
}

// reqBuf is a buffer a request reads a record or encodes a payload into,
// with the list of the payload's members.
type reqBuf struct {
	b []byte
	m []member
	// spare is a members list for a request's encoding (see
	// Session.commit), handed over by an ended session, which keeps its
	// bytes and no list (Session.end).
	spare []member
}

// maxPooledBuf bounds the buffers kept in Manager.bufs: a rare large
// session does not pin its size in every pooled buffer.
const maxPooledBuf = 1 << 20

// recordRoom is what a record adds to its payload (see
// fsstore.Store.LoadInto). It sizes the buffers loads read into.
const recordRoom = fsstore.RecordOverhead

func (m *Manager) getBuf() *reqBuf {
	if bp, ok := m.bufs.Get().(*reqBuf); ok {
		return bp
	}
	return new(reqBuf)
}

// maxPooledMembers bounds the members lists kept with pooled buffers, as
// maxPooledBuf bounds their bytes: a list takes 20 bytes a key, more than
// its payload for small values.
const maxPooledMembers = maxPooledBuf / int(unsafe.Sizeof(member{}))

func (m *Manager) putBuf(bp *reqBuf) {
	if cap(bp.b) <= maxPooledBuf {
		bp.b, bp.m = bp.b[:0], bp.m[:0]
		if cap(bp.m) > maxPooledMembers {
			bp.m = nil
		}
		if cap(bp.spare) > maxPooledMembers {
			bp.spare = nil
		}
		m.bufs.Put(bp)
	}
}

// New returns a Manager keeping sessions in st. The store stays the
// caller's to close. An invalid option (a cookie browsers would drop, a
// non-positive lock timeout, a nil Option) or a nil st is logged at once and makes every
// request fail with a 500 naming it; Manager.Err returns it, for a program
// that would rather not start.
func New(st *fsstore.Store, opts ...Option) *Manager {
	c := defaultConfig()
	var nilOpt error
	for i, o := range opts {
		if o == nil {
			// A nil Option (an option chosen at run time and left unset)
			// is reported like any other invalid option, not a panic here.
			if nilOpt == nil {
				nilOpt = fmt.Errorf("httpsession: option %d of %d passed to New is nil", i+1, len(opts))
			}
			continue
		}
		o.apply(&c)
	}
	recIdle := c.idle
	if c.idle <= 0 && st != nil {
		c.idle = st.IdleTimeout()
	}
	var noHandler bool
	if c.log != nil && c.log.Handler() == nil {
		// A zero slog.Logger panics on its first record: refused, and
		// the refusal logged where a log line can be written.
		c.log, noHandler = nil, true
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	m := &Manager{st: st, cfg: c, recIdle: recIdle}
	m.cfg.cookie, m.cfgErr = c.cookie.resolve()
	if m.cfgErr != nil {
		m.cfgErr = fmt.Errorf("httpsession: WithCookie: %w", m.cfgErr)
	}
	switch {
	case nilOpt != nil:
		m.cfgErr = nilOpt
	case m.cfgErr != nil:
	case st == nil:
		m.cfgErr = errors.New("httpsession: nil store (did fsstore.Open fail?)")
	case noHandler:
		m.cfgErr = errors.New("httpsession: WithLogger given a slog.Logger without a handler (a zero slog.Logger); make it with slog.New, or pass nil for slog.Default()")
	case recIdle != 0 && (recIdle < time.Second || recIdle > fsstore.MaxIdleTimeout):
		m.cfgErr = fmt.Errorf("httpsession: WithIdleTimeout %v is outside 1s..%v; 0 keeps the store's", recIdle, fsstore.MaxIdleTimeout)
	case c.lockTimeout <= 0:
		m.cfgErr = fmt.Errorf("httpsession: WithLockTimeout %v is not positive", c.lockTimeout)
	case c.lifetime < 0:
		m.cfgErr = fmt.Errorf("httpsession: WithLifetime %v is negative; 0 keeps the store's", c.lifetime)
	case c.lifetime > 0 && c.lifetime < time.Second:
		// As the idle timeout's floor, and fsstore.WithLifetime's.
		m.cfgErr = fmt.Errorf("httpsession: WithLifetime %v is below 1s (a time.Duration counts nanoseconds: write 24*time.Hour); 0 keeps the store's", c.lifetime)
	case !c.mode.valid():
		m.cfgErr = fmt.Errorf("httpsession: WithMode %v is not a mode", c.mode)
	}
	if m.cfgErr != nil {
		m.cfg.log.Error("httpsession: invalid configuration; every request will fail", "err", m.cfgErr)
	}
	h := m.cfg.errorHandler
	if h == nil {
		h = m.defaultErrorHandler
	}
	m.cfg.errorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// Before any handler, the application's too: an outage page a
		// shared cache kept would be served after the outage. A handler
		// that wants its answer cached sets its own Cache-Control.
		noStore(w.Header())
		ew := &errorWriter{ResponseWriter: w, m: m}
		h(ew, r, err)
		// A handler that wrote nothing: net/http sends the header as it
		// left it.
		ew.readyHeader()
	}
	return m
}

// errorWriter is the writer an error handler is handed: it readies the
// header as the answer starts, as the middleware's writer readies the
// handler's (see Manager.KeepFromSharedCaches). An error answer may carry
// the session's cookie (that of a Release, or of a Manager's middleware
// inside this one, saved before the failure), and a handler of the
// application's own may set caching fields for its page
// (Cache-Control: public, a Surrogate-Control) after New's no-store: a
// shared cache that stored the answer would hand the session to the next
// visitor.
type errorWriter struct {
	http.ResponseWriter
	m     *Manager
	ready bool
}

func (w *errorWriter) readyHeader() {
	if !w.ready {
		w.ready = true
		w.m.KeepFromSharedCaches(w.Header())
	}
}

// WriteHeader readies the header, unless code is informational (1xx),
// then writes it.
func (w *errorWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.readyHeader()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write readies the header before the first byte.
func (w *errorWriter) Write(b []byte) (int, error) {
	w.readyHeader()
	return w.ResponseWriter.Write(b)
}

// Flush readies the header, which a flush sends, and flushes.
func (w *errorWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush, with the error of the writer it wraps (see
// http.ResponseController).
func (w *errorWriter) FlushError() error {
	w.readyHeader()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the writer the error handler's answer goes to, for
// http.ResponseController.
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Err returns the configuration error New found (an invalid option, a nil
// store), which makes every request fail with a 500, or nil. Check it where
// the Manager is made, so that a mistake stops the program as it starts:
//
//	sessions := httpsession.New(st, httpsession.WithCookie(httpsession.Cookie{Name: "app_session"}))
//	if err := sessions.Err(); err != nil {
//		log.Fatal(err)
//	}
//
// On a nil *Manager or a Manager{} not made by New, Err returns an error
// saying so.
func (m *Manager) Err() error {
	if err := m.notNew(); err != nil {
		return err
	}
	return m.cfgErr
}

// notNew reports a Manager New did not make: a nil one, or a Manager{}
// used directly, which has no store, error handler or logger.
func (m *Manager) notNew() error {
	switch {
	case m == nil:
		return errors.New("httpsession: nil *httpsession.Manager (use New)")
	case m.cfg.errorHandler == nil:
		return errors.New("httpsession: httpsession.Manager not made by New")
	}
	return nil
}

// mustWrap panics, where the middleware is put around a handler (as the
// program starts, as http.Handle does for a nil handler), for wiring no
// request can be served through: a Manager New did not make, or a nil
// next. Every request would otherwise panic in the middle of serving,
// with a nil dereference that names neither.
func (m *Manager) mustWrap(next http.Handler) {
	if err := m.notNew(); err != nil {
		panic(err.Error())
	}
	if next == nil {
		panic("httpsession: nil http.Handler passed to the middleware")
	}
}

func (m *Manager) defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusCode(err)
	msg, level := "httpsession: request failed", slog.LevelError
	switch {
	case code == StatusClientClosedRequest:
		// Not the server's failure, and common (a closed tab, a
		// client's own timeout): no ERROR line for each.
		msg, level = "httpsession: the client went away while its session was loading or waiting for its lock", slog.LevelInfo
	case code == http.StatusConflict:
		// Refused so that another request's change (an Optimistic
		// commit's, a log in's Renew) is not lost. Not the server's
		// failure.
		msg, level = "httpsession: the session changed since this request read it (another request saved or renewed it); its change was refused", slog.LevelWarn
	case code == http.StatusGatewayTimeout:
		msg = "httpsession: request failed; its session change may have been saved"
	case code == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		if errors.Is(err, fsstore.ErrLocked) {
			// The lock package's own words ("held by another owner
			// while waiting") leave out who may have held it and what
			// shortens the wait. It does not say which holder it was:
			// the line names each that can be, and the stripe's
			// holders outside this process (another session's request
			// on another host, sessgc) are no request of the user's.
			msg = "httpsession: the session's lock was not had in time (the Manager's WithLockTimeout, or the request's deadline): it was held that long by another request for the same session, on this host or another, or, from another host or process, by a request for another session that shares its lock stripe (fsstore.WithLockStripes) or by sessgc's sweep or rekey, which lock a record's stripe while they remove or rewrite it (for long only when the file server stalls); the lock does not say which. A long handler calls Session.Release once done with the session, and routes that only read take no lock (ReadOnly)"
		}
	case errors.Is(err, fsstore.ErrTooLarge):
		msg = "httpsession: session larger than the store's size limit (fsstore.WithMaxSize); nothing saved"
	}
	m.cfg.log.Log(r.Context(), level, msg, "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	http.Error(w, http.StatusText(code), code)
}

// noStore keeps an error answer out of every cache, whatever caching an
// outer middleware set for the route's pages: a shared cache, or the
// browser's, would hand out the outage's answer once the store was back.
// New runs it before every error handler, the application's own included.
// It drops the fields that caches obey over Cache-Control (CDN-Cache-Control
// fields, Surrogate-Control, Akamai's Edge-Control, nginx's
// X-Accel-Expires) and Expires, and
// adds no-store to Cache-Control, from which it drops public and s-maxage
// (see privatize), as caches that misread the field may not make no-store
// win over them; the lines that kept a session cookie out of caches stay.
func noStore(h http.Header) {
	canonicalCaching(h)
	for k := range h {
		if strings.HasSuffix(k, "Cdn-Cache-Control") {
			delete(h, k)
		}
	}
	h.Del("Surrogate-Control")
	h.Del("Edge-Control")
	h.Del("X-Accel-Expires")
	h.Del("Expires")
	h.Add("Cache-Control", "no-store")
	privatize(h, "Cache-Control") // no-store there, it adds no private
}

// StatusClientClosedRequest is the status StatusCode gives a request whose
// client went away (its context was canceled) while its session was
// loading or waiting for its lock: 499, as nginx logs such requests. No
// one reads the answer; the status is for access logs and metrics, which
// should not count a client's hang-up as a server error.
const StatusClientClosedRequest = 499

// StatusCode is the HTTP status that answers a request whose session
// failed with err, as the Manager's default error handler answers it:
// 409 Conflict for fsstore.ErrConflict (an Optimistic commit lost a race;
// the client may retry), 504 Gateway Timeout for fsstore.ErrInDoubt (the
// change may have been saved, so a retry is not known to be safe; from a
// delete, as a log out's, the session may be gone, and deleting it again
// is safe),
// StatusClientClosedRequest (499) for a request whose client went away
// (context.Canceled, unless the store gave up on a call into the file
// system meanwhile, fsstore.ErrUnavailable, which on NFS or EFS a load in
// progress is: that stays a 503, since a server that does not answer
// looks the same and its clients leaving must not hide it), 503
// Service Unavailable for a failure that should pass (the file server did
// not answer in time or the store's circuit breaker is open,
// fsstore.ErrUnavailable; a lock wait timed out, fsstore.ErrLocked, or a
// lock was lost, fsstore.ErrLockLost; the process holds as many locks as
// it may, or the file server refused another, fsstore.ErrTooManyLocks;
// the request's deadline passed; the store is closed; the file server
// failed, or it or this host is out of space or of file descriptors; the
// store's file system is read-only on this host, EROFS, which fails the
// host's readiness probe from the first write refused, see
// fsstore.Store.Health, so that a retry reaches another host), and 500
// Internal Server Error otherwise (a permission error among them: every
// host meets it alike); 200 for nil. Send Retry-After with
// a 503. For handlers of other session libraries on an fsstore.Store, such
// as scs's ErrorFunc (see adapters/scsstore.ErrorFunc) or a gorilla
// application's check of Session.Save's error.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, fsstore.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, fsstore.ErrInDoubt):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled) && !errors.Is(err, fsstore.ErrUnavailable):
		return StatusClientClosedRequest
	case unavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// unavailableErrnos are failures of the file server or of this host's
// resources that pass: the request may succeed if retried shortly. So do
// a full file system or quota and a read-only one (a mount the kernel
// remounted read-only after an error, one mounted ro by mistake), each
// by every code the system has for it (fserr): a read-only mount is one
// host's, whose readiness probe fails from the first write refused, so
// the retry reaches another host.
var unavailableErrnos = []syscall.Errno{
	syscall.EIO, syscall.ESTALE, syscall.ETIMEDOUT, syscall.ENOTCONN,
	syscall.EMFILE, syscall.ENFILE,
}

// unavailable reports whether err says "try again shortly" (503) rather
// than "this request or this server is broken" (500).
func unavailable(err error) bool {
	switch {
	case errors.Is(err, fsstore.ErrUnavailable), errors.Is(err, fsstore.ErrLocked),
		errors.Is(err, fsstore.ErrTooManyLocks), errors.Is(err, fsstore.ErrLockLost),
		errors.Is(err, fsstore.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	if fserr.NoSpace(err) || fserr.ReadOnly(err) {
		return true
	}
	for _, e := range unavailableErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Handler wraps next with the middleware in the Manager's default mode.
// It panics, as the program wires its handlers, for a nil next or a
// Manager New did not make (see Err).
func (m *Manager) Handler(next http.Handler) http.Handler {
	m.mustWrap(next)
	return m.Middleware(m.cfg.mode)(next)
}

// Middleware returns the middleware for one mode, for routers that take
// func(http.Handler) http.Handler.
//
// Middlewares nest: when a request already carries a session from an outer
// middleware of the same Manager (Handler around the whole mux, say), the
// innermost mode applies to the route. If the outer handler already used
// the session, the route reloads it in its own mode; if the outer handler
// already changed it, the request fails with ErrModeConflict (500). A
// middleware of another Manager starts its own session, which its routes
// see through FromContext; a middleware of this Manager inside that one
// takes up this Manager's session again, in its mode, and its routes see
// that one: FromContext returns the session of the innermost middleware
// around the route.
//
// So nest only the middlewares of one Manager, and give a second Manager
// on the same store a cookie name of its own. Two Managers with the same
// store and cookie name, one inside the other, open the same session twice
// in one request: once the outer one holds its lock (Exclusive mode, after
// its first use), the inner one's first use in Exclusive mode waits for
// that lock, which nothing releases before the inner lock timeout, and the
// route answers 503 on every request; the inner Manager logs a warning
// saying so, once, on the first request it serves nested so. For options
// that differ by route, use one Manager and Middleware(mode).
//
// The middleware panics, as the program wires its handlers, for a nil
// next or a Manager New did not make (see Err).
func (m *Manager) Middleware(mode Mode) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		m.mustWrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !mode.valid() {
				err := fmt.Errorf("httpsession: unknown mode %v", mode)
				if s := m.sessionIn(r.Context()); s != nil {
					s.abort(err)
				}
				w.Header().Add("Vary", "Cookie")
				m.cfg.errorHandler(w, r, err)
				return
			}
			// This Manager's session, also from beyond another Manager's
			// middleware: opened a second time, it would wait for the lock
			// its first opening holds.
			if s := m.sessionIn(r.Context()); s != nil {
				if err := s.setMode(mode); err != nil {
					s.abort(err) // the outer writer must not commit for the error answer
					m.cfg.errorHandler(w, r, err)
					return
				}
				if FromContext(r.Context()) != s {
					// Another Manager's session is the innermost: the
					// route sees this middleware's.
					r = r.WithContext(&sessionContext{Context: r.Context(), s: s})
				}
				next.ServeHTTP(w, r)
				return
			}
			m.warnNested(r)
			m.serve(mode, next, w, r)
		})
	}
}

func (m *Manager) serve(mode Mode, next http.Handler, w http.ResponseWriter, r *http.Request) {
	// Responses differ by cookie: shared caches must not mix users.
	w.Header().Add("Vary", "Cookie")
	if m.cfgErr != nil {
		m.cfg.errorHandler(w, r, m.cfgErr)
		return
	}
	// The header as outer middlewares left it (CORS, a request ID, their
	// Vary): an error answer keeps it, and drops only what the handler set.
	// Without outer middlewares it is the Vary above alone: no copy.
	var base http.Header
	if h := w.Header(); len(h) != 1 || len(h["Vary"]) != 1 {
		base = h.Clone()
	}
	s := m.newSession(r, mode, w.Header())
	// Unlock only after the handler returns (or when it calls Release),
	// even if it panics: the lock serializes the user's requests for their
	// whole length, not just until the headers are out.
	defer s.end()
	r = r.WithContext(&sessionContext{Context: r.Context(), s: s})
	sw := &responseWriter{ResponseWriter: w, s: s, r: r, base: base}
	s.w = sw
	returned := false
	defer func() {
		if !returned {
			// The handler panicked: nothing it changed is saved, but
			// a log out it asked for is carried out, as for an error
			// answer, whoever answers the panic (a recovery middleware
			// outside this one, net/http's).
			s.abandon(r.Context())
		}
	}()
	var hw http.ResponseWriter = sw
	if pushes(w) {
		hw = pushWriter{sw}
	}
	next.ServeHTTP(hw, r)
	returned = true
	sw.finish()
}

// newSession prepares the request's session without any I/O: the record is
// read, and in Exclusive mode locked, on the handler's first use of the
// session, so a request still reading its body, or one whose handler never
// looks at the session, holds no lock and costs no round trip.
func (m *Manager) newSession(r *http.Request, mode Mode, h http.Header) *Session {
	s := &Session{
		m: m, mode: mode, hdr: h, req: r,
		reqCtx: r.Context(), ctx: context.WithoutCancel(r.Context()),
	}
	// Browsers send every cookie of the name that matches the request,
	// the longest path first: one left by an earlier Cookie.Path, or by
	// a sibling subdomain, may come before the session's. So each
	// well-formed ID is a candidate (see Session.load).
	bad := false
	for _, c := range r.CookiesNamed(m.cfg.cookie.Name) {
		switch {
		case fsstore.ValidID(c.Value) != nil:
			bad = true
		case s.cookieID == "":
			s.cookieID = c.Value
		case c.Value != s.cookieID && !slices.Contains(s.moreIDs, c.Value) && len(s.moreIDs) < maxMoreIDs:
			s.moreIDs = append(s.moreIDs, c.Value)
		}
	}
	// A malformed cookie is cleared only when no well-formed one came
	// with it: the removal would remove that one too.
	s.badCookie = bad && s.cookieID == ""
	return s
}

// maxMoreIDs bounds the further candidate IDs a request's cookies name
// (see newSession): each costs a load.
const maxMoreIDs = 3

// unusableRecord is why a cookie's ID names no usable session: err, the
// store's refusal of its record (namesNoSession), or with payload the decoder's
// of the record's payload.
type unusableRecord struct {
	err     error
	payload bool
}

// namesNoSession reports whether err, a load's, says that the ID names no
// usable session, which the user does without (a fresh session, or
// another cookie's), rather than a failure the request reports: a record
// that is gone or expired, damaged, sealed with a key that is not
// configured, or refused.
func namesNoSession(err error) bool {
	for _, target := range []error{fsstore.ErrNotFound, fsstore.ErrUnknownKey, fsstore.ErrCorrupt, fsstore.ErrRefused} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// logUnusable logs a record that names no usable session and is more than
// gone (see namesNoSession): found says whether another cookie of the name
// named the session, or the user starts afresh.
func (m *Manager) logUnusable(ctx context.Context, u unusableRecord, found bool) {
	outcome := "; starting a new session"
	if found {
		outcome = "; another cookie of the session's name named a usable session, which the request uses"
	}
	switch {
	case u.payload:
		// Not ours: fsstore's checksum passed, so the record is as its
		// writer saved it. The usual writer is another application or
		// adapter on the store under the same cookie name (scs names its
		// cookie "session" too), whose users and ours log each other out
		// until one of them moves.
		m.cfg.log.WarnContext(ctx, "httpsession: session payload is not a JSON object, so httpsession did not write it: another application or adapter (scsstore, say) may use this store under the same cookie name; give each its own store directory or cookie name"+outcome,
			"cookie", m.cfg.cookie.Name, "err", u.err)
	case errors.Is(u.err, fsstore.ErrUnknownKey):
		// A key retired too early must not lock its users out with a 500
		// on every request: they start afresh, and the record stays for
		// the sweep (or for the key to come back).
		m.cfg.log.WarnContext(ctx, "httpsession: session record sealed with a key that is not configured"+outcome, "err", u.err)
	case errors.Is(u.err, fsstore.ErrCorrupt):
		m.cfg.log.WarnContext(ctx, "httpsession: damaged session record"+outcome, "err", u.err)
	case errors.Is(u.err, fsstore.ErrRefused):
		// A symbolic link or an unreadable file at the record's name
		// fails the same way until an operator fixes it: a fresh session
		// rather than a 500 on every request of this user. Error, not
		// Warn: unlike damage, nothing the store does leaves it.
		m.cfg.log.ErrorContext(ctx, "httpsession: session record refused"+outcome, "err", u.err)
	}
}

// newID draws a fresh session ID (from idGen, a test's, when set).
func (m *Manager) newID() (string, error) {
	gen := fsstore.NewID
	if m.idGen != nil {
		gen = m.idGen
	}
	id, err := gen()
	if err != nil {
		return "", fmt.Errorf("httpsession: %w", err)
	}
	return id, nil
}

// newRecord makes a record with a fresh ID for payload.
func (m *Manager) newRecord(payload []byte) (*fsstore.Session, error) {
	id, err := m.newID()
	if err != nil {
		return nil, err
	}
	rec := &fsstore.Session{ID: id, Data: payload, Idle: m.recIdle}
	if m.cfg.lifetime > 0 {
		rec.Deadline = m.cfg.now().Add(m.cfg.lifetime)
	}
	return rec, nil
}

func (m *Manager) cookie(value string) *http.Cookie {
	c := m.cfg.cookie
	return &http.Cookie{
		Name: c.Name, Value: value, Path: c.Path, Domain: c.Domain,
		Secure: !c.Insecure, HttpOnly: !c.ScriptAccess, SameSite: c.SameSite,
		Partitioned: c.Partitioned,
	}
}

func (m *Manager) setCookie(h http.Header, id string, deadline, now time.Time) {
	c := m.cookie(id)
	// Round down: a cookie that outlives the session server-side only
	// makes the browser send a dead ID.
	if maxAge := deadline.Sub(now) / time.Second; !m.cfg.cookie.BrowserSession && maxAge > 0 {
		c.MaxAge = int(maxAge)
		c.Expires = deadline.UTC().Truncate(time.Second)
	}
	h.Add("Set-Cookie", c.String())
	// Tell caches not to store the Set-Cookie header with the page.
	h.Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// warnPlainHTTP logs, once per Manager, that a Secure cookie naming a
// session went out in answer to a request the client sent over plain HTTP:
// browsers refuse to store it or never send it back over HTTP, so each of
// the user's requests starts a new session, and nothing else says why.
// The proxy headers it reads are anyone's to forge: they decide only
// whether to warn, never anything the cookie or the session depends on.
func (m *Manager) warnPlainHTTP(r *http.Request) {
	if m.cfg.cookie.Insecure || m.plainWarned.Load() || !plainhttp.SecureCookieLost(r) {
		return
	}
	if m.plainWarned.CompareAndSwap(false, true) {
		m.cfg.log.WarnContext(r.Context(), "httpsession: a Secure session cookie went out in answer to a plain HTTP request; browsers do not send it back over HTTP, so every request starts a new session. Serve the app over HTTPS (behind a proxy that terminates TLS, have it send X-Forwarded-Proto: https), or set Cookie.Insecure for development over plain HTTP, never in production; in a handler test, give httptest.NewRequest an https:// URL. Logged once.",
			"host", r.Host) // not the path: it may carry a token (a password reset link)
	}
}

// maxNeedsCookieWarnings bounds the routes warnNeedsCookie warns about:
// a path may carry an ID (/orders/123), and a client asking for a new one
// with each request must not fill the log.
const maxNeedsCookieWarnings = 8

// warnNeedsCookie logs, at Warn, once per change (op: "put", "renew") and
// path, for up to maxNeedsCookieWarnings of them per Manager, a change
// refused with ErrNeedsCookie (err) because the response had started: Put
// returns the error, but a handler that drops it (a streamed page, a log
// in that writes before it renews) loses the change without a trace. Such
// a route works for users whose session has a record and fails for every
// client that comes without the cookie: each first visit, a client that
// keeps no cookies, every request when a Cookie.Domain or Path keeps the
// cookie from coming back. Once a route, as it meets it on each such
// request; by route, since a Manager serves many and one logged must not
// hide another that has the same fault.
func (m *Manager) warnNeedsCookie(r *http.Request, op string, err error) {
	if m.needsCookieFull.Load() {
		return
	}
	key := op + " " + r.URL.Path
	m.needsCookieMu.Lock()
	if m.needsCookieWarned[key] || len(m.needsCookieWarned) >= maxNeedsCookieWarnings {
		m.needsCookieMu.Unlock()
		return
	}
	if m.needsCookieWarned == nil {
		m.needsCookieWarned = make(map[string]bool, maxNeedsCookieWarnings)
	}
	m.needsCookieWarned[key] = true
	m.needsCookieFull.Store(len(m.needsCookieWarned) == maxNeedsCookieWarnings)
	m.needsCookieMu.Unlock()
	m.cfg.log.WarnContext(r.Context(), "httpsession: a change to the session was refused because it needs a new session cookie and the response can no longer carry one (a Put into a session with no record, as every client without a session cookie has, or a Renew, after the handler's first Write, WriteHeader or Flush); the change was not kept, and the route meets this on every request of a client that comes without the cookie. Make the change before the response starts. Logged once for this route.",
		"method", r.Method, "path", r.URL.Path, "err", err)
}

// warnNested logs, once per Manager, that its middleware serves a request
// inside the middleware of another Manager on the same store with the same
// cookie name: both open the user's session, and once the outer one holds
// its lock (Exclusive mode, after its first use, as an authentication
// check makes it), the inner one's first use waits for that lock until
// its lock timeout, and the route answers 503 on every request, with an
// error that says only that the lock was held. The request is served as
// before: where the outer middleware never uses the session, it works.
//
// The other Manager need not be the innermost around this one (another
// Manager's middleware, of a cookie of its own, may be between), nor on the
// same *fsstore.Store: a second Store opened on the same directory locks
// the same records.
func (m *Manager) warnNested(r *http.Request) {
	if m.nestedWarned.Load() || r.Context().Value(twinKey{m}) == nil {
		return
	}
	if m.nestedWarned.CompareAndSwap(false, true) {
		m.cfg.log.WarnContext(r.Context(), "httpsession: this Manager's middleware runs inside another Manager's on the same store with the same cookie name: both open the user's session, and once the outer one has locked it, the inner one waits for that lock until its lock timeout and the request fails (503). Use one Manager, with Middleware(mode) for the routes whose mode differs, or give the second Manager a cookie name of its own (WithCookie). Logged once.",
			"cookie", m.cfg.cookie.Name)
	}
}

// sameSessions reports whether o, another Manager, opens the sessions m
// opens: it has the same cookie name, and its store is m's or one opened
// on the same directory.
func (m *Manager) sameSessions(o *Manager) bool {
	if o.cfg.cookie.Name != m.cfg.cookie.Name {
		return false
	}
	return o.st == m.st || o.st != nil && m.st != nil && o.st.Dir() == m.st.Dir()
}

// maxDomainWarnings bounds the hosts warnDomain warns about: a client
// may send any Host header, and a scanner sending a new one with each
// request must not fill the log.
const maxDomainWarnings = 8

// warnDomain logs, once per host and for up to maxDomainWarnings hosts per
// Manager, that a cookie naming a session went out with a Cookie.Domain
// that the host the client asked for is not in (neither the domain nor a
// subdomain of it): browsers drop such a cookie, so each of the user's
// requests starts a new session, and nothing else says why. The host is
// taken from the Host header and, behind a proxy, from X-Forwarded-Host
// and Forwarded's host; any of them in the domain is enough not to warn.
// A host that may be a proxy's name for this server rather than the
// client's (see publicName) is not judged: only a mismatch a browser is
// sure to see is reported, never a deployment that works. A host whose
// name is public but which a proxy gave all the same is warned about once,
// and does not keep a real mismatch on another host from being reported.
func (m *Manager) warnDomain(r *http.Request) {
	domain := m.cfg.cookie.Domain
	if domain == "" || r == nil || m.domainFull.Load() {
		return
	}
	var judged []string
	for h := range requestHosts(r) {
		if domainMatch(h, domain) {
			return
		}
		if publicName(h) && !slices.Contains(judged, h) {
			judged = append(judged, h)
		}
	}
	if len(judged) == 0 {
		return
	}
	key := strings.Join(judged, " ")
	m.domainMu.Lock()
	if m.domainWarned[key] || len(m.domainWarned) >= maxDomainWarnings {
		m.domainMu.Unlock()
		return
	}
	if m.domainWarned == nil {
		m.domainWarned = make(map[string]bool, maxDomainWarnings)
	}
	m.domainWarned[key] = true
	m.domainFull.Store(len(m.domainWarned) == maxDomainWarnings)
	m.domainMu.Unlock()
	args := []any{"host", r.Host, "cookie_domain", domain} // not the path: it may carry a token
	if fh := r.Header.Values("X-Forwarded-Host"); len(fh) > 0 {
		args = append(args, "x_forwarded_host", strings.Join(fh, ", "))
	}
	m.cfg.log.WarnContext(r.Context(), "httpsession: the session cookie's Cookie.Domain does not match the host the request was sent to; browsers drop the cookie, so every request starts a new session. Set Cookie.Domain to that host or a parent domain of it, or leave it empty for a host-only cookie; behind a proxy that rewrites the Host header, have it send the original in X-Forwarded-Host. Logged once per host, for up to "+strconv.Itoa(maxDomainWarnings)+" hosts.", args...)
}

// requestHosts yields the hosts r names as the one its client asked for:
// the Host header, and those of proxy headers (X-Forwarded-Host, RFC
// 7239's Forwarded), lower case, without port or trailing dot.
func requestHosts(r *http.Request) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if !yield(normalHost(r.Host)) {
			return
		}
		for _, v := range r.Header.Values("X-Forwarded-Host") {
			for h := range strings.SplitSeq(v, ",") {
				if !yield(normalHost(strings.TrimSpace(h))) {
					return
				}
			}
		}
		for _, v := range r.Header.Values("Forwarded") {
			for p := range strings.FieldsFuncSeq(v, func(c rune) bool { return c == ',' || c == ';' }) {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "host") && !yield(normalHost(strings.Trim(val, `"`))) {
					return
				}
			}
		}
	}
}

// normalHost returns host (a Host header's value) lower case, without its
// port, the brackets of an IPv6 address or a trailing dot.
func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// domainMatch reports whether a browser stores a cookie with the Domain
// attribute domain in answer to a request to host (normalHost's form):
// the host is the domain or a name under it, never an IP address under it
// (RFC 6265, section 5.1.3). A leading dot is dropped, as browsers do; a
// trailing one is kept: net/http sends it as given, and browsers (as RFC
// 6265bis says) drop the cookie rather than match "example.com." to the
// host example.com.
func domainMatch(host, domain string) bool {
	domain = strings.ToLower(strings.TrimPrefix(domain, "."))
	if host == domain {
		return true
	}
	return strings.HasSuffix(host, "."+domain) && net.ParseIP(host) == nil
}

// publicName reports whether host (normalHost's form) is a name a browser
// may have asked for, rather than one a proxy in front of this server
// gives it: not an IP address, not a loopback name, with a dot, and not
// under a top-level name that no public DNS resolves (see privateTLD).
func publicName(host string) bool {
	if !strings.Contains(host, ".") || net.ParseIP(host) != nil || plainhttp.Loopback(host) {
		return false
	}
	return !privateTLD(host[strings.LastIndexByte(host, '.')+1:])
}

// privateTLD reports whether tld names no public domain, and so a host
// under it is a private network's name, such as a reverse proxy that
// rewrites the Host header gives an upstream (ip-10-0-1-5.ec2.internal,
// app.default.svc.cluster.local): reserved for private use (internal),
// special-use names (RFC 6761's test, invalid and example; RFC 6762's
// local; RFC 8375's home.arpa, and arpa's other names, which are no
// sites), names ICANN withheld for their use on private networks (home,
// corp, mail), and names private networks use that no registry delegates
// (lan, localdomain, intranet, private, and Kubernetes' svc).
func privateTLD(tld string) bool {
	switch tld {
	case "internal", "test", "invalid", "example", "local", "arpa",
		"home", "corp", "mail", "lan", "localdomain", "intranet", "private", "svc":
		return true
	}
	return false
}

func (m *Manager) expireCookie(h http.Header) {
	c := m.cookie("")
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0)
	h.Add("Set-Cookie", c.String())
	// A shared cache replaying the removal would log other users out.
	h.Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// keepFromSharedCaches makes a response that carries the session's cookie
// (a fresh ID's, or its removal) one that no shared cache stores: a proxy
// or CDN that replayed it would hand one user's session to the next
// visitor (who sends no cookie either, so Vary: Cookie does not tell them
// apart), or log other users out. The no-cache="Set-Cookie" the cookie
// comes with is not enough: the qualified form is widely read as plain
// no-cache, which stores the response and replays it, cookie and all,
// after a revalidation (RFC 9111, section 5.2.2.4), and some CDNs ignore
// it. So Cache-Control gets private, unless the handler already said
// private or no-store; a public or s-maxage of the handler's, which lets
// shared caches store the response, is dropped, and its other directives
// (max-age, no-store, ...) stay. CDN-Cache-Control fields (RFC 9213, and
// vendors' such as Cloudflare-CDN-Cache-Control), which the CDNs that
// read them obey in place of Cache-Control, get the same when the handler
// set them. So do the fields with which a CDN or reverse proxy decides on
// its own caching, over Cache-Control, and that have no private: see
// privatizeAll.
func (m *Manager) keepFromSharedCaches(h http.Header) {
	if m.carriesCookie(h) {
		privatizeAll(h)
	}
}

// KeepFromSharedCaches readies h, the header of a response about to go
// out, as the middleware readies it when the response starts: Vary names
// Cookie, and when h sets or removes the session's cookie, no shared cache
// may store it (Cache-Control: private, see the package documentation).
// It is for what sets headers after that, outside the middleware: echo's
// Response.Before hooks of an outer middleware run as the header is
// written, after the middleware's writer readied it (adapters/echosession
// calls this from a hook of its own, which runs after them), and so does a
// writer an outer middleware wraps around the response, whose WriteHeader
// could call it last.
func (m *Manager) KeepFromSharedCaches(h http.Header) {
	varyByCookie(h)
	m.keepFromSharedCaches(h)
}

// privatizeAll privatizes h's Cache-Control and CDN-Cache-Control fields
// (see keepFromSharedCaches). The fields a surrogate obeys over them, when
// the handler set them, become no-store: Surrogate-Control (Fastly,
// Varnish, the Edge Architecture's; a max-age there had the CDN store the
// response whatever Cache-Control said), Akamai's Edge-Control, and
// nginx's X-Accel-Expires, whose 0 is its no-store (nginx caches no
// response with a Set-Cookie unless told to ignore it, which a site
// caching its pages whatever cookies they set does).
func privatizeAll(h http.Header) {
	canonicalCaching(h)
	privatize(h, "Cache-Control")
	for k := range h {
		if strings.HasSuffix(k, "Cdn-Cache-Control") {
			privatize(h, k)
		}
	}
	surrogateNoStore(h, "Surrogate-Control", "content")
	surrogateNoStore(h, "Edge-Control", "dca")
	if len(h["X-Accel-Expires"]) > 0 {
		h["X-Accel-Expires"] = []string{"0"}
	}
}

// canonicalCaching moves the lines of caching fields that h holds under a
// key not in canonical form (h["cache-control"], as code written for
// HTTP/2's lower-case names sets them) to the canonical key, which the
// functions here read: net/http sends them as they are, and caches match
// field names regardless of case.
func canonicalCaching(h http.Header) {
	for k, v := range h {
		c := http.CanonicalHeaderKey(k)
		if c == k {
			continue
		}
		switch c {
		case "Cache-Control", "Expires", "Surrogate-Control", "Edge-Control", "X-Accel-Expires":
		default:
			if !strings.HasSuffix(c, "Cdn-Cache-Control") {
				continue
			}
		}
		h[c] = append(h[c], v...)
		delete(h, k)
	}
}

// surrogateNoStore makes h's field key no-store, when it is there: it
// keeps only the directives named keep, which ask the surrogate for
// processing (ESI) rather than say how long to cache, and drops the rest,
// targeted ones (max-age=600;cdn1) included, which a surrogate would
// follow over an untargeted no-store.
func surrogateNoStore(h http.Header, key, keep string) {
	lines := h[key]
	if len(lines) == 0 {
		return
	}
	var out []string
	for _, line := range lines {
		for _, d := range splitDirectives(line) {
			d = strings.TrimSpace(d)
			name, _, _ := strings.Cut(d, "=")
			name, _, _ = strings.Cut(name, ";")
			if strings.EqualFold(strings.TrimSpace(name), keep) && !openQuote(d) {
				out = append(out, d)
			}
		}
	}
	h[key] = []string{strings.Join(append(out, "no-store"), ", ")}
}

// carriesCookie reports whether h sets or removes the session's cookie.
func (m *Manager) carriesCookie(h http.Header) bool {
	return setsCookie(h, m.cfg.cookie.Name)
}

// setsCookie reports whether h has a Set-Cookie line for the cookie name,
// whatever its attributes.
func setsCookie(h http.Header, name string) bool {
	for _, l := range h["Set-Cookie"] {
		if len(l) > len(name) && l[len(name)] == '=' && strings.HasPrefix(l, name) {
			return true
		}
	}
	return false
}

// privatize makes h's cache-control field key (Cache-Control's syntax)
// keep the response out of shared caches: see keepFromSharedCaches. Lines
// it has no directive to drop from are left as they are; a line with a
// quote left open is dropped (see openQuote).
func privatize(h http.Header, key string) {
	var (
		out     []string
		safe    bool // private or no-store is there
		changed bool
	)
	for _, line := range h[key] {
		if openQuote(line) {
			// It would take in the private added after it: the lines
			// of a field make one list.
			changed = true
			continue
		}
		var keep []string
		dropped := false
		for _, d := range splitDirectives(line) {
			d = strings.TrimSpace(d)
			name, _, hasValue := strings.Cut(d, "=")
			switch name = strings.ToLower(strings.TrimSpace(name)); {
			case d == "":
				continue
			case name == "public", name == "s-maxage":
				dropped = true
				continue
			case name == "no-store", name == "private" && !hasValue:
				// private="field" is not it: it lets shared caches
				// store the rest of the response.
				safe = true
			}
			keep = append(keep, d)
		}
		switch {
		case !dropped:
			out = append(out, line)
		case len(keep) > 0:
			out = append(out, strings.Join(keep, ", "))
		}
		changed = changed || dropped
	}
	if !safe {
		out = append(out, "private")
		changed = true
	}
	if changed {
		h[key] = out
	}
}

// quoteScan follows a field's bytes, read in order, in and out of its
// quoted strings (RFC 9110's quoted-string, with backslash escapes).
type quoteScan struct{ quoted, escaped bool }

// step reads c and reports whether it stands outside every quoted string,
// neither a quote nor inside one.
func (q *quoteScan) step(c byte) bool {
	switch {
	case q.escaped:
		q.escaped = false
	case q.quoted && c == '\\':
		q.escaped = true
	case c == '"':
		q.quoted = !q.quoted
	default:
		return !q.quoted
	}
	return false
}

// openQuote reports whether s ends inside a quoted string, a quote the
// application left open: what follows it in the field, the no-store or
// private added to keep a cookie from shared caches included, would be
// read as part of the string.
func openQuote(s string) bool {
	var q quoteScan
	for i := 0; i < len(s); i++ {
		q.step(s[i])
	}
	return q.quoted
}

// splitDirectives splits a cache-control field line at its commas, but
// not at those in a quoted string (no-cache="Set-Cookie, X-Foo").
func splitDirectives(line string) []string {
	var (
		out   []string
		q     quoteScan
		start int
	)
	for i := 0; i < len(line); i++ {
		if q.step(line[i]) && line[i] == ',' {
			out = append(out, line[start:i])
			start = i + 1
		}
	}
	return append(out, line[start:])
}

// errServerErrorAnswer is the error of a session whose response is a
// server error (5xx): nothing is saved.
var errServerErrorAnswer = errors.New("httpsession: the response is a server error (5xx); session changes are not saved")

// errInvalidStatus is the error of a session whose response was given a
// status net/http refuses (it panics): nothing is saved.
var errInvalidStatus = errors.New("httpsession: the response was given an invalid status code; session changes are not saved")

// errAborted ends a lock wait under way when the request is answered with
// an error on another goroutine.
var errAborted = errors.New("httpsession: the request was answered with an error while waiting for the session's lock")

// errDiscarded is returned to a handler writing after the session commit
// failed and the error handler answered instead.
var errDiscarded = errors.New("httpsession: response discarded because the session could not be loaded or saved (the Manager's error handler answered)")

// responseWriter commits the session just before the response headers go
// out, so that the cookie can still be set.
type responseWriter struct {
	http.ResponseWriter
	s       *Session
	r       *http.Request
	base    http.Header // the header when the middleware was entered; nil: Vary: Cookie alone
	started bool
	failed  bool
	// ending: the handler has returned, and the commit start makes is the
	// request's last (see finish).
	ending bool
	// inner holds the lines that the commits of other Managers'
	// middlewares inside this one put into the header (see keep). A
	// pointer swapped whole: an inner middleware behind
	// http.TimeoutHandler keeps its lines from the handler's goroutine.
	inner atomic.Pointer[http.Header]
	// offered holds the lines that other Managers' middlewares handed
	// this one through the request's context (see passOut), each batch
	// as one handed it. A writer between the two that does not unwrap
	// may write into this response (http.TimeoutHandler's copies its
	// header map over this one's) or into another one (a sub-request's
	// recorder, whose answer the handler may never send): they are kept
	// only once this header carries them (see adoptOffered).
	offered atomic.Pointer[[]http.Header]
}

// keeper is a writer of this package's, which keeps the cookie lines an
// inner middleware's commit added for its error answer.
type keeper interface{ keep(lines http.Header) }

// keep notes lines that another Manager's middleware inside this one put
// into the header, by its commit, its route's Release, or passed on from
// one inside it (see passOut): their records are saved (after Renew, the
// old one is gone), so an error answer of this middleware carries them,
// as it carries the cookie of a Release.
func (w *responseWriter) keep(lines http.Header) {
	for {
		old := w.inner.Load()
		var h http.Header
		if old != nil {
			h = old.Clone()
		} else {
			h = make(http.Header, len(lines))
		}
		for k, v := range lines {
			h[k] = append(h[k], v...)
		}
		if w.inner.CompareAndSwap(old, &h) {
			return
		}
	}
}

// innerLines returns the lines kept (see keep), or nil.
func (w *responseWriter) innerLines() http.Header {
	if p := w.inner.Load(); p != nil {
		return *p
	}
	return nil
}

// passOut hands cookie lines whose records are saved to the writer of an
// outer middleware of another Manager, if any: its commit may still fail,
// and its error answer must carry them (see keep).
func (w *responseWriter) passOut(lines ...http.Header) {
	if !slices.ContainsFunc(lines, func(h http.Header) bool { return len(h) > 0 }) {
		return
	}
	o, ok := writerAs[keeper](w.ResponseWriter)
	if !ok {
		// A writer between the two that does not unwrap
		// (http.TimeoutHandler's, which copies its header map over
		// the outer one's) hides the outer middleware's writer: the
		// request's context, as this middleware got it, names the
		// outer session, and so its writer. It names it for a
		// sub-request too, which a handler serves into a recorder of
		// its own: the outer middleware keeps the lines only if its
		// header comes to carry them.
		s := FromContext(w.s.reqCtx)
		if s == nil || s.w == nil {
			return
		}
		s.w.offer(lines)
		return
	}
	for _, h := range lines {
		if len(h) > 0 {
			o.keep(h)
		}
	}
}

// offer notes lines that another Manager's middleware, behind a writer
// that does not unwrap, handed this one through the request's context
// (see passOut and adoptOffered).
func (w *responseWriter) offer(lines []http.Header) {
	var batches []http.Header
	for _, h := range lines {
		if len(h) > 0 {
			batches = append(batches, h.Clone())
		}
	}
	for {
		old := w.offered.Load()
		var all []http.Header
		if old != nil {
			all = slices.Clone(*old)
		}
		all = append(all, batches...)
		if w.offered.CompareAndSwap(old, &all) {
			return
		}
	}
}

// adoptOffered keeps (see keep) the batches of lines offered to this
// writer whose cookies h, its header before its commit, carries: the
// writer between the two middlewares put them into this response. A
// batch h does not carry went to an answer of its own (a sub-request's),
// which this one must not send, error answer or not. A cookie counts
// as carried by its name and value: that writer may have added an
// attribute to its line.
func (w *responseWriter) adoptOffered(h http.Header) {
	p := w.offered.Swap(nil)
	if p == nil {
		return
	}
	for _, lines := range *p {
		var cookies []string
		for _, l := range lines["Set-Cookie"] {
			if carriesPair(h, l) {
				cookies = append(cookies, l)
			}
		}
		if len(cookies) == 0 {
			continue
		}
		kept := http.Header{"Set-Cookie": cookies}
		if cc := lines["Cache-Control"]; len(cc) > 0 {
			kept["Cache-Control"] = cc
		}
		w.keep(kept)
	}
}

// carriesPair reports whether h has a Set-Cookie line with the name and
// value of line, one.
func carriesPair(h http.Header, line string) bool {
	pair, _, _ := strings.Cut(line, ";")
	pair = strings.TrimSpace(pair)
	for _, l := range h["Set-Cookie"] {
		if p, _, _ := strings.Cut(l, ";"); strings.TrimSpace(p) == pair {
			return true
		}
	}
	return false
}

// resetHeaderForError readies the header for the error handler's answer
// in place of the handler's. It drops what the handler prepared
// (Content-Length, Content-Type, Location, its cookies): it describes a
// response that will not be sent. What outer middlewares set stays:
// without their CORS header a browser could not even read the error. So
// does the cookie a successful Release committed, and those that the
// commits of other Managers' middlewares inside this one set: their
// records are saved, and after Renew the old one is gone.
func (w *responseWriter) resetHeaderForError() {
	h := w.Header()
	clear(h)
	if w.base == nil {
		h.Set("Vary", "Cookie")
	}
	maps.Copy(h, w.base)
	for k, v := range w.s.keptHeader() {
		h[k] = append(h[k], v...)
	}
	inner := w.innerLines()
	for k, v := range inner {
		h[k] = append(h[k], v...)
	}
	w.s.m.keepFromSharedCaches(h)
	if inner != nil {
		privatizeAll(h)
	}
	w.passOut(w.s.keptHeader(), inner)
}

// start commits the session with the headers still open. On failure the
// error handler answers in place of the handler.
func (w *responseWriter) start() bool {
	if w.started {
		return !w.failed
	}
	w.started = true
	h := w.Header()
	w.adoptOffered(h)
	cookies, caches := len(h["Set-Cookie"]), len(h["Cache-Control"])
	if err := w.s.commitResponse(h, w.ending); err != nil {
		w.failed = true
		w.resetHeaderForError()
		w.s.m.cfg.errorHandler(w.ResponseWriter, w.r, err)
		return false
	}
	// Those of a Release and of the middlewares inside this one were in
	// the header before this commit: added does not list them.
	w.passOut(added(h, cookies, caches), w.s.keptHeader(), w.innerLines())
	// The lines a Release committed went into this header map then; a
	// writer between the handler and this one with a header map of its
	// own (http.TimeoutHandler, a buffering middleware) copies its map
	// over this one before it writes, replacing them when the handler set
	// a cookie of its own. Its record is saved (after Renew the old one is
	// gone): they must go out.
	for k, lines := range w.s.keptHeader() {
		for _, l := range lines {
			if !slices.Contains(h[k], l) {
				h[k] = append(h[k], l)
			}
		}
	}
	// Here, not where the commit sets the cookie: the header is final
	// only now (the handler sets its Cache-Control after a Release, a
	// buffering writer copies its map over this one).
	w.s.m.keepFromSharedCaches(h)
	if w.carriesInner(h) {
		// Another Manager's middleware inside this one readied its
		// cookie's header as its commit added it, before the writers
		// between the two: one whose WriteHeader set Cache-Control:
		// public would send that cookie to shared caches.
		privatizeAll(h)
	}
	varyByCookie(h)
	return true
}

// carriesInner reports whether h sets or removes a cookie that the commit
// of another Manager's middleware inside this one set (see keep). It goes
// by the cookie's name, as carriesCookie does: a writer between the two
// may have added an attribute to the line (Partitioned, SameSite).
func (w *responseWriter) carriesInner(h http.Header) bool {
	for _, l := range w.innerLines()["Set-Cookie"] {
		if name, _, ok := strings.Cut(l, "="); ok && setsCookie(h, name) {
			return true
		}
	}
	return false
}

// varyByCookie puts Cookie back into h's Vary when the handler, or a
// middleware inside this one, replaced or deleted the field the
// middleware set (a gzip middleware's Set("Vary", "Accept-Encoding")): a
// shared cache would otherwise serve a page that reads one user's session
// to the next visitor. A Vary that names Cookie, or is "*", is left alone.
func varyByCookie(h http.Header) {
	for _, l := range h["Vary"] {
		for v := range strings.SplitSeq(l, ",") {
			if v = strings.TrimSpace(v); v == "*" || strings.EqualFold(v, "Cookie") {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], "Cookie")
}

// WriteHeader commits the session, then writes the header. Informational
// (1xx) headers pass through without committing, and without the
// session's cookie that a Release put into the header (see
// writeInformational). Once the error handler
// answered in the handler's place (a failed commit), every status the
// handler writes is dropped, as its Write is: the response it would
// belong to is not sent, and net/http, which has sent the error answer's
// header, would log the call as superfluous, blaming a handler that could
// not know.
func (w *responseWriter) WriteHeader(code int) {
	if w.failed {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	if code >= 500 || code < 100 {
		// A server error says the request was not done: saving what the
		// handler changed on its way would contradict it (Django's
		// session middleware skips the save for 5xx too). It is also
		// http.TimeoutHandler's 503 for a handler still running, and a
		// recovery middleware's 500 after a panic, even one that comes
		// after the response started (a superfluous WriteHeader): what
		// the handler changed after that is not saved at its end. A code
		// outside 100..999 (a proxy passing on a failed call's zero
		// status) makes net/http panic: nothing is saved for a response
		// that never goes out, as for any panic.
		err := errServerErrorAnswer
		if code < 100 || code > 999 {
			err = errInvalidStatus
		}
		w.s.abort(err)
	}
	if w.start() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// writeInformational writes a 1xx (103 Early Hints) without the lines a
// commit put into the header before the response started (a Release's, or
// that of another Manager's middleware inside this one): net/http sends
// the whole header map with a 1xx, and keeps it for the final response
// (RFC 8297). The session's cookie belongs to the final response, which
// carries it; in a hint it is no use to a browser, and a proxy that
// forwards or logs hints would get the session's ID before the response
// it belongs to. The lines are put back once the 1xx is written.
func (w *responseWriter) writeInformational(code int) {
	h := w.Header()
	var saved http.Header
	for _, lines := range []http.Header{w.s.keptHeader(), w.innerLines()} {
		for k, v := range lines {
			cur, ok := h[k]
			if !ok {
				continue
			}
			if _, done := saved[k]; !done {
				if saved == nil {
					saved = make(http.Header)
				}
				saved[k] = cur
			}
			h[k] = withoutLines(h[k], v)
		}
	}
	w.ResponseWriter.WriteHeader(code)
	for k, v := range saved {
		h[k] = v
	}
}

// withoutLines returns a copy of lines without one occurrence of each of
// drop; lines itself is left as it is. A field left with no line is nil,
// which net/http does not send.
func withoutLines(lines, drop []string) []string {
	out := slices.Clone(lines)
	for _, d := range drop {
		if i := slices.Index(out, d); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Write commits the session before the first byte.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.start() {
		return 0, errDiscarded
	}
	return w.ResponseWriter.Write(b)
}

// WriteString commits the session before the first byte, as Write does,
// and passes the string on to the underlying writer's WriteString
// (net/http's copies it without converting it to a []byte first).
func (w *responseWriter) WriteString(s string) (int, error) {
	if !w.start() {
		return 0, errDiscarded
	}
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom commits the session before the first byte, as Write does, and
// then copies through the underlying writer, whose own ReadFrom (net/http's
// uses sendfile) serves a file without copying it through user space:
// io.Copy and http.ServeContent find it here.
//
// Before the response started, it commits only once the source has given
// a byte, as net/http's ReadFrom sends no header before: a source that
// fails at once (an upstream reset, a file on a mount that does not
// answer) leaves the handler free to answer with an error, and a server
// error then saves nothing, where a commit made first would have saved
// what the request changed.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	if !w.started {
		// The buffer goes back to the pool when ReadFrom returns: by
		// io.Reader's and io.Writer's contracts neither r nor the writer
		// under this one keeps it.
		bp, _ := w.s.m.firstReads.Get().(*[firstReadSize]byte)
		if bp == nil {
			bp = new([firstReadSize]byte)
		}
		defer w.s.m.firstReads.Put(bp)
		buf := bp[:]
		var (
			k   int
			err error
		)
		for k == 0 && err == nil {
			k, err = r.Read(buf)
		}
		if k == 0 {
			if err == io.EOF {
				err = nil
			}
			return 0, err
		}
		if !w.start() {
			return 0, errDiscarded
		}
		k, werr := w.ResponseWriter.Write(buf[:k])
		n = int64(k)
		switch {
		case werr != nil:
			return n, werr
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, err
		}
	} else if w.failed {
		return 0, errDiscarded
	}
	k, err := io.Copy(w.ResponseWriter, r)
	return n + k, err
}

// firstReadSize is what ReadFrom reads before it starts the response: what
// net/http's ReadFrom copies before it starts sending (sniffing the
// content type from it).
const firstReadSize = 512

// Flush commits the session and flushes, when the underlying writer can.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with its outcome, which http.ResponseController's
// Flush returns: errDiscarded when the session's commit failed and the
// error answer replaced the response, or the underlying writer's error
// (http.ErrNotSupported for one that cannot flush).
func (w *responseWriter) FlushError() error {
	if !w.start() {
		return errDiscarded
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session, releases it (see Session.Release) and hands
// over the connection. The hijacker writes its own response, so the
// commit can send no cookie: a session that needs one (new, renewed)
// fails it, and the error handler answers. Where nothing can be hijacked
// (HTTP/2), it fails before committing.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.started {
		// Only HTTP/1 connections can be hijacked; echo's and gin's
		// writers have a Hijack method whatever the protocol.
		if w.r.ProtoMajor != 1 || !canHijack(w.ResponseWriter) {
			return nil, nil, fmt.Errorf("httpsession: hijack: %w", http.ErrNotSupported)
		}
		// The hijacker writes its own response: the header map, and a
		// cookie in it, is never sent. So the ID may not change.
		w.started = true
		w.adoptOffered(w.Header())
		if err := w.s.commitHijack(); err != nil {
			w.failed = true
			w.resetHeaderForError()
			w.s.m.cfg.errorHandler(w.ResponseWriter, w.r, err)
			return nil, nil, errDiscarded
		}
	} else if w.failed {
		return nil, nil, errDiscarded
	}
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		// Hijacked after the response started (commitHijack released
		// the session otherwise): the connection may stay open for
		// hours, and the session's lock with it.
		if rerr := w.s.releaseReported(); rerr != nil {
			w.s.m.logAfterStart(w.r, "httpsession: saving the session at Hijack failed", rerr)
		}
	}
	return conn, brw, err
}

// canHijack reports whether w, or a writer it wraps, can be hijacked.
func canHijack(w http.ResponseWriter) bool {
	_, ok := writerAs[http.Hijacker](w)
	return ok
}

// writerAs returns w, or the first writer under it through writers that
// unwrap, that is a T.
func writerAs[T any](w http.ResponseWriter) (T, bool) {
	for w != nil {
		if t, ok := w.(T); ok {
			return t, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	var zero T
	return zero, false
}

// closeNotifier is http.CloseNotifier, which is deprecated (the request's
// context says the same) but still asserted by code the middleware's
// writer is handed to.
type closeNotifier interface{ CloseNotify() <-chan bool }

// CloseNotify passes on the server's CloseNotify: code written before
// the request's context said when the client went away asserts
// http.CloseNotifier without checking, and panicked on this writer
// (gin's Context.Stream, which gin's writer calls through to the writer
// it wraps, as it wraps this one when the middleware is around the
// engine). A writer under it that has none (a test's recorder) gets the
// request context's end instead: the client went away, or the handler
// returned.
func (w *responseWriter) CloseNotify() <-chan bool {
	if cn, ok := writerAs[closeNotifier](w.ResponseWriter); ok {
		return cn.CloseNotify()
	}
	ch := make(chan bool, 1)
	context.AfterFunc(w.r.Context(), func() { ch <- true })
	return ch
}

// pushWriter is the middleware's writer where the server's can push
// (HTTP/2): http.ResponseController does not reach Push, so the writer
// passes it on itself. Only there: handlers test w.(http.Pusher) to
// decide whether to push, and one that logs a failed push would log on
// every HTTP/1 request if the writer always claimed to push.
type pushWriter struct{ *responseWriter }

// Push passes an HTTP/2 server push on to the underlying writer. A push
// sends no header of this response, so it commits nothing.
func (w pushWriter) Push(target string, opts *http.PushOptions) error {
	if p := pusherOf(w.ResponseWriter); p != nil {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// pusherOf returns the writer under w, through writers that unwrap, that
// can push, or nil.
func pusherOf(w http.ResponseWriter) http.Pusher {
	p, _ := writerAs[http.Pusher](w)
	return p
}

// pushes reports whether a writer under w can push.
func pushes(w http.ResponseWriter) bool { return pusherOf(w) != nil }

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after the handler: it commits a session whose handler wrote
// nothing, or saves changes made after the response started.
func (w *responseWriter) finish() {
	w.ending = true
	if !w.started {
		w.start()
		return
	}
	if w.failed {
		return // the error answer ended the saves (Session.abortLocked)
	}
	if err := w.s.commitResponse(nil, true); err != nil {
		w.s.m.logAfterStart(w.r, "httpsession: saving changes made after the response started failed", err)
	}
}

// logAfterStart logs the failure of a commit after the response started,
// which no answer can report any more, with msg, at Error. A session that
// was first used then and could not be loaded had nothing to save (the
// handler's calls returned the error): that is what is logged, and a
// client that went away (a closed tab during a streamed page) is logged
// at Info, as the error handler's 499 is, not as a server's failure.
func (m *Manager) logAfterStart(r *http.Request, msg string, err error) {
	level := slog.LevelError
	if errors.Is(err, errLoadAfterStart) {
		msg = errLoadAfterStart.Error()
		if StatusCode(err) == StatusClientClosedRequest {
			level = slog.LevelInfo
		}
	}
	m.cfg.log.Log(r.Context(), level, msg, "method", r.Method, "path", r.URL.Path, "err", err)
}
