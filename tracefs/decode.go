package tracefs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Kind is the type of a decoded Value.
type Kind uint8

const (
	KindInvalid     Kind = iota
	KindInt              // signed integer in Int
	KindUint             // unsigned integer in Uint
	KindString           // Bytes holds the string, without its NUL
	KindBytes            // Bytes holds raw bytes
	KindArray            // Bytes holds Len() elements of ElemSize bytes; Signed says how to read them
	KindStringArray      // Len() strings; read them with StringAt
)

var kindNames = [...]string{"invalid", "int", "uint", "string", "bytes", "array", "string-array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one decoded field. Bytes is a view into the record passed to
// Decode: it is valid until that buffer is reused (copy it to keep it).
type Value struct {
	Kind     Kind
	Signed   bool
	ElemSize uint8
	Fault    bool  // a __data_loc of length 0: the kernel could not fetch it ("(fault)")
	c        cType // the field's declared C type, which AppendJSON follows
	Int      int64
	Uint     uint64
	Bytes    []byte
	rec      []byte // the record, for KindStringArray
	base     int    // KindStringArray: offset of the first location word
	count    int
	relLoc   bool
}

// Len is the number of elements of an array or string array.
func (v Value) Len() int {
	switch v.Kind {
	case KindArray:
		if v.ElemSize == 0 {
			return 0
		}
		return len(v.Bytes) / int(v.ElemSize)
	case KindStringArray:
		return v.count
	}
	return 0
}

// IntAt is element i of a signed array (or any array, sign-extended if
// Signed).
func (v Value) IntAt(i int) int64 {
	u := v.UintAt(i)
	if !v.Signed {
		return int64(u)
	}
	switch v.ElemSize {
	case 1:
		return int64(int8(u))
	case 2:
		return int64(int16(u))
	case 4:
		return int64(int32(u))
	}
	return int64(u)
}

// UintAt is element i of an array, zero-extended.
func (v Value) UintAt(i int) uint64 {
	es := int(v.ElemSize)
	if v.Kind != KindArray || i < 0 || es == 0 || (i+1)*es > len(v.Bytes) {
		return 0
	}
	return readUint(v.Bytes[i*es:], es)
}

// StringAt is string i of a KindStringArray. ok is false for a fault, a
// location outside the record, and every element after a fault: when one
// element of a probe's string array faults, the kernel stops storing the
// array (process_fetch_insn_bottom returns early) and leaves the remaining
// location words as whatever the ring held before.
func (v Value) StringAt(i int) (s []byte, ok bool) {
	if v.Kind != KindStringArray || i < 0 || i >= v.count {
		return nil, false
	}
	for j := 0; j <= i; j++ {
		b, fault, err := dataLoc(v.rec, v.base+4*j, v.relLoc)
		if err != nil || fault {
			return nil, false
		}
		if j == i {
			return cstring(b), true
		}
	}
	return nil, false
}

// AppendText appends the value as the kernel's trace file prints a probe
// argument: integers in decimal, or as 0x-prefixed hex when hex is set
// (HexFields says which), strings quoted, "(fault)" for a string the
// kernel could not read, and arrays as {a,b,c}. It allocates nothing.
func (v Value) AppendText(b []byte, hex bool) []byte {
	switch v.Kind {
	case KindInt:
		if hex {
			b = append(b, "0x"...)
			return strconv.AppendUint(b, uint64(v.Int), 16)
		}
		return strconv.AppendInt(b, v.Int, 10)
	case KindUint:
		if hex {
			b = append(b, "0x"...)
			return strconv.AppendUint(b, v.Uint, 16)
		}
		return strconv.AppendUint(b, v.Uint, 10)
	case KindString:
		if v.Fault {
			return append(b, "(fault)"...)
		}
		b = append(b, '"')
		b = append(b, v.Bytes...)
		return append(b, '"')
	case KindArray:
		b = append(b, '{')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			switch {
			case hex:
				b = append(b, "0x"...)
				b = strconv.AppendUint(b, v.UintAt(i), 16)
			case v.Signed:
				b = strconv.AppendInt(b, v.IntAt(i), 10)
			default:
				b = strconv.AppendUint(b, v.UintAt(i), 10)
			}
		}
		return append(b, '}')
	}
	return append(b, v.String()...)
}

// String formats the value for humans, like the kernel's print fmt would.
func (v Value) String() string {
	switch v.Kind {
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindUint:
		return strconv.FormatUint(v.Uint, 10)
	case KindString:
		if v.Fault {
			return "(fault)"
		}
		return string(v.Bytes)
	case KindBytes:
		return fmt.Sprintf("%x", v.Bytes)
	case KindArray:
		return string(append(v.appendInts(append([]byte(nil), '{')), '}'))
	case KindStringArray:
		var b []byte
		b = append(b, '{')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			s, ok := v.StringAt(i)
			if !ok {
				b = append(b, "(fault)"...)
				continue
			}
			b = strconv.AppendQuote(b, string(s))
		}
		return string(append(b, '}'))
	}
	return "<invalid>"
}

// Record is a decoded event. Values is indexed like Format.Fields; Decode
// reuses its backing array, so decoding into the same Record does not
// allocate.
type Record struct {
	Type         uint16 // common_type: the event id
	Flags        uint8
	PreemptCount uint8
	Pid          int32
	Values       []Value
}

// Decoder decodes the raw records of one event. Build it once per event
// with Format.Decoder; Decode is safe for concurrent use.
type Decoder struct {
	format *Format
	ops    []fieldOp
	common [4]fieldOp // type, flags, preempt_count, pid (size 0 when absent)
	minLen int        // every fixed-position field lies below this
}

type fieldOp struct {
	kind   FieldKind
	off    int
	size   int
	elem   int
	count  int
	signed bool
	rel    bool
	c      cType
}

// Decoder compiles the format into a Decoder.
func (f *Format) Decoder() (*Decoder, error) {
	d := &Decoder{format: f}
	for _, fd := range f.Fields {
		op := fieldOp{kind: fd.Kind, off: fd.Offset, size: fd.Size, elem: fd.ElemSize, count: fd.Count, signed: fd.Signed, rel: fd.RelLoc}
		if fd.Kind == FieldInt {
			op.c = cTypeOf(fd.Type)
		}
		if fd.Kind == 0 {
			return nil, fmt.Errorf("tracefs: field %s: unknown kind", fd.Name)
		}
		d.ops = append(d.ops, op)
		d.minLen = max(d.minLen, fd.Offset+fd.Size)
	}
	for _, fd := range f.Common {
		i := -1
		switch fd.Name {
		case "common_type":
			i = 0
		case "common_flags":
			i = 1
		case "common_preempt_count":
			i = 2
		case "common_pid":
			i = 3
		}
		if i >= 0 && (fd.Size == 1 || fd.Size == 2 || fd.Size == 4 || fd.Size == 8) {
			d.common[i] = fieldOp{kind: FieldInt, off: fd.Offset, size: fd.Size, signed: fd.Signed}
			d.minLen = max(d.minLen, fd.Offset+fd.Size)
		}
	}
	return d, nil
}

// Format is the format the decoder was built from.
func (d *Decoder) Format() *Format { return d.format }

// CorruptError is a record that does not fit its format.
type CorruptError struct {
	Event  string
	Field  string
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Field == "" {
		return "tracefs: corrupt " + e.Event + " record: " + e.Reason
	}
	return "tracefs: corrupt " + e.Event + " record: field " + e.Field + ": " + e.Reason
}

// Decode decodes one record (the event data of a ring-buffer event or a
// perf sample's raw data, starting at common_type) into out. Values that
// reference raw (strings, arrays, bytes) are views into raw. A record that
// is too short or whose locations point outside it gives a *CorruptError.
func (d *Decoder) Decode(raw []byte, out *Record) error {
	if len(raw) < d.minLen {
		return d.corrupt("", "record is "+strconv.Itoa(len(raw))+" bytes, format needs "+strconv.Itoa(d.minLen))
	}
	if c := d.common[0]; c.size > 0 {
		out.Type = uint16(readUint(raw[c.off:], c.size))
	}
	if c := d.common[1]; c.size > 0 {
		out.Flags = uint8(readUint(raw[c.off:], c.size))
	}
	if c := d.common[2]; c.size > 0 {
		out.PreemptCount = uint8(readUint(raw[c.off:], c.size))
	}
	if c := d.common[3]; c.size > 0 {
		out.Pid = int32(signExtend(readUint(raw[c.off:], c.size), c.size))
	}
	if cap(out.Values) < len(d.ops) {
		out.Values = make([]Value, len(d.ops))
	}
	out.Values = out.Values[:len(d.ops)]
	for i := range d.ops {
		op := &d.ops[i]
		v := &out.Values[i]
		*v = Value{}
		switch op.kind {
		case FieldInt:
			u := readUint(raw[op.off:], op.size)
			if op.signed {
				v.Kind, v.Int = KindInt, signExtend(u, op.size)
			} else {
				v.Kind, v.Uint = KindUint, u
			}
			v.c = op.c
		case FieldCharArray:
			v.Kind, v.Bytes = KindString, cstring(raw[op.off:op.off+op.size])
		case FieldArray:
			v.Kind, v.Bytes, v.ElemSize, v.Signed = KindArray, raw[op.off:op.off+op.size:op.off+op.size], uint8(op.elem), op.signed
		case FieldDynString, FieldDynArray:
			b, fault, err := dataLoc(raw, op.off, op.rel)
			if err != nil {
				return d.corrupt(d.format.Fields[i].Name, err.Error())
			}
			v.Fault = fault
			if op.kind == FieldDynString {
				v.Kind, v.Bytes = KindString, cstring(b)
			} else {
				if op.elem > 0 && len(b)%op.elem != 0 {
					return d.corrupt(d.format.Fields[i].Name, "array of "+strconv.Itoa(len(b))+" bytes is not a multiple of its element size")
				}
				v.Kind, v.Bytes, v.ElemSize, v.Signed = KindArray, b, uint8(op.elem), op.signed
			}
		case FieldDynStringArray:
			// The location words lie inside minLen; the strings are
			// checked by StringAt, since after a fault the kernel leaves
			// the later words unset (see StringAt).
			v.Kind, v.rec, v.base, v.count, v.relLoc = KindStringArray, raw, op.off, op.count, op.rel
		default: // FieldBytes
			if op.size == 0 {
				v.Kind, v.Bytes = KindBytes, raw[op.off:len(raw):len(raw)]
			} else {
				v.Kind, v.Bytes = KindBytes, raw[op.off:op.off+op.size:op.off+op.size]
			}
		}
	}
	return nil
}

func (d *Decoder) corrupt(field, reason string) error {
	return &CorruptError{Event: d.format.Name, Field: field, Reason: reason}
}

// dataLoc resolves a __data_loc (offset from the record start in the low
// 16 bits, length in the high 16) or __rel_loc (offset from the end of the
// location word) of the 32-bit word at raw[off:].
func dataLoc(raw []byte, off int, rel bool) (b []byte, fault bool, err error) {
	if off < 0 || off+4 > len(raw) {
		return nil, false, fmt.Errorf("location word at %d outside the %d-byte record", off, len(raw))
	}
	w := binary.NativeEndian.Uint32(raw[off:])
	start, n := int(w&0xffff), int(w>>16)
	if rel {
		start += off + 4
	}
	if n == 0 {
		return raw[:0:0], true, nil
	}
	if start+n > len(raw) {
		return nil, false, fmt.Errorf("data at %d+%d outside the %d-byte record", start, n, len(raw))
	}
	return raw[start : start+n : start+n], false, nil
}

// cstring cuts b at its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i:i]
	}
	return b[:len(b):len(b)]
}

// readUint reads a native-endian integer of size 1, 2, 4 or 8 (ring buffers
// and perf samples are in the kernel's byte order, which is ours).
func readUint(b []byte, size int) uint64 {
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	case 8:
		return binary.NativeEndian.Uint64(b)
	}
	return 0
}

func signExtend(u uint64, size int) int64 {
	switch size {
	case 1:
		return int64(int8(u))
	case 2:
		return int64(int16(u))
	case 4:
		return int64(int32(u))
	}
	return int64(u)
}

// appendInts appends an array's elements, comma-separated, in decimal:
// the body of its text ({...}) and JSON ([...]) forms.
func (v Value) appendInts(b []byte) []byte {
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if v.Signed {
			b = strconv.AppendInt(b, v.IntAt(i), 10)
		} else {
			b = strconv.AppendUint(b, v.UintAt(i), 10)
		}
	}
	return b
}
