package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// synthNote is one stapsdt note for synthELF.
type synthNote struct {
	provider, name, args string
	pc, base, sem        uint64
}

// Layout of synthELF: a text segment of file [0, 0x300) at textVA holding
// nops at 0x100 and .stapsdt.base at 0x200, and a data segment of file
// [0x1000, 0x1010) at dataVA whose memory runs on to 0x100 bytes (bss),
// with .probes at 0x1008.
const (
	textVA  = 0x400000
	dataVA  = 0x601000
	baseOff = 0x200
)

// encodeNotes lays the notes out as a .note.stapsdt section: 4-byte
// aligned, the addresses as wide as the class's.
func encodeNotes(order binary.ByteOrder, class elf.Class, notes []synthNote) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for _, n := range notes {
		var desc bytes.Buffer
		for _, a := range []uint64{n.pc, n.base, n.sem} {
			if class == elf.ELFCLASS32 {
				binary.Write(&desc, order, uint32(a))
			} else {
				binary.Write(&desc, order, a)
			}
		}
		desc.WriteString(n.provider + "\x00" + n.name + "\x00" + n.args + "\x00")
		binary.Write(&b, order, [3]uint32{8, uint32(desc.Len()), NT_STAPSDT})
		b.WriteString("stapsdt\x00")
		b.Write(desc.Bytes())
		pad()
	}
	return b.Bytes()
}

// synthELF writes a minimal ELF file of any class and byte order carrying
// the notes, for what no compiler on this machine produces (big-endian,
// prelinked files).
func synthELF(t testing.TB, class elf.Class, order binary.ByteOrder, machine elf.Machine, notes []synthNote) []byte {
	t.Helper()
	file := make([]byte, 0x1100)
	for i := 0x100; i < 0x110; i++ {
		file[i] = 0x90
	}
	noteData := encodeNotes(order, class, notes)
	noteOff := uint64(len(file))
	file = append(file, noteData...)
	shstr := "\x00.stapsdt.base\x00.probes\x00.note.stapsdt\x00.shstrtab\x00"
	strOff := uint64(len(file))
	file = append(file, shstr...)
	for len(file)%8 != 0 {
		file = append(file, 0)
	}
	shOff := uint64(len(file))
	type sec struct {
		name                  string
		typ                   elf.SectionType
		flags                 elf.SectionFlag
		addr, off, size, algn uint64
	}
	secs := []sec{
		{},
		{".stapsdt.base", elf.SHT_PROGBITS, elf.SHF_ALLOC, textVA + baseOff, baseOff, 1, 1},
		{".probes", elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_WRITE, dataVA + 8, 0x1008, 2, 2},
		{".note.stapsdt", elf.SHT_NOTE, 0, 0, noteOff, uint64(len(noteData)), 4},
		{".shstrtab", elf.SHT_STRTAB, 0, 0, strOff, uint64(len(shstr)), 1},
	}
	type prog struct{ flags, off, va, filesz, memsz uint64 }
	progs := []prog{
		{uint64(elf.PF_R | elf.PF_X), 0, textVA, 0x300, 0x300},
		{uint64(elf.PF_R | elf.PF_W), 0x1000, dataVA, 0x10, 0x100},
	}
	var b bytes.Buffer
	b.Write(file)
	w := func(v any) { binary.Write(&b, order, v) }
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(class), 0, byte(elf.EV_CURRENT)}
	if order == binary.LittleEndian {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	} else {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	var hdr bytes.Buffer
	hw := func(v any) { binary.Write(&hdr, order, v) }
	if class == elf.ELFCLASS64 {
		for _, s := range secs {
			w(elf.Section64{Name: uint32(strings.Index(shstr, "\x00"+s.name+"\x00") + 1), Type: uint32(s.typ), Flags: uint64(s.flags),
				Addr: s.addr, Off: s.off, Size: s.size, Addralign: s.algn})
		}
		phOff := uint64(b.Len())
		for _, p := range progs {
			w(elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(p.flags), Off: p.off, Vaddr: p.va, Paddr: p.va,
				Filesz: p.filesz, Memsz: p.memsz, Align: 0x1000})
		}
		hw(elf.Header64{Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: 1,
			Phoff: phOff, Shoff: shOff, Ehsize: 64, Phentsize: 56, Phnum: uint16(len(progs)),
			Shentsize: 64, Shnum: uint16(len(secs)), Shstrndx: uint16(len(secs) - 1)})
	} else {
		for _, s := range secs {
			w(elf.Section32{Name: uint32(strings.Index(shstr, "\x00"+s.name+"\x00") + 1), Type: uint32(s.typ), Flags: uint32(s.flags),
				Addr: uint32(s.addr), Off: uint32(s.off), Size: uint32(s.size), Addralign: uint32(s.algn)})
		}
		phOff := uint32(b.Len())
		for _, p := range progs {
			w(elf.Prog32{Type: uint32(elf.PT_LOAD), Flags: uint32(p.flags), Off: uint32(p.off), Vaddr: uint32(p.va), Paddr: uint32(p.va),
				Filesz: uint32(p.filesz), Memsz: uint32(p.memsz), Align: 0x1000})
		}
		hw(elf.Header32{Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: 1,
			Phoff: phOff, Shoff: uint32(shOff), Ehsize: 52, Phentsize: 32, Phnum: uint16(len(progs)),
			Shentsize: 40, Shnum: uint16(len(secs)), Shstrndx: uint16(len(secs) - 1)})
	}
	out := b.Bytes()
	copy(out, hdr.Bytes())
	return out
}

// TestSynthetic reads notes from both classes and byte orders, with and
// without a prelink shift.
func TestSynthetic(t *testing.T) {
	for _, c := range []struct {
		class   elf.Class
		order   binary.ByteOrder
		machine elf.Machine
		args    string
		fetch   string
	}{
		{elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, "-4@%edi 8@-16(%rbp)", `%di:s32 -16(%bp):u64`},
		{elf.ELFCLASS64, binary.BigEndian, elf.EM_AARCH64, "-4@w0 8@[sp, 16]", `%x0:s32 +16(%sp):u64`},
		{elf.ELFCLASS32, binary.LittleEndian, elf.EM_386, "-4@%eax 4@8(%ebp)", `%ax:s32 +8(%bp):u32`},
		{elf.ELFCLASS32, binary.BigEndian, elf.EM_ARM, "-4@r0 4@[fp, #-8]", `%r0:s32 -8(%fp):u32`},
		{elf.ELFCLASS64, binary.LittleEndian, elf.EM_RISCV, "-4@a0 8@-16(s0)", `%a0:s32 -16(%s0):u64`},
	} {
		for _, shift := range []uint64{0, 0x10000} {
			name := c.machine.String() + "/" + c.order.String()
			// A prelinked file moved by shift: the note keeps the old
			// addresses, .stapsdt.base (synthELF's) has the new.
			notes := []synthNote{
				{"prov", "a", c.args, textVA + 0x104 - shift, textVA + baseOff - shift, dataVA + 8 - shift},
				{"prov", "b", "", textVA + 0x10f - shift, textVA + baseOff - shift, 0},
			}
			raw := synthELF(t, c.class, c.order, c.machine, notes)
			f, err := NewFile(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(f.Probes) != 2 {
				t.Fatalf("%s: %d probes", name, len(f.Probes))
			}
			a, b := &f.Probes[0], &f.Probes[1]
			if a.Offset != 0x104 || a.SemaphoreOffset != 0x1008 || b.Offset != 0x10f || b.SemaphoreOffset != 0 {
				t.Errorf("%s shift %#x: offsets %#x/%#x and %#x/%#x, want 0x104/0x1008 and 0x10f/0", name, shift,
					a.Offset, a.SemaphoreOffset, b.Offset, b.SemaphoreOffset)
			}
			if a.PC != notes[0].pc || a.Base != notes[0].base || a.Semaphore != notes[0].sem {
				t.Errorf("%s: note addresses %#x %#x %#x changed", name, a.PC, a.Base, a.Semaphore)
			}
			args, err := a.ParseArgs(f.Arch)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var got []string
			for _, x := range args {
				got = append(got, x.Fetcharg())
			}
			if strings.Join(got, " ") != c.fetch {
				t.Errorf("%s: %q, want %q", name, strings.Join(got, " "), c.fetch)
			}
		}
	}
}

func TestSyntheticErrors(t *testing.T) {
	le := binary.LittleEndian
	good := synthNote{"p", "good", "8@%rdi", textVA + 0x100, textVA + baseOff, 0}
	for _, c := range []struct {
		note    synthNote
		err     string
		perNote bool // the file reads, the probe carries the error
	}{
		{synthNote{"p", "bss", "", textVA + 0x100, textVA + baseOff, dataVA + 0x80}, "semaphore: address 0x601080 is in no file-backed part", true},
		{synthNote{"p", "nowhere", "8@%rdi", 0, 0, 0}, "probe address: address 0x0", true},
		{synthNote{"", "x", "", textVA + 0x100, textVA + baseOff, 0}, "empty provider", false},
	} {
		raw := synthELF(t, elf.ELFCLASS64, le, elf.EM_X86_64, []synthNote{c.note, good})
		f, err := NewFile(bytes.NewReader(raw))
		if c.perNote {
			if err != nil {
				t.Fatalf("%s: %v", c.note.name, err)
			}
			err = f.Probes[0].Err
			if _, perr := f.Probes[0].ParseArgs(f.Arch); perr != err {
				t.Errorf("%s: ParseArgs error %v, want the probe's", c.note.name, perr)
			}
			if _, perr := f.Probes[0].UprobeEvent("g", "e", "/x", f.Arch); perr != err {
				t.Errorf("%s: UprobeEvent error %v, want the probe's", c.note.name, perr)
			}
			if g := f.Probes[1]; g.Err != nil || g.Offset != 0x100 {
				t.Errorf("%s: the next probe suffers: %+v", c.note.name, g)
			}
		}
		var e *Error
		if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &e) {
			t.Errorf("%s: error %v, want an *Error containing %q", c.note.name, err, c.err)
		}
	}
}

func TestParseNotesTruncated(t *testing.T) {
	le := binary.LittleEndian
	data := encodeNotes(le, elf.ELFCLASS64, []synthNote{{"prov", "name", "8@%rax", 1, 2, 3}})
	for n := 1; n < len(data); n++ {
		// Only the padding after the last string may be cut.
		if ps, err := parseNotes(data[:n], le, elf.ELFCLASS64, 4); err == nil && (len(ps) != 1 || ps[0].Args != "8@%rax") {
			t.Errorf("truncated to %d bytes: no error and %+v", n, ps)
		}
	}
	// Other owners and types are skipped.
	var b bytes.Buffer
	binary.Write(&b, le, [3]uint32{4, 4, 1})
	b.WriteString("GNU\x00abcd")
	b.Write(data)
	ps, err := parseNotes(b.Bytes(), le, elf.ELFCLASS64, 4)
	if err != nil || len(ps) != 1 || ps[0].String() != "prov:name" {
		t.Errorf("%+v, %v", ps, err)
	}
}
