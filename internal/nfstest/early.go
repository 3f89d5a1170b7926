package nfstest

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// Early names a test whose guest Start boots ahead of the test.
type Early struct {
	// Test is the top-level test's name, e.g. "TestNFSStore".
	Test string
	// Config is the Config the test passes to Run, exactly; Hosts must be
	// set. A test that passes another one boots a guest of its own.
	Config Config
}

// envStart hands a Start child its runs (startJob, JSON).
const envStart = "NFSTEST_START"

// EnvEarly set to 1 turns Start on.
const EnvEarly = "NFSTEST_EARLY"

// startJob is what the Start child does: the runs, in order, each with
// its state dir, and the parent's test deadline.
type startJob struct {
	Runs     []startRun
	Deadline time.Time // zero: none
}

type startRun struct {
	Test   string
	Config Config
	State  string
}

// startResult is a run's outcome, written by the child as
// startResultFile in the run's state dir.
type startResult struct {
	Code    int
	Timeout time.Duration
	Err     string
	Out     []byte
	Logs    []string
}

const startResultFile = "start-result.json"

// started holds the runs Start began, by test name, until their tests
// claim them: Start, called by TestMain, and Run, called by the tests,
// share it within one test binary.
var started struct {
	mu    sync.Mutex
	runs  map[string]*startedRun
	child chan struct{} // closed when the child has exited
	err   error         // how the child exited, once child is closed
}

type startedRun struct {
	cfg   Config
	state string
}

// Start boots, one after another, the guests of the tests in runs that
// this run of the test binary selects (-test.run, -test.skip), while the
// package's tests run; each test's Run then takes its guest's results
// rather than booting one when the test is reached. Call it from
// TestMain, before m.Run, and the returned wait after m.Run.
//
// Without it a package's NFS tests waited for every test before them, and
// its later tests for its guests: fsstore's unit tests took some 250 s of
// CI before its guests (as long again) could start. The guests share the
// machine with the package's tests as they do with other packages' under
// go test ./....
//
// A test reached while its guest still runs waits for it last: Run marks
// it parallel (t.Parallel, for a top-level test), so that the tests after
// it run beside its guest. In a CI run (2026-12-06, 2-core machine)
// fsstore's tests after TestNFSStore ran for some 58 s after its guest,
// the last one, had ended: the tail of the whole go test. Such a test must not call t.Setenv before Run.
//
// The guests run from a child process (this test binary again), started
// before m.Run: so the goroutines and file descriptors of this process
// do not grow while a test runs, and tests that check that they come back
// to what they were see nothing of Start.
//
// Outside Linux, without the harness, in the guest, or for a test that
// -test.run does not select, it does nothing, and Run works as without it.
// wait waits for the child (a test that failed or skipped before its Run
// leaves a guest running) and removes the results no test claimed.
func Start(runs ...Early) (wait func()) {
	if InGuest() || Available() != nil {
		return func() {}
	}
	if job := os.Getenv(envStart); job != "" {
		os.Exit(startChild(job))
	}
	if os.Getenv(EnvEarly) != "1" {
		// Off unless asked for: under go test ./... with its default
		// -p (one test binary per CPU), the binaries that wait for their
		// early guests hold go test's slots while other packages, whose
		// guests could run meanwhile, wait for one. On a 2-core machine
		// CI took 949 s with it against 824 s without; CI turns it on
		// with -p=4 (.ci/run).
		return func() {}
	}
	if !flag.Parsed() {
		flag.Parse()
	}
	if flagValue("test.list") != "" {
		return func() {}
	}
	var job startJob
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if d, ok := g.Get().(time.Duration); ok && d > 0 {
				job.Deadline = time.Now().Add(d)
			}
		}
	}
	started.mu.Lock()
	defer started.mu.Unlock()
	if started.runs != nil {
		return func() {} // one Start per test binary
	}
	started.runs = map[string]*startedRun{}
	for _, r := range runs {
		l := r.Config.lease()
		if r.Config.Hosts < 1 || r.Config.Hosts > 26 || l < 5*time.Second || l%time.Second != 0 || !selected(r.Test) {
			continue // Run reports a bad Config itself
		}
		if _, dup := started.runs[r.Test]; dup {
			continue
		}
		state, err := os.MkdirTemp("", "nfstest-"+sanitize(r.Test)+"-")
		if err != nil {
			continue // Run boots it
		}
		started.runs[r.Test] = &startedRun{cfg: r.Config, state: state}
		job.Runs = append(job.Runs, startRun{Test: r.Test, Config: r.Config, State: state})
	}
	removeUnclaimed := func() {
		started.mu.Lock()
		defer started.mu.Unlock()
		for name, r := range started.runs {
			if r != nil {
				os.RemoveAll(r.state)
				started.runs[name] = nil
			}
		}
	}
	if len(job.Runs) == 0 {
		return func() {}
	}
	b, err := json.Marshal(job)
	var cmd *exec.Cmd
	if err == nil {
		var exe string
		if exe, err = os.Executable(); err == nil {
			cmd = exec.Command(exe, os.Args[1:]...)
			cmd.Env = append(os.Environ(), envStart+"="+string(b))
			// Its output is each run's, in their state dirs; this goes to
			// the test binary's own.
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			err = cmd.Start()
		}
	}
	started.child = make(chan struct{})
	if err != nil {
		started.err = fmt.Errorf("nfstest: starting the guests' process: %w", err)
		close(started.child)
		return removeUnclaimed
	}
	go func() {
		err := cmd.Wait()
		started.mu.Lock()
		started.err = err
		started.mu.Unlock()
		close(started.child)
	}()
	return func() {
		<-started.child
		removeUnclaimed()
	}
}

// StartChild reports whether this process is the child that Start runs
// the guests from (this test binary again, which Start makes exit at
// once). A TestMain whose setup the guests need from the parent (a binary
// it builds, named in the environment, which the child inherits) skips
// that setup when StartChild holds and calls Start first.
func StartChild() bool { return os.Getenv(envStart) != "" && !InGuest() }

// startChild runs the guests of job (JSON) and writes each one's result
// to its state dir. It returns the process's exit code.
func startChild(job string) int {
	var j startJob
	if err := json.Unmarshal([]byte(job), &j); err != nil {
		fmt.Fprintf(os.Stderr, "nfstest: %s: %v\n", envStart, err)
		return 2
	}
	// The test binary's flags (-test.run, -test.skip) shape the guests' runs.
	if !flag.Parsed() {
		flag.Parse()
	}
	// Each run boots its guest once the one before it has its turn on
	// the machine-wide lock, so that it boots while that one runs (see
	// bootGuest), as a run of another test binary may.
	var prev chan struct{}
	var wg sync.WaitGroup
	for _, r := range j.Runs {
		turn := make(chan struct{})
		wg.Add(1)
		go func(prev chan struct{}) {
			defer wg.Done()
			if prev != nil {
				<-prev
			}
			var logs []string
			logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
			g := bootGuest(r.Test, r.Config, r.Config.Hosts, r.State, j.Deadline, !j.Deadline.IsZero(), func() { close(turn) }, logf)
			res := startResult{Code: g.code, Timeout: g.timeout, Out: g.out.Bytes(), Logs: logs}
			if g.err != nil {
				res.Err = g.err.Error()
			}
			b, err := json.Marshal(res)
			if err == nil {
				// Written whole, then renamed: the parent polls for the name.
				tmp := filepath.Join(r.State, startResultFile+".tmp")
				if err = os.WriteFile(tmp, b, 0o644); err == nil {
					err = os.Rename(tmp, filepath.Join(r.State, startResultFile))
				}
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "nfstest: %s: result: %v\n", r.Test, err)
			}
		}(prev)
		prev = turn
	}
	wg.Wait()
	return 0
}

// startPoll is how often Run looks for a Start run's result.
const startPoll = 100 * time.Millisecond

// takeStarted returns the guest run Start began for the test name with
// cfg on n hosts, once it has ended, and forgets it (a test run twice
// boots its second guest itself); nil if Start began none. If that run
// has not ended yet, it calls later before it waits for it.
func takeStarted(name string, cfg Config, n int, later func()) *guestRun {
	started.mu.Lock()
	r := started.runs[name]
	if r == nil || r.cfg != cfg || r.cfg.Hosts != n {
		started.mu.Unlock()
		return nil
	}
	started.runs[name] = nil
	child := started.child
	started.mu.Unlock()

	g := &guestRun{state: r.state}
	path := filepath.Join(r.state, startResultFile)
	if _, err := os.Stat(path); err != nil {
		later()
	}
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var res startResult
			if err := json.Unmarshal(b, &res); err != nil {
				g.err = fmt.Errorf("nfstest: %s: %w", path, err)
				return g
			}
			g.code, g.timeout, g.logs = res.Code, res.Timeout, res.Logs
			g.out.Write(res.Out)
			if res.Err != "" {
				g.err = errors.New(res.Err)
			}
			return g
		}
		select {
		case <-child:
			// It may have written the result just before it exited.
			if _, err := os.Stat(path); err == nil {
				continue
			}
			started.mu.Lock()
			g.err = fmt.Errorf("nfstest: the process that boots the package's guests ended before %s's: %v", name, started.err)
			started.mu.Unlock()
			return g
		case <-time.After(startPoll): // a file another process writes: no event to wait on
		}
	}
}

// selected reports whether go test's -test.run and -test.skip let the
// top-level test name run.
func selected(name string) bool {
	if run := flagValue("test.run"); run != "" {
		re, err := regexp.Compile(splitRunPattern(run)[0])
		if err != nil || !re.MatchString(name) {
			return false
		}
	}
	if skip := flagValue("test.skip"); skip != "" {
		// A pattern of one level skips top-level tests; with more, only
		// subtests.
		if p := splitRunPattern(skip); len(p) == 1 {
			if re, err := regexp.Compile(p[0]); err == nil && re.MatchString(name) {
				return false
			}
		}
	}
	return true
}
