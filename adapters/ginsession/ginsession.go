// Package ginsession is the httpsession middleware as a gin.HandlerFunc:
// locked, lost-update-free sessions for github.com/gin-gonic/gin
// applications sharing one NFS or EFS directory. A gin application starts
// here; one already on gin-contrib/sessions can keep it with
// adapters/ginstore as its store instead, with last-writer-wins saves.
//
//	// Without WithLogger the store logs nothing: a record it refuses
//	// (damaged, unreadable to this user) is a silent log out.
//	st, err := fsstore.Open("/mnt/efs/sessions", fsstore.WithLogger(slog.Default()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions := httpsession.New(st)
//	r := gin.New()
//	r.Use(ginsession.Handler(sessions))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.FromContext(c)
//		n := s.GetInt("visits") + 1
//		if err := s.Put("visits", n); err != nil {
//			c.AbortWithStatus(httpsession.StatusCode(err))
//			return
//		}
//		c.String(http.StatusOK, "visit %d", n)
//	})
//
// Everything httpsession documents holds: the session is loaded (and in
// Exclusive mode locked) when the handler first uses it, and saved just
// before gin writes the response headers, so the cookie goes out with them;
// the user's other requests wait until the handler chain returns. Routes
// or groups take another mode with Middleware, for example
// ginsession.Middleware(sessions, httpsession.ReadOnly).
//
// gin buffers the status code until the first byte of the body (or the end
// of the handler chain), and so does this middleware's commit: a handler
// may still change the session after c.Status. When the session cannot be
// saved, the Manager's error handler answers (by default 503, 504, 409 or
// 500, as httpsession.StatusCode maps the error) in place of the
// handler's response, and the handler's writes from then on fail. A
// middleware that cannot run at all (an invalid mode or Manager
// configuration) answers with the error handler and aborts the chain.
//
// A middleware registered before this one that sets headers after c.Next
// does so after the session readied them; gin sends them for a response the
// handler wrote no body to (c.Status alone, or nothing), through its own
// writer once the chain has returned, with no hook that runs after the
// middlewares. One that sets Cache-Control: public there would send the
// session's cookie to shared caches: it calls
// httpsession.Manager.KeepFromSharedCaches(c.Writer.Header()) after its
// own, or sets them before c.Next; or the whole engine is served through
// the Manager's Handler in place of this middleware, whose writer is then
// under gin's and readies the header as gin writes it.
//
// When a handler panics, the session is not saved (as with httpsession
// alone) and its lock is released; a recovery registered before this
// middleware (gin.Recovery, gin.CustomRecovery) writes its answer through
// gin's own writer, and the chain is aborted, so that no handler after the
// one that panicked runs with the session ended.
package ginsession

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessfs/sessfs/httpsession"
)

// Handler returns the middleware in the Manager's default mode.
// Handler and Middleware panic, as the program wires them, for a Manager
// New did not make (see httpsession.Manager.Err).
func Handler(m *httpsession.Manager) gin.HandlerFunc {
	return wrap(m.Handler)
}

// Middleware returns the middleware for one mode. As with
// httpsession.Manager.Middleware, the innermost mode applies when
// middlewares of the same Manager nest (a group's over the engine's).
func Middleware(m *httpsession.Manager, mode httpsession.Mode) gin.HandlerFunc {
	return wrap(m.Middleware(mode))
}

// FromContext returns the request's session, or nil when no middleware of
// this package (or httpsession's, around the engine) ran for it.
// Every method of that nil session panics with a message naming the
// missing middleware (see httpsession.FromContext).
func FromContext(c *gin.Context) *httpsession.Session {
	if c.Request == nil {
		return nil
	}
	return httpsession.FromContext(c.Request.Context())
}

func wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	// A Manager New did not make panics here, as the program wires its
	// handlers, naming the mistake (see httpsession.Manager.Middleware),
	// not in every request.
	mw(http.NotFoundHandler())
	return func(c *gin.Context) {
		orig, origReq := c.Writer, c.Request
		restore := orig
		ran, returned := false, false
		defer func() {
			// Middlewares before this one see gin's own writer again (its
			// Status and Size are the response's), also when a handler
			// panicked: a recovery's answer written through the session's
			// writer would commit a session that has ended, and the
			// error handler would answer instead.
			c.Writer = restore
			if !returned {
				// A recovery that does not abort goes on with the chain
				// after the handler that panicked, which would run
				// with the session ended.
				c.Abort()
			}
		}()
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			switch ww, _ := r.Context().Value(writerKey{}).(*writer); {
			case w != http.ResponseWriter(orig):
				// The session's own writer: the handlers after this one
				// write through it. The request carries it for a chain
				// run again on this gin.Context (below).
				ww = &writer{ResponseWriter: orig, session: w}
				c.Writer = ww
				r = r.WithContext(context.WithValue(r.Context(), writerKey{}, ww))
			case ww != nil && c.Writer == ww.ResponseWriter:
				// Passed through: an outer middleware of this Manager has
				// the session, and the writer is again the one that
				// middleware wrapped, as after engine.HandleContext,
				// which resets gin's writer before it runs the chain
				// again. Its handlers must write through the session's
				// writer, and so must the outer ones after it returns.
				// (Another writer here is a wrapper that a middleware
				// between the two put in place, over the session's: it
				// stays.)
				c.Writer, restore = ww, ww
			}
			c.Request = r
			c.Next()
			if w != http.ResponseWriter(orig) && !orig.Written() {
				// Nothing written: gin writes the status it kept once the
				// chain is done, past this writer (and past any a later
				// middleware put in its place). The session commits for
				// that status now (a 5xx saves nothing).
				w.WriteHeader(orig.Status())
			}
		})).ServeHTTP(orig, origReq)
		returned = true
		if !ran {
			// The error handler answered (an invalid mode or Manager
			// configuration): no later handler may write.
			c.Abort()
		}
	}
}

// writer routes gin's writes through the session's writer, which saves the
// session before the headers go out. Status, Size, Written, CloseNotify and
// Pusher are gin's.
// writerKey is the request context's key of the *writer that the
// outermost middleware of a Manager put in place.
type writerKey struct{}

type writer struct {
	gin.ResponseWriter
	// session is httpsession's writer around ResponseWriter.
	session http.ResponseWriter
}

// WriteHeader only records the status, as gin's writer does: the headers
// (and the session's cookie) are decided when the body starts.
func (w *writer) WriteHeader(code int) { w.ResponseWriter.WriteHeader(code) }

// WriteHeaderNow saves the session, then writes the headers.
func (w *writer) WriteHeaderNow() {
	w.session.WriteHeader(w.ResponseWriter.Status())
	w.ResponseWriter.WriteHeaderNow()
}

// Write saves the session for the status gin kept (WriteHeader only
// records it), then writes.
func (w *writer) Write(b []byte) (int, error) {
	if !w.ResponseWriter.Written() {
		w.session.WriteHeader(w.ResponseWriter.Status())
	}
	return w.session.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	if !w.ResponseWriter.Written() {
		w.session.WriteHeader(w.ResponseWriter.Status())
	}
	return io.WriteString(w.session, s)
}

// Flush, like Write, saves the session for the status gin kept.
func (w *writer) Flush() {
	if !w.ResponseWriter.Written() {
		w.session.WriteHeader(w.ResponseWriter.Status())
	}
	if f, ok := w.session.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *writer) Hijack() (c net.Conn, rw *bufio.ReadWriter, err error) {
	return http.NewResponseController(w.session).Hijack()
}

// Unwrap gives http.ResponseController the session's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.session }
