package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the header row of WriteCSV. NFS columns are empty off NFS;
// ratios compare with the first target's row for the same cell;
// first_error, last so that the columns before it keep their places, is
// empty in a row without errors.
var CSVHeader = []string{
	"target", "workload", "payload_bytes", "concurrency", "ops", "errors", "behind", "seconds", "ops_per_sec",
	"min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
	"p50_ratio", "p99_ratio", "ops_ratio",
	"nfs_reads_per_op", "nfs_writes_per_op", "nfs_getattrs_per_op", "nfs_lookups_per_op",
	"nfs_opens_per_op", "nfs_locks_per_op", "nfs_other_per_op", "nfs_rpcs_per_op",
	"first_error",
}

// WriteCSV writes one line per result row under CSVHeader.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	i := strconv.Itoa
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, row := range r.Results {
		rec := []string{
			row.Target, row.Workload, i(row.PayloadBytes), i(row.Concurrency), u(row.Ops), u(row.Errors), u(row.Behind),
			f(row.Seconds), f(row.OpsPerSec),
			n(row.MinNS), n(row.MeanNS), n(row.P50NS), n(row.P90NS), n(row.P99NS), n(row.P999NS), n(row.MaxNS),
			f(row.P50Ratio), f(row.P99Ratio), f(row.OpsRatio),
		}
		if x := row.NFS; x != nil {
			rec = append(rec, f(x.Reads), f(x.Writes), f(x.Getattrs), f(x.Lookups), f(x.Opens), f(x.Locks), f(x.Other), f(x.Total))
		} else {
			rec = append(rec, "", "", "", "", "", "", "", "")
		}
		rec = append(rec, row.FirstError)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the targets, an aligned table and the verdict.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	b.WriteString("Targets:\n")
	for i, t := range r.Targets {
		fmt.Fprintf(&b, "  %d. %-12s %s\n", i+1, t.Name, describe(t))
	}
	sessions := "sessions"
	if r.Config.Sessions == 1 {
		sessions = "session"
	}
	fmt.Fprintf(&b, "Rounds: %d, interleaved; %swarm-up %v excluded; %s; %d %s per size%s.\n\n",
		r.Config.Rounds, measured(r.Config), time.Duration(r.Config.WarmupSec*float64(time.Second)), r.Config.loop(), r.Config.Sessions, sessions, kept(r))

	anyNFS, anyErr := false, false
	for _, row := range r.Results {
		anyNFS = anyNFS || row.NFS != nil
		anyErr = anyErr || row.Errors > 0
	}
	multi := len(r.Targets) > 1
	hdr := []string{"TARGET", "WORKLOAD", "SIZE", "CONC", "OPS", "OPS/S", "P50", "P90", "P99", "P99.9", "MAX"}
	if multi {
		hdr = append(hdr, "P50×", "P99×")
	}
	if anyErr {
		hdr = append(hdr, "ERRORS")
	}
	if anyNFS {
		hdr = append(hdr, "RPC/OP", "RD WR GA LK OP LC OT")
	}
	t := &table{left: 2} // target and workload are text: align left
	t.add(hdr...)
	prev := ""
	for _, row := range r.Results {
		cell := fmt.Sprintf("%s/%d/%d", row.Workload, row.PayloadBytes, row.Concurrency)
		if multi && prev != "" && cell != prev && row.Target == r.Targets[0].Name {
			t.add() // a blank line between groups of rows to compare
		}
		prev = cell
		// A row without a successful operation has no latencies, and a
		// ratio to one is 0: printed, they would read as measured, and as
		// infinitely fast.
		d := func(ns int64) string {
			if row.Ops == 0 {
				return "-"
			}
			return FormatDuration(time.Duration(ns))
		}
		x := func(ratio float64) string {
			if ratio == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", ratio)
		}
		f := []string{row.Target, row.Workload, bytesize.Format(row.PayloadBytes), strconv.Itoa(row.Concurrency),
			strconv.FormatUint(row.Ops, 10), fmt.Sprintf("%.0f", row.OpsPerSec), d(row.P50NS), d(row.P90NS), d(row.P99NS), d(row.P999NS), d(row.MaxNS)}
		if multi {
			f = append(f, x(row.P50Ratio), x(row.P99Ratio))
		}
		if anyErr {
			f = append(f, strconv.FormatUint(row.Errors, 10))
		}
		if anyNFS {
			if x := row.NFS; x != nil {
				f = append(f, fmt.Sprintf("%.1f", x.Total),
					fmt.Sprintf("%.1f %.1f %.1f %.1f %.1f %.1f %.1f", x.Reads, x.Writes, x.Getattrs, x.Lookups, x.Opens, x.Locks, x.Other))
			} else {
				f = append(f, "-", "-")
			}
		}
		t.add(f...)
	}
	t.write(&b)
	b.WriteString("\n" + legend(r.Results))
	b.WriteString(fewNote(r.Results))
	if multi {
		fmt.Fprintf(&b, "P50× and P99×: latency relative to %s in the same row group.\n", r.Targets[0].Name)
	}
	if anyNFS {
		b.WriteString("RPC/OP: NFS RPCs per operation, counted for the whole mount (other users of the mount inflate it),\n" +
			"without lease renewals (SEQUENCE, RENEW) and delegation returns: RD reads, WR writes+commits,\n" +
			"GA getattrs, LK lookups, OP opens+closes, LC locks, OT other (RENAME, SETATTR, REMOVE, FREE_STATEID, ...).\n" +
			"--json lists every operation by name in nfs_ops_per_op.\n")
	}
	if anyErr {
		for _, row := range r.Results {
			if row.Errors > 0 {
				fmt.Fprintf(&b, "errors on %s %s %s c=%d, first: %s\n", row.Target, row.Workload, bytesize.Format(row.PayloadBytes), row.Concurrency, row.FirstError)
			}
		}
	}
	anyBehind, anyBacklog := false, false
	for _, row := range r.Results {
		name := fmt.Sprintf("%s %s %s c=%d", row.Target, row.Workload, bytesize.Format(row.PayloadBytes), row.Concurrency)
		switch {
		case row.behindRate(r.Config.Rate):
			anyBehind = true
			fmt.Fprintf(&b, "behind --rate: %s started %.0f of %s operations/s; %d of the %d scheduled had not started at the end\n",
				name, row.issued(r.Config.Rate), formatRate(r.Config.Rate), row.Behind, row.scheduled())
		case row.Behind > 0:
			// The target kept up, but a stall near the end left
			// operations waiting, whose latencies no percentile has.
			anyBacklog = true
			fmt.Fprintf(&b, "backlog at the end: %s, %d of the %d scheduled operations had not started\n",
				name, row.Behind, row.scheduled())
		}
	}
	if anyBehind {
		b.WriteString("A row behind --rate measures a backlog that grew for as long as the measurement ran, not the latency at that rate.\n")
	}
	if anyBacklog || anyBehind {
		b.WriteString("Operations that had not started when the measurement ended are in no latency.\n")
	}
	if len(r.Failed) > 0 {
		b.WriteString("\nFailed, left out of the rest of the run, no results:\n")
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "  %s (%s): %s\n", f.Name, describe(f.Target), f.Error)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// describe says what a target is in a few words.
func describe(t Target) string {
	switch t.Kind {
	case "redis":
		if t.Persistence != "" {
			return fmt.Sprintf("%s at %s, persistence %s", t.Server, t.Location, t.Persistence)
		}
		return fmt.Sprintf("%s at %s", t.Server, t.Location)
	case "fs":
		// A --dir target is named by its directory (with "#2" for one
		// given twice): the directory is said only for the others, such
		// as the temporary one of a run without --dir.
		rest, named := strings.CutPrefix(t.Name, t.Location)
		named = named && (rest == "" || strings.HasPrefix(rest, "#"))
		// How the store locked, as it saved: lease files where flock
		// does not reach the file server cost a cycle more round trips.
		store := "durability " + t.Durability
		if t.Locks != "" {
			store += ", locks " + t.Locks
		}
		switch {
		case t.FSType == "" && named:
			return "directory, mount unknown, " + store
		case t.FSType == "" && t.Temporary:
			return fmt.Sprintf("%s (mount unknown), %s", t.place(), store)
		case t.FSType == "":
			return fmt.Sprintf("directory %s (mount unknown), %s", t.Location, store)
		}
		where := ""
		if !named {
			where = t.place() + ": "
		}
		return fmt.Sprintf("%s%s %s on %s (%s), %s", where, t.FSType, t.Source, t.MountPoint, uniqueOptions(t.Options), store)
	}
	return t.Kind
}

// uniqueOptions returns a mount's options, which mountinfo gives as the
// mount's and then the superblock's ("rw,relatime,rw,vers=4.1"), with
// each said once, in the order first given.
func uniqueOptions(opts string) string {
	var out []string
	for _, o := range strings.Split(opts, ",") {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// table aligns columns: the first left columns to the left, the rest (numbers)
// to the right. A row with no cells prints as a blank line.
type table struct {
	left int
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if i < t.left {
				line.WriteString(c + pad)
			} else {
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// kept says how long the targets kept each session after its last write,
// ", kept 400 days after each write (none expires during the run)", or
// with targets that differ, ", kept after each write: 400 days on a, b;
// 25h on redis (...)": the reader of a long run's table learns that its
// loads and touches found live sessions. When the run lasted as long as a
// target's time, it says that sessions may have expired on that target
// instead. Empty when no target says (0).
func kept(r *Report) string {
	var idles []float64
	names := map[float64][]string{}
	var run time.Duration
	if r.Finished.After(r.Started) {
		run = r.Finished.Sub(r.Started)
	}
	var expired []string
	for _, t := range r.Targets {
		sec := t.SessionIdleSec
		if sec <= 0 {
			continue
		}
		if _, ok := names[sec]; !ok {
			idles = append(idles, sec)
		}
		names[sec] = append(names[sec], t.Name)
		if run >= time.Duration(sec*float64(time.Second)) {
			expired = append(expired, t.Name)
		}
	}
	if len(idles) == 0 {
		return ""
	}
	var parts []string
	for _, sec := range idles {
		p := idleString(time.Duration(sec * float64(time.Second)))
		if len(idles) > 1 {
			p += " on " + strings.Join(names[sec], ", ")
		}
		parts = append(parts, p)
	}
	note := "none expires during the run"
	if len(expired) > 0 {
		note = "the run lasted longer: sessions may have expired on " + strings.Join(expired, ", ")
	}
	if len(parts) > 1 {
		return fmt.Sprintf(", kept after each write: %s (%s)", strings.Join(parts, "; "), note)
	}
	return fmt.Sprintf(", kept %s after each write (%s)", parts[0], note)
}

// idleString prints a session's time to live: "400 days", "3 days 2h",
// "25h", or finer for a time that is not whole hours.
func idleString(d time.Duration) string {
	if d%time.Hour != 0 {
		return FormatDuration(d)
	}
	days, hours := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour
	switch {
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case hours == 0:
		return fmt.Sprintf("%d days", days)
	}
	return fmt.Sprintf("%d days %dh", days, hours)
}

// workloadMeaning says what one operation of each workload is, as run
// --help does: the table is often read, on a first run, without it.
var workloadMeaning = []struct{ name, meaning string }{
	{"cycle", "a full request (lock, load, save, unlock)"},
	{"load", "load a session"},
	{"save", "save a session"},
	{"touch", "extend a session's expiry"},
	{"mixed", "requests, a share of them full cycles (--write-ratio), the rest loads"},
	{"hot", "full cycles, every client on the same sessions"},
}

// legend explains the workloads the rows measured, and the columns whose
// names do not say what they count.
func legend(rows []Row) string {
	var parts []string
	for _, w := range workloadMeaning {
		if slices.ContainsFunc(rows, func(r Row) bool { return r.Workload == w.name }) {
			parts = append(parts, w.name+": "+w.meaning)
		}
	}
	parts = append(parts, "CONC: concurrent clients", "OPS: successful operations measured, the percentiles' samples",
		"OPS/S: successful operations per second",
		"P50 to MAX: latency of one operation")
	return strings.Join(parts, "; ") + ".\n"
}

// measured says how much each row measured, "1s measured per target and
// row; " or "at least 5000 operations run per target and row, ...",
// empty where the configuration does not say: a table read without the
// command line gave no hint of how much its tails rest on.
func measured(c Config) string {
	switch {
	case c.Ops > 0:
		// --ops counts operations started, failed ones included (a
		// target that fails every one must still end), while OPS counts
		// the successful: the header says which, or a row with errors
		// read as measuring fewer than it said.
		return fmt.Sprintf("at least %d operations run per target and row, failed ones included (OPS counts the successful); ", c.Ops)
	case c.DurationSec > 0:
		return fmt.Sprintf("%v measured per target and row; ", time.Duration(c.DurationSec*float64(time.Second)))
	}
	return ""
}

// fewNote says, when a row measured too few operations for its P99.9 (or
// P99) to be more than its slowest one, that it is: nearest rank puts the
// P99.9 of fewer than 1000 operations and the P99 of fewer than 100 at the
// last of them, printed beside MAX as if it were a tail. Empty when every
// row has enough.
func fewNote(rows []Row) string {
	least := uint64(0)
	for _, r := range rows {
		if r.Ops > 0 && (least == 0 || r.Ops < least) {
			least = r.Ops
		}
	}
	switch {
	case least == 0 || least >= 1000:
		return ""
	case least < 100:
		return "The P99 of a row of fewer than 100 operations, and the P99.9 of one of fewer than 1000, is its slowest operation (nearest rank), as MAX: one stall sets it; measure longer (--duration, --ops) for a tail to judge by.\n"
	}
	return "The P99.9 of a row of fewer than 1000 operations is its slowest operation (nearest rank), as MAX: one stall sets it; measure longer (--duration, --ops) for a P99.9 to judge by.\n"
}
