package script

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Entry is one element of a map as user space reads it: the BPF key, and
// the value of each CPU (one value for maps that are not per-CPU).
type Entry struct {
	Key    []byte
	Values [][]byte
}

// Resolver names what only the running system can: kernel and user
// symbols and the frames of a stack id. A nil function prints the address
// in hex, as bpftrace does when a symbol is unknown.
type Resolver struct {
	Ksym  func(addr uint64, offset bool) string
	Usym  func(pid uint32, addr uint64, offset bool) string
	Stack func(id int64, depth int) []uint64 // frames, innermost first, of the stack map keeping depth frames (0: MaxStackDepth)
	// KsymBatch, when set, is given every kernel stack frame that a map's
	// printing is about to name through Ksym, so that they can be looked
	// up together (one pass over the kernel's symbols).
	KsymBatch func(addrs []uint64)
	// Now is the wall time of a time() record (nil: time.Now), and
	// MonoToWall converts a CLOCK_MONOTONIC nanosecond count (nsecs) to
	// the wall time, for strftime() (nil: as if the clocks were one).
	Now        func() time.Time
	MonoToWall func(ns uint64) time.Time
	// User names a uid, for username ("": print the number).
	User func(uid uint32) string
	// Cat is what cat() prints for a file: its contents, or the error
	// (nil: nothing, as nothing here may read files).
	Cat func(path string) string
	// System is what system() prints: the command's output (nil:
	// nothing, as nothing here may run commands).
	System func(command string) string

	// frames are the kernel stacks batchKernelFrames looked up, for the
	// print that follows it: each is read from the stack map once.
	frames map[stackKey][]uint64
}

type stackKey struct {
	id    int64
	depth int
}

// stackFrames is r.Stack's frames of stack id, from the ones looked up
// for this print where it has them.
func (r *Resolver) stackFrames(id int64, depth int) []uint64 {
	if f, ok := r.frames[stackKey{id, depth}]; ok {
		return f
	}
	return r.Stack(id, depth)
}

// WriteMap prints a map in bpftrace's text format: "@name[k1, k2]: value"
// lines sorted by value (count, sum, min, max, integers) or key, histograms
// drawn as bpftrace draws them, each map followed by an empty line.
func (o *Object) WriteMap(w io.Writer, m *Map, entries []Entry, r *Resolver) error {
	return o.WriteMapDiv(w, m, entries, r, 1)
}

// WriteMapDiv is WriteMap with the values divided by div, as print(@map,
// top, div) prints them (Print.Div): the elements keep the order of their
// whole values.
func (o *Object) WriteMapDiv(w io.Writer, m *Map, entries []Entry, r *Resolver, div uint64) error {
	div = max(div, 1)
	if r == nil {
		r = &Resolver{}
	}
	info := m.Info
	if info == nil {
		return fmt.Errorf("map %s is not a script map", m.Spec.Name)
	}
	r = o.batchKernelFrames(m, entries, r)
	var b strings.Builder
	v := info.Value
	switch {
	case m.Buckets && v.Kind == KindHist && o.Hists[info.Name] != nil:
		o.writeLog2Hists(&b, m, entries, r, o.Hists[info.Name])
	case m.Buckets:
		o.writeHists(&b, m, entries, r, div)
	case o.Tables[info.Name] != nil:
		o.writeTable(&b, m, entries, r, o.Tables[info.Name])
	case v.Kind == KindAvg || v.Kind == KindStats:
		o.writeStats(&b, m, entries, r, div)
	default:
		o.writeValues(&b, m, entries, r, div)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TopEntries keeps the elements that print(@m, top) prints: the last top
// in the order the map is printed, which for bpftrace's value-ordered
// maps are the largest. A histogram counts as one element, ranked by its
// total count, as bpftrace ranks them; avg and stats maps print whole, as
// bpftrace prints them (it warns that it ignores top there).
func (o *Object) TopEntries(m *Map, entries []Entry, top int, r *Resolver) []Entry {
	if m.Info == nil || top <= 0 {
		return entries
	}
	if r == nil {
		r = &Resolver{}
	}
	keep := map[string]bool{}
	switch v := m.Info.Value; {
	case m.Buckets:
		totals := map[string]uint64{}
		var prefixes [][]byte
		for _, e := range entries {
			if len(e.Key) < 8 {
				continue
			}
			p := e.Key[:len(e.Key)-8]
			if _, ok := totals[string(p)]; !ok {
				prefixes = append(prefixes, p)
			}
			totals[string(p)] += sumCPUs(e.Values, 0)
		}
		sort.SliceStable(prefixes, func(i, j int) bool {
			a, b := totals[string(prefixes[i])], totals[string(prefixes[j])]
			if a != b {
				return a < b
			}
			return o.keyLess(m, prefixes[i], prefixes[j])
		})
		for _, p := range prefixes[max(0, len(prefixes)-top):] {
			keep[string(p)] = true
		}
		var out []Entry
		for _, e := range entries {
			if len(e.Key) >= 8 && keep[string(e.Key[:len(e.Key)-8])] {
				out = append(out, e)
			}
		}
		return out
	case v.Kind == KindAvg || v.Kind == KindStats:
		return entries // bpftrace ignores top for these, with a warning
	default:
		lines := o.sortedValues(m, entries, r)
		for _, l := range lines[max(0, len(lines)-top):] {
			keep[string(l.key)] = true
		}
		var out []Entry
		for _, e := range entries {
			if keep[string(e.Key)] {
				out = append(out, e)
			}
		}
		return out
	}
}

func u64(b []byte) uint64 {
	if len(b) < 8 {
		var x [8]byte
		copy(x[:], b)
		return binary.NativeEndian.Uint64(x[:])
	}
	return binary.NativeEndian.Uint64(b)
}

// keyString prints the key part of an element: "@name" or "@name[a, b]".
func (o *Object) keyString(m *Map, key []byte, r *Resolver) string {
	name := "@" + m.Info.Name
	if len(m.Info.Keys) == 0 {
		return name
	}
	return name + "[" + strings.Join(o.keyFields(m, key, r), ", ") + "]"
}

// keyFields prints each field of a key.
func (o *Object) keyFields(m *Map, key []byte, r *Resolver) []string {
	args := make([]string, len(m.Info.Keys))
	for i, kt := range m.Info.Keys {
		off := m.KeyOffsets[i]
		end := min(off+slotSize(kt), len(key))
		if off > len(key) {
			off = len(key)
		}
		args[i] = o.valueString(kt, key[off:end], r)
	}
	return args
}

// valueString prints one non-aggregated value.
func (o *Object) valueString(t *Type, b []byte, r *Resolver) string {
	switch t.Kind {
	case KindString:
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	case KindInt, KindBool:
		if t.Signed {
			return strconv.FormatInt(int64(u64(b)), 10)
		}
		return strconv.FormatUint(u64(b), 10)
	case KindKsym:
		return r.ksym(u64(b), false)
	case KindUsym:
		return r.usym(uint32(u64(b[8:])), u64(b), false)
	case KindKstack, KindUstack:
		return r.stack(t, b)
	case KindBuffer:
		return escapeBuffer(b)
	case KindUsername:
		uid := uint32(u64(b))
		if r.User != nil {
			if name := r.User(uid); name != "" {
				return name
			}
		}
		return strconv.FormatUint(uint64(uid), 10)
	case KindProbe:
		if i := u64(b); i < uint64(len(o.Attach)) {
			return o.Attach[i].describe()
		}
	case KindTimestamp:
		return Strftime(t.Fmt, r.wallTime(u64(b)))
	case KindInet:
		return formatInet(b)
	}
	return strconv.FormatInt(int64(u64(b)), 10)
}

// batchKernelFrames hands r.KsymBatch the frames of the kernel stacks in
// m's keys and value, and returns a copy of r that keeps those frames for
// the print (r itself is left as it is: it may serve others meanwhile).
func (o *Object) batchKernelFrames(m *Map, entries []Entry, r *Resolver) *Resolver {
	if r.KsymBatch == nil || r.Stack == nil || m.Info == nil {
		return r
	}
	var addrs []uint64
	frames := map[stackKey][]uint64{}
	add := func(t *Type, b []byte) {
		if t.Kind != KindKstack || len(b) < 8 {
			return
		}
		k := stackKey{int64(int32(u64(b))), t.Depth}
		if _, seen := frames[k]; k.id >= 0 && !seen {
			frames[k] = r.Stack(k.id, k.depth)
			addrs = append(addrs, frames[k]...)
		}
	}
	for _, e := range entries {
		for i, kt := range m.Info.Keys {
			if off, end := m.KeyOffsets[i], m.KeyOffsets[i]+slotSize(kt); end <= len(e.Key) {
				add(kt, e.Key[off:end])
			}
		}
		if !m.Buckets && len(e.Values) > 0 {
			add(m.Info.Value, e.Values[0])
		}
	}
	if len(addrs) > 0 {
		r.KsymBatch(addrs)
	}
	batched := *r
	batched.frames = frames
	return &batched
}

func (r *Resolver) ksym(addr uint64, offset bool) string {
	if r.Ksym != nil {
		if s := r.Ksym(addr, offset); s != "" {
			return s
		}
	}
	return fmt.Sprintf("0x%x", addr)
}

func (r *Resolver) usym(pid uint32, addr uint64, offset bool) string {
	if r.Usym != nil {
		if s := r.Usym(pid, addr, offset); s != "" {
			return s
		}
	}
	return fmt.Sprintf("0x%x", addr)
}

// stack prints a stack as bpftrace does: a newline, then one frame per
// line indented by 8 spaces, each with its offset.
func (r *Resolver) stack(t *Type, b []byte) string {
	user := t.Kind == KindUstack
	id := int64(int32(u64(b)))
	var pid uint32
	if user && len(b) >= 16 {
		pid = uint32(u64(b[8:]))
	}
	var s strings.Builder
	s.WriteByte('\n')
	if r.Stack == nil || id < 0 {
		return s.String()
	}
	for _, addr := range r.stackFrames(id, t.Depth) {
		if addr == 0 {
			break
		}
		s.WriteString("        ")
		if user {
			s.WriteString(r.usym(pid, addr, true))
		} else {
			s.WriteString(r.ksym(addr, true))
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// sumCPUs adds the per-CPU u64 at off.
func sumCPUs(vals [][]byte, off int) uint64 {
	var s uint64
	for _, v := range vals {
		if off+8 <= len(v) {
			s += u64(v[off:])
		}
	}
	return s
}

// minmax merges per-CPU {value, valid} pairs.
func minmax(vals [][]byte, isMax, signed bool) uint64 {
	var out uint64
	have := false
	for _, v := range vals {
		if len(v) < 16 || u64(v[8:]) == 0 {
			continue
		}
		x := u64(v)
		less := x < out
		if signed {
			less = int64(x) < int64(out)
		}
		if !have || less != isMax && x != out {
			out, have = x, true
		}
	}
	return out
}

type valueLine struct {
	key    []byte
	text   string
	sortBy uint64
	signed bool
}

func (o *Object) writeValues(b *strings.Builder, m *Map, entries []Entry, r *Resolver, div uint64) {
	v := m.Info.Value
	lines := o.sortedValues(m, entries, r)
	numeric := byValue(v)
	for _, l := range lines {
		b.WriteString(o.keyString(m, l.key, r))
		b.WriteString(": ")
		switch {
		case div <= 1 || !numeric:
			b.WriteString(l.text)
		case v.Signed:
			b.WriteString(strconv.FormatInt(int64(l.sortBy)/int64(div), 10))
		default:
			b.WriteString(strconv.FormatUint(l.sortBy/div, 10))
		}
		// A stack value ends in its own newline.
		if v.Kind != KindKstack && v.Kind != KindUstack {
			b.WriteByte('\n')
		}
	}
	// bpftrace 0.17 (Debian's) ends a histogram or stats map with an empty
	// line but not a map of plain values, unless it is empty.
	if len(lines) == 0 {
		b.WriteByte('\n')
	}
}

// byValue reports whether a map of values v prints in the order of its
// values (integers and the scalar aggregations), which print's div
// divides, rather than of its keys.
func byValue(v *Type) bool {
	return v.IsInt() || v.Kind == KindCount || v.Kind == KindSum || v.Kind == KindMin || v.Kind == KindMax
}

// sortedValues is the elements of a map of plain values in bpftrace's
// order: by value for integers and the scalar aggregations, else by key.
func (o *Object) sortedValues(m *Map, entries []Entry, r *Resolver) []valueLine {
	v := m.Info.Value
	ordered := byValue(v)
	lines := make([]valueLine, 0, len(entries))
	for _, e := range entries {
		if len(e.Values) == 0 {
			continue
		}
		var n uint64
		var text string
		switch v.Kind {
		case KindCount, KindSum:
			n = sumCPUs(e.Values, 0)
			if v.Signed {
				text = strconv.FormatInt(int64(n), 10)
			} else {
				text = strconv.FormatUint(n, 10)
			}
		case KindMin, KindMax:
			n = minmax(e.Values, v.Kind == KindMax, v.Signed)
			if v.Signed {
				text = strconv.FormatInt(int64(n), 10)
			} else {
				text = strconv.FormatUint(n, 10)
			}
		default:
			n = u64(e.Values[0])
			text = o.valueString(v, e.Values[0], r)
		}
		lines = append(lines, valueLine{key: e.Key, text: text, sortBy: n, signed: v.Signed})
	}
	if ordered {
		sort.SliceStable(lines, func(i, j int) bool {
			a, c := lines[i], lines[j]
			if a.sortBy != c.sortBy {
				if a.signed {
					return int64(a.sortBy) < int64(c.sortBy)
				}
				return a.sortBy < c.sortBy
			}
			return o.keyLess(m, a.key, c.key)
		})
	} else {
		sort.SliceStable(lines, func(i, j int) bool { return o.keyLess(m, lines[i].key, lines[j].key) })
	}
	return lines
}

// keyLess orders keys by their script values, first key first: integers
// by value, strings by bytes.
func (o *Object) keyLess(m *Map, a, c []byte) bool {
	for i, kt := range m.Info.Keys {
		off := m.KeyOffsets[i]
		n := slotSize(kt)
		if off+n > len(a) || off+n > len(c) {
			break
		}
		x, y := a[off:off+n], c[off:off+n]
		if kt.IsInt() {
			if u64(x) != u64(y) {
				if kt.Signed {
					return int64(u64(x)) < int64(u64(y))
				}
				return u64(x) < u64(y)
			}
			continue
		}
		if cmp := bytes.Compare(x, y); cmp != 0 {
			return cmp < 0
		}
	}
	return false
}

func (o *Object) writeStats(b *strings.Builder, m *Map, entries []Entry, r *Resolver, div uint64) {
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
	for _, s := range ss {
		b.WriteString(o.keyString(m, s.key, r))
		b.WriteString(": ")
		if m.Info.Value.Kind == KindStats {
			fmt.Fprintf(b, "count %d, average %d, total %d", s.count, s.average, s.total)
		} else {
			fmt.Fprintf(b, "%d", s.average/int64(div)) // stats prints whole, as in bpftrace
		}
		b.WriteByte('\n')
	}
	if len(ss) == 0 {
		b.WriteByte('\n') // bpftrace 0.17 ends an empty one with two
	}
	b.WriteByte('\n')
}

// histGroup is one key's histogram: the bucket counts of the elements
// whose BPF key is the script key plus a bucket number.
type histGroup struct {
	key     []byte
	buckets []uint64
	total   uint64
}

// histBuckets is the number of buckets of a hist or lhist map's value.
func histBuckets(v *Type) int {
	if v.Kind == KindLhist {
		return int((v.Max-v.Min)/v.Step) + 2
	}
	return 66
}

// histGroups groups the bucket elements of a hist or lhist map by key,
// summed over CPUs, in print order: by total count, then by key.
func (o *Object) histGroups(m *Map, entries []Entry) []*histGroup {
	nbuckets := histBuckets(m.Info.Value)
	byKey := map[string]*histGroup{}
	var hs []*histGroup
	for _, e := range entries {
		if len(e.Key) < 8 {
			continue
		}
		prefix := e.Key[:len(e.Key)-8]
		bucket := u64(e.Key[len(e.Key)-8:])
		if bucket >= uint64(nbuckets) {
			continue
		}
		h := byKey[string(prefix)]
		if h == nil {
			h = &histGroup{key: prefix, buckets: make([]uint64, nbuckets)}
			byKey[string(prefix)] = h
			hs = append(hs, h)
		}
		n := sumCPUs(e.Values, 0)
		h.buckets[bucket] += n
		h.total += n
	}
	sort.SliceStable(hs, func(i, j int) bool {
		if hs[i].total != hs[j].total {
			return hs[i].total < hs[j].total
		}
		return o.keyLess(m, hs[i].key, hs[j].key)
	})
	return hs
}

// writeHists groups bucket entries by their key prefix and draws one
// histogram per key, keys in order of their total count.
func (o *Object) writeHists(b *strings.Builder, m *Map, entries []Entry, r *Resolver, div uint64) {
	v := m.Info.Value
	hs := o.histGroups(m, entries)
	for i, h := range hs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(o.keyString(m, h.key, r))
		b.WriteString(": \n")
		if v.Kind == KindHist {
			drawHist(b, h.buckets, div) // an lhist prints whole, as in bpftrace
		} else {
			DrawLhist(b, h.buckets, v.Min, v.Max, v.Step)
		}
	}
	b.WriteByte('\n')
}

// barWidth is the width of the bar column, between the two '|'.
const barWidth = 52

// histLine writes one row: the label left-aligned in 16 columns, the count
// right-aligned in 8, and a bar of '@' scaled to the largest count.
func histLine(b *strings.Builder, label string, n, maxN uint64) {
	histLineDiv(b, label, n, maxN, 1)
}

// histLineDiv is histLine with the count printed divided by div, and the
// bar drawn from the whole count, as bpftrace 0.17 draws them.
func histLineDiv(b *strings.Builder, label string, n, maxN, div uint64) {
	bar := 0
	if maxN > 0 {
		// float32, as bpftrace divides, so that rounding matches.
		bar = int(float32(n) / float32(maxN) * barWidth)
	}
	fmt.Fprintf(b, "%-16s%8d |%s%s|\n", label, n/div, strings.Repeat("@", bar), strings.Repeat(" ", barWidth-bar))
}

// hist2Label is a power of two with the K/M/G/T/P/E suffix bpftrace uses.
func hist2Label(power int) string {
	suffix := ""
	for _, s := range []string{"K", "M", "G", "T", "P", "E"} {
		if power < 10 {
			break
		}
		power -= 10
		suffix = s
	}
	return strconv.FormatUint(1<<power, 10) + suffix
}

// DrawHist draws a power-of-two histogram: bucket 0 holds negative values,
// 1 the zeros, 2 the ones, and bucket i >= 3 [2^(i-2), 2^(i-1)). Rows run
// from the first to the last non-empty bucket.
func DrawHist(b *strings.Builder, buckets []uint64) { drawHist(b, buckets, 1) }

func drawHist(b *strings.Builder, buckets []uint64, div uint64) {
	lo, hi, maxN := -1, -1, uint64(0)
	for i, n := range buckets {
		if n > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
		maxN = max(maxN, n)
	}
	if lo < 0 {
		return
	}
	for i := lo; i <= hi; i++ {
		var label string
		switch i {
		case 0:
			label = "(..., 0)"
		case 1:
			label = "[0]"
		case 2:
			label = "[1]"
		default:
			label = "[" + hist2Label(i-2) + ", " + hist2Label(i-1) + ")"
		}
		histLineDiv(b, label, buckets[i], maxN, div)
	}
}

// lhistLabel prints a bucket bound, with M or K when it is a multiple.
func lhistLabel(n int64) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n/(1<<20), 10) + "M"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n/(1<<10), 10) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// DrawLhist draws a linear histogram: bucket 0 is below min, bucket
// (max-min)/step+1 at or above max, and bucket i in between is
// [min+(i-1)*step, min+i*step).
func DrawLhist(b *strings.Builder, buckets []uint64, lo, hi, step int64) {
	n := int((hi-lo)/step) + 2
	first, last, maxN := -1, -1, uint64(0)
	for i := 0; i < n && i < len(buckets); i++ {
		if buckets[i] > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
		maxN = max(maxN, buckets[i])
	}
	if first < 0 {
		return
	}
	for i := first; i <= last; i++ {
		var label string
		switch {
		case i == 0:
			label = "(..., " + lhistLabel(lo) + ")"
		case i == n-1:
			label = "[" + lhistLabel(hi) + ", ...)"
		default:
			label = "[" + lhistLabel(int64(i-1)*step+lo) + ", " + lhistLabel(int64(i)*step+lo) + ")"
		}
		histLine(b, label, buckets[i], maxN)
	}
}

// WriteMaps prints every script map in name order, as bpftrace prints its
// maps when it exits. read returns a map's elements (scriptrun.ReadMap for loaded
// maps).
func (o *Object) WriteMaps(w io.Writer, read func(*Map) ([]Entry, error), r *Resolver) error {
	return o.writeMaps(w, read, r, false)
}

// writeMaps is WriteMaps; with skipEmpty, a map without elements prints
// nothing (scriptrun.RunOptions.Quiet), where bpftrace prints an empty line.
func (o *Object) writeMaps(w io.Writer, read func(*Map) ([]Entry, error), r *Resolver, skipEmpty bool) error {
	var ms []*Map
	for _, m := range o.Maps {
		if m.Info != nil {
			ms = append(ms, m)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Info.Name < ms[j].Info.Name })
	for _, m := range ms {
		entries, err := read(m)
		if err != nil {
			return fmt.Errorf("reading @%s: %w", m.Info.Name, err)
		}
		if skipEmpty && len(entries) == 0 {
			continue
		}
		if err := o.WriteMap(w, m, entries, r); err != nil {
			return err
		}
	}
	return nil
}

// escapeBuffer prints a buf() value as bpftrace's %r does: printable ASCII
// as it is, every other byte as \xNN.
func escapeBuffer(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	n := min(int(u64(b)), len(b)-8)
	var s strings.Builder
	for _, c := range b[8 : 8+n] {
		if c >= 0x20 && c < 0x7f {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	return s.String()
}
