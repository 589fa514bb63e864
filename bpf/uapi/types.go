package uapi

import "fmt"

// MapSpec describes a map to create.
type MapSpec struct {
	Name       string // up to 15 of [A-Za-z0-9_.]; also the name programs refer to
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32 // 0 for PerfEventArray means one slot per possible CPU; for RingBuf, the ring size in bytes
	Flags      uint32 // BPF_F_* map flags
}

// MapType is enum bpf_map_type.
type MapType uint32

// Map types tracelet uses.
const (
	Hash           MapType = 1
	Array          MapType = 2
	ProgramArray   MapType = 3
	PerfEventArray MapType = 4
	PerCPUHash     MapType = 5
	PerCPUArray    MapType = 6
	StackTrace     MapType = 7
	LRUHash        MapType = 9
	LRUCPUHash     MapType = 10
	RingBuf        MapType = 27
)

// kernelFeature is a type's name and the first kernel that has it.
type kernelFeature struct {
	name string
	min  string
}

var mapTypes = map[MapType]kernelFeature{
	Hash:           {"hash", "3.19"},
	Array:          {"array", "3.19"},
	ProgramArray:   {"prog_array", "4.2"},
	PerfEventArray: {"perf_event_array", "4.3"},
	PerCPUHash:     {"percpu_hash", "4.6"},
	PerCPUArray:    {"percpu_array", "4.6"},
	StackTrace:     {"stack_trace", "4.6"},
	LRUHash:        {"lru_hash", "4.10"},
	LRUCPUHash:     {"lru_percpu_hash", "4.10"},
	RingBuf:        {"ringbuf", "5.8"},
}

func (t MapType) String() string {
	if f, ok := mapTypes[t]; ok {
		return f.name
	}
	return fmt.Sprintf("MapType(%d)", uint32(t))
}

// MinKernel is the first kernel with the map type.
func (t MapType) MinKernel() string { return mapTypes[t].min }

// PerCPU reports whether lookups return one value per possible CPU.
func (t MapType) PerCPU() bool { return t == PerCPUHash || t == PerCPUArray || t == LRUCPUHash }

// ProgramType is enum bpf_prog_type.
type ProgramType uint32

// Program types tracelet loads.
const (
	SocketFilter  ProgramType = 1
	Kprobe        ProgramType = 2 // also uprobes
	TracePoint    ProgramType = 5
	PerfEvent     ProgramType = 7
	RawTracepoint ProgramType = 17
	// Tracing programs attach through BTF: fentry, fexit and tp_btf
	// (ProgramSpec.AttachType says which, AttachBTFID to what).
	Tracing ProgramType = 26
	// LSM programs attach to a bpf_lsm_<hook> through BTF.
	LSM ProgramType = 29
)

var progTypes = map[ProgramType]kernelFeature{
	SocketFilter:  {"socket_filter", "3.19"},
	Kprobe:        {"kprobe", "4.1"},
	TracePoint:    {"tracepoint", "4.7"},
	PerfEvent:     {"perf_event", "4.9"},
	RawTracepoint: {"raw_tracepoint", "4.17"},
	Tracing:       {"tracing", "5.5"},
	LSM:           {"lsm", "5.7"},
}

func (t ProgramType) String() string {
	if f, ok := progTypes[t]; ok {
		return f.name
	}
	return fmt.Sprintf("ProgramType(%d)", uint32(t))
}

// MinKernel is the first kernel with the program type.
func (t ProgramType) MinKernel() string { return progTypes[t].min }

// AttachType is enum bpf_attach_type, as far as BTF-attached programs use
// it: the expected_attach_type of a load and the attach_type of
// BPF_LINK_CREATE.
type AttachType uint32

// Attach types for Tracing and LSM programs.
const (
	AttachTraceRawTp  AttachType = 23 // BPF_TRACE_RAW_TP: tp_btf, attach_btf_id is btf_trace_<tp>
	AttachTraceFentry AttachType = 24 // BPF_TRACE_FENTRY: attach_btf_id is the FUNC
	AttachTraceFexit  AttachType = 25 // BPF_TRACE_FEXIT
	AttachLSMMac      AttachType = 27 // BPF_LSM_MAC: attach_btf_id is bpf_lsm_<hook>
)

var attachTypes = map[AttachType]kernelFeature{
	AttachTraceRawTp:  {"tp_btf", "5.5"},
	AttachTraceFentry: {"fentry", "5.5"},
	AttachTraceFexit:  {"fexit", "5.5"},
	AttachLSMMac:      {"lsm", "5.7"},
}

func (t AttachType) String() string {
	if f, ok := attachTypes[t]; ok {
		return f.name
	}
	return fmt.Sprintf("AttachType(%d)", uint32(t))
}

// MinKernel is the first kernel with the attach type.
func (t AttachType) MinKernel() string { return attachTypes[t].min }
