package vmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/kprobeevents"
)

const module = "github.com/tracelet/tracelet"

func TestParsePackages(t *testing.T) {
	in := `# comment
github.com/tracelet/tracelet/kprobeevents
./internal/vmtest/guest   -run 'x' # trailing comment
github.com/tracelet/tracelet/tracefs -run Kprobe|Uprobe -skip Slow -timeout 15m
./tools -arch !riscv64,mipsel

`
	got, err := ParsePackages(strings.NewReader(strings.Replace(in, "'x'", "Boot", 1)), module)
	if err != nil {
		t.Fatal(err)
	}
	want := []GuestPackage{
		{Dir: "kprobeevents", Timeout: DefaultPackageTimeout, Line: 2},
		{Dir: "internal/vmtest/guest", Run: "Boot", Timeout: DefaultPackageTimeout, Line: 3},
		{Dir: "tracefs", Run: "Kprobe|Uprobe", Skip: "Slow", Timeout: 15 * time.Minute, Line: 4},
		{Dir: "tools", Arches: "!riscv64,mipsel", Timeout: DefaultPackageTimeout, Line: 5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParsePackagesErrors(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/other/mod/x":       "neither an import path",
		"./../outside":                 "not a package directory",
		"./a\n./a":                     "already listed on line 1",
		"./a -run":                     "-run needs a value",
		"./a -run (":                   "-run",
		"./a -timeout soon":            "want a positive Go duration",
		"./a -count 3":                 "unknown option",
		"./a -arch sparc64":            "no QEMU setup",
		"./a$(reboot)":                 "not a package directory",
		"github.com/tracelet/tracelet": "not a package directory",
	} {
		_, err := ParsePackages(strings.NewReader(in), module)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

// TestPackagesListExists checks the committed list: every package exists
// and has tests, so the VM suite cannot fail on a stale line.
func TestPackagesListExists(t *testing.T) {
	f, err := os.Open("packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgs, err := ParsePackages(f, module)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 {
		t.Fatal("packages.txt lists nothing")
	}
	for _, p := range pkgs {
		tests, _ := filepath.Glob(filepath.Join("..", "..", p.Dir, "*_test.go"))
		if len(tests) == 0 {
			t.Errorf("packages.txt:%d: %s has no _test.go files", p.Line, p.Dir)
		}
	}
}

// TestInitScript checks the generated /init: it parses as sh, quotes what
// packages.txt supplies, and prints the markers the host looks for.
func TestInitScript(t *testing.T) {
	s := initScript([]guestTest{
		{pkg: GuestPackage{Dir: "internal/vmtest/guest", Timeout: 10 * time.Minute}, bin: "/tests/internal_vmtest_guest.test"},
		{pkg: GuestPackage{Dir: "tracefs", Run: "Kprobe|Uprobe'$(x)", Skip: "Slow", Timeout: 90 * time.Second}, bin: "/tests/tracefs.test"},
	})
	for _, want := range []string{
		"#!/bin/busybox sh\n",
		"mount -t tracefs tracefs /sys/kernel/tracing",
		"export TRACELET_VM=1 TRACELET_TESTPROG=/bin/testprog CI=true",
		`run_pkg 'internal/vmtest/guest' '/src/internal/vmtest/guest' '/tests/internal_vmtest_guest.test' '-test.v' '-test.timeout=10m0s'`,
		`'-test.run=Kprobe|Uprobe'\''$(x)' '-test.skip=Slow'`,
		`echo "=== TRACELET-VM-RESULT pkg=$pkg status=$st"`,
		`echo "=== TRACELET-VM-DONE rc=$rc"`,
		"poweroff -f",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("/init lacks %q", want)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to check the script's syntax: %v", err)
	}
	cmd := exec.Command(sh, "-n")
	cmd.Stdin = strings.NewReader(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s\n%s", err, out, s)
	}
}

func TestShQuote(t *testing.T) {
	out, err := exec.Command("sh", "-c", "printf %s "+shQuote(`a b'c"$x\`)).Output()
	if err != nil || string(out) != `a b'c"$x\` {
		t.Errorf("round trip through sh: %q, %v", out, err)
	}
}

func TestKernelCmdline(t *testing.T) {
	for _, k := range Kernels() {
		ev, err := BootKprobeEvent(k, DefaultBootProbes)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		// The encoder's output, decoded again, is the probes.
		arch, _ := kprobeevents.ParseArch(k.Arch)
		back, err := kprobeevents.DecodeBootParamFor(ev, kprobeevents.Options{Arch: arch})
		want := DefaultBootProbes[0]
		if !arch.HasArgN() {
			// 32-bit arm and mips: the kernel's argument registers.
			regs := map[kprobeevents.Arch][2]string{kprobeevents.ArchARM: {"%r0", "%r1"}, kprobeevents.ArchMIPS: {"%r4", "%r5"}}[arch]
			want = strings.NewReplacer("$arg1", regs[0], "$arg2", regs[1]).Replace(want)
		}
		if err != nil || len(back) != len(DefaultBootProbes) || back[0].String() != want {
			t.Errorf("%s: kprobe_event=%s decodes to %v, %v", k.Name, ev, back, err)
		}
		got, err := kernelCmdline("ttyS0", ev, false)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, "console=ttyS0 panic=-1 ") || !strings.HasSuffix(got, " tracelet.mode=tests ftrace=nop kprobe_event="+ev) {
			t.Errorf("cmdline = %q", got)
		}
	}
	if ev, err := BootKprobeEvent(Kernels()[0], nil); ev != "" || err != nil {
		t.Errorf("no boot probes: %q, %v", ev, err)
	}
	if _, err := BootKprobeEvent(Kernels()[0], []string{"p:kprobes/x vfs_read a=%nosuchreg"}); err == nil {
		t.Error("a bad boot probe was encoded")
	}
	got, _ := kernelCmdline("ttyAMA0", "", true)
	if strings.Contains(got, "kprobe_event") || !strings.Contains(got, "tracelet.mode=fixtures") {
		t.Errorf("fixtures cmdline = %q", got)
	}
	for _, bad := range []string{"p:a,vfs_read b=1", "p:a,vfs_read\nx", `p:a,vfs_read,x=\"s"`} {
		if _, err := kernelCmdline("ttyS0", bad, false); err == nil || !strings.Contains(err.Error(), "column") {
			t.Errorf("%q: err = %v, want a column", bad, err)
		}
	}
}

func TestWriteFixturesStaysInside(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Release: "6.1.0-56-cloud-amd64", Files: map[string][]byte{"events/a/format": []byte("x")}}
	if err := writeFixtures(dir, r); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "6.1.0-56-cloud-amd64", "events", "a", "format")); err != nil || string(b) != "x" {
		t.Errorf("fixture: %q %v", b, err)
	}
	for _, rel := range []string{"", "../x", "a/b", ".hidden"} {
		if err := writeFixtures(dir, &Report{Release: rel, Files: r.Files}); err == nil {
			t.Errorf("release %q accepted", rel)
		}
	}
}

func TestGuestPackageOnArch(t *testing.T) {
	for _, c := range []struct {
		arches, arch string
		want         bool
	}{
		{"", "mipsel", true},
		{"amd64,arm64", "arm64", true},
		{"amd64,arm64", "i386", false},
		{"!riscv64,mipsel", "mipsel", false},
		{"!riscv64,mipsel", "armhf", true},
	} {
		if got := (GuestPackage{Arches: c.arches}).OnArch(c.arch); got != c.want {
			t.Errorf("-arch %q on %s: %v, want %v", c.arches, c.arch, got, c.want)
		}
	}
	if n := (GuestPackage{Dir: "perf", GOARCH: "386"}).Name(); n != "perf@386" {
		t.Errorf("compat name %q", n)
	}
}
