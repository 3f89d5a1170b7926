package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessfs/sessfs/internal/foreignname"
	"github.com/sessfs/sessfs/internal/nfsname"
	"github.com/sessfs/sessfs/lock"
)

// Names inside a store directory.
const (
	// MarkerFile identifies a store and records its fixed layout.
	MarkerFile = ".sessfs"
	// DataDir holds the session records, sharded.
	DataDir = "data"
	// LockDir holds the lock files (never removed while the store is used).
	LockDir = "locks"
)

// markerVersion is the layout version this package understands.
const markerVersion = 1

// marker is the content of MarkerFile.
type marker struct {
	shardDepth int
	stripes    int
	maxIdle    time.Duration // the largest idle timeout any process uses
	// everIdle is the largest max idle the marker ever held (at least
	// maxIdle): raises set both, and an operator who lowers the fleet's
	// timeout edits max-idle-seconds alone, so records written with the
	// older, longer value still carry at most this one. The sweep removes
	// a record by its mtime alone only past everIdle; between maxIdle and
	// everIdle it reads the record's header.
	everIdle time.Duration
	// encrypted: a process opened the store WithKeys. From then on a
	// process without keys refuses to open it for writing (see
	// markEncrypted), so that no host can write plaintext next to hosts
	// that refuse to read it.
	encrypted bool
	// unknown holds the lines of keys this build does not know, each with
	// its newline, in the order read: a later version's, which it relies
	// on as it relies on its own. A rewrite (a raise, the encrypted mark)
	// writes them back unchanged, so that a host of this version still
	// running during a rolling upgrade never erases what an upgraded host
	// wrote. A string, not a slice, so that markers stay comparable.
	unknown string
}

func (m marker) encode() []byte {
	b := fmt.Appendf(nil, "sessfs-store %d\nshard-depth %d\nlock-stripes %d\nmax-idle-seconds %d\nmax-idle-ever-seconds %d\n",
		markerVersion, m.shardDepth, m.stripes, int64(m.maxIdle/time.Second), int64(max(m.everIdle, m.maxIdle)/time.Second))
	if m.encrypted {
		b = append(b, "encrypted 1\n"...)
	}
	return append(b, m.unknown...)
}

// maxParsedMarker is the largest marker parseMarker accepts.
const maxParsedMarker = 4096

// errMarkerFull refuses a marker rewrite that would grow the marker past
// maxParsedMarker: written, it would be no store's marker to any host.
var errMarkerFull = errors.New("the marker has no room for the change")

// encodeRewrite is encode for a rewrite of the marker m was read from. A
// rewrite grows the marker (the encrypted mark's line, a raise's digits,
// a line the file lacked) and keeps a later version's lines, so a marker
// that parses may have no room for it: the rewrite is refused then, and
// the marker left as it was, readable by every host, rather than refused
// at parse, where hosts that need no rewrite would lose the store too.
func (m marker) encodeRewrite() ([]byte, error) {
	b := m.encode()
	if len(b) > maxParsedMarker {
		return nil, fmt.Errorf("%w: it would grow to %d bytes, past the %d bytes any build reads, %d of them lines of a later version this build keeps; the marker is left as it was (a host of that version, or an operator who removes lines no version in the fleet still needs, makes room)",
			errMarkerFull, len(b), maxParsedMarker, len(m.unknown))
	}
	return b, nil
}

// parseMarker parses a marker file. It is fuzzed: any input returns a
// marker or an error, never a panic.
func parseMarker(b []byte) (marker, error) {
	var m marker
	if len(b) > maxParsedMarker {
		return m, errors.New("marker file too large")
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			return m, fmt.Errorf("marker line %d: malformed", i+1)
		}
		if seen[k] {
			return m, fmt.Errorf("marker line %d: duplicate %q", i+1, k)
		}
		seen[k] = true
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return m, fmt.Errorf("marker line %d: %q is not a number", i+1, v)
		}
		switch {
		case i == 0 && k == "sessfs-store":
			if n != markerVersion {
				return m, fmt.Errorf("store layout version %d, this build understands %d", n, markerVersion)
			}
		case i == 0:
			return m, errors.New("marker does not start with sessfs-store")
		case k == "shard-depth" && n >= 0 && n <= 3:
			m.shardDepth = int(n)
		case k == "lock-stripes" && n >= 1 && n <= 1<<16:
			m.stripes = int(n)
		case k == "max-idle-seconds" && n >= 1 && n <= int64(math.MaxInt64/time.Second):
			m.maxIdle = time.Duration(n) * time.Second
		case k == "max-idle-ever-seconds" && n >= 1 && n <= int64(math.MaxInt64/time.Second):
			m.everIdle = time.Duration(n) * time.Second
		case k == "encrypted" && (n == 0 || n == 1):
			m.encrypted = n == 1
		case k == "shard-depth", k == "lock-stripes", k == "max-idle-seconds", k == "max-idle-ever-seconds", k == "encrypted":
			return m, fmt.Errorf("marker line %d: %s %d out of range", i+1, k, n)
		default:
			// A key of a later version: not understood, so not used, but
			// kept for encode (see marker.unknown).
			m.unknown += line + "\n"
		}
	}
	if !seen["sessfs-store"] || !seen["shard-depth"] || !seen["lock-stripes"] || !seen["max-idle-seconds"] {
		return m, errors.New("marker is missing a field")
	}
	// Markers written before the line existed, or by such a version since:
	// max-idle-seconds is all that is known.
	m.everIdle = max(m.everIdle, m.maxIdle)
	// A rewrite that would grow it past the limit is refused at the
	// rewrite (encodeRewrite), not here.
	return m, nil
}

// maxMarkerSize caps a marker read: a real one is a few dozen bytes.
const maxMarkerSize = 64 << 10

// readMarker reads the marker of the store in dir by path (Open, before
// the store holds its directory open; ReadLayout).
func readMarker(dir string) (marker, error) {
	p := filepath.Join(dir, MarkerFile)
	b, err := readSmallFile(p, maxMarkerSize)
	return decodeMarker(p, b, err)
}

// decodeMarker parses a marker read from p. A marker that is not a regular
// file (a FIFO, a device, a symlink: refused unopened or unread) or is too
// large is no store's marker: ErrNotStore, matching the cause as well.
func decodeMarker(p string, b []byte, err error) (marker, error) {
	switch {
	case err == errNotRegular, err == errTooBig, isSymlinkErr(err):
		return marker{}, fmt.Errorf("%w: %s: %w", ErrNotStore, p, err)
	case err != nil:
		return marker{}, err
	}
	m, err := parseMarker(b)
	if err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrNotStore, p, err)
	}
	return m, nil
}

// ReadLayout reports the layout recorded in an existing store directory:
// shard depth, lock stripes and the largest idle timeout in use. Tools use
// it to walk a store without opening it.
func ReadLayout(dir string) (shardDepth, lockStripes int, maxIdle time.Duration, err error) {
	if err := nulPath("ReadLayout", dir); err != nil {
		return 0, 0, 0, err
	}
	m, err := readMarker(dir)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w: %s has no %s", ErrNotStore, dir, MarkerFile)
	}
	return m.shardDepth, m.stripes, m.maxIdle, err
}

// isMarker reports whether dir holds a store's marker that parses.
func isMarker(dir string) bool {
	_, err := readMarker(dir)
	return err == nil
}

// nestDepth is how far above the directory given to Open the directory of
// a store that holds it can be: data/, then as many shard levels as
// WithShardDepth allows.
const nestDepth = 1 + 3

// storeAround returns the directory of the store whose data or lock
// directory is dir or holds it within nestDepth levels, and dir's path
// inside that store, with the store's own name for its data or lock
// directory; "" when there is none (see Open for why such a directory is
// refused).
//
// The links in dir's path are resolved first: a link to a store's data
// directory is that directory, and the names checked are the real ones.
// Only a component whose name is data or locks, ignoring case, costs a
// look-up (of the marker beside it), so that a store's usual path costs
// none beyond those of resolving the links.
//
// On a file system that ignores case (macOS's default, an SMB share, a
// Linux directory with the casefold attribute), DATA names a store's data
// directory too, and resolving the links keeps the name as given (on
// Windows it gives the stored names instead). A component that only folds
// to data or locks is the store's own when it is the same file as the
// directory of that name beside it, which is exact either way: where case
// tells names apart, a directory named DATA beside data is another
// directory, and no store's. That costs two look-ups more, made only for
// such a component beside a marker. It relies on the file system giving a
// directory one identity (device and inode number) under either name, as
// local file systems do; where one does not, such a path is not refused.
func storeAround(dir string) (root, rel string) {
	p := dir
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		p = r
	}
	for child, i := p, 0; i < nestDepth; i++ {
		parent := filepath.Dir(child)
		if parent == child {
			break
		}
		if own := storeName(filepath.Base(child)); own != "" {
			// Only a marker that parses: a stray ~/.sessfs must not
			// refuse a store at ~/data/sessions. One this process cannot
			// read is no reason to refuse either: if the directory is
			// unusable, Open's own checks say so.
			if isMarker(parent) && (own == filepath.Base(child) || sameFile(child, filepath.Join(parent, own))) {
				rel, err := filepath.Rel(child, p)
				if err != nil {
					return parent, p
				}
				return parent, filepath.Join(own, rel)
			}
		}
		child = parent
	}
	return "", ""
}

// storeName returns DataDir or LockDir for a name equal to either but
// for case, and "" for any other name.
func storeName(name string) string {
	for _, own := range []string{DataDir, LockDir} {
		if strings.EqualFold(name, own) {
			return own
		}
	}
	return ""
}

// sameFile reports whether the paths a and b name the same file, not
// following a link at the last component of either; false when either
// cannot be looked up.
func sameFile(a, b string) bool {
	fa, err := os.Lstat(a)
	if err != nil {
		return false
	}
	fb, err := os.Lstat(b)
	return err == nil && os.SameFile(fa, fb)
}

// foreignShown is how many entries that are not a store's a refusal to
// create a store lists: enough to recognise the directory.
const foreignShown = 3

// checkCreatable refuses to create a store in dir when dir holds anything
// a store does not keep at its top (see foreignAtRoot): its own names, and
// the temp files of a process creating it at the same moment, are
// allowed. A store assumes it owns its directory (its sweep removes old
// .tmp-* files there), and a directory with other files in it is more
// likely a mistaken path, such as the mount above the store or a home
// directory, than a place meant for sessions: sessgc refuses to touch such
// a directory as well. The error matches ErrNotStore, as for sessgc, and
// names a subdirectory that is a store, if one of those listed is.
func checkCreatable(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	var foreign []fs.DirEntry
	for len(foreign) <= foreignShown {
		ents, err := f.ReadDir(64)
		for _, e := range ents {
			// .nfsXXXX is an NFS client's name for a file removed while
			// still open, which the client removes itself: one here (a
			// store's, its marker's look-up answered from a stale
			// negative cache) says nothing of whose directory this is.
			if foreignAtRoot(e) && !nfsname.IsLeftover(e.Name()) {
				foreign = append(foreign, e)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return hideEntry(dir, err)
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	names := make([]string, 0, foreignShown+1)
	var inner string
	mountPoint := false
	for _, e := range foreign {
		// mkfs makes lost+found at a file system's root.
		mountPoint = mountPoint || e.IsDir() && e.Name() == "lost+found"
	}
	var others []string // the session stores whose files are there
	for _, e := range foreign[:min(len(foreign), foreignShown)] {
		name := e.Name()
		if prefix, store := otherSessionFile(e); store != "" {
			// The rest of the name is a live session ID: not for a log.
			name = prefix + "…"
			if !slices.Contains(others, store) {
				others = append(others, store)
			}
		}
		names = append(names, foreignname.HideTokens(name))
		// A store's marker, as the nested-store check judges one: a
		// stray .sessfs file does not make its directory a store.
		if e.IsDir() && inner == "" && isMarker(filepath.Join(dir, e.Name())) {
			inner = filepath.Join(dir, e.Name())
		}
	}
	if len(foreign) > foreignShown {
		names = append(names, "...")
	}
	err = fmt.Errorf("%w (no %s file) and not empty: it holds %s; a store is created only in an empty directory of its own",
		ErrNotStore, MarkerFile, strings.Join(names, ", "))
	if len(others) > 0 {
		err = fmt.Errorf("%w; those are the session files of %s: give sessfs a directory of its own beside them, and remove them once no host uses that store", err, strings.Join(others, " and "))
	}
	if inner != "" {
		err = fmt.Errorf("%w; %s is a store: open it to use that store", err, inner)
	}
	if mountPoint {
		err = fmt.Errorf("%w; lost+found says it is the root of a file system: create the store in a directory below it", err)
	}
	return err
}

// otherSessionFile recognises the files of the session stores an
// application moves from (docs/migrating.md): their names end in the
// session ID, which a refusal must not write into every host's log. It
// returns the name's prefix and the store's name, or "" for another file.
func otherSessionFile(e fs.DirEntry) (prefix, store string) {
	if e.IsDir() {
		return "", ""
	}
	for _, o := range []struct{ prefix, store string }{
		{"sess_", "PHP's files handler"},
		{"session_", "gorilla/sessions' FilesystemStore"},
	} {
		if len(e.Name()) > len(o.prefix) && strings.HasPrefix(e.Name(), o.prefix) {
			return o.prefix, o.store
		}
	}
	return "", ""
}

// initStore creates the layout of a new store, or returns the marker of one
// that another process created first. The marker is written to a temp file
// and published with link(2), which fails if the name exists: of several
// processes creating the store at once exactly one wins and the others read
// its marker.
func initStore(dir string, c *config) (marker, error) {
	var made []string // the directories this call created
	for _, d := range []string{DataDir, LockDir} {
		p := filepath.Join(dir, d)
		err := os.Mkdir(p, c.dirMode)
		if err == nil {
			made = append(made, p)
		} else if !errors.Is(err, fs.ErrExist) {
			return marker{}, err
		}
	}
	m := marker{shardDepth: c.shardDepth, stripes: c.lockStripes, maxIdle: c.idle}
	tmp := filepath.Join(dir, tempPrefix+"marker-"+randHex(8))
	// Synced before the link: the directory is synced after it, so
	// without this a power loss soon after creating the store could keep
	// the name and lose the content, and no process could open the store
	// again (an empty marker is malformed).
	if err := writeSynced(tmp, m.encode(), markerMode(c.fileMode, c.dirMode)); err != nil {
		return m, err
	}
	defer os.Remove(tmp)
	err := os.Link(tmp, filepath.Join(dir, MarkerFile))
	if errors.Is(err, fs.ErrExist) {
		return readMarker(dir)
	}
	if noHardLinks(err) {
		// Refused before anything of the store is in place: the
		// directories go too (each only while empty), so that the
		// directory is as it was, not a store half made.
		for _, p := range slices.Backward(made) {
			os.Remove(p)
		}
		return m, fmt.Errorf("%w: %v", ErrNoHardLinks, err)
	}
	if err != nil {
		return m, err
	}
	return m, syncDir(dir)
}

// writeSynced creates the file name with data and fsyncs it.
func writeSynced(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// markerLock names the lock, in the store's lock directory, that serializes
// raises of the marker's max idle across processes and hosts.
const markerLock = "marker"

// MaxIdleTimeout is the largest idle timeout a store or a record may carry:
// 400 days, the longest a browser keeps a cookie (RFC 6265bis caps
// Max-Age there), so no session can usefully outlive it.
const MaxIdleTimeout = 400 * 24 * time.Hour

// raiseMaxIdle makes the marker's max idle (and the largest it ever held)
// at least idle, so that a sweep judging files by the marker alone never
// takes a record this process writes for expired before its own expiry.
//
// The raise is a read-modify-write under a dedicated lock (markerLock, in
// the store's lock strategy, so it excludes other hosts wherever the
// session locks do): read the marker, write the larger value (temp file,
// fsync, rename, directory fsync), verify the lock was held throughout, and
// read the marker back. A value is only ever replaced by a larger one, so
// raises converge under any interleaving; the loop ends when the marker
// shows at least idle, or with ctx. On NFS every read revalidates the store
// directory first, so the name is looked up again when another host has
// replaced the marker (see Store.refreshDir).
//
// Lowering is never done here: other processes may still use the larger
// value. Operators lower it by hand (docs/operations.md).
func (s *Store) raiseMaxIdle(ctx context.Context, idle time.Duration) (marker, error) {
	for {
		m, err := s.readMarkerReplaced()
		if err != nil || m.maxIdle >= idle {
			return m, err
		}
		h, err := s.locks.Lock(ctx, markerLock, markerLock, lock.Exclusive)
		if err != nil {
			return m, fmt.Errorf("raise max idle: %w", closedLock(err))
		}
		// Under the lock the marker may already cover idle: another raise
		// got there first.
		if m, err = s.readMarkerReplaced(); err != nil || m.maxIdle >= idle {
			s.unlockLogged(h, "raise max idle", "")
			return m, err
		}
		next := m
		next.maxIdle = idle
		next.everIdle = max(m.everIdle, idle)
		b, err := next.encodeRewrite()
		if err != nil {
			s.unlockLogged(h, "raise max idle", "")
			return m, fmt.Errorf("raise max idle: %w", err)
		}
		err = writeAtomic(s.dir, MarkerFile, b, markerMode(s.cfg.fileMode, s.cfg.dirMode), s.cfg.dirMode, DurabilityFull, false)
		if err == nil {
			// A lock lost while we wrote means another raise may have run
			// meanwhile: read again, and raise again if ours is not there.
			err = h.Verify()
		}
		if hook := s.testHooks.markerUnlock; hook != nil {
			hook("raise max idle")
		}
		// Verify decided; a failed release is logged, as the store's
		// other maintenance does (unlockLogged).
		s.unlockLogged(h, "raise max idle", "")
		if err != nil && !errors.Is(err, lock.ErrLockLost) {
			return m, fmt.Errorf("raise max idle: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return m, fmt.Errorf("raise max idle: %w", err)
		}
	}
}

// readMarker reads the store's marker, on NFS after revalidating the store
// directory so that a marker another host replaced is looked up again
// rather than opened through a stale cached handle.
func (s *Store) readMarker() (marker, error) {
	p := filepath.Join(s.dir, MarkerFile)
	s.refreshDir(p)
	b, _, err := s.root.readFile(p, maxMarkerSize)
	return decodeMarker(p, b, err)
}

// markerReadTries bounds readMarkerReplaced's reads.
const markerReadTries = 3

// readMarkerReplaced is readMarker for a store known to have its marker
// (open, or being opened past its read): a marker another process is
// renaming a raised copy over can be missing for an instant to an NFS
// client that looked the name up before the rename (ENOENT, ESTALE), and a
// raise that gave up on it failed a fresh store's Open on one host while
// the other raised it. Read again, the directory refreshed, a few times.
func (s *Store) readMarkerReplaced() (marker, error) {
	for i := 1; ; i++ {
		m, err := s.readMarker()
		if i == markerReadTries || !errors.Is(err, fs.ErrNotExist) && !isStale(err) {
			return m, err
		}
	}
}

// markerMode is the marker's permission: the session file mode, plus read
// for whoever may list the store directory, so that tools running as
// another user (monitoring, sessgc stats) can read the layout.
func markerMode(file, dir fs.FileMode) fs.FileMode { return file | 0o044&dir }

// shardPath returns the directory holding the record with the given name:
// one level of two hex digits per depth.
func shardPath(dataDir, name string, depth int) string {
	if depth == 0 {
		return dataDir
	}
	parts := make([]string, 0, depth+1)
	parts = append(parts, dataDir)
	for i := 0; i < depth; i++ {
		parts = append(parts, name[2*i:2*i+2])
	}
	return filepath.Join(parts...)
}

// stripeName names the lock file of a stripe.
func stripeName(stripe uint32, stripes int) string {
	var b [8]byte
	return string(appendStripeName(b[:0], stripe, stripes))
}

// appendStripeName appends stripeName(stripe, stripes) to b.
func appendStripeName(b []byte, stripe uint32, stripes int) []byte {
	// By hand, not fmt: this runs on every Lock.
	const digits = "0123456789abcdef"
	n := stripe % uint32(stripes)
	if n > 0xffff {
		return fmt.Appendf(b, "%04x", n)
	}
	return append(b, digits[n>>12], digits[n>>8&0xf], digits[n>>4&0xf], digits[n&0xf])
}

// ensureMaxIdle makes sure the marker's max idle covers d (rounded up to
// the marker's whole seconds) before a record that relies on it is written.
// The common case, d already covered, costs an atomic load.
func (s *Store) ensureMaxIdle(ctx context.Context, d time.Duration) error {
	d = (d + time.Second - 1).Truncate(time.Second)
	storeMax(&s.ownIdle, int64(d))
	if d <= time.Duration(s.maxIdle.Load()) {
		return nil
	}
	// Raises of the process take turns: the marker's lock would serialize
	// them anyway, and one at a time leaves the others to find the
	// marker raised far enough. The turn is waited for as the lock is,
	// with the caller's context: the raise under way may wait for the
	// marker's lock (held by another process, or by one stopped while it
	// held it) for as long as its own context allows, and a sync.Mutex
	// here kept a request with a deadline waiting behind it past its own.
	select {
	case s.raising <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("raise max idle: waiting for the raise under way in this process: %w", &turnWaitError{err: ctx.Err()})
	}
	defer func() { <-s.raising }()
	if d <= time.Duration(s.maxIdle.Load()) {
		return nil
	}
	m, err := s.raiseMaxIdle(ctx, d)
	if err != nil {
		return err
	}
	storeMax(&s.maxIdle, int64(m.maxIdle))
	return nil
}

// effectiveIdle is how long after its last write or touch a record saved
// now with idle timeout idle and absolute deadline deadline (zero: none)
// can stay live: the idle timeout, cut to the time left until the deadline.
// That is what the marker must cover; later touches cannot lengthen it, as
// the deadline does not move.
func effectiveIdle(now time.Time, idle time.Duration, deadline time.Time) time.Duration {
	if !deadline.IsZero() {
		if left := deadline.Sub(now); left < idle {
			return max(left, 0)
		}
	}
	return idle
}

// turnWaitError is a context's end while waiting for a turn of the
// process (a raise of the marker under way): it matches ErrLocked and the
// context's error, as the end of a wait for a lock does, so that callers
// tell a wait that ran out from a failure.
type turnWaitError struct{ err error }

func (e *turnWaitError) Error() string {
	return fmt.Sprintf("%v while waiting: %v", ErrLocked, e.err)
}

func (e *turnWaitError) Unwrap() []error { return []error{ErrLocked, e.err} }
