package script

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"

	"github.com/tracelet/tracelet/btf"
)

// This file lays out a script's struct and union definitions as the C
// compiler lays them out for the target (System V and AAPCS rules: each
// member at the next multiple of its alignment, the size a multiple of the
// largest alignment, a bitfield in the next bits unless it would straddle
// a unit of its type) and encodes them as BTF. With the kernel's BTF the
// encoding is split BTF on top of it, so a member's type may be a kernel
// struct (runqlen.bt's struct load_weight) and the checker and code
// generator read the script's types through the one Spec they use for the
// kernel's.

// dataModel is what a layout depends on besides the members.
type dataModel struct {
	Ptr    uint32 // size and alignment of pointers and long: 4 on 32-bit targets
	Align8 uint32 // alignment of 8-byte integers: 4 on i386, else 8
}

// modelOf is the data model of the kernel spec describes: the size of its
// long, and i386's 4-byte alignment of 8-byte integers when the kernel is
// 32-bit and tracelet itself was built for 386 (it runs on the target).
func modelOf(spec *btf.Spec) dataModel {
	m := dataModel{Ptr: 8, Align8: 8}
	if spec != nil {
		m.Ptr = spec.PointerSize()
	} else if runtime.GOARCH == "386" || runtime.GOARCH == "arm" || runtime.GOARCH == "mips" || runtime.GOARCH == "mipsle" {
		m.Ptr = 4
	}
	if m.Ptr == 4 && runtime.GOARCH == "386" {
		m.Align8 = 4
	}
	return m
}

// cInt is an integer type: its size (0: a pointer's, for long) and sign.
type cInt struct {
	size   uint32
	signed bool
}

// namedInts are the integer typedefs scripts use without a header.
var namedInts = map[string]cInt{
	"u8": {1, false}, "u16": {2, false}, "u32": {4, false}, "u64": {8, false},
	"s8": {1, true}, "s16": {2, true}, "s32": {4, true}, "s64": {8, true},
	"__u8": {1, false}, "__u16": {2, false}, "__u32": {4, false}, "__u64": {8, false},
	"__s8": {1, true}, "__s16": {2, true}, "__s32": {4, true}, "__s64": {8, true},
	"uint8_t": {1, false}, "uint16_t": {2, false}, "uint32_t": {4, false}, "uint64_t": {8, false},
	"int8_t": {1, true}, "int16_t": {2, true}, "int32_t": {4, true}, "int64_t": {8, true},
	"__be16": {2, false}, "__be32": {4, false}, "__be64": {8, false},
	"__le16": {2, false}, "__le32": {4, false}, "__le64": {8, false},
	"bool": {1, false}, "_Bool": {1, false},
	"size_t": {0, false}, "ssize_t": {0, true}, "uintptr_t": {0, false}, "ptrdiff_t": {0, true},
	"pid_t": {4, true}, "uid_t": {4, false}, "gid_t": {4, false}, "dev_t": {4, false},
	"umode_t": {2, false}, "gfp_t": {4, false}, "off_t": {0, true}, "loff_t": {8, true},
	"time64_t": {8, true}, "ktime_t": {8, true}, "sector_t": {8, false}, "blkcnt_t": {8, false},
}

// parseCInt reads C's integer specifiers in any order ("long unsigned
// int", as BTF spells it, is "unsigned long"): its type and the canonical
// spelling, or false when the words are no integer type.
func parseCInt(words []string) (cInt, string, bool) {
	var signed, unsigned, char, short, integer, boolean bool
	long := 0
	for _, w := range words {
		switch w {
		case "signed":
			signed = true
		case "unsigned":
			unsigned = true
		case "char":
			char = true
		case "short":
			short = true
		case "int":
			integer = true
		case "long":
			long++
		case "_Bool":
			boolean = true
		default:
			return cInt{}, "", false
		}
	}
	if signed && unsigned || long > 2 || (char || boolean) && (short || long > 0 || integer) || short && long > 0 || char && boolean {
		return cInt{}, "", false
	}
	prefix := ""
	if unsigned {
		prefix = "unsigned "
	}
	switch {
	case boolean:
		if signed || unsigned {
			return cInt{}, "", false
		}
		return cInt{1, false}, "_Bool", true
	case char:
		if signed {
			prefix = "signed "
		}
		return cInt{1, !unsigned}, prefix + "char", true
	case short:
		return cInt{2, !unsigned}, prefix + "short", true
	case long == 1:
		return cInt{0, !unsigned}, prefix + "long", true
	case long == 2:
		return cInt{8, !unsigned}, prefix + "long long", true
	}
	if prefix == "" {
		return cInt{4, true}, "int", true
	}
	return cInt{4, false}, "unsigned int", true
}

// layout is a type of the script's BTF, with C's size and alignment.
type layout struct {
	id          btf.TypeID
	size, align uint32
}

// btfRec is one struct btf_type and what follows it, before encoding.
type btfRec struct {
	name     string
	info     uint32
	sizeType uint32
	tail     []uint32
	names    []string // a struct's member names: tail[3*i] is the name of member i
}

// structTypes builds the BTF of a script's definitions.
type structTypes struct {
	base   *btf.Spec
	model  dataModel
	recs   []btfRec
	first  btf.TypeID
	ints   map[string]btf.TypeID
	tags   map[string]int // "struct NAME" to index of its definition
	defs   []*StructDef
	done   []layout // the laid-out definitions; align 0 until laid out
	errorf func(Pos, string, ...any)
	depth  int
}

// layoutStructs lays out defs on top of base (nil: no kernel BTF) for
// model and returns the Spec that holds them and their IDs by "struct
// NAME" and "union NAME". A definition that fails is reported and left
// out; the Spec is nil only when there are no definitions.
func layoutStructs(defs []*StructDef, base *btf.Spec, model dataModel, errorf func(Pos, string, ...any)) (*btf.Spec, map[string]btf.TypeID) {
	if len(defs) == 0 {
		return nil, nil
	}
	b := &structTypes{base: base, model: model, ints: map[string]btf.TypeID{}, tags: map[string]int{}, errorf: errorf, first: 1}
	if base != nil {
		b.first = btf.TypeID(base.NumTypes())
	}
	// Every definition gets its ID first, so that a pointer may name a
	// struct defined later, or the one being defined.
	ids := map[string]btf.TypeID{}
	for _, d := range defs {
		tag := d.Keyword() + " " + d.Name
		if i, ok := b.tags[tag]; ok {
			errorf(d.Pos, "%s is defined twice: first at %s", tag, b.defs[i].Pos)
			continue
		}
		b.tags[tag] = len(b.defs)
		ids[tag] = b.first + btf.TypeID(len(b.recs))
		b.defs = append(b.defs, d)
		b.recs = append(b.recs, btfRec{})
	}
	b.done = make([]layout, len(b.defs))
	if base == nil {
		// PointerSize reads the size of long from the spec itself.
		b.intType(cInt{b.model.Ptr, true}, "long int")
	}
	for i, d := range b.defs {
		b.define(i, d)
	}
	var spec *btf.Spec
	var err error
	if base != nil {
		spec, err = btf.LoadSplitBytes(b.encode(), base)
	} else {
		spec, err = btf.LoadBytes(b.encode())
	}
	if err != nil {
		errorf(defs[0].Pos, "the script's struct definitions: %v", err) // an encoder bug
		return nil, nil
	}
	return spec, ids
}

func (b *structTypes) add(r btfRec) btf.TypeID {
	b.recs = append(b.recs, r)
	return b.first + btf.TypeID(len(b.recs)-1)
}

func info(k btf.Kind, vlen int, flag bool) uint32 {
	i := uint32(k)<<24 | uint32(vlen)
	if flag {
		i |= 1 << 31
	}
	return i
}

func (b *structTypes) intType(t cInt, name string) layout {
	size := t.size
	if size == 0 {
		size = b.model.Ptr
	}
	l := layout{size: size, align: b.alignInt(size)}
	key := fmt.Sprint(name, size, t.signed)
	if id, ok := b.ints[key]; ok {
		l.id = id
		return l
	}
	enc := uint32(0)
	if t.signed {
		enc = uint32(btf.BTF_INT_SIGNED)
	}
	l.id = b.add(btfRec{name: name, info: info(btf.BTF_KIND_INT, 0, false), sizeType: size, tail: []uint32{enc<<24 | size*8}})
	b.ints[key] = l.id
	return l
}

func (b *structTypes) alignInt(size uint32) uint32 {
	if size == 8 {
		return b.model.Align8
	}
	return max(size, 1)
}

// define lays out definition i, and any struct or union it defines in place.
func (b *structTypes) define(i int, d *StructDef) {
	l, rec, ok := b.body(d, b.first+btf.TypeID(i))
	if !ok {
		// Left out: a use of it fails as a struct with no members, and
		// its own error says why.
		rec = btfRec{name: d.Name, info: info(btf.BTF_KIND_STRUCT, 0, false)}
		if d.Union {
			rec.info = info(btf.BTF_KIND_UNION, 0, false)
		}
		l = layout{id: b.first + btf.TypeID(i), align: 1}
	}
	b.recs[i] = rec
	b.done[i] = l
}

// body lays out d's members into the record of type id.
func (b *structTypes) body(d *StructDef, id btf.TypeID) (layout, btfRec, bool) {
	kind := btf.BTF_KIND_STRUCT
	if d.Union {
		kind = btf.BTF_KIND_UNION
	}
	tag := strings.TrimSpace(d.Keyword() + " " + d.Name)
	var bit uint64 // next free bit
	var size uint64
	align := uint32(1)
	bitfields := false
	var tail []uint32
	var names []string
	seen := map[string]Pos{}
	ok := true
	for _, m := range d.Members {
		t, good := b.memberType(m, id)
		if !good {
			ok = false
			continue
		}
		if m.Name != "" {
			if p, dup := seen[m.Name]; dup {
				b.errorf(m.Pos, "%s has two members named %s: the first at %s", tag, m.Name, p)
				ok = false
				continue
			}
			seen[m.Name] = m.Pos
		}
		var off uint64
		width := uint64(0)
		if m.Bits != nil {
			w, isConst := foldConst(m.Bits)
			if !isConst {
				b.errorf(m.Bits.Position(), "the width of bitfield %s must be a constant", m.Name)
				ok = false
				continue
			}
			if k, _ := b.kindOf(t.id); k != btf.BTF_KIND_INT && k != btf.BTF_KIND_ENUM && k != btf.BTF_KIND_ENUM64 || m.Stars > 0 || len(m.Dims) > 0 {
				b.errorf(m.Pos, "bitfield %s is %s: only integer members can be bitfields", m.Name, typeText(m))
				ok = false
				continue
			}
			if w > uint64(t.size)*8 || w == 0 && m.Name != "" {
				b.errorf(m.Bits.Position(), "bitfield %s is %d bits wide: it must be from 1 to the %d bits of %s", m.Name, w, t.size*8, typeText(m))
				ok = false
				continue
			}
			width = w
			unit := uint64(t.align) * 8
			if d.Union {
				off = 0
			} else if w == 0 {
				bit = alignUp(bit, unit) // ":0" ends the unit
				continue
			} else {
				start := bit &^ (unit - 1)
				if bit+w > start+uint64(t.size)*8 {
					bit = alignUp(bit, unit)
				}
				off = bit
				bit += w
			}
			if m.Name == "" {
				continue // an unnamed bitfield only pads
			}
			bitfields = true
		} else {
			if d.Union {
				off = 0
			} else {
				off = alignUp(bit, uint64(t.align)*8)
				bit = off + uint64(t.size)*8
			}
		}
		end := off + width // a union's size covers its widest member
		if width == 0 {
			end = off + uint64(t.size)*8
		}
		size = max(size, alignUp(end, 8)/8)
		align = max(align, t.align)
		if off > 1<<32-1 {
			b.errorf(m.Pos, "%s is too large: member %s at bit %d", tag, m.Name, off)
			ok = false
			continue
		}
		tail = append(tail, 0, uint32(t.id), uint32(off)|uint32(width)<<24)
		names = append(names, m.Name)
	}
	if !d.Union {
		size = max(size, alignUp(bit, 8)/8)
	}
	size = alignUp(size, uint64(align))
	if size > 1<<31 {
		b.errorf(d.Pos, "%s is larger than 2 GiB", tag)
		return layout{}, btfRec{}, false
	}
	if bitfields && bit >= 1<<24 {
		// kind_flag's offsets have 24 bits.
		b.errorf(d.Pos, "%s has bitfields and is larger than 2 MiB", tag)
		return layout{}, btfRec{}, false
	}
	if !bitfields {
		// Without kind_flag, offset is the plain bit offset.
		for i := 2; i < len(tail); i += 3 {
			tail[i] &= 1<<24 - 1
		}
	}
	rec := btfRec{name: d.Name, info: info(kind, len(names), bitfields), sizeType: uint32(size), tail: tail, names: names}
	return layout{id: id, size: uint32(size), align: align}, rec, ok
}

func alignUp(n, a uint64) uint64 {
	if a <= 1 {
		return n
	}
	return (n + a - 1) / a * a
}

// memberType is the type of member m of the struct of type id: its
// pointers and arrays around its base type.
func (b *structTypes) memberType(m *MemberDecl, self btf.TypeID) (layout, bool) {
	var t layout
	switch {
	case m.Stars > 0:
		target, ok := b.pointee(m)
		if !ok {
			return layout{}, false
		}
		t = layout{id: target, size: b.model.Ptr, align: b.model.Ptr}
		for range m.Stars {
			t.id = b.add(btfRec{info: info(btf.BTF_KIND_PTR, 0, false), sizeType: uint32(t.id)})
		}
	default:
		var ok bool
		if t, ok = b.baseType(m, self); !ok {
			return layout{}, false
		}
	}
	for i := len(m.Dims) - 1; i >= 0; i-- {
		n, ok := foldConst(m.Dims[i])
		if !ok || n > 1<<31 {
			b.errorf(m.Dims[i].Position(), "the length of array %s must be a constant from 0 to 2^31", m.Name)
			return layout{}, false
		}
		if uint64(t.size)*n > 1<<31 {
			b.errorf(m.Dims[i].Position(), "array %s is larger than 2 GiB", m.Name)
			return layout{}, false
		}
		index := b.intType(cInt{4, false}, "unsigned int")
		t = layout{
			id:    b.add(btfRec{info: info(btf.BTF_KIND_ARRAY, 0, false), tail: []uint32{uint32(t.id), uint32(index.id), uint32(n)}}),
			size:  t.size * uint32(n),
			align: t.align,
		}
	}
	return t, true
}

// pointee is the type a pointer member points to: any type, complete or
// not; a struct unknown to the script and the kernel is a forward
// declaration, as C allows.
func (b *structTypes) pointee(m *MemberDecl) (btf.TypeID, bool) {
	if m.Inner != nil {
		t, ok := b.inner(m)
		return t.id, ok
	}
	if m.Type == "void" {
		return 0, true
	}
	if i, ok := b.tags[m.Type]; ok {
		return b.first + btf.TypeID(i), true
	}
	if t, ok := b.named(m); ok {
		return t.id, true
	}
	if kw, name, ok := strings.Cut(m.Type, " "); ok && (kw == "struct" || kw == "union") {
		return b.add(btfRec{name: name, info: info(btf.BTF_KIND_FWD, 0, kw == "union")}), true
	}
	b.unknown(m)
	return 0, false
}

// baseType is the type of a member that is not a pointer.
func (b *structTypes) baseType(m *MemberDecl, self btf.TypeID) (layout, bool) {
	if m.Inner != nil {
		return b.inner(m)
	}
	if i, ok := b.tags[m.Type]; ok {
		if b.first+btf.TypeID(i) == self || b.done[i].align == 0 {
			b.errorf(m.TypePos, "%s is not complete here: a member of it can only be a pointer to it (%s *%s)", m.Type, m.Type, m.Name)
			return layout{}, false
		}
		return b.done[i], true
	}
	if t, ok := b.named(m); ok {
		if t.align == 0 {
			b.errorf(m.TypePos, "%s has no size: declare %s as a pointer", m.Type, m.Name)
			return layout{}, false
		}
		return t, true
	}
	b.unknown(m)
	return layout{}, false
}

// inner lays out a struct or union defined in place.
func (b *structTypes) inner(m *MemberDecl) (layout, bool) {
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > 16 {
		b.errorf(m.TypePos, "struct definitions nest too deep")
		return layout{}, false
	}
	i := len(b.recs)
	b.recs = append(b.recs, btfRec{})
	id := b.first + btf.TypeID(i)
	l, rec, ok := b.body(m.Inner, id)
	b.recs[i] = rec
	return l, ok
}

// named finds an integer type by its C spelling, or a type of the
// kernel's BTF.
func (b *structTypes) named(m *MemberDecl) (layout, bool) {
	if m.Type == "void" {
		return layout{}, false
	}
	if t, ok := namedInts[m.Type]; ok {
		return b.intType(t, m.Type), true
	}
	if t, name, ok := parseCInt(strings.Fields(m.Type)); ok {
		return b.intType(t, name), true
	}
	if strings.HasPrefix(m.Type, "enum ") && (b.base == nil || !b.hasKernelType(m.Type)) {
		return b.intType(cInt{4, false}, "unsigned int"), true // C's enums are ints
	}
	if b.base == nil {
		return layout{}, false
	}
	id, err := namedType(b.base, m.Type)
	if err != nil {
		return layout{}, false
	}
	size, err := b.base.Sizeof(id)
	if err != nil {
		return layout{id: id}, true // incomplete: fine behind a pointer
	}
	return layout{id: id, size: size, align: b.alignOf(id, 0)}, true
}

func (b *structTypes) hasKernelType(name string) bool {
	_, err := namedType(b.base, name)
	return err == nil
}

func (b *structTypes) unknown(m *MemberDecl) {
	if b.base == nil {
		b.errorf(m.TypePos, "unknown type %s for member %s: define it earlier in the script, use an integer type (int, unsigned long, u32, ...), or give the kernel's BTF with --btf FILE", m.Type, m.Name)
		return
	}
	b.errorf(m.TypePos, "unknown type %s for member %s: it is neither defined earlier in the script, nor an integer type (int, unsigned long, u32, ...), nor in the kernel's BTF", m.Type, m.Name)
}

func (b *structTypes) kindOf(id btf.TypeID) (btf.Kind, bool) {
	if id >= b.first {
		i := int(id - b.first)
		if i < len(b.recs) {
			return btf.Kind(b.recs[i].info >> 24 & 0x1f), true
		}
		return 0, false
	}
	if b.base == nil {
		return 0, false
	}
	return b.base.Kind(b.base.Resolve(id)), true
}

// alignOf is the alignment of kernel type id, which BTF does not record:
// an integer's or pointer's own, the largest of a struct's members, or 1
// for a packed struct (one whose size or member offsets do not fit its
// members' alignment), as libbpf's btf__align_of reckons it.
func (b *structTypes) alignOf(id btf.TypeID, depth int) uint32 {
	if depth > 32 {
		return 1
	}
	s := b.base
	t, err := s.Type(s.Resolve(id))
	if err != nil {
		return 1
	}
	switch t.Kind {
	case btf.BTF_KIND_INT, btf.BTF_KIND_ENUM, btf.BTF_KIND_ENUM64, btf.BTF_KIND_FLOAT:
		return b.alignInt(min(t.Size, 8))
	case btf.BTF_KIND_PTR:
		return b.model.Ptr
	case btf.BTF_KIND_ARRAY:
		return b.alignOf(t.Array.Type, depth+1)
	case btf.BTF_KIND_STRUCT, btf.BTF_KIND_UNION:
		a := uint32(1)
		for _, m := range t.Members {
			ma := b.alignOf(m.Type, depth+1)
			if m.BitfieldSize == 0 && m.BitOffset%(8*ma) != 0 {
				return 1
			}
			a = max(a, ma)
		}
		if t.Size%a != 0 {
			return 1
		}
		return a
	}
	return 1
}

// encode writes the records as raw BTF, split on top of base when there is
// one, in base's byte order.
func (b *structTypes) encode() []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	strBase := uint32(0)
	if b.base != nil {
		if b.base.ByteOrder == binary.ByteOrder(binary.BigEndian) {
			bo = binary.BigEndian
		}
		strBase = b.base.NextStringOffset()
	}
	strs := []byte{0}
	at := map[string]uint32{"": 0}
	str := func(s string) uint32 {
		if off, ok := at[s]; ok {
			if s == "" && b.base != nil {
				return 0
			}
			return off
		}
		off := strBase + uint32(len(strs))
		at[s] = off
		strs = append(append(strs, s...), 0)
		return off
	}
	var types []byte
	u32 := func(v uint32) { types = bo.AppendUint32(types, v) }
	for _, r := range b.recs {
		u32(str(r.name))
		u32(r.info)
		u32(r.sizeType)
		for i, w := range r.tail {
			if r.names != nil && i%3 == 0 {
				w = str(r.names[i/3])
			}
			u32(w)
		}
	}
	const hdrLen = 24
	h := make([]byte, 0, hdrLen+len(types)+len(strs))
	h = bo.AppendUint16(h, 0xeB9F)
	h = append(h, 1, 0)
	h = bo.AppendUint32(h, hdrLen)
	h = bo.AppendUint32(h, 0)
	h = bo.AppendUint32(h, uint32(len(types)))
	h = bo.AppendUint32(h, uint32(len(types)))
	h = bo.AppendUint32(h, uint32(len(strs)))
	return append(append(h, types...), strs...)
}
