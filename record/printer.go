package record

import (
	"fmt"
	"strconv"

	"github.com/tracelet/tracelet/tracefs"
)

// Format is the layout of a recording.
type Format int

const (
	// FormatText is ftrace's own text format, the kernel's trace file,
	// which the Perfetto UI opens and trace-cmd's tools read.
	FormatText Format = iota
	// FormatJSON is JSON Lines: one object per event.
	FormatJSON
)

// ParseFormat accepts "text" and "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text", "":
		return FormatText, nil
	case "json", "jsonl":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("format %q: want text or json", s)
}

func (f Format) String() string {
	if f == FormatJSON {
		return "json"
	}
	return "text"
}

// Ext is the file extension of the format.
func (f Format) Ext() string {
	if f == FormatJSON {
		return ".jsonl"
	}
	return ".txt"
}

// TextHeader starts every text recording, as the kernel's trace file
// starts (print_trace_header, print_lat_help_header): importers look for
// "# tracer:" to recognise the format.
const TextHeader = `# tracer: nop
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
`

// Header is what a file of format f starts with.
func (f Format) Header() []byte {
	if f == FormatJSON {
		return nil
	}
	return []byte(TextHeader)
}

// Printer formats events into a caller's buffer, one line each, without
// allocating.
type Printer struct {
	Format Format
}

// NewPrinter returns a Printer of format f.
func NewPrinter(f Format) *Printer { return &Printer{Format: f} }

// Append appends ev as one line.
func (p *Printer) Append(b []byte, ev *Event) []byte {
	if p.Format == FormatJSON {
		return AppendJSON(b, ev)
	}
	return AppendText(b, ev)
}

// Trace flags of common_flags (kernel/trace/trace.h, enum trace_flag_type).
const (
	flagIrqsOff        = 0x01
	flagBit1           = 0x02 // TRACE_FLAG_IRQS_NOSUPPORT before 6.13, TRACE_FLAG_NEED_RESCHED_LAZY since
	flagNeedResched    = 0x04
	flagHardirq        = 0x08
	flagSoftirq        = 0x10
	flagPreemptResched = 0x20
	flagNMI            = 0x40
	flagBHOff          = 0x80
)

// AppendText appends ev in the layout of the kernel's trace file
// (trace_print_context and trace_print_lat_fmt):
//
//	testprog-4242    [001] d..1. 12345.678901: ev: (0x4a3660) a=10 b=0x14
func AppendText(b []byte, ev *Event) []byte {
	comm := ev.Comm
	if comm == "" {
		comm = "<...>"
	}
	for i := len(comm); i < 16; i++ {
		b = append(b, ' ')
	}
	b = append(b, comm...)
	b = append(b, '-')
	n := len(b)
	b = strconv.AppendInt(b, int64(ev.Pid), 10)
	for len(b)-n < 7 {
		b = append(b, ' ')
	}
	b = append(b, " ["...)
	if ev.CPU < 100 {
		b = append(b, '0')
	}
	if ev.CPU < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(ev.CPU), 10)
	b = append(b, "] "...)
	b = appendLatFlags(b, ev.Flags, ev.Preempt)
	b = append(b, ' ')
	b = appendSeconds(b, ev.Time)
	b = append(b, ": "...)
	info := ev.Info
	b = append(b, info.Name...)
	b = append(b, ':')
	vals := ev.Record.Values
	switch {
	case info.ip >= 0:
		b = append(b, " (0x"...)
		b = strconv.AppendUint(b, vals[info.ip].Uint, 16)
		b = append(b, ')')
	case info.fn >= 0 && info.ret >= 0:
		b = append(b, " (0x"...)
		b = strconv.AppendUint(b, vals[info.ret].Uint, 16)
		b = append(b, " <- 0x"...)
		b = strconv.AppendUint(b, vals[info.fn].Uint, 16)
		b = append(b, ')')
	}
	for i, f := range info.Format.Fields {
		if i == info.ip || i == info.fn || i == info.ret {
			continue
		}
		b = append(b, ' ')
		b = append(b, f.Name...)
		b = append(b, '=')
		b = vals[i].AppendText(b, info.hex[i])
	}
	return append(b, '\n')
}

// appendLatFlags prints the five latency columns as trace_print_lat_fmt
// does: irqs-off, need-resched, hard/soft irq, preempt depth and
// migrate-disable depth.
//
// Bit 0x02 changed meaning in 6.13: TRACE_FLAG_IRQS_NOSUPPORT before,
// TRACE_FLAG_NEED_RESCHED_LAZY since (reschedLazy says which the running
// kernel uses).
func appendLatFlags(b []byte, flags, preempt uint8) []byte {
	lazy := reschedLazy()
	c := byte('.')
	switch {
	case flags&flagIrqsOff != 0 && flags&flagBHOff != 0:
		c = 'D'
	case flags&flagIrqsOff != 0:
		c = 'd'
	case flags&flagBHOff != 0:
		c = 'b'
	case !lazy && flags&flagBit1 != 0:
		c = 'X'
	}
	b = append(b, c)
	resched := flags & (flagNeedResched | flagBit1 | flagPreemptResched)
	if !lazy {
		resched &^= flagBit1
	}
	switch resched {
	case flagNeedResched | flagBit1 | flagPreemptResched:
		c = 'B'
	case flagNeedResched | flagPreemptResched:
		c = 'N'
	case flagBit1 | flagPreemptResched:
		c = 'L'
	case flagNeedResched | flagBit1:
		c = 'b'
	case flagNeedResched:
		c = 'n'
	case flagPreemptResched:
		c = 'p'
	case flagBit1:
		c = 'l'
	default:
		c = '.'
	}
	b = append(b, c)
	nmi, hard, soft := flags&flagNMI != 0, flags&flagHardirq != 0, flags&flagSoftirq != 0
	switch {
	case nmi && hard:
		c = 'Z'
	case nmi:
		c = 'z'
	case hard && soft:
		c = 'H'
	case hard:
		c = 'h'
	case soft:
		c = 's'
	default:
		c = '.'
	}
	b = append(b, c)
	const hexdig = "0123456789abcdef"
	for _, d := range []uint8{preempt & 0xf, preempt >> 4} {
		if d == 0 {
			b = append(b, '.')
		} else {
			b = append(b, hexdig[d])
		}
	}
	return b
}

// appendSeconds prints ns as seconds.microseconds, like the trace file:
// print_trace_fmt rounds to the nearest microsecond (ns2usecs adds 500).
func appendSeconds(b []byte, ns uint64) []byte {
	us := (ns + 500) / 1e3
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], us/1e6, 10)
	for i := len(s); i < 5; i++ {
		b = append(b, ' ')
	}
	b = append(b, s...)
	b = append(b, '.')
	rem := us % 1e6
	for d := uint64(100000); d > 1 && rem < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, rem, 10)
}

// JSONVersion is the version of the JSON Lines that record, collect and
// report write (their schema is in the README). It changes whenever a
// field does; TestJSONSchema holds it to that.
const JSONVersion = 1

// AppendJSON appends ev as one JSON object and a newline:
//
//	{"version":1,"time":12345.678901234,"ns":12345678901234,"cpu":1,"pid":4242,"comm":"testprog","event":"grp:ev","flags":"d..1.","fields":{"a":10,"s":"x"}}
//
// Integers stay numbers, strings strings, arrays arrays; a string the
// kernel could not fetch is null.
func AppendJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, JSONVersion, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendUint(b, ev.Time/1e9, 10)
	b = append(b, '.')
	frac := ev.Time % 1e9
	for d := uint64(1e8); d > 1 && frac < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendUint(b, frac, 10)
	b = append(b, `,"ns":`...)
	b = tracefs.AppendJSONUint(b, ev.Time)
	b = append(b, `,"cpu":`...)
	b = strconv.AppendInt(b, int64(ev.CPU), 10)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(ev.Pid), 10)
	b = append(b, `,"comm":`...)
	b = tracefs.AppendJSONString(b, ev.Comm)
	b = append(b, `,"event":`...)
	b = tracefs.AppendJSONString(b, ev.Info.FullName())
	b = append(b, `,"flags":"`...)
	b = appendLatFlags(b, ev.Flags, ev.Preempt)
	b = append(b, `","fields":{`...)
	for i, f := range ev.Info.Format.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = tracefs.AppendJSONString(b, f.Name)
		b = append(b, ':')
		b = ev.Record.Values[i].AppendJSON(b)
	}
	return append(b, "}}\n"...)
}
