package btf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxDepth bounds every walk along type references, so that a corrupt spec
// with a cycle ends in an error instead of a loop. Real chains of typedefs,
// qualifiers and anonymous members are a few links long.
const maxDepth = 64

var errCycle = errors.New("type references nest too deep (a cycle?)")

// Resolve follows typedefs, qualifiers (const, volatile, restrict) and type
// tags from id to the type they name. It returns void for void, and id
// itself when the chain is broken or too long.
func (s *Spec) Resolve(id TypeID) TypeID {
	start := id
	for range maxDepth {
		o, rec := s.record(id)
		if o == nil {
			return id
		}
		switch kindOf(o.info(rec)) {
		case BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG:
			id = TypeID(o.u32(rec[8:]))
		default:
			return id
		}
	}
	return start
}

// Sizeof returns the size in bytes of an object of type id. Void,
// functions and forward declarations have none.
func (s *Spec) Sizeof(id TypeID) (uint32, error) {
	mul := uint64(1)
	for range maxDepth {
		o, rec := s.record(id)
		if o == nil {
			return 0, fmt.Errorf("btf: sizeof type ID %d: no such type (or void)", id)
		}
		info := o.info(rec)
		switch k := kindOf(info); k {
		case BTF_KIND_INT, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_DATASEC:
			n := mul * uint64(o.u32(rec[8:]))
			if n > 1<<32-1 {
				return 0, fmt.Errorf("btf: sizeof type ID %d: larger than 4 GiB", id)
			}
			return uint32(n), nil
		case BTF_KIND_PTR:
			return uint32(mul) * s.PointerSize(), nil
		case BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG, BTF_KIND_VAR:
			id = TypeID(o.u32(rec[8:]))
		case BTF_KIND_ARRAY:
			mul *= uint64(o.u32(rec[typeLen+8:]))
			if mul > 1<<32-1 {
				return 0, fmt.Errorf("btf: sizeof type ID %d: larger than 4 GiB", id)
			}
			id = TypeID(o.u32(rec[typeLen:]))
		default:
			return 0, fmt.Errorf("btf: sizeof %s (type ID %d): no size", k, id)
		}
	}
	return 0, fmt.Errorf("btf: sizeof type ID %d: %w", id, errCycle)
}

// PointerSize is the size of a pointer on the spec's machine. BTF does not
// record it; like libbpf, it is taken to be the size of "long", and 8 when
// there is no such int.
func (s *Spec) PointerSize() uint32 {
	for s.base != nil {
		s = s.base
	}
	s.ptrOnce.Do(s.guessPointerSize)
	return s.ptrSize
}

func (s *Spec) guessPointerSize() {
	size := uint32(8)
	for _, name := range []string{"long int", "long unsigned int", "unsigned long"} {
		if id, err := s.TypeByName(name, BTF_KIND_INT); err == nil {
			if n, err := s.Sizeof(id); err == nil && (n == 4 || n == 8) {
				size = n
				break
			}
		}
	}
	s.ptrSize = size
}

// Field is a member reached from a struct or union by a path of member
// names.
type Field struct {
	Type         TypeID // the member's type as declared (see Resolve)
	Offset       uint32 // bytes from the start of the outer type; for a bitfield, BitOffset/8
	BitOffset    uint32 // bits from the start of the outer type
	BitfieldSize uint32 // 0 unless the member is a bitfield
}

// Member finds a member of struct or union id (or a typedef of one) by a
// path of names joined by dots, such as "f_path.dentry", each optionally
// indexed as an array, "comm[0]". Members of anonymous structs and unions
// are found as C finds them: "i_nlink" in struct inode lies in an
// anonymous union. A path does not cross pointers: it stops with an error
// at a member that needs a dereference, which is the caller's to emit.
func (s *Spec) Member(id TypeID, path string) (Field, error) {
	var f Field
	f.Type = id
	rest := path
	for rest != "" {
		var elem string
		elem, rest, _ = strings.Cut(rest, ".")
		name, idx, err := splitIndex(elem)
		if err != nil {
			return Field{}, &LookupError{Name: path, Err: err}
		}
		outer := s.Resolve(f.Type)
		if k := s.Kind(outer); k != BTF_KIND_STRUCT && k != BTF_KIND_UNION {
			return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%q: not a member of a struct or union but of %s", name, s.TypeString(f.Type))}
		}
		if f.BitfieldSize != 0 {
			return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%q: member of a bitfield", name)}
		}
		budget := maxMembersVisited
		m, ok, err := s.findMember(outer, name, 0, &budget)
		if err != nil {
			return Field{}, &LookupError{Name: path, Err: err}
		}
		if !ok {
			return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%s has no member %q: %w", s.TypeString(outer), name, ErrNotFound)}
		}
		f.Type = m.Type
		f.BitOffset += m.BitOffset
		f.BitfieldSize = m.BitfieldSize
		for _, i := range idx {
			arr := s.Resolve(f.Type)
			t, err := s.Type(arr)
			if err != nil || t.Kind != BTF_KIND_ARRAY {
				return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%q: indexing %s, not an array", name, s.TypeString(f.Type))}
			}
			if i >= t.Array.Nelems && t.Array.Nelems != 0 {
				return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%q: index %d beyond %d elements", name, i, t.Array.Nelems)}
			}
			size, err := s.Sizeof(t.Array.Type)
			if err != nil {
				return Field{}, &LookupError{Name: path, Err: err}
			}
			bits := uint64(f.BitOffset) + 8*uint64(i)*uint64(size)
			if bits > 1<<32-1 {
				return Field{}, &LookupError{Name: path, Err: fmt.Errorf("%q: offset beyond 512 MiB", name)}
			}
			f.BitOffset = uint32(bits)
			f.Type = t.Array.Type
		}
	}
	if path == "" {
		return Field{}, &LookupError{Name: path, Err: errors.New("empty member path")}
	}
	f.Offset = f.BitOffset / 8
	return f, nil
}

// splitIndex splits "name[1][2]" into the name and its indexes, without
// allocating for a name without any.
func splitIndex(elem string) (string, []uint32, error) {
	i := strings.IndexByte(elem, '[')
	if i < 0 {
		return elem, nil, nil
	}
	name, rest := elem[:i], elem[i:]
	var idx []uint32
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return "", nil, fmt.Errorf("bad index in %q", elem)
		}
		n, err := strconv.ParseUint(rest[1:end], 0, 32)
		if err != nil {
			return "", nil, fmt.Errorf("bad index in %q", elem)
		}
		idx = append(idx, uint32(n))
		rest = rest[end+1:]
	}
	return name, idx, nil
}

// maxMembersVisited bounds the members one lookup reads, so that anonymous
// members that contain themselves cannot make a lookup run for ages.
const maxMembersVisited = 1 << 16

// findMember looks for name among the members of struct or union id,
// descending into anonymous struct and union members in declaration order.
func (s *Spec) findMember(id TypeID, name string, depth int, budget *int) (Member, bool, error) {
	if depth >= maxDepth || *budget < 0 {
		return Member{}, false, errCycle
	}
	o, rec := s.record(id)
	if o == nil {
		return Member{}, false, nil
	}
	info := o.info(rec)
	bitfields := kindFlag(info)
	data := rec[typeLen:]
	for i := range vlenOf(info) {
		*budget--
		mrec := data[12*i:]
		mname := o.name(mrec)
		if string(mname) == name {
			m := o.member(mrec, bitfields)
			if !bitfields {
				s.legacyBitfield(&m)
			}
			return m, true, nil
		}
		if len(mname) != 0 {
			continue
		}
		m := o.member(mrec, bitfields)
		inner := s.Resolve(m.Type)
		if k := s.Kind(inner); k != BTF_KIND_STRUCT && k != BTF_KIND_UNION {
			continue
		}
		found, ok, err := s.findMember(inner, name, depth+1, budget)
		if err != nil {
			return Member{}, false, err
		}
		if ok {
			found.BitOffset += m.BitOffset
			return found, true, nil
		}
	}
	return Member{}, false, nil
}

// legacyBitfield reads a bitfield that predates kind_flag: an int member
// whose INT type itself says it uses fewer bits than its size.
func (s *Spec) legacyBitfield(m *Member) {
	o, rec := s.record(m.Type)
	if o == nil || kindOf(o.info(rec)) != BTF_KIND_INT {
		return
	}
	w := o.u32(rec[typeLen:])
	bits, off := w&0xff, w>>16&0xff
	if bits != 8*o.u32(rec[8:]) || off != 0 {
		m.BitOffset += off
		m.BitfieldSize = bits
	}
}

// Target returns what type id refers to, without decoding it: a PTR's
// pointee, an ARRAY's element, what a TYPEDEF, qualifier or TYPE_TAG
// names, a FUNC's FUNC_PROTO, a FUNC_PROTO's return type, a VAR's or
// DECL_TAG's type. It returns void for other kinds, and for void.
func (s *Spec) Target(id TypeID) TypeID {
	o, rec := s.record(id)
	if o == nil {
		return 0
	}
	switch kindOf(o.info(rec)) {
	case BTF_KIND_PTR, BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT,
		BTF_KIND_TYPE_TAG, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_VAR, BTF_KIND_DECL_TAG:
		return TypeID(o.u32(rec[8:]))
	case BTF_KIND_ARRAY:
		return TypeID(o.u32(rec[typeLen:]))
	}
	return 0
}

// Signed reports whether values of type id, typedefs and qualifiers
// resolved, are signed: a signed INT, or an ENUM or ENUM64 whose kind_flag
// says so.
func (s *Spec) Signed(id TypeID) bool {
	o, rec := s.record(s.Resolve(id))
	if o == nil {
		return false
	}
	info := o.info(rec)
	switch kindOf(info) {
	case BTF_KIND_INT:
		return IntEncoding(o.u32(rec[typeLen:])>>24)&BTF_INT_SIGNED != 0
	case BTF_KIND_ENUM, BTF_KIND_ENUM64:
		return kindFlag(info)
	}
	return false
}
