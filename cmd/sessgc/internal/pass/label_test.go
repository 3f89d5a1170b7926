package pass

import (
	"testing"
	"unicode/utf8"
)

// TestMetricsLabelUTF8: the exposition format requires UTF-8 label
// values; a --dir whose name is not UTF-8 (legal on Linux) makes the whole
// textfile unparseable ("promtool check metrics": invalid label value), so
// node-exporter drops every sessgc metric of the host and the alerts see
// no data. escapeLabel should make the value valid (strings.ToValidUTF8).
func TestMetricsLabelUTF8(t *testing.T) {
	m := NewMetrics(Label{Name: "dir", Value: "/srv/\xffsessions"})
	m.Gauge("sessgc_errors", "Errors.", 0)
	if !utf8.Valid(m.Bytes()) {
		t.Errorf("textfile is not UTF-8: %q", m.Bytes())
	}
}
