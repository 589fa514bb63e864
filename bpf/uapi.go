package bpf

import "github.com/tracelet/tracelet/bpf/uapi"

// The kernel's enums live in package uapi, which makes no system calls, so
// that the script compiler can name them; these aliases keep them
// bpf.MapType, bpf.Hash and so on for everyone else.

// MapType is enum bpf_map_type.
type MapType = uapi.MapType

// Map types tracelet uses.
const (
	Hash           = uapi.Hash
	Array          = uapi.Array
	ProgramArray   = uapi.ProgramArray
	PerfEventArray = uapi.PerfEventArray
	PerCPUHash     = uapi.PerCPUHash
	PerCPUArray    = uapi.PerCPUArray
	StackTrace     = uapi.StackTrace
	LRUHash        = uapi.LRUHash
	LRUCPUHash     = uapi.LRUCPUHash
	RingBuf        = uapi.RingBuf
)

// ProgramType is enum bpf_prog_type.
type ProgramType = uapi.ProgramType

// Program types tracelet loads.
const (
	SocketFilter  = uapi.SocketFilter
	Kprobe        = uapi.Kprobe // also uprobes
	TracePoint    = uapi.TracePoint
	PerfEvent     = uapi.PerfEvent
	RawTracepoint = uapi.RawTracepoint
	Tracing       = uapi.Tracing
	LSM           = uapi.LSM
)

// AttachType is enum bpf_attach_type, as far as BTF-attached programs use
// it.
type AttachType = uapi.AttachType

// Attach types for Tracing and LSM programs.
const (
	AttachTraceRawTp  = uapi.AttachTraceRawTp
	AttachTraceFentry = uapi.AttachTraceFentry
	AttachTraceFexit  = uapi.AttachTraceFexit
	AttachLSMMac      = uapi.AttachLSMMac
)

// kernelFeature names a map or program type and its first kernel, for
// feature probes' messages.
type kernelFeature struct {
	name string
	min  string
}
