package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// NT_STAPSDT is the note type of a SystemTap probe descriptor, owned by
// "stapsdt" (sys/sdt.h, _SDT_NOTE_TYPE).
const NT_STAPSDT = 3

const (
	noteSection = ".note.stapsdt"
	baseSection = ".stapsdt.base"
	noteOwner   = "stapsdt"
	// maxNotes bounds what one file can make us allocate; the largest
	// binaries known (libjvm, node) carry a few hundred probes.
	maxNotes = 1 << 16
)

// Probe is one .note.stapsdt note, with the addresses it names already
// turned into file offsets.
type Probe struct {
	Provider string
	Name     string
	// PC, Base and Semaphore are the descriptor's three addresses as
	// written by the linker: the probe's nop, where .stapsdt.base was at
	// link time, and the semaphore (0 when the probe has none).
	PC        uint64
	Base      uint64
	Semaphore uint64
	// Args is the argument string as written ("-4@%edi 8@-16(%rbp)").
	Args string

	// Offset is the file offset of the probe's nop: the uprobe's OFFSET.
	Offset uint64
	// SemaphoreOffset is the file offset of the semaphore, the uprobe's
	// ref_ctr_offset, 0 when the probe has no semaphore.
	SemaphoreOffset uint64
	// Err says why the probe cannot be attached: its address or its
	// semaphore is in no file-backed part of a PT_LOAD segment. The
	// offsets are then unset and ParseArgs, UprobeEvent and Resolve
	// return Err.
	Err error

	// symbols resolves the sym(%rip) operand form; nil when the file has
	// no symbol table.
	symbols func(string) (elf.Symbol, bool)
	// bias is the probe's (prelink-adjusted) address minus Offset.
	bias uint64
	// pie: the file is relocated at load (ET_DYN).
	pie bool
}

// String is PROVIDER:NAME.
func (p *Probe) String() string { return p.Provider + ":" + p.Name }

// File is the probes of one ELF file.
type File struct {
	Arch   kprobeevents.Arch
	Class  elf.Class
	Order  binary.ByteOrder
	Type   elf.Type
	Probes []Probe
}

// Error says which file or which probe could not be read, and why.
type Error struct {
	Path  string // the file, empty when read from an io.ReaderAt
	Probe string // PROVIDER:NAME or "note N", empty for file-wide errors
	Err   error
}

func (e *Error) Error() string {
	s := "usdt: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.Probe != "" {
		s += e.Probe + ": "
	}
	return s + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoProbes is returned by Lookup when no probe matches.
var ErrNoProbes = errors.New("no such USDT probe")

// Open reads the probes of the ELF file at path.
func Open(path string) (*File, error) {
	r, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := NewFile(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Path = path
			return nil, e
		}
		return nil, &Error{Path: path, Err: err}
	}
	for i := range f.Probes {
		if e, ok := f.Probes[i].Err.(*Error); ok {
			e.Path = path
		}
	}
	return f, nil
}

// NewFile reads the probes of the ELF file in r.
func NewFile(r io.ReaderAt) (*File, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, &Error{Err: err}
	}
	defer ef.Close()
	return FromELF(ef)
}

// FromELF reads the probes of an ELF file already opened by debug/elf. A
// file without a .note.stapsdt section has no probes, which is no error.
func FromELF(ef *elf.File) (*File, error) {
	f := &File{Arch: machineArch(ef.Machine), Class: ef.Class, Order: ef.ByteOrder, Type: ef.Type}
	var notes []*elf.Section
	for _, s := range ef.Sections {
		// The section keeps its name in every toolchain; checking the
		// type too skips a stripped-and-renamed leftover.
		if s.Name == noteSection && s.Type == elf.SHT_NOTE {
			notes = append(notes, s)
		}
	}
	if len(notes) == 0 {
		return f, nil
	}
	var actualBase uint64
	haveBase := false
	if s := ef.Section(baseSection); s != nil {
		actualBase, haveBase = s.Addr, true
	}
	conv := loadConverter(ef.Progs)
	var syms func(string) (elf.Symbol, bool)
	for _, s := range notes {
		data, err := s.Data()
		if err != nil {
			return nil, &Error{Err: fmt.Errorf("reading %s: %w", noteSection, err)}
		}
		align := 4
		if s.Addralign == 8 {
			align = 8
		}
		probes, err := parseNotes(data, ef.ByteOrder, ef.Class, align)
		if err != nil {
			return nil, &Error{Err: err}
		}
		for i := range probes {
			p := &probes[i]
			if syms == nil && wantsSymbols(p.Args) {
				syms = symbolLookup(ef)
			}
			p.symbols, p.pie = syms, ef.Type == elf.ET_DYN
			// prelink moves the whole image by one delta without
			// rewriting the non-allocated notes; .stapsdt.base moved
			// with it, so its shift is what every address in the note
			// is missing.
			pc, sem := p.PC, p.Semaphore
			if haveBase && p.Base != 0 {
				delta := actualBase - p.Base
				pc += delta
				if sem != 0 {
					sem += delta
				}
			}
			// One bad note (a probe in code that --gc-sections
			// dropped has pc 0) must not hide the file's other probes.
			if p.Offset, err = conv(pc); err != nil {
				p.Err = &Error{Probe: p.String(), Err: fmt.Errorf("probe address: %w", err)}
				continue
			}
			p.bias = pc - p.Offset
			if sem != 0 {
				if p.SemaphoreOffset, err = conv(sem); err != nil {
					p.Err = &Error{Probe: p.String(), Err: fmt.Errorf("semaphore: %w", err)}
				}
			}
		}
		f.Probes = append(f.Probes, probes...)
	}
	return f, nil
}

// parseNotes reads the stapsdt notes of one note section; notes of other
// owners or types are skipped, as readelf does.
func parseNotes(data []byte, order binary.ByteOrder, class elf.Class, align int) ([]Probe, error) {
	word := 8
	if class == elf.ELFCLASS32 {
		word = 4
	}
	var probes []Probe
	for n := 0; len(data) > 0; n++ {
		if len(data) < 12 {
			return nil, fmt.Errorf("note %d: %d bytes left, a header needs 12", n, len(data))
		}
		namesz := uint64(order.Uint32(data[0:]))
		descsz := uint64(order.Uint32(data[4:]))
		typ := order.Uint32(data[8:])
		data = data[12:]
		nameEnd := alignUp(namesz, align)
		if nameEnd > uint64(len(data)) {
			return nil, fmt.Errorf("note %d: name of %d bytes overruns the section", n, namesz)
		}
		name := data[:namesz]
		data = data[nameEnd:]
		descEnd := alignUp(descsz, align)
		if descsz > uint64(len(data)) {
			return nil, fmt.Errorf("note %d: descriptor of %d bytes overruns the section", n, descsz)
		}
		desc := data[:descsz]
		data = data[min(descEnd, uint64(len(data))):]
		if typ != NT_STAPSDT || string(bytes.TrimRight(name, "\x00")) != noteOwner {
			continue
		}
		if len(probes) >= maxNotes {
			return nil, fmt.Errorf("more than %d stapsdt notes", maxNotes)
		}
		p, err := parseDesc(desc, order, word)
		if err != nil {
			return nil, fmt.Errorf("note %d: %w", n, err)
		}
		probes = append(probes, p)
	}
	return probes, nil
}

func alignUp(n uint64, a int) uint64 {
	return (n + uint64(a) - 1) &^ (uint64(a) - 1)
}

// parseDesc reads pc, base, semaphore, then provider\0 name\0 args\0.
func parseDesc(desc []byte, order binary.ByteOrder, word int) (Probe, error) {
	var p Probe
	if len(desc) < 3*word {
		return p, fmt.Errorf("descriptor of %d bytes is shorter than its 3 addresses", len(desc))
	}
	addr := func(b []byte) uint64 {
		if word == 4 {
			return uint64(order.Uint32(b))
		}
		return order.Uint64(b)
	}
	p.PC, p.Base, p.Semaphore = addr(desc), addr(desc[word:]), addr(desc[2*word:])
	rest := desc[3*word:]
	var strs [3]string
	for i := range strs {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			// Old SDT notes without arguments end after the name;
			// a missing argument string means no arguments.
			if i == 2 && len(rest) == 0 {
				break
			}
			return p, fmt.Errorf("descriptor string %d is not NUL-terminated", i+1)
		}
		strs[i], rest = string(rest[:end]), rest[end+1:]
	}
	p.Provider, p.Name, p.Args = strs[0], strs[1], strs[2]
	if p.Provider == "" || p.Name == "" {
		return p, fmt.Errorf("probe with an empty provider or name (%q:%q)", p.Provider, p.Name)
	}
	return p, nil
}

// loadConverter returns a function that maps a virtual address to the file
// offset the kernel's uprobe code expects: the PT_LOAD segment that holds
// the address in its file-backed part decides, because the kernel turns a
// file offset back into an address through the vma's vm_pgoff.
func loadConverter(progs []*elf.Prog) func(uint64) (uint64, error) {
	type seg struct{ vaddr, filesz, off uint64 }
	var segs []seg
	for _, p := range progs {
		if p.Type == elf.PT_LOAD {
			segs = append(segs, seg{p.Vaddr, p.Filesz, p.Off})
		}
	}
	return func(addr uint64) (uint64, error) {
		for _, s := range segs {
			if addr >= s.vaddr && addr-s.vaddr < s.filesz {
				return addr - s.vaddr + s.off, nil
			}
		}
		if len(segs) == 0 {
			return 0, fmt.Errorf("address %#x: the file has no PT_LOAD segment", addr)
		}
		return 0, fmt.Errorf("address %#x is in no file-backed part of a PT_LOAD segment", addr)
	}
}

// wantsSymbols reports whether an argument string has an operand that
// names a symbol (x86 "sym(%rip)", "sym+8(%rip)", "sym(%rbx)"): only then
// are the symbol tables read, so files whose probes have none pay nothing.
func wantsSymbols(args string) bool {
	for _, a := range strings.Fields(args) {
		if _, op, ok := strings.Cut(a, "@"); ok && op != "" {
			c := op[0]
			if c == '_' || c == '.' || (c|0x20 >= 'a' && c|0x20 <= 'z') {
				if strings.Contains(op, "(") {
					return true
				}
			}
		}
	}
	return false
}

// symbolLookup indexes .symtab and .dynsym. The index is built once per
// file and only read afterwards.
func symbolLookup(ef *elf.File) func(string) (elf.Symbol, bool) {
	syms, _ := ef.Symbols()
	dyn, _ := ef.DynamicSymbols()
	index := make(map[string]elf.Symbol, len(syms)+len(dyn))
	for _, list := range [][]elf.Symbol{dyn, syms} {
		for _, s := range list {
			if s.Name != "" && s.Section != elf.SHN_UNDEF {
				index[s.Name] = s
			}
		}
	}
	return func(name string) (elf.Symbol, bool) {
		s, ok := index[name]
		return s, ok
	}
}

// machineArch maps e_machine to the architecture whose pt_regs names the
// argument registers.
func machineArch(m elf.Machine) kprobeevents.Arch {
	switch m {
	case elf.EM_X86_64:
		return kprobeevents.ArchX86_64
	case elf.EM_386:
		return kprobeevents.ArchI386
	case elf.EM_AARCH64:
		return kprobeevents.ArchARM64
	case elf.EM_ARM:
		return kprobeevents.ArchARM
	case elf.EM_RISCV:
		return kprobeevents.ArchRISCV64
	case elf.EM_PPC64:
		return kprobeevents.ArchPPC64
	}
	return kprobeevents.ArchUnknown
}
