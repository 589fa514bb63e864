package script

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tracelet/tracelet/asm"
)

// inetSize is the size of an ntop() value: the address family as a u64
// (AF_INET or AF_INET6, which may be known only when the program runs:
// ntop(args->family, ...)), then 16 bytes of address in network order, of
// which AF_INET uses the first 4. bpftrace's inet type is laid out the
// same way (a family, then the address bytes).
const inetSize = 24

const usageNtop = "ntop([AF_INET|AF_INET6|family, ]address)"

// ntop types ntop([af, ]addr). The address is an integer (an IPv4 address
// in network byte order, as skc_daddr), or an array of 4 or 16 bytes: a
// tracepoint's __u8 saddr[4] or saddr_v6[16] (sock:inet_sock_set_state,
// tcp:tcp_retransmit_skb) or a kernel member such as
// skc_v6_daddr.in6_u.u6_addr8 (BTF). Without a family, a 16-byte array
// is AF_INET6 and anything else AF_INET, as in bpftrace.
func (c *checker) ntop(e *Call) *Type {
	if len(e.Args) < 1 || len(e.Args) > 2 {
		c.errorf(e.Pos, "ntop() takes 1 or 2 arguments, not %d (usage: %s)", len(e.Args), usageNtop)
		return nil
	}
	af := int64(0) // 0: known only at run time
	if len(e.Args) == 2 {
		t := c.expr(e.Args[0])
		if t == nil {
			return nil
		}
		if !t.IsInt() {
			c.errorf(e.Args[0].Position(), "ntop()'s address family must be an integer (AF_INET, AF_INET6 or a family field), not %s (usage: %s)", t, usageNtop)
			return nil
		}
		if v, ok := foldConst(e.Args[0]); ok {
			af = int64(v)
			if af != 2 && af != 10 {
				c.errorf(e.Args[0].Position(), "ntop()'s address family must be AF_INET or AF_INET6, not %d (usage: %s)", af, usageNtop)
				return nil
			}
		}
	}
	addr := e.Args[len(e.Args)-1]
	var t *Type
	if f, ok := addr.(*FieldExpr); ok && c.isTracepointArgs(f) {
		t = c.byteField(f)
	} else {
		t = c.expr(addr)
	}
	if t == nil {
		return nil
	}
	n := addrSize(t)
	switch {
	case n == 0:
		c.errorf(addr.Position(), "ntop() needs an IPv4 address as an integer in network byte order, or an array of 4 or 16 bytes, not %s", t)
		return nil
	case af == 10 && n != 16:
		c.errorf(addr.Position(), "ntop(AF_INET6, ...) needs a 16-byte address (an array such as args->daddr_v6 or skc_v6_daddr.in6_u.u6_addr8), not %s", t)
		return nil
	}
	return &Type{Kind: KindInet, Size: inetSize}
}

// addrSize is how many address bytes ntop() takes from a value of type t:
// 8 for an integer (of which AF_INET reads the first 4 in memory order), 4
// or 16 for a byte array, 0 for anything else.
func addrSize(t *Type) int {
	switch {
	case t.IsInt() && !t.Ptr:
		return 8
	case (t.Kind == KindRecord || inKernel(t)) && (t.Size == 4 || t.Size == 16):
		// a tracepoint's __u8[N], or a BTF array of bytes (which the
		// checker types as a string, as char comm[16])
		return t.Size
	}
	return 0
}

// isTracepointArgs reports whether f is args->FIELD of a tracepoint (a
// format-file field, not a BTF-typed argument).
func (c *checker) isTracepointArgs(f *FieldExpr) bool {
	b, ok := f.X.(*Builtin)
	return ok && b.Name == "args" && c.probe != nil && len(c.probe.Attach) > 0 && c.probe.Attach[0].Type == Tracepoint
}

// byteField types a tracepoint's byte array field, such as __u8 saddr[4],
// which only ntop() reads: elsewhere the field stays unusable. Each attach
// point must have it with the same size (the offsets may differ).
func (c *checker) byteField(e *FieldExpr) (t *Type) {
	defer func() { e.setType(t) }()
	e.X.setType(ArgsRec)
	e.fds = map[*AttachPoint]*FormatField{}
	for _, a := range c.probe.Attach {
		fd := c.tracepointField(a, e)
		if fd == nil {
			return nil
		}
		if fd.Layout == LayoutInt {
			if t == nil {
				t = c.fieldType(fd, a)
			}
		} else if !isByteArray(fd) {
			c.errorf(e.Pos, "field %s of %s has type %q: ntop() needs an integer or an array of 4 or 16 bytes", e.Field, a.Raw, fd.CType)
			return nil
		} else if t == nil {
			t = &Type{Kind: KindRecord, Size: fd.Size, C: fd.CType}
		}
		if t.Kind == KindRecord && t.Size != fd.Size || t.Kind != KindRecord && fd.Layout != LayoutInt {
			c.errorf(e.Pos, "field %s has different types in the attach points (%s in %s): one action block needs one type", e.Field, fd.CType, a.Raw)
			return nil
		}
		e.fds[a] = fd
		if e.fd == nil {
			e.fd = fd
		}
	}
	return t
}

// isByteArray reports whether a format field is an array of 4 or 16 bytes
// ("__u8[4]", "u8[16]", "unsigned char[16]").
func isByteArray(fd *FormatField) bool {
	if fd.Size != 4 && fd.Size != 16 {
		return false
	}
	base, _, ok := strings.Cut(fd.CType, "[")
	if !ok {
		return false
	}
	switch strings.TrimSpace(base) {
	case "__u8", "u8", "unsigned char", "uint8_t", "__s8", "s8", "char", "signed char":
		return true
	}
	return false
}

// ntop writes an inet value at off: the family, then the address.
func (g *gen) ntop(e *Call, off int16, size int) {
	addr := e.Args[len(e.Args)-1]
	t := TypeOf(addr)
	n := addrSize(t)
	if len(e.Args) == 2 {
		g.value(e.Args[0], asm.R7)
		g.emit(asm.StoreMem(asm.R10, off, asm.R7, asm.DWord))
	} else {
		af := int32(2)
		if n == 16 {
			af = 10
		}
		g.emit(asm.StoreImm(asm.R10, off, af, asm.DWord))
	}
	if size > inetSize {
		g.zero(off+inetSize, size-inetSize)
	}
	a := off + 8
	if n == 8 {
		g.value(addr, asm.R7)
		g.emit(asm.StoreMem(asm.R10, a, asm.R7, asm.DWord))
		g.zero(a+8, 8)
		return
	}
	if f, ok := addr.(*FieldExpr); ok && f.mem == nil {
		// a tracepoint's byte array, read from the record (its offset
		// need not be aligned: tcp_retransmit_skb's saddr is at 34)
		fd := f.fieldAt(g.ap)
		g.zeroTail(a, n, 16)
		g.stackPtr(asm.R1, a)
		g.emit(asm.Mov.Imm(asm.R2, int32(n)))
		g.emit(asm.Mov.Reg(asm.R3, asm.R6))
		g.emit(asm.Add.Imm(asm.R3, int32(fd.Offset)))
		g.call(g.helper(asm.FnProbeReadKernel))
		return
	}
	switch addr.(type) {
	case *FieldExpr, *Index:
		g.memberString(addr, a, 16)
		return
	}
	g.errorf(addr.Position(), "ntop() cannot read the address %s", describe(addr))
}

// formatInet prints an inet value as inet_ntop(3) does.
func formatInet(b []byte) string {
	if len(b) < inetSize {
		return fmt.Sprintf("<inet: %d bytes>", len(b))
	}
	if u64(b) == 10 {
		return netip.AddrFrom16([16]byte(b[8:24])).String()
	}
	return netip.AddrFrom4([4]byte(b[8:12])).String()
}
