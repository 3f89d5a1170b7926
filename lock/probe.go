package lock

import (
	"errors"
	"fmt"
	"os"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// probe checks cfg.Dir and resolves cfg.Strategy to Flock or Lease.
func probe(cfg *Config) (Strategy, error) {
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return 0, err
	}
	if !st.IsDir() {
		return 0, fmt.Errorf("lock: %s is not a directory", cfg.Dir)
	}
	localOnly := ""
	if m, err := mountinfo.Lookup(cfg.Dir); err == nil && m.IsNFS() {
		cfg.nfs = true
		// With local_lock=flock (or all) the client keeps flock locks to
		// itself: two hosts would both "hold" the same lock.
		if v, ok := m.Option("local_lock"); ok && (v == "flock" || v == "all") {
			localOnly = v
		}
	}
	switch cfg.Strategy {
	case Flock:
		if localOnly != "" {
			return 0, fmt.Errorf("%w: %s is an NFS mount with local_lock=%s, so flock does not exclude other hosts; use the lease strategy or remount", ErrNotSupported, cfg.Dir, localOnly)
		}
		return Flock, probeFlock(cfg.Dir, cfg.FileMode)
	case Lease:
		return Lease, probeLease(cfg)
	}
	if localOnly == "" {
		err := probeFlock(cfg.Dir, cfg.FileMode)
		if err == nil {
			return Flock, nil
		}
		if !errors.Is(err, ErrNotSupported) {
			return 0, err
		}
	}
	if err := probeLease(cfg); err != nil {
		return 0, err
	}
	return Lease, nil
}
