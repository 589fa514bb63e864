package script

import (
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
)

func inetValue(af byte, addr ...byte) []byte {
	b := make([]byte, inetSize)
	b[0] = af
	copy(b[8:], addr)
	return b
}

// An inet value prints as inet_ntop(3) prints the address.
func TestFormatInet(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{inetValue(2, 127, 0, 0, 1), "127.0.0.1"},
		{inetValue(2, 10, 1, 2, 3, 9, 9, 9, 9), "10.1.2.3"}, // AF_INET reads 4 bytes
		{inetValue(10, []byte{15: 1}...), "::1"},
		{inetValue(10, []byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}...), "::ffff:127.0.0.1"},
		{inetValue(10, []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}...), "2001:db8::1"},
		{inetValue(10), "::"},
		{make([]byte, 8), "<inet: 8 bytes>"},
	} {
		if got := formatInet(c.b); got != c.want {
			t.Errorf("% x: %q, want %q", c.b, got, c.want)
		}
	}
}

// ntop() of a tracepoint's byte arrays: each attach point reads the field
// at its own offset (saddr is at 32 in inet_sock_set_state and at 34 in
// tcp_retransmit_skb, Linux 6.18), 4 or 16 bytes into the value.
func TestNtopTracepointArrays(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	src := `tracepoint:sock:inet_sock_set_state, tracepoint:tcp:tcp_retransmit_skb
{ @[ntop(args->saddr), ntop(args->daddr_v6), ntop(args->family, args->saddr_v6), ntop(AF_INET, args->sport)] = count(); }`
	obj, err := CompileSource("-e", []byte(src), CheckOptions{Formats: fixtureFormats}, Options{Arch: amd64})
	if err != nil {
		t.Fatal(err)
	}
	if k := obj.Maps[0].Info.Keys; len(k) != 4 || k[0].Kind != KindInet || k[0].Size != inetSize {
		t.Fatalf("keys: %v", k)
	}
	for i, want := range [][]string{
		{"r3 += 32", "r3 += 56", "r3 += 40", "r2 = 4", "r2 = 16"},
		{"r3 += 34", "r3 += 58", "r3 += 42"},
	} {
		insns, err := obj.Programs[i].Insns.Assemble()
		if err != nil {
			t.Fatal(err)
		}
		l := insns.String()
		for _, w := range want {
			if !strings.Contains(l, w) {
				t.Errorf("%s: no %q in\n%s", obj.Programs[i].Attach.Raw, w, l)
			}
		}
	}
}

func TestNtopErrors(t *testing.T) {
	const tp = "tracepoint:sock:inet_sock_set_state "
	for _, c := range []struct{ src, want string }{
		{`BEGIN { @x = ntop(); }`, "-e:1:14: ntop() takes 1 or 2 arguments, not 0"},
		{`BEGIN { @x = ntop(7, 1); }`, "-e:1:19: ntop()'s address family must be AF_INET or AF_INET6, not 7"},
		{`BEGIN { @x = ntop("a", 1); }`, "ntop()'s address family must be an integer"},
		{`BEGIN { @x = ntop(comm); }`, "-e:1:19: ntop() needs an IPv4 address as an integer in network byte order, or an array of 4 or 16 bytes, not string[16]"},
		{tp + `{ @x = ntop(AF_INET6, args->saddr); }`, "-e:1:65: ntop(AF_INET6, ...) needs a 16-byte address (an array such as args->daddr_v6 or skc_v6_daddr.in6_u.u6_addr8), not __u8[4]"},
		{tp + `{ @x = ntop(args->saddr6); }`, `-e:1:55: tracepoint sock:inet_sock_set_state has no field "saddr6"; did you mean "saddr"?`},
		// Elsewhere the arrays stay unusable.
		{tp + `{ @x = args->saddr; }`, `field saddr of tracepoint:sock:inet_sock_set_state has type "__u8[4]", which scripts cannot use`},
	} {
		_, _, err := checkSrc(c.src, fixtureFormats)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
}

// The IPPROTO_* constants, which scripts need without BTF (the i386
// guest's kernel has none), are the kernel's own (an enum in
// include/uapi/linux/in.h, so in BTF); IPPROTO_ICMPV6 is a #define of
// include/uapi/linux/in6.h, which TestConstantsMatchUnix checks.
func TestIPProtoConstants(t *testing.T) {
	spec := fixtureBTF(t)
	n := 0
	for name, v := range constants {
		if !strings.HasPrefix(name, "IPPROTO_") || name == "IPPROTO_ICMPV6" {
			continue
		}
		c, err := spec.EnumConstant(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.Value != v {
			t.Errorf("%s = %d, BTF says %d", name, v, c.Value)
		}
		n++
	}
	if n < 7 {
		t.Errorf("%d IPPROTO_ constants", n)
	}
}
