//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
	"github.com/sessfs/sessfs/internal/record"
)

// rotationEnv selects the child-process role of this file's tests.
const rotationEnv = "SESSFS_FSSTORE_ROTATION_HELPER"

// TestRotationHelper is not a test: it is the body of this file's children.
func TestRotationHelper(t *testing.T) { proctest.Main(t, rotationEnv, runRotationHelper) }

// runRotationHelper is an application process: it opens the store with
// the keys file STORE_KEYS (watched, as WithKeysFile does) and, until its
// standard input closes, increments every session of STORE_IDS in turn,
// by lock (Lock, Load, +1, Save) and by compare-and-swap alternately. On
// "keys" it says its key set; on "behind" whether its newest key is
// behind another host's (Store.NewestKeyBehind); "pause" stops serving
// until "resume" ("keys NEWEST ID,ID"); at the end, "done"
// with the increments that succeeded per session and every error, which
// the parent judges.
func runRotationHelper(string) error {
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
	defer cancel()
	// The key order poll shortened from a minute: the parent waits for
	// a host behind the others' newest key to say so.
	s, err := fsstore.Open(os.Getenv("STORE_DIR"), fsstore.WithKeysFile(os.Getenv("STORE_KEYS")),
		fsstore.WithCreate(false), fsstore.WithDurability(fsstore.DurabilityNone),
		fsstore.WithKeyOrderPollForTest(20*time.Millisecond, nil))
	if err != nil {
		return err
	}
	defer s.Close()
	ids := strings.Split(os.Getenv("STORE_IDS"), ",")
	var (
		mu   sync.Mutex
		done = map[string]int{}
		errs = map[string]int{}
		ops  int
		gate sync.Mutex // held by "pause": no request is served
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			for _, id := range ids {
				select {
				case <-stop:
					return
				default:
				}
				gate.Lock()
				var err error
				if n%2 == 0 {
					err = incrementLocked(ctx, s, id)
				} else {
					err = incrementCAS(ctx, s, id)
				}
				gate.Unlock()
				mu.Lock()
				ops++
				if err != nil {
					errs[strings.ReplaceAll(err.Error(), id, "ID")]++
				} else {
					done[id]++
				}
				mu.Unlock()
			}
		}
	}()
	proctest.Say("serving")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() != "stop" {
		switch in.Text() {
		case "keys":
			newest, all := s.KeysInUseForTest()
			var b []string
			for _, id := range all {
				b = append(b, strconv.FormatUint(uint64(id), 10))
			}
			proctest.Say("keys %d %s", newest, strings.Join(b, ","))
		case "behind":
			if b, ok := s.NewestKeyBehind(); ok {
				proctest.Say("behind %d %d", b.Newest, b.Newer)
			} else {
				proctest.Say("behind none")
			}
		case "pause":
			gate.Lock()
			proctest.Say("paused")
		case "resume":
			gate.Unlock()
			proctest.Say("resumed")
		case "count":
			mu.Lock()
			proctest.Say("count %d", ops)
			mu.Unlock()
		}
	}
	close(stop)
	wg.Wait()
	var parts []string
	for _, id := range ids {
		parts = append(parts, id+"="+strconv.Itoa(done[id]))
	}
	proctest.Say("done %s", strings.Join(parts, " "))
	for e, n := range errs {
		proctest.Say("error %d× %s", n, e)
	}
	proctest.Say("end")
	return nil
}

// rotationHost is one application process of a rotation test and the
// keys file it reads.
type rotationHost struct {
	c    *child
	keys string
}

// waitKeys polls h until its key set is newest first, then the rest, as
// want's IDs say ("2 1,2").
func (h *rotationHost) waitKeys(t *testing.T, want string) {
	t.Helper()
	h.await(t, "keys", want)
}

// waitBehind polls h until it reports the state want ("1 2": its newest
// key 1 is behind key 2; "none").
func (h *rotationHost) waitBehind(t *testing.T, want string) {
	t.Helper()
	h.await(t, "behind", want)
}

// await polls h with the question q until its answer is want.
func (h *rotationHost) await(t *testing.T, q, want string) {
	t.Helper()
	deadline := time.Now().Add(proctest.Deadline)
	for {
		h.c.Send(t, q)
		got := strings.TrimPrefix(h.c.Expect(t, q+" "), q+" ")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host of %s answers %s %q, want %q; stderr:\n%s", h.keys, q, got, want, h.c.Stderr)
		}
		time.Sleep(20 * time.Millisecond) // a poll, with the deadline above
	}
}

// progress waits until h has made progress since it was last asked.
func (h *rotationHost) progress(t *testing.T) {
	t.Helper()
	h.c.Send(t, "count")
	first := h.c.Expect(t, "count ")
	deadline := time.Now().Add(proctest.Deadline)
	for {
		h.c.Send(t, "count")
		if h.c.Expect(t, "count ") != first {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host of %s made no progress", h.keys)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish stops h and returns its increments per session and its errors.
func (h *rotationHost) finish(t *testing.T) (map[string]int, []string) {
	t.Helper()
	c := h.c
	c.Send(t, "stop")
	line := strings.TrimPrefix(c.Expect(t, "done"), "done")
	n := map[string]int{}
	for _, f := range strings.Fields(line) {
		id, v, _ := strings.Cut(f, "=")
		n[id], _ = strconv.Atoi(v)
	}
	var errs []string
	for {
		l := c.Expect(t, "")
		if l == "end" {
			break
		}
		errs = append(errs, strings.TrimPrefix(l, "error "))
	}
	c.Finish(t)
	return n, errs
}

// recordKeys returns, per key ID, how many of dir's records are sealed
// with it (0: plaintext).
func recordKeys(t *testing.T, s *fsstore.Store, ids []string) map[uint32]int {
	t.Helper()
	n := map[uint32]int{}
	for _, id := range ids {
		b, err := os.ReadFile(s.RecordPathForTest(id))
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := record.DecodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		n[h.KeyID]++
	}
	return n
}

// rekeyOnce runs one rekey pass with keys, which must fail nothing.
func rekeyOnce(t *testing.T, dir string, keys ...fsstore.Key) {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithKeys(keys...), fsstore.WithMaintenanceOnly(), fsstore.WithCreate(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) { t.Errorf("rekey: %v", err) }})
	t.Logf("rekey pass during the rollout: %+v %v", st, err)
	if err != nil {
		t.Fatal(err)
	}
}

// rekeyUntilDone runs rekey passes with keys until one rewrites nothing
// and fails nothing, as the docs' step 3 says.
func rekeyUntilDone(t *testing.T, dir string, keys ...fsstore.Key) {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithKeys(keys...), fsstore.WithMaintenanceOnly(), fsstore.WithCreate(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pass := 0; ; pass++ {
		var reported []string
		var mu sync.Mutex
		st, err := s.Rekey(context.Background(), fsstore.RekeyOptions{OnError: func(err error) {
			mu.Lock()
			reported = append(reported, err.Error())
			mu.Unlock()
		}})
		t.Logf("rekey pass %d: %+v %v %q", pass, st, err, reported)
		if err != nil {
			t.Fatal(err)
		}
		if st.Rekeyed == 0 && st.Errors == 0 {
			return
		}
		if pass > 20 {
			t.Fatalf("rekey still rewriting after %d passes", pass)
		}
	}
}

// TestRotationOnALiveFleet runs the rotation of docs/operations.md, key 1
// to key 2, on a store that four application processes serve the whole
// time, each incrementing the same sessions by lock and by
// compare-and-swap: step 1 (key 2 after key 1), step 2 (key 2 first),
// step 3 (sessgc rekey's pass, until one rewrites nothing) and step 4
// (key 1 retired), each step applied by every process's keys file watch.
// Two processes share a keys file replaced atomically; each other reads
// a copy of its own, as a host does, replaced by each other way an
// editor or Kubernetes replaces one (keysWriters). No increment may be
// lost, no process may see an error (a key dropped while a record needs
// it would be ErrUnknownKey), and at the end every record is under key 2.
func TestRotationOnALiveFleet(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lag: the last keys file gets step 2 only after a rekey pass
		// that ran while its process still sealed under key 1 the
		// sessions the pass rewrote (a rollout of step 2 still under
		// way): the pass races that process's saves of the same records.
		lag bool
	}{
		{"in order", false},
		{"rekey during step 2's rollout", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testRotationOnALiveFleet(t, tc.lag) })
	}
}

func testRotationOnALiveFleet(t *testing.T, lag bool) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	s, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids, idle []string
	for i := 0; i < 6; i++ {
		id := newID(t)
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("0")}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Sessions no request touches during the rotation: only the rekey
	// moves them to key 2.
	for i := 0; i < 40; i++ {
		id := newID(t)
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("idle")}); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, id)
	}
	type keysFile struct {
		path    string
		replace func(t *testing.T, path, text string)
		first   int // index in hosts of its first process
	}
	var files []keysFile
	var hosts []*rotationHost
	for i, w := range keysWriters {
		p := filepath.Join(t.TempDir(), "keys")
		w.setup(t, p, keysFileText(k1))
		files = append(files, keysFile{p, w.replace, len(hosts)})
		readers := 1
		if i == 0 {
			readers = 2 // two processes of one host
		}
		for ; readers > 0; readers-- {
			c := proctest.Start(t, "TestRotationHelper", rotationEnv, "serve",
				[]string{"STORE_DIR=" + dir, "STORE_KEYS=" + p, "STORE_IDS=" + strings.Join(ids, ",")})
			c.Expect(t, "serving")
			hosts = append(hosts, &rotationHost{c: c, keys: w.name})
		}
	}
	// step applies a step to the keys files of hosts[from:] and waits
	// until each of their processes has it and served since.
	step := func(from, to int, want string, keys ...fsstore.Key) {
		t.Helper()
		for _, f := range files {
			if f.first >= from && f.first < to {
				f.replace(t, f.path, keysFileText(keys...))
			}
		}
		for _, h := range hosts[from:to] {
			h.waitKeys(t, want)
			h.progress(t)
		}
	}
	n := len(hosts)
	step(0, n, "1 1,2", k1, k2)
	if lag {
		last := files[len(files)-1].first
		step(0, last, "2 1,2", k2, k1)
		// The host the rollout has not reached says so (docs/operations.md,
		// "A host behind the hosts' newest key"), and seals under key 1
		// while the pass rewrites its sessions.
		hosts[last].waitBehind(t, "1 2")
		rekeyOnce(t, dir, k2, k1)
		step(last, n, "2 1,2", k2, k1)
		hosts[last].waitBehind(t, "none")
	} else {
		step(0, n, "2 1,2", k2, k1)
	}
	rekeyUntilDone(t, dir, k2, k1)
	step(0, n, "2 2", k2)
	total := map[string]int{}
	for _, h := range hosts {
		n, errs := h.finish(t)
		for _, e := range errs {
			t.Errorf("host whose keys file is written by %s: %s", h.keys, e)
		}
		for id, v := range n {
			total[id] += v
		}
	}
	s2, err := fsstore.Open(dir, fsstore.WithKeys(k2), fsstore.WithCreate(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, id := range ids {
		sess, err := s2.Load(context.Background(), id)
		if err != nil {
			t.Errorf("session %s after the rotation: %v", id[:6], err)
			continue
		}
		n, err := counterOf(sess)
		if err != nil {
			t.Fatal(err)
		}
		if n != total[id] {
			t.Errorf("session %s: counter %d, want %d (increments lost or doubled)", id[:6], n, total[id])
		}
	}
	for _, id := range idle {
		if sess, err := s2.Load(context.Background(), id); err != nil || string(sess.Data) != "idle" {
			t.Errorf("idle session %s after the rotation: %v", id[:6], err)
		}
	}
	all := append(ids, idle...)
	if got := recordKeys(t, s2, all); !maps.Equal(got, map[uint32]int{2: len(all)}) {
		t.Errorf("records by key after the rotation: %v, want all %d under key 2", got, len(all))
	}
}

// TestRotationStaleHostAfterRekey: docs/operations.md's rotation, with a
// host that step 2 missed and that served nothing while the rekey ran
// (out of the load balancer, an instance scaled in and out again). The
// rekey's passes end with "rewrote 0 records", and the host then seals
// its sessions under key 1 again: retiring key 1 then would log those
// users out. The one sign is the state that host reports
// (Store.NewestKeyBehind, sessfs_newest_key_behind) from within a minute
// of the rotation, long before SessfsNewestKeyBehind fires: the docs'
// steps 3 and 4 must have the operator check it. Once the host has the
// file, a rekey again leaves nothing under key 1.
func TestRotationStaleHostAfterRekey(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	s, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	session := func() string {
		id := newID(t)
		if err := s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("0")}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	freshIDs, staleIDs := []string{session(), session()}, []string{session(), session()}
	freshKeys, staleKeys := filepath.Join(t.TempDir(), "keys"), filepath.Join(t.TempDir(), "keys")
	start := func(keys string, ids []string) *rotationHost {
		writeFile0600(t, keys, keysFileText(k1))
		c := proctest.Start(t, "TestRotationHelper", rotationEnv, "serve",
			[]string{"STORE_DIR=" + dir, "STORE_KEYS=" + keys, "STORE_IDS=" + strings.Join(ids, ",")})
		c.Expect(t, "serving")
		return &rotationHost{c: c, keys: keys}
	}
	fresh, stale := start(freshKeys, freshIDs), start(staleKeys, staleIDs)

	// Step 1 everywhere; step 2 misses the stale host, which says so.
	for _, h := range []*rotationHost{fresh, stale} {
		renameOver(t, h.keys, keysFileText(k1, k2))
		h.waitKeys(t, "1 1,2")
	}
	renameOver(t, freshKeys, keysFileText(k2, k1))
	fresh.waitKeys(t, "2 1,2")
	stale.waitBehind(t, "1 2")
	fresh.waitBehind(t, "none")

	// Step 3 while the stale host serves nothing: the passes end with
	// nothing left, as the docs say to wait for.
	stale.c.Send(t, "pause")
	stale.c.Expect(t, "paused")
	rekeyUntilDone(t, dir, k2, k1)
	all := append(append([]string{}, freshIDs...), staleIDs...)
	if got := recordKeys(t, s, all); !maps.Equal(got, map[uint32]int{2: len(all)}) {
		t.Fatalf("records by key after the rekey: %v, want all under key 2", got)
	}
	stale.c.Send(t, "resume")
	stale.c.Expect(t, "resumed")
	stale.progress(t)
	if got := recordKeys(t, s, staleIDs); got[1] == 0 {
		t.Fatalf("records of the stale host by key after its requests: %v, want some under key 1", got)
	}
	// What step 4 must check first: the stale host still says it is
	// behind, after the rekey reported success.
	stale.waitBehind(t, "1 2")

	// The fix the docs give: the file, then the rekey again.
	renameOver(t, staleKeys, keysFileText(k2, k1))
	stale.waitKeys(t, "2 1,2")
	stale.waitBehind(t, "none")
	stale.progress(t)
	rekeyUntilDone(t, dir, k2, k1)
	for _, h := range []*rotationHost{fresh, stale} {
		renameOver(t, h.keys, keysFileText(k2))
		h.waitKeys(t, "2 2")
		h.progress(t)
	}
	for _, h := range []*rotationHost{fresh, stale} {
		if _, errs := h.finish(t); len(errs) > 0 {
			t.Errorf("host of %s: %q", h.keys, errs)
		}
	}
	if got := recordKeys(t, s, all); !maps.Equal(got, map[uint32]int{2: len(all)}) {
		t.Errorf("records by key after the rotation: %v, want all under key 2", got)
	}
}
