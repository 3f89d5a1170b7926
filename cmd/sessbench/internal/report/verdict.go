package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verdict sums the run up in one paragraph: what the subject costs per
// request compared with a baseline and the other targets, at the highest
// concurrency measured, for the full request cycle when it was measured (the
// number that matters for a web request), else the first workload.
//
// The subject is the first NFS target when there is one (the question the
// tool answers is what the shared mount costs), else the first target; the
// baseline is the first other filesystem target (local disk), else the
// first other target. The table's ratios, by contrast, are always against
// the first target as given.
func Verdict(r *Report) string {
	if len(r.Results) == 0 || len(r.Targets) == 0 {
		return "No results."
	}
	wl := r.Results[0].Workload
	if slices.Contains(r.Config.Workloads, "cycle") {
		wl = "cycle"
	}
	size := r.Results[0].PayloadBytes
	conc := 0
	for _, row := range r.Results {
		if row.Workload == wl && row.PayloadBytes == size {
			conc = max(conc, row.Concurrency)
		}
	}
	rows := map[string]Row{}
	for _, row := range r.Results {
		if row.Workload == wl && row.PayloadBytes == size && row.Concurrency == conc {
			rows[row.Target] = row
		}
	}
	subject, baseline, others := roles(r.Targets)
	a, ok := rows[subject.Name]
	if !ok || a.Ops == 0 {
		return fmt.Sprintf("No successful %s operations on %s to judge.", wl, subject.Name)
	}
	what := fmt.Sprintf("%s with %s sessions", workloadPhrase(wl), FormatSize(size))
	d := func(ns int64) string { return FormatDuration(time.Duration(ns)) }
	var b strings.Builder
	if baseline == nil {
		fmt.Fprintf(&b, "On %s a %s takes %s at p50 and %s at p99 with %s (%.0f operations/s).",
			long(subject), what, d(a.P50NS), d(a.P99NS), clients(conc), a.OpsPerSec)
		nfsSentence(&b, a)
		b.WriteString(" Add a --dir on the shared mount, a local --dir and --redis to compare them.")
		return b.String()
	}
	bb := rows[baseline.Name]
	delta := a.P99NS - bb.P99NS
	verb := "adds"
	if delta < 0 {
		verb, delta = "saves", -delta
	}
	fmt.Fprintf(&b, "At %s, %s %s %s at p99 to each %s compared with %s (%s against %s, %.1f×)",
		clients(conc), long(subject), verb, d(delta), what, long(*baseline), d(a.P99NS), d(bb.P99NS), ratio(a.P99NS, bb.P99NS))
	for _, t := range others {
		if o, ok := rows[t.Name]; ok && o.P99NS > 0 {
			fmt.Fprintf(&b, "; it is %.1f× %s (%s)", ratio(a.P99NS, o.P99NS), short(t), d(o.P99NS))
		}
	}
	fmt.Fprintf(&b, ". At p50 it is %s against %s; throughput %.0f against %.0f operations/s.",
		d(a.P50NS), d(bb.P50NS), a.OpsPerSec, bb.OpsPerSec)
	nfsSentence(&b, a)
	var failed uint64
	for _, row := range r.Results {
		failed += row.Errors
	}
	if failed > 0 {
		fmt.Fprintf(&b, " %d operations failed and are not in the latencies; see the errors above.", failed)
	}
	return b.String()
}

func nfsSentence(b *strings.Builder, a Row) {
	if x := a.NFS; x != nil {
		fmt.Fprintf(b, " Each operation cost %.1f NFS RPCs (%.1f locks, %.1f opens/closes, %.1f getattrs, %.1f lookups, %.1f reads, %.1f writes).",
			x.Total, x.Locks, x.Opens, x.Getattrs, x.Lookups, x.Reads, x.Writes)
	}
}

func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d concurrent clients", n)
}

func workloadPhrase(wl string) string {
	switch wl {
	case "cycle":
		return "full request cycle (lock, load, save, unlock)"
	case "hot":
		return "request cycle on a hot session"
	case "mixed":
		return "request of the read/write mix"
	}
	return wl
}

// long names a target with its kind and location.
func long(t Target) string {
	switch {
	case t.Kind == "fs" && t.NFS:
		return fmt.Sprintf("the shared mount (%s, %s)", t.FSType, t.Location)
	case t.Kind == "fs" && (t.FSType == "tmpfs" || t.FSType == "ramfs"):
		return fmt.Sprintf("memory (%s, %s)", t.FSType, t.Location)
	case t.Kind == "fs" && t.FSType != "":
		return fmt.Sprintf("%s (%s, %s)", short(t), t.FSType, t.Location)
	case t.Kind == "redis":
		return fmt.Sprintf("Redis (%s)", t.Location)
	}
	return t.Name
}

// short names a target by kind alone.
func short(t Target) string {
	switch {
	case t.Kind == "fs" && t.NFS:
		return "the shared mount"
	case t.Kind == "fs" && (t.FSType == "tmpfs" || t.FSType == "ramfs"):
		return "memory (" + t.FSType + ")"
	case t.Kind == "fs":
		return "local disk"
	case t.Kind == "redis":
		return "Redis"
	}
	return t.Name
}

// roles picks the verdict's subject, its baseline (nil with one target) and
// the remaining targets, in the order given.
func roles(ts []Target) (subject Target, baseline *Target, others []Target) {
	si := 0
	for i, t := range ts {
		if t.Kind == "fs" && t.NFS {
			si = i
			break
		}
	}
	subject = ts[si]
	bi := -1
	for i, t := range ts {
		if i != si && t.Kind == "fs" {
			bi = i
			break
		}
	}
	for i := range ts { // no other filesystem: the first other target
		if bi < 0 && i != si {
			bi = i
		}
	}
	for i, t := range ts {
		switch {
		case i == si:
		case i == bi:
			baseline = &ts[i]
		default:
			others = append(others, t)
		}
	}
	return subject, baseline, others
}
