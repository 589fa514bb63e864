package trace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// cabiRegs are the C ABI's argument registers as the kernel names them.
func cabiRegs(t testing.TB) [6]string {
	return testenv.KernelABI(t).UserArgs
}

// ipReg is the tracefs name of the instruction pointer.
func ipReg(t testing.TB) string {
	return testenv.KernelABI(t).PCReg
}

func symbol(t testing.TB, bin, name string) tracefs.Symbol {
	t.Helper()
	syms, err := tracefs.ListSymbols(bin, name)
	if err != nil || len(syms) != 1 {
		t.Fatalf("symbol %s in %s: %v %v", name, bin, syms, err)
	}
	return syms[0]
}

// TestUprobeIntegerTypes reads every integer fetch type back from the six
// C-ABI registers of cabiTarget, whose values testprog sets: calls N A B
// passes (A, B, A+1, B+1, A+2, B+2).
func TestUprobeIntegerTypes(t *testing.T) {
	prog := testenv.TestProg(t)
	r := cabiRegs(t)
	// Values chosen so that truncation and sign extension show: A=0x1f2,
	// B = -3 as u64.
	const a, b = 0x1f2, uint64(1<<64 - 3)
	spec := fmt.Sprintf("p:ints %[1]s:%#[2]x u8=%[3]s:u8 s16=%[4]s:s16 x32=%[5]s:x32 u64=%[6]s:u64 s8=%[7]s:s8 x64=%[8]s:x64 "+
		"def=%[3]s s64=%[4]s:s64 u16=%[5]s:u16 s32=%[4]s:s32 u32=%[5]s:u32 x8=%[3]s:x8 x16=%[3]s:x16",
		prog, symbol(t, prog, testenv.CABITarget).Offset, r[0], r[1], r[2], r[3], r[4], r[5])
	w := startWaiting(t, "calls", "3", fmt.Sprint(a), fmt.Sprint(b))
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	want := map[string]string{
		"u8": "242", "s16": "-3", "x32": "499", "u64": fmt.Sprint(uint64(1<<64 - 2)), "s8": "-12",
		"x64": fmt.Sprint(uint64(1<<64 - 1)), "def": "498", "s64": "-3", "u16": "499",
		"s32": "-3", "u32": "499", "x8": "242", "x16": "498",
	}
	// r[0]=A=0x1f2, r[1]=B=-3, r[2]=A+1, r[3]=B+1=-2, r[4]=A+2=0x1f4 (s8: 0xf4 = -12), r[5]=B+2=-1.
	if testenv.KernelABI(t).Word == 4 {
		// A 32-bit register or stack word holds the low half; the kernel
		// widens the unsigned long it fetched to 64 bits without a sign.
		want["u64"], want["x64"], want["s64"] = fmt.Sprint(uint32(1<<32-2)), fmt.Sprint(uint32(1<<32-1)), fmt.Sprint(uint32(1<<32-3))
	}
	for _, e := range evs {
		if e.Pid != w.cmd.Process.Pid {
			t.Errorf("event from pid %d, want %d", e.Pid, w.cmd.Process.Pid)
		}
		for k, v := range want {
			if got := e.Fields[k].String(); got != v {
				t.Errorf("%s = %s, want %s", k, got, v)
			}
		}
		// The text line prints x types in hex, as the kernel's trace file.
		for _, frag := range []string{" x32=0x1f3 ", " x8=0xf2 ", " u8=242 ", " s16=-3 ", "(0x"} {
			if !strings.Contains(e.Text, frag) {
				t.Errorf("text %q lacks %q", e.Text, frag)
			}
		}
	}
	if s.Lost() != 0 {
		t.Errorf("lost %d", s.Lost())
	}
}

// TestUprobeMemoryTypes covers the fetchargs that read memory or the task:
// strings, char, arrays, bitfields, $comm, @+OFFS (file offset), $stackN,
// $stack and %ip. testprog str S passes (&S, len(S), 0, 0, 0, 0).
func TestUprobeMemoryTypes(t *testing.T) {
	prog := testenv.TestProg(t)
	r := cabiRegs(t)
	target := symbol(t, prog, testenv.CABITarget)
	// char arrived in 6.3; on older kernels (6.1 in the VM suite) the same
	// byte is read as u8, which must give the same number.
	charType := "char"
	if !testenv.HasFetchargType(t, "char") {
		t.Log("this kernel's tracefs README lists no char type (Linux 6.3): reading ch as u8")
		charType = "u8"
	}
	spec := fmt.Sprintf("p:mem %[1]s:%#[2]x s=+0(%[3]s):ustring st=+0(%[3]s):string ch=+1(%[3]s):%[5]s arr=+0(%[3]s):u8[4] sarr=+0(%[3]s):s8[2] "+
		"bf=%[4]s:b4@2/32 cm=$comm magic=@+0:x32 ip=%[6]s:x64 sk=$stack st0=$stack0 im=\\42 idx=+2(%[3]s):x16",
		prog, target.Offset, r[0], r[1], charType, ipReg(t))
	w := startWaiting(t, "str", "hello, world")
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	f := evs[0].Fields
	check := func(name, want string) {
		t.Helper()
		if got := f[name].String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("s", "hello, world")
	check("st", "hello, world")
	check("ch", "101") // 'e'
	check("arr", "{104,101,108,108}")
	check("sarr", "{104,101}")
	check("bf", fmt.Sprint((len("hello, world")>>2)&0xf))
	check("cm", filepath.Base(prog)[:min(15, len(filepath.Base(prog)))])
	check("magic", fmt.Sprint(0x464c457f)) // "\x7fELF" at file offset 0
	check("im", "42")                      // \\IMM is decimal
	check("idx", fmt.Sprint(uint16('l')|uint16('l')<<8))
	if got := f["ip"].Uint; got != target.Value {
		t.Errorf("ip = %#x, want cabiTarget at %#x", got, target.Value)
	}
	// $stack0 on x86 is the return address into cabi6 (the CALL pushed
	// it); elsewhere the return address is in the link register, so only
	// the stack pointer is checked there.
	if arch := testenv.KernelABI(t).Arch; arch == "amd64" || arch == "386" {
		caller := symbol(t, prog, testenv.CABICaller)
		if got := f["st0"].Uint; got <= caller.Value || got >= caller.Value+caller.Size {
			t.Errorf("$stack0 = %#x, want a return address inside cabi6 [%#x, %#x)", got, caller.Value, caller.Value+caller.Size)
		}
	}
	if f["sk"].Uint == 0 {
		t.Error("$stack is 0")
	}
	if !strings.Contains(evs[0].Text, ` s="hello, world" `) || !strings.Contains(evs[0].Text, " magic=0x464c457f ") {
		t.Errorf("text: %s", evs[0].Text)
	}
}

// TestProcessThreads traces a process by pid and catches threads it
// creates after the session started: testprog threads T N A makes N calls
// of cabi6(A, tid) on each of T new threads.
func TestProcessThreads(t *testing.T) {
	prog := testenv.TestProg(t)
	r := cabiRegs(t)
	spec := fmt.Sprintf("p %s:%#x a=%s:u64 tid=%s:u64", prog, symbol(t, prog, testenv.CABITarget).Offset, r[0], r[1])
	w := startWaiting(t, "threads", "8", "5", "77")
	pid := w.cmd.Process.Pid
	before, err := perf.Threads(pid)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, Options{Specs: []string{spec}, PID: pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	perTid := map[int]int{}
	for _, e := range evs {
		if e.Fields["a"].Uint != 77 || int(e.Fields["tid"].Uint) != e.Tid || e.Pid != pid {
			t.Errorf("event a=%d tid=%d from %d/%d", e.Fields["a"].Uint, e.Fields["tid"].Uint, e.Pid, e.Tid)
		}
		perTid[e.Tid]++
	}
	if len(perTid) != 8 {
		t.Errorf("events from %d threads (%v), want 8", len(perTid), perTid)
	}
	// Go may run a locked goroutine on an idle thread that existed
	// already; at least one must be a thread created after the attach.
	created := 0
	for tid, n := range perTid {
		if n != 5 {
			t.Errorf("thread %d: %d events, want 5", tid, n)
		}
		if !slices.Contains(before, tid) {
			created++
		}
	}
	if created == 0 {
		t.Errorf("no events from a thread created after the session started (threads before: %v, traced: %v)", before, perTid)
	}
}

// TestSyscallTracepoint traces syscalls:sys_enter_openat of a process that
// opens a known file. The tracepoint records only the filename pointer; the
// kernel-side filter on the user string (FIELD.ustring, 6.1) proves it is
// the known name.
func TestSyscallTracepoint(t *testing.T) {
	known := fmt.Sprintf("/tmp/tracelet-trace-%d-known", os.Getpid())
	w := startWaiting(t, "open", known)
	pid := w.cmd.Process.Pid
	s := newSession(t, Options{
		Specs:  []string{"syscalls:sys_enter_openat"},
		PID:    pid,
		Filter: fmt.Sprintf(`filename.ustring == "%s"`, known),
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want the one openat of %s: %v", len(evs), known, evs)
	}
	e := evs[0]
	if e.Pid != pid || e.Name != "syscalls:sys_enter_openat" || e.Fields["filename"].Uint == 0 {
		t.Errorf("event %+v", e)
	}
	if got := e.Fields["flags"].Uint; got&3 != uint64(os.O_RDONLY) {
		t.Errorf("flags %#x, want O_RDONLY", got)
	}
}

// TestFilterRejected gets the kernel's reason for a bad filter, without
// touching the tracepoint's global filter file.
func TestFilterRejected(t *testing.T) {
	fs := mustFS(t)
	before, _ := os.ReadFile(fs.Root() + "/events/syscalls/sys_enter_openat/filter")
	_, err := New(Options{FS: fs, Group: testGroup(), Specs: []string{"syscalls:sys_enter_openat"}, Filter: "nosuchfield > 1"})
	var fe *tracefs.FilterError
	if !errors.As(err, &fe) || !strings.Contains(strings.ToLower(fe.Reason), "field not found") {
		t.Fatalf("err = %v, want a FilterError with the kernel's reason", err)
	}
	after, _ := os.ReadFile(fs.Root() + "/events/syscalls/sys_enter_openat/filter")
	if string(before) != string(after) {
		t.Errorf("global filter file changed: %q -> %q", before, after)
	}
}

// TestValidateBeforeWrite: one bad SPEC among good ones writes nothing.
func TestValidateBeforeWrite(t *testing.T) {
	fs := mustFS(t)
	prog := testenv.TestProg(t)
	group := testGroup()
	good := fmt.Sprintf("p:good %s:%#x", prog, symbol(t, prog, testenv.CABITarget).Offset)
	_, err := New(Options{FS: fs, Group: group, Specs: []string{good, "p:bad " + prog + ":0x10 x=%nosuchreg"}})
	var pe *kprobeevents.Error
	if !errors.As(err, &pe) || pe.Kind != kprobeevents.BAD_REG_NAME {
		t.Fatalf("err = %v, want BAD_REG_NAME", err)
	}
	assertGroupGone(t, fs, group)
}

// TestBadFilterWritesNothing: a filter that can never be one (a ';', which
// the filter grammar lacks) is refused while validating, before any probe
// is written, rather than by the kernel once the probes exist and then
// rolled back. The probe is defined beforehand, so that a write of it
// would fail with EEXIST and show in the error.
func TestBadFilterWritesNothing(t *testing.T) {
	fs := mustFS(t)
	prog := testenv.TestProg(t)
	group := testGroup()
	good := fmt.Sprintf("p:good %s:%#x", prog, symbol(t, prog, testenv.CABITarget).Offset)
	specs, err := ParseSpecs(fs, []string{good}, kprobeevents.Options{}, group)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.AddProbe(specs[0].Probe); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fs.RemoveGroup(tracefs.UprobeEvents, group)
		assertGroupGone(t, fs, group)
	})
	before, err := os.ReadFile(filepath.Join(fs.Root(), tracefs.UprobeEvents))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{FS: fs, Group: group, Specs: []string{good}, Filter: "common_pid > 1; common_pid < 9"})
	var se *SpecError
	if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "col 14:") {
		t.Fatalf("err = %v, want CheckFilter's refusal of the ';' at col 14, before any write", err)
	}
	after, _ := os.ReadFile(filepath.Join(fs.Root(), tracefs.UprobeEvents))
	for _, l := range strings.Split(string(before), "\n") {
		if strings.Contains(l, group+"/") && !strings.Contains(string(after), l) {
			t.Errorf("uprobe_events lost %q", l)
		}
	}
}

// TestOverflow floods a one-page ring without reading it: every call is
// either delivered or counted lost, and the sum is exactly the calls made.
func TestOverflow(t *testing.T) {
	prog := testenv.TestProg(t)
	r := cabiRegs(t)
	const calls = 20000
	spec := fmt.Sprintf("p %s:%#x a=%s:u64", prog, symbol(t, prog, testenv.CABITarget).Offset, r[0])
	w := startWaiting(t, "calls", fmt.Sprint(calls), "1", "2")
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid, RingSize: os.Getpagesize()})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t) // nothing reads while it runs
	evs := drain(t, s)
	lost := s.Lost()
	var ring, kern, fired uint64
	for _, n := range s.reader.Lost() {
		ring += n
	}
	for _, e := range s.perfEvs {
		c, _ := e.ReadCount()
		kern += c.Lost
		fired += c.Value
	}
	t.Logf("%d delivered, %d lost (ring %d, kernel %d, fired %d)", len(evs), lost, ring, kern, fired)
	if lost == 0 {
		t.Fatal("a one-page ring took all events; no loss to check")
	}
	if uint64(len(evs))+lost != calls {
		t.Errorf("delivered %d + lost %d = %d, want %d", len(evs), lost, uint64(len(evs))+lost, calls)
	}
	// The kernel's own view: every hit counted (the event's value), the
	// drops counted by PERF_FORMAT_LOST (6.0+), and the PERF_RECORD_LOST
	// records read never claim more than that.
	if s.countLost {
		if fired != calls {
			t.Errorf("the kernel counted %d hits, want %d", fired, calls)
		}
		if lost != kern || ring > kern {
			t.Errorf("lost %d, PERF_RECORD_LOST %d, kernel's PERF_FORMAT_LOST %d: want lost == kernel >= records", lost, ring, kern)
		}
	} else if lost != ring {
		t.Errorf("lost %d, want the PERF_RECORD_LOST sum %d on a kernel without PERF_FORMAT_LOST", lost, ring)
	}
}

// TestStacks asks for call chains and symbolizes the user part.
func TestStacks(t *testing.T) {
	testenv.RequireUserCallchains(t)
	prog := testenv.TestProg(t)
	spec := fmt.Sprintf("p %s:%#x", prog, symbol(t, prog, testenv.CABITarget).Offset)
	w := startWaiting(t, "calls", "1", "1", "2")
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid, Stacks: true})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	syms := NewSymbolizer()
	// The process exits right after its call; its address map is read
	// while it waits, as the CLI does for -p.
	syms.Watch(w.cmd.Process.Pid)
	pr := NewPrinter(syms)
	w.run(t)
	var text string
	for text == "" {
		smp, err := s.Next(t.Context())
		if err == ErrIdle {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		text = string(pr.AppendText(nil, smp))
	}
	// Frame-pointer unwinding at a function's first instruction skips its
	// caller (cabi6 has no frame of its own), so main.main comes next.
	wants := []string{"=> " + testenv.CABITarget + "+0x0\n", "=> main.main+0x"}
	if !testenv.GoFramePointers {
		t.Logf("Go keeps no frame pointers on %s: checking only the probed frame of the user stack", testenv.KernelABI(t).Arch)
		wants = wants[:1]
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("stack lacks %q:\n%s", want, text)
		}
	}
}
