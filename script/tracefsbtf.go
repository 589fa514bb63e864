package script

import (
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/kprobeevents"
)

// This file compiles what a script reaches through BTF for the tracefs
// backend: fentry/fexit arguments (args.NAME) and retval with their member
// chains, and struct casts of kprobe arguments. Each becomes a fetcharg
// that can be spelled two ways:
//
//   - with tracelet's offsets: argument registers and +OFF(...)
//     dereferences at the member offsets of the BTF the script was checked
//     against, which every kernel with kprobe_events accepts;
//   - in the kernel's own BTF grammar: the argument's name and ->/. member
//     access, which fprobe events read (f:, Linux 6.5; members 6.6).
//
// An fentry or fexit probe becomes an fprobe event where the target's
// grammar (TracefsOptions.Grammar) has fprobes, BTF arguments and what
// the probe's arguments use; otherwise it becomes the kprobe or kretprobe
// on the same function with offsets. A cast has no kernel spelling (the
// kernel types a name from its declaration), so a kprobe with casts is
// always compiled to offsets.

// kexpr is a value a probe reaches in kernel memory or registers.
type kexpr struct {
	// fetch is the fetcharg of the value. Where addr is set the value is
	// a struct, union or char array lying at the address fetch's value
	// plus off, which a member or string read starts from.
	fetch string
	off   int64
	addr  bool
	// bits is the value's bitfield (nil for none): fetch then reads its
	// container's first byte.
	bits *btf.Field
	// name is the kernel's spelling (file->f_path.dentry), "" where it
	// has none.
	name string
	// member: name follows members (ExtBTFFields); argRet: it reads an
	// argument at a function's return (ExtArgNReturn).
	member, argRet bool
	// noOffsets says why fetch cannot be (an fexit's argument: its
	// register is gone at the return); nil when it can.
	noOffsets error
}

// kvalue compiles e, a value reached through BTF (an fentry/fexit
// argument, retval, a kprobe argument, casts and members of those). ok is
// false after an error, which it reports.
func (t *tfsTranslator) kvalue(e Expr) (kexpr, bool) {
	a := t.tp.Attach
	switch e := e.(type) {
	case *Builtin:
		switch e.Name {
		case "retval":
			return kexpr{fetch: "$retval", name: "$retval"}, true
		case "arg0", "arg1", "arg2", "arg3", "arg4", "arg5":
			loc, err := t.argLoc(e)
			if err != nil {
				t.errorf(e.Pos, "%v", err)
				return kexpr{}, false
			}
			return kexpr{fetch: loc}, true
		}
	case *Cast:
		if e.Stars > 0 {
			x, ok := t.kvalue(e.X)
			// The kernel names a value by its declared type: a cast
			// has no spelling there, only offsets.
			x.name = ""
			return x, ok
		}
	case *FieldExpr:
		if b, isArgs := e.X.(*Builtin); isArgs && b.Name == "args" && e.arg > 0 && (a.Type == Fentry || a.Type == Fexit) {
			return t.btfArg(e)
		}
		if e.mem != nil {
			return t.kmember(e)
		}
	}
	t.errorf(e.Position(), "%s cannot be expressed in tracefs: a kernel value there is an argument, retval, a struct cast of one, or a member of those", describe(e))
	return kexpr{}, false
}

// btfArg is args.NAME of fentry or fexit: the argument's register.
func (t *tfsTranslator) btfArg(e *FieldExpr) (kexpr, bool) {
	a := t.tp.Attach
	out := kexpr{name: e.Field}
	if a.Type == Fexit {
		info := kprobeevents.ExtArgNReturn.Info()
		out.argRet = true
		out.noOffsets = fmt.Errorf("args.%s of %s is read at the function's return, which needs the kernel's %s (fprobe events with BTF arguments, %s, Linux %d.%d or newer): a kretprobe's registers no longer hold the arguments",
			e.Field, a.Raw, info.What, info.Config, info.Major, info.Minor)
		return out, true
	}
	spec := t.c.info.BTF
	if spec == nil {
		t.errorf(e.Pos, "args.%s needs the kernel's BTF", e.Field)
		return kexpr{}, false
	}
	params, err := btfParams(spec, a)
	if err != nil || e.arg > len(params) {
		t.errorf(e.Pos, "args.%s of %s: no prototype in the kernel's BTF", e.Field, a.Func)
		return kexpr{}, false
	}
	sizes := make([]int, e.arg)
	for i := range sizes {
		n, err := spec.Sizeof(params[i].Type)
		if err != nil {
			t.errorf(e.Pos, "args.%s of %s: the size of argument %d: %v", e.Field, a.Func, i+1, err)
			return kexpr{}, false
		}
		sizes[i] = int(n)
	}
	locs, err := t.arch.Args(asm.KernelABI, sizes...)
	if err != nil {
		t.errorf(e.Pos, "args.%s of %s on %s: %v", e.Field, a.Func, t.arch.GOARCH, err)
		return kexpr{}, false
	}
	loc := locs[e.arg-1]
	if len(loc) != 1 {
		t.errorf(e.Pos, "args.%s of %s is passed in %d registers on %s: tracefs reads one", e.Field, a.Func, len(loc), t.arch.GOARCH)
		return kexpr{}, false
	}
	out.fetch = loc[0].FetchArg()
	return out, true
}

// kmember is X->NAME or X.NAME through BTF: one dereference per pointer
// followed, the offsets of members of members added up.
func (t *tfsTranslator) kmember(e *FieldExpr) (kexpr, bool) {
	x, ok := t.kvalue(e.X)
	if !ok {
		return kexpr{}, false
	}
	xt := TypeOf(e.X)
	out := kexpr{noOffsets: x.noOffsets, argRet: x.argRet, member: true}
	switch {
	case xt.Ptr && !x.addr:
		// the pointer's value is the struct's address
		out.fetch, out.off = x.fetch, int64(e.mem.Offset)
		if x.name != "" {
			out.name = x.name + "->" + e.Field
		}
	case x.addr:
		out.fetch, out.off = x.fetch, x.off+int64(e.mem.Offset)
		if x.name != "" {
			out.name = x.name + "." + e.Field
		}
	default:
		t.errorf(e.Pos, "%s has no members in tracefs", describe(e.X))
		return kexpr{}, false
	}
	if inKernel(TypeOf(e)) {
		out.addr = true
		return out, true
	}
	out.fetch = deref(out.off, out.fetch)
	out.off = 0
	if e.mem.BitfieldSize != 0 {
		out.bits = e.mem
	}
	return out, true
}

func deref(off int64, fetch string) string {
	return fmt.Sprintf("%+d(%s)", off, fetch)
}

// kstring is the fetcharg of a string reached through BTF: a char array
// read where it lies, or what a char pointer points to.
func (t *tfsTranslator) kstring(e Expr) (kexpr, bool) {
	x, ok := t.kvalue(e)
	if !ok {
		return kexpr{}, false
	}
	if x.addr {
		// A :string fetcharg reads at the address its last dereference
		// computes.
		x.fetch, x.off, x.addr = deref(x.off, x.fetch), 0, false
	} else {
		x.fetch = deref(0, x.fetch)
		// The kernel reads :string of a BTF name only from a char
		// pointer or array (BAD_TYPE4STR); str() of another pointer
		// reads its bytes through an offset.
		if spec := t.c.info.BTF; spec == nil || !isCharType(spec, TypeOf(e).BTF) {
			x.name = ""
		}
	}
	return x, true
}

// isCharType reports a one-byte integer type.
func isCharType(spec *btf.Spec, id btf.TypeID) bool {
	bt, err := spec.Type(spec.Resolve(id))
	return err == nil && bt.Kind == btf.BTF_KIND_INT && bt.Size == 1
}

// ktype is the :TYPE of a kernel value of script type typ.
func (t *tfsTranslator) ktype(typ *Type, x kexpr) string {
	if typ.Kind == KindString {
		return ":string"
	}
	if x.bits != nil {
		// The container starts at the byte holding the first bit; the
		// kernel's b<width>@<offset>/<container-size>.
		bit := int(x.bits.BitOffset % 8)
		c := 8
		for c < bit+int(x.bits.BitfieldSize) {
			c *= 2
		}
		return fmt.Sprintf(":b%d@%d/%d", x.bits.BitfieldSize, bit, c)
	}
	size := typ.Size
	if typ.Ptr {
		size = t.arch.Word
	}
	if typ.Signed {
		return fmt.Sprintf(":s%d", size*8)
	}
	return fmt.Sprintf(":u%d", size*8)
}

// kfield adds the fetcharg of a kernel value, in both spellings, and
// names its record field after the member or argument it reads.
func (t *tfsTranslator) kfield(e Expr, str bool) (string, bool) {
	var x kexpr
	var ok bool
	if str {
		x, ok = t.kstring(e)
	} else {
		x, ok = t.kvalue(e)
		if ok && x.addr {
			t.errorf(e.Position(), "%s is %s: tracefs prints its members, not the whole", describe(e), TypeOf(e))
			return "", false
		}
	}
	if !ok {
		return "", false
	}
	typ := TypeOf(e)
	if str {
		typ = StringType(MaxStrLen)
	}
	ty := t.ktype(typ, x)
	f := tfsFetch{name: fieldName(e), member: x.member, argRet: x.argRet, noOffsets: x.noOffsets, pos: e.Position()}
	if x.noOffsets == nil {
		f.offsets = x.fetch + ty
	}
	if x.name != "" {
		f.btf = x.name + ty
	}
	return t.add(f), true
}

// fieldName names the record field of e: the member or argument it reads.
func fieldName(e Expr) string {
	switch e := e.(type) {
	case *FieldExpr:
		return e.Field
	case *Cast:
		return fieldName(e.X)
	case *Builtin:
		return e.Name
	case *Call:
		if len(e.Args) > 0 {
			return fieldName(e.Args[0])
		}
	}
	return "v"
}

// tfsFetch is one fetcharg of a probe in both spellings.
type tfsFetch struct {
	name    string
	offsets string // registers and dereferences; "" when it cannot be
	btf     string // the kernel's BTF grammar; "" when it has none
	member  bool   // btf follows members
	argRet  bool   // btf reads an argument at a return
	// noOffsets is why offsets is "", reported at pos if it is needed.
	noOffsets error
	pos       Pos
}

// maxArgName is MAX_ARG_NAME_LEN (trace_probe.h), with room for a suffix.
const maxArgName = 28

// add adds f once and returns its field's name: a name already taken by a
// different fetcharg gets a number. The kernel refuses names of the common
// fields and its own __probe_ ones, and names past MAX_ARG_NAME_LEN.
func (t *tfsTranslator) add(f tfsFetch) string {
	base := f.name
	if strings.HasPrefix(base, "common_") || strings.HasPrefix(base, "__probe") {
		base = "m" + base
	}
	if len(base) > maxArgName {
		base = base[:maxArgName]
	}
	name := base
	for i := 2; ; i++ {
		j, taken := t.fetched[name]
		if !taken {
			break
		}
		if g := t.fetches[j]; g.offsets == f.offsets && g.btf == f.btf {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
	f.name = name
	t.fetched[name] = len(t.fetches)
	t.fetches = append(t.fetches, f)
	return name
}

// fprobe decides how an fentry or fexit probe is written: as an fprobe
// event with the kernel's BTF arguments where the target grammar has
// everything its arguments use, else as a kprobe or kretprobe with
// offsets. It reports what neither can express.
func (t *tfsTranslator) fprobe() bool {
	g := t.opts.Grammar
	if g == nil || g.Offsets || !g.Has(kprobeevents.ExtFprobe) {
		return false
	}
	for _, f := range t.fetches {
		switch {
		case f.btf == "":
			return false
		case f.member && !g.Has(kprobeevents.ExtBTFFields):
			return false
		case !strings.HasPrefix(f.btf, "$") && !g.Has(kprobeevents.ExtBTFArgs):
			return false
		case f.argRet && !g.Has(kprobeevents.ExtArgNReturn):
			return false
		}
	}
	return true
}
