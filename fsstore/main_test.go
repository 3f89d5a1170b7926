package fsstore_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/nfstest"
)

// storelessTests are the tests of what the package offers where the store
// does not run: session IDs and the names made from them, keys and keys
// files, the layout marker, outcomes.
const storelessTests = `^(FuzzStoreNames|FuzzValidID|TestNewIDIsValid|TestStripeNameMatchesFormat|` +
	`FuzzParseKeys|TestKeyFormattingRedactsSecret|TestKeysFileEncodingAndSize|TestKeysFileOpenErrorsSayWhatToDo|` +
	`FuzzParseMarker|TestParseMarker.*|TestOutcomeOf|TestOutcomeWindowsCodes|` +
	`TestDocumentedListsAndNames|TestDocumentedErrors|TestDocumentedIDs|TestDocumentedKeys|TestNewKeyRefusesIDZero)$`

// TestMain runs only storelessTests where the store does not run, unless
// -test.run picks others: the other tests need a store, and Open there
// fails with ErrNotSupported by design. An Open that fails otherwise
// there, or a platform where Open works, runs the suite.
func TestMain(m *testing.M) {
	s, err := fsstore.Open(os.TempDir(), fsstore.WithCreate(false))
	if s != nil {
		s.Close()
	}
	if errors.Is(err, fsstore.ErrNotSupported) {
		flag.Parse()
		if flag.Lookup("test.run").Value.String() == "" {
			fmt.Fprintf(os.Stderr, "fsstore: only the tests without a store run: %v\n", err)
			if err := flag.Set("test.run", storelessTests); err != nil {
				panic(err)
			}
		}
		os.Exit(m.Run())
	}
	// With NFSTEST_EARLY=1 the NFS tests' guests run beside the other
	// tests rather than after them (see nfstest.Start).
	wait := nfstest.Start(nfsGuests...)
	code := m.Run()
	wait()
	os.Exit(code)
}
