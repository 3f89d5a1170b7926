// Package echosession is the httpsession middleware as an
// echo.MiddlewareFunc: locked, lost-update-free sessions for
// github.com/labstack/echo/v4 applications sharing one NFS or EFS
// directory. An echo application starts here; one already on
// echo-contrib/session can keep it with adapters/gorillastore as its store
// instead, with last-writer-wins saves.
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions := httpsession.New(st)
//	e := echo.New()
//	e.Use(echosession.Handler(sessions))
//	e.GET("/", func(c echo.Context) error {
//		s := echosession.FromContext(c)
//		n := s.GetInt("visits") + 1
//		if err := s.Put("visits", n); err != nil {
//			return err
//		}
//		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n))
//	})
//
// Everything httpsession documents holds: the session is loaded (and in
// Exclusive mode locked) when the handler first uses it and saved just
// before the response headers go out, so the cookie goes with them; the
// user's other requests wait until the handler returns. Routes or groups
// take another mode with Middleware, for example
// echosession.Middleware(sessions, httpsession.ReadOnly).
//
// A handler's returned error is rendered by echo's HTTPErrorHandler inside
// the middleware (c.Error), as echo's Logger does, so that an error page
// can read and change the session; the session is saved as that answer
// starts, unless it is a server error (5xx: a plain returned error renders
// as 500), which saves nothing the request changed. The error is still returned for outer middlewares; echo's error
// handler, called with it again, finds the response committed and writes
// nothing (a custom HTTPErrorHandler must check c.Response().Committed, as
// with any middleware that renders errors). So an outer middleware sees
// the error but can no longer change the answer: one that maps errors to
// answers (a domain error to a 403) goes inside this middleware, after it
// in e.Use, or the answer is echo's for the raw error (a 500). When the
// session cannot be saved, the Manager's error handler answers (by default 503, 504, 409 or
// 500, as httpsession.StatusCode maps the error) in place of the
// handler's response, and echo's error handler likewise writes nothing.
//
// When a handler panics, the session is not saved (as with httpsession
// alone) and its lock is released; middleware.Recover, outside this
// middleware, has echo's error handler answer through echo's own Response.
//
// The Response.Before hooks of outer middlewares run as the header goes
// out, after the session's writer readied it; the middleware readies it
// again after them (httpsession.Manager.KeepFromSharedCaches), from a hook
// on each echo Response the header goes out through, which runs after
// that Response's others, so that a hook's Cache-Control: public does not
// send the session's cookie to shared caches, nor lets a writer between
// two Responses (a response cache's) see it, also when another Manager's
// middleware, or one that replaced c.Response(), is around this one. It
// reaches those Responses through writers that unwrap (Unwrap()
// http.ResponseWriter): under a replaced Response whose writer does not,
// the hooks of the Responses below run after the session's, and one that
// sets Cache-Control: public sends the cookie to shared caches; give that
// writer an Unwrap method, or use httpsession's middleware around the echo
// server (sessions.Handler(e)) in place of this one. A
// hook's caching fields on a response without the cookie stay as the hook
// set them, an error answer's too: a hook sees the status it sets them
// for (c.Response().Status), as does a writer that an outer net/http
// middleware wraps around the response. An outer middleware that sets
// caching fields after next returns, on a response the handler wrote
// nothing to (it returned nil), sets them after the session readied the
// header, which net/http then sends with no Before hook run: it calls
// httpsession.Manager.KeepFromSharedCaches after them.
package echosession

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sessfs/sessfs/httpsession"
)

// Handler returns the middleware in the Manager's default mode.
// Handler and Middleware panic, as the program wires them, for a Manager
// New did not make (see httpsession.Manager.Err).
func Handler(m *httpsession.Manager) echo.MiddlewareFunc {
	return wrap(m, m.Handler)
}

// Middleware returns the middleware for one mode. As with
// httpsession.Manager.Middleware, the innermost mode applies when
// middlewares of the same Manager nest (a group's over the server's).
func Middleware(m *httpsession.Manager, mode httpsession.Mode) echo.MiddlewareFunc {
	return wrap(m, m.Middleware(mode))
}

// FromContext returns the request's session, or nil when no middleware of
// this package (or httpsession's, around the server) ran for it.
// Every method of that nil session panics with a message naming the
// missing middleware (see httpsession.FromContext).
func FromContext(c echo.Context) *httpsession.Session {
	r := c.Request()
	if r == nil {
		return nil
	}
	return httpsession.FromContext(r.Context())
}

func wrap(m *httpsession.Manager, mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	// A Manager New did not make panics here, as the program wires its
	// handlers, naming the mistake (see httpsession.Manager.Middleware),
	// not in every request.
	mw(http.NotFoundHandler())
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			resp := c.Response()
			// What runs after (outer middlewares, the error handler)
			// sees echo's own Response: its Status is what was sent.
			// Also after a panic: middleware.Recover's error page,
			// written through the session's writer, would commit a
			// session that has ended, and the session's error handler
			// would answer instead.
			defer c.SetResponse(resp)
			var err error
			mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				if w != http.ResponseWriter(resp) {
					// Outer middlewares' Before hooks run as the header
					// goes out, after the session's writer readied it:
					// one that set Cache-Control: public would send the
					// session's cookie to shared caches. This hook,
					// registered after theirs, runs last. It goes on
					// every echo Response the header goes out through:
					// under another Manager's middleware, or one that
					// replaced the Response, resp's hooks run before
					// the outer Response's, and a writer between the
					// two (a response cache's) reads the header as
					// resp's hooks left it.
					for r := range responses(resp) {
						r.Before(func() { m.KeepFromSharedCaches(r.Header()) })
					}
					// The handler writes through the session's writer,
					// which writes through echo's Response: the
					// Before hooks of outer middlewares still run and
					// Committed stays true.
					c.SetResponse(echo.NewResponse(w, c.Echo()))
				}
				err = next(c)
				if err != nil {
					// Render the error while the session is live, as
					// echo's Logger and BodyDump do: the error handler
					// may read and change the session, and the commit
					// goes out with its answer. echo's error handler,
					// called again with the returned error, finds the
					// response committed.
					c.Error(err)
				}
			})).ServeHTTP(resp, c.Request())
			return err
		}
	}
}

// responses yields resp and the echo Responses that a writer under it
// unwraps to (another Manager's middleware's, which writes through echo's
// Response, or the one a middleware replaced with resp), nearest first.
func responses(resp *echo.Response) func(yield func(*echo.Response) bool) {
	return func(yield func(*echo.Response) bool) {
		if !yield(resp) {
			return
		}
		for w := resp.Writer; w != nil; {
			if r, ok := w.(*echo.Response); ok && !yield(r) {
				return
			}
			u, ok := w.(interface{ Unwrap() http.ResponseWriter })
			if !ok {
				return
			}
			w = u.Unwrap()
		}
	}
}
