package scriptrun

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
)

// MetricsOptions name what the exposition cannot take from the script.
type MetricsOptions struct {
	Prefix string // of every metric name; "tracelet_" when empty
	// Labels names the keys of a map ("@name" → one name per key part);
	// keys it does not name are key0, key1, ….
	Labels map[string][]string
	// Only, when not nil, names the maps to expose ("@name"); the others,
	// such as a tool's timestamps by thread, stay private.
	Only map[string]bool
}

// objectMetrics reads every map of the script with read and turns it into
// Prometheus families: count() and sum() are counters, min(), max(), avg()
// and plain values gauges, stats() a summary (_sum, _count), hist() and
// lhist() histograms with cumulative le buckets. Maps of strings or stacks
// have no number to expose and are left out. Keys become labels.
func objectMetrics(o *script.Object, read func(*script.Map) ([]script.Entry, error), r *script.Resolver, opts MetricsOptions) ([]metrics.Family, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "tracelet_"
	}
	var ms []*script.Map
	for _, m := range o.Maps {
		if m.Info != nil && (opts.Only == nil || opts.Only["@"+m.Info.Name]) {
			ms = append(ms, m)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Info.Name < ms[j].Info.Name })
	var fams []metrics.Family
	for _, m := range ms {
		v := m.Info.Value
		fam := metrics.Family{Name: metrics.Name(prefix, "@"+m.Info.Name), Help: "@" + m.Info.Name + ": " + v.String()}
		switch {
		case v.Kind == script.KindCount || v.Kind == script.KindSum:
			fam.Kind = metrics.Counter
		case v.Kind == script.KindMin || v.Kind == script.KindMax || v.Kind == script.KindAvg || v.IsInt():
			fam.Kind = metrics.Gauge
		case v.Kind == script.KindStats:
			fam.Kind = metrics.Summary
		case v.Kind == script.KindHist || v.Kind == script.KindLhist:
			fam.Kind = metrics.Histogram
		default:
			continue
		}
		names := opts.Labels["@"+m.Info.Name]
		for i := range m.Info.Keys {
			n := "key" + strconv.Itoa(i)
			if i < len(names) && names[i] != "" {
				n = names[i]
			}
			fam.Labels = append(fam.Labels, metrics.LabelName(n))
		}
		entries, err := read(m)
		if err != nil {
			return nil, err
		}
		if fam.Kind == metrics.Histogram {
			fam.Samples = histSamples(o, m, entries, r)
		} else {
			for _, e := range entries {
				if len(e.Values) == 0 {
					continue
				}
				s := metrics.Sample{Labels: keyLabels(o, m, e.Key, r)}
				switch v.Kind {
				case script.KindCount, script.KindSum:
					s.Value = num(script.SumCPUs(e.Values, 0), v.Signed)
				case script.KindMin, script.KindMax:
					s.Value = num(script.MinMax(e.Values, v.Kind == script.KindMax, v.Signed), v.Signed)
				case script.KindAvg, script.KindStats:
					count, total := script.SumCPUs(e.Values, 0), script.SumCPUs(e.Values, 8)
					if v.Kind == script.KindStats {
						s.Count, s.Sum = count, num(total, v.Signed)
					} else if count > 0 {
						// bpftrace's avg is the integer quotient.
						if v.Signed {
							s.Value = float64(int64(total) / int64(count))
						} else {
							s.Value = float64(total / count)
						}
					}
				default:
					s.Value = num(script.NativeU64(e.Values[0]), v.Signed)
				}
				fam.Samples = append(fam.Samples, s)
			}
		}
		// Keys are unique, so an unstable sort gives one order.
		sort.Slice(fam.Samples, func(i, j int) bool { return lessLabels(fam.Samples[i].Labels, fam.Samples[j].Labels) })
		fams = append(fams, fam)
	}
	return fams, nil
}

func num(u uint64, signed bool) float64 {
	if signed {
		return float64(int64(u))
	}
	return float64(u)
}

func lessLabels(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// keyLabels is each key part of an element as text, as print shows it.
func keyLabels(o *script.Object, m *script.Map, key []byte, r *script.Resolver) []string {
	out := make([]string, len(m.Info.Keys))
	for i, kt := range m.Info.Keys {
		off := min(m.KeyOffsets[i], len(key))
		end := min(off+script.SlotSize(kt), len(key))
		out[i] = o.ValueString(kt, key[off:end], r)
	}
	return out
}

// histSamples turns bucket elements into cumulative le buckets, one
// series per key. The le of a bucket is the largest integer it holds:
// hist() bucket 0 holds negatives (le -1), 1 the zeros, 2 the ones and
// i >= 3 [2^(i-2), 2^(i-1)); lhist() bucket 0 is below min, i in
// [min+(i-1)*step, min+i*step), and the last at or above max (+Inf).
// bpftrace's maps keep no sum of the values: _sum is the sum of each
// bucket's lower bound, a lower bound on the true sum, so that rates of
// _sum/_count stay meaningful; histogram_quantile needs only the buckets.
func histSamples(o *script.Object, m *script.Map, entries []script.Entry, r *script.Resolver) []metrics.Sample {
	v := m.Info.Value
	n := script.HistBuckets(v)
	upper := make([]float64, n)
	lower := make([]float64, n)
	for i := range upper {
		switch {
		case v.Kind == script.KindLhist && i == 0:
			upper[i], lower[i] = float64(v.Min-1), float64(v.Min-1)
		case v.Kind == script.KindLhist && i == n-1:
			upper[i], lower[i] = math.Inf(1), float64(v.Max)
		case v.Kind == script.KindLhist:
			upper[i], lower[i] = float64(v.Min+int64(i)*v.Step-1), float64(v.Min+int64(i-1)*v.Step)
		case i == 0:
			upper[i], lower[i] = -1, -1
		case i == 1:
			upper[i], lower[i] = 0, 0
		case i == 2:
			upper[i], lower[i] = 1, 1
		default:
			upper[i], lower[i] = math.Ldexp(1, i-1)-1, math.Ldexp(1, i-2)
		}
	}
	var out []metrics.Sample
	for _, h := range o.HistGroups(m, entries) {
		s := metrics.Sample{Labels: keyLabels(o, m, h.Key, r)}
		var cum uint64
		for i, c := range h.Buckets {
			cum += c
			s.Sum += float64(c) * lower[i]
			s.Buckets = append(s.Buckets, metrics.Bucket{UpperBound: upper[i], Count: cum})
		}
		s.Count = cum
		out = append(out, s)
	}
	return out
}

// Metrics reads the run's maps now, for a scrape; it is safe to call while
// Wait runs. Keys that are symbols or stacks show as addresses. The
// tracefs backend keeps its maps in hist triggers, which it reads only
// when the run ends: it has none to offer.
func (r *Run) Metrics(opts MetricsOptions) ([]metrics.Family, error) {
	if r.Backend == BackendTracefs {
		return nil, errors.New("the tracefs backend's maps are hist triggers, read when the run ends: --metrics needs the BPF backend")
	}
	return objectMetrics(r.Object, r.readMap, nil, opts)
}

// MetricLabels reads the label names that `// metric: @map label,label`
// comments in a script's source give its maps' keys.
func MetricLabels(src []byte) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(string(src), "\n") {
		_, rest, ok := strings.Cut(line, "//")
		if !ok {
			continue
		}
		rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "metric:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || !strings.HasPrefix(f[0], "@") {
			continue
		}
		out[f[0]] = strings.Split(f[1], ",")
	}
	return out
}
