package kprobeevents

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/kprobeevents/roundtrip.golden from the current output")

const goldenPath = "../testdata/kprobeevents/roundtrip.golden"

// TestRoundTripGolden: every "TARGET<TAB>definition" line is followed by
// "=><TAB>canonical". The canonical form must parse back to itself.
func TestRoundTripGolden(t *testing.T) {
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	cases := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || line[0] == '#' {
			out.WriteString(line + "\n")
			continue
		}
		if strings.HasPrefix(line, "=>\t") {
			continue // rewritten after its input
		}
		tgt, def, ok := strings.Cut(line, "\t")
		target, ok2 := map[string]Target{"kprobe": TargetKprobe, "uprobe": TargetUprobe, "auto": TargetAuto}[tgt]
		if !ok || !ok2 {
			t.Fatalf("roundtrip.golden:%d: want TARGET<TAB>DEFINITION", i+1)
		}
		cases++
		opts := Options{Arch: ArchX86_64, Target: target}
		d, err := Parse(def, opts)
		got := ""
		if err != nil {
			got = "ERROR " + err.Error()
		} else {
			got = Format(d)
		}
		out.WriteString(line + "\n=>\t" + got + "\n")
		if *update {
			continue
		}
		want := ""
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "=>\t") {
			want = lines[i+1][3:]
		}
		if got != want {
			t.Errorf("roundtrip.golden:%d: Format(Parse(%q))\n got %s\nwant %s", i+1, def, got, want)
		}
		if err == nil {
			d2, err := Parse(got, opts)
			if err != nil {
				t.Errorf("canonical %q does not parse: %v", got, err)
			} else if Format(d2) != got {
				t.Errorf("canonical %q is not a fixed point: %q", got, Format(d2))
			}
		}
	}
	if cases < 40 {
		t.Fatalf("only %d cases", cases)
	}
	if *update {
		if err := os.WriteFile(goldenPath, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKernelPrintback reads uprobe_events and dynamic_events as a real
// kernel printed them: each line is already canonical.
func TestKernelPrintback(t *testing.T) {
	for _, name := range []string{"uprobe_events-6.18.txt", "dynamic_events-6.18.txt"} {
		f, err := os.Open(filepath.Join("..", "testdata", "kprobeevents", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			n++
			for _, tg := range []Target{TargetAuto, TargetUprobe} {
				d, err := Parse(line, Options{Arch: ArchX86_64, Target: tg})
				if err != nil {
					t.Errorf("%s: %q: %v", name, line, err)
					continue
				}
				if got := Format(d); got != line {
					t.Errorf("%s: Format(Parse(%q)) = %q", name, line, got)
				}
			}
		}
		f.Close()
		if n == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

func TestProbeFields(t *testing.T) {
	p, err := ParseProbe("r16:grp/ev ext4:ext4_sync_file%return ret=$retval:s32 a=+0(+8($stack)):string", Options{Arch: ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != Kretprobe || !p.Return || p.MaxActive != 16 || p.Group != "grp" || p.Event != "ev" ||
		p.Module != "ext4" || p.Symbol != "ext4_sync_file" || p.Offset != 0 || len(p.Args) != 2 {
		t.Fatalf("fields: %+v", p)
	}
	a := p.Args[1]
	if a.Name != "a" || a.Type.Kind != TypeString || a.Fetch.Kind != FetchDeref || a.Fetch.Depth() != 2 ||
		a.Fetch.Inner.Inner.Kind != FetchStack || a.Fetch.Inner.Offset != 8 {
		t.Fatalf("arg: %+v", a)
	}
	u, err := ParseProbe("p /usr/lib/x86_64-linux-gnu/libc.so.6:0x9d850%return(0x10) n=%di", Options{Arch: ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	if u.Type != Uretprobe || u.Path != "/usr/lib/x86_64-linux-gnu/libc.so.6" || u.Offset != 0x9d850 || !u.HasRefCtr || u.RefCtrOffset != 0x10 ||
		u.Group != "uprobes" || u.Event != "p_libc_0x9d850" {
		t.Fatalf("uprobe fields: %+v", u)
	}
	if got, want := u.RemovalOf().String(), "-:uprobes/p_libc_0x9d850"; got != want {
		t.Errorf("RemovalOf = %q, want %q", got, want)
	}
}

// TestBuiltProbe: a Probe built in code formats and validates.
func TestBuiltProbe(t *testing.T) {
	p := &Probe{Type: Kprobe, Group: "tracelet_42", Symbol: "do_sys_openat2", Args: []Arg{
		{Name: "dfd", Fetch: Reg("di"), Type: Type{Kind: TypeS32}},
		{Name: "path", Fetch: UDeref(0, Reg("si")), Type: Type{Kind: TypeUstring}},
		{Name: "flags", Fetch: Deref(8, Reg("dx")), Type: Type{Kind: TypeBitfield, BitWidth: 4, BitOffset: 2, Container: 32}},
		{Name: "buf", Fetch: Deref(-16, Reg("bp")), Type: Type{Kind: TypeX8, ArrayLen: 4}},
	}}
	want := "p:tracelet_42/p_do_sys_openat2_0 do_sys_openat2 dfd=%di:s32 path=+u0(%si):ustring flags=+8(%dx):b4@2/32 buf=-16(%bp):x8[4]"
	if got := p.String(); got != want {
		t.Errorf("String() = %q\nwant %q", got, want)
	}
	if err := p.Validate(Options{Arch: ArchX86_64}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := p.Validate(Options{Arch: ArchARM64}); err == nil {
		t.Errorf("x86 registers validated for arm64")
	}
	bad := *p
	bad.Args = append([]Arg{{Name: "x", Fetch: &Fetch{Kind: FetchRetval}}}, p.Args...)
	if err := bad.Validate(Options{Arch: ArchX86_64}); err == nil || !strings.Contains(err.Error(), "RETVAL_ON_PROBE") {
		t.Errorf("Validate($retval on entry) = %v", err)
	}
	if err := (&Probe{Type: Uprobe, Path: "/bin/true", Offset: 16, MaxActive: 3}).Validate(Options{}); err == nil {
		t.Errorf("uprobe with MAXACTIVE validated")
	}
	if err := (&Probe{Type: Kprobe, Symbol: "x", Args: []Arg{{Name: "a"}}}).Validate(Options{}); err == nil {
		t.Errorf("nil fetch validated")
	}
	if got := (&Probe{Type: Kprobe, Addr: 0xffffffff81000000}).StringArch(ArchI386); got != "p:kprobes/p_0xffffffff81000000 0xffffffff81000000" {
		// 32-bit: the address does not fit, but formatting must not lose digits.
		t.Logf("i386: %s", got)
	}
	if got := (&Probe{Type: Uprobe, Path: "/bin/sh", Offset: 0x10}).StringArch(ArchARM); got != "p:uprobes/p_sh_0x10 /bin/sh:0x00000010" {
		t.Errorf("arm uprobe = %q", got)
	}
}

// TestPrintback32: a 32-bit kernel pads offsets and addresses to 8 digits,
// and a probe parsed for such an architecture formats the same way.
func TestPrintback32(t *testing.T) {
	for _, line := range []string{
		"p:uprobes/p_sh_0x10 /bin/sh:0x00000010 a=%r0:u32",
		"p:kprobes/p_0xc0101234 0xc0101234",
		"p 0xc0101234",
	} {
		d, err := Parse(line, Options{Arch: ArchARM})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := Format(d); got != line && line != "p 0xc0101234" || line == "p 0xc0101234" && got != "p:kprobes/p_0xc0101234 0xc0101234" {
			t.Errorf("Format(Parse(%q)) = %q", line, got)
		}
	}
}

func TestDefaultEventName(t *testing.T) {
	tests := []struct{ def, want string }{
		{"p do_sys_open", "p_do_sys_open_0"},
		{"r do_sys_open", "r_do_sys_open_0"},
		{"p vfs_read+16", "p_vfs_read_16"},
		{"p ext4:ext4_sync_file", "p_ext4_ext4_sync_file_0"},
		{"p foo.isra.0", "p_foo_isra_0_0"},
		{"p vfs_read%return", "r_vfs_read_0"},
		{"p " + strings.Repeat("s", 80), "p_" + strings.Repeat("s", 61)},
		{"p 0xffffffff81000000", "p_0xffffffff81000000"},
		{"p /bin/bash:0x4245c0", "p_bash_0x4245c0"},
		{"r /usr/lib/libc.so.6:0x10", "p_libc_0x10"},
		{"p /usr/bin/python3-dbg:0x10", "p_python3_0x10"},
		{"p /usr/bin/x_y:0x10", "p_x_0x10"},
	}
	for _, tt := range tests {
		p, err := ParseProbe(tt.def, Options{Arch: ArchX86_64})
		if err != nil {
			t.Errorf("%q: %v", tt.def, err)
			continue
		}
		if p.Event != tt.want || p.DefaultEventName() != tt.want {
			t.Errorf("%q: event %q, want %q", tt.def, p.Event, tt.want)
		}
	}
}
