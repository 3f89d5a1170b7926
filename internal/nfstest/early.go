package nfstest

import (
	"flag"
	"fmt"
	"os"
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

// early holds the runs Start began, by test name, until their tests
// claim them. Start and Run of one test binary share it, as its TestMain
// and its tests do.
var early struct {
	mu   sync.Mutex
	runs map[string]*earlyRun
}

type earlyRun struct {
	cfg  Config
	done chan struct{} // closed when run is set
	run  *guestRun
}

// Start boots the guests of the tests in runs that this run of the test
// binary selects (-test.run, -test.skip), one after another in the order
// given, in the background; each test's Run then waits for its guest's
// results rather than booting one when the test is reached. Call it from
// TestMain, before m.Run, and the returned wait after m.Run.
//
// A package's NFS tests used to wait, guest lock and all, for every test
// before them, and its other tests for its guests: Start lets the two
// overlap (the package's tests and its guests share the machine as they
// do with other packages' tests and guests under go test ./...).
//
// Outside Linux, without the harness, in the guest, or for a test that
// -test.run does not select, it does nothing, and Run works as without it.
// wait waits for the guests still running (a test that failed or skipped
// before its Run leaves one) and removes the results no test claimed.
func Start(runs ...Early) (wait func()) {
	if InGuest() || Available() != nil {
		return func() {}
	}
	if !flag.Parsed() {
		flag.Parse()
	}
	if flagValue("test.list") != "" {
		return func() {}
	}
	var deadline time.Time
	hasDeadline := false
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if d, ok := g.Get().(time.Duration); ok && d > 0 {
				deadline, hasDeadline = time.Now().Add(d), true
			}
		}
	}
	type todo struct {
		name string
		e    *earlyRun
	}
	var list []todo
	early.mu.Lock()
	if early.runs == nil {
		early.runs = map[string]*earlyRun{}
	}
	for _, r := range runs {
		l := r.Config.lease()
		if r.Config.Hosts < 1 || r.Config.Hosts > 26 || l < 5*time.Second || l%time.Second != 0 || !selected(r.Test) {
			continue // Run reports a bad Config itself
		}
		if _, dup := early.runs[r.Test]; dup {
			continue
		}
		e := &earlyRun{cfg: r.Config, done: make(chan struct{})}
		early.runs[r.Test] = e
		list = append(list, todo{r.Test, e})
	}
	early.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for _, td := range list {
			var logs []string
			logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
			state, err := os.MkdirTemp("", "nfstest-"+sanitize(td.name)+"-")
			if err != nil {
				td.e.run = &guestRun{err: err}
			} else {
				td.e.run = bootGuest(td.name, td.e.cfg, td.e.cfg.Hosts, state, deadline, hasDeadline, logf)
			}
			td.e.run.logs = logs
			close(td.e.done)
		}
	}()
	return func() {
		<-finished
		early.mu.Lock()
		defer early.mu.Unlock()
		for _, td := range list {
			if early.runs[td.name] == td.e { // never claimed
				delete(early.runs, td.name)
				if td.e.run.state != "" {
					os.RemoveAll(td.e.run.state)
				}
			}
		}
	}
}

// takeEarly returns the run Start began for the test name with cfg on n
// hosts, and forgets it (a test run twice boots its second guest itself);
// nil if there is none.
func takeEarly(name string, cfg Config, n int) *earlyRun {
	early.mu.Lock()
	defer early.mu.Unlock()
	e := early.runs[name]
	if e == nil || e.cfg != cfg || e.cfg.Hosts != n {
		return nil
	}
	early.runs[name] = nil
	return e
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
