// Package tools holds tracelet's everyday tools: sigsnoop, execsnoop,
// opensnoop, killsnoop, exitsnoop, syscount, funccount and funclatency.
//
// Each tool is BPF assembled in Go (package asm) on tracepoints and tracefs
// probes; structure offsets come from the tracepoints' format files, never
// from BTF. execsnoop, opensnoop, killsnoop and funccount also have a tracefs
// backend (Backend: BackendTracefs) that needs no BPF: tracepoints and our
// own probes read through perf rings and decoded with their format files,
// or counted by perf counters. What the kernel cannot hand over without BPF
// (the path an open names, the argv of an exec, the sender's comm) is read
// from /proc when the record arrives. BackendAuto picks BPF when the kernel
// loads tracepoint programs and falls back to tracefs otherwise.
//
// The eight stay BPF assembled in Go, by measurement (issue 18): `make
// bench BENCH_FLAGS='-only scripted'` runs each beside the same tool as a
// script (bench/scripts), and no script gives the same output and flags
// (a tracefs backend, syscall names, CMDLINE, a pattern as the attach
// point, the JSON Lines); five of the eight scripts take 1.5-4.3× as
// long to start, and all eight 1.07-1.48× the peak RSS (BENCHMARKS.md,
// "Hand-written or script"). Each tool's doc says why, with its numbers.
//
// Text output has libbpf-tools' columns and flag names (SignalHeader,
// (*ExecEvent).Columns, PrintSyscount, PrintLog2Hist, ...); every event and
// report also marshals to JSON.
//
// The script tools (runqlat, biolatency, biosnoop, ...) are tracelet
// scripts embedded from tools/scripts/*.bt, with their flags declared in
// each script's header and given to it as -D macros (see scripts.go):
// Scripts lists them, RunScript runs one.
//
// Streaming tools call a function for every event and return when ctx ends;
// counting tools return their table. Everything they create (BPF objects,
// perf fds, probes in the group tracelet_<pid>) is removed on every return.
//
//	err := tools.Execsnoop(ctx, tools.ExecOptions{}, func(e *tools.ExecEvent) error {
//		fmt.Println(e.Pid, e.Args)
//		return nil
//	})
package tools
