package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// TestDocumentedDefaults: what an option's doc names as its default is
// what a store opened without it has.
func TestDocumentedDefaults(t *testing.T) {
	ctx := context.Background()
	wd := t.TempDir()
	t.Chdir(wd)
	must(t, os.Mkdir("store", 0o700))
	s := openDir(t, "store") // a relative path: Dir is absolute
	if want := filepath.Join(wd, "store"); s.Dir() != want || !filepath.IsAbs(s.Dir()) {
		t.Errorf("Dir() = %q, want the absolute %q", s.Dir(), want)
	}
	if got := s.String(); got != "fsstore.Store("+s.Dir()+")" {
		t.Errorf("String() = %q", got)
	}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%x", "%d"} {
		if got := fmt.Sprintf(verb, s); got != s.String() {
			t.Errorf("Sprintf(%s, store) = %q, want String's %q", verb, got, s.String())
		}
	}
	if got := fmt.Sprintf("%q", s); got != fmt.Sprintf("%q", s.String()) {
		t.Errorf("%%q of the store = %s", got)
	}
	if got := s.IdleTimeout(); got != 24*time.Minute {
		t.Errorf("IdleTimeout() = %v, want the documented default 24m", got)
	}
	if got := s.Durability(); got != fsstore.DurabilityNone {
		t.Errorf("Durability() = %v, want DurabilityNone", got)
	}
	if got := s.LockStrategy(); got == lock.Auto {
		t.Errorf("LockStrategy() = %v on a writable store, want the strategy picked", got)
	}
	if s.Bounded() {
		t.Error("Bounded() on a local file system, want false (WithMaxInFlight's default there is 0)")
	}
	if got := s.Breaker(); got != fsstore.BreakerClosed {
		t.Errorf("Breaker() = %v, want BreakerClosed", got)
	}
	st, err := s.Stats(ctx, fsstore.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.ShardDepth != 1 || st.LockStripes != 1024 || st.MaxIdle != 24*time.Minute || st.ShardCapacity != 256 {
		t.Errorf("Stats: depth %d, stripes %d, max idle %v, capacity %d; want the defaults 1, 1024, 24m, 256",
			st.ShardDepth, st.LockStripes, st.MaxIdle, st.ShardCapacity)
	}
	depth, stripes, maxIdle, err := fsstore.ReadLayout(s.Dir())
	if err != nil || depth != 1 || stripes != 1024 || maxIdle != 24*time.Minute {
		t.Errorf("ReadLayout = %d, %d, %v, %v; want 1, 1024, 24m", depth, stripes, maxIdle, err)
	}

	// WithMaxSize: default 1 MiB.
	sess := &fsstore.Session{ID: newID(t), Data: make([]byte, 1<<20)}
	if err := s.Save(ctx, sess); err != nil {
		t.Errorf("Save of 1 MiB (the default limit): %v", err)
	}
	// WithLifetime: default 24 hours from creation.
	if got := sess.Deadline.Sub(sess.Created); got != 24*time.Hour {
		t.Errorf("Deadline - Created = %v, want the documented default lifetime 24h", got)
	}
	// Session.Version: from 0, a random start below 2^53.
	if sess.Version == 0 || sess.Version >= 1<<53 {
		t.Errorf("Version after the first save = %d, want 1..2^53-1", sess.Version)
	}
	big := &fsstore.Session{ID: newID(t), Data: make([]byte, 1<<20+1)}
	if err := s.Save(ctx, big); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Errorf("Save of 1 MiB + 1: %v, want ErrTooLarge", err)
	}
	// Delete: deleting a missing session does nothing and returns nil.
	if err := s.Delete(ctx, newID(t)); err != nil {
		t.Errorf("Delete of a missing session: %v, want nil", err)
	}
	// A closed store: Breaker closed, Close again does nothing.
	must(t, s.Close())
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if _, err := s.Load(ctx, newID(t)); !errors.Is(err, fsstore.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
}

// TestDocumentedRanges: each option's documented range is what Open
// accepts, both edges.
func TestDocumentedRanges(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  fsstore.Option
		ok   bool
	}{
		{"shard depth 0", fsstore.WithShardDepth(0), true},
		{"shard depth 3", fsstore.WithShardDepth(3), true},
		{"shard depth -1", fsstore.WithShardDepth(-1), false},
		{"stripes 1", fsstore.WithLockStripes(1), true},
		{"stripes 65536", fsstore.WithLockStripes(65536), true},
		{"stripes 0", fsstore.WithLockStripes(0), false},
		{"stripes 65537", fsstore.WithLockStripes(65537), false},
		{"max size 64 MiB", fsstore.WithMaxSize(64 << 20), true},
		{"max size 64 MiB + 1", fsstore.WithMaxSize(64<<20 + 1), false},
		{"idle 1s", fsstore.WithIdleTimeout(time.Second), true},
		{"idle MaxIdleTimeout", fsstore.WithIdleTimeout(fsstore.MaxIdleTimeout), true},
		{"idle MaxIdleTimeout + 1ns", fsstore.WithIdleTimeout(fsstore.MaxIdleTimeout + 1), false},
		{"lifetime 0 (off)", fsstore.WithLifetime(0), true},
		{"lifetime 1s", fsstore.WithLifetime(time.Second), true},
		{"in flight 0", fsstore.WithMaxInFlight(0), true},
		{"in flight 65536", fsstore.WithMaxInFlight(65536), true},
		{"in flight 65537", fsstore.WithMaxInFlight(65537), false},
		{"in flight -1", fsstore.WithMaxInFlight(-1), false},
		{"breaker 1, 1ns", fsstore.WithBreaker(1, 1), true},
		{"breaker cooldown 0", fsstore.WithBreaker(1, 0), false},
		{"op timeout 1ns", fsstore.WithOpTimeout(1), true},
		{"op timeout -1", fsstore.WithOpTimeout(-1), false},
		{"lease MaxLeaseTTL", fsstore.WithLeaseTTL(lock.MaxLeaseTTL), true},
		{"lease 100ms", fsstore.WithLeaseTTL(100 * time.Millisecond), true},
		{"lease 99ms", fsstore.WithLeaseTTL(99 * time.Millisecond), false},
		{"lease 0 (the default)", fsstore.WithLeaseTTL(0), true},
		{"lease -1", fsstore.WithLeaseTTL(-1), false},
		{"open locks -1", fsstore.WithMaxOpenLocks(-1), false},
		{"cache -1 entries", fsstore.WithCache(-1, 1), false},
		{"permissions 0660/2770", fsstore.WithPermissions(0o660, 0o2770), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := fsstore.Open(t.TempDir(), tt.opt)
			if err == nil {
				s.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("Open: %v, want accepted %v", err, tt.ok)
			}
		})
	}
}

// TestDocumentedListsAndNames: Ops and Outcomes list every value, and
// each has a name of its own; FileKind, BreakerState, Durability name
// theirs, and ParseDurability reads Durability's back.
func TestDocumentedListsAndNames(t *testing.T) {
	seen := map[string]bool{}
	for i, o := range fsstore.Ops() {
		if int(o) != i || strings.HasPrefix(o.String(), "Op(") || seen[o.String()] {
			t.Errorf("Ops()[%d] = %d %q", i, o, o)
		}
		seen[o.String()] = true
	}
	if n := len(fsstore.Ops()); n != int(fsstore.OpTryLock)+1 || !strings.HasPrefix(fsstore.Op(n).String(), "Op(") {
		t.Errorf("Ops() has %d, want every Op through OpTryLock", n)
	}
	seen = map[string]bool{}
	for i, o := range fsstore.Outcomes() {
		if int(o) != i || strings.HasPrefix(o.String(), "Outcome(") || seen[o.String()] {
			t.Errorf("Outcomes()[%d] = %d %q", i, o, o)
		}
		seen[o.String()] = true
	}
	if n := len(fsstore.Outcomes()); n != int(fsstore.OutcomeBusy)+1 {
		t.Errorf("Outcomes() has %d, want every Outcome through OutcomeBusy", n)
	}
	for _, k := range []fsstore.FileKind{fsstore.KindSession, fsstore.KindTemp, fsstore.KindLease} {
		if strings.HasPrefix(k.String(), "FileKind(") {
			t.Errorf("FileKind %d has no name", k)
		}
	}
	for _, b := range []fsstore.BreakerState{fsstore.BreakerClosed, fsstore.BreakerOpen, fsstore.BreakerProbing} {
		if strings.HasPrefix(b.String(), "BreakerState(") || b.String() == "" {
			t.Errorf("BreakerState %d has no name: %q", b, b)
		}
	}
	for _, s := range []string{"none", "file", "full"} {
		d, err := fsstore.ParseDurability(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDurability(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := fsstore.ParseDurability("fsync"); err == nil {
		t.Error("ParseDurability(fsync) succeeded")
	}
	st := fsstore.SweepStats{Sessions: 1, Temps: 2, Leases: 4, Restored: 8, Foreign: 16}
	if st.Removed() != 7 {
		t.Errorf("Removed() = %d, want Sessions+Temps+Leases, 7", st.Removed())
	}
}

// TestDocumentedErrors: the sentinel relations the error docs promise.
func TestDocumentedErrors(t *testing.T) {
	for _, tt := range []struct {
		name        string
		err, target error
	}{
		{"ErrExpired is ErrNotFound", fsstore.ErrExpired, fsstore.ErrNotFound},
		{"ErrUnsupportedRecord is ErrCorrupt", fsstore.ErrUnsupportedRecord, fsstore.ErrCorrupt},
		{"ErrUnencrypted is ErrCorrupt", fsstore.ErrUnencrypted, fsstore.ErrCorrupt},
		{"ErrLocked is lock's", fsstore.ErrLocked, lock.ErrLocked},
		{"ErrLockLost is lock's", fsstore.ErrLockLost, lock.ErrLockLost},
		{"ErrTooManyLocks is lock's", fsstore.ErrTooManyLocks, lock.ErrTooManyLocks},
	} {
		if !errors.Is(tt.err, tt.target) {
			t.Errorf("%s: not so", tt.name)
		}
	}
	if errors.Is(fsstore.ErrTooManyLocks, fsstore.ErrLocked) {
		t.Error("ErrTooManyLocks matches ErrLocked")
	}
	if errors.Is(fsstore.ErrStoreReadOnly, fsstore.ErrReadOnly) || errors.Is(fsstore.ErrReadOnly, fsstore.ErrStoreReadOnly) {
		t.Error("ErrStoreReadOnly and ErrReadOnly match each other")
	}
}

// TestDocumentedIDs: NewID's length and alphabet, ValidID's bounds, and
// that its error never quotes the ID.
func TestDocumentedIDs(t *testing.T) {
	id := newID(t)
	if len(id) != 43 || fsstore.ValidID(id) != nil {
		t.Errorf("NewID() = %q (%d characters), want 43 valid ones", id, len(id))
	}
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{strings.Repeat("a", fsstore.MinIDLen), true},
		{strings.Repeat("a", fsstore.MinIDLen-1), false},
		{strings.Repeat("Z", fsstore.MaxIDLen), true},
		{strings.Repeat("Z", fsstore.MaxIDLen+1), false},
		{strings.Repeat("-_09", 4), true},
		{"secretsecret/../secret", false},
		{"secretsecretsecret.", false},
		{"secretsecretsecret\x00", false},
		{"secretsecret secret", false},
		{"secretsecretsecreté", false},
		{"secretsecretsecret=", false},
	} {
		err := fsstore.ValidID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, fsstore.ErrInvalidID) || strings.Contains(err.Error(), "secret")) {
			t.Errorf("ValidID(%q) = %v: want ErrInvalidID, without the ID", tt.id, err)
		}
	}
}

// TestDocumentedKeys: the key set rules CheckKeys, ParseKeys and
// KeysFromEnv document, that their errors never quote a secret, and
// that every way of printing a Key leaves the secret out.
func TestDocumentedKeys(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	secret := func(k fsstore.Key) string { return strings.Fields(k.SecretLine())[1] }
	if err := fsstore.CheckKeys([]fsstore.Key{k1, k2}); err != nil {
		t.Errorf("CheckKeys of a valid set: %v", err)
	}
	for _, tt := range []struct {
		name string
		keys []fsstore.Key
	}{
		{"ID 0", []fsstore.Key{{ID: 0, Secret: k1.Secret}}},
		{"an ID twice", []fsstore.Key{k1, {ID: 1, Secret: k2.Secret}}},
		{"a short secret", []fsstore.Key{{ID: 3, Secret: k1.Secret[:31]}}},
		{"one secret under two IDs", []fsstore.Key{k1, {ID: 3, Secret: k1.Secret}}},
	} {
		err := fsstore.CheckKeys(tt.keys)
		if err == nil {
			t.Errorf("CheckKeys with %s: nil", tt.name)
			continue
		}
		if strings.Contains(err.Error(), secret(k1)) || bytes.Contains([]byte(err.Error()), k1.Secret) {
			t.Errorf("CheckKeys with %s quotes the secret: %v", tt.name, err)
		}
	}
	// ParseKeys: newest first, blank and # lines ignored, a BOM skipped.
	text := "\ufeff# keys\n\n" + k2.SecretLine() + "\n" + k1.SecretLine() + "\n"
	keys, err := fsstore.ParseKeys(strings.NewReader(text))
	if err != nil || len(keys) != 2 || keys[0].ID != 2 || keys[1].ID != 1 || !bytes.Equal(keys[0].Secret, k2.Secret) {
		t.Errorf("ParseKeys = %v, %v; want keys 2 then 1", keys, err)
	}
	bad := "1 " + secret(k1)[:20] + "\n"
	if _, err := fsstore.ParseKeys(strings.NewReader(bad)); err == nil || strings.Contains(err.Error(), secret(k1)[:20]) {
		t.Errorf("ParseKeys of a short secret: %v; want an error without the secret", err)
	}
	// KeysFromEnv: separated by newlines or semicolons.
	t.Setenv("SESSFS_DOCCLAIMS_KEYS", k2.SecretLine()+";"+k1.SecretLine())
	keys, err = fsstore.KeysFromEnv("SESSFS_DOCCLAIMS_KEYS")
	if err != nil || len(keys) != 2 || keys[0].ID != 2 {
		t.Errorf("KeysFromEnv of two keys separated by ';' = %v, %v", keys, err)
	}
	// Printing a key.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		for _, v := range []any{k1, []fsstore.Key{k1}, struct{ K fsstore.Key }{k1}} {
			got := fmt.Sprintf(verb, v)
			if strings.Contains(got, secret(k1)) || strings.Contains(got, fmt.Sprintf("%x", k1.Secret[:4])) || strings.Contains(got, fmt.Sprint(k1.Secret[:4])[1:8]) {
				t.Errorf("Sprintf(%s, %T) = %s: holds the secret", verb, v, got)
			}
		}
	}
	if got := k1.String(); got != "key 1 (secret redacted)" {
		t.Errorf("String() = %q", got)
	}
	if text, err := k1.MarshalText(); err != nil || string(text) != k1.String() {
		t.Errorf("MarshalText = %q, %v; want String's", text, err)
	}
	if back, err := fsstore.ParseKeys(strings.NewReader(k1.SecretLine())); err != nil || len(back) != 1 || !bytes.Equal(back[0].Secret, k1.Secret) {
		t.Errorf("SecretLine does not read back: %v, %v", back, err)
	}
}

// TestFleetLockFiles: what TryLockFleet's doc says of the file a fleet
// lock leaves, and what Stats.LockFiles counts. On flock, sessgc's names
// are lock files, a name of another tool's is Foreign and left in place;
// on leases, neither leaves a file once unlocked.
func TestFleetLockFiles(t *testing.T) {
	ctx := context.Background()
	for _, strategy := range []lock.Strategy{lock.Flock, lock.Lease} {
		t.Run(strategy.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := openDir(t, dir, fsstore.WithLockStrategy(strategy))
			l, err := s.Lock(ctx, newID(t), fsstore.Exclusive)
			must(t, err)
			must(t, l.Unlock())
			if _, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"sessgc", "sessgc-rekey", "nightly-export"} {
				h, err := s.TryLockFleet(name)
				must(t, err)
				must(t, h.Unlock())
			}
			var lockFiles int64
			ents, err := os.ReadDir(filepath.Join(dir, fsstore.LockDir))
			must(t, err)
			for _, e := range ents {
				if _, _, lease := lock.IsLeaseFile(e.Name()); e.Type().IsRegular() && !lease && !strings.HasPrefix(e.Name(), ".") && e.Name() != "nightly-export" {
					lockFiles++
				}
			}
			wantForeign := int64(0)
			if strategy == lock.Flock {
				wantForeign = 1
				// The stripe's and sessgc's two at least.
				if lockFiles < 3 {
					t.Errorf("%d lock files in %s, want at least 3: %v", lockFiles, fsstore.LockDir, ents)
				}
			}
			st, err := s.Stats(ctx, fsstore.StatsOptions{})
			if err != nil || st.LockFiles != lockFiles || st.Foreign != wantForeign {
				t.Errorf("Stats: LockFiles %d, Foreign %d, %v; want %d, %d", st.LockFiles, st.Foreign, err, lockFiles, wantForeign)
			}
			var foreign []string
			sw, err := s.Sweep(ctx, fsstore.SweepOptions{OnForeign: func(p string) { foreign = append(foreign, p) }})
			if err != nil || sw.Foreign != wantForeign || int64(len(foreign)) != wantForeign {
				t.Errorf("Sweep: Foreign %d %v, %v; want %d", sw.Foreign, foreign, err, wantForeign)
			}
			if _, err := os.Lstat(filepath.Join(dir, fsstore.LockDir, "nightly-export")); strategy == lock.Flock && err != nil {
				t.Errorf("the fleet lock's file after the sweep: %v", err)
			}
		})
	}
}

// TestDocumentedSessionRules: Session.Idle's range, a Shared lock's
// refusal of writes, Locked.Save of another ID, Unlock again, and
// SharesStripe of an invalid ID.
func TestDocumentedSessionRules(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir())
	for _, tt := range []struct {
		idle time.Duration
		ok   bool
	}{
		{time.Second, true},
		{fsstore.MaxIdleTimeout, true},
		{time.Second - 1, false},
		{fsstore.MaxIdleTimeout + 1, false},
		{-time.Hour, false},
	} {
		for _, via := range []string{"Save", "CompareAndSwap"} {
			sess := &fsstore.Session{ID: newID(t), Data: []byte("x"), Idle: tt.idle}
			var err error
			if via == "Save" {
				err = s.Save(ctx, sess)
			} else {
				err = s.CompareAndSwap(ctx, sess)
			}
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, fsstore.ErrInvalidIdle) {
				t.Errorf("%s with Idle %v: %v, want ok %v or ErrInvalidIdle", via, tt.idle, err, tt.ok)
			}
		}
	}
	big := &fsstore.Session{ID: newID(t), Data: make([]byte, 1<<20+1)}
	if err := s.CompareAndSwap(ctx, big); !errors.Is(err, fsstore.ErrTooLarge) {
		t.Errorf("CompareAndSwap over the size limit: %v, want ErrTooLarge", err)
	}

	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("v")}))
	if err := s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte("w")}); !errors.Is(err, fsstore.ErrConflict) {
		t.Errorf("CompareAndSwap from version 0 over a live record: %v, want ErrConflict", err)
	}
	sh, err := s.Lock(ctx, id, fsstore.Shared)
	must(t, err)
	if sh.Mode() != fsstore.Shared || sh.ID() != id {
		t.Errorf("Locked: mode %v, ID ok %v", sh.Mode(), sh.ID() == id)
	}
	sess, err := sh.Load(ctx)
	must(t, err)
	for name, write := range map[string]func() error{
		"Save":   func() error { return sh.Save(ctx, sess) },
		"Delete": func() error { return sh.Delete(ctx) },
		"Touch":  func() error { return sh.Touch(ctx) },
	} {
		if err := write(); !errors.Is(err, fsstore.ErrReadOnly) {
			t.Errorf("Locked.%s through a Shared lock: %v, want ErrReadOnly", name, err)
		}
	}
	if sh.SharesStripe("not an ID") {
		t.Error("SharesStripe of an invalid ID: true")
	}
	if !sh.SharesStripe(id) {
		t.Error("SharesStripe of its own ID: false")
	}
	must(t, sh.Unlock())
	if err := sh.Unlock(); err != nil {
		t.Errorf("second Unlock: %v, want nil", err)
	}

	ex, err := s.Lock(ctx, id, fsstore.Exclusive)
	must(t, err)
	other := &fsstore.Session{ID: newID(t), Data: []byte("x")}
	if err := ex.Save(ctx, other); err == nil {
		t.Error("Locked.Save of another session's ID succeeded")
	}
	if _, err := s.Load(ctx, other.ID); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load of the other ID after: %v, want ErrNotFound", err)
	}
	fresh, err := ex.NewIDSharingStripe()
	if err != nil || fsstore.ValidID(fresh) != nil || !ex.SharesStripe(fresh) {
		t.Errorf("NewIDSharingStripe = %q, %v; want a valid ID on the stripe", fresh, err)
	}
	must(t, ex.Unlock())
}

// TestDocumentedEvents: what an Observer sees, as Event's and Op's docs
// say: payload bytes for loads and saves, in an encrypted store too (not
// the record's), a TryLock of a held lock as OutcomeBusy, a Lock whose
// wait ended as OpLockWait with OutcomeLockTimeout, and a sweep's removal
// with the file's size and kind; a dry run reports no removal.
func TestDocumentedEvents(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	clock := time.Now()
	now := func() time.Time { return clock }
	key := mustKey(t, 1)
	s := openDir(t, t.TempDir(), fsstore.WithObserver(rec), fsstore.WithKeys(key), fsstore.WithClock(now))
	take := func() []fsstore.Event {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		ev := rec.events
		rec.events = nil
		return ev
	}
	id := newID(t)
	must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: make([]byte, 100)}))
	_, err := s.Load(ctx, id)
	must(t, err)
	must(t, s.Touch(ctx, id))
	ev := take()
	if len(ev) != 3 || ev[0].Op != fsstore.OpSave || ev[0].Bytes != 100 || ev[1].Op != fsstore.OpLoad || ev[1].Bytes != 100 ||
		ev[2].Op != fsstore.OpTouch || ev[2].Bytes != 0 {
		t.Errorf("Save, Load, Touch of 100 bytes: %+v", ev)
	}
	for _, e := range ev {
		if e.Outcome != fsstore.OutcomeOK || e.Late {
			t.Errorf("%+v, want OutcomeOK, not Late", e)
		}
	}
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	must(t, err)
	// The wait's context ends once Lock has found the lock held: a
	// deadline of a millisecond could pass before Lock was called on a
	// loaded machine, and a context ended before the call is refused at
	// once, without ErrLocked or the event under test.
	// (TryLock's one attempt is no such wait: armed after it.)
	waitCtx := newDeadlineCtx()
	var waiting atomic.Bool
	other := openDir(t, s.Dir(), fsstore.WithObserver(rec), fsstore.WithKeys(key), fsstore.WithClock(now),
		fsstore.WithTestFSForTest(func(site string) {
			if site == "lock-first-done" && waiting.Load() {
				waitCtx.expire()
			}
		}))
	take()
	if _, err := other.TryLock(id, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) {
		t.Errorf("TryLock of a held lock: %v", err)
	}
	waiting.Store(true)
	if _, err := other.Lock(waitCtx, id, fsstore.Exclusive); !errors.Is(err, fsstore.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock of a held lock until ctx ends: %v, want ErrLocked and DeadlineExceeded", err)
	}
	// A ctx ended before the call: refused at once, the lock not looked
	// at, so not ErrLocked (see Store.Lock).
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := other.Lock(ended, id, fsstore.Exclusive); !errors.Is(err, context.Canceled) || errors.Is(err, fsstore.ErrLocked) {
		t.Errorf("Lock with ctx ended before the call: %v, want context.Canceled alone", err)
	}
	ev = take()
	if len(ev) != 3 || ev[0].Op != fsstore.OpTryLock || ev[0].Outcome != fsstore.OutcomeBusy ||
		ev[1].Op != fsstore.OpLockWait || ev[1].Outcome != fsstore.OutcomeLockTimeout ||
		ev[2].Op != fsstore.OpLockWait || ev[2].Outcome != fsstore.OutcomeLockTimeout {
		t.Errorf("TryLock and Lock of a held lock: %+v", ev)
	}
	must(t, l.Unlock())

	clock = clock.Add(time.Hour)
	fi, err := os.Stat(s.RecordPathForTest(id))
	must(t, err)
	take()
	if st, err := s.Sweep(ctx, fsstore.SweepOptions{DryRun: true}); err != nil || st.Sessions != 1 {
		t.Fatalf("dry run: %+v, %v", st, err)
	}
	if ev := take(); len(ev) != 0 {
		t.Errorf("a dry run reported %+v, want nothing", ev)
	}
	if st, err := s.Sweep(ctx, fsstore.SweepOptions{}); err != nil || st.Sessions != 1 {
		t.Fatalf("Sweep: %+v, %v", st, err)
	}
	ev = take()
	if len(ev) != 1 || ev[0].Op != fsstore.OpSweepRemove || ev[0].Kind != fsstore.KindSession || int64(ev[0].Bytes) != fi.Size() || ev[0].Outcome != fsstore.OutcomeOK {
		t.Errorf("Sweep removing a %d-byte record: %+v", fi.Size(), ev)
	}
}

// TestEndedContextRefusedAtOnce: a session call given a Context that has
// ended already fails with its error alone (the Store doc), matching no
// sentinel of the store: not ErrLocked, nor ErrUnavailable.
func TestEndedContextRefusedAtOnce(t *testing.T) {
	s := openDir(t, t.TempDir())
	id := newID(t)
	must(t, s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}))
	l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
	must(t, err)
	defer l.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sess := func() *fsstore.Session { return &fsstore.Session{ID: id, Data: []byte("y")} }
	for name, call := range map[string]func() error{
		"Load":           func() error { _, err := s.Load(ctx, id); return err },
		"Save":           func() error { return s.Save(ctx, sess()) },
		"CompareAndSwap": func() error { return s.CompareAndSwap(ctx, sess()) },
		"Touch":          func() error { return s.Touch(ctx, id) },
		"Delete":         func() error { return s.Delete(ctx, id) },
		"Lock":           func() error { _, err := s.Lock(ctx, newID(t), fsstore.Exclusive); return err },
		"Locked.Load":    func() error { _, err := l.Load(ctx); return err },
		"Locked.Save":    func() error { return l.Save(ctx, sess()) },
		"Locked.Touch":   func() error { return l.Touch(ctx) },
		"Locked.Delete":  func() error { return l.Delete(ctx) },
	} {
		err := call()
		if !errors.Is(err, context.Canceled) || errors.Is(err, fsstore.ErrLocked) || errors.Is(err, fsstore.ErrUnavailable) {
			t.Errorf("%s: %v, want context.Canceled alone", name, err)
		}
	}
	got, err := s.Load(context.Background(), id)
	if err != nil || string(got.Data) != "x" {
		t.Errorf("the session after: %v, %v; want it as saved", got, err)
	}
}

// TestDocumentedSessionFields: what Session's field docs say Save and
// Load set: Created when zero, Deadline fixed at the first save (Created
// plus the lifetime, none with a lifetime of 0, a caller's own kept),
// Expires as last activity plus the idle timeout capped by Deadline, and
// Idle as Load reports it.
func TestDocumentedSessionFields(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return clock }
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithClock(now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithLifetime(2*time.Hour))

	sess := &fsstore.Session{ID: newID(t), Data: []byte("x")}
	must(t, s.Save(ctx, sess))
	if !sess.Created.Equal(clock) || !sess.Deadline.Equal(clock.Add(2*time.Hour)) || !sess.Expires.Equal(clock.Add(time.Hour)) {
		t.Errorf("after the first Save: created %v, deadline %v, expires %v", sess.Created, sess.Deadline, sess.Expires)
	}
	got, err := s.Load(ctx, sess.ID)
	must(t, err)
	if got.Idle != time.Hour {
		t.Errorf("Load's Idle of a session saved with a zero Idle = %v, want the store's 1h it was saved under", got.Idle)
	}
	if !got.Created.Equal(sess.Created) || !got.Deadline.Equal(sess.Deadline) || !got.Expires.Equal(sess.Expires) || got.Version != sess.Version {
		t.Errorf("Load: %+v, want the times and version Save set: %+v", got, sess)
	}

	// Ninety minutes on, a save: expiry capped by the deadline.
	clock = clock.Add(90 * time.Minute)
	got.Data = []byte("y")
	must(t, s.Save(ctx, got))
	if !got.Deadline.Equal(sess.Deadline) || !got.Expires.Equal(sess.Deadline) {
		t.Errorf("a save 30m before the deadline: deadline %v, expires %v; want both %v", got.Deadline, got.Expires, sess.Deadline)
	}

	// A caller's own Deadline, and its own Idle, are kept.
	own := &fsstore.Session{ID: newID(t), Data: []byte("x"), Deadline: clock.Add(10 * time.Minute), Idle: 5 * time.Minute}
	must(t, s.Save(ctx, own))
	back, err := s.Load(ctx, own.ID)
	must(t, err)
	if !back.Deadline.Equal(clock.Add(10*time.Minute)) || back.Idle != 5*time.Minute || !back.Expires.Equal(clock.Add(5*time.Minute)) {
		t.Errorf("own deadline and idle: deadline %v, idle %v, expires %v", back.Deadline, back.Idle, back.Expires)
	}

	// No lifetime: no deadline.
	must(t, s.Close())
	s = openDir(t, dir, fsstore.WithClock(now), fsstore.WithIdleTimeout(time.Hour), fsstore.WithLifetime(0))
	none := &fsstore.Session{ID: newID(t), Data: []byte("x")}
	must(t, s.Save(ctx, none))
	if !none.Deadline.IsZero() {
		t.Errorf("WithLifetime(0): deadline %v, want none", none.Deadline)
	}
	// Expired by its idle timeout: Load says ErrExpired, Touch does not
	// revive it.
	clock = clock.Add(time.Hour + time.Second)
	if _, err := s.Load(ctx, none.ID); !errors.Is(err, fsstore.ErrExpired) || !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Load past the idle timeout: %v, want ErrExpired", err)
	}
	if err := s.Touch(ctx, none.ID); !errors.Is(err, fsstore.ErrNotFound) {
		t.Errorf("Touch of an expired session: %v, want ErrNotFound", err)
	}
}

// TestRecordOverheadHoldsTheRecord: RecordOverhead's doc: a buffer with
// a capacity of the payload's length plus RecordOverhead holds the record,
// so LoadInto reads it there (its Data aliases buf), plaintext or sealed.
func TestRecordOverheadHoldsTheRecord(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		opts []fsstore.Option
	}{
		{"plaintext", nil},
		{"encrypted", []fsstore.Option{fsstore.WithKeys(mustKey(t, 1))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openDir(t, t.TempDir(), tt.opts...)
			for _, n := range []int{0, 1, 100, 4096} {
				id := newID(t)
				must(t, s.Save(ctx, &fsstore.Session{ID: id, Data: bytes.Repeat([]byte("p"), n)}))
				buf := make([]byte, 0, n+fsstore.RecordOverhead)
				got, err := s.LoadInto(ctx, id, buf)
				if err != nil || len(got.Data) != n {
					t.Fatalf("LoadInto of %d bytes: %v", n, err)
				}
				if n > 0 && !aliases(buf, got.Data) {
					t.Errorf("LoadInto of %d bytes into a buffer of %d: Data does not alias buf", n, cap(buf))
				}
			}
		})
	}
}

// aliases reports whether b lies in buf's backing array.
func aliases(buf, b []byte) bool {
	full := buf[:cap(buf)]
	for i := range full {
		if &full[i] == &b[0] {
			return true
		}
	}
	return false
}

// TestDocumentedProgress: a zero SweepProgress and RekeyProgress are
// ready to use, their counts match what the pass returns, and Duration
// is left zero.
func TestDocumentedProgress(t *testing.T) {
	ctx := context.Background()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	dir := t.TempDir()
	s := openDir(t, dir, fsstore.WithKeys(k1))
	for range 3 {
		must(t, s.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("x")}))
	}
	var sp fsstore.SweepProgress
	st, err := s.Sweep(ctx, fsstore.SweepOptions{Progress: &sp})
	must(t, err)
	got := sp.Stats()
	if got.Duration != 0 || got.Live != st.Live || got.Scanned != st.Scanned || st.Live != 3 {
		t.Errorf("SweepProgress: %+v; the sweep returned %+v", got, st)
	}
	r := openDir(t, dir, fsstore.WithKeys(k2, k1))
	var rp fsstore.RekeyProgress
	rs, err := r.Rekey(ctx, fsstore.RekeyOptions{Progress: &rp})
	must(t, err)
	if got := rp.Stats(); got.Duration != 0 || got.Rekeyed != rs.Rekeyed || got.Scanned != rs.Scanned || rs.Rekeyed != 3 {
		t.Errorf("RekeyProgress: %+v; the pass returned %+v", got, rs)
	}
}
