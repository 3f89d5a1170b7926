package httppeers

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
	"github.com/sessfs/sessfs/cmd/sessbench/internal/report"
)

// Report is a run's configuration, peers and results.
type Report struct {
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Duration    float64   `json:"duration_s"` // per peer, size and measurement
	Rounds      int       `json:"rounds"`
	Concurrency int       `json:"concurrency"`
	Sessions    int       `json:"sessions"`
	HotClients  int       `json:"hot_clients"`
	HotIncr     int       `json:"hot_increments"`
	// SessionTTL is how long after its creation every peer keeps a
	// session, in seconds (gorilla-fs: after its last write).
	SessionTTL float64    `json:"session_ttl_s"`
	Peers      []PeerInfo `json:"peers"`
	Results    []Result   `json:"results"`
	// Failed lists the peers that failed during the run, which have no
	// results.
	Failed []Failure   `json:"failed,omitempty"`
	Ratios []RatioInfo `json:"ratios,omitempty"`
}

// PeerInfo names a peer and says how it was set up.
type PeerInfo struct {
	Name string `json:"name"`
	Desc string `json:"desc"`
	// Persistence is what the peer's Redis keeps of a write it answered,
	// as sessbench run's targets give it ("aof, fsync always", ...).
	Persistence string `json:"persistence,omitempty"`
}

// RatioInfo compares the first peer with the second at one size.
type RatioInfo struct {
	Size int    `json:"size"`
	Of   string `json:"of"`
	To   string `json:"to"`
	// P50 is Of's p50 ÷ To's (below 1: faster); Throughput is Of's ÷ To's
	// (above 1: more requests per second).
	P50        float64 `json:"p50"`
	Throughput float64 `json:"throughput"`
}

// BuildReport assembles the report and the first peer's ratios to the
// second's (none where either failed).
func BuildReport(cfg Config, peers []*Peer, res []Result, failed []Failure, started, finished time.Time) *Report {
	r := &Report{
		Started: started.UTC(), Finished: finished.UTC(), Duration: cfg.Duration.Seconds(), Rounds: cfg.Rounds,
		Concurrency: cfg.Concurrency, Sessions: cfg.Sessions, HotClients: cfg.HotClients, HotIncr: cfg.HotIncrements,
		SessionTTL: cfg.SessionTTL.Seconds(), Results: res, Failed: failed,
	}
	if r.Results == nil {
		// A list in --json whatever the run, not null when every peer
		// failed.
		r.Results = []Result{}
	}
	for _, p := range peers {
		r.Peers = append(r.Peers, PeerInfo{Name: p.Name, Desc: p.Desc, Persistence: p.Persistence})
	}
	if len(peers) >= 2 {
		for _, size := range cfg.Sizes {
			a, b := r.find(peers[0].Name, size), r.find(peers[1].Name, size)
			if a == nil || b == nil || b.P50NS == 0 || b.Throughput == 0 {
				continue
			}
			r.Ratios = append(r.Ratios, RatioInfo{
				Size: size, Of: a.Peer, To: b.Peer,
				P50:        float64(a.P50NS) / float64(b.P50NS),
				Throughput: a.Throughput / b.Throughput,
			})
		}
	}
	return r
}

// failed reports whether peer failed during the run.
func (r *Report) failed(peer string) bool {
	for _, f := range r.Failed {
		if f.Peer == peer {
			return true
		}
	}
	return false
}

func (r *Report) find(peer string, size int) *Result {
	for i := range r.Results {
		if r.Results[i].Peer == peer && r.Results[i].Size == size {
			return &r.Results[i]
		}
	}
	return nil
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// nClients says "1 client" or "8 clients".
func nClients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}

// WriteMarkdown writes the results as a Markdown table, then the peers and
// the ratios, so that the output can go into a document as it is.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b bytes.Buffer
	hot := fmt.Sprintf("%d × %d on one session", r.HotClients, r.HotIncr)
	if r.HotClients == 0 || r.HotIncr == 0 {
		hot = "not run: --hot 0x0"
	}
	fmt.Fprintf(&b, "| peer | size | p50, 1 client | p99, 1 client | throughput, %s | p50, %s | lost updates (%s) |\n",
		nClients(r.Concurrency), nClients(r.Concurrency), hot)
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		lost := "–"
		if x.HotSent > 0 {
			lost = fmt.Sprintf("%d of %d", x.Lost, x.HotOK) + failedNote(x)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f req/s | %s | %s |\n",
			x.Peer, bytesize.Format(x.Size), FormatNS(x.P50NS), FormatNS(x.P99NS), x.Throughput, FormatNS(x.P50NSConc), lost)
	}
	// Nearest rank makes the p99 of fewer than 100 requests the slowest
	// one, which a single stall sets, as sessbench run's verdict says.
	var few []string
	for _, x := range r.Results {
		if x.Requests1 > 0 && x.Requests1 < 100 {
			n := fmt.Sprintf("%d requests", x.Requests1)
			if x.Requests1 == 1 {
				n = "1 request"
			}
			few = append(few, fmt.Sprintf("%s at %s rests on %s", x.Peer, bytesize.Format(x.Size), n))
		}
	}
	if len(few) > 0 {
		fmt.Fprintf(&b, "\nThe p99 with 1 client of %s: below 100, a p99 is the slowest request measured (nearest rank), which a single stall sets; measure longer (--duration) for a p99 to judge by.\n",
			strings.Join(few, ", "))
	}
	b.WriteString("\n")
	for _, ra := range r.Ratios {
		fmt.Fprintf(&b, "%s ÷ %s at %s: p50 %.2f×, throughput %.2f×\n", ra.Of, ra.To, bytesize.Format(ra.Size), ra.P50, ra.Throughput)
	}
	if len(r.Failed) > 0 {
		b.WriteString("\nFailed, no results:\n")
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "- %s: %s\n", f.Peer, f.Error)
		}
	}
	b.WriteString("\nPeers:\n")
	for _, p := range r.Peers {
		fmt.Fprintf(&b, "- %s: %s\n", p.Name, p.Desc)
	}
	rounds := "rounds"
	if r.Rounds == 1 {
		rounds = "round"
	}
	// As --duration takes it: "%.1f s" printed a 20ms run as "0.0 s".
	per := time.Duration(math.Round(r.Duration * float64(time.Second)))
	sessions := "sessions"
	if r.Sessions == 1 {
		sessions = "session"
	}
	fmt.Fprintf(&b, "\n%s to %s; %v per peer, size and measurement in %d interleaved %s; %d %s per peer and size.\n",
		r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339), per, r.Rounds, rounds, r.Sessions, sessions)
	if r.SessionTTL > 0 {
		fmt.Fprintf(&b, "Every peer keeps a session %s after its creation (gorilla-fs: after its last write), so that none expires during the run.\n",
			FormatTTL(time.Duration(r.SessionTTL*float64(time.Second))))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// failedNote says how many of the same-session test's increments were
// answered with an error status, and how many of those the counter shows
// saved nonetheless: " (3 failed, 2 of them saved)", or nothing.
func failedNote(x Result) string {
	if x.HotFails == 0 && x.HotSavedFailed == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d failed, %d of them saved)", x.HotFails, x.HotSavedFailed)
}

// FormatNS prints a duration in µs, to a tenth below 10 µs, in ms to a
// hundredth, or from 1 s in s to a hundredth, as sessbench run's table
// switches to s (a p99 of "3456.79 ms" is 3.46 s). The bounds are checked
// on the value as printed, so that a rounding up to the bound takes the
// next form: 999.6 µs is 1.00 ms, not "1000 µs" beside a "1.00 ms" in the
// next row. An exact half rounds up (away from zero), as in
// report.FormatDuration: 1.25 µs is 1.3 µs. The rounding is on whole
// nanoseconds, not on a float, so that the rule holds at every half.
func FormatNS(ns int64) string {
	if ns < 0 {
		return "-" + FormatNS(-max(ns, -math.MaxInt64))
	}
	if q := report.RoundDiv(ns, 100); q < 100 {
		return fmt.Sprintf("%d.%d µs", q/10, q%10)
	}
	if q := report.RoundDiv(ns, 1_000); q < 1000 {
		return fmt.Sprintf("%d µs", q)
	}
	if q := report.RoundDiv(ns, 10_000); q < 100_000 {
		return fmt.Sprintf("%d.%02d ms", q/100, q%100)
	}
	q := report.RoundDiv(ns, 10_000_000)
	return fmt.Sprintf("%d.%02d s", q/100, q%100)
}

// palette holds colours that stay distinguishable for common colour
// blindness (Okabe–Ito), as in sessbench run's chart.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// WritePlot draws two bar panels, p50 latency with one client and
// throughput with Concurrency clients, each grouped by session size with
// one bar per peer, and the lost updates under the legend.
func WritePlot(w io.Writer, r *Report, title string) error {
	var sizes []int
	for _, x := range r.Results {
		if !containsInt(sizes, x.Size) {
			sizes = append(sizes, x.Size)
		}
	}
	const (
		panelW, panelH = 380, 260
		padL, padT     = 64, 56
		gap            = 40
		barW           = 18
	)
	width := padL + 2*panelW + gap + 20
	legendY := padT + panelH + 50
	height := legendY + 22*len(r.Peers) + 30
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", width, height)
	text(&b, 12, 20, "start", 14, true, title)
	panels := []struct {
		name string
		get  func(Result) float64
		unit string
	}{
		{"p50 latency, 1 client (µs, lower is better)", func(x Result) float64 { return float64(x.P50NS) / 1e3 }, "µs"},
		{fmt.Sprintf("throughput, %s (requests/s, higher is better)", nClients(r.Concurrency)), func(x Result) float64 { return x.Throughput }, "req/s"},
	}
	for pi, pn := range panels {
		x0 := float64(padL + pi*(panelW+gap))
		y0 := float64(padT)
		top := 0.0
		for _, x := range r.Results {
			top = math.Max(top, pn.get(x))
		}
		top = niceCeil(top)
		text(&b, x0, y0-12, "start", 12, true, pn.name)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0, y0, panelW, panelH)
		for t := 0; t <= 4; t++ {
			v := top * float64(t) / 4
			y := y0 + panelH - float64(panelH)*float64(t)/4
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x0+panelW, y)
			text(&b, x0-6, y+4, "end", 10, false, trimFloat(v))
		}
		groupW := float64(panelW) / float64(max(len(sizes), 1))
		for si, size := range sizes {
			gx := x0 + groupW*float64(si)
			n := len(r.Peers)
			bx := gx + (groupW-float64(n*barW))/2
			for k, p := range r.Peers {
				x := r.find(p.Name, size)
				if x == nil || top == 0 {
					continue
				}
				v := pn.get(*x)
				h := float64(panelH) * v / top
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s"><title>`, bx+float64(k*barW), y0+panelH-h, barW-2, h, palette[k%len(palette)])
				xml.EscapeText(&b, []byte(fmt.Sprintf("%s, %s: %s %s", p.Name, bytesize.Format(size), trimFloat(v), pn.unit)))
				b.WriteString("</title></rect>\n")
			}
			text(&b, gx+groupW/2, y0+panelH+16, "middle", 11, false, bytesize.Format(size)+" session")
		}
	}
	for k, p := range r.Peers {
		y := float64(legendY + 22*k)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", padL, y-11, palette[k%len(palette)])
		var lost []string
		for _, size := range sizes {
			if x := r.find(p.Name, size); x != nil && x.HotSent > 0 {
				lost = append(lost, fmt.Sprintf("%s: %d of %d lost", bytesize.Format(size), x.Lost, x.HotOK)+failedNote(*x))
			}
		}
		label := p.Name
		if r.failed(p.Name) {
			label += " — failed during the run, no results (see the report)"
		}
		if len(lost) > 0 {
			label += fmt.Sprintf(" — same-session increments (%d × %d): %s", r.HotClients, r.HotIncr, strings.Join(lost, ", "))
		}
		text(&b, float64(padL+20), y, "start", 11, false, label)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, bold bool, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d"`, x, y, anchor, size)
	if bold {
		b.WriteString(` font-weight="bold"`)
	}
	b.WriteString(">")
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
