package fsstore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sessfs/sessfs/fsstore"
)

// Open never creates the store's directory, and creates a store only in an
// empty directory of its own: a path below a share that is not mounted on
// this host fails, rather than split the fleet's sessions onto the local
// disk, and so does a directory that holds something else (the mount point
// itself, a home directory).
func ExampleOpen() {
	mnt, cleanup := exampleDir() // stands for /mnt/efs
	defer cleanup()
	sessions := filepath.Join(mnt, "sessions")

	_, err := fsstore.Open(sessions)
	fmt.Println("no directory yet:", errors.Is(err, fs.ErrNotExist))

	if err := os.WriteFile(filepath.Join(mnt, "README"), nil, 0o600); err != nil {
		log.Fatal(err)
	}
	_, err = fsstore.Open(mnt)
	fmt.Println("a directory with other files:", errors.Is(err, fsstore.ErrNotStore))

	// What the operator does once per fleet:
	// install -d -o app -m 0700 /mnt/efs/sessions
	if err := os.Mkdir(sessions, 0o700); err != nil {
		log.Fatal(err)
	}
	// Without WithLogger the store logs nothing: give it the application's.
	st, err := fsstore.Open(sessions, fsstore.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	_, err = os.Stat(filepath.Join(sessions, fsstore.MarkerFile))
	fmt.Println("store created:", err == nil)
	// Output:
	// no directory yet: true
	// a directory with other files: true
	// store created: true
}
