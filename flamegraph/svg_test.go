package flamegraph

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// svgFrame is one drawn frame as the SVG holds it.
type svgFrame struct {
	title, label string
	x, y, w      float64
}

// readSVG checks that the SVG is well-formed XML and returns its frames.
func readSVG(t *testing.T, b []byte) []svgFrame {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var out []svgFrame
	var cur *svgFrame
	var in string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := func(n string) float64 {
				for _, a := range e.Attr {
					if a.Name.Local == n {
						f, err := strconv.ParseFloat(a.Value, 64)
						if err != nil {
							t.Fatalf("%s=%q", n, a.Value)
						}
						return f
					}
				}
				return -1
			}
			switch e.Name.Local {
			case "g":
				for _, a := range e.Attr {
					if a.Name.Local == "class" && a.Value == "f" {
						out = append(out, svgFrame{})
						cur = &out[len(out)-1]
					}
				}
			case "rect":
				if cur != nil {
					cur.x, cur.y, cur.w = attr("x"), attr("y"), attr("width")
				}
			}
			in = e.Name.Local
		case xml.CharData:
			if cur != nil && in == "title" {
				cur.title += string(e)
			}
			if cur != nil && in == "text" {
				cur.label += string(e)
			}
		case xml.EndElement:
			if e.Name.Local == "g" {
				cur = nil
			}
			in = ""
		}
	}
	return out
}

func TestWriteSVG(t *testing.T) {
	p := NewProfile()
	p.Add([]string{"prog", "main", "spinTarget"}, 75)
	p.Add([]string{"prog", "main", "waitForIt<&>"}, 24)
	p.Add([]string{"prog", "tiny"}, 1)
	p.Add([]string{"prog", "main", "spinTarget", "do_syscall_64_[k]"}, 100)
	var b bytes.Buffer
	if err := p.WriteSVG(&b, Options{Title: "CPU & more", Subtitle: "tracelet profile"}); err != nil {
		t.Fatal(err)
	}
	fs := readSVG(t, b.Bytes())
	by := map[string]svgFrame{}
	for _, f := range fs {
		name := f.title[:strings.LastIndex(f.title, " (")]
		by[name] = f
	}
	if len(fs) != 7 {
		t.Errorf("%d frames drawn, want 7 (all, prog, main, spinTarget, do_syscall_64_[k], waitForIt<&>, tiny)", len(fs))
	}
	all, spin, sys := by["all"], by["spinTarget"], by["do_syscall_64_[k]"]
	if all.title != "all (200 samples, 100.00%)" || all.w != 1180 || all.x != 10 {
		t.Errorf("root: %+v", all)
	}
	// 175 of 200 samples pass through spinTarget: 1180 px * 175/200.
	if spin.w != 1032.5 || spin.title != "spinTarget (175 samples, 87.50%)" || spin.label != "spinTarget" {
		t.Errorf("spinTarget: %+v", spin)
	}
	// Roots at the bottom: each callee is one frame height above.
	if all.y-by["prog"].y != frameHeight || spin.y-sys.y != frameHeight || spin.x != sys.x {
		t.Errorf("geometry: all %+v prog %+v spin %+v sys %+v", all, by["prog"], spin, sys)
	}
	// Siblings in name order: spinTarget before waitForIt.
	if w := by["waitForIt<&>"]; w.x != spin.x+spin.w || w.title != "waitForIt<&> (24 samples, 12.00%)" {
		t.Errorf("waitForIt: %+v", w)
	}
	if tiny := by["tiny"]; tiny.label != "" || tiny.w != 5.9 {
		t.Errorf("tiny frame (5.9 px) should have no label: %+v", tiny)
	}
	for _, want := range []string{"<title>", "CPU &amp; more", "tracelet profile", `id="search"`, `id="unzoom"`, "function zoom(", "function search("} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteSVGLeavesOutSlivers(t *testing.T) {
	p := NewProfile()
	p.Add([]string{"big"}, 1_000_000)
	p.Add([]string{"small", "child"}, 10) // 0.0118 px: left out, with its callee
	var b bytes.Buffer
	p.WriteSVG(&b, Options{})
	if fs := readSVG(t, b.Bytes()); len(fs) != 2 {
		t.Errorf("%d frames, want all and big: %+v", len(fs), fs)
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := NewProfile().WriteSVG(&b, Options{}); err != nil {
		t.Fatal(err)
	}
	readSVG(t, b.Bytes())
}

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		name  string
		width float64
		want  string
	}{
		{"spinTarget", 200, "spinTarget"},
		{"spinTarget", 3 + 7.08*5, "spi.."},
		{"spinTarget", 3 + 7.08*2.9, ""},
		{"żółćżółć", 3 + 7.08*4, "żó.."},
	} {
		if got := Label(c.name, c.width); got != c.want {
			t.Errorf("Label(%q, %g) = %q, want %q", c.name, c.width, got, c.want)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q", n, got)
		}
	}
}
