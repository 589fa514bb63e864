package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// TestDoctorBTF checks doctor's BTF, fentry/fexit, LSM, raw tracepoint and
// tp_btf lines against what this test gets from the kernel itself: its own
// loads and attaches, the BTF file, and the securityfs lsm file.
func TestDoctorBTF(t *testing.T) {
	testenv.RequireRoot(t)
	var r doctorReport
	if err := json.Unmarshal([]byte(mustCLI(t, "doctor", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	line := map[string]finding{}
	for _, f := range r.Features {
		line[f.Name] = f
	}
	check := func(name string, want bool, why string) {
		t.Helper()
		f, ok := line[name]
		if !ok {
			t.Errorf("doctor has no %q line", name)
			return
		}
		if f.OK != want {
			t.Errorf("doctor says %s: %v (%s), but %s", name, f.OK, f.Reason, why)
		}
		t.Logf("%s: %v, %s", name, f.OK, f.Reason)
	}

	spec, err := btf.LoadFile(btf.KernelPath)
	if err != nil {
		check("BTF", false, fmt.Sprint(err))
		if !strings.Contains(line["BTF"].Reason, "no BTF") {
			t.Errorf("BTF line %q does not say there is no BTF", line["BTF"].Reason)
		}
		return
	}
	defer spec.Close()
	check("BTF", true, "the test read "+btf.KernelPath)
	if want := fmt.Sprintf("%s, %d types, modules: ", btf.KernelPath, spec.NumTypes()-1); !strings.HasPrefix(line["BTF"].Reason, want) {
		t.Errorf("BTF line %q, want it to start %q", line["BTF"].Reason, want)
	}
	ents, _ := os.ReadDir(btf.KernelDir)
	for _, e := range ents {
		if e.Name() != "vmlinux" && !strings.Contains(line["BTF"].Reason, e.Name()) && !strings.Contains(line["BTF"].Reason, "…") {
			t.Errorf("BTF line %q lacks module %s", line["BTF"].Reason, e.Name())
		}
	}

	id := func(name string, k btf.Kind) btf.TypeID {
		i, err := spec.TypeByName(name, k)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	try := func(typ bpf.ProgramType, at bpf.AttachType, target btf.TypeID) error {
		p, err := bpf.NewProgram(bpf.ProgramSpec{Name: "doctor_test", Type: typ, License: "GPL",
			AttachType: at, AttachBTFID: target, Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
		if err != nil {
			return err
		}
		defer p.Close()
		l, err := bpf.AttachTracing(p)
		if err != nil {
			return err
		}
		return l.Close()
	}
	says := func(err error) string {
		if err == nil {
			return "the test's own load and attach worked"
		}
		return "the test's own load or attach failed: " + err.Error()
	}
	withErrno := func(name string, err error) {
		t.Helper()
		var errno unix.Errno
		if errors.As(err, &errno) && !strings.Contains(line[name].Reason, unix.ErrnoName(errno)) {
			t.Errorf("%s line %q does not name %s", name, line[name].Reason, unix.ErrnoName(errno))
		}
	}

	fn := id("do_unlinkat", btf.BTF_KIND_FUNC)
	fentry := try(bpf.Tracing, bpf.AttachTraceFentry, fn)
	fexit := try(bpf.Tracing, bpf.AttachTraceFexit, fn)
	check("fentry/fexit", fentry == nil && fexit == nil, says(errors.Join(fentry, fexit)))
	withErrno("fentry/fexit", errors.Join(fentry, fexit))

	tpbtf := try(bpf.Tracing, bpf.AttachTraceRawTp, id("btf_trace_sched_switch", btf.BTF_KIND_TYPEDEF))
	check("tp_btf", tpbtf == nil, says(tpbtf))

	lsm := try(bpf.LSM, bpf.AttachLSMMac, id("bpf_lsm_file_open", btf.BTF_KIND_FUNC))
	active, err := bpfInLSMList(t)
	if err != nil {
		t.Logf("cannot read the active LSM list: %v", err)
	} else {
		check("LSM BPF", lsm == nil && active, fmt.Sprintf("%s, and bpf is in the active LSM list: %v", says(lsm), active))
		if want := map[bool]string{true: "active LSM list: yes", false: "active LSM list: no"}[active]; !strings.Contains(line["LSM BPF"].Reason, want) {
			t.Errorf("LSM BPF line %q, want %q", line["LSM BPF"].Reason, want)
		}
	}
	withErrno("LSM BPF", lsm)

	p, err := bpf.NewProgram(bpf.ProgramSpec{Name: "doctor_test", Type: bpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err == nil {
		var l *bpf.RawTracepointLink
		if l, err = bpf.AttachRawTracepoint(p, "sched_switch"); err == nil {
			l.Close()
		}
		p.Close()
	}
	check("raw tracepoints", err == nil, says(err))
}

// bpfInLSMList reads securityfs's lsm file from a private mount: securityfs
// has one superblock, so a second mount shows the same files, and the test
// leaves the host's mounts alone.
func bpfInLSMList(t *testing.T) (bool, error) {
	dir := t.TempDir()
	if err := unix.Mount("securityfs", dir, "securityfs", 0, ""); err != nil {
		return false, err
	}
	defer unix.Unmount(dir, 0)
	b, err := os.ReadFile(dir + "/lsm")
	if err != nil {
		return false, err
	}
	for _, m := range strings.Split(strings.TrimSpace(string(b)), ",") {
		if m == "bpf" {
			return true, nil
		}
	}
	return false, nil
}

func TestModuleList(t *testing.T) {
	many := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for _, c := range []struct {
		mods []string
		want string
	}{
		{nil, "none"},
		{[]string{"nf_tables", "xfs"}, "nf_tables, xfs"},
		{many, "a, b, c, d, e, f, g, h, … (10 in all)"},
	} {
		if got := moduleList(c.mods); got != c.want {
			t.Errorf("moduleList(%v) = %q, want %q", c.mods, got, c.want)
		}
	}
}
