package fsstore_test

import (
	"fmt"
	"log"

	"github.com/sessfs/sessfs/fsstore"
)

// A host whose keys file a rotation's step missed seals new sessions
// under the key being rotated away from, and nothing fails there.
// NewestKeyBehind says so, for a status page or a readiness report
// (metrics/prom exports it as sessfs_newest_key_behind).
func ExampleStore_NewestKeyBehind() {
	dir, cleanup := exampleDir()
	defer cleanup()
	k1, _ := fsstore.NewKey(1)
	k2, _ := fsstore.NewKey(2)
	// Key 1 was the hosts' newest key, then they rotated to key 2.
	for _, keys := range [][]fsstore.Key{{k1, k2}, {k2, k1}} {
		host, err := fsstore.Open(dir, fsstore.WithKeys(keys...))
		if err != nil {
			log.Fatal(err)
		}
		host.Close()
	}

	// This host's keys file still puts key 1 first.
	st, err := fsstore.Open(dir, fsstore.WithKeys(k1, k2))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if b, behind := st.NewestKeyBehind(); behind {
		fmt.Printf("sealing under key %d, which the hosts rotated away from to key %d: update this host's keys file\n", b.Newest, b.Newer)
	}
	// Output:
	// sealing under key 1, which the hosts rotated away from to key 2: update this host's keys file
}
