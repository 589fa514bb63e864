package script

import (
	"fmt"

	"strings"
)

// HistStyle prints a hist map as libbpf-tools' print_log2_hist does, in
// place of bpftrace's layout, so that a tool written as a script prints
// the columns its libbpf-tools namesake prints. A script asks for it with
// a comment line, on a line the preprocessor takes (so #if can choose the
// unit):
//
//	// hist: @MAP UNIT [KEYLINE]
//
// UNIT heads the value column ("usecs"). KEYLINE, for a map with keys, is
// printed before each key's histogram after an empty line, each %d, %u or
// %s in it replaced by the next key's value ("pid = %d %s" for
// @usecs[pid, comm]), as runqlat -P prints "pid = 42 bash"; \t is a tab
// (biolatency -D prints "disk = sda\t").
//
// The buckets are bpftrace's hist() buckets (log2), merged as libbpf's are
// counted: its slot 0 holds 0 and 1, and slot k the values [2^k, 2^(k+1)).
// Negative values, which libbpf-tools cannot count, are not printed.
type HistStyle struct {
	Pos     Pos
	Unit    string
	KeyLine string
}

// histComment records a "// hist:" comment line.
func (pp *preproc) histComment(src *source, errs *ErrorList, line []byte, pos Pos) {
	rest, ok := strings.CutPrefix(string(line), "//")
	if !ok {
		return
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "hist:")
	if !ok {
		return
	}
	f := strings.Fields(rest)
	if len(f) < 2 || len(f[0]) < 2 || f[0][0] != '@' || !isIdent(f[0][1:]) {
		src.errorf(errs, pos, "// hist: want @MAP UNIT [KEYLINE], as in // hist: @usecs usecs pid = %%d %%s")
		return
	}
	if pp.hists == nil {
		pp.hists = map[string]*HistStyle{}
	}
	_, keyLine, _ := strings.Cut(strings.TrimSpace(rest), f[1])
	pp.hists[f[0][1:]] = &HistStyle{Pos: pos, Unit: f[1], KeyLine: strings.TrimSpace(keyLine)}
}

// writeLog2Hists draws each key's histogram in libbpf-tools' layout.
func (o *Object) writeLog2Hists(b *strings.Builder, m *Map, entries []Entry, r *Resolver, st *HistStyle) {
	for _, h := range o.histGroups(m, entries) {
		if len(m.Info.Keys) > 0 {
			args := make([]string, len(m.Info.Keys))
			for i, kt := range m.Info.Keys {
				off := min(m.KeyOffsets[i], len(h.key))
				end := min(off+slotSize(kt), len(h.key))
				args[i] = o.valueString(kt, h.key[off:end], r)
			}
			b.WriteByte('\n')
			b.WriteString(keyLine(st.KeyLine, args))
			b.WriteByte('\n')
		}
		DrawLog2Hist(b, h.buckets, st.Unit)
	}
}

// keyLine replaces each %d, %u or %s of format with the next of args,
// and \t with a tab; args left over follow, separated by spaces.
func keyLine(format string, args []string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			switch format[i+1] {
			case 'd', 'u', 's':
				if len(args) > 0 {
					b.WriteString(args[0])
					args = args[1:]
				}
				i++
				continue
			case '%':
				b.WriteByte('%')
				i++
				continue
			}
		}
		if format[i] == '\\' && i+1 < len(format) && format[i+1] == 't' {
			b.WriteByte('\t')
			i++
			continue
		}
		b.WriteByte(format[i])
	}
	for _, a := range args {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return b.String()
}

// DrawLog2Hist draws bpftrace hist() buckets (0: negative, 1: zero, 2:
// one, i >= 3: [2^(i-2), 2^(i-1))) as libbpf-tools' print_log2_hist:
// "     usecs               : count    distribution", then one row per
// slot from 0 to the last non-empty one, with a 40-column bar of '*'.
func DrawLog2Hist(b *strings.Builder, buckets []uint64, unit string) {
	var slots []uint64
	if len(buckets) > 2 {
		slots = append(slots, buckets[1]+buckets[2])
		slots = append(slots, buckets[3:]...)
	}
	last, maxN := -1, uint64(0)
	for i, n := range slots {
		if n > 0 {
			last = i
		}
		maxN = max(maxN, n)
	}
	if last < 0 {
		return
	}
	fmt.Fprintf(b, "%*s%-*s : count    distribution\n", 5, "", 19, unit)
	for i := 0; i <= last; i++ {
		low, high := (uint64(1)<<(i+1))>>1, uint64(1)<<(i+1)-1
		if low == high {
			low--
		}
		n := slots[i]
		bar := int(n * 40 / maxN)
		fmt.Fprintf(b, "%*d -> %-*d : %-8d |%s%s|\n", 10, low, 10, high, n, strings.Repeat("*", bar), strings.Repeat(" ", 40-bar))
	}
}
