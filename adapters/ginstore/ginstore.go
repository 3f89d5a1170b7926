// Package ginstore is a github.com/gin-contrib/sessions Store backed by an
// fsstore.Store, for gin applications that already use gin-contrib's
// sessions middleware: the switch from its cookie, Redis or memstore
// stores is one line, and handlers do not change. A new gin application
// starts with adapters/ginsession instead, whose sessions are locked and
// lose no update; this store's saves are last-writer-wins.
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	store := ginstore.NewStore(st, []byte(os.Getenv("SESSION_KEY")))
//	r := gin.Default()
//	r.Use(sessions.Sessions("app", store))
//
// It is adapters/gorillastore (gin-contrib's Store is gorilla's Store plus
// Options), so everything gorillastore documents holds: the cookie carries
// only the signed session ID, values are stored gob-encoded and signed
// (encrypted with a second key), and a session lives Options.MaxAge after
// its last Save. Its fields are set through the embedded
// *gorillastore.Store: store.Logger = logger sends its warnings to
// logger rather than slog.Default().
//
// Options.MaxAge means what gin-contrib's Options says, as with its cookie
// store: a negative MaxAge deletes the session at Save, and 0 (Options set
// without a MaxAge) keeps it with a cookie that has no Max-Age and ends
// with the browser session; its record expires the store's idle timeout
// (fsstore.WithIdleTimeout, 24 minutes by default) after its last Save.
// (gorillastore, like gorilla's FilesystemStore, deletes at 0 unless
// told otherwise: gorillastore.Store.KeepZeroMaxAge, which NewStore sets.)
//
// gin-contrib logs Get's error and hands the handler a new session; when
// the store failed to load the user's (an outage), Save refuses that
// session with an error matching gorillastore.ErrNotLoaded and the
// store's own (fsstore.ErrUnavailable in an outage), so that it does not
// replace the user's. Answer Save's error with httpsession.StatusCode(err):
// 503 in an outage.
//
// Saves are last-writer-wins, as with every gin-contrib store: when one
// user's requests overlap, each loads the session, and the one that saves
// last overwrites the other's changes, on one host or across hosts. Two
// overlapping increments of a counter leave it one higher, not two. Use
// adapters/ginsession (the httpsession middleware, which locks the session
// for the request) where a user's concurrent requests must not lose
// updates.
//
// As with gin-contrib's stores, Save sets the cookie and no other header:
// set Vary: Cookie and Cache-Control: private in a middleware next to
// sessions.Sessions (docs/frameworks.md, "Shared caches with the drop-in
// stores"); ginsession sets them itself.
package ginstore

import (
	"github.com/gin-contrib/sessions"

	"github.com/sessfs/sessfs/adapters/gorillastore"
	"github.com/sessfs/sessfs/fsstore"
)

// Store is a gin-contrib/sessions Store.
type Store struct {
	*gorillastore.Store
}

var _ sessions.Store = Store{}

// NewStore returns a store keeping sessions in st (which the caller opened
// and closes), with cookies and stored values protected by keyPairs as in
// gin-contrib's cookie.NewStore: an authentication key, optionally
// followed by an encryption key, repeated for key rotation.
func NewStore(st *fsstore.Store, keyPairs ...[]byte) Store {
	s := gorillastore.New(st, keyPairs...)
	s.KeepZeroMaxAge = true
	return Store{s}
}

// Options sets the options of sessions created from now on, as
// gin-contrib's stores do. A MaxAge longer than the signed cookie's
// default age bound (30 days) sets the bound to it, so that such
// sessions' cookies stay valid; a shorter one leaves the bound, so that a
// session given a longer MaxAge of its own than the store's ("remember
// me") is not refused once the store's has passed. The bound is set, not
// only raised: after a bound of 90 days (Store.MaxAge, or Options with
// that MaxAge), Options with a MaxAge of 40 days lowers it to 40, and a
// cookie signed more than 40 days ago names no session. The record's own
// deadline still ends every session at its MaxAge.
//
// Call Options before the store serves requests, as with gin-contrib's
// stores: it sets fields that every request reads (the store's Options,
// the codecs' age bound) with no synchronization, so a call while
// requests are served (a configuration reloaded in place) is a data race.
// To change the options of a store in service, restart the process.
//
// On a Store not made by NewStore (a Store{}), which has nothing to set
// them on, it does nothing: every Get and Save then fails with an error
// saying so.
func (s Store) Options(o sessions.Options) {
	if s.Store == nil {
		return
	}
	s.Store.Options = o.ToGorillaOptions()
	if o.MaxAge > defaultCookieAge {
		s.Store.MaxAge(o.MaxAge)
	}
}

// defaultCookieAge is the signed cookie's age bound that
// gorillastore.New sets, in seconds (its default MaxAge).
const defaultCookieAge = 86400 * 30
