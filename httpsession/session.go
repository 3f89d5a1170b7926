package httpsession

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

type ctxKey struct{}

// FromContext returns the request's session, or nil when the request did
// not pass through a Manager's middleware.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// Session is one request's view of a user's session. Its values are JSON
// documents: the payload on disk is a JSON object, readable with any tool,
// and the typed getters parse exactly what Put wrote (integers stay exact).
// Methods are safe for concurrent use by the handler's goroutines.
type Session struct {
	m    *Manager
	mode Mode
	ctx  context.Context // the request's context, without its cancellation

	mu     sync.Mutex
	lk     *fsstore.Locked // Exclusive mode, ID known to the store
	rec    *fsstore.Session
	loaded []byte // payload as last loaded or saved
	values map[string]json.RawMessage
	dirty  bool // values may differ from loaded

	renew       bool
	deleteID    string // a record that Destroy asked to remove
	staleCookie bool   // the request's cookie named no live session
	started     bool   // response headers are out: the ID is fixed
	touched     bool
}

// IsNew reports whether the session has no stored record (yet).
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec == nil
}

// Mode reports the mode the request holds the session in.
func (s *Session) Mode() Mode { return s.mode }

// Created returns when the session was first saved (zero for a new one).
func (s *Session) Created() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return time.Time{}
	}
	return s.rec.Created
}

// Deadline returns the session's absolute end (zero for a new one).
func (s *Session) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return time.Time{}
	}
	return s.rec.Deadline
}

// Get decodes the value under key into dst (a pointer, as for
// json.Unmarshal) and reports whether the key exists.
func (s *Session) Get(key string, dst any) (bool, error) {
	s.mu.Lock()
	raw, ok := s.values[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return true, fmt.Errorf("httpsession: get %q: %w", key, err)
	}
	return true, nil
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
// "flash" messages.
func (s *Session) PopString(key string) string {
	v := s.GetString(key)
	s.Delete(key)
	return v
}

// Exists reports whether key has a value.
func (s *Session) Exists(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.values[key]
	return ok
}

// Keys returns the keys in sorted order.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.values))
}

// Put stores v, encoded as JSON, under key. It fails when v cannot be
// encoded and, in ReadOnly mode, with fsstore.ErrReadOnly. Putting the
// value a key already holds is not a change.
func (s *Session) Put(key string, v any) error {
	if s.mode == ReadOnly {
		return fmt.Errorf("httpsession: put %q: %w", key, fsstore.ErrReadOnly)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpsession: put %q: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.values[key]; ok && bytes.Equal(old, raw) {
		return nil
	}
	s.values[key] = raw
	s.dirty = true
	return nil
}

// Delete removes key. In ReadOnly mode removing an existing key makes the
// commit fail with fsstore.ErrReadOnly.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[key]; ok {
		delete(s.values, key)
		s.dirty = true
	}
}

// Clear removes every key but keeps the session and its ID.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.values) > 0 {
		clear(s.values)
		s.dirty = true
	}
}

// Renew moves the session's data to a fresh ID at commit, deleting the old
// record, and restarts its absolute lifetime. Call it when the user logs in
// or changes privilege, so that an ID planted or seen before cannot be used
// afterwards (session fixation). It must be called before the response
// starts.
func (s *Session) Renew() error {
	if s.mode == ReadOnly {
		return fmt.Errorf("httpsession: renew: %w", fsstore.ErrReadOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("httpsession: renew after the response started")
	}
	s.renew = true
	s.dirty = true
	return nil
}

// Destroy deletes the session at commit and expires the cookie (on log
// out). Values put afterwards in the same request start a new session with
// a fresh ID.
func (s *Session) Destroy() error {
	if s.mode == ReadOnly {
		return fmt.Errorf("httpsession: destroy: %w", fsstore.ErrReadOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec != nil {
		s.deleteID = s.rec.ID
	}
	s.rec, s.loaded, s.renew = nil, nil, false
	clear(s.values)
	s.dirty = true
	return nil
}

func encode(values map[string]json.RawMessage) ([]byte, error) {
	// json.Marshal sorts map keys, so equal values encode to equal bytes
	// and the lazy-write comparison works.
	return json.Marshal(values)
}

func decode(b []byte) (map[string]json.RawMessage, error) {
	v := map[string]json.RawMessage{}
	if len(b) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if v == nil { // the payload was JSON null
		v = map[string]json.RawMessage{}
	}
	return v, nil
}

// commit publishes the request's changes. With h non-nil the response has
// not started and the cookie can be set; with h nil it has, and any change
// of ID is refused. It never lets the session ID into an error.
func (s *Session) commit(h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil && s.started && !s.dirty {
		return nil
	}
	m := s.m
	now := m.cfg.now()
	ctx := s.ctx
	if s.dirty && s.mode == ReadOnly {
		return fmt.Errorf("httpsession: commit: %w", fsstore.ErrReadOnly)
	}
	canSetCookie := h != nil
	expireCookie := false

	if s.deleteID != "" {
		// Delete even when the cookie can no longer be cleared: a logged
		// out session must be unusable server-side.
		if err := s.deleteRecord(ctx, s.deleteID); err != nil {
			return err
		}
		s.deleteID = ""
		expireCookie = true
	}

	var payload []byte
	changed := false
	if s.dirty {
		var err error
		if payload, err = encode(s.values); err != nil {
			return fmt.Errorf("httpsession: encode session: %w", err)
		}
		changed = !bytes.Equal(payload, s.loaded)
	}

	switch {
	case s.renew && s.rec != nil:
		if !canSetCookie {
			return errors.New("httpsession: session renewed after the response started; not saved")
		}
		fresh, err := m.newRecord(payload)
		if err != nil {
			return err
		}
		// Publish the new record before deleting the old one: a failure
		// in between leaves the user logged in under the old ID rather
		// than with no session at all.
		if err := m.st.CompareAndSwap(ctx, fresh); err != nil {
			return fmt.Errorf("httpsession: renew: %w", err)
		}
		if err := s.deleteRecord(ctx, s.rec.ID); err != nil {
			return err
		}
		s.rec, s.loaded = fresh, payload
		m.setCookie(h, fresh.ID, fresh.Deadline, now)
		expireCookie = false
	case s.rec == nil && len(s.values) > 0:
		if !canSetCookie {
			return errors.New("httpsession: session created after the response started; not saved")
		}
		fresh, err := m.newRecord(payload)
		if err != nil {
			return err
		}
		if err := m.st.CompareAndSwap(ctx, fresh); err != nil {
			return fmt.Errorf("httpsession: save new session: %w", err)
		}
		s.rec, s.loaded = fresh, payload
		m.setCookie(h, fresh.ID, fresh.Deadline, now)
		expireCookie = false
	case s.rec != nil && changed:
		prev := *s.rec
		s.rec.Data = payload
		var err error
		switch {
		case s.lk != nil:
			err = s.lk.Save(ctx, s.rec)
		default:
			// Optimistic mode, or a session this request created: nobody
			// else knew its ID when it was written, so compare-and-swap
			// is as safe as the lock.
			err = m.st.CompareAndSwap(ctx, s.rec)
		}
		if err != nil {
			*s.rec = prev
			return fmt.Errorf("httpsession: save session: %w", err)
		}
		s.loaded = payload
	case s.rec != nil && !s.touched:
		s.maybeTouch(ctx, now)
	}
	s.dirty, s.renew = false, false
	if canSetCookie && s.rec == nil && (expireCookie || s.staleCookie) {
		m.expireCookie(h)
	}
	if canSetCookie {
		s.started = true
	}
	return nil
}

// maybeTouch extends the idle expiry of an unchanged session, but only when
// less than half of the idle timeout remains: a touch is a round trip to
// the file server, and doing it on every request would cost as much as the
// read. Failures are logged, not returned: the response is still correct,
// the session merely expires on its old schedule.
func (s *Session) maybeTouch(ctx context.Context, now time.Time) {
	rec, idle := s.rec, s.m.cfg.idle
	if rec.Expires.IsZero() || rec.Expires.Sub(now) >= idle/2 {
		return
	}
	if !rec.Deadline.IsZero() && !rec.Deadline.After(rec.Expires) {
		return // the absolute deadline ends the session first
	}
	var err error
	if s.lk != nil {
		err = s.lk.Touch(ctx)
	} else {
		err = s.m.st.Touch(ctx, rec.ID)
	}
	s.touched = true
	switch {
	case err == nil:
		rec.Expires = now.Add(idle)
		if !rec.Deadline.IsZero() && rec.Deadline.Before(rec.Expires) {
			rec.Expires = rec.Deadline
		}
	case errors.Is(err, fsstore.ErrNotFound):
		// Deleted or expired meanwhile (a log out in another tab).
	default:
		s.m.cfg.log.ErrorContext(ctx, "httpsession: touch failed", "err", err)
	}
}

func (s *Session) deleteRecord(ctx context.Context, id string) error {
	var err error
	if s.lk != nil && s.lk.ID() == id {
		err = s.lk.Delete(ctx)
	} else {
		err = s.m.st.Delete(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("httpsession: delete session: %w", err)
	}
	return nil
}

// release unlocks the session's lock, if any.
func (s *Session) release() {
	s.mu.Lock()
	lk := s.lk
	s.lk = nil
	s.mu.Unlock()
	if lk != nil {
		if err := lk.Unlock(); err != nil {
			s.m.cfg.log.ErrorContext(s.ctx, "httpsession: unlock failed", "err", err)
		}
	}
}
