// Package asm is the eBPF instruction set as Go values: builders that read
// like assembly, label resolution, the kernel's 8-byte encoding in both byte
// orders, a disassembler whose text matches `bpftool prog dump xlated`, the
// helper-function table of include/uapi/linux/bpf.h, and one table of
// per-architecture argument registers shared by the BPF and tracefs backends.
//
// It makes no system calls, so it builds and tests on any OS.
//
//	prog := asm.Instructions{
//		asm.Mov.Reg(asm.R6, asm.R1),
//		asm.FnGetCurrentPidTgid.Call(),
//		asm.RSh.Imm(asm.R0, 32),
//		asm.JNE.Imm(asm.R0, 1234, "out"),
//		asm.StoreImm(asm.R10, -4, 0, asm.Word),
//		asm.Mov.Reg(asm.R2, asm.R10),
//		asm.Add.Imm(asm.R2, -4),
//		asm.LoadMapPtr(asm.R1, "counts"),
//		asm.FnMapLookupElem.Call(),
//		asm.JEq.Imm(asm.R0, 0, "out"),
//		asm.Mov.Imm(asm.R1, 1),
//		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
//		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
//		asm.Return(),
//	}
//	resolved, err := prog.Assemble() // labels become offsets
//
// Map references stay symbolic (by name) until package bpf binds them to
// file descriptors at load time.
package asm
