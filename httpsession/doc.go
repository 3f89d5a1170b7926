// Package httpsession is net/http middleware that keeps web sessions in an
// fsstore.Store, so that any number of app servers sharing one NFS or EFS
// directory serve the same users without sticky sessions. It is where a new
// application starts: net/http and chi use it as is, gin and echo through
// adapters/ginsession and adapters/echosession; the drop-in stores
// (adapters/scsstore, gorillastore, ginstore) are for applications already
// on those session libraries.
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /{$}", handler)
//	m := httpsession.New(st)
//	log.Fatal(http.ListenAndServe(":8080", m.Handler(mux)))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		s := httpsession.FromContext(r.Context())
//		n := s.GetInt("visits") + 1
//		if err := s.Put("visits", n); err != nil {
//			return // the session could not be loaded: the error handler answers
//		}
//		fmt.Fprintln(w, n)
//	}
//
// It runs wherever fsstore does: Linux, macOS and FreeBSD (see fsstore's
// Platforms section). On Windows it compiles, and fsstore.Open fails with
// fsstore.ErrNotSupported.
//
// # Request life cycle
//
// The middleware reads the session ID from the request's cookie and does
// nothing else before the handler runs. The session is read, and in
// Exclusive mode locked, on the handler's first use of it (Get, Put,
// IsNew, ...): a request still reading a slow request body, or a handler
// that never looks at the session (static files, health checks), holds no
// lock and costs no round trip to the file server. The handler reads and
// changes the session through the typed getters and setters of [Session].
// The session is committed when the handler first calls WriteHeader, Write,
// WriteString or Flush, or when ReadFrom (io.Copy into the response) has
// the source's first bytes, because the Set-Cookie header must go out
// with the response headers; changes made after that are saved when the handler returns (but
// the cookie can then no longer change: Renew, and Put into a session that
// has no record, a new one or one destroyed in the request, fail at once
// with [ErrNeedsCookie] and keep nothing; such a Renew ends the session
// as Destroy does, and every Put after it fails too, so that a log in
// that drops Renew's error does not save the user under the ID the
// request came with, whether it put the user before or after; Destroy
// still deletes the
// record, and the cookie the browser keeps names a session that is never
// adopted again). The lock is released when the handler returns, or at
// the request's deadline when the handler still runs then (in a Write to
// a client that stopped reading its answer, or reading a body the client
// trickles, which the deadline does not end): no save can succeed after
// the deadline, so the lock guards nothing, and what the request changed
// and had not saved by then, or changes later, fails as after Release.
// A save under way at the deadline is waited for, and on a file server
// that stopped answering so is the write the request gave up on: nothing
// is written under a lock given back. The deadline is that of the
// request's context as it reaches the middleware: one a handler or an
// inner middleware sets (other than [http.TimeoutHandler], which returns
// at its timeout, ending the request) does not release the lock.
//
// A long handler (a report, a slow upstream call, a streamed download)
// calls [Session.Release] once it has made its changes, like PHP's
// session_write_close: the session is saved at once and unlocked, so the
// user's other requests, and the process's lock slots (see
// fsstore.WithMaxHeldLocks), are not held for the rest of the handler.
//
// # Errors
//
// When the session cannot be loaded or saved before the response starts,
// the handler's response is discarded and the error handler answers
// ([WithErrorHandler]; the errors wrap fsstore's sentinels, so an
// application maps them with errors.Is). The handler's later writes return
// an error and the statuses it writes (a 103 Early Hints, a 200) are
// dropped: the response they belong to is not sent. The headers the
// handler set go with its response; those set before the middleware ran (an outer CORS
// or request ID middleware's) stay, and so does the cookie of a session
// that [Session.Release], or the middleware of another Manager inside
// this one, saved before the failure (not that of a request a handler
// serves itself into a recorder, with its request's context, unless the
// handler put that cookie into its own header). The answer is Cache-Control:
// no-store, without an outer middleware's caching fields, also from an
// error handler of the application's own (unless it sets Cache-Control
// itself): a cache that kept it would serve the outage's answer after the
// outage. One that carries the session's cookie is kept from shared
// caches whatever the handler set. By default: 503 Service
// Unavailable with Retry-After for a store whose file server did not
// answer in time or whose circuit breaker is open (fsstore.ErrUnavailable),
// a lock wait that timed out (fsstore.ErrLocked), a lost lock
// (fsstore.ErrLockLost, as after a file server restart), a full lock
// table (fsstore.ErrTooManyLocks) and a store that is closed, unreachable
// or out of resources; 504 Gateway Timeout for a commit whose outcome the
// store cannot tell (fsstore.ErrInDoubt: it gave up while the write's
// final step was under way, or the write was published but not made
// durable, so the change may have been saved and a retry is not known to
// be safe; or a log out's delete failed after removing a copy of the
// record, so the session may be gone, and logging out again is safe); 409 Conflict
// for an Optimistic commit that lost a race, or a change made with the
// old cookie of a session that another request renewed (a log in in
// another tab) while this one was under way (fsstore.ErrConflict, logged
// at Warn); 499
// ([StatusClientClosedRequest], logged at Info) for a client that went
// away while its session was loading or waiting for its lock, outside a
// call into the filesystem (one inside a call the store gave up on, as on
// NFS a load in progress, stays a 503: a hung server looks the same); and
// 500
// otherwise, including a session over the store's size limit
// (fsstore.ErrTooLarge, logged as such). A record that is damaged (left
// empty, cut short or zero-filled by a power loss), sealed with a key that
// is no longer configured, or sound but with a payload that is not a JSON
// object (another application's or adapter's record under the same cookie
// name) is not an error: the user starts a new session, the old record is
// left for the sweep, and a warning without the session ID is logged. The
// store's Observer counts the first two by the load's outcome, corrupt or
// unknown_key; to the store, the third is a load like any other (ok), and
// only the warning tells of it. Nor is a record the store refuses
// (fsstore.ErrRefused: a symbolic link or an unreadable file at its name)
// an error for the request, though it is logged as one; for a permission
// error, which may be a whole shard's and passing, the cookie is kept.
// Browsers send every cookie of the name that matches the request, the
// longest path first (one left by an earlier Cookie.Path, or a sibling
// subdomain's): each well-formed one is tried in turn, up to four, and the
// first naming a usable session is used, whatever the others name; the
// cookie is cleared only when none does, none names a record that is
// merely gone, and none the old ID of a session renewed a moment ago.
//
// An error answer saves nothing: once the error handler has answered, or
// an inner Middleware refused the route (ErrModeConflict), or a server
// error (5xx) went out through the middleware before the session was
// committed, nothing the request changed is saved (as Django's session
// middleware skips the save for a 5xx), Release returns the error and
// Put, Renew and Destroy fail. Only a Destroy made before is still carried
// out: an error page must not leave a user who logged out logged in. So a
// handler that fails half way, a recovery middleware's 500 after a panic
// (also after the response started: what changed since is not saved at
// the end) and the 503 of an [http.TimeoutHandler] whose handler is still
// running leave the session as it was. So does a handler that panics
// whatever answers the panic (a recovery middleware outside this one, or
// net/http, which drops the connection), and a Destroy made before the
// panic is carried out, though its cookie can no longer be cleared; the
// lock is released in every case. An error page may still read the
// session (in Exclusive mode without waiting for its lock). Put this middleware around TimeoutHandler
// (and around any middleware that buffers the response), not inside it:
// inside, the session is committed when the handler's first bytes go into
// the buffer, and a timeout after that discards the cookie the commit set
// (after Renew, whose old record is then gone, the user is logged out).
// Hijack saves the session before handing over the connection but cannot
// send a cookie, so it fails (through the error handler) for a session
// that needs one: a new one, or one renewed, also when Release saved it
// (the error answer then carries its cookie); over HTTP/2, where nothing
// can be hijacked, it fails before saving anything. A Hijack that
// succeeds releases the session as [Session.Release] does, so that a
// websocket open for hours does not hold the user's other requests: the
// values stay readable, and a change made after it is not saved.
//
// # Payload
//
// A session is stored as a JSON object, one member per line and keys
// sorted, readable with any JSON tool:
//
//	{
//	"cart":{"items":3},
//	"user":"ada"
//	}
//
// Its cost follows what a request touches, not the session's size: loading
// splits the payload at its line breaks and reads the keys, a value is
// parsed when Get first asks for it, and saving copies the bytes of every
// value the request did not change. A payload in another layout (written
// by an older version, or by another tool) is validated in full as it is
// loaded, and a damaged one starts a new session like a damaged record. A
// payload in this layout is trusted as this package wrote it: a value
// damaged in it fails the Get that reads it, and the other keys stay
// readable.
//
// # Outages
//
// Every store operation is bounded (see fsstore.ErrUnavailable), and a
// commit, which runs on when the client hangs up, still ends at the
// request's deadline or the lock timeout: give requests a deadline (a
// middleware around the handler) and an unreachable file server costs each
// request at most that before its 503. [HealthHandler] answers a load
// balancer's readiness probe from the store's Health, so that an app
// server whose store hangs, or whose mount of it turned read-only, is
// taken out of rotation and put back when it answers (or takes writes)
// again; docs/operator-guide.md shows the wiring and which requests may
// have been applied when their client saw a 503 or a timeout.
//
// # Lazy writes and Touch
//
// A session is written only when a value differs from what was loaded
// (putting back the value a key held is no change). A request that reads but does not change the session writes
// nothing; it calls Store.Touch (one attribute update, one NFS round trip)
// only when less than half of the session's idle timeout (the one its
// record carries) remains, so that an active
// user's session does not expire while a busy page costs no write per
// request. Touch is skipped when the absolute deadline, not the idle timeout,
// ends the session sooner. Read-only routes touch too: a touch moves the
// record's mtime and never its contents. So does a handler that reads the
// session only after its response started (a streamed page, a template
// reading it lazily), when it returns or calls Release. A request whose
// handler never uses the session neither reads nor touches it. A store
// opened fsstore.WithReadOnly (a reporting tool on a host that mounts the
// share ro) refuses touches: the Manager logs that once, at Warn, and
// asks none again, so a session read only there expires on its schedule.
// Serve such a store in ReadOnly mode: Exclusive mode needs the session's
// lock, which it refuses too (500, naming WithReadOnly). A mount that
// turned read-only (EROFS, on one host or the whole fleet's) refuses
// touches too: ReadOnly and Optimistic routes go on serving the sessions
// they read, Exclusive ones and saves answer 503, and the refused touch is
// logged once, at Warn, until a touch succeeds again.
//
// # Locking modes
//
// Each route picks a [Mode]:
//
//   - [Exclusive] (the default) holds the session's lock from the
//     handler's first use of the session until it returns or calls
//     Release, like PHP's files handler: a user's concurrent requests run
//     one after another and no update is lost. The price is that a slow
//     request delays the same user's other requests.
//   - [ReadOnly] takes no lock and never writes the record. Changing the
//     session fails: Put, Renew and Destroy return fsstore.ErrReadOnly and
//     Delete, Clear or Destroy make the commit fail with it (a log out
//     whose error the handler dropped must not answer as if it was done).
//   - [Optimistic] takes no lock while the handler runs and saves with
//     Store.CompareAndSwap. If another request saved the session in between,
//     the commit fails with an error matching fsstore.ErrConflict; the
//     default error handler answers 409 Conflict and the response the
//     handler was about to send is discarded. Use it for routes where
//     conflicts are rare and the client can retry (an idempotent form
//     submission, an XHR that re-sends), never for routes whose side effects
//     outside the session cannot be repeated. A change made after the
//     response started (a streamed page) is saved when the handler
//     returns, and one that loses the race then can no longer be answered
//     with a 409: the client has its 200, the change is not saved, and only
//     the log says so (at Error, as for any commit that fails then). Change
//     the session before the first Write on such a route, or call
//     [Session.Release] and act on its error, which is the conflict.
//
// Modes nest: with Handler around the whole mux and Middleware(ReadOnly)
// around one route, that route runs read-only. The innermost middleware's
// mode applies; see [Manager.Middleware].
//
// # Writing the store from other code
//
// Every write this package makes to a session is under the session's lock
// (Exclusive mode's saves, deletes and Renew's marker) or by
// Store.CompareAndSwap, which takes it; the first save of a session made
// with no lock held (a first visit's) is a Store.Save under an ID drawn
// from fsstore.NewID a moment ago, which nobody can read before its cookie
// goes out, after the save. Exclusive mode relies on that when it reads a
// session under its lock (fsstore.Locked.LoadIntoLockedOnly): a record
// missing then is taken for gone without looking again. (The sweep
// is the exception, and the store handles it: it moves an expired record
// aside without the lock and puts it back if it was renewed meanwhile, and
// the read looks at that aside name and at the name once more.) On NFS a
// plain Load looks five times more, some 31 ms, for a save by another host
// without the lock, which its client makes by renaming the old record
// aside before renaming the new one in; each request with a cookie naming
// a session that is gone (expired and swept, logged out, forged) would
// pay that holding a lock stripe other sessions share. ReadOnly and
// Optimistic mode read without the lock and keep looking, for a locked
// save in flight.
//
// Code of your own that writes the sessions of this Manager must do the
// same: Store.Lock and Locked.Save or Locked.Delete, or
// Store.CompareAndSwap, never Store.Save (but for a session's first save
// under an ID fresh from fsstore.NewID, before the ID goes out), and no
// adapter without its lock (gorillastore, or scsstore without its delete
// guard) on the same sessions. Should another host save one without the lock while an
// Exclusive request reads it, the request may find no session: it starts
// empty, and a change it makes is saved as a new session under a fresh ID
// (the record saved stays, but the cookie then names the new session).
// Store.Delete and Store.Touch without the lock are fine: they rename
// nothing in.
//
// Not from inside a request for the same session in Exclusive mode: the
// request holds its lock from the session's first use to its end, and a
// Store.Lock or Store.CompareAndSwap of it there waits for the request
// itself until its context ends (fsstore.ErrLocked). The Session's own
// methods (Put, Renew, Destroy, Release) commit under the lock the request
// holds. A handler that locks another session besides its own waits for
// whoever holds that session's stripe with its own held, and may so wait
// for a request on another host doing the same the other way round until
// a context ends: give that wait a deadline (see fsstore.Store.Lock).
//
// # Testing and stopping
//
// An application's handlers are tested as they run: open a store in the
// test's own directory (fsstore.Open(t.TempDir())), wrap the handlers in
// the Manager's middleware as main does, and send each request with the
// cookie the one before set, as a browser would (an httptest.Server's
// client with a cookiejar, or the cookies of an httptest.ResponseRecorder's
// Result added to the next request). Give httptest.NewRequest an https://
// target: the default cookie is Secure, and a plain http:// request to a
// host that is not a loopback one makes the Manager log that browsers would
// drop the cookie. See the testing example.
//
// Stop the server before the store: on SIGTERM, http.Server.Shutdown lets
// the requests in flight finish and save their sessions; close the store only
// once Shutdown has returned, not when ListenAndServe returns
// http.ErrServerClosed, which it does as soon as Shutdown begins (a save after
// Close fails with fsstore.ErrClosed, and its request with a 503). See the
// graceful shutdown example.
//
// # Security
//
// A cookie carrying an ID the store does not know (expired, deleted,
// forged) is never adopted: the session starts empty and gets a fresh ID
// from fsstore.NewID when it is first saved, which defeats session
// fixation. Call [Session.Renew] when the user's privilege changes (log in,
// sudo) to move the data to a fresh ID, and [Session.Destroy] at log out.
// Cookies are HttpOnly, Secure, SameSite=Lax, Path=/ and host-only unless
// a [Cookie] field says otherwise: the zero Cookie is the safe one, and a
// development server on plain http://localhost sets Cookie.Insecure; an
// app embedded in other
// sites' pages sets Cookie.Partitioned and SameSite=None. A Secure cookie
// sent in answer to a request that came over plain HTTP (no TLS, no proxy
// header such as X-Forwarded-Proto saying the client used HTTPS) to other
// than a loopback host is logged once per Manager, at Warn: browsers do not
// send it back, and each request starts a new session. So is a cookie
// whose Cookie.Domain the host the request was sent to (its Host header,
// or a proxy's X-Forwarded-Host or Forwarded host) is neither equal to
// nor a subdomain of, or that ends in a dot, which browsers drop: once per
// host, for up to 8 hosts, so that a host warned about does not keep
// another's mismatch unreported. Hosts a proxy may have put in place of
// the client's (an IP address, a loopback or dotless name, a name under a
// top-level name no public DNS resolves, such as internal, local, svc or
// corp) are not judged. A persistent cookie never outlives the
// session's absolute deadline. The session ID
// never appears in errors or log messages of this package.
//
// Every response varies by cookie (Vary: Cookie, put back when the handler
// or a middleware inside this one replaced the field). One that sets or removes
// the session's cookie is also kept out of shared caches: it carries
// Cache-Control: private (and no-cache="Set-Cookie"), unless the handler
// set private or no-store itself; a public or s-maxage the handler set is
// dropped from it, and its other directives stay. A CDN-Cache-Control
// field the handler set (or a vendor's, such as
// Cloudflare-CDN-Cache-Control) gets the same, and a Surrogate-Control,
// Edge-Control or X-Accel-Expires it set, which CDNs and nginx obey over
// Cache-Control, becomes no-store (X-Accel-Expires: 0), keeping only an
// ESI processing request. A CDN that replayed such a
// response would give the next visitor, who sends no cookie either, the
// same session; many ignore Vary and the no-cache="Set-Cookie" form. A
// CDN rule that overrides the origin's Cache-Control (cache everything,
// an edge TTL) defeats this: keep the app's session routes out of it. So
// does a middleware outside this one that sets caching headers as the
// response starts (in the WriteHeader of a writer it wraps around the
// response), or after this one returned, on a response the handler wrote
// nothing to (net/http sends that header once the outermost handler has
// returned): have it call [Manager.KeepFromSharedCaches] last, or put it
// inside. adapters/echosession does so after echo's Response.Before hooks.
// Inside another Manager's middleware, such a writer between the two is
// overruled by the outer middleware for this one's cookie too.
package httpsession
