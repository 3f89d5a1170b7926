package report

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// pngCanvas rasterizes the chart with the standard library's image
// packages; golang.org/x/image supplies only a fixed bitmap font for the
// labels. Lines are not anti-aliased: the chart stays legible, and a
// rasterizer dependency would buy only smoothness.
type pngCanvas struct{ img *image.RGBA }

func writePNG(w io.Writer, ch *chart) error {
	c := pngCanvas{image.NewRGBA(image.Rect(0, 0, ch.width, ch.height))}
	ch.draw(c)
	return png.Encode(w, c.img)
}

func parseColor(s string) color.RGBA {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

func (c pngCanvas) rect(x, y, w, h float64, fill, stroke string) {
	r := image.Rect(int(x), int(y), int(x+w), int(y+h))
	if fill != "" {
		draw.Draw(c.img, r, image.NewUniform(parseColor(fill)), image.Point{}, draw.Src)
	}
	if stroke != "" {
		x0, y0, x1, y1 := float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)
		c.polyline([][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}, stroke, 1, nil)
	}
}

// polyline walks each segment in half-pixel steps, stamping a square of the
// line's width wherever the dash pattern is "on"; the pattern continues
// across segments as it does in SVG.
func (c pngCanvas) polyline(pts [][2]float64, col string, width float64, dash []float64) {
	rgba := parseColor(col)
	var period float64
	for _, d := range dash {
		period += d
	}
	dist := 0.0
	half := int(math.Max(0, (width-1)/2))
	for i := 1; i < len(pts); i++ {
		ax, ay, bx, by := pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1]
		length := math.Hypot(bx-ax, by-ay)
		steps := int(length*2) + 1
		for s := 0; s <= steps; s++ {
			f := float64(s) / float64(steps)
			if on(dash, period, dist+f*length) {
				px, py := int(math.Round(ax+f*(bx-ax))), int(math.Round(ay+f*(by-ay)))
				for dy := -half; dy <= half+int(width-1)%2; dy++ {
					for dx := -half; dx <= half+int(width-1)%2; dx++ {
						c.img.SetRGBA(px+dx, py+dy, rgba)
					}
				}
			}
		}
		dist += length
	}
}

func on(dash []float64, period, d float64) bool {
	if period == 0 {
		return true
	}
	d = math.Mod(d, period)
	for i, l := range dash {
		if d < l {
			return i%2 == 0
		}
		d -= l
	}
	return false
}

func (c pngCanvas) circle(cx, cy, r float64, col, _ string) {
	rgba := parseColor(col)
	for y := int(cy - r - 1); y <= int(cy+r+1); y++ {
		for x := int(cx - r - 1); x <= int(cx+r+1); x++ {
			if math.Hypot(float64(x)-cx, float64(y)-cy) <= r {
				c.img.SetRGBA(x, y, rgba)
			}
		}
	}
}

// ascii replaces the characters the chart uses that the bitmap font lacks.
func ascii(s string) string {
	return strings.NewReplacer("µ", "u", "×", "x", "–", "-", "—", "-").Replace(s)
}

// pngMeasure is the width text gets in the 7×13 bitmap font: 7 pixels a
// character whatever the size, one more when bold.
func pngMeasure(s string, _ int, bold bool) float64 {
	w := 7 * utf8.RuneCountInString(ascii(s))
	if bold {
		w++
	}
	return float64(w)
}

// text draws s in the 7×13 bitmap font, whatever the requested size; bold
// is drawn twice, one pixel apart. The font is ASCII only.
func (c pngCanvas) text(x, y float64, anchor string, _ int, bold bool, s string) {
	s = ascii(s)
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(color.RGBA{0x22, 0x22, 0x22, 0xff}), Face: basicfont.Face7x13}
	w := d.MeasureString(s).Round()
	switch anchor {
	case "middle":
		x -= float64(w) / 2
	case "end":
		x -= float64(w)
	}
	d.Dot = fixed.P(int(x), int(y))
	d.DrawString(s)
	if bold {
		d.Dot = fixed.P(int(x)+1, int(y))
		d.DrawString(s)
	}
}
