package script

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/usdt"
)

func TestParseUSDT(t *testing.T) {
	for _, tc := range []struct {
		src, target, provider, name string
		err                         string
	}{
		{src: `usdt:/bin/x:prov:name { }`, target: "/bin/x", provider: "prov", name: "name"},
		{src: `U:/bin/x:name { }`, target: "/bin/x", name: "name"},
		{src: `usdt:libc.so.6:libc:setjmp { }`, target: "libc.so.6", provider: "libc", name: "setjmp"},
		{src: `usdt:/bin/x:p*:n?me { }`, target: "/bin/x", provider: "p*", name: "n?me"},
		{src: `usdt::prov:name { }`, target: "", provider: "prov", name: "name"},
		{src: `usdt:/bin/x { }`, err: `fuzz:1:1: usdt probe must be written usdt:PATH:[PROVIDER:]NAME, found "usdt:/bin/x"`},
		{src: `usdt:/bin/x:a:b:c { }`, err: `fuzz:1:1: usdt probe must be written usdt:PATH:[PROVIDER:]NAME, found "usdt:/bin/x:a:b:c"`},
		{src: `usdt:/bin/x::name { }`, err: `fuzz:1:13: usdt probe must be written usdt:PATH:[PROVIDER:]NAME: empty provider`},
		{src: `usdt:/bin/x:prov: { }`, err: `fuzz:1:18: usdt probe must be written usdt:PATH:[PROVIDER:]NAME: empty probe name`},
		{src: `BEGIN { } usdt:/bin/x?:p:n { }`, err: `fuzz:1:16: usdt binary "/bin/x?": wildcards are for the provider and the probe name, not the path`},
		{src: `usdt:/bin/x:p:[a { }`, err: `fuzz:1:15: bad pattern "[a"`},
	} {
		prog, err := Parse("fuzz", []byte(tc.src))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %s", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		a := prog.Probes[0].Attach[0]
		if a.Type != USDT || a.Target != tc.target || a.Provider != tc.provider || a.Func != tc.name {
			t.Errorf("%s: %v target %q provider %q name %q", tc.src, a.Type, a.Target, a.Provider, a.Func)
		}
	}
}

// syntheticUSDT is a USDTSource whose every probe has one location, with
// arguments spec parsed for arch: what the runtime (package scriptrun)
// does with a binary's notes, without the binary.
type syntheticUSDT struct {
	args []usdt.Arg
	err  error
}

func (s syntheticUSDT) USDTSites(a *AttachPoint) ([]*USDTSite, error) {
	if s.err != nil {
		return nil, s.err
	}
	return []*USDTSite{{Path: "/bin/x", Provider: "p", Name: "n", Offset: 0x1000, Args: s.args}}, nil
}

// resolveSynthetic gives every usdt attach point of prog a site whose
// arguments are spec, parsed for arch, through ResolveUSDT.
func resolveSynthetic(prog *Program, arch kprobeevents.Arch, spec string) error {
	args, err := usdt.ParseArgs(arch, spec)
	if err != nil {
		return err
	}
	return ResolveUSDT(prog, syntheticUSDT{args: args})
}

// TestResolveUSDT: ResolveUSDT gives each usdt attach point its sites,
// leaves the others alone, and an error of the source names the attach
// point at its column.
func TestResolveUSDT(t *testing.T) {
	prog, err := Parse("t", []byte(`uprobe:/bin/x:f, usdt:/bin/x:p*:* { }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ResolveUSDT(prog, syntheticUSDT{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range prog.Probes[0].Attach {
		got = append(got, fmt.Sprintf("%s site=%v", a.Raw, a.USDT != nil))
	}
	if want := "uprobe:/bin/x:f site=false, usdt:/bin/x:p:n site=true"; strings.Join(got, ", ") != want {
		t.Errorf("attach points %q, want %q", strings.Join(got, ", "), want)
	}
	prog, err = Parse("t", []byte(`BEGIN { } usdt:/bin/y:p:n { }`))
	if err != nil {
		t.Fatal(err)
	}
	err = ResolveUSDT(prog, syntheticUSDT{err: fmt.Errorf("/bin/y has no USDT probes")})
	if want := "t:1:11: usdt:/bin/y:p:n: /bin/y has no USDT probes"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want %s", err, want)
	}
}

// TestCheckUSDTArgTypes: each argument is typed by its spec, and a probe
// whose locations disagree gets a 64-bit integer.
func TestCheckUSDTArgTypes(t *testing.T) {
	prog, err := Parse("t", []byte(`usdt:/bin/x:p:n { printf("%d %d %d %d %d", arg0, arg1, arg2, arg3, arg4); }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resolveSynthetic(prog, kprobeevents.ArchX86_64, "-4@%edi 8@-16(%rbp) 1@$5 -2@%ax 8@(%rsi)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(prog, CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range prog.Probes[0].Body[0].(*ExprStmt).X.(*Call).Args[1:] {
		got = append(got, TypeOf(e).String())
	}
	want := "int32 uint64 uint8 int16 uint64"
	if strings.Join(got, " ") != want {
		t.Errorf("argument types %s, want %s", strings.Join(got, " "), want)
	}

	// arg6 to arg11 are a usdt probe's (sdt.h allows 12 arguments).
	prog, err = Parse("t", []byte(`usdt:/bin/x:p:n { printf("%d %d", arg10, arg11); }`))
	if err != nil {
		t.Fatal(err)
	}
	resolveSynthetic(prog, kprobeevents.ArchX86_64, "1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al -2@%ax 8@%rax")
	if _, err := Check(prog, CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	if a := prog.Probes[0].Body[0].(*ExprStmt).X.(*Call).Args; TypeOf(a[1]).String() != "int16" || TypeOf(a[2]).String() != "uint64" {
		t.Errorf("arg10, arg11: %s, %s, want int16, uint64", TypeOf(a[1]), TypeOf(a[2]))
	}
	prog, err = Parse("t", []byte(`uprobe:/bin/x:f { @ = arg6; }`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(prog, CheckOptions{}); err == nil || !strings.Contains(err.Error(), "t:1:23: arg6: uprobe probes have arguments arg0 to arg5 (arg6 to arg11 are for usdt probes)") {
		t.Errorf("arg6 on a uprobe: %v", err)
	}

	// Two locations: int32 and uint8 make an int64.
	prog, err = Parse("t", []byte(`usdt:/bin/x:p:n, usdt:/bin/x:p:m { @a = arg0; }`))
	if err != nil {
		t.Fatal(err)
	}
	resolveSynthetic(prog, kprobeevents.ArchX86_64, "-4@%edi")
	args, _ := usdt.ParseArgs(kprobeevents.ArchX86_64, "1@%sil")
	prog.Probes[0].Attach[1].USDT.Args = args
	info, err := Check(prog, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := info.Maps[0].String(); s != "@a: int64" {
		t.Errorf("two locations: %s, want @a: int64", s)
	}
}

// TestCompileUSDTArgs checks the loads of each operand kind: a register
// of pt_regs by the table's offset, memory through bpf_probe_read_user at
// the register plus the offset, a constant, and the extension from the
// spec's size and sign.
func TestCompileUSDTArgs(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	arm64, err := asm.ArchFor("arm64")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arch     *asm.Arch
		karch    kprobeevents.Arch
		spec     string
		reg      string // the register the argument is read from, "" for none
		off      int64  // the memory operand's offset
		memory   bool
		constant int64
	}{
		{amd64, kprobeevents.ArchX86_64, "-4@%edi", "di", 0, false, 0},
		{amd64, kprobeevents.ArchX86_64, "8@-16(%rbp)", "bp", -16, true, 0},
		{amd64, kprobeevents.ArchX86_64, "4@$77", "", 0, false, 77},
		{arm64, kprobeevents.ArchARM64, "-8@x3", "x3", 0, false, 0},
		{arm64, kprobeevents.ArchARM64, "4@[sp, 12]", "sp", 12, true, 0},
	} {
		prog, err := Parse("t", []byte(`usdt:/bin/x:p:n { @ = arg0; }`))
		if err != nil {
			t.Fatal(err)
		}
		if err := resolveSynthetic(prog, tc.karch, tc.spec); err != nil {
			t.Fatal(err)
		}
		info, err := Check(prog, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := Compile(prog, info, Options{Arch: tc.arch})
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		text := obj.Programs[0].Insns.String()
		if tc.reg != "" {
			loc, ok := tc.arch.Register(tc.reg)
			if !ok {
				t.Fatalf("no register %s", tc.reg)
			}
			if want := fmt.Sprintf("*(u64 *)(r6 +%d)", loc.Offset); !strings.Contains(text, want) {
				t.Errorf("%s: no load of %s (%s):\n%s", tc.spec, tc.reg, want, text)
			}
		}
		if got := strings.Contains(text, "bpf_probe_read_user"); got != tc.memory {
			t.Errorf("%s: reads user memory: %v, want %v:\n%s", tc.spec, got, tc.memory, text)
		}
		if tc.memory && !strings.Contains(text, fmt.Sprintf("= %d\n", tc.off)) {
			t.Errorf("%s: no offset %d:\n%s", tc.spec, tc.off, text)
		}
		if tc.constant != 0 && !strings.Contains(text, fmt.Sprintf("= %d\n", tc.constant)) {
			t.Errorf("%s: no constant %d:\n%s", tc.spec, tc.constant, text)
		}
	}
}

// FuzzUSDT: any script with any argument spec either fails with positioned
// errors or compiles; nothing panics.
func FuzzUSDT(f *testing.F) {
	for _, s := range []struct{ src, spec string }{
		{`usdt:/bin/x:p:n { printf("%d %d %s\n", arg0, arg1, str(arg2)); }`, "-4@%edi 8@-16(%rbp) 8@%rsi"},
		{`usdt:/bin/x:n /arg0 > 3/ { @[arg1] = hist(arg2); }`, "4@$5 -2@%ax 8@(%rax,%rdx,8)"},
		{`U:/bin/x:p:* { @[probe] = count(); @s = sum(arg5); }`, "1@%cl 2@%dx 4@%r8d 8@%r9 -1@%al -8@8(%rsp)"},
		{`usdt:/bin/x:p:n, uprobe:/bin/x:f { print(arg0); }`, "8@x0"},
		{`usdt:/bin/x:p:n { @ = reg("ip"); }`, ""},
		{`usdt:/bin/x:p:n { printf("%d %d\n", arg9, arg11); }`, "1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al -2@%ax 8@%rax"},
	} {
		f.Add(s.src, s.spec)
	}
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src, spec string) {
		prog, err := Parse("fuzz", []byte(src))
		if err != nil {
			return
		}
		if resolveSynthetic(prog, kprobeevents.ArchX86_64, spec) != nil {
			return
		}
		info, err := Check(prog, CheckOptions{})
		if err != nil {
			if _, ok := AsErrorList(err); !ok {
				t.Fatalf("Check error of type %T: %v", err, err)
			}
			return
		}
		if _, err := Compile(prog, info, Options{Arch: amd64}); err != nil {
			if _, ok := AsErrorList(err); !ok {
				t.Fatalf("Compile error of type %T: %v", err, err)
			}
		}
		CompileTracefs(prog, info, TracefsOptions{Arch: amd64})
	})
}
