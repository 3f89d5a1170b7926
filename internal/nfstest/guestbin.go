package nfstest

import (
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
	exe, err := guestBinaryPath()
	if err != nil || !raceEnabled {
		return exe, err
	}
	guestBin.once.Do(func() {
		guestBin.path, guestBin.err = exe, buildGuestBinary(exe)
	})
	return guestBin.path, guestBin.err
}

// guestBinaryPath returns where guestBinary puts the test binary the guest
// should run, without building it: Run boots the guest while it builds.
func guestBinaryPath() (string, error) {
	exe, err := os.Executable()
	if err != nil || !raceEnabled {
		return exe, err
	}
	// go test runs a package's tests in the package's directory.
	pkgDir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	// A fixed path per package and tag set, overwritten by each run, so
	// repeated runs do not pile up binaries in /tmp (not /run: the guest
	// has its own /run).
	sum := sha256.Sum256([]byte(pkgDir + "\x00" + buildTags()))
	return filepath.Join(os.TempDir(), "nfstest-bin", hex.EncodeToString(sum[:8]), "guest.test"), nil
}

// buildTags returns the -tags this test binary was built with.
func buildTags() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				return s.Value
			}
		}
	}
	return ""
}

// buildGuestBinary builds this package's test binary without -race, as out.
func buildGuestBinary(out string) error {
	pkgDir, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	tags := buildTags()
	args := []string{"test", "-c", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = pkgDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nfstest: building a test binary without -race for the guest (the race detector cannot run in UML): %v\n%s", err, b)
	}
	return nil
}
