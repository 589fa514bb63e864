package scriptrun

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// loadObject creates the maps of obj and loads its programs, closing them
// all when the test ends.
func loadObject(t *testing.T, obj *script.Object) error {
	t.Helper()
	_, _, err := load(t, obj)
	return err
}

func load(t *testing.T, obj *script.Object) (map[string]*bpf.Map, []*bpf.Program, error) {
	t.Helper()
	maps := map[string]*bpf.Map{}
	for _, m := range obj.Maps {
		bm, err := bpf.NewMap(m.Spec)
		if err != nil {
			return nil, nil, fmt.Errorf("map %s (%v): %w", m.Spec.Name, m.Spec.Type, err)
		}
		t.Cleanup(func() { bm.Close() })
		maps[m.Spec.Name] = bm
	}
	var progs []*bpf.Program
	for _, p := range obj.Programs {
		prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: p.Name, Type: p.Type, License: "GPL",
			Instructions: p.Insns, Maps: maps})
		if err != nil {
			return nil, nil, fmt.Errorf("program %s (%s):\n%+v\n%s", p.Name, p.Attach.Raw, err, p.Insns)
		}
		t.Cleanup(func() { prog.Close() })
		progs = append(progs, prog)
	}
	checkPrograms(t, progs)
	return maps, progs, nil
}

// checkPrograms compares the disassembler with bpftool on every program.
func checkPrograms(t *testing.T, progs []*bpf.Program) {
	t.Helper()
	for _, p := range progs {
		testenv.CheckBpftool(t, p.FD())
	}
}

// startChecked is r.Start with every program r loaded (r.progs) compared
// with bpftool: before ready releases the workload, so that the workload's
// events do not wait behind bpftool, or after Start when there is no ready
// or BEGIN ended the script before it. A script whose probes fire on their
// own (interval) checks after Wait instead.
func startChecked(t *testing.T, r *Run, ready func() error) error {
	t.Helper()
	if ready == nil {
		err := r.Start(nil)
		if err == nil {
			checkPrograms(t, r.progs)
		}
		return err
	}
	checked := false
	err := r.Start(func() error {
		checked = true
		checkPrograms(t, r.progs)
		return ready()
	})
	if err == nil && !checked {
		checkPrograms(t, r.progs)
	}
	return err
}

// TestVerifierAcceptsOneliners compiles every one-liner of the corpus and
// loads it: the kernel's verifier must accept each program, with both
// output rings and with the pre-5.5 probe_read helpers. Loading a kprobe
// program needs no kprobes (only attaching does), so kprobe one-liners are
// verified here too.
func TestVerifierAcceptsOneliners(t *testing.T) {
	testenv.RequireRoot(t)
	legacy := func(_ bpf.ProgramType, fn asm.BuiltinFunc) bool {
		switch fn {
		case asm.FnProbeReadKernel, asm.FnProbeReadUser, asm.FnProbeReadKernelStr, asm.FnProbeReadUserStr, asm.FnGetFuncIp:
			return false
		}
		return true
	}
	n := 0
	for _, src := range oneliners(t) {
		n++
		for _, opts := range []script.Options{
			{Arch: kernelArch(t), Output: script.OutputRingBuf},
			{Arch: kernelArch(t), Output: script.OutputPerfEventArray, HaveHelper: legacy},
		} {
			obj, err := script.CompileSource("-e", []byte(src), script.CheckOptions{Formats: fixtureFormats}, opts)
			if err != nil {
				t.Errorf("%s: %v", src, err)
				continue
			}
			if err := loadObject(t, obj); err != nil {
				t.Errorf("%s (%v): %v", src, opts.Output, err)
			}
		}
	}
	if n < 25 {
		t.Fatalf("only %d one-liners", n)
	}
}

// A program that would use a helper the kernel lacks is told so; here the
// legacy probe_read_str is what gets called.
func TestLegacyProbeRead(t *testing.T) {
	src := `tracepoint:syscalls:sys_enter_openat { printf("%s\n", str(args->filename)); }`
	for _, c := range []struct {
		have func(bpf.ProgramType, asm.BuiltinFunc) bool
		want string
	}{
		{nil, "call bpf_probe_read_user_str#114"},
		{func(bpf.ProgramType, asm.BuiltinFunc) bool { return false }, "call bpf_probe_read_str#45"},
	} {
		obj, err := script.CompileSource("-e", []byte(src), script.CheckOptions{Formats: fixtureFormats}, script.Options{Arch: kernelArch(t), HaveHelper: c.have})
		if err != nil {
			t.Fatal(err)
		}
		if s := obj.Programs[0].Insns.String(); !strings.Contains(s, c.want) {
			t.Errorf("want %q in\n%s", c.want, s)
		}
	}
}

// Constant conditions and code after exit() leave no unreachable
// instruction, which the verifier would refuse.
func TestVerifierDeadCode(t *testing.T) {
	testenv.RequireRoot(t)
	for _, src := range []string{
		`BEGIN { exit(); printf("never\n"); }`,
		`BEGIN { if (0) { @a = 1; } else { @b = 2; } if (1) { @c = 3; } }`,
		`BEGIN /0/ { @a = 1; }`,
		`BEGIN /1/ { @a = 1 ? pid : tid; @s = 0 ? comm : "x"; }`,
		`BEGIN /0 && pid/ { @a = 1; }`,
		`BEGIN /1 || pid/ { @a = 1; }`,
		`BEGIN /pid && 0/ { @a = 1; }`,
		`BEGIN { if (pid) { exit(); } else { exit(); } @x = 1; }`,
	} {
		obj, err := script.CompileSource("-e", []byte(src), script.CheckOptions{}, script.Options{Arch: kernelArch(t)})
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if err := loadObject(t, obj); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}
