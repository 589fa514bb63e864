// Package cilium benchmarks tracelet's perf and BPF ring buffer readers
// against cilium/ebpf's perf.Reader and ringbuf.Reader, in the same run, on
// the same kernel and the same producer: a BPF program on the
// syscalls:sys_enter_getppid tracepoint that writes one record of the
// benchmark's size per getppid(2) of the benchmarking thread.
//
// Only the reading is timed: each batch of records is produced with the
// timer stopped, then read back with it running. ns/op is per record.
//
//	cd bench/cilium && go test -run '^$' -bench . -benchmem -benchtime 200000x
//
// BenchmarkBTF (btf_test.go) measures package btf against cilium/ebpf's btf
// on what a one-liner asks of /sys/kernel/btf/vmlinux: load it, find struct
// task_struct, walk real_parent then comm, find struct filename's name and
// do_unlinkat's prototype.
//
//	cd bench/cilium && go test -run '^$' -bench BTF -benchmem -count 6
//
// It is a module of its own (see go.mod), run by `make bench`.
package cilium
