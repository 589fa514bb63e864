package script

// FormatSource supplies tracepoint formats, so that args->FIELD can be
// typed from the kernel's events/SYSTEM/EVENT/format file. The caller plugs
// in package tracefs; script itself makes no system calls.
type FormatSource interface {
	Format(system, event string) (*Format, error)
}

// FormatFunc adapts a function to FormatSource.
type FormatFunc func(system, event string) (*Format, error)

// Format calls f.
func (f FormatFunc) Format(system, event string) (*Format, error) { return f(system, event) }

// Format is what the compiler needs of a tracepoint's format file: the
// event's own fields (not the common_ ones), with their layout in the
// record a BPF program receives as its context.
type Format struct {
	System, Event string
	Fields        []FormatField
}

// FieldLayout says how a field's bytes are laid out in the record.
type FieldLayout uint8

// Layouts, matching the kinds the kernel's format files describe.
const (
	LayoutInt       FieldLayout = iota + 1 // an integer of Size 1, 2, 4 or 8 (pointers too)
	LayoutCharArray                        // char[N]: a NUL-padded string in place
	LayoutDynString                        // __data_loc char[]: u32 (len<<16 | offset) to a string in the record
	LayoutOther                            // arrays and anything else: not usable from scripts
)

// FormatField is one field of a format file.
type FormatField struct {
	Name   string
	CType  string // the C type as the format prints it: "const char *", "char[16]"
	Offset int
	Size   int
	Signed bool
	Layout FieldLayout
}

// Field returns the named field, or nil.
func (f *Format) Field(name string) *FormatField {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	return nil
}

// fieldNames lists the fields, for suggestions.
func (f *Format) fieldNames() []string {
	s := make([]string, len(f.Fields))
	for i, fd := range f.Fields {
		s[i] = fd.Name
	}
	return s
}

// isPointer reports whether the field holds an address.
func (fd *FormatField) isPointer() bool {
	for i := 0; i < len(fd.CType); i++ {
		if fd.CType[i] == '*' {
			return true
		}
	}
	return false
}
