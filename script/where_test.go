package script

import (
	"debug/elf"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
)

func mustArch(t *testing.T, machine string) *asm.Arch {
	t.Helper()
	a, err := asm.ArchForMachine(machine)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWhereTracefsFilter: --where predicates as tracefs filters, with the
// fetchargs each adds to the probe.
func TestWhereTracefsFilter(t *testing.T) {
	kp, err := kprobeevents.ParseProbe("p:rd vfs_read count=%dx:u64", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := kprobeevents.ParseProbe("r:rr vfs_read", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	up, err := kprobeevents.ParseProbe("p:u /bin/true:0x100", kprobeevents.Options{Arch: kprobeevents.ArchARM64})
	if err != nil {
		t.Fatal(err)
	}
	ur, err := kprobeevents.ParseProbe("r:ur /bin/true:0x100", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	// 32-bit code: on its own kernel, and as a compat process on the
	// 64-bit kernel (asm.Arch.ForELF's tables).
	i386OnX86, err := mustArch(t, "x86_64").ForELF(elf.ELFCLASS32, elf.EM_386)
	if err != nil {
		t.Fatal(err)
	}
	armOnARM64, err := mustArch(t, "aarch64").ForELF(elf.ELFCLASS32, elf.EM_ARM)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr  string
		p     *kprobeevents.Probe
		arch  kprobeevents.Arch
		want  string
		extra string
		code  *asm.Arch // nil: the kernel's
	}{
		{`comm == "bash" && args.count > 10`, kp, kprobeevents.ArchX86_64, `comm == "bash" && count > 10`, "", nil},
		{`arg1 == -1 || !(tid == 42)`, kp, kprobeevents.ArchX86_64, `__where0 == -1 || !(common_pid == 42)`, "__where0=$arg2:s64", nil},
		{`args.file->f_path.dentry->d_name.name != "x"`, kp, kprobeevents.ArchX86_64, `__where0 != "x"`, "__where0=file->f_path.dentry->d_name.name:string", nil},
		{`5 < args.file->f_pos`, kp, kprobeevents.ArchX86_64, `__where0 > 5`, "__where0=file->f_pos", nil},
		{`retval < 0`, kr, kprobeevents.ArchX86_64, `__where0 < 0`, "__where0=$retval:s64", nil},
		{`arg2 & 4`, up, kprobeevents.ArchARM64, `__where0 & 4`, "__where0=%x2:s64", nil},
		{`args.prev_pid == 1`, nil, kprobeevents.ArchX86_64, `prev_pid == 1`, "", nil},
		{`arg0 == 1`, up, kprobeevents.ArchI386, `__where0 == 1`, "__where0=$stack1:s32", nil},
		{`arg1 == 7`, up, kprobeevents.ArchX86_64, `__where0 == 7`, "__where0=+8($stack):s32", i386OnX86},
		{`retval < 0`, ur, kprobeevents.ArchX86_64, `__where0 < 0`, "__where0=$retval:s32", i386OnX86},
		{`arg2 & 4`, up, kprobeevents.ArchARM64, `__where0 & 4`, "__where0=%x2:s32", armOnARM64},
		{`arg5 == 3`, up, kprobeevents.ArchARM64, `__where0 == 3`, "__where0=+4($stack):s32", armOnARM64},
		{`arg5 == 3`, up, kprobeevents.ArchARM, `__where0 == 3`, "__where0=$stack1:s32", nil},
	} {
		w, err := ParseWhere(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		code := c.code
		if code == nil {
			code = mustArch(t, c.arch.String())
		}
		f, extra, err := w.TracefsFilter(c.p, c.arch, code)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if f != c.want || strings.Join(extra, " ") != c.extra {
			t.Errorf("%q: got %q %q, want %q %q", c.expr, f, extra, c.want, c.extra)
		}
	}
}

// TestWhereBPFFilter: the program of a predicate on arguments and the
// process id, as a listing; and what it cannot read.
func TestWhereBPFFilter(t *testing.T) {
	up, err := kprobeevents.ParseProbe("p:u /bin/true:0x100", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWhere("arg0 == 7 && !(pid < 2)")
	if err != nil {
		t.Fatal(err)
	}
	insns, err := w.BPFFilter(up, mustArch(t, "x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	insns, err = insns.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	got := insns.String()
	if got != wantWhereListing {
		t.Errorf("listing:\n%s\nwant:\n%s", got, wantWhereListing)
	}
	w, err = ParseWhere(`comm == "x"`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.BPFFilter(up, mustArch(t, "x86_64")); err == nil || !strings.Contains(err.Error(), "integer constant") {
		t.Errorf("comm: %v", err)
	}
}

// arg0 is pt_regs->di (offset 112) on x86_64; a failed arg0 == 7 jumps
// to the r0 = 0 exit, and !(pid < 2) swaps the targets of pid < 2.
const wantWhereListing = `   0: (bf) r6 = r1
   1: (79) r1 = *(u64 *)(r6 +112)
   2: (18) r2 = 0x7
   4: (1d) if r1 == r2 goto pc+1
   5: (05) goto pc+9
   6: (85) call bpf_get_current_pid_tgid#14
   7: (bf) r1 = r0
   8: (77) r1 >>= 32
   9: (18) r2 = 0x2
  11: (cd) if r1 s< r2 goto pc+3
  12: (05) goto pc+0
  13: (b7) r0 = 1
  14: (95) exit
  15: (b7) r0 = 0
  16: (95) exit
`
