//go:build unix

package main_test

// These tests run the built sessgc binary, as cron does. TestMain builds it
// once into a temp directory; child processes (a lock holder) are this test
// binary re-executed with SESSFS_TEST_SESSGC_ROLE set.
// They are Unix-only (every _test.go file here is), as they use Unix users,
// signals, file modes and inode numbers; sessgc's Windows build cannot open
// a store anyway.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdtest"
	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/root"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

var sessgcBin string

// envAsSessgc makes this test binary run as sessgc (root.Main) instead of
// its tests. The tests do not use it: they run the binary TestMain builds,
// as the test binary re-executed would be race-instrumented under go test
// -race and take 2.5 times as long. The call keeps sessgc's code in the
// test binary all the same: go test's cache keys on the test binary's
// content, in which sessgc's packages were otherwise dead code, so that a
// change to them alone left a cached result of these tests standing.
const envAsSessgc = "SESSFS_TEST_AS_SESSGC"

func TestMain(m *testing.M) {
	if os.Getenv(envAsSessgc) != "" {
		os.Exit(root.Main())
	}
	if role := os.Getenv("SESSFS_TEST_SESSGC_ROLE"); role != "" {
		os.Exit(child(role))
	}
	if bin := os.Getenv(envBin); bin != "" && nfstest.InGuest() {
		// A host of the NFS harness: the parent built the binary.
		sessgcBin = bin
		os.Exit(m.Run())
	}
	if nfstest.StartChild() {
		// The process that runs the early guest (below): the parent
		// built the binary, and named it in the environment.
		nfstest.Start(sessgcGuest)
		os.Exit(2) // not reached: Start's child exits in it
	}
	dir, err := os.MkdirTemp("", "sessgc-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// World-searchable, so the binary also runs as an unprivileged user in
	// the permission tests.
	os.Chmod(dir, 0o755)
	sessgcBin = filepath.Join(dir, "sessgc")
	if out, err := exec.Command("go", "build", "-o", sessgcBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sessgc: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// With NFSTEST_EARLY=1 (CI) the NFS test's guest boots now and runs
	// beside the tests before it, rather than after them (see
	// nfstest.Start): in CI it is the first guest of go test ./..., and
	// every other guest waits for it, while those tests took 60-75 s of a
	// loaded machine. Its hosts run the binary built above, named in the
	// environment that the guests' process and the hosts inherit.
	os.Setenv(envBin, sessgcBin)
	wait := nfstest.Start(sessgcGuest)
	code := m.Run()
	wait()
	os.RemoveAll(dir)
	os.Exit(code)
}

// child runs a helper role in a separate process.
func child(role string) int {
	switch role {
	case "lowfd":
		return execLowFD()
	case "apapp":
		if err := apApp(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "holdlocks":
		// Hold the locks of the sessions in SESSFS_TEST_SESSGC_IDS until stdin
		// closes, like requests in progress on another host.
		s, err := fsstore.Open(os.Getenv("SESSFS_TEST_SESSGC_DIR"), fsstore.WithCreate(false))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var held []*fsstore.Locked
		for _, id := range strings.Split(os.Getenv("SESSFS_TEST_SESSGC_IDS"), ",") {
			l, err := s.Lock(context.Background(), id, fsstore.Exclusive)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			held = append(held, l)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		for _, l := range held {
			l.Unlock()
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

// ---- helpers ----

var old = time.Now().Add(-48 * time.Hour)

type store struct {
	t   *testing.T
	dir string
	s   *fsstore.Store
}

func newStore(t *testing.T, opts ...fsstore.Option) *store {
	t.Helper()
	dir := t.TempDir()
	opts = append([]fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone)}, opts...)
	s, err := fsstore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &store{t: t, dir: dir, s: s}
}

// mtimes returns the records' modification times, their last activity,
// by session ID.
func (st *store) mtimes(ids []string) map[string]time.Time {
	st.t.Helper()
	m := make(map[string]time.Time, len(ids))
	for _, id := range ids {
		fi, err := os.Stat(st.path(id))
		if err != nil {
			st.t.Fatal(err)
		}
		m[id] = fi.ModTime()
	}
	return m
}

// keptMtimes reports each record whose modification time is no longer
// the one in before: a rewrite that is not activity must keep it.
func (st *store) keptMtimes(ids []string, before map[string]time.Time) {
	st.t.Helper()
	for id, mt := range st.mtimes(ids) {
		if !mt.Equal(before[id]) {
			st.t.Errorf("%s: mtime %v, want its last activity %v kept", id, mt, before[id])
		}
	}
}

// save stores n new sessions and returns their IDs.
func (st *store) save(n int) []string {
	st.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := fsstore.NewID()
		if err != nil {
			st.t.Fatal(err)
		}
		if err := st.s.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("payload " + id)}); err != nil {
			st.t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// nameOf derives a record's file name from its ID. The derivation is part of
// the on-disk format (changing it would orphan every stored session), so the
// tests may repeat it.
func nameOf(id string) (name string, stripe uint32) {
	sum := sha256.Sum256([]byte("sessfs-name\x00" + id))
	return hex.EncodeToString(sum[:16]), binary.BigEndian.Uint32(sum[12:16])
}

// path returns the record file of id in a depth-1 store.
func (st *store) path(id string) string {
	name, _ := nameOf(id)
	return filepath.Join(st.dir, fsstore.DataDir, name[:2], name)
}

// expire gives the records of ids an mtime 48 hours in the past.
func (st *store) expire(ids ...string) {
	st.t.Helper()
	for _, id := range ids {
		setMtime(st.t, st.path(id), old)
	}
}

// sizes returns the size on disk of the records of ids, added up.
func (st *store) sizes(ids ...string) int64 {
	st.t.Helper()
	var n int64
	for _, id := range ids {
		info, err := os.Stat(st.path(id))
		if err != nil {
			st.t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

func (st *store) exists(id string) bool {
	_, err := os.Lstat(st.path(id))
	return err == nil
}

func setMtime(t *testing.T, p string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p string, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	setMtime(t, p, mtime)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

type result struct {
	stdout, stderr string
	code           int
}

// command prepares the binary with a clean SESSGC_* environment plus env.
func command(args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(sessgcBin, args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SESSGC_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running sessgc: %v", err)
	return -1
}

func runGC(t *testing.T, args []string, env ...string) result {
	t.Helper()
	return runCmd(t, command(args, env...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{out.String(), errb.String(), exitCode(t, err)}
}

// summary checks that every stdout line is a JSON object and returns the
// last one, the summary, decoded generically and into typed fields.
func summary(t *testing.T, r result) (map[string]any, jsonSummary) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("stdout line %d is not JSON: %q\nstderr: %s", i+1, l, r.stderr)
		}
	}
	last := []byte(lines[len(lines)-1])
	var m map[string]any
	var s jsonSummary
	if err := json.Unmarshal(last, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(last, &s); err != nil {
		t.Fatal(err)
	}
	if s.Event != "summary" {
		t.Fatalf("last line is not the summary: %s", last)
	}
	return m, s
}

// jsonSummary mirrors the documented summary fields.
type jsonSummary struct {
	Event          string   `json:"event"`
	Dir            string   `json:"dir"`
	DryRun         bool     `json:"dry_run"`
	Skipped        bool     `json:"skipped"`
	SkipReason     string   `json:"skip_reason"`
	StoppedEarly   bool     `json:"stopped_early"`
	StopReason     string   `json:"stop_reason"`
	Scanned        int64    `json:"scanned"`
	Live           int64    `json:"live"`
	LiveBytes      int64    `json:"live_bytes"`
	Removed        int64    `json:"removed"`
	Sessions       int64    `json:"sessions"`
	Temps          int64    `json:"temps"`
	Leases         int64    `json:"leases"`
	BytesFreed     int64    `json:"bytes_freed"`
	SkippedLocked  int64    `json:"skipped_locked"`
	SkippedRenewed int64    `json:"skipped_renewed"`
	Restored       int64    `json:"restored"`
	Foreign        int64    `json:"foreign"`
	Errors         int64    `json:"errors"`
	ErrorSamples   []string `json:"error_samples"`
	Error          string   `json:"error"`
	DurationSecs   float64  `json:"duration_seconds"`
	FilesPerSecond float64  `json:"files_per_second"`
	ExitCode       int      `json:"exit_code"`
}

// snapshot lists every file under dir with its size and mtime, and every
// directory by name. It leaves out what any store user creates: the lock
// directory's dot files (probe, fleet lock) and stripe lock files (created on
// first lock, never removed), and directory mtimes (the lock probe and the
// server-clock probe create and remove temp files).
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, fsstore.LockDir+"/.") || isStripe(rel) {
			return nil
		}
		if d.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %d", rel, info.Mode(), info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// lines streams a command's stdout lines into a channel.
func lines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// waitLine waits for a line containing want; the deadline only guards
// against a hang.
func waitLine(t *testing.T, ch <-chan string, want string) string {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("output ended before a line containing %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-deadline.C:
			t.Fatalf("no line containing %q", want)
		}
	}
}

// fixture is a store with every kind of file a sweep must judge.
type fixture struct {
	*store
	live, expired           []string
	staleTemp, freshTemp    string
	staleLease, brokenLease string
	freshLease              string
	foreign                 []string // files the store did not write
	expiredRecordBytes      int64
	liveRecordBytes         int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: newStore(t)}
	f.live = f.save(5)
	f.expired = f.save(5)
	f.expire(f.expired...)
	f.expiredRecordBytes = f.sizes(f.expired...)
	f.liveRecordBytes = f.sizes(f.live...)
	shard := filepath.Dir(f.path(f.live[0]))
	locks := filepath.Join(f.dir, fsstore.LockDir)
	f.staleTemp = filepath.Join(shard, ".tmp-crashed-writer")
	f.freshTemp = filepath.Join(shard, ".tmp-inflight-writer")
	f.staleLease = filepath.Join(locks, "0abc.lease")
	f.brokenLease = filepath.Join(locks, "0abd.lease.broken-0123")
	f.freshLease = filepath.Join(locks, "0abe.lease")
	writeFile(t, f.staleTemp, "partial", old)
	writeFile(t, f.freshTemp, "partial", time.Now())
	writeFile(t, f.staleLease, deadLease(), old)
	writeFile(t, f.brokenLease, "garbage owner record", old)
	writeFile(t, f.freshLease, "garbage owner record", time.Now())
	f.foreign = []string{
		filepath.Join(f.dir, "README"),
		filepath.Join(f.dir, fsstore.DataDir, "notes.txt"),
		filepath.Join(shard, "sess_0123456789abcdef"), // a PHP session file
		filepath.Join(shard, "subdir", "file"),
		filepath.Join(locks, "owner.txt"),
		filepath.Join(f.dir, "ab", "0123456789abcdef0123456789abcdef"), // record-like, outside data/
	}
	for _, p := range f.foreign {
		writeFile(t, p, "not the store's", old)
	}
	return f
}

// deadLease is the owner record a lease holder that died leaves: expired an
// hour before now. (A lease file without a record is dated by its ctime,
// which a test cannot set back.)
func deadLease() string {
	s := fmt.Sprintf("sessfs-lease 1 token=0123456789abcdef0123456789abcdef expires=%019d pid=%010d host=gone", time.Now().Add(-time.Hour).UnixNano(), 1)
	return s + strings.Repeat(" ", 159-len(s)) + "\n"
}

// ---- tests ----

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	before := snapshot(t, f.dir)
	for _, args := range [][]string{
		{"run", "--dir", f.dir, "--dry-run", "-c", "1"},
		{"run", "--dir", f.dir, "--dry-run", "--json", "-c", "1"},
		{"--dir", f.dir, "-n", "-v", "--json", "-c", "1"}, // default command, short flags
		{"-v", "-n", "--dir", f.dir, "-c", "1"},           // -v first: run's verbose, not a version flag
	} {
		r := runGC(t, args)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if after := snapshot(t, f.dir); !equal(before, after) {
			t.Fatalf("%v changed the store:\nbefore %v\nafter  %v", args, before, after)
		}
		if !contains(args, "--json") {
			for _, id := range f.expired {
				if !strings.Contains(r.stdout, "would remove session "+f.path(id)) {
					t.Errorf("%v: dry run does not list %s:\n%s", args, f.path(id), r.stdout)
				}
			}
			continue
		}
		_, s := summary(t, r)
		if !s.DryRun || s.Sessions != 5 || s.Temps != 1 || s.Leases != 2 || s.Removed != 8 {
			t.Errorf("%v: summary %+v", args, s)
		}
		if n := strings.Count(r.stdout, `"event":"would-remove"`); n != 8 {
			t.Errorf("%v: %d would-remove lines, want 8", args, n)
		}
	}
}

func TestRunRemovesExactlyTheExpired(t *testing.T) {
	f := newFixture(t)
	// One worker: with several, two workers can contend for one lock stripe
	// and skip a session (see TestOnePassRemovesAllWithConcurrency).
	r := runGC(t, []string{"run", "--dir", f.dir, "--json", "--concurrency", "1"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	m, s := summary(t, r)
	for _, id := range f.expired {
		if f.exists(id) {
			t.Errorf("expired session %s kept", f.path(id))
		}
	}
	for _, id := range f.live {
		got, err := f.s.Load(context.Background(), id)
		if err != nil || string(got.Data) != "payload "+id {
			t.Errorf("live session lost: %v", err)
		}
	}
	for _, c := range []struct {
		path string
		keep bool
	}{
		{f.staleTemp, false}, {f.brokenLease, false}, {f.staleLease, false},
		{f.freshTemp, true}, {f.freshLease, true}, {filepath.Join(f.dir, fsstore.MarkerFile), true},
	} {
		if exists(c.path) != c.keep {
			t.Errorf("%s: exists=%v, want %v", c.path, exists(c.path), c.keep)
		}
	}
	for _, p := range f.foreign {
		if !exists(p) {
			t.Errorf("foreign file %s removed", p)
		}
	}
	want := jsonSummary{
		Event: "summary", Dir: f.dir, Live: 5, LiveBytes: f.liveRecordBytes, Removed: 8, Sessions: 5, Temps: 1, Leases: 2,
		Foreign:      6, // every file in f.foreign, as stats counts them (ab/ and subdir/ once each)
		ErrorSamples: []string{},
	}
	got := s
	got.Scanned, got.BytesFreed, got.DurationSecs, got.FilesPerSecond = 0, 0, 0, 0
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if s.BytesFreed < f.expiredRecordBytes || s.Scanned < 10 || s.DurationSecs <= 0 {
		t.Errorf("summary figures %+v", s)
	}
	for _, k := range []string{"event", "dir", "dry_run", "skipped", "stopped_early", "scanned", "live", "live_bytes", "removed",
		"sessions", "temps", "leases", "bytes_freed", "skipped_locked", "skipped_renewed", "foreign",
		"errors", "error_samples", "duration_seconds", "files_per_second", "exit_code"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary lacks documented field %q", k)
		}
	}

	// A second run finds nothing to do and says so in one line.
	r = runGC(t, []string{"--dir", f.dir})
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "removed 0 files") {
		t.Errorf("second run: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r = runGC(t, []string{"--dir", f.dir, "--quiet"}); r.code != 0 || r.stdout+r.stderr != "" {
		t.Errorf("--quiet run printed %q %q (exit %d)", r.stdout, r.stderr, r.code)
	}
}

func TestVerboseListsRemovals(t *testing.T) {
	st := newStore(t)
	ids := st.save(3)
	st.expire(ids[:2]...)
	r := runGC(t, []string{"--dir", st.dir, "-v", "-c", "1"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, id := range ids[:2] {
		if !strings.Contains(r.stdout, "removed session "+st.path(id)) {
			t.Errorf("-v does not list %s:\n%s", st.path(id), r.stdout)
		}
	}
	if strings.Contains(r.stdout, st.path(ids[2])) || strings.Contains(r.stderr, "\r") {
		t.Errorf("unexpected output:\n%s\n%q", r.stdout, r.stderr)
	}
}

// TestQuietExcludesListing: --quiet with --dry-run, -v or --json, which
// ask for output, is a usage error naming both flags, and nothing is
// swept: --quiet won over none of them, and each run listed every
// removal, or printed its JSON summary. So are both as SESSGC_*
// variables, and SESSGC_DRY_RUN=true with -q, which the flag does not
// override (the run would remove files).
func TestQuietExcludesListing(t *testing.T) {
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"-q", "--dry-run"}, nil, "--quiet and --dry-run exclude each other"},
		{[]string{"--quiet", "-v"}, nil, "--quiet and --verbose exclude each other"},
		{[]string{"-q", "--json"}, nil, "--quiet and --json exclude each other"},
		{nil, []string{"SESSGC_QUIET=true", "SESSGC_VERBOSE=true"}, "SESSGC_QUIET=true and SESSGC_VERBOSE=true exclude each other"},
		{[]string{"-q"}, []string{"SESSGC_DRY_RUN=true"}, "--quiet and SESSGC_DRY_RUN=true exclude each other"},
	} {
		t.Run(strings.Join(append(tc.env, tc.args...), " "), func(t *testing.T) {
			r := runGC(t, append([]string{"run", "--dir", st.dir}, tc.args...), tc.env...)
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, and %q", r.code, r.stdout, r.stderr, tc.want)
			}
			for _, id := range ids {
				if !st.exists(id) {
					t.Fatalf("%s removed despite the usage error", st.path(id))
				}
			}
		})
	}
}

// TestFlagOverridesExcludedVariable: a flag on the command line overrides
// the SESSGC_* variable of a flag it excludes, as it overrides its own:
// "sessgc run --dry-run" typed in a job's environment with
// SESSGC_QUIET=true lists what it would remove, and "--json" prints the
// summary; both were usage errors (exit 2), and a -q --json printed JSON.
func TestFlagOverridesExcludedVariable(t *testing.T) {
	st := newStore(t)
	ids := st.save(2)
	st.expire(ids...)
	r := runGC(t, []string{"run", "--dir", st.dir, "--dry-run"}, "SESSGC_QUIET=true")
	if r.code != 0 || !strings.Contains(r.stdout, "would remove session "+st.path(ids[0])) {
		t.Fatalf("dry run: exit %d, stdout %q, stderr %q; want 0 and the listing", r.code, r.stdout, r.stderr)
	}
	if !st.exists(ids[0]) || !st.exists(ids[1]) {
		t.Fatal("the dry run removed sessions")
	}
	r = runGC(t, []string{"run", "--dir", st.dir, "--json"}, "SESSGC_QUIET=true")
	if _, s := summary(t, r); r.code != 0 || s.Sessions != 2 {
		t.Errorf("--json: exit %d, %+v, stderr %q; want 0 and the summary of 2 sessions removed", r.code, s, r.stderr)
	}
}

// Expired sessions go whether another process holds their lock or not: a
// request cannot revive an expired session (Touch refuses it), and the
// holder's Save recreates it. The lock only orders requests.
func TestLockedByAnotherProcessIsRemoved(t *testing.T) {
	st := newStore(t)
	ids := st.save(12)
	st.expire(ids...)
	locked := ids[:3]

	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), "SESSFS_TEST_SESSGC_ROLE=holdlocks", "SESSFS_TEST_SESSGC_DIR="+st.dir,
		"SESSFS_TEST_SESSGC_IDS="+strings.Join(locked, ","))
	holder.Stderr = os.Stderr
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := lines(t, holder)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); holder.Wait() }()
	waitLine(t, out, "locked")

	r := runGC(t, []string{"--dir", st.dir, "--json", "-c", "1"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	_, s := summary(t, r)
	for _, id := range ids {
		if st.exists(id) {
			t.Errorf("expired session kept: %s", st.path(id))
		}
	}
	if s.Sessions != int64(len(ids)) || s.SkippedLocked != 0 {
		t.Errorf("sessions = %d, skipped_locked = %d; want %d and 0", s.Sessions, s.SkippedLocked, len(ids))
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRenewedDuringSweepIsKept renews sessions, as requests would, while
// a sweep removes them: every session renewed stays, with its new data;
// every other one goes; and the counts add up to the removals reported.
//
// The sweep takes no session lock to remove a record its mtime says is
// expired (see fsstore.Sweep): it moves the record aside, checks that it
// is the file it judged, unchanged, and unlinks it. So a request holding
// the lock that saw the record can still save after the sweep moved the
// record aside or removed it. Its Save writes the session anew: renewed
// and intact, while the sweep removed the expired record it judged and
// counts it in Sessions. Such a session is both renewed and removed, so
// the two do not add up to the sessions saved; one of them is made to
// happen below (raced), and any other renewal may meet it by chance under
// load. What is checked is what matters: each renewed session intact,
// each other one removed, and Sessions equal to the removals reported,
// none reported twice.
//
// Once the sweep is under way (its first removal reported), sessgc and
// its worker are stopped (SIGSTOP) while the sessions are renewed, and
// let go on after: no renewal races the clock against the sweep's
// progress, where a sweep that finished first (a loaded machine) failed
// the test. The low rate only keeps the sweep from removing every
// session between its first report and the stop.
func TestRenewedDuringSweepIsKept(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	ids := st.save(40)
	st.expire(ids...)
	cmd := command([]string{"--dir", st.dir, "--json", "-v", "--rate", "10", "--concurrency", "1"})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // sessgc and its worker
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out := lines(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	outLines := []string{waitLine(t, out, `"event":"remove"`)} // the sweep is under way
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}

	// renew saves id, as a request would: under its lock, if its record
	// is there.
	renew := func(id string) bool {
		l, err := st.s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlock()
		if !st.exists(id) {
			return false
		}
		if err := l.Save(ctx, &fsstore.Session{ID: id, Data: []byte("renewed")}); err != nil {
			t.Fatal(err)
		}
		return true
	}

	// raced: a request that holds the lock of a session whose record it
	// saw saves only once the sweep removed the record (neither its name
	// nor its aside name left).
	var raced string
	var racedLock *fsstore.Locked
	for _, id := range ids {
		l, err := st.s.Lock(ctx, id, fsstore.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		if st.exists(id) {
			raced, racedLock = id, l
			break
		}
		l.Unlock()
	}
	if raced == "" {
		t.Fatal("the sweep removed every session before one could be renewed; lower --rate")
	}
	racedDone := make(chan error, 1)
	go func() {
		defer racedLock.Unlock()
		p := st.path(raced)
		aside := filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))
		deadline := time.Now().Add(60 * time.Second) // guards against a hang only
		for exists(p) || exists(aside) {
			if time.Now().After(deadline) {
				racedDone <- fmt.Errorf("the sweep did not remove %s", p)
				return
			}
			time.Sleep(time.Millisecond)
		}
		racedDone <- racedLock.Save(ctx, &fsstore.Session{ID: raced, Data: []byte("renewed")})
	}()

	// Renew every other session still there, then let the sweep go on.
	var renewed []string
	for _, id := range ids {
		if id != raced && renew(id) {
			renewed = append(renewed, id)
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := <-racedDone; err != nil {
		t.Fatal(err)
	}
	renewed = append(renewed, raced)
	for l := range out {
		outLines = append(outLines, l)
	}
	code := exitCode(t, cmd.Wait())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var s jsonSummary
	if err := json.Unmarshal([]byte(outLines[len(outLines)-1]), &s); err != nil {
		t.Fatal(err)
	}
	removed := map[string]int{} // record path: removals reported
	var nRemoved int64
	for _, l := range outLines {
		var r struct{ Event, Path, Kind string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if r.Event == "remove" && r.Kind == "session" {
			removed[r.Path]++
			nRemoved++
		}
	}
	for p, n := range removed {
		if n != 1 {
			t.Errorf("%s reported removed %d times", p, n)
		}
	}
	if s.Sessions != nRemoved {
		t.Errorf("summary counts %d sessions removed, %d removals reported", s.Sessions, nRemoved)
	}
	isRenewed := map[string]bool{}
	bothWays := 0
	for _, id := range renewed {
		isRenewed[id] = true
		if removed[st.path(id)] != 0 {
			bothWays++ // its expired record removed, the session saved anew
		}
		got, err := st.s.Load(ctx, id)
		if err != nil || string(got.Data) != "renewed" {
			t.Errorf("session renewed during the sweep lost: %v", err)
		}
	}
	if removed[st.path(raced)] != 1 {
		t.Errorf("the record of %s, saved after the sweep removed it, reported removed %d times, want 1", raced, removed[st.path(raced)])
	}
	for _, id := range ids {
		if isRenewed[id] {
			continue
		}
		if removed[st.path(id)] != 1 {
			t.Errorf("expired session %s not renewed: removal reported %d times, want 1", id, removed[st.path(id)])
		}
		if _, err := st.s.Load(ctx, id); !errors.Is(err, fsstore.ErrNotFound) {
			t.Errorf("expired session %s not renewed: Load: %v, want ErrNotFound", id, err)
		}
	}
	if len(renewed) == 1 {
		t.Fatal("the sweep finished before any other session could be renewed; lower --rate")
	}
	t.Logf("renewed %d of %d mid-sweep, %d of them after the sweep removed their expired record; summary %+v",
		len(renewed), len(ids), bothWays, s)
}

func TestFleetLockOneSweepAtATime(t *testing.T) {
	st := newStore(t)
	ids := st.save(60)
	st.expire(ids...)
	// At 0.05 removals a second A removes one record at once and the
	// next 20 s later: it is still sweeping, at the first, when B's runs
	// and its SIGTERM come, however long they take. At 5 a second it
	// ended in 12 s, which B's four runs can take on a loaded machine.
	a := command([]string{"--dir", st.dir, "--json", "-v", "--rate", "0.05"})
	var aErr bytes.Buffer
	a.Stderr = &aErr
	aOut := lines(t, a)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Process.Kill()
	waitLine(t, aOut, `"event":"remove"`) // A holds the fleet lock and sweeps

	// B: same cron line, here on the same host (a run by hand, a sweep
	// longer than the cron interval), as on another: one line, exit 0,
	// nothing done. The line said "another host is sweeping", and sent
	// the operator looking at the other hosts.
	before := snapshotCount(t, st.dir)
	r := runGC(t, []string{"--dir", st.dir})
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "another sessgc is sweeping "+st.dir+", on this host or another") {
		t.Errorf("second sweep: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runGC(t, []string{"--dir", st.dir, "--json"})
	if _, s := summary(t, r); r.code != 0 || !s.Skipped || s.SkipReason != "fleet-lock-held" || s.Scanned != 0 {
		t.Errorf("second sweep --json: exit %d, %+v", r.code, s)
	}
	if r := runGC(t, []string{"--dir", st.dir, "-q"}); r.code != 0 || r.stdout != "" {
		t.Errorf("second sweep --quiet: exit %d, %q", r.code, r.stdout)
	}
	// A may remove a record meanwhile; B must not have added more than
	// A's share: B scanned nothing (checked above).
	_ = before

	// --no-fleet-lock sweeps anyway.
	r = runGC(t, []string{"--dir", st.dir, "--json", "--no-fleet-lock", "--dry-run"})
	if _, s := summary(t, r); r.code != 0 || s.Skipped || s.Scanned == 0 {
		t.Errorf("--no-fleet-lock: exit %d, %+v", r.code, s)
	}

	// SIGTERM (systemd stopping the unit) stops A cleanly: it reports
	// what it did, releases the lock, and exits 143 (128 + SIGTERM).
	if err := a.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var last string
	for l := range aOut {
		last = l
	}
	if code := exitCode(t, a.Wait()); code != 143 {
		t.Errorf("interrupted sweep exit %d, want 143; stderr %s", code, aErr.String())
	}
	var s jsonSummary
	if err := json.Unmarshal([]byte(last), &s); err != nil || !s.StoppedEarly || s.StopReason != "interrupted" || s.ExitCode != 143 {
		t.Errorf("interrupted sweep summary %q (%v)", last, err)
	}
	r = runGC(t, []string{"--dir", st.dir, "--json"})
	if _, s := summary(t, r); r.code != 0 || s.Skipped {
		t.Errorf("after A stopped: exit %d, %+v", r.code, s)
	}
}

func isStripe(rel string) bool {
	name, ok := strings.CutPrefix(rel, fsstore.LockDir+"/")
	if !ok || len(name) != 4 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

func snapshotCount(t *testing.T, dir string) int { t.Helper(); return len(snapshot(t, dir)) }

func TestMaxDurationStopsEarly(t *testing.T) {
	st := newStore(t)
	ids := st.save(300)
	st.expire(ids...)
	// 300 removals at 20/s need 15 s; a 1 s budget cannot remove them all.
	r := runGC(t, []string{"--dir", st.dir, "--json", "--rate", "20", "--max-duration", "1s"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	_, s := summary(t, r)
	if !s.StoppedEarly || s.StopReason != "max-duration" || s.Removed >= 300 || s.Removed == 0 && s.Scanned == 0 {
		t.Errorf("summary %+v", s)
	}
	left := 0
	for _, id := range ids {
		if st.exists(id) {
			left++
		}
	}
	if int64(left) != 300-s.Sessions {
		t.Errorf("%d sessions left, summary says %d removed", left, s.Sessions)
	}
	// Human output says so too; SESSGC_* variables configure the run.
	r = runGC(t, []string{"run"}, "SESSGC_DIR="+st.dir, "SESSGC_RATE=20", "SESSGC_MAX_DURATION=500ms")
	if r.code != 0 || !strings.Contains(r.stdout, "stopped early: --max-duration 500ms spent") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestBadInput(t *testing.T) {
	good := newStore(t)
	goodIDs := good.save(2)
	good.expire(goodIDs...)

	notStore := t.TempDir()
	writeFile(t, filepath.Join(notStore, "old.txt"), "x", old)
	// A textfile written into the empty directory would make every later
	// run refuse it as not a store.
	emptyDir := t.TempDir()
	aFile := filepath.Join(t.TempDir(), "file")
	writeFile(t, aFile, "x", old)
	// A store no session was saved in yet: its data directory is empty.
	fresh := newStore(t)
	// A store made in another's data directory before fsstore refused to:
	// sessgc swept it, as the outer store's sweep never does.
	nested := newStore(t)
	nested.save(1)
	marker, err := os.ReadFile(filepath.Join(nested.dir, fsstore.MarkerFile))
	if err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(nested.dir, fsstore.DataDir)
	for _, d := range []string{fsstore.DataDir, fsstore.LockDir} {
		if err := os.Mkdir(filepath.Join(inner, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(inner, fsstore.MarkerFile), string(marker), time.Now())
	// The mount point above a store, given for the store.
	below := filepath.Join(t.TempDir(), "sessions")
	if err := os.Mkdir(below, 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := fsstore.Open(below); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	// A marker that is not a regular file: damaged, as fsstore sees it.
	fifoMarker := newStore(t).dir
	if err := os.Remove(filepath.Join(fifoMarker, fsstore.MarkerFile)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifoMarker, fsstore.MarkerFile), 0o600); err != nil {
		t.Fatal(err)
	}
	badMarker := newStore(t)
	badMarkerIDs := badMarker.save(1)
	badMarker.expire(badMarkerIDs...)
	if err := os.WriteFile(filepath.Join(badMarker.dir, fsstore.MarkerFile), []byte("sessfs-store 99\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  []string
		code int
		msg  string
	}{
		{"missing dir", []string{"--dir", filepath.Join(notStore, "nope")}, nil, 3, "does not exist"},
		{"not a directory", []string{"--dir", aFile}, nil, 3, "is not a directory"},
		{"not a store", []string{"--dir", notStore}, nil, 3, "is not a sessfs store"},
		{"not a store, stats", []string{"stats", "--dir", notStore}, nil, 3, "is not a sessfs store"},
		// Why --missing-ok did not skip it is said: the operator gave it.
		{"not a store, --missing-ok", []string{"--dir", notStore, "--missing-ok"}, nil, 3, "is not a sessfs store (no .sessfs file); refusing to touch it: it is not empty, and --missing-ok skips only a missing or empty directory"},
		{"not a store, SESSGC_MISSING_OK", []string{"run", "--dir", notStore}, []string{"SESSGC_MISSING_OK=true"}, 3, "it is not empty, and --missing-ok skips only a missing or empty directory"},
		{"bad marker", []string{"--dir", badMarker.dir}, nil, 3, "has a .sessfs marker that this sessgc cannot use"},
		{"data directory of a store", []string{"--dir", filepath.Join(good.dir, fsstore.DataDir)}, nil, 3, "is part of a sessfs store"},
		{"empty data directory of a store, --missing-ok", []string{"--dir", filepath.Join(fresh.dir, fsstore.DataDir), "--missing-ok"}, nil, 3, "is part of a sessfs store"},
		{"shard directory of a store, stats", []string{"stats", "--dir", filepath.Dir(good.path(goodIDs[0]))}, nil, 3, "is part of a sessfs store"},
		{"store inside a store's data directory", []string{"--dir", inner}, nil, 3, "is part of a sessfs store"},
		{"lock directory of a store, dry run", []string{"--dir", filepath.Join(good.dir, fsstore.LockDir), "--dry-run"}, nil, 3, "is part of a sessfs store"},
		{"textfile in the store", []string{"--dir", good.dir, "--textfile", filepath.Join(good.dir, "sessgc.prom")}, nil, 2, "is inside the store directory"},
		{"textfile in an empty directory, --missing-ok", []string{"--dir", emptyDir, "--missing-ok", "--textfile", filepath.Join(emptyDir, "sessgc.prom")}, nil, 2, "is inside the store directory"},
		{"no dir", []string{"run"}, nil, 2, "pass --dir or set SESSGC_DIR"},
		{"no dir, stats", []string{"stats"}, nil, 2, "pass --dir or set SESSGC_DIR"},
		{"unknown flag", []string{"--dir", good.dir, "--bogus"}, nil, 2, "unknown flag: --bogus"},
		{"bad rate", []string{"--dir", good.dir, "--rate", "fast"}, nil, 2, "invalid argument \"fast\""},
		{"negative rate", []string{"--dir", good.dir, "--rate", "-1"}, nil, 2, "--rate -1"},
		{"rate not a number", []string{"--dir", good.dir, "--rate", "NaN"}, nil, 2, "--rate NaN"},
		{"bad concurrency", []string{"--dir", good.dir, "-c", "0"}, nil, 2, "--concurrency 0: want 1..64"},
		{"bad env", []string{"run"}, []string{"SESSGC_DIR=" + good.dir, "SESSGC_CONCURRENCY=many"}, 2, "SESSGC_CONCURRENCY=\"many\""},
		{"zero grace", []string{"--dir", good.dir, "--grace", "0"}, nil, 2, "--grace 0s"},
		{"extra argument", []string{"run", "--dir", good.dir, "extra"}, nil, 2, "takes no arguments"},
		{"unknown command", []string{"sweep"}, nil, 2, "unknown command"},
		{"mount point above a store", []string{"--dir", filepath.Dir(below)}, nil, 3, "is a store: pass --dir " + below},
		{"damaged marker, stats", []string{"stats", "--dir", fifoMarker}, nil, 3, "is not a sessfs store"},
		{"not a store, rekey", []string{"rekey", "--dir", notStore}, []string{"SESSGC_KEYS=" + keyLines("\n", newKey(t, 1))}, 3, "is not a sessfs store"},
		{"data directory of a store, rekey", []string{"rekey", "--dir", filepath.Join(good.dir, fsstore.DataDir)}, []string{"SESSGC_KEYS=" + keyLines("\n", newKey(t, 1))}, 3, "is part of a sessfs store"},
		{"bad marker, rekey", []string{"rekey", "--dir", badMarker.dir}, []string{"SESSGC_KEYS=" + keyLines("\n", newKey(t, 1))}, 3, "cannot use"},
		{"rekey without keys", []string{"rekey", "--dir", good.dir}, nil, 2, "no keys"},
		{"keygen argument", []string{"keygen", "extra"}, nil, 2, "takes no arguments"},
		{"install-cron, budget over the interval", []string{"install-cron", "--dir", good.dir, "--every", "1m", "--max-duration", "2m"}, nil, 2, "--max-duration 2m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, good.dir)
			r := runGC(t, tc.args, tc.env...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
			for _, l := range strings.Split(r.stderr, "\n") {
				if twice := saidTwice(l); twice != "" {
					t.Errorf("%q says %q twice", l, twice)
				}
			}
			if after := snapshot(t, good.dir); !equal(before, after) {
				t.Errorf("the store changed")
			}
		})
	}
	if entries, _ := os.ReadDir(notStore); len(entries) != 1 {
		t.Errorf("sessgc wrote into a directory that is not a store: %v", entries)
	}
	if entries, _ := os.ReadDir(emptyDir); len(entries) != 0 {
		t.Errorf("sessgc wrote into an empty directory: %v", entries)
	}
	if !badMarker.exists(badMarkerIDs[0]) {
		t.Errorf("a sweep of a store with a bad marker deleted a file")
	}
	// --json reports the failure as JSON too, and a run before the store
	// exists says why it did nothing.
	empty := t.TempDir()
	r := runGC(t, []string{"--dir", empty, "--missing-ok", "--json"})
	if m, s := summary(t, r); r.code != 0 || !s.Skipped || s.SkipReason != "no-store" || s.ExitCode != 0 || m["error"] != nil {
		t.Errorf("--missing-ok on an empty directory: exit %d, %+v", r.code, s)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("sessgc wrote into an empty directory: %v", entries)
	}

	r = runGC(t, []string{"--dir", notStore, "--json"})
	if _, s := summary(t, r); r.code != 3 || s.ExitCode != 3 || !strings.Contains(s.Error, "not a sessfs store") {
		t.Errorf("--json on a non-store: exit %d, %+v", r.code, s)
	}
	if _, s := summary(t, r); saidTwice(s.Error) != "" {
		t.Errorf("--json on a non-store: error %q says %q twice", s.Error, saidTwice(s.Error))
	}
}

// saidTwice returns a run of three words that msg says twice (a wrapped
// error repeating what the message around it said: "is not a sessfs
// store ...: not a sessfs store"), or "". Words are compared without case
// and without the punctuation around them.
func saidTwice(msg string) string {
	var words []string
	for _, w := range strings.Fields(msg) {
		if w = strings.ToLower(strings.Trim(w, ".,;:()[]\"'")); w != "" {
			words = append(words, w)
		}
	}
	seen := make(map[string]bool)
	for i := 0; i+3 <= len(words); i++ {
		run := strings.Join(words[i:i+3], " ")
		if seen[run] {
			return run
		}
		seen[run] = true
	}
	return ""
}

// asUnprivileged runs cmd as nobody when the tests run as root (root
// ignores permission bits); otherwise as the current user.
func asUnprivileged(cmd *exec.Cmd) {
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
}

// openUp makes dir and its parents searchable by everyone, so that an
// unprivileged process reaches the store.
func openUp(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o005 != 0o005 {
			if err := os.Chmod(d, info.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestUnreadableAndReadOnlyStores(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perm    fs.FileMode // of the store directory and data/
		filePer fs.FileMode
		msg     string
	}{
		{"unreadable", 0o700, 0o600, "may not read and write the store"},
		{"read-only", 0o755, 0o644, "may not read and write the store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t, fsstore.WithPermissions(0o644, 0o755))
			ids := st.save(3)
			st.expire(ids...)
			openUp(t, filepath.Dir(st.dir))
			if os.Getuid() != 0 {
				// Same user: take the write (and read) bits away instead.
				tc.perm &^= 0o200
				t.Cleanup(func() { os.Chmod(st.dir, 0o755); os.Chmod(filepath.Join(st.dir, fsstore.DataDir), 0o755) })
				if tc.name == "unreadable" {
					tc.perm = 0o100
				}
			}
			for _, d := range []string{st.dir, filepath.Join(st.dir, fsstore.DataDir)} {
				if err := os.Chmod(d, tc.perm); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshotAsRoot(st.dir)
			for _, args := range [][]string{{"--dir", st.dir}, {"--dir", st.dir, "--dry-run"}, {"stats", "--dir", st.dir}} {
				cmd := command(args)
				asUnprivileged(cmd)
				r := runCmd(t, cmd)
				code, msg := 3, tc.msg
				if args[0] == "stats" && tc.name == "read-only" {
					// Read access is all a census needs
					// (TestStatsWithReadAccessOnly).
					code, msg = 0, "counted without writing to it"
				}
				if r.code != code || !strings.Contains(r.stderr, msg) {
					t.Errorf("%v: exit %d, stderr %q; want %d and %q", args, r.code, r.stderr, code, msg)
				}
				if twice := saidTwice(r.stderr); r.code != 0 && twice != "" {
					t.Errorf("%v: stderr %q says %q twice", args, r.stderr, twice)
				}
			}
			for _, id := range ids {
				if !st.exists(id) {
					t.Errorf("%s deleted from an unusable store", st.path(id))
				}
			}
			if after := snapshotAsRoot(st.dir); before != after {
				t.Errorf("store changed")
			}
		})
	}
}

// TestMissingOKUnreadableDir: an empty store directory that sessgc cannot
// list or search is no missing store: with --missing-ok too it exits 3 and
// writes nothing there. Run as root, the binary runs as nobody, whom the
// modes hold (root is not held by them); run as another user, the modes
// hold that user as the directory's owner.
func TestMissingOKUnreadableDir(t *testing.T) {
	for _, mode := range []fs.FileMode{0, 0o300} {
		t.Run(fmt.Sprintf("%04o", uint32(mode)), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			openUp(t, filepath.Dir(dir))
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			cmd := command([]string{"run", "--dir", dir, "--missing-ok", "--json"})
			asUnprivileged(cmd)
			r := runCmd(t, cmd)
			if _, s := summary(t, r); r.code != 3 || s.ExitCode != 3 || s.Skipped {
				t.Errorf("exit %d, summary %+v, stderr %q; want exit 3, not skipped", r.code, s, r.stderr)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("sessgc wrote into the directory: %v", entries)
			}
		})
	}
}

func snapshotAsRoot(dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !strings.Contains(p, "/"+fsstore.LockDir+"/.") {
			fmt.Fprintln(&b, p)
		}
		return nil
	})
	return b.String()
}

func TestStatsCommand(t *testing.T) {
	f := newFixture(t)
	before := snapshot(t, f.dir)
	r := runGC(t, []string{"stats", "--dir", f.dir, "--json"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stats --json is not JSON: %v\n%s", err, r.stdout)
	}
	for k, want := range map[string]float64{
		"live": 5, "expired": 5, "temps": 2, "stale_temps": 1, "leases": 3, "stale_leases": 2,
		"shard_depth": 1, "lock_stripes": 1024, "shard_capacity": 256, "errors": 0,
		"foreign": 6, // README and ab/ at the top, data/notes.txt, the PHP file and subdir in the shard, owner.txt in locks/
	} {
		if rep[k] != want {
			t.Errorf("%s = %v, want %v", k, rep[k], want)
		}
	}
	for _, k := range []string{"oldest_expiry", "newest_expiry", "total_bytes", "min_shard_files", "max_shard_files", "mean_shard_files", "duration_seconds", "lock_files", "restorable"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("stats --json lacks %q", k)
		}
	}
	if after := snapshot(t, f.dir); !equal(before, after) {
		t.Errorf("stats changed the store")
	}
	r = runGC(t, []string{"stats", "--dir", f.dir})
	if r.code != 0 || !strings.Contains(r.stdout, "5 live") || !strings.Contains(r.stdout, "5 expired") {
		t.Errorf("exit %d, %s", r.code, r.stdout)
	}
}

// A live session that a sweep which died midway left aside is a live
// session to stats, and one the next run restores: stats says so, in
// both outputs, and the run that follows reports what stats predicted.
func TestStatsCountsRestorable(t *testing.T) {
	st := newStore(t)
	ids := st.save(2)
	p := st.path(ids[0])
	if err := os.Rename(p, filepath.Join(filepath.Dir(p), ".tmp-gc-"+filepath.Base(p))); err != nil {
		t.Fatal(err)
	}
	r := runGC(t, []string{"stats", "--dir", st.dir})
	if want := "2 live"; r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "1 of the live held aside by an interrupted sweep") {
		t.Errorf("exit %d, %q; want %q and the one held aside", r.code, r.stdout, want)
	}
	r = runGC(t, []string{"stats", "--dir", st.dir, "--json"})
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stats --json is not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 0 || rep["live"] != 2.0 || rep["restorable"] != 1.0 {
		t.Errorf("exit %d, live %v, restorable %v; want 2, 1", r.code, rep["live"], rep["restorable"])
	}
	_, sum := summary(t, runGC(t, []string{"run", "--dir", st.dir, "--json"}))
	if sum.Live != 1 || sum.Restored != 1 {
		t.Errorf("the run after it: live %d, restored %d; stats predicted 1, 1", sum.Live, sum.Restored)
	}
}

func TestHelpAndCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "Exit codes:"},
		{[]string{"run", "--help"}, "sessgc run --dir /mnt/efs/sessions --dry-run"},
		// The reference text run --help and rekey --help point to.
		{[]string{"help", "run-passes"}, "--missing-ok is for jobs"},
		{[]string{"help", "rekey-keys"}, "OpenSSH's StrictModes"},
		{[]string{"rekey", "--help"}, "141 for SIGPIPE"},
		{[]string{"stats", "-h"}, "--json"},
		{[]string{"completion", "bash"}, "bash completion"},
		{[]string{"install-cron"}, "run --dir /srv/sessions --quiet"},
		// TestMain builds with the machine's GOFLAGS, so the version part
		// varies; internal/consumertest checks it for installs and clones.
		{[]string{"--version"}, "sessgc "},
		{[]string{"--help"}, "130  interrupted"},
		// Exit 3 lists read-only and root on another user's store, which
		// stats counts read-only and exits 0 (TestReadOnlyMount).
		{[]string{"--help"}, "stats counts such a store\n       read-only, exit 0"},
	} {
		r := runGC(t, tc.args)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%v: exit %d, missing %q in %q (stderr %q)", tc.args, r.code, tc.want, r.stdout, r.stderr)
		}
	}
	// A leading -v selects the default command (run's --verbose), so the
	// root's help must not offer it as the version: "sessgc -v" swept.
	if r := runGC(t, []string{"--help"}); strings.Contains(r.stdout, "-v, --version") {
		t.Errorf("--help lists -v as the version flag, but sessgc -v runs a sweep:\n%s", r.stdout)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func contains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// TestOnePassRemovesAllWithConcurrency: with several workers, two expired
// sessions on the same lock stripe can be judged at once; a worker must not
// mistake its sibling's lock for a request's and skip the session. With one
// stripe for all sessions, one pass must remove all of them.
func TestOnePassRemovesAllWithConcurrency(t *testing.T) {
	st := newStore(t, fsstore.WithLockStripes(1)) // every session on one stripe
	ids := st.save(400)
	st.expire(ids...)
	r := runGC(t, []string{"--dir", st.dir, "--json", "-c", "4"})
	_, s := summary(t, r)
	if s.Sessions != 400 || s.SkippedLocked != 0 {
		t.Errorf("one pass with nobody else holding locks removed %d of 400, skipped %d as locked", s.Sessions, s.SkippedLocked)
	}
}

// TestSignalExitCodes interrupts a real sessgc process in the middle of a
// slow sweep: it stops cleanly, prints its summary, and exits with 128 plus
// the signal's number, as a shell reports a command it interrupted, in the
// process status and in the summary alike.
//
// The signal goes to the process, as kill or a supervisor sends it, or to
// its whole process group, as a terminal's Ctrl-C or systemd's stop does:
// then sessgc's worker process gets it twice (directly and passed on by
// the parent), and must still stop cleanly. SIGHUP, which the closing
// terminal or ssh session of an operator running sessgc by hand sends its
// process group, stops it so too (exit 129): it killed both processes at
// once, with no summary, no textfile and a record left aside.
func TestSignalExitCodes(t *testing.T) {
	for _, tc := range []struct {
		sig   syscall.Signal
		group bool
		code  int
	}{
		{syscall.SIGINT, false, 130},
		{syscall.SIGTERM, false, 143},
		{syscall.SIGHUP, false, 129},
		{syscall.SIGINT, true, 130},
		{syscall.SIGTERM, true, 143},
		{syscall.SIGHUP, true, 129},
	} {
		t.Run(fmt.Sprintf("%v/group=%v", tc.sig, tc.group), func(t *testing.T) {
			cmdtest.HangupDefault(t)
			st := newStore(t)
			st.expire(st.save(60)...)
			prom := filepath.Join(t.TempDir(), "sessgc.prom")
			cmd := command([]string{"run", "--dir", st.dir, "--json", "-v", "--rate", "5", "--textfile", prom})
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			out := lines(t, cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			waitLine(t, out, `"event":"remove"`)
			pid := cmd.Process.Pid
			if tc.group {
				pid = -pid
			}
			if err := syscall.Kill(pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			var last string
			for l := range out {
				last = l
			}
			if code := exitCode(t, cmd.Wait()); code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			var s jsonSummary
			if err := json.Unmarshal([]byte(last), &s); err != nil || s.StopReason != "interrupted" || s.ExitCode != tc.code {
				t.Errorf("summary %q (%v)", last, err)
			}
			if want := "sessgc: interrupted by " + cmdutil.SignalName(tc.sig) + " after"; !strings.Contains(errb.String(), want) {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
			if m := promFile(t, prom, st.dir); m["sessgc_last_run_exit_code"] != float64(tc.code) || m["sessgc_stopped_early"] != 1 {
				t.Errorf("textfile: exit code %v, stopped early %v; want %d, 1", m["sessgc_last_run_exit_code"], m["sessgc_stopped_early"], tc.code)
			}
		})
	}
}

// TestStdoutClosed: "sessgc run -v | head" ends the reader early, and the
// next line sessgc writes meets a closed pipe. The Go runtime then killed
// the worker with SIGPIPE where it stood (exit 141, no --textfile, a
// record maybe left aside); now a closed standard output stops the pass
// cleanly, as a signal does: exit 141, summary on stderr, textfile
// written.
func TestStdoutClosed(t *testing.T) {
	st := newStore(t)
	st.expire(st.save(60)...)
	prom := filepath.Join(t.TempDir(), "sessgc.prom")
	cmd := command([]string{"run", "--dir", st.dir, "-v", "--rate", "5", "--textfile", prom})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, "removed session") {
		t.Fatalf("first line %q (%v)", line, err)
	}
	r.Close() // as head does after its lines
	if code := exitCode(t, cmd.Wait()); code != 141 {
		t.Errorf("exit %d, want 141; stderr %q", code, errb.String())
	}
	if !strings.Contains(errb.String(), "sessgc: interrupted by SIGPIPE after") {
		t.Errorf("stderr %q; want the interruption", errb.String())
	}
	if m := promFile(t, prom, st.dir); m["sessgc_last_run_exit_code"] != 141 || m["sessgc_stopped_early"] != 1 {
		t.Errorf("textfile: exit code %v, stopped early %v; want 141, 1", m["sessgc_last_run_exit_code"], m["sessgc_stopped_early"])
	}
	if temps, _ := filepath.Glob(filepath.Join(st.dir, fsstore.DataDir, "*", ".tmp-*")); len(temps) > 0 {
		t.Errorf("records left aside: %v", temps)
	}
}
