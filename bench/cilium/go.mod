// The reader micro-benchmark's anchor: cilium/ebpf's perf.Reader and
// ringbuf.Reader, measured next to tracelet's readers on the same producer.
// A module of its own so that cilium/ebpf never enters tracelet's go.mod or
// binary.
module github.com/tracelet/tracelet/bench/cilium

go 1.26.0

require (
	github.com/cilium/ebpf v0.22.0
	github.com/tracelet/tracelet v0.0.0
	golang.org/x/sys v0.49.0
)

replace github.com/tracelet/tracelet => ../..
