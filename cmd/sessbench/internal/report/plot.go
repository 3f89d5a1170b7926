package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Plot geometry, in pixels (SVG user units).
const (
	panelW, panelH = 360, 240
	padL, padR     = 64, 16 // inside a panel: room for the y labels
	padT, padB     = 28, 40 // title above, x labels below
	headerH        = 86     // title and legend above the panels
)

// palette holds colours that stay distinguishable for common colour
// blindness (Okabe–Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

var percentiles = []struct {
	label string
	dash  []float64 // on, off lengths; nil: solid
	get   func(Row) int64
}{
	{"p50", nil, func(r Row) int64 { return r.P50NS }},
	{"p99", []float64{7, 4}, func(r Row) int64 { return r.P99NS }},
	{"p99.9", []float64{2, 3}, func(r Row) int64 { return r.P999NS }},
}

// canvas is what the chart is drawn on: an SVG document or a PNG image.
// Colours are "#rrggbb"; an empty fill or stroke draws nothing.
type canvas interface {
	rect(x, y, w, h float64, fill, stroke string)
	polyline(pts [][2]float64, color string, width float64, dash []float64)
	circle(cx, cy, r float64, color, title string)
	text(x, y float64, anchor string, size int, bold bool, s string)
}

// chart is the layout shared by both output formats.
type chart struct {
	r             *Report
	workloads     []string
	sizes, concs  []int
	ticks         []int64
	yMin, yMax    float64 // log10 of the outer ticks
	width, height int
}

func newChart(r *Report) *chart {
	ch := &chart{r: r}
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
		lo = min(lo, max(row.P50NS, 1))
		hi = max(hi, row.P999NS)
	}
	slices.Sort(ch.concs)
	if hi == 0 {
		lo, hi = 1000, 10000
	}
	ch.ticks = logTicks(lo, hi)
	ch.yMin, ch.yMax = math.Log10(float64(ch.ticks[0])), math.Log10(float64(ch.ticks[len(ch.ticks)-1]))
	ch.width = max(len(ch.sizes)*panelW, 560)
	ch.height = headerH + max(len(ch.workloads), 1)*panelH
	return ch
}

// draw draws latency percentiles per target against concurrency, one panel
// per workload and payload size, all on one logarithmic latency scale so
// panels compare at a glance.
func (ch *chart) draw(c canvas) {
	r := ch.r
	c.rect(0, 0, float64(ch.width), float64(ch.height), "#ffffff", "")
	c.text(12, 20, "start", 15, true, "Session latency by concurrency (log scale; lower is better)")
	c.text(12, 38, "start", 11, false, fmt.Sprintf("sessbench %s, %d round(s)", r.Started.Format(time.RFC3339), r.Config.Rounds))
	// Legend: one colour per target, one dash style per percentile.
	x := 12.0
	for i, t := range r.Targets {
		c.rect(x, 50, 14, 10, palette[i%len(palette)], "")
		label := t.Name + " (" + short(t) + ")"
		c.text(x+18, 59, "start", 11, false, label)
		x += 30 + 7*float64(len([]rune(label)))
	}
	x = 12
	for _, p := range percentiles {
		c.polyline([][2]float64{{x, 74}, {x + 28, 74}}, "#333333", 2, p.dash)
		c.text(x+32, 78, "start", 11, false, p.label)
		x += 80
	}
	for wi, wl := range ch.workloads {
		for si, size := range ch.sizes {
			ch.panel(c, float64(si*panelW), float64(headerH+wi*panelH), wl, size)
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
	c.text(ox+padL, oy+18, "start", 12, true, fmt.Sprintf("%s, %s", wl, FormatSize(size)))
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
		for _, p := range percentiles {
			var pts [][2]float64
			for i, n := range ch.concs {
				for _, row := range ch.r.Results {
					if row.Target != t.Name || row.Workload != wl || row.PayloadBytes != size || row.Concurrency != n || row.Ops == 0 {
						continue
					}
					pt := [2]float64{xOf(i), yOf(p.get(row))}
					pts = append(pts, pt)
					c.circle(pt[0], pt[1], 2.5, color, fmt.Sprintf("%s %s %s c=%d %s = %s",
						t.Name, wl, FormatSize(size), n, p.label, FormatDuration(time.Duration(p.get(row)))))
				}
			}
			if len(pts) > 1 {
				c.polyline(pts, color, 2, p.dash)
			}
		}
	}
}

// WritePlot writes the chart as SVG, or as PNG when png is true.
func WritePlot(w io.Writer, r *Report, png bool) error {
	ch := newChart(r)
	if png {
		return writePNG(w, ch)
	}
	return writeSVG(w, ch)
}

// WriteSVG writes the chart as SVG.
func WriteSVG(w io.Writer, r *Report) error { return WritePlot(w, r, false) }

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
