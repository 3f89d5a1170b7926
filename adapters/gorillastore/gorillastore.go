// Package gorillastore is a github.com/gorilla/sessions Store backed by an
// fsstore.Store, a drop-in replacement for sessions.FilesystemStore that
// works across hosts sharing one NFS or EFS directory, for applications
// already on gorilla/sessions or echo-contrib/session (a new application
// starts with package httpsession, whose sessions are locked; this store's
// saves are last-writer-wins):
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	store := gorillastore.New(st, []byte(os.Getenv("SESSION_KEY")))
//
//	// in a handler:
//	session, err := store.Get(r, "session-name")
//	if errors.Is(err, gorillastore.ErrNotLoaded) { // the store failed: 503 in an outage
//		http.Error(w, "session not loaded", httpsession.StatusCode(err))
//		return
//	} // after another error (a forged cookie) the new session is the one to use
//	session.Values["user"] = "alice"
//	if err := session.Save(r, w); err != nil {
//		http.Error(w, "session not saved", httpsession.StatusCode(err))
//		return
//	}
//
// As with FilesystemStore, the cookie holds only the session ID, signed
// (and, with a second key, encrypted) by securecookie with the key pairs
// given to New, and the values live in the store, gob-encoded (register
// custom types with gob.Register as for any gorilla store) and protected by
// the same codecs: signed, and with a second key encrypted. Unlike
// FilesystemStore, the signature also covers the session ID, so a record
// copied over another session's does not load as that session. Anyone who
// can write the store directory but does not have the keys can therefore
// neither change a session's values nor plant a session; see
// docs/security.md. Records written by versions of this package before the
// values were signed do not load (their users get a new session). IDs come
// from fsstore.NewID (256 random bits).
//
// Expiry: as with FilesystemStore, a session lives Options.MaxAge after
// its last Save (30 days by default), the cookie's lifetime: each Save sets
// the record's deadline to now plus MaxAge and its own idle timeout
// (fsstore.Session.Idle) to MaxAge, whatever the store's idle timeout and
// lifetime (fsstore.WithIdleTimeout, fsstore.WithLifetime, which bound
// httpsession's sessions, not these), and the sweep never removes it
// earlier. A session saved at least once per MaxAge has no absolute end,
// as with FilesystemStore: to cap a login's length, keep its start in the
// session and check it. A session that is only read (not
// saved) is not extended, as with FilesystemStore. MaxAge is capped at
// fsstore.MaxIdleTimeout (400 days). A session's own Options.MaxAge longer
// than the store's (Store.MaxAge, 30 days unless set) lasts only the
// store's without a Save, as in gorilla's stores: the codecs refuse a
// cookie signed longer ago than that. Get then returns a new session
// without an error, where gorilla's stores return securecookie's "expired
// timestamp" until the browser drops the cookie. A "remember me" session
// of 90 days needs Store.MaxAge(90 * 86400) (or more) on the store.
//
// Options.MaxAge 0 deletes the session at Save, as FilesystemStore does,
// not as CookieStore, which keeps it with a cookie that ends with the
// browser session (gorilla's Options: "MaxAge=0 means no Max-Age
// attribute"). An application moving from CookieStore (or redistore) that
// sets MaxAge 0 must set KeepZeroMaxAge, or every Save of its sessions
// logs the user out. A negative MaxAge deletes the session at Save. A
// deletion expires the cookie; FilesystemStore's with MaxAge 0 leaves the
// browser an empty cookie until it closes, which is no session here.
//
// Saves are last-writer-wins, like FilesystemStore's. Use the httpsession
// package when a user's concurrent requests must not lose updates. That
// holds for a logout too, as with gorilla's stores: a request of the same
// user that loaded the session before a logout deleted it (a page loading
// in another tab) and saves it afterwards stores it again under its ID,
// values and all, and its cookie, if its answer reaches the browser last,
// brings the logged-out session back; a save that overlaps a log in, done
// as a logout then a save, brings back the session of the ID the log in
// retired. scsstore's delete guard, and httpsession's lock, close this.
//
// Like gorilla's stores, Save sets the cookie and no other header: Vary:
// Cookie and Cache-Control: private, which keep shared caches (a CDN) from
// handing one user's cookie or page to another, are the application's to
// set on every response that uses the session, saved or not, in a
// middleware (docs/frameworks.md, "Shared caches with the drop-in
// stores"). The httpsession middleware sets them itself.
//
// # When the store fails
//
// When the store fails to read a session for any reason but the record's
// own (its file server did not answer in time, fsstore.ErrUnavailable; the
// store is closed; the request's deadline passed; an I/O error, or any other
// the file system returns), Get returns the session with IsNew set and no
// values of the application's, with the error, as gorilla's stores do. Applications often ignore that error
// (gorilla's own examples do, and gin-contrib/sessions only logs it), and
// saving the empty session once the store answers again would replace the
// user's: a logout caused by a passing outage. So Save refuses such a
// session with an error wrapping the one Get returned (an outage's
// fsstore.ErrUnavailable: answer 503; httpsession.StatusCode maps it).
// Values holds one key of this package's for that: code that ranges over
// Values must not assume string keys. A logout (Options.MaxAge < 0, or 0
// without KeepZeroMaxAge) deletes the stored session as usual, and values
// the application cleared are saved over it. gorilla's sessions.Save
// reports errors as text, so test for fsstore.ErrUnavailable on
// Session.Save's or Store.Save's error.
//
// Get's error and the refusing Save's both match ErrNotLoaded, and no
// other error of Get's does. So a handler answers Get's error when it
// matches ErrNotLoaded, with httpsession.StatusCode(err) (503 in an outage
// or with the store closed, 500 otherwise), and carries on with the new session after any other (a
// cookie or stored values that fail authentication), as applications do
// after gorilla's stores' decode errors; Save's error it answers with
// httpsession.StatusCode too. A handler that returns every error of
// Get's, as echo-contrib's documentation writes, answers 500 in an outage,
// and 500 on every request of a user whose cookie is signed with other
// keys until the cookie expires, as no Save replaces it.
//
// A record that is damaged (fsstore.ErrCorrupt: a power loss on a local
// disk, a truncated file) or refused (fsstore.ErrRefused: a symbolic link
// at its name, a permission error) is no session, without an error, as a
// missing one: it fails the same way on every request, and with the error a
// handler that returns it (echo-contrib's usage) would answer 500 until the
// cookie expired, never saving the session that replaces it. The store logs
// it and reports it to its Observer (outcome corrupt, permission or
// error). Stored values that fail authentication (written with other keys,
// or by someone without them) are no session too, but Get returns that
// error: the store saw nothing wrong, and the error is the only trace.
// Saving the new session starts the user afresh, under a new ID.
package gorillastore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/detach"
	"github.com/sessfs/sessfs/internal/plainhttp"
)

// Store is a gorilla/sessions store. Its fields may be changed after New
// and before use, as with FilesystemStore.
type Store struct {
	// Codecs sign (and optionally encrypt) the cookie holding the ID and
	// the stored values.
	Codecs []securecookie.Codec
	// Options is the default configuration of new sessions: Path "/",
	// MaxAge 30 days, HttpOnly, Secure, SameSite Lax. Browsers send a
	// Secure cookie back only over HTTPS (or to localhost): an application
	// reached over plain HTTP at another address starts a new session on
	// every request. Save logs a warning of it, once per Store, to
	// Logger; set Secure to false for development over plain HTTP, never
	// in production.
	Options *sessions.Options
	// KeepZeroMaxAge makes Save keep a session whose Options.MaxAge is 0,
	// as gorilla's CookieStore (and so gin-contrib's cookie store) does, where
	// FilesystemStore deletes it (the default here, false). Its cookie
	// then has no Max-Age or Expires: it ends with the browser session.
	// Its record, which no browser ends, expires the store's idle timeout
	// (fsstore.WithIdleTimeout, 24 minutes by default) after its last Save
	// (and at the store's lifetime, fsstore.WithLifetime, from that Save),
	// as redistore keeps such a session its DefaultMaxAge. A negative
	// MaxAge deletes the session either way. adapters/ginstore sets it.
	KeepZeroMaxAge bool
	// Logger takes the Store's warnings (a Secure cookie sent in answer
	// to plain HTTP); nil, the default, is slog.Default(), and so is a
	// slog.Logger without a handler (a zero one), which would panic on its
	// first record. Records never hold the session ID or the request's
	// path.
	Logger *slog.Logger

	st  *fsstore.Store
	now func() time.Time
	// plainWarned: the warning about a Secure cookie sent in answer to a
	// plain HTTP request was logged.
	plainWarned atomic.Bool
	// noKey: New was given no authentication key, or an empty one, with
	// which securecookie can sign nothing; Save's error then says so.
	noKey bool
}

// New returns a store keeping sessions in st (which the caller opened and
// closes), with cookies and stored values protected by keyPairs as in
// securecookie.CodecsFromPairs: an authentication key, optionally
// followed by an encryption key, repeated for key rotation. The
// authentication key should be 32 or 64 random bytes; with none, or an
// empty one (an unset environment variable), every Save fails with an error
// saying so. With a nil st
// (an Open whose error was dropped) loads and saves fail with an error
// saying so.
//
// securecookie limits encoded values to 4096 bytes by default, which
// suits cookies but not stored values; New lifts the limit (as
// FilesystemStore.MaxLength(0) would): the store's fsstore.WithMaxSize
// bounds a session instead.
func New(st *fsstore.Store, keyPairs ...[]byte) *Store {
	s := &Store{
		Codecs: securecookie.CodecsFromPairs(keyPairs...),
		Options: &sessions.Options{
			Path: "/", MaxAge: 86400 * 30,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
		},
		st:    st,
		now:   time.Now,
		noKey: len(keyPairs) == 0 || len(keyPairs[0]) == 0,
	}
	s.MaxAge(s.Options.MaxAge)
	s.MaxLength(0)
	return s
}

// MaxLength limits the encoded length of stored values, as
// FilesystemStore.MaxLength does (0: no limit beyond the store's
// fsstore.WithMaxSize, the default here). It also limits the cookie.
func (s *Store) MaxLength(l int) {
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxLength(l)
		}
	}
}

// valuesName is the name under which securecookie authenticates a
// session's stored values: the cookie name and the session ID, so that
// values are bound to their session and cannot be moved to another.
func valuesName(cookieName, id string) string {
	return "gorillastore-values\x00" + cookieName + "\x00" + id
}

// SetClock replaces time.Now for computing deadlines; pass the same clock
// as fsstore.WithClock. For tests. A nil now is time.Now, as not calling
// SetClock is.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// Get returns the named session for the request, from the request's
// session registry (so Get twice returns the same session).
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the named session without registering it: the stored one
// when the request's cookie names a live session, a new one otherwise.
// Like FilesystemStore, it returns the new session together with an error
// when the cookie could not be decoded or the session could not be
// loaded; a missing or expired session is not an error, and neither is an
// empty cookie (what FilesystemStore's logout with MaxAge 0 leaves) or a
// cookie that gorilla's CookieStore signed with the same keys (an
// application switching from it: its users get a new session).
//
// Browsers send every cookie of the name that matches the request, the
// longest path first: one left by an earlier Options.Path, or set by a
// sibling subdomain, may come before the session's. So each of them is
// tried in turn (at most four loads, each value once), and the first that
// names a live session is the session; without that, the new session's
// Save would replace the user's cookie and log the user out. When none
// does, the error is the first non-empty cookie's, as gorilla's stores
// report it: a later cookie signed with other keys must not turn the new
// session the first one gets into an error (a handler returning it would
// answer 500 for good, never saving the cookie that replaces the stale
// one).
//
// A nil *Store, or one with nil Options (a Store{} not made by New), loads
// nothing: New returns a new session with an error naming the mistake
// that matches ErrNotLoaded, and Save fails, rather than every request
// panicking inside gorilla's registry with a nil dereference that names
// neither (a nil *Store in a sessions.Store interface passes
// echo-contrib's check for a missing store).
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	if err := s.notNew(); err != nil {
		session.IsNew = true
		return session, &notLoadedError{err: fmt.Errorf("gorillastore: get: %w", err)}
	}
	opts := *s.Options
	session.Options = &opts
	session.IsNew = true
	// The session is loaded when the handler first uses it, which
	// gin-contrib's middleware puts off until then: a client that hung up
	// before (net/http then cancels the request's context) must not have
	// the handler's work refused at Save for a session not loaded, where
	// gorilla's stores, which take no context, load it all the same.
	ctx, cancel := detach.Context(r.Context())
	defer cancel()
	var firstErr error
	tried, loads := map[string]bool{}, 0
	for _, c := range r.CookiesNamed(name) {
		if c.Value == "" || tried[c.Value] {
			// An empty value is what a logout leaves where the cookie
			// was not expired (FilesystemStore's with MaxAge 0): no
			// session, and not the first cookie's error either.
			continue
		}
		first := len(tried) == 0
		tried[c.Value] = true
		id, err := s.decodeID(name, c.Value)
		if err == nil && id != "" {
			if loads == maxLoads {
				break
			}
			loads++
			var ok bool
			if ok, err = s.loadID(ctx, session, name, id); ok {
				return session, err
			}
		}
		if first {
			firstErr = err
		}
	}
	return session, firstErr
}

// maxLoads bounds the session loads New makes for the cookies of the
// session's name: only cookies signed with these keys count, so junk
// cookies before the user's cannot hide it.
const maxLoads = 4

// decodeID returns the session ID a cookie's value holds, "" for a cookie
// that names no session without being an error, or the cookie's error.
func (s *Store) decodeID(name, value string) (string, error) {
	var id string
	err := securecookie.DecodeMulti(name, value, &id, s.Codecs...)
	switch {
	case err == nil:
		return id, nil
	case signedNotAnID(err), s.signedLongAgo(name, value):
		// Signed with these keys but holding values, not an ID (the
		// application's own cookie from before it switched from
		// CookieStore), or signed longer ago than the keys' age bound
		// (an expired session). Like a validly signed unknown ID, no
		// session and no error: with the error, a handler that returns
		// it (echo-contrib's usage) would answer 500 on every request
		// until the cookie expired, as no Save would replace it.
		return "", nil
	}
	// The securecookie error itself, as gorilla's stores return it:
	// applications test err.(securecookie.Error).IsDecode() to ignore a
	// stale or foreign cookie.
	return "", err
}

// loadID loads into session the session id names. It reports whether it
// settled the session: loaded, or not loaded because the store failed in a
// way that is not the record's own (with that error). Else it returns
// the record's error, if it is one: stored values that fail
// authentication.
func (s *Store) loadID(ctx context.Context, session *sessions.Session, name, id string) (bool, error) {
	values, err := s.load(ctx, name, id)
	switch {
	case errors.Is(err, fsstore.ErrNotFound), errors.Is(err, fsstore.ErrInvalidID), errors.Is(err, fsstore.ErrUnknownKey),
		errors.Is(err, fsstore.ErrCorrupt), errors.Is(err, fsstore.ErrRefused):
		// Never adopt an unknown ID: Save will issue a fresh one. A
		// record sealed with a key no longer configured, damaged, or
		// refused (which the store logs and reports to its Observer) is
		// no session either, rather than an error on every request of
		// that user, as in scsstore.
		return false, nil
	case errors.Is(err, errValues):
		return false, err // values failing authentication: saving starts the user afresh
	case err != nil:
		// The store failed, whether in a way known to pass (what
		// httpsession answers 503 for) or not (an errno nobody listed,
		// EREMOTEIO from an NFS server fault, say): the session may well
		// exist, see "When the store fails". Its ID is kept (the cookie's
		// signature vouches for it), so that a logout, or values cleared
		// and saved, act on the user's session as after a load.
		err = &notLoadedError{err: err}
		session.ID = id
		session.Values[notLoaded{}] = &notLoadedMark{err: err}
		return true, err
	}
	session.ID, session.Values, session.IsNew = id, values, false
	return true, nil
}

// Save writes the session and sets its cookie. With Options.MaxAge < 0, or
// 0 unless KeepZeroMaxAge is set, it expires the cookie and deletes the
// session, and clears session.ID (and sets IsNew): saving it again, in
// the same request, with a positive MaxAge stores its values as a new
// session under a new ID, where FilesystemStore brings the deleted ID
// back (and with it the cookie from before the logout). The values stay
// in the session, as in gorilla's stores.
//
// The write outlives the cancellation of the request's context, which
// net/http cancels when the client hangs up, as gorilla's stores, which
// take no context, save all the same; it ends at the context's deadline.
//
// It refuses a session Get could not load because the store failed, unless
// it is to be deleted or its values were cleared; see "When the store
// fails".
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	// gorilla's stores never use the request in Save, and callers rely
	// on it: authboss-clientstate's WriteState calls Save(nil, w, s).
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	// The handler's work is done: a client that hung up since (net/http
	// then cancels the request's context) must not lose it, nor keep a
	// session it logged out of under the cookie its browser kept, as
	// gorilla's stores, which take no context, lose and keep nothing.
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	switch err := s.notNew(); {
	case err != nil:
		return fmt.Errorf("gorillastore: save: %w", err)
	case s.st == nil:
		return fmt.Errorf("gorillastore: save: %w", errNoStore)
	case session == nil:
		return errors.New("gorillastore: save: nil *sessions.Session")
	case session.Options == nil:
		// Every Save reads them (the cookie's attributes, MaxAge): the
		// application set them to nil, where Get gave a copy of the
		// store's.
		return errors.New("gorillastore: save: the session has nil Options (set them to a *sessions.Options, or leave the copy of the store's that Get gave it)")
	}
	maxAge := session.Options.MaxAge
	if maxAge < 0 || maxAge == 0 && !s.KeepZeroMaxAge {
		// The cookie goes even if the delete fails: the user asked to
		// be logged out of this browser, and the error says the stored
		// session may remain. It is expired also for MaxAge 0, where
		// FilesystemStore's cookie (no Max-Age) stays, empty, until the
		// browser closes.
		expire := *session.Options
		expire.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", &expire))
		if session.ID != "" {
			if err := s.st.Delete(ctx, session.ID); err != nil && !errors.Is(err, fsstore.ErrInvalidID) {
				return fmt.Errorf("gorillastore: delete: %w", err)
			}
		}
		// The session is gone: a later Save in this request (a deferred
		// sessions.Save, MaxAge restored for a flash or a new login)
		// starts a new one under a new ID rather than bring the deleted
		// ID back to life for whoever holds the old cookie. Kept when the
		// delete failed, so that saving again retries it.
		session.ID, session.IsNew = "", true
		delete(session.Values, notLoaded{})
		return nil
	}
	if mark, ok := session.Values[notLoaded{}].(*notLoadedMark); ok {
		return fmt.Errorf("gorillastore: save: refusing to replace a session that could not be loaded: %w", mark.err)
	}
	if session.ID == "" {
		id, err := fsstore.NewID()
		if err != nil {
			return fmt.Errorf("gorillastore: %w", err)
		}
		session.ID = id
	}
	values, err := securecookie.EncodeMulti(valuesName(session.Name(), session.ID), session.Values, s.Codecs...)
	if err != nil && s.noKey {
		return fmt.Errorf("gorillastore: encode values: New was given an empty authentication key (an unset environment variable?); give it 32 or 64 random bytes: %w", err)
	}
	if err != nil {
		return fmt.Errorf("gorillastore: encode values: %w", err)
	}
	rec := &fsstore.Session{ID: session.ID, Data: []byte(values)}
	if maxAge > 0 {
		// The record's own idle timeout is MaxAge: gorilla apps save when
		// they change the session, so the store's idle timeout (24 min by
		// default) would log their users out long before the cookie's
		// MaxAge.
		// A MaxAge of centuries ("never expire", math.MaxInt) would
		// wrap the Duration around to a negative one.
		d := time.Duration(min(int64(maxAge), int64(math.MaxInt64/time.Second))) * time.Second
		rec.Deadline = s.now().Add(d)
		rec.Idle = min(d, fsstore.MaxIdleTimeout)
	}
	if err := s.st.Save(ctx, rec); err != nil {
		return fmt.Errorf("gorillastore: save: %w", err)
	}
	encoded, err := securecookie.EncodeMulti(session.Name(), session.ID, s.Codecs...)
	if err != nil {
		return fmt.Errorf("gorillastore: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), encoded, session.Options))
	if session.Options.Secure && !s.plainWarned.Load() && plainhttp.SecureCookieLost(r) && s.plainWarned.CompareAndSwap(false, true) {
		// Nothing else says why each of the user's requests starts a
		// new session. The host only: the path may carry a token.
		s.logger().WarnContext(ctx, "gorillastore: a Secure session cookie went out in answer to a plain HTTP request; browsers do not send it back over HTTP, so every request starts a new session. Serve the app over HTTPS (behind a proxy that terminates TLS, have it send X-Forwarded-Proto: https), or set the store's Options.Secure to false for development over plain HTTP, never in production; in a handler test, give httptest.NewRequest an https:// URL. Logged once.",
			"host", r.Host)
	}
	return nil
}

// logger returns the Logger, or slog.Default() when it is nil or has no
// handler: the field is set after New, which cannot refuse it, and a
// warning must not panic in the middle of a Save.
func (s *Store) logger() *slog.Logger {
	if s.Logger == nil || s.Logger.Handler() == nil {
		return slog.Default()
	}
	return s.Logger
}

// MaxAge sets the default MaxAge of new sessions and the maximum age of
// the signed cookie. As with gorilla's stores, set it, Options and Codecs
// before the store serves requests: every request reads them, with no
// synchronization.
func (s *Store) MaxAge(age int) {
	s.Options.MaxAge = age
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(age)
		}
	}
}

// signedLongAgo reports whether one of the codecs signed value, for the
// cookie name, longer ago than its age bound (Store.MaxAge). The browser
// keeps such a cookie as long as the Max-Age it came with: a session's own
// Options.MaxAge past the store's ("remember me"), or a Store.MaxAge
// lowered since. securecookie checks the age after the signature, so a
// copy of a codec without the bound decodes the cookie only if the codec
// signed it (holding an ID, or CookieStore's values).
func (s *Store) signedLongAgo(name, value string) bool {
	for _, c := range s.Codecs {
		sc, ok := c.(*securecookie.SecureCookie)
		if !ok {
			continue
		}
		unbounded := *sc
		unbounded.MaxAge(0)
		var id string
		if err := unbounded.Decode(name, value, &id); err == nil || signedNotAnID(err) {
			return true
		}
	}
	return false
}

// signedNotAnID reports whether err, from decoding a cookie as an ID,
// says that one of the codecs verified the cookie's signature and age (and
// decrypted it) and only its content was not an ID: a cookie that gorilla's
// CookieStore (or gin-contrib's cookie store) wrote with these keys, the
// session's values where this store's cookie holds the ID. Among decode
// errors, securecookie gives a cause to that of its serializer, and to
// that of a value that is not base64, which it reports before checking
// the signature; nothing else has one. (A codec with an unusable block key
// fails every cookie with a usage error that has a cause: not ours.)
// Decoding the values themselves would not do: they may hold types this
// binary no longer registers with gob.
func signedNotAnID(err error) bool {
	var errs securecookie.MultiError
	if !errors.As(err, &errs) {
		errs = securecookie.MultiError{err}
	}
	for _, e := range errs {
		var se securecookie.Error
		var b64 base64.CorruptInputError
		if errors.As(e, &se) && se.IsDecode() && !se.IsUsage() && se.Cause() != nil && !errors.As(se.Cause(), &b64) {
			return true
		}
	}
	return false
}

// ErrNotLoaded marks the error of a Get (or New) that could not load the
// session because the store failed, and of the Save that refuses that
// session (see "When the store fails"); the store's own error is wrapped
// too (fsstore.ErrUnavailable in an outage, context.DeadlineExceeded when
// the request's deadline passed). It also marks Get's error on a Store
// not made by New (a nil *Store), which loads nothing. Unlike Get's other errors, a cookie or stored values
// that fail authentication, after which the new session is the one to
// carry on with, it calls for an answer: httpsession.StatusCode(err).
var ErrNotLoaded = errors.New("gorillastore: session not loaded: the store failed")

// notLoadedError is Get's error for a session not loaded: the store's
// error, as it reads, that also matches ErrNotLoaded.
type notLoadedError struct{ err error }

func (e *notLoadedError) Error() string        { return e.err.Error() }
func (e *notLoadedError) Unwrap() error        { return e.err }
func (e *notLoadedError) Is(target error) bool { return target == ErrNotLoaded }

// notLoaded is the key, in a session's Values, of a notLoadedMark: Get
// could not load the session because the store failed.
type notLoaded struct{}

// notLoadedMark says why a session was not loaded.
type notLoadedMark struct{ err error }

// notNew returns why s, a nil *Store or one with nil Options (a Store{}
// not made by New), cannot serve a request, or nil; its caller names the
// package and the call.
func (s *Store) notNew() error {
	switch {
	case s == nil:
		return errors.New("nil *gorillastore.Store (use gorillastore.New, or for gin-contrib ginstore.NewStore)")
	case s.Options == nil:
		return errors.New("the Store has nil Options (use gorillastore.New, which sets them, or set Options)")
	}
	return nil
}

// errNoStore is what a Store made from a nil *fsstore.Store fails with,
// rather than panicking.
var errNoStore = errors.New("nil *fsstore.Store (did fsstore.Open fail?)")

// errValues marks stored values that fail authentication.
var errValues = errors.New("gorillastore: stored values")

func (s *Store) load(ctx context.Context, name, id string) (map[any]any, error) {
	if s.st == nil {
		return nil, fmt.Errorf("gorillastore: load: %w", errNoStore)
	}
	rec, err := s.st.Load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("gorillastore: load: %w", err)
	}
	values := map[any]any{}
	// A record whose values fail authentication was changed or written by
	// someone without the keys (or moved from another session): like
	// FilesystemStore, New then returns a new session with the error.
	if err := securecookie.DecodeMulti(valuesName(name, id), string(rec.Data), &values, s.Codecs...); err != nil {
		return nil, fmt.Errorf("%w: %w", errValues, err)
	}
	return values, nil
}
