package script

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/btf"
)

// This file types what scripts reach through the kernel's BTF: curtask,
// pointer casts, members (->, .), array elements, sizeof and offsetof.

// needBTF returns the spec, reporting at pos what asked for it when there
// is none.
func (c *checker) needBTF(pos Pos, what string) *btf.Spec {
	if c.opts.BTF != nil {
		return c.opts.BTF
	}
	why := "none was given"
	if c.opts.BTFError != nil {
		why = c.opts.BTFError.Error()
	}
	c.errorf(pos, "%s needs the kernel's type information (BTF), and %s: give a BTF file with --btf FILE (raw BTF, or a vmlinux with a .BTF section)", what, why)
	return nil
}

// btfType is how a script sees a value of kernel type id: integers and
// enums of 1, 2, 4 or 8 bytes, pointers (8-byte integers that remember
// their target), char arrays as strings, and structs, unions and other
// arrays as records, which only have members or elements. Nil for what a
// script cannot use (floats, functions, void).
func btfType(spec *btf.Spec, id btf.TypeID) *Type {
	r := spec.Resolve(id)
	t, err := spec.Type(r)
	if err != nil {
		return nil
	}
	cname := spec.TypeString(id)
	switch t.Kind {
	case btf.BTF_KIND_INT, btf.BTF_KIND_ENUM, btf.BTF_KIND_ENUM64:
		switch t.Size {
		case 1, 2, 4, 8:
			return &Type{Kind: KindInt, Size: int(t.Size), Signed: spec.Signed(r)}
		}
	case btf.BTF_KIND_PTR:
		// A pointer member is as wide as the kernel's pointers: reading 8
		// bytes on a 32-bit kernel would take the next member as the
		// upper half.
		return &Type{Kind: KindInt, Size: int(spec.PointerSize()), Ptr: true, BTF: t.Type, C: cname}
	case btf.BTF_KIND_STRUCT, btf.BTF_KIND_UNION:
		return &Type{Kind: KindRecord, Size: int(t.Size), BTF: r, C: cname}
	case btf.BTF_KIND_ARRAY:
		size, err := spec.Sizeof(r)
		if err != nil {
			return nil
		}
		if e, err := spec.Type(spec.Resolve(t.Array.Type)); err == nil && e.Kind == btf.BTF_KIND_INT && e.Size == 1 {
			// char comm[16] is a string, as in bpftrace.
			return &Type{Kind: KindString, Size: min(int(size), MaxStrLen), BTF: r, C: cname}
		}
		return &Type{Kind: KindRecord, Size: int(size), BTF: r, C: cname}
	}
	return nil
}

// inKernel reports whether t is a value that lies in kernel memory and has
// an address there: a record, or a char array.
func inKernel(t *Type) bool {
	return t != nil && t.BTF != 0 && !t.Ptr && (t.Kind == KindRecord || t.Kind == KindString)
}

// kernelType finds the type a script names (struct x, an enum, a typedef)
// in the kernel's BTF, which what needs; false after an error.
func (c *checker) kernelType(pos Pos, name, what string) (*btf.Spec, btf.TypeID, bool) {
	if id, ok := c.scriptType(name); ok {
		return c.types, id, true
	}
	spec := c.needBTF(pos, what)
	if spec == nil {
		return nil, 0, false
	}
	id, err := namedType(spec, name)
	if err != nil {
		c.errorf(pos, "%s: no such type in the kernel's BTF", name)
		return nil, 0, false
	}
	return spec, id, true
}

// scriptType finds a struct or union the script defines: "struct NAME",
// "union NAME", or the bare name, which bpftrace takes for either. The
// script's definition hides the kernel's type of the same name, as in
// bpftrace.
func (c *checker) scriptType(name string) (btf.TypeID, bool) {
	if c.structs == nil {
		return 0, false
	}
	if id, ok := c.structs[name]; ok {
		return id, true
	}
	if !strings.Contains(name, " ") {
		for _, k := range []string{"struct ", "union "} {
			if id, ok := c.structs[k+name]; ok {
				return id, true
			}
		}
	}
	return 0, false
}

// typeSpec is the Spec that types members and elements: the script's
// types on top of the kernel's, or the kernel's; nil, reported at pos,
// when there is neither.
func (c *checker) typeSpec(pos Pos, what string) *btf.Spec {
	if c.types != nil {
		return c.types
	}
	return c.needBTF(pos, what)
}

// namedType finds a type as a script names it: "struct task_struct",
// "union NAME", "enum NAME", or a typedef.
func namedType(spec *btf.Spec, name string) (btf.TypeID, error) {
	kind, n := btf.BTF_KIND_TYPEDEF, name
	if k, rest, ok := strings.Cut(name, " "); ok {
		n = rest
		switch k {
		case "struct":
			kind = btf.BTF_KIND_STRUCT
		case "union":
			kind = btf.BTF_KIND_UNION
		case "enum":
			kind = btf.BTF_KIND_ENUM
		}
	}
	id, err := spec.TypeByName(n, kind)
	if err != nil && kind == btf.BTF_KIND_ENUM {
		id, err = spec.TypeByName(n, btf.BTF_KIND_ENUM64)
	}
	if err != nil && kind == btf.BTF_KIND_TYPEDEF {
		// a base type: (u8 *) is a typedef, (char *) an INT
		if id2, err2 := spec.TypeByName(n, btf.BTF_KIND_INT); err2 == nil {
			return id2, nil
		}
		// bpftrace takes a bare name for the struct or union of that
		// name too: (file *)arg0 in ttysnoop.bt, (sk_buff *) in
		// tcpreset.bt.
		for _, k := range []btf.Kind{btf.BTF_KIND_STRUCT, btf.BTF_KIND_UNION} {
			if id2, err2 := spec.TypeByName(n, k); err2 == nil {
				return id2, nil
			}
		}
	}
	return id, err
}

// pointee is the type a format's pointer field points to: "struct
// sk_buff" of "const struct sk_buff *", without qualifiers; "" for
// pointers to pointers.
func pointee(ctype string) string {
	s := strings.TrimSpace(ctype)
	if !strings.HasSuffix(s, "*") {
		return ""
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "*"))
	if strings.HasSuffix(s, "*") {
		return ""
	}
	for _, q := range []string{"const ", "volatile "} {
		s = strings.TrimPrefix(s, q)
	}
	return strings.TrimSpace(strings.ReplaceAll(s, " const", ""))
}

// curtask is the current task: bpf_get_current_task's struct task_struct *.
func (c *checker) curtask(b *Builtin) *Type {
	spec := c.needBTF(b.Pos, "curtask")
	if spec == nil {
		return nil
	}
	id, err := spec.TypeByName("task_struct", btf.BTF_KIND_STRUCT)
	if err != nil {
		c.errorf(b.Pos, "curtask: %v", err)
		return nil
	}
	return &Type{Kind: KindInt, Size: 8, Ptr: true, BTF: id, C: "struct task_struct *"}
}

// ptrCast types (struct NAME *)X.
func (c *checker) ptrCast(e *Cast, xt *Type) *Type {
	if !xt.IsInt() && !(inKernel(xt) && addressable(e.X)) {
		c.errorf(e.Pos, "cannot cast %s to %s *: only integers and pointers can be", xt, e.Type)
		return nil
	}
	if e.Stars != 1 {
		c.errorf(e.Pos, "casts to pointers to pointers are not supported: cast to (%s *) and read the member", e.Type)
		return nil
	}
	_, id, ok := c.kernelType(e.Pos, e.Type, "the cast to "+e.Type+" *")
	if !ok {
		return nil
	}
	// A cast keeps the address space: (struct X *)arg0 of a uprobe, or of
	// a syscall's user pointer, points into user memory.
	return &Type{Kind: KindInt, Size: 8, Ptr: true, BTF: id, C: e.Type + " *", User: xt.User}
}

// addressable reports whether e is a member or element of kernel memory,
// whose address a pointer cast takes: (struct tcp_skb_cb *)$skb->cb
// points at the bytes of cb, as in C.
func addressable(e Expr) bool {
	switch e := e.(type) {
	case *FieldExpr:
		return e.mem != nil
	case *Index:
		return true
	}
	return false
}

// member types X->NAME and X.NAME where X is a kernel pointer or record.
// As bpftrace does, '.' reads through a pointer too.
func (c *checker) member(e *FieldExpr, xt *Type) *Type {
	if !xt.Ptr && !inKernel(xt) {
		c.errorf(e.Pos, "%s has no fields: it is %s, not a pointer to a struct", describe(e.X), xt)
		return nil
	}
	spec := c.typeSpec(e.Pos, "field "+e.Field)
	if spec == nil {
		return nil
	}
	rec := spec.Resolve(xt.BTF)
	if k := spec.Kind(rec); k != btf.BTF_KIND_STRUCT && k != btf.BTF_KIND_UNION {
		c.errorf(e.Pos, "%s is %s: only structs and unions have fields", describe(e.X), xt)
		return nil
	}
	f, err := spec.Member(rec, e.Field)
	if err != nil {
		c.errorf(e.Pos, "%s has no field %q", spec.TypeString(rec), e.Field)
		return nil
	}
	t := btfType(spec, f.Type)
	if t == nil {
		c.errorf(e.Pos, "field %s is %s, which scripts cannot use", e.Field, spec.TypeString(f.Type))
		return nil
	}
	if f.BitfieldSize != 0 && t.Kind != KindInt {
		c.errorf(e.Pos, "bitfield %s is %s: only integer bitfields can be read", e.Field, spec.TypeString(f.Type))
		return nil
	}
	e.mem = &f
	t.User = xt.User // a user struct's members, and what its pointers point to, are user memory
	if c.pass == 2 {
		c.info.addResolved(e.Pos, srcText(e), t, f)
	}
	return t
}

// srcText spells a member access as the script wrote it, for -d.
func srcText(e Expr) string {
	switch e := e.(type) {
	case *Builtin:
		return e.Name
	case *Var:
		return "$" + e.Name
	case *FieldExpr:
		return srcText(e.X) + arrow(e) + e.Field
	case *Index:
		if v, ok := foldConst(e.I); ok {
			return fmt.Sprintf("%s[%d]", srcText(e.X), v)
		}
		return srcText(e.X) + "[...]"
	case *Cast:
		return "((" + e.Type + strings.Repeat(" *", e.Stars) + ")" + srcText(e.X) + ")"
	}
	return "(...)"
}

func arrow(e *FieldExpr) string {
	if e.Arrow {
		return "->"
	}
	return "."
}

// index types X[I]: an element of an array member, or of what a pointer
// points to.
func (c *checker) index(e *Index) *Type {
	if fx, ok := e.X.(*FieldExpr); ok {
		if b, ok := fx.X.(*Builtin); ok && b.Name == "args" && !c.probe.Attach[0].Type.isBTFArgs() {
			return c.tracepointIndex(e, fx, b)
		}
	}
	xt, it := c.expr(e.X), c.expr(e.I)
	if xt == nil || it == nil {
		return nil
	}
	if !it.IsInt() {
		c.errorf(e.I.Position(), "an index must be an integer, not %s", it)
		return nil
	}
	if !xt.Ptr && !inKernel(xt) {
		c.errorf(e.Pos, "%s cannot be indexed: it is %s, not an array or pointer", describe(e.X), xt)
		return nil
	}
	spec := c.typeSpec(e.Pos, "indexing")
	if spec == nil {
		return nil
	}
	elem := xt.BTF
	if !xt.Ptr {
		t, err := spec.Type(spec.Resolve(xt.BTF))
		if err != nil || t.Kind != btf.BTF_KIND_ARRAY {
			c.errorf(e.Pos, "%s is %s, not an array", describe(e.X), xt)
			return nil
		}
		elem = t.Array.Type
		if v, ok := foldConst(e.I); ok && t.Array.Nelems != 0 && v >= uint64(t.Array.Nelems) {
			c.errorf(e.I.Position(), "index %d is beyond the %d elements of %s", v, t.Array.Nelems, xt)
			return nil
		}
	}
	et := btfType(spec, elem)
	if et == nil {
		c.errorf(e.Pos, "the elements of %s are %s, which scripts cannot use", xt, spec.TypeString(elem))
		return nil
	}
	et.User = xt.User
	return et
}

// elemSize is the size of X[I]'s element.
func elemSize(spec *btf.Spec, xt *Type) uint32 {
	elem := xt.BTF
	if !xt.Ptr {
		elem = spec.Target(spec.Resolve(xt.BTF))
	}
	n, _ := spec.Sizeof(elem)
	return n
}

// sizeof types sizeof(TYPE) and sizeof(X).
func (c *checker) sizeof(e *Sizeof) *Type {
	if e.X != nil {
		t := c.expr(e.X)
		if t == nil {
			return nil
		}
		e.v = uint64(t.Size)
		if spec := c.info.BTF; t.BTF != 0 && !t.Ptr && spec != nil {
			if n, err := spec.Sizeof(t.BTF); err == nil {
				e.v = uint64(n)
			}
		}
		return Uint64
	}
	if n, ok := castTypes[e.Type]; ok {
		e.v = uint64(n)
		return Uint64
	}
	if strings.HasSuffix(e.Type, "*") {
		e.v = 8
		return Uint64
	}
	spec, id, ok := c.kernelType(e.Pos, e.Type, "sizeof("+e.Type+")")
	if !ok {
		return nil
	}
	n, err := spec.Sizeof(id)
	if err != nil {
		c.errorf(e.Pos, "sizeof(%s): %v", e.Type, err)
		return nil
	}
	e.v = uint64(n)
	return Uint64
}

// offsetof types offsetof(TYPE, a.b).
func (c *checker) offsetof(e *Offsetof) *Type {
	spec, id, ok := c.kernelType(e.Pos, e.Type, "offsetof("+e.Type+", "+e.Member+")")
	if !ok {
		return nil
	}
	f, err := spec.Member(id, e.Member)
	if err != nil {
		c.errorf(e.Pos, "offsetof(%s, %s): %s has no member %s", e.Type, e.Member, e.Type, e.Member)
		return nil
	}
	if f.BitfieldSize != 0 {
		c.errorf(e.Pos, "offsetof(%s, %s): a bitfield has no byte offset", e.Type, e.Member)
		return nil
	}
	e.v = uint64(f.Offset)
	return Uint64
}

// Resolved is a member access resolved through BTF, for tracelet run -d.
type Resolved struct {
	Pos    Pos
	Expr   string // curtask->real_parent
	Type   string // the member's C type
	Offset uint32 // bytes from the start of its struct
	// BitOffset and BitfieldSize locate a bitfield (BitfieldSize 0: none).
	BitOffset, BitfieldSize uint32
}

func (r Resolved) String() string {
	s := fmt.Sprintf("%s: %s: %s, offset %d", r.Pos, r.Expr, r.Type, r.Offset)
	if r.BitfieldSize != 0 {
		s += fmt.Sprintf(", bits %d:%d", r.BitOffset, r.BitfieldSize)
	}
	return s
}

func (in *Info) addResolved(pos Pos, expr string, t *Type, f btf.Field) {
	for _, r := range in.Resolved {
		if r.Pos == pos {
			return
		}
	}
	ts := t.String()
	if t.C != "" {
		ts = t.C
	}
	in.Resolved = append(in.Resolved, Resolved{Pos: pos, Expr: expr, Type: ts, Offset: f.Offset,
		BitOffset: f.BitOffset, BitfieldSize: f.BitfieldSize})
}

// rawArg types args->NAME (or args.NAME) of a raw tracepoint: argument
// NAME of the tracepoint's prototype, from BTF. The names are those of
// __probestub_EVENT (or __traceiter_EVENT, before 6.5), whose first
// parameter is the kernel's own void *: btf_trace_EVENT has the types but
// no names. Every attach point of the probe must agree.
func (c *checker) rawArg(e *FieldExpr) *Type {
	spec := c.needBTF(e.Pos, "args of a rawtracepoint")
	if spec == nil {
		return nil
	}
	var typ *Type
	for _, a := range c.probe.Attach {
		if a.Type != c.probe.Attach[0].Type || a.Wildcard() {
			c.errorf(e.Pos, "args of %s: the attach points of the probe must be of one type, without wildcards", a.Raw)
			return nil
		}
		params, err := btfParams(spec, a)
		if err != nil {
			c.errorf(a.Pos, "%s %s: no prototype in the kernel's BTF: %v", a.Type, a.Func, err)
			return nil
		}
		i := -1
		var names []string
		for j, p := range params {
			names = append(names, p.Name)
			if p.Name == e.Field {
				i = j
			}
		}
		if i < 0 {
			c.errorf(e.Pos, "%s %s has no argument %q%s (arguments: %s)", a.Type, a.Func, e.Field, didYouMean(e.Field, names), strings.Join(names, ", "))
			return nil
		}
		t := btfType(spec, params[i].Type)
		if t == nil || t.Kind != KindInt {
			c.errorf(e.Pos, "argument %s of %s is %s, which scripts cannot use", e.Field, a.Func, spec.TypeString(params[i].Type))
			return nil
		}
		if typ != nil && (e.arg != i+1 || typ.C != t.C) {
			c.errorf(e.Pos, "argument %s differs between the attach points of the probe", e.Field)
			return nil
		}
		typ, e.arg = t, i+1
	}
	if c.pass == 2 {
		c.info.addResolved(e.Pos, srcText(e), typ, btf.Field{Offset: uint32(8 * (e.arg - 1))})
	}
	return typ
}

func rawTracepointParams(spec *btf.Spec, event string) ([]btf.Param, error) {
	proto, err := spec.FuncProto("__probestub_" + event)
	if err != nil {
		proto, err = spec.FuncProto("__traceiter_" + event)
	}
	if err != nil {
		return nil, err
	}
	if len(proto.Params) == 0 {
		return nil, fmt.Errorf("__probestub_%s has no parameters", event)
	}
	return proto.Params[1:], nil
}

// btfParams are the named arguments of an attach point whose context is
// their u64s: a raw tracepoint's, or a function's (fentry, fexit) or LSM
// hook's (bpf_lsm_HOOK) prototype.
func btfParams(spec *btf.Spec, a *AttachPoint) ([]btf.Param, error) {
	switch a.Type {
	case RawTracepoint:
		return rawTracepointParams(spec, a.Func)
	case LSM:
		proto, err := spec.FuncProto("bpf_lsm_" + a.Func)
		if err != nil {
			return nil, err
		}
		return proto.Params, nil
	}
	proto, err := spec.FuncProto(a.Func)
	if err != nil {
		return nil, err
	}
	return proto.Params, nil
}

// attachBTF finds the function or LSM hook an fentry, fexit or lsm probe
// attaches to.
func (c *checker) attachBTF(a *AttachPoint) {
	spec := c.needBTF(a.Pos, a.Type.String()+" probes")
	if spec == nil {
		return
	}
	if a.Wildcard() {
		c.errorf(a.Pos, "%s: a wildcard is expanded before the checks (ExpandBTF)", a.Raw)
		return
	}
	if a.Target != "" && a.Target != c.opts.BTFModule {
		if c.opts.BTFModule == "" {
			c.errorf(a.Pos, "%s: the BTF of module %s is not loaded", a.Raw, a.Target)
		} else {
			c.errorf(a.Pos, "%s: a script attaches to the functions of one module, and this one attaches to %s's too", a.Raw, c.opts.BTFModule)
		}
		return
	}
	name := a.Func
	if a.Type == LSM {
		name = "bpf_lsm_" + a.Func
	}
	id, err := spec.TypeByName(name, btf.BTF_KIND_FUNC)
	if a.Target != "" && err == nil && id < spec.FirstID() {
		err = btf.ErrNotFound // vmlinux's, not the module's
	}
	if err != nil {
		where := "the kernel's BTF"
		if a.Target != "" {
			where = "the BTF of module " + a.Target
		}
		c.errorf(a.Pos, "%s: no function %s in %s", a.Raw, name, where)
		return
	}
	params, err := btfParams(spec, a)
	if err != nil {
		c.errorf(a.Pos, "%s: %v", a.Raw, err)
		return
	}
	a.BTFID, a.NArgs = id, len(params)
}

// fexitRetval types retval of an fexit probe: the function's return type,
// the u64 after its arguments in the context.
func (c *checker) fexitRetval(b *Builtin, a *AttachPoint) *Type {
	spec := c.needBTF(b.Pos, "retval of fexit")
	if spec == nil {
		return nil
	}
	proto, err := spec.FuncProto(a.Func)
	if err != nil {
		return nil // attachBTF reported it
	}
	if proto.Type == 0 {
		c.errorf(b.Pos, "%s returns void: it has no retval", a.Func)
		return nil
	}
	t := btfType(spec, proto.Type)
	if t == nil || t.Kind != KindInt {
		c.errorf(b.Pos, "%s returns %s, which scripts cannot use", a.Func, spec.TypeString(proto.Type))
		return nil
	}
	return t
}

// attachTPBTF notes the btf_trace_EVENT typedef of a raw tracepoint, which
// makes it a tp_btf program where the kernel has them (Options.TPBTF).
// Without BTF it stays a raw_tp program, and nothing is reported.
func (c *checker) attachTPBTF(a *AttachPoint) {
	spec := c.opts.BTF
	if spec == nil || a.Wildcard() {
		return
	}
	id, err := spec.TypeByName(btf.TracepointPrefix+a.Func, btf.BTF_KIND_TYPEDEF)
	if err != nil {
		return
	}
	params, err := spec.TracepointArgs(a.Func)
	if err != nil {
		return
	}
	a.BTFID, a.NArgs = id, len(params)
}

// tracepointIndex types args->FIELD[I] of a tracepoint: an element of an
// integer array field ("unsigned long args[6]" of raw_syscalls:sys_enter),
// at a constant index, or of a pointer-to-pointer field ("const char
// *const * argv" of sys_enter_execve), whose elements are read from the
// memory it points to, at any index.
func (c *checker) tracepointIndex(e *Index, fx *FieldExpr, b *Builtin) *Type {
	if c.builtin(b) == nil {
		return nil
	}
	b.setType(ArgsRec)
	it := c.expr(e.I)
	if it == nil {
		return nil
	}
	if !it.IsInt() {
		c.errorf(e.I.Position(), "an index must be an integer, not %s", it)
		return nil
	}
	elem := &FieldExpr{Pos: fx.Pos, X: fx.X, Field: fx.Field, Arrow: fx.Arrow, fds: map[*AttachPoint]*FormatField{}}
	var typ *Type
	for _, a := range c.probe.Attach {
		fd := c.tracepointField(a, fx)
		if fd == nil {
			return nil
		}
		var t *Type
		n, isArray := arrayLen(fd.CType)
		switch {
		case isArray && fd.Layout != LayoutCharArray && n > 0 && fd.Size%n == 0 && validIntSize(fd.Size/n):
			v, ok := foldConst(e.I)
			if !ok {
				c.errorf(e.I.Position(), "args->%s is an array in the tracepoint's record: its index must be a constant", fx.Field)
				return nil
			}
			if v >= uint64(n) {
				c.errorf(e.I.Position(), "index %d is beyond the %d elements of args->%s (%s)", v, n, fx.Field, fd.CType)
				return nil
			}
			size := fd.Size / n
			el := *fd
			el.Offset, el.Size, el.Layout = fd.Offset+int(v)*size, size, LayoutInt
			elem.fds[a] = &el
			t = IntType(size, fd.Signed)
		case !isArray && fd.Layout == LayoutInt && strings.Count(fd.CType, "*") >= 2:
			elem.fds[a] = fd
			e.deref = true
			t = IntType(8, false)
			t.User = a.Target == "syscalls"
		default:
			c.errorf(e.Pos, "field %s of %s has type %q, which cannot be indexed (arrays of integers and pointers to pointers can)", fx.Field, a.Raw, fd.CType)
			return nil
		}
		if typ != nil && (typ.Size != t.Size || typ.Signed != t.Signed || typ.User != t.User) {
			c.errorf(e.Pos, "args->%s[...] is %s in %s but %s in %s: one action block needs one type", fx.Field, typ, c.probe.Attach[0].Raw, t, a.Raw)
			return nil
		}
		typ = t
	}
	elem.fd = elem.fds[c.probe.Attach[0]]
	elem.setType(typ)
	fx.setType(typ)
	e.tp = elem
	return typ
}

// arrayLen is N of a format's array type "unsigned long[6]".
func arrayLen(ctype string) (int, bool) {
	i := strings.LastIndexByte(ctype, '[')
	if i < 0 || !strings.HasSuffix(ctype, "]") {
		return 0, false
	}
	n, err := strconv.Atoi(ctype[i+1 : len(ctype)-1])
	return n, err == nil
}

func validIntSize(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 }
