//go:build !windows

package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/sessfs/sessfs/lock"
)

// On a local disk Auto picks flock(2). Windows has no flock, and Auto
// picks Lease there (this example is not built on Windows).
func Example() {
	dir, err := os.MkdirTemp("", "lock-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	tab, err := lock.NewTable(lock.Config{Dir: dir}) // Auto: flock on local disk
	if err != nil {
		log.Fatal(err)
	}
	defer tab.Close()
	fmt.Println("strategy:", tab.Strategy())

	// Keys hash onto a fixed set of lock files; here key "job-42" uses the
	// lock file "stripe-7".
	h, err := tab.Lock(context.Background(), "stripe-7", "job-42", lock.Exclusive)
	if err != nil {
		log.Fatal(err)
	}
	// Another owner cannot take the key now.
	_, err = tab.TryLock("stripe-7", "job-42", lock.Exclusive)
	fmt.Println("second owner:", errors.Is(err, lock.ErrLocked))
	// Another key on the same lock file never waits in this process.
	other, err := tab.TryLock("stripe-7", "job-43", lock.Exclusive)
	fmt.Println("other key:", err == nil)
	other.Unlock()

	// Before publishing work done under the lock, make sure it was not lost.
	if err := h.Verify(); err != nil {
		log.Fatal(err)
	}
	if err := h.Unlock(); err != nil {
		log.Fatal(err)
	}
	h2, err := tab.TryLock("stripe-7", "job-42", lock.Exclusive)
	fmt.Println("after unlock:", err == nil)
	h2.Unlock()
	// Output:
	// strategy: flock
	// second owner: true
	// other key: true
	// after unlock: true
}
