package trace

import (
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// Printer formats samples. AppendText and AppendJSON append to a caller's
// buffer, so that a loop over Session.Next allocates nothing per event.
type Printer struct {
	// Symbols, when set, symbolizes call chains.
	Symbols *Symbolizer
}

// NewPrinter returns a Printer; syms may be nil.
func NewPrinter(syms *Symbolizer) *Printer {
	return &Printer{Symbols: syms}
}

// AppendText appends one line in the layout of the kernel's trace file,
// which perf-tools prints:
//
//	testprog-4242    [001] 12345.678901: tracelet_4200:t1: (0x4a3660) a=10 b=0x14
//
// and, with a call chain, one " => symbol+0xoff" line per frame.
func (p *Printer) AppendText(b []byte, s *Sample) []byte {
	comm := s.Comm
	for i := len(comm) + 1 + digits(s.Tid); i < 24; i++ {
		b = append(b, ' ')
	}
	b = append(b, comm...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(s.Tid), 10)
	b = append(b, "  ["...)
	if s.CPU < 100 {
		b = append(b, '0')
	}
	if s.CPU < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(s.CPU), 10)
	b = append(b, "] "...)
	b = appendTime(b, s.Time)
	b = append(b, ": "...)
	ev := s.Event
	b = append(b, ev.Spec.Event...)
	b = append(b, ':')
	vals := s.Record.Values
	// Probe events start with where they fired, as the kernel prints them:
	// "(0xIP)" for entry probes, "(0xRET <- 0xFUNC)" for return probes.
	switch {
	case ev.probeIP >= 0:
		b = append(b, " (0x"...)
		b = strconv.AppendUint(b, vals[ev.probeIP].Uint, 16)
		b = append(b, ')')
	case ev.probeFunc >= 0 && ev.probeRetIP >= 0:
		b = append(b, " (0x"...)
		b = strconv.AppendUint(b, vals[ev.probeRetIP].Uint, 16)
		b = append(b, " <- 0x"...)
		b = strconv.AppendUint(b, vals[ev.probeFunc].Uint, 16)
		b = append(b, ')')
	}
	for i, f := range ev.Format.Fields {
		if i == ev.probeIP || i == ev.probeFunc || i == ev.probeRetIP || strings.HasPrefix(f.Name, WherePrefix) {
			continue
		}
		b = append(b, ' ')
		b = append(b, f.Name...)
		b = append(b, '=')
		b = vals[i].AppendText(b, ev.hex[f.Name])
	}
	b = append(b, '\n')
	if s.Callchain.Len() > 0 {
		b = p.appendStack(b, s)
	}
	return b
}

func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// appendTime prints ns as seconds.microseconds, like the trace file.
func appendTime(b []byte, ns uint64) []byte {
	b = strconv.AppendUint(b, ns/1e9, 10)
	b = append(b, '.')
	us := (ns % 1e9) / 1e3
	for d := uint64(100000); d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, us, 10)
}

// JSONVersion is the version of trace's JSON Lines (-f json; the schema is
// in the README). It changes whenever a field does; TestJSONSchema holds
// it to that.
const JSONVersion = 1

// AppendJSON appends one JSON object and a newline: the event, where and
// when it fired, and its fields with their types kept (integers as
// numbers, strings as strings, arrays as arrays, a string the kernel could
// not fetch as null).
func (p *Printer) AppendJSON(b []byte, s *Sample) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, JSONVersion, 10)
	b = append(b, `,"time":`...)
	b = appendTime(b, s.Time)
	b = append(b, `,"cpu":`...)
	b = strconv.AppendInt(b, int64(s.CPU), 10)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(s.Pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(s.Tid), 10)
	b = append(b, `,"comm":`...)
	b = tracefs.AppendJSONString(b, s.Comm)
	b = append(b, `,"event":`...)
	b = tracefs.AppendJSONString(b, s.Event.Name())
	b = append(b, `,"fields":{`...)
	n := 0
	for i, f := range s.Event.Format.Fields {
		if strings.HasPrefix(f.Name, WherePrefix) {
			continue // --where's own
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = tracefs.AppendJSONString(b, f.Name)
		b = append(b, ':')
		b = s.Record.Values[i].AppendJSON(b)
	}
	b = append(b, '}')
	if s.Callchain.Len() > 0 {
		b = append(b, `,"stack":[`...)
		first := true
		p.frames(s, func(addr uint64, sym string, kernel bool) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"addr":`...)
			b = tracefs.AppendJSONAddr(b, addr)
			if sym != "" {
				b = append(b, `,"sym":`...)
				b = tracefs.AppendJSONString(b, sym)
			}
			if kernel {
				b = append(b, `,"kernel":true`...)
			}
			b = append(b, '}')
		})
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

// appendStack prints the call chain the way the trace file prints a
// stacktrace trigger: one " => SYMBOL+0xOFF" line per frame, kernel
// frames first.
func (p *Printer) appendStack(b []byte, s *Sample) []byte {
	p.frames(s, func(addr uint64, sym string, kernel bool) {
		b = append(b, " => "...)
		if sym != "" {
			b = append(b, sym...)
		} else {
			b = append(b, "0x"...)
			b = strconv.AppendUint(b, addr, 16)
		}
		b = append(b, '\n')
	})
	return b
}

// frames walks a call chain, skipping the PERF_CONTEXT_* markers that
// separate its kernel part from its user part.
func (p *Printer) frames(s *Sample, fn func(addr uint64, sym string, kernel bool)) {
	kernel := false
	for i := 0; i < s.Callchain.Len(); i++ {
		a := s.Callchain.At(i)
		if a >= perf.PERF_CONTEXT_MAX {
			kernel = a == perf.PERF_CONTEXT_KERNEL
			continue
		}
		sym := ""
		if p.Symbols != nil {
			if kernel {
				sym = p.Symbols.Kernel(a)
			} else {
				sym = p.Symbols.User(s.Pid, a)
			}
		}
		fn(a, sym, kernel)
	}
}
