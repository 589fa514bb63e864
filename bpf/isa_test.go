package bpf

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

type testRunAttr struct {
	progFD      uint32
	retval      uint32
	dataSizeIn  uint32
	dataSizeOut uint32
	dataIn      kptr
	dataOut     kptr
	repeat      uint32
	duration    uint32
}

// run executes a socket filter once on a dummy packet (BPF_PROG_TEST_RUN)
// and returns its 32-bit result.
func run(t *testing.T, p *Program) uint32 {
	pkt := make([]byte, 64)
	attr := testRunAttr{progFD: uint32(p.fd), dataSizeIn: uint32(len(pkt)), dataIn: bytesPtr(pkt), repeat: 1}
	if _, err := sys(10 /* BPF_PROG_TEST_RUN */, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		t.Fatalf("test run: %v", err)
	}
	return attr.retval
}

// The kernel executes each encoding and gets the value the ISA defines:
// proof that the builders of the newer instructions encode what the kernel
// means, beyond the hand-written bytes of the asm tests.
func TestISAOnKernel(t *testing.T) {
	testenv.RequireRoot(t)
	cases := []struct {
		name string
		body asm.Instructions
		want uint32
	}{
		{"sdiv", asm.Instructions{asm.Mov.Imm(asm.R0, -7), asm.SDiv.Imm(asm.R0, 2)}, uint32(0xfffffffd)},
		{"smod", asm.Instructions{asm.Mov.Imm(asm.R0, -7), asm.Mov.Imm(asm.R1, 3), asm.SMod.Reg(asm.R0, asm.R1)}, uint32(0xffffffff)},
		{"udiv", asm.Instructions{asm.Mov.Imm32(asm.R0, -7), asm.Div.Imm32(asm.R0, 2)}, 0x7ffffffc},
		{"movsx8", asm.Instructions{asm.Mov.Imm(asm.R1, 0x80), asm.MovSX8.Reg(asm.R0, asm.R1), asm.RSh.Imm(asm.R0, 32)}, 0xffffffff},
		{"movsx16", asm.Instructions{asm.Mov.Imm(asm.R1, 0x8001), asm.MovSX16.Reg(asm.R0, asm.R1)}, 0xffff8001},
		{"bswap16", asm.Instructions{asm.Mov.Imm(asm.R0, 0x1234), asm.BSwap(asm.R0, 16)}, 0x3412},
		{"be32", asm.Instructions{asm.Mov.Imm(asm.R0, 0x11223344), asm.HostTo(asm.BE, asm.R0, 32)}, 0x44332211},
		{"neg", asm.Instructions{asm.Mov.Imm(asm.R0, 5), asm.Neg64(asm.R0)}, uint32(0xfffffffb)},
		{"arsh", asm.Instructions{asm.Mov.Imm(asm.R0, -16), asm.ArSh.Imm(asm.R0, 2)}, uint32(0xfffffffc)},
		{"ldimm64", asm.Instructions{asm.LoadImm64(asm.R0, 0x1122334455667788), asm.RSh.Imm(asm.R0, 32)}, 0x11223344},
		{"memsx", asm.Instructions{
			asm.StoreImm(asm.R10, -8, 0xff, asm.Byte),
			asm.LoadMemSX(asm.R0, asm.R10, -8, asm.Byte),
		}, 0xffffffff},
		// gotol skips "a", which stays reachable (the verifier rejects dead code)
		// through a branch the run never takes.
		{"gotol", asm.Instructions{
			asm.Mov.Imm(asm.R0, 1), asm.JaLong("b"),
			asm.Mov.Imm(asm.R0, 2).WithSymbol("a"), asm.Return(),
			asm.JEq.Imm(asm.R0, 3, "a").WithSymbol("b"),
		}, 1},
		{"jmp32", asm.Instructions{
			asm.LoadImm64(asm.R1, 0x100000005), asm.Mov.Imm(asm.R0, 1),
			asm.JEq.Imm32(asm.R1, 5, "end"), asm.Mov.Imm(asm.R0, 2), asm.Mov.Imm(asm.R2, 0).WithSymbol("end"),
		}, 1},
		{"cmpxchg", asm.Instructions{
			asm.StoreImm(asm.R10, -8, 5, asm.DWord),
			asm.Mov.Imm(asm.R0, 5), asm.Mov.Imm(asm.R1, 9),
			asm.AtomicCmpXchg.Mem(asm.R10, -8, asm.R1, asm.DWord), // r0 = old 5, mem = 9
			asm.LoadMem(asm.R1, asm.R10, -8, asm.DWord),
			asm.LSh.Imm(asm.R0, 8), asm.Or.Reg(asm.R0, asm.R1),
		}, 0x509},
		{"xchg", asm.Instructions{
			asm.StoreImm(asm.R10, -8, 3, asm.DWord), asm.Mov.Imm(asm.R1, 4),
			asm.AtomicXchg.Mem(asm.R10, -8, asm.R1, asm.DWord), // r1 = 3, mem = 4
			asm.LoadMem(asm.R0, asm.R10, -8, asm.DWord), asm.LSh.Imm(asm.R0, 8), asm.Or.Reg(asm.R0, asm.R1),
		}, 0x403},
		{"fetch_or", asm.Instructions{
			asm.StoreImm(asm.R10, -8, 0x10, asm.Word), asm.Mov.Imm(asm.R1, 0x01),
			asm.AtomicFetchOr.Mem(asm.R10, -8, asm.R1, asm.Word), // r1 = 0x10, mem = 0x11
			asm.LoadMem(asm.R0, asm.R10, -8, asm.Word), asm.LSh.Imm(asm.R0, 8), asm.Or.Reg(asm.R0, asm.R1),
		}, 0x1110},
		{"atomic_and", asm.Instructions{
			asm.StoreImm(asm.R10, -8, 0x1f, asm.DWord), asm.Mov.Imm(asm.R1, 0x3),
			asm.AtomicAnd.Mem(asm.R10, -8, asm.R1, asm.DWord),
			asm.LoadMem(asm.R0, asm.R10, -8, asm.DWord),
		}, 0x3},
	}
	// The encodings of cpu v4 (Linux 6.6): signed div/mod, movsx, bswap,
	// sign-extending loads and gotol.
	needV4 := map[string]bool{"sdiv": true, "smod": true, "movsx8": true, "movsx16": true, "bswap16": true, "memsx": true, "gotol": true}
	v4 := haveCPUv4(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			insns := append(append(asm.Instructions{}, c.body...), asm.Return())
			if needV4[c.name] && !v4 {
				// The kernel predates these encodings: what can be
				// proved is that it refuses them, as the verifier of
				// 6.1 does ("BPF_ALU uses reserved fields", "unknown
				// opcode") or, for gotol, which 6.1's verifier lets
				// through, arm64's JIT ("unknown opcode 06", ENOTSUPP),
				// rather than running something else.
				// A kernel that loads one anyway must run it right.
				p, err := NewProgram(ProgramSpec{Name: "isa_" + c.name, Type: SocketFilter, License: "GPL", Instructions: insns})
				var verr *VerifierError
				if err == nil {
					defer p.Close()
					if got := run(t, p); got != c.want {
						t.Errorf("a kernel without cpu v4 loaded %s and it returned %#x, want %#x", c.name, got, c.want)
					}
					return
				} else if !errors.As(err, &verr) || !errors.Is(err, unix.EINVAL) && !errors.Is(err, errENOTSUPP) {
					t.Fatalf("%s on a kernel without cpu v4: %v, want a VerifierError with EINVAL (verifier) or ENOTSUPP (JIT)", c.name, err)
				}
				t.Logf("kernel predates cpu v4 (Linux 6.6) and refuses %s: %v", c.name, err)
				return
			}
			p := mustProgram(t, ProgramSpec{Name: "isa_" + c.name, Type: SocketFilter, Instructions: insns})
			if got := run(t, p); got != c.want {
				t.Errorf("%s returned %#x, want %#x\n%v", c.name, got, c.want, insns)
			}
		})
	}
}

// haveCPUv4 reports whether the kernel runs the instructions of cpu v4
// (Linux 6.6), probed by loading one sdiv.
func haveCPUv4(t *testing.T) bool {
	p, err := NewProgram(ProgramSpec{Name: "probe_v4", Type: SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 6), asm.SDiv.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		t.Logf("cpu v4 probe: %v", err)
		return false
	}
	p.Close()
	return true
}
