package btf

import (
	"errors"
	"fmt"
)

// FuncProto returns the prototype of function name: the FUNC_PROTO that
// its BTF_KIND_FUNC refers to, with its parameters' names and types.
func (s *Spec) FuncProto(name string) (*Type, error) {
	fn, err := s.TypeByName(name, BTF_KIND_FUNC)
	if err != nil {
		return nil, err
	}
	o, rec := s.record(fn)
	proto := TypeID(o.u32(rec[8:]))
	if s.Kind(proto) != BTF_KIND_FUNC_PROTO {
		return nil, &LookupError{Kind: BTF_KIND_FUNC, Name: name, Err: fmt.Errorf("refers to %s, not a FUNC_PROTO", s.Kind(proto))}
	}
	return s.Type(proto)
}

// TracepointPrefix starts the names of the typedefs that describe raw
// tracepoints: the kernel declares btf_trace_<name> for each tracepoint
// (include/trace/bpf_probe.h).
const TracepointPrefix = "btf_trace_"

// TracepointArgs returns the arguments that raw tracepoint tp (such as
// "sched_switch") passes to a BTF-enabled program. They are the parameters
// of the prototype that typedef btf_trace_<tp> points to, less the first,
// the void * the kernel passes along for itself.
func (s *Spec) TracepointArgs(tp string) ([]Param, error) {
	name := TracepointPrefix + tp
	td, err := s.TypeByName(name, BTF_KIND_TYPEDEF)
	if err != nil {
		return nil, err
	}
	ptr := s.Resolve(td)
	proto := TypeID(0)
	if o, rec := s.record(ptr); o != nil && kindOf(o.info(rec)) == BTF_KIND_PTR {
		proto = s.Resolve(TypeID(o.u32(rec[8:])))
	}
	t, err := s.Type(proto)
	if err != nil || t.Kind != BTF_KIND_FUNC_PROTO {
		return nil, &LookupError{Kind: BTF_KIND_TYPEDEF, Name: name, Err: errors.New("not a pointer to a function prototype")}
	}
	if len(t.Params) == 0 || s.Kind(s.Resolve(t.Params[0].Type)) != BTF_KIND_PTR {
		return nil, &LookupError{Kind: BTF_KIND_TYPEDEF, Name: name, Err: errors.New("prototype does not start with void *")}
	}
	return t.Params[1:], nil
}

// EnumConst is an enumerator found by name.
type EnumConst struct {
	Type   TypeID // the ENUM or ENUM64 that declares it
	Value  uint64 // the value's bits; see Int64
	Signed bool   // the enum's kind_flag: its values are signed
}

// Int64 is the value read as signed.
func (c EnumConst) Int64() int64 {
	return int64(c.Value)
}

// EnumConstant finds an enumerator by name in any enum of the spec, such as
// "BPF_MAP_TYPE_HASH" or "TASK_COMM_LEN". If several enums declare it, the
// one with the lowest type ID wins. Enums are few, so this walks them
// instead of indexing their values.
func (s *Spec) EnumConstant(name string) (EnumConst, error) {
	if s.base != nil {
		if c, err := s.base.EnumConstant(name); err == nil {
			return c, nil
		}
	}
	for i := 0; s.have(uint64(i)); i++ {
		rec := s.types[s.offset(i):]
		info := s.info(rec)
		k := kindOf(info)
		if k != BTF_KIND_ENUM && k != BTF_KIND_ENUM64 {
			continue
		}
		step := 8
		if k == BTF_KIND_ENUM64 {
			step = 12
		}
		data := rec[typeLen:]
		for j := range vlenOf(info) {
			e := data[step*j:]
			if string(s.name(e)) != name {
				continue
			}
			c := EnumConst{Type: s.firstID + TypeID(i), Signed: kindFlag(info)}
			if k == BTF_KIND_ENUM64 {
				c.Value = uint64(s.u32(e[8:]))<<32 | uint64(s.u32(e[4:]))
			} else if c.Signed {
				c.Value = uint64(int64(int32(s.u32(e[4:]))))
			} else {
				c.Value = uint64(s.u32(e[4:]))
			}
			return c, nil
		}
	}
	return EnumConst{}, &LookupError{Name: name}
}
