package fsstore

import (
	"fmt"
	"strings"

	"github.com/sessfs/sessfs/internal/mountinfo"
)

// nfsMountWarning says what m, the mount holding a store, has among the
// NFS options that docs/operator-guide.md says never to use, and why; ""
// for none, or for a mount that is not NFS. Nothing else told an operator
// who copied such an fstab line: the store works, until an outage makes a
// soft mount fail saves the server did perform, or a disabled attribute
// cache makes every stat a round trip.
func nfsMountWarning(m mountinfo.Mount) string {
	if !m.IsNFS() {
		return ""
	}
	var bad []string
	if _, ok := m.Option("soft"); ok {
		bad = append(bad, "soft (a call the server did perform may be reported failed in an outage, and a lock lost: mount hard)")
	} else if _, ok := m.Option("softerr"); ok {
		bad = append(bad, "softerr (as soft: mount hard)")
	}
	if _, ok := m.Option("noac"); ok {
		bad = append(bad, "noac (every stat a round trip to the server, which the store does not need)")
	} else if regMax, ok := m.Option("acregmax"); ok && regMax == "0" {
		if dirMax, _ := m.Option("acdirmax"); dirMax == "0" {
			bad = append(bad, "actimeo=0 (every stat a round trip to the server, which the store does not need)")
		}
	}
	if _, ok := m.Option("nocto"); ok {
		bad = append(bad, "nocto (the store relies on close-to-open consistency to see another host's save)")
	}
	if v, ok := m.Option("lookupcache"); ok && v == "none" {
		bad = append(bad, "lookupcache=none (every name looked up on the server, which the store does not need)")
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("the store's NFS mount %s has options to avoid: %s; see the mount options in docs/operator-guide.md", m.Point, strings.Join(bad, "; "))
}
