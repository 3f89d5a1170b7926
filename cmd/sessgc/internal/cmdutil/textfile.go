package cmdutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// CheckTextfile checks, before any work is done, that the directory of a
// --textfile exists, so that a typo is a usage error rather than a failure
// after a long pass.
func CheckTextfile(path string) error {
	if path == "" {
		return nil
	}
	if !strings.HasSuffix(path, ".prom") {
		return UsageErrorf("--textfile %s: the node-exporter textfile collector only reads files ending in .prom", path)
	}
	st, err := os.Stat(filepath.Dir(path))
	switch {
	case err != nil:
		return UsageErrorf("--textfile %s: %w", path, err)
	case !st.IsDir():
		return UsageErrorf("--textfile %s: %s is not a directory", path, filepath.Dir(path))
	}
	return nil
}

// WriteTextfile replaces path with the metrics atomically: node-exporter
// may read the file at any moment and must see either the previous run's
// metrics or this run's, never a half-written file. The temp file's name
// does not end in .prom, so the collector never reads it.
func WriteTextfile(path string, m *Metrics) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600; node-exporter usually runs as
	// another user.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if _, err := f.Write(m.Bytes()); err != nil {
		return err
	}
	// Sync before the rename: without it a crash could leave an empty file
	// under the final name (the rename reaching the disk before the data).
	// The file is tiny and written once per run, so the cost is nothing.
	// The directory is not synced: losing the rename leaves the previous
	// run's complete file, which is a correct, if stale, state.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return nil
}
