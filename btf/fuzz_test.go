package btf

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz from the fixture")

// exercise calls everything a tracer would on s, to find panics and loops.
// It stops after limit types, so that a fuzzed blob of many small types
// stays quick.
func exercise(s *Spec, limit int) {
	n := min(s.NumTypes()+2, limit)
	for id := TypeID(0); id < TypeID(n); id++ {
		t, err := s.Type(id)
		_ = s.TypeString(id)
		_, _ = s.Sizeof(id)
		_ = s.Resolve(id)
		_ = s.Name(id)
		if err != nil {
			continue
		}
		switch t.Kind {
		case BTF_KIND_STRUCT, BTF_KIND_UNION:
			for _, m := range t.Members {
				_, _ = s.Member(id, m.Name)
				_, _ = s.Member(id, m.Name+"[1].x")
			}
			_, _ = s.Member(id, "nope.x")
		case BTF_KIND_FUNC:
			_, _ = s.FuncProto(t.Name)
		case BTF_KIND_TYPEDEF:
			if len(t.Name) > len(TracepointPrefix) {
				_, _ = s.TracepointArgs(t.Name[len(TracepointPrefix):])
			}
		case BTF_KIND_ENUM, BTF_KIND_ENUM64:
			for _, v := range t.Values {
				_, _ = s.EnumConstant(v.Name)
			}
		}
		if t.Name != "" {
			for range s.TypesByName(t.Name) {
			}
			_, _ = s.TypeByName(t.Name, t.Kind)
		}
	}
	_, _ = s.TypeByName("task_struct", BTF_KIND_STRUCT)
	_ = s.PointerSize()
}

func FuzzLoad(f *testing.F) {
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		f.Add(buildMini(bo).bytes())
	}
	base := buildMini(binary.LittleEndian).b.bytes()
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := LoadBytes(data); err == nil {
			exercise(s, 2000)
		}
		if _, err := LoadRaw(bytes.NewReader(data)); err != nil {
			_ = err.Error()
		}
		if s, err := loadData(data, nil); err == nil {
			exercise(s, 200)
		}
		b, err := LoadBytes(base)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := LoadSplitBytes(data, b); err == nil {
			exercise(s, 2000)
		}
	})
}

// TestCorrupt loads every prefix of a spec and specs with each byte of
// their types changed: none may panic, and all must load or fail cleanly.
func TestCorrupt(t *testing.T) {
	good := buildMini(binary.LittleEndian).bytes()
	for n := range len(good) {
		if s, err := LoadBytes(good[:n]); err == nil {
			exercise(s, 1000)
		}
	}
	for i := headerLen; i < len(good); i++ {
		for _, v := range []byte{0, 0x1f, 0x80, 0xff} {
			data := bytes.Clone(good)
			data[i] = v
			if s, err := LoadBytes(data); err == nil {
				exercise(s, 1000)
			}
		}
	}
}

// TestSelfReference checks that types referring to themselves end, in
// every walk that follows references.
func TestSelfReference(t *testing.T) {
	b := newBuilder(binary.LittleEndian)
	td := b.Ref(BTF_KIND_TYPEDEF, "loop", 1)                                         // typedef loop loop
	st := b.Struct(BTF_KIND_STRUCT, "s", 4, false, bm{"", 2, 0, 0}, bm{"", 2, 0, 0}) // anonymous members: itself
	pr := b.Proto(4, Param{"a", 4}, Param{"b", 4})                                   // params: pointer to itself
	_ = b.Ref(BTF_KIND_PTR, "", pr)
	arr := b.Array(5, 1, 1<<31) // array of itself
	s := b.load(t)
	exercise(s, 100)
	if s.Resolve(td) != td {
		t.Error("Resolve of a typedef cycle")
	}
	if _, err := s.Member(st, "x"); err == nil {
		t.Error("member of a self-containing struct")
	}
	if _, err := s.Sizeof(arr); err == nil {
		t.Error("sizeof an array of itself")
	}
}

// TestFuzzCorpus keeps the seed corpus: small real blobs cut from the
// fixture (its first types, each re-encoded with the strings it uses).
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if !*update {
		if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) == 0 {
			t.Errorf("no seed corpus in %s: run go test -run FuzzCorpus -update", dir)
		}
		return
	}
	data, err := fixtureData()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		first TypeID
		n     int
	}{{"vmlinux-first-150", 1, 150}, {"vmlinux-funcs", 75520, 40}, {"vmlinux-tail", TypeID(s.NumTypes() - 30), 30}} {
		blob := reencode(t, s, c.first, c.n)
		if _, err := LoadBytes(blob); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", blob)
		if err := os.WriteFile(filepath.Join(dir, c.name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// reencode writes n types of s from first as a spec of their own; their
// references keep their IDs, so some dangle, as in a fuzzer's input.
func reencode(t *testing.T, s *Spec, first TypeID, n int) []byte {
	b := newBuilder(binary.LittleEndian)
	for id := first; id < first+TypeID(n) && int(id) < s.NumTypes(); id++ {
		typ, err := s.Type(id)
		if err != nil {
			t.Fatal(err)
		}
		switch typ.Kind {
		case BTF_KIND_INT:
			b.typ(typ.Name, typ.Kind, false, 0, typ.Size)
			b.u32(uint32(typ.Int.Encoding)<<24 | uint32(typ.Int.Offset)<<16 | uint32(typ.Int.Bits))
		case BTF_KIND_ARRAY:
			b.Array(typ.Array.Type, typ.Array.IndexType, typ.Array.Nelems)
		case BTF_KIND_STRUCT, BTF_KIND_UNION:
			var ms []bm
			for _, m := range typ.Members {
				ms = append(ms, bm{m.Name, m.Type, m.BitOffset, m.BitfieldSize})
			}
			b.Struct(typ.Kind, typ.Name, typ.Size, typ.KindFlag, ms...)
		case BTF_KIND_ENUM:
			b.Enum(typ.Name, typ.Size, typ.KindFlag, typ.Values...)
		case BTF_KIND_ENUM64:
			b.Enum64(typ.Name, typ.KindFlag, typ.Values...)
		case BTF_KIND_FUNC_PROTO:
			b.Proto(typ.Type, typ.Params...)
		case BTF_KIND_FUNC:
			b.Func(typ.Name, typ.Type, typ.Linkage)
		case BTF_KIND_VAR:
			b.Var(typ.Name, typ.Type, typ.Linkage)
		case BTF_KIND_DATASEC:
			b.Datasec(typ.Name, typ.Size, typ.Vars...)
		case BTF_KIND_DECL_TAG:
			b.DeclTag(typ.Name, typ.Type, typ.ComponentIdx)
		case BTF_KIND_FLOAT:
			b.typ(typ.Name, typ.Kind, false, 0, typ.Size)
		default:
			b.typ(typ.Name, typ.Kind, typ.KindFlag, 0, uint32(typ.Type))
		}
	}
	return b.bytes()
}

// FuzzMemberPath feeds member paths, with their dots and indexes, to
// Member on a struct with anonymous members, arrays and bitfields.
func FuzzMemberPath(f *testing.F) {
	for _, p := range []string{"comm", "comm[3]", "real_parent", "flag_b", "i_nlink", "deep", "a.b[1][2]", "comm[0x2]", ".", "comm[", "[1]"} {
		f.Add(p)
	}
	m := buildMini(binary.LittleEndian)
	s, err := LoadBytes(m.bytes())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		for _, id := range []TypeID{m.task, m.inode, m.legacy, m.charArr} {
			fld, err := s.Member(id, path)
			if err != nil {
				continue
			}
			if fld.Offset != fld.BitOffset/8 || fld.BitOffset >= 8*1024 {
				t.Errorf("%q in %d: %+v", path, id, fld)
			}
		}
	})
}
