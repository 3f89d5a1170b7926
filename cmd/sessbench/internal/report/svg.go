package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// svgCanvas writes SVG elements by hand: the chart needs lines, circles,
// rectangles and text, not a plotting library.
type svgCanvas struct{ b *bytes.Buffer }

func writeSVG(w io.Writer, ch *chart) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		ch.width, ch.height, ch.width, ch.height)
	ch.draw(svgCanvas{&b})
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (c svgCanvas) rect(x, y, w, h float64, fill, stroke string) {
	if fill == "" {
		fill = "none"
	}
	fmt.Fprintf(c.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"`, x, y, w, h, fill)
	if stroke != "" {
		fmt.Fprintf(c.b, ` stroke="%s"`, stroke)
	}
	c.b.WriteString("/>\n")
}

func (c svgCanvas) polyline(pts [][2]float64, color string, width float64, dash []float64) {
	var ps []string
	for _, p := range pts {
		ps = append(ps, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
	}
	fmt.Fprintf(c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%g"`, strings.Join(ps, " "), color, width)
	if len(dash) > 0 {
		var ds []string
		for _, d := range dash {
			ds = append(ds, fmt.Sprint(d))
		}
		fmt.Fprintf(c.b, ` stroke-dasharray="%s"`, strings.Join(ds, " "))
	}
	c.b.WriteString("/>\n")
}

func (c svgCanvas) circle(cx, cy, r float64, color, title string) {
	fmt.Fprintf(c.b, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"><title>`, cx, cy, r, color)
	xml.EscapeText(c.b, []byte(title))
	c.b.WriteString("</title></circle>\n")
}

func (c svgCanvas) text(x, y float64, anchor string, size int, bold bool, s string) {
	fmt.Fprintf(c.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d"`, x, y, anchor, size)
	if bold {
		c.b.WriteString(` font-weight="bold"`)
	}
	c.b.WriteString(">")
	xml.EscapeText(c.b, []byte(s))
	c.b.WriteString("</text>\n")
}

// svgMeasure estimates the width of s in the viewer's sans-serif font from
// DejaVu Sans's advance widths (in em), the widest of the common ones, so
// that a layout made with it fits in Arial or Helvetica too. Bold is about
// a tenth wider.
func svgMeasure(s string, size int, bold bool) float64 {
	var em float64
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljI.,:;'|!", r):
			em += 0.30
		case strings.ContainsRune(" ()[]{}/-ft", r):
			em += 0.39
		case r == 'r':
			em += 0.42
		case r == 'm' || r == 'M' || r == 'W' || r == '—' || r == '%' || r == '@':
			em += 1.0
		case r == 'w' || r == '×' || r == '#' || r == '&':
			em += 0.84
		case r >= 'A' && r <= 'Z':
			em += 0.74
		default: // lower case, digits and the rest
			em += 0.64
		}
	}
	if bold {
		em *= 1.1
	}
	return em * float64(size)
}
