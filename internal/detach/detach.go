// Package detach gives a store call made on behalf of an HTTP request a
// context that outlives the client's hang-up.
//
// net/http ends a request's context when its client goes away (a tab
// closed, a second click on a button). By then the handler has often done
// its work: an order placed, a user logged out. The session stores that
// the adapters replace take no context (scs's memstore and Redis store,
// gorilla's FilesystemStore), and load, save or delete all the same; a
// call that failed for the hang-up would lose the change the handler
// made, or leave a session the user logged out of valid under the cookie
// the closed browser kept. httpsession's commit outlives a hang-up for
// the same reason.
package detach

import "context"

// Context returns the context for a store call on behalf of the request
// whose context is ctx: it carries ctx's values and deadline, so that a
// request that timed out (http.TimeoutHandler, a deadline a middleware
// set) writes nothing after it, but is not canceled with ctx. No bound of
// its own is needed: a bounded store (the default on NFS) gives up on a
// file server that stops answering by itself, and a lock wait has its
// caller's bound. The caller must call the CancelFunc.
//
// Without a deadline it costs one small allocation and no timer, which
// matters on the path of every request.
func Context(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithoutCancel(ctx), func() {}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), d)
}
