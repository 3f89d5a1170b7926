package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// noiseRatio is how many times its p50 a baseline's p99 may be before the
// verdict calls the run's tails machine noise. Local disk and memory answer
// in tens to hundreds of microseconds with a p99 a few times that; a p99 of
// 20× p50 or more there comes from scheduling (an overloaded host, a small
// VM), which then swamps any target's p99.
const noiseRatio = 20

// Verdict sums the run up in one paragraph: what the subject costs per
// request compared with a baseline and the other targets, for the full
// request cycle when it was measured (the number that matters for a web
// request), else the first workload, at the first payload size. It leads
// with the p50 at the lowest concurrency, where the difference is the
// storage's own cost, then gives p99 and throughput at the highest, where
// queueing shows. A p99 can hide the storage entirely: when the baseline's
// own p99 is noiseRatio times its p50 the verdict says so.
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
	lo, hi := 0, 0
	for _, row := range r.Results {
		if row.Workload == wl && row.PayloadBytes == size {
			if lo == 0 || row.Concurrency < lo {
				lo = row.Concurrency
			}
			hi = max(hi, row.Concurrency)
		}
	}
	at := func(conc int) map[string]Row {
		rows := map[string]Row{}
		for _, row := range r.Results {
			if row.Workload == wl && row.PayloadBytes == size && row.Concurrency == conc {
				rows[row.Target] = row
			}
		}
		return rows
	}
	low, high := at(lo), at(hi)
	subject, baseline, others := roles(r.Targets)
	a, ok := low[subject.Name]
	if !ok || a.Ops == 0 {
		return fmt.Sprintf("No successful %s operations on %s to judge.", wl, subject.Name)
	}
	ah := high[subject.Name]
	what := fmt.Sprintf("%s with %s sessions", workloadPhrase(wl), bytesize.Format(size))
	d := func(ns int64) string { return FormatDuration(time.Duration(ns)) }
	var b strings.Builder
	sameFSSentence(&b, r.Targets)
	if baseline == nil {
		fmt.Fprintf(&b, "On %s a %s takes %s at p50 %s", long(subject), what, d(a.P50NS), with(lo))
		if hi != lo && ah.Ops > 0 {
			fmt.Fprintf(&b, "; %s it takes %s at p99 (%.0f operations/s).", with(hi), d(ah.P99NS), ah.OpsPerSec)
			fewSentence(&b, ah)
		} else {
			fmt.Fprintf(&b, " and %s at p99 (%.0f operations/s).", d(a.P99NS), a.OpsPerSec)
			fewSentence(&b, a)
		}
		rateSentence(&b, r, []Target{subject}, low, high, lo, hi)
		noiseSentence(&b, "its own", []Row{a, ah}, lo, hi)
		nfsSentence(&b, a, subject)
		failedSentence(&b, r)
		b.WriteString(nextRun(subject, r.Failed))
		return b.String()
	}
	bb, bh := low[baseline.Name], high[baseline.Name]
	if bb.Ops == 0 {
		fmt.Fprintf(&b, "%s, %s takes %s at p50 for each %s; %s had no successful operations to compare with.",
			capitalize(with(lo)), long(subject), d(a.P50NS), what, long(*baseline))
	} else {
		delta := a.P50NS - bb.P50NS
		verb := "adds %s at p50 to"
		if delta < 0 {
			verb, delta = "saves %s at p50 on", -delta
		}
		fmt.Fprintf(&b, "%s, %s %s each %s compared with %s: %s against %s, %s",
			capitalize(with(lo)), long(subject), fmt.Sprintf(verb, d(delta)), what, long(*baseline), d(a.P50NS), d(bb.P50NS), times(a.P50NS, bb.P50NS))
	}
	for _, t := range others {
		if o, ok := low[t.Name]; ok && o.Ops > 0 {
			fmt.Fprintf(&b, "; it is %s %s (%s)", times(a.P50NS, o.P50NS), short(t), d(o.P50NS))
		}
	}
	b.WriteString(".")
	switch {
	case ah.Ops == 0 || bh.Ops == 0:
	case hi != lo:
		fmt.Fprintf(&b, " %s, p99 is %s against %s (%s); throughput %.0f against %.0f operations/s.",
			capitalize(with(hi)), d(ah.P99NS), d(bh.P99NS), times(ah.P99NS, bh.P99NS), ah.OpsPerSec, bh.OpsPerSec)
		fewSentence(&b, ah, bh)
	default:
		fmt.Fprintf(&b, " At p99 it is %s against %s (%s); throughput %.0f against %.0f operations/s.",
			d(ah.P99NS), d(bh.P99NS), times(ah.P99NS, bh.P99NS), ah.OpsPerSec, bh.OpsPerSec)
		fewSentence(&b, ah, bh)
	}
	rateSentence(&b, r, append([]Target{subject, *baseline}, others...), low, high, lo, hi)
	if saves(wl, r.Config.WriteRatio) {
		durabilitySentence(&b, r.Targets)
	}
	noiseSentence(&b, "the baseline's own", []Row{bb, bh}, lo, hi)
	nfsSentence(&b, a, subject)
	failedSentence(&b, r)
	return b.String()
}

// sameFSSentence leads the verdict, when two directory targets are on one
// file system, with that fact: the run compared the file system with
// itself. It is what an operator sees who follows the documentation
// (mkdir -p /mnt/efs/bench /var/tmp/bench) on a host whose mount failed:
// mkdir made the directory on the local disk below the mount point, and
// the rest of the verdict reads as a judgement of the mount.
func sameFSSentence(b *strings.Builder, targets []Target) {
	type fsKey struct{ point, source, fstype string }
	seen := map[fsKey][]string{}
	var order []fsKey
	for _, t := range targets {
		if t.Kind != "fs" || t.MountPoint == "" {
			continue
		}
		k := fsKey{t.MountPoint, t.Source, t.FSType}
		if seen[k] == nil {
			order = append(order, k)
		}
		// A directory given twice, to see the run's own noise, is
		// no mistake.
		if !slices.Contains(seen[k], t.place()) {
			seen[k] = append(seen[k], t.place())
		}
	}
	for _, k := range order {
		places := seen[k]
		if len(places) < 2 {
			continue
		}
		fmt.Fprintf(b, "%s are on one file system (%s %s on %s): this run compared it with itself. If one of them was to be on the shared mount, the share is not mounted there on this host (mkdir made the directory on the disk below the mount point): mount it, check with findmnt or df, and run again. ",
			strings.Join(places[:len(places)-1], ", ")+" and "+places[len(places)-1], k.fstype, k.source, k.point)
	}
}

// nextRun says what to run after a run of one target, as a command: the
// tool's question is what the shared mount costs next to local disk (and
// Redis), which one target cannot answer, and the first run on a new
// machine, sessbench run with no flags, measures a temporary directory on
// local disk alone. The paths are the documentation's examples. A kind of
// target that was given and failed (failed: the report lists its error)
// is not suggested: it was given, and is to be made to work, not added.
func nextRun(t Target, failed []Failure) string {
	var redis, local, shared bool
	for _, f := range failed {
		switch {
		case f.Kind == "redis":
			redis = true
		case f.Kind == "fs" && f.NFS:
			shared = true
		case f.Kind == "fs":
			local = true
		}
	}
	var next string
	switch {
	case t.Kind == "fs" && t.NFS && !local && !redis:
		next = " To compare it with local disk in the same run, add a local directory: --dir /var/tmp/bench after this one (and --redis HOST:PORT to compare with Redis)."
	case t.Kind == "fs" && t.NFS && !local:
		next = " To compare it with local disk in the same run, add a local directory: --dir /var/tmp/bench after this one."
	case t.Kind == "fs" && t.NFS:
	case t.Kind == "redis" && !local && !shared:
		next = " To compare it with the shared mount and local disk in the same run: sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench --redis " + shellquote.Quote(t.Location) + " (a directory on your mount first)."
	case t.Kind == "redis":
	case !shared && !redis:
		next = " To see what the shared mount costs, measure it against local disk in one run: sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench (a directory on your mount first; add --redis HOST:PORT to compare with Redis)."
	case !shared:
		next = " To see what the shared mount costs, measure it against local disk in one run: sessbench run --dir /mnt/efs/bench --dir /var/tmp/bench (a directory on your mount first)."
	}
	if len(failed) > 0 {
		var names []string
		for _, f := range failed {
			names = append(names, f.Name)
		}
		next += fmt.Sprintf(" To compare it with %s, which failed (its error is listed with the report), run again once it answers.", strings.Join(names, " and "))
	}
	return next
}

// failedSentence counts the operations that failed, by target. Failed
// operations are in neither the latencies nor the throughput, so a target
// that failed fast or timed out can look better than it served: a verdict
// that leaves them out reads as if the run went well.
func failedSentence(b *strings.Builder, r *Report) {
	var total uint64
	byTarget := map[string]uint64{}
	for _, row := range r.Results {
		total += row.Errors
		byTarget[row.Target] += row.Errors
	}
	if total == 0 {
		return
	}
	var parts []string
	for _, t := range r.Targets {
		if n := byTarget[t.Name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t.Name, n))
		}
	}
	fmt.Fprintf(b, " %d operations failed (%s) and are in neither the latencies nor the throughput; each row's first error is listed with it.",
		total, strings.Join(parts, ", "))
}

// rateSentence names the targets that could not keep up with --rate in
// the verdict's rows: their paced latencies measure a backlog that grew for
// as long as the measurement ran, and read as the latency at that rate
// they make a target that cannot take the load look merely slow.
func rateSentence(b *strings.Builder, r *Report, ts []Target, low, high map[string]Row, lo, hi int) {
	rate := r.Config.Rate
	var parts []string
	for _, t := range ts {
		var at []string
		if row, ok := low[t.Name]; ok && row.behindRate(rate) {
			at = append(at, fmt.Sprintf("%.0f a second %s", row.issued(rate), with(lo)))
		}
		if row, ok := high[t.Name]; ok && hi != lo && row.behindRate(rate) {
			at = append(at, fmt.Sprintf("%.0f a second %s", row.issued(rate), with(hi)))
		}
		if len(at) > 0 {
			parts = append(parts, fmt.Sprintf("%s started only %s", t.Name, strings.Join(at, " and ")))
		}
	}
	if len(parts) == 0 {
		return
	}
	whose := "its latencies"
	if len(parts) > 1 {
		whose = "their latencies"
	}
	fmt.Fprintf(b, " At --rate %s operations/s %s: %s there measure a backlog that grew for as long as the measurement ran, not the latency at that rate.",
		formatRate(rate), strings.Join(parts, "; "), whose)
}

// saves reports whether workload wl writes sessions, so that what a crash
// keeps of its saves can differ between targets.
func saves(wl string, writeRatio float64) bool {
	switch wl {
	case "cycle", "save", "hot":
		return true
	case "mixed":
		return writeRatio > 0
	}
	return false
}

// durabilitySentence says so when the targets do not promise the same for
// a save that returned. On the shared mount it is on the file server's
// stable storage at every durability level (close waits for a stable
// WRITE, the server commits the rename before it answers); on local disk
// only at file or full. The store's default is none everywhere, so without
// this the verdict set a durable save against one a power loss can undo,
// and gave the faster number to the weaker promise unremarked.
func durabilitySentence(b *strings.Builder, ts []Target) {
	var safe, unsafe []string
	add := func(list *[]string, s string) {
		if !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	nfs, localUnsynced := false, false
	for _, t := range ts {
		switch {
		case t.Kind == "fs" && t.NFS:
			nfs = true
			add(&safe, "on "+short(t)+" a returned save is on the file server's stable storage")
		case t.Kind == "fs" && (t.FSType == "tmpfs" || t.FSType == "ramfs"):
			add(&unsafe, short(t)+" keeps nothing across a reboot")
		case t.Kind == "fs" && t.Durability == "none":
			localUnsynced = true
			add(&unsafe, fmt.Sprintf("on %s at durability none a power loss can undo the last seconds of saves", short(t)))
		case t.Kind == "fs" && t.Durability == "file":
			// The record is flushed, the rename that publishes it is not.
			localUnsynced = true
			add(&unsafe, fmt.Sprintf("on %s at durability file a power loss can undo the last saves, whose rename was not flushed", short(t)))
		case t.Kind == "fs" && t.Durability == "full":
			add(&safe, fmt.Sprintf("on %s at durability full a returned save is on disk", short(t)))
		case t.Kind == "redis" && t.Persistence == "aof, fsync always":
			add(&safe, "on Redis (aof, fsync always) a returned save is on disk")
		case t.Kind == "redis" && t.Persistence == "aof, fsync every second":
			add(&unsafe, "Redis (aof, fsync every second) can lose the last second of saves to a crash")
		case t.Kind == "redis" && t.Persistence == "aof, fsync left to the OS":
			add(&unsafe, "Redis (aof, fsync left to the OS) can lose the last seconds of saves to a crash")
		case t.Kind == "redis" && t.Persistence == "rdb snapshots only":
			add(&unsafe, "Redis (rdb snapshots only) loses the saves since its last snapshot to a crash")
		case t.Kind == "redis" && t.Persistence == "none":
			add(&unsafe, "Redis (no aof, no rdb snapshots) keeps nothing across a restart")
		case t.Kind == "redis":
			add(&unsafe, "Redis keeps only what its persistence settings save")
		}
	}
	if len(safe) == 0 || len(unsafe) == 0 {
		return
	}
	fmt.Fprintf(b, " Saves are not equally safe here: %s, while %s.", strings.Join(safe, "; "), strings.Join(unsafe, "; "))
	if localUnsynced {
		b.WriteString(" --durability full gives local disk the same promise, at two disk flushes per save")
		if nfs {
			b.WriteString(", and costs the shared mount nothing")
		}
		b.WriteString(".")
	}
}

// fewSentence says, when a row whose p99 the verdict quotes has fewer
// than 100 successful operations, that its p99 is its slowest one: the
// nearest rank, ceil(0.99·n), is n itself below 100, so a short run's
// p99 comparison is one stall against another.
func fewSentence(b *strings.Builder, rows ...Row) {
	var least uint64
	for _, r := range rows {
		if r.Ops > 0 && (least == 0 || r.Ops < least) {
			least = r.Ops
		}
	}
	if least == 0 || least >= 100 {
		return
	}
	fmt.Fprintf(b, " That p99 rests on as few as %d operations: below 100, a p99 is the slowest operation measured (nearest rank), which a single stall sets; measure longer (--duration, --ops) for a p99 to judge by.", least)
}

// noiseSentence says that p99 measures the machine rather than the storage
// when a reference row (at lo, at hi) has a p99 noiseRatio times its p50.
func noiseSentence(b *strings.Builder, whose string, rows []Row, lo, hi int) {
	worst, conc := 0.0, 0
	for i, row := range rows {
		if row.Ops == 0 || row.P50NS <= 0 {
			continue
		}
		if x := ratio(row.P99NS, row.P50NS); x > worst {
			worst, conc = x, []int{lo, hi}[i]
		}
	}
	if worst > noiseRatio {
		fmt.Fprintf(b, " In this run p99 is dominated by machine noise, not storage: %s p99 is %.0f× its p50 %s, so judge by the p50s.",
			whose, worst, with(conc))
	}
}

// times prints the ratio a/b: two decimals below 1, where one would round
// 0.36 and 0.44 alike.
func times(a, b int64) string {
	x := ratio(a, b)
	if x < 1 {
		return fmt.Sprintf("%.2f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

// with names a concurrency level as a phrase: "with 1 client".
func with(n int) string { return "with " + clients(n) }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// nfsSentence gives the RPCs an operation of row a cost on the mount, and
// how to read its p50: against the operator's own requests, since no
// threshold suits every application, and per RPC against a ping of the
// file server, which tells a mount that is slow by its network from one
// slowed by its options or its server.
func nfsSentence(b *strings.Builder, a Row, t Target) {
	x := a.NFS
	if x == nil {
		return
	}
	fmt.Fprintf(b, " Each operation cost %.1f NFS RPCs (%.1f locks, %.1f opens/closes, %.1f getattrs, %.1f lookups, %.1f reads, %.1f writes, %.1f other; lease renewals not counted).",
		x.Total, x.Locks, x.Opens, x.Getattrs, x.Lookups, x.Reads, x.Writes, x.Other)
	ownWritesSentence(b, a, t)
	b.WriteString(" There is no universal threshold: hold the p50 against what your requests already take.")
	if x.Total >= 1 {
		fmt.Fprintf(b, " It is %s per RPC (%s over %.1f): if that is well above your round trip to the file server (ping it), look at the mount's options and the network path before judging the mount.",
			FormatDuration(time.Duration(float64(a.P50NS)/x.Total)), FormatDuration(time.Duration(a.P50NS)), x.Total)
	}
}

// ownWritesSentence says, for a workload that reads sessions, that the
// host that measured wrote every one of them last: its NFS client found
// each record unchanged since its own write, and served it from its cache
// after a GETATTR. In a fleet whose requests for one session reach
// several hosts (no sticky sessions), a record another host wrote last is
// looked up and read from the server again (docs/benchmarks.md, "NFS
// round trips per operation"), and the run, unless told, is read as the
// cost of every request.
//
// The counts are the budgets the NFS suite asserts (fsstore's
// RPCBudgets: NFSv4.1, flock, the default durability, a record of a few
// bytes), and are given only for a row measured so (suiteCounts): on NFSv3,
// at another durability, or for a record that takes more than one READ or
// WRITE, nothing asserts them, and the verdict says "more" without a
// number. A store that locks with lease files sends others, and is named
// as such.
func ownWritesSentence(b *strings.Builder, a Row, t Target) {
	switch a.Workload {
	case "cycle", "load", "mixed", "hot":
	default:
		return
	}
	// The counts are the suite's, not this row's, which holds attribute
	// cache expiries and the like: said as the suite's, they are not read
	// as what this row measured.
	more := "the record is looked up and read from the server again."
	switch {
	case !suiteCounts(a, t):
	case t.Locks == "lease":
		more = "sessfs's NFS suite counts 6 RPCs for such a load instead of 3."
	default:
		more = "sessfs's NFS suite counts 6 RPCs for such a load instead of 3, and 14 for a full request cycle instead of 11."
	}
	fmt.Fprintf(b, " This host wrote every session it read (%.1f reads from the server per operation: a record unchanged since this host's own write is read from its NFS client's cache): "+
		"that is the cost where a user's requests stay on one host. Where another host wrote a session last (a fleet without sticky sessions), a load and a full request cycle cost more round trips than measured here: %s", a.NFS.Reads, more)
	if t.Locks == "lease" && a.Workload != "load" {
		b.WriteString(" Its store locked with lease files, not flock, as it does where flock does not reach the file server (an NFS mount with local_lock=flock, a FUSE mount): each lock and unlock costs round trips of its own.")
	}
}

// recordSlack is room for what a record holds beyond its payload (its
// header), with a margin: a record within rsize and wsize by less may
// take a second READ or WRITE.
const recordSlack = 4 << 10

// suiteCounts reports whether row a was measured as the NFS suite measures
// the budgets the verdict quotes: over NFSv4.1 (vers=4.1, as EFS mounts;
// 4.0 opens differently, and 4.2 is not measured), at durability none,
// with a record that one READ and one WRITE carry (rsize and wsize, which
// Linux lists for every NFS mount, known), and no lock contended.
func suiteCounts(a Row, t Target) bool {
	opt := func(key string) string {
		for _, o := range strings.Split(t.Options, ",") {
			if k, v, _ := strings.Cut(o, "="); k == key {
				return v
			}
		}
		return ""
	}
	// Clients that share sessions (hot) wait for each other's locks,
	// which costs LOCK retries no budget holds.
	if opt("vers") != "4.1" || t.Durability != "none" || a.Workload == "hot" && a.Concurrency > 1 {
		return false
	}
	for _, key := range []string{"rsize", "wsize"} {
		n, err := strconv.Atoi(opt(key))
		if err != nil || a.PayloadBytes+recordSlack > n {
			return false
		}
	}
	return true
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
		return fmt.Sprintf("the shared mount (%s, %s)", t.FSType, t.place())
	case t.Kind == "fs" && (t.FSType == "tmpfs" || t.FSType == "ramfs"):
		return fmt.Sprintf("memory (%s, %s)", t.FSType, t.place())
	case t.Kind == "fs" && t.FSType != "":
		return fmt.Sprintf("%s (%s, %s)", short(t), t.FSType, t.place())
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
