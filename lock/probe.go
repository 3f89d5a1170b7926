package lock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// probeMount checks cfg.Dir and what its mount says about locking: it sets
// cfg.nfs and cfg.efs, and returns the local_lock option of an NFS mount
// whose flock locks stay on this host ("" otherwise).
func probeMount(cfg *Config) (localOnly string, err error) {
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("lock: %s is not a directory", cfg.Dir)
	}
	cfg.efs = cfg.EFS
	lookup := mountinfo.Lookup
	if cfg.mountLookup != nil {
		lookup = cfg.mountLookup
	}
	m, merr := lookup(cfg.Dir)
	if merr == nil && (m.FSType == "fuse" || strings.HasPrefix(m.FSType, "fuse.")) {
		// A FUSE daemon without lock support (sshfs, s3fs, rclone, ...)
		// gets flock(2) emulated by the kernel on this host alone, which
		// the probe cannot tell from the real thing: Auto picks Lease. A
		// filesystem that forwards locks (CephFS, GlusterFS) may force
		// Flock.
		cfg.fuse = true
	}
	if merr == nil && m.IsNFS() {
		cfg.nfs = true
		cfg.efs = cfg.efs || isEFS(m)
		// With local_lock=flock (or all) the client keeps flock locks to
		// itself: two hosts would both "hold" the same lock.
		if v, ok := m.Option("local_lock"); ok && (v == "flock" || v == "all") {
			localOnly = v
		}
	}
	if !cfg.nfs {
		// A process on the NFS server's own host, in the exported
		// directory (sessgc from the server's cron, say): its clients'
		// locks are byte-range locks there, which a flock does not meet.
		cfg.exported = exportOf(cfg.Dir, cfg.exportTables)
	}
	return localOnly, nil
}

// pickStrategy resolves want to Flock or Lease, checking that it works in
// cfg.Dir, opened as d: Auto picks Flock where flock works and reaches
// other hosts. The probes make their files through d: each opened the
// directory again by its path (on NFS a walk of the path and an OPEN),
// once or twice more per NewTable.
func pickStrategy(cfg *Config, d *lockDir, want Strategy, localOnly string) (Strategy, error) {
	switch want {
	case Flock:
		if localOnly != "" {
			return 0, fmt.Errorf("%w: %s is an NFS mount with local_lock=%s, so flock does not exclude other hosts; use the lease strategy or remount", ErrNotSupported, cfg.Dir, localOnly)
		}
		return Flock, probeFlock(cfg, d)
	case Lease:
		return Lease, probeLease(cfg, d)
	}
	if localOnly == "" && !cfg.fuse {
		err := probeFlock(cfg, d)
		if err == nil {
			return Flock, nil
		}
		if !errors.Is(err, ErrNotSupported) {
			return 0, err
		}
	}
	if err := probeLease(cfg, d); err != nil {
		return 0, err
	}
	return Lease, nil
}

// efs-utils' TLS (stunnel) and efs-proxy mounts point the kernel at a local
// port in this range (efs-utils.conf port_range_lower_bound and
// port_range_upper_bound), so such mounts show 127.0.0.1 as their server.
const efsUtilsPortLow, efsUtilsPortHigh = 20049, 21049

// isEFS reports whether an NFS mount looks like AWS EFS: mounted by its DNS
// name (fs-0123abcd.efs.us-east-1.amazonaws.com, or a mount target's
// us-east-1a.fs-... name), or through efs-utils' local TLS tunnel. A mount by
// a mount target's IP address cannot be told apart; Config.EFS covers it.
func isEFS(m mountinfo.Mount) bool {
	host, _, ok := strings.Cut(m.Source, ":/")
	if !ok {
		host, _, _ = strings.Cut(m.Source, ":")
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if strings.Contains(host, ".efs.") && (strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")) {
		return true
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return false
	}
	v, ok := m.Option("port")
	if !ok {
		return false
	}
	port, err := strconv.Atoi(v)
	return err == nil && port >= efsUtilsPortLow && port <= efsUtilsPortHigh
}
