package usdt

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// nops are the encodings gas emits for "nop", as the file stores them.
var nops = map[kprobeevents.Arch][][]byte{
	kprobeevents.ArchX86_64:  {{0x90}},
	kprobeevents.ArchI386:    {{0x90}},
	kprobeevents.ArchARM64:   {{0x1f, 0x20, 0x03, 0xd5}},
	kprobeevents.ArchARM:     {{0x00, 0xbf}, {0x00, 0xf0, 0x20, 0xe3}}, // Thumb-2, A32
	kprobeevents.ArchRISCV64: {{0x01, 0x00}, {0x13, 0x00, 0x00, 0x00}}, // c.nop, addi x0,x0,0
}

// isNop reports whether the file holds a nop at off; the independent
// witness that the address-to-offset conversion is right.
func isNop(arch kprobeevents.Arch, raw []byte, off uint64) bool {
	for _, n := range nops[arch] {
		if off <= uint64(len(raw)) && bytes.HasPrefix(raw[off:], n) {
			return true
		}
	}
	return false
}

// TestCrossFixtures reads probes.c as the cross compilers of Debian 12
// built it (see the comment at the top of probes.c): shared objects for
// i386 (gcc -m32), arm64, 32-bit arm (Thumb-2) and riscv64, so that every architecture's
// operand syntax is read from a real compiler's output on any machine.
func TestCrossFixtures(t *testing.T) {
	cases := []struct {
		file string
		arch kprobeevents.Arch
		want map[string]string
	}{
		{"probes-i386.so", kprobeevents.ArchI386, map[string]string{
			"args": `%bx:s32 %ax:u32 %cx:s16 %dx:u8 \-7:s32`,
			"mem":  `+12(%sp):u32 +0(%di):u64`,
			"fire": `%bx:s32 %ax:u32`,
		}},
		{"probes-arm64.so", kprobeevents.ArchARM64, map[string]string{
			"args": `%x0:s32 %x1:u64 %x2:s16 %x3:u8 \-7:s32`,
			"mem":  `+8(%sp):u64 +0(%x4):u64`,
			"fire": `%x0:s32 %x1:u64`,
		}},
		{"probes-arm.so", kprobeevents.ArchARM, map[string]string{
			"args": `%r0:s32 %r1:u32 %r2:s16 %r3:u8 \-7:s32`,
			"mem":  `+4(%sp):u32 +0(%r4):u64`,
			"fire": `%r0:s32 %r1:u32`,
		}},
		{"probes-riscv64.so", kprobeevents.ArchRISCV64, map[string]string{
			"args": `%a0:s32 %a1:u64 %a2:s16 %a3:u8 \-7:s32`,
			"mem":  `+8(%sp):u64 +0(%a5):u64`,
			"fire": `%a0:s32 %a1:u64`,
		}},
	}
	for _, c := range cases {
		t.Run(c.arch.String(), func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewFile(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if f.Arch != c.arch {
				t.Fatalf("arch %v, want %v", f.Arch, c.arch)
			}
			if len(f.Probes) != 4 {
				t.Fatalf("%d probes, want 4", len(f.Probes))
			}
			for _, p := range f.Probes {
				if !isNop(f.Arch, raw, p.Offset) {
					t.Errorf("%s: offset %#x does not hold a nop", p.String(), p.Offset)
				}
			}
			ef, _ := elf.NewFile(bytes.NewReader(raw))
			fire, err := f.Lookup("tracelet", "fire")
			if err != nil {
				t.Fatal(err)
			}
			if s := ef.Section(".probes"); fire.SemaphoreOffset != s.Offset || fire.Semaphore != s.Addr {
				t.Errorf("semaphore %#x at %#x, want .probes %#x at %#x", fire.Semaphore, fire.SemaphoreOffset, s.Addr, s.Offset)
			}
			for name, want := range c.want {
				p, err := f.Lookup("tracelet", name)
				if err != nil {
					t.Fatal(err)
				}
				args, err := p.ParseArgs(f.Arch)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, a := range args {
					got = append(got, a.Fetcharg())
				}
				if strings.Join(got, " ") != want {
					t.Errorf("%s (%q): %q, want %q", name, p.Args, strings.Join(got, " "), want)
				}
				line, err := p.UprobeEvent("g", name, "/lib/"+c.file, f.Arch)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := kprobeevents.ParseProbe(line, kprobeevents.Options{Arch: f.Arch}); err != nil {
					t.Errorf("kprobeevents rejects %q: %v", line, err)
				}
			}
		})
	}
}
