package kprobeevents

import (
	"strconv"
	"strings"
)

// FetchKind is the kind of one node of a fetch expression.
type FetchKind int

// Fetch expression kinds, one per fetcharg form of the kernel grammar.
const (
	FetchInvalid    FetchKind = iota
	FetchReg                  // %REG
	FetchStackN               // $stackN
	FetchStack                // $stack (the stack pointer)
	FetchRetval               // $retval
	FetchComm                 // $comm
	FetchArgN                 // $argN
	FetchMemAddr              // @ADDR
	FetchSymbol               // @SYM[+|-OFFS]
	FetchFileOffset           // @+OFFS (uprobes)
	FetchImm                  // \IMM
	FetchImmString            // \"STR"
	FetchDeref                // +|-[u]OFFS(FETCHARG)
	FetchBTF                  // a BTF argument or field name (6.5+ kprobes)
	FetchField                // $FIELD: a field of an event probe's attached event
)

var fetchKindNames = [...]string{"invalid", "reg", "stackN", "stack", "retval", "comm", "argN",
	"memaddr", "symbol", "fileoffset", "imm", "immstring", "deref", "btf", "field"}

func (k FetchKind) String() string {
	if k >= 0 && int(k) < len(fetchKindNames) {
		return fetchKindNames[k]
	}
	return "FetchKind(" + strconv.Itoa(int(k)) + ")"
}

// Fetch is a fetch expression as a tree: a dereference holds the expression
// it dereferences in Inner. Only the fields of its Kind are meaningful.
type Fetch struct {
	Kind FetchKind
	Reg  string // FetchReg: register name without '%'
	N    uint64 // FetchStackN, FetchArgN
	Addr uint64 // FetchMemAddr
	// FetchSymbol: Symbol and signed Offset. FetchDeref: signed Offset.
	// FetchFileOffset: Offset.
	Symbol string
	Offset int64
	Imm    int64  // FetchImm (the bits of an unsigned value above MaxInt64 wrap)
	Str    string // FetchImmString: the string; FetchBTF: the name expression; FetchField: the field
	User   bool   // FetchDeref: +u/-u, a user-space dereference
	Inner  *Fetch // FetchDeref

	// immUnsigned records \IMM written without a sign, so that values above
	// MaxInt64 print back as the unsigned number the kernel stored.
	immUnsigned bool
	// innerCol is where the kernel's parser stood inside the brace of a
	// dereference; see kernelCtxOffset.
	innerCol int
}

// Reg returns a %REG fetch.
func Reg(name string) *Fetch { return &Fetch{Kind: FetchReg, Reg: name} }

// Deref returns +OFFS(inner), or -OFFS(inner) for a negative offset.
func Deref(offset int64, inner *Fetch) *Fetch {
	return &Fetch{Kind: FetchDeref, Offset: offset, Inner: inner}
}

// UDeref returns +uOFFS(inner), a dereference of user memory.
func UDeref(offset int64, inner *Fetch) *Fetch {
	return &Fetch{Kind: FetchDeref, Offset: offset, Inner: inner, User: true}
}

// Depth is the number of nested dereferences.
func (f *Fetch) Depth() int {
	d := 0
	for ; f != nil && f.Kind == FetchDeref; f = f.Inner {
		d++
	}
	return d
}

// String renders the canonical spelling: registers and variables as the
// kernel names them, dereference and symbol offsets in decimal, addresses in
// hex. The kernel prints a fetcharg back exactly as it was written, so the
// canonical form is what it prints after tracelet writes it.
func (f *Fetch) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f *Fetch) write(b *strings.Builder) {
	if f == nil {
		return
	}
	switch f.Kind {
	case FetchReg:
		b.WriteString("%" + f.Reg)
	case FetchStackN:
		b.WriteString("$stack" + strconv.FormatUint(f.N, 10))
	case FetchStack:
		b.WriteString("$stack")
	case FetchRetval:
		b.WriteString("$retval")
	case FetchComm:
		b.WriteString("$comm")
	case FetchArgN:
		b.WriteString("$arg" + strconv.FormatUint(f.N, 10))
	case FetchMemAddr:
		b.WriteString("@0x" + strconv.FormatUint(f.Addr, 16))
	case FetchSymbol:
		b.WriteString("@" + f.Symbol)
		if f.Offset > 0 {
			b.WriteString("+" + strconv.FormatInt(f.Offset, 10))
		} else if f.Offset < 0 {
			b.WriteString(strconv.FormatInt(f.Offset, 10))
		}
	case FetchFileOffset:
		if f.Offset < 0 {
			b.WriteString("@+" + strconv.FormatInt(f.Offset, 10))
		} else {
			b.WriteString("@+0x" + strconv.FormatInt(f.Offset, 16))
		}
	case FetchImm:
		if f.immUnsigned || f.Imm >= 0 {
			b.WriteString("\\" + strconv.FormatUint(uint64(f.Imm), 10))
		} else {
			b.WriteString("\\" + strconv.FormatInt(f.Imm, 10))
		}
	case FetchImmString:
		b.WriteString("\\\"" + f.Str + "\"")
	case FetchDeref:
		off := f.Offset
		sign := "+"
		if off < 0 {
			sign = "-"
		}
		b.WriteString(sign)
		if f.User {
			b.WriteByte('u')
		}
		if off < 0 {
			b.WriteString(strconv.FormatUint(uint64(-off), 10))
		} else {
			b.WriteString(strconv.FormatInt(off, 10))
		}
		b.WriteByte('(')
		f.Inner.write(b)
		b.WriteByte(')')
	case FetchBTF:
		b.WriteString(f.Str)
	case FetchField:
		b.WriteString("$" + f.Str)
	}
}

// Arg is one fetcharg: NAME=FETCH:TYPE.
//
// The kernel keeps the text of a fetcharg after NAME= as it was written
// (struct probe_arg.comm) and prints that text back, so "\0x10",
// "@jiffies+0" and "+0x28(%di)" stay as they are. An Arg from Parse keeps
// its text and String prints it, as long as Fetch and Type still hold what
// was parsed; an Arg built or changed in code prints its canonical spelling
// (Fetch.String and Type.String), which the kernel then keeps.
type Arg struct {
	// Name is the field name. Parse fills in the name the kernel gives an
	// unnamed argument (argN, counting from 1, or the BTF name itself).
	Name  string
	Fetch *Fetch
	Type  Type

	// text is the fetcharg as written after NAME=, and canon the canonical
	// rendering of Fetch and Type when it was parsed: text is printed only
	// while they still render to canon.
	text, canon string
	// vfs is the layout a %pd or %pD argument is expanded with, as the
	// kernel expands it (traceprobe_expand_dentry_args); zero: printed
	// unexpanded.
	vfs VFSLayout
}

// String renders NAME=FETCH[:TYPE] as the kernel prints it back.
func (a Arg) String() string {
	var b strings.Builder
	a.write(&b)
	return b.String()
}

// Text returns what the kernel prints after NAME= for the argument: the
// text it was parsed from while Fetch and Type are unchanged, else the
// canonical spelling; a %pd or %pD argument parsed with a known VFSLayout
// comes out expanded into the dereferences the kernel stores.
func (a Arg) Text() string {
	var b strings.Builder
	a.writeBody(&b)
	return b.String()
}

func (a Arg) write(b *strings.Builder) {
	if a.Name == "" && a.Fetch != nil && a.Fetch.Kind == FetchBTF && a.Fetch.Str == "$arg*" {
		// $arg* not expanded, for want of the kernel's BTF.
		b.WriteString("$arg*")
		return
	}
	b.WriteString(a.Name)
	b.WriteByte('=')
	a.writeBody(b)
}

func (a Arg) writeCanon(b *strings.Builder) {
	a.Fetch.write(b)
	if !a.Type.IsZero() {
		b.WriteString(":" + a.Type.String())
	}
}

func (a Arg) writeBody(b *strings.Builder) {
	body := a.text
	if body == "" || a.canonBody() != a.canon {
		body = a.canonBody()
	}
	if (a.Type.Kind == TypeDentry || a.Type.Kind == TypeFile) && !a.vfs.IsZero() {
		if fetch, ok := strings.CutSuffix(body, ":"+a.Type.Kind.String()); ok {
			b.WriteString(a.vfs.expand(fetch, a.Type.Kind == TypeFile))
			return
		}
	}
	b.WriteString(body)
}

func (a Arg) canonBody() string {
	var b strings.Builder
	a.writeCanon(&b)
	return b.String()
}

// VFSLayout is where a kernel build keeps the fields the %pd and %pD types
// read. The kernel rewrites FETCH:%pd into +0x0(+0xN(FETCH)):string and
// FETCH:%pD into +0x0(+0xN(+0xM(FETCH))):string before it parses them
// (traceprobe_expand_dentry_args, Linux 6.10+), with N and M from offsetof
// in that build, and prints the rewritten text back. The offsets depend on
// the kernel's configuration and version, so this package cannot know them:
// set Options.VFS to the running kernel's layout to format %pd and %pD as
// that kernel prints them. Debian's 6.12 amd64 kernel (recorded in
// testdata/kernels) has DentryName 0x28 and FileDentry 0x48.
type VFSLayout struct {
	DentryName uint64 // offsetof(struct dentry, d_name.name)
	FileDentry uint64 // offsetof(struct file, f_path.dentry)
}

// IsZero reports an unknown layout.
func (l VFSLayout) IsZero() bool { return l == VFSLayout{} }

// expand is the kernel's rewrite of FETCH:%pd (file false) or FETCH:%pD.
func (l VFSLayout) expand(fetch string, file bool) string {
	s := "+0x0(+0x" + strconv.FormatUint(l.DentryName, 16) + "("
	if file {
		s += "+0x" + strconv.FormatUint(l.FileDentry, 16) + "(" + fetch + ")"
	} else {
		s += fetch
	}
	return s + ")):string"
}
