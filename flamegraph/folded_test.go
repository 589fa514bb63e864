package flamegraph

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseFoldedMerges(t *testing.T) {
	in := "a;b;c 3\n\n  \na;b 2\na;b;c 4\r\nx;y\t1\nperf;weighted 2.6\n[unknown] 0x7f00;a 1\n"
	p, err := ParseFolded(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Count("a", "b", "c"); got != 7 {
		t.Errorf("a;b;c = %d, want 7 (3+4 merged)", got)
	}
	if got := p.Count("perf", "weighted"); got != 3 {
		t.Errorf("2.6 rounds to %d, want 3", got)
	}
	if p.Total() != 7+2+1+3+1 || p.Len() != 5 {
		t.Errorf("total %d, len %d; want 14, 5", p.Total(), p.Len())
	}
	var out bytes.Buffer
	if err := p.WriteFolded(&out); err != nil {
		t.Fatal(err)
	}
	want := "[unknown] 0x7f00;a 1\na;b 2\na;b;c 7\nperf;weighted 3\nx;y 1\n"
	if out.String() != want {
		t.Errorf("WriteFolded:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestParseFoldedErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a;b 1\nnocount\n", "line 2, col 8: want a space and a count"},
		{"a;b -1\n", "line 1, col 5: count \"-1\""},
		{"a;b x\n", "line 1, col 5: count \"x\""},
		{"a;b 99999999999999999999999\n", "line 1, col 5: count"},
		{"a;b 1e400\n", "line 1, col 5: count"},
		{" 5\n", "line 1, col 1: empty stack"},
		{strings.Repeat(";", maxFrames) + " 1\n", "frames: at most"},
	} {
		_, err := ParseFolded(strings.NewReader(c.in))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFolded(%.20q) = %v, want a ParseError with %q", c.in, err, c.want)
		}
	}
}

func TestAddSanitizesFrames(t *testing.T) {
	p := NewProfile()
	p.Add([]string{"comm", "a;b", "", "c\nd", " e\t", "  "}, 2)
	p.Add(nil, 5)
	p.Add([]string{"z"}, 0)
	var out bytes.Buffer
	p.WriteFolded(&out)
	if want := "comm;a:b;[unknown];c d;e;[unknown] 2\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	p.Add([]string{"big"}, ^uint64(0))
	p.Add([]string{"big"}, 1)
	if p.Count("big") != ^uint64(0) || p.Total() != ^uint64(0) {
		t.Errorf("counts wrap: %d, total %d", p.Count("big"), p.Total())
	}
}

func TestStacksSorted(t *testing.T) {
	p := NewProfile()
	p.Add([]string{"b"}, 1)
	p.Add([]string{"a", "c"}, 2)
	s := p.Stacks()
	if len(s) != 2 || strings.Join(s[0].Frames, ";") != "a;c" || s[0].Count != 2 || s[1].Frames[0] != "b" {
		t.Errorf("Stacks() = %v", s)
	}
}
