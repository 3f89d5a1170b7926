// Package detach gives a store write made on behalf of an HTTP request a
// context that outlives the client's hang-up.
//
// net/http ends a request's context when its client goes away (a tab
// closed, a second click on a button). By then the handler has often done
// its work: an order placed, a user logged out. The session stores that
// the adapters replace take no context (scs's memstore and Redis store,
// gorilla's FilesystemStore), and save or delete all the same; a write
// that failed for the hang-up would lose the change the handler made, or
// leave a session the user logged out of valid under the cookie the
// closed browser kept. httpsession's commit outlives a hang-up for the
// same reason.
package detach

import (
	"context"
	"time"
)

// Bound is how long a detached write may run when the request has no
// earlier deadline: the store's I/O must not run on a context that can
// never end (a file server that stopped answering, a lock another host
// holds). It is httpsession's default commit bound (its lock timeout).
const Bound = 30 * time.Second

// Context returns a context for a write on behalf of the request whose
// context is ctx: it carries ctx's values, is not canceled with ctx, and
// ends at ctx's deadline or bound from now, whichever comes first, so that
// a request that timed out (http.TimeoutHandler, a deadline a middleware
// set) writes nothing after it. The caller must call the CancelFunc.
func Context(ctx context.Context, bound time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(bound)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}
