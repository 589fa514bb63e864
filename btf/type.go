package btf

import "fmt"

// Type is one decoded type: struct btf_type and the data that follows it
// for its kind. Fields that do not apply to the kind are zero.
type Type struct {
	ID       TypeID
	Kind     Kind
	Name     string
	KindFlag bool // BTF_KIND_STRUCT, UNION: bitfield members; ENUM, ENUM64: signed; FWD: union

	// Size in bytes of an INT, ENUM, ENUM64, STRUCT, UNION, DATASEC or FLOAT.
	Size uint32
	// Type is what a PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG,
	// FUNC (its FUNC_PROTO), VAR or DECL_TAG refers to, and a
	// FUNC_PROTO's return type.
	Type TypeID

	Int          Int          // BTF_KIND_INT
	Array        Array        // BTF_KIND_ARRAY
	Members      []Member     // BTF_KIND_STRUCT, BTF_KIND_UNION
	Values       []EnumValue  // BTF_KIND_ENUM, BTF_KIND_ENUM64
	Params       []Param      // BTF_KIND_FUNC_PROTO
	Vars         []VarSecinfo // BTF_KIND_DATASEC
	Linkage      Linkage      // BTF_KIND_FUNC, BTF_KIND_VAR
	ComponentIdx int32        // BTF_KIND_DECL_TAG: -1 for the type itself, else a member or parameter index
}

// Int is the word that follows a BTF_KIND_INT.
type Int struct {
	Encoding IntEncoding
	Offset   uint8 // bit offset of the value within the type's bytes
	Bits     uint8 // bits in the value
}

// Array is struct btf_array.
type Array struct {
	Type      TypeID // element type
	IndexType TypeID
	Nelems    uint32
}

// Member is struct btf_member, decoded: BitOffset and BitfieldSize are
// split out of offset when the struct's kind_flag is set.
type Member struct {
	Name         string
	Type         TypeID
	BitOffset    uint32 // from the start of the struct or union
	BitfieldSize uint32 // 0 unless a bitfield
}

// EnumValue is struct btf_enum or struct btf_enum64; Value holds the bits,
// to be read as int64 when the enum is signed.
type EnumValue struct {
	Name  string
	Value uint64
}

// Param is struct btf_param. A last parameter with no name and type void
// marks a variadic function.
type Param struct {
	Name string
	Type TypeID
}

// VarSecinfo is struct btf_var_secinfo.
type VarSecinfo struct {
	Type   TypeID // a VAR or FUNC
	Offset uint32
	Size   uint32
}

// Signed reports whether an INT is signed, or an ENUM or ENUM64 has signed
// values.
func (t *Type) Signed() bool {
	switch t.Kind {
	case BTF_KIND_INT:
		return t.Int.Encoding&BTF_INT_SIGNED != 0
	case BTF_KIND_ENUM, BTF_KIND_ENUM64:
		return t.KindFlag
	}
	return false
}

// Variadic reports whether a FUNC_PROTO takes a variable argument list.
func (t *Type) Variadic() bool {
	n := len(t.Params)
	return t.Kind == BTF_KIND_FUNC_PROTO && n > 0 && t.Params[n-1] == Param{}
}

// Type decodes type id. Void (ID 0) decodes as a Type of kind
// BTF_KIND_UNKN. Strings are copied, so the Type outlives the Spec.
func (s *Spec) Type(id TypeID) (*Type, error) {
	t := &Type{ID: id}
	if id == 0 {
		return t, nil
	}
	o, rec := s.record(id)
	if o == nil {
		return nil, fmt.Errorf("btf: type ID %d: %w", id, ErrNotFound)
	}
	info := o.info(rec)
	t.Kind = kindOf(info)
	t.Name = string(o.name(rec))
	t.KindFlag = kindFlag(info)
	sizeType := o.u32(rec[8:])
	n := vlenOf(info)
	data := rec[typeLen:] // recordLen checked that it holds what the kind needs
	switch t.Kind {
	case BTF_KIND_INT:
		t.Size = sizeType
		w := o.u32(data)
		t.Int = Int{Encoding: IntEncoding(w >> 24 & 0xf), Offset: uint8(w >> 16), Bits: uint8(w)}
	case BTF_KIND_PTR, BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG:
		t.Type = TypeID(sizeType)
	case BTF_KIND_FWD:
	case BTF_KIND_FUNC:
		t.Type = TypeID(sizeType)
		t.Linkage = Linkage(n)
	case BTF_KIND_VAR:
		t.Type = TypeID(sizeType)
		t.Linkage = Linkage(o.u32(data))
	case BTF_KIND_DECL_TAG:
		t.Type = TypeID(sizeType)
		t.ComponentIdx = int32(o.u32(data))
	case BTF_KIND_FLOAT:
		t.Size = sizeType
	case BTF_KIND_ARRAY:
		t.Array = Array{Type: TypeID(o.u32(data)), IndexType: TypeID(o.u32(data[4:])), Nelems: o.u32(data[8:])}
	case BTF_KIND_STRUCT, BTF_KIND_UNION:
		t.Size = sizeType
		t.Members = make([]Member, n)
		for i := range t.Members {
			t.Members[i] = o.member(data[12*i:], t.KindFlag)
			t.Members[i].Name = string(o.name(data[12*i:]))
		}
	case BTF_KIND_ENUM:
		t.Size = sizeType
		t.Values = make([]EnumValue, n)
		for i := range t.Values {
			v := uint64(o.u32(data[8*i+4:]))
			if t.KindFlag {
				v = uint64(int64(int32(v)))
			}
			t.Values[i] = EnumValue{Name: string(o.name(data[8*i:])), Value: v}
		}
	case BTF_KIND_ENUM64:
		t.Size = sizeType
		t.Values = make([]EnumValue, n)
		for i := range t.Values {
			e := data[12*i:]
			t.Values[i] = EnumValue{Name: string(o.name(e)), Value: uint64(o.u32(e[8:]))<<32 | uint64(o.u32(e[4:]))}
		}
	case BTF_KIND_FUNC_PROTO:
		t.Type = TypeID(sizeType)
		t.Params = make([]Param, n)
		for i := range t.Params {
			t.Params[i] = Param{Name: string(o.name(data[8*i:])), Type: TypeID(o.u32(data[8*i+4:]))}
		}
	case BTF_KIND_DATASEC:
		t.Size = sizeType
		t.Vars = make([]VarSecinfo, n)
		for i := range t.Vars {
			v := data[12*i:]
			t.Vars[i] = VarSecinfo{Type: TypeID(o.u32(v)), Offset: o.u32(v[4:]), Size: o.u32(v[8:])}
		}
	}
	return t, nil
}

// member decodes struct btf_member at m, all but the name.
func (s *Spec) member(m []byte, bitfields bool) Member {
	off := s.u32(m[8:])
	mb := Member{Type: TypeID(s.u32(m[4:])), BitOffset: off}
	if bitfields {
		mb.BitOffset, mb.BitfieldSize = off&0xffffff, off>>24
	}
	return mb
}
