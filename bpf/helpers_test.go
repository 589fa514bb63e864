package bpf

// Test helpers that talk to tracefs and perf directly: the tracefs and perf
// packages are written concurrently and bpf must not depend on them.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

var tracefsOnce struct {
	sync.Once
	dir string
	err error
}

// tracefsDir finds tracefs through mountinfo, mounting it when absent.
func tracefsDir(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	tracefsOnce.Do(func() {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			tracefsOnce.err = err
			return
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			// "... mountpoint opts - fstype source superopts"
			fields := strings.Fields(s.Text())
			for i, fld := range fields {
				if fld == "-" && i+1 < len(fields) && fields[i+1] == "tracefs" {
					tracefsOnce.dir = fields[4]
					return
				}
			}
		}
		if err := unix.Mount("nodev", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			tracefsOnce.err = fmt.Errorf("tracefs is not mounted and mounting it failed: %w", err)
			return
		}
		tracefsOnce.dir = "/sys/kernel/tracing"
	})
	if tracefsOnce.err != nil {
		t.Fatal(tracefsOnce.err)
	}
	return tracefsOnce.dir
}

func readEventID(t testing.TB, dir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(dir + "/id")
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tracepointID is the id of events/<sys>/<ev>.
func tracepointID(t testing.TB, sys, ev string) uint64 {
	return readEventID(t, tracefsDir(t)+"/events/"+sys+"/"+ev)
}

func appendControl(t testing.TB, file, line string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line + "\n") // one definition per write()
	return err
}

// uprobe defines p:tracelet_<pid>/<ev> path:off fetchargs and returns the
// event directory; cleanup removes it.
func uprobe(t testing.TB, ev, path string, off uint64, fetchargs string) string {
	t.Helper()
	dir := tracefsDir(t)
	group := fmt.Sprintf("tracelet_%d", os.Getpid())
	def := fmt.Sprintf("p:%s/%s %s:0x%x %s", group, ev, path, off, fetchargs)
	if err := appendControl(t, dir+"/uprobe_events", strings.TrimSpace(def)); err != nil {
		t.Fatalf("define uprobe %q: %v", def, err)
	}
	t.Cleanup(func() {
		if err := appendControl(t, dir+"/uprobe_events", fmt.Sprintf("-:%s/%s", group, ev)); err != nil {
			t.Errorf("remove uprobe %s/%s: %v", group, ev, err)
		}
	})
	return dir + "/events/" + group + "/" + ev
}

// cabiUprobe puts a uprobe on testprog's C-ABI target.
func cabiUprobe(t testing.TB, ev, fetchargs string) (evdir, prog string) {
	prog = testenv.TestProg(t)
	off := testenv.SymbolFileOffset(t, prog, testenv.CABITarget)
	return uprobe(t, ev, prog, off, fetchargs), prog
}

func runTestProg(t testing.TB, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testprog %v: %v\n%s", args, err, out)
	}
}

func mustMap(t testing.TB, spec MapSpec) *Map {
	t.Helper()
	testenv.RequireRoot(t)
	m, err := NewMap(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustProgram(t *testing.T, spec ProgramSpec) *Program {
	t.Helper()
	testenv.RequireRoot(t)
	if spec.License == "" {
		spec.License = "GPL"
	}
	p, err := NewProgram(spec)
	if err != nil {
		t.Fatalf("%+v", err)
	}
	t.Cleanup(func() { p.Close() })
	checkBpftool(t, p)
	return p
}

// hostArch is the pt_regs table of the running kernel: a 386 test binary
// on an x86_64 kernel loads programs that see the x86_64 layout.
func hostArch(t testing.TB) *asm.Arch {
	a, err := KernelArch()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// --- a minimal perf ring reader, enough to count records in tests ---

type perfRing struct {
	fd   int
	mem  []byte
	data []byte
}

const perfRingPages = 16

// openPerf opens attr on cpu (all processes) and maps its ring.
func openPerf(t testing.TB, attr unix.PerfEventAttr, cpu int) *perfRing {
	t.Helper()
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		t.Fatalf("perf_event_open on cpu %d: %v", cpu, err)
	}
	page := os.Getpagesize()
	mem, err := unix.Mmap(fd, 0, page*(1+perfRingPages), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("mmap perf ring: %v", err)
	}
	r := &perfRing{fd: fd, mem: mem, data: mem[page:]}
	t.Cleanup(func() { unix.Munmap(mem); unix.Close(fd) })
	return r
}

// samples returns the PERF_SAMPLE_RAW payloads written so far and fails on
// lost records.
func (r *perfRing) samples(t testing.TB) [][]byte {
	t.Helper()
	// struct perf_event_mmap_page: data_head at 1024, data_tail at 1032.
	head := *(*uint64)(unsafe.Pointer(&r.mem[1024]))
	tail := *(*uint64)(unsafe.Pointer(&r.mem[1032]))
	size := uint64(len(r.data))
	var out [][]byte
	for tail < head {
		var hdr [8]byte
		for i := range hdr {
			hdr[i] = r.data[(tail+uint64(i))%size]
		}
		typ, n := binary.NativeEndian.Uint32(hdr[:]), uint64(binary.NativeEndian.Uint16(hdr[6:]))
		rec := make([]byte, n)
		for i := range rec {
			rec[i] = r.data[(tail+uint64(i))%size]
		}
		switch typ {
		case unix.PERF_RECORD_SAMPLE:
			raw := binary.NativeEndian.Uint32(rec[8:])
			out = append(out, rec[12:12+raw])
		case 2: // PERF_RECORD_LOST
			t.Fatalf("perf ring lost %d records", binary.NativeEndian.Uint64(rec[16:]))
		}
		tail += n
	}
	*(*uint64)(unsafe.Pointer(&r.mem[1032])) = tail
	return out
}

func possibleCPUs(t testing.TB) int {
	n, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func onlineCPUs(t testing.TB) []int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			hi = lo
		}
		a, _ := strconv.Atoi(lo)
		z, _ := strconv.Atoi(hi)
		for c := a; c <= z; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// checkBpftool compares the disassembler with bpftool on p (the comparison
// lives in testenv, shared with the script and tools tests).
func checkBpftool(t *testing.T, p *Program) {
	t.Helper()
	testenv.CheckBpftool(t, p.FD())
}

// fieldOffset reads a field's offset in the raw record from the event's
// format file ("field:u64 a;\toffset:16;\tsize:8;\tsigned:0;").
func fieldOffset(t testing.TB, evdir, name string) int {
	t.Helper()
	b, err := os.ReadFile(evdir + "/format")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		decl, rest, ok := strings.Cut(strings.TrimSpace(line), ";")
		if !ok || !strings.HasPrefix(decl, "field:") {
			continue
		}
		f := strings.Fields(decl)
		if f[len(f)-1] != name {
			continue
		}
		_, after, _ := strings.Cut(rest, "offset:")
		off, _, _ := strings.Cut(after, ";")
		n, err := strconv.Atoi(off)
		if err != nil {
			t.Fatalf("format of %s: %q", evdir, line)
		}
		return n
	}
	t.Fatalf("format of %s has no field %s", evdir, name)
	return 0
}

// argLoad sets dst to argument loc of a uprobe's function, with ctx (not
// R1-R5, which a helper call clobbers) holding the pt_regs pointer. A
// register argument is one load; an argument on the stack (every one on
// i386, the fifth and sixth on arm) is read from the user stack with
// bpf_probe_read_user (5.5) at sp + Stack words, through the 8 bytes at
// fp-16. R0-R5 are clobbered.
func argLoad(t testing.TB, arch *asm.Arch, loc asm.Loc, dst, ctx asm.Register) asm.Instructions {
	t.Helper()
	if loc.InRegister() {
		ins, err := loc.Load(dst, ctx)
		if err != nil {
			t.Fatal(err)
		}
		return asm.Instructions{ins}
	}
	sp, err := arch.SP().Load(asm.R3, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return asm.Instructions{
		asm.StoreImm(asm.R10, -16, 0, asm.DWord),
		sp,
		asm.Add.Imm(asm.R3, int32(loc.Stack*arch.Word)),
		asm.Mov.Reg(asm.R1, asm.R10),
		asm.Add.Imm(asm.R1, -16),
		asm.Mov.Imm(asm.R2, int32(arch.Word)),
		asm.FnProbeReadUser.Call(),
		asm.LoadMem(dst, asm.R10, -16, asm.DWord),
	}
}
