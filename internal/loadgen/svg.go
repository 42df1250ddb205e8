package loadgen

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 820.0, 480.0
	padL, padR, padT, padB = 70.0, 70.0, 50.0, 70.0
)

// series is one line of the chart.
type series struct {
	name, color, dash string
	right             bool // on the success axis
	y                 []float64
}

// chart draws setup latency (p50, p99, left axis, ms) and the success ratio
// (right axis, %) against the offered call rate of each step: plain SVG,
// readable in a browser or an image viewer.
func chart(res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	title := fmt.Sprintf("fargo bench %s: %d users, %s, hold %.1fs, %d CPUs", res.Name, res.Login.OK, res.Config.XMPP, res.Config.HoldSeconds, res.Host.CPUs)
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="14">%s</text>`+"\n", padL, html.EscapeString(title))
	if len(res.Steps) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">no call steps; logins %.0f/s, p99 %.2f ms</text></svg>`+"\n", padL, chartH/2, res.Login.PerSecond, res.Login.Latency.P99)
		return b.String()
	}
	xs := make([]float64, len(res.Steps))
	ss := []series{
		{name: "setup p50 (ms)", color: "#1f77b4"},
		{name: "setup p99 (ms)", color: "#d62728"},
		{name: "success (%)", color: "#2ca02c", dash: "6,4", right: true},
	}
	for i, s := range res.Steps {
		xs[i] = s.OfferedRate
		lat := s.Out.Setup
		if lat.N == 0 && s.In != nil {
			lat = s.In.SIPp.Setup
		}
		ss[0].y = append(ss[0].y, lat.P50)
		ss[1].y = append(ss[1].y, lat.P99)
		ss[2].y = append(ss[2].y, 100*s.Success)
	}
	xMax := niceCeil(maxOf(xs) * 1.05)
	yMax := niceCeil(math.Max(maxOf(ss[1].y), maxOf(ss[0].y)) * 1.1)
	px := func(x float64) float64 { return padL + x/xMax*(chartW-padL-padR) }
	py := func(y, top float64) float64 { return chartH - padB - y/top*(chartH-padT-padB) }
	axes(&b, xMax, yMax, px, py)
	for _, s := range ss {
		top := yMax
		if s.right {
			top = 100
		}
		var pts []string
		for i, y := range s.y {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[i]), py(y, top)))
		}
		dash := ""
		if s.dash != "" {
			dash = ` stroke-dasharray="` + s.dash + `"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.color, dash, strings.Join(pts, " "))
		for _, p := range pts {
			x, y, _ := strings.Cut(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, s.color)
		}
	}
	for i, s := range ss {
		y := padT + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			padL+10, y, padL+30, y, s.color, padL+36, y+4, html.EscapeString(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// axes draws the frame, ticks and labels of both y axes and the x axis.
func axes(b *strings.Builder, xMax, yMax float64, px func(float64) float64, py func(float64, float64) float64) {
	x0, x1, y0, y1 := px(0), px(xMax), py(0, 1), py(1, 1)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", x0, y1, x1-x0, y0-y1)
	for i := 0; i <= 5; i++ {
		f := float64(i) / 5
		x := px(f * xMax)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			x, y1, x, y0, x, y0+16, trimNum(f*xMax))
		y := py(f*yMax, yMax)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0, y, x1, y, x0-6, y+4, trimNum(f*yMax))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x1+6, y+4, trimNum(f*100))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">offered calls/s</text>`+"\n", (x0+x1)/2, y0+40)
	fmt.Fprintf(b, `<text transform="translate(18,%.1f) rotate(-90)" text-anchor="middle">setup latency (ms)</text>`+"\n", (y0+y1)/2)
	fmt.Fprintf(b, `<text transform="translate(%.1f,%.1f) rotate(90)" text-anchor="middle">calls completed (%%)</text>`+"\n", x1+50, (y0+y1)/2)
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
