package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mini is a hand-built spec with every kind, shaped after the kernel types
// that scripts use.
type mini struct {
	b                                          *builder
	int_, uint, char, long, boolT, u32, double TypeID
	task, taskPtr, inode, legacy, filename     TypeID
	enum, enum64, fwdStruct, fwdUnion          TypeID
	unlinkProto, unlink, printk, traceProto    TypeID
	traceTD, variable, datasec, tag, userPtr   TypeID
	restrictPtr, constChar, charArr, fnPtr     TypeID
}

func buildMini(bo binary.AppendByteOrder) *mini {
	m := &mini{b: newBuilder(bo)}
	b := m.b
	m.int_ = b.Int("int", 4, BTF_INT_SIGNED, 32)
	m.uint = b.Int("unsigned int", 4, 0, 32)
	m.char = b.Int("char", 1, BTF_INT_SIGNED|BTF_INT_CHAR, 8)
	m.long = b.Int("long int", 8, BTF_INT_SIGNED, 64)
	m.boolT = b.Int("_Bool", 1, BTF_INT_BOOL, 8)
	m.u32 = b.Ref(BTF_KIND_TYPEDEF, "u32", m.uint)
	m.double = b.typ("double", BTF_KIND_FLOAT, false, 0, 8)
	m.constChar = b.Ref(BTF_KIND_CONST, "", m.char)
	m.charArr = b.Array(m.char, m.int_, 16)
	volLong := b.Ref(BTF_KIND_VOLATILE, "", m.long)
	m.taskPtr = m.b.next + 1 // the pointer follows struct task_struct
	m.task = b.Struct(BTF_KIND_STRUCT, "task_struct", 48, true,
		bm{"state", volLong, 0, 0},
		bm{"comm", m.charArr, 64, 0},
		bm{"real_parent", m.taskPtr, 192, 0},
		bm{"flag_a", m.uint, 256, 1},
		bm{"flag_b", m.uint, 257, 3},
		bm{"", 0, 0, 0}, // anonymous, of void: not a struct to descend into
	)
	_ = b.Ref(BTF_KIND_PTR, "", m.task)
	// struct inode { unsigned int i_mode; union { const unsigned int i_nlink; unsigned int __i_nlink; }; struct { u32 a; struct { u32 deep; }; }; }
	cuint := b.Ref(BTF_KIND_CONST, "", m.uint)
	anonU := b.Struct(BTF_KIND_UNION, "", 4, false, bm{"i_nlink", cuint, 0, 0}, bm{"__i_nlink", m.uint, 0, 0})
	deep := b.Struct(BTF_KIND_STRUCT, "", 4, false, bm{"deep", m.u32, 0, 0})
	anonS := b.Struct(BTF_KIND_STRUCT, "", 8, false, bm{"a", m.u32, 0, 0}, bm{"", deep, 32, 0})
	m.inode = b.Struct(BTF_KIND_STRUCT, "inode", 16, false, bm{"i_mode", m.uint, 0, 0}, bm{"", anonU, 32, 0}, bm{"", anonS, 64, 0})
	// A bitfield before kind_flag: the int says 3 bits at offset 2.
	bits3 := b.Int("unsigned int", 4, 0, 3)
	b.types = b.bo.AppendUint32(b.types[:len(b.types)-4], 2<<16|3)
	m.legacy = b.Struct(BTF_KIND_STRUCT, "legacy", 4, false, bm{"x", bits3, 8, 0})
	m.filename = b.Struct(BTF_KIND_STRUCT, "filename", 16, false, bm{"name", b.Ref(BTF_KIND_PTR, "", m.constChar), 0, 0}, bm{"refcnt", m.int_, 64, 0})
	m.enum = b.Enum("signs", 4, true, EnumValue{"MINUS_ONE", ^uint64(0)}, EnumValue{"TASK_COMM_LEN", 16})
	m.enum64 = b.Enum64("big", false, EnumValue{"BIG", 1 << 40}, EnumValue{"BIGGER", 1<<63 | 1})
	m.fwdStruct = b.typ("sock", BTF_KIND_FWD, false, 0, 0)
	m.fwdUnion = b.typ("bar", BTF_KIND_FWD, true, 0, 0)
	fnamePtr := b.Ref(BTF_KIND_PTR, "", m.filename)
	m.unlinkProto = b.Proto(m.int_, Param{"dfd", m.int_}, Param{"name", fnamePtr})
	m.unlink = b.Func("do_unlinkat", m.unlinkProto, BTF_FUNC_GLOBAL)
	ccp := b.Ref(BTF_KIND_PTR, "", m.constChar)
	m.printk = b.Func("_printk", b.Proto(m.int_, Param{"fmt", ccp}, Param{}), BTF_FUNC_GLOBAL)
	voidPtr := b.Ref(BTF_KIND_PTR, "", 0)
	m.traceProto = b.Proto(0, Param{"", voidPtr}, Param{"", m.boolT}, Param{"", m.taskPtr}, Param{"", m.taskPtr})
	m.traceTD = b.Ref(BTF_KIND_TYPEDEF, "btf_trace_sched_switch", b.Ref(BTF_KIND_PTR, "", m.traceProto))
	m.variable = b.Var("jiffies", m.long, BTF_VAR_GLOBAL_ALLOCATED)
	m.datasec = b.Datasec(".data", 8, VarSecinfo{m.variable, 0, 8})
	m.tag = b.DeclTag("bpf_kfunc", m.unlink, -1)
	userChar := b.Ref(BTF_KIND_TYPE_TAG, "user", m.char)
	m.userPtr = b.Ref(BTF_KIND_PTR, "", userChar)
	m.restrictPtr = b.Ref(BTF_KIND_RESTRICT, "", ccp)
	m.fnPtr = b.Ref(BTF_KIND_PTR, "", m.unlinkProto)
	return m
}

func (m *mini) bytes() []byte {
	return m.b.bytes()
}

func forEachOrder(t *testing.T, f func(t *testing.T, m *mini, s *Spec)) {
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(fmt.Sprint(bo), func(t *testing.T) {
			m := buildMini(bo)
			s, err := LoadBytes(m.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if s.ByteOrder != bo.(binary.ByteOrder) {
				t.Errorf("byte order %v, want %v", s.ByteOrder, bo)
			}
			f(t, m, s)
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{BTF_KIND_STRUCT: "BTF_KIND_STRUCT", BTF_KIND_ENUM64: "BTF_KIND_ENUM64", BTF_KIND_UNKN: "BTF_KIND_UNKN", 25: "BTF_KIND_25"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
	if BTF_INT_SIGNED.String() != "BTF_INT_SIGNED" || BTF_FUNC_GLOBAL.String() != "global" {
		t.Error("IntEncoding or Linkage String")
	}
}

func TestEveryKind(t *testing.T) {
	forEachOrder(t, func(t *testing.T, m *mini, s *Spec) {
		check := func(id TypeID, want Type) {
			t.Helper()
			got, err := s.Type(id)
			if err != nil {
				t.Fatal(err)
			}
			want.ID = id
			if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
				t.Errorf("type %d:\n got %+v\nwant %+v", id, *got, want)
			}
		}
		check(m.int_, Type{Kind: BTF_KIND_INT, Name: "int", Size: 4, Int: Int{Encoding: BTF_INT_SIGNED, Bits: 32}})
		check(m.double, Type{Kind: BTF_KIND_FLOAT, Name: "double", Size: 8})
		check(m.u32, Type{Kind: BTF_KIND_TYPEDEF, Name: "u32", Type: m.uint})
		check(m.charArr, Type{Kind: BTF_KIND_ARRAY, Array: Array{Type: m.char, IndexType: m.int_, Nelems: 16}})
		check(m.enum, Type{Kind: BTF_KIND_ENUM, Name: "signs", KindFlag: true, Size: 4, Values: []EnumValue{{"MINUS_ONE", ^uint64(0)}, {"TASK_COMM_LEN", 16}}})
		check(m.enum64, Type{Kind: BTF_KIND_ENUM64, Name: "big", Size: 8, Values: []EnumValue{{"BIG", 1 << 40}, {"BIGGER", 1<<63 | 1}}})
		check(m.fwdUnion, Type{Kind: BTF_KIND_FWD, Name: "bar", KindFlag: true})
		check(m.unlink, Type{Kind: BTF_KIND_FUNC, Name: "do_unlinkat", Type: m.unlinkProto, Linkage: BTF_FUNC_GLOBAL})
		check(m.variable, Type{Kind: BTF_KIND_VAR, Name: "jiffies", Type: m.long, Linkage: BTF_VAR_GLOBAL_ALLOCATED})
		check(m.datasec, Type{Kind: BTF_KIND_DATASEC, Name: ".data", Size: 8, Vars: []VarSecinfo{{m.variable, 0, 8}}})
		check(m.tag, Type{Kind: BTF_KIND_DECL_TAG, Name: "bpf_kfunc", Type: m.unlink, ComponentIdx: -1})
		task, _ := s.Type(m.task)
		if len(task.Members) != 6 || task.Members[4] != (Member{"flag_b", m.uint, 257, 3}) || !task.KindFlag {
			t.Errorf("task_struct members %+v", task.Members)
		}
		if v, _ := s.Type(m.unlinkProto); v.Variadic() || len(v.Params) != 2 || v.Params[1].Name != "name" {
			t.Errorf("do_unlinkat proto %+v", v)
		}
		if p, err := s.FuncProto("_printk"); err != nil || !p.Variadic() {
			t.Errorf("_printk proto %+v %v", p, err)
		}
		if e, _ := s.Type(m.enum); !e.Signed() {
			t.Error("enum signs is not signed")
		}
		if void, err := s.Type(0); err != nil || void.Kind != BTF_KIND_UNKN {
			t.Errorf("void: %+v %v", void, err)
		}
		if _, err := s.Type(9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("type 9999: %v", err)
		}
		if got := s.NumTypes(); got != int(m.b.next) {
			t.Errorf("NumTypes %d, want %d", got, m.b.next)
		}
	})
}

func TestTypeString(t *testing.T) {
	forEachOrder(t, func(t *testing.T, m *mini, s *Spec) {
		for id, want := range map[TypeID]string{
			0:             "void",
			m.uint:        "unsigned int",
			m.taskPtr:     "struct task_struct *",
			m.charArr:     "char [16]",
			m.constChar:   "const char",
			m.unlink:      "int do_unlinkat(int dfd, struct filename *name)",
			m.unlinkProto: "int (int dfd, struct filename *name)",
			m.printk:      "int _printk(const char *fmt, ...)",
			m.fnPtr:       "int (*)(int dfd, struct filename *name)",
			m.restrictPtr: "const char *restrict",
			m.userPtr:     "char *",
			m.fwdUnion:    "union bar",
			m.fwdStruct:   "struct sock",
			m.enum64:      "enum big",
			m.variable:    "long int jiffies",
			m.traceTD:     "btf_trace_sched_switch",
		} {
			if got := s.TypeString(id); got != want {
				t.Errorf("type %d: %q, want %q", id, got, want)
			}
		}
		if got := s.Declaration(m.charArr, "comm"); got != "char comm[16]" {
			t.Errorf("declaration %q", got)
		}
	})
}

func TestMember(t *testing.T) {
	forEachOrder(t, func(t *testing.T, m *mini, s *Spec) {
		for _, c := range []struct {
			in   TypeID
			path string
			want Field
		}{
			{m.task, "comm", Field{m.charArr, 8, 64, 0}},
			{m.task, "comm[3]", Field{m.char, 11, 88, 0}},
			{m.task, "real_parent", Field{m.taskPtr, 24, 192, 0}},
			{m.task, "flag_b", Field{m.uint, 32, 257, 3}},
			{m.inode, "i_nlink", Field{m.b.next, 0, 0, 0}}, // Type checked below
			{m.inode, "deep", Field{m.u32, 12, 96, 0}},
			{m.legacy, "x", Field{m.legacy - 1, 1, 10, 3}},
			{m.filename, "refcnt", Field{m.int_, 8, 64, 0}},
		} {
			got, err := s.Member(c.in, c.path)
			if err != nil {
				t.Errorf("%s: %v", c.path, err)
				continue
			}
			if c.path == "i_nlink" {
				if s.TypeString(got.Type) != "const unsigned int" || got.Offset != 4 {
					t.Errorf("i_nlink: %+v %s", got, s.TypeString(got.Type))
				}
				continue
			}
			if got != c.want {
				t.Errorf("%s: %+v, want %+v", c.path, got, c.want)
			}
		}
		for _, path := range []string{"nope", "comm.x", "real_parent.comm", "comm[16]", "comm[x]", "", "flag_b.x"} {
			if _, err := s.Member(m.task, path); err == nil {
				t.Errorf("%q: no error", path)
			}
		}
		if _, err := s.Member(m.task, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("nope: %v does not wrap ErrNotFound", err)
		}
	})
}

func TestSizeofResolve(t *testing.T) {
	forEachOrder(t, func(t *testing.T, m *mini, s *Spec) {
		for id, want := range map[TypeID]uint32{m.u32: 4, m.charArr: 16, m.taskPtr: 8, m.task: 48, m.constChar: 1, m.variable: 8} {
			if got, err := s.Sizeof(id); got != want || err != nil {
				t.Errorf("sizeof %s: %d %v, want %d", s.TypeString(id), got, err, want)
			}
		}
		for _, id := range []TypeID{0, m.unlink, m.fwdStruct, 9999} {
			if _, err := s.Sizeof(id); err == nil {
				t.Errorf("sizeof %d: no error", id)
			}
		}
		if s.Resolve(m.u32) != m.uint || s.Resolve(m.constChar) != m.char || s.Resolve(m.task) != m.task {
			t.Error("Resolve")
		}
		for id, want := range map[TypeID]TypeID{m.taskPtr: m.task, m.charArr: m.char, m.unlink: m.unlinkProto, m.unlinkProto: m.int_, m.u32: m.uint, m.task: 0, 0: 0, 9999: 0} {
			if got := s.Target(id); got != want {
				t.Errorf("Target(%s) = %d, want %d", s.TypeString(id), got, want)
			}
		}
		for id, want := range map[TypeID]bool{m.int_: true, m.uint: false, m.u32: false, m.constChar: true, m.enum: true, m.enum64: false, m.taskPtr: false, 0: false} {
			if got := s.Signed(id); got != want {
				t.Errorf("Signed(%s) = %v", s.TypeString(id), got)
			}
		}
	})
}

func TestLookups(t *testing.T) {
	forEachOrder(t, func(t *testing.T, m *mini, s *Spec) {
		for _, c := range []struct {
			name string
			k    Kind
			want TypeID
		}{
			{"task_struct", BTF_KIND_STRUCT, m.task},
			{"u32", BTF_KIND_TYPEDEF, m.u32},
			{"signs", BTF_KIND_ENUM, m.enum},
			{"do_unlinkat", BTF_KIND_FUNC, m.unlink},
			{"unsigned int", BTF_KIND_INT, m.uint}, // and the 3-bit one later
			{"bpf_kfunc", BTF_KIND_DECL_TAG, m.tag},
		} {
			// Twice: by walking, then (after enough walks) by the index.
			for range 2 * indexAfter * 10 {
				if got, err := s.TypeByName(c.name, c.k); got != c.want || err != nil {
					t.Fatalf("%s %s: %d %v, want %d", c.k, c.name, got, err, c.want)
				}
			}
		}
		if !s.indexed.Load() {
			t.Error("many lookups did not build the index")
		}
		if _, err := s.TypeByName("task_struct", BTF_KIND_UNION); !errors.Is(err, ErrNotFound) {
			t.Errorf("union task_struct: %v", err)
		}
		ids := slices.Sorted(s.TypesByName("unsigned int"))
		if len(ids) != 2 || ids[0] != m.uint {
			t.Errorf("TypesByName: %v", ids)
		}
		c, err := s.EnumConstant("MINUS_ONE")
		if err != nil || c.Int64() != -1 || !c.Signed || c.Type != m.enum {
			t.Errorf("MINUS_ONE: %+v %v", c, err)
		}
		if c, err := s.EnumConstant("BIGGER"); err != nil || c.Value != 1<<63|1 || c.Signed {
			t.Errorf("BIGGER: %+v %v", c, err)
		}
		if _, err := s.EnumConstant("NOPE"); !errors.Is(err, ErrNotFound) || err.Error() != "btf: NOPE not found" {
			t.Errorf("NOPE: %v", err)
		}
		if _, err := s.TypeByName("nope", BTF_KIND_STRUCT); err == nil || err.Error() != "btf: struct nope not found" {
			t.Errorf("struct nope: %v", err)
		}
		if _, err := s.Member(m.task, "nope"); err == nil || err.Error() != `btf: nope: struct task_struct has no member "nope": not found` {
			t.Errorf("member nope: %v", err)
		}
		args, err := s.TracepointArgs("sched_switch")
		if err != nil || len(args) != 3 || args[0].Type != m.boolT || args[2].Type != m.taskPtr {
			t.Errorf("sched_switch: %+v %v", args, err)
		}
		if _, err := s.TracepointArgs("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("tracepoint nope: %v", err)
		}
	})
}

func TestSplit(t *testing.T) {
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		m := buildMini(bo)
		base, err := LoadBytes(m.bytes())
		if err != nil {
			t.Fatal(err)
		}
		sb := m.b.split()
		modStruct := sb.Struct(BTF_KIND_STRUCT, "nf_conn", 16, false, bm{"task", m.taskPtr, 0, 0}, bm{"zone", m.u32, 64, 0})
		modFunc := sb.Func("nf_conntrack_in", sb.Proto(m.uint, Param{"name", m.taskPtr}), BTF_FUNC_GLOBAL)
		mod, err := LoadSplitBytes(sb.bytes(), base)
		if err != nil {
			t.Fatal(err)
		}
		if mod.FirstID() != m.b.next || modStruct != m.b.next {
			t.Fatalf("first ID %d, want %d", mod.FirstID(), m.b.next)
		}
		if id, err := mod.TypeByName("nf_conn", BTF_KIND_STRUCT); id != modStruct || err != nil {
			t.Errorf("nf_conn: %d %v", id, err)
		}
		if id, err := mod.TypeByName("task_struct", BTF_KIND_STRUCT); id != m.task || err != nil {
			t.Errorf("task_struct through the module: %d %v", id, err)
		}
		if f, err := mod.Member(modStruct, "zone"); err != nil || mod.TypeString(f.Type) != "u32" {
			t.Errorf("nf_conn.zone: %+v %v", f, err)
		}
		// "name" is a string of the base, "nf_conntrack_in" one of the module.
		if got := mod.TypeString(modFunc); got != "unsigned int nf_conntrack_in(struct task_struct *name)" {
			t.Errorf("module func: %q", got)
		}
		if _, err := LoadSplitBytes(sb.bytes(), nil); err == nil {
			t.Error("split without base: no error")
		}
		if mod.Base() != base {
			t.Error("Base")
		}
		path := filepath.Join(t.TempDir(), "nf_conntrack")
		if err := os.WriteFile(path, sb.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, load := range map[string]func() (*Spec, error){
			"LoadSplit":     func() (*Spec, error) { return LoadSplit(bytes.NewReader(sb.bytes()), base) },
			"LoadSplitFile": func() (*Spec, error) { return LoadSplitFile(path, base) },
		} {
			s, err := load()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if id, err := s.TypeByName("nf_conntrack_in", BTF_KIND_FUNC); id != modFunc || err != nil {
				t.Errorf("%s: nf_conntrack_in %d %v", name, id, err)
			}
			// Enough lookups to use the index, of the module's and the base's names.
			for range 4 * indexAfter {
				if ids := slices.Collect(s.TypesByName("task_struct")); len(ids) != 1 || ids[0] != m.task {
					t.Fatalf("%s: TypesByName(task_struct) %v", name, ids)
				}
				if id, _ := s.TypeByName("nf_conn", BTF_KIND_STRUCT); id != modStruct {
					t.Fatalf("%s: nf_conn %d", name, id)
				}
			}
			s.Close()
		}
	}
}
