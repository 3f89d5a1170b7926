package httpsession

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
)

// ctxKey is the context key of the innermost middleware's session (see
// FromContext), managerKey that of a Manager's own, and twinKey that of
// the innermost session of another Manager whose sessions are the given
// one's (see Manager.sameSessions).
type (
	ctxKey     struct{}
	managerKey struct{ m *Manager }
	twinKey    struct{ m *Manager }
)

// sessionContext is a request's context carrying its session, under both
// keys: a Manager's middleware finds its own session through another
// Manager's. One context answering both costs a request one allocation,
// as context.WithValue does for one.
type sessionContext struct {
	context.Context
	s *Session
}

func (c *sessionContext) Value(key any) any {
	switch k := key.(type) {
	case ctxKey:
		return c.s
	case managerKey:
		if k.m == c.s.m {
			return c.s
		}
	case twinKey:
		if k.m != c.s.m && k.m.sameSessions(c.s.m) {
			return c.s
		}
	}
	return c.Context.Value(key)
}

// sessionIn returns m's session in ctx, the innermost if there are
// several, or nil.
func (m *Manager) sessionIn(ctx context.Context) *Session {
	s, _ := ctx.Value(managerKey{m}).(*Session)
	return s
}

// FromContext returns the request's session, or nil when the request did
// not pass through a Manager's middleware. Under the middlewares of
// several Managers (each with a cookie of its own), it is the session of
// the innermost one around the handler (see Manager.Middleware). Every
// method of a nil Session, those that return an error included, panics
// with a message starting "httpsession: no session in this request's
// context": a route that uses the session must be registered behind the
// middleware (a handler wrapped by Handler or Middleware, or a mux inside
// one), and a test that calls it directly must wrap it too. It is a panic
// rather than an error because it is a mistake in the program's wiring,
// which no request can recover from, and the getters have no error to
// return. A nil ctx holds no session either: FromContext(nil) returns nil,
// as context accessors of other request middleware do (chi's GetReqID,
// OpenTelemetry's SpanFromContext), and the nil Session's panic then says
// what is missing, where ctx.Value's nil dereference said nothing.
func FromContext(ctx context.Context) *Session {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// noSessionMsg is the panic of a nil Session's methods: the first line of
// the crash is what the developer reads, so it names the cause and fix.
// gin's r.Use, and an echo Group's Use, cover only the routes registered
// after the call: a route registered before it has the Use call in plain
// sight and no session, so the message names that order too.
const noSessionMsg = "httpsession: no session in this request's context: is the route wrapped by the session middleware (Manager.Handler or Manager.Middleware, or ginsession's or echosession's)? FromContext returned nil. With gin, r.Use (and an echo Group's Use) covers only the routes registered after it: call it before registering them"

// noSession panics with noSessionMsg for a nil s, in place of a bare
// nil-pointer dereference deep inside a method.
func noSession(s *Session) {
	if s == nil {
		panic(noSessionMsg)
	}
}

// Session is one request's view of a user's session. Its values are JSON
// documents: the payload on disk is a JSON object, readable with any tool,
// and the typed getters parse exactly what Put wrote (integers stay exact).
// Methods are safe for concurrent use by the handler's goroutines. The
// session is saved when its handler returns: from then on, code still
// holding it (a framework's error handler, an outer middleware, a
// goroutine the handler started) reads the values it had (nothing, under
// WithBufferReuse), and Put, Renew and Destroy fail with ErrReleased,
// since no change can be saved any more. A change racing the handler's
// return is either saved or refused. Every method of a nil Session
// (FromContext outside the middleware) panics with a message naming the
// missing middleware; see FromContext.
//
// The session is read (and in Exclusive mode locked) on its first use by
// any method. If that fails (the lock wait timed out, the store is
// unreachable), Get, Put, Renew and Destroy return the error, the other
// getters return zero values, and the error handler answers when the
// response starts, so the handler's response for an unusable session is
// never sent.
type Session struct {
	m      *Manager
	reqCtx context.Context // the request's context: bounds lock waits and loads
	ctx    context.Context // the same without its cancellation: saves complete
	hdr    http.Header     // the response's header, for Release
	req    *http.Request   // the request, for the warning about a cookie over plain HTTP
	// w is the middleware's writer: another Manager's middleware inside
	// this one, behind a writer that does not unwrap, hands it the cookie
	// lines its commit set through it (see responseWriter.passOut).
	w    *responseWriter
	wait lockWait // the lock wait under way, which an error answer ends

	cookieID  string   // the request cookie's ID, when well-formed
	moreIDs   []string // the IDs of further cookies of the name, tried if cookieID names no record
	badCookie bool     // the request carried a malformed cookie

	mu      sync.Mutex
	mode    Mode
	ready   bool  // the first use has loaded the fields below
	loadErr error // that load failed: the session is unusable
	lk      *fsstore.Locked
	rec     *fsstore.Session
	values  values // as last loaded or saved, and the changes since
	dirty   bool   // a change was asked for: values, Renew or Destroy

	renew       bool
	renewedAway bool   // the cookie's ID was given up by another request's Renew a moment ago
	deleteID    string // a record that Destroy asked to remove
	staleCookie bool   // the request's cookie named no live session
	started     bool   // response headers are out: the ID is fixed
	touched     bool
	released    bool  // Release ran: no lock, no further saves
	pending     error // reported by the next commit (Release's failure, a change after it)
	// loadReported: the load's failure was reported by the caller of a
	// Release (a Hijack after the response started logs it): the
	// commit after the handler does not add it again (withLoadErr).
	loadReported bool
	// destroyRefused is the commit's error after a Destroy refused in
	// ReadOnly mode (see refuseDestroy).
	destroyRefused error
	// renewRefused: a Renew was refused because the response had
	// started; Put refuses values from then on (see Renew).
	renewRefused bool
	kept         http.Header // the cookie lines Release committed, for an error answer
	idCookie     bool        // a commit put a cookie naming a fresh ID into the header
	aborted      error       // the request was answered with an error: nothing more is saved
	expiry       *time.Timer // set when a lock was first taken: expire at the request's deadline
	expired      bool        // expire released the lock at the request's deadline: nothing more is saved

	// Buffers from the Manager's pool, reused across requests: the record
	// as loaded and the encodings. When the request ends (ended), they go
	// back to the pool but for the bytes the session's data lives in
	// (src.b), which stay with the session, which remains readable, so
	// that nothing still holding the session reads another request's
	// bytes (see end).
	held    []*reqBuf
	src     *reqBuf // the held buffer s.rec.Data and s.values may alias
	srcRoom bool    // src.b holds none of them: the store allocated the record (see loaded)
	reading int     // Gets decoding a value outside s.mu: no held buffer may be overwritten
	ended   bool
	// closed: the commit after the handler returned has run, and none
	// follows it, so a change is refused from then on (see commitResponse).
	closed bool
	relist bool // end handed over the members list of s.values: list them again before a read
	// gone: end gave the buffer the values lived in back to the pool
	// (WithBufferReuse): they read as nothing from then on.
	gone bool
}

// errGone is the error of a Get after the request ended, under
// WithBufferReuse.
var errGone = fmt.Errorf("httpsession: session read after its request ended: the Manager reuses its buffers (WithBufferReuse), so its values are no longer kept: %w", ErrReleased)

// errLoadUnfinished is the error of a session whose load did not return:
// it panicked (the store's Observer, say) and the handler recovered.
var errLoadUnfinished = errors.New("httpsession: the session's load did not finish (it panicked); the session is unusable for this request")

// errEnded is the error of a session used after its request ended.
var errEnded = fmt.Errorf("httpsession: session used after its request ended: %w", ErrReleased)

// use loads the session on its first use. s.mu is held.
func (s *Session) use() error {
	if s.ended && !s.ready {
		return errEnded // too late to load: the request has ended
	}
	if !s.ready {
		// Ready, and unusable, until the load returns: one that panics
		// (the store's Observer is called on this goroutine), recovered
		// by the handler, leaves a session that looks new while its
		// lock of the cookie's ID is held (s.lk, released at the
		// request's end), and a Put then saved a fresh session under a
		// new ID, leaving the user's behind.
		s.ready, s.loadErr = true, errLoadUnfinished
		s.loadErr = s.load()
	}
	if s.relist {
		// Read after the request ended: the members are listed
		// again, from the bytes the session kept.
		if err := s.values.relist(); err != nil {
			return fmt.Errorf("httpsession: session read after its request ended: %w", err)
		}
		s.relist = false
	}
	return s.loadErr
}

// load reads the session named by the request's cookie, under its lock in
// Exclusive mode. An ID that is unknown, expired or whose record is damaged
// or sealed with a retired key is not adopted: the session starts empty and
// gets a fresh ID when first saved. s.mu is held.
//
// Browsers send every cookie of the name that matches the request (see
// newSession), and any of them may name the user's session: each ID is
// tried in turn until one names a usable session. One that names nothing
// usable, whatever the reason (gone, expired, damaged, sealed with a
// retired key, refused, another application's payload), does not end the
// search: a cookie left by an earlier Cookie.Path, sent first, would hide
// the user's session and have its cookie cleared, logging the user out.
func (s *Session) load() error {
	if s.cookieID == "" {
		return nil
	}
	var (
		gone     bool             // an ID tried names no record at all
		renewed  bool             // an ID tried names the marker a Renew left
		keep     bool             // an ID tried names a record refused for a permission error
		unusable []unusableRecord // logged once the outcome is known
		found    bool
	)
	for i := 0; i <= len(s.moreIDs) && !found; i++ {
		id := s.cookieID
		if i > 0 {
			id = s.moreIDs[i-1]
		}
		rec, err := s.loadID(id)
		if err == nil {
			if err = s.adopt(rec); err != nil {
				unusable = append(unusable, unusableRecord{err: err, payload: true})
			}
			found = err == nil
			continue
		}
		switch {
		case errors.Is(err, errRenewedAway):
			renewed = true
			continue
		case errors.Is(err, fsstore.ErrNotFound):
			gone = gone || !errors.Is(err, fsstore.ErrExpired)
			continue
		case !namesNoSession(err):
			return err
		}
		keep = keep || errors.Is(err, fs.ErrPermission)
		unusable = append(unusable, unusableRecord{err: err})
	}
	for _, u := range unusable {
		s.m.logUnusable(s.reqCtx, u, found)
	}
	switch {
	case found:
	case renewed:
		// The browser sent the old ID of a session another request
		// renewed a moment ago: another tab's request, sent before the
		// log in's answer set the new cookie, or a cookie the browser
		// never replaced (the log in's answer was lost). It reads no
		// session and may change none (see commit): a session it created
		// would get a cookie that, answered after the log in's, logs the
		// user out again. No clock tells the two apart safely (the hosts'
		// clocks differ, and the new cookie reaches the browser only with
		// the log in's answer), so both are refused until the marker
		// expires; a log in retried is not (it renews). The cookie is
		// left alone: the browser may hold the new one by now.
		s.renewedAway = true
	default:
		// A record that is gone (not expired) may have been replaced a
		// moment ago by a concurrent request's Renew (a log in in another
		// tab, or one whose response is still on its way): a removal
		// cookie answered after that request's would remove its new
		// cookie and log the user out. So only a cookie whose record is
		// there but unusable, or expired, is cleared; a gone one is left
		// for the next save to replace (the price: until then each of
		// its requests looks for the record), and so is any cookie that
		// came with one (the removal would clear both).
		// A permission error may be store-wide and passing (a shard
		// made unreadable by mistake): its records are intact, so the
		// cookie is kept.
		s.staleCookie = !gone && !keep
	}
	return nil
}

// loadID reads id's record, under its lock in Exclusive mode, which the
// session holds from then on when the read succeeds. The marker a Renew
// left is errRenewedAway. s.mu is held.
func (s *Session) loadID(id string) (*fsstore.Session, error) {
	m := s.m
	var (
		rec *fsstore.Session
		err error
	)
	// After an error answer nothing is saved: a read (an error page
	// showing the user) needs no lock, and may not wait for one.
	if s.mode == Exclusive && !s.released && s.aborted == nil {
		ctx, cancel := context.WithTimeout(s.reqCtx, m.cfg.lockTimeout)
		lk, lerr := s.wait.lock(ctx, cancel, m.st, id)
		cancel()
		if lerr != nil {
			return nil, fmt.Errorf("httpsession: lock session: %w", lerr)
		}
		bp := s.loadBuf()
		// Every write this package makes is under the session's
		// lock (or CompareAndSwap, which takes it), but for a new
		// session's first save, made before its ID went out in a
		// cookie, so before this request could have it (see
		// publish): with the lock held no save is in flight, and
		// a record missing is gone
		// (a sweep, which takes no lock, may hold it aside or put
		// it back: the store looks there itself). Load's looks
		// again on NFS, for a save without the lock, would cost
		// each request with a cookie naming no session (expired,
		// logged out, forged) five round trips and some 31 ms,
		// holding a stripe other sessions share (see the package
		// doc, Writing the store from other code).
		// The session's from now on, so that the request's end
		// releases it whatever happens meanwhile: the load's report
		// to the store's Observer may panic.
		s.lk = lk
		if d, ok := s.reqCtx.Deadline(); ok && s.expiry == nil {
			s.expiry = time.AfterFunc(time.Until(d), s.expire)
		}
		if rec, err = lk.LoadIntoLockedOnly(s.reqCtx, bp.b); err != nil {
			s.unlockHandle(lk)
			s.lk = nil
		}
		s.loaded(bp, rec, err)
	} else {
		bp := s.loadBuf()
		rec, err = m.st.LoadInto(s.reqCtx, id, bp.b)
		s.loaded(bp, rec, err)
	}
	if err == nil && bytes.Equal(rec.Data, renewedMarker) {
		// Another request's Renew moved this session to a fresh ID
		// (see leaveRenewed): no session here, but another cookie of
		// the name may name one.
		s.drop()
		return nil, errRenewedAway
	}
	if err != nil {
		return nil, fmt.Errorf("httpsession: load session: %w", err)
	}
	return rec, nil
}

// errExpired is the error of a change to a session whose request's
// deadline passed while its handler still ran (see expire).
var errExpired = fmt.Errorf("httpsession: the request's deadline passed while its handler ran, and the session's lock was released then; nothing more is saved: %w (%w)", context.DeadlineExceeded, ErrReleased)

// expire releases the session's lock once the request's deadline has
// passed while the handler still runs: from then on no save can succeed
// (a commit ends at the deadline), so the lock guards nothing, and held
// until the handler returns it made the user's other requests, and on
// other hosts those of every session of its stripe, wait out their lock
// timeouts for as long as the handler was stuck, in a Write to a client
// that stopped reading its answer, say, which the deadline does not end.
// Changes not saved by then, and any made later, fail as after Release.
func (s *Session) expire() {
	s.mu.Lock()
	lk := s.lk
	if lk == nil || s.ended {
		s.mu.Unlock()
		return
	}
	s.lk, s.released, s.expired = nil, true, true
	if s.dirty && s.pending == nil {
		s.pending = errExpired
	}
	s.mu.Unlock()
	s.release(lk)
}

// adopt makes rec, as loadID read it, the request's session. A payload
// that is not a JSON object (another application's encoding, or damaged)
// is no session: it is dropped, with its lock. s.mu is held.
func (s *Session) adopt(rec *fsstore.Session) error {
	var base []member
	if s.src != nil {
		base = s.src.m
	}
	vals, err := decodeValues(rec.Data, base)
	if err != nil {
		s.drop()
		return err
	}
	s.rec, s.values = rec, vals
	if s.src != nil {
		s.src.m = vals.base[:0] // keep a list decode had to grow
	}
	return nil
}

// drop gives up the record loadID read, and its lock: nothing the session
// keeps lives in its buffer. s.mu is held.
func (s *Session) drop() {
	s.unlockHandle(s.lk)
	s.lk, s.src = nil, nil
}

// setMode applies an inner middleware's mode. A session the outer handler
// only read is forgotten and reloaded in the new mode on its next use; one
// it changed cannot be carried over.
func (s *Session) setMode(mode Mode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == mode {
		return nil
	}
	if s.ready {
		if s.dirty || s.renew || s.deleteID != "" {
			return fmt.Errorf("httpsession: %v route: the session was changed in %v mode before reaching it: %w", mode, s.mode, ErrModeConflict)
		}
		s.unlockHandle(s.lk)
		s.lk, s.ready, s.loadErr, s.rec, s.values, s.src = nil, false, nil, nil, values{}, nil
		s.staleCookie, s.touched, s.renewedAway = false, false, false
	}
	s.mode = mode
	return nil
}

// IsNew reports whether the session has no stored record (yet).
func (s *Session) IsNew() bool {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return s.rec == nil
}

// Mode reports the mode the request holds the session in.
func (s *Session) Mode() Mode {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Created returns when the session was first saved (zero for a new one).
func (s *Session) Created() time.Time {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.use() != nil || s.rec == nil {
		return time.Time{}
	}
	return s.rec.Created
}

// Deadline returns the session's absolute end (zero for a new one).
func (s *Session) Deadline() time.Time {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.use() != nil || s.rec == nil {
		return time.Time{}
	}
	return s.rec.Deadline
}

// Get decodes the value under key into dst (a pointer, as for
// json.Unmarshal) and reports whether the key exists. It fails when the
// session could not be loaded.
func (s *Session) Get(key string, dst any) (bool, error) {
	noSession(s)
	raw, ok, err := s.lookup(key)
	if !ok || err != nil {
		return false, err
	}
	// Decode outside the lock (dst's UnmarshalJSON may use the session),
	// counted so that raw's buffer is not overwritten meanwhile, and
	// uncounted however the decode ends (UnmarshalJSON may panic).
	defer func() {
		s.mu.Lock()
		s.reading--
		s.mu.Unlock()
	}()
	if err := json.Unmarshal(raw, dst); err != nil {
		return true, fmt.Errorf("httpsession: get %q: %w", key, err)
	}
	return true, nil
}

// lookup loads the session on its first use and returns key's encoded
// value, counted as being read (s.reading) when it exists. It holds s.mu
// through a defer, as every method that may load or commit the session
// does: the store's Observer is called on this goroutine, and its panic,
// raised through a section that unlocked s.mu by hand, left s.mu locked,
// and the end of the request, which releases the session's lock, waiting
// for it for ever, with that lock held.
func (s *Session) lookup(key string) (raw []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.use(); err != nil {
		return nil, false, err
	}
	if s.gone {
		return nil, false, errGone
	}
	if raw, ok = s.values.get(key); ok {
		s.reading++
	}
	return raw, ok, nil
}

// getAs returns the value under key as T, or T's zero value when the key
// is missing or holds another type.
func getAs[T any](s *Session, key string) T {
	var v T
	if _, err := s.Get(key, &v); err != nil {
		var zero T
		return zero
	}
	return v
}

// GetString returns the string under key, or "" when missing or not a
// string.
func (s *Session) GetString(key string) string { return getAs[string](s, key) }

// GetInt returns the integer under key, or 0 when missing or not an
// integer.
func (s *Session) GetInt(key string) int { return getAs[int](s, key) }

// GetInt64 returns the integer under key, or 0 when missing or not an
// integer.
func (s *Session) GetInt64(key string) int64 { return getAs[int64](s, key) }

// GetFloat64 returns the number under key, or 0 when missing or not a
// number.
func (s *Session) GetFloat64(key string) float64 { return getAs[float64](s, key) }

// GetBool returns the boolean under key, or false when missing or not a
// boolean.
func (s *Session) GetBool(key string) bool { return getAs[bool](s, key) }

// GetTime returns the time under key (stored by Put as RFC 3339), or the
// zero time.
func (s *Session) GetTime(key string) time.Time { return getAs[time.Time](s, key) }

// PopString returns the string under key and deletes the key: for one-shot
// "flash" messages. In ReadOnly mode, popping a key that is there makes
// the commit fail with fsstore.ErrReadOnly, as Delete does: show flash
// messages on pages that can write the session, or read them there with
// GetString.
func (s *Session) PopString(key string) string {
	noSession(s)
	v := s.GetString(key)
	s.Delete(key)
	return v
}

// Exists reports whether key has a value.
func (s *Session) Exists(key string) bool {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	_, ok := s.values.get(key)
	return ok
}

// Keys returns the keys in sorted order.
func (s *Session) Keys() []string {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.use()
	return s.values.keys()
}

// Put stores v, encoded as JSON, under key. It fails with ErrUnencodable
// when the key or v cannot be stored as JSON that reads back as put (a key
// that is not valid UTF-8, a NaN, a value nested more than 9999 levels
// deep), when the session could not be loaded, in ReadOnly mode with
// fsstore.ErrReadOnly and after Release with ErrReleased. Putting the value
// a key already holds is not a change. Strings in v are stored as
// json.Marshal stores them: as text, invalid UTF-8 replaced by U+FFFD;
// put bytes that are not text as a []byte (base64 in the payload).
//
// After the response started, a session that has a record (it was loaded,
// or saved when the response started) takes changes, which are saved when
// the handler returns or calls Release. One that has none (a new session,
// or one destroyed in this request) fails with ErrNeedsCookie, and keeps
// nothing of v: its first value makes a new session, whose cookie could
// no longer be sent. After a Renew refused so, every Put fails with
// ErrNeedsCookie (see Renew).
func (s *Session) Put(key string, v any) error {
	noSession(s)
	raw, err := encodeValue(key, v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("httpsession: put %q: %w", key, err)
	}
	if s.renewRefused {
		// Renew ended the session; a Put would make a new one, whose
		// cookie can no longer be sent, and a log in that dropped
		// Renew's error would go on as if logged in.
		return fmt.Errorf("httpsession: put %q after a Renew refused because the response had started: the session was ended, since it could not move from the ID the request came with, which may have been planted, so nothing more is put into it (renew before the handler's first Write, WriteHeader or Flush): %w", key, ErrNeedsCookie)
	}
	if s.started && s.rec == nil {
		// Refused now, not at the commit after the handler: there it
		// could only be logged, and the handler would go on as if the
		// value were kept. Logged too (once): a handler that drops the
		// error loses the value without a trace.
		err := fmt.Errorf("httpsession: put %q into a session with no record (new, or destroyed) after the response started (put it before the handler's first Write, WriteHeader or Flush): %w", key, ErrNeedsCookie)
		s.m.warnNeedsCookie(s.req, "put", err)
		return err
	}
	if s.values.put(key, raw) {
		s.dirty = true
	}
	return nil
}

// encodeValue returns v's encoding for Put under key, or why the session
// could not give it back as put (ErrUnencodable): a JSON object's key is
// text, so a key that is not valid UTF-8 would be saved as another (its
// invalid bytes replaced), merged with any key that differs from it only
// there, while this request went on showing it as put; and a value nested
// deeper than JSON decoders read would be saved, and fail every Get of it
// from then on.
func encodeValue(key string, v any) ([]byte, error) {
	if !utf8.ValidString(key) {
		return nil, fmt.Errorf("httpsession: put %q: %w: the key is not valid UTF-8 (JSON keys are text: it would be saved as another key)", key, ErrUnencodable)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("httpsession: put %q: %w: %w", key, ErrUnencodable, err)
	}
	if nestedDeeper(raw, maxValueDepth) {
		return nil, fmt.Errorf("httpsession: put %q: %w: the value is nested deeper than %d levels, which JSON decoders refuse to read back", key, ErrUnencodable, maxValueDepth)
	}
	return raw, nil
}

// errReadOnlyChange is what Put, Renew and Destroy return in ReadOnly mode:
// fsstore.ErrReadOnly with the remedy, which the sentinel's text alone
// ("session locked read-only") leaves the developer to guess.
var errReadOnlyChange = fmt.Errorf("the route holds the session ReadOnly, which never writes it (change it on a route in Exclusive or Optimistic mode): %w", fsstore.ErrReadOnly)

// writable loads the session and reports why it cannot be changed. s.mu
// is held.
func (s *Session) writable() error {
	switch {
	case s.ended || s.closed:
		return errEnded
	case s.aborted != nil:
		return fmt.Errorf("httpsession: the request was answered with an error (%w); nothing more is saved: %w", s.aborted, ErrReleased)
	case s.mode == ReadOnly:
		return errReadOnlyChange
	case s.expired:
		return errExpired
	case s.released:
		return ErrReleased
	}
	return s.use()
}

// changed records a change made by a method that returns no error. s.mu is
// held.
func (s *Session) changed() {
	switch {
	case s.expired:
		s.pending = errExpired
	case s.released:
		s.pending = fmt.Errorf("httpsession: session changed after Release; not saved: %w", ErrReleased)
	default:
		s.dirty = true
	}
}

// Delete removes key. In ReadOnly mode removing an existing key makes the
// commit fail with fsstore.ErrReadOnly, after Release with ErrReleased.
// Once the request has ended it changes nothing: no commit is left to
// save the removal, and the session goes on showing what was saved.
func (s *Session) Delete(key string) {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.closed || s.use() != nil {
		return
	}
	if s.values.del(key) {
		s.changed()
	}
}

// Clear removes every key but keeps the session and its ID. Like Delete,
// it changes nothing once the request has ended.
func (s *Session) Clear() {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.closed || s.use() != nil {
		return
	}
	if s.values.clear() {
		s.changed()
	}
}

// Renew moves the session's data to a fresh ID at commit and restarts its
// absolute lifetime. Call it when the user logs in
// or changes privilege, so that an ID planted or seen before cannot be used
// afterwards (session fixation). It must be called before the response
// starts: after, it fails with ErrNeedsCookie, since the fresh ID's cookie
// could not be sent, and the session is ended as Destroy ends it then
// (the record is deleted when the handler returns; the user is logged
// out), and every Put after it in the request fails with ErrNeedsCookie
// too, keeping nothing: a log in that drops Renew's error would otherwise
// save the user's identity, put before the Renew or after it, under the
// ID the request came with, one an attacker may have planted.
//
// The old record is not deleted but replaced by a marker that holds
// nothing of the session and names no new ID, for the lock timeout plus
// two minutes (the sweep removes it then). A request still under way with
// the old ID (another tab's, waiting for the lock during the log in) reads
// no session and sets no cookie; if it changes the session, its commit
// fails with fsstore.ErrConflict (409) instead of creating a new session
// whose cookie, answered after the log in's, would log the user out. So
// is a change sent later with the old cookie, until the marker expires:
// no clock tells it apart (the new cookie reaches the browser only with
// the log in's answer). A request with the old ID that renews too (a log
// in retried because its answer was lost) starts a session of its own;
// so renew for a log in or a change of privilege, not on a timer. The
// old ID is never served the renewed session: whoever planted it gets
// nothing.
func (s *Session) Renew() error {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("httpsession: renew: %w", err)
	}
	if s.started {
		// The session is not carried on under the ID the request came
		// with, which may have been planted (session fixation): the
		// values the log in put before its Renew (the user's identity,
		// when it puts first and renews after) would be saved under it,
		// and so would a change of privilege. Ended as a Destroy ends it
		// after the response started: the record is deleted at commit.
		s.renewRefused = true
		if s.rec != nil {
			s.deleteID = s.rec.ID
		}
		s.rec, s.values, s.src, s.renew = nil, values{}, nil, false
		s.dirty = true
		err := fmt.Errorf("httpsession: renew after the response started (renew before the handler's first Write, WriteHeader or Flush): the session is ended instead, since it cannot move to a fresh ID: %w", ErrNeedsCookie)
		s.m.warnNeedsCookie(s.req, "renew", err)
		return err
	}
	s.renew = true
	s.dirty = true
	return nil
}

// Destroy deletes the session at commit and expires the cookie (on log
// out). Values put afterwards in the same request start a new session with
// a fresh ID, before the response starts: after, Put fails with
// ErrNeedsCookie. After the response started Destroy still succeeds: the record is
// deleted when the handler returns (or calls Release), which is what ends
// the session, but the cookie can no longer be expired. The browser then
// sends an ID the store no longer knows, which is never adopted (nor
// cleared: see load), until the next save replaces the cookie or the
// browser drops it. In ReadOnly mode and after Release, Destroy fails
// (fsstore.ErrReadOnly, ErrReleased) and so does the request: the error
// handler answers in place of the handler's response, which would tell
// the user a log out had been done. When the session could not be loaded
// either (the store did not answer), the load's failure decides that
// answer's status (a 503, say) and the log line names both.
func (s *Session) Destroy() error {
	noSession(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		s.refuseDestroy()
		return fmt.Errorf("httpsession: destroy: %w", err)
	}
	if s.rec != nil {
		s.deleteID = s.rec.ID
	}
	s.rec, s.values, s.src, s.renew = nil, values{}, nil, false
	s.dirty = true
	return nil
}

// errRemovedReadOnly is the commit's error after a Delete, PopString or
// Clear in ReadOnly mode.
var errRemovedReadOnly = fmt.Errorf("httpsession: commit: the handler removed keys (Delete, PopString or Clear) from a session its route holds ReadOnly, which never writes it; remove them on a route in Exclusive or Optimistic mode, or read a flash message with GetString: %w", fsstore.ErrReadOnly)

// errDestroyReadOnly and errDestroyReleased are the commit's errors after
// a Destroy its session refused (see refuseDestroy).
var (
	errDestroyReadOnly = fmt.Errorf("httpsession: commit: the handler called Destroy (a log out) on a session its route holds ReadOnly, which never writes it: the session was not destroyed; log out on a route in Exclusive or Optimistic mode: %w", fsstore.ErrReadOnly)
	errDestroyReleased = fmt.Errorf("httpsession: commit: the handler called Destroy (a log out) after Release: the session was not destroyed; destroy it before Release: %w", ErrReleased)
)

// refuseDestroy makes the request fail, as a Delete refused there makes it
// fail, after a Destroy refused in ReadOnly mode or after Release. Destroy
// returns the error too, but a log out handler often drops it and answers
// "logged out": the user would leave a shared computer believing so, with
// the session alive. Once the request ended or answered with an error, or
// the session expired, there is no answer to replace (or no session to
// end). s.mu is held.
func (s *Session) refuseDestroy() {
	if s.ended || s.closed || s.aborted != nil || s.expired {
		return
	}
	if s.mode == ReadOnly && !s.ready && s.cookieID != "" {
		// Whether the cookie names a live session: a ReadOnly load takes
		// no lock. One that fails leaves the session unknown, refused.
		_ = s.use()
	}
	if s.nothingToDestroy() {
		// A log out of a user logged out already (no cookie, one naming
		// no record, a session a Destroy before Release ended): nothing
		// lives on, and the handler's answer is true.
		return
	}
	switch {
	case s.mode == ReadOnly:
		s.destroyRefused = errDestroyReadOnly
	case s.released && s.pending == nil:
		s.pending = errDestroyReleased
	}
}

// nothingToDestroy reports whether the request is known to have no live
// session for Destroy to end: it was loaded and found none (or a Destroy
// already ended it), or the request carried no well-formed cookie and
// none was loaded. s.mu is held.
func (s *Session) nothingToDestroy() bool {
	if s.ready {
		return s.loadErr == nil && s.rec == nil
	}
	return s.cookieID == "" && len(s.moreIDs) == 0
}

// Release saves the session now and releases its lock, like PHP's
// session_write_close: call it in a long handler (a report, a slow
// upstream call, a streamed download) once it has made its changes, so
// that the user's other requests, and the process's lock slots, are not
// held for the rest of the handler. Before the response starts it can
// still set the cookie of a new or renewed session.
//
// After Release the values stay readable; Put, Renew and Destroy fail with
// ErrReleased, and a Delete, Clear or Destroy makes the request fail with
// it (a log out must not answer as if done when it was not). If the
// save fails, Release returns the error, still releases the lock, and the
// error handler answers when the response starts, as for any failed
// commit. If it succeeds, the cookie it set goes out with the response
// even when the error handler answers in its place, and not with a 1xx
// (103 Early Hints) written before it, which net/http sends with the
// header as it is. Calling it again does nothing.
//
// Before the response starts, Release writes that cookie into the
// response's header, which http.Header does not allow while another
// goroutine writes it: call it from the handler's goroutine, or from one
// the handler does not race with on the header.
func (s *Session) Release() error {
	noSession(s)
	lk, err := s.commitRelease()
	s.release(lk)
	return err
}

// commitRelease is the part of Release under s.mu, held through a defer
// (see lookup): it commits, unless the session was released already or
// the request answered with an error, and hands over the lock to
// release, nil when there is none.
func (s *Session) commitRelease() (lk *fsstore.Locked, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		if s.expired {
			// Not a Release: the deadline's. What it left unsaved
			// is still reported by the commit after the handler.
			return nil, s.pending
		}
		return nil, nil
	}
	if s.aborted != nil {
		s.released = true
		lk, s.lk = s.lk, nil
		return lk, s.aborted
	}
	var (
		h               http.Header
		cookies, caches int
	)
	if !s.started {
		h = s.hdr
		cookies, caches = len(h["Set-Cookie"]), len(h["Cache-Control"])
	}
	err = s.commit(h)
	if err == nil && h != nil {
		s.kept = added(h, cookies, caches)
	}
	s.released, s.pending = true, err
	lk, s.lk = s.lk, nil
	return lk, err
}

// releaseReported releases the session as Release does, for a caller that
// reports its failure itself (a Hijack after the response started, which
// logs it at once: the connection may stay open for hours): the commit
// after the handler does not report the same failure again.
func (s *Session) releaseReported() error {
	err := s.Release()
	if err != nil {
		s.mu.Lock()
		if s.pending == err {
			s.pending = nil
		}
		if s.loadErr != nil && errors.Is(err, s.loadErr) {
			s.loadReported = true
		}
		s.mu.Unlock()
	}
	return err
}

// added returns what a successful commit added to h: the Set-Cookie lines
// past the first cookies and the Cache-Control lines past the first
// caches. A commit adds a cookie only once its record is saved or deleted,
// so an error answer that comes later must still carry it.
func added(h http.Header, cookies, caches int) http.Header {
	c := h["Set-Cookie"]
	if len(c) <= cookies {
		return nil
	}
	kept := http.Header{"Set-Cookie": slices.Clone(c[cookies:])}
	if cc := h["Cache-Control"]; len(cc) > caches {
		kept["Cache-Control"] = slices.Clone(cc[caches:])
	}
	return kept
}

// keptHeader returns the cookie lines Release committed.
func (s *Session) keptHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept
}

// commitResponse commits for the response writer; last says that the
// handler has returned, and no commit follows this one.
func (s *Session) commitResponse(h http.Header, last bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.commit(h)
	if last {
		// Under the same hold of s.mu as the commit: a change a goroutine
		// the handler left running makes between it and the end of the
		// request (end) would be accepted, and never saved.
		s.closed = true
	}
	if err != nil && h != nil {
		// The error handler answers: nothing may be saved afterwards,
		// and the header map is the error answer's now.
		s.abortLocked(err)
	}
	return err
}

// commitHijack commits for a connection about to be hijacked: nothing the
// commit puts in the header would be sent, so it may not change the ID.
// Then it releases the session, as Release does: the connection (a
// websocket) may stay open for hours after its request, and its lock held
// that long would make each of the user's other requests wait out the
// lock timeout and fail.
func (s *Session) commitHijack() error {
	lk, err := s.commitHijackLocked()
	if err != nil {
		return err
	}
	s.release(lk)
	return nil
}

// commitHijackLocked is the part of commitHijack under s.mu, held through
// a defer (see lookup); it hands over the lock to release.
func (s *Session) commitHijackLocked() (*fsstore.Locked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.commit(nil)
	if err == nil && s.idCookie {
		// Release saved a new or renewed session and put its cookie
		// into the header, which the hijacker's response never sends:
		// the user would keep the old ID (after Renew, a logged out
		// one). Refused, the error answer carries the cookie.
		err = fmt.Errorf("httpsession: the session was saved under a new ID by Release: %w", ErrNeedsCookie)
	}
	if errors.Is(err, ErrNeedsCookie) {
		// Most often a new or renewed session, whose cookie the
		// hijacker's own response cannot carry: say so, whatever the
		// commit called it.
		err = fmt.Errorf("httpsession: hijack (the hijacked connection's response cannot set the session's cookie; save the session in an earlier response): %w", err)
	}
	if err != nil {
		s.abortLocked(err)
		return nil, err
	}
	s.started, s.released = true, true
	lk := s.lk
	s.lk = nil
	return lk, nil
}

// abort marks the request as answered with an error (err): no change is
// saved from now on. s.mu is not held.
func (s *Session) abort(err error) {
	// A lock wait under way on another goroutine (the handler's, under
	// http.TimeoutHandler) holds s.mu: end it first, so that the error
	// answer does not wait for it.
	s.wait.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked(err)
}

// abandon ends the use of a session whose handler panicked: nothing is
// saved but a Destroy made before, under the lock still held. The cookie
// is not cleared: nothing of this middleware's answers the request. s.mu is
// not held.
func (s *Session) abandon(ctx context.Context) {
	s.wait.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked(errPanicked)
	if s.deleteID == "" {
		return
	}
	if err := s.commit(nil); err != nil {
		s.m.cfg.log.ErrorContext(ctx, "httpsession: the handler panicked, and deleting the session it destroyed failed", "err", err)
	}
}

// errLoadAfterStart is the commit's error for a session that could not be
// loaded after the response started (see Manager.logAfterStart).
var errLoadAfterStart = errors.New("httpsession: the session could not be loaded after the response started; nothing was saved")

// errPanicked is the error of a session whose handler panicked.
var errPanicked = errors.New("httpsession: the handler panicked; session changes are not saved")

func (s *Session) abortLocked(err error) {
	if s.aborted == nil {
		s.aborted = err
	}
	s.started = true
}

// commit publishes the request's changes; s.mu is held. With h non-nil the response has
// not started and the cookie can be set; with h nil it has, and any change
// of ID is refused. It never lets the session ID into an error.
func (s *Session) commit(h http.Header) error {
	m := s.m
	switch {
	case s.ended:
		return errEnded
	case s.aborted != nil && s.loadErr != nil && !errors.Is(s.loadErr, errAborted):
		// The handler answers an error because the session could not be
		// loaded: the error handler answers in its place, with the
		// status that error calls for (503 for a lock wait, ...). (A
		// load the error answer itself ended is not that.)
		return s.loadErr
	case s.aborted != nil:
		// The error answer goes out and nothing is saved, but a Destroy
		// (a log out) is still carried out: an error page must not leave
		// the user logged in.
		if s.deleteID == "" {
			return nil
		}
		ctx, cancel := s.commitContext()
		defer cancel()
		if err := s.deleteRecord(ctx, s.deleteID, nil); err != nil {
			return err
		}
		s.deleteID = ""
		if h != nil {
			m.expireCookie(h)
		}
		return nil
	case s.destroyRefused != nil:
		err := s.destroyRefused
		s.destroyRefused = nil
		if s.dirty && s.mode == ReadOnly {
			err = errors.Join(err, errRemovedReadOnly) // both to fix
		}
		return s.withLoadErr(err, h)
	case s.released:
		err := s.pending
		s.pending = nil
		return s.withLoadErr(err, h)
	case !s.ready:
		// The handler never used the session: nothing to save or touch.
		if h != nil {
			if s.badCookie {
				m.expireCookie(h)
			}
			s.started = true
		}
		return nil
	case s.loadErr != nil && h == nil:
		// First used after the response started, and not loaded: the
		// handler's calls returned the error, no answer can carry it,
		// and there was nothing to save.
		return fmt.Errorf("%w: %w", errLoadAfterStart, s.loadErr)
	case s.loadErr != nil:
		return s.loadErr
	case h == nil && s.started && !s.dirty:
		// Nothing to save. A session first read after the response
		// started (a streamed page, a template reading it lazily) is due
		// the touch a read earns as much as one read before.
		if s.rec != nil && !s.touched {
			s.maybeTouch(m.cfg.now())
		}
		return nil
	}
	now := m.cfg.now()
	ctx, cancel := s.commitContext()
	defer cancel()
	if s.dirty && s.mode == ReadOnly {
		// Put, Renew and Destroy refused at once: only a removal gets here.
		return errRemovedReadOnly
	}
	canSetCookie := h != nil
	expireCookie := false

	if s.deleteID != "" {
		// Delete even when the cookie can no longer be cleared: a logged
		// out session must be unusable server-side.
		if err := s.deleteRecord(ctx, s.deleteID, nil); err != nil {
			return err
		}
		s.deleteID = ""
		expireCookie = true
	}

	// A payload is encoded only to be written: a request that changed
	// nothing (or set values back) encodes nothing.
	changed := s.dirty && s.values.changed()
	var (
		payload []byte
		saved   values  // s.values once payload is written
		out     *reqBuf // the buffer payload and saved are in
	)
	if changed || s.renew && s.rec != nil || s.rec == nil && s.dirty && s.values.len() > 0 {
		var err error
		out = s.spareBuf()
		base := out.m
		if cap(base) == 0 {
			// A buffer new from the pool: the list an ended session
			// handed over saves allocating one of the session's count.
			for _, bp := range s.held {
				if bp.spare != nil {
					base, bp.spare = bp.spare, nil
					break
				}
			}
		}
		if payload, saved, err = s.values.encode(out.b, base); err != nil {
			return fmt.Errorf("httpsession: encode session: %w", err)
		}
		out.b, out.m = payload[:0], saved.base[:0] // keep what encode had to grow
	}

	switch {
	case s.renew && s.rec != nil:
		if !canSetCookie {
			return fmt.Errorf("httpsession: session renewed after the response started; not saved: %w", ErrNeedsCookie)
		}
		fresh, err := m.newRecord(payload)
		if err != nil {
			return err
		}
		// Without the old record's lock (Optimistic mode), another
		// request may have saved it since this one loaded it: its change
		// would be lost with the old record, as a compare-and-swap of it
		// would not allow. So the old record is locked for the time of
		// the renewal, and it must still be the one loaded.
		var old *fsstore.Locked
		if s.lockOf(s.rec.ID) == nil {
			lctx, lcancel := context.WithCancel(ctx) // an error answer (abort) ends this wait too
			old, err = s.wait.lock(lctx, lcancel, m.st, s.rec.ID)
			lcancel()
			if err != nil {
				return fmt.Errorf("httpsession: renew: %w", err)
			}
			defer s.release(old)
			cur, err := old.Load(ctx)
			switch {
			case errors.Is(err, fsstore.ErrNotFound) || err == nil && cur.Version != s.rec.Version:
				return fmt.Errorf("httpsession: renew: the session changed since it was read: %w", fsstore.ErrConflict)
			case err != nil:
				return fmt.Errorf("httpsession: renew: %w", err)
			}
		}
		// Publish the new record before replacing the old one: a failure
		// in between leaves the user logged in under the old ID rather
		// than with no session at all.
		if err := s.publish(ctx, fresh, old); err != nil {
			return fmt.Errorf("httpsession: renew: %w", err)
		}
		if err := s.leaveRenewed(ctx, s.rec, old); err != nil {
			return err
		}
		s.rec, s.values, s.src, s.srcRoom = fresh, saved, out, false
		m.setCookie(h, fresh.ID, fresh.Deadline, now)
		m.warnPlainHTTP(s.req)
		m.warnDomain(s.req)
		s.idCookie = true
		expireCookie = false
	case s.rec == nil && payload != nil && s.renewedAway && !s.renew:
		// A request that renews (a log in of its own) starts afresh: its
		// cookie names a session of its own making.
		return fmt.Errorf("httpsession: the session was renewed by another request (a log in, in another tab?) while this one was under way; its change was not saved: %w", fsstore.ErrConflict)
	case s.rec == nil && payload != nil:
		if !canSetCookie {
			return fmt.Errorf("httpsession: session created after the response started; not saved: %w", ErrNeedsCookie)
		}
		fresh, err := m.newRecord(payload)
		if err != nil {
			return err
		}
		if err := s.publish(ctx, fresh, nil); err != nil {
			return fmt.Errorf("httpsession: save new session: %w", err)
		}
		s.rec, s.values, s.src, s.srcRoom = fresh, saved, out, false
		m.setCookie(h, fresh.ID, fresh.Deadline, now)
		m.warnPlainHTTP(s.req)
		m.warnDomain(s.req)
		s.idCookie = true
		expireCookie = false
	case s.rec != nil && changed:
		prev := *s.rec
		s.rec.Data = payload
		var err error
		if lk := s.lockOf(s.rec.ID); lk != nil {
			err = lk.Save(ctx, s.rec)
		} else {
			// Optimistic mode, or a record this request wrote under a
			// fresh ID (a new session, Renew): its version is known, so
			// compare-and-swap loses no update the lock would have kept.
			// It waits for the record's lock, which an error answer
			// ends. With the request's lock held, the fresh ID shares
			// its stripe (see publish): no wait for another process.
			cctx, ccancel := context.WithCancel(ctx)
			err = s.wait.run(cctx, ccancel, func(ctx context.Context) error { return m.st.CompareAndSwap(ctx, s.rec) })
			ccancel()
		}
		if err != nil {
			*s.rec = prev
			return fmt.Errorf("httpsession: save session: %w", err)
		}
		s.values, s.src, s.srcRoom = saved, out, false
	case s.rec != nil && !s.touched:
		s.maybeTouch(now)
	}
	s.dirty, s.renew = false, false
	if canSetCookie && s.rec == nil && (expireCookie || s.staleCookie || s.badCookie) {
		m.expireCookie(h)
	}
	if canSetCookie {
		s.started = true
	}
	return nil
}

// withLoadErr returns err, a commit's error that is not the load's, joined
// after the load's failure, if the session could not be loaded and err
// does not already carry it. The load's failure comes first: the status
// goes by it (StatusCode), so that a store that does not answer is a 503
// with Retry-After, not a 500 for a Destroy refused on the way, and the
// log line names both. A session first used after Release and not loaded
// fails the request as one used before would (the handler's calls
// returned the error), where the commit of a Release that had nothing to
// save returned nil. With h nil the response has started, and the load's
// failure is reported as errLoadAfterStart. s.mu is held.
func (s *Session) withLoadErr(err error, h http.Header) error {
	if s.loadErr == nil || s.loadReported || errors.Is(err, s.loadErr) {
		return err
	}
	lerr := s.loadErr
	if h == nil {
		lerr = fmt.Errorf("%w: %w", errLoadAfterStart, lerr)
	}
	return errors.Join(lerr, err)
}

// publish saves fresh, a record under an ID nobody else has. old is a lock
// the commit holds besides the request's own, if any.
//
// A request holding no lock saves it with Store.Save: no lock, no look for
// a record at the name. The ID was drawn from crypto/rand a moment ago and
// goes out in the cookie only once the save returned, so no other request
// or host can lock, read or write it before then, and no record can be at
// its name, which is a hash of it (only an ID known beforehand could put
// one there). The rename that publishes it then renames nothing aside (a
// save over a record that a process holds open is two RENAMEs on NFS, the
// gap Exclusive mode's reads under the lock assume no save leaves), and
// nobody reads the ID before it lands. CompareAndSwap from version 0,
// which this was, paid 9 of a first visit's 13 NFS round trips for
// nothing: the stripe's LOCK, LOCKU and FREE_STATEID (and a wait behind
// whoever held the stripe for another session), two GETATTRs of the
// directory and three OPENs of no such file (the name, the sweep's and a
// locked Delete's aside names), and the SETATTR of a fenced temp file's
// exclusive create.
//
// A request holding a session's lock must not wait for another stripe's:
// its holder may be another process (host) waiting for the stripe this
// request holds (it logs in too, the other way round), and both would wait
// until their lock timeouts, each log in failing. So while a lock is held
// the fresh ID is drawn on that lock's stripe, whose OS lock this process
// holds and shares with the fresh ID: its TryLock here does not contend
// with other processes, and neither does a later save of the record in
// this request (a change after the response started, by CompareAndSwap,
// with the old ID's lock still held). A fresh ID on another stripe, tried
// without waiting, would not do: taken free for the publish, it could be
// busy for that later save. A request holding no lock takes none here (see
// above); a later save of the record in it waits for the record's lock
// (CompareAndSwap) holding no other.
func (s *Session) publish(ctx context.Context, fresh *fsstore.Session, old *fsstore.Locked) (err error) {
	held := cmp.Or(old, s.lk)
	if held == nil {
		return s.m.st.Save(ctx, fresh)
	}
	id, err := held.NewIDSharingStripe()
	if err != nil {
		return err
	}
	fresh.ID = id
	// Never waits: the stripe is this process's. It fails (ErrLocked)
	// only when the process's lock on it is being let go or was lost,
	// which the held lock's own saves would report too.
	lk, err := s.m.st.TryLock(fresh.ID, fsstore.Exclusive)
	if err != nil {
		return err
	}
	// Released however the save ends: its report to the store's
	// Observer may panic, and the fresh ID's lock, left held, kept the
	// stripe it shares with the request's from every other host for as
	// long as the process ran.
	defer func() {
		if uerr := lk.Unlock(); err == nil && uerr != nil {
			err = uerr
		}
	}()
	// No look for a record at the fresh ID first, as above: none can be
	// there. It cost 5 NFS round trips (a lock holder's LoadLockedOnly of
	// no record) at every log in.
	return lk.Save(ctx, fresh)
}

// commitContext returns the context of a commit. The commit outlives a
// client that hangs up (s.ctx is detached from the request), so that a
// change is not abandoned half way because the client left; but no store
// I/O may run on a context that can never end: an unreachable file server
// never answers, and a record's lock may be held for long by another
// host's request. The request's
// deadline bounds it (the client is not waiting longer), and the lock
// timeout when the request has none or a later one; the caller then sees
// a 503.
func (s *Session) commitContext() (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(s.m.cfg.lockTimeout)
	if d, ok := s.reqCtx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(s.ctx, deadline)
}

// maybeTouch extends the idle expiry of an unchanged session, but only when
// less than half of the idle timeout remains: a touch is a round trip to
// the file server, and doing it on every request would cost as much as the
// read. Failures are logged, not returned: the response is still correct,
// the session merely expires on its old schedule. s.mu is held.
func (s *Session) maybeTouch(now time.Time) {
	// The record's own idle timeout decides: another application (an
	// adapter, another process) may have saved it with a longer one.
	rec, idle := s.rec, s.rec.Idle
	if idle <= 0 {
		idle = s.m.cfg.idle
	}
	if rec.Expires.IsZero() || rec.Expires.Sub(now) >= idle/2 {
		return
	}
	if !rec.Deadline.IsZero() && !rec.Deadline.After(rec.Expires) {
		return // the absolute deadline ends the session first
	}
	if s.m.readOnlyStore.Load() {
		return // refused by design: see below
	}
	// A context of its own: most reads touch nothing, and a commit with
	// nothing to save after the response started makes none.
	ctx, cancel := s.commitContext()
	defer cancel()
	var err error
	if lk := s.lockOf(rec.ID); lk != nil {
		err = lk.Touch(ctx)
	} else {
		err = s.m.st.Touch(ctx, rec.ID)
	}
	s.touched = true
	switch {
	case err == nil:
		if s.m.readOnlyMount.Load() {
			s.m.readOnlyMount.Store(false) // the mount takes writes again
		}
		rec.Expires = now.Add(idle)
		if !rec.Deadline.IsZero() && rec.Deadline.Before(rec.Expires) {
			rec.Expires = rec.Deadline
		}
	case errors.Is(err, fsstore.ErrNotFound):
		// Deleted or expired meanwhile (a log out in another tab).
	case errors.Is(err, fsstore.ErrStoreReadOnly):
		// A store opened read-only (a reporting tool on a mount that is
		// ro on its host) refuses every touch, by the operator's choice:
		// no fault to log at Error on each read, and no call to make
		// again. The sessions' own hosts extend their expiry.
		if s.m.readOnlyStore.CompareAndSwap(false, true) {
			s.m.cfg.log.WarnContext(ctx, "httpsession: the store was opened fsstore.WithReadOnly, so reads through this Manager do not touch sessions: a session read only here expires on its last save's or touch's schedule. Logged once.", "dir", s.m.st.Dir())
		}
	case fserr.ReadOnly(err):
		// The mount turned read-only on this host (on every host, when
		// the share itself did): every read of a session due for a
		// touch meets it, on a request that is served. The store logs
		// the state, and sessfs_read_only_fs shows it; an Error line
		// per request would bury the log. Once, until a touch succeeds.
		if s.m.readOnlyMount.CompareAndSwap(false, true) {
			s.m.cfg.log.WarnContext(ctx, "httpsession: touch refused: the store's mount is read-only on this host (EROFS), so reads do not extend sessions, which expire on their last save's or touch's schedule, and requests that save fail with 503. Logged once until a touch succeeds.", "dir", s.m.st.Dir(), "err", err)
		}
	default:
		s.m.cfg.log.ErrorContext(ctx, "httpsession: touch failed", "err", err)
	}
}

// lockOf returns the request's lock when it is id's. After Renew, or
// Destroy and a new value, the request still holds the old ID's lock (it
// is released with the request, as any other) while the record it saves
// has a fresh ID, which that lock cannot write. s.mu is held.
func (s *Session) lockOf(id string) *fsstore.Locked {
	if s.lk != nil && s.lk.ID() == id {
		return s.lk
	}
	return nil
}

// deleteRecord deletes id's record under held, or else under the request's
// lock when it is id's, or else without a lock.
// renewedMarker is the payload left at a renewed session's old ID (see
// leaveRenewed). It is not JSON, so no session's values encode to it.
var renewedMarker = []byte("\x00sessfs: renewed")

// errRenewedAway stands for a marker left by Renew where a record was.
var errRenewedAway = fmt.Errorf("renewed by another request: %w", fsstore.ErrNotFound)

// leaveRenewed replaces the record of a session that Renew moved to a fresh
// ID with a marker that expires soon after. A request still under way with
// the old ID (another tab's, waiting for the lock while the log in ran)
// then finds the marker rather than nothing: deleted, the session looked
// like one that never existed, and such a request that changed anything
// created a new session whose cookie, answered after the log in's, logged
// the user out again. The marker holds nothing of the session and names
// no new ID: whoever holds the old ID (planted it, say) learns nothing.
// It lives for as long as a request may have waited for the lock, plus a
// margin; held is the old record's lock (the request's own when nil).
func (s *Session) leaveRenewed(ctx context.Context, rec *fsstore.Session, held *fsstore.Locked) error {
	lk := cmp.Or(held, s.lockOf(rec.ID))
	if lk == nil {
		return s.deleteRecord(ctx, rec.ID, nil)
	}
	idle := min(s.m.cfg.lockTimeout+2*time.Minute, fsstore.MaxIdleTimeout)
	marker := &fsstore.Session{ID: rec.ID, Data: renewedMarker, Version: rec.Version, Idle: idle}
	if err := lk.Save(ctx, marker); err != nil {
		return fmt.Errorf("httpsession: renew: replace the old record: %w", err)
	}
	return nil
}

func (s *Session) deleteRecord(ctx context.Context, id string, held *fsstore.Locked) error {
	var err error
	if lk := cmp.Or(held, s.lockOf(id)); lk != nil {
		err = lk.Delete(ctx)
	} else {
		err = s.m.st.Delete(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("httpsession: delete session: %w", err)
	}
	return nil
}

// end ends the request's use of the session: it releases the lock, if
// any, and hands what the request took from the Manager's pool back to
// it, but for the bytes the session's data lives in. Code that still
// holds the session reads its values (listing the members again) and
// gets errEnded from a change; a Get still decoding a value keeps every
// buffer out of the pool.
func (s *Session) end() {
	s.mu.Lock()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	lk := s.lk
	s.lk = nil
	s.ended = true
	s.req = nil // no commit is left to warn about; code still holding the session does not hold the request
	// The session stays readable: code that runs after the handler (a
	// framework's error handler, an outer middleware that logs the user)
	// may read it. So it keeps the bytes its data lives in (src.b), and
	// nothing else: the pool gets back the other buffers, src's lists
	// (the members list, whose size follows the session's key count, and
	// a spare list an ended session handed over for encodings), and all of
	// src when its bytes hold none of the data (the store allocated the
	// record). A read after the end lists the members again.
	//
	// Under WithBufferReuse nothing reads the session after its request,
	// so its values go too, and every buffer goes back, src's bytes
	// included: the session keeps no reference to any of them (its
	// values, its record's Data), so no read can see what later requests
	// write there.
	reuse := s.m.cfg.reuseBuffers
	if reuse {
		s.values, s.relist, s.gone = values{}, false, true
		if s.rec != nil {
			s.rec.Data = nil
		}
	}
	var back []*reqBuf
	if s.reading == 0 { // else dropped, not reused: a Get is reading one of them
		for _, bp := range s.held {
			if bp != s.src || reuse {
				back = append(back, bp)
			}
		}
		if reuse {
			s.src = nil
		}
		if src := s.src; src != nil {
			s.src = nil
			s.values.base, s.values.ekeys, s.relist = nil, nil, true
			switch {
			case s.srcRoom:
				back = append(back, src)
			case len(back) == 0:
				// Its lists go back with it, and room for a record in
				// place of its bytes, which stay the session's: a request
				// that only reads (the most common) takes a buffer out of
				// the pool for good, and the next load into an empty one
				// would cost the store's allocation of the record and then
				// the room grown for the pool (see loaded).
				src.b = make([]byte, 0, min(cap(src.b), maxPooledBuf))
				back = append(back, src)
			default:
				// A buffer going back takes the longest list as its spare
				// (one list an encoding needs); the others, with src, are
				// left to the collector.
				l := src.m
				if cap(src.spare) > cap(l) {
					l = src.spare
				}
				if cap(l) > cap(back[0].spare) {
					back[0].spare = l[:0]
				}
				src.m, src.spare = nil, nil
			}
		}
	}
	s.held = nil
	s.mu.Unlock()
	s.release(lk)
	for _, bp := range back {
		s.m.putBuf(bp)
	}
}

// spareBuf returns a buffer to read or encode into: a held one that no
// data of the session's lives in, else one from the pool, then held. s.mu
// is held.
func (s *Session) spareBuf() *reqBuf {
	if s.reading == 0 {
		for _, bp := range s.held {
			if bp != s.src {
				return bp
			}
		}
	}
	bp := s.m.getBuf()
	s.held = append(s.held, bp)
	return bp
}

// loadBuf returns a buffer for a load to read into (see spareBuf), not
// held by the session until the load returns (loaded): a load that never
// returns, one whose report to the store's Observer panicked (on this
// goroutine, after a bounded store gave up on a read still under way),
// leaves it to the collector. Held, it went back to the pool at the
// request's end, and a read that finished late wrote into another
// request's buffer. s.mu is held.
func (s *Session) loadBuf() *reqBuf {
	if s.reading == 0 {
		for i, bp := range s.held {
			if bp != s.src {
				s.held = slices.Delete(s.held, i, i+1)
				return bp
			}
		}
	}
	return s.m.getBuf()
}

// loaded records what a load into bp (loadBuf) left there: the record, in
// bp when it fitted (the store allocates otherwise, and bp grows for the
// next request). bp is held from then on, unless the load ran out of
// time: a bounded store that gave up waiting may still be reading into
// it. s.mu is held.
func (s *Session) loaded(bp *reqBuf, rec *fsstore.Session, err error) {
	if errors.Is(err, fsstore.ErrUnavailable) {
		return
	}
	s.held = append(s.held, bp)
	if err != nil {
		return
	}
	s.src, s.srcRoom = bp, false
	if need := len(rec.Data) + recordRoom; cap(bp.b) < need {
		// Not read into bp: the store allocated. Grow bp, so that the
		// pool soon holds buffers this Manager's sessions fit in; the
		// members' list stays bp's, its bytes none of the session's.
		bp.b = make([]byte, 0, need+need/8)
		s.srcRoom = true
	}
}

// release unlocks lk, waiting for it no longer than the request's deadline
// (or the lock timeout; see commitContext). On an unreachable file server
// the store bounds the release by its own ceiling, which may be far longer
// than the client waits; the response must not wait for it. A release
// still under way then finishes in the background, and the store keeps the
// lock held in this process until it does, so the user's next request
// waits for it as it would for any held lock. A store that is not bounded
// (a local filesystem) waits for no server: there the release runs on the
// request's goroutine.
func (s *Session) release(lk *fsstore.Locked) {
	if lk == nil {
		return
	}
	if !s.m.st.Bounded() {
		// The goroutine and the hand-off to it cost a request more than
		// the release: 13-20 µs of CPU on a 2-core VM
		// (docs/measurements.md).
		s.unlockHandle(lk)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.unlockHandle(lk)
	}()
	ctx, cancel := s.commitContext()
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (s *Session) unlockHandle(lk *fsstore.Locked) {
	if lk == nil {
		return
	}
	if err := lk.Unlock(); err != nil {
		s.m.cfg.log.ErrorContext(s.ctx, "httpsession: unlock failed", "err", err)
	}
}

// lockWait lets an error answer written on another goroutine (that of
// http.TimeoutHandler around the handler) end a wait for a lock that the
// handler's goroutine is in, holding s.mu, for as long as the lock
// timeout: the session's own lock, or a record's under a compare-and-swap
// or a renewal. Other store calls are bounded by the store. A context of
// its own for every request would do the same at an allocation per
// request.
type lockWait struct {
	mu      sync.Mutex
	cancel  context.CancelFunc // the wait under way, if any
	stopped bool
}

// run calls fn with ctx, which cancel ends, unless stop came first; stop
// ends it while it runs.
func (w *lockWait) run(ctx context.Context, cancel context.CancelFunc, fn func(context.Context) error) error {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return errAborted
	}
	w.cancel = cancel
	w.mu.Unlock()
	err := fn(ctx)
	w.mu.Lock()
	w.cancel = nil
	if w.stopped && err != nil {
		err = errAborted
	}
	w.mu.Unlock()
	return err
}

// lock takes id's lock through run.
func (w *lockWait) lock(ctx context.Context, cancel context.CancelFunc, st *fsstore.Store, id string) (lk *fsstore.Locked, err error) {
	err = w.run(ctx, cancel, func(ctx context.Context) error {
		lk, err = st.Lock(ctx, id, fsstore.Exclusive)
		return err
	})
	return lk, err
}

// stop ends the wait under way and refuses later ones.
func (w *lockWait) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.cancel != nil {
		w.cancel()
	}
}
