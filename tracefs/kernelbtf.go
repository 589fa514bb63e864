package tracefs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/kprobeevents"
)

// VmlinuxBTF is where the running kernel publishes its BTF (5.5+).
const VmlinuxBTF = "/sys/kernel/btf/vmlinux"

// KernelBTF answers the grammar's BTF questions (kprobeevents.BTF) from a
// BTF spec: the running kernel's, or another kernel's read with btf.LoadFile
// (raw BTF or an ELF vmlinux with .BTF) to write definitions for it.
func KernelBTF(spec *btf.Spec) kprobeevents.BTF {
	return &kernelBTF{load: func() (*btf.Spec, error) { return spec, nil }}
}

// LazyBTF is KernelBTF over the file at path, read on first use: most
// definitions name no BTF argument, and the kernel's BTF is several MiB.
// A file that cannot be read makes every lookup fail with that error.
func LazyBTF(path string) kprobeevents.BTF {
	var (
		once sync.Once
		spec *btf.Spec
		err  error
	)
	return &kernelBTF{load: func() (*btf.Spec, error) {
		once.Do(func() {
			spec, err = btf.LoadFile(path)
			if err != nil {
				err = fmt.Errorf("tracefs: reading BTF from %s: %w", path, err)
			}
		})
		return spec, err
	}}
}

type kernelBTF struct {
	load func() (*btf.Spec, error)
}

func (k *kernelBTF) Func(name string) (*kprobeevents.BTFFunc, error) {
	s, err := k.load()
	if err != nil {
		return nil, err
	}
	proto, err := s.FuncProto(name)
	if err != nil {
		return nil, err
	}
	fn := &kprobeevents.BTFFunc{}
	if r := s.Resolve(proto.Type); proto.Type != 0 && s.Kind(r) != btf.BTF_KIND_UNKN {
		fn.Return = convertType(s, proto.Type, 0)
	}
	for _, p := range proto.Params {
		if p.Name == "" && p.Type == 0 {
			break // variadic
		}
		fn.Params = append(fn.Params, kprobeevents.BTFParam{Name: p.Name, Type: convertType(s, p.Type, 0)})
	}
	return fn, nil
}

func (k *kernelBTF) Member(t *kprobeevents.BTFType, name string) (*kprobeevents.BTFType, bool, error) {
	s, err := k.load()
	if err != nil {
		return nil, false, err
	}
	if t == nil || t.ID == 0 || name == "" || strings.ContainsAny(name, ".[") {
		return nil, false, nil
	}
	f, err := s.Member(btf.TypeID(t.ID), name)
	if errors.Is(err, btf.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m := convertType(s, f.Type, 0)
	m.BitOffset, m.BitSize = int(f.BitOffset), int(f.BitfieldSize)
	return m, true, nil
}

// convertType describes id after btf_type_skip_modifiers(). Pointers and
// arrays describe what they point to or hold; structs stop there (their
// members are looked up by ID), so the recursion ends.
func convertType(s *btf.Spec, id btf.TypeID, depth int) *kprobeevents.BTFType {
	r := s.Resolve(id)
	out := &kprobeevents.BTFType{ID: uint32(r), Name: s.Name(r)}
	if depth > 16 {
		return out
	}
	t, err := s.Type(r)
	if err != nil {
		return out
	}
	switch t.Kind {
	case btf.BTF_KIND_INT:
		out.Kind, out.Size, out.Signed = kprobeevents.BTFInt, int(t.Size), t.Signed()
		if t.Int.Bits != 0 && int(t.Int.Bits) < 8*int(t.Size) {
			out.BitSize = int(t.Int.Bits)
		}
	case btf.BTF_KIND_ENUM, btf.BTF_KIND_ENUM64:
		out.Kind, out.Size, out.Signed = kprobeevents.BTFEnum, int(t.Size), t.Signed()
	case btf.BTF_KIND_PTR:
		out.Kind, out.Size = kprobeevents.BTFPtr, int(s.PointerSize())
		out.Elem = convertType(s, t.Type, depth+1)
	case btf.BTF_KIND_STRUCT:
		out.Kind, out.Size = kprobeevents.BTFStruct, int(t.Size)
	case btf.BTF_KIND_UNION:
		out.Kind, out.Size = kprobeevents.BTFUnion, int(t.Size)
	case btf.BTF_KIND_ARRAY:
		out.Kind, out.Len = kprobeevents.BTFArray, int(t.Array.Nelems)
		out.Elem = convertType(s, t.Array.Type, depth+1)
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SpecOf returns the BTF behind b when b is KernelBTF's or LazyBTF's
// (loading it now for LazyBTF), for what needs the types themselves: the
// script checker types struct casts and members from them. Any other
// implementation gives an error.
func SpecOf(b kprobeevents.BTF) (*btf.Spec, error) {
	k, ok := b.(*kernelBTF)
	if !ok {
		return nil, fmt.Errorf("tracefs: %T is not the kernel's BTF", b)
	}
	return k.load()
}
