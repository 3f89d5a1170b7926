package lock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExportedDirMeetsServerLocks: a process on the NFS server's own host
// that uses the exported directory directly (sessgc from the server's
// cron, a local worker) locked it with flock(2), which the server's locks
// for its clients (byte-range locks on the file, their flocks included)
// neither meet nor are met by: it and the clients held the same lock.
// The server's lock for a client is stood for here by a byte-range lock
// of the test's own (an open file description lock conflicts with those
// of its own process too).
func TestExportedDirMeetsServerLocks(t *testing.T) {
	dir, etab := exportedDir(t, func(dir string) string {
		return "/elsewhere\t*(rw,sync)\n" + filepath.Dir(dir) + "\t192.0.2.0/24(rw,sync,no_subtree_check)\n"
	})
	tab, err := NewTable(Config{Dir: dir, Strategy: Flock, exportTables: []string{etab}})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	fd, server := asServer(t, filepath.Join(dir, "s1"))
	server(unix.F_WRLCK) // a client holds the lock
	if h, err := tab.TryLock("s1", "a", Exclusive); err == nil {
		h.Unlock()
		t.Fatal("TryLock in a directory this host exports took the lock that the NFS server holds for a client")
	} else if !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock beside a client's lock: %v, want ErrLocked", err)
	}
	server(unix.F_UNLCK)
	h, err := tab.TryLock("s1", "a", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	// A client asking now finds it held.
	if !heldToClients(t, fd) {
		t.Fatal("a lock held by the Table in an exported directory is free to the NFS server's clients")
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	if heldToClients(t, fd) {
		t.Fatal("the Table's lock is still held after Unlock")
	}
}

// TestExportedDirKeysShareOneLock: where the table takes an open file
// description lock besides the flock (a directory this host's NFS server
// exports), a goroutine holding one key still takes others on the same
// file without waiting for itself, in either mode, and the file stays
// held against the server's clients until the last key is let go. An
// open file description lock of a second descriptor excludes the first
// one's, in one process too: the keys must share the one descriptor.
func TestExportedDirKeysShareOneLock(t *testing.T) {
	dir, etab := exportedDir(t, nil)
	tab, err := NewTable(Config{Dir: dir, Strategy: Flock, exportTables: []string{etab}})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	// A hang detector only: nothing here may wait.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := tab.Lock(ctx, "s1", "a", Shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.Lock(ctx, "s1", "b", Exclusive)
	if err != nil {
		t.Fatalf("Lock of a second key on the held file: %v", err)
	}
	c, err := tab.TryLock("s1", "c", Exclusive)
	if err != nil {
		t.Fatalf("TryLock of a third key on the held file: %v", err)
	}
	fd, _ := asServer(t, filepath.Join(dir, "s1"))
	for i, h := range []*Handle{a, b, c} {
		if !heldToClients(t, fd) {
			t.Fatalf("s1 free to the server's clients with %d of its 3 keys let go", i)
		}
		if err := h.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	if heldToClients(t, fd) {
		t.Fatal("s1 still held after its last key was let go")
	}
}

// TestExportedDirMeetsFlockOfSameHost: two processes of the server's host
// that judged the same directory differently (one started before it was
// exported, or before a client used the export and the kernel listed it;
// one in a container that sees no export table) must still exclude each
// other: open file description locks and flocks do not meet, so the one
// that takes the former takes a flock too.
func TestExportedDirMeetsFlockOfSameHost(t *testing.T) {
	dir, etab := exportedDir(t, nil)
	exported, err := NewTable(Config{Dir: dir, Strategy: Flock, exportTables: []string{etab}})
	if err != nil {
		t.Fatal(err)
	}
	defer exported.Close()
	plain, err := NewTable(Config{Dir: dir, Strategy: Flock, exportTables: []string{filepath.Join(dir, "no-etab")}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, tc := range []struct {
		name         string
		first, other *Table
	}{
		{"exported first", exported, plain},
		{"flock first", plain, exported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := tc.first.TryLock("s1", "a", Exclusive)
			if err != nil {
				t.Fatal(err)
			}
			if h2, err := tc.other.TryLock("s1", "a", Exclusive); err == nil {
				h2.Unlock()
				t.Fatal("a Table that judged the directory exported and one that did not both took s1")
			} else if !errors.Is(err, ErrLocked) {
				t.Fatalf("TryLock beside the other Table's lock: %v, want ErrLocked", err)
			}
			if err := h.Unlock(); err != nil {
				t.Fatal(err)
			}
			h2, err := tc.other.TryLock("s1", "a", Exclusive)
			if err != nil {
				t.Fatalf("TryLock after the other Table's Unlock: %v", err)
			}
			if err := h2.Unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExportedDirFileLockMeetsServerLocks: TryLockFile (the fleet lock
// that lets one sessgc pass run at a time) in a directory this host's NFS
// server exports meets the server's locks for its clients, as a Table
// does: sessgc from the server's cron and sessgc on a client both swept.
func TestExportedDirFileLockMeetsServerLocks(t *testing.T) {
	dir, etab := exportedDir(t, nil)
	ops := fileOps{exportTables: []string{etab}}
	path := filepath.Join(dir, "sessgc.lock")
	fd, server := asServer(t, path)
	server(unix.F_WRLCK) // a client's sessgc holds the fleet lock
	if l, err := tryLockFileWith(path, ops); err == nil {
		l.Unlock()
		t.Fatal("TryLockFile in a directory this host exports took the lock that the NFS server holds for a client")
	} else if !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLockFile beside a client's lock: %v, want ErrLocked", err)
	}
	server(unix.F_UNLCK)
	l, err := tryLockFileWith(path, ops)
	if err != nil {
		t.Fatal(err)
	}
	if !heldToClients(t, fd) {
		t.Fatal("a TryLockFile lock in an exported directory is free to the NFS server's clients")
	}
	// A process of this host that does not see the export still meets it.
	if l2, err := tryLockFileWith(path, fileOps{exportTables: []string{}}); err == nil {
		l2.Unlock()
		t.Fatal("a second TryLockFile took the held lock")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if heldToClients(t, fd) {
		t.Fatal("the lock is still held after Unlock")
	}
}

// exportedDir returns a new directory, by its real path, and an export
// table (as the kernel's etab) that exports it: with the lines lines
// gives for it, or, lines nil, the directory itself to every client.
func exportedDir(t *testing.T, lines func(dir string) string) (dir, etab string) {
	t.Helper()
	dir = t.TempDir()
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	if lines == nil {
		lines = func(dir string) string { return dir + "\t*(rw,sync)\n" }
	}
	etab = filepath.Join(t.TempDir(), "etab")
	if err := os.WriteFile(etab, []byte(lines(dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, etab
}

// heldToClients reports whether a write lock on fd's file conflicts with a
// lock held elsewhere, as the NFS server asks for a client (F_GETLK).
func heldToClients(t *testing.T, fd int) bool {
	t.Helper()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_GETLK, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type != unix.F_UNLCK
}

// asServer opens path as the NFS server does for a client's lock, and
// returns the descriptor and a function that sets the client's POSIX
// lock on the whole file (F_WRLCK, F_UNLCK) through it.
func asServer(t *testing.T, path string) (int, func(typ int16)) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, func(typ int16) {
		t.Helper()
		if err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &unix.Flock_t{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
}
