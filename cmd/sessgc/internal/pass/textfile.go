package pass

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
)

// Label is one label of a metric sample.
type Label struct{ Name, Value string }

// Metrics collects gauges in the Prometheus text exposition format, for the
// node-exporter textfile collector. Every sample carries the labels given
// to NewMetrics (the store directory) before its own.
type Metrics struct {
	labels []Label
	buf    bytes.Buffer
	last   string // name of the family being written
}

// NewMetrics returns an empty set whose samples all carry labels.
func NewMetrics(labels ...Label) *Metrics {
	return &Metrics{labels: labels}
}

// Gauge adds one sample. Samples of one metric must be added one after the
// other: the format wants each family's HELP and TYPE once, before its
// samples.
func (m *Metrics) Gauge(name, help string, v float64, labels ...Label) {
	if name != m.last {
		fmt.Fprintf(&m.buf, "# HELP %s %s\n# TYPE %s gauge\n", name, escapeHelp(help), name)
		m.last = name
	}
	m.buf.WriteString(name)
	all := append(append([]Label(nil), m.labels...), labels...)
	for i, l := range all {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		fmt.Fprintf(&m.buf, `%s%s="%s"`, sep, l.Name, escapeLabel(l.Value))
	}
	if len(all) > 0 {
		m.buf.WriteByte('}')
	}
	m.buf.WriteByte(' ')
	m.buf.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	m.buf.WriteByte('\n')
}

// PassMetrics returns the metrics of a pass over the store at dir, its
// absolute path as CheckPaths returns it, ended as o said, after
// duration, at now: every sample labelled with dir (the same label
// whichever way --dir was spelled; made absolute here, after the pass, a
// relative --dir would ask for a working directory on a hung mount), and the gauges every pass has, named prefix+"last_run_timestamp_seconds"
// and so on; what names the pass in their help ("run", "rekey"). The
// caller adds its counts.
func PassMetrics(dir, prefix, what string, o *Outcome, duration float64, now time.Time) *Metrics {
	m := NewMetrics(Label{Name: "dir", Value: Shown(dir)})
	m.Gauge(prefix+"last_run_timestamp_seconds", "Unix time at which the last sessgc "+what+" ended (also skipped and failed ones).", float64(now.UnixNano())/1e9)
	m.Gauge(prefix+"last_run_duration_seconds", "Wall time of the last sessgc "+what+".", duration)
	m.Gauge(prefix+"last_run_success", "1 if the last sessgc "+what+" exited 0 (including skipped and stopped-early ones), else 0.", Bool(o.ExitCode == cmdutil.ExitOK))
	m.Gauge(prefix+"last_run_exit_code", "Exit code of the last sessgc "+what+".", float64(o.ExitCode))
	m.Gauge(prefix+"fleet_lock_held", "1 if the last sessgc "+what+" did nothing because another host held its fleet lock.", Bool(o.Skipped && o.SkipReason == SkipFleetLock))
	m.Gauge(prefix+"stopped_early", "1 if the last sessgc "+what+" stopped before the end of the store (max-duration, a signal, the file server unresponsive, its fleet lock lost, a write refused as read-only, a run of I/O errors, or the store removed or unmounted).", Bool(o.StoppedEarly))
	return m
}

// Bool is 1 for true and 0 for false, for 0/1 gauges.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Bytes returns the exposition text.
func (m *Metrics) Bytes() []byte { return m.buf.Bytes() }

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// WriteTextfile replaces path with the metrics atomically: node-exporter
// may read the file at any moment and must see either the previous run's
// metrics or this run's, never a half-written file. The file is readable
// by all (node-exporter usually runs as another user).
func WriteTextfile(path string, m *Metrics) error {
	return bounded(FSCheckTimeout, func() error {
		return cmdutil.WriteFile(path, 0o644, func(w io.Writer) error {
			_, err := w.Write(m.Bytes())
			return err
		})
	})
}
