package tracefs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// ProbeFormatText renders the format file the kernel gives a kprobe,
// kretprobe, uprobe or uretprobe event of definition p, as it would appear
// in events/GROUP/EVENT/format, with id as its ID. ptrBits is the width of
// the kernel's unsigned long (64 or 32). btfArgs says that the kernel types
// arguments through its BTF (Features.BTFArgs): there a BTF argument name
// and an untyped $retval take their C types from the kernel's BTF, which
// the definition does not show, so such a definition is refused.
//
// The kernel builds these files from the definition alone
// (traceprobe_define_arg_fields and traceprobe_set_print_fmt in
// kernel/trace/trace_probe.c): a head of one unsigned long (__probe_ip) or
// two (__probe_func, __probe_ret_ip) after the common fields, then each
// argument packed at the end of the one before, with no alignment. So a
// record can be decoded from the definition in kprobe_events or
// uprobe_events when its events/ directory is missing, as the boot-time
// events of some kernels are (see record's orphan events).
func ProbeFormatText(p *kprobeevents.Probe, id uint32, ptrBits int, btfArgs bool) (string, error) {
	long := ptrBits / 8
	if long != 4 && long != 8 {
		return "", fmt.Errorf("tracefs: unsigned long of %d bits", ptrBits)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nID: %d\nformat:\n", p.EventName(), id)
	b.WriteString("\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n" +
		"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n" +
		"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" +
		"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n")
	off := 8
	field := func(typ, name string, size int, signed bool) {
		s := 0
		if signed {
			s = 1
		}
		fmt.Fprintf(&b, "\tfield:%s %s;\toffset:%d;\tsize:%d;\tsigned:%d;\n", typ, name, off, size, s)
		off += size
	}
	var pf strings.Builder // the print fmt's format string
	var pa []string        // and its arguments
	if p.Type.IsReturn() {
		field("unsigned long", "__probe_func", long, false)
		field("unsigned long", "__probe_ret_ip", long, false)
		pf.WriteString("(%lx <- %lx)")
		pa = append(pa, "REC->__probe_func", "REC->__probe_ret_ip")
	} else {
		field("unsigned long", "__probe_ip", long, false)
		pf.WriteString("(%lx)")
		pa = append(pa, "REC->__probe_ip")
	}
	for _, a := range p.Args {
		at := a.Type
		if at.Kind == kprobeevents.TypeDefault && a.Fetch != nil &&
			(a.Fetch.Kind == kprobeevents.FetchComm || a.Fetch.Kind == kprobeevents.FetchImmString) {
			// $comm and \"STR" are strings unless typed otherwise
			// (parse_probe_arg: the default type of a comm or immediate
			// string is "string").
			at.Kind = kprobeevents.TypeString
		}
		if at.Kind == kprobeevents.TypeDefault && a.Fetch != nil && btfArgs &&
			(a.Fetch.Kind == kprobeevents.FetchBTF || a.Fetch.Kind == kprobeevents.FetchRetval) {
			return "", fmt.Errorf("tracefs: argument %s of %s: this kernel types it from its BTF; give it a :TYPE", a.Name, p.EventName())
		}
		ft, err := fetchTypeOf(at, long)
		if err != nil {
			return "", fmt.Errorf("tracefs: argument %s of %s: %w", a.Name, p.EventName(), err)
		}
		typ, size := ft.name, ft.size
		if n := a.Type.ArrayLen; n > 0 {
			typ += "[" + strconv.Itoa(n) + "]"
			size *= n
		}
		field(typ, a.Name, size, ft.signed)
		pf.WriteString(" " + a.Name + "=")
		if n := a.Type.ArrayLen; n > 0 {
			pf.WriteByte('{')
			for i := 0; i < n; i++ {
				if i > 0 {
					pf.WriteByte(',')
				}
				pf.WriteString(ft.fmt)
				pa = append(pa, ft.arg(a.Name+"["+strconv.Itoa(i)+"]"))
			}
			pf.WriteByte('}')
		} else {
			pf.WriteString(ft.fmt)
			pa = append(pa, ft.arg(a.Name))
		}
	}
	fmt.Fprintf(&b, "\nprint fmt: \"%s\", %s\n", pf.String(), strings.Join(pa, ", "))
	return b.String(), nil
}

// ProbeFormat is ProbeFormatText parsed, with system set to the probe's group.
func ProbeFormat(p *kprobeevents.Probe, id uint32, ptrBits int, btfArgs bool) (*Format, error) {
	text, err := ProbeFormatText(p, id, ptrBits, btfArgs)
	if err != nil {
		return nil, err
	}
	f, err := ParseFormat([]byte(text))
	if err != nil {
		return nil, err
	}
	f.System = p.GroupName()
	return f, nil
}

// fetchType is one row of the kernel's probe_fetch_types table: the C type
// a field is declared with, its size, signedness and print format.
type fetchType struct {
	name   string
	size   int
	signed bool
	fmt    string
	str    bool // a __data_loc string: printed through __get_str()
}

func (t fetchType) arg(name string) string {
	if t.str {
		return "__get_str(" + name + ")"
	}
	return "REC->" + name
}

func fetchTypeOf(t kprobeevents.Type, long int) (fetchType, error) {
	switch t.Kind {
	case kprobeevents.TypeU8:
		return fetchType{name: "u8", size: 1, fmt: "%u"}, nil
	case kprobeevents.TypeU16:
		return fetchType{name: "u16", size: 2, fmt: "%u"}, nil
	case kprobeevents.TypeU32:
		return fetchType{name: "u32", size: 4, fmt: "%u"}, nil
	case kprobeevents.TypeU64:
		return fetchType{name: "u64", size: 8, fmt: "%Lu"}, nil
	case kprobeevents.TypeS8:
		return fetchType{name: "s8", size: 1, signed: true, fmt: "%d"}, nil
	case kprobeevents.TypeS16:
		return fetchType{name: "s16", size: 2, signed: true, fmt: "%d"}, nil
	case kprobeevents.TypeS32:
		return fetchType{name: "s32", size: 4, signed: true, fmt: "%d"}, nil
	case kprobeevents.TypeS64:
		return fetchType{name: "s64", size: 8, signed: true, fmt: "%Ld"}, nil
	case kprobeevents.TypeX8:
		return fetchType{name: "u8", size: 1, fmt: "0x%x"}, nil
	case kprobeevents.TypeX16:
		return fetchType{name: "u16", size: 2, fmt: "0x%x"}, nil
	case kprobeevents.TypeX32:
		return fetchType{name: "u32", size: 4, fmt: "0x%x"}, nil
	case kprobeevents.TypeX64:
		return fetchType{name: "u64", size: 8, fmt: "0x%Lx"}, nil
	case kprobeevents.TypeDefault:
		// No :TYPE is x64 on a 64-bit kernel and x32 on a 32-bit one
		// (DEFAULT_FETCH_TYPE).
		if long == 4 {
			return fetchType{name: "u32", size: 4, fmt: "0x%x"}, nil
		}
		return fetchType{name: "u64", size: 8, fmt: "0x%Lx"}, nil
	case kprobeevents.TypeSymbol:
		if long == 4 {
			return fetchType{name: "u32", size: 4, fmt: "%pS"}, nil
		}
		return fetchType{name: "u64", size: 8, fmt: "%pS"}, nil
	case kprobeevents.TypeChar:
		return fetchType{name: "u8", size: 1, fmt: "'%c'"}, nil
	case kprobeevents.TypeString, kprobeevents.TypeUstring, kprobeevents.TypeSymstr,
		kprobeevents.TypeDentry, kprobeevents.TypeFile:
		return fetchType{name: "__data_loc char[]", size: 4, signed: true, fmt: `\"%s\"`, str: true}, nil
	case kprobeevents.TypeBitfield:
		switch t.Container {
		case 8:
			return fetchType{name: "u8", size: 1, fmt: "%u"}, nil
		case 16:
			return fetchType{name: "u16", size: 2, fmt: "%u"}, nil
		case 32:
			return fetchType{name: "u32", size: 4, fmt: "%u"}, nil
		case 64:
			return fetchType{name: "u64", size: 8, fmt: "%Lu"}, nil
		}
	}
	return fetchType{}, fmt.Errorf("no record layout for type %q", t.String())
}
