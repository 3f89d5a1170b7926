package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// A store on a network filesystem bounds its work (the defaults apply on
// NFS by themselves; WithMaxInFlight turns it on elsewhere). A request
// whose store operation cannot finish by its deadline gets ErrUnavailable
// at that deadline, and Health tells a load balancer the same.
func ExampleWithMaxInFlight() {
	dir, cleanup := exampleDir()
	defer cleanup()

	s, err := fsstore.Open(dir,
		fsstore.WithMaxInFlight(64),           // operations waiting for the server at once
		fsstore.WithOpTimeout(10*time.Second), // ceiling for callers without a deadline
		fsstore.WithBreaker(5, 5*time.Second), // fail fast after 5 timeouts in a row
	)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// The request's deadline: the store gives up at it, or at
	// WithOpTimeout's ceiling for a request without one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, _ := fsstore.NewID()
	_, err = s.Load(ctx, id)
	switch {
	case errors.Is(err, fsstore.ErrUnavailable):
		fmt.Println("503: the filesystem did not answer in time")
	case errors.Is(err, fsstore.ErrNotFound):
		fmt.Println("new session")
	}
	fmt.Println("breaker:", s.Breaker())
	// Output:
	// new session
	// breaker: closed
}

// Health answers within its context's deadline even when the mount hangs:
// wire it to a readiness probe.
func ExampleStore_Health() {
	dir, cleanup := exampleDir()
	defer cleanup()
	s, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the probe's timeout
	defer cancel()
	if err := s.Health(ctx); err != nil {
		fmt.Println("unhealthy:", errors.Is(err, fsstore.ErrUnavailable))
		return
	}
	fmt.Println("healthy")
	// Output:
	// healthy
}

// When Health fails, ReadOnlyFS tells a mount that turned read-only on
// this host, which a remount fixes, from a file server that does not
// answer.
func ExampleStore_ReadOnlyFS() {
	dir, cleanup := exampleDir()
	defer cleanup()
	s, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the probe's timeout
	defer cancel()
	switch err := s.Health(ctx); {
	case err == nil:
		fmt.Println("healthy")
	case s.ReadOnlyFS():
		fmt.Println("read-only on this host: remount read-write")
	default:
		fmt.Println("unavailable:", errors.Is(err, fsstore.ErrUnavailable))
	}
	// Output:
	// healthy
}

// A process that starts while the file server is away (a new instance
// launched during an outage) would hang in Open on a hard mount.
// OpenContext gives up at its deadline, so the process can say why and
// exit, for its supervisor to start it again.
func ExampleOpenContext() {
	dir, cleanup := exampleDir()
	defer cleanup()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := fsstore.OpenContext(ctx, dir)
	if errors.Is(err, fsstore.ErrUnavailable) {
		log.Fatalf("session store: %v", err) // the mount did not answer in 30 s
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("opened")
	// Output:
	// opened
}
