// Package btf reads BPF Type Format, the type information that the kernel
// publishes in /sys/kernel/btf and that compilers put in an ELF's .BTF
// section, for a tracer that compiles scripts on the target: find struct
// task_struct, walk member paths to offsets, read a function's or a raw
// tracepoint's parameters, and spell types as C does.
//
// Names mirror include/uapi/linux/btf.h (BTF_KIND_STRUCT, struct btf_member
// as Member), as debug/elf mirrors the ELF spec. Like debug/dwarf, a Spec
// reads lazily: loading walks the types once to note where each starts,
// lookups by name walk or, once they have walked enough, index the names,
// and a type is decoded only when asked for. The package makes no system
// calls except in LoadFile and LoadSplitFile, which open (and map) a file;
// everything else reads a []byte or an io.ReaderAt, on any OS.
//
// A one-liner's questions:
//
//	spec, err := btf.LoadFile(btf.KernelPath)
//	if err != nil { ... }
//	defer spec.Close()
//	task, err := spec.TypeByName("task_struct", btf.BTF_KIND_STRUCT)
//	comm, err := spec.Member(task, "comm") // comm.Offset, comm.Type
//	fmt.Println(spec.TypeString(comm.Type)) // char [16]
//	proto, err := spec.FuncProto("do_unlinkat") // proto.Params: dfd, name
//
// Kernel modules' BTF is split BTF: LoadSplitFile("/sys/kernel/btf/MOD",
// vmlinux) continues the base's type IDs and string offsets.
package btf
