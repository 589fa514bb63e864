package bpf

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// countProgram adds 1 to counts[0] and the attach cookie to counts[1] for
// each hit from thread tid. The test pins itself to one OS thread, so the
// filter makes the count exact whatever else runs on the machine.
func countProgram(tid int) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(tid), "out"), // low 32 bits: the thread id
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, "counts"),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnGetAttachCookie.Call(),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.StoreImm(asm.R10, -4, 1, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, "counts"),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R7, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}

func TestTracepointCountExact(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireSyscallEvents(t) // it counts sys_enter_getppid
	id := tracepointID(t, "syscalls", "sys_enter_getppid")
	for _, c := range []struct {
		mode   AttachMode
		cookie uint64
	}{{AttachIoctl, 0}, {AttachLink, 0xc0ffee}, {AttachAuto, 7}} {
		t.Run(c.mode.String(), func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			counts := mustMap(t, MapSpec{Name: "counts", Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2})
			prog := mustProgram(t, ProgramSpec{Name: "count_getppid", Type: TracePoint,
				Instructions: countProgram(unix.Gettid()), Maps: map[string]*Map{"counts": counts}})
			fd, err := OpenTraceEvent(id)
			if err != nil {
				t.Fatal(err)
			}
			link, err := AttachPerfEvent(prog, fd, AttachOptions{Mode: c.mode, Cookie: c.cookie})
			if err != nil {
				unix.Close(fd)
				t.Fatal(err)
			}
			const n = 1234
			for i := 0; i < n; i++ {
				unix.Getppid()
			}
			if err := link.Close(); err != nil {
				t.Fatal(err)
			}
			unix.Getppid() // detached: must not count
			got, err := counts.SumPerCPU(Uint32Key(0))
			if err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Fatalf("counted %d getppid calls, made %d", got, n)
			}
			cookies, _ := counts.SumPerCPU(Uint32Key(1))
			if cookies != n*c.cookie {
				t.Fatalf("cookie sum %d, want %d × %#x (mode %v)", cookies, n, c.cookie, link.Mode())
			}
		})
	}
}

func TestRawTracepointCountExact(t *testing.T) {
	testenv.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	counts := mustMap(t, MapSpec{Name: "counts", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	// sys_enter's raw arguments are (struct pt_regs *regs, long id).
	insns := asm.Instructions{
		asm.LoadMem(asm.R6, asm.R1, 8, asm.DWord),
		asm.JNE.Imm(asm.R6, unix.SYS_GETPPID, "out"),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(unix.Gettid()), "out"),
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
	}
	prog := mustProgram(t, ProgramSpec{Name: "raw_getppid", Type: RawTracepoint, Instructions: insns, Maps: map[string]*Map{"counts": counts}})
	link, err := AttachRawTracepoint(prog, "sys_enter")
	if err != nil {
		t.Fatal(err)
	}
	const n = 321
	for i := 0; i < n; i++ {
		unix.Getppid()
	}
	link.Close()
	val := make([]byte, 8)
	if err := counts.Lookup(Uint32Key(0), val); err != nil {
		t.Fatal(err)
	}
	if got := sumCounters([][]byte{val}); got != n {
		t.Fatalf("raw tracepoint counted %d, want %d", got, n)
	}
}

func TestVerifierError(t *testing.T) {
	testenv.RequireRoot(t)
	bad := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0),
		asm.LoadMem(asm.R0, asm.R3, 0, asm.DWord), // r3 was never written
		asm.Return(),
	}
	_, err := NewProgram(ProgramSpec{Name: "bad", Type: SocketFilter, License: "GPL", Instructions: bad})
	var verr *VerifierError
	if !errors.As(err, &verr) {
		t.Fatalf("got %T %v, want *VerifierError", err, err)
	}
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("errno %v, want EACCES", verr.Err)
	}
	short := err.Error()
	// The summary names the rejected instruction as the verifier prints
	// it, which is also our disassembler's text, and the reason.
	insText := bad[1].String()
	if !strings.Contains(short, insText) || !strings.Contains(short, "R3 !read_ok") || strings.Contains(short, "\n") {
		t.Errorf("Error() = %q, want one line naming %q and R3 !read_ok", short, insText)
	}
	full := fmt.Sprintf("%+v", err)
	if !strings.Contains(full, "\n") || !strings.Contains(full, "0: (b7) r0 = 0") || !strings.Contains(full, insText) {
		t.Errorf("%%+v lacks the full log:\n%s", full)
	}

	// A tiny cap truncates the log instead of growing past it (32 is
	// rounded up to the 128 bytes that kernels before 6.4 insist on; the
	// log above is longer than that).
	_, err = NewProgram(ProgramSpec{Name: "bad", Type: SocketFilter, License: "GPL", Instructions: bad, LogCap: 32})
	if !errors.As(err, &verr) || !verr.Truncated {
		t.Errorf("with a 32-byte cap: %+v", err)
	}
}

func TestProgramErrors(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := NewProgram(ProgramSpec{Name: "nomap", Type: SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.LoadMapPtr(asm.R1, "missing"), asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("unbound map: %v", err)
	}
	_, err = NewProgram(ProgramSpec{Name: "nolabel", Type: SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Ja.Label("nowhere"), asm.Return()}})
	if !errors.Is(err, asm.ErrUndefinedLabel) {
		t.Errorf("undefined label: %v", err)
	}
	// A GPL-only helper from a non-GPL program.
	_, err = NewProgram(ProgramSpec{Name: "nongpl", Type: Kprobe, License: "Proprietary",
		Instructions: asm.Instructions{
			asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, -8), asm.Mov.Imm(asm.R2, 8), asm.Mov.Imm(asm.R3, 0),
			asm.FnProbeReadKernel.Call(), asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	var verr *VerifierError
	if !errors.As(err, &verr) || !strings.Contains(verr.Error(), "GPL") {
		t.Errorf("non-GPL program calling a GPL helper: %v", err)
	}
}

func TestKernelVersionCode(t *testing.T) {
	code, err := KernelVersionCode()
	if err != nil {
		t.Fatal(err)
	}
	major, minor := unameRelease()
	if int(code>>16) != major || int(code>>8&0xff) != minor {
		t.Fatalf("vDSO says %d.%d.%d, uname says %d.%d", code>>16, code>>8&0xff, code&0xff, major, minor)
	}
}

func TestLogAlways(t *testing.T) {
	p := mustProgram(t, ProgramSpec{Name: "ok", Type: SocketFilter, LogAlways: true,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if log := strings.Join(p.VerifierLog(), "\n"); !strings.Contains(log, "processed") {
		t.Errorf("verifier log of a good program: %q", log)
	}
}
