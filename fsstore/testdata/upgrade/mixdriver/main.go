// Command mixdriver runs one kind of work on a store with the sessfs build
// it is compiled in, so that builds of different commits can run side by
// side on one store as during a rolling deploy: see ../README.md. It uses
// only API that every build listed there has.
//
// usage: mixdriver DIR flock|lease CMD [ARGS]
//
//	incr ID N          N locked increments of the counter ID
//	cycles PREFIX SECS save-then-delete cycles of PREFIX-0..3 (1 s idle), each
//	                   under the lock, a pause without it between
//	sweep SECS         sweeps in a loop (grace 1 ms)
//	loads ID SECS      Loads of ID in a loop; ID must always be found
//	hold ID            lock ID, print "held", then one command a line on stdin:
//	                   "save TEXT", "delete", "unlock"
//	load ID            print ID's data, or "not found"
//	save ID TEXT       an unlocked save
//	rekey              rekey every record to the newest key
//
// MIX_KEYS names a keys file; MIX_LEASE_TTL a lease TTL and MIX_IDLE the
// idle timeout (Go durations); MIX_INCR_PAUSE a pause after each increment;
// MIX_LOG a file to which incr appends 'UNIXNANO VALUE' for each.
// Each command ends with a line "RESULT ..." and exits 1 on an error.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

func main() {
	if len(os.Args) < 4 {
		fail(errors.New("usage: mixdriver DIR flock|lease CMD [ARGS]"))
	}
	var opts []fsstore.Option
	switch os.Args[2] {
	case "flock":
		opts = append(opts, fsstore.WithLockStrategy(lock.Flock))
	case "lease":
		opts = append(opts, fsstore.WithLockStrategy(lock.Lease))
	default:
		fail(fmt.Errorf("unknown strategy %q", os.Args[2]))
	}
	if f := os.Getenv("MIX_KEYS"); f != "" {
		keys, err := fsstore.KeysFromFile(f)
		if err != nil {
			fail(err)
		}
		opts = append(opts, fsstore.WithKeys(keys...))
	}
	if d := os.Getenv("MIX_LEASE_TTL"); d != "" {
		ttl, err := time.ParseDuration(d)
		if err != nil {
			fail(err)
		}
		opts = append(opts, fsstore.WithLeaseTTL(ttl))
	}
	idle := 2 * time.Second // cycles' longest pause is 1.5 times this
	if d := os.Getenv("MIX_IDLE"); d != "" {
		var err error
		if idle, err = time.ParseDuration(d); err != nil {
			fail(err)
		}
		opts = append(opts, fsstore.WithIdleTimeout(idle))
	}
	var pause time.Duration
	if d := os.Getenv("MIX_INCR_PAUSE"); d != "" {
		var err error
		if pause, err = time.ParseDuration(d); err != nil {
			fail(err)
		}
	}
	s, err := fsstore.Open(os.Args[1], opts...)
	if err != nil {
		fail(err)
	}
	defer s.Close()
	ctx := context.Background()
	args := os.Args[4:]
	switch os.Args[3] {
	case "incr":
		n, _ := strconv.Atoi(args[1])
		var logf *os.File
		if f := os.Getenv("MIX_LOG"); f != "" {
			if logf, err = os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
				fail(err)
			}
		}
		last := 0
		for i := 0; i < n; i++ {
			var err error
			if last, err = incr(ctx, s, args[0]); err != nil {
				fail(fmt.Errorf("increment %d: %w", i, err))
			}
			if logf != nil {
				fmt.Fprintf(logf, "%d %d\n", time.Now().UnixNano(), last)
			}
			time.Sleep(pause)
		}
		fmt.Println("RESULT incremented", n, "last", last)
	case "cycles":
		cycles(ctx, s, args[0], secs(args[1]), idle*3/2)
	case "sweep":
		sweeps(ctx, s, secs(args[0]))
	case "loads":
		loads(ctx, s, args[0], secs(args[1]))
	case "hold":
		hold(ctx, s, args[0])
	case "load":
		sess, err := s.Load(ctx, args[0])
		switch {
		case errors.Is(err, fsstore.ErrNotFound):
			fmt.Println("RESULT not found")
		case err != nil:
			fail(err)
		default:
			fmt.Printf("RESULT %s\n", sess.Data)
		}
	case "save":
		if err := s.Save(ctx, &fsstore.Session{ID: args[0], Data: []byte(args[1])}); err != nil {
			fail(err)
		}
		fmt.Println("RESULT saved")
	case "rekey":
		st, err := s.Rekey(ctx, fsstore.RekeyOptions{OnError: func(err error) { fmt.Fprintln(os.Stderr, "rekey:", err) }})
		if err != nil {
			fail(err)
		}
		fmt.Printf("RESULT rekeyed %+v\n", st)
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[3]))
	}
}

func secs(s string) time.Duration {
	n, _ := strconv.Atoi(s)
	return time.Duration(n) * time.Second
}

// incr is one locked read-modify-write of a counter.
func incr(ctx context.Context, s *fsstore.Store, id string) (int, error) {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return 0, err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	n := 0
	switch {
	case err == nil:
		if n, err = strconv.Atoi(string(sess.Data)); err != nil {
			return 0, err
		}
	case errors.Is(err, fsstore.ErrNotFound):
		sess = &fsstore.Session{ID: id}
	default:
		return 0, err
	}
	sess.Data = []byte(strconv.Itoa(n + 1))
	return n + 1, l.Save(ctx, sess)
}

// cycles runs, on four sessions at once, cycles of: under the lock, Load
// (the last cycle deleted the session, so it must be absent) and Save with
// a 1 s idle timeout; a pause of up to 1.5 times the store's idle timeout
// (MIX_IDLE, 2 s if unset) without the lock (so that sweeps, which take a
// record younger than that for live, find some expired); under the lock again,
// Delete. A session found at the start of a cycle came back from the dead.
func cycles(ctx context.Context, s *fsstore.Store, prefix string, d, pause time.Duration) {
	var done, back, errs atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			for time.Now().Before(end) {
				if err := cycle(ctx, s, id, pause, &back); err != nil {
					errs.Add(1)
					fmt.Fprintln(os.Stderr, "cycle:", err)
					continue
				}
				done.Add(1)
			}
		}(fmt.Sprintf("%s-%d", prefix, g))
	}
	wg.Wait()
	fmt.Printf("RESULT cycles %d resurrected %d errors %d\n", done.Load(), back.Load(), errs.Load())
	if back.Load() != 0 || errs.Load() != 0 {
		os.Exit(1)
	}
}

func cycle(ctx context.Context, s *fsstore.Store, id string, pause time.Duration, back *atomic.Int64) error {
	err := locked(ctx, s, id, func(l *fsstore.Locked) error {
		old, err := l.Load(ctx)
		switch {
		case err == nil:
			back.Add(1)
			fmt.Fprintf(os.Stderr, "cycle: %s found at the start of a cycle: %q\n", id, old.Data)
		case !errors.Is(err, fsstore.ErrNotFound):
			return fmt.Errorf("load: %w", err)
		}
		if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("cycle"), Idle: time.Second}); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	time.Sleep(rand.N(pause))
	return locked(ctx, s, id, func(l *fsstore.Locked) error {
		if err := l.Delete(ctx); err != nil && !errors.Is(err, fsstore.ErrNotFound) {
			return fmt.Errorf("delete: %w", err)
		}
		return nil
	})
}

func locked(ctx context.Context, s *fsstore.Store, id string, fn func(*fsstore.Locked) error) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	err = fn(l)
	if uerr := l.Unlock(); err == nil && uerr != nil {
		err = fmt.Errorf("unlock: %w", uerr)
	}
	return err
}

func sweeps(ctx context.Context, s *fsstore.Store, d time.Duration) {
	var n, errs int
	var removed, restored int64
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		st, err := s.Sweep(ctx, fsstore.SweepOptions{Grace: time.Millisecond, OnRemove: func(r fsstore.Removal) {
			fmt.Printf("removed %d %s %v age %v\n", time.Now().UnixNano(), r.Path, r.Kind, r.Age)
		}, OnError: func(err error) {
			errs++
			fmt.Fprintln(os.Stderr, "sweep:", err)
		}})
		if err != nil {
			errs++
			fmt.Fprintln(os.Stderr, "sweep:", err)
		}
		removed += st.Removed()
		restored += st.Restored
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("RESULT sweeps %d removed %d restored %d errors %d\n", n, removed, restored, errs)
	if errs != 0 {
		os.Exit(1)
	}
}

func loads(ctx context.Context, s *fsstore.Store, id string, d time.Duration) {
	var n, missing, errs int
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		_, err := s.Load(ctx, id)
		switch {
		case errors.Is(err, fsstore.ErrNotFound):
			missing++
		case err != nil:
			errs++
			fmt.Fprintln(os.Stderr, "load:", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("RESULT loads %d missing %d errors %d\n", n, missing, errs)
	if missing != 0 || errs != 0 {
		os.Exit(1)
	}
}

// hold takes the lock and then does what stdin says, so that a test can
// stop (SIGSTOP) or kill the process while it holds the lock.
func hold(ctx context.Context, s *fsstore.Store, id string) {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		fail(err)
	}
	fmt.Println("held")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "save":
			err = l.Save(ctx, &fsstore.Session{ID: id, Data: []byte(arg)})
		case "delete":
			err = l.Delete(ctx)
		case "unlock":
			err = l.Unlock()
		}
		if err != nil {
			fmt.Printf("RESULT %s: %v (lock lost: %v, in doubt: %v)\n", cmd, err, errors.Is(err, fsstore.ErrLockLost), errors.Is(err, fsstore.ErrInDoubt))
		} else {
			fmt.Printf("RESULT %s: ok\n", cmd)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mixdriver:", err)
	fmt.Println("RESULT error:", err)
	os.Exit(1)
}
