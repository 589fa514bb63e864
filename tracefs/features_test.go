package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
	"golang.org/x/sys/unix"
)

// TestParseFeaturesFixtures reads the README of every recorded kernel. What
// each lists is checked against the kernel's history: char arrived in 6.3,
// %pd/%pD in 6.10, and Debian's 6.1 carries symstr as a backport.
func TestParseFeaturesFixtures(t *testing.T) {
	want := map[string]struct{ has, lacks []kprobeevents.TypeKind }{
		"6.1.0-56-cloud-amd64":       {[]kprobeevents.TypeKind{kprobeevents.TypeSymstr, kprobeevents.TypeUstring}, []kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry}},
		"6.1.0-56-cloud-arm64":       {[]kprobeevents.TypeKind{kprobeevents.TypeSymstr}, []kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeFile}},
		"6.12.117+deb12-cloud-amd64": {[]kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry, kprobeevents.TypeFile}, nil},
		"6.18":                       {[]kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry}, nil},
	}
	all := []kprobeevents.TypeKind{kprobeevents.TypeU8, kprobeevents.TypeU16, kprobeevents.TypeU32, kprobeevents.TypeU64,
		kprobeevents.TypeS8, kprobeevents.TypeS64, kprobeevents.TypeX8, kprobeevents.TypeX64,
		kprobeevents.TypeString, kprobeevents.TypeSymbol}
	for rel, w := range want {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", rel, "README"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFeatures(b)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for _, k := range append(all, w.has...) {
			if !f.Types.Has(k) {
				t.Errorf("%s: %s missing from %s", rel, k, f.Types)
			}
		}
		for _, k := range w.lacks {
			if f.Types.Has(k) {
				t.Errorf("%s: %s listed in %s", rel, k, f.Types)
			}
		}
	}
	if _, err := ParseFeatures([]byte("tracing mini-HOWTO:\n  trace\t- The static contents\n")); err == nil {
		t.Error("a README without types parsed")
	}
}

// TestFeaturesValidate: with the 6.1 README's types, validation refuses
// char with BAD_TYPE at the type's column, as that kernel does, and still
// takes every listed type.
func TestFeaturesValidate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.1.0-56-cloud-amd64", "README"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(b)
	if err != nil {
		t.Fatal(err)
	}
	opts := f.Options(kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Target: kprobeevents.TargetKprobe})
	def := "p:g/e vfs_read a=%di:u8 c=+0(%di):char"
	_, err = kprobeevents.ParseProbe(def, opts)
	var e *kprobeevents.Error
	if !errors.As(err, &e) || e.Kind != kprobeevents.BAD_TYPE || e.Col != strings.Index(def, "char") || !strings.Contains(e.Error(), "char") {
		t.Fatalf("char on 6.1: %v", err)
	}
	if _, err := kprobeevents.ParseProbe("p:g/e vfs_read s=+0(%di):symstr u=+u0(%si):ustring", opts); err != nil {
		t.Errorf("listed types refused: %v", err)
	}
}

// TestFeaturesReal reads the running kernel's README.
func TestFeaturesReal(t *testing.T) {
	fsys := mustFS(t)
	f, err := fsys.Features()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []kprobeevents.TypeKind{kprobeevents.TypeU8, kprobeevents.TypeS64, kprobeevents.TypeX32, kprobeevents.TypeString} {
		if !f.Types.Has(k) {
			t.Errorf("%s missing from %s", k, f.Types)
		}
	}
	t.Logf("types: %s", f.Types)
}

// TestGrammarReal: Grammar fills in what a caller leaves out from the
// running kernel, and keeps what the caller set.
func TestGrammarReal(t *testing.T) {
	fsys := mustFS(t)
	f, err := fsys.Features()
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	running, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's machine, not GOARCH: a 386 test binary on an x86_64
	// kernel must get the x86_64 registers.
	arch, err := kprobeevents.ParseArch(unix.ByteSliceToString(u.Machine[:]))
	if err != nil {
		t.Fatal(err)
	}
	g := fsys.Grammar(kprobeevents.Options{})
	if g.Arch != arch || g.Kernel != running || g.Types != f.Types {
		t.Errorf("Grammar(zero) = arch %v kernel %v types %s; want %v %v %s", g.Arch, g.Kernel, g.Types, arch, running, f.Types)
	}
	set := kprobeevents.Options{Arch: kprobeevents.ArchARM64, Kernel: kprobeevents.Kernel{Major: 5, Minor: 10}, Types: kprobeevents.TypesOf(kprobeevents.TypeU8)}
	if got := fsys.Grammar(set); got != set {
		t.Errorf("Grammar changed what the caller set: %+v", got)
	}
}
