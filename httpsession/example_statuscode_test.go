package httpsession_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// The status a handler answers a session error with, as the Manager's
// error handler does: in a handler, http.Error(w, "try again",
// httpsession.StatusCode(err)) after a failed Put, or after a gorilla or
// gin-contrib store's Save (send Retry-After with a 503).
func ExampleStatusCode() {
	for _, err := range []error{
		fsstore.ErrUnavailable, // the file server did not answer in time
		fsstore.ErrLocked,      // another request of the user held the lock
		fsstore.ErrConflict,    // an Optimistic save lost a race
		fsstore.ErrInDoubt,     // the save may or may not be on the server
		context.Canceled,       // the client went away
		fsstore.ErrTooLarge,    // the session is over the store's size limit
		errors.New("anything else"),
	} {
		fmt.Println(httpsession.StatusCode(fmt.Errorf("save: %w", err)))
	}
	// Output:
	// 503
	// 503
	// 409
	// 504
	// 499
	// 500
	// 500
}
