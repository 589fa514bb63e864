package btf

import (
	"strconv"
	"strings"
)

// TypeString spells type id as C would in a cast: "unsigned int",
// "struct task_struct *", "char [16]", "const char *",
// "int (*)(int, void *)". A FUNC is spelled as its declaration,
// "int do_unlinkat(int dfd, struct filename *name)", and so is a VAR.
func (s *Spec) TypeString(id TypeID) string {
	if k := s.Kind(id); k == BTF_KIND_FUNC || k == BTF_KIND_VAR {
		o, rec := s.record(id)
		return s.Declaration(TypeID(o.u32(rec[8:])), spellName(o.name(rec)))
	}
	return s.Declaration(id, "")
}

// Declaration spells a C declaration of name with type id, such as
// "char comm[16]" or "struct task_struct *real_parent".
func (s *Spec) Declaration(id TypeID, name string) string {
	budget := maxSpelled
	return s.declare(id, name, 0, &budget)
}

// maxSpelled bounds the types one spelling visits: prototypes whose
// parameters point back to themselves would otherwise spell without end.
const maxSpelled = 1 << 9

// maxSpelling and maxName bound the length of a spelling, which names from
// a corrupt string section could make as long as the section, many times.
const (
	maxSpelling = 1 << 12
	maxName     = 1 << 10
)

func (s *Spec) declare(id TypeID, inner string, depth int, budget *int) string {
	if *budget--; depth > maxDepth || *budget < 0 || len(inner) > maxSpelling {
		return join("...", inner[:min(len(inner), maxSpelling)])
	}
	if id == 0 {
		return join("void", inner)
	}
	o, rec := s.record(id)
	if o == nil {
		return join("<bad type "+strconv.FormatUint(uint64(id), 10)+">", inner)
	}
	info := o.info(rec)
	next := TypeID(o.u32(rec[8:]))
	name := spellName(o.name(rec))
	switch k := kindOf(info); k {
	case BTF_KIND_INT, BTF_KIND_FLOAT, BTF_KIND_TYPEDEF:
		return join(name, inner)
	case BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FWD:
		tag := "struct"
		switch {
		case k == BTF_KIND_UNION, k == BTF_KIND_FWD && kindFlag(info):
			tag = "union"
		case k == BTF_KIND_ENUM, k == BTF_KIND_ENUM64:
			tag = "enum"
		}
		if name == "" {
			name = "{...}"
		}
		return join(tag+" "+name, inner)
	case BTF_KIND_PTR:
		switch s.Kind(s.skipTags(next)) {
		case BTF_KIND_ARRAY, BTF_KIND_FUNC_PROTO:
			return s.declare(next, "(*"+inner+")", depth+1, budget)
		}
		return s.declare(next, "*"+inner, depth+1, budget)
	case BTF_KIND_CONST, BTF_KIND_VOLATILE, BTF_KIND_RESTRICT:
		q := map[Kind]string{BTF_KIND_CONST: "const", BTF_KIND_VOLATILE: "volatile", BTF_KIND_RESTRICT: "restrict"}[k]
		if s.Kind(s.skipTags(next)) == BTF_KIND_PTR {
			return s.declare(next, join(q, inner), depth+1, budget)
		}
		// "const char", not "char const": the qualifier goes first.
		return q + " " + s.declare(next, inner, depth+1, budget)
	case BTF_KIND_TYPE_TAG, BTF_KIND_DECL_TAG:
		return s.declare(next, inner, depth+1, budget)
	case BTF_KIND_ARRAY:
		elem := TypeID(o.u32(rec[typeLen:]))
		n := o.u32(rec[typeLen+8:])
		return s.declare(elem, inner+"["+strconv.FormatUint(uint64(n), 10)+"]", depth+1, budget)
	case BTF_KIND_FUNC_PROTO:
		var b strings.Builder
		b.WriteString(inner)
		b.WriteByte('(')
		data := rec[typeLen:]
		n := vlenOf(info)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > maxSpelling {
				b.WriteString("...")
				break
			}
			pname := spellName(o.name(data[8*i:]))
			ptype := TypeID(o.u32(data[8*i+4:]))
			if i == n-1 && pname == "" && ptype == 0 {
				b.WriteString("...")
				continue
			}
			b.WriteString(s.declare(ptype, pname, depth+1, budget))
		}
		if n == 0 {
			b.WriteString("void")
		}
		b.WriteByte(')')
		return s.declare(next, b.String(), depth+1, budget)
	case BTF_KIND_FUNC, BTF_KIND_VAR:
		return s.declare(next, inner, depth+1, budget)
	case BTF_KIND_DATASEC:
		return join("SEC(\""+name+"\")", inner)
	}
	return join("<"+kindOf(info).String()+">", inner)
}

// skipTags follows type tags, which do not change how C spells a type.
func (s *Spec) skipTags(id TypeID) TypeID {
	for range maxDepth {
		if s.Kind(id) != BTF_KIND_TYPE_TAG {
			return id
		}
		_, rec := s.record(id)
		id = TypeID(s.u32(rec[8:]))
	}
	return id
}

// spellName is a name as spelled: cut short if longer than any C
// identifier a kernel uses.
func spellName(b []byte) string {
	if len(b) > maxName {
		return string(b[:maxName]) + "..."
	}
	return string(b)
}

// join puts a declarator after a type's name, as C spells them apart.
func join(base, inner string) string {
	if inner == "" {
		return base
	}
	return base + " " + inner
}
