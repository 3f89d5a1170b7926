package fsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

// exampleDir returns a fresh directory for an example and a function that
// removes it.
func exampleDir() (string, func()) {
	dir, err := os.MkdirTemp("", "sessfs-example-")
	if err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(dir) }
}

func Example() {
	dir, cleanup := exampleDir()
	defer cleanup()
	ctx := context.Background()

	s, err := fsstore.Open(dir) // creates the store layout on first use
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	id, err := fsstore.NewID()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Load(ctx, id); errors.Is(err, fsstore.ErrNotFound) {
		fmt.Println("new session")
	}
	sess := &fsstore.Session{ID: id, Data: []byte(`{"user":"ada"}`)}
	if err := s.Save(ctx, sess); err != nil {
		log.Fatal(err)
	}
	got, err := s.Load(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	// A new record's version starts at random; each save adds one.
	fmt.Printf("%s, the version saved: %v\n", got.Data, got.Version == sess.Version)
	// Output:
	// new session
	// {"user":"ada"}, the version saved: true
}

// A request holds the session's lock from Load to Save, so concurrent
// requests for the same session (on any host sharing the directory) take
// turns instead of overwriting each other.
func ExampleStore_Lock() {
	dir, cleanup := exampleDir()
	defer cleanup()
	ctx := context.Background()
	s, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	id, _ := fsstore.NewID()

	for i := 0; i < 3; i++ { // three requests
		l, err := s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			log.Fatal(err)
		}
		sess, err := l.Load(ctx)
		if errors.Is(err, fsstore.ErrNotFound) {
			sess, err = &fsstore.Session{ID: id}, nil
		}
		if err != nil {
			log.Fatal(err)
		}
		sess.Data = append(sess.Data, '+')
		if err := l.Save(ctx, sess); err != nil { // fails with ErrLockLost if the lock was taken away
			log.Fatal(err)
		}
		if err := l.Unlock(); err != nil {
			log.Fatal(err)
		}
	}
	sess, _ := s.Load(ctx, id)
	fmt.Printf("%s\n", sess.Data)
	// Output: +++
}

// CompareAndSwap saves only over the version that was loaded; on a
// conflict the caller loads again and retries.
func ExampleStore_CompareAndSwap() {
	dir, cleanup := exampleDir()
	defer cleanup()
	ctx := context.Background()
	s, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	id, _ := fsstore.NewID()

	first := &fsstore.Session{ID: id, Data: []byte("a")}
	if err := s.CompareAndSwap(ctx, first); err != nil {
		log.Fatal(err) // version 0: the session must not exist yet
	}
	stale := &fsstore.Session{ID: id, Data: []byte("b"), Version: 0}
	err = s.CompareAndSwap(ctx, stale)
	fmt.Println("stale write:", errors.Is(err, fsstore.ErrConflict))

	for {
		sess, err := s.Load(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		sess.Data = append(sess.Data, 'b')
		err = s.CompareAndSwap(ctx, sess)
		if errors.Is(err, fsstore.ErrConflict) {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		break
	}
	sess, _ := s.Load(ctx, id)
	fmt.Printf("%s, saves after the first: %d\n", sess.Data, sess.Version-first.Version)
	// Output:
	// stale write: true
	// ab, saves after the first: 1
}

// Sweep removes sessions idle for longer than the store's largest idle
// timeout plus a grace period; sessgc runs it periodically.
func ExampleStore_Sweep() {
	dir, cleanup := exampleDir()
	defer cleanup()
	ctx := context.Background()
	s, err := fsstore.Open(dir, fsstore.WithIdleTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		id, _ := fsstore.NewID()
		if err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			log.Fatal(err)
		}
	}
	st, err := s.Sweep(ctx, fsstore.SweepOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("live %d, removed %d\n", st.Live, st.Removed())
	// Output: live 3, removed 0
}

func ExampleNewID() {
	id, err := fsstore.NewID()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(id), fsstore.ValidID(id) == nil)
	fmt.Println(errors.Is(fsstore.ValidID("../../etc/passwd"), fsstore.ErrInvalidID))
	// Output:
	// 43 true
	// true
}

// A store on a local disk that must keep every returned Save across a power
// loss asks for an fsync per Save; on NFS and EFS the default already
// keeps it (see DurabilityNone).
func ExampleStore_Durability() {
	dir, cleanup := exampleDir()
	defer cleanup()

	s, err := fsstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("default:", s.Durability())
	s.Close()

	s, err = fsstore.Open(dir, fsstore.WithDurability(fsstore.DurabilityFile))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("local disk, fsync per save:", s.Durability())
	// Output:
	// default: none
	// local disk, fsync per save: file
}
