package asm_test

import (
	"fmt"

	"github.com/tracelet/tracelet/asm"
)

func Example() {
	prog := asm.Instructions{
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Imm(asm.R0, 1234, "out"),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
	resolved, err := prog.Assemble()
	if err != nil {
		panic(err)
	}
	fmt.Print(resolved)
	// Output:
	//    0: (85) call bpf_get_current_pid_tgid#14
	//    1: (77) r0 >>= 32
	//    2: (55) if r0 != 0x4d2 goto pc+2
	//    3: (b7) r0 = 1
	//    4: (95) exit
	//    5: (b7) r0 = 0
	//    6: (95) exit
}

func ExampleArch_Arg() {
	x86, _ := asm.ArchFor("amd64")
	fn, _ := x86.Arg(asm.FuncABI, 3)
	sc, _ := x86.Arg(asm.SyscallABI, 3)
	fmt.Println(fn.FetchArg(), fn.Offset, sc.FetchArg(), sc.Offset)
	// Output: %cx 88 %r10 56
}
