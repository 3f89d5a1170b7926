package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/sessfs/sessfs/lock"
)

// The Lease strategy works where flock(2) does not. Shared holders of a key
// share it within the process; other processes are excluded.
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
	h1, err := tab.Lock(context.Background(), "stripe-0", "job-42", lock.Shared)
	if err != nil {
		log.Fatal(err)
	}
	defer h1.Unlock()
	h2, err := tab.TryLock("stripe-0", "job-42", lock.Shared)
	if err != nil {
		log.Fatal(err)
	}
	defer h2.Unlock()
	_, err = tab.TryLock("stripe-0", "job-42", lock.Exclusive)
	fmt.Println(tab.Strategy(), h2.Mode(), errors.Is(err, lock.ErrLocked))
	// Output: lease shared true
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
