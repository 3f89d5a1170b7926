//go:build !linux

package fsstore

import (
	"context"
	"io/fs"
)

// direntBufSize is what a name takes in forEachName's buffer here (on
// Linux the buffer receives getdents64's listing).
const direntBufSize = 256

// forEachName calls fn with the name and type of every entry of dir, as
// on Linux, from forEachEntry: name, copied into buf, is valid only
// during the call.
func (r *rootDir) forEachName(ctx context.Context, dir string, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	name := buf[:0]
	return r.forEachEntry(ctx, dir, func(e fs.DirEntry) {
		name = append(name[:0], e.Name()...)
		fn(name, e.Type())
	})
}
