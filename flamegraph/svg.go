package flamegraph

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed flamegraph.js
var script string

// Options are the SVG's title and labels; zero values take
// flamegraph.pl's defaults.
type Options struct {
	Title     string // "Flame Graph"
	Subtitle  string // a second line under the title, e.g. the command
	CountName string // what a count counts: "samples", or "us" for off-CPU time
	Width     int    // of the image in pixels: 1200
}

// The geometry of flamegraph.pl's defaults.
const (
	frameHeight = 16
	fontSize    = 12
	fontWidth   = 0.59 // average character width, in font sizes
	xpad        = 10
	minWidth    = 0.1 // px: narrower frames are left out
)

// WriteSVG draws p as an interactive flame graph: one rectangle per frame,
// its width the share of the samples that pass through it, the roots at
// the bottom under an "all" frame.
func (p *Profile) WriteSVG(w io.Writer, o Options) error {
	if o.Title == "" {
		o.Title = "Flame Graph"
	}
	if o.CountName == "" {
		o.CountName = "samples"
	}
	if o.Width <= 2*xpad {
		o.Width = 1200
	}
	root, depth := p.tree("all")
	ypad1 := fontSize * 3
	if o.Subtitle != "" {
		ypad1 += fontSize * 2
	}
	ypad2 := fontSize*2 + 10
	height := (depth+1)*frameHeight + ypad1 + ypad2
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" id="flamegraph" width="%d" height="%d" viewBox="0 0 %d %d" onload="init(evt)" xmlns="http://www.w3.org/2000/svg" data-xpad="%d" data-font="%g" data-count="%s">
<style>
text { font-family: Verdana, sans-serif; font-size: %dpx; fill: #000; }
#title { font-size: %dpx; text-anchor: middle; }
#subtitle { text-anchor: middle; fill: #a0a0a0; }
#unzoom, #search { cursor: pointer; }
.hide { display: none; }
g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
g.f text { pointer-events: none; }
g.parent { opacity: 0.5; }
</style>
<script type="text/ecmascript"><![CDATA[%s]]></script>
<rect x="0" y="0" width="%d" height="%d" fill="#f8f4e8"/>
<text id="title" x="%d" y="%d">%s</text>
`, o.Width, height, o.Width, height, xpad, fontSize*fontWidth, esc(o.CountName),
		fontSize, fontSize+5, script, o.Width, height, o.Width/2, fontSize*2, esc(o.Title))
	if o.Subtitle != "" {
		fmt.Fprintf(bw, "<text id=\"subtitle\" x=\"%d\" y=\"%d\">%s</text>\n", o.Width/2, fontSize*4, esc(o.Subtitle))
	}
	fmt.Fprintf(bw, `<text id="details" x="%d" y="%d"> </text>
<text id="unzoom" class="hide" x="%d" y="%d">Reset Zoom</text>
<text id="search" x="%d" y="%d" text-anchor="end">Search</text>
<text id="matched" x="%d" y="%d" text-anchor="end"> </text>
<g id="frames">
`, xpad, height-ypad2/2, xpad, fontSize*2, o.Width-xpad, fontSize*2, o.Width-xpad, height-ypad2/2)
	d := drawer{w: bw, total: root.total, count: o.CountName,
		perSample: float64(o.Width-2*xpad) / float64(max(root.total, 1)),
		bottom:    height - ypad2}
	d.frame(root, 0, 0)
	bw.WriteString("</g>\n</svg>\n")
	return bw.Flush()
}

type drawer struct {
	w         *bufio.Writer
	total     uint64
	count     string
	perSample float64
	bottom    int // y of the root frame's bottom edge
}

// frame draws n, which starts start samples from the left, at depth, and
// then its callees left to right.
func (d *drawer) frame(n *node, depth int, start uint64) {
	width := float64(n.total) * d.perSample
	if width < minWidth {
		return
	}
	x := float64(xpad) + float64(start)*d.perSample
	y := d.bottom - (depth+1)*frameHeight
	pct := 100 * float64(n.total) / float64(max(d.total, 1))
	fmt.Fprintf(d.w, "<g class=\"f\"><title>%s (%s %s, %s%%)</title><rect x=\"%s\" y=\"%d\" width=\"%s\" height=\"%d\" fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%s\" y=\"%d\">%s</text></g>\n",
		esc(n.name), commas(n.total), esc(d.count), strconv.FormatFloat(pct, 'f', 2, 64),
		px(x), y, px(width), frameHeight-1, color(n.name), px(x+3), y+frameHeight-5, esc(Label(n.name, width)))
	for _, c := range n.children {
		d.frame(c, depth+1, start)
		start += c.total
	}
}

// Label is the text that fits a frame width px wide: the name, cut with
// ".." when it is too long, or nothing when fewer than three characters
// fit (as flamegraph.pl labels its frames).
func Label(name string, width float64) string {
	chars := int((width - 3) / (fontSize * fontWidth))
	if chars < 3 {
		return ""
	}
	r := []rune(name)
	if len(r) <= chars {
		return name
	}
	return string(r[:chars-2]) + ".."
}

func px(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// esc escapes text and attribute values for XML (by hand: html's and
// strings.Replacer's code would cost more than this on mips).
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>\"'") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// commas groups the digits of n by thousands, as flamegraph.pl prints
// counts in its tooltips.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// color picks a frame's fill from its name, so that a function keeps its
// color across graphs: warm colors for user code, oranges for kernel
// frames ("_[k]"), grey for frames that could not be resolved.
func color(name string) string {
	if strings.HasPrefix(name, "[unknown]") || strings.HasPrefix(name, "[Missed") {
		return "rgb(190,190,190)"
	}
	fn, kernel := strings.CutSuffix(name, "_[k]")
	v := uint32(2166136261) // FNV-1a
	for i := 0; i < len(fn); i++ {
		v = (v ^ uint32(fn[i])) * 16777619
	}
	v1, v2, v3 := float64(v&0xff)/255, float64(v>>8&0xff)/255, float64(v>>16&0xff)/255
	if kernel {
		return fmt.Sprintf("rgb(%d,%d,%d)", 220+int(35*v1), 120+int(60*v2), int(40*v3))
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", 205+int(50*v3), int(230*v1), int(55*v2))
}
