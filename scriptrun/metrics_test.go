package scriptrun

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
)

// TestMetrics turns each kind of map into its Prometheus family, from map
// elements laid out as the kernel leaves them (per-CPU values included).
func TestMetrics(t *testing.T) {
	obj, err := script.CompileSource("-e", []byte(`BEGIN { @calls[comm, pid] = count(); @bytes = sum(5); @lat = hist(5); @sz = lhist(5, 0, 30, 10); @st = stats(5); @hi = max(5); @last[pid] = 7; @names[pid] = comm; }`), script.CheckOptions{}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := func(v ...uint64) []byte {
		var b []byte
		for _, x := range v {
			b = binary.NativeEndian.AppendUint64(b, x)
		}
		return b
	}
	str := func(s string, size int) []byte { b := make([]byte, size); copy(b, s); return b }
	elems := map[string][]script.Entry{
		"calls": {
			{Key: append(str("bash", 16), u(10)...), Values: [][]byte{u(3), u(4)}},
			{Key: append(str(`a"b`, 16), u(11)...), Values: [][]byte{u(1), u(0)}},
		},
		"bytes": {{Key: u(0), Values: [][]byte{u(100), u(23)}}},
		// 1 zero, 2 ones, 5 in [4, 8).
		"lat": {{Key: u(1), Values: [][]byte{u(1)}}, {Key: u(2), Values: [][]byte{u(2)}}, {Key: u(4), Values: [][]byte{u(3), u(2)}}},
		// one below 0, 4 in [10, 20), one at or above 30.
		"sz":    {{Key: u(0), Values: [][]byte{u(1)}}, {Key: u(2), Values: [][]byte{u(4)}}, {Key: u(4), Values: [][]byte{u(1)}}},
		"st":    {{Key: u(0), Values: [][]byte{u(2, 30), u(1, 12)}}},
		"hi":    {{Key: u(0), Values: [][]byte{u(9, 1), u(12, 1)}}},
		"last":  {{Key: u(42), Values: [][]byte{u(7)}}},
		"names": {{Key: u(42), Values: [][]byte{str("bash", 16)}}},
	}
	fams, err := objectMetrics(obj, func(m *script.Map) ([]script.Entry, error) { return elems[m.Info.Name], nil }, nil,
		MetricsOptions{Labels: map[string][]string{"@calls": {"comm", "pid"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := string(metrics.AppendText(nil, fams, metrics.FormatText))
	for _, want := range []string{
		`tracelet_calls_total{comm="a\"b",pid="11"} 1`,
		`tracelet_calls_total{comm="bash",pid="10"} 7`,
		"# TYPE tracelet_bytes_total counter\ntracelet_bytes_total 123\n",
		"# TYPE tracelet_hi gauge\ntracelet_hi 12\n",
		`tracelet_last{key0="42"} 7`,
		"tracelet_st_sum 42\ntracelet_st_count 3\n",
		`tracelet_lat_bucket{le="-1"} 0`, `tracelet_lat_bucket{le="0"} 1`, `tracelet_lat_bucket{le="1"} 3`,
		`tracelet_lat_bucket{le="3"} 3`, `tracelet_lat_bucket{le="7"} 8`, `tracelet_lat_bucket{le="+Inf"} 8`,
		"tracelet_lat_count 8\n",
		`tracelet_sz_bucket{le="-1"} 1`, `tracelet_sz_bucket{le="9"} 1`, `tracelet_sz_bucket{le="19"} 5`,
		`tracelet_sz_bucket{le="29"} 5`, `tracelet_sz_bucket{le="+Inf"} 6`, "tracelet_sz_count 6\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "names") {
		t.Errorf("a map of strings has no number to expose:\n%s", got)
	}
	if strings.Count(got, `tracelet_sz_bucket{le="+Inf"}`) != 1 {
		t.Errorf("lhist's last bucket is its +Inf:\n%s", got)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(got)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
}
