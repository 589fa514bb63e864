package metrics

import (
	"math"
	"strconv"
	"strings"
)

// Kind is a metric family's type, as the exposition formats name them.
type Kind uint8

const (
	Counter   Kind = iota + 1 // count(), sum(): only ever grows
	Gauge                     // min(), max(), avg() and plain values
	Histogram                 // hist(), lhist(): cumulative le buckets, _sum, _count
	Summary                   // stats(): _sum and _count, no quantiles
)

var kindNames = [...]string{Counter: "counter", Gauge: "gauge", Histogram: "histogram", Summary: "summary"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "untyped"
}

// Format is the exposition format of a scrape.
type Format uint8

const (
	FormatText        Format = iota // Prometheus text format 0.0.4
	FormatOpenMetrics               // OpenMetrics 1.0.0 text
)

// ContentType is what the HTTP response says its body is.
func (f Format) ContentType() string {
	if f == FormatOpenMetrics {
		return "application/openmetrics-text; version=1.0.0; charset=utf-8"
	}
	return "text/plain; version=0.0.4; charset=utf-8"
}

// Negotiate picks the format an Accept header asks for: OpenMetrics when
// it names application/openmetrics-text, else the Prometheus text format.
func Negotiate(accept string) Format {
	if strings.Contains(accept, "application/openmetrics-text") {
		return FormatOpenMetrics
	}
	return FormatText
}

// Family is one metric: a name, a kind and its samples, one per key.
type Family struct {
	Name    string   // a legal metric name (see Name); counters without _total
	Kind    Kind     //
	Help    string   // one line; escaped when written
	Labels  []string // legal label names (see LabelName), one per key part
	Samples []Sample
}

// Sample is one series of a family: the values of its labels and its value.
type Sample struct {
	Labels []string // values, in the order of Family.Labels
	Value  float64  // counters and gauges
	// Histograms: the buckets' upper bounds (ascending, the last may be
	// +Inf) and cumulative counts. Histograms and summaries: Sum and
	// Count.
	Buckets []Bucket
	Sum     float64
	Count   uint64
}

// Bucket is one cumulative histogram bucket: the number of observations
// at most UpperBound.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// AppendText appends fams in format f. A histogram without a +Inf bucket
// gets one holding its Count, as both formats require.
func AppendText(b []byte, fams []Family, f Format) []byte {
	for i := range fams {
		b = appendFamily(b, &fams[i], f)
	}
	if f == FormatOpenMetrics {
		b = append(b, "# EOF\n"...)
	}
	return b
}

func appendFamily(b []byte, fam *Family, f Format) []byte {
	name := fam.Name
	if fam.Kind == Counter && f == FormatText {
		// The text format has no family/sample split: the counter's
		// samples and its TYPE line both carry _total, as OpenMetrics
		// names the samples.
		name += "_total"
	}
	if fam.Help != "" {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = appendHelp(b, fam.Help, f)
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, fam.Kind.String()...)
	b = append(b, '\n')
	var total, bucket, sum, count string
	switch fam.Kind {
	case Counter:
		total = fam.Name + "_total"
	case Histogram, Summary:
		bucket, sum, count = fam.Name+"_bucket", fam.Name+"_sum", fam.Name+"_count"
	}
	for i := range fam.Samples {
		s := &fam.Samples[i]
		switch fam.Kind {
		case Counter:
			b = appendSample(b, total, fam.Labels, s.Labels, "", 0, s.Value)
		case Histogram:
			inf := false
			for _, bk := range s.Buckets {
				inf = inf || math.IsInf(bk.UpperBound, 1)
				b = appendSample(b, bucket, fam.Labels, s.Labels, "le", bk.UpperBound, float64(bk.Count))
			}
			if !inf {
				b = appendSample(b, bucket, fam.Labels, s.Labels, "le", math.Inf(1), float64(s.Count))
			}
			b = appendSample(b, sum, fam.Labels, s.Labels, "", 0, s.Sum)
			b = appendSample(b, count, fam.Labels, s.Labels, "", 0, float64(s.Count))
		case Summary:
			b = appendSample(b, sum, fam.Labels, s.Labels, "", 0, s.Sum)
			b = appendSample(b, count, fam.Labels, s.Labels, "", 0, float64(s.Count))
		default:
			b = appendSample(b, fam.Name, fam.Labels, s.Labels, "", 0, s.Value)
		}
	}
	return b
}

// appendSample writes NAME{labels[,le="X"]} VALUE.
func appendSample(b []byte, name string, names, values []string, extra string, extraV float64, v float64) []byte {
	b = append(b, name...)
	n := min(len(names), len(values))
	if n > 0 || extra != "" {
		b = append(b, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, names[i]...)
			b = append(b, `="`...)
			b = appendLabelValue(b, values[i])
			b = append(b, '"')
		}
		if extra != "" {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, extra...)
			b = append(b, `="`...)
			b = appendFloat(b, extraV)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendFloat writes integers exactly (a count up to 2^53 is exact in
// the float64 that both formats define), others in the shortest form.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendLabelValue escapes \, " and newline, as both formats require.
func appendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHelp escapes \ and newline (and " in OpenMetrics, where HELP is
// escaped as a label value is).
func appendHelp(b []byte, s string, f Format) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && f == FormatOpenMetrics:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
