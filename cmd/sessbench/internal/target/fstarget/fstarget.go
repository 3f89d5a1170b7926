// Package fstarget benchmarks an fsstore.Store in a private subdirectory of a
// given directory, which it removes on Close.
package fstarget

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/bench"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/mountinfo"
	"github.com/sessfs/sessfs/internal/mountstats"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// ErrStoreDir reports a --dir that is a sessfs store's directory, or lies
// in its data or lock directory: sessbench measures in a scratch
// directory, never in a live store.
var ErrStoreDir = errors.New("a sessfs store's directory")

// CheckDir refuses a --dir that is not an existing directory, saying what
// to do about a missing one: sessbench writes only in a subdirectory of its
// own, so it never creates dir itself (a path to an unmounted share would
// measure the local disk under the mount point). It refuses a store's
// directory as well (ErrStoreDir, see storeHolding).
func CheckDir(dir string) error { return checkDir(dir, cmdutil.StoreRuns) }

// checkDir is CheckDir where storeRuns tells whether the store runs on
// this platform. Where it does not (Windows), that is said first: a
// missing --dir was answered "create it first", and once created, with
// the platform's refusal.
func checkDir(dir string, storeRuns bool) error {
	if !storeRuns {
		return fmt.Errorf("--dir %s: the store does not run on %s/%s (%w): run sessbench on a Linux, macOS or FreeBSD host, or under WSL 2", dir, runtime.GOOS, runtime.GOARCH, fsstore.ErrNotSupported)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--dir %s does not exist: create it first (%s), on the mount it is to measure (%w)", dir, mkdirCommand(runtime.GOOS, dir), err)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("--dir %s: not a directory", dir)
	}
	if store, inside := storeHolding(dir); store != "" {
		if inside == "" {
			return fmt.Errorf("--dir %s: %w (it holds %s): sessbench would add a directory of its own at the store's top, "+
				"which the store does not own (sessgc reports it as foreign and never removes it, and a run killed before "+
				"its cleanup would leave its sessions there); give a scratch directory on the same mount instead", dir, ErrStoreDir, fsstore.MarkerFile)
		}
		return fmt.Errorf("--dir %s: %w: it is in the %s directory of the store %s, whose files are the store's own; "+
			"give a scratch directory on the same mount instead", dir, ErrStoreDir, inside, store)
	}
	return nil
}

// storeHolding returns the store whose directory dir is ("" for inside),
// or whose data or lock directory holds dir (inside names which), its
// links resolved; store is "" when there is none. A run at a store's top
// adds a directory the store does not own; fsstore.Open refuses one
// inside its data or lock directory, but sessbench http's gorilla-fs peer
// is no fsstore and would write its files there. Any marker file counts,
// one that does not parse included: a damaged store is still a store.
func storeHolding(dir string) (store, inside string) {
	p, err := filepath.Abs(dir)
	if err != nil {
		return "", ""
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	hasMarker := func(d string) bool {
		_, err := os.Lstat(filepath.Join(d, fsstore.MarkerFile))
		return err == nil
	}
	if hasMarker(p) {
		return p, ""
	}
	// The data directory, then its shard levels (at most three).
	for range 4 {
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		name := filepath.Base(p)
		if (strings.EqualFold(name, fsstore.DataDir) || strings.EqualFold(name, fsstore.LockDir)) && hasMarker(parent) {
			return parent, name
		}
		p = parent
	}
	return "", ""
}

// MakeDir makes a new directory in dir, named pattern and a random
// number (os.MkdirTemp), where a run keeps its files. One that cannot be
// made says --dir is not writable, with the cause: a read-only mount gave
// sessbench http's peers the bare "mkdir ...: read-only file system".
func MakeDir(dir, pattern string) (string, error) {
	sub, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("--dir %s: not writable: %w", dir, err)
	}
	return sub, nil
}

// RemoveDir removes dir, a directory the run made, and everything in it,
// where os.RemoveAll needs more than the run may have: os.RemoveAll
// opens dir's parent to read it, which a --dir (or $TMPDIR) that its user
// may write and enter but not list (mode 0733, a drop directory) refuses,
// and the run's sessions stayed. Here only dir itself is read; unlinking
// it from its parent takes write and search permission there, which
// making it took too. The error names dir.
//
// Whoever else may write that parent may have put something else in
// dir's place since the run made it: a symlink, or another directory.
// Only the directory found there, not a symlink, is emptied, through a
// handle on it (os.Root), so that no removal follows a link out of it.
func RemoveDir(dir string) error {
	return removeDir(dir, os.RemoveAll)
}

// removeDir is RemoveDir with the first try, os.RemoveAll, as removeAll.
func removeDir(dir string, removeAll func(string) error) error {
	err := removeAll(dir)
	if err == nil {
		return nil
	}
	fi, lerr := os.Lstat(dir)
	switch {
	case errors.Is(lerr, fs.ErrNotExist):
		return nil
	case lerr != nil:
		return fmt.Errorf("removing %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("removing %s: %w; it is no longer a directory (%s), left as it is", dir, err, fi.Mode().Type())
	}
	root, rerr := os.OpenRoot(dir)
	if rerr != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	defer root.Close()
	// Opened by name: the same directory as looked at, not one that a
	// symlink put in its place in between leads to.
	if rfi, serr := root.Stat("."); serr != nil || !os.SameFile(fi, rfi) {
		return fmt.Errorf("removing %s: %w; it was replaced while being removed, left as it is", dir, err)
	}
	ents, rerr := fs.ReadDir(root.FS(), ".")
	if rerr != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	var errs []error
	for _, e := range ents {
		if err := root.RemoveAll(e.Name()); err != nil {
			errs = append(errs, err)
		}
	}
	if now, err := os.Lstat(dir); err == nil && os.SameFile(fi, now) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// Target is a filesystem session store under test.
type Target struct {
	name  string
	dir   string // as given
	sub   string // the private directory the store lives in
	st    *fsstore.Store
	mount mountinfo.Mount
	dur   fsstore.Durability
	nfs   bool
}

// Open checks that dir is an existing, writable directory, creates a private
// subdirectory in it and opens a store there with opts. Nothing outside that
// subdirectory is ever written, so Close leaves dir as it was. The store's
// sessions live bench.SessionIdle after their last write and have no
// lifetime from their creation; opts come after, and may change that.
func Open(name, dir string, opts ...fsstore.Option) (*Target, error) {
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	sub, err := MakeDir(dir, ".sessbench-")
	if err != nil {
		return nil, err
	}
	t := &Target{name: name, dir: dir, sub: sub}
	// Mount details are for the report; not knowing them is no reason to
	// refuse to measure.
	if m, err := mountinfo.Lookup(sub); err == nil {
		t.mount = m
		t.nfs = m.IsNFS()
	}
	// The store's defaults, 24 minutes idle and 24 hours from creation,
	// would expire sessions in a long run (see bench.SessionIdle). Neither
	// changes what an operation costs: each record carries its expiry in
	// its header whatever it is.
	opts = append([]fsstore.Option{fsstore.WithIdleTimeout(bench.SessionIdle), fsstore.WithLifetime(0)}, opts...)
	st, err := fsstore.Open(sub, opts...)
	if err != nil {
		RemoveDir(sub)
		return nil, fmt.Errorf("--dir %s: opening store: %w", dir, err)
	}
	// What the store uses, which with no option is its default for this
	// filesystem: the report says what was measured.
	t.st, t.dur = st, st.Durability()
	return t, nil
}

// Name implements bench.Target.
func (t *Target) Name() string { return t.name }

// Info implements bench.Target.
func (t *Target) Info() bench.Info {
	return bench.Info{
		Kind: "fs", Location: t.dir, MountPoint: t.mount.Point, FSType: t.mount.FSType,
		Source: t.mount.Source, Options: t.mount.Options, NFS: t.nfs, Durability: t.dur.String(),
		Locks: t.st.LockStrategy().String(), SessionIdleSec: t.st.IdleTimeout().Seconds(),
	}
}

// RPCCounts returns the NFS RPC counters of the mount, or an error off NFS.
func (t *Target) RPCCounts() (mountstats.Counts, error) {
	if !t.nfs {
		return nil, errors.New("not an NFS mount")
	}
	return mountstats.Read(t.mount.Point)
}

// Cycle implements bench.Target: what a request that writes its session does.
func (t *Target) Cycle(ctx context.Context, id string, payload []byte) (err error) {
	l, err := t.st.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := l.Unlock(); err == nil {
			err = uerr
		}
	}()
	sess, err := l.Load(ctx)
	if errors.Is(err, fsstore.ErrNotFound) {
		sess, err = &fsstore.Session{ID: id}, nil
	}
	if err != nil {
		return err
	}
	sess.Data = payload
	return l.Save(ctx, sess)
}

// Load implements bench.Target.
func (t *Target) Load(ctx context.Context, id string) error {
	_, err := t.st.Load(ctx, id)
	return err
}

// Save implements bench.Target.
func (t *Target) Save(ctx context.Context, id string, payload []byte) error {
	return t.st.Save(ctx, &fsstore.Session{ID: id, Data: payload})
}

// Touch implements bench.Target.
func (t *Target) Touch(ctx context.Context, id string) error { return t.st.Touch(ctx, id) }

// Close implements bench.Target: it closes the store and removes its
// directory.
func (t *Target) Close() error {
	var cerr error
	if t.st != nil {
		cerr = t.st.Close()
	}
	if err := RemoveDir(t.sub); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("closing store in %s: %w", t.sub, cerr)
	}
	return nil
}

// leftoverShown is how many leftover directories a note names.
const leftoverShown = 3

// LeftoverNote returns a note on the directories of other sessbench runs
// in dir (see DirPrefixes), "" when there are none. A run killed before
// its cleanup (SIGKILL, an out-of-memory kill, a reboot, a second Ctrl-C)
// leaves its directory, sessions in it, and no later run, nor any sweep,
// removes it: another run, on this host or on another that mounts dir,
// may be using it now, which sessbench cannot tell. Said at each run, it
// is found by whoever measures there, not only by a reader of the
// documentation.
func LeftoverNote(dir string) string {
	return leftoverNote(dir, "--dir "+dir, "on this host or another; once none runs there", DirPrefixes)
}

// DirPrefixes are the names of the directories runs make in a --dir, a
// random number after them (os.MkdirTemp): run's, then http's sessfs and
// gorilla-fs peers'.
var DirPrefixes = []string{".sessbench-", ".sessbench-http-", ".sessbench-gorilla-"}

// TempPrefixes are the names a run without --dir gives its temporary
// directory, a random number after them (os.MkdirTemp): run's, then
// http's.
var TempPrefixes = []string{"sessbench-", "sessbench-http-"}

// TempLeftoverNote is LeftoverNote for the temporary directories of runs
// without --dir in base (see TempPrefixes), "" when there are none: a run
// killed there left its sessions on the local disk as well, and the note
// on --dir did not look for them.
func TempLeftoverNote(base string) string {
	return leftoverNote(base, base, "on this host; once none runs", TempPrefixes)
}

// isRunName reports whether name is one that os.MkdirTemp makes of one of
// prefixes: the prefix, then digits only. Only those count: a --dir, and
// still more /var/tmp or $TMPDIR, may hold the operator's own files and
// directories named alike (sessbench-results, sessbench-20261207.svg).
func isRunName(name string, prefixes []string) bool {
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(name, p)
		if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

// leftoverNote lists the directories in dir whose names a run makes of
// prefixes, for a note that starts with what (the flag and directory),
// says who may be using them (who), and ends with the command that
// removes them. The command names each of them, not a glob: a glob
// matched more than runs make (the operator's sessbench-20261207.svg
// beside them), and a run started after the note was printed.
func leftoverNote(dir, what, who string, prefixes []string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && isRunName(e.Name(), prefixes) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return ""
	}
	shown := strings.Join(names[:min(len(names), leftoverShown)], ", ")
	if len(names) > leftoverShown {
		shown += ", ..."
	}
	how := "a directory"
	if len(names) > 1 {
		how = fmt.Sprintf("%d directories", len(names))
	}
	return fmt.Sprintf("%s holds %s of other sessbench runs (%s), left by a run killed before its cleanup "+
		"(SIGKILL, a reboot), or in use by a run now, %s, remove them: %s",
		what, how, shown, who, removeCommand(runtime.GOOS, dir, names...))
}

// mkdirCommand is the command that makes dir and its parents on goos:
// Windows's mkdir (cmd.exe's and PowerShell's) makes the parents, and
// has no -p. "--" ends the options: a dir beginning with '-' was taken
// for one.
func mkdirCommand(goos, dir string) string {
	if goos == "windows" {
		return "mkdir " + psQuote(dir)
	}
	return "mkdir -p -- " + shellquote.Quote(dir)
}

// removeCommand is the command that removes the entries names in dir,
// with everything under them, on goos: PowerShell's Remove-Item on
// Windows, which has no rm -rf. Each path is quoted whole, so that no
// character of dir or a name is read as a wildcard. "--" ends rm's
// options: a dir beginning with '-' (a relative --dir) was taken for
// options, and rm removed nothing ("rm -rf -bench/.sessbench-*": invalid
// option); PowerShell takes a quoted path for a path (see psQuote), and
// -LiteralPath for no pattern.
func removeCommand(goos, dir string, names ...string) string {
	var paths []string
	for _, n := range names {
		if goos == "windows" {
			paths = append(paths, psQuote(strings.TrimRight(dir, `\/`)+`\`+n))
		} else {
			paths = append(paths, shellquote.Quote(strings.TrimRight(dir, "/")+"/"+n))
		}
	}
	if goos == "windows" {
		return "Remove-Item -Recurse -Force -LiteralPath " + strings.Join(paths, ", ")
	}
	return "rm -rf -- " + strings.Join(paths, " ")
}

// psQuote quotes s for PowerShell when it holds anything but characters
// PowerShell takes as they are, or begins with '-', which it takes, bare,
// for a parameter's name.
func psQuote(s string) string {
	safe := s != "" && s[0] != '-' && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(`\/:._-*`, r))
	}) < 0
	if safe {
		return s
	}
	// PowerShell ends a single-quoted string at the typographic single
	// quotes too, and takes any of them doubled for itself.
	return "'" + psQuotes.Replace(s) + "'"
}

var psQuotes = strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b")
