package btf

import (
	"encoding/binary"
	"testing"
)

// builder encodes BTF for tests: the package only reads it.
type builder struct {
	bo    binary.AppendByteOrder
	types []byte
	strs  []byte
	strAt map[string]uint32
	base  *builder // for split BTF: string offsets continue the base's
	next  TypeID
}

func newBuilder(bo binary.AppendByteOrder) *builder {
	return &builder{bo: bo, strs: []byte{0}, strAt: map[string]uint32{"": 0}, next: 1}
}

// split starts split BTF on top of b.
func (b *builder) split() *builder {
	return &builder{bo: b.bo, strs: []byte{0}, strAt: map[string]uint32{"": 0}, base: b, next: b.next}
}

func (b *builder) str(s string) uint32 {
	if b.base != nil {
		if off, ok := b.base.strAt[s]; ok && s != "" {
			return off
		}
	}
	if off, ok := b.strAt[s]; ok {
		return off
	}
	off := uint32(len(b.strs))
	if b.base != nil {
		off += uint32(len(b.base.strs))
	}
	b.strAt[s] = off
	b.strs = append(append(b.strs, s...), 0)
	return off
}

func (b *builder) u32(v ...uint32) {
	for _, x := range v {
		b.types = b.bo.AppendUint32(b.types, x)
	}
}

// typ appends struct btf_type and returns the new type's ID.
func (b *builder) typ(name string, k Kind, flag bool, vlen int, sizeType uint32) TypeID {
	info := uint32(k)<<24 | uint32(vlen)
	if flag {
		info |= 1 << 31
	}
	b.u32(b.str(name), info, sizeType)
	id := b.next
	b.next++
	return id
}

func (b *builder) Int(name string, size uint32, enc IntEncoding, bits uint8) TypeID {
	id := b.typ(name, BTF_KIND_INT, false, 0, size)
	b.u32(uint32(enc)<<24 | uint32(bits))
	return id
}

func (b *builder) Ref(k Kind, name string, to TypeID) TypeID {
	return b.typ(name, k, false, 0, uint32(to))
}

func (b *builder) Array(elem, index TypeID, n uint32) TypeID {
	id := b.typ("", BTF_KIND_ARRAY, false, 0, 0)
	b.u32(uint32(elem), uint32(index), n)
	return id
}

type bm struct {
	name     string
	typ      TypeID
	bitOff   uint32
	bitfield uint32
}

func (b *builder) Struct(k Kind, name string, size uint32, bitfields bool, ms ...bm) TypeID {
	id := b.typ(name, k, bitfields, len(ms), size)
	for _, m := range ms {
		off := m.bitOff
		if bitfields {
			off |= m.bitfield << 24
		}
		b.u32(b.str(m.name), uint32(m.typ), off)
	}
	return id
}

func (b *builder) Enum(name string, size uint32, signed bool, vals ...EnumValue) TypeID {
	id := b.typ(name, BTF_KIND_ENUM, signed, len(vals), size)
	for _, v := range vals {
		b.u32(b.str(v.Name), uint32(v.Value))
	}
	return id
}

func (b *builder) Enum64(name string, signed bool, vals ...EnumValue) TypeID {
	id := b.typ(name, BTF_KIND_ENUM64, signed, len(vals), 8)
	for _, v := range vals {
		b.u32(b.str(v.Name), uint32(v.Value), uint32(v.Value>>32))
	}
	return id
}

func (b *builder) Proto(ret TypeID, ps ...Param) TypeID {
	id := b.typ("", BTF_KIND_FUNC_PROTO, false, len(ps), uint32(ret))
	for _, p := range ps {
		b.u32(b.str(p.Name), uint32(p.Type))
	}
	return id
}

func (b *builder) Func(name string, proto TypeID, l Linkage) TypeID {
	return b.typ(name, BTF_KIND_FUNC, false, int(l), uint32(proto))
}

func (b *builder) Var(name string, typ TypeID, l Linkage) TypeID {
	id := b.typ(name, BTF_KIND_VAR, false, 0, uint32(typ))
	b.u32(uint32(l))
	return id
}

func (b *builder) Datasec(name string, size uint32, vs ...VarSecinfo) TypeID {
	id := b.typ(name, BTF_KIND_DATASEC, false, len(vs), size)
	for _, v := range vs {
		b.u32(uint32(v.Type), v.Offset, v.Size)
	}
	return id
}

func (b *builder) DeclTag(name string, to TypeID, idx int32) TypeID {
	id := b.typ(name, BTF_KIND_DECL_TAG, false, 0, uint32(to))
	b.u32(uint32(idx))
	return id
}

// bytes returns the raw BTF: header, types, strings.
func (b *builder) bytes() []byte {
	var out []byte
	out = b.bo.AppendUint16(out, BTF_MAGIC)
	out = append(out, BTF_VERSION, 0)
	out = b.bo.AppendUint32(out, headerLen)
	out = b.bo.AppendUint32(out, 0)
	out = b.bo.AppendUint32(out, uint32(len(b.types)))
	out = b.bo.AppendUint32(out, uint32(len(b.types)))
	out = b.bo.AppendUint32(out, uint32(len(b.strs)))
	out = append(out, b.types...)
	return append(out, b.strs...)
}

func (b *builder) load(t testing.TB) *Spec {
	t.Helper()
	s, err := LoadBytes(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
