//go:build !linux

package nfstest

import "context"

// lockMachine does nothing here: guests boot only on Linux (see Available),
// so there is nothing to serialize.
func lockMachine(ctx context.Context, path string, waiting func(holder string)) (string, func(), error) {
	return path, func() {}, nil
}
