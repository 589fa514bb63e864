package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// FuzzNotes feeds arbitrary bytes to the note parser in both classes and
// byte orders: it must return probes or an error, never panic or allocate
// without bound.
func FuzzNotes(f *testing.F) {
	f.Add(encodeNotes(binary.LittleEndian, elf.ELFCLASS64, []synthNote{{"prov", "name", "-4@%edi 8@-16(%rbp)", 0x1000, 0x2000, 0x3000}}), uint8(0))
	f.Add(encodeNotes(binary.BigEndian, elf.ELFCLASS32, []synthNote{{"p", "n", "", 1, 2, 0}}), uint8(3))
	for _, fx := range []string{"probes-x86_64", "probes-arm.so"} {
		raw, err := os.ReadFile(filepath.Join("testdata", fx))
		if err != nil {
			f.Fatal(err)
		}
		ef, err := elf.NewFile(bytes.NewReader(raw))
		if err != nil {
			f.Fatal(err)
		}
		if s := ef.Section(noteSection); s != nil {
			d, _ := s.Data()
			f.Add(d, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		order := binary.ByteOrder(binary.LittleEndian)
		if mode&1 != 0 {
			order = binary.BigEndian
		}
		class := elf.ELFCLASS64
		if mode&2 != 0 {
			class = elf.ELFCLASS32
		}
		align := 4
		if mode&4 != 0 {
			align = 8
		}
		ps, err := parseNotes(data, order, class, align)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Provider == "" || p.Name == "" {
				t.Fatalf("probe without a provider or name: %+v", p)
			}
			// Whatever the note says, the argument parser copes.
			for _, arch := range []kprobeevents.Arch{kprobeevents.ArchX86_64, kprobeevents.ArchARM64} {
				_, _ = ParseArgs(arch, p.Args)
			}
		}
	})
}

// FuzzArgs checks the argument parsers of every architecture: no panic, and
// every argument accepted renders a fetcharg that the kprobeevents grammar
// takes for that architecture.
func FuzzArgs(f *testing.F) {
	for _, c := range argCases {
		f.Add(c.spec)
	}
	f.Add("-4@%edi 8@-16(%rbp) -8@$42")
	f.Add("8@[sp, 16] -4@w2")
	f.Fuzz(func(t *testing.T, s string) {
		for _, arch := range []kprobeevents.Arch{kprobeevents.ArchX86_64, kprobeevents.ArchI386,
			kprobeevents.ArchARM64, kprobeevents.ArchARM, kprobeevents.ArchRISCV64} {
			args, err := ParseArgs(arch, s)
			if err != nil {
				continue
			}
			for _, a := range args {
				switch a.Size {
				case 1, 2, 4, 8:
				default:
					t.Fatalf("%v %q: size %d", arch, s, a.Size)
				}
				def := "p:g/e /bin/x:0x10 a=" + a.Fetcharg()
				if _, err := kprobeevents.ParseProbe(def, kprobeevents.Options{Arch: arch}); err != nil {
					t.Fatalf("%v %q: kprobeevents rejects %q: %v", arch, s, def, err)
				}
			}
		}
	})
}

// FuzzFile feeds whole files to NewFile: a corrupt ELF gives an error or
// probes, and every probe either has an error or parses its arguments
// without panicking.
func FuzzFile(f *testing.F) {
	for _, fx := range []string{"probes-i386.so", "probes-arm.so", "probes-riscv64.so"} {
		raw, err := os.ReadFile(filepath.Join("testdata", fx))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add(synthELF(f, elf.ELFCLASS32, binary.BigEndian, elf.EM_ARM, []synthNote{{"p", "n", "-4@r0 4@[fp, #-8]", textVA + 0x104, textVA + baseOff, dataVA + 8}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewFile(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := range file.Probes {
			p := &file.Probes[i]
			if _, err := p.UprobeEvent("g", "e", "/x", file.Arch); err == nil && p.Err != nil {
				t.Fatalf("%s: UprobeEvent ignored %v", p.String(), p.Err)
			}
		}
	})
}
