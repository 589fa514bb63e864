package tracefs

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Format is an event's format file (events/SYSTEM/EVENT/format): its name,
// id, fields and print format.
type Format struct {
	System   string // set by FS.Format; the file itself does not say
	Name     string
	ID       uint32
	Common   []Field // common_type, common_flags, common_preempt_count, common_pid...
	Fields   []Field // the event's own fields, in file order
	PrintFmt string  // the print_fmt after "print fmt: ", kept verbatim: it may hold newlines
}

// FieldKind says how a field's bytes are laid out.
type FieldKind uint8

const (
	FieldInt            FieldKind = iota + 1 // integer of Size 1, 2, 4 or 8 bytes
	FieldCharArray                           // char[N]: a NUL-padded string in place
	FieldArray                               // TYPE[N] (or TYPE[] of fixed size, as probe arrays are printed): Count elements of ElemSize
	FieldDynString                           // __data_loc char[] (or __rel_loc): a string elsewhere in the record
	FieldDynArray                            // __data_loc TYPE[]: an array elsewhere in the record
	FieldDynStringArray                      // __data_loc char[][N]: N __data_loc words, each a string (probe string arrays)
	FieldBytes                               // anything else: raw bytes (flexible arrays of size 0 take the rest of the record)
)

var fieldKindNames = [...]string{"", "int", "char-array", "array", "dyn-string", "dyn-array", "dyn-string-array", "bytes"}

func (k FieldKind) String() string {
	if int(k) < len(fieldKindNames) && k != 0 {
		return fieldKindNames[k]
	}
	return "FieldKind(" + strconv.Itoa(int(k)) + ")"
}

// Field is one "field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;" line.
type Field struct {
	Name     string
	Type     string // the C type as printed, with any [N] suffix: "unsigned long", "__data_loc char[]", "char[16]", "u8[]"
	Offset   int
	Size     int
	Signed   bool
	Kind     FieldKind
	RelLoc   bool // __rel_loc: the offset is relative to the end of the field (5.19)
	ElemSize int  // arrays: size of one element
	Count    int  // FieldArray: elements; FieldDynStringArray: strings
}

// maxFormatSize bounds a format file, read (FS.Format) or parsed. The
// largest on 6.18 is under 6 KiB; the bound keeps a corrupt input from
// costing more than that much memory and time.
const maxFormatSize = 1 << 20

// ParseFormat parses a format file. The layout comes from the kernel's
// trace_format_open/f_show: "name:", "ID:", "format:", field lines (common
// fields, a blank line, the event's fields) and "print fmt:".
//
// The print fmt is not one line: it is the event's print_fmt, the
// TP_printk literal after the compiler has applied its escapes, so a "\n"
// in the literal is a newline in the file (ext4_fc_stats and the
// ext4_*fsmap_* events on 6.18). f_show prints it last, as
// "print fmt: %s\n", so it runs from there to the end of the file.
func ParseFormat(b []byte) (*Format, error) {
	if len(b) > maxFormatSize {
		return nil, fmt.Errorf("%d bytes: larger than any format file (%d)", len(b), maxFormatSize)
	}
	f := &Format{}
	line := 0
	seenName := false
	for off := 0; off < len(b); {
		line++
		end, next := len(b), len(b)
		if i := bytes.IndexByte(b[off:], '\n'); i >= 0 {
			end, next = off+i, off+i+1
		}
		l := b[off:end]
		t := strings.TrimSpace(string(l))
		switch {
		case t == "" || t == "format:":
		case strings.HasPrefix(t, "name:"):
			f.Name = strings.TrimSpace(t[len("name:"):])
			seenName = true
		case strings.HasPrefix(t, "ID:"):
			id, err := strconv.ParseUint(strings.TrimSpace(t[len("ID:"):]), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad ID: %w", line, err)
			}
			f.ID = uint32(id)
		case strings.HasPrefix(t, "field:"):
			fd, err := parseFieldLine(t)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if strings.HasPrefix(fd.Name, "common_") {
				f.Common = append(f.Common, fd)
			} else {
				f.Fields = append(f.Fields, fd)
			}
		case strings.HasPrefix(t, "print fmt:"):
			// The rest of the file, its newlines kept. A print_fmt
			// ends with its literal's closing quote or an argument,
			// never with white space: trailing white space is the
			// newline f_show adds (or the blank lines of a file
			// written by hand), not part of it.
			start := off + bytes.Index(l, []byte("print fmt:")) + len("print fmt:")
			f.PrintFmt = strings.TrimRight(strings.TrimLeft(string(b[start:]), " \t"), " \t\r\n")
			next = len(b)
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", line, t)
		}
		off = next
	}
	if !seenName {
		return nil, fmt.Errorf("no \"name:\" line: not a format file")
	}
	return f, nil
}

// parseFieldLine parses "field:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:B;".
// signed: is missing on kernels before 2.6.36.
func parseFieldLine(t string) (Field, error) {
	var fd Field
	parts := strings.Split(t, ";")
	decl := strings.TrimSpace(strings.TrimPrefix(parts[0], "field:"))
	haveOff, haveSize := false, false
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return fd, fmt.Errorf("field %q: bad attribute %q", decl, p)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return fd, fmt.Errorf("field %q: bad %s %q", decl, k, v)
		}
		switch k {
		case "offset":
			fd.Offset, haveOff = n, true
		case "size":
			fd.Size, haveSize = n, true
		case "signed":
			fd.Signed = n != 0
		}
	}
	if !haveOff || !haveSize {
		return fd, fmt.Errorf("field %q: missing offset or size", decl)
	}
	if fd.Offset > 1<<16 || fd.Size > 1<<16 {
		return fd, fmt.Errorf("field %q: offset %d or size %d larger than any record", decl, fd.Offset, fd.Size)
	}
	typ, name, arr, err := splitDecl(decl)
	if err != nil {
		return fd, err
	}
	fd.Name = name
	fd.Type = typ + arr
	classify(&fd, typ, arr)
	return fd, nil
}

// splitDecl splits "const char * filename" into ("const char *", "filename",
// ""), "char comm[16]" into ("char", "comm", "[16]") and
// "__data_loc char[][2] sarr2" into ("__data_loc char[][2]", "sarr2", "").
func splitDecl(decl string) (typ, name, arr string, err error) {
	d := decl
	if strings.HasSuffix(d, "]") {
		if i := strings.LastIndexAny(d, " *"); i >= 0 {
			if j := strings.IndexByte(d[i+1:], '['); j > 0 {
				arr = d[i+1+j:]
				d = d[:i+1+j]
			}
		}
	}
	i := len(d)
	for i > 0 && isIdent(d[i-1]) {
		i--
	}
	name = d[i:]
	typ = strings.TrimSpace(d[:i])
	if name == "" || typ == "" {
		return "", "", "", fmt.Errorf("field declaration %q: want TYPE NAME", decl)
	}
	return typ, name, arr, nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// classify decides the field's Kind from its type and size. The size in the
// file is authoritative: syscall tracepoints print "int dfd" with size 8.
func classify(fd *Field, typ, arr string) {
	base := typ
	switch {
	case strings.HasPrefix(typ, "__data_loc ") || strings.HasPrefix(typ, "__rel_loc "):
		fd.RelLoc = strings.HasPrefix(typ, "__rel_loc ")
		elem := strings.TrimSpace(typ[strings.IndexByte(typ, ' ')+1:])
		if fd.Size%4 != 0 || fd.Size == 0 {
			fd.Kind = FieldBytes
			return
		}
		if strings.HasPrefix(elem, "char[][") {
			// Probe string arrays: one 32-bit location per string.
			fd.Kind, fd.Count, fd.ElemSize = FieldDynStringArray, fd.Size/4, 4
			return
		}
		if fd.Size != 4 {
			fd.Kind = FieldBytes
			return
		}
		elem = strings.TrimSuffix(elem, "[]")
		if isCharType(elem) {
			fd.Kind = FieldDynString
			return
		}
		fd.Kind = FieldDynArray
		fd.ElemSize = scalarSize(elem)
		if fd.ElemSize == 0 {
			fd.ElemSize = 1
		}
		return
	case arr != "":
		n := -1
		if inner := strings.TrimSuffix(strings.TrimPrefix(arr, "["), "]"); inner != "" {
			if v, err := strconv.Atoi(inner); err == nil && v > 0 {
				n = v
			}
		}
		if fd.Size == 0 {
			fd.Kind = FieldBytes // flexible array: the rest of the record
			return
		}
		if isCharType(base) && !strings.Contains(base, "unsigned") {
			fd.Kind = FieldCharArray
			return
		}
		es := 0
		if n > 0 && fd.Size%n == 0 {
			es = fd.Size / n
		} else if s := scalarSize(base); s > 0 && fd.Size%s == 0 {
			es = s
		}
		if es != 1 && es != 2 && es != 4 && es != 8 {
			fd.Kind = FieldBytes
			return
		}
		fd.Kind, fd.ElemSize, fd.Count = FieldArray, es, fd.Size/es
		return
	}
	switch fd.Size {
	case 1, 2, 4, 8:
		fd.Kind = FieldInt
	default:
		fd.Kind = FieldBytes
	}
}

func isCharType(t string) bool {
	switch t {
	case "char", "const char", "signed char", "unsigned char":
		return true
	}
	return false
}

// scalarSize knows the sizes of the types probe events and common
// tracepoints print; 0 when unknown.
func scalarSize(t string) int {
	t = strings.TrimPrefix(t, "const ")
	if strings.HasSuffix(t, "*") {
		return 8
	}
	switch t {
	case "u8", "s8", "x8", "char", "unsigned char", "signed char", "bool", "__u8", "__s8":
		return 1
	case "u16", "s16", "x16", "short", "unsigned short", "__u16", "__s16":
		return 2
	case "u32", "s32", "x32", "int", "unsigned int", "unsigned", "pid_t", "__u32", "__s32":
		return 4
	case "u64", "s64", "x64", "long long", "unsigned long long", "__u64", "__s64":
		return 8
	}
	return 0
}

// Field returns the field called name (common fields included), or nil.
func (f *Format) Field(name string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	for i := range f.Common {
		if f.Common[i].Name == name {
			return &f.Common[i]
		}
	}
	return nil
}

// String prints the format in the kernel's own layout: for a file that
// ParseFormat read, the file byte for byte (`tracelet trace -H` prints it).
func (f *Format) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nID: %d\nformat:\n", f.Name, f.ID)
	for _, fd := range f.Common {
		b.WriteString(fd.line())
	}
	b.WriteString("\n")
	for _, fd := range f.Fields {
		b.WriteString(fd.line())
	}
	fmt.Fprintf(&b, "\nprint fmt: %s\n", f.PrintFmt)
	return b.String()
}

func (fd Field) line() string {
	typ, arr := fd.Type, ""
	if !strings.HasPrefix(typ, "__data_loc") && !strings.HasPrefix(typ, "__rel_loc") {
		if i := strings.IndexByte(typ, '['); i >= 0 {
			typ, arr = typ[:i], typ[i:]
		}
	}
	s := 0
	if fd.Signed {
		s = 1
	}
	return fmt.Sprintf("\tfield:%s %s%s;\toffset:%d;\tsize:%d;\tsigned:%d;\n", typ, fd.Name, arr, fd.Offset, fd.Size, s)
}
