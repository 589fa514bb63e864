package testenv

import (
	"debug/elf"
	"testing"
)

// SymbolFileOffset resolves the ELF symbol sym of path to the file offset
// that a uprobe wants, through the executable PT_LOAD segment holding its
// address, with the standard library's ELF reader: an oracle independent
// of tracelet's own (tracefs.ResolveSymbol).
func SymbolFileOffset(t testing.TB, path, sym string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != sym {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && s.Value >= p.Vaddr && s.Value < p.Vaddr+p.Filesz {
				return s.Value - p.Vaddr + p.Off
			}
		}
		t.Fatalf("%s: symbol %s at %#x is in no executable PT_LOAD", path, sym, s.Value)
	}
	t.Fatalf("%s: no symbol %s", path, sym)
	return 0
}
