package bpf

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// argsProgram adds C-ABI argument i, read from pt_regs at the offset the
// arch table gives, to sums[i], and counts hits in sums[6].
func argsProgram(t *testing.T) asm.Instructions {
	arch := hostArch(t)
	insns := asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}
	for i := 0; i <= 6; i++ {
		// The value goes to R7 first: reading a stack argument calls a
		// helper, which would clobber the map value pointer.
		if i < 6 {
			loc, err := arch.Arg(asm.FuncABI, i)
			if err != nil {
				t.Fatal(err)
			}
			insns = append(insns, argLoad(t, arch, loc, asm.R7, asm.R6)...)
		} else {
			insns = append(insns, asm.Mov.Imm(asm.R7, 1))
		}
		insns = append(insns,
			asm.StoreImm(asm.R10, -4, int32(i), asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, "sums"),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.AtomicAdd.Mem(asm.R0, 0, asm.R7, asm.DWord),
		)
	}
	return append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
}

func TestUprobeArgsFromArchTable(t *testing.T) {
	testenv.RequireRoot(t)
	t.Run("tracefs", func(t *testing.T) {
		evdir, prog := cabiUprobe(t, "args", "")
		fd, err := OpenTraceEvent(readEventID(t, evdir))
		if err != nil {
			t.Fatal(err)
		}
		testUprobeArgs(t, fd, prog)
	})
	// The uprobe PMU (4.17) makes the probe with the perf event and drops
	// it with the fd. It needs CAP_SYS_ADMIN since the CVE-2025-38466 fix.
	t.Run("pmu", func(t *testing.T) {
		typ, err := os.ReadFile("/sys/bus/event_source/devices/uprobe/type")
		if err != nil {
			t.Fatalf("kernel has no uprobe PMU: %v", err)
		}
		pmu, _ := strconv.Atoi(strings.TrimSpace(string(typ)))
		prog := testenv.TestProg(t)
		path := append([]byte(prog), 0)
		attr := unix.PerfEventAttr{Type: uint32(pmu), Size: unix.PERF_ATTR_SIZE_VER5, Bits: unix.PerfBitDisabled,
			Ext1: uint64(uintptr(unsafe.Pointer(&path[0]))), Ext2: testenv.SymbolFileOffset(t, prog, testenv.CABITarget)}
		fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
		runtime.KeepAlive(path)
		if err != nil {
			t.Fatalf("perf_event_open(uprobe PMU): %v", err)
		}
		testUprobeArgs(t, fd, prog)
	})
}

func testUprobeArgs(t *testing.T, fd int, prog string) {
	sums := mustMap(t, MapSpec{Name: "sums", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 7})
	p := mustProgram(t, ProgramSpec{Name: "uprobe_args", Type: Kprobe, Instructions: argsProgram(t), Maps: map[string]*Map{"sums": sums}})
	link, err := AttachPerfEvent(p, fd, AttachOptions{})
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer link.Close()
	const n, a, b = 17, 1000003, 77
	runTestProg(t, prog, "calls", strconv.Itoa(n), strconv.Itoa(a), strconv.Itoa(b))
	link.Close()
	want := []uint64{n * a, n * b, n * (a + 1), n * (b + 1), n * (a + 2), n * (b + 2), n}
	val := make([]byte, 8)
	for i, w := range want {
		if err := sums.Lookup(Uint32Key(uint32(i)), val); err != nil {
			t.Fatal(err)
		}
		if got := binary.NativeEndian.Uint64(val); got != w {
			loc, _ := hostArch(t).Arg(asm.FuncABI, i)
			t.Errorf("slot %d (%s): %d, want %d", i, loc.FetchArg(), got, w)
		}
	}
}

// TestFilterMode runs a BPF program in front of a tracefs uprobe's
// fetchargs: the program reads arg 0 and returns non-zero only for the
// wanted value, and the kernel then fetches the arguments and writes the
// event's record to the current CPU's perf events. Only matching calls may
// arrive.
func TestFilterMode(t *testing.T) {
	testenv.RequireRoot(t)
	arch := hostArch(t)
	a0, _ := arch.Arg(asm.FuncABI, 0)
	a1, _ := arch.Arg(asm.FuncABI, 1)
	evdir, prog := cabiUprobe(t, "filtered", fmt.Sprintf("a=%s:u64 b=%s:u64", a0.FetchArg(), a1.FetchArg()))
	id := readEventID(t, evdir)
	const match = 4242
	insns := append(asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}, argLoad(t, arch, a0, asm.R1, asm.R6)...)
	filter := mustProgram(t, ProgramSpec{Name: "filter", Type: Kprobe, Instructions: append(insns,
		asm.Mov.Imm(asm.R0, 0),
		asm.JNE.Imm(asm.R1, match, "out"),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return().WithSymbol("out"),
	)})

	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: id, Sample_type: unix.PERF_SAMPLE_RAW, Sample: 1, Wakeup: 1}
	var rings []*perfRing
	for _, cpu := range onlineCPUs(t) {
		rings = append(rings, openPerf(t, attr, cpu))
	}
	// One program per trace event: attaching through any of its perf
	// events puts it in front of all of them.
	dup, err := unix.Dup(rings[0].fd)
	if err != nil {
		t.Fatal(err)
	}
	link, err := AttachPerfEvent(filter, dup, AttachOptions{Mode: AttachIoctl})
	if err != nil {
		unix.Close(dup)
		t.Fatal(err)
	}
	defer link.Close()
	const hits, misses = 25, 40
	runTestProg(t, prog, "calls", strconv.Itoa(misses), "17", "1")
	runTestProg(t, prog, "calls", strconv.Itoa(hits), strconv.Itoa(match), "99")
	runTestProg(t, prog, "calls", strconv.Itoa(misses), strconv.Itoa(match+1), "1")

	offA, offB := fieldOffset(t, evdir, "a"), fieldOffset(t, evdir, "b")
	got := 0
	for _, r := range rings {
		for _, s := range r.samples(t) {
			a, b := binary.NativeEndian.Uint64(s[offA:]), binary.NativeEndian.Uint64(s[offB:])
			if a != match || b != 99 {
				t.Errorf("record with a=%d b=%d passed the filter", a, b)
			}
			got++
		}
	}
	if got != hits {
		t.Fatalf("%d records arrived, want exactly the %d matching calls", got, hits)
	}
}
