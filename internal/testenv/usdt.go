package testenv

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"
)

// USDTNote is one stapsdt note: a probe at pc with semaphore sem (0 for
// none) and its argument string.
type USDTNote struct {
	Provider, Name, Args string
	PC, Semaphore        uint64
}

// WithUSDTNotes copies the ELF file src to dst with a .note.stapsdt
// section holding notes, as a linker would have left it had the program
// used sys/sdt.h: the notes, a section header string table that names the
// new section, and a section header table with one more entry, all
// appended, the ELF header pointing at them. The note section is not
// allocated, so no segment changes and the program runs as before. This
// gives a Go-built program, of any architecture the VM guests run, USDT
// probes without a C compiler.
func WithUSDTNotes(t testing.TB, src, dst string, notes []USDTNote) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	order, word := ef.ByteOrder, 8
	if ef.Class == elf.ELFCLASS32 {
		word = 4
	}
	put := func(buf *bytes.Buffer, v uint64, size int) {
		switch size {
		case 2:
			binary.Write(buf, order, uint16(v))
		case 4:
			binary.Write(buf, order, uint32(v))
		default:
			binary.Write(buf, order, v)
		}
	}
	align := func(buf *bytes.Buffer, n int) {
		for buf.Len()%n != 0 {
			buf.WriteByte(0)
		}
	}
	var note bytes.Buffer
	for _, n := range notes {
		var desc bytes.Buffer
		put(&desc, n.PC, word)
		put(&desc, 0, word) // .stapsdt.base: none, so nothing is adjusted
		put(&desc, n.Semaphore, word)
		desc.WriteString(n.Provider + "\x00" + n.Name + "\x00" + n.Args + "\x00")
		put(&note, 8, 4)
		put(&note, uint64(desc.Len()), 4)
		put(&note, 3, 4) // NT_STAPSDT
		note.WriteString("stapsdt\x00")
		note.Write(desc.Bytes())
		align(&note, 4)
	}
	shstrndx := int(order.Uint16(b[0x3e:]))
	if word == 4 {
		shstrndx = int(order.Uint16(b[0x32:]))
	}
	if shstrndx == 0 || shstrndx >= len(ef.Sections) {
		t.Fatalf("%s: e_shstrndx %d", src, shstrndx)
	}
	shstr := ef.Sections[shstrndx]
	oldNames, err := shstr.Data()
	if err != nil {
		t.Fatal(err)
	}

	out := bytes.NewBuffer(b)
	align(out, 8)
	noteOff := out.Len()
	out.Write(note.Bytes())
	namesOff := out.Len()
	nameIdx := len(oldNames)
	out.Write(oldNames)
	out.WriteString(".note.stapsdt\x00")
	namesLen := out.Len() - namesOff
	align(out, 8)
	shOff := out.Len()
	hdr := func(name, typ uint32, flags, addr, off, size uint64, link, info uint32, addralign, entsize uint64) {
		put(out, uint64(name), 4)
		put(out, uint64(typ), 4)
		put(out, flags, word)
		put(out, addr, word)
		put(out, off, word)
		put(out, size, word)
		put(out, uint64(link), 4)
		put(out, uint64(info), 4)
		put(out, addralign, word)
		put(out, entsize, word)
	}
	// The original headers: the raw table, since debug/elf does not keep
	// each header's name offset.
	shentsize := 40
	if word == 8 {
		shentsize = 64
	}
	var shoffOld uint64
	if word == 8 {
		shoffOld = order.Uint64(b[0x28:])
	} else {
		shoffOld = uint64(order.Uint32(b[0x20:]))
	}
	for i := range ef.Sections {
		raw := b[int(shoffOld)+i*shentsize : int(shoffOld)+(i+1)*shentsize]
		if i == shstrndx {
			// the name table now lives at the end, one name longer
			var h bytes.Buffer
			h.Write(raw)
			offAt, sizeAt := 16, 20
			if word == 8 {
				offAt, sizeAt = 24, 32
			}
			fixed := h.Bytes()
			if word == 8 {
				order.PutUint64(fixed[offAt:], uint64(namesOff))
				order.PutUint64(fixed[sizeAt:], uint64(namesLen))
			} else {
				order.PutUint32(fixed[offAt:], uint32(namesOff))
				order.PutUint32(fixed[sizeAt:], uint32(namesLen))
			}
			out.Write(fixed)
			continue
		}
		out.Write(raw)
	}
	hdr(uint32(nameIdx), uint32(elf.SHT_NOTE), 0, 0, uint64(noteOff), uint64(note.Len()), 0, 0, 4, 0)
	res := out.Bytes()
	if word == 8 {
		order.PutUint64(res[0x28:], uint64(shOff))
		order.PutUint16(res[0x3c:], uint16(len(ef.Sections)+1))
	} else {
		order.PutUint32(res[0x20:], uint32(shOff))
		order.PutUint16(res[0x30:], uint16(len(ef.Sections)+1))
	}
	if err := os.WriteFile(dst, res, 0o755); err != nil {
		t.Fatal(err)
	}
}

// SymbolAddr is the value of a symbol of an ELF file's .symtab.
func SymbolAddr(t testing.TB, path, name string) uint64 {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("%s has no symbol %s", path, name)
	return 0
}
