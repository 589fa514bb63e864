package bpf

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
	"golang.org/x/sys/unix"
)

// kprobePMU opens a probe on fn through the kprobe PMU (4.17): all
// processes, CPU 0, disabled, for attaching a program. ret sets the PMU's
// format/retprobe bit.
func kprobePMU(t *testing.T, fn string, ret bool) int {
	t.Helper()
	if ret {
		testenv.RequireReturnProbes(t)
	}
	attr, err := perf.Kprobe(fn, testenv.KprobeEntryOffset(t), ret, 0)
	if err != nil {
		t.Fatal(err)
	}
	attr.Sample_type, attr.Sample, attr.Wakeup = 0, 0, 0
	ev, err := perf.Open(attr, -1, 0, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The PerfLink takes the fd over; keep the Event from closing it.
	fd, err := unix.Dup(ev.FD())
	ev.Close()
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestKprobeCountAndFilter is the kprobe half of the attach and filter-mode
// proofs; it runs in the VM suite (this host has no kprobes). The program
// counts one thread's calls of getppid's entry point, attached through
// every attach mode to a tracefs kprobe and to a PMU kprobe.
func TestKprobeCountAndFilter(t *testing.T) {
	testenv.RequireKprobes(t)
	fn := testenv.SyscallEntry(t, "getppid")
	_, _, evdir := testenv.Kprobe(t, "p", fn)
	id := readEventID(t, evdir)
	const n = 777

	// The auto mode must pick what the kernel has: a BPF link on 5.15+
	// (6.1 has BPF_LINK_CREATE for perf events), the ioctl before.
	autoMode := AttachIoctl
	if HavePerfEventLink() == nil {
		autoMode = AttachLink
	}
	for _, c := range []struct {
		name string
		mode AttachMode
		open func(t *testing.T) int
	}{
		{"tracefs/ioctl", AttachIoctl, nil},
		{"tracefs/link", AttachLink, nil},
		{"tracefs/auto", AttachAuto, nil},
		{"pmu/auto", AttachAuto, func(t *testing.T) int { return kprobePMU(t, fn, false) }},
		{"pmu/ioctl", AttachIoctl, func(t *testing.T) int { return kprobePMU(t, fn, false) }},
	} {
		t.Run("count/"+c.name, func(t *testing.T) {
			if c.mode == AttachLink {
				if err := HavePerfEventLink(); err != nil {
					t.Fatalf("every VM-suite kernel is 6.1 or newer and has perf event links: %v", err)
				}
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			counts := mustMap(t, MapSpec{Name: "counts", Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2})
			prog := mustProgram(t, ProgramSpec{Name: "kcount", Type: Kprobe, Instructions: countProgram(unix.Gettid()), Maps: map[string]*Map{"counts": counts}})
			var fd int
			if c.open != nil {
				fd = c.open(t)
			} else {
				var err error
				if fd, err = OpenTraceEvent(id); err != nil {
					t.Fatal(err)
				}
			}
			link, err := AttachPerfEvent(prog, fd, AttachOptions{Mode: c.mode})
			if err != nil {
				unix.Close(fd)
				t.Fatal(err)
			}
			if want := c.mode; link.Mode() != want && !(want == AttachAuto && link.Mode() == autoMode) {
				t.Errorf("attached with %v, want %v (auto: %v)", link.Mode(), want, autoMode)
			}
			for i := 0; i < n; i++ {
				unix.Getppid()
			}
			if err := link.Close(); err != nil {
				t.Fatal(err)
			}
			unix.Getppid() // detached: must not count
			if got, err := counts.SumPerCPU(Uint32Key(0)); err != nil || got != n {
				t.Fatalf("kprobe counted %d (%v), want %d", got, err, n)
			}
		})
	}

	// Filter mode: the program passes only this thread's calls, and the
	// kernel writes the kprobe's record for exactly those.
	t.Run("filter", func(t *testing.T) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		filter := mustProgram(t, ProgramSpec{Name: "kfilter", Type: Kprobe, Instructions: asm.Instructions{
			asm.FnGetCurrentPidTgid.Call(),
			asm.Mov.Reg32(asm.R1, asm.R0),
			asm.Mov.Imm(asm.R0, 0),
			asm.JNE.Imm(asm.R1, int32(tid), "out"),
			asm.Mov.Imm(asm.R0, 1),
			asm.Return().WithSymbol("out"),
		}})
		// Open disabled: other processes' getppid calls before the filter
		// is in place would otherwise land in the rings.
		attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: id, Sample_type: unix.PERF_SAMPLE_RAW, Sample: 1, Wakeup: 1,
			Bits: unix.PerfBitDisabled}
		var rings []*perfRing
		for _, cpu := range onlineCPUs(t) {
			rings = append(rings, openPerf(t, attr, cpu))
		}
		dup, err := unix.Dup(rings[0].fd)
		if err != nil {
			t.Fatal(err)
		}
		link, err := AttachPerfEvent(filter, dup, AttachOptions{Mode: AttachIoctl})
		if err != nil {
			unix.Close(dup)
			t.Fatal(err)
		}
		for _, r := range rings {
			if err := unix.IoctlSetInt(r.fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n; i++ {
			unix.Getppid()
		}
		link.Close()
		off := fieldOffset(t, evdir, "common_pid")
		got := 0
		for _, r := range rings {
			for _, s := range r.samples(t) {
				if pid := int(int32(binary.NativeEndian.Uint32(s[off:]))); pid != tid {
					t.Errorf("record of thread %d passed the filter", pid)
				}
				got++
			}
		}
		if got != n {
			t.Fatalf("%d records, want exactly %d", got, n)
		}
	})
}

// TestKprobeArgsFromArchTable reads do_sys_openat2's first argument (the
// dfd) at entry and its return value at exit from pt_regs, at the offsets
// of the arch table, and compares them with the known values: our own
// directory fd and -ENOENT. Both a tracefs probe pair and PMU probes.
func TestKprobeArgsFromArchTable(t *testing.T) {
	testenv.RequireKprobes(t)
	arch := hostArch(t)
	arg0, err := arch.Arg(asm.KernelABI, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := unix.Open(os.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	missing := fmt.Sprintf("tracelet-bpf-kprobe-%d-missing", os.Getpid())
	const n = 11
	for _, c := range []struct {
		name string
		ret  bool
		pmu  bool
	}{{"tracefs/entry", false, false}, {"tracefs/return", true, false}, {"pmu/entry", false, true}, {"pmu/return", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			loc, want := arg0, uint64(int64(dir))
			if c.ret {
				enoent := -int64(unix.ENOENT)
				loc, want = arch.Ret(), uint64(enoent)
				if loc.Size == 4 {
					// A 32-bit register, loaded zero-extended.
					want = uint64(uint32(enoent))
				}
			}
			vals := mustMap(t, MapSpec{Name: "vals", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
			prog := mustProgram(t, ProgramSpec{Name: "kargs", Type: Kprobe, Instructions: tidValueProgram(t, unix.Gettid(), loc), Maps: map[string]*Map{"vals": vals}})
			var fd int
			if c.pmu {
				fd = kprobePMU(t, "do_sys_openat2", c.ret)
			} else {
				kind := "p"
				if c.ret {
					kind = "r"
				}
				_, _, evdir := testenv.Kprobe(t, kind, "do_sys_openat2")
				if fd, err = OpenTraceEvent(readEventID(t, evdir)); err != nil {
					t.Fatal(err)
				}
			}
			link, err := AttachPerfEvent(prog, fd, AttachOptions{})
			if err != nil {
				unix.Close(fd)
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if _, err := unix.Openat(dir, missing, unix.O_RDONLY, 0); err != unix.ENOENT {
					t.Fatalf("openat: %v, want ENOENT", err)
				}
			}
			link.Close()
			val := make([]byte, 8)
			for slot, w := range []uint64{want, n} {
				if err := vals.Lookup(Uint32Key(uint32(slot)), val); err != nil {
					t.Fatal(err)
				}
				if got := binary.NativeEndian.Uint64(val); got != w {
					t.Errorf("slot %d (%s): %#x, want %#x", slot, loc.FetchArg(), got, w)
				}
			}
		})
	}
}

// tidValueProgram stores the pt_regs value at loc in vals[0] and counts
// hits in vals[1], for thread tid only.
func tidValueProgram(t *testing.T, tid int, loc asm.Loc) asm.Instructions {
	load, err := loc.Load(asm.R7, asm.R6)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(key int32) asm.Instructions {
		return asm.Instructions{
			asm.StoreImm(asm.R10, -4, key, asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, "vals"),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
		}
	}
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(tid), "out"),
		load,
	}
	insns = append(insns, lookup(0)...)
	insns = append(insns, asm.StoreMem(asm.R0, 0, asm.R7, asm.DWord))
	insns = append(insns, lookup(1)...)
	insns = append(insns, asm.Mov.Imm(asm.R1, 1), asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord))
	return append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
}
