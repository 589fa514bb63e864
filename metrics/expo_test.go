package metrics

import (
	"bytes"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// every map kind a script has, as the runtime turns them into families.
func allKinds() []Family {
	return []Family{
		{Name: "tracelet_syscalls", Kind: Counter, Help: "count() of @syscalls", Labels: []string{"comm"},
			Samples: []Sample{{Labels: []string{"bash"}, Value: 42}, {Labels: []string{`we"ird\name` + "\n"}, Value: 1}}},
		{Name: "tracelet_bytes", Kind: Counter, Help: "sum() of @bytes", Labels: []string{"pid", "comm"},
			Samples: []Sample{{Labels: []string{"1234", "cat"}, Value: 1 << 40}}},
		{Name: "tracelet_latest", Kind: Gauge, Help: `max() of @latest, with a \ and a "quote"`,
			Samples: []Sample{{Value: -5}}},
		{Name: "tracelet_avg", Kind: Gauge, Help: "avg() of @avg", Labels: []string{"key0"},
			Samples: []Sample{{Labels: []string{"x"}, Value: 2.5}}},
		{Name: "tracelet_sizes", Kind: Summary, Help: "stats() of @sizes",
			Samples: []Sample{{Sum: 300, Count: 3}}},
		{Name: "tracelet_lat", Kind: Histogram, Help: "hist() of @lat", Labels: []string{"op"},
			Samples: []Sample{{Labels: []string{"read"}, Buckets: []Bucket{{0, 1}, {1, 1}, {3, 4}, {7, 9}}, Sum: 40, Count: 10}}},
	}
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		f    Format
		file string
	}{{FormatText, "testdata/all.prom"}, {FormatOpenMetrics, "testdata/all.om"}} {
		got := AppendText(nil, allKinds(), c.f)
		if *update {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile(c.file, got, 0o644)
		}
		want, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test -update to accept):\n%s", c.file, got)
		}
	}
}

// TestPromtool has Prometheus's own checker read the text format (promtool
// check metrics reads only that one; the OpenMetrics form is read by a real
// Prometheus server in the run --metrics test).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian's prometheus package; make deps installs it)")
	}
	for _, f := range []Format{FormatText} {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(AppendText(nil, allKinds(), f))
		out, err := cmd.CombinedOutput()
		// promtool exits 3 for lint problems (naming advice), 1 for
		// errors; the families here follow its advice, so any output is
		// a finding.
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics (%v): %v\n%s", f, err, out)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"@": "tracelet_map", "@bytes": "tracelet_bytes", "@x.y-z": "tracelet_x_y_z", "@9lives": "tracelet_9lives",
	} {
		if got := Name("tracelet_", in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Name("", "@9lives"); got != "_9lives" {
		t.Errorf("Name without prefix of a digit: %q", got)
	}
	for in, want := range map[string]string{"comm": "comm", "9": "_9", "__x": "_x", "a-b": "a_b", "": "key"} {
		if got := LabelName(in); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	prom := "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
	if Negotiate(prom) != FormatOpenMetrics || Negotiate("text/plain") != FormatText || Negotiate("") != FormatText {
		t.Error("negotiation")
	}
}

func TestHistogramInf(t *testing.T) {
	got := string(AppendText(nil, []Family{{Name: "h", Kind: Histogram, Samples: []Sample{{Buckets: []Bucket{{1, 2}, {math.Inf(1), 5}}, Sum: 9, Count: 5}}}}, FormatText))
	if strings.Count(got, `le="+Inf"`) != 1 {
		t.Errorf("a histogram with a +Inf bucket got another:\n%s", got)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tracelet.prom")
	for i := 0; i < 3; i++ {
		data := []byte("# TYPE x gauge\nx " + strconv.Itoa(i) + "\n")
		if err := WriteFile(p, data); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, data) {
			t.Fatalf("round %d: %q", i, got)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// BenchmarkScrape1000 renders 1,000 series, the size a scrape must stay
// under 1 ms for.
func BenchmarkScrape1000(b *testing.B) {
	fam := Family{Name: "tracelet_calls", Kind: Counter, Help: "count() of @calls", Labels: []string{"comm", "pid"}}
	for i := 0; i < 1000; i++ {
		fam.Samples = append(fam.Samples, Sample{Labels: []string{"proc" + strconv.Itoa(i%37), strconv.Itoa(i)}, Value: float64(i * 17)})
	}
	fams := []Family{fam}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendText(buf[:0], fams, FormatText)
	}
}
