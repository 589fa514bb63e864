package tools

import (
	"bufio"
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// TestSiginfoPointersDiffer records why sigsnoop joins signal_generate and
// signal_deliver on (target, signal) and not on the siginfo pointer: the
// raw tracepoints' info arguments (TP_PROTO) are not the same object. The
// sender's siginfo is a local of kill(2) and the queue holds a copy of it
// (struct sigqueue); signal_deliver shows the receiver's ksignal, into
// which dequeue_signal copied the queued one. Raw tracepoint programs (the
// only ones that see the pointers) record both for one real-time signal.
func TestSiginfoPointersDiffer(t *testing.T) {
	testenv.RequireRoot(t)
	const sig = 44
	infos, err := bpf.NewMap(bpf.MapSpec{Name: "infos", Type: bpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer infos.Close()
	for slot, tp := range []string{"signal_generate", "signal_deliver"} {
		insns := asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.LoadMem(asm.R1, asm.R6, 0, asm.DWord), // args[0]: sig
			asm.JNE.Imm(asm.R1, sig, "out"),
			asm.LoadMem(asm.R1, asm.R6, 8, asm.DWord), // args[1]: struct kernel_siginfo *
			asm.StoreMem(asm.R10, -16, asm.R1, asm.DWord),
			asm.StoreImm(asm.R10, -4, int32(slot), asm.Word),
		}
		insns = append(insns, mapUpdate("infos", -4, -16, 0)...)
		insns = append(insns, epilogue("out")...)
		prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "info_" + strconv.Itoa(slot), Type: bpf.RawTracepoint, License: "GPL",
			Instructions: insns, Maps: map[string]*bpf.Map{"infos": infos}})
		if err != nil {
			t.Fatal(err)
		}
		defer prog.Close()
		link, err := bpf.AttachRawTracepoint(prog, tp)
		if err != nil {
			t.Fatal(err)
		}
		defer link.Close()
	}
	catcher := exec.Command(os.Args[0], strconv.Itoa(sig))
	catcher.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=catch")
	in, _ := catcher.StdinPipe()
	out, _ := catcher.StdoutPipe()
	if err := catcher.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); catcher.Wait() }()
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
		t.Fatalf("catcher: %q", l)
	}
	if err := syscall.Kill(catcher.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var gen, del uint64
	for (gen == 0 || del == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		v := make([]byte, 8)
		if infos.Lookup(bpf.Uint32Key(0), v) == nil {
			gen = binary.NativeEndian.Uint64(v)
		}
		if infos.Lookup(bpf.Uint32Key(1), v) == nil {
			del = binary.NativeEndian.Uint64(v)
		}
	}
	if gen == 0 || del == 0 {
		t.Fatalf("signal %d not seen at both tracepoints: generate info %#x, deliver info %#x", sig, gen, del)
	}
	if gen == del {
		t.Errorf("one siginfo pointer %#x at generate and deliver: a join on it would work", gen)
	}
	t.Logf("siginfo at signal_generate %#x, at signal_deliver %#x", gen, del)
}
