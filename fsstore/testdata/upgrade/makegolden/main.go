// Command makegolden writes a small store with the sessfs build it is
// compiled in, for fsstore's upgrade tests: see ../README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/sessfs/sessfs/fsstore"
)

// usage: makegolden DIR NAME [KEYSFILE]
func main() {
	var opts []fsstore.Option
	if len(os.Args) > 3 {
		keys, err := fsstore.KeysFromFile(os.Args[3])
		if err != nil {
			fail(err)
		}
		opts = append(opts, fsstore.WithKeys(keys...))
	}
	s, err := fsstore.Open(os.Args[1], opts...)
	if err != nil {
		fail(err)
	}
	defer s.Close()
	ctx := context.Background()
	// An unlocked save, then three locked read-modify-writes of a counter.
	if err := s.Save(ctx, &fsstore.Session{ID: "goldenPlainSession01", Data: []byte("written by " + os.Args[2])}); err != nil {
		fail(err)
	}
	for i := 0; i < 3; i++ {
		if err := incr(ctx, s, "goldenCounterSession"); err != nil {
			fail(err)
		}
	}
}

func incr(ctx context.Context, s *fsstore.Store, id string) error {
	l, err := s.Lock(ctx, id, fsstore.Exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock()
	sess, err := l.Load(ctx)
	n := 0
	switch {
	case err == nil:
		if n, err = strconv.Atoi(string(sess.Data)); err != nil {
			return err
		}
	case errors.Is(err, fsstore.ErrNotFound):
		sess = &fsstore.Session{ID: id}
	default:
		return err
	}
	sess.Data = []byte(strconv.Itoa(n + 1))
	return l.Save(ctx, sess)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "makegolden:", err)
	os.Exit(1)
}
