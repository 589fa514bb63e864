package scriptrun

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
)

// BenchmarkMetricsScrape1000 reads a loaded map of 1,000 keys and renders
// it, as each scrape of run --metrics does (the goal: under 1 ms).
func BenchmarkMetricsScrape1000(b *testing.B) {
	testenv.RequireRoot(b)
	r, err := Prepare("-e", []byte(`tracepoint:syscalls:sys_enter_getppid { @calls[pid] = count(); }`), RunOptions{Out: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.Start(nil); err != nil {
		b.Fatal(err)
	}
	var m *script.Map
	for _, om := range r.Object.Maps {
		if om.Info != nil && om.Info.Name == "calls" {
			m = om
		}
	}
	bm := r.maps[m.Spec.Name]
	val := make([]byte, bm.ValueBufSize())
	key := make([]byte, m.Spec.KeySize)
	for i := 0; i < 1000; i++ {
		binary.NativeEndian.PutUint64(key, uint64(100000+i))
		binary.NativeEndian.PutUint64(val, uint64(i))
		if err := bm.Update(key, val, bpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 0, 128<<10)
	b.ReportAllocs()
	for b.Loop() {
		fams, err := r.Metrics(MetricsOptions{})
		if err != nil {
			b.Fatal(err)
		}
		buf = metrics.AppendText(buf[:0], fams, metrics.FormatText)
	}
	b.ReportMetric(float64(len(fams0(b, r))), "series")
}

func fams0(b *testing.B, r *Run) []metrics.Sample {
	fams, err := r.Metrics(MetricsOptions{})
	if err != nil || len(fams) != 1 {
		b.Fatalf("%v %v", fams, err)
	}
	return fams[0].Samples
}
