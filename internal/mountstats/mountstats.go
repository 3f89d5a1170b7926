// Package mountstats reads the NFS client's per-operation RPC counters of
// one mount from /proc/self/mountstats (Linux), so that sessbench can say
// how many round trips to the server each session operation costs and the
// NFS tests can hold the store to its RPC budgets.
//
// The counters belong to the mount (the superblock), not to this process:
// other processes using the same mount meanwhile inflate them.
//
// prometheus/procfs has a full mountstats parser, but both users need one
// number per operation of one mount; procfs parses every section and field
// of every mount and fails on a line it does not know, and it would become
// a direct dependency of the store's tests and of sessbench for 100 lines.
package mountstats

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Counts maps an NFS operation name as the kernel prints it ("READ",
// "GETATTR", "LOCK", ...) to the number of RPCs sent.
type Counts map[string]uint64

// Sub returns c minus before, for each operation whose count grew (a
// count that went down belongs to a new mount and is left out).
func (c Counts) Sub(before Counts) Counts {
	d := make(Counts, len(c))
	for op, n := range c {
		if b := before[op]; n > b {
			d[op] = n - b
		}
	}
	return d
}

// String formats the nonzero counts as "GETATTR=1 OPEN=2", sorted by
// operation.
func (c Counts) String() string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(c)) {
		if c[op] != 0 {
			parts = append(parts, op+"="+strconv.FormatUint(c[op], 10))
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}

// Add adds o into c.
func (c Counts) Add(o Counts) {
	for op, n := range o {
		c[op] += n
	}
}

// Excluded are the operations Total and the groups leave out because they
// are not the cost of the operation measured: SEQUENCE (NFSv4.1) and RENEW
// (NFSv4.0) sent on their own are lease renewals, which the client sends on
// a timer whatever the workload does (a SEQUENCE that starts an ordinary
// compound is not counted separately), and DELEGRETURN answers the server's
// recall of a delegation, which depends on other clients. They still appear
// in the counts themselves.
var Excluded = []string{"SEQUENCE", "RENEW", "DELEGRETURN"}

// Total returns the number of RPCs of all operations but the Excluded ones.
func (c Counts) Total() uint64 {
	var t uint64
	for op, n := range c {
		if !slices.Contains(Excluded, op) {
			t += n
		}
	}
	return t
}

// Other is the label of the group that holds every counted operation in no
// other group: RENAME, SETATTR, REMOVE, ACCESS, FREE_STATEID and so on.
const Other = "other"

// Groups are the operation groups the benchmark reports: the kernel's names
// summed under a short label. NFSv3 and v4 name some operations differently
// (v4 has OPEN and LOCK, v3 has neither and uses NLM for locks, which do not
// appear here). The last group, Other, has no list: it is the rest, so the
// groups always add up to Total.
var Groups = []struct {
	Label string
	Ops   []string
}{
	{"reads", []string{"READ"}},
	{"writes", []string{"WRITE", "COMMIT"}},
	{"getattrs", []string{"GETATTR"}},
	{"lookups", []string{"LOOKUP", "LOOKUP_ROOT"}},
	{"opens", []string{"OPEN", "OPEN_NOATTR", "OPEN_CONFIRM", "CLOSE"}},
	{"locks", []string{"LOCK", "LOCKT", "LOCKU"}},
	{Other, nil},
}

// Group returns the sum of the operations in the group with the label; for
// Other, the sum of the counted operations in no other group.
func (c Counts) Group(label string) uint64 {
	if label == Other {
		t := c.Total()
		for _, g := range Groups {
			if g.Label != Other {
				t -= c.Group(g.Label)
			}
		}
		return t
	}
	var t uint64
	for _, g := range Groups {
		if g.Label == label {
			for _, op := range g.Ops {
				t += c[op]
			}
		}
	}
	return t
}

// Read returns the counters of the NFS mount at mount point point, from
// /proc/self/mountstats: the mounts of this process's mount namespace.
func Read(point string) (Counts, error) {
	f, err := os.Open("/proc/self/mountstats")
	if err != nil {
		return nil, fmt.Errorf("mountstats: %w", err)
	}
	defer f.Close()
	return Parse(f, point)
}

// escaper escapes a path as the kernel writes it in mountstats and
// mountinfo (seq_path's mangling: space, tab, newline and backslash in
// octal).
var escaper = strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`)

// Parse reads mountstats text and returns the per-op counters of the mount
// at point (a path as the file system spells it; it is escaped and cleaned
// here, as the Linux path it is: with filepath.Clean, Windows turned its
// slashes into backslashes, and no entry matched).
func Parse(r io.Reader, point string) (Counts, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	want := " mounted on " + escaper.Replace(path.Clean(point)) + " with fstype "
	in, perOp, found := false, false, false
	c := Counts{}
	// The last entry at the point with per-op statistics is the visible
	// mount, the one mountinfo.Lookup picks: an automounted NFS mount
	// lies on an autofs entry, a remount on the mount it hides.
	var last Counts
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "device ") {
			if in && perOp {
				last = c
			}
			in, perOp, c = strings.Contains(line, want), false, Counts{}
			found = found || in
			continue
		}
		if !in {
			continue
		}
		t := strings.TrimSpace(line)
		if t == "per-op statistics" {
			perOp = true
			continue
		}
		if !perOp || t == "" {
			continue
		}
		name, rest, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("mountstats: op %s: %w", name, err)
		}
		c[name] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountstats: %w", err)
	}
	if in && perOp {
		last = c
	}
	if !found {
		return nil, fmt.Errorf("mountstats: no mountstats entry for %s", point)
	}
	if last == nil {
		return nil, fmt.Errorf("mountstats: %s has no per-op statistics (not NFS?)", point)
	}
	return last, nil
}
