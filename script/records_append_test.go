package script

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestAppendVerbMatchesFormatVerb holds the allocation-free conversions of
// appendVerb to formatVerb's (fmt's) text, for every conversion and length
// on integers of each size and sign, at edge and random values.
func TestAppendVerbMatchesFormatVerb(t *testing.T) {
	o := &Object{}
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000005, 1 << 63, ^uint64(0)}
	for range 200 {
		values = append(values, rng.Uint64())
	}
	for _, conv := range []byte{'d', 'i', 'u', 'x', 'X', 'o', 'c', 'p'} {
		for _, length := range []string{"", "h", "hh", "l", "ll"} {
			v := Verb{Conv: conv, Length: length, Width: -1, Prec: -1}
			for _, size := range []int{1, 2, 4, 8} {
				for _, signed := range []bool{false, true} {
					typ := &Type{Kind: KindInt, Size: size, Signed: signed}
					for _, x := range values {
						arg := binary.NativeEndian.AppendUint64(nil, x)
						got := string(o.appendVerb(nil, v, typ, arg, &Resolver{}))
						want := formatVerb(v, o.argText(typ, arg, &Resolver{}), typ, arg)
						if got != want {
							t.Fatalf("%%%s%c of %#x (%d bytes, signed %v): appendVerb %q, formatVerb %q", length, conv, x, size, signed, got, want)
						}
					}
				}
			}
		}
	}
	str := &Type{Kind: KindString, Size: 16}
	for _, s := range []string{"", "bash", "0123456789abcdef", "a\x00b", "\xff\xfe"} {
		arg := make([]byte, 16)
		copy(arg, s)
		v := Verb{Conv: 's', Width: -1, Prec: -1}
		if got, want := string(o.appendVerb(nil, v, str, arg, &Resolver{})), formatVerb(v, o.argText(str, arg, &Resolver{}), str, arg); got != want {
			t.Errorf("%%s of %q: appendVerb %q, formatVerb %q", s, got, want)
		}
	}
}
