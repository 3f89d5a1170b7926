package fsstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// A sweep moves a record aside without the session's lock, so a request
// holding the lock may find it aside: its Load reads the copy aside, or
// the sweep moves it after the Load. What the request does next under the
// lock reaches the record there. A Touch lands on the copy aside, where
// the sweep sees it and puts the record back (Locked.Touch touched the
// name alone: ErrNotFound, and the sweep removed the session just used);
// a Save replaces it and a Delete removes it, as ever.
//
// The sweeping host's clock runs ahead of the writer's by more than
// Grace, so the sweep judges expired a record the writer finds live: the
// copy aside changes only if the request's own operation reaches it.
func TestLockedOpsReachRecordAside(t *testing.T) {
	ctx := context.Background()
	const (
		idle = time.Hour
		// The sweep's clock leads the writer's by skew: at the sweep the
		// record is idle-1m old to the writer, past idle+Grace (1m) to
		// the sweep.
		skew = 5 * time.Minute
	)
	type op struct {
		name string
		do   func(l *fsstore.Locked, id string) error
		want string // the record's payload after the sweep; "": none
	}
	ops := []op{
		{"Touch", func(l *fsstore.Locked, _ string) error { return l.Touch(ctx) }, "x"},
		{"Save", func(l *fsstore.Locked, id string) error {
			return l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("saved")})
		}, "saved"},
		{"Delete", func(l *fsstore.Locked, _ string) error { return l.Delete(ctx) }, ""},
	}
	for _, bounded := range []bool{false, true} {
		for _, loadAside := range []bool{true, false} {
			for _, o := range ops {
				name := o.name + map[bool]string{true: "/loaded aside", false: "/loaded before the move"}[loadAside] +
					map[bool]string{true: "/bounded", false: "/unbounded"}[bounded]
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					clock := fakeclock.New()
					opts := []fsstore.Option{fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(idle), fsstore.WithClock(clock.Now)}
					if bounded {
						opts = append(opts, fsstore.WithMaxInFlight(4))
					}
					w := openDir(t, dir, opts...)
					gc := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Second),
						fsstore.WithClock(func() time.Time { return clock.Now().Add(skew) }))
					id := newID(t)
					if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
						t.Fatal(err)
					}
					clock.Advance(idle - time.Minute)
					p := w.RecordPathForTest(id)
					l, err := w.Lock(ctx, id, fsstore.Exclusive)
					if err != nil {
						t.Fatal(err)
					}
					defer l.Unlock()
					load := func() {
						if sess, err := l.Load(ctx); err != nil || string(sess.Data) != "x" {
							t.Errorf("Load under the lock: %v, %v; want %q", sess, err, "x")
						}
					}
					if !loadAside {
						load()
					}
					settles := 0
					gc.SetSweepHooksForTest(nil, nil, func(path string) {
						if path != p {
							return
						}
						settles++
						if loadAside {
							load()
						}
						if err := o.do(l, id); err != nil {
							t.Errorf("%s under the lock while the sweep holds the record aside: %v", o.name, err)
						}
					})
					st, err := gc.Sweep(ctx, fsstore.SweepOptions{})
					gc.SetSweepHooksForTest(nil, nil, nil)
					if err != nil || st.Errors != 0 {
						t.Fatalf("sweep: %+v, %v", st, err)
					}
					if settles != 1 {
						t.Fatalf("the sweep settled the record %d times; want 1 (%+v)", settles, st)
					}
					if err := l.Unlock(); err != nil {
						t.Fatal(err)
					}
					if left, err := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-gc-*")); err != nil || len(left) != 0 {
						t.Errorf("left aside: %v, %v", left, err)
					}
					sess, err := w.Load(ctx, id)
					switch {
					case o.want == "" && !errors.Is(err, fsstore.ErrNotFound):
						t.Errorf("Load after the sweep: %v, %v; want ErrNotFound", sess, err)
					case o.want != "" && (err != nil || string(sess.Data) != o.want):
						t.Errorf("Load after the sweep: %v, %v; want %q (sweep %+v)", sess, err, o.want, st)
					}
				})
			}
		}
	}
}

// A sweep that removed the record after a Load under the lock leaves
// Locked.Touch nothing to touch: ErrNotFound, as Store.Touch answers, on a
// bounded store (which keeps no descriptor) and an unbounded one alike.
// Through the descriptor the Load kept, the Touch set the times of the
// removed file and reported the session touched.
func TestLockedTouchAfterSweepRemoved(t *testing.T) {
	ctx := context.Background()
	for _, bounded := range []bool{false, true} {
		t.Run(map[bool]string{true: "bounded", false: "unbounded"}[bounded], func(t *testing.T) {
			dir := t.TempDir()
			clock := fakeclock.New()
			opts := []fsstore.Option{fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Hour), fsstore.WithClock(clock.Now)}
			if bounded {
				opts = append(opts, fsstore.WithMaxInFlight(4))
			}
			w := openDir(t, dir, opts...)
			// The sweep's clock leads by more than Grace (see
			// TestLockedOpsReachRecordAside).
			gc := openDir(t, dir, fsstore.WithShardDepth(0), fsstore.WithIdleTimeout(time.Second),
				fsstore.WithClock(func() time.Time { return clock.Now().Add(5 * time.Minute) }))
			id := newID(t)
			if err := w.Save(ctx, &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour - time.Minute)
			l, err := w.Lock(ctx, id, fsstore.Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if _, err := l.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if st, err := gc.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
				t.Fatalf("sweep: %+v, %v; want the session removed", st, err)
			}
			if err := l.Touch(ctx); !errors.Is(err, fsstore.ErrNotFound) {
				t.Errorf("Locked.Touch of a session the sweep removed after the Load: %v; want ErrNotFound", err)
			}
		})
	}
}
