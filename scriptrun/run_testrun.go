package scriptrun

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
)

// BEGIN and END run through BPF_PROG_TEST_RUN where the kernel can: the
// program is loaded as a raw tracepoint program and run once, in this
// thread, by a bpf(2) call (bpf_prog_test_run_raw_tp, 5.10). Nothing is
// attached, so nothing has to be registered or torn down: the uprobe
// hooks this replaces cost a uprobe registration to create and a
// synchronize_rcu on close, which were most of the start-up time.
//
// The bpf package has no test-run command yet; this is the one bpf(2)
// command script issues itself, and it belongs in bpf when that grows one.

// bpfProgTestRun is BPF_PROG_TEST_RUN (bpf_cmd 10).
const bpfProgTestRun = 10

// testRunAttr is the test member of union bpf_attr, up to cpu.
type testRunAttr struct {
	progFD      uint32
	retval      uint32
	dataSizeIn  uint32
	dataSizeOut uint32
	dataIn      uint64
	dataOut     uint64
	repeat      uint32
	duration    uint32
	ctxSizeIn   uint32
	ctxSizeOut  uint32
	ctxIn       uint64
	ctxOut      uint64
	flags       uint32
	cpu         uint32
}

// testRun runs a raw tracepoint program once with an empty context. A raw
// tracepoint program's context is the tracepoint's arguments; BEGIN and
// END read none, and the kernel accepts ctx_size_in 0 when the program
// reads no argument (ctx_size_in >= max_ctx_offset).
func testRun(fd int) error {
	_, err := testRunRet(fd)
	return err
}

// testRunRet is testRun, returning the program's return value.
func testRunRet(fd int) (uint32, error) {
	attr := testRunAttr{progFD: uint32(fd)}
	for {
		_, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgTestRun, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(&attr)
		switch errno {
		case 0:
			return attr.retval, nil
		case unix.EINTR:
			continue
		}
		return 0, fmt.Errorf("BPF_PROG_TEST_RUN: %w", errno)
	}
}

// haveTestRunHooks reports whether raw tracepoint programs can be run by
// BPF_PROG_TEST_RUN: a two-instruction program is loaded and run once.
// Kernels from 4.17 to 5.9 load raw tracepoint programs but answer the
// test run with ENOTSUPP; they get the uprobe hooks.
var haveTestRunHooks = sync.OnceValue(func() bool {
	p, err := bpf.NewProgram(bpf.ProgramSpec{Name: "tl_testrun", Type: bpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		return false
	}
	defer p.Close()
	return testRun(p.FD()) == nil
})

// testRunHook makes a hook that runs prog by BPF_PROG_TEST_RUN.
func testRunHook(prog *bpf.Program) *hook {
	return &hook{run: func() error { return testRun(prog.FD()) }}
}

// errNoHook is returned by fire on a closed hook.
var errNoHook = errors.New("the hook is closed")

// commPadded reports whether bpf_get_current_comm clears the bytes after
// the name: 6.1 copies the name and its NUL only (strscpy), later kernels
// pad (strscpy_pad). A test-run program fills a 16-byte buffer with 0xff,
// gets this thread's comm into it, and returns its last four bytes, which
// are padding when the comm is at most 11 bytes long. Any doubt (no test
// run, a longer comm) answers false, and the code clears the buffer
// itself: two stores.
var commPadded = sync.OnceValue(func() bool {
	if !haveTestRunHooks() {
		return false
	}
	// The program runs in this thread; lock it so that the comm read
	// below is the one the kernel copies.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	comm, err := os.ReadFile("/proc/thread-self/comm")
	if err != nil || len(strings.TrimSuffix(string(comm), "\n")) > 11 {
		return false
	}
	p, err := bpf.NewProgram(bpf.ProgramSpec{Name: "tl_commpad", Type: bpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.R10, -16, -1, asm.DWord),
			asm.StoreImm(asm.R10, -8, -1, asm.DWord),
			asm.Mov.Reg(asm.R1, asm.R10),
			asm.Add.Imm(asm.R1, -16),
			asm.Mov.Imm(asm.R2, 16),
			asm.FnGetCurrentComm.Call(),
			asm.LoadMem(asm.R0, asm.R10, -4, asm.Word),
			asm.Return(),
		}})
	if err != nil {
		return false
	}
	defer p.Close()
	ret, err := testRunRet(p.FD())
	return err == nil && ret == 0
})

// bpfNoPrealloc is BPF_F_NO_PREALLOC.
const bpfNoPrealloc = 1

// haveSafeNoPrealloc reports whether hash maps created without
// preallocation may be used from every tracing program. Before 6.1 the
// verifier refused them in perf_event programs ("perf_event programs can
// only use preallocated hash map") and only warned for kprobes, as the
// allocator was not safe there; 6.1 moved hash maps to bpf_mem_alloc and
// dropped the restriction for all tracing programs at once. So a
// perf_event program that looks up such a map loads exactly where they are
// safe. It never warns: the perf_event case was an error, not a warning.
//
// A 32-bit kernel keeps preallocated maps: bpf_mem_alloc hands out each
// element behind a 4-byte llist_node there, so map values are only 4-byte
// aligned, and a 64-bit atomic add on one (ldrexd on arm) takes an
// alignment fault. The VM suite's Debian 6.1 armmp guest panicked so in
// ___bpf_prog_run, from an interval probe's count().
var haveSafeNoPrealloc = sync.OnceValue(func() bool {
	if a, err := bpf.KernelArch(); err != nil || a.Word == 4 {
		return false
	}
	m, err := bpf.NewMap(bpf.MapSpec{Name: "tl_noprealloc", Type: bpf.PerCPUHash, KeySize: 4, ValueSize: 8,
		MaxEntries: 1, Flags: bpfNoPrealloc})
	if err != nil {
		return false
	}
	defer m.Close()
	p, err := bpf.NewProgram(bpf.ProgramSpec{Name: "tl_noprealloc", Type: bpf.PerfEvent, License: "GPL",
		Maps: map[string]*bpf.Map{"tl_noprealloc": m},
		Instructions: asm.Instructions{
			asm.StoreImm(asm.R10, -8, 0, asm.DWord),
			asm.LoadMapPtr(asm.R1, "tl_noprealloc"),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -8),
			asm.FnMapLookupElem.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}})
	if err != nil {
		return false
	}
	p.Close()
	return true
})
