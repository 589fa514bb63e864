package bpf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// getppidSymbol finds the kernel's entry for getppid. Syscall entry points
// are wrapped per architecture (__x64_sys_*, __arm64_sys_*).
func getppidSymbol(t *testing.T) string {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plain := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 3 {
			continue
		}
		switch name := fields[2]; {
		case strings.HasPrefix(name, "__") && strings.HasSuffix(name, "_sys_getppid") && !strings.Contains(name, "ia32"):
			return name
		case name == "sys_getppid":
			plain = name
		}
	}
	if plain == "" {
		t.Fatal("no getppid entry point in /proc/kallsyms")
	}
	return plain
}

// kprobe defines p:tracelet_<pid>/<ev> <sym> and returns the event dir.
func kprobe(t *testing.T, ev, sym string) string {
	dir := tracefsDir(t)
	group := fmt.Sprintf("tracelet_%d", os.Getpid())
	def := fmt.Sprintf("p:%s/%s %s", group, ev, sym)
	if err := appendControl(t, dir+"/kprobe_events", def); err != nil {
		t.Fatalf("define kprobe %q: %v", def, err)
	}
	t.Cleanup(func() {
		if err := appendControl(t, dir+"/kprobe_events", fmt.Sprintf("-:%s/%s", group, ev)); err != nil {
			t.Errorf("remove kprobe %s/%s: %v", group, ev, err)
		}
	})
	return dir + "/events/" + group + "/" + ev
}

// TestKprobeCountAndFilter is the kprobe half of the attach and filter-mode
// proofs; it runs in the VM suite (this host has no kprobes).
func TestKprobeCountAndFilter(t *testing.T) {
	testenv.RequireKprobes(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	evdir := kprobe(t, "kgetppid", getppidSymbol(t))
	id := readEventID(t, evdir)
	const n = 777

	t.Run("count", func(t *testing.T) {
		counts := mustMap(t, MapSpec{Name: "counts", Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2})
		prog := mustProgram(t, ProgramSpec{Name: "kcount", Type: Kprobe, Instructions: countProgram(tid), Maps: map[string]*Map{"counts": counts}})
		fd, err := OpenTraceEvent(id)
		if err != nil {
			t.Fatal(err)
		}
		link, err := AttachPerfEvent(prog, fd, AttachOptions{})
		if err != nil {
			unix.Close(fd)
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			unix.Getppid()
		}
		link.Close()
		if got, err := counts.SumPerCPU(Uint32Key(0)); err != nil || got != n {
			t.Fatalf("kprobe counted %d (%v), want %d", got, err, n)
		}
	})

	// Filter mode: the program passes only this thread's calls, and the
	// kernel writes the kprobe's record for exactly those.
	t.Run("filter", func(t *testing.T) {
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
