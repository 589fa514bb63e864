package trace

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// kallsymsModules has what a machine with modules lists: vmlinux's text
// in address order (with an alias, a data symbol and a weak one), then a
// module's symbols out of order, then a second module (one of its symbols at the first one's address), and a symbol that
// kptr_restrict zeroed.
const kallsymsModules = `ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81000100 t helper
ffffffff81000200 D some_data
ffffffff81000300 W weak_fn
ffffffff81001000 T last_core
ffffffffc0002000 t mod_b	[mod]
ffffffffc0001000 t mod_a	[mod]
ffffffffc0003000 t mod_c	[mod]
ffffffffc0010000 t other_x	[other]
ffffffffc000f000 t other_w	[other]
ffffffffc0001000 t other_a	[other]
0000000000000000 T hidden
`

// resolveKallsyms answers as the whole table does, on a synthetic list
// with modules out of order and aliases.
func TestResolveKallsymsModules(t *testing.T) {
	want := map[uint64]string{
		0xffffffff80ffffff: "",
		0xffffffff81000000: "startup_64+0x0", // the last of two at one address
		0xffffffff81000150: "helper+0x50",    // some_data is not text
		0xffffffff81000250: "helper+0x150",
		0xffffffff81000301: "weak_fn+0x1",
		0xffffffff81005000: "last_core+0x4000",
		0xffffffffc0001004: "other_a+0x4", // the last in the file at mod_a's address
		0xffffffffc0002fff: "mod_b+0xfff",
		0xffffffffc0003008: "mod_c+0x8",
		0xffffffffc000f001: "other_w+0x1",
		0xffffffffc0010002: "other_x+0x2",
	}
	var addrs []uint64
	for a := range want {
		addrs = append(addrs, a)
	}
	got := resolveKallsyms(strings.NewReader(kallsymsModules), addrs)
	full := NewSymbolizer()
	full.kOnce = true
	full.loadKallsymsFrom(strings.NewReader(kallsymsModules))
	for a, w := range want {
		if got[a] != w {
			t.Errorf("resolveKallsyms %#x: got %q, want %q", a, got[a], w)
		}
		if f := full.Kernel(a); f != w {
			t.Errorf("the whole table %#x: got %q, want %q", a, f, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d answers, want %d", len(got), len(want))
	}
}

// On this machine's own /proc/kallsyms, one pass for a batch names every
// address as the whole table does: symbols' own addresses, the bytes
// around them, and addresses drawn at random across the text.
func TestResolveKallsymsMatchesTable(t *testing.T) {
	b, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Skip("no /proc/kallsyms to read:", err)
	}
	full := NewSymbolizer()
	full.kOnce = true
	full.loadKallsymsFrom(bytes.NewReader(b))
	if len(full.kAddrs) == 0 {
		t.Skip("/proc/kallsyms shows no text symbol addresses here (kptr_restrict, or not root)")
	}
	lo, hi := full.kAddrs[0], full.kAddrs[len(full.kAddrs)-1]
	rng := rand.New(rand.NewPCG(1, 2))
	var addrs []uint64
	for i := 0; i < len(full.kAddrs); i += 37 {
		a := full.kAddrs[i]
		addrs = append(addrs, a, a-1, a+1)
	}
	for range 2000 {
		addrs = append(addrs, lo+rng.Uint64N(hi-lo+4096))
	}
	addrs = append(addrs, lo-1)
	got := resolveKallsyms(bytes.NewReader(b), addrs)
	bad := 0
	for _, a := range addrs {
		if w := full.Kernel(a); got[a] != w {
			if bad++; bad <= 10 {
				t.Errorf("%#x: one pass gives %q, the table %q", a, got[a], w)
			}
		}
	}
	t.Logf("%d addresses over %d text symbols; %d differ", len(addrs), len(full.kAddrs), bad)
}

// A Symbolizer answers prefetched addresses without loading the table.
func TestPrefetchKernel(t *testing.T) {
	full := NewSymbolizer()
	full.Kernel(^uint64(0)) // loads the table
	if len(full.kAddrs) == 0 {
		t.Skip("/proc/kallsyms shows no text symbol addresses here (kptr_restrict, or not root)")
	}
	a := full.kAddrs[len(full.kAddrs)/2] + 3
	s := NewSymbolizer()
	s.PrefetchKernel([]uint64{a})
	if s.kOnce || len(s.kAddrs) != 0 {
		t.Fatal("PrefetchKernel loaded the whole table")
	}
	if got, want := s.Kernel(a), full.Kernel(a); got != want || !strings.HasSuffix(got, "+0x3") {
		t.Errorf("got %q, want %q", got, want)
	}
	if s.kOnce {
		t.Error("Kernel of a prefetched address loaded the whole table")
	}
}
