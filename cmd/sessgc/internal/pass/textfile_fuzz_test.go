package pass

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// FuzzTextfile: whatever the store directory's name (an operator's --dir,
// any bytes a file name may hold on Linux) and a gauge's value, the
// textfile parses as node-exporter parses it, every sample carries the
// directory (with bytes that are not UTF-8 replaced, as the format wants
// UTF-8) and the value written; a textfile that does not parse loses every
// sessgc metric of the host, and with them the alerts.
func FuzzTextfile(f *testing.F) {
	for _, dir := range []string{"/srv/sessions", "", `C:\sessions`, "/srv/\xffsessions", "a\"b\\c\nd", "/srv/sess}ions{x=\"1\"} 2", "\\n", "\x00", "# HELP"} {
		f.Add(dir, 1.5)
	}
	f.Add("/srv", math.Inf(-1))
	f.Add("/srv", math.NaN())
	f.Add("/srv", 1e300)
	f.Fuzz(func(t *testing.T, dir string, v float64) {
		m := PassMetrics(dir, "sessgc_", "run", &Outcome{ExitCode: 1}, 0.25, time.Unix(1700000000, 0))
		m.Gauge("sessgc_fuzz_value", "A value\nwith a \\ newline.", v, Label{Name: "kind", Value: dir})
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(m.Bytes()))
		if err != nil {
			t.Fatalf("textfile for --dir %q does not parse: %v\n%s", dir, err, m.Bytes())
		}
		want := strings.ToValidUTF8(dir, "\uFFFD")
		if len(fams) != 7 {
			t.Fatalf("textfile for --dir %q has %d families, want 7:\n%s", dir, len(fams), m.Bytes())
		}
		for name, fam := range fams {
			if len(fam.GetMetric()) != 1 {
				t.Fatalf("%s: %d samples, want 1:\n%s", name, len(fam.GetMetric()), m.Bytes())
			}
			for _, l := range fam.GetMetric()[0].GetLabel() {
				if l.GetValue() != want {
					t.Fatalf("%s: label %s is %q, want %q:\n%s", name, l.GetName(), l.GetValue(), want, m.Bytes())
				}
			}
		}
		fam := fams["sessgc_fuzz_value"]
		if fam.GetHelp() != "A value\nwith a \\ newline." {
			t.Fatalf("help %q", fam.GetHelp())
		}
		got := fam.GetMetric()[0].GetGauge().GetValue()
		if got != v && !(math.IsNaN(got) && math.IsNaN(v)) {
			t.Fatalf("value %v written, %v read:\n%s", v, got, m.Bytes())
		}
	})
}
