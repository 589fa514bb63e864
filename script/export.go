package script

import "io"

// What the runtime (package scriptrun) needs of the language's own
// layouts to read and print what the programs leave: exported forms of
// the helpers this package's printers use, so that both print alike.

// Describe is the attach point as the script spells it, wildcards expanded
// ("kprobe:vfs_read", "tracepoint:syscalls:sys_enter_openat").
func (a *AttachPoint) Describe() string { return a.describe() }

// NativeU64 reads a native-endian u64, zero-extending a shorter slice, as
// this package's printers read values.
func NativeU64(b []byte) uint64 { return u64(b) }

// SlotSize is the bytes a value of type t takes in a key or a record: an
// 8-byte aligned slot.
func SlotSize(t *Type) int { return slotSize(t) }

// SumCPUs adds the u64 at off of each CPU's value.
func SumCPUs(vals [][]byte, off int) uint64 { return sumCPUs(vals, off) }

// MinMax is the min() or max() value over the CPUs' {value, valid} pairs.
func MinMax(vals [][]byte, isMax, signed bool) uint64 { return minmax(vals, isMax, signed) }

// HistBuckets is the number of buckets of a hist or lhist map's value.
func HistBuckets(v *Type) int { return histBuckets(v) }

// ValueString is a key part or value of type t as print shows it.
func (o *Object) ValueString(t *Type, b []byte, r *Resolver) string { return o.valueString(t, b, r) }

// HistGroup is one key of a hist or lhist map: the key without its bucket
// and the count of each bucket, summed over the CPUs.
type HistGroup struct {
	Key     []byte
	Buckets []uint64
}

// HistGroups gathers the bucket elements of hist or lhist map m by key, in
// the order print shows them.
func (o *Object) HistGroups(m *Map, entries []Entry) []HistGroup {
	var out []HistGroup
	for _, h := range o.histGroups(m, entries) {
		out = append(out, HistGroup{Key: h.key, Buckets: h.buckets})
	}
	return out
}

// WriteMapsSkipEmpty is WriteMaps; with skipEmpty, a map without elements
// prints nothing (scriptrun.RunOptions.Quiet), where bpftrace prints an empty line.
func (o *Object) WriteMapsSkipEmpty(w io.Writer, read func(*Map) ([]Entry, error), r *Resolver, skipEmpty bool) error {
	return o.writeMaps(w, read, r, skipEmpty)
}

// PrintfPlan is a printf format parsed once, for AppendPrintf.
type PrintfPlan struct{ p printfPlan }

// PlanPrintf parses a printf format that Check accepted.
func PlanPrintf(format string) PrintfPlan { return PrintfPlan{planPrintf(format)} }

// AppendPrintf appends the text of printf record rec, formatted by p, to
// dst: HandleRecord's text without its allocations.
func (o *Object) AppendPrintf(dst []byte, p *PrintfPlan, pf *Printf, rec []byte, r *Resolver) []byte {
	return o.appendPrintf(dst, &p.p, pf, rec, r)
}

// JSONHead starts every line of run -f json, up to the type's value.
const JSONHead = jsonHead

// JSONString quotes s as bpftrace's JSON output does.
func JSONString(s string) string { return jsonString(s) }

// PerfEventOf is the perf_event_attr type (PERF_TYPE_SOFTWARE or
// PERF_TYPE_HARDWARE) and config of a software: or hardware: attach point.
func PerfEventOf(a *AttachPoint) (typ uint32, config uint64, ok bool) {
	ev, ok := perfEvents[a.Type][a.Func]
	return ev.Type, ev.Config, ok
}
