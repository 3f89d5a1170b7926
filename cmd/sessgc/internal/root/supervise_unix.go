//go:build unix

package root

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// envWorker marks the process that does the work under supervise; its
// value is the descriptor on which it reports its exit code.
const envWorker = "SESSFS_SESSGC_WORKER_FD"

// supervise runs sessgc's work in a child process (this binary again) and
// returns the exit code the child reports, without waiting for the child
// to be gone; ok is false when the child could not be started (the caller
// then works in this process).
//
// Why a child: a process that exits while it holds files open on an NFS
// hard mount must close them on the way out, and the kernel's close of an
// NFSv4 file waits for the server's answer however the process is dying.
// With the server unreachable, sessgc's watchdog gave up on time but the
// process stayed in the kernel, unkillable, until the server came back.
// The child reports its exit code and closes its standard output and
// error before it exits; this process, which never opens the store,
// exits at once with that code, and the child's exit completes whenever
// the server answers.
func supervise() (code int, ok bool) {
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // descriptor 3
	cmd.Env = append(os.Environ(), envWorker+"=3")
	stopWithParent(cmd)
	// A signal is passed on to the child, which stops cleanly (Ctrl-C may
	// reach it from the terminal too: it treats repeats as one). A second
	// Ctrl-C or SIGTERM here gives up on the child: it is killed and this
	// process exits at once, as a second Ctrl-C kills a process that
	// hangs. A repeated SIGHUP or SIGPIPE is dropped, as InterruptContext
	// drops it: nobody sends those twice to mean it (a dropped ssh
	// session's SIGHUP comes from the shell and again from the kernel).
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, signals()...)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		return 0, false
	}
	w.Close()
	// superviseWait alone reads the read end (see pipeReport); r keeps it
	// open.
	return superviseWait(sig, newPipeReport(int(r.Fd()), nil, nil), childProcess{cmd}), true
}

// reportPipe is the worker's report pipe as superviseWait reads it.
type reportPipe interface {
	// Ready is closed once the pipe holds something to read: the report,
	// or its end.
	Ready() <-chan struct{}
	// Read returns, without waiting, what is in the pipe now: the
	// report (done), the pipe's end with no report (done, rep ""), or
	// nothing yet (not done).
	Read() (rep string, done bool)
}

// pipeReport is the read end of the report pipe. Its watcher only waits
// for the pipe to be readable and never reads: superviseWait alone does,
// so that what it finds in the pipe when it decides is what the worker
// wrote before that instant. With a goroutine that read the report and
// passed it on, a report written but not yet passed on was taken at a
// second signal for none: a worker that had finished, its summary and
// textfile written, was said to be killed before it wrote them.
type pipeReport struct {
	fd    int // non-blocking: Read never waits
	ready chan struct{}
	poll  func([]unix.PollFd, int) (int, error) // nil: unix.Poll
	sleep func(time.Duration)                   // nil: time.Sleep; the pause between failed polls
}

// maxPollFailures is how many polls of the report pipe in a row may fail
// before the watcher gives up on it (see waitReadable): with the pauses
// between them, half a minute or so.
const maxPollFailures = 40

// newPipeReport watches the pipe fd, which it makes non-blocking, with
// poll (nil: unix.Poll), pausing with sleep (nil: time.Sleep) after a
// poll that failed.
func newPipeReport(fd int, poll func([]unix.PollFd, int) (int, error), sleep func(time.Duration)) *pipeReport {
	unix.SetNonblock(fd, true) // if it fails, Read finds the pipe readable anyway
	r := &pipeReport{fd: fd, ready: make(chan struct{}), poll: poll, sleep: sleep}
	go func() {
		r.waitReadable()
		close(r.ready)
	}()
	return r
}

func (r *pipeReport) Ready() <-chan struct{} { return r.ready }

// Read reads what the worker wrote: its exit code in one write of a
// few bytes, which a pipe passes whole (a write of up to PIPE_BUF bytes
// is atomic), so the first read has all of it. It reads without polling
// first: a poll that failed was taken for the pipe's end.
func (r *pipeReport) Read() (string, bool) {
	var b [32]byte
	n, err := unix.Read(r.fd, b[:])
	for err == unix.EINTR {
		n, err = unix.Read(r.fd, b[:])
	}
	if err == unix.EAGAIN {
		return "", false // nothing yet
	}
	if err != nil || n <= 0 {
		return "", true // the end, or a pipe that cannot be read: no report
	}
	return strings.TrimSpace(string(b[:n])), true
}

// waitReadable waits for the pipe to be readable (data, or its writers
// gone), or to be no descriptor at all (then Read says so). A poll that
// fails otherwise (ENOMEM: the kernel short of memory for a moment) says
// nothing of the worker, which goes on: the poll is tried again, after a
// pause that grows to a second. Taken for the pipe's end, it had the
// supervisor wait for the worker's exit (the wait on the file server that
// supervise is there to spare) and then call a run that ended well a
// crash. A poll that keeps failing (maxPollFailures in a row) is given
// up on, said on stderr, where it looped for ever and the supervisor with
// it, past the worker's end: the supervisor then waits for the worker's
// exit and takes its report from the pipe after it (superviseWait).
func (r *pipeReport) waitReadable() {
	poll, sleep := r.poll, r.sleep
	if poll == nil {
		poll = unix.Poll
	}
	if sleep == nil {
		sleep = time.Sleep
	}
	pause := time.Millisecond
	for failed := 0; ; {
		p := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		n, err := poll(p, -1)
		switch {
		case err == nil && n > 0, err == unix.EBADF:
			return // POLLNVAL, a descriptor that is not open, is in Revents
		case err != nil && err != unix.EINTR:
			if failed++; failed == maxPollFailures {
				fmt.Fprintf(os.Stderr, "sessgc: cannot watch the worker process's report (poll: %v, %d times in a row): waiting for its exit to read it\n", err, failed)
				return
			}
			sleep(pause)
			pause = min(2*pause, time.Second)
		}
	}
}

// child is the worker process as superviseWait acts on it.
type child interface {
	Signal(os.Signal) error
	Kill() error
	Wait() error
	// Ended tells, without waiting or reaping, how the worker ended:
	// known, with its wait status, once that is decided (see exitNow);
	// reaped once Wait has reaped it, which then returns at once.
	Ended() (ws syscall.WaitStatus, known, reaped bool)
}

// childProcess is a started worker's command as a child.
type childProcess struct{ cmd *exec.Cmd }

func (c childProcess) Signal(s os.Signal) error { return c.cmd.Process.Signal(s) }
func (c childProcess) Kill() error              { return c.cmd.Process.Kill() }
func (c childProcess) Wait() error              { return c.cmd.Wait() }
func (c childProcess) Ended() (syscall.WaitStatus, bool, bool) {
	return exitNow(c.cmd.Process.Pid)
}

// superviseWait passes the first signal from sig on to the worker and
// returns the exit code it reports on rep, or, at a second Ctrl-C or
// SIGTERM, kills it and returns at once.
//
// What the second signal finds decides, not which of it and the report
// the select took first: a report in the pipe by then is the run's end
// (the worker wrote its summary and textfile before it, see report), and
// saying it was killed before it wrote them contradicted the summary just
// above; a worker that died without reporting, of a signal, is said to
// have died so (137 for SIGKILL), not to have been killed by this
// process, however far its Wait has got.
//
// A pipe closed with no code is a worker that died without reporting:
// its exit code is Wait's, which returns once its exit is complete. That
// may take as long as the file server is away (the kernel's close of its
// NFS files, the hang supervise is there for), so the wait goes on beside
// the signals, and a second Ctrl-C or SIGTERM still gives up at once.
func superviseWait(sig <-chan os.Signal, rep reportPipe, c child) int {
	ready, open := rep.Ready(), true // open: the pipe not yet read
	var waited chan error            // nil until the worker died without reporting
	// ended takes what the pipe held: the worker's code, or none, after
	// which Wait tells how it ended.
	ended := func(r string, _ bool) (code int, ok bool) {
		ready, open = nil, false
		if code, err := strconv.Atoi(r); err == nil {
			return code, true
		}
		waited = make(chan error, 1)
		go func() { waited <- c.Wait() }()
		return 0, false
	}
	signalled := false
	for {
		select {
		case s := <-sig:
			if signalled && s != os.Interrupt && s != syscall.SIGTERM {
				continue
			}
			if !signalled {
				signalled = true
				c.Signal(s)
				continue
			}
			if open {
				if r, done := rep.Read(); done {
					if code, ok := ended(r, done); ok {
						return code
					}
				}
			}
			code := cmdutil.ExitInterrupted
			if n, ok := s.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			if waited == nil {
				c.Kill()
				// Said, as the worker cut short says nothing: a clean
				// stop and one given up on must not look alike.
				fmt.Fprintf(os.Stderr, "sessgc: a second %s: the worker process was killed before it stopped cleanly: no summary or textfile was written; every removal or rewrite is atomic, and the next run puts back a record it left aside; exit %d\n", cmdutil.SignalName(s), code)
				return code
			}
			select {
			case err := <-waited:
				return unreported(err)
			default:
			}
			switch ws, known, reaped := c.Ended(); {
			case reaped:
				return unreported(<-waited) // Wait has it: no wait left
			case known:
				return unreportedStatus(ws, true, "")
			}
			c.Kill()
			fmt.Fprintf(os.Stderr, "sessgc: a second %s: gave up on the worker process, which died before it reported how the run ended and whose exit has not completed (the kernel closing its files on a file server that does not answer?): no summary or textfile was written; every removal or rewrite is atomic, and the next run goes on; exit %d\n", cmdutil.SignalName(s), code)
			return code
		case <-ready:
			// Done: the pipe was readable, and only this reads it.
			if code, ok := ended(rep.Read()); ok {
				return code
			}
		case err := <-waited:
			// A report the pipe holds now is the run's: its watcher gave
			// up (waitReadable) before the worker wrote it.
			if r, _ := rep.Read(); r != "" {
				if code, err := strconv.Atoi(r); err == nil {
					return code
				}
			}
			return unreported(err)
		}
	}
}

// unreported returns the exit code of a worker that ended without
// reporting one, given what Wait returned for it. Killed by a signal, it
// is 128 plus the signal's number, as a shell reports it, and a line on
// stderr says so: the worker printed nothing (no summary, no textfile),
// and cron mails only what a job prints, so an out-of-memory kill would
// go unseen. One of the signals that stop sessgc cleanly kills the worker
// only before it catches them, as it starts: that is an interruption.
// Otherwise the worker crashed: a panic or a Go runtime fatal error exits
// 2, which reads as a usage error ("fix the cron line"), so a crash has
// its own code, and says so after whatever the runtime printed.
func unreported(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return unreportedStatus(ws, ok, err.Error())
		}
	}
	status := "exit status 0"
	if err != nil {
		status = err.Error()
	}
	return unreportedStatus(0, false, status)
}

// unreportedStatus is unreported of the wait status ws, if known; status
// words it otherwise ("" for ws's own words).
func unreportedStatus(ws syscall.WaitStatus, known bool, status string) int {
	if known {
		if ws.Signaled() {
			sig := ws.Signal()
			code := 128 + int(sig)
			if slices.Contains(signals(), os.Signal(sig)) {
				fmt.Fprintf(os.Stderr, "sessgc: interrupted by %s as it started, before its work began\n", cmdutil.SignalName(sig))
				return code
			}
			cause := unix.SignalName(sig)
			if sig == syscall.SIGKILL {
				cause += " (kill -9 of its pid, or the kernel's out-of-memory killer)"
			}
			fmt.Fprintf(os.Stderr, "sessgc: the worker process died of %s before it reported how the run ended: no summary or textfile was written; every removal or rewrite is atomic, and the next run goes on; exit %d\n", cause, code)
			return code
		}
		if status == "" {
			status = fmt.Sprintf("exit status %d", ws.ExitStatus())
		}
	}
	fmt.Fprintf(os.Stderr, "sessgc: the worker process crashed (%s) without reporting how the run ended: a bug in sessgc; exit %d\n", status, cmdutil.ExitCrashed)
	return cmdutil.ExitCrashed
}

// worker, in the child, keeps sessgc's signals caught for good:
// the first one stops the work (cmdutil.InterruptContext); repeats, such
// as the parent passing on a Ctrl-C the terminal also sent here, are
// dropped, and it is the parent that gives up on a second one.
//
// It returns the report pipe's descriptor (-1: none, not a worker), which
// it makes close-on-exec, and takes the variable naming it out of the
// environment: the worker inherits the pipe as every descriptor passed to
// a child is inherited, open across exec, and what it runs (install-cron's
// "id -G USER") held the pipe too. An id stuck on a directory service, or
// a helper it left behind, then kept the pipe open after the worker died
// unreported, and the supervisor waited for that process, not the worker.
func worker() int {
	v := os.Getenv(envWorker)
	if v == "" {
		return -1
	}
	os.Unsetenv(envWorker)
	signal.Notify(make(chan os.Signal, 1), signals()...)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return -1 // not the supervisor's: never write to standard output or error
	}
	unix.CloseOnExec(fd)
	return fd
}

// report, in the child, closes standard output and error (so that whoever
// reads them sees the end now, not when the process is gone) and tells
// the supervising parent the exit code on fd (-1: there is none).
func report(fd, code int) {
	if fd < 0 {
		return
	}
	os.Stdout.Close()
	os.Stderr.Close()
	f := os.NewFile(uintptr(fd), "sessgc-status")
	f.WriteString(strconv.Itoa(code))
	f.Close()
}

// signals are the signals that stop sessgc cleanly: cmdutil's, and
// SIGPIPE, a standard output whose reader is gone ("sessgc run -v | head"),
// which would otherwise kill the worker mid-pass with no textfile. sessgc
// writes to no socket, where a caught SIGPIPE would stop it too.
func signals() []os.Signal { return append(cmdutil.InterruptSignals(), syscall.SIGPIPE) }
