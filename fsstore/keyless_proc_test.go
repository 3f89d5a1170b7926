//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// keylessEnv selects the child-process role of this file's test.
const keylessEnv = "SESSFS_FSSTORE_KEYLESS_HELPER"

// TestKeylessHelper is not a test: it is the body of this file's child.
func TestKeylessHelper(t *testing.T) { proctest.Main(t, keylessEnv, runKeylessHelper) }

// runKeylessHelper opens the store without keys, and once the parent says
// "go" saves STORE_ID in a loop, on the real clock, until the store
// refuses; then it checks that a new ID is refused as well. The roles
// "running" and "fresh" are TestKeylessProcessesRefuseKeyFiles's.
func runKeylessHelper(role string) error {
	switch role {
	case "running":
		return runKeylessRunning()
	case "fresh":
		return runKeylessFresh()
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Deadline)
	defer cancel()
	s, err := fsstore.Open(os.Getenv("STORE_DIR"), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		return err
	}
	defer s.Close()
	proctest.Say("opened")
	bufio.NewScanner(os.Stdin).Scan()
	id := os.Getenv("STORE_ID")
	for n := 0; ; n++ {
		err := s.Save(ctx, &fsstore.Session{ID: id, Data: []byte("clear")})
		if errors.Is(err, fsstore.ErrKeysRequired) {
			break
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("still saving plaintext after %d saves", n)
		}
	}
	fresh, err := fsstore.NewID()
	if err != nil {
		return err
	}
	if err := s.Save(ctx, &fsstore.Session{ID: fresh, Data: []byte("clear")}); !errors.Is(err, fsstore.ErrKeysRequired) {
		return fmt.Errorf("save under a new ID after the refusal: %v, want ErrKeysRequired", err)
	}
	proctest.Say("refused")
	return nil
}

// TestKeylessProcessLearnsEncryption is TestKeylessStoreLearnsEncryption's
// marker case across two real processes: a process without keys, running
// before another opened the store with keys, stops saving.
func TestKeylessProcessLearnsEncryption(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if s, err := fsstore.Open(dir); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	id := newID(t)
	c := proctest.Start(t, "TestKeylessHelper", keylessEnv, "keyless", []string{"STORE_DIR=" + dir, "STORE_ID=" + id})
	c.Expect(t, "opened")
	keyed, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer keyed.Close()
	if err := keyed.Save(ctx, &fsstore.Session{ID: id, Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	c.Send(t, "go")
	c.Expect(t, "refused")
	c.Finish(t)
}

// runKeylessRunning opens the store without keys on a clock of its own,
// which it moves KeylessRecheck ahead once the parent says "go", so that
// its next save re-reads the marker at once; that save must be refused.
func runKeylessRunning() error {
	var ahead atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	s, err := fsstore.Open(os.Getenv("STORE_DIR"), fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithClock(clock))
	if err != nil {
		return err
	}
	defer s.Close()
	proctest.Say("opened")
	bufio.NewScanner(os.Stdin).Scan()
	ahead.Store(int64(fsstore.KeylessRecheck))
	err = s.Save(context.Background(), &fsstore.Session{ID: os.Getenv("STORE_ID"), Data: []byte(`{"user":"admin"}`)})
	if !errors.Is(err, fsstore.ErrKeysRequired) || !strings.Contains(err.Error(), ".keycheck-1") {
		return fmt.Errorf("save at the re-read of the marker, with .keycheck-1 at the store's top: %v, want ErrKeysRequired naming .keycheck-1", err)
	}
	proctest.Say("refused")
	return nil
}

// runKeylessFresh opens the store without keys: the Open must be refused.
func runKeylessFresh() error {
	s, err := fsstore.Open(os.Getenv("STORE_DIR"), fsstore.WithDurability(fsstore.DurabilityNone))
	if err == nil {
		saveErr := s.Save(context.Background(), &fsstore.Session{ID: os.Getenv("STORE_ID"), Data: []byte(`{"user":"admin"}`)})
		s.Close()
		return fmt.Errorf("opened the store without keys (a save of plaintext: %v), want ErrKeysRequired", saveErr)
	}
	if !errors.Is(err, fsstore.ErrKeysRequired) || !strings.Contains(err.Error(), ".keycheck-1") {
		return fmt.Errorf("Open without keys: %v, want ErrKeysRequired naming .keycheck-1", err)
	}
	proctest.Say("refused")
	return nil
}

// TestKeylessProcessesRefuseKeyFiles is TestKeylessOpenRefusesKeyFiles
// and TestKeylessStoreStopsAtKeyFile across real processes: a keyed
// process marks the store and saves, and a writer of the mount removes
// the marker's "encrypted 1" line at once. A process without keys that
// had the store open since before stops saving at its next re-read of the
// marker, and one started after is refused at Open: both find the keyed
// process's check file. Before, both wrote plaintext until a keyed
// process's save put the line back, a minute later at best.
func TestKeylessProcessesRefuseKeyFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if s, err := fsstore.Open(dir); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	env := []string{"STORE_DIR=" + dir, "STORE_ID=" + newID(t)}
	running := proctest.Start(t, "TestKeylessHelper", keylessEnv, "running", env)
	running.Expect(t, "opened")
	keyed, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer keyed.Close()
	if err := keyed.Save(ctx, &fsstore.Session{ID: newID(t), Data: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	stripEncryptedLine(t, dir)
	fresh := proctest.Start(t, "TestKeylessHelper", keylessEnv, "fresh", env)
	fresh.Expect(t, "refused")
	fresh.Finish(t)
	running.Send(t, "go")
	running.Expect(t, "refused")
	running.Finish(t)
	if n := len(recordPaths(t, dir)); n != 1 {
		t.Errorf("%d records on disk, want the keyed process's 1", n)
	}
}
