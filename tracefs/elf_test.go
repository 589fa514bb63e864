package tracefs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

func TestResolveSymbolTestprog(t *testing.T) {
	tg := testTarget(t) // offsets from our raw ELF reader
	p, off, err := ResolveSymbol(tg.path, testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	if p != tg.path || off != tg.off {
		t.Errorf("ResolveSymbol = %s:%#x, want %s:%#x", p, off, tg.path, tg.off)
	}
	if _, off2, err := ResolveSymbol(tg.path, testenv.CABITarget+"+0x4"); err != nil || off2 != tg.off+4 {
		t.Errorf("SYM+4 = %#x, %v; want %#x", off2, err, tg.off+4)
	}
	if _, _, err := ResolveSymbol(tg.path, testenv.CABITarget+"+0x100000"); err == nil {
		t.Error("offset past the function accepted")
	}
	if _, _, err := ResolveSymbol(tg.path, testenv.CABITarget+"+zz"); err == nil {
		t.Error("bad offset accepted")
	}
	// Also agree with the Go toolchain's own nm for the address.
	out, err := testenv.GoNm(t, tg.path).Output()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[2] == testenv.CABITarget {
			found = true
			if v, err := strconv.ParseUint(f[0], 16, 64); err != nil || v != tg.vaddr {
				t.Errorf("go tool nm says %s, raw reader %#x", f[0], tg.vaddr)
			}
		}
	}
	if !found {
		t.Errorf("go tool nm does not list %s", testenv.CABITarget)
	}

	// An unknown symbol suggests close names.
	_, _, err = ResolveSymbol(tg.path, "main.cabiTarge")
	var se *SymbolError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSymbol) || !contains(se.Near, testenv.CABITarget) {
		t.Errorf("unknown symbol: %v", err)
	}
	syms, err := ListSymbols(tg.path, "main.cabi*")
	if err != nil || len(syms) != 2 || syms[1].Name != testenv.CABITarget || syms[1].Offset != tg.off || syms[1].Value != tg.vaddr {
		t.Errorf("ListSymbols = %+v, %v", syms, err)
	}
	if _, err := ListSymbols(tg.path, "["); err == nil {
		t.Error("bad glob accepted")
	}
}

// TestStripped: a binary without .symtab gives ErrStripped.
func TestStripped(t *testing.T) {
	stripped := testenv.StrippedTestProg(t)
	_, _, err := ResolveSymbol(stripped, testenv.CABITarget)
	if !errors.Is(err, ErrStripped) || !strings.Contains(err.Error(), "stripped") {
		t.Errorf("stripped binary: %v", err)
	}
	if _, _, err := ResolveSymbol(filepath.Join(t.TempDir(), "nothing"), "x"); err == nil {
		t.Error("missing binary accepted")
	}
	if _, _, err := ResolveSymbol("/proc/self/status", "x"); err == nil {
		t.Error("non-ELF accepted")
	}
}

// TestResolveLibc finds the system's libc through the loader's paths and
// checks the offset of an exported function against our raw ELF reader.
func TestResolveLibc(t *testing.T) {
	p, err := ResolveBinary("libc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(p), "libc.so") {
		t.Errorf("libc resolved to %s", p)
	}
	p2, err := ResolveBinary("libc.so.6")
	if err != nil || p2 != p {
		t.Errorf("libc.so.6 -> %s, %v; libc -> %s", p2, err, p)
	}
	r := rawELF(t, p)
	for _, sym := range []string{"getpid", "malloc", "open"} {
		want, ok := r.symbol(".dynsym", sym)
		if !ok {
			t.Fatalf("%s: raw reader finds no %s", p, sym)
		}
		gp, off, err := ResolveSymbol("libc", sym)
		if err != nil {
			t.Fatal(err)
		}
		if gp != p || off != r.fileOffset(t, want.value) {
			t.Errorf("%s: %s:%#x, want %s:%#x", sym, gp, off, p, r.fileOffset(t, want.value))
		}
	}
	// Version suffixes are accepted.
	if _, _, err := ResolveSymbol("libc", "malloc@@GLIBC_2.2.5"); err != nil {
		t.Error(err)
	}
	syms, err := ListSymbols("libc", "getpid*")
	if err != nil || len(syms) == 0 || syms[0].Name != "getpid" {
		t.Errorf("ListSymbols(libc, getpid*) = %+v, %v", syms, err)
	}
	// A command in PATH.
	if sh, err := ResolveBinary("sh"); err != nil || !filepath.IsAbs(sh) {
		t.Errorf("sh -> %s, %v", sh, err)
	}
	if _, err := ResolveBinary("libnosuchlibrary"); err == nil || !strings.Contains(err.Error(), "ld.so.cache") {
		t.Errorf("missing library: %v", err)
	}
}

func TestLdCache(t *testing.T) {
	b, err := os.ReadFile(ldCachePath)
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("CI images have glibc's loader cache: %v", err)
		}
		t.Skip("no /etc/ld.so.cache on this system (musl or a minimal image)")
	}
	es := ldCacheEntries(b)
	if len(es) == 0 {
		t.Fatal("no entries parsed from ld.so.cache")
	}
	for _, e := range es {
		if _, err := os.Lstat(e[1]); err != nil {
			t.Errorf("cache entry %s -> %s does not exist", e[0], e[1])
		}
		if filepath.Base(e[1]) != e[0] && !strings.HasPrefix(e[0], "ld-") {
			// ldconfig keys entries by soname, which is the file name
			// of the link it makes.
			t.Logf("%s -> %s", e[0], e[1])
		}
	}
	// Corrupt caches give nothing, never a panic.
	for i := 0; i < len(b) && i < 200; i += 7 {
		ldCacheEntries(b[:i])
	}
	bad := append([]byte(nil), b...)
	for i := 48; i < len(bad) && i < 48+24*20; i++ {
		bad[i] = 0xff
	}
	ldCacheEntries(bad)
}

func TestLibraryMatches(t *testing.T) {
	for _, c := range []struct {
		name, file string
		ok         bool
	}{
		{"libc", "libc.so.6", true},
		{"libc", "libc.so", true},
		{"c", "libc.so.6", true},
		{"libc.so.6", "libc.so.6", true},
		{"libc", "libcap.so.2", false},
		{"libc", "libc.so.6.bak", false},
		{"libssl", "libssl.so.3", true},
		{"libc.so", "libc.so.6", true},
	} {
		if got := libraryMatches(c.name, c.file); got != c.ok {
			t.Errorf("libraryMatches(%q, %q) = %v", c.name, c.file, got)
		}
	}
}

// TestScanSymbolAgrees: the in-place scan that ResolveSymbol tries first
// finds, for every function symbol of a Go binary (.symtab) and of libc
// (.dynsym), exactly the symbol the whole table holds; a name that is in
// neither misses. A 32-bit ELF is checked too when the system has one.
func TestScanSymbolAgrees(t *testing.T) {
	files := []string{testTarget(t).path}
	if p, err := ResolveBinary("libc"); err == nil {
		files = append(files, p)
	}
	if !testenv.InVM() { // the guests have no Go toolchain to build one
		p := filepath.Join(t.TempDir(), "testprog-386")
		cmd := exec.Command("go", "build", "-o", p, "github.com/tracelet/tracelet/internal/testprog")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=386")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building a 386 testprog: %v\n%s", err, out)
		}
		files = append(files, p)
	}
	for _, p := range files {
		full, err := readSymbols(p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, want := range full.syms {
			if i > 0 && full.syms[i-1].Name == want.Name {
				continue // the table keeps the first of equal names, as the scan does
			}
			_, got, ok := scanSymbol(p, want.Name)
			if !ok || got != want {
				t.Fatalf("%s: scan of %q = %+v, %v; the table holds %+v", p, want.Name, got, ok, want)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no symbols", p)
		}
		if _, _, ok := scanSymbol(p, "tracelet_no_such_symbol"); ok {
			t.Errorf("%s: a missing name was found", p)
		}
	}
}

// No pattern lists every symbol, Go's package paths with '/' too: the
// symbolizer of user stacks names frames from this list. testprog keeps
// its symbol table (go test strips its own binaries').
func TestListSymbolsAllHasSlashNames(t *testing.T) {
	prog := testenv.TestProg(t)
	syms, err := ListSymbols(prog, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == "golang.org/x/sys/unix.Nanosleep" {
			return
		}
	}
	t.Errorf("ListSymbols(%s, \"\") lacks golang.org/x/sys/unix.Nanosleep (of %d symbols)", prog, len(syms))
}
