package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

const marker = 0x5eed

// seqPrologue filters on thread tid and leaves a fresh sequence number
// (atomic fetch-add on seq[0]) in R7, with the context in R6.
func seqPrologue(tid int) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.FnGetCurrentPidTgid.Call(),
		asm.JNE.Imm32(asm.R0, int32(tid), "out"),
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, "seq"),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.AtomicFetchAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R7, asm.R1),
	}
}

var epilogue = asm.Instructions{asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return()}

func checkSeqs(t *testing.T, got []uint64, n int, want func(uint64) bool) {
	t.Helper()
	seen := make(map[uint64]int)
	for _, s := range got {
		seen[s]++
	}
	expected := 0
	for s := uint64(0); s < uint64(n); s++ {
		if !want(s) {
			if seen[s] != 0 {
				t.Errorf("sequence %d arrived but should not have", s)
			}
			continue
		}
		expected++
		if seen[s] != 1 {
			t.Errorf("sequence %d arrived %d times", s, seen[s])
		}
	}
	if len(got) != expected {
		t.Errorf("%d records, want %d", len(got), expected)
	}
}

func TestPerfEventArrayOutput(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireSyscallEvents(t) // it counts sys_enter_getppid
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	seq := mustMap(t, MapSpec{Name: "seq", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	events := mustMap(t, MapSpec{Name: "events", Type: PerfEventArray})
	// One PERF_COUNT_SW_BPF_OUTPUT event per CPU, stored under its CPU
	// number: bpf_perf_event_output(BPF_F_CURRENT_CPU) indexes by CPU.
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_BPF_OUTPUT,
		Sample_type: unix.PERF_SAMPLE_RAW, Sample: 1, Wakeup: 1}
	var rings []*perfRing
	for _, cpu := range onlineCPUs(t) {
		r := openPerf(t, attr, cpu)
		rings = append(rings, r)
		if err := events.Update(Uint32Key(uint32(cpu)), binary.NativeEndian.AppendUint32(nil, uint32(r.fd)), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	insns := append(seqPrologue(unix.Gettid()),
		asm.StoreMem(asm.R10, -24, asm.R7, asm.DWord),
		asm.StoreImm(asm.R10, -16, marker, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, "events"),
		asm.LoadImm64(asm.R3, 0xffffffff), // BPF_F_CURRENT_CPU
		asm.Mov.Reg(asm.R4, asm.R10),
		asm.Add.Imm(asm.R4, -24),
		asm.Mov.Imm(asm.R5, 16),
		asm.FnPerfEventOutput.Call(),
	)
	insns = append(insns, epilogue...)
	prog := mustProgram(t, ProgramSpec{Name: "perf_output", Type: TracePoint, Instructions: insns,
		Maps: map[string]*Map{"seq": seq, "events": events}})
	fd, err := OpenTraceEvent(tracepointID(t, "syscalls", "sys_enter_getppid"))
	if err != nil {
		t.Fatal(err)
	}
	link, err := AttachPerfEvent(prog, fd, AttachOptions{})
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	const n = 1000 // 32 bytes each: fits one CPU's 64 KiB ring
	for i := 0; i < n; i++ {
		unix.Getppid()
	}
	link.Close()
	var got []uint64
	for _, r := range rings {
		for _, s := range r.samples(t) {
			if len(s) < 16 || binary.NativeEndian.Uint64(s[8:]) != marker {
				t.Fatalf("bad sample %x", s)
			}
			got = append(got, binary.NativeEndian.Uint64(s))
		}
	}
	checkSeqs(t, got, n, func(uint64) bool { return true })
}

// TestRingBufOutput uses all three ways to write: bpf_ringbuf_output for
// sequence numbers ≡ 0 (mod 3), reserve+submit for ≡ 1, and reserve+discard
// for ≡ 2, which the reader must skip. It runs with a reader woken per
// record and with one that holds the last record and polls (SetBatch),
// across discarded records too.
func TestRingBufOutput(t *testing.T) {
	for _, batch := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) { testRingBufOutput(t, batch, 0) })
	}
	// ReadBatch: up to 64 records a call, all checked once the call has
	// returned them (they stay valid together), with and without a held
	// batch.
	for _, batch := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprint("ReadBatch, batch ", batch), func(t *testing.T) { testRingBufOutput(t, batch, 64) })
	}
}

func testRingBufOutput(t *testing.T, batch time.Duration, readBatch int) {
	testenv.RequireRoot(t)
	testenv.RequireSyscallEvents(t) // it counts sys_enter_getppid
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	seq := mustMap(t, MapSpec{Name: "seq", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	rb := mustMap(t, MapSpec{Name: "rb", Type: RingBuf, MaxEntries: 1 << 16})
	insns := append(seqPrologue(unix.Gettid()),
		asm.Mov.Reg(asm.R8, asm.R7),
		asm.Mod.Imm(asm.R8, 3),
		asm.JNE.Imm(asm.R8, 0, "reserve"),
		asm.StoreMem(asm.R10, -16, asm.R7, asm.DWord),
		asm.StoreImm(asm.R10, -8, marker, asm.DWord),
		asm.LoadMapPtr(asm.R1, "rb"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.Mov.Imm(asm.R3, 16),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnRingbufOutput.Call(),
		asm.Ja.Label("out"),
		asm.LoadMapPtr(asm.R1, "rb").WithSymbol("reserve"),
		asm.Mov.Imm(asm.R2, 16),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnRingbufReserve.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.StoreMem(asm.R0, 0, asm.R7, asm.DWord),
		asm.StoreImm(asm.R0, 8, marker, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.Mov.Imm(asm.R2, 0),
		asm.JEq.Imm(asm.R8, 2, "discard"),
		asm.FnRingbufSubmit.Call(),
		asm.Ja.Label("out"),
		asm.FnRingbufDiscard.Call().WithSymbol("discard"),
	)
	insns = append(insns, epilogue...)
	prog := mustProgram(t, ProgramSpec{Name: "ringbuf_output", Type: TracePoint, Instructions: insns,
		Maps: map[string]*Map{"seq": seq, "rb": rb}})
	reader, err := NewRingBufReader(rb)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	reader.SetBatch(batch)
	fd, err := OpenTraceEvent(tracepointID(t, "syscalls", "sys_enter_getppid"))
	if err != nil {
		t.Fatal(err)
	}
	link, err := AttachPerfEvent(prog, fd, AttachOptions{})
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer link.Close()

	const n = 3000 // more than the 64 KiB ring holds at once: the reader must keep up
	want := func(s uint64) bool { return s%3 != 2 }
	expected := 0
	for s := uint64(0); s < n; s++ {
		if want(s) {
			expected++
		}
	}
	var got []uint64
	var readErr error
	largest := 0 // records in the largest batch read
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		buf := make([][]byte, 0, max(readBatch, 1))
		for len(got) < expected {
			recs := buf[:0]
			var err error
			if readBatch > 0 {
				recs, err = reader.ReadBatch(ctx, recs)
			} else {
				var s []byte
				if s, err = reader.Read(ctx); err == nil {
					recs = append(recs, s)
				}
			}
			if err != nil {
				readErr = err
				return
			}
			largest = max(largest, len(recs))
			for _, s := range recs {
				if len(s) != 16 || binary.NativeEndian.Uint64(s[8:]) != marker {
					readErr = fmt.Errorf("malformed record of %d bytes: %x (available %d)", len(s), s[:min(len(s), 64)], reader.Available())
					return
				}
				got = append(got, binary.NativeEndian.Uint64(s))
			}
		}
	}()
	for i := 0; i < n; i++ {
		unix.Getppid()
		if i%500 == 499 {
			time.Sleep(5 * time.Millisecond) // let the reader drain between bursts
		}
	}
	wg.Wait()
	link.Close()
	if readErr != nil {
		t.Fatalf("after %d records: %v", len(got), readErr)
	}
	checkSeqs(t, got, n, want)
	if readBatch > 0 && batch > 0 && largest < 2 {
		// Held for 10 ms while 500 calls come in bursts, a batch holds
		// more than one record.
		t.Errorf("ReadBatch returned one record at a time (%d calls)", len(got))
	}
	total := make([]byte, 8)
	seq.Lookup(Uint32Key(0), total)
	if binary.NativeEndian.Uint64(total) != n {
		t.Fatalf("program ran %d times, want %d", binary.NativeEndian.Uint64(total), n)
	}

	// Nothing more: a deadline ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := reader.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read on an empty ring: %v, want DeadlineExceeded", err)
	}
	// Close unblocks a waiting Read.
	done := make(chan error)
	go func() { _, err := reader.Read(context.Background()); done <- err }()
	time.Sleep(20 * time.Millisecond)
	reader.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}
