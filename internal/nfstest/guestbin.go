package nfstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
)

// The race detector cannot run inside the User-Mode-Linux guest: its
// ThreadSanitizer runtime maps shadow memory at fixed addresses above what a
// UML process may map (it fails with "ThreadSanitizer failed to allocate ...
// errno: 12"). A test binary built with -race therefore hands the guest a
// copy of itself built without -race: same package, same build tags.
var guestBin struct {
	once sync.Once
	path string
	err  error
}

// GuestBinary returns the test binary a User-Mode-Linux guest should run:
// this one, or, when it was built with -race, a copy built without it.
// For tests that boot a guest of their own rather than through Run.
func GuestBinary() (string, error) { return guestBinary() }

// guestBinary returns the test binary the guest should run.
func guestBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil || !raceEnabled {
		return exe, err
	}
	guestBin.once.Do(func() {
		guestBin.path, guestBin.err = buildGuestBinary()
	})
	return guestBin.path, guestBin.err
}

func buildGuestBinary() (string, error) {
	// go test runs a package's tests in the package's directory.
	pkgDir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	var tags string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				tags = s.Value
			}
		}
	}
	// A fixed path per package and tag set, overwritten by each run, so
	// repeated runs do not pile up binaries in /tmp (not /run: the guest
	// has its own /run).
	sum := sha256.Sum256([]byte(pkgDir + "\x00" + tags))
	dir := filepath.Join(os.TempDir(), "nfstest-bin", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "guest.test")
	// One build of the file at a time: a package's test binary and the
	// child that boots its guests (Start) both build it, and CI builds the
	// first guest's ahead of go test (.ci/run), at this path and under
	// this lock. Whoever comes second finds the file up to date, and go
	// test -c links nothing: in CI the first guest's link (sessgc's, 9-12 s
	// of a loaded machine) came after its package's race-enabled test
	// binary's, in the head of go test.
	_, release, err := lockMachine(context.Background(), out+".lock", nil)
	if err != nil {
		return "", fmt.Errorf("nfstest: building the guest's test binary: %w", err)
	}
	defer release()
	// Not vetted: go test vets the package as it builds the test binary
	// that asks for this one, and this build only holds up the guest.
	args := []string{"test", "-c", "-vet=off", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = pkgDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("nfstest: building a test binary without -race for the guest (the race detector cannot run in UML): %v\n%s", err, b)
	}
	return out, nil
}
