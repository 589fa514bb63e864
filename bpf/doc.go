// Package bpf loads BPF maps and programs with the bpf(2) system call and
// attaches programs to perf events (tracefs kprobes, uprobes and
// tracepoints, or PMU probes). Programs are asm.Instructions; maps are
// referenced from them by name and bound to file descriptors at load time.
//
//	counts, err := bpf.NewMap(bpf.MapSpec{Name: "counts", Type: bpf.PerCPUArray,
//		KeySize: 4, ValueSize: 8, MaxEntries: 1})
//	prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "count", Type: bpf.TracePoint,
//		License: "GPL", Instructions: insns, Maps: map[string]*bpf.Map{"counts": counts}})
//	link, err := bpf.AttachPerfEvent(prog, perfFD, bpf.AttachOptions{})
//	defer link.Close()
//	total, err := counts.SumPerCPU(bpf.Uint32Key(0))
//
// Tracing programs (fentry, fexit, tp_btf) and LSM programs attach through
// the kernel's BTF: the spec names the target by its BTF id, looked up with
// the btf package, and AttachTracing attaches the loaded program.
//
//	spec, err := btf.LoadFile(btf.KernelPath)
//	fn, err := spec.TypeByName("do_unlinkat", btf.BTF_KIND_FUNC)
//	prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "unlinks", Type: bpf.Tracing,
//		AttachType: bpf.AttachTraceFentry, AttachBTFID: fn, License: "GPL", Instructions: insns})
//	link, err := bpf.AttachTracing(prog)
//	defer link.Close()
//
// HaveFentry, HaveFexit, HaveTPBTF, HaveLSM and HaveRawTracepoint try each
// kind against this kernel; BPFLSMActive says whether LSM programs run.
//
// A failed load returns a *VerifierError: its Error() is a short summary,
// fmt.Sprintf("%+v", err) prints the whole verifier log. A kernel that lacks
// a map type, program type or helper gives an error wrapping ErrNotSupported
// that names the first kernel to have it; Features reports them all for
// `tracelet doctor`.
//
// Every kernel object sits behind a type with Close.
package bpf
