package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// buildProbes compiles testdata/probes.c with the host gcc into a
// temporary directory. tracelet never runs a compiler; only this test does.
func buildProbes(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed: cannot build the USDT test program")
	}
	out := filepath.Join(t.TempDir(), "probes")
	cmd := exec.Command(gcc, "-O2", "-g0", "-o", out, filepath.Join("testdata", "probes.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func TestGCCProbes(t *testing.T) {
	path := buildProbes(t)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != kprobeevents.HostArch() {
		t.Skipf("host gcc built %v; the checks below are for the arguments as gcc prints them on x86_64", f.Arch)
	}
	checkProbesX86(t, path, f)
}

// TestFixtureX86_64 checks the committed build of probes.c, so that the
// x86_64 path is tested where no gcc is.
func TestFixtureX86_64(t *testing.T) {
	path := filepath.Join("testdata", "probes-x86_64")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	checkProbesX86(t, path, f)
}

// checkProbesX86 checks the probes of probes.c as gcc -O2 builds it for
// x86_64, using the file's bytes as the independent witness: a probe's
// offset must hold its nop, the semaphore's offset must be inside .probes,
// the static argument's offset must hold tracelet_global's initial value.
func checkProbesX86(t *testing.T, path string, f *File) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Probes) != 4 {
		t.Fatalf("%d probes, want 4: %+v", len(f.Probes), f.Probes)
	}
	for _, p := range f.Probes {
		if !isNop(f.Arch, raw, p.Offset) {
			t.Errorf("%s: offset %#x does not hold a nop", p.String(), p.Offset)
		}
	}
	probes := ef.Section(".probes")
	fire, err := f.Lookup("", "fire")
	if err != nil {
		t.Fatal(err)
	}
	if fire.SemaphoreOffset != probes.Offset {
		t.Errorf("fire: semaphore offset %#x, want .probes at %#x", fire.SemaphoreOffset, probes.Offset)
	}
	if _, err := f.Lookup("", "args"); err == nil {
		t.Error(`Lookup("", "args"): two providers have it, want an ambiguity error`)
	}
	type want struct {
		kind   Kind
		fetch  string
		signed bool
		size   int
	}
	cases := map[string][]want{
		"args": {
			{KindRegister, "%di:s32", true, 4},
			{KindRegister, "%si:u64", false, 8},
			{KindRegister, "%dx:s16", true, 2},
			{KindRegister, "%cx:u8", false, 1},
			{KindConstant, `\-7:s32`, true, 4},
		},
		"mem": {
			{KindMemory, "-8(%sp):u64", false, 8},
			{KindStatic, "", false, 8},
		},
		"fire": {
			{KindRegister, "%di:s32", true, 4},
			{KindRegister, "%si:u64", false, 8},
		},
	}
	for name, ws := range cases {
		p, err := f.Lookup("tracelet", name)
		if err != nil {
			t.Fatal(err)
		}
		args, err := p.ParseArgs(f.Arch)
		if err != nil {
			t.Fatal(err)
		}
		if len(args) != len(ws) {
			t.Fatalf("%s: %d args (%q), want %d", name, len(args), p.Args, len(ws))
		}
		for i, w := range ws {
			a := args[i]
			if a.Kind != w.kind || a.Signed != w.signed || a.Size != w.size || (w.fetch != "" && a.Fetcharg() != w.fetch) {
				t.Errorf("%s arg %d = %+v (%s), want %+v", name, i+1, a, a.Fetcharg(), w)
			}
			if a.Kind == KindStatic {
				off, err := loadConverter(ef.Progs)(a.Addr)
				if err != nil {
					t.Fatal(err)
				}
				if got := binary.LittleEndian.Uint64(raw[off:]); got != 0x1122334455667788 {
					t.Errorf("%s arg %d: address %#x (file offset %#x) holds %#x, not tracelet_global", name, i+1, a.Addr, off, got)
				}
				if a.ProbeOffset != a.Addr-(p.PC-p.Offset) {
					t.Errorf("%s arg %d: ProbeOffset %#x, want Addr - PC + Offset", name, i+1, a.ProbeOffset)
				}
			}
		}
		line, err := p.UprobeEvent("tracelet_test", name, "/bin/probes", f.Arch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kprobeevents.ParseProbe(line, kprobeevents.Options{Arch: f.Arch}); err != nil {
			t.Errorf("%s: kprobeevents rejects %q: %v", name, line, err)
		}
	}
}
