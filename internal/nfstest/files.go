package nfstest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pollInterval is how often WaitFile and Barrier look again. Each look
// costs a few RPCs, so this is the floor of their latency.
const pollInterval = 20 * time.Millisecond

// cutDownBound bounds how long CutLink waits for the link to go down.
const cutDownBound = 60 * time.Second

// Dir returns a directory on the shared export for this test, the same path
// on every host (relative to each host's mount), and creates it. Outside the
// harness it fails the test.
func Dir(t testing.TB) string {
	t.Helper()
	if !InGuest() {
		t.Fatal("nfstest.Dir: not running as a harness host (use it inside a Run role)")
	}
	d := filepath.Join(Mount(), "nfstest", sanitize(t.Name()))
	if err := os.MkdirAll(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// SquashedDir is Dir on the second export (Config.Squashed): a directory
// there for this test, the same on every host. It fails the test outside
// the harness or in a guest without a second export.
func SquashedDir(t testing.TB) string {
	t.Helper()
	if !InGuest() || SquashedMount() == "" {
		t.Fatal("nfstest.SquashedDir: not running as a harness host of a guest with Config.Squashed (use it inside such a Run's role)")
	}
	d := filepath.Join(SquashedMount(), "nfstest", sanitize(t.Name()))
	if err := os.MkdirAll(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, name)
}

// Signal creates path (and its parent directories) atomically, by writing
// a temporary file and renaming it into place, so that a host that sees the
// name also sees the whole content. The content is this host's name.
func Signal(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%s-%d", path, Host(), os.Getpid())
	if err := os.WriteFile(tmp, []byte(Host()+"\n"), 0o666); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	Event("signalled %s", rel(path))
	return nil
}

// rel shortens a path on the export for the timeline.
func rel(path string) string {
	if r, err := filepath.Rel(Mount(), path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// WaitFile waits until path exists, or until ctx is done.
//
// Why not a plain os.Stat loop: the Linux NFS client caches a failed lookup
// (a negative dentry) until it sees the parent directory change, and it
// looks at the directory's attributes again only after they expire
// (acdirmin, 30 s by default). A host that looked for a file before another
// host created it may therefore go on seeing "not found" for tens of
// seconds. WaitFile forces a fresh GETATTR of the parent directory
// (statx with AT_STATX_FORCE_SYNC) before each look, which makes the client
// notice the change and redo the lookup; if the parent is missing too, it
// refreshes the nearest ancestor that exists. (Measured in the harness: a
// lookup cached this way hid a directory created by another host for 30 s.)
func WaitFile(ctx context.Context, path string) error {
	for {
		seen, err := Seen(path)
		if err != nil {
			return err
		}
		if seen {
			Event("saw %s", rel(path))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nfstest: waiting for %s: %w", path, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// Seen reports whether path exists, looking as WaitFile does each time:
// after a fresh GETATTR of its parent directory, or of the nearest
// ancestor this host sees when the parent itself is not seen yet. A plain
// os.Stat, or a RefreshDir of the parent alone, can miss for tens of
// seconds a file that another host created, in a directory it created
// too (see WaitFile).
func Seen(path string) (bool, error) {
	if err := refreshAncestors(filepath.Dir(path)); err != nil {
		return false, err
	}
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// refreshAncestors refreshes dir, and if dir itself is not (yet) seen, its
// parent, and so on up to the first directory that exists: a missing
// directory is a cached negative lookup in its parent just like a missing
// file, so refreshing only dir would leave it hidden.
func refreshAncestors(dir string) error {
	for {
		err := RefreshDir(dir)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		up := filepath.Dir(dir)
		if up == dir {
			return err
		}
		dir = up
	}
}

// Barrier blocks until every host of the harness (NFS_HOSTS of them) has
// reached the barrier of this name in this test, or fails t after timeout
// (default 60 s when zero). Use it to keep roles in step between phases.
func Barrier(t testing.TB, name string, timeout time.Duration) {
	t.Helper()
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	d := filepath.Join(Dir(t), ".barrier", sanitize(name))
	if err := Signal(filepath.Join(d, Host())); err != nil {
		t.Fatalf("nfstest: barrier %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i := 1; i <= Hosts(); i++ {
		if err := WaitFile(ctx, filepath.Join(d, HostName(i))); err != nil {
			t.Fatalf("nfstest: barrier %s: %s did not arrive: %v", name, HostName(i), err)
		}
	}
	Event("passed barrier %s", name)
}

// A Cut is a link cut requested with CutLink.
type Cut struct {
	host string
	id   string // control-file path without extension
}

// CutLink takes host's link to the server down for d, by asking the
// harness's control loop (in the server's namespace) to run `ip link set
// <server-side veth> down`, and returns once the link is down. The link
// comes back up by itself after d; Wait waits for that. A host may cut its
// own link: its NFS calls then block (hard mount) until the link returns,
// and if d exceeds the lease ([Lease]) the server expires its state.
func CutLink(host string, d time.Duration) (*Cut, error) {
	if hostIndex(host) == 0 || hostIndex(host) > Hosts() {
		return nil, fmt.Errorf("nfstest.CutLink: no host %q", host)
	}
	id := fmt.Sprintf("%s-%d-%d", Host(), os.Getpid(), time.Now().UnixNano())
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	return request(host, id, "cut "+host+" "+secs, fmt.Sprintf("cut %s for %v", host, d))
}

// StopServer stops the server's nfsd for d and returns once it is stopped;
// the harness starts it again after d, and Wait waits for that. Stopping
// nfsd forgets every client's opens and locks, as a server reboot does:
// the clients must reclaim them in the grace period that follows the
// restart (as long as the lease, [Lease]), and lose those they do not
// reclaim in time. Other hosts follow the same outage with [AwaitStop] and
// the same name, unique within the run.
func StopServer(name string, d time.Duration) (*Cut, error) {
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	return request("server", "stop-"+name, "nfsd-stop "+secs, fmt.Sprintf("stop nfsd for %v", d))
}

// AwaitStop waits until the server stop that another host started with
// StopServer(name, ...) has begun, and returns it, for Wait.
func AwaitStop(ctx context.Context, name string) (*Cut, error) {
	ctl := os.Getenv("NFS_CTL")
	if ctl == "" {
		return nil, errors.New("nfstest.AwaitStop: NFS_CTL not set (not running under nfs-harness.sh)")
	}
	c := &Cut{host: "server", id: filepath.Join(ctl, "stop-"+name)}
	if err := c.wait(ctx, ".down"); err != nil {
		return nil, err
	}
	Event("saw nfsd stopped (%s)", filepath.Base(c.id))
	return c, nil
}

// request hands one command line to the harness's control loop and waits
// until what it takes down is down.
func request(host, id, line, what string) (*Cut, error) {
	ctl := os.Getenv("NFS_CTL")
	if ctl == "" {
		return nil, fmt.Errorf("nfstest: %s: NFS_CTL not set (not running under nfs-harness.sh)", what)
	}
	c := &Cut{host: host, id: filepath.Join(ctl, id)}
	if err := os.WriteFile(c.id+".tmp", []byte(line+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(c.id+".tmp", c.id+".req"); err != nil {
		return nil, err
	}
	wakeControl()
	// Only a bound: the control loop looks at once, but each command in
	// UML costs a process creation, slow on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), cutDownBound)
	defer cancel()
	Event("asked to %s (%s)", what, filepath.Base(c.id))
	if err := c.wait(ctx, ".down"); err != nil {
		Event("%s: %v", what, err)
		return nil, err
	}
	Event("%s: down (%s)", what, filepath.Base(c.id))
	return c, nil
}

// Wait waits until the cut link (or the stopped server) is up again.
func (c *Cut) Wait(ctx context.Context) error {
	err := c.wait(ctx, ".up")
	if err != nil {
		Event("cut of %s: %v", c.host, err)
	} else {
		Event("%s is up again (%s)", c.host, filepath.Base(c.id))
	}
	return err
}

// Times returns when the harness began to take the link (or the server)
// down and to bring it up again, as the control files' modification times:
// the earliest moments the outage may have begun and ended, not when a
// poller noticed them. The harness changes links (and stops nfsd) without
// starting a process, so each change follows its stamp by moments even in
// a busy guest; a restarted nfsd may take seconds from its stamp to answer.
// Up is zero while it is still down; see Ready for the latest moment.
func (c *Cut) Times() (down, up time.Time) {
	if fi, err := os.Stat(c.id + ".down"); err == nil {
		down = fi.ModTime()
	}
	if fi, err := os.Stat(c.id + ".up"); err == nil {
		up = fi.ModTime()
	}
	return down, up
}

// Ready returns the latest moment the outage may have ended: for a stopped
// server, when the command that started nfsd again had returned (nfsd
// answered from some moment between Times' up and this one, seconds apart
// in a busy guest); for a link, Times' up. A bound on how soon something
// follows the outage's end is measured from here, so that it fails only
// when surely missed, as one on how late something precedes it is from
// Times' up. Zero while the outage lasts.
func (c *Cut) Ready() time.Time {
	if fi, err := os.Stat(c.id + ".ready"); err == nil {
		return fi.ModTime()
	}
	_, up := c.Times()
	return up
}

// wait polls the guest-local control dir (tmpfs, not NFS: no caching).
func (c *Cut) wait(ctx context.Context, ext string) error {
	for {
		if b, err := os.ReadFile(c.id + ".err"); err == nil {
			return fmt.Errorf("nfstest: cut %s: %s", c.host, strings.TrimSpace(string(b)))
		}
		if _, err := os.Stat(c.id + ext); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nfstest: cut %s: waiting for %s: %w", c.host, ext[1:], ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// SignalLocal sends the signal name of the test t through the guest-local
// control directory (NFS_CTL) rather than the export: a host whose link is
// cut sees it too. Another host waits for it with [Cut.EndOnSignal].
func SignalLocal(t testing.TB, name string) error {
	p, err := localSignal(t, name)
	if err != nil {
		return err
	}
	return Signal(p)
}

// localSignal is the file of t's local signal name: in NFS_CTL, named
// for the test (the same on every host) and with an ending the harness's
// control loop ignores.
func localSignal(t testing.TB, name string) (string, error) {
	ctl := os.Getenv("NFS_CTL")
	if ctl == "" {
		return "", errors.New("nfstest: NFS_CTL not set (not running under nfs-harness.sh)")
	}
	return filepath.Join(ctl, sanitize(t.Name())+"."+sanitize(name)+".sig"), nil
}

// Restore ends the cut now: it brings the link up at once and returns once
// it is up, and the cut's Wait then returns at once, with Times' up the
// restore's. A cut whose link is up already is left alone. It is for a
// scenario whose outage has done its work before its time is up: the link
// comes back sooner, and the scenario with it. A stopped server cannot be
// restored.
func (c *Cut) Restore(ctx context.Context) error {
	if c.host == "server" {
		return errors.New("nfstest: Restore: a stopped server comes back on its own time")
	}
	if _, up := c.Times(); !up.IsZero() {
		return nil
	}
	r := &Cut{host: c.host, id: c.id + "-restore"}
	if err := os.WriteFile(r.id+".tmp", []byte("restore "+c.host+" "+filepath.Base(c.id)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(r.id+".tmp", r.id+".req"); err != nil {
		return err
	}
	wakeControl()
	Event("asked to restore %s now (%s)", c.host, filepath.Base(c.id))
	if err := r.wait(ctx, ".up"); err != nil {
		return err
	}
	// The cut's own up: the restore's, unless its time was up first.
	return c.Wait(ctx)
}

// EndOnSignal waits until the test t's local signal name ([SignalLocal])
// has come from another host, or the cut has ended by itself, and then
// ends it ([Cut.Restore]) and returns once its link is up. A scenario
// whose cut must last until the other host has acted (taken over a lock
// the cut host's lease held, say) ends it so once that host has done so,
// rather than on a fixed time long enough for a busy machine.
func (c *Cut) EndOnSignal(ctx context.Context, t testing.TB, name string) error {
	p, err := localSignal(t, name)
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(p); err == nil {
			Event("saw %s", filepath.Base(p))
			break
		}
		if _, up := c.Times(); !up.IsZero() {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nfstest: cut %s: waiting for %s: %w", c.host, name, ctx.Err())
		case <-time.After(pollInterval): // a file in a guest-local directory: no event to wait on
		}
	}
	return c.Restore(ctx)
}
