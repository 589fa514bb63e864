package tracefs

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Uprobe targets: a uprobe is placed at PATH:OFFSET where OFFSET is a file
// offset, not a virtual address, so symbols are converted through the
// PT_LOAD program headers (offset = p_offset + addr - p_vaddr).

// Symbol is a function symbol of an ELF file.
type Symbol struct {
	Name    string
	Value   uint64 // virtual address
	Size    uint64
	Offset  uint64 // file offset, for PATH:OFFSET
	Dynamic bool   // found in .dynsym (not .symtab)
}

// ErrStripped is wrapped when a binary has no .symtab and the symbol is not
// exported through .dynsym.
var ErrStripped = errors.New("binary is stripped (no .symtab)")

// ErrNoSymbol is wrapped when a symbol does not exist.
var ErrNoSymbol = errors.New("no such symbol")

// SymbolError is a symbol that is not in a binary; Near lists close names.
type SymbolError struct {
	Binary, Symbol string
	Near           []string
}

func (e *SymbolError) Error() string {
	msg := fmt.Sprintf("tracefs: %s: no symbol %q in .symtab or .dynsym", e.Binary, e.Symbol)
	if len(e.Near) > 0 {
		msg += "; did you mean " + strings.Join(e.Near, ", ") + "?"
	}
	return msg
}

func (e *SymbolError) Unwrap() error { return ErrNoSymbol }

// maxSymtabBytes caps the symbol tables loaded from one file: debug/elf
// holds every symbol in memory, and a huge library (libLLVM) would cost
// hundreds of MB.
const maxSymtabBytes = 64 << 20

// symCacheSize is how many files' symbol tables stay cached, so that a
// library is read once per run however many probes name it.
const symCacheSize = 8

type symTable struct {
	syms      []Symbol // sorted by Name; .symtab entries first for equal names
	hasSymtab bool
	loads     []elf.ProgHeader
}

type symCacheKey struct {
	path        string
	dev, ino    uint64
	size, mtime int64
}

var symCache struct {
	sync.Mutex
	order []symCacheKey
	m     map[symCacheKey]*symTable
}

// ResolveBinary finds the file a uprobe target names: a path (with a '/'),
// a command in PATH, or a library name ("libc", "libc.so.6") found through
// the loader's cache and search paths.
func ResolveBinary(binary string) (string, error) {
	if binary == "" {
		return "", fmt.Errorf("tracefs: empty binary name")
	}
	if strings.ContainsRune(binary, '/') {
		p, err := filepath.Abs(binary)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("tracefs: binary %s: %w", binary, err)
		}
		return p, nil
	}
	looksLib := strings.HasPrefix(binary, "lib") || strings.Contains(binary, ".so")
	if !looksLib {
		if p, err := exec.LookPath(binary); err == nil {
			return filepath.Abs(p)
		}
	}
	p, tried := findLibrary(binary)
	if p != "" {
		return p, nil
	}
	if looksLib {
		if p, err := exec.LookPath(binary); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("tracefs: %q is neither a command in $PATH nor a library (searched %s)", binary, strings.Join(tried, ", "))
}

// ResolveSymbol resolves SYMBOL or SYMBOL+OFF in binary (see ResolveBinary)
// to the file's path and the file offset a uprobe needs. .symtab is
// searched first, then .dynsym.
func ResolveSymbol(binary, symbol string) (string, uint64, error) {
	p, err := ResolveBinary(binary)
	if err != nil {
		return "", 0, err
	}
	name, off, err := splitSymOff(symbol)
	if err != nil {
		return "", 0, err
	}
	t, s, ok, err := findSymbol(p, name)
	if err != nil {
		return "", 0, err
	}
	if !ok {
		if !t.hasSymtab {
			return "", 0, fmt.Errorf("tracefs: %s: %w and %q is not exported in .dynsym; install its debug symbols or probe an address (PATH:0xOFFSET)", p, ErrStripped, name)
		}
		return "", 0, &SymbolError{Binary: p, Symbol: name, Near: t.near(name, 5)}
	}
	if s.Size > 0 && off >= s.Size {
		return "", 0, fmt.Errorf("tracefs: %s: %s+%#x is past the end of %s (%d bytes)", p, name, off, name, s.Size)
	}
	fo, err := t.fileOffset(s.Value + off)
	if err != nil {
		return "", 0, fmt.Errorf("tracefs: %s: %s: %w", p, symbol, err)
	}
	return p, fo, nil
}

// findSymbol finds name's function symbol in p. A table already loaded
// answers at once; otherwise the ELF symbol sections are scanned in place
// for that one name, which for a large binary costs a tenth of loading
// the whole table (and the start of every `run` with a uprobe waits for
// it). Only a miss loads the table, for its suggestions.
func findSymbol(p, name string) (*symTable, Symbol, bool, error) {
	if t := cachedSymbols(p); t != nil {
		s, ok := t.lookup(name)
		return t, s, ok, nil
	}
	if t, s, ok := scanSymbol(p, name); ok {
		return t, s, true, nil
	}
	t, err := loadSymbols(p)
	if err != nil {
		return nil, Symbol{}, false, err
	}
	s, ok := t.lookup(name)
	return t, s, ok, nil
}

// scanSymbol looks for name among the FUNC and IFUNC symbols of .symtab,
// then .dynsym, comparing names in the string table without building
// them; t holds only the PT_LOAD segments. ok is false for a miss and for
// anything unusual (readSymbols then says what).
func scanSymbol(p, name string) (t *symTable, s Symbol, ok bool) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, Symbol{}, false
	}
	defer f.Close()
	t = &symTable{}
	for _, pr := range f.Progs {
		if pr.Type == elf.PT_LOAD {
			t.loads = append(t.loads, pr.ProgHeader)
		}
	}
	size := 24 // Elf64_Sym: name, info, other, shndx, value, size
	if f.Class == elf.ELFCLASS32 {
		size = 16 // Elf32_Sym: name, value, size, info, other, shndx
	}
	bo := f.ByteOrder
	for _, secName := range []string{".symtab", ".dynsym"} {
		sec := f.Section(secName)
		if sec == nil || sec.Size > maxSymtabBytes || int(sec.Link) >= len(f.Sections) {
			continue
		}
		strs := f.Sections[sec.Link]
		if strs.Size > maxSymtabBytes {
			continue
		}
		syms, err1 := sec.Data()
		str, err2 := strs.Data()
		if err1 != nil || err2 != nil {
			continue
		}
		for i := size; i+size <= len(syms); i += size { // entry 0 is null
			e := syms[i : i+size]
			var noff uint32
			var info byte
			var shndx uint16
			var value, sz uint64
			if size == 24 {
				noff, info, shndx = bo.Uint32(e), e[4], bo.Uint16(e[6:])
				value, sz = bo.Uint64(e[8:]), bo.Uint64(e[16:])
			} else {
				noff, value, sz = bo.Uint32(e), uint64(bo.Uint32(e[4:])), uint64(bo.Uint32(e[8:]))
				info, shndx = e[12], bo.Uint16(e[14:])
			}
			typ := elf.ST_TYPE(info)
			if typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC || elf.SectionIndex(shndx) == elf.SHN_UNDEF || value == 0 {
				continue
			}
			end := uint64(noff) + uint64(len(name))
			if end >= uint64(len(str)) || str[end] != 0 || string(str[noff:end]) != name {
				continue
			}
			return t, Symbol{Name: name, Value: value, Size: sz, Dynamic: secName == ".dynsym"}, true
		}
	}
	return nil, Symbol{}, false
}

// splitSymOff splits "sym+0x10" (or "sym+16"); a version suffix
// ("malloc@@GLIBC_2.2.5") is dropped.
func splitSymOff(s string) (string, uint64, error) {
	name, off := s, uint64(0)
	if i := strings.LastIndexByte(s, '+'); i > 0 {
		v, err := strconv.ParseUint(s[i+1:], 0, 64)
		if err != nil {
			return "", 0, fmt.Errorf("tracefs: symbol %q: col %d: bad offset %q (want SYMBOL+OFFSET, decimal or 0x hex)", s, i+1, s[i+1:])
		}
		name, off = s[:i], v
	}
	if i := strings.IndexByte(name, '@'); i > 0 {
		name = name[:i]
	}
	if name == "" {
		return "", 0, fmt.Errorf("tracefs: empty symbol name in %q", s)
	}
	return name, off, nil
}

// ListSymbols lists the function symbols of binary whose names match glob
// (path.Match syntax, where "*" stops at a '/'; "" for all), sorted and
// without duplicates.
func ListSymbols(binary, glob string) ([]Symbol, error) {
	p, err := ResolveBinary(binary)
	if err != nil {
		return nil, err
	}
	// No pattern means every symbol: "*" would leave out the names that
	// hold a '/', which path.Match never lets '*' cross (Go's
	// "github.com/x/y.f").
	all := glob == ""
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("tracefs: bad pattern %q: %w", glob, err)
	}
	t, err := loadSymbols(p)
	if err != nil {
		return nil, err
	}
	var out []Symbol
	for _, s := range t.syms {
		if len(out) > 0 && out[len(out)-1].Name == s.Name {
			continue
		}
		if ok, _ := path.Match(glob, s.Name); !ok && !all {
			continue
		}
		if fo, err := t.fileOffset(s.Value); err == nil {
			s.Offset = fo
			out = append(out, s)
		}
	}
	return out, nil
}

func (t *symTable) lookup(name string) (Symbol, bool) {
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Name >= name })
	if i < len(t.syms) && t.syms[i].Name == name {
		return t.syms[i], true
	}
	return Symbol{}, false
}

// near suggests up to n names close to name: those containing it (or
// contained in it), then those within a small edit distance.
func (t *symTable) near(name string, n int) []string {
	var out []string
	seen := map[string]bool{}
	lname := strings.ToLower(name)
	for _, s := range t.syms {
		if len(out) >= n {
			return out
		}
		ls := strings.ToLower(s.Name)
		if !seen[s.Name] && len(lname) >= 3 && (strings.Contains(ls, lname) || len(ls) >= 4 && strings.Contains(lname, ls)) {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	for _, s := range t.syms {
		if len(out) >= n {
			break
		}
		if !seen[s.Name] && abs(len(s.Name)-len(name)) <= 2 && editDistance(s.Name, name) <= 2 {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// fileOffset converts a virtual address through the PT_LOAD segment that
// holds it in the file.
func (t *symTable) fileOffset(addr uint64) (uint64, error) {
	for _, p := range t.loads {
		if addr >= p.Vaddr && addr < p.Vaddr+p.Filesz {
			return p.Off + addr - p.Vaddr, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no PT_LOAD segment's file data", addr)
}

func loadSymbols(p string) (*symTable, error) {
	key, err := symKey(p)
	if err != nil {
		return nil, err
	}
	if t := cachedKey(key); t != nil {
		return t, nil
	}

	t, err := readSymbols(p)
	if err != nil {
		return nil, err
	}
	symCache.Lock()
	defer symCache.Unlock()
	if symCache.m == nil {
		symCache.m = map[symCacheKey]*symTable{}
	}
	if _, ok := symCache.m[key]; !ok {
		if len(symCache.order) >= symCacheSize {
			delete(symCache.m, symCache.order[0])
			symCache.order = symCache.order[1:]
		}
		symCache.order = append(symCache.order, key)
		symCache.m[key] = t
	}
	return t, nil
}

// symKey names p's current contents: path, size, mtime, device and inode.
func symKey(p string) (symCacheKey, error) {
	st, err := os.Stat(p)
	if err != nil {
		return symCacheKey{}, fmt.Errorf("tracefs: %w", err)
	}
	key := symCacheKey{path: p, size: st.Size(), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		key.dev, key.ino = uint64(sys.Dev), sys.Ino
	}
	return key, nil
}

// cachedSymbols returns p's table if it is loaded and p is unchanged.
func cachedSymbols(p string) *symTable {
	key, err := symKey(p)
	if err != nil {
		return nil
	}
	return cachedKey(key)
}

func cachedKey(key symCacheKey) *symTable {
	symCache.Lock()
	defer symCache.Unlock()
	return symCache.m[key]
}

func readSymbols(p string) (*symTable, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, fmt.Errorf("tracefs: %s is not an ELF file: %w", p, err)
	}
	defer f.Close()
	t := &symTable{}
	for _, pr := range f.Progs {
		if pr.Type == elf.PT_LOAD {
			t.loads = append(t.loads, pr.ProgHeader)
		}
	}
	if len(t.loads) == 0 {
		return nil, fmt.Errorf("tracefs: %s has no PT_LOAD segments (not an executable or shared library)", p)
	}
	add := func(syms []elf.Symbol, dynamic bool) {
		for _, s := range syms {
			typ := elf.ST_TYPE(s.Info)
			if typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC {
				continue
			}
			if s.Section == elf.SHN_UNDEF || s.Value == 0 || s.Name == "" {
				continue
			}
			t.syms = append(t.syms, Symbol{Name: s.Name, Value: s.Value, Size: s.Size, Dynamic: dynamic})
		}
	}
	for _, sec := range []struct {
		name    string
		dynamic bool
	}{{".symtab", false}, {".dynsym", true}} {
		s := f.Section(sec.name)
		if s == nil {
			continue
		}
		if s.Size > maxSymtabBytes {
			return nil, fmt.Errorf("tracefs: %s: %s is %d MiB, more than the %d MiB tracelet loads", p, sec.name, s.Size>>20, maxSymtabBytes>>20)
		}
		var syms []elf.Symbol
		if sec.dynamic {
			syms, err = f.DynamicSymbols()
		} else {
			syms, err = f.Symbols()
			t.hasSymtab = err == nil
		}
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return nil, fmt.Errorf("tracefs: %s: reading %s: %w", p, sec.name, err)
		}
		add(syms, sec.dynamic)
	}
	// Stable: for equal names the .symtab entry, added first, wins.
	sort.SliceStable(t.syms, func(i, j int) bool { return t.syms[i].Name < t.syms[j].Name })
	return t, nil
}
