package script

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// JSONVersion is the version of run -f json's lines (README: JSON Lines):
// bpftrace's {"type", "data"} objects, each with "version" first.
const JSONVersion = 1

// jsonHead starts every line of run -f json, up to the type's value.
const jsonHead = `{"version": 1, "type": `

// jsonString quotes s as bpftrace's JSON output does.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// jsonKey is the key of an element in bpftrace's JSON: the script keys'
// values joined by commas.
func (o *Object) jsonKey(m *Map, key []byte, r *Resolver) string {
	parts := make([]string, len(m.Info.Keys))
	for i, kt := range m.Info.Keys {
		off := m.KeyOffsets[i]
		end := min(off+slotSize(kt), len(key))
		parts[i] = o.valueString(kt, key[min(off, len(key)):end], r)
	}
	return jsonString(strings.Join(parts, ","))
}

// WriteMapJSON prints a map as one line of bpftrace's -f json output:
// {"version": 1, "type": "map"|"hist"|"stats", "data": {"@name": ...}}. An empty map
// prints nothing, as in bpftrace.
func (o *Object) WriteMapJSON(w io.Writer, m *Map, entries []Entry, r *Resolver) error {
	if r == nil {
		r = &Resolver{}
	}
	info := m.Info
	if info == nil {
		return fmt.Errorf("map %s is not a script map", m.Spec.Name)
	}
	if len(entries) == 0 {
		return nil
	}
	r = o.batchKernelFrames(m, entries, r)
	v := info.Value
	typ := "map"
	var body string
	switch {
	case m.Buckets:
		typ, body = "hist", o.histJSON(m, entries, r)
	case v.Kind == KindAvg || v.Kind == KindStats:
		typ, body = "stats", o.statsJSON(m, entries, r)
	default:
		body = o.valuesJSON(m, entries, r)
	}
	_, err := fmt.Fprintf(w, jsonHead+"%q, \"data\": {%s: %s}}\n", typ, jsonString("@"+info.Name), body)
	return err
}

// WriteMapsJSON prints every script map in name order, one line each.
func (o *Object) WriteMapsJSON(w io.Writer, read func(*Map) ([]Entry, error), r *Resolver) error {
	var ms []*Map
	for _, m := range o.Maps {
		if m.Info != nil {
			ms = append(ms, m)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Info.Name < ms[j].Info.Name })
	if _, err := io.WriteString(w, "\n\n"); err != nil {
		return err
	}
	for _, m := range ms {
		entries, err := read(m)
		if err != nil {
			return fmt.Errorf("reading @%s: %w", m.Info.Name, err)
		}
		if err := o.WriteMapJSON(w, m, entries, r); err != nil {
			return err
		}
	}
	return nil
}

// keyed wraps per-key bodies in an object, or returns the only body of a
// map without keys.
func keyed(m *Map, keys, bodies []string) string {
	if len(m.Info.Keys) == 0 && len(bodies) == 1 {
		return bodies[0]
	}
	parts := make([]string, len(bodies))
	for i := range bodies {
		parts[i] = keys[i] + ": " + bodies[i]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (o *Object) valuesJSON(m *Map, entries []Entry, r *Resolver) string {
	lines := o.sortedValues(m, entries, r)
	var keys, bodies []string
	for _, l := range lines {
		keys = append(keys, o.jsonKey(m, l.key, r))
		t := m.Info.Value
		if t.IsInt() || t.Kind == KindCount || t.Kind == KindSum || t.Kind == KindMin || t.Kind == KindMax {
			bodies = append(bodies, l.text)
		} else {
			bodies = append(bodies, jsonString(l.text))
		}
	}
	return keyed(m, keys, bodies)
}

func (o *Object) statsJSON(m *Map, entries []Entry, r *Resolver) string {
	type stat struct {
		key                   []byte
		count, total, average int64
	}
	var ss []stat
	for _, e := range entries {
		s := stat{key: e.Key, count: int64(sumCPUs(e.Values, 0)), total: int64(sumCPUs(e.Values, 8))}
		if s.count != 0 {
			s.average = s.total / s.count
		}
		ss = append(ss, s)
	}
	sort.SliceStable(ss, func(i, j int) bool {
		if ss[i].average != ss[j].average {
			return ss[i].average < ss[j].average
		}
		return o.keyLess(m, ss[i].key, ss[j].key)
	})
	var keys, bodies []string
	for _, s := range ss {
		keys = append(keys, o.jsonKey(m, s.key, r))
		if m.Info.Value.Kind == KindStats {
			bodies = append(bodies, fmt.Sprintf(`{"count": %d, "average": %d, "total": %d}`, s.count, s.average, s.total))
		} else {
			bodies = append(bodies, strconv.FormatInt(s.average, 10))
		}
	}
	return keyed(m, keys, bodies)
}

func (o *Object) histJSON(m *Map, entries []Entry, r *Resolver) string {
	v := m.Info.Value
	nbuckets := histBuckets(v)
	hs := o.histGroups(m, entries)
	var keys, bodies []string
	for _, h := range hs {
		lo, hi := -1, -1
		for i, n := range h.buckets {
			if n > 0 {
				if lo < 0 {
					lo = i
				}
				hi = i
			}
		}
		var rows []string
		for i := lo; i >= 0 && i <= hi; i++ {
			rows = append(rows, bucketJSON(v, i, nbuckets, h.buckets[i]))
		}
		keys = append(keys, o.jsonKey(m, h.key, r))
		bodies = append(bodies, "["+strings.Join(rows, ", ")+"]")
	}
	return keyed(m, keys, bodies)
}

// bucketJSON is one bucket with its inclusive bounds; the open ends of a
// histogram have only one.
func bucketJSON(v *Type, i, n int, count uint64) string {
	if v.Kind == KindLhist {
		switch {
		case i == 0:
			return fmt.Sprintf(`{"max": %d, "count": %d}`, v.Min-1, count)
		case i == n-1:
			return fmt.Sprintf(`{"min": %d, "count": %d}`, v.Max, count)
		}
		lo := v.Min + int64(i-1)*v.Step
		return fmt.Sprintf(`{"min": %d, "max": %d, "count": %d}`, lo, lo+v.Step-1, count)
	}
	switch i {
	case 0:
		return fmt.Sprintf(`{"max": -1, "count": %d}`, count)
	case 1:
		return fmt.Sprintf(`{"min": 0, "max": 0, "count": %d}`, count)
	}
	lo := uint64(1) << (i - 2)
	return fmt.Sprintf(`{"min": %d, "max": %d, "count": %d}`, lo, 2*lo-1, count)
}
