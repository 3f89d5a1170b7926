package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sessfs/sessfs/cmd/sessbench/internal/bytesize"
)

// Plot geometry, in pixels (SVG user units).
const (
	panelW, panelH = 360, 240
	padL, padR     = 64, 16 // inside a panel: room for the y labels
	padT, padB     = 28, 40 // title above, x labels below
	margin         = 12     // left and right of the header
	legendRowH     = 18
	minWidth       = 560
)

// palette holds colours that stay distinguishable for common colour
// blindness (Okabe–Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// percentileLine is one percentile the chart can draw.
type percentileLine struct {
	label string
	dash  []float64 // on, off lengths; nil: solid
	get   func(Row) int64
}

// lines are the percentiles the chart can draw, in legend order.
var lines = []percentileLine{
	{"p50", nil, func(r Row) int64 { return r.P50NS }},
	{"p90", []float64{10, 3, 2, 3}, func(r Row) int64 { return r.P90NS }},
	{"p99", []float64{7, 4}, func(r Row) int64 { return r.P99NS }},
	{"p99.9", []float64{2, 3}, func(r Row) int64 { return r.P999NS }},
}

// Percentiles returns the percentiles a chart can draw: "p50", "p90",
// "p99", "p99.9".
func Percentiles() []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.label)
	}
	return out
}

// DefaultPercentiles are drawn when PlotOptions.Percentiles is empty. p99.9
// is left out because, on a noisy machine, its line lies on top of p99's
// and makes both unreadable.
func DefaultPercentiles() []string { return []string{"p50", "p99"} }

// PlotOptions are the settings of a chart. The zero value draws the default
// chart.
type PlotOptions struct {
	// Title is the chart's header line; empty means DefaultTitle.
	Title string
	// Percentiles are the lines drawn for each target, from Percentiles();
	// empty means DefaultPercentiles. Unknown labels are an error.
	Percentiles []string
}

// DefaultTitle names the run: its targets, its workloads and the day it
// started.
func DefaultTitle(r *Report) string {
	var names []string
	for _, t := range r.Targets {
		names = append(names, t.Name)
	}
	wls := r.Config.Workloads
	if len(wls) == 0 {
		for _, row := range r.Results {
			if !slices.Contains(wls, row.Workload) {
				wls = append(wls, row.Workload)
			}
		}
	}
	return fmt.Sprintf("%s — %s — %s", strings.Join(names, " vs "), strings.Join(wls, ", "), r.Started.Format("2006-01-02"))
}

// canvas is what the chart is drawn on (an SVG document): the layout and
// the drawing say where things go, the canvas how they are written.
// Colours are "#rrggbb"; an empty fill or stroke draws nothing.
type canvas interface {
	rect(x, y, w, h float64, fill, stroke string)
	polyline(pts [][2]float64, color string, width float64, dash []float64)
	circle(cx, cy, r float64, color, title string)
	text(x, y float64, anchor string, size int, bold bool, s string)
}

// measureFunc returns the width a canvas gives text: for SVG, whose font
// the viewer picks, an upper estimate.
type measureFunc func(s string, size int, bold bool) float64

// legendItem is one entry of the target legend, placed by layout.
type legendItem struct {
	x, y  float64
	color string
	label string
}

// chart is the layout shared by both output formats.
type chart struct {
	r             *Report
	title, sub    []string // lines, wrapped to the canvas
	lines         []percentileLine
	legend        []legendItem
	linesY        float64 // baseline of the percentile legend row
	workloads     []string
	sizes, concs  []int
	ticks         []int64
	yMin, yMax    float64 // log10 of the outer ticks
	headerH       float64 // title and legends above the panels
	width, height int
}

// locksSaid names how the directory targets' stores locked, for the
// chart's subtitle: ", locks flock", or ", locks lease on efs; flock on
// local" where they differ. Empty without a directory target that says.
func locksSaid(targets []Target) string {
	var order []string
	on := map[string][]string{}
	for _, t := range targets {
		if t.Kind != "fs" || t.Locks == "" {
			continue
		}
		if _, ok := on[t.Locks]; !ok {
			order = append(order, t.Locks)
		}
		on[t.Locks] = append(on[t.Locks], t.Name)
	}
	if len(order) <= 1 {
		if len(order) == 0 {
			return ""
		}
		return ", locks " + order[0]
	}
	var parts []string
	for _, l := range order {
		parts = append(parts, l+" on "+strings.Join(on[l], ", "))
	}
	return ", locks " + strings.Join(parts, "; ")
}

func newChart(r *Report, opts PlotOptions, measure measureFunc) (*chart, error) {
	ch := &chart{r: r}
	title := opts.Title
	if title == "" {
		title = DefaultTitle(r)
	}
	// The loop, the durability and the locks are what a chart shown on its
	// own must say for its latencies to be read right: a closed loop's
	// tail leaves out the queueing a stall causes, a local disk's save at
	// none promises less than the shared mount's, and a lease-locked
	// cycle costs round trips a flock-locked one does not.
	sub := fmt.Sprintf("Session latency by concurrency (log scale; lower is better), %s. sessbench %s, %d round(s)",
		r.Config.loop(), r.Started.Format(time.RFC3339), r.Config.Rounds)
	if d := r.Config.Durability; d != "" {
		sub += ", fsstore durability " + d
	}
	sub += locksSaid(r.Targets) + "."
	want := opts.Percentiles
	if len(want) == 0 {
		want = DefaultPercentiles()
	}
	for _, p := range want {
		i := slices.IndexFunc(lines, func(l percentileLine) bool { return l.label == p })
		if i < 0 {
			return nil, fmt.Errorf("unknown percentile %q (want %s)", p, strings.Join(Percentiles(), ", "))
		}
		ch.lines = append(ch.lines, lines[i])
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, row := range r.Results {
		if !slices.Contains(ch.workloads, row.Workload) {
			ch.workloads = append(ch.workloads, row.Workload)
		}
		if !slices.Contains(ch.sizes, row.PayloadBytes) {
			ch.sizes = append(ch.sizes, row.PayloadBytes)
		}
		if !slices.Contains(ch.concs, row.Concurrency) {
			ch.concs = append(ch.concs, row.Concurrency)
		}
		if row.Ops == 0 {
			continue
		}
		for _, l := range ch.lines {
			lo = min(lo, max(l.get(row), 1))
			hi = max(hi, l.get(row))
		}
	}
	slices.Sort(ch.concs)
	if hi == 0 {
		lo, hi = 1000, 10000
	}
	ch.ticks = logTicks(lo, hi)
	ch.yMin, ch.yMax = math.Log10(float64(ch.ticks[0])), math.Log10(float64(ch.ticks[len(ch.ticks)-1]))
	ch.layoutHeader(measure, title, sub)
	ch.height = int(ch.headerH) + max(len(ch.workloads), 1)*panelH
	return ch, nil
}

// Header text sizes and line heights.
const (
	titleSize, titleLineH = 15, 19
	subSize, subLineH     = 11, 15
)

// layoutHeader sizes the canvas and places the header. The panels decide
// the width; the title and the legend wrap to it, so long target names
// never run off the edge. Only a single word or legend entry wider than
// the panels widens the canvas.
func (ch *chart) layoutHeader(measure measureFunc, title, sub string) {
	w := float64(max(len(ch.sizes)*panelW, minWidth))
	const swatch = 18.0 // colour box and the gap after it
	const gap = 18.0    // between entries
	for _, t := range ch.r.Targets {
		w = max(w, 2*margin+swatch+measure(legendLabel(t), 11, false))
	}
	for _, word := range strings.Fields(title) {
		w = max(w, 2*margin+measure(word, titleSize, true))
	}
	for _, word := range strings.Fields(sub) {
		w = max(w, 2*margin+measure(word, subSize, false))
	}
	ch.title = wrap(title, w-2*margin, func(s string) float64 { return measure(s, titleSize, true) })
	ch.sub = wrap(sub, w-2*margin, func(s string) float64 { return measure(s, subSize, false) })
	// Baseline of the last header text line, then the legend below it.
	y := 22.0 + titleLineH*float64(len(ch.title)-1) + 4 + subLineH*float64(len(ch.sub))
	x := float64(margin)
	y += 20
	for i, t := range ch.r.Targets {
		label := legendLabel(t)
		iw := swatch + measure(label, 11, false)
		if x > margin && x+iw > w-margin {
			x, y = margin, y+legendRowH
		}
		ch.legend = append(ch.legend, legendItem{x: x, y: y, color: palette[i%len(palette)], label: label})
		x += iw + gap
	}
	ch.linesY = y + legendRowH
	ch.headerH = ch.linesY + 16
	ch.width = int(math.Ceil(w))
}

// wrap breaks s at spaces into lines no wider than w; a word wider than w
// gets a line of its own.
func wrap(s string, w float64, measure func(string) float64) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case measure(line+" "+word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

// legendLabel names a target and its kind, "nfs — shared mount, nfs4",
// without the kind when the name already says it.
func legendLabel(t Target) string {
	var kind string
	switch {
	case t.Kind == "fs" && t.NFS:
		kind = "shared mount"
	case t.Kind == "fs" && (t.FSType == "tmpfs" || t.FSType == "ramfs"):
		kind = "memory"
	case t.Kind == "fs":
		kind = "local disk"
	case t.Kind == "redis" && t.Server != "":
		kind = t.Server
	case t.Kind == "redis":
		kind = "Redis"
	default:
		kind = t.Kind
	}
	if t.Kind == "fs" && t.FSType != "" && !strings.EqualFold(t.FSType, t.Name) {
		kind += ", " + t.FSType
	}
	if kind == "" || strings.EqualFold(kind, t.Name) {
		return t.Name
	}
	return t.Name + " — " + kind
}

// draw draws latency percentiles per target against concurrency, one panel
// per workload and payload size, all on one logarithmic latency scale so
// panels compare at a glance.
func (ch *chart) draw(c canvas) {
	c.rect(0, 0, float64(ch.width), float64(ch.height), "#ffffff", "")
	y := 22.0
	for _, l := range ch.title {
		c.text(margin, y, "start", titleSize, true, l)
		y += titleLineH
	}
	y += 4 - titleLineH + subLineH
	for _, l := range ch.sub {
		c.text(margin, y, "start", subSize, false, l)
		y += subLineH
	}
	// Legend: one colour per target, one dash style per percentile.
	for _, it := range ch.legend {
		c.rect(it.x, it.y-9, 14, 10, it.color, "")
		c.text(it.x+18, it.y, "start", 11, false, it.label)
	}
	x := float64(margin)
	for _, p := range ch.lines {
		c.polyline([][2]float64{{x, ch.linesY - 4}, {x + 28, ch.linesY - 4}}, "#333333", 2, p.dash)
		c.text(x+32, ch.linesY, "start", 11, false, p.label)
		x += 80
	}
	for wi, wl := range ch.workloads {
		for si, size := range ch.sizes {
			ch.panel(c, float64(si*panelW), ch.headerH+float64(wi*panelH), wl, size)
		}
	}
}

func (ch *chart) panel(c canvas, ox, oy float64, wl string, size int) {
	x0, x1 := ox+padL, ox+panelW-padR
	y0, y1 := oy+padT, oy+panelH-padB // top and bottom of the plot area
	yOf := func(ns int64) float64 {
		v := math.Log10(float64(max(ns, 1)))
		return y1 - (v-ch.yMin)/(ch.yMax-ch.yMin)*(y1-y0)
	}
	xOf := func(i int) float64 {
		if len(ch.concs) == 1 {
			return (x0 + x1) / 2
		}
		return x0 + 12 + float64(i)*(x1-x0-24)/float64(len(ch.concs)-1)
	}
	c.text(ox+padL, oy+18, "start", 12, true, fmt.Sprintf("%s, %s", wl, bytesize.Format(size)))
	for _, t := range ch.ticks {
		y := yOf(t)
		c.polyline([][2]float64{{x0, y}, {x1, y}}, "#e3e3e3", 1, nil)
		c.text(x0-4, y+4, "end", 10, false, tickLabel(t))
	}
	c.rect(x0, y0, x1-x0, y1-y0, "", "#999999")
	for i, n := range ch.concs {
		c.text(xOf(i), y1+14, "middle", 10, false, fmt.Sprint(n))
	}
	c.text((x0+x1)/2, y1+30, "middle", 10, false, "concurrent clients")
	for ti, t := range ch.r.Targets {
		color := palette[ti%len(palette)]
		for _, p := range ch.lines {
			var pts [][2]float64
			for i, n := range ch.concs {
				for _, row := range ch.r.Results {
					if row.Target != t.Name || row.Workload != wl || row.PayloadBytes != size || row.Concurrency != n || row.Ops == 0 {
						continue
					}
					pt := [2]float64{xOf(i), yOf(p.get(row))}
					pts = append(pts, pt)
					c.circle(pt[0], pt[1], 2.5, color, fmt.Sprintf("%s %s %s c=%d %s = %s",
						t.Name, wl, bytesize.Format(size), n, p.label, FormatDuration(time.Duration(p.get(row)))))
				}
			}
			if len(pts) > 1 {
				c.polyline(pts, color, 2, p.dash)
			}
		}
	}
}

// WritePlot writes the chart of r to w as SVG, as opts say. SVG is the one
// format: browsers and documentation render it sharp at any size, with the
// viewer's fonts (a bitmap would need a rasteriser and a font).
func WritePlot(w io.Writer, r *Report, opts PlotOptions) error {
	ch, err := newChart(r, opts, svgMeasure)
	if err != nil {
		return err
	}
	return writeSVG(w, ch)
}

// WriteSVG writes the default chart as SVG.
func WriteSVG(w io.Writer, r *Report) error { return WritePlot(w, r, PlotOptions{}) }

// tickLabel prints a 1-2-5 tick without FormatDuration's trailing zeros.
func tickLabel(ns int64) string {
	s := FormatDuration(time.Duration(ns))
	for _, z := range []string{".00", ".0"} {
		if i := strings.Index(s, z); i > 0 {
			return s[:i] + s[i+len(z):]
		}
	}
	return s
}

// logTicks returns 1-2-5 ticks in nanoseconds covering [lo, hi], thinned to
// powers of ten when there would be more than eight.
func logTicks(lo, hi int64) []int64 {
	var all []int64
	for dec := int64(1); dec <= 1e13; dec *= 10 {
		for _, m := range []int64{1, 2, 5} {
			all = append(all, m*dec)
		}
	}
	first, last := 0, len(all)-1
	for i, t := range all {
		if t <= lo {
			first = i
		}
		if t >= hi {
			last = i
			break
		}
	}
	ticks := all[first : last+1]
	if len(ticks) > 8 {
		var dec []int64
		for _, t := range ticks {
			if s := fmt.Sprint(t); s[0] == '1' {
				dec = append(dec, t)
			}
		}
		if dec[0] > lo {
			dec = append([]int64{dec[0] / 10}, dec...)
		}
		if dec[len(dec)-1] < hi {
			dec = append(dec, dec[len(dec)-1]*10)
		}
		ticks = dec
	}
	if len(ticks) < 2 {
		ticks = []int64{ticks[0], ticks[0] * 10}
	}
	return ticks
}
