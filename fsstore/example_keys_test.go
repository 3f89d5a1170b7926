package fsstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sessfs/sessfs/fsstore"
)

// reloads passes the outcomes of keys file reloads to a channel.
type reloads chan fsstore.Outcome

func (c reloads) Observe(e fsstore.Event) {
	if e.Op == fsstore.OpKeysReload {
		c <- e.Outcome
	}
}

// Encryption at rest with a keys file that operators rotate without
// restarting the application. (`sessgc keygen --id N` prints a key line.)
func ExampleWithKeysFile() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sessions-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	storeDir, keysDir := filepath.Join(dir, "store"), filepath.Join(dir, "etc")
	for _, d := range []string{storeDir, keysDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			log.Fatal(err)
		}
	}
	keysFile := filepath.Join(keysDir, "keys") // in production: on each host's local disk, mode 0600
	k1, _ := fsstore.NewKey(1)
	k2, _ := fsstore.NewKey(2)
	if err := os.WriteFile(keysFile, []byte(k1.SecretLine()+"\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	events := make(reloads, 8)
	st, err := fsstore.Open(storeDir, fsstore.WithKeysFile(keysFile), fsstore.WithObserver(events))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// Replace the file atomically: write a temporary file, rename it over.
	deploy := func(keys ...fsstore.Key) {
		var text string
		for _, k := range keys {
			text += k.SecretLine() + "\n"
		}
		tmp := keysFile + ".new"
		if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, keysFile); err != nil {
			log.Fatal(err)
		}
		fmt.Println("reload:", <-events)
	}
	// Rotation, step 1, on every host: the new key after the old one.
	// Every host can read key 2; all still write with key 1.
	deploy(k1, k2)
	// Step 2, once every host has step 1: the new key first. New writes
	// use it, and every host can read them. (Then `sessgc rekey`, then
	// deploy key 2 alone.)
	deploy(k2, k1)

	// New saves use key 2; a store holding only key 2 reads them.
	id, _ := fsstore.NewID()
	if err := st.Save(ctx, &fsstore.Session{ID: id, Data: []byte("hello")}); err != nil {
		log.Fatal(err)
	}
	only2, err := fsstore.Open(storeDir, fsstore.WithKeys(k2))
	if err != nil {
		log.Fatal(err)
	}
	defer only2.Close()
	sess, err := only2.Load(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(sess.Data))
	// Output:
	// reload: ok
	// reload: ok
	// hello
}
