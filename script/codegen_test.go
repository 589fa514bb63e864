package script

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
)

// codegenCases are small programs whose listings are kept in
// codegen.golden: each shows one thing the code generator must get right.
var codegenCases = []struct{ name, src string }{
	{"constant folding", `BEGIN { @x = 1 + 2 * 3 << 4; }`},
	{"count per-cpu scalar", `tracepoint:raw_syscalls:sys_enter { @ = count(); }`},
	{"count keyed by comm", `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`},
	{"sum of a signed field with predicate", `tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @[pid] = sum(args->ret); }`},
	{"string compare with literal", `tracepoint:syscalls:sys_enter_read /comm == "sshd"/ { @n++; }`},
	{"printf to ring buffer", `tracepoint:syscalls:sys_enter_openat { printf("%d %s\n", tid, str(args->filename)); }`},
	{"hist", `tracepoint:syscalls:sys_enter_read { @ = hist(args->count); }`},
	{"lhist of retval", `uretprobe:/bin/sh:main { @ = lhist(retval, 0, 2000, 200); }`},
	{"uprobe arguments", `uprobe:/bin/sh:main { @[arg0, arg1] = max(arg2); }`},
	{"locals, ternary and exit", `interval:s:1 { @ticks++; $t = @ticks; $u = $t > 5 ? 1 : 0; @y = $t + $u; if ($t >= 10) { exit(); } }`},
	{"data_loc string field", `tracepoint:sched:sched_process_exec { @[args->filename] = count(); }`},
	{"one block, two layouts", `tracepoint:syscalls:sys_enter_open, tracepoint:syscalls:sys_enter_openat { printf("%s\n", str(args->filename)); }`},
	{"delete and print", `tracepoint:syscalls:sys_enter_read { @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@s[tid]/ { @lat = avg(nsecs - @s[tid]); delete(@s[tid]); } END { print(@lat); clear(@lat); }`},
}

// A probe list compiles per attach point, each with its tracepoint's own
// layout: filename is at 16 in sys_enter_open and at 24 in
// sys_enter_openat (Linux 6.18).
func TestCompilePerProbeLayout(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := CompileSource("-e", []byte(`tracepoint:syscalls:sys_enter_open, tracepoint:syscalls:sys_enter_openat { @[args->filename, args->flags] = count(); }`),
		CheckOptions{Formats: fixtureFormats}, Options{Arch: amd64})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"(u64 *)(r6 +16)", "(u64 *)(r6 +24)"} {
		insns, err := obj.Programs[i].Insns.Assemble()
		if err != nil {
			t.Fatal(err)
		}
		if l := insns.String(); !strings.Contains(l, want) {
			t.Errorf("%s: no load %s in\n%s", obj.Programs[i].Attach.Raw, want, l)
		}
	}
	// Types must agree: a string in one and an integer in the other is an
	// error.
	_, err = CompileSource("-e", []byte(`tracepoint:sched:sched_process_exec, tracepoint:syscalls:sys_enter_openat { @[args->filename] = count(); }`),
		CheckOptions{Formats: fixtureFormats}, Options{Arch: amd64})
	if err == nil || !strings.Contains(err.Error(), "-e:1:85: field filename is string[64] in tracepoint:sched:sched_process_exec but uint64 in tracepoint:syscalls:sys_enter_openat: one action block needs one type") {
		t.Errorf("got %v", err)
	}
}

func TestCodegenGolden(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, c := range codegenCases {
		obj, err := CompileSource("-e", []byte(c.src), CheckOptions{Formats: fixtureFormats}, Options{Arch: amd64})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		out.WriteString("=== " + c.name + ": " + c.src + "\n")
		for _, m := range obj.Maps {
			s := m.Spec
			out.WriteString("map " + s.Name + " " + s.Type.String() + " key " + itoa(int(s.KeySize)) + " value " + itoa(int(s.ValueSize)) + "\n")
		}
		for _, p := range obj.Programs {
			insns, err := p.Insns.Assemble()
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			out.WriteString("--- " + p.Name + " (" + p.Type.String() + ")\n")
			out.WriteString(insns.String())
			if !strings.HasSuffix(insns.String(), "\n") {
				out.WriteString("\n")
			}
		}
	}
	golden(t, "codegen.golden", out.Bytes())
}

// Constant expressions become one instruction.
func TestConstantFolded(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`BEGIN { @x = (1 + 2) * 3 - 0x10 / 4; }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := obj.Programs[0].Insns.String()
	if !strings.Contains(s, "r7 = 5\n") || strings.Contains(s, "*=") || strings.Contains(s, "/=") {
		t.Errorf("not folded:\n%s", s)
	}
}

// Nothing is zeroed twice, and words that a helper or store fills are not
// zeroed: count the stores of zero to the stack.
func TestNoRedundantZeroing(t *testing.T) {
	for _, c := range []struct {
		src    string
		zeros  int
		padded bool
	}{
		// comm: where get_current_comm pads its 16 bytes (CommPadded),
		// nothing is cleared; the pid key is stored whole.
		{`tracepoint:raw_syscalls:sys_enter { @[comm, pid] = count(); }`, 0, true},
		// Where it does not (6.1), the 16 bytes are cleared first.
		{`tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }`, 2, false},
		// a literal is written word by word, with its NULs: the scalar
		// map's key, and the literal's second word, are the two.
		{`BEGIN { @s = "abc"; }`, 2, false},
		// str() must clear its 64 bytes (probe_read_str does not pad).
		{`tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }`, 8, false},
	} {
		obj, err := CompileSource("-e", []byte(c.src), CheckOptions{Formats: fixtureFormats}, Options{CommPadded: func() bool { return c.padded }})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ins := range obj.Programs[0].Insns {
			if ins.OpCode.Class() == asm.StClass && ins.Constant == 0 && ins.Dst == asm.R10 {
				n++
			}
		}
		if n != c.zeros {
			t.Errorf("%s: %d zeroing stores, want %d\n%s", c.src, n, c.zeros, obj.Programs[0].Insns)
		}
	}
}

// A kprobe's arguments past the registers are read from the kernel stack:
// i386's kernel passes the fourth on (regparm(3)), one word above the
// return address at sp.
func TestKprobeStackArgs(t *testing.T) {
	for _, c := range []struct {
		goarch, src string
		off         int32
	}{
		{"386", `kprobe:cap_capable { @ = arg3; }`, 4},
		{"386", `kprobe:f { @ = arg4; }`, 8},
	} {
		arch, err := asm.ArchFor(c.goarch)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := CompileSource("-e", []byte(c.src), CheckOptions{}, Options{Arch: arch})
		if err != nil {
			t.Fatalf("%s on %s: %v", c.src, c.goarch, err)
		}
		text := fmt.Sprint(obj.Programs[0].Insns)
		sp, _ := arch.SP().Load(asm.R3, asm.R6)
		if !strings.Contains(text, sp.String()) || !strings.Contains(text, asm.Add.Imm(asm.R3, c.off).String()) ||
			!strings.Contains(text, "bpf_probe_read_kernel") {
			t.Errorf("%s on %s: no read of sp+%d with bpf_probe_read_kernel:\n%s", c.src, c.goarch, c.off, text)
		}
	}
}

// uptr() and kptr() say which memory a pointer is in, whatever the probe:
// str(uptr(arg1)) in a kprobe reads a user string (a syscall's path), and
// str(kptr(arg0)) in a uprobe a kernel one.
func TestUptrKptr(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		`kprobe:do_sys_openat2 { printf("%s\n", str(uptr(arg1))); }`: "bpf_probe_read_user_str",
		`uprobe:/bin/sh:main { printf("%s\n", str(kptr(arg0))); }`:   "bpf_probe_read_kernel_str",
		`uprobe:/bin/sh:main { printf("%s\n", str(arg0)); }`:         "bpf_probe_read_user_str",
	} {
		obj, err := CompileSource("-e", []byte(src), CheckOptions{}, Options{Arch: amd64})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if text := fmt.Sprint(obj.Programs[0].Insns); !strings.Contains(text, want) {
			t.Errorf("%s: no %s in\n%s", src, want, text)
		}
	}
	if _, err := CompileSource("-e", []byte(`BEGIN { @ = uptr(comm); }`), CheckOptions{}, Options{Arch: amd64}); err == nil ||
		!strings.Contains(err.Error(), "uptr() needs an integer or a pointer, not string[16]") {
		t.Errorf("uptr(comm): %v", err)
	}
}
