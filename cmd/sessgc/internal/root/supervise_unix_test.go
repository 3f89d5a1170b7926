//go:build unix

package root

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeReport is a report pipe that holds rep (done: the report, or the
// pipe's end), and is ready once ready is closed.
type fakeReport struct {
	ready chan struct{}
	rep   string
	done  bool
}

func newFakeReport() *fakeReport { return &fakeReport{ready: make(chan struct{})} }

func (r *fakeReport) Ready() <-chan struct{} { return r.ready }
func (r *fakeReport) Read() (string, bool)   { return r.rep, r.done }

// set puts rep in the pipe, and the pipe's watcher sees it.
func (r *fakeReport) set(rep string) {
	r.rep, r.done = rep, true
	close(r.ready)
}

// fakeChild is a worker that reports exit code 0 as soon as it is
// signalled: it stopped cleanly, its summary written.
type fakeChild struct {
	reported *fakeReport
	killed   bool
}

func (c *fakeChild) Signal(os.Signal) error { c.reported.set("0"); return nil }
func (c *fakeChild) Kill() error            { c.killed = true; return nil }
func (c *fakeChild) Wait() error            { return nil }
func (c *fakeChild) Ended() (syscall.WaitStatus, bool, bool) {
	return 0, false, false
}

// TestSecondSignalAfterReport: a second Ctrl-C that comes with the
// worker's report, both there when the supervisor looks, is the end of a
// run that stopped cleanly: exit with the worker's code, no kill, and no
// word that no summary was written (the worker wrote it before its
// report). The supervisor's select took either at random, and half the
// time killed a worker that had finished and said it wrote nothing. The
// order is forced: the worker's report is in before the second signal is
// read, each of the rounds.
func TestSecondSignalAfterReport(t *testing.T) {
	for i := 0; i < 64; i++ {
		sig := make(chan os.Signal, 2)
		sig <- os.Interrupt
		c := &fakeChild{reported: newFakeReport()}
		// The second signal is queued only once the first is passed on
		// (and the report in): superviseWait reads the first alone.
		first := &orderedChild{fakeChild: c, then: func() { sig <- syscall.SIGINT }}
		code := superviseWait(sig, c.reported, first)
		if code != 0 || c.killed {
			t.Fatalf("round %d: second Ctrl-C with the report in: exit %d, killed %v; want the worker's exit 0, no kill", i, code, c.killed)
		}
	}
}

// orderedChild is a fakeChild that runs then after it reports.
type orderedChild struct {
	*fakeChild
	then func()
}

func (c *orderedChild) Signal(s os.Signal) error {
	err := c.fakeChild.Signal(s)
	c.then()
	return err
}

// stuckChild is a worker that died without reporting (its report pipe
// closed empty) and whose exit does not complete: the kernel's close of
// its files on an NFS hard mount waits for a server that is away. Wait
// returns once exit is closed; Kill changes nothing for a dying process.
type stuckChild struct {
	waiting chan struct{} // closed as Wait is called
	exit    chan struct{}
	signals int
	killed  bool
}

func (c *stuckChild) Signal(os.Signal) error { c.signals++; return nil }
func (c *stuckChild) Kill() error            { c.killed = true; return nil }
func (c *stuckChild) Wait() error {
	close(c.waiting)
	<-c.exit
	return nil
}

// Ended knows nothing of how the worker ended, as where its status cannot
// be read before its exit completes (not Linux).
func (c *stuckChild) Ended() (syscall.WaitStatus, bool, bool) { return 0, false, false }

// TestSecondSignalWorkerExitStuck: a worker that died without reporting,
// its exit stuck in the kernel and its status not known, leaves a second
// Ctrl-C its meaning: the supervisor gives up on it and exits at once,
// with the signal's code. It waited for the worker's exit with no signal
// read meanwhile, and sessgc hung, deaf to Ctrl-C, until the file server
// came back: the very hang the supervisor is there to spare. It says the
// worker died, not that it was killed before it stopped cleanly.
func TestSecondSignalWorkerExitStuck(t *testing.T) {
	sig := make(chan os.Signal, 2)
	reported := newFakeReport()
	reported.set("") // the pipe closed with no exit code: the worker died
	c := &stuckChild{waiting: make(chan struct{}), exit: make(chan struct{})}
	defer close(c.exit)
	done := make(chan int, 1)
	said := stderrOf(t, func() {
		go func() { done <- superviseWait(sig, reported, c) }()
		<-c.waiting
		sig <- os.Interrupt
		sig <- syscall.SIGINT
		select {
		case code := <-done:
			if want := 128 + int(syscall.SIGINT); code != want || !c.killed {
				t.Errorf("second Ctrl-C, the worker's exit stuck: exit %d, killed %v; want exit %d, killed", code, c.killed, want)
			}
		case <-time.After(time.Minute): // a hang detector only
			t.Fatal("second Ctrl-C, the worker's exit stuck: the supervisor did not return: it waits for the worker's exit, reading no signal")
		}
	})
	if want := "which died before it reported how the run ended and whose exit has not completed"; !strings.Contains(said, want) || strings.Contains(said, "killed before it stopped cleanly") {
		t.Errorf("stderr %q, want %q and no word of a kill before a clean stop", said, want)
	}
}

// writesReport is a worker that, signalled, writes its report (exit code
// 0) to the report pipe w and closes it, then runs then.
type writesReport struct {
	w      *os.File
	then   func()
	killed bool
}

func (c *writesReport) Signal(os.Signal) error {
	c.w.WriteString("0")
	c.w.Close()
	c.then()
	return nil
}
func (c *writesReport) Kill() error { c.killed = true; return nil }
func (c *writesReport) Wait() error { return nil }
func (c *writesReport) Ended() (syscall.WaitStatus, bool, bool) {
	return 0, false, false
}

// unwatched is a report pipe whose watcher has not run yet: it never
// says the pipe is ready.
type unwatched struct{ *pipeReport }

func (unwatched) Ready() <-chan struct{} { return nil }

// TestSecondSignalReportUnread: a second Ctrl-C that comes once the
// worker wrote its report, but before the supervisor's reader of the
// pipe passed it on, ends the run with the worker's code: the report is
// read from the pipe when the signal comes. The reader, a goroutine
// that read the pipe to its end and then passed the report on, had not
// run, and the supervisor said the worker was killed before it wrote a
// summary it had written (exit 130). The order is forced: the watcher
// of the pipe never runs.
func TestSecondSignalReportUnread(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sig := make(chan os.Signal, 2)
	sig <- os.Interrupt
	c := &writesReport{w: w, then: func() { sig <- syscall.SIGINT }}
	var code int
	said := stderrOf(t, func() {
		code = superviseWait(sig, unwatched{&pipeReport{fd: int(r.Fd())}}, c)
	})
	if code != 0 || c.killed || said != "" {
		t.Fatalf("second Ctrl-C with the report written, not yet read: exit %d, killed %v, stderr %q; want the worker's exit 0, no kill, nothing said", code, c.killed, said)
	}
}

// reportsOnWait is a worker that has not reported yet: it writes its
// report (exit code 0) to the report pipe w when it is waited for, or
// when report is called, whichever comes first, and exits 0.
type reportsOnWait struct {
	w    *os.File
	once sync.Once
}

func (c *reportsOnWait) report() {
	c.once.Do(func() {
		c.w.WriteString("0")
		c.w.Close()
	})
}
func (c *reportsOnWait) Signal(os.Signal) error { return nil }
func (c *reportsOnWait) Kill() error            { return nil }
func (c *reportsOnWait) Wait() error            { c.report(); return nil }
func (c *reportsOnWait) Ended() (syscall.WaitStatus, bool, bool) {
	return 0, false, false
}

// TestReportPipePollFails: a poll of the report pipe that fails (ENOMEM,
// the kernel short of memory for a moment) while the worker works says
// nothing of the worker, which goes on and reports: the supervisor exits
// with the worker's code, and says nothing. The watcher took the failure
// for the pipe's end and the supervisor for a worker that died
// unreported: it waited for the worker's exit (the wait on the file
// server that supervise is there to spare) and then said that a run that
// had ended well crashed, "a bug in sessgc", exit 5. The order is
// forced: the worker writes its report only once the supervisor polls
// again for ever, or waits for the worker.
func TestReportPipePollFails(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	c := &reportsOnWait{w: w}
	failed := false
	poll := func(fds []unix.PollFd, timeout int) (int, error) {
		if !failed {
			failed = true
			return 0, unix.ENOMEM
		}
		if timeout < 0 {
			c.report()
		}
		return unix.Poll(fds, timeout)
	}
	var code int
	said := stderrOf(t, func() {
		code = superviseWait(make(chan os.Signal), newPipeReport(int(r.Fd()), poll, nil), c)
	})
	if code != 0 || said != "" {
		t.Fatalf("a poll of the report pipe failed with ENOMEM, then the worker reported exit 0: exit %d, stderr %q; want exit 0, nothing said", code, said)
	}
}

// TestReportPipePollFailsForGood: a poll of the report pipe that fails
// every time (a kernel that refuses it for good) was tried again for
// ever, so the supervisor never returned, long after the worker had
// reported and exited. After maxPollFailures in a row it says so and
// waits for the worker's exit, then takes the report it left in the pipe.
func TestReportPipePollFailsForGood(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	c := &reportsOnWait{w: w}
	var polls atomic.Int64
	poll := func([]unix.PollFd, int) (int, error) {
		polls.Add(1)
		return 0, unix.EINVAL
	}
	done := make(chan int, 1)
	var said string
	go func() {
		var code int
		said = stderrOf(t, func() {
			code = superviseWait(make(chan os.Signal), newPipeReport(int(r.Fd()), poll, func(time.Duration) {}), c)
		})
		done <- code
	}()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(said, "cannot watch the worker process's report") {
			t.Fatalf("the report pipe's poll failing for good, the worker reporting exit 0 as it exits: exit %d, stderr %q; want exit 0 and the poll's failure said", code, said)
		}
	case <-time.After(time.Minute): // ends only a test that fails
		t.Fatalf("superviseWait still waiting after %d failed polls of the report pipe", polls.Load())
	}
}

// TestWorkerReportPipeNotInherited: what the worker runs (install-cron's
// "id -G USER") does not inherit its report pipe. The worker inherits
// the pipe without close-on-exec, as every descriptor passed to a child
// is, and passed it on: an id stuck on a directory service that does not
// answer, or a helper it left behind, held the pipe open after the worker
// died unreported (killed by the out-of-memory killer), and the
// supervisor waited for that process rather than for the worker.
func TestWorkerReportPipeNotInherited(t *testing.T) {
	if os.Getenv(envWorker) != "" {
		// The worker: what does a command it runs find on the pipe's
		// descriptor?
		worker()
		out, err := exec.Command("sh", "-c", "if { true >&3; } 2>/dev/null; then echo inherited; else echo closed; fi").Output()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("fd 3: %s", out)
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerReportPipeNotInherited$", "-test.count=1")
	cmd.ExtraFiles = []*os.File{w} // descriptor 3, as supervise passes it
	cmd.Env = append(os.Environ(), envWorker+"=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the worker: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "fd 3: closed") {
		t.Errorf("a command the worker ran found its report pipe open:\n%s", out)
	}
}
