package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// kernelSpec opens the running kernel's BTF, or skips without it.
func kernelSpec(t *testing.T) *btf.Spec {
	t.Helper()
	spec, err := btf.LoadFile(btf.KernelPath)
	if errors.Is(err, os.ErrNotExist) {
		// Debian's 686-pae 6.1 (the i386 guest) is built without
		// CONFIG_DEBUG_INFO_BTF; its x86_64 and arm64 kernels have BTF.
		t.Skipf("this kernel has no BTF (CONFIG_DEBUG_INFO_BTF off): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spec.Close() })
	return spec
}

func btfID(t *testing.T, spec *btf.Spec, name string, k btf.Kind) btf.TypeID {
	t.Helper()
	id, err := spec.TypeByName(name, k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// requireFeature skips when the kernel refuses the feature with EPERM (this
// development host's sandbox refuses fentry, fexit and LSM loads) or lacks
// it (ErrNotSupported, e.g. fentry on an arm64 kernel before direct calls),
// quoting the probe's answer; any other failure of the probe fails.
func requireFeature(t *testing.T, what string, probe func() error) {
	t.Helper()
	testenv.RequireRoot(t)
	err := probe()
	switch {
	case err == nil:
	case errors.Is(err, unix.EPERM):
		t.Skipf("the kernel refuses %s programs with EPERM: %v", what, err)
	case errors.Is(err, ErrNotSupported):
		t.Skipf("%s: %v", what, err)
	default:
		t.Fatalf("probe for %s: %v", what, err)
	}
}

// tidCount adds 1 to counts[0] for each hit from thread tid and, when
// retSlot >= 0, stores the u64 at ctx[retSlot] (an fexit program's return
// value) in counts[1].
func tidCount(tid int, retSlot int) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(tid), "out"),
	}
	if retSlot >= 0 {
		insns = append(insns,
			asm.LoadMem(asm.R7, asm.R6, int16(8*retSlot), asm.DWord),
			asm.StoreImm(asm.R10, -4, 1, asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, "counts"),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.StoreMem(asm.R0, 0, asm.R7, asm.DWord),
		)
	}
	return append(insns,
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, "counts"),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	)
}

func counter(t *testing.T, m *Map, key uint32) uint64 {
	t.Helper()
	v := make([]byte, m.ValueBufSize())
	if err := m.Lookup(Uint32Key(key), v); err != nil {
		t.Fatal(err)
	}
	return nativeOrder().Uint64(v)
}

func mustAttachTracing(t *testing.T, p *Program) *TracingLink {
	t.Helper()
	l, err := AttachTracing(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// progGone waits for the kernel to drop program id, which it does once the
// last reference (the link, the fd) is gone: BPF_PROG_GET_FD_BY_ID then
// answers ENOENT, as `bpftool prog show id` would.
func progGone(t *testing.T, id uint32) {
	t.Helper()
	const cmdProgGetFDByID = 13
	attr := struct{ id, nextID, openFlags uint32 }{id: id}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fd, err := sys(cmdProgGetFDByID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if err == unix.ENOENT {
			return
		}
		if err != nil {
			t.Fatalf("BPF_PROG_GET_FD_BY_ID %d: %v", id, err)
		}
		unix.Close(fd)
		if time.Now().After(deadline) {
			t.Fatalf("program %d is still loaded 5s after Close", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A tp_btf program on sched_switch counts context switches while the test
// sleeps, and stops counting once its link is closed: attached with
// BPF_LINK_CREATE, and as 5.5-era kernels attach it, with
// BPF_RAW_TRACEPOINT_OPEN and no name.
func TestTracingTPBTF(t *testing.T) {
	for _, c := range []struct {
		name   string
		attach func(*Program) (*TracingLink, error)
	}{{"link", AttachTracing}, {"raw_tracepoint_open", attachTracingRaw}} {
		t.Run(c.name, func(t *testing.T) { testTPBTF(t, c.attach) })
	}
}

func testTPBTF(t *testing.T, attach func(*Program) (*TracingLink, error)) {
	requireFeature(t, "tp_btf", HaveTPBTF)
	spec := kernelSpec(t)
	counts := mustMap(t, MapSpec{Name: "counts", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	prog := mustProgram(t, ProgramSpec{Name: "tp_btf_switch", Type: Tracing,
		AttachType: AttachTraceRawTp, AttachBTFID: btfID(t, spec, "btf_trace_sched_switch", btf.BTF_KIND_TYPEDEF),
		Instructions: asm.Instructions{
			asm.StoreImm(asm.R10, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, "counts"),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Imm(asm.R1, 1),
			asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
			asm.Return(),
		},
		Maps: map[string]*Map{"counts": counts}})
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	link, err := attach(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond) // each sleep switches out and back in
	}
	if n := counter(t, counts, 0); n == 0 {
		t.Fatal("no sched_switch counted while the test slept 20 times")
	} else {
		t.Logf("%d context switches", n)
	}
	if err := link.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(link.FD()), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("link fd %d after Close: %v, want EBADF", link.FD(), err)
	}
	// Detaching unregisters the tracepoint probe without waiting for the
	// calls already running on other CPUs (the program is freed only
	// after an RCU grace period): one may still add after Close returns,
	// as the single-threaded arm64 guest showed (148, then 149). Let
	// those finish; no call may begin after the detach.
	time.Sleep(50 * time.Millisecond)
	before := counter(t, counts, 0)
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond)
	}
	if after := counter(t, counts, 0); after != before {
		t.Errorf("the detached program still counts: %d, then %d", before, after)
	}
	prog.Close()
	progGone(t, info.ID)
}

func TestAttachTracingRefusesOtherTypes(t *testing.T) {
	p := &Program{name: "kp", typ: Kprobe, fd: -1}
	if _, err := AttachTracing(p); err == nil || !strings.Contains(err.Error(), "not kprobe") {
		t.Errorf("AttachTracing of a kprobe program: %v", err)
	}
}

// unlinkMissing calls unlinkat(2) n times on a path that does not exist:
// each call goes through do_unlinkat, which fails with ENOENT.
func unlinkMissing(t *testing.T, n int) {
	path := filepath.Join(t.TempDir(), "missing")
	for i := 0; i < n; i++ {
		if err := unix.Unlinkat(unix.AT_FDCWD, path, 0); err != unix.ENOENT {
			t.Fatalf("unlinkat %s: %v, want ENOENT", path, err)
		}
	}
}

// fentryTarget is the function the fentry and fexit tests trace, with its
// parameter count. do_unlinkat has been there, traceable, since BTF.
func fentryTarget(t *testing.T, spec *btf.Spec) (btf.TypeID, int) {
	proto, err := spec.FuncProto("do_unlinkat")
	if err != nil {
		t.Fatal(err)
	}
	return btfID(t, spec, "do_unlinkat", btf.BTF_KIND_FUNC), len(proto.Params)
}

func TestFentry(t *testing.T) {
	requireFeature(t, "fentry", HaveFentry)
	spec := kernelSpec(t)
	id, _ := fentryTarget(t, spec)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	counts := mustMap(t, MapSpec{Name: "counts", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	prog := mustProgram(t, ProgramSpec{Name: "fentry_unlink", Type: Tracing,
		AttachType: AttachTraceFentry, AttachBTFID: id,
		Instructions: tidCount(unix.Gettid(), -1), Maps: map[string]*Map{"counts": counts}})
	link := mustAttachTracing(t, prog)
	const n = 137
	unlinkMissing(t, n)
	if err := link.Close(); err != nil {
		t.Fatal(err)
	}
	unlinkMissing(t, 1) // detached: must not count
	if got := counter(t, counts, 0); got != n {
		t.Errorf("fentry on do_unlinkat counted %d calls, want %d", got, n)
	}
}

func TestFexit(t *testing.T) {
	requireFeature(t, "fexit", HaveFexit)
	spec := kernelSpec(t)
	id, nargs := fentryTarget(t, spec)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	counts := mustMap(t, MapSpec{Name: "counts", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	// An fexit program's context is the arguments, then the return value.
	prog := mustProgram(t, ProgramSpec{Name: "fexit_unlink", Type: Tracing,
		AttachType: AttachTraceFexit, AttachBTFID: id,
		Instructions: tidCount(unix.Gettid(), nargs), Maps: map[string]*Map{"counts": counts}})
	link := mustAttachTracing(t, prog)
	const n = 41
	unlinkMissing(t, n)
	link.Close()
	if got := counter(t, counts, 0); got != n {
		t.Errorf("fexit on do_unlinkat counted %d returns, want %d", got, n)
	}
	// do_unlinkat returns int: the low 32 bits are -ENOENT.
	if ret := int32(uint32(counter(t, counts, 1))); ret != -int32(unix.ENOENT) {
		t.Errorf("fexit read return value %d, want %d (-ENOENT)", ret, -int32(unix.ENOENT))
	}
}

// An LSM program on file_open counts this thread's opens of one file,
// recognized by its inode number: file->f_inode->i_ino, with the offsets
// from BTF and the loads checked by the verifier against the same BTF.
func TestLSM(t *testing.T) {
	requireFeature(t, "LSM", HaveLSM)
	active, err := BPFLSMActive()
	if err != nil {
		t.Fatal(err)
	}
	if !active {
		list, _ := ActiveLSMs()
		t.Skipf("bpf is not in the active LSM list %v: LSM programs load and attach but never run (boot with lsm=…,bpf)", list)
	}
	list, _ := ActiveLSMs()
	t.Logf("active LSMs: %v", list)
	spec := kernelSpec(t)
	file := btfID(t, spec, "file", btf.BTF_KIND_STRUCT)
	inode := btfID(t, spec, "inode", btf.BTF_KIND_STRUCT)
	fInode, err := spec.Member(file, "f_inode")
	if err != nil {
		t.Fatal(err)
	}
	iIno, err := spec.Member(inode, "i_ino")
	if err != nil {
		t.Fatal(err)
	}
	inoSize := asm.DWord
	if sz, _ := spec.Sizeof(iIno.Type); sz == 4 {
		inoSize = asm.Word
	}

	path := filepath.Join(t.TempDir(), "watched")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	counts := mustMap(t, MapSpec{Name: "counts", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(unix.Gettid()), "out"),
		asm.LoadMem(asm.R1, asm.R6, 0, asm.DWord),                    // struct file *
		asm.LoadMem(asm.R1, asm.R1, int16(fInode.Offset), asm.DWord), // ->f_inode
		asm.LoadMem(asm.R1, asm.R1, int16(iIno.Offset), inoSize),     // ->i_ino
		asm.LoadImm64(asm.R2, int64(st.Ino)),
		asm.JNE.Reg(asm.R1, asm.R2, "out"),
	}
	insns = append(insns, tidCount(0, -1)[3:]...) // the increment of counts[0]
	prog := mustProgram(t, ProgramSpec{Name: "lsm_file_open", Type: LSM,
		AttachType: AttachLSMMac, AttachBTFID: btfID(t, spec, "bpf_lsm_file_open", btf.BTF_KIND_FUNC),
		Instructions: insns, Maps: map[string]*Map{"counts": counts}})
	link := mustAttachTracing(t, prog)
	const n = 23
	for i := 0; i < n; i++ {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err) // the program returns 0: it must not refuse opens
		}
		unix.Close(fd)
	}
	link.Close()
	if got := counter(t, counts, 0); got != n {
		t.Errorf("lsm file_open counted %d opens of %s, want %d", got, path, n)
	}
}

// The probes' answers agree with what a load through NewProgram, against
// the targets the tests use, gets from this kernel: nil both, or the same
// errno.
func TestBTFProbesAgreeWithLoads(t *testing.T) {
	testenv.RequireRoot(t)
	spec := kernelSpec(t)
	fn, _ := fentryTarget(t, spec)
	ret0 := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	for _, c := range []struct {
		name  string
		probe func() error
		spec  ProgramSpec
	}{
		{"fentry", HaveFentry, ProgramSpec{Type: Tracing, AttachType: AttachTraceFentry, AttachBTFID: fn}},
		{"fexit", HaveFexit, ProgramSpec{Type: Tracing, AttachType: AttachTraceFexit, AttachBTFID: fn}},
		{"tp_btf", HaveTPBTF, ProgramSpec{Type: Tracing, AttachType: AttachTraceRawTp, AttachBTFID: btfID(t, spec, "btf_trace_sched_switch", btf.BTF_KIND_TYPEDEF)}},
		{"lsm", HaveLSM, ProgramSpec{Type: LSM, AttachType: AttachLSMMac, AttachBTFID: btfID(t, spec, "bpf_lsm_file_open", btf.BTF_KIND_FUNC)}},
	} {
		c.spec.Name, c.spec.License, c.spec.Instructions = c.name, "GPL", ret0
		p, loadErr := NewProgram(c.spec)
		if loadErr == nil {
			var l *TracingLink
			if l, loadErr = AttachTracing(p); loadErr == nil {
				l.Close()
			}
			p.Close()
		}
		probeErr := c.probe()
		if (loadErr == nil) != (probeErr == nil) || errnoOf(loadErr) != errnoOf(probeErr) {
			t.Errorf("%s: probe says %v, a load says %v", c.name, probeErr, loadErr)
		}
		if probeErr != nil && errnoOf(probeErr) != 0 && !strings.Contains(probeErr.Error(), unix.ErrnoName(errnoOf(probeErr))) {
			t.Errorf("%s: %q does not name the errno", c.name, probeErr)
		}
	}
	if err := HaveRawTracepoint(); err != nil {
		t.Errorf("raw tracepoints: %v", err)
	}
}

func TestKernelBTF(t *testing.T) {
	spec := kernelSpec(t)
	info, err := KernelBTF()
	if err != nil {
		t.Fatal(err)
	}
	if info.Types != spec.NumTypes()-1 || info.Path != btf.KernelPath {
		t.Errorf("KernelBTF: %+v, want %d types in %s", info, spec.NumTypes()-1, btf.KernelPath)
	}
	ents, _ := os.ReadDir(btf.KernelDir)
	if len(info.Modules) != len(ents)-1 {
		t.Errorf("modules %v, but %s has %d entries", info.Modules, btf.KernelDir, len(ents))
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/sys/kernel/security`: "/sys/kernel/security", `/a\040b`: "/a b", `/x\\`: `/x\\`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
