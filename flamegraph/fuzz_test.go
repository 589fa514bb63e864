package flamegraph

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzParseFolded: no input panics the parser or the SVG writer, and what
// WriteFolded writes parses back to the same profile.
func FuzzParseFolded(f *testing.F) {
	for _, s := range []string{
		"a;b;c 3\na;b 2\n",
		"comm;[unknown] 0x7f00;f_[k] 12\n",
		"x 1.5\n",
		"\n\n;; 4\n",
		"a;b\t7\r\n",
		"no count here\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseFolded(strings.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := p.WriteFolded(&out); err != nil {
			t.Fatal(err)
		}
		q, err := ParseFolded(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("own output does not parse: %v\n%s", err, out.String())
		}
		var again bytes.Buffer
		q.WriteFolded(&again)
		if again.String() != out.String() || q.Total() != p.Total() {
			t.Fatalf("round trip changed the profile:\n%s\n---\n%s", out.String(), again.String())
		}
		if err := p.WriteSVG(io.Discard, Options{}); err != nil {
			t.Fatal(err)
		}
	})
}
