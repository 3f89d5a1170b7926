package pass

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fserr"
	"github.com/sessfs/sessfs/internal/fstab"
	"github.com/sessfs/sessfs/internal/nfsname"
	"github.com/sessfs/sessfs/internal/ownerhint"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// ErrNoStore matches the error of OpenStore when dir does not exist or is
// an empty directory (an NFS client's .nfsXXXX files aside, as fsstore
// creates its store there; see IsEmpty): no application has created the
// store there yet (a fresh volume). `sessgc run --missing-ok` does nothing then. A directory
// with anything in it but no valid marker never matches: it may be a
// mistyped --dir, and stays refused.
var ErrNoStore = errors.New("no store yet")

// ErrStoreCreating matches the error of OpenStore when dir has no valid
// marker but holds nothing except what an application makes while it
// creates a store, before it publishes the marker (fsstore's initStore:
// empty data and lock directories, marker temp files). That lasts a few
// round trips, so `sessgc run --missing-ok` tries once more a moment later
// rather than failing on the day the store is created; without the flag,
// or when the directory still looks so, it is refused like any other
// directory without a marker.
var ErrStoreCreating = errors.New("store being created")

// ErrNotEmpty matches the error of OpenStore when dir holds files but no
// store, nor one in a subdirectory: what `sessgc run --missing-ok` does
// not skip, and says so, as the operator who gave it expected a skip.
var ErrNotEmpty = errors.New("not empty")

// notEmpty is a store error that also matches ErrNotEmpty; its message
// and exit code are those of the error it wraps.
type notEmpty struct{ error }

func (e notEmpty) Unwrap() error        { return e.error }
func (e notEmpty) Is(target error) bool { return target == ErrNotEmpty }

// noStoreYet ends the refusal of a missing or empty --dir with its two
// usual causes and the way past the first, which a new host's operator
// needs more than the bare fact.
const noStoreYet = "(is the share mounted on this host? The applications create the store when they first open it; sessgc run --missing-ok does nothing until then)"

// said is an error whose message the sentence wrapping it has already
// said in sessgc's words, and added the rest of (see added): it keeps the
// error for errors.Is, and prints nothing, where its own text would repeat
// the sentence ("is not a sessfs store ...: not a sessfs store").
type said struct{ err error }

func (said) Error() string   { return "" }
func (e said) Unwrap() error { return e.err }

// added returns what err's message says beyond sentinel's text and what
// comes before it (fsstore's "fsstore: open DIR: "): the detail a message
// that says what sentinel means in sessgc's words still needs, such as
// " (no .sessfs file)" or ": DIR/.sessfs: not a regular file". Without
// sentinel in it, the whole message, after ": ".
func added(err, sentinel error) string {
	msg := err.Error()
	_, rest, ok := strings.Cut(msg, sentinel.Error())
	if !ok {
		return ": " + msg
	}
	return rest
}

// noStore is a store error that also matches ErrNoStore; its message and
// exit code are those of the error it wraps, so that a command without
// --missing-ok reports it as it always did.
type noStore struct{ error }

func (e noStore) Unwrap() error        { return e.error }
func (e noStore) Is(target error) bool { return target == ErrNoStore }

// storeCreating is noStore's counterpart for ErrStoreCreating.
type storeCreating struct{ error }

func (e storeCreating) Unwrap() error        { return e.error }
func (e storeCreating) Is(target error) bool { return target == ErrStoreCreating }

// OpenStore opens an existing store for sweeping, or returns an ExitError
// (cmdutil.ExitUsage or cmdutil.ExitStore) that says what is wrong with dir;
// that error matches ErrNoStore when dir is missing or empty, and
// ErrStoreCreating when it looks like a store half-way through its creation.
//
// It never creates a store (WithCreate(false)), so a mistyped --dir cannot
// turn an arbitrary directory into one, and it opens with the smallest idle
// timeout (one second) so that opening never raises the idle timeout the
// marker records: the sweep must use the applications' value, not ours.
// A directory inside a store (its data directory, a shard) is refused, as
// fsstore.Open refuses it, and never matches ErrNoStore.
// It opens an encrypted store without keys (fsstore.WithMaintenanceOnly):
// sweeping never decrypts nor writes a session.
// The store logs to log (see StoreLogger). opts are applied after those
// defaults (rekey adds fsstore.WithKeys).
//
// A missing or empty dir below a mount point that /etc/fstab lists and
// nothing is mounted on is a share that failed to mount, not a fresh
// volume: that error never matches ErrNoStore.
func OpenStore(dir string, log *slog.Logger, opts ...fsstore.Option) (*fsstore.Store, error) {
	return hostMounts{fstab.System}.openStore(dir, log, opts...)
}

// hostMounts is where OpenStore learns which file systems the host is
// meant to have mounted and whether one is (see fstab.Hosts).
type hostMounts struct{ fstab.Hosts }

// warnMisread warns where dir, missing or empty and below no fstab entry
// mount(8) reads, is below one that a line separated by other white space
// (a no-break space) names (fstab.Hosts.MisreadShare): --missing-ok would
// skip every run, and the applications make their store on the local disk,
// in silence.
func (h hostMounts) warnMisread(dir string, log *slog.Logger) {
	if w := h.MisreadShare(dir); w != "" {
		log.Warn(w, "dir", dir)
	}
}

// unsupported is OpenStore's refusal of a platform the store does not run
// on, err being fsstore.Open's.
func unsupported(dir string, err error) error {
	return cmdutil.StoreErrorf("the store does not run on %s; run sessgc on a Linux, macOS or FreeBSD host that mounts %s: %w", runtime.GOOS, dir, err)
}

// CheckPlatform refuses a platform the store does not run on (Windows),
// whatever dir holds, with the words saying where to run instead; it
// returns nil elsewhere. OpenStore calls it first; a command that reads
// something else before it opens the store (rekey's keys) calls it before
// that, or its advice on the keys file came first, only for the platform
// to be refused once the file was right.
func CheckPlatform(dir string) error {
	if cmdutil.StoreRuns {
		return nil
	}
	// Open refuses the platform before it touches dir.
	s, err := fsstore.Open(dir, fsstore.WithCreate(false))
	if err == nil {
		s.Close()
		err = fsstore.ErrNotSupported
	}
	return unsupported(dir, err)
}

func (h hostMounts) openStore(dir string, log *slog.Logger, opts ...fsstore.Option) (*fsstore.Store, error) {
	if dir == "" {
		return nil, cmdutil.UsageErrorf("no store directory: pass --dir or set %s", EnvName("dir"))
	}
	// Before dir is looked at: a missing or empty one was taken for a
	// fresh volume ("is the share mounted?"), and --missing-ok exited 0
	// at every run, so a scheduled task here was never told that it
	// cannot work.
	if err := CheckPlatform(dir); err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if link := danglingLink(dir); link != "" {
			// Someone made that link to reach a store: where it points
			// is missing (an unmounted volume, a moved directory), which
			// is not the fresh volume --missing-ok is for.
			return nil, cmdutil.StoreErrorf("store directory %s does not exist: %s is a symbolic link to a missing target", dir, link)
		}
		if hidden := hiddenChars(dir); hidden != "" {
			// A trailing space or newline from an environment file or
			// a YAML block scalar: printed bare, the path looks like
			// the one that exists. Not the fresh volume --missing-ok
			// is for either, where it would skip every run.
			return nil, cmdutil.StoreErrorf("store directory %q does not exist: the path %s (check --dir, or %s in the job's environment)", dir, hidden, EnvName("dir"))
		}
		if why := h.UnmountedShare(dir); why != "" {
			return nil, cmdutil.StoreErrorf("store directory %s does not exist: %s", dir, why)
		}
		h.warnMisread(dir, log)
		return nil, noStore{cmdutil.StoreErrorf("store directory %s does not exist %s", dir, noStoreYet)}
	case errors.Is(err, fs.ErrPermission):
		if why := unsearchable(dir); why != "" {
			return nil, cmdutil.StoreErrorf("cannot reach store directory %s: %s", dir, why)
		}
		return nil, cmdutil.StoreErrorf("cannot reach store directory %s: permission denied", dir)
	case err != nil:
		return nil, cmdutil.StoreErrorf("store directory %s: %w", dir, err)
	case !st.IsDir():
		return nil, cmdutil.StoreErrorf("%s is not a directory", dir)
	}
	s, err := fsstore.Open(dir, append(append([]fsstore.Option{
		fsstore.WithCreate(false),
		fsstore.WithIdleTimeout(time.Second),
		fsstore.WithMaintenanceOnly(),
		fsstore.WithLogger(log),
	}, storePermissions(dir)...), opts...)...)
	if err == nil {
		return s, nil
	}
	switch {
	case errors.Is(err, fsstore.ErrUnavailable):
		return nil, Unavailable(fmt.Errorf("opening store %s: %w", dir, err))
	case errors.Is(err, fsstore.ErrNotSupported):
		return nil, unsupported(dir, err)
	case errors.Is(err, fsstore.ErrInsideStore):
		// Not ErrNoStore even when dir is empty, as the data directory
		// of a store that holds no session yet is: --missing-ok would
		// take a mistaken --dir for a fresh volume and exit 0.
		return nil, cmdutil.StoreErrorf("%s is part of a sessfs store, not a store's directory%s; refusing to touch it%w", dir, added(err, fsstore.ErrInsideStore), said{err})
	case errors.Is(err, fsstore.ErrNotStore) && hasMarker(dir):
		// Not a mistyped --dir: most likely the applications run a newer
		// sessfs than this sessgc (upgraded before it, against the
		// operator guide's order).
		return nil, cmdutil.StoreErrorf("%s has a %s marker that this sessgc cannot use: the store is of a newer sessfs (install the sessgc of the applications' sessfs version), or the marker is damaged; refusing to touch it%s%w", dir, fsstore.MarkerFile, added(err, fsstore.ErrNotStore), said{err})
	case errors.Is(err, fsstore.ErrNotStore):
		err = cmdutil.StoreErrorf("%s is not a sessfs store%s; refusing to touch it%w", dir, added(err, fsstore.ErrNotStore), said{err})
		switch {
		case IsEmpty(dir):
			if why := h.UnmountedShare(dir); why != "" {
				return nil, fmt.Errorf("%w; %s", err, why)
			}
			h.warnMisread(dir, log)
			return nil, noStore{fmt.Errorf("%w %s", err, noStoreYet)}
		case creating(dir):
			return nil, storeCreating{err}
		}
		if sub := storeBelow(dir, storeBelowWait); sub != "" {
			// The mount point, say, for the store on it.
			return nil, cmdutil.StoreErrorf("%w; its subdirectory %s is a store: pass --dir %s", err, sub, shellquote.Quote(sub))
		}
		return nil, notEmpty{err}
	case fserr.ReadOnly(err):
		return nil, cmdutil.StoreErrorf("store %s is on a read-only filesystem; nothing was deleted or rewritten: %w", dir, err)
	case errors.Is(err, fs.ErrPermission):
		if why := unsearchable(dir); why != "" {
			// The store's own modes may be right: fsstore reaches it
			// by its absolute path, through a directory this user may
			// not enter (a relative --dir below the working directory
			// hid it).
			return nil, cmdutil.StoreErrorf("cannot reach store directory %s; nothing was deleted or rewritten: %s: %w", dir, why, err)
		}
		if hinted := new(ownerhint.Error); errors.As(err, &hinted) {
			// fsstore names the store, this user and the fix already
			// (its owner hint): said again, the message said each twice.
			return nil, cmdutil.StoreErrorf("%w; nothing was deleted or rewritten", err)
		}
		return nil, cmdutil.StoreErrorf("store %s is not readable and writable by this user (uid %d); nothing was deleted or rewritten: %w", dir, os.Getuid(), err)
	}
	return nil, cmdutil.StoreErrorf("store %s is unusable: %w", dir, err)
}

// unsearchable names the directory above dir that this user may not
// enter, the first on dir's absolute path whose entry it may not stat, or
// returns "" when there is none (the refusal is dir's own) or dir cannot
// be made absolute.
func unsearchable(dir string) string {
	abs, err := filepath.Abs(dir)
	if errors.Is(err, fs.ErrPermission) && !filepath.IsAbs(dir) {
		// os.Getwd stats "." first, which a working directory this
		// user may not enter refuses: that is the directory. The
		// kernel still knows its name.
		wd, werr := syscall.Getwd()
		if werr != nil {
			wd = "."
		}
		return fmt.Sprintf("this user (uid %d) may not enter the working directory %s, which the relative path starts from: give the user search (x) permission there, or run sessgc from elsewhere with an absolute --dir", os.Getuid(), wd)
	}
	if err != nil {
		return ""
	}
	var parts []string
	for p := abs; ; p = filepath.Dir(p) {
		parts = append(parts, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	// From the root down: the first path refused is in a directory this
	// user may not enter.
	for i := len(parts) - 2; i >= 0; i-- {
		if _, err := os.Stat(parts[i]); errors.Is(err, fs.ErrPermission) {
			parent := filepath.Dir(parts[i])
			mode := ""
			if fi, err := os.Stat(parent); err == nil {
				mode = fmt.Sprintf(" (mode %#o)", fi.Mode().Perm())
			}
			return fmt.Sprintf("this user (uid %d) may not enter %s%s, a directory on its path: give the user search (x) permission there, or keep the store where it may", os.Getuid(), parent, mode)
		} else if err != nil {
			return ""
		}
	}
	return ""
}

// IsEmpty reports whether dir has no entry but an NFS client's .nfsXXXX
// files (one removed while still open, which the client removes itself),
// as fsstore takes a directory to create its store in. Any error,
// including one listing it, counts as not empty: the caller then refuses
// dir.
func IsEmpty(dir string) bool {
	empty, err := ReadEmpty(dir)
	return empty && err == nil
}

// ReadEmpty is IsEmpty, with the error that opening or listing dir
// returned: one look at dir tells both whether it is readable and whether
// it is empty. It stops at the first entry that makes dir not empty.
func ReadEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return readEmpty(f)
}

// subdirEmpty is IsEmpty for data/ or locks/ of a directory that may be a
// store being created (creating), opened without following a symlink or
// blocking (openDirNoFollow): one of them swapped for a FIFO since the
// listing that saw a directory there hung the open, and sessgc with it,
// and one swapped for a symlink was listed where it pointed.
func subdirEmpty(p string) bool {
	f, err := openDirNoFollow(p)
	if err != nil {
		return false
	}
	defer f.Close()
	empty, err := readEmpty(f)
	return empty && err == nil
}

// readEmpty is ReadEmpty of the open directory f.
func readEmpty(f *os.File) (bool, error) {
	for {
		names, err := f.Readdirnames(64)
		for _, name := range names {
			if !nfsname.IsLeftover(name) {
				return false, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// hasMarker reports whether dir holds a regular file under the marker's
// name.
func hasMarker(dir string) bool {
	fi, err := os.Lstat(filepath.Join(dir, fsstore.MarkerFile))
	return err == nil && fi.Mode().IsRegular()
}

// storeBelowWait bounds storeBelow: a subdirectory of a --dir that is
// no store may be a mount that does not answer (--dir /mnt, with /mnt/efs
// hung), and the refusal must not wait for it.
const storeBelowWait = time.Second

// storeBelow returns a subdirectory of dir holding a store's marker, among
// the first few hundred entries of dir, or "" when there is none, on any
// error, and when the look took longer than wait (it goes on in its
// goroutine, blocked in a call into a mount that does not answer).
func storeBelow(dir string, wait time.Duration) string {
	found := make(chan string, 1)
	go func() {
		f, err := os.Open(dir)
		if err != nil {
			found <- ""
			return
		}
		defer f.Close()
		// Bounded: a --dir may be a huge directory (a store's shard of
		// an old layout, a user's files), and this is only a hint.
		ents, _ := f.ReadDir(256)
		for _, e := range ents {
			if sub := filepath.Join(dir, e.Name()); e.IsDir() && hasMarker(sub) {
				found <- sub
				return
			}
		}
		found <- ""
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case sub := <-found:
		return sub
	case <-t.C:
		return ""
	}
}

// hiddenChars describes what in path a reader of a message would not see
// printed bare: white space at either end, or a character that is not
// printable. It returns "" for a path that prints as it is.
func hiddenChars(path string) string {
	if strings.TrimSpace(path) != path {
		return "begins or ends with white space"
	}
	for _, r := range path {
		if !unicode.IsPrint(r) {
			return "holds a character that does not print"
		}
	}
	return ""
}

// danglingLink returns the symbolic link that makes dir missing: the
// deepest existing path of dir and its parents, when that is a link whose
// target does not exist. It returns "" when dir is simply missing.
func danglingLink(dir string) string {
	for p := filepath.Clean(dir); ; {
		fi, err := os.Lstat(p)
		if err == nil {
			if fi.Mode()&fs.ModeSymlink == 0 {
				return ""
			}
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				return p
			}
			return ""
		}
		parent := filepath.Dir(p)
		if parent == p || !errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		p = parent
	}
}

// markerTempPrefix starts the name of the temp file fsstore writes the
// marker to while it creates a store, before linking it to MarkerFile.
const markerTempPrefix = ".tmp-marker-"

// creating reports whether dir holds only what fsstore's store creation
// makes before the marker appears: its data and lock directories, still
// empty, and marker temp files. Any error counts as not creating.
func creating(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case name == fsstore.DataDir || name == fsstore.LockDir:
			if !e.IsDir() || !subdirEmpty(filepath.Join(dir, name)) {
				return false
			}
		case strings.HasPrefix(name, markerTempPrefix):
			if !e.Type().IsRegular() {
				return false
			}
		case nfsname.IsLeftover(name):
		default:
			return false
		}
	}
	return true
}

// Check checks the flags every pass over a store has (stats passes 0 and
// "" for those it lacks). It makes no file system call: what the paths
// name is for CheckPaths to check, within the command's budget.
func Check(dir string, concurrency int, rate float64, maxDuration time.Duration, textfile string) error {
	switch {
	case dir == "":
		return cmdutil.UsageErrorf("no store directory: pass --dir or set %s", EnvName("dir"))
	case concurrency < 1 || concurrency > 64:
		return cmdutil.UsageErrorf("--concurrency %d: want 1..64", concurrency)
	case maxDuration < 0:
		return cmdutil.UsageErrorf("--max-duration %v: want 0 (no limit) or more", maxDuration)
	}
	if err := CheckRate(rate, maxDuration); err != nil {
		return err
	}
	switch {
	case textfile != "" && !strings.HasSuffix(textfile, ".prom"):
		return cmdutil.UsageErrorf("--textfile %s: the node-exporter textfile collector only reads files ending in .prom", textfile)
	}
	return nil
}

// MaxJitter is the longest --jitter: a day, the longest interval
// install-cron schedules runs at. A random sleep longer than the interval
// between runs lets them pile up (sessgc run --jitter 1000h slept up to
// six weeks, while cron started another run every ten minutes).
const MaxJitter = 24 * time.Hour

// CheckJitter checks --jitter, the random sleep before a run, for every
// command that takes it (run, install-cron).
func CheckJitter(jitter time.Duration) error {
	switch {
	case jitter < 0:
		return cmdutil.UsageErrorf("--jitter %v: want 0 or more", jitter)
	case jitter > MaxJitter:
		return cmdutil.UsageErrorf("--jitter %v: want at most 24h: a run sleeps a random time up to --jitter before it starts, and a sleep longer than the interval between runs piles them up (a few minutes spread the hosts)", jitter)
	}
	return nil
}

// CheckRate checks --rate, the operations a pass does per second at most,
// for every command that takes it (run, rekey, install-cron): 0 for no
// cap, or a positive number whose interval between operations is
// shorter than the pass's budget, maxDuration (0 for none): a rate that
// lets a pass within its budget do one operation at most sweeps nothing
// of a real store, with exit 0. Without a budget, the interval must be
// shorter than a day (MaxJitter, the longest interval install-cron
// schedules): nothing else ends such a pass. +Inf is no cap, as 0 is, as it always was
// to run and rekey: an older install-cron wrote --rate +Inf into cron
// lines that must go on sweeping after an upgrade (install-cron refuses
// it, for 0 in the files it writes).
func CheckRate(rate float64, maxDuration time.Duration) error {
	if rate < 0 || math.IsNaN(rate) {
		return cmdutil.UsageErrorf("--rate %v: want 0 (no cap) or a positive number per second", rate)
	}
	if rate > 0 && maxDuration > 0 && 1/rate >= maxDuration.Seconds() {
		interval := "over a day"
		if 1/rate < (24 * time.Hour).Seconds() {
			interval = shortDur(time.Duration(float64(time.Second) / rate).Round(time.Second))
		}
		return cmdutil.UsageErrorf("--rate %v: one file every %s, longer than --max-duration %s: a run would do one file at most; give a higher --rate, or 0 for no cap", rate, interval, shortDur(maxDuration))
	}
	if rate > 0 && maxDuration == 0 && 1/rate >= MaxJitter.Seconds() {
		// Nothing ends such a run: it waits a day or more (292 years
		// for --rate 1e-300) between two files, holding the fleet lock,
		// so that no host sweeps the store meanwhile, where a budget
		// would have refused it as above.
		return cmdutil.UsageErrorf("--rate %v: one file every day or more, and no --max-duration to end the run: it would remove one file a day at most, holding the fleet lock all the while (no other host sweeps); give a higher --rate, 0 for no cap, or a --max-duration", rate)
	}
	return nil
}

// shortDur is d as an operator writes it: 8m, not 8m0s.
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// PathFS is the file system as CheckPaths sees it; nil stands for the
// operating system's. Tests pass one that does not answer, as a hard NFS
// mount whose server is unreachable does not.
type PathFS interface {
	Stat(name string) (fs.FileInfo, error)
	// Lstat is os.Lstat: the textfile itself is replaced, not followed.
	Lstat(name string) (fs.FileInfo, error)
	EvalSymlinks(path string) (string, error)
	// Abs is filepath.Abs: for a relative path it asks for the working
	// directory, which os.Getwd checks with a stat of "." when $PWD is
	// set, as shells set it.
	Abs(path string) (string, error)
	// CreateTemp is os.CreateTemp, with the file closed: it returns the
	// new file's name.
	CreateTemp(dir, pattern string) (string, error)
	// Remove is os.Remove.
	Remove(name string) error
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) Stat(name string) (fs.FileInfo, error)    { return os.Stat(name) }
func (osFS) Lstat(name string) (fs.FileInfo, error)   { return os.Lstat(name) }
func (osFS) EvalSymlinks(path string) (string, error) { return filepath.EvalSymlinks(path) }
func (osFS) Abs(path string) (string, error)          { return filepath.Abs(path) }
func (osFS) Remove(name string) error                 { return os.Remove(name) }

func (osFS) CreateTemp(dir, pattern string) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// CheckPaths checks, before a pass, what --dir and --textfile name
// (textfile "": none): that the textfile's directory exists and, when the
// pass writes the textfile (writes; a dry run does not), that this user
// can create a file in it and replace the textfile there (not a
// directory, nor another user's file in a directory with the sticky
// bit), so that a typo or a path of the wrong owner or mode is a usage
// error rather than a failure after a long pass; and that the textfile
// is not inside dir. It returns dir made absolute, for the
// summary and the label of the metrics, which must not ask for the working
// directory again: a relative dir in a working directory on the hung mount
// would block them past the watchdog. It runs before the pass's watchdog,
// and its checks wait for the file system FSCheckTimeout in all at most,
// and never past the end of the budget b, which they spend as the pass
// does: on a hung mount a check without an answer by then is skipped (the
// pass reports the mount), dir returned as given if it could not be made
// absolute, and the command still ends within its budget and StopGrace.
// fsys nil: the operating system's file system.
func CheckPaths(b Budget, dir, textfile string, writes bool, fsys PathFS) (string, error) {
	if fsys == nil {
		fsys = osFS{}
	}
	wait := FSCheckTimeout
	if b.Max > 0 {
		// At least minCheckWait: a file system that answers must get
		// its usage errors (exit 2) whatever the budget; a hung one
		// overruns the budget by that much, well within StopGrace.
		least := b.MinCheck
		if least <= 0 {
			least = minCheckWait
		}
		wait = max(min(wait, b.Max-time.Since(b.Start)), least)
	}
	deadline := time.Now().Add(wait)
	absDir, dirOK := abs(fsys, deadline, dir)
	if textfile == "" {
		return absDir, nil
	}
	var st fs.FileInfo
	err := bounded(time.Until(deadline), func() (err error) { st, err = fsys.Stat(filepath.Dir(textfile)); return err })
	tdir := st
	switch {
	case errors.Is(err, errNoAnswer):
		// A hung mount: the pass reports it, and Finish gives up on
		// the file.
	case err != nil:
		return absDir, cmdutil.UsageErrorf("--textfile %s: %w", textfile, err)
	case !st.IsDir():
		return absDir, cmdutil.UsageErrorf("--textfile %s: %s is not a directory", textfile, filepath.Dir(textfile))
	}
	if absText, ok := abs(fsys, deadline, textfile); ok && dirOK && within(fsys, deadline, absText, absDir) {
		// In an empty directory the textfile would make every later run
		// refuse it as "not a sessfs store", and in a store it is a file
		// the store did not write: keep the metrics beside the store.
		return absDir, cmdutil.UsageErrorf("--textfile %s is inside the store directory %s: write it beside the store", textfile, dir)
	}
	if writes && err == nil {
		if err := checkReplace(fsys, deadline, textfile, tdir); err != nil {
			return absDir, err
		}
		// After the check above: the probe must not create a file in
		// the store.
		return absDir, probeWrite(fsys, deadline, textfile)
	}
	return absDir, nil
}

// checkReplace refuses a textfile that the rename after the pass could not
// replace, although this user can create a file beside it (probeWrite): a
// directory, or another user's file in a directory with the sticky bit
// (such as a shared 1777 directory), where only the file's or the
// directory's owner may replace it. dir is the textfile's directory, as
// Stat found it. A textfile missing yet, or a file system that gives no
// answer by deadline, is no error here.
func checkReplace(fsys PathFS, deadline time.Time, textfile string, dir fs.FileInfo) error {
	var fi fs.FileInfo
	err := bounded(time.Until(deadline), func() (err error) { fi, err = fsys.Lstat(textfile); return err })
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNoAnswer):
		return nil
	case err != nil:
		return cmdutil.UsageErrorf("--textfile %s: %w", textfile, err)
	case fi.IsDir():
		return cmdutil.UsageErrorf("--textfile %s is a directory: give the path of the .prom file to write, in the textfile collector's directory", textfile)
	}
	return replaceable(textfile, dir, fi, os.Geteuid(), overridesSticky(fi))
}

// stickyPriv is cmdutil.StickyPriv, under the names this package's
// checks and their tests use.
type stickyPriv = cmdutil.StickyPriv

// overridesSticky is cmdutil.OverridesSticky.
func overridesSticky(fi fs.FileInfo) stickyPriv { return cmdutil.OverridesSticky(fi) }

// probeWrite creates and removes a temp file in textfile's directory, as
// WriteTextfile does after the pass: a directory this user cannot write
// in (mode 0555, another owner, a read-only mount) is refused before the
// pass, not found after it. The temp file is named as WriteTextfile's
// are, so that one left by a process killed in between is removed as
// stale by a later write. A file system that gives no answer by deadline
// is no error here: the pass reports the mount. Nor is a full one
// (ENOSPC, EDQUOT), which is no mistake in the job: the pass runs, and
// may free the room (a textfile beside the store, on its volume); where
// it does not, the write after it fails the run (exit 1).
func probeWrite(fsys PathFS, deadline time.Time, textfile string) error {
	tdir := filepath.Dir(textfile)
	var name string
	err := bounded(time.Until(deadline), func() (err error) {
		name, err = fsys.CreateTemp(tdir, "."+filepath.Base(textfile))
		if err != nil {
			return err
		}
		return fsys.Remove(name)
	})
	switch {
	case err == nil, errors.Is(err, errNoAnswer), name == "" && isFull(err):
		return nil
	case name != "":
		// Created but not removed: the write after the pass would
		// leave its temp files so too.
		return cmdutil.UsageErrorf("--textfile %s: cannot remove a file created in %s: %w", textfile, tdir, err)
	}
	return cmdutil.UsageErrorf("--textfile %s: cannot create a file in %s as this user (uid %d): %w", textfile, tdir, os.Getuid(), err)
}

// isFull reports whether err is a full file system or quota (ENOSPC,
// EDQUOT; Windows's codes for them too).
func isFull(err error) bool {
	return fserr.NoSpace(err)
}

// abs returns path made absolute and true, or path as given and false
// when the working directory gave no answer by deadline, or an error.
func abs(fsys PathFS, deadline time.Time, path string) (string, bool) {
	if filepath.IsAbs(path) {
		return filepath.Clean(path), true
	}
	var a string
	err := bounded(time.Until(deadline), func() (err error) { a, err = fsys.Abs(path); return err })
	if err != nil {
		return path, false
	}
	return a, true
}

// within reports whether path is dir or inside it, both absolute,
// comparing them cleaned and, when they resolve in fsys by deadline, with
// symbolic links resolved too (dir may not exist yet).
func within(fsys PathFS, deadline time.Time, path, dir string) bool {
	inside := func(p, d string) bool {
		rel, err := filepath.Rel(d, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	if inside(path, dir) {
		return true
	}
	// The textfile need not exist, its directory does (CheckPaths).
	// Bounded: the store may be on a hung mount; a path that does not
	// resolve in time is not compared (the pass then reports the mount).
	var rp, rd string
	err := bounded(time.Until(deadline), func() error {
		var err1, err2 error
		rp, err1 = fsys.EvalSymlinks(filepath.Dir(path))
		rd, err2 = fsys.EvalSymlinks(dir)
		return errors.Join(err1, err2)
	})
	return err == nil && inside(filepath.Join(rp, filepath.Base(path)), rd)
}

// minCheckWait is the least CheckPaths waits for an answer, however
// little of the budget is left (a --max-duration of a nanosecond).
const minCheckWait = 100 * time.Millisecond

// FSCheckTimeout bounds the file system calls made before a pass's
// watchdog starts (CheckPaths, which the budget may bound sooner) and
// after it gave up (writing --textfile): on a hung mount they never
// return.
const FSCheckTimeout = 5 * time.Second

// errNoAnswer: bounded gave up.
var errNoAnswer = errors.New("no answer from the file system")

// bounded runs f and returns its error, or errNoAnswer after d, leaving f
// blocked in its goroutine (a call into a hung NFS mount does not return).
func bounded(d time.Duration, f func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-t.C:
		return fmt.Errorf("%w within %v", errNoAnswer, d)
	}
}

// MinTempAge is the shortest --temp-age: a save in progress keeps its temp
// file for milliseconds, but for as long as a busy or failing-over NFS
// server takes to answer, and removing it under the save fails the save.
const MinTempAge = time.Minute

// CheckAges checks the --grace and --temp-age flags of run and stats.
func CheckAges(grace, tempAge time.Duration) error {
	switch {
	case grace <= 0:
		return cmdutil.UsageErrorf("--grace %v: want a positive duration", grace)
	case tempAge < MinTempAge:
		return cmdutil.UsageErrorf("--temp-age %v: want at least %v, or saves still in progress lose their temp files", tempAge, MinTempAge)
	}
	return nil
}

// Count formats n with thousands separators, for human output.
func Count(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Elapsed formats how long a pass took, for human output: to the
// millisecond, and "<1ms" when it took less but some time: rounded, a pass
// over an empty or small store printed "0s", as if it had not run. JSON
// summaries and metrics keep the exact seconds.
func Elapsed(d time.Duration) string {
	if d > 0 && d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// ElapsedSecs is Elapsed of a duration in seconds, as summaries hold it.
func ElapsedSecs(secs float64) string {
	return Elapsed(time.Duration(secs * float64(time.Second)))
}

// Bytes formats a byte count in binary units, for human output.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
