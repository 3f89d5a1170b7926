//go:build unix

package fsstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/proctest"
)

// keylessEnv selects the child-process role of this file's test.
const keylessEnv = "SESSFS_FSSTORE_KEYLESS_HELPER"

// TestKeylessHelper is not a test: it is the body of this file's child.
func TestKeylessHelper(t *testing.T) { proctest.Main(t, keylessEnv, runKeylessHelper) }

// runKeylessHelper opens the store without keys, and once the parent says
// "go" saves STORE_ID in a loop, on the real clock, until the store
// refuses; then it checks that a new ID is refused as well.
func runKeylessHelper(string) error {
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
