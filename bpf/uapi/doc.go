// Package uapi mirrors the BPF kernel ABI's enums that tracelet names:
// enum bpf_map_type (MapType), enum bpf_prog_type (ProgramType) and enum
// bpf_attach_type (AttachType), each with its name and first kernel, and
// MapSpec, what BPF_MAP_CREATE is asked for. It makes no system calls:
// the script compiler describes its maps and programs with these types,
// and package bpf, which aliases them (bpf.MapSpec, bpf.Hash, ...),
// creates and loads them.
//
//	spec := uapi.MapSpec{Name: "counts", Type: uapi.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}
//	fmt.Println(spec.Type, spec.Type.MinKernel()) // percpu_array 4.6
package uapi
