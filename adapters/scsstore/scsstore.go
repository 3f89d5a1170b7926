// Package scsstore lets applications built on github.com/alexedwards/scs/v2
// keep their sessions in an fsstore.Store with one line (a new application
// starts with package httpsession, whose sessions are locked; scs's saves
// stay last-writer-wins):
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessionManager := scs.New()
//	sessionManager.Store = scsstore.New(st, scsstore.WithCodecOf(sessionManager))
//	sessionManager.ErrorFunc = scsstore.ErrorFunc(logger) // 503, not 500, in an outage
//	sessionManager.Cookie.Secure = true                    // scs's default cookie is not Secure
//
// The cookie is scs's: its attributes are sessionManager.Cookie's, where
// scs's defaults are HttpOnly, SameSite=Lax and Path=/ but not Secure,
// which httpsession's and gorillastore's cookies are by default; a
// development server on plain http://localhost leaves Secure out.
//
// Store satisfies scs.Store, scs.CtxStore, scs.IterableStore and
// scs.IterableCtxStore.
//
// # Expiry
//
// scs hands Commit an absolute expiry (the earlier of its Lifetime deadline
// and, with IdleTimeout set, now plus IdleTimeout), and the record lives
// exactly that long: its deadline is the expiry and its own idle timeout
// (fsstore.Session.Idle) reaches it, whatever the store's idle timeout and
// lifetime (fsstore.WithIdleTimeout, fsstore.WithLifetime, which bound
// httpsession's sessions, not these: scs's Lifetime is the absolute one).
// scs commits only when the session changes (or on every request when its
// IdleTimeout is set), so with scs's defaults a user who only reads stays
// logged in for the whole 24 h Lifetime, as with scs's own stores. The
// sweep never removes a record before its own expiry. One limit: a record
// not committed for fsstore.MaxIdleTimeout (400 days) expires then even if
// scs's Lifetime is longer.
//
// # Payload
//
// Each record's payload is an envelope holding the token and scs's encoded
// data, because store file names are hashes from which tokens cannot be
// recovered and All must return tokens. Record files are mode 0600 inside a
// 0700 directory; anyone who can read them (a backup, root on an app host)
// can read the tokens. New(st, WithoutIteration()) leaves the token out and
// makes All fail instead.
//
// # Payloads scs cannot decode
//
// scs decodes what Find returns with its Codec, and answers a payload the
// codec refuses with ErrorFunc (a 500) on every request of that user until
// the cookie expires: scs neither renews nor clears it. Such payloads come
// from a value of a type the binary no longer registers with gob, a
// change of codec, or a record written by another application. Give the
// store the session manager and Find decodes each payload first with the
// manager's codec, taking one the codec refuses for no session, as it
// takes a damaged record: the user starts a fresh session under a new
// token, the old record is left for the sweep, and the refusal is logged
// (WithLogger) and counted (Undecodable). The price is a second decode per
// request that finds a session.
//
// The codec cannot tell a type retired from a type not yet known: during
// a rolling deploy whose new release stores a value of a type it newly
// registers with gob, hosts still on the old release take that user's
// session for no session, and a request there that changes the session
// (adds to a cart) starts a new one, whose cookie replaces the user's: a
// log out. Register a new type one release before storing values of it,
// or deploy such a release all at once.
//
//	sessionManager.Store = scsstore.New(st, scsstore.WithCodecOf(sessionManager))
//
// scs's commits are last-writer-wins, like its other stores: two
// concurrent requests of one user each commit their own version. With
// IdleTimeout set, scs commits on every request, one that only reads too,
// with the session as that request loaded it: a page view that overlaps a
// request that changes the session (adds to a cart) can undo the change.
// Use the httpsession package when requests must not lose each other's
// updates.
//
// # Log out and log in: the delete guard
//
// scs's Destroy (log out) and RenewToken (log in) delete the session's
// record under its token. A request of the same user still under way (a
// page view in another tab, loaded before the delete) commits afterwards
// the session as it loaded it: with IdleTimeout set every request does,
// without it one that changed anything. On a plain store that saves the
// logged-in session again under the token the log out ended, and sets its
// cookie again if its answer comes last (the log out is undone), or makes
// the token a log in retired valid again, holding the session as it was
// before (renewing the token at log in, the defence against session
// fixation, then does not retire the token someone planted or saw). That
// is so for every scs store, Redis's too.
//
// This store closes it. Delete leaves a tombstone, a small record that
// holds nothing of the session and lives for the guard's window
// (DefaultDeleteGuard, 10 minutes; WithDeleteGuard), in place of the
// record; Find takes it for no session and All leaves it out; and Commit
// takes the session's lock (fsstore.Store.Lock), reads what is there and
// writes only if it is not a tombstone, so that no delete lands between
// its check and its write. A commit that finds a tombstone writes nothing
// and returns nil: scs then answers with the old token's cookie, which
// names no session, and the user stays logged out (after a log in, the
// log in's own answer carries the new token). The window must outlast the
// requests still under way at a log out: a request that loaded the
// session before the delete and commits after the tombstone expired saves
// it again. Ten minutes is ten times the 60 s request timeout of the
// usual proxies and load balancers; a handler that runs on longer (an
// upload, a report) needs a longer window.
//
// Each log in and log out leaves one small file (82 bytes, 110 on an
// encrypted store; a log out by a visitor without a session, none), which outlives its window on disk: the sweep judges a
// record by its file's age against the store's largest idle timeout,
// which scs's Lifetime sets (24 h by default), and reads no record, so it
// removes a tombstone only at that age. Until then sessgc and
// fsstore.Store.Stats, which cannot tell a tombstone from a session
// without opening it, count it among the live sessions: a store gains
// about one live record per log in and log out of the last Lifetime (see
// the operator guide on what that does to its alerts).
//
// The price is on every commit: the lock and a read before the save. On
// NFS a commit becomes Lock+Load+Save+Unlock, and a Delete a Save under
// the lock; measured in the NFS test harness (docs/benchmarks.md, "NFS
// round trips per operation"), in round trips:
//
//	operation                      guard  no guard
//	Find (either)                  3 / 6  3 / 6  (this host / another wrote last)
//	Commit, new session            13     4
//	Commit, this host wrote last   11     4
//	Commit, another host did       14     7
//	Delete, this host wrote last   8      6
//	Delete, another host did       11     11
//
// Seven more per commit, whoever wrote last (nine for a new session,
// whose Load under the lock looks at a locked Delete's aside name, and
// at the directory again before its last look at the name). Commits of one session, and of sessions sharing a
// lock stripe, on different hosts take turns. The
// guard is on by default because the hole it closes is a security one;
// WithoutDeleteGuard turns it off for applications that do not log users
// in or out through scs, or that accept the hole for the round trips.
// During a rolling deploy, hosts without the guard delete records
// outright and overwrite tombstones: the guard holds once every host has
// it. Hosts without it take a tombstone for no session (logged as a
// payload not usable, counted by Undecodable).
package scsstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/detach"
)

// envelope layout: magic, uvarint token length, token, then scs's data.
var magic = []byte("scs1")

// ErrNotIterable is returned by All when the store was created with
// WithoutIteration.
var ErrNotIterable = errors.New("scsstore: store created WithoutIteration; All is unavailable")

// Store is an scs session store backed by an fsstore.Store. It is safe for
// concurrent use.
type Store struct {
	st       *fsstore.Store
	iterable bool
	now      func() time.Time
	sm       *scs.SessionManager // nil: payloads are not decoded here (WithCodecOf)
	log      *slog.Logger        // nil: slog.Default()

	// guard is the delete guard's window (see "Log out and log in: the
	// delete guard"); 0: off.
	guard time.Duration

	// cfgErr is the invalid configuration New was given (a nil Option),
	// which every method fails with, as with a nil st.
	cfgErr error

	undecodable atomic.Uint64
}

// DefaultDeleteGuard is how long the tombstone Delete leaves lasts by
// default (see "Log out and log in: the delete guard").
const DefaultDeleteGuard = 10 * time.Minute

// guardLockWait bounds a commit's or delete's wait for the session's lock,
// within the caller's context: the lock is held only for a read and a
// save, so a longer wait means a holder that does not answer, and the
// request should fail with an error rather than hang.
const guardLockWait = 15 * time.Second

// tombstone is the payload Delete leaves in place of a session. It is not
// this package's envelope, so no session's payload is ever equal to it,
// and hosts without the guard take it for no session.
var tombstone = []byte("\x00scsstore: deleted")

func isTombstone(sess *fsstore.Session) bool { return bytes.Equal(sess.Data, tombstone) }

// An Option configures New.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithoutIteration stores no token inside the records: All then fails with
// ErrNotIterable, and a stolen copy of the directory reveals no token.
// Records saved so are skipped by All after iteration is turned back on
// (or by the hosts that have it during a rolling change) until scs saves
// them again, which it does only when a session changes: do not rely on
// All to find every session (to log a user out everywhere, say) until
// every record saved without a token has expired.
func WithoutIteration() Option { return optionFunc(func(s *Store) { s.iterable = false }) }

// WithCodecOf has Find and All decode each payload with sm's Codec, as sm
// will, and take one it cannot decode for no session (see "Payloads scs
// cannot decode"). The codec is read from sm at each decode, so that it is
// always the one sm uses: a store given another codec than the manager's
// would refuse every session. Without this option a payload scs cannot
// decode fails each request of its user with a 500 until the cookie
// expires, and makes Iterate fail. A nil sm is as leaving the option out.
func WithCodecOf(sm *scs.SessionManager) Option { return optionFunc(func(s *Store) { s.sm = sm }) }

// WithLogger sets the logger for payloads taken for no session and for a
// session lock the delete guard failed to release after its write (nil,
// the default: slog.Default()). Log records never hold the session token.
// A zero slog.Logger, which has no handler and would panic on its first
// record, makes every method fail with an error saying so, as a nil
// Option does.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(s *Store) { s.log = l }) }

// WithDeleteGuard sets how long the tombstone that Delete leaves lasts
// (DefaultDeleteGuard unless set): it must outlast the longest request
// still under way at a log out or log in. A window of 0 or less turns the
// guard off, as WithoutDeleteGuard; it is otherwise taken within
// 1s..fsstore.MaxIdleTimeout.
func WithDeleteGuard(window time.Duration) Option {
	return optionFunc(func(s *Store) {
		if window <= 0 {
			s.guard = 0
			return
		}
		s.guard = recordIdle(window)
	})
}

// WithoutDeleteGuard turns the delete guard off: Delete removes the record
// and Commit saves without the session's lock or a read, as scs's other
// stores do, and a request that overlaps a log out or a log in can undo it
// (see "Log out and log in: the delete guard"). Set it on every host of a
// store or on none: the guard's look for a tombstone trusts that every
// write of the session is made under its lock, and a host without the
// guard writes without it, overwriting tombstones the others left.
func WithoutDeleteGuard() Option { return optionFunc(func(s *Store) { s.guard = 0 }) }

// WithClock replaces time.Now for deciding whether an expiry has passed;
// pass the same clock as fsstore.WithClock. For tests. A nil now is
// time.Now, as leaving the option out is.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *Store) {
		if now == nil {
			now = time.Now
		}
		s.now = now
	})
}

// errNoStore is what every method of a Store made from a nil
// *fsstore.Store fails with (a 500 from scs), rather than panicking.
var errNoStore = errors.New("nil *fsstore.Store (did fsstore.Open fail?)")

// New returns an scs store keeping sessions in st, which the caller opened
// and closes. With a nil st (an Open whose error was dropped), a nil
// Option or a logger without a handler every method fails with an error
// saying so, as it does on a nil
// *Store or a Store{} New did not make.
func New(st *fsstore.Store, opts ...Option) *Store {
	s := &Store{st: st, iterable: true, now: time.Now, guard: DefaultDeleteGuard}
	for i, o := range opts {
		if o == nil {
			if s.cfgErr == nil {
				s.cfgErr = fmt.Errorf("option %d of %d passed to New is nil", i+1, len(opts))
			}
			continue
		}
		o.apply(s)
	}
	if s.cfgErr == nil && s.log != nil && s.log.Handler() == nil {
		s.cfgErr = errors.New("WithLogger given a slog.Logger without a handler (a zero slog.Logger); make it with slog.New, or pass nil for slog.Default()")
	}
	return s
}

// notNew returns why s, a nil *Store or a Store{} New did not make,
// cannot serve any request, or nil. New always sets a clock, so a Store
// without one is not New's.
func (s *Store) notNew() error {
	switch {
	case s == nil:
		return errors.New("nil *scsstore.Store (use New)")
	case s.cfgErr == nil && s.now == nil:
		return errors.New("scsstore.Store not made by New")
	}
	return nil
}

// unusable returns why s cannot serve a request with ctx, or nil: a nil
// ctx, which a detached context panicked on, fails the call alone.
func (s *Store) unusable(ctx context.Context) error {
	if err := s.notNew(); err != nil {
		return err
	}
	switch {
	case s.cfgErr != nil:
		return s.cfgErr
	case s.st == nil:
		return errNoStore
	case ctx == nil:
		return errors.New("nil context.Context")
	}
	return nil
}

// Find returns the data of a live session. A missing, expired, deleted
// (a tombstone, see "Log out and log in: the delete guard"), malformed,
// damaged or refused session (fsstore.ErrRefused), and one whose payload
// is not usable (not this package's envelope, another token's, or, with
// WithCodecOf, one scs cannot decode), is found=false with a nil error, as
// scs requires; err reports system failures only.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx is Find with a context. Like CommitCtx it outlives ctx's
// cancellation, not its deadline.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if err := s.unusable(ctx); err != nil {
		return nil, false, &findError{fmt.Errorf("scsstore: find: %w", err)}
	}
	// A handler may find a session after its client hung up (scs's
	// MergeSession at a log in): it must find it, as scs's other stores,
	// which take no context, do, or the guest's cart is not merged.
	if token == noTokenHashed {
		return nil, false, nil // no session has it (see CommitCtx)
	}
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	sess, err := s.st.Load(ctx, token)
	switch {
	case err == nil:
	case errors.Is(err, fsstore.ErrNotFound), errors.Is(err, fsstore.ErrInvalidID), errors.Is(err, fsstore.ErrCorrupt),
		errors.Is(err, fsstore.ErrUnknownKey), errors.Is(err, fsstore.ErrRefused):
		// ErrUnknownKey: sealed with a key no longer configured;
		// ErrRefused: a symbolic link or an unreadable file at the
		// record's name. Either fails the same way on every request, and
		// scs neither renews nor clears a cookie whose Find failed, so an
		// error would be a 500 until the cookie expires. The store logs
		// it and reports it to its Observer; the user gets a fresh
		// session, whose record has another name.
		return nil, false, nil
	default:
		return nil, false, &findError{fmt.Errorf("scsstore: find: %w", err)}
	}
	if isTombstone(sess) {
		return nil, false, nil
	}
	tok, data, err := unwrap(sess.Data)
	if err == nil && tok != "" && tok != token {
		err = errors.New("scsstore: the record holds another token")
	}
	if err == nil {
		err = s.decodes(data)
	}
	if err != nil {
		s.refuse(ctx, "find", err)
		return nil, false, nil
	}
	return data, true, nil
}

// findError is an error of FindCtx. scs's LoadAndSave hands it to
// ErrorFunc before the handler runs, so that nothing inside scs's
// middleware set the header ErrorFunc answers with (see ErrorFunc).
type findError struct{ err error }

func (e *findError) Error() string { return e.err.Error() }
func (e *findError) Unwrap() error { return e.err }

// decodes checks that the session manager's codec, when the store has the
// manager (WithCodecOf), decodes data.
func (s *Store) decodes(data []byte) error {
	if s.sm == nil || s.sm.Codec == nil {
		return nil
	}
	if _, _, err := s.sm.Codec.Decode(data); err != nil {
		return fmt.Errorf("scsstore: the session's codec cannot decode the payload: %w", err)
	}
	return nil
}

// refuse logs and counts a record taken for no session because of its
// payload. The error names no token.
func (s *Store) refuse(ctx context.Context, op string, err error) {
	s.undecodable.Add(1)
	s.logger().WarnContext(ctx, "scsstore: session payload not usable; taken for no session", "op", op, "err", err)
}

// Undecodable returns how many records Find has taken for no session
// because of their payloads (one that is not this package's envelope, one
// holding another token, or one scs's codec cannot decode, WithCodecOf),
// and All has left out because scs's codec cannot decode them. Each is
// logged too; export the count as a counter (prometheus.NewCounterFunc)
// to alert on it. A nil *Store has counted none.
func (s *Store) Undecodable() uint64 {
	if s == nil {
		return 0 // the metrics handler that reads it must not panic on every scrape
	}
	return s.undecodable.Load()
}

// Commit saves the session's data with an absolute expiry. An expiry in
// the past deletes the session. With the delete guard (the default) a
// session that Delete has removed is not saved again: Commit writes
// nothing and returns nil. A token that fsstore.ValidID refuses fails with
// an error matching fsstore.ErrInvalidID, where scs's memstore stores
// under any string: every token scs issues passes (43 characters of
// URL-safe base64), and Find and Delete take any other for no session.
// The hash of the empty token, as scs with HashTokenInStore hashes it,
// fails so too: scs hands it to Delete for a visitor without a session,
// never to Commit, and Delete skips it, so no session may have it.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx is Commit with a context. The commit outlives ctx's
// cancellation (net/http cancels it when the client hangs up), as the
// commits of scs's stores without a context do, but not ctx's deadline.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := s.unusable(ctx); err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	// The handler's work is done: a client that hung up since must not
	// lose it, as scs's other stores, which take no context, do not.
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	now := s.now()
	if token == noTokenHashed {
		// No session may have it, or Delete, which skips it, would leave
		// one: scs never commits it (an empty token is replaced first).
		if !expiry.After(now) {
			return nil // no such session can exist, as for Delete
		}
		return fmt.Errorf("scsstore: commit: %w: the hash of the empty token, reserved for no session", fsstore.ErrInvalidID)
	}
	tok := ""
	if s.iterable {
		tok = token
	}
	// The record's own idle timeout reaches scs's expiry: scs does not
	// commit a session it only read, so the store's idle timeout (24 min by
	// default) would log its users out long before scs meant to.
	sess := &fsstore.Session{ID: token, Data: wrap(tok, b), Deadline: expiry, Idle: recordIdle(expiry.Sub(now))}
	if s.guard == 0 {
		if !expiry.After(now) {
			return s.remove(ctx, token)
		}
		if err := s.st.Save(ctx, sess); err != nil {
			return fmt.Errorf("scsstore: commit: %w", err)
		}
		return nil
	}
	err := s.underLock(ctx, token, true, func(lk *fsstore.Locked, cur *fsstore.Session) error {
		switch {
		case cur != nil && isTombstone(cur):
			// Deleted (logged out, or renewed to another token) after
			// this request loaded the session: saving would undo that.
			return nil
		case !expiry.After(now):
			if cur == nil {
				return nil
			}
			return lk.Delete(ctx)
		}
		if cur != nil {
			sess.Version = cur.Version // the versions go on counting
		}
		return lk.Save(ctx, sess)
	})
	if errors.Is(err, fsstore.ErrInvalidID) && !expiry.After(now) {
		return nil // no such session can exist, as for Delete
	}
	if err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	return nil
}

// Delete removes the session; a missing one is not an error. With the
// delete guard (the default) it leaves a tombstone in the session's place
// for the guard's window, so that a request still under way cannot save
// the session again (see "Log out and log in: the delete guard").
func (s *Store) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// DeleteCtx is Delete with a context. Like CommitCtx it outlives ctx's
// cancellation, not its deadline: a log out whose client hung up still
// ends the session.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if err := s.unusable(ctx); err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	// A log out clicked just before the browser closed must still end the
	// session, whose cookie the browser keeps (see CommitCtx).
	ctx, cancel := detach.Context(ctx)
	defer cancel()
	if token == noTokenHashed {
		return nil // no session has it; a tombstone would be a write under one lock for every such log out
	}
	if s.guard == 0 {
		return s.remove(ctx, token)
	}
	// No read first: whatever is there (a session, a tombstone, nothing)
	// becomes a tombstone, whose version starts afresh, at random, as a
	// new record's does (see fsstore.Session.Version): scs never compares
	// versions, and a client of the store that does finds the tombstone
	// no version of the session it read.
	deadline := s.now().Add(s.guard)
	err := s.underLock(ctx, token, false, func(lk *fsstore.Locked, _ *fsstore.Session) error {
		return lk.Save(ctx, &fsstore.Session{ID: token, Data: tombstone, Deadline: deadline, Idle: s.guard})
	})
	if errors.Is(err, fsstore.ErrInvalidID) {
		return nil // no such session can exist
	}
	if err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	return nil
}

// noTokenHashed is what scs hands Delete, with HashTokenInStore, for a
// session it never stored (Destroy by a visitor without a session): the
// hash of the empty token, SHA-256 in unpadded URL-safe base64, as scs
// hashes tokens. No session has it (without the hash, Delete gets "",
// which fsstore.ValidID refuses): Commit refuses it, as it refuses an
// invalid token, and Find finds nothing under it.
const noTokenHashed = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

// remove deletes token's record outright (the guard off).
func (s *Store) remove(ctx context.Context, token string) error {
	err := s.st.Delete(ctx, token)
	if errors.Is(err, fsstore.ErrInvalidID) {
		return nil // no such session can exist
	}
	if err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	return nil
}

// underLock runs fn holding token's lock, with what is stored under the
// token when load is set (nil: nothing usable, which a save replaces as an
// unlocked Save would: missing, expired, damaged, under a retired key, or
// refused). Every write of a guarded store happens so, which is what makes
// Commit's look for a tombstone and its save one step that no Delete
// enters.
func (s *Store) underLock(ctx context.Context, token string, load bool, fn func(lk *fsstore.Locked, cur *fsstore.Session) error) error {
	lctx, cancel := context.WithTimeout(ctx, guardLockWait)
	lk, err := s.st.Lock(lctx, token, fsstore.Exclusive)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		// The write is done, or failed with its own error: a release
		// that fails (the store goes on releasing in the background)
		// loses nothing, and failing the request for it would tell scs
		// a saved session was not.
		if uerr := lk.Unlock(); uerr != nil {
			s.logger().WarnContext(ctx, "scsstore: releasing the session's lock failed", "err", uerr)
		}
	}()
	var cur *fsstore.Session
	if load {
		// Every write of a guarded store is made under the lock, so a
		// record missing now cannot be a tombstone on its way: a Load
		// would look five times more on NFS (five round trips and some
		// 31 ms at every new session) for a save without the lock,
		// which writes no tombstone.
		cur, err = lk.LoadLockedOnly(ctx)
		switch {
		case err == nil:
		case errors.Is(err, fsstore.ErrNotFound), errors.Is(err, fsstore.ErrCorrupt),
			errors.Is(err, fsstore.ErrUnknownKey), errors.Is(err, fsstore.ErrRefused):
			cur = nil
		default:
			return err
		}
	}
	return fn(lk, cur)
}

func (s *Store) logger() *slog.Logger {
	if s.log == nil {
		return slog.Default()
	}
	return s.log
}

// All returns the tokens and data of every live session (an empty, non-nil
// map when there are none). It reads every record in the store once
// (fsstore.Store.Range), so it costs one read per session: on NFS, minutes
// for a million sessions. Records are decrypted when the store is
// encrypted; expired, damaged and foreign records are skipped, and a token
// is returned only if the record it was read from is the one stored for
// it (fsstore.Record.IsFor), so a record copied under another name cannot
// smuggle in a token. On a bounded store (the default on NFS) it fails
// with an error matching fsstore.ErrUnavailable while the store's circuit
// breaker is open; give AllCtx a deadline to bound it when the file server
// stops answering (see fsstore.Store.Range).
//
// With scs's HashTokenInStore the store holds no token, only its hash,
// and All returns the hashes. scs's Iterate takes each for a token, and a
// Destroy (or RenewToken) in Iterate's function hashes it again: it
// deletes nothing and returns nil, as with scs's memstore and Redis store
// (TestIterateDestroyUnderHashTokenInStore). An admin's "log this user
// out everywhere" through Iterate then leaves the user logged in: do it
// without HashTokenInStore, or check a per-user "sessions valid after"
// time on each request.
func (s *Store) All() (map[string][]byte, error) { return s.AllCtx(context.Background()) }

// AllCtx is All with a context.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	if err := s.notNew(); err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	if !s.iterable {
		return nil, ErrNotIterable
	}
	if err := s.unusable(ctx); err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	out := map[string][]byte{}
	now := s.now()
	_, err := s.st.Range(ctx, func(r *fsstore.Record) bool {
		if bytes.Equal(r.Data, tombstone) {
			return true // a deleted session (see "Log out and log in: the delete guard")
		}
		tok, data, err := unwrap(r.Data)
		if err != nil || tok == "" || !r.IsFor(tok) {
			return true // another application's record, or a forged token
		}
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			return true // expired by the adapter's clock
		}
		if err := s.decodes(data); err != nil {
			// scs's Iterate stops at the first payload it cannot decode.
			s.refuse(ctx, "all", err)
			return true
		}
		out[tok] = data
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	return out, nil
}

// recordIdle is the per-record idle timeout that keeps a record alive for
// d after a save: d rounded up to a whole second, within the store's
// 1s..fsstore.MaxIdleTimeout. The record's deadline still ends it at the
// exact expiry.
func recordIdle(d time.Duration) time.Duration {
	// Cap before rounding up: for an expiry beyond Duration's range (scs's
	// SetDeadline far in the future) expiry.Sub(now) saturates, and adding
	// the rounding second would overflow to a negative idle timeout, raised
	// to 1s. MaxIdleTimeout is whole seconds, so the rounding keeps it.
	d = min(d, fsstore.MaxIdleTimeout)
	d = (d + time.Second - 1).Truncate(time.Second)
	return max(d, time.Second)
}

func wrap(token string, data []byte) []byte {
	b := make([]byte, 0, len(magic)+binary.MaxVarintLen64+len(token)+len(data))
	b = append(b, magic...)
	b = binary.AppendUvarint(b, uint64(len(token)))
	b = append(b, token...)
	return append(b, data...)
}

// errNotSCS is a record this package did not write. The usual writer is
// another application or adapter on the store under the same cookie name
// (httpsession's is "session" too), whose users and scs's log each other
// out until one of them moves: the error says so.
var errNotSCS = errors.New("scsstore: not an scs record: another application or adapter (httpsession, say) may use this store under the same cookie name; give each its own store directory or cookie name")

func unwrap(b []byte) (token string, data []byte, err error) {
	if !bytes.HasPrefix(b, magic) {
		return "", nil, errNotSCS
	}
	b = b[len(magic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errors.New("scsstore: bad envelope")
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}
