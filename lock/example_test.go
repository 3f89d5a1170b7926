package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/sessfs/sessfs/lock"
)

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

	h, err := tab.Lock(context.Background(), "job-42", lock.Exclusive)
	if err != nil {
		log.Fatal(err)
	}
	// Another owner cannot take it now.
	_, err = tab.TryLock("job-42", lock.Exclusive)
	fmt.Println("second owner:", errors.Is(err, lock.ErrLocked))

	// Before publishing work done under the lock, make sure it was not lost.
	if err := h.Verify(); err != nil {
		log.Fatal(err)
	}
	if err := h.Unlock(); err != nil {
		log.Fatal(err)
	}
	h2, err := tab.TryLock("job-42", lock.Exclusive)
	fmt.Println("after unlock:", err == nil)
	h2.Unlock()
	// Output:
	// strategy: flock
	// second owner: true
	// after unlock: true
}

// The Lease strategy works where flock(2) does not; Shared requests are held
// exclusively.
func ExampleConfig_lease() {
	dir, err := os.MkdirTemp("", "lock-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tab, err := lock.NewTable(lock.Config{Dir: dir, Strategy: lock.Lease})
	if err != nil {
		log.Fatal(err)
	}
	defer tab.Close()
	h, err := tab.Lock(context.Background(), "job-42", lock.Shared)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Unlock()
	fmt.Println(tab.Strategy(), h.Mode())
	// Output: lease exclusive
}

func ExampleTryLockFile() {
	dir, err := os.MkdirTemp("", "lock-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := lock.TryLockFile(dir + "/sessgc.lock")
	if err != nil {
		log.Fatal(err) // matches lock.ErrLocked when another sweeper runs
	}
	defer l.Unlock()
	_, err = lock.TryLockFile(dir + "/sessgc.lock")
	fmt.Println(errors.Is(err, lock.ErrLocked))
	// Output: true
}
