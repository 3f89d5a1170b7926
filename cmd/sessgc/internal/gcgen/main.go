// Command gcgen fills a sessfs store with sessions for benchmarking sessgc:
// n sessions of a given size, of which a fraction get an mtime far in the
// past so that a sweep (and find -mmin) treats them as expired.
//
//	go run ./cmd/sessgc/internal/gcgen -dir /tmp/store -n 1000000 -expired 0.1
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/fsstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gcgen:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "store directory (created)")
	n := flag.Int("n", 1_000_000, "sessions to write")
	frac := flag.Float64("expired", 0.1, "fraction of sessions to age")
	age := flag.Duration("age", 48*time.Hour, "age given to expired sessions")
	size := flag.Int("size", 1024-64, "payload bytes per session (the record adds a 64-byte header)")
	workers := flag.Int("workers", 4, "parallel writers")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	// No fsync: a million fsyncs would take far longer than the sweep
	// being measured, and durability does not change what is on disk.
	s, err := fsstore.Open(*dir, fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *workers)
	payload := make([]byte, *size)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for next.Add(1) <= int64(*n) {
				id, err := fsstore.NewID()
				if err == nil {
					err = s.Save(ctx, &fsstore.Session{ID: id, Data: payload})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	wrote := time.Since(start)
	// Age every k-th record in walk order: names are hashes, so that is a
	// uniform sample across shards.
	every := 0
	if *frac > 0 {
		every = int(1 / *frac)
	}
	old := time.Now().Add(-*age)
	var seen, aged int
	err = filepath.WalkDir(filepath.Join(*dir, fsstore.DataDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		seen++
		if every > 0 && seen%every == 0 {
			aged++
			return os.Chtimes(p, old, old)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("gcgen: wrote %d sessions in %s, aged %d by %s\n", seen, wrote.Round(time.Millisecond), aged, *age)
	return nil
}
