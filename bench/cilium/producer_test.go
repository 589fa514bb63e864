package cilium

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// producer is a BPF program on syscalls:sys_enter_getppid that writes one
// record of size bytes to out for each getppid(2) of one thread. The bytes
// come from an array map's value, because the BPF stack (512 bytes) cannot
// hold the larger records. Every reader under test gets the same program.
type producer struct {
	size int
	tid  int
	buf  *bpf.Map
	link *bpf.PerfLink
}

// newProducer loads the program for out, a PERF_EVENT_ARRAY or a RINGBUF
// map, and attaches it. The calling goroutine must stay locked to its
// thread: the filter is on the thread id.
func newProducer(b *testing.B, out *bpf.Map, size int) *producer {
	b.Helper()
	p := &producer{size: size, tid: unix.Gettid()}
	var err error
	if p.buf, err = bpf.NewMap(bpf.MapSpec{Name: "payload", Type: bpf.Array, KeySize: 4, ValueSize: uint32(size), MaxEntries: 1}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.buf.Close() })
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	if err := p.buf.Update(bpf.Uint32Key(0), payload, bpf.UpdateAny); err != nil {
		b.Fatal(err)
	}
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(p.tid), "out"),
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, "payload"),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
	}
	if out.Spec().Type == bpf.RingBuf {
		insns = append(insns,
			asm.Mov.Reg(asm.R2, asm.R0),
			asm.LoadMapPtr(asm.R1, "out"),
			asm.Mov.Imm(asm.R3, int32(size)),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
		)
	} else {
		insns = append(insns,
			asm.Mov.Reg(asm.R4, asm.R0),
			asm.Mov.Reg(asm.R1, asm.R6),
			asm.LoadMapPtr(asm.R2, "out"),
			asm.Mov.Imm32(asm.R3, -1), // BPF_F_CURRENT_CPU, zero-extended
			asm.Mov.Imm(asm.R5, int32(size)),
			asm.FnPerfEventOutput.Call(),
		)
	}
	insns = append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "bench_producer", Type: bpf.TracePoint, License: "GPL",
		Instructions: insns, Maps: map[string]*bpf.Map{"payload": p.buf, "out": out}})
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close() // the link holds its own reference
	fs, err := tracefs.Find()
	if err != nil {
		b.Fatal(err)
	}
	id, err := fs.EventID("syscalls", "sys_enter_getppid")
	if err != nil {
		b.Fatal(err)
	}
	fd, err := bpf.OpenTraceEvent(uint64(id))
	if err != nil {
		b.Fatal(err)
	}
	if p.link, err = bpf.AttachPerfEvent(prog, fd, bpf.AttachOptions{}); err != nil {
		unix.Close(fd)
		b.Fatal(err)
	}
	b.Cleanup(func() { p.link.Close() })
	return p
}

// produce writes n records.
func (p *producer) produce(n int) {
	for i := 0; i < n; i++ {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

// batch is how many records to produce before reading them: half of what
// one ring holds, so that nothing is lost whichever CPU the thread is on.
func batch(ring, size int) int {
	return ring / 2 / ((size + 8 + 8 + 7) &^ 7) // record header + PERF_SAMPLE_RAW's size word, rounded
}

// readLoop runs the benchmark: b.N records, produced a batch at a time with
// the timer stopped, each batch read with read.
func readLoop(b *testing.B, p *producer, ring int, read func(n int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	per := batch(ring, p.size)
	b.SetBytes(int64(p.size))
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; left -= per {
		n := min(left, per)
		b.StopTimer()
		p.produce(n)
		b.StartTimer()
		read(n)
	}
}

// newPerfArray makes a PERF_EVENT_ARRAY map with a slot per possible CPU.
func newPerfArray(b *testing.B) *bpf.Map {
	m, err := bpf.NewMap(bpf.MapSpec{Name: "out", Type: bpf.PerfEventArray, KeySize: 4, ValueSize: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// traceletPerf is tracelet's perf.Reader on a PERF_COUNT_SW_BPF_OUTPUT
// event per CPU, stored in m under its CPU number.
func traceletPerf(b *testing.B, m *bpf.Map, ring int) *perf.Reader {
	r, err := perf.NewReader(perf.ReaderOptions{RingSize: ring})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	attr := &perf.Attr{PerfEventAttr: unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
	}}
	evs, err := perf.OpenCPUs(attr, -1, r.CPUs(), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { perf.CloseAll(evs) })
	if err := r.Add(evs...); err != nil {
		b.Fatal(err)
	}
	for _, e := range evs {
		if err := m.Update(bpf.Uint32Key(uint32(e.CPU())), binary.NativeEndian.AppendUint32(nil, uint32(e.FD())), bpf.UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// dupFD gives cilium/ebpf a map fd of its own, which it closes.
func dupFD(b *testing.B, m *bpf.Map) int {
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		b.Fatal(err)
	}
	return fd
}

func requireRoot(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: loads BPF programs")
	}
}
